"""torch Datasets as ``X``: their labels, and their items with skimb's encoded labels.

A torch ``Dataset`` (or skorch's ``SliceDataset``) is wrapped so its items
come out as ``(x, encoded label)`` and can carry sample weights.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.helper import SliceDataset
from skorch.utils import data_from_dataset, to_numpy
from torch.utils.data import Dataset, Subset

from .._data import WeightedTarget

__all__ = ["dataset_labels", "LabeledDataset", "UnlabeledItems"]


def _unpacks(dataset) -> bool:
    """Whether items are ``(x, ...)`` to unpack; a SliceDataset already yields (transformed)
    inputs alone."""
    return not isinstance(dataset, SliceDataset)


def dataset_labels(dataset) -> np.ndarray | None:
    """The labels a Dataset carries, or None.

    Read from a ``targets`` attribute (torchvision's convention), from a
    ``TensorDataset`` or skorch ``Dataset`` (their second tensor), and through
    a ``Subset`` or skorch ``SliceDataset`` of either.
    """
    if isinstance(dataset, SliceDataset):
        labels = dataset_labels(dataset.dataset)
        return None if labels is None else labels[np.asarray(dataset.indices_)]
    if isinstance(dataset, Subset):
        labels = dataset_labels(dataset.dataset)
        return None if labels is None else labels[np.asarray(dataset.indices)]
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return to_numpy(targets) if isinstance(targets, torch.Tensor) else np.asarray(targets)
    try:
        labels = data_from_dataset(dataset)[1]
    except AttributeError:
        return None
    return None if labels is None else to_numpy(labels)


class LabeledDataset(Dataset):
    """A user's Dataset whose items come out as ``(x, y)`` with skimb's encoded labels.

    Parameters
    ----------
    dataset : Dataset or SliceDataset
        Items ``x``, ``(x, ...)`` (the first element is the input) or dicts.
    y : ndarray
        Encoded labels (class indices or indicator rows), one per item.
    sample_weight : ndarray, optional
        Then the target is ``WeightedTarget(y, w)``.
    """

    def __init__(self, dataset, y, sample_weight=None):
        self.dataset, self.unpack = dataset, _unpacks(dataset)
        self.y = torch.from_numpy(np.asarray(y, dtype=np.float32 if np.ndim(y) == 2
                                             else np.int64))
        self.sample_weight = (None if sample_weight is None else
                              torch.from_numpy(np.asarray(sample_weight, dtype=np.float32)))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = _input_of(self.dataset[i], self.unpack)
        if self.sample_weight is None:
            return x, self.y[i]
        return x, WeightedTarget(self.y[i], self.sample_weight[i])


class UnlabeledItems(Dataset):
    """A Dataset for prediction: items ``x`` or ``(x, y)`` come out as ``(x, 0)``."""

    def __init__(self, dataset):
        self.dataset, self.unpack = dataset, _unpacks(dataset)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return _input_of(self.dataset[i], self.unpack), 0


def _input_of(item, unpack):
    return item[0] if unpack and isinstance(item, (tuple, list)) else item
