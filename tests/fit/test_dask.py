"""Scale-out on Dask: grid searches through joblib, fits on worker processes."""

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skimb import ImbalancedTorchClassifier
from skimb.cli import main

from tests.helpers import raw_frame

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

cloudpickle = pytest.importorskip("cloudpickle")
# Functions defined here run on the workers, which cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

GRID = {"sampler": ["none", "over"], "loss": ["ce", "weighted_ce"]}


def tiny(**params):
    return ImbalancedTorchClassifier(max_epochs=2, batch_size=64, module__hidden_units=(8,),
                                     random_state=0, **params)


@pytest.fixture(scope="session")
def dask_client():
    """One cluster of two single-threaded worker processes for the whole session."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_grid_search_on_dask_equals_sequential(dask_client, data):
    X, y = data
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    sequential = GridSearchCV(tiny(), GRID, cv=cv, scoring="f1_macro").fit(X, y)
    with joblib.parallel_config("dask"):
        on_dask = GridSearchCV(tiny(), GRID, cv=cv, scoring="f1_macro", n_jobs=-1).fit(X, y)
    for key in ("params", "mean_test_score", "split0_test_score", "split1_test_score",
                "rank_test_score"):
        assert list(on_dask.cv_results_[key]) == list(sequential.cv_results_[key]), key
    assert np.array_equal(on_dask.predict_proba(X), sequential.predict_proba(X))


def _device_on_worker():
    return ImbalancedTorchClassifier().device, torch.cuda.is_available()


def test_device_auto_resolves_on_the_worker(dask_client):
    device, cuda = dask_client.submit(_device_on_worker, pure=False).result()
    assert device == ("cuda" if cuda else "cpu")


def test_model_fitted_on_a_worker_predicts_on_the_client(dask_client, data):
    X, y = data
    future = dask_client.submit(tiny().fit, X, y, pure=False)
    worker_proba = dask_client.submit(lambda model: model.predict_proba(X), future).result()
    model = future.result()
    assert model.get_params()["device"] == "auto"
    assert model.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert np.array_equal(model.predict_proba(X), worker_proba)
    assert np.array_equal(model.predict(X), tiny().fit(X, y).predict(X))


def test_compare_runs_its_grid_on_the_cluster(dask_client, tmp_path):
    main(["compare", "--n-samples", "300", "--max-epochs", "1", "--cv", "2", "--no-plots",
          "--scheduler", dask_client.scheduler.address, "--out", str(tmp_path / "dask")])
    main(["compare", "--n-samples", "300", "--max-epochs", "1", "--cv", "2", "--no-plots",
          "--out", str(tmp_path / "local")])
    on_dask = pd.read_csv(tmp_path / "dask" / "ranking.csv").drop(columns="seconds")
    local = pd.read_csv(tmp_path / "local" / "ranking.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(on_dask, local)


def test_grid_search_on_dask_takes_a_raw_table(dask_client):
    X, y = raw_frame(200)  # text, category, datetime, Int64 and NaN columns
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    grid = {"sampler": ["none", "over"]}
    sequential = GridSearchCV(tiny(), grid, cv=cv, scoring="f1_macro").fit(X, y)
    with joblib.parallel_config("dask"):
        on_dask = GridSearchCV(tiny(), grid, cv=cv, scoring="f1_macro", n_jobs=-1).fit(X, y)
    assert list(on_dask.cv_results_["mean_test_score"]) == list(
        sequential.cv_results_["mean_test_score"])
    assert np.array_equal(on_dask.predict_proba(X), sequential.predict_proba(X))
