"""``module="linear"``: multinomial logistic regression behind the robust scaler."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._base import RAW_COLUMNS, TABLE, Network
from .front import ColumnLayout, TableFront
from .layers import CosineLinear

__all__ = ["LinearNetwork"]


class LinearNetwork(Network):
    """Logistic regression: robust scaling, then one linear layer to the logits.

    Built by ``ImbalancedTorchClassifier(module="linear")``. The
    :class:`SmoothClipScaler` is fitted on the training rows of every fit
    (after the internal validation split if any, inside every
    cross-validation fold), as the MLP's is; with the classifier's
    ``loss="ce"`` it is a multinomial logistic regression trained by
    gradient descent, a baseline for any sampler or loss.

    Parameters
    ----------
    n_features, n_outputs : int
    normalized_output : bool, default=False
        A cosine layer (:class:`skimb.modules.CosineLinear`, no bias) instead
        of ``nn.Linear``, for the losses that need one (``loss="ldam"``).
    scaling : {"robust", None}, default="robust"
        :class:`SmoothClipScaler`, or none (for inputs you scaled yourself).
    categorical_features : "from_dtype", list, boolean mask or None, default="from_dtype"
        Which columns of a raw table are categorical (read when the
        classifier encodes the table's columns; see :class:`MLPNetwork`).
    min_level_count : int, default=3
        Fewest training rows a category needs to get a level of its own.
    missing_fill : {"median", "learned"}, default="median"
        A missing number's fill: its column's median on the training rows,
        or a parameter starting there and trained with the network.
    datetime_trend : bool, default=False
        Also feed a datetime column's linear time (years); by default only
        its cyclic time of day and day of year.
    columns : ColumnLayout, optional
        Which input columns are numbers and which are category codes (the
        classifier passes it for every table).
    max_one_hot : int, default=16
        Categorical columns with at most this many levels are one-hot
        encoded, the others embedded (``d_cat_embedding`` values).
    d_cat_embedding : int, default=8
    X_train : ndarray of shape (n_samples, n_features), optional
        The training rows the front is fitted on (the classifier passes them).
    y_train : ndarray of shape (n_samples,), optional
        Unused; taken for the shared constructor signature.
    front : TableFront, optional
        A fitted front to build on (see :meth:`Network.from_front`), instead
        of one fitted on ``X_train``; its parameters replace the front's
        parameters above.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skimb.networks import LinearNetwork
    >>> X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    >>> net = LinearNetwork(3, 2, X_train=X)
    >>> net(torch.from_numpy(X[:4])).shape
    torch.Size([4, 2])
    >>> sum(p.numel() for p in net.parameters())  # 3 * 2 weights + 2 biases
    8
    """

    name = "linear"
    accepts = frozenset({TABLE, RAW_COLUMNS})
    cosine_head = True
    ensemble = False

    def __init__(self, n_features: int, n_outputs: int, *, normalized_output: bool = False,
                 scaling: str | None = "robust", categorical_features="from_dtype",
                 min_level_count: int = 3, missing_fill: str = "median",
                 datetime_trend: bool = False,
                 max_one_hot: int = 16, d_cat_embedding: int = 8,
                 columns: ColumnLayout | None = None, X_train: np.ndarray | None = None,
                 y_train: np.ndarray | None = None, front: TableFront | None = None):
        super().__init__()
        front = self.table_front(
            front, n_features, columns, X_train, y_train, scaling=scaling,
            categorical_features=categorical_features, min_level_count=min_level_count,
            missing_fill=missing_fill, datetime_trend=datetime_trend, max_one_hot=max_one_hot,
            d_cat_embedding=d_cat_embedding)
        front.attach(self)
        self.categorical = front.categorical_encoding()
        width = front.n_numbers + (0 if self.categorical is None else self.categorical.width)
        self.linear = (CosineLinear(width, n_outputs) if normalized_output
                       else nn.Linear(width, n_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        levels = None
        if self.columns is not None:
            X, levels = self.columns(X)
        if self.scaler is not None:
            X = self.scaler(X)
        if self.categorical is not None:
            X = torch.cat([X, self.categorical(levels)], dim=1)
        return self.linear(X)
