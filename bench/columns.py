"""Column-front study (#20): ``module__max_one_hot`` and ``module__missing_fill`` measured.

Two studies of ``ImbalancedTorchClassifier(random_state=seed, **overrides)``, every other
parameter at its default, on the benchmark tables of ``../shared/datasets`` (loaded and
split by ``bench/quality.py``'s ``load_table`` and ``split``: stratified 70/30, RWIS in time
order, at most ``--max-train-rows`` training rows), test macro-F1
(``f1_score(average="macro")``), the same splits for every setting of a table and seed:

``onehot``
    ``module__max_one_hot`` in ``--max-one-hot`` (default ``0 4 8 16 32 all``: 0 embeds every
    categorical column, ``all`` is 1,000,000, above every cardinality, so every column is
    one-hot). Tables with categorical columns (``ONEHOT_TABLES``): the breadth tables' text
    columns (``categorical_features="from_dtype"``) and integer-coded columns of classic tables
    passed as ``module__categorical_features`` (``INTEGER_CATEGORICALS``). A categorical
    column is one-hot when its number of *levels* (values seen in at least
    ``module__min_level_count`` training rows, plus the shared level 0) is at most
    ``max_one_hot``. Two settings that give the same one-hot/embedded split of a table's
    columns build the same network from the same seed, so the script fits one of them and
    copies its score to the other (``same_as`` in the rows; ``--no-dedupe`` fits every
    setting); the report leaves such a setting out of the table's paired differences
    (it changes nothing there).

``fill``
    ``module__missing_fill`` ``"median"`` against ``"learned"``, on hypothyroid (its real
    missing values) and on tables (``FILL_TABLES``: the RWIS export through
    ``skimb.datasets.load_rwis_csv`` and numeric classic tables) where ``mcar`` sets
    ``--mcar`` (10%) of the feature cells to NaN completely at random, seeded (seed of the run,
    the same mask for both fills), on all rows before the split; ``complete``: the same table
    without the NaN (default median fill, which then has nothing to fill), as a reference.

Paired differences (setting - reference: ``max_one_hot=16``; ``learned - median``) are
reported per table as mean ± std over seeds, and over tables as the mean of per-table means,
the mean ± std over seeds of the per-seed means, and tables won / tied / lost (tie: within
``TIE`` = 0.005).

Run (one process, one thread; about 45 minutes on a shared 2-core machine)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 python bench/columns.py \\
        --rows-out columns_rows.csv --out docs/benchmarks/columns.md

Split a run by seed (``--first-seed 1 --seeds 2``) or by study (``--studies fill``) and merge
the saved rows with ``--from-rows a.csv b.csv``. ``--quick``: a smoke run (one seed, 3 epochs,
300 training rows, two tables per study). ``--notes FILE`` appends a hand-written reading to
the report.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (bench/quality.py: the tables, their loading and splits)

#: Integer-coded categorical columns of the classic (PMLB) tables, by name. adult: the eight
#: UCI categorical attributes (education-num stays numeric: it is education's rank);
#: coil2000: customer subtype (MOSTYPE, 40 values) and main type (MOSHOOFD, 10), the two
#: nominal attributes of the data dictionary (the others are ordinal bands or counts);
#: churn: state (51 values) and area code (3; the two plans are already 0/1).
INTEGER_CATEGORICALS = {
    "adult": ["workclass", "education", "marital-status", "occupation", "relationship",
              "race", "sex", "native-country"],
    "coil2000": ["MOSTYPE", "MOSHOOFD"],
    "churn": ["state", "area code"],
}
#: Tables of the max_one_hot study, in report order (breadth text columns, then classic
#: tables with the integer-coded columns above).
ONEHOT_TABLES = ["splice", "hypothyroid", "abalone", "nursery", "adult", "coil2000", "churn"]
#: The text columns of the breadth tables of the max_one_hot study (for the report).
TEXT_COLUMNS = {"splice": "60 DNA positions", "hypothyroid": "18 two-valued columns",
                "abalone": "`sex`", "nursery": "8 columns"}
#: Tables of the fill study: hypothyroid's real missing values; the others get MCAR NaN.
REAL_MISSING = ["hypothyroid"]
FILL_TABLES = ["hypothyroid", "rwis_iowa", "page_blocks", "wine_quality", "churn", "ann_thyroid"]
#: ``all`` in --max-one-hot: above every cardinality (every categorical column one-hot).
ALL = 1_000_000
MAX_ONE_HOT = ["0", "4", "8", "16", "32", "all"]
ONEHOT_REFERENCE = "16"
FILLS = ["median", "learned"]
TIE = quality.TIE
#: Tables trained on their whole training part, whatever ``--max-train-rows``: the RWIS
#: export's latest 3,000 training rows (19 May to 22 September 2019) hold none of its three
#: winter classes (Ice Watch, Ice Warning, Chemically Wet), so a capped fit cannot predict them.
UNCAPPED = {"rwis_iowa"}
QUICK_TABLES = {"onehot": ["hypothyroid", "churn"], "fill": ["hypothyroid", "page_blocks"]}


# ------------------------------------------------------------------------------- MCAR

def mcar(X: pd.DataFrame, fraction: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """A copy of ``X`` with ``round(fraction * X.size)`` cells set to NaN, drawn uniformly
    without replacement among all cells (missing completely at random), seeded; ``X`` itself
    and its dtypes are left as they are (a numeric column gets NaN, a ``category`` one NaN)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    n_rows, n_cols = X.shape
    n_cells = n_rows * n_cols
    chosen = np.random.default_rng(seed).choice(n_cells, size=int(round(fraction * n_cells)),
                                                replace=False)
    mask = np.zeros(n_cells, dtype=bool)
    mask[chosen] = True
    return X.mask(pd.DataFrame(mask.reshape(n_rows, n_cols), index=X.index, columns=X.columns))


