"""Layers of the built-in networks: the MLP body, the cosine head, RealMLP's scaling layer.

Their public home is :mod:`skimb.modules` (``from skimb.modules import CosineLinear``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TabularMLP", "CosineLinear", "FeatureScale", "check_dropout", "check_hidden_units"]


def check_hidden_units(hidden_units) -> tuple[int, ...]:
    """``module__hidden_units`` as a tuple of positive ints (an int is one layer)."""
    if isinstance(hidden_units, numbers.Integral):
        hidden_units = (hidden_units,)
    if not isinstance(hidden_units, Sequence) or not hidden_units or any(
            isinstance(u, bool) or not isinstance(u, numbers.Integral) or u < 1
            for u in hidden_units):
        raise ValueError(f"module__hidden_units must be positive integers, got {hidden_units!r}.")
    return tuple(int(u) for u in hidden_units)


def check_dropout(dropout) -> float:
    """``module__dropout`` as a float in [0, 1)."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"module__dropout must be in [0, 1), got {dropout!r}.")
    return float(dropout)


class CosineLinear(nn.Module):
    """Linear layer with normalised inputs and weights: outputs are cosines in [-1, 1].

    The last layer LDAM (Cao et al., 2019) expects: ``z_c = <x/|x|, w_c/|w_c|>``.

    Parameters
    ----------
    in_features, out_features : int

    Examples
    --------
    >>> import torch
    >>> from skimb.modules import CosineLinear
    >>> out = CosineLinear(4, 3)(torch.randn(5, 4))
    >>> bool(out.abs().max() <= 1.0 + 1e-6)
    True
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, X):
        return F.normalize(X, dim=1) @ F.normalize(self.weight, dim=1).T


class FeatureScale(nn.Module):
    """A learned scale per input feature, starting at 1: RealMLP's scaling layer.

    ``out_i = x_i * (1 + 6 u_i)`` with ``u`` a parameter starting at 0. The
    factor 6 is the learning-rate factor RealMLP gives this layer
    (Holzmüller et al., "Better by default", NeurIPS 2024), written into the
    parametrisation: under Adam(W), whose steps on ``u`` have the size of the
    learning rate, the scale moves 6 times as fast, and weight decay pulls it
    towards 1, not 0. It lets the network weigh its inputs (turn a useless
    feature down, a telling one up) before the first layer mixes them.

    Parameters
    ----------
    n_features : int
        Width of the input.

    Examples
    --------
    >>> import torch
    >>> from skimb.modules import FeatureScale
    >>> scale = FeatureScale(3)
    >>> scale(torch.ones(2, 3)).tolist()  # the identity at first
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    >>> with torch.no_grad():
    ...     _ = scale.u.fill_(0.5)
    >>> scale(torch.ones(1, 3)).tolist()
    [[4.0, 4.0, 4.0]]
    """

    #: RealMLP's learning-rate factor for the scaling layer.
    lr_factor = 6.0

    def __init__(self, n_features: int):
        super().__init__()
        self.u = nn.Parameter(torch.zeros(int(n_features)))

    def forward(self, X):
        return X * (1 + self.lr_factor * self.u)


class TabularMLP(nn.Module):
    """A multi-layer perceptron for tabular features that returns logits.

    The body of :class:`skimb.networks.MLPNetwork` (``module="mlp"``), which
    puts the fitted scaling and embeddings in front of it; usable on its own
    as ``module=TabularMLP`` with ``module__n_features`` and ``module__n_outputs``.

    Parameters
    ----------
    n_features : int
        Width of the input.
    n_outputs : int
        Number of logits (one per class).
    hidden_units : sequence of int, default=(128, 128)
        Width of each hidden layer; its length is the depth.
    dropout : float, default=0.1
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Add ``BatchNorm1d`` after each hidden linear layer.
    normalized_output : bool, default=False
        Make the last layer a :class:`CosineLinear` (switched on for
        ``loss="ldam"``).
    scaling_layer : bool, default=False
        Put a :class:`FeatureScale` (a learned scale per input feature) in
        front of the first layer.

    Examples
    --------
    >>> import torch
    >>> from skimb.modules import TabularMLP
    >>> net = TabularMLP(n_features=4, n_outputs=3, hidden_units=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden_units: Sequence[int] = (128, 128),
        dropout: float = 0.1,
        batch_norm: bool = False,
        normalized_output: bool = False,
        scaling_layer: bool = False,
    ):
        super().__init__()
        dropout = check_dropout(dropout)
        if not isinstance(scaling_layer, (bool, np.bool_)):
            raise ValueError(f"module__scaling_layer must be True or False, got {scaling_layer!r}.")
        #: The learned input scale, or None.
        self.scale = FeatureScale(n_features) if scaling_layer else None
        layers = []
        width = n_features
        for units in check_hidden_units(hidden_units):
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(CosineLinear(width, n_outputs) if normalized_output
                      else nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X if self.scale is None else self.scale(X))
