"""The training loop shared by every skgd estimator.

An estimator describes its model with a small object (see :class:`Model`) and
hands it to :func:`train`, which runs epochs of (mini-)batch gradient descent:
it draws batches, asks the model for the objective and its gradient, lets the
optimizer update the parameters, records the history, and decides when to
stop. Everything that must survive between ``partial_fit`` calls lives in a
:class:`TrainingState`.
"""

import contextvars
import copy
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ..optimizers import OptimizerState
from ._batching import iter_batches, n_batches, plan_batches
from ._blas import serial_blas


class Model:
    """What the training loop needs from an estimator's model.

    Attributes
    ----------
    params : ndarray
        All trainable parameters in one buffer, updated in place. Estimators
        keep their coefficient arrays as views of it, so an optimizer step is a
        handful of vectorised operations whatever the number of layers.
    grad : ndarray
        A buffer of the same shape, filled by :meth:`loss_grad`.
    """

    params: np.ndarray
    grad: np.ndarray
    #: Whether :meth:`prox` does anything (it is skipped otherwise).
    has_prox = False
    #: Whether the objective is positively homogeneous in the parameters
    #: (the perceptron's): it has no scale to judge a slow growth by, so only
    #: a non-finite objective or parameters count as divergence.
    scale_free = False

    def loss_grad(self, X, y, sample_weight, scale):
        """Fill ``self.grad`` and return the objective on one batch.

        The objective is ``scale * sum(sample_weight * loss) + penalty``;
        ``scale`` is ``1 / (batch size * mean sample weight)``, so the batch
        objective is an unbiased estimate of the full one.
        """
        raise NotImplementedError

    def prox(self, step):
        """Apply a proximal step after each update (for an L1 penalty)."""

    def score(self, X, y, sample_weight):
        """Return the validation score (higher is better)."""
        raise NotImplementedError

    def baseline_loss(self, X, y, sample_weight, scale):
        """The objective of a trivial model on one batch (0 if none is meaningful).

        Divergence is judged relative to the larger of this and the first
        batch's objective, so that a model whose starting point already fits
        the data (a first objective of 0 up to rounding) is not thought to
        explode when its objective moves away from 0.
        """
        return 0.0

    def compiled_epoch(self, state, data):
        """A compiled backend for this model's epochs, or None.

        When not None, a function with the signature of
        ``skgd.training._loop._reference_epoch`` that takes exactly its steps.
        The default (and any model or optimizer a backend does not cover)
        runs on the NumPy reference loop.
        """
        return None


@dataclass
class LoopConfig:
    """The estimator's settings that drive the loop."""

    schedule: object
    batch_size: int
    shuffle: bool = True
    tol: float | None = 1e-3
    n_iter_no_change: int = 5
    early_stopping: bool = False
    average_start: int = 0
    # Restart the average after every epoch whose objective still fell by
    # more than tol: average only the iterates that hover around the optimum.
    restart_average: bool = False
    total_steps: int | None = None
    verbose: int = 0
    # The gradient rule (see ``train``): a function of the state that returns
    # the norm of the objective's gradient at the iterate a call would
    # return, relative to its reference, and the objective there; training
    # has converged when the former is at most ``criterion_tol``. None: the
    # loss rule alone.
    criterion: object = None
    criterion_tol: float = 0.0
    # The criterion costs a pass over the training rows: it is evaluated
    # after every ``check_every``-th epoch of a call (and after its last).
    check_every: int = 1


