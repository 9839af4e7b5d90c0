"""Tests of skgd.plotting: the artists drawn, not the pixels."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, GDRegressor, MLPGDClassifier, MLPGDRegressor
from skgd.optimizers import Adam
from skgd.plotting import LossCurveDisplay, ScheduleDisplay, plot_schedule
from skgd.schedules import CosineAnnealing, StepDecay, get_schedule


@pytest.fixture
def plt():
    """matplotlib's pyplot on the Agg backend; closes every figure afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(
        n_samples=120, n_features=4, noise=5.0, random_state=0, bias=2.0
    )
    return StandardScaler().fit_transform(X), y / y.std()


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


# -- LossCurveDisplay.from_estimator ------------------------------------------


def test_from_estimator_draws_the_loss_curve(plt, data):
    reg = _fit(GDRegressor(optimizer="adam", max_iter=30, random_state=0), *data)
    display = LossCurveDisplay.from_estimator(reg)

    assert isinstance(display.line_, list) and len(display.line_) == 1
    line = display.line_[0]
    assert_array_equal(line.get_xdata(), np.arange(1, len(reg.loss_curve_) + 1))
    assert_allclose(line.get_ydata(), reg.loss_curve_)
    assert line.get_label() == "adam"
    assert display.ax_.get_lines() == display.line_
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Training loss"
    assert display.ax_.get_yscale() == "linear"
    assert _legend_texts(display.ax_) == ["adam"]
    assert display.validation_ax_ is None
    assert display.validation_line_ is None
    # The display stores the history it drew.
    assert display.loss_curves == [reg.loss_curve_]
    assert display.names == ["adam"]


def test_from_estimator_log_scale_name_and_given_axes(plt, data):
    reg = _fit(GDRegressor(max_iter=20, random_state=0), *data)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(
        reg, ax=ax, name="plain GD", log_scale=True, line_kwargs={"color": "red"}
    )
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert ax.get_yscale() == "log"
    assert display.line_[0].get_label() == "plain GD"
    assert display.line_[0].get_color() == "red"


def test_from_estimator_plots_validation_scores_on_a_twin_axis(plt, data):
    reg = _fit(
        GDRegressor(optimizer="adam", early_stopping=True, max_iter=50, random_state=0),
        *data,
    )
    assert len(reg.validation_scores_) > 0
    display = LossCurveDisplay.from_estimator(reg)

    twin = display.validation_ax_
    assert twin is not None and twin is not display.ax_
    assert twin.get_shared_x_axes().joined(twin, display.ax_)
    assert twin.get_ylabel() == "Validation score"
    assert len(display.validation_line_) == 1
    vline = display.validation_line_[0]
    assert vline in twin.get_lines()
    assert_array_equal(vline.get_xdata(), np.arange(1, len(reg.validation_scores_) + 1))
    assert_allclose(vline.get_ydata(), reg.validation_scores_)
    assert vline.get_linestyle() == "--"
    assert vline.get_color() == display.line_[0].get_color()
    assert _legend_texts(display.ax_) == ["adam", "adam, validation score"]
    # The loss axes (and its legend) is drawn above the twin axes.
    assert display.ax_.get_zorder() > twin.get_zorder()


def test_from_estimator_plot_validation_false(plt, data):
    reg = _fit(GDRegressor(early_stopping=True, max_iter=20, random_state=0), *data)
    display = LossCurveDisplay.from_estimator(reg, plot_validation=False)
    assert display.validation_ax_ is None
    assert display.validation_line_ is None
    assert len(display.figure_.axes) == 1


def test_from_estimator_without_early_stopping_has_no_twin_axis(plt, data):
    reg = _fit(GDRegressor(max_iter=20, random_state=0), *data)
    assert reg.validation_scores_ is None
    display = LossCurveDisplay.from_estimator(reg)
    assert display.validation_ax_ is None
    assert len(display.figure_.axes) == 1


