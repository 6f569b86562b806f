"""The class rectification loss, ``loss="crl"`` (``skimb/losses/rectification.py``): its
vectorised hard-example mining against loops written from the definition, single-label and
multi-label (``tests/losses/reference.py``), and cases worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from skimb.losses import ClassRectificationLoss
from tests.losses.properties import check_every_property
from tests.losses.reference import (
    check_multilabel_extreme_logits_match_the_reference,
    check_multilabel_matches_reference,
    ml_assert_matches,
    ml_fitted,
    ml_run,
    ml_run_ref,
    ref_ce_rows,
    ref_crl,
    ref_ml_crl,
    run,
    run_ref,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])
#: The multi-label settings checked against the reference.
ML_CASES = [{}, {"alpha": 0.8, "margin": 0.2, "k": 2}]


# ---------------------------------------------------------------------------
# single-label: vectorised mining against explicit loops
# ---------------------------------------------------------------------------


def _crl_batches():
    rng = np.random.default_rng(11)
    out = []
    # random imbalanced batches
    for n, c, p in [(32, 3, [0.7, 0.2, 0.1]), (48, 7, [0.4, 0.2, 0.12, 0.1, 0.08, 0.06, 0.04]),
                    (20, 2, [0.8, 0.2]), (40, 4, [0.5, 0.3, 0.15, 0.05])]:
        for _ in range(3):
            out.append((rng.normal(scale=2.0, size=(n, c)), rng.choice(c, size=n, p=p), "random"))
    # nothing can be mined: every minority class has a single row
    out.append((rng.normal(size=(16, 7)), np.array([0] * 10 + [1, 2, 3, 4, 5, 6]), "no-triplet"))
    out.append((rng.normal(size=(9, 2)), np.array([0] * 8 + [1]), "no-triplet"))
    # one class only: no negatives, and it holds more than half the batch
    out.append((rng.normal(size=(6, 3)), np.zeros(6, dtype=int), "no-triplet"))
    # a minority class with exactly 2 rows (one positive per anchor)
    out.append((rng.normal(size=(16, 3)), np.array([0] * 10 + [1] * 2 + [2] * 4), "two-rows"))
    out.append((rng.normal(size=(12, 2)), np.array([0] * 10 + [1] * 2), "two-rows"))
    # a 1-row class uses up part of the half-batch budget without being kept:
    # cumulative rows 1, 3, 6 > 5, so class 2 is the only minority class
    out.append((rng.normal(size=(10, 4)), np.array([0] * 4 + [1] + [3] * 3 + [2] * 2), "budget"))
    # the minority classes hold exactly half the batch (2 + 4 of 12 rows): both count
    out.append((rng.normal(size=(12, 3)), np.array([0] * 6 + [1] * 2 + [2] * 4), "half"))
    return out


CRL_BATCHES = _crl_batches()


@pytest.mark.parametrize("alpha, margin, k, weighted", [
    (0.5, 0.5, 3, False), (0.5, 0.5, 3, True), (0.8, 0.2, 1, True), (1.0, 0.7, 10, False),
    (0.3, 0.0, 50, True)])
@pytest.mark.parametrize("case", range(len(CRL_BATCHES)))
def test_crl_matches_loop_reference(alpha, margin, k, weighted, case):
    z, y, kind = CRL_BATCHES[case]
    s = np.random.default_rng(case).uniform(0.1, 3.0, size=len(y)) if weighted else None
    loss = ClassRectificationLoss(alpha=alpha, margin=margin, k=k)
    loss.set_class_counts(torch.as_tensor(np.bincount(y, minlength=z.shape[1])))
    out, grad = run(loss, z, y, s)

    logits = torch.tensor(z, requires_grad=True)
    target = torch.as_tensor(y)
    sw = None if s is None else torch.as_tensor(s)
    ref, n_triplets = ref_crl(logits, target, alpha, margin, k, sw)
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad.numpy(), logits.grad.numpy(), rtol=1e-8, atol=1e-12)

    _, n_valid = loss.triplet_term(torch.tensor(z), target)
    assert int(n_valid) == n_triplets
    if kind == "no-triplet":
        assert n_triplets == 0
        ce = run_ref(ref_ce_rows, z, y, s)[0].item()
        assert out.item() == pytest.approx(ce, rel=1e-12)
    else:
        assert n_triplets > 0


def test_crl_docstring_example_by_hand():
    # 6 rows of class 0, 2 of class 1, all logits 0: every p_c = 1/2, so each
    # triplet is exactly the margin; anchors are the 2 rows of class 1
    loss = ClassRectificationLoss(alpha=0.25, margin=0.4, k=3)
    loss.set_class_counts(torch.tensor([6, 2]))
    target = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1])
    triplet, n_valid = loss.triplet_term(torch.zeros(8, 2, dtype=torch.float64), target)
    assert int(n_valid) == 2 * 1 * 3  # 2 anchors x 1 positive x k=3 negatives
    assert triplet.item() == pytest.approx(0.4)
    value = loss(torch.zeros(8, 2, dtype=torch.float64), target).item()
    assert value == pytest.approx(0.25 * 0.4 + 0.75 * math.log(2))


# ---------------------------------------------------------------------------
# multi-label
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", ML_CASES)
@N_LABELS
@WEIGHTED
def test_multilabel_matches_reference(kwargs, n_labels, weighted):
    check_multilabel_matches_reference("crl", kwargs, n_labels, weighted)


@pytest.mark.parametrize("kwargs", ML_CASES)
@WEIGHTED
def test_multilabel_extreme_logits_match_the_reference(kwargs, weighted):
    check_multilabel_extreme_logits_match_the_reference("crl", kwargs, weighted)


def crl_batch(rates, n, seed, zeros=0):
    """Random logits; label j present in about ``rates[j] * n`` rows."""
    rng = np.random.default_rng(seed)
    n_labels = len(rates)
    y = np.zeros((n, n_labels))
    for j, rate in enumerate(rates):
        y[rng.choice(n, max(int(round(rate * n)), 1), replace=False), j] = 1.0
    z = rng.normal(scale=2.0, size=(n, n_labels))
    s = rng.uniform(0.2, 3.0, size=n)
    if zeros:
        s[rng.choice(n, zeros, replace=False)] = 0.0
    return z, y, s


CRL_CASES = {
    "L5": (dict(rates=[0.7, 0.35, 0.15, 0.1, 0.06], n=40, seed=0), {}),
    "L5-sw": (dict(rates=[0.7, 0.35, 0.15, 0.1, 0.06], n=40, seed=1), {"weighted": True}),
    "L5-sw-zeros": (dict(rates=[0.6, 0.4, 0.2, 0.12, 0.08], n=40, seed=2, zeros=10),
                    {"weighted": True}),
    "L12-sw": (dict(rates=[0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04],
                    n=64, seed=3, zeros=5), {"weighted": True}),
    "L2": (dict(rates=[0.8, 0.2], n=30, seed=4), {}),
    "L4-k-large": (dict(rates=[0.5, 0.25, 0.12, 0.1], n=24, seed=5, zeros=4),
                   {"weighted": True}),
}


CRL_PARAMS = [{}, {"alpha": 0.3, "margin": 0.2, "k": 2}, {"alpha": 1.0, "margin": 0.0, "k": 1},
              {"alpha": 0.5, "margin": 1.0, "k": 50}]


@pytest.mark.parametrize("case", list(CRL_CASES))
@pytest.mark.parametrize("params", CRL_PARAMS, ids=["default", "a.3-m.2-k2", "a1-m0-k1", "k50"])
def test_multilabel_crl_matches_loop_reference(case, params):
    batch_kw, opts = CRL_CASES[case]
    z, y, s = crl_batch(**batch_kw)
    s = s if opts.get("weighted") else None
    if case == "L4-k-large":  # every parameter set, with k far above any label's rows
        params = {**params, "k": 50}
    loss = ml_fitted("crl", params, positives=np.maximum(y.sum(axis=0) * 5, 1).astype(int),
                  n_samples=len(y) * 5)
    sw = None if s is None else torch.tensor(s)
    ref, n_ref = ref_ml_crl(torch.tensor(z), torch.tensor(y), sw, **params)
    assert n_ref > 0  # the case does mine triplets
    _, n_valid = loss.triplet_term(torch.tensor(z), torch.tensor(y), sw)
    assert int(n_valid) == n_ref
    ml_assert_matches(loss, "crl", params, z, y, s)


@pytest.mark.parametrize("case", ["all-majority", "single-positives", "weighted-out"])
@WEIGHTED
def test_crl_without_minority_label_is_base(case, weighted):
    rng = np.random.default_rng(11)
    n, n_labels = 20, 4
    z = rng.normal(scale=2.0, size=(n, n_labels))
    s = rng.uniform(0.5, 2.0, size=n)
    if case == "all-majority":  # every label present in more than half the rows
        y = (rng.random((n, n_labels)) < 0.5).astype(float)
        y[:11] = 1.0
    elif case == "single-positives":  # the rare labels have a single positive each
        y = np.zeros((n, n_labels))
        y[:15, 0] = 1.0
        y[3, 1] = y[7, 2] = y[12, 3] = 1.0
    else:  # a rare label whose second positive has sample weight 0
        y = np.zeros((n, n_labels))
        y[:, 0] = 1.0
        y[:12, 1] = 1.0
        y[[2, 9], 2] = 1.0
        y[:, 3] = 1.0
        s[9] = 0.0
        weighted = True
    s = s if weighted else None
    params = {"alpha": 0.7, "margin": 0.5, "k": 3}
    loss = ml_fitted("crl", params, positives=[10, 5, 2, 1], n_samples=40)
    sw = None if s is None else torch.tensor(s)
    assert ref_ml_crl(torch.tensor(z), torch.tensor(y), sw, **params)[1] == 0
    assert int(loss.triplet_term(torch.tensor(z), torch.tensor(y), sw)[1]) == 0
    out, grad = ml_run(loss, z, y, s)
    base, base_grad = ml_run(ml_fitted("ce", {}, positives=[10, 5, 2, 1], n_samples=40), z, y, s)
    np.testing.assert_allclose(out.item(), base.item(), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), base_grad.numpy(), rtol=1e-10, atol=1e-15)
    ml_assert_matches(loss, "crl", params, z, y, s)


def _rows_with(n, counts, seed):
    rng = np.random.default_rng(seed)
    y = np.zeros((n, len(counts)))
    for j, c in enumerate(counts):
        y[rng.choice(n, c, replace=False), j] = 1.0
    return y, rng.normal(scale=2.0, size=(n, len(counts)))


@pytest.mark.parametrize("counts, minority", [
    ([2, 3, 5, 12], [0, 1, 2]),   # cumulative 2, 5, 10 = n/2: the third label is in
    ([4, 4, 4, 10], [0, 1]),      # ties: the lower label index first
    ([10, 4, 4, 4], [1, 2]),
    ([1, 3, 3, 18], [1, 2]),      # 1 + 3 + 3 <= 10, the single-positive label dropped
    ([6, 6, 12, 15], [0]),
])
def test_crl_minority_labels(counts, minority):
    n = 20
    y, z = _rows_with(n, counts, seed=sum(counts))
    params = {"alpha": 0.5, "margin": 0.5, "k": 3}
    loss = ml_fitted("crl", params, positives=counts, n_samples=n)
    # the triplets mined with exactly these minority labels
    expected = 0
    for j in minority:
        pos = np.flatnonzero(y[:, j] > 0)
        expected += len(pos) * min(3, len(pos) - 1) * min(3, n - len(pos))
    assert ref_ml_crl(torch.tensor(z), torch.tensor(y), None, **params)[1] == expected
    assert int(loss.triplet_term(torch.tensor(z), torch.tensor(y))[1]) == expected
    ml_assert_matches(loss, "crl", params, z, y)


def test_crl_hard_examples_by_hand():
    """One minority label, two anchors, k = 1: the triplets can be written out."""
    # label 0: rows 0, 1 positive (p = 0.2, 0.6); rows 2..5 negative with p up to 0.7
    p0 = np.array([0.2, 0.6, 0.1, 0.7, 0.3, 0.5])
    z = np.stack([np.log(p0 / (1 - p0)), np.zeros(6)], axis=1)
    y = np.array([[1, 1], [1, 1], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=float)
    loss = ml_fitted("crl", {"alpha": 0.5, "margin": 0.5, "k": 1}, positives=[2, 6], n_samples=6)
    # anchor 0: positive 1 (|0.2-0.6| = 0.4), negative 3 (|0.2-0.7| = 0.5): 0.4 - 0.5 + 0.5
    # anchor 1: positive 0 (0.4), negative 3 (0.1): 0.4 - 0.1 + 0.5
    triplet = (0.4 + 0.8) / 2
    base = ml_run_ref("ce", {}, z, y, positives=[2, 6])[0].item()
    out, _ = ml_run(loss, z, y)
    assert out.item() == pytest.approx(0.5 * triplet + 0.5 * base, rel=1e-10)
    # anchor weights: row 1 three times row 0
    out, _ = ml_run(loss, z, y, np.array([1.0, 3.0, 1.0, 1.0, 1.0, 1.0]))
    base_w = ml_run_ref("ce", {}, z, y, np.array([1.0, 3.0, 1.0, 1.0, 1.0, 1.0]), [2, 6])[0]
    assert out.item() == pytest.approx(0.5 * (0.4 + 3 * 0.8) / 4 + 0.5 * base_w.item(),
                                       rel=1e-10)


# ---------------------------------------------------------------------------
# the common properties on other settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, form, bounded", [
    ({"alpha": 1.0, "k": 20}, "binary", True),  # a pure triplet loss is bounded
    ({"alpha": 1.0, "k": 20}, "multiclass", True),
    ({"alpha": 0.8, "margin": 0.2, "k": 2}, "multilabel", False),
])
def test_properties_hold_for_other_settings(kwargs, form, bounded):
    check_every_property("crl", kwargs, form, bounded=bounded)
