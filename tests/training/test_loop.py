"""The shared training loop: batching, averaging, early stopping, divergence."""

import copy
import re
import warnings

import numpy as np
import pytest
from _memory import peak_bytes
from numpy.testing import assert_allclose
from sklearn.datasets import (
    load_diabetes,
    make_blobs,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, MLPGDClassifier, MLPGDRegressor
from skgd.optimizers import Adam
from skgd.training._batching import TrainingData, _batches
from skgd.training._state import DivergenceError


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def _quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# -- near-equal batches --------------------------------------------------------------


@pytest.mark.parametrize("n_samples, batch_size", [(201, 200), (1001, 200), (7, 3)])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("held_out", [False, True])
def test_every_batch_has_between_b_and_2b_rows(
    n_samples, batch_size, shuffle, held_out
):
    X = np.arange(2.0 * n_samples).reshape(n_samples, 2)
    rows = np.arange(0, n_samples, 2) if held_out else None
    data = TrainingData(X, X[:, 0].copy(), None, rows)
    rng = np.random.RandomState(0) if shuffle else None
    batches = list(_batches(data, batch_size, rng))
    sizes = [size for *_, size in batches]
    assert len(batches) == max(1, data.n_samples // batch_size)
    assert sum(sizes) == data.n_samples
    if data.n_samples >= batch_size:
        assert min(sizes) >= batch_size and max(sizes) < 2 * batch_size
    # A single batch is all of X, its held-out rows weighted 0.
    seen = np.concatenate(
        [Xb[:, 0] if wb is None else Xb[wb > 0, 0] for Xb, _, wb, _ in batches]
    )
    seen = seen / 2
    expected = np.arange(n_samples) if rows is None else rows
    assert sorted(seen.astype(int).tolist()) == expected.tolist()


@pytest.mark.parametrize("n_samples", [200, 201, 1001])
def test_a_short_last_batch_does_not_spoil_the_fit(n_samples):
    # Before, the 1-row last batch of n=201 took a step sized for 200 rows:
    # R² fell to 0.77 for some seeds.
    X, y = make_regression(n_samples, 10, noise=10, random_state=0)
    ols = LinearRegression().fit(X, y).score(X, y)
    for seed in range(4):
        reg = _quiet(GDRegressor(random_state=seed), X, y)
        assert reg.score(X, y) > ols - 0.003


def test_batch_size_one_below_the_data_size(diabetes):
    X, y = diabetes
    ols = LinearRegression().fit(X, y).score(X, y)
    for seed in range(4):
        reg = _quiet(GDRegressor(batch_size=441, random_state=seed), X, y)
        assert reg.score(X, y) > ols - 0.02


# -- averaging -----------------------------------------------------------------------


@pytest.mark.parametrize("standardise", [False, True])
def test_stochastic_gradient_descent_is_steady(diabetes, standardise):
    # batch_size=1 gave R² from -0.9 to 0.50 across seeds (OLS 0.518).
    X, y = diabetes
    if standardise:
        X = StandardScaler().fit_transform(X)
    ols = LinearRegression().fit(X, y).score(X, y)
    scores = [
        _quiet(GDRegressor(batch_size=1, random_state=seed), X, y).score(X, y)
        for seed in range(4)
    ]
    assert min(scores) > ols - 0.01
    assert max(scores) - min(scores) < 0.01


def test_auto_average_never_averages_full_batches(diabetes):
    X, y = diabetes
    params = dict(batch_size=None, max_iter=20, tol=None)
    auto = GDRegressor(**params).fit(X, y)
    plain = GDRegressor(average=False, **params).fit(X, y)
    assert_allclose(auto.coef_, plain.coef_, rtol=1e-12)


def test_auto_average_runs_across_the_calls_of_a_stream(diabetes):
    X, y = diabetes
    params = dict(batch_size=50, shuffle=False)
    auto = GDRegressor(**params).partial_fit(X, y)
    plain = GDRegressor(average=False, **params).partial_fit(X, y)
    # The first call is the stream's first pass: nothing is averaged yet.
    assert_allclose(auto.coef_, plain.coef_, rtol=1e-12)
    assert auto._state.average is None
    auto.partial_fit(X, y)
    plain.partial_fit(X, y)
    # From the second call on, coef_ is the average of the iterates, while
    # training continues from the last iterate, as plain SGD's.
    n_batches = X.shape[0] // 50
    assert auto._state.n_averaged == n_batches
    assert_allclose(auto._state.params, plain._state.params, rtol=1e-12)
    assert not np.allclose(auto.coef_, plain.coef_)


# -- early stopping ----------------------------------------------------------------


class _Recording(GDRegressor):
    """Keeps what the set-up hooks and the validation split saw."""

    def _init_params(self, X, y, random_state, sample_weight=None, optimizer=None):
        self.init_weight_ = None if sample_weight is None else sample_weight.copy()
        return super()._init_params(X, y, random_state, sample_weight, optimizer)

    def _split_validation(self, X, y, sample_weight, random_state):
        rows, validation = super()._split_validation(X, y, sample_weight, random_state)
        self.train_rows_, self.validation_data_ = rows, validation
        return rows, validation


@pytest.mark.parametrize("average", [True, 10, "auto"])
def test_early_stopping_returns_what_it_scored(diabetes, average):
    # With averaging, the best validation score was that of the average but
    # the raw iterate was kept (returned model: R² -0.06, reported 0.27).
    X, y = diabetes
    reg = _Recording(
        early_stopping=True,
        average=average,
        batch_size=8,
        n_iter_no_change=3,
        max_iter=30,
        random_state=0,
    )
    _quiet(reg, X, y)
    X_val, y_val, _ = reg.validation_data_
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_)
    assert reg.best_validation_score_ == max(reg.validation_scores_)


def test_held_out_rows_weigh_zero_in_the_set_up(diabetes):
    X, y = diabetes
    reg = _Recording(early_stopping=True, max_iter=5, tol=None, random_state=0)
    reg.fit(X, y)
    weight, train = reg.init_weight_, reg.train_rows_
    assert np.count_nonzero(weight) == len(train) == len(X) - 45
    assert np.all(weight[train] == 1)
    # The offset and the starting intercept come from the training rows.
    assert_allclose(reg._offset, X[train].mean(axis=0))
    # (Early stopping trains with "sgd" where the default is "auto".)
    alone = GDRegressor(optimizer="sgd", max_iter=1, tol=None)
    alone.fit(X[train], y[train])
    assert_allclose(reg._offset, alone._offset)
    # The automatic rate too (with hooks that count nonzero weights only).
    assert reg.learning_rate_ == pytest.approx(alone.learning_rate_, rel=1e-6)


def test_early_stopping_trains_without_copying_X():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20_000, 100))
    y = X @ rng.normal(size=100)
    reg = GDRegressor(early_stopping=True, max_iter=2, tol=None, random_state=0)
    peak = peak_bytes(reg.fit, X, y)
    # The validation rows (10 %) and fixed-size buffers; before: 1.15 X.
    assert peak < 0.5 * X.nbytes


