"""The GPU training path, forced on the CPU: draws that do not depend on where
the rows are kept, the device-memory budget, one compiled graph under
deferred re-weighting, nothing left on the device after fit, RNG forking,
float32 maths of the weighted BCE, and the AccelerateMixin refusal.

Every test that can run on a GPU is parametrised over ``DEVICES`` and runs on
CUDA when it is available."""

from __future__ import annotations

import pickle
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
import torch
from imblearn.over_sampling import RandomOverSampler
from skorch.callbacks import Callback
from skorch.hf import AccelerateMixin

import skimb._batches as training
from skimb import ImbalancedTorchClassifier
from skimb._batches import ResidentBatches, storage_device
from skimb.losses import BinaryCrossEntropy
from skimb.metrics import MacroF1Scoring
from skimb.samplers import make_sampler

from tests.helpers import clf_

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))]
HOST = torch.device("cpu", 0)   # a host store that differs from the training device "cpu"


def force_storage(monkeypatch, where):
    """Make every storage decision keep the rows on the device or on the host."""
    pick = (lambda nbytes, device: device) if where == "device" else (lambda nbytes, device: HOST)
    monkeypatch.setattr(training, "storage_device", pick)


# -- 1. draws independent of storage --------------------------------------------------


def _draws(monkeypatch, store, sampler_spec, X, y, w, epochs=3):
    """Row orders the sampler drew (or the seeds of an imblearn sampler), and the
    generator devices it drew with, training on the CPU with the rows kept on ``store``."""
    monkeypatch.setattr(training, "storage_device", lambda nbytes, device: store)
    sampler = make_sampler(sampler_spec, {})
    seen = []
    if hasattr(sampler, "resample"):
        real = sampler.resample

        def resample(*args, seed):
            seen.append(("seed", seed))
            return real(*args, seed=seed)

        sampler.resample = resample
    else:
        sampler.fit(y, 3, n_epochs=epochs)
        real = sampler.epoch_indices

        def epoch_indices(epoch, batch_size, generator):
            order = real(epoch, batch_size, generator)
            seen.append((generator.device.type, order.clone()))
            return order

        sampler.epoch_indices = epoch_indices
    batches = ResidentBatches(X, y, w, torch.device("cpu"), 16, sampler=sampler, seed=7)
    for _ in range(epochs):        # draw the epochs (the batch copies from "meta" cannot run)
        columns, order = batches._epoch_columns_and_order()
        batches.epoch += 1
        assert columns[0].device.type == order.device.type == store.type
    return seen, batches.generator.get_state()


@pytest.mark.parametrize("sampler", ["none", "under", "over", "progressive", "balanced_batch",
                                     RandomOverSampler()])
def test_draws_are_the_same_whatever_the_storage_device(data, monkeypatch, sampler):
    # The "meta" device stands for a store other than the training device: the
    # rows and the epoch orders live there, while the draws must come from the
    # training device's generator as when the rows are kept on it.
    X, y = data
    X = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(y)
    w = torch.linspace(0.5, 1.5, len(y))
    kept, state_kept = _draws(monkeypatch, torch.device("cpu"), sampler, X, y, w)
    elsewhere, state_elsewhere = _draws(monkeypatch, torch.device("meta"), sampler, X, y, w)
    assert len(kept) == len(elsewhere) == 3
    for (kind_kept, draw_kept), (kind_elsewhere, draw_elsewhere) in zip(kept, elsewhere):
        assert kind_kept == kind_elsewhere and kind_kept in ("cpu", "seed")
        assert torch.equal(torch.as_tensor(draw_kept), torch.as_tensor(draw_elsewhere))
    assert torch.equal(state_kept, state_elsewhere)   # the generator advanced alike


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sampler", ["over", "balanced_batch", RandomOverSampler()])
def test_same_model_whether_rows_sit_on_the_device_or_stream(data, monkeypatch, device, sampler):
    X, y = data
    params = dict(device=device, sampler=sampler, batch_size=32, max_epochs=2)
    force_storage(monkeypatch, "device")
    resident = clf_(**params).fit(X, y)
    force_storage(monkeypatch, "host")
    streamed = clf_(**params).fit(X, y)
    assert resident.training_storage_ == "device"
    assert streamed.training_storage_ == "host"
    np.testing.assert_array_equal(streamed.history[:, "train_loss"],
                                  resident.history[:, "train_loss"])
    np.testing.assert_array_equal(streamed.predict_proba(X), resident.predict_proba(X))


# -- 2. memory budget -------------------------------------------------------------------


def _patch_memory(monkeypatch, free, reserved, allocated):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 10 * free))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: reserved)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: allocated)


