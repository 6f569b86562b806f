"""The training recipe: its epoch budget in optimizer steps.

Its callbacks (a cosine schedule per call, keep the best epoch) live in
:mod:`skimb.callbacks` and are importable from here too.
"""

from __future__ import annotations

import math

from .callbacks import BestEpoch, CosineSchedule

__all__ = ["BestEpoch", "CosineSchedule", "epoch_budget", "equal_step_epochs", "steps_per_epoch"]

#: ``max_epochs="auto"``: fewest epochs, on any table.
AUTO_MIN_EPOCHS = 60
#: ``max_epochs="auto"``: most epochs, however small the table.
AUTO_MAX_EPOCHS = 240
#: ``max_epochs="auto"``: row visits a training call aims at (epochs x rows passed);
#: 1,280,000 is 5,000 batches of 256 (docs/benchmarks/quality.md has the evidence).
AUTO_ROW_VISITS = 1_280_000


def steps_per_epoch(rows: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimizer steps of an epoch of ``rows`` rows (at least 1).

    Examples
    --------
    >>> from skimb.recipe import steps_per_epoch
    >>> steps_per_epoch(300, 256), steps_per_epoch(300, 256, drop_last=True), steps_per_epoch(5, -1)
    (2, 1, 1)
    """
    if batch_size == -1 or rows <= 0:
        return 1
    return max(1, rows // batch_size if drop_last else math.ceil(rows / batch_size))


def epoch_budget(max_epochs: int | str, n_rows: int, *, epoch_steps: int = 1,
                 full_steps: int = 1) -> int:
    """The epochs a training call on ``n_rows`` rows runs for.

    An integer ``max_epochs`` is the budget, with skorch's meaning. ``"auto"``
    gives small tables more epochs: ``ceil(AUTO_ROW_VISITS / n_rows)`` kept
    between ``AUTO_MIN_EPOCHS`` (60, every table of 21,334 rows or more) and
    ``AUTO_MAX_EPOCHS`` (240, every table of 5,333 rows or fewer), so a small
    table gets as many optimizer steps as a mid-sized one without a large
    table costing more. That is the budget of ``sampler="none"``; a sampler
    whose epochs are shorter (``under``, ``sampler__max_per_class``) gets more
    epochs, as many optimizer steps in all: the epochs are multiplied by
    ``full_steps / epoch_steps``, rounded up. Inside cross-validation each fold
    fits fewer rows and so gets more epochs, about as many optimizer steps as
    the final refit.

    Parameters
    ----------
    max_epochs : int or "auto"
    n_rows : int
        Rows passed to ``fit`` or ``partial_fit`` (validation rows included).
    epoch_steps : int, default=1
        Optimizer steps of one epoch as the sampler draws it.
    full_steps : int, default=1
        Optimizer steps of an epoch over every training row once.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> from skimb.recipe import epoch_budget
    >>> epoch_budget(25, 1_000)
    25
    >>> epoch_budget("auto", 100_000), epoch_budget("auto", 10_000), epoch_budget("auto", 500)
    (60, 128, 240)
    >>> epoch_budget("auto", 100_000, epoch_steps=40, full_steps=391)  # an 'under' epoch
    587
    """
    if max_epochs != "auto":
        return int(max_epochs)
    wanted = math.ceil(AUTO_ROW_VISITS / max(1, n_rows))
    epochs = min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, wanted))
    return equal_step_epochs(epochs, epoch_steps=epoch_steps, full_steps=full_steps)


def equal_step_epochs(epochs: int, *, epoch_steps: int, full_steps: int) -> int:
    """Epochs of a sampler whose epochs take ``epoch_steps`` optimizer steps, for as many
    steps as ``epochs`` epochs of ``full_steps`` (every training row once): rounded up.

    Examples
    --------
    >>> from skimb.recipe import equal_step_epochs
    >>> equal_step_epochs(60, epoch_steps=40, full_steps=391)  # an 'under' epoch is shorter
    587
    """
    return math.ceil(epochs * full_steps / max(1, epoch_steps))
