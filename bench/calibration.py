"""Calibration benchmark (issue 30): how good the probabilities are, skimb beside LightGBM.

On the 18 tables of ``bench/quality.py`` — loaded, rare classes dropped and split exactly as
there (stratified 70/30, rwis_iowa time-ordered, at most ``--max-train-rows`` training rows,
seeds ``--first-seed`` ..) — every contender is fitted on the same training rows (the raw
DataFrame: text as ``category`` columns, NaN as NaN) and scored on the same test rows:

* **log-loss** (``sklearn.metrics.log_loss``) and **Brier** (``brier_score_loss(...,
  scale_by_half=False)``: the mean over rows of the squared distance between the probability
  row and the one-hot label, in [0, 2], for binary tables too) of ``predict_proba``;
* **class-wise ECE** (``skimb.metrics.classwise_ece``, 15 equal-width bins);
* **macro-F1** of ``predict`` (the model's own decision) and of the argmax of
  ``predict_proba`` (they differ where a decision rule moves the argmax, ``decision="prior"``);
* the wall **seconds** of the run (fit and predicting the test rows) and its model fits.

``predict_proba`` is cast to float64 and each row divided by its sum (float32 rows sum to 1
only to ~1e-7, which ``log_loss`` warns about); nothing else is changed. The labels go to every
contender as codes 0 .. K-1 in the labels' sorted order (the order of ``classes_`` either way,
so the models are the same): scikit-learn 1.9.1's ``CalibratedClassifierCV(method=
"temperature")`` encodes string labels only, and fitted on integer labels other than 0 .. K-1
(page_blocks' 1-5, sleep's 0-3 and 5) it drives the temperature to its bound and predicts
uniform probabilities; on a pandas Series whose index lacks 0 its ``fit`` raises ``KeyError``.

The contenders (``contender_table``; add one with one entry there):

* ``skimb[S]`` for each setting S of ``skimb.grid.default_strategy_grid()`` (10):
  ``ImbalancedTorchClassifier(random_state=seed, **S)``, its raw ``predict_proba``;
  ``skimb[none+ce]`` is the classifier's defaults (were none of the settings the defaults,
  ``skimb[defaults]`` would run as well). A calibrated skimb (issue 30's ``calibration=``) is
  one more line: ``*skimb_contenders("skimb_calibrated", calibration=...)``, reported as a
  family of its own beside the raw one;
* ``lightgbm_plain`` and ``lightgbm_balanced`` (``class_weight="balanced"``), as
  ``bench/quality.py`` builds them (``TrainingCategories`` in front, ``n_jobs`` = threads);
* ``lightgbm_balanced+sigmoid`` and ``lightgbm_balanced+temperature``:
  ``CalibratedClassifierCV(lightgbm_balanced, method=..., cv=3)`` (3 fits on two thirds of the
  training rows, each calibrated on the other third, probabilities averaged).

Runs save a row per (table, seed, contender) with ``--rows-out`` after every fit;
``--resume`` skips what that file already holds (a failed fit is retried), so an interrupted
run goes on where it stopped; runs split by ``--only`` / ``--first-seed`` / ``--contenders``
into several files merge with ``--from-rows a.csv b.csv ...`` (a run in a later file replaces
an earlier one). The markdown report (``--out``, the layout of
docs/benchmarks/calibration.md): the mean over tables of every metric per contender; log-loss
per table; the default against LightGBM-balanced + sigmoid per table with issue 30's targets;
each strategy's mean log-loss relative to its family's default.

Run (one thread per fit, about 3 CPU hours; see the report for the measured cost)::

    OMP_NUM_THREADS=1 nice -n 10 python bench/calibration.py --resume \\
        --rows-out bench/results/calibration.csv
    python bench/calibration.py --from-rows bench/results/calibration.csv \\
        --out docs/benchmarks/calibration.md
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss, f1_score, log_loss
from sklearn.model_selection import ParameterGrid
from sklearn.preprocessing import LabelEncoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import (DATASETS, MIN_CLASS_ROWS, _markdown, contenders, coverage,  # noqa: E402
                     default_datasets_dir, host_description, load_table, merge_rows,
                     publish, selected_tables, split)

from skimb.metrics import classwise_ece  # noqa: E402

#: The metrics of a row: column -> (name in the report, format).
METRICS = {
    "log_loss": ("log-loss", ".3f"),
    "brier": ("Brier", ".3f"),
    "classwise_ece": ("class-wise ECE", ".4f"),
    "macro_f1": ("macro-F1", ".3f"),
    "macro_f1_argmax": ("macro-F1 of argmax", ".3f"),
}
#: Issue 30's yardstick for the default's log-loss.
PEER = "lightgbm_balanced+sigmoid"
#: Issue 30's targets: the default at or below PEER on this many of the 18 tables, and every
#: strategy's mean log-loss within this fraction above its family's default.
TABLES_TARGET, STRATEGY_MARGIN = 12, 0.10
#: The parameters ``--quick`` gives the skimb contenders (a smoke run, not a measurement).
QUICK_SKIMB = {"max_epochs": 2}


@dataclass(frozen=True)
class Contender:
    """One model of the benchmark.

    ``build(seed, threads)`` returns an unfitted estimator with ``fit``, ``predict_proba``,
    ``predict`` and ``classes_`` that takes the raw table. ``family`` groups the settings of
    one model (``"skimb"``: raw output); ``default`` marks the family's default setting, which
    the report compares the others with and puts against ``PEER``. ``needs``: a module that
    must be importable, else the run skips the contender and says so on stderr."""

    name: str
    build: Callable[[int, int], object]
    description: str
    family: str
    strategy: str = ""
    default: bool = False
    fits: int = 1
    params: dict = field(default_factory=dict)
    needs: str | None = None
    raw_twin: str | None = None

    def twin(self) -> "Contender":
        """The row scored from this contender's fit with ``calibration=None`` (``--raw-twins``):
        same model, the network's raw output."""
        return Contender(self.raw_twin, self.build, self.description + " with "
                         "`calibration=None` (scored from the same fit)",
                         family=self.raw_twin.split("[")[0], strategy=self.strategy,
                         default=self.default, fits=0, params=self.params)


