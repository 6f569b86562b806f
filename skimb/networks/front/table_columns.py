"""A raw table's columns as numbers for the built-in networks: codes by value, times as features.

:class:`TableColumns` is fitted on the rows of the first ``fit`` (before any
split: it learns which columns are categorical and the values each one takes,
never a statistic of the rows) and turns every table the model is given into
a float32 matrix and a :class:`~skimb.networks.ColumnLayout`. Everything that
counts rows (fill values, indicators, which values get a level of their own)
is fitted later on the training rows only, by the network's
:class:`~skimb.networks.ColumnFront`. :func:`fit_table_columns` is what the
classifier calls, with the ``module__*`` parameters.
"""

from __future__ import annotations

import datetime
import numbers
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .layout import ColumnLayout

__all__ = ["TableColumns", "DATETIME_FEATURES", "fit_table_columns"]

NUMERIC, CATEGORICAL, DATETIME = "numeric", "categorical", "datetime"

#: The features a datetime column becomes (``<column>__<feature>``).
DATETIME_FEATURES = ("time_of_day_sin", "time_of_day_cos", "day_of_year_sin",
                     "day_of_year_cos", "years")

_SECONDS_PER_DAY = 86_400.0
_DAYS_PER_YEAR = 365.2425

#: Text that is a date: 2019-01-31, 01/31/2019, 31.01.2019, a time of day (AM/PM, a UTC
#: offset) may follow.
_DATE_TEXT = re.compile(r"\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
                        r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?"
                        r"(Z|[+-]\d{2}:?\d{2})?)?\s*$")
#: How many distinct values of a text column are read to tell whether it holds dates.
_DATE_SAMPLE = 200


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return (isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)) or dtype == object
            or pd.api.types.is_string_dtype(dtype))


def _sorted_values(values: np.ndarray) -> np.ndarray:
    """Distinct values, sorted by value (by type name, then text, when types are mixed)."""
    unique = pd.unique(values)
    try:
        order = np.argsort(unique, kind="stable")
    except TypeError:
        order = sorted(range(len(unique)), key=lambda i: (type(unique[i]).__name__,
                                                          str(unique[i])))
    return unique[np.asarray(order, dtype=np.int64)]


