"""Labels at the estimator's edge: encoded as class positions, or as an indicator matrix.

Also the labels a user names (``exclude``, ``classes=``, dict keys) and their
positions among the classes: a label is matched as a dict key is, by ``==``
and hash, so ``1``, ``1.0`` and ``np.int64(1)`` are one label, and ``"a"`` and
``np.str_("a")`` another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

REQUIRES_Y = "This classifier requires y to be passed, but the target y is None."


def as_label_list(labels) -> list:
    """``labels`` as a list: None is no label; a list, tuple, set or array holds labels;
    anything else is one label.

    Examples
    --------
    >>> from skimb._inputs.labels import as_label_list
    >>> as_label_list("Frost"), as_label_list(("Frost", "Ice")), as_label_list(None)
    (['Frost'], ['Frost', 'Ice'], [])
    """
    if labels is None:
        return []
    if isinstance(labels, (list, tuple, set, frozenset, np.ndarray)):
        return np.asarray(list(labels), dtype=object).tolist()
    return [labels]


def label_positions(labels, classes) -> np.ndarray:
    """The position among ``classes`` of each of ``labels``; -1 for a label not among them.

    Parameters
    ----------
    labels : label, list, tuple, set or array of labels, or None
        Read by :func:`as_label_list`.
    classes : array-like of shape (n_classes,)
        Distinct labels, in the order that gives the positions.

    Returns
    -------
    positions : ndarray of int64, one per label

    Examples
    --------
    >>> from skimb._inputs.labels import label_positions
    >>> label_positions(["wet", "snow", "dry"], ["dry", "wet"]).tolist()
    [1, -1, 0]
    """
    index = {label: j for j, label in enumerate(np.asarray(classes).tolist())}
    wanted = as_label_list(labels)
    return np.fromiter((index.get(label, -1) for label in wanted), dtype=np.int64,
                       count=len(wanted))


def encode_labels(y, n_samples: int):
    """Return ``(classes, encoded)`` for single-label targets, or raise ValueError."""
    if y is None:
        raise ValueError(REQUIRES_Y)
    if sp.issparse(y):
        y = y.toarray()
    y_arr = np.asarray(y.astype(object) if isinstance(y, pd.Series) and
                       isinstance(y.dtype, pd.CategoricalDtype) else y)
    y_arr = column_or_1d(y_arr, warn=True)
    check_consistent_length(np.empty(n_samples), y_arr)
    if y_arr.dtype.kind in "fcO" and pd.isna(y_arr).any():
        raise ValueError(f"y contains missing labels at rows {np.flatnonzero(pd.isna(y_arr))[:5].tolist()}.")
    check_classification_targets(y_arr)
    try:
        classes, encoded = np.unique(y_arr, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"y mixes label types that cannot be sorted: {exc}") from None
    if len(classes) < 2:
        raise ValueError(
            f"y holds a single class ({classes[0]}): a classifier needs more than one class."
        )
    return classes, encoded.astype(np.int64)


def is_multilabel(y) -> bool:
    """Whether ``y`` is 2-D with several columns: a multi-label indicator target."""
    if sp.issparse(y):
        return y.ndim == 2 and y.shape[1] > 1
    shape = getattr(y, "shape", None)
    if shape is None and y is not None:
        try:  # lists, and array-likes that only offer __array__
            shape = np.asarray(y).shape
        except ValueError:  # ragged nested lists: not a matrix
            return False
    return shape is not None and len(shape) == 2 and shape[1] > 1


def encode_indicator(y, n_samples: int):
    """Return ``(labels, indicator)`` for a multi-label target, or raise ValueError.

    ``labels`` are the DataFrame's column names, else ``0 .. n_labels - 1``;
    ``indicator`` is a float32 0/1 array of shape (n_samples, n_labels).
    """
    labels = None
    if isinstance(y, pd.DataFrame):
        labels = np.asarray(y.columns, dtype=object)
        duplicated = y.columns[y.columns.duplicated()].unique().tolist()
        if duplicated:
            raise ValueError(f"A multi-label y needs distinct label names; {duplicated} repeat.")
        bad = [c for c, dtype in y.dtypes.items() if not (pd.api.types.is_numeric_dtype(dtype)
                                                          or pd.api.types.is_bool_dtype(dtype))]
        if bad:
            raise ValueError(
                f"A multi-label y must be a 0/1 indicator matrix; columns {bad} are not numeric."
            )
        values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    elif sp.issparse(y):
        values = y.toarray().astype(np.float64)
    else:
        try:
            values = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "y is 2-D, so it is read as a multi-label indicator matrix, but it holds "
                "non-numeric values. Multi-output multi-class targets are not supported."
            ) from None
    check_consistent_length(np.empty(n_samples), values)
    if labels is None:
        labels = np.arange(values.shape[1])
    not_binary = ~np.isin(values, (0.0, 1.0))
    if not_binary.any():
        row, col = np.argwhere(not_binary)[0]
        raise ValueError(
            "y is 2-D, so it is read as a multi-label indicator matrix, but label "
            f"{labels.tolist()[col]!r} holds {float(values[row, col])!r} at row {row}; every "
            "value must be 0 or 1. Multi-output multi-class targets are not supported."
        )
    return labels, values.astype(np.float32)


def check_sample_weight(sample_weight, n_samples: int):
    """Return sample weights as float32, or None; reject negative or non-finite ones."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or len(w) != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per row of X ({n_samples}); "
            f"got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to zero: no row would count.")
    return w.astype(np.float32)


