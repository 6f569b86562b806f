"""The decision search (skimb.decisions) and ImbalancedTorchClassifier(decision=...)."""

import itertools
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, EarlyStopping

from tests.helpers import VALIDATED
from skimb import ImbalancedTorchClassifier
from skimb.decisions import decide, prior_offsets, tune_offsets, tune_thresholds
from skimb.metrics import macro_f1, macro_f1_scorer


def _random_problem(rng, n, k, rounded=False):
    proba = rng.dirichlet(np.ones(k), size=n)
    if rounded:  # many exact ties between rows and between classes
        proba = np.round(proba, 1) + 1e-3
        proba /= proba.sum(axis=1, keepdims=True)
    return proba, rng.integers(0, k, size=n)


def _score(proba, y, offsets, exclude=None):
    return macro_f1(y, decide(proba, offsets), exclude=exclude)


@pytest.mark.parametrize("seed", range(8))
def test_search_never_lowers_macro_f1_and_is_coordinatewise_optimal(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    proba, y = _random_problem(rng, int(rng.integers(8, 40)), k, rounded=seed % 2 == 0)
    init = rng.normal(size=k) if seed % 3 == 0 else None
    b = tune_offsets(proba, y, min_count=1, init=init)
    start = np.zeros(k) if init is None else init
    assert _score(proba, y, b) >= _score(proba, y, start) - 1e-12
    # No single class's offset, anywhere on a fine grid, does better (exact 1-D steps).
    for c, value in itertools.product(range(k), np.linspace(-4, 4, 25)):
        moved = b.copy()
        moved[c] = value
        assert _score(proba, y, moved) <= _score(proba, y, b) + 1e-12


def test_binary_offsets_match_the_brute_force_best_threshold():
    rng = np.random.default_rng(0)
    p1 = rng.random(60)
    y = (rng.random(60) < p1 ** 2).astype(int)
    proba = np.column_stack([1 - p1, p1])
    b = tune_offsets(proba, y, min_count=1)
    cuts = np.concatenate([[-1.0], np.sort(p1), [2.0]])
    best = max(macro_f1(y, (p1 > t).astype(int)) for t in cuts)
    assert _score(proba, y, b) == pytest.approx(best)


def test_recovers_the_offsets_that_generated_the_labels():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), size=400)
    truth = np.array([0.0, 1.2, -0.7, 2.0])
    y = decide(proba, truth)
    b = tune_offsets(proba, y, min_count=1)
    np.testing.assert_array_equal(decide(proba, b), y)
    # On new rows, the found offsets decide (nearly) as the true ones do.
    fresh = rng.dirichlet(np.ones(4), size=4000)
    assert np.mean(decide(fresh, b) == decide(fresh, truth)) > 0.97


