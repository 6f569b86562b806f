"""Property-based tests. Over the input space: every generated case ends in a clean
fit with valid predictions, or in a ValueError. Never another exception, never
NaN probabilities, and the caller's objects are never modified. Over class counts: every
registered sampler draws what it declares (its class shares, its epoch length)."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import PredefinedSplit
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier, list_losses, list_samplers
from skimb.samplers import make_sampler

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: Each example fits a network: few examples, one tiny epoch.
FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

COLUMN_KINDS = ["int64", "bool", "float16", "float32", "float64", "Int64", "Float64",
                "boolean", "category_int", "category_str"]


def column(kind, values, missing):
    """A pandas column of ``kind`` from float ``values``; ``missing`` rows are NA where possible."""
    ints = np.round(values).astype(np.int64)
    series = {
        "int64": lambda: pd.Series(ints),
        "bool": lambda: pd.Series(values > 0),
        "float16": lambda: pd.Series(values.astype(np.float16)),
        "float32": lambda: pd.Series(values.astype(np.float32)),
        "float64": lambda: pd.Series(values),
        "Int64": lambda: pd.Series(ints, dtype="Int64"),
        "Float64": lambda: pd.Series(values, dtype="Float64"),
        "boolean": lambda: pd.Series(values > 0, dtype="boolean"),
        "category_int": lambda: pd.Series(pd.Categorical(ints)),
        "category_str": lambda: pd.Series(pd.Categorical(np.where(values > 0, "a", "b"))),
    }[kind]()
    if missing.any() and kind in ("float64", "Int64", "Float64", "boolean"):
        series = series.copy()
        series[missing] = pd.NA if kind != "float64" else np.nan
    return series


@st.composite
def tables(draw):
    n = draw(st.integers(2, 60))
    n_classes = draw(st.sampled_from([1, 2, 2, 3, 3, 4, 4]))
    # at least one row per class, the rest skewed towards class 0: tiny classes are common
    counts = [1] * n_classes
    for _ in range(n - n_classes if n > n_classes else 0):
        counts[draw(st.sampled_from([0, 0, 0] + list(range(n_classes))))] += 1
    codes = np.repeat(np.arange(n_classes), counts)[:n]
    codes = draw(st.permutations(codes.tolist()))
    label_kind = draw(st.sampled_from(["int", "str", "category", "Int64", "bool", "missing"]))
    names = {"int": [3, -1, 10, 7], "Int64": [3, -1, 10, 7], "bool": [False, True, True, True],
             "missing": ["Dry", None, "Wet", "Frost"]}.get(label_kind,
                                                             ["Dry", "Ice", "Wet", "Frost"])
    y = [names[c] for c in codes]
    y = {"category": lambda: pd.Series(pd.Categorical(y)),
         "Int64": lambda: pd.Series(y, dtype="Int64"),
         "missing": lambda: pd.Series(y, dtype="string")}.get(label_kind, lambda: np.asarray(y))()

    n_features = draw(st.integers(1, 4))
    numeric = [k for k in COLUMN_KINDS if not k.startswith("category")]
    kinds = draw(st.lists(st.sampled_from(numeric * 4 + COLUMN_KINDS[-2:]),
                          min_size=n_features, max_size=n_features))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    missing_share = draw(st.sampled_from([0.0] * 5 + [0.1]))
    frame = pd.DataFrame({
        f"c{j}": column(kind, rng.normal(codes, 1.0) * 3, rng.random(n) < missing_share)
        for j, kind in enumerate(kinds)
    })
    as_array = draw(st.booleans()) and all(k in ("int64", "bool", "float16", "float32",
                                                 "float64") for k in kinds)
    X = frame.to_numpy() if as_array and len(set(kinds)) == 1 else frame

    weights = draw(st.sampled_from(["none"] * 4 + ["ones", "some_zero"] * 2
                                   + ["all_zero", "negative", "nan", "wrong_length"]))
    sample_weight = {
        "none": None,
        "ones": np.ones(n),
        "some_zero": np.where(rng.random(n) < 0.3, 0.0, rng.random(n) * 3),
        "all_zero": np.zeros(n),
        "negative": np.where(np.arange(n) == 0, -1.0, 1.0),
        "nan": np.where(np.arange(n) == n - 1, np.nan, 1.0),
        "wrong_length": np.ones(n + 1),
    }[weights]
    return X, y, sample_weight


SAMPLER_PARAMS = {
    "power": {"q": st.floats(-1.0, 2.0)},
    "under": {"n_per_class": st.none() | st.integers(-1, 20)},
    "progressive": {"n_epochs": st.none() | st.integers(-1, 5)},
}
LOSS_PARAMS = {
    "weighted_ce": {"weights": st.sampled_from(["balanced", "sqrt", "effective", "bogus"]),
                    "beta": st.floats(0.0, 1.2), "drw_epoch": st.none() | st.integers(-1, 2)},
    "focal": {"gamma": st.floats(-1.0, 5.0)},
    "class_balanced": {"beta": st.floats(0.0, 1.2), "base": st.sampled_from(["ce", "focal"])},
    "ldam": {"max_m": st.floats(-0.5, 1.0), "s": st.floats(0.0, 40.0)},
    "logit_adjusted": {"tau": st.floats(-1.0, 3.0)},
    "vs": {"gamma": st.floats(-0.5, 1.0), "tau": st.floats(-1.0, 3.0)},
    "crl": {"alpha": st.floats(0.0, 1.0), "k": st.integers(0, 4)},
    "bce": {"pos_weight": st.sampled_from(["auto", None, 2.0])},
}


@st.composite
def strategies(draw):
    sampler = draw(st.sampled_from(list_samplers()))
    loss = draw(st.sampled_from(list_losses()))
    params = {"sampler": sampler, "loss": loss}
    for prefix, name, table in (("sampler", sampler, SAMPLER_PARAMS), ("loss", loss, LOSS_PARAMS)):
        for key, values in table.get(name, {}).items():
            if draw(st.booleans()):
                params[f"{prefix}__{key}"] = draw(values)
    if draw(st.booleans()):
        params["sampler__max_per_class"] = draw(st.integers(-1, 10))
    params["train_split"] = draw(st.sampled_from(
        ["default", ValidSplit(5, stratified=True),
         ValidSplit(0.3, stratified=False, random_state=0)]))
    if params["train_split"] == "default":  # None
        del params["train_split"]
    params["batch_size"] = draw(st.sampled_from([-1, 1, 3, 16]))
    return params


def fit_or_value_error(X, y, sample_weight=None, **params):
    """Fit and check the predictions; return ("fit" or "error", the classifier)."""
    kept = copy.deepcopy((X, y, sample_weight))
    clf = ImbalancedTorchClassifier(max_epochs=1, module__hidden_units=(4,), device="cpu",
                                    random_state=0, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y, sample_weight=sample_weight)
        outcome = "fit"
    except ValueError as err:
        assert str(err), "a ValueError must say what is wrong"
        assert "_FeatureProbe" not in str(err)
        outcome = "error"
    for before, after in zip(kept, (X, y, sample_weight)):
        if isinstance(before, (pd.DataFrame, pd.Series)):
            (pd.testing.assert_frame_equal if isinstance(before, pd.DataFrame)
             else pd.testing.assert_series_equal)(before, after)
        elif before is not None:
            assert np.array_equal(before, after, equal_nan=before.dtype.kind == "f")
    if outcome == "fit":
        proba = clf.predict_proba(X)
        assert proba.shape == (len(y), len(clf.classes_))
        assert np.isfinite(proba).all()
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert set(clf.predict(X)) <= set(clf.classes_)
        assert list(clf.classes_) == sorted(set(np.asarray(y, dtype=object).tolist()))
    return outcome, clf


@FUZZ
@given(tables())
def test_any_table_fits_or_raises_a_value_error(table):
    X, y, sample_weight = table
    fit_or_value_error(X, y, sample_weight, train_split=None)


@FUZZ
@given(tables(), strategies())
def test_any_strategy_fits_or_raises_a_value_error(table, params):
    X, y, sample_weight = table
    fit_or_value_error(X, y, sample_weight, **params)


def test_fuzz_reaches_both_outcomes():
    """The generators are not degenerate: clean fits and ValueErrors both occur."""
    outcomes = set()

    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(tables())
    def collect(table):
        X, y, sample_weight = table
        outcomes.add(fit_or_value_error(X, y, sample_weight, train_split=None)[0])

    collect()
    assert outcomes == {"fit", "error"}


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.sampled_from(list_samplers()), st.sampled_from(list_losses()), st.integers(2, 3))
def test_class_absent_from_the_training_portion(sampler, loss, n_classes):
    """The only row of the rarest class lands in the validation split: the strategies see
    a zero count, and the fit still ends cleanly or in a ValueError."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(n_classes), {2: [39, 1], 3: [30, 9, 1]}[n_classes])
    X = rng.normal(y[:, None], 1.0, size=(len(y), 3))
    fold = np.full(len(y), -1)
    fold[[0, 1, 2, len(y) - 1]] = 0
    outcome, clf = fit_or_value_error(X, y, sampler=sampler, loss=loss, batch_size=8,
                                      train_split=ValidSplit(PredefinedSplit(fold)))
    if outcome == "fit":
        assert clf.class_counts_[-1] == 0
        assert np.isfinite(clf.history[:, "train_loss"]).all()


