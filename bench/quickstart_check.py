"""Is the README's quick start at least level with the defaults on held-out rows?

Runs the README's quick-start blocks as written (it builds the data ``X, y`` and
the search ``search``), then on stratified 70/30 splits of ``X, y`` for seeds
0-2 fits, on the 70% and with ``random_state`` set to the seed:

* the quick start's model: ``clone(search)``, its estimator's ``random_state``
  set to the seed;
* the defaults, ``ImbalancedTorchClassifier(random_state=seed)``;
* the former quick start, ``sampler="under", loss="weighted_ce", max_epochs=20``
  (two rebalancing levers on 20 short epochs);

and prints each model's mean test macro-F1 and log-loss over the seeds, with the
setting the quick start's search refitted on each seed.

Run: ``python bench/quickstart_check.py`` (one torch thread; about 2.5 minutes of CPU time).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import pandas as pd
import torch
from sklearn.base import clone
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skimb import ImbalancedTorchClassifier
from skimb.metrics import macro_f1

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start_code(readme: Path = README) -> str:
    """The ```python blocks of the README's "## Quick start" section, joined in order."""
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
    return "".join(re.findall(r"^```python\n(.*?)^```", section, re.S | re.M))


def run_quick_start() -> dict:
    """Execute the quick start as written; returns its namespace."""
    namespace = {"__name__": "__main__"}
    exec(compile(quick_start_code(), str(README), "exec"), namespace)
    missing = {"X", "y", "search"} - namespace.keys()
    if missing:
        raise SystemExit(f"The README's quick start no longer defines {sorted(missing)}; "
                         "update bench/quickstart_check.py.")
    return namespace


def contenders(search, seed: int) -> dict:
    return {
        "README quick start (search)": clone(search).set_params(estimator__random_state=seed),
        "ImbalancedTorchClassifier(random_state=s)": ImbalancedTorchClassifier(random_state=seed),
        "former quick start (under + weighted_ce, 20 epochs)": ImbalancedTorchClassifier(
            sampler="under", loss="weighted_ce", max_epochs=20, random_state=seed),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    print("== the README's quick start, as written ==")
    namespace = run_quick_start()
    X, y, search = namespace["X"], namespace["y"], namespace["search"]

    rows = []
    for seed in args.seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed)
        for name, model in contenders(search, seed).items():
            started = time.process_time()
            model.fit(X_train, y_train)
            proba = model.predict_proba(X_test)
            rows.append({
                "model": name, "seed": seed,
                "macro_f1": macro_f1(y_test, model.predict(X_test)),
                "log_loss": log_loss(y_test, proba, labels=model.classes_),
                "cpu_s": time.process_time() - started,
                "refit": ", ".join(f"{k}={v}" for k, v in sorted(model.best_params_.items()))
                if hasattr(model, "best_params_") else "",
            })
    table = pd.DataFrame(rows)
    print("\n== per seed ==")
    print(table.round(3).to_string(index=False))
    summary = table.groupby("model", sort=False).agg(
        macro_f1=("macro_f1", "mean"), log_loss=("log_loss", "mean"), cpu_s=("cpu_s", "mean"))
    print(f"\n== mean over seeds {args.seeds} (stratified 70/30 splits of the quick start's "
          f"{len(y)} rows) ==")
    print("| model | macro-F1 | log-loss | CPU s per fit |\n|---|---|---|---|")
    for name, row in summary.iterrows():
        print(f"| {name} | {row.macro_f1:.3f} | {row.log_loss:.3f} | {row.cpu_s:.1f} |")
    gap = summary["macro_f1"].iloc[0] - summary["macro_f1"].iloc[1]
    print(f"\nquick start - defaults: {gap:+.3f} macro-F1 "
          f"({'at least level' if gap >= 0 else 'below'})")


if __name__ == "__main__":
    main()
