"""Cross-entropy, plain and class-weighted (with deferred re-weighting)."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import ImbalanceLoss, _is_int, _log_weights, _sigmoid_cross_entropy, class_weights


class CrossEntropy(ImbalanceLoss):
    """Cross-entropy, ``l = -log softmax(z)_y`` (``loss="ce"``), optionally label-smoothed.

    With ``label_smoothing=e`` the target is ``1 - e`` on the row's class
    plus ``e / C`` on every class (Szegedy et al., CVPR 2016), as in
    :func:`torch.nn.functional.cross_entropy`: ``l = -(1 - e) log p_y -
    (e / C) sum_k log p_k``.

    With multi-label targets it is the binary cross-entropy of every label,
    averaged over the labels: ``l = -(1/L) sum_j [t_j log s(z_j) +
    (1 - t_j) log(1 - s(z_j))]`` (``s`` the sigmoid), i.e. ``bce`` without
    weights, with the targets ``t = (1 - e) y + e / 2``.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``e``, in ``[0, 1)``.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(CrossEntropy()(logits, torch.tensor([0, 1]))), 4)
    0.1269
    >>> round(float(CrossEntropy(label_smoothing=0.1)(logits, torch.tensor([0, 1]))), 4)
    0.2269
    """

    name = "ce"
    supports_multilabel = True
    supports_mixed_targets = True
    exact_prior_correction = True

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
                or not 0.0 <= label_smoothing < 1.0):
            raise ValueError(f"loss__label_smoothing must be a number in [0, 1), got "
                             f"{label_smoothing!r}.")
        self.label_smoothing = float(label_smoothing)

    def per_sample(self, logits, target):
        if self.multilabel:
            target = target.to(logits.dtype)
            if self.label_smoothing:
                target = target * (1.0 - self.label_smoothing) + self.label_smoothing / 2.0
            return _sigmoid_cross_entropy(logits, target).mean(dim=1)
        return F.cross_entropy(logits, target, reduction="none",
                               label_smoothing=self.label_smoothing)


def _is_fraction(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral))
            and 0.0 < value < 1.0)


def _check_drw_epoch(value) -> None:
    """Refuse a ``drw_epoch`` that is neither None, an epoch (int >= 0) nor a fraction in (0, 1)."""
    if value is None or (_is_int(value) and value >= 0) or _is_fraction(value):
        return
    raise ValueError(
        "loss__drw_epoch must be None, an integer >= 0 (an epoch of the fit call) or a "
        f"float strictly between 0 and 1 (a fraction of the call's epochs); got {value!r}."
    )


def _drw_start(drw_epoch, n_epochs: int) -> int:
    """The epoch of a fit call of ``n_epochs`` epochs at which DRW switches the weights on.

    ``drw_epoch=None`` is 0 (weights from the start), an int is that epoch, and a
    fraction ``f`` is ``ceil(f * n_epochs)``, the product rounded to 9 decimals first
    so that e.g. ``0.07 * 100`` is epoch 7, not 8.
    """
    if drw_epoch is None:
        return 0
    if _is_int(drw_epoch):
        return int(drw_epoch)
    return math.ceil(round(drw_epoch * n_epochs, 9))


class _ClassWeightedLoss(ImbalanceLoss):
    """Shared handling of class weights and deferred re-weighting (DRW).

    With ``drw_epoch=E`` the weights are all 1 before epoch ``E`` and the
    class weights from then on (Cao et al., NeurIPS 2019: re-weighting from
    the first epoch usually hurts the learned features). Epochs count within
    one fit call (:meth:`set_epoch`). ``E`` is an int >= 0, an epoch of the
    call, or a float ``f`` strictly between 0 and 1, a fraction of the call's
    epoch budget: the weights switch on at epoch ``ceil(f * n_epochs)``
    (``f = 0.5`` over 60 epochs: epoch 30), which needs ``n_epochs`` in
    :meth:`set_epoch`. The weights in force are the buffer
    ``active_weights``, switched in place by :meth:`set_epoch`, so
    ``forward`` has no branch on the epoch and ``torch.compile`` builds one
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
        _check_drw_epoch(self.drw_epoch)
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

    def set_epoch(self, epoch: int, n_epochs: int | None = None) -> None:
        """Tell the loss that epoch ``epoch`` of the fit call starts; switches the DRW
        weights in place.

        Parameters
        ----------
        epoch : int
            Zero-based epoch within the current ``fit`` / ``partial_fit`` call.
        n_epochs : int, optional
            That call's epoch budget; required when ``drw_epoch`` is a fraction.
        """
        super().set_epoch(epoch, n_epochs)
        if _is_fraction(self.drw_epoch) and self.n_epochs is None:
            raise ValueError(
                f"loss__drw_epoch={self.drw_epoch!r} is a fraction of the fit call's epochs, "
                "so the loss needs the call's budget (set_epoch_budget) first."
            )
        self._switch_weights()

    def _weights_on(self) -> bool:
        """Whether the class weights are in force at the current epoch."""
        if self.n_epochs is None and _is_fraction(self.drw_epoch):
            return False  # the call has not started: epoch 0, and ceil(f * n) >= 1
        return self.epoch >= _drw_start(self.drw_epoch, self.n_epochs)

    def _switch_weights(self):
        """Fill ``active_weights``: ones while DRW holds the weights off, else the class weights."""
        with torch.no_grad():
            if self._weights_on():
                self.active_weights.copy_(self.class_weights)
            else:
                self.active_weights.fill_(1.0)

    def log_prior_shift(self):
        """``log w_c`` of the class weights in force (all 0 while DRW holds them off)."""
        return _log_weights(self.active_weights)

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
    drw_epoch : None, int or float, default=None
        Deferred re-weighting: unweighted before this epoch of the fit call
        (an int >= 0), or before epoch ``ceil(drw_epoch * n_epochs)`` (a
        float strictly between 0 and 1, a fraction of the call's epochs).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import WeightedCrossEntropy
    >>> loss = WeightedCrossEntropy(weights="balanced")
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> loss.class_weights.tolist()
    [0.6666666666666666, 2.0]

    Deferred re-weighting over the second half of a 4-epoch call:

    >>> loss = WeightedCrossEntropy(drw_epoch=0.5)
    >>> loss.set_class_counts(torch.tensor([3.0, 1.0]))  # masses may be floats
    >>> for epoch in range(4):
    ...     loss.set_epoch(epoch, n_epochs=4)
    ...     print(epoch, loss.active_weights.tolist())
    0 [1.0, 1.0]
    1 [1.0, 1.0]
    2 [0.6666666666666666, 2.0]
    3 [0.6666666666666666, 2.0]
    """

    name = "weighted_ce"
    supports_mixed_targets = True
    exact_prior_correction = True

    def __init__(self, weights="balanced", beta: float = 0.999,
                 drw_epoch: int | float | None = None):
        super().__init__(weights, beta, drw_epoch)

    def per_sample(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        return _apply_weights(ce, self.row_weights(target, ce.dtype))

