"""Inputs beyond the 2-D table: N-D arrays, dicts of arrays, and torch Datasets.

A 2-D table is checked by :func:`skimb._validation.check_features`. Here:

* N-D arrays and tensors (images ``(n, C, H, W)``, sequences ``(n, T, F)``)
  keep a signed integer dtype (int8 to int64: ids for an ``nn.Embedding``,
  passed as they are, as skorch passes them) and uint8 (4x less memory,
  converted one batch at a time by the classifier); every other number
  (bool, other unsigned, floating) becomes float32;
* a dict of arrays (skorch's convention for several inputs, ``SliceDict``
  included) is checked value by value by the same rule (a 2-D value too: it
  is a ``forward`` argument, not a table), every value with the same rows;
  its keys become ``forward`` arguments;
* a torch ``Dataset`` (or skorch's ``SliceDataset``) is wrapped so its items
  come out as ``(x, encoded label)`` and can carry sample weights.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from skorch.helper import SliceDataset
from skorch.utils import data_from_dataset, is_dataset, to_numpy
from torch.utils.data import Dataset, Subset

from ._data import WeightedTarget
from .networks import DICT, TABLE, TENSOR

__all__ = ["input_kind", "check_tensor", "check_dict", "item_shape", "check_item_shape",
           "dataset_labels", "LabeledDataset", "UnlabeledItems"]

#: ``input_kind`` of a torch Dataset (the others are the networks' input kinds).
DATASET = "dataset"


def input_kind(X) -> str:
    """``"dataset"``, ``"dict"``, ``"tensor"`` (N-D) or ``"table"`` (everything else)."""
    if is_dataset(X) or isinstance(X, SliceDataset):
        return DATASET
    if isinstance(X, dict) and not sp.issparse(X):  # scipy's dok format is a dict
        return DICT
    if isinstance(X, (np.ndarray, torch.Tensor)) and X.ndim > 2:
        return TENSOR
    return TABLE


def check_tensor(X, name: str = "X") -> np.ndarray:
    """An N-D numeric array, C-contiguous, finite; else ValueError.

    Signed integers (int8 to int64: ids) and uint8 (images) keep their dtype;
    bool, other unsigned and floating arrays become float32. A torch tensor is
    checked as the array it holds.
    """
    array = to_numpy(X) if isinstance(X, torch.Tensor) else np.asarray(X)
    if array.ndim < 1 or len(array) == 0:
        raise ValueError(f"{name} is empty: it has no rows.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers; got dtype {array.dtype}.")
    if array.dtype.kind == "i" or array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    array = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(array)
    if not finite.all():
        position = np.unravel_index(int(np.argmin(finite)), array.shape)
        raise ValueError(
            f"{name} contains NaN or infinity (or a value too large for float32), first at "
            f"index {tuple(int(i) for i in position)}.")
    return array


def check_dict(X: dict) -> dict:
    """Every value checked as a 2-D or N-D array (:func:`check_tensor`: integer ids kept),
    all with the same number of rows."""
    if not X:
        raise ValueError("X is an empty dict: it needs one array per forward argument.")
    checked = {}
    for key, value in X.items():
        if not isinstance(key, str):
            raise ValueError(f"X's keys are forward arguments, so strings; got {key!r}.")
        array = check_tensor(value, name=f"X[{key!r}]")
        checked[key] = array[:, None] if array.ndim == 1 else array
    lengths = {key: len(value) for key, value in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"X's arrays must have the same number of rows; got {lengths}.")
    return checked


def item_shape(features):
    """The shape of one row: a tuple, or ``{key: tuple}`` for a dict."""
    if isinstance(features, dict):
        return {key: tuple(value.shape[1:]) for key, value in features.items()}
    return tuple(features.shape[1:])


def check_item_shape(features, expected) -> None:
    """Raise a ValueError when rows do not have the shape the model was fitted on."""
    got = item_shape(features)
    if got != expected:
        raise ValueError(f"X has rows of shape {got}; the model was fitted on rows of "
                         f"shape {expected}.")


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
