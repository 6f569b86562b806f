"""Multi-label (indicator) targets end to end: input forms, shapes, thresholds,
strategy state from the training portion, samplers by rarest positive label,
scoring, persistence, grid search and the effect of pos_weight="auto"."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from imblearn.over_sampling import RandomOverSampler
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils import get_tags
from torch import nn
from torch.utils.data import Subset, TensorDataset

from skimb import ImbalancedTorchClassifier
from skimb.losses import multilabel_losses
from skimb.metrics import macro_f1, macro_f1_scorer
from skimb.samplers import rarest_positive_label

from tests.helpers import FAST

N_LABELS = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def multilabel_data(n=300, seed=0):
    """Four labels with about 30%, 20%, 10% and 5% positives."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    scores = X[:, :4] + 0.5 * rng.normal(size=(n, 4))
    cut = np.quantile(scores, [0.70, 0.80, 0.90, 0.95], axis=0).diagonal()
    return X, (scores > cut).astype(np.int64)


@pytest.fixture(scope="module")
def data():
    return multilabel_data()


def fitted(X, Y, **params):
    return ImbalancedTorchClassifier(**{**FAST, **params}).fit(X, Y)


def _raw_output(clf, X):
    clf.module_.eval()
    with torch.no_grad():
        return clf.module_(torch.as_tensor(X, dtype=torch.float32))


# ---------------------------------------------------------------------------
# input forms and output shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["numpy", "bool", "float", "dataframe", "sparse", "list"])
def test_indicator_forms_fit_and_predict(data, form):
    X, Y = data
    target = {
        "numpy": Y,
        "bool": Y.astype(bool),
        "float": Y.astype(np.float64),
        "dataframe": pd.DataFrame(Y, columns=["ice", "frost", "wet", "snow"]),
        "sparse": sp.csr_matrix(Y),
        "list": Y.tolist(),
    }[form]
    clf = fitted(X, target)
    assert clf.multilabel_
    expected = ["ice", "frost", "wet", "snow"] if form == "dataframe" else list(range(N_LABELS))
    assert clf.classes_.tolist() == expected
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    assert pred.shape == proba.shape == (len(X), N_LABELS)
    assert set(np.unique(pred)) <= {0, 1}
    assert ((proba >= 0) & (proba <= 1)).all()
    assert clf.module_.body.layers[-1].out_features == N_LABELS


def test_estimator_tags_declare_multilabel_support():
    tags = get_tags(ImbalancedTorchClassifier())
    assert tags.classifier_tags.multi_label and tags.estimator_type == "classifier"


def test_predict_proba_is_sigmoid_and_predict_thresholds_it(data):
    X, Y = data
    clf = fitted(X, Y, loss="bce", max_epochs=4, lr=1e-2, calibration=None)  # the raw output
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, torch.sigmoid(_raw_output(clf, X)).numpy(), atol=1e-6)
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent labels, not a softmax
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    clf.set_params(threshold=0.2)
    low = clf.predict(X)
    np.testing.assert_array_equal(low, (proba > 0.2).astype(int))
    assert low.sum() > (proba > 0.5).sum()


@pytest.mark.parametrize("bad", [-0.1, 1.5, "high", None])
def test_invalid_threshold_raises(data, bad):
    X, Y = data
    with pytest.raises(ValueError, match="threshold must be a number in"):
        fitted(X, Y, threshold=bad)
    clf = fitted(X, Y).set_params(threshold=bad)
    with pytest.raises(ValueError, match="threshold must be a number in"):
        clf.predict(X)


def test_user_target_not_modified(data):
    X, Y = data
    frame = pd.DataFrame(Y.copy(), columns=list("abcd"))
    before = frame.copy()
    fitted(X, frame, sampler="over", loss="bce")
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("values, match", [
    (np.array([[0, 2], [1, 0], [0, 1]]), "label 1 holds 2.0 at row 0"),
    (np.array([[0, 0.5], [1, 0], [0, 1]]), "0 or 1"),
    (np.array([[0, np.nan], [1, 0], [0, 1]]), "0 or 1"),
    (np.array([["a", "b"], ["b", "a"], ["a", "a"]]), "non-numeric"),
])
def test_non_indicator_2d_targets_raise(values, match):
    X = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        ImbalancedTorchClassifier(**FAST).fit(X, values)


