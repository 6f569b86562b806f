"""Sparse X: kept sparse, densified per batch, the same predictions as dense."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from imblearn.under_sampling import RandomUnderSampler

from skimb._data import SparseRows

from tests.helpers import clf_, make_data


def sparse_data(n=240, n_features=30, seed=0):
    """A one-hot-wide table: a few informative columns, many mostly-zero ones."""
    rng = np.random.default_rng(seed)
    X, y = make_data(n=n, seed=seed)
    wide = rng.random((n, n_features - X.shape[1])) < 0.05
    dense = np.hstack([np.where(rng.random(X.shape) < 0.5, X, 0.0), wide]).astype(np.float64)
    dense[3] = 0.0  # a row without any stored value
    return dense, y


@pytest.mark.parametrize("layout", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("params", [
    {},
    {"sampler": "over", "loss": "weighted_ce", "batch_size": 32},
    {"sampler": RandomUnderSampler(), "train_split": None},
])
def test_sparse_predictions_equal_dense(layout, params):
    X, y = sparse_data()
    dense = clf_(**params).fit(X, y)
    sparse = clf_(**params).fit(layout(X), y)
    assert np.array_equal(sparse.predict_proba(layout(X)), dense.predict_proba(X))
    assert np.array_equal(sparse.predict_proba(X), dense.predict_proba(X))
    assert np.array_equal(sparse.predict(layout(X)), dense.predict(X))
    assert np.array_equal(sparse.class_counts_, dense.class_counts_)


def test_sparse_input_is_not_modified_and_not_shared():
    X, y = sparse_data()
    coo = sp.coo_matrix(X)
    # duplicate entries and unsorted indices: the fit sums and sorts its own copy
    rows = np.concatenate([coo.row, coo.row[:5]])[::-1]
    cols = np.concatenate([coo.col, coo.col[:5]])[::-1]
    vals = np.concatenate([coo.data, np.zeros(5)])[::-1]
    messy = sp.csr_matrix((vals, (rows, cols)), shape=X.shape)
    before = (messy.data.copy(), messy.indices.copy(), messy.indptr.copy())
    clf = clf_().fit(messy, y)
    after = (messy.data, messy.indices, messy.indptr)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    proba = clf.predict_proba(X)
    messy.data[:] = 1e3  # a later edit of the user's matrix does not reach the model
    assert np.array_equal(clf.predict_proba(X), proba)


def test_sparse_non_finite_value_names_column_and_row():
    X, y = sparse_data()
    X[7, 12] = np.nan
    with pytest.raises(ValueError, match=r"column 12, first at row 7"):
        clf_().fit(sp.csr_matrix(X), y)
    fitted = clf_().fit(sp.csr_matrix(np.nan_to_num(X)), y)
    with pytest.raises(ValueError, match=r"column 12, first at row 7"):
        fitted.predict(sp.csc_matrix(X))
    with pytest.raises(ValueError, match="30 features"):
        fitted.predict(sp.csr_matrix(X[:, :-1]))


def test_sparse_rows_gather_and_select():
    X, _ = sparse_data(n=50, n_features=9)
    X[10:13] = 0.0
    rows = SparseRows.from_scipy(sp.csr_matrix(X))
    order = torch.tensor([12, 0, 49, 11, 0, 10, 7])
    assert torch.equal(rows[order], torch.from_numpy(X[order.numpy()].astype(np.float32)))
    assert torch.equal(rows[5:20], torch.from_numpy(X[5:20].astype(np.float32)))
    assert torch.equal(rows[4], torch.from_numpy(X[4].astype(np.float32)))
    subset = rows.select(order)
    assert np.array_equal(subset.to_scipy().toarray(), X[order.numpy()].astype(np.float32))
    empty = SparseRows.from_scipy(sp.csr_matrix((4, 3)))
    assert torch.equal(empty[torch.tensor([3, 1])], torch.zeros(2, 3))
    assert rows.nbytes == 8 * 51 + 12 * np.count_nonzero(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sparse_rows_gather_on_cuda():
    X, _ = sparse_data(n=50, n_features=9)
    rows = SparseRows.from_scipy(sp.csr_matrix(X)).to("cuda")
    order = torch.tensor([12, 0, 49, 11], device="cuda")
    assert torch.equal(rows[order].cpu(), torch.from_numpy(X[[12, 0, 49, 11]].astype(np.float32)))


def test_select_takes_the_exact_entries_of_the_rows():
    from skimb._data import SparseRows
    rng = np.random.default_rng(3)
    X = sp.random(50, 400, density=0.01, format="csr", random_state=3, dtype=np.float32)
    X = sp.vstack([X, sp.csr_matrix(np.ones((1, 400), dtype=np.float32))]).tocsr()  # one full row
    rows = rng.permutation(51)[:30]
    picked = SparseRows.from_scipy(X).select(torch.as_tensor(rows))
    assert len(picked.values) == X[rows].nnz  # no padding to the longest row
    assert (picked.to_scipy() != X[rows]).nnz == 0
