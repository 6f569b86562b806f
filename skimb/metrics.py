"""Macro-F1 with excluded classes, its scorer, and the class-wise calibration error.

The epoch scoring callback :class:`~skimb.callbacks.MacroF1Scoring` lives in
:mod:`skimb.callbacks` and is importable from here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import f1_score

from ._inputs.labels import as_label_list, check_labels, is_multilabel

__all__ = ["macro_f1", "macro_f1_scorer", "MacroF1Scorer", "MacroF1Scoring", "classwise_ece"]


def _dense_indicator(y, name):
    values = y.toarray() if sp.issparse(y) else np.asarray(y)
    if values.ndim != 2 or not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"{name} must be a 0/1 indicator matrix like the other argument (predictions, "
            "not probabilities)."
        )
    return values.astype(np.int64)


def _multilabel_f1(y_true, y_pred, excluded, labels=None):
    names = list(y_true.columns) if isinstance(y_true, pd.DataFrame) else None
    y_true, y_pred = _dense_indicator(y_true, "y_true"), _dense_indicator(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}."
        )
    if labels is not None:
        names = np.asarray(labels).tolist()
        if len(names) != y_true.shape[1]:
            raise ValueError(f"macro_f1: labels names {len(names)} labels; y_true has "
                             f"{y_true.shape[1]} columns.")
    names = names if names is not None else list(range(y_true.shape[1]))
    check_labels(excluded, names, "macro_f1: exclude")
    seen = (y_true != 0).any(axis=0) | (y_pred != 0).any(axis=0)
    kept = [j for j, name in enumerate(names) if name not in set(excluded)]
    if not kept:
        raise ValueError("macro_f1: every label is excluded; nothing to average.")
    labels = [j for j in kept if seen[j]]
    if not labels:  # no positive anywhere, true or predicted: nothing was found
        return 0.0
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def macro_f1(y_true, y_pred, exclude=None, *, labels=None) -> float:
    """Unweighted mean of the per-class F1 scores, optionally leaving classes out.

    The classes averaged over are those present in ``y_true`` or ``y_pred``,
    minus ``exclude`` (seed 000 leaves out classes irrelevant to the task,
    such as "Chemical Wet"). Rows of excluded classes still count as false
    positives/negatives of the other classes. A class with no predicted and
    no true rows scores 0 rather than warning.

    Every label of ``exclude`` must be a class: one of ``y_true`` or
    ``y_pred``, or of ``labels`` (the model's classes, for data in which an
    excluded class may have no row); a misspelled label is a ValueError
    rather than an average over another set of classes.

    Multi-label (0/1 indicator) targets are scored the same way over their
    labels: the mean F1 of the labels present in ``y_true`` or ``y_pred``
    (0 when no label is present in either).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or indicator matrices (arrays, DataFrames
        or scipy sparse matrices).
    exclude : label or list of labels, optional
        Classes whose F1 is left out of the mean. For indicator targets:
        column positions, or column names when ``y_true`` is a DataFrame (or
        ``labels`` names the columns).
    labels : array-like, optional
        All the classes (such as a model's ``classes_``), which ``exclude``
        may name even where this data holds none of their rows. For an
        indicator target: the name of each column, in order.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skimb.metrics import macro_f1
    >>> y_true = ["Dry", "Dry", "Wet", "Frost"]
    >>> y_pred = ["Dry", "Dry", "Wet", "Dry"]
    >>> round(macro_f1(y_true, y_pred), 3)
    0.6
    >>> macro_f1(y_true, y_pred, exclude="Frost")
    0.9
    >>> macro_f1(y_true, y_pred, exclude="Snow", labels=["Dry", "Frost", "Snow", "Wet"])
    0.6
    >>> round(macro_f1([[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [1, 1]]), 3)
    0.833

    A label that is no class is an error, not a silent change of the average:

    >>> macro_f1(y_true, y_pred, exclude="frost")
    Traceback (most recent call last):
    ...
    ValueError: macro_f1: exclude names ['frost'], which is not among the classes ['Dry', 'Frost', 'Wet'].
    """
    excluded = as_label_list(exclude)
    if is_multilabel(y_true) or is_multilabel(y_pred):
        return _multilabel_f1(y_true, y_pred, excluded, labels)
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}."
        )
    present = np.unique(np.concatenate([y_true, y_pred]))
    if excluded:
        known = present.tolist() + [c for c in as_label_list(labels)
                                    if c not in set(present.tolist())]
        check_labels(excluded, known, "macro_f1: exclude")
    kept = [c for c in present if c not in set(excluded)]
    if not kept:
        raise ValueError("macro_f1: every class present is excluded; nothing to average.")
    return float(f1_score(y_true, y_pred, labels=kept, average="macro", zero_division=0))


class MacroF1Scorer:
    """A scorer ``scorer(estimator, X, y)`` computing :func:`macro_f1` of ``estimator.predict(X)``.

    What :func:`macro_f1_scorer` returns; it works wherever scikit-learn
    takes a scorer (``GridSearchCV(scoring=...)``, ``cross_val_score``), and
    :class:`~skimb.TunedDecisionClassifierCV` and ``decision="tuned"`` read
    its public ``exclude`` to run their exact macro-F1 search.

    Parameters
    ----------
    exclude : label or list of labels, optional
        Classes left out of the mean; each must be one of the estimator's
        ``classes_`` (or of the rows scored), else a ValueError.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skimb.metrics import MacroF1Scorer
    >>> X, y = [[0.0], [1.0], [2.0], [3.0]], ["dry", "dry", "ice", "ice"]
    >>> model = LogisticRegression().fit(X, y)
    >>> MacroF1Scorer(exclude="dry")(model, X, y)
    1.0
    """

    def __init__(self, exclude=None):
        self.exclude = exclude

    def __call__(self, estimator, X, y_true, **kwargs) -> float:
        """:func:`macro_f1` of ``estimator.predict(X)`` against ``y_true``.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like
        y_true : array-like
        **kwargs
            Refused (``sample_weight`` included): macro-F1 here weighs every row 1.

        Returns
        -------
        score : float
        """
        if kwargs:
            raise TypeError(f"{self!r} takes no {sorted(kwargs)}: macro-F1 weighs every row 1.")
        return macro_f1(y_true, estimator.predict(X), exclude=self.exclude,
                        labels=getattr(estimator, "classes_", None))

    def __repr__(self) -> str:
        return f"macro_f1_scorer(exclude={self.exclude!r})"


def macro_f1_scorer(exclude=None) -> MacroF1Scorer:
    """A scorer for ``GridSearchCV(scoring=...)`` computing :func:`macro_f1`.

    Parameters
    ----------
    exclude : label or list of labels, optional
        Classes left out of the mean; each must be one of the fitted
        estimator's ``classes_`` (or of the rows scored), else a ValueError.

    Returns
    -------
    scorer : MacroF1Scorer
        Callable ``scorer(estimator, X, y)``.

    Examples
    --------
    >>> from skimb.metrics import macro_f1_scorer
    >>> scorer = macro_f1_scorer(exclude=["Chemical Wet"])
    >>> callable(scorer), scorer.exclude
    (True, ['Chemical Wet'])
    """
    return MacroF1Scorer(exclude=exclude)


def classwise_ece(y_true, y_proba, *, labels=None, n_bins: int = 15) -> float:
    """Class-wise expected calibration error of predicted class probabilities.

    For each class ``k``, its probability column is cut into ``n_bins``
    equal-width bins on [0, 1] (bin ``i`` holds ``[i / n_bins, (i + 1) /
    n_bins)``, the last one also 1.0); in each bin the gap between the share of
    rows that are class ``k`` and the mean predicted probability of ``k`` is
    weighted by the bin's share of the rows, and the gaps are summed. The
    result is the mean of these one-vs-rest errors over the classes (Kull et
    al., "Beyond temperature scaling", NeurIPS 2019). Unlike the usual
    (top-label) ECE it also sees the probabilities of the classes that are
    never the argmax, often the rare ones. 0 is perfectly calibrated; a
    class-wise ECE is at most 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels.
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, one column per class in the order of
        ``labels`` (as ``predict_proba`` returns them in the order of
        ``classes_``). A 1-D array is the probability of the second of two
        classes.
    labels : array-like of shape (n_classes,), optional
        The classes of ``y_proba``'s columns, in order. Default: the sorted
        labels present in ``y_true``; pass the model's ``classes_`` when a
        class may be absent from ``y_true``.
    n_bins : int, default=15
        Number of equal-width bins per class.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.metrics import classwise_ece
    >>> y_true = ["Dry", "Dry", "Ice", "Dry"]
    >>> y_proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> classwise_ece(y_true, y_proba)  # each row alone in its bin: the mean |y - p|
    0.25

    A model that says 90% for a class that happens 60% of the time is off by
    0.3 on it:

    >>> y_true = [0] * 6 + [1] * 2 + [2] * 2
    >>> y_proba = np.tile([0.9, 0.05, 0.05], (10, 1))
    >>> round(classwise_ece(y_true, y_proba), 3)  # (0.3 + 0.15 + 0.15) / 3
    0.2
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"classwise_ece: n_bins must be a positive int, got {n_bins!r}.")
    y_true = np.asarray(y_true)
    proba = np.asarray(y_proba, dtype=np.float64)
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(
            f"classwise_ece: y_true must be a non-empty 1-D array of labels, got shape "
            f"{y_true.shape}."
        )
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise ValueError(
            f"classwise_ece: y_proba must have shape (n_samples, n_classes) with "
            f"n_samples={len(y_true)} like y_true, got {np.shape(y_proba)}."
        )
    if not np.isfinite(proba).all() or (proba < 0).any() or (proba > 1).any():
        raise ValueError("classwise_ece: y_proba must hold probabilities in [0, 1].")
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if labels.ndim != 1 or len(np.unique(labels)) != len(labels):
        raise ValueError(f"classwise_ece: labels must be distinct, got {labels.tolist()}.")
    if len(labels) != proba.shape[1]:
        raise ValueError(
            f"classwise_ece: y_proba has {proba.shape[1]} columns but there are "
            f"{len(labels)} labels {labels.tolist()}; pass labels= (the model's classes_) "
            "in the order of the columns."
        )
    unknown = ~np.isin(y_true, labels)
    if unknown.any():
        raise ValueError(
            f"classwise_ece: y_true has labels not in labels: "
            f"{np.unique(y_true[unknown]).tolist()}."
        )
    is_class = y_true[:, None] == labels[None, :]
    # bin of each (row, class), numbered class by class so one bincount serves every class
    bins = np.minimum((proba * n_bins).astype(np.int64), n_bins - 1)
    bins += n_bins * np.arange(proba.shape[1])
    # per bin, sum(is_class - proba) = rows * (share of the class - mean probability)
    gaps = np.bincount(bins.ravel(), weights=(is_class - proba).ravel(),
                       minlength=n_bins * proba.shape[1])
    return float(np.abs(gaps).sum() / (len(y_true) * proba.shape[1]))


def __getattr__(name):
    # The epoch scorer moved to skimb.callbacks (which imports this module); its old name
    # here keeps working, pickles made with it included.
    if name == "MacroF1Scoring":
        from .callbacks import MacroF1Scoring
        return MacroF1Scoring
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
