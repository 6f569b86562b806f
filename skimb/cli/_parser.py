"""The command line of ``python -m skimb``: its options, their checks and its help."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Rank class-imbalance strategies (samplers x losses) by macro-F1 on a table.

Every strategy of skimb.grid.default_strategy_grid() is scored by
cross-validated macro-F1 on a training part (70% of the rows), refit on it
and scored on the held-out 30%, per class too. Each model is the library's
default ImbalancedTorchClassifier(): the built-in network reads the table as
it is (text, dates and missing values included), trained on all its rows.

Every setting trains for the same number of optimizer steps: --max-epochs N
is the epochs of a sampler="none" fit, and a sampler whose epochs draw fewer
rows (under) runs as many more epochs as that takes. --max-epochs auto leaves
the budget to the classifier (max_epochs="auto").

Without --data the table is simulated RWIS road-surface data
(skimb.datasets.make_rwis). A raw Iowa DOT RWIS export (columns STATION_ID,
OBTAINED_DATE, SURFACE_TEMP, SURFACE_CONDITION) is read by
skimb.datasets.load_rwis_csv and split in time order; any other CSV is read
as it is, with the column named by --time, if any, ordering the split. Columns
that are not used are named on stderr.

Writes ranking.csv (every score, per-class F1 too) and PNG plots to --out."""

EPILOG = """\
examples:
  python -m skimb compare
      every strategy on simulated RWIS data (a few minutes on 2 CPU cores)
  python -m skimb compare --data rwis_export.csv.gz --exclude "Chemical Wet"
      a raw Iowa DOT RWIS export, macro-F1 without one class
  python -m skimb compare --data table.csv --target label --cv 5 --n-jobs 2
      your own table, 5 folds, two fits at a time"""


def _integer(low: int, text: str, *, allow: tuple = ()) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or (value < low and value not in allow):
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
    return value


def _at_least(low: int):
    """An argparse ``type``: an integer of at least ``low``."""
    def parse(text: str) -> int:
        return _integer(low, text)
    parse.__name__ = f"integer >= {low}"  # argparse names the type in its messages
    return parse


def _batch_size(text: str) -> int:
    """``--batch-size``: a positive integer, or -1 for all rows in one batch (skorch's)."""
    try:
        return _integer(1, text, allow=(-1,))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (or -1: all rows in one batch), got {text!r}") from None


def _n_jobs(text: str) -> int:
    """``--n-jobs``: joblib's ``n_jobs``, any integer but 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"must be a non-zero integer (-1: all CPUs or all Dask workers), got {text!r}")
    return value


def _max_epochs(text: str) -> int | str:
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m skimb``; ``compare`` is its one command."""
    parser = argparse.ArgumentParser(
        prog="skimb",
        description="skimb: PyTorch classifiers that are good at class-imbalanced data.",
        epilog="Run 'python -m skimb compare --help' for the options of compare.\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    compare = commands.add_parser(
        "compare",
        help="rank imbalance strategies (samplers x losses) by macro-F1 on a table",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = compare.add_argument_group("data")
    data.add_argument("--data", metavar="CSV",
                      help="the table, a CSV file (plain or gzip) with a header row "
                           "(default: simulated RWIS data)")
    data.add_argument("--target", metavar="COLUMN",
                      help="the column of --data to predict (default: the last column; "
                           "SURFACE_CONDITION for an RWIS export)")
    data.add_argument("--time", metavar="COLUMN",
                      help="a date-time column of --data: the rows are sorted by it and split "
                           "in time order, the past for training, the last 30%% for testing")
    data.add_argument("--n-samples", type=_at_least(100), default=6000, metavar="N",
                      help="rows of simulated RWIS data, without --data (default: %(default)s)")
    data.add_argument("--exclude", nargs="+", default=[], metavar="CLASS",
                      help="classes left out of macro-F1 (they are still predicted and "
                           "shown per class)")
    training = compare.add_argument_group("training")
    training.add_argument("--max-epochs", type=_max_epochs, default=16, metavar="N|auto",
                          help="epochs of a sampler='none' fit; every setting gets as many "
                               "optimizer steps; 'auto': the classifier's own budget, 60-240 "
                               "epochs (default: %(default)s)")
    training.add_argument("--batch-size", type=_batch_size, default=256, metavar="N",
                          help="rows per optimizer step (default: %(default)s)")
    training.add_argument("--cv", type=_at_least(2), default=3, metavar="K",
                          help="cross-validation folds on the training part "
                               "(default: %(default)s)")
    training.add_argument("--random-state", type=_at_least(0), default=0, metavar="SEED",
                          help="seed of the split, the folds and every fit "
                               "(default: %(default)s)")
    training.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                          help="fits run at a time, in processes (-1: all CPUs, or all Dask "
                               "workers; default: one at a time)")
    training.add_argument("--scheduler", metavar="ADDRESS",
                          help="run the fits on this Dask scheduler, e.g. tcp://host:8786 "
                               "(needs: pip install 'skimb[dask]')")
    output = compare.add_argument_group("output")
    output.add_argument("--out", default="skimb_compare", metavar="FOLDER",
                        help="folder for ranking.csv and the PNG plots (default: %(default)s)")
    output.add_argument("--no-plots", action="store_true",
                        help="write no PNG plots, only ranking.csv")
    compare.set_defaults(fail=compare.error)
    return parser
