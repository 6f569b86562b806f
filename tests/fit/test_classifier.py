"""Core behaviour of ImbalancedTorchClassifier: inputs, outputs, validation,
strategy state from the training portion, validation macro-F1, sample weights
and reproducibility."""

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier, list_losses, list_samplers

from tests.helpers import FAST, N_FEATURES, clf_, make_data, user_clf  # noqa: F401


def internal_split(y_encoded):
    """Training / validation rows of skorch's ValidSplit(5, stratified=True)."""
    return next(StratifiedKFold(5).split(np.arange(len(y_encoded)), y_encoded))


def assert_unfitted(clf):
    assert not hasattr(clf, "n_features_in_")
    assert not hasattr(clf, "feature_names_in_")
    assert not hasattr(clf, "classes_inferred_")
    assert not hasattr(clf, "module_")
    assert not clf.initialized_
    with pytest.raises(NotFittedError):
        clf.predict_proba(np.zeros((2, N_FEATURES)))


# -- inputs and outputs -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_numpy_dtypes(data, dtype):
    X, y = data
    Xd = (X * 10).astype(dtype)
    clf = clf_().fit(Xd, y)
    assert clf.n_features_in_ == N_FEATURES
    assert not hasattr(clf, "feature_names_in_")
    proba = clf.predict_proba(Xd)
    assert proba.shape == (len(X), 3)
    assert proba.dtype.kind == "f"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = clf.predict(Xd)
    assert pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])


def test_dataframe_sets_feature_names(data):
    X, y = data
    columns = [f"f{i}" for i in range(N_FEATURES)]
    df = pd.DataFrame(X, columns=columns)
    clf = clf_().fit(df, y)
    assert clf.n_features_in_ == N_FEATURES
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    with pytest.warns(UserWarning, match="feature names"):
        from_array = clf.predict_proba(X.astype(np.float32))
    np.testing.assert_array_equal(clf.predict_proba(df), from_array)
    # columns in another order are refused, as by any sklearn estimator
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[columns[::-1]])
    # a refit on an array forgets the names
    clf.fit(X, y)
    assert not hasattr(clf, "feature_names_in_")


def test_lists(data):
    X, y = data
    labels = np.array(["low", "mid", "high"])[y]
    clf = clf_().fit(X.tolist(), labels.tolist())
    assert clf.n_features_in_ == N_FEATURES
    pred = clf.predict(X[:20].tolist())
    assert pred.shape == (20,)
    assert set(pred) <= {"low", "mid", "high"}
    assert isinstance(pred[0], str)


def test_string_labels_round_trip(data):
    X, y = data
    names = np.array(["Dry", "Wet", "Ice Warning"])
    labels = names[y]
    clf = clf_(max_epochs=5, lr=0.01).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(names))
    pred = clf.predict(X)
    assert pred.dtype.kind in "UO"
    assert set(pred) <= set(names)
    # columns of predict_proba follow classes_
    np.testing.assert_array_equal(pred, clf.classes_[clf.predict_proba(X).argmax(1)])
    assert (pred == labels).mean() > 0.6


def test_int_labels_round_trip(data):
    X, y = data
    labels = np.array([7, -3, 42])[y]
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, [-3, 7, 42])
    pred = clf.predict(X)
    assert pred.dtype.kind == "i"
    assert set(pred.tolist()) <= {-3, 7, 42}
    np.testing.assert_array_equal(np.bincount(np.searchsorted(clf.classes_, labels)),
                                  np.bincount(y)[[1, 0, 2]])


def test_categorical_labels(data):
    X, y = data
    labels = pd.Series(pd.Categorical(np.array(["c", "a", "b"])[y],
                                      categories=["c", "b", "a"]))
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    pred = clf.predict(X)
    assert set(pred) <= {"a", "b", "c"}
    assert isinstance(pred[0], str)


def test_classes_sorted_unique(data):
    X, y = data
    labels = np.array(["zeta", "alpha", "mu"])[y]
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["alpha", "mu", "zeta"])
    assert clf.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("loss", ["ce", "weighted_ce", torch.nn.CrossEntropyLoss])
