"""MLPGDClassifier: a multi-layer perceptron classifier trained by gradient
descent (the regressor is in :mod:`skgd.network._regressor`, what both share
in :mod:`skgd.network._base` and :mod:`skgd.network._model`)."""

import numpy as np
from scipy.special import log_expit
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from .._base import steps_on_chunks, training_method
from .._labels import check_labels, fit_binarizer, weigh_classes
from ..losses._cross_entropy import OUTPUTS
from ._base import _BaseMLP, _shared_docs


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
