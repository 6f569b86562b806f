"""The decision search (skimb.decisions) and ImbalancedTorchClassifier(decision=...)."""

import itertools
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import EarlyStopping

from helpers import VALIDATED
from skimb import ImbalancedTorchClassifier
from skimb.decisions import decide, prior_offsets, tune_offsets, tune_thresholds
from skimb.metrics import macro_f1


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


def test_ties_are_decided_as_argmax_decides_them_and_deterministic():
    proba = np.array([[0.5, 0.5]] * 6 + [[0.2, 0.8]] * 2 + [[0.8, 0.2]] * 4)
    y = np.array([0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1])
    b = tune_offsets(proba, y, min_count=1)
    assert _score(proba, y, b) >= _score(proba, y, np.zeros(2))
    np.testing.assert_array_equal(b, tune_offsets(proba.copy(), y.copy(), min_count=1))


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
    assert "_decision_rows_" not in vars(clf)


def test_tuned_needs_a_validation_split(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match="train_split=None"):
        _clf(decision="tuned", train_split=None).fit(X, y)
    assert not hasattr(_clf(decision="tuned", train_split=None), "module_")
    default = ImbalancedTorchClassifier(decision="tuned", max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"train_split=None \(the default\)"):
        default.fit(X, y)
    assert not hasattr(default, "module_")


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
    proba = clf.predict_proba(X)
    expected = np.log(proba[:, 1]) + clf.decision_offsets_[1] > np.log(proba[:, 0]) + \
        clf.decision_offsets_[0]
    np.testing.assert_array_equal(clf.predict(X), expected.astype(int))


@pytest.mark.parametrize("decision", ["argmax", "prior", "tuned"])
def test_multilabel_decisions(decision):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    Y = (X[:, :3] + rng.normal(size=(400, 3)) > [0.0, 1.0, 1.5]).astype(int)
    clf = _clf(loss="bce", decision=decision, threshold=0.4).fit(X, Y)
    proba = clf.predict_proba(X)
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
    assert search.best_params_["decision"] in ("argmax", "tuned")
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
