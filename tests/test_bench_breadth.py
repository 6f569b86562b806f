"""Smoke test of bench/quality.py's loading and encoding of the raw breadth tables, on a
tiny made-up table (the real tables in ../shared/datasets are not needed)."""

import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("bench_quality_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


CSV = """colour,size,weight,meta_id,target
red,S,1.0,a,yes
blue,M,2.0,b,no
red,?,,c,yes
green,L,4.0,d,no
blue,S,100.0,e,yes
red,M,6.0,f,rare
blue,L,7.0,g,rare
green,S,8.0,h,rare
red,M,9.0,i,no
blue,S,10.0,j,yes
green,M,11.0,k,no
red,L,12.0,l,no
"""


def test_read_raw_table_and_drop_rare_classes(quality):
    X, y = quality.read_raw_table(io.StringIO(CSV))
    # target is the last column, meta_* dropped, text columns category, "?" and empty are NaN
    assert list(X.columns) == ["colour", "size", "weight"]
    assert isinstance(X["colour"].dtype, pd.CategoricalDtype)
    assert isinstance(X["size"].dtype, pd.CategoricalDtype)
    assert X["weight"].dtype == np.float64
    assert X["size"].isna().sum() == 1 and X["weight"].isna().sum() == 1
    X2, y2, dropped = quality.drop_rare_classes(X, y, min_rows=4)
    assert dropped == {"rare": 3}
    assert set(y2) == {"yes", "no"} and len(y2) == len(X2) == 9
    line = quality.describe_dropped("tiny", dropped, len(y), min_rows=4)
    assert "rare (3)" in line and "3 of 12 rows" in line
    assert "nothing dropped" in quality.describe_dropped("tiny", {}, 10)
    # the default threshold is 15 rows
    assert quality.MIN_CLASS_ROWS == 15


def _split():
    X = pd.DataFrame({
        "colour": pd.Categorical(["red", "blue", "red", "blue", "green"]),  # green: test only
        "size": pd.Categorical(["S", "M", "M", "L", "S"]),
        "weight": [1.0, 3.0, np.nan, 100.0, np.nan],
    })
    train, test = X.iloc[:4].reset_index(drop=True), X.iloc[4:].reset_index(drop=True)
    return train, test


def test_encoder_is_fitted_on_training_rows_only(quality):
    train, test = _split()
    encoder = quality.make_encoder().fit(train)
    names = list(encoder.get_feature_names_out())
    Z_train, Z_test = encoder.transform(train), encoder.transform(test)
    assert Z_train.shape[1] == Z_test.shape[1] == len(names)
    colour = [i for i, n in enumerate(names) if "colour_" in n]
    assert len(colour) == 2  # red, blue: green only appears in the test rows
    assert np.all(Z_test[0, colour] == 0)  # unseen level -> all-zero one-hot
    weight = names.index("numeric__weight")
    # NaN imputed with the TRAINING median (of 1, 3, 100 -> 3), not the test rows' or all rows'
    assert Z_train[2, weight] == 3.0 and Z_test[0, weight] == 3.0
    indicator = [i for i, n in enumerate(names) if "missingindicator" in n]
    assert len(indicator) == 1
    assert Z_train[:, indicator[0]].tolist() == [0, 0, 1, 0] and Z_test[0, indicator[0]] == 1


def test_training_categories_and_pytabkit_prep(quality):
    train, test = _split()
    cats = quality.TrainingCategories().fit(train)
    out = cats.transform(test)
    assert list(out["colour"].cat.categories) == ["blue", "red"]
    assert out["colour"].isna().all()  # green was never seen in training
    assert out["weight"].isna().all()  # numeric columns pass through
    prep = quality.make_pytabkit_prep().fit(train)
    P = prep.transform(test)
    assert isinstance(P["colour"].dtype, pd.CategoricalDtype)
    assert P["weight"].tolist() == [3.0]  # training median, no NaN left for pytabkit
    assert P["missingindicator_weight"].tolist() == [1.0]
    assert not P.select_dtypes("number").isna().any().any()


def test_merge_rows_keeps_the_later_and_successful_run(quality, tmp_path):
    first = pd.DataFrame({"dataset": ["kc1", "kc1"], "seed": [0, 0],
                          "model": ["skimb_defaults", "lightgbm_balanced"],
                          "macro_f1": [0.5, 0.6], "seconds": [10.0, 1.0]})
    second = pd.DataFrame({"dataset": ["kc1", "kc1", "pc1"], "seed": [0, 0, 0],
                           "model": ["skimb_defaults", "lightgbm_balanced", "tabm_d"],
                           "macro_f1": [0.7, np.nan, 0.8], "seconds": [12.0, 1.0, 60.0],
                           "fits": [1, 0, 1], "error": [None, "ValueError: boom", None]})
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    first.to_csv(a, index=False)
    second.to_csv(b, index=False)
    merged = quality.merge_rows([a, b]).set_index(["dataset", "seed", "model"])
    assert len(merged) == 3
    assert merged.loc[("kc1", 0, "skimb_defaults"), "macro_f1"] == 0.7  # later file wins
    assert merged.loc[("kc1", 0, "lightgbm_balanced"), "macro_f1"] == 0.6  # success beats failure
    assert merged.loc[("kc1", 0, "lightgbm_balanced"), "fits"] == 6  # old sklearn rows: 6 fits


def test_gradient_boosting_takes_the_category_columns(quality):
    pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame({"colour": pd.Categorical(rng.choice(["red", "blue", "green"], n)),
                      "weight": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))})
    y = np.where(X["colour"] == "red", "a", "b")
    factories = {}
    for name, factory in quality.contenders(seed=0, threads=1):
        factories[name] = factory
        if name == "lightgbm_balanced":
            break  # the pytabkit contenders come next: a slow import, not needed here
    for name in ("histgb_balanced", "lightgbm_balanced"):
        pred, _, fits = quality.fit_sklearn(factories[name](), X[:90], y[:90], X[90:],
                                            tuned_decisions=False)
        assert fits == 1 and (pred == y[90:]).mean() > 0.9
