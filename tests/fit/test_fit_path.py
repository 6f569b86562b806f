"""The fit path: one training context per call, skorch parameters honoured or refused,
and the corners that used to give silently wrong answers (issue 17)."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import Dataset as SkorchDataset
from sklearn.exceptions import NotFittedError
from torch.utils.data import SequentialSampler, TensorDataset

from skimb import ImbalancedTorchClassifier
from skimb._data import TensorTable
from skimb.samplers import ProgressiveSampler

from tests.helpers import clf_, make_data, user_clf


@pytest.fixture(scope="module")
def data():
    return make_data(n=300)


@pytest.fixture(scope="module")
def ab_data():
    X, y = make_data(n=300)
    return X, np.where(y == 0, "a", "b")


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

def test_classes_param_sets_the_encoding_order(ab_data):
    X, y = ab_data
    default = clf_(max_epochs=10).fit(X, y)
    ordered = clf_(max_epochs=10, classes=["b", "a"]).fit(X, y)
    assert ordered.classes_.tolist() == ["b", "a"]
    # the encoding follows classes_: accuracy as with the default order, not its mirror
    assert (ordered.predict(X) == y).mean() > 0.6
    assert abs((ordered.predict(X) == y).mean() - (default.predict(X) == y).mean()) < 0.05
    proba_of_truth = ordered.predict_proba(X)[np.arange(len(y)), np.where(y == "b", 0, 1)]
    assert proba_of_truth.mean() > 0.5
    assert ordered.class_counts_.tolist() == default.class_counts_[::-1].tolist()


def test_classes_param_refuses_unknown_and_absent_labels(ab_data):
    X, y = ab_data
    with pytest.raises(ValueError, match="not in classes="):
        clf_(classes=["a"]).fit(X, y)
    with pytest.raises(ValueError, match=r"lists \['c'\], which y does not hold"):
        clf_(classes=["a", "b", "c"]).fit(X, y)


def test_partial_fit_classes_sets_the_order_and_is_checked_after(ab_data):
    X, y = ab_data
    clf = clf_().partial_fit(X, y, classes=["b", "a"])
    assert clf.classes_.tolist() == ["b", "a"]
    clf.partial_fit(X, y, classes=["b", "a"])
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y, classes=["a", "b"])


def test_empty_classes_opts_out_of_classes_as_in_skorch(data):
    X, y = data
    clf = clf_(classes=[]).fit(X, y).fit(X, y)
    with pytest.raises(AttributeError, match="has no attribute 'classes_'"):
        clf.classes_  # noqa: B018
    assert set(clf.predict(X)) <= {0, 1, 2}


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

def test_drop_last_is_honoured_on_the_resident_path(data):
    X, y = data  # 240 training rows with the 20% split
    clf = clf_(batch_size=100, iterator_train__drop_last=True).fit(X, y)
    assert clf.training_storage_ == "device"
    assert [row["train_batch_count"] for row in clf.history] == [2, 2]
    assert all(b["train_batch_size"] == 100 for row in clf.history for b in row["batches"]
               if "train_batch_size" in b)


def test_shuffle_false_visits_rows_in_order(data):
    X, y = data
    recorder = Recorder()
    clf = clf_(batch_size=50, iterator_train__shuffle=False, train_split=None,
               callbacks=[("recorder", recorder)]).fit(X, y)
    assert clf.training_storage_ == "device"
    np.testing.assert_array_equal(recorder.batches[0].numpy(), X[:50].astype(np.float32))


def test_shuffle_false_with_a_drawing_sampler_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="shuffle=False"):
        clf_(sampler="under", iterator_train__shuffle=False).fit(X, y)


def test_collate_fn_sends_in_memory_rows_through_the_dataloader(data):
    X, y = data
    calls = []

    def collate(items):
        calls.append(len(items))
        return torch.utils.data.default_collate(items)

    clf = clf_(iterator_train__collate_fn=collate).fit(X, y)
    assert clf.training_storage_ == "dataloader"
    assert sum(calls) == 2 * 240  # two epochs of the training rows


def test_a_user_sampler_is_honoured_with_sampler_none_and_refused_otherwise(data):
    X, y = data
    dataset = TensorDataset(torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y))
    seen = []

    class Counting(SequentialSampler):
        def __iter__(self):
            seen.append(True)
            return super().__iter__()

    user_clf(train_split=None, iterator_train__sampler=Counting(dataset)).fit(dataset, y)
    assert len(seen) == 2
    with pytest.raises(ValueError, match="iterator_train__sampler decides the training order"):
        user_clf(sampler="over", iterator_train__sampler=Counting(dataset)).fit(dataset, y)


def test_dataset_param_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="dataset= is not used"):
        clf_(dataset=type("MyDataset", (SkorchDataset,), {})).fit(X, y)


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

def test_priors_count_a_weight_of_two_like_a_repeated_row(data):
    X, y = data
    weights = np.where(y == 2, 2.0, 1.0)
    weighted = clf_(loss="logit_adjusted", train_split=None).fit(X, y, sample_weight=weights)
    repeated = np.concatenate([X, X[y == 2]]), np.concatenate([y, y[y == 2]])
    copied = clf_(loss="logit_adjusted", train_split=None).fit(*repeated)
    np.testing.assert_allclose(weighted.loss_.class_counts.cpu().numpy(),
                               copied.loss_.class_counts.cpu().numpy())
    assert weighted.class_counts_.tolist() == np.bincount(y).tolist()  # still rows


def test_decision_prior_uses_the_weighted_class_mass(data):
    X, y = data
    weights = np.where(y == 2, 3.0, 1.0)
    clf = clf_(decision="prior", train_split=None).fit(X, y, sample_weight=weights)
    mass = np.bincount(y, weights=weights)
    np.testing.assert_allclose(clf.decision_offsets_, -np.log(mass / mass.sum()), rtol=1e-6)


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