def test_float32_training_makes_no_float64_copy():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40_000, 50)).astype(np.float32)
    y = X @ rng.normal(size=50).astype(np.float32)
    reg = GDRegressor(max_iter=2, tol=None, random_state=0)
    peak = peak_bytes(reg.fit, X, y)
    assert reg.coef_.dtype == np.float32
    assert peak < 0.5 * X.nbytes  # before: 2.0 X


def test_partial_fit_refuses_early_stopping(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="early_stopping should be False"):
        GDRegressor(early_stopping=True).partial_fit(X, y)


# -- divergence ------------------------------------------------------------------------


def test_slow_divergence_is_an_error(diabetes):
    # Adadelta with learning_rate=1e6 ended with R² -1151 and no error.
    X, y = diabetes
    reg = GDRegressor(
        optimizer="adadelta", learning_rate=1e6, schedule="constant", random_state=0
    )
    with pytest.raises(DivergenceError, match="diverged"):
        reg.fit(X, y)


def test_the_auto_schedule_recovers_from_a_rate_that_stalls(diabetes):
    # The same rate under the default schedule: each stall divides it by 5
    # and restarts from the best point, down to a rate that converges.
    X, y = diabetes
    reg = GDRegressor(optimizer="adadelta", learning_rate=1e6, random_state=0)
    _quiet(reg, X, y)
    assert reg._state.learning_rate == pytest.approx(1e6 / 5**5)
    ols = LinearRegression().fit(X, y)
    assert reg.score(X, y) == pytest.approx(ols.score(X, y), abs=2e-3)


