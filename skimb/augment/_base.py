"""The augmentation protocol: per-batch, on the training device, with class-aware rates."""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._data import feature_leaves, map_features
from .._inputs.labels import label_positions
from .._inputs.kinds import DICT, RAW_COLUMNS, TABLE, TENSOR

__all__ = ["Augmentation"]

_CLASS_SETS = ("all", "minority", "not minority", "not majority")
#: Beta draws made on the host at once and copied to the device together (not per batch).
_BETA_CHUNK = 16_384


class Augmentation(BaseEstimator):
    """Base class of the augmentations: new training rows for every batch, class-aware.

    An augmentation is fitted at the start of every ``fit`` or
    ``partial_fit`` call on the training portion (:meth:`fit`), reseeded at
    every epoch (:meth:`start_epoch`), and then called on every training
    batch, on the training device, after the sampler has drawn the rows
    (:meth:`__call__`). It never sees validation rows or rows being predicted,
    and a training row of ``sample_weight`` 0 counts for nothing: it is left
    out of the class counts and of every statistic, and lends nothing to
    another row (it is nobody's mixing partner or SMOTE neighbour).

    Which rows are augmented depends on their class: row ``i`` of class ``c``
    is augmented with probability ``r_c``, where ``r_c = rate`` for the
    classes chosen by ``classes`` and 0 for the others; ``rate="rarity"``
    makes it ``r_c = 1 - n_c / n_max`` (``n_c`` the class's training rows):
    0 for the largest class, near 1 for the rarest, the share of a class's
    rows that are synthetic once it is over-sampled to the largest class's
    size. For a multi-label target a row's class is its rarest positive
    label (:func:`~skimb.samplers.rarest_positive_label`).

    Subclasses declare what they can do, as class attributes:

    * ``name``: the registry name (``augment="<name>"``);
    * ``accepts``: the input kinds they take (``"table"``, ``"tensor"``,
      ``"dict"``);
    * ``mixes_targets``: whether they return a
      :class:`~skimb.losses.MixedTarget` (the loss must declare
      ``supports_mixed_targets``);
    * ``needs_rows``: whether they need each batch row's position among the
      training rows (SMOTE's neighbour table);
    * ``supports_multilabel``;

    and implement :meth:`_fit` (statistics of the training rows) and
    :meth:`augment`.

    Parameters
    ----------
    rate : float in [0, 1] or "rarity", default=1.0
        Chance that a row of a chosen class is augmented.
    classes : {"all", "minority", "not minority", "not majority"} or list, default="all"
        The classes whose rows may be augmented: as imbalanced-learn names
        them (``"minority"``: the class or classes with the fewest training
        rows), or a list of labels.

    Attributes
    ----------
    class_rates_ : torch.Tensor of shape (n_classes,)
        ``r_c`` of every (sampling) class, on the training device.

    Examples
    --------
    >>> import torch
    >>> from skimb.augment import GaussianNoise
    >>> noise = GaussianNoise(rate=0.5, classes="minority")
    >>> noise.rates_for_counts(torch.tensor([90, 10]), classes=[0, 1]).tolist()
    [0.0, 0.5]
    >>> rates = GaussianNoise(rate="rarity").rates_for_counts(torch.tensor([90, 10]),
    ...                                                       classes=[0, 1])
    >>> [round(r, 3) for r in rates.tolist()]
    [0.0, 0.889]
    """

    name: ClassVar[str] = ""
    accepts: ClassVar[frozenset] = frozenset({TABLE, RAW_COLUMNS, TENSOR, DICT})
    mixes_targets: ClassVar[bool] = False
    needs_rows: ClassVar[bool] = False
    supports_multilabel: ClassVar[bool] = True

    def __init__(self, rate: float | str = 1.0, classes="all"):
        self.rate = rate
        self.classes = classes

    # -- fitting ------------------------------------------------------------------

    def fit(self, context, device: torch.device, discrete_columns=(),
            as_batch=None) -> Augmentation:
        """Fit the class rates and the augmentation's statistics on the training rows.

        Parameters
        ----------
        context : skimb._context.TrainingContext
            The training call's context: its training rows and class counts.
        device : torch.device
            The training device; buffers are kept there.
        discrete_columns : sequence of int, default=()
            Columns of a table that hold codes (categories, missing
            indicators): never interpolated or perturbed.
        as_batch : callable, optional
            Maps a training column (a tensor) to what a batch of it becomes
            before the augmentation (e.g. uint8 images to float32, scaled);
            statistics of the rows are computed on that.

        Returns
        -------
        self : Augmentation
        """
        self._check_params()
        self.device_ = torch.device(device)
        self.multilabel_ = bool(context.multilabel)
        n_classes = len(context.classes)
        sampling = np.asarray(context.sampling_classes)
        if context.weighted_rows is not None:  # a row of weight 0 is no training row
            sampling = sampling[context.weighted_rows]
        counts = torch.bincount(torch.from_numpy(sampling), minlength=n_classes + self.multilabel_)
        self.class_counts_ = counts.to(self.device_)
        self.class_rates_ = self.rates_for_counts(counts, context.classes).to(self.device_)
        #: Every row of every class present is augmented: no draw per row needed.
        self.every_row_ = bool((self.class_rates_[counts.to(self.device_) > 0] == 1).all())
        if self.multilabel_:  # a row's class: its rarest positive label, as the samplers do
            rank = torch.empty(n_classes, dtype=torch.long)
            rank[torch.from_numpy(np.argsort(np.asarray(context.class_counts),
                                             kind="stable"))] = torch.arange(n_classes)
            self.label_rank_ = rank.to(self.device_)
        self.discrete_columns_ = torch.as_tensor(list(discrete_columns), dtype=torch.long,
                                                 device=self.device_)
        self._as_batch = as_batch or (lambda column: column)
        self._fit(context)
        self.start_epoch(0)
        return self

    def _fit(self, context) -> None:
        """Statistics of the training rows the augmentation needs (none by default)."""

    def rates_for_counts(self, counts: torch.Tensor, classes) -> torch.Tensor:
        """``r_c`` of every class, from the training rows per class.

        Parameters
        ----------
        counts : torch.Tensor of shape (n_classes,)
            Training rows per (sampling) class.
        classes : sequence
            The labels of the first classes, in the order of ``counts`` (a
            multi-label target's extra class of rows without a label has none).

        Returns
        -------
        rates : torch.Tensor of shape (n_classes,), float32
        """
        self._check_params()
        counts = torch.as_tensor(counts, dtype=torch.float64)
        chosen = self._chosen_classes(counts, list(classes))
        if isinstance(self.rate, str):
            rates = 1.0 - counts / counts.max().clamp_min(1.0)
        else:
            rates = torch.full_like(counts, float(self.rate))
        return torch.where(chosen & (counts > 0), rates, 0.0).float()

    def _chosen_classes(self, counts, labels) -> torch.Tensor:
        present = counts > 0
        if not isinstance(self.classes, str):
            positions = label_positions(self.classes, labels)
            if (positions < 0).any():
                unknown = [c for c, j in zip(self.classes, positions) if j < 0]
                raise ValueError(
                    f"{type(self).__name__}: classes={list(self.classes)!r} names labels "
                    f"{unknown!r} that are not among the classes {labels!r}.")
            chosen = torch.zeros(len(counts), dtype=torch.bool)
            chosen[torch.from_numpy(positions)] = True
            return chosen
        if self.classes == "all":
            return torch.ones(len(counts), dtype=torch.bool)
        smallest = counts == counts[present].min() if present.any() else present
        largest = counts == counts.max()
        return {"minority": smallest, "not minority": ~smallest,
                "not majority": ~largest}[self.classes]

    def _check_params(self) -> None:
        rate = self.rate
        if isinstance(rate, str):
            if rate != "rarity":
                raise ValueError(f"{type(self).__name__}: rate must be a number in [0, 1] or "
                                 f"'rarity', got {rate!r}.")
        elif (not isinstance(rate, numbers.Real) or isinstance(rate, bool)
              or not 0.0 <= rate <= 1.0):
            raise ValueError(f"{type(self).__name__}: rate must be a number in [0, 1] or "
                             f"'rarity', got {rate!r}.")
        if isinstance(self.classes, str) and self.classes not in _CLASS_SETS:
            raise ValueError(f"{type(self).__name__}: classes must be one of {_CLASS_SETS} "
                             f"or a list of labels, got {self.classes!r}.")

    # -- every epoch, every batch --------------------------------------------------

    def start_epoch(self, seed: int) -> None:
        """Reseed the draws of the next epoch (on the training device)."""
        self.generator_ = torch.Generator(device=self.device_).manual_seed(int(seed))
        self.rng_ = np.random.default_rng(int(seed))
        vars(self).pop("_beta_pool", None)

    def __call__(self, X, y: torch.Tensor, sample_weight: torch.Tensor | None = None,
                 rows: torch.Tensor | None = None):
        """Augment one training batch.

        Parameters
        ----------
        X : torch.Tensor or dict of torch.Tensor
            The batch's features, on the training device: floating point, or
            signed integers (ids, as given).
        y : torch.Tensor
            Encoded class indices, or the 0/1 indicator rows of a multi-label target.
        sample_weight : torch.Tensor of shape (n_rows,), optional
        rows : torch.Tensor of shape (n_rows,), optional
            Each row's position among the training rows, where known.

        Returns
        -------
        X, y, sample_weight
            The augmented batch: ``y`` may be a :class:`~skimb.losses.MixedTarget`
            (and then a mixed row's weight is ``lam * w_a + (1 - lam) * w_b``).
        """
        chosen = self.chosen_rows(y)
        return self.augment(X, y, sample_weight, chosen, rows)

    def augment(self, X, y, sample_weight, chosen: torch.Tensor | None, rows):
        """Augment the rows where ``chosen`` is True (every row when it is None, i.e. when
        every class's rate is 1); implemented by subclasses."""
        raise NotImplementedError

    def row_classes(self, y: torch.Tensor) -> torch.Tensor:
        """Each row's (sampling) class: its label, or its rarest positive label."""
        if not self.multilabel_:
            return y.long()
        n_labels = y.shape[1]
        ranks = torch.where(y > 0, self.label_rank_, n_labels)
        best = ranks.min(dim=1)
        return torch.where(best.values < n_labels, best.indices, n_labels)

    def chosen_rows(self, y: torch.Tensor) -> torch.Tensor | None:
        """Which rows to augment: row ``i`` with probability ``r_{class(i)}`` (None: all)."""
        if self.every_row_:
            return None
        rates = self.class_rates_[self.row_classes(y)]
        draw = torch.rand(len(rates), generator=self.generator_, device=self.device_)
        return draw < rates

    def release(self) -> None:
        """Drop the buffers kept for training and move the fitted statistics to the CPU
        (called when a training call ends), so a fitted model holds nothing on the device."""
        for name in ("generator_", "rng_", "_as_batch", "_beta_pool"):
            vars(self).pop(name, None)
        for name, value in list(vars(self).items()):
            if torch.is_tensor(value) or isinstance(value, dict):
                vars(self)[name] = map_features(lambda t: t.cpu() if torch.is_tensor(t) else t,
                                                value)
        self.device_ = torch.device("cpu")

    # -- helpers for subclasses ------------------------------------------------------

    def beta(self, alpha: float, n: int) -> torch.Tensor:
        """``n`` draws of Beta(alpha, alpha), on the training device.

        torch draws no Beta variates from a seeded generator, so they are drawn
        with NumPy, many batches' worth at a time, and copied to the device
        together: on CUDA a copy per batch would wait for the GPU every batch.
        """
        pool = vars(self).get("_beta_pool")
        if pool is None or len(pool) < n:
            draws = torch.from_numpy(self.rng_.beta(alpha, alpha, size=max(n, _BETA_CHUNK)))
            draws = draws.float()
            if self.device_.type == "cuda":
                draws = draws.pin_memory()
            pool = draws.to(self.device_, non_blocking=True)
        self._beta_pool = pool[n:]
        return pool[:n]

    def partners(self, y: torch.Tensor, balanced: bool) -> torch.Tensor:
        """A partner row in the batch for every row: uniformly at random (a
        permutation), or with each row drawn in inverse proportion to its
        class's training rows (class-balanced)."""
        n = len(y)
        if not balanced:
            return torch.randperm(n, generator=self.generator_, device=self.device_)
        weights = 1.0 / self.class_counts_[self.row_classes(y)].clamp_min(1).float()
        return torch.multinomial(weights, n, replacement=True, generator=self.generator_)


