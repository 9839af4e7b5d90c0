"""Seconds per epoch of GDRegressor(optimizer="sgd") against SGDRegressor.

The data are the regression benchmark's (standardised ``make_regression`` with
100 features, training part). Batch sizes 1 and 8 run on the first 50,000
training rows only (their epochs are long); every other batch size on all of
them, and ``SGDRegressor`` is timed on both sizes. The cost of an epoch is
the time of ``fit(X, y)`` with a few epochs (``max_iter=k, tol=None``)
divided by ``n_iter_``, so a fit's one-off set-up is spread over its epochs.
"""

import warnings
from dataclasses import dataclass

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

NAME = "epoch_cost"

BATCH_SIZES = (1, 8, 32, 256, None)
SMALL_BATCHES = (1, 8)  # run on the small subset
FULL = {"data": (200_000, 100), "small": 50_000, "epochs": (2, 3, 3, 5, 10)}
QUICK = {"data": (8_000, 20), "small": 2_000, "epochs": (2, 2, 2, 2, 2)}
SGD_EPOCHS = 3


@dataclass
class Row:
    label: str
    batch_size: object
    n_rows: int
    epochs: int
    reference: bool = False

    def measure(self, X, y):
        """Seconds per epoch of one ``fit``."""
        params = {"max_iter": self.epochs, "tol": None, "random_state": 0}
        if self.reference:
            estimator = SGDRegressor(**params)
        else:
            estimator = GDRegressor(
                optimizer="sgd", batch_size=self.batch_size, **params
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            seconds, _ = timed(estimator.fit, X[: self.n_rows], y[: self.n_rows])
        return seconds / estimator.n_iter_


def plan(sizes, n_rows):
    """The rows to time: SGDRegressor on each size, then each batch size."""
    small = sizes["small"]
    rows = [
        Row(f"SGDRegressor() n={n}", "1 (per sample)", n, SGD_EPOCHS, reference=True)
        for n in (small, n_rows)
    ]
    for batch_size, epochs in zip(BATCH_SIZES, sizes["epochs"], strict=True):
        n = small if batch_size in SMALL_BATCHES else n_rows
        label = f"GDRegressor(optimizer='sgd', batch_size={batch_size}) n={n}"
        rows.append(Row(label, batch_size, n, epochs))
    return rows


def run(mode, out_dir):
    sizes = QUICK if mode.quick else FULL
    X, _, y, _ = regression_split(*sizes["data"])
    rows = plan(sizes, X.shape[0])
    results = interleaved(
        {row.label: (lambda row=row: row.measure(X, y)) for row in rows},
        mode.repeats,
    )
    per_epoch = {label: median(values) for label, values in results.items()}
    reference = {row.n_rows: per_epoch[row.label] for row in rows if row.reference}
    ratios = {
        row.label: ratio(per_epoch[row.label], reference[row.n_rows]) for row in rows
    }
    report = Report(NAME, "Cost of one epoch", mode)
    report.text(
        f"Training part of standardised `make_regression` ({X.shape[0]} × "
        f"{X.shape[1]}); batch sizes 1 and 8 on its first {sizes['small']} rows "
        "only. Seconds per epoch = fit() time / n_iter_, with `max_iter` = the "
        "epochs column and `tol=None` (a fit's set-up is spread over its "
        "epochs); the ratio is to SGDRegressor's epoch on the same rows."
    )
    table = [
        [
            row.label.split(" n=")[0],
            str(row.batch_size),
            str(row.n_rows),
            str(row.epochs),
            fmt(per_epoch[row.label], ".4f"),
            fmt(per_epoch[row.label] / row.n_rows * 1e6, ".3f"),
            fmt(ratios[row.label], ".2f"),
        ]
        for row in rows
    ]
    columns = ["Estimator", "batch_size", "rows", "epochs", "s / epoch"]
    report.table([*columns, "µs / sample", "× SGDRegressor epoch"], table)
    mini = {
        row.batch_size: ratios[row.label]
        for row in rows
        if not row.reference and row.batch_size not in SMALL_BATCHES
    }
    report.target(
        "mini-batch epochs (batch_size ≥ 32, and full batch) cost ≤ 1 × "
        "SGDRegressor's epoch",
        all(r <= 1.0 for r in mini.values()),
        ", ".join(f"batch_size={b}: {fmt(r, '.2f')} ×" for b, r in mini.items()),
    )
    plot(report, rows, per_epoch, out_dir)
    return report


def plot(report, rows, per_epoch, out_dir):
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [
        ("SGDRegressor" if r.reference else f"batch_size={r.batch_size}")
        + f"\nn={r.n_rows}"
        for r in rows
    ]
    colours = ["black" if r.reference else "tab:blue" for r in rows]
    ax.bar(range(len(rows)), [per_epoch[r.label] for r in rows], color=colours)
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set(yscale="log", ylabel="seconds per epoch")
    ax.set_title("GDRegressor(optimizer='sgd') epoch cost vs SGDRegressor")
    save_figure(report, fig, out_dir, "epoch_cost.png")
