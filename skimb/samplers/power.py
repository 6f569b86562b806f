"""Class probability proportional to a power of the class size: ``power``, ``sqrt``, ``over``."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ._base import EpochSampler, check_cap

__all__ = ["PowerSampler", "OverSampler", "SqrtSampler"]


class PowerSampler(EpochSampler):
    """Class probability proportional to ``n_c ** q``, with replacement (``"power"``).

    An epoch draws as many rows as the training portion holds: first a class
    for every slot with ``P(c) = n_c^q / sum_k n_k^q``, then a row of that class
    uniformly. ``q=1`` is plain shuffling with replacement, ``q=0`` class
    balance, ``q=0.5`` square-root sampling.

    Parameters
    ----------
    q : float, default=0.5
        Exponent applied to the class counts.
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import PowerSampler
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> sampler = PowerSampler(q=0.0).fit(y, 2)
    >>> sampler.class_probabilities(epoch=0).tolist()
    [0.5, 0.5]
    """

    name = "power"

    def __init__(self, q: float = 0.5, max_per_class: int | None = None):
        self.q = q
        self.max_per_class = max_per_class

    def _exponent(self):
        return self.q

    def fit(self, y, n_classes, n_epochs=None):
        super().fit(y, n_classes)
        q = self._exponent()
        if not isinstance(q, numbers.Real) or not np.isfinite(q):
            raise ValueError(f"{type(self).__name__}: q must be a finite number, got {q!r}.")
        return self

    def rows_per_epoch(self, class_counts):
        counts = torch.as_tensor(class_counts, dtype=torch.double)
        cap = check_cap(self.max_per_class, type(self).__name__)
        if cap is None:
            return int(counts.sum())
        weights = torch.where(counts > 0, counts.clamp(min=1) ** self._exponent(), 0.0)
        expected = weights / weights.sum() * counts.sum()
        return max(1, int(expected.clamp(max=cap).sum().round()))

    def class_probabilities(self, epoch: int) -> torch.Tensor:
        """Probability of drawing each class at ``epoch`` (zero for empty classes).

        Parameters
        ----------
        epoch : int
            Zero-based epoch number.

        Returns
        -------
        probabilities : torch.Tensor of shape (n_classes,), float64
        """
        counts = self.class_counts_.double()
        present = counts > 0
        weights = torch.where(present, counts.clamp(min=1) ** self._exponent(), 0.0)
        return weights / weights.sum()

    def expected_counts(self, epoch):
        """``N * P(c)``, cut to ``max_per_class`` (the cap clips each class's draw)."""
        expected = self.class_probabilities(epoch) * self.n_samples_
        return expected if self._cap is None else expected.clamp(max=self._cap)

    def epoch_indices(self, epoch, batch_size, generator):
        device = generator.device
        probs = self.class_probabilities(epoch).to(device)
        classes = torch.multinomial(
            probs.float(), self.n_samples_, replacement=True, generator=generator
        )
        per_class = torch.bincount(classes, minlength=probs.numel())
        return self._draw_with_replacement(self._capped(per_class), generator)


class OverSampler(PowerSampler):
    """Class-balanced over-sampling with replacement (``"over"``).

    An epoch holds as many rows as the training portion, every class drawn with
    equal probability — what ``WeightedRandomSampler`` with weights ``1/n_c``
    does.

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import OverSampler
    >>> y = torch.tensor([0] * 900 + [1] * 100)
    >>> idx = OverSampler().fit(y, 2).epoch_indices(0, 100, torch.Generator().manual_seed(0))
    >>> len(idx), abs(int((y[idx] == 1).sum()) - 500) < 100
    (1000, True)
    """

    name = "over"

    def __init__(self, max_per_class: int | None = None):
        self.max_per_class = max_per_class

    def _exponent(self):
        return 0.0


class SqrtSampler(PowerSampler):
    """Square-root sampling: class probability proportional to ``sqrt(n_c)`` (``"sqrt"``).

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import SqrtSampler
    >>> y = torch.tensor([0] * 81 + [1] * 9)
    >>> SqrtSampler().fit(y, 2).class_probabilities(0).tolist()
    [0.75, 0.25]
    """

    name = "sqrt"

    def __init__(self, max_per_class: int | None = None):
        self.max_per_class = max_per_class

    def _exponent(self):
        return 0.5
