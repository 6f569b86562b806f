"""The training context: what one ``fit`` or ``partial_fit`` call trains on, built once.

:func:`build_context` runs after the input checks and the internal validation
split. It gathers the training rows once, counts the classes once, decides
once whether the rows are batched on the device, and resolves the call's
epoch budget; the result is a frozen :class:`TrainingContext` that the
classifier hands explicitly to skorch's ``fit_loop`` (as its ``X``) and from
there to every strategy, fitted on it when training starts: the sampler, the
loss statistics, the augmentation, and (on a first fit) the network's front;
then the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from skorch.dataset import ValidSplit

from ._batches import ResidentRows
from ._data import SparseRows, TensorTable, labels_of, table_and_rows
from .recipe import epoch_budget, steps_per_epoch
from .samplers import rarest_positive_label

__all__ = ["TrainingContext", "build_context", "split_rows"]


@dataclass(frozen=True, eq=False)
class TrainingContext:
    """Everything one training call needs, computed from its training portion once.

    Attributes
    ----------
    data : Dataset
        All rows the call was given (a ``TensorTable`` or the user's Dataset).
    train, valid : Dataset or None
        The training portion and the validation rows (None without a split).
        In-memory training rows are gathered once: a
        :class:`~skimb._batches.ResidentRows` when they are batched on the
        device, a ``TensorTable`` read through a DataLoader otherwise.
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
    sampler : BaseSampler
        The call's sampler, fitted when training starts on the training
        portion's sampling classes.
    epochs : int
        The call's epoch budget.
    first_epoch : int
        History rows before this call: epoch ``e`` of the call is history row
        ``first_epoch + e``.
    sampling_classes : ndarray of int64
        The class each training row is drawn as (its rarest positive label
        for a multi-label target, see :func:`~skimb.samplers.rarest_positive_label`).
    augmentation : Augmentation or None
        The call's augmentation, fitted when training starts.
    columns : ColumnLayout or None
        A table's numeric and categorical columns, for a built-in network.
    input_kind : str
        What a network is given: ``"table"``, ``"raw_columns"`` (a table with
        categorical or datetime columns or missing values), ``"tensor"``
        (N-D rows) or ``"dict"``.
    in_memory : bool
        Whether the rows are an in-memory table (not the user's Dataset).
    resident : bool
        Whether the training rows are batched on the device by index.
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
    columns: object = None
    input_kind: str = "table"
    in_memory: bool = True
    resident: bool = True

    def __len__(self) -> int:  # skorch's callbacks size the rows passed with len(X)
        return len(self.data)

    @property
    def n_sampling_classes(self) -> int:
        """Classes the sampler draws: the labels, plus one for rows without any label
        (multi-label targets)."""
        return len(self.classes) + int(self.multilabel)

    @cached_property
    def train_columns(self):
        """``(X, y, sample_weight)`` of the training rows, gathered once (None for a Dataset)."""
        return self.train.take() if self.in_memory else None

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


def split_rows(split, inputs, train_split, multilabel: bool) -> tuple:
    """``(train, valid)``: the call's rows split by skorch's ``train_split``.

    ``split(X, y)`` is skorch's own split; a multi-label ``y`` is stratified
    by each row's rarest positive label. A split that cannot be made is a
    ``ValueError`` saying which split and how to change it.
    """
    y = inputs.y
    stratified = isinstance(train_split, ValidSplit) and train_split.stratified
    if multilabel and stratified:
        y = rarest_positive_label(y)
    try:
        return split(inputs.data, y)
    except ValueError as err:
        if isinstance(train_split, ValidSplit):
            train_split = f"ValidSplit({train_split.cv!r}, stratified={train_split.stratified})"
        raise ValueError(
            f"The internal validation split train_split={train_split} cannot "
            f"split these {len(inputs.data)} rows: {err} Pass train_split=None (no validation "
            "split) or a split that suits the data."
        ) from None


def _check_some_batch(epoch_rows: int, batch_size: int, drop_last: bool) -> None:
    """Refuse ``drop_last`` when an epoch holds fewer rows than one batch: no step would run."""
    if drop_last and batch_size != -1 and epoch_rows < batch_size:
        raise ValueError(
            f"iterator_train__drop_last=True leaves out every batch: an epoch draws "
            f"{epoch_rows} training rows, fewer than batch_size={batch_size}, so nothing "
            "would train. Lower the batch size or drop drop_last.")


def build_context(*, inputs, split, classes, multilabel: bool, strategies, max_epochs,
                  batch_size: int, drop_last: bool, first_epoch: int, columns=None,
                  resident: bool) -> TrainingContext:
    """Gather, count and size what a training call needs, once.

    Parameters
    ----------
    inputs : skimb._inputs.prepare.FitInputs
        Every row of the call, its encoded labels and its kind.
    split : tuple
        ``(train, valid)`` datasets from skorch's ``train_split``.
    classes : ndarray
    multilabel : bool
    strategies : skimb._strategies.Strategies
        The call's sampler (which says how many rows an epoch draws) and
        augmentation, unfitted.
    max_epochs : int or "auto"
        The call's epochs, or ``"auto"`` (:func:`~skimb.recipe.epoch_budget`:
        as many optimizer steps as ``sampler="none"``).
    batch_size : int
    drop_last : bool
        How the training epochs are cut into batches (to count their steps).
    first_epoch : int
    columns : ColumnLayout, optional
    resident : bool
        Whether in-memory training rows are batched on the device.

    Returns
    -------
    context : TrainingContext
    """
    data, y = inputs.data, inputs.y
    train, valid = split
    y_train = labels_of(train, y, data)
    y_valid = None if valid is None else labels_of(valid, y, data)
    if inputs.in_memory:  # gathered once: the batches and the network's front share it
        located = table_and_rows(train)
        table = ResidentRows if resident else TensorTable
        train = table.from_columns(*located[0].take(located[1]))
    weights = weights_of(train)
    n_classes = len(classes)
    counts, mass, total = _class_statistics(y_train, weights, n_classes, multilabel)
    if total <= 0:
        raise ValueError(
            "sample_weight is 0 on every training row (after the validation split, if "
            "any): nothing would train.")
    sampling = rarest_positive_label(y_train) if multilabel else y_train
    sampler = strategies.sampler
    sampling_counts = torch.bincount(torch.from_numpy(sampling),
                                     minlength=n_classes + int(multilabel))
    epoch_rows = sampler.rows_per_epoch(sampling_counts)
    _check_some_batch(len(y_train) if epoch_rows is None else epoch_rows, batch_size, drop_last)
    epochs = epoch_budget(
        max_epochs, len(data),
        epoch_steps=steps_per_epoch(len(y_train) if epoch_rows is None else epoch_rows,
                                    batch_size, drop_last),
        full_steps=steps_per_epoch(len(y_train), batch_size, drop_last))
    return TrainingContext(
        data=data, train=train, valid=valid, y_train=y_train, y_valid=y_valid,
        classes=classes, multilabel=multilabel, class_counts=counts, class_mass=mass,
        total_mass=total, sampler=sampler, epochs=epochs, first_epoch=first_epoch,
        sampling_classes=sampling, augmentation=strategies.augmentation, columns=columns,
        input_kind=inputs.kind, in_memory=inputs.in_memory, resident=resident)
