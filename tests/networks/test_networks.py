"""The built-in networks: fitted front (scaling, bins) from training rows only, ensembles
with every strategy, persistence, and the training recipe."""

import pickle
import re

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from tests.helpers import VALIDATED, make_data
from skimb import ImbalancedTorchClassifier, list_losses, list_modules, list_samplers
from skimb.modules import CosineLinear, FeatureScale, TabularMLP
from skimb.networks import MLPNetwork, SmoothClipScaler, TabMNetwork
from skimb.networks.front import tree_bins
from skimb import recipe
from skimb.recipe import epoch_budget

TINY = dict(max_epochs=2, device="cpu", random_state=0, module__hidden_units=(16,),
            module__d_embedding=4, **VALIDATED)
TABM = dict(TINY, module="tabm", module__k=3, module__hidden_units=(16, 16))


@pytest.fixture(scope="module")
def data():
    return make_data(240)


# -- the scaler -------------------------------------------------------------------

def _reference_scaling(X_fit, X):
    X_fit, X = np.asarray(X_fit, np.float64), np.asarray(X, np.float64)
    q1, med, q3 = np.quantile(X_fit, [0.25, 0.5, 0.75], axis=0)
    spread = np.where(q3 > q1, q3 - q1, X_fit.std(axis=0))
    u = np.divide(X - med, spread, out=np.zeros_like(X), where=spread > 0)
    return u / np.sqrt(1 + (u / 3) ** 2)


def test_scaler_matches_its_formula_on_odd_columns():
    rng = np.random.default_rng(0)
    X = np.c_[rng.standard_cauchy(500), np.full(500, 7.0), rng.integers(0, 2, 500),
              np.where(rng.random(500) < 0.9, 0.0, rng.normal(50, 10, 500))].astype(np.float32)
    out = SmoothClipScaler(4).fit(X)(torch.from_numpy(X)).double().numpy()
    np.testing.assert_allclose(out, _reference_scaling(X, X), atol=1e-5)
    assert np.abs(out).max() < 3 and (out[:, 1] == 0).all()
    # a sparse column (IQR 0) keeps its rare values apart from the zeros
    assert np.abs(out[X[:, 3] != 0, 3]).min() > 0.5


def test_scaler_statistics_are_buffers_that_travel():
    scaler = SmoothClipScaler(2).fit(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 9.0]]))
    state = scaler.state_dict()
    assert set(state) == {"center", "inverse_scale", "_extra_state"}
    assert state["_extra_state"] == {"fitted": True}
    copy = SmoothClipScaler(2)
    copy.load_state_dict(state)
    x = torch.tensor([[1.0, 2.0]])
    assert torch.equal(copy(x), scaler(x))


# -- bins -------------------------------------------------------------------------

def test_tree_bins_handle_constant_binary_and_few_valued_columns():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    X = np.c_[rng.normal(size=400) + y, np.ones(400), rng.integers(0, 2, 400),
              rng.integers(0, 3, 400)].astype(np.float32)
    bins = tree_bins(X, y)
    assert len(bins) == 4
    for edges in bins:
        assert len(edges) >= 2 and torch.all(edges[1:] > edges[:-1])
    assert bins[1].tolist() == [0.0, 2.0]
    assert len(bins[0]) > 2  # the informative column is cut


def test_tree_bins_give_a_rare_class_its_own_bin():
    x = np.r_[np.zeros(2000), np.full(10, 5.0)].astype(np.float32)[:, None]
    y = np.r_[np.zeros(2000, int), np.ones(10, int)]
    edges = tree_bins(x, y)[0].tolist()
    assert any(0 < e < 5 for e in edges)