def test_non_binary_dataframe_target_names_the_column():
    X = np.zeros((3, 2), dtype=np.float32)
    Y = pd.DataFrame({"ice": [0, 1, 0], "frost": [1, 3, 0]})
    with pytest.raises(ValueError, match="label 'frost' holds 3.0 at row 1"):
        ImbalancedTorchClassifier(**FAST).fit(X, Y)


def test_non_numeric_dataframe_target_raises():
    X = np.zeros((3, 2), dtype=np.float32)
    Y = pd.DataFrame({"a": [0, 1, 0], "b": ["x", "y", "x"]})
    with pytest.raises(ValueError, match=r"columns \['b'\] are not numeric"):
        ImbalancedTorchClassifier(**FAST).fit(X, Y)


def test_wrong_length_target_raises(data):
    X, Y = data
    with pytest.raises(ValueError, match="inconsistent"):
        ImbalancedTorchClassifier(**FAST).fit(X, Y[:-1])


# ---------------------------------------------------------------------------
# strategy state comes from the training portion
# ---------------------------------------------------------------------------


class _FixedSplit:
    """A train_split returning fixed Subsets of the dataset it is given."""

    def __init__(self, n, n_valid):
        self.train = np.arange(n_valid, n)
        self.valid = np.arange(n_valid)

    def __call__(self, dataset, y=None, **kwargs):
        return Subset(dataset, self.train), Subset(dataset, self.valid)


def test_counts_and_loss_statistics_from_training_rows_only(data):
    X, Y = data
    split = _FixedSplit(len(X), 100)
    clf = fitted(X, Y, loss="bce", train_split=split)
    Y_train = Y[split.train]
    np.testing.assert_array_equal(clf.class_counts_, Y_train.sum(axis=0))
    assert not np.array_equal(clf.class_counts_, Y.sum(axis=0))
    pos = Y_train.sum(axis=0)
    np.testing.assert_allclose(clf.criterion_.positive_weight.numpy(),
                               (len(Y_train) - pos) / pos)
    groups = rarest_positive_label(Y_train)
    np.testing.assert_array_equal(clf.sampler_.class_counts_.numpy(),
                                  np.bincount(groups, minlength=N_LABELS + 1))


def test_default_split_stratifies_by_rarest_label(data):
    X, Y = data
    clf = fitted(X, Y, loss="bce")  # ValidSplit(5, stratified=True)
    groups = np.bincount(rarest_positive_label(Y), minlength=N_LABELS + 1)
    train_groups = clf.sampler_.class_counts_.numpy()
    # each rarest-label group keeps about 4/5 of its rows in the training portion
    np.testing.assert_allclose(train_groups, groups * 0.8, atol=1.0)
    assert "valid_f1_macro" in clf.history[-1]


def test_valid_f1_macro_is_macro_f1_over_labels_of_the_validation_rows(data):
    X, Y = data
    split = _FixedSplit(len(X), 120)
    clf = fitted(X, Y, loss="bce", max_epochs=3, lr=1e-2, train_split=split)
    expected = macro_f1(Y[split.valid], clf.predict(X[split.valid]))
    assert clf.history[-1, "valid_f1_macro"] == pytest.approx(expected)
    assert 0.0 < expected < 1.0


def test_imblearn_sampler_rejected_with_multilabel(data):
    X, Y = data
    clf = ImbalancedTorchClassifier(sampler=RandomOverSampler(), **FAST)
    with pytest.raises(ValueError, match="imbalanced-learn samplers need one label per row"):
        clf.fit(X, Y)
    assert not hasattr(clf, "module_") and not hasattr(clf, "multilabel_")


# ---------------------------------------------------------------------------
# samplers: rows weighted through their rarest positive label
# ---------------------------------------------------------------------------