# -------------------------------------------------------------------------- contenders

def strategy_name(params: dict) -> str:
    """A grid setting as a short name: ``sampler+loss``, then any other parameter as
    ``,name=value`` (``none+weighted_ce,weights=sqrt``; ``{}``: ``defaults``)."""
    if not params:
        return "defaults"
    rest = {k: v for k, v in sorted(params.items()) if k not in ("sampler", "loss")}
    extras = "".join(f",{k.rsplit('__', 1)[-1]}={v:.3g}" if isinstance(v, float)
                     else f",{k.rsplit('__', 1)[-1]}={v}" for k, v in rest.items())
    return f"{params.get('sampler', 'none')}+{params.get('loss', 'ce')}{extras}"


def _skimb(seed, threads, params):
    from skimb import ImbalancedTorchClassifier
    return ImbalancedTorchClassifier(random_state=seed, **params)


def skimb_contenders(family: str = "skimb", **fixed) -> list[Contender]:
    """One contender per setting of ``default_strategy_grid()`` (and the classifier's pure
    defaults when no setting is them), each with the parameters ``fixed`` on top."""
    from skimb import ImbalancedTorchClassifier
    from skimb.grid import default_strategy_grid
    defaults = ImbalancedTorchClassifier().get_params(deep=False)

    def is_default(params):
        return all(k in defaults and defaults[k] == v for k, v in params.items())

    settings = list(ParameterGrid(default_strategy_grid()))
    if not any(is_default(p) for p in settings):
        settings.insert(0, {})
    out = []
    for setting in settings:
        setting = dict(sorted(setting.items(), key=lambda kv: (kv[0] != "sampler",
                                                               kv[0] != "loss", kv[0])))
        params = {**setting, **fixed}
        shown = "".join(f", {k}={v!r}" for k, v in params.items())
        out.append(Contender(
            name=f"{family}[{strategy_name(setting)}]", build=partial(_skimb, params=params),
            description=f"`ImbalancedTorchClassifier(random_state=seed{shown})`",
            family=family, strategy=strategy_name(setting), default=is_default(setting),
            params=params))
    return out


