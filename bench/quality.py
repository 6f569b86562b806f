"""Quality benchmark: macro-F1 of skimb against what a user would otherwise pick.

On the real imbalanced tables of ``../shared/datasets`` — the 11 numeric "classic" tables
and the 7 raw tables of ``breadth/`` (text categories, missing values; any that are absent
are skipped) — with stratified 70/30 splits over several seeds (RWIS: time-ordered 70/30
split), it compares

* plain skorch ``NeuralNetClassifier``: the encoded table (``make_encoder``: one-hot text
  columns, median-imputed numeric columns with missing indicators, fitted on the training
  rows), StandardScaler, an MLP 128x128, Adam, ``--max-epochs`` epochs on all training rows
  (the first round's yardstick);
* ``skimb_defaults``: ``ImbalancedTorchClassifier(random_state=seed)``, every other
  parameter at its default (the built-in network for the device, the training recipe, all
  training rows for the epoch budget), on the same encoded table (``--skimb-raw``: the raw
  DataFrame, for when skimb takes text and NaN itself);
* ``skimb_tuned``: the same, with the strategy chosen by an inner ``GridSearchCV``
  (``--inner-folds`` folds, macro-F1) over ``skimb.grid.default_strategy_grid``, refit with
  ``skimb.grid.prefer_baseline`` (plain ``none + ce`` unless a strategy wins by more than
  one standard error);
* ``LogisticRegression(class_weight="balanced")`` on the encoded table,
  ``HistGradientBoostingClassifier(class_weight="balanced",
  categorical_features="from_dtype")`` and, when installed, LightGBM with
  ``class_weight="balanced"``, both given text columns as pandas ``category`` columns
  (levels from the training rows) and NaN as NaN;
* when pytabkit is installed, ``RealMLP_TD_Classifier`` and ``TabM_D_Classifier`` at their
  defaults (``realmlp_td``, ``tabm_d``), given the median-imputed numeric columns with
  missing indicators and the text columns as ``category`` columns (they refuse NaN).

Parameter overrides: ``--skimb-set KEY=VALUE`` (repeatable; the value read with
``ast.literal_eval``, else kept as a string) sets ``ImbalancedTorchClassifier`` parameters of
skimb_defaults and skimb_tuned, e.g. ``--skimb-set max_epochs=60 --skimb-set module=tabm``;
such a run's rows are saved as ``skimb[NAME]`` and ``skimb_tuned[NAME]`` with ``--skimb-label
NAME`` (required with ``--skimb-set``; ``--skimb-raw`` alone is labelled ``raw``), so that
several variants merge and are reported side by side, each against LightGBM.
``--report compare --versus A:B ...`` reports paired differences between models (e.g.
``skimb[raw_e60]:plain_skorch``).

Breadth tables: classes with fewer than ``--min-class-rows`` (15) rows are dropped, and the
report says which. The scikit-learn models are each also reported with macro-F1-tuned
decisions (``*_tuned``: ``TunedDecisionClassifierCV`` with 5-fold cross-fitting) from the
same fit, unless ``--no-tuned-decisions`` (then each is one plain fit).

By default every table runs plain_skorch, skimb_defaults, histgb_balanced,
lightgbm_balanced, realmlp_td and tabm_d; logreg_balanced and skimb_tuned run when named in
``--contenders``. Writes a markdown report to ``--out``: ``--report breadth`` (default; mean
± std over seeds, skimb against LightGBM per table, seconds per fit, dropped classes, what
did not run) or ``--report quality`` (the layout of docs/benchmarks/quality.md). Partial
runs saved with ``--rows-out`` merge with ``--from-rows a.csv b.csv ...``.

Run: ``python bench/quality.py --threads 1 --rows-out rows.csv --out docs/benchmarks/breadth.md``.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import (GridSearchCV, KFold, ParameterGrid, StratifiedKFold,
                                     StratifiedShuffleSplit, train_test_split)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, OneHotEncoder, StandardScaler

# skimb and skorch are imported where they are used, so that loading, encoding and the
# report (bench/tests/test_quality.py, --from-rows) work without them.

#: The 11 numeric tables of the first rounds (docs/benchmarks/quality.md).
CLASSIC = {
    "page_blocks": "page_blocks_pmlb.csv.gz",
    "shuttle": "shuttle_statlog_pmlb.csv.gz",
    "wine_quality": "wine_quality_red_white.csv.gz",
    "sleep": "sleep_pmlb.csv.gz",
    "ann_thyroid": "ann_thyroid_pmlb.csv.gz",
    "coil2000": "coil2000_caravan_pmlb.csv.gz",
    "adult": "adult_pmlb.csv.gz",
    "rwis_iowa": "rwis_iowa_RTOI4_2019.csv.gz",
    "connect_4": "connect_4_pmlb.csv.gz",
    "kddcup99": "kddcup99_10pct_5class.csv.gz",
    "churn": "churn_pmlb.csv.gz",
}
#: The raw tables of ``breadth/``: text categories stay strings, ``?``/empty cells are NaN.
BREADTH = {
    "nursery": "breadth/nursery.csv.gz",
    "splice": "breadth/splice.csv.gz",
    "cleveland": "breadth/cleveland.csv.gz",
    "abalone": "breadth/abalone_rings.csv.gz",
    "hypothyroid": "breadth/hypothyroid.csv.gz",
    "kc1": "breadth/kc1_defects.csv.gz",
    "pc1": "breadth/pc1_defects.csv.gz",
}
DATASETS = {**CLASSIC, **BREADTH}
TIME_ORDERED = {"rwis_iowa"}
#: Breadth tables: a class with fewer rows than this is dropped (and the report says so).
MIN_CLASS_ROWS = 15
CONTENDER_NAMES = ["plain_skorch", "skimb_defaults", "skimb_tuned", "logreg_balanced",
                   "histgb_balanced", "lightgbm_balanced", "realmlp_td", "tabm_d"]
#: What runs when ``--contenders`` is not given (logreg and the strategy search are opt-in).
DEFAULT_CONTENDERS = ["plain_skorch", "skimb_defaults", "histgb_balanced", "lightgbm_balanced",
                      "realmlp_td", "tabm_d"]
#: Contenders that ``TunedDecisionClassifierCV`` wraps (one fit gives argmax and ``_tuned``).
SKLEARN_CONTENDERS = {"logreg_balanced", "histgb_balanced", "lightgbm_balanced"}
#: skimb_defaults and lightgbm_balanced tie on a table when their means are this close.
TIE = 0.005
#: The model name of a labelled skimb run (``--skimb-label``): ``skimb[NAME]`` for
#: skimb_defaults, ``skimb_tuned[NAME]`` for skimb_tuned.
VARIANT_PREFIX = {"skimb_defaults": "skimb", "skimb_tuned": "skimb_tuned"}
VARIANT = re.compile(r"^(skimb|skimb_tuned)\[([A-Za-z0-9_.+-]+)\]$")
LABEL = re.compile(r"^[A-Za-z0-9_.+-]+$")
#: Parameters ``--skimb-set`` may not set: the seed is the run's (``--seeds``).
NOT_SETTABLE = {"random_state"}
#: ``--grid small``: the four settings of the default grid that cost one fit each and
#: change the training most (plain, logit-adjusted, square-root weights, square-root sampler).
SMALL_GRID = [
    {"sampler": ["none"], "loss": ["ce", "logit_adjusted"]},
    {"sampler": ["none"], "loss": ["weighted_ce"], "loss__weights": ["sqrt"]},
    {"sampler": ["sqrt"], "loss": ["ce"]},
]
HIDDEN_UNITS = (128, 128)
DROPOUT = 0.1


# ------------------------------------------------------------------- skimb variants

def parse_auto_budget(text: str) -> tuple[int, int, int]:
    """``"MIN:MAX:VISITS"`` -> three positive ints with MIN <= MAX (``--auto-budget``)."""
    try:
        low, high, visits = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give MIN:MAX:VISITS, e.g. 30:120:640000")
    if not 1 <= low <= high or visits < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1 <= MIN <= MAX and VISITS >= 1")
    return low, high, visits


def parse_skimb_set(text: str) -> tuple[str, object]:
    """``"KEY=VALUE"`` of ``--skimb-set`` as ``(key, value)``: the value read with
    ``ast.literal_eval`` (``60`` an int, ``0.1`` a float, ``None``, ``(64, 64)``), else kept as
    the plain string (``tabm``). An argparse ``type``: bad input is an ``ArgumentTypeError``."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (no '=')")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise argparse.ArgumentTypeError(
            f"{text!r}: {key!r} is not a parameter name (letters, digits and _, e.g. "
            "max_epochs or loss__label_smoothing)")
    if key in NOT_SETTABLE:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {key} is set by the run (--seeds, --first-seed), not by --skimb-set")
    if not raw:
        raise argparse.ArgumentTypeError(f"{text!r}: no value after '='")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
    return key, value


