"""Epochs reported through scikit-learn's callback API."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, GDRegressor

callback = pytest.importorskip("sklearn.callback")


class Recorder:
    """Records every hook call as (hook, task name, task id)."""

    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after
        self.scores = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, context.task_id))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, context.task_id))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, **kwargs):
        self.events.append(("end", context.task_name, context.task_id))
        fitted = kwargs.get("fitted_estimator")
        if fitted is not None and context.task_name == "epoch":
            self.scores.append(fitted.score(X, y))
        return self.stop_after is not None and context.task_id + 1 >= self.stop_after


class ScoringRecorder(Recorder):
    def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator):
        return super().on_fit_task_end(
            estimator, context, X=X, y=y, fitted_estimator=fitted_estimator
        )


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 4))
    return X, X @ [1.0, -2.0, 3.0, 0.5] + 0.1 * rng.normal(size=1000)


def test_every_epoch_is_reported_in_order(data):
    X, y = data
    recorder = Recorder()
    reg = GDRegressor(max_iter=4, tol=None).set_callbacks(recorder)
    reg.fit(X, y)
    epochs = [(hook, i) for hook, name, i in recorder.events if name == "epoch"]
    assert epochs == [(hook, i) for i in range(4) for hook in ("begin", "end")]
    assert recorder.events[0] == ("setup", "fit", 0)
    assert recorder.events[1] == ("begin", "fit", 0)
    assert recorder.events[-2] == ("end", "fit", 0)
    assert recorder.events[-1] == ("teardown", "fit", 0)


def test_a_callback_can_stop_training(data):
    X, y = data
    reg = GDRegressor(max_iter=50, tol=None).set_callbacks(Recorder(stop_after=3))
    reg.fit(X, y)
    assert reg.n_iter_ == 3


def test_fitted_estimator_reflects_each_epoch(data):
    X, y = data
    recorder = ScoringRecorder()
    reg = GDRegressor(max_iter=5, tol=None, learning_rate=0.01, random_state=0)
    reg.set_callbacks(recorder).fit(X, y)
    assert len(recorder.scores) == 5
    assert recorder.scores == sorted(recorder.scores)  # improving every epoch
    assert recorder.scores[-1] == pytest.approx(reg.score(X, y))


def test_partial_fit_reports_one_epoch(data):
    X, y = data
    recorder = Recorder()
    GDRegressor().set_callbacks(recorder).partial_fit(X, y)
    assert [e for e in recorder.events if e[1] == "epoch"] == [
        ("begin", "epoch", 0),
        ("end", "epoch", 0),
    ]


def test_scoring_monitor_logs_every_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="r2")
    reg = GDRegressor(max_iter=3, tol=None).set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs()
    epoch_rows = [row for row in log.data if row["task_name"] == "epoch"]
    assert len(epoch_rows) == reg.n_iter_ == 3
    assert epoch_rows[-1]["r2"] == pytest.approx(reg.score(X, y))


def test_progress_bar_inside_a_grid_search(data):
    pytest.importorskip("rich")
    X, y = data
    pipe = make_pipeline(StandardScaler(), GDRegressor(max_iter=3, tol=None))
    grid = GridSearchCV(pipe, {"gdregressor__learning_rate": [0.01, 0.1]}, cv=2)
    grid.set_callbacks(callback.ProgressBar())
    grid.fit(X, y)
    assert grid.best_estimator_[-1].n_iter_ == 3


def test_without_the_callback_api_skgd_still_works():
    # Hide sklearn.callback from skgd, as on scikit-learn < 1.9 (scikit-learn
    # 1.9 itself needs it, so its modules are imported first).
    code = textwrap.dedent(
        """
        import sys
        import sklearn.base, sklearn.metrics, sklearn.model_selection
        import sklearn.preprocessing, sklearn.utils.validation
        import sklearn.linear_model, sklearn.utils.metaestimators
        sys.modules["sklearn.callback"] = None
        import numpy as np
        from skgd import GDRegressor
        X = np.random.RandomState(0).normal(size=(50, 2))
        reg = GDRegressor().fit(X, X @ [1.0, 2.0])
        assert not hasattr(reg, "set_callbacks")
        print(round(reg.score(X, X @ [1.0, 2.0]), 3))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1.0"


def test_the_classifier_reports_its_epochs_with_its_labels(data):
    X, y = data
    labels = np.where(y > 0, "up", "down")
    recorder = ScoringRecorder()
    clf = GDClassifier(max_iter=3, tol=None, random_state=0).set_callbacks(recorder)
    clf.fit(X, labels)
    # The callback scores the fitted model on the user's labels each epoch.
    assert len(recorder.scores) == 3
    assert recorder.scores[-1] > 0.9