class TrainingState:
    """Everything about a training run that persists between calls.

    Parameters
    ----------
    optimizer : Optimizer
        The resolved optimizer; its state is created here.
    params : ndarray
        The parameter buffer the optimizer will update.
    learning_rate : float
        The base learning rate (``"adaptive"`` schedules lower it).
    random_state : RandomState
        Source of the batch shuffles.
    """

    def __init__(self, optimizer, params, learning_rate, random_state):
        self.optimizer = OptimizerState(optimizer, [params])
        self.initial_learning_rate = learning_rate
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.t = 0
        self.n_iter = 0
        self.samples_seen = 0
        self.loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = None
        self.no_improvement = 0
        self.average = None
        self.n_averaged = 0
        self.last_rate = learning_rate
        # The objective that an exploding one is measured against: set at
        # the start of every call (see ``start_objective``).
        self.reference_loss = None
        self.best_epoch = 0
        # The gradient rule's last measure; the checked point of lowest
        # objective, with its objective and measure (LoopConfig.criterion).
        self.remaining = None
        self.kept_objective = self.last_objective = np.inf
        self.kept_remaining = None
        self.best_point = None

    def reset_monitoring(self):
        """Start convergence monitoring afresh (at each ``fit``)."""
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = None
        self.best_epoch = 0
        self.no_improvement = 0
        self.kept_objective = self.last_objective = np.inf
        self.kept_remaining = None
        self.best_point = None

    def for_next_call(self):
        """A copy to train on, so that a failed call leaves this state intact.

        Only what training changes in place is copied: the optimizer's
        buffers, the running average and the random generator. The history
        lists are shared and only appended to; :meth:`rollback` trims them
        back if the call fails. A call thus costs the same whatever the
        length of the history.
        """
        state = copy.copy(self)
        state.optimizer = copy.deepcopy(self.optimizer)
        state.random_state = copy.deepcopy(self.random_state)
        if self.average is not None:
            state.average = self.average.copy()
        state.history_lengths = (len(self.loss_curve), len(self.validation_scores))
        return state

    def rollback(self):
        """Trim the shared history back to where the call started."""
        lengths = getattr(self, "history_lengths", None)
        if lengths is not None:
            del self.loss_curve[lengths[0] :]
            del self.validation_scores[lengths[1] :]


# A batch whose objective exceeds the reference objective (see
# TrainingState.reference_loss) by this factor has diverged, even while it is
# still finite.
_EXPLOSION = 1e8


# See TrainingState.reference_loss and Model.baseline_loss.
_BASELINE_FRACTION = 1e-4

# A call whose last epoch's objective exceeds the objective it started from
# by this factor has diverged, however slowly (see ``train``); a starting
# objective of 0 up to rounding is replaced by this fraction of the trivial
# model's.
_FINAL_GROWTH = 100.0
_FINAL_BASELINE_FRACTION = 1e-2

_OVERFLOW_AT_START = (
    "The training objective is not finite at the starting point, before any "
    "update: the values of X or y are too large in magnitude for it to be "
    "computed in floating point. Bring them to a moderate scale first (for "
    "example with StandardScaler, and by dividing y by a constant)."
)


_TOO_LARGE_TO_MONITOR = (
    "The training objective at the starting point ({loss:.3g}) is so large "
    "that divergence cannot be monitored in floating point: the values of X "
    "or y are too large in magnitude. Bring them to a moderate scale first "
    "(for example with StandardScaler, and by dividing y by a constant)."
)


class DivergenceError(ValueError):
    """Raised when training produces a non-finite objective or parameters."""


def divergence_message(epoch, learning_rate):
    return (
        f"Training diverged in epoch {epoch}: the objective exploded or the "
        "parameters became non-finite. The learning rate "
        f"({learning_rate:.6g}) is too large for this data (or for this "
        "optimizer): use a smaller "
        "learning_rate, or scale X (for example with StandardScaler), or keep "
        'learning_rate="auto".'
    )


def _update_average(state, params):
    state.n_averaged += 1
    if state.average is None:
        state.average = params.copy()
    else:
        state.average += (params - state.average) / state.n_averaged


def _loss_limit(state, model):
    """The largest batch objective that is not a divergence.

    A scale-free objective (the perceptron's) has no scale to measure an
    explosion by: its starting value may be rounding noise. Only a
    non-finite objective counts there.
    """
    if model.scale_free:
        return sys.float_info.max
    reference = getattr(state, "reference_loss", None)
    if reference is None or not reference > 0:
        return sys.float_info.max
    return min(_EXPLOSION * reference, sys.float_info.max)


# The starting objective of a call is measured on at most this many rows,
# spread evenly over the training rows.
_PROBE_ROWS = 200


