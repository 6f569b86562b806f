"""Sigmoid losses for binary and multi-label targets: weighted BCE and the asymmetric loss."""

from __future__ import annotations

from collections.abc import Mapping
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import (ImbalanceLoss, _check_nonnegative, _log_weights, _nonempty, _refuse_multiclass,
                    _sigmoid_cross_entropy, _values_by_label)
from .focal import _focal_term


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
    binary_only = True
    supports_mixed_targets = True

    @classmethod
    def output_width(cls, n_classes):
        if n_classes != 2:
            _refuse_multiclass(cls, n_classes)
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

    def log_probabilities(self, output):
        if self.multilabel:
            return F.logsigmoid(output)
        z = output.reshape(len(output), -1)[:, :1]
        return torch.cat([F.logsigmoid(-z), F.logsigmoid(z)], dim=1)

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

    name = "bce"
    exact_prior_correction = True

    def __init__(self, pos_weight="auto", label_weights=None):
        super().__init__()
        self.pos_weight = pos_weight
        self.label_weights = label_weights
        self.register_buffer("positive_weight", torch.ones(1, dtype=torch.float64))
        self.register_buffer("label_weight", torch.ones(1, dtype=torch.float64))

    def fit_label_statistics(self, positives, n_samples):
        negatives = np.maximum(n_samples - positives, 0.0)  # float sums may overshoot
        if isinstance(self.pos_weight, str):
            if self.pos_weight != "auto":
                raise ValueError(
                    f"loss__pos_weight must be 'auto', a number, a sequence, a dict or "
                    f"None; got {self.pos_weight!r}."
                )
            both = (positives > 0) & (negatives > 0)
            weight = np.where(both, negatives / _nonempty(positives), 1.0)
        elif self.pos_weight is None:
            weight = np.ones_like(positives)
        else:
            weight = _per_label_values(self.pos_weight, "pos_weight", positives,
                                       self.label_names())
        self._buffer("positive_weight", weight)
        label_weight = self._label_weights(positives)
        self._buffer("label_weight", label_weight / label_weight.sum())

    def log_prior_shift(self):
        """``log pos_weight``: per label, or ``[0, log w]`` for a binary target's two classes.
        Label weights scale a whole label's loss and shift nothing."""
        shift = _log_weights(self.positive_weight)
        return shift if self.multilabel else np.concatenate([[0.0], shift])

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
            weights = _nonempty(positives) ** exponents[self.label_weights]
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

    name = "asl"

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

