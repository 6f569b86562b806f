"""How often a per-class recall floor, met on the out-of-fold rows it was tuned on, holds on
test rows.

On real tables of ``../shared/datasets`` (loaded and split as ``bench/quality.py`` does:
stratified 70/30, several seeds), LightGBM (``class_weight="balanced"``, 100 trees) gives
5-fold out-of-fold probabilities of the training rows; offsets are chosen on them as
:class:`skimb.TunedDecisionClassifierCV` chooses them (``shrinkage=0``), once for macro-F1
alone and once for macro-F1 subject to ``recall >= FLOOR`` on the table's rarest class of at
least ``MIN_ROWS`` training rows; the
model refitted on every training row then predicts the test rows with each. Reported: the
rarest class's recall on the out-of-fold and the test rows, whether the floor holds on each,
and test macro-F1 with and without the floor.

Run: ``python bench/decision_constraints.py --out docs/benchmarks/decision_constraints.md``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import load_table, split  # noqa: E402

from skimb.decisions import DecisionConstraintWarning, choose_offsets, decide  # noqa: E402

TABLES = ("page_blocks", "wine_quality", "shuttle", "ann_thyroid", "coil2000", "churn")
FLOOR = 0.8
#: The top of the page ``--out`` writes.
HEADER = """# Benchmark: per-class recall floors on held-out rows

Regenerate with `PYTHONPATH=. python bench/decision_constraints.py --out docs/benchmarks/decision_constraints.md`
(6 tables of `../shared/datasets`, stratified 70/30 splits as `bench/quality.py` makes them; LightGBM
`class_weight="balanced"`, 100 trees; offsets chosen on 5-fold out-of-fold probabilities with
`shrinkage=0`, as `TunedDecisionClassifierCV` chooses them). Columns: the class the floor is on, its
mean training rows, its test recall without the floor, its recall on the out-of-fold rows the floor
was tuned on and on the test rows, in how many of 3 seeds the floor held on each, and test macro-F1
without and with the floor.
"""

#: The floor is set on the rarest class with at least this many training rows.
MIN_ROWS = 20


def one_run(name, X, y, seed, max_train_rows):
    X_train, X_test, y_train, y_test = split(name, X, y, seed, max_train_rows)
    X_train, X_test = np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    model = LGBMClassifier(n_estimators=100, class_weight="balanced", n_jobs=1, verbose=-1,
                           random_state=seed)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    oof = cross_val_predict(model, X_train, y_train, cv=folds, method="predict_proba")
    classes = np.unique(y_train)
    codes = np.searchsorted(classes, y_train)
    counts = np.bincount(codes)
    rarest = classes[np.argmin(np.where(counts >= MIN_ROWS, counts, np.iinfo(np.int64).max))]
    proba_test = model.fit(X_train, y_train).predict_proba(X_test)
    row = {"table": name, "seed": seed, "rarest": str(rarest),
           "rarest_train_rows": int((y_train == rarest).sum())}
    for label, constraints in (("plain", None), ("floor", {rarest: {"recall": FLOOR}})):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DecisionConstraintWarning)
            offsets, _ = choose_offsets(oof, codes, classes, constraints=constraints,
                                        shrinkage=0)
        pred_oof, pred_test = classes[decide(oof, offsets)], classes[decide(proba_test, offsets)]
        row[f"{label}_oof_recall"] = recall_score(y_train, pred_oof, labels=[rarest],
                                                  average="macro")
        row[f"{label}_test_recall"] = recall_score(y_test, pred_test, labels=[rarest],
                                                   average="macro")
        row[f"{label}_test_f1"] = f1_score(y_test, pred_test, average="macro")
        if constraints:
            row["warned"] = any(w.category is DecisionConstraintWarning for w in caught)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "datasets"))
    parser.add_argument("--tables", nargs="*", default=list(TABLES))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--max-train-rows", type=int, default=10000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rows = []
    for name in args.tables:
        X, y, _ = load_table(name, Path(args.data))
        for seed in args.seeds:
            rows.append(one_run(name, X, y, seed, args.max_train_rows))
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    frame["held_oof"] = frame["floor_oof_recall"] >= FLOOR
    frame["held_test"] = frame["floor_test_recall"] >= FLOOR
    table = frame.groupby("table", sort=False).agg(
        rarest=("rarest", "first"), train_rows=("rarest_train_rows", "mean"),
        plain_test_recall=("plain_test_recall", "mean"),
        floor_oof_recall=("floor_oof_recall", "mean"),
        floor_test_recall=("floor_test_recall", "mean"),
        held_oof=("held_oof", "sum"), held_test=("held_test", "sum"),
        plain_test_f1=("plain_test_f1", "mean"), floor_test_f1=("floor_test_f1", "mean"))
    text = HEADER + "\n" + (f"Recall floor {FLOOR} on each table's rarest class of at least {MIN_ROWS} training "
            "rows, LightGBM-balanced, "
            f"seeds {args.seeds} (held: runs of {len(args.seeds)} where the floor holds).\n\n"
            + table.round(3).to_markdown() + "\n\n"
            f"Floor held on the out-of-fold rows in {int(frame.held_oof.sum())} of {len(frame)} "
            f"runs, on the test rows in {int(frame.held_test.sum())}; mean test macro-F1 "
            f"{frame.plain_test_f1.mean():.3f} without the floor, "
            f"{frame.floor_test_f1.mean():.3f} with it.\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
