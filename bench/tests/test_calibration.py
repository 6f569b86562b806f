"""Smoke test of bench/calibration.py: its contender table, its scores, a tiny real run (two
epochs on a made-up table), resuming it, and the report's target counts. Nothing timed is
asserted; the real tables in ../shared/datasets are not needed."""

import gzip
import importlib.util
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from tests.helpers import bench_script

HAS_LIGHTGBM = importlib.util.find_spec("lightgbm") is not None


@pytest.fixture(scope="module")
def calibration():
    with bench_script("calibration") as module:
        yield module


def test_contender_table_has_every_strategy_and_the_peers(calibration):
    from skimb import ImbalancedTorchClassifier
    from skimb.grid import default_strategy_grid
    from sklearn.model_selection import ParameterGrid

    table = calibration.contender_table()
    names = [c.name for c in table]
    assert len(set(names)) == len(names)
    skimb = [c for c in table if c.family == "skimb"]
    assert len(skimb) == len(ParameterGrid(default_strategy_grid())) == 10
    assert [c.name for c in skimb if c.default] == ["skimb[none+ce]"]  # the pure defaults
    assert {"skimb[none+ce,decision=prior]", "skimb[none+weighted_ce,weights=sqrt]",
            "skimb[none+ldam,drw_epoch=0.667]", "skimb[under+ce]"} <= set(names)
    assert names[-4:] == ["lightgbm_plain", "lightgbm_balanced", "lightgbm_balanced+sigmoid",
                          "lightgbm_balanced+temperature"]
    model = next(c for c in skimb if c.strategy == "none+weighted_ce,weights=sqrt").build(3, 1)
    assert isinstance(model, ImbalancedTorchClassifier)
    params = model.get_params()
    assert (params["loss"], params["loss__weights"], params["random_state"]) == (
        "weighted_ce", "sqrt", 3)
    # a family of its own (a future calibration=, here max_epochs) is one entry
    other = calibration.skimb_contenders("skimb_e5", max_epochs=5)
    assert [c.strategy for c in other] == [c.strategy for c in skimb]
    assert all(c.build(0, 1).get_params()["max_epochs"] == 5 for c in other)
    assert [c.name for c in other if c.default] == ["skimb_e5[none+ce]"]


def test_contenders_are_chosen_by_name_or_family(calibration):
    table = calibration.contender_table()
    chosen = calibration.select(table, ["skimb[sqrt+ce]", "lightgbm"])
    assert [c.name for c in chosen] == ["skimb[sqrt+ce]", "lightgbm_plain", "lightgbm_balanced",
                                        "lightgbm_balanced+sigmoid",
                                        "lightgbm_balanced+temperature"]
    assert calibration.select(table, None) == table
    with pytest.raises(ValueError, match="skimb\\[nope\\]: not a contender"):
        calibration.select(table, ["skimb[nope]"])


@pytest.mark.skipif(not HAS_LIGHTGBM, reason="lightgbm is not installed")
def test_lightgbm_contenders_are_quality_benchmarks_model(calibration):
    from sklearn.calibration import CalibratedClassifierCV

    table = {c.name: c for c in calibration.lightgbm_contenders()}
    assert table["lightgbm_balanced"].build(2, 1).get_params()["lgbmclassifier__class_weight"] \
        == "balanced"
    assert table["lightgbm_plain"].build(2, 1).get_params()["lgbmclassifier__class_weight"] is None
    wrapped = table["lightgbm_balanced+temperature"].build(2, 1)
    assert isinstance(wrapped, CalibratedClassifierCV)
    assert (wrapped.method, wrapped.cv, table["lightgbm_balanced+temperature"].fits) == (
        "temperature", 3, 3)


