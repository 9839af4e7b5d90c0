"""Linear classification trained by gradient descent."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import _fit_context
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._base import BaseGradientDescent, steps_on_chunks, training_method
from .._labels import check_labels, weigh_classes
from .._labels import fit_binarizer as _fit_binarizer
from .._validation import canonical_csr, check_structure, keep_sparse
from ..losses._classification import CLASSIFICATION_LOSSES, get_classification_loss
from ..training._statistics import nonzero_rows
from ._model import OPTIMIZER_CONSTRAINT, _BaseLinear, _LinearModel

# The automatic step of a non-smooth loss (hinge, perceptron) moves the
# decision values by about this much per update.
_SUBGRADIENT_STEP = 0.1


class _LinearClassifierModel(_LinearModel):
    """The linear model of decision values ``z = X @ coef + intercept``.

    ``y`` holds indicator columns (see :mod:`skgd.losses._classification`).
    """

    @property
    def scale_free(self):
        # The perceptron's loss max(0, -m) has no margin to set a scale.
        return getattr(self.loss, "threshold", None) == 0

    def _objective(self, prediction, y, sample_weight):
        return self.loss.total_gradient(prediction, y, sample_weight)

    def score(self, X, y, sample_weight):
        """The (weighted) accuracy of the decision values on indicator targets."""
        z = self.predict(X)
        if z.shape[1] == 1:
            correct = (z[:, 0] > 0) == (y[:, 0] > 0.5)
        else:
            correct = z.argmax(axis=1) == y.argmax(axis=1)
        return float(np.average(correct, weights=sample_weight))


def _has_proba(estimator):
    if estimator.loss not in ("log_loss", "modified_huber"):
        raise AttributeError(
            f"probability estimates are not available for loss={estimator.loss!r}"
            ': use loss="log_loss" or loss="modified_huber".'
        )
    return True


class GDClassifier(LinearClassifierMixin, _BaseLinear):
    """Linear classification trained by gradient descent with any optimizer.

    Minimises the regularised empirical loss of the decision values
    ``z = X @ coef_.T + intercept_``,

    .. math::

        \\frac{\\sum_i s_i\\, \\ell(z_i, y_i)}{\\sum_i s_i}
        + \\alpha \\left(\\rho \\lVert W \\rVert_1
        + \\frac{1 - \\rho}{2} \\lVert W \\rVert_2^2\\right)

    with full-batch, mini-batch or stochastic gradient descent, where ``s``
    are the sample weights (times the class weights) and ``rho`` is
    ``l1_ratio``. ``loss="log_loss"`` is logistic regression, and with more
    than two classes true multinomial (softmax) regression; the margin
    losses (``hinge``, ``squared_hinge``, ``modified_huber``,
    ``perceptron``) train one binary problem per class (one-vs-rest), as
    ``SGDClassifier`` does. The features are centred and rescaled
    implicitly, as in :class:`GDRegressor`, so the defaults train any scale
    of X like standardised data, and on dense X the penalty measures the
    coefficients in the units of the standardised features
    (``penalty_scale``), so the model does not depend on those units either.

    Parameters
    ----------
    loss : {"log_loss", "hinge", "modified_huber", "squared_hinge", \
            "perceptron"}, default="log_loss"
        The loss of the margin ``m = s z`` (``s = +1`` for the class of a
        column, ``-1`` otherwise): ``max(0, 1 - m)`` (a linear SVM);
        ``log(1 + exp(-m))``, or the softmax cross-entropy with more than
        two classes; ``max(0, 1 - m)**2`` for ``m >= -1`` and ``-4 m``
        below; ``max(0, 1 - m)**2``; ``max(0, -m)``. The definitions of
        ``SGDClassifier``, whose default is ``"hinge"``; the log-loss is the
        default here because it gives probabilities, and because the hinge's
        optimum generalises worse at small ``alpha`` (0.93 test accuracy on
        scaled digits at the default ``alpha``, against 0.96).
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
        (that of ``LogisticRegression`` and ``SGDClassifier``). ``"auto"``:
        ``"standardized"`` for dense X, ``"raw"`` for sparse X, where text
        features are penalised in raw units as ``LogisticRegression`` does
        (see the user guide).
    l1_ratio : float or None, default=0.15
        The share of L1 in the elastic-net penalty (``penalty="elasticnet"``,
        which needs a number; None is accepted for the other penalties).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    optimizer : str or Optimizer, default="auto"
        The update rule: a name from
        :func:`skgd.optimizers.available_optimizers` or an
        :class:`~skgd.optimizers.Optimizer` object, whose hyperparameters
        can be grid-searched as ``optimizer__<name>``. ``"lbfgs"``
        (:class:`~skgd.optimizers.LBFGS`) minimises the objective on the
        full batch with a line search and has no ``partial_fit``. ``"auto"``
        is ``"lbfgs"`` for ``fit`` when the loss is differentiable
        (``log_loss``, ``squared_hinge``, ``modified_huber``), the penalty
        has no L1 part, ``early_stopping`` is off and ``learning_rate``,
        ``schedule``, ``batch_size`` and ``average`` keep their defaults;
        ``"sgd"`` otherwise and in ``partial_fit``. The optimizer used is
        ``optimizer_``.
    learning_rate : float or "auto", default="auto"
        The base step size, scaled over time by ``schedule``, for the
        coefficients of the implicitly rescaled features. ``"auto"`` derives
        it from the data: for the gradient-descent family ``1 / L``, with
        ``L`` the Lipschitz constant of the mini-batch gradient (the loss's
        curvature, 1/4 for binary and 1/2 for multinomial log-loss and 2
        for the squared hinges, times the largest eigenvalue of the
        rescaled data's second moment); for the hinge and the perceptron,
        whose slopes do not shrink, a step that moves the decision values
        by about 0.1 per update; for the other optimizers, their
        ``default_learning_rate`` times the size of coefficients whose
        decision values are of order 1. The resolved value is
        ``learning_rate_``.
    schedule : str or Schedule, default="auto"
        How the learning rate changes with the update count. ``"auto"``
        keeps the rate constant and, when the gradient rule stalls, divides
        it by 5 and goes on from the best point measured (under the loss
        rule it is ``"constant"``). ``"optimal"`` uses ``alpha`` and ignores
        ``learning_rate``, as in ``SGDClassifier``.
    batch_size : int, "auto" or None, default="auto"
        Samples per update. ``None`` is full-batch gradient descent, ``1``
        stochastic gradient descent, and ``"auto"`` is
        ``min(200, n_samples)``.
    max_iter : int, default=1000
        Maximum number of epochs.
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
        ``SGDClassifier``: the epoch's objective has not improved by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs. ``"auto"``:
        ``"gradient"`` for the differentiable losses, ``"loss"`` for the
        others, whose subgradient does not vanish at the optimum. With
        ``early_stopping``, the validation accuracy decides instead, as under
        ``"loss"``.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified by class),
        stop on its accuracy, and keep the coefficients of the best epoch.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is on.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    average : bool, int or "auto", default="auto"
        Polyak-Ruppert averaging of the iterates, as in
        :class:`GDRegressor`.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights;
        ``"balanced"`` weighs each class by the inverse of its frequency
        (not supported by ``partial_fit``).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split.
    warm_start : bool, default=False
        Continue from the previous fit's coefficients and optimizer state.
    verbose : int, default=0
        Print one line per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights (one row for binary targets).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : int
        Epochs run by the last ``fit`` (one per ``partial_fit`` call).
    t_ : int
        Parameter updates made since the first fit.
    loss_curve_ : list of float
        The training objective of each epoch, averaged over its batches.
    loss_ : float
        The last entry of ``loss_curve_``.
    best_loss_ : float
        The lowest entry of ``loss_curve_`` in the last ``fit``.
    validation_scores_ : list of float or None
        Accuracy on the held-out data after each epoch, with early stopping.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    learning_rate_ : float
        The base learning rate used.
    optimizer_ : Optimizer
        The optimizer object used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when X has string column names.

    Notes
    -----
    The features are centred and rescaled implicitly, exactly as in
    :class:`GDRegressor` (see its Notes); ``coef_`` and ``intercept_`` are
    those of the original features. The epochs run in a compiled loop for
    the built-in losses and optimizers.

    scikit-learn's sample-weight equivalence checks pass on their small
    data, where every fit is full-batch, except with ``"adagrad"`` and
    ``"lion"``: the intercepts start at the optimum of the constant model,
    where their gradient is rounding noise, and AdaGrad's first step
    (``g / |g|``) and Lion's sign step make full-sized steps of that noise.
    With shuffled mini-batches the equivalence holds in expectation only, as
    scikit-learn documents for ``SGDClassifier``.

    See Also
    --------
    sklearn.linear_model.SGDClassifier : Per-sample SGD with a few schedules.
    sklearn.linear_model.LogisticRegression : Logistic regression by
        second-order and coordinate solvers.
    skgd.GDRegressor : The linear regressor trained the same way.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skgd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GDClassifier(random_state=0).fit(X, y)
    >>> clf.coef_.shape, round(clf.score(X, y), 2)
    ((3, 4), 0.98)
    >>> clf.predict_proba(X[:1]).round(2)
    array([[1., 0., 0.]])
    """

    _rate_follows_stream = True

    _parameter_constraints: dict = {
        **BaseGradientDescent._parameter_constraints,
        "optimizer": OPTIMIZER_CONSTRAINT,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
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
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        loss="log_loss",
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
        class_weight=None,
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
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # -- hooks of _BaseLinear and BaseGradientDescent ---------------------------

    def _loss(self):
        return get_classification_loss(self.loss, len(self.classes_))

    def _initial_intercept(self, y, weight):
        """The intercepts of the best constant model of the log-loss, else 0.

        For the log-loss these are the log-odds of the class frequencies
        (the logarithms of the frequencies with the softmax), so that
        training starts from the priors.
        """
        if self.loss != "log_loss":
            return 0.0
        share = np.clip(np.average(y, axis=0, weights=weight), 1e-12, 1 - 1e-12)
        if y.shape[1] == 1:
            return np.log(share / (1 - share))
        return np.log(share) - np.log(share).mean()

    def _build_model(self, params, n_features):
        scale = getattr(self, "_scale", None)
        return _LinearClassifierModel(
            params, n_features, self._offset, self._loss(), self._penalty(), scale
        )

    def _step_size_hints(self, X, y, sample_weight, batch_size):
        """Lipschitz constant of the mini-batch gradient, and the scale of theta.

        As :meth:`GDRegressor._step_size_hints`, with the spread of y
        replaced by 1: decision values of order 1 separate the classes.
        """
        index, weight = nonzero_rows(sample_weight, X.shape[0])
        loss = self._loss()
        ridge = self._ridge_diagonal(X.shape[1])
        smooth_ridge = ridge / loss.curvature if loss.smooth else None
        top, lipschitz = self._curvatures(X, index, weight, batch_size, smooth_ridge)
        scale = 1.0 / np.sqrt(top) if top > 0 else 1.0
        if loss.smooth:
            lipschitz = loss.curvature * lipschitz
        else:
            lipschitz = lipschitz / _SUBGRADIENT_STEP + np.max(ridge)
        lipschitz = float(lipschitz)
        return (lipschitz if lipschitz > 0 else None), scale

    # -- targets -------------------------------------------------------------------

    def _validate(
        self, X, y, sample_weight, *, reset, partial=False, classes=None, warm=False
    ):
        """Return X, indicator targets and the sample weights (class weights in).

        ``warm``: a warm-started fit, whose y must have the previous classes.
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
        )
        X = canonical_csr(keep_sparse(given, X))
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            kind = type_of_target(y if classes is None else classes, input_name="y")
            if kind not in ("binary", "multiclass"):
                raise ValueError(
                    f"GDClassifier supports binary and multiclass targets; y is {kind}."
                )
            self._label_binarizer = _fit_binarizer(y, classes)
            self.classes_ = self._label_binarizer.classes_
        else:
            X = X.astype(self.coef_.dtype, copy=False)
        binarizer = self._label_binarizer
        check_labels(y, binarizer, same_classes=warm)
        if self.class_weight is not None:
            sample_weight = weigh_classes(
                self.class_weight, binarizer, y, sample_weight, X, partial
            )
        return X, binarizer.transform(y).astype(X.dtype), sample_weight

    # -- public API --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data is trained in float32.
        y : array-like of shape (n_samples,)
            Class labels.
        coef_init : ndarray of shape (n_classes, n_features)
            The initial coefficients (for binary targets, of shape
            ``(1, n_features)`` or ``(n_features,)``).
        intercept_init : ndarray of shape (1,) or (n_classes,)
            The initial intercepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : GDClassifier
        """
        warm = self.warm_start and hasattr(self, "_state")
        callback_data = (y, sample_weight)
        X, Y, sample_weight = self._validate(
            X, y, sample_weight, reset=not warm, warm=warm
        )
        if coef_init is not None and np.ndim(coef_init) == 1 and Y.shape[1] == 1:
            coef_init = np.reshape(coef_init, (1, -1))
        init = None
        if coef_init is not None or intercept_init is not None:
            init = partial(self._check_init, coef_init, intercept_init)
        return self._fit_gd(
            X, Y, sample_weight, partial=False, init=init, callback_data=callback_data
        )

    @available_if(steps_on_chunks)
    @_fit_context(prefer_skip_nested_validation=True)
    @training_method
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing the previous training.

        The first call's features fix their rescaling, so the first chunk
        should represent the stream; a later chunk whose column spreads
        differ from it by more than a factor 10 raises a warning.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream, required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GDClassifier
        """
        first = not hasattr(self, "_state")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: a "
                "chunk of the data need not contain every class."
            )
        if not first and classes is not None:
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

    def decision_function(self, X):
        """The decision values of the linear model for each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems, the score of the positive class.
        """
        check_structure(X)
        return super().decision_function(X)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Probability estimates (``log_loss`` and ``modified_huber`` only).

        For ``log_loss``, the logistic function of the decision value
        (binary) or the softmax of the decision values. For
        ``modified_huber``, ``(clip(z, -1, 1) + 1) / 2`` per class, normalised
        over the classes, as ``SGDClassifier`` computes it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        z = self.decision_function(X)
        binary = z.ndim == 1
        if self.loss == "log_loss":
            if binary:
                positive = expit(z)
                return np.column_stack([1 - positive, positive])
            return softmax(z, axis=1)
        proba = (np.clip(z, -1, 1) + 1) / 2
        if binary:
            return np.column_stack([1 - proba, proba])
        total = proba.sum(axis=1, keepdims=True)
        # Where every class is ruled out, all are equally likely.
        uniform = total[:, 0] == 0
        proba[uniform] = 1.0
        total[uniform] = proba.shape[1]
        return proba / total

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithms of :meth:`predict_proba`.

        For ``log_loss`` computed from the decision values directly, so it
        stays finite where the probability rounds to 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        if self.loss == "log_loss":
            z = self.decision_function(X)
            if z.ndim == 1:
                return log_softmax(np.column_stack([np.zeros_like(z), z]), axis=1)
            return log_softmax(z, axis=1)
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