def encode_in_order(y, n_samples: int, classes) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, encoded)`` with ``y`` encoded in the order of the given ``classes``.

    Every label of ``y`` must be in ``classes`` and every class must occur in
    ``y`` (the strategies need each class's rows); otherwise a ValueError.

    Examples
    --------
    >>> from skimb._inputs.labels import encode_in_order
    >>> encode_in_order(["a", "b", "b"], 3, ["b", "a"])[1].tolist()
    [1, 0, 0]
    """
    classes = np.asarray(classes)
    if len(set(classes.tolist())) != len(classes):
        raise ValueError(f"classes= holds repeated labels: {classes.tolist()}.")
    _, encoded = encode_labels(y, n_samples)  # the checks on y
    labels = column_or_1d(np.asarray(y, dtype=object), warn=False)
    codes = label_positions(labels, classes)
    unknown = sorted({repr(v) for v in labels[codes < 0].tolist()})
    if unknown:
        raise ValueError(f"y holds labels that are not in classes=: {', '.join(unknown[:5])}.")
    absent = [c for j, c in enumerate(classes.tolist()) if not (codes == j).any()]
    if absent:
        raise ValueError(
            f"classes= lists {absent}, which y does not hold: every class needs training "
            "rows (the strategies count them).")
    return classes, codes


def encode_known_labels(y, n_samples: int, classes) -> np.ndarray:
    """Encode the labels of a continued fit as positions in the fitted ``classes``."""
    labels = column_or_1d(np.asarray(y, dtype=object), warn=True)
    check_consistent_length(np.empty(n_samples), labels)
    codes = label_positions(labels, classes)
    unknown = sorted({repr(v) for v in labels[codes < 0].tolist()})
    if unknown:
        raise ValueError(f"y holds labels not seen in fit: {', '.join(unknown[:5])}.")
    return codes


def encode_first_fit(y, n_samples: int, multilabel: bool, classes=None):
    """``(classes, encoded)`` of a first fit, in the order of ``classes`` when given.

    Examples
    --------
    >>> from skimb._inputs.labels import encode_first_fit
    >>> classes, encoded = encode_first_fit(["b", "a", "b"], 3, multilabel=False)
    >>> classes.tolist(), encoded.tolist()
    (['a', 'b'], [1, 0, 1])
    """
    if multilabel:
        labels, indicator = encode_indicator(y, n_samples)
        if classes is not None and len(classes):
            if len(classes) != indicator.shape[1]:
                raise ValueError(
                    f"classes= names {len(classes)} labels; the multi-label y has "
                    f"{indicator.shape[1]} columns.")
            labels = np.asarray(classes)
        return labels, indicator
    if classes is None or not len(classes):
        return encode_labels(y, n_samples)
    return encode_in_order(y, n_samples, classes)


def encode_continued_fit(y, n_samples: int, classes, multilabel: bool) -> np.ndarray:
    """Encode the ``y`` of a continued fit against the fitted ``classes`` (and target form).

    Examples
    --------
    >>> import numpy as np
    >>> from skimb._inputs.labels import encode_continued_fit
    >>> encode_continued_fit(["b", "a"], 2, np.array(["a", "b"]), multilabel=False).tolist()
    [1, 0]
    """
    if y is None:
        raise ValueError("y is required: ImbalancedTorchClassifier is a supervised classifier.")
    if is_multilabel(y) != multilabel:
        raise ValueError(
            "y must have the form it had in fit: "
            + ("a multi-label indicator matrix." if multilabel else "one label per row.")
        )
    if not multilabel:
        return encode_known_labels(y, n_samples, classes)
    _, y_encoded = encode_indicator(y, n_samples)
    if y_encoded.shape[1] != len(classes):
        raise ValueError(f"y has {y_encoded.shape[1]} labels; fit saw {len(classes)}.")
    return y_encoded


def check_labels(labels, classes, what: str) -> list:
    """``labels`` as a list (see :func:`as_label_list`), every one among ``classes``.

    A label that is not a class is a ValueError naming it, ``what`` (the
    parameter) and the classes: a misspelled label would otherwise be ignored
    and another objective optimised.

    Examples
    --------
    >>> from skimb._inputs.labels import check_labels
    >>> check_labels("ice", ["dry", "ice"], "exclude")
    ['ice']
    >>> check_labels(["Ice"], ["dry", "ice"], "exclude")
    Traceback (most recent call last):
    ...
    ValueError: exclude names ['Ice'], which is not among the classes ['dry', 'ice'].
    """
    wanted = as_label_list(labels)
    classes = np.asarray(classes).tolist() if not isinstance(classes, list) else classes
    positions = label_positions(wanted, np.asarray(classes, dtype=object))
    unknown = [label for label, j in zip(wanted, positions) if j < 0]
    if unknown:
        verb = "is" if len(unknown) == 1 else "are"
        raise ValueError(f"{what} names {unknown!r}, which {verb} not among the classes "
                         f"{classes!r}.")
    return wanted