def test_an_objective_too_large_to_monitor_is_explained():
    # Adam froze at a loss of 6e306 and reported convergence (on X * 1e306,
    # which the networks now rescale, as the regressor standardises y: a
    # network whose outputs start that far off still does it).
    X, y = make_classification(100, 5, random_state=0)
    clf = MLPGDClassifier((4,), alpha=0.0, learning_rate=1e-3, max_iter=2)
    _quiet(clf.set_params(warm_start=True, random_state=0), X, y)
    clf.intercepts_[-1] = clf.intercepts_[-1] + 1e305
    with pytest.raises(ValueError, match="cannot be monitored.*moderate scale"):
        clf.fit(X, y)
    # Targets too large for their mean and spread are named.
    X, y = make_regression(100, 5, random_state=0)
    with pytest.raises(ValueError, match=r"y has values of magnitude .*e\+155"):
        MLPGDRegressor((4,), random_state=0).fit(X, y * 1e153)


def test_stream_starting_with_a_tiny_target_is_not_divergence(diabetes):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    order = np.argsort(np.abs(y))[:50]  # |y[order[0]]| ~ 0.005
    reg = GDRegressor(random_state=0)
    for i in order:
        reg.partial_fit(X[i : i + 1], y[i : i + 1])
    assert np.isfinite(reg.coef_).all()


def test_warm_start_on_rescaled_targets_is_not_divergence(diabetes):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    reg = GDRegressor(warm_start=True, random_state=0).fit(X, 1e-2 * y)
    reg.fit(X, 1e2 * y)
    ols = LinearRegression().fit(X, y).score(X, y)
    assert reg.score(X, 1e2 * y) > ols - 0.01


