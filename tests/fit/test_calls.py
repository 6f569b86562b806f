"""Each fit and partial_fit call: a changed network or loss is rebuilt, skorch's restore
pattern, one epoch clock and one budget per call, partial_fit continuing a fit (or starting
one), a diverged call and bad input to a continued one, the training rows gathered once and
the parameters checked before any work."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from sklearn.exceptions import NotFittedError

from skimb import ImbalancedTorchClassifier
from skimb._data import TensorTable
from skimb.samplers import ProgressiveSampler
from tests.helpers import FAST, clf_, make_data, user_clf


@pytest.fixture(scope="module")
def data():
    return make_data(n=300)


class Recorder(Callback):
    """Records, at every epoch start, what the loss and sampler are told."""

    def initialize(self):
        self.epochs, self.weighted, self.batches = [], [], []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append(net.loss_.epoch)
        weights = getattr(net.loss_, "active_weights", None)
        self.weighted.append(None if weights is None else bool((weights != 1).any()))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.batches.append(batch[0].clone())


# -- classes= ----------------------------------------------------------------------

# -- a changed network, a changed loss ----------------------------------------------

def test_set_params_module_unfits_the_model(data):
    X, y = data
    clf = clf_(module="mlp").fit(X, y)
    clf.set_params(module__hidden_units=(8,))
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    assert clf.fit(X, y).module_.body.layers[0].out_features == 8


def test_set_params_module_unfits_a_users_module(data):
    X, y = data
    clf = user_clf().fit(X, y)
    clf.set_params(module__n_in=6)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.partial_fit(X, y)  # a fresh fit
    assert len(clf.history) == 2


def test_changed_loss_is_rebuilt_under_warm_start(data):
    X, y = data
    clf = clf_(warm_start=True, loss="weighted_ce").fit(X, y)
    before = clf.loss_.class_weights.clone()
    clf.set_params(loss__weights="sqrt")
    clf.fit(X, y)
    assert clf.loss_.weights == "sqrt"
    assert not torch.allclose(clf.loss_.class_weights, before)
    other = clf_(warm_start=True).fit(X, y)
    other.set_params(loss="focal")
    other.partial_fit(X, y)
    assert type(other.loss_).__name__ == "FocalLoss" and len(other.history) == 4


# -- iterator parameters, dataset= ----------------------------------------------------

# -- skorch's restore pattern -------------------------------------------------------

def test_skorch_restore_pattern_with_a_user_module(data, tmp_path):
    X, y = data
    fitted = user_clf(max_epochs=5).fit(X, y)
    fitted.save_params(f_params=tmp_path / "params.pt")
    restored = user_clf(classes=[0, 1, 2]).initialize()
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(restored.predict_proba(X), fitted.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    restored.partial_fit(X, y)
    assert len(restored.history) == 2


def test_initialize_without_data_explains_how_to_restore_a_builtin_network():
    with pytest.raises(ValueError, match="unpickle"):
        ImbalancedTorchClassifier(module="mlp").initialize()


# -- one epoch clock per call, budgets in steps -------------------------------------

def test_drw_counts_the_epochs_of_each_call(data):
    X, y = data
    recorder = Recorder()
    clf = clf_(loss="weighted_ce", loss__drw_epoch=2, max_epochs=4,
               callbacks=[("recorder", recorder)]).fit(X, y)
    clf.partial_fit(X, y)
    assert recorder.epochs == [0, 1, 2, 3, 0, 1, 2, 3]
    assert recorder.weighted == [False, False, True, True] * 2


def test_drw_fraction_is_a_share_of_the_calls_budget(data):
    X, y = data
    recorder = Recorder()
    clf_(loss="weighted_ce", loss__drw_epoch=0.5, max_epochs=6,
         callbacks=[("recorder", recorder)]).fit(X, y)
    assert recorder.weighted == [False, False, False, True, True, True]


def test_progressive_sampler_restarts_its_schedule_at_every_call(data, monkeypatch):
    X, y = data
    asked = []
    original = ProgressiveSampler.epoch_indices

    def spy(self, epoch, batch_size, generator):
        asked.append((epoch, self._n_epochs))
        return original(self, epoch, batch_size, generator)

    monkeypatch.setattr(ProgressiveSampler, "epoch_indices", spy)
    clf = clf_(sampler="progressive", max_epochs=3).fit(X, y)
    clf.partial_fit(X, y)
    assert asked == [(0, 3), (1, 3), (2, 3)] * 2


@pytest.mark.parametrize("sampler, params", [("under", {}),
                                             ("balanced_batch", {"sampler__max_per_class": 30})])
def test_auto_budget_gives_every_sampler_the_steps_of_none(data, monkeypatch, sampler, params):
    X, y = data
    monkeypatch.setattr("skimb.recipe.AUTO_ROW_VISITS", 900)  # 3 epochs of 300 rows
    monkeypatch.setattr("skimb.recipe.AUTO_MIN_EPOCHS", 1)
    plain = clf_(max_epochs="auto", train_split=None, batch_size=64).fit(X, y)
    drawn = clf_(max_epochs="auto", train_split=None, batch_size=64, sampler=sampler,
                 **params).fit(X, y)
    steps = [sum(row["train_batch_count"] for row in clf.history) for clf in (plain, drawn)]
    assert plain.max_epochs_ == 3 and steps[0] == 3 * 5
    assert drawn.max_epochs_ > plain.max_epochs_
    assert steps[0] <= steps[1] < steps[0] + drawn.history[0]["train_batch_count"]


def test_integer_max_epochs_keeps_its_skorch_meaning(data):
    X, y = data
    assert clf_(sampler="under", max_epochs=3).fit(X, y).max_epochs_ == 3


# -- sample_weight in the class statistics ------------------------------------------

# -- divergence --------------------------------------------------------------------

def test_a_diverged_fit_is_an_error_and_leaves_no_model(data):
    X, y = data
    clf = clf_(lr=1e6, max_epochs=5, callbacks__gradient_clipping=None,
               optimizer=torch.optim.SGD, module__hidden_units=(64, 64))
    with pytest.raises(ValueError, match=r"diverged.*Lower the learning rate"):
        clf.fit(X * 1e3, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_diverged_partial_fit_unfits_the_model(data):
    X, y = data
    clf = user_clf(callbacks__gradient_clipping=None, optimizer=torch.optim.SGD).fit(X, y)
    clf.set_params(lr=1e30)
    with pytest.raises(ValueError, match="diverged"):
        clf.partial_fit(X * 1e4, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_bad_input_to_partial_fit_keeps_the_fitted_model(data):
    X, y = data
    clf = clf_().fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.partial_fit(X, np.full(len(y), 7))
    np.testing.assert_array_equal(clf.predict_proba(X), before)


# -- fit once ------------------------------------------------------------------------

def test_training_rows_are_gathered_once_per_fit(data, monkeypatch):
    X, y = data
    calls = []
    original = TensorTable.take

    def counting(self, rows=None):
        calls.append(rows is None)
        return original(self, rows)

    monkeypatch.setattr(TensorTable, "take", counting)
    clf_().fit(X, y)
    assert calls.count(False) == 2  # one gather of the training rows, one of the validation rows


def test_hyperparameters_are_checked_before_any_work(data, monkeypatch):
    X, y = data
    monkeypatch.setattr("skimb._inputs.prepare.check_features",
                        lambda *a, **k: pytest.fail("the input was read first"))
    with pytest.raises(ValueError, match="Unknown sampler"):
        clf_(sampler="nope").fit(X, y)
    with pytest.raises(ValueError, match="decision"):
        clf_(decision="nope").fit(X, y)


def test_a_loss_subclass_with_the_one_argument_set_epoch_still_trains(data):
    from skimb.losses import WeightedCrossEntropy

    class Recording(WeightedCrossEntropy):
        def set_epoch(self, epoch):  # the protocol before the per-call budget
            super().set_epoch(epoch)

    X, y = data
    clf = clf_(loss=Recording(drw_epoch=0.5), max_epochs=4).fit(X, y)
    assert clf.loss_.n_epochs == 4 and clf.loss_.epoch == 3


# -- partial_fit ---------------------------------------------------------------------------


def test_partial_fit_continues_history(data):
    X, y = data
    clf = clf_(max_epochs=2).fit(X, y)
    clf.partial_fit(X, y)
    assert len(clf.history) == 4
    assert all("valid_f1_macro" in row for row in clf.history)


def test_partial_fit_on_a_fresh_estimator_fits(data):
    X, y = data
    clf = clf_().partial_fit(X, y)
    assert clf.predict(X).shape == (len(X),)
    assert len(clf.history) == FAST["max_epochs"]


def test_partial_fit_rejects_bad_labels(data):
    X, y = data
    clf = clf_().fit(X, y)
    with pytest.raises(ValueError, match="required"):
        clf.partial_fit(X, None)
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.partial_fit(X, np.full(len(X), 7))


def test_refit_recomputes_counts(data):
    X, y = data
    clf = clf_(train_split=None, loss="weighted_ce").fit(X, y)
    keep = np.r_[np.flatnonzero(y == 0)[:40], np.flatnonzero(y != 0)]
    clf.fit(X[keep], y[keep])
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y[keep]))
    counts = np.bincount(y[keep])
    np.testing.assert_allclose(clf.criterion_.class_weights.numpy(),
                               counts.sum() / (3 * counts), rtol=1e-6)
