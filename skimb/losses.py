"""Loss strategies: small ``nn.Module`` objects with their formula in the docstring.

All losses share one protocol (:class:`ImbalanceLoss`):

* :meth:`~ImbalanceLoss.set_class_counts` receives the per-class row counts of
  the training portion at every fit, after the internal validation split, and
  turns them into buffers on the loss's device;
* ``forward(logits, target, sample_weight=None)`` returns the batch loss: the
  ``sample_weight``-weighted mean of the per-row losses,
  ``sum_i s_i * l_i / sum_i s_i`` (a plain mean when no weights are given);
* ``output_activation`` names the map from raw module output to
  probabilities (``"softmax"``), which ``predict_proba`` applies.

Everything is computed in log-space (``log_softmax``), so extreme logits stay
finite.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ImbalanceLoss",
    "CrossEntropy",
    "WeightedCrossEntropy",
    "class_weights",
    "list_losses",
    "make_loss",
]


class ImbalanceLoss(nn.Module):
    """Base class of skimb's losses.

    Subclasses implement :meth:`per_sample`; this class applies the sample
    weights and the reduction, and stores the class statistics.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> loss = CrossEntropy()
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> float(loss(torch.zeros(2, 2), torch.tensor([0, 1])))  # log(2)
    0.6931...
    """

    output_activation = "softmax"

    def __init__(self):
        super().__init__()
        self.register_buffer("class_counts", torch.zeros(0, dtype=torch.long))
        self.classes = None

    def set_class_counts(self, counts: torch.Tensor, classes=None) -> None:
        """Take the class statistics of the training portion.

        Parameters
        ----------
        counts : torch.Tensor of shape (n_classes,)
            Rows per class in the training portion.
        classes : array-like of shape (n_classes,), optional
            The original labels, for parameters given per label (dicts).
        """
        self.class_counts = torch.as_tensor(
            counts, dtype=torch.long, device=self.class_counts.device
        )
        self.classes = None if classes is None else np.asarray(classes)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unreduced loss of every row, shape ``(n_samples,)``."""
        raise NotImplementedError

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        losses = self.per_sample(logits, target)
        if sample_weight is None:
            return losses.mean()
        sample_weight = sample_weight.to(losses.dtype)
        return (losses * sample_weight).sum() / sample_weight.sum().clamp_min(
            torch.finfo(losses.dtype).tiny
        )


class CrossEntropy(ImbalanceLoss):
    """Cross-entropy, ``l_i = -log softmax(z_i)[y_i]`` (``loss="ce"``).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(CrossEntropy()(logits, torch.tensor([0, 1]))), 4)
    0.1269
    """

    def per_sample(self, logits, target):
        return F.cross_entropy(logits, target, reduction="none")


