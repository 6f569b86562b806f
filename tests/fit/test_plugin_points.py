"""The plug-in points of the fit path: the batch container, the per-batch hook, mixed
targets reaching the loss, the fitted-front protocol and skimb's own fitted state. (A mixed
target's loss against its definition, for every loss, is in tests/losses/test_common.py.)"""

import copy
import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch.utils.data import TensorDataset

from skimb import ImbalancedTorchClassifier
from skimb._data import TensorTable
from skimb._batches import ResidentBatches
from skimb.losses import MixedTarget
from skimb.networks import FittedFront, SmoothClipScaler

from tests.helpers import TwoLayer, clf_, make_data, user_clf


@pytest.fixture(scope="module")
def data():
    return make_data(n=300)


# -- the batch container ---------------------------------------------------------

def test_resident_batches_gather_every_column_of_a_dict():
    X = {"image": torch.arange(40.0).reshape(10, 1, 2, 2), "codes": torch.arange(10)}
    table = TensorTable.from_columns(X, torch.arange(10) % 2, None)
    assert len(table) == 10 and table[3][0]["codes"] == 3
    batches = list(ResidentBatches(*table.take(torch.tensor([9, 2, 5])), torch.device("cpu"),
                                   batch_size=2))
    first, _ = batches[0]
    assert first["image"].shape == (2, 1, 2, 2)
    assert first["codes"].tolist() == [9, 2]
    np.testing.assert_array_equal(first["image"][:, 0, 0, 0].numpy(), [36.0, 8.0])
    assert [len(b[0]["codes"]) for b in batches] == [2, 1]


# -- the per-batch hook ------------------------------------------------------------

class Recording(ImbalancedTorchClassifier):
    """Counts the batches the hook sees and flips their features' sign."""

    def transform_batch(self, batch, rows=None):
        self.seen_ = getattr(self, "seen_", 0) + 1
        X, y = batch
        return -X, y


@pytest.mark.parametrize("path", ["resident", "dataloader"])
def test_the_batch_hook_sees_training_batches_only(data, path):
    X, y = data
    params = dict(batch_size=60, max_epochs=2)
    if path == "dataloader":
        params["iterator_train__num_workers"] = 0
    clf = user_clf(Recording, **params).fit(X, y)
    assert clf.training_storage_ == ("device" if path == "resident" else "dataloader")
    assert clf.seen_ == 2 * 4  # 240 training rows, 4 batches, 2 epochs; no validation batch
    clf.predict_proba(X)
    assert clf.seen_ == 8  # never at predict


def test_the_batch_hook_changes_what_trains(data):
    X, y = data
    plain = user_clf().fit(X, y)
    flipped = user_clf(Recording).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), flipped.predict_proba(X))


class MixingHalves(ImbalancedTorchClassifier):
    """Mixes every batch with itself reversed (a fixed MixUp) through MixedTarget."""

    def transform_batch(self, batch, rows=None):
        X, y = batch
        lam = torch.full((len(y),), 0.7, device=X.device)
        return 0.7 * X + 0.3 * X.flip(0), MixedTarget(y, y.flip(0), lam)


def test_mixed_targets_reach_the_loss_through_the_classifier(data):
    from skimb.losses import CrossEntropy
    seen = []

    class Watching(CrossEntropy):
        def forward(self, logits, target, sample_weight=None):
            if self.training:
                seen.append((isinstance(target, MixedTarget), float(target.lam.mean())))
            return super().forward(logits, target, sample_weight)

    X, y = data
    clf = user_clf(MixingHalves, loss=Watching(), max_epochs=3).fit(X, y)
    assert np.isfinite(clf.history[-1]["train_loss"])
    assert seen and all(mixed and lam == pytest.approx(0.7) for mixed, lam in seen)


def test_a_loss_that_mines_the_batch_refuses_mixed_targets(data):
    X, y = data
    with pytest.raises(ValueError, match="cannot take mixed targets"):
        user_clf(MixingHalves, loss="crl").fit(X, y)


# -- the fitted-front protocol ------------------------------------------------------

class Vocabulary(FittedFront):
    """A front whose state is not a tensor: the sorted levels seen at fit."""

    def fit(self, X, y=None):
        self.levels = sorted(set(np.asarray(X).ravel().tolist()))
        self.fitted = True
        return self

    def front_state(self):
        return {"levels": getattr(self, "levels", [])}

    def load_front_state(self, state):
        self.levels = state["levels"]


def test_non_tensor_front_state_travels_through_state_dict_pickle_and_devices():
    front = Vocabulary().fit(np.array([[3.0, 1.0], [1.0, 2.0]]))
    buffer = io.BytesIO()
    torch.save(front.state_dict(), buffer)
    buffer.seek(0)
    restored = Vocabulary()
    restored.load_state_dict(torch.load(buffer))
    assert restored.fitted and restored.levels == [1.0, 2.0, 3.0]
    assert pickle.loads(pickle.dumps(front)).levels == [1.0, 2.0, 3.0]
    assert copy.deepcopy(front).to("cpu").levels == [1.0, 2.0, 3.0]
    assert not Vocabulary().fitted


def test_the_builtin_front_is_a_fitted_front_and_clone_is_unfitted(data):
    X, y = data
    clf = clf_(module="mlp").fit(X, y)
    assert isinstance(clf.module_.scaler, SmoothClipScaler) and clf.module_.scaler.fitted
    assert not hasattr(clone(clf), "module_")
    state = clf.module_.state_dict()
    assert state["scaler._extra_state"] == {"fitted": True}


# -- skimb's fitted state with save_params / load_params ----------------------------

def test_f_fitted_restores_classes_multilabel_and_decision(tmp_path):
    X, _ = make_data(n=300)
    Y = np.column_stack([X[:, 0] > 0.5, X[:, 1] > 0, X[:, 2] + X[:, 3] > 1]).astype(int)
    params = dict(module=TwoLayer, module__n_out=3, decision="prior")
    fitted = user_clf(**params).fit(X, Y)
    fitted.save_params(f_params=tmp_path / "p.pt", f_fitted=tmp_path / "f.pt")
    restored = user_clf(**params).initialize()
    restored.load_params(f_params=tmp_path / "p.pt", f_fitted=tmp_path / "f.pt")
    assert restored.multilabel_ and restored.classes_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(restored.decision_thresholds_, fitted.decision_thresholds_)
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    restored.partial_fit(X, Y)  # continues: the labels are checked against the fitted ones
    with pytest.raises(ValueError, match="labels"):
        restored.partial_fit(X, Y[:, :2])


def test_a_dataset_fit_reads_labels_a_tensor_dataset_carries(data):
    X, y = data
    dataset = TensorDataset(torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y))
    clf = user_clf().fit(dataset)
    assert clf.classes_.tolist() == [0, 1, 2]


def test_safetensors_is_refused_for_a_front_with_non_tensor_state(data, tmp_path):
    X, y = data
    clf = clf_(module="mlp").fit(X, y)
    with pytest.raises(ValueError, match="safetensors cannot store"):
        clf.save_params(f_params=tmp_path / "p.safetensors", use_safetensors=True)
