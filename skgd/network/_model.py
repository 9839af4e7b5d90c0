"""The network model: the flat parameter layout, the forward pass,
back-propagation and the first layer's implicit rescaling, shared by
:class:`MLPGDClassifier` and :class:`MLPGDRegressor`."""

from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from ..training._state import Model
from ..training._statistics import (
    column_spreads,
    feature_sums,
    max_abs,
    nonzero_rows,
)
from ._activations import ACTIVATIONS
from ._backend import network_backend


class _Layout:
    """Where each layer's weights and biases sit in the flat parameter buffer.

    All weight matrices come first, layer after layer, then all bias vectors,
    so the L2 penalty (on weights only) applies to one contiguous slice.
    """

    def __init__(self, layer_units):
        self.shapes = list(pairwise(layer_units))
        sizes = [n_in * n_out for n_in, n_out in self.shapes]
        self.n_weights = sum(sizes)
        self.size = self.n_weights + sum(layer_units[1:])
        #: Where each layer's weight matrix and bias vector start.
        self.weight_starts = np.cumsum([0, *sizes[:-1]]).tolist()
        self.bias_starts = (self.n_weights + _starts(layer_units[1:])).tolist()

    def views(self, buffer):
        """Return the lists of weight matrices and bias vectors, views of ``buffer``."""
        coefs, intercepts = [], []
        for (n_in, n_out), start, bias_start in zip(
            self.shapes, self.weight_starts, self.bias_starts, strict=True
        ):
            coefs.append(buffer[start : start + n_in * n_out].reshape(n_in, n_out))
            intercepts.append(buffer[bias_start : bias_start + n_out])
        return coefs, intercepts


def _starts(sizes):
    """Where consecutive blocks of ``sizes`` start in one buffer."""
    return np.cumsum([0, *sizes[:-1]])


def _forward(X, coefs, intercepts, activation):
    """Return the pre-activations of the output layer for ``X`` (new arrays)."""
    forward = ACTIVATIONS[activation][0]
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = a @ W
        z += b
        if i < len(coefs) - 1:
            forward(z)
        a = z
    return np.asarray(a)


def first_layer_in_units(theta, beta, offset, scale):
    """The first layer's weights and biases on ``X``, from those on the
    rescaled inputs ``(X - offset) / scale`` (``offset`` None: not centred)."""
    W = theta / scale[:, np.newaxis]
    return W, (beta.copy() if offset is None else beta - offset @ W)


def first_layer_rescaled(W, b, offset, scale):
    """The inverse of :func:`first_layer_in_units`."""
    return W * scale[:, np.newaxis], (b.copy() if offset is None else b + offset @ W)


def input_scaling(X, sample_weight):
    """The centres and spreads of the columns of ``X`` the first layer rescales
    by (a constant column, of spread 0, is left as it is).

    Dense ``X``: the weighted column means and standard deviations. Sparse
    ``X`` is not centred (its product with the first layer would stay
    sparse either way, but its curvature sample would not): the spreads are
    the weighted root mean squares, and the centres None. A constant column
    has a spread of 0.
    """
    n = X.shape[0]
    weight = np.ones(n) if sample_weight is None else sample_weight
    offset = None
    if not sp.issparse(X):
        total, sums = feature_sums(X, weight)
        offset = sums / total
    spreads = column_spreads(X, *nonzero_rows(sample_weight, n), offset)
    if not (
        np.isfinite(spreads).all() and (offset is None or np.isfinite(offset).all())
    ):
        raise ValueError(
            f"X has values of magnitude {max_abs(X):.3g}, too extreme for its "
            "columns' means and spreads to be computed in floating point. Scale "
            "X first (for example with StandardScaler)."
        )
    return offset, spreads


