"""The training loop shared by every skgd estimator.

An estimator describes its model with a small object (see :class:`Model`) and
hands it to :func:`train`, which runs epochs of (mini-)batch gradient descent:
it draws batches, asks the model for the objective and its gradient, lets the
optimizer update the parameters, records the history, and decides when to
stop. Everything that must survive between ``partial_fit`` calls lives in a
:class:`TrainingState`.
"""

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .optimizers import OptimizerState


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
    total_steps: int | None = None
    verbose: int = 0


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
        # The objective that an exploding one is measured against: set on the
        # first batch ever trained on (see ``run_epoch``).
        self.reference_loss = None

    def reset_monitoring(self):
        """Start convergence monitoring afresh (at each ``fit``)."""
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = None
        self.no_improvement = 0


# A batch whose objective exceeds the reference objective (see
# TrainingState.reference_loss) by this factor has diverged, even while it is
# still finite.
_EXPLOSION = 1e8


# See TrainingState.reference_loss and Model.baseline_loss.
_BASELINE_FRACTION = 1e-4

_OVERFLOW_AT_START = (
    "The training objective is not finite at the starting point, before any "
    "update: the values of X or y are too large in magnitude for it to be "
    "computed in floating point. Bring them to a moderate scale first (for "
    "example with StandardScaler, and by dividing y by a constant)."
)


class DivergenceError(ValueError):
    """Raised when training produces a non-finite objective or parameters."""


def divergence_message(epoch, learning_rate):
    return (
        f"Training diverged in epoch {epoch}: the objective exploded or the "
        "parameters became non-finite. The learning rate "
        f"({learning_rate:.6g}) is too large for this data: use a smaller "
        "learning_rate, or scale X (for example with StandardScaler), or keep "
        'learning_rate="auto".'
    )


# Shuffled dense rows are gathered this many bytes at a time: one copy call
# serves many batches, and memory stays far below a copy of X.
_GATHER_BYTES = 1 << 20


