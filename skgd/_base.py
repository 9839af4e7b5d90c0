"""What every skgd estimator shares: parameters, set-up and the fit driver.

An estimator subclasses :class:`BaseGradientDescent` and supplies its model
through a few methods (``_init_params``, ``_current_params``, ``_build_model``,
``_set_fitted``, ``_step_size_hints``); :meth:`BaseGradientDescent._fit_gd` then
resolves the optimizer and schedule, splits off validation data, runs the
shared loop in :mod:`skgd.training._loop`, and records the fitted attributes.
"""

import functools
import warnings
from numbers import Integral, Real

import joblib
import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

from .optimizers import (
    Optimizer,
    OptimizerState,
    available_optimizers,
    get_optimizer,
)
from .schedules import Schedule, available_schedules, get_schedule
from .training._batching import TrainingData, n_batches
from .training._callbacks import (
    CallbackSupportMixin,
    fitted_attributes,
    start_callbacks,
)
from .training._loop import train, train_full_batch
from .training._state import LoopConfig, TrainingState
from .training._statistics import warn_if_spreads_changed
from .training._stopping import stop_message


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


def steps_on_chunks(estimator):
    """Whether ``partial_fit`` is available: the optimizer steps per chunk.

    A full-batch solver (``optimizer="lbfgs"``) minimises the objective on
    the whole training set, so the estimator has no ``partial_fit``, as
    ``MLPClassifier(solver="lbfgs")`` has none.
    """
    optimizer = estimator.optimizer
    if isinstance(optimizer, str):
        optimizer = (
            get_optimizer(optimizer) if optimizer in available_optimizers() else None
        )
    if getattr(optimizer, "full_batch", False):
        raise AttributeError(
            "partial_fit is not available with a full-batch solver "
            f"(optimizer={estimator.optimizer!r}): it trains on the whole "
            "training set. Use fit, or an optimizer that steps on each batch."
        )
    return True


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


def _components(*roots):
    """The estimator and the optimizers and schedules below ``roots``, each once.

    Nested ``set_params`` changes these objects in place; the hyperparameters
    of an optimizer or schedule that are themselves optimizers or schedules
    are followed down.
    """
    found, pending = {}, list(roots)
    while pending:
        component = pending.pop()
        if id(component) in found:
            continue
        if component is roots[0] or isinstance(component, (Optimizer, Schedule)):
            found[id(component)] = component
            if component is not roots[0]:
                pending.extend(component.get_params(deep=False).values())
    return list(found.values())


