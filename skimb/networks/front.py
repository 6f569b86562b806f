"""The fitted front of the built-in networks: scaling, then numeric embeddings."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .embeddings import make_num_embeddings
from .scaling import SmoothClipScaler

SCALINGS = ("robust", None)


def fitted_front(n_features: int, *, scaling, num_embeddings, d_embedding, n_bins,
                 X_train, y_train) -> tuple[nn.Module, nn.Module | None]:
    """The scaler (identity when ``scaling=None``) and the embeddings, fitted on the training rows."""
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
    embeddings = make_num_embeddings(num_embeddings, n_features, X=scaled, y=y_train,
                                     d_embedding=d_embedding, n_bins=n_bins)
    return scaler, embeddings


def needs_rows(scaling, num_embeddings) -> bool:
    """Whether the front fits statistics on training rows (robust scaling or PLE bins)."""
    return scaling is not None or num_embeddings == "ple"


def _as_tensor(X):
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
