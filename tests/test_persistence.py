"""Persistence and determinism.

Saving an estimator, at any point of its training, and loading it back must
change nothing: the loaded copy predicts the same, and training it further
gives bit for bit the coefficients that never saving would have given. And
the same ``random_state`` gives bit-identical models, in one process or
several.
"""

import copy
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from _equality import assert_same, fitted_attributes
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.model_selection import GridSearchCV

from skgd import GDRegressor, MLPGDClassifier, MLPGDRegressor
from skgd.optimizers import Adam, available_optimizers, get_optimizer
from skgd.schedules import CosineAnnealing

ESTIMATORS = [
    pytest.param("regressor", id="GDRegressor"),
    pytest.param("classifier", id="MLPGDClassifier"),
    pytest.param("network_regressor", id="MLPGDRegressor"),
]
CLASSES = np.array([0, 1, 2])


def _make(kind, **params):
    if kind == "regressor":
        defaults = dict(optimizer="adam", learning_rate=0.01, random_state=0)
        return GDRegressor(**{**defaults, **params})
    defaults = dict(hidden_layer_sizes=(8,), learning_rate=0.01, random_state=0)
    if kind == "network_regressor":
        return MLPGDRegressor(**{**defaults, **params})
    return MLPGDClassifier(**{**defaults, **params})


def _data(kind, n_samples=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 4))
    signal = X @ [1.0, -2.0, 3.0, 0.5]
    if kind != "classifier":
        return X, signal + 1.0 + 0.3 * rng.normal(size=n_samples)
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))


def _partial_fit(est, X, y):
    if isinstance(est, (GDRegressor, MLPGDRegressor)):
        return est.partial_fit(X, y)
    return est.partial_fit(X, y, classes=CLASSES)


def _outputs(est, X, y):
    """Everything a fitted estimator computes from data."""
    out = [est.predict(X), np.float64(est.score(X, y))]
    if hasattr(est, "predict_proba"):
        out += [est.predict_proba(X), est.predict_log_proba(X)]
    return out


