"""The multi-label forms of the losses (``set_label_counts``) against direct
float64 formulas: ``ce``, ``bce``, ``focal``, ``asl`` and ``crl``.

The references below are written from the formulas of the loss docstrings
and the papers with plain float64 torch arithmetic (``log s(z) =
-logaddexp(0, -z)``; no ``F.binary_cross_entropy_with_logits``, no
``F.logsigmoid``, no skimb code), so that autograd also gives reference
gradients. With ``p = s(z)`` the sigmoid, a row's loss is the mean of its
labels' losses (for ``bce`` the label-weighted mean), and the batch loss the
sample-weighted mean of the rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from skimb import list_losses
from skimb.losses import (
    AsymmetricLoss,
    BinaryCrossEntropy,
    ClassRectificationLoss,
    CrossEntropy,
    FocalLoss,
    make_loss,
    multilabel_losses,
    output_probabilities,
)

#: Rows of the (imaginary) training portion and the positives of each label:
#: a common label, and rare ones with 1-3 positives out of 200.
N_TRAIN = 200
POSITIVES = {
    2: np.array([37, 3]),
    5: np.array([120, 41, 9, 2, 1]),
    12: np.array([180, 95, 60, 33, 20, 11, 7, 5, 3, 2, 1, 1]),
}
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])

#: Every multi-label loss, with its defaults and a non-default setting.
ML_CASES = [
    ("ce", {}),
    ("bce", {}),
    ("bce", {"pos_weight": None, "label_weights": "sqrt"}),
    ("focal", {}),
    ("focal", {"gamma": 0.5, "alpha": 0.25}),
    ("asl", {}),
    ("asl", {"gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.0}),
    ("asl", {"gamma_neg": 0.5, "gamma_pos": 0.5, "clip": 0.1}),
    ("crl", {}),
    ("crl", {"alpha": 0.8, "margin": 0.2, "k": 2}),
]
ML_IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in ML_CASES]
EVERY_ML_LOSS = pytest.mark.parametrize("name, kwargs", ML_CASES, ids=ML_IDS)

SINGLE_LABEL_ONLY = ["balanced_softmax", "class_balanced", "cost_sensitive", "ldam",
                     "logit_adjusted", "vs", "weighted_ce"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------------------
# float64 references
# ---------------------------------------------------------------------------


def ref_log_sigmoid(z):
    """log s(z) = -log(1 + exp(-z))."""
    return -torch.logaddexp(torch.zeros_like(z), -z)


def ref_sigmoid(z):
    return torch.exp(ref_log_sigmoid(z))


def ref_reduce(rows, s=None):
    """sum_i s_i l_i / sum_i s_i (the plain mean without weights)."""
    if s is None:
        return rows.sum() / len(rows)
    return (s * rows).sum() / s.sum()


def ref_ce_elems(z, y):
    """-[y log p + (1 - y) log(1 - p)], log(1 - p) = log s(-z)."""
    return -(y * ref_log_sigmoid(z) + (1 - y) * ref_log_sigmoid(-z))


def ref_pos_weight(pos_weight, positives, n_samples, labels=None):
    """bce's positive weight of every label."""
    n_labels = len(positives)
    if isinstance(pos_weight, str):
        assert pos_weight == "auto"
        weights = []
        for pos in positives:
            neg = n_samples - pos
            weights.append(1.0 if pos == 0 or neg == 0 else neg / pos)
        return weights
    if pos_weight is None:
        return [1.0] * n_labels
    if isinstance(pos_weight, float):
        return [pos_weight] * n_labels
    if isinstance(pos_weight, dict):
        names = range(n_labels) if labels is None else labels
        return [float(pos_weight[name]) for name in names]
    return [float(w) for w in pos_weight]


