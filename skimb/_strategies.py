"""The strategies of a training call: made once from the parameters, checked against the data.

:func:`make_strategies` validates every parameter a training call reads
before any work and makes the call's sampler and augmentation (unfitted);
:func:`check_strategies` refuses, once the rows and their split are known, a
strategy that cannot run on them, reading what each strategy declares. The
strategies are then fitted on the call's training context, together, when
training starts (the classifier's ``on_train_begin``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ._device import check_device_placement
from ._inputs.kinds import RAW_COLUMNS, TABLE
from ._skorch_params import check_loop_params, check_skorch_params, check_validation_monitors
from .augment import check_augmentation, make_augmentation
from .calibration import check_calibration
from .decisions import NO_VALIDATION_SPLIT, check_decision, check_decision_labels
from .losses import check_loss_compatibility, loss_class
from .samplers import list_samplers, make_sampler

__all__ = ["Strategies", "make_strategies", "check_target", "check_strategies",
           "fit_strategies"]


class Strategies(NamedTuple):
    """The strategies a training call is given, made once from the parameters.

    Attributes
    ----------
    sampler : BaseSampler
        Unfitted.
    augmentation : Augmentation or None
        Unfitted.
    loss : type
        The class ``loss=`` stands for (the loss module itself is skorch's
        ``criterion_``, built by ``initialize_criterion``).
    """

    sampler: object
    augmentation: object
    loss: type


def make_strategies(net) -> Strategies:
    """Validate the parameters a training call reads, before any work; make its strategies.

    Parameters
    ----------
    net : ImbalancedTorchClassifier

    Returns
    -------
    strategies : Strategies
    """
    check_device_placement(net)
    check_loop_params(net)
    check_decision(net.decision, net.get_params_for("decision"))
    check_calibration(net.calibration)
    if not isinstance(net.scale_uint8, (bool, np.bool_)):
        raise ValueError(f"scale_uint8 must be True or False, got {net.scale_uint8!r}.")
    sampler = make_sampler(net.sampler, net.get_params_for("sampler"))
    check_skorch_params(net, sampler)
    loss = loss_class(net.loss)
    return Strategies(sampler, make_augmentation(net.augment, net.get_params_for("augment")),
                      loss)


def check_strategies(net, strategies: Strategies, inputs, *, has_valid: bool,
                     resident: bool) -> None:
    """Refuse a strategy that cannot run on these rows, naming what clashes.

    Parameters
    ----------
    net : ImbalancedTorchClassifier
        Its parameters (for the messages) and the fitted ``columns_``.
    strategies : Strategies
    inputs : skimb._inputs.prepare.FitInputs
        The call's rows: their kind, whether they are in memory, their weights.
    has_valid : bool
        Whether the internal split set validation rows aside.
    resident : bool
        Whether the training rows are batched on the device (their positions
        known in every batch).
    """
    multilabel = bool(net.multilabel_)
    if net.decision == "tuned" and not has_valid:
        raise ValueError(NO_VALIDATION_SPLIT)
    check_validation_monitors(net, has_valid)
    check_decision_labels(net.decision, net.get_params_for("decision"),
                          classes=net.classes_inferred_, multilabel=multilabel)
    sampler = strategies.sampler
    if multilabel and not sampler.supports_multilabel:
        raise ValueError(
            "imbalanced-learn samplers need one label per row; with a multi-label y "
            f"use one of: {', '.join(list_samplers())}."
        )
    if sampler.needs_table:
        if not inputs.in_memory or inputs.kind not in (TABLE, RAW_COLUMNS):
            raise ValueError(
                f"sampler={net.sampler!r} resamples 2-D rows of an in-memory table; these "
                f"inputs are not one. Use an index sampler ({', '.join(list_samplers())}).")
        if inputs.kind == RAW_COLUMNS:
            layout = net.columns_.layout_
            sampler.check_raw_table(layout.names, layout.categorical, inputs.data.X.numpy())
    _check_augmentation(net, strategies, inputs, resident)
    if inputs.data.sample_weight is not None and not getattr(
            strategies.loss, "supports_sample_weight", False):
        raise ValueError(
            f"sample_weight needs a skimb loss; {strategies.loss.__name__} cannot weight rows.")


def _check_augmentation(net, strategies, inputs, resident):
    """Refuse an augmentation that cannot run on this fit (see ``check_augmentation``)."""
    augmentation = strategies.augmentation
    if augmentation is None:
        return
    why = ""
    if not inputs.in_memory:
        why = "X is a torch Dataset."
    elif not strategies.sampler.draws_indices:
        why = f"sampler={net.sampler!r} resamples the rows every epoch."
    elif not resident:
        why = "the iterator_train parameters send the rows through a DataLoader."
    check_augmentation(augmentation, loss=strategies.loss, multilabel=bool(net.multilabel_),
                       input_kind=inputs.kind, rows_known=not why, why_rows_unknown=why)


def check_target(net) -> None:
    """Refuse a loss that cannot train on the fitted target (its form, its classes)."""
    check_loss_compatibility(net.loss, multilabel=bool(net.multilabel_),
                             n_classes=len(net.classes_inferred_))


def fit_strategies(context, *, loss, device: torch.device, discrete_columns=(),
                   as_batch=None) -> tuple:
    """Fit the call's strategies on its training context, together.

    The sampler on the training portion's (sampling) classes and the call's
    epochs; the loss on the class masses (label masses for a multi-label
    target) and the epoch budget; the augmentation on the training rows, on
    the training device.

    Parameters
    ----------
    context : skimb._context.TrainingContext
    loss : ImbalanceLoss
        The classifier's loss module (skorch's ``criterion_``).
    device : torch.device
        The training device.
    discrete_columns : sequence of int, default=()
        Table columns holding codes, which the augmentation never interpolates.
    as_batch : callable, optional
        What a training column becomes in a batch (see ``Augmentation.fit``).

    Returns
    -------
    sampler, augmentation
        Fitted (the augmentation None when the call has none).
    """
    sampler = context.sampler.fit(torch.from_numpy(context.sampling_classes),
                                  context.n_sampling_classes, n_epochs=context.epochs)
    mass = torch.from_numpy(context.class_mass)
    if context.multilabel:
        loss.set_label_counts(mass, context.total_mass, context.classes)
    else:
        loss.set_class_counts(mass, context.classes)
    loss.set_epoch_budget(context.epochs)
    augmentation = context.augmentation
    if augmentation is not None:
        augmentation = augmentation.fit(context, device, discrete_columns=discrete_columns,
                                        as_batch=as_batch)
    return sampler, augmentation
