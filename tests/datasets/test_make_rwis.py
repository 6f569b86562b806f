"""Tests of the simulated RWIS road-surface table (skimb.datasets.make_rwis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimb import ImbalancedTorchClassifier
from skimb.datasets import make_rwis

COLUMNS = [
    "station", "is_bridge", "hour_sin", "hour_cos", "doy_sin", "doy_cos",
    "air_temp", "surface_temp", "subsurface_temp", "dew_point", "surface_minus_dew_point",
    "relative_humidity", "wind_speed", "cloud_cover", "solar_radiation",
    "precip_rate", "precip_type", "hours_since_precip", "hours_since_treatment",
]
SHARES = {
    "Dry": 0.62, "Wet": 0.15, "Trace Moisture": 0.10, "Ice Watch": 0.10,
    "Ice Warning": 0.01, "Frost": 0.01, "Chemical Wet": 0.01,
}


@pytest.fixture(scope="module")
def rwis():
    return make_rwis(20000, random_state=0)


def test_shape_columns_and_time_index(rwis):
    X, y = rwis
    assert X.shape == (20000, len(COLUMNS))
    assert list(X.columns) == COLUMNS
    assert isinstance(X.index, pd.DatetimeIndex) and X.index.name == "time"
    assert X.index.is_monotonic_increasing
    assert X.index.min() >= pd.Timestamp("2020-12-15")
    assert X.index.max() < pd.Timestamp("2021-05-04")
    assert isinstance(y, pd.Series) and y.name == "surface_condition"
    assert y.index.equals(X.index)


def test_every_column_is_numeric_and_finite(rwis):
    X, _ = rwis
    assert X["station"].dtype == np.int64
    assert all(X[c].dtype == np.float64 for c in COLUMNS[1:])
    assert not X.isna().any().any()
    assert np.isfinite(X.to_numpy(dtype=np.float64)).all()


def test_the_seven_surface_classes(rwis):
    _, y = rwis
    assert set(y.unique()) == set(SHARES)
    assert y.map(type).eq(str).all()


@pytest.mark.parametrize("n, seed", [(20000, 0), (20000, 7), (5000, 3)])
def test_class_shares_match_the_seed(n, seed):
    _, y = make_rwis(n, random_state=seed)
    shares = y.value_counts(normalize=True)
    for name, share in SHARES.items():
        assert abs(shares[name] - share) <= 0.01, (name, shares[name])
    assert abs(shares[["Wet", "Trace Moisture", "Ice Watch"]].sum() - 0.35) <= 0.01
    assert abs(shares[["Frost", "Ice Warning", "Chemical Wet"]].sum() - 0.03) <= 0.01


def test_same_random_state_same_table_other_state_other_table():
    X1, y1 = make_rwis(3000, random_state=42)
    X2, y2 = make_rwis(3000, random_state=42)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    X3, y3 = make_rwis(3000, random_state=43)
    assert not np.allclose(X1.to_numpy(dtype=float), X3.to_numpy(dtype=float))
    assert not (y1.to_numpy() == y3.to_numpy()).all()


def test_random_state_instance_is_accepted():
    X, y = make_rwis(500, random_state=np.random.RandomState(0))
    assert X.shape == (500, len(COLUMNS)) and len(y) == 500


@pytest.mark.parametrize("n", [1, 2, 7, 123, np.int64(999)])
def test_n_samples_is_respected(n):
    X, y = make_rwis(n, random_state=0)
    assert len(X) == len(y) == n
    assert not X.isna().any().any()


@pytest.mark.parametrize("n", [0, -5, 2.5, 100.0, "100", None, True])
def test_bad_n_samples_raises(n):
    with pytest.raises(ValueError, match="n_samples"):
        make_rwis(n)


def test_readings_are_physically_consistent(rwis):
    X, _ = rwis
    np.testing.assert_allclose(X["surface_minus_dew_point"], X["surface_temp"] - X["dew_point"])
    assert X["relative_humidity"].between(1, 100).all()
    assert X["cloud_cover"].between(0, 1).all()
    assert (X["wind_speed"] >= 0).all() and (X["solar_radiation"] >= 0).all()
    assert set(X["precip_type"].unique()) == {0.0, 1.0, 2.0, 3.0}
    assert ((X["precip_rate"] > 0) == (X["precip_type"] > 0)).all()
    assert (X.loc[X["precip_rate"] > 0, "hours_since_precip"] == 0).all()
    assert X["hours_since_precip"].between(0, 96).all()
    assert X["hours_since_treatment"].between(0, 168).all()
    assert set(X["station"].unique()) == set(range(8))
    # each station is a bridge deck or not, for good
    assert (X.groupby("station")["is_bridge"].nunique() == 1).all()


def test_classes_follow_the_surface_physics(rwis):
    X, y = rwis
    median = X.groupby(y).median()
    assert median.loc["Frost", "surface_temp"] < 32 < median.loc["Wet", "surface_temp"]
    assert median.loc["Frost", "surface_minus_dew_point"] < 0
    assert median.loc["Frost", "wind_speed"] < median.loc["Dry", "wind_speed"]
    assert median.loc["Ice Warning", "surface_temp"] < 32
    assert median.loc["Ice Watch", "surface_temp"] < 32
    assert median.loc["Chemical Wet", "hours_since_treatment"] < 6
    since = median["hours_since_precip"]
    assert since["Wet"] < since["Trace Moisture"] < since["Dry"]


def test_imbalance_handling_pays_off_on_rwis():
    """The rare classes are learnable but plain CE misses them: a strategy helps."""
    X, y = make_rwis(6000, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scores = {}
        for name, strategy in {"ce": {}, "sqrt": {"sampler": "sqrt"}}.items():
            clf = make_pipeline(StandardScaler(), ImbalancedTorchClassifier(
                max_epochs=20, module__hidden_units=(64, 64), device="cpu",
                random_state=0, **strategy))
            clf.fit(X_train, y_train)
            scores[name] = f1_score(y_test, clf.predict(X_test), average="macro")
    finally:
        torch.set_num_threads(threads)
    assert scores["sqrt"] - scores["ce"] >= 0.05, scores
