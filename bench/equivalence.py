"""Before/after equivalence check of ``ImbalancedTorchClassifier``.

Runs a fixed matrix of small configurations -- samplers x losses x networks x
targets (binary, 3-class, multi-label with 3 labels) x ``train_split`` (None or
``ValidSplit(5, stratified=True)``), as a covering design rather than the full
product, plus extras (``sample_weight``, ``decision="prior"`` / ``"tuned"``,
``loss__drw_epoch``, ``partial_fit`` / warm-start continuation,
``max_epochs="auto"`` on a tiny table, a few combinations that must raise),
and what the refactor of issue 29 moves (``round3_configs``): each augmentation
(noise, mixup, smote, a callable on tables; cutmix and mixup on images, uint8 with
``scale_uint8``) with sample weights, a split and continuation; raw DataFrames
(text, category, bool, nullable, datetime, NaN) through every built-in network;
numeric DataFrames; dicts of arrays into a two-input module; N-D float and uint8
arrays (images, sequences); integer ids (an int64 N-D array, a dict value) into an
``nn.Embedding``; scipy sparse X; the DataLoader path (a torch Dataset as X, with labels
from y or from the dataset, and ``iterator_train__num_workers=0`` on in-memory rows);
imbalanced-learn samplers on raw tables; and the round-3 combinations that must raise --
and records, per configuration key, ``predict_proba`` and ``predict`` on fixed
held-out rows (and the history's ``train_loss``, shown for diagnosis only). Every
configuration runs on the CPU, on one torch thread, with ``random_state=0``.

A configuration that raises is recorded as ``error: <message>``; it agrees with
the other side when both raised the same message. Keys under ``error/`` must raise;
every other one must fit.

Usage (the package is imported from ``PYTHONPATH``, so point it at the code to
check; ``skimb.__file__`` and its commit are printed first)::

    # baseline, on the code before a change, e.g. a worktree of it
    cd /work/baseline && PYTHONPATH=/work/baseline nice -n 10 \
        /work/main/.venv/bin/python /work/main/bench/equivalence.py \
        --save /work/equivalence_baseline.npz
    # after the change: a refactor must give the same numbers bit for bit
    cd /work/main && PYTHONPATH=/work/main nice -n 10 .venv/bin/python \
        bench/equivalence.py --compare /work/equivalence_baseline.npz --exact

Run both sides with the same version of this script (the inputs and the
configurations are made here). The baseline of issue 29 is
``/work/equivalence_baseline.npz``, saved at commit 1a9f464 with this script
(see ``/work/notes/equivalence_ready.txt``).

Issue 30 made ``predict_proba`` undo the prior shift of a rebalancing strategy
(``calibration="prior"``, the default) and left ``predict`` on the raw output. Against a
round-3 baseline::

    # the raw output everywhere: must read 207/207 bit for bit
    ... bench/equivalence.py --compare /work/equivalence_baseline.npz --exact --calibration none
    # the default: predict bit-identical everywhere, predict_proba wherever no shift applies
    ... bench/equivalence.py --compare /work/equivalence_baseline.npz --predict-exact

Options: ``--calibration none`` fits every configuration with ``calibration=None``;
``--predict-exact``: ``predict`` must be bit-identical, and ``predict_proba`` too wherever
the fitted ``calibration_`` is the identity (a configuration whose correction shifts it is
marked ``shift``); ``--exact``: ``predict_proba`` and ``predict`` must be bit-identical
(same dtype, ``np.array_equal``); ``--atol`` (default 1e-5) on max |delta proba|
otherwise; ``--limit N`` runs only the first N configurations (after ``--only``);
``--only SUBSTRING`` keeps the keys containing it (repeatable: any of them);
``--list`` prints the keys; ``--allow-predict-flips`` does not fail on ``predict``
differences alone. ``--compare`` exits 1 when any configuration differs.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification, make_multilabel_classification
from torch import nn

N_TRAIN, N_TEST, N_FEATURES = 300, 60, 6
SAMPLERS = ("none", "under", "over", "sqrt", "progressive", "balanced_batch", "rus")
NETWORKS = ("mlp", "tabm", "user")
TARGETS = ("binary", "multiclass", "multilabel")
SPLITS = ("nosplit", "split")
#: Losses per target kind they support (bce/asl: binary or multi-label; the
#: multi-label losses are those of skimb.losses.multilabel_losses()).
LOSSES = {
    "binary": ("ce", "weighted_ce", "focal", "class_balanced", "ldam", "logit_adjusted",
               "balanced_softmax", "vs", "bce", "asl", "crl"),
    "multiclass": ("ce", "weighted_ce", "focal", "class_balanced", "ldam", "logit_adjusted",
                   "balanced_softmax", "vs", "crl"),
    "multilabel": ("ce", "bce", "focal", "asl", "crl"),
}
#: Configurations drawn per (target, loss) pair in the covering part.
PER_PAIR = 3
MAX_EPOCHS = 3
#: Input kinds beyond the numeric table (made from the table of the target, see
#: make_inputs); "table" is that table as it is.
INPUTS = ("table", "frame", "frame_complete", "frame_numeric", "dict", "images",
          "images_uint8", "sequences", "ids", "ids_table", "ids_dict", "sparse", "dataset",
          "dataset_labels")
AUGMENTATIONS = ("noise", "mixup", "smote", "cutmix", "function")
IMAGE_CHANNELS, IMAGE_SIDE = 2, 4
SEQUENCE_LENGTH, SEQUENCE_FEATURES = 4, 3
N_ID_COLUMNS, N_ID_LEVELS = 4, 5
N_IDS = N_ID_COLUMNS * N_ID_LEVELS


class TinyNet(nn.Module):
    """A user module: Linear-ReLU-Linear, sized by module__n_in / module__n_out."""

    def __init__(self, n_in=N_FEATURES, n_out=3, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def forward(self, X):
        return self.body(X)


class TinyCNN(nn.Module):
    """A user CNN for images (n, IMAGE_CHANNELS, IMAGE_SIDE, IMAGE_SIDE)."""

    def __init__(self, n_out=3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(IMAGE_CHANNELS, 4, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, n_out))

    def forward(self, X):
        return self.body(X)


class TinyGRU(nn.Module):
    """A user GRU for sequences (n, SEQUENCE_LENGTH, SEQUENCE_FEATURES)."""

    def __init__(self, n_out=3, hidden=8):
        super().__init__()
        self.gru = nn.GRU(SEQUENCE_FEATURES, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, X):
        return self.head(self.gru(X)[1][-1])


class TwoInputNet(nn.Module):
    """A user module of two inputs, X = {"a": (n, 3), "b": (n, 3)}."""

    def __init__(self, n_out=3, hidden=8):
        super().__init__()
        self.a, self.b = nn.Linear(3, hidden), nn.Linear(3, hidden)
        self.head = nn.Linear(2 * hidden, n_out)

    def forward(self, a, b):
        return self.head(torch.relu(torch.cat([self.a(a), self.b(b)], dim=1)))


class IdsNet(nn.Module):
    """A user module of integer ids, int64 of any shape (n, ...): embedded, averaged."""

    def __init__(self, n_out=3, dim=8):
        super().__init__()
        self.embedding = nn.Embedding(N_IDS, dim)
        self.head = nn.Linear(dim, n_out)

    def forward(self, X):
        return self.head(self.embedding(X).flatten(1, -2).mean(dim=1))


class IdsAndNumbersNet(nn.Module):
    """A user module of a dict: ``ids`` (n, N_ID_COLUMNS) int64 and ``numbers`` (n, 2)."""

    def __init__(self, n_out=3, dim=8):
        super().__init__()
        self.embedding = nn.Embedding(N_IDS, dim)
        self.numbers = nn.Linear(2, dim)
        self.head = nn.Linear(2 * dim, n_out)

    def forward(self, ids, numbers):
        joined = torch.cat([self.embedding(ids).mean(dim=1), self.numbers(numbers)], dim=1)
        return self.head(torch.relu(joined))


def scale_up(X, y):
    """A callable augmentation (``augment=scale_up``): every row times 1.1."""
    return X * 1.1, y


#: The user modules of the N-D and dict inputs, by network name.
USER_MODULES = {"cnn": TinyCNN, "gru": TinyGRU, "two_input": TwoInputNet, "ids": IdsNet,
                "ids_dict": IdsAndNumbersNet}


# -- data ------------------------------------------------------------------------------


def make_target_data(kind, n_train=N_TRAIN, n_test=N_TEST):
    """``(X_train, y_train, X_test)`` of one target kind, from fixed seeds."""
    n = n_train + n_test
    if kind == "binary":
        X, y = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                   n_redundant=0, weights=[0.85], class_sep=1.0,
                                   random_state=1)
    elif kind == "multiclass":
        X, y = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                   n_redundant=0, n_classes=3, weights=[0.7, 0.2, 0.1],
                                   class_sep=1.5, random_state=0)
    elif kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=n, n_features=N_FEATURES, n_classes=3,
                                              n_labels=1, allow_unlabeled=True, random_state=2)
        # imbalance: keep label 2 on a third of its rows only
        rng = np.random.RandomState(2)
        y[:, 2] = y[:, 2] * (rng.rand(n) < 0.35)
        X = X.astype(np.float64)
    elif kind == "strings":
        X, y_int = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                       n_redundant=0, n_classes=3, weights=[0.7, 0.2, 0.1],
                                       class_sep=1.5, random_state=3)
        y = np.array(["dry", "ice", "wet"])[y_int]
    else:
        raise ValueError(kind)
    return X[:n_train], y[:n_train], X[n_train:]


def sample_weights(n, seed=5):
    """Non-uniform, positive per-row weights (0.25 .. 2), fixed."""
    return np.random.RandomState(seed).choice([0.25, 0.5, 1.0, 2.0], size=n)


def make_inputs(kind, target, n_train=N_TRAIN):
    """``(X_train, y_train, X_test)`` of one input kind, made from the table of ``target``
    (:func:`make_target_data`) so that the labels stay learnable; ``y_train`` is None when
    the labels come from the dataset."""
    X, y, X_test = make_target_data(target, n_train=n_train)
    if kind == "table":
        return X, y, X_test
    if kind in ("dataset", "dataset_labels"):
        from torch.utils.data import TensorDataset
        labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
        train = TensorDataset(torch.from_numpy(X.astype(np.float32)), labels)
        test = TensorDataset(torch.from_numpy(X_test.astype(np.float32)),
                             torch.zeros(len(X_test), dtype=torch.int64))
        return train, (None if kind == "dataset_labels" else y), test
    return _convert(kind, X, seed=11), y, _convert(kind, X_test, seed=12)


def _convert(kind, X, seed):
    """The rows of a numeric table as another input kind (fixed seeds)."""
    rng = np.random.RandomState(seed)
    n = len(X)
    if kind in ("frame", "frame_complete"):
        return _raw_frame(X, rng, missing=kind == "frame")
    if kind == "frame_numeric":
        import pandas as pd
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    if kind == "dict":
        return {"a": X[:, :3].astype(np.float32), "b": X[:, 3:6]}
    if kind in ("images", "images_uint8"):
        patterns = np.random.RandomState(3).normal(size=(IMAGE_CHANNELS, IMAGE_SIDE, IMAGE_SIDE))
        images = (np.einsum("nc,chw->nchw", X[:, :IMAGE_CHANNELS], patterns)
                  + 0.1 * rng.normal(size=(n, IMAGE_CHANNELS, IMAGE_SIDE, IMAGE_SIDE)))
        if kind == "images":
            return images.astype(np.float32)
        return np.clip(images * 40 + 128, 0, 255).astype(np.uint8)
    if kind == "sequences":
        steps = np.linspace(0.5, 1.5, SEQUENCE_LENGTH)[None, :, None]
        return (X[:, None, :SEQUENCE_FEATURES] * steps
                + 0.1 * rng.normal(size=(n, SEQUENCE_LENGTH, SEQUENCE_FEATURES))
                ).astype(np.float32)
    if kind == "ids":  # N-D: a 2 x 2 grid of ids per row
        return _ids(X).reshape(n, 2, N_ID_COLUMNS // 2)
    if kind == "ids_table":  # 2-D: a table, so floats for the module
        return _ids(X)
    if kind == "ids_dict":
        return {"ids": _ids(X), "numbers": X[:, 4:6].astype(np.float32)}
    if kind == "sparse":
        import scipy.sparse as sp
        return sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    raise ValueError(kind)


def _ids(X):
    """int64 ids (n, N_ID_COLUMNS): each of the first columns cut into N_ID_LEVELS bins,
    every column with ids of its own."""
    edges = np.linspace(-2, 2, N_ID_LEVELS - 1)
    levels = np.stack([np.digitize(X[:, j], edges) for j in range(N_ID_COLUMNS)], axis=1)
    return (levels + N_ID_LEVELS * np.arange(N_ID_COLUMNS)).astype(np.int64)


def _raw_frame(X, rng, missing=True):
    """A raw DataFrame: numbers (with NaN), text, category, bool, nullable integers (with
    NA), datetimes and pandas strings, the first ones carrying the signal of ``X``."""
    import pandas as pd
    n = len(X)
    temp = X[:, 0].copy()
    count = pd.array(np.clip(np.round(X[:, 5] + 2), 0, 4).astype(np.int64), dtype="Int64")
    nan_rows, na_rows = rng.rand(n) < 0.15, rng.rand(n) < 0.1
    if missing:
        temp[nan_rows] = np.nan
        count[na_rows] = pd.NA
    return pd.DataFrame({
        "temp": temp,
        "wind": X[:, 1],
        "station": pd.Series(np.array(["RTOI4", "RAMI4", "RDSI4"])[np.digitize(X[:, 2],
                                                                              [-0.5, 0.5])],
                             dtype=object),
        "surface": pd.Categorical(np.where(X[:, 3] > 0, "wet", "dry"),
                                  categories=["wet", "dry", "never_used"]),
        "flag": X[:, 4] > 0.3,
        "count": count,
        "when": pd.Timestamp("2019-01-01") + pd.to_timedelta(
            np.round((X[:, 3] + 3) * 1000).astype(np.int64), unit="min"),
        "note": pd.array(rng.choice(["a", "b", "c"], n), dtype="string"),
    })


# -- the matrix ------------------------------------------------------------------------


def _sampler_value(name):
    if name == "rus":
        from imblearn.under_sampling import RandomUnderSampler
        return RandomUnderSampler(random_state=0)
    if name == "imb_smote":
        from imblearn.over_sampling import SMOTE
        return SMOTE(random_state=0)
    return name


def _split_value(name):
    if name == "split":
        from skorch.dataset import ValidSplit
        return ValidSplit(5, stratified=True)
    return None


def _n_outputs(target, loss):
    if target == "binary":
        return 1 if loss in ("bce", "asl") else 2
    return 3


def config(key, target, sampler="none", loss="ce", network="mlp", split="nosplit", *,
           params=None, fit="fit", n_train=N_TRAIN, weights=False, inputs="table"):
    """One configuration: a dict that :func:`run_config` turns into a fit."""
    return dict(key=key, target=target, sampler=sampler, loss=loss, network=network,
                split=split, params=dict(params or {}), fit=fit, n_train=n_train,
                weights=weights, inputs=inputs)


def _key(target, sampler, loss, network, split, extra=""):
    return "/".join([target, sampler, loss, network, split]) + (f"/{extra}" if extra else "")


def covering_configs():
    """``PER_PAIR`` configurations per valid (target, loss) pair, the sampler, the network
    and the split each cycling on its own counter, so every value of every axis recurs
    and meets many values of the others."""
    out = []
    i = 0
    for target in TARGETS:
        for loss in LOSSES[target]:
            for _ in range(PER_PAIR):
                sampler = SAMPLERS[i % len(SAMPLERS)]
                network = NETWORKS[(i // 2) % len(NETWORKS)]
                split = SPLITS[(i // 5) % len(SPLITS)]
                i += 1
                if target == "multilabel" and sampler == "rus":
                    sampler = "sqrt"  # imblearn samplers take single-label targets only
                if loss == "ldam" and network == "tabm":
                    network = "mlp"  # ldam needs the MLP's cosine head (see error_configs)
                key = _key(target, sampler, loss, network, split)
                while key in {c["key"] for c in out}:
                    key += "+"
                out.append(config(key, target, sampler, loss, network, split))
    return out


def extra_configs():
    """Options off the main axes."""
    split = dict(split="split")
    return [
        # sample_weight
        config("extra/sample_weight/multiclass/none/ce/mlp", "multiclass", weights=True),
        config("extra/sample_weight/multiclass/over/weighted_ce/tabm/split", "multiclass",
               "over", "weighted_ce", "tabm", weights=True, **split),
        config("extra/sample_weight/binary/rus/focal/user", "binary", "rus", "focal", "user",
               weights=True),
        config("extra/sample_weight/multilabel/under/bce/mlp/split", "multilabel", "under",
               "bce", weights=True, **split),
        # decisions
        config("extra/decision_prior/multiclass/none/ce/mlp", "multiclass",
               params=dict(decision="prior")),
        config("extra/decision_prior/binary/sqrt/weighted_ce/tabm", "binary", "sqrt",
               "weighted_ce", "tabm", params=dict(decision="prior", decision__tau=0.5)),
        config("extra/decision_prior/multilabel/none/bce/mlp", "multilabel", loss="bce",
               params=dict(decision="prior")),
        config("extra/decision_tuned/multiclass/none/ce/mlp/split", "multiclass",
               params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/binary/under/focal/tabm/split", "binary", "under", "focal",
               "tabm", params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/multilabel/none/asl/mlp/split", "multilabel", loss="asl",
               params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/multiclass/none/ce/mlp/min_count", "multiclass",
               params=dict(decision="tuned", decision__min_count=1, decision__shrinkage=0),
               **split),
        # deferred re-weighting
        config("extra/drw2/multiclass/none/weighted_ce/mlp", "multiclass", loss="weighted_ce",
               params=dict(loss__drw_epoch=2)),
        config("extra/drw2/binary/over/weighted_ce/user/split", "binary", "over", "weighted_ce",
               "user", params=dict(loss__drw_epoch=2), **split),
        config("extra/drw2/multiclass/none/class_balanced/tabm", "multiclass",
               loss="class_balanced", network="tabm", params=dict(loss__drw_epoch=2)),
        # continuation
        config("extra/partial_fit/multiclass/under/ce/mlp", "multiclass", "under", fit="partial"),
        config("extra/partial_fit/multilabel/none/focal/tabm/split", "multilabel",
               loss="focal", network="tabm", fit="partial", **split),
        config("extra/warm_start/binary/sqrt/ldam/mlp", "binary", "sqrt", "ldam", fit="warm"),
        config("extra/partial_fit/multiclass/rus/vs/user/weights", "multiclass", "rus", "vs",
               "user", fit="partial", weights=True),
        # max_epochs="auto" (240 epochs) on a tiny table
        config("extra/auto_epochs/multiclass/none/ce/mlp/n60", "multiclass", n_train=60,
               params=dict(max_epochs="auto")),
        config("extra/auto_epochs/binary/balanced_batch/focal/tabm/split/n60", "binary",
               "balanced_batch", "focal", "tabm", n_train=60,
               params=dict(max_epochs="auto"), **split),
        # other parameters
        config("extra/default_network/multiclass/none/ce", "multiclass", network="default"),
        config("extra/strings/multiclass/sqrt/logit_adjusted/mlp", "strings", "sqrt",
               "logit_adjusted"),
        config("extra/sampler_params/multiclass/power/ce/mlp", "multiclass", "power",
               params=dict(sampler__q=0.25, sampler__max_per_class=100)),
        config("extra/loss_params/multiclass/none/focal/mlp", "multiclass", loss="focal",
               params=dict(loss__gamma=1.0)),
        config("extra/loss_params/multilabel/none/bce/mlp", "multilabel", loss="bce",
               params=dict(loss__pos_weight="auto")),
        config("extra/threshold/multilabel/none/ce/mlp", "multilabel",
               params=dict(threshold=0.3)),
        config("extra/batch_size/multiclass/over/crl/mlp", "multiclass", "over", "crl",
               params=dict(batch_size=64)),
    ]


def error_configs():
    """Combinations the library rejects: recorded as errors, must keep raising."""
    return [
        config("error/multiclass/none/bce/mlp", "multiclass", loss="bce"),
        config("error/multiclass/none/asl/mlp", "multiclass", loss="asl"),
        config("error/multilabel/none/weighted_ce/mlp", "multilabel", loss="weighted_ce"),
        config("error/multilabel/rus/ce/mlp", "multilabel", "rus"),
        config("error/multiclass/none/ldam/tabm", "multiclass", loss="ldam", network="tabm"),
        config("error/multiclass/none/ce/mlp/tuned_nosplit", "multiclass",
               params=dict(decision="tuned")),
    ]


def _r3(group, inputs, target, sampler="none", loss="ce", network="mlp", split="nosplit",
        extra="", **kwargs):
    """A configuration of the round-3 part, keyed
    ``group/inputs/target/sampler/loss/network[/split][/extra]``."""
    key = "/".join([group, inputs, target, sampler, loss, network])
    key += "/split" if split == "split" else ""
    key += f"/{extra}" if extra else ""
    return config(key, target, sampler, loss, network, split, inputs=inputs, **kwargs)


def augment_configs():
    """Each augmentation on tables, images, raw tables and dicts; with sample_weight, a
    validation split, continuation, the DataLoader path."""
    noise, mixup, smote = (dict(augment=name) for name in ("noise", "mixup", "smote"))
    cutmix = dict(augment="cutmix", scale_uint8=True)
    loader = dict(iterator_train__num_workers=0)
    return [
        # tables
        _r3("augment/noise", "table", "multiclass", params=noise),
        _r3("augment/noise", "table", "binary", "sqrt", "focal", "user", "split",
            params=dict(noise, augment__rate="rarity", augment__scale=0.3)),
        _r3("augment/noise", "table", "multiclass", "under", "weighted_ce", "tabm",
            params=dict(noise, augment__classes="minority")),
        _r3("augment/noise", "table", "multilabel", loss="bce", params=noise),
        _r3("augment/mixup", "table", "multiclass", "over", params=mixup),
        _r3("augment/mixup", "table", "binary", loss="logit_adjusted", network="tabm",
            split="split", params=dict(mixup, augment__alpha=0.4)),
        _r3("augment/mixup", "table", "multilabel", loss="bce", params=mixup),
        _r3("augment/mixup", "table", "multiclass", network="default", params=mixup),
        _r3("augment/smote", "table", "multiclass", params=smote),
        _r3("augment/smote", "table", "binary", "balanced_batch", "focal", "tabm",
            params=dict(smote, augment__k_neighbors=3)),
        _r3("augment/smote", "table", "multiclass", "progressive", network="user", split="split",
            params=dict(smote, augment__rate=0.5, augment__classes=[1, 2])),
        _r3("augment/function", "table", "multiclass", params=dict(augment=scale_up)),
        # sample_weight
        _r3("augment/noise", "table", "multiclass", extra="weights", weights=True, params=noise),
        _r3("augment/mixup", "table", "multiclass", "sqrt", "weighted_ce", extra="weights",
            weights=True, params=mixup),
        _r3("augment/smote", "table", "binary", loss="focal", network="tabm", split="split",
            extra="weights", weights=True, params=smote),
        _r3("augment/cutmix", "images_uint8", "multiclass", network="cnn", extra="weights",
            weights=True, params=cutmix),
        # continuation
        _r3("augment/mixup", "table", "multiclass", extra="partial_fit", fit="partial",
            params=mixup),
        _r3("augment/smote", "table", "multiclass", "under", extra="warm_start", fit="warm",
            params=smote),
        _r3("augment/cutmix", "images_uint8", "multiclass", network="cnn", extra="partial_fit",
            fit="partial", params=cutmix),
        # the DataLoader path
        _r3("augment/noise", "table", "multiclass", "over", extra="loader",
            params=dict(noise, **loader)),
        # images, raw tables, dicts, sequences
        _r3("augment/cutmix", "images_uint8", "multiclass", network="cnn", params=cutmix),
        _r3("augment/cutmix", "images_uint8", "binary", "over", "focal", "cnn", "split",
            params=dict(cutmix, augment__alpha=0.5)),
        _r3("augment/cutmix", "images", "multiclass", "sqrt", network="cnn",
            params=dict(augment="cutmix")),
        _r3("augment/mixup", "images_uint8", "multiclass", "over", network="cnn",
            params=dict(mixup, scale_uint8=True)),
        _r3("augment/noise", "images", "multiclass", network="cnn", params=noise),
        _r3("augment/noise", "frame", "multiclass", params=noise),
        _r3("augment/smote", "frame", "multiclass", network="tabm", params=smote),
        _r3("augment/mixup", "frame", "binary", "under", network="linear", params=mixup),
        _r3("augment/mixup", "dict", "multiclass", network="two_input", params=mixup),
        _r3("augment/noise", "sequences", "multiclass", network="gru", params=noise),
        _r3("augment/noise", "ids", "multiclass", network="ids", params=noise),
    ]


def input_configs():
    """Every input kind: raw DataFrames through each built-in network, dicts, N-D float and
    uint8 arrays, integer ids, scipy sparse; with samplers, splits, weights, decisions and
    continuation."""
    tuned = dict(decision="tuned")
    return [
        # raw DataFrames (text, category, bool, nullable, datetime, NaN)
        _r3("inputs", "frame", "multiclass", network="linear"),
        _r3("inputs", "frame", "multiclass"),
        _r3("inputs", "frame", "multiclass", network="tabm"),
        _r3("inputs", "frame", "multiclass", network="default"),
        _r3("inputs", "frame", "binary", "under", "focal", split="split"),
        _r3("inputs", "frame", "strings", "sqrt", "logit_adjusted", "tabm"),
        _r3("inputs", "frame", "multilabel", loss="bce", network="default", split="split"),
        _r3("inputs", "frame_complete", "multiclass", "rus", network="default"),
        _r3("inputs", "frame_complete", "binary", "rus", "focal", "tabm", "split"),
        _r3("inputs", "frame", "multiclass", "over", "weighted_ce", extra="weights",
            weights=True),
        _r3("inputs", "frame", "multiclass", split="split", extra="decision_tuned",
            params=tuned),
        _r3("inputs", "frame", "binary", network="linear", extra="decision_prior",
            params=dict(decision="prior")),
        _r3("inputs", "frame", "multiclass", "under", extra="partial_fit", fit="partial"),
        _r3("inputs", "frame", "multiclass", network="tabm", extra="warm_start", fit="warm"),
        _r3("inputs", "frame", "multiclass", extra="datetime_trend",
            params=dict(module__datetime_trend=True, module__num_embeddings="ple")),
        _r3("inputs", "frame_numeric", "multiclass", network="user"),
        _r3("inputs", "frame_numeric", "binary", "rus", network="tabm"),
        # dicts of arrays
        _r3("inputs", "dict", "multiclass", network="two_input"),
        _r3("inputs", "dict", "binary", "over", "focal", "two_input", "split"),
        _r3("inputs", "dict", "multilabel", loss="bce", network="two_input"),
        _r3("inputs", "dict", "multiclass", "under", network="two_input", extra="weights",
            weights=True),
        _r3("inputs", "dict", "multiclass", network="two_input", extra="partial_fit",
            fit="partial"),
        # N-D float and uint8 arrays
        _r3("inputs", "images", "multiclass", network="cnn"),
        _r3("inputs", "images", "binary", "sqrt", "focal", "cnn", "split"),
        _r3("inputs", "images", "multilabel", loss="bce", network="cnn"),
        _r3("inputs", "images_uint8", "multiclass", "under", network="cnn", extra="scale",
            params=dict(scale_uint8=True)),
        _r3("inputs", "images_uint8", "multiclass", network="cnn"),
        _r3("inputs", "images_uint8", "multiclass", network="cnn", extra="warm_start",
            fit="warm", params=dict(scale_uint8=True)),
        _r3("inputs", "sequences", "multiclass", network="gru"),
        _r3("inputs", "sequences", "binary", "over", "weighted_ce", "gru", "split"),
        # integer ids
        _r3("inputs", "ids", "multiclass", network="ids"),
        _r3("inputs", "ids", "binary", "under", "focal", "ids", "split"),
        _r3("inputs", "ids", "multiclass", network="ids", extra="partial_fit", fit="partial"),
        _r3("inputs", "ids_dict", "multiclass", network="ids_dict"),
        _r3("inputs", "ids_dict", "multiclass", "sqrt", network="ids_dict", extra="weights",
            weights=True),
        # scipy sparse
        _r3("inputs", "sparse", "multiclass"),
        _r3("inputs", "sparse", "multiclass", network="tabm"),
        _r3("inputs", "sparse", "multiclass", network="linear"),
        _r3("inputs", "sparse", "binary", "rus", "focal", "user"),
        _r3("inputs", "sparse", "multiclass", "over", network="default", split="split"),
        _r3("inputs", "sparse", "multiclass", extra="warm_start", fit="warm"),
    ]


def loader_configs():
    """The DataLoader path: a torch Dataset as X (labels from y or from the dataset), and
    an iterator_train parameter the resident batches do not take."""
    loader = dict(iterator_train__num_workers=0)
    return [
        _r3("loader", "dataset", "multiclass", network="user"),
        _r3("loader", "dataset", "multiclass", "over", network="user", split="split"),
        _r3("loader", "dataset_labels", "multiclass", "sqrt", network="user"),
        _r3("loader", "dataset", "binary", "under", "focal", "user", extra="weights",
            weights=True),
        _r3("loader", "dataset", "multiclass", "balanced_batch", network="user",
            extra="partial_fit", fit="partial"),
        _r3("loader", "table", "multiclass", "under", extra="num_workers", params=loader),
        _r3("loader", "table", "multiclass", network="user", split="split",
            extra="num_workers", params=loader),
        _r3("loader", "table", "binary", "balanced_batch", "focal", "tabm",
            extra="num_workers", params=loader),
        _r3("loader", "table", "multiclass", "progressive", extra="num_workers_weights",
            weights=True, params=loader),
        _r3("loader", "frame", "multiclass", "over", extra="num_workers", params=loader),
        _r3("loader", "images_uint8", "multiclass", network="cnn", extra="num_workers",
            params=dict(loader, scale_uint8=True)),
        _r3("loader", "table", "multiclass", "sqrt", extra="num_workers_partial_fit",
            fit="partial", params=loader),
    ]


def input_error_configs():
    """Round-3 combinations the library rejects today: they must keep raising."""
    loader = dict(iterator_train__num_workers=0)
    return [
        _r3("error/inputs", "frame", "multiclass", network="user"),
        _r3("error/inputs", "frame", "multiclass", "imb_smote"),
        _r3("error/inputs", "frame", "multiclass", "rus", network="default"),
        _r3("error/inputs", "frame_complete", "multiclass", "imb_smote"),
        _r3("error/inputs", "ids_table", "multiclass", network="ids"),
        _r3("error/inputs", "dict", "multiclass", network="default"),
        _r3("error/inputs", "dict", "multiclass", "rus", network="two_input"),
        _r3("error/inputs", "images", "multiclass", network="mlp"),
        _r3("error/inputs", "dataset", "multiclass", "rus", network="user"),
        _r3("error/augment/cutmix", "table", "multiclass", params=dict(augment="cutmix")),
        _r3("error/augment/smote", "table", "multilabel", loss="bce",
            params=dict(augment="smote")),
        _r3("error/augment/mixup", "table", "multiclass", loss="crl",
            params=dict(augment="mixup")),
        _r3("error/augment/smote", "table", "multiclass", extra="loader",
            params=dict(augment="smote", **loader)),
        _r3("error/augment/smote", "table", "multiclass", "rus", params=dict(augment="smote")),
        _r3("error/augment/smote", "dataset", "multiclass", network="user",
            params=dict(augment="smote")),
    ]


def round3_configs():
    """What the refactor of issue 29 moves and the matrix above does not reach."""
    return augment_configs() + input_configs() + loader_configs() + input_error_configs()


def all_configs():
    configs = covering_configs() + extra_configs() + error_configs() + round3_configs()
    keys = [c["key"] for c in configs]
    assert len(keys) == len(set(keys)), "duplicate configuration keys"
    return configs


# -- running ---------------------------------------------------------------------------


def _seed_everything(seed=0):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


#: ``calibration=`` given to every configuration (None: the classifier's default), set by
#: ``--calibration``.
CALIBRATION = {}


def build(cfg):
    from skimb import ImbalancedTorchClassifier

    params = dict(sampler=_sampler_value(cfg["sampler"]), loss=cfg["loss"],
                  train_split=_split_value(cfg["split"]), max_epochs=MAX_EPOCHS,
                  device="cpu", random_state=0)
    network = cfg["network"]
    if network == "mlp":
        params.update(module="mlp", module__hidden_units=(16,))
    elif network == "tabm":
        params.update(module="tabm", module__k=2, module__hidden_units=(16, 16))
    elif network == "user":
        params.update(module=TinyNet, module__n_in=N_FEATURES,
                      module__n_out=_n_outputs(cfg["target"], cfg["loss"]))
    elif network == "linear":
        params.update(module="linear")
    elif network in USER_MODULES:
        params.update(module=USER_MODULES[network],
                      module__n_out=_n_outputs(cfg["target"], cfg["loss"]))
    elif network != "default":
        raise ValueError(network)
    params.update(cfg["params"])
    params.update(CALIBRATION)
    return ImbalancedTorchClassifier(**params)


def _n_rows(X):
    if isinstance(X, dict):
        return len(next(iter(X.values())))
    return X.shape[0] if hasattr(X, "shape") else len(X)


def run_config(cfg):
    """``{"proba", "pred", "train_loss"}`` arrays, or ``{"error": message}``."""
    _seed_everything(0)
    try:
        X, y, X_test = make_inputs(cfg["inputs"], cfg["target"], n_train=cfg["n_train"])
        fit_kw = {"sample_weight": sample_weights(_n_rows(X))} if cfg["weights"] else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = build(cfg)
            clf.fit(X, y, **fit_kw)
            if cfg["fit"] == "partial":
                clf.partial_fit(X, y, **fit_kw)
            elif cfg["fit"] == "warm":
                clf.set_params(warm_start=True)
                clf.fit(X, y, **fit_kw)
            proba = np.asarray(clf.predict_proba(X_test), dtype=np.float64)
            pred = np.asarray(clf.predict(X_test))
        losses = np.asarray([row.get("train_loss", np.nan) for row in clf.history],
                            dtype=np.float64)
        correction = getattr(clf, "calibration_", None)
        shift = correction is not None and not correction.is_identity
        return {"proba": proba, "pred": pred, "train_loss": losses,
                "shift": shift and clf.calibration is not None}
    except Exception as exc:  # noqa: BLE001 -- recorded, compared with the other side
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {"error": f"error: {message}"}


def select(configs, only=None, limit=None):
    if only:
        configs = [c for c in configs if any(s in c["key"] for s in only)]
    if limit is not None:
        configs = configs[:limit]
    return configs


def run_matrix(configs, verbose=True):
    """Run ``configs`` on one torch thread (restored after): the results must not depend on
    the machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_matrix(configs, verbose)
    finally:
        torch.set_num_threads(threads)


