"""Checks at the edge of a fit (issue 31): every parameter, module and batch setting that
cannot train is refused with a ValueError that names it, before any optimizer step, and
leaves no fitted state; the settings that can train after all (a one-row last batch under
batch norm) do."""

import numpy as np
import pytest
import torch
from torch import nn

from skimb import ImbalancedTorchClassifier
from tests.helpers import FAST, N_FEATURES, assert_unfitted, make_data, user_clf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class CountingAdamW(torch.optim.AdamW):
    """AdamW that counts the steps it took (skorch's closure runs inside ``step``)."""

    steps = 0

    def step(self, closure=None):
        loss = super().step(closure)
        CountingAdamW.steps += 1
        return loss


def _linear(n_out):
    return dict(module=nn.Linear, module__in_features=N_FEATURES, module__out_features=n_out)


def _ten_classes():
    X, _ = make_data()
    return X, np.arange(len(X)) % 10


CUDA = torch.cuda.is_available()

#: (parameters, data maker or None for the 3-class table, what the message must say)
REFUSED_BEFORE_TRAINING = [
    pytest.param(dict(class_weight="balanced"), None, r"class_weight.*loss='weighted_ce'.*"
                 r"loss__weights='balanced'", id="class_weight"),
    pytest.param(dict(loss="weighted_ce", loss__weights={0: 0, 1: 0, 2: 0}), None,
                 "0 for every class", id="all-zero class weights"),
    pytest.param(dict(loss="focal", loss__alpha={0: 0.0, 1: 0.0, 2: 0.0}), None,
                 "0 for every class", id="all-zero focal alpha"),
    pytest.param(dict(decision="tuned", decision__min_count=-1), None,
                 "decision__min_count", id="decision__min_count=-1"),
    pytest.param(dict(decision="tuned", decision__min_count=1.5), None,
                 "decision__min_count", id="decision__min_count=1.5"),
    pytest.param(dict(decision="prior", decision__shrinkage=-1.0), None,
                 "decision__shrinkage", id="decision__shrinkage=-1"),
    pytest.param(dict(decision="tuned", decision__exclude=[0, 1, 2]), None,
                 "exclude names every class", id="decision__exclude=every class"),
    pytest.param(dict(device="gpu"), None, "not a torch device", id="device='gpu'"),
    pytest.param(dict(device="cuda:99" if CUDA else "cuda"), None, "CUDA device",
                 id="device without CUDA"),
    pytest.param(dict(iterator_train__drop_last=True, batch_size=512, train_split=None), None,
                 "drop_last.*300 training rows", id="drop_last, fewer rows than a batch"),
    pytest.param(dict(sampler="under", iterator_train__drop_last=True, batch_size=256), None,
                 "drop_last", id="drop_last, an under-sampled epoch shorter than a batch"),
    pytest.param(dict(module__batch_norm=True, batch_size=1), None, "batch norm.*batch size is 1",
                 id="batch norm with batches of one row"),
    pytest.param(_linear(5), _ten_classes, r"5 outputs.*10 classes.*classes_ = \[0, 1",
                 id="module of 5 outputs for 10 classes"),
    pytest.param(_linear(10), None, r"10 outputs.*3 classes.*classes_ = \[0, 1, 2\]",
                 id="module of 10 outputs for 3 classes"),
    pytest.param({**_linear(10), "loss": nn.CrossEntropyLoss}, None, "10 outputs.*3 classes",
                 id="module of 10 outputs for 3 classes, a torch loss"),
]


@pytest.mark.parametrize("params, data, match", REFUSED_BEFORE_TRAINING)
def test_refused_before_any_optimizer_step(params, data, match):
    X, y = make_data() if data is None else data()
    fast = {k: v for k, v in FAST.items() if "module" not in params or "module__" not in k}
    clf = ImbalancedTorchClassifier(**{**fast, "optimizer": CountingAdamW, **params})
    CountingAdamW.steps = 0
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert CountingAdamW.steps == 0
    assert_unfitted(clf)


def test_class_weight_is_refused_by_set_params_too():
    with pytest.raises(ValueError, match="loss='weighted_ce'"):
        ImbalancedTorchClassifier().set_params(class_weight="balanced")


@pytest.mark.parametrize("n_out, loss", [(3, "ce"), (1, "bce"), (2, "bce")])
def test_a_module_of_the_right_width_trains(n_out, loss):
    X, y = make_data()
    if loss == "bce":
        y = (y > 0).astype(int)
    CountingAdamW.steps = 0
    clf = ImbalancedTorchClassifier(**{**{k: v for k, v in FAST.items() if "module__" not in k},
                                       **_linear(n_out), "loss": loss,
                                       "optimizer": CountingAdamW}).fit(X.astype("float32"), y)
    assert CountingAdamW.steps > 0  # the counter the refusals are checked with counts
    assert clf.predict_proba(X.astype("float32")).shape == (len(X), len(clf.classes_))


def test_a_multilabel_module_needs_one_output_per_label():
    X, y = make_data()
    Y = np.c_[y == 0, y == 1, y == 2, y == 1].astype(int)
    with pytest.raises(ValueError, match="3 outputs.*4 labels"):
        user_clf(loss="bce").fit(X.astype("float32"), Y)


@pytest.mark.parametrize("sampler", ["none", "over"])
def test_batch_norm_trains_past_a_one_row_last_batch(sampler):
    """257 rows at batch_size=256: the one-row last batch batch norm cannot train on is left
    out of the epoch (torch raised before)."""
    X, y = make_data(n=300)
    clf = ImbalancedTorchClassifier(
        **{**FAST, "train_split": None, "module__batch_norm": True, "batch_size": 256,
           "sampler": sampler}).fit(X[:257], y[:257])
    assert len(clf.history) == 2
    assert np.isfinite(clf.history[:, "train_loss"]).all()


def test_prior_never_predicts_a_class_whose_rows_all_weigh_zero():
    """Its prior share is 0: before, the floor gave it the largest offset and every row."""
    X, y = make_data()
    weights = np.where(y == 2, 0.0, 1.0)
    clf = ImbalancedTorchClassifier(**{**FAST, "decision": "prior"}).fit(
        X, y, sample_weight=weights)
    assert clf.decision_offsets_[2] == -np.inf
    assert np.isfinite(clf.decision_offsets_[:2]).all()
    assert 2 not in set(clf.predict(X))
    # without weights the prior is as before: the rarest class gets the largest offset
    plain = ImbalancedTorchClassifier(**{**FAST, "decision": "prior"}).fit(X, y)
    assert np.argmax(plain.decision_offsets_) == 2
