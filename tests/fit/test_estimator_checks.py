"""scikit-learn's own estimator checks, run on ImbalancedTorchClassifier."""

import warnings

import pytest

from skimb import ImbalancedTorchClassifier
from tests.helpers import sklearn_checks

#: Cheap settings: the checks fit dozens of times on tiny tables (a larger learning rate
#: than the default, so three epochs reach the training accuracy the checks ask for).
CHECKED = ImbalancedTorchClassifier(max_epochs=3, batch_size=64, lr=0.01)

#: Training that is deterministic in the rows it sees, without statistics fitted on the rows:
#: full batches, no validation split, no dropout, no fitted front. An integer sample weight
#: acts there exactly like repeating the row. With the defaults it does not: mini-batches and
#: dropout change when a row is repeated instead of weighted, and the network's fitted front
#: (scaling statistics, embedding bins) counts rows, not weights.
FULL_BATCH = ImbalancedTorchClassifier(
    max_epochs=3, batch_size=-1, train_split=None, module__dropout=0.0, module__scaling=None,
    module__num_embeddings=None)


@pytest.mark.parametrize("estimator, check", list(sklearn_checks(CHECKED, elsewhere={
    "check_sample_weight_equivalence_on_dense_data": FULL_BATCH,
    "check_sample_weight_equivalence_on_sparse_data": FULL_BATCH,
})))
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. skorch's device notes
        check(estimator)
