"""MLPGDRegressor against scikit-learn's MLPRegressor.

Both estimators with their defaults (one hidden layer of 100 ReLU units,
Adam, batches of 200, ``random_state=0``) on ``make_friedman1(n_samples=
20_000, noise=1.0)``, split 75/25 and standardised on the training part, in
float64 and in float32. The targets are left as they are (mean 14, spread
5; the noise caps the test R² near 0.958).

- ``fit()`` with ``max_iter=2000``, until each stops by itself: fit time,
  epochs and test R². One run each, as ``MLPRegressor`` alone takes about
  10 s a fit.
- Epoch by epoch with ``partial_fit``: the cumulative fit time until the
  test R² first reaches ``TARGET_R2``, the time at equal test R² (the
  median of the repetitions, interleaved).
- The marginal cost of an epoch of the defaults with batches of 32 and
  256, on the compiled backend and on the NumPy reference loop.
- Both estimators' defaults on raw features, alone and in a
  ``StandardScaler`` pipeline: the diabetes data in their original units
  (``scaled=False``), and ``make_friedman1`` with column ``j`` multiplied by
  ``logspace(-2, 3, 10)[j]``.
"""

import functools
import warnings

import numpy as np
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skgd import MLPGDRegressor
from skgd.training._loop import reference_epochs

from ._common import (
    Report,
    fmt,
    interleaved,
    median,
    ratio,
    raw_feature_section,
    run_to_target,
    timed,
)

NAME = "mlp_regression"
# The batch sizes of the compiled-against-NumPy epoch section.
EPOCH_BATCH_SIZES = (32, 256)
# Raw features: test R² within this much of the StandardScaler pipeline's.
RAW_R2_SLACK = 0.02
TARGET_R2 = 0.955
FULL = {
    "n_samples": 20_000,
    "max_iter": 2000,
    "max_epochs": 400,
    "target": TARGET_R2,
    "raw_friedman": 5_000,
}
QUICK = {
    "n_samples": 2_000,
    "max_iter": 5,
    "max_epochs": 3,
    "target": 0.5,
    "raw_friedman": 500,
}
#: A run to the target stops after this many seconds of fit time.
MAX_SECONDS = 40.0


def estimators(max_iter):
    """Both estimators with their defaults, as factories."""
    return {
        "MLPGDRegressor": lambda: MLPGDRegressor(max_iter=max_iter, random_state=0),
        "MLPRegressor": lambda: MLPRegressor(max_iter=max_iter, random_state=0),
    }


