"""GDClassifier against SGDClassifier and LogisticRegression.

Standardised ``make_classification(n_samples=100_000, n_features=50,
n_informative=30, n_classes=5)``, split 75/25. Two measurements:

- defaults: the time of a plain ``fit()`` that stops by itself, and the test
  accuracy it reaches, for ``GDClassifier()`` (log-loss: multinomial
  logistic regression), ``SGDClassifier()`` (hinge, one-vs-rest),
  ``SGDClassifier(loss="log_loss")`` and ``LogisticRegression(max_iter=1000)``;
- the marginal cost of an epoch of ``GDClassifier(loss="hinge",
  optimizer="sgd")`` for each batch size, against an ``SGDClassifier()``
  epoch on the same rows (both train the five one-vs-rest problems):
  (time of ``fit`` with ``max_iter=k2`` - time with ``max_iter=k1``) /
  ``(k2 - k1)``, ``tol=None``.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier

from ._common import (
    Report,
    classification_split,
    fmt,
    interleaved,
    median,
    ratio,
    timed,
)

# The reference solver, labelled with the setting it runs with.
LOGISTIC = "LogisticRegression(max_iter=1000)"

NAME = "classification"
FULL = {"n_samples": 100_000, "epochs": (1, 4)}
QUICK = {"n_samples": 4_000, "epochs": (1, 2)}
BATCH_SIZES = (1, 32, 256, None)
# A defaults fit within this much test accuracy of the reference counts as
# equal quality.
ACCURACY_SLACK = 0.005


def standardised_split(n_samples):
    """The shared classification split, standardised on its training part."""
    X_train, X_test, y_train, y_test = classification_split(n_samples)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def quiet_fit(estimator, X, y):
    """Fit with ConvergenceWarnings silenced; return the seconds it took."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(estimator.fit, X, y)
    return seconds


def epoch_costs(data, epochs, repeats):
    X_train, _, y_train, _ = data
    k1, k2 = epochs

    def marginal(make):
        short = quiet_fit(make(k1), X_train, y_train)
        long = quiet_fit(make(k2), X_train, y_train)
        return (long - short) / (k2 - k1)

    candidates = {
        "SGDClassifier()": lambda: marginal(
            lambda k: SGDClassifier(max_iter=k, tol=None, random_state=0)
        )
    }
    for batch_size in BATCH_SIZES:
        candidates[f"GDClassifier(loss='hinge', batch_size={batch_size})"] = (
            lambda b=batch_size: marginal(
                lambda k: GDClassifier(
                    loss="hinge",
                    optimizer="sgd",
                    batch_size=b,
                    max_iter=k,
                    tol=None,
                    random_state=0,
                )
            )
        )
    results = interleaved(candidates, repeats)
    return {label: median(values) for label, values in results.items()}


def run(mode, out_dir):
    sizes = QUICK if mode.quick else FULL
    data = standardised_split(sizes["n_samples"])
    report = Report(NAME, "Classification: GDClassifier", mode)
    report.text(
        f"Standardised `make_classification` ({len(data[2])} training rows × 50 "
        "features, 5 classes), 75/25 split; medians over the repetitions."
    )
    results = interleaved(_default_runs(data), mode.repeats)
    seconds = {label: median(r[0] for r in runs) for label, runs in results.items()}
    rows = []
    for label, runs in results.items():
        rows.append(
            [
                label,
                fmt(seconds[label]),
                fmt(runs[0][1], ".4f"),
                fmt(runs[0][2], "d"),
                fmt(ratio(seconds[label], seconds["SGDClassifier()"]), ".2f"),
                fmt(ratio(seconds[label], seconds[LOGISTIC]), ".2f"),
            ]
        )
    report.table(
        [
            "Estimator",
            "fit() s",
            "test accuracy",
            "epochs",
            "× SGDClassifier()",
            f"× {LOGISTIC}",
        ],
        rows,
        "## Defaults: plain fit(), stopping by itself",
    )
    ours = results["GDClassifier()"][0][1]
    for reference in ("SGDClassifier()", LOGISTIC):
        share = ratio(seconds["GDClassifier()"], seconds[reference])
        theirs = results[reference][0][1]
        report.target(
            f"GDClassifier() fits in ≤ 0.5 × {reference}'s time at equal or better "
            f"test accuracy (within {ACCURACY_SLACK})",
            share is not None and share <= 0.5 and ours >= theirs - ACCURACY_SLACK,
            f"{fmt(share, '.2f')} ×, accuracy {ours:.4f} vs {theirs:.4f}",
        )
    per_epoch = epoch_costs(data, sizes["epochs"], mode.repeats)
    reference = per_epoch["SGDClassifier()"]
    report.table(
        ["Estimator", "s / epoch", "× SGDClassifier() epoch"],
        [
            [label, fmt(value, ".4f"), fmt(ratio(value, reference), ".2f")]
            for label, value in per_epoch.items()
        ],
        "## Marginal cost of an epoch\n\n"
        f"(fit time with max_iter={sizes['epochs'][1]} − with "
        f"max_iter={sizes['epochs'][0]}) / {sizes['epochs'][1] - sizes['epochs'][0]};"
        " five one-vs-rest hinge problems on every row, as SGDClassifier trains.",
    )
    return report


def _default_runs(data):
    X_train, X_test, y_train, y_test = data
    makers = {
        "GDClassifier()": lambda: GDClassifier(random_state=0),
        "SGDClassifier()": lambda: SGDClassifier(random_state=0),
        "SGDClassifier(loss='log_loss')": lambda: SGDClassifier(
            loss="log_loss", random_state=0
        ),
        LOGISTIC: lambda: LogisticRegression(max_iter=1000),
    }

    def run_one(make):
        estimator = make()
        seconds = quiet_fit(estimator, X_train, y_train)
        epochs = getattr(estimator, "n_iter_", None)
        if epochs is not None and hasattr(epochs, "__len__"):
            epochs = int(max(epochs))
        return seconds, estimator.score(X_test, y_test), epochs

    return {label: (lambda m=make: run_one(m)) for label, make in makers.items()}
