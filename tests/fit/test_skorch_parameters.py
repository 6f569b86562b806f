"""Every parameter of skorch's ``NeuralNet`` and ``NeuralNetClassifier`` has an entry in
``skimb._skorch_params.SKORCH_PARAMETERS``, the docs print that table as it is, and each
parameter is honoured or refused as its entry says (one small behavioural check each)."""

from __future__ import annotations

import inspect
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
import skorch
import skorch.net
import torch
from imblearn.over_sampling import RandomOverSampler
from sklearn.datasets import make_classification
from skorch.callbacks import Callback, EpochScoring
from skorch.dataset import Dataset as SkorchDataset
from skorch.dataset import ValidSplit
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset

from skimb import ImbalancedTorchClassifier
from skimb._skorch_params import RESIDENT_ITERATOR_KEYS, SKORCH_PARAMETERS
from skimb.networks import LinearNetwork, MLPNetwork
from tests.helpers import user_clf

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "user_guide" / "skorch_parameters.md"
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _skorch_parameters() -> list[str]:
    """Parameters of ``NeuralNet.__init__`` then ``NeuralNetClassifier.__init__`` (no self,
    ``*args``, ``**kwargs``), each once."""
    names = []
    for cls in (skorch.NeuralNet, skorch.NeuralNetClassifier):
        for name, parameter in inspect.signature(cls.__init__).parameters.items():
            if name != "self" and parameter.kind not in _VARIADIC and name not in names:
                names.append(name)
    return names


SKORCH_PARAMS = _skorch_parameters()
EVERY_PARAMETER = pytest.mark.parametrize("name", SKORCH_PARAMS)

#: Two epochs of a tiny network on the CPU.
BASE = dict(max_epochs=2, device="cpu", module__hidden_units=(8,), random_state=0)
SPLIT = dict(train_split=ValidSplit(5, stratified=True))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=100, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, weights=[0.7, 0.2], random_state=0)
    return X.astype(np.float32), y


def clf(**params) -> ImbalancedTorchClassifier:
    return ImbalancedTorchClassifier(**{**BASE, **params})


def small_module_clf(**params) -> ImbalancedTorchClassifier:
    """With a user's module, which takes no ``module__hidden_units``."""
    base = {key: value for key, value in BASE.items() if not key.startswith("module__")}
    return ImbalancedTorchClassifier(**{**base, "module": Small, **params})


def batch_counts(model) -> list[int]:
    return [row["train_batch_count"] for row in model.history]


class Small(nn.Module):
    def __init__(self, n_in=6, n_out=3):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.linear(X)


class CountingLoader(DataLoader):
    """A DataLoader that records the keyword arguments of every construction."""

    made: list = []

    def __init__(self, dataset, **kwargs):
        type(self).made.append(dict(kwargs))
        super().__init__(dataset, **kwargs)


class EpochCounter(Callback):
    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


# ---------------------------------------------------------------------------
# the table itself
# ---------------------------------------------------------------------------


@EVERY_PARAMETER
def test_every_skorch_parameter_has_an_entry(name):
    assert name in SKORCH_PARAMETERS, f"skorch's {name}= has no entry in SKORCH_PARAMETERS"
    assert SKORCH_PARAMETERS[name].startswith(("honoured", "refused")), SKORCH_PARAMETERS[name]


def test_the_table_has_no_stale_entries():
    assert sorted(set(SKORCH_PARAMETERS) - set(SKORCH_PARAMS)) == []


def test_every_parameter_has_a_behavioural_check():
    assert sorted(CHECKS) == sorted(SKORCH_PARAMS)


def _docs_rows() -> dict[str, str]:
    """``{parameter: text}`` of the page's first table, code spans' backticks removed."""
    lines = DOCS_PAGE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| parameter |"))
    rows = {}
    for line in lines[start + 2:]:
        match = re.fullmatch(r"\| `(\w+)` \| (.*) \|", line)
        if not match:
            break
        rows[match.group(1)] = match.group(2).replace("`", "")
    return rows


def test_the_docs_print_the_table_as_it_is():
    rows = _docs_rows()
    assert list(rows) == list(SKORCH_PARAMETERS), "the docs list the parameters in table order"
    for name, text in SKORCH_PARAMETERS.items():
        assert rows[name] == text, f"docs row {name!r} differs from SKORCH_PARAMETERS"


def test_the_docs_name_the_resident_iterator_keys():
    page = DOCS_PAGE.read_text(encoding="utf-8")
    assert ", ".join(f"`{key}`" for key in sorted(RESIDENT_ITERATOR_KEYS)) in page


