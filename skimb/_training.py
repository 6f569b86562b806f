"""Batching for the training loop: device-resident gathers, or a DataLoader.

The fast path keeps the whole in-memory training portion on the training
device for the entire fit, asks the sampler for an epoch of indices drawn on
that device, and gathers each batch with one indexing operation. Nothing in it
waits for the device. When the features do not fit in the device's free
memory they stay in host memory; each gathered batch is pinned and copied over
asynchronously instead.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler

from ._data import SparseRows, WeightedTarget, as_rows
from .samplers import ImblearnSampler

#: Share of the device's free memory the resident features may take.
DEVICE_MEMORY_SHARE = 0.5


def storage_device(nbytes: int, device: torch.device) -> torch.device:
    """Where to keep ``nbytes`` of features for training on ``device``."""
    if device.type != "cuda":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    return device if nbytes <= DEVICE_MEMORY_SHARE * free else torch.device("cpu")


def _batch(X, y, w):
    if y is None:
        return X, None
    return X, (y if w is None else WeightedTarget(y, w))


class ResidentBatches:
    """Iterable over the batches of one epoch, gathered by index on the device.

    Parameters
    ----------
    X, y, sample_weight : torch.Tensor or None
        Columns of the rows to iterate over (CPU tensors).
    device : torch.device
        Where the batches are consumed.
    batch_size : int
    sampler : EpochSampler or ImblearnSampler, optional
        Fitted sampler drawing each epoch's rows; None visits every row once
        in order (validation and prediction).
    seed : int, default=0
        Seeds the generator the sampler draws with, on the storage device.
    first_epoch : int, default=0
        Epoch number of the first iteration (continued fits go on counting).
    """

    def __init__(self, X, y, sample_weight, device, batch_size, sampler=None, seed=0,
                 first_epoch=0):
        self.device = device
        self.batch_size = batch_size
        self.sampler = sampler
        self.epoch = first_epoch
        self.store = storage_device(X.nbytes, device)
        if isinstance(sampler, ImblearnSampler):
            self._host = (X.to_scipy() if isinstance(X, SparseRows) else X.numpy(),
                          None if y is None else y.numpy(),
                          None if sample_weight is None else sample_weight.numpy())
        else:
            self._columns = self._place(X, y, sample_weight)
        self.generator = torch.Generator(device=self.store).manual_seed(seed)

    def _place(self, X, y, w):
        return tuple(None if t is None else t.to(self.store) for t in (X, y, w))

    def _epoch_columns_and_order(self):
        if self.sampler is None:
            return self._columns, None
        if isinstance(self.sampler, ImblearnSampler):
            seed = int(torch.randint(2**31 - 1, (1,), generator=self.generator, device=self.store))
            X, y, w = self.sampler.resample(*self._host, seed=seed)
            columns = self._place(
                as_rows(X), torch.from_numpy(y),
                None if w is None else torch.from_numpy(np.asarray(w, dtype=np.float32)),
            )
            order = torch.randperm(len(y), generator=self.generator, device=self.store)
            return columns, order
        order = self.sampler.epoch_indices(self.epoch, self.batch_size, self.generator)
        return self._columns, order

    def __iter__(self):
        (X, y, w), order = self._epoch_columns_and_order()
        self.epoch += 1
        n = len(X) if order is None else len(order)
        copy = self.store != self.device
        for start in range(0, n, self.batch_size):
            if order is None:
                part = slice(start, start + self.batch_size)
            else:
                part = order[start:start + self.batch_size]
            columns = (None if t is None else t[part] for t in (X, y, w))
            if copy:
                pin = self.device.type == "cuda"
                columns = (None if t is None else
                           (t.pin_memory() if pin else t).to(self.device, non_blocking=True)
                           for t in columns)
            yield _batch(*columns)



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
    first_epoch : int, default=0
        Epoch number of the first iteration (continued fits go on counting).
    """

    def __init__(self, sampler, batch_size, generator, first_epoch=0):
        self.sampler = sampler
        self.batch_size = batch_size
        self.generator = generator
        self.epoch = first_epoch

    def __iter__(self):
        order = self.sampler.epoch_indices(self.epoch, self.batch_size, self.generator)
        self.epoch += 1
        return iter(order.tolist())