def _run_matrix(configs, verbose):
    results = {}
    start = time.perf_counter()
    for n, cfg in enumerate(configs, 1):
        t0 = time.perf_counter()
        results[cfg["key"]] = run_config(cfg)
        if verbose:
            status = results[cfg["key"]].get("error", "ok")
            print(f"[{n:3d}/{len(configs)}] {time.perf_counter() - t0:6.2f}s {cfg['key']}: "
                  f"{status[:100]}", flush=True)
    if verbose:
        print(f"{len(configs)} configurations in {time.perf_counter() - start:.1f}s", flush=True)
    return results


# -- saving and comparing ---------------------------------------------------------------


def save(path, results, meta=None):
    arrays, index = {}, {}
    for i, (key, res) in enumerate(results.items()):
        if "error" in res:
            index[key] = {"error": res["error"]}
            continue
        index[key] = {"id": i}
        for name in ("proba", "pred", "train_loss"):
            arrays[f"c{i}_{name}"] = res[name]
    arrays["__index__"] = np.array(json.dumps({"configs": index, "meta": meta or {}}))
    np.savez_compressed(path, **arrays)


def load(path):
    with np.load(path, allow_pickle=False) as data:
        index = json.loads(str(data["__index__"]))
        results = {}
        for key, entry in index["configs"].items():
            if "error" in entry:
                results[key] = {"error": entry["error"]}
            else:
                i = entry["id"]
                results[key] = {name: data[f"c{i}_{name}"]
                                for name in ("proba", "pred", "train_loss")}
    return results, index.get("meta", {})


