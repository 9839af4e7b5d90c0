"""The optimizer base class, its fit-time state, and the registry of names."""

from numbers import Real

from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval

__all__ = ["Optimizer", "OptimizerState", "available_optimizers", "get_optimizer"]


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

    #: The name of the compiled rule that steps exactly as :meth:`update`
    #: (``RULES`` in ``skgd/optimizers/_rules.pxi``), or None to run on the
    #: NumPy loop. Read from the class that declares it only: a subclass
    #: that changes the update runs on the NumPy loop unless it names a
    #: rule of its own.
    compiled_rule = None

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


# Shared by the built-in optimizers.

_UNIT = Interval(Real, 0, 1, closed="left")  # decay rates and momenta: [0, 1)
_CLOSED_UNIT = Interval(Real, 0, 1, closed="both")
_NONNEG = Interval(Real, 0, None, closed="left")
_BETAS = {"beta_1": [_UNIT], "beta_2": [_UNIT]}


def _ema(average, value, decay):
    """Update ``average <- decay * average + (1 - decay) * value`` in place."""
    average *= decay
    average += (1 - decay) * value


class _DecoupledWeightDecay:
    """The decoupled weight decay of AdamW and Lion: ``w <- (1 - lr * wd) w``."""

    def decay_weights(self, weights, lr):
        if self.weight_decay:
            weights *= 1 - lr * self.weight_decay