def skimb_overrides(pairs) -> dict:
    """The ``(key, value)`` pairs of ``--skimb-set`` as a dict; a key given twice is refused."""
    overrides = {}
    for key, value in pairs or ():
        if key in overrides:
            raise ValueError(f"--skimb-set {key} given twice ({overrides[key]!r} and {value!r})")
        overrides[key] = value
    return overrides


def check_skimb_overrides(overrides: dict) -> None:
    """Raise ``ValueError`` for a name ``ImbalancedTorchClassifier`` does not take: a plain
    name that is no parameter (``max_epoch``), or a routed one whose prefix is unknown
    (``modul__x``). What a prefix takes (``module__bogus``) the first fit checks."""
    if not overrides:
        return
    from skimb import ImbalancedTorchClassifier
    clf = ImbalancedTorchClassifier()
    prefixes = set(clf.prefixes_) | {"module", "optimizer"}
    unknown = [k for k in overrides if "__" in k and k.split("__", 1)[0] not in prefixes]
    if unknown:
        raise ValueError(f"--skimb-set {', '.join(unknown)}: ImbalancedTorchClassifier routes "
                         f"no such prefix (it takes {', '.join(sorted(prefixes))})")
    plain = {k: v for k, v in overrides.items() if "__" not in k}
    valid = set(clf.get_params(deep=False))
    unknown = [k for k in plain if k not in valid]
    if unknown:
        raise ValueError(f"--skimb-set {', '.join(unknown)}: not a parameter of "
                         f"ImbalancedTorchClassifier (it takes {', '.join(sorted(valid))})")
    try:
        clf.set_params(**overrides)
    except (ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"ImbalancedTorchClassifier refuses --skimb-set "
                         f"{', '.join(overrides)}: {error}") from error


def make_skimb(args, seed):
    """``ImbalancedTorchClassifier(random_state=seed)`` with the run's ``--skimb-set``."""
    from skimb import ImbalancedTorchClassifier
    clf = ImbalancedTorchClassifier(random_state=seed)
    overrides = getattr(args, "skimb_params", None) or {}
    return clf.set_params(**overrides) if overrides else clf


def skimb_model_name(contender: str, label=None) -> str:
    """The row name of a skimb contender: itself, or ``skimb[label]``/``skimb_tuned[label]``."""
    if not label or contender not in VARIANT_PREFIX:
        return contender
    return f"{VARIANT_PREFIX[contender]}[{label}]"


def base_contender(model: str) -> str:
    """The contender a row's model belongs to: ``skimb[x]`` -> skimb_defaults,
    ``skimb_tuned[x]`` -> skimb_tuned, ``*_tuned`` decisions -> their model, else itself."""
    match = VARIANT.match(model)
    if match:
        return {"skimb": "skimb_defaults", "skimb_tuned": "skimb_tuned"}[match.group(1)]
    return re.sub(r"_tuned$", "", model)


def fit_name(model: str) -> str:
    """The fit a row comes from (a ``*_tuned`` decision row shares its model's fit)."""
    return model if VARIANT.match(model) else re.sub(r"_tuned$", "", model)


def order_models(models, suffixes=("", "_tuned")) -> list:
    """``models`` in the report's order: each contender of ``CONTENDER_NAMES``, its
    ``_tuned`` decisions, then its labelled variants (in sorted order); unknown names last."""
    models = list(dict.fromkeys(models))
    order = []
    for contender in CONTENDER_NAMES:
        order += [contender + s for s in suffixes if contender + s in models]
        order += sorted(m for m in models if VARIANT.match(m) and base_contender(m) == contender)
    return order + [m for m in models if m not in order]


def skimb_models(models) -> list:
    """The skimb_defaults-like models among ``models`` (the defaults and their variants)."""
    return [m for m in order_models(models) if base_contender(m) == "skimb_defaults"]


# ----------------------------------------------------------------------------- loading

def read_raw_table(source) -> tuple[pd.DataFrame, pd.Series]:
    """A breadth table as it comes: target in the last column, ``meta_*`` columns dropped,
    ``?`` and empty cells NaN, every non-numeric column a pandas ``category`` column
    (its levels are re-fitted on the training rows by the contenders that use them)."""
    frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(source, na_values=["?"])
    frame = frame.copy()
    y = frame.pop(frame.columns[-1])
    X = frame.drop(columns=[c for c in frame if str(c).startswith("meta_")])
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]) or pd.api.types.is_bool_dtype(X[column]):
            X[column] = X[column].astype("category")
        else:
            X[column] = X[column].astype(np.float64)
    return X.reset_index(drop=True), y.reset_index(drop=True)


def drop_rare_classes(X, y, min_rows: int = MIN_CLASS_ROWS):
    """The rows of the classes with at least ``min_rows`` rows, and ``{class: rows}`` of the
    classes dropped (a class too rare to stratify or score; the report lists them)."""
    counts = y.value_counts()
    rare = counts[counts < min_rows]
    dropped = {label: int(n) for label, n in sorted(rare.items(), key=lambda kv: str(kv[0]))}
    if not dropped:
        return X, y, dropped
    keep = ~y.isin(list(dropped)).to_numpy()
    y = y[keep].reset_index(drop=True)
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.cat.remove_unused_categories()
    return X[keep].reset_index(drop=True), y, dropped


def describe_dropped(name: str, dropped: dict, n_rows: int, min_rows: int = MIN_CLASS_ROWS) -> str:
    """One line for the report: which classes a table lost and how many rows."""
    if not dropped:
        return f"{name}: no class under {min_rows} rows, nothing dropped"
    rows = sum(dropped.values())
    listed = ", ".join(f"{label} ({n})" for label, n in dropped.items())
    return (f"{name}: dropped {len(dropped)} class(es) under {min_rows} rows, {rows} of "
            f"{n_rows} rows: {listed}")


