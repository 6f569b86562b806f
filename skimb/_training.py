"""Batching for the training loop: device-resident gathers, or a DataLoader.

The fast path keeps the whole in-memory training portion on the training
device for the entire fit and gathers each batch with one indexing operation.
Each epoch's order is drawn on the training device, with that device's
generator, wherever the rows are kept, so a given seed draws the same epochs
whether they sit on the device or stream from host memory. Nothing in it waits
for the device. When the columns do not fit in the memory the device can give
they stay in host memory; the epoch's order is copied there once and each
gathered batch is pinned and copied over asynchronously.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler

from ._data import SparseRows, WeightedTarget, as_rows, feature_leaves, map_features
from .samplers import ImblearnSampler

#: Share of the device's free memory the resident features may take.
DEVICE_MEMORY_SHARE = 0.5


#: Values of the classifier's ``training_storage_`` and history key ``event_storage``.
STORAGE_KINDS = ("device", "host", "dataloader")


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
    """Where an epoch iterator keeps its rows: one of :data:`STORAGE_KINDS`."""
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
    sampler : EpochSampler or ImblearnSampler, optional
        Fitted sampler drawing each epoch's rows; None visits every row once
        in order (validation and prediction).
    seed : int, default=0
        Seeds the generator every epoch is drawn with, on ``device`` whatever
        the storage.
    drop_last : bool, default=False
        Leave out an epoch's last batch when it is smaller than ``batch_size``.

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
                 drop_last=False):
        self.device = device
        self.batch_size = batch_size
        self.sampler = sampler
        self.drop_last = drop_last
        self.epoch = 0
        self.batch_rows = None
        # On the training device for every storage: CPU and CUDA generators draw
        # different streams, and the model must not depend on free memory. (Not
        # on the CPU: an epoch of 1M rows took 35-270 ms of CPU time to draw there,
        # up to a whole GPU epoch at batch 8192.)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.store = None
        if isinstance(sampler, ImblearnSampler):
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
        if isinstance(self.sampler, ImblearnSampler):
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
        resampled = isinstance(self.sampler, ImblearnSampler)
        n = len(feature_leaves(X)[0]) if order is None else len(order)
        if self.drop_last:
            n -= n % self.batch_size
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
        Fitted on the labels of the dataset's rows.
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
