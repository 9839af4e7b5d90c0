"""Learning-rate schedules.

A schedule is a small object holding hyperparameters only. Called as
``schedule(t, learning_rate, total_steps)``, it returns the learning rate of
the update that follows ``t`` updates (``t`` counts from 0). ``t`` may be an
integer or an integer array, so :meth:`Schedule.preview` can return many rates
at once for plotting.

The plateau kinds (``"adaptive"``, and ``"auto"`` at a stall of the gradient
rule) also react to the training loop: when the objective stops improving,
:meth:`Schedule.on_plateau` returns a new base learning rate, or ``None`` to
let training stop.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, InvalidParameterError

__all__ = [
    "Adaptive",
    "Auto",
    "Constant",
    "CosineAnnealing",
    "ExponentialDecay",
    "InverseScaling",
    "InverseTime",
    "Optimal",
    "Schedule",
    "StepDecay",
    "available_schedules",
    "get_schedule",
]


class Schedule(BaseEstimator):
    """Base class of all learning-rate schedules.

    Subclasses store their hyperparameters in ``__init__``, optionally declare
    ``_parameter_constraints``, and implement :meth:`__call__`.

    Examples
    --------
    A schedule that halves the rate every 100 updates:

    >>> from skgd.schedules import Schedule
    >>> class Halving(Schedule):
    ...     def __call__(self, t, learning_rate, total_steps=None):
    ...         return learning_rate * 0.5 ** (np.asarray(t) // 100)
    >>> Halving().preview(300, learning_rate=0.1)[[0, 99, 100, 299]]
    array([0.1  , 0.1  , 0.05 , 0.025])
    """

    _parameter_constraints: dict = {}

    def __call__(self, t, learning_rate, total_steps=None):
        """Return the learning rate after ``t`` updates.

        Parameters
        ----------
        t : int or ndarray of int
            Number of updates already made (0 for the first update).
        learning_rate : float
            The base learning rate (the estimator's ``learning_rate``).
        total_steps : int or None
            The number of updates training will make at most, when known
            (``max_iter`` times the updates per epoch). Schedules that decay
            to the end of training, such as cosine annealing, use it.

        Returns
        -------
        rate : float or ndarray
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement "
            "__call__(t, learning_rate, total_steps=None)."
        )

    #: bool : Whether :meth:`on_plateau` is asked at a plateau of the loss
    #: rule (``convergence="loss"``). If False, that plateau is convergence
    #: and only the gradient rule's plateau (a stall) reaches the schedule.
    reacts_to_loss_plateau = True

    def on_plateau(self, learning_rate):
        """React to an objective that stopped improving.

        Parameters
        ----------
        learning_rate : float
            The current base learning rate.

        Returns
        -------
        learning_rate : float or None
            The new base learning rate to continue training with, or ``None``
            to stop training (the default).
        """
        return None

    def preview(self, n_steps, learning_rate=0.01):
        """Return the learning rates of the first ``n_steps`` updates.

        Parameters
        ----------
        n_steps : int
            How many updates to preview; also passed as ``total_steps``.
        learning_rate : float, default=0.01
            The base learning rate.

        Returns
        -------
        rates : ndarray of shape (n_steps,)
        """
        t = np.arange(n_steps)
        rates = self(t, learning_rate, total_steps=n_steps)
        return np.broadcast_to(np.asarray(rates, dtype=float), t.shape).copy()


_BY_NAME = {}


def _register(name, factory):
    _BY_NAME[name] = factory


def get_schedule(schedule):
    """Return a new schedule object from a name or a schedule.

    Parameters
    ----------
    schedule : str or Schedule
        A built-in name (see ``available_schedules()``) or a schedule object,
        which is cloned so the caller's object is never changed.

    Returns
    -------
    schedule : Schedule

    Examples
    --------
    >>> from skgd.schedules import get_schedule
    >>> get_schedule("invscaling")
    InverseScaling()
    >>> get_schedule("invscaling").preview(3, learning_rate=0.1)
    array([0.1       , 0.08408964, 0.07598357])
    """
    if isinstance(schedule, str):
        try:
            return _BY_NAME[schedule]()
        except KeyError:
            raise ValueError(
                f"Unknown schedule {schedule!r}. Use one of {sorted(_BY_NAME)} or "
                "an instance of skgd.schedules.Schedule."
            ) from None
    if isinstance(schedule, Schedule):
        return clone(schedule)
    raise TypeError(
        "schedule must be a string or an instance of skgd.schedules.Schedule, "
        f"got {type(schedule).__name__}."
    )


def available_schedules():
    """Return the sorted names accepted as ``schedule=`` strings.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skgd.schedules import available_schedules
    >>> available_schedules()[:4]
    ['adaptive', 'auto', 'constant', 'cosine']
    """
    return sorted(_BY_NAME)


def _rate(value, t):
    """Return ``value`` as a float for scalar ``t``, else as a float array."""
    if np.ndim(t) == 0:
        return float(value)
    return np.broadcast_to(np.asarray(value, dtype=float), np.shape(t)).copy()


class Constant(Schedule):
    """Keep the learning rate constant.

    ``rate(t) = learning_rate``

    Examples
    --------
    >>> from skgd.schedules import Constant
    >>> print(Constant().preview(3, learning_rate=0.1))
    [0.1 0.1 0.1]
    """

    def __call__(self, t, learning_rate, total_steps=None):
        return _rate(learning_rate, t)


class InverseScaling(Schedule):
    """Decay the learning rate as an inverse power of the step count.

    ``rate(t) = learning_rate / (t + 1) ** power_t``

    This is scikit-learn's ``"invscaling"`` schedule, ``eta0 / t ** power_t``
    with its step count starting at 1 for the first update.

    Parameters
    ----------
    power_t : float, default=0.25
        The exponent; 0 gives a constant rate, 0.5 and 1 the classical
        ``1 / sqrt(t)`` and ``1 / t`` decays.

    Examples
    --------
    >>> from skgd.schedules import InverseScaling
    >>> print(InverseScaling(power_t=0.5).preview(4, learning_rate=1.0))
    [1.         0.70710678 0.57735027 0.5       ]
    """

    _parameter_constraints: dict = {
        "power_t": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, power_t=0.25):
        self.power_t = power_t

    def __call__(self, t, learning_rate, total_steps=None):
        steps = np.asarray(t, dtype=float) + 1.0
        return _rate(learning_rate / steps**self.power_t, t)


class Optimal(Schedule):
    """Scikit-learn's ``"optimal"`` schedule (Bottou's heuristic).

    ``rate(t) = 1 / (alpha * (t0 + t))``

    The base learning rate is ignored. The offset ``t0 = 1 / (alpha * eta)``
    makes the first update use ``eta = sqrt(1 / sqrt(alpha))``, as
    scikit-learn's ``SGDRegressor`` and ``SGDClassifier`` do: their
    ``typw / max(1, dloss(-typw, 1))`` is ``typw`` for all their losses.

    Parameters
    ----------
    alpha : float, default=1e-4
        The regularisation strength the schedule is tuned for; use the same
        value as the estimator's ``alpha``.

    References
    ----------
    L. Bottou, "Stochastic Gradient Descent Tricks", in *Neural Networks:
    Tricks of the Trade*, 2nd ed., Springer, 2012.

    Examples
    --------
    >>> from skgd.schedules import Optimal
    >>> print(Optimal(alpha=0.01).preview(3))
    [3.16227766 3.065343   2.97417436]
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, alpha=1e-4):
        self.alpha = alpha

    def __call__(self, t, learning_rate, total_steps=None):
        eta = np.sqrt(1.0 / np.sqrt(self.alpha))
        t0 = 1.0 / (eta * self.alpha)
        return _rate(1.0 / (self.alpha * (t0 + np.asarray(t, dtype=float))), t)


class Adaptive(Schedule):
    """Constant rate, divided by ``factor`` each time training stalls.

    ``rate(t) = learning_rate``; on a plateau the base rate becomes
    ``learning_rate / factor`` if ``learning_rate > min_learning_rate``, and
    training stops otherwise. With the defaults this is the ``"adaptive"``
    schedule of scikit-learn's ``MLPRegressor`` and ``SGDRegressor``.

    Parameters
    ----------
    factor : float, default=5.0
        What the rate is divided by on each plateau; must be greater than 1.
    min_learning_rate : float, default=1e-6
        Training stops at a plateau reached with a rate at or below this.

    Examples
    --------
    >>> from skgd.schedules import Adaptive
    >>> schedule = Adaptive(factor=10, min_learning_rate=1e-3)
    >>> schedule.on_plateau(0.1)
    0.01
    >>> print(schedule.on_plateau(1e-3))
    None
    """

    _parameter_constraints: dict = {
        "factor": [Interval(Real, 1, None, closed="neither")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, factor=5.0, min_learning_rate=1e-6):
        self.factor = factor
        self.min_learning_rate = min_learning_rate

    def __call__(self, t, learning_rate, total_steps=None):
        return _rate(learning_rate, t)

    def on_plateau(self, learning_rate):
        if learning_rate > self.min_learning_rate:
            return learning_rate / self.factor
        return None


class Auto(Adaptive):
    """Constant rate, divided by ``factor`` when the gradient rule stalls.

    The default schedule of :class:`~skgd.GDRegressor` and
    :class:`~skgd.GDClassifier`. ``rate(t) = learning_rate``, as
    :class:`Constant`, while the iterates make progress. When the gradient
    rule (``convergence="gradient"``) stalls -- ``n_iter_no_change`` epochs
    lower neither the objective nor the measured gradient, as constant steps
    that hover around the optimum do -- the rate is divided by ``factor``
    and training goes on from the best point measured so far, with the
    optimizer's buffers emptied, until the rule is met or the rate falls to
    ``min_learning_rate`` (then training stops with a ConvergenceWarning).
    Under the loss rule (``convergence="loss"``) a plateau is convergence,
    exactly as with :class:`Constant` and scikit-learn's ``SGDRegressor``.

    Parameters
    ----------
    factor : float, default=5.0
        What the rate is divided by at each stall; must be greater than 1.
    min_learning_rate : float, default=1e-6
        Training stops at a stall reached with a rate at or below this.

    Examples
    --------
    >>> from skgd.schedules import Auto
    >>> schedule = Auto()
    >>> schedule(10, learning_rate=0.1)
    0.1
    >>> schedule.on_plateau(0.1)
    0.02
    """

    reacts_to_loss_plateau = False


class InverseTime(Schedule):
    """Decay the learning rate as ``1 / t``, shifted by ``t1`` updates.

    ``rate(t) = learning_rate * t1 / (t + t1)``

    This is the classical ``t0 / (t + t1)`` schedule with
    ``t0 = learning_rate * t1``: the rate starts at ``learning_rate`` and has
    halved after ``t1`` updates. Its steps meet the Robbins-Monro conditions
    (their sum diverges, the sum of their squares does not).

    Parameters
    ----------
    t1 : float, default=50.0
        Number of updates after which the rate is halved.

    References
    ----------
    H. Robbins and S. Monro, "A Stochastic Approximation Method", *The Annals
    of Mathematical Statistics*, 22(3), 1951.

    Examples
    --------
    >>> from skgd.schedules import InverseTime
    >>> print(InverseTime(t1=50).preview(3, learning_rate=0.1))
    [0.1        0.09803922 0.09615385]
    """

    _parameter_constraints: dict = {
        "t1": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, t1=50.0):
        self.t1 = t1

    def __call__(self, t, learning_rate, total_steps=None):
        steps = np.asarray(t, dtype=float)
        return _rate(learning_rate * self.t1 / (steps + self.t1), t)


class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` updates.

    ``rate(t) = learning_rate * gamma ** floor(t / step_size)``

    Parameters
    ----------
    step_size : int, default=1000
        Number of updates between two decays.
    gamma : float, default=0.5
        Multiplicative factor, in (0, 1].

    Examples
    --------
    >>> from skgd.schedules import StepDecay
    >>> print(StepDecay(step_size=2, gamma=0.1).preview(5, learning_rate=1.0))
    [1.   1.   0.1  0.1  0.01]
    """

    _parameter_constraints: dict = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(self, step_size=1000, gamma=0.5):
        self.step_size = step_size
        self.gamma = gamma

    def __call__(self, t, learning_rate, total_steps=None):
        n_decays = np.floor_divide(t, self.step_size)
        return _rate(learning_rate * self.gamma ** np.asarray(n_decays, float), t)


class ExponentialDecay(Schedule):
    """Decay the learning rate exponentially, smoothly.

    ``rate(t) = learning_rate * decay_rate ** (t / decay_steps)``

    Parameters
    ----------
    decay_rate : float, default=0.99
        Factor the rate is multiplied by every ``decay_steps`` updates, in
        (0, 1].
    decay_steps : float, default=100
        Number of updates over which the rate is multiplied by
        ``decay_rate``.

    Examples
    --------
    >>> from skgd.schedules import ExponentialDecay
    >>> schedule = ExponentialDecay(decay_rate=0.5, decay_steps=2)
    >>> print(schedule.preview(4, learning_rate=1.0))
    [1.         0.70710678 0.5        0.35355339]
    """

    _parameter_constraints: dict = {
        "decay_rate": [Interval(Real, 0, 1, closed="right")],
        "decay_steps": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, decay_rate=0.99, decay_steps=100):
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps

    def __call__(self, t, learning_rate, total_steps=None):
        exponent = np.asarray(t, dtype=float) / self.decay_steps
        return _rate(learning_rate * self.decay_rate**exponent, t)


class CosineAnnealing(Schedule):
    """Cosine decay to ``min_learning_rate``, after an optional linear warm-up.

    With ``lr = learning_rate``, ``w = warmup_steps``, ``T = decay_steps``
    and ``m = min_learning_rate``::

        t < w:       rate(t) = lr * (t + 1) / w
        w <= t < T:  rate(t) = m + (lr - m) * (1 + cos(pi * (t - w) / (T - w))) / 2
        t >= T:      rate(t) = m

    The warm-up reaches ``lr`` on its last update and the cosine starts from
    ``lr``; ``m`` is reached after ``T`` updates, so with ``T`` equal to the
    number of updates of training the last update still has a positive rate.

    Parameters
    ----------
    decay_steps : int or None, default=None
        ``T``, the number of updates, warm-up included, after which the rate
        stays at ``min_learning_rate``. ``None`` uses ``total_steps``
        (``max_iter`` times the updates per epoch, when fitting).
    warmup_steps : int, default=0
        Length of the linear warm-up; at most ``decay_steps``.
    min_learning_rate : float, default=0.0
        The final rate.

    References
    ----------
    I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", ICLR 2017.

    P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in
    1 Hour", arXiv:1706.02677, 2017.

    Examples
    --------
    >>> from skgd.schedules import CosineAnnealing
    >>> schedule = CosineAnnealing(warmup_steps=2)
    >>> print(schedule.preview(6, learning_rate=1.0))
    [0.5        1.         1.         0.85355339 0.5        0.14644661]
    >>> schedule(6, learning_rate=1.0, total_steps=6)
    0.0
    """

    _parameter_constraints: dict = {
        "decay_steps": [Interval(Integral, 1, None, closed="left"), None],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, decay_steps=None, warmup_steps=0, min_learning_rate=0.0):
        self.decay_steps = decay_steps
        self.warmup_steps = warmup_steps
        self.min_learning_rate = min_learning_rate

    def __call__(self, t, learning_rate, total_steps=None):
        decay_steps = self.decay_steps if self.decay_steps is not None else total_steps
        if decay_steps is None:
            raise ValueError(
                "CosineAnnealing needs the length of the decay: set decay_steps "
                "(the number of updates to anneal over), or use it with an "
                "estimator that passes total_steps."
            )
        warmup = self.warmup_steps
        if warmup > decay_steps:
            raise ValueError(
                f"CosineAnnealing has warmup_steps={warmup} greater than the "
                f"decay length {decay_steps}; lower warmup_steps or raise "
                "decay_steps (or max_iter)."
            )
        steps, low = np.asarray(t, dtype=float), self.min_learning_rate
        # progress through the cosine phase: 0 at its start, 1 from its end on
        span = decay_steps - warmup
        if span > 0:
            progress = np.clip((steps - warmup) / span, 0.0, 1.0)
        else:
            progress = np.where(steps < warmup, 0.0, 1.0)
        rate = low + 0.5 * (learning_rate - low) * (1.0 + np.cos(np.pi * progress))
        if warmup > 0:
            ramp = learning_rate * (steps + 1) / warmup
            rate = np.where(steps < warmup, ramp, rate)
        return _rate(rate, t)

    def _validate_params(self):
        super()._validate_params()
        if self.decay_steps is not None and self.warmup_steps > self.decay_steps:
            raise InvalidParameterError(
                f"The 'warmup_steps' parameter of CosineAnnealing must be at most "
                f"decay_steps={self.decay_steps}. Got {self.warmup_steps} instead."
            )


_register("constant", Constant)
_register("invscaling", InverseScaling)
_register("optimal", Optimal)
_register("adaptive", Adaptive)
_register("auto", Auto)
_register("inverse_time", InverseTime)
_register("step", StepDecay)
_register("exponential", ExponentialDecay)
_register("cosine", CosineAnnealing)
