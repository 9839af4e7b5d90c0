"""The network regressor's targets and output units.

The output units are the regression losses of :mod:`skgd.losses._regression`
(the squared error and Huber's loss with the identity output, the Poisson
deviance with the exponential one), the same objects the linear models use;
the losses of a sample are summed over its targets. Here: the choice of the
output unit, the standardised-target wrapper :class:`StandardisedTarget`,
and the checks and initial offset of the targets.
"""

import numpy as np

from ..losses._regression import Huber, PoissonDeviance, SquaredError, _Output

#: The ``loss`` parameter of the network regressor.
REGRESSION_OUTPUTS = ("squared_error", "huber", "poisson")


def get_regression_output(loss, epsilon):
    """The output unit of ``loss``."""
    if loss == "huber":
        return Huber(epsilon)
    if loss == "poisson":
        return PoissonDeviance()
    return SquaredError()


class StandardisedTarget(_Output):
    """An output unit trained on standardised targets.

    The network's outputs ``z`` predict ``(y - offset) / scale`` (``offset``
    per target, ``scale`` one number for all targets, so that their relative
    weights in the loss stay the user's); the prediction in y's units is
    ``scale * z + offset``. Losses, gradients and curvatures are those of
    ``inner`` on the standardised targets: unit-free, so that the step
    sizes, ``tol`` and every optimizer's steps (Adam's ``epsilon`` too) do
    not depend on the units of y. Times ``scale**2`` they are the losses in
    y's units, for the squared error and for Huber's loss with ``epsilon /
    scale`` (see :func:`get_regression_output`).
    """

    def __init__(self, inner, offset, scale):
        self.inner, self.offset, self.scale = inner, offset, scale
        self.name = inner.name

    def _standardised(self, y):
        return (y - self.offset) / self.scale

    def predict(self, z):
        return z * self.scale + self.offset

    def loss_gradient(self, z, y, weight, out):
        return self.inner.loss_gradient(z, self._standardised(y), weight, out)

    def gradient(self, z, y):
        return self.inner.gradient(z, self._standardised(y))

    def hessian_product(self, z, rz):
        return self.inner.hessian_product(z, rz)

    def hessian_factor(self, z):
        return self.inner.hessian_factor(z)


def target_scaling(loss, y, weight):
    """``(offset, scale)`` of the standardised targets, or None (Poisson).

    ``offset`` is each target's (weighted) mean and ``scale`` the root mean
    of their (weighted) variances, computed without overflow for targets of
    any finite magnitude; 1 if the targets are constant. The
    Poisson loss keeps its log link on the raw counts.
    """
    if loss == "poisson":
        return None
    y = np.asarray(y, dtype=np.float64)
    # On y divided by its largest magnitude: no square overflows, whatever
    # the units of y (targets of 1e200 train as targets of 1).
    top = float(np.abs(y).max(initial=0.0))
    if not np.isfinite(top):
        raise ValueError(
            "y contains values too large for float64; divide it by a constant."
        )
    unit = top if top > 0 else 1.0
    ratio = y / unit
    mean = np.average(ratio, axis=0, weights=weight)
    variance = np.average((ratio - mean) ** 2, axis=0, weights=weight)
    scale = unit * float(np.sqrt(np.mean(variance)))
    scale = scale if scale > 0 else 1.0
    square = scale * scale if scale < 1e154 else np.inf
    if not np.finfo(np.float64).tiny <= square < np.inf:
        raise ValueError(
            f"y has values of magnitude {top:.3g} and a spread of {scale:.3g}: "
            "its squared errors (the loss curve's units) are out of the range of "
            "float64. Bring y to a moderate scale, by dividing it by a constant."
        )
    return unit * mean, scale


def check_targets(loss, y):
    """Check that ``y`` suits ``loss``: non-negative for the Poisson loss."""
    if loss == "poisson" and y.size and y.min() < 0:
        raise ValueError(
            "loss='poisson' needs non-negative targets (counts, rates, ...); "
            f"y has values down to {y.min():.6g}."
        )


def initial_offset(loss, y, weight):
    """The output biases' starting offset: where the predictions start.

    The (weighted) mean of each target, or its logarithm for the Poisson
    loss's log link, as ``GDRegressor`` starts its intercept: the network
    then starts from the best constant prediction rather than from 0,
    however far from 0 the targets are.

    Parameters
    ----------
    loss : str
    y : ndarray of shape (n_samples, n_targets)
    weight : ndarray of shape (n_samples,) or None
        The rows of weight 0 (held out for early stopping) do not count.

    Returns
    -------
    offset : ndarray of shape (n_targets,), float64
    """
    mean = np.average(np.asarray(y, dtype=np.float64), axis=0, weights=weight)
    if loss != "poisson":
        return mean
    if not (mean > 0).all():
        raise ValueError(
            "loss='poisson' needs targets with a positive (weighted) mean: the "
            "predictions exp(z) are positive. y has means "
            f"{np.round(mean, 6).tolist()}."
        )
    return np.log(mean)
