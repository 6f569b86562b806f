"""``sampler="progressive"``: from instance-balanced to class-balanced over the epochs."""

from __future__ import annotations

from ._base import check_cap
from .power import PowerSampler

__all__ = ["ProgressiveSampler"]


class ProgressiveSampler(PowerSampler):
    """From instance-balanced to class-balanced over the epochs (``"progressive"``).

    Kang et al., "Decoupling Representation and Classifier for Long-Tailed
    Recognition", ICLR 2020: at epoch ``t`` (0-based) of ``T``, with
    ``r = t / (T - 1)``, ``P(c) = (1 - r) * n_c / N + r / C``, draws with
    replacement; the last epoch is class-balanced.

    Parameters
    ----------
    n_epochs : int or None, default=None
        Length ``T`` of the schedule; ``None`` uses the epochs of the
        classifier's training call (``max_epochs`` resolved, ``max_epochs_``).
        After ``T`` the draw stays class-balanced.
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import ProgressiveSampler
    >>> y = torch.tensor([0] * 75 + [1] * 25)
    >>> sampler = ProgressiveSampler(n_epochs=3).fit(y, 2)
    >>> [round(p, 3) for p in sampler.class_probabilities(0).tolist()]
    [0.75, 0.25]
    >>> [round(p, 3) for p in sampler.class_probabilities(2).tolist()]
    [0.5, 0.5]
    """

    name = "progressive"

    def __init__(self, n_epochs: int | None = None, max_per_class: int | None = None):
        self.n_epochs = n_epochs
        self.max_per_class = max_per_class

    def _exponent(self):
        return 1.0

    def fit(self, y, n_classes, n_epochs=None):
        super().fit(y, n_classes)
        if self.n_epochs is not None:
            n_epochs = self.n_epochs
        elif n_epochs is None:
            n_epochs = 1
        self._n_epochs = check_cap(n_epochs, "ProgressiveSampler(n_epochs)")
        return self

    def class_probabilities(self, epoch):
        instance = super().class_probabilities(epoch)
        present = (self.class_counts_ > 0).double()
        balanced = present / present.sum()
        t = min(1.0, epoch / max(self._n_epochs - 1, 1))
        return (1.0 - t) * instance + t * balanced
