"""The loss library (skimb.losses beyond ce / weighted_ce) against direct float64
formulas, its identities, numerical robustness, deferred re-weighting, the
output-to-probability map, and the losses inside ImbalancedTorchClassifier and
GridSearchCV.

The references below are written from the formulas of DESIGN.md and the loss
docstrings with plain float64 torch arithmetic (no F.cross_entropy, no skimb
code), so that autograd also gives reference gradients.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from skorch.callbacks import Callback
from torch import nn

from skimb import ImbalancedTorchClassifier, list_losses
from skimb.losses import (
    BalancedSoftmaxLoss,
    BinaryCrossEntropy,
    ClassBalancedLoss,
    ClassRectificationLoss,
    CrossEntropy,
    FocalLoss,
    ImbalanceLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
    WeightedCrossEntropy,
    make_loss,
)
from skimb.modules import CosineLinear

from tests.helpers import COUNTS  # noqa: E402
LABELS = {c: np.array([f"class_{i}" for i in range(c)]) for c in COUNTS}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------------------
# float64 references
# ---------------------------------------------------------------------------


def ref_log_softmax(z):
    m = z.max(dim=1, keepdim=True).values.detach()
    return z - m - torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))


def ref_ce_rows(z, y):
    return -ref_log_softmax(z)[torch.arange(len(y)), y]


def ref_reduce(rows, s=None):
    """sum_i s_i l_i / sum_i s_i (the plain mean without weights)."""
    if s is None:
        return rows.sum() / len(rows)
    return (s * rows).sum() / s.sum()


def ref_balanced(counts):
    """N / (C n_c), C the number of classes with rows."""
    counts = np.asarray(counts, dtype=np.float64)
    w = np.zeros_like(counts)
    present = counts > 0
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w


def ref_effective(counts, beta):
    """(1 - beta) / (1 - beta^n_c), scaled so that sum_c n_c w_c = N."""
    counts = np.asarray(counts, dtype=np.float64)
    raw = np.array([(1 - beta) / (1 - beta**n) if n > 0 else 0.0 for n in counts])
    return raw * counts.sum() / (raw * counts).sum()


def ref_alpha(alpha, counts, classes=None):
    c = len(counts)
    if alpha is None:
        return np.ones(c)
    if isinstance(alpha, float):
        assert c == 2
        return np.array([1 - alpha, alpha])
    if alpha == "balanced":
        return ref_balanced(counts)
    if isinstance(alpha, dict):
        return np.array([alpha[label] for label in classes], dtype=np.float64)
    raise AssertionError(alpha)


def ref_focal_rows(z, y, gamma, class_w):
    log_p = ref_log_softmax(z)[torch.arange(len(y)), y]
    p = torch.exp(log_p)
    w = torch.as_tensor(class_w, dtype=torch.float64)[y]
    return -w * (1 - p) ** gamma * log_p


def ref_ldam_rows(z, y, counts, max_m, s, class_w=None):
    counts = np.asarray(counts, dtype=np.float64)
    delta = max_m * counts**-0.25 / np.max(counts**-0.25)
    onehot = torch.zeros_like(z)
    onehot[torch.arange(len(y)), y] = 1.0
    shifted = s * (z - torch.as_tensor(delta)[y][:, None] * onehot)
    rows = ref_ce_rows(shifted, y)
    if class_w is not None:
        rows = torch.as_tensor(class_w, dtype=torch.float64)[y] * rows
    return rows


def ref_logit_adjusted_rows(z, y, counts, tau):
    counts = np.asarray(counts, dtype=np.float64)
    log_pi = torch.as_tensor(np.log(counts / counts.sum()))
    return ref_ce_rows(z + tau * log_pi, y)


def ref_balanced_softmax_rows(z, y, counts):
    return ref_ce_rows(z + torch.as_tensor(np.log(np.asarray(counts, dtype=np.float64))), y)


def ref_vs_rows(z, y, counts, gamma, tau):
    counts = np.asarray(counts, dtype=np.float64)
    scale = torch.as_tensor((counts / counts.max()) ** gamma)
    log_pi = torch.as_tensor(np.log(counts / counts.sum()))
    return ref_ce_rows(z * scale + tau * log_pi, y)


def ref_log_sigmoid(z):
    return -torch.logaddexp(torch.zeros_like(z), -z)


def ref_bce_rows(z, y, pos_weight):
    z = z[:, 0]
    y = y.to(torch.float64)
    return -(pos_weight * y * ref_log_sigmoid(z) + (1 - y) * ref_log_sigmoid(-z))


def ref_bce_pos_weight(pos_weight, counts):
    if pos_weight == "auto":
        return counts[0] / counts[1]
    return 1.0 if pos_weight is None else float(pos_weight)


def ref_crl(z, y, alpha, margin, k, s=None):
    """Class rectification loss with an explicit Python loop over anchors.

    Rows of zero sample weight are absent. Minority classes: walk the classes
    from the rarest (ties: lower class index first), accumulating their batch
    rows while the total stays <= n / 2; of those, keep the classes with >= 2
    rows. Each triplet counts with its anchor's sample weight. Returns the loss
    and the number of triplets.
    """
    n, n_classes = z.shape
    yl = y.tolist()
    w = [1.0] * n if s is None else [float(v) for v in s]
    rows = [i for i in range(n) if w[i] > 0]
    p = torch.exp(ref_log_softmax(z))
    p_np = p.detach().numpy()
    counts = [sum(1 for i in rows if yl[i] == c) for c in range(n_classes)]
    minority, total = set(), 0
    for c in sorted(range(n_classes), key=lambda c: (counts[c], c)):
        total += counts[c]
        if total > len(rows) / 2:
            break
        if counts[c] >= 2:
            minority.add(c)
    triplets, weights = [], []
    for a in rows:
        c = yl[a]
        if c not in minority:
            continue
        positives = [j for j in rows if j != a and yl[j] == c]
        negatives = [j for j in rows if yl[j] != c]
        if not positives or not negatives:
            continue
        positives = sorted(positives, key=lambda j: p_np[j, c])[:k]   # lowest p_c
        negatives = sorted(negatives, key=lambda j: -p_np[j, c])[:k]  # highest p_c
        d_pos = (p[a, c] - p[positives, c]).abs()
        d_neg = (p[a, c] - p[negatives, c]).abs()
        for i in range(len(positives)):
            triplets.append(torch.clamp(d_pos[i] - d_neg + margin, min=0.0))
            weights.append(torch.full((len(negatives),), w[a], dtype=z.dtype))
    ce = ref_reduce(ref_ce_rows(z, y), s)
    if not triplets:
        return ce, 0
    t, tw = torch.cat(triplets), torch.cat(weights)
    return alpha * (tw * t).sum() / tw.sum() + (1 - alpha) * ce, len(t)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def batch(n_classes, n=64, seed=0, scale=3.0):
    """Random logits, imbalanced targets (every class present), sample weights."""
    rng = np.random.default_rng(1000 * n_classes + seed)
    counts = COUNTS[n_classes]
    z = rng.normal(scale=scale, size=(n, n_classes))
    y = rng.choice(n_classes, size=n, p=counts / counts.sum())
    y[:n_classes] = np.arange(n_classes)
    s = rng.uniform(0.1, 3.0, size=n)
    return z, y, s


def run(loss, z, y, s=None, dtype=torch.float64):
    logits = torch.tensor(np.asarray(z), dtype=dtype, requires_grad=True)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=dtype)
    out = loss(logits, target) if sw is None else loss(logits, target, sw)
    out.backward()
    return out, logits.grad


def run_ref(ref_rows, z, y, s=None):
    logits = torch.tensor(np.asarray(z), dtype=torch.float64, requires_grad=True)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=torch.float64)
    out = ref_reduce(ref_rows(logits, target), sw)
    out.backward()
    return out, logits.grad


def assert_matches(loss, ref_rows, z, y, s=None, rtol=1e-10):
    out, grad = run(loss, z, y, s)
    ref, ref_grad = run_ref(ref_rows, z, y, s)
    assert out.ndim == 0 and out.dtype == torch.float64
    np.testing.assert_allclose(out.item(), ref.item(), rtol=rtol)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-8, atol=1e-12)
    return out.item()


def fitted_loss(loss, n_classes, classes=None):
    loss.set_class_counts(torch.as_tensor(COUNTS[n_classes]), classes)
    return loss


# ---------------------------------------------------------------------------
# every loss against its formula
# ---------------------------------------------------------------------------

WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_CLASSES = pytest.mark.parametrize("n_classes", [2, 3, 7])


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


# ---------------------------------------------------------------------------
# class rectification loss: vectorised mining vs explicit loops
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
# identities between losses
# ---------------------------------------------------------------------------


def _same(a, b, z, y, s=None, rtol=1e-10):
    va, ga = run(a, z, y, s)
    vb, gb = run(b, z, y, s)
    np.testing.assert_allclose(va.item(), vb.item(), rtol=rtol)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-7, atol=1e-12)
    return va.item()


@N_CLASSES
@WEIGHTED
def test_focal_gamma_zero_is_ce(n_classes, weighted):
    z, y, s = batch(n_classes, seed=20)
    s = s if weighted else None
    ce = fitted_loss(CrossEntropy(), n_classes)
    value = _same(fitted_loss(FocalLoss(gamma=0.0), n_classes), ce, z, y, s, rtol=1e-12)
    assert value == pytest.approx(run_ref(ref_ce_rows, z, y, s)[0].item(), rel=1e-12)
    assert run(fitted_loss(FocalLoss(gamma=0.5), n_classes), z, y, s)[0].item() < value - 1e-3


@N_CLASSES
@WEIGHTED
def test_logit_adjusted_tau_zero_is_ce(n_classes, weighted):
    z, y, s = batch(n_classes, seed=21)
    s = s if weighted else None
    ce = fitted_loss(CrossEntropy(), n_classes)
    _same(fitted_loss(LogitAdjustedLoss(tau=0.0), n_classes), ce, z, y, s, rtol=1e-12)
    other = run(fitted_loss(LogitAdjustedLoss(tau=0.5), n_classes), z, y, s)[0].item()
    assert abs(other - run(ce, z, y, s)[0].item()) > 1e-3


@N_CLASSES
@WEIGHTED
def test_balanced_softmax_is_logit_adjusted_tau_one(n_classes, weighted):
    z, y, s = batch(n_classes, seed=22)
    s = s if weighted else None
    value = _same(fitted_loss(BalancedSoftmaxLoss(), n_classes),
                  fitted_loss(LogitAdjustedLoss(tau=1.0), n_classes), z, y, s)
    ce = run(fitted_loss(CrossEntropy(), n_classes), z, y, s)[0].item()
    assert abs(value - ce) > 1e-3


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


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_vs_gamma_zero_is_logit_adjusted(n_classes, weighted, tau):
    z, y, s = batch(n_classes, seed=24)
    s = s if weighted else None
    value = _same(fitted_loss(VSLoss(gamma=0.0, tau=tau), n_classes),
                  fitted_loss(LogitAdjustedLoss(tau=tau), n_classes), z, y, s)
    other = run(fitted_loss(VSLoss(gamma=0.5, tau=tau), n_classes), z, y, s)[0].item()
    assert abs(other - value) > 1e-3


# ---------------------------------------------------------------------------
# every loss: robustness, sample weights, buffers, empty classes
# ---------------------------------------------------------------------------

# (name, kwargs, binary-only)
CONFIGS = [
    ("ce", {}, False),
    ("weighted_ce", {}, False),
    ("focal", {"gamma": 2.0}, False),
    ("focal", {"gamma": 0.5, "alpha": "balanced"}, False),
    ("focal", {"gamma": 2.0, "alpha": 0.25}, True),
    ("class_balanced", {"beta": 0.999}, False),
    ("class_balanced", {"beta": 0.99, "base": "focal", "gamma": 0.5}, False),
    ("ldam", {}, False),
    ("ldam", {"drw_epoch": 0}, False),
    ("logit_adjusted", {}, False),
    ("logit_adjusted", {"tau": 0.0}, False),
    ("balanced_softmax", {}, False),
    ("vs", {}, False),
    ("vs", {"gamma": 0.5, "tau": 0.0}, False),
    ("bce", {"pos_weight": "auto"}, True),
    ("bce", {"pos_weight": None}, True),
    ("asl", {}, True),
    ("asl", {"gamma_neg": 0.5, "gamma_pos": 0.0, "clip": 0.0}, True),
    ("crl", {}, False),
    ("crl", {"alpha": 1.0, "k": 20}, False),
    ("cost_sensitive", {}, False),
]
CONFIG_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}"
              for name, kw, _ in CONFIGS]
EVERY_LOSS = pytest.mark.parametrize("name, kwargs, binary_only", CONFIGS, ids=CONFIG_IDS)


def test_configs_cover_every_registered_loss():
    assert {name for name, _, _ in CONFIGS} == set(list_losses())


SIGMOID_LOSSES = ("bce", "asl")


def _width(name, n_classes):
    return 1 if name in SIGMOID_LOSSES else n_classes


def _classes_for(name, binary_only):
    return [2] if binary_only else [2, 3, 7]


@EVERY_LOSS
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_extreme_float32_logits_finite(name, kwargs, binary_only, weighted):
    rng = np.random.default_rng(31)
    for n_classes in _classes_for(name, binary_only):
        loss = fitted_loss(make_loss(name, kwargs), n_classes)
        width = _width(name, n_classes)
        n = 40
        z = rng.choice([-1.0, 1.0], size=(n, width)) * 1e3 * rng.uniform(0.5, 1.0, (n, width))
        if width == 1:
            y = (z[:, 0] > 0).astype(int)
            y[: n // 2] = 1 - y[: n // 2]  # half disagree with the sign
        else:
            y = z.argmax(axis=1)  # agree with the argmax
            y[: n // 2] = z[: n // 2].argmin(axis=1)  # disagree
        s = rng.uniform(0.5, 2.0, size=n) if weighted else None
        out, grad = run(loss, z.astype(np.float32), y, s, dtype=torch.float32)
        assert out.dtype == torch.float32
        assert torch.isfinite(out), (n_classes, out)
        assert torch.isfinite(grad).all(), (n_classes, grad)
        if not (name == "crl" and kwargs.get("alpha") == 1.0):  # a pure triplet loss is bounded
            assert out.item() > 1.0  # the disagreeing rows cost a lot
        assert grad.abs().sum() > 0
        # agreeing rows alone: (nearly) zero loss, still finite
        out, grad = run(loss, z[n // 2:].astype(np.float32), y[n // 2:], None, dtype=torch.float32)
        assert torch.isfinite(out) and torch.isfinite(grad).all()


def _zero_weight_case(name, binary_only, n_classes):
    rng = np.random.default_rng(41 + n_classes)
    width = _width(name, n_classes)
    z = rng.normal(scale=2.0, size=(30, width))
    if width == 1:
        y = rng.integers(0, 2, size=30)
    else:
        y = rng.choice(n_classes, size=30, p=COUNTS[n_classes] / COUNTS[n_classes].sum())
        y[:n_classes] = np.arange(n_classes)
    s = rng.uniform(0.2, 2.0, size=30)
    drop = np.zeros(30, dtype=bool)
    drop[[0, 3, 7, 12, 20, 29]] = True  # includes a row of every rare class
    s[drop] = 0.0
    return z, y, s, drop


def _check_zero_weight_removes_row(name, kwargs, binary_only):
    for n_classes in _classes_for(name, binary_only):
        loss = fitted_loss(make_loss(name, kwargs), n_classes)
        z, y, s, drop = _zero_weight_case(name, binary_only, n_classes)
        out, grad = run(loss, z, y, s)
        kept, _ = run(loss, z[~drop], y[~drop], s[~drop])
        np.testing.assert_allclose(out.item(), kept.item(), rtol=1e-10, err_msg=str(n_classes))
        assert torch.all(grad[torch.as_tensor(drop)] == 0), n_classes
        # and the weights do matter: uniform weights give another value
        uniform = run(loss, z, y, np.ones(len(y)))[0].item()
        assert abs(uniform - out.item()) > 1e-6


CRL_WITH_TRIPLETS = [i for i, (name, kw, _) in enumerate(CONFIGS)
                     if name == "crl" and kw.get("alpha", 0.5) > 0]


@pytest.mark.parametrize(
    "name, kwargs, binary_only",
    [c for i, c in enumerate(CONFIGS) if i not in CRL_WITH_TRIPLETS]
    + [("crl", {"alpha": 0.0}, False)],
    ids=[c for i, c in enumerate(CONFIG_IDS) if i not in CRL_WITH_TRIPLETS] + ["crl-alpha=0"],
)
def test_zero_sample_weight_removes_row(name, kwargs, binary_only):
    _check_zero_weight_removes_row(name, kwargs, binary_only)


@pytest.mark.parametrize("name, kwargs, binary_only",
                         [CONFIGS[i] for i in CRL_WITH_TRIPLETS],
                         ids=[CONFIG_IDS[i] for i in CRL_WITH_TRIPLETS])
def test_crl_zero_sample_weight_removes_row(name, kwargs, binary_only):
    _check_zero_weight_removes_row(name, kwargs, binary_only)


def _floating_buffers(loss):
    return {k: v for k, v in loss.named_buffers() if v.is_floating_point()}


@EVERY_LOSS
def test_buffers_follow_to_and_double(name, kwargs, binary_only):
    n_classes = 2 if binary_only else 3
    loss = fitted_loss(make_loss(name, kwargs), n_classes)
    z, y, s = batch(n_classes, n=24, seed=50, scale=1.0)
    z = z[:, :_width(name, n_classes)]
    expected = run(loss, z, y, s)[0].item()
    names = {k for k, _ in loss.named_buffers()}
    assert "class_counts" in names
    assert names <= set(loss.state_dict())

    single = loss.float()
    assert all(v.dtype == torch.float32 for v in _floating_buffers(single).values())
    assert single.class_counts.dtype == torch.float32  # a floating buffer of class masses
    out32 = run(single, z.astype(np.float32), y, s, dtype=torch.float32)[0]
    assert out32.dtype == torch.float32
    assert out32.item() == pytest.approx(expected, rel=1e-5)

    double = single.double()
    assert all(v.dtype == torch.float64 for v in _floating_buffers(double).values())
    assert run(double, z, y, s)[0].item() == pytest.approx(expected, rel=1e-6)

    moved = double.to("meta")
    assert moved is loss
    assert all(v.device.type == "meta" for _, v in moved.named_buffers())
    assert len(_floating_buffers(moved)) == len(_floating_buffers(loss))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@EVERY_LOSS
def test_buffers_follow_to_cuda(name, kwargs, binary_only):
    n_classes = 2 if binary_only else 3
    loss = fitted_loss(make_loss(name, kwargs), n_classes)
    z, y, s = batch(n_classes, n=24, seed=51, scale=1.0)
    z = z[:, :_width(name, n_classes)]
    expected = run(loss, z, y, s)[0].item()
    loss = loss.to("cuda")
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())
    logits = torch.tensor(z, device="cuda")
    out = loss(logits, torch.tensor(y, device="cuda"), torch.tensor(s, device="cuda"))
    assert out.item() == pytest.approx(expected, rel=1e-9)
    loss.set_class_counts(torch.as_tensor(COUNTS[n_classes]))  # refit keeps the device
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())


@EVERY_LOSS
def test_class_with_zero_count_stays_finite(name, kwargs, binary_only):
    if binary_only:
        cases = [(np.array([0, 12]), 0), (np.array([12, 0]), 1)]
    else:
        cases = [(np.array([40, 0, 10]), 1), (np.array([100, 30, 0, 8, 0, 5, 2]), 2)]
    rng = np.random.default_rng(60)
    for counts, empty in cases:
        loss = make_loss(name, kwargs)
        loss.set_class_counts(torch.as_tensor(counts))
        if name == "bce":  # no positive (or no negative) rows: the weight is moot, 1
            assert loss.positive_weight.tolist() == [1.0]
        for key, value in loss.named_buffers():
            assert torch.isfinite(value.double()).all(), (key, value)
        width = _width(name, len(counts))
        z = rng.normal(scale=2.0, size=(30, width))
        present = np.flatnonzero(counts > 0)
        y = rng.choice(present, size=30)
        y[: len(present)] = present
        for s in (None, rng.uniform(0.5, 2.0, size=30)):
            out, grad = run(loss, z, y, s)
            assert torch.isfinite(out) and torch.isfinite(grad).all(), (counts, out)
            pure_triplet = name == "crl" and kwargs.get("alpha") == 1.0
            if width > 1 and not pure_triplet:  # the empty class's logit is pushed down
                assert grad[:, empty].sum() > 0


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
# deferred re-weighting
# ---------------------------------------------------------------------------


@N_CLASSES
@WEIGHTED
@pytest.mark.parametrize("loss_name", ["weighted_ce", "class_balanced-ce", "class_balanced-focal",
                                       "ldam", "ldam-balanced"])
def test_drw_unweighted_before_weighted_from(n_classes, weighted, loss_name):
    counts = COUNTS[n_classes]
    drw = 2
    if loss_name == "weighted_ce":
        loss = WeightedCrossEntropy(weights="sqrt", drw_epoch=drw)
        w = counts**-0.5 * counts.sum() / (counts**-0.5 * counts).sum()
        plain = ref_ce_rows
    elif loss_name.startswith("class_balanced"):
        base = loss_name.split("-")[1]
        loss = ClassBalancedLoss(beta=0.99, base=base, gamma=2.0, drw_epoch=drw)
        w = ref_effective(counts, 0.99)
        g = 2.0 if base == "focal" else 0.0
        plain = lambda z, y: ref_focal_rows(z, y, g, np.ones(n_classes))  # noqa: E731
    else:
        weights = "balanced" if loss_name == "ldam-balanced" else None
        loss = LDAMLoss(max_m=0.5, s=10.0, weights=weights, drw_epoch=drw)
        # LDAM-DRW: effective-number weights (beta=0.9999) unless weights= is given
        w = ref_balanced(counts) if weights else ref_effective(counts, 0.9999)
        plain = lambda z, y: ref_ldam_rows(z, y, counts, 0.5, 10.0)  # noqa: E731
    fitted_loss(loss, n_classes)
    z, y, s = batch(n_classes, seed=70, scale=1.0)
    s = s if weighted else None

    def with_weights(z, y):
        return torch.as_tensor(w)[y] * plain(z, y)

    assert loss.epoch == 0
    unweighted = assert_matches(loss, plain, z, y, s)
    for epoch in range(drw):
        loss.set_epoch(epoch)
        assert_matches(loss, plain, z, y, s)
    for epoch in (drw, drw + 1, 10):
        loss.set_epoch(epoch)
        weighted_value = assert_matches(loss, with_weights, z, y, s)
    assert abs(weighted_value - unweighted) > 1e-3
    loss.set_epoch(0)  # a refit starts unweighted again
    assert_matches(loss, plain, z, y, s)


def test_drw_none_weights_from_the_start():
    counts = COUNTS[3]
    z, y, s = batch(3, seed=71)
    loss = fitted_loss(WeightedCrossEntropy(weights="balanced"), 3)
    w = ref_balanced(counts)
    assert_matches(loss, lambda z, y: torch.as_tensor(w)[y] * ref_ce_rows(z, y), z, y, s)
    # LDAM without drw_epoch and weights has no weights at any epoch
    ldam = fitted_loss(LDAMLoss(s=10.0), 3)
    ldam.set_epoch(5)
    assert_matches(ldam, lambda z, y: ref_ldam_rows(z, y, counts, 0.5, 10.0), z, y, s)


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_drw_epoch_validated(bad):
    with pytest.raises(ValueError, match="drw_epoch"):
        WeightedCrossEntropy(drw_epoch=bad).set_class_counts(torch.tensor([5, 3]))


class _EpochSpy(Callback):
    """Records, for every training batch, the loss's epoch and whether weights are on."""

    def initialize(self):
        self.seen = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            target = torch.zeros(1, dtype=torch.long)
            crit = net.criterion_
            weights = crit.row_weights(target, torch.float64)
            self.seen.append((crit.epoch, not torch.all(weights == 1)))