def load_table(name: str, folder: Path, min_class_rows: int = MIN_CLASS_ROWS):
    """``(X, y, note)``; ``note`` is the dropped-classes line of a breadth table ('' else)."""
    path = folder / DATASETS[name]
    if name in BREADTH:
        X, y = read_raw_table(path)
        n_rows = len(y)
        X, y, dropped = drop_rare_classes(X, y, min_class_rows)
        return X, y, describe_dropped(name, dropped, n_rows, min_class_rows)
    if name == "rwis_iowa":
        from skimb.datasets import load_rwis_csv
        X, y = load_rwis_csv(path)
        return X.reset_index(drop=True), y.reset_index(drop=True), ""
    frame = pd.read_csv(path)
    y = frame.pop(frame.columns[-1])
    X = frame.drop(columns=[c for c in frame if c.startswith("meta_")])
    return X.astype(np.float64), y, ""


# ---------------------------------------------------------------------------- encoding

def categorical_columns(X) -> list:
    """The columns a contender should treat as categories: ``category``, object, string, bool."""
    return [c for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(X[c])
            or pd.api.types.is_bool_dtype(X[c])]


def numeric_columns(X) -> list:
    categorical = set(categorical_columns(X))
    return [c for c in X.columns if c not in categorical]


def make_encoder() -> ColumnTransformer:
    """The table plain skorch, logreg and (until it takes text and NaN) skimb see: one-hot
    text/category columns (``handle_unknown="ignore"``: a level unseen in training is all
    zeros; a missing category is a level of its own) and median-imputed numeric columns with
    a missing indicator for each column that had NaN in training. Fit it on training rows
    only (put it first in a Pipeline)."""
    return ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
          categorical_columns),
         ("numeric", SimpleImputer(strategy="median", add_indicator=True), numeric_columns)],
        sparse_threshold=0.0)


class TrainingCategories(TransformerMixin, BaseEstimator):
    """Sets every categorical column to a ``category`` column whose levels are those seen in
    the training rows (sorted); a level unseen in training becomes NaN. Gives LightGBM,
    HistGB (``categorical_features="from_dtype"``) and pytabkit the same categories at fit
    and predict time. Numeric columns pass through."""

    def fit(self, X, y=None):
        self.categories_ = {}
        for column in categorical_columns(X):
            self.categories_[column] = sorted({str(v) for v in X[column].dropna()})
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        X = X.copy()
        for column, levels in self.categories_.items():
            known = set(levels)
            values = [str(v) if pd.notna(v) and str(v) in known else None for v in X[column]]
            X[column] = pd.Categorical(values, categories=levels)
        return X

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names_in_, dtype=object)


def make_pytabkit_prep() -> ColumnTransformer:
    """pytabkit refuses NaN in numeric columns: the median-imputed numeric columns with
    missing indicators, and the categorical columns raw (``TrainingCategories``), as a
    DataFrame whose ``category`` columns pytabkit embeds or one-hot encodes itself."""
    return ColumnTransformer(
        [("categories", TrainingCategories(), categorical_columns),
         ("numeric", SimpleImputer(strategy="median", add_indicator=True), numeric_columns)],
        verbose_feature_names_out=False).set_output(transform="pandas")


def skimb_input(args):
    """What skimb_defaults/skimb_tuned are fitted on: the encoded table, or with
    ``--skimb-raw`` the raw DataFrame (text as ``category``, NaN as NaN), which skimb's
    built-in networks take since #20."""
    return "passthrough" if getattr(args, "skimb_raw", False) else make_encoder()


# ------------------------------------------------------------------------------ splits

def split(name, X, y, seed, max_train_rows):
    if name in TIME_ORDERED:
        cut = int(0.7 * len(X))
        X_train, X_test, y_train, y_test = X[:cut], X[cut:], y[:cut], y[cut:]
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed)
    if len(X_train) > max_train_rows:
        if name in TIME_ORDERED:
            X_train, y_train = X_train[-max_train_rows:], y_train[-max_train_rows:]
        else:
            X_train, _, y_train, _ = train_test_split(
                X_train, y_train, train_size=max_train_rows, stratify=y_train, random_state=seed)
    return X_train, X_test, y_train, y_test


def to_float32(X):
    return np.asarray(X, dtype=np.float32)


# --------------------------------------------------------------------------- contenders
# Each fit_* returns (predictions, chosen, fits): predictions an array or a dict suffix ->
# array, chosen a string for the report (or None), fits the number of model fits it took.

def fit_plain_skorch(X_train, y_train, X_test, n_classes, args, seed):
    from skorch import NeuralNetClassifier

    from skimb.modules import TabularMLP
    labels = LabelEncoder().fit(y_train)
    prep = make_pipeline(make_encoder(), StandardScaler(), FunctionTransformer(to_float32))
    Z_train = prep.fit_transform(X_train)
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        TabularMLP, module__n_features=Z_train.shape[1], module__n_outputs=n_classes,
        module__hidden_units=HIDDEN_UNITS, module__dropout=DROPOUT,
        criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=args.lr,
        max_epochs=args.max_epochs, batch_size=args.batch_size, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    net.fit(Z_train, labels.transform(y_train).astype(np.int64))
    return labels.inverse_transform(net.predict(prep.transform(X_test))), None, 1


def fit_skimb_defaults(X_train, y_train, X_test, args, seed):
    """skimb as a new user runs it: every parameter at its default but the seed (and those
    of ``--skimb-set``)."""
    clf = make_pipeline(skimb_input(args), make_skimb(args, seed))
    clf.fit(X_train, y_train)
    return clf.predict(X_test), None, 1


def fit_skimb_tuned(name, X_train, y_train, X_test, args, seed):
    """skimb's defaults (and ``--skimb-set``) with the strategy chosen by an inner search (the
    grid's settings win over ``--skimb-set`` where both name a parameter)."""
    from skimb.grid import default_strategy_grid, prefer_baseline
    # The (unsupervised) encoder is fitted on all the outer training rows, so the search's
    # parameter names stay those of the classifier; on the numeric tables it changes nothing.
    encoder = skimb_input(args)
    if not isinstance(encoder, str):
        encoder = encoder.fit(X_train)
        X_train, X_test = encoder.transform(X_train), encoder.transform(X_test)
    clf = make_skimb(args, seed)
    # LDAM-DRW re-weights from 2/3 of each fit's epoch budget (loss__drw_epoch=2/3). It was
    # epoch 40 (default_strategy_grid(clf.max_epochs) with max_epochs="auto" placed it at 2/3
    # of the fewest "auto" epochs, 60), which was 2/3 of the budget on tables of 21,334 rows or
    # more and earlier on smaller ones (1/6 of 240 epochs).
    grid = SMALL_GRID if args.grid == "small" else default_strategy_grid()
    folds = args.inner_folds
    if folds == 1:  # one 80/20 holdout split (the last 20% for a time-ordered table)
        rows, cut = np.arange(len(y_train)), int(0.8 * len(y_train))
        cv = ([(rows[:cut], rows[cut:])] if name in TIME_ORDERED
              else StratifiedShuffleSplit(1, test_size=0.2, random_state=seed))
    else:
        cv = (KFold(folds) if name in TIME_ORDERED
              else StratifiedKFold(folds, shuffle=True, random_state=seed))
    search = GridSearchCV(clf, grid, scoring="f1_macro", cv=cv, error_score="raise",
                          refit=prefer_baseline())
    search.fit(X_train, y_train)
    chosen = ", ".join(f"{k}={v}" for k, v in sorted(search.best_params_.items(), reverse=True))
    return search.predict(X_test), chosen, len(ParameterGrid(grid)) * folds + 1


