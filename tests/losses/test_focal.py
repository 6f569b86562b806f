"""Focal loss and class-balanced loss, ``loss="focal"`` and ``loss="class_balanced"``
(``skimb/losses/focal.py``), against float64 references written from their definitions
(``tests/losses/reference.py``): single-label and multi-label, their identities with
cross-entropy, and torchvision's formula.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skimb.losses import ClassBalancedLoss, CrossEntropy, FocalLoss, WeightedCrossEntropy
from tests.helpers import COUNTS
from tests.losses.properties import check_every_property
from tests.losses.reference import (
    LABELS,
    POSITIVES,
    assert_matches,
    batch,
    check_multilabel_extreme_logits_match_the_reference,
    check_multilabel_matches_reference,
    fitted_loss,
    ml_assert_matches,
    ml_batch,
    ml_fitted,
    ml_run,
    ml_run_ref,
    ref_alpha,
    ref_balanced,
    ref_ce_rows,
    ref_effective,
    ref_focal_rows,
    ref_torchvision_focal,
    run,
    run_ref,
    same,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_CLASSES = pytest.mark.parametrize("n_classes", [2, 3, 7])
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])
#: The multi-label settings checked against the reference.
ML_CASES = [{}, {"gamma": 0.5, "alpha": 0.25}]


# ---------------------------------------------------------------------------
# single-label
# ---------------------------------------------------------------------------


@WEIGHTED
@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("n_classes, alpha", [(c, a) for c in (2, 3, 7)
                                              for a in (None, 0.25, "balanced", "dict")
                                              if c == 2 or not isinstance(a, float)])
def test_focal_matches_reference(n_classes, weighted, gamma, alpha):
    classes = LABELS[n_classes]
    if alpha == "dict":
        alpha = {label: 0.5 + i for i, label in enumerate(classes[::-1])}
    z, y, s = batch(n_classes, seed=1)
    s = s if weighted else None
    loss = fitted_loss(FocalLoss(gamma=gamma, alpha=alpha), n_classes, classes)
    w = ref_alpha(alpha, COUNTS[n_classes], classes)
    np.testing.assert_allclose(loss.alpha_weights.numpy(), w, rtol=1e-12)
    value = assert_matches(loss, lambda z, y: ref_focal_rows(z, y, gamma, w), z, y, s)
    # focal really down-weights: smaller than the alpha-weighted CE
    ce = run_ref(lambda z, y: torch.as_tensor(w)[y] * ref_ce_rows(z, y), z, y, s)[0].item()
    assert value < ce - 1e-3


@N_CLASSES
@WEIGHTED
def test_focal_gamma_zero_is_ce(n_classes, weighted):
    z, y, s = batch(n_classes, seed=20)
    s = s if weighted else None
    ce = fitted_loss(CrossEntropy(), n_classes)
    value = same(fitted_loss(FocalLoss(gamma=0.0), n_classes), ce, z, y, s, rtol=1e-12)
    assert value == pytest.approx(run_ref(ref_ce_rows, z, y, s)[0].item(), rel=1e-12)
    assert run(fitted_loss(FocalLoss(gamma=0.5), n_classes), z, y, s)[0].item() < value - 1e-3


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("base", ["ce", "focal"])
@pytest.mark.parametrize("beta", [0.9, 0.999])
def test_class_balanced_matches_reference(n_classes, weighted, base, beta):
    z, y, s = batch(n_classes, seed=2)
    s = s if weighted else None
    gamma = 1.5
    loss = fitted_loss(ClassBalancedLoss(beta=beta, base=base, gamma=gamma), n_classes)
    w = ref_effective(COUNTS[n_classes], beta)
    np.testing.assert_allclose(loss.class_weights.numpy(), w, rtol=1e-12)
    g = gamma if base == "focal" else 0.0
    assert_matches(loss, lambda z, y: ref_focal_rows(z, y, g, w), z, y, s)


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("base", ["ce", "focal"])
def test_class_balanced_beta_to_one_approaches_inverse_frequency(n_classes, weighted, base):
    z, y, s = batch(n_classes, seed=23)
    s = s if weighted else None
    counts = COUNTS[n_classes]
    near_one = fitted_loss(ClassBalancedLoss(beta=0.999999, base=base), n_classes)
    np.testing.assert_allclose(near_one.class_weights.numpy(), ref_balanced(counts), rtol=1e-3)
    balanced = (fitted_loss(WeightedCrossEntropy(weights="balanced"), n_classes) if base == "ce"
                else fitted_loss(FocalLoss(gamma=2.0, alpha="balanced"), n_classes))
    a = run(near_one, z, y, s)[0].item()
    b = run(balanced, z, y, s)[0].item()
    assert a == pytest.approx(b, rel=1e-3)
    # a small beta is far from inverse frequency
    far = run(fitted_loss(ClassBalancedLoss(beta=0.9, base=base), n_classes), z, y, s)[0].item()
    assert abs(far - b) > 1e-2 * abs(b)


# ---------------------------------------------------------------------------
# multi-label
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", ML_CASES)
@N_LABELS
@WEIGHTED
def test_multilabel_matches_reference(kwargs, n_labels, weighted):
    check_multilabel_matches_reference("focal", kwargs, n_labels, weighted)


@pytest.mark.parametrize("kwargs", ML_CASES)
@WEIGHTED
def test_multilabel_extreme_logits_match_the_reference(kwargs, weighted):
    check_multilabel_extreme_logits_match_the_reference("focal", kwargs, weighted)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75])
@N_LABELS
@WEIGHTED
def test_multilabel_focal_matches_reference(gamma, alpha, n_labels, weighted):
    kwargs = {"gamma": gamma, "alpha": alpha}
    loss = ml_fitted("focal", kwargs, n_labels)
    expected = [1.0, 1.0] if alpha is None else [1 - alpha, alpha]
    assert loss.alpha_weights.tolist() == expected
    z, y, s = ml_batch(n_labels, seed=5)
    ml_assert_matches(loss, "focal", kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
def test_focal_matches_torchvision_formula(gamma, alpha):
    loss = ml_fitted("focal", {"gamma": gamma, "alpha": alpha}, 5)
    z, y, _ = ml_batch(5, seed=6)
    out, grad = ml_run(loss, z, y)
    logits = torch.tensor(z, requires_grad=True)
    # torchvision's reduction="mean": the mean over every (row, label)
    expected = ref_torchvision_focal(logits, torch.tensor(y), gamma,
                                     -1.0 if alpha is None else alpha).mean()
    expected.backward()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), logits.grad.numpy(), rtol=1e-8, atol=1e-12)


@N_LABELS
@WEIGHTED
def test_multilabel_focal_gamma_zero_is_ce(n_labels, weighted):
    z, y, s = ml_batch(n_labels, seed=7)
    s = s if weighted else None
    focal, focal_grad = ml_run(ml_fitted("focal", {"gamma": 0.0, "alpha": None}, n_labels), z, y, s)
    ce, ce_grad = ml_run(ml_fitted("ce", {}, n_labels), z, y, s)
    np.testing.assert_allclose(focal.item(), ce.item(), rtol=1e-12)
    np.testing.assert_allclose(focal_grad.numpy(), ce_grad.numpy(), rtol=1e-10, atol=1e-15)
    ref = ml_run_ref("ce", {}, z, y, s, POSITIVES[n_labels])[0]
    np.testing.assert_allclose(ce.item(), ref.item(), rtol=1e-10)


@pytest.mark.parametrize("alpha", ["balanced", "sqrt", "effective", {0: 1.0, 1: 2.0}, 0.0, 1.0,
                                   1.5, -0.25, True])
def test_focal_rejects_class_alpha_with_multilabel(alpha):
    loss = FocalLoss(alpha=alpha)
    with pytest.raises(ValueError, match="multi-label"):
        loss.set_label_counts(torch.tensor([10, 3]), 50)


# ---------------------------------------------------------------------------
# the common properties on other settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, form", [
    ("focal", {"gamma": 0.5, "alpha": "balanced"}, "multiclass"),
    ("focal", {"gamma": 2.0, "alpha": 0.25}, "binary"),
    ("focal", {"gamma": 0.5, "alpha": 0.25}, "multilabel"),
    ("class_balanced", {"beta": 0.99, "base": "focal", "gamma": 0.5}, "multiclass"),
])
def test_properties_hold_for_other_settings(name, kwargs, form):
    check_every_property(name, kwargs, form)