def test_predict_proba_is_a_distribution(data, loss):
    X, y = data
    clf = clf_(loss=loss, lr=0.05, max_epochs=3).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_inputs_not_modified(data):
    X, y = data
    w = np.linspace(0.5, 2.0, len(y))
    for X_in in (X.copy(), X.astype(np.float32)):
        labels = np.array(["a", "b", "c"], dtype=object)[y]
        X_copy, y_copy, w_copy = X_in.copy(), labels.copy(), w.copy()
        clf = clf_(sampler="under").fit(X_in, labels, sample_weight=w)
        clf.predict(X_in)
        clf.predict_proba(X_in)
        np.testing.assert_array_equal(X_in, X_copy)
        assert X_in.dtype == X_copy.dtype
        np.testing.assert_array_equal(labels, y_copy)
        np.testing.assert_array_equal(w, w_copy)
    df = pd.DataFrame(X, columns=list("abcdef"))
    df_copy = df.copy()
    ys = pd.Series(pd.Categorical(np.array(["x", "y", "z"])[y]))
    ys_copy = ys.copy()
    clf = clf_().fit(df, ys)
    clf.predict(df)
    pd.testing.assert_frame_equal(df, df_copy)
    pd.testing.assert_series_equal(ys, ys_copy)


def test_predict_proba_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        clf_().predict_proba(np.zeros((2, N_FEATURES)))


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        clf_().predict(np.zeros((2, N_FEATURES)))


# -- bad input ----------------------------------------------------------------------


def test_nan_names_dataframe_column_for_your_own_module(data):
    # the built-in networks fill missing values (tests/networks/front/test_raw_tables.py); your module
    # gets a finite table or a clear error
    X, y = data
    df = pd.DataFrame(X, columns=[f"sensor_{i}" for i in range(N_FEATURES)])
    df.iloc[11, 3] = np.nan
    clf = user_clf()
    with pytest.raises(ValueError, match=r"NaN.*'sensor_3'.*row 11"):
        clf.fit(df, y)
    assert_unfitted(clf)


def test_inf_names_array_column(data):
    X, y = data
    X = X.copy()
    X[4, 2] = np.inf
    clf = clf_()
    with pytest.raises(ValueError, match=r"infinity.*column 2.*row 4"):
        clf.fit(X, y)
    assert_unfitted(clf)


def test_nan_at_predict_names_column_for_your_own_module(data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"s{i}" for i in range(N_FEATURES)])
    clf = user_clf().fit(df, y)
    bad = df.copy()
    bad.iloc[0, 5] = np.nan
    with pytest.raises(ValueError, match="'s5'"):
        clf.predict(bad)


def test_empty_x():
    clf = clf_()
    with pytest.raises(ValueError, match="empty"):
        clf.fit(np.empty((0, N_FEATURES)), np.empty(0))
    assert_unfitted(clf)
    with pytest.raises(ValueError, match="empty"):
        clf.fit([], [])
    assert_unfitted(clf)


def test_length_mismatch(data):
    X, y = data
    clf = clf_()
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples.*300, 299"):
        clf.fit(X, y[:-1])
    assert_unfitted(clf)


def test_single_class(data):
    X, _ = data
    clf = clf_()
    with pytest.raises(ValueError, match=r"single class \(Dry\)"):
        clf.fit(X, np.array(["Dry"] * len(X)))
    assert_unfitted(clf)


def test_wrong_feature_count_at_predict(data):
    X, y = data
    clf = clf_().fit(X, y)
    with pytest.raises(ValueError, match=f"X has 4 features.*expecting {N_FEATURES}"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match=f"X has 4 features.*expecting {N_FEATURES}"):
        clf.predict_proba(X[:, :4])


def test_non_numeric_dataframe_column_for_your_own_module(data):
    X, y = data
    df = pd.DataFrame(X, columns=list("abcdef"))
    df["station"] = "RTOI4"
    clf = user_clf()
    with pytest.raises(ValueError, match=r"non-numeric columns \['station'\]"):
        clf.fit(df, y)
    assert_unfitted(clf)


def test_negative_sample_weight(data):
    X, y = data
    w = np.ones(len(y))
    w[10] = -0.5
    clf = clf_()
    with pytest.raises(ValueError, match="sample_weight.*non-negative"):
        clf.fit(X, y, sample_weight=w)
    assert_unfitted(clf)


def test_sample_weight_wrong_length(data):
    X, y = data
    with pytest.raises(ValueError, match=r"sample_weight.*\(300\)"):
        clf_().fit(X, y, sample_weight=np.ones(10))