def _hook_data(data):
    """The ``X, y, sample_weight`` handed to the estimator's set-up hooks.

    Weights of ones stand for None with float32 data: a hook combining X
    with a default float64 weight vector would make a float64 copy of X.
    """
    weight = data.sample_weight
    if weight is None and data.X.dtype != np.float64:
        weight = np.ones(data.X.shape[0], data.X.dtype)
    return data.X, data.y, weight


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

    #: Whether ``partial_fit`` with ``learning_rate="auto"`` derives the rate
    #: again on every chunk (keeping the smaller one): worth it where the
    #: step-size hints cost a fraction of an epoch over the chunk.
    _rate_follows_stream = False

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
        # Nothing is half-set when one of the settings is invalid: neither
        # this estimator nor an optimizer or schedule object, which nested
        # settings change in place (it may be the user's own object), at
        # any depth (an optimizer that wraps another).
        saved = [
            (c, dict(vars(c)))
            for c in _components(self, *vars(self).values(), *params.values())
        ]
        try:
            return super().set_params(**params)
        except BaseException:
            for component, attributes in saved:
                vars(component).clear()
                vars(component).update(attributes)
            raise

    # -- hooks each estimator implements ---------------------------------------

    def _init_params(self, X, y, random_state, sample_weight=None, optimizer=None):
        """Return a new parameter buffer for a first fit with ``optimizer``."""
        raise NotImplementedError

    def _current_params(self):
        """Return a copy of the fitted parameters as one buffer."""
        raise NotImplementedError

    def _build_model(self, params, n_features):
        """Return the :class:`skgd.training._state.Model` for ``params``."""
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

    def _structure(self):
        """The settings that shape the parameters, which a warm start keeps.

        None when there are none beyond the data (a changed network, for
        example, is caught when the previous weights are packed).
        """
        return None

    def _fitted_structure(self):
        """The structure of the fitted model, inferred from its attributes.

        For estimators saved before the training state recorded it; None
        when it cannot be told.
        """
        return None

    def _split_validation(self, X, y, sample_weight, random_state):
        """Pick the rows held out for early stopping.

        Returns
        -------
        train : ndarray of int
            The training rows, in increasing order (they are not copied).
        validation : tuple (X, y, sample_weight)
            A copy of the held-out rows; for a classifier, stratified by
            class.
        """
        n_samples = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_val < 2 or n_samples - n_val < 1:
            raise ValueError(
                f"early_stopping needs at least 2 validation samples and 1 "
                f"training sample, but validation_fraction="
                f"{self.validation_fraction} of {n_samples} samples gives "
                f"{n_val}. Use more data, a larger validation_fraction, or "
                "early_stopping=False."
            )
        train, held_out = train_test_split(
            np.arange(n_samples),
            test_size=n_val,
            random_state=random_state.randint(2**31 - 1),
            stratify=self._validation_strata(y),
        )
        weight = None if sample_weight is None else sample_weight[held_out]
        if weight is not None:
            for rows, name in ((train, "training"), (held_out, "validation")):
                if not sample_weight[rows].sum() > 0:
                    raise ValueError(
                        f"The sample weights of the {name} rows are all zero "
                        "after the early-stopping split, so there is nothing "
                        f"to {'train on' if name == 'training' else 'score'}. "
                        "Use another random_state or validation_fraction, or "
                        "early_stopping=False."
                    )
        return np.sort(train), (X[held_out], y.take(held_out, axis=0), weight)

    def _validation_strata(self, y):
        """The class of each row of a classifier's indicator targets, or None.

        Multilabel targets (rows with several labels) are not stratified.
        """
        if not is_classifier(self) or y.ndim != 2:
            return None
        if y.shape[1] == 1:
            return y[:, 0]
        if not np.all(y.sum(axis=1) == 1):
            return None
        return y.argmax(axis=1)

    def _get_schedule(self):
        return get_schedule(self.schedule)

    # -- shared machinery -------------------------------------------------------

    #: bool : Whether an epoch's batches have at most ``batch_size`` rows
    #: (``ceil(n_samples / batch_size)`` of them, as ``MLPClassifier``'s)
    #: rather than at least ``batch_size`` rows.
    _batches_at_most_batch_size = False

    def _first_chunk_spreads(self):
        """``(spreads, centred)`` of the columns the first call measured, or
        None: what a later ``partial_fit`` chunk is compared with."""
        return None

    def _check_stream_scaling(self, data):
        """Warn when a ``partial_fit`` chunk is scaled unlike the first one."""
        first = self._first_chunk_spreads()
        if first is not None:
            spreads, centred = first
            X, _, weight = _hook_data(data)
            # The user's call, through partial_fit, its two wrappers, _fit_gd
            # and _prepare.
            warn_if_spreads_changed(spreads, X, weight, centred, stacklevel=7)

    def _loss_unit(self):
        """The unit ``loss_curve_`` reports the trained objective in (see
        :meth:`_set_history`); 1: as trained."""
        return 1.0

    def _smallest_batch(self, n_samples):
        """The smallest batch of an epoch over ``n_samples`` rows.

        An epoch makes ``n_samples // batch_size`` batches of near-equal size
        (see :func:`skgd.training._batching.n_batches`), so the smallest has
        ``n_samples // n_batches`` rows, at least ``batch_size``; with
        ``_batches_at_most_batch_size``, ``ceil(n_samples / batch_size)``
        batches of near-equal size instead (a ``partial_fit`` chunk of 300
        rows with ``batch_size=200`` then takes two steps, as in
        ``MLPClassifier``, not one). The automatic step size is derived for
        the smallest batch.
        """
        if self.batch_size is None:
            return n_samples
        size = 200 if self.batch_size == "auto" else self.batch_size
        if self._batches_at_most_batch_size and n_samples > size:
            return n_samples // -(-n_samples // size)
        return n_samples // n_batches(n_samples, min(size, n_samples))

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

    def _resolve_optimizer(self, partial):
        """The optimizer object this call trains with."""
        return get_optimizer(self.optimizer)

    def _start(self, data, random_state, partial=False):
        """Create the training state of a first fit."""
        optimizer = self._resolve_optimizer(partial)
        optimizer._validate_params()
        X, y, sample_weight = _hook_data(data)
        params = self._init_params(X, y, random_state, sample_weight, optimizer)
        learning_rate, coef_scale = self._learning_rate(
            optimizer, X, y, sample_weight, data.n_samples
        )
        state = TrainingState(optimizer, params, learning_rate, random_state)
        state.scale_hint = coef_scale
        # The parameter the rate came from, to notice when the user changes it.
        state.learning_rate_param = self.learning_rate
        state.structure = self._structure()
        return params, state

    def _learning_rate(
        self, optimizer, X, y, sample_weight, n_samples=None, coef_scale=None
    ):
        """The base learning rate and the coefficients' scale it was made with.

        The rate is ``learning_rate``, or derived from the data. ``n_samples``
        is the number of training rows (default: all rows of ``X``), which
        sets the batch size. ``coef_scale``, if given, replaces the scale of the
        coefficients estimated from this data (see :meth:`_continue`).
        """
        if optimizer.full_batch:  # a line search sets the steps
            return 1.0, coef_scale
        if self.learning_rate != "auto":
            return float(self.learning_rate), coef_scale
        batch_size = self._smallest_batch(
            X.shape[0] if n_samples is None else n_samples
        )
        lipschitz, estimate = self._step_size_hints(X, y, sample_weight, batch_size)
        coef_scale = estimate if coef_scale is None else coef_scale
        rate = float(optimizer.auto_learning_rate(lipschitz, coef_scale))
        return self._cap_learning_rate(rate, optimizer, lipschitz), coef_scale

    def _decay_scale(self, state):
        """The unit of the weight decay's rate (``OptimizerState.decay_scale``).

        1: the decay uses the learning rate as it is. The linear models,
        whose automatic rate follows the units of the data, override it.
        """
        return 1.0

    def _cap_learning_rate(self, rate, optimizer, lipschitz):
        """The automatic rate, as the estimator may bound it further."""
        return rate

    def _continue(self, state, data, partial):
        """Prepare ``state`` (a copy of the last one) and its parameters.

        Training works on copies, so a call that fails leaves the fitted
        estimator exactly as it was. With ``learning_rate="auto"``, each
        ``partial_fit`` chunk may lower the rate: a chunk can hold rows
        larger than any seen before.
        """
        optimizer = self._resolve_optimizer(partial)
        optimizer._validate_params()
        fields = _hook_data(data)
        changed = not _same_hyperparameters(optimizer, state.optimizer_state.optimizer)
        if state.average is not None:
            params = state.params.copy()
        else:
            params = self._current_params()
        if changed:
            # A new update rule starts from fresh moments and step count.
            state.optimizer_state = OptimizerState(optimizer, [params])
        rate_changed = self.learning_rate != getattr(
            state, "learning_rate_param", self.learning_rate
        )
        if rate_changed or (changed and self.learning_rate == "auto"):
            # The user changed the learning rate between calls, or an
            # automatic one must be derived again for a new optimizer.
            rate, state.scale_hint = self._learning_rate(
                optimizer, *fields, data.n_samples
            )
            state.initial_learning_rate = state.learning_rate = rate
            state.learning_rate_param = self.learning_rate
        elif partial and self.learning_rate == "auto" and self._rate_follows_stream:
            # Only the curvature of a new chunk may lower the rate: the scale
            # of the coefficients stays the one it was made with, as a chunk's
            # spread of y is noisy (and 0 for a single row).
            rate, _ = self._learning_rate(
                optimizer,
                *fields,
                data.n_samples,
                coef_scale=getattr(state, "scale_hint", None),
            )
            state.initial_learning_rate = min(state.initial_learning_rate, rate)
            state.learning_rate = min(state.learning_rate, rate)
        return params

    def _average_start(self, state, n_samples, batch_size, partial):
        """The ``samples_seen`` count from which iterates are averaged (0: never)."""
        average = getattr(self, "average", False)
        if isinstance(average, str) and partial:
            # "auto" in a stream: every chunk is a sample of the data, so the
            # iterates are averaged across calls, from the second call on.
            return state.samples_seen + n_samples + 1 if not state.samples_seen else 1
        if isinstance(average, str):  # "auto": from the 2nd epoch of a fit
            state.average, state.n_averaged = None, 0
            if batch_size >= n_samples:
                return 0
            return state.samples_seen + n_samples + 1
        return 0 if average is False else int(average)

    def _loop_config(self, n_samples, schedule, state, partial):
        batch_size = self._smallest_batch(n_samples)
        return LoopConfig(
            schedule=schedule,
            batch_size=batch_size,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and not partial,
            average_start=self._average_start(state, n_samples, batch_size, partial),
            restart_average=isinstance(getattr(self, "average", False), str)
            and not partial,
            total_steps=self.max_iter * n_batches(n_samples, batch_size),
            verbose=self.verbose,
        )

    def _check_structure(self, partial):
        """Whether a previous fit can be continued; False means start afresh.

        A warm-started ``fit`` after a change of structure (such as
        ``fit_intercept``) starts from scratch; ``partial_fit`` refuses.
        """
        before = getattr(self._state, "structure", None)
        if before is None:  # saved before states recorded it
            before = self._fitted_structure()
        now = self._structure()
        if before is None or before == now:
            return True
        if partial:
            raise ValueError(
                f"partial_fit cannot continue the previous training: {before} "
                f"was changed to {now} since, which changes the model's "
                "parameters. Call fit to train the new model from scratch."
            )
        return False

    def _prepare(self, X, y, sample_weight, partial):
        """The starting parameters, the state and the training/validation data.

        With early stopping, the validation rows are picked first, so that
        nothing fitted before training (the offset, the starting intercept,
        the automatic learning rate) sees them: the hooks get sample weights
        that are 0 on those rows.
        """
        sample_weight = self._sample_weight(sample_weight, X)
        warm = hasattr(self, "_state") and (partial or self.warm_start)
        state = None
        if warm and self._check_structure(partial):
            state = self._state.for_next_call()
            random_state = state.random_state
        else:
            random_state = check_random_state(self.random_state)
        rows, validation, weight = None, None, sample_weight
        if self.early_stopping and not partial:
            rows, validation = self._split_validation(X, y, sample_weight, random_state)
            weight = np.zeros(X.shape[0], X.dtype)
            weight[rows] = 1 if sample_weight is None else sample_weight[rows]
        data = TrainingData(X, y, weight, rows)
        if state is None:
            params, state = self._start(data, random_state, partial)
        else:
            if partial:
                self._check_stream_scaling(data)
            params = self._continue(state, data, partial)
        return params, state, data, validation

    def _fit_gd(self, X, y, sample_weight, *, partial, init=None, callback_data=None):
        """Train on validated ``X, y``.

        ``partial`` runs a single epoch without the stopping rule; ``init``,
        if given, sets the starting parameters in place. ``callback_data``,
        if given, is the ``(y, sample_weight)`` that callbacks see in place
        of the training targets (a classifier passes the user's labels, not
        the indicator matrix it trains on).
        """
        if partial and self.early_stopping:
            # As SGDRegressor: a stream has no fixed held-out set.
            raise ValueError("early_stopping should be False with partial_fit.")
        params, state, data, validation = self._prepare(X, y, sample_weight, partial)
        state.loss_unit = self._loss_unit()
        if init is not None:
            init(params)
        config, model = self._configure(params, state, data, X.shape[1], partial)
        first_epoch = state.n_iter
        start = params.copy()  # to measure the remaining gradient against
        state.remaining = None
        if not partial:
            self._set_stopping_rule(config, model, data, start)
        if callback_data is None:
            callback_data = (y, sample_weight)
        reason = self._train(
            params, model, state, config, data, validation, partial, (X, *callback_data)
        )
        if self.verbose and not partial:
            print(self._stop_message(state, reason, first_epoch))
        if not partial and self.tol is not None and reason in (None, "stalled"):
            remaining = state.remaining
            if remaining is None:
                final = params if state.average is None else state.average
                remaining = self._remaining_gradient(model, data, start, final)
            self._warn_not_converged(remaining, reason)
        return self

    def _configure(self, params, state, data, n_features, partial):
        """The loop's configuration and the model of this call."""
        schedule = self._get_schedule()
        schedule._validate_params()
        config = self._loop_config(data.n_samples, schedule, state, partial)
        if not partial:
            state.reset_monitoring()
        model = self._build_model(params, n_features)
        state.optimizer_state.decay_index = model.decay_index
        state.optimizer_state.decay_scale = self._decay_scale(state)
        return config, model

    def _train(self, params, model, state, config, data, validation, partial, seen):
        """Run the epochs (or the solver's iterations), then set the fitted
        attributes; return why training stopped. A call that raises leaves
        ``state`` as it was. ``seen`` is the ``(X, y, sample_weight)`` that
        callbacks see."""
        first_epoch = state.n_iter
        max_epochs = 1 if partial else self.max_iter

        def fitted():
            current = params if state.average is None else state.average
            return fitted_attributes(self, type(self)._set_fitted, current.copy())

        solver = state.optimizer_state.optimizer.full_batch
        if solver:
            self._check_full_batch(partial, model)
            config.average_start, state.average = 0, None
        try:
            callbacks = start_callbacks(self, *seen, max_epochs, fitted)
            if solver:
                reason = train_full_batch(
                    model, state, data, max_epochs, self.tol, callbacks, self.verbose
                )
            else:
                reason = train(
                    model,
                    state,
                    config,
                    data,
                    validation,
                    max_epochs,
                    not partial,
                    callbacks,
                )
            polished = None
            if not (partial or solver or config.early_stopping):
                polished = self._polish(model, state, data, config)
            self._finish(state, params, config, partial, first_epoch, polished)
            if callbacks is not None:
                callbacks.end()
        except BaseException:
            state.rollback()
            raise
        return reason

    def _set_stopping_rule(self, config, model, data, start):
        """Switch ``config`` to the gradient rule where the estimator has one.

        The rule's pass over the training rows runs after every epoch of
        shuffled mini-batches, which gather rows from all over X and cost
        several in-order passes, and after every third epoch otherwise (a
        full batch, or batches in order, cost about one pass): at most about
        a third of the training time either way.
        """
        criterion = self._gradient_rule(model, data, start)
        if criterion is None:
            return
        config.criterion, config.criterion_tol = criterion, self.tol
        shuffled = config.shuffle and config.batch_size < data.n_samples
        config.check_every = 1 if shuffled else 3

    def _gradient_rule(self, model, data, start):
        """The criterion of the gradient rule for this fit, or None (the loss rule)."""
        return None

    def _remaining_gradient(self, model, data, start, final):
        """``|grad F(final)|**2`` relative to its reference, or None.

        Said by the warning of a fit that reached ``max_iter``. None where
        the estimator does not measure it (the networks: a full-data
        gradient would hold every row's activations at once).
        """
        return None

    def _check_full_batch(self, partial, model):
        """Refuse what a full-batch solver (``"lbfgs"``) cannot do."""
        name = type(self).__name__
        if partial:
            raise ValueError(
                f"{name}.partial_fit needs an optimizer that steps on each "
                "chunk; optimizer='lbfgs' minimises the objective on the whole "
                "training set. Use fit, or another optimizer."
            )
        if self.early_stopping:
            raise ValueError(
                "early_stopping is not available with optimizer='lbfgs', which "
                "trains on the whole training set without epochs to score. Set "
                "early_stopping=False, or use another optimizer."
            )
        if model.has_prox:
            raise ValueError(
                "optimizer='lbfgs' needs a differentiable objective, and the L1 "
                "part of the penalty is not: use penalty='l2' or None, or "
                "another optimizer."
            )

    def _warn_not_converged(self, remaining=None, reason=None):
        left = (
            ""
            if remaining is None
            else f": the norm of the objective's gradient is still "
            f"{remaining:.3g} times its value at the start"
        )
        if reason == "stalled":
            message = (
                f"The gradient rule (tol={self.tol}) was not met, and "
                f"{self.n_iter_no_change} epochs in a row lowered neither the "
                f"objective nor the gradient{left}. The iterates hover around "
                "the optimum at this step size: average the iterates "
                "(average=True or 'auto'), use larger batches, a schedule that "
                "lowers the rate (schedule='auto' or 'adaptive', down to a "
                "smaller min_learning_rate) or a smaller learning_rate, or set "
                "convergence='loss' to accept this point."
            )
        else:
            message = (
                f"Maximum number of epochs ({self.max_iter}) reached and the "
                f"optimization hasn't converged yet{left}. Increase max_iter, "
                "or tol, or the learning_rate."
            )
        warnings.warn(
            message,
            ConvergenceWarning,
            # The user's call, through fit, _fit_context, training_method
            # and _fit_gd.
            stacklevel=6,
        )

    def _polish(self, model, state, data, config):
        """The point a fit returns in place of its last iterate (or average), or
        None to return that one. The linear models take a proximal step here
        (see :meth:`skgd.linear._model._BaseLinear._polish`)."""
        return None

    def _finish(self, state, params, config, partial, first_epoch, polished=None):
        """Record the trained parameters (the best epoch's, with early stopping;
        ``polished`` in place of the last point, if given)."""
        final = params if state.average is None else state.average
        if polished is not None:
            final = polished
        if config.early_stopping and state.best_params is not None:
            # The snapshot is of what was scored: the average, if any.
            final = params[...] = state.best_params
            if state.average is not None:
                state.average[...] = final
        auto = isinstance(getattr(self, "average", False), str)
        if auto and not partial and final is not params:
            # average="auto" averages within a fit: the next call continues
            # from the average, the better point. A stream keeps averaging.
            params[...] = final
            state.average, state.n_averaged = None, 0
            final = params
        state.params = params
        self._state = state
        self._set_fitted(final)
        self._set_history(
            state, state.n_iter if partial else state.n_iter - first_epoch
        )

    def _stop_message(self, state, reason, first_epoch):
        best = (state.best_epoch - first_epoch, state.best_validation_score)
        epochs = state.n_iter - first_epoch
        return stop_message(
            reason,
            epochs,
            self.max_iter,
            self.early_stopping,
            best,
            getattr(state, "remaining", None),
            "iterations" if state.optimizer_state.optimizer.full_batch else "epochs",
        )

    def _set_history(self, state, n_iter):
        self.n_iter_ = n_iter
        self.t_ = state.t
        # The state's own list: copying the history would make every
        # partial_fit call slower than the one before. In another unit, a
        # list kept next to it, extended by the new epochs only.
        unit = self._loss_unit()
        curve = state.loss_curve
        if unit != 1.0:
            reported = getattr(state, "reported_curve", None)
            if reported is None or len(reported) > len(curve):
                reported = []
            reported.extend(unit * loss for loss in curve[len(reported) :])
            state.reported_curve = curve = reported
        self.loss_curve_ = curve
        self.loss_ = curve[-1]
        self.best_loss_ = unit * state.best_loss
        self.learning_rate_ = state.initial_learning_rate
        self.optimizer_ = state.optimizer_state.optimizer
        if self.early_stopping and state.validation_scores:
            self.validation_scores_ = list(state.validation_scores)
            self.best_validation_score_ = state.best_validation_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
