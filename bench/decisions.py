"""Decision benchmark: test macro-F1 of argmax against tuned decisions.

On real tables of ``../shared/datasets`` (loaded and split as
``bench/quality.py`` does: stratified 70/30, several seeds) it compares

* a plain skimb MLP (``sampler="none"``, ``loss="ce"``, 20% internal
  validation split), predicting with ``argmax``, ``decision="prior"`` and
  ``decision="tuned"`` for several ``min_count`` values (one fit: the offsets
  are recomputed from the validation rows' probabilities);
* LightGBM and HistGB (``class_weight="balanced"``) predicting with argmax
  and through :class:`skimb.TunedDecisionClassifierCV` (5 folds).

Run: ``python bench/decisions.py --out docs/benchmarks/decisions.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler
from skorch.dataset import ValidSplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, load_table, split  # noqa: E402

from skimb import ImbalancedTorchClassifier, TunedDecisionClassifierCV  # noqa: E402
from skimb._data import TensorTable  # noqa: E402
from skimb.decisions import decide, prior_offsets, tune_offsets  # noqa: E402

MIN_COUNTS = (1, 5, 20)


def mlp_rows(X_train, y_train, X_test, y_test, args, seed):
    scaler = StandardScaler().fit(X_train)
    X_tr = scaler.transform(X_train).astype(np.float32)
    X_te = scaler.transform(X_test).astype(np.float32)
    clf = ImbalancedTorchClassifier(
        module__hidden_units=(128, 128), module__dropout=0.1, max_epochs=args.max_epochs,
        batch_size=256, random_state=seed, train_split=ValidSplit(5, stratified=True))
    clf.fit(X_tr, y_train)
    # The internal validation rows (ValidSplit(5, stratified) is deterministic).
    encoded = np.searchsorted(clf.classes_, np.asarray(y_train))
    _, valid = ValidSplit(5, stratified=True)(TensorTable(X_tr, encoded), encoded)
    rows = np.asarray(valid.indices)
    proba_valid, proba_test = clf.predict_proba(X_tr[rows]), clf.predict_proba(X_te)
    decisions = {"argmax": np.zeros(len(clf.classes_)),
                 "prior": prior_offsets(clf.class_counts_)}
    for m in MIN_COUNTS:
        decisions[f"tuned (min_count={m})"] = tune_offsets(proba_valid, encoded[rows],
                                                           min_count=m)
    return {name: f1_score(y_test, clf.classes_[decide(proba_test, b)], average="macro")
            for name, b in decisions.items()}


def boosting_rows(model, X_train, y_train, X_test, y_test, seed):
    tuned = TunedDecisionClassifierCV(model, cv=5, random_state=seed).fit(X_train, y_train)
    argmax = tuned.classes_[tuned.predict_proba(X_test).argmax(axis=1)]
    return {"argmax": f1_score(y_test, argmax, average="macro"),
            "tuned (min_count=5)": f1_score(y_test, tuned.predict(X_test), average="macro")}


def run(args):
    torch.set_num_threads(1)
    folder = Path(args.datasets_dir)
    records = []
    for name in args.only:
        X, y = load_table(name, folder)
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = split(name, X, y, seed, args.max_train_rows)
            fits = {"skimb MLP": lambda: mlp_rows(X_train, y_train, X_test, y_test, args, seed),
                    "HistGB balanced": lambda: boosting_rows(
                        HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
                        X_train, y_train, X_test, y_test, seed)}
            try:
                from lightgbm import LGBMClassifier

                fits["LightGBM balanced"] = lambda: boosting_rows(
                    LGBMClassifier(class_weight="balanced", random_state=seed, verbose=-1,
                                   n_jobs=1), X_train, y_train, X_test, y_test, seed)
            except ImportError:
                pass
            for model, fit in fits.items():
                start = time.perf_counter()
                scores = fit()
                for decision, score in scores.items():
                    records.append({"dataset": name, "seed": seed, "model": model,
                                    "decision": decision, "macro_f1": score})
                print(f"{name:13s} seed={seed} {model:18s} "
                      + " ".join(f"{k}={v:.3f}" for k, v in scores.items())
                      + f" ({time.perf_counter() - start:.0f}s)", flush=True)
    return pd.DataFrame(records)


def report(results: pd.DataFrame, args) -> str:
    table = results.pivot_table(index=["dataset", "model"], columns="decision",
                                values="macro_f1", aggfunc="mean")
    columns = ["argmax", "prior"] + [f"tuned (min_count={m})" for m in MIN_COUNTS]
    table = table[[c for c in columns if c in table.columns]]
    table["tuned - argmax"] = table["tuned (min_count=5)"] - table["argmax"]
    means = table.groupby(level="model").mean()
    means.index = pd.MultiIndex.from_tuples([("**mean**", m) for m in means.index])
    table = pd.concat([table, means])
    header = (f"Mean test macro-F1 over {args.seeds} seed(s); stratified 70/30 split, at most "
              f"{args.max_train_rows} training rows; MLP (128, 128), {args.max_epochs} epochs, "
              "1 torch thread. Empty cells: not applicable.\n\n")
    return header + table.to_markdown(floatfmt=".3f").replace(" nan ", "     ") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-dir", default=os.environ.get(
        "SKIMB_DATASETS", str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets")))
    parser.add_argument("--only", nargs="*", choices=list(DATASETS),
                        default=["wine_quality", "coil2000", "page_blocks"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-train-rows", type=int, default=20_000)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--out", help="write the markdown table here")
    parser.add_argument("--rows-out", help="save every score as CSV")
    args = parser.parse_args(argv)
    results = run(args)
    if args.rows_out:
        results.to_csv(args.rows_out, index=False)
    text = report(results, args)
    print("\n" + text)
    if args.out:
        Path(args.out).write_text("# Decision benchmark\n\n" + text)


if __name__ == "__main__":
    main()
