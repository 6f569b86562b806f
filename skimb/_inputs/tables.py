"""2-D tables at the estimator's edge: clear ValueErrors, never a modified input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from .._data import SparseRows


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