def test_budget_counts_memory_pytorch_can_reuse(monkeypatch):
    cuda = torch.device("cuda", 0)
    # 100 bytes free for the driver, plus 400 cached by PyTorch but unused:
    # half of 500 may hold the rows.
    _patch_memory(monkeypatch, free=100, reserved=500, allocated=100)
    assert storage_device(250, cuda) == cuda
    assert storage_device(251, cuda) == torch.device("cpu")
    _patch_memory(monkeypatch, free=100, reserved=100, allocated=100)
    assert storage_device(50, cuda) == cuda
    assert storage_device(51, cuda) == torch.device("cpu")
    assert storage_device(10**12, torch.device("cpu")) == torch.device("cpu")


def _requested(monkeypatch):
    """Record the bytes every storage decision is asked about (keeping rows on the device)."""
    asked = []

    def record(nbytes, device):
        asked.append(nbytes)
        return device

    monkeypatch.setattr(training, "storage_device", record)
    return asked


@pytest.mark.parametrize("multilabel", [False, True])
def test_budget_counts_targets_weights_and_the_order(monkeypatch, multilabel):
    n, d = 50, 6
    X = torch.zeros(n, d)
    y = torch.zeros(n, 4) if multilabel else torch.zeros(n, dtype=torch.long)
    w = torch.ones(n)
    asked = _requested(monkeypatch)
    ResidentBatches(X, y, w, torch.device("cpu"), 16)                      # validation
    ResidentBatches(X, y, w, torch.device("cpu"), 16,                      # training
                    sampler=make_sampler("none", {}).fit(torch.zeros(n, dtype=torch.long), 1))
    rows = 4 * d + (4 * 4 if multilabel else 8) + 4
    assert asked == [n * rows, n * (rows + 8)]


def test_imblearn_storage_is_decided_on_the_resampled_epoch(data, monkeypatch):
    X, y = data
    clf = clf_(sampler=RandomOverSampler(), max_epochs=2, train_split=None)
    resampled = 3 * np.bincount(y).max()
    per_row = 4 * X.shape[1] + 8 + 8          # features, label, order
    original = len(y) * per_row

    asked = []

    def budget(nbytes, device):                  # room for the original rows only
        asked.append(nbytes)
        return device if nbytes <= original else HOST

    monkeypatch.setattr(training, "storage_device", budget)
    clf.fit(X, y)
    assert asked[:2] == [resampled * per_row] * 2   # one decision per epoch, resampled size
    assert clf.training_storage_ == "host"
    assert clf.history[:, "event_storage"] == ["host", "host"]


def test_storage_is_reported(data, capsys):
    X, y = data
    clf = clf_(verbose=1).fit(X, y)
    assert clf.training_storage_ == "device"
    assert clf.history[:, "event_storage"] == ["device", "device"]
    header = capsys.readouterr().out.splitlines()[0]
    assert "storage" in header.split()
    from torch.utils.data import TensorDataset
    ds = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    assert clf_(module="mlp", module__scaling=None).fit(ds, y).training_storage_ == "dataloader"


# -- 3. compile once under deferred re-weighting ----------------------------------------


def _graphs_compiled(data, **params):
    torch._dynamo.reset()
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    X, y = data
    clf = clf_(compile=True, compile__backend=counting_backend, train_split=None,
               batch_size=100, **params)       # 300 rows: every batch has one shape
    clf.fit(X, y)
    torch._dynamo.reset()
    return len(graphs), clf


def test_compile_builds_the_same_graphs_with_and_without_drw(data):
    without, _ = _graphs_compiled(data, loss="weighted_ce", max_epochs=4)
    with_drw, clf = _graphs_compiled(data, loss="weighted_ce", loss__drw_epoch=2, max_epochs=4)
    assert with_drw == without
    # ... and the schedule still switched: weights in force are the class weights
    assert torch.equal(clf.loss_.active_weights, clf.loss_.class_weights)
    assert not torch.all(clf.loss_.class_weights == 1)


# -- 4. nothing left on the device after fit --------------------------------------------


