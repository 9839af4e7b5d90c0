"""Linear regression trained by gradient descent."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import BaseGradientDescent, steps_on_chunks, training_method
from .._validation import canonical_csr, check_structure, keep_sparse
from ..losses._regression import REGRESSION_LOSSES, get_regression_loss
from ..training._statistics import (
    max_abs,
    nonzero_rows,
    robust_scale,
    target_spreads,
)
from ._model import OPTIMIZER_CONSTRAINT, _BaseLinear, _LinearModel, _too_extreme

# The automatic step of a non-smooth loss moves the predictions by about this
# fraction of the spread of y.
_SUBGRADIENT_FRACTION = 0.1


class GDRegressor(RegressorMixin, _BaseLinear):
    """Linear regression trained by gradient descent with any optimizer.

    Minimises the regularised empirical loss

    .. math::

        \\frac{\\sum_i s_i\\, \\ell(x_i^\\top w + b, y_i)}{\\sum_i s_i}
        + \\alpha \\left(\\rho \\lVert w \\rVert_1
        + \\frac{1 - \\rho}{2} \\lVert w \\rVert_2^2\\right)

    with full-batch, mini-batch or stochastic gradient descent, where ``s``
    are the sample weights and ``rho`` is ``l1_ratio``. By default, on dense
    X, the penalty measures each ``w_j`` in the units of the standardised
    feature (``penalty_scale``), so the fitted model does not depend on the
    units of the features. The update rule comes
    from ``optimizer`` and the step size from ``learning_rate`` and
    ``schedule``. The L1 part of the penalty is applied by a proximal
    (soft-threshold) step after each update, and a fit with (mini-)batches
    ends with one such step on all training rows from the point it returns,
    so irrelevant coefficients become exactly zero. Features are centred
    and rescaled implicitly (never in memory), so the defaults train any
    scale of X like standardised data (see Notes).

    Parameters
    ----------
    loss : {"squared_error", "huber", "epsilon_insensitive", \
            "squared_epsilon_insensitive", "absolute_error", "quantile"}, \
            default="squared_error"
        The loss on the residual ``r = prediction - y``: ``r**2 / 2``;
        Huber's (quadratic up to ``epsilon``, linear beyond);
        ``max(0, |r| - epsilon)``; its square; ``|r|``; or the pinball loss
        of ``quantile``. The same definitions as ``SGDRegressor``.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The penalty on ``coef_`` (never on the intercept).
    alpha : float, default=1e-4
        Strength of the penalty.
    penalty_scale : {"auto", "standardized", "raw"}, default="auto"
        The units the penalty measures the coefficients in.
        ``"standardized"``: those of the standardised features, as glmnet's
        ``standardize=TRUE``: the penalty is that of ``s_j * coef_j``, where
        ``s_j`` is the weighted standard deviation of feature ``j`` (its root
        mean square without an intercept), so the fitted model is the same
        whatever the units of each feature (``coef_`` stays in the original
        units). ``"raw"``: scikit-learn's objective, on ``coef_`` as it is
        (that of ``Ridge`` and ``SGDRegressor``). ``"auto"``:
        ``"standardized"`` for dense X, ``"raw"`` for sparse X, where text
        features are penalised in raw units as ``LogisticRegression`` does
        (see the user guide).
    l1_ratio : float or None, default=0.15
        The share of L1 in the elastic-net penalty (``penalty="elasticnet"``,
        which needs a number; None is accepted for the other penalties).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    optimizer : str or Optimizer, default="auto"
        The update rule: a name from :func:`skgd.optimizers.available_optimizers`
        (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"``, ``"amsgrad"``, ``"adamw"``, ``"nadam"``, ``"radam"``,
        ``"adamax"``, ``"adadelta"``, ``"lion"``, or ``"lbfgs"``, a
        full-batch solver without ``partial_fit``) or an
        :class:`~skgd.optimizers.Optimizer` object, whose hyperparameters can
        be grid-searched as ``optimizer__<name>``. ``"auto"`` is
        ``"lbfgs"`` for ``fit`` when the loss is differentiable, the
        penalty has no L1 part, ``early_stopping`` is off and
        ``learning_rate``, ``schedule``, ``batch_size`` and ``average`` keep
        their defaults; ``"sgd"`` otherwise and in ``partial_fit``. The
        optimizer used is ``optimizer_``.
    learning_rate : float or "auto", default="auto"
        The base step size, scaled over time by ``schedule``. It applies to
        the coefficients of the implicitly rescaled features (see Notes),
        so one value suits data of any scale. ``"auto"`` derives it from
        the data for the gradient-descent family: ``1 / L``, where ``L`` is
        the Lipschitz constant of the mini-batch gradient (the "expected
        smoothness" of Gower et al., 2019, computed from the largest
        eigenvalue of the rescaled data's second moment and the largest
        squared row norm, the quantity scikit-learn's SAG solver uses). That
        step can never diverge on the squared loss. For the non-smooth
        losses (absolute, epsilon-insensitive, quantile) the step instead
        moves the predictions by a tenth of the spread of y per update, so
        that the iterates settle close to the optimum. For other optimizers,
        ``"auto"`` is the optimizer's ``default_learning_rate`` times the
        expected size of the coefficients, from a robust spread of y
        (1.4826 times its median absolute deviation), which outliers and
        heavy-tailed noise do not inflate. The resolved value is
        ``learning_rate_``.
    schedule : str or Schedule, default="auto"
        How the learning rate changes with the update count: a name from
        :func:`skgd.schedules.available_schedules` or a
        :class:`~skgd.schedules.Schedule` object. ``"auto"`` keeps the rate
        constant and, when the gradient rule stalls, divides it by 5 and
        goes on from the best point measured (under the loss rule it is
        ``"constant"``). ``"optimal"`` uses ``alpha`` and ignores
        ``learning_rate``, as in ``SGDRegressor``.
    batch_size : int, "auto" or None, default="auto"
        Samples per update. ``None`` is full-batch gradient descent, ``1``
        stochastic gradient descent, and ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).
    tol : float or None, default=1e-3
        The stopping tolerance; what it bounds depends on ``convergence``.
        ``None`` disables stopping: exactly ``max_iter`` epochs run.
    convergence : {"auto", "gradient", "loss"}, default="auto"
        When training has converged. ``"gradient"``: the norm of
        the objective's gradient, in the rescaled coordinates and at the
        coefficients the fit would return (the average, when averaging),
        has fallen to ``tol`` times its value at the start (with an L1
        part, the proximal-gradient mapping stands for the gradient). It is
        checked after every epoch of shuffled mini-batches and after every
        third epoch otherwise. ``n_iter_no_change`` epochs without a new
        lowest objective before that stop training with a
        ``ConvergenceWarning``. ``"loss"``: scikit-learn's rule, as in
        ``SGDRegressor``: the epoch's objective has not improved by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs. ``"auto"``:
        ``"gradient"`` for the differentiable losses, ``"loss"`` for the
        others, whose subgradient does not vanish at the optimum. With
        ``early_stopping``, the validation R² score decides instead, as under
        ``"loss"``.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, with the
        ``"adaptive"`` schedule, and with ``"auto"`` under the gradient rule,
        before the learning rate is divided by 5).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop on its R² score,
        and keep the coefficients of the best epoch.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is on.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    average : bool, int or "auto", default="auto"
        Polyak-Ruppert averaging, as in ``SGDRegressor``: ``True`` makes
        ``coef_`` the average of the iterates of all updates; an integer ``k``
        starts averaging once ``k`` samples have been seen. ``"auto"``
        averages the iterates from the second epoch of each ``fit`` on when
        the batches are smaller than the training set, which removes most of
        the noise of stochastic gradients, and never averages full-batch
        gradient descent. In ``partial_fit``, where every chunk is a sample of
        a stream, ``"auto"`` averages the iterates across calls from the
        second call on, while training continues from the last iterate.
    epsilon : float, default=0.1
        The width of the ``huber``, ``epsilon_insensitive`` and
        ``squared_epsilon_insensitive`` losses.
    quantile : float, default=0.5
        The quantile estimated by ``loss="quantile"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split.
    warm_start : bool, default=False
        Continue from the previous fit's coefficients and optimizer state.
    verbose : int, default=0
        Print one line per epoch: loss, validation score, learning rate, time.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        The weights.
    intercept_ : ndarray of shape (1,) or (n_targets,)
        The intercept (zeros when ``fit_intercept=False``).
    n_iter_ : int
        Epochs run by the last ``fit``, also when warm-started (as in
        ``SGDRegressor``); after ``partial_fit``, the epochs since the first
        fit (one per call).
    t_ : int
        Parameter updates made since the first fit, summed over
        ``partial_fit`` and warm-started calls.
    loss_curve_ : list of float
        The training objective (penalty included) of each epoch, averaged
        over its batches.
    loss_ : float
        The last entry of ``loss_curve_``.
    best_loss_ : float
        The lowest entry of ``loss_curve_`` in the last ``fit``.
    validation_scores_ : list of float or None
        R² on the held-out data after each epoch, with early stopping.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    learning_rate_ : float
        The base learning rate used (``learning_rate`` resolved). With
        ``"auto"``, each ``partial_fit`` call derives it from its chunk too
        and keeps the smaller rate, so it may decrease from call to call.
    optimizer_ : Optimizer
        The optimizer object used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when X has string column names.

    Notes
    -----
    The features are centred and rescaled implicitly: with an intercept,
    the model is trained as ``(X - mean) @ coef + intercept'``, and the
    optimizer updates ``theta_j = p_j coef_j`` rather than ``coef_j``, with
    ``p_j = sqrt(var_j + l2 / c)`` (``var_j`` the weighted variance of
    feature ``j``, its mean square without an intercept; ``l2`` the L2
    strength and ``c`` the loss's curvature; ``p_j = 1`` for a constant
    feature). Every coordinate then has the same curvature, whatever the
    scale of its feature: this is diagonal (Jacobi) preconditioning. The
    mean and ``p`` are computed once, from the first call's data, a chunk
    of rows at a time; ``X`` is never copied. ``coef_`` and ``intercept_``
    are those of the original features. With ``partial_fit``, the first
    chunk should represent the stream. Sparse X is centred only for full
    batches (and L-BFGS): on smaller batches, plain SGD then takes lazy
    steps that cost the batch's non-zeros (see the user guide).

    scikit-learn's ``check_sample_weight_equivalence`` checks (a sample of
    weight 2 must fit like that sample repeated, weight 0 like the sample
    removed) can fail for shuffled mini-batches, as scikit-learn documents
    for ``SGDRegressor``: a sample of weight 2 lands in one batch, a repeated
    sample in two. On the checks' small data every fit is full-batch and
    passes them, except with the optimizers of Adam's family (``"adam"``,
    ``"amsgrad"``, ``"adamw"``, ``"nadam"``, ``"radam"``, ``"adamax"``):
    dividing by the root mean square of tiny gradients near the optimum
    amplifies the rounding differences between a weighted sum and a sum
    over repeated rows beyond the checks' tolerance of ``1e-7``.

    See Also
    --------
    sklearn.linear_model.SGDRegressor : Per-sample SGD with a few schedules.
    sklearn.linear_model.LinearRegression : The closed-form least squares.
    skgd.MLPGDClassifier : A neural network trained with the same optimizers.

    References
    ----------
    L. Bottou, F. E. Curtis and J. Nocedal, "Optimization Methods for
    Large-Scale Machine Learning", SIAM Review 60(2), 2018.

    R. M. Gower, N. Loizou, X. Qian, A. Sailanbayev, E. Shulgin and
    P. Richtárik, "SGD: General Analysis and Improved Rates", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import GDRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ [1.5, -2.0, 0.5] + 3.0
    >>> reg = GDRegressor(penalty=None, random_state=0).fit(X, y)
    >>> np.round(reg.coef_, 3), np.round(reg.intercept_, 3)
    (array([ 1.5, -2. ,  0.5]), array([3.]))
    >>> round(reg.score(X, y), 4)
    1.0
    """

    # A chunk may hold rows larger than any seen before (see _continue).
    _rate_follows_stream = True

    _parameter_constraints: dict = {
        **BaseGradientDescent._parameter_constraints,
        "optimizer": OPTIMIZER_CONSTRAINT,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "penalty_scale": [StrOptions({"auto", "standardized", "raw"})],
        "fit_intercept": ["boolean"],
        "convergence": [StrOptions({"auto", "gradient", "loss"})],
        "average": [
            "boolean",
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        penalty_scale="auto",
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="auto",
        learning_rate="auto",
        schedule="auto",
        batch_size="auto",
        max_iter=1000,
        tol=1e-3,
        convergence="auto",
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        average="auto",
        epsilon=0.1,
        quantile=0.5,
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.penalty_scale = penalty_scale
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.convergence = convergence
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.average = average
        self.epsilon = epsilon
        self.quantile = quantile
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # -- hooks of _BaseLinear and BaseGradientDescent ---------------------------

    def _loss(self):
        return get_regression_loss(self.loss, self.epsilon, self.quantile)

    def _initial_intercept(self, y, weight):
        # The mean target: the least-squares intercept of centred features.
        return np.average(y, axis=0, weights=weight)

    def _build_model(self, params, n_features):
        loss = get_regression_loss(self.loss, self.epsilon, self.quantile)
        scale = getattr(self, "_scale", None)
        return _LinearModel(
            params, n_features, self._offset, loss, self._penalty(), scale
        )

    def _step_size_hints(self, X, y, sample_weight, batch_size):
        """Lipschitz constant of the mini-batch gradient, and the scale of theta.

        Everything is computed for the parameters ``theta`` (see
        ``_init_params``), from the offset and scaling stored by it, and from
        the rows of nonzero weight only. The Lipschitz constant for batches
        of ``b`` out of ``n`` samples is
        ``(n (b - 1) L + (n - b) L_max) / (b (n - 1))`` (Gower et al., 2019),
        where ``L`` is the largest eigenvalue of the Hessian (the centred,
        weighted, rescaled second moment of X times the loss's curvature,
        plus the L2 penalty), estimated by power iteration on at most 2,000
        rows, and ``L_max`` the largest of the samples' own constants. With
        one row, or ``b >= n``, it is ``L``, exact for that data. The scale
        of ``theta`` is estimated as ``s_y / sqrt(L)``, with ``s_y`` a robust
        spread of y: ``1.4826`` times its median absolute deviation, or its
        standard deviation where that is 0.
        """
        index, weight = nonzero_rows(sample_weight, X.shape[0])
        y = y if index is None else y[index]
        loss = get_regression_loss(self.loss)
        ridge = self._ridge_diagonal(X.shape[1])
        smooth_ridge = ridge / loss.curvature if loss.smooth else None
        top, lipschitz = self._curvatures(X, index, weight, batch_size, smooth_ridge)
        std, mad = target_spreads(y, weight)
        spread = robust_scale(std, mad)
        scale = spread / np.sqrt(top) if top > 0 and spread > 0 else 1.0
        if not np.isfinite(scale):
            raise _too_extreme("y", max_abs(y))
        if loss.smooth:
            lipschitz = loss.curvature * lipschitz
        else:
            # A subgradient step moves the predictions by about lr * top
            # whatever the residuals; 1 / lipschitz keeps that a small
            # fraction of the spread of y, so the oscillation around the
            # optimum stays well below the noise. The spread is the median
            # absolute deviation, which outliers (the reason for choosing a
            # robust loss) do not inflate.
            spread = mad or std or max_abs(y) or 1.0
            lipschitz = lipschitz / (_SUBGRADIENT_FRACTION * spread) + np.max(ridge)
        lipschitz = float(lipschitz)
        return (lipschitz if lipschitz > 0 else None), scale

    # -- public API --------------------------------------------------------------

    def _validate(self, X, y, reset):
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
            y_numeric=True,
        )
        X = canonical_csr(keep_sparse(given, X))
        y = np.asarray(y, dtype=X.dtype)
        if hasattr(self, "coef_") and not reset:
            coef = self._dense_coef()
            n_targets = 1 if coef.ndim == 1 else coef.shape[0]
            if (y.ndim == 1) != (coef.ndim == 1) or (
                y.ndim == 2 and y.shape[1] != n_targets
            ):
                raise ValueError(
                    f"y has shape {y.shape}, but the estimator was fitted with "
                    f"{n_targets} target(s) of shape {coef.shape[:-1]}."
                )
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        coef_init : ndarray of shape (n_features,) or (n_targets, n_features)
            The initial coefficients (default: zeros, or the previous fit's
            with ``warm_start``).
        intercept_init : ndarray of shape (1,) or (n_targets,)
            The initial intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : GDRegressor
        """
        warm = self.warm_start and hasattr(self, "_state")
        X, y = self._validate(X, y, reset=not warm)
        init = None
        if coef_init is not None or intercept_init is not None:
            init = partial(self._check_init, coef_init, intercept_init)
        return self._fit_gd(X, y, sample_weight, partial=False, init=init)

    @available_if(steps_on_chunks)
    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing the previous training.

        The optimizer state, the update count and the history carry over
        between calls; ``early_stopping`` and the stopping rule do not apply.
        The first call's features fix their rescaling, so the first chunk
        should represent the stream; a later chunk whose column spreads
        differ from it by more than a factor 10 raises a warning.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GDRegressor
        """
        X, y = self._validate(X, y, reset=not hasattr(self, "_state"))
        return self._fit_gd(X, y, sample_weight, partial=True)

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        check_structure(X)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
        )
        coef = self._dense_coef()
        pred = safe_sparse_dot(X, coef if coef.ndim == 1 else coef.T, dense_output=True)
        return pred + (self.intercept_ if coef.ndim == 2 else self.intercept_[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
