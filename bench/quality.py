"""Quality benchmark: macro-F1 of skimb against what a user would otherwise pick.

On the real imbalanced tables of ``../shared/datasets`` (any that are absent are
skipped), with stratified 70/30 splits over several seeds (RWIS: time-ordered
70/30 split), it compares

* plain skorch ``NeuralNetClassifier``: StandardScaler, an MLP 128x128, Adam,
  ``--max-epochs`` epochs on all training rows (the first round's yardstick);
* ``skimb_defaults``: ``ImbalancedTorchClassifier(random_state=seed)``, every
  other parameter at its default (the built-in network for the device, the
  training recipe, all training rows for the epoch budget);
* ``skimb_tuned``: the same, with the strategy chosen by an inner
  ``GridSearchCV`` (``--inner-folds`` folds, macro-F1) over
  ``skimb.grid.default_strategy_grid``, refit with ``skimb.grid.prefer_baseline``
  (plain ``none + ce`` unless a strategy wins by more than one standard error);
* ``LogisticRegression(class_weight="balanced")``,
  ``HistGradientBoostingClassifier(class_weight="balanced")`` and, when
  installed, LightGBM with ``class_weight="balanced"``.

The scikit-learn models are each also reported with macro-F1-tuned decisions
(``*_tuned``: ``TunedDecisionClassifierCV`` with 5-fold cross-fitting), from the
same fit.

Prints a markdown table (mean test macro-F1 over seeds) and writes it to
``--out``. Run: ``python bench/quality.py --out docs/benchmarks/quality.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import (GridSearchCV, KFold, ParameterGrid, StratifiedKFold,
                                     StratifiedShuffleSplit, train_test_split)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, StandardScaler
from skorch import NeuralNetClassifier

from skimb import ImbalancedTorchClassifier, TunedDecisionClassifierCV
from skimb.datasets import load_rwis_csv
from skimb.grid import default_strategy_grid, prefer_baseline
from skimb.modules import TabularMLP

DATASETS = {
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
TIME_ORDERED = {"rwis_iowa"}
CONTENDER_NAMES = ["plain_skorch", "skimb_defaults", "skimb_tuned", "logreg_balanced",
                   "histgb_balanced", "lightgbm_balanced"]
#: ``--grid small``: the four settings of the default grid that cost one fit each and
#: change the training most (plain, logit-adjusted, square-root weights, square-root sampler).
SMALL_GRID = [
    {"sampler": ["none"], "loss": ["ce", "logit_adjusted"]},
    {"sampler": ["none"], "loss": ["weighted_ce"], "loss__weights": ["sqrt"]},
    {"sampler": ["sqrt"], "loss": ["ce"]},
]
HIDDEN_UNITS = (128, 128)
DROPOUT = 0.1


def load_table(name: str, folder: Path):
    path = folder / DATASETS[name]
    if name == "rwis_iowa":
        X, y = load_rwis_csv(path)
        return X.reset_index(drop=True), y.reset_index(drop=True)
    frame = pd.read_csv(path)
    y = frame.pop(frame.columns[-1])
    X = frame.drop(columns=[c for c in frame if c.startswith("meta_")])
    return X.astype(np.float64), y


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


def fit_plain_skorch(X_train, y_train, X_test, n_classes, args, seed):
    encoder = LabelEncoder().fit(y_train)
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        TabularMLP, module__n_features=X_train.shape[1], module__n_outputs=n_classes,
        module__hidden_units=HIDDEN_UNITS, module__dropout=DROPOUT,
        criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=args.lr,
        max_epochs=args.max_epochs, batch_size=args.batch_size, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    model = make_pipeline(StandardScaler(), FunctionTransformer(to_float32), net)
    model.fit(X_train, encoder.transform(y_train).astype(np.int64))
    return encoder.inverse_transform(model.predict(X_test)), None


def fit_skimb_defaults(X_train, y_train, X_test, args, seed):
    """skimb as a new user runs it: every parameter at its default but the seed."""
    clf = ImbalancedTorchClassifier(random_state=seed).fit(X_train, y_train)
    return clf.predict(X_test), None


def fit_skimb_tuned(name, X_train, y_train, X_test, args, seed):
    """skimb's defaults with the strategy chosen by an inner search."""
    clf = ImbalancedTorchClassifier(random_state=seed)
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
    return search.predict(X_test), chosen


def fit_sklearn(model, X_train, y_train, X_test):
    """The model's argmax predictions, and (``_tuned``) those of macro-F1-tuned offsets
    chosen on its 5-fold out-of-fold probabilities (``TunedDecisionClassifierCV``) — the
    refit on all rows is the plain model, so one fit gives both."""
    tuned = TunedDecisionClassifierCV(model, cv=5, random_state=0).fit(X_train, y_train)
    argmax = tuned.classes_[tuned.predict_proba(X_test).argmax(axis=1)]
    return {"": argmax, "_tuned": tuned.predict(X_test)}, None


