"""TunedDecisionClassifierCV: sklearn's estimator checks, offsets on out-of-fold rows, refit."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict

from skimb import ImbalancedTorchClassifier, TunedDecisionClassifierCV
from skimb.decisions import decide, tune_offsets
from skimb.metrics import macro_f1, macro_f1_scorer
from tests.helpers import sklearn_checks

#: min_count above every class's held-out rows: no offset moves from 0, so predict is the
#: argmax of predict_proba.
ARGMAX = TunedDecisionClassifierCV(LogisticRegression(), cv=3, min_count=10**6)


# check_classifiers_train wants predict to be the argmax of the probabilities, which tuned
# offsets are not (scikit-learn declares it an expected failure of TunedThresholdClassifierCV):
# it runs where no offset moves.
@pytest.mark.parametrize("estimator, check", list(sklearn_checks(
    TunedDecisionClassifierCV(LogisticRegression(), cv=3),
    elsewhere={"check_classifiers_train": ARGMAX})))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_argmax_is_what_no_moved_offset_gives():
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    model = clone(ARGMAX).fit(X, y)
    np.testing.assert_array_equal(model.offsets_, np.zeros(3))
    np.testing.assert_array_equal(model.predict(X), model.predict_proba(X).argmax(axis=1))


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=900, n_classes=3, n_informative=5, weights=[0.8, 0.15],
                               flip_y=0.05, random_state=0)


def test_offsets_are_tuned_on_out_of_fold_probabilities(data):
    X, y = data
    model = TunedDecisionClassifierCV(LogisticRegression(), cv=4, random_state=1).fit(X, y)
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=folds, method="predict_proba")
    np.testing.assert_allclose(model.offsets_, tune_offsets(proba, y))
    assert model.best_score_ == pytest.approx(macro_f1(y, decide(proba, model.offsets_)))
    assert model.best_score_ >= macro_f1(y, proba.argmax(axis=1))
    refit = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), refit.predict_proba(X))
    expected = np.argmax(np.log(refit.predict_proba(X)) + model.offsets_, axis=1)
    np.testing.assert_array_equal(model.predict(X), model.classes_[expected])


def test_string_labels_exclude_and_scorer_exclude(data):
    X, y = data
    names = np.array(["dry", "ice", "wet"])[y]
    by_param = TunedDecisionClassifierCV(LogisticRegression(), cv=3, exclude="ice").fit(X, names)
    by_scorer = TunedDecisionClassifierCV(LogisticRegression(), cv=3,
                                          scoring=macro_f1_scorer(exclude=["ice"])).fit(X, names)
    np.testing.assert_allclose(by_param.offsets_, by_scorer.offsets_)
    assert set(by_param.predict(X)) <= {"dry", "ice", "wet"}
    plain = TunedDecisionClassifierCV(LogisticRegression(), cv=3).fit(X, names)
    assert not np.allclose(plain.offsets_, by_param.offsets_)


@pytest.mark.parametrize("scoring", [None, 3, ["f1_macro"], "no_such_scorer"])
def test_what_is_no_scorer_is_refused_before_any_fit(data, scoring):
    X, y = data
    with pytest.raises(ValueError, match="scor"):
        TunedDecisionClassifierCV(_NeverFitted(), scoring=scoring).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"exclude": "Ice"}, r"exclude names \['Ice'\].*\['dry', 'ice', 'wet'\]"),
    ({"exclude": ["dry", "ice", "wet"]}, "every class"),
    ({"scoring": macro_f1_scorer(exclude="snow")}, r"\['snow'\]"),
    ({"constraints": {"Ice": {"recall": 0.8}}}, r"constraints names \['Ice'\]"),
    ({"constraints": {"ice": {"recal": 0.8}}}, "recal"),
    ({"constraints": {"ice": {"recall": 1.5}}}, r"\[0, 1\]"),
    ({"cost_matrix": {"ice": {"Dry": 5.0}}}, r"\['Dry'\]"),
    ({"cost_matrix": [[0, 1], [1, 0]]}, r"\(3, 3\)"),
    ({"cost_matrix": [[0, 1, 1]] * 3, "scoring": "accuracy"}, "cost_matrix is the objective"),
    ({"exclude": "ice", "scoring": "accuracy"}, "exclude"),
])
def test_a_label_that_is_no_class_is_refused_before_any_fit(data, params, match):
    X, codes = data
    y = np.array(["dry", "wet", "ice"])[codes]
    with pytest.raises(ValueError, match=match):
        TunedDecisionClassifierCV(_NeverFitted(), **params).fit(X, y)


class _NeverFitted(LogisticRegression):
    """A classifier whose fit fails the test: the checks must come first."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("fitted before the parameters were checked")


