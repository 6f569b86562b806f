"""The table ``python -m skimb compare`` runs on: read, checked, split.

Every problem with the file or the options is reported through ``fail``
(the parser's ``error``: one ``error:`` line, exit status 2) before any
training starts; what is left out of the table is said on stderr.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from ..datasets import load_rwis_csv, make_rwis

#: The columns of an Iowa DOT RWIS surface export (what skimb.datasets.load_rwis_csv reads).
RWIS_COLUMNS = ("STATION_ID", "OBTAINED_DATE", "SURFACE_TEMP", "SURFACE_CONDITION")
#: Share of the rows held out for the test.
TEST_SIZE = 0.3


@dataclass
class Table:
    """Features, labels, and whether the rows are in time order (then split in that order)."""

    X: pd.DataFrame
    y: np.ndarray
    time_ordered: bool
    source: str


@dataclass
class Split:
    """The training part, the held-out test part and the folds of the training part."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    cv: KFold | StratifiedKFold


def note(message: str) -> None:
    """Say on stderr what the CLI did to the table (``skimb: note: ...``)."""
    print(f"skimb: note: {message}", file=sys.stderr, flush=True)


def load(args, fail: Callable[[str], None]) -> Table:
    """The table of ``args`` (``--data``, ``--target``, ``--time`` or ``--n-samples``)."""
    if args.data is None:
        for option in ("target", "time"):
            if getattr(args, option) is not None:
                fail(f"--{option} needs --data (the simulated RWIS table has its own target)")
        X, y = make_rwis(n_samples=args.n_samples, random_state=args.random_state)
        return Table(X, np.asarray(y), False, "simulated RWIS data")
    path = args.data
    if not os.path.exists(path):
        fail(f"--data: file not found: {path}")
    if not os.path.isfile(path):
        fail(f"--data: not a file: {path}")
    columns = _header(path, fail)
    if set(RWIS_COLUMNS) <= set(columns) and args.target in (None, "SURFACE_CONDITION") \
            and args.time is None:
        return _rwis(path, columns, fail)
    return _csv(path, columns, args.target, args.time, fail)


def _read(path, fail, **options) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **options)
    except pd.errors.EmptyDataError:
        fail(f"--data: {path} is empty (no header row)")
    except (UnicodeDecodeError, pd.errors.ParserError, csv.Error, OSError, EOFError) as error:
        fail(f"--data: {path} cannot be read as a CSV file: {one_line(error)}")


def _header(path, fail) -> list[str]:
    return [str(c).strip() for c in _read(path, fail, nrows=0).columns]


def _rwis(path, columns, fail) -> Table:
    rows = len(_read(path, fail, usecols=[0]))
    try:
        X, y = load_rwis_csv(path, raw=True)
    except ValueError as error:
        fail(f"--data: {one_line(error)}")
    unused = [c for c in columns if c not in RWIS_COLUMNS]
    if unused:
        note(f"RWIS export: dropped {len(unused)} column(s) the loader does not read: "
             f"{', '.join(unused)}")
    if len(X) < rows:
        note(f"RWIS export: dropped {rows - len(X)} of {rows} rows without a condition, "
             "a station or a readable time")
    return Table(X.reset_index(drop=True), y.to_numpy(), True,
                 f"RWIS export {path} (skimb.datasets.load_rwis_csv, raw=True)")


