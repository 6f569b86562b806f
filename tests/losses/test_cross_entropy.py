"""Cross-entropy, ``loss="ce"`` and ``loss="weighted_ce"`` (``skimb/losses/cross_entropy.py``),
against float64 formulas: the class weights, label smoothing, the single-label and the
multi-label form, sample weights, extreme logits, the buffers; and deferred re-weighting
(``drw_epoch``), which ``weighted_ce``, ``class_balanced`` and ``ldam`` share.

The single-label references below are NumPy (independent of torch's cross-entropy); the
others are in ``tests/losses/reference.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from skimb.losses import (
    ClassBalancedLoss,
    CrossEntropy,
    LDAMLoss,
    WeightedCrossEntropy,
    class_weights,
)
from tests.helpers import COUNTS
from tests.losses.properties import check_every_property
from tests.losses.reference import (
    assert_matches,
    batch,
    check_multilabel_extreme_logits_match_the_reference,
    check_multilabel_matches_reference,
    fitted_loss,
    ref_balanced,
    ref_ce_rows,
    ref_effective,
    ref_focal_rows,
    ref_ldam_rows,
)

N_CLASSES = pytest.mark.parametrize("n_classes", [2, 3, 7])
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
N_LABELS = pytest.mark.parametrize("n_labels", [2, 5, 12])


# ---------------------------------------------------------------------------
# float64 reference implementations (numpy, independent of torch's CE)
# ---------------------------------------------------------------------------


def ref_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def ref_softmax(z):
    return np.exp(ref_log_softmax(z))


def ref_weights(counts, scheme, beta=0.999):
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    n, c = counts.sum(), present.sum()
    w = np.zeros_like(counts)
    if scheme == "balanced":
        w[present] = n / (c * counts[present])
        return w
    if scheme == "sqrt":
        raw = counts[present] ** -0.5
    elif scheme == "effective":
        raw = (1 - beta) / (1 - beta ** counts[present])
    else:
        raise AssertionError(scheme)
    w[present] = raw * n / (raw * counts[present]).sum()
    return w


def ref_loss(z, y, class_w=None, s=None):
    """sum_i s_i * l_i / sum_i s_i with l_i = -w_{y_i} log softmax(z_i)[y_i]."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    nll = -ref_log_softmax(z)[np.arange(len(y)), y]
    if class_w is not None:
        nll = np.asarray(class_w, dtype=np.float64)[y] * nll
    s = np.ones(len(y)) if s is None else np.asarray(s, dtype=np.float64)
    return (s * nll).sum() / s.sum()


