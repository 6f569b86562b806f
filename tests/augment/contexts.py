"""An augmentation fitted outside the classifier: the parts of a TrainingContext its ``fit``
reads, made from labels (single- or multi-label), rows and sample weights."""

from types import SimpleNamespace

import numpy as np
import torch

from skimb.samplers import rarest_positive_label

CPU = torch.device("cpu")


def context(y, X=None, classes=None, weights=None):
    """The parts of a TrainingContext an augmentation's ``fit`` reads."""
    y = np.asarray(y)
    multilabel = y.ndim == 2
    if multilabel:
        n_classes, sampling, counts = y.shape[1], rarest_positive_label(y), y.sum(axis=0)
    else:
        n_classes = len(classes) if classes is not None else int(y.max()) + 1
        sampling, counts = y, np.bincount(y, minlength=n_classes)
    if X is None:
        X = torch.zeros(len(y), 1)
    elif not isinstance(X, dict):
        X = torch.as_tensor(X)
    return SimpleNamespace(
        classes=np.arange(n_classes) if classes is None else np.asarray(classes),
        multilabel=multilabel, sampling_classes=sampling, class_counts=counts,
        train_columns=(X, torch.as_tensor(y), None if weights is None else torch.as_tensor(weights)),
        weighted_rows=None if weights is None else np.asarray(weights) > 0)

def fitted(aug, y, X=None, classes=None, seed=1, discrete_columns=(), weights=None):
    aug.fit(context(y, X, classes, weights), CPU, discrete_columns=discrete_columns)
    aug.start_epoch(seed)
    return aug