def test_unknown_sampler_lists_valid_names(data):
    X, y = data
    with pytest.raises(ValueError, match="Unknown sampler 'bogus'") as info:
        clf_(sampler="bogus").fit(X, y)
    for name in list_samplers():
        assert name in str(info.value)


def test_unknown_loss_lists_valid_names(data):
    X, y = data
    with pytest.raises(ValueError, match="Unknown loss 'bogus'") as info:
        clf_(loss="bogus").fit(X, y)
    for name in list_losses():
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [dict(sampler="bogus"), dict(loss="bogus")])
def test_failed_fit_on_unknown_strategy_leaves_estimator_unfitted(data, bad):
    X, y = data
    clf = clf_(**bad)
    with pytest.raises(ValueError, match="Unknown"):
        clf.fit(X, y)
    assert_unfitted(clf)


# -- strategy state from the training portion only ---------------------------------


def test_class_counts_from_internal_training_split(data):
    X, y = data
    labels = np.array(["c", "a", "b"])[y]     # encoded: c->2, a->0, b->1
    encoded = np.searchsorted(np.array(["a", "b", "c"]), labels)
    train_rows, _ = internal_split(encoded)
    clf = clf_().fit(X, labels)
    expected = np.bincount(encoded[train_rows], minlength=3)
    np.testing.assert_array_equal(clf.class_counts_, expected)
    assert not np.array_equal(clf.class_counts_, np.bincount(encoded))
    assert clf.class_counts_.sum() == len(train_rows)
    # the sampler was fit on the same rows
    np.testing.assert_array_equal(clf.sampler_.class_counts_.numpy(), expected)


def test_class_counts_without_split(data):
    X, y = data
    clf = clf_(train_split=None).fit(X, y)
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y))
    assert "valid_loss" not in clf.history[-1]
    assert "valid_f1_macro" not in clf.history[-1]


def test_default_trains_on_every_row_and_keeps_the_last_epoch(data):
    X, y = data
    clf = ImbalancedTorchClassifier(max_epochs=3, module__hidden_units=(16,), device="cpu",
                                    random_state=0)
    assert clf.get_params()["train_split"] is None
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y))
    assert len(clf.history) == 3
    assert not any(key.startswith("valid_") for key in clf.history[-1])
    # the weights after the last epoch: no restore by the (idle) best_epoch callback
    last = {k: v.clone() if torch.is_tensor(v) else v
            for k, v in clf.module_.state_dict().items()}
    again = ImbalancedTorchClassifier(max_epochs=3, module__hidden_units=(16,), device="cpu",
                                      random_state=0, callbacks__best_epoch=None).fit(X, y)
    for key, value in again.module_.state_dict().items():
        if torch.is_tensor(value):
            torch.testing.assert_close(value, last[key])
        else:
            assert value == last[key]


def test_class_counts_with_custom_split(data):
    X, y = data
    clf = clf_(train_split=ValidSplit(3, stratified=True)).fit(X, y)
    train_rows, _ = next(StratifiedKFold(3).split(np.arange(len(y)), y))
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y[train_rows]))


@pytest.mark.parametrize("weights", ["balanced", "sqrt"])
def test_loss_weights_from_training_counts(data, weights):
    X, y = data
    clf = clf_(loss="weighted_ce", loss__weights=weights).fit(X, y)
    train_rows, _ = internal_split(y)
    counts = np.bincount(y[train_rows]).astype(float)
    np.testing.assert_array_equal(clf.class_counts_, counts)
    if weights == "balanced":
        expected = counts.sum() / (len(counts) * counts)
    else:
        raw = counts ** -0.5
        expected = raw * counts.sum() / (raw * counts).sum()
    np.testing.assert_allclose(clf.criterion_.class_weights.cpu().numpy(), expected, rtol=1e-6)
    full = np.bincount(y).astype(float)
    if weights == "balanced":
        assert not np.allclose(expected, full.sum() / (3 * full))


def test_loss_weights_dict_by_label(data):
    X, y = data
    labels = np.array(["Dry", "Wet", "Frost"])[y]
    clf = clf_(loss="weighted_ce", loss__weights={"Dry": 1.0, "Wet": 2.0, "Frost": 5.0}).fit(X, labels)
    # classes_ is sorted: Dry, Frost, Wet
    np.testing.assert_allclose(clf.criterion_.class_weights.cpu().numpy(), [1.0, 5.0, 2.0])


