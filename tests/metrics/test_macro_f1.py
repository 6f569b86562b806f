"""Tests of macro-F1 with exclusions, its scorer and the epoch callback (skimb.metrics)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from skorch.history import History

from skimb.losses import CrossEntropy
from skimb.metrics import MacroF1Scoring, macro_f1, macro_f1_scorer


def ref_per_class_f1(y_true, y_pred, label):
    """F1 of one class from its own TP/FP/FN counts (0 when undefined)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = np.sum((y_true == label) & (y_pred == label))
    fp = np.sum((y_true != label) & (y_pred == label))
    fn = np.sum((y_true == label) & (y_pred != label))
    denom = 2 * tp + fp + fn
    return 0.0 if denom == 0 else 2 * tp / denom


def ref_macro_f1(y_true, y_pred, exclude=()):
    labels = [c for c in np.union1d(y_true, y_pred) if c not in set(exclude)]
    return float(np.mean([ref_per_class_f1(y_true, y_pred, c) for c in labels]))


def _noisy_predictions(n_classes, n=400, seed=0, p=(0.6, 0.25, 0.1, 0.05)):
    rng = np.random.default_rng(seed)
    p = np.asarray(p[:n_classes], dtype=float)
    y_true = rng.choice(n_classes, size=n, p=p / p.sum())
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, n_classes, n))
    return y_true, y_pred


# ---------------------------------------------------------------------------
# macro_f1
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_f1_equals_sklearn_without_exclude(n_classes, seed):
    y_true, y_pred = _noisy_predictions(n_classes, seed=seed)
    expected = f1_score(y_true, y_pred, average="macro")
    assert macro_f1(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    assert macro_f1(y_true, y_pred) == pytest.approx(ref_macro_f1(y_true, y_pred), rel=1e-12)
    assert isinstance(macro_f1(y_true, y_pred), float)


def test_macro_f1_class_only_predicted_counts_as_zero():
    # class 2 is predicted but never true: sklearn averages it in as 0
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 2, 1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = f1_score(y_true, y_pred, average="macro")
    assert macro_f1(y_true, y_pred) == pytest.approx(expected)
    assert macro_f1(y_true, y_pred) == pytest.approx((0.5 + 0.8 + 0) / 3)


def test_macro_f1_perfect_and_worst():
    y = np.array([0, 1, 2, 2, 1])
    assert macro_f1(y, y) == 1.0
    assert macro_f1(y, (y + 1) % 3) == 0.0


@pytest.mark.parametrize(
    "exclude", [[3], [0], [1, 3], 2, np.int64(3), (0, 2), np.array([1, 2])],
    ids=["[3]", "[0]", "[1,3]", "2", "np-scalar", "tuple", "ndarray"],
)
def test_macro_f1_exclude_matches_remaining_class_mean(exclude):
    y_true, y_pred = _noisy_predictions(4, seed=5)
    excluded = set(np.atleast_1d(exclude).tolist())
    expected = np.mean(
        [ref_per_class_f1(y_true, y_pred, c) for c in range(4) if c not in excluded]
    )
    got = macro_f1(y_true, y_pred, exclude=exclude)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got != pytest.approx(macro_f1(y_true, y_pred))


def test_macro_f1_excluded_rows_still_count_as_errors():
    # predicting class 1 for a "Frost" row is a false positive of class 1 even
    # when Frost is excluded from the average
    y_true = ["Dry", "Wet", "Frost", "Frost"]
    y_pred = ["Dry", "Wet", "Wet", "Wet"]
    assert macro_f1(y_true, y_pred, exclude="Frost") == pytest.approx((1.0 + 0.5) / 2)
    # equals sklearn with the remaining labels listed explicitly
    assert macro_f1(y_true, y_pred, exclude="Frost") == pytest.approx(
        f1_score(y_true, y_pred, labels=["Dry", "Wet"], average="macro")
    )


def test_macro_f1_string_labels():
    rng = np.random.default_rng(3)
    names = np.array(["Dry", "Wet", "Ice Warning", "Frost", "Chemical Wet"])
    codes_true, codes_pred = _noisy_predictions(4, seed=3)
    codes_pred = np.where(rng.random(len(codes_pred)) < 0.05, 4, codes_pred)
    y_true, y_pred = names[codes_true], names[codes_pred]
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    # same value as the encoded labels: the score does not depend on label type
    assert macro_f1(y_true, y_pred) == pytest.approx(macro_f1(codes_true, codes_pred))
    for exclude in ("Chemical Wet", ["Frost", "Chemical Wet"]):
        expected = ref_macro_f1(y_true, y_pred, np.atleast_1d(exclude))
        assert macro_f1(y_true, y_pred, exclude=exclude) == pytest.approx(expected)
    # lists and pandas input
    assert macro_f1(list(y_true), pd.Series(y_pred), exclude="Frost") == pytest.approx(
        ref_macro_f1(y_true, y_pred, ["Frost"])
    )
    cat = pd.Series(pd.Categorical(y_true))
    assert macro_f1(cat, y_pred) == pytest.approx(macro_f1(y_true, y_pred))


def test_macro_f1_docstring_example():
    y_true = ["Dry", "Dry", "Wet", "Frost"]
    y_pred = ["Dry", "Dry", "Wet", "Dry"]
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 1.0 + 0.0) / 3)
    assert macro_f1(y_true, y_pred, exclude="Frost") == pytest.approx(0.9)


