"""Per-coordinate step sizes from running sums of squared gradients:
AdaGrad, RMSProp and Adadelta.

Their examples assume ``import numpy as np``.
"""

import numpy as np

from ._base import _CLOSED_UNIT, _NONNEG, _UNIT, Optimizer, _ema, _register

__all__ = ["AdaGrad", "Adadelta", "RMSProp"]


class AdaGrad(Optimizer):
    r"""AdaGrad: per-coordinate steps scaled by the accumulated squared gradients.

    :math:`s_t = s_{t-1} + g_t^2` and
    :math:`\theta_t = \theta_{t-1} - \eta g_t / (\sqrt{s_t} + \epsilon)`.

    Parameters
    ----------
    initial_accumulator_value : float >= 0, default=0.0
        Starting value :math:`s_0` of the accumulator.
    epsilon : float >= 0, default=1e-10
        Added to the square root for numerical stability.

    References
    ----------
    J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods for online
    learning and stochastic optimization", JMLR 12, 2011.

    Examples
    --------
    >>> from skgd.optimizers import AdaGrad, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(AdaGrad(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.9, -1.9])
    """

    compiled_rule = "adagrad"

    _parameter_constraints = {
        "initial_accumulator_value": [_NONNEG],
        "epsilon": [_NONNEG],
    }
    default_learning_rate = 0.5

    def __init__(self, initial_accumulator_value=0.0, epsilon=1e-10):
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def init_state(self, param):
        return {"s": np.full_like(param, self.initial_accumulator_value)}

    def update(self, param, grad, state, lr, t):
        state["s"] += grad**2
        param -= lr * grad / (np.sqrt(state["s"]) + self.epsilon)


class RMSProp(Optimizer):
    r"""RMSProp: steps scaled by a running average of squared gradients.

    With all buffers starting at 0, :math:`v_t = \rho v_{t-1} + (1 - \rho)
    g_t^2`, :math:`\bar g_t = \rho \bar g_{t-1} + (1 - \rho) g_t`,
    :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{v_t - \bar g_t^2} + \epsilon)` and
    :math:`\theta_t = \theta_{t-1} - \eta b_t`, where :math:`\bar g_t^2` is
    subtracted only when ``centered`` (clipping the difference at 0).

    Parameters
    ----------
    rho : float in [0, 1), default=0.99
        Decay rate :math:`\rho` of the running averages.
    epsilon : float >= 0, default=1e-8
        Added to the square root for numerical stability.
    momentum : float in [0, 1), default=0.0
        Momentum factor :math:`\mu` of the scaled gradient.
    centered : bool, default=False
        Divide by the running standard deviation instead of the running RMS.

    References
    ----------
    T. Tieleman and G. Hinton, "Lecture 6.5 - rmsprop: Divide the gradient by a
    running average of its recent magnitude", COURSERA, 2012.

    Examples
    --------
    >>> from skgd.optimizers import RMSProp, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(RMSProp(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.01)
    >>> w.round(6)
    array([ 0.9, -1.9])
    """

    compiled_rule = "rmsprop"

    _parameter_constraints = {
        "rho": [_UNIT],
        "epsilon": [_NONNEG],
        "momentum": [_UNIT],
        "centered": ["boolean"],
    }
    default_learning_rate = 0.01

    def __init__(self, rho=0.99, epsilon=1e-8, momentum=0.0, centered=False):
        self.rho = rho
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered

    def init_state(self, param):
        state = {"v": np.zeros_like(param)}
        if self.centered:
            state["g_avg"] = np.zeros_like(param)
        if self.momentum:
            state["b"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, lr, t):
        _ema(state["v"], grad**2, self.rho)
        v = state["v"]
        if self.centered:
            _ema(state["g_avg"], grad, self.rho)
            v = np.maximum(v - state["g_avg"] ** 2, 0)
        grad /= np.sqrt(v) + self.epsilon
        if self.momentum:
            b = state["b"]
            b *= self.momentum
            b += grad
            grad = b
        param -= lr * grad


class Adadelta(Optimizer):
    r"""Adadelta: steps scaled by the running RMS of past updates and gradients.

    With :math:`v_0 = u_0 = 0`, :math:`v_t = \rho v_{t-1} + (1 - \rho) g_t^2`,
    :math:`\Delta_t = g_t \sqrt{u_{t-1} + \epsilon} / \sqrt{v_t + \epsilon}`,
    :math:`u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2` and
    :math:`\theta_t = \theta_{t-1} - \eta \Delta_t`.

    Parameters
    ----------
    rho : float in [0, 1], default=0.9
        Decay rate :math:`\rho` of both running averages.
    epsilon : float >= 0, default=1e-6
        Added inside both square roots; it sets the size of the first steps.

    References
    ----------
    M. D. Zeiler, "ADADELTA: An adaptive learning rate method", 2012.

    Examples
    --------
    >>> from skgd.optimizers import Adadelta, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(Adadelta(), [w]).step([w], [np.array([3.0, -0.5])], lr=1.0)
    >>> w.round(5)
    array([ 0.99684, -1.99684])
    """

    compiled_rule = "adadelta"

    _parameter_constraints = {"rho": [_CLOSED_UNIT], "epsilon": [_NONNEG]}
    default_learning_rate = 1.0

    def __init__(self, rho=0.9, epsilon=1e-6):
        self.rho = rho
        self.epsilon = epsilon

    def init_state(self, param):
        return {"v": np.zeros_like(param), "u": np.zeros_like(param)}

    def update(self, param, grad, state, lr, t):
        eps = self.epsilon
        _ema(state["v"], grad**2, self.rho)
        grad *= np.sqrt(state["u"] + eps) / np.sqrt(state["v"] + eps)  # Delta_t
        _ema(state["u"], grad**2, self.rho)
        param -= lr * grad


_register("adagrad", AdaGrad)
_register("rmsprop", RMSProp)
_register("adadelta", Adadelta)
