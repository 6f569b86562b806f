"""Input checks at the estimator's edge: clear ValueErrors, never a modified input."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    y_arr = np.asarray(y.astype(object) if isinstance(y, pd.Series) and
                       isinstance(y.dtype, pd.CategoricalDtype) else y)
    if y_arr.ndim == 2 and y_arr.shape[1] > 1:
        raise ValueError(
            "y is 2-D with several columns (multi-label); only single-label "
            "targets are supported so far."
        )
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
