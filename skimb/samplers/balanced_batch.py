"""``sampler="balanced_batch"``: every batch holds (near) equal counts of each class."""

from __future__ import annotations

import torch

from ._base import EpochSampler, check_cap

__all__ = ["BalancedBatchSampler"]


class BalancedBatchSampler(EpochSampler):
    """Every batch holds (near) equal counts of each class (``"balanced_batch"``).

    An epoch has as many rows as the training portion (or ``C * max_per_class``
    when that is smaller). Along the epoch the classes take turns, starting
    from a random class, so every batch of ``b`` rows holds ``floor(b / C)`` or
    ``ceil(b / C)`` of each class and the epoch holds every class equally
    often; the row of each slot is drawn uniformly from its class, with
    replacement.

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import BalancedBatchSampler
    >>> y = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    >>> idx = BalancedBatchSampler().fit(y, 3).epoch_indices(0, 30, torch.Generator().manual_seed(0))
    >>> torch.bincount(y[idx[:30]]).tolist()
    [10, 10, 10]
    """

    name = "balanced_batch"

    def rows_per_epoch(self, class_counts):
        counts = torch.as_tensor(class_counts, dtype=torch.long)
        cap = check_cap(self.max_per_class, type(self).__name__)
        n_present = int((counts > 0).sum())
        return int(counts.sum()) if cap is None else min(int(counts.sum()), n_present * cap)

    def expected_counts(self, epoch):
        present = (self.class_counts_ > 0).double()
        return present * self.rows_per_epoch(self.class_counts_) / present.sum()

    def epoch_indices(self, epoch, batch_size, generator):
        device = generator.device
        counts, rows_by_class, starts, _ = self._state_on(device)
        present = torch.nonzero(counts > 0).flatten()
        n_present = present.numel()
        n_epoch = self.rows_per_epoch(self.class_counts_)
        # Classes take turns along the whole epoch from a random start, so any
        # window of b consecutive slots (a batch) holds floor/ceil(b / C) of each
        # class, and the epoch holds each class equally often (to within one).
        shift = torch.randint(n_present, (1,), generator=generator, device=device)
        labels = present[(torch.arange(n_epoch, device=device) + shift) % n_present]
        offsets = (
            torch.rand(n_epoch, generator=generator, device=device) * counts[labels]
        ).long()
        offsets = torch.minimum(offsets, counts[labels] - 1)
        return rows_by_class[starts[labels] + offsets]
