"""skimb._inputs.labels: the labels a user names, and their positions among the classes."""

import numpy as np
import pytest

from skimb._inputs.labels import as_label_list, label_positions


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

