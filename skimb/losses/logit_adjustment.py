"""Losses that shift or scale the logits by the class priors: LDAM, logit adjustment, balanced softmax, VS."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._base import ImbalanceLoss, _check_finite, _check_nonnegative, _log_prior, _nonempty
from .cross_entropy import _ClassWeightedLoss, _apply_weights


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
    drw_epoch : None, int or float, default=None
        When the class weights switch on: at this epoch of the fit call (an
        int >= 0), or at epoch ``ceil(drw_epoch * n_epochs)`` (a float
        strictly between 0 and 1, a fraction of the call's epochs).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import LDAMLoss
    >>> loss = LDAMLoss(max_m=0.5)
    >>> loss.set_class_counts(torch.tensor([16, 1]))
    >>> loss.margins.tolist()
    [0.25, 0.5]
    """

    name = "ldam"
    needs_cosine_head = True
    supports_mixed_targets = True

    def __init__(self, max_m: float = 0.5, s: float = 30.0, weights=None,
                 beta: float = 0.9999, drw_epoch: int | float | None = None):
        super().__init__(weights, beta, drw_epoch)
        self.max_m = max_m
        self.s = s
        self.register_buffer("margins", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_nonnegative(self.max_m, "max_m")
        if _check_nonnegative(self.s, "s") == 0:
            raise ValueError("loss__s must be > 0.")
        margins = np.where(counts > 0, _nonempty(counts) ** -0.25, 0.0)
        self._buffer("margins", margins * (self.max_m / margins.max()))
        super().fit_class_statistics(counts)

    def weight_scheme(self):
        if self.weights is None and self.drw_epoch is not None:
            return "effective"
        return self.weights

    def probabilities(self, output):
        return torch.softmax(self.s * output, dim=-1)

    def log_probabilities(self, output):
        return F.log_softmax(self.s * output, dim=-1)

    def logit_map(self):
        """``(s, 0)``: the cross-entropy sees ``s * z`` (the margins are training-only, no
        closed form: left to the residual)."""
        n = self._n_outputs()
        return np.full(n, float(self.s)), np.zeros(n)

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

    name = "logit_adjusted"
    supports_mixed_targets = True
    exact_prior_correction = True

    def __init__(self, tau: float = 1.0):
        super().__init__()
        self.tau = tau
        self.register_buffer("log_prior", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_finite(self.tau, "tau")
        self._buffer("log_prior", _log_prior(counts))

    def logit_map(self):
        """``(1, tau * log pi)``."""
        return np.ones(len(self.log_prior)), self.tau * self.log_prior.cpu().numpy()

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

    name = "balanced_softmax"
    supports_mixed_targets = True
    exact_prior_correction = True

    def __init__(self):
        super().__init__()
        self.register_buffer("log_counts", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        self._buffer("log_counts", np.log(_nonempty(counts)))

    def logit_map(self):
        """``(1, log n)``."""
        return np.ones(len(self.log_counts)), self.log_counts.cpu().numpy().copy()

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

    name = "vs"
    supports_mixed_targets = True
    exact_prior_correction = True

    def __init__(self, gamma: float = 0.2, tau: float = 1.0):
        super().__init__()
        self.gamma = gamma
        self.tau = tau
        self.register_buffer("logit_scale", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("log_prior", torch.zeros(0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        _check_nonnegative(self.gamma, "gamma")
        _check_finite(self.tau, "tau")
        safe = _nonempty(counts)
        self._buffer("logit_scale", (safe / safe.max()) ** self.gamma)
        self._buffer("log_prior", _log_prior(counts))

    def logit_map(self):
        """``((n / n_max)^gamma, tau * log pi)``."""
        return self.logit_scale.cpu().numpy().copy(), self.tau * self.log_prior.cpu().numpy()

    def per_sample(self, logits, target):
        adjusted = logits * self.logit_scale.to(logits.dtype) + self.tau * self.log_prior.to(logits.dtype)
        return F.cross_entropy(adjusted, target, reduction="none")

