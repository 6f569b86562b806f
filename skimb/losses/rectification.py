"""Class rectification loss: CE/BCE blended with a triplet loss on hard minority examples (Dong et al., ICCV 2017)."""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from ._base import (ImbalanceLoss, MixedTarget, _check_nonnegative, _sigmoid_cross_entropy,
                    _weighted_mean)


def _minority(counts, n_present):
    """The rarest classes (or labels) that together hold at most half of
    ``n_present`` rows, keeping those with at least two rows."""
    order = torch.argsort(counts, stable=True)
    within_half = torch.cumsum(counts[order], 0) <= n_present / 2
    minority = torch.zeros_like(within_half)
    minority[order] = within_half
    return minority & (counts >= 2)


def _rectification_triplets(member, score, weight, k, margin):
    """Weighted mean triplet loss of the hard examples mined in one batch, and
    the number of triplets.

    ``member[t, r]``: row ``r`` belongs to class (or has label) ``t``;
    ``score[t, r]``: its predicted probability of ``t``; ``weight[r]``: its
    sample weight (rows of weight 0 are absent). The lowest-scored ``k + 1``
    members and highest-scored ``k`` non-members of each ``t`` are taken
    once; an anchor's hard positives are the first ``k`` of the former that
    are not the anchor itself. Memory grows as ``T * n * k^2``.
    """
    n_tasks, n = member.shape
    present = weight > 0
    own = member & present[None, :]
    minority = _minority(own.sum(dim=1), present.sum())
    inf = torch.full((), float("inf"), device=score.device, dtype=score.dtype)
    lowest, lowest_rows = torch.topk(torch.where(own, score, inf), min(k + 1, n), dim=1,
                                     largest=False)
    negatives = torch.topk(torch.where(~member & present[None, :], score, -inf), min(k, n),
                           dim=1).values
    rows = torch.arange(n, device=score.device)
    usable = torch.isfinite(lowest)[:, None, :] & (lowest_rows[:, None, :] != rows[None, :, None])
    usable &= torch.cumsum(usable.int(), dim=2) <= k                        # (t, anchor, positive)
    anchor_score = score[:, :, None]
    d_pos = (anchor_score - lowest[:, None, :]).abs()
    d_neg = (anchor_score - negatives[:, None, :]).abs()
    valid = (
        (own & minority[:, None])[:, :, None, None]
        & usable[:, :, :, None]
        & torch.isfinite(negatives)[:, None, None, :]
    )
    triplets = torch.relu(d_pos[..., None] - d_neg[:, :, None, :] + margin)
    zero = torch.zeros_like(triplets)
    anchor_weight = torch.where(valid, weight[None, :, None, None], zero)
    total = (anchor_weight * torch.where(valid, triplets, zero)).sum()
    return total / anchor_weight.sum().clamp_min(torch.finfo(score.dtype).tiny), valid.sum()


class ClassRectificationLoss(ImbalanceLoss):
    """Class rectification loss: CE blended with a triplet loss on hard examples (``"crl"``).

    Dong et al., "Class Rectification Hard Mining for Imbalanced Deep
    Learning", ICCV 2017 (seed 002). In every batch:

    1. the *minority classes* are the rarest classes of the batch that
       together hold at most half its rows, keeping those with >= 2 rows;
    2. every row ``a`` of a minority class ``c`` is an anchor; its hard
       positives are the ``k`` other rows of class ``c`` with the lowest
       ``p_c``, its hard negatives the ``k`` rows of other classes with the
       highest ``p_c`` (``p = softmax(z)``);
    3. for each of the up to ``k * k`` triplets,
       ``t = max(0, |p_ac - p_pc| - |p_ac - p_nc| + margin)``;

    and ``loss = alpha * mean(t) + (1 - alpha) * CE``. Sample weights weight
    the CE rows and each triplet by its anchor's weight; rows of zero weight
    take no part in mining. A batch with no triplet uses CE alone. Mining is
    vectorised: no Python loop over anchors.

    With multi-label targets (the attribute labels of the paper) each label
    plays the part of a class: the minority labels are the rarest labels
    whose positive rows together make up at most half the batch (at least
    two positives each); a row where such a label ``j`` is present is an
    anchor, its hard positives the other rows with ``j`` present and the
    lowest ``p_j = s(z_j)``, its hard negatives the rows without ``j`` and
    the highest ``p_j``; the base loss is the binary cross-entropy averaged
    over the labels (``ce``'s multi-label form).

    Parameters
    ----------
    alpha : float, default=0.02
        Weight of the triplet term, in [0, 1]. The paper (and seed 002) sets
        it to ``eta * Omega_imb``, a small number (``eta = 0.01`` times an
        imbalance measure). Large values hurt: on simulated RWIS (12k rows,
        30 epochs) ``alpha=0.5`` halved held-out macro-F1 (0.254 against
        0.508 for ``ce``) and wrecked a multi-label fit, while ``0.02`` gave
        0.515. Tune it by cross-validation.
    margin : float, default=0.5
        Triplet margin on probability distances.
    k : int, default=3
        Hard positives and hard negatives per anchor.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import ClassRectificationLoss
    >>> loss = ClassRectificationLoss(alpha=0.5)
    >>> loss.set_class_counts(torch.tensor([6, 2]))
    >>> logits = torch.zeros(8, 2)
    >>> target = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1])
    >>> round(float(loss(logits, target)), 4)  # 0.5 * margin + 0.5 * log 2
    0.5966
    """

    name = "crl"
    supports_multilabel = True
    per_member = True

    def __init__(self, alpha: float = 0.02, margin: float = 0.5, k: int = 3):
        super().__init__()
        self.alpha = alpha
        self.margin = margin
        self.k = k

    def fit_class_statistics(self, counts):
        if not isinstance(self.alpha, numbers.Real) or not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"loss__alpha must be in [0, 1], got {self.alpha!r}.")
        _check_nonnegative(self.margin, "margin")
        if not isinstance(self.k, numbers.Integral) or self.k < 1:
            raise ValueError(f"loss__k must be a positive integer, got {self.k!r}.")

    def fit_label_statistics(self, positives, n_samples):
        self.fit_class_statistics(positives)

    def per_sample(self, logits, target):
        if self.multilabel:
            return _sigmoid_cross_entropy(logits, target.to(logits.dtype)).mean(dim=1)
        return F.cross_entropy(logits, target, reduction="none")

    def triplet_term(self, logits, target, sample_weight=None):
        """Weighted mean triplet loss over the batch's mined triplets, and their count.

        Rows with zero sample weight are treated as absent; each triplet counts
        with its anchor's weight. Every class (or label) and row is considered
        at once and masked where it does not apply, so the batch never waits
        for the host.
        """
        if sample_weight is None:
            weight = torch.ones(len(logits), device=logits.device, dtype=logits.dtype)
        else:
            weight = sample_weight.to(logits.dtype)
        if self.multilabel:
            member, score = (target > 0.5).T, torch.sigmoid(logits).T
        else:
            member = F.one_hot(target, logits.shape[-1]).T.bool()
            score = torch.softmax(logits, dim=-1).T
        return _rectification_triplets(member, score, weight, self.k, self.margin)

    def forward(self, logits, target, sample_weight=None):
        if isinstance(target, MixedTarget):
            self.mixed_per_sample(logits, target)  # refuses: the triplets mine one target
        base = _weighted_mean(self.per_sample(logits, target), sample_weight)
        triplet, n_valid = self.triplet_term(logits, target, sample_weight)
        return torch.where(n_valid > 0, self.alpha * triplet + (1.0 - self.alpha) * base, base)

