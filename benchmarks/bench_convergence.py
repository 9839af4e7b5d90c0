"""Whether the linear estimators' defaults reach the optimum they state.

Three measurements:

- ``GDClassifier()`` on the standardised breast cancer, digits, wine and
  iris data (75/25 split, scaler fitted on the training part) against
  ``LogisticRegression(C=1 / (alpha * n))``, the same objective: the
  training objective's distance to the optimum (``LogisticRegression`` with
  ``tol=1e-10`` gives the optimum), the test accuracy and log-loss, and the
  fit time of both (``LogisticRegression`` with its default ``tol``);
- ``GDRegressor(optimizer=name)`` with every built-in optimizer and its
  defaults on the standardised diabetes data: the 5-fold cross-validated R²
  against least squares';
- ``GDRegressor()`` on ``make_regression`` data whose columns are
  multiplied by ``10**U(-6, 6)``: the test R² on raw columns against the
  ``StandardScaler`` pipeline's, and with ``penalty_scale="raw"``.
"""

import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, GDRegressor
from skgd.optimizers import available_optimizers

from ._common import Report, fmt, interleaved, median, ratio, timed

NAME = "convergence"
FULL = {
    "loaders": (load_breast_cancer, load_digits, load_wine, load_iris),
    "optimizers": tuple(available_optimizers()),
    "raw": (50_000, 100),
}
QUICK = {
    "loaders": (load_iris, load_wine),
    "optimizers": ("sgd", "momentum", "adam"),
    "raw": (4_000, 20),
}
# Objective within this relative distance of the optimum; accuracy and
# log-loss within this much of the reference; R² within this much of OLS.
OBJECTIVE_GAP = 1e-3
SCORE_SLACK = 0.005
TIME_RATIO = 2.0


def _objective(clf, X, y, alpha):
    """Mean log-loss plus ``alpha / 2`` times the squared norm of ``coef_``."""
    data = log_loss(y, clf.predict_proba(X), labels=clf.classes_)
    return data + alpha / 2 * float(np.sum(np.square(clf.coef_)))