def test_from_estimator_optimizer_object_label(plt, data):
    reg = _fit(GDRegressor(optimizer=Adam(beta_2=0.99), max_iter=5), *data)
    display = LossCurveDisplay.from_estimator(reg)
    assert display.line_[0].get_label() == "Adam(beta_2=0.99)"
    reg = _fit(GDRegressor(optimizer=Adam(), max_iter=5), *data)
    display = LossCurveDisplay.from_estimator(reg)
    assert display.line_[0].get_label() == "Adam"


def test_from_estimator_pipeline(plt, data):
    pipe = _fit(
        make_pipeline(StandardScaler(), GDRegressor(optimizer="rmsprop", max_iter=10)),
        *data,
    )
    display = LossCurveDisplay.from_estimator(pipe)
    assert display.line_[0].get_label() == "rmsprop"
    assert_allclose(display.line_[0].get_ydata(), pipe[-1].loss_curve_)


def test_from_estimator_mlp(plt):
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    clf = _fit(
        MLPGDClassifier((4,), early_stopping=True, max_iter=15, random_state=0), X, y
    )
    display = LossCurveDisplay.from_estimator(clf)
    assert display.line_[0].get_label() == "adam"
    assert_allclose(display.line_[0].get_ydata(), clf.loss_curve_)
    assert_allclose(display.validation_line_[0].get_ydata(), clf.validation_scores_)


@pytest.mark.parametrize("kind", ["GDClassifier", "MLPGDRegressor"])
def test_from_estimator_draws_the_newer_estimators(plt, data, kind):
    X, y = data
    if kind == "GDClassifier":
        est = GDClassifier(early_stopping=True, max_iter=15, random_state=0)
        y = y > 0
    else:
        est = MLPGDRegressor((4,), early_stopping=True, max_iter=15, random_state=0)
    _fit(est, X, y)
    display = LossCurveDisplay.from_estimator(est)
    assert_allclose(display.line_[0].get_ydata(), est.loss_curve_)
    assert_allclose(display.validation_line_[0].get_ydata(), est.validation_scores_)


def test_from_estimator_not_fitted(plt):
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(GDRegressor())
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimators([GDRegressor()])
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(make_pipeline(StandardScaler(), GDRegressor()))


