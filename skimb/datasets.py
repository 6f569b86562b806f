"""Road-weather (RWIS) data: the loader for real Iowa DOT surface exports."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

__all__ = ["load_rwis_csv"]

_REQUIRED = ("STATION_ID", "OBTAINED_DATE", "SURFACE_TEMP", "SURFACE_CONDITION")


def load_rwis_csv(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.Series]:
    """Load an Iowa DOT RWIS surface export as features and surface conditions.

    Reads the columns ``STATION_ID, OBTAINED_DATE, SURFACE_TEMP,
    SURFACE_CONDITION`` (others are ignored) from a plain or gzip CSV, with or
    without a byte-order mark, sorts the rows by time within each station and
    derives time features. Rows without a temperature or condition are dropped.

    Features (numeric, in time order, indexed by the observation time):

    * ``surface_temp`` (as exported, °F) and ``below_freezing``;
    * ``temp_change`` since the station's previous reading and
      ``minutes_since_previous`` (0 for a station's first reading);
    * ``temp_mean_6``: mean of the station's last 6 readings;
    * ``hour_sin``, ``hour_cos``, ``doy_sin``, ``doy_cos``: time of day and of
      year on the circle.

    Parameters
    ----------
    path : str or path-like
        The CSV file.

    Returns
    -------
    X : DataFrame of shape (n_rows, 9)
    y : Series of str
        The ``SURFACE_CONDITION`` of every row.

    Examples
    --------
    >>> import io, tempfile, os
    >>> from skimb.datasets import load_rwis_csv
    >>> text = ("STATION_ID,OBTAINED_DATE,SURFACE_TEMP,SURFACE_CONDITION\\n"
    ...         "RTOI4,1/1/2019 0:30,31.5,Ice Watch\\nRTOI4,1/1/2019 0:10,32.9,Wet\\n")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "rwis.csv")
    ...     _ = open(path, "w").write(text)
    ...     X, y = load_rwis_csv(path)
    >>> y.tolist()
    ['Wet', 'Ice Watch']
    >>> X["temp_change"].round(2).tolist()
    [0.0, -1.4]
    """
    if not os.path.exists(path):
        raise ValueError(f"RWIS file not found: {path}")
    frame = pd.read_csv(path, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} is not an RWIS surface export: missing columns {missing} "
            f"(found {list(frame.columns)[:10]})."
        )
    frame = frame[list(_REQUIRED)].copy()
    frame["OBTAINED_DATE"] = pd.to_datetime(frame["OBTAINED_DATE"], format="mixed", errors="coerce")
    frame["SURFACE_TEMP"] = pd.to_numeric(frame["SURFACE_TEMP"], errors="coerce")
    frame["SURFACE_CONDITION"] = frame["SURFACE_CONDITION"].astype("string").str.strip()
    frame = frame.dropna().sort_values(["OBTAINED_DATE", "STATION_ID"], kind="stable")
    if frame.empty:
        raise ValueError(f"{path} holds no complete RWIS rows.")

    by_station = frame.groupby("STATION_ID", sort=False)
    temp = frame["SURFACE_TEMP"].astype(np.float64)
    when = frame["OBTAINED_DATE"]
    hour = when.dt.hour + when.dt.minute / 60.0
    day = when.dt.day_of_year - 1 + hour / 24.0
    X = pd.DataFrame(
        {
            "surface_temp": temp,
            "below_freezing": (temp <= 32.0).astype(np.float64),
            "temp_change": by_station["SURFACE_TEMP"].diff().fillna(0.0),
            "minutes_since_previous": (by_station["OBTAINED_DATE"].diff().dt.total_seconds() / 60.0
                                       ).fillna(0.0),
            "temp_mean_6": by_station["SURFACE_TEMP"].transform(
                lambda s: s.rolling(6, min_periods=1).mean()),
            "hour_sin": np.sin(2 * np.pi * hour / 24.0),
            "hour_cos": np.cos(2 * np.pi * hour / 24.0),
            "doy_sin": np.sin(2 * np.pi * day / 365.25),
            "doy_cos": np.cos(2 * np.pi * day / 365.25),
        }
    )
    X.index = pd.DatetimeIndex(when, name="time")
    y = pd.Series(frame["SURFACE_CONDITION"].to_numpy(dtype=object), index=X.index, name="surface_condition")
    return X, y