def _batches(X, y, sample_weight, batch_size, random_state):
    """Yield the ``(X, y, sample_weight)`` batches of one epoch.

    Without shuffling, batches are slices (views of dense X). With shuffling,
    dense rows are gathered in chunks of many batches; sparse rows are
    indexed batch by batch.
    """
    n_samples = X.shape[0]
    if batch_size >= n_samples:
        yield X, y, sample_weight
        return
    if random_state is None:
        chunks = [slice(0, n_samples)]
        source = (X, y, sample_weight)
    else:
        order = random_state.permutation(n_samples)
        chunk = batch_size
        dense = not sp.issparse(X)
        if dense:
            row_bytes = max(X.shape[1] * X.itemsize, 1)
            chunk = max(1, _GATHER_BYTES // (row_bytes * batch_size)) * batch_size
            chunk = min(chunk, n_samples)
            # Gather into buffers allocated once per epoch, not once per chunk.
            buffers = (
                np.empty((chunk, *X.shape[1:]), X.dtype),
                np.empty((chunk, *y.shape[1:]), y.dtype),
                None if sample_weight is None else np.empty(chunk, sample_weight.dtype),
            )
        chunks = [order[start : start + chunk] for start in range(0, n_samples, chunk)]
    for index in chunks:
        if random_state is not None and dense:
            length = len(index)
            source = tuple(
                None if a is None else np.take(a, index, axis=0, out=buffer[:length])
                for a, buffer in zip((X, y, sample_weight), buffers, strict=True)
            )
        elif random_state is not None:
            source = (
                X[index],
                y.take(index, axis=0),
                None if sample_weight is None else sample_weight.take(index),
            )
        Xc, yc, wc = source
        length = Xc.shape[0]
        if wc is None:
            for start in range(0, length, batch_size):
                stop = start + batch_size
                yield Xc[start:stop], yc[start:stop], None
        else:
            for start in range(0, length, batch_size):
                stop = start + batch_size
                yield Xc[start:stop], yc[start:stop], wc[start:stop]


def _update_average(state, params):
    state.n_averaged += 1
    if state.average is None:
        state.average = params.copy()
    else:
        state.average += (params - state.average) / state.n_averaged


def _loss_limit(state):
    """The largest batch objective that is not a divergence."""
    reference = getattr(state, "reference_loss", None)
    if reference is None or not reference > 0:
        return sys.float_info.max
    return min(_EXPLOSION * reference, sys.float_info.max)


def _set_reference(model, state, loss, batch, scale):
    """Record the objective that divergence is judged against (first batch)."""
    if not math.isfinite(loss):
        raise ValueError(_OVERFLOW_AT_START)
    # A first objective that is 0 up to rounding (the starting point fits the
    # data) is measured against a fraction of the trivial model's instead.
    baseline = model.baseline_loss(*batch, scale)
    state.reference_loss = max(loss, _BASELINE_FRACTION * baseline)


def run_epoch(model, state, config, X, y, sample_weight, final=False):
    """Run one pass over ``(X, y)`` and return the mean objective.

    Each batch's objective (before its update) is checked for divergence. The
    objective after the last update is only seen by the next epoch, so with
    ``final`` (the last epoch of a call) the last batch is evaluated once
    more: a step that explodes in a call's last update, such as the only
    update of a one-batch ``partial_fit``, is caught too.
    """
    n_samples = X.shape[0]
    mean_weight = 1.0 if sample_weight is None else float(np.mean(sample_weight))
    n_batches = -(-n_samples // config.batch_size)
    steps = np.arange(state.t, state.t + n_batches)
    rates = np.broadcast_to(
        config.schedule(steps, state.learning_rate, config.total_steps), steps.shape
    )
    shuffle_rng = state.random_state if config.shuffle else None
    step, params, grad = state.optimizer.step, [model.params], [model.grad]
    loss_grad = model.loss_grad
    prox = model.prox if model.has_prox else None
    average_start = config.average_start
    batches = _batches(X, y, sample_weight, config.batch_size, shuffle_rng)
    limit = _loss_limit(state)
    total = 0.0
    batch = None
    for lr, batch in zip(rates.tolist(), batches, strict=True):
        Xb, yb, wb = batch
        size = Xb.shape[0]
        loss = loss_grad(Xb, yb, wb, 1.0 / (size * mean_weight))
        if getattr(state, "reference_loss", None) is None:
            _set_reference(model, state, loss, batch, 1.0 / (size * mean_weight))
            limit = _loss_limit(state)
        # Also false for NaN, and for inf (limit is finite).
        if not loss <= limit:
            raise DivergenceError(divergence_message(state.n_iter + 1, lr))
        step(params, grad, lr)
        if prox is not None:
            prox(lr)
        total += loss * size
        if average_start:
            state.samples_seen += size
            if state.samples_seen >= average_start:
                _update_average(state, model.params)
    if not average_start:
        state.samples_seen += n_samples
    state.t += n_batches
    exploded = not np.isfinite(model.params).all()
    if final and not exploded:
        Xb, yb, wb = batch
        loss = loss_grad(Xb, yb, wb, 1.0 / (Xb.shape[0] * mean_weight))
        exploded = not loss <= limit
    if exploded:
        raise DivergenceError(divergence_message(state.n_iter + 1, rates[-1]))
    mean_loss = total / n_samples
    state.n_iter += 1
    state.last_rate = float(rates[-1])
    return mean_loss


def _improved(state, config, loss, val_score, params):
    """Update the best-so-far records; return whether the epoch improved by tol."""
    tol = -np.inf if config.tol is None else config.tol
    if config.early_stopping:
        improved = val_score >= state.best_validation_score + tol
        if val_score > state.best_validation_score:
            state.best_validation_score = val_score
            state.best_params = params.copy()
    else:
        improved = loss <= state.best_loss - tol
    state.best_loss = min(state.best_loss, loss)
    return improved


def _should_stop(state, config):
    """Apply the stopping rule; let the schedule react to a plateau first."""
    if config.tol is None or state.no_improvement < config.n_iter_no_change:
        return False
    new_rate = config.schedule.on_plateau(state.learning_rate)
    if new_rate is None:
        return True
    if config.verbose:
        print(f"Objective plateaued: learning rate set to {new_rate:.6g}")
    state.learning_rate = new_rate
    state.no_improvement = 0
    return False


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
    """Run up to ``max_epochs`` epochs; return True if the stopping rule fired.

    Parameters
    ----------
    model : Model
    state : TrainingState
    config : LoopConfig
    data : tuple (X, y, sample_weight)
    validation : tuple (X, y, sample_weight) or None
        Held-out data scored after each epoch when early stopping.
    max_epochs : int
    check : bool
        Whether to apply the stopping rule (``partial_fit`` runs one epoch and
        only records the history).
    callbacks : EpochCallbacks or None
        Told when each epoch begins and ends; a callback may stop training.
    """
    X, y, sample_weight = data
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(max_epochs):
            start = time.perf_counter()
            if callbacks is not None:
                callbacks.epoch_begin()
            final = epoch == max_epochs - 1
            loss = run_epoch(model, state, config, X, y, sample_weight, final)
            state.loss_curve.append(loss)
            val_score = None
            if config.early_stopping and validation is not None:
                val_score = model.score(*validation)
                state.validation_scores.append(val_score)
            if _improved(state, config, loss, val_score, model.params):
                state.no_improvement = 0
            else:
                state.no_improvement += 1
            if config.verbose:
                _report(state, loss, val_score, time.perf_counter() - start)
            if callbacks is not None and callbacks.epoch_end():
                return True
            if check and _should_stop(state, config):
                return True
    return False


def _report(state, loss, val_score, seconds):
    line = f"Epoch {state.n_iter}: loss={loss:.6g}"
    if val_score is not None:
        line += f", validation score={val_score:.6g}"
    line += f", learning rate={state.last_rate:.6g}, {seconds:.3f} s"
    print(line)
