"""The training data path: device-resident batches for in-memory data, the
DataLoader path for torch Datasets, the host-to-device streaming branch, module
construction and history recording."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import skimb._batches as training
from skimb import ImbalancedTorchClassifier
from skimb._batches import ResidentBatches, ResidentRows
from skimb.modules import TabularMLP

from tests.helpers import FAST, N_FEATURES, clf_, user_clf


def custom_(**params):
    base = {k: v for k, v in FAST.items() if not k.startswith("module__")}
    return ImbalancedTorchClassifier(**{**base, **params})


def train_rows(y):
    return next(StratifiedKFold(5).split(np.arange(len(y)), y))[0]


def epoch_sizes(clf):
    """Rows visited by training in each epoch, from the batch history."""
    return [sum(b["train_batch_size"] for b in row["batches"] if "train_loss" in b)
            for row in clf.history]


# -- device-resident path ---------------------------------------------------------------


def test_in_memory_iterator_is_resident(data):
    X, y = data
    clf = clf_(sampler="under").fit(X, y)
    table = ResidentRows(X.astype(np.float32), y)  # the training rows a fit batches resident
    for training_ in (False, True):
        iterator = clf.get_iterator(table, training=training_)
        assert isinstance(iterator, ResidentBatches)
        assert not isinstance(iterator, DataLoader)
    valid = clf.get_iterator(table, training=False)
    batches = list(valid)
    assert sum(len(xb) for xb, _ in batches) == len(X)
    # validation / prediction visits rows in order
    np.testing.assert_array_equal(torch.cat([xb for xb, _ in batches]).numpy(),
                                  X.astype(np.float32))
    # a training epoch over the training portion draws class-balanced rows with
    # the fitted under-sampler (fit on exactly those rows)
    rows = train_rows(y)
    train = clf.get_iterator(ResidentRows(X[rows].astype(np.float32), y[rows]), training=True)
    labels = torch.cat([yb for _, yb in train])
    counts = torch.bincount(labels, minlength=3)
    assert counts.tolist() == [int(np.bincount(y[rows]).min())] * 3


def test_in_memory_fit_never_iterates_a_dataloader(data, monkeypatch):
    X, y = data

    def refuse(self):
        raise AssertionError("DataLoader used on the in-memory path")

    monkeypatch.setattr(DataLoader, "__iter__", refuse)
    for sampler in ("none", "under", "balanced_batch"):
        clf = clf_(sampler=sampler).fit(X, y, sample_weight=np.ones(len(y)))
        assert clf.predict_proba(X).shape == (len(X), 3)
    # decision="tuned" predicts the validation rows: on the resident path too
    assert clf_(decision="tuned").fit(X, y).decision_offsets_.shape == (3,)
    # the Dataset path does use one (so the patch is effective)
    ds = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    with pytest.raises(AssertionError, match="DataLoader used"):
        user_clf().fit(ds, y)


def test_batch_size_minus_one(data):
    X, y = data
    clf = clf_(batch_size=-1, max_epochs=3).fit(X, y)
    n_train = len(train_rows(y))
    for row in clf.history:
        assert row["train_batch_count"] == 1
        assert row["valid_batch_count"] == 1
    assert epoch_sizes(clf) == [n_train] * 3
    assert clf.predict(X).shape == (len(X),)


@pytest.mark.parametrize("sampler, expected", [
    ("none", lambda counts: counts.sum()),
    ("under", lambda counts: 3 * counts.min()),
    ("over", lambda counts: counts.sum()),
    ("balanced_batch", lambda counts: counts.sum()),
])
def test_epoch_length_per_sampler(data, sampler, expected):
    X, y = data
    clf = clf_(sampler=sampler, batch_size=32, max_epochs=2).fit(X, y)
    counts = np.bincount(y[train_rows(y)])
    assert epoch_sizes(clf) == [expected(counts)] * 2
    for row in clf.history:
        n = expected(counts)
        assert row["train_batch_count"] == -(-n // 32)


# -- history ------------------------------------------------------------------------------


def test_history_per_epoch_and_batch(data):
    X, y = data
    clf = clf_(batch_size=64, max_epochs=3).fit(X, y)
    assert len(clf.history) == 3
    assert clf.history[:, "epoch"] == [1, 2, 3]
    for row in clf.history:
        for key in ("train_loss", "valid_loss", "valid_f1_macro", "valid_f1_macro_best",
                    "train_batch_count", "valid_batch_count", "dur"):
            assert key in row, key
        train = [b["train_loss"] for b in row["batches"] if "train_loss" in b]
        assert len(train) == row["train_batch_count"] == 4      # 240 rows / 64
        assert all(isinstance(v, float) for v in train)
        valid = [b["valid_loss"] for b in row["batches"] if "valid_loss" in b]
        assert len(valid) == row["valid_batch_count"] == 1
    # training lowers the loss
    assert clf.history[-1, "train_loss"] < clf.history[0, "train_loss"] + 1e-6


def test_history_without_validation(data):
    X, y = data
    clf = clf_(train_split=None, batch_size=100).fit(X, y)
    for row in clf.history:
        assert "valid_loss" not in row and "valid_f1_macro" not in row
        assert row["train_batch_count"] == 3
        assert len([b for b in row["batches"] if "train_loss" in b]) == 3


# -- torch Dataset path ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(data):
    X, y = data
    return TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.int64))


@pytest.mark.parametrize("sampler", ["under", "over"])
def test_dataset_trains_with_sampler(data, dataset, sampler):
    X, y = data
    clf = user_clf(sampler=sampler, batch_size=32).fit(dataset, y)
    counts = np.bincount(y[train_rows(y)])
    np.testing.assert_array_equal(clf.class_counts_, counts)
    assert clf.n_features_in_ == N_FEATURES
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    expected = 3 * counts.min() if sampler == "under" else counts.sum()
    assert epoch_sizes(clf) == [expected] * 2
    proba = clf.predict_proba(dataset)
    assert proba.shape == (len(y), 3)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    pred = clf.predict(dataset)
    assert pred.shape == (len(y),)
    # the same network also predicts on arrays
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-6)
    assert "valid_f1_macro" in clf.history[-1]


def test_dataset_reproducible(dataset, data):
    _, y = data
    a = user_clf(sampler="under").fit(dataset, y).predict_proba(dataset)
    b = user_clf(sampler="under").fit(dataset, y).predict_proba(dataset)
    np.testing.assert_array_equal(a, b)


def test_dataset_labels_of_any_kind_are_encoded_like_y(dataset, data):
    _, y = data
    shifted = user_clf().fit(dataset, y + 1)
    assert shifted.classes_.tolist() == [1, 2, 3]
    assert set(shifted.predict(dataset)) <= {1, 2, 3}
    named = user_clf().fit(dataset, np.array(["a", "b", "c"])[y])
    np.testing.assert_allclose(named.predict_proba(dataset), shifted.predict_proba(dataset))


def test_dataset_labels_are_read_from_the_dataset(dataset, data):
    _, y = data
    np.testing.assert_allclose(user_clf().fit(dataset).predict_proba(dataset),
                               user_clf().fit(dataset, y).predict_proba(dataset))


def test_dataset_takes_sample_weight(dataset, data):
    _, y = data
    weights = np.where(y == 2, 2.0, 1.0)
    clf = user_clf(loss="logit_adjusted", train_split=None).fit(dataset, y,
                                                               sample_weight=weights)
    np.testing.assert_allclose(clf.loss_.class_counts.cpu().numpy(),
                               np.bincount(y, weights=weights))
    assert not np.allclose(clf.predict_proba(dataset),
                           user_clf(loss="logit_adjusted", train_split=None).fit(
                               dataset, y).predict_proba(dataset))


def test_dataset_with_imblearn_sampler_raises(dataset, data):
    from imblearn.under_sampling import RandomUnderSampler
    _, y = data
    with pytest.raises(ValueError, match="resamples 2-D rows of an in-memory table"):
        user_clf(sampler=RandomUnderSampler()).fit(dataset, y)


# -- streaming branch (features not resident on the device) -----------------------------


@pytest.mark.parametrize("sampler", ["none", "under", "balanced_batch"])
def test_streaming_branch_matches_resident(data, sampler, monkeypatch):
    X, y = data
    params = dict(sampler=sampler, batch_size=32, max_epochs=3)

    # the per-batch copy is the only `.to(..., non_blocking=True)` of the fit
    copies = []
    real_to = torch.Tensor.to

    def spy_to(self, *args, **kwargs):
        if kwargs.get("non_blocking"):
            copies.append(tuple(self.shape))
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", spy_to)
    resident = clf_(**params).fit(X, y)
    resident.predict_proba(X)
    assert copies == []

    stores = []
    real_init = ResidentBatches.__init__

    def spy_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        stores.append(self.store != self.device)

    monkeypatch.setattr(training, "storage_device", lambda nbytes, device: torch.device("cpu", 0))
    monkeypatch.setattr(ResidentBatches, "__init__", spy_init)
    streamed = clf_(**params).fit(X, y)
    proba = streamed.predict_proba(X)
    assert stores and all(stores)      # every iterator kept its features off the device
    n_batches = sum(row["train_batch_count"] + row["valid_batch_count"]
                    for row in streamed.history)
    # ... and copied each batch's X and y over (plus the prediction batches)
    assert len(copies) >= 2 * n_batches
    monkeypatch.setattr(torch.Tensor, "to", real_to)
    np.testing.assert_array_equal(proba, resident.predict_proba(X))
    np.testing.assert_array_equal(streamed.history[:, "train_loss"],
                                  resident.history[:, "train_loss"])
    np.testing.assert_array_equal(streamed.predict(X), resident.predict(X))


def test_streaming_branch_with_sample_weight(data, monkeypatch):
    X, y = data
    w = np.linspace(0.2, 2.0, len(y))
    resident = clf_(sampler="over").fit(X, y, sample_weight=w)
    monkeypatch.setattr(training, "storage_device", lambda nbytes, device: torch.device("cpu", 0))
    streamed = clf_(sampler="over").fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(streamed.predict_proba(X), resident.predict_proba(X))


# -- modules --------------------------------------------------------------------------------


def test_module_params_reach_tabular_mlp(data):
    X, y = data
    clf = clf_(module__hidden_units=(12, 5), module__dropout=0.25,
               module__num_embeddings=None).fit(X, y)
    assert isinstance(clf.module_.body, TabularMLP)
    linears = [m for m in clf.module_.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 12), (12, 5), (5, 3)]
    dropouts = [m for m in clf.module_.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 2 and all(d.p == 0.25 for d in dropouts)


def test_module_no_dropout_and_batch_norm(data):
    X, y = data
    clf = clf_(module__hidden_units=(8,), module__dropout=0.0, module__batch_norm=True).fit(X, y)
    kinds = [type(m) for m in clf.module_.modules()]
    assert nn.Dropout not in kinds
    assert nn.BatchNorm1d in kinds


def test_output_width_follows_classes(data):
    X, y = data
    labels = np.where(y == 2, 1, y)       # two classes
    clf = clf_().fit(X, labels)
    last = [m for m in clf.module_.modules() if isinstance(m, nn.Linear)][-1]
    assert last.out_features == 2
    assert clf.predict_proba(X).shape == (len(X), 2)


class TwoLayer(nn.Module):
    def __init__(self, n_in, n_out, width=4, scale=1.0):
        super().__init__()
        self.width = width
        self.scale = scale
        self.net = nn.Sequential(nn.Linear(n_in, width), nn.Tanh(), nn.Linear(width, n_out))

    def forward(self, X):
        return self.scale * self.net(X)


def test_custom_module_class(data):
    X, y = data
    labels = np.array(["x", "y", "z"])[y]
    clf = custom_(module=TwoLayer, module__n_in=N_FEATURES, module__n_out=3,
               module__width=9, module__scale=2.0, loss="weighted_ce").fit(X, labels)
    assert isinstance(clf.module_, TwoLayer)
    assert clf.module_.width == 9 and clf.module_.scale == 2.0
    assert clf.module_.net[0].out_features == 9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert set(clf.predict(X)) <= {"x", "y", "z"}
    # set_params re-sizes the custom module
    clf.set_params(module__width=3).fit(X, labels)
    assert clf.module_.net[0].out_features == 3


def test_custom_module_instance(data):
    X, y = data
    module = TwoLayer(N_FEATURES, 3, width=5)
    clf = custom_(module=module).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert clf.module_.net[0].out_features == 5


def test_fitted_sampler_pickles_without_device_copies(data):
    import pickle

    X, y = data
    clf = clf_(sampler="under").fit(X, y)
    assert clf.sampler_._cache == {}  # dropped when training ended
    clf.sampler_.epoch_indices(0, 8, torch.Generator().manual_seed(1))
    assert clf.sampler_._cache  # copies made for drawing
    restored = pickle.loads(pickle.dumps(clf.sampler_))
    assert restored._cache == {}
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(restored.epoch_indices(0, 8, gen),
                       clf.sampler_.epoch_indices(0, 8, torch.Generator().manual_seed(0)))


