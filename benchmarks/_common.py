"""Timing, memory, data, table and report helpers shared by the benchmarks.

Every timed figure is the median of ``mode.repeats`` repetitions. An skgd
estimator and its reference are measured in the same process, interleaved
(skgd, reference, skgd, reference, ...), so a ratio between them holds even
when the machine's speed drifts while the benchmark runs.
"""

import datetime
import functools
import gc
import os
import platform
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn import config_context
from sklearn.metrics import r2_score

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Mode:
    """How thoroughly to measure: ``quick`` (a smoke run) or ``full``."""

    name: str
    repeats: int

    @property
    def quick(self):
        return self.name == "quick"


QUICK = Mode("quick", repeats=1)
FULL = Mode("full", repeats=3)


# -- measuring ---------------------------------------------------------------


def timed(func, *args, **kwargs):
    """Return ``(seconds, result)`` of one call, garbage collected beforehand."""
    gc.collect()
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def interleaved(candidates, repeats):
    """Call each candidate once per round, in turn, for ``repeats`` rounds.

    Parameters
    ----------
    candidates : dict of str to callable
        Functions of no argument (an skgd estimator next to its reference).
    repeats : int

    Returns
    -------
    results : dict of str to list
        What each candidate returned, one entry per round.
    """
    results = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, func in candidates.items():
            gc.collect()
            results[name].append(func())
    return results


def median(values):
    """The median of the values that are not None, or None if there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def peak_memory(func, *args, **kwargs):
    """Return the ``tracemalloc`` peak (bytes) allocated during one call.

    Memory allocated before the call (the data) is not counted, so the peak is
    what the call needs on top of its inputs. NumPy reports its array buffers
    to ``tracemalloc``.
    """
    gc.collect()
    tracemalloc.start()
    try:
        func(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


# -- time to target -------------------------------------------------------------


@dataclass
class Curve:
    """Cumulative fit seconds and test R² after each epoch of one run."""

    seconds: list
    r2: list
    target: float

    @property
    def epochs_to_target(self):
        for epoch, score in enumerate(self.r2, start=1):
            if score >= self.target:
                return epoch
        return None

    @property
    def seconds_to_target(self):
        epoch = self.epochs_to_target
        return None if epoch is None else self.seconds[epoch - 1]

    @property
    def final_r2(self):
        return self.r2[-1] if self.r2 else None


def run_to_target(estimator, data, target, max_epochs, max_seconds, extra=0):
    """Train with ``partial_fit`` until the test R² reaches ``target``.

    Stops ``extra`` epochs after the target is reached (to show the curve
    beyond it), after ``max_epochs``, once ``max_seconds`` of fit time have
    passed, or when training diverges. Inputs are known to be finite, so the
    per-call finiteness check is skipped (``assume_finite``) for every
    estimator alike.
    """
    X_train, X_test, y_train, y_test = data
    seconds, scores, elapsed = [], [], 0.0
    reached, stop_at = False, max_epochs
    with config_context(assume_finite=True):
        while len(scores) < stop_at:
            start = time.perf_counter()
            try:
                estimator.partial_fit(X_train, y_train)
            except ValueError:  # skgd reports divergence as a ValueError
                break
            elapsed += time.perf_counter() - start
            score = r2_score(y_test, estimator.predict(X_test))
            seconds.append(elapsed)
            scores.append(score)
            if score >= target and not reached:
                reached, stop_at = True, min(max_epochs, len(scores) + extra)
            if not np.isfinite(score) or elapsed > max_seconds:
                break
    return Curve(seconds, scores, target)


# -- data --------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def classification_split(n_samples, dtype=np.float64):
    """``make_classification`` data with 50 features and 5 classes, split 75/25.

    Returns ``(X_train, X_test, y_train, y_test)``, X in ``dtype``.
    """
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=n_samples,
        n_features=50,
        n_informative=30,
        n_classes=5,
        random_state=0,
    )
    return train_test_split(X.astype(dtype), y, test_size=0.25, random_state=0)


def regression_split(n_samples, n_features, noise=10.0):
    """``make_regression`` data, split 75/25 and standardised on the train part.

    Returns ``(X_train, X_test, y_train, y_test)``. Cached, so benchmarks run in
    one process share the data; treat the arrays as read-only.
    """
    from sklearn.datasets import make_regression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(
        n_samples=n_samples, n_features=n_features, noise=noise, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def raw_feature_section(report, cases, ours, theirs, unit, slack):
    """The networks' defaults on raw features, against a scaler pipeline.

    ``cases`` maps a data set's name to ``(X, y)``; each is split 75/25
    (``random_state=0``). ``ours`` and ``theirs`` make the skgd and
    scikit-learn estimators with their defaults (``random_state=0``), each
    fitted on the raw training part and in a ``StandardScaler`` pipeline;
    ``unit`` names the test score. Adds the table and the target (skgd on
    raw data within ``slack`` of its pipeline, and at least scikit-learn's
    raw score).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows, misses = [], []
    for name, (X, y) in cases.items():
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        scores = []
        for make in (ours, theirs):
            for model in (make(), make_pipeline(StandardScaler(), make())):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_train, y_train)
                scores.append(model.score(X_test, y_test))
        raw, scaled, their_raw, their_scaled = scores
        if not (abs(raw - scaled) <= slack and raw >= their_raw):
            misses.append(name)
        rows.append([name, *(fmt(score, ".4f") for score in scores)])
    ours_name, theirs_name = type(ours()).__name__, type(theirs()).__name__
    report.table(
        [
            "data",
            f"{ours_name} raw",
            f"{ours_name} in a StandardScaler pipeline",
            f"{theirs_name} raw",
            f"{theirs_name} in a StandardScaler pipeline",
        ],
        rows,
        f"## Raw features: defaults, test {unit} (75/25 split, random_state=0)",
    )
    report.target(
        f"on raw features, {ours_name}'s test {unit} is within {slack} of its "
        f"StandardScaler pipeline's and at least {theirs_name}'s",
        not misses,
        "missed: " + (", ".join(misses) if misses else "none"),
    )


