"""bench/columns.py: the MCAR masking, the max_one_hot de-duplication, and a ``--quick`` smoke
run (skipped without ../shared/datasets)."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import bench_script


@pytest.fixture(scope="module")
def columns():
    with bench_script("columns") as module:
        yield module


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float),
                         "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
                         "d": rng.normal(size=n)})


def test_mcar_exact_fraction_seeded_input_untouched(columns):
    X = _frame(203)
    before = X.copy()
    out = columns.mcar(X, 0.1, seed=3)
    pd.testing.assert_frame_equal(X, before)  # the input is not modified
    assert out.isna().to_numpy().sum() == round(0.1 * X.size)  # exactly 10% of the cells
    assert list(out.dtypes) == list(X.dtypes)
    kept = out.notna().to_numpy()
    assert (out.to_numpy()[kept] == X.to_numpy()[kept]).all()  # the others are unchanged
    same = columns.mcar(X, 0.1, seed=3)
    pd.testing.assert_frame_equal(out, same)  # seeded
    other = columns.mcar(X, 0.1, seed=4)
    assert not (other.isna().to_numpy() == out.isna().to_numpy()).all()
    assert columns.mcar(X, 0.0, seed=0).isna().sum().sum() == 0
    with pytest.raises(ValueError):
        columns.mcar(X, 1.5)


def test_fill_study_masks_features_not_labels(columns, monkeypatch):
    X = _frame(300).drop(columns="c")
    y = pd.Series(np.tile(["p", "q", "r"], 100))
    seen = []

    def fake_fit(X_train, y_train, X_test, y_test, seed, overrides):
        seen.append((X_train, y_train, X_test, y_test, overrides))
        return 0.5, 0.0, None

    monkeypatch.setattr(columns, "fit_score", fake_fit)
    args = type("Args", (), {"max_train_rows": 10_000, "mcar": 0.1, "overrides": {},
                             "fail_fast": True, "rows_out": None})()
    rows = []
    columns.study_fill(rows, "page_blocks", X, y, 0, args, {})
    assert [r["setting"] for r in rows] == ["complete", "median", "learned"]
    assert [o["module__missing_fill"] for *_, o in seen] == ["median", "median", "learned"]
    for X_train, y_train, X_test, y_test, _ in seen:
        assert y_train.notna().all() and y_test.notna().all()
        assert sorted(pd.concat([y_train, y_test])) == sorted(y)  # labels as they were
    complete, median, learned = seen
    assert complete[0].isna().sum().sum() == 0
    n_missing = median[0].isna().sum().sum() + median[2].isna().sum().sum()
    assert n_missing == round(0.1 * X.size)  # the mask is on all rows, before the split
    pd.testing.assert_frame_equal(median[0], learned[0])  # the same cells for both fills
    assert X.isna().sum().sum() == 0


def test_onehot_study_fits_each_encoding_once(columns, monkeypatch):
    X = _frame(300)
    y = pd.Series(np.tile(["p", "q"], 150))
    fitted = []

    def fake_fit(X_train, y_train, X_test, y_test, seed, overrides):
        fitted.append(overrides["module__max_one_hot"])
        return 0.1 * len(fitted), 1.0, [4, 6]  # two columns: 4 and 6 levels

    monkeypatch.setattr(columns, "fit_score", fake_fit)
    args = type("Args", (), {"max_train_rows": 10_000, "overrides": {}, "fail_fast": True,
                             "rows_out": None, "no_dedupe": False,
                             "max_one_hot": ["0", "4", "8", "16", "32", "all"]})()
    rows = []
    columns.study_onehot(rows, "abalone", X, y, 0, args, {})
    # 16 first (the reference); 0, 4 differ from it; 8, 32 and all one-hot both columns as 16
    assert fitted == [16, 0, 4]
    by = {r["setting"]: r for r in rows}
    assert by["8"]["same_as"] == "16" and by["all"]["same_as"] == "16"
    assert by["8"]["macro_f1"] == by["16"]["macro_f1"] and not by["8"]["fitted"]
    assert (by["0"]["one_hot"], by["0"]["embedded"]) == (0, 2)
    assert (by["4"]["one_hot"], by["4"]["embedded"]) == (1, 1)
    d = columns.paired(pd.DataFrame(rows).assign(study="onehot"), "onehot", "8", "16")
    assert d["same"].all()


def test_same_encoding_is_the_same_model(columns):
    """What the de-duplication relies on: two max_one_hot values that one-hot the same columns
    build and train the same network from the same seed."""
    import torch
    torch.set_num_threads(1)
    X = _frame(120)
    y = (X["a"] > 0).map({True: "hi", False: "lo"})
    probas = []
    for value in (8, 32):
        clf = columns.make_classifier(0, {"max_epochs": 2, "module__max_one_hot": value})
        probas.append(clf.fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(probas[0], probas[1])


def test_quick_smoke(columns, tmp_path):
    folder = Path(columns.quality.default_datasets_dir())
    needed = {n for tables in columns.QUICK_TABLES.values() for n in tables}
    if not all((folder / columns.quality.DATASETS[n]).exists() for n in needed):
        pytest.skip("../shared/datasets not here")
    rows, out = tmp_path / "rows.csv", tmp_path / "columns.md"
    start = time.perf_counter()
    columns.main(["--quick", "--rows-out", str(rows), "--out", str(out)])
    assert time.perf_counter() - start < 60
    results = pd.read_csv(rows)
    assert set(results["study"]) == {"onehot", "fill"}
    assert results["macro_f1"].notna().all()
    text = out.read_text()
    assert "## 1. `module__max_one_hot`" in text and "## 2. `module__missing_fill`" in text
    # from the saved rows, the same report
    again = tmp_path / "again.md"
    columns.main(["--from-rows", str(rows), "--out", str(again)])
    assert again.read_text().split("Cost:")[1] == text.split("Cost:")[1]
