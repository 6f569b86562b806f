"""Robust scaling with smooth clipping, fitted on the training rows (RealMLP's preprocessing)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .fitted_front import FittedFront

__all__ = ["SmoothClipScaler"]


class SmoothClipScaler(FittedFront):
    """Centre and scale each feature robustly, then clip it smoothly to about ±3.

    ``u = (x - median) / s`` with ``s`` the interquartile range, or the
    standard deviation when the quartiles coincide (binary, sparse and
    few-valued columns, whose rare values must stay visible); a constant
    column maps to 0. The output is ``u / sqrt(1 + (u / 3)^2)``, which
    is close to ``u`` near 0 and bounded by 3 (Holzmüller et al., "Better by
    default: strong pre-tuned MLPs and boosted trees on tabular data",
    NeurIPS 2024). It saturates for every finite input: ``u`` is clamped
    where ``(u / 3)^2`` would overflow (about 1.8e19 in float32), where the
    output is ±3 to the dtype's precision, so a value far from the median
    maps to ±3, never back to 0. A :class:`~skimb.networks.FittedFront`: the
    statistics are buffers, which move with the module between devices and
    travel in its ``state_dict`` and pickles with its ``fitted`` flag.

    Parameters
    ----------
    n_features : int
        Width of the input; the scaler starts as the identity until
        :meth:`fit` is called.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skimb.networks import SmoothClipScaler
    >>> X = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [100.0, 5.0]], dtype=np.float32)
    >>> scaler = SmoothClipScaler(2).fit(X)
    >>> out = scaler(torch.from_numpy(X))
    >>> bool(out.abs().max() < 3), out[:, 1].tolist()
    (True, [0.0, 0.0, 0.0, 0.0])
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("center", torch.zeros(n_features))
        self.register_buffer("inverse_scale", torch.ones(n_features))

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> SmoothClipScaler:
        """Set the statistics from the training rows ``X`` (n_samples, n_features)."""
        X = np.asarray(X, dtype=np.float64)
        low, median, high = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
        spread = high - low
        spread = np.where(spread > 0, spread, X.std(axis=0))
        inverse = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
        # a spread below float32's smallest normal would give an infinite scale (0 * inf = NaN)
        inverse = np.minimum(inverse, np.finfo(np.float32).max)
        self.center.copy_(torch.from_numpy(median))
        self.inverse_scale.copy_(torch.from_numpy(inverse))
        self.fitted = True
        return self

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        largest = torch.finfo(X.dtype).max
        # Both clamps leave every ordinary value as it is: the first keeps X - center finite
        # (the sum of two large floats may overflow), the second keeps (u / 3)^2 finite.
        u = (X - self.center).clamp(-largest, largest) * self.inverse_scale
        saturation = math.sqrt(torch.finfo(u.dtype).max)
        u = u.clamp(-saturation, saturation)
        return u * torch.rsqrt(1.0 + (u / 3.0) ** 2)
