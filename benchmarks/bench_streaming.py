"""Out-of-core training: ``partial_fit`` over a memory-mapped file, chunk by chunk.

A regression problem is written to a ``.npy`` file chunk by chunk (so it is
never whole in memory while it is made), then opened with
``numpy.load(mmap_mode="r")``. ``GDRegressor`` is trained by calling
``partial_fit`` on consecutive row chunks of the memory map, for a few passes,
while ``tracemalloc`` records the peak of what the calls allocate. The same
estimator fitted with ``fit`` on the data loaded into memory is the
reference for quality (test R² on held-out rows made the same way).

The point is the memory: a stream's peak should be a small multiple of one
chunk, however large the file, and the quality that of an in-memory fit.
"""

import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from skgd import GDRegressor

from ._common import Report, fmt, fmt_bytes, ratio, timed

NAME = "streaming"
FULL = {"n_samples": 1_000_000, "n_features": 50, "chunk": 20_000, "passes": 3}
QUICK = {"n_samples": 20_000, "n_features": 10, "chunk": 2_000, "passes": 2}
N_TEST = 20_000
# The target: the stream's peak allocation is at most this many chunks.
PEAK_CHUNKS = 5


def write_problem(path, n_samples, n_features, chunk, seed=0):
    """Write X (n_samples × n_features, float64) and y to ``path``; return w."""
    rng = np.random.RandomState(seed)
    w = rng.normal(size=n_features)
    X = np.lib.format.open_memmap(
        path / "X.npy", mode="w+", dtype=np.float64, shape=(n_samples, n_features)
    )
    y = np.lib.format.open_memmap(
        path / "y.npy", mode="w+", dtype=np.float64, shape=(n_samples,)
    )
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        block = rng.normal(size=(stop - start, n_features))
        X[start:stop] = block
        y[start:stop] = block @ w + 0.5 * rng.normal(size=stop - start)
    X.flush()
    y.flush()
    del X, y
    return w


def test_data(w, seed=1):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_TEST, w.size))
    return X, X @ w + 0.5 * rng.normal(size=N_TEST)


def stream(X, y, chunk, passes):
    """Train by partial_fit over row chunks; return (estimator, seconds, peak)."""
    estimator = GDRegressor(random_state=0)
    seconds = 0.0
    tracemalloc.start()
    try:
        for _ in range(passes):
            for start in range(0, X.shape[0], chunk):
                begin = time.perf_counter()
                estimator.partial_fit(
                    X[start : start + chunk], y[start : start + chunk]
                )
                seconds += time.perf_counter() - begin
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return estimator, seconds, peak


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    n, d = config["n_samples"], config["n_features"]
    chunk, passes = config["chunk"], config["passes"]
    report = Report(NAME, "Out-of-core training from a memory-mapped file", mode)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        w = write_problem(folder, n, d, chunk)
        X = np.load(folder / "X.npy", mmap_mode="r")
        y = np.load(folder / "y.npy", mmap_mode="r")
        X_test, y_test = test_data(w)
        streamed, stream_seconds, stream_peak = stream(X, y, chunk, passes)
        stream_r2 = r2_score(y_test, streamed.predict(X_test))
        X_memory, y_memory = np.array(X), np.array(y)
        del X, y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_seconds, fitted = timed(GDRegressor(random_state=0).fit, X_memory, y_memory)
    fit_r2 = r2_score(y_test, fitted.predict(X_test))
    chunk_bytes = chunk * d * X_memory.itemsize
    file_bytes = X_memory.nbytes
    report.text(
        f"`y = X @ w + 0.5 ε`, X standard normal, {n} × {d} float64 written to a "
        f"`.npy` file ({fmt_bytes(file_bytes)}) and opened with "
        f"`np.load(mmap_mode='r')`. Streamed: `GDRegressor(random_state=0)`, "
        f"`partial_fit` on consecutive chunks of {chunk} rows "
        f"({fmt_bytes(chunk_bytes)}), {passes} passes. Reference: "
        "`GDRegressor(random_state=0).fit` on the data in memory. Test R² on "
        f"{N_TEST} held-out rows. Peak = tracemalloc peak over all the "
        "partial_fit calls (what they allocate; the memory map's pages are the "
        "operating system's cache, not the process's allocations)."
    )
    rows = [
        [
            f"partial_fit over the memory map, {passes} passes",
            fmt(stream_seconds),
            fmt(stream_r2, ".5f"),
            fmt_bytes(stream_peak),
            fmt(stream_peak / chunk_bytes, ".2f"),
            fmt(stream_peak / file_bytes, ".4f"),
        ],
        [
            f"fit in memory ({fitted.n_iter_} epochs)",
            fmt(fit_seconds),
            fmt(fit_r2, ".5f"),
            "—",
            "—",
            "—",
        ],
    ]
    report.table(
        ["Training", "seconds", "test R²", "peak", "peak / chunk", "peak / file"],
        rows,
    )
    met = stream_peak <= PEAK_CHUNKS * chunk_bytes and stream_r2 >= fit_r2 - 0.001
    report.target(
        f"streaming keeps the peak allocation within {PEAK_CHUNKS} chunks and "
        "reaches the in-memory fit's test R² (within 0.001)",
        met,
        f"peak {ratio(stream_peak, chunk_bytes):.2f} chunks, R² {stream_r2:.5f} "
        f"vs {fit_r2:.5f}",
    )
    return report