def test_from_estimator_without_loss_curve(plt, data):
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(*data)
    with pytest.raises(ValueError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(reg)


# -- LossCurveDisplay.from_estimators -----------------------------------------


def test_from_estimators_overlays_curves_with_a_legend(plt, data):
    names = ["sgd", "momentum", "adam"]
    regs = [
        _fit(GDRegressor(optimizer=name, max_iter=25, random_state=0), *data)
        for name in names
    ]
    display = LossCurveDisplay.from_estimators(regs, log_scale=True)

    assert len(display.line_) == 3
    assert display.ax_.get_lines() == display.line_
    for line, reg in zip(display.line_, regs, strict=True):
        assert_array_equal(line.get_xdata(), np.arange(1, len(reg.loss_curve_) + 1))
        assert_allclose(line.get_ydata(), reg.loss_curve_)
    assert [line.get_label() for line in display.line_] == names
    assert _legend_texts(display.ax_) == names
    assert display.ax_.get_yscale() == "log"
    assert len({line.get_color() for line in display.line_}) == 3
    assert display.validation_ax_ is None


def test_from_estimators_explicit_names(plt, data):
    regs = [_fit(GDRegressor(max_iter=5), *data) for _ in range(2)]
    display = LossCurveDisplay.from_estimators(regs, names=["first", "second"])
    assert _legend_texts(display.ax_) == ["first", "second"]
    with pytest.raises(ValueError, match="one label per estimator"):
        LossCurveDisplay.from_estimators(regs, names=["only one"])


def test_from_estimators_disambiguates_identical_labels(plt, data):
    regs = [
        _fit(GDRegressor(optimizer="adam", learning_rate=lr, max_iter=5), *data)
        for lr in (0.01, 0.1)
    ]
    regs.append(_fit(GDRegressor(optimizer="sgd", max_iter=5), *data))
    regs.append(_fit(GDRegressor(optimizer="sgd", max_iter=5), *data))
    display = LossCurveDisplay.from_estimators(regs)
    assert _legend_texts(display.ax_) == [
        "adam (learning_rate=0.01)",
        "adam (learning_rate=0.1)",
        "sgd #1",
        "sgd #2",
    ]


def test_from_estimators_different_classes_same_optimizer(plt, data):
    X, y = data
    reg = _fit(GDRegressor(optimizer="adam", max_iter=5), X, y)
    clf = _fit(MLPGDClassifier((3,), max_iter=5, random_state=0), X, y > 0)
    labels = [
        line.get_label() for line in LossCurveDisplay.from_estimators([reg, clf]).line_
    ]
    assert len(set(labels)) == 2
    assert labels[0].startswith("adam (GDRegressor")
    assert labels[1].startswith("adam (MLPGDClassifier")


def test_from_estimators_with_validation(plt, data):
    with_val = _fit(
        GDRegressor(early_stopping=True, max_iter=20, random_state=0), *data
    )
    without = _fit(GDRegressor(optimizer="adam", max_iter=20, random_state=0), *data)
    display = LossCurveDisplay.from_estimators(
        [with_val, without], plot_validation=True
    )
    assert len(display.line_) == 2
    assert len(display.validation_line_) == 1
    assert_allclose(
        display.validation_line_[0].get_ydata(), with_val.validation_scores_
    )
    assert display.validation_line_[0].get_color() == display.line_[0].get_color()


def test_from_estimators_empty(plt):
    with pytest.raises(ValueError, match="at least one"):
        LossCurveDisplay.from_estimators([])


# -- LossCurveDisplay from recorded histories ---------------------------------


def test_display_from_one_curve(plt):
    display = LossCurveDisplay([3.0, 2.0, 1.5]).plot()
    assert len(display.line_) == 1
    assert_allclose(display.line_[0].get_ydata(), [3.0, 2.0, 1.5])
    assert_array_equal(display.line_[0].get_xdata(), [1, 2, 3])
    assert display.ax_.get_legend() is None


def test_display_curves_of_different_lengths_and_names_override(plt):
    display = LossCurveDisplay(
        [[3.0, 2.0], np.array([4.0, 2.0, 1.0])], names=["a", "b"]
    )
    display.plot(names=["x", None], line_kwargs=[{"color": "k"}, {"color": "g"}])
    assert [line.get_xdata().size for line in display.line_] == [2, 3]
    assert _legend_texts(display.ax_) == ["x"]
    assert [line.get_color() for line in display.line_] == ["k", "g"]


def test_display_single_curve_with_validation(plt):
    display = LossCurveDisplay([3.0, 2.0, 1.5], validation_scores=[0.2, 0.5, 0.6])
    display.plot()
    assert _legend_texts(display.ax_) == ["training loss", "validation score"]
    assert_allclose(display.validation_line_[0].get_ydata(), [0.2, 0.5, 0.6])


def test_display_replot_on_new_axes(plt):
    display = LossCurveDisplay([[1.0, 0.5], [2.0, 1.0]], names=["a", "b"]).plot()
    first_ax = display.ax_
    fig, ax = plt.subplots()
    display.plot(ax=ax, log_scale=True)
    assert display.ax_ is ax and display.ax_ is not first_ax
    assert display.figure_ is fig
    assert ax.get_yscale() == "log"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss_curves": []}, "nothing to plot"),
        ({"loss_curves": [[1.0], []]}, "non-empty"),
        ({"loss_curves": [[1.0], [2.0]], "names": ["a"]}, "one name per curve"),
        (
            {"loss_curves": [[1.0], [2.0]], "validation_scores": [[1.0]]},
            "one sequence",
        ),
    ],
)
def test_display_invalid_input(plt, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LossCurveDisplay(**kwargs).plot()


# -- schedules ----------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        "constant",
        "invscaling",
        "optimal",
        "inverse_time",
        "step",
        "exponential",
        "cosine",
        StepDecay(step_size=40, gamma=0.3),
        CosineAnnealing(warmup_steps=20, min_learning_rate=1e-3),
    ],
    ids=str,
)
def test_plot_schedule_data_equals_preview(plt, schedule):
    display = plot_schedule(schedule, 200, learning_rate=0.1)
    assert isinstance(display, ScheduleDisplay)
    expected = get_schedule(schedule).preview(200, learning_rate=0.1)
    assert_allclose(display.line_.get_ydata(), expected)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, 201))
    assert display.ax_.get_xlabel() == "Update"
    assert display.ax_.get_ylabel() == "Learning rate"
    label = schedule if isinstance(schedule, str) else display.line_.get_label()
    assert _legend_texts(display.ax_) == [label]


