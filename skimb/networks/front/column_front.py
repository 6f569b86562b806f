"""A raw table's column front: missing numbers filled (with indicators), codes mapped to levels.

A raw table reaches a built-in network as a float32 matrix (see
:class:`~skimb.networks.front.TableColumns`): numeric columns with NaN where a
value is missing, and categorical columns holding the code of each value (its
position among the values the first fit saw, NaN for a missing or unseen
value), described by a :class:`~skimb.networks.ColumnLayout`.
:class:`ColumnFront` is fitted on the training rows: it fills the missing
numbers and adds their indicators, and maps every code to a *level*, which
:class:`~skimb.networks.CategoricalEncoding` then encodes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .fitted_front import FittedFront
from .layout import ColumnLayout

__all__ = ["ColumnFront", "check_column_front_parameters"]


class ColumnFront(FittedFront):
    """Missing numbers filled (with indicators) and codes mapped to levels, from training rows.

    Fitted on the training rows:

    * every numeric column gets a fill value, its median over the rows where
      it is present (0 for a column missing everywhere); the columns missing
      in at least one training row also get an indicator, 1 where the value
      was missing, appended after the numeric columns;
    * every categorical column maps each code to a level: codes seen in at
      least ``min_level_count`` training rows get levels ``1 .. L`` in code
      order; level 0 is reserved for a missing value, a value unseen at fit,
      one seen only outside the training rows (e.g. in validation rows) and
      one rarer than ``min_level_count``.

    Parameters
    ----------
    layout : ColumnLayout
    min_level_count : int, default=1
        Fewest training rows a value needs to get a level of its own.
    missing_fill : {"median", "learned"}, default="median"
        ``"learned"``: the fill values are parameters, starting at the
        medians and trained with the network.
    datetime_trend : bool, default=False
        Keep the linear time of the datetime columns (``layout.trend``). It
        is left out by default: a model predicts later rows than it was
        fitted on, where the linear time lies outside every value it trained
        on (docs/user_guide/tables.md has the measurement).

    Attributes
    ----------
    n_levels : list of int
        Levels of each categorical column, the reserved level 0 included.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skimb.networks import ColumnFront, ColumnLayout
    >>> layout = ColumnLayout((0,), (1,), (3,), ("x", "c"))
    >>> X = np.array([[1.0, 0], [np.nan, 1], [3.0, 1], [5.0, np.nan]], dtype=np.float32)
    >>> front = ColumnFront(layout, min_level_count=2).fit(X)
    >>> numbers, levels = front(torch.from_numpy(X))
    >>> numbers.tolist()  # x (NaN filled with the median 3), then x's missing indicator
    [[1.0, 0.0], [3.0, 1.0], [3.0, 0.0], [5.0, 0.0]]
    >>> levels.ravel().tolist(), front.n_levels  # code 0 is too rare, NaN is missing
    ([0, 1, 1, 0], [2])
    """

    def __init__(self, layout: ColumnLayout, min_level_count: int = 1,
                 missing_fill: str = "median", datetime_trend: bool = False):
        super().__init__()
        check_column_front_parameters(min_level_count, missing_fill, datetime_trend)
        self.missing_fill = missing_fill
        self.layout = layout
        self.min_level_count = int(min_level_count)
        #: The numeric columns the front passes on (the linear times only if asked).
        self.numeric = tuple(j for j in layout.numeric if datetime_trend or j not in layout.trend)
        n_num, cards = len(self.numeric), layout.cardinalities
        self.register_buffer("numeric_columns", torch.tensor(self.numeric, dtype=torch.long))
        self.register_buffer("categorical_columns",
                             torch.tensor(layout.categorical, dtype=torch.long))
        self.register_buffer("fill", torch.zeros(n_num))
        self.register_buffer("indicated", torch.zeros(0, dtype=torch.long))
        # codes of column i live at offsets[i] .. offsets[i] + cards[i]; the slot after
        # them takes a missing value (NaN)
        self.register_buffer("offsets", torch.tensor(
            np.concatenate([[0], np.cumsum(np.asarray(cards, dtype=np.int64) + 1)[:-1]]
                           ) if cards else [], dtype=torch.long))
        self.register_buffer("missing_slot", torch.tensor(cards, dtype=torch.long))
        self.register_buffer("level_of_code", torch.zeros(int(sum(cards)) + len(cards),
                                                          dtype=torch.long))
        self.n_levels = [1] * len(cards)

    @property
    def width(self) -> int:
        """Numeric columns out (indicators included)."""
        return len(self.numeric) + len(self.indicated)

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> ColumnFront:
        """Set the fills, indicators and levels from the training rows ``X``."""
        X = np.asarray(X, dtype=np.float64)
        numbers = X[:, list(self.numeric)]
        missing = np.isnan(numbers)
        present = (~missing).any(axis=0)
        medians = np.zeros(numbers.shape[1])
        if present.any():
            medians[present] = np.nanmedian(numbers[:, present], axis=0)
        if self.missing_fill == "learned":
            del self.fill  # the buffer becomes a parameter, starting at the medians
            self.fill = nn.Parameter(torch.from_numpy(medians).float())
        else:
            self.fill = torch.from_numpy(medians).float()
        self.indicated = torch.from_numpy(np.flatnonzero(missing.any(axis=0))).long()
        lookup, n_levels = [], []
        for column, cardinality in zip(self.layout.categorical, self.layout.cardinalities):
            codes = X[:, column]
            counts = np.bincount(codes[~np.isnan(codes)].astype(np.int64),
                                 minlength=cardinality)[:cardinality]
            kept = counts >= self.min_level_count
            levels = np.where(kept, np.cumsum(kept), 0)
            lookup.append(np.append(levels, 0))  # the missing slot: level 0
            n_levels.append(int(kept.sum()) + 1)
        if lookup:
            self.level_of_code = torch.from_numpy(np.concatenate(lookup)).long()
        self.n_levels = n_levels
        self.fitted = True
        return self

    def front_state(self) -> dict:
        return {"n_levels": list(self.n_levels)}

    def load_front_state(self, state: dict) -> None:
        self.n_levels = list(state["n_levels"])

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(numbers, levels)``: the filled numeric columns followed by the missing
        indicators (float), and each categorical column's level (long)."""
        numbers = X[:, self.numeric_columns]
        missing = torch.isnan(numbers)
        filled = torch.where(missing, self.fill.to(numbers.dtype), numbers)
        if len(self.indicated):
            filled = torch.cat([filled, missing[:, self.indicated].to(numbers.dtype)], dim=1)
        codes = X[:, self.categorical_columns]
        slots = torch.where(torch.isnan(codes), self.missing_slot.to(codes.dtype), codes)
        levels = self.level_of_code[self.offsets + slots.long()]
        return filled, levels


def check_column_front_parameters(min_level_count, missing_fill, datetime_trend) -> None:
    """Raise a ``ValueError`` naming the ``module__*`` parameter of the column front that is
    not valid.

    Examples
    --------
    >>> from skimb.networks.front.column_front import check_column_front_parameters
    >>> check_column_front_parameters(3, "learned", False)
    """
    if not isinstance(datetime_trend, (bool, np.bool_)):
        raise ValueError(f"module__datetime_trend must be True or False, got "
                         f"{datetime_trend!r}.")
    if missing_fill not in ("median", "learned"):
        raise ValueError(f"module__missing_fill must be 'median' or 'learned', got "
                         f"{missing_fill!r}.")
    if (isinstance(min_level_count, bool) or not isinstance(min_level_count, (int, np.integer))
            or min_level_count < 1):
        raise ValueError(f"module__min_level_count must be an integer >= 1, got "
                         f"{min_level_count!r}.")