def ref_label_weights(label_weights, positives, labels=None):
    """bce's label weights (unnormalised: only their ratios matter)."""
    n_labels = len(positives)
    if label_weights is None:
        return [1.0] * n_labels
    if label_weights == "balanced":
        return [1.0 / max(pos, 1) for pos in positives]
    if label_weights == "sqrt":
        return [max(pos, 1) ** -0.5 for pos in positives]
    if isinstance(label_weights, dict):
        names = range(n_labels) if labels is None else labels
        return [float(label_weights[name]) for name in names]
    return [float(v) for v in label_weights]


def ref_bce_rows(z, y, pos_weight, label_weight):
    """sum_j v_j l_ij / sum_j v_j with l_ij = -[w_j y log p + (1 - y) log(1 - p)]."""
    w = torch.tensor(pos_weight, dtype=torch.float64)
    v = torch.tensor(label_weight, dtype=torch.float64)
    elems = -(w * y * ref_log_sigmoid(z) + (1 - y) * ref_log_sigmoid(-z))
    return (elems * v).sum(dim=1) / v.sum()


def ref_focal_elems(z, y, gamma, alpha):
    """-[a_pos y (1-p)^gamma log p + a_neg (1-y) p^gamma log(1-p)]; q^g = exp(g log q)."""
    a_pos, a_neg = (1.0, 1.0) if alpha is None else (alpha, 1.0 - alpha)
    log_p, log_q = ref_log_sigmoid(z), ref_log_sigmoid(-z)
    return -(a_pos * y * torch.exp(gamma * log_q) * log_p
             + a_neg * (1 - y) * torch.exp(gamma * log_p) * log_q)


def ref_torchvision_focal(z, y, gamma, alpha):
    """torchvision.ops.sigmoid_focal_loss's formula (alpha < 0: no weighting)."""
    p = ref_sigmoid(z)
    ce = -(y * ref_log_sigmoid(z) + (1 - y) * ref_log_sigmoid(-z))
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def ref_asl_elems(z, y, gamma_neg, gamma_pos, clip):
    """Ridnik et al.: -[y (1-p)^gp log p + (1-y) p_m^gn log(1-p_m)], p_m = max(p - clip, 0)."""
    log_p, log_q = ref_log_sigmoid(z), ref_log_sigmoid(-z)
    positive = torch.exp(gamma_pos * log_q) * log_p
    if clip == 0:  # p_m = p: p^gn log(1 - p)
        negative = torch.exp(gamma_neg * log_p) * log_q
    else:
        p = torch.exp(log_p)
        shifted = p > clip  # else p_m = 0 and the term is 0 (log 1)
        p_m = torch.where(shifted, p - clip, torch.full_like(p, 0.5))
        negative = torch.where(shifted, p_m**gamma_neg * torch.log1p(-p_m),
                               torch.zeros_like(p))
    return -(y * positive + (1 - y) * negative)


def official_asl_elems(z, y, gamma_neg, gamma_pos, clip, eps=1e-8):
    """The element-wise loss of the reference implementation (Alibaba-MIIL/ASL,
    ``AsymmetricLoss``, focal weight with gradients), before its ``-sum()``."""
    xs_pos = ref_sigmoid(z)
    xs_neg = 1 - xs_pos
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    loss = y * torch.log(xs_pos.clamp(min=eps)) + (1 - y) * torch.log(xs_neg.clamp(min=eps))
    if gamma_neg > 0 or gamma_pos > 0:
        pt = xs_pos * y + xs_neg * (1 - y)
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        loss = loss * torch.pow(1 - pt, one_sided_gamma)
    return -loss


