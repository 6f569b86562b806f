"""random_state: the same state gives the same model (index samplers, imbalanced-learn's, a
module of your own), a RandomState instance is taken, torch's global generator is left as
it was, no state varies, and continued fits draw new epochs."""

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE

from skimb import list_samplers
from skimb._batches import ResidentRows
from tests.helpers import FAST, clf_, user_clf


@pytest.mark.parametrize("sampler", list_samplers())
def test_same_random_state_same_model(data, sampler):
    X, y = data
    params = dict(sampler=sampler, batch_size=64, module__dropout=0.2)
    a = clf_(random_state=3, **params).fit(X, y).predict_proba(X)
    b = clf_(random_state=3, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = clf_(random_state=4, **params).fit(X, y).predict_proba(X)
    assert np.abs(a - c).max() > 1e-3


def test_same_random_state_imblearn_sampler(data):
    X, y = data
    a = clf_(sampler=SMOTE(), random_state=5).fit(X, y).predict_proba(X)
    b = clf_(sampler=SMOTE(), random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_random_state_instance_accepted(data):
    X, y = data
    a = clf_(random_state=np.random.RandomState(2)).fit(X, y).predict_proba(X)
    b = clf_(random_state=np.random.RandomState(2)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_fit_with_random_state_keeps_global_torch_rng(data):
    X, y = data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    clf_(sampler="under", module__dropout=0.3).fit(X, y)
    after = torch.get_rng_state()
    assert torch.equal(before, after)


def test_fit_without_random_state_varies(data):
    X, y = data
    torch.manual_seed(0)
    a = clf_(random_state=None).fit(X, y).predict_proba(X)
    b = clf_(random_state=None).fit(X, y).predict_proba(X)
    assert np.abs(a - b).max() > 1e-4


def test_custom_module_is_reproducible(data):
    X, y = data
    a = user_clf(sampler="under").fit(X, y).predict_proba(X)
    b = user_clf(sampler="under").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_continued_fits_draw_new_epochs(data):
    X, y = data
    clf = clf_(sampler="under", warm_start=True, train_split=None)
    clf.fit(X, y)
    table = ResidentRows(X.astype(np.float32), y)
    first = next(iter(clf.get_iterator(table, training=True)))[0]
    clf.fit(X, y)
    second = next(iter(clf.get_iterator(table, training=True)))[0]
    assert len(clf.history) == 2 * FAST["max_epochs"]
    assert not torch.equal(first, second)
