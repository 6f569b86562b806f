"""Every registered sampler, and the imbalanced-learn adapter, through the same properties.

A new sampler registered in ``skimb.samplers.registry`` is picked up here without an edit:
what it declares (``draws_indices``, ``needs_table``, ``supports_multilabel``,
``leaves_order_free``, ``rows_per_epoch``, ``epoch_class_shares``) is checked against what it
draws and against what the classifier lets it do.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from torch import nn

from skimb import ImbalancedTorchClassifier
from skimb.samplers import list_samplers, make_sampler

from tests.helpers import clf_, make_data

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COUNTS = np.array([600, 150, 40, 10])
#: Every registered name, with parameters that make each family's cap or quota bite.
SPECS = [(name, {}) for name in list_samplers()] + [
    ("none", {"max_per_class": 100}), ("under", {"n_per_class": 25}),
    ("power", {"q": 0.25}), ("balanced_batch", {"max_per_class": 50}),
]
ADAPTERS = [RandomOverSampler(), RandomUnderSampler()]


def _labels(counts=COUNTS, seed=0):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    return y


def _draw(sampler, y, epoch=0, seed=0):
    """One epoch of a fitted sampler: its rows' classes."""
    generator = torch.Generator().manual_seed(seed)
    if sampler.draws_indices:
        return y[sampler.epoch_indices(epoch, 64, generator).numpy()]
    X = np.arange(len(y), dtype=np.float32)[:, None]
    return sampler.resample(X, y, None, seed=seed)[1]


def _made(spec):
    return make_sampler(*spec) if isinstance(spec, tuple) else make_sampler(spec, {})


ALL = SPECS + ADAPTERS
IDS = [f"{s[0]}{s[1] or ''}" if isinstance(s, tuple) else type(s).__name__ for s in ALL]


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_declarations_are_well_typed(spec):
    sampler = _made(spec)
    for flag in ("draws_indices", "needs_table", "supports_multilabel", "leaves_order_free"):
        assert isinstance(getattr(sampler, flag), bool), flag
    assert isinstance(sampler.display_name, str) and sampler.display_name
    if isinstance(spec, tuple):
        assert sampler.name == spec[0]


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_draws_only_training_rows_reproducibly(spec):
    y = _labels()
    sampler = _made(spec).fit(y, len(COUNTS), n_epochs=3)
    first, again = _draw(sampler, y, seed=3), _draw(sampler, y, seed=3)
    np.testing.assert_array_equal(first, again)
    if sampler.draws_indices:
        rows = sampler.epoch_indices(0, 64, torch.Generator().manual_seed(1))
        assert rows.dtype == torch.int64 and rows.min() >= 0 and rows.max() < len(y)


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_declared_epoch_length_is_what_gets_drawn(spec):
    y = _labels()
    sampler = _made(spec).fit(y, len(COUNTS), n_epochs=3)
    declared = sampler.rows_per_epoch(torch.as_tensor(COUNTS))
    drawn = [len(_draw(sampler, y, epoch=e, seed=e)) for e in range(20)]
    if declared is None:  # known once drawn (the adapter)
        assert not sampler.draws_indices
        return
    capped_power = isinstance(spec, tuple) and spec[1].get("max_per_class") and \
        spec[0] in ("power", "sqrt", "over", "progressive")
    if capped_power:  # the cap clips a random draw: the declared length is its mean
        assert abs(np.mean(drawn) - declared) <= 0.02 * declared
    else:
        assert set(drawn) == {declared}


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_declared_class_shares_are_what_gets_drawn(spec):
    y = _labels()
    n_epochs = 40
    sampler = _made(spec).fit(y, len(COUNTS), n_epochs=n_epochs)
    for epoch in (0, n_epochs - 1):
        drawn = np.concatenate([_draw(sampler, y, epoch=epoch, seed=s) for s in range(30)])
        empirical = np.bincount(drawn, minlength=len(COUNTS)) / len(drawn)
        shares = sampler.epoch_class_shares(epoch)
        assert shares is not None and shares.dtype == torch.float64
        np.testing.assert_allclose(shares.numpy(), empirical, atol=0.01)
        assert abs(float(shares.sum()) - 1.0) < 1e-12


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_clone_and_pickle_keep_the_sampler(spec):
    y = _labels()
    sampler = _made(spec)
    copy = clone(sampler)
    assert copy is not sampler and repr(copy) == repr(sampler)
    fitted = sampler.fit(y, len(COUNTS), n_epochs=3)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(_draw(restored, y, seed=5), _draw(fitted, y, seed=5))


@pytest.mark.parametrize("spec", ALL, ids=IDS)
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_trains_on_each_target_it_declares_and_refuses_the_others(spec, target):
    sampler = spec[0] if isinstance(spec, tuple) else spec
    params = {f"sampler__{k}": v for k, v in spec[1].items()} if isinstance(spec, tuple) else {}
    X, y = make_data(n=200)
    if target == "binary":
        y = (y == 0).astype(int)
    elif target == "multilabel":
        X, y = make_multilabel_classification(n_samples=200, n_features=6, n_classes=3,
                                              random_state=0)
        X = X.astype(np.float32)
    clf = clf_(sampler=sampler, max_epochs=1, train_split=None, **params)
    if target == "multilabel" and not _made(spec).supports_multilabel:
        with pytest.raises(ValueError, match="one label per row"):
            clf.fit(X, y)
        return
    clf.fit(X, y)
    assert clf.sampler_.display_name == _made(spec).display_name
    assert clf.predict_proba(X[:3]).shape[0] == 3


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_a_user_iterator_order_only_where_the_order_is_left_free(spec):
    sampler = spec[0] if isinstance(spec, tuple) else spec
    params = {f"sampler__{k}": v for k, v in spec[1].items()} if isinstance(spec, tuple) else {}
    X, y = make_data(n=120)
    clf = clf_(sampler=sampler, max_epochs=1, iterator_train__shuffle=False, **params)
    if _made(spec).leaves_order_free:
        clf.fit(X, y)
    else:
        with pytest.raises(ValueError, match="shuffle=False"):
            clf.fit(X, y)


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_samplers_that_need_a_table_refuse_other_inputs(spec):
    sampler = spec[0] if isinstance(spec, tuple) else spec
    X, y = make_data(n=120)
    images = np.repeat(X[:, None, :, None], 2, axis=3).astype(np.float32)  # (n, 1, 6, 2)
    module = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    clf = ImbalancedTorchClassifier(module=module, sampler=sampler, max_epochs=1,
                                    device="cpu", random_state=0)
    if _made(spec).needs_table:
        with pytest.raises(ValueError, match="in-memory table"):
            clf.fit(images, y)
    else:
        assert clf.fit(images, y).predict(images[:2]).shape == (2,)