def start_objective(model, state, data):
    """Measure the objective at the start of a call; set the references.

    Divergence is judged against the objective the call starts from, so the
    reference follows the data: a later ``partial_fit`` chunk or warm-started
    ``fit`` on data of another scale gets its own. The objective is measured
    on up to ``_PROBE_ROWS`` rows spread over the training rows, not on one
    (perhaps tiny) batch. Returns a function that measures the objective on
    the same rows again, and the value it must stay within ``_FINAL_GROWTH``
    of at the end of the call (see :func:`train`).
    """
    n_samples = data.n_samples
    if n_samples <= _PROBE_ROWS and data.rows is None:
        probe = (data.X, data.y, data.sample_weight)
    else:
        spread = np.linspace(0, n_samples - 1, min(n_samples, _PROBE_ROWS))
        probe = data.take(spread.astype(np.intp))
    weight = probe[2]
    size = probe[0].shape[0]
    mean_weight = 1.0 if weight is None else float(np.mean(weight))
    if not mean_weight > 0:  # the probe rows all weigh 0
        mean_weight = data.mean_weight
    scale = 1.0 / (size * mean_weight)
    loss = model.loss_grad(*probe, scale)
    if not math.isfinite(loss):
        raise ValueError(_OVERFLOW_AT_START)
    # An objective that is 0 up to rounding (the starting point fits the
    # data) is measured against a fraction of the trivial model's instead.
    baseline = model.baseline_loss(*probe, scale)
    state.reference_loss = max(loss, _BASELINE_FRACTION * baseline)
    if not math.isfinite(_EXPLOSION * state.reference_loss):
        raise ValueError(_TOO_LARGE_TO_MONITOR.format(loss=loss))

    def measure():
        return model.loss_grad(*probe, scale)

    return measure, max(loss, _FINAL_BASELINE_FRACTION * baseline)


def run_epoch(model, state, config, data, final=False):
    """Run one pass over the training rows and return the mean objective.

    Each batch's objective (before its update) is checked for divergence. The
    objective after the last update is only seen by the next epoch, so with
    ``final`` (the last epoch of a call) the last batch is evaluated once
    more: a step that explodes in a call's last update, such as the only
    update of a one-batch ``partial_fit``, is caught too.

    The batches run on the model's compiled backend when it has one for this
    optimizer and data (see :meth:`Model.compiled_epoch`), else on the NumPy
    reference loop; both take the same steps.
    """
    count = n_batches(data.n_samples, config.batch_size)
    steps = np.arange(state.t, state.t + count)
    rates = np.broadcast_to(
        config.schedule(steps, state.learning_rate, config.total_steps), steps.shape
    ).astype(np.float64)
    shuffle_rng = state.random_state if config.shuffle else None
    plan = plan_batches(data, config.batch_size, shuffle_rng)
    limit = _loss_limit(state, model)
    forced = _FORCE_REFERENCE.get()
    compiled = None if forced else model.compiled_epoch(state, data)
    epoch = _reference_epoch if compiled is None else compiled
    total, taken = epoch(model, state, config, data, plan, rates, limit)
    if taken < count:
        raise DivergenceError(divergence_message(state.n_iter + 1, rates[taken]))
    if not config.average_start:
        state.samples_seen += data.n_samples
    state.t += count
    exploded = not np.isfinite(model.params).all()
    if final and not exploded:
        Xb, yb, wb, size = plan.last_batch(data)
        loss = model.loss_grad(Xb, yb, wb, 1.0 / (size * data.mean_weight))
        exploded = not loss <= limit
    if exploded:
        raise DivergenceError(divergence_message(state.n_iter + 1, rates[-1]))
    state.n_iter += 1
    state.last_rate = float(rates[-1])
    return total / data.n_samples


def _reference_epoch(model, state, config, data, plan, rates, limit):
    """The batches of one epoch in NumPy: the reference every backend matches.

    Returns the sum of the batch objectives times the batch sizes, and the
    number of steps taken: fewer than the batches if one diverged.
    """
    mean_weight = data.mean_weight
    step, params, grad = state.optimizer.step, [model.params], [model.grad]
    loss_grad = model.loss_grad
    prox = model.prox if model.has_prox else None
    average_start = config.average_start
    total, taken = 0.0, 0
    batches = iter_batches(data, plan, config.batch_size)
    for lr, (Xb, yb, wb, size) in zip(rates.tolist(), batches, strict=True):
        loss = loss_grad(Xb, yb, wb, 1.0 / (size * mean_weight))
        # Also false for NaN, and for inf (limit is finite).
        if not loss <= limit:
            break
        step(params, grad, lr)
        if prox is not None:
            prox(lr)
        total += loss * size
        taken += 1
        if average_start:
            state.samples_seen += size
            if state.samples_seen >= average_start:
                _update_average(state, model.params)
    return total, taken


