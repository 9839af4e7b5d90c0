"""When training stops, and which point a fit returns.

The loss rule (:func:`_improved`: the objective, or the validation score with
early stopping, stops improving by ``tol``), the gradient rule
(:func:`_criterion_met`), the reaction to a plateau (:func:`_should_stop`,
which lets the schedule lower the rate and :func:`_restart_from_best`), the
best point kept when a fit ends unconverged (:func:`_keep_best_point`, and
:class:`_BestIterate` for full-batch fits), and the closing line of verbose
output (:func:`stop_message`).
"""

import numpy as np

# Objectives within this relative distance are equal for the stopping rules
# and _BestIterate.
_TIE = 1e-9


def _new_low(value, best, rtol):
    """Whether ``value`` is below ``best`` by more than a relative ``rtol``."""
    return value < best and not np.isclose(value, best, rtol=rtol, atol=0)


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
    state.optimizer_state.reset([model.params])


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


def _best_iterate_for(model, state, config, data, check):
    """The :class:`_BestIterate` a call of ``train`` keeps, or None.

    A full-batch fit with a stopping rule restarts its momentum when the
    objective rises and returns its best iterate; an epoch's objective is
    that of its starting point. Not for a scale-free objective (the
    perceptron's), whose minimum 0 is also at the trivial model.
    """
    if (
        check
        and not model.scale_free
        and config.tol is not None
        and not config.early_stopping
        and not config.average_start
        and config.batch_size >= data.n_samples
    ):
        return _BestIterate(model, state.optimizer_state)
    return None


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