# ---------------------------------------------------------------------------
# the losses inside the classifier
# ---------------------------------------------------------------------------

N_FEATURES = 6
FAST = dict(max_epochs=2, module__hidden_units=(16,), device="cpu", random_state=0)


def _data(n_classes, n=300, seed=0):
    weights = {2: [0.85], 3: [0.75, 0.17, 0.08]}[n_classes]
    return make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=4, n_redundant=0,
        n_classes=n_classes, weights=weights, class_sep=1.5, random_state=seed)


def test_drw_end_to_end():
    X, y = _data(3)
    spy = _EpochSpy()
    clf = ImbalancedTorchClassifier(loss="weighted_ce", loss__drw_epoch=2, max_epochs=3,
                                    module__hidden_units=(16,), device="cpu", random_state=0,
                                    batch_size=64, callbacks=[("spy", spy)])
    clf.fit(X, y)
    assert clf.criterion_.drw_epoch == 2
    assert clf.criterion_.epoch == 2
    epochs = sorted({e for e, _ in spy.seen})
    assert epochs == [0, 1, 2]
    assert all(on == (e >= 2) for e, on in spy.seen)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    # a refit starts again at epoch 0
    spy.seen.clear()
    clf.fit(X, y)
    assert spy.seen[0] == (0, False)


