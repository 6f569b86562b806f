"""Core behaviour of ImbalancedTorchClassifier: its outputs, unknown strategy names, the
strategies' state from the training portion only, validation macro-F1, early stopping and
the history. (What X and y may be: tests/inputs/; sample weights, random_state and each
call's behaviour: test_sample_weight.py, test_random_state.py, test_calls.py.)"""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier, list_losses, list_samplers

from tests.helpers import N_FEATURES, assert_unfitted, clf_


def internal_split(y_encoded):
    """Training / validation rows of skorch's ValidSplit(5, stratified=True)."""
    return next(StratifiedKFold(5).split(np.arange(len(y_encoded)), y_encoded))


# -- inputs and outputs -----------------------------------------------------------


@pytest.mark.parametrize("loss", ["ce", "weighted_ce", torch.nn.CrossEntropyLoss])
def test_predict_proba_is_a_distribution(data, loss):
    X, y = data
    clf = clf_(loss=loss, lr=0.05, max_epochs=3).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_predict_proba_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        clf_().predict_proba(np.zeros((2, N_FEATURES)))


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        clf_().predict(np.zeros((2, N_FEATURES)))


# -- bad input ----------------------------------------------------------------------


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


# -- reproducibility ----------------------------------------------------------------