def key_expects_error(key: str) -> bool:
    """Configurations under ``error/`` check a refusal; every other one must fit."""
    return key.startswith("error/")


def compare_one(key, before, after):
    """``(max |d proba|, predictions agree, max |d train_loss|, note)``; inf when not
    comparable."""
    if before is None:
        return np.inf, False, np.nan, "missing in the saved file"
    if "error" in after and not key_expects_error(key):
        return np.inf, False, np.nan, f"unexpected {after['error'][:70]!r}"
    if "error" not in after and key_expects_error(key):
        return np.inf, False, np.nan, "an expected error did not happen"
    if "error" in before or "error" in after:
        if before.get("error") == after.get("error"):
            return 0.0, True, 0.0, "same error"
        return np.inf, False, np.nan, (f"before {before.get('error', 'ok')[:70]!r} / "
                                       f"after {after.get('error', 'ok')[:70]!r}")
    pb, pa = before["proba"], after["proba"]
    if pb.shape != pa.shape:
        return np.inf, False, np.nan, f"proba shape {pb.shape} -> {pa.shape}"
    dp = float(np.max(np.abs(pb - pa))) if pb.size else 0.0
    same_pred = before["pred"].shape == after["pred"].shape and bool(
        np.array_equal(before["pred"], after["pred"]))
    lb, la = before["train_loss"], after["train_loss"]
    dl = float(np.nanmax(np.abs(lb - la))) if lb.shape == la.shape and lb.size else np.nan
    note = "" if lb.shape == la.shape else f"epochs {lb.size} -> {la.size}"
    return dp, same_pred, dl, note


