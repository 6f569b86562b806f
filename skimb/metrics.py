"""Macro-F1 with excluded classes, its scorer, and the epoch scoring callback."""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback
from sklearn.metrics import f1_score, make_scorer

from .losses import output_probabilities

__all__ = ["macro_f1", "macro_f1_scorer", "MacroF1Scoring"]


def _as_label_set(exclude):
    if exclude is None:
        return set()
    if isinstance(exclude, (set, frozenset, list, tuple, np.ndarray)):
        return set(np.asarray(list(exclude), dtype=object).tolist())
    return {exclude}


def macro_f1(y_true, y_pred, exclude=None) -> float:
    """Unweighted mean of the per-class F1 scores, optionally leaving classes out.

    The classes averaged over are those present in ``y_true`` or ``y_pred``,
    minus ``exclude`` (seed 000 leaves out classes irrelevant to the task,
    such as "Chemical Wet"). Rows of excluded classes still count as false
    positives/negatives of the other classes. A class with no predicted and
    no true rows scores 0 rather than warning.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    exclude : label or list of labels, optional
        Classes whose F1 is left out of the mean. Labels absent from this data
        are ignored, so the same scorer works on every cross-validation fold.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skimb.metrics import macro_f1
    >>> y_true = ["Dry", "Dry", "Wet", "Frost"]
    >>> y_pred = ["Dry", "Dry", "Wet", "Dry"]
    >>> round(macro_f1(y_true, y_pred), 3)
    0.6
    >>> macro_f1(y_true, y_pred, exclude="Frost")
    0.9
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}."
        )
    excluded = _as_label_set(exclude)
    labels = [c for c in np.unique(np.concatenate([y_true, y_pred])) if c not in excluded]
    if not labels:
        raise ValueError("macro_f1: every class present is excluded; nothing to average.")
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def macro_f1_scorer(exclude=None):
    """A scorer for ``GridSearchCV(scoring=...)`` computing :func:`macro_f1`.

    Parameters
    ----------
    exclude : label or list of labels, optional
        Classes left out of the mean.

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y)``

    Examples
    --------
    >>> from skimb.metrics import macro_f1_scorer
    >>> scorer = macro_f1_scorer(exclude=["Chemical Wet"])
    >>> callable(scorer)
    True
    """
    return make_scorer(macro_f1, exclude=exclude)


class MacroF1Scoring(Callback):
    """Record macro-F1 over the whole validation set once per epoch.

    Predictions are collected batch by batch on the training device and scored
    together at the end of the epoch (never averaged over batches, seed 000).
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
        self._pred.append(output_probabilities(net.loss_, y_pred).argmax(dim=1))
        self._true.append(target)

    def on_epoch_end(self, net, **kwargs):
        if not self._pred:
            return
        pred = torch.cat(self._pred).cpu().numpy()
        true = torch.cat([torch.as_tensor(t) for t in self._true]).cpu().numpy()
        classes = net.classes_
        score = macro_f1(classes[true], classes[pred], exclude=self.exclude)
        is_best = score > self.best_score_
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        net.history.record(self.name + "_best", bool(is_best))
        self._pred, self._true = [], []
