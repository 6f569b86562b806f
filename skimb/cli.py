"""``python -m skimb compare``: rank imbalance strategies on a table.

By default it runs on the embedded, simulated RWIS road-surface table
(:func:`skimb.datasets.make_rwis`); ``--data CSV --target COLUMN`` runs it on
your own table, and a raw Iowa DOT RWIS export is recognised by its columns.
Every strategy of the grid (samplers x losses) is scored by cross-validated
macro-F1 on the training part, then refit on it and scored on the held-out
part, per class too. Each model holds out a stratified 20% of its training rows
(``train_split=ValidSplit(5, stratified=True)``, unlike the classifier's default)
for its best epoch, the ``test_tuned`` offsets and the learning curves. Every
setting trains for the same number of optimizer steps: ``--max-epochs N`` is
the epochs of a ``sampler="none"`` fit, and a sampler whose epochs draw fewer
rows (``under``) runs as many more epochs as it takes to make the same steps;
``--max-epochs auto`` leaves the budget to the classifier (``max_epochs="auto"``,
which also gives every sampler the steps of ``"none"``). Plots go
to ``--out`` as PNG. ``--n-jobs`` runs the fits
in parallel processes; ``--scheduler ADDRESS`` runs them on a Dask cluster
(``pip install 'skimb[dask]'``).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from contextlib import ExitStack, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.metrics import f1_score
from sklearn.model_selection import (GridSearchCV, KFold, ParameterGrid, StratifiedKFold,
                                     train_test_split)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.dataset import Dataset, ValidSplit

from .classifier import ImbalancedTorchClassifier
from .decisions import decide, prior_offsets
from .grid import default_strategy_grid
from .metrics import macro_f1, macro_f1_scorer
from .recipe import equal_step_epochs, steps_per_epoch
from .samplers import make_sampler

__all__ = ["main"]

_RWIS_COLUMNS = {"STATION_ID", "OBTAINED_DATE", "SURFACE_TEMP", "SURFACE_CONDITION"}


def _max_epochs(text: str):
    """``--max-epochs``: ``"auto"`` or a positive integer."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a positive integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skimb",
        description="skimb: PyTorch classifiers that are good at class-imbalanced data.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    compare = commands.add_parser(
        "compare",
        help="rank imbalance strategies (samplers x losses) by macro-F1 on a table",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    compare.add_argument("--data", help="CSV file (plain or gzip); default: simulated RWIS data")
    compare.add_argument("--target", help="target column of --data (default: the last one)")
    compare.add_argument("--n-samples", type=int, default=6000,
                         help="rows of simulated RWIS data (ignored with --data)")
    compare.add_argument("--max-epochs", type=_max_epochs, default=20,
                         help="epochs of a sampler='none' fit; every setting gets as many "
                              "optimizer steps (an 'under' epoch is shorter: it runs more "
                              "epochs); 'auto': the classifier's max_epochs='auto' (60-240 "
                              "epochs, the same steps for every sampler; slower)")
    compare.add_argument("--batch-size", type=int, default=256)
    compare.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    compare.add_argument("--exclude", nargs="*", default=[],
                         help="classes left out of macro-F1 (they are still predicted)")
    compare.add_argument("--out", default="skimb_compare", help="folder for the PNG plots and CSV")
    compare.add_argument("--random-state", type=int, default=0)
    compare.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    compare.add_argument("--n-jobs", type=int, default=None,
                         help="parallel fits (joblib's n_jobs; -1: all CPUs, or all Dask workers)")
    compare.add_argument("--scheduler", metavar="ADDRESS",
                         help="run the fits on this Dask scheduler (e.g. tcp://host:8786)")
    compare.set_defaults(fail=compare.error)
    return parser