_FITTED = {}


def fitted(loss, n_classes):
    """One fit per (loss, n_classes), shared by the tests below."""
    key = (loss, n_classes)
    if key not in _FITTED:
        X, y = _data(n_classes)
        _FITTED[key] = (ImbalancedTorchClassifier(loss=loss, **FAST).fit(X, y), X, y)
    return _FITTED[key]


def _raw_output(clf, X):
    clf.module_.eval()
    with torch.no_grad():
        return clf.module_(torch.as_tensor(X, dtype=torch.float32)).double()


@pytest.mark.parametrize("loss", sorted(set(list_losses()) - set(SIGMOID_LOSSES)))
def test_every_multiclass_loss_fits_and_predicts(loss):
    clf, X, y = fitted(loss, 3)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = clf.predict(X)
    assert set(np.unique(pred)) <= {0, 1, 2}
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert len(clf.history) == 2
    assert isinstance(clf.criterion_, ImbalanceLoss)
    assert clf.criterion_.class_counts.tolist() == clf.class_counts_.tolist()
    last = clf.module_.body.layers[-1]
    assert (last.weight.shape[0]) == 3


@pytest.mark.parametrize("loss", SIGMOID_LOSSES)
def test_sigmoid_losses_reject_multiclass_targets(loss):
    X, y = _data(3)
    clf = ImbalancedTorchClassifier(loss=loss, **FAST)
    with pytest.raises(ValueError, match=f"loss='{loss}' takes binary or multi-label"):
        clf.fit(X, y)


