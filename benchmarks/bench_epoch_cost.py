"""Seconds per epoch of GDRegressor(optimizer="sgd") against SGDRegressor.

Batch sizes 1, 8, 32, 256 and full batch (``batch_size=None``) on two
problems, each next to ``SGDRegressor`` on the same rows:

- dense: the regression benchmark's data (standardised ``make_regression``,
  200,000 × 100), training part: 150,000 rows;
- sparse: the sparse benchmark's CSR data (``scipy.sparse.random`` with
  uniform values, ``y = X @ w + noise``) at 50,000 × 2,000 and 0.5 % density,
  training part: 37,500 rows of about 10 non-zeros each.

Batch sizes 1 and 8 run on the first rows only (50,000 dense, 10,000 sparse),
their epochs being long; ``SGDRegressor`` is timed on both sizes.

The cost of an epoch is marginal: the time of ``fit(X, y)`` with
``max_iter=k2`` minus the time with ``max_iter=k1``, divided by the difference
of their ``n_iter_`` (``tol=None``, ``random_state=0``, convergence warnings
silenced). A fit's one-off set-up (input validation, the step size derived
from the data, the starting objective) is in both fits and cancels out; what
the short fit spends beyond its ``k1`` epochs is reported as the set-up. Here
``k1 = 1``, and ``k2 - k1`` is the first of 2, 4, 8, ..., 512 epochs that
lasts 0.2 s in full mode (0.005 s in quick mode), found per row by untimed
fits before the repetitions, as ``timeit`` sizes its loops. The throughput
figure divides a batch-1 epoch by the non-zeros it visits: rows × features
when dense, ``X.nnz`` when sparse.

Why these sparse sizes: about 10 non-zeros out of 2,000 features per row is
the shape of one-hot or bag-of-words data, where a per-sample update costs
little more than its non-zeros, and the 2,000 coefficients (16 KiB) stay in
cache as the dense problem's 100 do. At 0.5 % density the training part holds
about 375,000 non-zeros (4.5 MiB as CSR): an ``SGDRegressor`` epoch lasts a
few milliseconds, long enough for a few dozen of them to stand above the
timer's noise, while a full batch still spans many rows. Batch sizes 1 and 8,
the slowest per row, get the first 10,000 rows: a cost per row needs no more
to show, and the benchmark stays short. Its full run (both problems, three
repetitions) takes about a minute on two cores, quick mode a few seconds.
"""

import time
import warnings
from dataclasses import dataclass

import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

from skgd import GDRegressor

from ._common import (
    Report,
    fmt,
    interleaved,
    median,
    pyplot,
    ratio,
    regression_split,
    save_figure,
    timed,
)
from .bench_sparse import sparse_data

NAME = "epoch_cost"

BATCH_SIZES = (1, 8, 32, 256, None)
SMALL_BATCHES = (1, 8)  # run on the problem's first ``small`` rows
# The largest marginal epoch cost, as a multiple of SGDRegressor's, per batch size.
TARGETS = {1: 1.0, 8: 0.6, 32: 0.4, 256: 0.3}
FIRST_EPOCHS = 1  # k1, the epochs of the shorter fit
# k2 - k1: the first power of two in EXTRA_EPOCHS whose epochs last EXTRA_SECONDS.
EXTRA_SECONDS = {"quick": 0.005, "full": 0.2}
EXTRA_EPOCHS = (2, 512)


@dataclass(frozen=True)
class Problem:
    """One data set; ``density`` is None for dense data."""

    kind: str
    shape: tuple
    density: float | None
    small: int  # rows for the batch sizes in SMALL_BATCHES

    def load(self):
        """The training part of the problem's data, ``(X, y)``."""
        if self.density is None:
            X, _, y, _ = regression_split(*self.shape)
        else:
            X, _, y, _ = sparse_data(self.shape, self.density)
        return X, y


FULL = (
    Problem("dense", (200_000, 100), None, 50_000),
    Problem("sparse", (50_000, 2_000), 0.005, 10_000),
)
QUICK = (
    Problem("dense", (8_000, 20), None, 2_000),
    Problem("sparse", (4_000, 500), 0.02, 1_000),
)


@dataclass
class Timing:
    """The two fits of one row in one repetition."""

    short: float  # seconds of the fit with k1 epochs
    long: float  # seconds of the fit with k2 epochs
    epochs: tuple  # their n_iter_

    @property
    def per_epoch(self):
        """Marginal seconds per epoch, or None when noise hides it."""
        seconds = self.long - self.short
        n_epochs = self.epochs[1] - self.epochs[0]
        return seconds / n_epochs if seconds > 0 and n_epochs > 0 else None


