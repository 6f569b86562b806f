"""The ranked table of ``python -m skimb compare``, as a frame and as printed text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..grid import rank_strategies

#: Most characters of a printed line of the report.
WIDTH = 99


def ranking(cv_results: dict, refits: list, y_test, exclude, cv: int) -> pd.DataFrame:
    """:func:`skimb.grid.rank_strategies`, with each refit's epochs and the seconds of its
    cross-validation and refit; ``refits`` holds ``(model, y_pred, seconds)`` per candidate
    of ``cv_results`` (the table's ``candidate``)."""
    table = rank_strategies(cv_results, y_test=y_test, exclude=exclude,
                            labels=refits[0][0].classes_,
                            test_predictions=[y_pred for _, y_pred, _ in refits])
    candidate = table["candidate"]
    fit_seconds = np.asarray(cv_results["mean_fit_time"]) + cv_results["mean_score_time"]
    table["epochs"] = [refits[i][0].max_epochs_ for i in candidate]
    table["seconds"] = [refits[i][2] + cv * fit_seconds[i] for i in candidate]
    return table.rename(columns={"cv_mean": "cv_macro_f1"})


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
