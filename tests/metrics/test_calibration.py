"""Tests of the class-wise expected calibration error (skimb.metrics.classwise_ece) against
its definition (Kull et al., NeurIPS 2019), in float64."""

from __future__ import annotations

import numpy as np
import pytest

from skimb.metrics import classwise_ece


def ref_classwise_ece(y_true, proba, labels, n_bins):
    """The definition written out: per class, per equal-width bin, |share of the class - mean
    probability| weighted by the bin's share of the rows; the mean over the classes."""
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=np.float64)
    errors = []
    for k, label in enumerate(labels):
        p, hit = proba[:, k], (y_true == label).astype(np.float64)
        error = 0.0
        for i in range(n_bins):
            low, high = i / n_bins, (i + 1) / n_bins
            inside = (p >= low) & ((p < high) if i < n_bins - 1 else (p <= 1.0))
            if inside.any():
                error += inside.mean() * abs(hit[inside].mean() - p[inside].mean())
        errors.append(error)
    return float(np.mean(errors))


def test_hand_computed_three_classes_two_bins():
    y_true = [0, 1, 2, 0]
    proba = [[0.7, 0.2, 0.1],
             [0.3, 0.6, 0.1],
             [0.5, 0.1, 0.4],
             [0.2, 0.3, 0.5]]
    # bins [0, .5) and [.5, 1]; each gap weighted by its bin's share of the 4 rows
    # class 0: high bin rows 0, 2 (mean p .6, share .5) .5*.1; low bin rows 1, 3 (.25, .5) .5*.25
    # class 1: high bin row 1 (.6, 1) .25*.4; low bin rows 0, 2, 3 (.2, 0) .75*.2
    # class 2: high bin row 3 (.5, 0) .25*.5; low bin rows 0, 1, 2 (.2, 1/3) .75*(2/15)
    expected = ((0.05 + 0.125) + (0.1 + 0.15) + (0.125 + 0.1)) / 3
    assert classwise_ece(y_true, proba, n_bins=2) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.65 / 3, abs=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("n_bins", [1, 4, 15])
def test_matches_the_definition_on_random_probabilities(n_classes, n_bins):
    rng = np.random.default_rng(n_classes * 100 + n_bins)
    proba = rng.dirichlet(np.full(n_classes, 0.5), size=500)
    proba[:7] = np.eye(n_classes)[rng.integers(0, n_classes, 7)]  # exact 0 and 1 on the edges
    labels = np.array([f"c{k}" for k in range(n_classes)])
    y_true = labels[rng.integers(0, n_classes, 500)]
    expected = ref_classwise_ece(y_true, proba, labels, n_bins)
    assert classwise_ece(y_true, proba, n_bins=n_bins) == pytest.approx(expected, abs=1e-12)


def test_one_bin_is_the_gap_of_the_means():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=200)
    y_true = rng.integers(0, 3, 200)
    gaps = np.abs(np.bincount(y_true, minlength=3) / 200 - proba.mean(axis=0))
    assert classwise_ece(y_true, proba, n_bins=1) == pytest.approx(gaps.mean(), abs=1e-12)


def test_perfectly_calibrated_probabilities_score_near_zero():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=200_000)
    # each row's class drawn from its own probabilities: calibrated by construction
    y_true = (rng.random((len(proba), 1)) > proba.cumsum(axis=1)).sum(axis=1)
    calibrated = classwise_ece(y_true, proba)
    assert calibrated < 0.004
    sharpened = proba ** 3 / (proba ** 3).sum(axis=1, keepdims=True)  # overconfident
    assert classwise_ece(y_true, sharpened) > 10 * calibrated


def test_constant_overconfident_probabilities_give_the_expected_gap():
    y_true = np.array([0] * 60 + [1] * 25 + [2] * 15)
    proba = np.tile([0.9, 0.06, 0.04], (100, 1))
    expected = (abs(0.6 - 0.9) + abs(0.25 - 0.06) + abs(0.15 - 0.04)) / 3
    assert classwise_ece(y_true, proba) == pytest.approx(expected, abs=1e-12)
    # the class priors themselves, constant, are calibrated
    assert classwise_ece(y_true, np.tile([0.6, 0.25, 0.15], (100, 1))) == pytest.approx(0, abs=1e-12)


def test_binary_column_and_labels_order():
    y_true = np.array(["no", "yes", "yes", "no", "yes"])
    p_yes = np.array([0.2, 0.9, 0.4, 0.55, 0.7])
    both = np.column_stack([1 - p_yes, p_yes])
    assert classwise_ece(y_true, p_yes) == pytest.approx(classwise_ece(y_true, both), abs=1e-15)
    # columns in another order are named by labels=
    swapped = classwise_ece(y_true, both[:, ::-1], labels=["yes", "no"])
    assert swapped == pytest.approx(classwise_ece(y_true, both), abs=1e-15)


def test_a_class_absent_from_y_true_needs_labels():
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]])
    with pytest.raises(ValueError, match="pass labels="):
        classwise_ece([0, 1], proba)
    score = classwise_ece([0, 1], proba, labels=[0, 1, 2], n_bins=10)
    assert score == pytest.approx(ref_classwise_ece([0, 1], proba, [0, 1, 2], 10), abs=1e-12)


def test_inputs_are_not_modified():
    proba = np.array([[0.7, 0.3], [0.4, 0.6]])
    y_true = np.array([0, 1])
    before = proba.copy(), y_true.copy()
    classwise_ece(y_true, proba)
    np.testing.assert_array_equal(proba, before[0])
    np.testing.assert_array_equal(y_true, before[1])


@pytest.mark.parametrize("y_true, proba, kwargs, match", [
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"n_bins": 0}, "n_bins"),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"n_bins": 2.5}, "n_bins"),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"n_bins": True}, "n_bins"),
    ([], np.empty((0, 2)), {}, "non-empty"),
    ([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]], {}, "n_samples=3"),
    ([0, 1], [[1.5, -0.5], [0.5, 0.5]], {}, r"\[0, 1\]"),
    ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], {}, r"\[0, 1\]"),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"labels": [0, 0]}, "distinct"),
    ([0, 3], [[0.5, 0.5], [0.5, 0.5]], {"labels": [0, 1]}, r"not in labels: \[3\]"),
])
def test_bad_input_is_a_clear_value_error(y_true, proba, kwargs, match):
    with pytest.raises(ValueError, match=match):
        classwise_ece(y_true, proba, **kwargs)
