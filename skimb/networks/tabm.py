"""``module="tabm"``: TabM, an efficient ensemble of k MLPs (Gorishniy et al., ICLR 2025)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tabm import TabM

from ._base import RAW_COLUMNS, TABLE, Network
from .front import ColumnLayout, TableFront
from .layers import check_dropout, check_hidden_units

__all__ = ["TabMNetwork"]


class TabMNetwork(Network):
    """TabM from the authors' ``tabm`` package, behind the fitted front.

    ``k`` BatchEnsemble members share most weights and see the same rows; the
    output is ``(batch, k, n_outputs)``, one row of logits per member. The
    classifier trains on the mean of the members' losses and predicts the
    mean of their probabilities. Missing values' fills and indicators,
    categories' levels, scaling statistics and embedding bins are fitted on
    the training portion of every fit. A raw table's categorical columns are
    one-hot encoded by TabM itself, as in its paper, whatever their number
    of levels.

    Parameters
    ----------
    n_features, n_outputs : int
    k : int, default=8
        Ensemble members (the paper uses 32; see the user guide for the cost).
    hidden_units : sequence of int, default=(256, 256)
        Width of each block, all equal (TabM's blocks share one width); its
        length is the depth.
    dropout : float, default=0.1
    scaling : {"robust", None}, default="robust"
    num_embeddings : {"ple", "periodic", None}, default="ple"
    d_embedding : int, default=16
    n_bins : int, default=48
    categorical_features : "from_dtype", list, boolean mask or None, default="from_dtype"
        Which columns of a raw table are categorical (read when the
        classifier encodes the table's columns; see :class:`MLPNetwork`).
    min_level_count : int, default=3
        Fewest training rows a category needs to get a level of its own.
    missing_fill : {"median", "learned"}, default="median"
        A missing number's fill: its column's median on the training rows,
        or a parameter starting there and trained with the network.
    datetime_trend : bool, default=False
        Also feed a datetime column's linear time (years); by default only
        its cyclic time of day and day of year.
    columns : ColumnLayout, optional
        Which input columns are numbers and which are category codes (the
        classifier passes it for every table).
    X_train, y_train : ndarray, optional
        The training rows and their class indices (the classifier passes them).
    front : TableFront, optional
        A fitted front to build on (see :meth:`Network.from_front`), instead
        of one fitted on ``X_train``; its parameters replace the front's
        parameters above (``scaling`` to ``datetime_trend``).

    Examples
    --------
    >>> import torch
    >>> from skimb.networks import TabMNetwork
    >>> net = TabMNetwork(3, 2, k=4, hidden_units=(16, 16), num_embeddings=None)
    >>> net(torch.zeros(5, 3)).shape
    torch.Size([5, 4, 2])
    """

    name = "tabm"
    accepts = frozenset({TABLE, RAW_COLUMNS})
    cosine_head = False
    ensemble = True

    def __init__(self, n_features: int, n_outputs: int, *, k: int = 8,
                 hidden_units: Sequence[int] = (256, 256), dropout: float = 0.1,
                 scaling: str | None = "robust", num_embeddings: str | None = "ple",
                 d_embedding: int = 16, n_bins: int = 48,
                 categorical_features="from_dtype", min_level_count: int = 3,
                 missing_fill: str = "median", datetime_trend: bool = False,
                 columns: ColumnLayout | None = None,
                 X_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                 front: TableFront | None = None):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"module__k must be a positive integer, got {k!r}.")
        units = check_hidden_units(hidden_units)
        if len(set(units)) != 1:
            raise ValueError(f"module='tabm' needs blocks of one width; module__hidden_units={units!r}.")
        front = self.table_front(
            front, n_features, columns, X_train, y_train, scaling=scaling,
            num_embeddings=num_embeddings, d_embedding=d_embedding, n_bins=n_bins,
            categorical_features=categorical_features, min_level_count=min_level_count,
            missing_fill=missing_fill, datetime_trend=datetime_trend)
        front.attach(self)
        embeddings = front.numeric_embeddings()
        cardinalities = [] if front.columns is None else front.columns.n_levels
        self.tabm = TabM.make(n_num_features=front.n_numbers,
                              cat_cardinalities=cardinalities or None, d_out=n_outputs,
                              num_embeddings=embeddings, k=int(k), n_blocks=len(units),
                              d_block=units[0], dropout=check_dropout(dropout))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        levels = None
        if self.columns is not None:
            X, levels = self.columns(X)
            levels = levels if levels.shape[1] else None
        return self.tabm(None if self.scaler is None else self.scaler(X), levels)
