"""The sampler protocol: one base for every sampler, its declarations, and the index base."""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

__all__ = ["BaseSampler", "EpochSampler", "check_cap"]


def check_cap(value, owner: str) -> int | None:
    """``value`` as a positive int (a per-class cap or quota), or None; else ValueError."""
    if value is None:
        return None
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{owner}: max_per_class must be a positive integer or None, got {value!r}.")
    return int(value)


class BaseSampler(BaseEstimator):
    """Base class of every sampler: which training rows each epoch visits.

    A sampler is fitted at every ``fit`` or ``partial_fit`` call on the
    encoded labels of the training portion (after the internal validation
    split, if any) and then draws a fresh epoch at the start of every epoch.
    Every sampler declares what it does, as class attributes and properties,
    which the classifier, the batching and the plots read instead of testing
    for particular classes:

    * ``name``: the registry name (``sampler="<name>"``); empty for samplers
      that are not registered by name (the imbalanced-learn adapter);
    * ``draws_indices``: True when an epoch is a draw of row positions among
      the training rows (:meth:`EpochSampler.epoch_indices`); False when the
      sampler makes new arrays every epoch (:meth:`resample`), which then
      needs the rows as an in-memory 2-D table (``needs_table``);
    * ``supports_multilabel``: whether it can draw for a multi-label target
      (through each row's rarest positive label, see
      :func:`~skimb.samplers.rarest_positive_label`);
    * :attr:`leaves_order_free`: whether a user's own iterator may decide the
      training order instead (only plain shuffling without a cap);
    * :meth:`rows_per_epoch`: how many rows an epoch draws, or None when that
      is known only once drawn;
    * :meth:`epoch_class_shares`: each class's expected share of an epoch;
    * :attr:`keeps_class_conditionals`: whether an epoch's rows of a class
      are drawn uniformly from that class's training rows, so that the
      prior shift is all a sampler changes and
      :mod:`skimb.calibration` undoes it exactly.

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Examples
    --------
    >>> from skimb.samplers import BaseSampler, list_samplers, make_sampler
    >>> sorted(name for name in list_samplers() if make_sampler(name, {}).draws_indices)[:3]
    ['balanced_batch', 'none', 'over']
    >>> make_sampler("none", {}).leaves_order_free, make_sampler("under", {}).leaves_order_free
    (True, False)
    """

    name: ClassVar[str] = ""
    draws_indices: ClassVar[bool] = True
    needs_table: ClassVar[bool] = False
    supports_multilabel: ClassVar[bool] = True

    def __init__(self, max_per_class: int | None = None):
        self.max_per_class = max_per_class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.name, str):
            raise TypeError(f"{cls.__name__}.name must be a str, got {cls.name!r}.")
        for flag in ("draws_indices", "needs_table", "supports_multilabel"):
            if not isinstance(getattr(cls, flag), bool):
                raise TypeError(f"{cls.__name__}.{flag} must be a bool.")

    @property
    def leaves_order_free(self) -> bool:
        """Whether the epoch is every row once in any order, so a user's iterator may order it."""
        return False

    @property
    def keeps_class_conditionals(self) -> bool:
        """Whether each class's rows are drawn uniformly from its training rows (True for
        the index samplers)."""
        return True

    @property
    def display_name(self) -> str:
        """How messages and plots name the sampler."""
        return self.name or type(self).__name__

    def fit(self, y, n_classes: int, n_epochs: int | None = None) -> BaseSampler:
        """Record the class layout of the training labels.

        Parameters
        ----------
        y : torch.Tensor or ndarray of shape (n_samples,)
            Encoded labels (``0 .. n_classes - 1``) of the training portion.
        n_classes : int
            Number of classes of the estimator (some may have no rows here).
        n_epochs : int, optional
            Epochs the fit will run, for samplers with a schedule.

        Returns
        -------
        self
        """
        raise NotImplementedError

    def rows_per_epoch(self, class_counts) -> int | None:
        """Rows an epoch draws (on average) from classes of these sizes; needs no fit.

        The classifier sizes ``max_epochs="auto"`` with it, so that every
        sampler gets as many optimizer steps as ``sampler="none"``. None when
        only a draw tells (an imbalanced-learn sampler).

        Parameters
        ----------
        class_counts : array-like of shape (n_classes,)

        Returns
        -------
        rows : int or None
        """
        raise NotImplementedError

    def epoch_class_shares(self, epoch: int) -> torch.Tensor | None:
        """Each class's expected share of the rows of ``epoch`` (fitted), or None if unknown.

        Parameters
        ----------
        epoch : int
            Zero-based epoch number within the current fit call.

        Returns
        -------
        shares : torch.Tensor of shape (n_classes,), float64, or None
        """
        raise NotImplementedError

    def epoch_class_counts(self, y, n_classes: int, n_epochs: int, batch_size: int,
                           generator: torch.Generator, X=None) -> np.ndarray:
        """Rows per class in each of the first ``n_epochs`` epochs drawn from ``y``.

        Fits the sampler on ``y`` and draws the epochs as the classifier does,
        from ``generator`` (the plots of :mod:`skimb.plotting` show them).

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Encoded labels.
        n_classes : int
        n_epochs : int
        batch_size : int
        generator : torch.Generator
        X : array-like of shape (n_samples, n_features), optional
            The rows, for a sampler that makes new ones (``draws_indices`` False).

        Returns
        -------
        counts : ndarray of shape (n_epochs, n_classes), int64
        """
        raise NotImplementedError

    def clear_cache(self) -> None:
        """Drop whatever the sampler copied for drawing (nothing by default); the
        classifier calls it when training ends, so a fitted model holds no copies."""

    def check_raw_table(self, names, categorical, X: np.ndarray) -> None:
        """Refuse a raw table (category codes, missing values) this sampler cannot take.

        ``names`` are the encoded table's column names, ``categorical`` the
        positions of its category-code columns, ``X`` the encoded rows. The
        index samplers take any table (they only pick rows).
        """