@pytest.mark.parametrize("exclude", ["Snow", ["Snow"], ["Frost", "frost"], [17]])
def test_macro_f1_exclude_naming_no_class_raises_naming_it(exclude):
    y_true = ["Dry", "Wet", "Dry", "Frost"]
    y_pred = ["Dry", "Dry", "Dry", "Frost"]
    unknown = [c for c in np.atleast_1d(exclude).tolist() if c not in {"Dry", "Wet", "Frost"}]
    with pytest.raises(ValueError, match=rf"exclude names \[{unknown[0]!r}\].*'Dry', 'Frost', "
                                         r"'Wet'"):
        macro_f1(y_true, y_pred, exclude=exclude)


def test_macro_f1_exclude_may_name_a_class_of_labels_absent_from_the_rows():
    y_true = ["Dry", "Wet", "Dry", "Frost"]
    y_pred = ["Dry", "Dry", "Dry", "Frost"]
    classes = ["Dry", "Frost", "Snow", "Wet"]
    assert macro_f1(y_true, y_pred, exclude="Snow", labels=classes) == macro_f1(y_true, y_pred)
    assert (macro_f1(y_true, y_pred, exclude=["Frost", "Snow"], labels=classes)
            == macro_f1(y_true, y_pred, exclude="Frost"))
    with pytest.raises(ValueError, match="'Hail'"):
        macro_f1(y_true, y_pred, exclude="Hail", labels=classes)


def test_macro_f1_multilabel_exclude_is_checked_against_the_label_names():
    true, pred = [[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [1, 1]]
    with pytest.raises(ValueError, match=r"\[2\].*\[0, 1\]"):
        macro_f1(true, pred, exclude=2)
    assert macro_f1(true, pred, exclude="snow", labels=["ice", "snow"]) == 1.0
    with pytest.raises(ValueError, match="'hail'"):
        macro_f1(pd.DataFrame(true, columns=["ice", "snow"]), np.array(pred), exclude="hail")


@pytest.mark.parametrize("exclude", [["Dry", "Wet"], ["Wet", "Dry", "Snow"]])
def test_macro_f1_excluding_everything_raises(exclude):
    with pytest.raises(ValueError, match="exclude"):
        macro_f1(["Dry", "Wet"], ["Dry", "Dry"], exclude=exclude)


def test_macro_f1_excluding_all_true_labels_but_not_predicted():
    # the predicted-only class remains: its F1 is 0
    assert macro_f1(["Dry", "Dry"], ["Wet", "Dry"], exclude="Dry") == 0.0


@pytest.mark.parametrize(
    "y_true, y_pred",
    [([0, 1, 1], [0, 1]), ([0, 1], [[0], [1]]), (np.zeros((2, 3)), np.zeros((3, 2)))],
)
def test_macro_f1_shape_mismatch_raises(y_true, y_pred):
    with pytest.raises(ValueError, match="shape"):
        macro_f1(y_true, y_pred)


# ---------------------------------------------------------------------------
# macro_f1_scorer
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imbalanced_table():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, weights=[0.7, 0.2, 0.1], class_sep=0.8, random_state=0,
    )
    return X, y


