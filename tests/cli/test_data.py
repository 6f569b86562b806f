"""What ``python -m skimb compare`` trains on: the library's default model on the raw table,
RWIS exports through the library's loader, in time order, with what is dropped said."""

import numpy as np
import pandas as pd
import pytest

from skimb import ImbalancedTorchClassifier
from skimb.cli import main
from skimb.cli._compare import model
from skimb.cli._data import load, split
from skimb.cli._parser import build_parser


class _Stop(Exception):
    """Raised by the spy fit once it has seen what the CLI trains."""


@pytest.fixture
def first_fit(monkeypatch):
    """Record the estimator and the X of the first fit, then stop the run."""
    seen = {}

    def spy(self, X, y=None, **kwargs):
        seen.update(model=self, X=X, y=y)
        raise _Stop

    monkeypatch.setattr(ImbalancedTorchClassifier, "fit", spy)
    return seen


def _rwis_export(path, n=400):
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2019-01-01")
    times = [start + pd.Timedelta(minutes=20 * i) for i in range(n)][::-1]  # newest first
    frame = pd.DataFrame({
        "STATION_ID": "RTOI4",
        "OBTAINED_DATE": [t.strftime("%m/%d/%Y %H:%M") for t in times],
        "SURFACE_TEMP": rng.normal(30, 4, n).round(1),
        "SURFACE_CONDITION": rng.choice(["Dry", "Wet", "Ice Watch"], n, p=[0.7, 0.2, 0.1]),
        "SUBSURFACE_TEMP": rng.normal(35, 2, n),
        "meta_row": np.arange(n),
    })
    frame.to_csv(path, index=False)
    return str(path)


def _args(*argv):
    args = build_parser().parse_args(["compare", *argv])
    return args


def _fail(message):
    raise AssertionError(message)


def test_every_setting_starts_from_the_library_defaults():
    args = _args("--batch-size", "128", "--random-state", "3")
    expected = ImbalancedTorchClassifier(batch_size=128, random_state=3).get_params(deep=False)
    assert model(args).get_params(deep=False) == expected
    assert model(args).train_split is None and model(args).module is None


def test_the_model_gets_the_raw_table(tmp_path, first_fit):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "color": rng.choice(["red", "blue"], 60),
                          "meta_id": np.arange(60),
                          "label": np.repeat(["a", "b", "c"], [30, 20, 10])})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(_Stop):
        main(["compare", "--data", str(tmp_path / "t.csv"), "--no-plots",
              "--out", str(tmp_path / "out")])
    X = first_fit["X"]
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns) == ["x", "color"]  # text as it is, for the front; meta_* dropped
    assert set(X["color"]) == {"red", "blue"}
    assert first_fit["model"].train_split is None
    assert first_fit["model"].module is None


def test_an_rwis_export_with_its_target_goes_through_the_loader(tmp_path, first_fit, capsys):
    path = _rwis_export(tmp_path / "rwis.csv")
    with pytest.raises(_Stop):
        main(["compare", "--data", path, "--target", "SURFACE_CONDITION", "--no-plots",
              "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert list(first_fit["X"].columns) == ["station", "obtained", "surface_temp", "temp_change",
                                            "minutes_since_previous", "temp_mean_6"]
    assert "in time order" in " ".join(captured.out.split())  # wrapped to the width
    assert ("dropped 2 column(s) the loader does not read: SUBSURFACE_TEMP, meta_row"
            in captured.err)


def test_an_rwis_export_is_split_in_time_order(tmp_path):
    table = load(_args("--data", _rwis_export(tmp_path / "rwis.csv")), _fail)
    assert table.time_ordered
    parts = split(table, 3, 0, _fail)
    assert len(parts.y_test) == 120
    assert parts.X_train["obtained"].max() < parts.X_test["obtained"].min()
    assert parts.X_train["obtained"].is_monotonic_increasing


def test_a_time_column_orders_the_split(tmp_path, capsys):
    when = pd.date_range("2024-01-01", periods=90, freq="h")
    frame = pd.DataFrame({"when": when.strftime("%Y-%m-%d %H:%M")[::-1],
                          "x": np.arange(90.0),
                          "meta_note": "x",
                          "label": np.tile(["a", "b", "c"], 30)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load(_args("--data", str(tmp_path / "t.csv"), "--time", "when"), _fail)
    assert "dropped 1 meta_* column(s), not features: meta_note" in capsys.readouterr().err
    parts = split(table, 3, 0, _fail)
    assert pd.api.types.is_datetime64_any_dtype(parts.X_train["when"])
    assert parts.X_train["when"].max() < parts.X_test["when"].min()
    assert list(parts.X_train.columns) == ["when", "x"]


def test_rows_without_a_target_are_dropped_and_counted(tmp_path, capsys):
    frame = pd.DataFrame({"x": np.arange(40.0), "label": ["a", "b", None, "a"] * 10})
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load(_args("--data", str(tmp_path / "t.csv")), _fail)
    assert len(table.y) == 30
    assert "dropped 10 of 40 rows without a 'label' value" in capsys.readouterr().err