@st.composite
def class_counts(draw):
    """Two to six classes of 0 to 150 rows, some of them small or empty, at least one not."""
    counts = draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 8, 20, 60, 150]), min_size=2,
                           max_size=6))
    if not any(counts):
        counts[0] = 4
    return np.array(counts)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(list_samplers()), class_counts(), st.none() | st.integers(1, 40),
       st.integers(0, 2**16), st.sampled_from([1, 5, 32]))
def test_any_class_counts_are_drawn_as_the_sampler_declares(name, counts, cap, seed,
                                                             batch_size):
    """Its class shares are a distribution that gives nothing to a class without rows, and
    no row is drawn from a class of share 0; its epoch length (``rows_per_epoch``, known
    before the fit) is its expected class counts' sum, rounded, and what an uncapped epoch
    draws."""
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    sampler = make_sampler(name, {"max_per_class": cap}).fit(y, len(counts), n_epochs=3)
    declared = sampler.rows_per_epoch(torch.as_tensor(counts))
    generator = torch.Generator().manual_seed(seed)
    for epoch in (0, 2):
        shares = sampler.epoch_class_shares(epoch)
        assert shares.dtype == torch.float64 and (shares >= 0).all()
        assert abs(float(shares.sum()) - 1.0) < 1e-12
        assert (shares.numpy()[counts == 0] == 0).all()
        assert abs(float(sampler.expected_counts(epoch).sum()) - declared) <= 0.5
        rows = sampler.epoch_indices(epoch, batch_size, generator).numpy()
        drawn = np.bincount(y[rows], minlength=len(counts))
        assert (drawn[shares.numpy() == 0] == 0).all()
        if cap is None:
            assert len(rows) == declared
