"""Regression losses and penalties.

Every loss works on a residual ``r = prediction - y`` and returns the
per-sample loss and its derivative with respect to the prediction in one
pass, so a training step costs one evaluation. The conventions are those of
``SGDRegressor``: ``squared_error`` is ``r**2 / 2`` and the others follow the
same formulas as scikit-learn's ``_sgd_fast`` module.
"""

import numpy as np


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

    def loss_gradient(self, r):
        """Per-sample losses and their derivatives at residuals ``r``."""
        raise NotImplementedError

    def total_gradient(self, r, weight=None):
        """The (weighted) sum of the losses, and the weighted derivatives.

        ``weight`` has one entry per row of ``r``.
        """
        losses, grad = self.loss_gradient(r)
        if weight is not None:
            weight = weight if r.ndim == 1 else weight[:, None]
            losses = losses * weight
            grad = grad * weight
        return float(losses.sum()), grad


class SquaredError(_Loss):
    """``r**2 / 2``: ordinary least squares."""

    compiled_loss = "squared_error"

    def loss_gradient(self, r):
        return 0.5 * r * r, r

    def total_gradient(self, r, weight=None):
        # The hot path of least squares: no per-sample loss array.
        if weight is None:
            return 0.5 * float(np.vdot(r, r)), r
        grad = r * (weight if r.ndim == 1 else weight[:, None])
        return 0.5 * float(np.vdot(grad, r)), grad


class Huber(_Loss):
    """``r**2 / 2`` for ``|r| <= epsilon``, ``epsilon * |r| - epsilon**2 / 2`` else."""

    compiled_loss = "huber"

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss_gradient(self, r):
        eps = self.epsilon
        abs_r = np.abs(r)
        inside = abs_r <= eps
        loss = np.where(inside, 0.5 * r * r, eps * abs_r - 0.5 * eps * eps)
        grad = np.where(inside, r, eps * np.sign(r))
        return loss, grad


class EpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)``: the support-vector regression loss."""

    compiled_loss = "epsilon_insensitive"

    smooth = False

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss_gradient(self, r):
        excess = np.abs(r) - self.epsilon
        outside = excess > 0
        return np.where(outside, excess, 0.0), np.where(outside, np.sign(r), 0.0)


class SquaredEpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)**2``."""

    compiled_loss = "squared_epsilon_insensitive"

    curvature = 2.0

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss_gradient(self, r):
        excess = np.maximum(np.abs(r) - self.epsilon, 0.0)
        return excess * excess, 2.0 * excess * np.sign(r)


class AbsoluteError(_Loss):
    """``|r|``: least absolute deviations (the median regression)."""

    compiled_loss = "absolute_error"

    smooth = False

    def loss_gradient(self, r):
        return np.abs(r), np.sign(r)


class Quantile(_Loss):
    """The pinball loss: ``q (y - p)`` if ``y >= p``, else ``(1 - q)(p - y)``."""

    compiled_loss = "quantile"

    smooth = False

    def __init__(self, quantile=0.5):
        self.quantile = quantile

    def loss_gradient(self, r):
        # r = p - y, so y >= p is r <= 0.
        q = self.quantile
        over = r > 0
        loss = np.where(over, (1.0 - q) * r, -q * r)
        grad = np.where(over, 1.0 - q, -q)
        return loss, grad.astype(r.dtype, copy=False)


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
