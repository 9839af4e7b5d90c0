"""Gradient-descent optimizers.

An optimizer object holds hyperparameters only. Everything that changes while
training (moment estimates, accumulators, the step count) lives in an
:class:`OptimizerState` created at fit time, so fitting never mutates the
object a user passed and the same object can be cloned, grid-searched and
reused.

An optimizer knows nothing about the model: it updates a list of parameter
arrays in place from a list of gradient arrays of the same shapes.

Writing your own optimizer takes a subclass with one method::

    import numpy as np
    from skgd.optimizers import Optimizer

    class SignSGD(Optimizer):
        "Move every parameter by ``lr`` against the sign of its gradient."

        def update(self, param, grad, state, lr, t):
            param -= lr * np.sign(grad)

``GDRegressor(optimizer=SignSGD())`` then trains with it.

Parameters come in two groups: the weights (coefficients, weight matrices)
and the intercepts (biases). Decoupled weight decay applies to the weights
only: the model tells the :class:`OptimizerState` which entries they are,
and the state hands them to :meth:`Optimizer.decay_weights` before each
update.
"""

from . import _adam, _adaptive, _base, _lbfgs, _lion, _sgd
from ._adam import *  # noqa: F403
from ._adaptive import *  # noqa: F403
from ._base import *  # noqa: F403
from ._lbfgs import *  # noqa: F403
from ._lion import *  # noqa: F403
from ._sgd import *  # noqa: F403

# Every module lists what it adds; a new optimizer is public once it is in
# its module's __all__.
__all__ = sorted(
    name
    for module in (_base, _sgd, _adaptive, _adam, _lion, _lbfgs)
    for name in module.__all__
)
