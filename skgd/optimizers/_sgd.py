"""Stochastic gradient descent, with or without (Nesterov) momentum.

Their examples assume ``import numpy as np``.
"""

from functools import partial
from numbers import Real

import numpy as np

from ._base import _CLOSED_UNIT, _UNIT, Optimizer, _register

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    Without momentum, :math:`\theta_t = \theta_{t-1} - \eta g_t`. With momentum
    :math:`\mu > 0`, the buffer starts at :math:`b_1 = g_1`, then
    :math:`b_t = \mu b_{t-1} + (1 - \tau) g_t` and :math:`\theta_t =
    \theta_{t-1} - \eta b_t`, or :math:`\theta_{t-1} - \eta (g_t + \mu b_t)`
    with Nesterov momentum.

    Parameters
    ----------
    momentum : float in [0, 1), default=0.0
        Momentum factor :math:`\mu`.
    dampening : float in [0, 1], default=0.0
        Dampening :math:`\tau` of the gradient added to the buffer.
    nesterov : bool, default=False
        Use Nesterov momentum; requires ``momentum > 0`` and ``dampening=0``.

    References
    ----------
    B. T. Polyak, "Some methods of speeding up the convergence of iteration
    methods", 1964. Y. Nesterov, "A method for solving the convex programming
    problem with convergence rate O(1/k^2)", 1983. I. Sutskever et al., "On the
    importance of initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> from skgd.optimizers import SGD, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> state = OptimizerState(SGD(momentum=0.9), [w])
    >>> for _ in range(2):
    ...     state.step([w], [np.array([1.0, -1.0])], lr=0.1)
    >>> w
    array([ 0.71, -1.71])
    """

    compiled_rule = "sgd"

    _parameter_constraints = {
        "momentum": [_UNIT],
        "dampening": [_CLOSED_UNIT],
        "nesterov": ["boolean"],
    }
    default_learning_rate = 0.01

    def __init__(self, momentum=0.0, dampening=0.0, nesterov=False):
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov

    def _validate_params(self):
        super()._validate_params()
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening=0, got "
                f"momentum={self.momentum!r} and dampening={self.dampening!r}."
            )

    def auto_learning_rate(self, lipschitz=None, scale=1.0):
        """Return ``(1 - momentum) / lipschitz`` when it is known.

        Plain gradient descent with step ``1 / L`` decreases an ``L``-smooth
        objective at every step. Momentum accumulates past gradients into an
        effective step ``lr / (1 - momentum)``, so the step is reduced by
        that factor to keep the same effective step. Without a Lipschitz
        estimate, the default rate is returned.
        """
        if isinstance(lipschitz, Real) and 0 < lipschitz < np.inf:
            return (1.0 - self.momentum) / lipschitz
        return self.default_learning_rate

    def init_state(self, param):
        return {"b": np.zeros_like(param)} if self.momentum else {}

    def restart(self, state):
        if "b" in state:
            state["b"][...] = 0

    def update(self, param, grad, state, lr, t):
        if self.momentum:
            b = state["b"]
            if t == 1:
                b[...] = grad
            else:
                b *= self.momentum
                b += (1 - self.dampening) * grad
            grad = grad + self.momentum * b if self.nesterov else b
        param -= lr * grad


_register("sgd", SGD)
_register("momentum", partial(SGD, momentum=0.9))
_register("nesterov", partial(SGD, momentum=0.9, nesterov=True))