def _round_trip(est, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
    path = tmp_path / "model.joblib"
    if how == "joblib-compressed":
        joblib.dump(est, path, compress=3)
        return joblib.load(path)
    joblib.dump(est, path)
    # Memory-mapped read-only arrays are what a model server would load.
    return joblib.load(path, mmap_mode="r" if how == "joblib-mmap" else None)


SERIALIZERS = ["pickle", "joblib", "joblib-compressed", "joblib-mmap"]


def _quiet(call, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args)


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("how", SERIALIZERS)
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_unfitted_round_trip(kind, how, tmp_path):
    X, y = _data(kind)
    est = _make(kind, optimizer=Adam(beta_2=0.99), schedule=CosineAnnealing())
    loaded = _round_trip(est, how, tmp_path)
    assert_same(loaded.get_params(deep=True), est.get_params(deep=True))
    assert not hasattr(loaded, "_state")
    _quiet(est.fit, X, y)
    _quiet(loaded.fit, X, y)
    assert_same(fitted_attributes(loaded), fitted_attributes(est))


@pytest.mark.parametrize("how", SERIALIZERS)
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_fitted_round_trip_predicts_identically(kind, how, tmp_path):
    X, y = _data(kind)
    est = _quiet(_make(kind, max_iter=20).fit, X, y)
    loaded = _round_trip(est, how, tmp_path)
    assert_same(fitted_attributes(loaded), fitted_attributes(est))
    X_new, y_new = _data(kind, n_samples=50, seed=1)
    expected = _outputs(est, X_new, y_new)
    for now, then in zip(_outputs(loaded, X_new, y_new), expected, strict=True):
        assert_array_equal(now, then)


def _stateful(optimizer):
    """Whether the optimizer keeps buffers between steps."""
    return optimizer not in ("sgd",)


@pytest.mark.parametrize(
    "optimizer",
    [name for name in available_optimizers() if not get_optimizer(name).full_batch],
)
def test_mid_training_round_trip_continues_bit_identically(optimizer, tmp_path):
    X, y = _data("regressor")
    est = GDRegressor(optimizer=optimizer, learning_rate=0.005, random_state=0)
    for _ in range(2):
        est.partial_fit(X, y)
    slots = est._state.optimizer_state.slots
    if _stateful(optimizer):  # the test must carry real optimizer state
        buffers = slots[0].values()
        assert buffers and all(np.any(np.asarray(b) != 0) for b in buffers)
    loaded = _round_trip(est, "pickle", tmp_path)
    assert_same(loaded._state.optimizer_state.slots, slots, "slots")
    assert loaded._state.optimizer_state.t == est._state.optimizer_state.t > 0
    assert_same(loaded._state.random_state, est._state.random_state)
    for model in (est, loaded):
        for _ in range(3):
            model.partial_fit(X, y)
    assert_array_equal(loaded.coef_, est.coef_)
    assert_array_equal(loaded.intercept_, est.intercept_)
    assert_same(fitted_attributes(loaded), fitted_attributes(est))


@pytest.mark.parametrize("how", SERIALIZERS)
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_mid_training_round_trip_of_both_estimators(kind, how, tmp_path):
    X, y = _data(kind)
    chunks = np.array_split(np.arange(len(y)), 4)
    est = _make(kind, optimizer="adam", warm_start=True, max_iter=3, tol=None)
    for rows in chunks[:2]:
        _partial_fit(est, X[rows], y[rows])
    moments = est._state.optimizer_state.slots[0]
    assert np.any(moments["m"] != 0) and np.any(moments["v"] != 0)
    saved = _round_trip(est, how, tmp_path)
    never_saved = copy.deepcopy(est)
    for model in (saved, never_saved):
        for rows in chunks[2:]:
            _partial_fit(model, X[rows], y[rows])
        model.fit(X, y)  # a warm start carries the state on
    assert_same(fitted_attributes(saved), fitted_attributes(never_saved))
    assert_same(
        saved._state.optimizer_state.slots, never_saved._state.optimizer_state.slots
    )


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_saving_does_not_disturb_training(kind, tmp_path):
    X, y = _data(kind)
    saved = _make(kind, max_iter=5, tol=None)
    untouched = clone(saved)
    for model in (saved, untouched):
        _partial_fit(model, X, y)
    joblib.dump(saved, tmp_path / "checkpoint.joblib")
    pickle.dumps(saved)
    for model in (saved, untouched):
        _partial_fit(model, X, y)
    assert_same(fitted_attributes(saved), fitted_attributes(untouched))


# -- determinism -------------------------------------------------------------------


def _randomised(kind, random_state):
    """Every source of randomness on: shuffling, held-out data, initial weights."""
    params = dict(
        batch_size=32,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=15,
        random_state=random_state,
    )
    if kind == "regressor":
        params["average"] = 100
    return _make(kind, **params)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_same_random_state_gives_bit_identical_models(kind):
    X, y = _data(kind)
    first = _quiet(_randomised(kind, 7).fit, X, y)
    second = _quiet(_randomised(kind, 7).fit, X, y)
    assert_same(fitted_attributes(first), fitted_attributes(second))
    from_instance = _quiet(_randomised(kind, np.random.RandomState(7)).fit, X, y)
    assert_same(fitted_attributes(from_instance), fitted_attributes(first))
    # the seed matters, so the equalities above are not vacuous
    other = _quiet(_randomised(kind, 8).fit, X, y)
    coef = "coef_" if kind == "regressor" else "coefs_"
    assert not np.array_equal(
        np.ravel(getattr(other, coef)[0]), np.ravel(getattr(first, coef)[0])
    )


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_refitting_a_clone_gives_the_same_model(kind):
    X, y = _data(kind)
    est = _quiet(_randomised(kind, 3).fit, X, y)
    again = _quiet(clone(est).fit, X, y)
    refit = _quiet(est.fit, X, y)  # fitting twice starts afresh
    assert_same(fitted_attributes(again), fitted_attributes(refit))


def _grid_search(kind, n_jobs):
    if kind == "regressor":
        grid = {"optimizer": ["sgd", "adam"], "alpha": [1e-4, 1e-1]}
    else:
        grid = {"optimizer": ["sgd", "adam"], "alpha": [1e-4, 1.0]}
    return GridSearchCV(
        _make(kind, batch_size=32, max_iter=20, random_state=0),
        grid,
        cv=3,
        n_jobs=n_jobs,
    )


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_grid_search_is_identical_with_one_or_two_processes(kind):
    X, y = _data(kind)
    serial = _quiet(_grid_search(kind, 1).fit, X, y)
    parallel = _quiet(_grid_search(kind, 2).fit, X, y)
    for key, values in serial.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank")):
            assert_array_equal(parallel.cv_results_[key], values, err_msg=key)
    assert parallel.best_params_ == serial.best_params_
    assert_same(
        fitted_attributes(parallel.best_estimator_),
        fitted_attributes(serial.best_estimator_),
    )


# -- pickles of earlier releases -------------------------------------------------

LEGACY = Path(__file__).with_name("data") / "estimators-0.1.0.pkl"


def _load_legacy():
    """The estimators skgd 0.1.0 pickled (tests/data/make_legacy_pickles.py).

    They were written with the oldest supported scikit-learn; a newer one
    warns that the versions differ, as it does for its own estimators.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        with LEGACY.open("rb") as f:
            return pickle.load(f)


def test_pickles_of_release_0_1_0_predict_as_they_did():
    saved = _load_legacy()
    assert len(saved) == 8
    for name, (est, rows, _, expected) in saved.items():
        method = getattr(est, "predict_proba", est.predict)
        assert_allclose(method(rows), expected, rtol=1e-10, atol=1e-12, err_msg=name)


def test_pickles_of_release_0_1_0_train_on():
    for name, (est, rows, y, _) in _load_legacy().items():
        if est.early_stopping:
            continue  # partial_fit refuses early stopping
        n_iter, before = est.n_iter_, est.predict(rows)
        _quiet(est.partial_fit, rows, y)
        assert est.n_iter_ == n_iter + 1, name
        assert np.all(np.isfinite(est.predict(rows).astype(float))), name
        # Fitting afresh forgets the old state: as a new estimator would.
        refit = _quiet(clone(est).fit, rows, y)
        assert_same(
            fitted_attributes(_quiet(est.fit, rows, y)), fitted_attributes(refit)
        )
        assert before.shape == est.predict(rows).shape, name
