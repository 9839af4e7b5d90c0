"""The compiled epoch of MLPGDClassifier takes exactly the steps of the NumPy loop.

Every built-in optimizer and activation, binary, multiclass and multilabel
targets, sample and class weights, dense (C and Fortran order, other
strides) and CSR data, float32 and float64, batches of every size, early
stopping, partial_fit streams and warm starts: after a few epochs the two
backends agree to rounding (1e-10 relative in float64, 1e-5 in float32).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import pytest
import scipy.sparse as sp
from _backends import OPTIMIZERS, CountCalls, fit_both
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from skgd import MLPGDClassifier, MLPGDRegressor
from skgd.network import _backend as compiled
from skgd.network._activations import ACTIVATIONS as REGISTERED_ACTIVATIONS
from skgd.network._model import _MLPModel
from skgd.optimizers import (
    SGD,
)
from skgd.training._loop import reference_epochs
from skgd.training._state import DivergenceError


def test_the_compiled_extension_is_built():
    # Without it every epoch would run on the NumPy loop: fail, never skip.
    assert compiled.available(), "build it with: pip install -e ."


# Every registered activation (each must have a compiled twin).
ACTIVATIONS = list(REGISTERED_ACTIVATIONS)


def _data(targets="multiclass", kind="dense", dtype=np.float64, n=160, seed=0):
    """Standardised features, and labels (an indicator matrix if multilabel)."""
    if targets == "multilabel":
        X, y = make_multilabel_classification(
            n, n_features=6, n_classes=3, random_state=seed
        )
    else:
        X, y = make_classification(
            n,
            n_features=6,
            n_informative=4,
            n_classes=3 if targets == "multiclass" else 2,
            random_state=seed,
        )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if kind == "fortran":
        X = np.asfortranarray(X)
    elif kind == "strided":  # every other column of a wider array
        X = np.repeat(X, 2, axis=1)[:, ::2]
    elif kind == "sparse":
        X[np.abs(X) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    return X.astype(dtype), y


def _fit_both(X, y, fit=None, **params):
    """Fit on both backends; return (compiled, reference), checking both ran."""
    params = {
        "hidden_layer_sizes": (7, 5),
        "max_iter": 3,
        "tol": None,
        "random_state": 0,
        **params,
    }
    fit = fit or (lambda est: est.fit(X, y))
    return fit_both(lambda: MLPGDClassifier(**params), fit, compiled._NetworkEpoch)


def _count_compiled_calls():
    return CountCalls(compiled._NetworkEpoch)


def _assert_same(fast, slow, dtype=np.float64, rtol=None):
    if rtol is None:
        rtol = 1e-10 if dtype == np.float64 else 1e-5
    fitted = (fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_)
    scale = max(max(np.abs(p).max() for p in fitted[1]), 1.0)
    for a, b in zip(*fitted, strict=True):
        assert a.dtype == b.dtype == dtype
        assert_allclose(a, b, rtol=rtol, atol=rtol * scale)
    assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=rtol)
    assert fast.t_ == slow.t_
    assert fast.n_iter_ == slow.n_iter_


def _id(optimizer):
    return optimizer if isinstance(optimizer, str) else repr(optimizer)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
def test_every_optimizer_and_activation(optimizer, activation):
    X, y = _data()
    weight = np.random.RandomState(1).uniform(0, 2, size=len(y))
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        optimizer=optimizer,
        activation=activation,
        alpha=0.01,
        batch_size=8,
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("weights", [None, "sample_weight", "class_weight"])
@pytest.mark.parametrize("targets", ["binary", "multiclass", "multilabel"])
def test_every_kind_of_target_and_weight(targets, weights):
    if targets == "multilabel" and weights == "class_weight":
        pytest.skip("class_weight is not supported for multilabel targets")
    X, y = _data(targets)
    sample_weight = None
    params = {}
    if weights == "sample_weight":
        sample_weight = np.random.RandomState(2).uniform(0, 3, size=len(y))
        sample_weight[::7] = 0.0
    elif weights == "class_weight":
        params["class_weight"] = "balanced" if targets == "binary" else {0: 3, 2: 0.5}
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=sample_weight),
        optimizer="adam",
        batch_size=16,
        **params,
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "fortran", "strided", "sparse"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
def test_every_data_layout(optimizer, kind, dtype):
    if dtype == np.float32 and getattr(optimizer, "centered", False):
        # v - g_avg**2 cancels in float32: with epsilon=1e-8, perturbing X
        # by one unit in the last place moves the reference's own weights by
        # 8e-6, next to the tolerance. A larger epsilon damps the cancellation
        # (1e-6 then); the centred rule is the same.
        optimizer = clone(optimizer).set_params(epsilon=1e-5)
    X, y = _data("multiclass", kind, dtype)
    weight = np.random.RandomState(3).uniform(0, 2, size=len(y)).astype(dtype)
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        optimizer=optimizer,
        activation="tanh",
        alpha=0.01,
        batch_size=4,
    )
    _assert_same(fast, slow, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "fortran", "strided", "sparse"])
def test_raw_columns_take_the_same_steps(kind, dtype):
    # Columns of spreads from 1e-3 to 1e3, shifted when dense: the first
    # layer trains on the rescaled (and centred) inputs in both loops.
    X, y = _data("multiclass", kind, np.float64)
    spreads = np.logspace(-3, 3, X.shape[1])
    if kind == "sparse":
        X = (X @ sp.diags(spreads)).tocsr()
    else:
        X = X * spreads + 10 * spreads
    X = X.astype(dtype)
    weight = np.random.RandomState(4).uniform(0, 2, size=len(y)).astype(dtype)
    fast, slow = _fit_both(
        X,
        y,
        fit=lambda est: est.fit(X, y, sample_weight=weight),
        optimizer="adam",
        alpha=0.01,
        batch_size=8,
    )
    _assert_same(fast, slow, dtype)
    assert fast._input_scale is not None


def test_a_first_layer_scaling_of_the_wrong_size_is_refused(monkeypatch):
    X, y = _data()
    clf = MLPGDClassifier((5,), max_iter=1, tol=None, random_state=0)
    real = _MLPModel.rescaling_arguments

    def short(model):
        offset, inv_scale, first = real(model)
        return offset, inv_scale[:-1], first

    monkeypatch.setattr(_MLPModel, "rescaling_arguments", short)
    with pytest.raises(ValueError, match="5 spreads and 6 centres for 6 inputs"):
        clf.fit(X, y)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("kind", ["dense", "fortran", "sparse"])
@pytest.mark.parametrize("batch_size", [1, 7, 32, None])
def test_every_batch_size_and_order(batch_size, kind, shuffle):
    X, y = _data("multiclass", kind)
    fast, slow = _fit_both(
        X, y, optimizer="nadam", batch_size=batch_size, shuffle=shuffle, alpha=0.1
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("batch_size", [16, None])
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_early_stopping_trains_on_the_same_rows(kind, batch_size):
    X, y = _data("multiclass", kind, n=300)
    fast, slow = _fit_both(
        X,
        y,
        optimizer="adam",
        batch_size=batch_size,
        early_stopping=True,
        max_iter=6,
        n_iter_no_change=100,
    )
    _assert_same(fast, slow)
    assert_allclose(fast.validation_scores_, slow.validation_scores_, rtol=1e-10)


@pytest.mark.parametrize("optimizer", ["sgd", "nadam", "adadelta"])
def test_partial_fit_stream(optimizer):
    X, y = _data("multiclass", n=200)

    def stream(est):
        for start in range(0, 200, 25):
            stop = start + 25
            est.partial_fit(X[start:stop], y[start:stop], classes=[0, 1, 2])
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


def test_products_on_blas_threads_take_the_same_steps(monkeypatch):
    # Whether BLAS may use its threads only changes how fast the products are.
    monkeypatch.setattr(compiled, "_THREADED_PRODUCT", 0)
    X, y = _data(n=300)
    fast, slow = _fit_both(X, y, optimizer="adam", batch_size=None)
    _assert_same(fast, slow)


def _blas_threads():
    return [
        info["num_threads"]
        for info in ThreadpoolController().info()
        if info["user_api"] == "blas"
    ]


def test_small_products_run_on_one_blas_thread_in_the_main_thread(monkeypatch):
    # Every product of these epochs is in the range run on one BLAS thread.
    monkeypatch.setattr(compiled, "_SERIAL_PRODUCT", 1)
    seen = []
    kernel = compiled._network_epoch.network_epoch

    def spying(*args):
        seen.append(max(_blas_threads()))
        return kernel(*args)

    monkeypatch.setattr(compiled._network_epoch, "network_epoch", spying)
    before = _blas_threads()
    X, y = _data(n=400)

    def fit(seed):
        est = MLPGDClassifier((30,), batch_size=4, max_iter=3, tol=None)
        return est.set_params(random_state=seed).fit(X, y)

    fit(0)
    assert seen == [1, 1, 1]
    assert _blas_threads() == before
    # Epochs in other threads leave the limits alone: they cannot interleave
    # (and OpenBLAS ignores a limit set from another thread).
    seen.clear()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fit, range(4)))
    assert seen == [max(before)] * 12
    assert _blas_threads() == before


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_divergence_is_caught_in_the_same_epoch(kind):
    X, y = _data("multiclass", kind)
    X = X * 30
    errors = []
    for context in (False, True):
        calls = _count_compiled_calls()
        try:
            backend = reference_epochs() if context else nullcontext()
            # A decaying step: the message names the diverging batch's own.
            est = MLPGDClassifier(
                (20,),
                optimizer="sgd",
                learning_rate=1e3,
                schedule="invscaling",
                batch_size=4,
                max_iter=5,
                random_state=0,
            )
            with backend, pytest.raises(DivergenceError) as error:
                est.fit(X, y)
            errors.append(str(error.value))
        finally:
            calls.undo()
        assert calls.count == (0 if context else 1)
    assert errors[0] == errors[1]
    # A failed fit leaves no fitted attributes behind, on either backend.
    assert not hasattr(est, "coefs_")


class _MySGD(SGD):
    """A subclass may change the rule: it must run on the reference loop."""

    def update(self, param, grad, state, lr, t):
        param -= 0.5 * lr * grad


def test_unknown_optimizers_and_layouts_run_on_the_reference_loop():
    X, y = _data()
    params = {"hidden_layer_sizes": (5,), "batch_size": 8, "max_iter": 2, "tol": None}
    calls = _count_compiled_calls()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = MLPGDClassifier(optimizer=_MySGD(), **params).fit(X, y)
            # CSR with 64-bit indices, and X with a negative stride.
            wide = sp.csr_matrix(X)
            wide.indices = wide.indices.astype(np.int64)
            wide.indptr = wide.indptr.astype(np.int64)
            MLPGDClassifier(**params).fit(wide, y)
            MLPGDClassifier(**params).fit(X[:, ::-1], y)
    finally:
        calls.undo()
    assert calls.count == 0
    assert all(np.isfinite(W).all() for W in est.coefs_)


def test_float32_training_stays_float32_on_the_compiled_backend():
    X, y = _data(dtype=np.float32)
    fast, slow = _fit_both(X, y, optimizer="adam", batch_size=1)
    _assert_same(fast, slow, np.float32)
    assert all(b.dtype == np.float32 for b in fast.intercepts_)


# -- the regressor -------------------------------------------------------------------


def _regression_data(loss, kind, dtype, n_targets, n=120, seed=0):
    """Raw-scale features and targets of several units (counts for Poisson)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5)) * np.logspace(-1, 2, 5) + 3.0
    signal = np.tanh(X / np.logspace(-1, 2, 5) - 3.0) @ rng.normal(size=(5, n_targets))
    if loss == "poisson":
        Y = rng.poisson(np.exp(0.5 * signal)).astype(float)
    else:
        Y = 100.0 * signal + 40.0 + rng.normal(size=signal.shape)
    if kind == "sparse":
        X[rng.uniform(size=X.shape) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    elif kind == "fortran":
        X = np.asfortranarray(X)
    y = Y[:, 0] if n_targets == 1 else Y
    return X.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "fortran", "sparse"])
