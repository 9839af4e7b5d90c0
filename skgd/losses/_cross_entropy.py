"""The cross-entropy losses: the network classifiers' output units, and the
linear classifier's multinomial log loss.

Class labels are encoded as binary indicator targets by a ``LabelBinarizer``
(:mod:`skgd._labels`: one column for binary targets, one per class or label
otherwise). An output
unit turns the last layer's pre-activations ``z`` (one row per
sample) into probabilities, and its cross-entropy with the binary indicator
targets ``y`` is the training loss. For both pairs below, the loss's
derivative with respect to ``z`` is ``proba - y``: the back-propagation
starts from there.

The losses are computed from ``z`` with the log-sum-exp identity rather than
from the logarithm of the probabilities, so they stay finite (and exact) when
the probabilities saturate to 0 or 1. Each output unit also gives the
validation score (the accuracy) and the first and second derivatives of its
loss in ``z`` that the automatic step size needs
(:mod:`skgd.network._curvature`); :mod:`skgd.losses._regression` has the
regressor's units, with the same interface.
"""

import numpy as np
from scipy.special import expit, log_expit, logsumexp


class _CrossEntropy:
    """What both cross-entropy outputs share."""

    def gradient(self, z, y):
        """The derivatives of the unweighted losses in ``z``: ``proba - y``."""
        return self.proba(z) - y

    def score(self, z, y, sample_weight):
        """The (weighted) accuracy: the share of samples predicted right."""
        return float(np.average(self.correct(z, y), weights=sample_weight))


class SoftmaxCrossEntropy(_CrossEntropy):
    """Softmax over the outputs with the categorical cross-entropy (multiclass).

    The loss of a sample is ``logsumexp(z) - z[k]`` for its class ``k``.
    """

    compiled_output = "softmax_cross_entropy"

    name = "softmax"

    def loss_gradient(self, z, y, weight, out):
        """Return the weighted sum of the losses; write their gradient to ``out``.

        ``weight`` is a scalar or a column of per-sample weights. The gradient
        with respect to ``z`` is ``weight * (proba - y)``; ``z`` is overwritten.
        """
        # Row maxima and sums over a few columns: a reduction along the long
        # axis of the transpose, and a matrix-vector product, are much faster
        # than reductions along axis 1.
        z -= np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)[:, np.newaxis]
        np.exp(z, out=out)
        total = out @ np.ones(z.shape[1], dtype=z.dtype)
        out /= total[:, np.newaxis]
        out -= y
        out *= weight
        # The loss is log(sum(exp(z))) - z[class], with z shifted as above.
        log_total = np.log(total)
        if np.ndim(weight) == 0:
            return weight * (float(log_total.sum()) - float(np.vdot(y, z)))
        return float(log_total @ weight[:, 0]) - float(np.vdot(y * weight, z))

    def proba(self, z):
        """The class probabilities (a new array)."""
        proba = np.exp(z - z.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def log_proba(self, z):
        """The logarithms of the class probabilities, computed stably."""
        return z - logsumexp(z, axis=1, keepdims=True)

    def correct(self, z, y):
        """Whether the most probable class is the sample's class."""
        return z.argmax(axis=1) == y.argmax(axis=1)

    def hessian_product(self, z, rz):
        """``H_z rz`` per row, with ``H_z = diag(p) - p p^T``."""
        p = self.proba(z)
        return p * (rz - (p * rz).sum(axis=1, keepdims=True))

    def hessian_factor(self, z):
        """``A`` with ``A A^T = H_z`` per row (shape ``(n, K, K)``)."""
        p = self.proba(z)
        root = np.sqrt(p)
        # (diag(r) - p r^T)(diag(r) - p r^T)^T = diag(p) - p p^T, as sum(p) = 1.
        factor = -p[:, :, None] * root[:, None, :]
        index = np.arange(p.shape[1])
        factor[:, index, index] += root
        return factor


class LogisticCrossEntropy(_CrossEntropy):
    """One logistic unit per output with the binary cross-entropy.

    Used for binary targets (one unit, the probability of the positive class)
    and multilabel targets (one unit per label, the losses summed over
    labels). The loss of a unit is ``log(1 + exp(z)) - y z``.
    """

    compiled_output = "logistic_cross_entropy"

    name = "logistic"

    def loss_gradient(self, z, y, weight, out):
        """Return the weighted sum of the losses; write their gradient to ``out``.

        ``weight`` is a scalar or a column of per-sample weights. The gradient
        with respect to ``z`` is ``weight * (proba - y)``.
        """
        losses = np.logaddexp(0, z)
        expit(z, out=out)
        out -= y
        out *= weight
        if np.ndim(weight) == 0:
            return weight * (float(losses.sum()) - float(np.vdot(y, z)))
        losses -= y * z
        return float(weight[:, 0] @ losses.sum(axis=1))

    def proba(self, z):
        """The probabilities of the positive class of each output (a new array)."""
        return expit(z)

    def log_proba(self, z):
        """The logarithms of :meth:`proba`, computed stably."""
        return log_expit(z)

    def correct(self, z, y):
        """Whether every output is on the right side of probability 1/2."""
        return ((z > 0) == (y > 0.5)).all(axis=1)

    def hessian_product(self, z, rz):
        """``H_z rz`` per row, with ``H_z = diag(p (1 - p))``."""
        p = self.proba(z)
        return p * (1.0 - p) * rz

    def hessian_factor(self, z):
        """``A`` with ``A A^T = H_z`` per row (shape ``(n, K, K)``)."""
        p = self.proba(z)
        factor = np.zeros((z.shape[0], z.shape[1], z.shape[1]))
        index = np.arange(z.shape[1])
        factor[:, index, index] = np.sqrt(p * (1.0 - p))
        return factor


#: Output units by the name ``out_activation_`` reports.
OUTPUTS = {"softmax": SoftmaxCrossEntropy(), "logistic": LogisticCrossEntropy()}


class MultinomialLogLoss:
    """``logsumexp(z) - z[k]`` for the class ``k``: the softmax cross-entropy."""

    compiled_loss = "multinomial_log"

    # The Hessian of the softmax cross-entropy is diag(p) - p p^T, whose
    # largest eigenvalue is at most 1/2.
    curvature = 0.5
    smooth = True

    def total_gradient(self, z, y, weight=None):
        """The (weighted) sum of the losses; ``z`` becomes ``softmax(z) - y``.

        The log-sum-exp is shifted by each row's largest value (no overflow),
        in plain NumPy: SciPy's ``logsumexp`` costs a quarter of a millisecond
        per call in array-API dispatch, more than a small batch's arithmetic.
        """
        picked = np.einsum("ij,ij->i", z, y)
        # Column by column, then a product with ones: NumPy's reductions
        # along a short last axis cost several times more.
        top = z[:, 0].copy()
        for column in range(1, z.shape[1]):
            np.maximum(top, z[:, column], out=top)
        z -= top[:, np.newaxis]
        np.exp(z, out=z)
        total = z @ np.ones(z.shape[1], z.dtype)
        z /= total[:, np.newaxis]
        losses = np.log(total) + top - picked
        z -= y
        if weight is not None:
            losses = losses * weight
            z *= weight[:, np.newaxis]
        return float(losses.sum()), z
