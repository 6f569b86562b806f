"""The loss protocol (:class:`ImbalanceLoss`), class weights and the shared maths."""

from __future__ import annotations

from collections.abc import Mapping
import numbers
from typing import NamedTuple

import numpy as np
from torch import nn
import torch
import torch.nn.functional as F


_WEIGHT_SCHEMES = ("balanced", "sqrt", "effective")


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
        weights = np.array(_values_by_label(scheme, classes, "class weights", "class"),
                           dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("class weights given as a dict must be finite and >= 0.")
        if present.any() and not np.any(weights[present] > 0):
            raise ValueError(
                "class weights given as a dict are 0 for every class of the training rows "
                f"({np.asarray(classes)[present].tolist()}): no row would count in the loss, "
                "and nothing would train. Give some class a positive weight.")
        return weights
    safe = np.where(present, counts, 1.0)
    if scheme == "balanced":
        raw = 1.0 / safe
    elif scheme == "sqrt":
        raw = safe**-0.5
    elif scheme == "effective":
        if not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta!r}.")
        raw = (1.0 - beta) / -np.expm1(safe * np.log(beta)) if beta > 0 else np.ones_like(safe)
    else:
        raise ValueError(
            f"class weights must be one of {', '.join(map(repr, _WEIGHT_SCHEMES))} "
            f"or a dict {{label: weight}}; got {scheme!r}."
        )
    raw = np.where(present, raw, 0.0)
    return raw * counts.sum() / (raw * counts).sum()


def _values_by_label(mapping, labels, what, kind):
    """The values of ``mapping`` in the order of ``labels``; every label, and only those."""
    names = np.asarray(labels).tolist()
    missing = [c for c in names if c not in mapping]
    unknown = [k for k in mapping if k not in set(names)]
    if missing or unknown:
        raise ValueError(
            f"{what} given as a dict must map every {kind} of y, and nothing else, to a "
            f"value; missing: {missing}, unknown: {unknown}."
        )
    return [mapping[c] for c in names]


def _check_finite(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"loss__{name} must be a finite number, got {value!r}.")
    return float(value)


