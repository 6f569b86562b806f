"""ImbalancedTorchClassifier inside scikit-learn: clone, parameters, searches,
pipelines, scorers and pickling."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.exceptions import DeviceWarning

from skimb import ImbalancedTorchClassifier
from skimb.metrics import macro_f1, macro_f1_scorer
from skimb.modules import TabularMLP

from tests.helpers import N_FEATURES, clf_, user_clf


def internal_train_rows(y_encoded):
    """Training rows of skorch's ValidSplit(5, stratified=True)."""
    return next(StratifiedKFold(5).split(np.arange(len(y_encoded)), y_encoded))[0]


# -- clone and parameters -------------------------------------------------------------


def test_clone_keeps_params():
    clf = ImbalancedTorchClassifier(
        sampler="power", sampler__q=0.3, loss="weighted_ce", loss__weights="sqrt",
        module__hidden_units=(8, 4), module__dropout=0.0, max_epochs=3, lr=0.02,
        random_state=7,
    )
    cloned = clone(clf)
    assert cloned is not clf
    params = cloned.get_params()
    assert params["device"] == "auto"
    assert params["sampler"] == "power"
    assert params["sampler__q"] == 0.3
    assert params["loss"] == "weighted_ce"
    assert params["loss__weights"] == "sqrt"
    assert params["module__hidden_units"] == (8, 4)
    assert params["module__dropout"] == 0.0
    assert params["max_epochs"] == 3 and params["lr"] == 0.02 and params["random_state"] == 7
    original = clf.get_params()
    for key in ("device", "sampler", "sampler__q", "loss", "loss__weights",
                "module__hidden_units", "module__dropout", "max_epochs", "lr",
                "random_state", "batch_size"):
        assert params[key] == original[key], key


def test_device_auto_kept_but_resolved():
    clf = ImbalancedTorchClassifier()
    assert clf.get_params()["device"] == "auto"
    assert clf.device in ("cpu", "cuda")
    assert clf.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_clone_of_fitted_is_unfitted(data):
    X, y = data
    clf = clf_().fit(X, y)
    cloned = clone(clf)
    assert not hasattr(cloned, "n_features_in_")
    assert not hasattr(cloned, "class_counts_")
    assert not cloned.initialized_


def test_set_params_unfitted(data):
    X, y = data
    clf = clf_()
    clf.set_params(sampler="under", sampler__n_per_class=10, loss="weighted_ce",
                   loss__weights="sqrt", module__hidden_units=(5,), lr=0.01)
    params = clf.get_params()
    assert params["sampler"] == "under" and params["sampler__n_per_class"] == 10
    assert params["loss"] == "weighted_ce" and params["loss__weights"] == "sqrt"
    assert params["module__hidden_units"] == (5,) and params["lr"] == 0.01
    clf.fit(X, y)
    assert clf.sampler_.n_per_class == 10
    assert clf.criterion_.weights == "sqrt"
    assert clf.module_.body.layers[0].out_features == 5
    # the under-sampler draws 10 rows of each class per epoch
    sizes = [b["train_batch_size"] for b in clf.history[-1]["batches"] if "train_loss" in b]
    assert sum(sizes) == 30


def test_set_params_fitted_then_refit(data):
    X, y = data
    clf = clf_().fit(X, y)
    assert type(clf.criterion_).__name__ == "CrossEntropy"
    clf.set_params(loss="weighted_ce")
    clf.set_params(loss__weights="balanced", sampler="over", module__hidden_units=(7,))
    assert clf.get_params()["loss"] == "weighted_ce"
    assert clf.get_params()["sampler"] == "over"
    clf.fit(X, y)
    assert type(clf.criterion_).__name__ == "WeightedCrossEntropy"
    counts = clf.class_counts_
    np.testing.assert_allclose(clf.criterion_.class_weights.numpy(),
                               counts.sum() / (3 * counts), rtol=1e-6)
    assert type(clf.sampler_).__name__ == "OverSampler"
    assert clf.module_.body.layers[0].out_features == 7
    # and again
    clf.set_params(loss__weights="sqrt", sampler="none")
    clf.fit(X, y)
    raw = counts ** -0.5
    np.testing.assert_allclose(clf.criterion_.class_weights.numpy(),
                               raw * counts.sum() / (raw * counts).sum(), rtol=1e-6)
    assert type(clf.sampler_).__name__ == "NoSampler"