def _lightgbm(seed, threads, balanced=True, method=None):
    """``bench/quality.py``'s LightGBM-balanced (or with ``class_weight=None``), optionally
    inside ``CalibratedClassifierCV(method=method, cv=3)``."""
    model = dict(contenders(seed, threads))["lightgbm_balanced"]()
    if not balanced:
        model.set_params(lgbmclassifier__class_weight=None)
    return model if method is None else CalibratedClassifierCV(model, method=method, cv=3)


def lightgbm_contenders() -> list[Contender]:
    """LightGBM plain and balanced, and balanced inside ``CalibratedClassifierCV``."""
    lgbm = ("`LGBMClassifier(class_weight={}, random_state=seed, verbose=-1, n_jobs=threads)` "
            "behind `TrainingCategories` (text columns as `category` columns with the "
            "training rows' levels)")
    out = [Contender("lightgbm_plain", partial(_lightgbm, balanced=False), lgbm.format("None"),
                     family="lightgbm", needs="lightgbm"),
           Contender("lightgbm_balanced", _lightgbm, lgbm.format('"balanced"'),
                     family="lightgbm", needs="lightgbm")]
    for method in ("sigmoid", "temperature"):
        out.append(Contender(
            f"lightgbm_balanced+{method}", partial(_lightgbm, method=method),
            f"`CalibratedClassifierCV(lightgbm_balanced, method=\"{method}\", cv=3)`: 3 fits on "
            "two thirds of the training rows (stratified folds, not shuffled), each calibrated "
            "on the other third, their probabilities averaged",
            family="lightgbm", fits=3, needs="lightgbm"))
    return out


def contender_table(skimb_params: dict | None = None, raw_twins: bool = False
                    ) -> list[Contender]:
    """Every contender, in the report's order. ``skimb_params``: set on every skimb one
    (``--quick``); ``raw_twins``: every skimb fit also scored with ``calibration=None``, as
    ``skimb_raw[...]``."""
    skimb = skimb_contenders("skimb", **(skimb_params or {}))
    if raw_twins:
        skimb = [replace(c, raw_twin=c.name.replace("skimb[", "skimb_raw[", 1)) for c in skimb]
    return [*skimb, *[c.twin() for c in skimb if c.raw_twin], *lightgbm_contenders()]


def select(table: list[Contender], wanted) -> list[Contender]:
    """The contenders named in ``wanted`` by name or family (all when ``wanted`` is empty);
    an unknown name is a ``ValueError`` listing the known ones."""
    if not wanted:
        return table
    known = {c.name for c in table} | {c.family for c in table}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError(f"--contenders {', '.join(unknown)}: not a contender or family (known: "
                         f"{', '.join(dict.fromkeys([c.family for c in table] + [c.name for c in table]))})")
    return [c for c in table if c.name in wanted or c.family in wanted]


# ----------------------------------------------------------------------------- measuring

def scores(y_true, proba, pred, classes) -> dict:
    """The metrics of one fit on the test rows (``proba``'s columns in ``classes``' order)."""
    classes = np.asarray(classes)
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return {
        "log_loss": log_loss(y_true, proba, labels=classes),
        "brier": brier_score_loss(y_true, proba, labels=classes, scale_by_half=False),
        "classwise_ece": classwise_ece(y_true, proba, labels=classes),
        "macro_f1": f1_score(y_true, pred, average="macro"),
        "macro_f1_argmax": f1_score(y_true, classes[proba.argmax(axis=1)], average="macro"),
    }


def measure(contender: Contender, X_train, y_train, X_test, y_test, seed, threads) -> dict:
    """Fit ``contender`` and score it: the metrics and the wall seconds (fit and predict).
    With a ``raw_twin``, ``"twin"`` holds the scores of the same fit with
    ``calibration=None``."""
    model = contender.build(seed, threads)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    proba, pred = model.predict_proba(X_test), model.predict(X_test)
    seconds = time.perf_counter() - start
    result = {**scores(y_test, proba, pred, model.classes_), "seconds": seconds}
    if contender.raw_twin:
        model.set_params(calibration=None)
        result["twin"] = {**scores(y_test, model.predict_proba(X_test), model.predict(X_test),
                                   model.classes_), "seconds": 0.0}
    return result


def done_runs(rows: list[dict]) -> set:
    """The (dataset, seed, model) runs among ``rows`` that have a score."""
    return {(r["dataset"], int(r["seed"]), r["model"]) for r in rows
            if pd.notna(r.get("log_loss"))}


