"""Input checks at the estimator's edge: clear ValueErrors, never a modified input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d, validate_data


def _column_name(estimator, j):
    names = getattr(estimator, "feature_names_in_", None)
    return f"column {names[j]!r}" if names is not None else f"column {j}"


def check_features(estimator, X, *, reset: bool) -> np.ndarray:
    """Validate ``X`` and return it as a C-contiguous float32 array.

    Sets ``n_features_in_`` / ``feature_names_in_`` when ``reset`` and checks
    them otherwise. Non-numeric DataFrame columns and non-finite values raise
    a ValueError that names the column.
    """
    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c])
                                           or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            raise ValueError(
                f"X has non-numeric columns {bad}; encode them first (for example "
                "with a ColumnTransformer and OneHotEncoder/OrdinalEncoder)."
            )
    if hasattr(X, "shape") and len(X.shape) >= 1 and X.shape[0] == 0 or (
        isinstance(X, list) and not X
    ):
        raise ValueError("X is empty: it has no rows.")
    X = validate_data(
        estimator, X, reset=reset, dtype=np.float32, order="C",
        ensure_all_finite=False, ensure_min_samples=1,
    )
    finite = np.isfinite(X)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(
            f"X contains NaN or infinity (or a value too large for float32) in "
            f"{_column_name(estimator, col)}, first at row {row}. Impute or drop "
            "those values first."
        )
    if not X.flags.writeable:
        X = X.copy()
    return X


def encode_labels(y, n_samples: int):
    """Return ``(classes, encoded)`` for single-label targets, or raise ValueError."""
    if y is None:
        raise ValueError("y is required: ImbalancedTorchClassifier is a supervised classifier.")
    if sp.issparse(y):
        y = y.toarray()
    y_arr = np.asarray(y.astype(object) if isinstance(y, pd.Series) and
                       isinstance(y.dtype, pd.CategoricalDtype) else y)
    y_arr = column_or_1d(y_arr, warn=True)
    check_consistent_length(np.empty(n_samples), y_arr)
    if y_arr.dtype == object and pd.isna(y_arr).any():
        raise ValueError(f"y contains missing labels at rows {np.flatnonzero(pd.isna(y_arr))[:5].tolist()}.")
    check_classification_targets(y_arr)
    try:
        classes, encoded = np.unique(y_arr, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"y mixes label types that cannot be sorted: {exc}") from None
    if len(classes) < 2:
        raise ValueError(
            f"y holds a single class ({classes[0]}); a classifier needs at least two."
        )
    return classes, encoded.astype(np.int64)


def is_multilabel(y) -> bool:
    """Whether ``y`` is 2-D with several columns: a multi-label indicator target."""
    if sp.issparse(y):
        return y.ndim == 2 and y.shape[1] > 1
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.shape(y)
        except ValueError:  # ragged nested lists: not a matrix
            return False
    return len(shape) == 2 and shape[1] > 1


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