def fit_sklearn(model, X_train, y_train, X_test, tuned_decisions=True):
    """The model's argmax predictions, and (``_tuned``) those of macro-F1-tuned offsets
    chosen on its 5-fold out-of-fold probabilities (``TunedDecisionClassifierCV``) — the
    refit on all rows is the plain model, so one fit gives both (6 fits in all).
    ``tuned_decisions=False``: one plain fit, argmax only."""
    if not tuned_decisions:
        model.fit(X_train, y_train)
        return model.predict(X_test), None, 1
    from skimb import TunedDecisionClassifierCV

    tuned = TunedDecisionClassifierCV(model, cv=5, random_state=0).fit(X_train, y_train)
    argmax = tuned.classes_[tuned.predict_proba(X_test).argmax(axis=1)]
    return {"": argmax, "_tuned": tuned.predict(X_test)}, None, 6


def fit_pytabkit(model, X_train, y_train, X_test):
    """A pytabkit model at its defaults behind ``make_pytabkit_prep``: one fit (pytabkit
    holds out its own 20% validation split for the best epoch)."""
    model = make_pipeline(make_pytabkit_prep(), model)
    model.fit(X_train, y_train)
    return np.asarray(model.predict(X_test)).ravel(), None, 1


def contenders(seed, threads=None):
    """``(name, factory)`` of the scikit-learn-style models (those that are installed)."""
    yield "logreg_balanced", lambda: make_pipeline(
        make_encoder(), StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000))
    yield "histgb_balanced", lambda: make_pipeline(
        TrainingCategories(),
        HistGradientBoostingClassifier(class_weight="balanced", categorical_features="from_dtype",
                                       random_state=seed))
    try:
        from lightgbm import LGBMClassifier
    except ImportError:
        pass
    else:
        yield "lightgbm_balanced", lambda: make_pipeline(
            TrainingCategories(),
            LGBMClassifier(class_weight="balanced", random_state=seed, verbose=-1,
                           n_jobs=threads or 1))
    try:
        from pytabkit import RealMLP_TD_Classifier, TabM_D_Classifier
    except ImportError:
        return
    yield "realmlp_td", lambda: RealMLP_TD_Classifier(
        random_state=seed, n_threads=threads or 1, device="cpu")
    yield "tabm_d", lambda: TabM_D_Classifier(
        random_state=seed, n_threads=threads or 1, device="cpu")


def host_description() -> str:
    """CPU model and logical cores of this machine, for the report."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def selected_tables(args) -> list:
    if args.only:
        return args.only
    return list({"classic": CLASSIC, "breadth": BREADTH, "all": DATASETS}[args.tables])


def skimb_source() -> str:
    """Where the benchmarked skimb came from, in words a reader can reproduce: this
    repository at its commit (marked when the working tree has changes under skimb/), or the
    folder of a copy imported from elsewhere (an export put first on PYTHONPATH)."""
    import skimb

    package = Path(skimb.__file__).resolve().parent
    repo = Path(__file__).resolve().parents[1]
    if package != repo / "skimb":
        return str(package)
    git = ["git", "-C", str(repo)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "skimb"], capture_output=True,
                             text=True).stdout.strip()
    return f"this repository at {commit or 'an unknown commit'}" + (
        " with uncommitted changes" if changed else "")


def run(args):
    folder = Path(args.datasets_dir)
    wanted = args.contenders or DEFAULT_CONTENDERS
    rows, chosen_by_dataset = [], {}
    command = "python bench/quality.py " + " ".join(shlex.quote(a) for a in (args.argv or []))
    host, threads = host_description(), torch.get_num_threads()
    skimb_from = skimb_source()
    for name in selected_tables(args):
        if not (folder / DATASETS[name]).exists():
            print(f"skip {name}: {folder / DATASETS[name]} not found", file=sys.stderr)
            continue
        X, y, note = load_table(name, folder, args.min_class_rows)
        if note:
            print(note, file=sys.stderr)
        n_classes = y.nunique()
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            X_train, X_test, y_train, y_test = split(name, X, y, seed, args.max_train_rows)
            runs = {
                "plain_skorch": lambda: fit_plain_skorch(X_train, y_train, X_test, n_classes, args, seed),
                "skimb_defaults": lambda: fit_skimb_defaults(X_train, y_train, X_test, args, seed),
                "skimb_tuned": lambda: fit_skimb_tuned(name, X_train, y_train, X_test, args, seed),
            }
            for label, factory in contenders(seed, args.threads):
                if label in SKLEARN_CONTENDERS:
                    runs[label] = lambda factory=factory: fit_sklearn(
                        factory(), X_train, y_train, X_test, args.tuned_decisions)
                else:
                    runs[label] = lambda factory=factory: fit_pytabkit(
                        factory(), X_train, y_train, X_test)
            for label in CONTENDER_NAMES:
                if label not in wanted:
                    continue
                if label not in runs:
                    print(f"skip {label}: not installed", file=sys.stderr)
                    continue
                model = skimb_model_name(label, getattr(args, "skimb_label", None))
                base = {"dataset": name, "seed": seed, "model": model, "command": command,
                        "host": host, "threads": threads, "dropped": note, "skimb": skimb_from,
                        "n_train": len(y_train), "n_test": len(y_test),
                        "skimb_input": None, "skimb_params": None}
                if label in VARIANT_PREFIX:
                    base["skimb_input"] = "raw" if getattr(args, "skimb_raw", False) else "encoded"
                    recorded = dict(getattr(args, "skimb_params", None) or {})
                    if getattr(args, "auto_budget", None):
                        recorded["recipe.auto_budget"] = args.auto_budget
                    base["skimb_params"] = repr(recorded)
                start = time.perf_counter()
                try:
                    y_pred, chosen, fits = runs[label]()
                except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                    if args.fail_fast:
                        raise
                    seconds = time.perf_counter() - start
                    message = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                    traceback.print_exc()
                    rows.append({**base, "macro_f1": np.nan, "seconds": seconds, "fits": 0,
                                 "chosen": None, "error": message})
                    print(f"{name:13s} seed={seed} {model:24s} FAILED ({seconds:.0f}s): {message}",
                          flush=True)
                else:
                    seconds = time.perf_counter() - start
                    if chosen:
                        chosen_by_dataset.setdefault(name, []).append(chosen)
                    predictions = y_pred if isinstance(y_pred, dict) else {"": y_pred}
                    for suffix, pred in predictions.items():
                        score = f1_score(y_test, pred, average="macro")
                        rows.append({**base, "model": model + suffix, "macro_f1": score,
                                     "seconds": seconds, "fits": fits, "chosen": chosen,
                                     "error": None})
                        print(f"{name:13s} seed={seed} {model + suffix:24s} macro-F1={score:.3f} "
                              f"({seconds:.0f}s){'  ' + chosen if chosen else ''}", flush=True)
                if args.rows_out:
                    pd.DataFrame(rows).to_csv(args.rows_out, index=False)
    return pd.DataFrame(rows), chosen_by_dataset


def merge_rows(paths) -> pd.DataFrame:
    """The rows of several ``--rows-out`` CSVs as one frame; a (dataset, seed, model) run in
    more than one file keeps the later file's row; columns older files lack are filled."""
    frames = [pd.read_csv(path) for path in paths]
    results = pd.concat(frames, ignore_index=True)
    for column, fill in (("fits", np.nan), ("error", None), ("dropped", None), ("command", None),
                         ("host", None), ("threads", np.nan), ("chosen", None),
                         ("skimb_input", None), ("skimb_params", None)):
        if column not in results:
            results[column] = fill
    if "fits" in results:  # rows saved before the column: sklearn rows were 6 fits, others 1
        sklearn = results["model"].map(base_contender).isin(SKLEARN_CONTENDERS)
        results["fits"] = results["fits"].fillna(pd.Series(np.where(sklearn, 6, 1),
                                                           index=results.index))
    # A successful row beats a failed one; among rows alike, the later file's wins.
    results = results.assign(_ok=results["macro_f1"].notna()).sort_values("_ok", kind="stable")
    results = results.drop_duplicates(subset=["dataset", "seed", "model"], keep="last")
    return results.drop(columns="_ok").sort_index().reset_index(drop=True)


