"""``python -m skimb compare``: rank class-imbalance strategies on a table.

Every strategy of :func:`skimb.grid.default_strategy_grid` is scored by
cross-validated macro-F1 on a training part, refit on it and scored on the
held-out part, per class too, each as the library's default
:class:`~skimb.ImbalancedTorchClassifier` (its built-in network reads the raw
table), every setting for the same optimizer steps
(:func:`skimb.recipe.equal_step_epochs`). A raw Iowa DOT RWIS export is read by
:func:`skimb.datasets.load_rwis_csv` and split in time order. A bad file or
option ends the run, before any training, with one ``error:`` line and exit
status 2. ``python -m skimb compare --help`` lists the options.
"""

from __future__ import annotations

from ._compare import compare
from ._parser import build_parser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m skimb`` and the ``skimb`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name; by default ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 after a run; a bad file or option exits with status 2 (``SystemExit``).

    Examples
    --------
    >>> from skimb.cli import main
    >>> main(["compare", "--cv", "1"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        compare(args)
    return 0
