"""What every loss declares (name and capabilities), the registry built from it,
``check_loss_compatibility``, the per-call epoch clock of deferred re-weighting, and
float class masses (sums of sample weights) in place of row counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import skimb.losses
from skimb.losses import (
    AsymmetricLoss,
    BinaryCrossEntropy,
    ClassBalancedLoss,
    ImbalanceLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    WeightedCrossEntropy,
    check_loss_compatibility,
    class_weights,
    list_losses,
    loss_class,
    make_loss,
    multilabel_losses,
)
from skimb.losses import registry

BOOL_DECLARATIONS = ("supports_multilabel", "binary_only", "per_member", "needs_cosine_head",
                     "supports_mixed_targets")
REGISTERED = sorted(registry._REGISTRY.items())
EVERY_REGISTERED = pytest.mark.parametrize("name, cls", REGISTERED, ids=[n for n, _ in REGISTERED])
DRW_LOSSES = pytest.mark.parametrize("loss_cls", [WeightedCrossEntropy, ClassBalancedLoss,
                                                  LDAMLoss])


# ---------------------------------------------------------------------------
# declarations
# ---------------------------------------------------------------------------


@EVERY_REGISTERED
def test_every_loss_declares_every_attribute(name, cls):
    assert issubclass(cls, ImbalanceLoss)
    assert isinstance(cls.name, str) and cls.name == name
    for attribute in BOOL_DECLARATIONS:
        assert type(getattr(cls, attribute)) is bool, (name, attribute)
    instance = make_loss(name, {})
    assert instance.name == name
    assert all(getattr(instance, a) == getattr(cls, a) for a in BOOL_DECLARATIONS)


def test_declared_values():
    declared = {name: {a for a in BOOL_DECLARATIONS if getattr(cls, a)} for name, cls in REGISTERED}
    assert {n for n, d in declared.items() if "per_member" in d} == {"crl"}
    assert {n for n, d in declared.items() if "needs_cosine_head" in d} == {"ldam"}
    assert {n for n, d in declared.items() if "binary_only" in d} == {"bce", "asl"}
    assert {n for n, d in declared.items() if "supports_multilabel" in d} == {
        "asl", "bce", "ce", "crl", "focal"}
    assert {n for n, d in declared.items() if "supports_mixed_targets" not in d} == {"crl"}


def test_abstract_bases_have_no_name():
    from skimb.losses.cross_entropy import _ClassWeightedLoss
    from skimb.losses.sigmoid import _SigmoidLoss

    for base in (ImbalanceLoss, _ClassWeightedLoss, _SigmoidLoss):
        assert base.name is None
        assert base not in set(registry._REGISTRY.values())


# ---------------------------------------------------------------------------
# the registry is the declarations
# ---------------------------------------------------------------------------


def test_registry_equals_the_declarations():
    assert registry._REGISTRY == {cls.name: cls for cls in registry._LOSS_CLASSES}
    assert len(registry._REGISTRY) == len(registry._LOSS_CLASSES)  # no name declared twice
    # every named loss class of the package is registered, and nothing else
    assert registry._REGISTRY == _named_loss_classes()
    assert list_losses() == sorted(registry._REGISTRY)
    for name, cls in REGISTERED:
        assert loss_class(name) is cls
        assert type(make_loss(name, {})) is cls
    assert multilabel_losses() == sorted(n for n, c in REGISTERED if c.supports_multilabel)


def _named_loss_classes():
    """The subclasses of ImbalanceLoss defined in skimb.losses that declare a name."""
    found, pending = {}, [ImbalanceLoss]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__dict__.get("name") and cls.__module__.startswith("skimb.losses"):
            found[cls.name] = cls
    return found


def test_every_loss_class_is_exported():
    for _, cls in REGISTERED:
        assert getattr(skimb.losses, cls.__name__) is cls
        assert cls.__name__ in skimb.losses.__all__


def test_error_messages_name_the_losses_to_use_instead():
    with pytest.raises(ValueError, match=", ".join(multilabel_losses())):
        WeightedCrossEntropy().set_label_counts(torch.tensor([5, 2]), 10)
    with pytest.raises(ValueError, match="loss='bce' takes binary or multi-label targets"):
        BinaryCrossEntropy.output_width(3)
    with pytest.raises(ValueError, match="loss='asl' takes binary or multi-label targets"):
        AsymmetricLoss().set_class_counts(torch.tensor([5, 3, 2]))


# ---------------------------------------------------------------------------
# check_loss_compatibility
# ---------------------------------------------------------------------------


def _forms(name):
    cls = registry._REGISTRY[name]
    return [name, cls, make_loss(name, {})]


@EVERY_REGISTERED
@pytest.mark.parametrize("multilabel, n_classes", [(False, 2), (False, 3), (False, 7),
                                                   (True, 2), (True, 5)])
def test_compatibility_follows_the_declarations_and_the_behaviour(name, cls, multilabel,
                                                                  n_classes):
    refused = ((multilabel and not cls.supports_multilabel)
               or (not multilabel and cls.binary_only and n_classes > 2))
    for form in _forms(name):
        if refused:
            with pytest.raises(ValueError, match=repr(name)):
                check_loss_compatibility(form, multilabel=multilabel, n_classes=n_classes)
        else:
            assert check_loss_compatibility(form, multilabel=multilabel,
                                            n_classes=n_classes) is None
    # the check says in advance what the loss itself would do with these statistics
    loss = make_loss(name, {})
    counts = torch.arange(n_classes, 0, -1) * 10
    fit = ((lambda: loss.set_label_counts(counts, 100)) if multilabel
           else (lambda: loss.set_class_counts(counts)))
    if refused:
        with pytest.raises(ValueError):
            fit()
    else:
        fit()


def test_refusals_say_what_to_use():
    for single in ("weighted_ce", "ldam", "vs", "cost_sensitive"):
        with pytest.raises(ValueError, match="single-label") as info:
            check_loss_compatibility(single, multilabel=True, n_classes=4)
        assert ", ".join(multilabel_losses()) in str(info.value)
    for binary in ("bce", "asl"):
        with pytest.raises(ValueError, match=r"y has 3 classes\. Use 'ce', 'focal'"):
            check_loss_compatibility(binary, multilabel=False, n_classes=3)
        check_loss_compatibility(binary, multilabel=True, n_classes=12)  # any number of labels


def test_plain_modules_pass_and_unknown_names_fail():
    for loss in (nn.CrossEntropyLoss, nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss()):
        for multilabel, n_classes in ((False, 2), (False, 10), (True, 6)):
            check_loss_compatibility(loss, multilabel=multilabel, n_classes=n_classes)
    with pytest.raises(ValueError, match="Unknown loss 'bogus'"):
        check_loss_compatibility("bogus", multilabel=False, n_classes=2)


def test_user_loss_declarations_are_honoured():
    class PairOnly(ImbalanceLoss):
        binary_only = True

    check_loss_compatibility(PairOnly, multilabel=False, n_classes=2)
    with pytest.raises(ValueError, match="loss='PairOnly' takes binary targets"):
        check_loss_compatibility(PairOnly(), multilabel=False, n_classes=3)
    with pytest.raises(ValueError, match="single-label"):
        check_loss_compatibility(PairOnly, multilabel=True, n_classes=3)


# ---------------------------------------------------------------------------
# deferred re-weighting: an epoch of the call, or a fraction of its budget
# ---------------------------------------------------------------------------

COUNTS3 = torch.tensor([60, 30, 6])


def _weights_by_epoch(loss, n_epochs, pass_budget=True):
    on = []
    for epoch in range(n_epochs):
        loss.set_epoch(epoch, n_epochs if pass_budget else None)
        weighted = not torch.equal(loss.active_weights, torch.ones_like(loss.active_weights))
        if weighted:
            assert torch.equal(loss.active_weights, loss.class_weights)
        on.append(weighted)
    return on


def _switch_epoch(on):
    assert on == sorted(on), on  # off, then on for good
    return on.index(True) if True in on else None


@DRW_LOSSES
@pytest.mark.parametrize("drw_epoch, n_epochs, expected", [
    (3, 10, 3), (0.3, 10, 3),          # the same switch, as an epoch or a fraction
    (0, 5, 0), (None, 5, 0),
    (0.5, 5, 3), (0.5, 4, 2),          # ceil(f * n)
    (0.07, 100, 7), (0.14, 50, 7),     # not 8: 0.07 * 100 is 7.000000000000001 in floats
    (0.01, 10, 1),                     # a fraction never switches at epoch 0
    (0.999, 10, 10), (12, 10, 10),     # never within the call
])
def test_drw_switch_epoch(loss_cls, drw_epoch, n_epochs, expected):
    loss = loss_cls(drw_epoch=drw_epoch)
    loss.set_class_counts(COUNTS3)
    if loss_cls is LDAMLoss and drw_epoch is None:  # LDAM without DRW has no class weights
        assert torch.equal(loss.class_weights, torch.ones(3, dtype=torch.float64))
        return
    on = _weights_by_epoch(loss, n_epochs)
    assert (_switch_epoch(on) if True in on else n_epochs) == expected


def test_drw_fraction_matches_ceil_of_the_budget():
    for f in (0.1, 0.25, 0.3, 0.5, 0.75, 0.9):
        for n in (1, 4, 7, 20, 60):
            loss = WeightedCrossEntropy(drw_epoch=f)
            loss.set_class_counts(COUNTS3)
            on = _weights_by_epoch(loss, n)
            assert (_switch_epoch(on) if True in on else n) == min(n, math.ceil(round(f * n, 9)))


@DRW_LOSSES
def test_drw_clock_restarts_at_every_call(loss_cls):
    loss = loss_cls(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 10)) == 5
    assert not torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    # a new call (fit or partial_fit) gives its statistics again: epoch 0, unweighted
    loss.set_class_counts(COUNTS3)
    assert (loss.epoch, loss.n_epochs) == (0, None)
    assert torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    assert _switch_epoch(_weights_by_epoch(loss, 4)) == 2  # this call's budget
    # an int counts epochs of the call, whatever came before
    loss = loss_cls(drw_epoch=2)
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 6, pass_budget=False)) == 2
    loss.set_class_counts(COUNTS3)
    assert _switch_epoch(_weights_by_epoch(loss, 3, pass_budget=False)) == 2


def test_drw_switch_changes_the_loss_value():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5], [0.3, 0.2, 0.1]], dtype=torch.float64)
    y = torch.tensor([0, 1, 2])
    loss = WeightedCrossEntropy(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)
    plain = torch.nn.functional.cross_entropy(z, y, reduction="none")
    w = torch.as_tensor(class_weights(COUNTS3.numpy(), "balanced"))
    for epoch, expected in ((0, plain.mean()), (1, plain.mean()), (2, (w[y] * plain).mean()),
                            (3, (w[y] * plain).mean())):
        loss.set_epoch(epoch, 4)
        assert loss(z, y).item() == pytest.approx(expected.item(), rel=1e-12), epoch


@DRW_LOSSES
def test_drw_fraction_needs_the_budget(loss_cls):
    loss = loss_cls(drw_epoch=0.5)
    loss.set_class_counts(COUNTS3)  # before the first epoch: unweighted, no budget needed
    assert torch.equal(loss.active_weights, torch.ones(3, dtype=torch.float64))
    for epoch in (0, 3):
        with pytest.raises(ValueError, match="loss__drw_epoch=0.5 is a fraction"):
            loss.set_epoch(epoch)
    loss = loss_cls(drw_epoch=3)
    loss.set_class_counts(COUNTS3)
    loss.set_epoch(3)  # an epoch needs no budget (the estimator's call today)
    assert torch.equal(loss.active_weights, loss.class_weights)


@DRW_LOSSES
@pytest.mark.parametrize("bad", [True, False, -1, -0.2, 0.0, 1.0, 1.5, 2.0, float("nan"),
                                 float("inf"), "2", [1]])
def test_drw_epoch_refused(loss_cls, bad):
    with pytest.raises(ValueError, match="loss__drw_epoch"):
        loss_cls(drw_epoch=bad).set_class_counts(COUNTS3)


@DRW_LOSSES
@pytest.mark.parametrize("good", [None, 0, 4, np.int64(2), 0.5, np.float64(0.25), 1e-9])
def test_drw_epoch_accepted(loss_cls, good):
    loss_cls(drw_epoch=good).set_class_counts(COUNTS3)


@pytest.mark.parametrize("epoch, n_epochs", [(-1, None), (1.5, None), (True, None),
                                             (0, 2.5), (0, -3)])
def test_set_epoch_refuses_bad_values(epoch, n_epochs):
    for loss in (WeightedCrossEntropy(), LogitAdjustedLoss()):
        loss.set_class_counts(COUNTS3)
        with pytest.raises(ValueError, match="epoch"):
            loss.set_epoch(epoch, n_epochs)


def test_set_epoch_records_the_call_clock():
    loss = LogitAdjustedLoss()
    loss.set_class_counts(COUNTS3)
    loss.set_epoch(4, n_epochs=9)
    assert (loss.epoch, loss.n_epochs) == (4, 9)
    loss.set_epoch(np.int64(5))  # the budget is the call's: kept until the next call
    assert (loss.epoch, loss.n_epochs) == (5, 9)
    loss.set_class_counts(COUNTS3)  # a new call starts the clock again
    assert (loss.epoch, loss.n_epochs) == (0, None)
    loss.set_epoch_budget(0)  # max_epochs=0 is a call of no epoch
    assert loss.n_epochs == 0


# ---------------------------------------------------------------------------
# float class masses (sums of sample weights)
# ---------------------------------------------------------------------------

SINGLE_LABEL_CASES = [
    ("weighted_ce", {}), ("weighted_ce", {"weights": "sqrt"}),
    ("weighted_ce", {"weights": "effective", "beta": 0.99}),
    ("logit_adjusted", {}), ("logit_adjusted", {"tau": 0.5}), ("balanced_softmax", {}),
    ("vs", {}), ("ldam", {}), ("ldam", {"drw_epoch": 0}), ("class_balanced", {"beta": 0.99}),
    ("focal", {"alpha": "balanced"}), ("bce", {}), ("cost_sensitive", {}), ("ce", {}),
    ("crl", {}),
]
#: losses whose statistics depend only on the ratios of the masses
SCALE_FREE = [c for c in SINGLE_LABEL_CASES
              if "effective" not in c[1].values() and c[0] != "class_balanced"
              and not (c[0] == "ldam" and "drw_epoch" in c[1])]


def _buffers(loss):
    return {k: v.clone() for k, v in loss.named_buffers() if k != "class_counts"}


def _value(loss, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    width = 1 if loss.binary_only else n_classes
    z = torch.tensor(rng.normal(scale=2.0, size=(24, width)))
    y = torch.as_tensor(rng.integers(0, n_classes, size=24))
    y[:n_classes] = torch.arange(n_classes)
    return loss(z, y, torch.as_tensor(rng.uniform(0.5, 2.0, size=24))).item()


def _classes(name):
    return 2 if registry._REGISTRY[name].binary_only else 3


@pytest.mark.parametrize("name, kwargs", SINGLE_LABEL_CASES,
                         ids=[f"{n}-{k}" for n, k in SINGLE_LABEL_CASES])
def test_a_row_of_weight_two_counts_as_the_row_twice(name, kwargs):
    n_classes = _classes(name)
    rng = np.random.default_rng(1)
    y = rng.integers(0, n_classes, size=40)
    y[:n_classes] = np.arange(n_classes)
    weight = rng.integers(1, 4, size=40)              # 1, 2 or 3
    masses = np.bincount(y, weights=weight.astype(float), minlength=n_classes)  # floats
    repeated = np.bincount(np.repeat(y, weight), minlength=n_classes)          # ints
    by_mass, by_rows = make_loss(name, kwargs), make_loss(name, kwargs)
    by_mass.set_class_counts(torch.as_tensor(masses))
    by_rows.set_class_counts(torch.as_tensor(repeated))
    assert by_mass.class_counts.dtype == by_rows.class_counts.dtype == torch.float64
    assert by_mass.class_counts.tolist() == repeated.tolist()
    for key, value in _buffers(by_rows).items():
        assert torch.equal(_buffers(by_mass)[key], value), key
    assert _value(by_mass, n_classes) == _value(by_rows, n_classes)


@pytest.mark.parametrize("name, kwargs", SCALE_FREE, ids=[f"{n}-{k}" for n, k in SCALE_FREE])
@pytest.mark.parametrize("scale", [0.01, 0.37, 3.0])
def test_fractional_masses_keep_the_class_ratios(name, kwargs, scale):
    """Scaling every sample weight (masses below one row included) changes nothing for
    statistics that depend on the class ratios only."""
    n_classes = _classes(name)
    counts = np.array([90.0, 8.0, 2.0])[:n_classes] if n_classes == 3 else np.array([90.0, 2.0])
    scaled, plain = make_loss(name, kwargs), make_loss(name, kwargs)
    scaled.set_class_counts(torch.as_tensor(counts * scale))
    plain.set_class_counts(torch.as_tensor(counts))
    for key, value in _buffers(plain).items():
        got = _buffers(scaled)[key]
        if key == "log_counts":  # log n shifts by log(scale), which softmax ignores
            got = got - math.log(scale)
        torch.testing.assert_close(got, value, rtol=1e-12, atol=1e-12, msg=key)
    assert _value(scaled, n_classes) == pytest.approx(_value(plain, n_classes), rel=1e-12)


def test_fractional_masses_against_the_formulas():
    masses = np.array([40.5, 2.25, 0.3])
    loss = WeightedCrossEntropy(weights="effective", beta=0.9)
    loss.set_class_counts(masses)  # a numpy array of floats is accepted too
    raw = (1 - 0.9) / (1 - 0.9 ** masses)
    np.testing.assert_allclose(loss.class_weights.numpy(),
                               raw * masses.sum() / (raw * masses).sum(), rtol=1e-12)
    ldam = LDAMLoss(max_m=0.5)
    ldam.set_class_counts(masses)
    np.testing.assert_allclose(ldam.margins.numpy(), 0.5 * (masses / masses.min()) ** -0.25,
                               rtol=1e-12)
    adjusted = LogitAdjustedLoss()
    adjusted.set_class_counts(masses)
    np.testing.assert_allclose(adjusted.log_prior.numpy(), np.log(masses / masses.sum()),
                               rtol=1e-12)
    bce = BinaryCrossEntropy()
    bce.set_class_counts([7.5, 2.5])
    assert bce.positive_weight.tolist() == [3.0]
    bce.set_label_counts(torch.tensor([2.5, 0.5, 0.0]), n_samples=10.0)
    assert bce.positive_weight.tolist() == [3.0, 19.0, 1.0]
    bce = BinaryCrossEntropy(label_weights="balanced")
    bce.set_label_counts(np.array([2.0, 0.5]), 10.0)
    np.testing.assert_allclose(bce.label_weight.numpy(), [0.2, 0.8], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs", SINGLE_LABEL_CASES,
                         ids=[f"{n}-{k}" for n, k in SINGLE_LABEL_CASES])
def test_a_class_of_mass_zero_is_a_class_of_no_rows(name, kwargs):
    n_classes = _classes(name)
    counts = [40, 0, 10][:n_classes] if n_classes == 3 else [40, 0]
    by_mass, by_rows = make_loss(name, kwargs), make_loss(name, kwargs)
    by_mass.set_class_counts(torch.tensor(counts, dtype=torch.float64))
    by_rows.set_class_counts(torch.tensor(counts))
    for key, value in _buffers(by_rows).items():
        assert torch.equal(_buffers(by_mass)[key], value), key
        assert torch.isfinite(value).all(), key


def test_integer_counts_are_stored_as_exact_float64():
    loss = WeightedCrossEntropy()
    big = 2**52 + 1
    loss.set_class_counts(torch.tensor([big, 3]))
    assert loss.class_counts.dtype == torch.float64
    assert int(loss.class_counts[0].item()) == big


@pytest.mark.parametrize("bad", [[3.0, -1.0], [np.nan, 2.0], [np.inf, 1.0], [[1, 2], [3, 4]],
                                 ["a", "b"]])
def test_bad_masses_refused(bad):
    with pytest.raises(ValueError, match="class counts must be a 1-d array of finite masses"):
        WeightedCrossEntropy().set_class_counts(bad)
    with pytest.raises(ValueError, match="label counts must be a 1-d array"):
        BinaryCrossEntropy().set_label_counts(bad, 10.0)


@pytest.mark.parametrize("n_samples", [-1.0, float("nan")])
def test_bad_label_mass_refused(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        BinaryCrossEntropy().set_label_counts([2.0, 1.0], n_samples)
