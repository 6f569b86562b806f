"""Tables as they come: text, category, datetime and missing values in the built-in networks."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.over_sampling import SMOTE, SMOTENC
from sklearn.model_selection import GridSearchCV
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier
from skimb.networks.front import TableColumns

from tests.helpers import raw_frame, user_clf

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(max_epochs=2, module__hidden_units=(16,), device="cpu", random_state=0)


@pytest.mark.parametrize("module", ["mlp", "tabm", "linear"])
def test_every_column_kind_fits_and_predicts(module):
    X, y = raw_frame()
    params = {**FAST, **({"module__k": 2} if module == "tabm" else {})}
    if module == "linear":
        params.pop("module__hidden_units")
    clf = ImbalancedTorchClassifier(module=module, **params).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and clf.n_features_in_ == X.shape[1]
    assert list(clf.feature_names_in_) == list(X.columns)
    # station, surface, note are codes; "when" became 5 features
    assert clf.module_.discrete_columns == (1, 2, 10)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)


def test_nothing_the_user_passed_is_modified():
    X, y = raw_frame()
    before = X.copy()
    ImbalancedTorchClassifier(**FAST).fit(X, y)
    pd.testing.assert_frame_equal(X, before)


def test_levels_are_values_not_pandas_codes():
    X, y = raw_frame()
    clf = ImbalancedTorchClassifier(**FAST).fit(X, y)
    # the same values under another category order (and an extra level) predict the same
    other = X.copy()
    other["surface"] = pd.Categorical(X["surface"].astype(str), categories=["dry", "x", "wet"])
    np.testing.assert_allclose(clf.predict_proba(other), clf.predict_proba(X), atol=1e-6)
    as_text = X.assign(surface=X["surface"].astype(str))
    np.testing.assert_allclose(clf.predict_proba(as_text), clf.predict_proba(X), atol=1e-6)


def test_an_unseen_level_is_a_missing_one():
    X, y = raw_frame()
    clf = ImbalancedTorchClassifier(**FAST).fit(X, y)
    unseen = X.assign(station="NEW01")
    missing = X.assign(station=None)
    np.testing.assert_allclose(clf.predict_proba(unseen), clf.predict_proba(missing), atol=1e-6)


def test_fills_and_levels_come_from_the_training_rows_only():
    X, y = raw_frame()
    X = X[["temp", "station"]].copy()
    # the validation rows (the last fifth with an unshuffled split) hold a level of their
    # own and very different temperatures
    folds = [(np.arange(0, 192), np.arange(192, len(X)))]
    clf = ImbalancedTorchClassifier(train_split=ValidSplit(folds), **FAST)
    X.loc[192:, "station"] = "ONLY_IN_VALIDATION"
    X.loc[192:, "temp"] = 1000.0
    clf.fit(X, y)
    front = clf.module_.columns
    train_temp = X["temp"].iloc[:192]
    assert front.fill.item() == pytest.approx(np.nanmedian(train_temp), rel=1e-6)
    code = list(clf.columns_.values_[1]).index("ONLY_IN_VALIDATION")
    slot = front.offsets[0] + code
    assert front.level_of_code[slot].item() == 0  # seen only in validation rows: level 0


def test_a_column_missing_everywhere_and_a_constant_text_column():
    X, y = raw_frame()
    X = X.assign(empty=np.nan, constant="same")
    clf = ImbalancedTorchClassifier(**FAST).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_categorical_features_override():
    X, y = raw_frame()
    X = X[["temp", "count"]].fillna({"count": 0}).astype({"count": "int64"})
    for spec in (["count"], [1], [False, True]):
        clf = ImbalancedTorchClassifier(module__categorical_features=spec, **FAST).fit(X, y)
        assert clf.module_.discrete_columns == (1,)
    clf = ImbalancedTorchClassifier(**FAST).fit(X, y)
    assert clf.module_.discrete_columns == ()  # from_dtype: integers are numbers
    with pytest.raises(ValueError, match="categorical_features names column 'nope'"):
        ImbalancedTorchClassifier(module__categorical_features=["nope"], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="holds text"):
        ImbalancedTorchClassifier(module__categorical_features=None, **FAST).fit(
            raw_frame()[0], y)


def test_datetime_features_are_cyclic():
    times = pd.DataFrame({"t": pd.to_datetime(["2019-01-01 00:00", "2019-01-01 06:00",
                                               "2019-12-31 23:59:59", None], format="ISO8601")})
    out = TableColumns().fit(times).transform(times)
    np.testing.assert_allclose(out[0, :2], [0.0, 1.0], atol=1e-6)   # midnight
    np.testing.assert_allclose(out[1, :2], [1.0, 0.0], atol=1e-6)   # 06:00, a quarter turn
    np.testing.assert_allclose(out[2, :4], out[0, :4], atol=1e-2)   # next to New Year
    assert np.isnan(out[3]).all()


@pytest.mark.parametrize("module", ["mlp", "tabm", "linear"])
def test_the_linear_time_is_fed_only_when_asked(module):
    X, y = raw_frame()
    two_years_on = X.assign(when=X["when"] + pd.DateOffset(years=2))  # 2019 -> 2021
    params = {**FAST, **({"module__k": 2} if module == "tabm" else {})}
    if module == "linear":
        params.pop("module__hidden_units")
    cyclic = ImbalancedTorchClassifier(module=module, **params).fit(X, y)
    # the same clock time and day of the year, later: the default front sees no difference
    np.testing.assert_array_equal(cyclic.predict_proba(two_years_on), cyclic.predict_proba(X))
    trend = ImbalancedTorchClassifier(module=module, module__datetime_trend=True,
                                      **params).fit(X, y)
    assert trend.module_.columns.width == cyclic.module_.columns.width + 1
    assert not np.allclose(trend.predict_proba(two_years_on), trend.predict_proba(X))
    with pytest.raises(ValueError, match="datetime_trend"):
        ImbalancedTorchClassifier(module=module, module__datetime_trend="yes",
                                  **params).fit(X, y)


def test_infinity_stays_an_error_and_names_the_column():
    X, y = raw_frame()
    X.loc[5, "temp"] = np.inf
    with pytest.raises(ValueError, match=r"infinity.*'temp'.*row 5"):
        ImbalancedTorchClassifier(**FAST).fit(X, y)


def test_column_names_and_order_are_checked_at_predict():
    X, y = raw_frame()
    clf = ImbalancedTorchClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[list(reversed(X.columns))])


def test_your_own_module_keeps_the_clear_errors():
    X, y = raw_frame()
    with pytest.raises(ValueError, match="non-numeric columns"):
        user_clf(module__n_in=X.shape[1], module__n_out=2).fit(X, y)


def test_interpolating_imblearn_samplers_are_refused_naming_the_columns():
    X, y = raw_frame()
    X = X.drop(columns=["when"]).fillna({"temp": 0.0, "count": 0})
    with pytest.raises(ValueError, match=r"interpolate the codes.*'station'.*SMOTENC"):
        ImbalancedTorchClassifier(sampler=SMOTE(k_neighbors=3), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="missing values"):
        ImbalancedTorchClassifier(sampler=SMOTE(), **FAST).fit(raw_frame()[0], y)
    clf = ImbalancedTorchClassifier(
        sampler=SMOTENC(categorical_features=[1, 2, 5], k_neighbors=3, random_state=0),
        **FAST).fit(X, y)
    assert clf.predict(X).shape == (len(X),)


def test_augment_smote_keeps_every_code():
    X, y = raw_frame()
    seen = []

    class Watch(ImbalancedTorchClassifier):
        def transform_batch(self, batch, rows=None):
            batch = super().transform_batch(batch, rows=rows)
            seen.append(batch[0][:, list(self.module_.discrete_columns)])
            return batch

    Watch(sampler="over", augment="smote", **FAST).fit(X, y)
    codes = torch.cat(seen)
    codes = codes[~torch.isnan(codes)]
    assert torch.equal(codes, codes.round())


def test_grid_search_on_the_raw_table():
    X, y = raw_frame()
    search = GridSearchCV(ImbalancedTorchClassifier(**FAST),
                          {"module__max_one_hot": [1, 16], "augment": [None, "mixup"]},
                          scoring="f1_macro", cv=2, error_score="raise").fit(X, y)
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_categorical_features_with_a_sparse_table_is_refused():
    import scipy.sparse as sp
    X, y = raw_frame()
    sparse = sp.csr_matrix(X[["temp"]].fillna(0.0).to_numpy())
    with pytest.raises(ValueError, match="needs a dense table"):
        ImbalancedTorchClassifier(module__categorical_features=[0], **FAST).fit(sparse, y)


def test_tuned_decision_cv_on_a_raw_table():
    from skimb import TunedDecisionClassifierCV
    from skimb.decisions import decide
    X, y = raw_frame(300)
    model = TunedDecisionClassifierCV(ImbalancedTorchClassifier(**FAST), cv=3,
                                      random_state=0).fit(X, y)
    assert np.isfinite(model.offsets_).all() and model.n_features_in_ == X.shape[1]
    # the refit's front comes from all the rows, as a plain fit's does
    plain = ImbalancedTorchClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), plain.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(model.predict(X),
                                  model.classes_[decide(plain.predict_proba(X), model.offsets_)])
    unseen = X.assign(station="NEW")  # an unseen level at predict is level 0, no error
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_decision_tuned_on_a_raw_table():
    X, y = raw_frame(300)
    clf = ImbalancedTorchClassifier(decision="tuned", train_split=ValidSplit(4, stratified=True),
                                    **FAST).fit(X, y)
    assert np.isfinite(clf.decision_offsets_).all()
    assert set(clf.predict(X)) <= {"dry", "ice"}
