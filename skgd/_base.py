"""What every skgd estimator shares: parameters, set-up and the fit driver.

An estimator subclasses :class:`BaseGradientDescent` and supplies its model
through a few methods (``_init_params``, ``_current_params``, ``_build_model``,
``_set_fitted``, ``_step_size_hints``); :meth:`BaseGradientDescent._fit_gd` then
resolves the optimizer and schedule, splits off validation data, runs the
shared loop in :mod:`skgd._training`, and records the fitted attributes.
"""

import copy
import functools
import warnings
from numbers import Integral, Real

import joblib
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

from ._callbacks import CallbackSupportMixin, fitted_attributes, start_callbacks
from ._training import LoopConfig, TrainingState, train
from .optimizers import (
    Optimizer,
    OptimizerState,
    available_optimizers,
    get_optimizer,
)
from .schedules import Schedule, available_schedules, get_schedule


def training_method(method):
    """Make ``fit`` or ``partial_fit`` all-or-nothing, and always validated.

    If the call raises, every attribute of the estimator is put back as it
    was, so a failed call leaves a fitted estimator exactly as it was fitted
    (coefficients, ``n_features_in_``, optimizer state...). scikit-learn's
    ``_fit_context`` validates the parameters of ``partial_fit`` on the first
    call only; a value changed with ``set_params`` after that is validated
    here.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(vars(self))
        try:
            if method.__name__ == "partial_fit" and hasattr(self, "_state"):
                self._validate_params()
            return method(self, *args, **kwargs)
        except BaseException:
            # scikit-learn's callback machinery tears callbacks down after
            # the call through attributes it set during it: keep those.
            callbacks = {
                name: value
                for name, value in vars(self).items()
                if name.startswith(("_callback", "_skl_callback"))
            }
            vars(self).clear()
            vars(self).update(saved)
            vars(self).update(callbacks)
            raise

    return wrapper


def _same_hyperparameters(a, b):
    """Whether two optimizers are of one class with equal hyperparameters.

    A hyperparameter that is itself an estimator (an optimizer wrapping
    another) is compared the same way, not by identity: the clone made at
    each call must compare equal to the one it was cloned from.
    """
    if type(a) is not type(b):
        return False
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    if params_a.keys() != params_b.keys():
        return False
    for name, value in params_a.items():
        other = params_b[name]
        if isinstance(value, BaseEstimator):
            same = _same_hyperparameters(value, other)
        else:
            try:
                same = value is other or bool(value == other)
            except ValueError:  # array-valued hyperparameters
                same = joblib.hash(value) == joblib.hash(other)
        if not same:
            return False
    return True


class BaseGradientDescent(CallbackSupportMixin, BaseEstimator):
    """Parameters and fit driver common to the skgd estimators.

    With scikit-learn 1.9 or later, callbacks set with ``set_callbacks`` (for
    example ``sklearn.callback.ProgressBar``) are told of every epoch.
    """

    _parameter_constraints: dict = {
        "optimizer": [StrOptions(set(available_optimizers())), Optimizer],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "schedule": [StrOptions(set(available_schedules())), Schedule],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Nested settings of an optimizer or schedule given by name, such as
        ``set_params(optimizer__beta_2=0.99)`` with ``optimizer="adam"``,
        first turn the name into its object (``Adam()``), then set the
        hyperparameter on it.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and ``<component>__<parameter>`` settings.

        Returns
        -------
        self : estimator instance
        """
        params = dict(params)
        for name, resolve in (("optimizer", get_optimizer), ("schedule", get_schedule)):
            if not any(key.startswith(f"{name}__") for key in params):
                continue
            value = params.get(name, getattr(self, name))
            if isinstance(value, str):
                try:
                    params[name] = resolve(value)
                except ValueError as exc:
                    raise ValueError(
                        f"Cannot set the nested parameters of {name}={value!r}: {exc}"
                    ) from None
        saved = dict(vars(self))
        try:
            return super().set_params(**params)
        except BaseException:
            # Nothing is half-set when one of the settings is invalid.
            vars(self).clear()
            vars(self).update(saved)
            raise

    # -- hooks each estimator implements ---------------------------------------

    def _init_params(self, X, y, random_state, sample_weight=None):
        """Return a new parameter buffer for a first fit."""
        raise NotImplementedError

    def _current_params(self):
        """Return a copy of the fitted parameters as one buffer."""
        raise NotImplementedError

    def _build_model(self, params, n_features):
        """Return the :class:`skgd._training.Model` for ``params``."""
        raise NotImplementedError

    def _set_fitted(self, params):
        """Set the public fitted attributes from a parameter buffer."""
        raise NotImplementedError

    def _step_size_hints(self, X, y, sample_weight, batch_size):
        """What ``learning_rate="auto"`` can know of the problem.

        Returns
        -------
        lipschitz : float or None
            The Lipschitz constant of the mini-batch gradient, if known.
        scale : float
            The typical magnitude of the parameters at the solution.
        """
        return None, 1.0

    def _split_validation(self, X, y, sample_weight, random_state):
        """Return ``(train, validation)`` triples for early stopping."""
        raise NotImplementedError

    def _get_schedule(self):
        return get_schedule(self.schedule)

    # -- shared machinery -------------------------------------------------------

    def _batch_size(self, n_samples):
        if self.batch_size is None:
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        if X.shape[0] and not sample_weight.sum() > 0:
            # scikit-learn checks this itself from version 1.9 on.
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        return sample_weight

    def _start(self, X, y, sample_weight, random_state):
        """Create the training state of a first fit."""
        optimizer = get_optimizer(self.optimizer)
        optimizer._validate_params()
        params = self._init_params(X, y, random_state, sample_weight)
        learning_rate = self._learning_rate(optimizer, X, y, sample_weight)
        state = TrainingState(optimizer, params, learning_rate, random_state)
        # The parameter the rate came from, to notice when the user changes it.
        state.learning_rate_param = self.learning_rate
        return params, state

    def _learning_rate(self, optimizer, X, y, sample_weight):
        """The base learning rate: ``learning_rate``, or derived from the data."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        batch_size = self._batch_size(X.shape[0])
        hints = self._step_size_hints(X, y, sample_weight, batch_size)
        return float(optimizer.auto_learning_rate(*hints))

    def _continue(self, X, y, sample_weight):
        """Copy the training state of a previous fit, and its parameters.

        Training works on copies, so a call that fails leaves the fitted
        estimator exactly as it was.
        """
        state = copy.deepcopy(self._state)
        optimizer = get_optimizer(self.optimizer)
        optimizer._validate_params()
        changed = not _same_hyperparameters(optimizer, state.optimizer.optimizer)
        if state.average is not None:
            params = state.params.copy()
        else:
            params = self._current_params()
        if changed:
            # A new update rule starts from fresh moments and step count.
            state.optimizer = OptimizerState(optimizer, [params])
        rate_changed = self.learning_rate != getattr(
            state, "learning_rate_param", self.learning_rate
        )
        if rate_changed or (changed and self.learning_rate == "auto"):
            # The user changed the learning rate between calls, or an
            # automatic one must be derived again for a new optimizer.
            rate = self._learning_rate(optimizer, X, y, sample_weight)
            state.initial_learning_rate = state.learning_rate = rate
            state.learning_rate_param = self.learning_rate
        return params, state

    def _loop_config(self, n_samples, schedule, early_stopping):
        batch_size = self._batch_size(n_samples)
        average = getattr(self, "average", False)
        return LoopConfig(
            schedule=schedule,
            batch_size=batch_size,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=early_stopping,
            average_start=int(average) if average is not False else 0,
            total_steps=self.max_iter * -(-n_samples // batch_size),
            verbose=self.verbose,
        )

    def _fit_gd(self, X, y, sample_weight, *, partial, init=None, callback_data=None):
        """Train on validated ``X, y``.

        ``partial`` runs a single epoch without the stopping rule; ``init``,
        if given, sets the starting parameters in place. ``callback_data``,
        if given, is the ``(y, sample_weight)`` that callbacks see in place
        of the training targets (a classifier passes the user's labels, not
        the indicator matrix it trains on).
        """
        sample_weight = self._sample_weight(sample_weight, X)
        fitted = hasattr(self, "_state")
        if fitted and (partial or self.warm_start):
            params, state = self._continue(X, y, sample_weight)
        else:
            random_state = check_random_state(self.random_state)
            params, state = self._start(X, y, sample_weight, random_state)
        if init is not None:
            init(params)
        schedule = self._get_schedule()
        schedule._validate_params()
        early_stopping = self.early_stopping and not partial
        data, validation = (X, y, sample_weight), None
        if early_stopping:
            data, validation = self._split_validation(
                X, y, sample_weight, state.random_state
            )
        config = self._loop_config(data[0].shape[0], schedule, early_stopping)
        if not partial:
            state.reset_monitoring()
        model = self._build_model(params, X.shape[1])
        state.optimizer.decay_index = model.decay_index
        max_epochs = 1 if partial else self.max_iter

        def fitted():
            current = params if state.average is None else state.average
            return fitted_attributes(self, type(self)._set_fitted, current.copy())

        callback_y, callback_weight = (
            (y, sample_weight) if callback_data is None else callback_data
        )
        callbacks = start_callbacks(
            self, X, callback_y, callback_weight, max_epochs, fitted
        )
        stopped = train(
            model,
            state,
            config,
            data,
            validation,
            max_epochs=max_epochs,
            check=not partial,
            callbacks=callbacks,
        )
        if early_stopping and state.best_params is not None:
            params[...] = state.best_params
        state.params = params
        self._state = state
        self._set_fitted(params if state.average is None else state.average)
        self._set_history(state)
        if callbacks is not None:
            callbacks.end()
        if not (partial or stopped or self.tol is None):
            warnings.warn(
                f"Maximum number of epochs ({self.max_iter}) reached and the "
                "optimization hasn't converged yet. Increase max_iter, or tol, "
                "or the learning_rate.",
                ConvergenceWarning,
                # The user's call, through fit, _fit_context and
                # training_method.
                stacklevel=5,
            )
        return self

    def _set_history(self, state):
        self.n_iter_ = state.n_iter
        self.t_ = state.t
        self.loss_curve_ = list(state.loss_curve)
        self.loss_ = state.loss_curve[-1]
        self.best_loss_ = state.best_loss
        self.learning_rate_ = state.initial_learning_rate
        self.optimizer_ = state.optimizer.optimizer
        if self.early_stopping and state.validation_scores:
            self.validation_scores_ = list(state.validation_scores)
            self.best_validation_score_ = state.best_validation_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