def ref_crl(z, y, s=None, alpha=0.5, margin=0.5, k=3):
    """Multi-label class rectification loss with an explicit Python loop over
    labels and anchors. Returns the loss and the number of triplets."""
    n, n_labels = z.shape
    member = (y > 0.5).tolist()
    w = [1.0] * n if s is None else [float(v) for v in s]
    rows = [i for i in range(n) if w[i] > 0]
    p = ref_sigmoid(z)
    p_np = p.detach().numpy()
    counts = [sum(1 for i in rows if member[i][j]) for j in range(n_labels)]
    minority, total = set(), 0
    for j in sorted(range(n_labels), key=lambda j: (counts[j], j)):
        total += counts[j]
        if total > len(rows) / 2:
            break
        if counts[j] >= 2:
            minority.add(j)
    triplets, weights = [], []
    for j in sorted(minority):
        for a in rows:
            if not member[a][j]:
                continue
            positives = [r for r in rows if r != a and member[r][j]]
            negatives = [r for r in rows if not member[r][j]]
            positives = sorted(positives, key=lambda r: p_np[r, j])[:k]   # lowest p_j
            negatives = sorted(negatives, key=lambda r: -p_np[r, j])[:k]  # highest p_j
            if not positives or not negatives:
                continue
            d_neg = (p[a, j] - p[negatives, j]).abs()
            for r in positives:
                d_pos = (p[a, j] - p[r, j]).abs()
                triplets.append(torch.clamp(d_pos - d_neg + margin, min=0.0))
                weights.append(torch.full((len(negatives),), w[a], dtype=z.dtype))
    base = ref_reduce(ref_ce_elems(z, y).mean(dim=1), s)
    if not triplets:
        return base, 0
    t, tw = torch.cat(triplets), torch.cat(weights)
    return alpha * (tw * t).sum() / tw.sum() + (1 - alpha) * base, len(t)


def ref_loss(name, kwargs, z, y, s, positives, n_samples=N_TRAIN, labels=None):
    """The float64 reference of loss ``name`` with parameters ``kwargs``."""
    if name == "crl":  # parameters left out: the class defaults
        default = ClassRectificationLoss()
        params = {"alpha": default.alpha, "margin": default.margin, "k": default.k, **kwargs}
        return ref_crl(z, y, s, **params)[0]
    if name == "ce":
        rows = ref_ce_elems(z, y).mean(dim=1)
    elif name == "bce":
        w = ref_pos_weight(kwargs.get("pos_weight", "auto"), positives, n_samples, labels)
        v = ref_label_weights(kwargs.get("label_weights"), positives, labels)
        rows = ref_bce_rows(z, y, w, v)
    elif name == "focal":
        rows = ref_focal_elems(z, y, kwargs.get("gamma", 2.0), kwargs.get("alpha")).mean(dim=1)
    elif name == "asl":
        rows = ref_asl_elems(z, y, kwargs.get("gamma_neg", 4.0), kwargs.get("gamma_pos", 1.0),
                             kwargs.get("clip", 0.05)).mean(dim=1)
    else:
        raise AssertionError(name)
    return ref_reduce(rows, s)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def ml_batch(n_labels, n=48, seed=0, scale=3.0):
    """Random logits, imbalanced 0/1 targets (every label with a positive and a
    negative row), and sample weights."""
    rng = np.random.default_rng(100 * n_labels + seed)
    rate = np.clip(POSITIVES[n_labels] / N_TRAIN, 0.05, 0.95)
    y = (rng.random((n, n_labels)) < rate).astype(np.float64)
    for j in range(n_labels):
        y[j, j] = 1.0
        y[n - 1 - j, j] = 0.0
    z = rng.normal(scale=scale, size=(n, n_labels))
    s = rng.uniform(0.1, 3.0, size=n)
    return z, y, s


def fitted(name, kwargs, n_labels=None, positives=None, n_samples=N_TRAIN, labels=None):
    loss = make_loss(name, dict(kwargs))
    if positives is None:
        positives = POSITIVES[n_labels]
    loss.set_label_counts(torch.as_tensor(positives), n_samples, labels)
    return loss


def run(loss, z, y, s=None, dtype=torch.float64, device="cpu"):
    logits = torch.tensor(np.asarray(z), dtype=dtype, device=device, requires_grad=True)
    target = torch.as_tensor(np.asarray(y), dtype=dtype, device=device)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=dtype, device=device)
    out = loss(logits, target) if sw is None else loss(logits, target, sw)
    out.backward()
    return out, logits.grad