# Whether epochs run on the NumPy reference loop even where a compiled
# backend exists (see :func:`reference_epochs`). A context variable: the
# setting holds in the thread (or task) that made it, not in fits that other
# threads run at the same time.
_FORCE_REFERENCE = contextvars.ContextVar("skgd_reference_epochs", default=False)


def reference_epochs_forced():
    """Whether :func:`reference_epochs` is in force in this thread."""
    return _FORCE_REFERENCE.get()


@contextmanager
def reference_epochs():
    """Run the epochs inside the ``with`` block on the NumPy reference loop.

    For debugging and for checking a compiled backend against the
    reference::

        from skgd.training._loop import reference_epochs

        with reference_epochs():
            GDRegressor(batch_size=1).fit(X, y)

    Only fits in the thread that entered the block are affected.
    """
    token = _FORCE_REFERENCE.set(True)
    try:
        yield
    finally:
        _FORCE_REFERENCE.reset(token)


def _validation_score(model, state, validation):
    """Score what the call would return: the average, when there is one."""
    if state.average is None:
        return model.score(*validation)
    current = model.params.copy()
    model.params[...] = state.average
    try:
        return model.score(*validation)
    finally:
        model.params[...] = current


def _improved(state, config, loss, val_score, params):
    """Update the best-so-far records; return whether the epoch improved by tol."""
    tol = -np.inf if config.tol is None else config.tol
    if config.early_stopping:
        improved = val_score >= state.best_validation_score + tol
        if val_score > state.best_validation_score:
            state.best_validation_score = val_score
            # The parameters that were scored: the average, if any.
            kept = params if state.average is None else state.average
            state.best_params = kept.copy()
            state.best_epoch = state.n_iter
    else:
        improved = loss <= state.best_loss - tol
    state.best_loss = min(state.best_loss, loss)
    return improved


def _criterion_met(state, config, epoch, final, model):
    """Evaluate the gradient rule when its cadence says so; whether it is met.

    The point of lowest measure is kept (see :func:`_keep_best_point`).
    """
    if config.criterion is None:
        return False
    if (epoch + 1) % config.check_every and not final:
        return False
    remaining, objective = config.criterion(state)
    state.remaining = remaining
    # A check that lowers the objective of the checked points (the average,
    # when averaging) is progress, even if the iterates' own objective
    # stalls; the point of lowest objective is kept.
    if _new_low(objective, state.kept_objective, _TIE):
        point = model.params if state.average is None else state.average
        state.best_point, state.kept_objective = point.copy(), objective
        state.kept_remaining, state.no_improvement = remaining, 0
    state.last_objective = objective
    met = remaining <= config.criterion_tol
    if not met and config.restart_average and state.average is not None:
        # The iterates (the epoch's objective estimates theirs) do better
        # than their average: the average lags behind a descent, and starts
        # again. Around the optimum the average is the better point.
        if state.loss_curve[-1] < objective:
            state.average, state.n_averaged = None, 0
    return met


def _new_low(value, best, rtol):
    """Whether ``value`` is below ``best`` by more than a relative ``rtol``."""
    return value < best and not np.isclose(value, best, rtol=rtol, atol=0)


def _keep_best_point(model, state):
    """Return the checked point of lowest objective if the last one is worse.

    A fit that stops unconverged (a plateau of the rule, or ``max_iter``)
    may end on a worse point than one it measured before: the average
    restarted, or momentum carried the iterates away.
    """
    best = getattr(state, "best_point", None)
    if best is None or not _new_low(state.kept_objective, state.last_objective, _TIE):
        return
    model.params[...] = best
    if state.average is not None:
        state.average[...] = best
    state.remaining = state.kept_remaining


def _should_stop(state, config, model, data, best):
    """Apply the stopping rule; let the schedule react to a plateau first.

    At a stall of the gradient rule, a schedule that lowers the rate
    (``"auto"``, ``"adaptive"``) restarts training from the best point
    measured so far (see :func:`_restart_from_best`): the iterates that
    hovered at the larger rate are no better than that point.
    """
    if config.tol is None or state.no_improvement < config.n_iter_no_change:
        return False
    stalled = config.criterion is not None
    if not (stalled or config.schedule.reacts_to_loss_plateau):
        return True
    new_rate = config.schedule.on_plateau(state.learning_rate)
    if new_rate is None:
        return True
    if config.verbose:
        what = "Training stalled" if stalled else "Objective plateaued"
        print(f"{what}: learning rate set to {new_rate:.6g}")
    state.learning_rate = new_rate
    state.no_improvement = 0
    if stalled:
        _restart_from_best(model, state, data, best)
    return False


