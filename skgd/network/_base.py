"""What the network estimators share: :class:`_BaseMLP` (parameters,
validation, set-up and fitted attributes) and the docstring pieces both
estimators use."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._base import BaseGradientDescent
from .._validation import canonical_csr, check_structure, keep_sparse
from ..optimizers import SGD
from ._activations import ACTIVATIONS
from ._curvature import SAMPLE_ROWS, mini_batch_lipschitz
from ._model import (
    _forward,
    _Layout,
    _MLPModel,
    first_layer_in_units,
    first_layer_rescaled,
    input_scaling,
)

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

    def _init_params(self, X, y, random_state, sample_weight=None, optimizer=None):
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
