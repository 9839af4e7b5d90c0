"""Linear regression trained by gradient descent."""

from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseGradientDescent, training_method
from ._losses import REGRESSION_LOSSES, Penalty, get_regression_loss
from ._training import Model
from .schedules import get_schedule

# Rows used to estimate the largest eigenvalue of the data's second moment.
_POWER_ITERATION_ROWS = 2000
_POWER_ITERATIONS = 30
# The automatic step of a non-smooth loss moves the predictions by about this
# fraction of the spread of y.
_SUBGRADIENT_FRACTION = 0.1
# Power iteration stops early once the estimate moves by less than this.
_POWER_ITERATION_RTOL = 1e-3


class _LinearModel(Model):
    """``X @ coef + intercept`` with a regression loss and an elastic-net penalty.

    ``params`` stacks the coefficients and, last, the intercept: shape
    ``(n_features + 1,)`` for one target, ``(n_features + 1, n_targets)`` for
    several. ``coef`` and ``intercept`` are views of it.

    With an intercept, the model is trained on implicitly centred features:
    ``(X - offset) @ coef + intercept``, where ``offset`` is the (weighted)
    mean of the training features. This is the same model with the intercept
    shifted by ``offset @ coef``, so the optimum is unchanged, but it removes
    the coupling between the intercept and the coefficients that makes
    uncentred data (say, features around 100) badly conditioned. Nothing is
    subtracted from ``X`` itself: the shift costs one dot product per batch,
    and sparse input stays sparse.
    """

    def __init__(self, params, n_features, offset, loss, penalty):
        self.params = params
        self.grad = np.zeros_like(params)
        self.offset = offset
        self.coef = params[:n_features]
        self.intercept = params[n_features:]
        self.grad_coef = self.grad[:n_features]
        self.grad_intercept = self.grad[n_features:]
        self.loss = loss
        self.penalty = penalty
        self.has_prox = penalty.l1 > 0

    def predict(self, X):
        pred = X @ self.coef
        if self.offset is not None:
            pred += self.intercept - self.offset @ self.coef
        return pred

    def loss_grad(self, X, y, sample_weight, scale):
        # The hot path of every update: a handful of vectorised calls.
        coef, grad_coef, offset = self.coef, self.grad_coef, self.offset
        residual = X @ coef
        if offset is not None:
            residual += self.intercept - offset @ coef
        residual -= y
        total, dloss = self.loss.total_gradient(residual, sample_weight)
        dloss *= scale
        if type(X) is np.ndarray:
            np.matmul(X.T, dloss, out=grad_coef)
        else:
            grad_coef[...] = X.T @ dloss
        if offset is not None:
            dloss_sum = np.add.reduce(dloss, axis=0)
            if dloss.ndim == 1:
                grad_coef -= offset * dloss_sum
            else:
                grad_coef -= np.multiply.outer(offset, dloss_sum)
            self.grad_intercept[...] = dloss_sum
        return scale * total + self.penalty.add_gradient(coef, grad_coef)

    def prox(self, step):
        self.penalty.prox(self.coef, step)

    def baseline_loss(self, X, y, sample_weight, scale):
        # The objective of predicting 0 (all parameters zero).
        return scale * self.loss.total_gradient(-y, sample_weight)[0]

    def score(self, X, y, sample_weight):
        return r2_score(y, self.predict(X), sample_weight=sample_weight)


def _weighted_mean(X, weight):
    """The weighted column means of ``X`` (dense or sparse)."""
    return np.asarray(X.T @ weight).ravel() / weight.sum()


def _check_finite(values, name):
    if not np.isfinite(values).all():
        raise ValueError(
            f"{name} contains NaN or infinity; pass finite starting values."
        )


def _top_eigenvalue(X, weight, offset):
    """Largest eigenvalue of the weighted second moment of ``X - offset``.

    Power iteration on ``sum_i weight_i z_i z_i^T / n``, with
    ``z_i = x_i - offset`` when ``offset`` is given (an intercept is fitted)
    and ``z_i = x_i`` otherwise; ``X`` is never centred in memory.
    """
    n, d = X.shape
    v = np.random.RandomState(0).uniform(0.5, 1.5, size=d)
    v /= np.linalg.norm(v)
    eigenvalue = 0.0
    for _ in range(_POWER_ITERATIONS):
        u = X @ v
        if offset is not None:
            u -= offset @ v
        u *= weight
        z = X.T @ u
        if offset is not None:
            z -= offset * u.sum()
        z /= n
        previous, eigenvalue = eigenvalue, float(np.linalg.norm(z))
        if eigenvalue == 0.0:
            break
        v = z / eigenvalue
        if abs(eigenvalue - previous) <= _POWER_ITERATION_RTOL * eigenvalue:
            break
    return eigenvalue


