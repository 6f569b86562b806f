"""The base of every loss (``skimb/losses/_base.py``): the protocol, the per-call epoch clock
(``set_epoch``), and class masses (sums of sample weights) in place of row counts.

The properties every registered loss has with its defaults are in ``test_common.py``; here, the
other settings, and what only some settings have.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from skimb.losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    ImbalanceLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    WeightedCrossEntropy,
    make_loss,
)
from skimb.losses import registry
from tests.losses.properties import (
    check_a_class_of_mass_zero_is_a_class_of_no_rows,
    check_a_row_of_weight_two_counts_as_the_row_twice,
)

COUNTS3 = torch.tensor([60, 30, 6])


def test_base_class_protocol():
    loss = ImbalanceLoss()
    loss.set_class_counts(torch.tensor([3, 1]), classes=["a", "b"])
    assert loss.class_counts.tolist() == [3, 1]
    assert list(loss.classes) == ["a", "b"]
    with pytest.raises(NotImplementedError):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]))
    for cls in (CrossEntropy, WeightedCrossEntropy):
        assert issubclass(cls, ImbalanceLoss)


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


#: Settings other than the defaults (every registered loss's defaults are in test_common.py).
OTHER_SETTINGS = [
    ("weighted_ce", {"weights": "sqrt"}), ("weighted_ce", {"weights": "effective", "beta": 0.99}),
    ("logit_adjusted", {"tau": 0.5}), ("ldam", {"drw_epoch": 0}),
    ("class_balanced", {"beta": 0.99}), ("focal", {"alpha": "balanced"}),
]
OTHER_IDS = [f"{n}-{k}" for n, k in OTHER_SETTINGS]
#: Settings whose statistics depend only on the ratios of the class masses.
SCALE_FREE = [
    ("weighted_ce", {}), ("weighted_ce", {"weights": "sqrt"}), ("logit_adjusted", {}),
    ("logit_adjusted", {"tau": 0.5}), ("balanced_softmax", {}), ("vs", {}), ("ldam", {}),
    ("focal", {"alpha": "balanced"}), ("bce", {}), ("cost_sensitive", {}), ("ce", {}),
    ("crl", {}),
]


@pytest.mark.parametrize("name, kwargs", OTHER_SETTINGS, ids=OTHER_IDS)
def test_a_row_of_weight_two_counts_as_the_row_twice(name, kwargs):
    check_a_row_of_weight_two_counts_as_the_row_twice(name, kwargs)


@pytest.mark.parametrize("name, kwargs", OTHER_SETTINGS, ids=OTHER_IDS)
def test_a_class_of_mass_zero_is_a_class_of_no_rows(name, kwargs):
    check_a_class_of_mass_zero_is_a_class_of_no_rows(name, kwargs)


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
