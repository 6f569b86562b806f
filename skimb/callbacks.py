"""The training recipe's callbacks, together: the cosine schedule of each call, the best
epoch kept, and macro-F1 over the validation rows every epoch.

:class:`~skimb.ImbalancedTorchClassifier` installs them by name
(``callbacks__lr_scheduler``, ``callbacks__best_epoch``,
``callbacks__valid_f1_macro``), each one switched off with ``=None``.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from ._inputs.labels import label_positions
from .metrics import macro_f1

__all__ = ["CosineSchedule", "BestEpoch", "MacroF1Scoring"]


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
    >>> from skimb.callbacks import BestEpoch
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


class MacroF1Scoring(Callback):
    """Record macro-F1 over the whole validation set once per epoch.

    Predictions are collected batch by batch on the training device and scored
    together at the end of the epoch (never averaged over batches, seed 000).
    For a multi-label target the score is the mean F1 over the labels, with
    each label present where its probability exceeds the net's ``threshold``.
    Records ``name`` and ``name + "_best"`` (True when the score is the highest
    so far), which skorch's ``EarlyStopping`` and ``Checkpoint`` can monitor.

    Parameters
    ----------
    name : str, default="valid_f1_macro"
        History key.
    exclude : label or list of labels, optional
        Original class labels left out of the mean.

    Examples
    --------
    >>> from skorch.callbacks import EarlyStopping
    >>> stop = EarlyStopping(monitor="valid_f1_macro", lower_is_better=False)
    """

    def __init__(self, name: str = "valid_f1_macro", exclude=None):
        self.name = name
        self.exclude = exclude

    def initialize(self):
        self.best_score_ = -np.inf
        return self

    def on_train_begin(self, net, **kwargs):
        history = net.history
        scores = [row[self.name] for row in history if self.name in row]
        self.best_score_ = max(scores, default=-np.inf)

    def on_epoch_begin(self, net, **kwargs):
        self._pred, self._true = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        target = batch[1]
        target = getattr(target, "y", target)
        self._pred.append(net._decisions(y_pred))
        self._true.append(target)

    def on_epoch_end(self, net, **kwargs):
        if not self._pred:
            return
        pred = torch.cat(self._pred).cpu().numpy()
        true = torch.cat([torch.as_tensor(t) for t in self._true]).cpu().numpy()
        classes = net.classes_inferred_
        if net.multilabel_:
            positions = label_positions(self.exclude, classes)
            score = macro_f1(true, pred, exclude=positions[positions >= 0])
        else:
            score = macro_f1(classes[true], classes[pred], exclude=self.exclude,
                             labels=classes)
        is_best = score > self.best_score_
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        net.history.record(self.name + "_best", bool(is_best))
        self._pred, self._true = [], []

    def on_train_end(self, net, **kwargs):
        # An interrupted epoch (KeyboardInterrupt, which skorch catches) leaves
        # its batches here, on the training device: drop them.
        self._pred, self._true = [], []


# ------------------------------------------------------------------ class-wise calibration error