def run_ref(name, kwargs, z, y, s=None, positives=None, n_samples=N_TRAIN, labels=None):
    logits = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    target = torch.as_tensor(np.asarray(y, dtype=np.float64))
    sw = None if s is None else torch.as_tensor(np.asarray(s, dtype=np.float64))
    out = ref_loss(name, kwargs, logits, target, sw, positives, n_samples, labels)
    out.backward()
    return out, logits.grad


def assert_matches(loss, name, kwargs, z, y, s=None, positives=None, n_samples=N_TRAIN,
                   labels=None, rtol=1e-10):
    out, grad = run(loss, z, y, s)
    ref, ref_grad = run_ref(name, kwargs, z, y, s, positives, n_samples, labels)
    assert out.ndim == 0 and out.dtype == torch.float64
    np.testing.assert_allclose(out.item(), ref.item(), rtol=rtol)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-8, atol=1e-12)
    return out.item()


def _floating_buffers(loss):
    return {k: v for k, v in loss.named_buffers() if v.is_floating_point()}


# ---------------------------------------------------------------------------
# which losses are multi-label
# ---------------------------------------------------------------------------


def test_multilabel_loss_names():
    assert multilabel_losses() == ["asl", "bce", "ce", "crl", "focal"]
    assert {name for name, _ in ML_CASES} == set(multilabel_losses())
    assert sorted(set(list_losses()) - set(multilabel_losses())) == SINGLE_LABEL_ONLY
    for cls in (CrossEntropy, FocalLoss, BinaryCrossEntropy, AsymmetricLoss,
                ClassRectificationLoss):
        assert cls.supports_multilabel


@pytest.mark.parametrize("name", SINGLE_LABEL_ONLY)
def test_single_label_losses_refuse_label_counts(name):
    loss = make_loss(name, {})
    with pytest.raises(ValueError, match="multi-label") as info:
        loss.set_label_counts(torch.as_tensor(POSITIVES[5]), N_TRAIN)
    assert ", ".join(multilabel_losses()) in str(info.value)  # asl, bce, ce, crl, focal
    assert not loss.multilabel


# ---------------------------------------------------------------------------
# every multi-label loss against its formula
# ---------------------------------------------------------------------------


