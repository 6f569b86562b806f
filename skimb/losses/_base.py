"""The loss protocol (:class:`ImbalanceLoss`), class weights and the shared maths."""

from __future__ import annotations

from collections.abc import Mapping
import numbers

import numpy as np
from torch import nn
import torch
import torch.nn.functional as F


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
            from .registry import multilabel_losses  # the registry imports every loss

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

