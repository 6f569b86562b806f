"""A raw table's columns at the edge (issue 31): a column whose kind changed since fit is a
ValueError naming it, never a silently different number; dates kept as text at fit get a
warning with the fix."""

import warnings

import numpy as np
import pandas as pd
import pytest
from torch import nn

from skimb import ImbalancedTorchClassifier
from skimb.networks.front import TableColumns

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 120


def _frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"temp": rng.normal(size=N),
                         "when": pd.date_range("2019-01-01", periods=N, freq="37min")})


@pytest.fixture(scope="module")
def fitted():
    X = _frame()
    clf = ImbalancedTorchClassifier(max_epochs=1, device="cpu", random_state=0)
    return clf.fit(X, (X.temp > 0).astype(int)), X


#: (what the predicted table holds instead, the message)
CHANGED_KIND = [
    pytest.param("when", 5.0, "column 'when' held datetimes at fit but holds numbers",
                 id="a number in a datetime column"),
    pytest.param("when", 2019, "column 'when' held datetimes.*numbers.*2019",
                 id="an integer year in a datetime column"),
    pytest.param("when", "not a date", "column 'when' held datetimes at fit, but its values",
                 id="text that is no date in a datetime column"),
    pytest.param("temp", pd.Timestamp("2020-01-01"), "column 'temp' was numeric at fit but "
                 "holds datetimes", id="datetimes in a numeric column"),
    pytest.param("temp", "abc", "column 'temp' was numeric at fit but holds non-numeric",
                 id="text in a numeric column"),
]


@pytest.mark.parametrize("column, value, match", CHANGED_KIND)
def test_a_column_whose_kind_changed_is_refused_naming_it(fitted, column, value, match):
    clf, X = fitted
    with pytest.raises(ValueError, match=match):
        clf.predict(X.assign(**{column: value}))


@pytest.mark.parametrize("as_given", [
    lambda when: when.dt.strftime("%Y-%m-%d %H:%M"),
    lambda when: when.astype(object),
    lambda when: when.dt.tz_localize("UTC"),
    lambda when: when.where(when.index % 3 > 0),  # NaT
], ids=["ISO text", "Timestamp objects", "timezone-aware", "with NaT"])
def test_a_datetime_column_still_takes_times_in_other_forms(fitted, as_given):
    clf, X = fitted
    proba = clf.predict_proba(X.assign(when=as_given(X.when)))
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("as_text", [
    lambda when: when.dt.strftime("%m/%d/%Y %H:%M"),
    lambda when: when.dt.strftime("%Y-%m-%d"),
    lambda when: when.dt.strftime("%d.%m.%Y %H:%M:%S"),
    lambda when: when.dt.strftime("%m/%d/%Y %I:%M %p"),
    lambda when: when.dt.tz_localize("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
    lambda when: when.astype(object),
], ids=["MM/DD/YYYY HH:MM", "ISO dates", "DD.MM.YYYY HH:MM:SS", "AM/PM", "ISO with offset",
        "Timestamp objects"])
def test_dates_kept_as_text_at_fit_are_warned_about_with_the_fix(as_text):
    X = _frame()
    X["when"] = as_text(X.when)
    with pytest.warns(UserWarning, match=r"column 'when' holds dates.*pd\.to_datetime"):
        columns = TableColumns().fit(X)
    assert columns.kinds_ == ["numeric", "categorical"]


@pytest.mark.parametrize("values, spec", [
    (["dry", "wet", "ice"], "from_dtype"),                       # words
    (["1", "2", "3"], "from_dtype"),                             # digits alone
    (["A-12", "B-7", "C-3"], "from_dtype"),                      # codes
    (["01/02/2019", "03/04/2019", "05/06/2019"], ["when"]),      # listed as categorical
], ids=["words", "digits", "codes", "dates listed as categorical"])
def test_other_text_and_columns_listed_as_categorical_are_not_warned_about(values, spec):
    X = pd.DataFrame({"when": np.resize(values, N), "temp": np.arange(N, dtype=float)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TableColumns(categorical_features=spec).fit(X)


class _Bag(nn.Module):
    """Token ids in, logits out: the sequence model of images_and_sequences.md."""

    def __init__(self, vocab=50, n_out=3):
        super().__init__()
        self.bag, self.out = nn.EmbeddingBag(vocab, 8), nn.Linear(8, n_out)

    def forward(self, tokens):
        return self.out(self.bag(tokens))


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_ids_given_as_a_2d_table_point_at_the_dict_form(dtype):
    """A 2-D array is a table (float32 for a module of your own); an nn.EmbeddingBag then
    failed with torch's RuntimeError, which gave no hint of the dict form."""
    rng = np.random.default_rng(0)
    ids, y = rng.integers(0, 50, size=(200, 12)).astype(dtype), rng.integers(0, 3, 200)
    clf = ImbalancedTorchClassifier(_Bag, max_epochs=1, device="cpu", random_state=0)
    with pytest.raises(ValueError, match=r"X=\{'tokens': ids\}.*images_and_sequences"):
        clf.fit(ids, y)
    assert not clf.initialized_
    # the dict form keeps the ids as they are
    assert clf.fit({"tokens": ids}, y).predict({"tokens": ids}).shape == (200,)
