"""scikit-learn's callback API (``sklearn.callback``), where it exists.

scikit-learn 1.9 lets a user attach callbacks such as ``ProgressBar`` or
``ScoringMonitor`` with ``est.set_callbacks(...)``. skgd reports each epoch as
a sub-task of the fit task, so a progress bar advances once per epoch, also
inside a ``Pipeline`` or ``GridSearchCV``. On older scikit-learn versions the
mix-in is an empty class and training runs without callbacks.
"""

import copy

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9: no callback API

    class CallbackSupportMixin:
        """Stand-in for scikit-learn's mix-in: no callbacks are supported."""


class EpochCallbacks:
    """Reports the epochs of one ``fit`` or ``partial_fit`` call to callbacks.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted.
    context : sklearn.callback.CallbackContext
        The root context of the fit task.
    data : dict
        ``X``, ``y`` and ``metadata`` passed to every hook.
    fitted : callable
        Returns the fitted attributes of the current parameters, so a callback
        that asks for a ``fitted_estimator`` (such as ``ScoringMonitor``) gets
        one ready to predict. Only called when a callback needs it.
    """

    def __init__(self, estimator, context, data, fitted):
        self.estimator = estimator
        self.context = context
        self.data = data
        self.fitted = fitted
        self._epoch = None

    def epoch_begin(self):
        self._epoch = self.context.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(estimator=self.estimator, **self.data)

    def epoch_end(self):
        """End the epoch's task; return True if a callback asks to stop."""
        return self._epoch.call_on_fit_task_end(
            estimator=self.estimator,
            reconstruction_attributes=self.fitted,
            **self.data,
        )

    def end(self):
        self.context.call_on_fit_task_end(
            estimator=self.estimator,
            reconstruction_attributes=self.fitted,
            **self.data,
        )


def start_callbacks(estimator, X, y, sample_weight, max_epochs, fitted):
    """Open the fit task for the estimator's callbacks, or return None."""
    if not hasattr(estimator, "_init_callback_context"):
        return None
    context = estimator._init_callback_context(max_subtasks=max_epochs)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    data = {"X": X, "y": y, "metadata": metadata}
    context.call_on_fit_task_begin(estimator=estimator, **data)
    return EpochCallbacks(estimator, context, data, fitted)


def fitted_attributes(estimator, set_fitted, params):
    """The public fitted attributes ``set_fitted(params)`` would give ``estimator``."""
    twin = copy.copy(estimator)
    set_fitted(twin, params)
    return {
        name: value
        for name, value in vars(twin).items()
        if name.endswith("_") and not name.startswith("_")
    }
