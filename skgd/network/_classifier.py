"""Multi-layer perceptrons trained by gradient descent: the shared network.

The flat parameter layout, the network model (forward pass and
back-propagation) and :class:`_BaseMLP`, what the classifier and the
regressor share; :class:`MLPGDClassifier` is here too, the regressor in
:mod:`skgd.network._regressor`.
"""

from itertools import pairwise
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit
from sklearn.base import ClassifierMixin, _fit_context, is_classifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._base import BaseGradientDescent, steps_on_chunks, training_method
from .._validation import canonical_csr, check_structure, keep_sparse
from ..optimizers import SGD
from ..training._loop import Model
from ..training._statistics import (
    column_spreads,
    feature_sums,
    max_abs,
    nonzero_rows,
)
from ._activations import ACTIVATIONS
from ._backend import network_backend
from ._curvature import SAMPLE_ROWS, mini_batch_lipschitz
from ._outputs import (
    OUTPUTS,
    check_labels,
    fit_binarizer,
    weigh_classes,
)


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

    The output unit (from :mod:`skgd.network._outputs` or
    :mod:`skgd.network._regression_outputs`) computes the loss of the last layer's
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

    def loss_grad(self, X, y, sample_weight, scale):
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
        weight = scale
        if sample_weight is not None:
            weight = (sample_weight * scale)[:, np.newaxis]
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
            strength = self.alpha * scale
            penalty = np.multiply(self.weights, strength, out=self.penalty_work)
            self.weight_grads += penalty
            loss += 0.5 * float(penalty @ self.weights)
        return loss

    def compiled_epoch(self, state, data):
        return network_backend(self, state, data)

    def baseline_loss(self, X, y, sample_weight, scale):
        # The loss of outputs that know nothing: every pre-activation 0
        # (uniform class probabilities, 1/2 per label, or a regressor's
        # prediction of 0, or of 1 with the Poisson loss's log link).
        z = np.zeros(y.shape, dtype=self.params.dtype)
        weight = scale
        if sample_weight is not None:
            weight = (sample_weight * scale)[:, np.newaxis]
        return self.output.loss_gradient(z, y, weight, out=np.empty_like(z))

    def score(self, X, y, sample_weight):
        z = _forward(X, *self._update_first_layer(), self.activation)
        return self.output.score(z, y, sample_weight)


# -- what the network estimators share ---------------------------------------------