@pytest.mark.parametrize("loss", list_losses())
def test_every_loss_fits_binary(loss):
    clf, X, y = fitted(loss, 2)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    last = clf.module_.body.layers[-1]
    assert last.weight.shape[0] == (1 if loss in SIGMOID_LOSSES else 2)
    if loss in SIGMOID_LOSSES:
        assert isinstance(last, nn.Linear) and last.out_features == 1


def test_focal_float_alpha_on_binary_targets():
    X, y = _data(2, n=120)
    clf = ImbalancedTorchClassifier(loss="focal", loss__alpha=0.25, **FAST).fit(X, y)
    np.testing.assert_allclose(clf.criterion_.alpha_weights.numpy(), [0.75, 0.25])
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, atol=1e-5)


def test_bce_binary_string_labels():
    X, y = _data(2)
    labels = np.array(["dry", "ice"])[y]
    clf = ImbalancedTorchClassifier(loss="bce", **FAST).fit(X, labels)
    assert set(clf.predict(X)) <= {"dry", "ice"}
    assert clf.criterion_.positive_weight.item() == pytest.approx(
        clf.class_counts_[0] / clf.class_counts_[1])


@pytest.mark.parametrize("loss", ["logit_adjusted", "balanced_softmax", "vs"])
def test_predict_proba_is_softmax_of_raw_output(loss):
    clf, X, _ = fitted(loss, 3)
    proba = clf.predict_proba(X)
    raw = _raw_output(clf, X)
    np.testing.assert_allclose(proba, torch.softmax(raw, dim=1).numpy(), atol=1e-5)
    counts = clf.class_counts_.astype(np.float64)
    crit = clf.criterion_
    if loss == "vs":
        adjusted = raw * torch.as_tensor((counts / counts.max()) ** crit.gamma) \
            + crit.tau * torch.as_tensor(np.log(counts / counts.sum()))
    else:
        adjusted = raw + torch.as_tensor(np.log(counts / counts.sum()))
    assert np.abs(proba - torch.softmax(adjusted, dim=1).numpy()).max() > 0.05


