"""Cost-sensitive cross-entropy with a user cost matrix (Ho & Wookey, IEEE Access 2019)."""

from __future__ import annotations

from collections.abc import Mapping
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .._inputs.labels import label_positions
from ._base import ImbalanceLoss


def _log_one_minus_softmax(z: torch.Tensor) -> torch.Tensor:
    """``log(1 - softmax(z)_j)`` for every ``j``, as ``logsumexp_{k != j} z_k - logsumexp_k z_k``.

    Finite for any finite logits (no ``1 - p`` is ever formed), with finite
    gradients, in rows x classes memory. With ``m`` the largest logit, the
    sum over ``k != j`` of ``exp(z_k - m)`` is the full sum less ``j``'s term,
    at least 1 for every ``j`` but the largest, so that subtraction loses no
    precision; for the largest itself it is summed directly, without it.
    """
    m, top = z.max(dim=-1, keepdim=True)
    largest = torch.zeros_like(z, dtype=torch.bool).scatter_(-1, top, True)
    shifted = torch.exp(z - m)
    total = shifted.sum(dim=-1, keepdim=True)
    without = (total - shifted).masked_fill(largest, 1.0)  # >= 1 where it is kept
    without_largest = torch.logsumexp(z.masked_fill(largest, float("-inf")), dim=-1, keepdim=True)
    others = torch.where(largest, without_largest, m + torch.log(without))
    return others - (m + torch.log(total))


def _cost_from_dict(cost: Mapping, classes, n_classes: int) -> np.ndarray:
    """The matrix of a ``{true_label: {predicted_label: cost}}`` dict; missing pairs cost 0."""
    names = list(range(n_classes)) if classes is None else np.asarray(classes).tolist()
    matrix = np.zeros((n_classes, n_classes))
    unknown = []
    for (true, row), i in zip(cost.items(), label_positions(list(cost), names)):
        if not isinstance(row, Mapping):
            raise ValueError(
                "loss__cost given as a dict maps each true label to a dict "
                f"{{predicted_label: cost}}; got {row!r} for {true!r}."
            )
        for (predicted, value), j in zip(row.items(), label_positions(list(row), names)):
            if i < 0 or j < 0:
                unknown.append((true, predicted))
                continue
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(
                    f"loss__cost[{true!r}][{predicted!r}] must be a number, got {value!r}."
                )
            matrix[i, j] = value
    if unknown:
        raise ValueError(
            f"loss__cost names labels that y does not have: {unknown}; the labels are "
            f"{names}."
        )
    return matrix


def _cost_matrix(cost, classes, n_classes: int) -> np.ndarray:
    """The validated ``(n_classes, n_classes)`` cost matrix of ``loss__cost``, diagonal 0."""
    if cost is None:
        matrix = np.ones((n_classes, n_classes))
    elif isinstance(cost, Mapping):
        matrix = _cost_from_dict(cost, classes, n_classes)
    else:
        try:
            matrix = np.array(cost, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "loss__cost must be None, a square array of costs (rows: true class, "
                "columns: predicted class) or a dict {true_label: {predicted_label: "
                f"cost}}; got {cost!r}."
            ) from None
        if matrix.shape != (n_classes, n_classes):
            raise ValueError(
                f"loss__cost has shape {matrix.shape}; y has {n_classes} classes, so it "
                f"must be ({n_classes}, {n_classes}) (rows: true class, columns: "
                "predicted class, in the order of classes_)."
            )
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(f"loss__cost must hold finite costs >= 0; got {cost!r}.")
    np.fill_diagonal(matrix, 0.0)
    return matrix


class CostSensitiveLoss(ImbalanceLoss):
    """Real-world-weight cross-entropy with a cost matrix (``"cost_sensitive"``).

    Ho & Wookey, "The Real-World-Weight Cross-Entropy Loss Function:
    Modeling the Costs of Mislabeling", IEEE Access, 2019
    (arXiv:2001.00570). Besides the cross-entropy of the true class, every
    other class ``j`` is penalised for the probability it takes, weighted by
    the cost of predicting ``j`` when the truth is ``y``. With
    ``p = softmax(z)``::

        l = -log p_y + sum_{j != y} C[y, j] * (-log(1 - p_j))

    ``log(1 - p_j)`` is computed as ``logsumexp_{k != j} z_k -
    logsumexp_k z_k``, so the loss and its gradients stay finite for extreme
    logits. The costs are relative to the cross-entropy term, whose weight
    is 1; raising ``C[y, j]`` makes the model less willing to predict ``j``
    for rows of class ``y`` (e.g. a high cost of predicting "Dry" on "Ice"
    raises the recall of "Ice"). With the default, a cost of 1 for every
    error, ``l = -log p_y - sum_{j != y} log(1 - p_j)``: the sum over
    classes of the one-vs-rest binary cross-entropies of the softmax
    probabilities (for two classes, twice the cross-entropy). ``C = 0`` is plain
    cross-entropy. Single-label targets only.

    Parameters
    ----------
    cost : None, array-like of shape (n_classes, n_classes) or dict, default=None
        The cost ``C[y, j]`` of predicting class ``j`` for a row of class
        ``y``: rows are true classes and columns predicted classes, in the
        order of ``classes_``; the diagonal is ignored. A dict
        ``{true_label: {predicted_label: cost}}`` is keyed by the original
        labels, and pairs it leaves out cost 0. Costs are finite and >= 0.
        None is a cost of 1 for every error.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CostSensitiveLoss
    >>> loss = CostSensitiveLoss(cost={"ice": {"dry": 10.0}})
    >>> loss.set_class_counts(torch.tensor([90, 10]), classes=["dry", "ice"])
    >>> loss.cost_matrix.tolist()
    [[0.0, 0.0], [10.0, 0.0]]
    >>> z = torch.zeros(1, 2)  # p = (0.5, 0.5)
    >>> round(float(loss(z, torch.tensor([1]))), 4)  # -log 0.5 - 10 log 0.5 = 11 log 2
    7.6246
    >>> round(float(loss(z, torch.tensor([0]))), 4)  # predicting "ice" on "dry" is free
    0.6931
    """

    name = "cost_sensitive"
    supports_mixed_targets = True

    def __init__(self, cost=None):
        super().__init__()
        self.cost = cost
        self.register_buffer("cost_matrix", torch.zeros(0, 0, dtype=torch.float64))

    def fit_class_statistics(self, counts):
        self._buffer("cost_matrix", _cost_matrix(self.cost, self.classes, len(counts)))

    def per_sample(self, logits, target):
        log_p = F.log_softmax(logits, dim=-1).gather(1, target[:, None]).squeeze(1)
        cost = self.cost_matrix.to(logits.dtype)[target]  # (n, C), 0 at the true class
        return -log_p - (cost * _log_one_minus_softmax(logits)).sum(dim=1)
