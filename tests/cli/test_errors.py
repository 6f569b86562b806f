"""Bad files and options end ``python -m skimb compare`` with one ``error:`` line and exit
status 2, before any training, never with a traceback."""

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skimb import ImbalancedTorchClassifier
from skimb.cli import main


@pytest.fixture
def no_training(monkeypatch):
    """Make any fit an error: the checks must come before training."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("a model was trained before the options were checked")

    monkeypatch.setattr(ImbalancedTorchClassifier, "fit", refuse)


def _write(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def _table(n=60, **columns):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=n), "color": rng.choice(["red", "blue"], n)})
    for name, values in columns.items():
        frame[name] = values
    return frame


def _labels(counts):
    return np.repeat(list(counts), list(counts.values()))


def _error_of(argv, capsys):
    """The status and the stderr of a run that must stop with SystemExit."""
    with pytest.raises(SystemExit) as stop:
        main(["compare", "--no-plots", *argv])
    err = capsys.readouterr().err
    return stop.value.code, err


def _bad_files(tmp):
    empty = tmp / "empty.csv"
    empty.write_text("")
    header = tmp / "header.csv"
    header.write_text("x,color,label\n")
    binary = tmp / "binary.csv.gz"
    binary.write_bytes(gzip.compress(bytes(range(256)) * 8))
    only_target = _write(tmp / "only_target.csv", pd.DataFrame({"label": _labels({"a": 30,
                                                                                   "b": 30})}))
    rwis_empty = tmp / "rwis.csv"
    rwis_empty.write_text("STATION_ID,OBTAINED_DATE,SURFACE_TEMP,SURFACE_CONDITION\n"
                          "RTOI4,not a date,31.0,Dry\n")
    return {
        "constant": (_write(tmp / "constant.csv", _table(label="Dry")), "one class ('Dry')"),
        "one row": (_write(tmp / "one_row.csv", _table(label=_labels({"a": 40, "b": 19,
                                                                      "c": 1}))),
                    "too few: 'c' (1)"),
        "empty": (str(empty), "is empty"),
        "header only": (str(header), "has a header but no rows"),
        "binary": (str(binary), "cannot be read as a CSV file"),
        "no features": (only_target, "no feature column"),
        "unlabelled": (_write(tmp / "unlabelled.csv", _table(label=np.nan)), "is empty in every"),
        "rwis without rows": (str(rwis_empty), "holds no complete RWIS rows"),
        "folder": (str(tmp), "not a file"),
        "missing": (str(tmp / "no_such.csv"), "file not found"),
    }


@pytest.mark.parametrize("case", ["constant", "one row", "empty", "header only", "binary",
                                  "no features", "unlabelled", "rwis without rows", "folder",
                                  "missing"])
def test_a_bad_file_is_one_error_line(case, tmp_path, capsys, no_training):
    path, message = _bad_files(tmp_path)[case]
    status, err = _error_of(["--data", path, "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("skimb compare: error: ")
    assert message in lines[-1]
    assert "Traceback" not in err


@pytest.fixture
def three_classes(tmp_path):
    return _write(tmp_path / "three.csv",
                  _table(n=90, label=_labels({"Dry": 50, "Wet": 25, "Ice": 15})))


@pytest.mark.parametrize("extra, message", [
    (["--cv", "1"], "--cv: must be an integer >= 2"),
    (["--cv", "two"], "--cv: must be an integer >= 2"),
    (["--batch-size", "0"], "--batch-size: must be a positive integer"),
    (["--n-samples", "5"], "--n-samples: must be an integer >= 100"),
    (["--random-state", "-1"], "--random-state: must be an integer >= 0"),
    (["--n-jobs", "0"], "--n-jobs: must be a non-zero integer"),
    (["--exclude", "Snow"], "--exclude: not a class of the data: 'Snow'"),
    (["--exclude", "Dry", "Wet", "Ice"], "--exclude names every class"),
    (["--target", "nope"], "--target 'nope' is not a column"),
    (["--time", "nope"], "--time 'nope' is not a column"),
    (["--time", "color"], "90 value(s) are not date-times"),
    (["--cv", "20"], "too few: 'Ice' (15)"),
])
def test_a_bad_option_is_one_error_line(three_classes, extra, message, tmp_path, capsys,
                                        no_training):
    status, err = _error_of(["--data", three_classes, "--out", str(tmp_path / "out"), *extra],
                            capsys)
    assert status == 2
    assert message in err.strip().splitlines()[-1]


def test_options_of_data_need_data(capsys, no_training):
    status, err = _error_of(["--target", "label"], capsys)
    assert status == 2
    assert "--target needs --data" in err


def test_an_output_path_that_is_a_file_is_refused(three_classes, tmp_path, capsys, no_training):
    taken = tmp_path / "taken"
    taken.write_text("")
    status, err = _error_of(["--data", three_classes, "--out", str(taken)], capsys)
    assert status == 2
    assert "--out: cannot create the folder" in err


def test_exclude_matches_integer_labels_by_their_text(tmp_path, capsys, monkeypatch):
    import skimb.cli._compare as run

    path = _write(tmp_path / "ints.csv", _table(n=90, label=_labels({0: 50, 1: 25, 2: 15})))
    seen = {}

    def stop(*args, **kwargs):  # the scorer is built just before the search: stop there
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(run, "macro_f1_scorer", stop)
    with pytest.raises(SystemExit):
        main(["compare", "--data", path, "--exclude", "2", "--no-plots",
              "--out", str(tmp_path / "out")])
    assert seen["exclude"] == [2]


def test_a_failure_inside_training_is_one_error_line(tmp_path, capsys, monkeypatch):
    def diverge(self, *args, **kwargs):
        raise ValueError("the fit diverged:\nloss is NaN at epoch 3")

    monkeypatch.setattr(ImbalancedTorchClassifier, "fit", diverge)
    path = _write(tmp_path / "three.csv",
                  _table(n=90, label=_labels({"Dry": 50, "Wet": 25, "Ice": 15})))
    status, err = _error_of(["--data", path, "--out", str(tmp_path / "out"), "--cv", "2"],
                            capsys)
    assert status == 2
    assert err.strip().splitlines()[-1].endswith(
        "error: training failed: the fit diverged: loss is NaN at epoch 3")


def test_the_module_prints_the_error_line_without_a_traceback(tmp_path):
    path = _write(tmp_path / "constant.csv", _table(label="Dry"))
    result = subprocess.run([sys.executable, "-m", "skimb", "compare", "--data", path,
                             "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "skimb compare: error: the target has one class ('Dry') in all 60 rows: "
        "there is nothing to compare")
    assert "Traceback" not in result.stderr