def _check_nonnegative(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"loss__{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _masses(values, what: str) -> np.ndarray:
    """Class (or label) masses as float64: row counts, or per-class sums of sample weights."""
    try:
        masses = torch.as_tensor(values).detach().to("cpu", torch.float64).numpy()
    except (TypeError, ValueError, RuntimeError):
        masses = None
    if masses is None or masses.ndim != 1 or not np.all(np.isfinite(masses)) or np.any(masses < 0):
        raise ValueError(
            f"{what} must be a 1-d array of finite masses >= 0 (row counts or sums of "
            f"sample weights); got {values!r}."
        )
    return masses


class ImbalanceLoss(nn.Module):
    """Base class of skimb's losses.

    Subclasses implement :meth:`per_sample` and, when they use class
    statistics, :meth:`fit_class_statistics`; this class applies the sample
    weights and the reduction. Every loss declares what it can do as class
    attributes (below), which the registry and the estimator read instead of
    testing for particular classes.

    Attributes
    ----------
    name : str or None
        The registry name (``loss="name"``); None on abstract bases.
    supports_multilabel : bool
        Whether :meth:`set_label_counts` (multi-label indicator targets) is
        supported.
    binary_only : bool
        Whether a single-label target must have exactly two classes (the
        sigmoid losses; their multi-label form takes any number of labels).
    per_member : bool
        Whether, for an ensemble output of shape ``(batch, k, C)``, the loss
        must be computed for each member separately (and averaged) rather
        than once on the ``batch * k`` flattened rows: True when a row's loss
        depends on the other rows of its batch.
    needs_cosine_head : bool
        Whether the logits must be cosines from a normalised last layer
        (``module__normalized_output`` of the built-in MLP).
    supports_mixed_targets : bool
        Whether the loss can take mixed (soft) targets, as MixUp makes them:
        a row's loss depends on that row alone and is linear in its one-hot
        (or indicator) target, so a target mixed as ``lam * e_a + (1 - lam)
        * e_b`` has the well-defined loss ``lam * l(z, a) + (1 - lam) *
        l(z, b)``.
    supports_sample_weight : bool
        Whether the loss weights rows by ``sample_weight`` (every skimb loss;
        not a loss of your own, see :class:`~skimb.losses.ForeignLoss`).
    exact_prior_correction : bool
        Whether undoing :meth:`logit_map` and :meth:`log_prior_shift` gives,
        for a model that minimises the loss, the posterior of the training
        data exactly (the loss is a proper likelihood of a re-weighted or
        re-parametrised class distribution). False where a part has no
        closed form (focusing, margins, mined triplets, costs): what is left
        is the residual of :mod:`skimb.calibration`.
    class_counts : torch.Tensor of shape (n_classes,), float64
        The class (or label) masses last given to :meth:`set_class_counts`
        or :meth:`set_label_counts` (a registered buffer).
    classes : ndarray or None
        The labels given with them.
    epoch : int
        The zero-based epoch of the current fit call (:meth:`set_epoch`).
    n_epochs : int or None
        The epoch budget of the current fit call, when known.
    multilabel : bool
        Whether the statistics came from :meth:`set_label_counts`.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy
    >>> loss = CrossEntropy()
    >>> loss.set_class_counts(torch.tensor([3, 1]))
    >>> float(loss(torch.zeros(2, 2), torch.tensor([0, 1])))  # log(2)
    0.6931...
    >>> CrossEntropy.name, CrossEntropy.supports_multilabel, CrossEntropy.per_member
    ('ce', True, False)
    """

    name: str | None = None
    supports_multilabel = False
    binary_only = False
    per_member = False
    needs_cosine_head = False
    supports_mixed_targets = False
    supports_sample_weight = True
    exact_prior_correction = False

    def __init__(self):
        super().__init__()
        self.register_buffer("class_counts", torch.zeros(0, dtype=torch.float64))
        self.classes = None
        self.epoch = 0
        self.n_epochs = None
        self.multilabel = False

    @property
    def display_name(self) -> str:
        """How messages name the loss: its registry name, else its class name."""
        return self.name or type(self).__name__

    def set_class_counts(self, counts, classes=None) -> None:
        """Take the class statistics of the training portion.

        This starts a fit call: the epoch clock is reset to epoch 0.

        Parameters
        ----------
        counts : array-like of shape (n_classes,)
            The mass of each class in the training portion: its row count, or
            the sum of its rows' sample weights (a row of weight 2 counts as
            two rows). Integer counts and float masses give the same results
            for the same values.
        classes : array-like of shape (n_classes,), optional
            The original labels, for parameters given per label (dicts).
        """
        masses = _masses(counts, "class counts")
        self._start_call(masses, classes, multilabel=False)
        self.fit_class_statistics(masses)

    def fit_class_statistics(self, counts: np.ndarray) -> None:
        """Derive buffers from the class masses (float64); nothing by default."""

    def set_label_counts(self, positives, n_samples: float, labels=None) -> None:
        """Take the label statistics of a multi-label training portion.

        This starts a fit call: the epoch clock is reset to epoch 0.

        Parameters
        ----------
        positives : array-like of shape (n_labels,)
            The mass of the training rows in which each label is present (1):
            their count, or the sum of their sample weights.
        n_samples : float
            The mass of the training portion (rows, or the sum of the sample
            weights); ``n_samples - positives`` are the negatives of each label.
        labels : array-like of shape (n_labels,), optional
            The label names, for parameters given per label (dicts).
        """
        if not self.supports_multilabel:
            from .registry import multilabel_losses  # the registry imports this module

            raise ValueError(
                f"{type(self).__name__} is for single-label targets; with a multi-label "
                f"(indicator) y use one of: {', '.join(multilabel_losses())}."
            )
        masses = _masses(positives, "label counts")
        total = float(n_samples)
        if not np.isfinite(total) or total < 0:
            raise ValueError(f"n_samples must be a finite mass >= 0, got {n_samples!r}.")
        self._start_call(masses, labels, multilabel=True)
        self.fit_label_statistics(masses, total)

    def fit_label_statistics(self, positives: np.ndarray, n_samples: float) -> None:
        """Derive buffers from per-label positive masses; nothing by default."""

    def _start_call(self, masses, classes, multilabel):
        self.multilabel = multilabel
        self.class_counts = torch.tensor(masses, dtype=torch.float64,
                                         device=self.class_counts.device)
        self.classes = None if classes is None else np.asarray(classes)
        self.epoch, self.n_epochs = 0, None

    def _buffer(self, name, values):
        """Register ``values`` (float64) as buffer ``name`` on the loss's device."""
        self.register_buffer(
            name, torch.as_tensor(values, dtype=torch.float64, device=self.class_counts.device)
        )

    def set_epoch_budget(self, n_epochs: int) -> None:
        """Take the epoch budget of the fit call that starts (once per call, after the
        class statistics), for schedules given as a fraction of it."""
        if not _is_int(n_epochs) or n_epochs < 0:
            raise ValueError(f"n_epochs must be an integer >= 0, got {n_epochs!r}.")
        self.n_epochs = int(n_epochs)

    def set_epoch(self, epoch: int, n_epochs: int | None = None) -> None:
        """Tell the loss that an epoch of the current fit call is starting.

        Parameters
        ----------
        epoch : int
            Zero-based epoch within the current ``fit`` / ``partial_fit`` call.
        n_epochs : int, optional
            That call's epoch budget (the classifier gives it once, through
            :meth:`set_epoch_budget`); kept as it is when None.
        """
        if not _is_int(epoch) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}.")
        if n_epochs is not None:
            self.set_epoch_budget(n_epochs)
        self.epoch = int(epoch)

    @staticmethod
    def output_width(n_classes: int) -> int:
        """Number of module outputs this loss expects for ``n_classes`` classes."""
        return n_classes

    def check_output_width(self, width: int) -> None:
        """Raise a ``ValueError`` when a module's output width does not fit the classes
        (or labels) of the training call's statistics; nothing before them.

        A single-label target takes one output per class (or the loss's
        :meth:`output_width`: one logit for a sigmoid loss on two classes); a
        multi-label target one output per label.

        Examples
        --------
        >>> from skimb.losses import CrossEntropy
        >>> loss = CrossEntropy()
        >>> loss.set_class_counts([5, 3, 2], classes=["a", "b", "c"])
        >>> loss.check_output_width(3)
        >>> loss.check_output_width(10)
        Traceback (most recent call last):
        ...
        ValueError: The module returns 10 outputs per row, but the target has 3 classes (classes_ = ['a', 'b', 'c']): its last layer needs 3 outputs (e.g. nn.Linear(..., 3)).
        """
        n = len(self.class_counts)
        if self.classes is None and not n:
            return
        allowed = {n} if self.multilabel else {n, self.output_width(n)}
        if width in allowed:
            return
        kind = "labels" if self.multilabel else "classes"
        names = "" if self.classes is None else f" (classes_ = {self.classes.tolist()})"
        raise ValueError(
            f"The module returns {width} outputs per row, but the target has {n} {kind}"
            f"{names}: its last layer needs {n} outputs (e.g. nn.Linear(..., {n})).")

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Probabilities of the module's raw output: ``softmax(z)``, or per-label
        ``sigmoid(z)`` for multi-label targets."""
        if self.multilabel:
            return torch.sigmoid(output)
        return torch.softmax(output, dim=-1)

    def log_probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """The log of :meth:`probabilities`, computed in log space: ``log_softmax(z)``, or
        per-label ``logsigmoid(z)`` for multi-label targets."""
        if self.multilabel:
            return F.logsigmoid(output)
        return F.log_softmax(output, dim=-1)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unreduced loss of every row, shape ``(n_samples,)``."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        n = len(self.class_counts)
        return n if self.multilabel else self.output_width(n)

    def logit_map(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, offset)``: the loss's likelihood takes ``scale * z + offset`` as its logits.

        Per module output (fitted, float64). The default is the identity (ones
        and zeros); a loss that adjusts the logits before its cross-entropy
        (``logit_adjusted``, ``balanced_softmax``, ``vs``, ``ldam``'s scale)
        declares it, and :mod:`skimb.calibration` reads it.

        Returns
        -------
        scale, offset : ndarray of shape (n_outputs,)
        """
        n = self._n_outputs()
        return np.ones(n), np.zeros(n)

    def log_prior_shift(self) -> np.ndarray:
        """How much more the training counted each class, in log units (fitted, float64).

        Class weights ``w_c`` make the loss's likelihood that of a class
        distribution proportional to ``w_c * n_c``: the shift is ``log w_c``
        (the weights in force, after deferred re-weighting). For a
        multi-label target, per label: the log-odds shift of its positives
        (``log pos_weight``). The default is no shift (zeros).

        Returns
        -------
        shift : ndarray of shape (n_classes,) or (n_labels,)
        """
        return np.zeros(len(self.class_counts))

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor | MixedTarget,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The ``sample_weight``-weighted mean of the per-row losses.

        A :class:`MixedTarget` (rows mixed by an augmentation) gives each row
        ``lam * l(z, y_a) + (1 - lam) * l(z, y_b)``; a loss that does not
        declare ``supports_mixed_targets`` refuses it with a ``ValueError``.
        """
        if isinstance(target, MixedTarget):
            return _weighted_mean(self.mixed_per_sample(logits, target), sample_weight)
        return _weighted_mean(self.per_sample(logits, target), sample_weight)

    def mixed_per_sample(self, logits: torch.Tensor, target: MixedTarget) -> torch.Tensor:
        """Per-row losses of mixed rows: ``lam * l(z, y_a) + (1 - lam) * l(z, y_b)``."""
        if not self.supports_mixed_targets:
            raise ValueError(
                f"{type(self).__name__} cannot take mixed targets (rows mixed by an "
                "augmentation such as MixUp): its loss is not a per-row function of one "
                "target. Use a loss that declares supports_mixed_targets.")
        lam = target.lam.to(logits.dtype)  # one share per row, multi-label rows too
        return (lam * self.per_sample(logits, target.y_a)
                + (1.0 - lam) * self.per_sample(logits, target.y_b))


class MixedTarget(NamedTuple):
    """Targets of rows mixed by an augmentation (MixUp, CutMix, SMOTE on the fly).

    Row ``i`` is a mix of two rows whose targets are ``y_a[i]`` and
    ``y_b[i]``, ``lam[i]`` the share of the first; a loss takes it as
    ``lam * l(z, y_a) + (1 - lam) * l(z, y_b)`` (see
    :meth:`ImbalanceLoss.forward`).

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy, MixedTarget
    >>> z = torch.tensor([[2.0, 0.0]])
    >>> mixed = MixedTarget(torch.tensor([0]), torch.tensor([1]), torch.tensor([0.75]))
    >>> loss = CrossEntropy()
    >>> expected = 0.75 * loss(z, torch.tensor([0])) + 0.25 * loss(z, torch.tensor([1]))
    >>> bool(torch.isclose(loss(z, mixed), expected))
    True
    """

    y_a: torch.Tensor
    y_b: torch.Tensor
    lam: torch.Tensor

    def to(self, device) -> MixedTarget:
        """The targets on ``device``."""
        return MixedTarget(*(t.to(device) for t in self))

    def repeat_interleave(self, k: int, dim: int = 0) -> MixedTarget:
        """Every row repeated ``k`` times (for the members of an ensemble)."""
        return MixedTarget(*(t.repeat_interleave(k, dim=dim) for t in self))


def _weighted_mean(losses, sample_weight):
    if sample_weight is None:
        return losses.mean()
    sample_weight = sample_weight.to(losses.dtype)
    return (losses * sample_weight).sum() / sample_weight.sum().clamp_min(
        torch.finfo(losses.dtype).tiny
    )


def _nonempty(counts: np.ndarray) -> np.ndarray:
    """The masses with empty classes (mass 0) counted as one row of weight 1.

    Positive masses are kept as they are, fractional ones too, so scaling
    every sample weight leaves the ratios between classes unchanged.
    """
    return np.where(counts > 0, counts, 1.0)


def _log_prior(counts: np.ndarray) -> np.ndarray:
    """``log(n_c / N)``, with empty classes counted as one row so it stays finite."""
    safe = _nonempty(counts)
    return np.log(safe) - np.log(safe.sum())


def _log_weights(weights) -> np.ndarray:
    """``log w`` of positive weights; 0 where a weight is 0 (a class that does not count has no
    likelihood to undo)."""
    weights = torch.as_tensor(weights).detach().to("cpu", torch.float64).numpy()
    return np.log(np.where(weights > 0, weights, 1.0))


def _refuse_multiclass(cls: type, n_classes: int) -> None:
    """The error of a ``binary_only`` loss given ``n_classes`` > 2 single-label classes."""
    forms = "binary or multi-label" if cls.supports_multilabel else "binary"
    raise ValueError(
        f"loss={cls.name or cls.__name__!r} takes {forms} targets; y has {n_classes} "
        "classes. Use 'ce', 'focal' or another multi-class loss."
    )


def _sigmoid_cross_entropy(z, y, pos_weight=None):
    """Per-label binary cross-entropy ``-[w y log s(z) + (1 - y) log(1 - s(z))]``."""
    positive = F.logsigmoid(z) * y
    if pos_weight is not None:
        positive = positive * pos_weight
    return -(positive + (1.0 - y) * F.logsigmoid(-z))


def members_mean_loss(loss, y_pred: torch.Tensor, target, sample_weight=None, *,
                      per_member: bool = False) -> torch.Tensor:
    """Mean of the members' losses, for an ensemble's output of shape (batch, k, n_outputs).

    A loss of independent rows takes all members' rows at once: with every
    row repeated k times, its (weighted) mean is the mean of the members'
    means. A loss that declares ``per_member`` (CRL mines hard examples
    within a batch) runs per member.

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import CrossEntropy, members_mean_loss
    >>> loss = CrossEntropy()
    >>> loss.set_class_counts(torch.tensor([1, 1]))
    >>> output = torch.stack([torch.zeros(3, 2), torch.tensor([[9.0, 0], [0, 9], [9, 0]])], 1)
    >>> y = torch.tensor([0, 1, 0])
    >>> bool(torch.isclose(members_mean_loss(loss, output, y),
    ...                    (loss(output[:, 0], y) + loss(output[:, 1], y)) / 2))
    True
    """
    k = y_pred.shape[1]
    if per_member:
        return torch.stack([loss(y_pred[:, j], target, sample_weight=sample_weight)
                            for j in range(k)]).mean()
    repeat = lambda t: None if t is None else t.repeat_interleave(k, dim=0)  # noqa: E731
    return loss(y_pred.flatten(0, 1), repeat(target), sample_weight=repeat(sample_weight))
