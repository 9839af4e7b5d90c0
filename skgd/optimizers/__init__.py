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

from ._optimizers import (
    LBFGS,
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    NAdam,
    Optimizer,
    OptimizerState,
    RAdam,
    RMSProp,
    available_optimizers,
    get_optimizer,
)

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