def contenders(seed):
    yield "logreg_balanced", lambda: make_pipeline(
        StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000))
    yield "histgb_balanced", lambda: HistGradientBoostingClassifier(
        class_weight="balanced", random_state=seed)
    try:
        from lightgbm import LGBMClassifier
    except ImportError:
        return
    yield "lightgbm_balanced", lambda: LGBMClassifier(
        class_weight="balanced", random_state=seed, verbose=-1, n_jobs=1)


def run(args):
    folder = Path(args.datasets_dir)
    names = args.only or list(DATASETS)
    rows, chosen_by_dataset = [], {}
    for name in names:
        if not (folder / DATASETS[name]).exists():
            print(f"skip {name}: {folder / DATASETS[name]} not found", file=sys.stderr)
            continue
        X, y = load_table(name, folder)
        n_classes = y.nunique()
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            X_train, X_test, y_train, y_test = split(name, X, y, seed, args.max_train_rows)
            runs = {
                "plain_skorch": lambda: fit_plain_skorch(X_train, y_train, X_test, n_classes, args, seed),
                "skimb_defaults": lambda: fit_skimb_defaults(X_train, y_train, X_test, args, seed),
                "skimb_tuned": lambda: fit_skimb_tuned(name, X_train, y_train, X_test, args, seed),
            }
            for label, factory in contenders(seed):
                runs[label] = lambda factory=factory: fit_sklearn(factory(), X_train, y_train, X_test)
            for label, fit in runs.items():
                if args.contenders and label not in args.contenders:
                    continue
                start = time.perf_counter()
                y_pred, chosen = fit()
                seconds = time.perf_counter() - start
                if chosen:
                    chosen_by_dataset.setdefault(name, []).append(chosen)
                predictions = y_pred if isinstance(y_pred, dict) else {"": y_pred}
                for suffix, pred in predictions.items():
                    score = f1_score(y_test, pred, average="macro")
                    rows.append({"dataset": name, "seed": seed, "model": label + suffix,
                                 "macro_f1": score, "seconds": seconds, "chosen": chosen})
                    print(f"{name:13s} seed={seed} {label + suffix:24s} macro-F1={score:.3f} "
                          f"({seconds:.0f}s){'  ' + chosen if chosen else ''}", flush=True)
                if args.rows_out:
                    pd.DataFrame(rows).to_csv(args.rows_out, index=False)
    return pd.DataFrame(rows), chosen_by_dataset


def report(results: pd.DataFrame, chosen: dict, args) -> str:
    table = results.pivot_table(index="dataset", columns="model", values="macro_f1", aggfunc="mean")
    order = [c + suffix for c in CONTENDER_NAMES for suffix in ("", "_tuned")
             if c + suffix in table.columns]
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
    body = table.to_markdown(floatfmt=".3f") if _has_tabulate() else table.to_string(float_format="%.3f")
    return header + body + "\n"


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
    parser.add_argument("--only", nargs="*", choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1 (to split a run)")
    parser.add_argument("--max-train-rows", type=int, default=30_000)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--inner-folds", type=int, default=5,
                        help="folds of skimb's inner strategy search (1: one 80/20 holdout split)")
    parser.add_argument("--grid", choices=["default", "small"], default="default",
                        help="skimb_tuned's search space: skimb.grid.default_strategy_grid (10 "
                             "settings) or SMALL_GRID (4)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDER_NAMES,
                        help="run only these contenders (default: all)")
    parser.add_argument("--out", help="write the markdown table here")
    parser.add_argument("--rows-out", help="also save every (dataset, seed, model) score as CSV")
    parser.add_argument("--from-rows", nargs="+",
                        help="skip fitting: report the CSVs saved by earlier --rows-out runs")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one seed, 3 epochs, 2000 training rows")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.max_epochs, args.max_train_rows, args.inner_folds = 1, 3, 2000, 3
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.from_rows:
        results = pd.concat([pd.read_csv(path) for path in args.from_rows], ignore_index=True)
        chosen = results.dropna(subset=["chosen"]).groupby("dataset")["chosen"].agg(list).to_dict()
    else:
        results, chosen = run(args)
    if args.rows_out:
        results.to_csv(args.rows_out, index=False)
    if results.empty:
        print("no dataset found; nothing to report")
        return
    text = report(results, chosen, args)
    print("\n" + text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("# Quality benchmark\n\n" + text)


if __name__ == "__main__":
    main()
