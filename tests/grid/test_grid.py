"""The default strategy grid and the prefer_baseline refit rule."""

import pickle

import numpy as np
import pytest
from skorch.callbacks import Callback
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, ParameterGrid

from skimb import list_losses, list_samplers
from skimb.grid import default_strategy_grid, prefer_baseline

from tests.helpers import clf_


def test_default_grid_uses_registered_strategies_and_places_drw():
    grid = default_strategy_grid(prefix="clf__")
    settings = list(ParameterGrid(grid))
    assert len(settings) == 10
    assert {s["clf__sampler"] for s in settings} <= set(list_samplers())
    assert {s["clf__loss"] for s in settings} <= set(list_losses())
    assert {"clf__sampler": "none", "clf__loss": "ce"} in settings
    assert "balanced_softmax" not in {s["clf__loss"] for s in settings}
    assert {"clf__sampler": "none", "clf__loss": "ce", "clf__decision": "prior"} in settings
    ldam = [s for s in settings if s["clf__loss"] == "ldam"]
    # a fraction of each fit call's epochs: the grid does not depend on max_epochs
    assert ldam == [{"clf__sampler": "none", "clf__loss": "ldam", "clf__loss__drw_epoch": 2 / 3}]


def test_ldam_drw_starts_after_two_thirds_of_the_fit_budget():
    X, y = make_classification(n_samples=240, n_features=6, weights=[0.85], random_state=0)
    (ldam,) = [s for s in ParameterGrid(default_strategy_grid()) if s["loss"] == "ldam"]
    weighted = []

    class Watch(Callback):  # after the net's own on_epoch_begin has told the loss
        def on_epoch_begin(self, net, **kwargs):
            weighted.append(bool((net.loss_.active_weights != 1).any()))

    clf = clf_(train_split=None, max_epochs=6, callbacks=[("watch", Watch())], **ldam).fit(X, y)
    assert clf.max_epochs_ == 6
    assert weighted == [False] * 4 + [True] * 2  # from epoch ceil(2/3 * 6) = 4


def _results(per_fold, params):
    """cv_results_ of a search whose candidate j scored per_fold[i][j] on fold i."""
    per_fold = np.asarray(per_fold, dtype=float)
    results = {f"split{i}_test_score": row for i, row in enumerate(per_fold)}
    results["mean_test_score"] = per_fold.mean(axis=0)
    results["params"] = params
    return results


PARAMS = [{"sampler": "over", "loss": "ce"}, {"sampler": "none", "loss": "ce"},
          {"sampler": "none", "loss": "focal"}]


def test_consistent_gain_over_the_baseline_is_kept():
    # candidate 0 beats the baseline (1) by 0.05 on every fold
    folds = [[0.75, 0.70, 0.60], [0.65, 0.60, 0.55], [0.85, 0.80, 0.70]]
    assert prefer_baseline()(_results(folds, PARAMS)) == 0


def test_noisy_gain_falls_back_to_the_baseline():
    # candidate 0 has the higher mean only thanks to one lucky fold
    folds = [[0.90, 0.70, 0.60], [0.58, 0.60, 0.55], [0.78, 0.80, 0.70]]
    results = _results(folds, PARAMS)
    assert int(np.argmax(results["mean_test_score"])) == 0
    assert prefer_baseline()(results) == 1
    assert prefer_baseline(n_std_errors=0.0)(results) == 0


def test_best_baseline_among_matches_and_prefix():
    params = [{"clf__sampler": "none", "clf__loss": "ce", "clf__lr": lr} for lr in (1e-3, 1e-2)]
    params.append({"clf__sampler": "sqrt", "clf__loss": "ce", "clf__lr": 1e-3})
    folds = [[0.50, 0.60, 0.61], [0.52, 0.62, 0.63], [0.48, 0.58, 0.60]]
    # candidate 2 beats the better baseline (1) by 0.01-0.02 with little spread
    assert prefer_baseline(prefix="clf__")(_results(folds, params)) == 2
    flat = [[0.50, 0.60, 0.62], [0.52, 0.62, 0.61], [0.48, 0.58, 0.585]]
    assert prefer_baseline(prefix="clf__")(_results(flat, params)) == 1


def test_missing_baseline_and_bad_threshold_raise():
    with pytest.raises(ValueError, match="no candidate"):
        prefer_baseline({"loss": "vs"})(_results([[0.5, 0.6, 0.7]], PARAMS))
    with pytest.raises(ValueError, match="n_std_errors"):
        prefer_baseline(n_std_errors=-1)


def test_refit_rule_inside_grid_search():
    X, y = make_classification(n_samples=240, n_features=6, weights=[0.85], random_state=0)
    search = GridSearchCV(clf_(train_split=None), {"sampler": ["none", "over"], "loss": ["ce"]},
                          scoring="f1_macro", cv=3, refit=prefer_baseline())
    search.fit(X, y)
    expected = prefer_baseline()(search.cv_results_)
    assert search.best_index_ == expected
    assert search.best_estimator_.sampler == search.cv_results_["params"][expected]["sampler"]


def test_a_search_with_the_refit_rule_pickles_and_decides_the_same():
    # issue 31: round 3's rule was a closure, so the fitted search could not be pickled
    X, y = make_classification(n_samples=240, n_features=6, weights=[0.85], random_state=0)
    search = GridSearchCV(clf_(train_split=None), {"sampler": ["none", "over"], "loss": ["ce"]},
                          scoring="f1_macro", cv=3, refit=prefer_baseline(n_std_errors=0.5))
    search.fit(X, y)
    restored = pickle.loads(pickle.dumps(search))
    assert restored.best_index_ == search.best_index_
    assert restored.refit(search.cv_results_) == search.refit(search.cv_results_)
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    assert "n_std_errors=0.5" in repr(restored.refit)


def test_multi_metric_search_decides_by_the_named_scorer():
    X, y = make_classification(n_samples=240, n_features=6, weights=[0.85], random_state=0)
    grid = {"sampler": ["none", "over"], "loss": ["ce"]}
    scoring = {"f1": "f1_macro", "acc": "accuracy"}
    search = GridSearchCV(clf_(train_split=None), grid, scoring=scoring, cv=3,
                          refit=prefer_baseline(metric="f1"))
    search.fit(X, y)
    assert search.best_index_ == prefer_baseline(metric="f1")(search.cv_results_)
    with pytest.raises(ValueError, match=r"no 'mean_test_score'; pass metric= one of \['acc', 'f1'\]"):
        prefer_baseline()(search.cv_results_)


def test_baseline_is_the_argmax_decision_not_the_prior_one():
    params = [{"sampler": "none", "loss": "ce"},
              {"sampler": "none", "loss": "ce", "decision": "prior"},
              {"sampler": "over", "loss": "ce"}]
    # "prior" wins on the mean thanks to one fold; against argmax the gain is noise.
    folds = [[0.60, 0.90, 0.60], [0.60, 0.58, 0.60], [0.60, 0.62, 0.60]]
    assert prefer_baseline()(_results(folds, params)) == 0
    assert prefer_baseline(n_std_errors=0.0)(_results(folds, params)) == 1
