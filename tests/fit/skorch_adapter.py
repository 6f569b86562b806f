"""A thin adapter that lets skorch's own classifier tests drive ImbalancedTorchClassifier.

skorch's tests speak skorch's conventions; ImbalancedTorchClassifier speaks its own. The
adapter translates the conventions only, so that what the tests see is our class's
behaviour:

* ``criterion=`` (skorch) becomes ``loss=`` (ours). ``nn.NLLLoss`` (skorch's default) means
  "the module returns probabilities and the net takes their log before the loss"; our losses
  take logits, so the adapter turns the module's probabilities into logits by taking their
  (clamped) log, ``softmax(log p) == p``, and trains with ``loss="ce"`` (NLL of log-softmax:
  the same objective). ``nn.CrossEntropyLoss`` means "the module returns logits": ``loss="ce"``,
  output untouched. Any other criterion class is passed on as ``loss=`` (our class accepts an
  ``nn.Module`` class called as ``loss(logits, target)``).
* skorch's defaults where they are part of what a skorch test assumes: ``max_epochs=10``
  (ours is ``"auto"``: up to 240 epochs, which only makes the suite slow) and
  ``train_split=ValidSplit(5, stratified=True)`` (ours is ``None``), so the tests also run our
  validation path.

Everything else (optimizer, lr, batch size, callbacks, ``classes``, data handling, prediction)
is ImbalancedTorchClassifier's own.
"""

from __future__ import annotations

import torch
from skorch.dataset import ValidSplit
from torch import nn

from skimb import ImbalancedTorchClassifier

_UNSET = object()


def takes_log(criterion) -> bool:
    """skorch's rule: with an NLLLoss criterion the module outputs probabilities."""
    if isinstance(criterion, type):
        return issubclass(criterion, nn.NLLLoss)
    return isinstance(criterion, nn.NLLLoss)


def loss_for_criterion(criterion):
    """Our ``loss=`` for skorch's ``criterion=``."""
    if isinstance(criterion, type) and issubclass(criterion, (nn.NLLLoss, nn.CrossEntropyLoss)):
        return "ce"
    return criterion


def log_of_probabilities(proba: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is ``proba`` (rows summing to 1): the clamped log."""
    return torch.log(proba.clamp_min(torch.finfo(proba.dtype).tiny))


class SkorchConventionClassifier(ImbalancedTorchClassifier):
    """ImbalancedTorchClassifier taking skorch's ``NeuralNetClassifier`` conventions."""

    def __init__(
        self,
        module=None,
        *,
        criterion=nn.NLLLoss,
        train_split=ValidSplit(5, stratified=True),
        max_epochs=10,
        **kwargs,
    ):
        # ``loss`` arrives only from clone()/get_params(), where it was derived from criterion.
        loss = kwargs.pop("loss", _UNSET)
        super().__init__(
            module,
            loss=loss_for_criterion(criterion) if loss is _UNSET else loss,
            train_split=train_split,
            max_epochs=max_epochs,
            **kwargs,
        )
        self.criterion = criterion

    def set_params(self, **params):
        if "criterion" in params:
            params["loss"] = loss_for_criterion(params["criterion"])
        return super().set_params(**params)

    def infer(self, x, **fit_params):
        """The module's output, as logits: the log of its probabilities under NLLLoss."""
        output = super().infer(x, **fit_params)
        if not takes_log(self.criterion):
            return output
        if isinstance(output, tuple):
            return (log_of_probabilities(output[0]), *output[1:])
        return log_of_probabilities(output)