def test_predict_proba_ldam_is_scaled_softmax_without_margins():
    clf, X, _ = fitted("ldam", 3)
    proba = clf.predict_proba(X)
    raw = _raw_output(clf, X)
    assert raw.abs().max() <= 1.0 + 1e-5  # cosines
    s = clf.criterion_.s
    np.testing.assert_allclose(proba, torch.softmax(s * raw, dim=1).numpy(), atol=1e-5)
    assert np.abs(proba - torch.softmax(raw, dim=1).numpy()).max() > 0.05
    margins = clf.criterion_.margins.double()
    with_margin = torch.softmax(s * (raw - margins), dim=1).numpy()
    assert np.abs(proba - with_margin).max() > 0.05


@pytest.mark.parametrize("loss", SIGMOID_LOSSES)
def test_predict_proba_sigmoid_loss_columns(loss):
    clf, X, _ = fitted(loss, 2)
    proba = clf.predict_proba(X)
    z = _raw_output(clf, X)
    assert z.shape == (len(X), 1)
    p = torch.sigmoid(z[:, 0]).numpy()
    np.testing.assert_allclose(proba[:, 1], p, atol=1e-6)
    np.testing.assert_allclose(proba[:, 0], 1 - p, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), (p > 0.5).astype(int))


@pytest.mark.parametrize("loss", ["ce", "focal", "weighted_ce", "class_balanced", "crl"])
def test_predict_proba_plain_softmax_losses(loss):
    clf, X, _ = fitted(loss, 3)
    np.testing.assert_allclose(clf.predict_proba(X),
                               torch.softmax(_raw_output(clf, X), dim=1).numpy(), atol=1e-5)


