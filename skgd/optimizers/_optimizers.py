"""The optimizers: their hyperparameters and update rules (see skgd.optimizers)."""

import math
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval

__all__ = [
    "SGD",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "AdamW",
    "Adamax",
    "LBFGS",
    "Lion",
    "NAdam",
    "Optimizer",
    "OptimizerState",
    "RAdam",
    "RMSProp",
    "available_optimizers",
    "get_optimizer",
]


class Optimizer(BaseEstimator):
    """Base class of all optimizers.

    Subclasses declare their hyperparameters as ``__init__`` arguments (stored
    unchanged, as in every scikit-learn estimator), optionally describe them in
    ``_parameter_constraints``, and implement :meth:`update`. Optimizers that
    keep per-parameter buffers also implement :meth:`init_state`.

    Hyperparameters are validated when an estimator is fitted with the
    optimizer, not at construction.

    Examples
    --------
    Sign descent: every coordinate moves by the learning rate, against the
    sign of its gradient.

    >>> from skgd import GDRegressor
    >>> from skgd.optimizers import Optimizer
    >>> class SignSGD(Optimizer):
    ...     def update(self, param, grad, state, lr, t):
    ...         param -= lr * np.sign(grad)
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = 2.0 * X[:, 0] + 1.0
    >>> reg = GDRegressor(optimizer=SignSGD(), learning_rate=0.01, penalty=None)
    >>> reg.fit(X, y).score(X, y) > 0.99
    True
    """

    _parameter_constraints: dict = {}

    #: Step size used by ``learning_rate="auto"``, per unit of parameter scale,
    #: when the optimizer does not derive one from the curvature of the
    #: problem (see :meth:`auto_learning_rate`). The built-in values were
    #: chosen on standardised linear-regression problems.
    default_learning_rate = 0.01

    #: Whether the optimizer is a full-batch solver that runs its own
    #: iterations (:class:`LBFGS`) rather than a rule applied to each
    #: batch's gradient.
    full_batch = False

    def init_state(self, param):
        """Return the per-parameter state for ``param``.

        Parameters
        ----------
        param : ndarray
            The parameter array the state belongs to.

        Returns
        -------
        state : dict
            Named buffers (for example ``{"m": np.zeros_like(param)}``).
            The default is an empty dict: no state.
        """
        return {}

    def update(self, param, grad, state, lr, t):
        """Update ``param`` in place.

        Parameters
        ----------
        param : ndarray
            The parameter to update, in place.
        grad : ndarray
            The gradient of the objective at ``param``. The optimizer may
            overwrite it: it is recomputed before the next step.
        state : dict
            The buffers returned by :meth:`init_state` for this parameter; the
            optimizer updates them in place.
        lr : float
            The learning rate of this step, after the schedule.
        t : int
            The number of this step, starting at 1.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement update(param, grad, state, lr, t)."
        )

    def decay_weights(self, weights, lr):
        """Apply decoupled weight decay to ``weights``, in place.

        Called before every :meth:`update` with the weight entries of the
        parameter only (see :attr:`OptimizerState.decay_index`): an
        estimator's intercepts and network biases are never decayed. The
        default does nothing. An optimizer with a decoupled weight decay, such
        as :class:`AdamW` or :class:`Lion`, shrinks the weights here rather
        than in :meth:`update`; an optimizer that delegates its steps to
        another one forwards this call to it as well as :meth:`update`.

        Parameters
        ----------
        weights : ndarray
            A view of the weight entries of the parameter, updated in place.
        lr : float
            The learning rate of this step, after the schedule.

        Examples
        --------
        Sign descent with decoupled weight decay. The first two entries are
        weights, the last one an intercept, which is not shrunk:

        >>> from skgd.optimizers import Optimizer, OptimizerState
        >>> class SignSGDW(Optimizer):
        ...     def __init__(self, weight_decay=0.1):
        ...         self.weight_decay = weight_decay
        ...
        ...     def decay_weights(self, weights, lr):
        ...         weights *= 1 - lr * self.weight_decay
        ...
        ...     def update(self, param, grad, state, lr, t):
        ...         param -= lr * np.sign(grad)
        >>> w = np.array([2.0, -2.0, 2.0])
        >>> state = OptimizerState(SignSGDW(0.5), [w], decay_index=slice(0, 2))
        >>> state.step([w], [np.zeros(3)], lr=0.1)
        >>> w
        array([ 1.9, -1.9,  2. ])
        """

    def restart(self, state):
        """Forget the momentum kept in ``state`` (one parameter's buffers).

        Full-batch fits call it when an epoch's objective rose above the
        previous epoch's (adaptive restart, O'Donoghue and Candes, 2015):
        the accumulated momentum points uphill. The default does nothing;
        :class:`SGD` with momentum empties its buffer.
        """

    def auto_learning_rate(self, lipschitz=None, scale=1.0):
        """Step size used when an estimator is given ``learning_rate="auto"``.

        Parameters
        ----------
        lipschitz : float or None
            An estimate of the Lipschitz constant of the gradient of the
            (mini-batch) objective, when the estimator can provide one.
        scale : float, default=1.0
            The typical magnitude of the parameters at the solution, when the
            estimator can estimate it.

        Returns
        -------
        learning_rate : float
            ``default_learning_rate * scale``: optimizers that normalise the
            gradient (Adam, RMSProp, Lion, ...) move each parameter by about
            the learning rate per step, so their step size is proportional to
            the parameters' scale. Plain gradient descent, whose step scales
            with the gradient, overrides this to return ``1 / lipschitz``, the
            classical safe step size.
        """
        return self.default_learning_rate * scale


class OptimizerState:
    """The mutable state of one optimizer during training.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose update rule is applied.
    params : list of ndarray
        The parameters that will be updated; one state dict is created for
        each with ``optimizer.init_state``.
    decay_index : slice, default=slice(None)
        The weight entries of every parameter, on its first axis: see
        :attr:`decay_index`.

    Attributes
    ----------
    t : int
        Number of steps taken.
    slots : list of dict
        Per-parameter buffers.

    Examples
    --------
    Two steps of momentum SGD on one parameter, as an estimator makes them:

    >>> from skgd.optimizers import SGD, OptimizerState
    >>> w = np.array([1.0, -1.0])
    >>> state = OptimizerState(SGD(momentum=0.5), [w])
    >>> state.step([w], [np.array([1.0, 1.0])], lr=0.1)
    >>> state.step([w], [np.array([1.0, 1.0])], lr=0.1)
    >>> w, state.t
    (array([ 0.75, -1.25]), 2)

    Weight decay skips the entries outside ``decay_index``, here the last
    one, as an estimator's intercept:

    >>> from skgd.optimizers import AdamW
    >>> w = np.array([1.0, -2.0, 4.0])
    >>> state = OptimizerState(AdamW(weight_decay=0.5), [w], slice(0, 2))
    >>> state.step([w], [np.zeros(3)], lr=0.1)
    >>> w
    array([ 0.95, -1.9 ,  4.  ])
    """

    # States saved before parameter groups existed have no ``_decay_index``
    # and decay every entry, as they did then.
    _decay_index = slice(None)

    #: float : The learning rate's unit for the weight decay: :meth:`step`
    #: decays the weights with ``lr * decay_scale``. 1 (the rate as given,
    #: as in ``torch.optim``) unless an estimator derived the rate from the
    #: scale ``s`` of the coefficients (``learning_rate="auto"``): then
    #: ``1 / s``, so the decay is relative to the coefficients' scale and the
    #: model does not depend on the units of y.
    decay_scale = 1.0

    def __init__(self, optimizer, params, decay_index=slice(None)):
        self.optimizer = optimizer
        self.t = 0
        self.slots = [optimizer.init_state(p) for p in params]
        self.decay_index = decay_index

    def reset(self, params):
        """Empty every buffer and the step count, as at the first step.

        The training loop calls it when it restarts from an earlier point
        with a smaller rate (a stall of the gradient rule): momentum and
        second-moment estimates gathered along the abandoned path would
        otherwise carry it on.
        """
        self.t = 0
        self.slots = [self.optimizer.init_state(p) for p in params]

    @property
    def decay_index(self):
        """slice : The weight entries of every parameter, on its first axis.

        :meth:`step` passes ``param[decay_index]`` to the optimizer's
        :meth:`~Optimizer.decay_weights`; the other entries (intercepts and
        biases) are never decayed. The estimators set it from their model,
        whose parameter buffer keeps the weights first. Only a slice is
        accepted: it selects a view, so decay happens in place, and it is
        what the state stores, never an array.
        """
        return self._decay_index

    @decay_index.setter
    def decay_index(self, index):
        if not isinstance(index, slice):
            raise TypeError(
                "decay_index must be a slice of the first axis of the parameters, "
                f"got {type(index).__name__}."
            )
        self._decay_index = index

    def step(self, params, grads, lr):
        """Apply one update to every parameter, in place.

        The optimizer first decays the weight entries of each parameter (see
        :attr:`decay_index`) at the rate ``lr * decay_scale``, then updates
        the whole parameter.
        """
        self.t += 1
        optimizer, index = self.optimizer, self._decay_index
        everything = index == slice(None)
        decay_lr = lr * self.decay_scale
        for param, grad, slot in zip(params, grads, self.slots, strict=True):
            optimizer.decay_weights(param if everything else param[index], decay_lr)
            optimizer.update(param, grad, slot, lr, self.t)


_BY_NAME = {}


def _register(name, factory):
    _BY_NAME[name] = factory


def get_optimizer(optimizer):
    """Return a new optimizer object from a name or an optimizer.

    Parameters
    ----------
    optimizer : str or Optimizer
        A built-in name (see ``available_optimizers()``) or an optimizer
        object, which is cloned so the caller's object is never changed.

    Returns
    -------
    optimizer : Optimizer

    Examples
    --------
    >>> from skgd.optimizers import Adam, get_optimizer
    >>> get_optimizer("nesterov")
    SGD(momentum=0.9, nesterov=True)
    >>> mine = Adam(beta_2=0.99)
    >>> copy = get_optimizer(mine)
    >>> copy, copy is mine
    (Adam(beta_2=0.99), False)
    """
    if isinstance(optimizer, str):
        try:
            return _BY_NAME[optimizer]()
        except KeyError:
            raise ValueError(
                f"Unknown optimizer {optimizer!r}. Use one of {sorted(_BY_NAME)} or "
                "an instance of skgd.optimizers.Optimizer."
            ) from None
    if isinstance(optimizer, Optimizer):
        return clone(optimizer)
    raise TypeError(
        "optimizer must be a string or an instance of skgd.optimizers.Optimizer, "
        f"got {type(optimizer).__name__}."
    )


def available_optimizers():
    """Return the sorted names accepted as ``optimizer=`` strings.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skgd.optimizers import available_optimizers
    >>> available_optimizers()[:4]
    ['adadelta', 'adagrad', 'adam', 'adamax']
    """
    return sorted(_BY_NAME)


# Built-in optimizers. Their examples assume ``import numpy as np``.

_UNIT = Interval(Real, 0, 1, closed="left")  # decay rates and momenta: [0, 1)
_CLOSED_UNIT = Interval(Real, 0, 1, closed="both")
_NONNEG = Interval(Real, 0, None, closed="left")
_BETAS = {"beta_1": [_UNIT], "beta_2": [_UNIT]}


def _ema(average, value, decay):
    """Update ``average <- decay * average + (1 - decay) * value`` in place."""
    average *= decay
    average += (1 - decay) * value


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


class _DecoupledWeightDecay:
    """The decoupled weight decay of AdamW and Lion: ``w <- (1 - lr * wd) w``."""

    def decay_weights(self, weights, lr):
        if self.weight_decay:
            weights *= 1 - lr * self.weight_decay


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

    default_learning_rate = 0.01

    def update(self, param, grad, state, lr, t):
        _ema(state["m"], grad, self.beta_1)
        u = state["v"]  # the infinity norm u_t
        np.maximum(self.beta_2 * u, np.abs(grad) + self.epsilon, out=u)
        param -= lr / (1 - self.beta_1**t) * state["m"] / u


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


class Lion(_DecoupledWeightDecay, Optimizer):
    r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

    :math:`\theta_t = \theta_{t-1} - \eta (\operatorname{sign}(\beta_1 m_{t-1}
    + (1 - \beta_1) g_t) + \lambda \theta_{t-1})`, then
    :math:`m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t`. Every coordinate moves
    by about :math:`\eta`, so Lion needs a smaller learning rate than Adam.
    The decay term :math:`\lambda \theta_{t-1}` applies to the weights only,
    not to intercepts and biases (see :attr:`OptimizerState.decay_index`).

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.99
        Interpolation factor of the direction; decay rate of the momentum.
    weight_decay : float >= 0, default=0.0
        Decoupled weight decay :math:`\lambda`, scaled by the learning rate
        (relative to the coefficients' scale with ``learning_rate="auto"``,
        as :class:`AdamW`'s).

    References
    ----------
    X. Chen et al., "Symbolic discovery of optimization algorithms", NeurIPS
    2023.

    Examples
    --------
    >>> from skgd.optimizers import Lion, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(Lion(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.9, -1.9])
    """

    _parameter_constraints = {**_BETAS, "weight_decay": [_NONNEG]}
    default_learning_rate = 0.003

    def __init__(self, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.weight_decay = weight_decay

    def init_state(self, param):
        return {"m": np.zeros_like(param)}

    def update(self, param, grad, state, lr, t):
        m = state["m"]
        param -= lr * np.sign(self.beta_1 * m + (1 - self.beta_1) * grad)
        _ema(m, grad, self.beta_2)


class LBFGS(Optimizer):
    r"""Limited-memory BFGS on the whole training set: a solver, not a step rule.

    Each iteration evaluates the objective and its gradient on every
    training row, turns the gradient into a quasi-Newton direction with the
    last ``memory`` pairs of parameter and gradient changes (an implicit
    estimate of the inverse Hessian, built by the two-loop recursion), and
    takes the step that a line search satisfying the Wolfe conditions
    accepts. SciPy's L-BFGS-B runs the iterations, as ``MLPClassifier``'s
    ``solver="lbfgs"`` does.

    On smooth, small or ill-conditioned problems it reaches the optimum in
    far fewer passes over the data than first-order methods. It trains on
    the full batch: an estimator given it ignores ``learning_rate``,
    ``schedule``, ``batch_size``, ``shuffle`` and ``average``, and refuses
    ``partial_fit``, ``early_stopping`` and penalties with an L1 part (the
    objective must be differentiable). ``max_iter`` bounds the iterations.
    Training stops once the largest entry of the gradient is below
    ``tol**2`` times its value at the start (the objective's gap to its
    optimum falls as the square of the gradient, so this leaves a relative
    gap of about ``tol``), or when an iteration no longer lowers the
    objective by a relative 2.2e-9 (SciPy's ``ftol``).

    Parameters
    ----------
    memory : int >= 1, default=10
        The number of past updates kept (SciPy's ``maxcor``;
        ``history_size`` in ``torch.optim.LBFGS``).
    max_line_search : int >= 1, default=20
        The most function evaluations one line search may take (SciPy's
        ``maxls``).

    References
    ----------
    J. Nocedal, "Updating quasi-Newton matrices with limited storage",
    Mathematics of Computation 35, 1980. D. C. Liu and J. Nocedal, "On the
    limited memory BFGS method for large scale optimization", Mathematical
    Programming 45, 1989.

    Examples
    --------
    >>> from skgd import GDRegressor
    >>> from skgd.optimizers import LBFGS
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = 2.0 * X[:, 0] + 1.0
    >>> reg = GDRegressor(optimizer=LBFGS(), penalty=None).fit(X, y)
    >>> reg.coef_.round(6), reg.intercept_.round(6)
    (array([2.]), array([1.]))
    """

    _parameter_constraints = {
        "memory": [Interval(Integral, 1, None, closed="left")],
        "max_line_search": [Interval(Integral, 1, None, closed="left")],
    }
    full_batch = True
    default_learning_rate = 1.0

    def __init__(self, memory=10, max_line_search=20):
        self.memory = memory
        self.max_line_search = max_line_search

    def update(self, param, grad, state, lr, t):
        raise TypeError(
            "LBFGS is a full-batch solver with a line search: it has no "
            "per-step update. Estimators run it on the whole training set."
        )


_register("sgd", SGD)
_register("momentum", partial(SGD, momentum=0.9))
_register("nesterov", partial(SGD, momentum=0.9, nesterov=True))
_register("adagrad", AdaGrad)
_register("rmsprop", RMSProp)
_register("adam", Adam)
_register("amsgrad", partial(Adam, amsgrad=True))
_register("adamw", AdamW)
_register("nadam", NAdam)
_register("radam", RAdam)
_register("adamax", Adamax)
_register("adadelta", Adadelta)
_register("lion", Lion)
_register("lbfgs", LBFGS)
