"""The training loop shared by every skgd estimator.

An estimator describes its model with a small object (see
:class:`~skgd.training._state.Model`) and hands it to :func:`train`, which
runs epochs of (mini-)batch gradient descent: it draws batches, asks the model
for the objective and its gradient, lets the optimizer update the parameters,
records the history, and asks the stopping rules (:mod:`._stopping`) when to
stop; :func:`train_full_batch` runs SciPy's L-BFGS-B instead. Both watch for
divergence. Everything that must survive between ``partial_fit`` calls lives
in a :class:`~skgd.training._state.TrainingState`.
"""

import contextvars
import math
import sys
import time
from contextlib import contextmanager

import numpy as np
from scipy.optimize import minimize

from ._batching import iter_batches, n_batches, plan_batches
from ._blas import serial_blas
from ._state import DivergenceError, divergence_message
from ._stopping import (
    _TIE,
    _best_iterate_for,
    _criterion_met,
    _improved,
    _keep_best_point,
    _new_low,
    _should_stop,
)

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
    mean_factor = 1.0 / (size * mean_weight)
    loss = model.loss_grad(*probe, mean_factor)
    if not math.isfinite(loss):
        raise ValueError(_OVERFLOW_AT_START)
    # An objective that is 0 up to rounding (the starting point fits the
    # data) is measured against a fraction of the trivial model's instead.
    baseline = model.baseline_loss(*probe, mean_factor)
    state.reference_loss = max(loss, _BASELINE_FRACTION * baseline)
    if not math.isfinite(_EXPLOSION * state.reference_loss):
        raise ValueError(_TOO_LARGE_TO_MONITOR.format(loss=loss))

    def measure():
        return model.loss_grad(*probe, mean_factor)

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
    step, params, grad = state.optimizer_state.step, [model.params], [model.grad]
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
    best = _best_iterate_for(model, state, config, data, check)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        measure, start = start_objective(model, state, data)
        reason = _run_epochs(
            model, state, config, data, validation, max_epochs, check, callbacks, best
        )
        end = _end_of_call(model, state, data, measure, check, reason, best)
    _check_growth(model, state, start, end)
    return reason


def _run_epochs(
    model, state, config, data, validation, max_epochs, check, callbacks, best
):
    """The epochs of a call of :func:`train`, until a rule stops them.

    ``best`` (a :class:`~skgd.training._stopping._BestIterate` or None) is
    told about every epoch. Returns why the epochs stopped, as
    :func:`train` does.
    """
    for epoch in range(max_epochs):
        final = epoch == max_epochs - 1
        if best is not None:
            best.before_epoch()
        loss = _train_epoch(model, state, config, data, validation, final, callbacks)
        if best is not None:
            best.after_epoch(loss)
        if callbacks is not None and callbacks.epoch_end():
            return "callback"
        if check and _criterion_met(state, config, epoch, final, model):
            return "converged"
        if check and _should_stop(state, config, model, data, best):
            return "converged" if config.criterion is None else "stalled"
    return None


def _end_of_call(model, state, data, measure, check, reason, best):
    """Measure the objective the call ends at; then return to its best point.

    The objective is measured (with ``measure``, from
    :func:`start_objective`) on the rows it started from: rows outside them
    (an outlier, a mislabelled sample) cannot make a fit look worse. It is
    measured before a better point is restored: a learning rate that makes
    the iterates diverge is an error, not a warning. Returns that objective.
    """
    end = measure()
    if check and reason in (None, "stalled"):
        _keep_best_point(model, state)
    if best is not None:
        best.restore(data)
    return end


