"""``calibration="prior"`` and ``class_priors`` through the classifier: on simulated problems
whose true posterior is known, the corrected ``predict_proba`` approaches it for every
closed-form strategy and the raw output does not; ``predict`` never moves; the correction
survives pickle, ``save_params`` / ``load_params``, ``GridSearchCV`` and an imbalanced-learn
``Pipeline``, and is refitted by ``partial_fit`` and ``warm_start``."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from torch import nn

from skimb import ImbalancedTorchClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PRIORS = np.array([0.75, 0.18, 0.07])
MEANS = np.array([[0.0, 0.0], [1.5, 0.5], [0.3, 1.6]])


def _gaussians(n, seed, priors=PRIORS, means=MEANS):
    """Rows of Gaussian classes (unit covariance) and the true posterior of each row."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(priors), size=n, p=priors)
    X = (means[y] + rng.standard_normal((n, means.shape[1]))).astype(np.float32)
    return X, y, _posterior(X, priors, means)


def _posterior(X, priors, means):
    logits = np.log(priors) + X @ means.T - 0.5 * (means**2).sum(axis=1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _linear(n_out, **params):
    """A logistic model: the Gaussians' posterior is in its family, so it can be learned."""
    params = {"max_epochs": 20, **params}
    return ImbalancedTorchClassifier(
        module=nn.Linear, module__in_features=2, module__out_features=n_out, lr=0.05,
        batch_size=256, random_state=0, device="cpu", **params)


def _errors(clf, X, truth):
    """Mean absolute error to the true posterior: corrected, raw."""
    corrected = clf.predict_proba(X)
    raw = clf.set_params(calibration=None).predict_proba(X)
    clf.set_params(calibration="prior")
    return np.abs(corrected - truth).mean(), np.abs(raw - truth).mean()


@pytest.fixture(scope="module")
def gaussians():
    return _gaussians(3000, seed=0), _gaussians(1000, seed=1)


@pytest.mark.parametrize("params", [
    dict(loss="weighted_ce"),
    dict(loss="weighted_ce", loss__weights="sqrt"),
    dict(loss="class_balanced"),
    dict(loss="logit_adjusted"),
    dict(loss="balanced_softmax"),
    dict(loss="vs"),
    dict(sampler="under"),
    dict(sampler="over"),
    dict(sampler="sqrt"),
    dict(sampler="balanced_batch"),
    dict(sampler=RandomUnderSampler()),
    dict(sampler="sqrt", loss="weighted_ce"),
    dict(sampler="under", loss="logit_adjusted"),
], ids=lambda p: "+".join(str(v) if isinstance(v, str) else type(v).__name__
                          for v in p.values()))
def test_corrected_probabilities_approach_the_true_posterior(gaussians, params):
    (X, y, _), (X_test, _, truth) = gaussians
    clf = _linear(3, **params).fit(X, y)
    assert clf.calibration_.exact
    corrected, raw = _errors(clf, X_test, truth)
    assert corrected < 0.025, (corrected, raw)
    assert raw > 3 * corrected, (corrected, raw)


def test_progressive_is_corrected_for_its_last_epoch(gaussians):
    """The model learned over the whole schedule, so the last epoch's share over-corrects a
    little: closer to the truth than the raw output, not as close as a fixed sampler."""
    (X, y, _), (X_test, _, truth) = gaussians
    corrected, raw = _errors(_linear(3, sampler="progressive").fit(X, y), X_test, truth)
    assert corrected < 0.05 and raw > 2 * corrected, (corrected, raw)


def test_the_default_is_the_raw_output_bit_for_bit(gaussians):
    (X, y, _), (X_test, _, truth) = gaussians
    clf = _linear(3).fit(X, y)
    assert clf.calibration_.is_identity
    proba = clf.predict_proba(X_test)
    assert proba.dtype == np.float32
    np.testing.assert_array_equal(proba, clf.set_params(calibration=None).predict_proba(X_test))
    assert np.abs(proba - truth).mean() < 0.02


@pytest.mark.parametrize("loss", ["bce", "weighted_ce"])
def test_binary_targets(loss):
    priors, means = np.array([0.9, 0.1]), np.array([[0.0, 0.0], [1.5, 1.0]])
    X, y, _ = _gaussians(3000, 0, priors, means)
    X_test, _, truth = _gaussians(1000, 1, priors, means)
    clf = _linear(1 if loss == "bce" else 2, loss=loss).fit(X, y)
    corrected, raw = _errors(clf, X_test, truth)
    assert corrected < 0.025 and raw > 3 * corrected, (corrected, raw)


def test_multilabel_pos_weight():
    rng = np.random.default_rng(0)
    A, b = np.array([[2.0, -1.0], [0.5, 1.5]]), np.array([-3.0, -2.0])
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    X = rng.standard_normal((4000, 2)).astype(np.float32)
    X_test = rng.standard_normal((1000, 2)).astype(np.float32)
    Y = (rng.random((4000, 2)) < sigmoid(X @ A + b)).astype(np.int64)
    clf = _linear(2, loss="bce").fit(X, Y)
    assert clf.calibration_.form == "multilabel"
    corrected, raw = _errors(clf, X_test, sigmoid(X_test @ A + b))
    assert corrected < 0.025 and raw > 3 * corrected, (corrected, raw)
    np.testing.assert_array_equal(clf.predict(X_test),
                                  clf.set_params(calibration=None).predict(X_test))


@pytest.mark.parametrize("params", [dict(sampler="under"), dict(loss="weighted_ce")])
def test_sample_weight_sets_the_distribution_calibrated_to(params):
    """Rows of class 2 weighted 3: the probabilities are those of the weighted data."""
    X, y, _ = _gaussians(3000, 0)
    X_test, _, _ = _gaussians(1000, 1)
    weight = np.where(y == 2, 3.0, 1.0)
    weighted_priors = PRIORS * [1, 1, 3] / (PRIORS * [1, 1, 3]).sum()
    truth = _posterior(X_test, weighted_priors, MEANS)
    clf = _linear(3, **params).fit(X, y, sample_weight=weight)
    mass = np.bincount(y, weights=weight)
    np.testing.assert_allclose(clf.calibration_.train_priors, mass / mass.sum())
    corrected, raw = _errors(clf, X_test, truth)
    assert corrected < 0.025 and raw > 3 * corrected, (corrected, raw)


@pytest.mark.parametrize("params", [
    dict(loss="logit_adjusted"), dict(sampler="under", decision="prior"),
    dict(loss="weighted_ce", decision="tuned",
         train_split=__import__("skorch").dataset.ValidSplit(5, stratified=True)),
    dict(loss="bce"), dict(sampler="over", class_priors=[1, 1, 1]),
])
def test_predict_is_the_same_whatever_the_calibration(gaussians, params):
    (X, y, _), (X_test, _, _) = gaussians
    if params.get("loss") == "bce":
        clf = _linear(1, **params).fit(X[:600], y[:600] > 0)
    else:
        clf = _linear(3, **params).fit(X[:600], y[:600])
    predicted = clf.predict(X_test)
    clf.set_params(calibration=None, class_priors=None)
    np.testing.assert_array_equal(clf.predict(X_test), predicted)


def test_class_priors_move_the_probabilities_not_the_decision(gaussians):
    (X, y, _), (X_test, _, _) = gaussians
    clf = _linear(3, sampler="under").fit(X, y)
    proba, predicted = clf.predict_proba(X_test), clf.predict(X_test)
    new = np.array([0.2, 0.3, 0.5])
    clf.set_params(class_priors={0: 0.2, 1: 0.3, 2: 0.5})
    assert clf.initialized_  # set_params does not unfit
    moved = clf.predict_proba(X_test).astype(np.float64)
    expected = proba * new / clf.calibration_.train_priors
    np.testing.assert_allclose(moved, expected / expected.sum(axis=1, keepdims=True),
                               atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_test), predicted)
    # against the true posterior under the new priors
    truth = _posterior(X_test, new, MEANS)
    assert np.abs(moved - truth).mean() < 0.03