def ref_grad(z, y, class_w=None, s=None):
    """d ref_loss / d z."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    n, c = z.shape
    onehot = np.eye(c)[y]
    row = np.ones(n) if class_w is None else np.asarray(class_w, dtype=np.float64)[y]
    s = np.ones(n) if s is None else np.asarray(s, dtype=np.float64)
    return (s * row)[:, None] * (ref_softmax(z) - onehot) / s.sum()


def _batch(n_classes, n=64, seed=0, scale=3.0):
    rng = np.random.default_rng(seed + n_classes)
    counts = COUNTS[n_classes]
    z = rng.normal(scale=scale, size=(n, n_classes))
    y = rng.choice(n_classes, size=n, p=counts / counts.sum())
    y[:n_classes] = np.arange(n_classes)  # every class occurs
    s = rng.uniform(0.1, 3.0, size=n)
    return z, y, s


def _run(loss, z, y, s=None, dtype=torch.float64):
    logits = torch.tensor(z, dtype=dtype, requires_grad=True)
    target = torch.as_tensor(y, dtype=torch.long)
    sw = None if s is None else torch.as_tensor(s, dtype=dtype)
    out = loss(logits, target, sw) if sw is not None else loss(logits, target)
    out.backward()
    return out, logits.grad


# ---------------------------------------------------------------------------
# class_weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 7])
@pytest.mark.parametrize("scheme", ["balanced", "sqrt", "effective"])
def test_class_weights_match_formula(n_classes, scheme):
    counts = COUNTS[n_classes]
    w = class_weights(counts, scheme, beta=0.99)
    assert w.dtype == np.float64 and w.shape == (n_classes,)
    np.testing.assert_allclose(w, ref_weights(counts, scheme, beta=0.99), rtol=1e-12)
    # the average weight of a training row is 1
    assert (w * counts).sum() == pytest.approx(counts.sum(), rel=1e-12)


def test_class_weights_balanced_values():
    np.testing.assert_allclose(class_weights([30, 10], "balanced"), [40 / 60, 40 / 20])
    # sklearn's rule: N / (C * n_c)
    np.testing.assert_allclose(class_weights([6, 3, 1], "balanced"), [10 / 18, 10 / 9, 10 / 3])


def test_class_weights_sqrt_ratios():
    w = class_weights([400, 100, 25], "sqrt")
    np.testing.assert_allclose(w / w[0], [1.0, 2.0, 4.0])


def test_class_weights_effective_ratios():
    beta = 0.9
    counts = np.array([50, 5, 1])
    w = class_weights(counts, "effective", beta=beta)
    raw = (1 - beta) / (1 - beta**counts)
    np.testing.assert_allclose(w / w[0], raw / raw[0], rtol=1e-12)


@pytest.mark.parametrize("scheme", ["balanced", "sqrt", "effective"])
def test_class_weights_zero_count_classes_get_zero(scheme):
    counts = np.array([0, 300, 0, 40, 10, 0])
    w = class_weights(counts, scheme, beta=0.99)
    assert np.all(np.isfinite(w))
    assert w[[0, 2, 5]].tolist() == [0.0, 0.0, 0.0]
    assert np.all(w[[1, 3, 4]] > 0)
    np.testing.assert_allclose(w, ref_weights(counts, scheme, beta=0.99), rtol=1e-12)
    assert (w * counts).sum() == pytest.approx(counts.sum())
    if scheme == "balanced":  # C counts only present classes
        np.testing.assert_allclose(w[1], 350 / (3 * 300))


def test_class_weights_effective_beta_to_one_approaches_balanced():
    counts = np.array([5000, 1000, 100, 20])
    balanced = class_weights(counts, "balanced")
    errors = []
    for beta in [0.9, 0.99, 0.999, 0.9999, 0.99999, 1 - 1e-7]:
        w = class_weights(counts, "effective", beta=beta)
        errors.append(np.max(np.abs(w / balanced - 1)))
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-3
    assert errors[0] > 0.5  # far from balanced at small beta


def test_class_weights_effective_beta_zero_is_uniform():
    np.testing.assert_allclose(class_weights([500, 20, 3], "effective", beta=0.0), [1, 1, 1])


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, float("nan"), "0.9"])
def test_class_weights_effective_rejects_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        class_weights([10, 5], "effective", beta=beta)


def test_class_weights_unknown_scheme():
    with pytest.raises(ValueError, match="balanced"):
        class_weights([10, 5], "inverse")


def test_class_weights_dict_used_as_given():
    w = class_weights([10, 0, 5], {"b": 0.5, "a": 2.0, "c": 7.0}, classes=["a", "b", "c"])
    np.testing.assert_array_equal(w, [2.0, 0.5, 7.0])
    w = class_weights(np.array([10, 5]), {1: 3.0, 0: 1.5}, classes=np.array([0, 1]))
    np.testing.assert_array_equal(w, [1.5, 3.0])


@pytest.mark.parametrize(
    "weights, match",
    [({"a": 1.0, "b": 2.0}, "missing"),
     ({"a": 1.0, "b": 2.0, "c": 1.0, "d": 4.0}, "unknown"),
     ({"a": 1.0, "b": -2.0, "c": 1.0}, ">= 0"),
     ({"a": 1.0, "b": float("inf"), "c": 1.0}, "finite")],
)
def test_class_weights_dict_validation(weights, match):
    with pytest.raises(ValueError, match=match):
        class_weights([1, 2, 3], weights, classes=["a", "b", "c"])


def test_class_weights_dict_needs_classes():
    with pytest.raises(ValueError):
        class_weights([1, 2], {0: 1.0, 1: 1.0})


# ---------------------------------------------------------------------------
# CrossEntropy / WeightedCrossEntropy against the reference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 7])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_ce_matches_reference(n_classes, weighted):
    z, y, s = _batch(n_classes)
    s = s if weighted else None
    loss = CrossEntropy()
    loss.set_class_counts(torch.as_tensor(COUNTS[n_classes]))
    out, grad = _run(loss, z, y, s)
    assert out.ndim == 0
    np.testing.assert_allclose(out.item(), ref_loss(z, y, None, s), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), ref_grad(z, y, None, s), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3, 7])
@pytest.mark.parametrize("eps", [0.05, 0.3])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_label_smoothed_ce_matches_its_definition(n_classes, eps, weighted):
    z, y, s = _batch(n_classes, seed=2)
    s = np.ones(len(y)) if not weighted else s
    loss = CrossEntropy(label_smoothing=eps)
    out, grad = _run(loss, z, y, s)
    # the target: 1 - eps on the row's class plus eps / C on every class
    target = (1 - eps) * np.eye(n_classes)[y] + eps / n_classes
    per_row = -(target * ref_log_softmax(z)).sum(axis=1)
    np.testing.assert_allclose(out.item(), (s * per_row).sum() / s.sum(), rtol=1e-12)
    expected_grad = s[:, None] * (ref_softmax(z) - target) / s.sum()
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-9, atol=1e-14)
    # extreme logits stay finite
    extreme, _ = _run(CrossEntropy(label_smoothing=eps), z.astype(np.float32) * 1e4, y,
                      dtype=torch.float32)
    assert torch.isfinite(extreme)


def test_label_smoothed_multilabel_ce_matches_its_definition():
    rng = np.random.default_rng(3)
    z, y = rng.normal(scale=3, size=(16, 4)), rng.random((16, 4)) < 0.3
    loss = CrossEntropy(label_smoothing=0.2)
    loss.multilabel = True
    out = loss(torch.tensor(z), torch.tensor(y, dtype=torch.float64))
    t = 0.8 * y + 0.1
    p = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis=1).mean()
    np.testing.assert_allclose(out.item(), expected, rtol=1e-10)


@pytest.mark.parametrize("bad", [-0.1, 1.0, True, "0.1"])
def test_label_smoothing_outside_zero_one_is_refused(bad):
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropy(label_smoothing=bad)


@pytest.mark.parametrize("n_classes", [2, 3, 7])
@pytest.mark.parametrize("scheme", ["balanced", "sqrt", "effective"])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_weighted_ce_matches_reference(n_classes, scheme, weighted):
    z, y, s = _batch(n_classes, seed=1)
    s = s if weighted else None
    counts = COUNTS[n_classes]
    loss = WeightedCrossEntropy(weights=scheme, beta=0.99)
    loss.set_class_counts(torch.as_tensor(counts))
    w = ref_weights(counts, scheme, beta=0.99)
    np.testing.assert_allclose(loss.class_weights.cpu().numpy(), w, rtol=1e-12)
    out, grad = _run(loss, z, y, s)
    np.testing.assert_allclose(out.item(), ref_loss(z, y, w, s), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), ref_grad(z, y, w, s), rtol=1e-9, atol=1e-14)
    # and it really is weighted: differs from plain CE
    assert abs(out.item() - ref_loss(z, y, None, s)) > 1e-3


def test_weighted_ce_reduction_is_weighted_mean_not_sum_of_weights():
    # sum_i s_i l_i / sum_i s_i, *not* divided by sum_i s_i w_{y_i}
    z = np.zeros((4, 2))
    y = np.array([0, 0, 0, 1])
    loss = WeightedCrossEntropy()
    loss.set_class_counts(torch.tensor([3, 1]))
    out = loss(torch.tensor(z), torch.tensor(y))
    w = np.array([4 / 6, 4 / 2])
    assert out.item() == pytest.approx(np.log(2) * w[y].mean(), rel=1e-12)
    assert out.item() == pytest.approx(np.log(2))  # average row weight is 1


def test_weighted_ce_dict_weights_with_labels():
    loss = WeightedCrossEntropy(weights={"Dry": 1.0, "Ice": 5.0, "Wet": 2.0})
    loss.set_class_counts(torch.tensor([50, 2, 10]), classes=np.array(["Dry", "Ice", "Wet"]))
    np.testing.assert_array_equal(loss.class_weights.numpy(), [1.0, 5.0, 2.0])
    z, y, s = _batch(3, seed=4)
    out, _ = _run(loss, z, y, s)
    np.testing.assert_allclose(out.item(), ref_loss(z, y, [1.0, 5.0, 2.0], s), rtol=1e-12)


def test_weighted_ce_dict_missing_label_raises():
    loss = WeightedCrossEntropy(weights={"Dry": 1.0})
    with pytest.raises(ValueError, match="missing"):
        loss.set_class_counts(torch.tensor([5, 1]), classes=["Dry", "Ice"])


def test_weighted_ce_zero_count_class_in_counts():
    loss = WeightedCrossEntropy()
    loss.set_class_counts(torch.tensor([40, 0, 10]))
    assert loss.class_weights.tolist()[1] == 0.0
    z, y, s = _batch(3, seed=2)
    y = np.where(y == 1, 0, y)
    out, grad = _run(loss, z, y, s)
    w = ref_weights([40, 0, 10], "balanced")
    np.testing.assert_allclose(out.item(), ref_loss(z, y, w, s), rtol=1e-12)
    assert torch.isfinite(grad).all()


def test_set_class_counts_recomputes_weights():
    loss = WeightedCrossEntropy()
    loss.set_class_counts(torch.tensor([30, 10]))
    loss.set_class_counts(torch.tensor([10, 10]))
    np.testing.assert_allclose(loss.class_weights.numpy(), [1.0, 1.0])
    assert loss.class_counts.tolist() == [10, 10]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss_cls", [CrossEntropy, WeightedCrossEntropy])
def test_sample_weight_dtype_mismatch(loss_cls, dtype):
    z, y, s = _batch(3, seed=5)
    loss = loss_cls()
    loss.set_class_counts(torch.as_tensor(COUNTS[3]))
    logits = torch.tensor(z, dtype=dtype)
    sw = torch.tensor(s, dtype=torch.float64 if dtype == torch.float32 else torch.float32)
    out = loss(logits, torch.tensor(y), sw)
    assert out.dtype == dtype
    w = loss.class_weights.numpy() if loss_cls is WeightedCrossEntropy else None
    np.testing.assert_allclose(out.item(), ref_loss(z, y, w, s), rtol=1e-5)


def test_sample_weight_scale_invariant_and_uniform_equals_unweighted():
    z, y, s = _batch(7, seed=6)
    loss = WeightedCrossEntropy(weights="sqrt")
    loss.set_class_counts(torch.as_tensor(COUNTS[7]))
    logits, target = torch.tensor(z), torch.tensor(y)
    a = loss(logits, target, torch.tensor(s)).item()
    b = loss(logits, target, torch.tensor(10 * s)).item()
    assert a == pytest.approx(b, rel=1e-12)
    c = loss(logits, target, torch.full((len(y),), 4.0, dtype=torch.float64)).item()
    assert c == pytest.approx(loss(logits, target).item(), rel=1e-12)
    # integer-valued weights behave as row repetition
    reps = np.array([1, 2] * (len(y) // 2))
    d = loss(logits, target, torch.tensor(reps, dtype=torch.float64)).item()
    e = loss(torch.tensor(np.repeat(z, reps, axis=0)), torch.tensor(np.repeat(y, reps))).item()
    assert d == pytest.approx(e, rel=1e-12)


@N_LABELS
@WEIGHTED
def test_multilabel_ce_matches_reference(n_labels, weighted):
    check_multilabel_matches_reference("ce", {}, n_labels, weighted)


@WEIGHTED
def test_multilabel_extreme_logits_match_the_reference(weighted):
    check_multilabel_extreme_logits_match_the_reference("ce", {}, weighted)


# ---------------------------------------------------------------------------
# numerical robustness; buffers, devices, dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("magnitude", [1e3, 1e4])
@pytest.mark.parametrize("loss_cls", [CrossEntropy, WeightedCrossEntropy])
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_extreme_logits_finite_loss_and_gradient(loss_cls, magnitude, weighted):
    rng = np.random.default_rng(7)
    z = rng.choice([-1.0, 1.0], size=(32, 7)) * magnitude * rng.uniform(0.5, 1, (32, 7))
    y = z.argmin(axis=1)  # the target has the smallest logit: huge but finite loss
    y[:4] = z[:4].argmax(axis=1)  # and a few confidently right rows: ~0 loss
    s = rng.uniform(0.5, 2, size=32) if weighted else None
    loss = loss_cls()
    loss.set_class_counts(torch.as_tensor(COUNTS[7]))
    out, grad = _run(loss, z.astype(np.float32), y, s, dtype=torch.float32)
    assert out.dtype == torch.float32
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    w = loss.class_weights.numpy() if loss_cls is WeightedCrossEntropy else None
    z32 = z.astype(np.float32)
    np.testing.assert_allclose(out.item(), ref_loss(z32, y, w, s), rtol=1e-4)
    np.testing.assert_allclose(grad.numpy(), ref_grad(z32, y, w, s), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("loss_cls", [CrossEntropy, WeightedCrossEntropy])
def test_loss_trains_a_linear_model(loss_cls):
    # gradients reach the parameters and reduce the loss
    torch.manual_seed(0)
    X = torch.randn(120, 4)
    y = (X[:, 0] > 0.8).long() + (X[:, 1] > 1.0).long()
    model = nn.Linear(4, 3)
    loss = loss_cls()
    loss.set_class_counts(torch.bincount(y, minlength=3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    first = None
    for _ in range(30):
        opt.zero_grad()
        value = loss(model(X), y)
        value.backward()
        assert model.weight.grad is not None and torch.isfinite(model.weight.grad).all()
        assert model.weight.grad.abs().sum() > 0
        opt.step()
        first = value.item() if first is None else first
    assert loss(model(X), y).item() < 0.7 * first


def test_statistics_are_registered_buffers():
    loss = WeightedCrossEntropy()
    loss.set_class_counts(torch.tensor([30, 10]))
    buffers = dict(loss.named_buffers())
    assert set(buffers) >= {"class_counts", "class_weights"}
    assert buffers["class_counts"].tolist() == [30, 10]
    state = loss.state_dict()
    assert "class_weights" in state and "class_counts" in state
    assert list(loss.parameters()) == []


@pytest.mark.parametrize("loss_cls", [CrossEntropy, WeightedCrossEntropy])
def test_to_cpu_and_double_keep_working(loss_cls):
    z, y, s = _batch(3, seed=8)
    loss = loss_cls()
    loss.set_class_counts(torch.as_tensor(COUNTS[3]))
    loss = loss.to("cpu").double()
    assert loss.class_counts.dtype == torch.float64  # masses: counts or sums of sample weights
    w = ref_weights(COUNTS[3], "balanced") if loss_cls is WeightedCrossEntropy else None
    out, _ = _run(loss, z, y, s)
    np.testing.assert_allclose(out.item(), ref_loss(z, y, w, s), rtol=1e-12)
    # set_class_counts after moving still works and keeps the device
    loss.set_class_counts(torch.tensor([5, 5, 5]))
    assert loss.class_counts.device.type == "cpu"
    out, _ = _run(loss, z, y, s)
    np.testing.assert_allclose(out.item(), ref_loss(z, y, None, s), rtol=1e-12)
    # .float() too, on float32 logits
    loss = loss.float()
    out32, _ = _run(loss, z.astype(np.float32), y, s, dtype=torch.float32)
    np.testing.assert_allclose(out32.item(), ref_loss(z, y, None, s), rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_buffers_and_forward():
    z, y, s = _batch(7, seed=9)
    loss = WeightedCrossEntropy(weights="effective").to("cuda")
    loss.set_class_counts(torch.as_tensor(COUNTS[7]))
    assert loss.class_weights.device.type == "cuda"
    assert loss.class_counts.device.type == "cuda"
    out = loss(torch.tensor(z, device="cuda"), torch.tensor(y, device="cuda"),
               torch.tensor(s, device="cuda"))
    w = ref_weights(COUNTS[7], "effective")
    np.testing.assert_allclose(out.item(), ref_loss(z, y, w, s), rtol=1e-10)


@pytest.mark.parametrize("kwargs, form", [
    ({"weights": "sqrt"}, "multiclass"), ({"weights": "effective", "beta": 0.9}, "binary"),
    ({"drw_epoch": 0}, "multiclass"),
])
def test_properties_hold_for_other_settings(kwargs, form):
    check_every_property("weighted_ce", kwargs, form)


# ---------------------------------------------------------------------------
# deferred re-weighting: an epoch of the call, or a fraction of its budget
# ---------------------------------------------------------------------------


COUNTS3 = torch.tensor([60, 30, 6])


DRW_LOSSES = pytest.mark.parametrize("loss_cls", [WeightedCrossEntropy, ClassBalancedLoss,
                                                  LDAMLoss])


def _weights_by_epoch(loss, n_epochs, pass_budget=True):
    on = []
    for epoch in range(n_epochs):
        loss.set_epoch(epoch, n_epochs if pass_budget else None)
        weighted = not torch.equal(loss.active_weights, torch.ones_like(loss.active_weights))
        if weighted:
            assert torch.equal(loss.active_weights, loss.class_weights)
        on.append(weighted)
    return on


def _switch_epoch(on):
    assert on == sorted(on), on  # off, then on for good
    return on.index(True) if True in on else None


@DRW_LOSSES
@pytest.mark.parametrize("drw_epoch, n_epochs, expected", [
    (3, 10, 3), (0.3, 10, 3),          # the same switch, as an epoch or a fraction
    (0, 5, 0), (None, 5, 0),
    (0.5, 5, 3), (0.5, 4, 2),          # ceil(f * n)
    (0.07, 100, 7), (0.14, 50, 7),     # not 8: 0.07 * 100 is 7.000000000000001 in floats
    (0.01, 10, 1),                     # a fraction never switches at epoch 0
    (0.999, 10, 10), (12, 10, 10),     # never within the call
])
def test_drw_switch_epoch(loss_cls, drw_epoch, n_epochs, expected):
    loss = loss_cls(drw_epoch=drw_epoch)
    loss.set_class_counts(COUNTS3)
    if loss_cls is LDAMLoss and drw_epoch is None:  # LDAM without DRW has no class weights
        assert torch.equal(loss.class_weights, torch.ones(3, dtype=torch.float64))
        return
    on = _weights_by_epoch(loss, n_epochs)
    assert (_switch_epoch(on) if True in on else n_epochs) == expected


def test_drw_fraction_matches_ceil_of_the_budget():
    for f in (0.1, 0.25, 0.3, 0.5, 0.75, 0.9):
        for n in (1, 4, 7, 20, 60):
            loss = WeightedCrossEntropy(drw_epoch=f)
            loss.set_class_counts(COUNTS3)
            on = _weights_by_epoch(loss, n)
            assert (_switch_epoch(on) if True in on else n) == min(n, math.ceil(round(f * n, 9)))


@DRW_LOSSES
def test_drw_clock_restarts_at_every_call(loss_cls):
    loss = loss_cls(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 10)) == 5
    assert not torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    # a new call (fit or partial_fit) gives its statistics again: epoch 0, unweighted
    loss.set_class_counts(COUNTS3)
    assert (loss.epoch, loss.n_epochs) == (0, None)
    assert torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    assert _switch_epoch(_weights_by_epoch(loss, 4)) == 2  # this call's budget
    # an int counts epochs of the call, whatever came before
    loss = loss_cls(drw_epoch=2)
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 6, pass_budget=False)) == 2
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 3, pass_budget=False)) == 2


def test_drw_switch_changes_the_loss_value():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5], [0.3, 0.2, 0.1]], dtype=torch.float64)
    y = torch.tensor([0, 1, 2])
    loss = WeightedCrossEntropy(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)
    plain = torch.nn.functional.cross_entropy(z, y, reduction="none")
    w = torch.as_tensor(class_weights(COUNTS3.numpy(), "balanced"))
    for epoch, expected in ((0, plain.mean()), (1, plain.mean()), (2, (w[y] * plain).mean()),
                            (3, (w[y] * plain).mean())):
        loss.set_epoch(epoch, 4)
        assert loss(z, y).item() == pytest.approx(expected.item(), rel=1e-12), epoch


@DRW_LOSSES
def test_drw_fraction_needs_the_budget(loss_cls):
    loss = loss_cls(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)  # before the first epoch: unweighted, no budget needed
    assert torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    for epoch in (0, 3):
        with pytest.raises(ValueError, match="loss__drw_epoch=0.5 is a fraction"):
            loss.set_epoch(epoch)
    loss = loss_cls(drw_epoch=3)
    loss.set_class_counts(COUNTS3)
    loss.set_epoch(3)  # an epoch needs no budget (the estimator's call today)
    assert torch.equal(loss.active_weights, loss.class_weights)


@DRW_LOSSES
@pytest.mark.parametrize("bad", [True, False, -1, -0.2, 0.0, 1.0, 1.5, 2.0, float("nan"),
                                 float("inf"), "2", [1]])
def test_drw_epoch_refused(loss_cls, bad):
    with pytest.raises(ValueError, match="loss__drw_epoch"):
        loss_cls(drw_epoch=bad).set_class_counts(COUNTS3)


@DRW_LOSSES
@pytest.mark.parametrize("good", [None, 0, 4, np.int64(2), 0.5, np.float64(0.25), 1e-9])
def test_drw_epoch_accepted(loss_cls, good):
    loss_cls(drw_epoch=good).set_class_counts(COUNTS3)


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