def test_refit_recomputes_counts(data):
    X, y = data
    clf = clf_(train_split=None, loss="weighted_ce").fit(X, y)
    keep = np.r_[np.flatnonzero(y == 0)[:40], np.flatnonzero(y != 0)]
    clf.fit(X[keep], y[keep])
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y[keep]))
    counts = np.bincount(y[keep])
    np.testing.assert_allclose(clf.criterion_.class_weights.numpy(),
                               counts.sum() / (3 * counts), rtol=1e-6)


# -- validation macro-F1 and history -----------------------------------------------


def test_valid_f1_macro_recomputed(data):
    X, y = data
    labels = np.array(["Dry", "Wet", "Frost"])[y]
    encoded = np.searchsorted(np.sort(["Dry", "Wet", "Frost"]), labels)
    _, valid_rows = internal_split(encoded)
    clf = clf_(max_epochs=4, lr=0.01, module__dropout=0.0).fit(X, labels)
    for row in clf.history:
        assert 0.0 <= row["valid_f1_macro"] <= 1.0
        assert isinstance(row["valid_f1_macro_best"], bool)
        assert "train_loss" in row and "valid_loss" in row
    expected = f1_score(labels[valid_rows], clf.predict(X[valid_rows]), average="macro")
    assert clf.history[-1]["valid_f1_macro"] == pytest.approx(expected, abs=1e-12)
    # _best flags mark running maxima
    scores = clf.history[:, "valid_f1_macro"]
    flags = clf.history[:, "valid_f1_macro_best"]
    assert flags[0] is True
    for i in range(1, len(scores)):
        assert flags[i] == (scores[i] > max(scores[:i]))


def test_early_stopping_on_valid_f1(data):
    X, y = data
    # lr=0: the score never changes, so the run stops after `patience` misses
    clf = clf_(
        max_epochs=30, lr=0.0,
        callbacks=[EarlyStopping(monitor="valid_f1_macro", lower_is_better=False, patience=2)],
    ).fit(X, y)
    assert len(clf.history) == 3
    assert clf.history[:, "valid_f1_macro_best"] == [True, False, False]


def test_early_stopping_keeps_going_while_improving(data):
    X, y = data
    clf = clf_(
        max_epochs=6, lr=0.05, batch_size=32,
        callbacks=[EarlyStopping(monitor="valid_f1_macro", lower_is_better=False, patience=6)],
    ).fit(X, y)
    assert len(clf.history) == 6


def test_losses_recorded_per_epoch_and_batch(data):
    X, y = data
    clf = clf_(max_epochs=3, batch_size=50).fit(X, y)
    n_train = len(internal_split(y)[0])      # 240 rows -> 5 batches of 50
    n_valid = len(y) - n_train               # 60 rows -> 2 batches
    for row in clf.history:
        assert row["train_batch_count"] == 5
        assert row["valid_batch_count"] == 2
        train = [b["train_loss"] for b in row["batches"] if "train_loss" in b]
        valid = [b["valid_loss"] for b in row["batches"] if "valid_loss" in b]
        assert len(train) == row["train_batch_count"]
        assert len(valid) == row["valid_batch_count"]
        assert all(isinstance(v, float) and np.isfinite(v) for v in train + valid)
        sizes = [b["train_batch_size"] for b in row["batches"] if "train_loss" in b]
        assert sizes == [50, 50, 50, 50, 40]
        np.testing.assert_allclose(row["train_loss"], np.average(train, weights=sizes), rtol=1e-6)
        vsizes = [b["valid_batch_size"] for b in row["batches"] if "valid_loss" in b]
        assert sum(vsizes) == n_valid
        np.testing.assert_allclose(row["valid_loss"], np.average(valid, weights=vsizes), rtol=1e-6)


# -- sample weights -----------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["none", "under"])
def test_unit_weights_equal_no_weights(data, sampler):
    X, y = data
    a = clf_(sampler=sampler, max_epochs=3).fit(X, y)
    b = clf_(sampler=sampler, max_epochs=3).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-5)


@pytest.mark.parametrize("train_split", [None, ValidSplit(5, stratified=True)],
                         ids=["no_split", "valid_split"])
@pytest.mark.parametrize("sampler", ["none", "under", "over", RandomUnderSampler()],
                         ids=["none", "under", "over", "imblearn_under"])
