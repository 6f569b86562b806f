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

Multi-label (indicator) targets reach the losses that support them through
:meth:`~ImbalanceLoss.set_label_counts` instead (per-label positive counts and
the number of training rows); the module then has one output per label and
probabilities are the sigmoid of each. ``ce``, ``bce``, ``focal``, ``asl`` and
``crl`` support multi-label targets; the others raise a ValueError.

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
    "AsymmetricLoss",
    "ClassRectificationLoss",
    "class_weights",
    "list_losses",
    "multilabel_losses",
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
        weights = np.array(_values_by_label(scheme, classes, "class weights", "class"),
                           dtype=np.float64)
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


def _values_by_label(mapping, labels, what, kind):
    """The values of ``mapping`` in the order of ``labels``; every label, and only those."""
    names = np.asarray(labels).tolist()
    missing = [c for c in names if c not in mapping]
    unknown = [k for k in mapping if k not in set(names)]
    if missing or unknown:
        raise ValueError(
            f"{what} given as a dict must map every {kind} of y, and nothing else, to a "
            f"value; missing: {missing}, unknown: {unknown}."
        )
    return [mapping[c] for c in names]


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

    #: Whether :meth:`set_label_counts` (multi-label targets) is supported.
    supports_multilabel = False

    def __init__(self):
        super().__init__()
        self.register_buffer("class_counts", torch.zeros(0, dtype=torch.long))
        self.classes = None
        self.epoch = 0
        self.multilabel = False

    def set_class_counts(self, counts: torch.Tensor, classes=None) -> None:
        """Take the class statistics of the training portion.

        Parameters
        ----------
        counts : torch.Tensor of shape (n_classes,)
            Rows per class in the training portion.
        classes : array-like of shape (n_classes,), optional
            The original labels, for parameters given per label (dicts).
        """
        self.multilabel = False
        self.class_counts = torch.as_tensor(
            counts, dtype=torch.long, device=self.class_counts.device
        )
        self.classes = None if classes is None else np.asarray(classes)
        self.fit_class_statistics(self.class_counts.cpu().numpy().astype(np.float64))

    def fit_class_statistics(self, counts: np.ndarray) -> None:
        """Derive buffers from the class counts; nothing by default."""

    def set_label_counts(self, positives: torch.Tensor, n_samples: int, labels=None) -> None:
        """Take the label statistics of a multi-label training portion.

        Parameters
        ----------
        positives : torch.Tensor of shape (n_labels,)
            Training rows in which each label is present (1).
        n_samples : int
            Rows in the training portion; ``n_samples - positives`` are the
            negatives of each label.
        labels : array-like of shape (n_labels,), optional
            The label names, for parameters given per label (dicts).
        """
        if not self.supports_multilabel:
            raise ValueError(
                f"{type(self).__name__} is for single-label targets; with a multi-label "
                f"(indicator) y use one of: {', '.join(multilabel_losses())}."
            )
        self.multilabel = True
        self.class_counts = torch.as_tensor(
            positives, dtype=torch.long, device=self.class_counts.device
        )
        self.classes = None if labels is None else np.asarray(labels)
        self.fit_label_statistics(self.class_counts.cpu().numpy().astype(np.float64),
                                  float(n_samples))

    def fit_label_statistics(self, positives: np.ndarray, n_samples: float) -> None:
        """Derive buffers from per-label positive counts; nothing by default."""

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
        """Probabilities of the module's raw output: ``softmax(z)``, or per-label
        ``sigmoid(z)`` for multi-label targets."""
        if self.multilabel:
            return torch.sigmoid(output)
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


def _sigmoid_cross_entropy(z, y, pos_weight=None):
    """Per-label binary cross-entropy ``-[w y log s(z) + (1 - y) log(1 - s(z))]``."""
    positive = F.logsigmoid(z) * y
    if pos_weight is not None:
        positive = positive * pos_weight
    return -(positive + (1.0 - y) * F.logsigmoid(-z))


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

    supports_multilabel = True

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


