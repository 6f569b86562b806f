"""The imbalanced-learn adapter (``skimb/samplers/imblearn_adapter.py``): an imbalanced-learn
sampler resamples the training rows every epoch, the rows and their labels and weights
together, seeded per epoch, never modified, under a cap; and ``make_sampler`` routes its
parameters. The properties it shares with every sampler are in ``test_common.py``."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone

from skimb.samplers import ImblearnSampler, make_sampler


IMB_COUNTS = [200, 60, 15]


@pytest.fixture(scope="module")
def imb_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), IMB_COUNTS)
    rng.shuffle(y)
    n = len(y)
    # column 0 is the row id, so a resampled row can be traced to its source
    X = np.column_stack([np.arange(n), rng.normal(size=n) + y, rng.normal(size=n) - y])
    w = rng.uniform(0.5, 2.0, size=n)
    return X.astype(np.float64), y, w


def _row_ids(X_epoch):
    return X_epoch[:, 0].astype(np.int64)


@pytest.mark.parametrize(
    "imb, expected",
    [(RandomOverSampler(), [200, 200, 200]),
     (RandomUnderSampler(), [15, 15, 15]),
     (SMOTE(), [200, 200, 200])],
    ids=["ros", "rus", "smote"],
)
def test_imblearn_resampled_counts(imb_data, imb, expected):
    X, y, _ = imb_data
    X_e, y_e, w_e = ImblearnSampler(imb).resample(X, y, None, seed=0)
    assert w_e is None
    assert np.bincount(y_e, minlength=3).tolist() == expected
    assert X_e.shape == (sum(expected), X.shape[1])
    assert X_e.dtype == np.float32 and y_e.dtype == np.int64


def test_imblearn_selection_samplers_keep_rows_and_labels_together(imb_data):
    X, y, _ = imb_data
    for imb in (RandomOverSampler(), RandomUnderSampler()):
        X_e, y_e, _ = ImblearnSampler(imb).resample(X, y, None, seed=3)
        ids = _row_ids(X_e)
        np.testing.assert_array_equal(y_e, y[ids])
        np.testing.assert_allclose(X_e, X[ids].astype(np.float32))


def test_smote_includes_synthetic_rows(imb_data):
    X, y, _ = imb_data
    X_e, y_e, _ = ImblearnSampler(SMOTE()).resample(X, y, None, seed=0)
    original = {tuple(r) for r in X.astype(np.float32)}
    synthetic = np.array([tuple(r) not in original for r in X_e])
    assert synthetic.sum() == (200 - 60) + (200 - 15)
    assert set(y_e[synthetic].tolist()) == {1, 2}


@pytest.mark.parametrize("imb", [RandomOverSampler(), RandomUnderSampler(), SMOTE()],
                         ids=["ros", "rus", "smote"])
def test_imblearn_seed_controls_the_resample(imb_data, imb):
    X, y, _ = imb_data
    adapter = ImblearnSampler(imb)
    a = adapter.resample(X, y, None, seed=0)[0]
    b = adapter.resample(X, y, None, seed=1)[0]
    a2 = adapter.resample(X, y, None, seed=0)[0]
    np.testing.assert_array_equal(a, a2)
    assert a.shape != b.shape or not np.array_equal(a, b)
    if isinstance(imb, RandomUnderSampler):
        assert set(_row_ids(a)) != set(_row_ids(b))


@pytest.mark.parametrize(
    "imb", [RandomOverSampler(random_state=7), RandomUnderSampler(), SMOTE(k_neighbors=3)],
    ids=["ros", "rus", "smote"],
)
def test_imblearn_wrapped_sampler_is_never_modified(imb_data, imb):
    X, y, w = imb_data
    imb = clone(imb)
    params = imb.get_params()
    adapter = ImblearnSampler(imb, max_per_class=100)
    for seed in range(2):
        adapter.resample(X, y, None, seed=seed)
    if not isinstance(imb, SMOTE):
        adapter.resample(X, y, w, seed=5)
    assert adapter.sampler is imb
    assert imb.get_params() == params
    fitted = [k for k in vars(imb) if k.endswith("_") and not k.startswith("_")]
    assert fitted == [], f"wrapped sampler got fitted attributes {fitted}"


@pytest.mark.parametrize("imb", [RandomUnderSampler(), RandomOverSampler()], ids=["rus", "ros"])
@pytest.mark.parametrize("cap", [None, 40])
def test_imblearn_sample_weight_stays_aligned(imb_data, imb, cap):
    X, y, w = imb_data
    X_e, y_e, w_e = ImblearnSampler(imb, max_per_class=cap).resample(X, y, w, seed=11)
    assert w_e is not None and w_e.shape == y_e.shape
    ids = _row_ids(X_e)
    np.testing.assert_array_equal(w_e, w[ids])
    np.testing.assert_array_equal(y_e, y[ids])


def test_imblearn_smote_with_sample_weight_raises(imb_data):
    X, y, w = imb_data
    with pytest.raises(ValueError, match="sample_weight"):
        ImblearnSampler(SMOTE()).resample(X, y, w, seed=0)


@pytest.mark.parametrize(
    "imb, expected",
    [(RandomOverSampler(), [40, 40, 40]), (SMOTE(), [40, 40, 40]),
     (RandomUnderSampler(), [15, 15, 15])],
    ids=["ros", "smote", "rus"],
)
def test_imblearn_max_per_class(imb_data, imb, expected):
    X, y, _ = imb_data
    adapter = ImblearnSampler(imb, max_per_class=40)
    a = adapter.resample(X, y, None, seed=0)
    b = adapter.resample(X, y, None, seed=1)
    for X_e, y_e, _ in (a, b):
        assert np.bincount(y_e, minlength=3).tolist() == expected
        assert len(X_e) == len(y_e)
    if isinstance(imb, RandomOverSampler):
        # the kept subset changes with the seed
        assert set(_row_ids(a[0])) != set(_row_ids(b[0]))


def test_imblearn_invalid_cap_raises(imb_data):
    X, y, _ = imb_data
    with pytest.raises(ValueError, match="max_per_class"):
        ImblearnSampler(RandomOverSampler(), max_per_class=0).resample(X, y, None, seed=0)


# -- by name, through make_sampler ---------------------------------------------------------


def test_make_sampler_imblearn_instance_routes_params():
    original = RandomUnderSampler(random_state=3)
    before = original.get_params()
    adapter = make_sampler(
        original, {"sampling_strategy": "majority", "replacement": True, "max_per_class": 10}
    )
    assert isinstance(adapter, ImblearnSampler)
    assert adapter.max_per_class == 10
    assert adapter.sampler is not original
    assert isinstance(adapter.sampler, RandomUnderSampler)
    assert adapter.sampler.sampling_strategy == "majority"
    assert adapter.sampler.replacement is True
    assert "max_per_class" not in adapter.sampler.get_params()
    assert original.get_params() == before


def test_make_sampler_imblearn_params_take_effect(imb_data):
    X, y, _ = imb_data
    adapter = make_sampler(SMOTE(), {"sampling_strategy": {1: 100, 2: 50}, "max_per_class": 150})
    _, y_e, _ = adapter.resample(X, y, None, seed=0)
    assert np.bincount(y_e).tolist() == [150, 100, 50]


def test_make_sampler_imblearn_invalid_param_raises():
    with pytest.raises(ValueError):
        make_sampler(RandomOverSampler(), {"not_a_param": 1})


def test_make_sampler_imblearn_without_cap():
    adapter = make_sampler(RandomOverSampler(), {})
    assert adapter.max_per_class is None


def test_make_sampler_accepts_skimb_imblearn_adapter(imb_data):
    adapter = ImblearnSampler(RandomOverSampler(), max_per_class=30)
    made = make_sampler(adapter, {})
    assert isinstance(made, ImblearnSampler) and made is not adapter
    X, y, _ = imb_data
    _, y_e, _ = made.resample(X, y, None, seed=0)
    assert np.bincount(y_e).tolist() == [30, 30, 30]
