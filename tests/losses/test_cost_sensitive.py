"""The cost-sensitive (real-world-weight) cross-entropy, ``loss="cost_sensitive"``, against
a float64 reference written straight from its definition

    l = -log p_y + sum_{j != y} C[y, j] * (-log(1 - p_j)),   p = softmax(z),

with plain torch arithmetic (``exp / sum``, no log-space tricks, no skimb code), so that
autograd gives reference gradients too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score

from skimb import ImbalancedTorchClassifier
from skimb.losses import CostSensitiveLoss, make_loss
from tests.helpers import COUNTS

N_CLASSES = pytest.mark.parametrize("n_classes", [2, 3, 7])
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ref_rows(z, y, cost):
    """Per-row losses from the definition; the diagonal of ``cost`` is never read."""
    p = torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True)
    rows = []
    for i in range(len(y)):
        t = int(y[i])
        row = -torch.log(p[i, t])
        for j in range(z.shape[1]):
            if j != t:
                row = row + float(cost[t][j]) * -torch.log(1.0 - p[i, j])
        rows.append(row)
    return torch.stack(rows)


def ref_loss(z, y, cost, s=None):
    """sum_i s_i l_i / sum_i s_i (the plain mean without weights), and its gradient."""
    logits = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    rows = ref_rows(logits, y, cost)
    out = rows.mean() if s is None else (torch.as_tensor(s) * rows).sum() / float(np.sum(s))
    out.backward()
    return out.item(), logits.grad.numpy()


def run(loss, z, y, s=None, dtype=torch.float64):
    logits = torch.tensor(np.asarray(z), dtype=dtype, requires_grad=True)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=dtype)
    out = loss(logits, target, sw)
    out.backward()
    return out, logits.grad


def batch(n_classes, n=40, seed=0, scale=3.0):
    rng = np.random.default_rng(100 * n_classes + seed)
    z = rng.normal(scale=scale, size=(n, n_classes))
    y = rng.integers(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    return z, y, rng.uniform(0.1, 3.0, size=n)


def random_cost(n_classes, seed=0):
    """Random costs, a diagonal that must be ignored, and some zero pairs."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.0, 5.0, size=(n_classes, n_classes))
    cost[rng.uniform(size=cost.shape) < 0.2] = 0.0
    np.fill_diagonal(cost, 100.0)
    return cost


def fitted(cost=None, n_classes=3, classes=None):
    loss = CostSensitiveLoss(cost=cost)
    loss.set_class_counts(torch.as_tensor(COUNTS[n_classes]), classes)
    return loss


# ---------------------------------------------------------------------------
# the value and gradient against the definition
# ---------------------------------------------------------------------------


@N_CLASSES
@WEIGHTED
def test_matches_float64_reference(n_classes, weighted):
    z, y, s = batch(n_classes, seed=1)
    s = s if weighted else None
    cost = random_cost(n_classes, seed=n_classes)
    out, grad = run(fitted(cost, n_classes), z, y, s)
    ref, ref_grad = ref_loss(z, y, cost, s)
    assert out.dtype == torch.float64 and out.ndim == 0
    np.testing.assert_allclose(out.item(), ref, rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), ref_grad, rtol=1e-8, atol=1e-12)


@N_CLASSES
def test_default_costs_one_for_every_error(n_classes):
    z, y, _ = batch(n_classes, seed=2)
    out, _ = run(fitted(None, n_classes), z, y)
    ref, _ = ref_loss(z, y, np.ones((n_classes, n_classes)))
    np.testing.assert_allclose(out.item(), ref, rtol=1e-10)
    # = the one-vs-rest binary cross-entropies of the softmax probabilities, summed
    p = torch.softmax(torch.tensor(z), dim=1)
    onehot = F.one_hot(torch.as_tensor(y), n_classes).double()
    ovr = F.binary_cross_entropy(p, onehot, reduction="none").sum(dim=1).mean()
    np.testing.assert_allclose(out.item(), ovr.item(), rtol=1e-10)
    if n_classes == 2:  # twice the cross-entropy
        ce = F.cross_entropy(torch.tensor(z), torch.as_tensor(y))
        np.testing.assert_allclose(out.item(), 2 * ce.item(), rtol=1e-10)


@N_CLASSES
@WEIGHTED
def test_zero_cost_is_cross_entropy(n_classes, weighted):
    z, y, s = batch(n_classes, seed=3)
    s = s if weighted else None
    out, _ = run(fitted(np.zeros((n_classes, n_classes)), n_classes), z, y, s)
    rows = F.cross_entropy(torch.tensor(z), torch.as_tensor(y), reduction="none")
    expected = rows.mean() if s is None else (torch.as_tensor(s) * rows).sum() / s.sum()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-12)


def test_diagonal_is_ignored():
    z, y, _ = batch(3, seed=4)
    cost = random_cost(3, seed=5)
    other = cost.copy()
    np.fill_diagonal(other, 0.0)
    assert run(fitted(cost), z, y)[0].item() == run(fitted(other), z, y)[0].item()
    assert np.all(np.diag(fitted(cost).cost_matrix.numpy()) == 0)


