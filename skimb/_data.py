"""In-memory training data as one torch Dataset: features, encoded labels, weights."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import Dataset, Subset


class SparseRows:
    """Rows of a CSR matrix, kept sparse, that index into dense float32 batches.

    The matrix is held as three dense tensors (row pointers, column indices,
    values) on whatever device :meth:`to` moves it to, so a batch is gathered
    and densified there: ``rows[part]`` (``part`` a slice or a 1-D index
    tensor) returns a dense ``(len(part), n_features)`` tensor. The gather
    reads at most ``max_row_nnz`` entries per row, without waiting for the
    device. :meth:`select` returns the sparse subset of some rows.

    Parameters
    ----------
    indptr, indices, values : torch.Tensor
        CSR components (int64, int64, float32).
    n_features : int
    max_row_nnz : int
        The most stored entries any row holds.

    Examples
    --------
    >>> import scipy.sparse as sp, torch
    >>> rows = SparseRows.from_scipy(sp.csr_matrix([[0, 2.0, 0], [1.0, 0, 3.0]]))
    >>> rows[torch.tensor([1, 0])].tolist()
    [[1.0, 0.0, 3.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, indptr, indices, values, n_features: int, max_row_nnz: int):
        self.indptr, self.indices, self.values = indptr, indices, values
        self.n_features = n_features
        self.max_row_nnz = max_row_nnz

    @classmethod
    def from_scipy(cls, X) -> SparseRows:
        """From a scipy sparse matrix or array (copied: later edits of ``X`` don't leak in)."""
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        X.sum_duplicates()
        lengths = np.diff(X.indptr)
        return cls(torch.from_numpy(X.indptr.astype(np.int64)),
                   torch.from_numpy(X.indices.astype(np.int64)),
                   torch.from_numpy(X.data), X.shape[1],
                   int(lengths.max()) if len(lengths) else 0)

    @property
    def shape(self):
        return (len(self), self.n_features)

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in (self.indptr, self.indices, self.values))

    def __len__(self):
        return len(self.indptr) - 1

    def to(self, device, non_blocking=False) -> SparseRows:
        move = lambda t: t.to(device, non_blocking=non_blocking)  # noqa: E731
        return SparseRows(move(self.indptr), move(self.indices), move(self.values),
                          self.n_features, self.max_row_nnz)

    def _positions(self, rows):
        """Entry positions of ``rows`` padded to ``max_row_nnz``, and which are real."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        offsets = torch.arange(self.max_row_nnz, device=starts.device)
        real = offsets < lengths[:, None]
        positions = (starts[:, None] + offsets).clamp_(max=max(len(self.values) - 1, 0))
        return positions, real

    def _rows(self, part):
        if isinstance(part, slice):
            return torch.arange(*part.indices(len(self)), device=self.indptr.device)
        return torch.as_tensor(part, dtype=torch.long, device=self.indptr.device)

    def __getitem__(self, part) -> torch.Tensor:
        scalar = isinstance(part, (int, np.integer))
        rows = self._rows([part] if scalar else part)
        dense = torch.zeros((len(rows), self.n_features), dtype=self.values.dtype,
                            device=self.values.device)
        if self.max_row_nnz and len(self.values):
            positions, real = self._positions(rows)
            batch_rows = torch.arange(len(rows), device=rows.device)[:, None].expand_as(positions)
            values = torch.where(real, self.values[positions], 0.0)
            # padding adds 0.0 at column indices[positions]: exact, whatever the order
            dense.index_put_((batch_rows, self.indices[positions]), values, accumulate=True)
        return dense[0] if scalar else dense

    def select(self, rows) -> SparseRows:
        """The sparse matrix of ``rows`` only, in that order."""
        rows = self._rows(rows)
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        indptr = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
        # The exact entries, not padded to max_row_nnz: one long row must not make the
        # selection of many rows cost rows x max_row_nnz.
        owner = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), lengths)
        keep = starts[owner] + torch.arange(len(owner), device=rows.device) - indptr[owner]
        return SparseRows(indptr, self.indices[keep], self.values[keep], self.n_features,
                          int(lengths.max()) if len(lengths) else 0)

    def to_scipy(self):
        """The rows as a scipy CSR matrix (host memory)."""
        return sp.csr_matrix((self.values.cpu().numpy(), self.indices.cpu().numpy(),
                              self.indptr.cpu().numpy()), shape=self.shape)


def as_rows(X):
    """Features for :class:`TensorTable`: a tensor, :class:`SparseRows`, or a dict of them
    (one per ``forward`` argument)."""
    if isinstance(X, dict):
        return {key: as_rows(value) for key, value in X.items()}
    if isinstance(X, (SparseRows, torch.Tensor)):
        return X
    if sp.issparse(X):
        return SparseRows.from_scipy(X)
    return torch.from_numpy(X)


def map_features(fn, X):
    """``fn`` applied to every feature column of ``X``: a tensor or SparseRows, or each
    value of a dict of them (the batch container of several inputs).

    Examples
    --------
    >>> import torch
    >>> from skimb._data import map_features
    >>> X = {"image": torch.zeros(4, 1, 2, 2), "codes": torch.arange(4)}
    >>> {k: tuple(v.shape) for k, v in map_features(lambda t: t[:2], X).items()}
    {'image': (2, 1, 2, 2), 'codes': (2,)}
    """
    if isinstance(X, dict):
        return {key: fn(value) for key, value in X.items()}
    return fn(X)


def feature_leaves(X) -> list:
    """The feature columns of ``X`` (one, or each value of a dict)."""
    return list(X.values()) if isinstance(X, dict) else [X]


def _select(column, rows):
    return column.select(rows) if isinstance(column, SparseRows) else column[rows]


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
    X : ndarray of shape (n_samples, ...), SparseRows, or a dict of them
        Sparse features stay sparse; batches come out dense. A dict holds one
        column per ``forward`` argument, all with the same rows.
    y : ndarray of shape (n_samples,) or (n_samples, n_labels), optional
        Encoded class indices (kept as int64) or a multi-label 0/1 indicator
        matrix (kept as float32).
    sample_weight : ndarray of shape (n_samples,), optional
    """

    def __init__(self, X: np.ndarray, y=None, sample_weight=None):
        self.X = as_rows(X)
        if y is not None:
            y = np.asarray(y, dtype=np.float32 if np.ndim(y) == 2 else np.int64)
        self.y = None if y is None else torch.from_numpy(y)
        self.sample_weight = (
            None
            if sample_weight is None
            else torch.from_numpy(np.asarray(sample_weight, dtype=np.float32))
        )

    @classmethod
    def from_columns(cls, X, y, sample_weight) -> TensorTable:
        """A table of columns already converted (as :meth:`take` returns them), not copied."""
        table = cls.__new__(cls)
        table.X, table.y, table.sample_weight = X, y, sample_weight
        return table

    def __len__(self):
        return len(feature_leaves(self.X)[0])

    def __getitem__(self, i):
        y = torch.zeros((), dtype=torch.long) if self.y is None else self.y[i]
        x = map_features(lambda column: column[i], self.X)
        if self.sample_weight is None:
            return x, y
        return x, WeightedTarget(y, self.sample_weight[i])

    def take(self, rows=None):
        """Columns ``(X, y, sample_weight)`` restricted to ``rows`` (all if None)."""
        if rows is None:
            return self.X, self.y, self.sample_weight
        rows = torch.as_tensor(rows, dtype=torch.long)
        pick = lambda t: None if t is None else t[rows]  # noqa: E731
        X = map_features(lambda column: _select(column, rows), self.X)
        return X, pick(self.y), pick(self.sample_weight)


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
