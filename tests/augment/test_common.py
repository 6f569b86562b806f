"""Every registered augmentation through the same properties.

An augmentation registered in ``skimb.augment.registry`` is picked up here without an edit:
what it declares (``accepts``, ``mixes_targets``, ``needs_rows``, ``supports_multilabel``) is
checked against what the classifier lets it do, on every input kind, a multi-label target, a
loss without mixed targets and rows sent through a DataLoader; it trains on the training
batches only, never at predict; it survives ``clone`` and pickle. Its own file checks it
against its definition (``test_augmentations.py``).
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from skimb import ImbalancedTorchClassifier, list_augmentations
from skimb._inputs.kinds import DICT, INPUT_KINDS, RAW_COLUMNS, TABLE, TENSOR
from skimb.augment import Augmentation, check_augmentation, make_augmentation
from skimb.augment import registry
from skimb.losses import CrossEntropy, ForeignLoss
from tests.augment.contexts import fitted
from tests.helpers import make_data, raw_frame

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = list_augmentations()
EVERY_AUGMENTATION = pytest.mark.parametrize("name", NAMES)


def _declared(name):
    return type(make_augmentation(name, {}))


# ---------------------------------------------------------------------------
# the declarations
# ---------------------------------------------------------------------------


@EVERY_AUGMENTATION
def test_declarations_are_well_typed(name):
    cls = _declared(name)
    assert issubclass(cls, Augmentation) and cls.name == name
    assert isinstance(cls.accepts, frozenset) and cls.accepts
    assert cls.accepts <= set(INPUT_KINDS)
    for flag in ("mixes_targets", "needs_rows", "supports_multilabel"):
        assert type(getattr(cls, flag)) is bool, flag


def test_the_registry_is_the_declarations():
    assert list_augmentations() == sorted(registry._REGISTRY)
    for name, cls in registry._REGISTRY.items():
        assert cls.name == name
        made = make_augmentation(name, {})
        assert type(made) is cls and made is not make_augmentation(name, {})


@EVERY_AUGMENTATION
def test_check_augmentation_follows_the_declarations(name):
    augmentation = make_augmentation(name, {})
    cls = type(augmentation)
    for loss, multilabel, kind, rows_known in itertools.product(
            (CrossEntropy, ForeignLoss), (False, True), sorted(INPUT_KINDS), (True, False)):
        refused = ((cls.mixes_targets and not loss.supports_mixed_targets)
                   or (multilabel and not cls.supports_multilabel)
                   or kind not in cls.accepts or (cls.needs_rows and not rows_known))
        check = lambda: check_augmentation(  # noqa: E731
            augmentation, loss=loss, multilabel=multilabel, input_kind=kind,
            rows_known=rows_known, why_rows_unknown="X is a torch Dataset.")
        if refused:
            with pytest.raises(ValueError, match=f"augment='{name}'"):
                check()
        else:
            check()


# ---------------------------------------------------------------------------
# through the estimator
# ---------------------------------------------------------------------------


class Flat(nn.Module):
    """A module of your own on any row shape: one linear layer on the flattened row."""

    def __init__(self, n_in=12, n_out=3):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.linear(X.flatten(1))


class Named(nn.Module):
    """A module of your own on a dict ``{"num": rows}``."""

    def __init__(self, n_out=3):
        super().__init__()
        self.linear = nn.Linear(6, n_out)

    def forward(self, num):
        return self.linear(num)


def _inputs(kind, n=200):
    """``(X, y, estimator parameters)`` of an input kind."""
    X, y = make_data(n=n)
    X = X.astype(np.float32)
    if kind == TABLE:
        return X, y, dict(module__hidden_units=(8,))
    if kind == RAW_COLUMNS:
        frame, labels = raw_frame(n=n)
        return frame, labels, dict(module__hidden_units=(8,))
    if kind == TENSOR:
        images = np.repeat(X[:, None, :, None], 2, axis=3)  # (n, 1, 6, 2)
        return images, y, dict(module=Flat)
    assert kind == DICT
    return {"num": X}, y, dict(module=Named)


def _clf(name, kind, **params):
    X, y, kind_params = _inputs(kind)
    defaults = dict(augment=name, max_epochs=1, batch_size=64, device="cpu", random_state=0)
    clf = ImbalancedTorchClassifier(**{**defaults, **kind_params, **params})
    return clf, X, y


def _first_kind(name):
    return next(kind for kind in (TABLE, TENSOR, DICT, RAW_COLUMNS)
                if kind in _declared(name).accepts)


def _finite(clf):
    return np.isfinite(clf.history[:, "train_loss"]).all()


@EVERY_AUGMENTATION
@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
def test_trains_on_the_input_kinds_it_accepts_and_refuses_the_others(name, kind):
    clf, X, y = _clf(name, kind)
    if kind not in _declared(name).accepts:
        with pytest.raises(ValueError, match=f"augment='{name}'"):
            clf.fit(X, y)
        assert not clf.initialized_  # a refused fit leaves no model
        return
    assert _finite(clf.fit(X, y))
    assert clf.predict_proba(X).shape == (len(y), len(np.unique(y)))


@EVERY_AUGMENTATION
def test_a_multilabel_target_as_declared(name):
    clf, X, y = _clf(name, _first_kind(name), loss="bce")
    Y = np.c_[y == 1, y == 2, y == 0].astype(int)
    if not _declared(name).supports_multilabel:
        with pytest.raises(ValueError, match=f"augment='{name}'.*one label per row"):
            clf.fit(X, Y)
        return
    assert _finite(clf.fit(X, Y))
    assert clf.predict(X).shape == Y.shape


@EVERY_AUGMENTATION
def test_mixed_targets_as_declared(name, mixed_calls):
    mixes = _declared(name).mixes_targets
    clf, X, y = _clf(name, _first_kind(name))
    assert _finite(clf.fit(X, y))
    assert bool(mixed_calls) == mixes  # the default loss takes mixed targets
    # a loss that cannot take them (yours, here) is refused exactly when the targets mix
    clf, X, y = _clf(name, _first_kind(name), loss=nn.CrossEntropyLoss)
    if mixes:
        with pytest.raises(ValueError, match="mixed targets"):
            clf.fit(X, y)
    else:
        assert _finite(clf.fit(X, y))


@EVERY_AUGMENTATION
def test_rows_sent_through_a_dataloader_as_declared(name):
    clf, X, y = _clf(name, _first_kind(name), iterator_train__num_workers=0)
    if _declared(name).needs_rows:
        with pytest.raises(ValueError, match=f"augment='{name}'.*DataLoader"):
            clf.fit(X, y)
    else:
        assert _finite(clf.fit(X, y))


@EVERY_AUGMENTATION
def test_applied_to_training_batches_never_at_predict(name, monkeypatch):
    cls = _declared(name)
    calls = []
    original = cls.__call__

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", counted)
    kind = _first_kind(name)
    clf, X, y = _clf(name, kind, augment__rate=1.0)
    clf.fit(X, y)
    in_training = len(calls)
    assert in_training == sum(row["train_batch_count"] for row in clf.history) > 0
    proba = clf.predict_proba(X)
    clf.predict(X)
    assert len(calls) == in_training
    clf.module_.eval()
    with torch.no_grad():  # the module's output on the plain rows
        output = clf.module_(**X) if kind == DICT else clf.module_(torch.as_tensor(X))
    np.testing.assert_allclose(proba, torch.softmax(output, dim=1).numpy(), atol=1e-6)


@EVERY_AUGMENTATION
def test_same_random_state_same_model_and_the_augmentation_changes_it(name):
    kind = _first_kind(name)
    fit = lambda **params: _clf(name, kind, **params)[0].fit(X, y)  # noqa: E731
    _, X, y = _clf(name, kind)
    a, b = fit().predict_proba(X), fit().predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, fit(random_state=1).predict_proba(X))
    assert np.abs(a - fit(augment=None).predict_proba(X)).max() > 1e-4


@EVERY_AUGMENTATION
def test_draws_are_reproducible_per_epoch_seed(name):
    kind = _first_kind(name)
    X, y, _ = _inputs(kind, n=60)
    X = torch.as_tensor(X["num"] if kind == DICT else np.asarray(X, dtype=np.float32))
    aug = fitted(make_augmentation(name, {"rate": 1.0}), y, X=X)
    rows = torch.arange(len(y))
    draws = []
    for seed in (7, 7, 8):
        aug.start_epoch(seed)
        inputs = {"num": X.clone()} if kind == DICT else X.clone()
        out = aug(inputs, torch.as_tensor(y), None, rows)[0]
        draws.append(out["num"] if kind == DICT else out)
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


@EVERY_AUGMENTATION
def test_clone_and_pickle(name):
    augmentation = make_augmentation(name, {"rate": 0.5})
    copy = clone(augmentation)
    assert copy is not augmentation and copy.get_params() == augmentation.get_params()
    clf, X, y = _clf(name, _first_kind(name), augment__rate=0.5)
    assert clone(clf).get_params()["augment__rate"] == 0.5
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert type(restored.augment_) is type(clf.augment_)
    np.testing.assert_array_equal(restored.augment_.class_rates_.numpy(),
                                  clf.augment_.class_rates_.numpy())
    # a fitted augmentation keeps its statistics, not its generators or its row tables
    assert not {"generator_", "rng_"} & set(vars(clf.augment_))
    assert len(pickle.dumps(clf.augment_)) < 4000


def _tensors(obj, seen=None):
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = vars(obj).values()
    else:
        return []
    return [t for child in children for t in _tensors(child, seen)]


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="needs CUDA")),
])
@EVERY_AUGMENTATION
def test_a_fitted_augmentation_holds_nothing_on_the_device(name, device):
    clf, X, y = _clf(name, _first_kind(name), device=device)
    restored = pickle.loads(pickle.dumps(clf.fit(X, y)))
    held = _tensors(restored.augment_)
    assert held and all(t.device.type == "cpu" for t in held)
