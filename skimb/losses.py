"""Loss strategies: small ``nn.Module`` objects with their formula in the docstring.

All losses share one protocol (:class:`ImbalanceLoss`):

* :meth:`~ImbalanceLoss.set_class_counts` receives the per-class row counts of
  the training portion at every fit, after the internal validation split, and
  turns them into buffers on the loss's device;
* :meth:`~ImbalanceLoss.set_epoch` tells the loss which epoch starts, for
  schedules such as deferred re-weighting (``drw_epoch``);
* ``forward(logits, target, sample_weight=None)`` returns the batch loss: the
  ``sample_weight``-weighted mean of the per-row losses,
  ``sum_i s_i * l_i / sum_i s_i`` (a plain mean when no weights are given);
* :meth:`~ImbalanceLoss.probabilities` maps the module's raw output to class
  probabilities — never through the training-time adjustments (margins,
  priors) — and :meth:`~ImbalanceLoss.output_width` says how many outputs the
  module needs.

Everything is computed in log-space (``log_softmax``, ``logsigmoid``), so
extreme logits stay finite. ``z`` below is the row of logits, ``y`` its class,
``n_c`` the training rows of class c, ``N = sum_c n_c``, ``pi_c = n_c / N``.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ImbalanceLoss",
    "CrossEntropy",
    "WeightedCrossEntropy",
    "FocalLoss",
    "ClassBalancedLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "BalancedSoftmaxLoss",
    "VSLoss",
    "BinaryCrossEntropy",
    "ClassRectificationLoss",
    "class_weights",
    "list_losses",
    "make_loss",
    "output_probabilities",
]

_WEIGHT_SCHEMES = ("balanced", "sqrt", "effective")


def class_weights(
    counts: np.ndarray, scheme="balanced", beta: float = 0.999, classes=None
) -> np.ndarray:
    """Per-class weights from class counts.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Rows per class.
    scheme : {"balanced", "sqrt", "effective"} or dict
        * ``"balanced"``: ``w_c = N / (C * n_c)`` (scikit-learn's rule);
        * ``"sqrt"``: ``w_c`` proportional to ``n_c ** -0.5``;
        * ``"effective"``: ``w_c`` proportional to ``(1 - beta) / (1 - beta ** n_c)``
          (Cui et al., CVPR 2019);
        * a dict ``{label: weight}`` with a weight for every class, used as given.

        The first three are scaled so that ``sum_c n_c w_c = N``: the average
        weight of a training row is 1, as with ``"balanced"``. Classes without
        rows get weight 0 (they never occur as a training target). ``C``
        counts only the classes that have rows.
    beta : float, default=0.999
        For ``"effective"``; in ``[0, 1)``.
    classes : array-like, optional
        The labels, in the order of ``counts``; needed for a dict.

    Returns
    -------
    weights : ndarray of shape (n_classes,), float64

    Examples
    --------
    >>> from skimb.losses import class_weights
    >>> class_weights([30, 10], "balanced").tolist()
    [0.6666666666666666, 2.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if isinstance(scheme, Mapping):
        if classes is None:
            raise ValueError("class weights given as a dict need the class labels.")
        known = set(np.asarray(classes).tolist())
        missing = [c for c in np.asarray(classes).tolist() if c not in scheme]
        unknown = [k for k in scheme if k not in known]
        if missing or unknown:
            raise ValueError(
                "class weights given as a dict need a weight for every class and "
                f"only for classes of y; missing: {missing}, unknown: {unknown}."
            )
        weights = np.array([scheme[c] for c in np.asarray(classes).tolist()], dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("class weights given as a dict must be finite and >= 0.")
        return weights
    safe = np.where(present, counts, 1.0)
    if scheme == "balanced":
        raw = 1.0 / safe
    elif scheme == "sqrt":
        raw = safe**-0.5
    elif scheme == "effective":
        if not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta!r}.")
        raw = (1.0 - beta) / -np.expm1(safe * np.log(beta)) if beta > 0 else np.ones_like(safe)
    else:
        raise ValueError(
            f"class weights must be one of {', '.join(map(repr, _WEIGHT_SCHEMES))} "
            f"or a dict {{label: weight}}; got {scheme!r}."
        )
    raw = np.where(present, raw, 0.0)
    return raw * counts.sum() / (raw * counts).sum()


def _check_finite(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"loss__{name} must be a finite number, got {value!r}.")
    return float(value)


def _check_nonnegative(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"loss__{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


class ImbalanceLoss(nn.Module):
    """Base class of skimb's losses.

    Subclasses implement :meth:`per_sample` and, when they use class
    statistics, :meth:`fit_class_statistics`; this class applies the sample
    weights and the reduction.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> loss = CrossEntropy()
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> float(loss(torch.zeros(2, 2), torch.tensor([0, 1])))  # log(2)
    0.6931...
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("class_counts", torch.zeros(0, dtype=torch.long))
        self.classes = None
        self.epoch = 0

    def set_class_counts(self, counts: torch.Tensor, classes=None) -> None:
        """Take the class statistics of the training portion.

        Parameters
        ----------
        counts : torch.Tensor of shape (n_classes,)
            Rows per class in the training portion.
        classes : array-like of shape (n_classes,), optional
            The original labels, for parameters given per label (dicts).
        """
        self.class_counts = torch.as_tensor(
            counts, dtype=torch.long, device=self.class_counts.device
        )
        self.classes = None if classes is None else np.asarray(classes)
        self.fit_class_statistics(self.class_counts.cpu().numpy().astype(np.float64))

    def fit_class_statistics(self, counts: np.ndarray) -> None:
        """Derive buffers from the class counts; nothing by default."""

    def _buffer(self, name, values):
        """Register ``values`` (float64) as buffer ``name`` on the loss's device."""
        self.register_buffer(
            name, torch.as_tensor(values, dtype=torch.float64, device=self.class_counts.device)
        )

    def set_epoch(self, epoch: int) -> None:
        """Tell the loss that epoch ``epoch`` (zero-based) is starting."""
        self.epoch = int(epoch)

    @staticmethod
    def output_width(n_classes: int) -> int:
        """Number of module outputs this loss expects for ``n_classes`` classes."""
        return n_classes

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Class probabilities of the module's raw output: ``softmax(z)``."""
        return torch.softmax(output, dim=-1)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unreduced loss of every row, shape ``(n_samples,)``."""
        raise NotImplementedError

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return _weighted_mean(self.per_sample(logits, target), sample_weight)


def _weighted_mean(losses, sample_weight):
    if sample_weight is None:
        return losses.mean()
    sample_weight = sample_weight.to(losses.dtype)
    return (losses * sample_weight).sum() / sample_weight.sum().clamp_min(
        torch.finfo(losses.dtype).tiny
    )


def _log_prior(counts: np.ndarray) -> np.ndarray:
    """``log(n_c / N)``, with empty classes counted as one row so it stays finite."""
    safe = np.maximum(counts, 1.0)
    return np.log(safe) - np.log(safe.sum())


class CrossEntropy(ImbalanceLoss):
    """Cross-entropy, ``l = -log softmax(z)_y`` (``loss="ce"``).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(CrossEntropy()(logits, torch.tensor([0, 1]))), 4)
    0.1269
    """

    def per_sample(self, logits, target):
        return F.cross_entropy(logits, target, reduction="none")


class _ClassWeightedLoss(ImbalanceLoss):
    """Shared handling of class weights and deferred re-weighting (DRW).

    With ``drw_epoch=E`` the weights are all 1 before epoch ``E`` and the
    class weights from then on (Cao et al., NeurIPS 2019: re-weighting from
    the first epoch usually hurts the learned features).
    """

    def __init__(self, weights, beta, drw_epoch):
        super().__init__()
        self.weights = weights
        self.beta = beta
        self.drw_epoch = drw_epoch
        self.register_buffer("class_weights", torch.zeros(0, dtype=torch.float64))

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

    def weight_scheme(self):
        """The class-weight scheme in force (None: unweighted)."""
        return self.weights

    def row_weights(self, target, dtype):
        """Class weight of every row's class, or None while DRW holds them off."""
        if self.drw_epoch is not None and self.epoch < self.drw_epoch:
            return None
        return self.class_weights.to(dtype)[target]


def _apply_weights(losses, row_weights):
    return losses if row_weights is None else row_weights * losses


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

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter, >= 0.
    alpha : None, float, {"balanced", "sqrt", "effective"} or dict, default=None
        Class weights. A float in (0, 1) is for binary targets: ``alpha`` for
        the second class (``classes_[1]``, the positive one) and ``1 - alpha``
        for the first, as in torchvision's ``sigmoid_focal_loss``. A scheme
        name or dict gives per-class weights as in :func:`class_weights`.
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

    def __init__(self, gamma: float = 2.0, alpha=None, beta: float = 0.999):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        self.beta = beta
        self.register_buffer("alpha_weights", torch.zeros(0, dtype=torch.float64))

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

    def per_sample(self, logits, target):
        log_p = F.log_softmax(logits, dim=-1).gather(1, target[:, None]).squeeze(1)
        return -self.alpha_weights.to(log_p.dtype)[target] * _focal_term(log_p, self.gamma) * log_p


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
    drw_epoch : int or None, default=None
        Deferred re-weighting: unweighted before this epoch.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import ClassBalancedLoss
    >>> loss = ClassBalancedLoss(beta=0.9)
    >>> loss.set_class_counts(torch.tensor([100, 1]))
    >>> [round(w, 3) for w in loss.class_weights.tolist()]
    [0.918, 9.182]
    """

    def __init__(self, beta: float = 0.999, base: str = "ce", gamma: float = 2.0,
                 drw_epoch: int | None = None):
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


class LDAMLoss(_ClassWeightedLoss):
    """Label-distribution-aware margin loss, ``l = CE(s * (z - Delta_y e_y), y)`` (``"ldam"``).

    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019. Margins ``Delta_c`` are proportional to
    ``n_c^(-1/4)``, the largest equal to ``max_m``. The logits are meant to be
    cosines from a normalised last layer (the built-in MLP switches one on
    for this loss), scaled by ``s``; ``predict_proba`` returns
    ``softmax(s * z)``, without the margins. Combine with deferred
    re-weighting (LDAM-DRW) through ``drw_epoch``: from that epoch, rows are
    weighted by effective-number weights (``beta``), or by ``weights``.

    Parameters
    ----------
    max_m : float, default=0.5
        Largest margin (that of the smallest class).
    s : float, default=30.0
        Logit scale.
    weights : None or as in :func:`class_weights`, default=None
        Class weights; None means effective-number weights when ``drw_epoch``
        is set, no weights otherwise.
    beta : float, default=0.9999
        Effective-number parameter for the DRW weights.
    drw_epoch : int or None, default=None
        Epoch at which the class weights switch on.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import LDAMLoss
    >>> loss = LDAMLoss(max_m=0.5)
    >>> loss.set_class_counts(torch.tensor([16, 1]))
    >>> loss.margins.tolist()
    [0.25, 0.5]
    """

    needs_normalized_output = True

    def __init__(self, max_m: float = 0.5, s: float = 30.0, weights=None,
                 beta: float = 0.9999, drw_epoch: int | None = None):
        super().__init__(weights, beta, drw_epoch)
        self.max_m = max_m
        self.s = s
        self.register_buffer("margins", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_nonnegative(self.max_m, "max_m")
        if _check_nonnegative(self.s, "s") == 0:
            raise ValueError("loss__s must be > 0.")
        margins = np.where(counts > 0, np.maximum(counts, 1.0) ** -0.25, 0.0)
        self._buffer("margins", margins * (self.max_m / margins.max()))
        super().fit_class_statistics(counts)

    def weight_scheme(self):
        if self.weights is None and self.drw_epoch is not None:
            return "effective"
        return self.weights

    def probabilities(self, output):
        return torch.softmax(self.s * output, dim=-1)

    def per_sample(self, logits, target):
        margin = self.margins.to(logits.dtype)[target]
        shifted = logits - F.one_hot(target, logits.shape[-1]).to(logits.dtype) * margin[:, None]
        ce = F.cross_entropy(self.s * shifted, target, reduction="none")
        return _apply_weights(ce, self.row_weights(target, ce.dtype))


class LogitAdjustedLoss(ImbalanceLoss):
    """Logit-adjusted cross-entropy, ``l = CE(z + tau * log pi, y)`` (``"logit_adjusted"``).

    Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021.
    ``tau=0`` is plain cross-entropy. Classes without training rows count as
    one row in ``pi``.

    Parameters
    ----------
    tau : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import LogitAdjustedLoss
    >>> loss = LogitAdjustedLoss(tau=1.0)
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> [round(v, 4) for v in loss.log_prior.tolist()]
    [-0.2877, -1.3863]
    """

    def __init__(self, tau: float = 1.0):
        super().__init__()
        self.tau = tau
        self.register_buffer("log_prior", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_finite(self.tau, "tau")
        self._buffer("log_prior", _log_prior(counts))

    def per_sample(self, logits, target):
        return F.cross_entropy(logits + self.tau * self.log_prior.to(logits.dtype), target,
                               reduction="none")


class BalancedSoftmaxLoss(ImbalanceLoss):
    """Balanced softmax, ``l = CE(z + log n, y)`` (``"balanced_softmax"``).

    Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition",
    NeurIPS 2020. Equal to ``logit_adjusted`` with ``tau=1`` (``log n`` and
    ``log pi`` differ by a constant that softmax ignores).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import BalancedSoftmaxLoss
    >>> loss = BalancedSoftmaxLoss()
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> round(float(loss(torch.zeros(1, 2), torch.tensor([1]))), 4)  # -log(1/4)
    1.3863
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("log_counts", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        self._buffer("log_counts", np.log(np.maximum(counts, 1.0)))

    def per_sample(self, logits, target):
        return F.cross_entropy(logits + self.log_counts.to(logits.dtype), target, reduction="none")


class VSLoss(ImbalanceLoss):
    """Vector-scaling loss, ``l = CE(z * (n / n_max)^gamma + tau * log pi, y)`` (``"vs"``).

    Kini et al., "Label-Imbalanced and Group-Sensitive Classification under
    Overparameterization", NeurIPS 2021: a multiplicative logit adjustment
    ``Delta_c = (n_max / n_c)^gamma`` (the logits are divided by it) combined
    with the additive one of ``logit_adjusted``.

    Parameters
    ----------
    gamma : float, default=0.2
    tau : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import VSLoss
    >>> loss = VSLoss(gamma=0.5)
    >>> loss.set_class_counts(torch.tensor([4, 1]))
    >>> loss.logit_scale.tolist()
    [1.0, 0.5]
    """

    def __init__(self, gamma: float = 0.2, tau: float = 1.0):
        super().__init__()
        self.gamma = gamma
        self.tau = tau
        self.register_buffer("logit_scale", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("log_prior", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_nonnegative(self.gamma, "gamma")
        _check_finite(self.tau, "tau")
        safe = np.maximum(counts, 1.0)
        self._buffer("logit_scale", (safe / safe.max()) ** self.gamma)
        self._buffer("log_prior", _log_prior(counts))

    def per_sample(self, logits, target):
        adjusted = logits * self.logit_scale.to(logits.dtype) + self.tau * self.log_prior.to(logits.dtype)
        return F.cross_entropy(adjusted, target, reduction="none")


class BinaryCrossEntropy(ImbalanceLoss):
    """Binary cross-entropy on one logit, ``l = -[w_p y log s(z) + (1 - y) log(1 - s(z))]`` (``"bce"``).

    ``s`` is the sigmoid, computed as ``logsigmoid`` so extreme logits stay
    finite; ``y`` is 1 for the second class (``classes_[1]``). The module
    needs one output (the built-in MLP is sized so); ``predict_proba``
    returns ``[1 - s(z), s(z)]``. Binary targets only.

    Parameters
    ----------
    pos_weight : "auto", float or None, default="auto"
        Weight ``w_p`` of the positive rows. ``"auto"`` is
        negatives / positives of the training portion (seed 001), which
        equals torch's ``BCEWithLogitsLoss(pos_weight=neg/pos)``.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import BinaryCrossEntropy
    >>> loss = BinaryCrossEntropy(pos_weight="auto")
    >>> loss.set_class_counts(torch.tensor([90, 10]))
    >>> float(loss.positive_weight)
    9.0
    """

    def __init__(self, pos_weight="auto"):
        super().__init__()
        self.pos_weight = pos_weight
        self.register_buffer("positive_weight", torch.ones((), dtype=torch.float64))

    @staticmethod
    def output_width(n_classes):
        if n_classes != 2:
            raise ValueError(
                f"loss='bce' is for binary targets; y has {n_classes} classes. "
                "Use 'ce', 'focal' or another multi-class loss."
            )
        return 1

    def fit_class_statistics(self, counts):
        self.output_width(len(counts))
        if self.pos_weight == "auto":
            if counts[1] == 0:
                raise ValueError("pos_weight='auto' needs positive rows in the training portion.")
            weight = counts[0] / counts[1]
        elif self.pos_weight is None:
            weight = 1.0
        else:
            weight = _check_nonnegative(self.pos_weight, "pos_weight")
        self._buffer("positive_weight", weight)

    def probabilities(self, output):
        p = torch.sigmoid(output.reshape(len(output), -1)[:, :1])
        return torch.cat([1.0 - p, p], dim=1)

    def per_sample(self, logits, target):
        z = logits.reshape(len(logits), -1)[:, 0]
        y = target.to(z.dtype)
        w = self.positive_weight.to(z.dtype)
        return -(w * y * F.logsigmoid(z) + (1.0 - y) * F.logsigmoid(-z))


class ClassRectificationLoss(ImbalanceLoss):
    """Class rectification loss: CE blended with a triplet loss on hard examples (``"crl"``).

    Dong et al., "Class Rectification Hard Mining for Imbalanced Deep
    Learning", ICCV 2017 (seed 002). In every batch:

    1. the *minority classes* are the rarest classes of the batch that
       together hold at most half its rows, keeping those with >= 2 rows;
    2. every row ``a`` of a minority class ``c`` is an anchor; its hard
       positives are the ``k`` other rows of class ``c`` with the lowest
       ``p_c``, its hard negatives the ``k`` rows of other classes with the
       highest ``p_c`` (``p = softmax(z)``);
    3. for each of the up to ``k * k`` triplets,
       ``t = max(0, |p_ac - p_pc| - |p_ac - p_nc| + margin)``;

    and ``loss = alpha * mean(t) + (1 - alpha) * CE``. Sample weights weight
    the CE rows and each triplet by its anchor's weight; rows of zero weight
    take no part in mining. A batch with no triplet uses CE alone. Mining is
    vectorised: no Python loop over anchors.

    Parameters
    ----------
    alpha : float, default=0.5
        Weight of the triplet term, in [0, 1].
    margin : float, default=0.5
        Triplet margin on probability distances.
    k : int, default=3
        Hard positives and hard negatives per anchor.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import ClassRectificationLoss
    >>> loss = ClassRectificationLoss(alpha=0.5)
    >>> loss.set_class_counts(torch.tensor([6, 2]))
    >>> logits = torch.zeros(8, 2)
    >>> target = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1])
    >>> round(float(loss(logits, target)), 4)  # 0.5 * margin + 0.5 * log 2
    0.5966
    """

    def __init__(self, alpha: float = 0.5, margin: float = 0.5, k: int = 3):
        super().__init__()
        self.alpha = alpha
        self.margin = margin
        self.k = k

    def fit_class_statistics(self, counts):
        if not isinstance(self.alpha, numbers.Real) or not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"loss__alpha must be in [0, 1], got {self.alpha!r}.")
        _check_nonnegative(self.margin, "margin")
        if not isinstance(self.k, numbers.Integral) or self.k < 1:
            raise ValueError(f"loss__k must be a positive integer, got {self.k!r}.")

    def per_sample(self, logits, target):
        return F.cross_entropy(logits, target, reduction="none")

    def triplet_term(self, logits, target, sample_weight=None):
        """Weighted mean triplet loss over the batch's mined triplets, and their count.

        Rows with zero sample weight are treated as absent; each triplet counts
        with its anchor's weight. Every row is considered as an anchor and
        masked when its class is not a minority class, so the batch never waits
        for the host; memory grows with the square of the batch size.
        """
        n, n_classes = logits.shape
        if sample_weight is None:
            weight = torch.ones(n, device=logits.device, dtype=logits.dtype)
        else:
            weight = sample_weight.to(logits.dtype)
        present = weight > 0
        counts = torch.bincount(target, weights=present.to(logits.dtype), minlength=n_classes)
        order = torch.argsort(counts, stable=True)
        within_half = torch.cumsum(counts[order], 0) <= present.sum() / 2
        minority = torch.zeros(n_classes, dtype=torch.bool, device=logits.device)
        minority[order] = within_half
        minority &= counts >= 2
        proba = torch.softmax(logits, dim=-1)
        k = min(self.k, n)
        same = target[None, :] == target[:, None]                     # (anchor, row)
        score = proba[:, target].T                                     # p_{class of anchor} of each row
        inf = torch.full((), float("inf"), device=logits.device, dtype=score.dtype)
        not_self = ~torch.eye(n, dtype=torch.bool, device=logits.device)
        candidates = present[None, :]
        positives = torch.topk(torch.where(same & not_self & candidates, score, inf), k, dim=1,
                               largest=False).values
        negatives = torch.topk(torch.where(~same & candidates, score, -inf), k, dim=1).values
        anchor_score = torch.diagonal(score)[:, None]
        d_pos = (anchor_score - positives).abs()
        d_neg = (anchor_score - negatives).abs()
        valid = (
            (minority[target] & present)[:, None, None]
            & torch.isfinite(positives)[:, :, None]
            & torch.isfinite(negatives)[:, None, :]
        )
        triplets = torch.relu(d_pos[:, :, None] - d_neg[:, None, :] + self.margin)
        anchor_weight = torch.where(valid, weight[:, None, None], torch.zeros_like(triplets))
        total = (anchor_weight * torch.where(valid, triplets, torch.zeros_like(triplets))).sum()
        mean = total / anchor_weight.sum().clamp_min(torch.finfo(logits.dtype).tiny)
        return mean, valid.sum()

    def forward(self, logits, target, sample_weight=None):
        ce = _weighted_mean(self.per_sample(logits, target), sample_weight)
        triplet, n_valid = self.triplet_term(logits, target, sample_weight)
        return torch.where(n_valid > 0, self.alpha * triplet + (1.0 - self.alpha) * ce, ce)


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
    "crl": ClassRectificationLoss,
}


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


def output_probabilities(loss, output: torch.Tensor) -> torch.Tensor:
    """Probabilities of a module's raw output as ``loss`` defines them (softmax otherwise)."""
    if isinstance(loss, ImbalanceLoss):
        return loss.probabilities(output)
    return torch.softmax(output, dim=-1)