def test_scores_follow_their_definitions(calibration):
    classes = np.array(["a", "b", "c"])
    y_true = np.array(["a", "c", "b", "a"])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.3, 0.4, 0.3]],
                     dtype=np.float32)
    pred = np.array(["a", "c", "b", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 rows are renormalised, log_loss does not warn
        got = calibration.scores(y_true, proba, pred, classes)
    onehot = (y_true[:, None] == classes).astype(float)
    assert got["brier"] == pytest.approx(((onehot - proba.astype(float)) ** 2).sum(1).mean())
    assert got["log_loss"] == pytest.approx(-np.log([0.7, 0.6, 0.5, 0.3]).mean(), rel=1e-6)
    assert got["log_loss"] == pytest.approx(log_loss(y_true, proba, labels=classes), rel=1e-6)
    assert got["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)  # a, b, c
    assert got["macro_f1_argmax"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert 0 < got["classwise_ece"] < 1


def _tiny_table(tmp_path):
    """A made-up 'cleveland' of 120 rows, 3 classes (60/30/30), a text column and NaN."""
    lines = ["colour,weight,target"] + [
        f"{'red' if i % 3 else 'blue'},{'' if i % 7 == 0 else float(i % 5 + (i % 8 > 3))},"
        f"{'abbcccaa'[i % 8]}" for i in range(120)]
    (tmp_path / "breadth").mkdir()
    (tmp_path / "breadth" / "cleveland.csv.gz").write_bytes(
        gzip.compress(("\n".join(lines) + "\n").encode()))


@pytest.mark.usefixtures("one_torch_thread")
def test_tiny_run_resumes_and_reports(calibration, tmp_path, monkeypatch):
    _tiny_table(tmp_path)
    rows_out, out = tmp_path / "rows.csv", tmp_path / "calibration.md"
    wanted = ["skimb[none+ce]", "skimb[sqrt+ce]", "lightgbm_balanced+sigmoid"]
    argv = ["--datasets-dir", str(tmp_path), "--only", "cleveland", "--quick", "--fail-fast",
            "--contenders", *wanted, "--rows-out", str(rows_out)]
    calibration.main(argv + ["--out", str(out)])
    rows = pd.read_csv(rows_out)
    ran = wanted if HAS_LIGHTGBM else wanted[:2]
    assert rows["model"].tolist() == ran
    assert rows[list(calibration.METRICS)].notna().all().all() and (rows["seconds"] > 0).all()
    assert rows["n_train"].nunique() == 1 and rows["n_test"].nunique() == 1  # the same rows
    assert (rows["n_train"] + rows["n_test"] == 120).all() and (rows["n_classes"] == 3).all()
    assert rows["default"].tolist()[:2] == [True, False]
    assert rows["params"].iloc[0] == "{'sampler': 'none', 'loss': 'ce', 'max_epochs': 2}"
    text = out.read_text()
    for heading in ("## Mean over tables", "## Log-loss per table",
                    "## Each skimb strategy against skimb[none+ce]"):
        assert heading in text
    assert ("## skimb[none+ce] against lightgbm_balanced+sigmoid" in text) == HAS_LIGHTGBM

    # --resume refits nothing that the file holds, and keeps its rows
    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was fitted again")

    monkeypatch.setattr(calibration, "measure", refuse)
    calibration.main(argv + ["--resume"])
    pd.testing.assert_frame_equal(pd.read_csv(rows_out), rows)
    # --from-rows reports without fitting
    again = tmp_path / "again.md"
    calibration.main(["--from-rows", str(rows_out), "--out", str(again)])
    assert again.read_text() == text


def _rows(values):
    """Made-up rows: ``{model: [log-loss per table]}`` on the first tables, seed 0."""
    tables = ["page_blocks", "shuttle", "wine_quality"]
    family = {"skimb[none+ce]": "skimb", "skimb[sqrt+ce]": "skimb"}
    return pd.DataFrame([
        {"dataset": d, "seed": 0, "model": m, "family": family.get(m, "lightgbm"),
         "strategy": m, "default": m == "skimb[none+ce]", "fits": 1, "log_loss": v,
         "brier": 0.1, "classwise_ece": 0.01, "macro_f1": 0.5, "macro_f1_argmax": 0.5,
         "seconds": 1.0, "n_train": 100, "n_test": 50, "n_classes": 3, "dropped": None,
         "host": "h", "threads": 1, "command": "c", "skimb": "s", "error": None}
        for m, per_table in values.items() for d, v in zip(tables, per_table)])


def test_report_counts_the_targets(calibration):
    rows = _rows({"skimb[none+ce]": [0.30, 0.10, 0.90],
                  "skimb[sqrt+ce]": [0.36, 0.12, 1.08],  # 20% above the default
                  "lightgbm_balanced+sigmoid": [0.40, 0.10, 0.85]})
    text = calibration.report(rows, calibration.contender_table())
    assert "at or below on 2 of 3 tables (the count target needs all 18 tables)" in text
    assert "mean 0.433 against 0.450 (met)" in text
    assert "| skimb[sqrt+ce] | 0.520      | +20.0%       | **no**" in text
    assert "Here 1 of 2." in text
    assert "| **skimb[none+ce]** (default) |" in text


def test_a_failed_fit_is_recorded_and_retried_on_resume(calibration, tmp_path, monkeypatch):
    _tiny_table(tmp_path)
    rows_out = tmp_path / "rows.csv"
    argv = ["--datasets-dir", str(tmp_path), "--only", "cleveland", "--quick",
            "--contenders", "skimb[none+ce]", "skimb[sqrt+ce]", "--rows-out", str(rows_out)]
    fitted = []

    def fake(contender, X_train, y_train, X_test, y_test, seed, threads):
        fitted.append(contender.name)
        if contender.name == "skimb[sqrt+ce]" and fitted.count(contender.name) == 1:
            raise RuntimeError("out of luck")
        return {"log_loss": 0.5, "brier": 0.3, "classwise_ece": 0.02, "macro_f1": 0.6,
                "macro_f1_argmax": 0.6, "seconds": 0.1}

    monkeypatch.setattr(calibration, "measure", fake)
    calibration.main(argv)
    rows = pd.read_csv(rows_out)
    failed = rows.set_index("model").loc["skimb[sqrt+ce]"]
    assert failed["error"] == "RuntimeError: out of luck" and np.isnan(failed["log_loss"])
    assert failed["fits"] == 0
    calibration.main(argv + ["--resume"])  # only the failed run is fitted again
    assert fitted == ["skimb[none+ce]", "skimb[sqrt+ce]", "skimb[sqrt+ce]"]
    rows = pd.read_csv(rows_out)
    assert rows["model"].tolist() == ["skimb[none+ce]", "skimb[sqrt+ce]"]
    assert rows["log_loss"].notna().all()


@pytest.mark.usefixtures("one_torch_thread")
def test_label_codes_give_the_same_skimb_model(calibration, tmp_path):
    """The run gives every contender the labels as codes 0 .. K-1 (for scikit-learn's
    temperature scaling); for skimb that is the same model as on the labels themselves."""
    _tiny_table(tmp_path)
    X, y, _ = calibration.load_table("cleveland", tmp_path)  # bench/quality.py's loader
    codes = np.unique(y, return_inverse=True)[1]
    contender = calibration.skimb_contenders(max_epochs=2)[0]
    on_labels = contender.build(0, 1).fit(X, y).predict_proba(X)
    on_codes = contender.build(0, 1).fit(X, codes).predict_proba(X)
    np.testing.assert_array_equal(on_labels, on_codes)


def test_raw_twins_score_the_same_fit_with_calibration_none(calibration):
    table = calibration.contender_table(raw_twins=True)
    fitted = [c for c in table if c.family == "skimb"]
    twins = [c for c in table if c.family == "skimb_raw"]
    assert len(twins) == len(fitted) and all(c.fits == 0 for c in twins)
    assert {c.raw_twin for c in fitted} == {c.name for c in twins}
    rows = pd.DataFrame([
        {"dataset": "t", "model": "skimb[under+ce]", "log_loss": 0.5, "brier": 0.2,
         "macro_f1": 0.7},
        {"dataset": "t", "model": "skimb_raw[under+ce]", "log_loss": 0.6, "brier": 0.3,
         "macro_f1": 0.7}])
    text = "\n".join(calibration.raw_against_corrected(rows))
    assert "| t " in text and "0.600" in text and "0.500" in text
