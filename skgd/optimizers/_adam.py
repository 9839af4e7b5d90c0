"""The Adam family: bias-corrected moment estimates (Adam, AdamW, NAdam,
RAdam, Adamax).

Their examples assume ``import numpy as np``.
"""

import math
from functools import partial
from numbers import Real

import numpy as np

from ._base import (
    _BETAS,
    _NONNEG,
    Optimizer,
    _DecoupledWeightDecay,
    _ema,
    _register,
)

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]


class _Moments(Optimizer):
    """Hyperparameters and buffers shared by the Adam family."""

    _parameter_constraints = {**_BETAS, "epsilon": [_NONNEG]}
    default_learning_rate = 0.01

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def init_state(self, param):
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}


class Adam(_Moments):
    r"""Adam: bias-corrected running averages of the gradient and its square.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \theta_t = \theta_{t-1} - \eta \,
            \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    AMSGrad replaces :math:`v_t` in the step by :math:`\max(v_1, \dots, v_t)`.

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of the first- and second-moment averages.
    epsilon : float >= 0, default=1e-8
        Added to the square root for numerical stability.
    amsgrad : bool, default=False
        Use the AMSGrad variant.

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization", ICLR
    2015. S. J. Reddi, S. Kale and S. Kumar, "On the convergence of Adam and
    beyond", ICLR 2018.

    Examples
    --------
    >>> from skgd.optimizers import Adam, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(Adam(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.9, -1.9])
    """

    compiled_rule = "adam"

    _parameter_constraints = {**_Moments._parameter_constraints, "amsgrad": ["boolean"]}

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False):
        super().__init__(beta_1, beta_2, epsilon)
        self.amsgrad = amsgrad

    def init_state(self, param):
        state = super().init_state(param)
        if self.amsgrad:
            state["v_max"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, lr, t):
        # In place, with one scratch array: the step is a dozen vectorised
        # operations and no other allocation, which matters for the many
        # small steps of mini-batch training.
        m, v = state["m"], state["v"]
        work = np.multiply(grad, 1 - self.beta_1)
        m *= self.beta_1
        m += work
        np.multiply(grad, grad, out=work)
        work *= 1 - self.beta_2
        v *= self.beta_2
        v += work
        if self.amsgrad:
            v = np.maximum(state["v_max"], v, out=state["v_max"])
        # sqrt(v_t / (1 - beta_2^t)) + epsilon, then the bias-corrected step.
        np.sqrt(v, out=work)
        work *= 1 / math.sqrt(1 - self.beta_2**t)
        work += self.epsilon
        np.divide(m, work, out=work)
        work *= lr / (1 - self.beta_1**t)
        param -= work


class AdamW(_DecoupledWeightDecay, Adam):
    r"""Adam with decoupled weight decay.

    Each step first shrinks the weights, :math:`\theta \leftarrow (1 - \eta
    \lambda) \theta`, then makes the :class:`Adam` step. Intercepts and
    biases are not decayed (see :attr:`OptimizerState.decay_index`).

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of the first- and second-moment averages.
    epsilon : float >= 0, default=1e-8
        Added to the square root for numerical stability.
    weight_decay : float >= 0, default=0.01
        Decoupled weight decay :math:`\lambda`, scaled by the learning rate.
        With ``learning_rate="auto"``, an estimator derives the rate from
        the estimated scale :math:`s` of the coefficients,
        :math:`\eta = 0.01 s`, and decays by :math:`1 - \eta \lambda / s`
        (see :attr:`OptimizerState.decay_scale`): the decay is relative to
        the coefficients' scale, so the fitted model does not depend on the
        units of y. An explicit learning rate decays by
        :math:`1 - \eta \lambda`, as ``torch.optim.AdamW``.
    amsgrad : bool, default=False
        Use the AMSGrad variant.

    References
    ----------
    I. Loshchilov and F. Hutter, "Decoupled weight decay regularization", ICLR
    2019.

    Examples
    --------
    >>> from skgd.optimizers import AdamW, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> state = OptimizerState(AdamW(weight_decay=0.5), [w])
    >>> state.step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.85, -1.8 ])
    """

    compiled_rule = "adam"

    _parameter_constraints = {**Adam._parameter_constraints, "weight_decay": [_NONNEG]}

    def __init__(
        self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.01, amsgrad=False
    ):
        super().__init__(beta_1, beta_2, epsilon, amsgrad)
        self.weight_decay = weight_decay