# ---------------------------------------------------------------------------
# one behavioural check per parameter
# ---------------------------------------------------------------------------


def check_module(X, y, monkeypatch, capsys):
    linear = {key: value for key, value in BASE.items() if not key.startswith("module__")}
    assert isinstance(ImbalancedTorchClassifier(module="linear", **linear).fit(X, y).module_,
                      LinearNetwork)
    assert isinstance(clf(module=None).fit(X, y).module_, MLPNetwork)  # the CPU default
    assert isinstance(small_module_clf().fit(X, y).module_, Small)  # a class, built with module__*
    instance = Small()
    assert small_module_clf(module=instance).fit(X, y).module_ is instance
    with pytest.raises(ValueError, match="Unknown module='nope'"):
        clf(module="nope").fit(X, y)


def check_criterion(X, y, monkeypatch, capsys):
    with pytest.raises(TypeError, match="not criterion"):
        ImbalancedTorchClassifier(criterion=nn.CrossEntropyLoss)
    assert "criterion" not in ImbalancedTorchClassifier().get_params()
    with pytest.raises(TypeError, match="not criterion"):
        ImbalancedTorchClassifier().set_params(criterion=nn.NLLLoss)


def check_optimizer(X, y, monkeypatch, capsys):
    assert type(clf().fit(X, y).optimizer_) is torch.optim.AdamW  # the default
    model = clf(optimizer=torch.optim.SGD, optimizer__momentum=0.5).fit(X, y)
    assert type(model.optimizer_) is torch.optim.SGD
    assert model.optimizer_.param_groups[0]["momentum"] == 0.5


def check_lr(X, y, monkeypatch, capsys):
    assert ImbalancedTorchClassifier().lr == 2e-3
    model = clf(lr=0.05).fit(X, y)
    assert model.history[0]["event_lr"] == pytest.approx(0.05)  # the cosine starts at lr
    assert model.history[1]["event_lr"] < 0.05
    fixed = clf(lr=0.05, callbacks__lr_scheduler=None).fit(X, y)
    assert fixed.optimizer_.param_groups[0]["lr"] == 0.05


def check_max_epochs(X, y, monkeypatch, capsys):
    model = clf(max_epochs=3, sampler="under").fit(X, y)  # an integer: skorch's meaning
    assert model.max_epochs_ == 3 and len(model.history) == 3
    # "auto": 2 epochs of 'none' here; every sampler gets the optimizer steps of 'none'
    monkeypatch.setattr("skimb.recipe.AUTO_ROW_VISITS", 200)
    monkeypatch.setattr("skimb.recipe.AUTO_MIN_EPOCHS", 1)
    plain = clf(max_epochs="auto", batch_size=16).fit(X, y)
    under = clf(max_epochs="auto", batch_size=16, sampler="under").fit(X, y)
    assert plain.max_epochs_ == 2 and sum(batch_counts(plain)) == 2 * math.ceil(100 / 16)
    assert under.max_epochs_ > plain.max_epochs_
    steps = sum(batch_counts(under))
    assert sum(batch_counts(plain)) <= steps < sum(batch_counts(plain)) + batch_counts(under)[0]


def check_batch_size(X, y, monkeypatch, capsys):
    assert batch_counts(clf(batch_size=30).fit(X, y)) == [4, 4]  # 100 rows
    assert batch_counts(clf(batch_size=-1).fit(X, y)) == [1, 1]  # the whole dataset


def check_iterator_train(X, y, monkeypatch, capsys):
    CountingLoader.made = []
    model = clf(iterator_train=CountingLoader, batch_size=30).fit(X, y)
    assert model.training_storage_ == "dataloader"
    assert CountingLoader.made == [{"batch_size": 30}]  # built once per call, as given
    assert batch_counts(model) == [4, 4]
    with pytest.raises(ValueError, match="iterator_train=CountingLoader decides the training "
                                         "order, and so does sampler='under'"):
        clf(iterator_train=CountingLoader, sampler="under").fit(X, y)


def check_iterator_valid(X, y, monkeypatch, capsys):
    CountingLoader.made = []
    model = clf(iterator_valid=CountingLoader, batch_size=7, **SPLIT).fit(X, y)
    assert CountingLoader.made == [{"batch_size": 7}]  # the validation rows only
    assert model.training_storage_ == "device"
    assert [row["valid_batch_count"] for row in model.history] == [3, 3]  # 20 rows


