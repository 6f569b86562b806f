"""Numeric feature embeddings from ``rtdl_num_embeddings`` (Gorishniy et al., NeurIPS 2022).

``"ple"``: piecewise-linear embeddings on bins cut by one decision tree per
feature on the training labels; ``"periodic"``: learned periodic embeddings.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from rtdl_num_embeddings import PeriodicEmbeddings, PiecewiseLinearEmbeddings, compute_bins
from torch import nn

__all__ = ["NUM_EMBEDDINGS", "check_num_embeddings", "embeddings_on_bins", "make_num_embeddings",
           "tree_bins"]

NUM_EMBEDDINGS = ("ple", "periodic", None)

_ONE_BIN = "just two bin edges"

#: Bound on the piecewise-linear encoding and its linear term: far beyond any value the
#: training rows give (a bin's coordinate is at most 1 inside the bins), low enough that the
#: layers after it stay finite for a value far outside the bins (a column without scaling).
SATURATION = 1e20


def tree_bins(X: np.ndarray, y: np.ndarray, n_bins: int = 48,
              min_samples_leaf: int = 64) -> list[torch.Tensor]:
    """Bin edges per feature, cut by a decision tree on the labels.

    Wraps :func:`rtdl_num_embeddings.compute_bins` so every column gets bins:
    constant columns (which it rejects) and columns the tree does not split
    get one bin spanning their range (±1 around a constant).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training rows (already scaled).
    y : ndarray of shape (n_samples,)
        Class index of each row.
    n_bins : int, default=48
        Most bins per feature (leaves of each tree).
    min_samples_leaf : int, default=64
        Fewest training rows per bin, capped at half the rarest class (so a
        rare class can have bins of its own) and for small tables.

    Returns
    -------
    bins : list of 1-D float32 tensors, one per feature, sorted, at least two edges

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.networks.front.embeddings import tree_bins
    >>> X = np.c_[np.linspace(0, 1, 200), np.ones(200)].astype(np.float32)
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> [b.tolist() for b in tree_bins(X, y, min_samples_leaf=10)]
    [[0.0, 0.5, 1.0], [0.0, 2.0]]
    """
    X = np.asarray(X, dtype=np.float32)
    low, high = X.min(axis=0), X.max(axis=0)
    bins = [torch.tensor([v - 1.0, v + 1.0]) for v in low.tolist()]
    varying = np.flatnonzero(high > low)
    n_bins = min(n_bins, len(X) - 1)
    if len(varying) and n_bins >= 2:
        rarest = np.unique(np.asarray(y), return_counts=True)[1].min()
        leaf = max(1, min(min_samples_leaf, len(X) // (2 * n_bins), rarest // 2))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f".*{_ONE_BIN}.*")
            cut = compute_bins(torch.from_numpy(np.ascontiguousarray(X[:, varying])), n_bins,
                               tree_kwargs={"min_samples_leaf": leaf, "min_impurity_decrease": 1e-4,
                                            "random_state": 0},
                               y=torch.as_tensor(np.asarray(y)), regression=False)
        for column, edges in zip(varying.tolist(), cut):
            bins[column] = edges
    elif len(varying):
        for column in varying.tolist():
            bins[column] = torch.tensor([low[column], high[column]])
    return [edges.float() for edges in bins]


def make_num_embeddings(kind, n_features: int, *, X=None, y=None, d_embedding: int = 16,
                        n_bins: int = 48) -> nn.Module | None:
    """Build the numeric embeddings named ``kind``, fitted on ``(X, y)`` where needed.

    Parameters
    ----------
    kind : {"ple", "periodic", None}
    n_features : int
    X, y : ndarray, optional
        Training rows (scaled) and class indices, on which ``"ple"`` cuts its
        bins; without them (an unfitted network) the bins split [-3, 3], the
        range of the scaled features, evenly.
    d_embedding : int, default=16
    n_bins : int, default=48
        For ``"ple"``.

    Returns
    -------
    embeddings : nn.Module mapping (batch, n_features) to (batch, n_features, d_embedding), or None

    Examples
    --------
    >>> import torch
    >>> from skimb.networks.front.embeddings import make_num_embeddings
    >>> make_num_embeddings("periodic", 3, d_embedding=8)(torch.zeros(2, 3)).shape
    torch.Size([2, 3, 8])
    """
    check_num_embeddings(kind, d_embedding, n_bins)
    fitted = kind == "ple" and X is not None and y is not None
    bins = tree_bins(X, y, int(n_bins)) if fitted else None
    return embeddings_on_bins(kind, n_features, bins, d_embedding=d_embedding, n_bins=n_bins)


def embeddings_on_bins(kind, n_features: int, bins: list[torch.Tensor] | None, *,
                       d_embedding: int = 16, n_bins: int = 48) -> nn.Module | None:
    """The numeric embeddings named ``kind`` on bins already cut (their weights drawn now).

    Parameters
    ----------
    kind : {"ple", "periodic", None}
    n_features : int
    bins : list of 1-D tensors, or None
        For ``"ple"``: the edges of each feature (e.g. from :func:`tree_bins`);
        None splits [-3, 3], the range of the scaled features, evenly into
        ``n_bins`` bins.
    d_embedding : int, default=16
    n_bins : int, default=48

    Returns
    -------
    embeddings : nn.Module mapping (batch, n_features) to (batch, n_features, d_embedding), or None

    Examples
    --------
    >>> import torch
    >>> from skimb.networks.front.embeddings import embeddings_on_bins
    >>> ple = embeddings_on_bins("ple", 2, [torch.tensor([0.0, 1.0, 2.0])] * 2, d_embedding=4)
    >>> ple(torch.zeros(3, 2)).shape
    torch.Size([3, 2, 4])
    """
    if kind is None:
        return None
    if kind == "periodic":
        return PeriodicEmbeddings(n_features, int(d_embedding), lite=False)
    if bins is None:  # unfitted: even bins over the scaled range
        bins = [torch.linspace(-3.0, 3.0, int(n_bins) + 1)] * n_features
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=f".*{_ONE_BIN}.*")
        embeddings = PiecewiseLinearEmbeddings(bins, int(d_embedding), activation=False,
                                               version="B")
    # The outer bins extrapolate linearly: a value far outside them (unscaled) would overflow.
    for part in (embeddings.impl, embeddings.linear0):
        if part is not None:
            part.register_forward_hook(_saturate)
    return embeddings


def _saturate(module, inputs, output):
    """A forward hook bounding ``output`` by :data:`SATURATION` (ordinary values unchanged)."""
    return output.clamp(-SATURATION, SATURATION)


def check_num_embeddings(kind, d_embedding: int = 16, n_bins: int = 48) -> None:
    """Raise a ``ValueError`` naming the ``module__*`` parameter that is not valid.

    Examples
    --------
    >>> from skimb.networks.front.embeddings import check_num_embeddings
    >>> check_num_embeddings("ple", d_embedding=8, n_bins=16)
    """
    if kind not in NUM_EMBEDDINGS:
        raise ValueError(f"module__num_embeddings must be one of {NUM_EMBEDDINGS}, got {kind!r}.")
    if isinstance(d_embedding, bool) or not isinstance(d_embedding, (int, np.integer)) or d_embedding < 1:
        raise ValueError(f"module__d_embedding must be a positive integer, got {d_embedding!r}.")
    if kind == "ple" and (isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer))
                          or n_bins < 2):
        raise ValueError(f"module__n_bins must be an integer >= 2, got {n_bins!r}.")
