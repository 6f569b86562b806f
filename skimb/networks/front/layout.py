"""Which columns of a raw table's matrix are numbers and which are category codes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ColumnLayout"]


@dataclass(frozen=True)
class ColumnLayout:
    """Which columns of the matrix a network gets are numbers, and which are codes.

    Attributes
    ----------
    numeric : tuple of int
        Positions of the numeric columns (NaN: missing).
    categorical : tuple of int
        Positions of the categorical columns: values ``0 .. cardinality - 1``
        (the code of each value), NaN for a missing or unseen value.
    cardinalities : tuple of int
        Values of each categorical column the first fit saw.
    names : tuple of str
        Every column's name.
    trend : tuple of int, default=()
        Positions, among ``numeric``, of the linear time of each datetime
        column (``<column>__years``), which the front leaves out unless asked
        (``datetime_trend=True``).

    Examples
    --------
    >>> from skimb.networks import ColumnLayout
    >>> ColumnLayout(numeric=(0,), categorical=(1,), cardinalities=(3,), names=("x", "c")).width
    2
    """

    numeric: tuple[int, ...]
    categorical: tuple[int, ...]
    cardinalities: tuple[int, ...]
    names: tuple[str, ...]
    trend: tuple[int, ...] = ()

    @property
    def width(self) -> int:
        """Columns of the matrix."""
        return len(self.numeric) + len(self.categorical)