# ----------------------------------------------------------------------------- settings

def one_hot_value(label: str) -> int:
    """``--max-one-hot`` label -> the ``module__max_one_hot`` value (``all`` -> ``ALL``)."""
    if label == "all":
        return ALL
    value = int(label)
    if value < 0:
        raise argparse.ArgumentTypeError(f"max_one_hot {label!r} must be >= 0 or 'all'")
    return value


def parse_one_hot(label: str) -> str:
    one_hot_value(label)
    return label


def table_overrides(name: str) -> dict:
    """The ``module__categorical_features`` a table needs (its integer-coded columns)."""
    if name in INTEGER_CATEGORICALS:
        return {"module__categorical_features": list(INTEGER_CATEGORICALS[name])}
    return {}


def encoding_split(n_levels, max_one_hot: int) -> tuple:
    """Which categorical columns are one-hot (True) at ``max_one_hot``, as the network
    decides it (``CategoricalEncoding``: levels <= max_one_hot)."""
    return tuple(int(n) <= max_one_hot for n in n_levels)


def fitted_levels(clf):
    """The levels of each categorical column of a fitted classifier's front (None when the
    network has no column front or no categorical column)."""
    module = getattr(clf, "module_", None)
    front = getattr(module, "columns", None)
    levels = getattr(front, "n_levels", None)
    return list(levels) if levels else None


# -------------------------------------------------------------------------------- fits

def make_classifier(seed: int, overrides: dict):
    from skimb import ImbalancedTorchClassifier
    return ImbalancedTorchClassifier(random_state=seed, **overrides)


def fit_score(X_train, y_train, X_test, y_test, seed, overrides):
    """``(macro_f1, seconds, levels)`` of one fit (predicting the test rows included)."""
    start = time.perf_counter()
    clf = make_classifier(seed, overrides).fit(X_train, y_train)
    score = f1_score(y_test, clf.predict(X_test), average="macro")
    return float(score), time.perf_counter() - start, fitted_levels(clf)