def test_streaming_one_row_at_a_time_with_the_automatic_rate():
    # The rate derived from the first row diverged by the third; it is now
    # lowered as rows come (SGDRegressor reaches R² 0.83 on this stream).
    X, y = make_regression(300, 5, noise=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    reg = GDRegressor(random_state=0)
    rates = []
    for i in range(len(X)):
        reg.partial_fit(X[i : i + 1], y[i : i + 1])
        rates.append(reg.learning_rate_)
    assert reg.score(X, y) > 0.9
    assert np.all(np.diff(rates) <= 0) and rates[-1] < rates[0]


def test_a_failed_call_leaves_the_history_as_it_was(diabetes):
    X, y = diabetes
    reg = GDRegressor(random_state=0)
    for _ in range(3):
        reg.partial_fit(X, y)
    history = list(reg.loss_curve_)
    reg.set_params(learning_rate=1e6)
    with pytest.raises(DivergenceError):
        reg.partial_fit(X, y)
    assert reg.loss_curve_ == history and reg.n_iter_ == 3


def test_partial_fit_never_copies_the_history(diabetes, monkeypatch):
    # Each call deep-copied the training state with its growing history.
    X, y = diabetes
    reg = GDRegressor(random_state=0).partial_fit(X[:10], y[:10])
    history = reg.loss_curve_
    copied = []
    real_deepcopy = copy.deepcopy

    def recording_deepcopy(obj, *args, **kwargs):
        copied.append(obj)
        return real_deepcopy(obj, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", recording_deepcopy)
    for start in range(10, 60, 10):
        reg.partial_fit(X[start : start + 10], y[start : start + 10])
    assert reg.loss_curve_ is history and len(history) == 6
    assert copied and not any(isinstance(obj, list) for obj in copied)
    assert not any(type(obj).__name__ == "TrainingState" for obj in copied)


# -- warm start ------------------------------------------------------------------------


@pytest.mark.parametrize("saved_before_structure", [False, True])
@pytest.mark.parametrize("before, after", [(True, False), (False, True)])
def test_warm_start_after_a_change_of_intercept_refits(
    diabetes, before, after, saved_before_structure
):
    X, y = diabetes
    params = dict(warm_start=True, random_state=0, max_iter=30, tol=None)
    reg = GDRegressor(fit_intercept=before, **params).fit(X, y)
    if saved_before_structure:
        # An estimator pickled before the state recorded the structure.
        del reg._state.structure
    reg.set_params(fit_intercept=after).fit(X, y)
    fresh = GDRegressor(fit_intercept=after, **params).fit(X, y)
    assert_allclose(reg.coef_, fresh.coef_, rtol=1e-10)
    assert_allclose(reg.intercept_, fresh.intercept_, rtol=1e-10, atol=1e-12)
    assert reg.loss_ == pytest.approx(fresh.loss_)


def test_partial_fit_after_a_change_of_intercept_raises(diabetes):
    X, y = diabetes
    reg = GDRegressor(random_state=0).fit(X, y)
    coef = reg.coef_.copy()
    with pytest.raises(ValueError, match="fit_intercept.*Call fit"):
        reg.set_params(fit_intercept=False).partial_fit(X, y)
    assert_allclose(reg.coef_, coef)


def test_n_iter_counts_the_epochs_of_the_call(diabetes):
    X, y = diabetes
    reg = GDRegressor(warm_start=True, max_iter=5, tol=None, random_state=0)
    reg.fit(X, y)
    t_first = reg.t_
    reg.fit(X, y)
    assert reg.n_iter_ == 5
    assert reg.t_ == 2 * t_first  # t_ counts every update since the start
    assert len(reg.loss_curve_) == 10


# -- set_params ----------------------------------------------------------------------


def test_set_params_leaves_the_users_optimizer_alone_on_error():
    adam = Adam()
    reg = GDRegressor()
    with pytest.raises(ValueError, match="nope"):
        reg.set_params(optimizer=adam, optimizer__beta_1=0.5, optimizer__nope=1)
    assert adam.beta_1 == 0.9 and reg.optimizer == "auto"
    reg = GDRegressor(optimizer=adam)
    with pytest.raises(ValueError, match="nope"):
        reg.set_params(optimizer__beta_2=0.5, optimizer__nope=1)
    assert adam.beta_2 == 0.999 and reg.optimizer is adam


# -- verbose output ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, pattern",
    [
        (
            dict(optimizer="sgd", max_iter=3, tol=None),
            r"Maximum number of epochs \(3\) reached",
        ),
        (dict(max_iter=3, tol=None), r"Maximum number of iterations \(3\) reached"),
        (
            dict(optimizer="sgd", max_iter=1000),
            r"Converged after \d+ epochs \(gradient norm \S+ times its reference\)",
        ),
        (
            dict(optimizer="sgd", max_iter=500, convergence="loss"),
            r"Converged after \d+ epochs\.$",
        ),
        (dict(max_iter=500), r"Converged after \d+ iterations"),
        (
            dict(optimizer="sgd", batch_size=1, average=False, schedule="constant"),
            r"Stopped after \d+ epochs: the objective stopped falling before the "
            r"gradient rule was met",
        ),
        (
            dict(max_iter=500, early_stopping=True, batch_size=20),
            r"Stopped after \d+ epochs: the validation score stopped improving. "
            r"Kept epoch \d+",
        ),
    ],
)
def test_verbose_says_why_training_stopped(diabetes, capsys, params, pattern):
    X, y = diabetes
    _quiet(GDRegressor(verbose=1, random_state=0, **params), X, y)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(pattern, last), last


# -- follow-ups: references on the same rows, streams, the smallest batch ----------


def test_outliers_outside_the_probe_rows_are_not_divergence():
    # The end of a call is compared with its start on the same rows: 20
    # large targets that the start's sample misses once made a default fit,
    # a warm start and a partial_fit raise "diverged".
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10_000, 5))
    y = X @ np.full(5, 0.2)
    y[2:22] += 300.0
    reg = GDRegressor(warm_start=True, random_state=0).fit(X, y)
    reg.fit(X, y).partial_fit(X, y)
    optimum = LinearRegression().fit(X, y)
    assert reg.score(X, y) > optimum.score(X, y) - 0.002


