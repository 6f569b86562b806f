"""``module="mlp"``: a multi-layer perceptron behind the fitted front."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..modules import TabularMLP
from ._base import TABLE, Network
from .front import fitted_front, needs_rows

__all__ = ["MLPNetwork"]


class MLPNetwork(Network):
    """An MLP on robustly scaled (optionally embedded) numeric features.

    Built by ``ImbalancedTorchClassifier(module="mlp")`` from the training
    portion of every fit: the scaling statistics and the embedding bins are
    fitted on the training rows only (after the internal validation split if
    any, inside every cross-validation fold) and travel with the module.

    Parameters
    ----------
    n_features, n_outputs : int
    hidden_units : sequence of int, default=(128, 128)
        Width of each hidden layer; its length is the depth.
    dropout : float, default=0.1
    batch_norm : bool, default=False
    normalized_output : bool, default=False
        A cosine last layer (switched on for ``loss="ldam"``).
    scaling : {"robust", None}, default="robust"
        :class:`SmoothClipScaler`, or none (for inputs you scaled yourself).
    num_embeddings : {"ple", "periodic", None}, default=None
        Numeric embeddings from ``rtdl_num_embeddings``: piecewise-linear on
        tree bins cut on the labels, or periodic.
    d_embedding : int, default=16
    n_bins : int, default=48
        Most bins per feature for ``"ple"``.
    X_train : ndarray of shape (n_samples, n_features), optional
    y_train : ndarray of shape (n_samples,), optional
        The training rows and their class indices the front is fitted on
        (the classifier passes them).

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
    accepts = frozenset({TABLE})
    cosine_head = True
    ensemble = False

    def __init__(self, n_features: int, n_outputs: int, *,
                 hidden_units: Sequence[int] = (128, 128), dropout: float = 0.1,
                 batch_norm: bool = False, normalized_output: bool = False,
                 scaling: str | None = "robust", num_embeddings: str | None = None,
                 d_embedding: int = 16, n_bins: int = 48,
                 X_train: np.ndarray | None = None, y_train: np.ndarray | None = None):
        super().__init__()
        self.scaler, self.embeddings = fitted_front(
            n_features, scaling=scaling, num_embeddings=num_embeddings, d_embedding=d_embedding,
            n_bins=n_bins, X_train=X_train, y_train=y_train)
        #: False when built without training rows (a network constructed directly).
        self.front_fitted = X_train is not None or not needs_rows(scaling, num_embeddings)
        width = n_features if self.embeddings is None else n_features * int(d_embedding)
        self.body = TabularMLP(width, n_outputs, hidden_units=hidden_units, dropout=dropout,
                               batch_norm=batch_norm, normalized_output=normalized_output)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = self.scaler(X)
        if self.embeddings is not None:
            X = self.embeddings(X).flatten(1)
        return self.body(X)