def _per_label_values(value, name, positives, labels):
    """A loss parameter given per label (number, sequence or dict) as a float64 array."""
    n_labels = len(positives)
    if isinstance(value, Mapping):
        names = np.arange(n_labels) if labels is None else labels
        value = _values_by_label(value, names, f"loss__{name}", "label")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        values = np.full(n_labels, float(value))
    else:
        try:
            values = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(
                f"loss__{name} must be a number, a sequence or a dict of numbers; "
                f"got {value!r}."
            ) from None
        if len(values) != n_labels:
            raise ValueError(
                f"loss__{name} has {len(values)} values; y has {n_labels} labels."
            )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"loss__{name} must be finite and >= 0, got {value!r}.")
    return values


class _SigmoidLoss(ImbalanceLoss):
    """Losses on sigmoid outputs: one per label, or a single one for a binary
    target (then ``y`` is 1 for its second class, ``classes_[1]``).

    Subclasses give the loss of every (row, label) in :meth:`per_label`; a
    row's loss is the mean over its labels (see :meth:`reduce_labels`).
    """

    supports_multilabel = True

    @classmethod
    def output_width(cls, n_classes):
        if n_classes != 2:
            name = next((k for k, v in _REGISTRY.items() if v is cls), cls.__name__)
            raise ValueError(
                f"loss={name!r} takes binary or multi-label targets; y has "
                f"{n_classes} classes. Use 'ce', 'focal' or another multi-class loss."
            )
        return 1

    def fit_class_statistics(self, counts):
        self.output_width(len(counts))
        self.fit_label_statistics(counts[1:], float(counts.sum()))

    def label_names(self):
        """Names of the sigmoid outputs: the labels, or a binary target's positive class."""
        if self.classes is None or self.multilabel:
            return self.classes
        return self.classes[1:]

    def probabilities(self, output):
        p = torch.sigmoid(output)
        if self.multilabel:
            return p
        p = p.reshape(len(output), -1)[:, :1]
        return torch.cat([1.0 - p, p], dim=1)

    def per_sample(self, logits, target):
        if self.multilabel:
            z, y = logits, target.to(logits.dtype)
        else:
            z = logits.reshape(len(logits), -1)[:, :1]
            y = target.to(z.dtype)[:, None]
        return self.reduce_labels(self.per_label(z, y))

    def per_label(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Loss of every row and label, shape ``(n_samples, n_labels)``."""
        raise NotImplementedError

    def reduce_labels(self, losses: torch.Tensor) -> torch.Tensor:
        """A row's loss from its labels' losses: their mean."""
        return losses.mean(dim=1)


class BinaryCrossEntropy(_SigmoidLoss):
    """Binary cross-entropy on sigmoid outputs (``"bce"``), for binary and multi-label targets.

    For each label ``j`` of a row (a binary target is one label, ``y`` = 1
    for ``classes_[1]``)::

        l_j = -[p_j y_j log s(z_j) + (1 - y_j) log(1 - s(z_j))]
        l   = sum_j v_j l_j / sum_j v_j

    ``s`` is the sigmoid, computed as ``logsigmoid`` so extreme logits stay
    finite; ``p_j`` the positive weight and ``v_j`` the label weight. A
    binary target needs one module output (the built-in MLP is sized so) and
    ``predict_proba`` returns ``[1 - s(z), s(z)]``; a multi-label target one
    output per label and ``predict_proba`` returns ``s(z)``. Half-precision
    logits are cast to float32 inside the loss, so large positive weights do
    not overflow.

    ``pos_weight`` and ``label_weights`` do different things (seed 003):
    ``pos_weight`` multiplies only the positive term of a label, as if its
    positive rows were repeated — it moves that label's decision towards
    recall and is the per-label answer to imbalance. ``label_weights``
    multiplies a label's whole loss, positives and negatives alike — it sets
    how much each label matters in training, not where its threshold lies.
    With neither, the loss is torch's ``BCEWithLogitsLoss()``.

    Parameters
    ----------
    pos_weight : "auto", float, sequence, dict or None, default="auto"
        Positive weight of every label. ``"auto"`` is negatives / positives
        of the label in the training portion (seed 001; torch's
        ``BCEWithLogitsLoss(pos_weight=neg/pos)``), and 1 for a label with
        no positive or no negative training rows. A float applies to every
        label; a sequence or ``{label: weight}`` dict gives one per label
        (for a binary target, keyed by its positive class).
    label_weights : None, "balanced", "sqrt", sequence or dict, default=None
        Multi-label only. ``"balanced"`` weights each label by the inverse of
        its positive count, ``"sqrt"`` by its inverse square root (a label
        without positives counts as one); a sequence or ``{label: weight}``
        dict gives them. The weights are normalised to sum to 1, so the loss
        keeps the scale of the unweighted mean.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import BinaryCrossEntropy
    >>> loss = BinaryCrossEntropy(pos_weight="auto")
    >>> loss.set_class_counts(torch.tensor([90, 10]))
    >>> loss.positive_weight.tolist()
    [9.0]
    >>> loss.set_label_counts(torch.tensor([50, 10, 1]), n_samples=100)
    >>> loss.positive_weight.tolist()
    [1.0, 9.0, 99.0]
    """

    def __init__(self, pos_weight="auto", label_weights=None):
        super().__init__()
        self.pos_weight = pos_weight
        self.label_weights = label_weights
        self.register_buffer("positive_weight", torch.ones(1, dtype=torch.float64))
        self.register_buffer("label_weight", torch.ones(1, dtype=torch.float64))

    def fit_label_statistics(self, positives, n_samples):
        negatives = n_samples - positives
        if isinstance(self.pos_weight, str):
            if self.pos_weight != "auto":
                raise ValueError(
                    f"loss__pos_weight must be 'auto', a number, a sequence, a dict or "
                    f"None; got {self.pos_weight!r}."
                )
            both = (positives > 0) & (negatives > 0)
            weight = np.where(both, negatives / np.maximum(positives, 1.0), 1.0)
        elif self.pos_weight is None:
            weight = np.ones_like(positives)
        else:
            weight = _per_label_values(self.pos_weight, "pos_weight", positives,
                                       self.label_names())
        self._buffer("positive_weight", weight)
        label_weight = self._label_weights(positives)
        self._buffer("label_weight", label_weight / label_weight.sum())

    def _label_weights(self, positives):
        if self.label_weights is None:
            return np.ones_like(positives)
        if not self.multilabel:
            raise ValueError(
                "loss__label_weights is for multi-label targets; with a binary target "
                "use loss__pos_weight."
            )
        if isinstance(self.label_weights, str):
            exponents = {"balanced": -1.0, "sqrt": -0.5}
            if self.label_weights not in exponents:
                raise ValueError(
                    "loss__label_weights must be None, 'balanced', 'sqrt', a sequence or "
                    f"a dict; got {self.label_weights!r}."
                )
            weights = np.maximum(positives, 1.0) ** exponents[self.label_weights]
        else:
            weights = _per_label_values(self.label_weights, "label_weights", positives,
                                        self.label_names())
        if weights.sum() <= 0:
            raise ValueError("loss__label_weights are all zero: no label would count.")
        return weights

    def per_label(self, z, y):
        # At least float32: a positive weight neg/pos can pass float16's 65504.
        dtype = torch.promote_types(z.dtype, torch.float32)
        return _sigmoid_cross_entropy(z.to(dtype), y.to(dtype), self.positive_weight.to(dtype))

    def reduce_labels(self, losses):
        weight = self.label_weight.to(losses.dtype)
        return (losses * weight).sum(dim=1) / weight.sum()


class AsymmetricLoss(_SigmoidLoss):
    """Asymmetric loss for multi-label targets (``"asl"``).

    Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV
    2021. Positives and negatives get different focusing, and easy negatives
    are discarded by a probability margin ``m`` (``clip``). With
    ``p = s(z)`` and the shifted probability ``p_m = max(p - m, 0)``::

        l_j = -[y_j (1 - p)^gamma_pos log p
                + (1 - y_j) p_m^gamma_neg log(1 - p_m)]

    averaged over the labels and then over the rows (the reference
    implementation sums instead; that only rescales the learning rate).
    ``gamma_neg = gamma_pos = clip = 0`` is plain binary cross-entropy. A
    binary target is one label (``y`` = 1 for ``classes_[1]``), with one
    module output.

    Parameters
    ----------
    gamma_neg : float, default=4.0
        Focusing of the negatives, >= 0.
    gamma_pos : float, default=1.0
        Focusing of the positives, >= 0.
    clip : float, default=0.05
        Probability margin ``m`` in [0, 1) shifting the negatives.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import AsymmetricLoss
    >>> loss = AsymmetricLoss(gamma_neg=4.0, gamma_pos=1.0, clip=0.05)
    >>> loss.set_label_counts(torch.tensor([30, 5]), n_samples=100)
    >>> z = torch.tensor([[-4.0, 0.0]])
    >>> round(float(loss(z, torch.tensor([[0.0, 1.0]]))), 4)  # easy negative: 0
    0.1733
    """

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 1.0, clip: float = 0.05):
        super().__init__()
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip

    def fit_label_statistics(self, positives, n_samples):
        _check_nonnegative(self.gamma_neg, "gamma_neg")
        _check_nonnegative(self.gamma_pos, "gamma_pos")
        if _check_nonnegative(self.clip, "clip") >= 1.0:
            raise ValueError(f"loss__clip must be in [0, 1), got {self.clip!r}.")

    def per_label(self, z, y):
        log_p = F.logsigmoid(z)
        positive = _focal_term(log_p, self.gamma_pos) * log_p
        if self.clip > 0:
            shifted_p = torch.clamp(torch.sigmoid(z) - self.clip, min=0.0)
            log_q = torch.log(torch.clamp(torch.sigmoid(-z) + self.clip, max=1.0))
        else:
            shifted_p, log_q = torch.sigmoid(z), F.logsigmoid(-z)
        if self.gamma_neg == 0:
            negative = log_q
        else:
            tiny = torch.finfo(z.dtype).tiny
            negative = shifted_p.clamp_min(tiny) ** self.gamma_neg * log_q
        return -(y * positive + (1.0 - y) * negative)


def _minority(counts, n_present):
    """The rarest classes (or labels) that together hold at most half of
    ``n_present`` rows, keeping those with at least two rows."""
    order = torch.argsort(counts, stable=True)
    within_half = torch.cumsum(counts[order], 0) <= n_present / 2
    minority = torch.zeros_like(within_half)
    minority[order] = within_half
    return minority & (counts >= 2)


def _rectification_triplets(member, score, weight, k, margin):
    """Weighted mean triplet loss of the hard examples mined in one batch, and
    the number of triplets.

    ``member[t, r]``: row ``r`` belongs to class (or has label) ``t``;
    ``score[t, r]``: its predicted probability of ``t``; ``weight[r]``: its
    sample weight (rows of weight 0 are absent). The lowest-scored ``k + 1``
    members and highest-scored ``k`` non-members of each ``t`` are taken
    once; an anchor's hard positives are the first ``k`` of the former that
    are not the anchor itself. Memory grows as ``T * n * k^2``.
    """
    n_tasks, n = member.shape
    present = weight > 0
    own = member & present[None, :]
    minority = _minority(own.sum(dim=1), present.sum())
    inf = torch.full((), float("inf"), device=score.device, dtype=score.dtype)
    lowest, lowest_rows = torch.topk(torch.where(own, score, inf), min(k + 1, n), dim=1,
                                     largest=False)
    negatives = torch.topk(torch.where(~member & present[None, :], score, -inf), min(k, n),
                           dim=1).values
    rows = torch.arange(n, device=score.device)
    usable = torch.isfinite(lowest)[:, None, :] & (lowest_rows[:, None, :] != rows[None, :, None])
    usable &= torch.cumsum(usable.int(), dim=2) <= k                        # (t, anchor, positive)
    anchor_score = score[:, :, None]
    d_pos = (anchor_score - lowest[:, None, :]).abs()
    d_neg = (anchor_score - negatives[:, None, :]).abs()
    valid = (
        (own & minority[:, None])[:, :, None, None]
        & usable[:, :, :, None]
        & torch.isfinite(negatives)[:, None, None, :]
    )
    triplets = torch.relu(d_pos[..., None] - d_neg[:, :, None, :] + margin)
    zero = torch.zeros_like(triplets)
    anchor_weight = torch.where(valid, weight[None, :, None, None], zero)
    total = (anchor_weight * torch.where(valid, triplets, zero)).sum()
    return total / anchor_weight.sum().clamp_min(torch.finfo(score.dtype).tiny), valid.sum()


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

    With multi-label targets (the attribute labels of the paper) each label
    plays the part of a class: the minority labels are the rarest labels
    whose positive rows together make up at most half the batch (at least
    two positives each); a row where such a label ``j`` is present is an
    anchor, its hard positives the other rows with ``j`` present and the
    lowest ``p_j = s(z_j)``, its hard negatives the rows without ``j`` and
    the highest ``p_j``; the base loss is the binary cross-entropy averaged
    over the labels (``ce``'s multi-label form).

    Parameters
    ----------
    alpha : float, default=0.02
        Weight of the triplet term, in [0, 1]. The paper (and seed 002) sets
        it to ``eta * Omega_imb``, a small number (``eta = 0.01`` times an
        imbalance measure). Large values hurt: on simulated RWIS (12k rows,
        30 epochs) ``alpha=0.5`` halved held-out macro-F1 (0.254 against
        0.508 for ``ce``) and wrecked a multi-label fit, while ``0.02`` gave
        0.515. Tune it by cross-validation.
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

    supports_multilabel = True

    def __init__(self, alpha: float = 0.02, margin: float = 0.5, k: int = 3):
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

    def fit_label_statistics(self, positives, n_samples):
        self.fit_class_statistics(positives)

    def per_sample(self, logits, target):
        if self.multilabel:
            return _sigmoid_cross_entropy(logits, target.to(logits.dtype)).mean(dim=1)
        return F.cross_entropy(logits, target, reduction="none")

    def triplet_term(self, logits, target, sample_weight=None):
        """Weighted mean triplet loss over the batch's mined triplets, and their count.

        Rows with zero sample weight are treated as absent; each triplet counts
        with its anchor's weight. Every class (or label) and row is considered
        at once and masked where it does not apply, so the batch never waits
        for the host.
        """
        if sample_weight is None:
            weight = torch.ones(len(logits), device=logits.device, dtype=logits.dtype)
        else:
            weight = sample_weight.to(logits.dtype)
        if self.multilabel:
            member, score = (target > 0.5).T, torch.sigmoid(logits).T
        else:
            member = F.one_hot(target, logits.shape[-1]).T.bool()
            score = torch.softmax(logits, dim=-1).T
        return _rectification_triplets(member, score, weight, self.k, self.margin)

    def forward(self, logits, target, sample_weight=None):
        base = _weighted_mean(self.per_sample(logits, target), sample_weight)
        triplet, n_valid = self.triplet_term(logits, target, sample_weight)
        return torch.where(n_valid > 0, self.alpha * triplet + (1.0 - self.alpha) * base, base)


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