def test_probabilities_method_of_each_loss():
    z = torch.tensor([[0.3, -1.2, 2.0], [5.0, 0.0, -5.0]], dtype=torch.float64)
    for loss in (LogitAdjustedLoss(tau=2.0), BalancedSoftmaxLoss(), VSLoss(gamma=1.0),
                 FocalLoss(), ClassBalancedLoss(), ClassRectificationLoss()):
        loss.set_class_counts(torch.tensor([100, 10, 1]))
        np.testing.assert_allclose(loss.probabilities(z).numpy(),
                                   torch.exp(ref_log_softmax(z)).numpy(), rtol=1e-12)
    ldam = LDAMLoss(s=7.0)
    ldam.set_class_counts(torch.tensor([100, 10, 1]))
    np.testing.assert_allclose(ldam.probabilities(z).numpy(),
                               torch.exp(ref_log_softmax(7.0 * z)).numpy(), rtol=1e-12)
    bce = BinaryCrossEntropy()
    bce.set_class_counts(torch.tensor([9, 1]))
    p = bce.probabilities(z[:, :1])
    np.testing.assert_allclose(p[:, 1].numpy(), 1 / (1 + np.exp(-z[:, 0].numpy())), rtol=1e-12)
    np.testing.assert_allclose(p.sum(dim=1).numpy(), 1.0, rtol=1e-12)


