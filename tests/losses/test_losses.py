"""The loss and penalty objects alone: values and derivatives.

The losses of the linear estimators (skgd.losses); the tests of the models
that use them, and of the estimators, stay with the estimators.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skgd.losses._classification import (
    BinaryLogLoss,
    Hinge,
    ModifiedHuber,
    MultinomialLogLoss,
    SquaredHinge,
)
from skgd.losses._regression import REGRESSION_LOSSES, Penalty, get_regression_loss

# -- regression losses and penalties ---------------------------------------------


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_loss_gradient_matches_finite_differences(loss):
    rng = np.random.RandomState(0)
    r = rng.uniform(-2, 2, size=50)
    # Keep away from the kinks, where the derivative is not defined.
    r = r[np.min(np.abs(np.abs(r)[:, None] - [0.0, 0.1]), axis=1) > 1e-3]
    obj = get_regression_loss(loss, epsilon=0.1, quantile=0.3)
    value, grad = obj.of_residual(r)
    h = 1e-6
    numeric = (obj.of_residual(r + h)[0] - obj.of_residual(r - h)[0]) / (2 * h)
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert value.shape == r.shape and np.all(value >= 0)


def test_loss_values():
    r = np.array([-3.0, -0.05, 0.0, 2.0])
    assert_allclose(get_regression_loss("squared_error").of_residual(r)[0], r**2 / 2)
    huber = get_regression_loss("huber", epsilon=1.0).of_residual(r)[0]
    assert_allclose(huber, [2.5, 0.00125, 0.0, 1.5])
    eps = get_regression_loss("epsilon_insensitive", epsilon=0.1).of_residual(r)[0]
    assert_allclose(eps, [2.9, 0.0, 0.0, 1.9])
    sq_eps = get_regression_loss("squared_epsilon_insensitive", epsilon=0.1)
    assert_allclose(sq_eps.of_residual(r)[0], [2.9**2, 0.0, 0.0, 1.9**2])
    quantile = get_regression_loss("quantile", quantile=0.8).of_residual(r)[0]
    # r = p - y: r < 0 is an under-prediction, weighted by the quantile.
    assert_allclose(quantile, [2.4, 0.04, 0.0, 0.4])


def test_penalty_values_and_prox():
    w = np.array([0.5, -0.05, 2.0, 0.0])
    penalty = Penalty("elasticnet", alpha=2.0, l1_ratio=0.25)
    assert penalty.l1 == 0.5 and penalty.l2 == 1.5
    expected = 0.5 * np.abs(w).sum() + 0.5 * 1.5 * (w**2).sum()
    assert penalty.value(w) == pytest.approx(expected)
    grad = np.zeros(4)
    penalty.add_gradient(w, grad)
    assert_allclose(grad, 1.5 * w)
    penalty.prox(w, step=0.2)  # threshold 0.1
    assert_allclose(w, [0.4, 0.0, 1.9, 0.0])
    # Per-coefficient thresholds: the prox of l1 * sum(weight * |w|).
    penalty.prox(w, step=0.2, weight=np.array([2.0, 1.0, 10.0, 1.0]))
    assert_allclose(w, [0.2, 0.0, 0.9, 0.0])
    assert Penalty(None, 1.0, 0.5).value(w) == 0.0


# -- classification losses -----------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [BinaryLogLoss(), Hinge(1.0), Hinge(0.0), SquaredHinge(), ModifiedHuber()],
    ids=["log", "hinge", "perceptron", "squared_hinge", "modified_huber"],
)
def test_margin_losses_follow_sgdclassifier_definitions(loss):
    m = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    expected = {
        "BinaryLogLoss": np.log1p(np.exp(-m)),
        "Hinge": np.maximum(0, getattr(loss, "threshold", 0) - m),
        "SquaredHinge": np.maximum(0, 1 - m) ** 2,
        "ModifiedHuber": np.where(m < -1, -4 * m, np.maximum(0, 1 - m) ** 2),
    }[type(loss).__name__]
    values, _ = loss.of_margin(m)
    assert_allclose(values, expected)


@pytest.mark.parametrize(
    "loss",
    [
        BinaryLogLoss(),
        Hinge(1.0),
        SquaredHinge(),
        ModifiedHuber(),
        MultinomialLogLoss(),
    ],
    ids=["log", "hinge", "squared_hinge", "modified_huber", "multinomial"],
)
def test_loss_derivatives_match_finite_differences(loss):
    rng = np.random.RandomState(0)
    k = 3 if isinstance(loss, MultinomialLogLoss) else 2
    y = np.eye(k)[rng.randint(k, size=6)]
    # Away from the hinges' kinks, where the derivative is defined.
    z = rng.uniform(-2.5, 2.5, size=(6, k))
    z[np.isclose(np.abs(z), 1, atol=0.05)] += 0.2
    weight = rng.uniform(0.5, 2, size=6)
    _, grad = loss.total_gradient(z.copy(), y, weight)
    h = 1e-6
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        plus, _ = loss.total_gradient(z + step, y, weight)
        minus, _ = loss.total_gradient(z - step, y, weight)
        numeric[index] = (plus - minus) / (2 * h)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
