"""MLPGDClassifier against scikit-learn's MLPClassifier.

The same network, ``hidden_layer_sizes=(128, 64)`` with ReLU, trained by Adam
(learning rate 0.001) on batches of 200 for exactly 10 epochs (stopping
disabled in both: ``tol=None`` for skgd; ``tol=0`` and a huge
``n_iter_no_change`` for scikit-learn), ``random_state=0``, on
``make_classification(n_samples=100_000, n_features=50, n_informative=30,
n_classes=5)`` split 75/25, in float64 and in float32. Then both estimators'
defaults on the bundled digits data (X / 16, 75/25 split), and on the raw
wine and breast cancer features, alone and in a ``StandardScaler`` pipeline,
and streamed through ``partial_fit`` on digits in chunks of 300 rows.

Last, the cost of one epoch of ``MLPGDClassifier`` on its compiled backend
and on the NumPy reference loop (``skgd.training._loop.reference_epochs``), for
batch sizes 1, 8, 32 and 256: ``hidden_layer_sizes=(100,)``, Adam, on
``make_classification(20_000, 50, n_informative=30, n_classes=5)`` in
float64 and float32, batch sizes 1 and 8 on the first 4,000 rows only (their
epochs are long, and a cost per row needs no more). The cost is marginal, as
in the ``epoch_cost`` benchmark: (fit time with ``max_iter=3`` − fit time with
``max_iter=1``) / 2, so a fit's set-up cancels out. This section adds about
15 seconds to the full run.
"""

import functools
import time
import warnings
from contextlib import nullcontext

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skgd import MLPGDClassifier
from skgd.training._loop import reference_epochs

from ._common import (
    Report,
    classification_split,
    fmt,
    fmt_bytes,
    interleaved,
    median,
    peak_memory,
    ratio,
    raw_feature_section,
    timed,
)

NAME = "mlp"
HIDDEN = (128, 64)
FULL = {
    "n_samples": 100_000,
    "epochs": 10,
    "digits_max_iter": None,
    "stream_passes": 30,
}
QUICK = {"n_samples": 2_000, "epochs": 2, "digits_max_iter": 5, "stream_passes": 2}
# Streaming digits: rows per partial_fit chunk; the accuracy slack.
STREAM_CHUNK = 300
STREAM_SLACK = 0.005

# The epoch-cost section: rows of the data, and the first rows that batch
# sizes 1 and 8 run on; k2 - k1 of the marginal cost.
EPOCH_FULL = {"n_samples": 20_000, "small": 4_000, "extra": 2}
EPOCH_QUICK = {"n_samples": 2_000, "small": 400, "extra": 1}
EPOCH_BATCH_SIZES = (1, 8, 32, 256)
SMALL_BATCHES = (1, 8)
# Raw features: test accuracy within this much of the StandardScaler pipeline's.
RAW_ACCURACY_SLACK = 0.01
# The smallest speed-up of the compiled epoch over the NumPy loop, per batch size.
EPOCH_TARGETS = {32: 1.5}


def estimators(epochs):
    """The two same-architecture estimators, as factories."""
    common = {"hidden_layer_sizes": HIDDEN, "batch_size": 200, "max_iter": epochs}
    common |= {"alpha": 1e-4, "random_state": 0}
    return {
        "MLPGDClassifier": lambda: MLPGDClassifier(
            optimizer="adam", learning_rate=0.001, tol=None, **common
        ),
        "MLPClassifier": lambda: MLPClassifier(
            solver="adam",
            learning_rate_init=0.001,
            tol=0.0,
            n_iter_no_change=10**6,
            early_stopping=False,
            **common,
        ),
    }


def fit_and_score(make, data):
    """Time ``fit``; return seconds, test accuracy, epochs and weight dtype."""
    X_train, X_test, y_train, y_test = data
    estimator = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(estimator.fit, X_train, y_train)
    accuracy = float(np.mean(estimator.predict(X_test) == y_test))
    dtype = estimator.coefs_[0].dtype.name
    return seconds, accuracy, estimator.n_iter_, dtype


def compare(makers, data, repeats):
    """Interleaved timings; returns ``{name: (seconds, accuracy, epochs, dtype)}``."""
    results = interleaved(
        {
            name: (lambda make=make: fit_and_score(make, data))
            for name, make in makers.items()
        },
        repeats,
    )
    return {
        name: (median(r[0] for r in runs), *runs[0][1:])
        for name, runs in results.items()
    }


