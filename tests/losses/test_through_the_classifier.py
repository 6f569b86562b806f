"""The losses inside ImbalancedTorchClassifier and GridSearchCV: deferred re-weighting end to
end, the output-to-probability map of each family, the parameters' refusals at fit, searches
over each loss's parameters, and what a loss changes in the predictions. Every registered
loss's fit on the targets it declares is in ``test_common.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from skorch.callbacks import Callback

from skimb import ImbalancedTorchClassifier
from skimb.losses import (
    BalancedSoftmaxLoss,
    BinaryCrossEntropy,
    ClassBalancedLoss,
    ClassRectificationLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
)
from tests.losses.reference import ref_log_softmax

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_FEATURES = 6
FAST = dict(max_epochs=2, module__hidden_units=(16,), device="cpu", random_state=0)
SIGMOID_LOSSES = ("bce", "asl")


def _data(n_classes, n=300, seed=0):
    weights = {2: [0.85], 3: [0.75, 0.17, 0.08]}[n_classes]
    return make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=4, n_redundant=0,
        n_classes=n_classes, weights=weights, class_sep=1.5, random_state=seed)


_FITTED = {}


def _raw_proba(clf, X):
    """``predict_proba`` with ``calibration=None``, from a copy (the fits are shared)."""
    return pickle.loads(pickle.dumps(clf)).set_params(calibration=None).predict_proba(X)


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


# ---------------------------------------------------------------------------
# deferred re-weighting end to end
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# the output-to-probability map
# ---------------------------------------------------------------------------


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


@pytest.mark.parametrize("loss", ["logit_adjusted", "balanced_softmax", "vs"])
def test_predict_proba_is_softmax_of_the_adjusted_output(loss):
    """The raw output (``calibration=None``) is the softmax of the logits; the calibrated one
    the softmax of what the loss's cross-entropy saw (``z + tau log pi``, VS's scale)."""
    clf, X, _ = fitted(loss, 3)
    calibrated = clf.predict_proba(X)
    proba = _raw_proba(clf, X)
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
    np.testing.assert_allclose(calibrated, torch.softmax(adjusted, dim=1).numpy(), atol=1e-5)


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
    proba = _raw_proba(clf, X)
    z = _raw_output(clf, X)
    assert z.shape == (len(X), 1)
    p = torch.sigmoid(z[:, 0]).numpy()
    shift = np.log(clf.criterion_.positive_weight.item()) if loss == "bce" else 0.0
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1],
                               torch.sigmoid(z[:, 0] - shift).numpy(), atol=1e-6)
    np.testing.assert_allclose(proba[:, 1], p, atol=1e-6)
    np.testing.assert_allclose(proba[:, 0], 1 - p, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), (p > 0.5).astype(int))


@pytest.mark.parametrize("loss", ["ce", "focal", "weighted_ce", "class_balanced", "crl"])
def test_predict_proba_plain_softmax_losses(loss):
    """The raw output is the softmax of the logits; the calibrated one undoes class weights
    (focal's focusing and CRL's triplets have no closed form)."""
    clf, X, _ = fitted(loss, 3)
    z = _raw_output(clf, X)
    np.testing.assert_allclose(_raw_proba(clf, X), torch.softmax(z, dim=1).numpy(), atol=1e-5)
    weights = getattr(clf.criterion_, "active_weights", torch.ones(3))
    np.testing.assert_allclose(clf.predict_proba(X),
                               torch.softmax(z - weights.log().float(), dim=1).numpy(),
                               atol=1e-5)


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


# ---------------------------------------------------------------------------
# parameters refused at fit
# ---------------------------------------------------------------------------


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
# GridSearchCV over each loss's parameters
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
