"""The fitted-front protocol: what a network fits on the training rows before training."""

from __future__ import annotations

import numpy as np
from torch import nn

__all__ = ["FittedFront"]


class FittedFront(nn.Module):
    """A network's front: fitted once on the training rows, then part of the model.

    The protocol of everything a network fits on data before training
    (scaling statistics, embedding bins, category vocabularies): :meth:`fit`
    sets it from the training rows of the training context; tensors are
    buffers; any state that is not a tensor is returned by
    :meth:`front_state` and restored by :meth:`load_front_state`. That state
    travels as the module's *extra state*, so it goes wherever the module's
    ``state_dict`` goes — ``save_params`` / ``load_params`` (in torch's
    format; safetensors holds tensors only), pickles, ``deepcopy`` — and moving
    the module between CPU and CUDA keeps it. ``sklearn.base.clone`` of the
    classifier builds an unfitted one. ``fitted`` (part of that state) says
    whether :meth:`fit` ran.

    Examples
    --------
    >>> import io, numpy as np, torch
    >>> from skimb.networks import SmoothClipScaler
    >>> scaler = SmoothClipScaler(2).fit(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> buffer = io.BytesIO(); torch.save(scaler.state_dict(), buffer); _ = buffer.seek(0)
    >>> restored = SmoothClipScaler(2)
    >>> restored.fitted, (restored.load_state_dict(torch.load(buffer)), restored.fitted)[1]
    (False, True)
    """

    def __init__(self):
        super().__init__()
        self.fitted = False

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> FittedFront:
        """Fit on the training rows ``X`` (and their classes ``y``); return self."""
        raise NotImplementedError

    def front_state(self) -> dict:
        """State that is not a tensor (vocabularies, names), as plain Python values."""
        return {}

    def load_front_state(self, state: dict) -> None:
        """Restore what :meth:`front_state` returned."""

    def get_extra_state(self) -> dict:
        return {"fitted": self.fitted, **self.front_state()}

    def set_extra_state(self, state: dict) -> None:
        state = dict(state)
        self.fitted = bool(state.pop("fitted"))
        self.load_front_state(state)
