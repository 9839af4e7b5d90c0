"""What the training loop works on, and what it keeps between calls.

:class:`Model` is the interface an estimator's model offers the loop (one
parameter buffer, the objective and its gradient on a batch), and
:class:`LoopConfig` the estimator's settings that drive it.
:class:`TrainingState` holds everything that persists between ``partial_fit``
calls: the optimizer's state, the step count, the history and the records of
convergence monitoring. :class:`DivergenceError` is what a diverging fit
raises, with :func:`divergence_message`.
"""

import copy
from dataclasses import dataclass

import numpy as np

from ..optimizers import OptimizerState


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

    def loss_grad(self, X, y, sample_weight, mean_factor):
        """Fill ``self.grad`` and return the objective on one batch.

        The objective is ``mean_factor * sum(sample_weight * loss) + penalty``;
        ``mean_factor`` is ``1 / (batch size * mean sample weight)``, so the batch
        objective is an unbiased estimate of the full one.
        """
        raise NotImplementedError

    def prox(self, step):
        """Apply a proximal step after each update (for an L1 penalty)."""

    def score(self, X, y, sample_weight):
        """Return the validation score (higher is better)."""
        raise NotImplementedError

    def baseline_loss(self, X, y, sample_weight, mean_factor):
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
        self.optimizer_state = OptimizerState(optimizer, [params])
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

    def __setstate__(self, saved):
        # skgd 0.1.0 kept the optimizer's state as ``optimizer``.
        if "optimizer" in saved:
            saved["optimizer_state"] = saved.pop("optimizer")
        self.__dict__.update(saved)

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
        state.optimizer_state = copy.deepcopy(self.optimizer_state)
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


class DivergenceError(ValueError):
    """Raised when training produces a non-finite objective or parameters."""


def divergence_message(epoch, learning_rate):
    """The message of a divergence in ``epoch`` at ``learning_rate``."""
    return (
        f"Training diverged in epoch {epoch}: the objective exploded or the "
        "parameters became non-finite. The learning rate "
        f"({learning_rate:.6g}) is too large for this data (or for this "
        "optimizer): use a smaller "
        "learning_rate, or scale X (for example with StandardScaler), or keep "
        'learning_rate="auto".'
    )
