"""PerClassF1Display and StrategyComparisonDisplay: what they show, from each of their forms."""

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV

from skimb.plotting import PerClassF1Display, StrategyComparisonDisplay


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(0)
    y = np.repeat(["Dry", "Wet", "Frost"], [60, 30, 10])
    X = rng.normal(size=(100, 2)) + np.where(y == "Dry", 0.0, np.where(y == "Wet", 2.0, 4.0))[:, None]
    return X, y


def test_per_class_f1_from_predictions_draws_sklearn_f1(three_classes):
    _, y = three_classes
    rng = np.random.default_rng(1)
    preds = {"a": rng.permutation(y), "b": y.copy()}
    display = PerClassF1Display.from_predictions(y, preds)
    expected = f1_score(y, preds["a"], labels=["Dry", "Frost", "Wet"], average=None)
    assert np.allclose(display.f1["a"], expected)
    assert (display.f1["b"] == 1.0).all()
    assert display.support.tolist() == [60, 10, 30]
    widths = [bar.get_width() for bar in display.ax_.containers[0]]
    assert np.allclose(widths, expected)
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == [
        "Dry (60)", "Frost (10)", "Wet (30)"]
    assert display.ax_.get_legend() is not None


def test_per_class_f1_from_estimator_predicts_X(three_classes):
    X, y = three_classes
    model = LogisticRegression().fit(X, y)
    display = PerClassF1Display.from_estimator(model, X, y, labels=["Frost", "Wet", "Dry"])
    assert list(display.f1.columns) == ["LogisticRegression"]
    assert np.allclose(display.f1.iloc[:, 0],
                       f1_score(y, model.predict(X), labels=["Frost", "Wet", "Dry"], average=None))
    assert display.f1.index.tolist() == ["Frost", "Wet", "Dry"]


def test_per_class_f1_refuses_mismatched_predictions(three_classes):
    _, y = three_classes
    with pytest.raises(ValueError, match=r"y_pred\['short'\] has 3 labels but y_true has 100"):
        PerClassF1Display.from_predictions(y, {"short": y[:3]})
    with pytest.raises(ValueError, match="empty mapping"):
        PerClassF1Display.from_predictions(y, {})


def test_strategy_comparison_from_a_fitted_search(three_classes):
    X, y = three_classes
    search = GridSearchCV(LogisticRegression(), {"C": [0.001, 1.0, 100.0]}, cv=3,
                          scoring="f1_macro").fit(X, y)
    display = StrategyComparisonDisplay.from_estimator(search)
    results = pd.DataFrame(search.cv_results_).sort_values("mean_test_score", ascending=False,
                                                           kind="stable")
    assert np.allclose(display.scores["mean"], results["mean_test_score"])
    assert display.scores.index.tolist() == [f"C={c}" for c in results["param_C"]]
    assert [c for c in display.scores if c.startswith("split")] == ["split0", "split1", "split2"]
    assert np.allclose([bar.get_width() for bar in display.ax_.patches],
                       results["mean_test_score"])
    assert display.ax_.get_xlabel() == "f1_macro"


def test_strategy_comparison_marks_the_test_scores_by_name():
    cv_results = {"params": [{"s": 1}, {"s": 2}], "mean_test_score": [0.5, 0.7],
                  "std_test_score": [0.1, 0.0]}
    display = StrategyComparisonDisplay.from_cv_results(cv_results, names=["one", "two"],
                                                        test=[0.4, 0.8])
    assert display.scores.loc["two", "test"] == 0.8 and display.scores.index[0] == "two"
    with pytest.raises(ValueError, match="names has 1 entries for 2 settings"):
        StrategyComparisonDisplay.from_cv_results(cv_results, names=["one"])
    with pytest.raises(NotFittedError):
        StrategyComparisonDisplay.from_estimator(GridSearchCV(LogisticRegression(), {"C": [1]}))
