"""Loss names, construction from ``loss=`` values, and output probabilities."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._base import ImbalanceLoss
from .cross_entropy import CrossEntropy, WeightedCrossEntropy
from .focal import ClassBalancedLoss, FocalLoss
from .logit_adjustment import BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss, VSLoss
from .rectification import ClassRectificationLoss
from .sigmoid import AsymmetricLoss, BinaryCrossEntropy


_REGISTRY = {
    "ce": CrossEntropy,
    "weighted_ce": WeightedCrossEntropy,
    "focal": FocalLoss,
    "class_balanced": ClassBalancedLoss,
    "ldam": LDAMLoss,
    "logit_adjusted": LogitAdjustedLoss,
    "balanced_softmax": BalancedSoftmaxLoss,
    "vs": VSLoss,
    "bce": BinaryCrossEntropy,
    "asl": AsymmetricLoss,
    "crl": ClassRectificationLoss,
}


def multilabel_losses() -> list[str]:
    """Names of the losses that accept multi-label (indicator) targets.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb.losses import multilabel_losses
    >>> multilabel_losses()
    ['asl', 'bce', 'ce', 'crl', 'focal']
    """
    return sorted(name for name, cls in _REGISTRY.items() if cls.supports_multilabel)


def list_losses() -> list[str]:
    """Names accepted by ``ImbalancedTorchClassifier(loss=...)``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb import list_losses
    >>> "weighted_ce" in list_losses()
    True
    """
    return sorted(_REGISTRY)


def loss_class(spec):
    """The class a ``loss=`` value stands for (a registered class for a name)."""
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"Unknown loss {spec!r}. Valid names: {', '.join(list_losses())}; "
                "or pass an nn.Module class or instance."
            )
        return _REGISTRY[spec]
    return spec if isinstance(spec, type) else type(spec)


def make_loss(spec, params: dict) -> nn.Module:
    """Build a fresh loss module from a name, a loss object or an ``nn.Module`` class.

    Parameters
    ----------
    spec : str, nn.Module instance or nn.Module class
        What the user passed as ``loss=``. An instance is copied, never modified.
    params : dict
        The ``loss__*`` parameters, without the prefix.

    Returns
    -------
    loss : nn.Module

    Examples
    --------
    >>> from skimb.losses import make_loss
    >>> make_loss("weighted_ce", {"weights": "sqrt"}).weights
    'sqrt'
    """
    cls = loss_class(spec)
    if isinstance(spec, nn.Module):
        loss = copy.deepcopy(spec)
        for key, value in params.items():
            if not hasattr(loss, key):
                raise ValueError(f"Invalid parameter loss__{key} for {type(loss).__name__}.")
            setattr(loss, key, value)
        return loss
    if isinstance(cls, type) and issubclass(cls, nn.Module):
        try:
            return cls(**params)
        except TypeError as exc:
            raise ValueError(f"Invalid loss__* parameters for {cls.__name__}: {exc}") from None
    raise ValueError(
        f"loss must be one of {', '.join(list_losses())}, an nn.Module class or "
        f"instance; got {type(spec).__name__}."
    )


def output_probabilities(loss, output: torch.Tensor, multilabel: bool = False) -> torch.Tensor:
    """Probabilities of a module's raw output as ``loss`` defines them.

    Other losses get the softmax, or the sigmoid of every output for
    multi-label targets.
    """
    if isinstance(loss, ImbalanceLoss):
        return loss.probabilities(output)
    return torch.sigmoid(output) if multilabel else torch.softmax(output, dim=-1)