def test_rarest_positive_label_rule():
    Y = np.array([
        [1, 0, 0, 0],   # only label 0
        [1, 1, 0, 0],   # 1 is rarer than 0
        [0, 1, 1, 0],   # 2 is the rarest present
        [0, 0, 0, 0],   # none: extra class 4
        [1, 0, 1, 1],   # 3 and 2 both have 2 positives... 3 has 1 -> 3
        [1, 0, 1, 0],
    ])
    # positives: label0 4, label1 2, label2 3, label3 1
    assert rarest_positive_label(Y).tolist() == [0, 1, 1, 4, 3, 2]
    tie = np.array([[1, 1], [1, 1], [0, 0]])  # equal counts: lower index wins
    assert rarest_positive_label(tie).tolist() == [0, 0, 2]


@pytest.mark.parametrize("sampler, expected_share", [
    ("over", "equal"), ("sqrt", "sqrt"), ("under", "min"),
])
def test_samplers_draw_rarest_label_groups(data, sampler, expected_share):
    X, Y = data
    clf = fitted(X, Y, sampler=sampler, train_split=None)
    groups = torch.as_tensor(rarest_positive_label(Y))
    counts = torch.bincount(groups).double()
    drawn = torch.zeros_like(counts)
    for epoch in range(20):
        idx = clf.sampler_.epoch_indices(epoch, 64, torch.Generator().manual_seed(epoch))
        drawn += torch.bincount(groups[idx], minlength=len(counts)).double()
    share = drawn / drawn.sum()
    if expected_share == "equal":
        target = torch.full_like(counts, 1 / len(counts))
    elif expected_share == "sqrt":
        target = counts.sqrt() / counts.sqrt().sum()
    else:
        target = torch.full_like(counts, 1 / len(counts))
        assert drawn.tolist() == [20 * counts.min().item()] * len(counts)
    np.testing.assert_allclose(share.numpy(), target.numpy(), atol=0.02)
    # the rarest label is drawn far more often than its share of the rows
    rare_share = (Y[idx.numpy()][:, 3]).mean()
    assert rare_share > 1.5 * Y[:, 3].mean()


def test_over_sampling_raises_rarest_label_positives_per_epoch(data):
    X, Y = data
    none = fitted(X, Y, sampler="none", train_split=None).sampler_
    over = fitted(X, Y, sampler="over", train_split=None).sampler_
    g = torch.Generator().manual_seed(0)
    share_none = Y[none.epoch_indices(0, 64, g).numpy()].mean(axis=0)
    share_over = Y[over.epoch_indices(0, 64, g).numpy()].mean(axis=0)
    np.testing.assert_allclose(share_none, Y.mean(axis=0))
    assert share_over[3] > 2 * share_none[3]


# ---------------------------------------------------------------------------
# every multi-label loss and sampler runs; persistence; continued fits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", multilabel_losses())
@pytest.mark.parametrize("sampler", ["none", "sqrt", "balanced_batch"])
def test_every_multilabel_loss_and_sampler_fit(data, loss, sampler):
    X, Y = data
    clf = fitted(X, Y, loss=loss, sampler=sampler)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.predict(X).shape == Y.shape
    assert clf.criterion_.multilabel


def test_zero_sample_weight_removes_rows_from_the_loss(data):
    X, Y = data
    w = np.where(Y[:, 3] == 1, 0.0, 1.0)
    keep = w > 0
    one_step = dict(loss="bce", loss__pos_weight=None, train_split=None, max_epochs=1,
                    batch_size=len(X), module__dropout=0.0)
    weighted = fitted(X, Y, **one_step).fit(X, Y, sample_weight=w)
    dropped = fitted(X[keep], Y[keep], **one_step)
    plain = fitted(X, Y, **one_step)
    # one full batch at the initial weights: the recorded loss is the loss at init
    assert weighted.history[-1, "train_loss"] == pytest.approx(
        dropped.history[-1, "train_loss"], rel=1e-5)
    assert abs(plain.history[-1, "train_loss"] - dropped.history[-1, "train_loss"]) > 1e-4