def _run_one(rows, base, X_train, y_train, X_test, y_test, seed, overrides, args):
    """Fit, append the row and print it; a failure is recorded (``--fail-fast``: raised)."""
    try:
        score, seconds, levels = fit_score(X_train, y_train, X_test, y_test, seed, overrides)
        error = None
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        if args.fail_fast:
            raise
        traceback.print_exc()
        score, seconds, levels = np.nan, np.nan, None
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    row = {**base, "macro_f1": score, "seconds": seconds, "fitted": True, "same_as": None,
           "levels": repr(levels) if levels else None, "error": error}
    rows.append(row)
    print(f"{base['study']:6s} {base['dataset']:13s} seed={seed} {base['setting']:8s} "
          f"macro-F1={score:.3f} ({seconds:.0f}s){'  ' + error if error else ''}", flush=True)
    if args.rows_out:
        pd.DataFrame(rows).to_csv(args.rows_out, index=False)
    return row, levels


def train_rows(name: str, X, args) -> int:
    """The training-row cap of a table (``UNCAPPED`` tables: all of their training part)."""
    return len(X) if name in UNCAPPED else args.max_train_rows


def study_onehot(rows, name, X, y, seed, args, common):
    X_train, X_test, y_train, y_test = quality.split(name, X, y, seed, train_rows(name, X, args))
    extra = {**args.overrides, **table_overrides(name)}
    labels = [ONEHOT_REFERENCE] + [s for s in args.max_one_hot if s != ONEHOT_REFERENCE]
    if ONEHOT_REFERENCE not in args.max_one_hot:
        labels = list(args.max_one_hot)
    fitted = {}  # encoding split -> the row that fitted it
    levels = None
    for label in labels:
        value = one_hot_value(label)
        base = {**common, "study": "onehot", "dataset": name, "seed": seed, "setting": label,
                "max_one_hot": value, "n_train": len(y_train), "n_test": len(y_test),
                "missing_train": float(X_train.isna().to_numpy().mean())}
        if levels is not None:
            split = encoding_split(levels, value)
            base["one_hot"], base["embedded"] = sum(split), len(split) - sum(split)
            if split in fitted and not args.no_dedupe:
                row = fitted[split]
                rows.append({**base, "macro_f1": row["macro_f1"], "seconds": 0.0,
                             "fitted": False, "same_as": row["setting"], "levels": row["levels"],
                             "error": row["error"]})
                print(f"onehot {name:13s} seed={seed} {label:8s} = {row['setting']} "
                      f"(same encoding)", flush=True)
                continue
        row, got = _run_one(rows, base, X_train, y_train, X_test, y_test, seed,
                            {**extra, "module__max_one_hot": value}, args)
        if got is not None:
            levels = got
            split = encoding_split(levels, value)
            row["one_hot"], row["embedded"] = sum(split), len(split) - sum(split)
            fitted.setdefault(split, row)
    if args.rows_out:
        pd.DataFrame(rows).to_csv(args.rows_out, index=False)


def study_fill(rows, name, X, y, seed, args, common):
    real = name in REAL_MISSING
    variants = [] if real else [("complete", X)]
    X_missing = X if real else mcar(X, args.mcar, seed)
    variants += [(fill, X_missing) for fill in FILLS]
    for setting, table in variants:
        X_train, X_test, y_train, y_test = quality.split(name, table, y, seed,
                                                         train_rows(name, X, args))
        fill = "median" if setting == "complete" else setting
        base = {**common, "study": "fill", "dataset": name, "seed": seed, "setting": setting,
                "missing_fill": fill, "mcar": 0.0 if real or setting == "complete" else args.mcar,
                "n_train": len(y_train), "n_test": len(y_test),
                "missing_train": float(X_train.isna().to_numpy().mean())}
        _run_one(rows, base, X_train, y_train, X_test, y_test, seed,
                 {**args.overrides, "module__missing_fill": fill}, args)


