"""Targets, output units and losses of the network regressor.

The network's last layer gives pre-activations ``z`` (one row per sample,
one column per target). An output unit maps them to predictions,
``mu = z`` (identity) or ``mu = exp(z)`` (the log link of the Poisson
loss), and its loss compares ``mu`` with the targets ``y``; the losses of a
sample are summed over its targets.

An output unit has the interface of the classification ones
(:mod:`skgd.network._outputs`): ``loss_gradient`` gives the weighted
loss and its gradient with respect to ``z``, where back-propagation starts;
``score`` the validation score (R², as ``MLPRegressor``); and ``gradient``,
``hessian_product`` and ``hessian_factor`` the derivatives with respect to
``z`` that the automatic step size needs (:mod:`skgd.network._curvature`).
For the identity output and the squared error, as for the Poisson loss and
its log link, the derivative of the loss with respect to ``z`` is
``mu - y``.
"""

import numpy as np
from scipy.special import xlogy
from sklearn.metrics import r2_score


def _diagonal_factor(root):
    """Per row, the diagonal matrix of a row of ``root`` (shape ``(n, K, K)``)."""
    factor = np.zeros((*root.shape, root.shape[1]))
    index = np.arange(root.shape[1])
    factor[:, index, index] = root
    return factor


def _weighted_sum(losses, weight):
    """``sum(weight * losses)`` for a scalar or a column of weights."""
    if np.ndim(weight) == 0:
        return weight * float(losses.sum())
    return float(weight[:, 0] @ losses.sum(axis=1))


class SquaredError:
    """Identity output with half the squared error, ``(z - y)**2 / 2``.

    ``MLPRegressor``'s loss (with several targets, it reports the mean over
    the targets, while its gradient is that of the sum used here).
    """

    compiled_output = "squared_error"

    name = "identity"

    def predict(self, z):
        """The predictions of pre-activations ``z`` (a new array)."""
        return z.copy()

    def score(self, z, y, sample_weight):
        """R² of the predictions, averaged over the targets."""
        return float(r2_score(y, self.predict(z), sample_weight=sample_weight))

    def loss_gradient(self, z, y, weight, out):
        """Return the weighted sum of the losses; write their gradient to ``out``.

        ``weight`` is a scalar or a column of per-sample weights. The gradient
        with respect to ``z`` is ``weight * (z - y)``.
        """
        np.subtract(z, y, out=out)
        if np.ndim(weight) == 0:
            loss = 0.5 * weight * float(np.vdot(out, out))
            out *= weight
            return loss
        weighted = out * weight
        loss = 0.5 * float(np.vdot(weighted, out))
        out[...] = weighted
        return loss

    def gradient(self, z, y):
        """The derivatives of the unweighted losses in ``z``."""
        return z - y

    def hessian_product(self, z, rz):
        """``H_z rz`` per row: ``H_z`` is the identity."""
        return rz.copy()

    def hessian_factor(self, z):
        """``A`` with ``A A^T = H_z`` per row."""
        return _diagonal_factor(np.ones_like(z))


class Huber(SquaredError):
    """Identity output with Huber's loss of the residual ``r = z - y``.

    ``r**2 / 2`` for ``|r| <= epsilon`` and ``epsilon * (|r| - epsilon / 2)``
    beyond: with ``c = clip(r, -epsilon, epsilon)``, the loss is
    ``c * (r - c / 2)`` and its derivative ``c``. The second derivative is 1
    or 0, so the curvature is at most the squared error's, which the
    automatic step size takes (:meth:`hessian_product` is inherited): the
    step must stay stable where the residuals fall within ``epsilon``.
    """

    compiled_output = "huber"

    def __init__(self, epsilon):
        self.epsilon = epsilon

    def loss_gradient(self, z, y, weight, out):
        """Return the weighted sum of the losses; write their gradient to ``out``."""
        residual = z - y
        np.clip(residual, -self.epsilon, self.epsilon, out=out)
        residual -= 0.5 * out
        residual *= out
        out *= weight
        return _weighted_sum(residual, weight)

    def gradient(self, z, y):
        return np.clip(z - y, -self.epsilon, self.epsilon)


class PoissonDeviance(SquaredError):
    """Exponential output (log link) with half the Poisson deviance.

    The prediction is ``mu = exp(z)`` and the loss of a target
    ``y log(y / mu) - y + mu``: ``exp(z) - y z`` plus a term of y alone.
    The gradient is the same, ``mu - y``, but the loss is 0 for a perfect
    fit, so the objective is never negative (as the training loop's
    divergence checks need) and its values are ``MLPRegressor``'s.
    """

    compiled_output = "poisson"

    name = "exp"

    def predict(self, z):
        return np.exp(z)

    def loss_gradient(self, z, y, weight, out):
        """Return the weighted sum of the losses; write their gradient to ``out``."""
        np.exp(z, out=out)
        losses = xlogy(y, y)
        losses -= y * z
        losses += out
        losses -= y
        out -= y
        out *= weight
        return _weighted_sum(losses, weight)

    def gradient(self, z, y):
        return np.exp(z) - y

    def hessian_product(self, z, rz):
        """``H_z rz`` per row: ``H_z = diag(exp(z))``."""
        return np.exp(z) * rz

    def hessian_factor(self, z):
        return _diagonal_factor(np.exp(0.5 * z))


#: The ``loss`` parameter of the network regressor.
REGRESSION_OUTPUTS = ("squared_error", "huber", "poisson")


def get_regression_output(loss, epsilon):
    """The output unit of ``loss``."""
    if loss == "huber":
        return Huber(epsilon)
    if loss == "poisson":
        return PoissonDeviance()
    return SquaredError()


class StandardisedTarget:
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

    def score(self, z, y, sample_weight):
        return float(r2_score(y, self.predict(z), sample_weight=sample_weight))

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