def class_weights(
    counts: np.ndarray, scheme="balanced", beta: float = 0.999, classes=None
) -> np.ndarray:
    """Per-class weights from class counts.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Rows per class.
    scheme : {"balanced", "sqrt", "effective"} or dict
        * ``"balanced"``: ``w_c = N / (C * n_c)`` (scikit-learn's rule);
        * ``"sqrt"``: ``w_c`` proportional to ``n_c ** -0.5``;
        * ``"effective"``: ``w_c`` proportional to ``(1 - beta) / (1 - beta ** n_c)``
          (Cui et al., CVPR 2019);
        * a dict ``{label: weight}`` with a weight for every class, used as given.

        The first three are scaled so that ``sum_c n_c w_c = N``: the average
        weight of a training row is 1, as with ``"balanced"``. Classes without
        rows get weight 0 (they never occur as a training target). ``C``
        counts only the classes that have rows.
    beta : float, default=0.999
        For ``"effective"``; in ``[0, 1)``.
    classes : array-like, optional
        The labels, in the order of ``counts``; needed for a dict.

    Returns
    -------
    weights : ndarray of shape (n_classes,), float64

    Examples
    --------
    >>> from skimb.losses import class_weights
    >>> class_weights([30, 10], "balanced").tolist()
    [0.6666666666666666, 2.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if isinstance(scheme, Mapping):
        if classes is None:
            raise ValueError("class weights given as a dict need the class labels.")
        missing = [c for c in classes if c not in scheme]
        unknown = [k for k in scheme if k not in set(np.asarray(classes).tolist())]
        if missing or unknown:
            raise ValueError(
                "loss__weights dict must give a weight for every class and only "
                f"for classes of y; missing: {missing}, unknown: {unknown}."
            )
        weights = np.array([scheme[c] for c in classes], dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("loss__weights dict values must be finite and >= 0.")
        return weights
    safe = np.where(present, counts, 1.0)
    if scheme == "balanced":
        raw = 1.0 / safe
    elif scheme == "sqrt":
        raw = safe**-0.5
    elif scheme == "effective":
        if not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
            raise ValueError(f"loss__beta must be in [0, 1), got {beta!r}.")
        raw = (1.0 - beta) / -np.expm1(safe * np.log(beta)) if beta > 0 else np.ones_like(safe)
    else:
        raise ValueError(
            f"loss__weights must be 'balanced', 'sqrt', 'effective' or a dict "
            f"{{label: weight}}; got {scheme!r}."
        )
    raw = np.where(present, raw, 0.0)
    return raw * counts.sum() / (raw * counts).sum()


class WeightedCrossEntropy(ImbalanceLoss):
    """Class-weighted cross-entropy, ``l_i = -w_{y_i} log softmax(z_i)[y_i]`` (``"weighted_ce"``).

    The weights ``w`` come from the training portion's class counts, see
    :func:`class_weights`.

    Parameters
    ----------
    weights : {"balanced", "sqrt", "effective"} or dict, default="balanced"
        How class weights are derived from the counts, or ``{label: weight}``.
    beta : float, default=0.999
        Effective-number parameter, used when ``weights="effective"``.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import WeightedCrossEntropy
    >>> loss = WeightedCrossEntropy(weights="balanced")
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> loss.class_weights.tolist()
    [0.6666666666666666, 2.0]
    """

    def __init__(self, weights="balanced", beta: float = 0.999):
        super().__init__()
        self.weights = weights
        self.beta = beta
        self.register_buffer("class_weights", torch.zeros(0, dtype=torch.float64))

    def set_class_counts(self, counts, classes=None):
        super().set_class_counts(counts, classes)
        weights = class_weights(
            self.class_counts.cpu().numpy(), self.weights, self.beta, self.classes
        )
        self.class_weights = torch.as_tensor(weights, device=self.class_counts.device)

    def per_sample(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        return self.class_weights.to(ce.dtype)[target] * ce


_REGISTRY = {
    "ce": CrossEntropy,
    "weighted_ce": WeightedCrossEntropy,
}


def list_losses() -> list[str]:
    """Names accepted by ``ImbalancedTorchClassifier(loss=...)``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb import list_losses
    >>> "weighted_ce" in list_losses()
    True
    """
    return sorted(_REGISTRY)


def make_loss(spec, params: dict) -> nn.Module:
    """Build a fresh loss module from a name, a loss object or an ``nn.Module`` class.

    Parameters
    ----------
    spec : str, nn.Module instance or nn.Module class
        What the user passed as ``loss=``. An instance is copied, never modified.
    params : dict
        The ``loss__*`` parameters, without the prefix.

    Returns
    -------
    loss : nn.Module

    Examples
    --------
    >>> from skimb.losses import make_loss
    >>> make_loss("weighted_ce", {"weights": "sqrt"}).weights
    'sqrt'
    """
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"Unknown loss {spec!r}. Valid names: {', '.join(list_losses())}; "
                "or pass an nn.Module class or instance."
            )
        spec = _REGISTRY[spec]
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        try:
            return spec(**params)
        except TypeError as exc:
            raise ValueError(f"Invalid loss__* parameters for {spec.__name__}: {exc}") from None
    if isinstance(spec, nn.Module):
        loss = copy.deepcopy(spec)
        for key, value in params.items():
            if not hasattr(loss, key):
                raise ValueError(
                    f"Invalid parameter loss__{key} for {type(loss).__name__}."
                )
            setattr(loss, key, value)
        return loss
    raise ValueError(
        f"loss must be one of {', '.join(list_losses())}, an nn.Module class or "
        f"instance; got {type(spec).__name__}."
    )
