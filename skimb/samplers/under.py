"""``sampler="under"``: class-balanced random under-sampling, re-drawn every epoch."""

from __future__ import annotations

import torch

from ._base import EpochSampler, check_cap

__all__ = ["UnderSampler"]


class UnderSampler(EpochSampler):
    """Class-balanced random under-sampling, re-drawn every epoch (``"under"``).

    Each epoch takes, without replacement, ``min(n_c, m)`` rows of every class
    c, where ``m`` is ``n_per_class`` or, by default, the size of the smallest
    class present. Because the draw changes every epoch, the majority classes
    are seen in full across epochs — the epoch-level ``torch.multinomial``
    method of seed 000.

    Parameters
    ----------
    n_per_class : int or None, default=None
        Rows per class per epoch; ``None`` uses the smallest class's size.
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import UnderSampler
    >>> y = torch.tensor([0] * 6 + [1] * 2)
    >>> idx = UnderSampler().fit(y, 2).epoch_indices(0, 4, torch.Generator().manual_seed(0))
    >>> torch.bincount(y[idx]).tolist()
    [2, 2]
    """

    name = "under"

    def __init__(self, n_per_class: int | None = None, max_per_class: int | None = None):
        self.n_per_class = n_per_class
        self.max_per_class = max_per_class

    def fit(self, y, n_classes, n_epochs=None):
        super().fit(y, n_classes)
        self._quota = self._quota_of(self.class_counts_)
        return self

    def _quota_of(self, counts):
        """Rows each class gives an epoch: ``min(n_c, m, max_per_class)``."""
        if self.n_per_class is not None:
            m = check_cap(self.n_per_class, "UnderSampler(n_per_class)")
        else:
            m = int(counts[counts > 0].min())
        cap = check_cap(self.max_per_class, type(self).__name__)
        quota = torch.clamp(counts, max=m)
        return quota if cap is None else torch.clamp(quota, max=cap)

    def rows_per_epoch(self, class_counts):
        return int(self._quota_of(torch.as_tensor(class_counts, dtype=torch.long)).sum())

    def expected_counts(self, epoch):
        return self._quota.double()

    def epoch_indices(self, epoch, batch_size, generator):
        return self._draw_without_replacement(self._quota, generator)
