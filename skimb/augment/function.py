"""``augment=<callable>``: your own per-batch function, run where the built-in ones run."""

from __future__ import annotations

from ._base import Augmentation, batch_rows

__all__ = ["FunctionAugmentation"]


class FunctionAugmentation(Augmentation):
    """A callable ``func(X, y) -> (X, y)`` applied to the chosen rows' batch.

    ``func`` gets the whole training batch on the training device (``X`` a
    tensor or a dict of them, floating point or integer ids, ``y`` the
    encoded labels or indicator rows) and returns the batch with the same
    rows in the same order; ``y`` may be a :class:`~skimb.losses.MixedTarget`,
    and then the loss must declare ``supports_mixed_targets``. Each row keeps
    its sample weight. Draw any randomness from ``torch``'s global generator:
    a fit with ``random_state`` seeds it. ``rate`` and ``classes`` do not
    apply (the function sees every row).

    Parameters
    ----------
    func : callable

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> flip = lambda X, y: (X * torch.where(torch.rand(len(X), 1) < 0.5, -1.0, 1.0), y)
    >>> clf = ImbalancedTorchClassifier(augment=flip, max_epochs=2, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    name = "function"
    rate = 1.0  # every row reaches the function
    classes = "all"

    def __init__(self, func=None):
        self.func = func

    def __call__(self, X, y, sample_weight=None, rows=None):
        n = batch_rows(X)
        X, y = self.func(X, y)
        if batch_rows(X) != n or len(y[0] if isinstance(y, tuple) else y) != n:
            raise ValueError(
                f"augment={self.func!r} returned a batch of {batch_rows(X)} rows for one of "
                f"{n}: an augmentation returns the same rows, in the same order.")
        return X, y, sample_weight
