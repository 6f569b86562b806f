"""Small helpers of the table front: which columns to embed, the categorical encoding of a
column front, whether the front needs rows."""

from __future__ import annotations

import numpy as np
import torch

from .categorical import CategoricalEncoding
from .column_front import ColumnFront

__all__ = ["SCALINGS", "categorical_encoding", "check_scaling", "many_valued_columns",
           "needs_rows"]

#: The values ``module__scaling`` takes.
SCALINGS = ("robust", None)


def check_scaling(scaling) -> None:
    """Raise a ``ValueError`` naming ``module__scaling`` when it is not one of :data:`SCALINGS`.

    Examples
    --------
    >>> from skimb.networks.front import check_scaling
    >>> check_scaling("robust")
    """
    if scaling not in SCALINGS:
        raise ValueError(f"module__scaling must be one of {SCALINGS}, got {scaling!r}.")


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


def categorical_encoding(front: ColumnFront | None, max_one_hot: int,
                         d_cat_embedding: int) -> CategoricalEncoding | None:
    """One-hot or embedded levels of the column front's categorical columns (None without
    any); the embeddings' weights are drawn now.

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.networks import ColumnFront, ColumnLayout
    >>> from skimb.networks.front import categorical_encoding
    >>> front = ColumnFront(ColumnLayout((0,), (1,), (3,), ("x", "c")))
    >>> front = front.fit(np.array([[0.5, 0.0], [1.5, 2.0]]))  # codes 0 and 2 seen
    >>> categorical_encoding(front, max_one_hot=16, d_cat_embedding=8).width  # 2 levels + 0
    3
    """
    if front is None or not front.n_levels:
        return None
    return CategoricalEncoding(front.n_levels, max_one_hot=max_one_hot,
                               d_embedding=d_cat_embedding)


def needs_rows(scaling, num_embeddings) -> bool:
    """Whether the front fits statistics on training rows (robust scaling or PLE bins).

    Examples
    --------
    >>> from skimb.networks.front import needs_rows
    >>> needs_rows("robust", None), needs_rows(None, "periodic"), needs_rows(None, "ple")
    (True, False, True)
    """
    return scaling is not None or num_embeddings == "ple"


def as_tensor(X) -> torch.Tensor:
    """``X`` as a contiguous float32 tensor (sharing memory with a float32 array)."""
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