def test_raising_a_cost_raises_the_loss_of_that_error_only():
    z = np.array([[2.0, 1.0, -1.0]])
    base = np.ones((3, 3))
    dearer = base.copy()
    dearer[2, 0] = 5.0  # predicting class 0 for a row of class 2
    assert run(fitted(dearer), z, [2])[0].item() > run(fitted(base), z, [2])[0].item()
    assert run(fitted(dearer), z, [1])[0].item() == run(fitted(base), z, [1])[0].item()


# ---------------------------------------------------------------------------
# extreme logits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e3, 1e4])
def test_extreme_logits_finite_with_finite_gradients(dtype, scale):
    rng = np.random.default_rng(7)
    n_classes, n = 4, 32
    z = rng.choice([-1.0, 1.0], size=(n, n_classes)) * scale * rng.uniform(0.5, 1.0, (n, n_classes))
    y = z.argmax(axis=1)
    y[: n // 2] = z[: n // 2].argmin(axis=1)  # half the rows are confidently wrong
    cost = random_cost(n_classes, seed=8)
    loss = _fitted4(cost)
    for s in (None, rng.uniform(0.5, 2.0, size=n)):
        out, grad = run(loss, z, y, s, dtype=dtype)
        assert out.dtype == dtype
        assert torch.isfinite(out) and torch.isfinite(grad).all()
        assert out.item() > 0.1 * scale  # the wrong rows cost in proportion to the logits
        assert grad.abs().sum() > 0
        # the right rows alone: small, still finite
        right, grad = run(loss, z[n // 2:], y[n // 2:], dtype=dtype)
        assert torch.isfinite(right) and torch.isfinite(grad).all()
        assert 0.0 <= right.item() < out.item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tied_and_far_largest_logits_against_the_reference(dtype):
    # ties at the largest logit (only one is "the" largest), a largest far above the others
    # (1 - p of it is tiny but must not round to 0) and one far below (p of it underflows)
    z = np.array([[2.0, 2.0, -1.0, 0.5], [3.0, 3.0, 3.0, 3.0], [30.0, 0.0, -1.0, 1.0],
                  [0.0, -60.0, 1.0, 0.5]])
    y = np.array([2, 1, 1, 3])
    cost = random_cost(4, seed=3)
    out, grad = run(_fitted4(cost), z, y, dtype=dtype)
    ref, ref_grad = ref_loss(z, y, cost)
    rtol = 1e-10 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(out.item(), ref, rtol=rtol)
    np.testing.assert_allclose(grad.double().numpy(), ref_grad, rtol=rtol, atol=rtol * 1e-2)


def test_many_classes_in_rows_times_classes_memory():
    # 64 rows of 20,000 classes: a (rows, classes, classes) tensor would need 100 GB
    n, n_classes = 64, 20_000
    z = torch.randn(n, n_classes, generator=torch.Generator().manual_seed(0)) * 5
    y = torch.randint(0, n_classes, (n,), generator=torch.Generator().manual_seed(1))
    loss = CostSensitiveLoss()
    loss.set_class_counts(torch.ones(n_classes, dtype=torch.long))
    out, grad = run(loss, z.numpy(), y.numpy(), dtype=torch.float32)
    p = torch.softmax(z.double(), dim=1)  # the default costs: one-vs-rest BCE, summed
    onehot = F.one_hot(y, n_classes).double()
    expected = F.binary_cross_entropy(p, onehot, reduction="none").sum(dim=1).mean()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-4)
    assert torch.isfinite(grad).all()


def _fitted4(cost):
    loss = CostSensitiveLoss(cost=cost)
    loss.set_class_counts(torch.tensor([50, 20, 5, 1]))
    return loss


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_exact_value(dtype):
    # z = (1e4, -1e4), y = 1: -log p_1 = 2e4 and -log(1 - p_0) = 2e4 (up to e^-2e4)
    loss = fitted([[0.0, 0.0], [3.0, 0.0]], 2)
    out, grad = run(loss, [[1e4, -1e4]], [1], dtype=dtype)
    assert out.item() == pytest.approx(2e4 + 3.0 * 2e4, rel=1e-6)
    np.testing.assert_allclose(grad.double().numpy(), [[4.0, -4.0]], rtol=1e-6)


# ---------------------------------------------------------------------------
# costs given per label, sample weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("classes, cost, matrix", [
    (["dry", "ice", "wet"], {"ice": {"dry": 10.0, "wet": 2.0}, "wet": {"ice": 3.0}},
     [[0, 0, 0], [10, 0, 2], [0, 3, 0]]),
    (np.array([3, 7, 9]), {7: {3: 4.0}, 3: {9: 0.5, 3: 99.0}},
     [[0, 0, 0.5], [4, 0, 0], [0, 0, 0]]),
    (None, {2: {0: 1.5}}, [[0, 0, 0], [0, 0, 0], [1.5, 0, 0]]),  # no labels: class indices
])
def test_dict_keyed_by_labels_equals_the_matrix(classes, cost, matrix):
    by_label = fitted(cost, 3, classes)
    by_matrix = fitted(matrix, 3, classes)
    assert by_label.cost_matrix.tolist() == np.asarray(matrix, dtype=float).tolist()
    z, y, s = batch(3, seed=9)
    assert run(by_label, z, y, s)[0].item() == run(by_matrix, z, y, s)[0].item()