def _tensors(obj, skip=(), seen=None):
    """Every tensor reachable from ``obj``'s attributes and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, torch.nn.Module) or isinstance(obj, torch.optim.Optimizer):
        return []       # module, loss and optimizer state are expected on the device
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple, set)):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = [v for k, v in vars(obj).items() if k not in skip]
    else:
        return []
    return [t for child in children for t in _tensors(child, (), seen)]


class _InterruptValidation(Callback):
    """Stops the fit with KeyboardInterrupt after the first validation batch."""

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            raise KeyboardInterrupt


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("interrupt", [False, True])
def test_nothing_held_after_fit(data, device, interrupt):
    X, y = data
    callbacks = [("stop", _InterruptValidation())] if interrupt else []
    clf = clf_(device=device, sampler="under", batch_size=16, callbacks=callbacks).fit(X, y)
    scorer = dict(clf.callbacks_)["valid_f1_macro"]
    assert isinstance(scorer, MacroF1Scoring)
    assert scorer._pred == [] and scorer._true == []
    assert clf.sampler_._cache == {}
    restored = pickle.loads(pickle.dumps(clf))
    held = _tensors(restored, skip=("module_", "criterion_", "optimizer_"))
    assert held and all(t.device.type == "cpu" for t in held)


# -- 5. RNG forking -----------------------------------------------------------------------


class _FakeGenerator:
    def __init__(self, index, seeded):
        self.index, self.seeded = index, seeded

    def manual_seed(self, seed):
        self.seeded.add(self.index)
        return self


@pytest.fixture
def two_fake_gpus(monkeypatch):
    """Two CUDA generators that record being seeded, and a fork_rng that records
    which devices it saves (the CPU generator is really forked)."""
    seeded, forked = set(), []
    fakes = tuple(_FakeGenerator(i, seeded) for i in range(2))
    real_fork = torch.random.fork_rng

    @contextmanager
    def fork_rng(devices=None, enabled=True, **kwargs):
        forked.extend(devices or [])
        with real_fork(devices=[], enabled=enabled):
            yield

    def seed_all(seed):
        for fake in fakes:
            fake.manual_seed(seed)

    monkeypatch.setattr(torch.random, "fork_rng", fork_rng)
    monkeypatch.setattr(torch.cuda, "default_generators", fakes)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seed_all)
    monkeypatch.setattr(torch.cuda, "manual_seed", lambda seed: fakes[0].manual_seed(seed))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    return seeded, forked


@pytest.mark.parametrize("device, used", [("cuda:1", {1}), ("cuda", {0}), ("cpu", set())])
def test_seeding_restores_every_generator_it_seeds(two_fake_gpus, device, used):
    seeded, forked = two_fake_gpus
    clf = ImbalancedTorchClassifier(device=device, random_state=3)
    before = torch.random.get_rng_state()
    with clf._seeded():
        inside = torch.rand(3)
    assert torch.equal(torch.random.get_rng_state(), before)    # CPU restored
    with clf._seeded():
        assert torch.equal(torch.rand(3), inside)                # and seeded
    assert seeded == used
    assert seeded <= set(forked)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_leaves_every_gpu_generator_alone(data):
    X, y = data
    states = [torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())]
    a = clf_(device="cuda").fit(X, y).predict_proba(X)
    b = clf_(device="cuda").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    for i, state in enumerate(states):
        assert torch.equal(torch.cuda.get_rng_state(i), state)


# -- 6. weighted BCE in float32 -------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_bce_auto_pos_weight_does_not_overflow_in_half(device):
    loss = BinaryCrossEntropy(pos_weight="auto")
    loss.set_class_counts(torch.tensor([1_000_000, 2]))        # neg/pos = 500000 > 65504
    loss = loss.to(device)
    z = torch.tensor([-3.0, 0.5, 2.0, -0.25], dtype=torch.float16, device=device)[:, None]
    y = torch.tensor([1, 0, 1, 0], device=device)
    s = torch.tensor([1.0, 2.0, 0.5, 1.0], device=device)
    out = loss(z, y, s)
    assert out.dtype == torch.float32 and torch.isfinite(out)
    z64, w = z.double().cpu()[:, 0], 500_000.0
    t = y.double().cpu()
    rows = -(w * t * torch.nn.functional.logsigmoid(z64)
             + (1 - t) * torch.nn.functional.logsigmoid(-z64))
    expected = float((rows * s.double().cpu()).sum() / s.double().sum().cpu())
    assert float(out) == pytest.approx(expected, rel=1e-6)


# -- 7. AccelerateMixin -------------------------------------------------------------------------


class _AcceleratedClassifier(AccelerateMixin, ImbalancedTorchClassifier):
    pass


def test_accelerate_mixin_is_refused_with_the_alternative(data):
    X, y = data
    accelerator = mock.Mock(device_placement=False)
    accelerator.prepare.side_effect = lambda *objects: objects[0] if len(objects) == 1 else objects
    clf = _AcceleratedClassifier(accelerator=accelerator, max_epochs=1,
                                 module__hidden_units=(8,))
    with pytest.raises(ValueError, match=r"AccelerateMixin.*torch\.autocast"):
        clf.fit(X, y)
    assert not clf.initialized_
