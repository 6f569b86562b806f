"""skorch 1.4.0's own ``test_classifier.py``, run against ImbalancedTorchClassifier.

The tests are skorch's, imported from the installed package (``skorch.tests.test_classifier``),
not copied. Our subclass of skorch's ``TestNeuralNet`` overrides only the ``net_cls`` fixture,
so every inherited test builds ``SkorchConventionClassifier`` (tests/fit/skorch_adapter.py): our
estimator with skorch's naming conventions (``criterion=`` -> ``loss=``, probabilities ->
logits). The fixtures the tests take from skorch's conftest (``classifier_data``,
``classifier_module`` and the autouse ``seeds_fixed``) are imported from it.

skorch's ``TestNeuralNetBinaryClassifier`` is not collected (only the ``test_classifier``
module is imported here, never its classes): every one of its tests is about
``NeuralNetBinaryClassifier`` (float 0/1 targets, a 1-d module output it squeezes, its
``threshold`` and its sigmoid, BCE criteria), a class ImbalancedTorchClassifier does not
derive from.

Where our class legitimately differs from ``NeuralNetClassifier``, the test is overridden only
to declare it: ``xfail(strict=True)`` with the exception the divergence raises, so that a test
failing for any other reason is reported as a plain failure.
"""

import numpy as np
import pytest
import torch
from skorch.tests import test_classifier as skorch_test_classifier
from skorch.tests.conftest import classifier_data, classifier_module, seeds_fixed  # noqa: F401

from tests.fit.skorch_adapter import SkorchConventionClassifier

pytestmark = pytest.mark.filterwarnings(
    # skorch's test classes define their module-scoped fixtures as instance methods.
    "ignore:Module-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
)

_SkorchTestNeuralNet = skorch_test_classifier.TestNeuralNet

LOSS_CALL = (
    "skorch's test replaces criterion_.forward with nn.NLLLoss, i.e. assumes skorch's criterion "
    "call criterion_(y_pred, y_true); skimb calls its losses as loss(logits, y, "
    "sample_weight=...) (ImbalancedTorchClassifier._member_loss), so the stand-in raises "
    "TypeError. skorch's NLLLoss-takes-log rule lives in NeuralNetClassifier.get_loss, which "
    "skimb replaces (its losses take logits); the adapter emulates the rule in infer()."
)
CLASS_NAME = (
    "the expected message names the literal class 'NeuralNetClassifier'; skorch's classes_ "
    "names type(self).__name__, here 'SkorchConventionClassifier'."
)

NEEDS_LABELS = (
    "the test fits a Dataset whose labels cannot be read (and expects the error about "
    "classes_ to name 'NeuralNetClassifier' afterwards); skimb needs every training row's "
    "label before training (class counts for the samplers, losses and decisions), so fit "
    "raises its ValueError asking for y."
)
CLASSES_ARE_LABELS = (
    "skorch treats y as positions into classes= (here labels 0..9 with classes=['foo', "
    "'bar']); skimb's classes= lists the labels y holds, in the order to encode them, and a "
    "label outside it is a ValueError (issue 17), so the mismatch is refused, not trained on."
)


def _recording_loss_calls(net_cls):
    """``net_cls`` whose ``partial_fit`` records how often the stand-in loss the skorch test
    put on ``criterion_.forward`` was called: the test's checks loop over those calls, so
    with none (e.g. ``partial_fit`` replaced ``criterion_``) it would pass vacuously."""
    loss_calls = []

    class Recording(net_cls):
        def partial_fit(self, *args, **kwargs):
            stand_in = vars(self.criterion_).get("forward")
            try:
                return super().partial_fit(*args, **kwargs)
            finally:
                loss_calls.append(getattr(stand_in, "call_count", None))

    Recording.__name__ = Recording.__qualname__ = net_cls.__name__  # for readable errors
    return Recording, loss_calls


def _assert_stand_in_loss_was_called(loss_calls):
    assert loss_calls and loss_calls[0], (
        "the test's stand-in criterion_.forward was never called: partial_fit did not train "
        "with the criterion_ the test had set, so its checks ran on nothing")


class TestImbalancedTorchClassifierAsNeuralNetClassifier(_SkorchTestNeuralNet):
    """Every test of skorch's ``TestNeuralNet``, with our estimator as ``net_cls``."""

    @pytest.fixture(scope="module")
    def net_cls(self):
        return SkorchConventionClassifier

    # -- legitimate divergences, declared ---------------------------------------------

    @pytest.mark.xfail(strict=True, raises=TypeError, reason=LOSS_CALL)
    def test_takes_log_with_nllloss(self, net_cls, module_cls, data):
        recording, loss_calls = _recording_loss_calls(net_cls)
        super().test_takes_log_with_nllloss(recording, module_cls, data)
        _assert_stand_in_loss_was_called(loss_calls)

    @pytest.mark.xfail(strict=True, raises=TypeError, reason=LOSS_CALL)
    def test_takes_no_log_without_nllloss(self, net_cls, module_cls, data):
        recording, loss_calls = _recording_loss_calls(net_cls)
        super().test_takes_no_log_without_nllloss(recording, module_cls, data)
        _assert_stand_in_loss_was_called(loss_calls)

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason=CLASS_NAME)
    @pytest.mark.parametrize("classes", [[], np.array([])])
    def test_pass_empty_classes_raises(self, net_cls, module_cls, data, classes):
        super().test_pass_empty_classes_raises(net_cls, module_cls, data, classes)

    @pytest.mark.xfail(strict=True, raises=ValueError, reason=NEEDS_LABELS)
    def test_error_when_classes_could_not_be_inferred(self, net_cls, module_cls, data):
        super().test_error_when_classes_could_not_be_inferred(net_cls, module_cls, data)

    @pytest.mark.xfail(strict=True, raises=ValueError, reason=CLASSES_ARE_LABELS)
    def test_pass_classes_explicitly_overrides(self, net_cls, module_cls, data):
        super().test_pass_classes_explicitly_overrides(net_cls, module_cls, data)


def test_adapter_keeps_the_module_probabilities(classifier_module, classifier_data):
    """Under skorch's default NLLLoss the adapter feeds our class log p, whose softmax is the
    module's own p: predict_proba returns what the module computes (so the suite tests our
    class on skorch's modules, not a distortion of them)."""
    X, y = classifier_data
    net = SkorchConventionClassifier(classifier_module, max_epochs=0, device="cpu").fit(X, y)
    net.module_.eval()
    with torch.no_grad():
        expected = net.module_(torch.as_tensor(X[:50])).numpy()
    np.testing.assert_allclose(net.predict_proba(X[:50]), expected, rtol=1e-5, atol=1e-6)
    assert net.loss == "ce" and net.get_params()["criterion"] is torch.nn.NLLLoss
