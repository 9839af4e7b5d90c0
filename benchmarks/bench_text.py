"""Text classification and regression on sparse tf-idf and hashed features.

The documents are generated offline from a fixed vocabulary: word ``i`` has a
Zipf frequency ``1 / (i + 1)**1.1``, and each class multiplies the
frequencies of its own 2 % of the vocabulary (its topical words) by factors
drawn from U(2, 6); a document draws a Poisson(80) + 5 number of words from
its class's distribution. ``TfidfVectorizer()`` and
``HashingVectorizer(n_features=2**16, alternate_sign=False)`` (2**10 in the
quick run) turn them into
CSR matrices, for two classes and for twenty; a 75/25 split. Each estimator's
defaults are timed with a plain ``fit()``, interleaved, and scored by test
accuracy. The rows of plain SGD on batches of 8 (20 epochs) show the lazy
sparse steps of the compiled kernel. The regression rows fit the tf-idf
matrix of the two-class documents to ``y = X @ w + 0.1 N(0, 1)``.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split

from skgd import GDClassifier, GDRegressor

from ._common import Report, fmt, interleaved, median, ratio, timed

NAME = "text"
FULL = {"n_documents": 10_000, "vocabulary": 20_000, "hashed": 2**16}
QUICK = {"n_documents": 400, "vocabulary": 1_000, "hashed": 2**10}
SLACK = 0.005
CLASSIFIERS = {
    "GDClassifier()": lambda: GDClassifier(random_state=0),
    "GDClassifier(optimizer='sgd', batch_size=8, max_iter=20)": lambda: GDClassifier(
        optimizer="sgd", batch_size=8, max_iter=20, random_state=0
    ),
    "SGDClassifier()": lambda: SGDClassifier(random_state=0),
    "LogisticRegression(solver='saga')": lambda: LogisticRegression(solver="saga"),
}
REGRESSORS = {
    "GDRegressor()": lambda: GDRegressor(random_state=0),
    "GDRegressor(optimizer='sgd', batch_size=8, max_iter=20)": lambda: GDRegressor(
        optimizer="sgd", batch_size=8, max_iter=20, random_state=0
    ),
    "SGDRegressor()": lambda: SGDRegressor(random_state=0),
}


def documents(n_documents, n_classes, vocabulary, seed=0):
    """``n_documents`` texts of ``n_classes`` topics, and their classes."""
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    labels = rng.integers(n_classes, size=n_documents)
    lengths = rng.poisson(80, size=n_documents) + 5
    words = np.array([f"w{i}" for i in range(vocabulary)], dtype=object)
    texts = np.empty(n_documents, dtype=object)
    for label in range(n_classes):
        boost = np.ones(vocabulary)
        topical = rng.choice(vocabulary, size=max(vocabulary // 50, 1), replace=False)
        boost[topical] = rng.uniform(2.0, 6.0, size=topical.size)
        p = frequency * boost
        members = np.flatnonzero(labels == label)
        drawn = rng.choice(vocabulary, size=lengths[members].sum(), p=p / p.sum())
        for member, chunk in zip(
            members, np.split(drawn, np.cumsum(lengths[members])[:-1]), strict=True
        ):
            texts[member] = " ".join(words[chunk])
    return list(texts), labels


def _fit(make, X_train, y_train, X_test, y_test):
    estimator = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(estimator.fit, X_train, y_train)
    return seconds, estimator.score(X_test, y_test)


def _measure(estimators, split, repeats):
    runs = interleaved(
        {
            name: (lambda make=make: _fit(make, *split))
            for name, make in estimators.items()
        },
        repeats,
    )
    return {
        name: (median(r[0] for r in results), median(r[1] for r in results))
        for name, results in runs.items()
    }


def run(mode, out_dir):
    config = QUICK if mode.quick else FULL
    report = Report(NAME, "Text: sparse tf-idf and hashed features", mode)
    report.text(__doc__.split("\n\n", 1)[1].replace("\n", " "))
    rows, ratios = [], []
    for n_classes in (2, 20):
        texts, labels = documents(
            config["n_documents"], n_classes, config["vocabulary"]
        )
        for vectorizer in (
            TfidfVectorizer(),
            HashingVectorizer(n_features=config["hashed"], alternate_sign=False),
        ):
            X = vectorizer.fit_transform(texts)
            X_train, X_test, y_train, y_test = train_test_split(
                X, labels, test_size=0.25, random_state=0
            )
            split = (X_train, y_train, X_test, y_test)
            results = _measure(CLASSIFIERS, split, mode.repeats)
            data = (
                f"{type(vectorizer).__name__}, {n_classes} classes "
                f"({X_train.shape[0]} × {X_train.shape[1]}, "
                f"{X_train.nnz / X_train.shape[0]:.0f} non-zeros a row)"
            )
            sgd, saga = (
                results["SGDClassifier()"],
                results["LogisticRegression(solver='saga')"],
            )
            for name, (seconds, accuracy) in results.items():
                rows.append(
                    [
                        data,
                        name,
                        fmt(seconds),
                        fmt(accuracy, ".4f"),
                        fmt(ratio(seconds, sgd[0]), ".2f"),
                        fmt(ratio(seconds, saga[0]), ".2f"),
                    ]
                )
            ours = results["GDClassifier()"]
            ratios.append((data, ours, sgd, saga))
    report.table(
        ["data", "Estimator", "fit() s", "test accuracy", "× SGDClassifier", "× saga"],
        rows,
    )
    regression_rows(report, config, mode)
    for data, ours, sgd, saga in ratios:
        to_sgd, to_saga = ratio(ours[0], sgd[0]), ratio(ours[0], saga[0])
        accurate = ours[1] >= max(sgd[1], saga[1]) - SLACK
        report.target(
            f"{data}: GDClassifier() fits in ≤ 1.0 × SGDClassifier's time and "
            f"≤ 0.5 × LogisticRegression(saga)'s, at accuracy ≥ both − {SLACK}",
            to_sgd is not None and to_sgd <= 1.0 and to_saga <= 0.5 and accurate,
            f"{fmt(to_sgd, '.2f')} × and {fmt(to_saga, '.2f')} ×; accuracy "
            f"{ours[1]:.4f} against {sgd[1]:.4f} and {saga[1]:.4f}",
        )
    return report


def regression_rows(report, config, mode):
    texts, _ = documents(config["n_documents"], 2, config["vocabulary"])
    X = TfidfVectorizer().fit_transform(texts)
    rng = np.random.RandomState(0)
    y = X @ rng.normal(size=X.shape[1]) + 0.1 * rng.normal(size=X.shape[0])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    results = _measure(REGRESSORS, (X_train, y_train, X_test, y_test), mode.repeats)
    sgd = results["SGDRegressor()"]
    report.table(
        ["Estimator", "fit() s", "test R²", "× SGDRegressor"],
        [
            [name, fmt(seconds), fmt(r2, ".4f"), fmt(ratio(seconds, sgd[0]), ".2f")]
            for name, (seconds, r2) in results.items()
        ],
        caption="Regression on the tf-idf matrix of the two-class documents, "
        "y = X @ w + 0.1 · N(0, 1), w ~ N(0, 1):",
    )
    ours = results["GDRegressor()"]
    to_sgd = ratio(ours[0], sgd[0])
    report.target(
        "sparse regression: GDRegressor() fits in ≤ 1.0 × SGDRegressor's time",
        to_sgd is not None and to_sgd <= 1.0,
        f"{fmt(to_sgd, '.2f')} ×; test R² {ours[1]:.4f} against {sgd[1]:.4f}",
    )
