"""Small shared pieces of the tests: tiny data, a fast classifier, scikit-learn's checks as
pytest parameters, and the benchmark scripts as modules."""

import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from torch import nn
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.utils.estimator_checks import estimator_checks_generator
from skorch.dataset import ValidSplit

from skimb import ImbalancedTorchClassifier

N_FEATURES = 6

#: Imbalanced class counts for 2, 3 and 7 classes, used by the loss tests.
COUNTS = {
    2: np.array([500, 20]),
    3: np.array([300, 50, 7]),
    7: np.array([1000, 400, 120, 60, 25, 9, 3]),
}

#: The default trains on every row; most tests want the validation path too, whose
#: split, scores and leakage rules they check.
VALIDATED = dict(train_split=ValidSplit(5, stratified=True))
FAST = dict(max_epochs=2, module__hidden_units=(16,), device="cpu", random_state=0, **VALIDATED)


def make_data(n=300, seed=0):
    """A 3-class table with class shares 70/20/10."""
    return make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=4, n_redundant=0,
        n_classes=3, weights=[0.7, 0.2, 0.1], class_sep=1.5, random_state=seed,
    )


def assert_unfitted(clf):
    """A fit that was refused left no fitted state behind."""
    from sklearn.exceptions import NotFittedError

    assert not hasattr(clf, "n_features_in_")
    assert not hasattr(clf, "feature_names_in_")
    assert not hasattr(clf, "classes_inferred_")
    assert not hasattr(clf, "module_")
    assert not clf.initialized_
    with pytest.raises(NotFittedError):
        clf.predict_proba(np.zeros((2, N_FEATURES)))


def clf_(**params):
    """An ImbalancedTorchClassifier with the fast settings, overridable."""
    return ImbalancedTorchClassifier(**{**FAST, **params})


class TwoLayer(nn.Module):
    """A user's own module: a small MLP on the raw features."""

    def __init__(self, n_in=N_FEATURES, n_out=3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))

    def forward(self, X):
        return self.net(X)


def user_clf(cls=ImbalancedTorchClassifier, **params):
    """The fast settings with a user's module (no built-in network parameters)."""
    fast = {key: value for key, value in FAST.items() if not key.startswith("module__")}
    return cls(**{**fast, "module": TwoLayer, **params})


def raw_frame(n=240, seed=0):
    """A DataFrame with every column kind the built-in networks read, NaN and NA included."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "temp": rng.normal(size=n),
        "station": rng.choice(["RTOI4", "RAMI4", "RDSI4"], n),
        "surface": pd.Categorical(rng.choice(["dry", "wet"], n),
                                  categories=["wet", "dry", "never_used"]),
        "flag": rng.random(n) < 0.3,
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "when": pd.date_range("2019-01-01", periods=n, freq="37min"),
        "note": pd.array(rng.choice(["a", "b"], n), dtype="string"),
    })
    X.loc[::7, "temp"] = np.nan
    X.loc[::11, "count"] = pd.NA
    y = np.where((X.station == "RTOI4") & (X.temp.fillna(0) > 0), "ice", "dry")
    return X, y


@contextmanager
def bench_script(name):
    """``bench/<name>.py`` imported as a module for the length of the block (it is no package)."""
    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def sklearn_checks(estimator, elsewhere=None):
    """scikit-learn's estimator checks of ``estimator``, as pytest parameters
    ``(estimator, check)`` named after the check.

    ``elsewhere`` maps a check's name to the estimator it runs on instead: one configured so
    that what the check asks for must hold (no expected failure, which would pass whatever
    happens).
    """
    for checked, check in estimator_checks_generator(estimator, legacy=True):
        name = check.func.__name__
        if name in (elsewhere or {}):
            checked = clone(elsewhere[name])
        options = ",".join(f"{key}={value}" for key, value in check.keywords.items())
        yield pytest.param(checked, check, id=f"{name}({options})" if options else name)