def test_refit_false_keeps_the_single_split_model(data):
    X, y = data
    model = TunedDecisionClassifierCV(LogisticRegression(), cv=0.3, refit=False,
                                      random_state=0).fit(X, y)
    assert model.estimator_.n_features_in_ == X.shape[1]
    assert not np.allclose(model.estimator_.coef_, LogisticRegression().fit(X, y).coef_)
    with pytest.raises(ValueError, match="single split"):
        TunedDecisionClassifierCV(LogisticRegression(), cv=3, refit=False).fit(X, y)


def test_nested_params_grid_search_and_pickle(data):
    X, y = data
    model = TunedDecisionClassifierCV(HistGradientBoostingClassifier(max_iter=10), cv=3)
    assert model.get_params()["estimator__max_iter"] == 10
    search = GridSearchCV(model, {"estimator__max_depth": [2, 3]}, cv=2, scoring="f1_macro")
    search.fit(X, y)
    fitted = search.best_estimator_
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    assert clone(model).get_params()["estimator"].max_iter == 10


def test_wraps_skimb_classifier(data):
    X, y = data
    clf = ImbalancedTorchClassifier(max_epochs=2, train_split=None, random_state=0)
    model = TunedDecisionClassifierCV(clf, cv=2, random_state=0).fit(X.astype(np.float32), y)
    assert model.predict(X[:5]).shape == (5,)
    assert model.offsets_.shape == (3,)
    weighted = TunedDecisionClassifierCV(clf, cv=2, random_state=0).fit(
        X.astype(np.float32), y, sample_weight=np.where(y == 2, 0.0, 1.0))
    assert weighted.offsets_[2] == -np.inf and 2 not in set(weighted.predict(X))


