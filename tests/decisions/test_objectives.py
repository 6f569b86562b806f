"""What the offset search maximises: any scikit-learn scorer, a cost matrix, per-class
constraints, and the labels they name (skimb.decisions, TunedDecisionClassifierCV and
ImbalancedTorchClassifier(decision="tuned"))."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, fbeta_score, get_scorer,
                             make_scorer, precision_score, recall_score)
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from skimb import ImbalancedTorchClassifier, TunedDecisionClassifierCV
from skimb.decisions import (DecisionConstraintWarning, choose_offsets, decide, tune_offsets)
from skimb.metrics import macro_f1
from tests.helpers import VALIDATED


def _problem(seed, n, k, labels=None):
    """Noisy probabilities that rank the rows' classes better than chance."""
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=np.linspace(3, 1, k) / np.linspace(3, 1, k).sum())
    logits = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return proba, (y if labels is None else np.asarray(labels)[y])


def _thresholds(proba):
    """Binary: the offsets b = (0, t) of every distinct decision (t between sorted
    log-ratios, and beyond both ends)."""
    ratio = np.sort(np.log(proba[:, 0]) - np.log(proba[:, 1]))
    cuts = np.concatenate([[ratio[0] - 1], (ratio[1:] + ratio[:-1]) / 2, [ratio[-1] + 1]])
    return [np.array([0.0, t]) for t in cuts]


def _cost(y, pred, matrix):
    return np.mean(np.asarray(matrix)[y, pred])


# ---------------------------------------------------------------------------
# Any scorer, through scikit-learn's public scorer call
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scoring, metric", [
    ("balanced_accuracy", balanced_accuracy_score),
    (make_scorer(fbeta_score, beta=2), lambda y, p: fbeta_score(y, p, beta=2)),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_scorer_reaches_the_brute_force_best_binary_threshold(scoring, metric, seed):
    proba, y = _problem(seed, 80, 2)
    b = tune_offsets(proba, y, min_count=1, scoring=scoring)
    best = max(metric(y, decide(proba, offsets)) for offsets in _thresholds(proba))
    assert metric(y, decide(proba, b)) == pytest.approx(best, abs=1e-12)
    assert best >= metric(y, proba.argmax(axis=1))


def test_a_scorer_sees_the_original_labels_and_the_probabilities():
    proba, y = _problem(2, 60, 3, labels=["dry", "ice", "wet"])
    seen = []

    def scorer(estimator, X, y_true):
        seen.append((estimator.classes_.tolist(), estimator.predict(X)[:3].tolist(),
                     estimator.predict_proba(X).shape))
        return recall_score(y_true, estimator.predict(X), labels=["ice"], average="macro")

    b = tune_offsets(proba, y, classes=["dry", "ice", "wet"], min_count=1, scoring=scorer)
    assert {tuple(s[0]) for s in seen} == {("dry", "ice", "wet")}
    assert {p for s in seen for p in s[1]} <= {"dry", "ice", "wet"}
    assert seen[0][2] == proba.shape
    pred = np.array(["dry", "ice", "wet"])[decide(proba, b)]
    assert recall_score(y, pred, labels=["ice"], average="macro") == 1.0


def test_the_exact_macro_f1_search_and_the_f1_macro_scorer_agree():
    proba, y = _problem(3, 90, 3)
    exact = tune_offsets(proba, y, min_count=1)
    general = tune_offsets(proba, y, min_count=1, scoring=get_scorer("f1_macro"))
    assert macro_f1(y, decide(proba, general)) == pytest.approx(
        macro_f1(y, decide(proba, exact)), abs=1e-12)


def test_a_scorer_on_probabilities_alone_moves_no_offset():
    proba, y = _problem(4, 60, 3)
    np.testing.assert_array_equal(tune_offsets(proba, y, scoring="neg_log_loss"), np.zeros(3))