def mix_leaves(X_a, X_b, lam: torch.Tensor, keep_a: torch.Tensor, discrete):
    """``lam * x_a + (1 - lam) * x_b`` on floating leaves; elsewhere the row with the
    larger share keeps its values (``keep_a``): integer leaves and a table's
    ``discrete`` columns (codes)."""

    def mix(a, b):
        if not a.is_floating_point():
            return torch.where(_rows(keep_a, a), a, b)
        mixed = torch.lerp(b, a, _rows(lam, a).to(a.dtype))  # lam * a + (1 - lam) * b
        if discrete.numel() and a.ndim == 2:
            mixed[:, discrete] = torch.where(keep_a[:, None], a[:, discrete], b[:, discrete])
        return mixed

    if isinstance(X_a, dict):  # code columns are a table's: a dict's leaves have none
        discrete = discrete[:0]
        return {key: mix(X_a[key], X_b[key]) for key in X_a}
    return mix(X_a, X_b)


def _rows(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-row ``values`` shaped to broadcast over the other dimensions of ``like``."""
    return values.reshape((-1,) + (1,) * (like.ndim - 1))


def gather_rows(X, index):
    """The rows ``index`` of a batch (a tensor or a dict of tensors)."""
    return map_features(lambda t: t[index], X)


def batch_rows(X) -> int:
    """Rows of a batch."""
    return len(feature_leaves(X)[0])