def _manual_cv(X, y, C, exclude, cv):
    scores = []
    for train, test in cv.split(X, y):
        model = LogisticRegression(C=C, max_iter=500).fit(X[train], y[train])
        scores.append(ref_macro_f1(y[test], model.predict(X[test]), exclude))
    return np.mean(scores)


@pytest.mark.parametrize("exclude", [None, [2], 0])
def test_scorer_in_grid_search(imbalanced_table, exclude):
    X, y = imbalanced_table
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    grid = GridSearchCV(
        LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, scoring=macro_f1_scorer(exclude),
        cv=cv,
    ).fit(X, y)
    excl = () if exclude is None else np.atleast_1d(exclude)
    for C, score in zip([0.01, 1.0], grid.cv_results_["mean_test_score"]):
        assert score == pytest.approx(_manual_cv(X, y, C, excl, cv), rel=1e-10)


def test_scorer_without_exclude_equals_f1_macro(imbalanced_table):
    X, y = imbalanced_table
    model = LogisticRegression(max_iter=500)
    ours = cross_val_score(model, X, y, scoring=macro_f1_scorer(), cv=3)
    sk = cross_val_score(model, X, y, scoring="f1_macro", cv=3)
    np.testing.assert_allclose(ours, sk, rtol=1e-12)


def test_scorer_direct_call_and_exclude_changes_score(imbalanced_table):
    X, y = imbalanced_table
    model = LogisticRegression(max_iter=500).fit(X, y)
    pred = model.predict(X)
    assert macro_f1_scorer()(model, X, y) == pytest.approx(ref_macro_f1(y, pred))
    excluded = macro_f1_scorer(exclude=[2])(model, X, y)
    assert excluded == pytest.approx(ref_macro_f1(y, pred, [2]))
    assert excluded != pytest.approx(macro_f1_scorer()(model, X, y))


def test_scorer_checks_exclude_against_the_estimators_classes(imbalanced_table):
    X, codes = imbalanced_table
    y = np.array(["Dry", "Wet", "Frost"])[codes]
    model = LogisticRegression(max_iter=500).fit(X, y)
    dry_only = np.flatnonzero(y == "Dry")
    # Frost is a class of the model though these rows hold none and none is predicted Frost
    rows = dry_only[model.predict(X[dry_only]) == "Dry"]
    assert macro_f1_scorer(exclude="Frost")(model, X[rows], y[rows]) == 1.0
    with pytest.raises(ValueError, match=r"\['frost'\].*'Dry', 'Frost', 'Wet'"):
        macro_f1_scorer(exclude="frost")(model, X, y)
    with pytest.raises(ValueError, match="'Snow'"):
        GridSearchCV(LogisticRegression(max_iter=500), {"C": [1.0]}, cv=2, error_score="raise",
                     scoring=macro_f1_scorer(exclude="Snow")).fit(X, y)


def test_scorer_with_string_labels_in_grid_search(imbalanced_table):
    X, codes = imbalanced_table
    names = np.array(["Dry", "Wet", "Frost"])
    y = names[codes]
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    grid = GridSearchCV(
        LogisticRegression(max_iter=500), {"C": [0.1]}, cv=cv,
        scoring=macro_f1_scorer(exclude="Frost"),
    ).fit(X, y)
    expected = _manual_cv(X, y, 0.1, ["Frost"], cv)
    assert grid.cv_results_["mean_test_score"][0] == pytest.approx(expected, rel=1e-10)


# ---------------------------------------------------------------------------
# MacroF1Scoring callback
# ---------------------------------------------------------------------------


def _fake_net(classes):
    return SimpleNamespace(history=History(), classes_=np.asarray(classes),
                           classes_inferred_=np.asarray(classes),
                           criterion_=CrossEntropy(), loss_=CrossEntropy(), multilabel_=False,
                           _decisions=lambda output: output.argmax(dim=1))


def _logits_for(pred, n_classes):
    return torch.nn.functional.one_hot(torch.as_tensor(pred), n_classes).float() * 5.0


