"""Every registered loss through the same properties.

A loss registered in ``skimb.losses.registry`` is picked up here without an edit: what it
declares (``supports_multilabel``, ``binary_only``, ``per_member``, ``needs_cosine_head``,
``supports_mixed_targets``, ``supports_sample_weight``, ``output_width``) is checked against
what it computes and what the classifier does with it. Binary targets are every loss's, more
classes unless it declares ``binary_only``, multi-label targets when it declares
``supports_multilabel``; the others are refused with a ``ValueError``. The properties
themselves are in ``tests/losses/properties.py``; a family's own file checks it against its
definition in float64 and runs the properties on its other settings.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification

from skimb import list_losses
from skimb.losses import (
    ImbalanceLoss,
    check_loss_compatibility,
    loss_class,
    make_loss,
    multilabel_losses,
)
from skimb.modules import CosineLinear
from tests.helpers import N_FEATURES, clf_, make_data, user_clf
from tests.losses import properties
from tests.losses.properties import FORMS, declared_forms, declares

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = list_losses()
EVERY_LOSS = pytest.mark.parametrize("name", NAMES)
#: Every loss with every target form it declares.
DECLARED = pytest.mark.parametrize("name, form", declared_forms(NAMES),
                                   ids=[f"{n}-{f}" for n, f in declared_forms(NAMES)])
BOOL_DECLARATIONS = ("supports_multilabel", "binary_only", "per_member", "needs_cosine_head",
                     "supports_mixed_targets", "supports_sample_weight")


# ---------------------------------------------------------------------------
# the declarations
# ---------------------------------------------------------------------------


@EVERY_LOSS
def test_declarations_are_well_typed(name):
    cls = loss_class(name)
    assert issubclass(cls, ImbalanceLoss)
    assert isinstance(cls.name, str) and cls.name == name
    for attribute in BOOL_DECLARATIONS:
        assert type(getattr(cls, attribute)) is bool, (name, attribute)
    instance = make_loss(name, {})
    assert type(instance) is cls and instance.name == instance.display_name == name
    assert all(getattr(instance, a) == getattr(cls, a) for a in BOOL_DECLARATIONS)


@EVERY_LOSS
def test_output_width_follows_the_declarations(name):
    cls = loss_class(name)
    for n_classes in range(2, 8):
        if cls.binary_only and n_classes > 2:
            with pytest.raises(ValueError, match=repr(name)):
                cls.output_width(n_classes)
        else:
            width = cls.output_width(n_classes)
            assert isinstance(width, int) and 1 <= width <= n_classes


@EVERY_LOSS
@pytest.mark.parametrize("multilabel, n_classes", [(False, 2), (False, 3), (False, 7),
                                                   (True, 2), (True, 5)])
def test_compatibility_follows_the_declarations_and_the_behaviour(name, multilabel,
                                                                  n_classes):
    cls = loss_class(name)
    refused = ((multilabel and not cls.supports_multilabel)
               or (not multilabel and cls.binary_only and n_classes > 2))
    for form in (name, cls, make_loss(name, {})):
        if refused:
            with pytest.raises(ValueError, match=repr(name)):
                check_loss_compatibility(form, multilabel=multilabel, n_classes=n_classes)
        else:
            assert check_loss_compatibility(form, multilabel=multilabel,
                                            n_classes=n_classes) is None
    # the check says in advance what the loss itself does with these statistics
    loss = make_loss(name, {})
    counts = torch.arange(n_classes, 0, -1) * 10
    fit = ((lambda: loss.set_label_counts(counts, 100)) if multilabel
           else (lambda: loss.set_class_counts(counts)))
    if refused:
        with pytest.raises(ValueError):
            fit()
    else:
        fit()
        assert loss.multilabel == multilabel


@EVERY_LOSS
def test_a_single_label_loss_refuses_label_counts_naming_the_multilabel_ones(name):
    loss = make_loss(name, {})
    if loss.supports_multilabel:
        loss.set_label_counts(torch.tensor([120, 41, 9]), 200)
        assert loss.multilabel
        return
    with pytest.raises(ValueError, match="multi-label") as info:
        loss.set_label_counts(torch.tensor([120, 41, 9]), 200)
    assert ", ".join(multilabel_losses()) in str(info.value)
    assert not loss.multilabel


# ---------------------------------------------------------------------------
# the loss on every target form it declares
# ---------------------------------------------------------------------------


@DECLARED
@pytest.mark.parametrize("weighted", [False, True], ids=["no-sw", "sw"])
def test_extreme_logits_stay_finite(name, form, weighted):
    properties.check_extreme_logits(name, {}, form, weighted)


@DECLARED
def test_rows_of_weight_zero_change_nothing(name, form):
    properties.check_zero_weight_removes_rows(name, {}, form)


@DECLARED
def test_buffers_follow_dtype_and_device(name, form):
    properties.check_buffers_follow_dtype_and_device(name, {}, form)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@DECLARED
def test_on_cuda_as_on_the_cpu(name, form):
    properties.check_on_cuda(name, {}, form)


@DECLARED
def test_a_class_without_rows_stays_finite(name, form):
    properties.check_empty_class_stays_finite(name, {}, form)


@DECLARED
def test_probabilities_are_a_distribution_or_per_label_sigmoids(name, form):
    properties.check_probabilities(name, {}, form)


@DECLARED
def test_mixed_targets_as_declared(name, form):
    properties.check_mixed_targets(name, {}, form)


@DECLARED
def test_copies_and_pickles_of_a_fitted_loss(name, form):
    properties.check_copies(name, {}, form)


@pytest.mark.parametrize("name", multilabel_losses())
def test_multilabel_target_dtypes_agree(name):
    properties.check_target_dtypes_agree(name, {})


@EVERY_LOSS
def test_a_row_of_weight_two_counts_as_the_row_twice(name):
    properties.check_a_row_of_weight_two_counts_as_the_row_twice(name, {})


@EVERY_LOSS
def test_a_class_of_mass_zero_is_a_class_of_no_rows(name):
    properties.check_a_class_of_mass_zero_is_a_class_of_no_rows(name, {})


# ---------------------------------------------------------------------------
# through the estimator
# ---------------------------------------------------------------------------

_FITTED: dict = {}


def _data(form):
    X, y = make_data(n=200)
    if form == "binary":
        y = (y == 0).astype(int)
    elif form == "multilabel":
        X, y = make_multilabel_classification(n_samples=200, n_features=N_FEATURES,
                                              n_classes=3, random_state=0)
    return X.astype(np.float32), y


def _fitted(name, form):
    """One brief fit per loss and target form, shared by the tests below."""
    if (name, form) not in _FITTED:
        X, y = _data(form)
        _FITTED[name, form] = clf_(loss=name, max_epochs=1, train_split=None).fit(X, y), X, y
    return _FITTED[name, form]


def _first_form(name):
    return "multiclass" if declares(name, "multiclass") else "binary"


def _raw_output(clf, X):
    clf.module_.eval()
    with torch.no_grad():
        return clf.module_(torch.as_tensor(X)).double()


@EVERY_LOSS
@pytest.mark.parametrize("form", FORMS)
def test_trains_on_each_target_it_declares_and_refuses_the_others(name, form):
    if not declares(name, form):
        X, y = _data(form)
        clf = clf_(loss=name, max_epochs=1, train_split=None)
        with pytest.raises(ValueError, match=f"loss='{name}'") as info:
            clf.fit(X, y)
        if form == "multilabel":  # the refusal names the losses to use instead
            assert ", ".join(multilabel_losses()) in str(info.value)
        assert not hasattr(clf, "module_") and not hasattr(clf, "multilabel_")
        return
    clf, X, y = _fitted(name, form)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    n_classes = y.shape[1] if form == "multilabel" else len(np.unique(y))
    assert proba.shape == (len(X), n_classes)
    expected_width = n_classes if form == "multilabel" else loss_class(name).output_width(
        n_classes)
    assert _raw_output(clf, X[:5]).shape == (5, expected_width)
    if form == "multilabel":
        assert set(np.unique(clf.predict(X))) <= {0, 1}
        return
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    raw = pickle.loads(pickle.dumps(clf)).set_params(calibration=None)  # what predict decides on
    np.testing.assert_array_equal(clf.predict(X),
                                  clf.classes_[raw.predict_proba(X).argmax(axis=1)])
    assert clf.criterion_.class_counts.tolist() == clf.class_counts_.tolist()


@EVERY_LOSS
def test_clone_and_pickle_of_the_estimator(name):
    clf, X, y = _fitted(name, _first_form(name))
    unfitted = clone(clf)
    assert unfitted.get_params()["loss"] == name and not hasattr(unfitted, "criterion_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert type(restored.criterion_) is type(clf.criterion_)
    for (key, value), (_, kept) in zip(clf.criterion_.named_buffers(),
                                       restored.criterion_.named_buffers()):
        assert torch.equal(value, kept), key
    # the loss given as an object: cloned with the estimator, and it trains as its name does
    by_object = clf_(loss=make_loss(name, {}), max_epochs=1, train_split=None)
    copy = clone(by_object)
    assert type(copy.loss) is loss_class(name) and copy.loss is not by_object.loss
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), clf.predict_proba(X))


@EVERY_LOSS
def test_the_cosine_head_as_declared(name):
    needs = loss_class(name).needs_cosine_head
    clf, X, y = _fitted(name, _first_form(name))  # module=None: a built-in network
    assert any(isinstance(m, CosineLinear) for m in clf.module_.modules()) == needs
    # a module of your own without a cosine head: a warning exactly when the loss needs one
    width = loss_class(name).output_width(len(np.unique(y)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        user_clf(loss=name, module__n_out=width, max_epochs=1, train_split=None).fit(X, y)
    cosine = [w for w in caught if issubclass(w.category, UserWarning)
              and "cosine" in str(w.message)]
    assert bool(cosine) == needs


@EVERY_LOSS
def test_an_ensemble_output_is_scored_per_member_as_declared(name):
    clf, X, y = _fitted(name, _first_form(name))
    generator = torch.Generator().manual_seed(0)
    width = loss_class(name).output_width(len(clf.classes_))
    y_pred = torch.randn(24, 3, width, generator=generator) * 3  # 3 members
    y_true = torch.as_tensor(y[:24])
    got = clf.get_loss(y_pred, y_true)
    loss = clf.criterion_
    if loss.per_member:
        expected = torch.stack([loss(y_pred[:, j], y_true) for j in range(3)]).mean()
    else:
        expected = loss(y_pred.flatten(0, 1), y_true.repeat_interleave(3))
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)


@EVERY_LOSS
def test_sample_weight_as_declared(name):
    _, X, y = _fitted(name, _first_form(name))
    weight = np.random.default_rng(0).choice([0.0, 1.0, 2.0], size=len(y))
    clf = clf_(loss=name, max_epochs=1, train_split=None)
    if not loss_class(name).supports_sample_weight:
        with pytest.raises(ValueError, match="sample_weight"):
            clf.fit(X, y, sample_weight=weight)
        return
    clf.fit(X, y, sample_weight=weight)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    expected = np.bincount(clf.classes_.searchsorted(y), weights=weight)
    np.testing.assert_allclose(clf.criterion_.class_counts.numpy(), expected)
