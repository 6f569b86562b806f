"""The front's arithmetic is bounded for every finite input: the robust scaler saturates at
±3 for values far from the median, never collapsing them back to the median (issue 31)."""

import numpy as np
import pytest
import torch

from skimb import ImbalancedTorchClassifier
from skimb.networks import SmoothClipScaler

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Float32 rounding of u / sqrt(1 + (u / 3)^2) near its bound: a few ulps of 3.
ROUNDING = 1e-6

finite_float32 = st.floats(-FLOAT32_MAX, FLOAT32_MAX, width=32, allow_nan=False)


def _scaled(scaler, values):
    with torch.no_grad():
        return scaler(torch.tensor(values, dtype=torch.float32).reshape(-1, 1)).ravel().numpy()


@settings(max_examples=200, deadline=None)
@given(train=hnp.arrays(np.float32, st.integers(2, 40), elements=finite_float32),
       values=hnp.arrays(np.float32, st.integers(1, 60), elements=finite_float32))
def test_the_scaler_is_finite_bounded_and_monotone_for_any_finite_value(train, values):
    scaler = SmoothClipScaler(1).fit(train.reshape(-1, 1).astype(np.float64))
    assert np.isfinite(scaler.inverse_scale.numpy()).all()
    ordered = np.r_[-FLOAT32_MAX, np.sort(values), FLOAT32_MAX]
    out = _scaled(scaler, ordered)
    assert np.isfinite(out).all()
    assert (np.abs(out) <= 3 + ROUNDING).all()
    assert (np.diff(out) >= -ROUNDING).all()  # non-decreasing, up to float32 rounding
    # the extremes saturate: +-3 to float32 precision once u = (x - median) / s passes 1e4
    center, inverse = scaler.center.item(), scaler.inverse_scale.item()
    for value, limit, end in ((-FLOAT32_MAX, -3.0, out[0]), (FLOAT32_MAX, 3.0, out[-1])):
        if abs((value - center) * inverse) > 1e4:
            assert abs(end - limit) <= ROUNDING


@pytest.mark.parametrize("value", [1e19, 1e20, 1e30, 3e38])
def test_values_far_from_the_median_saturate(value):
    scaler = SmoothClipScaler(1).fit(np.array([[-1.0], [0.0], [1.0]]))
    np.testing.assert_array_equal(_scaled(scaler, [value, -value]), [3.0, -3.0])


def test_a_column_with_a_subnormal_spread_still_scales():
    scaler = SmoothClipScaler(1).fit(np.array([[0.0], [1e-44], [2e-44], [3e-44]]))
    out = _scaled(scaler, [0.0, 1.5e-44, 1.0])
    assert np.isfinite(out).all() and out[-1] == 3.0


def test_the_model_reads_a_huge_value_as_the_far_side_not_the_median():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = ImbalancedTorchClassifier(max_epochs=3, random_state=0, device="cpu").fit(X, y)
    far = np.array([[1e19, 0.0], [1e20, 0.0], [1e30, 0.0], [-1e19, 0.0], [-1e30, 0.0]])
    proba = clf.predict_proba(far)
    # beyond about 5e19 the scaled value overflowed to the median's 0 before
    np.testing.assert_allclose(proba[1:3], proba[[0, 0]], atol=1e-6)
    np.testing.assert_allclose(proba[4], proba[3], atol=1e-6)


NETWORKS = {
    "default": {},
    "tabm": dict(module="tabm", module__k=2, module__hidden_units=(16,)),
    "linear": dict(module="linear"),
    "periodic": dict(module__num_embeddings="periodic"),
    "no scaling, ple": dict(module__scaling=None, module__num_embeddings="ple"),
}


@pytest.fixture(scope="module")
def fitted_networks():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    return {name: ImbalancedTorchClassifier(max_epochs=2, random_state=0, device="cpu",
                                            **params).fit(X, y)
            for name, params in NETWORKS.items()}


@settings(max_examples=60, deadline=None)
@given(rows=hnp.arrays(np.float32, st.tuples(st.integers(1, 8), st.just(3)),
                       elements=finite_float32))
def test_every_built_in_network_answers_any_finite_row_with_probabilities(fitted_networks, rows):
    for name, clf in fitted_networks.items():
        proba = clf.predict_proba(rows)
        assert np.isfinite(proba).all(), name
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5, err_msg=name)