def _restart_from_best(model, state, data, best):
    """Move to the point of lowest objective measured, with fresh optimizer buffers.

    The candidates are the gradient rule's best checked point and, in a
    full-batch fit, the best epoch's starting iterate (``best``); both are
    measured on every training row. The running average starts again.
    """
    points = []
    if state.best_point is not None:
        points.append((state.kept_objective, state.best_point))
    if best is not None and best.params is not None:
        points.append((best.loss, best.params))
        best.previous = np.inf
    if points:
        objective, point = min(points, key=lambda pair: pair[0])
        # Ties (up to rounding) keep the current point: on a flat valley
        # the iterates may still be moving along it.
        if _new_low(objective, float(data.objective(model)), _TIE):
            model.params[...] = point
    if state.average is not None:
        state.average, state.n_averaged = None, 0
    state.optimizer.reset([model.params])


def train(
    model,
    state,
    config,
    data,
    validation=None,
    max_epochs=1,
    check=True,
    callbacks=None,
):
    """Run up to ``max_epochs`` epochs; return why training stopped.

    Parameters
    ----------
    model : Model
    state : TrainingState
    config : LoopConfig
    data : TrainingData
    validation : tuple (X, y, sample_weight) or None
        Held-out data scored after each epoch when early stopping.
    max_epochs : int
    check : bool
        Whether to apply the stopping rule (``partial_fit`` runs one epoch and
        only records the history).
    callbacks : EpochCallbacks or None
        Told when each epoch begins and ends; a callback may stop training.

    With ``config.criterion`` (the gradient rule), training has converged
    when the criterion, evaluated after every ``config.check_every``-th
    epoch, is at most ``config.criterion_tol``; ``n_iter_no_change``
    epochs in a row that lower neither the objective nor the criterion are
    a plateau, which stops training unconverged ("stalled") once the
    schedule has no smaller rate to try. Without it, the plateau of the loss
    rule is convergence.

    Returns
    -------
    reason : {"converged", "stalled", "callback"} or None
        None when ``max_epochs`` epochs ran.
    """
    # A full-batch fit with a stopping rule restarts its momentum when the
    # objective rises and returns its best iterate (see _BestIterate); an
    # epoch's objective is that of its starting point.
    # Not for a scale-free objective (the perceptron's), whose minimum 0 is
    # also at the trivial model.
    best = (
        _BestIterate(model, state.optimizer)
        if check
        and not model.scale_free
        and config.tol is not None
        and not config.early_stopping
        and not config.average_start
        and config.batch_size >= data.n_samples
        else None
    )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        measure, start = start_objective(model, state, data)
        reason = None
        for epoch in range(max_epochs):
            final = epoch == max_epochs - 1
            if best is not None:
                best.before_epoch()
            loss = _train_epoch(
                model, state, config, data, validation, final, callbacks
            )
            if best is not None:
                best.after_epoch(loss)
            if callbacks is not None and callbacks.epoch_end():
                reason = "callback"
                break
            if check and _criterion_met(state, config, epoch, final, model):
                reason = "converged"
                break
            if check and _should_stop(state, config, model, data, best):
                reason = "converged" if config.criterion is None else "stalled"
                break
        # The objective on the rows it started from: rows outside them (an
        # outlier, a mislabelled sample) cannot make a fit look worse.
        # Measured before a better point is restored: a learning rate that
        # makes the iterates diverge is an error, not a warning.
        end = measure()
        if check and reason in (None, "stalled"):
            _keep_best_point(model, state)
        if best is not None:
            best.restore(data)
    if not model.scale_free and not end <= _FINAL_GROWTH * start:
        # Not an explosion, but a call that left the model far worse than it
        # found it: a step size too large for the data.
        raise DivergenceError(divergence_message(state.n_iter, state.last_rate))
    return reason