def test_class_priors_are_checked_at_predict(gaussians):
    (X, y, _), (X_test, _, _) = gaussians
    clf = _linear(3).fit(X[:300], y[:300])
    with pytest.raises(ValueError, match=r"not among classes_ \[0, 1, 2\]: \[7\]"):
        clf.set_params(class_priors={0: 1, 1: 1, 7: 1}).predict_proba(X_test)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        clf.set_params(class_priors=[0.5, 0.5]).predict_log_proba(X_test)
    with pytest.raises(ValueError, match="needs calibration='prior'"):
        clf.set_params(class_priors=[1, 1, 1], calibration=None).predict_proba(X_test)
    with pytest.raises(ValueError, match="calibration must be 'prior' or None"):
        clf.set_params(class_priors=None, calibration="auto").predict_proba(X_test)
    with pytest.raises(ValueError, match="calibration must be 'prior' or None"):
        _linear(3, calibration="isotonic").fit(X[:300], y[:300])
    assert clf.set_params(calibration="prior").predict(X_test).shape == (len(X_test),)


def test_bad_class_priors_are_refused_before_the_forward_pass(gaussians, monkeypatch):
    (X, y, _), (X_test, _, _) = gaussians
    clf = _linear(3).fit(X[:300], y[:300]).set_params(class_priors=[0.5, 0.5])
    monkeypatch.setattr(clf, "forward", lambda *args, **kwargs: pytest.fail("forward ran"))
    for method in (clf.predict_proba, clf.predict_log_proba):
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            method(X_test)


def test_an_unfitted_model_with_class_priors_is_not_fitted():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        _linear(3, class_priors=[0.2, 0.3, 0.5]).predict_proba(np.zeros((2, 2), np.float32))


