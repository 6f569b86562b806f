"""Epoch samplers: which training rows each epoch visits, and how often.

Every sampler is fit on the encoded labels of the *training portion* (after the
internal validation split, if any) and then asked for a fresh index draw at the start of
every epoch. Draws happen with torch on the device of the ``generator`` they are
given. The classifier hands them a generator on the training device whether
the training rows are kept there or stream from host memory (CPU and CUDA
generators draw different streams), so a given ``random_state`` gives the same
model wherever the rows are kept, and a GPU fit draws on the GPU.

A sampler draws an *epoch*: a 1-D ``int64`` tensor of row positions into the
labels it was fit on. The classifier slices that tensor into batches in order,
so samplers return their indices already shuffled.

With a multi-label (indicator) target every row is given one *sampling
class*: its rarest positive label (the present label with the fewest
training rows), or one extra class for rows without any label; see
:func:`rarest_positive_label`. Every index sampler then works on those classes
as it does on single-label classes: ``over`` draws each rarest label equally
often, ``sqrt`` in proportion to the square root of its rows, and so on.

The imbalanced-learn adapter is different in kind: it creates rows (SMOTE's
synthetic ones included), so it resamples whole arrays instead of drawing
indices. See :class:`ImblearnSampler`.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, clone

__all__ = [
    "EpochSampler",
    "NoSampler",
    "UnderSampler",
    "OverSampler",
    "PowerSampler",
    "SqrtSampler",
    "ProgressiveSampler",
    "BalancedBatchSampler",
    "ImblearnSampler",
    "list_samplers",
    "make_sampler",
    "rarest_positive_label",
]


def _check_cap(max_per_class, owner):
    if max_per_class is None:
        return None
    if not isinstance(max_per_class, numbers.Integral) or max_per_class < 1:
        raise ValueError(
            f"{owner}: max_per_class must be a positive integer or None, "
            f"got {max_per_class!r}."
        )
    return int(max_per_class)


class EpochSampler(BaseEstimator):
    """Base class of the index samplers.

    Subclasses implement :meth:`epoch_indices`; this class keeps the per-class
    bookkeeping that all of them share, computed by :meth:`fit` from the labels
    of the training portion.

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

    def __init__(self, max_per_class: int | None = None):
        self.max_per_class = max_per_class

    def fit(self, y: torch.Tensor, n_classes: int, n_epochs: int | None = None) -> "EpochSampler":
        """Record the class layout of the training labels.

        Parameters
        ----------
        y : torch.Tensor of shape (n_samples,)
            Encoded labels (``0 .. n_classes - 1``) of the training portion.
        n_classes : int
            Number of classes of the estimator (some may have no rows here).
        n_epochs : int, optional
            Epochs the fit will run, for samplers with a schedule.

        Returns
        -------
        self : EpochSampler
        """
        y = torch.as_tensor(y, dtype=torch.long).cpu()
        self._cap = _check_cap(self.max_per_class, type(self).__name__)
        self.class_counts_ = torch.bincount(y, minlength=n_classes)
        self._rows_by_class = torch.argsort(y, stable=True)
        self._class_starts = torch.cumsum(self.class_counts_, 0) - self.class_counts_
        self._cache = {}
        return self

    def rows_per_epoch(self, class_counts: torch.Tensor) -> int:
        """Rows an epoch draws (on average) from classes of these sizes; needs no fit.

        The classifier sizes ``max_epochs="auto"`` with it, so that every
        sampler gets as many optimizer steps as ``sampler="none"``.

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
        cap = _check_cap(self.max_per_class, type(self).__name__)
        counts = torch.as_tensor(class_counts, dtype=torch.long)
        return int(counts.sum() if cap is None else counts.clamp(max=cap).sum())

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

    def epoch_indices(
        self, epoch: int, batch_size: int, generator: torch.Generator
    ) -> torch.Tensor:
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

    def epoch_indices(self, epoch, batch_size, generator):
        device = generator.device
        if self._cap is None:
            return torch.randperm(self.n_samples_, generator=generator, device=device)
        return self._draw_without_replacement(self._capped(self.class_counts_), generator)


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
            m = _check_cap(self.n_per_class, "UnderSampler(n_per_class)")
        else:
            m = int(counts[counts > 0].min())
        cap = _check_cap(self.max_per_class, type(self).__name__)
        quota = torch.clamp(counts, max=m)
        return quota if cap is None else torch.clamp(quota, max=cap)

    def rows_per_epoch(self, class_counts):
        return int(self._quota_of(torch.as_tensor(class_counts, dtype=torch.long)).sum())

    def epoch_indices(self, epoch, batch_size, generator):
        return self._draw_without_replacement(self._quota, generator)


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
        cap = _check_cap(self.max_per_class, type(self).__name__)
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

    def __init__(self, max_per_class: int | None = None):
        self.max_per_class = max_per_class

    def _exponent(self):
        return 0.5


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
        self._n_epochs = _check_cap(n_epochs, "ProgressiveSampler(n_epochs)")
        return self

    def class_probabilities(self, epoch):
        instance = super().class_probabilities(epoch)
        present = (self.class_counts_ > 0).double()
        balanced = present / present.sum()
        t = min(1.0, epoch / max(self._n_epochs - 1, 1))
        return (1.0 - t) * instance + t * balanced


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

    def rows_per_epoch(self, class_counts):
        counts = torch.as_tensor(class_counts, dtype=torch.long)
        cap = _check_cap(self.max_per_class, type(self).__name__)
        n_present = int((counts > 0).sum())
        return int(counts.sum()) if cap is None else min(int(counts.sum()), n_present * cap)

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


class ImblearnSampler:
    """Adapter running an imbalanced-learn sampler once per epoch.

    At every epoch a copy of the sampler, re-seeded from the fit's random
    state, runs ``fit_resample`` on the training portion; the epoch visits the
    resampled rows (synthetic ones included) once each, shuffled.

    Parameters
    ----------
    sampler : imblearn sampler instance
        Anything with ``fit_resample(X, y)``; it is never modified.
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch keeps.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from skimb.samplers import ImblearnSampler
    >>> X = np.arange(12, dtype=np.float32).reshape(6, 2)
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> adapter = ImblearnSampler(RandomOverSampler())
    >>> X_epoch, y_epoch, _ = adapter.resample(X, y, None, seed=0)
    >>> np.bincount(y_epoch).tolist()
    [4, 4]
    """

    def __init__(self, sampler, max_per_class: int | None = None):
        self.sampler = sampler
        self.max_per_class = max_per_class

    def resample(self, X, y, sample_weight, seed: int):
        """Resample the training rows for one epoch.

        Parameters
        ----------
        X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Encoded labels.
        sample_weight : ndarray of shape (n_samples,) or None
            Kept aligned when the sampler reports ``sample_indices_`` (pure
            under/over-samplers); otherwise it must be None.
        seed : int
            Seed for this epoch's copy of the sampler.

        Returns
        -------
        X_epoch, y_epoch, sample_weight_epoch
        """
        cap = _check_cap(self.max_per_class, "ImblearnSampler")
        sampler = _fresh_copy(self.sampler)
        if "random_state" in getattr(sampler, "get_params", dict)():
            sampler.set_params(random_state=seed)
        X_epoch, y_epoch = sampler.fit_resample(X, y)
        w_epoch = None
        if sample_weight is not None:
            indices = getattr(sampler, "sample_indices_", None)
            if indices is None:
                raise ValueError(
                    f"sample_weight cannot be used with {type(sampler).__name__}: it "
                    "creates synthetic rows that have no weight. Drop sample_weight "
                    "or use a sampler that only selects rows."
                )
            w_epoch = np.asarray(sample_weight)[indices]
        X_epoch = (X_epoch.astype(np.float32) if sp.issparse(X_epoch)
                   else np.asarray(X_epoch, dtype=np.float32))
        y_epoch = np.asarray(y_epoch, dtype=np.int64)
        if cap is not None:
            keep = _rows_under_cap(y_epoch, cap, np.random.default_rng(seed))
            X_epoch, y_epoch = X_epoch[keep], y_epoch[keep]
            w_epoch = None if w_epoch is None else w_epoch[keep]
        return X_epoch, y_epoch, w_epoch


def _fresh_copy(sampler):
    """An unfitted copy of an imblearn-style sampler; the original is never touched."""
    return clone(sampler) if hasattr(sampler, "get_params") else copy.deepcopy(sampler)


def _rows_under_cap(y, cap, rng):
    """Boolean mask keeping at most ``cap`` random rows of each class."""
    keys = rng.random(len(y))
    order = np.lexsort((keys, y))
    sorted_y = y[order]
    first = np.searchsorted(sorted_y, sorted_y, side="left")
    keep = np.zeros(len(y), dtype=bool)
    keep[order[np.arange(len(y)) - first < cap]] = True
    return keep


def rarest_positive_label(indicator: np.ndarray) -> np.ndarray:
    """Sampling class of every row of a multi-label target: its rarest positive label.

    A row's rarest positive label is, among the labels present in the row,
    the one with the fewest positive rows in ``indicator`` (ties go to the
    lower label index). Rows without any label get the extra class
    ``n_labels``. The samplers weight rows through these classes, so a row
    is drawn as often as its rarest label asks for.

    Parameters
    ----------
    indicator : ndarray of shape (n_samples, n_labels)
        0/1 multi-label target.

    Returns
    -------
    classes : ndarray of shape (n_samples,), int64
        Values in ``0 .. n_labels`` (``n_labels``: no label present).

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.samplers import rarest_positive_label
    >>> Y = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]])
    >>> rarest_positive_label(Y).tolist()
    [0, 1, 2, 3]
    """
    present = np.asarray(indicator) > 0
    n_labels = present.shape[1]
    by_rarity = np.argsort(present.sum(axis=0), kind="stable")
    rarity_rank = np.empty(n_labels, dtype=np.int64)
    rarity_rank[by_rarity] = np.arange(n_labels)
    best_rank = np.where(present, rarity_rank[None, :], n_labels).min(axis=1)
    return np.append(by_rarity, n_labels)[best_rank].astype(np.int64)


_REGISTRY = {
    "none": NoSampler,
    "under": UnderSampler,
    "over": OverSampler,
    "sqrt": SqrtSampler,
    "power": PowerSampler,
    "progressive": ProgressiveSampler,
    "balanced_batch": BalancedBatchSampler,
}


def list_samplers() -> list[str]:
    """Names accepted by ``ImbalancedTorchClassifier(sampler=...)``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb import list_samplers
    >>> "under" in list_samplers()
    True
    """
    return sorted(_REGISTRY)


def make_sampler(spec, params: dict):
    """Build a fresh sampler from a name, a skimb sampler or an imblearn sampler.

    Parameters
    ----------
    spec : str, EpochSampler, ImblearnSampler or object with ``fit_resample``
        What the user passed as ``sampler=``. It is never modified.
    params : dict
        The ``sampler__*`` parameters, without the prefix.

    Returns
    -------
    sampler : EpochSampler or ImblearnSampler

    Examples
    --------
    >>> from skimb.samplers import make_sampler
    >>> make_sampler("power", {"q": 0.25})
    PowerSampler(q=0.25)
    """
    if spec is None:
        spec = "none"
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"Unknown sampler {spec!r}. Valid names: {', '.join(list_samplers())}; "
                "or pass an imbalanced-learn sampler instance."
            )
        return _REGISTRY[spec]().set_params(**params)
    if isinstance(spec, EpochSampler):
        return clone(spec).set_params(**params)
    if isinstance(spec, ImblearnSampler):
        params = {"max_per_class": spec.max_per_class, **params}
        spec = spec.sampler
    if hasattr(spec, "fit_resample"):
        params = dict(params)
        cap = params.pop("max_per_class", None)
        inner = _fresh_copy(spec)
        if params:
            inner.set_params(**params)
        return ImblearnSampler(inner, max_per_class=cap)
    raise ValueError(
        f"sampler must be one of {', '.join(list_samplers())}, a skimb EpochSampler "
        f"or an imbalanced-learn sampler instance; got {type(spec).__name__}."
    )