def _run_epoch(cb, net, batches, training_batches=()):
    net.history.new_epoch()
    cb.on_epoch_begin(net)
    for true, pred in training_batches:
        cb.on_batch_end(net, batch=(None, torch.as_tensor(true)), training=True,
                        y_pred=_logits_for(pred, len(net.classes_)))
    for true, pred in batches:
        cb.on_batch_end(net, batch=(None, torch.as_tensor(true)), training=False,
                        y_pred=_logits_for(pred, len(net.classes_)))
    cb.on_epoch_end(net)


def test_callback_scores_whole_epoch_not_batch_average():
    classes = ["Dry", "Frost", "Wet"]
    net = _fake_net(classes)
    cb = MacroF1Scoring().initialize()
    cb.on_train_begin(net)
    batches = [([0, 0, 1, 2], [0, 1, 1, 2]), ([0, 2, 2], [0, 2, 0]), ([1, 0], [0, 0])]
    # training batches must be ignored
    _run_epoch(cb, net, batches, training_batches=[([1, 1], [0, 0])])
    true = np.concatenate([b[0] for b in batches])
    pred = np.concatenate([b[1] for b in batches])
    names = np.asarray(classes)
    expected = ref_macro_f1(names[true], names[pred])
    batch_mean = np.mean([ref_macro_f1(names[t], names[p]) for t, p in batches])
    assert abs(expected - batch_mean) > 0.05  # the two readings differ here
    assert net.history[-1, "valid_f1_macro"] == pytest.approx(expected)
    assert net.history[-1, "valid_f1_macro_best"] is True


def test_callback_best_flag_and_exclude_by_original_label():
    classes = ["Dry", "Frost", "Wet"]
    net = _fake_net(classes)
    cb = MacroF1Scoring(name="f1x", exclude="Frost").initialize()
    cb.on_train_begin(net)
    good = [([0, 1, 2, 2], [0, 1, 2, 2])]
    bad = [([0, 1, 2, 2], [0, 0, 2, 0])]
    _run_epoch(cb, net, good)
    _run_epoch(cb, net, bad)
    _run_epoch(cb, net, good)
    scores = net.history[:, "f1x"]
    names = np.asarray(classes)
    expected_bad = ref_macro_f1(names[[0, 1, 2, 2]], names[[0, 0, 2, 0]], ["Frost"])
    assert scores == pytest.approx([1.0, expected_bad, 1.0])
    # the best flag is strict improvement
    assert net.history[:, "f1x_best"] == [True, False, False]


def test_callback_without_validation_batches_records_nothing():
    net = _fake_net(["a", "b"])
    cb = MacroF1Scoring().initialize()
    cb.on_train_begin(net)
    _run_epoch(cb, net, [], training_batches=[([0, 1], [0, 1])])
    assert "valid_f1_macro" not in net.history[-1]


def test_callback_resumes_best_score_from_history():
    net = _fake_net(["a", "b"])
    net.history.new_epoch()
    net.history.record("valid_f1_macro", 0.9)
    cb = MacroF1Scoring().initialize()
    cb.on_train_begin(net)  # e.g. partial_fit / warm start
    _run_epoch(cb, net, [([0, 1, 1], [0, 1, 0])])
    assert net.history[-1, "valid_f1_macro"] < 0.9
    assert net.history[-1, "valid_f1_macro_best"] is False


def test_callback_excludes_multilabel_labels_by_name():
    """Labels named in exclude (others ignored) leave the mean over the remaining labels."""
    names = ["ice", "snow", "wet"]
    net = _fake_net(names)
    net.multilabel_ = True
    net._decisions = lambda output: (output > 0).long()
    cb = MacroF1Scoring(exclude=["snow", "hail"]).initialize()
    cb.on_train_begin(net)
    true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    pred = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [1, 0, 1]])
    net.history.new_epoch()
    cb.on_epoch_begin(net)
    cb.on_batch_end(net, batch=(None, torch.as_tensor(true)), training=False,
                    y_pred=torch.as_tensor(pred * 2.0 - 1.0))
    cb.on_epoch_end(net)
    ice = 2 * 2 / (2 * 2 + 1 + 0)  # tp 2, fp 1, fn 0
    wet = 2 * 1 / (2 * 1 + 0 + 1)  # tp 1, fp 0, fn 1
    assert net.history[-1, "valid_f1_macro"] == pytest.approx((ice + wet) / 2)
