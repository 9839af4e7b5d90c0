"""Training on dask arrays with dask-ml, and grid searches on a dask cluster.

Skipped when dask, distributed or dask-ml is missing, or when dask-ml cannot
be imported with the installed scikit-learn. The cluster runs in this
process (one worker, one thread) and is closed after the tests.
"""

import contextlib
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV

from skgd import GDClassifier, GDRegressor, MLPGDClassifier, MLPGDRegressor

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

try:
    from dask_ml.wrappers import Incremental
except ModuleNotFoundError:
    pytest.skip("dask-ml is not installed", allow_module_level=True)
except Exception as exc:  # an incompatible release fails in other ways
    pytest.skip(
        f"dask-ml cannot be imported with scikit-learn {sklearn.__version__}: "
        f"{type(exc).__name__}: {exc}",
        allow_module_level=True,
    )


CHUNK = 250


@contextlib.contextmanager
def _local_client(threads):
    """A cluster in this process with one worker, and a client of it."""
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=threads,
        processes=False,
        dashboard_address="127.0.0.1:0",  # any free port, on this machine only
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def client():
    with _local_client(threads=1) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2_000, 5))
    signal = X @ [1.0, -2.0, 3.0, 0.0, 0.5]
    y = signal + 2.0 + 0.1 * rng.normal(size=2_000)
    labels = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    return X, y, labels


def _chunked(*arrays):
    return [da.from_array(a, chunks=(CHUNK,) + a.shape[1:]) for a in arrays]


def test_incremental_network_regressor(client, data):
    X, y, _ = data
    dX, dy = _chunked(X, y)
    est = MLPGDRegressor((16,), learning_rate=0.01, random_state=0)
    inc = Incremental(est, shuffle_blocks=False)
    for _ in range(10):
        inc.partial_fit(dX, dy)
    assert r2_score(y, inc.predict(dX).compute()) > 0.98


def test_incremental_regressor_on_a_chunked_dask_array(client, data):
    X, y, _ = data
    dX, dy = _chunked(X, y)
    inc = Incremental(GDRegressor(random_state=0), shuffle_blocks=False)
    for _ in range(3):
        inc.partial_fit(dX, dy)
    predictions = inc.predict(dX)
    assert isinstance(predictions, da.Array)
    # dask-ml's own r2_score fails with dask >= 2025.2 (dask/dask-ml#1012),
    # so the score is computed by scikit-learn on the gathered predictions.
    assert r2_score(y, predictions.compute()) > 0.99
    # The blocks went through partial_fit in order: that is exactly a plain
    # loop over the same chunks in memory.
    loop = GDRegressor(random_state=0)
    for _ in range(3):
        for start in range(0, len(y), CHUNK):
            loop.partial_fit(X[start : start + CHUNK], y[start : start + CHUNK])
    np.testing.assert_array_equal(inc.estimator_.coef_, loop.coef_)
    np.testing.assert_array_equal(inc.estimator_.intercept_, loop.intercept_)


@pytest.mark.parametrize("kind", ["MLPGDClassifier", "GDClassifier"])
def test_incremental_classifier_on_a_chunked_dask_array(client, data, kind):
    X, _, labels = data
    dX, dlabels = _chunked(X, labels)
    if kind == "MLPGDClassifier":
        est = MLPGDClassifier(
            hidden_layer_sizes=(8,), learning_rate=0.05, random_state=0
        )
    else:
        est = GDClassifier(random_state=0)
    inc = Incremental(est, scoring="accuracy", random_state=0)
    for _ in range(5):
        inc.partial_fit(dX, dlabels, classes=[0, 1, 2])
    assert inc.score(dX, dlabels) > 0.9
    proba = inc.predict_proba(dX).compute()
    assert proba.shape == (len(labels), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert accuracy_score(labels, inc.predict(dX).compute()) > 0.9


def _search(est, grid):
    return GridSearchCV(est, grid, cv=3, n_jobs=-1)


@pytest.mark.parametrize("kind", ["GDRegressor", "MLPGDClassifier"])
def test_grid_search_on_the_dask_backend(data, kind):
    X, y, labels = data
    if kind == "GDRegressor":
        est = GDRegressor(random_state=0)
        grid = {"optimizer": ["sgd", "adam"], "alpha": [1e-4, 1e-1]}
        target = y
    else:
        est = MLPGDClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
        grid = {"learning_rate": [1e-3, 1e-2]}
        target = labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # joblib runs in the calling process when the backend offers a
        # single thread, so the cluster needs two for the search to use it.
        with _local_client(threads=2) as client:
            with distributed.get_task_stream(client) as tasks:
                with joblib.parallel_backend("dask"):
                    on_dask = _search(est, grid).fit(X, target)
        local = _search(est, grid).set_params(n_jobs=1).fit(X, target)
    assert tasks.data, "the search ran no task on the cluster"
    assert on_dask.best_score_ > 0.9
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
