"""``module="mlp"``: a multi-layer perceptron behind the fitted front."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._base import RAW_COLUMNS, TABLE, Network
from .front import ColumnLayout, TableFront
from .layers import TabularMLP

__all__ = ["MLPNetwork"]


class MLPNetwork(Network):
    """An MLP on robustly scaled (optionally embedded) numeric features and encoded categories.

    Built by ``ImbalancedTorchClassifier(module="mlp")`` from the training
    portion of every fit: the missing values' fills and indicators, the
    categories' levels, the scaling statistics and the embedding bins are
    fitted on the training rows only (after the internal validation split if
    any, inside every cross-validation fold) and travel with the module.
    A raw table's categorical columns are one-hot encoded, or embedded when
    they have more than ``max_one_hot`` levels (see
    :class:`~skimb.networks.ColumnFront`), after the numeric block.

    Parameters
    ----------
    n_features, n_outputs : int
    hidden_units : sequence of int, default=(128, 128)
        Width of each hidden layer; its length is the depth.
    dropout : float, default=0.1
    batch_norm : bool, default=False
    normalized_output : bool, default=False
        A cosine last layer (switched on for ``loss="ldam"``).
    scaling_layer : bool, default=False
        A learned scale per input of the first layer
        (:class:`~skimb.modules.FeatureScale`, RealMLP's scaling layer);
        ``module=None`` on CPU switches it on.
    scaling : {"robust", None}, default="robust"
        :class:`SmoothClipScaler`, or none (for inputs you scaled yourself).
    num_embeddings : {"ple", "periodic", None}, default=None
        Numeric embeddings from ``rtdl_num_embeddings``: piecewise-linear on
        tree bins cut on the labels, or periodic. They embed the columns with
        more than two values on the training rows; the others (0/1 flags,
        one-hot columns, missing indicators) go in as their scaled value.
    d_embedding : int, default=16
    n_bins : int, default=48
        Most bins per feature for ``"ple"``.
    categorical_features : "from_dtype", list, boolean mask or None, default="from_dtype"
        Which columns of a raw table are categorical (read when the
        classifier encodes the table's columns, before the network is
        built; see the user guide's *Tables as they come*).
    max_one_hot : int, default=16
        Categorical columns with at most this many levels (the reserved
        level 0 included) are one-hot encoded, the others embedded.
    d_cat_embedding : int, default=8
        Width of a categorical embedding.
    min_level_count : int, default=3
        Fewest training rows a category needs to get a level of its own;
        rarer ones share level 0 with missing and unseen values.
    missing_fill : {"median", "learned"}, default="median"
        A missing number's fill: its column's median on the training rows,
        or a parameter starting there and trained with the network.
    datetime_trend : bool, default=False
        Also feed a datetime column's linear time (years); by default only
        its cyclic time of day and day of year.
    columns : ColumnLayout, optional
        Which input columns are numbers and which are category codes (the
        classifier passes it for every table).
    X_train : ndarray of shape (n_samples, n_features), optional
    y_train : ndarray of shape (n_samples,), optional
        The training rows and their class indices the front is fitted on
        (the classifier passes them).
    front : TableFront, optional
        A fitted front to build on (see :meth:`Network.from_front`), instead
        of one fitted on ``X_train``; its parameters replace the front's
        parameters above (``scaling`` to ``datetime_trend``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skimb.networks import MLPNetwork
    >>> X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = MLPNetwork(3, 2, num_embeddings="ple", X_train=X, y_train=y)
    >>> net(torch.from_numpy(X[:4])).shape
    torch.Size([4, 2])
    """

    name = "mlp"
    accepts = frozenset({TABLE, RAW_COLUMNS})
    cosine_head = True
    ensemble = False
    embeds = "many_valued"

    def __init__(self, n_features: int, n_outputs: int, *,
                 hidden_units: Sequence[int] = (128, 128), dropout: float = 0.1,
                 batch_norm: bool = False, normalized_output: bool = False,
                 scaling_layer: bool = False, scaling: str | None = "robust",
                 num_embeddings: str | None = None,
                 d_embedding: int = 16, n_bins: int = 48,
                 categorical_features="from_dtype", max_one_hot: int = 16,
                 d_cat_embedding: int = 8, min_level_count: int = 3,
                 missing_fill: str = "median", datetime_trend: bool = False,
                 columns: ColumnLayout | None = None,
                 X_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                 front: TableFront | None = None):
        super().__init__()
        front = self.table_front(
            front, n_features, columns, X_train, y_train, scaling=scaling,
            num_embeddings=num_embeddings, d_embedding=d_embedding, n_bins=n_bins,
            categorical_features=categorical_features, max_one_hot=max_one_hot,
            d_cat_embedding=d_cat_embedding, min_level_count=min_level_count,
            missing_fill=missing_fill, datetime_trend=datetime_trend)
        front.attach(self)
        self.embeddings = front.numeric_embeddings()
        embedded = front.embedded_columns
        #: Numeric columns through the embeddings, and those fed as they are (two-valued).
        self.register_buffer("embedded_columns", torch.tensor(embedded, dtype=torch.long))
        self.register_buffer("plain_columns", torch.tensor(
            sorted(set(range(front.n_numbers)) - set(embedded)), dtype=torch.long))
        self.categorical = front.categorical_encoding()
        width = (len(self.plain_columns)
                 + len(self.embedded_columns) * int(front.params["d_embedding"]))
        width += 0 if self.categorical is None else self.categorical.width
        self.body = TabularMLP(width, n_outputs, hidden_units=hidden_units, dropout=dropout,
                               batch_norm=batch_norm, normalized_output=normalized_output,
                               scaling_layer=scaling_layer)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        levels = None
        if self.columns is not None:
            X, levels = self.columns(X)
        if self.scaler is not None:
            X = self.scaler(X)
            if self.embeddings is not None:
                X = self.embeddings_of(X)
        if self.categorical is not None:
            X = torch.cat([X, self.categorical(levels)], dim=1)
        return self.body(X)

    def embeddings_of(self, X: torch.Tensor) -> torch.Tensor:
        """The embedded numeric columns, flattened, followed by the two-valued ones."""
        if not len(self.plain_columns):
            return self.embeddings(X).flatten(1)
        embedded = self.embeddings(X[:, self.embedded_columns]).flatten(1)
        return torch.cat([embedded, X[:, self.plain_columns]], dim=1)