def _load(args):
    """Return ``(X, y, time_ordered)`` for the requested data."""
    if args.data is None:
        from .datasets import make_rwis

        if args.n_samples < 100:
            args.fail("--n-samples must be at least 100")
        X, y = make_rwis(n_samples=args.n_samples, random_state=args.random_state)
        return X, y, False
    if not os.path.exists(args.data):
        args.fail(f"--data file not found: {args.data}")
    header = pd.read_csv(args.data, nrows=0, encoding="utf-8-sig").columns
    columns = [str(c).strip() for c in header]
    if args.target is None and _RWIS_COLUMNS <= set(columns):
        from .datasets import load_rwis_csv

        X, y = load_rwis_csv(args.data)
        return X.reset_index(drop=True), y.reset_index(drop=True), True
    frame = pd.read_csv(args.data, encoding="utf-8-sig")
    frame.columns = columns
    target = args.target or columns[-1]
    if target not in frame.columns:
        args.fail(f"--target {target!r} is not a column of {args.data}; columns: {columns}")
    y = frame.pop(target)
    X = frame.drop(columns=[c for c in frame if c.startswith("meta_")])
    keep = y.notna()
    return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True), False


def _pipeline(args) -> Pipeline:
    prepare = ColumnTransformer(
        [("numeric", StandardScaler(), make_column_selector(dtype_include="number")),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
          make_column_selector(dtype_exclude="number"))],
    )
    # The validation split gives test_tuned its offsets and the plots their learning curves.
    clf = ImbalancedTorchClassifier(
        max_epochs=args.max_epochs, batch_size=args.batch_size,
        train_split=ValidSplit(5, stratified=True),
        random_state=args.random_state, module__hidden_units=(64, 64),
    )
    return Pipeline([("prepare", prepare), ("clf", clf)])


def _describe(params: dict) -> str:
    short = {key.removeprefix("clf__"): value for key, value in params.items()
             if key != "clf__max_epochs"}  # the budget, reported in its own column
    text = f"{short.pop('sampler')} + {short.pop('loss')}"
    extras = ", ".join(f"{key.split('__', 1)[-1]}={value:.3g}" if isinstance(value, float)
                       else f"{key.split('__', 1)[-1]}={value}" for key, value in short.items())
    return f"{text} ({extras})" if extras else text


def _fit_labels(clf, y) -> np.ndarray:
    """Labels of the rows a fit of ``clf`` on ``y`` trains on (after its ``train_split``)."""
    y = np.asarray(y)
    if clf.train_split is None:
        return y
    with warnings.catch_warnings():  # a class too small for the split: the fit itself warns
        warnings.simplefilter("ignore", UserWarning)
        train, _ = clf.train_split(Dataset(np.zeros((len(y), 1), dtype=np.float32), y), y)
    return y[train.indices]


def _equal_steps(params: dict, clf, y_fit, max_epochs: int) -> int:
    """Epochs that give the setting ``params`` the optimizer steps of ``max_epochs`` epochs
    of ``sampler="none"`` on the training labels ``y_fit`` (the rule of the classifier's
    ``max_epochs="auto"``: epochs x full-epoch steps / the sampler's epoch steps, rounded up).
    """
    sampler_params = {**clf.get_params_for("sampler"),
                      **{key.removeprefix("clf__sampler__"): value for key, value in params.items()
                         if key.startswith("clf__sampler__")}}
    sampler = make_sampler(params.get("clf__sampler", clf.sampler), sampler_params)
    counts = np.unique(y_fit, return_counts=True)[1]
    rows = sampler.rows_per_epoch(torch.as_tensor(counts))
    if rows is None:  # an imblearn sampler: its epoch length is known once drawn
        return max_epochs
    batch_size = clf.batch_size
    return equal_step_epochs(max_epochs, epoch_steps=steps_per_epoch(rows, batch_size),
                             full_steps=steps_per_epoch(len(y_fit), batch_size))


