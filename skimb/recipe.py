"""The training recipe: its epoch budget, a cosine schedule per call, keep the best epoch."""

from __future__ import annotations

import math

from skorch.callbacks import EarlyStopping, LRScheduler

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


class CosineSchedule(LRScheduler):
    """Decay the learning rate from ``lr`` to ``eta_min`` on a cosine over each training call.

    skorch's ``LRScheduler`` with ``CosineAnnealingLR`` whose length is the
    epochs of the call (skimb's ``max_epochs_``, the resolved ``max_epochs``;
    a plain skorch net's ``max_epochs``), read when training starts, and which
    starts again at every ``fit`` and ``partial_fit`` (a continued fit would otherwise resume at
    the end of the cosine, with a learning rate of 0).

    Parameters
    ----------
    eta_min : float, default=0.0
        The last epoch's learning rate.

    Examples
    --------
    >>> from skimb import ImbalancedTorchClassifier
    >>> clf = ImbalancedTorchClassifier(callbacks__lr_scheduler__eta_min=1e-5)
    >>> constant = ImbalancedTorchClassifier(callbacks__lr_scheduler=None)
    """

    def __init__(self, eta_min: float = 0.0):
        super().__init__(policy="CosineAnnealingLR", eta_min=eta_min)

    def on_train_begin(self, net, **kwargs):
        self.T_max = max(1, getattr(net, "max_epochs_", net.max_epochs))
        self.last_epoch = -1
        super().on_train_begin(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        # Back to the top of the cosine, so the next call (or set_params(lr=...)) starts there.
        for group in net.optimizer_.param_groups:
            group["lr"] = group.pop("initial_lr", group["lr"])


class BestEpoch(EarlyStopping):
    """Restore the weights of the epoch with the best validation score at the end of training.

    skorch's ``EarlyStopping(load_best=True)`` that stays idle when the epoch
    has no validation score (``train_split=None``) and lets go of its copy of
    the best weights once they are restored, so a fitted model holds its
    weights once. Training stops early after ``patience`` epochs without
    improvement; ``patience=None`` never stops early.

    Parameters
    ----------
    monitor : str, default="valid_f1_macro"
        History key to maximise (or minimise, with ``lower_is_better=True``).
    patience : int or None, default=None
    lower_is_better : bool, default=False

    Examples
    --------
    >>> from skimb import ImbalancedTorchClassifier
    >>> from skimb.recipe import BestEpoch
    >>> clf = ImbalancedTorchClassifier(callbacks__best_epoch__patience=10)
    >>> clf_without = ImbalancedTorchClassifier(callbacks__best_epoch=None)
    """

    def __init__(self, monitor: str = "valid_f1_macro", patience: int | None = None,
                 lower_is_better: bool = False):
        super().__init__(monitor=monitor, patience=patience, threshold=0.0,
                         threshold_mode="abs", lower_is_better=lower_is_better, load_best=True)

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        if len(net.history):  # max_epochs=0 trains no epoch: nothing to restore
            super().on_train_end(net, **kwargs)
        self.best_model_weights_ = None