@EVERY_ML_LOSS
@N_LABELS
@WEIGHTED
def test_matches_reference(name, kwargs, n_labels, weighted):
    loss = fitted(name, kwargs, n_labels)
    assert loss.multilabel
    z, y, s = ml_batch(n_labels, seed=1)
    assert_matches(loss, name, kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


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
    loss = fitted("bce", kwargs, positives=positives, labels=labels)
    w = ref_pos_weight(pos_weight, positives, N_TRAIN, labels)
    v = np.array(ref_label_weights(label_weights, positives, labels))
    np.testing.assert_allclose(loss.positive_weight.numpy(), w, rtol=1e-12)
    label_weight = loss.label_weight.numpy()  # proportional to v (only ratios matter)
    np.testing.assert_allclose(label_weight / label_weight.sum(), v / v.sum(), rtol=1e-12)
    z, y, s = ml_batch(5, seed=2)
    assert_matches(loss, "bce", kwargs, z, y, s if weighted else None, positives,
                   labels=labels)


def test_bce_auto_pos_weight_rule():
    """neg/pos, and 1 for a label without positive or without negative rows."""
    positives = np.array([0, 200, 50, 1, 199])
    loss = fitted("bce", {}, positives=positives)
    assert loss.positive_weight.tolist() == [1.0, 1.0, 3.0, 199.0, 1 / 199]
    weights = loss.label_weight.numpy()
    np.testing.assert_allclose(weights / weights.sum(), [0.2] * 5, rtol=1e-12)
    rng = np.random.default_rng(3)
    z = rng.normal(scale=2.0, size=(20, 5))
    y = (rng.random((20, 5)) < 0.5).astype(float)
    assert_matches(loss, "bce", {}, z, y, rng.uniform(0.5, 2.0, 20), positives)


def test_bce_per_label_dict_without_label_names_uses_indices():
    loss = fitted("bce", {"pos_weight": {0: 2.0, 1: 3.0}, "label_weights": {0: 1.0, 1: 3.0}},
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
def test_bce_auto_equals_torch_bce_with_logits(n_labels, weighted, dtype):
    positives = POSITIVES[n_labels]
    loss = fitted("bce", {"pos_weight": "auto"}, n_labels)
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
    out, grad = run(loss, z, y, s if weighted else None, dtype=dtype)
    assert out.dtype == dtype
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(out.item(), expected.item(), rtol=rtol)
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=rtol * 10,
                               atol=1e-7 if dtype == torch.float32 else 1e-15)


# ---------------------------------------------------------------------------
# focal
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75])
@N_LABELS
@WEIGHTED
def test_focal_matches_reference(gamma, alpha, n_labels, weighted):
    kwargs = {"gamma": gamma, "alpha": alpha}
    loss = fitted("focal", kwargs, n_labels)
    expected = [1.0, 1.0] if alpha is None else [1 - alpha, alpha]
    assert loss.alpha_weights.tolist() == expected
    z, y, s = ml_batch(n_labels, seed=5)
    assert_matches(loss, "focal", kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
def test_focal_matches_torchvision_formula(gamma, alpha):
    loss = fitted("focal", {"gamma": gamma, "alpha": alpha}, 5)
    z, y, _ = ml_batch(5, seed=6)
    out, grad = run(loss, z, y)
    logits = torch.tensor(z, requires_grad=True)
    # torchvision's reduction="mean": the mean over every (row, label)
    expected = ref_torchvision_focal(logits, torch.tensor(y), gamma,
                                     -1.0 if alpha is None else alpha).mean()
    expected.backward()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), logits.grad.numpy(), rtol=1e-8, atol=1e-12)


@N_LABELS
@WEIGHTED
def test_focal_gamma_zero_is_ce(n_labels, weighted):
    z, y, s = ml_batch(n_labels, seed=7)
    s = s if weighted else None
    focal, focal_grad = run(fitted("focal", {"gamma": 0.0, "alpha": None}, n_labels), z, y, s)
    ce, ce_grad = run(fitted("ce", {}, n_labels), z, y, s)
    np.testing.assert_allclose(focal.item(), ce.item(), rtol=1e-12)
    np.testing.assert_allclose(focal_grad.numpy(), ce_grad.numpy(), rtol=1e-10, atol=1e-15)
    ref = run_ref("ce", {}, z, y, s, POSITIVES[n_labels])[0]
    np.testing.assert_allclose(ce.item(), ref.item(), rtol=1e-10)


@pytest.mark.parametrize("alpha", ["balanced", "sqrt", "effective", {0: 1.0, 1: 2.0}, 0.0, 1.0,
                                   1.5, -0.25, True])