def run(args, table: list[Contender]) -> pd.DataFrame:
    """Every selected contender on every selected table and seed; rows saved as it goes."""
    folder = Path(args.datasets_dir)
    rows = []
    if args.resume and args.rows_out and Path(args.rows_out).exists():
        previous = pd.read_csv(args.rows_out)
        rows = previous[previous["log_loss"].notna()].to_dict("records")
        print(f"resume: {len(rows)} finished runs in {args.rows_out}", file=sys.stderr)
    finished = done_runs(rows)
    missing = [c for c in table if c.needs and importlib.util.find_spec(c.needs) is None]
    for c in missing:
        print(f"skip {c.name}: {c.needs} is not installed", file=sys.stderr)
    table = [c for c in table if c not in missing]
    command = "python bench/calibration.py " + " ".join(shlex.quote(a) for a in args.argv)
    import skimb
    context = {"command": command, "host": host_description(), "threads": args.threads,
               "skimb": str(Path(skimb.__file__).resolve().parent)}
    for name in selected_tables(args):
        if not (folder / DATASETS[name]).exists():
            print(f"skip {name}: {folder / DATASETS[name]} not found", file=sys.stderr)
            continue
        X, y, note = load_table(name, folder, args.min_class_rows)
        codes = LabelEncoder().fit(y)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            X_train, X_test, y_train, y_test = split(name, X, y, seed, args.max_train_rows)
            y_train, y_test = codes.transform(y_train), codes.transform(y_test)
            for contender in table:
                if contender.fits == 0 or (name, seed, contender.name) in finished:
                    continue
                base = {"dataset": name, "seed": seed, "model": contender.name,
                        "family": contender.family, "strategy": contender.strategy,
                        "default": contender.default, "params": repr(contender.params),
                        "description": contender.description,
                        "n_train": len(y_train), "n_test": len(y_test),
                        "n_classes": len(np.unique(y_train)), "dropped": note, **context}
                start = time.perf_counter()
                try:
                    result = measure(contender, X_train, y_train, X_test, y_test, seed,
                                     args.threads)
                except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                    if args.fail_fast:
                        raise
                    traceback.print_exc()
                    message = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                    result = {"seconds": time.perf_counter() - start, "error": message}
                    print(f"{name:13s} seed={seed} {contender.name:36s} FAILED: {message}",
                          flush=True)
                else:
                    twin = result.pop("twin", None)
                    result = {**result, "fits": contender.fits, "error": None}
                    if twin is not None:
                        rows.append({**base, "model": contender.raw_twin,
                                     "family": contender.twin().family, **twin, "fits": 0,
                                     "error": None})
                    print(f"{name:13s} seed={seed} {contender.name:36s} "
                          f"log-loss={result['log_loss']:.3f} "
                          f"ECE={result['classwise_ece']:.4f} F1={result['macro_f1']:.3f} "
                          f"({result['seconds']:.1f}s)", flush=True)
                rows.append({**base, **{m: np.nan for m in METRICS}, "fits": 0, **result})
                if args.rows_out:
                    Path(args.rows_out).parent.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(rows).to_csv(args.rows_out, index=False)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ report

def order(results: pd.DataFrame, table: list[Contender]) -> list[str]:
    """The models of ``results``: those of ``table`` in its order, then any others."""
    models = list(dict.fromkeys(results["model"]))
    known = [c.name for c in table if c.name in models]
    return known + [m for m in models if m not in known]


