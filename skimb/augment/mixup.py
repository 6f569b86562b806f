"""``augment="mixup"``: MixUp (Zhang et al., ICLR 2018), with class-aware rows and partners."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ..losses import MixedTarget
from ._base import Augmentation, gather_rows, mix_leaves

__all__ = ["MixUp", "MixingAugmentation"]

_PARTNERS = ("uniform", "balanced")


def check_mixing_params(owner, alpha, partner) -> None:
    """``alpha > 0`` and a known partner rule, or a ``ValueError`` naming them."""
    if (not isinstance(alpha, numbers.Real) or isinstance(alpha, bool)
            or not np.isfinite(alpha) or alpha <= 0):
        raise ValueError(f"{owner}: alpha must be a finite number > 0, got {alpha!r}.")
    if partner not in _PARTNERS:
        raise ValueError(f"{owner}: partner must be one of {_PARTNERS}, got {partner!r}.")


def mixed_target(y, sample_weight, partner, lam):
    """The targets (and weights) of rows mixed with ``partner``: row ``i`` keeps the
    share ``lam[i]`` of its own row; its weight becomes ``lam w_i + (1 - lam) w_j``."""
    target = MixedTarget(y, y[partner], lam)
    if sample_weight is not None:
        sample_weight = lam * sample_weight + (1.0 - lam) * sample_weight[partner]
    return target, sample_weight


class MixingAugmentation(Augmentation):
    """Base of the augmentations that mix a row with a partner from its batch.

    Holds ``alpha`` and ``partner`` (see :class:`MixUp`) and draws, for every
    row of a batch, its partner and its share ``lam ~ Beta(alpha, alpha)``
    (1 for the rows not chosen).

    Examples
    --------
    >>> from skimb.augment import CutMix, MixUp
    >>> from skimb.augment.mixup import MixingAugmentation
    >>> issubclass(MixUp, MixingAugmentation), CutMix().alpha, MixUp().alpha
    (True, 1.0, 0.2)
    """

    mixes_targets = True

    def __init__(self, alpha: float = 0.2, partner: str = "uniform",
                 rate: float | str = 1.0, classes="all"):
        super().__init__(rate=rate, classes=classes)
        self.alpha = alpha
        self.partner = partner

    def _check_params(self):
        super()._check_params()
        check_mixing_params(type(self).__name__, self.alpha, self.partner)

    def partners_and_shares(self, y, chosen, sample_weight=None):
        """``(partner, lam)`` of every row of the batch; ``lam`` is 1 (the row is not
        mixed) where the row or its partner has a weight of 0."""
        partner = self.partners(y, balanced=self.partner == "balanced")
        lam = self.beta(self.alpha, len(y))
        if sample_weight is not None:
            weighted = sample_weight > 0
            chosen = weighted & weighted[partner] if chosen is None else (
                chosen & weighted & weighted[partner])
        return partner, lam if chosen is None else torch.where(chosen, lam, 1.0)


class MixUp(MixingAugmentation):
    """MixUp: a chosen row becomes ``lam * x_i + (1 - lam) * x_j``, ``lam ~ Beta(alpha, alpha)``.

    Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk
    Minimization", ICLR 2018. Every chosen row ``i`` draws its own ``lam``
    and a partner ``j`` from the same batch; its loss is
    ``lam * L(x~, y_i) + (1 - lam) * L(x~, y_j)`` (a
    :class:`~skimb.losses.MixedTarget`, which every loss declaring
    ``supports_mixed_targets`` takes), and its sample weight
    ``lam * w_i + (1 - lam) * w_j``. Rows not chosen keep ``lam = 1``.
    A multi-label row mixes its indicator row the same way.

    Floating inputs are interpolated (every leaf of a dict input, with the
    same ``lam`` and partner); integer inputs (token ids) and a table's code
    columns take the values of the row with the larger share.

    Parameters
    ----------
    alpha : float, default=0.2
        The Beta distribution's parameter: small values mix little (``lam``
        near 0 or 1), ``alpha=1`` draws ``lam`` uniformly.
    partner : {"uniform", "balanced"}, default="uniform"
        How the partner is drawn from the batch: uniformly (a permutation, as
        in the paper), or each row with a chance inverse to its class's
        training rows, so rare classes are mixed in more often (as
        Balanced-MixUp, Galdran et al. 2021, draws its second batch).
    rate : float in [0, 1] or "rarity", default=1.0
    classes : str or list, default="all"
        Which rows are mixed, by class (see :class:`Augmentation`).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = ImbalancedTorchClassifier(augment="mixup", augment__alpha=0.4,
    ...                                 augment__partner="balanced", max_epochs=3,
    ...                                 random_state=0).fit(X, y)
    >>> clf.predict(X[:4]).shape
    (4,)
    """

    name = "mixup"

    def augment(self, X, y, sample_weight, chosen, rows):
        partner, lam = self.partners_and_shares(y, chosen, sample_weight)
        X = mix_leaves(X, gather_rows(X, partner), lam, lam >= 0.5, self.discrete_columns_)
        target, sample_weight = mixed_target(y, sample_weight, partner, lam)
        return X, target, sample_weight