class NAdam(_Moments):
    r"""NAdam: Adam with Nesterov momentum and a momentum warm-up schedule.

    With :math:`m_t, v_t` as in :class:`Adam`, :math:`\mu_t = \beta_1 (1 -
    0.96^{t \psi} / 2)` and :math:`\Pi_t = \mu_1 \cdots \mu_t`,

    .. math::

        \theta_t = \theta_{t-1} - \eta \Big(\frac{\mu_{t+1} m_t}{1 - \Pi_t
            \mu_{t+1}} + \frac{(1 - \mu_t) g_t}{1 - \Pi_t}\Big) \Big/
            \Big(\sqrt{v_t / (1 - \beta_2^t)} + \epsilon\Big)

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of the first- and second-moment averages.
    epsilon : float >= 0, default=1e-8
        Added to the square root for numerical stability.
    momentum_decay : float >= 0, default=0.004
        Speed :math:`\psi` of the momentum warm-up.

    References
    ----------
    T. Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016 workshop.

    Examples
    --------
    >>> from skgd.optimizers import NAdam, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(NAdam(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w.round(4)
    array([ 0.8944, -1.8944])
    """

    compiled_rule = "nadam"

    _parameter_constraints = {
        **_Moments._parameter_constraints,
        "momentum_decay": [_NONNEG],
    }
    default_learning_rate = 0.01

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum_decay=0.004):
        super().__init__(beta_1, beta_2, epsilon)
        self.momentum_decay = momentum_decay

    def init_state(self, param):
        return {**super().init_state(param), "mu_product": 1.0}

    def update(self, param, grad, state, lr, t):
        b1, psi = self.beta_1, self.momentum_decay
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        _ema(state["m"], grad, b1)
        _ema(state["v"], grad**2, self.beta_2)
        m_hat = mu_next / (1 - mu_product * mu_next) * state["m"]
        m_hat += (1 - mu) / (1 - mu_product) * grad
        v_hat = state["v"] / (1 - self.beta_2**t)
        param -= lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


class RAdam(_Moments):
    r"""RAdam: Adam with a rectified adaptive step that needs no warm-up.

    With :math:`m_t, v_t` as in :class:`Adam`, :math:`\rho_\infty = 2 / (1 -
    \beta_2) - 1` and :math:`\rho_t = \rho_\infty - 2 t \beta_2^t / (1 -
    \beta_2^t)`, the step is :math:`\theta_t = \theta_{t-1} - \eta m_t / (1 -
    \beta_1^t)` while :math:`\rho_t \le 5`, and afterwards

    .. math::

        \theta_t = \theta_{t-1} - \eta \, \frac{m_t}{1 - \beta_1^t}
            \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}
            \sqrt{\frac{(\rho_t - 4)(\rho_t - 2) \rho_\infty}
                {(\rho_\infty - 4)(\rho_\infty - 2) \rho_t}}

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of the first- and second-moment averages.
    epsilon : float >= 0, default=1e-8
        Added to :math:`\sqrt{v_t}` (before bias correction, unlike Adam).

    References
    ----------
    L. Liu et al., "On the variance of the adaptive learning rate and beyond",
    ICLR 2020.

    Examples
    --------
    >>> from skgd.optimizers import RAdam, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(RAdam(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.7 , -1.95])
    """

    compiled_rule = "radam"

    default_learning_rate = 0.1

    def auto_learning_rate(self, lipschitz=None, scale=1.0):
        """The default step, capped at ``1 / lipschitz``.

        Until the variance of the adaptive step is tractable (the first
        steps), RAdam takes plain momentum steps ``lr * m_hat``, which are
        only safe below ``1 / lipschitz``.
        """
        rate = self.default_learning_rate * scale
        if isinstance(lipschitz, Real) and 0 < lipschitz < np.inf:
            rate = min(rate, 1.0 / lipschitz)
        return rate

    def update(self, param, grad, state, lr, t):
        b2 = self.beta_2
        _ema(state["m"], grad, self.beta_1)
        _ema(state["v"], grad**2, b2)
        m_hat = state["m"] / (1 - self.beta_1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            r_t = np.sqrt(
                (rho_t - 4)
                * (rho_t - 2)
                * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            m_hat *= r_t * np.sqrt(1 - b2**t) / (np.sqrt(state["v"]) + self.epsilon)
        param -= lr * m_hat


class Adamax(_Moments):
    r"""Adamax: Adam with an infinity norm in place of the second moment.

    With :math:`m_t` as in :class:`Adam` and :math:`u_0 = 0`,
    :math:`u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)` and
    :math:`\theta_t = \theta_{t-1} - \eta m_t / ((1 - \beta_1^t) u_t)`.

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of the first moment and of the infinity norm.
    epsilon : float >= 0, default=1e-8
        Added to :math:`|g_t|` inside the maximum, for numerical stability.

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization", ICLR
    2015, section 7.1.

    Examples
    --------
    >>> from skgd.optimizers import Adamax, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(Adamax(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.9, -1.9])
    """

    compiled_rule = "adamax"

    default_learning_rate = 0.01

    def update(self, param, grad, state, lr, t):
        _ema(state["m"], grad, self.beta_1)
        u = state["v"]  # the infinity norm u_t
        np.maximum(self.beta_2 * u, np.abs(grad) + self.epsilon, out=u)
        param -= lr / (1 - self.beta_1**t) * state["m"] / u


_register("adam", Adam)
_register("amsgrad", partial(Adam, amsgrad=True))
_register("adamw", AdamW)
_register("nadam", NAdam)
_register("radam", RAdam)
_register("adamax", Adamax)