def _csv(path, columns, target, time, fail) -> Table:
    target = columns[-1] if target is None else target
    for option, name in (("--target", target), ("--time", time)):
        if name is not None and name not in columns:
            fail(f"{option} {name!r} is not a column of {path}; columns: {', '.join(columns)}")
    if time == target:
        fail(f"--time and --target name the same column {target!r}")
    frame = _read(path, fail)
    frame.columns = columns
    if frame.empty:
        fail(f"--data: {path} has a header but no rows")
    y = frame.pop(target)
    unlabelled = y.isna()
    if unlabelled.all():
        fail(f"--target {target!r} is empty in every row of {path}")
    if unlabelled.any():
        note(f"dropped {int(unlabelled.sum())} of {len(y)} rows without a {target!r} value")
        frame, y = frame[~unlabelled], y[~unlabelled]
    meta = [c for c in frame if c.startswith("meta_")]
    if meta:
        note(f"dropped {len(meta)} meta_* column(s), not features: {', '.join(meta)}")
        frame = frame.drop(columns=meta)
    if time is not None:
        when = pd.to_datetime(frame[time], format="mixed", errors="coerce")
        if when.isna().any():
            bad = frame.loc[when.isna(), time].iloc[0]
            fail(f"--time {time!r}: {int(when.isna().sum())} value(s) are not date-times, "
                 f"e.g. {bad!r}")
        frame[time] = when
        order = np.argsort(when.to_numpy(), kind="stable")
        frame, y = frame.iloc[order], y.iloc[order]
    if frame.shape[1] == 0:
        fail(f"--data: {path} has no feature column besides --target {target!r}")
    return Table(frame.reset_index(drop=True), y.to_numpy(), time is not None, path)


def exclusions(table: Table, exclude: list[str], fail) -> list:
    """The labels ``--exclude`` names (matched by their text, so ``--exclude 3`` finds the
    integer class 3), checked before any training."""
    by_text = {str(c): c for c in np.unique(table.y).tolist()}
    unknown = [text for text in exclude if text not in by_text]
    if unknown:
        fail(f"--exclude: not a class of the data: {', '.join(map(repr, unknown))}; "
             f"classes: {', '.join(map(repr, by_text))}")
    chosen = list(dict.fromkeys(by_text[text] for text in exclude))
    if len(chosen) == len(by_text):
        fail("--exclude names every class: macro-F1 would score none")
    return chosen


def split(table: Table, cv: int, random_state: int, fail) -> Split:
    """70/30 (stratified, or in time order) and the folds of the training part, after checking
    that every class can be split and cross-validated."""
    classes, counts = (values.tolist() for values in np.unique(table.y, return_counts=True))
    if len(classes) < 2:
        fail(f"the target has one class ({classes[0]!r}) in all {len(table.y)} rows: "
             "there is nothing to compare")
    if table.time_ordered:
        cut = int(round((1 - TEST_SIZE) * len(table.y)))
        X_train, X_test = table.X.iloc[:cut], table.X.iloc[cut:]
        y_train, y_test = table.y[:cut], table.y[cut:]
        if len(np.unique(y_train)) < 2:
            fail(f"the first {cut} rows in time order (the training part) hold one class "
                 f"({y_train[:1].tolist()[0]!r})")
        if cut < cv or len(y_test) == 0:
            fail(f"{len(table.y)} rows are too few for a 70/30 split and --cv {cv}")
        return Split(X_train, X_test, y_train, y_test, KFold(cv))
    # each class needs --cv rows in the training part and one in the test part
    needed = max(2, int(np.ceil(cv / (1 - TEST_SIZE))))
    remedy = ("raise --n-samples or lower --cv" if table.source.startswith("simulated")
              else "lower --cv, or merge or drop those rows")
    small = [f"{c!r} ({n})" for c, n in zip(classes, counts) if n < needed]
    if not small:
        X_train, X_test, y_train, y_test = train_test_split(
            table.X, table.y, test_size=TEST_SIZE, stratify=table.y, random_state=random_state)
        train_classes, train_counts = np.unique(y_train, return_counts=True)
        small = [f"{c!r} ({n})" for c, n in zip(classes, counts)
                 if train_counts[np.searchsorted(train_classes, c)] < cv]
        needed += 1  # the split left one of them fewer than --cv training rows
    if small:
        fail(f"every class needs at least {needed} rows for a 70/30 split and --cv {cv}; "
             f"too few: {', '.join(small)} ({remedy})")
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return Split(X_train, X_test, y_train, y_test, folds)


def one_line(error: BaseException) -> str:
    """The text of ``error`` on one line (an `error:` line is one line)."""
    return " ".join(str(error).split())