# Rows of X are rescaled this many at a time when their norms are computed.
_NORM_CHUNK = 4096


def _row_norms_squared(X, offset, x_scale):
    """Squared norms of the rows of ``(X - offset) / x_scale``.

    Without rescaling, the squares of values beyond about 1e154 overflow and
    those below about 1e-154 underflow. Rows are rescaled a chunk at a time,
    so X is never copied whole; with ``x_scale=1`` nothing is copied.
    """
    n_samples = X.shape[0]
    chunk = n_samples if x_scale == 1.0 else _NORM_CHUNK
    centre = None if offset is None else offset / x_scale
    norms = np.empty(n_samples)
    for start in range(0, n_samples, chunk):
        rows = X[start : start + chunk]
        if x_scale != 1.0:
            rows = rows.astype(np.float64) / x_scale
        if sp.issparse(rows):
            part = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
        else:
            part = np.einsum("ij,ij->i", rows, rows)
        if centre is not None:
            part += centre @ centre - 2.0 * np.asarray(rows @ centre).ravel()
        norms[start : start + chunk] = part
    return norms


def _max_abs(X):
    """The largest absolute value of ``X`` (dense or sparse), without a copy."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return float(max(values.max(), -values.min()))


def _robust_spread(y):
    """The largest median absolute deviation of the columns of ``y``."""
    centred = np.abs(y - np.median(y, axis=0))
    return float(np.max(np.median(centred, axis=0)))


def _too_extreme(what, magnitude):
    return ValueError(
        f"{what} has values of magnitude {magnitude:.3g}, too extreme for the "
        "automatic step size to be computed in floating point. Scale the data "
        "(for example with StandardScaler), or set learning_rate."
    )


class GDRegressor(RegressorMixin, BaseGradientDescent):
    """Linear regression trained by gradient descent with any optimizer.

    Minimises the regularised empirical loss

    .. math::

        \\frac{\\sum_i s_i\\, \\ell(x_i^\\top w + b, y_i)}{\\sum_i s_i}
        + \\alpha \\left(\\rho \\lVert w \\rVert_1
        + \\frac{1 - \\rho}{2} \\lVert w \\rVert_2^2\\right)

    with full-batch, mini-batch or stochastic gradient descent, where ``s``
    are the sample weights and ``rho`` is ``l1_ratio``. The update rule comes
    from ``optimizer`` and the step size from ``learning_rate`` and
    ``schedule``. The L1 part of the penalty is applied by a proximal
    (soft-threshold) step after each update, so irrelevant coefficients
    become exactly zero.

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
    l1_ratio : float, default=0.15
        The share of L1 in the elastic-net penalty (``penalty="elasticnet"``).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    optimizer : str or Optimizer, default="sgd"
        The update rule: a name from :func:`skgd.optimizers.available_optimizers`
        (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"``, ``"amsgrad"``, ``"adamw"``, ``"nadam"``, ``"radam"``,
        ``"adamax"``, ``"adadelta"``, ``"lion"``) or an
        :class:`~skgd.optimizers.Optimizer` object, whose hyperparameters can
        be grid-searched as ``optimizer__<name>``.
    learning_rate : float or "auto", default="auto"
        The base step size, scaled over time by ``schedule``. ``"auto"``
        derives it from the data for the gradient-descent family: ``1 / L``,
        where ``L`` is the Lipschitz constant of the mini-batch gradient
        (the "expected smoothness" of Gower et al., 2019, computed from the
        largest eigenvalue of the data's second moment and the largest
        squared row norm, the quantity scikit-learn's SAG solver uses). That
        step can never diverge on the squared loss, whatever the scale of X,
        so the defaults also work on unscaled data. For the non-smooth
        losses (absolute, epsilon-insensitive, quantile) the step instead
        moves the predictions by a tenth of the spread of y per update, so
        that the iterates settle close to the optimum. For other optimizers,
        ``"auto"`` is the optimizer's ``default_learning_rate``. The resolved
        value is ``learning_rate_``.
    schedule : str or Schedule, default="constant"
        How the learning rate changes with the update count: a name from
        :func:`skgd.schedules.available_schedules` or a
        :class:`~skgd.schedules.Schedule` object. ``"optimal"`` uses
        ``alpha`` and ignores ``learning_rate``, as in ``SGDRegressor``.
    batch_size : int, "auto" or None, default="auto"
        Samples per update. ``None`` is full-batch gradient descent, ``1``
        stochastic gradient descent, and ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).
    tol : float or None, default=1e-3
        Training stops when the objective (or, with early stopping, the
        validation score) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. ``None`` disables stopping.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, with the
        ``"adaptive"`` schedule, before the learning rate is divided by 5).
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
        the noise of stochastic gradients; it never averages full-batch
        gradient descent, nor in ``partial_fit``.
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

    _parameter_constraints: dict = {
        **BaseGradientDescent._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
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
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="sgd",
        learning_rate="auto",
        schedule="constant",
        batch_size="auto",
        max_iter=1000,
        tol=1e-3,
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
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
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
        self.average = average
        self.epsilon = epsilon
        self.quantile = quantile
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # -- hooks of BaseGradientDescent ------------------------------------------

    def _init_params(self, X, y, random_state, sample_weight=None):
        """Zero coefficients; the intercept starts at the mean target.

        With centred features, the mean target is the least-squares intercept
        whatever the coefficients, so optimizers whose steps have a fixed
        size (Adam, Lion, ...) need not walk the intercept there from zero.
        """
        rows = X.shape[1] + 1
        params = np.zeros((rows,) if y.ndim == 1 else (rows, y.shape[1]), X.dtype)
        self._offset = None
        if self.fit_intercept:
            weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
            self._offset = _weighted_mean(X, weight).astype(X.dtype)
            params[-1] = np.average(y, axis=0, weights=weight)
        return params

    def _pack(self, coef, intercept, dtype):
        """Return the parameter buffer of the user-facing ``coef, intercept``."""
        coef = coef if coef.ndim == 1 else coef.T
        params = np.zeros((coef.shape[0] + 1, *coef.shape[1:]), dtype=dtype)
        params[:-1] = coef
        if self.fit_intercept:
            centred = intercept + self._offset @ coef
            params[-1] = centred if coef.ndim == 2 else centred[0]
        return params

    def _current_params(self):
        return self._pack(self.coef_, self.intercept_, self.coef_.dtype)

    def _check_init(self, coef_init, intercept_init, params):
        """Overwrite ``params`` with the user's starting values."""
        coef = params[:-1] if params.ndim == 1 else params[:-1].T
        intercept = np.zeros(np.size(params[-1]))
        if self.fit_intercept:
            intercept = np.atleast_1d(params[-1] - self._offset @ params[:-1])
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=params.dtype)
            if coef_init.shape != coef.shape:
                raise ValueError(
                    f"coef_init has shape {coef_init.shape}; expected {coef.shape}."
                )
            _check_finite(coef_init, "coef_init")
            coef = coef_init
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=params.dtype).ravel()
            if intercept_init.shape != intercept.shape:
                raise ValueError(
                    f"intercept_init has shape {intercept_init.shape}; expected "
                    f"{intercept.shape}."
                )
            _check_finite(intercept_init, "intercept_init")
            intercept = intercept_init
        params[...] = self._pack(coef, intercept, params.dtype)

    def _build_model(self, params, n_features):
        loss = get_regression_loss(self.loss, self.epsilon, self.quantile)
        penalty = Penalty(self.penalty, self.alpha, self.l1_ratio)
        return _LinearModel(params, n_features, self._offset, loss, penalty)

    def _set_fitted(self, params):
        coef = params[:-1]
        self.coef_ = coef.copy() if coef.ndim == 1 else coef.T.copy()
        if self.fit_intercept:
            self.intercept_ = np.atleast_1d(params[-1] - self._offset @ coef)
        else:
            self.intercept_ = np.zeros(np.size(params[-1]), dtype=params.dtype)

    def _step_size_hints(self, X, y, sample_weight, batch_size):
        """Lipschitz constant of the mini-batch gradient, and the scale of coef.

        The Lipschitz constant for batches of ``b`` out of ``n`` samples is
        ``(n (b - 1) L + (n - b) L_max) / (b (n - 1))`` (Gower et al., 2019),
        where ``L`` is the largest eigenvalue of the (centred, weighted)
        second moment of X, estimated by power iteration on at most 2,000
        rows, and ``L_max`` the largest squared row norm; both are multiplied
        by the loss's curvature, and the L2 penalty is added. The scale of the
        coefficients is estimated as ``std(y) / sqrt(L)``.
        """
        n_samples = X.shape[0]
        weight = (
            np.ones(n_samples)
            if sample_weight is None
            else sample_weight / sample_weight.mean()
        )
        rows = np.arange(n_samples)
        if n_samples > _POWER_ITERATION_ROWS:
            rows = np.random.RandomState(0).choice(
                n_samples, _POWER_ITERATION_ROWS, replace=False
            )
        # Work on X / x_scale (and y / y_scale) so that squares neither
        # overflow nor underflow, whatever the magnitude of the data.
        # The power iteration always runs on the sample scaled to [-1, 1];
        # squared row norms only need scaling for extreme magnitudes.
        x_max = _max_abs(X)
        sample_scale = x_max if x_max > 0 else 1.0
        offset = None
        if self._offset is not None:
            offset = self._offset.astype(np.float64) / sample_scale
        sample = X[rows].astype(np.float64) / sample_scale
        eigenvalue = _top_eigenvalue(sample, weight[rows], offset)
        top = eigenvalue * sample_scale * sample_scale
        if not np.isfinite(top) or (eigenvalue > 0 and top == 0 and offset is None):
            raise _too_extreme("X", x_max)
        # The intercept's direction is decoupled from the centred features;
        # its eigenvalue and squared "row norm" are the mean weight, 1.
        intercept = 0.0 if offset is None else 1.0
        top = max(top, intercept)
        y_max = _max_abs(y)
        y_scale = y_max if y_max > 0 else 1.0
        y_centred = (y - np.average(y, axis=0, weights=weight)) / y_scale
        y_var = np.average(y_centred**2, axis=0, weights=weight)
        y_std = float(np.max(np.sqrt(y_var))) * y_scale
        scale = y_std / np.sqrt(top) if top > 0 and y_std > 0 else 1.0
        if not np.isfinite(scale):
            raise _too_extreme("y", y_max)
        if batch_size < n_samples:
            x_scale = 1.0 if 1e-100 < x_max < 1e100 else sample_scale
            norms = _row_norms_squared(X, self._offset, x_scale)
            norms = norms * x_scale * x_scale + intercept
            largest = float(np.max(weight * norms))
            b, n = batch_size, n_samples
            top = (n * (b - 1) * top + (n - b) * largest) / (b * (n - 1))
            if not np.isfinite(top):
                raise _too_extreme("X", x_max)
        loss = get_regression_loss(self.loss)
        l2 = Penalty(self.penalty, self.alpha, self.l1_ratio).l2
        if loss.smooth:
            lipschitz = loss.curvature * top + l2
        else:
            # A subgradient step moves the predictions by about lr * top
            # whatever the residuals; 1 / lipschitz keeps that a small
            # fraction of the spread of y, so the oscillation around the
            # optimum stays well below the noise. The spread is the median
            # absolute deviation, which outliers (the reason for choosing a
            # robust loss) do not inflate.
            spread = _robust_spread(y) or y_std or y_max or 1.0
            lipschitz = top / (_SUBGRADIENT_FRACTION * spread) + l2
        return (lipschitz if lipschitz > 0 else None), scale

    def _structure(self):
        return {"fit_intercept": self.fit_intercept}

    def _get_schedule(self):
        if self.schedule == "optimal":
            if self.alpha <= 0:
                raise ValueError(
                    'schedule="optimal" needs alpha > 0: its step is '
                    "1 / (alpha * (t0 + t))."
                )
            return get_schedule("optimal").set_params(alpha=self.alpha)
        return super()._get_schedule()

    # -- public API --------------------------------------------------------------

    def _validate(self, X, y, reset):
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
        if sp.issparse(X) and X.format == "csc":
            X = X.tocsr()
        y = np.asarray(y, dtype=X.dtype)
        if hasattr(self, "coef_") and not reset:
            n_targets = 1 if self.coef_.ndim == 1 else self.coef_.shape[0]
            if (y.ndim == 1) != (self.coef_.ndim == 1) or (
                y.ndim == 2 and y.shape[1] != n_targets
            ):
                raise ValueError(
                    f"y has shape {y.shape}, but the estimator was fitted with "
                    f"{n_targets} target(s) of shape {self.coef_.shape[:-1]}."
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

    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing the previous training.

        The optimizer state, the update count and the history carry over
        between calls; ``early_stopping`` and the stopping rule do not apply.

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
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
        )
        pred = X @ (self.coef_ if self.coef_.ndim == 1 else self.coef_.T)
        return pred + (self.intercept_ if self.coef_.ndim == 2 else self.intercept_[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