def _check_growth(model, state, start, end):
    """Raise a DivergenceError if the call ended far above its start.

    Not an explosion, but a call that left the model far worse than it
    found it (``end`` above ``_FINAL_GROWTH`` times ``start``): a step size
    too large for the data.
    """
    if not model.scale_free and not end <= _FINAL_GROWTH * start:
        raise DivergenceError(divergence_message(state.n_iter, state.last_rate))


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
    flat = model.params.reshape(-1)
    objective, last = _solver_objective(model, data)
    first = len(state.loss_curve)
    start = flat.astype(np.float64)
    try:
        loss, gradient = objective(start)
    except DivergenceError:
        raise ValueError(_OVERFLOW_AT_START) from None
    gtol = _gradient_tolerance(model.params.dtype, tol, gradient)
    record, kept = _iteration_recorder(
        state, data, objective, last, start, callbacks, verbose
    )
    if not np.any(gradient) or not loss > 0:
        # Optimal at the start (constant features, say): the objective, never
        # negative, or its gradient is 0, and SciPy would divide by it.
        reason, theta = "converged", start
    else:
        reason, theta = _run_lbfgs(
            state.optimizer_state.optimizer,
            objective,
            record,
            kept,
            start,
            max_iterations,
            gtol,
            data.X.shape[0],
        )
    if len(state.loss_curve) == first:
        # Optimal at the start (a zero gradient): one iteration that stayed.
        record(theta)
    flat[...] = theta
    state.last_rate = 1.0
    return reason


def _solver_objective(model, data):
    """The function L-BFGS-B minimises, and the record of its last call.

    ``objective(theta)`` puts ``theta`` into the model's parameters and
    returns the objective on every training row and its gradient in
    float64; a non-finite one raises a DivergenceError. ``last`` holds the
    last point evaluated (``"theta"``) and its objective (``"loss"``).
    """
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

    return objective, last


def _gradient_tolerance(dtype, tol, gradient):
    """The bound on the gradient's largest entry that ends a full-batch fit.

    ``tol**2`` times that entry at the start (``gradient``), but no less
    than the square root of ``dtype``'s epsilon times it (see
    :func:`train_full_batch`); 0 when ``tol`` is None.
    """
    floor = math.sqrt(np.finfo(dtype).eps)
    relative = 0.0 if tol is None else max(tol**2, floor)
    return relative * float(np.max(np.abs(gradient), initial=0))


def _iteration_recorder(state, data, objective, last, start, callbacks, verbose):
    """L-BFGS-B's callback, which records each iteration as an epoch.

    ``record(theta)`` appends the objective at ``theta`` (the one
    ``objective`` last computed, if at ``theta``) to the loss curve, counts
    the iteration in ``n_iter`` and the step count, prints it when
    ``verbose``, and tells the callbacks; it raises StopIteration when one
    asks to stop. ``kept["theta"]`` is the last point recorded (``start``
    until then).
    """
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

    return record, kept


def _run_lbfgs(optimizer, objective, record, kept, start, max_iterations, gtol, rows):
    """Run SciPy's L-BFGS-B from ``start``; return why it stopped and its point.

    ``optimizer`` (an :class:`~skgd.optimizers.LBFGS`) sets the memory and
    the line search; ``rows`` is the number of training rows, which sizes
    the largest product of an evaluation. The reason is that of
    :func:`train_full_batch`; a callback's stop returns the last point
    recorded.
    """
    # The largest product of an evaluation: X (or its first layer) times
    # the parameters.
    product = rows * start.size
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
        return "callback", kept["theta"]
    # Status 1: the iteration (or evaluation) limit; 99: a callback
    # stopped it; 0 and 2: no further progress is possible.
    reason = {1: None, 99: "callback"}.get(result.status, "converged")
    theta = result.x if result.status != 99 else kept["theta"]
    return reason, theta


_SOLVER_OVERFLOW = (
    "The objective or its gradient overflowed during L-BFGS: the values of "
    "X or y are too large in magnitude. Bring them to a moderate scale first "
    "(for example with StandardScaler)."
)


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


def _report(state, loss, val_score, seconds):
    # In the unit loss_curve_ reports (see BaseGradientDescent._loss_unit).
    loss *= getattr(state, "loss_unit", 1.0)
    line = f"Epoch {state.n_iter}: loss={loss:.6g}"
    if val_score is not None:
        line += f", validation score={val_score:.6g}"
    line += f", learning rate={state.last_rate:.6g}, {seconds:.3f} s"
    print(line)