def test_predict_log_proba_is_the_log_in_log_space(gaussians):
    (X, y, _), (X_test, _, _) = gaussians
    clf = _linear(3, loss="weighted_ce").fit(X[:600], y[:600])
    for calibration in ("prior", None):
        clf.set_params(calibration=calibration)
        log_p = clf.predict_log_proba(X_test)
        assert log_p.dtype == np.float64
        np.testing.assert_allclose(np.exp(log_p), clf.predict_proba(X_test), atol=1e-6)


class Huge(nn.Module):
    def __init__(self, n_out=3):
        super().__init__()
        self.linear = nn.Linear(2, n_out)

    def forward(self, X):
        return self.linear(X) * 1e30


@pytest.mark.parametrize("params", [dict(loss="weighted_ce"), dict(loss="bce", module__n_out=1),
                                    dict(loss="vs", class_priors=[0.5, 0.3, 0.2])])
def test_extreme_logits_stay_finite(gaussians, params):
    (X, y, _), (X_test, _, _) = gaussians
    y = y if "bce" not in str(params) else (y > 0).astype(int)
    clf = ImbalancedTorchClassifier(module=Huge, max_epochs=1, lr=1e-30, random_state=0,
                                    device="cpu", **params).fit(X[:300], y[:300])
    proba, log_p = clf.predict_proba(X_test), clf.predict_log_proba(X_test)
    assert np.isfinite(proba).all() and np.isfinite(log_p).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_pickle_and_save_params_keep_the_correction(gaussians, tmp_path):
    (X, y, _), (X_test, _, _) = gaussians
    clf = _linear(3, sampler="under", loss="logit_adjusted").fit(X[:600], y[:600])
    proba = clf.predict_proba(X_test)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X_test), proba)
    files = {name: tmp_path / f"{name}.pt" for name in ("params", "fitted")}
    clf.save_params(f_params=files["params"], f_fitted=files["fitted"])
    restored = _linear(3, sampler="under", loss="logit_adjusted").initialize()
    restored.load_params(f_params=files["params"], f_fitted=files["fitted"])
    np.testing.assert_array_equal(restored.predict_proba(X_test), proba)
    # without f_fitted there is no correction to apply: the raw output, as the network gives it
    bare = _linear(3, sampler="under", loss="logit_adjusted").initialize()
    bare.load_params(f_params=files["params"])
    np.testing.assert_array_equal(bare.predict_proba(X_test),
                                  clf.set_params(calibration=None).predict_proba(X_test))


def test_a_model_pickled_before_round_4_keeps_its_raw_output():
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "round3"
    with open(folder / "decision_prior.pkl", "rb") as f:
        clf = pickle.load(f)
    assert clf.get_params()["calibration"] is None and clf.class_priors is None
    assert not hasattr(clf, "calibration_")


def test_inside_grid_search_and_an_imblearn_pipeline(gaussians):
    (X, y, _), (X_test, _, truth) = gaussians
    search = GridSearchCV(_linear(3, sampler="under", max_epochs=10),
                          {"calibration": ["prior", None]}, scoring="neg_log_loss", cv=3)
    search.fit(X[:1500], y[:1500])
    assert search.best_params_ == {"calibration": "prior"}
    pipe = Pipeline([("scale", StandardScaler()), ("under", RandomUnderSampler(random_state=0)),
                     ("clf", _linear(3, loss="weighted_ce"))]).fit(X, y)
    # the pipeline's under-sampling makes the data the classifier sees: balanced classes
    balanced = _posterior(X_test, np.full(3, 1 / 3), MEANS)
    proba = pipe.predict_proba(X_test)
    assert np.abs(proba - balanced).mean() < 0.05 < np.abs(proba - truth).mean()
    assert pipe[-1].calibration_.exact


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_each_training_call_refits_the_correction(gaussians, how):
    (X, y, _), _ = gaussians
    clf = _linear(3, loss="weighted_ce", max_epochs=2).fit(X[:600], y[:600])
    assert clf.calibration_.log_shift.any()
    clf.set_params(loss="ce")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "partial_fit":
            clf.partial_fit(X[:600], y[:600])
        else:
            clf.set_params(warm_start=True).fit(X[:600], y[:600])
    assert clf.calibration_.is_identity
    clf.set_params(sampler="progressive", sampler__n_epochs=2)
    clf.partial_fit(X[:600], y[:600])  # its schedule restarts; the last epoch is balanced
    np.testing.assert_allclose(clf.calibration_.sampler_shift,
                               np.log(1 / 3) - np.log(np.bincount(y[:600]) / 600))


@pytest.mark.parametrize("params", [dict(loss="focal"), dict(loss="ldam"),
                                    dict(augment="mixup"), dict(loss="cost_sensitive")])
def test_a_correction_without_closed_form_says_it_is_not_exact(params):
    X, y, _ = _gaussians(300, 0)
    params.setdefault("module", "mlp")
    clf = ImbalancedTorchClassifier(max_epochs=1, random_state=0, device="cpu",
                                    **params).fit(X, y)
    assert not clf.calibration_.exact
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, atol=1e-6)