@pytest.mark.parametrize("loss", ["squared_error", "huber", "poisson"])
def test_the_regressor_takes_the_same_steps(loss, kind, dtype, n_targets):
    X, y = _regression_data(loss, kind, dtype, n_targets)
    weight = np.random.RandomState(5).uniform(0, 2, size=X.shape[0]).astype(dtype)
    params = dict(
        hidden_layer_sizes=(7, 5),
        loss=loss,
        epsilon=20.0,
        alpha=0.01,
        batch_size=16,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    fast, slow = fit_both(
        lambda: MLPGDRegressor(**params),
        lambda est: est.fit(X, y, sample_weight=weight),
        compiled._NetworkEpoch,
    )
    _assert_same(fast, slow, dtype)
    np.testing.assert_allclose(
        fast.predict(X),
        slow.predict(X),
        rtol=1e-10 if dtype == np.float64 else 1e-4,
        atol=1e-10 if dtype == np.float64 else 1e-3,
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
def test_the_regressor_with_every_optimizer(optimizer):
    X, y = _regression_data("huber", "dense", np.float64, 2)
    fast, slow = fit_both(
        lambda: MLPGDRegressor(
            (6,),
            loss="huber",
            epsilon=30.0,
            optimizer=optimizer,
            batch_size=8,
            max_iter=2,
            tol=None,
            random_state=0,
        ),
        lambda est: est.fit(X, y),
        compiled._NetworkEpoch,
    )
    _assert_same(fast, slow)


def test_an_unknown_output_code_is_refused(monkeypatch):
    X, y = _regression_data("squared_error", "dense", np.float64, 1)
    monkeypatch.setitem(compiled._network_epoch.OUTPUTS, "squared_error", 7)
    with pytest.raises(ValueError, match="unknown output 7"):
        MLPGDRegressor((3,), max_iter=1, tol=None, random_state=0).fit(X, y)