#: Docstring pieces of the parameters and attributes both networks have, with
#: ``{reference}`` the scikit-learn estimator and ``{score}`` the validation
#: score. :func:`_shared_docs` puts them in place of ``%(name)s`` markers.
_DOCS = {
    "training_parameters": """\
    optimizer : str or Optimizer, default="adam"
        The update rule: a name from :func:`skgd.optimizers.available_optimizers`
        or an :class:`~skgd.optimizers.Optimizer` object, whose
        hyperparameters can be grid-searched as ``optimizer__<name>``.
        ``"lbfgs"`` (:class:`~skgd.optimizers.LBFGS`) minimises the objective
        on the full batch with a line search, as ``solver="lbfgs"`` of
        ``{reference}``, and has no ``partial_fit``.
    learning_rate : float or "auto", default="auto"
        The base step size, scaled over time by ``schedule``, like
        ``learning_rate_init`` of ``{reference}``. ``"auto"`` derives it
        from the data and the initial network, per optimizer: plain gradient
        descent (``"sgd"``) takes ``1 / L``, and with momentum (``"momentum"``,
        ``"nesterov"``) ``(1 - momentum) / L``, where ``L`` estimates the
        Lipschitz constant of the mini-batch gradient at the initial weights
        (the largest curvature of the objective, measured on at most 1,000
        rows, and corrected for the batch size); optimizers that normalise the
        gradient (Adam, RMSProp, ...) take their ``default_learning_rate``
        times the root mean square of the initial weights, about 0.001 for
        Adam, as ``{reference}``. The resolved value is ``learning_rate_``.
    schedule : str or Schedule, default="constant"
        How the learning rate changes with the update count: a name from
        :func:`skgd.schedules.available_schedules` or a ``Schedule``.
    batch_size : int, "auto" or None, default="auto"
        Samples per update, at most: an epoch (or a ``partial_fit`` chunk)
        of ``n`` rows makes ``ceil(n / batch_size)`` updates on batches of
        near-equal size, as many as ``{reference}``. ``None`` is
        full-batch gradient descent and ``"auto"`` is ``min(200,
        n_samples)``.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).
    tol : float or None, default=1e-4
        Training stops when the objective (or, with early stopping, the
        validation {score}) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. ``None`` disables stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping (or, with the
        ``"adaptive"`` schedule, before the learning rate is divided by 5).""",
    "loop_parameters": """\
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is on.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the validation split.
    warm_start : bool, default=False
        Continue from the current ``coefs_`` and ``intercepts_`` (also values
        a user has set) and the previous fit's optimizer state.
    verbose : int, default=0
        Print one line per epoch: loss, validation score, learning rate, time.""",
    "input_notes": """\
    The first layer trains on the rescaled inputs ``(X - m) / s``, with
    ``m`` and ``s`` the (weighted) means and standard deviations of the
    columns in the first ``fit`` (or the first ``partial_fit`` chunk);
    sparse X is divided by the root mean square of each column and not
    centred, so that its rows stay sparse. X is never
    copied: the first layer's parameters ``theta`` and ``beta`` act on X as
    ``W = theta / s[:, None]`` and ``b = beta - m @ W``, which is what
    ``coefs_[0]`` and ``intercepts_[0]`` report. Raw and standardised X
    thus give the same network for the same ``random_state``, up to
    rounding: the initial weights, the L2 penalty, the automatic step size
    and every optimizer step of the first layer are those of ``theta``, in
    the units of the standardised features. On standardised X this is
    ``{reference}``'s network.""",
    "network_attributes": """\
    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        The weight matrix of each layer, the first in the units of X (see
        Notes).
    intercepts_ : list of ndarray of shape (n_units_out,)
        The bias vector of each layer.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.""",
    "history_attributes": """\
    n_iter_ : int
        Epochs run by the last ``fit``, also when warm-started (as in
        ``SGDRegressor``); after ``partial_fit``, the epochs since the first
        fit (one per call).
    t_ : int
        Parameter updates made since the first fit, summed over
        ``partial_fit`` and warm-started calls.
    loss_curve_ : list of float
        The training objective (penalty included) of each epoch.
    loss_ : float
        The last entry of ``loss_curve_``.
    best_loss_ : float
        The lowest entry of ``loss_curve_`` in the last ``fit``.
    validation_scores_ : list of float or None
        {Score} on the held-out data after each epoch, with early stopping.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    learning_rate_ : float
        The base learning rate used (``learning_rate`` resolved).
    optimizer_ : Optimizer
        The optimizer object used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when X has string column names.""",
}


def _shared_docs(reference, score):
    """Fill the ``%(name)s`` pieces of a network estimator's docstring."""

    def fill(cls):
        words = {"reference": reference, "score": score}
        words["Score"] = score[0].upper() + score[1:]
        # A marker is indented like the lines it stands for.
        pieces = {name: text.format(**words).lstrip() for name, text in _DOCS.items()}
        cls.__doc__ = cls.__doc__ % pieces
        return cls

    return fill