def per_table_means(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every metric and the seconds, per (dataset, model)."""
    ok = results[results["log_loss"].notna()]
    return ok.groupby(["dataset", "model"])[[*METRICS, "seconds"]].mean()


def mean_over(means: pd.DataFrame, model: str, tables) -> pd.Series:
    """The mean of ``model``'s per-table means over ``tables``."""
    return means.xs(model, level="model").reindex(tables).mean()


def common_tables(means: pd.DataFrame, models) -> list[str]:
    """The tables (in ``DATASETS`` order) on which every one of ``models`` ran."""
    ran = means.reset_index().groupby("dataset")["model"].agg(set)
    return [d for d in DATASETS if d in ran.index and set(models) <= ran[d]]


def versus_peer(results: pd.DataFrame, ours: str, peer: str = PEER) -> pd.DataFrame:
    """Per table: the log-loss of ``ours`` and ``peer`` (means over the seeds both ran), the
    difference, and whether ``ours`` is at or below ``peer``."""
    ok = results[results["log_loss"].notna() & results["model"].isin([ours, peer])]
    wide = ok.pivot_table(index=["dataset", "seed"], columns="model", values="log_loss")
    if ours not in wide or peer not in wide:
        return pd.DataFrame(columns=["ours", "peer", "diff", "at or below", "seeds"])
    wide = wide.dropna(subset=[ours, peer])
    per_table = wide.groupby(level="dataset").agg(ours=(ours, "mean"), peer=(peer, "mean"),
                                                  seeds=(ours, "count"))
    per_table["diff"] = per_table["ours"] - per_table["peer"]
    per_table["at or below"] = per_table["diff"] <= 0
    return per_table.loc[[d for d in DATASETS if d in per_table.index]]


def families(results: pd.DataFrame) -> dict:
    """``{family: its default model}`` for every family whose default has a score."""
    defaults = results[results["default"].astype(bool) & results["log_loss"].notna()]
    return dict(zip(defaults["family"], defaults["model"]))


def _fmt(value, spec):
    return "—" if pd.isna(value) else format(value, spec)


def report(results: pd.DataFrame, table: list[Contender]) -> str:
    """The markdown of docs/benchmarks/calibration.md."""
    models = order(results[results["log_loss"].notna()], table)  # (what failed: "What ran")
    means = per_table_means(results)
    tables = [d for d in DATASETS if d in set(results["dataset"])]
    common = common_tables(means, models)
    seeds = sorted(results["seed"].unique())
    # how each model ran, as its rows say (the table's description for rows without one)
    described = {c.name: c.description for c in table}
    if "description" in results:
        described.update(results.dropna(subset=["description"])
                         .groupby("model")["description"].first())
    out = ["# Calibration benchmark: how good the probabilities are", "",
           "Issue 30: log-loss, Brier and class-wise ECE of `predict_proba`, and macro-F1, for "
           "each strategy of `skimb.grid.default_strategy_grid()` beside LightGBM, plain, "
           "balanced and calibrated. The tables, the dropped rare classes and the splits are "
           f"`bench/quality.py`'s: stratified 70/30 (rwis_iowa: time-ordered), seeds "
           f"{', '.join(map(str, seeds))}; every contender is fitted on the same raw training "
           "rows (text as `category` columns, NaN as NaN; the labels as codes 0 .. K-1 in "
           "their sorted order, for scikit-learn 1.9.1's temperature scaling, which mis-fits "
           "other integer labels) and scored on the same test rows. "
           "Lower is better for log-loss, Brier (the mean squared distance between the "
           "probability row and the one-hot label, 0 to 2, binary tables too) and class-wise "
           "ECE (`skimb.metrics.classwise_ece`, 15 equal-width bins per class); higher for "
           "macro-F1 (of `predict`, and of the argmax of `predict_proba`).", ""]
    out += [f"- `{m}`: {described.get(m, '(not in the current contender table)')};"
            for m in models] + [""]
    hosts = sorted(results["host"].dropna().unique())
    threads = sorted({int(t) for t in results["threads"].dropna()})
    commands = list(dict.fromkeys(results["command"].dropna()))
    out += [f"Hardware: {'; '.join(hosts) or 'not recorded'}; {', '.join(map(str, threads))} "
            "thread(s) per fit; skimb from "
            f"{', '.join(f'`{p}`' for p in sorted(results['skimb'].dropna().unique()))}. "
            "Commands (rows saved with `--rows-out`, this page their merge with `--from-rows`):",
            ""] + [f"    {c}" for c in commands] + [""]
    dropped = results.groupby("dataset")["dropped"].first().dropna()
    if len(dropped):
        out += ["**Classes dropped** (as `bench/quality.py` drops them):", ""]
        out += [f"- {line}" for line in dropped] + [""]
    out += ["**What ran:**", ""] + [f"- {line}" for line in coverage(results)] + [""]

    # Mean over the tables every contender ran on.
    summary = pd.DataFrame(
        {"fits": [results.loc[results["model"] == m, "fits"].max() for m in models],
         **{METRICS[k][0]: [_fmt(mean_over(means, m, common)[k], METRICS[k][1])
                            for m in models] for k in METRICS},
         "s per run": [_fmt(mean_over(means, m, common)["seconds"], ".1f") for m in models]},
        index=[f"**{m}** (default)" if m in families(results).values() else m for m in models])
    out += ["## Mean over tables", "",
            f"Per contender, the mean over the {len(common)} tables every contender ran on "
            f"({len(tables)} in the rows) of the per-table means over seeds; `s per run`: wall "
            "seconds of fitting and predicting the test rows, one thread.", "",
            _markdown(summary.rename_axis("contender"), disable_numparse=True), ""]

    # Log-loss per table, every contender.
    grid = means["log_loss"].unstack().reindex(index=tables, columns=models)
    grid.loc["**mean**"] = grid.loc[common].mean()
    sizes = results.groupby("dataset")[["n_train", "n_classes"]].max()
    grid.insert(0, "classes", [str(int(sizes.loc[d, "n_classes"])) if d in sizes.index else ""
                               for d in grid.index])
    grid.insert(0, "train rows", [f"{int(sizes.loc[d, 'n_train']):,}" if d in sizes.index
                                  else "" for d in grid.index])
    out += ["## Log-loss per table", "",
            f"Mean test log-loss over seeds; the mean row is over the {len(common)} tables "
            "every contender ran on.", "", _markdown(grid.rename_axis("table")), ""]

    # The default of each skimb family against the peer (issue 30's first two targets).
    for family, default in families(results).items():
        versus = versus_peer(results, default)
        if versus.empty:
            continue
        rows = pd.DataFrame({
            default: versus["ours"].map("{:.3f}".format),
            PEER: versus["peer"].map("{:.3f}".format),
            "difference": versus["diff"].map("{:+.3f}".format),
            "at or below": versus["at or below"].map({True: "yes", False: "**no**"}),
            "seeds": versus["seeds"].astype(int).astype(str)})
        n_at = int(versus["at or below"].sum())
        rows.loc["**mean**"] = [f"{versus['ours'].mean():.3f}", f"{versus['peer'].mean():.3f}",
                                f"{versus['diff'].mean():+.3f}",
                                f"{n_at} of {len(versus)}", ""]
        met_mean = versus["ours"].mean() <= versus["peer"].mean()
        out += [f"## {default} against {PEER}", "",
                "Issue 30's targets: mean log-loss at or below the peer's, and at or below it on "
                f"at least {TABLES_TARGET} of 18 tables. Here: mean "
                f"{versus['ours'].mean():.3f} against {versus['peer'].mean():.3f} "
                f"({'met' if met_mean else 'not met'}); at or below on {n_at} of "
                f"{len(versus)} tables"
                + (f" ({'met' if n_at >= TABLES_TARGET else 'not met'})." if len(versus) == 18
                   else f" (the count target needs all 18 tables)."), "",
                _markdown(rows.rename_axis("table"), disable_numparse=True), ""]

    # Each strategy against its family's default (issue 30's third target).
    for family, default in families(results).items():
        members = [m for m in models if results.loc[results["model"] == m, "family"].iloc[0]
                   == family]
        inside = common_tables(means, members)
        family_means = {m: mean_over(means, m, inside) for m in members}
        base = family_means[default]["log_loss"]
        rows = pd.DataFrame({
            "log-loss": [f"{family_means[m]['log_loss']:.3f}" for m in members],
            "vs default": [f"{family_means[m]['log_loss'] / base - 1:+.1%}" for m in members],
            f"within {STRATEGY_MARGIN:.0%}": [
                "yes" if family_means[m]["log_loss"] <= (1 + STRATEGY_MARGIN) * base else "**no**"
                for m in members],
            "class-wise ECE": [f"{family_means[m]['classwise_ece']:.4f}" for m in members],
            "macro-F1": [f"{family_means[m]['macro_f1']:.3f}" for m in members]},
            index=members)
        n_within = sum(family_means[m]["log_loss"] <= (1 + STRATEGY_MARGIN) * base
                       for m in members)
        out += [f"## Each {family} strategy against {default}", "",
                f"Mean over the {len(inside)} tables all of them ran on; issue 30's target (for "
                f"the calibrated output): every strategy within {STRATEGY_MARGIN:.0%} of the "
                f"default's mean log-loss. Here {n_within} of {len(members)}.", "",
                _markdown(rows.rename_axis("strategy"), disable_numparse=True), ""]
    out += raw_against_corrected(results)
    return "\n".join(out)


def raw_against_corrected(results: pd.DataFrame) -> list[str]:
    """Markdown lines: each strategy's raw output (``skimb_raw[...]``, ``--raw-twins``) beside
    its prior-corrected one (``skimb[...]``, the same fit), per table and on the mean."""
    twins = results[results["model"].str.startswith("skimb_raw[") & results["log_loss"].notna()]
    if twins.empty:
        return []
    lines = ["## Raw against prior-corrected output (the same fits)", "",
             "`skimb_raw[S]` is `skimb[S]`'s fit scored with `calibration=None`. Mean over "
             "seeds; the last rows, the mean over tables.", ""]
    scored = results[results["log_loss"].notna()]
    table = []
    for (dataset, raw_name), group in twins.groupby(["dataset", "model"], sort=False):
        name = raw_name.replace("skimb_raw[", "skimb[", 1)
        corrected = scored[(scored["dataset"] == dataset) & (scored["model"] == name)]
        if corrected.empty:
            continue
        row = {"table": dataset, "strategy": name[len("skimb["):-1]}
        for metric, label in (("log_loss", "log-loss"), ("brier", "Brier"),
                              ("macro_f1", "macro-F1")):
            row[f"{label} raw"] = group[metric].mean()
            row[f"{label} prior"] = corrected[metric].mean()
        table.append(row)
    frame = pd.DataFrame(table)
    mean = frame.groupby("strategy", sort=False).mean(numeric_only=True).reset_index()
    mean.insert(0, "table", f"mean of {frame['table'].nunique()}")
    frame = pd.concat([frame, mean], ignore_index=True)
    return lines + [_markdown(frame, index=False), ""]


# ---------------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-dir", default=default_datasets_dir())
    parser.add_argument("--tables", choices=["all", "classic", "breadth"], default="all")
    parser.add_argument("--only", nargs="*", choices=list(DATASETS),
                        help="these tables only (overrides --tables)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-train-rows", type=int, default=30_000)
    parser.add_argument("--min-class-rows", type=int, default=MIN_CLASS_ROWS)
    parser.add_argument("--contenders", nargs="+", metavar="NAME",
                        help="run only these contenders or families (skimb, lightgbm); "
                             "default: all")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per fit: torch, OpenMP/BLAS, LightGBM (default 1)")
    parser.add_argument("--fail-fast", action="store_true",
                        help="raise on a failed fit (default: record it and go on)")
    parser.add_argument("--rows-out", help="save every (table, seed, contender) row as CSV, "
                                           "after each fit")
    parser.add_argument("--resume", action="store_true",
                        help="skip the runs --rows-out already holds with a score")
    parser.add_argument("--from-rows", nargs="+",
                        help="skip fitting: report the merged CSVs of earlier --rows-out runs")
    parser.add_argument("--out", help="write the markdown report here")
    parser.add_argument("--raw-twins", action="store_true",
                        help="score every skimb fit twice: calibrated (skimb[...]) and with "
                             "calibration=None (skimb_raw[...]), from the same fit")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: one seed, 2000 training rows, skimb {QUICK_SKIMB}")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.resume and not args.rows_out:
        parser.error("--resume needs --rows-out (the file to resume)")
    if args.quick:
        args.seeds, args.max_train_rows = 1, 2000
    table = contender_table(QUICK_SKIMB if args.quick else None, raw_twins=args.raw_twins)
    try:
        chosen = select(table, args.contenders)
    except ValueError as error:
        parser.error(str(error))
    if args.from_rows:
        results = merge_rows(args.from_rows)
    else:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits
        with threadpool_limits(args.threads):
            results = run(args, chosen)
    if results.empty or results["log_loss"].notna().sum() == 0:
        print("no result; nothing to report")
        return
    text = report(results, table)
    publish(text, args.out)


if __name__ == "__main__":
    main()