def train_full_batch(
    model, state, data, max_iterations, tol, callbacks=None, verbose=0
):
    """Minimise the objective on all training rows with SciPy's L-BFGS-B.

    The optimizer of ``state`` (an :class:`~skgd.optimizers.LBFGS`) sets
    the memory and the line search. Each iteration is recorded as an epoch
    is: its objective in the loss curve, one more ``n_iter``. Training stops
    when the largest entry of the gradient falls below ``tol**2`` times its
    value at the start (``tol`` None: never on the gradient), when the
    objective stops falling, after ``max_iterations``, or when a callback
    asks. The objective's distance to its optimum falls as the square of the
    gradient's, so ``tol**2`` on the gradient leaves a relative objective
    gap of about ``tol`` even on a problem of condition number ``1 / tol``.
    In float32, whose objective is only computed to about ``1e-7``, the
    bound is at least the square root of the precision's epsilon: a tighter
    one would only stop on a failed line search, at a point that rounding
    decides.

    Returns
    -------
    reason : {"converged", "callback"} or None
        None when ``max_iterations`` iterations ran.
    """
    optimizer = state.optimizer.optimizer
    flat, grad = model.params.reshape(-1), model.grad.reshape(-1)
    last = {}

    def objective(theta):
        flat[...] = theta
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = float(data.objective(model))
        if not (math.isfinite(loss) and np.isfinite(grad).all()):
            raise DivergenceError(_SOLVER_OVERFLOW)
        last.update(theta=theta.copy(), loss=loss)
        return loss, grad.astype(np.float64)

    first = len(state.loss_curve)
    start = flat.astype(np.float64)
    try:
        loss, gradient = objective(start)
    except DivergenceError:
        raise ValueError(_OVERFLOW_AT_START) from None
    floor = math.sqrt(np.finfo(model.params.dtype).eps)
    relative = 0.0 if tol is None else max(tol**2, floor)
    gtol = relative * float(np.max(np.abs(gradient), initial=0))
    begin = [time.perf_counter()]
    kept = {"theta": start}

    def record(theta):
        loss = last["loss"] if np.array_equal(theta, last["theta"]) else None
        loss = objective(theta)[0] if loss is None else loss
        kept["theta"] = theta.copy()
        state.loss_curve.append(loss)
        state.best_loss = min(state.best_loss, loss)
        state.n_iter += 1
        state.t += 1
        state.samples_seen += data.n_samples
        if verbose:
            now = time.perf_counter()
            shown = loss * getattr(state, "loss_unit", 1.0)
            print(f"Iteration {state.n_iter}: loss={shown:.6g}, {now - begin[0]:.3f} s")
            begin[0] = now
        if callbacks is not None:
            callbacks.epoch_begin()
            if callbacks.epoch_end():
                raise StopIteration

    if not np.any(gradient) or not loss > 0:
        # Optimal at the start (constant features, say): the objective, never
        # negative, or its gradient is 0, and SciPy would divide by it.
        record(start)
        flat[...] = start
        state.last_rate = 1.0
        return "converged"
    # The largest product of an evaluation: X (or its first layer) times
    # the parameters.
    product = data.X.shape[0] * flat.size
    try:
        with serial_blas(product):
            result = minimize(
                objective,
                start,
                jac=True,
                method="L-BFGS-B",
                callback=record,
                options={
                    "maxiter": max_iterations,
                    "maxcor": optimizer.memory,
                    "maxls": optimizer.max_line_search,
                    "gtol": gtol,
                },
            )
    except StopIteration:  # SciPy before 1.11 lets it through
        reason, theta = "callback", kept["theta"]
    else:
        # Status 1: the iteration (or evaluation) limit; 99: a callback
        # stopped it; 0 and 2: no further progress is possible.
        reason = {1: None, 99: "callback"}.get(result.status, "converged")
        theta = result.x if result.status != 99 else kept["theta"]
    if len(state.loss_curve) == first:
        # Optimal at the start (a zero gradient): one iteration that stayed.
        record(theta)
    flat[...] = theta
    state.last_rate = 1.0
    return reason


_SOLVER_OVERFLOW = (
    "The objective or its gradient overflowed during L-BFGS: the values of "
    "X or y are too large in magnitude. Bring them to a moderate scale first "
    "(for example with StandardScaler)."
)


# Objectives within this relative distance are equal for _BestIterate.
_TIE = 1e-9


