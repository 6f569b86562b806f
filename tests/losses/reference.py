"""Float64 references of the losses, written from their definitions (the formulas of the
loss docstrings and the papers) with plain torch arithmetic: no ``F.cross_entropy``, no
``F.logsigmoid``, no skimb code, so that autograd gives reference gradients too. And the
helpers that run a loss and its reference on the same batch.

Single-label: ``ref_*_rows(z, y, ...)`` are the rows' losses of logits ``z`` and class indices
``y``; ``assert_matches(loss, ref_rows, z, y, s)`` compares value and gradient of the
``sample_weight``-weighted mean ``sum_i s_i l_i / sum_i s_i``. Multi-label: with ``p = s(z)``
the sigmoid, a row's loss is the mean of its labels' losses (for ``bce`` the label-weighted
mean); ``ref_ml_loss(name, kwargs, ...)`` is the reference of a multi-label loss by name and
``ml_assert_matches`` compares against it.
"""

from __future__ import annotations

import numpy as np
import torch

from skimb.losses import ClassRectificationLoss, make_loss
from tests.helpers import COUNTS

#: The class labels of the ``COUNTS`` classes, for parameters given per label.
LABELS = {c: np.array([f"class_{i}" for i in range(c)]) for c in COUNTS}

#: Rows of the (imaginary) training portion and the positives of each label:
#: a common label, and rare ones with 1-3 positives out of 200.
N_TRAIN = 200
POSITIVES = {
    2: np.array([37, 3]),
    5: np.array([120, 41, 9, 2, 1]),
    12: np.array([180, 95, 60, 33, 20, 11, 7, 5, 3, 2, 1, 1]),
}


# ---------------------------------------------------------------------------
# single-label references
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
# multi-label references
# ---------------------------------------------------------------------------


def ref_sigmoid(z):
    return torch.exp(ref_log_sigmoid(z))

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

def ref_ml_bce_rows(z, y, pos_weight, label_weight):
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

def ref_ml_crl(z, y, s=None, alpha=0.5, margin=0.5, k=3):
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

def ref_ml_loss(name, kwargs, z, y, s, positives, n_samples=N_TRAIN, labels=None):
    """The float64 reference of loss ``name`` with parameters ``kwargs``."""
    if name == "crl":  # parameters left out: the class defaults
        default = ClassRectificationLoss()
        params = {"alpha": default.alpha, "margin": default.margin, "k": default.k, **kwargs}
        return ref_ml_crl(z, y, s, **params)[0]
    if name == "ce":
        rows = ref_ce_elems(z, y).mean(dim=1)
    elif name == "bce":
        w = ref_pos_weight(kwargs.get("pos_weight", "auto"), positives, n_samples, labels)
        v = ref_label_weights(kwargs.get("label_weights"), positives, labels)
        rows = ref_ml_bce_rows(z, y, w, v)
    elif name == "focal":
        rows = ref_focal_elems(z, y, kwargs.get("gamma", 2.0), kwargs.get("alpha")).mean(dim=1)
    elif name == "asl":
        rows = ref_asl_elems(z, y, kwargs.get("gamma_neg", 4.0), kwargs.get("gamma_pos", 1.0),
                             kwargs.get("clip", 0.05)).mean(dim=1)
    else:
        raise AssertionError(name)
    return ref_reduce(rows, s)


# ---------------------------------------------------------------------------
# running a loss and its reference: single-label
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

def same(a, b, z, y, s=None, rtol=1e-10):
    va, ga = run(a, z, y, s)
    vb, gb = run(b, z, y, s)
    np.testing.assert_allclose(va.item(), vb.item(), rtol=rtol)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-7, atol=1e-12)
    return va.item()


# ---------------------------------------------------------------------------
# running a loss and its reference: multi-label
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

def ml_fitted(name, kwargs, n_labels=None, positives=None, n_samples=N_TRAIN, labels=None):
    loss = make_loss(name, dict(kwargs))
    if positives is None:
        positives = POSITIVES[n_labels]
    loss.set_label_counts(torch.as_tensor(positives), n_samples, labels)
    return loss

