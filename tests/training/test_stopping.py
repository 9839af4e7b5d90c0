"""The gradient rule, the loss rule and optimizer="auto" of the linear models."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skgd import GDClassifier, GDRegressor
from skgd.optimizers import LBFGS, SGD


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(30_000, 20, noise=10.0, random_state=0)
    return StandardScaler().fit_transform(X), y


def _relative_gradient(reg, X, y):
    """The gradient rule's measure, computed from ``coef_`` and ``intercept_``.

    The objective is the mean squared error over 2 plus ``alpha / 2`` times
    the squared norm of ``coef_``; its gradient in the rescaled coordinates
    ``theta = p * coef`` is the gradient in ``coef`` divided by ``p``. The
    reference is the gradient at the start: zero coefficients and the mean
    target as intercept.
    """
    p = reg._scale

    def gradient(coef, intercept):
        residual = X @ coef + intercept - y
        g_coef = X.T @ residual / len(y) + reg.alpha * coef
        return np.append(g_coef / p, residual.mean())

    start = gradient(np.zeros(X.shape[1]), y.mean())
    end = gradient(reg.coef_, reg.intercept_[0])
    return np.linalg.norm(end) / np.linalg.norm(start)


@pytest.mark.parametrize("tol", [1e-2, 1e-3, 1e-4])
def test_the_gradient_rule_stops_at_the_relative_gradient_tol(regression, tol):
    X, y = regression
    reg = GDRegressor(optimizer="sgd", tol=tol, random_state=0).fit(X, y)
    measured = _relative_gradient(reg, X, y)
    assert measured == pytest.approx(reg._state.remaining, rel=1e-6)
    assert measured <= tol
    # It stopped at the first epoch that met the rule (every epoch of
    # shuffled mini-batches is checked): one epoch less does not.
    with pytest.warns(ConvergenceWarning, match="gradient is still"):
        GDRegressor(
            optimizer="sgd", tol=tol, max_iter=reg.n_iter_ - 1, random_state=0
        ).fit(X, y)


def test_the_gradient_rule_stops_before_the_loss_rule_on_large_data(regression):
    # The loss rule waits n_iter_no_change epochs of noise past the optimum
    # (10 epochs on 100,000 rows where 2 reach OLS's R²).
    X, y = regression
    gradient = GDRegressor(optimizer="sgd", random_state=0).fit(X, y)
    loss = GDRegressor(optimizer="sgd", convergence="loss", random_state=0)
    loss.fit(X, y)
    assert gradient.n_iter_ <= 3 < loss.n_iter_
    ridge = Ridge(alpha=gradient.alpha * len(y)).fit(X, y)
    assert gradient.score(X, y) == pytest.approx(ridge.score(X, y), abs=1e-6)


def test_the_gradient_rule_works_on_sparse_data(regression):
    X, y = regression
    dense = GDRegressor(optimizer="sgd", random_state=0).fit(X, y)
    sparse = GDRegressor(optimizer="sgd", random_state=0).fit(sp.csr_matrix(X), y)
    assert sparse.n_iter_ == dense.n_iter_
    assert sparse._state.remaining == pytest.approx(dense._state.remaining, rel=1e-6)


def test_the_gradient_rule_measures_the_proximal_mapping_with_l1():
    X, y = make_regression(3000, 30, n_informative=5, noise=1.0, random_state=0)
    params = dict(optimizer="sgd", penalty="l1", alpha=0.1, batch_size=None)
    reg = GDRegressor(**params, random_state=0).fit(X, y)
    assert reg._state.remaining <= reg.tol
    # The gradient itself does not vanish at the optimum of an L1 penalty:
    # on zero coefficients it is up to alpha.
    assert np.count_nonzero(reg.coef_ == 0) >= 20


def test_the_warning_of_a_stalled_fit_and_the_point_it_returns():
    # Single-row steps of constant size without averaging hover around the
    # optimum: the fit stalls, warns, and returns its best measured point
    # (the default schedule would lower the rate instead).
    X, y = load_diabetes(return_X_y=True)
    reg = GDRegressor(
        optimizer="sgd",
        batch_size=1,
        average=False,
        schedule="constant",
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning) as record:
        reg.fit(X, y)
    message = str(record[0].message)
    assert re.search(r"epochs in a row lowered neither", message)
    found = re.search(r"gradient is still ([0-9.e+-]+) times", message)
    assert float(found.group(1)) == pytest.approx(reg._state.remaining, rel=5e-3)
    assert reg.n_iter_ < reg.max_iter
    assert reg._state.remaining > reg.tol


@pytest.mark.parametrize(
    "loss, rule", [("hinge", None), ("perceptron", None), ("log_loss", "gradient")]
)
def test_auto_uses_the_gradient_rule_for_differentiable_losses(loss, rule):
    X, y = make_classification(2000, 10, random_state=0)
    clf = GDClassifier(loss=loss, optimizer="sgd", random_state=0).fit(X, y)
    assert (clf._state.remaining is not None) == (rule == "gradient")


def test_the_gradient_rule_refuses_a_non_differentiable_loss():
    X, y = make_classification(200, 5, random_state=0)
    with pytest.raises(ValueError, match="convergence='gradient' needs a diff"):
        GDClassifier(loss="hinge", convergence="gradient").fit(X, y)
    with pytest.raises(InvalidParameterError, match="convergence"):
        GDRegressor(convergence="objective").fit(X, y)


def test_the_loss_rule_is_scikit_learns():
    # An absolute tol on the epoch's objective, n_iter_no_change epochs.
    X, y = load_diabetes(return_X_y=True)
    params = dict(optimizer="sgd", convergence="loss", random_state=0)
    reg = GDRegressor(**params).fit(X, y)
    curve = np.asarray(reg.loss_curve_)
    best_before = np.minimum.accumulate(curve)[:-1]
    improved = curve[1:] <= best_before - reg.tol
    assert not improved[-reg.n_iter_no_change :].any()
    assert reg._state.remaining is None


# -- optimizer="auto" ------------------------------------------------------------


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, LBFGS),
        ({"loss": "huber"}, LBFGS),
        ({"penalty": None}, LBFGS),
        ({"penalty": "l1"}, SGD),
        ({"penalty": "elasticnet"}, SGD),
        ({"loss": "absolute_error"}, SGD),
        ({"early_stopping": True}, SGD),
        ({"learning_rate": 0.1}, SGD),
        ({"schedule": "invscaling"}, SGD),
        ({"batch_size": 32}, SGD),
        ({"batch_size": None}, SGD),
        ({"average": True}, SGD),
    ],
)
def test_auto_picks_lbfgs_where_nothing_it_ignores_is_asked(params, expected):
    X, y = make_regression(500, 5, noise=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = GDRegressor(random_state=0, **params).fit(X, y)
    assert type(reg.optimizer_) is expected


def test_auto_streams_with_sgd_and_warm_starts_with_lbfgs():
    X, y = make_regression(500, 5, noise=1.0, random_state=0)
    reg = GDRegressor(random_state=0).partial_fit(X, y)
    assert type(reg.optimizer_) is SGD
    reg = GDRegressor(warm_start=True, random_state=0).fit(X, y)
    first = reg.n_iter_
    reg.fit(X, y)  # already at the optimum
    assert type(reg.optimizer_) is LBFGS and reg.n_iter_ < first
    # A chunk after a fit steps with SGD from the fitted coefficients.
    before = reg.coef_.copy()
    reg.partial_fit(X, y)
    assert type(reg.optimizer_) is SGD
    np.testing.assert_allclose(reg.coef_, before, rtol=1e-2)
