"""Plots of training histories and learning-rate schedules.

:class:`LossCurveDisplay` draws the training objective of fitted estimators
epoch by epoch (and, with early stopping, their validation scores), and
:func:`plot_schedule` (or :class:`ScheduleDisplay`) draws how a schedule
changes the learning rate over the updates. Both follow scikit-learn's
visualisation API: a display object stores the data, its ``plot`` method
draws it and returns the display, whose ``ax_``, ``figure_`` and ``line_``
attributes give access to what was drawn.

matplotlib is an optional dependency, imported only when something is
drawn: ``import skgd.plotting`` works without it. Install it with
``pip install "skgd[plot]"``.
"""

from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .schedules import get_schedule

__all__ = ["LossCurveDisplay", "ScheduleDisplay", "plot_schedule"]


def _pyplot(caller):
    """Return ``matplotlib.pyplot``, or raise an ImportError naming the extra."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install "
            'skgd with its "plot" extra: pip install "skgd[plot]" (or install '
            "matplotlib itself)."
        ) from exc
    return plt


def _new_axes(ax, plt):
    """``ax``, or the axes of a new figure whose layout keeps the labels inside."""
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    return ax


def _compact_repr(obj):
    """``repr(obj)`` on one line; a bare class name when no parameter changed."""
    text = " ".join(repr(obj).split())
    if text == f"{type(obj).__name__}()":
        return type(obj).__name__
    return text


def _has_label(line):
    label = line.get_label()
    return bool(label) and not label.startswith("_")


def _line_kwargs(line_kwargs, n_lines):
    """One dict of keyword arguments per line."""
    if line_kwargs is None:
        return [{} for _ in range(n_lines)]
    if isinstance(line_kwargs, dict):
        return [dict(line_kwargs) for _ in range(n_lines)]
    line_kwargs = list(line_kwargs)
    if len(line_kwargs) != n_lines:
        raise ValueError(
            f"line_kwargs has {len(line_kwargs)} entries for {n_lines} curve(s); "
            "pass one dict for all curves or one dict per curve."
        )
    return [dict(kwargs or {}) for kwargs in line_kwargs]


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# -- loss curves --------------------------------------------------------------


def _is_single_curve(values):
    """Whether ``values`` is one curve (a flat sequence of numbers)."""
    if isinstance(values, np.ndarray):
        return values.ndim <= 1
    values = list(values)
    return len(values) > 0 and all(v is not None and np.ndim(v) == 0 for v in values)


def _as_curve(values, what):
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(
            f"Each {what} must be a non-empty 1d sequence of numbers, got an "
            f"array of shape {curve.shape}."
        )
    return curve


def _as_curves(loss_curves):
    if _is_single_curve(loss_curves):
        return [_as_curve(loss_curves, "loss curve")]
    curves = [_as_curve(curve, "loss curve") for curve in loss_curves]
    if not curves:
        raise ValueError("loss_curves is empty: there is nothing to plot.")
    return curves


def _as_validation(validation_scores, n_curves):
    if validation_scores is None or (
        not isinstance(validation_scores, np.ndarray) and not list(validation_scores)
    ):
        return [None] * n_curves
    if n_curves == 1 and _is_single_curve(validation_scores):
        if np.size(validation_scores) == 0:
            return [None]
        return [_as_curve(validation_scores, "validation curve")]
    scores = list(validation_scores)
    if len(scores) != n_curves:
        raise ValueError(
            f"validation_scores has {len(scores)} entries for {n_curves} loss "
            "curve(s); pass one sequence (or None) per loss curve."
        )
    return [
        None if s is None or np.size(s) == 0 else _as_curve(s, "validation curve")
        for s in scores
    ]


def _as_names(names, n_curves):
    if names is None:
        return [None] * n_curves
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if len(names) != n_curves:
        raise ValueError(
            f"Got {len(names)} name(s) for {n_curves} curve(s); pass one name "
            "per curve."
        )
    return [None if name is None else str(name) for name in names]


def _final_estimator(estimator):
    """The estimator whose history is plotted (the last step of a pipeline)."""
    if isinstance(estimator, Pipeline):
        return estimator[-1]
    return estimator


def _history(estimator):
    """Return ``(loss_curve_, validation_scores_ or None)`` of a fitted estimator."""
    estimator = _final_estimator(estimator)
    check_is_fitted(estimator)
    curve = getattr(estimator, "loss_curve_", None)
    if curve is None:
        raise ValueError(
            f"{type(estimator).__name__} has no loss_curve_ attribute: "
            "LossCurveDisplay plots the training history of estimators that "
            "record one, such as skgd.GDRegressor and skgd.MLPGDClassifier."
        )
    scores = getattr(estimator, "validation_scores_", None)
    scores = list(scores) if scores is not None and len(scores) else None
    return list(curve), scores


def _estimator_label(estimator):
    """A short legend label: the optimizer's name, or the class name."""
    estimator = _final_estimator(estimator)
    optimizer = getattr(estimator, "optimizer", None)
    if isinstance(optimizer, str):
        return optimizer
    if optimizer is not None and hasattr(optimizer, "get_params"):
        return _compact_repr(optimizer)
    return type(estimator).__name__