def test_pickle_and_clone(data):
    X, Y = data
    clf = fitted(X, pd.DataFrame(Y, columns=list("abcd")), loss="asl")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.classes_.tolist() == list("abcd") and restored.multilabel_
    fresh = clone(clf)
    assert not hasattr(fresh, "multilabel_")
    assert fresh.get_params()["loss"] == "asl"


def test_reproducible_with_random_state(data):
    X, Y = data
    a = fitted(X, Y, loss="crl", sampler="over").predict_proba(X)
    b = fitted(X, Y, loss="crl", sampler="over").predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_partial_fit_and_target_form_checks(data):
    X, Y = data
    clf = fitted(X, Y, loss="bce")
    epochs = len(clf.history)
    clf.partial_fit(X, Y)
    assert len(clf.history) == 2 * epochs
    with pytest.raises(ValueError, match="multi-label indicator"):
        clf.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="3 labels; fit saw 4"):
        clf.partial_fit(X, Y[:, :3])
    single = fitted(X, Y[:, 0])
    with pytest.raises(ValueError, match="one label per row"):
        single.partial_fit(X, Y)


def test_torch_dataset_with_multilabel_target(data):
    X, Y = data
    dataset = TensorDataset(torch.as_tensor(X), torch.as_tensor(Y, dtype=torch.float32))
    clf = fitted(dataset, Y, loss="bce", sampler="sqrt", module="mlp", module__scaling=None)
    assert clf.multilabel_
    assert clf.predict(dataset).shape == Y.shape


def test_custom_loss_module_gets_sigmoid_probabilities(data):
    X, Y = data
    clf = fitted(X, Y.astype(np.float32), loss=nn.BCEWithLogitsLoss)
    np.testing.assert_allclose(clf.predict_proba(X),
                               torch.sigmoid(_raw_output(clf, X)).numpy(), atol=1e-6)


# ---------------------------------------------------------------------------
# scoring and model selection
# ---------------------------------------------------------------------------


def test_macro_f1_on_indicators_matches_sklearn():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, size=(50, 5))
    y_pred = rng.integers(0, 2, size=(50, 5))
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    per_label = f1_score(y_true, y_pred, average=None)
    assert macro_f1(y_true, y_pred, exclude=[0, 4]) == pytest.approx(per_label[1:4].mean())
    frame = pd.DataFrame(y_true, columns=list("abcde"))
    assert macro_f1(frame, y_pred, exclude="e") == pytest.approx(per_label[:4].mean())
    assert macro_f1(sp.csr_matrix(y_true), sp.csr_matrix(y_pred)) == pytest.approx(
        per_label.mean())


def test_macro_f1_indicator_skips_labels_absent_everywhere():
    y_true = np.array([[1, 0, 0], [0, 1, 0]])
    y_pred = np.array([[1, 0, 0], [1, 1, 0]])
    # label 2 is neither true nor predicted: left out, as an absent class would be
    assert macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + 1.0) / 2)
    with pytest.raises(ValueError, match="different shapes"):
        macro_f1(y_true, y_pred[:, :2])


@pytest.mark.parametrize("cv", [KFold(3, shuffle=True, random_state=0), 3])
def test_grid_search_over_multilabel_losses(data, cv):
    X, Y = data
    clf = ImbalancedTorchClassifier(**{**FAST, "max_epochs": 2, "train_split": None})
    grid = {"loss": ["bce", "asl"], "sampler": ["none", "over"]}
    search = GridSearchCV(clf, grid, cv=cv, scoring="f1_macro", error_score="raise")
    search.fit(X, pd.DataFrame(Y, columns=list("abcd")))
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == Y.shape


def test_grid_search_with_skimb_scorer_and_loss_parameters(data):
    X, Y = data
    clf = ImbalancedTorchClassifier(**{**FAST, "loss": "bce", "train_split": None})
    search = GridSearchCV(clf, {"loss__pos_weight": [None, "auto"]}, cv=KFold(2),
                          scoring=macro_f1_scorer(exclude=[0]), error_score="raise")
    search.fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# ---------------------------------------------------------------------------
