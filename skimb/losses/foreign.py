"""A loss of your own: any ``nn.Module`` called as ``loss(logits, target)``, wrapped once."""

from __future__ import annotations

import torch
from torch import nn

from ._base import ImbalanceLoss, MixedTarget

__all__ = ["ForeignLoss", "as_skimb_loss"]

_INNER = "loss."


class ForeignLoss(ImbalanceLoss):
    """Your own loss module behind skimb's loss protocol.

    ``loss=`` given as an ``nn.Module`` class or instance that is not a skimb
    loss is wrapped in this class once (:func:`as_skimb_loss`), when the
    classifier builds its loss,
    so the classifier treats every loss the same way. The wrapped module is
    called as ``loss(logits, target)`` and its result is the batch loss. It
    takes no class statistics, cannot weight rows (``supports_sample_weight``
    is False: ``sample_weight`` is refused before training) nor take mixed
    targets; the probabilities are the softmax of the output (each label's
    sigmoid for a multi-label target). Its ``state_dict`` is the wrapped
    module's, with the same keys.

    Parameters
    ----------
    loss : nn.Module
        The loss to call.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimb.losses import ForeignLoss
    >>> wrapped = ForeignLoss(nn.CrossEntropyLoss())
    >>> float(wrapped(torch.zeros(2, 2), torch.tensor([0, 1])))  # log(2)
    0.6931...
    >>> wrapped.display_name, list(ForeignLoss(nn.CrossEntropyLoss(torch.ones(2))).state_dict())
    ('CrossEntropyLoss', ['weight'])
    """

    supports_multilabel = True
    supports_sample_weight = False

    def __init__(self, loss: nn.Module):
        super().__init__()
        self.register_buffer("class_counts", self.class_counts, persistent=False)
        self.loss = loss
        self.register_state_dict_post_hook(_without_prefix)
        self.register_load_state_dict_pre_hook(_with_prefix)

    @property
    def display_name(self) -> str:
        return type(self.loss).__name__

    def forward(self, logits: torch.Tensor, target, sample_weight=None) -> torch.Tensor:
        if isinstance(target, MixedTarget):
            raise ValueError(
                f"The augmentation gave mixed targets, which loss={self.display_name} "
                "cannot take: only skimb losses declaring supports_mixed_targets do.")
        if sample_weight is not None:
            raise ValueError(
                f"sample_weight needs a skimb loss; {self.display_name} cannot weight rows.")
        return self.loss(logits, target)


def as_skimb_loss(loss: nn.Module) -> ImbalanceLoss:
    """``loss`` if it is a skimb loss, else ``loss`` wrapped in :class:`ForeignLoss`.

    Examples
    --------
    >>> from torch import nn
    >>> from skimb.losses import CrossEntropy, as_skimb_loss
    >>> type(as_skimb_loss(nn.NLLLoss())).__name__, type(as_skimb_loss(CrossEntropy())).__name__
    ('ForeignLoss', 'CrossEntropy')
    """
    return loss if isinstance(loss, ImbalanceLoss) else ForeignLoss(loss)


def _without_prefix(module, state_dict, prefix, local_metadata):
    """The wrapped module's entries under the wrapper's own prefix (its keys unchanged)."""
    for key in [k for k in state_dict if k.startswith(prefix + _INNER)]:
        state_dict[prefix + key[len(prefix + _INNER):]] = state_dict.pop(key)


def _with_prefix(module, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs):
    """Entries saved by :func:`_without_prefix` back under the wrapped module's name."""
    inner = {prefix + _INNER + name for name in module.loss.state_dict()}
    for key in [k for k in state_dict if k.startswith(prefix) and k not in inner]:
        if prefix + _INNER + key[len(prefix):] in inner:
            state_dict[prefix + _INNER + key[len(prefix):]] = state_dict.pop(key)