def test_set_params_skorch_params_fitted(data):
    X, y = data
    clf = clf_().fit(X, y)
    clf.set_params(max_epochs=3, batch_size=40)
    clf.fit(X, y)
    assert len(clf.history) == 3
    assert clf.history[-1]["train_batch_count"] == 6     # 240 training rows / 40


def test_imblearn_sampler_params_routed(data):
    X, y = data
    smote = SMOTE()
    clf = clf_(sampler=smote, sampler__k_neighbors=3).fit(X, y)
    assert clf.sampler_.sampler.k_neighbors == 3
    # the user's instance is never touched
    assert smote.k_neighbors == 5
    assert smote.get_params() == SMOTE().get_params()
    assert not hasattr(smote, "nn_k_") and not hasattr(smote, "sampling_strategy_")
    # the parameter really reaches fit_resample
    with pytest.raises(ValueError, match="n_neighbors"):
        clf_(sampler=SMOTE(), sampler__k_neighbors=1000).fit(X, y)


def test_imblearn_sampler_set_params_routed(data):
    X, y = data
    smote = SMOTE()
    clf = clf_(sampler=smote)
    clf.set_params(sampler__k_neighbors=2)
    assert clf.get_params()["sampler__k_neighbors"] == 2
    assert smote.k_neighbors == 5
    clf.fit(X, y)
    assert clf.sampler_.sampler.k_neighbors == 2
    assert smote.k_neighbors == 5