class _BaseMLP(BaseGradientDescent):
    """The parameters, set-up and prediction both network estimators share.

    A subclass validates the data and sets ``self._setup``, with the
    ``layer_units`` of the network and the name of its ``out_activation``,
    before training, and supplies the output unit (:meth:`_output_unit`).
    """

    _parameter_constraints: dict = {
        **BaseGradientDescent._parameter_constraints,
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    # An epoch of batches of at most batch_size rows, as MLPClassifier's.
    _batches_at_most_batch_size = True

    def _output_unit(self):
        """The output unit of the network (its loss, gradient and score)."""
        raise NotImplementedError

    # -- hooks of BaseGradientDescent ------------------------------------------

    def _init_params(self, X, y, random_state, sample_weight=None):
        """Glorot-uniform weights and biases, drawn layer by layer.

        The bound is ``sqrt(6 / (fan_in + fan_out))`` (``sqrt(2 / ...)`` for
        logistic activations), and the draws come in scikit-learn's order,
        so the same ``random_state`` gives the same initial network as
        ``MLPClassifier`` (and as ``MLPRegressor`` for targets of mean 0).
        """
        self._input_offset, self._input_spreads = input_scaling(X, sample_weight)
        spreads = self._input_spreads
        self._input_scale = np.where(spreads > 0, spreads, 1.0)
        layout = _Layout(self._setup.layer_units)
        params = np.empty(layout.size, dtype=X.dtype)
        bounds = self._glorot_bounds(layout.shapes)
        for W, b, bound in zip(*layout.views(params), bounds, strict=True):
            W[...] = random_state.uniform(-bound, bound, W.shape)
            b[...] = random_state.uniform(-bound, bound, b.shape)
        # Where the automatic learning rate measures the curvature.
        self._setup.initial_params = params
        return params

    def _current_params(self):
        """Pack ``coefs_`` and ``intercepts_`` (perhaps set by a user)."""
        layout = _Layout(self._setup.layer_units)
        shapes = [np.shape(W) for W in self.coefs_]
        shapes += [np.shape(b) for b in self.intercepts_]
        if shapes != layout.shapes + [(n_out,) for _, n_out in layout.shapes]:
            raise ValueError(
                f"coefs_ and intercepts_ have shapes {shapes}, but the network "
                f"for hidden_layer_sizes={self.hidden_layer_sizes!r} and this "
                f"data has weights of shapes {layout.shapes}. To change the "
                "network, fit it without warm_start."
            )
        trained = self._trained_units(
            [np.asarray(W, np.float64) for W in self.coefs_],
            [np.asarray(b, np.float64) for b in self.intercepts_],
        )
        params = np.empty(layout.size, dtype=self._state.params.dtype)
        coefs, intercepts = layout.views(params)
        for target, source in zip(coefs + intercepts, trained, strict=True):
            target[...] = source
        return params

    def _output_units(self):
        """``(offset, scale)``: the last layer's outputs times ``scale`` plus
        ``offset`` are in the units of y; None if they are already."""
        return None

    def _trained_units(self, coefs, intercepts):
        """The layers ``coefs_`` and ``intercepts_`` describe, as they are
        trained: the first on the rescaled inputs, the last on the
        standardised targets (see :meth:`_units_of_data`). A new list of
        the weights, then the biases."""
        coefs, intercepts = list(coefs), list(intercepts)
        units = self._output_units()
        if units is not None:
            offset, scale = units
            coefs[-1], intercepts[-1] = (
                coefs[-1] / scale,
                (intercepts[-1] - offset) / scale,
            )
        if getattr(self, "_input_scale", None) is not None:
            coefs[0], intercepts[0] = first_layer_rescaled(
                coefs[0], intercepts[0], self._input_offset, self._input_scale
            )
        return coefs + intercepts

    def _units_of_data(self, coefs, intercepts):
        """The inverse of :meth:`_trained_units`: the layers on X and y."""
        coefs, intercepts = list(coefs), list(intercepts)
        if getattr(self, "_input_scale", None) is not None:
            coefs[0], intercepts[0] = first_layer_in_units(
                coefs[0], intercepts[0], self._input_offset, self._input_scale
            )
        units = self._output_units()
        if units is not None:
            offset, scale = units
            coefs[-1], intercepts[-1] = (
                coefs[-1] * scale,
                intercepts[-1] * scale + offset,
            )
        return coefs, intercepts

    def _first_chunk_spreads(self):
        spreads = getattr(self, "_input_spreads", None)
        if spreads is None:
            return None
        return spreads, self._input_offset is not None

    def _build_model(self, params, n_features):
        output = self._output_unit()
        return _MLPModel(
            params,
            self._setup.layer_units,
            self.activation,
            output,
            self.alpha,
            getattr(self, "_input_offset", None),
            getattr(self, "_input_scale", None),
        )

    def _set_fitted(self, params):
        setup = self._setup
        coefs, intercepts = _Layout(setup.layer_units).views(params)
        coefs, intercepts = self._units_of_data(
            [W.astype(np.float64) for W in coefs],
            [b.astype(np.float64) for b in intercepts],
        )
        self.coefs_ = [W.astype(params.dtype) for W in coefs]
        self.intercepts_ = [b.astype(params.dtype) for b in intercepts]
        self.n_layers_ = len(setup.layer_units)
        self.n_outputs_ = setup.layer_units[-1]
        self.out_activation_ = setup.out_activation

    def _cap_learning_rate(self, rate, optimizer, lipschitz):
        """Also at most ``1 / L`` for the optimizers that normalise their steps.

        Their first steps are about ``rate`` in every weight at once (Adam's
        ``m / sqrt(v)`` and AdaGrad's ``g / sqrt(g**2)`` start at
        ``sign(g)``), which moves a network's outputs through every weight
        together; on raw data (large, uncentred inputs) the step made for a
        weight's typical size can then throw the outputs far off. The cap
        only binds there: on standardised data ``1 / L`` is far larger.
        """
        if isinstance(lipschitz, Real) and 0 < lipschitz < np.inf:
            if not isinstance(optimizer, SGD):
                rate = min(rate, 1.0 / lipschitz)
        return rate

    def _step_size_hints(self, X, y, sample_weight, batch_size):
        """Curvature of the mini-batch objective, and the weights' scale.

        The Lipschitz constant is estimated at the weights training starts
        from (the initial network, or the current one when a fitted network
        continues) by :func:`skgd.network._curvature.mini_batch_lipschitz`,
        on at most 1,000 rows of nonzero weight drawn at random, plus the L2
        penalty's ``alpha / (b * mean sample weight)``. Plain gradient descent
        takes ``1 / L`` (``(1 - momentum) / L`` with momentum).

        The scale is the root mean square of the Glorot-uniform weights,
        ``sqrt(sum(n_l bound_l**2 / 3) / sum(n_l))`` over the layers, so
        normalising optimizers move a weight by a fixed share of its typical
        size (Adam's default then lands near scikit-learn's 0.001).
        """
        shapes = _Layout(self._setup.layer_units).shapes
        sizes = np.array([n_in * n_out for n_in, n_out in shapes], dtype=float)
        squares = np.square(self._glorot_bounds(shapes)) / 3
        scale = float(np.sqrt(sizes @ squares / sizes.sum()))
        params = getattr(self._setup, "initial_params", None)
        if params is None:
            params = self._current_params()
        rows = np.arange(X.shape[0])
        weight = np.ones(X.shape[0])
        if sample_weight is not None:
            rows = np.flatnonzero(sample_weight)
            weight = sample_weight[rows].astype(np.float64)
        mean_weight = float(weight.mean())
        n_samples = len(rows)
        if n_samples > SAMPLE_ROWS:
            keep = np.random.RandomState(0).choice(n_samples, SAMPLE_ROWS, False)
            keep.sort()
            rows, weight = rows[keep], weight[keep]
        model = _MLPModel(
            params.astype(np.float64),
            self._setup.layer_units,
            self.activation,
            self._output_unit(),
            0.0,
        )
        with np.errstate(over="ignore", invalid="ignore"):
            lipschitz = mini_batch_lipschitz(
                model,
                _Layout(self._setup.layer_units).views,
                self._rescaled(X[rows].astype(np.float64)),
                y[rows].astype(np.float64),
                weight / mean_weight,
                min(batch_size, n_samples),
                n_samples,
            )
        if not np.isfinite(lipschitz):
            data = f"X has values of magnitude {float(abs(X[rows]).max()):.3g}"
            scaling = "Scale X (for example with StandardScaler)"
            if not is_classifier(self):  # a regressor's targets count too
                data += f" and y of magnitude {float(abs(y[rows]).max()):.3g}"
                scaling = (
                    "Bring X and y to a moderate scale (for example with "
                    "StandardScaler, and by dividing y by a constant)"
                )
            raise ValueError(
                f"{data}, too extreme for the curvature of the network (and the "
                "automatic step size) to be computed in floating point. "
                f"{scaling}, or set learning_rate."
            )
        lipschitz += self.alpha / (min(batch_size, n_samples) * mean_weight)
        return lipschitz, scale

    def _rescaled(self, X):
        """``X`` as the first layer sees it: ``(X - offset) / scale`` (a copy)."""
        scale = getattr(self, "_input_scale", None)
        if scale is None:
            return X
        if sp.issparse(X):
            return sp.csr_matrix(X @ sp.diags(1.0 / scale))
        offset = 0.0 if self._input_offset is None else self._input_offset
        return (X - offset) / scale

    def _glorot_bounds(self, shapes):
        factor = 2.0 if self.activation == "logistic" else 6.0
        return [np.sqrt(factor / (n_in + n_out)) for n_in, n_out in shapes]

    # -- validation and prediction -------------------------------------------------

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must hold positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _validate_training_data(self, X, y, reset):
        """Return X as float64 or float32 (CSR if sparse) and y, validated.

        A column ``y`` of shape ``(n, 1)`` becomes 1-d, with a warning, as in
        scikit-learn. After the first call, X takes the dtype of the network.
        """
        check_structure(X)
        given = X
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=not is_classifier(self),
        )
        # Sparse X is rescaled and not centred: a frame of sparse columns
        # must train as the sparse matrix it is, whatever the release.
        X = canonical_csr(keep_sparse(given, X))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not reset:
            X = X.astype(self._state.params.dtype, copy=False)
        return X, y

    def _output(self, X):
        """The pre-activations of the output units for X."""
        check_is_fitted(self)
        check_structure(X)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
        )
        return _forward(X, self.coefs_, self.intercepts_, self.activation)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _Setup:
    """What one call to ``fit`` or ``partial_fit`` trains: labels and layers."""

    def __init__(self, binarizer, n_features, hidden_sizes):
        self.binarizer = binarizer
        self.multilabel = binarizer.y_type_.startswith("multilabel")
        binary = binarizer.y_type_ == "binary"
        n_outputs = 1 if binary else len(binarizer.classes_)
        self.layer_units = [n_features, *hidden_sizes, n_outputs]
        multiclass = binarizer.y_type_ == "multiclass"
        self.out_activation = "softmax" if multiclass else "logistic"


