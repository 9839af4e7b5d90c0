"""The compiled epoch of GDRegressor takes exactly the steps of the NumPy loop.

Every built-in loss and optimizer, dense (C and Fortran order) and CSR data,
float32 and float64, sample weights, penalties, one or several targets,
shuffled batches of every size, averaging, early stopping and partial_fit
streams: after a few epochs the two backends agree to rounding (1e-10
relative in float64, 1e-5 in float32).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import pytest
import scipy.sparse as sp
from _backends import OPTIMIZERS, CountCalls, fit_both
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skgd import GDClassifier, GDRegressor
from skgd.linear import _backend as compiled
from skgd.losses._classification import CLASSIFICATION_LOSSES
from skgd.losses._regression import REGRESSION_LOSSES
from skgd.optimizers import (
    SGD,
)
from skgd.training import _loop as _training
from skgd.training._loop import reference_epochs
from skgd.training._state import DivergenceError


def test_the_compiled_extension_is_built():
    # Without it every epoch would run on the NumPy loop: fail, never skip.
    assert compiled.available(), "build it with: pip install -e ."


def _data(kind="dense", dtype=np.float64, n_targets=1, seed=0, n=120, n_features=7):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features)) * np.logspace(-1, 1, n_features) + 2.0
    coef = rng.normal(size=(n_features, n_targets))
    y = X @ coef + rng.standard_t(3, size=(n, n_targets))
    y = y[:, 0] if n_targets == 1 else y
    if kind == "fortran":
        X = np.asfortranarray(X)
    elif kind == "sparse":
        X = sp.random(n, n_features, density=0.4, format="csr", random_state=seed)
        X.data = X.data * 3 - 1
        y = X @ coef + rng.normal(size=(n, n_targets))
        y = y[:, 0] if n_targets == 1 else y
    return X.astype(dtype), y.astype(dtype)


def _fit_both(X, y, fit=None, estimator=GDRegressor, **params):
    """Fit on both backends; return (compiled, reference), checking both ran."""
    params = {"max_iter": 3, "tol": None, "random_state": 0, **params}
    fit = fit or (lambda est: est.fit(X, y))
    return fit_both(lambda: estimator(**params), fit, compiled._LinearEpoch)


def _count_compiled_calls():
    return CountCalls(compiled._LinearEpoch)


def _assert_same(fast, slow, dtype=np.float64, rtol=None):
    if rtol is None:
        rtol = 1e-10 if dtype == np.float64 else 1e-5
    scale = max(np.abs(slow.coef_).max(), np.abs(slow.intercept_).max(), 1.0)
    assert fast.coef_.dtype == slow.coef_.dtype == dtype
    assert_allclose(fast.coef_, slow.coef_, rtol=rtol, atol=rtol * scale)
    assert_allclose(fast.intercept_, slow.intercept_, rtol=rtol, atol=rtol * scale)
    assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=rtol)
    assert fast.t_ == slow.t_
    assert fast.n_iter_ == slow.n_iter_


def _id(optimizer):
    return optimizer if isinstance(optimizer, str) else repr(optimizer)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
def test_every_loss_and_optimizer(optimizer, loss):
    X, y = _data()
    weight = np.random.RandomState(1).uniform(0, 2, size=len(y))
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        optimizer=optimizer,
        loss=loss,
        penalty="elasticnet",
        alpha=0.01,
        batch_size=8,
    )
    # AdaGrad's first steps, g / |g|, under Huber's clipping and the
    # standardised elastic net are chaotic here: one unit in the last place
    # of one entry of X moves the reference's own coefficients by 1.3e-8
    # (measured), and the backends, whose roundings differ, by 1e-7.
    chaotic = optimizer == "adagrad" and loss == "huber"
    _assert_same(fast, slow, rtol=1e-6 if chaotic else None)


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "fortran", "sparse"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
def test_every_data_layout(optimizer, kind, dtype, n_targets):
    # A moderate fixed step: with the automatic one, a few of these fits
    # (AdaGrad on batches of 4) amplify rounding so much that perturbing y
    # by one unit in the last place moves the reference's own result by
    # more than the tolerance; no two implementations could agree there.
    X, y = _data(kind, dtype, n_targets)
    weight = np.random.RandomState(2).uniform(0, 2, size=len(y)).astype(dtype)
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        optimizer=optimizer,
        loss="huber",
        penalty="l2",
        alpha=0.01,
        batch_size=4,
        learning_rate=0.01,
    )
    rtol = None
    if dtype == np.float32 and getattr(optimizer, "centered", False):
        # v - g_avg**2 cancels in float32: perturbing y by one unit in the
        # last place moves the reference's own coefficients by up to 5e-4.
        rtol = 1e-3
    _assert_same(fast, slow, dtype, rtol)


@pytest.mark.parametrize("batch_size", [1, 2, 7, 64, 119, None])
@pytest.mark.parametrize("penalty", [None, "l1", "elasticnet"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_every_batch_size_penalty_and_intercept(batch_size, penalty, fit_intercept):
    X, y = _data()
    fast, slow = _fit_both(
        X,
        y,
        optimizer="momentum",
        batch_size=batch_size,
        penalty=penalty,
        alpha=0.05,
        fit_intercept=fit_intercept,
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("average", ["auto", True, 10, False])
def test_averaging_and_order(average, shuffle):
    X, y = _data()
    fast, slow = _fit_both(
        X, y, optimizer="sgd", batch_size=1, average=average, shuffle=shuffle
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_early_stopping_trains_on_the_same_rows(kind):
    X, y = _data(kind, n=300)
    fast, slow = _fit_both(
        X,
        y,
        optimizer="adam",
        batch_size=16,
        early_stopping=True,
        max_iter=6,
        n_iter_no_change=100,
    )
    _assert_same(fast, slow)
    assert_allclose(fast.validation_scores_, slow.validation_scores_, rtol=1e-10)


@pytest.mark.parametrize("batch_size", [8, None])
def test_early_stopping_full_batch_skips_the_held_out_rows(batch_size):
    X, y = _data(n=200)
    fast, slow = _fit_both(
        X, y, optimizer="sgd", batch_size=batch_size, early_stopping=True
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("optimizer", ["sgd", "nadam", "adadelta"])
def test_partial_fit_stream(optimizer):
    X, y = _data(n=200)

    def stream(est):
        for start in range(0, 200, 25):
            est.partial_fit(X[start : start + 25], y[start : start + 25])
        return est

    fast, slow = _fit_both(X, y, fit=stream, optimizer=optimizer, batch_size=4)
    _assert_same(fast, slow)


def test_warm_start_continues_the_optimizer_state():
    X, y = _data()

    def twice(est):
        est.set_params(warm_start=True)
        est.fit(X, y)
        return est.fit(X * 1.1, y)

    fast, slow = _fit_both(X, y, fit=twice, optimizer="nadam", batch_size=8)
    _assert_same(fast, slow)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_divergence_is_caught_in_the_same_epoch(kind):
    X, y = _data(kind)
    errors = []
    for backend in (nullcontext, reference_epochs):
        with backend():
            est = GDRegressor(optimizer="sgd", learning_rate=1e4, batch_size=4)
            with pytest.raises(DivergenceError) as error:
                est.fit(X, y)
            errors.append(str(error.value))
    assert errors[0] == errors[1]
    # A failed fit leaves no fitted attributes behind, on either backend.
    assert not hasattr(est, "coef_")


def test_reference_epochs_restores_the_backend_after_an_error():
    assert not _training.reference_epochs_forced()
    with pytest.raises(RuntimeError), reference_epochs():
        assert _training.reference_epochs_forced()
        raise RuntimeError
    assert not _training.reference_epochs_forced()


def test_reference_epochs_holds_in_its_own_thread_only():
    X, y = _data()
    calls = _count_compiled_calls()
    try:
        with reference_epochs(), ThreadPoolExecutor(1) as pool:
            params = dict(batch_size=8, max_iter=2, tol=None, random_state=0)
            other = pool.submit(GDRegressor(**params).fit, X, y).result()
            here = GDRegressor(**params).fit(X, y)
    finally:
        calls.undo()
    assert calls.count == 2  # the other thread's two epochs only
    _assert_same(other, here)


class _MySGD(SGD):
    """A subclass may change the rule: it must run on the reference loop."""

    def update(self, param, grad, state, lr, t):
        param -= 0.5 * lr * grad


def test_unknown_optimizers_and_layouts_run_on_the_reference_loop():
    X, y = _data()
    est = GDRegressor(optimizer=_MySGD(), batch_size=8, max_iter=2, tol=None)
    calls = _count_compiled_calls()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            # X with a negative stride.
            GDRegressor(batch_size=8, max_iter=2, tol=None).fit(X[:, ::-1], y)
    finally:
        calls.undo()
    assert calls.count == 0
    assert np.isfinite(est.coef_).all()


def test_csr_with_64_bit_indices_runs_compiled_and_equals_32_bit():
    X, y = _data()
    narrow = sp.csr_matrix(X)
    wide = narrow.copy()
    wide.indices = wide.indices.astype(np.int64)
    wide.indptr = wide.indptr.astype(np.int64)
    fits = []
    calls = _count_compiled_calls()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for matrix in (narrow, wide):
                est = GDRegressor(batch_size=8, max_iter=2, tol=None, random_state=0)
                fits.append(est.fit(matrix, y))
    finally:
        calls.undo()
    assert calls.count == 4  # two epochs of each fit
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)


def test_float32_training_stays_float32_on_the_compiled_backend():
    X, y = _data(dtype=np.float32)
    fast, slow = _fit_both(X, y, optimizer="adam", batch_size=1)
    _assert_same(fast, slow, np.float32)
    assert fast.intercept_.dtype == np.float32


# -- GDClassifier ------------------------------------------------------------------


def _classes(X, n_classes, seed=0):
    """Labels from the sign pattern of random projections of X."""
    rng = np.random.RandomState(seed)
    scores = X @ rng.normal(size=(X.shape[1], n_classes))
    scores = np.asarray(scores) + rng.normal(scale=0.5, size=scores.shape)
    return np.asarray(scores).argmax(axis=1)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_every_classification_loss(loss, optimizer, n_classes):
    X, _ = _data()
    y = _classes(X, n_classes)
    weight = np.random.RandomState(3).uniform(0, 2, size=len(y))
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        estimator=GDClassifier,
        loss=loss,
        optimizer=optimizer,
        penalty="elasticnet",
        alpha=0.01,
        batch_size=8,
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("batch_size", [1, 5, None])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "fortran", "sparse"])
def test_classifier_data_layouts(kind, dtype, batch_size):
    X, _ = _data(kind, dtype)
    y = np.array(["a", "b", "c", "d"])[_classes(X, 4)]
    fast, slow = _fit_both(
        X,
        y,
        estimator=GDClassifier,
        batch_size=batch_size,
        class_weight={"a": 2.0},
        early_stopping=batch_size is not None,
        learning_rate=0.05,
    )
    _assert_same(fast, slow, dtype)