def fit_peak(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return peak_memory(make().fit, X, y)


def synthetic_section(report, config, makers, repeats):
    """Float64 and float32 rows; returns the ratio and accuracy gap per dtype."""
    rows, outcome = [], {}
    for dtype in (np.float64, np.float32):
        data = classification_split(config["n_samples"], dtype)
        results = compare(makers, data, repeats)
        skgd, ref = results["MLPGDClassifier"], results["MLPClassifier"]
        time_ratio, gap = ratio(skgd[0], ref[0]), skgd[1] - ref[1]
        outcome[np.dtype(dtype).name] = (time_ratio, gap)
        peaks = {
            name: fit_peak(make, data[0], data[2])
            for name, make in estimators(1).items()
        }
        for name, (seconds, accuracy, epochs, weights) in results.items():
            rows.append(
                [
                    name,
                    np.dtype(dtype).name,
                    weights,
                    str(epochs),
                    fmt(seconds),
                    fmt(accuracy, ".4f"),
                    fmt(time_ratio if name == "MLPGDClassifier" else 1.0, ".2f"),
                    fmt(gap if name == "MLPGDClassifier" else 0.0, "+.4f"),
                    fmt(peaks[name] / data[0].nbytes, ".2f"),
                    fmt_bytes(peaks[name]),
                ]
            )
    columns = ["Estimator", "X dtype", "weights dtype", "epochs", "fit s"]
    columns += ["test accuracy", "time × MLPClassifier", "accuracy − MLPClassifier"]
    report.table(
        [*columns, "peak / X.nbytes", "peak"],
        rows,
        f"## make_classification, {config['n_samples']} samples, "
        f"hidden_layer_sizes={HIDDEN}, Adam, batch_size=200, "
        f"{config['epochs']} epochs\n\n"
        "Peak = tracemalloc peak of a separate one-epoch fit call, on top of the "
        "data (the training buffers do not grow with the epochs).",
    )
    return outcome


def digits_section(report, config, repeats):
    X, y = load_digits(return_X_y=True)
    data = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    params = {"random_state": 0}
    if config["digits_max_iter"]:
        params["max_iter"] = config["digits_max_iter"]
    makers = {
        "MLPGDClassifier": lambda: MLPGDClassifier(**params),
        "MLPClassifier": lambda: MLPClassifier(**params),
    }
    results = compare(makers, data, repeats)
    reference = results["MLPClassifier"][0]
    rows = [
        [
            name,
            str(epochs),
            fmt(seconds),
            fmt(ratio(seconds, reference), ".2f"),
            fmt(acc, ".4f"),
        ]
        for name, (seconds, acc, epochs, _) in results.items()
    ]
    settings = ", ".join(f"{k}={v}" for k, v in params.items())
    report.table(
        ["Estimator", "epochs", "fit s", "time × MLPClassifier", "test accuracy"],
        rows,
        f"## Defaults on digits (X / 16, 75/25 split; {settings})",
    )


def streaming_section(report, config):
    """partial_fit over chunks of digits: test accuracy after the passes."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=0
    )
    chunks = [
        slice(start, start + STREAM_CHUNK)
        for start in range(0, len(X_train), STREAM_CHUNK)
    ]
    rows, scores = [], {}
    for name, make in {
        "MLPGDClassifier": lambda: MLPGDClassifier(random_state=0),
        "MLPClassifier": lambda: MLPClassifier(random_state=0),
    }.items():
        estimator = make()
        begin = time.perf_counter()
        for _ in range(config["stream_passes"]):
            for chunk in chunks:
                estimator.partial_fit(
                    X_train[chunk], y_train[chunk], classes=np.arange(10)
                )
        seconds = time.perf_counter() - begin
        scores[name] = estimator.score(X_test, y_test)
        rows.append([name, fmt(seconds), fmt(scores[name], ".4f")])
    report.table(
        ["Estimator", "s", "test accuracy"],
        rows,
        f"## Streaming digits: partial_fit on chunks of {STREAM_CHUNK} rows, "
        f"{config['stream_passes']} passes (defaults, random_state=0)",
    )
    gap = scores["MLPGDClassifier"] - scores["MLPClassifier"]
    report.target(
        "streaming digits: MLPGDClassifier's test accuracy ≥ MLPClassifier's − "
        f"{STREAM_SLACK}",
        gap >= -STREAM_SLACK,
        f"difference {gap:+.4f}",
    )


def epoch_seconds(X, y, batch_size, extra, reference):
    """Marginal seconds per epoch: fits of 1 and ``1 + extra`` epochs."""
    seconds = []
    for max_iter in (1, 1 + extra):
        estimator = MLPGDClassifier(
            (100,),
            optimizer="adam",
            learning_rate=0.001,
            batch_size=batch_size,
            max_iter=max_iter,
            tol=None,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with reference_epochs() if reference else nullcontext():
                seconds.append(timed(estimator.fit, X, y)[0])
    per_epoch = (seconds[1] - seconds[0]) / extra
    return per_epoch if per_epoch > 0 else None  # None: lost in the noise


def epoch_section(report, config, repeats):
    """The compiled epoch against the NumPy loop; returns the speed-ups."""
    X, y = make_classification(
        n_samples=config["n_samples"],
        n_features=50,
        n_informative=30,
        n_classes=5,
        random_state=0,
    )
    rows, speedups = [], {}
    for dtype in (np.float64, np.float32):
        for batch_size in EPOCH_BATCH_SIZES:
            n = config["small"] if batch_size in SMALL_BATCHES else len(X)
            measure = functools.partial(
                epoch_seconds, X[:n].astype(dtype), y[:n], batch_size, config["extra"]
            )
            runs = interleaved(
                {
                    "compiled": functools.partial(measure, False),
                    "loop": functools.partial(measure, True),
                },
                repeats,
            )
            compiled, loop = median(runs["compiled"]), median(runs["loop"])
            speedup = ratio(loop, compiled)
            speedups[np.dtype(dtype).name, batch_size] = (speedup, compiled, loop)
            steps = n // batch_size
            rows.append(
                [
                    np.dtype(dtype).name,
                    str(batch_size),
                    str(n),
                    fmt(compiled, ".4f"),
                    fmt(loop, ".4f"),
                    fmt(None if compiled is None else compiled / steps * 1e6, ".1f"),
                    fmt(None if loop is None else loop / steps * 1e6, ".1f"),
                    fmt(speedup, ".2f"),
                ]
            )
    columns = ["X dtype", "batch_size", "rows", "compiled s / epoch"]
    columns += ["NumPy loop s / epoch", "compiled µs / step", "NumPy loop µs / step"]
    report.table(
        [*columns, "speed-up"],
        rows,
        "## One epoch of MLPGDClassifier: compiled against the NumPy loop\n\n"
        f"`make_classification({config['n_samples']}, 50, n_informative=30, "
        "n_classes=5)`, `hidden_layer_sizes=(100,)`, Adam, learning rate 0.001; "
        f"batch sizes {' and '.join(map(str, SMALL_BATCHES))} on the first "
        f"{config['small']} rows. Seconds per epoch = (fit time with "
        f"`max_iter={1 + config['extra']}` − fit time with `max_iter=1`) / "
        f"{config['extra']}, the NumPy loop forced with "
        "`skgd.training._loop.reference_epochs()`; — means the difference was lost "
        "in the timer's noise.",
    )
    return speedups


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    report = Report(NAME, "MLPGDClassifier vs MLPClassifier", mode)
    makers = estimators(config["epochs"])
    outcome = synthetic_section(report, config, makers, mode.repeats)
    digits_section(report, config, mode.repeats)
    streaming_section(report, config)
    raw_feature_section(
        report,
        {
            "load_wine": load_wine(return_X_y=True),
            "load_breast_cancer": load_breast_cancer(return_X_y=True),
        },
        lambda: MLPGDClassifier(random_state=0),
        lambda: MLPClassifier(random_state=0),
        "accuracy",
        RAW_ACCURACY_SLACK,
    )
    speedups = epoch_section(
        report, EPOCH_QUICK if mode.quick else EPOCH_FULL, mode.repeats
    )
    for dtype, limit in (("float64", 0.6), ("float32", 0.4)):
        time_ratio, gap = outcome[dtype]
        report.target(
            f"{dtype}: MLPGDClassifier takes ≤ {limit} × MLPClassifier's time "
            "with test accuracy within 0.005",
            time_ratio <= limit and abs(gap) <= 0.005,
            f"{fmt(time_ratio, '.2f')} ×, accuracy difference {gap:+.4f}",
        )
    for (dtype, batch_size), (speedup, compiled, loop) in speedups.items():
        least = EPOCH_TARGETS.get(batch_size)
        if least is None:
            continue
        report.target(
            f"{dtype}: a batch_size={batch_size} epoch is ≥ {least} × faster on "
            "the compiled backend than on the NumPy loop",
            None if speedup is None else speedup >= least,
            f"{fmt(speedup, '.2f')} ×: {fmt(compiled, '.4f')} s against "
            f"{fmt(loop, '.4f')} s per epoch",
        )
    return report
