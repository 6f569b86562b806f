"""``augment="smote"``: SMOTE on the fly (Chawla et al. 2002), partners gathered on the device."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from .._data import SparseRows
from .._inputs.kinds import RAW_COLUMNS, TABLE, TENSOR
from ._base import Augmentation, _rows

__all__ = ["SmoteOnTheFly", "same_class_neighbours"]


def same_class_neighbours(X: np.ndarray, y: np.ndarray, classes, k: int):
    """The ``k`` nearest neighbours of every row of ``classes`` among its class's rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
        Class of every row.
    classes : iterable of int
        The classes whose rows get neighbours; a class with one row gets none.
    k : int

    Returns
    -------
    rows : ndarray of int64
        The rows that have neighbours, in increasing order.
    neighbours : ndarray of shape (len(rows), k), int64
        Row positions in ``X``; a row of a class with fewer than ``k + 1`` rows
        has ``n - 1`` of them, the rest of its entries are -1. Never the row
        itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.augment.smote import same_class_neighbours
    >>> X = np.array([[0.0], [1.0], [3.0], [10.0], [0.5]])
    >>> y = np.array([0, 0, 0, 1, 1])
    >>> rows, nb = same_class_neighbours(X, y, classes=[0, 1], k=1)
    >>> rows.tolist(), nb.ravel().tolist()
    ([0, 1, 2, 3, 4], [1, 0, 1, 4, 3])
    """
    rows, tables = [], []
    for c in classes:
        members = np.flatnonzero(y == c)
        if len(members) < 2:
            continue
        k_c = min(k, len(members) - 1)
        found = NearestNeighbors(n_neighbors=k_c + 1).fit(X[members]).kneighbors(
            X[members], return_distance=False)
        # drop the row itself (an exact duplicate may come first, so not simply column 0)
        not_self = found != np.arange(len(members))[:, None]
        order = np.argsort(~not_self, axis=1, kind="stable")[:, :k_c]
        table = np.full((len(members), k), -1, dtype=np.int64)
        table[:, :k_c] = members[np.take_along_axis(found, order, axis=1)]
        rows.append(members)
        tables.append(table)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, k), dtype=np.int64)
    rows, tables = np.concatenate(rows), np.concatenate(tables)
    order = np.argsort(rows)
    return rows[order], tables[order]


class SmoteOnTheFly(Augmentation):
    """SMOTE on the fly: a chosen row moves towards one of its class's k nearest rows.

    Chawla, Bowyer, Hall and Kegelmeyer, "SMOTE: Synthetic Minority
    Over-sampling Technique", JAIR 2002. The ``k_neighbors`` nearest rows of
    the same class are found once per training call among the training rows
    (Euclidean distance in the input space, as SMOTE and imbalanced-learn
    do; an image's pixels are its features), for the classes that may be
    augmented. Every epoch, a chosen row ``x`` of class ``c`` takes one of
    its neighbours ``x_nn`` at random and becomes ``x + u (x_nn - x)``,
    ``u ~ U(0, 1)``: a point on the segment between them, gathered on the
    training device. Its label and weight stay. A class with a single
    training row is left unchanged. A table's code columns take the value
    of the end of the segment nearer to the new row.

    Combined with ``sampler="over"`` and the default ``rate="rarity"``, every
    class is drawn as often as the largest and a share ``1 - n_c / n_max`` of
    its rows are new synthetic ones every epoch: imbalanced-learn's SMOTE,
    but with fresh points each epoch and nothing stored.

    It needs each batch row's position among the training rows, so it works
    with the index samplers on in-memory rows (arrays, DataFrames, tensors),
    not with an imbalanced-learn sampler (whose rows are resampled) nor a
    ``Dataset``; and with single-label targets only. Integer inputs (ids,
    which must not be interpolated) are refused with a ``ValueError``.

    Parameters
    ----------
    k_neighbors : int, default=5
    rate : float in [0, 1] or "rarity", default="rarity"
    classes : str or list, default="all"
        Which rows are replaced by a synthetic one, by class (see
        :class:`Augmentation`).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = ImbalancedTorchClassifier(sampler="over", augment="smote", max_epochs=3,
    ...                                 random_state=0).fit(X, y)
    >>> clf.augment_.class_rates_.tolist()[0]
    0.0
    """

    name = "smote"
    accepts = frozenset({TABLE, RAW_COLUMNS, TENSOR})
    needs_rows = True
    supports_multilabel = False

    def __init__(self, k_neighbors: int = 5, rate: float | str = "rarity", classes="all"):
        super().__init__(rate=rate, classes=classes)
        self.k_neighbors = k_neighbors

    def _check_params(self):
        super()._check_params()
        k = self.k_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"SmoteOnTheFly: k_neighbors must be an integer >= 1, got {k!r}.")

    def _fit(self, context):
        X = context.train_columns[0]
        X = torch.from_numpy(X.to_scipy().toarray()) if isinstance(X, SparseRows) else X
        X = self._as_batch(X)
        if not X.is_floating_point():
            raise ValueError(
                f"augment='smote' interpolates between rows, and X holds integers "
                f"({str(X.dtype).removeprefix('torch.')}, kept as ids, e.g. for an "
                "nn.Embedding): cast X to float32 if its values are numbers, or use "
                "augment='mixup' or 'noise', which leave integer inputs as they are.")
        flat = X.reshape(len(X), -1).numpy()
        row_classes, weighted = np.asarray(context.sampling_classes), context.weighted_rows
        if weighted is not None:  # a row of weight 0: no neighbour, never moved
            row_classes = np.where(weighted, row_classes, -1)
        if np.isnan(flat).any():  # distances of a raw table: a missing value at its median
            median = np.nanmedian(flat if weighted is None else flat[weighted], axis=0)
            flat = np.where(np.isnan(flat), np.nan_to_num(median), flat)
        classes = torch.nonzero(self.class_rates_ > 0).flatten().tolist()
        rows, neighbours = same_class_neighbours(flat, row_classes, classes,
                                                 int(self.k_neighbors))
        pool_index = np.full(len(flat), -1, dtype=np.int64)
        pool_index[rows] = np.arange(len(rows))
        in_pool = np.where(neighbours >= 0, pool_index[np.maximum(neighbours, 0)], -1)
        self.pool_ = X[torch.from_numpy(rows)].float().to(self.device_)
        self.pool_index_ = torch.from_numpy(pool_index).to(self.device_)
        self.neighbours_ = torch.from_numpy(in_pool).to(self.device_)
        self.n_neighbours_ = (self.neighbours_ >= 0).sum(dim=1)

    def release(self):
        """Drop the neighbour table and the pooled rows, as well as the generators."""
        super().release()
        for name in ("pool_", "pool_index_", "neighbours_", "n_neighbours_"):
            vars(self).pop(name, None)

    def augment(self, X, y, sample_weight, chosen, rows):
        if rows is None:
            raise ValueError("SmoteOnTheFly needs the batch rows' positions among the "
                             "training rows, which this training path does not give.")
        if not len(self.pool_):  # no class it may augment has two training rows
            return X, y, sample_weight
        position = self.pool_index_[rows.to(self.device_)]
        safe = position.clamp_min(0)
        count = torch.where(position >= 0, self.n_neighbours_[safe], 0)
        chosen = count > 0 if chosen is None else chosen & (count > 0)
        pick = (torch.rand(len(y), generator=self.generator_, device=self.device_)
                * count).long().clamp_max((count - 1).clamp_min(0))
        partner = self.pool_[self.neighbours_[safe, pick].clamp_min(0)].reshape(X.shape)
        gap = torch.rand(len(y), generator=self.generator_, device=self.device_)
        gap = torch.where(chosen, gap, 0.0)
        moved = X + _rows(gap, X).to(X.dtype) * (partner - X)
        if self.discrete_columns_.numel() and X.ndim == 2:
            nearer_partner = (gap >= 0.5)[:, None]
            moved[:, self.discrete_columns_] = torch.where(
                nearer_partner, partner[:, self.discrete_columns_], X[:, self.discrete_columns_])
        return moved, y, sample_weight
