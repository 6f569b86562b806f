"""The losses that move the logits by the class priors (``skimb/losses/logit_adjustment.py``):
``ldam``, ``logit_adjusted``, ``balanced_softmax`` and ``vs``, against float64 references
written from their definitions (``tests/losses/reference.py``), and their identities.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skimb.losses import BalancedSoftmaxLoss, CrossEntropy, LDAMLoss, LogitAdjustedLoss, VSLoss
from tests.helpers import COUNTS
from tests.losses.properties import check_every_property
from tests.losses.reference import (
    assert_matches,
    batch,
    fitted_loss,
    ref_balanced_softmax_rows,
    ref_ldam_rows,
    ref_logit_adjusted_rows,
    ref_vs_rows,
    run,
    same,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_CLASSES = pytest.mark.parametrize("n_classes", [2, 3, 7])
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("max_m, s_scale", [(0.5, 30.0), (0.3, 5.0)])
def test_ldam_matches_reference(n_classes, weighted, max_m, s_scale):
    z, y, s = batch(n_classes, seed=3, scale=0.5)
    z = np.clip(z, -1, 1)  # cosines
    s = s if weighted else None
    counts = COUNTS[n_classes]
    loss = fitted_loss(LDAMLoss(max_m=max_m, s=s_scale), n_classes)
    delta = max_m * counts**-0.25 / np.max(counts**-0.25)
    np.testing.assert_allclose(loss.margins.numpy(), delta, rtol=1e-12)
    assert loss.margins.numpy()[np.argmin(counts)] == pytest.approx(max_m)
    assert_matches(loss, lambda z, y: ref_ldam_rows(z, y, counts, max_m, s_scale), z, y, s)


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("tau", [1.0, 0.4, -0.5])
def test_logit_adjusted_matches_reference(n_classes, weighted, tau):
    z, y, s = batch(n_classes, seed=4)
    s = s if weighted else None
    counts = COUNTS[n_classes]
    loss = fitted_loss(LogitAdjustedLoss(tau=tau), n_classes)
    assert_matches(loss, lambda z, y: ref_logit_adjusted_rows(z, y, counts, tau), z, y, s)


@N_CLASSES
@WEIGHTED
def test_balanced_softmax_matches_reference(n_classes, weighted):
    z, y, s = batch(n_classes, seed=5)
    s = s if weighted else None
    counts = COUNTS[n_classes]
    loss = fitted_loss(BalancedSoftmaxLoss(), n_classes)
    assert_matches(loss, lambda z, y: ref_balanced_softmax_rows(z, y, counts), z, y, s)


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("gamma, tau", [(0.2, 1.0), (0.5, 0.3), (1.0, 0.0)])
def test_vs_matches_reference(n_classes, weighted, gamma, tau):
    z, y, s = batch(n_classes, seed=6)
    s = s if weighted else None
    counts = COUNTS[n_classes]
    loss = fitted_loss(VSLoss(gamma=gamma, tau=tau), n_classes)
    assert_matches(loss, lambda z, y: ref_vs_rows(z, y, counts, gamma, tau), z, y, s)


# ---------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------


@N_CLASSES
@WEIGHTED
def test_logit_adjusted_tau_zero_is_ce(n_classes, weighted):
    z, y, s = batch(n_classes, seed=21)
    s = s if weighted else None
    ce = fitted_loss(CrossEntropy(), n_classes)
    same(fitted_loss(LogitAdjustedLoss(tau=0.0), n_classes), ce, z, y, s, rtol=1e-12)
    other = run(fitted_loss(LogitAdjustedLoss(tau=0.5), n_classes), z, y, s)[0].item()
    assert abs(other - run(ce, z, y, s)[0].item()) > 1e-3


@N_CLASSES
@WEIGHTED
def test_balanced_softmax_is_logit_adjusted_tau_one(n_classes, weighted):
    z, y, s = batch(n_classes, seed=22)
    s = s if weighted else None
    value = same(fitted_loss(BalancedSoftmaxLoss(), n_classes),
                  fitted_loss(LogitAdjustedLoss(tau=1.0), n_classes), z, y, s)
    ce = run(fitted_loss(CrossEntropy(), n_classes), z, y, s)[0].item()
    assert abs(value - ce) > 1e-3


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_vs_gamma_zero_is_logit_adjusted(n_classes, weighted, tau):
    z, y, s = batch(n_classes, seed=24)
    s = s if weighted else None
    value = same(fitted_loss(VSLoss(gamma=0.0, tau=tau), n_classes),
                  fitted_loss(LogitAdjustedLoss(tau=tau), n_classes), z, y, s)
    other = run(fitted_loss(VSLoss(gamma=0.5, tau=tau), n_classes), z, y, s)[0].item()
    assert abs(other - value) > 1e-3


def test_zero_count_class_treated_as_one_row_in_priors():
    # documented: classes without training rows count as one row in pi / n
    z, y, s = batch(3, seed=61)
    y = np.where(y == 1, 0, y)
    counts = np.array([40, 0, 10])
    as_one = np.array([40, 1, 10])
    for loss in (LogitAdjustedLoss(tau=0.7), BalancedSoftmaxLoss(), VSLoss(gamma=0.3, tau=0.7)):
        loss.set_class_counts(torch.as_tensor(counts))
        other = type(loss)(**({} if isinstance(loss, BalancedSoftmaxLoss) else
                              {k: getattr(loss, k) for k in ("tau", "gamma") if hasattr(loss, k)}))
        other.set_class_counts(torch.as_tensor(as_one))
        assert run(loss, z, y, s)[0].item() == pytest.approx(run(other, z, y, s)[0].item(),
                                                            rel=1e-12)


# ---------------------------------------------------------------------------
# the common properties on other settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, form", [
    ("ldam", {"drw_epoch": 0}, "multiclass"),
    ("logit_adjusted", {"tau": 0.0}, "multiclass"),
    ("vs", {"gamma": 0.5, "tau": 0.0}, "multiclass"),
])
def test_properties_hold_for_other_settings(name, kwargs, form):
    check_every_property(name, kwargs, form)
