"""Lazy sparse steps: plain SGD on CSR data at the cost of the batches' non-zeros.

The compiled kernel catches a coefficient up (its L2 shrinkage, its L1
soft-thresholding, its share of the running average and of the epoch's
objective) only when a batch reads it; these tests check that it takes that
path and that it gives what the dense steps of the NumPy reference loop
give: the parameters, the average, the loss curve.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skgd import GDClassifier, GDRegressor
from skgd.linear import _backend
from skgd.training._loop import reference_epochs

N_ROWS, N_FEATURES = 400, 1500


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    # About 4 non-zeros a row over 1,500 features: batches of up to 32 rows
    # hold fewer non-zeros than a tenth of the features, so they step lazily.
    X = sp.random(N_ROWS, N_FEATURES, density=0.003, format="csr", random_state=rng)
    X.data *= rng.lognormal(0, 1, size=X.nnz)  # columns of different spreads
    coef = rng.normal(size=N_FEATURES)
    y = X @ coef + 3.0 + 0.1 * rng.normal(size=N_ROWS)
    weight = rng.uniform(0.2, 3.0, size=N_ROWS)
    return X, y, weight


def _targets(y, kind):
    if kind == "regression":
        return y
    if kind == "two targets":
        return np.c_[y, 1.0 - 2.0 * y]
    if kind == "binary":
        return (y > np.median(y)).astype(int)
    return np.digitize(y, np.quantile(y, [0.33, 0.66]))  # three classes


CASES = [
    (GDRegressor, "regression", "squared_error"),
    (GDRegressor, "two targets", "squared_error"),
    (GDRegressor, "regression", "huber"),
    (GDRegressor, "regression", "epsilon_insensitive"),
    (GDClassifier, "binary", "log_loss"),
    (GDClassifier, "binary", "hinge"),
    (GDClassifier, "three classes", "log_loss"),
    (GDClassifier, "three classes", "modified_huber"),
]


def _fit_both(Estimator, X, y, sample_weight=None, **params):
    settings = {"optimizer": "sgd", "max_iter": 3, "tol": None, "random_state": 0}
    settings.update(params)
    lazy_before = _backend._linear_epoch.lazy_epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = Estimator(**settings).fit(X, y, sample_weight=sample_weight)
        lazy = _backend._linear_epoch.lazy_epochs - lazy_before
        with reference_epochs():
            reference = Estimator(**settings).fit(X, y, sample_weight=sample_weight)
    return compiled, reference, lazy


def _assert_same_fit(compiled, reference, rtol):
    scale = max(np.abs(reference.coef_).max(), 1.0)
    np.testing.assert_allclose(
        compiled.coef_, reference.coef_, rtol=0, atol=rtol * scale
    )
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=rtol, atol=rtol * scale
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=rtol)


@pytest.mark.parametrize("Estimator, kind, loss", CASES)
@pytest.mark.parametrize(
    "penalty, average, batch_size, weighted",
    [
        ("l2", False, 1, False),
        ("l2", True, 8, True),
        ("l2", 50, 32, False),  # averaging starts within the first epoch
        ("l1", False, 8, True),
        ("l1", True, 1, False),
        ("l1", 50, 32, True),
        (None, True, 8, False),
    ],
)
def test_lazy_steps_equal_the_dense_steps(
    data, Estimator, kind, loss, penalty, average, batch_size, weighted
):
    X, y, weight = data
    compiled, reference, lazy = _fit_both(
        Estimator,
        X,
        _targets(y, kind),
        weight if weighted else None,
        loss=loss,
        penalty=penalty,
        alpha=0.003,
        average=average,
        batch_size=batch_size,
    )
    assert lazy == 3  # every epoch stepped lazily
    _assert_same_fit(compiled, reference, 1e-10)


@pytest.mark.parametrize(
    "penalty, average", itertools.product(["l2", "l1"], [False, True])
)
def test_lazy_steps_in_float32(data, penalty, average):
    X, y, _ = data
    compiled, reference, lazy = _fit_both(
        GDRegressor,
        X.astype(np.float32),
        y.astype(np.float32),
        penalty=penalty,
        alpha=0.003,
        average=average,
        batch_size=8,
    )
    assert lazy == 3
    assert compiled.coef_.dtype == np.float32
    _assert_same_fit(compiled, reference, 1e-5)


def test_unshuffled_and_explicit_rate(data):
    X, y, _ = data
    compiled, reference, lazy = _fit_both(
        GDRegressor, X, y, shuffle=False, learning_rate=0.002, batch_size=4
    )
    assert lazy == 3
    _assert_same_fit(compiled, reference, 1e-10)


def test_a_schedule_that_changes_the_rate_every_step_steps_densely(data):
    X, y, _ = data
    compiled, reference, lazy = _fit_both(
        GDRegressor, X, y, schedule="invscaling", batch_size=8
    )
    assert lazy == 0  # catching every coefficient up at every step costs more
    _assert_same_fit(compiled, reference, 1e-10)


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "momentum"},
        {"optimizer": "adam"},
        {"penalty": "elasticnet"},
        {"batch_size": 200},  # 800 non-zeros a batch: more than a tenth of 1,500
    ],
)
def test_configurations_without_lazy_steps_step_densely(data, params):
    X, y, _ = data
    settings = {"batch_size": 8, **params}  # with their defaults
    compiled, reference, lazy = _fit_both(GDRegressor, X, y, **settings)
    assert lazy == 0
    _assert_same_fit(compiled, reference, 1e-10)


def test_a_rate_beyond_the_l2_part_s_stability(data):
    # The rate beyond the L2 part's stability (rho < 0) steps coefficient by
    # coefficient inside the lazy path, and still equals the dense steps.
    X, y, _ = data
    compiled, reference, lazy = _fit_both(
        GDRegressor, X, y, alpha=1.0, learning_rate=1.5, batch_size=1, max_iter=1
    )
    assert lazy == 1
    _assert_same_fit(compiled, reference, 1e-10)


def test_sparse_data_is_centred_only_for_full_batches(data):
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver = GDRegressor(max_iter=5).fit(X, y)
        full = GDRegressor(optimizer="sgd", batch_size=None, max_iter=2).fit(X, y)
        steps = GDRegressor(optimizer="sgd", max_iter=2, tol=None).fit(X, y)
        dense = GDRegressor(optimizer="sgd", max_iter=2, tol=None).fit(X.toarray(), y)
    assert np.any(solver._offset != 0) and np.any(full._offset != 0)
    assert not np.any(steps._offset) and not steps._centred
    assert np.any(dense._offset != 0)
    # Uncentred, the model still has its intercept.
    np.testing.assert_allclose(steps.intercept_, 3.0, atol=0.5)


def test_partial_fit_on_sparse_chunks_keeps_the_zero_offset(data):
    X, y, _ = data
    est = GDRegressor(batch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the chunks' spreads differ
        for rows in np.array_split(np.arange(N_ROWS), 4):
            est.partial_fit(X[rows], y[rows])
    assert not np.any(est._offset)
