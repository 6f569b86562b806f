"""The ranked table of ``python -m skimb compare``, as a frame and as printed text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from ..metrics import macro_f1

#: Most characters of a printed line of the report.
WIDTH = 99


def describe(params: dict) -> str:
    """A strategy's name in the table: ``"sampler + loss (other=value, ...)"``."""
    short = {key: value for key, value in params.items() if key != "max_epochs"}
    text = f"{short.pop('sampler')} + {short.pop('loss')}"
    extras = ", ".join(f"{key.split('__', 1)[-1]}={value:.3g}" if isinstance(value, float)
                       else f"{key.split('__', 1)[-1]}={value}" for key, value in short.items())
    return f"{text} ({extras})" if extras else text


def ranking(cv_results: dict, refits: list, y_test, classes, exclude, cv: int) -> pd.DataFrame:
    """One row per strategy, best cross-validated macro-F1 first (rank from 1).

    ``refits`` holds ``(model, y_pred, seconds)`` per candidate of ``cv_results``.
    """
    rows = []
    for i, (params, (model, y_pred, seconds)) in enumerate(zip(cv_results["params"], refits)):
        per_class = f1_score(y_test, y_pred, labels=classes, average=None, zero_division=0)
        rows.append({
            "strategy": describe(params),
            "cv_macro_f1": cv_results["mean_test_score"][i],
            "cv_std": cv_results["std_test_score"][i],
            "test_macro_f1": macro_f1(y_test, y_pred, exclude=exclude),
            **{f"F1 {c}": f for c, f in zip(classes, per_class)},
            "epochs": model.max_epochs_,
            "seconds": seconds + cv * (cv_results["mean_fit_time"][i]
                                       + cv_results["mean_score_time"][i]),
        })
    table = pd.DataFrame(rows).sort_values("cv_macro_f1", ascending=False, kind="stable")
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def format_ranking(table: pd.DataFrame) -> str:
    """The ranking as text under 100 characters wide (the per-class F1 go to
    :func:`format_per_class`)."""
    width = max(len("strategy"), *map(len, table["strategy"]))
    lines = [f"{'rank':>4}  {'strategy':<{width}}  {'CV macro-F1':^13}  {'test':>5}  "
             f"{'epochs':>6}  {'seconds':>7}"]
    for rank, row in table.iterrows():
        lines.append(f"{rank:>4}  {row['strategy']:<{width}}  {row['cv_macro_f1']:.3f} ± "
                     f"{row['cv_std']:.3f}  {row['test_macro_f1']:.3f}  {row['epochs']:>6}  "
                     f"{row['seconds']:>7.1f}")
    return "\n".join(lines)


def format_per_class(table: pd.DataFrame, y_test) -> str:
    """Test F1 of every class (rows) for every strategy (columns: its rank)."""
    columns = [c for c in table if c.startswith("F1 ")]
    block = table[columns].T
    block.index = [c.removeprefix("F1 ") for c in columns]
    block.columns = [f"#{rank}" for rank in table.index]
    labels, counts = np.unique(np.asarray(y_test), return_counts=True)
    rows = dict(zip(map(str, labels), counts))
    block.insert(0, "rows", [rows.get(c, 0) for c in block.index])
    return block.to_string(float_format=lambda v: f"{v:.2f}")
