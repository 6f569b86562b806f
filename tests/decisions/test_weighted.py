"""tune_offsets(sample_weight=...): the weighted macro-F1 search shares the unweighted code path."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import f1_score

from skimb.decisions import decide, tune_offsets


def _problem(seed, n=None, k=None, rounded=False):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5)) if k is None else k
    n = int(rng.integers(10, 60)) if n is None else n
    proba = rng.dirichlet(np.ones(k), size=n)
    if rounded:  # many exact ties between rows and between classes
        proba = np.round(proba, 1) + 1e-3
        proba /= proba.sum(axis=1, keepdims=True)
    return rng, proba, rng.integers(0, k, size=n)


def _weighted_macro_f1(y, pred, w):
    """sklearn's weighted F1, averaged over the classes some positive-weight row holds or gets."""
    kept = w > 0
    labels = np.unique(np.concatenate([y[kept], pred[kept]]))
    return f1_score(y[kept], pred[kept], labels=labels, average="macro",
                    sample_weight=w[kept], zero_division=0)


@pytest.mark.parametrize("seed", range(12))
def test_unit_weights_are_bit_identical_to_no_weights(seed):
    _, proba, y = _problem(seed, rounded=seed % 2 == 0)
    for min_count in (0, 1, 5):
        plain = tune_offsets(proba, y, min_count=min_count)
        ones = tune_offsets(proba, y, min_count=min_count, sample_weight=np.ones(len(y)))
        np.testing.assert_array_equal(plain, ones)
        # A power-of-2 scale is exact in floating point; F1 does not depend on the scale.
        scaled = tune_offsets(proba, y, min_count=0, sample_weight=np.full(len(y), 4.0))
        np.testing.assert_array_equal(tune_offsets(proba, y, min_count=0), scaled)


@pytest.mark.parametrize("seed", range(16))
def test_integer_weights_equal_repeated_rows_and_zero_equals_removed(seed):
    rng, proba, y = _problem(seed, rounded=seed % 2 == 1)
    w = rng.integers(0, 4, size=len(y))
    w[0] = max(w[0], 1)
    init = rng.normal(size=proba.shape[1]) if seed % 3 == 0 else None
    for min_count in (1, 5):
        weighted = tune_offsets(proba, y, init=init, min_count=min_count, sample_weight=w)
        repeated = tune_offsets(np.repeat(proba, w, axis=0), np.repeat(y, w), init=init,
                                min_count=min_count)
        np.testing.assert_array_equal(weighted, repeated)


@pytest.mark.parametrize("seed", range(8))
def test_weighted_search_is_coordinatewise_optimal_for_sklearn_weighted_f1(seed):
    rng, proba, y = _problem(seed, rounded=seed % 2 == 0)
    w = rng.exponential(size=len(y)) * (rng.random(len(y)) > 0.15)
    w[0] += 0.5
    # min_count=0: a class's rows are its total weight, here often below 1.
    b = tune_offsets(proba, y, min_count=0, sample_weight=w)
    best = _weighted_macro_f1(y, decide(proba, b), w)
    assert best >= _weighted_macro_f1(y, proba.argmax(axis=1), w) - 1e-12
    for c, value in itertools.product(range(proba.shape[1]), np.linspace(-4, 4, 25)):
        moved = b.copy()
        moved[c] = value
        assert _weighted_macro_f1(y, decide(proba, moved), w) <= best + 1e-12


def test_weights_change_the_offsets():
    """Up-weighting the rows of class 1 that argmax misses makes its offset rise."""
    proba = np.array([[0.8, 0.2]] * 6 + [[0.6, 0.4]] * 4 + [[0.3, 0.7]] * 4)
    y = np.array([0] * 6 + [0, 0, 0, 1] + [1] * 4)
    plain = tune_offsets(proba, y, min_count=1)
    np.testing.assert_array_equal(decide(proba, plain), proba.argmax(axis=1))
    w = np.ones(len(y))
    w[9] = 10.0
    weighted = tune_offsets(proba, y, min_count=1, sample_weight=w)
    assert decide(proba, weighted)[6:10].tolist() == [1, 1, 1, 1]
    assert _weighted_macro_f1(y, decide(proba, weighted), w) > _weighted_macro_f1(
        y, decide(proba, plain), w)


def test_min_count_reads_weights_as_frequencies():
    """Class 0 (12 rows) is never tuned with min_count=13; class 1 is when it weighs 13."""
    proba = np.array([[0.6, 0.4]] * 3 + [[0.9, 0.1]] * 12)
    y = np.array([1, 1, 1] + [0] * 12)
    assert decide(proba, tune_offsets(proba, y, min_count=3))[:3].tolist() == [1, 1, 1]
    np.testing.assert_array_equal(tune_offsets(proba, y, min_count=13), [0.0, 0.0])
    w = np.ones(len(y))
    w[:3] = 5.0  # 15 rows' worth
    heavy = tune_offsets(proba, y, min_count=13, sample_weight=w)
    assert heavy[0] == 0.0 and heavy[1] > 0
    assert decide(proba, heavy)[:3].tolist() == [1, 1, 1]
    w[:3] = 4.0  # 12 rows' worth < 13
    np.testing.assert_array_equal(tune_offsets(proba, y, min_count=13, sample_weight=w),
                                  [0.0, 0.0])


@pytest.mark.parametrize("weights, match", [
    (np.ones(3), "one weight per row"),
    (np.ones((4, 1)), "one weight per row"),
    (np.array([1.0, -1.0, 1.0, 1.0]), "non-negative"),
    (np.array([1.0, np.nan, 1.0, 1.0]), "finite"),
    (np.zeros(4), "zero on every row"),
])
def test_bad_weights_are_refused(weights, match):
    proba = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
    with pytest.raises(ValueError, match=match):
        tune_offsets(proba, [0, 1, 1, 0], sample_weight=weights)
