"""Files a user of 1a9f464 holds still load and predict exactly what they predicted then.

The fixtures in ``tests/fixtures/round3/`` were written by its ``make_fixtures.py`` at
commit 1a9f464 (main before the refactor of issue 29) and are never regenerated: pickles of
fitted classifiers (each built-in network, ``module=None``, a raw DataFrame, a user
``nn.Module``, an imbalanced-learn sampler, each augmentation, the decisions, a multi-label
target), ``save_params`` sets and, in ``expected.npz``, the inputs and the outputs
1a9f464 gave. Newer code must load them and give the same ``predict_proba`` bit for bit
(same dtype, ``np.array_equal``) and the same ``predict``.

``pickled_names.txt`` there lists every import path that unpickling them needs (private
ones such as ``skimb._columns.TableColumns`` included).
"""

import importlib.util
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "round3"


def _fixture_maker():
    """``make_fixtures.py``, for its input builders and the fixtures' parameters (it imports
    numpy and pandas at the top, skimb only in its functions)."""
    spec = importlib.util.spec_from_file_location("round3_make_fixtures",
                                                  HERE / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


maker = _fixture_maker()
ARRAYS, EXPECTED, META = maker.read_expected()
INPUTS = maker.load_inputs(ARRAYS)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def assert_outputs_as_at_1a9f464(name, clf):
    X_test = INPUTS[maker.FIXTURES[name][0]][2]
    proba, pred = maker.outputs(clf, X_test)
    expected_proba, expected_pred = EXPECTED[f"{name}__proba"], EXPECTED[f"{name}__pred"]
    assert proba.dtype == expected_proba.dtype and proba.shape == expected_proba.shape
    assert np.array_equal(proba, expected_proba), (
        f"{name}: predict_proba differs from 1a9f464's by up to "
        f"{np.max(np.abs(proba.astype(np.float64) - expected_proba)):.3g}")
    assert pred.dtype.kind == expected_pred.dtype.kind
    np.testing.assert_array_equal(pred, expected_pred)


def test_the_fixtures_are_those_of_1a9f464():
    assert META["commit"] == "1a9f464"
    assert sorted(path.stem for path in HERE.glob("*.pkl")) == sorted(maker.FIXTURES)
    assert sorted(path.name for path in (HERE / "saved").iterdir()) == sorted(maker.SAVED)
    assert {f"{name}__{out}" for name in maker.FIXTURES for out in ("proba", "pred")} == set(
        EXPECTED)


@pytest.mark.parametrize("name", sorted(maker.FIXTURES))
def test_pickle_loads_and_predicts_as_at_1a9f464(name):
    with open(HERE / f"{name}.pkl", "rb") as f:
        clf = pickle.load(f)
    assert_outputs_as_at_1a9f464(name, clf)


def _restore_target(name):
    """What the saved parameters are loaded into.

    A user module: skorch's restore pattern, a new classifier with the same parameters and
    ``initialize()``. A built-in network is built by ``fit`` from the training rows (its
    size, scaling and bins) and cannot be initialized without data, so: a fresh fit of the
    same parameters on the same training rows (same shapes), for one epoch and with
    another ``random_state``, so that only the loaded files can make it predict as at
    1a9f464.
    """
    input_name, params = maker.FIXTURES[name]
    if name == "user_linear":
        return maker.build(params).initialize()
    X, y, X_test = INPUTS[input_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = maker.build(params, random_state=1, max_epochs=1).fit(X, y)
    assert not np.array_equal(fresh.predict_proba(X_test), EXPECTED[f"{name}__proba"])
    return fresh


@pytest.mark.parametrize("name", maker.SAVED)
def test_save_params_set_loads_and_predicts_as_at_1a9f464(name):
    folder = HERE / "saved" / name
    clf = _restore_target(name)
    clf.load_params(f_params=folder / "params.pt", f_optimizer=folder / "optimizer.pt",
                    f_history=folder / "history.json", f_fitted=folder / "fitted.pt")
    assert len(clf.history) == maker.MAX_EPOCHS
    assert_outputs_as_at_1a9f464(name, clf)
    # and training goes on from there (skorch's restore pattern)
    X, y, _ = INPUTS[maker.FIXTURES[name][0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.set_params(max_epochs=1).partial_fit(X, y)
    assert len(clf.history) == maker.MAX_EPOCHS + 1
    assert torch.isfinite(torch.tensor(clf.history[-1, "train_loss"]))