@pytest.mark.parametrize("seed", [0, 3, 5, 8])
def test_a_move_goes_to_the_midpoint_of_the_best_interval_nearest_the_offset(seed):
    """The documented rule, by brute force where one class can move (the others have fewer
    rows than min_count): its offset is the midpoint between the two breakpoints (where a
    row's decision switches) of the best interval, among equally good ones the nearest."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(4, int), np.ones(4, int), np.full(72, 2)]
    proba = rng.dirichlet(np.ones(3), size=80)
    log_p = np.log(proba)
    breakpoints = np.unique(np.max(log_p[:, :2], axis=1) - log_p[:, 2])
    score = lambda b: _score(proba, y, np.array([0.0, 0.0, b]))  # noqa: E731
    middles = (breakpoints[:-1] + breakpoints[1:]) / 2
    scores = np.array([score(b) for b in middles])
    best = scores.max()
    outside = max(score(breakpoints[0] - 1.0), score(breakpoints[-1] + 1.0))
    assert best > max(outside, score(0.0)) + 1e-9  # the problem: a move, to a bounded interval
    candidates = middles[scores >= best - 1e-12]
    expected = candidates[np.argmin(np.abs(candidates))]
    np.testing.assert_allclose(tune_offsets(proba, y), [0.0, 0.0, expected], rtol=1e-12)


def test_deterministic_and_input_untouched():
    rng = np.random.default_rng(2)
    proba, y = _random_problem(rng, 300, 6)
    before = proba.copy()
    first = tune_offsets(proba, y)
    np.testing.assert_array_equal(first, tune_offsets(proba, y))
    np.testing.assert_array_equal(proba, before)


def test_class_absent_from_the_rows_keeps_its_start_and_is_not_predicted_more():
    rng = np.random.default_rng(3)
    proba, y = _random_problem(rng, 200, 4)
    y[y == 3] = 0
    b = tune_offsets(proba, y)
    assert b[3] == 0.0
    assert _score(proba, y, b) >= _score(proba, y, np.zeros(4))


def test_min_count_freezes_small_classes():
    rng = np.random.default_rng(4)
    proba, y = _random_problem(rng, 200, 3)
    y[np.flatnonzero(y == 2)[4:]] = 1  # class 2 keeps 4 rows
    assert tune_offsets(proba, y, min_count=5)[2] == 0.0
    init = np.array([0.0, 0.0, 0.3])
    assert tune_offsets(proba, y, min_count=5, init=init)[2] == 0.3


def test_exclude_optimises_the_score_without_those_classes():
    rng = np.random.default_rng(5)
    proba, y = _random_problem(rng, 300, 4)
    classes = np.array(["a", "b", "c", "d"])
    b = tune_offsets(proba, classes[y], classes=classes, exclude=["d"])
    assert b.shape == (4,)
    labels = classes[y]

    def score(offsets):
        return macro_f1(labels, classes[decide(proba, offsets)], exclude="d")

    assert score(b) > score(np.zeros(4))
    assert score(b) >= score(tune_offsets(proba, labels, classes=classes)) - 1e-12
    with pytest.raises(ValueError, match="every class is excluded"):
        tune_offsets(proba, labels, classes=classes, exclude=list(classes))


def test_hundreds_of_classes():
    rng = np.random.default_rng(6)
    k = 200
    proba = rng.dirichlet(np.full(k, 0.3), size=2000)
    y = rng.integers(0, k, size=2000)
    b = tune_offsets(proba, y, min_count=1, max_passes=2)
    assert b.shape == (k,)
    assert _score(proba, y, b) > _score(proba, y, np.zeros(k))


def test_prior_offsets():
    np.testing.assert_allclose(prior_offsets([30, 10], tau=2.0), -2.0 * np.log([0.75, 0.25]))
    assert np.isfinite(prior_offsets([10, 0])).all()
    with pytest.raises(ValueError, match="tau"):
        prior_offsets([1, 2], tau="x")


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        tune_offsets(np.ones(3), [0, 1, 0])
    with pytest.raises(ValueError, match="not in classes"):
        tune_offsets(np.full((2, 2), 0.5), [0, 5])
    with pytest.raises(ValueError, match="rows"):
        tune_offsets(np.full((3, 2), 0.5), [0, 1])


@pytest.mark.parametrize("seed", range(10))
def test_thresholds_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    proba = np.round(rng.random((30, 3)), 1 + seed % 2)
    Y = (rng.random((30, 3)) < proba).astype(int)
    Y[:6, 2] = 1
    thresholds = tune_thresholds(proba, Y, min_count=1)
    for j in range(3):
        cuts = np.concatenate([[-1.0], proba[:, j], [1.0]])
        best = max(f1_score(Y[:, j], proba[:, j] > t, zero_division=0) for t in cuts)
        got = f1_score(Y[:, j], proba[:, j] > thresholds[j], zero_division=0)
        assert got == pytest.approx(best)


def test_thresholds_of_labels_with_few_positives_stay_default():
    proba = np.linspace(0, 1, 20)[:, None].repeat(2, axis=1)
    Y = np.zeros((20, 2), dtype=int)
    Y[-3:, 0] = 1
    Y[-10:, 1] = 1
    t = tune_thresholds(proba, Y, default=0.4)
    assert t[0] == 0.4
    assert (proba[:, 1] > t[1]).sum() == 10


# -- the classifier ---------------------------------------------------------------

@pytest.fixture(scope="module")
def three_classes():
    return make_classification(n_samples=500, n_classes=3, n_informative=4, weights=[0.8, 0.15],
                               random_state=0)


def _clf(**params):
    return ImbalancedTorchClassifier(**{"max_epochs": 3, "random_state": 0, **VALIDATED, **params})


def test_decision_argmax_is_todays_predict(three_classes):
    X, y = three_classes
    clf = _clf().fit(X, y)
    np.testing.assert_array_equal(clf.decision_offsets_, np.zeros(3))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[clf.predict_proba(X).argmax(1)])


def test_decision_prior_offsets_from_class_counts(three_classes):
    X, y = three_classes
    clf = _clf(decision="prior", decision__tau=0.5).fit(X, y)
    shares = clf.class_counts_ / clf.class_counts_.sum()
    np.testing.assert_allclose(clf.decision_offsets_, -0.5 * np.log(shares))
    expected = np.argmax(np.log(clf.predict_proba(X)) + clf.decision_offsets_, axis=1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected])


def test_decision_tuned_uses_the_kept_weights_of_early_stopping(three_classes):
    X, y = three_classes
    # "Best" is the highest training loss: epoch 1, restored after epoch 3.
    stop = EarlyStopping(monitor="train_loss", lower_is_better=False, patience=2,
                         load_best=True)
    clf = _clf(decision="tuned", decision__min_count=1, decision__shrinkage=0, max_epochs=6,
               callbacks=[stop])
    clf.fit(X, y)
    assert len(clf.history) == 3
    # The offsets are those of the model as it ends: recompute them from its probabilities.
    from skorch.dataset import ValidSplit
    from skimb._data import TensorTable
    from skimb._inputs.labels import encode_labels
    _, encoded = encode_labels(y, len(y))
    _, rows = ValidSplit(5, stratified=True)(TensorTable(X.astype(np.float32), encoded), encoded)
    idx = np.asarray(rows.indices)
    expected = tune_offsets(clf.predict_proba(X[idx]), encoded[idx], min_count=1)
    np.testing.assert_allclose(clf.decision_offsets_, expected)
    proba = clf.predict_proba(X[idx])
    assert macro_f1(y[idx], clf.predict(X[idx])) >= macro_f1(y[idx], proba.argmax(1))


def test_tuned_needs_a_validation_split_and_says_so_before_training(three_classes):
    X, y = three_classes
    epochs = []

    class Epochs(Callback):
        def on_epoch_begin(self, net, **kwargs):
            epochs.append(len(net.history))

    clf = _clf(decision="tuned", train_split=None, callbacks=[("epochs", Epochs())])
    with pytest.raises(ValueError, match="train_split=None"):
        clf.fit(X, y)
    assert not epochs and not hasattr(clf, "module_")
    default = ImbalancedTorchClassifier(decision="tuned", max_epochs=1, random_state=0,
                                        callbacks=[("epochs", Epochs())])
    with pytest.raises(ValueError, match=r"train_split=None \(the default\)"):
        default.fit(X, y)
    assert not epochs and not hasattr(default, "module_")


def test_unknown_decision_and_parameter(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match="argmax, prior, tuned"):
        _clf(decision="best").fit(X, y)
    with pytest.raises(ValueError, match="decision__tau, decision__exclude"):
        _clf(decision="prior", decision__taus=1).fit(X, y)


def test_binary_bce_offsets_on_two_columns():
    X, y = make_classification(n_samples=400, weights=[0.9], random_state=1)
    clf = _clf(loss="bce", decision="tuned", decision__min_count=1).fit(X, y)
    assert clf.decision_offsets_.shape == (2,)
    proba = clf.set_params(calibration=None).predict_proba(X)  # what the decision takes
    expected = np.log(proba[:, 1]) + clf.decision_offsets_[1] > np.log(proba[:, 0]) + \
        clf.decision_offsets_[0]
    np.testing.assert_array_equal(clf.predict(X), expected.astype(int))


@pytest.mark.parametrize("decision", ["argmax", "prior", "tuned"])
def test_multilabel_decisions(decision):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    Y = (X[:, :3] + rng.normal(size=(400, 3)) > [0.0, 1.0, 1.5]).astype(int)
    clf = _clf(loss="bce", decision=decision, threshold=0.4).fit(X, Y)
    proba = clf.set_params(calibration=None).predict_proba(X)  # what the decision takes
    if decision == "argmax":
        assert not hasattr(clf, "decision_thresholds_")
        np.testing.assert_array_equal(clf.predict(X), proba > 0.4)
        return
    t = clf.decision_thresholds_
    assert t.shape == (3,)
    np.testing.assert_array_equal(clf.predict(X), proba > t)
    if decision == "prior":
        shares = clf.class_counts_ / (0.8 * len(X))
        np.testing.assert_allclose(t, shares, rtol=1e-6)


def test_grid_search_clone_and_pickle_over_decision(three_classes):
    X, y = three_classes
    clf = _clf(decision__tau=1.0)
    assert clone(clf).get_params()["decision__tau"] == 1.0
    search = GridSearchCV(clf, {"decision": ["argmax", "tuned"], "decision__tau": [1.0]},
                          cv=2, scoring="f1_macro").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict(X), best.predict(X))


def test_partial_fit_retunes(three_classes):
    X, y = three_classes
    clf = _clf(decision="tuned", decision__min_count=1, max_epochs=1).fit(X, y)
    first = clf.decision_offsets_.copy()
    clf.partial_fit(X, y)
    assert not np.array_equal(first, clf.decision_offsets_)


def test_shrink_offsets_formula_and_checks():
    from skimb.decisions import shrink_offsets
    rng = np.random.default_rng(0)
    b, n = rng.normal(size=6), rng.integers(0, 500, 6)
    np.testing.assert_allclose(shrink_offsets(b, n, 25.0), b * n / (n + 25.0))
    np.testing.assert_array_equal(shrink_offsets(b, n, 0), b)
    for bad in (-1, np.nan, True, "40"):
        with pytest.raises(ValueError, match="decision__shrinkage"):
            shrink_offsets(b, n, bad)


def test_the_classifier_shrinks_its_tuned_offsets(three_classes):
    X, y = three_classes
    exact = _clf(decision="tuned", decision__min_count=1, decision__shrinkage=0).fit(X, y)
    shrunk = _clf(decision="tuned", decision__min_count=1).fit(X, y)
    valid = np.bincount(np.searchsorted(exact.classes_, y[_validation_rows(X, y)]), minlength=3)
    np.testing.assert_allclose(shrunk.decision_offsets_,
                               exact.decision_offsets_ * valid / (valid + 40.0))


def _validation_rows(X, y):
    from sklearn.model_selection import StratifiedKFold
    return next(iter(StratifiedKFold(5).split(X, y)))[1]


# ---------------------------------------------------------------------------
# choose_offsets: tune, then shrink, and the score reached
# ---------------------------------------------------------------------------


def _macro_f1_by_definition(y, pred, counted, weights=None):
    """Mean over the counted classes some positive-weight row holds or is given, of
    2 tp / (2 tp + fp + fn), each row counting its weight; 0 with no such class."""
    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    scores = []
    for c in np.flatnonzero(counted):
        rows = weights > 0
        if not (np.any(y[rows] == c) or np.any(pred[rows] == c)):
            continue
        tp = weights[(y == c) & (pred == c)].sum()
        fp = weights[(y != c) & (pred == c)].sum()
        fn = weights[(y == c) & (pred != c)].sum()
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def _decisions(proba, offsets):
    """argmax of log p + b in float64, the first class on ties."""
    return np.argmax(np.log(proba) + offsets, axis=1)


@pytest.mark.parametrize("seed", range(10))
def test_choose_offsets_reaches_the_brute_force_best_binary_macro_f1(seed):
    """Two classes: decisions depend on b_1 - b_0 alone, so scanning every cut between
    the sorted log-odds finds the best macro-F1 there is (from seed 4 on, three rows are
    even, which argmax gives the first class)."""
    from skimb.decisions import choose_offsets
    rng = np.random.default_rng(seed)
    p1 = rng.random(9)
    if seed >= 4:
        p1[:3] = 0.5
    proba = np.column_stack([1 - p1, p1])
    y = (rng.random(9) < p1).astype(int)
    weights = rng.integers(0, 4, size=9).astype(np.float64) if seed % 2 else None
    if weights is not None:
        weights[:2] = 1.0
    counted = np.ones(2, dtype=bool)
    log_odds = np.sort(np.log(p1) - np.log(1 - p1))
    cuts = np.concatenate([[log_odds[0] - 1], (log_odds[1:] + log_odds[:-1]) / 2,
                           [log_odds[-1] + 1]])
    best = max(_macro_f1_by_definition(y, _decisions(proba, [0.0, -cut]), counted, weights)
               for cut in cuts)
    offsets, score = choose_offsets(proba, y, np.array(["no", "yes"]), min_count=0,
                                    shrinkage=0, sample_weight=weights)
    assert score == pytest.approx(best, abs=1e-12)
    assert _macro_f1_by_definition(y, _decisions(proba, offsets), counted, weights) == \
        pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_choose_offsets_is_coordinatewise_optimal_and_scores_its_own_decisions(seed):
    """Three classes: no single offset, moved to any cut between the rows' breakpoints,
    scores higher; and the score returned is macro-F1 of the offsets' own decisions (on
    odd seeds, a third of the rows tie between all classes, which argmax gives the first)."""
    from skimb.decisions import choose_offsets
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(3), size=10)
    if seed % 2:
        proba[:4] = 1 / 3
    y = rng.integers(0, 3, size=10)
    counted = np.ones(3, dtype=bool)
    offsets, score = choose_offsets(proba, y, np.arange(3), min_count=0, shrinkage=0)
    assert score == pytest.approx(_macro_f1_by_definition(y, _decisions(proba, offsets),
                                                          counted), abs=1e-12)
    assert score >= _macro_f1_by_definition(y, proba.argmax(axis=1), counted) - 1e-12
    log_p = np.log(proba)
    for c in range(3):
        others = np.delete(log_p + offsets, c, axis=1).max(axis=1)
        points = np.sort(others - log_p[:, c])  # b_c where row i changes hands
        for b in np.concatenate([[points[0] - 1], (points[1:] + points[:-1]) / 2,
                                 [points[-1] + 1]]):
            moved = offsets.copy()
            moved[c] = b
            assert _macro_f1_by_definition(y, _decisions(proba, moved), counted) <= score + 1e-12


@pytest.mark.parametrize("weighted", [False, True])
def test_choose_offsets_shrinks_by_the_held_out_rows_of_each_class(weighted):
    from skimb.decisions import choose_offsets
    rng = np.random.default_rng(7)
    proba = rng.dirichlet(np.ones(3), size=120)
    y = rng.integers(0, 3, size=120)
    weights = rng.uniform(0.0, 3.0, size=120) if weighted else None
    exact, _ = choose_offsets(proba, y, np.arange(3), shrinkage=0, sample_weight=weights)
    shrunk, score = choose_offsets(proba, y, np.arange(3), shrinkage=25.0,
                                   sample_weight=weights)
    mass = np.array([(np.ones(120) if weights is None else weights)[y == c].sum()
                     for c in range(3)])
    assert np.any(exact != 0)
    np.testing.assert_allclose(shrunk, exact * mass / (mass + 25.0), rtol=1e-12)
    assert score == pytest.approx(_macro_f1_by_definition(
        y, _decisions(proba, shrunk), np.ones(3, dtype=bool), weights), abs=1e-12)


def test_choose_offsets_leaves_out_the_classes_the_scorer_and_exclude_name():
    from skimb.decisions import choose_offsets
    from skimb.metrics import macro_f1_scorer
    rng = np.random.default_rng(8)
    proba = rng.dirichlet(np.ones(3), size=200)
    y = rng.integers(0, 3, size=200)
    classes = np.array(["dry", "ice", "wet"])
    by_exclude = choose_offsets(proba, y, classes, exclude="ice", shrinkage=0)
    by_scorer = choose_offsets(proba, y, classes, shrinkage=0,
                               scoring=macro_f1_scorer(exclude=["ice"]))
    by_both = choose_offsets(proba, y, classes, exclude=["ice"], shrinkage=0,
                             scoring=macro_f1_scorer(exclude="ice"))
    for offsets, score in (by_scorer, by_both):
        np.testing.assert_array_equal(offsets, by_exclude[0])
        assert score == by_exclude[1]
    without_ice = np.array([True, False, True])
    assert by_exclude[1] == pytest.approx(_macro_f1_by_definition(
        y, _decisions(proba, by_exclude[0]), without_ice), abs=1e-12)
    plain = choose_offsets(proba, y, classes, shrinkage=0)
    assert _macro_f1_by_definition(y, _decisions(proba, by_exclude[0]), without_ice) > \
        _macro_f1_by_definition(y, _decisions(proba, plain[0]), without_ice)


@pytest.mark.parametrize("scoring, match", [
    (None, "not a scorer"), (42, "not a scorer"), ("no_such_scorer", "no_such_scorer"),
    (len, "make_scorer"), (macro_f1_scorer(exclude="not a class"), "'not a class'")])
def test_choose_offsets_refuses_what_is_no_scorer(scoring, match):
    from skimb.decisions import choose_offsets
    with pytest.raises(ValueError, match=match):
        choose_offsets(np.full((4, 2), 0.5), np.array([0, 1, 0, 1]), np.arange(2),
                       scoring=scoring)


def test_choose_offsets_with_one_class_tunes_nothing():
    from skimb.decisions import choose_offsets
    offsets, score = choose_offsets(np.ones((3, 1)), np.zeros(3, dtype=int), np.array(["a"]))
    assert offsets.tolist() == [0.0] and score == 1.0


def test_choose_offsets_counts_a_row_of_weight_zero_as_removed():
    from skimb.decisions import choose_offsets
    rng = np.random.default_rng(9)
    proba = rng.dirichlet(np.ones(3), size=90)
    y = rng.integers(0, 3, size=90)
    weights = rng.integers(0, 3, size=90).astype(np.float64)
    weights[y == 2] = 0.0  # class 2 holds no row once the zeros are removed
    kept = weights > 0
    weighted = choose_offsets(proba, y, np.arange(3), sample_weight=weights, shrinkage=10.0)
    removed = choose_offsets(proba[kept], y[kept], np.arange(3), sample_weight=weights[kept],
                             shrinkage=10.0)
    np.testing.assert_array_equal(weighted[0], removed[0])
    assert weighted[1] == removed[1]