def ml_run(loss, z, y, s=None, dtype=torch.float64, device="cpu"):
    logits = torch.tensor(np.asarray(z), dtype=dtype, device=device, requires_grad=True)
    target = torch.as_tensor(np.asarray(y), dtype=dtype, device=device)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=dtype, device=device)
    out = loss(logits, target) if sw is None else loss(logits, target, sw)
    out.backward()
    return out, logits.grad

def ml_run_ref(name, kwargs, z, y, s=None, positives=None, n_samples=N_TRAIN, labels=None):
    logits = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    target = torch.as_tensor(np.asarray(y, dtype=np.float64))
    sw = None if s is None else torch.as_tensor(np.asarray(s, dtype=np.float64))
    out = ref_ml_loss(name, kwargs, logits, target, sw, positives, n_samples, labels)
    out.backward()
    return out, logits.grad

def ml_assert_matches(loss, name, kwargs, z, y, s=None, positives=None, n_samples=N_TRAIN,
                      labels=None, rtol=1e-10):
    out, grad = ml_run(loss, z, y, s)
    ref, ref_grad = ml_run_ref(name, kwargs, z, y, s, positives, n_samples, labels)
    assert out.ndim == 0 and out.dtype == torch.float64
    np.testing.assert_allclose(out.item(), ref.item(), rtol=rtol)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-8, atol=1e-12)
    return out.item()

def floating_buffers(loss):
    return {k: v for k, v in loss.named_buffers() if v.is_floating_point()}


# ---------------------------------------------------------------------------
# checks of a multi-label loss against its reference, shared by the families
# ---------------------------------------------------------------------------

def check_multilabel_matches_reference(name, kwargs, n_labels, weighted):
    """Value and gradient of the multi-label loss against ``ref_ml_loss``."""
    loss = ml_fitted(name, kwargs, n_labels)
    assert loss.multilabel
    z, y, s = ml_batch(n_labels, seed=1)
    ml_assert_matches(loss, name, kwargs, z, y, s if weighted else None, POSITIVES[n_labels])


def check_multilabel_extreme_logits_match_the_reference(name, kwargs, weighted):
    """Logits of magnitude 1e3 in float32, half the targets wrong: the loss and its gradient
    are the float64 reference's, and the right targets alone cost (nearly) nothing."""
    n_labels, n = 5, 40
    rng = np.random.default_rng(20)
    z = rng.choice([-1.0, 1.0], size=(n, n_labels)) * 1e3 * rng.uniform(0.5, 1.5, (n, n_labels))
    y = (z > 0).astype(np.float64)
    flip = rng.random((n, n_labels)) < 0.5  # half the targets disagree with the sign
    y[flip] = 1.0 - y[flip]
    s = rng.uniform(0.5, 2.0, size=n) if weighted else None
    loss = ml_fitted(name, kwargs, n_labels)
    out, grad = ml_run(loss, z.astype(np.float32), y, s, dtype=torch.float32)
    assert out.dtype == torch.float32 and grad.dtype == torch.float32
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    ref, ref_grad = ml_run_ref(name, kwargs, z.astype(np.float32).astype(np.float64), y, s,
                               POSITIVES[n_labels])
    assert torch.isfinite(ref) and torch.isfinite(ref_grad).all()
    assert ref.item() > 10.0  # the disagreeing targets cost a lot
    np.testing.assert_allclose(out.item(), ref.item(), rtol=2e-5)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-4,
                               atol=1e-5 * ref_grad.abs().max().item())
    assert grad.abs().sum() > 0
    # agreeing targets alone: (nearly) zero loss, still finite
    agree = (z > 0).astype(np.float64)
    out, grad = ml_run(loss, z.astype(np.float32), agree, s, dtype=torch.float32)
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    if name != "crl":  # crl's triplet term keeps its margin when p saturates
        assert abs(out.item()) < 1e-6
