"""``module="linear"``: logistic regression behind the robust scaler, fitted on the training
rows only, trained end to end by the classifier."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold
from skorch.dataset import ValidSplit

from tests.helpers import make_data
from skimb import ImbalancedTorchClassifier, list_modules
from skimb.modules import CosineLinear
from skimb.networks import LinearNetwork, SmoothClipScaler, network_class

LINEAR = dict(module="linear", max_epochs=3, device="cpu", random_state=0)


def _rows(n=80, n_features=4, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, n_features)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _separable(n=600, seed=0):
    """Two classes split by a plane with a margin, features on different scales."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n, 3)) * [1.0, 50.0, 0.01] + [0.0, 100.0, 0.0]
    score = X[:, 0] + (X[:, 1] - 100.0) / 50.0
    X = X[np.abs(score) > 0.3][:n]
    return X, (X[:, 0] + (X[:, 1] - 100.0) / 50.0 > 0).astype(int)


@pytest.mark.parametrize("normalized_output", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_shapes(normalized_output, n_outputs):
    X, y = _rows()
    net = LinearNetwork(4, n_outputs, normalized_output=normalized_output, X_train=X, y_train=y)
    out = net(torch.from_numpy(X[:5]))
    assert out.shape == (5, n_outputs) and torch.isfinite(out).all()
    assert isinstance(net.linear, CosineLinear if normalized_output else torch.nn.Linear)
    if normalized_output:
        assert out.abs().max() <= 1 + 1e-6


def test_the_logits_are_one_linear_map_of_the_scaled_features():
    X, y = _rows()
    net = LinearNetwork(4, 3, X_train=X, y_train=y)
    scaled = SmoothClipScaler(4).fit(X)(torch.from_numpy(X))
    expected = scaled @ net.linear.weight.T + net.linear.bias
    torch.testing.assert_close(net(torch.from_numpy(X)), expected)


def test_parameter_count_is_weights_plus_biases_and_the_scaler_holds_buffers():
    n_features, n_outputs = 5, 3
    X, y = _rows(n_features=n_features)
    net = LinearNetwork(n_features, n_outputs, X_train=X, y_train=y)
    assert sum(p.numel() for p in net.parameters()) == n_features * n_outputs + n_outputs
    assert {name for name, _ in net.named_buffers()} == {"scaler.center", "scaler.inverse_scale"}
    cosine = LinearNetwork(n_features, n_outputs, normalized_output=True, X_train=X, y_train=y)
    assert sum(p.numel() for p in cosine.parameters()) == n_features * n_outputs  # no bias
    plain = LinearNetwork(n_features, n_outputs, scaling=None)
    assert isinstance(plain.scaler, torch.nn.Identity) and not list(plain.buffers())


def test_the_scaler_is_fitted_on_the_given_rows_only():
    X, y = _rows(200)
    given = slice(0, 120)
    net = LinearNetwork(4, 2, X_train=X[given], y_train=y[given])
    moved = X.copy()
    moved[120:] = 1e4  # rows not given: would move the median and the quartiles
    again = LinearNetwork(4, 2, X_train=moved[given], y_train=y[given])
    expected = SmoothClipScaler(4).fit(X[given])
    for built in (net, again):
        torch.testing.assert_close(built.scaler.center, expected.center)
        torch.testing.assert_close(built.scaler.inverse_scale, expected.inverse_scale)
    assert not torch.allclose(SmoothClipScaler(4).fit(moved).center, expected.center)


def test_without_rows_the_scaler_is_unfitted_and_says_so():
    assert not LinearNetwork(4, 2).front_fitted
    assert LinearNetwork(4, 2, scaling=None).front_fitted
    with pytest.raises(ValueError, match="module__scaling must be one of"):
        LinearNetwork(4, 2, scaling="standard")


def test_the_classifier_fits_the_scaler_on_its_training_portion():
    X, y = make_data(240)
    X = X.copy()
    valid = next(iter(StratifiedKFold(5).split(X, y)))[1]
    X[valid] = 1e4  # the validation rows would move every statistic
    train = np.setdiff1d(np.arange(len(X)), valid)
    clf = ImbalancedTorchClassifier(**LINEAR, train_split=ValidSplit(5, stratified=True)).fit(X, y)
    expected = SmoothClipScaler(X.shape[1]).fit(X[train].astype(np.float32))
    torch.testing.assert_close(clf.module_.scaler.center, expected.center)
    torch.testing.assert_close(clf.module_.scaler.inverse_scale, expected.inverse_scale)


def test_it_learns_a_linearly_separable_problem_end_to_end():
    X, y = _separable()
    clf = ImbalancedTorchClassifier(module="linear", max_epochs=30, lr=0.1, device="cpu",
                                    random_state=0).fit(X[:400], y[:400])
    assert isinstance(clf.module_, LinearNetwork) and clf.module_.front_fitted
    assert clf.score(X[400:], y[400:]) >= 0.97
    n_features, n_outputs = X.shape[1], len(clf.classes_)
    assert sum(p.numel() for p in clf.module_.parameters()) == n_features * n_outputs + n_outputs


def test_it_is_registered():
    assert "linear" in list_modules()
    assert network_class("linear") is LinearNetwork
    assert LinearNetwork.cosine_head and not LinearNetwork.ensemble


def test_a_parameter_it_lacks_is_named():
    X, y = make_data(120)
    with pytest.raises(ValueError, match="module='linear' takes no parameter "
                                         "module__hidden_units;.*module__scaling"):
        ImbalancedTorchClassifier(**LINEAR, module__hidden_units=(8,)).fit(X, y)


def test_a_fitted_classifier_pickles_with_its_predictions():
    X, y = make_data(240)
    clf = ImbalancedTorchClassifier(**LINEAR, loss="weighted_ce", sampler="under").fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))
    torch.testing.assert_close(copy.module_.scaler.center, clf.module_.scaler.center)