def test_folds_fit_on_the_original_labels():
    """Label-keyed parameters mean the same in the folds as in the refit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=120) > 0.8, "rare", "common")
    weighted = LogisticRegression(class_weight={"common": 1.0, "rare": 5.0})
    tuned = TunedDecisionClassifierCV(weighted, cv=3).fit(X, y, sample_weight=np.ones(120))
    assert tuned.classes_.tolist() == ["common", "rare"]
    assert set(tuned.predict(X)) <= {"common", "rare"}


class _IgnoresWeights(LogisticRegression):
    """Accepts sample_weight and drops it: its probabilities still favour every class."""

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, y)


@pytest.mark.parametrize("estimator", [LogisticRegression(), _IgnoresWeights()])
@pytest.mark.parametrize("min_count", [0, 5])
def test_a_class_of_zero_weight_is_never_predicted(data, estimator, min_count):
    X, y = data
    w = np.where(y == 2, 0.0, 1.0)
    model = TunedDecisionClassifierCV(estimator, cv=3, min_count=min_count).fit(
        X, y, sample_weight=w)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.offsets_[2] == -np.inf and np.isfinite(model.offsets_[:2]).all()
    assert 2 not in set(model.predict(X))
    if isinstance(estimator, _IgnoresWeights):  # argmax alone would predict class 2
        assert 2 in set(model.predict_proba(X).argmax(axis=1))
    # Unweighted, class 2 is tuned and predicted.
    plain = TunedDecisionClassifierCV(estimator, cv=3, min_count=min_count).fit(X, y)
    assert 2 in set(plain.predict(X))


def test_offsets_maximise_the_weighted_out_of_fold_macro_f1(data):
    X, y = data
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    model = TunedDecisionClassifierCV(LogisticRegression(), cv=4, random_state=1).fit(
        X, y, sample_weight=w)
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=folds, method="predict_proba",
                              params={"sample_weight": w})
    np.testing.assert_allclose(model.offsets_, tune_offsets(proba, y, sample_weight=w))
    weighted_f1 = f1_score(y, decide(proba, model.offsets_), average="macro", sample_weight=w)
    assert model.best_score_ == pytest.approx(weighted_f1)
    refit = LogisticRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.predict_proba(X), refit.predict_proba(X))
    assert not np.allclose(model.offsets_, TunedDecisionClassifierCV(
        LogisticRegression(), cv=4, random_state=1).fit(X, y).offsets_)


def test_integer_weights_give_the_offsets_of_repeated_rows(data):
    """Each row and its copies share a fold, so the two fits see the same problems."""
    X, y = data
    rng = np.random.default_rng(3)
    w = rng.integers(0, 4, size=len(y))
    fold = rng.integers(0, 3, size=len(y))
    repeated = np.repeat(np.arange(len(y)), w)

    def splits(fold_of):
        return [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(3)]

    inner = LogisticRegression(tol=1e-10, max_iter=1000)
    weighted = TunedDecisionClassifierCV(inner, cv=splits(fold)).fit(X, y, sample_weight=w)
    copies = TunedDecisionClassifierCV(inner, cv=splits(fold[repeated])).fit(
        X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.offsets_, copies.offsets_, rtol=1e-6, atol=1e-8)
    assert weighted.best_score_ == pytest.approx(copies.best_score_, abs=1e-12)
    np.testing.assert_array_equal(weighted.predict(X), copies.predict(X))


def test_shrinkage_counts_the_held_out_weight(data):
    X, y = data
    w = np.where(y == 1, 4.0, 1.0)
    exact = TunedDecisionClassifierCV(LogisticRegression(), cv=3).fit(X, y, sample_weight=w)
    shrunk = TunedDecisionClassifierCV(LogisticRegression(), cv=3, shrinkage=40.0).fit(
        X, y, sample_weight=w)
    mass = np.bincount(y, weights=w)
    np.testing.assert_allclose(shrunk.offsets_, exact.offsets_ * mass / (mass + 40.0))


def test_unweighted_fit_is_unchanged_by_the_weighted_path(data):
    """No sample_weight: the estimator gets none, and offsets_ are tune_offsets' own."""
    X, y = data

    class NoWeights(LogisticRegression):
        def fit(self, X, y):
            return super().fit(X, y)

    model = TunedDecisionClassifierCV(NoWeights(), cv=3).fit(X, y)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=StratifiedKFold(3),
                              method="predict_proba")
    np.testing.assert_array_equal(model.offsets_, tune_offsets(proba, y))
    assert model.best_score_ == macro_f1(y, decide(proba, model.offsets_))
    with pytest.raises(TypeError, match="does not accept sample_weight"):
        TunedDecisionClassifierCV(NoWeights(), cv=3).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize("weights, match", [
    (np.zeros(900), "zero"),
    (-np.ones(900), "(?i)negative"),
    (np.ones(10), "sample_weight"),
])
def test_bad_sample_weight_is_refused(data, weights, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        TunedDecisionClassifierCV(LogisticRegression(), cv=3).fit(X, y, sample_weight=weights)


def test_sample_weight_reaches_the_last_step_of_a_pipeline(data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = data
    w = np.where(y == 2, 0.0, 1.0)
    model = TunedDecisionClassifierCV(make_pipeline(StandardScaler(), LogisticRegression()),
                                      cv=3).fit(X, y, sample_weight=w)
    assert model.offsets_[2] == -np.inf and np.isfinite(model.offsets_[:2]).all()
    assert 2 not in set(model.predict(X))
