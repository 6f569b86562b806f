"""What ``predict_proba`` means: the closed-form prior correction of a fitted classifier.

``ImbalancedTorchClassifier.predict_proba`` estimates ``P(class | x)`` for data
distributed like the training data as given (with its ``sample_weight``),
whatever ``sampler=`` and ``loss=`` trained it. Every rebalancing strategy
trains the network for another class distribution: a sampler draws class
``c`` with epoch share ``s_c`` instead of its row share ``n_c / N``, class
weights ``w_c`` count its rows ``w_c`` times, ``pos_weight`` counts a label's
positives ``w`` times. A model that minimises such a loss estimates the
posterior of that distribution, so the data's posterior follows by Bayes'
rule (Saerens et al., Neural Computation 2002)::

    log p(c | x) = log_softmax(scale * z + offset - log r)_c
    log r_c      = log w_c + log s_c - log(n_c / N)

``z`` is the network's output; ``(scale, offset)`` is what the loss's
likelihood does to it before its cross-entropy
(:meth:`~skimb.losses.ImbalanceLoss.logit_map`: ``tau log pi`` for
``logit_adjusted``, ``log n`` for ``balanced_softmax``, ``VS``'s scale and
shift, ``LDAM``'s ``s``); ``log w_c`` is the loss's
:meth:`~skimb.losses.ImbalanceLoss.log_prior_shift` (its class weights in
force at the last epoch, after deferred re-weighting; ``[0, log w]`` for a
binary ``pos_weight``); ``s_c`` is the sampler's share of class ``c`` at the
last epoch (:meth:`~skimb.samplers.BaseSampler.epoch_class_shares`:
``progressive`` at the end of its schedule, an imbalanced-learn sampler from
the counts of its last resampled epoch). Sample weights cancel from the
sampler term (a row drawn is weighted as it was), so the counts ``n_c`` are
rows. For a multi-label target each label is a binary problem: its logit
moves by ``log pos_weight`` and by the change of its positive rate under the
sampler (approximate: the sampler draws rows by their rarest label, so a
label's rate moves with the others).

The correction is exact where every part has a closed form (the loss declares
``exact_prior_correction``; the sampler ``keeps_class_conditionals``; the
augmentation mixes no targets); what is left otherwise (focusing, margins,
costs, mixed targets, synthetic rows) is the residual, not corrected here.

Deployment priors (``class_priors``) move the posterior to another class
distribution the same way: ``log p_new = log_softmax(log p + log pi_new -
log pi_train)`` (per label on the log-odds for a multi-label target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CALIBRATIONS", "PriorCorrection", "check_calibration", "check_class_priors",
           "fit_prior_correction", "sampler_log_shift"]

#: Values of the classifier's ``calibration`` parameter.
CALIBRATIONS = ("prior", None)

#: Shifts smaller than this (in log units) are rounding, not a shift: ``sampler="none"``
#: draws every class at its row share, computed there by another sequence of operations.
_ROUNDING = 1e-12


def check_calibration(value) -> None:
    """Refuse a ``calibration`` that is not one of :data:`CALIBRATIONS`.

    Examples
    --------
    >>> from skimb.calibration import check_calibration
    >>> check_calibration("prior")
    >>> check_calibration("platt")
    Traceback (most recent call last):
    ...
    ValueError: calibration must be 'prior' or None, got 'platt'.
    """
    if not (value is None or (isinstance(value, str) and value in CALIBRATIONS)):
        raise ValueError(f"calibration must be 'prior' or None, got {value!r}.")


def _float64(values) -> np.ndarray:
    return torch.as_tensor(values).detach().to("cpu", torch.float64).numpy().copy()


def sampler_log_shift(sampler, epoch: int, *, multilabel: bool = False, y=None,
                      sampling_classes=None, sample_weight=None) -> np.ndarray:
    """How much more an epoch of ``sampler`` drew each class than the data holds, in log units.

    Single-label: ``log s_c - log(n_c / N)``, with ``s_c`` the sampler's share of
    class ``c`` at ``epoch`` and ``n_c`` its training rows (0 for a class
    without rows, or for a sampler that does not know its shares). For a
    multi-label target, per label: the change of the label's log-odds of
    being present when rows are drawn by their sampling class.

    Parameters
    ----------
    sampler : BaseSampler
        Fitted.
    epoch : int
        The epoch of the call whose draw the model learned last.
    multilabel : bool, default=False
    y : ndarray of shape (n_samples, n_labels), optional
        The training indicator matrix (multi-label only).
    sampling_classes : ndarray of shape (n_samples,), optional
        The class each training row is drawn as (multi-label only).
    sample_weight : ndarray of shape (n_samples,), optional
        The training rows' weights (multi-label only).

    Returns
    -------
    shift : ndarray of shape (n_classes,) or (n_labels,), float64

    Examples
    --------
    >>> import torch
    >>> from skimb.samplers import UnderSampler
    >>> from skimb.calibration import sampler_log_shift
    >>> sampler = UnderSampler().fit(torch.tensor([0, 0, 0, 1]), 2)
    >>> [round(v, 4) for v in sampler_log_shift(sampler, 0).tolist()]  # log(0.5/0.75), log(0.5/0.25)
    [-0.4055, 0.6931]
    """
    counts = _float64(sampler.class_counts_)
    shares = sampler.epoch_class_shares(epoch)
    if shares is None:
        return np.zeros(len(counts) - int(multilabel))
    shares = _float64(shares)
    drawn = (counts > 0) & (shares > 0)
    per_class = np.zeros(len(counts))
    per_class[drawn] = (np.log(shares[drawn]) - np.log(counts[drawn] / counts.sum()))
    per_class[np.abs(per_class) < _ROUNDING] = 0.0
    if not multilabel:
        return per_class
    # every row of sampling class k is drawn s_k / n_k times as often as under the data
    y = np.asarray(y, dtype=np.float64)
    weight = (np.ones(len(y)) if sample_weight is None
              else np.asarray(sample_weight, dtype=np.float64))
    drawn_weight = weight * np.exp(per_class)[np.asarray(sampling_classes)]
    return _log_odds(y, drawn_weight) - _log_odds(y, weight)


def _log_odds(y, weight):
    """Each label's log-odds of being present among rows weighted by ``weight`` (0 if never
    or always present)."""
    positive = weight @ y
    negative = weight.sum() - positive
    both = (positive > 0) & (negative > 0)
    return np.where(both, np.log(np.where(both, positive, 1.0))
                    - np.log(np.where(both, negative, 1.0)), 0.0)


def check_class_priors(class_priors, classes, multilabel: bool = False) -> np.ndarray | None:
    """``class_priors`` as a float64 array in the order of ``classes``, or None.

    Single-label: shares ``>= 0``, not all 0, normalised to sum to 1 (counts
    are fine). Multi-label: each label's chance of being present, in [0, 1].
    Given as an array in the order of ``classes`` or as ``{label: share}``
    naming every class.

    Parameters
    ----------
    class_priors : None, array-like or dict
    classes : array-like
        The fitted labels (``classes_``).
    multilabel : bool, default=False

    Returns
    -------
    priors : ndarray of shape (n_classes,) or None

    Examples
    --------
    >>> from skimb.calibration import check_class_priors
    >>> check_class_priors({"dry": 3, "ice": 1}, ["dry", "ice"]).tolist()
    [0.75, 0.25]
    >>> check_class_priors({"dry": 3, "icy": 1}, ["dry", "ice"])
    Traceback (most recent call last):
    ...
    ValueError: class_priors names labels that are not among classes_ ['dry', 'ice']: ['icy']; missing: ['ice'].
    """
    if class_priors is None:
        return None
    names = np.asarray(classes).tolist()
    if isinstance(class_priors, Mapping):
        unknown = [key for key in class_priors if key not in set(names)]
        missing = [name for name in names if name not in class_priors]
        if unknown or missing:
            raise ValueError(
                f"class_priors names labels that are not among classes_ {names}: {unknown}"
                f"; missing: {missing}." if unknown else
                f"class_priors must give every class of classes_ {names}; missing: {missing}.")
        class_priors = [class_priors[name] for name in names]
    try:
        priors = np.asarray(class_priors, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"class_priors must be numbers, got {class_priors!r}.") from None
    if priors.shape != (len(names),):
        raise ValueError(f"class_priors has shape {priors.shape}; the model has "
                         f"{len(names)} classes {names}, so it must have shape ({len(names)},).")
    if not np.all(np.isfinite(priors)) or np.any(priors < 0):
        raise ValueError(f"class_priors must be finite and >= 0, got {priors.tolist()}.")
    if multilabel:
        if np.any(priors > 1):
            raise ValueError("For a multi-label target class_priors are each label's chance "
                             f"of being present, in [0, 1]; got {priors.tolist()}.")
        return priors
    if priors.sum() <= 0:
        raise ValueError("class_priors are all 0: no class could occur.")
    return priors / priors.sum()


@dataclass(frozen=True, eq=False)
class PriorCorrection:
    """The closed-form prior correction of a fitted classifier (its ``calibration_``).

    Built at the end of every ``fit`` / ``partial_fit`` by
    :func:`fit_prior_correction`; holds plain float64 arrays, so it pickles
    and travels in ``save_params(f_fitted=...)``.

    Attributes
    ----------
    form : {"softmax", "sigmoid", "multilabel"}
        The module's output: one logit per class, one logit for a binary
        target (a sigmoid loss), or one logit per label.
    scale, offset : ndarray of shape (n_outputs,)
        The loss's :meth:`~skimb.losses.ImbalanceLoss.logit_map`.
    log_shift : ndarray of shape (n_classes,) or (n_labels,)
        ``log r``: how much more the training counted each class (per label:
        the log-odds shift of its positives), loss and sampler together; the
        strategy's effective shift in log-probability units.
    loss_shift, sampler_shift : ndarray
        Its two parts.
    train_priors : ndarray of shape (n_classes,) or (n_labels,)
        The class shares (per label: the positive share) of the training
        rows, weighted by ``sample_weight``: the distribution the
        probabilities are calibrated to, and the base of ``class_priors``.
    exact : bool
        Whether every part of the correction has a closed form.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skimb.calibration import PriorCorrection
    >>> correction = PriorCorrection(
    ...     form="softmax", scale=np.ones(2), offset=np.zeros(2),
    ...     log_shift=np.log([1.0, 4.0]), train_priors=np.array([0.8, 0.2]))
    >>> correction.proba(torch.zeros(1, 2)).round(3).tolist()  # weighted 4x: 1/4 of the odds
    [[0.8, 0.2]]
    >>> correction.proba(torch.zeros(1, 2), class_priors=np.array([0.5, 0.5])).round(3).tolist()
    [[0.5, 0.5]]
    """

    form: str
    scale: np.ndarray
    offset: np.ndarray
    log_shift: np.ndarray
    train_priors: np.ndarray
    loss_shift: np.ndarray | None = None
    sampler_shift: np.ndarray | None = None
    exact: bool = True

    @property
    def is_identity(self) -> bool:
        """Whether the correction leaves the model's output as it is."""
        return bool(np.all(self.scale == 1.0) and not np.any(self.offset)
                    and not np.any(self.log_shift))

    def log_proba(self, output: torch.Tensor, class_priors: np.ndarray | None = None
                  ) -> torch.Tensor:
        """Corrected log-probabilities of the module's output, in float64.

        Parameters
        ----------
        output : torch.Tensor of shape (n, n_outputs) or (n, k, n_outputs)
            The module's logits; ``(n, k, n_outputs)`` for an ensemble of k
            members, whose corrected probabilities are averaged (as the raw
            output's are).
        class_priors : ndarray or None
            Deployment priors (:func:`check_class_priors`).

        Returns
        -------
        log_proba : torch.Tensor of shape (n, n_classes) or (n, n_labels), float64
            Per class (rows are distributions), or each label's
            ``log P(present)``. Finite for any finite output.
        """
        z = output.detach().to(torch.float64)
        if z.ndim == 2:
            z = z[:, None, :]
        tensor = lambda a: torch.as_tensor(a, dtype=torch.float64, device=z.device)  # noqa: E731
        u = z * tensor(self.scale) + tensor(self.offset)
        k = math.log(z.shape[1])
        if self.form == "multilabel":
            u = u - tensor(self.log_shift)
            present = torch.logsumexp(F.logsigmoid(u), dim=1) - k
            if class_priors is None:
                return present
            absent = torch.logsumexp(F.logsigmoid(-u), dim=1) - k
            log_odds = present - absent + tensor(_label_log_odds_change(class_priors,
                                                                      self.train_priors))
            return F.logsigmoid(log_odds)
        if self.form == "sigmoid":
            u = u[..., :1] - float(self.log_shift[1] - self.log_shift[0])
            members = torch.cat([F.logsigmoid(-u), F.logsigmoid(u)], dim=-1)
        else:
            members = F.log_softmax(u - tensor(self.log_shift), dim=-1)
        log_p = torch.logsumexp(members, dim=1) - k
        if class_priors is not None:
            log_p = F.log_softmax(log_p + tensor(_log_ratio(class_priors, self.train_priors)),
                                  dim=-1)
        return log_p

    def proba(self, output: torch.Tensor, class_priors: np.ndarray | None = None) -> np.ndarray:
        """Corrected probabilities (float64): ``exp`` of :meth:`log_proba`."""
        return self.log_proba(output, class_priors).exp().cpu().numpy()