def bit_identical(before, after) -> bool:
    """The same error, or ``proba`` and ``pred`` of the same shape and dtype and equal bit
    for bit (NaN where the other has NaN)."""
    if before is None or "error" in before or "error" in after:
        return before is not None and before.get("error") == after.get("error")
    return all(b.shape == a.shape and b.dtype == a.dtype and np.array_equal(
        b, a, equal_nan=b.dtype.kind == "f") for b, a in ((before["proba"], after["proba"]),
                                                          (before["pred"], after["pred"])))


def predict_identical(before, after) -> bool:
    """The same error, or ``pred`` of the same shape and dtype, equal element for element."""
    if before is None or "error" in before or "error" in after:
        return before is not None and before.get("error") == after.get("error")
    b, a = before["pred"], after["pred"]
    return b.shape == a.shape and b.dtype == a.dtype and np.array_equal(b, a)


def compare(saved, results, atol, allow_predict_flips=False, exact=False,
            predict_exact=False):
    """Print the table of differences; return how many configurations differ. ``exact``:
    ``proba`` and ``pred`` must be bit-identical (:func:`bit_identical`; ``atol`` and
    ``allow_predict_flips`` are then moot). ``predict_exact``: ``pred`` bit-identical
    everywhere, ``proba`` too where no prior correction shifts it."""
    rows, failures = [], 0
    shifted = same_proba = 0
    for key, after in results.items():
        dp, same_pred, dl, note = compare_one(key, saved.get(key), after)
        bad = not dp <= atol or (not same_pred and not allow_predict_flips)
        if exact and not bit_identical(saved.get(key), after):
            bad, note = True, note or "not bit-identical"
        if predict_exact:
            shift = after.get("shift", False)
            identical = bit_identical(saved.get(key), after)
            shifted += shift
            same_proba += identical
            bad = not predict_identical(saved.get(key), after) or not (identical or shift)
            note = ("shift" + ("" if identical else f": proba moved by up to {dp:.3g}")
                    if shift else note) + (" predict DIFFERS" if bad and shift else "")
        failures += bad
        rows.append((key, dp, same_pred, dl, note, bad))
    width = max([len(r[0]) for r in rows] + [13])
    print(f"\n| {'configuration':<{width}} | max abs d proba | predict | max d train_loss | "
          f"ok | note |")
    print(f"|{'-' * (width + 2)}|----------------:|:-------:|-----------------:|:--:|------|")
    for key, dp, same_pred, dl, note, bad in rows:
        print(f"| {key:<{width}} | {dp:15.3g} | {'same' if same_pred else 'DIFF':^7} | "
              f"{dl:16.3g} | {'NO' if bad else 'ok'} | {note} |")
    not_run = sorted(set(saved) - set(results))
    if predict_exact:
        print(f"\npredict_proba bit-identical on {same_proba}/{len(rows)}; a prior "
              f"correction shifts {shifted} configurations")
    tolerance = ("predict bit for bit, proba where no shift applies" if predict_exact
                 else "bit for bit" if exact else f"atol={atol:g}")
    print(f"\n{len(rows) - failures}/{len(rows)} configurations agree ({tolerance}); "
          f"{failures} differ" + (f"; {len(not_run)} saved configurations not run"
                                  if not_run else ""))
    return failures


