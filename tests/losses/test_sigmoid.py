"""The sigmoid losses (``skimb/losses/sigmoid.py``): binary cross-entropy ``loss="bce"`` and the
asymmetric loss ``loss="asl"``, single-label (binary, one logit) and multi-label, against
float64 references written from their definitions (``tests/losses/reference.py``), torch's
``BCEWithLogitsLoss`` and the official ASL implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from skimb.losses import AsymmetricLoss, BinaryCrossEntropy
from tests.losses.properties import check_every_property
from tests.losses.reference import (
    N_TRAIN,
    POSITIVES,
    assert_matches,
    check_multilabel_extreme_logits_match_the_reference,
    check_multilabel_matches_reference,
    ml_assert_matches,
    ml_batch,
    ml_fitted,
    ml_run,
    official_asl_elems,
    ref_bce_pos_weight,
    ref_bce_rows,
    ref_label_weights,
    ref_pos_weight,
    run,
    run_ref,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])
#: The multi-label settings checked against the reference.
ML_CASES = [
    ("bce", {}),
    ("bce", {"pos_weight": None, "label_weights": "sqrt"}),
    ("asl", {}),
    ("asl", {"gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.0}),
    ("asl", {"gamma_neg": 0.5, "gamma_pos": 0.5, "clip": 0.1}),
]
ML_IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in ML_CASES]


# ---------------------------------------------------------------------------
# bce, single-label: one logit
# ---------------------------------------------------------------------------


@WEIGHTED
@pytest.mark.parametrize("counts", [[500, 20], [40, 60], [7, 3]])
@pytest.mark.parametrize("pos_weight", ["auto", 3.5, None, 0.0])
def test_bce_matches_reference(weighted, counts, pos_weight):
    rng = np.random.default_rng(7)
    z = rng.normal(scale=3.0, size=(50, 1))
    y = rng.integers(0, 2, size=50)
    s = rng.uniform(0.1, 3.0, size=50) if weighted else None
    loss = BinaryCrossEntropy(pos_weight=pos_weight)
    loss.set_class_counts(torch.tensor(counts))
    wp = ref_bce_pos_weight(pos_weight, counts)
    assert float(loss.positive_weight) == pytest.approx(wp, rel=1e-12)
    assert_matches(loss, lambda z, y: ref_bce_rows(z, y, wp), z, y, s)
    # a flat (n,) logit vector is the same single logit
    flat = loss(torch.tensor(z[:, 0]), torch.tensor(y))
    expected = run_ref(lambda z, y: ref_bce_rows(z, y, wp), z, y)[0].item()
    assert flat.item() == pytest.approx(expected, rel=1e-10)


def test_bce_output_width_and_multiclass_rejected():
    assert BinaryCrossEntropy.output_width(2) == 1
    with pytest.raises(ValueError, match="binary"):
        BinaryCrossEntropy.output_width(3)
    with pytest.raises(ValueError, match="binary"):
        BinaryCrossEntropy().set_class_counts(torch.tensor([10, 5, 3]))


@WEIGHTED
@pytest.mark.parametrize("counts", [[500, 20], [30, 70], [9, 1]])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bce_auto_equals_torch_bce_with_logits(weighted, counts, dtype):
    rng = np.random.default_rng(sum(counts))
    z = rng.normal(scale=4.0, size=(40, 1))
    y = rng.integers(0, 2, size=40)
    s = rng.uniform(0.1, 3.0, size=40) if weighted else None
    loss = BinaryCrossEntropy(pos_weight="auto")
    loss.set_class_counts(torch.tensor(counts))
    out, grad = run(loss, z, y, s, dtype=dtype)
    logits = torch.tensor(z, dtype=dtype, requires_grad=True)
    pw = torch.tensor(counts[0] / counts[1], dtype=dtype)
    if s is None:
        ref = nn.BCEWithLogitsLoss(pos_weight=pw)(logits, torch.tensor(y, dtype=dtype)[:, None])
    else:
        rows = nn.BCEWithLogitsLoss(pos_weight=pw, reduction="none")(
            logits, torch.tensor(y, dtype=dtype)[:, None])[:, 0]
        sw = torch.tensor(s, dtype=dtype)
        ref = (sw * rows).sum() / sw.sum()
    ref.backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(out.item(), ref.item(), rtol=tol)
    np.testing.assert_allclose(grad.numpy(), logits.grad.numpy(), rtol=tol * 10, atol=tol * 1e-2)


def test_bce_auto_pos_weight_of_a_class_without_rows_is_one():
    for counts in ([0, 12], [12, 0]):  # no positive (or no negative) rows: the weight is moot
        loss = BinaryCrossEntropy()
        loss.set_class_counts(torch.tensor(counts))
        assert loss.positive_weight.tolist() == [1.0]


# ---------------------------------------------------------------------------
# multi-label: bce and asl against the reference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs", ML_CASES, ids=ML_IDS)
@N_LABELS
@WEIGHTED
def test_multilabel_matches_reference(name, kwargs, n_labels, weighted):
    check_multilabel_matches_reference(name, kwargs, n_labels, weighted)


@pytest.mark.parametrize("name, kwargs", ML_CASES, ids=ML_IDS)
@WEIGHTED
def test_multilabel_extreme_logits_match_the_reference(name, kwargs, weighted):
    check_multilabel_extreme_logits_match_the_reference(name, kwargs, weighted)


# ---------------------------------------------------------------------------
# bce, multi-label: positive and label weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pos_weight", ["auto", 2.5, "seq", "dict", None])
@pytest.mark.parametrize("label_weights", [None, "balanced", "sqrt", "seq", "dict"])
@WEIGHTED
def test_bce_weights_match_reference(pos_weight, label_weights, weighted):
    positives = POSITIVES[5]
    labels = ["cat", "dog", "owl", "eel", "yak"]
    if pos_weight == "seq":
        pos_weight = [0.5, 1.0, 4.0, 30.0, 0.0]
    elif pos_weight == "dict":
        pos_weight = {"yak": 50.0, "eel": 8.0, "owl": 2.0, "dog": 1.5, "cat": 0.7}
    if label_weights == "seq":
        label_weights = [1.0, 0.0, 2.0, 5.0, 0.5]
    elif label_weights == "dict":
        label_weights = {"cat": 0.2, "dog": 1.0, "owl": 3.0, "eel": 0.0, "yak": 7.0}
    kwargs = {"pos_weight": pos_weight, "label_weights": label_weights}
    loss = ml_fitted("bce", kwargs, positives=positives, labels=labels)
    w = ref_pos_weight(pos_weight, positives, N_TRAIN, labels)
    v = np.array(ref_label_weights(label_weights, positives, labels))
    np.testing.assert_allclose(loss.positive_weight.numpy(), w, rtol=1e-12)
    label_weight = loss.label_weight.numpy()  # proportional to v (only ratios matter)
    np.testing.assert_allclose(label_weight / label_weight.sum(), v / v.sum(), rtol=1e-12)
    z, y, s = ml_batch(5, seed=2)
    ml_assert_matches(loss, "bce", kwargs, z, y, s if weighted else None, positives,
                   labels=labels)


def test_bce_auto_pos_weight_rule():
    """neg/pos, and 1 for a label without positive or without negative rows."""
    positives = np.array([0, 200, 50, 1, 199])
    loss = ml_fitted("bce", {}, positives=positives)
    assert loss.positive_weight.tolist() == [1.0, 1.0, 3.0, 199.0, 1 / 199]
    weights = loss.label_weight.numpy()
    np.testing.assert_allclose(weights / weights.sum(), [0.2] * 5, rtol=1e-12)
    rng = np.random.default_rng(3)
    z = rng.normal(scale=2.0, size=(20, 5))
    y = (rng.random((20, 5)) < 0.5).astype(float)
    ml_assert_matches(loss, "bce", {}, z, y, rng.uniform(0.5, 2.0, 20), positives)


def test_bce_per_label_dict_without_label_names_uses_indices():
    loss = ml_fitted("bce", {"pos_weight": {0: 2.0, 1: 3.0}, "label_weights": {0: 1.0, 1: 3.0}},
                  positives=[10, 20])
    assert loss.positive_weight.tolist() == [2.0, 3.0]
    assert loss.label_weight.tolist() == [0.25, 0.75]


@pytest.mark.parametrize("kwargs", [
    {"pos_weight": "balanced"}, {"pos_weight": [1.0, 2.0]}, {"pos_weight": -1.0},
    {"pos_weight": {"a": 1.0, "b": 1.0}}, {"label_weights": "auto"},
    {"label_weights": [0.0, 0.0, 0.0]}, {"label_weights": [1.0, -1.0, 1.0]},
    {"label_weights": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}},
])
def test_bce_invalid_weights_rejected(kwargs):
    loss = BinaryCrossEntropy(**kwargs)
    with pytest.raises(ValueError, match="loss__"):
        loss.set_label_counts(torch.tensor([10, 5, 1]), 100, labels=["a", "b", "c"])


@N_LABELS
@WEIGHTED
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multilabel_bce_auto_equals_torch_bce_with_logits(n_labels, weighted, dtype):
    positives = POSITIVES[n_labels]
    loss = ml_fitted("bce", {"pos_weight": "auto"}, n_labels)
    z, y, s = ml_batch(n_labels, seed=4)
    pos_weight = torch.as_tensor((N_TRAIN - positives) / positives, dtype=dtype)
    logits = torch.tensor(z, dtype=dtype, requires_grad=True)
    target = torch.tensor(y, dtype=dtype)
    if weighted:
        sw = torch.tensor(s, dtype=dtype)
        rows = nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")(logits, target)
        expected = (rows.mean(dim=1) * sw).sum() / sw.sum()
    else:
        expected = nn.BCEWithLogitsLoss(pos_weight=pos_weight)(logits, target)
    (expected_grad,) = torch.autograd.grad(expected, logits)
    out, grad = ml_run(loss, z, y, s if weighted else None, dtype=dtype)
    assert out.dtype == dtype
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(out.item(), expected.item(), rtol=rtol)
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=rtol * 10,
                               atol=1e-7 if dtype == torch.float32 else 1e-15)


# ---------------------------------------------------------------------------
# asl
# ---------------------------------------------------------------------------


ASL_PARAMS = [(4.0, 1.0, 0.05), (2.0, 0.0, 0.0), (0.0, 0.0, 0.1), (1.0, 2.0, 0.2),
              (0.0, 0.5, 0.05), (4.0, 1.0, 0.0), (3.0, 1.5, 0.5)]


ASL = pytest.mark.parametrize("gamma_neg, gamma_pos, clip", ASL_PARAMS)


def test_asl_defaults_are_the_papers():
    loss = AsymmetricLoss()
    assert (loss.gamma_neg, loss.gamma_pos, loss.clip) == (4.0, 1.0, 0.05)


@ASL
@N_LABELS
@WEIGHTED
def test_asl_matches_reference(gamma_neg, gamma_pos, clip, n_labels, weighted):
    kwargs = {"gamma_neg": gamma_neg, "gamma_pos": gamma_pos, "clip": clip}
    loss = ml_fitted("asl", kwargs, n_labels)
    z, y, s = ml_batch(n_labels, seed=8)
    ml_assert_matches(loss, "asl", kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


def test_asl_clip_discards_easy_negatives():
    """A negative with p <= clip costs nothing and gets no gradient."""
    loss = ml_fitted("asl", {"clip": 0.2}, positives=[5])
    z = torch.tensor([[-2.0], [np.log(0.19 / 0.81)], [0.0]], dtype=torch.float64,
                     requires_grad=True)  # p = 0.12, 0.19, 0.5
    rows = loss.per_sample(z, torch.zeros(3, 1, dtype=torch.float64))
    rows.sum().backward()
    assert rows[:2].tolist() == [0.0, 0.0]
    assert z.grad[:2, 0].tolist() == [0.0, 0.0]
    # p = 0.5: p_m = 0.3, -(0.3^4 log 0.7)
    assert rows[2].item() == pytest.approx(-(0.3**4) * np.log(0.7), rel=1e-12)


@N_LABELS
@WEIGHTED
def test_asl_zero_is_ce(n_labels, weighted):
    z, y, s = ml_batch(n_labels, seed=9)
    s = s if weighted else None
    kwargs = {"gamma_neg": 0.0, "gamma_pos": 0.0, "clip": 0.0}
    asl, asl_grad = ml_run(ml_fitted("asl", kwargs, n_labels), z, y, s)
    ce, ce_grad = ml_run(ml_fitted("ce", {}, n_labels), z, y, s)
    np.testing.assert_allclose(asl.item(), ce.item(), rtol=1e-12)
    np.testing.assert_allclose(asl_grad.numpy(), ce_grad.numpy(), rtol=1e-10, atol=1e-15)


@ASL
def test_asl_matches_official_implementation(gamma_neg, gamma_pos, clip):
    """Same element-wise values; the official code sums, skimb averages."""
    n_labels = 12
    loss = ml_fitted("asl", {"gamma_neg": gamma_neg, "gamma_pos": gamma_pos, "clip": clip},
                  n_labels)
    z, y, _ = ml_batch(n_labels, seed=10)
    logits = torch.tensor(z, requires_grad=True)
    target = torch.tensor(y)
    official = official_asl_elems(logits, target, gamma_neg, gamma_pos, clip)
    with torch.no_grad():
        elems = loss.per_label(logits, target)
    assert elems.shape == (len(z), n_labels)
    np.testing.assert_allclose(elems.numpy(), official.detach().numpy(), rtol=1e-8, atol=1e-15)
    official.sum().backward()
    out, grad = ml_run(loss, z, y)
    n_elems = z.size
    np.testing.assert_allclose(out.item() * n_elems, official.sum().item(), rtol=1e-8)
    np.testing.assert_allclose(grad.numpy() * n_elems, logits.grad.numpy(), rtol=1e-6,
                               atol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {"clip": 1.0}, {"clip": -0.1}, {"clip": 1.5}, {"clip": float("nan")},
    {"gamma_neg": -1.0}, {"gamma_pos": -0.5}, {"gamma_neg": float("inf")}, {"gamma_pos": "2"},
])
def test_asl_invalid_params_rejected(kwargs):
    loss = AsymmetricLoss(**kwargs)
    with pytest.raises(ValueError, match="loss__"):
        loss.set_label_counts(torch.tensor([10, 3]), 50)


# ---------------------------------------------------------------------------
# the common properties on other settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, form", [
    ("bce", {"pos_weight": None}, "binary"),
    ("bce", {"pos_weight": None, "label_weights": "sqrt"}, "multilabel"),
    ("asl", {"gamma_neg": 0.5, "gamma_pos": 0.0, "clip": 0.0}, "binary"),
    ("asl", {"gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.0}, "multilabel"),
    ("asl", {"gamma_neg": 0.5, "gamma_pos": 0.5, "clip": 0.1}, "multilabel"),
])
def test_properties_hold_for_other_settings(name, kwargs, form):
    check_every_property(name, kwargs, form)
