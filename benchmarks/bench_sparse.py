"""GDRegressor against SGDRegressor on sparse CSR data.

X is ``scipy.sparse.random(100_000, 10_000, density=0.001, format="csr",
random_state=np.random.default_rng(0))`` (uniform values, about 10
non-zeros per row), ``y = X @ w + 0.1 * noise`` with ``w`` standard normal,
split 75/25. Both estimators' defaults are timed with a plain ``fit()``;
then, at equal accuracy, the epoch-wise time for each to reach the lower of
the two final test R² (minus 0.001). The ``tracemalloc`` peak of a fit
confirms that X is never densified.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from skgd import GDRegressor

from ._common import (
    Report,
    fmt,
    fmt_bytes,
    interleaved,
    median,
    peak_memory,
    ratio,
    run_to_target,
    timed,
)

NAME = "sparse"
FULL = {"shape": (100_000, 10_000), "density": 0.001, "max_epochs": 400}
QUICK = {"shape": (3_000, 500), "density": 0.02, "max_epochs": 300}
TOLERANCE = 0.001
ESTIMATORS = {
    "GDRegressor()": lambda: GDRegressor(random_state=0),
    "SGDRegressor()": lambda: SGDRegressor(random_state=0),
}


def sparse_data(shape, density):
    # A Generator seed: with an integer (a legacy RandomState), scipy draws the
    # non-zero positions far more slowly (minutes at the full size).
    X = sp.random(
        *shape, density=density, format="csr", random_state=np.random.default_rng(0)
    )
    rng = np.random.RandomState(0)
    w = rng.normal(size=shape[1])
    y = X @ w + 0.1 * rng.normal(size=shape[0])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    return X_train.tocsr(), X_test.tocsr(), y_train, y_test


def sparse_nbytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def fit_and_score(make, data):
    X_train, X_test, y_train, y_test = data
    estimator = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(estimator.fit, X_train, y_train)
    return seconds, r2_score(y_test, estimator.predict(X_test)), estimator.n_iter_


def fit_peak(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return peak_memory(make().fit, X, y)


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    data = sparse_data(config["shape"], config["density"])
    X_train, y_train = data[0], data[2]
    fits = interleaved(
        {
            name: (lambda make=make: fit_and_score(make, data))
            for name, make in ESTIMATORS.items()
        },
        mode.repeats,
    )
    target = min(runs[0][1] for runs in fits.values()) - TOLERANCE
    curves = interleaved(
        {
            name: lambda make=make: run_to_target(
                make(), data, target, config["max_epochs"], 120.0
            )
            for name, make in ESTIMATORS.items()
        },
        mode.repeats,
    )
    dense_bytes = X_train.shape[0] * X_train.shape[1] * X_train.dtype.itemsize
    peaks = {
        name: fit_peak(make, X_train, y_train) for name, make in ESTIMATORS.items()
    }
    report = Report(NAME, "Sparse CSR regression", mode)
    report.text(
        f"`scipy.sparse.random({config['shape'][0]}, {config['shape'][1]}, "
        f"density={config['density']}, format='csr', "
        "random_state=np.random.default_rng(0))`, "
        "y = X @ w + 0.1 · N(0, 1), w ~ N(0, 1); 75/25 split "
        f"({X_train.shape[0]} training rows, {X_train.nnz} non-zeros, "
        f"{fmt_bytes(sparse_nbytes(X_train))} as CSR, "
        f"{fmt_bytes(dense_bytes)} if dense). Equal-accuracy target: test R² ≥ "
        f"{target:.4f} (the lower final R² of the two defaults, minus "
        f"{TOLERANCE}), reached epoch by epoch with partial_fit."
    )
    results_table(report, fits, curves, peaks, dense_bytes)
    return report


def check_target(report, fit_ratio, ttt_ratio, peak_ratio):
    report.target(
        "sparse: GDRegressor within 2 × SGDRegressor's time at equal R², "
        "without densifying X",
        ttt_ratio is not None and ttt_ratio <= 2.0 and peak_ratio < 0.1,
        f"to the common target: {fmt(ttt_ratio, '.2f')} ×; defaults fit(): "
        f"{fmt(fit_ratio, '.2f')} ×; fit peak {peak_ratio:.5f} × the dense size",
    )


def results_table(report, fits, curves, peaks, dense_bytes):
    """The table of both estimators, ratios to SGDRegressor; checks the target."""
    seconds = {name: median(r[0] for r in fits[name]) for name in ESTIMATORS}
    to_target = {
        name: median(c.seconds_to_target for c in curves[name]) for name in ESTIMATORS
    }
    sgd_fit, sgd_ttt = seconds["SGDRegressor()"], to_target["SGDRegressor()"]
    rows = [
        [
            name,
            fmt(seconds[name]),
            fmt(fits[name][0][1], ".4f"),
            str(fits[name][0][2]),
            fmt(ratio(seconds[name], sgd_fit), ".2f"),
            fmt(to_target[name], ".3f", "not reached"),
            fmt(curves[name][0].epochs_to_target, "d", "not reached"),
            fmt(ratio(to_target[name], sgd_ttt), ".2f"),
            fmt_bytes(peaks[name]),
            fmt(peaks[name] / dense_bytes, ".5f"),
        ]
        for name in ESTIMATORS
    ]
    columns = ["Estimator", "fit() s", "test R²", "epochs", "fit × SGD"]
    columns += ["s to target", "epochs to target", "to target × SGD"]
    report.table([*columns, "fit peak", "peak / dense X"], rows)
    check_target(
        report,
        ratio(seconds["GDRegressor()"], sgd_fit),
        ratio(to_target["GDRegressor()"], sgd_ttt),
        peaks["GDRegressor()"] / dense_bytes,
    )
