"""Macro-F1 with excluded classes, its scorer, and the class-wise calibration error.

The epoch scoring callback :class:`~skimb.callbacks.MacroF1Scoring` lives in
:mod:`skimb.callbacks` and is importable from here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import f1_score, make_scorer

from ._inputs.labels import as_label_list, is_multilabel

__all__ = ["macro_f1", "macro_f1_scorer", "MacroF1Scoring", "classwise_ece"]


def _dense_indicator(y, name):
    values = y.toarray() if sp.issparse(y) else np.asarray(y)
    if values.ndim != 2 or not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"{name} must be a 0/1 indicator matrix like the other argument (predictions, "
            "not probabilities)."
        )
    return values.astype(np.int64)


def _multilabel_f1(y_true, y_pred, excluded):
    names = list(y_true.columns) if isinstance(y_true, pd.DataFrame) else None
    y_true, y_pred = _dense_indicator(y_true, "y_true"), _dense_indicator(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}."
        )
    names = names if names is not None else list(range(y_true.shape[1]))
    seen = (y_true != 0).any(axis=0) | (y_pred != 0).any(axis=0)
    kept = [j for j, name in enumerate(names) if name not in excluded]
    if not kept:
        raise ValueError("macro_f1: every label is excluded; nothing to average.")
    labels = [j for j in kept if seen[j]]
    if not labels:  # no positive anywhere, true or predicted: nothing was found
        return 0.0
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def macro_f1(y_true, y_pred, exclude=None) -> float:
    """Unweighted mean of the per-class F1 scores, optionally leaving classes out.

    The classes averaged over are those present in ``y_true`` or ``y_pred``,
    minus ``exclude`` (seed 000 leaves out classes irrelevant to the task,
    such as "Chemical Wet"). Rows of excluded classes still count as false
    positives/negatives of the other classes. A class with no predicted and
    no true rows scores 0 rather than warning.

    Multi-label (0/1 indicator) targets are scored the same way over their
    labels: the mean F1 of the labels present in ``y_true`` or ``y_pred``
    (0 when no label is present in either).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or indicator matrices (arrays, DataFrames
        or scipy sparse matrices).
    exclude : label or list of labels, optional
        Classes whose F1 is left out of the mean. Labels absent from this data
        are ignored, so the same scorer works on every cross-validation fold.
        For indicator targets: column positions, or column names when
        ``y_true`` is a DataFrame.

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
    >>> round(macro_f1([[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [1, 1]]), 3)
    0.833
    """
    excluded = set(as_label_list(exclude))
    if is_multilabel(y_true) or is_multilabel(y_pred):
        return _multilabel_f1(y_true, y_pred, excluded)
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}."
        )
    labels = [c for c in np.unique(np.concatenate([y_true, y_pred])) if c not in excluded]
    if not labels:
        raise ValueError("macro_f1: every class present is excluded; nothing to average.")
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def macro_f1_scorer(exclude=None):
    """A scorer for ``GridSearchCV(scoring=...)`` computing :func:`macro_f1`.

    Parameters
    ----------
    exclude : label or list of labels, optional
        Classes left out of the mean.

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y)``

    Examples
    --------
    >>> from skimb.metrics import macro_f1_scorer
    >>> scorer = macro_f1_scorer(exclude=["Chemical Wet"])
    >>> callable(scorer)
    True
    """
    return make_scorer(macro_f1, exclude=exclude)




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