def _equal_step_grid(grid, clf, fold_labels, max_epochs: int) -> list[dict]:
    """One grid point per setting, each with the ``clf__max_epochs`` that gives it the
    optimizer steps of ``max_epochs`` epochs of ``sampler="none"`` in a CV fold (the mean
    over the folds' training labels ``fold_labels``)."""
    points = []
    for params in ParameterGrid(grid):
        epochs = [_equal_steps(params, clf, y_fit, max_epochs) for y_fit in fold_labels]
        points.append({**{key: [value] for key, value in params.items()},
                       "clf__max_epochs": [int(round(np.mean(epochs)))]})
    return points


def compare(args) -> pd.DataFrame:
    """Run the comparison; return the ranked table (also printed and saved)."""
    X, y, time_ordered = _load(args)
    labels = np.asarray(y)
    if time_ordered:
        cut = int(0.7 * len(X))
        X_train, X_test, y_train, y_test = X[:cut], X[cut:], labels[:cut], labels[cut:]
        cv = KFold(args.cv)
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, labels, test_size=0.3, stratify=labels, random_state=args.random_state)
        cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)
    excluded = [c for c in args.exclude if c not in set(labels)]
    if excluded:
        args.fail(f"--exclude names classes not in the data: {excluded}; "
                     f"classes: {sorted(set(labels))}")
    exclude = args.exclude or None
    classes = sorted(set(labels))
    if args.n_jobs == 0:
        args.fail("--n-jobs must not be 0 (-1: all CPUs or all Dask workers)")
    device = ("auto, resolved on each worker" if args.scheduler
              else ImbalancedTorchClassifier().device)
    print(f"{len(X)} rows, {X.shape[1]} features, {len(classes)} classes; "
          f"train {len(X_train)} / test {len(X_test)}"
          f"{' (time-ordered split)' if time_ordered else ''}; "
          f"device {device}", flush=True)
    print(pd.Series(labels).value_counts(normalize=True).round(3).to_string(), flush=True)

    base = _pipeline(args)
    clf = base.named_steps["clf"]
    grid = default_strategy_grid(prefix="clf__")
    refit_labels = _fit_labels(clf, y_train)
    if args.max_epochs == "auto":
        print("Budget: max_epochs='auto' (the same optimizer steps for every sampler)", flush=True)
    else:
        # Equal budgets in optimizer steps: an epoch of a sampler that draws fewer rows
        # (under: every class cut to the smallest one) is shorter, so it runs more epochs.
        grid = _equal_step_grid(
            grid, clf, [_fit_labels(clf, y_train[rows]) for rows, _ in cv.split(X_train, y_train)],
            args.max_epochs)
        steps = args.max_epochs * steps_per_epoch(len(refit_labels), clf.batch_size)
        print(f"Budget: {steps} optimizer steps for every setting ({args.max_epochs} epochs of "
              f"{len(refit_labels)} rows, batch {clf.batch_size}, in a refit; settings whose "
              "epochs draw fewer rows run more epochs)", flush=True)
    def refit_budget(params):  # the refit trains on more rows than a fold: its own epochs
        if args.max_epochs == "auto":
            return {}
        return {"clf__max_epochs": _equal_steps(params, clf, refit_labels, args.max_epochs)}

    search = GridSearchCV(base, grid, scoring=macro_f1_scorer(exclude=exclude), cv=cv,
                          refit=False, n_jobs=args.n_jobs)
    with _backend(args):
        search.fit(X_train, y_train)
        candidates = search.cv_results_["params"]
        print(f"Refitting {len(candidates)} strategies on the training part", flush=True)
        refits = Parallel(n_jobs=args.n_jobs)(
            delayed(_fit_predict)(clone(base).set_params(**{**params, **refit_budget(params)}),
                                  params, exclude, X_train, y_train, X_test)
            for params in candidates)
    results = search.cv_results_
    rows, fitted = [], {}
    for i, (params, (model, y_pred, y_tuned, seconds)) in enumerate(zip(candidates, refits)):
        name = _describe(params)
        fitted[name] = (model, y_pred)
        per_class = f1_score(y_test, y_pred, labels=classes, average=None, zero_division=0)
        rows.append({
            "strategy": name,
            "cv_macro_f1": results["mean_test_score"][i],
            "cv_std": results["std_test_score"][i],
            "test_macro_f1": macro_f1(y_test, y_pred, exclude=exclude),
            "test_tuned": macro_f1(y_test, y_tuned, exclude=exclude),
            **{f"F1 {c}": f for c, f in zip(classes, per_class)},
            "epochs": model.named_steps["clf"].max_epochs_,
            "seconds": seconds + args.cv * (results["mean_fit_time"][i]
                                            + results["mean_score_time"][i]),
        })
    table = pd.DataFrame(rows).sort_values("cv_macro_f1", ascending=False).reset_index(drop=True)
    table.index += 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "ranking.csv", index_label="rank")
    scope = f" (without {', '.join(args.exclude)})" if args.exclude else ""
    print(f"\nStrategies ranked by {args.cv}-fold CV macro-F1{scope} on the training part; "
          "test = held-out part; test_tuned = the same model with decision=\"tuned\" "
          "(class offsets maximising macro-F1 on its validation split, 20% of its "
          "training rows):")
    print(table.drop(columns="seconds").to_string(float_format=lambda v: f"{v:.3f}"))
    best = table.iloc[0]["strategy"]
    if not args.no_plots:
        written = _plots(out, fitted[best], X_train, y_train, y_test, best, args)
        print(f"\nBest: {best}. Wrote {', '.join(str(p) for p in written)} and {out / 'ranking.csv'}")
    return table