class _BestIterate:
    """The best iterate of a full-batch fit, returned if the last is worse.

    With full batches, an epoch is one step and its objective is the exact
    objective of the iterate it started from. Momentum, Nesterov's method
    and Lion can stop in the middle of an oscillation, where the last
    iterate is worse than one before it: the fit then returns the iterate
    of lowest objective. When the objective rises from one epoch to the
    next, the optimizer forgets its momentum (:meth:`Optimizer.restart`,
    the adaptive restart of O'Donoghue and Candes, 2015), so that
    momentum damps out instead of carrying the iterates uphill. Costs a
    copy of the parameters per epoch and one evaluation of the objective at
    the end.
    """

    def __init__(self, model, optimizer_state):
        self.model = model
        self.optimizer_state = optimizer_state
        self.loss = np.inf
        self.previous = np.inf
        self.params = None
        self.start = None

    def before_epoch(self):
        self.start = self.model.params.copy()

    def after_epoch(self, loss):
        if loss > self.previous:
            state = self.optimizer_state
            for slot in state.slots:
                state.optimizer.restart(slot)
        self.previous = loss
        # Ties (up to rounding) keep the earlier iterate: an oscillation
        # symmetric about the optimum (Lion's sign steps) visits iterates
        # of equal objective, and rounding must not decide between them.
        if _new_low(loss, self.loss, _TIE):
            self.loss, self.params = loss, self.start

    def restore(self, data):
        if self.params is None:
            return
        final = data.objective(self.model)
        if _new_low(self.loss, final, _TIE):
            self.model.params[...] = self.params


def _train_epoch(model, state, config, data, validation, final, callbacks=None):
    """One epoch with its bookkeeping: history, validation, verbose output."""
    begin = time.perf_counter()
    if callbacks is not None:
        callbacks.epoch_begin()
    loss = run_epoch(model, state, config, data, final)
    state.loss_curve.append(loss)
    val_score = None
    if config.early_stopping and validation is not None:
        val_score = _validation_score(model, state, validation)
        state.validation_scores.append(val_score)
    # The loss rule restarts the average after an epoch whose objective
    # fell by more than tol; the gradient rule decides at its checks.
    falling = config.criterion is None and loss < state.best_loss - (config.tol or 0.0)
    if config.criterion is not None:
        # The gradient rule's plateau: an epoch that lowers neither the
        # objective (beyond rounding) nor the rule's measure (_criterion_met).
        improved = _new_low(loss, state.best_loss, _TIE)
        state.best_loss = min(state.best_loss, loss)
    else:
        improved = _improved(state, config, loss, val_score, model.params)
    if improved:
        state.no_improvement = 0
    else:
        state.no_improvement += 1
    if falling and config.restart_average:
        state.average, state.n_averaged = None, 0
    if config.verbose:
        _report(state, loss, val_score, time.perf_counter() - begin)
    return loss


def stop_message(
    reason, epochs, max_epochs, early_stopping, best=None, remaining=None, unit="epochs"
):
    """The closing line of verbose output: why training stopped.

    ``epochs`` counts the epochs (or a solver's ``unit``) of the call;
    ``best`` is the call's best epoch and its validation score, with early
    stopping; ``remaining`` the last measure of the gradient rule, if any.
    """
    gradient = (
        ""
        if remaining is None
        else f" (gradient norm {remaining:.3g} times its reference)"
    )
    if reason == "callback":
        return f"Training stopped by a callback after {epochs} {unit}."
    if reason is None:
        return f"Maximum number of {unit} ({max_epochs}) reached{gradient}."
    if reason == "stalled":
        return (
            f"Stopped after {epochs} epochs: the objective stopped falling "
            f"before the gradient rule was met{gradient}."
        )
    if early_stopping:
        return (
            f"Stopped after {epochs} epochs: the validation score stopped "
            f"improving. Kept epoch {best[0]}, the best (score {best[1]:.6g})."
        )
    return f"Converged after {epochs} {unit}{gradient}."


def _report(state, loss, val_score, seconds):
    # In the unit loss_curve_ reports (see BaseGradientDescent._loss_unit).
    loss *= getattr(state, "loss_unit", 1.0)
    line = f"Epoch {state.n_iter}: loss={loss:.6g}"
    if val_score is not None:
        line += f", validation score={val_score:.6g}"
    line += f", learning rate={state.last_rate:.6g}, {seconds:.3f} s"
    print(line)