@dataclass
class Row:
    kind: str
    label: str
    batch_size: object
    n_rows: int
    reference: bool = False
    extra: int = EXTRA_EPOCHS[0]  # k2 - k1

    @property
    def key(self):
        return f"{self.kind} {self.label} n={self.n_rows}"

    def make(self, max_iter):
        params = {"max_iter": max_iter, "tol": None, "random_state": 0}
        if self.reference:
            return SGDRegressor(**params)
        return GDRegressor(optimizer="sgd", batch_size=self.batch_size, **params)

    def fit(self, X, y, max_iter, collect=True):
        """Seconds and ``n_iter_`` of one ``fit`` with ``max_iter`` epochs.

        ``collect=False`` skips the garbage collection before the call, which
        takes longer than a small fit: for the untimed fits of ``calibrate``.
        """
        estimator = self.make(max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if collect:
                seconds, _ = timed(estimator.fit, X, y)
            else:
                start = time.perf_counter()
                estimator.fit(X, y)
                seconds = time.perf_counter() - start
        return seconds, estimator.n_iter_

    def calibrate(self, X, y, seconds):
        """Double ``extra`` until the extra epochs last ``seconds`` (untimed).

        As ``timeit``'s autorange does; these fits also keep the costs of a
        first call (loading code, filling caches) out of the timings.
        """
        short, _ = self.fit(X, y, FIRST_EPOCHS, collect=False)
        self.extra, high = EXTRA_EPOCHS
        while self.extra < high:
            long, _ = self.fit(X, y, FIRST_EPOCHS + self.extra, collect=False)
            if long - short >= seconds:
                break
            self.extra *= 2

    def measure(self, X, y):
        """Fit with k1 then with k2 epochs, on the row's ``X`` and ``y``."""
        short, n_short = self.fit(X, y, FIRST_EPOCHS)
        long, n_long = self.fit(X, y, FIRST_EPOCHS + self.extra)
        return Timing(short, long, (n_short, n_long))


def plan(problem, n_rows):
    """The rows to time: SGDRegressor on each size, then each batch size."""
    small = min(problem.small, n_rows)
    rows = [
        Row(problem.kind, "SGDRegressor()", "1 (per sample)", n, reference=True)
        for n in (small, n_rows)
    ]
    for batch_size in BATCH_SIZES:
        n = small if batch_size in SMALL_BATCHES else n_rows
        label = f"GDRegressor(optimizer='sgd', batch_size={batch_size})"
        rows.append(Row(problem.kind, label, batch_size, n))
    return rows


@dataclass
class Result:
    """The medians of one row's timings, next to SGDRegressor's on its rows."""

    row: Row
    per_epoch: float | None
    setup: float | None
    non_zeros: int
    n_features: int
    reference: "Result | None" = None

    @property
    def ratio(self):
        return ratio(self.per_epoch, self.reference.per_epoch)

    @property
    def per_non_zero(self):
        """Nanoseconds per non-zero of X in one epoch."""
        if self.per_epoch is None:
            return None
        return self.per_epoch / self.non_zeros * 1e9


def summarise(rows, timings, subsets):
    """One Result per row, each linked to SGDRegressor's on the same rows."""
    results = []
    for row in rows:
        per_epoch = median(t.per_epoch for t in timings[row.key])
        short = median(t.short for t in timings[row.key])
        setup = None if per_epoch is None else short - FIRST_EPOCHS * per_epoch
        X = subsets[row.kind, row.n_rows][0]
        non_zeros = X.nnz if sp.issparse(X) else X.size
        results.append(Result(row, per_epoch, setup, non_zeros, X.shape[1]))
    references = {(r.row.kind, r.row.n_rows): r for r in results if r.row.reference}
    for result in results:
        result.reference = references[result.row.kind, result.row.n_rows]
    return results


def run(mode, out_dir):
    problems = QUICK if mode.quick else FULL
    rows, subsets, shapes = [], {}, {}
    for problem in problems:
        X, y = problem.load()
        shapes[problem.kind] = X.shape
        rows += plan(problem, X.shape[0])
        for n in {row.n_rows for row in rows if row.kind == problem.kind}:
            subsets[problem.kind, n] = (X[:n], y[:n])
    for row in rows:
        row.calibrate(*subsets[row.kind, row.n_rows], EXTRA_SECONDS[mode.name])
    timings = interleaved(
        {
            row.key: (lambda row=row: row.measure(*subsets[row.kind, row.n_rows]))
            for row in rows
        },
        mode.repeats,
    )
    results = summarise(rows, timings, subsets)
    report = Report(NAME, "Cost of one epoch", mode)
    describe(report, problems, shapes)
    epoch_table(report, results)
    throughput_table(report, results)
    check_targets(report, results)
    plot(report, results, out_dir)
    return report


def describe(report, problems, shapes):
    dense, sparse = problems
    report.text(
        f"Dense: training part of standardised `make_regression` "
        f"({shapes['dense'][0]} × {shapes['dense'][1]}). Sparse: training part of "
        f"`scipy.sparse.random({sparse.shape[0]}, {sparse.shape[1]}, "
        f"density={sparse.density}, format='csr')`, y = X @ w + 0.1 · N(0, 1) "
        f"({shapes['sparse'][0]} × {shapes['sparse'][1]}). Batch sizes 1 and 8 "
        f"run on the first {dense.small} (dense) and {sparse.small} (sparse) rows "
        "only."
    )
    report.text(
        "Seconds per epoch = (fit() time with `max_iter=k2` − fit() time with "
        f"`max_iter=k1`) / (k2 − k1), k1 = {FIRST_EPOCHS}, `tol=None`, "
        "`random_state=0`: the marginal cost of an epoch, without the fit's "
        "one-off set-up. Set-up = fit() time with k1 epochs − k1 × seconds per "
        "epoch. The ratio is to SGDRegressor's epoch on the same rows, measured "
        "the same way; — means the difference was lost in the timer's noise."
    )


def epoch_table(report, results):
    table = [
        [
            r.row.kind,
            r.row.label,
            str(r.row.batch_size),
            str(r.row.n_rows),
            f"{FIRST_EPOCHS} → {FIRST_EPOCHS + r.row.extra}",
            fmt(r.setup, ".4f"),
            fmt(r.per_epoch, ".5f"),
            fmt(None if r.per_epoch is None else r.per_epoch / r.row.n_rows * 1e6),
            fmt(r.ratio, ".2f"),
        ]
        for r in results
    ]
    columns = ["data", "Estimator", "batch_size", "rows", "epochs k1 → k2"]
    columns += ["set-up s", "s / epoch", "µs / sample", "× SGDRegressor epoch"]
    report.table(columns, table)


def throughput_table(report, results):
    """Batch-1 GDRegressor against SGDRegressor in ns per non-zero per epoch."""
    table = [
        [
            r.row.kind,
            f"{r.row.n_rows} × {r.n_features}",
            str(r.non_zeros),
            fmt(r.per_non_zero, ".2f"),
            fmt(r.reference.per_non_zero, ".2f"),
            fmt(r.ratio, ".2f"),
        ]
        for r in results
        if r.row.batch_size == 1
    ]
    columns = ["data", "rows × features", "non-zeros", "GDRegressor(batch_size=1)"]
    columns += ["SGDRegressor()", "× SGDRegressor"]
    report.table(
        columns,
        table,
        caption="Throughput of one epoch of per-sample SGD, in nanoseconds per "
        "non-zero of X (rows × features when dense, `X.nnz` when sparse): "
        "GDRegressor(optimizer='sgd', batch_size=1) against SGDRegressor() on the "
        "same rows.",
    )


def check_targets(report, results):
    for r in results:
        limit = TARGETS.get(r.row.batch_size)
        if r.row.reference or limit is None:
            continue
        report.target(
            f"{r.row.kind}: a batch_size={r.row.batch_size} epoch costs ≤ {limit} × "
            "SGDRegressor's (marginal cost, same rows)",
            None if r.ratio is None else r.ratio <= limit,
            f"{fmt(r.ratio, '.2f')} ×: {fmt(r.per_epoch, '.5f')} s against "
            f"{fmt(r.reference.per_epoch, '.5f')} s per epoch on {r.row.n_rows} rows",
        )


def plot(report, results, out_dir):
    plt = pyplot()
    if plt is None:
        return
    kinds = list(dict.fromkeys(r.row.kind for r in results))
    fig, axes = plt.subplots(1, len(kinds), figsize=(12, 4.5))
    for ax, kind in zip(axes, kinds, strict=True):
        shown = [r for r in results if r.row.kind == kind and r.per_epoch]
        labels = [
            ("SGDRegressor" if r.row.reference else f"batch_size={r.row.batch_size}")
            + f", n={r.row.n_rows}"
            for r in shown
        ]
        colours = ["black" if r.row.reference else "tab:blue" for r in shown]
        ax.bar(range(len(shown)), [r.per_epoch for r in shown], color=colours)
        ax.set_xticks(range(len(shown)), labels, fontsize=7, rotation=30, ha="right")
        ax.set(yscale="log", ylabel="seconds per epoch (marginal)", title=kind)
    fig.suptitle("GDRegressor(optimizer='sgd') epoch cost vs SGDRegressor")
    save_figure(report, fig, out_dir, "epoch_cost.png")
