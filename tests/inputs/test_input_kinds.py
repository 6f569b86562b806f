"""Inputs beyond the 2-D table: N-D arrays and tensors (images, sequences), uint8
images, signed integer ids (kept, for an nn.Embedding), dicts of arrays (SliceDict) as
forward arguments, and torch Datasets that carry their labels (``targets``,
TensorDataset, skorch Dataset, Subset, SliceDataset).

Every index sampler and every loss on each input kind, sample weights, multi-label
targets, the tuned decision, pickling, GridSearchCV and an imblearn Pipeline; the
shape checks at predict and the refusals (module=None, imbalanced-learn samplers,
unreadable labels, bad dicts, NaN).
"""

import pickle
import re

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback
from skorch.dataset import Dataset as SkorchDataset
from skorch.dataset import ValidSplit
from skorch.helper import SliceDataset, SliceDict
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset

from skimb import ImbalancedTorchClassifier, list_losses, list_samplers
from skimb._data import WeightedTarget
from skimb._batches import ResidentBatches
from skimb.modules import CosineLinear

COUNTS = (80, 28, 12)
BINARY_COUNTS = (90, 30)
SHAPE = (1, 4, 4)
KINDS = ("ndarray", "dict", "dataset")
NAMES = np.array(["dry", "ice", "wet"])

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- data ------------------------------------------------------------------------------


def labels(counts=COUNTS):
    return np.repeat(np.arange(len(counts)), counts)


