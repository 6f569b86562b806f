"""The table front every built-in network builds on: its parameters, fitted on the training rows."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .categorical import CategoricalEncoding, check_categorical_parameters
from .column_front import ColumnFront, check_column_front_parameters
from .embeddings import check_num_embeddings, embeddings_on_bins, tree_bins
from .fitted_front import FittedFront
from .front import (as_tensor, categorical_encoding, check_scaling, many_valued_columns,
                    needs_rows)
from .layout import ColumnLayout
from .scaling import SmoothClipScaler

__all__ = ["TableFront"]

#: Which numeric columns the numeric embeddings take (a network's ``embeds`` declaration).
EMBEDS = ("all", "many_valued")


class TableFront(FittedFront):
    """What a built-in network fits on the training rows before training, and builds on.

    The front's pipeline, in order: a raw table's :class:`ColumnFront`
    (missing numbers filled, with indicators; codes mapped to levels), the
    scaler of the numeric block (:class:`SmoothClipScaler`), and the bins
    its numeric embeddings are cut on. Fitting draws nothing from torch's
    random generator; the modules with random initial weights (the numeric
    embeddings, the categorical encoding) are built from the fitted front
    by :meth:`numeric_embeddings` and :meth:`categorical_encoding`, when
    the network is built. A network takes the front's modules with
    :meth:`attach`.

    The keyword parameters are the front's ``module__*`` parameters (the
    names in :attr:`PARAMETERS`); a network takes those it lists in its
    constructor, with its own defaults.

    Parameters
    ----------
    n_features : int
        Width of the matrix the network gets.
    columns : ColumnLayout, optional
        Which of its columns are numbers and which are category codes (a raw
        table's); None: all numbers, passed on as they are.
    scaling : {"robust", None}, default="robust"
        :class:`SmoothClipScaler` on the numeric block, or none.
    num_embeddings : {"ple", "periodic", None}, default=None
        Numeric embeddings (``"ple"``: piecewise-linear on bins cut by a tree
        on the labels; ``"periodic"``), or none.
    d_embedding : int, default=16
    n_bins : int, default=48
        Most bins per feature for ``"ple"``.
    categorical_features : "from_dtype", list, boolean mask or None, default="from_dtype"
        Which columns of a raw table are categorical: read when the table's
        columns are typed, before any split
        (:func:`~skimb.networks.front.fit_table_columns`); recorded here.
    max_one_hot : int, default=16
        Categorical columns with at most this many levels are one-hot
        encoded, the others embedded (:class:`CategoricalEncoding`).
    d_cat_embedding : int, default=8
    min_level_count : int, default=3
        Fewest training rows a category needs to get a level of its own.
    missing_fill : {"median", "learned"}, default="median"
    datetime_trend : bool, default=False
    embed : {"all", "many_valued"}, default="all"
        Which numeric columns the numeric embeddings take: all, or those with
        more than two values on the training rows. Set by the network (its
        ``embeds`` declaration); not a ``module__*`` parameter.

    Attributes
    ----------
    params : dict
        The front's ``module__*`` parameters, as given (:attr:`PARAMETERS`).
    columns : ColumnFront or None
    scaler : SmoothClipScaler, nn.Identity or None
        None when the front passes no numeric column on.
    n_numbers : int
        Numeric columns out of the column front (missing indicators included).
    embedded_columns : list of int
        The numeric columns :meth:`numeric_embeddings` embeds (empty without
        numeric embeddings).
    bins : list of 1-D tensors or None
        The ``"ple"`` bins cut on the training rows (None: even bins).

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.networks import TableFront
    >>> X = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    >>> front = TableFront(3, num_embeddings="ple", d_embedding=4).fit(X, (X[:, 0] > 0).astype(int))
    >>> front.fitted, front.n_numbers, front.numeric_embeddings()(torch.zeros(2, 3)).shape
    (True, 3, torch.Size([2, 3, 4]))
    """

    #: The front's ``module__*`` parameters.
    PARAMETERS: ClassVar[tuple[str, ...]] = (
        "scaling", "num_embeddings", "d_embedding", "n_bins", "categorical_features",
        "max_one_hot", "d_cat_embedding", "min_level_count", "missing_fill", "datetime_trend")

    def __init__(self, n_features: int, columns: ColumnLayout | None = None, *,
                 scaling: str | None = "robust", num_embeddings: str | None = None,
                 d_embedding: int = 16, n_bins: int = 48, categorical_features="from_dtype",
                 max_one_hot: int = 16, d_cat_embedding: int = 8, min_level_count: int = 3,
                 missing_fill: str = "median", datetime_trend: bool = False,
                 embed: str = "all"):
        super().__init__()
        check_column_front_parameters(min_level_count, missing_fill, datetime_trend)
        check_scaling(scaling)
        check_num_embeddings(num_embeddings, d_embedding, n_bins)
        check_categorical_parameters(max_one_hot, d_cat_embedding)
        if embed not in EMBEDS:
            raise ValueError(f"embed must be one of {EMBEDS}, got {embed!r}.")
        self.n_features = int(n_features)
        self.params = dict(
            scaling=scaling, num_embeddings=num_embeddings, d_embedding=d_embedding,
            n_bins=n_bins, categorical_features=categorical_features, max_one_hot=max_one_hot,
            d_cat_embedding=d_cat_embedding, min_level_count=min_level_count,
            missing_fill=missing_fill, datetime_trend=datetime_trend)
        self.embed = embed
        self.columns = None if columns is None else ColumnFront(
            columns, min_level_count=min_level_count, missing_fill=missing_fill,
            datetime_trend=datetime_trend)
        self._numbers(self.n_features if columns is None else self.columns.width)

    def _numbers(self, n_numbers: int) -> None:
        """An unfitted scaler of the numeric block's width; every column embedded, on even
        bins."""
        self.n_numbers = n_numbers
        scaling = self.params["scaling"]
        self.scaler = (None if n_numbers == 0 else nn.Identity() if scaling is None
                       else SmoothClipScaler(n_numbers))
        embeds = self.params["num_embeddings"] is not None and n_numbers > 0
        self.embedded_columns = list(range(n_numbers)) if embeds else []
        self.bins = None

    @property
    def discrete_columns(self) -> tuple[int, ...]:
        """Input columns holding category codes (augmentations never interpolate them)."""
        return () if self.columns is None else self.columns.layout.categorical

    @property
    def needs_rows(self) -> bool:
        """Whether fitting sets statistics from rows (robust scaling or ``"ple"`` bins)."""
        return needs_rows(self.params["scaling"], self.params["num_embeddings"])

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> TableFront:
        """Fit the column front, the scaler and the bins on the training rows ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The training rows (NaN where a value of a raw table is missing).
        y : ndarray of shape (n_samples,), optional
            Their class indices, on which ``"ple"`` cuts its bins (without
            them the bins are even).

        Returns
        -------
        self : TableFront
        """
        numbers = X
        if self.columns is not None:
            self.columns.fit(X)
            with torch.no_grad():
                numbers, _ = self.columns(as_tensor(X))
            numbers = numbers.numpy()
        self._numbers(self.n_numbers if self.columns is None else self.columns.width)
        scaled = numbers
        if isinstance(self.scaler, SmoothClipScaler):
            self.scaler.fit(numbers)
            scaled = self.scaler(as_tensor(numbers)).numpy()
        if self.embedded_columns and self.embed == "many_valued":
            self.embedded_columns = many_valued_columns(numbers)
        if self.embedded_columns and self.params["num_embeddings"] == "ple" and y is not None:
            if self.embed == "many_valued":
                scaled = scaled[:, self.embedded_columns]
            self.bins = tree_bins(scaled, y, int(self.params["n_bins"]))
        self.fitted = True
        return self

    def numeric_embeddings(self) -> nn.Module | None:
        """The numeric embeddings of :attr:`embedded_columns`, on the fitted bins; their
        weights are drawn now. None without numeric embeddings or a column to embed."""
        if not self.embedded_columns:
            return None
        return embeddings_on_bins(self.params["num_embeddings"], len(self.embedded_columns),
                                  self.bins, d_embedding=self.params["d_embedding"],
                                  n_bins=self.params["n_bins"])

    def categorical_encoding(self) -> CategoricalEncoding | None:
        """One-hot or embedded levels of the categorical columns (None without any); the
        embeddings' weights are drawn now."""
        return categorical_encoding(self.columns, self.params["max_one_hot"],
                                    self.params["d_cat_embedding"])

    def attach(self, network: nn.Module) -> None:
        """Give ``network`` the front's modules and what it records of the front.

        Sets ``network.columns`` (the column front or None), ``network.scaler``
        (the scaler, or None without a numeric column), ``network.discrete_columns``
        and ``network.front_fitted`` (False when the front needs rows it was not
        fitted on: a network constructed directly, without ``X_train``).
        """
        network.columns = self.columns
        network.scaler = self.scaler
        #: Input columns holding category codes (augmentations never interpolate them).
        network.discrete_columns = self.discrete_columns
        network.front_fitted = self.fitted or not self.needs_rows

    def front_state(self) -> dict:
        return {"n_numbers": self.n_numbers, "embedded_columns": list(self.embedded_columns),
                "bins": None if self.bins is None else [edges.tolist() for edges in self.bins]}

    def load_front_state(self, state: dict) -> None:
        self.n_numbers = int(state["n_numbers"])
        self.embedded_columns = list(state["embedded_columns"])
        self.bins = None if state["bins"] is None else [torch.tensor(edges, dtype=torch.float32)
                                                        for edges in state["bins"]]

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, n_numbers={self.n_numbers}"
