"""An L1 penalty gives exact zeros in every configuration of the batches.

Stochastic proximal steps threshold by a small step and averaging by none;
a (mini-)batch fit therefore ends on one full-batch proximal-gradient step
(``_BaseLinear._polish``), which carries the zeros of the optimum.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_selection import SelectFromModel

from skgd import GDClassifier, GDRegressor
from skgd.linear._model import _BaseLinear


def _regression():
    return make_regression(2000, 50, n_informative=5, noise=1, random_state=0)


def _classification():
    return make_classification(2000, 50, n_informative=5, random_state=0)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {},  # batches of 200, averaged from the second epoch
        {"batch_size": 32},
        {"batch_size": 8, "average": True},
        {"batch_size": 1},
        {"batch_size": 32, "average": False},
    ],
)
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_l1_leaves_the_irrelevant_coefficients_exactly_zero(Estimator, params):
    X, y = _regression() if Estimator is GDRegressor else _classification()
    est = _fit(Estimator(penalty="l1", alpha=0.1, random_state=0, **params), X, y)
    assert np.count_nonzero(est.coef_ == 0) >= 40


def test_select_from_model_keeps_the_informative_features():
    X, y = _regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selector = SelectFromModel(GDRegressor(penalty="l1", alpha=0.1, random_state=0))
        kept = selector.fit(X, y).get_support().sum()
    assert 5 <= kept <= 10


def _objective(est, X, y):
    """0.5 mean squared error + alpha |spread * coef|_1 (the standardised L1)."""
    residual = X @ est.coef_ + est.intercept_ - y
    return 0.5 * np.mean(residual**2) + est.alpha * np.sum(
        X.std(axis=0) * np.abs(est.coef_)
    )


def test_the_final_proximal_step_lowers_the_objective(monkeypatch):
    X, y = _regression()
    est = _fit(
        GDRegressor(penalty="l1", alpha=0.1, batch_size=32, random_state=0), X, y
    )
    monkeypatch.setattr(_BaseLinear, "_polish", lambda *args: None)
    plain = _fit(
        GDRegressor(penalty="l1", alpha=0.1, batch_size=32, random_state=0), X, y
    )
    assert np.count_nonzero(plain.coef_ == 0) < 10  # the average has no zeros
    assert _objective(est, X, y) <= _objective(plain, X, y)
    # The step moves the average little: the same model, with zeros.
    np.testing.assert_allclose(
        est.coef_, plain.coef_, atol=0.05 * np.abs(plain.coef_).max()
    )


def test_full_batch_and_l2_fits_are_not_polished(monkeypatch):
    X, y = _regression()
    calls = []
    original = _BaseLinear._polish

    def record(self, model, state, data, config):
        result = original(self, model, state, data, config)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(_BaseLinear, "_polish", record)
    _fit(GDRegressor(penalty="l1", alpha=0.1, batch_size=None, random_state=0), X, y)
    _fit(GDRegressor(penalty="l2", batch_size=32, random_state=0), X, y)
    _fit(GDRegressor(penalty="l1", alpha=0.1, batch_size=32, random_state=0), X, y)
    assert calls == [False, False, True]