def images(y, seed=0, shape=SHAPE):
    """Float32 images ``(n, *shape)`` with a learnable signal in the first pixels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(y),) + shape).astype(np.float32)
    flat = X.reshape(len(y), -1)
    if y.ndim == 2:  # multi-label: one pixel per label
        flat[:, :y.shape[1]] += 3.0 * y
    else:
        flat[:, 0] += 2.0 * y
    return X


def uint8_images(y, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 120, size=(len(y),) + SHAPE)
    X.reshape(len(y), -1)[:, 0] += 60 * y
    return X.astype(np.uint8)


def extra_features(y, seed=1):
    rng = np.random.default_rng(seed)
    extra = rng.normal(size=(len(y), 3)).astype(np.float32)
    if y.ndim == 2:
        extra[:, :y.shape[1]] += y
    else:
        extra[:, 0] += y
    return extra


class LabeledImages(Dataset):
    """A torchvision-style Dataset: items ``(x, label)``, labels in ``targets``."""

    def __init__(self, X, targets):
        self.X = torch.as_tensor(X)
        self.targets = targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        target = self.targets[i]
        return self.X[i], (torch.as_tensor(target) if np.ndim(target) else target)


class InputsOnly(Dataset):
    """A Dataset of inputs alone: items ``x``, no labels anywhere."""

    def __init__(self, X):
        self.X = torch.as_tensor(X)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


class DictItems(Dataset):
    """Items ``({"image": x, "extra": e}, label)``, labels in ``targets``."""

    def __init__(self, X, extra, targets):
        self.X, self.extra, self.targets = torch.as_tensor(X), torch.as_tensor(extra), targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return {"image": self.X[i], "extra": self.extra[i]}, self.targets[i]


# -- modules ---------------------------------------------------------------------------


def _head(width, n_out, cosine):
    return CosineLinear(width, n_out) if cosine else nn.Linear(width, n_out)


def _check_float32(X, name="X"):
    if X.dtype != torch.float32:
        raise TypeError(f"the module got {name} of dtype {X.dtype}, not float32")


class ImageNet(nn.Module):
    """A tiny image classifier; refuses any input that is not float32 and records
    the largest input value it saw (to tell scaled from unscaled uint8)."""

    def __init__(self, n_out=3, cosine=False, n_in=16):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(n_in, 16), nn.ReLU())
        self.head = _head(16, n_out, cosine)
        self.seen_max = []

    def forward(self, X):
        _check_float32(X)
        self.seen_max.append(float(X.detach().abs().max()))
        return self.head(self.body(X))


class TwoInputNet(nn.Module):
    """Two forward arguments, as a dict of arrays gives them."""

    def __init__(self, n_out=3, cosine=False):
        super().__init__()
        self.image = nn.Sequential(nn.Flatten(), nn.Linear(16, 16))
        self.extra = nn.Linear(3, 16)
        self.head = _head(16, n_out, cosine)
        self.seen_max = []

    def forward(self, image, extra):
        _check_float32(image, "image")
        _check_float32(extra, "extra")
        self.seen_max.append(float(image.detach().abs().max()))
        return self.head(torch.relu(self.image(image) + self.extra(extra)))


class SequenceNet(nn.Module):
    """A GRU over ``(batch, T, F)`` sequences."""

    def __init__(self, n_features=2, n_out=3):
        super().__init__()
        self.gru = nn.GRU(n_features, 8, batch_first=True)
        self.head = nn.Linear(8, n_out)

    def forward(self, X):
        _check_float32(X)
        return self.head(self.gru(X)[0][:, -1])


class TableNet(nn.Module):
    def __init__(self, n_in=16, n_out=3, cosine=False):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))

    def forward(self, X):
        return self.net(X)


class Recorder(Callback):
    """Records every training batch: feature dtypes and devices, labels, weights."""

    def initialize(self):
        self.epochs = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        X, y = batch
        weights = None
        if isinstance(y, WeightedTarget):
            y, weights = y
        leaves = X if isinstance(X, dict) else {"X": X}
        self.epochs[-1].append(dict(
            dtypes={k: v.dtype for k, v in leaves.items()},
            devices={k: v.device.type for k, v in leaves.items()},
            y=y.detach().cpu().numpy(),
            w=None if weights is None else weights.detach().cpu().numpy()))


def make_clf(module, n_out=3, cosine=False, recorder=False, **params):
    module_params = {"module__n_out": n_out}
    if module in (ImageNet, TwoInputNet, TableNet):
        module_params["module__cosine"] = cosine
    defaults = dict(max_epochs=2, batch_size=32, lr=0.01, device="cpu", random_state=0)
    if recorder:
        params["callbacks"] = [("recorder", Recorder())]
    return ImbalancedTorchClassifier(module, **{**defaults, **module_params, **params})


def recorded(clf):
    return dict(clf.callbacks_)["recorder"].epochs


def make_input(kind, y, X=None):
    """``(X_fit, y_fit, module)`` for an input kind; a Dataset carries its labels."""
    X = images(y) if X is None else X
    if kind == "ndarray":
        return X, y, ImageNet
    if kind == "dict":
        return SliceDict(image=X, extra=extra_features(y)), y, TwoInputNet
    if kind == "dataset":
        return LabeledImages(X, y), None, ImageNet
    raise AssertionError(kind)


def assert_probabilities(proba, n_rows, n_classes):
    assert proba.shape == (n_rows, n_classes)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


# -- every index sampler and every loss, on every input kind ---------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sampler", list_samplers())
def test_every_index_sampler_on_every_input_kind(kind, sampler):
    y = labels()
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, sampler=sampler, recorder=True).fit(X, y_fit)
    assert_probabilities(clf.predict_proba(X), len(y), 3)
    prediction = clf.predict(X)
    assert prediction.shape == (len(y),) and set(prediction) <= {0, 1, 2}
    assert clf.class_counts_.tolist() == list(COUNTS)
    assert clf.training_storage_ == ("dataloader" if kind == "dataset" else "device")
    # the sampler drew the epochs, on the resident path and through the DataLoader alike
    epochs = recorded(clf)
    assert len(epochs) == 2
    for batches in epochs:
        drawn = np.concatenate([b["y"] for b in batches])
        assert len(drawn) == clf.sampler_.rows_per_epoch(torch.tensor(COUNTS))
        counts = np.bincount(drawn, minlength=3)
        if sampler == "none":
            assert counts.tolist() == list(COUNTS)
        elif sampler == "under":
            assert counts.tolist() == [12, 12, 12]
        elif sampler == "over":
            assert counts[2] > 25  # class-balanced: about 40 of each
        elif sampler == "balanced_batch":
            for batch in batches:
                per_batch = np.bincount(batch["y"], minlength=3)
                assert per_batch.max() - per_batch.min() <= 1


def _loss_case(loss):
    """``(counts, n_out, cosine)``: a target each loss supports, a module it needs."""
    if loss in ("bce", "asl"):
        return BINARY_COUNTS, 1, False
    return COUNTS, 3, loss == "ldam"


@pytest.mark.filterwarnings("ignore:loss='ldam' expects cosine logits:UserWarning")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", list_losses())
def test_every_loss_on_every_input_kind(kind, loss):
    counts, n_out, cosine = _loss_case(loss)
    y = labels(counts)
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, n_out=n_out, cosine=cosine, loss=loss).fit(X, y_fit)
    assert clf.loss_.name == loss
    np.testing.assert_array_equal(clf.loss_.class_counts.numpy(), counts)
    assert all(np.isfinite(row["train_loss"]) for row in clf.history)
    assert_probabilities(clf.predict_proba(X), len(y), len(counts))
    assert set(clf.predict(X)) <= set(range(len(counts)))
    if cosine:
        assert isinstance(clf.module_.head, CosineLinear)


def test_ldam_with_a_user_module_names_cosine_linear():
    y = labels()
    with pytest.warns(UserWarning, match=r"skimb\.modules\.CosineLinear"):
        make_clf(ImageNet, loss="ldam", max_epochs=1).fit(images(y), y)


def test_ldam_with_a_cosine_head_gives_no_warning():
    import warnings
    y = labels()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        make_clf(ImageNet, cosine=True, loss="ldam", max_epochs=1).fit(images(y), y)


def test_float64_dataset_items_reach_the_module_as_float32():
    y = labels()
    dataset = LabeledImages(images(y).astype(np.float64), y)
    assert dataset[0][0].dtype == torch.float64
    clf = make_clf(ImageNet).fit(dataset)  # ImageNet raises unless its input is float32
    assert_probabilities(clf.predict_proba(dataset), len(y), 3)


def test_sequences_with_a_gru():
    y = labels()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(y), 5, 2)).astype(np.float32)
    X[:, :, 0] += y[:, None]
    clf = make_clf(SequenceNet, sampler="balanced_batch", loss="focal").fit(X, y)
    assert clf.input_shape_ == (5, 2)
    assert "n_features_in_" not in vars(clf)
    assert clf.training_storage_ == "device"
    assert_probabilities(clf.predict_proba(X), len(y), 3)
    # the same sequences through a Dataset
    ds_clf = make_clf(SequenceNet, sampler="balanced_batch").fit(LabeledImages(X, y))
    assert ds_clf.input_shape_ == (5, 2) and ds_clf.training_storage_ == "dataloader"
    assert_probabilities(ds_clf.predict_proba(X), len(y), 3)


def test_tensors_and_float64_train_as_float32_arrays():
    y = labels()
    X = images(y)
    reference = make_clf(ImageNet).fit(X, y).predict_proba(X)
    from_tensor = make_clf(ImageNet).fit(torch.from_numpy(X), y)
    np.testing.assert_allclose(from_tensor.predict_proba(torch.from_numpy(X)), reference,
                               atol=1e-6)
    from_float64 = make_clf(ImageNet).fit(X.astype(np.float64), y)
    np.testing.assert_allclose(from_float64.predict_proba(X.astype(np.float64)), reference,
                               atol=1e-6)
    # unsigned integers other than uint8 are numbers to convert, not images to keep
    whole = np.abs(np.round(X * 10)).astype(np.uint16)
    from_int = make_clf(ImageNet, scale_uint8=True).fit(whole, y)
    from_float = make_clf(ImageNet).fit(whole.astype(np.float32), y)
    np.testing.assert_allclose(from_int.predict_proba(whole),
                               from_float.predict_proba(whole.astype(np.float32)), atol=1e-6)


# -- signed integers: ids, kept as they are --------------------------------------------


class TokensAndMeta(nn.Module):
    """Bags of int64 token ids and two float columns (an EmbeddingBag refuses floats)."""

    def __init__(self, n_out=2):
        super().__init__()
        self.emb = nn.EmbeddingBag(50, 8)
        self.lin = nn.Linear(8 + 2, n_out)

    def forward(self, tokens, meta):
        return self.lin(torch.cat([self.emb(tokens), meta], 1))


class IdsNet(nn.Module):
    """Embeds rows of ids of any shape; records the dtype it is given."""

    def __init__(self, n_out=3):
        super().__init__()
        self.embed = nn.Embedding(50, 4)
        self.head = nn.Linear(4, n_out)
        self.seen_dtypes = set()

    def forward(self, X):
        self.seen_dtypes.add(X.dtype)
        return self.head(self.embed(X.long()).flatten(1, -2).mean(dim=1))


def token_dict(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return {"tokens": rng.integers(0, 50, (n, 6)),
            "meta": rng.normal(size=(n, 2)).astype(np.float32)}


def _copies(X):
    return {key: np.array(value, copy=True) for key, value in X.items()}


@pytest.mark.parametrize("wrap", [dict, SliceDict])
def test_int64_token_ids_in_a_dict_reach_an_embedding_bag(resident_spy, wrap):
    raw = token_dict()
    X, before = wrap(**raw), _copies(raw)
    y = (np.random.default_rng(0).random(len(raw["meta"])) < 0.2).astype(int)
    clf = make_clf(TokensAndMeta, n_out=2, recorder=True).fit(X, y)
    assert resident_spy[-1] == {"tokens": torch.int64, "meta": torch.float32}
    assert all(b["dtypes"] == {"tokens": torch.int64, "meta": torch.float32}
               for batches in recorded(clf) for b in batches)
    assert clf.input_shape_ == {"tokens": (6,), "meta": (2,)}
    assert clf.predict(X).shape == (len(y),)
    assert_probabilities(clf.predict_proba(X), len(y), 2)
    for key, value in before.items():  # the user's arrays are as they were
        assert raw[key].dtype == value.dtype and np.array_equal(raw[key], value)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_an_nd_int64_array_of_ids_reaches_an_embedding(resident_spy, as_tensor):
    y = labels()
    ids = np.random.default_rng(0).integers(0, 50, size=(len(y), 5, 3))
    ids[:, 0, 0] = 10 * y  # a learnable signal
    before = ids.copy()
    X = torch.from_numpy(ids) if as_tensor else ids
    clf = make_clf(IdsNet, sampler="sqrt", loss="focal").fit(X, y)
    assert resident_spy[-1]["X"] == torch.int64 and clf.module_.seen_dtypes == {torch.int64}
    assert clf.input_shape_ == (5, 3)
    assert_probabilities(clf.predict_proba(X), len(y), 3)
    clf.partial_fit(X, y)
    assert clf.module_.seen_dtypes == {torch.int64}
    assert np.array_equal(ids, before) and ids.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_narrower_signed_integers_keep_their_dtype(resident_spy, dtype):
    y = labels()
    ids = np.random.default_rng(0).integers(0, 50, size=(len(y), 2, 3)).astype(dtype)
    expected = torch.from_numpy(ids).dtype
    clf = make_clf(IdsNet, max_epochs=1).fit(ids, y)
    assert resident_spy[-1]["X"] == expected and clf.module_.seen_dtypes == {expected}
    assert_probabilities(clf.predict_proba(torch.from_numpy(ids)), len(y), 3)
    D = {"X": ids[:, 0]}  # a 2-D dict value is a forward argument, not a table
    make_clf(IdsNet, max_epochs=1).fit(D, y)
    assert resident_spy[-1] == {"X": expected}


# -- multi-label, sample weights, the tuned decision -----------------------------------


def multilabel_target(n=150, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < [0.5, 0.2, 0.1]).astype(np.int64)
    Y[0] = 1
    return Y


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["bce", "ce"])
def test_multilabel_targets(kind, loss):
    Y = multilabel_target()
    X, y_fit, module = make_input(kind, Y)  # a Dataset's targets are the indicator rows
    clf = make_clf(module, loss=loss, sampler="sqrt").fit(X, y_fit)
    assert clf.multilabel_
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.class_counts_.tolist() == Y.sum(axis=0).tolist()
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    prediction = clf.predict(X)
    assert prediction.shape == Y.shape and set(np.unique(prediction)) <= {0, 1}
    raw = clf.set_params(calibration=None).predict_proba(X)  # what the decision takes
    np.testing.assert_array_equal(prediction, (raw > 0.5).astype(np.int64))


def test_multilabel_y_given_with_a_dataset_of_inputs():
    Y = multilabel_target()
    clf = make_clf(ImageNet).fit(InputsOnly(images(Y)), Y)
    assert clf.multilabel_ and clf.predict(InputsOnly(images(Y))).shape == Y.shape


@pytest.mark.parametrize("kind", KINDS)
def test_tuned_decision_with_a_validation_split(kind):
    y = labels((120, 45, 30))
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, decision="tuned", max_epochs=3,
                   train_split=ValidSplit(3, stratified=True)).fit(X, y_fit)
    assert all(np.isfinite(row["valid_f1_macro"]) for row in clf.history)
    offsets = clf.decision_offsets_
    assert offsets.shape == (3,) and np.isfinite(offsets).all()
    assert np.abs(offsets).max() > 0  # tuned on the validation rows, not the argmax zeros
    proba = clf.predict_proba(X)
    expected = clf.classes_[np.argmax(np.log(proba) + offsets, axis=1)]
    np.testing.assert_array_equal(clf.predict(X), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_weight_counts_in_the_class_mass_and_reaches_the_batches(kind):
    y = labels()
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(y)).astype(np.float32)
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, loss="logit_adjusted", train_split=None, recorder=True)
    clf.fit(X, y_fit, sample_weight=weights)
    expected = np.bincount(y, weights=weights.astype(np.float64), minlength=3)
    np.testing.assert_allclose(clf.loss_.class_counts.numpy(), expected, rtol=1e-6)
    assert clf.class_counts_.tolist() == list(COUNTS)  # rows, not mass
    for batches in recorded(clf):  # sampler="none": every row once, with its weight
        drawn_weights = np.concatenate([b["w"] for b in batches])
        assert np.isclose(drawn_weights.sum(), weights.sum(), rtol=1e-5)
        drawn = np.concatenate([b["y"] for b in batches])
        np.testing.assert_allclose(np.bincount(drawn, weights=drawn_weights, minlength=3),
                                   expected, rtol=1e-5)
    # the weights change the model
    unweighted = make_clf(module, loss="logit_adjusted").fit(X, y_fit)
    assert not np.allclose(unweighted.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_weight_follows_its_rows_through_the_validation_split(kind):
    y = labels()
    weights = np.where(y == 2, 3.0, 1.0)
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, loss="weighted_ce", train_split=ValidSplit(3, stratified=True))
    clf.fit(X, y_fit, sample_weight=weights)
    assert clf.class_counts_.sum() == 80  # the training portion
    np.testing.assert_allclose(clf.loss_.class_counts.numpy(), clf.class_counts_ * [1, 1, 3])


# -- pickling, GridSearchCV, imblearn Pipeline -----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip(kind):
    y = labels()
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, sampler="under", loss="focal").fit(X, y_fit)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.input_shape_ == clf.input_shape_
    assert restored.classes_.tolist() == clf.classes_.tolist()


GRID = {"sampler": ["none", "under"], "loss": ["ce", "focal"]}


@pytest.mark.parametrize("kind", ["ndarray", "dict", "slicedataset"])
def test_grid_search_f1_macro(kind):
    y = labels()
    X = images(y)
    if kind == "slicedataset":  # labels of any kind: strings here
        X, y, module = SliceDataset(LabeledImages(X, y)), NAMES[y], ImageNet
    else:
        X, _, module = make_input(kind, y, X)
    search = GridSearchCV(make_clf(module), GRID, scoring="f1_macro", cv=2,
                          error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores > 0).all()
    assert search.best_params_ in [dict(sampler=s, loss=l) for s in GRID["sampler"]
                                   for l in GRID["loss"]]
    assert_probabilities(search.predict_proba(X), len(y), 3)
    assert search.best_estimator_.classes_.tolist() == sorted(set(y.tolist()))
    assert search.best_estimator_.input_shape_ == (
        {"image": SHAPE, "extra": (3,)} if kind == "dict" else SHAPE)


@pytest.mark.parametrize("identity_step", [False, True])
def test_imblearn_pipeline(identity_step):
    y = labels()
    X = images(y)
    steps = [("identity", FunctionTransformer(validate=False))] if identity_step else []
    pipe = Pipeline(steps + [("clf", make_clf(ImageNet, sampler="under"))]).fit(X, y)
    alone = make_clf(ImageNet, sampler="under").fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), alone.predict_proba(X))
    np.testing.assert_array_equal(pipe.predict(X), alone.predict(X))
    assert 0.0 <= pipe.score(X, y) <= 1.0


# -- Datasets: labels of any kind, read from the Dataset; predicting ------------------


def test_string_labels_read_from_a_datasets_targets():
    y = labels()
    X = images(y)
    dataset = LabeledImages(X, NAMES[y].tolist())
    clf = make_clf(ImageNet, sampler="under").fit(dataset)
    assert clf.classes_.tolist() == NAMES.tolist()
    assert clf.class_counts_.tolist() == list(COUNTS)
    prediction = clf.predict(dataset)
    assert prediction.shape == (len(y),) and set(prediction) <= set(NAMES)
    assert clf.score(dataset, NAMES[y]) == np.mean(prediction == NAMES[y])
    # through a Subset: its own rows' labels
    rows = np.r_[0:60, 80:100, 108:114]
    sub = make_clf(ImageNet).fit(Subset(dataset, rows))
    assert sub.class_counts_.tolist() == [60, 20, 6]
    assert set(sub.predict(Subset(dataset, rows))) <= set(NAMES)


def test_string_labels_with_sample_weight_from_a_dataset():
    y = labels()
    weights = np.where(y == 2, 3.0, 1.0)
    clf = make_clf(ImageNet, loss="weighted_ce").fit(
        LabeledImages(images(y), NAMES[y].tolist()), sample_weight=weights)
    np.testing.assert_allclose(clf.loss_.class_counts.numpy(), [80, 28, 36])
    assert clf.classes_.tolist() == NAMES.tolist()


@pytest.mark.parametrize("wrap", ["tensor_dataset", "skorch_dataset", "subset",
                                  "targets_tensor"])
def test_labels_read_from_tensor_and_skorch_datasets(wrap):
    y = labels()
    X = torch.from_numpy(images(y))
    if wrap == "tensor_dataset":
        dataset = TensorDataset(X, torch.from_numpy(y))
    elif wrap == "skorch_dataset":
        dataset = SkorchDataset(X, y)
    elif wrap == "subset":
        dataset = Subset(TensorDataset(X, torch.from_numpy(y)), np.arange(0, 120, 2))
    else:  # torchvision's MNIST keeps its targets as a tensor
        dataset = LabeledImages(X, torch.from_numpy(y))
    clf = make_clf(ImageNet).fit(dataset)
    expected = np.bincount(y if wrap != "subset" else y[::2], minlength=3)
    assert clf.class_counts_.tolist() == expected.tolist()
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.input_shape_ == SHAPE and clf.training_storage_ == "dataloader"
    assert_probabilities(clf.predict_proba(dataset), len(dataset), 3)


def test_dataset_of_dict_items():
    y = labels()
    dataset = DictItems(images(y), extra_features(y), y)
    clf = make_clf(TwoInputNet, sampler="over").fit(dataset)
    assert clf.input_shape_ == {"image": SHAPE, "extra": (3,)}
    assert clf.training_storage_ == "dataloader"
    assert_probabilities(clf.predict_proba(dataset), len(y), 3)


def test_predict_on_datasets_of_x_alone_and_of_x_y():
    y = labels()
    X = images(y)
    clf = make_clf(ImageNet).fit(X, y)
    reference = clf.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(InputsOnly(X)), reference, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(LabeledImages(X, y)), reference, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(InputsOnly(X)), clf.predict(X))


def test_a_dataset_fitted_model_predicts_arrays_and_datasets_alike():
    y = labels()
    X = images(y)
    clf = make_clf(ImageNet).fit(LabeledImages(X, y))
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(InputsOnly(X)),
                               atol=1e-6)


def test_a_dataset_of_inputs_alone_fits_with_y():
    y = labels()
    clf = make_clf(ImageNet).fit(InputsOnly(images(y)), NAMES[y])
    assert clf.classes_.tolist() == NAMES.tolist()
    assert clf.class_counts_.tolist() == list(COUNTS)


def test_a_dataset_without_labels_and_no_y_is_refused():
    y = labels()
    with pytest.raises(ValueError, match="y is required"):
        make_clf(ImageNet).fit(InputsOnly(images(y)))


# -- uint8 images ----------------------------------------------------------------------


@pytest.fixture
def resident_spy(monkeypatch):
    """The dtypes of the feature columns every ResidentBatches was built with."""
    seen = []
    original = ResidentBatches.__init__

    def spy(self, X, *args, **kwargs):
        leaves = X if isinstance(X, dict) else {"X": X}
        seen.append({key: value.dtype for key, value in leaves.items()})
        original(self, X, *args, **kwargs)

    monkeypatch.setattr(ResidentBatches, "__init__", spy)
    return seen


@pytest.mark.parametrize("scale", [False, True])
def test_uint8_images_stay_uint8_and_the_module_gets_float32(resident_spy, scale):
    y = labels()
    X = uint8_images(y)
    clf = make_clf(ImageNet, scale_uint8=scale, recorder=True).fit(X, y)
    assert resident_spy and all(s["X"] == torch.uint8 for s in resident_spy)
    for batches in recorded(clf):
        assert all(b["dtypes"]["X"] == torch.uint8 for b in batches)
    # ImageNet raises unless its input is float32; the values are 0..255 or 0..1
    seen = max(clf.module_.seen_max)
    assert (seen <= 1.0) if scale else (seen > 100)
    assert clf.input_shape_ == SHAPE
    assert_probabilities(clf.predict_proba(X), len(y), 3)


def test_scale_uint8_equals_float_images_divided_by_255():
    y = labels()
    X = uint8_images(y)
    scaled = make_clf(ImageNet, scale_uint8=True, sampler="under").fit(X, y)
    floats = make_clf(ImageNet, sampler="under").fit(X.astype(np.float32) / 255, y)
    np.testing.assert_allclose(scaled.predict_proba(X),
                               floats.predict_proba(X.astype(np.float32) / 255), atol=1e-5)
    unscaled = make_clf(ImageNet, sampler="under").fit(X, y)
    assert not np.allclose(unscaled.predict_proba(X), scaled.predict_proba(X), atol=1e-3)


def test_uint8_torch_tensor_and_dict_values_stay_uint8(resident_spy):
    y = labels()
    X = uint8_images(y)
    clf = make_clf(ImageNet, scale_uint8=True).fit(torch.from_numpy(X), y)
    assert resident_spy[-1]["X"] == torch.uint8 and max(clf.module_.seen_max) <= 1.0
    D = SliceDict(image=X, extra=extra_features(y))
    dict_clf = make_clf(TwoInputNet, scale_uint8=True, recorder=True).fit(D, y)
    assert resident_spy[-1] == {"image": torch.uint8, "extra": torch.float32}
    assert all(b["dtypes"] == {"image": torch.uint8, "extra": torch.float32}
               for batches in recorded(dict_clf) for b in batches)
    assert max(dict_clf.module_.seen_max) <= 1.0
    assert_probabilities(dict_clf.predict_proba(D), len(y), 3)


def test_uint8_dataset_items_become_float32_per_batch():
    y = labels()
    clf = make_clf(ImageNet, scale_uint8=True, recorder=True).fit(
        LabeledImages(uint8_images(y), y))
    assert all(b["dtypes"]["X"] == torch.uint8 for batches in recorded(clf) for b in batches)
    assert max(clf.module_.seen_max) <= 1.0


# -- shapes recorded and checked -------------------------------------------------------


def test_input_shape_and_n_features_in():
    y = labels()
    X = images(y)
    clf = make_clf(ImageNet).fit(X, y)
    assert clf.input_shape_ == SHAPE
    assert not hasattr(clf, "n_features_in_")
    table = X.reshape(len(y), -1)
    clf.set_params(module=TableNet, module__n_in=16).fit(table, y)
    assert clf.n_features_in_ == 16 and clf.input_shape_ == (16,)
    clf.set_params(module=ImageNet).fit(X, y)  # back to images: no table width
    assert not hasattr(clf, "n_features_in_") and clf.input_shape_ == SHAPE
    D = SliceDict(image=X, extra=extra_features(y), code=np.arange(len(y), dtype=np.float32))
    assert check_dict_shape(D) == {"image": SHAPE, "extra": (3,), "code": (1,)}
    table_ds = make_clf(TableNet, module__n_in=16).fit(TensorDataset(
        torch.from_numpy(table), torch.from_numpy(y)))
    assert table_ds.n_features_in_ == 16 and table_ds.input_shape_ == (16,)


def check_dict_shape(D):
    class ThreeInputs(TwoInputNet):
        def forward(self, image, extra, code):
            return super().forward(image, extra + code)

    return make_clf(ThreeInputs, max_epochs=1).fit(D, labels()).input_shape_


def test_wrong_image_shape_at_predict_names_both_shapes():
    y = labels()
    clf = make_clf(ImageNet).fit(images(y), y)
    with pytest.raises(ValueError, match=re.escape("(1, 5, 5)")) as info:
        clf.predict(np.zeros((4, 1, 5, 5), dtype=np.float32))
    assert "(1, 4, 4)" in str(info.value)
    with pytest.raises(ValueError, match=re.escape("(1, 4, 4)")):
        clf.predict(np.zeros((4, 16), dtype=np.float32))  # a 2-D table
    with pytest.raises(ValueError, match=re.escape("(1, 4, 4)")):
        clf.predict(SliceDict(image=np.zeros((4,) + SHAPE, dtype=np.float32)))
    with pytest.raises(ValueError, match=re.escape("(1, 5, 5)")):
        clf.partial_fit(np.zeros((4, 1, 5, 5), dtype=np.float32), y[:4])


def test_wrong_dict_keys_or_shapes_at_predict_name_both_shapes():
    y = labels()
    X, extra = images(y), extra_features(y)
    clf = make_clf(TwoInputNet).fit(SliceDict(image=X, extra=extra), y)
    fitted = str({"image": SHAPE, "extra": (3,)})
    wrong_keys = SliceDict(image=X, other=extra)
    with pytest.raises(ValueError, match=re.escape(fitted)) as info:
        clf.predict(wrong_keys)
    assert "'other'" in str(info.value)
    wrong_shape = SliceDict(image=X, extra=extra[:, :2])
    with pytest.raises(ValueError, match=re.escape(fitted)) as info:
        clf.predict(wrong_shape)
    assert "(2,)" in str(info.value)
    with pytest.raises(ValueError, match=re.escape(fitted)):
        clf.predict(X)  # one array for a two-input model


def test_a_table_model_refuses_images():
    y = labels()
    X = images(y)
    clf = make_clf(TableNet, module__n_in=16).fit(X.reshape(len(y), -1), y)
    with pytest.raises(ValueError, match=re.escape("(16,)")):
        clf.predict(X)


def test_wrong_item_shape_of_a_dataset_at_predict_names_both_shapes():
    y = labels()
    clf = make_clf(ImageNet).fit(LabeledImages(images(y), y))
    with pytest.raises(ValueError, match=re.escape("(1, 5, 5)")) as info:
        clf.predict(InputsOnly(np.zeros((4, 1, 5, 5), dtype=np.float32)))
    assert "(1, 4, 4)" in str(info.value)
    with pytest.raises(ValueError, match=re.escape("(1, 4, 4)")):
        clf.predict(np.zeros((4, 16), dtype=np.float32))  # a 2-D table


def test_wrong_item_shape_of_a_dataset_at_partial_fit_names_both_shapes():
    y = labels()
    clf = make_clf(ImageNet).fit(LabeledImages(images(y), y))
    wrong = LabeledImages(np.zeros((8, 1, 5, 5), dtype=np.float32), y[:8])
    with pytest.raises(ValueError, match=re.escape("(1, 5, 5)")) as info:
        clf.partial_fit(wrong)
    assert "(1, 4, 4)" in str(info.value)
    # bad input leaves the fitted model as it was
    assert_probabilities(clf.predict_proba(images(y)), len(y), 3)


# -- bad inputs and refusals -----------------------------------------------------------


def test_dict_arrays_with_different_row_counts_are_refused():
    y = labels()
    D = {"image": images(y), "extra": extra_features(y)[:-1]}
    with pytest.raises(ValueError, match="same number of rows") as info:
        make_clf(TwoInputNet).fit(D, y)
    assert "120" in str(info.value) and "119" in str(info.value)
    clf = make_clf(TwoInputNet, max_epochs=1).fit(SliceDict(image=images(y),
                                                            extra=extra_features(y)), y)
    with pytest.raises(ValueError, match="same number of rows"):
        clf.predict(D)


def test_dict_with_a_non_string_key_or_no_keys_is_refused():
    y = labels()
    with pytest.raises(ValueError, match="strings"):
        make_clf(TwoInputNet).fit({"image": images(y), 0: extra_features(y)}, y)
    with pytest.raises(ValueError, match="empty dict"):
        make_clf(TwoInputNet).fit({}, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_in_an_nd_array_is_refused(bad):
    y = labels()
    X = images(y)
    X[7, 0, 2, 3] = bad
    with pytest.raises(ValueError, match="NaN or infinity.*\\(7, 0, 2, 3\\)"):
        make_clf(ImageNet).fit(X, y)
    with pytest.raises(ValueError, match="NaN or infinity"):
        make_clf(TwoInputNet).fit({"image": X, "extra": extra_features(y)}, y)
    clf = make_clf(ImageNet, max_epochs=1).fit(images(y), y)
    with pytest.raises(ValueError, match="NaN or infinity"):
        clf.predict(X)


def test_non_numeric_nd_array_is_refused():
    y = labels()
    with pytest.raises(ValueError, match="numbers"):
        make_clf(ImageNet).fit(np.full((len(y),) + SHAPE, "a"), y)


@pytest.mark.parametrize("kind", KINDS)
def test_module_none_is_refused_for_inputs_that_are_not_tables(kind):
    y = labels()
    X, y_fit, _ = make_input(kind, y)
    clf = ImbalancedTorchClassifier(max_epochs=1, device="cpu", random_state=0)
    with pytest.raises(ValueError, match="module=") as info:
        clf.fit(X, y_fit)
    assert "CosineLinear" in str(info.value)
    assert not hasattr(clf, "module_") and not clf.initialized_


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("module", ["mlp", "linear", "tabm"])
def test_built_in_table_networks_are_refused_for_inputs_that_are_not_tables(kind, module):
    y = labels()
    X, y_fit, _ = make_input(kind, y)
    clf = ImbalancedTorchClassifier(module, max_epochs=1, device="cpu", random_state=0)
    with pytest.raises(ValueError, match=f"module='{module}' takes raw_columns or table inputs"):
        clf.fit(X, y_fit)


def test_an_empty_nd_array_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        make_clf(ImageNet).fit(np.zeros((0,) + SHAPE, dtype=np.float32), np.zeros(0))


@pytest.mark.parametrize("kind", KINDS)
def test_imblearn_samplers_are_refused_for_inputs_that_are_not_tables(kind):
    y = labels()
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, sampler=RandomUnderSampler(random_state=0))
    with pytest.raises(ValueError, match="index sampler") as info:
        clf.fit(X, y_fit)
    for name in list_samplers():
        assert name in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_training_storage(kind):
    y = labels()
    X, y_fit, module = make_input(kind, y)
    clf = make_clf(module, max_epochs=1).fit(X, y_fit)
    expected = "dataloader" if kind == "dataset" else "device"
    assert clf.training_storage_ == expected
    assert [row["event_storage"] for row in clf.history] == [expected]


# -- CUDA ------------------------------------------------------------------------------


@needs_cuda
def test_cuda_images_uint8_and_dicts(resident_spy):
    y = labels()
    X = uint8_images(y)
    clf = make_clf(ImageNet, device="cuda", scale_uint8=True, recorder=True).fit(X, y)
    assert clf.training_storage_ == "device"
    assert resident_spy[-1]["X"] == torch.uint8
    batches = [b for epoch in recorded(clf) for b in epoch]
    assert all(b["dtypes"]["X"] == torch.uint8 and b["devices"]["X"] == "cuda"
               for b in batches)
    assert max(clf.module_.seen_max) <= 1.0
    assert_probabilities(clf.predict_proba(X), len(y), 3)
    floats = make_clf(ImageNet, device="cuda").fit(images(y), y)
    assert floats.training_storage_ == "device"
    assert_probabilities(floats.predict_proba(images(y)), len(y), 3)
    D = SliceDict(image=X, extra=extra_features(y))
    dict_clf = make_clf(TwoInputNet, device="cuda", scale_uint8=True, recorder=True).fit(D, y)
    assert dict_clf.training_storage_ == "device"
    assert all(b["devices"] == {"image": "cuda", "extra": "cuda"}
               for epoch in recorded(dict_clf) for b in epoch)
    assert_probabilities(dict_clf.predict_proba(D), len(y), 3)
    restored = pickle.loads(pickle.dumps(dict_clf))
    np.testing.assert_allclose(restored.predict_proba(D), dict_clf.predict_proba(D), atol=1e-6)


def test_a_slice_dataset_reads_the_labels_of_its_dataset():
    y = labels()
    sliced = SliceDataset(LabeledImages(images(y), y))[np.arange(10, len(y))]
    clf = make_clf(ImageNet).fit(sliced)
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y[10:]))
    assert clf.predict_proba(sliced).shape == (len(y) - 10, 3)
