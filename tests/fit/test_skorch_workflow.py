"""skorch's own workflow around a fit: checkpoints resumed, monitors that exist, the repr."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, LoadInitState
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier, list_losses
from skimb.losses import loss_class

BASE = dict(max_epochs=1, device="cpu", module__hidden_units=(8,), random_state=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, weights=[0.7, 0.2], random_state=0)
    return X.astype(np.float32), y


MULTICLASS_LOSSES = [name for name in list_losses() if not loss_class(name).binary_only]


class _Snapshot(Callback):
    """The module's tensors when training begins, after the callbacks before it ran."""

    def on_train_begin(self, net, **kwargs):
        self.state = _tensors(net.module_.state_dict())


def _tensors(state, prefix="") -> dict:
    """The tensors of a state dict, nested dicts flattened, copied."""
    flat = {}
    for key, value in state.items():
        if isinstance(value, dict):
            flat.update(_tensors(value, f"{prefix}{key}."))
        elif isinstance(value, torch.Tensor):
            flat[prefix + key] = value.detach().clone()
    return flat


@pytest.mark.parametrize("loss", MULTICLASS_LOSSES)
def test_load_init_state_resumes_a_checkpoint_of_every_loss(data, loss, tmp_path):
    # issue 31: round 3 failed with "size mismatch for class_counts: [3] vs [0]" for every
    # loss that keeps class statistics, so a checkpoint could not be resumed
    X, y = data
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    first = ImbalancedTorchClassifier(**BASE, loss=loss,
                                      callbacks=[checkpoint, LoadInitState(checkpoint)]).fit(X, y)
    saved = _tensors(first.module_.state_dict())
    snapshot = _Snapshot()
    resumed = ImbalancedTorchClassifier(**BASE, loss=loss, callbacks=[
        checkpoint, LoadInitState(checkpoint), snapshot]).fit(X, y)
    assert snapshot.state.keys() == saved.keys()
    for key, value in snapshot.state.items():  # training went on from the saved weights
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
    assert len(resumed.history) == 2  # the saved epoch, then this call's


@pytest.mark.parametrize("callback", [Checkpoint(), EarlyStopping(),
                                      ("best", Checkpoint(monitor="valid_f1_macro_best"))])
def test_a_callback_monitoring_a_validation_score_without_validation_rows_is_refused(
        data, callback, tmp_path):
    X, y = data
    clf = ImbalancedTorchClassifier(**BASE, callbacks=[callback])
    with pytest.raises(ValueError, match=r"monitors 'valid_\w+', a validation score.*"
                                         r"keeps no validation rows.*monitor='train_"):
        clf.fit(X, y)
    assert not clf.history  # refused before the first epoch


def test_the_same_callbacks_run_with_validation_rows_or_a_training_monitor(data, tmp_path):
    X, y = data
    ImbalancedTorchClassifier(**BASE, train_split=ValidSplit(4, stratified=True),
                              callbacks=[Checkpoint(dirname=str(tmp_path / "v"))]).fit(X, y)
    model = ImbalancedTorchClassifier(**BASE, callbacks=[
        Checkpoint(dirname=str(tmp_path / "t"), monitor="train_loss_best")]).fit(X, y)
    assert (tmp_path / "t" / "params.pt").exists() and len(model.history) == 1


def test_the_repr_shows_the_strategies():
    text = repr(ImbalancedTorchClassifier(sampler="under", loss="focal", decision="prior"))
    assert "sampler='under'," in text and "loss='focal'," in text
    assert "decision='prior'," in text and "augment=None," in text
    assert "calibration='prior'," in text
    assert text.startswith("<class 'skimb.classifier.ImbalancedTorchClassifier'>[uninitialized](")
    assert text.endswith(",\n)")
