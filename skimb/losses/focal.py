"""Focal loss (Lin et al., ICCV 2017) and class-balanced weights on it (Cui et al., CVPR 2019)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import ImbalanceLoss, _check_nonnegative, _log_weights, class_weights
from .cross_entropy import _ClassWeightedLoss, _apply_weights


def _focal_term(log_p_target, gamma):
    """``(1 - p)^gamma`` from ``log p``, accurate near p = 1 and with finite gradients."""
    if gamma == 0:
        return torch.ones_like(log_p_target)
    one_minus_p = (-torch.expm1(log_p_target)).clamp_min(torch.finfo(log_p_target.dtype).tiny)
    return one_minus_p**gamma


class FocalLoss(ImbalanceLoss):
    """Focal loss, ``l = -alpha_y (1 - p_y)^gamma log p_y`` with ``p = softmax(z)`` (``"focal"``).

    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017. With two
    classes the softmax of two logits is the sigmoid of their difference, so
    this is also the binary (sigmoid) form. ``gamma=0`` and no ``alpha`` is
    plain cross-entropy.

    With multi-label targets it takes its sigmoid form on every label,
    averaged over the labels (``p_j = s(z_j)``)::

        l_j = -[alpha y_j (1 - p_j)^gamma log p_j
                + (1 - alpha) (1 - y_j) p_j^gamma log(1 - p_j)]

    with ``alpha`` and ``1 - alpha`` both 1 when ``alpha`` is None.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter, >= 0.
    alpha : None, float, {"balanced", "sqrt", "effective"} or dict, default=None
        Class weights. A float in (0, 1) is for binary and multi-label
        targets: ``alpha`` for the positive class (``classes_[1]``, or a
        label's present rows) and ``1 - alpha`` for the other, as in
        torchvision's ``sigmoid_focal_loss``. A scheme name or dict gives
        per-class weights as in :func:`class_weights` (single-label only).
    beta : float, default=0.999
        For ``alpha="effective"``.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import FocalLoss
    >>> loss = FocalLoss(gamma=2.0)
    >>> loss.set_class_counts(torch.tensor([9, 1]))
    >>> round(float(loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))), 4)  # 0.25 * log 2
    0.1733
    """

    name = "focal"
    supports_multilabel = True
    supports_mixed_targets = True

    def __init__(self, gamma: float = 2.0, alpha=None, beta: float = 0.999):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        self.beta = beta
        self.register_buffer("alpha_weights", torch.zeros(0, dtype=torch.float64))

    def fit_label_statistics(self, positives, n_samples):
        _check_nonnegative(self.gamma, "gamma")
        if self.alpha is None:
            weights = np.ones(2)
        elif (isinstance(self.alpha, numbers.Real) and not isinstance(self.alpha, bool)
              and 0.0 < self.alpha < 1.0):
            weights = np.array([1.0 - self.alpha, self.alpha])
        else:
            raise ValueError(
                "With multi-label targets loss__alpha must be None or a float in (0, 1) "
                f"(the weight of present labels); got {self.alpha!r}."
            )
        self._buffer("alpha_weights", weights)

    def fit_class_statistics(self, counts):
        _check_nonnegative(self.gamma, "gamma")
        if self.alpha is None:
            weights = np.ones_like(counts)
        elif isinstance(self.alpha, numbers.Real) and not isinstance(self.alpha, bool):
            if len(counts) != 2 or not 0.0 < self.alpha < 1.0:
                raise ValueError(
                    "A float loss__alpha is for binary targets and must be in (0, 1); "
                    f"got {self.alpha!r} with {len(counts)} classes. Use 'balanced' or a dict."
                )
            weights = np.array([1.0 - self.alpha, self.alpha])
        else:
            weights = class_weights(counts, self.alpha, self.beta, self.classes)
        self._buffer("alpha_weights", weights)

    def log_prior_shift(self):
        """``log alpha_c`` (per label: ``log(alpha / (1 - alpha))``); focusing (``gamma``) has no
        closed form and is left to the residual."""
        log_alpha = _log_weights(self.alpha_weights)
        if self.multilabel:
            return np.full(len(self.class_counts), log_alpha[1] - log_alpha[0])
        return log_alpha

    def per_sample(self, logits, target):
        alpha = self.alpha_weights.to(logits.dtype)
        if self.multilabel:
            y = target.to(logits.dtype)
            log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)
            positive = alpha[1] * y * _focal_term(log_p, self.gamma) * log_p
            negative = alpha[0] * (1.0 - y) * _focal_term(log_q, self.gamma) * log_q
            return -(positive + negative).mean(dim=1)
        log_p = F.log_softmax(logits, dim=-1).gather(1, target[:, None]).squeeze(1)
        return -alpha[target] * _focal_term(log_p, self.gamma) * log_p


class ClassBalancedLoss(_ClassWeightedLoss):
    """Class-balanced loss: effective-number weights on CE or focal (``"class_balanced"``).

    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019: ``w_c`` proportional to ``(1 - beta) / (1 - beta^n_c)``,
    ``l = w_y * base(z, y)`` with ``base`` cross-entropy or focal loss. As
    ``beta -> 1`` the weights approach inverse frequency, at ``beta = 0`` they
    are all 1. Weights are scaled as in :func:`class_weights`.

    Parameters
    ----------
    beta : float, default=0.999
        In ``[0, 1)``.
    base : {"ce", "focal"}, default="ce"
    gamma : float, default=2.0
        Focusing parameter when ``base="focal"``.
    drw_epoch : None, int or float, default=None
        Deferred re-weighting: unweighted before this epoch of the fit call
        (an int >= 0), or before epoch ``ceil(drw_epoch * n_epochs)`` (a
        float strictly between 0 and 1, a fraction of the call's epochs).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import ClassBalancedLoss
    >>> loss = ClassBalancedLoss(beta=0.9)
    >>> loss.set_class_counts(torch.tensor([100, 1]))
    >>> [round(w, 3) for w in loss.class_weights.tolist()]
    [0.918, 9.182]
    """

    name = "class_balanced"
    supports_mixed_targets = True

    @property
    def exact_prior_correction(self) -> bool:
        """Exact on cross-entropy; on focal loss the weights are undone and the focusing
        left to the residual."""
        return self.base == "ce"

    def __init__(self, beta: float = 0.999, base: str = "ce", gamma: float = 2.0,
                 drw_epoch: int | float | None = None):
        super().__init__("effective", beta, drw_epoch)
        self.base = base
        self.gamma = gamma

    def fit_class_statistics(self, counts):
        if self.base not in ("ce", "focal"):
            raise ValueError(f"loss__base must be 'ce' or 'focal', got {self.base!r}.")
        _check_nonnegative(self.gamma, "gamma")
        super().fit_class_statistics(counts)

    def per_sample(self, logits, target):
        log_p = F.log_softmax(logits, dim=-1).gather(1, target[:, None]).squeeze(1)
        losses = -log_p
        if self.base == "focal":
            losses = losses * _focal_term(log_p, self.gamma)
        return _apply_weights(losses, self.row_weights(target, losses.dtype))

