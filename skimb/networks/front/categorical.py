"""Categorical levels as numbers: one-hot for a column with few levels, embeddings otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["CategoricalEncoding", "check_categorical_parameters"]


class CategoricalEncoding(nn.Module):
    """One-hot levels for a column with few of them, learned embeddings for the others.

    Parameters
    ----------
    n_levels : sequence of int
        Levels of each categorical column (the reserved level 0 included).
    max_one_hot : int, default=16
        Columns with at most this many levels are one-hot encoded; the
        others get an embedding of ``d_embedding`` values per level.
    d_embedding : int, default=8

    Examples
    --------
    >>> import torch
    >>> from skimb.networks import CategoricalEncoding
    >>> encoding = CategoricalEncoding([3, 40], max_one_hot=16, d_embedding=4)
    >>> encoding.width, encoding(torch.tensor([[2, 39], [0, 0]])).shape
    (7, torch.Size([2, 7]))
    """

    def __init__(self, n_levels: Sequence[int], max_one_hot: int = 16, d_embedding: int = 8):
        super().__init__()
        check_categorical_parameters(max_one_hot, d_embedding)
        n_levels = [int(n) for n in n_levels]
        one_hot = [i for i, n in enumerate(n_levels) if n <= max_one_hot]
        embedded = [i for i, n in enumerate(n_levels) if n > max_one_hot]
        # one matrix per kind, each column's levels at an offset in it: one scatter for
        # the one-hot block and one lookup for the embedded block, whatever the columns
        for kind, columns in (("one_hot", one_hot), ("embedded", embedded)):
            sizes = np.asarray([n_levels[i] for i in columns], dtype=np.int64)
            self.register_buffer(f"{kind}_columns", torch.tensor(columns, dtype=torch.long))
            self.register_buffer(f"{kind}_offsets", torch.from_numpy(
                np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else sizes))
            setattr(self, f"{kind}_width", int(sizes.sum()))
        self.embedding = (nn.Embedding(self.embedded_width, int(d_embedding)) if embedded
                          else None)
        self.width = self.one_hot_width + len(embedded) * int(d_embedding)

    def forward(self, levels: torch.Tensor) -> torch.Tensor:
        dtype = (torch.get_default_dtype() if self.embedding is None
                 else self.embedding.weight.dtype)
        encoded = levels.new_zeros((len(levels), self.one_hot_width), dtype=dtype)
        if self.one_hot_width:
            encoded.scatter_(1, levels[:, self.one_hot_columns] + self.one_hot_offsets, 1.0)
        if self.embedding is None:
            return encoded
        embedded = self.embedding(levels[:, self.embedded_columns] + self.embedded_offsets)
        return torch.cat([encoded, embedded.flatten(1)], dim=1)


def check_categorical_parameters(max_one_hot, d_cat_embedding) -> None:
    """Raise a ``ValueError`` naming ``module__max_one_hot`` or ``module__d_cat_embedding``
    when it is not valid.

    Examples
    --------
    >>> from skimb.networks.front.categorical import check_categorical_parameters
    >>> check_categorical_parameters(16, 8)
    """
    for name, value, low in (("max_one_hot", max_one_hot, 0),
                             ("d_cat_embedding", d_cat_embedding, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"module__{name} must be an integer >= {low}, got {value!r}.")