def _flags_table(n=400, seed=0):
    """Columns: continuous, a 0/1 flag, a constant, continuous, a two-valued -3/7 column."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.integers(0, 2, n), np.full(n, 4.0), rng.normal(size=n),
              rng.choice([-3.0, 7.0], n)].astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0.5).astype(int)


def test_mlp_embeds_the_many_valued_columns_and_feeds_two_valued_ones_as_they_are():
    X, y = _flags_table()
    net = MLPNetwork(5, 2, num_embeddings="ple", d_embedding=4, hidden_units=(8,),
                     X_train=X, y_train=y)
    assert net.embedded_columns.tolist() == [0, 3] and net.plain_columns.tolist() == [1, 2, 4]
    assert net.body.layers[0].in_features == 2 * 4 + 3
    net.eval()
    with torch.no_grad():  # what the body reads: the embeddings, then the scaled plain columns
        scaled = net.scaler(torch.from_numpy(X))
        front = net.embeddings_of(scaled)
        torch.testing.assert_close(front[:, 8:], scaled[:, [1, 2, 4]], rtol=0, atol=0)
        torch.testing.assert_close(front[:, :8], net.embeddings(scaled[:, [0, 3]]).flatten(1))
        torch.testing.assert_close(net(torch.from_numpy(X)), net.body(front))


def test_two_valued_is_read_on_the_training_rows():
    """A third value outside the training rows does not make a column many-valued."""
    X, y = _flags_table()
    clf = ImbalancedTorchClassifier(**{**TINY, "module": "mlp", "module__num_embeddings": "ple",
                                       "train_split": None})
    clf.fit(X, y)
    assert clf.module_.plain_columns.tolist() == [1, 2, 4]
    X_new = X.copy()
    X_new[:5, 1] = 0.5  # a value the flag never took
    assert np.isfinite(clf.predict_proba(X_new)).all()


def test_mlp_without_embeddings_or_rows_and_tabm_embed_as_before():
    X, y = _flags_table()
    plain = MLPNetwork(5, 2, num_embeddings=None, hidden_units=(8,), X_train=X, y_train=y)
    assert plain.embeddings is None and plain.body.layers[0].in_features == 5
    unfitted = MLPNetwork(5, 2, num_embeddings="ple", d_embedding=4, hidden_units=(8,))
    assert unfitted.embedded_columns.tolist() == [0, 1, 2, 3, 4]
    assert unfitted.body.layers[0].in_features == 20
    flags_only = MLPNetwork(2, 2, num_embeddings="ple", hidden_units=(8,),
                            X_train=X[:, [1, 4]], y_train=y)
    assert flags_only.embeddings is None and flags_only.body.layers[0].in_features == 2
    assert torch.isfinite(flags_only(torch.from_numpy(X[:, [1, 4]]))).all()
    tabm = TabMNetwork(5, 2, k=2, hidden_units=(8,), d_embedding=4, X_train=X, y_train=y)
    assert tabm(torch.from_numpy(X)).shape == (len(X), 2, 2)


@pytest.mark.parametrize("n_rows", [2, 3, 10])
def test_networks_build_on_tiny_tables(n_rows):
    X = np.arange(n_rows * 2, dtype=np.float32).reshape(n_rows, 2)
    y = np.arange(n_rows) % 2
    for network in (MLPNetwork(2, 2, num_embeddings="ple", X_train=X, y_train=y),
                    TabMNetwork(2, 2, k=2, hidden_units=(8,), X_train=X, y_train=y)):
        assert torch.isfinite(network(torch.from_numpy(X))).all()


# -- fitted from the training portion only ----------------------------------------

@pytest.mark.parametrize("module", ["mlp", "tabm"])
def test_scaling_and_bins_come_from_training_rows_only(data, module):
    X, y = data
    X = X.copy()
    valid = next(iter(StratifiedKFold(5).split(X, y)))[1]
    X[valid, 0] = 1e4  # the validation rows would move every statistic
    train = np.setdiff1d(np.arange(len(X)), valid)
    params = TABM if module == "tabm" else dict(TINY, module="mlp")
    clf = ImbalancedTorchClassifier(**{**params, "module__num_embeddings": "ple"}).fit(X, y)
    scaler = clf.module_.scaler
    expected = SmoothClipScaler(X.shape[1]).fit(X[train].astype(np.float32))
    torch.testing.assert_close(scaler.center, expected.center)
    torch.testing.assert_close(scaler.inverse_scale, expected.inverse_scale)
    embeddings = clf.module_.embeddings if module == "mlp" else clf.module_.tabm.num_module
    edges = embeddings.impl.edges if hasattr(embeddings.impl, "edges") else None
    scaled = expected(torch.from_numpy(X[train].astype(np.float32))).numpy()
    expected_bins = tree_bins(scaled, y[train])
    assert clf.module_.scaler(torch.tensor([[1e4] * X.shape[1]]))[0, 0] < 3
    if edges is not None:
        assert edges.shape[0] == X.shape[1]
    max_bins = max(len(b) - 1 for b in expected_bins)
    assert embeddings.linear.weight.shape[1] == max_bins


def test_each_cv_fold_fits_its_own_scaler(data):
    X, y = data
    seen = []

    class Recording(ImbalancedTorchClassifier):
        def initialize_module(self):
            super().initialize_module()
            seen.append(self.module_.scaler.center.clone())
            return self

    GridSearchCV(Recording(**dict(TINY, module="mlp", train_split=None)),
                 {"lr": [0.01]}, cv=3, scoring="f1_macro").fit(X, y)
    assert len(seen) == 4  # 3 folds + the refit
    assert not torch.equal(seen[0], seen[1])
    torch.testing.assert_close(seen[-1], SmoothClipScaler(X.shape[1]).fit(
        X.astype(np.float32)).center)


# -- ensembles --------------------------------------------------------------------

def test_tabm_predicts_the_mean_of_its_members_probabilities(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**TABM).fit(X, y)
    with torch.no_grad():
        logits = clf.module_.eval()(torch.from_numpy(X.astype(np.float32)))
    assert logits.shape == (len(X), 3, 3)
    expected = torch.softmax(logits, dim=-1).mean(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)
    assert "valid_f1_macro" in clf.history[-1]


@pytest.mark.parametrize("loss", ["ce", "weighted_ce", "focal", "crl", "logit_adjusted"])
def test_ensemble_loss_is_the_mean_of_the_members_losses(data, loss):
    X, y = data
    clf = ImbalancedTorchClassifier(**TABM, loss=loss).fit(X, y)
    torch.manual_seed(0)
    y_pred = torch.randn(32, 3, 3, dtype=torch.float64)
    target = torch.as_tensor(y[:32])
    weight = torch.rand(32, dtype=torch.float64)
    criterion = clf.loss_.double()
    members = torch.stack([criterion(y_pred[:, j], target, sample_weight=weight)
                           for j in range(3)]).mean()
    from skimb._data import WeightedTarget
    got = clf.get_loss(y_pred, WeightedTarget(target, weight))
    torch.testing.assert_close(got, members)


@pytest.mark.parametrize("loss", list_losses())
def test_every_loss_trains_tabm_or_says_why_not(data, loss):
    X, y = data
    y = (y == 0).astype(int) if loss in ("bce", "asl") else y
    clf = ImbalancedTorchClassifier(**TABM, loss=loss)
    if loss == "ldam":
        with pytest.raises(ValueError, match="cosine last layer.*'linear', 'mlp'"):
            clf.fit(X, y)
        return
    proba = clf.fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y))).predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("sampler", list_samplers())
def test_every_sampler_trains_tabm(data, sampler):
    X, y = data
    clf = ImbalancedTorchClassifier(**TABM, sampler=sampler).fit(X, y)
    assert set(clf.predict(X)) <= set(y)


def test_tabm_with_drw_and_imblearn_sampler(data):
    from imblearn.over_sampling import SMOTE
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TABM, "max_epochs": 3}, sampler=SMOTE(),
                                    loss="weighted_ce", loss__drw_epoch=1).fit(X, y)
    assert np.isfinite(clf.history[:, "train_loss"]).all()


@pytest.mark.parametrize("loss", ["ce", "bce", "focal", "asl", "crl"])
def test_tabm_on_multilabel_targets(data, loss):
    X, y = data
    Y = np.c_[y == 0, y == 1, y == 2].astype(int)
    clf = ImbalancedTorchClassifier(**TABM, loss=loss, sampler="sqrt").fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and ((proba >= 0) & (proba <= 1)).all()
    assert clf.predict(X).shape == Y.shape


# -- choosing, persisting ---------------------------------------------------------

def test_list_modules_and_unknown_names(data):
    X, y = data
    with pytest.raises(ValueError, match="Unknown module='resnet'.*"
                                         + re.escape(", ".join(list_modules()))):
        ImbalancedTorchClassifier(module="resnet", **{k: v for k, v in TINY.items()
                                                     if not k.startswith("module__")}).fit(X, y)
    with pytest.raises(ValueError, match="module__num_embeddings"):
        ImbalancedTorchClassifier(**TINY, module__num_embeddings="fourier").fit(X, y)
    with pytest.raises(ValueError, match="one width"):
        ImbalancedTorchClassifier(**{**TABM, "module__hidden_units": (16, 8)}).fit(X, y)
    assert not hasattr(ImbalancedTorchClassifier(module="resnet"), "module_")


def test_module_none_builds_the_default_for_the_device(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**TINY).fit(X, y)
    assert isinstance(clf.module_, MLPNetwork) and clf.module_.embeddings is not None
    assert isinstance(clf.module_.body.scale, FeatureScale)  # RealMLP's scaling layer
    assert clf.module_.body.scale.u.shape == (clf.module_.body.layers[0].in_features,)
    assert clf.module_.body.scale.u.abs().max() > 0  # trained
    named = ImbalancedTorchClassifier(**TINY, module="mlp").fit(X, y)
    assert named.module_.body.scale is None  # module="mlp" is the plain MLP, as before
    off = ImbalancedTorchClassifier(**TINY, module__scaling_layer=False).fit(X, y)
    assert off.module_.body.scale is None  # the user's setting wins over the default's


# -- RealMLP's scaling layer ---------------------------------------------------------

def test_feature_scale_is_x_times_one_plus_six_u_in_float64():
    scale = FeatureScale(4).double()
    assert torch.equal(scale(torch.ones(2, 4, dtype=torch.float64)), torch.ones(2, 4).double())
    u = torch.tensor([0.0, 0.5, -0.25, 2.0], dtype=torch.float64)
    with torch.no_grad():
        scale.u.copy_(u)
    X = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    out = scale(X)
    torch.testing.assert_close(out, X * (1 + 6 * u), rtol=0, atol=0)
    out.sum().backward()
    torch.testing.assert_close(scale.u.grad, 6 * X.detach().sum(dim=0))  # d out / d u_i = 6 x_i
    torch.testing.assert_close(X.grad, (1 + 6 * u).expand(5, 4))


def test_scaling_layer_sits_before_the_first_layer_and_is_validated():
    X, y = _flags_table()
    net = MLPNetwork(5, 2, num_embeddings="ple", d_embedding=4, hidden_units=(8,),
                     scaling_layer=True, X_train=X, y_train=y)
    with torch.no_grad():
        net.body.scale.u[0] = 1.0  # scales the first input by 7
    inputs = []
    net.body.layers[0].register_forward_hook(lambda m, args, out: inputs.append(args[0]))
    seen = []
    net.body.scale.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    net(torch.from_numpy(X))
    torch.testing.assert_close(inputs[0][:, 0], 7 * seen[0][:, 0])
    torch.testing.assert_close(inputs[0][:, 1:], seen[0][:, 1:])
    assert TabularMLP(3, 2).scale is None
    with pytest.raises(ValueError, match="module__scaling_layer must be True or False"):
        ImbalancedTorchClassifier(**TINY, module__scaling_layer="yes").fit(*make_data(60))


def test_grid_search_over_networks(data):
    X, y = data
    search = GridSearchCV(ImbalancedTorchClassifier(**TINY),
                          [{"module": ["mlp"]}, {"module": ["tabm"], "module__k": [2]}],
                          cv=2, scoring="f1_macro", error_score="raise").fit(X, y)
    assert set(search.cv_results_["param_module"]) == {"mlp", "tabm"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_parameter_the_network_lacks_is_named(data):
    X, y = data
    with pytest.raises(ValueError, match="module='mlp' takes no parameter module__k;.*module__hidden_units"):
        ImbalancedTorchClassifier(**TINY, module="mlp", module__k=2).fit(X, y)


@pytest.mark.parametrize("module", ["mlp", "tabm"])
def test_fitted_front_travels_with_pickle_clone_and_params(data, module, tmp_path):
    X, y = data
    params = TABM if module == "tabm" else dict(TINY, module="mlp")
    clf = ImbalancedTorchClassifier(**params).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    assert not hasattr(clone(clf), "module_")
    clf.save_params(f_params=tmp_path / "params.pt")
    other = ImbalancedTorchClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.allclose(other.predict_proba(X), expected)
    other.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(other.predict_proba(X), expected, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("module", ["mlp", "tabm"])
def test_cuda_fitted_network_loads_on_cpu(data, module):
    X, y = data
    params = {**(TABM if module == "tabm" else dict(TINY, module="mlp")), "device": "cuda"}
    clf = ImbalancedTorchClassifier(**params).fit(X, y)
    expected = clf.predict_proba(X)
    state = pickle.dumps(clf)
    clf_cpu = pickle.loads(state)
    clf_cpu.set_params(device="cpu")
    np.testing.assert_allclose(clf_cpu.predict_proba(X), expected, atol=1e-5)


def test_torch_dataset_needs_a_network_without_a_fitted_front(data):
    from torch.utils.data import TensorDataset
    X, y = data
    dataset = TensorDataset(torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y))
    with pytest.raises(ValueError, match="module=None builds a network for tables.*Dataset"):
        ImbalancedTorchClassifier(**TINY).fit(dataset, y)
    clf = ImbalancedTorchClassifier(**TINY, module="mlp", module__scaling=None).fit(dataset, y)
    assert isinstance(clf.module_.scaler, torch.nn.Identity) and clf.module_.embeddings is None
    with pytest.raises(ValueError, match="torch Dataset.*module__scaling=None"):
        ImbalancedTorchClassifier(**TINY, module="mlp").fit(dataset, y)
    with pytest.raises(ValueError, match="torch Dataset"):  # TabM's own default: PLE
        ImbalancedTorchClassifier(**TINY, module="tabm", module__scaling=None).fit(dataset, y)
    periodic = ImbalancedTorchClassifier(**TINY, module="tabm", module__k=2, module__scaling=None,
                                         module__num_embeddings="periodic").fit(dataset, y)
    assert periodic.predict_proba(dataset).shape == (len(y), 3)


def test_set_params_on_a_fitted_network_then_refit(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**TINY).fit(X, y)
    clf.set_params(module__hidden_units=(7,), module__n_bins=8)  # skorch rebuilds, unfitted
    clf.fit(X, y)
    assert clf.module_.body.layers[0].out_features == 7
    assert clf.module_.embeddings.linear.weight.shape[1] <= 8
    expected = SmoothClipScaler(X.shape[1]).fit(
        X[np.setdiff1d(np.arange(len(X)), next(iter(StratifiedKFold(5).split(X, y)))[1])]
        .astype(np.float32))
    torch.testing.assert_close(clf.module_.scaler.center, expected.center)


# -- the training recipe ----------------------------------------------------------

def test_default_recipe_is_adamw_cosine_clipping_and_best_epoch(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 4}, lr=0.01).fit(X, y)
    assert isinstance(clf.optimizer_, torch.optim.AdamW)
    names = dict(clf.callbacks_)
    assert {"lr_scheduler", "gradient_clipping", "best_epoch"} <= set(names)
    assert names["lr_scheduler"].kwargs["T_max"] == 4
    assert clf.history[0, "event_lr"] == 0.01 and clf.history[-1, "event_lr"] < 0.01


@pytest.mark.parametrize("n_rows, epochs", [
    (1, 240), (5_333, 240), (5_334, 240), (10_000, 128), (21_333, 61), (21_334, 60),
    (10**7, 60)])
def test_auto_epochs_aim_at_a_number_of_row_visits_between_60_and_240(n_rows, epochs):
    assert epoch_budget("auto", n_rows) == epochs
    assert epoch_budget(7, n_rows) == 7


def test_auto_epochs_are_resolved_per_call_on_the_rows_passed(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(recipe, "AUTO_MIN_EPOCHS", 2)
    monkeypatch.setattr(recipe, "AUTO_MAX_EPOCHS", 5)
    monkeypatch.setattr(recipe, "AUTO_ROW_VISITS", 3 * len(X))
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": "auto"}, sampler="progressive")
    clf.fit(X, y)
    assert clf.max_epochs_ == len(clf.history) == 3
    assert dict(clf.callbacks_)["lr_scheduler"].kwargs["T_max"] == 3
    assert clf.sampler_._n_epochs == 3  # the progressive schedule spans the resolved epochs
    clf.partial_fit(np.r_[X, X], np.r_[y, y])  # 720 visits of 480 rows: 2 epochs, the least
    assert clf.max_epochs_ == 2 and len(clf.history) == 5
    assert clf.get_params()["max_epochs"] == "auto"


def test_the_cosine_starts_again_at_every_partial_fit(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 2}, lr=0.01).fit(X, y)
    clf.partial_fit(X, y)
    np.testing.assert_allclose(clf.history[:, "event_lr"], [0.01, 0.005, 0.01, 0.005])


def test_best_epoch_keeps_the_best_validation_weights(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 8}, lr=0.3).fit(X, y)
    scores = clf.history[:, "valid_f1_macro"]
    best = int(np.argmax(scores))
    valid = next(iter(StratifiedKFold(5).split(X, y)))[1]
    from skimb.metrics import macro_f1
    assert macro_f1(y[valid], clf.predict(X[valid])) == pytest.approx(scores[best])
    assert dict(clf.callbacks_)["best_epoch"].best_model_weights_ is None


def test_best_epoch_stops_after_patience(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 30}, lr=0.0,
                                    callbacks__best_epoch__patience=3).fit(X, y)
    assert len(clf.history) == 4


def test_every_recipe_piece_can_be_turned_off(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "train_split": None}, optimizer=torch.optim.Adam,
                                    callbacks__lr_scheduler=None,
                                    callbacks__gradient_clipping=None,
                                    callbacks__best_epoch=None).fit(X, y)
    assert type(clf.optimizer_) is torch.optim.Adam
    assert clf.optimizer_.param_groups[0]["lr"] == clf.lr
    active = {name for name, cb in clf.callbacks_ if cb is not None}
    assert not {"lr_scheduler", "gradient_clipping", "best_epoch"} & active


def test_best_epoch_is_idle_without_a_validation_split(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 3, "train_split": None}).fit(X, y)
    assert len(clf.history) == 3


def test_a_network_changed_by_set_params_is_unfitted_until_the_next_fit(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**TINY).fit(X, y)
    clf.set_params(module__dropout=0.0)  # the fitted network no longer matches its parameters
    assert not hasattr(clf, "module_") and not clf.initialized_
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert clf.partial_fit(X, y).module_.front_fitted  # a fresh fit, front and all
    assert len(clf.history) == TINY["max_epochs"]


def test_ldam_with_module_none_builds_the_mlp_with_its_cosine_head(data):
    X, y = data
    ldam = ImbalancedTorchClassifier(**TINY, loss="ldam").fit(X, y)
    assert isinstance(ldam.module_, MLPNetwork)
    assert isinstance(ldam.module_.body.layers[-1], CosineLinear)


def test_set_params_lr_reaches_the_next_call(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**{**TINY, "max_epochs": 2}, lr=0.01).fit(X, y)
    clf.set_params(lr=0.001)
    clf.partial_fit(X, y)
    np.testing.assert_allclose(clf.history[:, "event_lr"], [0.01, 0.005, 0.001, 0.0005])


def test_tabm_with_a_custom_nonlinearity_averages_its_members(data):
    X, y = data
    clf = ImbalancedTorchClassifier(**TABM, predict_nonlinearity=lambda z: torch.softmax(z, -1))
    proba = clf.fit(X, y).predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba, ImbalancedTorchClassifier(**TABM).fit(X, y)
                               .predict_proba(X), atol=1e-6)
    assert clf.predict(X).shape == (len(X),)
