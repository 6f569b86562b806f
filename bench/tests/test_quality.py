"""Smoke test of bench/quality.py's loading and encoding of the raw breadth tables, its skimb
variants (``--skimb-set``, ``--skimb-label``) and their reports, on tiny made-up tables (the
real tables in ../shared/datasets are not needed)."""

import argparse
import gzip
import io

import numpy as np
import pandas as pd
import pytest

from tests.helpers import bench_script


@pytest.fixture(scope="module")
def quality():
    with bench_script("quality") as module:
        yield module


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


# ------------------------------------------------------- skimb variants (--skimb-set / --skimb-label)

@pytest.mark.parametrize("text, expected", [
    ("max_epochs=60", ("max_epochs", 60)),
    ("loss__label_smoothing=0.1", ("loss__label_smoothing", 0.1)),
    ("module=tabm", ("module", "tabm")),                 # not a literal: the plain string
    ("max_epochs='auto'", ("max_epochs", "auto")),
    ("module__hidden_units=(64, 64)", ("module__hidden_units", (64, 64))),
    ("callbacks__best_epoch=None", ("callbacks__best_epoch", None)),
    ("lr=1e-3", ("lr", 0.001)),
    (" sampler = sqrt ", ("sampler", "sqrt")),
    ("module__missing_fill=a=b", ("module__missing_fill", "a=b")),  # split on the first '='
])
def test_parse_skimb_set(quality, text, expected):
    key, value = quality.parse_skimb_set(text)
    assert (key, value) == expected and type(value) is type(expected[1])


