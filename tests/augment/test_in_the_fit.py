"""``ImbalancedTorchClassifier(augment=...)``: the augmentations in the fit.

A new draw every epoch; applied to the training batches only (never to validation rows,
the tuned decision's rows or at predict: checked by value); mixed targets with every
loss that declares ``supports_mixed_targets`` and refused with the others; every
index sampler (the rows SMOTE is told are the rows of the batch) and an imblearn
sampler; a TabM ensemble; GridSearchCV over augment with sampler and loss, on a table
and on images; integer ids held in memory (never interpolated; refused by SMOTE); clone /
get_params / set_params; callables. What every registered augmentation does with what it
declares (input kinds, multi-label targets, mixed targets, rows), reproducibility, predict,
clone and pickle are in ``test_common.py``.
"""

import numpy as np
import pytest
import torch
from imblearn.over_sampling import RandomOverSampler
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Dataset

from tests.helpers import clf_, make_data, user_clf
from skimb import ImbalancedTorchClassifier, list_augmentations, list_losses, list_samplers
from skimb._data import WeightedTarget
from skimb.augment import CutMix, GaussianNoise, MixUp, SmoteOnTheFly
from skimb.decisions import fit_decision
from skimb.losses import MixedTarget, loss_class

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NO_SPLIT = dict(train_split=None)


@pytest.fixture(scope="module")
def table():
    X, y = make_data()
    return X.astype(np.float32), y


def _key(row):
    return tuple(np.asarray(row, dtype=np.float32).tolist())


class Recording:
    """Mixed into an augmentation: records every call's input batch and rows."""

    def _fit(self, context):
        super()._fit(context)
        self.inputs_ = []

    def __call__(self, X, y, sample_weight=None, rows=None):
        self.inputs_.append(dict(X=X.detach().clone(), y=y.detach().clone(),
                                 rows=None if rows is None else rows.detach().cpu().clone()))
        return super().__call__(X, y, sample_weight, rows)


class RecordingMixUp(Recording, MixUp):
    pass


class RecordingSmote(Recording, SmoteOnTheFly):
    pass


class Batches(Callback):
    """Every batch the module is given (after the augmentation), by phase."""

    def initialize(self):
        self.train, self.valid = [], []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        X, y = batch
        if isinstance(y, WeightedTarget):
            y = y[0]
        (self.train if training else self.valid).append((X, y))


def batches(clf):
    return dict(clf.callbacks_)["batches"]


# -- a new draw every epoch -------------------------------------------------------------


def test_a_different_augment_seed_stream_per_epoch(table):
    """Every epoch draws anew: the rows mixed in epoch 1 are not epoch 0's."""
    X, y = table
    clf = clf_(augment=RecordingMixUp(alpha=1.0), callbacks=[("batches", Batches())],
               batch_size=-1, **NO_SPLIT).fit(X, y)
    (X0, y0), (X1, y1) = batches(clf).train
    assert isinstance(y0, MixedTarget)
    assert not torch.equal(y0.lam, y1.lam)


# -- never at predict, never on validation rows ----------------------------------------------