# -- reporting ---------------------------------------------------------------


def fmt(value, spec=".3f", missing="—"):
    """Format a number for a table; None becomes ``missing``."""
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return format(value, spec)


def fmt_bytes(n_bytes):
    return fmt(None if n_bytes is None else n_bytes / 2**20, ".1f") + " MiB"


def markdown_table(columns, rows):
    """Return a Markdown table; cells are converted with ``str``."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def environment(mode):
    """The machine and library versions, as ``(label, value)`` pairs."""
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    import skgd

    pools = ", ".join(
        f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info()
    )
    return [
        ("CPUs (os.cpu_count())", str(os.cpu_count())),
        ("Thread pools (library, threads)", pools or "none"),
        ("Python", platform.python_version()),
        ("NumPy", np.__version__),
        ("SciPy", scipy.__version__),
        ("scikit-learn", sklearn.__version__),
        ("skgd", skgd.__version__),
        ("Date", datetime.datetime.now().isoformat(timespec="seconds")),
        ("Mode", f"{mode.name} (median of {mode.repeats} repetition(s))"),
    ]


@dataclass
class Target:
    """One of the project's performance targets and whether it was met."""

    label: str
    met: bool | None
    detail: str

    def line(self):
        verdict = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"- **{verdict}**: {self.label} ({self.detail})"


@dataclass
class Report:
    """The Markdown report of one benchmark, built section by section."""

    name: str
    title: str
    mode: Mode
    parts: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    figures: list = field(default_factory=list)

    def text(self, text):
        self.parts.append(text.strip())

    def table(self, columns, rows, caption=None):
        if caption:
            self.parts.append(caption.strip())
        self.parts.append(markdown_table(columns, rows))

    def target(self, label, met, detail):
        self.targets.append(Target(label, met, detail))

    def markdown(self):
        lines = [f"# {self.title}", ""]
        lines += [f"- {label}: {value}" for label, value in environment(self.mode)]
        blocks = ["\n".join(lines), *self.parts]
        if self.targets:
            blocks.append("## Targets\n\n" + "\n".join(t.line() for t in self.targets))
        if self.figures:
            blocks.append("\n".join(f"![{f}]({f})" for f in self.figures))
        return "\n\n".join(blocks) + "\n"

    def write(self, out_dir):
        """Write ``<out_dir>/<name>.md``, print it, and return its path."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}.md"
        text = self.markdown()
        path.write_text(text, encoding="utf-8")
        print(text, flush=True)
        return path


def pyplot():
    """Return ``matplotlib.pyplot`` on the Agg backend, or None without it."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(report, fig, out_dir, filename):
    """Save ``fig`` as ``out_dir/filename`` and link it from the report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / filename, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    report.figures.append(filename)
