"""``python -m skimb compare``: the run, from the parsed options to the ranked table."""

from __future__ import annotations

import textwrap
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from ..classifier import ImbalancedTorchClassifier
from ..grid import default_strategy_grid, equal_step_grid
from ..metrics import macro_f1_scorer
from ..recipe import steps_per_epoch
from . import _data, _report


def model(args) -> ImbalancedTorchClassifier:
    """The model every setting starts from: the library's defaults, with the options'
    batch size and seed (``max_epochs`` is set per setting)."""
    return ImbalancedTorchClassifier(batch_size=args.batch_size, random_state=args.random_state)


def compare(args) -> pd.DataFrame:
    """Run the comparison; return the ranked table (also printed and saved)."""
    fail = args.fail
    table = _data.load(args, fail)
    exclude = _data.exclusions(table, args.exclude, fail) or None
    parts = _data.split(table, args.cv, args.random_state, fail)
    out = _output_folder(args.out, fail)
    classes = np.unique(table.y)  # of the whole table
    base = model(args)
    device = "auto, resolved on each worker" if args.scheduler else base.device
    _say(f"{table.source}: {len(table.y)} rows, {table.X.shape[1]} features, "
         f"{len(classes)} classes; train {len(parts.y_train)} / test {len(parts.y_test)}"
         f"{' (in time order)' if table.time_ordered else ' (stratified)'}; device {device}")
    print(pd.Series(table.y).value_counts(normalize=True).round(3).to_string(), flush=True)

    grid = default_strategy_grid()
    if args.max_epochs == "auto":
        _say("Budget: max_epochs='auto' (the same optimizer steps for every sampler)")
    else:
        # Equal budgets in optimizer steps: an epoch of a sampler that draws fewer rows
        # (under: every class cut to the smallest one) is shorter, so it runs more epochs.
        grid = equal_step_grid(grid, base, parts.y_train, max_epochs=args.max_epochs,
                               cv=parts.cv)
        steps = args.max_epochs * steps_per_epoch(len(parts.y_train), base.batch_size)
        _say(f"Budget: {steps} optimizer steps for every setting ({args.max_epochs} epochs of "
             f"{len(parts.y_train)} rows, batch {base.batch_size}, in a refit; settings whose "
             "epochs draw fewer rows run more epochs)")

    def refit_budget(params):  # the refit trains on more rows than a fold: its own epochs
        if args.max_epochs == "auto":
            return {}
        point = {key: [value] for key, value in params.items()}
        return {"max_epochs": equal_step_grid(point, base, parts.y_train,
                                              max_epochs=args.max_epochs)[0]["max_epochs"][0]}

    search = GridSearchCV(base, grid, scoring=macro_f1_scorer(exclude=exclude), cv=parts.cv,
                          refit=False, n_jobs=args.n_jobs, error_score="raise")
    try:
        with _backend(args):
            search.fit(parts.X_train, parts.y_train)
            candidates = search.cv_results_["params"]
            _say(f"Refitting {len(candidates)} strategies on the training part")
            refits = Parallel(n_jobs=args.n_jobs)(
                delayed(_fit_predict)(clone(base).set_params(**{**params, **refit_budget(params)}),
                                      parts.X_train, parts.y_train, parts.X_test)
                for params in candidates)
    except ValueError as error:  # the library names what is wrong with the table
        fail(f"training failed: {_data.one_line(error)}")
    ranked = _report.ranking(search.cv_results_, refits, parts.y_test, exclude, args.cv)
    ranked.drop(columns="candidate").to_csv(out / "ranking.csv")
    scope = f" (without {', '.join(map(str, exclude))})" if exclude else ""
    _say(f"\nStrategies ranked by {args.cv}-fold CV macro-F1{scope} on the training part "
         "(mean ± std over the folds); test: macro-F1 on the held-out part:")
    print(_report.format_ranking(ranked))
    _say("\nTest F1 per class (columns: the strategies' ranks; rows: the class's test rows):")
    print(_report.format_per_class(ranked, parts.y_test))
    best = ranked.iloc[0]["strategy"]
    written = []
    if not args.no_plots:
        names = ranked.sort_values("candidate")["strategy"].tolist()
        written = _plots(out, dict(zip(names, refits)), search.cv_results_, names, ranked,
                         parts, args)
    _say(f"\nBest: {best}. Wrote {', '.join(str(p) for p in [*written, out / 'ranking.csv'])}")
    return ranked


def _say(text: str) -> None:
    """Print a sentence of the report, wrapped to the table's width."""
    body = text.lstrip("\n")
    print(text[:len(text) - len(body)]
          + textwrap.fill(body, width=_report.WIDTH, break_on_hyphens=False), flush=True)


def _output_folder(path: str, fail) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"--out: cannot create the folder {path}: {error.strerror or error}")
    return out


def _backend(args):
    """joblib's Dask backend on ``--scheduler``, else joblib's default."""
    if args.scheduler is None:
        return nullcontext()
    try:
        from distributed import Client
    except ImportError:
        args.fail("--scheduler needs Dask's distributed: pip install 'skimb[dask]'")
    stack = ExitStack()
    try:
        client = stack.enter_context(Client(args.scheduler, timeout="10s"))
    except (OSError, TimeoutError, ValueError) as error:
        args.fail(f"--scheduler {args.scheduler}: cannot connect: {_data.one_line(error)}")
    print(f"Dask scheduler {args.scheduler}: {len(client.nthreads())} workers", flush=True)
    stack.enter_context(parallel_config("dask", n_jobs=args.n_jobs or -1))
    return stack


def _fit_predict(model, X_train, y_train, X_test):
    """Refit one strategy; return it, its test predictions and the seconds it took."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    return model, model.predict(X_test), time.perf_counter() - start


def _plots(out, refits, cv_results, names, ranked, parts, args):
    """The best strategy's class mix, confusion matrix and history; the per-class F1 of the
    best and of the plain setting; every strategy's scores."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'skimb[plots]').")
        return []

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import (PerClassF1Display, StrategyComparisonDisplay,
                            plot_class_distribution, plot_confusion_matrix, plot_history)

    best = ranked.iloc[0]["strategy"]
    model, y_pred, _ = refits[best]
    shown = [name for name in dict.fromkeys([best, "none + ce"]) if name in refits]  # + plain
    test = ranked.set_index("strategy").loc[names, "test_macro_f1"]
    figures = {
        "class_distribution.png": lambda ax: plot_class_distribution(
            parts.y_train, sampler=model.sampler, n_epochs=3, batch_size=args.batch_size,
            random_state=args.random_state, ax=ax),
        "confusion_matrix.png": lambda ax: plot_confusion_matrix(
            parts.y_test, y_pred, normalize="true", ax=ax),
        "history.png": lambda ax: plot_history(model, ax=ax),
        "per_class_f1.png": lambda ax: PerClassF1Display.from_predictions(
            parts.y_test, {name: refits[name][1] for name in shown}, ax=ax).ax_,
        "strategies.png": lambda ax: StrategyComparisonDisplay.from_cv_results(
            cv_results, names=names, test=test.to_numpy(), scoring="macro-F1", ax=ax).ax_,
    }
    written = []
    for filename, draw in figures.items():
        fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
        draw(ax)
        if filename in ("class_distribution.png", "confusion_matrix.png", "history.png"):
            ax.set_title(f"{ax.get_title()}\n{best}".strip())
        fig.savefig(out / filename, dpi=110)
        plt.close(fig)
        written.append(out / filename)
    return written
