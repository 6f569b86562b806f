"""In-memory training data as one torch Dataset: features, encoded labels, weights."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Subset


class WeightedTarget(NamedTuple):
    """A batch target that carries per-row sample weights with the labels."""

    y: torch.Tensor
    sample_weight: torch.Tensor


class TensorTable(Dataset):
    """Rows of ``X`` with their encoded labels and optional sample weights.

    Items are ``(x, y)`` or ``(x, WeightedTarget(y, w))``, so the table also
    works with a plain ``DataLoader``; the classifier's fast path instead takes
    whole columns with :meth:`take`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,) or (n_samples, n_labels), optional
        Encoded class indices (kept as int64) or a multi-label 0/1 indicator
        matrix (kept as float32).
    sample_weight : ndarray of shape (n_samples,), optional
    """

    def __init__(self, X: np.ndarray, y=None, sample_weight=None):
        self.X = torch.from_numpy(X)
        if y is not None:
            y = np.asarray(y, dtype=np.float32 if np.ndim(y) == 2 else np.int64)
        self.y = None if y is None else torch.from_numpy(y)
        self.sample_weight = (
            None
            if sample_weight is None
            else torch.from_numpy(np.asarray(sample_weight, dtype=np.float32))
        )

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        y = torch.zeros((), dtype=torch.long) if self.y is None else self.y[i]
        if self.sample_weight is None:
            return self.X[i], y
        return self.X[i], WeightedTarget(y, self.sample_weight[i])

    def take(self, rows=None):
        """Columns ``(X, y, sample_weight)`` restricted to ``rows`` (all if None)."""
        if rows is None:
            return self.X, self.y, self.sample_weight
        rows = torch.as_tensor(rows, dtype=torch.long)
        pick = lambda t: None if t is None else t[rows]  # noqa: E731
        return pick(self.X), pick(self.y), pick(self.sample_weight)


def table_and_rows(dataset):
    """``(table, rows)`` when ``dataset`` is a TensorTable or a Subset of one, else None."""
    if isinstance(dataset, TensorTable):
        return dataset, None
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorTable):
        return dataset.dataset, np.asarray(dataset.indices)
    return None


def labels_of(dataset, y_full: np.ndarray, full_dataset) -> np.ndarray:
    """Encoded labels of ``dataset``, a split of ``full_dataset`` whose labels are ``y_full``."""
    if dataset is full_dataset:
        return y_full
    if isinstance(dataset, Subset) and dataset.dataset is full_dataset:
        return y_full[np.asarray(dataset.indices)]
    raise ValueError(
        "Cannot tell which labels the training portion holds: train_split must "
        "return the data it was given or torch Subsets of it."
    )
