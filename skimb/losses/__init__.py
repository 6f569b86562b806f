"""Loss strategies: small ``nn.Module`` objects with their formula in the docstring.

All losses share one protocol (:class:`ImbalanceLoss`):

* :meth:`~ImbalanceLoss.set_class_counts` receives the per-class masses of
  the training portion at every fit, after the internal validation split if any
  (row counts, or per-class sums of sample weights: a row of weight 2 counts as two
  rows), and turns them into buffers on the loss's device;
* :meth:`~ImbalanceLoss.set_epoch` tells the loss which epoch of the current fit
  call starts (and the call's epoch budget), for schedules such as deferred
  re-weighting (``drw_epoch``, an epoch or a fraction of the budget);
* ``forward(logits, target, sample_weight=None)`` returns the batch loss: the
  ``sample_weight``-weighted mean of the per-row losses,
  ``sum_i s_i * l_i / sum_i s_i`` (a plain mean when no weights are given);
* :meth:`~ImbalanceLoss.probabilities` maps the module's raw output to class
  probabilities — never through the training-time adjustments (margins,
  priors) — and :meth:`~ImbalanceLoss.output_width` says how many outputs the
  module needs.

Every loss class declares what it can do as class attributes (``name``,
``supports_multilabel``, ``binary_only``, ``per_member``, ``needs_cosine_head``,
``supports_mixed_targets``; see :class:`ImbalanceLoss`);
the registry is built from the names, and :func:`check_loss_compatibility`
refuses a loss that does not fit the target.

Multi-label (indicator) targets reach the losses that support them through
:meth:`~ImbalanceLoss.set_label_counts` instead (per-label positive masses and
the mass of the training rows); the module then has one output per label and
probabilities are the sigmoid of each. ``ce``, ``bce``, ``focal``, ``asl`` and
``crl`` support multi-label targets; the others raise a ValueError.

Everything is computed in log-space (``log_softmax``, ``logsigmoid``), so
extreme logits stay finite. ``z`` below is the row of logits, ``y`` its class,
``n_c`` the training mass of class c, ``N = sum_c n_c``, ``pi_c = n_c / N``.

One file per family: ``cross_entropy`` (``ce``, ``weighted_ce``), ``focal``
(``focal``, ``class_balanced``), ``logit_adjustment`` (``ldam``,
``logit_adjusted``, ``balanced_softmax``, ``vs``), ``sigmoid`` (``bce``,
``asl``), ``rectification`` (``crl``), ``cost_sensitive``
(``cost_sensitive``); ``foreign`` wraps a loss of your own (any ``nn.Module``
called as ``loss(logits, target)``) in the protocol; ``_base`` holds the
protocol and ``registry`` the names.
"""

from ._base import ImbalanceLoss, MixedTarget, class_weights, members_mean_loss
from .cross_entropy import CrossEntropy, WeightedCrossEntropy
from .focal import FocalLoss, ClassBalancedLoss
from .logit_adjustment import LDAMLoss, LogitAdjustedLoss, BalancedSoftmaxLoss, VSLoss
from .sigmoid import BinaryCrossEntropy, AsymmetricLoss
from .rectification import ClassRectificationLoss
from .cost_sensitive import CostSensitiveLoss
from .foreign import ForeignLoss, as_skimb_loss
from .registry import (check_loss_compatibility, list_losses, loss_class, make_loss,
                       multilabel_losses, output_log_probabilities, output_probabilities)

__all__ = [
    "ImbalanceLoss",
    "MixedTarget",
    "CrossEntropy",
    "WeightedCrossEntropy",
    "FocalLoss",
    "ClassBalancedLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "BalancedSoftmaxLoss",
    "VSLoss",
    "BinaryCrossEntropy",
    "AsymmetricLoss",
    "ClassRectificationLoss",
    "CostSensitiveLoss",
    "ForeignLoss",
    "as_skimb_loss",
    "class_weights",
    "members_mean_loss",
    "check_loss_compatibility",
    "list_losses",
    "loss_class",
    "multilabel_losses",
    "make_loss",
    "output_log_probabilities",
    "output_probabilities",
]
