"""Multi-layer perceptron regressor trained by gradient descent."""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from .._base import steps_on_chunks, training_method
from ._base import _BaseMLP, _shared_docs
from ._model import _Layout
from ._regression_outputs import (
    REGRESSION_OUTPUTS,
    StandardisedTarget,
    check_targets,
    get_regression_output,
    initial_offset,
    target_scaling,
)


class _Setup:
    """What one call to ``fit`` or ``partial_fit`` trains: the layers."""

    def __init__(self, n_features, hidden_sizes, n_outputs, out_activation):
        self.layer_units = [n_features, *hidden_sizes, n_outputs]
        self.out_activation = out_activation


@_shared_docs(reference="MLPRegressor", score="R²")
class MLPGDRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by gradient descent.

    Each hidden layer computes ``a = g(a_prev @ W + b)``; the output layer
    has one unit per target, with the identity as output function (or the
    exponential, for ``loss="poisson"``). The weights are learned by
    back-propagating the gradient of the regularised loss

    .. math::

        \\frac{1}{\\sum_{i \\in B} s_i} \\Big(\\sum_{i \\in B} s_i\\,
        \\ell(f(x_i), y_i) + \\frac{\\alpha}{2} \\sum_l \\lVert W_l
        \\rVert_F^2\\Big)

    of each (mini-)batch ``B`` with sample weights ``s`` (``MLPRegressor``'s
    objective; the denominator is the batch's expected total weight), with
    the update rule of ``optimizer`` and the step of ``learning_rate`` and
    ``schedule``. The loss ``l`` of a sample is summed over its targets.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(100,)
        The units of each hidden layer; ``()`` is a linear model.
    loss : {"squared_error", "huber", "poisson"}, default="squared_error"
        The loss of a prediction ``p`` of a target ``y``: half the squared
        error ``(p - y)**2 / 2`` (``MLPRegressor``'s); Huber's loss, the same
        for ``|p - y| <= epsilon`` and ``epsilon * (|p - y| - epsilon / 2)``
        beyond, less sensitive to outliers; or half the Poisson deviance
        ``y log(y / p) - y + p`` with the prediction ``p = exp(z)`` of the
        output ``z`` (a log link, for counts and other non-negative targets;
        ``MLPRegressor``'s ``loss="poisson"``).
    epsilon : float, default=0.1
        Where Huber's loss turns from quadratic to linear, in the units of
        y (as in :class:`~skgd.GDRegressor`).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        The activation ``g`` of the hidden layers.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), as in
        ``MLPRegressor``, so grids carry over.
    %(training_parameters)s
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop on its R² score,
        and keep the best epoch's weights.
    %(loop_parameters)s

    Attributes
    ----------
    %(network_attributes)s
    out_activation_ : str
        ``"identity"``, or ``"exp"`` for ``loss="poisson"``.
    %(history_attributes)s

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The same network, SGD/Adam/L-BFGS.
    skgd.MLPGDClassifier : The network classifier, trained the same way.
    skgd.GDRegressor : A linear model trained with the same optimizers.

    Notes
    -----
    %(input_notes)s

    With the squared error and Huber's loss, the network trains on the
    standardised targets ``(y - mean) / scale``, with each target's
    (weighted) mean and one ``scale`` for all, the root mean of their
    (weighted) variances (Huber's ``epsilon`` becomes ``epsilon / scale``);
    the last layer, the predictions and ``loss_curve_`` are reported in the
    units of y (``loss_curve_`` is the objective on the standardised
    targets times ``scale**2``). The step sizes, ``tol`` and every
    optimizer's steps thus do not depend on the units of y. With
    ``loss="poisson"`` the output biases start at the logarithm of the
    (weighted) mean target plus their Glorot-uniform draw. Either way the
    network starts from about the best constant prediction, where
    ``MLPRegressor``'s starts near 0: with Adam's steps of about 0.001, it
    needs thousands of updates to reach targets in the hundreds, and is far
    from them after its default 200 epochs.

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
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import MLPGDRegressor
    >>> X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = make_pipeline(
    ...     StandardScaler(),
    ...     MLPGDRegressor((32,), max_iter=2000, random_state=0),
    ... ).fit(X_train, y_train)
    >>> reg.predict(X_test[:2]).shape
    (2,)
    >>> print(round(reg.score(X_test, y_test), 2))
    0.9
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_OUTPUTS))],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        loss="squared_error",
        epsilon=0.1,
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.loss = loss
        self.epsilon = epsilon
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

    # -- hooks of _BaseMLP and BaseGradientDescent ---------------------------------

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _init_params(self, X, y, random_state, sample_weight=None, optimizer=None):
        """The Glorot-uniform network, its output biases shifted to the targets.

        The output biases start at the (weighted) mean of each target (its
        logarithm for ``loss="poisson"``) plus their Glorot-uniform draw,
        from the rows of nonzero weight only (not those held out for early
        stopping): the first predictions are about the best constant ones.
        With the squared error and Huber's loss, the network is trained on
        standardised targets, whose mean is 0 (see Notes).
        """
        self._target_scaling = target_scaling(self.loss, y, sample_weight)
        params = super()._init_params(X, y, random_state, sample_weight, optimizer)
        if self._target_scaling is None:
            offset = initial_offset(self.loss, y, sample_weight)
            _Layout(self._setup.layer_units).views(params)[1][-1] += offset.astype(
                params.dtype
            )
        return params

    def _output_units(self):
        return getattr(self, "_target_scaling", None)

    def _output_unit(self):
        units = self._output_units()
        if units is None:
            return get_regression_output(self.loss, self.epsilon)
        offset, scale = units
        inner = get_regression_output(self.loss, self.epsilon / scale)
        return StandardisedTarget(inner, offset, scale)

    def _loss_unit(self):
        # The objective on the standardised targets, times scale**2: in the
        # units of y squared.
        units = self._output_units()
        return 1.0 if units is None else units[1] ** 2

    def _structure(self):
        # The output function: a warm start from the other one starts afresh.
        return {"out_activation": self._out_activation()}

    def _validate(self, X, y, reset):
        """Return X and the targets as a 2-d array; set up the network."""
        X, y = self._validate_training_data(X, y, reset)
        Y = np.asarray(y, dtype=X.dtype)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        check_targets(self.loss, Y)
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} target(s), but the network was fitted with "
                f"{self.n_outputs_}. To change the targets, fit it without "
                "warm_start."
            )
        self._setup = _Setup(
            X.shape[1], self._hidden_sizes(), Y.shape[1], self._out_activation()
        )
        return X, Y

    # -- public API --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def fit(self, X, y, sample_weight=None):
        """Fit the network by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values (non-negative for ``loss="poisson"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : MLPGDRegressor
        """
        warm = self.warm_start and hasattr(self, "_state")
        callback_data = (y, sample_weight)
        X, Y = self._validate(X, y, reset=not warm)
        return self._fit_gd(
            X, Y, sample_weight, partial=False, callback_data=callback_data
        )

    @available_if(steps_on_chunks)
    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing the previous training.

        The optimizer state and the history carry over between calls;
        ``early_stopping`` and the stopping rule do not apply. The first
        call's features and targets fix their rescaling (see Notes), so the
        first chunk should represent the stream; a later chunk whose column
        spreads differ from it by more than a factor 10 raises a warning.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPGDRegressor
        """
        callback_data = (y, sample_weight)
        X, Y = self._validate(X, y, reset=not hasattr(self, "_state"))
        return self._fit_gd(
            X, Y, sample_weight, partial=True, callback_data=callback_data
        )

    def predict(self, X):
        """Predict the targets of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            One column per target; 1-d for a single target, as
            ``MLPRegressor``.
        """
        z = self._output(X)
        if self.out_activation_ == "exp":
            np.exp(z, out=z)
        return z.ravel() if self.n_outputs_ == 1 else z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