def test_plot_schedule_overlays_on_one_axes_with_labels(plt):
    fig, ax = plt.subplots()
    plot_schedule("constant", 50, ax=ax)
    plot_schedule(StepDecay(step_size=10), 50, ax=ax, label="halve every 10")
    display = plot_schedule("exponential", 50, ax=ax, log_scale=True)
    assert len(ax.get_lines()) == 3
    assert _legend_texts(ax) == ["constant", "halve every 10", "exponential"]
    assert display.ax_ is ax and display.figure_ is fig
    assert ax.get_yscale() == "log"


def test_plot_schedule_object_label_is_its_repr(plt):
    display = plot_schedule(StepDecay(step_size=10), 30)
    assert display.line_.get_label() == "StepDecay(step_size=10)"
    display = plot_schedule(StepDecay(), 30)
    assert display.line_.get_label() == "StepDecay"


def test_schedule_display_direct(plt):
    display = ScheduleDisplay([0.1, 0.05, 0.025]).plot()
    assert_allclose(display.line_.get_ydata(), [0.1, 0.05, 0.025])
    assert display.ax_.get_legend() is None


def test_plot_schedule_invalid(plt):
    with pytest.raises(ValueError, match="Unknown schedule"):
        plot_schedule("nope", 10)
    with pytest.raises(ValueError, match="at least 1"):
        plot_schedule("constant", 0)
    with pytest.raises(TypeError, match="integer"):
        plot_schedule("constant", 2.5)
    with pytest.raises(ValueError):
        plot_schedule(StepDecay(gamma=2.0), 10)


# -- layout -------------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda: LossCurveDisplay([[3.0, 2.0, 1.0]], names=["a"]).plot(log_scale=True),
        lambda: LossCurveDisplay([3.0, 2.0], validation_scores=[0.1, 0.2]).plot(),
        lambda: plot_schedule("exponential", 1000, learning_rate=1e-3),
    ],
    ids=["loss", "loss and validation", "schedule"],
)
def test_new_figures_keep_their_labels_inside(plt, draw):
    display = draw()
    fig = display.figure_
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        assert box.x0 >= 0 and box.y0 >= 0
        assert box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1


def test_given_axes_keep_their_figure_layout(plt):
    fig, ax = plt.subplots()
    LossCurveDisplay([1.0, 0.5]).plot(ax=ax)
    assert fig.get_layout_engine() is None


# -- matplotlib stays optional ------------------------------------------------


def test_import_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "import skgd, skgd.plotting\n"
        "from skgd.plotting import LossCurveDisplay, plot_schedule\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "draw",
    [
        lambda reg: LossCurveDisplay.from_estimator(reg),
        lambda reg: LossCurveDisplay.from_estimators([reg]),
        lambda reg: LossCurveDisplay([1.0, 0.5]).plot(),
        lambda reg: plot_schedule("constant", 10),
        lambda reg: ScheduleDisplay([0.1, 0.1]).plot(),
    ],
)
def test_missing_matplotlib_names_the_extra(monkeypatch, data, draw):
    reg = _fit(GDRegressor(max_iter=2), *data)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "skgd\[plot\]"'):
        draw(reg)
