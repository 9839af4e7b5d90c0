"""Training state across calls: all-or-nothing calls, optimizer changes,
nested settings, parameter validation in partial_fit, divergence detection.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from skgd import GDRegressor, MLPGDClassifier
from skgd.optimizers import SGD, Adam, RMSProp, get_optimizer
from skgd.schedules import CosineAnnealing, available_schedules, get_schedule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

KINDS = ["regressor", "classifier"]


def _unscaled(kind):
    """Three features around 100 with a spread of 10."""
    X = np.random.RandomState(0).normal(100.0, 10.0, size=(60, 3))
    if kind == "regressor":
        return X, X @ [1.0, 2.0, 3.0]
    return X, (X[:, 0] > 100).astype(int)


def _standard(n_samples=60):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(n_samples, 3))
    return X, X @ [1.0, -2.0, 3.0] + 0.5 * rng.normal(size=n_samples)


def _make(kind, **params):
    common = dict(optimizer="sgd", batch_size=20, max_iter=5, tol=None, random_state=0)
    if kind == "regressor":
        return GDRegressor(**{**common, **params})
    common.update(hidden_layer_sizes=(5,), learning_rate=1e-3)
    return MLPGDClassifier(**{**common, **params})


def _weights(est):
    """All fitted coefficients of either estimator, as one flat array."""
    if isinstance(est, GDRegressor):
        arrays = [est.coef_, est.intercept_]
    else:
        arrays = est.coefs_ + est.intercepts_
    return np.concatenate([np.ravel(a) for a in arrays])


def _record(est):
    """What a failed call must leave exactly as it was."""
    state = est._state
    return dict(
        weights=np.r_[_weights(est), state.params.ravel()].tolist(),
        fitted=(est.n_features_in_, est.n_iter_, est.t_, est.learning_rate_),
        loss_curve_=list(est.loss_curve_),
        counts=(state.t, state.n_iter, state.optimizer_state.t),
    )


# -- a failed fit or partial_fit leaves every attribute as it was ----------------


FAILURES = {
    "divergence": ({"learning_rate": 1e4}, {}, "partial_fit", "diverged in epoch 6"),
    "negative-sample_weight": ({}, {"sample_weight": -1}, "partial_fit", "Negative"),
    "invalid-max_iter": ({"max_iter": 0}, {}, "partial_fit", "'max_iter' parameter"),
    # The schedule is validated after the new data has been checked (which
    # resets n_features_in_ to 2), so this failure happens late in the call.
    "fresh-fit-fails-late": (
        {"schedule": CosineAnnealing(warmup_steps=-1)},
        {"features": 2},
        "fit",
        "'warmup_steps' parameter",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("kind", KINDS)
def test_failed_call_restores_every_attribute(kind, failure):
    params, change, method, match = FAILURES[failure]
    X, y = _unscaled(kind)
    est = _make(kind).fit(X, y)
    est.set_params(**params)
    attributes, before = dict(vars(est)), _record(est)
    call = dict(X=X[:, : change.get("features", 3)], y=y)
    if "sample_weight" in change:
        call["sample_weight"] = np.full(len(y), change["sample_weight"])
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(**call)
    assert vars(est).keys() == attributes.keys()
    for name, value in attributes.items():
        assert vars(est)[name] is value, name
    assert _record(est) == before
    assert est.n_features_in_ == 3


# -- a changed optimizer starts afresh, an unchanged one continues ---------------


SWITCHES = [
    ("sgd", "adam", True),
    (Adam(), Adam(beta_2=0.99), True),
    ("momentum", "nesterov", True),
    ("adam", "adam", False),
    (Adam(beta_2=0.99), Adam(beta_2=0.99), False),
    ("momentum", SGD(momentum=0.9), False),
]


SWITCH_IDS = ["sgd-adam", "beta_2", "nesterov", "adam-adam", "equal-adam", "momentum"]


@pytest.mark.parametrize("first, second, changed", SWITCHES, ids=SWITCH_IDS)
def test_optimizer_state_restarts_only_when_the_optimizer_changes(
    first, second, changed
):
    X, y = _standard()
    est = _make("regressor", optimizer=first, warm_start=True, max_iter=4).fit(X, y)
    assert est._state.optimizer_state.t == 12  # 4 epochs of 3 batches
    est.set_params(optimizer=second)
    for calls in (1, 2):
        est.partial_fit(X, y)
        assert est._state.optimizer_state.t == 3 * calls + (0 if changed else 12)
    assert est.t_ == 18 and est.n_iter_ == 6
    expected = get_optimizer(second)
    assert type(est.optimizer_) is type(expected)
    assert est.optimizer_.get_params() == expected.get_params()
    fresh = _make("regressor", optimizer=second).fit(X, y)
    # The stream's running mean (the centring offset) is the fresh fit's up
    # to rounding.
    assert est.learning_rate_ == pytest.approx(fresh.learning_rate_, rel=1e-12)


def test_switch_to_adam_takes_a_first_adam_step():
    X, y = _standard()
    est = _make("regressor", warm_start=True).fit(X, y)
    start, sgd_rate = est.coef_.copy(), est.learning_rate_
    est.set_params(optimizer="adam", batch_size=None).partial_fit(X, y)
    assert est.learning_rate_ != sgd_rate
    # Adam's first step (t=1, zero moments) moves every (rescaled) weight by the rate;
    # with the moments or the step count of an earlier run it would not.
    assert_allclose(
        np.abs(est.coef_ - start) * est._scale, est.learning_rate_, rtol=1e-4
    )


def test_learning_rate_changed_to_auto_is_derived_again():
    X, y = _standard()
    est = _make("regressor", learning_rate=0.05).fit(X, y)
    est.set_params(learning_rate="auto").partial_fit(X, y)
    assert est.learning_rate_ == _make("regressor").fit(X, y).learning_rate_


# -- nested settings of an optimizer or a schedule given by name -----------------


NESTED = [
    ("adam", {"optimizer__beta_2": 0.99}, Adam(beta_2=0.99)),
    ("momentum", {"optimizer__nesterov": True}, SGD(momentum=0.9, nesterov=True)),
    ("sgd", {"optimizer": "rmsprop", "optimizer__rho": 0.9}, RMSProp(rho=0.9)),
]


@pytest.mark.parametrize(
    "name, settings, expected", NESTED, ids=["adam", "momentum", "rmsprop"]
)
def test_nested_optimizer_setting_on_a_name(name, settings, expected):
    est = GDRegressor(optimizer=name).set_params(**settings)
    assert type(est.optimizer) is type(expected)
    assert est.optimizer.get_params() == expected.get_params()


@pytest.mark.parametrize(
    "name", [name for name in available_schedules() if get_schedule(name).get_params()]
)
def test_nested_schedule_setting_on_a_name(name):
    params = get_schedule(name).get_params()
    key, value = next((k, 2 * v + 1) for k, v in params.items() if v is not None)
    est = GDRegressor(schedule=name).set_params(**{f"schedule__{key}": value})
    expected = get_schedule(name).set_params(**{key: value})
    assert type(est.schedule) is type(expected)
    assert est.schedule.get_params() == expected.get_params()


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"optimizer__bogus": 1}, "'bogus'"),
        ({"schedule__bogus": 1}, "'bogus'"),
        ({"optimizer": "nope", "optimizer__beta_1": 0.5}, "optimizer='nope'"),
    ],
)
def test_unknown_nested_name_raises(settings, match):
    with pytest.raises(ValueError, match=match):
        GDRegressor(optimizer="adam").set_params(**settings)


def test_failed_nested_setting_leaves_the_estimator_unchanged():
    est = GDRegressor(optimizer="adam")
    with pytest.raises(ValueError, match="'bogus'"):
        est.set_params(optimizer__bogus=1)
    assert est.optimizer == "adam"


def test_grid_search_and_clone_over_a_nested_setting_of_a_name():
    X, y = _standard()
    est = GDRegressor(optimizer="adam", max_iter=20, random_state=0)
    search = GridSearchCV(est, {"optimizer__beta_1": [0.8, 0.9]}, cv=2).fit(X, y)
    assert est.optimizer == "adam"
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_.optimizer
    assert type(best) is Adam
    assert best.beta_1 == search.best_params_["optimizer__beta_1"]
    assert best.beta_2 == Adam().beta_2
    tuned = GDRegressor(optimizer="adam").set_params(optimizer__beta_1=0.8)
    twin = clone(tuned)
    assert twin.optimizer is not tuned.optimizer
    assert twin.optimizer.get_params() == Adam(beta_1=0.8).get_params()


# -- partial_fit validates parameters changed after the first call ---------------


@pytest.mark.parametrize(
    "params, name",
    [
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1}, "tol"),
        ({"optimizer": Adam(beta_1=2.0)}, "beta_1"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_partial_fit_validates_changed_parameters(kind, params, name):
    X, y = _unscaled(kind)
    est = _make(kind).fit(X, y)
    weights = _weights(est).copy()
    est.set_params(**params)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        est.partial_fit(X, y)
    assert_array_equal(_weights(est), weights)


# -- divergence detection ----------------------------------------------------------


def test_one_batch_partial_fit_that_explodes_is_caught():
    X, y = _unscaled("regressor")
    est = GDRegressor(optimizer="sgd", learning_rate=1e4, batch_size=None)
    with pytest.raises(ValueError, match="diverged in epoch 1"):
        est.partial_fit(X, y)
    assert not hasattr(est, "coef_") and not hasattr(est, "_state")


@pytest.mark.parametrize(
    "optimizer, learning_rate",
    [
        ("adam", "auto"),
        ("sgd", 0.01),
        ("sgd", "auto"),
    ],
)
@pytest.mark.parametrize("max_iter", [1, 5])
def test_constant_target_is_fitted_not_taken_for_divergence(
    optimizer, learning_rate, max_iter
):
    # The starting point fits y up to rounding: the first objective is ~0, so
    # divergence is judged against 1e-4 of the objective of predicting 0.
    X, _ = _standard()
    y = np.full(len(X), 0.1)
    params = dict(optimizer=optimizer, learning_rate=learning_rate, tol=None)
    est = GDRegressor("absolute_error", max_iter=max_iter, **params).fit(X, y)
    assert est._state.reference_loss == pytest.approx(1e-4 * 0.1)
    prediction = est.predict(X)
    assert np.isfinite(prediction).all()
    assert np.abs(prediction - 0.1).max() < 0.05


@pytest.mark.parametrize("learning_rate", ["auto", 0.01])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_overflow_at_the_starting_point_is_explained(learning_rate, fit_intercept):
    X, y = _standard()
    est = GDRegressor(learning_rate=learning_rate, fit_intercept=fit_intercept)
    with pytest.raises(ValueError, match="not finite at the starting point"):
        est.fit(X, 1e200 * y)


@pytest.mark.parametrize("scale", [1e-100, 1e100])
def test_automatic_rate_reaches_the_solution_at_extreme_scales(scale):
    X, _ = _standard(200)
    y = X @ [1.0, -2.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = GDRegressor(fit_intercept=False, penalty=None, random_state=0)
        est.fit(X * scale, y)
        score = est.score(X * scale, y)
    assert score > 0.999
    assert_allclose(est.coef_ * scale, [1.0, -2.0, 3.0], rtol=1e-3)


# -- all-zero sample weights -------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("kind", KINDS)
def test_all_zero_sample_weight_is_refused(kind, method):
    X, y = _unscaled(kind)
    kwargs = {"classes": [0, 1]} if kind == "classifier" and method != "fit" else {}
    with pytest.raises(ValueError, match="at least one non-zero"):
        getattr(_make(kind), method)(X, y, sample_weight=np.zeros(len(y)), **kwargs)


# -- warnings point at the caller ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_convergence_warning_points_at_the_caller(kind):
    X, y = _unscaled(kind)
    with pytest.warns(ConvergenceWarning) as record:
        _make(kind, max_iter=1, tol=1e-3).fit(X, y)
    assert record[0].filename == __file__
