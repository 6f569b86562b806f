"""Labels: ``skimb._inputs.labels`` (the labels a user names, their positions among the
classes), and the labels through the estimator: strings, integers and categories round trip,
``classes_`` is sorted, and ``classes=`` orders the encoding (as skorch's ``classes``)."""

import numpy as np
import pandas as pd
import pytest

from skimb._inputs.labels import as_label_list, label_positions
from tests.helpers import clf_, make_data


@pytest.mark.parametrize("labels, expected", [
    (None, []),
    ("Frost", ["Frost"]),
    (3, [3]),
    (["Frost", "Ice"], ["Frost", "Ice"]),
    (("Frost",), ["Frost"]),
    (np.array(["Frost", "Ice"]), ["Frost", "Ice"]),
    (frozenset({"Ice"}), ["Ice"]),
    ([], []),
])
def test_as_label_list(labels, expected):
    assert as_label_list(labels) == expected


def test_positions_are_list_index_or_minus_one():
    classes = ["dry", "ice", "wet", "frost"]
    labels = ["wet", "snow", "dry", "frost", "wet"]
    expected = [classes.index(c) if c in classes else -1 for c in labels]
    got = label_positions(labels, np.array(classes))
    assert got.dtype == np.int64
    assert got.tolist() == expected


def test_labels_match_as_dict_keys_do():
    """1, 1.0, True and np.int64(1) are one label; "a" and np.str_("a") another."""
    assert label_positions([1.0, np.int64(1), True, 2], [0, 1]).tolist() == [1, 1, 1, -1]
    assert label_positions(np.array(["a"]), ["b", "a"]).tolist() == [1]
    assert label_positions("a", np.array(["b", "a"], dtype=object)).tolist() == [1]


def test_no_labels_give_no_positions():
    assert label_positions(None, [0, 1]).tolist() == []
    assert label_positions([], [0, 1]).shape == (0,)


# -- the labels through the estimator ------------------------------------------------------


def test_string_labels_round_trip(data):
    X, y = data
    names = np.array(["Dry", "Wet", "Ice Warning"])
    labels = names[y]
    clf = clf_(max_epochs=5, lr=0.01).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(names))
    pred = clf.predict(X)
    assert pred.dtype.kind in "UO"
    assert set(pred) <= set(names)
    # columns of predict_proba follow classes_
    np.testing.assert_array_equal(pred, clf.classes_[clf.predict_proba(X).argmax(1)])
    assert (pred == labels).mean() > 0.6


def test_int_labels_round_trip(data):
    X, y = data
    labels = np.array([7, -3, 42])[y]
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, [-3, 7, 42])
    pred = clf.predict(X)
    assert pred.dtype.kind == "i"
    assert set(pred.tolist()) <= {-3, 7, 42}
    np.testing.assert_array_equal(np.bincount(np.searchsorted(clf.classes_, labels)),
                                  np.bincount(y)[[1, 0, 2]])


def test_categorical_labels(data):
    X, y = data
    labels = pd.Series(pd.Categorical(np.array(["c", "a", "b"])[y],
                                      categories=["c", "b", "a"]))
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    pred = clf.predict(X)
    assert set(pred) <= {"a", "b", "c"}
    assert isinstance(pred[0], str)


def test_classes_sorted_unique(data):
    X, y = data
    labels = np.array(["zeta", "alpha", "mu"])[y]
    clf = clf_().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["alpha", "mu", "zeta"])
    assert clf.predict_proba(X).shape == (len(X), 3)


# -- classes= ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ab_data():
    X, y = make_data(n=300)
    return X, np.where(y == 0, "a", "b")


def test_classes_param_sets_the_encoding_order(ab_data):
    X, y = ab_data
    default = clf_(max_epochs=10).fit(X, y)
    ordered = clf_(max_epochs=10, classes=["b", "a"]).fit(X, y)
    assert ordered.classes_.tolist() == ["b", "a"]
    # the encoding follows classes_: accuracy as with the default order, not its mirror
    assert (ordered.predict(X) == y).mean() > 0.6
    assert abs((ordered.predict(X) == y).mean() - (default.predict(X) == y).mean()) < 0.05
    proba_of_truth = ordered.predict_proba(X)[np.arange(len(y)), np.where(y == "b", 0, 1)]
    assert proba_of_truth.mean() > 0.5
    assert ordered.class_counts_.tolist() == default.class_counts_[::-1].tolist()


def test_classes_param_refuses_unknown_and_absent_labels(ab_data):
    X, y = ab_data
    with pytest.raises(ValueError, match="not in classes="):
        clf_(classes=["a"]).fit(X, y)
    with pytest.raises(ValueError, match=r"lists \['c'\], which y does not hold"):
        clf_(classes=["a", "b", "c"]).fit(X, y)


def test_partial_fit_classes_sets_the_order_and_is_checked_after(ab_data):
    X, y = ab_data
    clf = clf_().partial_fit(X, y, classes=["b", "a"])
    assert clf.classes_.tolist() == ["b", "a"]
    clf.partial_fit(X, y, classes=["b", "a"])
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y, classes=["a", "b"])


def test_empty_classes_opts_out_of_classes_as_in_skorch(data):
    X, y = data
    clf = clf_(classes=[]).fit(X, y).fit(X, y)
    with pytest.raises(AttributeError, match="has no attribute 'classes_'"):
        clf.classes_  # noqa: B018
    assert set(clf.predict(X)) <= {0, 1, 2}