def _backend(args):
    """joblib's Dask backend on ``--scheduler``, else joblib's default."""
    if args.scheduler is None:
        return nullcontext()
    try:
        from distributed import Client
    except ImportError:
        args.fail("--scheduler needs Dask's distributed: pip install 'skimb[dask]'")
    stack = ExitStack()
    client = stack.enter_context(Client(args.scheduler))
    print(f"Dask scheduler {args.scheduler}: {len(client.nthreads())} workers", flush=True)
    stack.enter_context(parallel_config("dask", n_jobs=args.n_jobs or -1))
    return stack


def _fit_predict(model, params, exclude, X_train, y_train, X_test):
    """Refit one strategy; its test predictions under its own decision and under tuned
    offsets (one refit gives both: the offsets do not change the network)."""
    start = time.perf_counter()
    model.set_params(clf__decision="tuned", clf__decision__exclude=exclude)
    model.fit(X_train, y_train)
    clf = model.named_steps["clf"]
    own = (prior_offsets(clf.class_counts_) if params.get("clf__decision") == "prior"
           else np.zeros(len(clf.classes_)))
    y_pred = clf.classes_[decide(model.predict_proba(X_test), own)]
    return model, y_pred, model.predict(X_test), time.perf_counter() - start


def _plots(out, best_fit, X_train, y_train, y_test, best, args):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'skimb[plots]').")
        return []

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_class_distribution, plot_confusion_matrix, plot_history

    model, y_pred = best_fit
    clf = model.named_steps["clf"]
    written = []
    figures = {
        "class_distribution.png": lambda ax: plot_class_distribution(
            y_train, sampler=clf.sampler, n_epochs=3, batch_size=args.batch_size,
            random_state=args.random_state, ax=ax,
            X=model.named_steps["prepare"].transform(X_train)),
        "confusion_matrix.png": lambda ax: plot_confusion_matrix(
            y_test, y_pred, normalize="true", ax=ax),
        "history.png": lambda ax: plot_history(clf, ax=ax),
    }
    for filename, draw in figures.items():
        fig, ax = plt.subplots(figsize=(9, 6))
        draw(ax)
        ax.set_title(f"{ax.get_title()}\n{best}".strip())
        fig.tight_layout()
        fig.savefig(out / filename, dpi=110)
        plt.close(fig)
        written.append(out / filename)
    return written


def main(argv=None) -> int:
    """Entry point of ``python -m skimb`` and the ``skimb`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "compare":
        compare(args)
    return 0
