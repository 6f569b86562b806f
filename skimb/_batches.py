"""Batching for the training loop, in one place: device-resident gathers, or a DataLoader.

The fast path keeps the whole in-memory training portion on the training
device for the entire fit and gathers each batch with one indexing operation.
Each epoch's order is drawn on the training device, with that device's
generator, wherever the rows are kept, so a given seed draws the same epochs
whether they sit on the device or stream from host memory. Nothing in it waits
for the device. When the columns do not fit in the memory the device can give
they stay in host memory; the epoch's order is copied there once and each
gathered batch is pinned and copied over asynchronously.

Rows that are not in memory (a torch Dataset), or ``iterator_*`` parameters
the resident path does not honour, go through a DataLoader driven by the same
sampler (:class:`EpochIndexSampler`). The seeds of a training call
(:func:`call_seed`, :func:`epoch_seed`) and the check that stops a diverged
fit (:func:`check_finite_epoch`) live here too.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from ._data import (SparseRows, TensorTable, WeightedTarget, as_rows, feature_leaves,
                    map_features, table_and_rows)
from ._skorch_params import RESIDENT_ITERATOR_KEYS

__all__ = ["ResidentRows", "ResidentBatches", "EpochIndexSampler", "batches_for",
           "dataloader_for_training", "resident_path_applies", "call_seed", "epoch_seed",
           "as_float", "record_epoch_losses", "check_finite_epoch", "storage_of"]

#: Share of the device's free memory the resident features may take.
DEVICE_MEMORY_SHARE = 0.5


def storage_device(nbytes: int, device: torch.device) -> torch.device:
    """Where to keep ``nbytes`` of training columns for training on ``device``.

    On CUDA the columns stay on the device when they take at most
    :data:`DEVICE_MEMORY_SHARE` of the memory it can give: what the driver
    reports free plus what PyTorch's caching allocator holds reserved but
    unused (after a first fit in the process that is most of it); otherwise
    they stay in host memory.
    """
    if device.type != "cuda":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    reusable = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    available = free + max(reusable, 0)
    return device if nbytes <= DEVICE_MEMORY_SHARE * available else torch.device("cpu")


def _nbytes(*columns) -> int:
    """Bytes of the given columns (feature dicts counted whole; None counts nothing)."""
    return sum(leaf.nbytes for t in columns if t is not None for leaf in feature_leaves(t))


#: Bytes per row of an epoch's visiting order (int64 indices).
_ORDER_BYTES = 8


def storage_of(iterator) -> str:
    """Where an epoch iterator keeps its rows: ``"device"``, ``"host"`` or ``"dataloader"``."""
    return iterator.storage if isinstance(iterator, ResidentBatches) else "dataloader"


def _batch(X, y, w):
    if y is None:
        return X, None
    return X, (y if w is None else WeightedTarget(y, w))


class ResidentBatches:
    """Iterable over the batches of one epoch, gathered by index on the device.

    Parameters
    ----------
    X : torch.Tensor, SparseRows or dict of them
        Features of the rows to iterate over; a dict (one column per
        ``forward`` argument) is gathered column by column into dict batches.
    y, sample_weight : torch.Tensor or None
        Labels and weights of the rows (CPU tensors).
    device : torch.device
        Where the batches are consumed.
    batch_size : int
    sampler : BaseSampler, optional
        Fitted sampler drawing each epoch's rows (positions, or resampled
        rows when it does not declare ``draws_indices``); None visits every
        row once in order (validation and prediction).
    seed : int, default=0
        Seeds the generator every epoch is drawn with, on ``device`` whatever
        the storage.
    drop_last : bool, default=False
        Leave out an epoch's last batch when it is smaller than ``batch_size``.
    drop_single : bool, default=False
        Leave out an epoch's last batch when it holds a single row (batch
        norm cannot train on one row), unless it is the epoch's only batch.

    The sampler is asked for epochs ``0, 1, ...``: every training call counts
    its own epochs.

    Attributes
    ----------
    batch_rows : torch.Tensor or None
        While a training epoch runs, the positions among ``X``'s rows of the
        batch just yielded (None for an imbalanced-learn sampler's resampled rows).
    store : torch.device or None
        Where the columns are kept: ``device`` or the host. With an
        imbalanced-learn sampler it is decided every epoch from the resampled
        size (None before the first epoch).
    """

    def __init__(self, X, y, sample_weight, device, batch_size, sampler=None, seed=0,
                 drop_last=False, drop_single=False):
        self.device = device
        self.batch_size = batch_size
        self.sampler = sampler
        self.drop_last = drop_last
        self.drop_single = drop_single
        self.epoch = 0
        self.batch_rows = None
        # On the training device for every storage: CPU and CUDA generators draw
        # different streams, and the model must not depend on free memory. (Not
        # on the CPU: an epoch of 1M rows took 35-270 ms of CPU time to draw there,
        # up to a whole GPU epoch at batch 8192.)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.store = None
        if sampler is not None and not sampler.draws_indices:
            self._host = (X.to_scipy() if isinstance(X, SparseRows) else X.numpy(),
                          None if y is None else y.numpy(),
                          None if sample_weight is None else sample_weight.numpy())
        else:
            order_bytes = 0 if sampler is None else _ORDER_BYTES * len(X)
            self.store = storage_device(_nbytes(X, y, sample_weight) + order_bytes, device)
            self._columns = self._place(X, y, sample_weight)

    @property
    def storage(self) -> str:
        """``"device"`` when the rows are kept on the training device, else ``"host"``."""
        return "device" if self.store == self.device else "host"

    def _place(self, X, y, w):
        move = lambda t: t.to(self.store)  # noqa: E731
        return (map_features(move, X),) + tuple(None if t is None else move(t) for t in (y, w))

    def _to_store(self, order):
        """Move an epoch's order (drawn on the training device) to the rows, once."""
        return order.to(self.store)

    def _epoch_columns_and_order(self):
        if self.sampler is None:
            return self._columns, None
        if not self.sampler.draws_indices:
            seed = int(torch.randint(2**31 - 1, (1,), generator=self.generator,
                                     device=self.device))
            X, y, w = self.sampler.resample(*self._host, seed=seed)
            columns = (as_rows(X), torch.from_numpy(y),
                       None if w is None else torch.from_numpy(np.asarray(w, dtype=np.float32)))
            # Decided on the resampled size: an oversampler returns several times the rows.
            self.store = storage_device(_nbytes(*columns) + _ORDER_BYTES * len(y), self.device)
            order = torch.randperm(len(y), generator=self.generator, device=self.device)
            return self._place(*columns), self._to_store(order)
        order = self.sampler.epoch_indices(self.epoch, self.batch_size, self.generator)
        return self._columns, self._to_store(order)

    def __iter__(self):
        (X, y, w), order = self._epoch_columns_and_order()
        self.epoch += 1
        resampled = self.sampler is not None and not self.sampler.draws_indices
        n = len(feature_leaves(X)[0]) if order is None else len(order)
        if self.drop_last:
            n -= n % self.batch_size
        elif self.drop_single and n > self.batch_size and n % self.batch_size == 1:
            n -= 1
        copy = self.store != self.device
        for start in range(0, n, self.batch_size):
            if order is None:
                part = slice(start, start + self.batch_size)
            else:
                part = order[start:start + self.batch_size]
            self.batch_rows = None if resampled else (
                torch.arange(start, min(start + self.batch_size, n)) if order is None else part)
            gather = lambda t: t[part]  # noqa: E731
            columns = (map_features(gather, X),) + tuple(
                None if t is None else gather(t) for t in (y, w))
            if copy:
                columns = tuple(None if t is None else map_features(self._copy_over, t)
                                for t in columns)
            yield _batch(*columns)

    def _copy_over(self, t):
        """A batch gathered in host memory, copied to the training device asynchronously."""
        pinned = t.pin_memory() if self.device.type == "cuda" else t
        return pinned.to(self.device, non_blocking=True)



class EpochIndexSampler(Sampler):
    """A ``torch.utils.data.Sampler`` drawing a fresh epoch from a skimb sampler.

    Used for data that is not held in memory (a torch ``Dataset``), so the
    same strategies drive a ``DataLoader``.

    Parameters
    ----------
    sampler : EpochSampler
        Fitted on the labels of the dataset's rows (one that ``draws_indices``).
    batch_size : int
    generator : torch.Generator
        CPU generator.

    The sampler is asked for epochs ``0, 1, ...`` of the training call.
    """

    def __init__(self, sampler, batch_size, generator):
        self.sampler = sampler
        self.batch_size = batch_size
        self.generator = generator
        self.epoch = 0

    def __iter__(self):
        order = self.sampler.epoch_indices(self.epoch, self.batch_size, self.generator)
        self.epoch += 1
        return iter(order.tolist())


class ResidentRows(TensorTable):
    """Training rows whose batches are gathered by index on the training device.

    The training context hands its training portion over as this class when
    the rows are in memory and every ``iterator_train`` parameter is one the
    resident path honours (decided once, by :func:`resident_path_applies`);
    otherwise as a plain Dataset, read through a DataLoader.
    """


def resident_path_applies(net, training: bool) -> bool:
    """Whether the device-resident batches honour every ``iterator_*`` parameter given."""
    iterator = net.iterator_train if training else net.iterator_valid
    kwargs = net.get_params_for("iterator_train" if training else "iterator_valid")
    if iterator is not DataLoader or not set(kwargs) <= RESIDENT_ITERATOR_KEYS:
        return False
    return training or not kwargs.get("shuffle", False)


def batch_size_of(net, training: bool) -> int:
    """The batch size of the training (or evaluation) iterator: ``iterator_*__batch_size``
    when set, else ``batch_size`` (-1: every row in one batch)."""
    kwargs = net.get_params_for("iterator_train" if training else "iterator_valid")
    return kwargs.get("batch_size", net.batch_size)


def call_seed(net) -> int:
    """The seed of a training call's epoch draws: the fit's sampling seed plus the history
    rows before the call (so a continued fit draws new epochs)."""
    return net.sampling_seed_ + len(net.history)


def epoch_seed(net, stream: int) -> int:
    """A seed for the draws of one ``stream`` (1: the augmentation) in the epoch under way,
    from the fit's sampling seed and the epoch's history row."""
    entropy = (net.sampling_seed_, len(net.history), stream)
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def batches_for(net, dataset, training: bool) -> ResidentBatches | None:
    """Device-resident batches of ``dataset``, or None when it goes through a DataLoader.

    Training rows are resident when the context made them :class:`ResidentRows`;
    validation rows and rows to predict when they are in memory and the
    ``iterator_valid`` parameters allow it. The resident path honours
    ``iterator_*__batch_size``, ``drop_last`` and (for training) ``shuffle``. A module
    with batch norm never trains on a last batch of one row, which batch norm cannot
    normalise: that row is left out of the epoch (the sampler draws a new order every
    epoch, so another row next time).
    """
    if training:
        if not isinstance(dataset, ResidentRows):
            return None
        located = (dataset, None)
    else:
        located = table_and_rows(dataset)
        if located is None or not resident_path_applies(net, training=False):
            return None
    kwargs = net.get_params_for("iterator_train" if training else "iterator_valid")
    batch_size = batch_size_of(net, training)
    if batch_size == -1:
        batch_size = len(dataset)
    sampler = None
    if training and kwargs.get("shuffle") is not False:  # shuffle=False: the rows in order
        sampler = net.sampler_
    batch_norm = training and _has_batch_norm(net.module_)
    if batch_norm and batch_size == 1:
        raise ValueError("The module has batch norm, which cannot train on batches of one row, "
                         "and the training batch size is 1: use a larger batch size.")
    X, y, w = located[0].take(located[1])
    return ResidentBatches(X, y, w, torch.device(net.device or "cpu"), batch_size,
                           sampler=sampler, seed=call_seed(net) if training else 0,
                           drop_last=bool(kwargs.get("drop_last", False)),
                           drop_single=batch_norm)


def _has_batch_norm(module) -> bool:
    """Whether ``module`` holds a batch norm layer."""
    return any(isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in module.modules())


def dataloader_for_training(net, dataset):
    """The training iterator for rows read through a DataLoader (or the user's iterator)."""
    sampler = net.sampler_
    if not sampler.draws_indices:
        raise ValueError(
            f"sampler={net.sampler!r} resamples in-memory arrays every epoch: it needs X "
            "as an array or DataFrame and no iterator_train__* beyond "
            f"{', '.join(sorted(RESIDENT_ITERATOR_KEYS))}.")
    batch_size = batch_size_of(net, training=True)
    if batch_size == -1:
        batch_size = len(dataset)
    kwargs = {**net.get_params_for("iterator_train"), "batch_size": batch_size}
    if net.iterator_train is not DataLoader or {"sampler", "batch_sampler"} & set(kwargs) \
            or kwargs.get("shuffle") is False:
        if "batch_sampler" in kwargs:
            kwargs.pop("batch_size")
        return net.iterator_train(dataset, **kwargs)
    kwargs.pop("shuffle", None)
    generator = torch.Generator().manual_seed(call_seed(net))
    kwargs["sampler"] = EpochIndexSampler(sampler, batch_size, generator)
    return DataLoader(dataset, **kwargs)


def check_finite_epoch(net, losses: list, epoch: int) -> None:
    """Stop a fit whose training loss is not finite, naming the epoch and the remedies."""
    bad = [value for value in losses if not math.isfinite(value)]
    if bad:
        raise ValueError(
            f"The training loss is {bad[0]} at epoch {epoch} of this call: the fit "
            f"diverged, and no model is kept. Lower the learning rate (lr={net.lr!r}), keep "
            "gradient clipping on (callbacks__gradient_clipping, the default), or scale "
            "the features (the built-in networks do).")


def as_float(column, scale_uint8: bool = False):
    """A batch column as the module gets it: uint8 (images) and float64 (a Dataset's items)
    become float32, uint8 divided by 255 when ``scale_uint8``; anything else as it is.

    Examples
    --------
    >>> import torch
    >>> from skimb._batches import as_float
    >>> as_float(torch.tensor([0, 255], dtype=torch.uint8), scale_uint8=True).tolist()
    [0.0, 1.0]
    """
    if not torch.is_tensor(column) or column.dtype not in (torch.uint8, torch.float64):
        return column
    if column.dtype == torch.float64:
        return column.float()
    column = column.float()
    return column / 255.0 if scale_uint8 else column


def record_epoch_losses(history, losses: list, sizes: list, prefix: str) -> list:
    """Write an epoch's batch losses (kept on the device while it ran) and sizes into its
    history rows, with one copy to the host; return the losses as floats."""
    batches = history[-1]["batches"][-len(losses):] if losses else []
    values = torch.stack(losses).float().cpu().tolist() if losses else []
    for row, value, size in zip(batches, values, sizes):
        row[prefix + "_loss"] = value
        row[prefix + "_batch_size"] = size
    history.record(prefix + "_batch_count", len(losses))
    return values
