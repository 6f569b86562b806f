"""The table front: fitted on the training rows (column front, scaler, bins), its state
travelling with it, its parameters checked where they are declared."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from skimb.networks import ColumnLayout, SmoothClipScaler, TableFront
from skimb.networks.front import fit_table_columns, tree_bins


def _rows(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n) * 5,
              np.full(n, 2.0)].astype(np.float32)
    return X, (X[:, 0] + 0.1 * X[:, 2] > 0).astype(np.int64)


def test_the_scaler_and_bins_are_fitted_on_the_rows_given():
    X, y = _rows()
    front = TableFront(4, num_embeddings="ple", n_bins=8, embed="many_valued").fit(X, y)
    expected = SmoothClipScaler(4).fit(X)
    torch.testing.assert_close(front.scaler.center, expected.center)
    torch.testing.assert_close(front.scaler.inverse_scale, expected.inverse_scale)
    # the flag (two values) and the constant column are fed as they are, not embedded
    assert front.embedded_columns == [0, 2]
    scaled = expected(torch.from_numpy(X)).numpy()[:, [0, 2]]
    for edges, reference in zip(front.bins, tree_bins(scaled, y, 8)):
        assert torch.equal(edges, reference)
    assert TableFront(4, num_embeddings="ple").fit(X, y).embedded_columns == [0, 1, 2, 3]


def test_a_raw_tables_numbers_pass_the_column_front_first():
    layout = ColumnLayout((0,), (1,), (3,), ("x", "c"))
    X = np.array([[1.0, 0], [np.nan, 1], [3.0, 2], [5.0, np.nan]], dtype=np.float32)
    front = TableFront(2, layout, min_level_count=1).fit(X)
    # x and its missing indicator: the scaler is as wide as the column front's output
    assert front.n_numbers == 2 and front.scaler.center.shape == (2,)
    assert front.columns.n_levels == [4] and front.discrete_columns == (1,)
    assert front.categorical_encoding().width == 4


def test_without_numeric_columns_there_is_no_scaler_and_no_embeddings():
    layout = ColumnLayout((), (0,), (2,), ("c",))
    front = TableFront(1, layout, num_embeddings="ple").fit(np.array([[0.0], [1.0]]), [0, 1])
    assert front.scaler is None and front.numeric_embeddings() is None


def test_unfitted_it_is_the_identity_with_even_bins():
    front = TableFront(3, num_embeddings="ple", n_bins=6)
    assert not front.fitted and front.needs_rows
    embeddings = front.numeric_embeddings()
    assert embeddings(torch.zeros(2, 3)).shape == (2, 3, 16)
    assert not TableFront(3, scaling=None, num_embeddings="periodic").needs_rows


def test_its_fitted_state_travels_in_its_state_dict_and_pickles():
    X, y = _rows()
    front = TableFront(4, num_embeddings="ple", n_bins=8, embed="many_valued").fit(X, y)
    buffer = io.BytesIO()
    torch.save(front.state_dict(), buffer)
    buffer.seek(0)
    restored = TableFront(4, num_embeddings="ple", n_bins=8, embed="many_valued")
    restored.load_state_dict(torch.load(buffer))
    for other in (restored, pickle.loads(pickle.dumps(front))):
        assert other.fitted and other.embedded_columns == front.embedded_columns
        assert all(torch.equal(a, b) for a, b in zip(other.bins, front.bins))
        torch.manual_seed(0)
        a = other.numeric_embeddings()(torch.ones(2, 2))
        torch.manual_seed(0)
        assert torch.equal(a, front.numeric_embeddings()(torch.ones(2, 2)))


@pytest.mark.parametrize("params, message", [
    ({"scaling": "standard"}, "module__scaling must be one of"),
    ({"num_embeddings": "fourier"}, "module__num_embeddings must be one of"),
    ({"d_embedding": 0}, "module__d_embedding must be a positive integer"),
    ({"num_embeddings": "ple", "n_bins": 1}, "module__n_bins must be an integer >= 2"),
    ({"max_one_hot": -1}, "module__max_one_hot must be an integer >= 0"),
    ({"d_cat_embedding": 0}, "module__d_cat_embedding must be an integer >= 1"),
    ({"min_level_count": 0}, "module__min_level_count must be an integer >= 1"),
    ({"missing_fill": "mean"}, "module__missing_fill must be 'median' or 'learned'"),
    ({"datetime_trend": "yes"}, "module__datetime_trend must be True or False"),
    ({"embed": "some"}, "embed must be one of"),
])
def test_a_bad_parameter_is_named_whatever_the_table(params, message):
    # checked when the front is made, even for a numeric table that would not use it
    with pytest.raises(ValueError, match=message):
        TableFront(3, **params)


def test_fit_table_columns_reads_categorical_features_from_the_module_parameters():
    X = pd.DataFrame({"station": [3, 1, 3, 2], "temp": [1.5, 0.0, 2.0, 1.0],
                      "road": ["dry", "wet", "dry", "dry"]})
    assert fit_table_columns(X, {}).kinds_ == ["numeric", "numeric", "categorical"]
    listed = fit_table_columns(X, {"categorical_features": ["station", "road"],
                                   "hidden_units": (8,)})
    assert listed.kinds_ == ["categorical", "numeric", "categorical"]
    with pytest.raises(ValueError, match="holds text"):
        fit_table_columns(X, {"categorical_features": None})