def friedman_data(n_samples, dtype):
    X, y = make_friedman1(n_samples=n_samples, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return (
        X_train.astype(dtype),
        X_test.astype(dtype),
        y_train.astype(dtype),
        y_test.astype(dtype),
    )


def epoch_seconds(X, y, batch_size, reference):
    """Marginal seconds of an epoch: (fit of 3 epochs - fit of 1) / 2."""
    seconds = []
    for max_iter in (1, 3):
        estimator = MLPGDRegressor(
            batch_size=batch_size, max_iter=max_iter, tol=None, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if reference:
                with reference_epochs():
                    seconds.append(timed(estimator.fit, X, y)[0])
            else:
                seconds.append(timed(estimator.fit, X, y)[0])
    per_epoch = (seconds[1] - seconds[0]) / 2
    return per_epoch if per_epoch > 0 else None  # None: lost in the noise


def epoch_section(report, datasets, repeats):
    """The compiled epoch against the NumPy loop; returns the speed-ups."""
    rows, speedups = [], {}
    for dtype, (X_train, _, y_train, _) in datasets.items():
        for batch_size in EPOCH_BATCH_SIZES:
            measure = functools.partial(epoch_seconds, X_train, y_train, batch_size)
            runs = interleaved(
                {
                    "compiled": functools.partial(measure, False),
                    "loop": functools.partial(measure, True),
                },
                repeats,
            )
            compiled, loop = median(runs["compiled"]), median(runs["loop"])
            speedups[dtype, batch_size] = speedup = ratio(loop, compiled)
            rows.append(
                [dtype, str(batch_size), fmt(compiled, ".4f"), fmt(loop, ".4f")]
                + [fmt(speedup, ".2f")]
            )
    report.table(
        ["X dtype", "batch_size", "compiled s / epoch", "NumPy loop s / epoch"]
        + ["speed-up"],
        rows,
        "## One epoch of MLPGDRegressor: compiled against the NumPy loop\n\n"
        "The defaults (one hidden layer of 100 units, Adam) on the training part; "
        "seconds per epoch = (fit time with `max_iter=3` − with `max_iter=1`) / "
        "2, the NumPy loop forced with `skgd.training._loop.reference_epochs()`; — "
        "means the difference was lost in the timer's noise.",
    )
    return speedups


def fit_section(report, config, datasets):
    """``fit()`` until each stops; returns the R² differences per dtype."""
    rows, gaps = [], {}
    for dtype, data in datasets.items():
        X_train, X_test, y_train, y_test = data
        results = {}
        for name, make in estimators(config["max_iter"]).items():
            estimator = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                seconds, _ = timed(estimator.fit, X_train, y_train)
            r2 = estimator.score(X_test, y_test)
            results[name] = (seconds, estimator.n_iter_, r2)
        ours, theirs = results["MLPGDRegressor"], results["MLPRegressor"]
        gaps[dtype] = ours[2] - theirs[2]
        for name, (seconds, epochs, r2) in results.items():
            mine = name == "MLPGDRegressor"
            rows.append(
                [
                    name,
                    dtype,
                    str(epochs),
                    fmt(seconds),
                    fmt(r2, ".4f"),
                    fmt(ratio(seconds, theirs[0]) if mine else 1.0, ".2f"),
                    fmt(gaps[dtype] if mine else 0.0, "+.4f"),
                ]
            )
    report.table(
        ["Estimator", "dtype", "epochs", "fit s", "test R²"]
        + ["time × MLPRegressor", "R² − MLPRegressor"],
        rows,
        f"## Defaults, fit() until each stops (max_iter={config['max_iter']}), "
        f"make_friedman1({config['n_samples']}), one run each",
    )
    return gaps


def target_section(report, config, datasets, repeats):
    """Epoch by epoch to the target R²; returns the time ratio per dtype."""
    rows, ratios = [], {}
    for dtype, data in datasets.items():
        runs = interleaved(
            {
                name: lambda make=make, data=data: run_to_target(
                    make(), data, config["target"], config["max_epochs"], MAX_SECONDS
                )
                for name, make in estimators(config["max_iter"]).items()
            },
            repeats,
        )
        seconds = {
            name: median(curve.seconds_to_target for curve in curves)
            for name, curves in runs.items()
        }
        ratios[dtype] = ratio(seconds["MLPGDRegressor"], seconds["MLPRegressor"])
        for name, curves in runs.items():
            mine = name == "MLPGDRegressor"
            rows.append(
                [
                    name,
                    dtype,
                    fmt(curves[0].epochs_to_target, "d"),
                    fmt(seconds[name]),
                    fmt(ratios[dtype] if mine else 1.0, ".2f"),
                    fmt(max(curves[0].r2, default=None), ".4f"),
                ]
            )
    report.table(
        ["Estimator", "dtype", "epochs to target", "seconds to target"]
        + ["time × MLPRegressor", "best test R²"],
        rows,
        f"## Time to test R² ≥ {config['target']}, epoch by epoch (partial_fit)\n\n"
        "Cumulative fit time (the median of the repetitions); the R² "
        "evaluations after each epoch are not counted. A run stops at the "
        f"target, after {config['max_epochs']} epochs or after "
        f"{MAX_SECONDS:.0f} s.",
    )
    return ratios


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    report = Report(NAME, "MLPGDRegressor vs MLPRegressor", mode)
    datasets = {
        np.dtype(dtype).name: friedman_data(config["n_samples"], dtype)
        for dtype in (np.float64, np.float32)
    }
    gaps = fit_section(report, config, datasets)
    X, y = make_friedman1(config["raw_friedman"], noise=1.0, random_state=0)
    raw_feature_section(
        report,
        {
            "load_diabetes(scaled=False)": load_diabetes(return_X_y=True, scaled=False),
            f"make_friedman1({config['raw_friedman']}), columns × logspace(-2, 3)": (
                X * np.logspace(-2, 3, X.shape[1]),
                y,
            ),
        },
        lambda: MLPGDRegressor(random_state=0),
        lambda: MLPRegressor(random_state=0),
        "R²",
        RAW_R2_SLACK,
    )
    ratios = target_section(report, config, datasets, mode.repeats)
    speedups = epoch_section(report, datasets, mode.repeats)
    for dtype in datasets:
        report.target(
            f"{dtype}: MLPGDRegressor's defaults reach a test R² within 0.01 of "
            "MLPRegressor's",
            abs(gaps[dtype]) <= 0.01,
            f"difference {gaps[dtype]:+.4f}",
        )
        time_ratio = ratios[dtype]
        report.target(
            f"{dtype}: MLPGDRegressor reaches test R² {config['target']} in "
            "≤ 0.5 × MLPRegressor's time",
            None if time_ratio is None else time_ratio <= 0.5,
            f"{fmt(time_ratio, '.2f')} ×",
        )
    for dtype in datasets:
        speedup = speedups[dtype, 32]
        report.target(
            f"{dtype}: a batch_size=32 epoch is ≥ 1.5 × faster on the compiled "
            "backend than on the NumPy loop",
            None if speedup is None else speedup >= 1.5,
            f"{fmt(speedup, '.2f')} ×",
        )
    return report
