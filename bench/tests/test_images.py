"""Smoke test of bench/images.py: the long-tailed digits are what they claim, and --quick runs."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SCRIPT = Path(__file__).resolve().parents[1] / "images.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_images", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def images(bench):
    return bench.load_images()


@pytest.mark.parametrize("ratio", [10, 20])
@pytest.mark.parametrize("seed", [0, 3])
def test_training_set_is_long_tailed_and_test_set_balanced(bench, images, seed, ratio):
    X_train, y_train, X_test, y_test, order = bench.make_split(seed, ratio, images)
    counts = np.bincount(y_train, minlength=10)
    assert counts.max() == bench.N_MAX
    assert counts.max() / counts.min() == pytest.approx(ratio, rel=0.05)
    # the digit of rank r keeps n_max * ratio ** (-r / 9) images, and the profile decreases
    assert counts[order].tolist() == bench.long_tailed_counts(ratio).tolist()
    assert np.all(np.diff(counts[order]) < 0)
    assert np.bincount(y_test, minlength=10).tolist() == [bench.TEST_PER_CLASS] * 10
    assert X_train.shape[1:] == X_test.shape[1:] == (1, 8, 8)
    assert X_train.dtype == np.float32 and 0.0 <= X_train.min() and X_train.max() <= 1.0
    # no test image among the training images
    train_rows = {row.tobytes() for row in X_train.reshape(len(X_train), -1)}
    test_rows = X_test.reshape(len(X_test), -1)
    assert not any(row.tobytes() in train_rows for row in test_rows)  # no duplicate images


def test_split_is_seeded_and_ratios_are_nested(bench, images):
    a = bench.make_split(1, 20, images)
    b = bench.make_split(1, 20, images)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    wide = bench.make_split(1, 10, images)
    assert np.array_equal(a[4], wide[4])            # same digit order for every ratio
    assert np.array_equal(a[2], wide[2])            # same test set
    assert not np.array_equal(bench.make_split(2, 20, images)[4], a[4])
    assert len(a[1]) < len(wide[1])


def test_quick_run_reports_every_setting_and_ratio(bench, tmp_path):
    out, rows_out = tmp_path / "images.md", tmp_path / "rows.csv"
    result = bench.main(["--quick", "--out", str(out), "--rows-out", str(rows_out)])
    markdown = result["markdown"]
    assert out.read_text(encoding="utf-8") == markdown
    header = ("| sampler | loss | augment | macro-F1 @10 | bal. acc. @10 | tail F1 @10 "
              "| macro-F1 @20 | bal. acc. @20 | tail F1 @20 |")
    assert header in markdown
    table = markdown.split(header)[1].split("\n\n")[0].strip().splitlines()[1:]
    assert len(table) == len(bench.QUICK_SETTINGS)
    for sampler, loss, augment in bench.QUICK_SETTINGS:
        line = f"| {sampler} | {loss} | {augment or '-'} |"
        assert sum(row.startswith(line) for row in table) == 1, line
    for row in table:
        assert row.count("±") == 6
    assert "## The CV choice against plain CE" in markdown
    assert "### Ratio 20" in markdown and "## MixUp partner" in markdown
    assert "120, 86, 62, 44, 32, 23, 16, 12, 8, 6 | 409 | 20 |" in markdown

    with open(rows_out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    grid = [r for r in rows if r["phase"] == "grid"]
    assert len(grid) == len(bench.QUICK_SETTINGS) * 2
    assert {r["ratio"] for r in grid} == {"10", "20"}
    assert len([r for r in rows if r["phase"] == "cv"]) == 2
    assert [r["loss"] for r in rows if r["phase"] == "partner"] == ["ldam"]
    for r in grid:
        assert 0.0 <= float(r["macro_f1"]) <= 1.0
        assert 0.0 <= float(r["balanced_accuracy"]) <= 1.0