def check_dataset(X, y, monkeypatch, capsys):
    custom = type("MyDataset", (SkorchDataset,), {})
    with pytest.raises(ValueError, match="dataset= is not used"):
        clf(dataset=custom).fit(X, y)
    with pytest.raises(ValueError, match="dataset= is not used"):
        clf(dataset__length=100).fit(X, y)
    assert clf(dataset=SkorchDataset).fit(X, y).initialized_  # skorch's default passes


def check_train_split(X, y, monkeypatch, capsys):
    every_row = clf(train_split=None).fit(X, y)  # the default
    assert ImbalancedTorchClassifier().train_split is None
    assert "valid_loss" not in every_row.history[-1] and every_row.class_counts_.sum() == 100
    split = clf(**SPLIT).fit(X, y)
    assert {"valid_loss", "valid_f1_macro"} <= set(split.history[-1])
    assert split.class_counts_.sum() == 80


def check_callbacks(X, y, monkeypatch, capsys):
    counter = EpochCounter()
    model = clf(callbacks=[("counter", counter)]).fit(X, y)
    assert counter.epochs == 2
    names = [name for name, _ in model.callbacks_]
    assert {"lr_scheduler", "gradient_clipping", "best_epoch", "counter"} <= set(names)
    off = clf(callbacks__lr_scheduler=None).fit(X, y)
    assert "lr_scheduler" not in dict(off.callbacks_)
    assert "event_lr" not in off.history[-1]


def check_predict_nonlinearity(X, y, monkeypatch, capsys):
    probabilities = clf().fit(X, y).predict_proba(X[:5])  # 'auto': the loss's probabilities
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    raw = clf(predict_nonlinearity=None).fit(X, y)
    raw.module_.eval()
    with torch.no_grad():
        logits = raw.module_(torch.from_numpy(X[:5])).numpy()
    np.testing.assert_allclose(raw.predict_proba(X[:5]), logits, rtol=1e-5, atol=1e-6)
    doubled = clf(predict_nonlinearity=lambda z: 2 * z).fit(X, y)
    doubled.module_.eval()
    with torch.no_grad():
        logits = doubled.module_(torch.from_numpy(X[:5])).numpy()
    np.testing.assert_allclose(doubled.predict_proba(X[:5]), 2 * logits, rtol=1e-5, atol=1e-6)


def check_warm_start(X, y, monkeypatch, capsys):
    warm = clf(warm_start=True).fit(X, y)
    module = warm.module_
    warm.fit(X, y)
    assert len(warm.history) == 4 and warm.module_ is module  # continued, as partial_fit
    cold = clf().fit(X, y)
    module = cold.module_
    cold.fit(X, y)
    assert len(cold.history) == 2 and cold.module_ is not module


def check_verbose(X, y, monkeypatch, capsys):
    capsys.readouterr()
    clf(verbose=0).fit(X, y)  # the default
    assert capsys.readouterr().out == ""
    clf(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "storage" in out


def check_device(X, y, monkeypatch, capsys):
    auto = ImbalancedTorchClassifier()
    assert auto.get_params()["device"] == "auto"
    assert auto.device == ("cuda" if torch.cuda.is_available() else "cpu")
    model = clf(device="cpu").fit(X, y)
    assert all(p.device.type == "cpu" for p in model.module_.parameters())


def check_compile(X, y, monkeypatch, capsys):
    compiled = clf(compile=True, compile__backend="eager").fit(X, y)
    assert isinstance(compiled.module_, torch._dynamo.eval_frame.OptimizedModule)
    assert isinstance(compiled.criterion_, torch._dynamo.eval_frame.OptimizedModule)
    assert type(compiled.loss_).__name__ == "CrossEntropy"  # unwrapped
    assert compiled.predict(X[:5]).shape == (5,)


def check_use_caching(X, y, monkeypatch, capsys):
    real_calls = []
    original = ImbalancedTorchClassifier.forward_iter

    def counting(self, *args, **kwargs):
        real_calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ImbalancedTorchClassifier, "forward_iter", counting)

    def scorer(net, X_valid, y_valid):  # needs no labels
        return float(net.predict_proba(X_valid).shape[0])

    for use_caching in ("auto", True):
        real_calls.clear()
        scoring = ("n_valid", EpochScoring(scorer, name="n_valid"))
        model = clf(use_caching=use_caching, callbacks=[scoring], **SPLIT).fit(X, y)
        assert model.history[-1]["n_valid"] == 20
        assert real_calls == [], use_caching  # the epoch's predictions, reused
    with pytest.raises(ValueError, match="use_caching=False is not supported"):
        clf(use_caching=False, **SPLIT).fit(X, y)


