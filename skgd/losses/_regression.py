"""Regression losses and penalties.

Every loss works on a residual ``r = prediction - y`` and returns the
per-sample loss and its derivative with respect to the prediction in one
pass (:meth:`_Loss.of_residual`), so a training step costs one evaluation.
The conventions are those of ``SGDRegressor``: ``squared_error`` is
``r**2 / 2`` and the others follow the same formulas as scikit-learn's
``_sgd_fast`` module.

The same objects are the network regressor's output units: the squared
error and Huber's loss with the identity output, and the Poisson deviance
with the exponential one. As an output unit (:class:`_Output`), a loss maps
the network's last pre-activations ``z`` (one row per sample, one column per
target) to predictions, gives the weighted loss and its gradient with
respect to ``z`` (:meth:`loss_gradient`, where back-propagation starts), the
validation score (R², as ``MLPRegressor``), and the derivatives in ``z``
that the automatic step size needs (:mod:`skgd.network._curvature`).
"""

import numpy as np
from scipy.special import xlogy
from sklearn.metrics import r2_score


class _Loss:
    #: Upper bound of the second derivative, used to derive safe step sizes.
    curvature = 1.0
    #: Whether the derivative is continuous. Without it (absolute error and
    #: the like) the derivative stays of size 1 however small the residual,
    #: so a constant step makes the iterates oscillate around the optimum.
    smooth = True
    #: The name of the linear kernel's twin of this loss (``LOSSES`` in
    #: skgd/linear/_epoch.pyx), or None to run on the NumPy loop. Read from
    #: the class that declares it only.
    compiled_loss = None

    def of_residual(self, r):
        """Per-sample losses and their derivatives at residuals ``r``."""
        raise NotImplementedError

    def total_gradient(self, r, weight=None):
        """The (weighted) sum of the losses, and the weighted derivatives.

        ``weight`` has one entry per row of ``r``.
        """
        losses, grad = self.of_residual(r)
        if weight is not None:
            weight = weight if r.ndim == 1 else weight[:, None]
            losses = losses * weight
            grad = grad * weight
        return float(losses.sum()), grad


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


class _Output:
    """A loss as the network regressor's output unit (see the module docstring).

    ``loss_gradient(z, y, weight, out)`` returns the weighted sum of the
    losses and writes their gradient in ``z`` to ``out``; ``gradient(z, y)``
    gives the unweighted derivatives, ``hessian_product(z, rz)`` ``H_z rz``
    per row and ``hessian_factor(z)`` ``A`` with ``A A^T = H_z``.
    """

    #: The output activation (``out_activation_``).
    name = "identity"
    #: The name of the network kernel's twin (``OUTPUTS`` in
    #: skgd/network/_epoch.pyx), or None. Read from the declaring class only.
    compiled_output = None

    def score(self, z, y, sample_weight):
        """R² of the predictions, averaged over the targets."""
        return float(r2_score(y, self.predict(z), sample_weight=sample_weight))


class _IdentityOutput(_Output):
    """The identity output: the predictions are ``z``, and the second
    derivative of the loss in ``z`` is at most 1, which the automatic step
    size takes (for Huber's loss too: the step must stay stable where the
    residuals fall within ``epsilon``)."""

    def predict(self, z):
        """The predictions of pre-activations ``z`` (a new array)."""
        return z.copy()

    def hessian_product(self, z, rz):
        """``H_z rz`` per row: ``H_z`` is the identity."""
        return rz.copy()

    def hessian_factor(self, z):
        """``A`` with ``A A^T = H_z`` per row."""
        return _diagonal_factor(np.ones_like(z))


class SquaredError(_IdentityOutput, _Loss):
    """``r**2 / 2``: ordinary least squares.

    The network regressor's default output: ``MLPRegressor``'s loss (with
    several targets, it reports the mean over the targets, while its
    gradient is that of the sum used here).
    """

    compiled_loss = "squared_error"
    compiled_output = "squared_error"

    def of_residual(self, r):
        return 0.5 * r * r, r

    def total_gradient(self, r, weight=None):
        # The hot path of least squares: no per-sample loss array.
        if weight is None:
            return 0.5 * float(np.vdot(r, r)), r
        grad = r * (weight if r.ndim == 1 else weight[:, None])
        return 0.5 * float(np.vdot(grad, r)), grad

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


class Huber(_IdentityOutput, _Loss):
    """``r**2 / 2`` for ``|r| <= epsilon``, ``epsilon * |r| - epsilon**2 / 2`` else.

    As an output unit, with ``c = clip(r, -epsilon, epsilon)``, the loss is
    ``c * (r - c / 2)`` and its derivative ``c``.
    """

    compiled_loss = "huber"
    compiled_output = "huber"

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def of_residual(self, r):
        eps = self.epsilon
        abs_r = np.abs(r)
        inside = abs_r <= eps
        loss = np.where(inside, 0.5 * r * r, eps * abs_r - 0.5 * eps * eps)
        grad = np.where(inside, r, eps * np.sign(r))
        return loss, grad

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


class EpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)``: the support-vector regression loss."""

    compiled_loss = "epsilon_insensitive"

    smooth = False

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def of_residual(self, r):
        excess = np.abs(r) - self.epsilon
        outside = excess > 0
        return np.where(outside, excess, 0.0), np.where(outside, np.sign(r), 0.0)


class SquaredEpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)**2``."""

    compiled_loss = "squared_epsilon_insensitive"

    curvature = 2.0

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def of_residual(self, r):
        excess = np.maximum(np.abs(r) - self.epsilon, 0.0)
        return excess * excess, 2.0 * excess * np.sign(r)


class AbsoluteError(_Loss):
    """``|r|``: least absolute deviations (the median regression)."""

    compiled_loss = "absolute_error"

    smooth = False

    def of_residual(self, r):
        return np.abs(r), np.sign(r)


class Quantile(_Loss):
    """The pinball loss: ``q (y - p)`` if ``y >= p``, else ``(1 - q)(p - y)``."""

    compiled_loss = "quantile"

    smooth = False

    def __init__(self, quantile=0.5):
        self.quantile = quantile

    def of_residual(self, r):
        # r = p - y, so y >= p is r <= 0.
        q = self.quantile
        over = r > 0
        loss = np.where(over, (1.0 - q) * r, -q * r)
        grad = np.where(over, 1.0 - q, -q)
        return loss, grad.astype(r.dtype, copy=False)


class PoissonDeviance(_Output):
    """Exponential output (log link) with half the Poisson deviance.

    A loss of the network regressor only. The prediction is ``mu = exp(z)``
    and the loss of a target ``y log(y / mu) - y + mu``: ``exp(z) - y z``
    plus a term of y alone. The gradient is the same, ``mu - y``, but the
    loss is 0 for a perfect fit, so the objective is never negative (as the
    training loop's divergence checks need) and its values are
    ``MLPRegressor``'s.
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


REGRESSION_LOSSES = (
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
    "absolute_error",
    "quantile",
)


def get_regression_loss(name, epsilon=0.1, quantile=0.5):
    """Return the loss object for an estimator's ``loss`` parameter."""
    if name == "squared_error":
        return SquaredError()
    if name == "huber":
        return Huber(epsilon)
    if name == "epsilon_insensitive":
        return EpsilonInsensitive(epsilon)
    if name == "squared_epsilon_insensitive":
        return SquaredEpsilonInsensitive(epsilon)
    if name == "absolute_error":
        return AbsoluteError()
    if name == "quantile":
        return Quantile(quantile)
    raise ValueError(
        f"Unknown loss {name!r}; use one of {', '.join(REGRESSION_LOSSES)}."
    )


class Penalty:
    """The elastic-net penalty ``alpha * (l1_ratio |v|_1 + (1 - l1_ratio) |v|^2 / 2)``.

    ``v = weight * w``: each coefficient ``w_j`` is penalised in the units
    its ``weight_j`` gives it (the spread of its feature, for a penalty on
    standardised coefficients; 1 by default, the raw units). The smooth L2
    part enters the gradient; the L1 part is applied after each update as a
    proximal (soft-threshold) step, which sets coefficients to exactly zero,
    as plain subgradient steps never would.

    Parameters
    ----------
    penalty : {None, "l2", "l1", "elasticnet"}
    alpha : float
    l1_ratio : float or None
        Only used by ``"elasticnet"``, which needs it.
    weight : ndarray of shape (n_features,) or None
        The coefficients' weights (None: all 1).
    """

    def __init__(self, penalty, alpha, l1_ratio, weight=None):
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError(
                "l1_ratio must be set when penalty is 'elasticnet': the share of "
                "L1 in the penalty, from 0 (ridge) to 1 (lasso)."
            )
        if penalty is None or alpha == 0:
            l1 = l2 = 0.0
        elif penalty == "l2":
            l1, l2 = 0.0, alpha
        elif penalty == "l1":
            l1, l2 = alpha, 0.0
        else:
            l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
        self.l1 = l1
        self.l2 = l2
        self.weight = None if weight is None else np.asarray(weight, np.float64)

    def _weight(self, w):
        """The weights, shaped to broadcast against ``w`` (None: all 1)."""
        if self.weight is None:
            return None
        return self.weight if np.ndim(w) == 1 else self.weight[:, None]

    def value(self, w):
        weight = self._weight(w)
        v = w if weight is None else weight * w
        total = 0.0
        if self.l2:
            total += 0.5 * self.l2 * float(np.vdot(v, v))
        if self.l1:
            total += self.l1 * float(np.abs(v).sum())
        return total

    def add_gradient(self, w, grad):
        """Add the gradient of the smooth part to ``grad``; return the value."""
        total = self.value(w)
        if self.l2:
            weight = self._weight(w)
            if weight is None:
                grad += self.l2 * w
            else:
                # In this order: a weight squared may overflow, a weight
                # times its coefficient does not.
                grad += self.l2 * (weight * w) * weight
        return total

    def prox(self, w, step, weight=None):
        """Soft-threshold ``w`` in place by ``step * l1`` (times the weights).

        ``weight`` (broadcast against ``w``) gives each coefficient a further
        factor of its threshold: the prox of ``l1 * sum(weight * |w|)``
        (for the coefficients' own weights too).
        """
        if self.l1:
            threshold = step * self.l1
            if weight is not None:
                threshold = threshold * weight
            own = self._weight(w)
            if own is not None:
                threshold = threshold * own
            shrunk = np.abs(w) - threshold
            np.maximum(shrunk, 0.0, out=shrunk)
            np.copysign(shrunk, w, out=w)