def test_flipped_labels_after_a_near_perfect_fit_are_not_divergence():
    # A network that fits its data almost exactly starts a warm call from an
    # objective near 0: the trivial model's cross-entropy is the floor of the
    # reference, so a few flipped labels (here off the rows the start is
    # measured on) are not mistaken for an explosion.
    X, y = make_blobs(2000, 4, centers=2, cluster_std=0.5, random_state=0)
    clf = MLPGDClassifier(
        (8,), learning_rate=0.01, alpha=0.0, max_iter=60, tol=None, random_state=0
    )
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.loss_ < 1e-3
    flipped = y.copy()
    rows = [i for i in range(100) if i % 10 in (3, 4, 5, 6)]
    flipped[rows] = 1 - flipped[rows]
    clf.partial_fit(X, flipped)
    clf.fit(X, flipped)
    assert clf.score(X, y) > 0.98


def test_a_one_row_chunk_keeps_the_scale_of_the_coefficients():
    # A later chunk may lower the automatic rate through its curvature only:
    # the spread of y of one row is 0, which once took Adam's rate from 1.9
    # to 0.01 for the rest of the stream.
    X, y = make_regression(3000, 10, noise=10, random_state=0)
    est = _quiet(GDRegressor(optimizer="adam", random_state=0), X[:2000], y[:2000])
    rate = est.learning_rate_
    est.partial_fit(X[2000:2001], y[2000:2001])
    assert est.learning_rate_ == pytest.approx(rate, rel=1e-12)


def test_step_size_is_derived_for_the_smallest_actual_batch(diabetes):
    # 442 rows in batches of at least 300 make one batch of 442: the rate is
    # full-batch gradient descent's, not the smaller one for batches of 300.
    X, y = diabetes
    one_batch = GDRegressor(batch_size=300, max_iter=1, tol=None).fit(X, y)
    full = GDRegressor(batch_size=None, max_iter=1, tol=None).fit(X, y)
    assert one_batch.t_ == 1
    assert one_batch.learning_rate_ == pytest.approx(full.learning_rate_, rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GDRegressor(random_state=0),
        lambda: MLPGDRegressor((4,), random_state=0),
        lambda: MLPGDClassifier((4,), random_state=0),
    ],
)
def test_a_chunk_scaled_unlike_the_first_is_warned_about(make):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    first = {"classes": [0, 1]} if isinstance(make(), MLPGDClassifier) else {}
    est = make().partial_fit(X[:100], y[:100], **first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.partial_fit(X[100:200] * 5, y[100:200])  # within the factor 10
    wide = X[200:300].copy()
    wide[:, 2] *= 50
    with pytest.warns(UserWarning, match="columns 2 of this partial_fit") as record:
        est.partial_fit(wide, y[200:300])
    assert record[0].filename == __file__