@pytest.mark.parametrize("argv, message", [
    (["--skimb-set", "max_epochs"], "not KEY=VALUE"),
    (["--skimb-set", "=60", "--skimb-label", "x"], "not a parameter name"),
    (["--skimb-set", "max epochs=60", "--skimb-label", "x"], "not a parameter name"),
    (["--skimb-set", "max_epochs=", "--skimb-label", "x"], "no value"),
    (["--skimb-set", "random_state=3", "--skimb-label", "x"], "set by the run"),
    (["--skimb-set", "max_epochs=60", "--skimb-set", "max_epochs=30", "--skimb-label", "x"],
     "given twice"),
    (["--skimb-set", "max_epochs=60"], "needs --skimb-label"),
    (["--skimb-set", "max_epoch=60", "--skimb-label", "x"], "not a parameter of"),
    (["--skimb-set", "modul__dropout=0.1", "--skimb-label", "x"], "no such prefix"),
    (["--skimb-label", "a b"], "letters, digits"),
    (["--skimb-label", "x]"], "letters, digits"),
    (["--from-rows", "rows.csv", "--skimb-raw"], "not to --from-rows"),
    (["--from-rows", "rows.csv", "--report", "compare"], "needs --versus"),
    (["--from-rows", "rows.csv", "--report", "compare", "--versus", "skimb[a]"], "not A:B"),
])
def test_bad_skimb_options_are_argparse_errors(quality, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        quality.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_model_names_of_the_variants(quality):
    assert quality.skimb_model_name("skimb_defaults", "raw_e60") == "skimb[raw_e60]"
    assert quality.skimb_model_name("skimb_tuned", "raw_e60") == "skimb_tuned[raw_e60]"
    assert quality.skimb_model_name("skimb_defaults", None) == "skimb_defaults"
    assert quality.skimb_model_name("plain_skorch", "raw_e60") == "plain_skorch"
    assert quality.base_contender("skimb[raw_e60]") == "skimb_defaults"
    assert quality.base_contender("skimb_tuned[x]") == "skimb_tuned"
    assert quality.base_contender("lightgbm_balanced_tuned") == "lightgbm_balanced"
    assert quality.fit_name("skimb_tuned[x]") == "skimb_tuned[x]"
    assert quality.fit_name("lightgbm_balanced_tuned") == "lightgbm_balanced"
    models = ["lightgbm_balanced", "skimb[b]", "plain_skorch", "skimb_tuned[a]", "skimb[a]",
              "skimb_defaults", "lightgbm_balanced_tuned"]
    assert quality.order_models(models) == [
        "plain_skorch", "skimb_defaults", "skimb[a]", "skimb[b]", "skimb_tuned[a]",
        "lightgbm_balanced", "lightgbm_balanced_tuned"]
    assert quality.skimb_models(models) == ["skimb_defaults", "skimb[a]", "skimb[b]"]


def test_make_skimb_applies_the_overrides(quality):
    pytest.importorskip("skorch")
    import argparse
    args = argparse.Namespace(skimb_params={"max_epochs": 60, "loss__label_smoothing": 0.1,
                                            "module": "tabm"})
    params = quality.make_skimb(args, seed=3).get_params()
    assert params["max_epochs"] == 60 and params["module"] == "tabm"
    assert params["loss__label_smoothing"] == 0.1 and params["random_state"] == 3
    assert quality.make_skimb(argparse.Namespace(), seed=0).get_params()["max_epochs"] == "auto"


TINY = "\n".join(["colour,weight,target"] + [
    f"{'red' if i % 2 else 'blue'},{'' if i % 7 == 0 else float(i % 5)},{'a' if i % 2 else 'b'}"
    for i in range(60)]) + "\n"


@pytest.mark.usefixtures("one_torch_thread")
def test_labelled_rows_of_a_tiny_run(quality, tmp_path, capsys):
    """A real (two-epoch, 42-row) fit per variant: the rows are saved under skimb[NAME] with
    how skimb was set up, merge next to each other and are reported side by side."""
    pytest.importorskip("skorch")
    (tmp_path / "breadth").mkdir()
    (tmp_path / "breadth" / "cleveland.csv.gz").write_bytes(gzip.compress(TINY.encode()))
    common = ["--datasets-dir", str(tmp_path), "--only", "cleveland", "--quick",
              "--contenders", "skimb_defaults", "--fail-fast"]
    raw, encoded = tmp_path / "raw.csv", tmp_path / "encoded.csv"
    quality.main(common + ["--skimb-raw", "--skimb-set", "max_epochs=2", "--skimb-label", "r2",
                           "--rows-out", str(raw)])
    quality.main(common + ["--skimb-set", "max_epochs=2", "--skimb-set", "lr=0.01",
                           "--skimb-label", "e2", "--rows-out", str(encoded)])
    rows = pd.read_csv(raw)
    assert rows["model"].tolist() == ["skimb[r2]"] and rows["macro_f1"].notna().all()
    assert rows["skimb_input"].tolist() == ["raw"]
    assert rows["skimb_params"].tolist() == ["{'max_epochs': 2}"]
    assert "--skimb-label r2" in rows["command"].iloc[0]
    rows = pd.read_csv(encoded)
    assert rows["model"].tolist() == ["skimb[e2]"] and rows["skimb_input"].tolist() == ["encoded"]
    capsys.readouterr()
    out = tmp_path / "report.md"
    quality.main(["--from-rows", str(raw), str(encoded), "--out", str(out)])
    text = out.read_text()
    assert "`skimb[e2]`: `ImbalancedTorchClassifier(random_state=seed, max_epochs=2, lr=0.01)`" in text
    assert "`skimb[r2]`: `ImbalancedTorchClassifier(random_state=seed, max_epochs=2)` on the raw" in text
    assert "| skimb[e2] " in text and "| skimb[r2] " in text  # cost rows
    # --skimb-raw alone is labelled "raw", so it never overwrites skimb_defaults rows
    args = _parse_only(quality, ["--skimb-raw"])
    assert args.skimb_label == "raw"


def _parse_only(quality, argv):
    """The validated arguments of ``main(argv)`` without running anything."""
    seen = {}

    def stop(args):
        seen["args"] = args
        raise SystemExit(0)

    original = quality.run
    quality.run = stop
    try:
        with pytest.raises(SystemExit):
            quality.main(argv + ["--only", "cleveland"])
    finally:
        quality.run = original
    return seen["args"]


def _rows():
    """Made-up rows of two tables and two seeds: skimb_defaults, two variants, plain skorch
    and LightGBM (no training)."""
    rows = []
    scores = {"skimb_defaults": 0.80, "skimb[raw_e60]": 0.84, "skimb[encoded_e60]": 0.83,
              "plain_skorch": 0.82, "lightgbm_balanced": 0.85}
    for d, shift in (("splice", 0.0), ("hypothyroid", 0.1)):
        for seed in (0, 1):
            for model, score in scores.items():
                rows.append({"dataset": d, "seed": seed, "model": model,
                             "macro_f1": score + shift + 0.01 * seed, "seconds": 10.0 + seed,
                             "fits": 1, "n_train": 100, "error": None,
                             "skimb_input": ("raw" if "raw" in model else "encoded")
                             if model.startswith("skimb") else None,
                             "skimb_params": "{'max_epochs': 60}" if "[" in model
                             else ("{}" if model.startswith("skimb") else None)})
    return pd.DataFrame(rows)


def test_reports_take_several_skimb_variants(quality, tmp_path):
    results = _rows()
    means, stats = quality.score_table(results)
    assert {"skimb[raw_e60]", "skimb[encoded_e60]", "skimb_defaults"} <= set(means.columns)
    versus = quality.skimb_vs_lightgbm(results, ours="skimb[raw_e60]")
    assert versus.loc["splice", "diff"] == pytest.approx(-0.01)
    assert versus.loc["splice", "verdict"] == "loss" and versus.loc["splice", "seeds"] == 2
    costs = quality.cost_per_fit(results)
    assert list(costs.index) == ["plain_skorch", "skimb_defaults", "skimb[encoded_e60]",
                                 "skimb[raw_e60]", "lightgbm_balanced"]
    assert costs.loc["skimb[raw_e60]", "s per fit (all)"] == pytest.approx(10.5)
    lines = quality.coverage(results)
    assert any(line.startswith("`skimb[raw_e60]`: 2 of 2 tables") for line in lines)
    # --from-rows: split over two files, merged, every variant against LightGBM
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    results[results["model"] != "skimb[raw_e60]"].to_csv(a, index=False)
    results[results["model"] == "skimb[raw_e60]"].to_csv(b, index=False)
    out = tmp_path / "breadth.md"
    quality.main(["--from-rows", str(a), str(b), "--out", str(out)])
    text = out.read_text()
    for m in ("skimb_defaults", "skimb[raw_e60]", "skimb[encoded_e60]"):
        assert f"| {m} − lgbm" in text and f"**{m} against lightgbm_balanced:**" in text
    assert "did not run on any table" not in text  # --from-rows: only what --contenders names
    assert "on the raw DataFrame" in text


def test_compare_report(quality, tmp_path):
    a = tmp_path / "a.csv"
    _rows().to_csv(a, index=False)
    out = tmp_path / "compare.md"
    quality.main(["--from-rows", str(a), "--report", "compare", "--out", str(out), "--versus",
                  "skimb[raw_e60]:plain_skorch", "skimb[raw_e60]:skimb[encoded_e60]"])
    text = out.read_text()
    assert "| skimb[raw_e60] − plain_skorch " in text
    splice = [line for line in text.splitlines() if line.startswith("| splice")]
    assert len(splice) == 3  # scores, differences, seconds
    assert "0.845 ± 0.007 [2]" in splice[0]  # mean ± std over the two seeds
    assert "+0.020 ± 0.000" in splice[1] and "+0.010 ± 0.000" in splice[1]
    assert "(short)" not in splice[1]
    assert ("at least level (difference >= -0.005) on 2 of 2 tables; mean difference +0.0200"
            in text)
    # a pair below the margin is marked and counted
    out2 = tmp_path / "compare2.md"
    quality.main(["--from-rows", str(a), "--report", "compare", "--out", str(out2), "--versus",
                  "skimb_defaults:plain_skorch"])
    text = out2.read_text()
    assert "-0.020 ± 0.000 (short)" in text and "| 0 of 2 " in text
    assert "short on splice, hypothyroid" in text
    with pytest.raises(SystemExit):
        quality.main(["--from-rows", str(a), "--report", "compare", "--versus", "skimb[x]:plain_skorch"])


def test_auto_budget_is_parsed_and_refused_when_malformed(quality):
    assert quality.parse_auto_budget("30:120:640000") == (30, 120, 640000)
    for bad in ("30:120", "a:b:c", "120:30:5", "0:10:5"):
        with pytest.raises(argparse.ArgumentTypeError):
            quality.parse_auto_budget(bad)
