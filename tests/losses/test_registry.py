"""The loss registry (``skimb/losses/registry.py``): it is built from the declarations,
``make_loss`` builds and copies, ``check_loss_compatibility`` words its refusals, and a loss of
your own is judged by its own declarations. What every registered loss declares, and that the
declarations are honoured, is in ``test_common.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import skimb.losses
from skimb.losses import (
    AsymmetricLoss,
    BinaryCrossEntropy,
    CrossEntropy,
    ImbalanceLoss,
    WeightedCrossEntropy,
    check_loss_compatibility,
    list_losses,
    loss_class,
    make_loss,
    multilabel_losses,
)
from skimb.losses import registry
from tests.losses.reference import ref_effective

REGISTERED = sorted(registry._REGISTRY.items())


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
        assert make_loss(name, {}) is not make_loss(name, {})  # a new loss every time
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


def test_abstract_bases_have_no_name():
    from skimb.losses.cross_entropy import _ClassWeightedLoss
    from skimb.losses.sigmoid import _SigmoidLoss

    for base in (ImbalanceLoss, _ClassWeightedLoss, _SigmoidLoss):
        assert base.name is None
        assert base not in set(registry._REGISTRY.values())


# ---------------------------------------------------------------------------
# make_loss
# ---------------------------------------------------------------------------


def test_make_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        make_loss("cross_entropy", {})
    message = str(info.value)
    assert "cross_entropy" in message
    for name in list_losses():
        assert name in message


def test_make_loss_routes_params_to_named_loss():
    loss = make_loss("weighted_ce", {"weights": "effective", "beta": 0.9})
    assert (loss.weights, loss.beta) == ("effective", 0.9)
    loss.set_class_counts(torch.tensor([100, 10]))
    np.testing.assert_allclose(
        loss.class_weights.numpy(), ref_effective([100, 10], 0.9), rtol=1e-12
    )


@pytest.mark.parametrize("spec, params", [("ce", {"weights": "balanced"}),
                                          ("weighted_ce", {"gamma": 2.0})])
def test_make_loss_bad_kwargs_for_name(spec, params):
    with pytest.raises(ValueError):
        make_loss(spec, params)


def test_make_loss_module_class_with_kwargs():
    loss = make_loss(nn.CrossEntropyLoss, {"label_smoothing": 0.2})
    assert isinstance(loss, nn.CrossEntropyLoss)
    assert loss.label_smoothing == 0.2
    loss = make_loss(WeightedCrossEntropy, {"weights": "sqrt"})
    assert isinstance(loss, WeightedCrossEntropy) and loss.weights == "sqrt"


def test_make_loss_module_class_bad_kwargs():
    with pytest.raises(ValueError, match="label_smoothin"):
        make_loss(nn.CrossEntropyLoss, {"label_smoothin": 0.2})


def test_make_loss_instance_is_deep_copied():
    original = WeightedCrossEntropy(weights="balanced")
    original.set_class_counts(torch.tensor([30, 10]))
    made = make_loss(original, {"weights": "sqrt", "beta": 0.5})
    assert made is not original
    assert (made.weights, made.beta) == ("sqrt", 0.5)
    assert (original.weights, original.beta) == ("balanced", 0.999)
    # buffers are copies, not shared storage
    assert made.class_weights.data_ptr() != original.class_weights.data_ptr()
    made.class_weights.mul_(0)
    np.testing.assert_allclose(original.class_weights.numpy(), [4 / 6, 2.0])
    # the new params take effect when the fit sets the counts
    made.set_class_counts(torch.tensor([400, 100]))
    np.testing.assert_allclose(made.class_weights.numpy() / made.class_weights[0].item(), [1, 2])


def test_make_loss_plain_torch_instance_is_copied():
    original = nn.CrossEntropyLoss(label_smoothing=0.1)
    made = make_loss(original, {"label_smoothing": 0.3})
    assert made is not original
    assert made.label_smoothing == 0.3 and original.label_smoothing == 0.1


def test_make_loss_instance_bad_param():
    original = CrossEntropy()
    with pytest.raises(ValueError, match="loss__nope"):
        make_loss(original, {"nope": 1})
    assert not hasattr(original, "nope")


@pytest.mark.parametrize("spec", [3, None, object, nn.functional.cross_entropy])
def test_make_loss_rejects_other_specs(spec):
    with pytest.raises(ValueError):
        make_loss(spec, {})


# ---------------------------------------------------------------------------
# check_loss_compatibility: what the refusals say
# ---------------------------------------------------------------------------


def test_error_messages_name_the_losses_to_use_instead():
    with pytest.raises(ValueError, match=", ".join(multilabel_losses())):
        WeightedCrossEntropy().set_label_counts(torch.tensor([5, 2]), 10)
    with pytest.raises(ValueError, match="loss='bce' takes binary or multi-label targets"):
        BinaryCrossEntropy.output_width(3)
    with pytest.raises(ValueError, match="loss='asl' takes binary or multi-label targets"):
        AsymmetricLoss().set_class_counts(torch.tensor([5, 3, 2]))


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
