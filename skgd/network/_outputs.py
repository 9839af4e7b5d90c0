"""Targets, output units and cross-entropy losses of the network classifiers.

Class labels are encoded as binary indicator targets by a ``LabelBinarizer``
(one column for binary targets, one per class or label otherwise). An output
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
(:mod:`skgd.network._curvature`); :mod:`skgd.network._regression_outputs` has the
regressor's units, with the same interface.
"""

from numbers import Real

import numpy as np
from scipy.special import expit, log_expit, logsumexp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight


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


def fit_binarizer(y, classes=None):
    """Return the ``LabelBinarizer`` of the labels ``y`` (or of ``classes``).

    ``classes``, when given, lists every class of a stream; it is ignored for
    multilabel targets, whose labels are the columns of ``y``.
    """
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            "Only binary, multiclass and multilabel indicator targets are "
            f"supported; y is {y_type}."
        )
    use_classes = classes is not None and y_type != "multilabel-indicator"
    binarizer = LabelBinarizer().fit(classes if use_classes else y)
    if len(binarizer.classes_) < 2:
        raise ValueError(
            "At least 2 classes are needed to learn, but the data has only one "
            f"class: {binarizer.classes_[0]!r}."
        )
    return binarizer


def check_labels(y, binarizer, same_classes=False):
    """Check that ``y`` only has the classes (or labels) of ``binarizer``.

    With ``same_classes``, ``y`` must have every class too.
    """
    classes = binarizer.classes_
    if binarizer.y_type_.startswith("multilabel"):
        if y.ndim != 2 or y.shape[1] != len(classes):
            raise ValueError(
                f"y must be an indicator matrix of {len(classes)} labels, like "
                f"the targets the network was set up for; got shape {y.shape}."
            )
        return
    if y.ndim != 1:
        raise ValueError(f"y must be 1d class labels; got shape {y.shape}.")
    labels = np.unique(y)
    if same_classes and set(labels) != set(classes):
        raise ValueError(
            "warm_start needs y to have the same classes as the previous fit: "
            f"it had {classes}, y has {labels}."
        )
    unknown = np.setdiff1d(labels, classes)
    if len(unknown):
        raise ValueError(
            f"y has labels {unknown} that are not among the classes {classes}."
        )


def class_weight_of_samples(class_weight, binarizer, y):
    """The weight of each sample's class: ``class_weight`` is a dict or "balanced"."""
    if binarizer.y_type_.startswith("multilabel"):
        raise ValueError(
            "class_weight is not supported for multilabel targets; pass "
            "sample_weight instead."
        )
    classes = binarizer.classes_
    if isinstance(class_weight, str):
        weights = compute_class_weight(class_weight, classes=classes, y=y)
    else:
        weights = np.ones(len(classes))
        for label, weight in class_weight.items():
            if not (isinstance(weight, Real) and np.isfinite(weight) and weight >= 0):
                raise ValueError(
                    "class_weight must map labels to finite non-negative numbers;"
                    f" got {weight!r} for the label {label!r}."
                )
            index = np.flatnonzero(classes == label)
            if not len(index):
                raise ValueError(
                    f"class_weight has the label {label!r}, which is not among "
                    f"the classes {classes}."
                )
            weights[index] = weight
    weights = weights[np.searchsorted(classes, y)]
    if len(y) and not weights.any():
        raise ValueError(
            f"class_weight={class_weight!r} gives every sample of y a weight of 0;"
            " at least one must be positive."
        )
    return weights


def weigh_classes(class_weight, binarizer, y, sample_weight, X, partial):
    """The sample weights times the weights of the samples' classes.

    ``class_weight="balanced"`` is refused in ``partial_fit`` (``partial``):
    a chunk's class frequencies are not the data's.
    """
    if partial and class_weight == "balanced":
        raise ValueError(
            'class_weight="balanced" is not supported by partial_fit: a '
            "chunk's class frequencies are not the data's. Pass a dict, "
            'e.g. from compute_class_weight("balanced", ...) on all data.'
        )
    weights = class_weight_of_samples(class_weight, binarizer, y)
    given = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    weighted = given * weights.astype(X.dtype)
    if (given > 0).any() and not (weighted > 0).any():
        raise ValueError(
            f"class_weight={class_weight!r} gives a weight of 0 to "
            "every sample with a positive sample_weight."
        )
    return weighted