def check_torch_load_kwargs(X, y, monkeypatch, capsys):
    model = clf().fit(X, y)
    saved = io.BytesIO()
    model.save_params(f_params=saved)
    seen = []
    load = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return load(*args, **kwargs)

    monkeypatch.setattr(skorch.net.torch, "load", spy)
    model.set_params(torch_load_kwargs={"weights_only": False})
    saved.seek(0)
    model.load_params(f_params=saved)
    assert len(seen) == 1 and seen[0]["weights_only"] is False
    assert model.predict(X[:5]).shape == (5,)


def check_classes(X, y, monkeypatch, capsys):
    labels = np.array(["a", "b", "c"])[y]
    ordered = clf(classes=["c", "a", "b"]).fit(X, labels)
    assert ordered.classes_.tolist() == ["c", "a", "b"]
    counts = np.bincount(y)
    assert ordered.class_counts_.tolist() == [counts[2], counts[0], counts[1]]
    assert set(ordered.predict(X)) <= {"a", "b", "c"}
    with pytest.raises(ValueError, match="not in classes="):
        clf(classes=["a", "b"]).fit(X, labels)
    with pytest.raises(ValueError, match=r"classes= lists \['d'\], which y does not hold"):
        clf(classes=["a", "b", "c", "d"]).fit(X, labels)
    opted_out = clf(classes=[]).fit(X, y)
    assert not hasattr(opted_out, "classes_")
    assert set(opted_out.predict(X)) <= {0, 1, 2}  # class positions


CHECKS = {
    "module": check_module,
    "criterion": check_criterion,
    "optimizer": check_optimizer,
    "lr": check_lr,
    "max_epochs": check_max_epochs,
    "batch_size": check_batch_size,
    "iterator_train": check_iterator_train,
    "iterator_valid": check_iterator_valid,
    "dataset": check_dataset,
    "train_split": check_train_split,
    "callbacks": check_callbacks,
    "predict_nonlinearity": check_predict_nonlinearity,
    "warm_start": check_warm_start,
    "verbose": check_verbose,
    "device": check_device,
    "compile": check_compile,
    "use_caching": check_use_caching,
    "torch_load_kwargs": check_torch_load_kwargs,
    "classes": check_classes,
}


@EVERY_PARAMETER
def test_the_parameter_behaves_as_its_entry_says(name, data, monkeypatch, capsys):
    if name not in CHECKS:
        pytest.fail(f"no behavioural check for skorch's {name}=")
    CHECKS[name](*data, monkeypatch, capsys)


# ---------------------------------------------------------------------------
# the resident-path iterator rule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("params, counts", [
    ({"iterator_train__batch_size": 30}, [4, 4]),
    ({"iterator_train__batch_size": 30, "iterator_train__drop_last": True}, [3, 3]),
    ({"iterator_train__shuffle": True, "batch_size": 30}, [4, 4]),
    ({"iterator_train__shuffle": False, "batch_size": 30}, [4, 4]),
])
def test_resident_keys_keep_the_rows_on_the_device(data, params, counts):
    model = clf(**params).fit(*data)
    assert model.training_storage_ == "device" and batch_counts(model) == counts