class EpochSampler(BaseSampler):
    """Base class of the index samplers: an epoch is a draw of training row positions.

    Subclasses implement :meth:`epoch_indices` (and, when an epoch does not
    draw every row once, :meth:`rows_per_epoch` and :meth:`expected_counts`);
    this class keeps the per-class bookkeeping that all of them share,
    computed by :meth:`fit` from the labels of the training portion. Draws
    happen with torch on the device of the ``generator`` they are given, and
    come back already shuffled: the batching slices them in order.

    Parameters
    ----------
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch may draw.

    Attributes
    ----------
    class_counts_ : torch.Tensor of shape (n_classes,)
        Rows per class in the labels the sampler was fit on.

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import UnderSampler
    >>> y = torch.tensor([0, 0, 0, 0, 1, 1])
    >>> sampler = UnderSampler().fit(y, n_classes=2)
    >>> idx = sampler.epoch_indices(0, batch_size=4, generator=torch.Generator().manual_seed(0))
    >>> torch.bincount(y[idx]).tolist()
    [2, 2]
    """

    def fit(self, y, n_classes: int, n_epochs: int | None = None) -> EpochSampler:
        """Record the class layout of the training labels: their counts
        (``class_counts_``) and the rows grouped by class (see :meth:`BaseSampler.fit`)."""
        y = torch.as_tensor(y, dtype=torch.long).cpu()
        self._cap = check_cap(self.max_per_class, type(self).__name__)
        self.class_counts_ = torch.bincount(y, minlength=n_classes)
        self._rows_by_class = torch.argsort(y, stable=True)
        self._class_starts = torch.cumsum(self.class_counts_, 0) - self.class_counts_
        self._cache = {}
        return self

    def rows_per_epoch(self, class_counts) -> int:
        """Rows an epoch draws (on average) from classes of these sizes; needs no fit.

        Parameters
        ----------
        class_counts : torch.Tensor of shape (n_classes,)

        Returns
        -------
        rows : int

        Examples
        --------
        >>> import torch
        >>> from skimb.samplers import UnderSampler, NoSampler
        >>> counts = torch.tensor([90, 10])
        >>> NoSampler().rows_per_epoch(counts), UnderSampler().rows_per_epoch(counts)
        (100, 20)
        """
        cap = check_cap(self.max_per_class, type(self).__name__)
        counts = torch.as_tensor(class_counts, dtype=torch.long)
        return int(counts.sum() if cap is None else counts.clamp(max=cap).sum())

    def expected_counts(self, epoch: int) -> torch.Tensor:
        """Rows of each class an epoch draws, in expectation (fitted; float64).

        The default: every row of a class once, cut to ``max_per_class``.
        """
        counts = self.class_counts_.double()
        return counts if self._cap is None else counts.clamp(max=self._cap)

    def epoch_class_shares(self, epoch: int) -> torch.Tensor:
        """Each class's expected share of the rows of ``epoch``.

        Parameters
        ----------
        epoch : int

        Returns
        -------
        shares : torch.Tensor of shape (n_classes,), float64

        Examples
        --------
        >>> import torch
        >>> from skimb.samplers import NoSampler, UnderSampler
        >>> y = torch.tensor([0, 0, 0, 1])
        >>> NoSampler().fit(y, 2).epoch_class_shares(0).tolist()
        [0.75, 0.25]
        >>> UnderSampler().fit(y, 2).epoch_class_shares(0).tolist()
        [0.5, 0.5]
        """
        expected = self.expected_counts(epoch)
        return expected / expected.sum()

    def epoch_class_counts(self, y, n_classes, n_epochs, batch_size, generator, X=None):
        """Rows per class in each of the first ``n_epochs`` epochs drawn from ``y``.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from skimb.samplers import UnderSampler
        >>> y = np.array([0] * 6 + [1] * 2)
        >>> UnderSampler().epoch_class_counts(y, 2, 2, 4, torch.Generator().manual_seed(0))
        array([[2, 2],
               [2, 2]])
        """
        y = torch.as_tensor(np.asarray(y), dtype=torch.long)
        self.fit(y, n_classes, n_epochs=n_epochs)
        counts = np.zeros((n_epochs, n_classes), dtype=np.int64)
        for epoch in range(n_epochs):
            indices = self.epoch_indices(epoch, batch_size, generator)
            counts[epoch] = torch.bincount(y[indices.cpu()], minlength=n_classes).numpy()
        return counts

    def __getstate__(self):
        # Device copies are a cache: drop them so a model trained on CUDA unpickles anywhere.
        state = super().__getstate__()
        state["_cache"] = {}
        return state

    def clear_cache(self) -> None:
        """Drop the copies of the index tables made for drawing.

        They take about 16 bytes a training row on each device drawn on; the
        next draw makes them again. The classifier calls this when training
        ends, so a fitted model holds none.

        Examples
        --------
        >>> import torch
        >>> from skimb.samplers import UnderSampler
        >>> sampler = UnderSampler().fit(torch.tensor([0, 0, 1]), n_classes=2)
        >>> _ = sampler.epoch_indices(0, 2, torch.Generator().manual_seed(0))
        >>> len(sampler._cache), (sampler.clear_cache(), len(sampler._cache))[1]
        (1, 0)
        """
        self._cache = {}

    @property
    def n_samples_(self) -> int:
        return int(self.class_counts_.sum())

    def _state_on(self, device):
        """Counts, rows grouped by class, group starts and the label of each
        grouped row, on ``device``; moved once and cached."""
        key = str(device)
        if key not in self._cache:
            counts = self.class_counts_.to(device)
            self._cache[key] = (
                counts,
                self._rows_by_class.to(device),
                self._class_starts.to(device),
                torch.repeat_interleave(torch.arange(counts.numel(), device=device), counts),
            )
        return self._cache[key]

    def epoch_indices(self, epoch: int, batch_size: int,
                      generator: torch.Generator) -> torch.Tensor:
        """Draw the row positions one epoch visits, in visiting order.

        Parameters
        ----------
        epoch : int
            Zero-based epoch number within the current fit.
        batch_size : int
            Batch size the epoch will be sliced into.
        generator : torch.Generator
            Source of randomness; the draw happens on its device.

        Returns
        -------
        indices : torch.Tensor of shape (n_drawn,), dtype int64
        """
        raise NotImplementedError

    # -- shared drawing primitives -------------------------------------------

    def _draw_without_replacement(self, quota, generator):
        """Take ``quota[c]`` distinct random rows of every class c, shuffled."""
        device = generator.device
        counts, rows_by_class, starts, labels = self._state_on(device)
        n = rows_by_class.numel()
        # Sorting "label + uniform noise" groups the rows by class, in a random
        # order inside each class; the first quota[c] of each group are kept.
        noise = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        grouped = rows_by_class[torch.argsort(labels + noise)]
        rank = torch.arange(n, device=device) - starts[labels]
        chosen = grouped[rank < quota.to(device)[labels]]
        return chosen[torch.randperm(chosen.numel(), generator=generator, device=device)]

    def _draw_with_replacement(self, per_class, generator):
        """Draw ``per_class[c]`` rows of every class c uniformly with replacement."""
        device = generator.device
        counts, rows_by_class, starts, _ = self._state_on(device)
        per_class = per_class.to(device)
        labels = torch.repeat_interleave(
            torch.arange(counts.numel(), device=device), per_class
        )
        offsets = (
            torch.rand(labels.numel(), generator=generator, device=device)
            * counts[labels]
        ).long()
        offsets = torch.minimum(offsets, counts[labels] - 1)
        picked = rows_by_class[starts[labels] + offsets]
        return picked[torch.randperm(picked.numel(), generator=generator, device=device)]

    def _capped(self, per_class):
        if self._cap is None:
            return per_class
        return torch.clamp(per_class, max=self._cap)