def test_a_scorer_gets_the_weights_and_integer_weights_are_repeated_rows():
    proba, y = _problem(5, 60, 2)
    w = np.random.default_rng(5).integers(0, 4, size=60).astype(float)
    weighted = tune_offsets(proba, y, min_count=1, sample_weight=w, scoring="balanced_accuracy")
    rows = np.repeat(np.arange(60), w.astype(int))
    copies = tune_offsets(proba[rows], y[rows], min_count=1, scoring="balanced_accuracy")
    assert balanced_accuracy_score(y, decide(proba, weighted), sample_weight=w) == pytest.approx(
        balanced_accuracy_score(y, decide(proba, copies), sample_weight=w), abs=1e-12)


def test_many_rows_call_the_scorer_on_at_most_100_intervals_a_step():
    proba, y = _problem(6, 2000, 2)
    calls = []

    def scorer(estimator, X, y_true):
        calls.append(1)
        return accuracy_score(y_true, estimator.predict(X))

    b = tune_offsets(proba, y, min_count=1, max_passes=1, scoring=scorer)
    assert len(calls) <= 2 * 100 + 3
    assert accuracy_score(y, decide(proba, b)) >= accuracy_score(y, proba.argmax(axis=1))


# ---------------------------------------------------------------------------
# A cost matrix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_cost_matrix_reaches_the_brute_force_least_binary_cost(seed):
    proba, y = _problem(seed, 120, 2)
    matrix = [[0.0, 1.0], [6.0, 0.0]]
    b = tune_offsets(proba, y, min_count=1, cost_matrix=matrix)
    least = min(_cost(y, decide(proba, offsets), matrix) for offsets in _thresholds(proba))
    assert _cost(y, decide(proba, b), matrix) == pytest.approx(least, abs=1e-12)
    assert least < _cost(y, proba.argmax(axis=1), matrix)


def test_a_multiclass_cost_is_lowered_and_a_dict_is_the_matrix_it_names():
    proba, y = _problem(7, 400, 3, labels=["dry", "ice", "wet"])
    classes = ["dry", "ice", "wet"]
    as_dict = {"ice": {"dry": 10.0, "wet": 4.0}, "dry": {"ice": 1.0}, "wet": {"ice": 1.0}}
    matrix = np.array([[0, 1, 0], [10, 0, 4], [0, 1, 0]], dtype=float)
    by_dict = tune_offsets(proba, y, classes=classes, min_count=1, cost_matrix=as_dict)
    by_array = tune_offsets(proba, y, classes=classes, min_count=1, cost_matrix=matrix)
    np.testing.assert_array_equal(by_dict, by_array)
    codes = np.searchsorted(classes, y)
    assert _cost(codes, decide(proba, by_array), matrix) < _cost(codes, proba.argmax(1), matrix)
    offsets, score = choose_offsets(proba, codes, np.array(classes), cost_matrix=matrix,
                                    min_count=1, shrinkage=0)
    assert score == pytest.approx(-_cost(codes, decide(proba, offsets), matrix))


# ---------------------------------------------------------------------------
# Per-class constraints
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("metric, floor", [("recall", 0.9), ("precision", 0.8)])
def test_binary_constraint_gives_the_best_macro_f1_among_the_thresholds_meeting_it(
        seed, metric, floor):
    proba, y = _problem(seed, 100, 2)
    measure = {"recall": recall_score, "precision": precision_score}[metric]
    b = tune_offsets(proba, y, min_count=1, constraints={1: {metric: floor}})
    feasible = [o for o in _thresholds(proba)
                if measure(y, decide(proba, o), zero_division=0) >= floor]
    assert feasible
    assert measure(y, decide(proba, b), zero_division=0) >= floor
    best = max(macro_f1(y, decide(proba, o)) for o in feasible)
    assert macro_f1(y, decide(proba, b)) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_multiclass_constraints_are_met_on_the_tuning_rows(seed):
    proba, y = _problem(seed, 500, 4, labels=["dry", "frost", "ice", "wet"])
    classes = ["dry", "frost", "ice", "wet"]
    constraints = {"ice": {"recall": 0.85}, "dry": {"precision": 0.75}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecisionConstraintWarning)
        offsets, score = choose_offsets(proba, np.searchsorted(classes, y), np.array(classes),
                                        constraints=constraints, min_count=1)
    pred = np.array(classes)[decide(proba, offsets)]
    assert recall_score(y, pred, labels=["ice"], average="macro") >= 0.85
    assert precision_score(y, pred, labels=["dry"], average="macro") >= 0.75
    assert recall_score(y, proba.argmax(1).choose(classes), labels=["ice"], average="macro") < 0.85
    assert score == pytest.approx(macro_f1(y, pred))


