"""load_rwis_csv on small exports the tests write: gzip, byte-order mark, order, errors."""

import gzip

import numpy as np
import pandas as pd
import pytest

from skimb.datasets import load_rwis_csv

EXPORT = (
    "STATION_ID,OBTAINED_DATE,SURFACE_TEMP,SURFACE_CONDITION,EXTRA\r\n"
    "RTOI4,1/1/2019 1:10,30.0,Ice Watch,x\r\n"
    "RTOI4,1/1/2019 0:10,32.9,Wet,x\r\n"
    "RAMI4,1/1/2019 0:20,40.0,Dry,x\r\n"
    "RTOI4,1/1/2019 0:30,,Wet,x\r\n"
    "RTOI4,1/1/2019 0:40,31.5, Trace Moisture ,x\r\n"
)


def write(path, text, *, gz=False, bom=False):
    data = ("\ufeff" if bom else "") + text
    if gz:
        with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
            f.write(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize("gz, bom", [(False, False), (True, False), (False, True), (True, True)])
def test_reads_plain_gzip_and_bom_exports_in_time_order(tmp_path, gz, bom):
    path = write(tmp_path / ("rwis.csv.gz" if gz else "rwis.csv"), EXPORT, gz=gz, bom=bom)
    X, y = load_rwis_csv(path)
    # the row without a temperature is dropped; labels are stripped; rows sorted by time
    assert y.tolist() == ["Wet", "Dry", "Trace Moisture", "Ice Watch"]
    assert X.index.is_monotonic_increasing
    assert list(X.columns) == ["surface_temp", "below_freezing", "temp_change",
                               "minutes_since_previous", "temp_mean_6", "hour_sin", "hour_cos",
                               "doy_sin", "doy_cos"]
    assert not X.isna().any().any()
    # lags are per station: RTOI4 0:10 -> 0:40 -> 1:10, RAMI4 alone
    assert X["temp_change"].round(2).tolist() == [0.0, 0.0, -1.4, -1.5]
    assert X["minutes_since_previous"].tolist() == [0.0, 0.0, 30.0, 30.0]
    assert X["below_freezing"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert np.allclose(X["temp_mean_6"].iloc[-1], np.mean([32.9, 31.5, 30.0]))


def test_missing_file_and_missing_columns_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_rwis_csv(tmp_path / "absent.csv")
    bad = write(tmp_path / "bad.csv", "STATION_ID,SURFACE_TEMP\nA,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        load_rwis_csv(bad)
    empty = write(tmp_path / "empty.csv",
                  "STATION_ID,OBTAINED_DATE,SURFACE_TEMP,SURFACE_CONDITION\nA,,,\n")
    with pytest.raises(ValueError, match="no complete RWIS rows"):
        load_rwis_csv(empty)


@pytest.mark.parametrize("content, match", [
    (b"", "empty.*STATION_ID"),                      # pandas' EmptyDataError before
    (b"\n\n", "empty"),
    (b"\x00\xff\xfe\x81 binary", "cannot be read as a CSV file"),
], ids=["empty", "blank lines", "not text"])
def test_a_file_that_is_no_csv_is_a_value_error_naming_it(tmp_path, content, match):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as error:
        load_rwis_csv(path)
    assert str(path) in str(error.value)


def test_raw_keeps_station_timestamp_and_sensor_gaps(tmp_path):
    path = write(tmp_path / "rwis.csv", EXPORT)
    X, y = load_rwis_csv(path, raw=True)
    # the row without a temperature is kept, as a gap; rows in time order
    assert y.tolist() == ["Wet", "Dry", "Wet", "Trace Moisture", "Ice Watch"]
    assert list(X.columns) == ["station", "obtained", "surface_temp", "temp_change",
                               "minutes_since_previous", "temp_mean_6"]
    assert isinstance(X["station"].dtype, pd.CategoricalDtype)
    assert X["station"].tolist() == ["RTOI4", "RAMI4", "RTOI4", "RTOI4", "RTOI4"]
    assert pd.api.types.is_datetime64_any_dtype(X["obtained"])
    assert (X["obtained"].to_numpy() == X.index.to_numpy()).all()
    assert X["surface_temp"].isna().tolist() == [False, False, True, False, False]
    # per-station history: undefined for a first reading or next to a gap, never filled
    np.testing.assert_allclose(X["temp_change"], [np.nan, np.nan, np.nan, np.nan, -1.5])
    np.testing.assert_allclose(X["minutes_since_previous"], [np.nan, np.nan, 20, 10, 30])
    np.testing.assert_allclose(X["temp_mean_6"].iloc[-1], np.mean([32.9, 31.5, 30.0]))
    np.testing.assert_allclose(X["temp_mean_6"].iloc[2], 32.9)


def test_a_built_in_network_fits_the_raw_export(tmp_path):
    from skimb import ImbalancedTorchClassifier
    rows = ["STATION_ID,OBTAINED_DATE,SURFACE_TEMP,SURFACE_CONDITION"]
    rng = np.random.default_rng(0)
    for i in range(120):
        temp = "" if i % 17 == 0 else f"{rng.normal(32, 6):.1f}"
        condition = "Dry" if i % 3 else "Wet"
        rows.append(f"{'AB'[i % 2]}I4,1/{1 + i // 24}/2019 {i % 24}:10,{temp},{condition}")
    X, y = load_rwis_csv(write(tmp_path / "rwis.csv", "\n".join(rows) + "\n"), raw=True)
    assert X["surface_temp"].isna().sum() == 8
    clf = ImbalancedTorchClassifier(max_epochs=2, random_state=0).fit(X, y)
    assert clf.n_features_in_ == 6
    assert set(clf.predict(X)) <= {"Dry", "Wet"}
    assert np.isfinite(clf.predict_proba(X)).all()