class TableColumns:
    """How each column of a raw table becomes numbers, fitted on the first fit's rows.

    * numeric, bool and pandas nullable (``Int64``, ``Float64``, ``boolean``)
      columns: their value as a float, NaN where missing;
    * categorical columns: the code of the value, its position among the
      (sorted) values the first fit saw, so pandas' own codes and unused
      ``category`` levels never matter; NaN for a missing value or one that
      fit did not see;
    * datetime columns: five features, the time of day and the day of the
      year as points on a circle (``sin`` and ``cos``, so 23:59 is next to
      00:00 and 31 December to 1 January) and the linear time in years since
      1970 (``<column>__time_of_day_sin``, ... ``<column>__years``), which
      the built-in networks feed only with ``module__datetime_trend=True``; a
      timezone-aware column keeps its local wall time;
    * timedelta columns: seconds.

    Which columns are categorical: ``"from_dtype"`` (``category``, ``object``
    and ``string`` columns), or a list of column names or positions, or a
    boolean mask over the columns, as ``HistGradientBoostingClassifier``
    takes it; listed numeric columns (integer codes, as in the PMLB tables)
    are categorical by value too. ``None``: no categorical column.

    Parameters
    ----------
    categorical_features : "from_dtype", list, boolean mask or None, default="from_dtype"

    Attributes
    ----------
    kinds_ : list of str
        ``"numeric"``, ``"categorical"`` or ``"datetime"`` for every column.
    values_ : dict of int to ndarray
        The values of every categorical column (by position), in code order.
    layout_ : ColumnLayout
        The matrix :meth:`transform` returns.

    Examples
    --------
    >>> import pandas as pd
    >>> from skimb.networks.front import TableColumns
    >>> X = pd.DataFrame({"temp": [1.5, None, -2.0], "station": ["b", "a", "b"]})
    >>> columns = TableColumns().fit(X)
    >>> columns.transform(X).tolist()
    [[1.5, 1.0], [nan, 0.0], [-2.0, 1.0]]
    >>> columns.transform(pd.DataFrame({"temp": [0.0], "station": ["new"]})).tolist()
    [[0.0, nan]]
    >>> columns.layout_.categorical, columns.layout_.cardinalities
    ((1,), (2,))
    """

    def __init__(self, categorical_features="from_dtype"):
        self.categorical_features = categorical_features

    def fit(self, X) -> TableColumns:
        """Learn each column's kind, and the values of the categorical ones.

        Parameters
        ----------
        X : DataFrame or 2-D ndarray

        Returns
        -------
        self : TableColumns
        """
        frame = _as_frame(X)
        self.n_columns_ = frame.shape[1]
        self.names_ = [str(name) for name in frame.columns]
        self.named_ = isinstance(X, pd.DataFrame)
        chosen = self._categorical_mask(frame)
        self.kinds_, self.values_ = [], {}
        for j in range(frame.shape[1]):
            column = frame.iloc[:, j]
            if chosen[j]:
                self.kinds_.append(CATEGORICAL)
                present = column.astype(object).to_numpy()[column.notna().to_numpy()]
                try:
                    self.values_[j] = _sorted_values(present)
                except TypeError:
                    raise TypeError(
                        f"X {self._column(j)} holds values that cannot be categories (e.g. "
                        f"{type(present[0]).__name__}): each argument must be a string or a "
                        "number.") from None
                if isinstance(self.categorical_features, str):  # typed "from_dtype"
                    self._warn_date_text(j)
            elif pd.api.types.is_datetime64_any_dtype(column.dtype):
                self.kinds_.append(DATETIME)
            elif _is_text(column):
                raise ValueError(
                    f"X {self._column(j)} holds text, but categorical_features="
                    f"{self.categorical_features!r} does not make it categorical: list it in "
                    "module__categorical_features, or leave it 'from_dtype'.")
            else:
                self.kinds_.append(NUMERIC)
        self.layout_ = self._layout()
        return self

    def _warn_date_text(self, j: int) -> None:
        """Warn when a text column picked as categorical holds dates: as text, every
        timestamp is a category of its own."""
        values = self.values_[j]
        sample = values[:_DATE_SAMPLE]
        if len(values) < 2:
            return
        if not all(isinstance(v, (datetime.date, np.datetime64)) for v in sample):
            if not all(isinstance(v, str) and _DATE_TEXT.match(v) for v in sample):
                return
            try:
                pd.to_datetime(pd.Series(sample), format="mixed")
            except (TypeError, ValueError, OverflowError):
                return
        name = self.names_[j] if self.named_ else j
        warnings.warn(
            f"X {self._column(j)} holds dates as text or objects (e.g. {str(sample[0])!r}), so it "
            f"becomes a categorical column of {len(values)} values, one per timestamp. Parse "
            f"it first, X[{name!r}] = pd.to_datetime(X[{name!r}], format=...), to get its "
            "time of day and day of year as features.", UserWarning, stacklevel=2)

    def _column(self, j: int, name: str | None = None) -> str:
        """``column 'name'`` of a DataFrame, ``column j`` of an array."""
        return f"column {name or self.names_[j]!r}" if self.named_ else f"column {j}"

    def _categorical_mask(self, frame: pd.DataFrame) -> np.ndarray:
        spec, n = self.categorical_features, frame.shape[1]
        if spec is None:
            return np.zeros(n, dtype=bool)
        if isinstance(spec, str):
            if spec != "from_dtype":
                raise ValueError(f"module__categorical_features must be 'from_dtype', a list "
                                 f"of columns, a boolean mask or None; got {spec!r}.")
            return np.array([_is_text(frame.iloc[:, j]) for j in range(n)], dtype=bool)
        spec = list(spec)
        if spec and all(isinstance(v, (bool, np.bool_)) for v in spec):
            if len(spec) != n:
                raise ValueError(f"module__categorical_features is a boolean mask of "
                                 f"{len(spec)} values; X has {n} columns.")
            return np.asarray(spec, dtype=bool)
        mask = np.zeros(n, dtype=bool)
        names = list(frame.columns)
        for entry in spec:
            if isinstance(entry, str):
                if entry not in names:
                    raise ValueError(f"module__categorical_features names column {entry!r}, "
                                     f"which X lacks (its columns: {names[:10]}).")
                mask[names.index(entry)] = True
            elif isinstance(entry, numbers.Integral) and -n <= entry < n:
                mask[entry] = True
            else:
                raise ValueError(f"module__categorical_features holds {entry!r}, which is "
                                 f"neither a column name nor a position in 0..{n - 1}.")
        return mask

    def _layout(self) -> ColumnLayout:
        numeric, categorical, cardinalities, names, trend = [], [], [], [], []
        for j, kind in enumerate(self.kinds_):
            if kind == CATEGORICAL:
                categorical.append(len(names))
                cardinalities.append(len(self.values_[j]))
                names.append(self.names_[j])
            elif kind == DATETIME:
                numeric.extend(range(len(names), len(names) + len(DATETIME_FEATURES)))
                trend.append(len(names) + DATETIME_FEATURES.index("years"))
                names.extend(f"{self.names_[j]}__{f}" for f in DATETIME_FEATURES)
            else:
                numeric.append(len(names))
                names.append(self.names_[j])
        return ColumnLayout(tuple(numeric), tuple(categorical), tuple(cardinalities),
                            tuple(names), tuple(trend))

    @property
    def is_raw(self) -> bool:
        """Whether any column is categorical or a datetime (not a plain numeric table)."""
        return any(kind != NUMERIC for kind in self.kinds_)

    def transform(self, X) -> np.ndarray:
        """The float32 matrix of ``X`` (see the class docstring), NaN where a value is missing.

        Raises
        ------
        ValueError
            An infinite number, naming its column and row.
        """
        if isinstance(X, np.ndarray) and X.dtype == np.float32 and not self.is_raw:
            out = X
        else:
            frame = _as_frame(X)
            parts = [self._column_numbers(frame.iloc[:, j], j) for j in range(frame.shape[1])]
            out = np.ascontiguousarray(np.column_stack(parts), dtype=np.float32)
        infinite = np.isinf(out)
        if infinite.any():
            row, position = np.argwhere(infinite)[0]
            raise ValueError(
                f"X contains infinity (or a value too large for float32) in "
                f"{self._column(position, self.layout_.names[position])}, first at row {row}. "
                "Missing values may be NaN; infinite ones must be replaced or dropped first.")
        return out

    def _column_numbers(self, column: pd.Series, j: int) -> np.ndarray:
        kind = self.kinds_[j]
        if kind == CATEGORICAL:
            codes = pd.Index(self.values_[j]).get_indexer(column.astype(object).to_numpy())
            values = codes.astype(np.float64)
            values[codes < 0] = np.nan
            return values
        if kind == DATETIME:
            return _datetime_features(column, self._column(j))
        if pd.api.types.is_timedelta64_dtype(column.dtype):
            return column.dt.total_seconds().to_numpy(dtype=np.float64)
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise ValueError(f"X {self._column(j)} was numeric at fit but holds datetimes "
                             f"now (e.g. {column.iloc[0]}).")
        try:
            return pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"X {self._column(j)} was numeric at fit but holds "
                             f"non-numeric values now (e.g. {column.iloc[0]!r}).") from None