def test_only_training_rows_are_augmented_never_validation_rows_or_predict(table):
    X, y = table
    clf = clf_(augment=RecordingMixUp(alpha=1.0), callbacks=[("batches", Batches())],
               decision="tuned", max_epochs=2).fit(X, y)
    aug = clf.augment_
    calls = len(aug.inputs_)
    assert calls == sum(row["train_batch_count"] for row in clf.history) > 0
    index = {_key(row): i for i, row in enumerate(X)}
    seen = {index[_key(row)] for call in aug.inputs_ for row in call["X"].numpy()}
    rec = batches(clf)
    valid_rows = [index[_key(row)] for Xv, _ in rec.valid for row in Xv.numpy()]  # exact rows
    valid = set(valid_rows)
    assert len(seen) == 240 and len(valid) == 60 and not seen & valid
    assert seen | valid == set(range(len(X)))
    for Xv, yv in rec.valid:  # validation batches: plain rows and labels
        assert not isinstance(yv, MixedTarget)
        ids = [index[_key(row)] for row in Xv.numpy()]
        np.testing.assert_array_equal(np.asarray(yv), y[ids])
    # the training batches the module saw are the augmented ones
    assert all(isinstance(yt, MixedTarget) for _, yt in rec.train)
    # the tuned offsets are those of the plain validation rows
    last = valid_rows[-60:]
    refit = fit_decision("tuned", {}, classes=clf.classes_, class_counts=clf.class_counts_,
                         n_rows=240, multilabel=False,
                         held_out=lambda: (clf.predict_proba(X[last]), y[last]))
    np.testing.assert_allclose(clf.decision_offsets_, refit["decision_offsets_"], atol=1e-6)
    # predict: deterministic, the module's output on the plain rows, no augmentation call
    p1, p2 = clf.predict_proba(X), clf.predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    clf.module_.eval()
    with torch.no_grad():
        expected = torch.softmax(clf.module_(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(p1, expected, atol=1e-6)
    clf.predict(X)
    assert len(aug.inputs_) == calls


def test_predict_of_a_user_module_is_its_output_on_plain_rows(table):
    X, y = table
    clf = user_clf(augment="noise", augment__scale=3.0, **NO_SPLIT).fit(X, y)
    clf.module_.eval()
    with torch.no_grad():
        expected = torch.softmax(clf.module_(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)


# -- mixed targets and the losses --------------------------------------------------------------


MIXED_LOSSES = [name for name in list_losses() if loss_class(name).supports_mixed_targets]


def _finite(clf):
    return all(np.isfinite(row["train_loss"]) for row in clf.history)


@pytest.mark.parametrize("loss", MIXED_LOSSES)
def test_mixup_fits_with_every_loss_declaring_mixed_targets(table, loss, mixed_calls):
    X, y = table
    if loss_class(loss).binary_only:
        y = (y > 0).astype(int)
    clf = clf_(loss=loss, augment="mixup", augment__alpha=0.4, max_epochs=1).fit(X, y)
    assert _finite(clf)
    assert sum(mixed_calls) == 240  # one epoch of the 240 training rows, every one mixed
    assert clf.predict_proba(X).shape == (len(X), len(np.unique(y)))


def test_losses_without_mixed_targets_are_refused(table):
    X, y = table
    with pytest.raises(ValueError, match="loss='crl'.*supports_mixed_targets"):
        clf_(loss="crl", augment="mixup").fit(X, y)
    with pytest.raises(ValueError, match="supports_mixed_targets"):
        user_clf(loss=nn.CrossEntropyLoss, augment="mixup").fit(X, y)
    # noise and smote keep the labels: any loss
    assert _finite(clf_(loss="crl", augment="noise", max_epochs=1).fit(X, y))
    assert _finite(user_clf(loss=nn.CrossEntropyLoss, augment="smote", sampler="over",
                            max_epochs=1).fit(X, y))


class Weights(Callback):
    """The sample weights of every training batch the loss is given."""

    def initialize(self):
        self.seen = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen.append(batch[1][1].detach().clone())


def test_mixup_with_sample_weight_mixes_the_weights(table, mixed_calls):
    X, y = table
    w = np.random.default_rng(0).choice([0.5, 2.0], size=len(y)).astype(np.float32)
    clf = clf_(augment="mixup", augment__alpha=1.0, callbacks=[("weights", Weights())],
               max_epochs=1, **NO_SPLIT).fit(X, y, sample_weight=w)
    assert _finite(clf) and mixed_calls
    seen = torch.cat(dict(clf.callbacks_)["weights"].seen).numpy()
    assert len(seen) == len(y)
    assert seen.min() >= 0.5 - 1e-6 and seen.max() <= 2.0 + 1e-6
    # lam * w_a + (1 - lam) * w_b: most weights lie strictly between the two values
    assert np.mean((seen > 0.51) & (seen < 1.99)) > 0.3


@pytest.mark.parametrize("params", [
    dict(augment="mixup", augment__alpha=1.0),
    dict(augment="mixup", augment__partner="balanced"),
    dict(augment="smote", sampler="over"),
])
def test_rows_of_weight_zero_lend_nothing_to_the_training_batches(table, params):
    """Rows of weight 0 marked by a far value: every other row the network trains on is a
    genuine row or made of genuine rows only, never part of a marked one."""
    X, y = table
    X, w = X.copy(), np.ones(len(y), dtype=np.float32)
    rare = np.flatnonzero(y == np.bincount(y).argmin())
    marked = np.r_[rare[3:], np.flatnonzero(y == 0)[:30]]  # the rare class keeps 3 rows
    X[marked], w[marked] = 1e4, 0.0
    clf = clf_(callbacks=[("batches", Batches())], max_epochs=2, **NO_SPLIT, **params)
    clf.fit(X, y, sample_weight=w)
    seen = torch.cat([batch[0] for batch in batches(clf).train]).abs()
    far = seen.min(dim=1).values > 1e3
    assert far.any() and (~far).any()
    assert seen[~far].max() < 100
    assert seen[far].min() == 1e4  # and the marked rows themselves are not changed


def test_mixup_with_a_multilabel_target(table, mixed_calls):
    X, y = table
    Y = np.c_[y == 1, y == 2, X[:, 0] > 0].astype(int)
    clf = clf_(loss="bce", augment="mixup", max_epochs=1).fit(X, Y)
    assert _finite(clf) and mixed_calls
    assert clf.predict(X).shape == Y.shape


def test_mixup_with_a_tabm_ensemble(table, mixed_calls):
    X, y = table
    clf = clf_(module="tabm", module__k=2, module__hidden_units=(8, 8), augment="mixup",
               max_epochs=1).fit(X, y)
    assert _finite(clf) and sum(mixed_calls) == 2 * 240  # every member's rows
    assert clf.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("sampler", list_samplers())
def test_every_index_sampler_gives_smote_the_rows_of_its_batches(table, sampler):
    X, y = table
    clf = clf_(sampler=sampler, augment=RecordingSmote(rate=1.0), batch_size=64,
               max_epochs=2, **NO_SPLIT).fit(X, y)
    assert _finite(clf)
    inputs = clf.augment_.inputs_
    assert inputs
    for call in inputs:  # the rows said are those of the batch: X and y
        rows = call["rows"].numpy()
        np.testing.assert_array_equal(call["X"].numpy(), X[rows])
        np.testing.assert_array_equal(call["y"].numpy(), y[rows])


def test_smote_with_a_validation_split_moves_training_rows_towards_training_neighbours(table):
    X, y = table
    k = 3
    clf = clf_(augment=RecordingSmote(k_neighbors=k, rate=1.0),
               callbacks=[("batches", Batches())], batch_size=64, max_epochs=2).fit(X, y)
    inputs, outputs = clf.augment_.inputs_, batches(clf).train
    assert len(inputs) == len(outputs)
    at = {}  # training position -> row: the same row wherever a position is drawn
    for call in inputs:
        for r, row in zip(call["rows"].tolist(), call["X"].numpy()):
            assert np.array_equal(at.setdefault(r, row), row)
    assert sorted(at) == list(range(240))  # positions among the 240 training rows
    positions = np.array(sorted(at))
    X_train = np.stack([at[r] for r in positions]).astype(np.float64)
    index = {_key(row): i for i, row in enumerate(X)}
    y_train = y[[index[_key(row)] for row in X_train]]
    moved = 0
    for call, (X_out, _) in zip(inputs, outputs):
        for r, x_out in zip(call["rows"].tolist(), X_out.double().numpy()):
            x = X_train[r]
            if np.array_equal(x_out, x):
                continue
            members = np.flatnonzero(y_train == y_train[r])
            others = members[members != r]
            near = others[np.argsort(np.linalg.norm(X_train[others] - x, axis=1))[:k]]
            on_segment = []
            for p in near:
                d = X_train[p] - x
                u = np.dot(x_out - x, d) / np.dot(d, d)
                on_segment.append(0 <= u <= 1 + 1e-6 and np.allclose(x + u * d, x_out,
                                                                     atol=1e-5))
            assert any(on_segment)
            moved += 1
    assert moved > 300


@pytest.mark.parametrize("sampler", list_samplers())
def test_mixup_with_every_index_sampler(table, sampler, mixed_calls):
    X, y = table
    assert _finite(clf_(sampler=sampler, augment="mixup", max_epochs=1).fit(X, y))
    assert mixed_calls


def test_an_imblearn_sampler_with_mixup_mixes_the_resampled_batch(table, mixed_calls):
    X, y = table
    clf = clf_(sampler=RandomOverSampler(random_state=0), augment=RecordingMixUp(),
               batch_size=64, max_epochs=2, **NO_SPLIT).fit(X, y)
    assert _finite(clf)
    inputs = clf.augment_.inputs_
    assert all(call["rows"] is None for call in inputs)
    drawn = np.concatenate([call["y"].numpy() for call in inputs])
    counts = np.bincount(y)
    assert len(drawn) == 2 * 3 * counts.max()  # two epochs of the resampled rows
    np.testing.assert_array_equal(np.bincount(drawn), [2 * counts.max()] * 3)
    with pytest.raises(ValueError, match="smote.*resamples"):
        clf_(sampler=RandomOverSampler(), augment="smote").fit(X, y)


class LabeledRows(Dataset):
    def __init__(self, X, targets):
        self.X, self.targets = torch.as_tensor(X), targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.targets[i]


def test_a_dataset_or_a_dataloader_runs_mixup_but_not_smote(table, mixed_calls):
    X, y = table
    data = LabeledRows(X, y)
    clf = user_clf(augment="mixup", max_epochs=1, **NO_SPLIT).fit(data, None)
    assert _finite(clf) and mixed_calls
    with pytest.raises(ValueError, match="smote.*torch Dataset"):
        user_clf(augment="smote").fit(data, None)
    with pytest.raises(ValueError, match="smote.*DataLoader"):
        clf_(augment="smote", iterator_train__num_workers=0).fit(X, y)
    with pytest.raises(ValueError, match="smote.*one label per row"):
        clf_(augment="smote").fit(X, np.c_[y == 1, y == 2].astype(int))


def test_bad_augment_parameters_fail_at_fit_naming_them(table):
    X, y = table
    for params, name in [({"augment": "blur"}, ", ".join(list_augmentations())),
                         ({"augment__alpha": 0.3}, "augment=None"),
                         ({"augment": "mixup", "augment__alpha": 0}, "alpha"),
                         ({"augment": "mixup", "augment__rate": 2}, "rate"),
                         ({"augment": "noise", "augment__classes": "rare"}, "classes"),
                         ({"augment": "smote", "augment__k_neighbors": 0}, "k_neighbors"),
                         ({"augment": "noise", "augment__scale": -1}, "scale"),
                         ({"augment": "noise", "augment__classes": [7]}, "classes")]:
        with pytest.raises(ValueError, match=name):
            clf_(**params).fit(X, y)
        assert not hasattr(clf_(**params), "augment_")


def test_class_labels_name_the_classes_and_rates_are_fitted_on_the_training_rows(table):
    X, y = table
    names = np.array(["dry", "ice", "wet"])[y]
    clf = clf_(augment="noise", augment__classes=["wet", "ice"], augment__rate=0.5,
               max_epochs=1).fit(X, names)
    assert clf.augment_.class_rates_.tolist() == [0.0, 0.5, 0.5]
    clf = clf_(augment="noise", augment__rate="rarity", max_epochs=1).fit(X, names)
    counts = clf.class_counts_  # the training portion's counts (after the split)
    assert counts.sum() == 240
    np.testing.assert_allclose(clf.augment_.class_rates_.numpy(), 1 - counts / counts.max(),
                               atol=1e-6)


# -- searching, cloning ------------------------------------------------------------------------


def test_grid_search_over_augment_sampler_and_loss_on_a_table(table):
    X, y = table
    grid = [{"augment": [None, "noise", "mixup", "smote"], "sampler": ["none", "over"]},
            {"augment": ["mixup"], "loss": ["focal", "ldam"], "augment__alpha": [0.4]}]
    search = GridSearchCV(clf_(max_epochs=1, **NO_SPLIT), grid, scoring="f1_macro",
                          cv=StratifiedKFold(2), error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 10 and np.all(np.isfinite(scores))
    best = search.best_params_
    assert (search.best_estimator_.augment_ is None) == (best["augment"] is None)


class TinyCNN(nn.Module):
    def __init__(self, n_out=3):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, n_out))

    def forward(self, X):
        return self.net(X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in ((0, 90), (1, 30), (2, 12))])
    return (X[keep] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8), y[keep]


def test_grid_search_over_augment_on_images(digits, mixed_calls):
    X, y = digits
    clf = ImbalancedTorchClassifier(TinyCNN, max_epochs=2, device="cpu", random_state=0,
                                    batch_size=32)
    grid = {"augment": [None, "mixup", "cutmix"], "sampler": ["none", "over"],
            "loss": ["ce", "focal"]}
    search = GridSearchCV(clf, grid, scoring="f1_macro", cv=StratifiedKFold(2),
                          error_score="raise").fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert mixed_calls
    fitted = clone(clf).set_params(augment="cutmix", augment__alpha=0.5).fit(X, y)
    assert isinstance(fitted.augment_, CutMix) and fitted.augment_.alpha == 0.5
    assert fitted.predict_proba(X).shape == (len(X), 3)


def test_get_params_set_params_and_clone_round_trip(table):
    X, y = table
    clf = clf_(augment="mixup", max_epochs=1)
    clf.set_params(augment__alpha=0.7, augment__partner="balanced")
    params = clf.get_params()
    assert params["augment"] == "mixup" and params["augment__alpha"] == 0.7
    copy = clone(clf)
    assert copy.get_params()["augment__alpha"] == 0.7
    copy.fit(X, y)
    assert isinstance(copy.augment_, MixUp)
    assert (copy.augment_.alpha, copy.augment_.partner) == (0.7, "balanced")
    copy.set_params(augment="noise", augment__alpha=None)
    # a parameter of the previous augmentation left behind is named at fit
    with pytest.raises(ValueError, match="alpha"):
        copy.fit(X, y)


def test_an_augmentation_object_is_not_modified_by_fit(table):
    X, y = table
    aug = MixUp(alpha=0.3, rate=0.5)
    before = dict(vars(aug))
    clf = clf_(augment=aug, max_epochs=1).fit(X, y)
    assert vars(aug) == before and clf.augment is aug
    assert clf.augment_ is not aug and isinstance(clf.augment_, MixUp)
    assert clf.augment_.get_params() == aug.get_params()
    clf.set_params(augment__alpha=0.9).fit(X, y)
    assert clf.augment_.alpha == 0.9 and aug.alpha == 0.3
    assert clone(clf).get_params()["augment__alpha"] == 0.9


def test_partial_fit_refits_the_augmentation_every_call(table):
    X, y = table
    clf = clf_(augment="smote", sampler="over", max_epochs=1, **NO_SPLIT)
    clf.partial_fit(X[:150], y[:150])
    first = clf.augment_
    clf.partial_fit(X[150:], y[150:])
    assert clf.augment_ is not first
    np.testing.assert_allclose(clf.augment_.class_counts_.numpy(), np.bincount(y[150:]))


# -- callables --------------------------------------------------------------------------------


def test_a_callable_is_applied_to_every_training_batch(table):
    X, y = table
    zero = lambda X, y: (torch.zeros_like(X), y)  # noqa: E731
    params = dict(max_epochs=2, **NO_SPLIT)
    zeroed = user_clf(augment=zero, **params).fit(X, y)
    on_zeros = user_clf(**params).fit(np.zeros_like(X), y)
    plain = user_clf(**params).fit(X, y)
    # training on zeroed batches is training on zeros
    np.testing.assert_allclose(zeroed.predict_proba(X), on_zeros.predict_proba(X), atol=1e-6)
    assert not np.allclose(zeroed.predict_proba(X), plain.predict_proba(X))
    # its randomness comes from torch's generator, which random_state seeds
    jitter = lambda X, y: (X + torch.randn_like(X), y)  # noqa: E731
    a = user_clf(augment=jitter, **params).fit(X, y).predict_proba(X)
    b = user_clf(augment=jitter, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_a_callable_returning_other_rows_is_refused(table):
    X, y = table
    with pytest.raises(ValueError, match="same rows"):
        user_clf(augment=lambda X, y: (X[:-1], y[:-1])).fit(X, y)
    with pytest.raises(ValueError, match="same rows"):
        user_clf(augment=lambda X, y: (X, y[:-1])).fit(X, y)


def test_a_callable_may_return_mixed_targets_for_a_loss_that_takes_them(table, mixed_calls):
    X, y = table

    def swap_half(X, y):
        partner = torch.roll(torch.arange(len(y)), 1)
        lam = torch.full((len(y),), 0.5)
        return 0.5 * (X + X[partner]), MixedTarget(y, y[partner], lam)

    assert _finite(clf_(augment=swap_half, max_epochs=1).fit(X, y)) and mixed_calls
    with pytest.raises(ValueError, match="mixed targets"):
        user_clf(augment=swap_half, loss=nn.CrossEntropyLoss, max_epochs=1).fit(X, y)


# -- other inputs ---------------------------------------------------------------------------------


class TokensAndNumbers(nn.Module):
    def __init__(self, n_out=3):
        super().__init__()
        self.embed = nn.Embedding(20, 4)
        self.num = nn.Linear(6, 4)
        self.head = nn.Linear(4, n_out)

    def forward(self, num, tok):
        return self.head(torch.relu(self.num(num) + self.embed(tok).mean(dim=1)))


class TokenItems(Dataset):
    """Items ``({"num": float32 row, "tok": int64 ids}, label)``, labels in ``targets``."""

    def __init__(self, num, tok, targets):
        self.num, self.tok, self.targets = torch.as_tensor(num), torch.as_tensor(tok), targets

    def __len__(self):
        return len(self.num)

    def __getitem__(self, i):
        return {"num": self.num[i], "tok": self.tok[i]}, self.targets[i]


def test_mixup_on_a_dataset_of_dicts_keeps_token_ids_whole(table, mixed_calls):
    X, y = table
    tok = np.random.default_rng(0).integers(0, 20, size=(len(y), 2))
    clf = ImbalancedTorchClassifier(TokensAndNumbers, augment="mixup", augment__alpha=1.0,
                                    max_epochs=1, device="cpu", random_state=0, batch_size=64,
                                    callbacks=[("batches", Batches())])
    clf.fit(TokenItems(X, tok, y), None)
    assert mixed_calls
    num_rows = {_key(r): i for i, r in enumerate(X)}
    tok_rows = {tuple(r) for r in tok.tolist()}
    mixed = 0
    for Xb, yb in batches(clf).train:
        assert Xb["tok"].dtype == torch.int64 and isinstance(yb, MixedTarget)
        for num, ids in zip(Xb["num"].numpy(), Xb["tok"].tolist()):
            assert tuple(ids) in tok_rows  # a whole row of ids, never interpolated
            mixed += _key(num) not in num_rows
    assert mixed > 100  # the float leaf was mixed


class KeepsCalls:
    """Mixed into an augmentation: keeps every call's input batch and what it returned."""

    def _fit(self, context):
        super()._fit(context)
        self.calls_ = []

    def __call__(self, X, y, sample_weight=None, rows=None):
        out = super().__call__(X, y, sample_weight, rows)
        self.calls_.append((X, y, out))
        return out


class MixUpCalls(KeepsCalls, MixUp):
    pass


class NoiseCalls(KeepsCalls, GaussianNoise):
    pass


class Ids(nn.Module):
    """Embeds rows of ids ``tok`` (an Embedding refuses floats), plus a float ``num``."""

    def __init__(self, n_ids=120, n_out=3):
        super().__init__()
        self.embed = nn.Embedding(n_ids, 4)
        self.num = nn.Linear(3, 4)
        self.head = nn.Linear(4, n_out)

    def forward(self, tok, num=None):
        h = self.embed(tok).flatten(1, -2).mean(dim=1)
        return self.head(h if num is None else h + self.num(num))


def in_memory_ids(kind):
    """``(X, ids, num, y)``: ids whose first entry names their row, as a dict with a float
    value or as an N-D array."""
    y = np.repeat([0, 1, 2], [80, 28, 12])
    rng = np.random.default_rng(0)
    ids = rng.integers(0, len(y), size=(len(y), 2, 3))
    ids[:, 0, 0] = np.arange(len(y))
    num = rng.normal(size=(len(y), 3)).astype(np.float32)
    if kind == "dict":
        ids = ids[:, 0]
        return {"tok": ids, "num": num}, ids, num, y
    return ids, ids, num, y


def _ids_clf(augment, **params):
    return ImbalancedTorchClassifier(Ids, augment=augment, max_epochs=2, batch_size=32,
                                     device="cpu", random_state=0, **params)


def _ids_of(X):
    return X["tok"] if isinstance(X, dict) else X


@pytest.mark.parametrize("kind", ["dict", "ndarray"])
def test_mixup_on_ids_in_memory_takes_the_ids_of_the_larger_share(kind):
    X, ids, num, y = in_memory_ids(kind)
    before = ids.copy()
    clf = _ids_clf(MixUpCalls(alpha=1.0)).fit(X, y)
    own = partner = 0
    for X_in, _, (X_out, target, _) in clf.augment_.calls_:
        tok = _ids_of(X_out)
        assert tok.dtype == torch.int64
        row_in, row_out = _ids_of(X_in).flatten(1)[:, 0], tok.flatten(1)[:, 0]
        assert torch.equal(tok, torch.from_numpy(ids)[row_out])  # a whole row's ids
        keeps = target.lam >= 0.5
        assert torch.equal(row_out[keeps], row_in[keeps])  # the larger share's own ids
        taken = ~keeps  # the partner's ids, and its label
        assert torch.equal(target.y_b[taken], torch.from_numpy(y)[row_out[taken]])
        if kind == "dict":  # the float value is mixed with that same partner
            lam = target.lam[taken, None]
            expected = lam * X_in["num"][taken] + (1 - lam) * torch.from_numpy(num)[row_out[taken]]
            torch.testing.assert_close(X_out["num"][taken], expected)
        own, partner = own + int(keeps.sum()), partner + int(taken.sum())
    assert own > 50 and partner > 50
    assert np.array_equal(ids, before)


@pytest.mark.parametrize("kind", ["dict", "ndarray"])
def test_noise_on_ids_in_memory_leaves_them_as_they_are(kind):
    X, ids, num, y = in_memory_ids(kind)
    before = ids.copy()
    clf = _ids_clf(NoiseCalls(scale=0.5)).fit(X, y)
    for X_in, _, (X_out, _, _) in clf.augment_.calls_:
        assert torch.equal(_ids_of(X_out), _ids_of(X_in))
        if kind == "dict":
            assert (X_out["num"] != X_in["num"]).all()  # the float value is perturbed
    assert np.array_equal(ids, before)


def test_smote_refuses_ids_in_memory_naming_them():
    X, _, _, y = in_memory_ids("ndarray")
    clf = _ids_clf("smote", sampler="over")
    with pytest.raises(ValueError, match="smote.*interpolates.*integers .int64"):
        clf.fit(X, y)
    assert not clf.initialized_  # a refused fit leaves no model


class SeenInTraining(nn.Module):
    """Records the training inputs it is given."""

    def __init__(self, n_out=3):
        super().__init__()
        self.lin = nn.Linear(16, n_out)
        self.train_inputs = []

    def forward(self, X):
        if self.training:
            self.train_inputs.append(X.detach().clone())
        return self.lin(X.flatten(1))


@pytest.fixture(scope="module")
def uint8_images():
    y = np.repeat([0, 1, 2], [60, 25, 15])
    X = np.random.default_rng(0).integers(0, 256, size=(len(y), 1, 4, 4)).astype(np.uint8)
    return X, y


def _image_clf(augment, scale_uint8, **params):
    return ImbalancedTorchClassifier(SeenInTraining, augment=augment, scale_uint8=scale_uint8,
                                     max_epochs=1, batch_size=32, device="cpu",
                                     random_state=0, train_split=None, **params)


@pytest.mark.parametrize("augment", ["mixup", "cutmix", "noise"])
def test_augmentations_on_uint8_images_stay_in_the_scaled_range(uint8_images, augment):
    X, y = uint8_images
    clf = _image_clf(augment, True).fit(X, y)
    seen = torch.cat(clf.module_.train_inputs)
    assert seen.dtype == torch.float32
    if augment != "noise":
        assert 0.0 <= seen.min() and seen.max() <= 1.0


def test_smote_on_uint8_images_interpolates_between_scaled_rows(uint8_images):
    X, y = uint8_images
    clf = _image_clf("smote", True, sampler="over").fit(X, y)
    seen = torch.cat(clf.module_.train_inputs)
    assert seen.max() <= 1.0


def test_smote_on_unscaled_uint8_images_stays_in_range(uint8_images):
    X, y = uint8_images
    clf = _image_clf("smote", False, sampler="over").fit(X, y)
    seen = torch.cat(clf.module_.train_inputs)
    assert seen.max() <= 255.0 and (seen != seen.round()).any()  # moved: not integers


@pytest.mark.parametrize("scale_uint8", [False, True])
def test_noise_perturbs_uint8_images(uint8_images, scale_uint8):
    X, y = uint8_images
    clf = _image_clf("noise", scale_uint8, augment__scale=0.5).fit(X, y)
    seen = torch.cat(clf.module_.train_inputs)
    as_given = seen * 255 if scale_uint8 else seen
    assert (as_given - as_given.round()).abs().max() > 1e-2


