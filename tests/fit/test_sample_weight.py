"""sample_weight through the estimator: checked at the edge, a weight of 1 is no weight, a row
of weight 0 does not train (nor does a class of weight 0), validation weights do not change
the training, the class statistics count the weights; imbalanced-learn's samplers and a loss
of your own take them or refuse them."""

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import StratifiedKFold
from skorch.dataset import ValidSplit

from tests.helpers import assert_unfitted, clf_


def internal_split(y_encoded):
    """Training / validation rows of skorch's ValidSplit(5, stratified=True)."""
    return next(StratifiedKFold(5).split(np.arange(len(y_encoded)), y_encoded))


def test_negative_sample_weight(data):
    X, y = data
    w = np.ones(len(y))
    w[10] = -0.5
    clf = clf_()
    with pytest.raises(ValueError, match="sample_weight.*non-negative"):
        clf.fit(X, y, sample_weight=w)
    assert_unfitted(clf)


def test_sample_weight_wrong_length(data):
    X, y = data
    with pytest.raises(ValueError, match=r"sample_weight.*\(300\)"):
        clf_().fit(X, y, sample_weight=np.ones(10))


@pytest.mark.parametrize("sampler", ["none", "under"])
def test_unit_weights_equal_no_weights(data, sampler):
    X, y = data
    a = clf_(sampler=sampler, max_epochs=3).fit(X, y)
    b = clf_(sampler=sampler, max_epochs=3).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-5)


@pytest.mark.parametrize("train_split", [None, ValidSplit(5, stratified=True)],
                         ids=["no_split", "valid_split"])
@pytest.mark.parametrize("sampler", ["none", "under", "over", RandomUnderSampler()],
                         ids=["none", "under", "over", "imblearn_under"])
def test_zero_weight_rows_do_not_train(data, sampler, train_split):
    """Rows with weight 0 contribute nothing: scrambling their features leaves the
    fit unchanged. This only holds if the weights stay aligned with their rows
    through the split, the sampler and the batches."""
    X, y = data
    w = np.where(y == 1, 0.0, 1.0)
    w[y == 0] = np.linspace(0.5, 1.5, int((y == 0).sum()))
    X_scrambled = X.copy()
    rng = np.random.default_rng(1)
    X_scrambled[y == 1] = rng.normal(scale=5.0, size=X[y == 1].shape)
    params = dict(sampler=sampler, train_split=train_split, max_epochs=3, batch_size=32, lr=0.01)
    a = clf_(**params).fit(X, y, sample_weight=w)
    b = clf_(**params).fit(X_scrambled, y, sample_weight=w)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-6)
    # control: with unit weights the scrambled rows do change the fit
    c = clf_(**params).fit(X, y, sample_weight=np.ones(len(y)))
    d = clf_(**params).fit(X_scrambled, y, sample_weight=np.ones(len(y)))
    assert np.abs(c.predict_proba(X) - d.predict_proba(X)).max() > 1e-3


def test_validation_weights_do_not_affect_training(data):
    X, y = data
    train_rows, valid_rows = internal_split(y)
    w1 = np.ones(len(y))
    w2 = w1.copy()
    w2[valid_rows] = np.linspace(0.1, 3.0, len(valid_rows))
    a = clf_(max_epochs=3).fit(X, y, sample_weight=w1)
    b = clf_(max_epochs=3).fit(X, y, sample_weight=w2)
    np.testing.assert_allclose(a.history[:, "train_loss"], b.history[:, "train_loss"], rtol=1e-6)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    # ... but they weight the validation loss
    assert not np.allclose(a.history[:, "valid_loss"], b.history[:, "valid_loss"], rtol=1e-4)


def test_zero_weight_class_is_not_learned(data):
    X, y = data
    params = dict(train_split=None, max_epochs=10, lr=0.02, batch_size=32)
    a = clf_(**params).fit(X, y)
    b = clf_(**params).fit(X, y, sample_weight=np.where(y == 2, 0.0, 1.0))
    assert b.predict_proba(X[y == 2])[:, 2].mean() < a.predict_proba(X[y == 2])[:, 2].mean()
    assert (b.predict(X) == 2).sum() < (a.predict(X) == 2).sum()


def test_sample_weight_with_imblearn_under_sampler(data):
    X, y = data
    sampler = RandomUnderSampler()
    clf = clf_(sampler=sampler).fit(X, y, sample_weight=np.linspace(0.1, 1, len(y)))
    assert clf.predict(X).shape == (len(X),)
    assert sampler.get_params()["random_state"] is None
    assert not hasattr(sampler, "sample_indices_")


def test_sample_weight_with_smote_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight cannot be used with SMOTE"):
        clf_(sampler=SMOTE()).fit(X, y, sample_weight=np.ones(len(y)))


def test_sample_weight_with_custom_loss_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight needs a skimb loss"):
        clf_(loss=torch.nn.CrossEntropyLoss).fit(X, y, sample_weight=np.ones(len(y)))


# -- the class statistics count the weights ------------------------------------------------


def test_priors_count_a_weight_of_two_like_a_repeated_row(data):
    X, y = data
    weights = np.where(y == 2, 2.0, 1.0)
    weighted = clf_(loss="logit_adjusted", train_split=None).fit(X, y, sample_weight=weights)
    repeated = np.concatenate([X, X[y == 2]]), np.concatenate([y, y[y == 2]])
    copied = clf_(loss="logit_adjusted", train_split=None).fit(*repeated)
    np.testing.assert_allclose(weighted.loss_.class_counts.cpu().numpy(),
                               copied.loss_.class_counts.cpu().numpy())
    assert weighted.class_counts_.tolist() == np.bincount(y).tolist()  # still rows


def test_decision_prior_uses_the_weighted_class_mass(data):
    X, y = data
    weights = np.where(y == 2, 3.0, 1.0)
    clf = clf_(decision="prior", train_split=None).fit(X, y, sample_weight=weights)
    mass = np.bincount(y, weights=weights)
    np.testing.assert_allclose(clf.decision_offsets_, -np.log(mass / mass.sum()), rtol=1e-6)