def _settings(estimator):
    """The class and parameters of ``estimator`` as short strings."""
    estimator = _final_estimator(estimator)
    settings = {"": type(estimator).__name__}
    if hasattr(estimator, "get_params"):
        for key, value in estimator.get_params(deep=False).items():
            settings[key] = f"{key}={' '.join(repr(value).split())}"
    return settings


def _default_names(estimators):
    """Legend labels of ``estimators``, made unique by the settings that differ."""
    names = [_estimator_label(est) for est in estimators]
    for label in set(names):
        group = [i for i, name in enumerate(names) if name == label]
        if len(group) < 2:
            continue
        settings = [_settings(estimators[i]) for i in group]
        keys = list(dict.fromkeys(key for s in settings for key in s))
        varying = [k for k in keys if len({s.get(k) for s in settings}) > 1]
        for i, s in zip(group, settings, strict=True):
            detail = ", ".join(s[k] for k in varying if k in s)
            if detail:
                names[i] = f"{label} ({detail})"
    # Identical settings still give identical labels: number them.
    counts, seen = Counter(names), Counter()
    for i, name in enumerate(names):
        if counts[name] > 1:
            seen[name] += 1
            names[i] = f"{name} #{seen[name]}"
    return names


def _draw_loss_curves(
    ax, curves, labels, kwargs_list, validation, draw_validation, log_scale
):
    """Draw each loss curve against its epochs on ``ax``; return the lines.

    A curve without a label is called "training loss" when its validation
    curve is drawn too, so that the legend tells the two apart.
    """
    lines = []
    for curve, label, kwargs, scores in zip(
        curves, labels, kwargs_list, validation, strict=True
    ):
        if label is None and draw_validation and scores is not None:
            label = "training loss"
        if label is not None:
            kwargs.setdefault("label", label)
        (line,) = ax.plot(np.arange(1, curve.size + 1), curve, **kwargs)
        lines.append(line)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Training loss")
    if log_scale:
        ax.set_yscale("log")
    _integer_epochs(ax)
    return lines


def _draw_validation_curves(ax, lines, labels, validation):
    """Draw the validation scores on a twin y-axis of ``ax``.

    Each validation curve is dashed, in the colour of its loss curve
    (``lines``). Returns the twin axes and the validation lines.
    """
    validation_ax = ax.twinx()
    validation_lines = []
    for line, label, scores in zip(lines, labels, validation, strict=True):
        if scores is None:
            continue
        (vline,) = validation_ax.plot(
            np.arange(1, scores.size + 1),
            scores,
            linestyle="--",
            color=line.get_color(),
            label=(
                "validation score" if label is None else f"{label}, validation score"
            ),
        )
        validation_lines.append(vline)
    validation_ax.set_ylabel("Validation score")
    # Keep ax_ (and so its legend) on top of the twin axes, which
    # takes over the background.
    validation_ax.patch.set_visible(True)
    validation_ax.patch.set_facecolor(ax.get_facecolor())
    validation_ax.set_zorder(ax.get_zorder() - 1)
    ax.patch.set_visible(False)
    return validation_ax, validation_lines