def test_shrinkage_that_would_break_a_constraint_is_not_applied():
    proba, y = _problem(8, 300, 3)
    constraints = {2: {"recall": 0.9}}
    exact, _ = choose_offsets(proba, y, np.arange(3), constraints=constraints, min_count=1,
                              shrinkage=0)
    kept, _ = choose_offsets(proba, y, np.arange(3), constraints=constraints, min_count=1,
                             shrinkage=1e6)
    np.testing.assert_array_equal(kept, exact)
    assert recall_score(y, decide(proba, kept), labels=[2], average="macro") >= 0.9
    # without a constraint the same shrinkage pulls the offsets to 0
    np.testing.assert_allclose(choose_offsets(proba, y, np.arange(3), min_count=1,
                                              shrinkage=1e6)[0], 0, atol=1e-3)


def test_unmeetable_constraints_warn_and_keep_the_closest_offsets():
    # every row has the same probabilities: the decision is one class for all rows, and
    # class 1 (30% of rows) can reach a precision of 0.3 at most
    y = np.array([0] * 7 + [1] * 3)
    proba = np.tile([0.6, 0.4], (10, 1))
    with pytest.warns(DecisionConstraintWarning, match=r"precision of 1 is 0\.300 < 0\.9"):
        offsets, _ = choose_offsets(proba, y, np.arange(2), constraints={1: {"precision": 0.9}},
                                    min_count=1, shrinkage=0)
    assert (decide(proba, offsets) == 1).all()


def test_tuned_decision_cv_meets_the_constraint_on_its_out_of_fold_rows():
    X, y = make_classification(n_samples=900, n_classes=3, n_informative=5, weights=[0.8, 0.15],
                               flip_y=0.05, random_state=0)
    names = np.array(["dry", "ice", "wet"])[y]
    model = TunedDecisionClassifierCV(LogisticRegression(), cv=4, random_state=1,
                                      constraints={"wet": {"recall": 0.8}}).fit(X, names)
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    proba = cross_val_predict(LogisticRegression(), X, names, cv=folds, method="predict_proba")
    pred = model.classes_[decide(proba, model.offsets_)]
    assert recall_score(names, pred, labels=["wet"], average="macro") >= 0.8
    plain = TunedDecisionClassifierCV(LogisticRegression(), cv=4, random_state=1).fit(X, names)
    assert recall_score(names, model.classes_[decide(proba, plain.offsets_)], labels=["wet"],
                        average="macro") < 0.8


def test_tuned_decision_cv_with_a_cost_matrix_scores_minus_the_mean_cost():
    X, y = make_classification(n_samples=600, weights=[0.85], random_state=0)
    matrix = [[0.0, 1.0], [8.0, 0.0]]
    model = TunedDecisionClassifierCV(LogisticRegression(), cv=3, random_state=0,
                                      cost_matrix=matrix).fit(X, y)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=folds, method="predict_proba")
    assert model.best_score_ == pytest.approx(-_cost(y, decide(proba, model.offsets_), matrix))
    assert -model.best_score_ < _cost(y, proba.argmax(1), matrix)