# ------------------------------------------------------------------------------ reports

def report(results: pd.DataFrame, chosen: dict, args) -> str:
    """The layout of docs/benchmarks/quality.md (mean test macro-F1 per table and model)."""
    from skimb.grid import default_strategy_grid
    results = results[results["macro_f1"].notna()]
    table = results.pivot_table(index="dataset", columns="model", values="macro_f1", aggfunc="mean")
    order = order_models(table.columns)
    table = table.loc[[d for d in DATASETS if d in table.index], order]
    ours = "skimb_tuned" if "skimb_tuned" in table else "skimb_defaults"
    if "skimb_defaults" in table and "plain_skorch" in table:
        table["defaults_vs_skorch"] = table["skimb_defaults"] - table["plain_skorch"]
    boosting = [c for c in ("histgb_balanced", "lightgbm_balanced") if c in table.columns]
    if ours in table and boosting:
        table[f"{ours}_vs_best_gb"] = table[ours] - table[boosting].max(axis=1)
    mean = table.mean().to_frame().T
    mean.index = ["**mean**"]
    table = pd.concat([table, mean])
    if chosen:
        table["strategy chosen (most often)"] = [
            Counter(chosen.get(d, ["-"])).most_common(1)[0][0] if d in chosen else ""
            for d in table.index]
    search = ("one 80/20 holdout split" if args.inner_folds == 1
              else f"a {args.inner_folds}-fold inner GridSearchCV")
    n_settings = len(ParameterGrid(SMALL_GRID if args.grid == "small" else default_strategy_grid()))
    refit_rule = ("" if args.inner_folds == 1 else
                  ", refitting the best only when it beats plain `none + ce` by more than one "
                  "standard error of the per-fold gains (`skimb.grid.prefer_baseline`)")
    header = (
        f"Mean test macro-F1 over {results['seed'].nunique()} seed(s); stratified 70/30 split "
        f"(rwis_iowa: time-ordered), at most {args.max_train_rows} training rows. "
        f"plain skorch: MLP {HIDDEN_UNITS}, dropout {DROPOUT}, Adam lr={args.lr}, batch "
        f"{args.batch_size}, {args.max_epochs} epochs; skimb: its defaults "
        f"(`ImbalancedTorchClassifier(random_state=seed)`); {torch.get_num_threads()} torch "
        f"thread(s); skimb_tuned's strategy from {search} over {n_settings} settings"
        f"{refit_rule}.\n\n"
    )
    return header + _markdown(table) + "\n"


def _markdown(frame: pd.DataFrame, floatfmt: str = ".3f", **kwargs) -> str:
    if _has_tabulate():
        return frame.to_markdown(floatfmt=floatfmt, missingval="—", **kwargs).replace(" nan ", "  —  ")
    return frame.to_string(float_format=("%" + floatfmt).__mod__)


def _ordered_models(models) -> list:
    return order_models(models)


def _group(name: str) -> str:
    return "breadth" if name in BREADTH else "classic"


def skimb_setup(results: pd.DataFrame, model: str, args=None) -> tuple[bool, dict]:
    """``(raw, overrides)`` of a skimb model's rows: whether it was given the raw DataFrame
    and its ``--skimb-set`` parameters, as its rows recorded them (rows saved before those
    columns: skimb_defaults on the encoded table, or what ``args`` says)."""
    part = results[results["model"] == model]
    recorded_input = part["skimb_input"].dropna() if "skimb_input" in part else ()
    recorded_params = part["skimb_params"].dropna() if "skimb_params" in part else ()
    if len(recorded_input):
        raw = recorded_input.iloc[0] == "raw"
    else:
        raw = bool(getattr(args, "skimb_raw", False)) and not getattr(args, "from_rows", None)
    params = {}
    if len(recorded_params):
        try:
            params = ast.literal_eval(recorded_params.iloc[0])
        except (ValueError, SyntaxError):
            params = {"?": recorded_params.iloc[0]}
    return raw, params


def parse_pair(text: str) -> tuple[str, str]:
    """``"A:B"`` of ``--versus``: model A against model B (row names, e.g.
    ``skimb[raw_e60]:plain_skorch``). An argparse ``type``."""
    ours, sep, theirs = text.partition(":")
    if not sep or not ours.strip() or not theirs.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not A:B (two model names)")
    return ours.strip(), theirs.strip()


def compare_report(results: pd.DataFrame, pairs, tie: float = TIE) -> str:
    """Markdown for ``--report compare``: (1) per table the mean ± std over seeds of every
    model in ``results`` (those named in ``pairs`` first); (2) for each ``(A, B)`` of
    ``pairs``, per table A − B (the difference of the means over the seeds both ran, and the
    std over seeds of the per-seed differences), the mean over the tables, and on how many
    tables A is at least level with B (A − B >= -tie); (3) seconds per fit, per table."""
    means, stats = score_table(results)
    named = list(dict.fromkeys(m for pair in pairs for m in pair))
    missing = [m for m in named if m not in means.columns]
    if missing:
        raise ValueError(f"--versus names model(s) not in the rows: {', '.join(missing)} "
                         f"(the rows have: {', '.join(order_models(means.columns))})")
    models = named + [m for m in order_models(means.columns) if m not in named]
    tables = [d for d in DATASETS if d in means.index]

    def cell(d, m):
        if (d, m) not in stats.index:
            return "—"
        mean, std, count = stats.loc[(d, m)]
        return f"{mean:.3f}" + (f" ± {std:.3f}" if count > 1 else "") + f" [{int(count)}]"

    scores = pd.DataFrame({m: [cell(d, m) for d in tables] for m in models}, index=tables)
    scores.loc["**mean over tables**"] = [
        f"{means[m].dropna().mean():.3f} ({means[m].notna().sum()})" for m in models]
    diffs, level_lines = {}, []
    for ours, theirs in pairs:
        versus = skimb_vs_lightgbm(results, ours=ours, theirs=theirs, tie=tie)
        column = []
        for d in tables:
            if d not in versus.index:
                column.append("—")
                continue
            spread = versus.loc[d, "diff_std"]
            column.append(f"{versus.loc[d, 'diff']:+.3f}"
                          + (f" ± {spread:.3f}" if pd.notna(spread) else "")
                          + ("" if versus.loc[d, "diff"] >= -tie else " (short)"))
        level = versus["diff"] >= -tie
        column.append(f"{versus['diff'].mean():+.3f} ({len(versus)})" if len(versus) else "—")
        column.append(f"{int(level.sum())} of {len(versus)}" if len(versus) else "—")
        diffs[f"{ours} − {theirs}"] = column
        if len(versus):
            short = versus.loc[~level, "diff"]
            level_lines.append(
                f"- **{ours} against {theirs}:** at least level (difference >= -{tie}) on "
                f"{int(level.sum())} of {len(versus)} tables; mean difference "
                f"{versus['diff'].mean():+.4f}; per table "
                + ", ".join(f"{d} {v:+.4f}" for d, v in versus["diff"].items())
                + ("; short on " + ", ".join(short.index) if len(short) else "") + ".")
    diffs = pd.DataFrame(diffs, index=tables + ["**mean over tables**",
                                                f"at least level (>= -{tie})"])
    out = ["Test macro-F1, mean ± std over seeds (`[n]`: seeds); mean row: the mean of the "
           "per-table means (tables in brackets).", "",
           _markdown(scores, disable_numparse=True), "",
           "A − B per table: the difference of the means over the seeds both ran ± the std "
           f"over seeds of the per-seed differences; `(short)`: below -{tie}.", "",
           _markdown(diffs, disable_numparse=True), "", *level_lines, ""]
    costs = cost_per_fit(results)
    if len(costs):
        per_fit = results[results["macro_f1"].notna() & (results["fits"] > 0)].copy()
        per_fit["contender"] = per_fit["model"].map(fit_name)
        per_fit = per_fit.drop_duplicates(subset=["dataset", "seed", "contender"])
        per_fit["s"] = per_fit["seconds"] / per_fit["fits"]
        grid = per_fit.pivot_table(index="dataset", columns="contender", values="s",
                                   aggfunc="mean")
        grid = grid.loc[[d for d in DATASETS if d in grid.index],
                        [m for m in models if m in grid.columns]]
        grid.loc["**mean**"] = costs["s per fit (all)"].reindex(grid.columns)
        if "n_train" in per_fit:
            rows_train = per_fit.groupby("dataset")["n_train"].max()
            grid.insert(0, "train rows", [f"{int(rows_train[d]):,}" if d in rows_train else ""
                                          for d in grid.index])
        out += ["Seconds per fit (wall, predicting the test rows included), per table:", "",
                _markdown(grid, floatfmt=".1f"), ""]
    return "\n".join(out)