@_shared_docs(reference="MLPClassifier", score="accuracy")
class MLPGDClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by gradient descent.

    Each hidden layer computes ``a = g(a_prev @ W + b)``; the output layer
    has one logistic unit for binary targets, one per label for multilabel
    targets, and a softmax over the classes otherwise. The weights are learned
    by back-propagating the gradient of the regularised cross-entropy

    .. math::

        \\frac{1}{\\sum_{i \\in B} s_i} \\Big(\\sum_{i \\in B} s_i\\,
        \\ell(f(x_i), y_i) + \\frac{\\alpha}{2} \\sum_l \\lVert W_l
        \\rVert_F^2\\Big)

    of each (mini-)batch ``B`` with sample weights ``s`` (``MLPClassifier``'s
    objective; the denominator is the batch's expected total weight), with
    the update rule of ``optimizer`` and the step of ``learning_rate`` and
    ``schedule``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(100,)
        The units of each hidden layer; ``()`` is a logistic regression.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        The activation ``g`` of the hidden layers.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), as in
        ``MLPClassifier``, so grids carry over.
    %(training_parameters)s
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified unless
        multilabel), stop on its accuracy, and keep the best epoch's weights.
    %(loop_parameters)s
    class_weight : dict, "balanced" or None, default=None
        Class weights multiplying the sample weights: ``{label: weight}``
        (missing labels weigh 1) or ``"balanced"``, ``n_samples / (n_classes *
        np.bincount(y))``. Not for multilabel targets; ``partial_fit`` takes
        only a dict (a chunk's class frequencies are not the data's).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, ``0 .. n_labels - 1``).
    %(network_attributes)s
    out_activation_ : str
        ``"logistic"`` or ``"softmax"``.
    %(history_attributes)s

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The same network, SGD/Adam/L-BFGS.
    skgd.MLPGDRegressor : The network regressor, trained the same way.
    skgd.GDRegressor : A linear model trained with the same optimizers.

    Notes
    -----
    %(input_notes)s

    All weights and biases are trained in one flat buffer, so an optimizer
    step is a few vectorised operations whatever the depth. float32 data is
    trained in float32 throughout; sparse X is never densified.

    References
    ----------
    D. E. Rumelhart, G. E. Hinton and R. J. Williams, "Learning
    representations by back-propagating errors", Nature 323, 1986.

    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", AISTATS 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import MLPGDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=0)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     MLPGDClassifier((16,), learning_rate=0.03, random_state=0),
    ... ).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:2]).shape
    (2, 3)
    >>> print(round(clf.score(X_test, y_test), 2))
    1.0
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        alpha=0.0001,
        optimizer="adam",
        learning_rate="auto",
        schedule="constant",
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.class_weight = class_weight

    def _output_unit(self):
        return OUTPUTS[self._setup.out_activation]

    def _set_fitted(self, params):
        super()._set_fitted(params)
        self._label_binarizer = self._setup.binarizer
        self.classes_ = self._setup.binarizer.classes_

    def _validate(self, X, y, sample_weight, *, reset, partial=False, classes=None):
        """Return X, indicator targets and sample weights; set up the network."""
        X, y = self._validate_training_data(X, y, reset)
        check_classification_targets(y)
        if reset:
            binarizer = fit_binarizer(y, classes)
        else:
            binarizer = self._label_binarizer
        check_labels(y, binarizer, same_classes=not (reset or partial))
        self._setup = _Setup(binarizer, X.shape[1], self._hidden_sizes())
        if self.class_weight is not None:
            sample_weight = weigh_classes(
                self.class_weight, binarizer, y, sample_weight, X, partial
            )
        return X, binarizer.transform(y).astype(X.dtype), sample_weight

    # -- public API --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def fit(self, X, y, sample_weight=None):
        """Fit the network by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multilabel targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : MLPGDClassifier
        """
        warm = self.warm_start and hasattr(self, "_state")
        callback_data = (y, sample_weight)
        X, Y, sample_weight = self._validate(X, y, sample_weight, reset=not warm)
        return self._fit_gd(
            X, Y, sample_weight, partial=False, callback_data=callback_data
        )

    @available_if(steps_on_chunks)
    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over ``(X, y)``, continuing the previous training.

        The optimizer state and the history carry over between calls;
        ``early_stopping`` and the stopping rule do not apply. The first call's
        features fix their rescaling, so the first chunk should represent the
        stream; a later chunk whose column spreads differ from it by more
        than a factor 10 raises a warning.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream, required on the first call; ignored
            for multilabel targets (the labels are the columns of y).

        Returns
        -------
        self : MLPGDClassifier
        """
        first = not hasattr(self, "_state")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: a "
                "chunk of the data need not contain every class."
            )
        if not (first or classes is None or self._setup.multilabel):
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the "
                    f"previous calls, {self.classes_}."
                )
        callback_data = (y, sample_weight)
        X, Y, sample_weight = self._validate(
            X, y, sample_weight, reset=first, partial=True, classes=classes
        )
        return self._fit_gd(
            X, Y, sample_weight, partial=True, callback_data=callback_data
        )

    def predict(self, X):
        """Predict the class of each sample (a label indicator row if multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        z = self._output(X)
        if self.out_activation_ == "softmax":
            return self.classes_.take(z.argmax(axis=1))
        if self.n_outputs_ == 1:
            return self.classes_.take((z[:, 0] > 0).astype(np.intp))
        return (z > 0).astype(self._label_binarizer.classes_.dtype)

    def predict_proba(self, X):
        """Predict the probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1, except for multilabel targets, where column ``j``
            is the probability that label ``j`` is present.
        """
        z = self._output(X)
        if self.n_outputs_ == 1:
            z = np.hstack([-z, z])
        return OUTPUTS[self.out_activation_].proba(z)

    def predict_log_proba(self, X):
        """Predict the logarithm of the probability of each class.

        Computed from the network's output directly, so it stays finite
        where :meth:`predict_proba` rounds to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        z = self._output(X)
        if self.n_outputs_ == 1:
            return log_expit(np.hstack([-z, z]))
        return OUTPUTS[self.out_activation_].log_proba(z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