@N_CLASSES
def test_sample_weight_weighted_mean_and_zero_weight_removes_row(n_classes):
    z, y, s = batch(n_classes, seed=10)
    cost = random_cost(n_classes, seed=11)
    loss = fitted(cost, n_classes)
    rows = ref_rows(torch.tensor(z), y, cost).numpy()
    out, _ = run(loss, z, y, s)
    np.testing.assert_allclose(out.item(), (s * rows).sum() / s.sum(), rtol=1e-10)
    s = s.copy()
    s[[0, 5, 9]] = 0.0
    out, grad = run(loss, z, y, s)
    kept = np.ones(len(y), dtype=bool)
    kept[[0, 5, 9]] = False
    np.testing.assert_allclose(out.item(), run(loss, z[kept], y[kept], s[kept])[0].item(),
                               rtol=1e-12)
    assert torch.all(grad[~torch.as_tensor(kept)] == 0)


# ---------------------------------------------------------------------------
# refused costs and targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cost", [
    [[0, 1], [1, 0]],                      # 2x2 for 3 classes
    [1.0, 2.0, 3.0],                       # not a matrix
    2.0,                                   # a number
    np.ones((3, 4)),                       # not square
    [[0, -1, 0], [0, 0, 0], [0, 0, 0]],    # negative
    [[0, np.nan, 0], [0, 0, 0], [0, 0, 0]],
    [[0, np.inf, 0], [0, 0, 0], [0, 0, 0]],
    "balanced",
    [["a", "b", "c"]] * 3,
    {"ice": {"snow": 1.0}},                # unknown predicted label
    {"snow": {"dry": 1.0}},                # unknown true label
    {"ice": 2.0},                          # not a dict of dicts
    {"ice": {"dry": "high"}},              # not a number
    {"ice": {"dry": -2.0}},                # negative
])
def test_bad_costs_refused(cost):
    with pytest.raises(ValueError, match="loss__cost"):
        fitted(cost, 3, classes=["dry", "ice", "wet"])


def test_make_loss_by_name():
    loss = make_loss("cost_sensitive", {"cost": [[0, 1], [5, 0]]})
    assert isinstance(loss, CostSensitiveLoss) and loss.cost == [[0, 1], [5, 0]]


def test_buffers_follow_the_module_dtype_and_refit_restores_float64():
    loss = fitted(random_cost(3, seed=12), 3)
    z, y, s = batch(3, seed=13)
    expected = run(loss, z, y, s)[0].item()
    loss.float()
    assert loss.cost_matrix.dtype == torch.float32
    out = run(loss, z.astype(np.float32), y, s, dtype=torch.float32)[0]
    assert out.item() == pytest.approx(expected, rel=1e-5)
    loss.set_class_counts(torch.as_tensor(COUNTS[3]))
    assert loss.cost_matrix.dtype == torch.float64


# ---------------------------------------------------------------------------
# through the estimator
# ---------------------------------------------------------------------------


def test_estimator_raising_the_cost_of_missing_a_rare_class_raises_its_recall():
    X, y = make_classification(n_samples=900, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, weights=[0.8, 0.15], class_sep=1.0, flip_y=0.0,
                               random_state=0)
    labels = np.array(["dry", "frost", "ice"])[y]  # "ice" is the rare class (5%)
    recall = {}
    for cost in (0.0, 10.0):
        clf = ImbalancedTorchClassifier(
            loss="cost_sensitive", loss__cost={"ice": {"dry": cost, "frost": cost}},
            max_epochs=20, module__hidden_units=(16,), device="cpu", random_state=0,
        ).fit(X, labels)
        pred = clf.predict(X)
        assert pred.shape == labels.shape and set(pred) <= set(labels)
        assert clf.criterion_.cost_matrix[2].tolist() == [cost, cost, 0.0]
        recall[cost] = recall_score(labels, pred, labels=["ice"], average=None)[0]
    assert recall[10.0] > recall[0.0] + 0.3, recall


def test_estimator_refuses_a_bad_cost():
    X, y = make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)
    clf = ImbalancedTorchClassifier(loss="cost_sensitive", loss__cost=[[0, 1], [1, 0]],
                                    max_epochs=1, module__hidden_units=(8,), device="cpu",
                                    random_state=0)
    with pytest.raises(ValueError, match=r"loss__cost has shape \(2, 2\); y has 3 classes"):
        clf.fit(X, y)