def test_focal_rejects_class_alpha_with_multilabel(alpha):
    loss = FocalLoss(alpha=alpha)
    with pytest.raises(ValueError, match="multi-label"):
        loss.set_label_counts(torch.tensor([10, 3]), 50)


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
    loss = fitted("asl", kwargs, n_labels)
    z, y, s = ml_batch(n_labels, seed=8)
    assert_matches(loss, "asl", kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


def test_asl_clip_discards_easy_negatives():
    """A negative with p <= clip costs nothing and gets no gradient."""
    loss = fitted("asl", {"clip": 0.2}, positives=[5])
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
    asl, asl_grad = run(fitted("asl", kwargs, n_labels), z, y, s)
    ce, ce_grad = run(fitted("ce", {}, n_labels), z, y, s)
    np.testing.assert_allclose(asl.item(), ce.item(), rtol=1e-12)
    np.testing.assert_allclose(asl_grad.numpy(), ce_grad.numpy(), rtol=1e-10, atol=1e-15)


@ASL
def test_asl_matches_official_implementation(gamma_neg, gamma_pos, clip):
    """Same element-wise values; the official code sums, skimb averages."""
    n_labels = 12
    loss = fitted("asl", {"gamma_neg": gamma_neg, "gamma_pos": gamma_pos, "clip": clip},
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
    out, grad = run(loss, z, y)
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
# crl
# ---------------------------------------------------------------------------


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
def test_crl_matches_loop_reference(case, params):
    batch_kw, opts = CRL_CASES[case]
    z, y, s = crl_batch(**batch_kw)
    s = s if opts.get("weighted") else None
    if case == "L4-k-large":  # every parameter set, with k far above any label's rows
        params = {**params, "k": 50}
    loss = fitted("crl", params, positives=np.maximum(y.sum(axis=0) * 5, 1).astype(int),
                  n_samples=len(y) * 5)
    sw = None if s is None else torch.tensor(s)
    ref, n_ref = ref_crl(torch.tensor(z), torch.tensor(y), sw, **params)
    assert n_ref > 0  # the case does mine triplets
    _, n_valid = loss.triplet_term(torch.tensor(z), torch.tensor(y), sw)
    assert int(n_valid) == n_ref
    assert_matches(loss, "crl", params, z, y, s)


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
    loss = fitted("crl", params, positives=[10, 5, 2, 1], n_samples=40)
    sw = None if s is None else torch.tensor(s)
    assert ref_crl(torch.tensor(z), torch.tensor(y), sw, **params)[1] == 0
    assert int(loss.triplet_term(torch.tensor(z), torch.tensor(y), sw)[1]) == 0
    out, grad = run(loss, z, y, s)
    base, base_grad = run(fitted("ce", {}, positives=[10, 5, 2, 1], n_samples=40), z, y, s)
    np.testing.assert_allclose(out.item(), base.item(), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), base_grad.numpy(), rtol=1e-10, atol=1e-15)
    assert_matches(loss, "crl", params, z, y, s)


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
    loss = fitted("crl", params, positives=counts, n_samples=n)
    # the triplets mined with exactly these minority labels
    expected = 0
    for j in minority:
        pos = np.flatnonzero(y[:, j] > 0)
        expected += len(pos) * min(3, len(pos) - 1) * min(3, n - len(pos))
    assert ref_crl(torch.tensor(z), torch.tensor(y), None, **params)[1] == expected
    assert int(loss.triplet_term(torch.tensor(z), torch.tensor(y))[1]) == expected
    assert_matches(loss, "crl", params, z, y)


def test_crl_hard_examples_by_hand():
    """One minority label, two anchors, k = 1: the triplets can be written out."""
    # label 0: rows 0, 1 positive (p = 0.2, 0.6); rows 2..5 negative with p up to 0.7
    p0 = np.array([0.2, 0.6, 0.1, 0.7, 0.3, 0.5])
    z = np.stack([np.log(p0 / (1 - p0)), np.zeros(6)], axis=1)
    y = np.array([[1, 1], [1, 1], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=float)
    loss = fitted("crl", {"alpha": 0.5, "margin": 0.5, "k": 1}, positives=[2, 6], n_samples=6)
    # anchor 0: positive 1 (|0.2-0.6| = 0.4), negative 3 (|0.2-0.7| = 0.5): 0.4 - 0.5 + 0.5
    # anchor 1: positive 0 (0.4), negative 3 (0.1): 0.4 - 0.1 + 0.5
    triplet = (0.4 + 0.8) / 2
    base = run_ref("ce", {}, z, y, positives=[2, 6])[0].item()
    out, _ = run(loss, z, y)
    assert out.item() == pytest.approx(0.5 * triplet + 0.5 * base, rel=1e-10)
    # anchor weights: row 1 three times row 0
    out, _ = run(loss, z, y, np.array([1.0, 3.0, 1.0, 1.0, 1.0, 1.0]))
    base_w = run_ref("ce", {}, z, y, np.array([1.0, 3.0, 1.0, 1.0, 1.0, 1.0]), [2, 6])[0]
    assert out.item() == pytest.approx(0.5 * (0.4 + 3 * 0.8) / 4 + 0.5 * base_w.item(),
                                       rel=1e-10)


# ---------------------------------------------------------------------------
# every multi-label loss: robustness, sample weights, probabilities, devices
# ---------------------------------------------------------------------------


@EVERY_ML_LOSS
@WEIGHTED
def test_extreme_float32_logits_finite(name, kwargs, weighted):
    n_labels, n = 5, 40
    rng = np.random.default_rng(20)
    z = rng.choice([-1.0, 1.0], size=(n, n_labels)) * 1e3 * rng.uniform(0.5, 1.5, (n, n_labels))
    y = (z > 0).astype(np.float64)
    flip = rng.random((n, n_labels)) < 0.5  # half the targets disagree with the sign
    y[flip] = 1.0 - y[flip]
    s = rng.uniform(0.5, 2.0, size=n) if weighted else None
    loss = fitted(name, kwargs, n_labels)
    out, grad = run(loss, z.astype(np.float32), y, s, dtype=torch.float32)
    assert out.dtype == torch.float32 and grad.dtype == torch.float32
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    ref, ref_grad = run_ref(name, kwargs, z.astype(np.float32).astype(np.float64), y, s,
                            POSITIVES[n_labels])
    assert torch.isfinite(ref) and torch.isfinite(ref_grad).all()
    assert ref.item() > 10.0  # the disagreeing targets cost a lot
    np.testing.assert_allclose(out.item(), ref.item(), rtol=2e-5)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-4,
                               atol=1e-5 * ref_grad.abs().max().item())
    assert grad.abs().sum() > 0
    # agreeing targets alone: (nearly) zero loss, still finite
    agree = (z > 0).astype(np.float64)
    out, grad = run(loss, z.astype(np.float32), agree, s, dtype=torch.float32)
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    if name != "crl":  # crl's triplet term keeps its margin when p saturates
        assert abs(out.item()) < 1e-6


@EVERY_ML_LOSS
@pytest.mark.parametrize("n_labels", [5, 12])
def test_zero_sample_weight_removes_row(name, kwargs, n_labels):
    z, y, s = ml_batch(n_labels, n=40, seed=21)
    drop = np.zeros(len(y), dtype=bool)
    drop[[0, 3, 7, 12, 20, 39]] = True  # includes rows with rare labels
    # the dropped rows would be the hardest negatives and positives if present
    z[drop] = np.where(y[drop] > 0, -6.0, 6.0)
    s[drop] = 0.0
    loss = fitted(name, kwargs, n_labels)
    out, grad = run(loss, z, y, s)
    kept, kept_grad = run(loss, z[~drop], y[~drop], s[~drop])
    np.testing.assert_allclose(out.item(), kept.item(), rtol=1e-10)
    assert torch.all(grad[torch.as_tensor(drop)] == 0)
    np.testing.assert_allclose(grad[torch.as_tensor(~drop)].numpy(), kept_grad.numpy(),
                               rtol=1e-8, atol=1e-14)
    # and the dropped rows would have mattered
    uniform = run(loss, z, y, np.ones(len(y)))[0].item()
    assert abs(uniform - out.item()) > 1e-3
    ref = run_ref(name, kwargs, z[~drop], y[~drop], s[~drop], POSITIVES[n_labels])[0]
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-10)


