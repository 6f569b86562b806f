"""The training context: what one ``fit`` or ``partial_fit`` call trains on, built once.

:func:`build_context` runs after the input checks and the internal validation
split. It gathers the training rows once, counts the classes once, fits the
sampler and resolves the call's epoch budget; the result is a frozen
:class:`TrainingContext` that the classifier hands explicitly to skorch's
``fit_loop`` (as its ``X``) and from there to every strategy: the sampler, the
loss statistics, the network's fitted front and the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from ._data import SparseRows, TensorTable, labels_of, table_and_rows
from .networks import DICT, RAW_COLUMNS, TABLE, TENSOR, ColumnLayout
from .samplers import EpochSampler, ImblearnSampler, rarest_positive_label

__all__ = ["TrainingContext", "build_context", "data_kind", "steps_per_epoch"]


def steps_per_epoch(rows: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimizer steps of an epoch of ``rows`` rows (at least 1).

    Examples
    --------
    >>> from skimb._context import steps_per_epoch
    >>> steps_per_epoch(300, 256), steps_per_epoch(300, 256, drop_last=True), steps_per_epoch(5, -1)
    (2, 1, 1)
    """
    if batch_size == -1 or rows <= 0:
        return 1
    return max(1, rows // batch_size if drop_last else math.ceil(rows / batch_size))


@dataclass(frozen=True, eq=False)
class TrainingContext:
    """Everything one training call needs, computed from its training portion once.

    Attributes
    ----------
    data : Dataset
        All rows the call was given (a ``TensorTable`` or the user's Dataset).
    train, valid : Dataset or None
        The training portion and the validation rows (None without a split).
    y_train, y_valid : ndarray
        Their encoded labels (class indices, or indicator rows).
    classes : ndarray
        The labels, in the order of the encoding.
    multilabel : bool
    class_counts : ndarray of int64
        Training rows per class (per label: rows where it is present).
    class_mass : ndarray of float64
        The same counts weighted by ``sample_weight``: a row of weight 2
        counts twice. Equal to ``class_counts`` without weights.
    total_mass : float
        Total weight of the training rows (their number without weights).
    sampler : EpochSampler or ImblearnSampler
        Fitted on the training portion's (sampling) classes.
    epochs : int
        The call's epoch budget.
    first_epoch : int
        History rows before this call: epoch ``e`` of the call is history row
        ``first_epoch + e``.
    augmentation : Augmentation or None
        The call's augmentation, not yet fitted (it is fitted on this
        context once the network exists).
    columns : ColumnLayout or None
        A table's numeric and categorical columns, for a built-in network.
    raw_columns : bool
        Whether the table has categorical or datetime columns or missing
        values (``input_kind`` is then ``"raw_columns"``).
    """

    data: Dataset
    train: Dataset
    valid: Dataset | None
    y_train: np.ndarray
    y_valid: np.ndarray | None
    classes: np.ndarray
    multilabel: bool
    class_counts: np.ndarray
    class_mass: np.ndarray
    total_mass: float
    sampler: object
    epochs: int
    first_epoch: int
    sampling_classes: np.ndarray = field(repr=False)
    augmentation: object = None
    columns: ColumnLayout | None = None
    raw_columns: bool = False

    def __len__(self) -> int:  # skorch's callbacks size the rows passed with len(X)
        return len(self.data)

    @property
    def in_memory(self) -> bool:
        """Whether the rows are an in-memory table (not the user's Dataset)."""
        return table_and_rows(self.train) is not None

    @cached_property
    def input_kind(self) -> str:
        """What a network is given: ``"table"``, ``"raw_columns"`` (a table with categorical
        or datetime columns or missing values), ``"tensor"`` (N-D rows) or ``"dict"``."""
        return RAW_COLUMNS if self.raw_columns else data_kind(self.data)

    @cached_property
    def train_columns(self):
        """``(X, y, sample_weight)`` of the training rows, gathered once (None for a Dataset)."""
        located = table_and_rows(self.train)
        return None if located is None else located[0].take(located[1])

    @cached_property
    def n_features(self) -> int:
        """Width of a table's rows (values per row for other inputs)."""
        x = self.data[0][0]
        return sum(int(np.prod(np.shape(v))) for v in x.values()) if isinstance(
            x, dict) else int(np.prod(np.shape(x)))

    @cached_property
    def front_X(self) -> np.ndarray | None:
        """Dense training rows with a positive weight, for fitting a network's front."""
        if not self.in_memory:
            return None
        X = self.train_columns[0]
        X = X.to_scipy().toarray() if isinstance(X, SparseRows) else X.numpy()
        return X if self.weighted_rows is None else X[self.weighted_rows]

    @property
    def front_y(self) -> np.ndarray | None:
        """Class index of every :attr:`front_X` row (rarest positive label if multi-label)."""
        if not self.in_memory:
            return None
        kept = self.weighted_rows
        return self.sampling_classes if kept is None else self.sampling_classes[kept]

    @property
    def sample_weight(self) -> torch.Tensor | None:
        """Weights of the training rows, or None."""
        return weights_of(self.train)

    @cached_property
    def weighted_rows(self) -> np.ndarray | None:
        """Which training rows have a positive weight (None without weights): the rows
        a zero weight leaves out of every statistic fitted on the training portion."""
        weights = self.sample_weight
        return None if weights is None else (weights > 0).numpy()


def weights_of(dataset) -> torch.Tensor | None:
    """The sample weights a dataset (or a Subset of one) carries, or None."""
    if isinstance(dataset, Subset):
        weights = weights_of(dataset.dataset)
        return None if weights is None else weights[torch.as_tensor(dataset.indices)]
    return getattr(dataset, "sample_weight", None)


def data_kind(data) -> str:
    """``"table"``, ``"tensor"`` or ``"dict"``: the network input kind of a call's rows."""
    x = data[0][0]
    if isinstance(x, dict):
        return DICT
    return TABLE if np.ndim(x) <= 1 else TENSOR


def _class_statistics(y_train, weights, n_classes, multilabel):
    """``(counts, mass, total_mass)`` of the training labels."""
    w = None if weights is None else weights.numpy().astype(np.float64)
    if multilabel:
        counts = y_train.sum(axis=0).astype(np.int64)
        mass = counts.astype(np.float64) if w is None else w @ y_train.astype(np.float64)
    else:
        counts = np.bincount(y_train, minlength=n_classes)
        mass = counts.astype(np.float64) if w is None else np.bincount(
            y_train, weights=w, minlength=n_classes)
    total = float(len(y_train)) if w is None else float(w.sum())
    return counts, mass, total


def build_context(*, data, y, split, classes, multilabel, sampler, epoch_budget,
                  first_epoch: int, augmentation=None, columns=None,
                  raw_columns: bool = False) -> TrainingContext:
    """Gather, count and fit what a training call needs, once.

    Parameters
    ----------
    data : Dataset
        Every row of the call.
    y : ndarray
        Encoded labels of ``data``.
    split : tuple
        ``(train, valid)`` datasets from skorch's ``train_split``.
    classes : ndarray
    multilabel : bool
    sampler : EpochSampler or ImblearnSampler
        Unfitted; fitted here on the training portion.
    epoch_budget : callable
        ``epoch_budget(n_rows, epoch_rows, n_train) -> int``, the call's epochs.
    first_epoch : int
    augmentation : Augmentation, optional
    columns : ColumnLayout, optional
    raw_columns : bool, default=False

    Returns
    -------
    context : TrainingContext
    """
    train, valid = split
    y_train = labels_of(train, y, data)
    y_valid = None if valid is None else labels_of(valid, y, data)
    located = table_and_rows(train)
    if located is not None:  # gathered once: the batches and the network's front share it
        train = TensorTable.from_columns(*located[0].take(located[1]))
    weights = weights_of(train)
    n_classes = len(classes)
    counts, mass, total = _class_statistics(y_train, weights, n_classes, multilabel)
    if total <= 0:
        raise ValueError(
            "sample_weight is 0 on every training row (after the validation split, if "
            "any): nothing would train.")
    if multilabel:
        sampling, n_sampling = rarest_positive_label(y_train), n_classes + 1
    else:
        sampling, n_sampling = y_train, n_classes
    if isinstance(sampler, EpochSampler):
        sampling_counts = torch.bincount(torch.from_numpy(sampling), minlength=n_sampling)
        epoch_rows = sampler.rows_per_epoch(sampling_counts)
    else:
        epoch_rows = len(y_train)
    epochs = epoch_budget(len(data), epoch_rows, len(y_train))
    if isinstance(sampler, EpochSampler):
        sampler.fit(torch.from_numpy(sampling), n_sampling, n_epochs=epochs)
    elif not isinstance(sampler, ImblearnSampler):
        raise TypeError(f"Unknown sampler object {sampler!r}.")
    return TrainingContext(
        data=data, train=train, valid=valid, y_train=y_train, y_valid=y_valid,
        classes=classes, multilabel=multilabel, class_counts=counts, class_mass=mass,
        total_mass=total, sampler=sampler, epochs=epochs, first_epoch=first_epoch,
        sampling_classes=sampling, augmentation=augmentation, columns=columns,
        raw_columns=raw_columns)
