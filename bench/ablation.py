"""Ablation: what each ingredient of the built-in networks adds over today's plain MLP.

Same tables, splits and epoch budget as ``bench/quality.py``. Contenders, each
adding one ingredient to the one before:

* ``plain_mlp``: plain skorch MLP (StandardScaler, Adam, all training rows);
* ``+robust_scaling``: skimb ``module="mlp"`` with its smooth-clipped robust scaling;
* ``+recipe``: AdamW, cosine schedule, gradient clipping, best validation epoch
  (20% of the training rows held out for it);
* ``+ple``: piecewise-linear embeddings on tree bins;
* ``+all_rows``: no validation split: every training row trains and the last
  epoch is kept (the CPU default, ``module=None``, at the same epochs and lr);
* ``+ensemble``: TabM (``module="tabm"``, k members) instead of the MLP of ``+ple``;

plus ``periodic`` (``+ple`` with periodic embeddings instead of PLE) and
LightGBM-balanced as the yardstick. Run:
``python bench/ablation.py --out docs/benchmarks/ablation.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from sklearn.metrics import f1_score
from skorch.dataset import ValidSplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, contenders, default_datasets_dir, fit_plain_skorch, load_table, split  # noqa: E402

from skimb import ImbalancedTorchClassifier  # noqa: E402

NO_RECIPE = dict(optimizer=torch.optim.Adam, train_split=None, callbacks__lr_scheduler=None,
                 callbacks__gradient_clipping=None, callbacks__best_epoch=None)
VALIDATED = dict(train_split=ValidSplit(5, stratified=True))
ORDER = ["plain_mlp", "+robust_scaling", "+recipe", "+ple", "+all_rows", "+ensemble", "periodic",
         "lightgbm_balanced"]


def skimb_variants(args):
    yield "+robust_scaling", dict(module="mlp", **NO_RECIPE)
    yield "+recipe", dict(module="mlp", **VALIDATED)
    yield "+ple", dict(module="mlp", module__num_embeddings="ple", **VALIDATED)
    yield "+all_rows", dict(module="mlp", module__num_embeddings="ple", train_split=None)
    yield "+ensemble", dict(module="tabm", module__k=args.k, module__num_embeddings="ple",
                            **VALIDATED)
    yield "periodic", dict(module="mlp", module__num_embeddings="periodic", **VALIDATED)


def run(args):
    folder = Path(args.datasets_dir)
    rows = []
    for name in args.only or list(DATASETS):
        if not (folder / DATASETS[name]).exists():
            continue
        X, y = load_table(name, folder)
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = split(name, X, y, seed, args.max_train_rows)
            fits = {"plain_mlp": lambda: fit_plain_skorch(X_train, y_train, X_test, y.nunique(),
                                                          args, seed)[0]}
            for label, params in skimb_variants(args):
                fits[label] = lambda params=params: ImbalancedTorchClassifier(
                    max_epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr,
                    random_state=seed, **params).fit(X_train, y_train).predict(X_test)
            for label, factory in contenders(seed):
                if label == "lightgbm_balanced":
                    fits[label] = lambda factory=factory: factory().fit(X_train, y_train).predict(X_test)
            for label, fit in fits.items():
                if args.models and label not in args.models:
                    continue
                start = time.perf_counter()
                score = f1_score(y_test, fit(), average="macro")
                rows.append({"dataset": name, "seed": seed, "model": label, "macro_f1": score,
                             "seconds": time.perf_counter() - start})
                print(f"{name:13s} seed={seed} {label:16s} macro-F1={score:.3f} "
                      f"({rows[-1]['seconds']:.0f}s)", flush=True)
                if args.rows_out:
                    pd.DataFrame(rows).to_csv(args.rows_out, index=False)
    return pd.DataFrame(rows)


def report(results, args):
    table = results.pivot_table(index="dataset", columns="model", values="macro_f1")
    table = table[[c for c in ORDER if c in table]]
    table.loc["**mean**"] = table.mean()
    seconds = results.pivot_table(index="dataset", columns="model", values="seconds")
    cost = seconds[[c for c in ORDER if c in seconds]].mean().to_frame("mean s/fit").T
    return (f"Mean test macro-F1 over {args.seeds} seed(s), at most {args.max_train_rows} training "
            f"rows, {args.max_epochs} epochs, batch {args.batch_size}, lr {args.lr}, TabM k={args.k}, "
            f"{torch.get_num_threads()} torch thread(s).\n\n"
            + table.to_markdown(floatfmt=".3f") + "\n\nCost per fit:\n\n"
            + cost.to_markdown(floatfmt=".1f") + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-dir", default=default_datasets_dir())
    parser.add_argument("--only", nargs="*", choices=list(DATASETS))
    parser.add_argument("--models", nargs="*", choices=ORDER, help="run only these columns")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--max-train-rows", type=int, default=10_000)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--k", type=int, default=8, help="TabM ensemble members")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows-out", help="save every score as CSV (rewritten after each fit)")
    parser.add_argument("--from-rows", nargs="+", help="report saved CSVs instead of fitting")
    parser.add_argument("--out", help="write the markdown report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = (pd.concat([pd.read_csv(p) for p in args.from_rows]) if args.from_rows
               else run(args))
    text = report(results, args)
    print("\n" + text)
    if args.out:
        Path(args.out).write_text("# Ablation of the built-in networks\n\n" + text)


if __name__ == "__main__":
    main()