@EVERY_ML_LOSS
@pytest.mark.parametrize("n_labels", [1, 2, 5])
def test_probabilities_are_sigmoid(name, kwargs, n_labels):
    positives = {1: [7], 2: POSITIVES[2], 5: POSITIVES[5]}[n_labels]
    loss = fitted(name, kwargs, positives=positives)
    output = torch.tensor(np.random.default_rng(22).normal(scale=4.0, size=(9, n_labels)))
    for probs in (loss.probabilities(output),
                  output_probabilities(loss, output, multilabel=True)):
        assert probs.shape == (9, n_labels)
        np.testing.assert_allclose(probs.numpy(), 1 / (1 + np.exp(-output.numpy())),
                                   rtol=1e-12)


@EVERY_ML_LOSS
def test_target_dtypes_agree(name, kwargs):
    z, y, s = ml_batch(5, seed=23)
    loss = fitted(name, kwargs, 5)
    expected = run(loss, z, y, s)[0].item()
    logits = torch.tensor(z)
    sw = torch.tensor(s)
    for target in (torch.tensor(y, dtype=torch.float32), torch.tensor(y, dtype=torch.long),
                   torch.tensor(y, dtype=torch.bool)):
        assert loss(logits, target, sw).item() == pytest.approx(expected, rel=1e-12), target.dtype


