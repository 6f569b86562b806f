"""``module="linear"``: multinomial logistic regression behind the robust scaler."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..modules import CosineLinear
from ._base import TABLE, Network
from .front import fitted_front

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
    X_train : ndarray of shape (n_samples, n_features), optional
        The training rows the scaler is fitted on (the classifier passes them).
    y_train : ndarray of shape (n_samples,), optional
        Unused; taken for the shared constructor signature.

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
    accepts = frozenset({TABLE})
    cosine_head = True
    ensemble = False

    def __init__(self, n_features: int, n_outputs: int, *, normalized_output: bool = False,
                 scaling: str | None = "robust", X_train: np.ndarray | None = None,
                 y_train: np.ndarray | None = None):
        super().__init__()
        self.scaler, _ = fitted_front(n_features, scaling=scaling, num_embeddings=None,
                                      d_embedding=1, n_bins=2, X_train=X_train, y_train=y_train)
        #: False when built without training rows (a network constructed directly).
        self.front_fitted = X_train is not None or not self.needs_rows({"scaling": scaling})
        self.linear = (CosineLinear(n_features, n_outputs) if normalized_output
                       else nn.Linear(n_features, n_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.linear(self.scaler(X))