# ---------------------------------------------------------------------------
# ImbalancedTorchClassifier(decision="tuned", decision__...)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(n_samples=500, n_classes=3, n_informative=4, weights=[0.8, 0.15],
                               random_state=0)
    return X.astype(np.float32), np.array(["dry", "ice", "wet"])[y]


def _validation_rows(X, y):
    return next(iter(StratifiedKFold(5).split(X, y)))[1]


def _clf(**params):
    return ImbalancedTorchClassifier(**{"max_epochs": 3, "random_state": 0, "decision": "tuned",
                                        **VALIDATED, **params})


def test_the_classifier_meets_its_constraint_on_the_validation_rows(three_classes):
    X, y = three_classes
    valid = _validation_rows(X, y)
    clf = _clf(decision__constraints={"wet": {"recall": 0.9}}, decision__scoring="f1_macro")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecisionConstraintWarning)
        clf.fit(X, y)
    assert recall_score(y[valid], clf.predict(X[valid]), labels=["wet"], average="macro") >= 0.9
    plain = _clf().fit(X, y)
    assert recall_score(y[valid], plain.predict(X[valid]), labels=["wet"], average="macro") < 0.9


def test_the_classifier_takes_a_scorer_and_a_cost_matrix(three_classes):
    X, y = three_classes
    valid = _validation_rows(X, y)
    argmax = _clf(decision="argmax").fit(X, y)
    tuned = _clf(decision__scoring="balanced_accuracy", decision__shrinkage=0).fit(X, y)
    assert (balanced_accuracy_score(y[valid], tuned.predict(X[valid]))
            > balanced_accuracy_score(y[valid], argmax.predict(X[valid])))
    costly = {"ice": {"dry": 10.0, "wet": 10.0}, "wet": {"dry": 10.0, "ice": 10.0},
              "dry": {"ice": 1.0, "wet": 1.0}}
    cost = _clf(decision__cost_matrix=costly, decision__shrinkage=0).fit(X, y)
    matrix = np.array([[0, 1, 1], [10, 0, 10], [10, 10, 0]])
    codes = np.searchsorted(cost.classes_, y[valid])
    assert (_cost(codes, np.searchsorted(cost.classes_, cost.predict(X[valid])), matrix)
            < _cost(codes, np.searchsorted(cost.classes_, argmax.predict(X[valid])), matrix))


@pytest.mark.parametrize("params, match", [
    ({"decision__exclude": "Ice"}, r"decision__exclude names \['Ice'\].*\['dry', 'ice', 'wet'\]"),
    ({"decision__exclude": ["dry", "ice", "wet"]}, "every class"),
    ({"decision__constraints": {"Wet": {"recall": 0.8}}}, r"constraints names \['Wet'\]"),
    ({"decision__cost_matrix": {"ice": {"snow": 1.0}}}, r"\['snow'\]"),
    ({"decision__cost_matrix": [[0, 1], [1, 0]]}, r"\(3, 3\)"),
    ({"decision__constraints": {"ice": {"recall": 2}}}, r"\[0, 1\]"),
    ({"decision__constraints": ["ice"]}, "dict"),
    ({"decision__scoring": "no_such_scorer"}, "no_such_scorer"),
])
@pytest.mark.parametrize("decision", ["tuned", "prior"])
def test_the_classifier_refuses_a_label_that_is_no_class_before_the_first_epoch(
        three_classes, params, match, decision):
    X, y = three_classes
    clf = _clf(decision=decision, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "module_") and not clf.history


def test_the_classifier_refuses_scorers_and_constraints_for_a_multilabel_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    Y = (rng.random((120, 2)) < 0.4).astype(int)
    with pytest.raises(ValueError, match="decision__constraints need one label per row"):
        _clf(decision__constraints={0: {"recall": 0.5}}).fit(X, Y)
    with pytest.raises(ValueError, match=r"decision__exclude names \[5\]"):
        _clf(decision__exclude=5).fit(X, Y)