def describe_skimb():
    import skimb

    root = Path(skimb.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "skimb"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return {"skimb_file": skimb.__file__, "commit": commit, "skimb_dirty": bool(dirty),
            "torch": torch.__version__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", metavar="FILE.npz")
    mode.add_argument("--compare", metavar="FILE.npz")
    mode.add_argument("--list", action="store_true", help="print the configuration keys")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--exact", action="store_true",
                        help="predict_proba and predict must be bit-identical (same dtype, "
                             "np.array_equal): the check of a refactor")
    parser.add_argument("--predict-exact", action="store_true",
                        help="predict bit-identical; predict_proba too where no prior "
                             "correction applies (issue 30's default)")
    parser.add_argument("--calibration", choices=["default", "none"], default="default",
                        help="'none': fit every configuration with calibration=None")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", action="append", default=None, metavar="SUBSTRING")
    parser.add_argument("--allow-predict-flips", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    if args.calibration == "none":
        CALIBRATION["calibration"] = None
    configs = select(all_configs(), args.only, args.limit)
    if args.list:
        for cfg in configs:
            print(cfg["key"])
        print(f"{len(configs)} configurations")
        return 0
    meta = describe_skimb()
    print(f"skimb: {meta['skimb_file']} (commit {meta['commit'][:12] or '?'}"
          f"{', skimb/ modified' if meta['skimb_dirty'] else ''})", flush=True)
    results = run_matrix(configs, verbose=not args.quiet)
    if args.save:
        save(args.save, results, meta)
        n_err = sum("error" in r for r in results.values())
        print(f"saved {len(results)} configurations ({n_err} recorded errors) to {args.save}")
        return 0
    saved, saved_meta = load(args.compare)
    print(f"comparing with {args.compare} (saved from {saved_meta.get('skimb_file')}, "
          f"commit {saved_meta.get('commit', '?')[:12]})")
    failures = compare(saved, results, args.atol, args.allow_predict_flips, exact=args.exact,
                       predict_exact=args.predict_exact)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
