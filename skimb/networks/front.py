"""The built-in networks' fitted front: the raw columns' front, scaling, numeric embeddings."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .columns import CategoricalEncoding, ColumnFront, ColumnLayout
from .embeddings import check_num_embeddings, make_num_embeddings
from .scaling import SmoothClipScaler

SCALINGS = ("robust", None)


def fitted_front(n_features: int, *, scaling, num_embeddings, d_embedding, n_bins,
                 X_train, y_train, embedded=None) -> tuple[nn.Module, nn.Module | None]:
    """The scaler (identity when ``scaling=None``) and the embeddings, fitted on the training rows.

    ``embedded``: the columns the embeddings take (default: all); none is ``(scaler, None)``.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"module__scaling must be one of {SCALINGS}, got {scaling!r}.")
    if scaling is None:
        scaler = nn.Identity()
        scaled = X_train
    else:
        scaler = SmoothClipScaler(n_features)
        scaled = None
        if X_train is not None:
            scaler.fit(X_train)
            scaled = scaler(_as_tensor(X_train)).numpy()
    if embedded is not None:
        embedded = list(embedded)
        if not embedded:
            check_num_embeddings(num_embeddings, d_embedding, n_bins)
            return scaler, None
        n_features, scaled = len(embedded), None if scaled is None else scaled[:, embedded]
    embeddings = make_num_embeddings(num_embeddings, n_features, X=scaled, y=y_train,
                                     d_embedding=d_embedding, n_bins=n_bins)
    return scaler, embeddings


def many_valued_columns(X_train) -> list[int] | None:
    """The columns taking more than two distinct values on the training rows (all columns
    without rows). A numeric embedding of a column with two values (a 0/1 flag, a one-hot
    column, a missing indicator) is an affine function of it, which the first layer of a
    network can learn from the column itself: only the other columns need one.

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.networks.front import many_valued_columns
    >>> many_valued_columns(np.array([[0.0, 1.0, 5.0], [1.0, 1.0, 6.0], [0.0, 1.0, 7.0]]))
    [2]
    """
    if X_train is None:
        return None
    X = np.sort(np.asarray(X_train), axis=0)
    changes = (np.diff(X, axis=0) != 0).sum(axis=0)  # distinct values - 1, per column
    return np.flatnonzero(changes > 1).tolist()


def column_front(columns: ColumnLayout | None, X_train, min_level_count: int,
                 missing_fill: str = "median", datetime_trend: bool = False):
    """``(front, numbers)``: a :class:`ColumnFront` fitted on the training rows and the
    numeric block it makes of them, for a raw table; ``(None, X_train)`` for a numeric
    table without missing values (its columns go to the scaler as they are)."""
    if columns is None:
        return None, X_train
    front = ColumnFront(columns, min_level_count=min_level_count, missing_fill=missing_fill,
                        datetime_trend=datetime_trend)
    if X_train is None:
        return front, None
    front.fit(X_train)
    with torch.no_grad():
        numbers, _ = front(_as_tensor(X_train))
    return front, numbers.numpy()


def categorical_encoding(front: ColumnFront | None, max_one_hot: int,
                         d_cat_embedding: int) -> CategoricalEncoding | None:
    """One-hot or embedded levels of the front's categorical columns (None without any)."""
    if front is None or not front.n_levels:
        return None
    return CategoricalEncoding(front.n_levels, max_one_hot=max_one_hot,
                               d_embedding=d_cat_embedding)


def needs_rows(scaling, num_embeddings) -> bool:
    """Whether the front fits statistics on training rows (robust scaling or PLE bins)."""
    return scaling is not None or num_embeddings == "ple"


def _as_tensor(X):
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
