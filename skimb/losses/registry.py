"""Loss names, construction from ``loss=`` values, and output probabilities."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
import torch.nn.functional as F

from ._base import ImbalanceLoss, _refuse_multiclass
from .cost_sensitive import CostSensitiveLoss
from .cross_entropy import CrossEntropy, WeightedCrossEntropy
from .focal import ClassBalancedLoss, FocalLoss
from .logit_adjustment import BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss, VSLoss
from .rectification import ClassRectificationLoss
from .sigmoid import AsymmetricLoss, BinaryCrossEntropy


#: skimb's loss classes; each declares its registry name and capabilities.
_LOSS_CLASSES = (
    CrossEntropy,
    WeightedCrossEntropy,
    FocalLoss,
    ClassBalancedLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    BalancedSoftmaxLoss,
    VSLoss,
    BinaryCrossEntropy,
    AsymmetricLoss,
    ClassRectificationLoss,
    CostSensitiveLoss,
)

_REGISTRY = {cls.name: cls for cls in _LOSS_CLASSES}


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
    """The class a ``loss=`` value stands for (a registered class for a name).

    Parameters
    ----------
    spec : str, nn.Module instance or nn.Module class
        What the user passed as ``loss=``.

    Returns
    -------
    cls : type

    Examples
    --------
    >>> from skimb.losses import loss_class
    >>> loss_class("crl").per_member
    True
    """
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"Unknown loss {spec!r}. Valid names: {', '.join(list_losses())}; "
                "or pass an nn.Module class or instance."
            )
        return _REGISTRY[spec]
    return spec if isinstance(spec, type) else type(spec)


def check_loss_compatibility(loss, *, multilabel: bool, n_classes: int) -> None:
    """Refuse a loss that cannot train on the target at hand, with a clear message.

    Reads the loss's declarations (:class:`ImbalanceLoss` attributes): a loss
    whose ``supports_multilabel`` is False refuses a multi-label (indicator)
    target, and a ``binary_only`` loss refuses a single-label target of more
    than two classes. Other ``nn.Module`` losses are not skimb's to judge and
    always pass.

    Parameters
    ----------
    loss : str, nn.Module instance or nn.Module class
        A ``loss=`` value: a registered name, a loss class or instance.
    multilabel : bool
        Whether ``y`` is a multi-label indicator matrix.
    n_classes : int
        The classes of a single-label ``y`` (the labels of a multi-label one).

    Raises
    ------
    ValueError
        When the loss does not fit the target (or the name is unknown).

    Examples
    --------
    >>> from skimb.losses import check_loss_compatibility
    >>> check_loss_compatibility("bce", multilabel=True, n_classes=5)
    >>> check_loss_compatibility("weighted_ce", multilabel=True, n_classes=5)
    Traceback (most recent call last):
    ...
    ValueError: loss='weighted_ce' is for single-label targets; ... asl, bce, ce, crl, focal.
    >>> check_loss_compatibility("bce", multilabel=False, n_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: loss='bce' takes binary or multi-label targets; y has 3 classes. ...
    """
    cls = loss_class(loss)
    if not (isinstance(cls, type) and issubclass(cls, ImbalanceLoss)):
        return
    if multilabel and not cls.supports_multilabel:
        raise ValueError(
            f"loss={cls.name or cls.__name__!r} is for single-label targets; with a "
            f"multi-label (indicator) y use one of: {', '.join(multilabel_losses())}."
        )
    if not multilabel and cls.binary_only and n_classes > 2:
        _refuse_multiclass(cls, n_classes)


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
        A skimb loss, or the loss of your own as built (the classifier wraps
        it in :class:`ForeignLoss`).

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
    elif isinstance(cls, type) and issubclass(cls, nn.Module):
        try:
            loss = cls(**params)
        except TypeError as exc:
            raise ValueError(f"Invalid loss__* parameters for {cls.__name__}: {exc}") from None
    else:
        raise ValueError(
            f"loss must be one of {', '.join(list_losses())}, an nn.Module class or "
            f"instance; got {type(spec).__name__}."
        )
    return loss


def output_probabilities(loss, output: torch.Tensor, multilabel: bool = False) -> torch.Tensor:
    """Probabilities of a module's raw output as ``loss`` defines them.

    Other losses get the softmax, or the sigmoid of every output for
    multi-label targets.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimb.losses import output_probabilities
    >>> output_probabilities(nn.CrossEntropyLoss(), torch.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """
    # A skimb loss that was given the training statistics knows its target kind; one that
    # was not (a net restored with initialize + load_params) follows the classifier's flag.
    if isinstance(loss, ImbalanceLoss) and loss.multilabel == multilabel:
        return loss.probabilities(output)
    return torch.sigmoid(output) if multilabel else torch.softmax(output, dim=-1)



def output_log_probabilities(loss, output: torch.Tensor, multilabel: bool = False
                             ) -> torch.Tensor:
    """The log of :func:`output_probabilities`, computed in log space.

    An ensemble's output of shape ``(n, k, n_outputs)`` gives the log of
    the mean of its members' probabilities (``logsumexp`` over the members
    less ``log k``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimb.losses import output_log_probabilities
    >>> output_log_probabilities(nn.CrossEntropyLoss(), torch.tensor([[0.0, 200.0]])).tolist()
    [[-200.0, 0.0]]
    """
    if output.ndim == 3:
        members = output_log_probabilities(loss, output.flatten(0, 1), multilabel)
        members = members.unflatten(0, output.shape[:2])
        return torch.logsumexp(members, dim=1) - math.log(output.shape[1])
    if isinstance(loss, ImbalanceLoss) and loss.multilabel == multilabel:
        return loss.log_probabilities(output)
    return F.logsigmoid(output) if multilabel else F.log_softmax(output, dim=-1)