# behaviour: pos_weight="auto" finds more of the rarest label
# ---------------------------------------------------------------------------


def test_auto_pos_weight_raises_recall_of_the_rarest_label():
    X, Y = multilabel_data(n=1200, seed=1)
    X_te, Y_te = multilabel_data(n=1200, seed=2)
    recalls = {}
    for pos_weight in (None, "auto"):
        clf = fitted(X, Y, loss="bce", loss__pos_weight=pos_weight, max_epochs=10, lr=1e-2,
                     batch_size=128, train_split=None)
        recalls[pos_weight] = recall_score(Y_te[:, 3], clf.predict(X_te)[:, 3])
    assert recalls["auto"] >= recalls[None] + 0.3, recalls
    assert recalls["auto"] >= 0.7, recalls


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("loss", multilabel_losses())
def test_multilabel_fit_on_cuda_matches_shapes_and_unpickles(data, loss):
    X, Y = data
    clf = fitted(X, Y, loss=loss, sampler="over", device="cuda")
    assert next(clf.module_.parameters()).is_cuda
    assert clf.criterion_.class_counts.is_cuda
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and np.isfinite(proba).all()
    assert np.isfinite(clf.history[:, "valid_f1_macro"]).all()
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=1e-6)


# ---------------------------------------------------------------------------
# review findings: rare labels, Dataset names, non-indicator scores, duplicate names
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")
def test_fit_survives_validation_rows_without_any_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5)).astype(np.float32)
    Y = np.zeros((100, 2), dtype=int)
    Y[-1, 0] = Y[-2, 1] = 1
    clf = fitted(X, Y, max_epochs=3)
    assert clf.history[:, "valid_f1_macro"] == [0.0, 0.0, 0.0]


def test_macro_f1_no_label_anywhere_is_zero_and_full_exclusion_raises():
    assert macro_f1(np.zeros((4, 2)), np.zeros((4, 2))) == 0.0
    with pytest.raises(ValueError, match="every label is excluded"):
        macro_f1(np.eye(2), np.eye(2), exclude=[0, 1])


@pytest.mark.parametrize("bad", ["proba", "twos"])
def test_macro_f1_rejects_non_indicator_predictions(bad):
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    pred = np.random.default_rng(0).random(Y.shape) if bad == "proba" else 2 * Y
    with pytest.raises(ValueError, match="y_pred must be a 0/1 indicator matrix"):
        macro_f1(Y, pred)


def test_torch_dataset_keeps_dataframe_label_names(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=list("abcd"))
    dataset = TensorDataset(torch.as_tensor(X), torch.as_tensor(Y, dtype=torch.float32))
    weights = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    clf = fitted(dataset, frame, loss="bce", loss__pos_weight=weights, module="mlp",
                 module__scaling=None)
    assert clf.classes_.tolist() == list("abcd")
    assert clf.criterion_.positive_weight.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="multi-label indicator"):
        clf.partial_fit(TensorDataset(torch.as_tensor(X), torch.as_tensor(Y[:, 0])), Y[:, 0])


def test_duplicate_label_names_raise(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"distinct label names; \['a'\] repeat"):
        fitted(X, pd.DataFrame(Y, columns=["a", "a", "b", "c"]))


def test_binary_bce_pos_weight_dict_keyed_by_positive_class(data):
    X, Y = data
    labels = np.where(Y[:, 0] == 1, "ice", "dry")
    clf = fitted(X, labels, loss="bce", loss__pos_weight={"ice": 5.0})
    assert clf.criterion_.positive_weight.tolist() == [5.0]


def test_single_column_sparse_target_is_single_label(data):
    X, Y = data
    with pytest.warns(DataConversionWarning, match="column-vector"):
        clf = fitted(X, sp.csr_matrix(Y[:, :1]))
    assert not clf.multilabel_ and clf.classes_.tolist() == [0, 1]
