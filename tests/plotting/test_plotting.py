"""Tests of skimb.plotting: what the figures show, not how they look."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tests.helpers import clf_, make_data
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.exceptions import NotFittedError
from sklearn.metrics import confusion_matrix

from skimb.plotting import (
    plot_class_distribution,
    plot_confusion_matrix,
    plot_history,
    plot_precision_recall,
)
from skimb.samplers import UnderSampler

NAMES = np.array(["Dry", "Wet", "Trace Moisture", "Ice Watch", "Frost"])
COUNTS = np.array([310, 90, 60, 30, 10])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rsc():
    """String labels with RWIS-like shares, shuffled."""
    y = np.repeat(NAMES, COUNTS)
    return np.random.default_rng(0).permutation(y)


def heights(container):
    return np.array([bar.get_height() for bar in container])


def data_shares(y):
    classes, counts = np.unique(y, return_counts=True)
    return classes, counts / counts.sum()


# -- plot_class_distribution ----------------------------------------------------------


def test_import_skimb_does_not_import_matplotlib():
    code = "import sys, skimb, skimb.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_distribution_none_epochs_equal_data_shares(rsc):
    ax = plot_class_distribution(rsc, "none", n_epochs=2)
    classes, shares = data_shares(rsc)
    assert [t.get_text() for t in ax.get_xticklabels()] == classes.tolist()
    assert len(ax.containers) == 3
    for container in ax.containers:
        np.testing.assert_allclose(heights(container), shares)
    labels = [c.get_label() for c in ax.containers]
    assert labels == ["data (n=500)", "epoch 1 (n=500)", "epoch 2 (n=500)"]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_legend() is not None


def test_distribution_under_is_balanced_and_sized(rsc):
    ax = plot_class_distribution(rsc, "under", n_epochs=3)
    n_classes = len(NAMES)
    for k, container in enumerate(ax.containers[1:], start=1):
        np.testing.assert_allclose(heights(container), 1.0 / n_classes)
        assert container.get_label() == f"epoch {k} (n={n_classes * COUNTS.min()})"


def test_distribution_over_is_roughly_uniform(rsc):
    ax = plot_class_distribution(rsc, "over", n_epochs=2, random_state=1)
    for container in ax.containers[1:]:
        h = heights(container)
        assert h.sum() == pytest.approx(1.0)
        assert np.all(np.abs(h - 0.2) < 0.07)
        assert container.get_label().endswith("(n=500)")


def test_distribution_sampler_params_and_prefix(rsc):
    # A cap of 20 per class under "none": big classes cut to 20, Frost keeps its 10.
    for params in ({"max_per_class": 20}, {"sampler__max_per_class": 20}):
        ax = plot_class_distribution(rsc, "none", n_epochs=1, **params)
        classes = np.array([t.get_text() for t in ax.get_xticklabels()])
        expected = np.where(classes == "Frost", 10, 20) / 90
        np.testing.assert_allclose(heights(ax.containers[1]), expected)
        assert ax.containers[1].get_label() == "epoch 1 (n=90)"
        plt.close(ax.figure)


def test_distribution_progressive_moves_to_balance(rsc):
    ax = plot_class_distribution(rsc, "progressive", n_epochs=3, random_state=0)
    first, last = heights(ax.containers[1]), heights(ax.containers[3])
    _, shares = data_shares(rsc)
    assert np.abs(first - shares).max() < 0.07
    assert np.abs(last - 0.2).max() < 0.07


def test_distribution_is_reproducible(rsc):
    a = plot_class_distribution(rsc, "over", n_epochs=2, random_state=3)
    b = plot_class_distribution(rsc, "over", n_epochs=2, random_state=3)
    for ca, cb in zip(a.containers, b.containers):
        np.testing.assert_array_equal(heights(ca), heights(cb))


def test_distribution_accepts_sampler_objects(rsc):
    ax = plot_class_distribution(rsc, UnderSampler(n_per_class=5), n_epochs=1)
    np.testing.assert_allclose(heights(ax.containers[1]), 0.2)
    assert ax.containers[1].get_label() == "epoch 1 (n=25)"


def test_distribution_imblearn_needs_x(rsc):
    X = np.random.default_rng(0).normal(size=(len(rsc), 3))
    ax = plot_class_distribution(rsc, RandomUnderSampler(), n_epochs=2, X=X)
    for container in ax.containers[1:]:
        np.testing.assert_allclose(heights(container), 0.2)
        assert container.get_label().endswith("(n=50)")
    ax = plot_class_distribution(rsc, SMOTE(k_neighbors=3), n_epochs=1, X=X)
    np.testing.assert_allclose(heights(ax.containers[1]), 0.2)
    assert ax.containers[1].get_label() == "epoch 1 (n=1,550)"
    with pytest.raises(ValueError, match="X="):
        plot_class_distribution(rsc, RandomOverSampler())
    with pytest.raises(ValueError, match="rows"):
        plot_class_distribution(rsc, RandomOverSampler(), X=X[:10])


def test_distribution_draws_on_given_axes(rsc):
    _fig, (left, right) = plt.subplots(1, 2)
    assert plot_class_distribution(rsc, ax=right) is right
    assert not left.containers and len(right.containers) == 4


def test_distribution_long_labels_rotate(rsc):
    ax = plot_class_distribution(rsc, n_epochs=1)
    assert all(t.get_rotation() > 0 for t in ax.get_xticklabels())
    ax = plot_class_distribution(["a", "b", "b"], n_epochs=1)
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": []}, "empty"),
        ({"y": ["a", "b"], "sampler": "nope"}, "Unknown sampler 'nope'.*under"),
        ({"y": ["a", "b"], "n_epochs": 0}, "n_epochs"),
        ({"y": ["a", "b"], "batch_size": -1}, "batch_size"),
        ({"y": ["a", "b"], "sampler": 42}, "sampler must be"),
    ],
)
def test_distribution_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_class_distribution(**kwargs)


# -- plot_confusion_matrix --------------------------------------------------------------


@pytest.fixture
def predictions(rsc):
    rng = np.random.default_rng(1)
    noisy = rng.choice(NAMES, size=len(rsc))
    return rsc, np.where(rng.random(len(rsc)) < 0.7, rsc, noisy)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_cells_match_sklearn(predictions, normalize):
    y_true, y_pred = predictions
    ax = plot_confusion_matrix(y_true, y_pred, normalize=normalize)
    expected = confusion_matrix(y_true, y_pred, normalize=normalize)
    np.testing.assert_allclose(ax.images[0].get_array(), expected)
    classes = sorted(NAMES.tolist())
    assert [t.get_text() for t in ax.get_xticklabels()] == classes
    assert [t.get_text() for t in ax.get_yticklabels()] == classes
    cell = ax.texts[0].get_text()
    assert cell == (str(expected[0, 0]) if normalize is None else f"{expected[0, 0]:.2f}")


def test_confusion_matrix_labels_order_and_subset(predictions):
    y_true, y_pred = predictions
    labels = ["Frost", "Dry", "Wet"]
    ax = plot_confusion_matrix(y_true, y_pred, labels=labels)
    np.testing.assert_array_equal(ax.images[0].get_array(),
                                  confusion_matrix(y_true, y_pred, labels=labels))
    assert [t.get_text() for t in ax.get_yticklabels()] == labels


def test_confusion_matrix_int_labels_and_given_axes():
    _fig, ax = plt.subplots()
    out = plot_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], ax=ax)
    assert out is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((["a"], ["a"]), {"normalize": "rows"}, "normalize must be"),
        (([], []), {}, "empty"),
        ((["a", "b"], ["a"]), {}, "must match"),
    ],
)
def test_confusion_matrix_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_confusion_matrix(*args, **kwargs)


# -- plot_history -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    X, y = make_data(n=200)
    labels = np.array(["Dry", "Wet", "Frost"])[y]
    return clf_(max_epochs=3).fit(X, labels)


def test_history_with_validation(fitted):
    ax = plot_history(fitted)
    n_epochs = len(fitted.history)
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"train loss", "valid loss"}
    for key, label in (("train_loss", "train loss"), ("valid_loss", "valid loss")):
        assert len(lines[label].get_xdata()) == n_epochs
        np.testing.assert_allclose(lines[label].get_ydata(), fitted.history[:, key])
    (f1,) = ax.right_ax.lines
    assert len(f1.get_xdata()) == n_epochs
    np.testing.assert_allclose(f1.get_ydata(), fitted.history[:, "valid_f1_macro"])
    assert ax.get_legend() is not None
    assert plot_history(fitted.history).lines[0].get_label() == "train loss"


def test_history_without_validation_split():
    X, y = make_data(n=120)
    clf = clf_(max_epochs=2, train_split=None).fit(X, y)
    ax = plot_history(clf)
    assert [line.get_label() for line in ax.lines] == ["train loss"]
    assert len(ax.lines[0].get_xdata()) == 2
    assert not hasattr(ax, "right_ax")
    assert len(ax.figure.axes) == 1


def test_history_unfitted_raises():
    with pytest.raises(ValueError, match="fit"):
        plot_history(clf_())
    with pytest.raises(NotFittedError):
        plot_history(clf_())


# -- plot_precision_recall ------------------------------------------------------------


def _proba_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    logits = rng.normal(size=(300, 3)) + 1.5 * np.eye(3)[y] + [1.0, 0.0, -1.0]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.array(["Dry", "Wet", "Frost"])[y], proba, np.array(["Dry", "Wet", "Frost"])


def test_precision_recall_curves_and_operating_points_match_sklearn():
    from sklearn.metrics import precision_score, recall_score

    from skimb.decisions import decide

    y, proba, classes = _proba_problem()
    offsets = np.array([0.0, 0.3, 1.0])
    ax = plot_precision_recall(y, proba, classes=classes, offsets=offsets)
    assert [line.get_label() for line in ax.lines] == ["Dry", "Wet", "Frost"]
    decided = classes[decide(proba, offsets)]
    points = [coll.get_offsets()[0] for coll in ax.collections]
    assert len(points) == 6  # argmax and offsets, per class
    frost = points[5]
    assert frost[0] == pytest.approx(recall_score(y, decided, labels=["Frost"], average=None)[0])
    assert frost[1] == pytest.approx(precision_score(y, decided, labels=["Frost"],
                                                     average=None)[0])
    argmax_dry = points[0]
    assert argmax_dry[0] == pytest.approx(
        recall_score(y, classes[proba.argmax(1)], labels=["Dry"], average=None)[0])


def test_precision_recall_default_classes_and_given_axes():
    y, proba, _ = _proba_problem()
    fig, ax = plt.subplots()
    assert plot_precision_recall(y, proba[:, [0, 2, 1]], ax=ax) is ax
    assert [line.get_label() for line in ax.lines] == ["Dry", "Frost", "Wet"]
    assert len(ax.collections) == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"proba": np.ones((5, 3))}, "rows"),
    ({"classes": ["a", "b"]}, "columns"),
    ({"offsets": [0.0, 1.0]}, "offsets"),
    ({"classes": ["Dry", "Wet", "Ice"]}, "not in classes"),
])
def test_precision_recall_errors(kwargs, match):
    y, proba, classes = _proba_problem()
    args = {"y_true": y, "proba": proba, "classes": classes, **kwargs}
    with pytest.raises(ValueError, match=match):
        plot_precision_recall(**args)