def _quiet(make, X, y):
    """Fit a new estimator with ConvergenceWarnings counted, not shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        seconds, estimator = timed(make().fit, X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, estimator, warned


def classification_rows(loaders, repeats):
    rows, checks = [], []
    for loader in loaders:
        X, y = loader(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        alpha = GDClassifier().alpha
        C = 1 / (alpha * len(y_train))

        def ours():
            return GDClassifier(random_state=0)

        def theirs(C=C):
            return LogisticRegression(C=C, max_iter=10_000)

        runs = interleaved(
            {
                "ours": lambda X=X_train, y=y_train: _quiet(ours, X, y),
                "theirs": lambda X=X_train, y=y_train: _quiet(theirs, X, y),
            },
            repeats,
        )
        seconds = {k: median([r[0] for r in v]) for k, v in runs.items()}
        clf, reference = runs["ours"][0][1], runs["theirs"][0][1]
        optimum = _objective(
            LogisticRegression(C=C, tol=1e-10, max_iter=100_000).fit(X_train, y_train),
            X_train,
            y_train,
            alpha,
        )
        gap = _objective(clf, X_train, y_train, alpha) / optimum - 1
        accuracy = clf.score(X_test, y_test) - reference.score(X_test, y_test)
        loss = log_loss(y_test, clf.predict_proba(X_test)) - log_loss(
            y_test, reference.predict_proba(X_test)
        )
        time_ratio = ratio(seconds["ours"], seconds["theirs"])
        rows.append(
            [
                loader.__name__.removeprefix("load_"),
                type(clf.optimizer_).__name__,
                str(clf.n_iter_),
                fmt(gap, ".2e"),
                fmt(accuracy, "+.4f"),
                fmt(loss, "+.4f"),
                fmt(seconds["ours"], ".4f"),
                fmt(seconds["theirs"], ".4f"),
                fmt(time_ratio, ".2f"),
                "yes" if runs["ours"][0][2] else "no",
            ]
        )
        checks.append((gap, abs(accuracy), abs(loss), time_ratio))
    return rows, checks


def optimizer_rows(optimizers):
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5)
    ols = cross_val_score(
        make_pipeline(StandardScaler(), LinearRegression()), X, y, cv=cv
    )
    rows, gaps = [["least squares", fmt(ols.mean(), ".4f"), "—", "—"]], {}
    for name in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            scores = cross_val_score(
                make_pipeline(
                    StandardScaler(), GDRegressor(optimizer=name, random_state=0)
                ),
                X,
                y,
                cv=cv,
            )
        warned = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        gaps[name] = scores.mean() - ols.mean()
        rows.append(
            [name, fmt(scores.mean(), ".4f"), fmt(gaps[name], "+.4f"), f"{warned}/5"]
        )
    return rows, gaps


def raw_column_rows(n_samples, n_features):
    X, y = make_regression(
        n_samples, n_features, n_informative=n_features // 2, noise=10, random_state=0
    )
    X = X * 10.0 ** np.random.RandomState(0).uniform(-6, 6, n_features)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    candidates = {
        "GDRegressor() on raw columns": lambda: GDRegressor(random_state=0),
        "StandardScaler + GDRegressor()": lambda: make_pipeline(
            StandardScaler(), GDRegressor(random_state=0)
        ),
        "GDRegressor(penalty_scale='raw') on raw columns": lambda: GDRegressor(
            penalty_scale="raw", random_state=0
        ),
    }
    scores = {}
    for label, make in candidates.items():
        _, estimator, _ = _quiet(make, X_train, y_train)
        scores[label] = estimator.score(X_test, y_test)
    return [[label, fmt(score, ".5f")] for label, score in scores.items()], scores


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    report = Report(NAME, "Convergence of the defaults to their optimum", mode)
    rows, checks = classification_rows(config["loaders"], mode.repeats)
    report.text(
        "`GDClassifier()` against `LogisticRegression(C=1 / (alpha * n))` on the "
        "standardised bundled data (75/25 split). Gap: the training objective "
        "(mean log-loss + alpha/2 ||W||²) relative to the optimum (the same "
        "`LogisticRegression` with `tol=1e-10`). Differences are ours minus "
        "theirs, on the test part."
    )
    report.table(
        [
            "data",
            "optimizer_",
            "n_iter_",
            "objective gap",
            "Δ accuracy",
            "Δ log-loss",
            "GDClassifier s",
            "LogisticRegression s",
            "ratio",
            "warned",
        ],
        rows,
    )
    report.target(
        f"the defaults' training objective within {OBJECTIVE_GAP:g} (relative) "
        f"of the optimum, test accuracy and log-loss within {SCORE_SLACK} of "
        f"LogisticRegression's at the same C, in at most {TIME_RATIO:g} × its "
        "fit time",
        all(
            gap <= OBJECTIVE_GAP
            and acc <= SCORE_SLACK
            and loss <= SCORE_SLACK
            and t is not None
            and t <= TIME_RATIO
            for gap, acc, loss, t in checks
        ),
        "largest gap {:.2e}, largest time ratio {}".format(
            max(c[0] for c in checks), fmt(max(c[3] or 0 for c in checks), ".2f")
        ),
    )
    rows, gaps = optimizer_rows(config["optimizers"])
    report.table(
        ["optimizer", "5-fold R²", "Δ to least squares", "ConvergenceWarnings"],
        rows,
        caption="Every optimizer with its defaults on the standardised diabetes "
        "data (`KFold(5)`, scaler inside the pipeline):",
    )
    missed = [name for name, gap in gaps.items() if abs(gap) > SCORE_SLACK]
    report.target(
        f"every optimizer's 5-fold R² within {SCORE_SLACK} of least squares'",
        not missed,
        "missed: " + (", ".join(missed) if missed else "none"),
    )
    n_samples, n_features = config["raw"]
    rows, scores = raw_column_rows(n_samples, n_features)
    report.table(
        ["estimator", "test R²"],
        rows,
        caption=f"`make_regression({n_samples}, {n_features}, n_informative="
        f"{n_features // 2}, noise=10)`, each column multiplied by "
        "10**U(-6, 6), 75/25 split:",
    )
    difference = abs(
        scores["GDRegressor() on raw columns"]
        - scores["StandardScaler + GDRegressor()"]
    )
    report.target(
        "raw columns scaled by 10**U(-6, 6): test R² within 0.001 of the "
        "standardised pipeline's",
        difference <= 1e-3,
        f"difference {difference:.2e}",
    )
    return report
