"""How GDRegressor's fit time and memory grow with the number of samples.

``GDRegressor(max_iter=5, tol=None)`` (default batch size 200) on
``make_regression(n_samples=n, n_features=50)`` for n = 10⁴, 10⁵ and 10⁶,
next to ``SGDRegressor(max_iter=5, tol=None)``. The slope of log(time)
against log(n) is 1 for a cost linear in n. Peak memory is the
``tracemalloc`` peak of a separate, untimed fit call: what the fit allocates
on top of X, as a multiple of ``X.nbytes`` (1.0 = one extra copy of X).
"""

import warnings

import numpy as np
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

from skgd import GDRegressor

from ._common import (
    Report,
    fmt,
    fmt_bytes,
    interleaved,
    median,
    peak_memory,
    pyplot,
    ratio,
    save_figure,
    timed,
)

NAME = "scaling"
FULL = {"n_samples": (10_000, 100_000, 1_000_000), "n_features": 50}
QUICK = {"n_samples": (1_000, 4_000, 16_000), "n_features": 20}
EPOCHS = 5
ESTIMATORS = {
    "GDRegressor": lambda: GDRegressor(max_iter=EPOCHS, tol=None, random_state=0),
    "SGDRegressor": lambda: SGDRegressor(max_iter=EPOCHS, tol=None, random_state=0),
}


def fit_seconds(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return timed(make().fit, X, y)[0]


def fit_peak(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return peak_memory(make().fit, X, y)


def measure(n_samples, n_features, repeats):
    """Median fit seconds and peak bytes of each estimator on one size."""
    X, y = make_regression(
        n_samples=n_samples, n_features=n_features, noise=10.0, random_state=0
    )
    results = interleaved(
        {
            name: (lambda make=make: fit_seconds(make, X, y))
            for name, make in ESTIMATORS.items()
        },
        repeats,
    )
    seconds = {name: median(values) for name, values in results.items()}
    peaks = {name: fit_peak(make, X, y) for name, make in ESTIMATORS.items()}
    return seconds, peaks, X.nbytes


def slope(sizes, seconds):
    """Least-squares slope of log(seconds) against log(n)."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    sizes, n_features = config["n_samples"], config["n_features"]
    measured = [measure(n, n_features, mode.repeats) for n in sizes]
    report = Report(NAME, "Scaling with the number of samples", mode)
    report.text(
        f"`make_regression(n_samples=n, n_features={n_features}, noise=10, "
        f"random_state=0)`, float64; {EPOCHS} epochs, `tol=None`, default batch "
        "size (200 for GDRegressor, 1 for SGDRegressor). Peak = tracemalloc "
        "peak of a separate fit call, on top of X."
    )
    rows = []
    for n, (seconds, peaks, nbytes) in zip(sizes, measured, strict=True):
        rows.append(
            [
                str(n),
                fmt_bytes(nbytes),
                fmt(seconds["GDRegressor"]),
                fmt(seconds["SGDRegressor"]),
                fmt(ratio(seconds["GDRegressor"], seconds["SGDRegressor"]), ".2f"),
                fmt_bytes(peaks["GDRegressor"]),
                fmt(peaks["GDRegressor"] / nbytes, ".3f"),
                fmt(peaks["SGDRegressor"] / nbytes, ".3f"),
            ]
        )
    columns = ["n", "X.nbytes", "GDRegressor s", "SGDRegressor s", "ratio"]
    columns += ["GD peak", "GD peak / X.nbytes", "SGD peak / X.nbytes"]
    report.table(columns, rows)
    slopes = {name: slope(sizes, [m[0][name] for m in measured]) for name in ESTIMATORS}
    report.table(
        ["Estimator", "slope of log time vs log n"],
        [[name, fmt(value, ".3f")] for name, value in slopes.items()],
    )
    worst_peak = max(m[1]["GDRegressor"] / m[2] for m in measured)
    report.target(
        "GDRegressor's fit time is linear in n (slope ≤ 1.1) and the fit holds "
        "at most one extra copy of X (peak ≤ 1 × X.nbytes)",
        slopes["GDRegressor"] <= 1.1 and worst_peak <= 1.0,
        f"slope {slopes['GDRegressor']:.3f}, largest peak {worst_peak:.3f} × X.nbytes",
    )
    plot(report, sizes, measured, out_dir)
    return report


def plot(report, sizes, measured, out_dir):
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in ESTIMATORS:
        ax.plot(sizes, [m[0][name] for m in measured], "-o", label=name)
    ax.set(xscale="log", yscale="log", xlabel="n_samples", ylabel="fit seconds")
    ax.set_title(f"Fit time, {EPOCHS} epochs")
    ax.legend()
    save_figure(report, fig, out_dir, "scaling.png")