def test_grid_search_over_imblearn_sampler_params(data):
    X, y = data
    smote = SMOTE()
    search = GridSearchCV(clf_(sampler=smote), {"sampler__k_neighbors": [2, 4]},
                          scoring="f1_macro", cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.sampler_.sampler.k_neighbors == search.best_params_["sampler__k_neighbors"]
    assert smote.k_neighbors == 5


def test_imblearn_sampler_param_reported_by_get_params():
    clf = clf_(sampler=SMOTE(), sampler__k_neighbors=3)
    assert clf.get_params()["sampler__k_neighbors"] == 3


def test_imblearn_sampler_instance_not_mutated_by_fit(data):
    X, y = data
    sampler = RandomUnderSampler(random_state=None)
    before = sampler.get_params()
    clf_(sampler=sampler).fit(X, y)
    assert sampler.get_params() == before
    assert not hasattr(sampler, "sample_indices_")


# -- grid search ----------------------------------------------------------------------


GRID = [
    {"sampler": ["none", "under"], "loss": ["ce"]},
    {"sampler": ["over"], "loss": ["weighted_ce"], "loss__weights": ["balanced", "sqrt"]},
]


def test_grid_search_f1_macro(data):
    X, y = data
    labels = np.array(["Dry", "Wet", "Frost"])[y]
    search = GridSearchCV(clf_(), GRID, scoring="f1_macro", cv=2, n_jobs=1).fit(X, labels)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.get_params()["sampler"] == search.best_params_["sampler"]
    assert set(best.predict(X)) <= {"Dry", "Wet", "Frost"}
    # loss__weights only ever appears together with weighted_ce
    for params in search.cv_results_["params"]:
        assert ("loss__weights" in params) == (params["loss"] == "weighted_ce")


def test_grid_search_parallel(data):
    X, y = data
    grid = {"sampler": ["none", "under"]}
    kwargs = dict(scoring="f1_macro", cv=2)
    parallel = GridSearchCV(clf_(), grid, n_jobs=2, **kwargs).fit(X, y)
    serial = GridSearchCV(clf_(), grid, n_jobs=1, **kwargs).fit(X, y)
    # random_state makes every fold fit reproducible, in any process
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(parallel.predict_proba(X), serial.predict_proba(X))


def test_grid_search_each_fold_fits_its_own_counts(data):
    """Every fold's fit computes class counts (and loss weights) from that fold's
    training rows minus the internal validation split."""
    X, y = data
    idx0, idx1, idx2 = (np.flatnonzero(y == c) for c in range(3))
    # folds with deliberately different class mixes
    folds = [
        (np.r_[idx0[:60], idx1, idx2], np.r_[idx0[60:]]),
        (np.r_[idx0, idx1[:20], idx2[:10]], np.r_[idx1[20:], idx2[10:]]),
    ]
    seen = []

    def recording_scorer(estimator, X_test, y_test):
        seen.append((estimator.class_counts_.copy(),
                     estimator.criterion_.class_weights.numpy().copy()))
        return macro_f1(y_test, estimator.predict(X_test))

    search = GridSearchCV(
        clf_(loss="weighted_ce"), {"sampler": ["none", "under"]},
        scoring=recording_scorer, cv=folds, n_jobs=1,
    ).fit(X, y)
    assert len(seen) == 4
    for i, (counts, weights) in enumerate(seen):
        train, _ = folds[i % 2]
        y_fold = y[train]
        expected = np.bincount(y_fold[internal_train_rows(y_fold)], minlength=3)
        np.testing.assert_array_equal(counts, expected)
        np.testing.assert_allclose(weights, expected.sum() / (3 * expected), rtol=1e-6)
    assert not np.array_equal(seen[0][0], seen[1][0])
    # the refit on all rows
    np.testing.assert_array_equal(search.best_estimator_.class_counts_,
                                  np.bincount(y[internal_train_rows(y)]))


def test_macro_f1_scorer_with_exclude(data):
    X, y = data
    labels = np.array(["Dry", "Wet", "Chemical Wet"])[y]
    scorer = macro_f1_scorer(exclude=["Chemical Wet"])
    folds = list(StratifiedKFold(2).split(X, labels))
    search = GridSearchCV(clf_(max_epochs=3), {"sampler": ["none", "under"]},
                          scoring=scorer, cv=folds, n_jobs=1).fit(X, labels)
    # recompute the first candidate's first-fold score by hand
    train, test = folds[0]
    model = clf_(max_epochs=3, sampler=search.cv_results_["params"][0]["sampler"])
    model.fit(X[train], labels[train])
    pred = model.predict(X[test])
    expected = macro_f1(labels[test], pred, exclude="Chemical Wet")
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    from sklearn.metrics import f1_score
    assert expected == pytest.approx(
        f1_score(labels[test], pred, labels=["Dry", "Wet"], average="macro", zero_division=0))


def test_cross_val_score(data):
    X, y = data
    scores = cross_val_score(clf_(sampler="under"), X, y, cv=3, scoring="f1_macro")
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


# -- pipelines ------------------------------------------------------------------------


def test_imblearn_pipeline_with_smote(data):
    X, y = data
    pipe = ImbPipeline([
        ("scale", StandardScaler()),
        ("smote", SMOTE(random_state=0)),
        ("clf", clf_(max_epochs=3)),
    ])
    pipe.fit(X, y)
    net = pipe.named_steps["clf"]
    # SMOTE balanced the rows the network saw: its training portion is ~balanced
    assert net.class_counts_.max() - net.class_counts_.min() <= 1
    assert net.n_features_in_ == N_FEATURES
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert pipe.predict(X).shape == (len(X),)
    # and it grid-searches through the pipeline
    search = GridSearchCV(pipe, {"clf__sampler": ["none", "under"],
                                 "clf__module__hidden_units": [(8,)]},
                          scoring="f1_macro", cv=2).fit(X, y)
    assert search.best_estimator_.named_steps["clf"].module_.body.layers[0].out_features == 8


def test_column_transformer_pipeline(data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(N_FEATURES)])
    df["station"] = np.array(["RTOI4", "RAMI4", "RDSI4"])[np.arange(len(df)) % 3]
    labels = np.array(["Dry", "Wet", "Ice"])[y]
    pre = ColumnTransformer([
        ("num", StandardScaler(), [f"x{i}" for i in range(N_FEATURES)]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["station"]),
    ])
    pipe = Pipeline([("pre", pre), ("clf", clf_(max_epochs=3))]).fit(df, labels)
    assert pipe.named_steps["clf"].n_features_in_ == N_FEATURES + 3
    pred = pipe.predict(df)
    assert set(pred) <= {"Dry", "Wet", "Ice"}
    assert pipe.predict_proba(df).shape == (len(df), 3)
    # without the encoder, your own module refuses the string column, naming it (a
    # built-in network takes it as it is: tests/networks/front/test_raw_tables.py)
    with pytest.raises(ValueError, match="station"):
        user_clf(module__n_in=N_FEATURES + 1).fit(df, labels)


