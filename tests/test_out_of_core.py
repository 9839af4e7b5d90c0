"""Out-of-core training: ``partial_fit`` over a memory-mapped file, chunk by chunk.

The data live in ``.npy`` files opened as ``numpy.memmap``; training reads
one chunk at a time. Streaming must reach the quality of ``fit`` on the same
data loaded in memory, and the memory it allocates must stay a small
multiple of one chunk, never approaching the size of the data.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from skgd import GDRegressor, MLPGDClassifier

N_SAMPLES, N_FEATURES, CHUNK = 20_000, 10, 1_000
COEF = np.linspace(-2.0, 2.0, N_FEATURES)


def _block(rng, n_samples):
    """Unscaled features (spreads 1 to 10, centred on 3) and both targets."""
    X = 3.0 + rng.normal(size=(n_samples, N_FEATURES)) * np.arange(1, N_FEATURES + 1)
    signal = X @ COEF
    y = signal + 2.0 + rng.normal(size=n_samples)
    labels = (signal > 3.0 * COEF.sum()).astype(np.int64)
    return X, y, labels


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The training data on disk, written chunk by chunk, and a test set."""
    directory = tmp_path_factory.mktemp("out_of_core")
    paths = {name: directory / f"{name}.npy" for name in ("X", "y", "labels")}
    arrays = {
        "X": np.lib.format.open_memmap(
            paths["X"], mode="w+", dtype=np.float64, shape=(N_SAMPLES, N_FEATURES)
        ),
        "y": np.lib.format.open_memmap(
            paths["y"], mode="w+", dtype=np.float64, shape=(N_SAMPLES,)
        ),
        "labels": np.lib.format.open_memmap(
            paths["labels"], mode="w+", dtype=np.int64, shape=(N_SAMPLES,)
        ),
    }
    rng = np.random.RandomState(0)
    for start in range(0, N_SAMPLES, CHUNK):
        for name, block in zip(arrays, _block(rng, CHUNK), strict=True):
            arrays[name][start : start + CHUNK] = block
    for array in arrays.values():
        array.flush()
    del arrays
    return paths, _block(np.random.RandomState(1), 5_000)


def _open(paths):
    arrays = {name: np.load(path, mmap_mode="r") for name, path in paths.items()}
    assert all(isinstance(a, np.memmap) for a in arrays.values())
    return arrays


def _stream(est, X, y, n_passes, **first_call):
    """Train over the file chunk by chunk, ``n_passes`` times."""
    for _ in range(n_passes):
        for start in range(0, len(y), CHUNK):
            est.partial_fit(
                X[start : start + CHUNK], y[start : start + CHUNK], **first_call
            )
            first_call = {}
    return est


def _fit_in_memory(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(np.asarray(X), np.asarray(y))


def test_streamed_regressor_matches_fit_in_memory(files):
    paths, (X_test, y_test, _) = files
    data = _open(paths)
    streamed = _stream(GDRegressor(random_state=0), data["X"], data["y"], n_passes=5)
    fitted = _fit_in_memory(GDRegressor(random_state=0), data["X"], data["y"])
    r2_streamed = r2_score(y_test, streamed.predict(X_test))
    r2_fitted = r2_score(y_test, fitted.predict(X_test))
    # Tolerance: R² within 0.002 of fit's, coefficients within 0.05.
    assert r2_fitted > 0.99
    assert abs(r2_streamed - r2_fitted) < 0.002
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, atol=0.05)
    np.testing.assert_allclose(streamed.coef_, COEF, atol=0.05)
    assert streamed.n_iter_ == 5 * N_SAMPLES // CHUNK


def test_streamed_classifier_matches_fit_in_memory(files):
    paths, (X_test, _, labels_test) = files
    data = _open(paths)
    params = dict(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0)
    streamed = _stream(
        MLPGDClassifier(**params),
        data["X"],
        data["labels"],
        n_passes=4,
        classes=np.array([0, 1]),
    )
    fitted = _fit_in_memory(
        MLPGDClassifier(max_iter=20, **params), data["X"], data["labels"]
    )
    accuracy_streamed = accuracy_score(labels_test, streamed.predict(X_test))
    accuracy_fitted = accuracy_score(labels_test, fitted.predict(X_test))
    # Tolerance: accuracy within 0.02 of fit's.
    assert accuracy_fitted > 0.95
    assert accuracy_streamed > accuracy_fitted - 0.02


def _classifier():
    return MLPGDClassifier(hidden_layer_sizes=(16,), random_state=0)


@pytest.mark.parametrize("kind", ["GDRegressor", "MLPGDClassifier"])
def test_streaming_memory_is_a_small_multiple_of_the_chunk(files, kind):
    paths, _ = files
    data = _open(paths)
    if kind == "GDRegressor":
        est, target, first_call = GDRegressor(random_state=0), data["y"], {}
    else:
        est, target = _classifier(), data["labels"]
        first_call = {"classes": np.array([0, 1])}
    chunk_bytes = CHUNK * N_FEATURES * data["X"].itemsize
    bound = 5 * chunk_bytes
    # The bound must be far below what holding the data in memory would take.
    assert bound < data["X"].nbytes / 3
    # The first call sets the model up; measure the steady state after it.
    est.partial_fit(data["X"][:CHUNK], target[:CHUNK], **first_call)
    tracemalloc.start()
    try:
        _stream(est, data["X"], target, n_passes=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert chunk_bytes / 10 < peak < bound, (peak, chunk_bytes)