def run(args) -> pd.DataFrame:
    folder = Path(args.datasets_dir)
    command = "python bench/columns.py " + " ".join(shlex.quote(a) for a in args.argv)
    import skimb
    common = {"command": command, "host": quality.host_description(),
              "threads": torch.get_num_threads(),
              "skimb": str(Path(skimb.__file__).resolve().parent)}
    rows = []
    for study in args.studies:
        tables = args.tables.get(study, [])
        for name in tables:
            path = folder / quality.DATASETS[name]
            if not path.exists():
                print(f"skip {name}: {path} not found", file=sys.stderr)
                continue
            X, y, note = quality.load_table(name, folder)
            if note:
                print(note, file=sys.stderr)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if study == "onehot":
                    study_onehot(rows, name, X, y, seed, args, {**common, "dropped": note})
                else:
                    study_fill(rows, name, X, y, seed, args, {**common, "dropped": note})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ report

def paired(results: pd.DataFrame, study: str, setting: str, reference: str,
           skip_same: bool = True) -> pd.DataFrame:
    """Per (dataset, seed): ``setting - reference`` macro-F1, and whether the setting was the
    reference's own model (``same``: a setting that changes nothing on that table)."""
    part = results[(results["study"] == study) & results["macro_f1"].notna()]
    a = part[part["setting"] == setting].set_index(["dataset", "seed"])
    b = part[part["setting"] == reference].set_index(["dataset", "seed"])
    both = a.index.intersection(b.index)
    if not len(both):
        return pd.DataFrame(columns=["dataset", "seed", "diff", "same"])
    out = pd.DataFrame({"diff": a.loc[both, "macro_f1"] - b.loc[both, "macro_f1"]})
    if "same_as" in a and "one_hot" in a:
        same = ((a.loc[both, "same_as"].astype(str) == reference)
                | ((a.loc[both, "one_hot"] == b.loc[both, "one_hot"])
                   & (a.loc[both, "embedded"] == b.loc[both, "embedded"])
                   & a.loc[both, "one_hot"].notna()))
    else:
        same = pd.Series(False, index=both)
    out["same"] = same.to_numpy(dtype=bool)
    return out.reset_index()


def summarise(diffs: pd.DataFrame, tie: float = TIE) -> dict:
    """The paired differences of one setting over the tables where it changes something."""
    diffs = diffs[~diffs["same"]] if len(diffs) else diffs
    if not len(diffs):
        return {"tables": 0}
    per_table = diffs.groupby("dataset")["diff"].agg(["mean", "std", "count"])
    per_seed = diffs.groupby("seed")["diff"].mean()
    verdicts = np.where(per_table["mean"] > tie, "W", np.where(per_table["mean"] < -tie, "L", "T"))
    return {"tables": len(per_table), "mean": per_table["mean"].mean(),
            "seed_mean": per_seed.mean(), "seed_std": per_seed.std(ddof=1) if len(per_seed) > 1
            else np.nan, "W": int((verdicts == "W").sum()), "T": int((verdicts == "T").sum()),
            "L": int((verdicts == "L").sum()), "per_table": per_table}


def verdict(summary: dict, name: str, reference: str, tie: float = TIE) -> str:
    """A plain sentence: does ``name`` beat ``reference`` beyond seed noise?"""
    if not summary.get("tables"):
        return f"`{name}` changes nothing on any table: no evidence."
    mean, std = summary["mean"], summary["seed_std"]
    noise = max(tie, std if np.isfinite(std) else 0.0)
    record = f"{summary['W']}W {summary['T']}T {summary['L']}L over {summary['tables']} table(s)"
    numbers = (f"mean difference {mean:+.4f} (per-seed means {summary['seed_mean']:+.4f} ± "
               f"{std:.4f}), {record}")
    if mean > noise and summary["W"] > summary["L"]:
        return f"`{name}` is better than `{reference}`: {numbers}."
    if mean < -noise and summary["L"] > summary["W"]:
        return f"`{name}` is worse than `{reference}`: {numbers}."
    return f"`{name}` and `{reference}` are not separated (within seed noise): {numbers}."


def _fmt(mean, std, count=None, n_seeds=None):
    if not np.isfinite(mean):
        return "—"
    text = f"{mean:.3f} ± {std:.3f}" if np.isfinite(std) else f"{mean:.3f}"
    if n_seeds and count is not None and count < n_seeds:
        text += f" [{count}]"
    return text