def _log_ratio(new, train):
    """``log(pi_new / pi_train)``; 0 for a class without training mass (its posterior is 0)."""
    ratio = np.zeros(len(train))
    seen = train > 0
    with np.errstate(divide="ignore"):
        ratio[seen] = np.log(new[seen]) - np.log(train[seen])
    return ratio


def _label_log_odds_change(new, train):
    """Per label ``logit(pi_new) - logit(pi_train)`` (0 where the training rate is 0 or 1)."""
    change = np.zeros(len(train))
    seen = (train > 0) & (train < 1)
    with np.errstate(divide="ignore"):
        change[seen] = (np.log(new[seen]) - np.log1p(-new[seen])
                        - np.log(train[seen]) + np.log1p(-train[seen]))
    return change


def fit_prior_correction(loss, sampler, *, epoch: int, class_mass, total_mass: float,
                         multilabel: bool = False, y=None, sampling_classes=None,
                         sample_weight=None, augmentation=None) -> PriorCorrection:
    """The prior correction of a model trained with ``loss`` and ``sampler``.

    Parameters
    ----------
    loss : ImbalanceLoss
        The fitted loss (its weights as at the last epoch).
    sampler : BaseSampler
        The fitted sampler of the last training call.
    epoch : int
        The call's last epoch (the sampler's share at it: ``progressive``).
    class_mass : array-like of shape (n_classes,) or (n_labels,)
        The training rows' class (label) masses, weighted by ``sample_weight``.
    total_mass : float
        Their total weight.
    multilabel : bool, default=False
    y, sampling_classes, sample_weight : ndarray, optional
        The training rows' indicator matrix, sampling classes and weights
        (multi-label only; see :func:`sampler_log_shift`).
    augmentation : Augmentation or None
        The call's augmentation; one that mixes targets makes the correction
        inexact.

    Returns
    -------
    PriorCorrection

    Examples
    --------
    >>> import torch
    >>> from skimb.losses import WeightedCrossEntropy
    >>> from skimb.samplers import NoSampler
    >>> from skimb.calibration import fit_prior_correction
    >>> loss = WeightedCrossEntropy()
    >>> loss.set_class_counts(torch.tensor([3.0, 1.0]))
    >>> sampler = NoSampler().fit(torch.tensor([0, 0, 0, 1]), 2)
    >>> correction = fit_prior_correction(loss, sampler, epoch=0, class_mass=[3.0, 1.0],
    ...                                   total_mass=4.0)
    >>> [round(v, 4) for v in correction.log_shift.tolist()]  # log of 2/3 and 2
    [-0.4055, 0.6931]
    """
    class_mass = _float64(class_mass)
    scale, offset = (np.asarray(a, dtype=np.float64) for a in loss.logit_map())
    loss_shift = np.asarray(loss.log_prior_shift(), dtype=np.float64)
    sampler_shift = sampler_log_shift(sampler, epoch, multilabel=multilabel, y=y,
                                      sampling_classes=sampling_classes,
                                      sample_weight=sample_weight)
    form = "multilabel" if multilabel else "sigmoid" if len(scale) == 1 else "softmax"
    exact = (bool(loss.exact_prior_correction) and sampler.keeps_class_conditionals
             and not (multilabel and np.any(sampler_shift))
             and not getattr(augmentation, "mixes_targets", False))
    return PriorCorrection(
        form=form, scale=scale, offset=offset, log_shift=loss_shift + sampler_shift,
        loss_shift=loss_shift, sampler_shift=sampler_shift,
        train_priors=class_mass / float(total_mass) if total_mass > 0 else class_mass,
        exact=exact)
