"""What X and y may be, and the checks at the edge: a table of any numeric dtype, a
DataFrame, lists; nothing the user passed is modified; bad input (NaN, inf, no rows,
mismatched lengths, one class, the wrong width, non-numeric columns, N-D rows without a
module of your own, X that is not 2-D) is a ValueError that says what and where, and leaves
no fitted state."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import N_FEATURES, assert_unfitted, clf_, user_clf


# -- what X may be -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_numpy_dtypes(data, dtype):
    X, y = data
    Xd = (X * 10).astype(dtype)
    clf = clf_().fit(Xd, y)
    assert clf.n_features_in_ == N_FEATURES
    assert not hasattr(clf, "feature_names_in_")
    proba = clf.predict_proba(Xd)
    assert proba.shape == (len(X), 3)
    assert proba.dtype.kind == "f"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = clf.predict(Xd)
    assert pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])


def test_dataframe_sets_feature_names(data):
    X, y = data
    columns = [f"f{i}" for i in range(N_FEATURES)]
    df = pd.DataFrame(X, columns=columns)
    clf = clf_().fit(df, y)
    assert clf.n_features_in_ == N_FEATURES
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    with pytest.warns(UserWarning, match="feature names"):
        from_array = clf.predict_proba(X.astype(np.float32))
    np.testing.assert_array_equal(clf.predict_proba(df), from_array)
    # columns in another order are refused, as by any sklearn estimator
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[columns[::-1]])
    # a refit on an array forgets the names
    clf.fit(X, y)
    assert not hasattr(clf, "feature_names_in_")


def test_lists(data):
    X, y = data
    labels = np.array(["low", "mid", "high"])[y]
    clf = clf_().fit(X.tolist(), labels.tolist())
    assert clf.n_features_in_ == N_FEATURES
    pred = clf.predict(X[:20].tolist())
    assert pred.shape == (20,)
    assert set(pred) <= {"low", "mid", "high"}
    assert isinstance(pred[0], str)


def test_inputs_not_modified(data):
    X, y = data
    w = np.linspace(0.5, 2.0, len(y))
    for X_in in (X.copy(), X.astype(np.float32)):
        labels = np.array(["a", "b", "c"], dtype=object)[y]
        X_copy, y_copy, w_copy = X_in.copy(), labels.copy(), w.copy()
        clf = clf_(sampler="under").fit(X_in, labels, sample_weight=w)
        clf.predict(X_in)
        clf.predict_proba(X_in)
        np.testing.assert_array_equal(X_in, X_copy)
        assert X_in.dtype == X_copy.dtype
        np.testing.assert_array_equal(labels, y_copy)
        np.testing.assert_array_equal(w, w_copy)
    df = pd.DataFrame(X, columns=list("abcdef"))
    df_copy = df.copy()
    ys = pd.Series(pd.Categorical(np.array(["x", "y", "z"])[y]))
    ys_copy = ys.copy()
    clf = clf_().fit(df, ys)
    clf.predict(df)
    pd.testing.assert_frame_equal(df, df_copy)
    pd.testing.assert_series_equal(ys, ys_copy)


# -- bad input: a clear ValueError ---------------------------------------------------------


def test_nan_names_dataframe_column_for_your_own_module(data):
    # the built-in networks fill missing values (tests/networks/front/test_raw_tables.py); your module
    # gets a finite table or a clear error
    X, y = data
    df = pd.DataFrame(X, columns=[f"sensor_{i}" for i in range(N_FEATURES)])
    df.iloc[11, 3] = np.nan
    clf = user_clf()
    with pytest.raises(ValueError, match=r"NaN.*'sensor_3'.*row 11"):
        clf.fit(df, y)
    assert_unfitted(clf)


def test_inf_names_array_column(data):
    X, y = data
    X = X.copy()
    X[4, 2] = np.inf
    clf = clf_()
    with pytest.raises(ValueError, match=r"infinity.*column 2.*row 4"):
        clf.fit(X, y)
    assert_unfitted(clf)


def test_nan_at_predict_names_column_for_your_own_module(data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"s{i}" for i in range(N_FEATURES)])
    clf = user_clf().fit(df, y)
    bad = df.copy()
    bad.iloc[0, 5] = np.nan
    with pytest.raises(ValueError, match="'s5'"):
        clf.predict(bad)


def test_empty_x():
    clf = clf_()
    with pytest.raises(ValueError, match="empty"):
        clf.fit(np.empty((0, N_FEATURES)), np.empty(0))
    assert_unfitted(clf)
    with pytest.raises(ValueError, match="empty"):
        clf.fit([], [])
    assert_unfitted(clf)


def test_length_mismatch(data):
    X, y = data
    clf = clf_()
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples.*300, 299"):
        clf.fit(X, y[:-1])
    assert_unfitted(clf)


def test_single_class(data):
    X, _ = data
    clf = clf_()
    with pytest.raises(ValueError, match=r"single class \(Dry\)"):
        clf.fit(X, np.array(["Dry"] * len(X)))
    assert_unfitted(clf)


def test_wrong_feature_count_at_predict(data):
    X, y = data
    clf = clf_().fit(X, y)
    with pytest.raises(ValueError, match=f"X has 4 features.*expecting {N_FEATURES}"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match=f"X has 4 features.*expecting {N_FEATURES}"):
        clf.predict_proba(X[:, :4])


def test_non_numeric_dataframe_column_for_your_own_module(data):
    X, y = data
    df = pd.DataFrame(X, columns=list("abcdef"))
    df["station"] = "RTOI4"
    clf = user_clf()
    with pytest.raises(ValueError, match=r"non-numeric columns \['station'\]"):
        clf.fit(df, y)
    assert_unfitted(clf)


def test_n_d_x_needs_a_module_of_your_own_and_its_row_shape_at_predict(data):
    X_bad = np.ones((4, 3, 2))
    with pytest.raises(ValueError, match=r"module=None builds a network for tables"):
        clf_(module=None, train_split=None).fit(X_bad, np.arange(4) % 2)
    X, y = data
    fitted = clf_().fit(X, y)
    with pytest.raises(ValueError, match=r"rows of shape \(3, 2\); the model was fitted on "
                                         r"rows of shape \(6,\)"):
        fitted.predict(X_bad)


@pytest.mark.parametrize("shape", [(5,), ()])
def test_x_that_is_not_2d_is_a_clear_error(shape, data):
    X_bad = np.ones(shape)
    with pytest.raises(ValueError, match=r"X must be 2-D, \(n_samples, n_features\)") as err:
        clf_().fit(X_bad, np.arange(shape[0]) % 2 if shape else [0])
    assert "_FeatureProbe" not in str(err.value) and "ImbalancedTorchClassifier" in str(err.value)
    X, y = data
    fitted = clf_().fit(X, y)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        fitted.predict(X_bad)
