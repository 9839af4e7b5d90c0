"""Losses of a linear classifier's decision values.

The targets are indicator columns ``y`` (0 or 1) of the decision values
``z``: one column for binary targets, one per class otherwise. A *margin
loss* depends on the margin ``m = s z`` with the sign ``s = 2 y - 1``; with
several classes each column is its own binary problem (one-vs-rest), as in
``SGDClassifier``. The *multinomial* loss couples the columns: it is the
cross-entropy of the softmax of ``z`` (true multinomial logistic
regression), in :mod:`skgd.losses._cross_entropy`. Every loss returns the
weighted sum of the losses and their derivatives with respect to ``z`` in
one pass; the definitions are those of ``SGDClassifier`` (``hinge``'s
margin is 1, ``perceptron``'s 0).
"""

import numpy as np
from scipy.special import expit

from ._cross_entropy import MultinomialLogLoss


class _MarginLoss:
    """A loss of the margin ``m = s z``; subclasses give its value and slope."""

    #: Upper bound of the second derivative, for safe step sizes.
    curvature = 1.0
    #: Whether the derivative is continuous (see skgd.losses._regression._Loss).
    smooth = True
    #: The linear kernel's twin (see skgd.losses._regression._Loss).
    compiled_loss = None

    def of_margin(self, m):
        """The losses at margins ``m``, and their derivatives along ``m``."""
        raise NotImplementedError

    def total_gradient(self, z, y, weight=None):
        """The (weighted) sum of the losses, and their derivatives along ``z``.

        ``z`` is overwritten with the derivatives.
        """
        sign = 2.0 * y - 1.0
        losses, slope = self.of_margin(sign * z)
        np.multiply(slope, sign, out=z)
        if weight is not None:
            weight = weight[:, np.newaxis]
            losses = losses * weight
            z *= weight
        return float(losses.sum()), z


class Hinge(_MarginLoss):
    """``max(0, threshold - m)``: the linear SVM (1) or the perceptron (0)."""

    compiled_loss = "hinge"

    smooth = False

    def __init__(self, threshold=1.0):
        self.threshold = threshold

    def of_margin(self, m):
        # The slope is -1 at the threshold too, as in SGDClassifier, so that
        # the perceptron moves away from its all-zero start.
        active = m <= self.threshold
        return np.where(active, self.threshold - m, 0.0), -active.astype(m.dtype)


class SquaredHinge(_MarginLoss):
    """``max(0, 1 - m)**2``."""

    compiled_loss = "squared_hinge"

    curvature = 2.0

    def of_margin(self, m):
        gap = np.maximum(1.0 - m, 0.0)
        return gap * gap, -2.0 * gap


class ModifiedHuber(_MarginLoss):
    """``max(0, 1 - m)**2`` for ``m >= -1``, ``-4 m`` below: a smoothed hinge."""

    compiled_loss = "modified_huber"

    curvature = 2.0

    def of_margin(self, m):
        gap = np.maximum(1.0 - m, 0.0)
        linear = m < -1.0
        losses = np.where(linear, -4.0 * m, gap * gap)
        return losses, np.where(linear, -4.0, -2.0 * gap).astype(m.dtype)


class BinaryLogLoss(_MarginLoss):
    """``log(1 + exp(-m))``: logistic regression, computed without overflow."""

    compiled_loss = "binary_log"

    curvature = 0.25

    def of_margin(self, m):
        return np.logaddexp(0.0, -m), -expit(-m)


CLASSIFICATION_LOSSES = (
    "hinge",
    "log_loss",
    "modified_huber",
    "squared_hinge",
    "perceptron",
)


def get_classification_loss(name, n_classes):
    """The loss object of ``GDClassifier(loss=name)`` for ``n_classes`` classes."""
    if name == "log_loss":
        return BinaryLogLoss() if n_classes == 2 else MultinomialLogLoss()
    if name == "hinge":
        return Hinge(1.0)
    if name == "perceptron":
        return Hinge(0.0)
    if name == "squared_hinge":
        return SquaredHinge()
    if name == "modified_huber":
        return ModifiedHuber()
    raise ValueError(
        f"Unknown loss {name!r}; use one of {', '.join(CLASSIFICATION_LOSSES)}."
    )
