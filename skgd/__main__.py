"""``python -m skgd``: every optimizer on real and synthetic regression data.

Fits :class:`skgd.GDRegressor` with each built-in optimizer, and
``SGDRegressor`` and ``LinearRegression`` as references, on scikit-learn's
bundled diabetes data and on a larger synthetic problem; prints a table of
test R², test MAE, fit time, epochs and whether each fit converged (a fit
that reached ``max_iter`` says so, with its warning); and, when matplotlib
is installed,
saves the loss curves of all optimizers, and the training objective of
``SGDRegressor`` after each epoch, in one figure.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, SGDRegressor
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import GDRegressor, __version__
from .optimizers import available_optimizers


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m skgd",
        description=(
            "Fit GDRegressor with every built-in optimizer (and SGDRegressor and "
            "LinearRegression as references) on the diabetes data and on a "
            "synthetic regression problem; print test R2, test MAE, fit seconds "
            "and epochs, and plot the loss curves."
        ),
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=100_000,
        help="samples of the synthetic problem (default: 100000)",
    )
    parser.add_argument(
        "--n-features",
        type=int,
        default=50,
        help="features of the synthetic problem (default: 50)",
    )
    parser.add_argument(
        "--plot",
        default="skgd_loss_curves.png",
        help="where to save the loss-curve figure (default: skgd_loss_curves.png)",
    )
    parser.add_argument(
        "--no-plot", action="store_true", help="do not draw the loss curves"
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of data and fits"
    )
    return parser.parse_args(argv)


def _datasets(args):
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes (442 x 10)", X, y
    X, y = make_regression(
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_informative=args.n_features // 2,
        noise=10.0,
        random_state=args.random_state,
    )
    yield f"synthetic ({args.n_samples} x {args.n_features})", X, y


def _models(seed):
    for name in available_optimizers():
        yield name, GDRegressor(optimizer=name, random_state=seed)
    yield "SGDRegressor", SGDRegressor(random_state=seed)
    yield "LinearRegression", LinearRegression()


def _sgd_objective_curve(X, y, n_epochs, seed):
    """The training objective of ``SGDRegressor()`` after each epoch.

    ``SGDRegressor`` records no history, so an untimed copy with the same
    settings trains one epoch per ``partial_fit`` call (its learning-rate
    schedule carries on across calls, as in ``fit``), and the objective
    that ``GDRegressor`` minimises, half the mean squared error plus
    ``alpha / 2`` times the squared norm of the coefficients, is evaluated on
    the training data after each epoch.
    """
    sgd = SGDRegressor(random_state=seed)
    curve = []
    for _ in range(n_epochs):
        sgd.partial_fit(X, y)
        residual = y - sgd.predict(X)
        penalty = 0.5 * sgd.alpha * sgd.coef_ @ sgd.coef_
        curve.append(0.5 * np.mean(residual**2) + penalty)
    return curve


def _run(title, X, y, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed
    )
    rows, curves = [], {}
    for name, model in _models(seed):
        pipe = make_pipeline(StandardScaler(), model)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipe.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        stopped = _how_it_stopped(model, caught)
        y_pred = pipe.predict(X_test)
        epochs = getattr(model, "n_iter_", "")
        rows.append(
            (
                name,
                r2_score(y_test, y_pred),
                mean_absolute_error(y_test, y_pred),
                seconds,
                epochs,
                stopped,
            )
        )
        if hasattr(model, "loss_curve_"):
            curves[name] = model.loss_curve_
        elif isinstance(model, SGDRegressor):
            curves[name] = _sgd_objective_curve(
                pipe[0].transform(X_train), y_train, model.n_iter_, seed
            )
    print(f"\n{title}")
    header = f"{'model':<18}{'test R2':>10}{'test MAE':>12}{'fit s':>9}{'epochs':>8}"
    print(f"{header}  stopped")
    for name, r2, mae, seconds, epochs, stopped in rows:
        line = f"{name:<18}{r2:>10.4f}{mae:>12.3f}{seconds:>9.3f}{epochs!s:>8}"
        print(f"{line}  {stopped}")
    return curves


def _how_it_stopped(model, caught):
    """Why a fit ended: its own stopping rule, or the ConvergenceWarning it
    emitted (max_iter reached, or a stalled gradient rule)."""
    if not hasattr(model, "n_iter_"):
        return "exact solution"
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            if str(warning.message).startswith("Maximum number"):
                return "NOT converged: max_iter reached (ConvergenceWarning)"
            return "NOT converged: stalled (ConvergenceWarning)"
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    return "converged"


def _line_styles(names):
    """A distinct (colour, line style) pair for each curve.

    The optimizers cycle through ten colours and four line styles, so that
    no two curves look alike; ``SGDRegressor``, the reference, is black and
    thicker, and its label says that its values are those after each epoch
    (``GDRegressor``'s are averaged over the epoch's batches).
    """
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab10").colors
    styles = ["-", "--", ":", "-."]
    out, i = {}, 0
    for name in names:
        if name == "SGDRegressor":
            out[name] = {"color": "black", "linestyle": "-", "linewidth": 2.5}
            out[name]["label"] = "SGDRegressor (after each epoch)"
        else:
            out[name] = {"color": colors[i % 10], "linestyle": styles[i % 4]}
            i += 1
    return out


def _figure(all_curves):
    """One panel of loss curves per data set, with one legend for all."""
    import matplotlib.pyplot as plt

    n_panels = len(all_curves)
    fig, axes = plt.subplots(
        1, n_panels, figsize=(5.5 * n_panels + 2, 4.5), layout="constrained"
    )
    axes = np.atleast_1d(axes)
    for ax, (title, curves) in zip(axes, all_curves.items(), strict=True):
        styles = _line_styles(curves)
        for name, curve in curves.items():
            epochs = np.arange(1, len(curve) + 1)
            ax.plot(epochs, curve, **{"label": name, **styles[name]})
        ax.set(
            title=title,
            xlabel="epoch",
            ylabel="training objective (mean over each epoch's batches)",
        )
        ax.set_yscale("log")
        ax.set_xscale("log")
    # The panels plot the same models: one legend, right of the last panel.
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    return fig


def _plot(all_curves, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed: no plot (pip install 'skgd[plot]').")
        return
    fig = _figure(all_curves)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nLoss curves saved to {path}")


def main(argv=None):
    args = _parse_args(argv)
    print(f"skgd {__version__}: GDRegressor with every optimizer, defaults otherwise")
    all_curves = {}
    for title, X, y in _datasets(args):
        all_curves[title] = _run(title, X, y, args.random_state)
    if not args.no_plot:
        _plot(all_curves, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
