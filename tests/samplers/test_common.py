"""Every registered sampler, and the imbalanced-learn adapter, through the same properties.

A new sampler registered in ``skimb.samplers.registry`` is picked up here without an edit:
what it declares (``draws_indices``, ``needs_table``, ``supports_multilabel``,
``leaves_order_free``, ``rows_per_epoch``, ``epoch_class_shares``) is checked against what it
draws and against what the classifier lets it do; and what every index sampler does, with its
defaults and under a cap: a new draw every epoch and for every seed, valid positions from tiny
classes, never a class without rows, ``max_per_class`` a cap that drops no class.
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


# -- every index sampler, drawn directly ---------------------------------------------

#: Every registered sampler with its defaults, and with a cap that bites.
INDEX_SPECS = [(name, {}) for name in list_samplers()] + [
    (name, {"max_per_class": 7}) for name in list_samplers()]
INDEX_IDS = [f"{name}{params or ''}" for name, params in INDEX_SPECS]


def _fitted(spec, y, n_classes, n_epochs=4):
    return make_sampler(*spec).fit(y, n_classes, n_epochs=n_epochs)


@pytest.mark.parametrize("spec", INDEX_SPECS, ids=INDEX_IDS)
def test_every_epoch_is_a_new_draw_and_every_seed_another(spec):
    y = _labels()
    sampler = _fitted(spec, y, len(COUNTS))
    generator = torch.Generator().manual_seed(0)
    a = sampler.epoch_indices(0, 64, generator)
    b = sampler.epoch_indices(1, 64, generator)
    c = sampler.epoch_indices(1, 64, generator)  # the same epoch number, the next draw
    assert not torch.equal(a, b) and not torch.equal(b, c)
    if not torch.equal(torch.sort(a).values, torch.arange(len(y))):
        # not every row once (a permutation): another multiset of rows, not just an order
        assert not torch.equal(torch.sort(a).values, torch.sort(b).values)
    first, second = (sampler.epoch_indices(0, 32, torch.Generator().manual_seed(s))
                     for s in (1, 2))
    assert not torch.equal(first, second)


@pytest.mark.parametrize("spec", INDEX_SPECS, ids=INDEX_IDS)
def test_draws_valid_positions_from_tiny_classes(spec):
    y = _labels(np.array([37, 11, 3]), seed=1)
    sampler = _fitted(spec, y, 3)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(5):
        rows = sampler.epoch_indices(epoch, 5, generator)
        assert rows.dtype == torch.int64 and rows.ndim == 1 and rows.numel() > 0
        assert int(rows.min()) >= 0 and int(rows.max()) < len(y)


@pytest.mark.parametrize("spec", INDEX_SPECS, ids=INDEX_IDS)
def test_classes_without_rows_are_never_drawn(spec):
    counts = np.array([0, 400, 0, 90, 25, 0, 0])  # the first and the last class without rows
    y = _labels(counts, seed=2)
    sampler = _fitted(spec, y, len(counts))
    assert sampler.class_counts_.tolist() == counts.tolist()
    generator = torch.Generator().manual_seed(0)
    seen = np.zeros(len(counts))
    for epoch in range(3):
        for batch_size in (6, 32):
            rows = sampler.epoch_indices(epoch, batch_size, generator).numpy()
            seen += np.bincount(y[rows], minlength=len(counts))
    assert seen[counts == 0].sum() == 0 and (seen[counts > 0] > 0).all()


@pytest.mark.parametrize("name", list_samplers())
@pytest.mark.parametrize("batch_size", [7, 13, 64])
def test_max_per_class_is_a_cap_not_a_way_of_dropping_classes(name, batch_size):
    big = np.array([5000, 1000, 100, 20])
    y = _labels(big)
    sampler = _fitted((name, {"max_per_class": 50}), y, len(big))
    generator = torch.Generator().manual_seed(4)
    for epoch in range(4):
        drawn = np.bincount(y[sampler.epoch_indices(epoch, batch_size, generator).numpy()],
                            minlength=len(big))
        assert drawn.max() <= 50 and drawn.min() > 0


@pytest.mark.parametrize("name", list_samplers())
@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_a_bad_max_per_class_is_refused_naming_it(name, bad):
    with pytest.raises(ValueError, match="max_per_class"):
        make_sampler(name, {"max_per_class": bad}).fit(_labels(), len(COUNTS))
