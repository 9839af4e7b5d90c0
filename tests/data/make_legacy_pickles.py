"""Write ``estimators-0.1.0.pkl``: fitted estimators pickled by skgd 0.1.0.

Run from the repository root, with the oldest supported NumPy, SciPy and
scikit-learn (``.ci/min-requirements.txt``) so that every supported release
can read the file, on a checkout of the release whose pickles must load::

    python tests/data/make_legacy_pickles.py

The file holds, per case, the fitted estimator, a few rows of X, and what
the estimator predicted for them when it was written. ``tests/test_persistence.py``
loads it with the code of today and checks the predictions and that training
goes on.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import skgd
from skgd import GDClassifier, GDRegressor, MLPGDClassifier, MLPGDRegressor
from skgd.optimizers import Adam
from skgd.schedules import CosineAnnealing

OUT = Path(__file__).with_name(f"estimators-{skgd.__version__}.pkl")


def _cases():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, -1.0, 2.0]
    signal = X @ [1.0, -0.2, 8.0, 0.5]
    y = signal + 0.3 * rng.normal(size=120)
    labels = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    sparse = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    Y = np.column_stack([y, -y + 1.0])
    return {
        "GDRegressor-defaults": (GDRegressor(), X, y),
        "GDRegressor-adam-averaged": (
            GDRegressor(
                optimizer=Adam(beta_2=0.99),
                schedule=CosineAnnealing(),
                learning_rate=0.01,
                average=True,
                max_iter=20,
                random_state=0,
            ),
            X,
            y,
        ),
        "GDRegressor-huber-sparse": (
            GDRegressor(loss="huber", optimizer="rmsprop", max_iter=20, random_state=0),
            sparse,
            y,
        ),
        "GDClassifier-defaults": (GDClassifier(), X, labels),
        "GDClassifier-hinge-nadam": (
            GDClassifier(loss="hinge", optimizer="nadam", max_iter=20, random_state=0),
            X,
            labels > 0,
        ),
        "MLPGDClassifier-adam": (
            MLPGDClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
            X,
            labels,
        ),
        "MLPGDClassifier-sparse-momentum": (
            MLPGDClassifier(
                hidden_layer_sizes=(5, 3),
                optimizer="momentum",
                activation="tanh",
                max_iter=30,
                random_state=0,
            ),
            sparse,
            labels,
        ),
        "MLPGDRegressor-early-stopping": (
            MLPGDRegressor(
                hidden_layer_sizes=(6,),
                early_stopping=True,
                max_iter=30,
                random_state=0,
            ),
            X,
            Y,
        ),
    }


def main():
    saved = {}
    for name, (est, X, y) in _cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        rows = X[:10]
        method = getattr(est, "predict_proba", est.predict)
        saved[name] = (est, rows, y[:10], method(rows))
    with OUT.open("wb") as f:
        pickle.dump(saved, f, protocol=4)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(saved)} estimators)")


if __name__ == "__main__":
    main()
