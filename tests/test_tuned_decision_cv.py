"""TunedDecisionClassifierCV: sklearn's estimator checks, offsets on out-of-fold rows, refit."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.utils.estimator_checks import parametrize_with_checks

from skimb import ImbalancedTorchClassifier, TunedDecisionClassifierCV
from skimb.decisions import decide, tune_offsets
from skimb.metrics import macro_f1, macro_f1_scorer

_PREDICT_IS_NOT_ARGMAX = (
    "predict is argmax(log predict_proba + offsets_), by design not argmax(predict_proba)")
EXPECTED_FAILURES = {
    "check_classifiers_train": _PREDICT_IS_NOT_ARGMAX,
    "check_classifiers_one_label_sample_weights": (
        "sample_weight goes to the estimator's fits; the offsets are chosen on unweighted "
        "out-of-fold rows, where both classes still count"),
}


@parametrize_with_checks([TunedDecisionClassifierCV(LogisticRegression(), cv=3)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


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


@pytest.mark.parametrize("scoring", ["accuracy", "f1_weighted", len])
def test_other_scorers_are_refused(data, scoring):
    X, y = data
    with pytest.raises(ValueError, match="macro"):
        TunedDecisionClassifierCV(LogisticRegression(), scoring=scoring).fit(X, y)


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


def test_folds_fit_on_the_original_labels():
    """Label-keyed parameters mean the same in the folds as in the refit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=120) > 0.8, "rare", "common")
    weighted = LogisticRegression(class_weight={"common": 1.0, "rare": 5.0})
    tuned = TunedDecisionClassifierCV(weighted, cv=3).fit(X, y, sample_weight=np.ones(120))
    assert tuned.classes_.tolist() == ["common", "rare"]
    assert set(tuned.predict(X)) <= {"common", "rare"}