class _PlainNet(nn.Module):
    def __init__(self, n_in=N_FEATURES, n_out=3):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.lin(X)


def test_ldam_builds_cosine_last_layer():
    clf, X, _ = fitted("ldam", 3)
    assert isinstance(clf.module_.body.layers[-1], CosineLinear)
    ce, _, _ = fitted("ce", 3)
    assert not isinstance(ce.module_.body.layers[-1], CosineLinear)


def test_ldam_with_custom_module_warns():
    X, y = _data(3, n=120)
    clf = ImbalancedTorchClassifier(module=_PlainNet, loss="ldam", max_epochs=1, device="cpu",
                                    random_state=0)
    with pytest.warns(UserWarning, match="cosine"):
        clf.fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()
    # no such warning for a loss that does not need cosine logits, nor for module=None
    for params in (dict(module=_PlainNet, loss="ce"), dict(loss="ldam", module__hidden_units=(8,))):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            ImbalancedTorchClassifier(max_epochs=1, device="cpu", random_state=0,
                                      **params).fit(X, y)


@pytest.mark.parametrize("loss, params, match", [
    ("focal", {"loss__gamma": -1}, "loss__gamma"),
    ("logit_adjusted", {"loss__tau": float("nan")}, "loss__tau"),
    ("crl", {"loss__alpha": 2}, "loss__alpha"),
    ("ldam", {"loss__s": 0}, r"loss__s\b"),
    ("class_balanced", {"loss__base": "x"}, "loss__base"),
    ("focal", {"loss__alpha": 0.25}, "binary"),
    ("vs", {"loss__gamma": -0.5}, "loss__gamma"),
    ("vs", {"loss__tau": float("inf")}, "loss__tau"),
    ("crl", {"loss__k": 0}, "loss__k"),
    ("crl", {"loss__margin": -1.0}, "loss__margin"),
    ("ldam", {"loss__max_m": -0.1}, "loss__max_m"),
    ("class_balanced", {"loss__beta": 1.0}, "beta"),
    ("focal", {"loss__nonsense": 1}, "loss__"),
])
def test_invalid_hyper_parameters_raise(loss, params, match):
    X, y = _data(3, n=120)
    clf = ImbalancedTorchClassifier(loss=loss, max_epochs=1, module__hidden_units=(8,),
                                    device="cpu", random_state=0, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_invalid_bce_pos_weight_raises():
    X, y = _data(2, n=120)
    clf = ImbalancedTorchClassifier(loss="bce", loss__pos_weight=-2.0, max_epochs=1,
                                    device="cpu", random_state=0)
    with pytest.raises(ValueError, match="pos_weight"):
        clf.fit(X, y)


# ---------------------------------------------------------------------------
# GridSearchCV over each loss's hyper-parameters
# ---------------------------------------------------------------------------

GRIDS = {
    "ce": (3, {"lr": [1e-3, 1e-2]}),
    "weighted_ce": (3, {"loss__weights": ["balanced", "sqrt"], "loss__drw_epoch": [None, 1]}),
    "focal": (3, {"loss__gamma": [0.0, 2.0], "loss__alpha": [None, "balanced"]}),
    "class_balanced": (3, {"loss__beta": [0.9, 0.999], "loss__base": ["ce", "focal"]}),
    "ldam": (3, {"loss__max_m": [0.3, 0.5], "loss__s": [10.0, 30.0]}),
    "logit_adjusted": (3, {"loss__tau": [0.5, 1.0]}),
    "balanced_softmax": (3, {"lr": [1e-3, 1e-2]}),
    "vs": (3, {"loss__gamma": [0.1, 0.3], "loss__tau": [0.0, 1.0]}),
    "bce": (2, {"loss__pos_weight": ["auto", None, 4.0]}),
    "asl": (2, {"loss__gamma_neg": [0.0, 4.0], "loss__clip": [0.0, 0.05]}),
    "crl": (3, {"loss__alpha": [0.2, 0.8], "loss__k": [1, 3]}),
    "cost_sensitive": (3, {"loss__cost": [None, [[0, 1, 1], [5, 0, 1], [5, 1, 0]]]}),
}


def test_grids_cover_every_loss():
    assert set(GRIDS) == set(list_losses())


@pytest.mark.parametrize("loss", sorted(GRIDS))
def test_grid_search_over_loss_parameters(loss):
    n_classes, grid = GRIDS[loss]
    X, y = _data(n_classes, n=120, seed=3)
    clf = ImbalancedTorchClassifier(loss=loss, max_epochs=1, batch_size=32,
                                    module__hidden_units=(8,), device="cpu",
                                    random_state=0, train_split=None)
    search = GridSearchCV(clf, grid, cv=2, scoring="f1_macro", error_score="raise")
    search.fit(X, y)
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    assert len(search.cv_results_["params"]) == n_candidates
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    for key, value in search.best_params_.items():
        if key.startswith("loss__"):
            assert getattr(best.criterion_, key[len("loss__"):]) == value
    assert best.predict(X).shape == (len(X),)
    np.testing.assert_allclose(best.predict_proba(X).sum(axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------------------
# behaviour: pos_weight="auto" raises minority recall
# ---------------------------------------------------------------------------


def test_bce_auto_pos_weight_raises_minority_recall():
    X, y = make_classification(n_samples=600, n_features=8, n_informative=4, n_redundant=0,
                               weights=[0.92], class_sep=0.8, flip_y=0.0, random_state=3)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)
    recalls = {}
    for pos_weight in (None, "auto"):
        clf = ImbalancedTorchClassifier(loss="bce", loss__pos_weight=pos_weight, max_epochs=8,
                                        lr=1e-2, batch_size=128, module__hidden_units=(16,),
                                        device="cpu", random_state=0, train_split=None)
        clf.fit(X_tr, y_tr)
        recalls[pos_weight] = recall_score(y_te, clf.predict(X_te), pos_label=1)
    # without the weight the rare class is (almost) never predicted; with it, mostly found
    assert recalls["auto"] >= recalls[None] + 0.4, recalls
    assert recalls["auto"] >= 0.6, recalls