def test_shuffle_false_visits_the_rows_in_order(data):
    X, y = data
    seen = []

    class FirstBatch(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and not seen:
                seen.append(batch[0].clone())

    clf(iterator_train__shuffle=False, batch_size=10, callbacks=[FirstBatch()]).fit(X, y)
    np.testing.assert_array_equal(seen[0].numpy(), X[:10])


def test_another_key_sends_the_rows_through_a_dataloader_driven_by_the_sampler(data):
    X, y = data
    model = clf(iterator_train__num_workers=0, batch_size=16).fit(X, y)
    assert model.training_storage_ == "dataloader" and batch_counts(model) == [7, 7]
    under = clf(iterator_train__num_workers=0, batch_size=16, sampler="under").fit(X, y)
    per_class = int(np.bincount(y).min())
    assert under.training_storage_ == "dataloader"
    assert batch_counts(under) == [math.ceil(3 * per_class / 16)] * 2  # 'under' still draws


def test_another_validation_key_reads_the_validation_rows_through_a_dataloader(data):
    X, y = data
    calls = []

    def collate(items):
        calls.append(len(items))
        return torch.utils.data.default_collate(items)

    model = clf(iterator_valid__collate_fn=collate, batch_size=8, **SPLIT).fit(X, y)
    assert model.training_storage_ == "device"
    assert sum(calls) == 2 * 20  # two epochs of the 20 validation rows


@pytest.mark.parametrize("key", ["sampler", "batch_sampler"])
def test_a_user_sampler_needs_sampler_none(data, key):
    X, y = data
    order = SequentialSampler(range(100))
    given = order if key == "sampler" else BatchSampler(order, batch_size=25, drop_last=False)
    model = clf(**{f"iterator_train__{key}": given}, batch_size=25).fit(X, y)
    assert model.training_storage_ == "dataloader" and batch_counts(model) == [4, 4]
    with pytest.raises(ValueError, match=f"iterator_train__{key} decides the training order"):
        clf(**{f"iterator_train__{key}": given}, sampler="over").fit(X, y)


def test_shuffle_false_needs_sampler_none(data):
    with pytest.raises(ValueError, match="shuffle=False keeps the rows in order"):
        clf(iterator_train__shuffle=False, sampler="under").fit(*data)
    with pytest.raises(ValueError, match="shuffle=False"):
        clf(iterator_train__shuffle=False, sampler__max_per_class=20).fit(*data)


def test_imblearn_samplers_need_the_resident_path(data):
    X, y = data
    sampler = RandomOverSampler(random_state=0)
    resident = clf(sampler=sampler, iterator_train__drop_last=True, batch_size=32).fit(X, y)
    assert resident.training_storage_ == "device"
    with pytest.raises(ValueError, match="resamples in-memory arrays every epoch"):
        clf(sampler=sampler, iterator_train__num_workers=0).fit(X, y)


# ---------------------------------------------------------------------------
# gaps found while writing the table's checks (strict: they fail once fixed)
# ---------------------------------------------------------------------------


def test_criterion_prefixed_parameters_are_refused():
    with pytest.raises(TypeError, match="loss__\\*, not criterion__reduction"):
        ImbalancedTorchClassifier(criterion__reduction="sum")
    with pytest.raises(TypeError, match="criterion__reduction"):
        ImbalancedTorchClassifier().set_params(criterion__reduction="sum")


# -- iterator_train__collate_fn, and iterator_train__sampler on a Dataset --------------------


def test_collate_fn_sends_in_memory_rows_through_the_dataloader(data):
    X, y = data
    calls = []

    def collate(items):
        calls.append(len(items))
        return torch.utils.data.default_collate(items)

    model = clf(iterator_train__collate_fn=collate).fit(X, y)
    assert model.training_storage_ == "dataloader"
    assert sum(calls) == 2 * 100  # two epochs of the training rows


def test_a_user_sampler_is_honoured_with_sampler_none_and_refused_otherwise(data):
    X, y = data
    dataset = TensorDataset(torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y))
    seen = []

    class Counting(SequentialSampler):
        def __iter__(self):
            seen.append(True)
            return super().__iter__()

    user_clf(train_split=None, iterator_train__sampler=Counting(dataset)).fit(dataset, y)
    assert len(seen) == 2
    with pytest.raises(ValueError, match="iterator_train__sampler decides the training order"):
        user_clf(sampler="over", iterator_train__sampler=Counting(dataset)).fit(dataset, y)


# -- batch_size and max_epochs: clear errors -----------------------------------------------


@pytest.mark.parametrize("key, value", [
    ("batch_size", 0), ("batch_size", -2), ("batch_size", 2.5), ("batch_size", True),
    ("iterator_train__batch_size", 0), ("iterator_valid__batch_size", -5),
])
def test_bad_batch_size_is_a_clear_error(data, key, value):
    X, y = data
    model = clf(**{key: value})
    with pytest.raises(ValueError, match=rf"{key} must be a positive integer, or -1 .* {value!r}"):
        model.fit(X, y)
    assert not model.initialized_ and not hasattr(model, "classes_")
    if key == "batch_size":
        fitted = clf().fit(X, y).set_params(batch_size=value)
        with pytest.raises(ValueError, match=rf"{key} must be a positive integer"):
            fitted.predict(X)


@pytest.mark.parametrize("value", [-1, 1.5, None, "fast"])
def test_bad_max_epochs_is_a_clear_error(data, value):
    X, y = data
    with pytest.raises(ValueError, match=rf"max_epochs must be a non-negative integer or 'auto'; "
                                         rf"got {value!r}"):
        clf(max_epochs=value).fit(X, y)


def test_zero_epochs_initializes_only(data):
    X, y = data
    model = clf(max_epochs=0).fit(X, y)
    assert len(model.history) == 0
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0, atol=1e-6)