def test_zero_weight_rows_do_not_train(data, sampler, train_split):
    """Rows with weight 0 contribute nothing: scrambling their features leaves the
    fit unchanged. This only holds if the weights stay aligned with their rows
    through the split, the sampler and the batches."""
    X, y = data
    w = np.where(y == 1, 0.0, 1.0)
    w[y == 0] = np.linspace(0.5, 1.5, int((y == 0).sum()))
    X_scrambled = X.copy()
    rng = np.random.default_rng(1)
    X_scrambled[y == 1] = rng.normal(scale=5.0, size=X[y == 1].shape)
    params = dict(sampler=sampler, train_split=train_split, max_epochs=3, batch_size=32, lr=0.01)
    a = clf_(**params).fit(X, y, sample_weight=w)
    b = clf_(**params).fit(X_scrambled, y, sample_weight=w)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-6)
    # control: with unit weights the scrambled rows do change the fit
    c = clf_(**params).fit(X, y, sample_weight=np.ones(len(y)))
    d = clf_(**params).fit(X_scrambled, y, sample_weight=np.ones(len(y)))
    assert np.abs(c.predict_proba(X) - d.predict_proba(X)).max() > 1e-3


def test_validation_weights_do_not_affect_training(data):
    X, y = data
    train_rows, valid_rows = internal_split(y)
    w1 = np.ones(len(y))
    w2 = w1.copy()
    w2[valid_rows] = np.linspace(0.1, 3.0, len(valid_rows))
    a = clf_(max_epochs=3).fit(X, y, sample_weight=w1)
    b = clf_(max_epochs=3).fit(X, y, sample_weight=w2)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-6)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    # ... but they weight the validation loss
    assert not np.allclose(a.history[:, "valid_loss"], b.history[:, "valid_loss"], rtol=1e-4)


def test_zero_weight_class_is_not_learned(data):
    X, y = data
    params = dict(train_split=None, max_epochs=10, lr=0.02, batch_size=32)
    a = clf_(**params).fit(X, y)
    b = clf_(**params).fit(X, y, sample_weight=np.where(y == 2, 0.0, 1.0))
    assert b.predict_proba(X[y == 2])[:, 2].mean() < a.predict_proba(X[y == 2])[:, 2].mean()
    assert (b.predict(X) == 2).sum() < (a.predict(X) == 2).sum()


def test_sample_weight_with_imblearn_under_sampler(data):
    X, y = data
    sampler = RandomUnderSampler()
    clf = clf_(sampler=sampler).fit(X, y, sample_weight=np.linspace(0.1, 1, len(y)))
    assert clf.predict(X).shape == (len(X),)
    assert sampler.get_params()["random_state"] is None
    assert not hasattr(sampler, "sample_indices_")


def test_sample_weight_with_smote_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight cannot be used with SMOTE"):
        clf_(sampler=SMOTE()).fit(X, y, sample_weight=np.ones(len(y)))


def test_sample_weight_with_custom_loss_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight needs a skimb loss"):
        clf_(loss=torch.nn.CrossEntropyLoss).fit(X, y, sample_weight=np.ones(len(y)))


# -- reproducibility ----------------------------------------------------------------


@pytest.mark.parametrize("sampler", list_samplers())
def test_same_random_state_same_model(data, sampler):
    X, y = data
    params = dict(sampler=sampler, batch_size=64, module__dropout=0.2)
    a = clf_(random_state=3, **params).fit(X, y).predict_proba(X)
    b = clf_(random_state=3, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = clf_(random_state=4, **params).fit(X, y).predict_proba(X)
    assert np.abs(a - c).max() > 1e-3


def test_same_random_state_imblearn_sampler(data):
    X, y = data
    a = clf_(sampler=SMOTE(), random_state=5).fit(X, y).predict_proba(X)
    b = clf_(sampler=SMOTE(), random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_random_state_instance_accepted(data):
    X, y = data
    a = clf_(random_state=np.random.RandomState(2)).fit(X, y).predict_proba(X)
    b = clf_(random_state=np.random.RandomState(2)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_fit_with_random_state_keeps_global_torch_rng(data):
    X, y = data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    clf_(sampler="under", module__dropout=0.3).fit(X, y)
    after = torch.get_rng_state()
    assert torch.equal(before, after)


def test_fit_without_random_state_varies(data):
    X, y = data
    torch.manual_seed(0)
    a = clf_(random_state=None).fit(X, y).predict_proba(X)
    b = clf_(random_state=None).fit(X, y).predict_proba(X)
    assert np.abs(a - b).max() > 1e-4