def _datetime_features(column: pd.Series, where: str = "column") -> np.ndarray:
    """Five columns of a datetime column (see :data:`DATETIME_FEATURES`); NaN for NaT.

    A column of datetimes, of Timestamps or of date text is read as times;
    numbers (which pandas would read as nanoseconds since 1970) and text that
    is no date are a ``ValueError`` naming ``where``.
    """
    numbers = (pd.api.types.is_numeric_dtype(column.dtype)
               or pd.api.types.is_bool_dtype(column.dtype))
    if numbers and column.notna().any():
        raise ValueError(
            f"X {where} held datetimes at fit but holds numbers now (e.g. "
            f"{column[column.notna()].iloc[0]}), which would be read as nanoseconds since "
            "1970: pass datetimes (pd.to_datetime(...)).")
    try:
        times = pd.to_datetime(column)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"X {where} held datetimes at fit, but its values are not all "
                         f"dates now: {error}") from None
    seconds = (times.dt.hour * 3600 + times.dt.minute * 60 + times.dt.second).to_numpy(
        dtype=np.float64, na_value=np.nan)
    day = (times.dt.day_of_year.to_numpy(dtype=np.float64, na_value=np.nan) - 1.0
           + seconds / _SECONDS_PER_DAY)
    day_angle = 2 * np.pi * day / _DAYS_PER_YEAR
    time_angle = 2 * np.pi * seconds / _SECONDS_PER_DAY
    naive = times.dt.tz_localize(None) if times.dt.tz is not None else times
    epoch_days = (naive - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(
        dtype=np.float64, na_value=np.nan) / _SECONDS_PER_DAY
    return np.column_stack([np.sin(time_angle), np.cos(time_angle), np.sin(day_angle),
                            np.cos(day_angle), epoch_days / _DAYS_PER_YEAR])


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(np.asarray(X))


def fit_table_columns(X, params: Mapping[str, Any]) -> TableColumns:
    """Type the columns of a first fit's raw table, as the ``module__*`` parameters say.

    The table front's parameter ``categorical_features`` (default
    ``"from_dtype"``) says which columns are categorical; it is read here,
    before any split, on all the rows of the first fit.

    Parameters
    ----------
    X : DataFrame or 2-D ndarray
    params : mapping
        The ``module__*`` parameters, without the prefix (the others are not read).

    Returns
    -------
    columns : TableColumns
        Fitted on ``X``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skimb.networks.front import fit_table_columns
    >>> X = pd.DataFrame({"station": [3, 1, 3], "temp": [1.5, 0.0, 2.0]})
    >>> fit_table_columns(X, {"categorical_features": ["station"]}).kinds_
    ['categorical', 'numeric']
    """
    given = {key: params[key] for key in ("categorical_features",) if key in params}
    return TableColumns(**given).fit(X)