class _MLPModel(Model):
    """A multi-layer perceptron with the loss of its output unit and an L2 penalty.

    The output unit (from :mod:`skgd.losses._cross_entropy` or
    :mod:`skgd.losses._regression`) computes the loss of the last layer's
    pre-activations, its gradient and the validation score. ``params`` holds
    every weight and bias (see :class:`_Layout`); the lists ``coefs`` and
    ``intercepts`` are views of it, and ``coef_grads`` and
    ``intercept_grads`` views of ``grad``. The activations and errors of a
    batch are written into buffers allocated once for the largest batch; a
    smaller batch uses their first rows.

    With ``scale`` (and ``offset``), the first layer's parameters act on the
    rescaled inputs ``(X - offset) / scale``, without a copy of ``X``: its
    weights and biases in the units of ``X`` are ``W = theta / scale[:,
    None]`` and ``b = beta - offset @ W`` (see :func:`first_layer_in_units`),
    and every optimizer, step size and penalty sees ``theta`` and ``beta``.
    """

    def __init__(
        self, params, layer_units, activation, output, alpha, offset=None, scale=None
    ):
        self.params = params
        self.grad = np.zeros_like(params)
        self.layer_units = layer_units
        self.layout = layout = _Layout(layer_units)
        self.coefs, self.intercepts = layout.views(params)
        self.coef_grads, self.intercept_grads = layout.views(self.grad)
        self.weights = params[: layout.n_weights]
        self.weight_grads = self.grad[: layout.n_weights]
        self.decay_index = slice(0, layout.n_weights)  # weight decay skips biases
        self.activation = activation
        self.forward, self.derivative = ACTIVATIONS[activation]
        self.output = output
        self.alpha = alpha
        self.capacity = 0
        self.offset = self.inv_scale = None
        # The layers as they act on X: the first one in X's units, if rescaled.
        self.input_coefs, self.input_intercepts = self.coefs, self.intercepts
        if scale is not None:
            dtype = params.dtype
            self.inv_scale = (1.0 / np.asarray(scale, np.float64)).astype(dtype)
            if offset is not None:
                self.offset = np.asarray(offset, np.float64).astype(dtype)
            n_in, n_out = layout.shapes[0]
            self.first = np.empty(n_in * n_out + n_out, dtype)
            first_coef = self.first[: n_in * n_out].reshape(n_in, n_out)
            self.input_coefs = [first_coef, *self.coefs[1:]]
            self.input_intercepts = [self.first[n_in * n_out :], *self.intercepts[1:]]

    def rescaling_arguments(self):
        """The compiled epoch's view of the rescaling: centres, reciprocal
        spreads and the first layer's buffer (empty arrays: none)."""
        empty = np.empty(0, self.params.dtype)
        if self.inv_scale is None:
            return empty, empty, empty
        offset = empty if self.offset is None else self.offset
        return offset, self.inv_scale, self.first

    def _update_first_layer(self):
        """Write the first layer in X's units into ``input_coefs[0]`` and
        ``input_intercepts[0]``; return both lists."""
        if self.inv_scale is not None:
            W, b = self.input_coefs[0], self.input_intercepts[0]
            np.multiply(self.coefs[0], self.inv_scale[:, np.newaxis], out=W)
            b[...] = self.intercepts[0]
            if self.offset is not None:
                b -= self.offset @ W
        return self.input_coefs, self.input_intercepts

    def _allocate(self, n_rows):
        dtype, units = self.params.dtype, self.layer_units[1:]
        # Each kind in one buffer, layer after layer (the compiled epoch
        # reads them as such: see ``buffer_starts``).
        self.buffer_starts = (n_rows * _starts(units)).tolist()
        self.activation_buffer = np.empty(n_rows * sum(units), dtype)
        self.delta_buffer = np.empty_like(self.activation_buffer)
        self.activations, self.deltas = (
            [
                buffer[start : start + n_rows * u].reshape(n_rows, u)
                for start, u in zip(self.buffer_starts, units, strict=True)
            ]
            for buffer in (self.activation_buffer, self.delta_buffer)
        )
        self.work = [np.empty((n_rows, u), dtype) for u in units[:-1]]
        self.ones = np.ones(n_rows, dtype)
        self.penalty_work = np.empty_like(self.weights)
        self.capacity = n_rows
        self.views = {}

    def reserve(self, n_rows):
        """Make the work buffers hold batches of up to ``n_rows`` rows."""
        if n_rows > self.capacity:
            self._allocate(n_rows)

    def _buffers(self, m):
        """The first ``m`` rows of every buffer (made once per batch size)."""
        self.reserve(m)
        if m not in self.views:
            self.views[m] = tuple(
                [buffer[:m] for buffer in buffers]
                for buffers in (self.activations, self.deltas, self.work, [self.ones])
            )
        return self.views[m]

    def loss_grad(self, X, y, sample_weight, mean_factor):
        activations, deltas, work, (ones,) = self._buffers(X.shape[0])
        dense = isinstance(X, np.ndarray)
        inputs = [X, *activations[:-1]]
        coefs, intercepts = self._update_first_layer()
        forward = self.forward
        last = len(coefs) - 1
        for i in range(last + 1):
            z = activations[i]
            if i or dense:
                np.matmul(inputs[i], coefs[i], out=z)
            else:
                z[...] = X @ coefs[i]
            z += intercepts[i]
            if i < last:
                forward(z)
        weight = mean_factor
        if sample_weight is not None:
            weight = (sample_weight * mean_factor)[:, np.newaxis]
        loss = self.output.loss_gradient(activations[-1], y, weight, out=deltas[-1])
        # Back-propagation: the error of each layer gives its gradients and,
        # through its weights and the activation's derivative, the error of
        # the layer below.
        coef_grads, intercept_grads = self.coef_grads, self.intercept_grads
        derivative = self.derivative
        for i in range(last, -1, -1):
            if i or dense:
                np.matmul(inputs[i].T, deltas[i], out=coef_grads[i])
            else:
                coef_grads[i][...] = X.T @ deltas[i]
            np.matmul(ones, deltas[i], out=intercept_grads[i])
            if i > 0:
                np.matmul(deltas[i], coefs[i].T, out=deltas[i - 1])
                derivative(inputs[i], deltas[i - 1], work[i - 1])
        if self.inv_scale is not None:
            # The chain rule through the rescaling (see _update_first_layer).
            first = coef_grads[0]
            if self.offset is not None:
                first -= np.multiply.outer(self.offset, intercept_grads[0])
            first *= self.inv_scale[:, np.newaxis]
        if self.alpha:
            # MLPClassifier's penalty, alpha / 2 * ||W||^2 per batch, divided
            # like the losses by the batch's total sample weight.
            strength = self.alpha * mean_factor
            penalty = np.multiply(self.weights, strength, out=self.penalty_work)
            self.weight_grads += penalty
            loss += 0.5 * float(penalty @ self.weights)
        return loss

    def compiled_epoch(self, state, data):
        return network_backend(self, state, data)

    def baseline_loss(self, X, y, sample_weight, mean_factor):
        # The loss of outputs that know nothing: every pre-activation 0
        # (uniform class probabilities, 1/2 per label, or a regressor's
        # prediction of 0, or of 1 with the Poisson loss's log link).
        z = np.zeros(y.shape, dtype=self.params.dtype)
        weight = mean_factor
        if sample_weight is not None:
            weight = (sample_weight * mean_factor)[:, np.newaxis]
        return self.output.loss_gradient(z, y, weight, out=np.empty_like(z))

    def score(self, X, y, sample_weight):
        z = _forward(X, *self._update_first_layer(), self.activation)
        return self.output.score(z, y, sample_weight)


# -- what the network estimators share ---------------------------------------------

#: Docstring pieces of the parameters and attributes both networks have, with
#: ``{reference}`` the scikit-learn estimator and ``{score}`` the validation