def _fmt_diff(values: pd.Series):
    if not len(values):
        return "—"
    std = values.std(ddof=1) if len(values) > 1 else np.nan
    return f"{values.mean():+.3f} ± {std:.3f}" if np.isfinite(std) else f"{values.mean():+.3f}"


def _markdown(frame: pd.DataFrame) -> str:
    return quality._markdown(frame, disable_numparse=True)


def levels_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per onehot table: its categorical columns' levels (first seed's fit) and, per
    max_one_hot setting, how many columns are one-hot / embedded."""
    part = results[(results["study"] == "onehot") & results["levels"].notna()]
    out = {}
    for name in [t for t in ONEHOT_TABLES if t in set(part["dataset"])]:
        rows = part[part["dataset"] == name]
        first = rows[rows["seed"] == rows["seed"].min()]
        levels = sorted(eval(first["levels"].iloc[0]))  # noqa: S307 - our own repr of a list
        counts = pd.Series(levels).value_counts().sort_index()
        entry = {"categorical columns": len(levels),
                 "levels (columns)": ", ".join(f"{n}" + (f" ({c})" if c > 1 else "")
                                               for n, c in counts.items()),
                 "train rows": int(first["n_train"].iloc[0])}
        settings = [s for s in MAX_ONE_HOT if s in set(rows["setting"])]
        settings += sorted(set(rows["setting"]) - set(settings), key=one_hot_value)
        groups = {}
        for s in settings:
            r = first[first["setting"] == s]
            if len(r) and pd.notna(r["one_hot"].iloc[0]):
                one_hot, embedded = int(r["one_hot"].iloc[0]), int(r["embedded"].iloc[0])
                entry[f"{s}: 1hot/emb"] = f"{one_hot}/{embedded}"
                # the one-hot columns are those with levels <= max_one_hot: nested sets, so
                # two settings with as many one-hot columns one-hot the same ones
                groups.setdefault(one_hot, []).append(s)
        entry["same network"] = "; ".join(" = ".join(g) for g in groups.values() if len(g) > 1)
        out[name] = entry
    return pd.DataFrame.from_dict(out, orient="index")


def score_grid(results, study, settings, tables) -> pd.DataFrame:
    part = results[(results["study"] == study) & results["macro_f1"].notna()]
    n_seeds = part["seed"].nunique()
    grid = {}
    for name in [t for t in tables if t in set(part["dataset"])]:
        rows = part[part["dataset"] == name]
        grid[name] = {}
        for s in settings:
            v = rows[rows["setting"] == s]["macro_f1"]
            grid[name][s] = _fmt(v.mean(), v.std(ddof=1) if len(v) > 1 else np.nan, len(v),
                                 n_seeds) if len(v) else "—"
    return pd.DataFrame.from_dict(grid, orient="index")


def diff_grid(results, study, settings, reference, tables, mark_same=True):
    """Per table: ``s - reference`` mean ± std over seeds (``=`` where s is the same model),
    then the summary rows."""
    grid, summaries = {}, {}
    for s in settings:
        d = paired(results, study, s, reference)
        summaries[s] = summarise(d)
        for name in [t for t in tables if t in set(d["dataset"])]:
            rows = d[d["dataset"] == name]
            cell = "= (same model)" if mark_same and rows["same"].all() else _fmt_diff(rows["diff"])
            if mark_same and rows["same"].any() and not rows["same"].all():
                cell += " (same on some seeds)"
            grid.setdefault(name, {})[f"{s} − {reference}"] = cell
    body = pd.DataFrame.from_dict(grid, orient="index")
    extra = {}
    mean_label = "**mean over tables it changes**" if mark_same else "**mean over tables**"
    for s, m in summaries.items():
        col = f"{s} − {reference}"
        if not m.get("tables"):
            extra.setdefault(mean_label, {})[col] = "— (0)"
            continue
        extra.setdefault(mean_label, {})[col] = f"{m['mean']:+.3f} ({m['tables']})"
        extra.setdefault("per-seed mean ± std", {})[col] = (
            f"{m['seed_mean']:+.3f} ± {m['seed_std']:.3f}" if np.isfinite(m["seed_std"])
            else f"{m['seed_mean']:+.3f}")
        extra.setdefault(f"won / tied / lost (tie ±{TIE})", {})[col] = (
            f"{m['W']} / {m['T']} / {m['L']}")
    body = pd.concat([body, pd.DataFrame.from_dict(extra, orient="index")])
    return body, summaries


def cost_lines(results: pd.DataFrame) -> list:
    fitted = results[results["fitted"].astype(bool) & results["seconds"].notna()]
    lines = []
    for study in ["onehot", "fill"]:
        part = fitted[fitted["study"] == study]
        if len(part):
            per = part.groupby("dataset")["seconds"].mean()
            lines.append(
                f"- `{study}`: {len(part)} fits, {part['seconds'].sum() / 60:.1f} min of fitting "
                f"({part['seconds'].mean():.1f} s per fit; per table "
                + ", ".join(f"{d} {per[d]:.0f} s" for d in per.index) + ")"
                + (f"; {int((~results[results['study'] == study]['fitted'].astype(bool)).sum())}"
                   " settings copied from an identical model, not refitted"
                   if study == "onehot" else "") + ".")
    return lines


def seconds_grid(results: pd.DataFrame, study: str, settings, tables) -> pd.DataFrame:
    """Mean seconds per fit (predicting the test rows included), per table and setting,
    over the fits that ran (a setting copied from an identical model is not counted)."""
    part = results[(results["study"] == study) & results["fitted"].astype(bool)
                   & results["seconds"].notna()]
    grid = part.pivot_table(index="dataset", columns="setting", values="seconds",
                            aggfunc="mean")
    grid = grid.loc[[t for t in tables if t in grid.index], [s for s in settings if s in grid]]
    grid.loc["**mean**"] = grid.mean()
    return grid.map(lambda v: "—" if pd.isna(v) else f"{v:.0f}")


def report(results: pd.DataFrame, notes: str = "", args=None) -> str:
    ok = results[results["macro_f1"].notna()]
    seeds = sorted(ok["seed"].unique())
    hosts = sorted(results["host"].dropna().unique()) if "host" in results else []
    threads = sorted({int(t) for t in results["threads"].dropna()}) if "threads" in results else []
    commands = list(dict.fromkeys(results["command"].dropna())) if "command" in results else []
    n_train = results.groupby("dataset")["n_train"].max()
    capped = n_train.drop(list(UNCAPPED), errors="ignore")
    cap = f"{int(capped.max()):,}" if len(capped) else "—"
    out = ["# Column front: one-hot threshold and missing fill (#20)", ""]
    out += [
        "Issue #20 asks for the cardinality above which a categorical column gets a learned "
        "embedding instead of one-hot, and for the fill of a missing number (median or learned, "
        "always with a missing indicator), both chosen by measurement. "
        "`ImbalancedTorchClassifier(random_state=seed, **setting)`, every other parameter at "
        "its default (built-in MLP, `max_epochs=\"auto\"`, no validation split), test "
        f"**macro-F1**, seeds {', '.join(map(str, seeds))}; the tables and splits of "
        "`bench/quality.py` (stratified 70/30, rwis_iowa in time order: first 70% to train), "
        f"at most {cap} training rows "
        "(a larger training part is subsampled, stratified), except rwis_iowa, which trains "
        "on its whole first 70% (5,600 rows: its latest 3,000 training rows, 19 May to "
        "22 September, hold none of its three winter classes); the same rows for every "
        "setting of a table and seed.",
        "",
        f"Machine: {'; '.join(hosts) or 'not recorded'}, shared with another benchmark; "
        f"{', '.join(map(str, threads)) or '?'} torch thread(s), `OMP_NUM_THREADS=1 "
        "MKL_NUM_THREADS=1`, one process under `nice -n 10`. Commands (rows saved with "
        "`--rows-out`; this page is their merge with `--from-rows`):",
        "",
    ]
    out += [f"    {c}" for c in commands] + [""]
    out += ["Cost:", ""] + cost_lines(results) + [""]
    dropped = results.groupby("dataset")["dropped"].first().dropna() if "dropped" in results else []
    dropped = [line for line in dropped if isinstance(line, str) and "dropped" in line
               and "nothing dropped" not in line]
    if dropped:
        out += ["Classes dropped before splitting (fewer than 15 rows, as in `bench/quality.py`): "
                + "; ".join(dropped) + ".", ""]

    onehot = results[results["study"] == "onehot"]
    if len(onehot):
        settings = [s for s in MAX_ONE_HOT if s in set(onehot["setting"])]
        settings += sorted(set(onehot["setting"]) - set(settings), key=one_hot_value)
        alternatives = [s for s in settings if s != ONEHOT_REFERENCE]
        out += ["## 1. `module__max_one_hot`", ""]
        out += [
            "A categorical column is one-hot when its levels (values seen in at least "
            "`min_level_count`=3 training rows, plus level 0 shared by missing, unseen and rare "
            "values) are at most `max_one_hot`, else embedded in `d_cat_embedding`=8 values. "
            f"Settings: {', '.join(f'`{s}`' for s in settings)} (`all` = {ALL:,}: every column "
            "one-hot); reference: the default 16. Which columns are categorical:",
            "",
        ]
        present = set(onehot["dataset"])
        text = [f"{t} ({TEXT_COLUMNS[t]})" for t in TEXT_COLUMNS if t in present]
        if text:
            out.append("- breadth tables (text columns, `categorical_features=\"from_dtype\"`): "
                       + ", ".join(text) + ";")
        for name, cols in INTEGER_CATEGORICALS.items():
            if name in set(onehot["dataset"]):
                out.append(f"- {name} (integer codes, `module__categorical_features`): "
                           + ", ".join(f"`{c}`" for c in cols) + ";")
        out += ["", "Levels per table (first seed's training rows) and, per setting, how many "
                "columns are one-hot / embedded:", "", _markdown(levels_table(results)), ""]
        out += ["Test macro-F1, mean ± std over seeds:", "",
                _markdown(score_grid(results, "onehot", settings, ONEHOT_TABLES)), ""]
        body, summaries = diff_grid(results, "onehot", alternatives, ONEHOT_REFERENCE,
                                    ONEHOT_TABLES)
        out += [f"Paired difference to `max_one_hot={ONEHOT_REFERENCE}` per table, mean ± std "
                "over seeds of the per-seed differences; `= (same model)`: the setting gives "
                "that table the same one-hot/embedded split as 16, so the same network (left "
                "out of the summary rows). Summary rows over the tables the setting changes: "
                "the mean of the per-table means (tables in brackets), the mean ± std over "
                f"seeds of the per-seed means, and the tables won / tied / lost (tie: within "
                f"±{TIE}).", "", _markdown(body), ""]
        out += [f"- {verdict(summaries[s], f'max_one_hot={s}', f'max_one_hot={ONEHOT_REFERENCE}')}"
                for s in alternatives] + [""]
        out += ["Seconds per fit (`—`: never fitted, the same network as another setting on "
                "every seed):", "", _markdown(seconds_grid(results, "onehot", settings,
                                                          ONEHOT_TABLES)), ""]

    fill = results[results["study"] == "fill"]
    if len(fill):
        mcar_rate = fill["mcar"].max()
        out += ["## 2. `module__missing_fill`", ""]
        out += [
            "`median`: a missing number is its column's median over the training rows; "
            "`learned`: a parameter per column starting at that median, trained with the "
            "network; both add a missing indicator for every column missing in some training "
            "row. hypothyroid: its real missing values (7 numeric columns, 8–92% of their "
            "cells missing; its text columns' missing values go to level 0 either way). The "
            "other tables: "
            f"{mcar_rate:.0%} of the feature cells set to NaN completely at random (`mcar`: "
            "exactly round(0.1 × cells), drawn without replacement, seeded by the run's seed, "
            "the same cells for both fills, on all rows before the split, so test rows have "
            "them too); rwis_iowa is `load_rwis_csv(path)`'s numeric table (no missing cell as "
            "exported). `complete`: the same table and split without the NaN, as a reference.",
            "",
            "Test macro-F1, mean ± std over seeds:", "",
            _markdown(score_grid(results, "fill", ["complete", "median", "learned"],
                                 FILL_TABLES)), ""]
        body, summaries = diff_grid(results, "fill", ["learned"], "median", FILL_TABLES,
                                    mark_same=False)
        cost, _ = diff_grid(results, "fill", ["median"], "complete", FILL_TABLES, mark_same=False)
        both = pd.concat([body, cost], axis=1)
        out += ["Paired differences per table, mean ± std over seeds; summary rows as above. "
                "`median − complete` is what the missing cells cost with the default fill.", "",
                _markdown(both), ""]
        out += [f"- {verdict(summaries['learned'], 'learned', 'median')}", ""]
        out += ["Seconds per fit:", "", _markdown(seconds_grid(
            results, "fill", ["complete", "median", "learned"], FILL_TABLES)), ""]
    failed = results[results["error"].notna()] if "error" in results else []
    if len(failed):
        out += ["Failed fits:", ""] + [f"- {r.study} {r.dataset} seed {r.seed} {r.setting}: "
                                       f"{r.error}" for r in failed.itertuples()] + [""]
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)


def merge_rows(paths) -> pd.DataFrame:
    """Rows of several ``--rows-out`` CSVs; a (study, dataset, seed, setting) run in more than
    one file keeps the later file's row."""
    frames = [pd.read_csv(p) for p in paths]
    merged = pd.concat(frames, ignore_index=True)
    return merged.drop_duplicates(subset=["study", "dataset", "seed", "setting"], keep="last")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-dir", default=quality.default_datasets_dir())
    parser.add_argument("--studies", nargs="+", choices=["onehot", "fill"],
                        default=["onehot", "fill"])
    parser.add_argument("--onehot-tables", nargs="+", choices=ONEHOT_TABLES,
                        default=[t for t in ONEHOT_TABLES if t != "nursery"],
                        help="tables of the max_one_hot study (default: all but nursery, which "
                             "every model scores 1.000 on, docs/benchmarks/breadth.md)")
    parser.add_argument("--fill-tables", nargs="+", choices=FILL_TABLES,
                        default=["hypothyroid", "rwis_iowa", "page_blocks", "wine_quality",
                                 "churn"],
                        help="tables of the fill study")
    parser.add_argument("--max-one-hot", nargs="+", type=parse_one_hot, default=MAX_ONE_HOT,
                        help="max_one_hot settings (integers, or 'all' for one-hot everything)")
    parser.add_argument("--mcar", type=float, default=0.1,
                        help="fraction of feature cells set to NaN at random (fill study)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-train-rows", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--no-dedupe", action="store_true",
                        help="fit every max_one_hot setting, also those that give a table the "
                             "same encoding as one already fitted")
    parser.add_argument("--fail-fast", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one seed, 3 epochs, 300 training rows, two tables per "
                             "study")
    parser.add_argument("--rows-out", help="save every (study, table, seed, setting) as CSV")
    parser.add_argument("--from-rows", nargs="+", help="skip fitting: report these CSVs merged")
    parser.add_argument("--notes", help="a markdown file appended to the report")
    parser.add_argument("--out", help="write the markdown report here")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.overrides = {}
    args.tables = {"onehot": args.onehot_tables, "fill": args.fill_tables}
    if args.quick:
        args.seeds, args.max_train_rows = 1, 300
        args.overrides = {"max_epochs": 3}
        args.tables = dict(QUICK_TABLES)
    torch.set_num_threads(args.threads)
    if args.from_rows:
        results = merge_rows(args.from_rows)
    else:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(args.threads):
            results = run(args)
    if args.rows_out and not args.from_rows:
        results.to_csv(args.rows_out, index=False)
    if results.empty or results["macro_f1"].notna().sum() == 0:
        print("no result; nothing to report")
        return
    notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    text = report(results, notes, args)
    quality.publish(text, args.out)


if __name__ == "__main__":
    main()
