"""``sampler="none"``: every training row once per epoch, shuffled."""

from __future__ import annotations

import torch

from ._base import EpochSampler

__all__ = ["NoSampler"]


class NoSampler(EpochSampler):
    """Every training row once per epoch, shuffled (``sampler="none"``).

    With ``max_per_class``, larger classes are randomly cut down to the cap,
    a different subset each epoch.

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import NoSampler
    >>> y = torch.tensor([0, 0, 0, 1])
    >>> idx = NoSampler().fit(y, 2).epoch_indices(0, 2, torch.Generator().manual_seed(0))
    >>> sorted(idx.tolist())
    [0, 1, 2, 3]
    """

    name = "none"

    @property
    def leaves_order_free(self) -> bool:
        return self.max_per_class is None

    def epoch_indices(self, epoch, batch_size, generator):
        device = generator.device
        if self._cap is None:
            return torch.randperm(self.n_samples_, generator=generator, device=device)
        return self._draw_without_replacement(self._capped(self.class_counts_), generator)