def _add_legend(ax, lines, draw_validation):
    """Add a legend of the labelled ``lines`` to ``ax``, if any is labelled."""
    handles = [line for line in lines if _has_label(line)]
    if handles:
        # "best" would only avoid the lines of ax_, not those of the twin
        # axes; losses fall and scores rise, so their curves tend to
        # leave the middle of the right-hand side free.
        ax.legend(handles=handles, loc="center right" if draw_validation else None)


def _histories(estimators):
    """The ``(loss_curve_, validation_scores_)`` of each of ``estimators``."""
    if not estimators:
        raise ValueError("from_estimators needs at least one estimator.")
    return [_history(est) for est in estimators]


def _estimator_names(estimators, names):
    """One legend label per estimator: ``names``, checked, or the defaults."""
    if names is None:
        return _default_names(estimators)
    if isinstance(names, str) or len(names) != len(estimators):
        raise ValueError(
            f"names must hold one label per estimator ({len(estimators)})."
        )
    return names


class LossCurveDisplay:
    """Training loss of one or several estimators against the epochs.

    Each loss curve is drawn against the epoch number, starting at 1. When
    validation scores are given (the ``validation_scores_`` that skgd
    estimators record with ``early_stopping=True``), they are drawn as dashed
    lines of the same colour on a second y-axis, on the right.

    Use :meth:`from_estimator` or :meth:`from_estimators` to plot fitted
    estimators; create the display directly to plot recorded histories. All
    parameters are stored as attributes.

    Parameters
    ----------
    loss_curves : array-like of shape (n_epochs,) or list of array-like
        One loss curve (a sequence of numbers), or a list of curves, which
        may have different lengths.
    validation_scores : array-like or list of (array-like or None), \
            default=None
        The validation score of each epoch: for one loss curve, a sequence of
        numbers; for several, a list with one sequence, or ``None``, per
        loss curve. ``None`` draws no validation curve.
    names : str or list of (str or None), default=None
        The legend label of each loss curve; ``None`` leaves a curve out of
        the legend.

    Attributes
    ----------
    line_ : list of matplotlib.lines.Line2D
        The loss curves, one line per curve (a list even for one curve).
    validation_line_ : list of matplotlib.lines.Line2D or None
        The validation curves, one line per loss curve that has validation
        scores, or ``None`` when none was drawn.
    ax_ : matplotlib.axes.Axes
        The axes of the loss curves.
    validation_ax_ : matplotlib.axes.Axes or None
        The twin axes of the validation curves (sharing the x-axis of
        ``ax_``), or ``None`` when none was drawn.
    figure_ : matplotlib.figure.Figure
        The figure holding the axes.

    See Also
    --------
    plot_schedule : Plot a learning-rate schedule over the updates.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw off-screen
    >>> import matplotlib.pyplot as plt
    >>> from skgd.plotting import LossCurveDisplay
    >>> display = LossCurveDisplay(
    ...     [[1.0, 0.5, 0.3, 0.25], [1.0, 0.8, 0.7]], names=["fast", "slow"]
    ... ).plot(log_scale=True)
    >>> len(display.line_)
    2
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['fast', 'slow']
    >>> plt.close(display.figure_)
    """

    def __init__(self, loss_curves, validation_scores=None, names=None):
        self.loss_curves = loss_curves
        self.validation_scores = validation_scores
        self.names = names

    def plot(
        self,
        ax=None,
        *,
        names=None,
        log_scale=False,
        plot_validation=True,
        line_kwargs=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; when ``None``, a new figure with a constrained layout.
        names : str or list of (str or None), default=None
            Legend labels overriding the display's ``names``.
        log_scale : bool, default=False
            Draw the losses on a logarithmic y-axis.
        plot_validation : bool, default=True
            Draw the validation scores, when there are any, on a twin y-axis.
        line_kwargs : dict or list of dict, default=None
            Keyword arguments passed to ``Axes.plot`` for every loss curve
            (one dict), or for each curve (one dict per curve).

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``ax_``, ``figure_``, ``line_``,
            ``validation_ax_`` and ``validation_line_`` set.
        """
        plt = _pyplot(f"{type(self).__name__}.plot")
        curves = _as_curves(self.loss_curves)
        validation = _as_validation(self.validation_scores, len(curves))
        labels = _as_names(self.names if names is None else names, len(curves))
        kwargs_list = _line_kwargs(line_kwargs, len(curves))
        draw_validation = plot_validation and any(v is not None for v in validation)

        ax = _new_axes(ax, plt)
        lines = _draw_loss_curves(
            ax, curves, labels, kwargs_list, validation, draw_validation, log_scale
        )
        validation_ax, validation_lines = None, None
        if draw_validation:
            validation_ax, validation_lines = _draw_validation_curves(
                ax, lines, labels, validation
            )
        _add_legend(ax, lines + (validation_lines or []), draw_validation)

        self.ax_ = ax
        self.figure_ = ax.figure
        self.line_ = lines
        self.validation_ax_ = validation_ax
        self.validation_line_ = validation_lines
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name=None,
        log_scale=False,
        plot_validation=True,
        line_kwargs=None,
    ):
        """Plot the loss curve of a fitted estimator.

        Draws ``estimator.loss_curve_`` and, when ``plot_validation`` is on
        and the estimator was fitted with early stopping (its
        ``validation_scores_`` is a non-empty list), the validation scores
        on a twin y-axis.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted estimator with a ``loss_curve_`` attribute, such as
            :class:`skgd.GDRegressor`, or a pipeline ending in one.
        ax : matplotlib.axes.Axes, default=None
            Where to draw; when ``None``, a new figure with a constrained layout.
        name : str, default=None
            The legend label. ``None`` uses the estimator's ``optimizer`` when
            it is a string (``"adam"``), the optimizer's repr when it is an
            object (``"Adam(beta_2=0.99)"``), and else the class name.
        log_scale : bool, default=False
            Draw the losses on a logarithmic y-axis.
        plot_validation : bool, default=True
            Draw the validation scores, if the estimator recorded any.
        line_kwargs : dict, default=None
            Keyword arguments passed to ``Axes.plot`` for the loss curve.

        Returns
        -------
        display : LossCurveDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")  # draw off-screen
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import make_regression
        >>> from skgd import GDRegressor
        >>> from skgd.plotting import LossCurveDisplay
        >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
        >>> reg = GDRegressor(optimizer="adam", early_stopping=True, random_state=0)
        >>> display = LossCurveDisplay.from_estimator(reg.fit(X, y), log_scale=True)
        >>> display.line_[0].get_label()
        'adam'
        >>> display.validation_ax_.get_ylabel()
        'Validation score'
        >>> plt.close(display.figure_)
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        history = _history(estimator)
        if name is None:
            name = _estimator_label(estimator)
        return cls._from_histories(
            [history], [name], ax, log_scale, plot_validation, line_kwargs
        )

    @classmethod
    def from_estimators(
        cls,
        estimators,
        *,
        names=None,
        ax=None,
        log_scale=False,
        plot_validation=False,
        line_kwargs=None,
    ):
        """Overlay the loss curves of several fitted estimators.

        Parameters
        ----------
        estimators : list of estimators or Pipelines
            Fitted estimators with a ``loss_curve_`` attribute.
        names : list of str, default=None
            One legend label per estimator. ``None`` labels each estimator
            by its optimizer (``"adam"``, or the repr of an optimizer object),
            or by its class name when it has none; estimators that would get
            the same label are told apart by the parameters in which they
            differ, e.g. ``"adam (learning_rate=0.1)"``.
        ax : matplotlib.axes.Axes, default=None
            Where to draw; when ``None``, a new figure with a constrained layout.
        log_scale : bool, default=False
            Draw the losses on a logarithmic y-axis.
        plot_validation : bool, default=False
            Also draw the validation scores of the estimators that recorded
            them, on a twin y-axis.
        line_kwargs : dict or list of dict, default=None
            Keyword arguments passed to ``Axes.plot`` for every curve (one
            dict), or for each curve (one dict per estimator).

        Returns
        -------
        display : LossCurveDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If one of the estimators is not fitted.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")  # draw off-screen
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import make_regression
        >>> from skgd import GDRegressor
        >>> from skgd.plotting import LossCurveDisplay
        >>> X, y = make_regression(n_samples=1000, n_features=5, random_state=0)
        >>> regs = [
        ...     GDRegressor(optimizer=name, random_state=0).fit(X, y)
        ...     for name in ["sgd", "adam"]
        ... ]
        >>> display = LossCurveDisplay.from_estimators(regs, log_scale=True)
        >>> [line.get_label() for line in display.line_]
        ['sgd', 'adam']
        >>> plt.close(display.figure_)
        """
        _pyplot(f"{cls.__name__}.from_estimators")
        estimators = list(estimators)
        histories = _histories(estimators)
        names = _estimator_names(estimators, names)
        return cls._from_histories(
            histories, names, ax, log_scale, plot_validation, line_kwargs
        )

    @classmethod
    def _from_histories(
        cls, histories, names, ax, log_scale, plot_validation, line_kwargs
    ):
        """Plot ``(loss_curve, validation_scores)`` pairs with their ``names``."""
        display = cls(
            loss_curves=[curve for curve, _ in histories],
            validation_scores=[scores for _, scores in histories],
            names=list(names),
        )
        return display.plot(
            ax=ax,
            log_scale=log_scale,
            plot_validation=plot_validation,
            line_kwargs=line_kwargs,
        )


# -- schedules ----------------------------------------------------------------


class ScheduleDisplay:
    """The learning rate of each update under a schedule.

    The rate of the ``k``-th update (``k`` from 1) is drawn at ``x = k``.
    Use :meth:`from_schedule` or :func:`plot_schedule` to compute the rates
    with :meth:`skgd.schedules.Schedule.preview`. Drawing several displays
    on the same axes overlays the schedules, with a legend of their names.

    Parameters
    ----------
    learning_rates : array-like of shape (n_steps,)
        The learning rate of each update.
    name : str, default=None
        The legend label; ``None`` draws no legend entry.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The schedule's curve.
    ax_ : matplotlib.axes.Axes
        The axes the curve was drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding the axes.

    See Also
    --------
    plot_schedule : Plot a schedule given as an object or a name.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw off-screen
    >>> import matplotlib.pyplot as plt
    >>> from skgd.plotting import ScheduleDisplay
    >>> display = ScheduleDisplay.from_schedule("step", 3000, learning_rate=0.1)
    >>> display.line_.get_ydata()[[0, 999, 1000, 2999]]
    array([0.1  , 0.1  , 0.05 , 0.025])
    >>> plt.close(display.figure_)
    """

    def __init__(self, learning_rates, name=None):
        self.learning_rates = learning_rates
        self.name = name

    def plot(self, ax=None, *, name=None, log_scale=False, line_kwargs=None):
        """Draw the learning rates.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; when ``None``, a new figure with a constrained layout.
        name : str, default=None
            A legend label overriding the display's ``name``.
        log_scale : bool, default=False
            Draw the learning rates on a logarithmic y-axis.
        line_kwargs : dict, default=None
            Keyword arguments passed to ``Axes.plot``.

        Returns
        -------
        display : ScheduleDisplay
            The display, with ``ax_``, ``figure_`` and ``line_`` set.
        """
        plt = _pyplot(f"{type(self).__name__}.plot")
        rates = _as_curve(self.learning_rates, "learning-rate sequence")
        name = self.name if name is None else name
        kwargs = dict(line_kwargs or {})
        if name is not None:
            kwargs.setdefault("label", str(name))
        ax = _new_axes(ax, plt)
        (line,) = ax.plot(np.arange(1, rates.size + 1), rates, **kwargs)
        ax.set_xlabel("Update")
        ax.set_ylabel("Learning rate")
        if log_scale:
            ax.set_yscale("log")
        _integer_epochs(ax)
        if any(_has_label(other) for other in ax.get_lines()):
            ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        self.line_ = line
        return self

    @classmethod
    def from_schedule(
        cls,
        schedule,
        n_steps,
        *,
        learning_rate=0.01,
        ax=None,
        name=None,
        log_scale=False,
        line_kwargs=None,
    ):
        """Plot the learning rates a schedule gives the first ``n_steps`` updates.

        Parameters
        ----------
        schedule : str or Schedule
            A schedule object or a name from
            :func:`skgd.schedules.available_schedules`.
        n_steps : int
            How many updates to draw; schedules that decay to the end of
            training (cosine annealing without ``decay_steps``) decay over
            this many updates.
        learning_rate : float, default=0.01
            The base learning rate (ignored by the ``"optimal"`` schedule).
        ax : matplotlib.axes.Axes, default=None
            Where to draw; when ``None``, a new figure with a constrained layout.
        name : str, default=None
            The legend label. ``None`` uses the schedule's name when it is
            given as a string, and else its repr, e.g.
            ``"StepDecay(step_size=100)"``.
        log_scale : bool, default=False
            Draw the learning rates on a logarithmic y-axis.
        line_kwargs : dict, default=None
            Keyword arguments passed to ``Axes.plot``.

        Returns
        -------
        display : ScheduleDisplay
        """
        _pyplot(f"{cls.__name__}.from_schedule")
        if not isinstance(n_steps, Integral) or isinstance(n_steps, bool):
            raise TypeError(f"n_steps must be an integer, got {n_steps!r}.")
        if n_steps < 1:
            raise ValueError(f"n_steps must be at least 1, got {n_steps}.")
        resolved = get_schedule(schedule)
        resolved._validate_params()
        if name is None:
            name = schedule if isinstance(schedule, str) else _compact_repr(schedule)
        rates = resolved.preview(int(n_steps), learning_rate=learning_rate)
        return cls(rates, name=name).plot(
            ax=ax, log_scale=log_scale, line_kwargs=line_kwargs
        )


def plot_schedule(
    schedule, n_steps, *, learning_rate=0.01, ax=None, label=None, log_scale=False
):
    """Plot the learning rate a schedule gives each of the first updates.

    The rates are those of :meth:`skgd.schedules.Schedule.preview`; the rate
    of the ``k``-th update (``k`` from 1) is drawn at ``x = k``. Calling the
    function again with the same ``ax`` overlays another schedule.

    Parameters
    ----------
    schedule : str or Schedule
        A schedule object or a name from
        :func:`skgd.schedules.available_schedules`.
    n_steps : int
        How many updates to draw.
    learning_rate : float, default=0.01
        The base learning rate (ignored by the ``"optimal"`` schedule).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; when ``None``, a new figure with a constrained layout.
    label : str, default=None
        The legend label; ``None`` uses the schedule's name or repr.
    log_scale : bool, default=False
        Draw the learning rates on a logarithmic y-axis.

    Returns
    -------
    display : ScheduleDisplay
        Its ``line_`` is the curve drawn, ``ax_`` and ``figure_`` where.

    See Also
    --------
    ScheduleDisplay : The display this function creates.
    skgd.schedules.Schedule.preview : The learning rates drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw off-screen
    >>> import matplotlib.pyplot as plt
    >>> from skgd.plotting import plot_schedule
    >>> from skgd.schedules import CosineAnnealing
    >>> fig, ax = plt.subplots()
    >>> display = plot_schedule("invscaling", 500, learning_rate=0.1, ax=ax)
    >>> display = plot_schedule(CosineAnnealing(warmup_steps=50), 500, ax=ax)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['invscaling', 'CosineAnnealing(warmup_steps=50)']
    >>> plt.close(fig)
    """
    return ScheduleDisplay.from_schedule(
        schedule,
        n_steps,
        learning_rate=learning_rate,
        ax=ax,
        name=label,
        log_scale=log_scale,
    )