@EVERY_ML_LOSS
def test_buffers_follow_to_and_double(name, kwargs):
    n_labels = 5
    loss = fitted(name, kwargs, n_labels)
    z, y, s = ml_batch(n_labels, n=24, seed=24, scale=1.0)
    expected = run_ref(name, kwargs, z, y, s, POSITIVES[n_labels])[0].item()
    floating = set(_floating_buffers(loss))
    assert floating == {"class_counts"} | {"bce": {"positive_weight", "label_weight"},
                                           "focal": {"alpha_weights"}}.get(name, set())
    assert all(v.shape == (n_labels,) for k, v in loss.named_buffers() if k != "alpha_weights")
    assert loss.class_counts.tolist() == POSITIVES[n_labels].tolist()

    single = loss.float()
    assert single is loss
    assert all(v.dtype == torch.float32 for v in _floating_buffers(single).values())
    assert single.class_counts.dtype == torch.float32  # a floating buffer of label masses
    out32 = run(single, z.astype(np.float32), y, s, dtype=torch.float32)[0]
    assert out32.dtype == torch.float32
    assert out32.item() == pytest.approx(expected, rel=1e-5)

    double = single.to(torch.float64)
    assert all(v.dtype == torch.float64 for v in _floating_buffers(double).values())
    assert double.class_counts.dtype == torch.float64
    # the buffers went through float32: equal up to its rounding
    assert run(double, z, y, s)[0].item() == pytest.approx(expected, rel=1e-6)
    single.float()
    assert run(single.double(), z, y, s)[0].item() == pytest.approx(expected, rel=1e-6)
    assert set(_floating_buffers(double)) == floating
    # a refit restores float64 buffers at full precision
    double.set_label_counts(torch.as_tensor(POSITIVES[n_labels]), N_TRAIN)
    assert all(v.dtype == torch.float64 for v in _floating_buffers(double).values())
    assert run(double, z, y, s)[0].item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@EVERY_ML_LOSS
@WEIGHTED
def test_cuda_matches_cpu(name, kwargs, weighted):
    n_labels = 12
    loss = fitted(name, kwargs, n_labels)
    z, y, s = ml_batch(n_labels, n=64, seed=25)
    s = s if weighted else None
    expected, expected_grad = run(loss, z, y, s)
    loss = loss.to("cuda")
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())
    out, grad = run(loss, z, y, s, device="cuda")
    assert out.device.type == "cuda" and grad.device.type == "cuda"
    assert out.item() == pytest.approx(expected.item(), rel=1e-9)
    np.testing.assert_allclose(grad.cpu().numpy(), expected_grad.numpy(), rtol=1e-7,
                               atol=1e-13)
    loss.set_label_counts(torch.as_tensor(POSITIVES[n_labels]), N_TRAIN)  # refit keeps the device
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())
    out32, _ = run(loss.float(), z, y, s, dtype=torch.float32, device="cuda")
    assert out32.item() == pytest.approx(expected.item(), rel=1e-4)
