"""Input checks at the estimator's edge: clear ValueErrors, never a modified input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from ._data import SparseRows

REQUIRES_Y = "This classifier requires y to be passed, but the target y is None."


def _column_name(estimator, j):
    names = getattr(estimator, "feature_names_in_", None)
    return f"column {names[j]!r}" if names is not None else f"column {j}"


def check_features(estimator, X, *, reset: bool, name: str | None = None,
                   raw: bool = False) -> np.ndarray | SparseRows | pd.DataFrame:
    """Validate ``X``; return it as a C-contiguous float32 array, or sparse rows.

    Sets ``n_features_in_`` / ``feature_names_in_`` when ``reset`` and checks
    them otherwise. A scipy sparse ``X`` comes back as
    :class:`~skimb._data.SparseRows` (still sparse). Non-numeric DataFrame
    columns, input that is not 2-D, empty input and non-finite values raise a
    ValueError that says where; ``name`` is the estimator named in messages
    (default: ``estimator``'s class).

    ``raw=True`` (the built-in networks, whose front takes raw tables): a
    dense table may hold text, categories, datetimes and missing values; a
    DataFrame comes back as it is, an array as float32 (NaN kept) or, when
    it holds text, as an object array. Its shape and column names are
    checked the same way; :class:`skimb._columns.TableColumns` reads it.
    """
    name = name or type(estimator).__name__
    if raw and not sp.issparse(X):
        return _check_raw_table(estimator, X, reset, name)
    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c])
                                           or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            raise ValueError(
                f"X has non-numeric columns {bad}; encode them first (for example "
                "with a ColumnTransformer and OneHotEncoder/OrdinalEncoder)."
            )
    checked = check_array(
        X, accept_sparse=True, dtype=np.float32, order="C", ensure_all_finite=False,
        ensure_2d=False, allow_nd=True, ensure_min_samples=0, ensure_min_features=0,
        estimator=name, input_name="X",
    )
    _check_table_shape(checked.shape, name)
    validate_data(estimator, X if isinstance(X, pd.DataFrame) else checked, reset=reset,
                  skip_check_array=True)
    if sp.issparse(checked):
        checked = checked.tocsr()
        _check_finite(estimator, checked.data, lambda k: (
            np.searchsorted(checked.indptr, k, side="right") - 1, checked.indices[k]))
        return SparseRows.from_scipy(checked)
    _check_finite(estimator, checked.ravel(), lambda k: divmod(k, checked.shape[1]))
    if not checked.flags.writeable:
        checked = checked.copy()
    return checked


def _check_raw_table(estimator, X, reset, name):
    """A dense table as the built-in networks take it: shape and names checked, values not."""
    if isinstance(X, pd.DataFrame):
        _check_table_shape(X.shape, name)
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        return X
    text = np.asarray(X).dtype.kind in "OUS"
    checked = check_array(
        X, dtype=object if text else np.float32, order="C", ensure_all_finite=False,
        ensure_2d=False, allow_nd=True, ensure_min_samples=0, ensure_min_features=0,
        estimator=name, input_name="X",
    )
    _check_table_shape(checked.shape, name)
    validate_data(estimator, checked, reset=reset, skip_check_array=True)
    return checked


def _check_table_shape(shape, name):
    """Empty, not 2-D or featureless input: a ValueError saying which."""
    if len(shape) >= 1 and shape[0] == 0:
        raise ValueError("X is empty: it has no rows.")
    if len(shape) != 2:
        hint = (" Reshape your data with X.reshape(-1, 1) if it holds a single feature, or "
                "X.reshape(1, -1) if it holds a single sample." if len(shape) == 1 else "")
        raise ValueError(
            f"X must be 2-D, (n_samples, n_features), for {name}; got {len(shape)}-D "
            f"input of shape {shape}.{hint}"
        )
    if shape[1] == 0:
        raise ValueError(f"X has 0 feature(s) (shape={shape}) while a minimum of 1 is "
                         f"required by {name}.")


def _check_finite(estimator, values, locate):
    """Raise naming the column and row of the first non-finite of ``values``."""
    finite = np.isfinite(values)
    if not finite.all():
        row, col = locate(int(np.argmin(finite)))
        raise ValueError(
            f"X contains NaN or infinity (or a value too large for float32) in "
            f"{_column_name(estimator, col)}, first at row {row}. Impute or drop "
            "those values first."
        )


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


def check_loop_params(estimator) -> None:
    """Raise a ValueError for a ``max_epochs`` or batch size the training loop cannot use.

    ``batch_size`` (and ``iterator_train__batch_size`` /
    ``iterator_valid__batch_size`` when set) must be a positive integer, or -1
    for the whole dataset in one batch; ``max_epochs`` a non-negative integer or ``"auto"``.
    """
    params = vars(estimator)
    for key in ("batch_size", "iterator_train__batch_size", "iterator_valid__batch_size"):
        value = params.get(key, 1)
        if not _is_int(value) or (value < 1 and value != -1):
            raise ValueError(
                f"{key} must be a positive integer, or -1 for the whole dataset in one "
                f"batch; got {value!r}."
            )
    max_epochs = estimator.max_epochs
    if not (isinstance(max_epochs, str) and max_epochs == "auto") and (
            not _is_int(max_epochs) or max_epochs < 0):
        raise ValueError(
            f"max_epochs must be a non-negative integer or 'auto'; got {max_epochs!r}.")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def encode_in_order(y, n_samples: int, classes) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, encoded)`` with ``y`` encoded in the order of the given ``classes``.

    Every label of ``y`` must be in ``classes`` and every class must occur in
    ``y`` (the strategies need each class's rows); otherwise a ValueError.

    Examples
    --------
    >>> from skimb._validation import encode_in_order
    >>> encode_in_order(["a", "b", "b"], 3, ["b", "a"])[1].tolist()
    [1, 0, 0]
    """
    classes = np.asarray(classes)
    if len(set(classes.tolist())) != len(classes):
        raise ValueError(f"classes= holds repeated labels: {classes.tolist()}.")
    _, encoded = encode_labels(y, n_samples)  # the checks on y
    labels = column_or_1d(np.asarray(y, dtype=object), warn=False)
    positions = {label: j for j, label in enumerate(classes.tolist())}
    unknown = sorted({repr(v) for v in labels.tolist() if v not in positions})
    if unknown:
        raise ValueError(f"y holds labels that are not in classes=: {', '.join(unknown[:5])}.")
    codes = np.fromiter((positions[v] for v in labels.tolist()), dtype=np.int64,
                        count=len(labels))
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
    positions = {label: j for j, label in enumerate(np.asarray(classes).tolist())}
    unknown = sorted({repr(v) for v in labels.tolist() if v not in positions})
    if unknown:
        raise ValueError(f"y holds labels not seen in fit: {', '.join(unknown[:5])}.")
    return np.fromiter((positions[v] for v in labels.tolist()), dtype=np.int64,
                       count=len(labels))