def test_column_transformer_dataframe_output(data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(N_FEATURES)])
    df["station"] = np.array(["A", "B"])[np.arange(len(df)) % 2]
    pre = ColumnTransformer([
        ("num", StandardScaler(), [f"x{i}" for i in range(N_FEATURES)]),
        ("cat", OneHotEncoder(sparse_output=False), ["station"]),
    ]).set_output(transform="pandas")
    pipe = Pipeline([("pre", pre), ("clf", clf_())]).fit(df, y)
    names = pipe.named_steps["clf"].feature_names_in_
    assert list(names) == list(pre.get_feature_names_out())
    assert pipe.predict(df).shape == (len(df),)


# -- pickling -------------------------------------------------------------------------


def test_pickle_round_trip(data):
    X, y = data
    labels = np.array(["a", "b", "c"])[y]
    clf = clf_(sampler="under", loss="weighted_ce").fit(X, labels)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    np.testing.assert_array_equal(restored.class_counts_, clf.class_counts_)
    assert restored.get_params()["sampler"] == "under"
    # the restored model keeps training
    restored.fit(X, labels)
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_pickle_keeps_device_auto(data):
    X, y = data
    clf = clf_(device="auto").fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.get_params()["device"] == "auto"
    assert clf.get_params()["device"] == "auto"
    assert restored.device == ("cuda" if torch.cuda.is_available() else "cpu")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clone(restored).get_params()["device"] == "auto"


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_pickled_with_cuda_device_loads_on_cpu(data):
    X, y = data
    clf = clf_().fit(X, y)
    expected = clf.predict_proba(X)
    clf.__dict__["device"] = "cuda"          # as if it had been fitted with device="cuda"
    payload = pickle.dumps(clf)
    with pytest.warns(DeviceWarning):
        restored = pickle.loads(payload)
    assert str(restored.device) == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), expected)


def test_pickle_unfitted():
    clf = ImbalancedTorchClassifier(sampler=SMOTE(), sampler__k_neighbors=3)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.get_params()["device"] == "auto"
    assert isinstance(restored.sampler, SMOTE)
    assert restored.sampler__k_neighbors == 3


def test_custom_module_class_clones_and_pickles(data):
    X, y = data
    clf = clf_(module=TabularMLP, module__n_features=N_FEATURES, module__n_outputs=3,
               module__hidden_units=(4,))
    cloned = clone(clf)
    assert cloned.get_params()["module"] is TabularMLP
    cloned.fit(X, y)
    restored = pickle.loads(pickle.dumps(cloned))
    np.testing.assert_array_equal(restored.predict_proba(X), cloned.predict_proba(X))


def test_no_warnings_on_plain_fit(data):
    X, y = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf_().fit(X, y).predict(X)
    relevant = [w for w in caught
                if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert relevant == [], [str(w.message) for w in relevant]
