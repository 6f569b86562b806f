"""Cross-entropy, plain and class-weighted (with deferred re-weighting)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import ImbalanceLoss, _sigmoid_cross_entropy, class_weights


class CrossEntropy(ImbalanceLoss):
    """Cross-entropy, ``l = -log softmax(z)_y`` (``loss="ce"``).

    With multi-label targets it is the binary cross-entropy of every label,
    averaged over the labels: ``l = -(1/L) sum_j [y_j log s(z_j) +
    (1 - y_j) log(1 - s(z_j))]`` (``s`` the sigmoid), i.e. ``bce`` without
    weights.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(CrossEntropy()(logits, torch.tensor([0, 1]))), 4)
    0.1269
    """

    supports_multilabel = True

    def per_sample(self, logits, target):
        if self.multilabel:
            return _sigmoid_cross_entropy(logits, target.to(logits.dtype)).mean(dim=1)
        return F.cross_entropy(logits, target, reduction="none")


class _ClassWeightedLoss(ImbalanceLoss):
    """Shared handling of class weights and deferred re-weighting (DRW).

    With ``drw_epoch=E`` the weights are all 1 before epoch ``E`` and the
    class weights from then on (Cao et al., NeurIPS 2019: re-weighting from
    the first epoch usually hurts the learned features). The weights in force
    are the buffer ``active_weights``, switched in place by :meth:`set_epoch`,
    so ``forward`` has no branch on the epoch and ``torch.compile`` builds one
    graph for the whole schedule.
    """

    def __init__(self, weights, beta, drw_epoch):
        super().__init__()
        self.weights = weights
        self.beta = beta
        self.drw_epoch = drw_epoch
        self.register_buffer("class_weights", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("active_weights", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        if self.drw_epoch is not None and (
            not isinstance(self.drw_epoch, numbers.Integral) or self.drw_epoch < 0
        ):
            raise ValueError(f"loss__drw_epoch must be an integer >= 0 or None, got {self.drw_epoch!r}.")
        scheme = self.weight_scheme()
        if scheme is None:
            weights = np.ones_like(counts)
        else:
            weights = class_weights(counts, scheme, self.beta, self.classes)
        self._buffer("class_weights", weights)
        self.active_weights = self.class_weights.clone()
        self._switch_weights()

    def weight_scheme(self):
        """The class-weight scheme in force (None: unweighted)."""
        return self.weights

    def set_epoch(self, epoch: int) -> None:
        """Tell the loss that epoch ``epoch`` starts; switches the DRW weights in place."""
        super().set_epoch(epoch)
        self._switch_weights()

    def _switch_weights(self):
        """Fill ``active_weights``: ones while DRW holds the weights off, else the class weights."""
        with torch.no_grad():
            if self.drw_epoch is not None and self.epoch < self.drw_epoch:
                self.active_weights.fill_(1.0)
            else:
                self.active_weights.copy_(self.class_weights)

    def row_weights(self, target, dtype):
        """Weight in force of every row's class (all 1 while DRW holds them off)."""
        return self.active_weights.to(dtype)[target]


def _apply_weights(losses, row_weights):
    return row_weights * losses


class WeightedCrossEntropy(_ClassWeightedLoss):
    """Class-weighted cross-entropy, ``l = -w_y log softmax(z)_y`` (``"weighted_ce"``).

    The weights ``w`` come from the training portion's class counts, see
    :func:`class_weights`.

    Parameters
    ----------
    weights : {"balanced", "sqrt", "effective"} or dict, default="balanced"
        How class weights are derived from the counts, or ``{label: weight}``.
    beta : float, default=0.999
        Effective-number parameter, used when ``weights="effective"``.
    drw_epoch : int or None, default=None
        Deferred re-weighting: unweighted before this epoch.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import WeightedCrossEntropy
    >>> loss = WeightedCrossEntropy(weights="balanced")
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> loss.class_weights.tolist()
    [0.6666666666666666, 2.0]
    """

    def __init__(self, weights="balanced", beta: float = 0.999, drw_epoch: int | None = None):
        super().__init__(weights, beta, drw_epoch)

    def per_sample(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        return _apply_weights(ce, self.row_weights(target, ce.dtype))