def score_table(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (table, model): mean, std and count of the test macro-F1 over seeds."""
    ok = results[results["macro_f1"].notna()]
    stats = ok.groupby(["dataset", "model"])["macro_f1"].agg(["mean", "std", "count"])
    return stats["mean"].unstack(), stats


def skimb_vs_lightgbm(results: pd.DataFrame, ours="skimb_defaults", theirs="lightgbm_balanced",
                      tie: float = TIE) -> pd.DataFrame:
    """Per table: both means over the seeds both ran, the difference of the means (``diff``),
    the std over seeds of the per-seed differences (``diff_std``) and win/tie/loss for
    ``ours``. Any two models: a skimb variant (``skimb[NAME]``) against LightGBM, or against
    another model (``--report compare``)."""
    ok = results[results["macro_f1"].notna() & results["model"].isin([ours, theirs])]
    wide = ok.pivot_table(index=["dataset", "seed"], columns="model", values="macro_f1")
    if ours == theirs or ours not in wide or theirs not in wide:
        return pd.DataFrame(columns=["ours", "theirs", "diff", "diff_std", "verdict", "seeds"])
    wide = wide.dropna(subset=[ours, theirs])
    wide = wide.assign(_diff=wide[ours] - wide[theirs])
    per_table = wide.groupby(level="dataset").agg(ours=(ours, "mean"), theirs=(theirs, "mean"),
                                                  seeds=(ours, "count"),
                                                  diff_std=("_diff", "std"))
    per_table["diff"] = per_table["ours"] - per_table["theirs"]
    per_table["verdict"] = np.select([per_table["diff"] > tie, per_table["diff"] < -tie],
                                     ["win", "loss"], "tie")
    return per_table.loc[[d for d in DATASETS if d in per_table.index]]


def cost_per_fit(results: pd.DataFrame) -> pd.DataFrame:
    """Mean wall seconds per model fit, per contender (a ``_tuned`` row shares its fit)."""
    done = results[results["macro_f1"].notna() & (results["fits"] > 0)].copy()
    done["contender"] = done["model"].map(fit_name)
    done = done.drop_duplicates(subset=["dataset", "seed", "contender"])
    done["per_fit"] = done["seconds"] / done["fits"]
    done["group"] = done["dataset"].map(_group)
    rows = {}
    for contender, part in done.groupby("contender"):
        row = {"fits": int(part["fits"].sum()), "tables": part["dataset"].nunique(),
               "s per fit (all)": part["per_fit"].mean()}
        for group in ("classic", "breadth"):
            inside = part[part["group"] == group]
            row[f"s per fit ({group})"] = inside["per_fit"].mean() if len(inside) else np.nan
        row["slowest table"] = (part.groupby("dataset")["per_fit"].mean().idxmax())
        row["its s per fit"] = part.groupby("dataset")["per_fit"].mean().max()
        row["total s"] = part["seconds"].sum()
        rows[contender] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.loc[order_models(frame.index, suffixes=("",))]


def coverage(results: pd.DataFrame, wanted=None) -> list[str]:
    """Lines saying, per contender, on how many tables and seeds it ran, and what failed."""
    tables = [d for d in DATASETS if d in set(results["dataset"])]
    seeds = sorted(results["seed"].unique())
    lines = []
    base = results.assign(contender=results["model"].map(fit_name))
    for contender in order_models(list(CONTENDER_NAMES) + list(base["contender"]),
                                  suffixes=("",)):
        part = base[base["contender"] == contender]
        if part.empty:
            if wanted and contender in wanted:
                lines.append(f"`{contender}`: did not run on any table")
            continue
        ok = part[part["macro_f1"].notna()]
        ran = ok.groupby("dataset")["seed"].apply(lambda s: sorted(set(s)))
        full = [d for d in tables if d in ran.index and len(ran[d]) == len(seeds)]
        partial = [f"{d} (seed {', '.join(map(str, ran[d]))})" for d in tables
                   if d in ran.index and d not in full]
        missing = [d for d in tables if d not in ran.index]
        text = f"`{contender}`: {len(ran)} of {len(tables)} tables"
        every = f"seed {seeds[0]}" if len(seeds) == 1 else f"all {len(seeds)} seeds"
        if len(ran) and not partial and not missing:
            text += f", {every}"
        elif full:
            text += f"; {every} on {len(full)}"
        if partial:
            text += "; fewer seeds on " + ", ".join(partial)
        if missing:
            text += "; not run on " + ", ".join(missing)
        failed = part[part["macro_f1"].isna()]
        if len(failed):
            first = failed.iloc[0]
            text += (f"; **{len(failed)} fit(s) failed** (e.g. {first['dataset']} seed "
                     f"{first['seed']}: {first['error']})")
        lines.append(text)
    return lines


def breadth_report(results: pd.DataFrame, args, notes: str = "") -> str:
    """docs/benchmarks/breadth.md: the defaults on every table, the peers, the cost."""
    ok = results[results["macro_f1"].notna()]
    means, stats = score_table(results)
    models = _ordered_models(means.columns)
    tables = [d for d in DATASETS if d in means.index]
    n_seeds = int(ok.groupby(["dataset", "model"])["seed"].nunique().max())

    def cell(d, m):
        if (d, m) not in stats.index:
            return "—"
        mean, std, count = stats.loc[(d, m)]
        text = f"{mean:.3f}" + (f" ± {std:.3f}" if count > 1 else "")
        return text + (f" [{int(count)}]" if count < n_seeds else "")

    # Each skimb model (skimb_defaults, skimb[NAME] variants) against LightGBM; one pair of
    # columns each, named after the model when there is more than skimb_defaults.
    versus_all = {m: skimb_vs_lightgbm(results, ours=m) for m in skimb_models(models)}
    versus_all = {m: v for m, v in versus_all.items() if len(v)}
    if list(versus_all) in ([], ["skimb_defaults"]):
        columns = {m: ("skimb − lgbm", "vs lgbm") for m in versus_all}
    else:
        columns = {m: (f"{m} − lgbm", f"{m} vs lgbm") for m in versus_all}
    body = pd.DataFrame({m: [cell(d, m) for d in tables] for m in models}, index=tables)
    body.insert(0, "set", [_group(d) for d in tables])
    for m, versus in versus_all.items():
        diff_col, verdict_col = columns[m]
        body[diff_col] = [f"{versus.loc[d, 'diff']:+.3f}" if d in versus.index else "—"
                          for d in tables]
        body[verdict_col] = [versus.loc[d, "verdict"] if d in versus.index else "—"
                             for d in tables]
    base_models = [m for m in models if fit_name(m) == m]
    common = [d for d in tables if all(pd.notna(means.loc[d].get(m)) for m in base_models)]
    summary_rows = {}
    for label, subset in ((f"**mean, all tables it ran on**", tables),
                          ("mean, classic tables", [d for d in tables if d in CLASSIC]),
                          ("mean, breadth tables", [d for d in tables if d in BREADTH]),
                          (f"mean, the {len(common)} tables every contender ran on", common)):
        if not subset:
            continue
        row = {"set": ""}
        for m in models:
            values = means.loc[subset, m].dropna()
            row[m] = f"{values.mean():.3f} ({len(values)})" if len(values) else "—"
        for m, versus in versus_all.items():
            diff_col, verdict_col = columns[m]
            inside = versus.loc[[d for d in subset if d in versus.index]]
            row[diff_col] = f"{inside['diff'].mean():+.3f}" if len(inside) else "—"
            counts = inside["verdict"].value_counts()
            row[verdict_col] = (f"{counts.get('win', 0)}W {counts.get('tie', 0)}T "
                                f"{counts.get('loss', 0)}L" if len(inside) else "—")
        summary_rows[label] = row
    body = pd.concat([body, pd.DataFrame.from_dict(summary_rows, orient="index")])

    hosts = sorted(results["host"].dropna().unique()) if "host" in results else []
    threads = sorted({int(t) for t in results["threads"].dropna()}) if "threads" in results else []
    commands = [c for c in dict.fromkeys(results["command"].dropna())] if "command" in results else []
    dropped = (results[results["dataset"].isin(BREADTH)].groupby("dataset")["dropped"].first()
               if "dropped" in results else pd.Series(dtype=object))
    skimb_from = sorted(results["skimb"].dropna().unique()) if "skimb" in results else []
    # --from-rows: only the contenders named in --contenders are missed when absent
    wanted = args.contenders if getattr(args, "from_rows", None) else (
        args.contenders or DEFAULT_CONTENDERS)
    encoded = ("behind `make_encoder()`, the table plain skorch sees: a `ColumnTransformer` "
               "fitted on the training rows, one-hot text columns (`handle_unknown=\"ignore\"`) "
               "and median-imputed numeric columns with missing indicators")
    skimb_lines = []
    for m in skimb_models(models):
        raw, params = skimb_setup(results, m, args)
        settings = "".join(f", {k}={v!r}" for k, v in params.items())
        skimb_lines.append(
            f"- `{m}`: `ImbalancedTorchClassifier(random_state=seed{settings})` "
            + ("on the raw DataFrame (`--skimb-raw`: text as `category`, NaN as NaN)" if raw
               else encoded) + ";")
    out = ["# Breadth benchmark: the defaults on 18 tables", ""]
    out += [
        "Issue #21 asks whether skimb's defaults hold beyond the 11 numeric tables they were "
        "chosen on. This page adds the 7 raw tables of `../shared/datasets/breadth/` (text "
        "categories, missing values) and runs every contender on the same rows and splits: "
        f"stratified 70/30 (rwis_iowa: time-ordered), seeds {', '.join(map(str, sorted(ok['seed'].unique())))}, "
        f"at most {args.max_train_rows:,} training rows, test **macro-F1**.",
        "",
        *skimb_lines,
        f"- `plain_skorch`: `make_encoder()`'s table, StandardScaler, MLP {HIDDEN_UNITS}, Adam "
        f"lr={args.lr}, {args.max_epochs} epochs;",
        "- `histgb_balanced` (`categorical_features=\"from_dtype\"`) and `lightgbm_balanced`: "
        "`class_weight=\"balanced\"`, text columns as pandas `category` columns (levels from the "
        "training rows), NaN left as NaN"
        + ("; `*_tuned`: the same fit with macro-F1-tuned decisions (`TunedDecisionClassifierCV`, "
           "5-fold cross-fitting)" if any(m.endswith("_tuned") for m in models) else "")
        + ";",
        "- `realmlp_td`, `tabm_d`: pytabkit's `RealMLP_TD_Classifier` and `TabM_D_Classifier` at "
        "their defaults (`random_state=seed`, `device=\"cpu\"`, `n_threads` = the run's threads; "
        "their own 20% validation split for the best epoch), given median-imputed numeric "
        "columns with missing indicators and the raw `category` columns.",
        "",
        f"Hardware: {'; '.join(hosts) or 'not recorded'}, shared with other work; "
        f"{', '.join(map(str, threads)) or '?'} thread(s) per fit (torch, OpenMP, LightGBM, "
        "pytabkit), one benchmark process at a time under `nice -n 10`; skimb: "
        f"{', '.join(skimb_from) or 'not recorded'}. Commands (each run "
        "saved its rows with `--rows-out`; this page is their merge with `--from-rows`):",
        "",
    ]
    out += [f"    {c}" for c in commands] + [""]
    out += ["**Classes dropped** (fewer than "
            f"{args.min_class_rows} rows: too rare to stratify and score):", ""]
    out += [f"- {line}" for line in dropped.dropna()] + [""]
    out += ["**What ran and what did not:**", ""]
    out += [f"- {line}" for line in coverage(results, wanted)] + [""]
    versus_text = (" `skimb − lgbm`: skimb_defaults − lightgbm_balanced over the seeds both "
                   "ran; `vs lgbm`: win / tie / loss for skimb" if list(columns) == ["skimb_defaults"]
                   else " `M − lgbm`: skimb model M − lightgbm_balanced over the seeds both ran; "
                   "`M vs lgbm`: win / tie / loss for M" if columns else "")
    out += ["## Test macro-F1", "",
            f"Mean ± std over seeds; `[n]`: only n of {n_seeds} seeds ran.{versus_text}"
            + (f", tie = within {TIE}." if columns else "")
            + " Summary rows: the mean of the per-table means (how many tables in brackets).", ""]
    out += [_markdown(body, disable_numparse=True), ""]
    for m, versus in versus_all.items():
        counts = versus["verdict"].value_counts()
        out += [f"**{m} against lightgbm_balanced:** {counts.get('win', 0)} wins, "
                f"{counts.get('tie', 0)} ties, {counts.get('loss', 0)} losses over "
                f"{len(versus)} tables (tie = within {TIE}); mean difference "
                f"{versus['diff'].mean():+.3f}. Largest gaps: "
                + ", ".join(f"{d} {versus.loc[d, 'diff']:+.3f}"
                            for d in versus["diff"].abs().sort_values(ascending=False).index[:4])
                + ".", ""]
    costs = cost_per_fit(results)
    if len(costs):
        out += ["## Cost per fit", "",
                "Mean wall seconds of one fit (predicting the test rows included), per contender; "
                "a `TunedDecisionClassifierCV` run is counted as its 6 fits (5 cross-fits on 80% "
                "of the rows and the refit). Timed on the shared machine above, so "
                "read them to ±20%.", ""]
        out += [_markdown(costs.rename_axis("contender"), floatfmt=".1f"), ""]
        per_fit = results[results["macro_f1"].notna() & (results["fits"] > 0)].copy()
        per_fit["contender"] = per_fit["model"].map(fit_name)
        per_fit = per_fit.drop_duplicates(subset=["dataset", "seed", "contender"])
        per_fit["s"] = per_fit["seconds"] / per_fit["fits"]
        grid = per_fit.pivot_table(index="dataset", columns="contender", values="s", aggfunc="mean")
        grid = grid.loc[[d for d in DATASETS if d in grid.index],
                        order_models(grid.columns, suffixes=("",))]
        rows_train = per_fit.groupby("dataset")["n_train"].max() if "n_train" in per_fit else None
        if rows_train is not None:
            grid.insert(0, "train rows", rows_train.reindex(grid.index).astype("Int64"))
        out += ["Seconds per fit, per table:", "", _markdown(grid, floatfmt=".1f"), ""]
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)


def publish(text: str, out=None) -> None:
    """Print a markdown report and, when ``out`` is given, write it there (UTF-8)."""
    print("\n" + text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def default_datasets_dir() -> str:
    return os.environ.get(
        "SKIMB_DATASETS", str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-dir", default=default_datasets_dir())
    parser.add_argument("--tables", choices=["all", "classic", "breadth"], default="all",
                        help="which tables: the 11 numeric ones, the 7 of breadth/, or all 18")
    parser.add_argument("--only", nargs="*", choices=list(DATASETS),
                        help="these tables only (overrides --tables)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1 (to split a run)")
    parser.add_argument("--max-train-rows", type=int, default=30_000)
    parser.add_argument("--min-class-rows", type=int, default=MIN_CLASS_ROWS,
                        help="breadth tables: drop the classes with fewer rows than this")
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--inner-folds", type=int, default=5,
                        help="folds of skimb's inner strategy search (1: one 80/20 holdout split)")
    parser.add_argument("--grid", choices=["default", "small"], default="default",
                        help="skimb_tuned's search space: skimb.grid.default_strategy_grid (10 "
                             "settings) or SMALL_GRID (4)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int,
                        help="threads per fit: torch, OpenMP/BLAS (threadpoolctl), LightGBM, "
                             "pytabkit (default: torch's choice; LightGBM and pytabkit 1)")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDER_NAMES,
                        help=f"run only these contenders (default: {' '.join(DEFAULT_CONTENDERS)})")
    parser.add_argument("--tuned-decisions", action=argparse.BooleanOptionalAction, default=True,
                        help="also report the scikit-learn models with TunedDecisionClassifierCV "
                             "(6 fits each); --no-tuned-decisions: one plain fit")
    parser.add_argument("--skimb-raw", action="store_true",
                        help="give skimb the raw DataFrame (text as category, NaN) instead of "
                             "make_encoder()'s table (rows labelled 'raw' unless --skimb-label)")
    parser.add_argument("--skimb-set", action="append", type=parse_skimb_set, default=[],
                        metavar="KEY=VALUE",
                        help="set an ImbalancedTorchClassifier parameter of skimb_defaults and "
                             "skimb_tuned (repeatable; VALUE read by ast.literal_eval, else a "
                             "string): --skimb-set max_epochs=60 --skimb-set module=tabm; "
                             "needs --skimb-label")
    parser.add_argument("--skimb-label", metavar="NAME",
                        help="save the skimb rows as skimb[NAME] and skimb_tuned[NAME] "
                             "(letters, digits, _ . + -), to report next to skimb_defaults")
    parser.add_argument("--auto-budget", type=parse_auto_budget, metavar="MIN:MAX:VISITS",
                        help="a study of the epoch budget: max_epochs='auto' runs between MIN "
                             "and MAX epochs aiming at VISITS row visits, instead of "
                             "skimb.recipe's AUTO_MIN_EPOCHS:AUTO_MAX_EPOCHS:AUTO_ROW_VISITS "
                             "(60:240:1280000; needs --skimb-label)")
    parser.add_argument("--fail-fast", action="store_true",
                        help="raise on a failed fit (default: record it and go on)")
    parser.add_argument("--report", choices=["breadth", "quality", "compare"], default="breadth",
                        help="layout of --out: breadth.md (default), quality.md's table, or "
                             "compare (the --versus pairs' per-table differences)")
    parser.add_argument("--versus", nargs="+", type=parse_pair, default=[], metavar="A:B",
                        help="--report compare: model A against model B (row names), e.g. "
                             "'skimb[raw_e60]:plain_skorch'")
    parser.add_argument("--notes", help="a markdown file appended to the breadth report")
    parser.add_argument("--out", help="write the markdown report here")
    parser.add_argument("--rows-out", help="also save every (dataset, seed, model) score as CSV")
    parser.add_argument("--from-rows", nargs="+",
                        help="skip fitting: report the merged CSVs saved by earlier --rows-out "
                             "runs (a run repeated in a later file replaces the earlier one)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one seed, 3 epochs, 2000 training rows")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args.skimb_params = skimb_overrides(args.skimb_set)
    except ValueError as error:
        parser.error(str(error))
    if args.skimb_label is not None and not LABEL.fullmatch(args.skimb_label):
        parser.error(f"--skimb-label {args.skimb_label!r}: use letters, digits and _ . + - only")
    if args.skimb_params and not args.skimb_label:
        parser.error("--skimb-set needs --skimb-label NAME: its rows are saved as skimb[NAME], "
                     "not as skimb_defaults")
    if args.auto_budget is not None:
        if not args.skimb_label:
            parser.error("--auto-budget needs --skimb-label NAME")
        import skimb.recipe
        (skimb.recipe.AUTO_MIN_EPOCHS, skimb.recipe.AUTO_MAX_EPOCHS,
         skimb.recipe.AUTO_ROW_VISITS) = args.auto_budget
    if args.skimb_raw and not args.skimb_label:
        args.skimb_label = "raw"
    if args.from_rows and (args.skimb_params or args.skimb_raw or args.skimb_label):
        parser.error("--skimb-set, --skimb-label and --skimb-raw apply to a run, not to "
                     "--from-rows (the rows say how each skimb model ran)")
    if args.report == "compare" and not args.versus:
        parser.error("--report compare needs --versus A:B [A:B ...]")
    if args.skimb_params and not args.from_rows:
        try:
            check_skimb_overrides(args.skimb_params)
        except ValueError as error:
            parser.error(str(error))
    if args.quick:
        args.seeds, args.max_epochs, args.max_train_rows, args.inner_folds = 1, 3, 2000, 3
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.from_rows:
        results = merge_rows(args.from_rows)
        chosen = results.dropna(subset=["chosen"]).groupby("dataset")["chosen"].agg(list).to_dict()
    elif args.threads:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(args.threads):
            results, chosen = run(args)
    else:
        results, chosen = run(args)
    if args.rows_out:
        results.to_csv(args.rows_out, index=False)
    if results.empty or results["macro_f1"].notna().sum() == 0:
        print("no result; nothing to report")
        return
    if args.report == "quality":
        text = "# Quality benchmark\n\n" + report(results, chosen, args)
    elif args.report == "compare":
        try:
            text = compare_report(results, args.versus)
        except ValueError as error:
            parser.error(str(error))
    else:
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
        text = breadth_report(results, args, notes)
    publish(text, args.out)


if __name__ == "__main__":
    main()
