import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import SGDRegressor
from sklearn.utils._param_validation import InvalidParameterError

from skgd import GDRegressor
from skgd.schedules import (
    Adaptive,
    Auto,
    Constant,
    CosineAnnealing,
    ExponentialDecay,
    InverseScaling,
    InverseTime,
    Optimal,
    Schedule,
    StepDecay,
    available_schedules,
    get_schedule,
)

BUILT_IN = {
    "constant": (Constant, {}),
    "invscaling": (InverseScaling, {"power_t": 0.25}),
    "optimal": (Optimal, {"alpha": 1e-4}),
    "adaptive": (Adaptive, {"factor": 5.0, "min_learning_rate": 1e-6}),
    "auto": (Auto, {"factor": 5.0, "min_learning_rate": 1e-6}),
    "inverse_time": (InverseTime, {"t1": 50.0}),
    "step": (StepDecay, {"step_size": 1000, "gamma": 0.5}),
    "exponential": (ExponentialDecay, {"decay_rate": 0.99, "decay_steps": 100}),
    "cosine": (
        CosineAnnealing,
        {"decay_steps": None, "warmup_steps": 0, "min_learning_rate": 0.0},
    ),
}


def rates(schedule, ts, learning_rate, total_steps=None):
    return [schedule(t, learning_rate, total_steps) for t in ts]


# --- values of each schedule ------------------------------------------------


def test_constant():
    assert rates(Constant(), [0, 1, 10**6], 0.3) == [0.3, 0.3, 0.3]


def test_invscaling_counts_the_first_update_as_one():
    schedule = InverseScaling(power_t=0.5)
    assert_allclose(rates(schedule, [0, 3, 8], 1.0), [1.0, 0.5, 1 / 3])
    assert_allclose(rates(InverseScaling(power_t=1.0), [0, 1, 9], 2.0), [2, 1, 0.2])
    assert rates(InverseScaling(power_t=0.0), [0, 5], 0.1) == [0.1, 0.1]


def test_optimal_values():
    # alpha = 1e-4: eta = 1e-4 ** -0.25 = 10, t0 = 1 / (10 * 1e-4) = 1000
    assert_allclose(rates(Optimal(), [0, 1000, 3000], 0.5), [10, 5, 2.5])
    # alpha = 1: eta = 1, t0 = 1, so 1 / (1 + t); the learning rate is ignored
    assert_allclose(rates(Optimal(alpha=1.0), [0, 1, 3], 123.0), [1, 0.5, 0.25])


def sklearn_step_sizes(n_steps, **params):
    """Step sizes of SGDRegressor's first updates on a one-sample problem.

    With x = 0.1, y = 1, no penalty and no intercept, an update is
    w += eta * (y - w * x) * x, so eta can be read back from the weights.
    """
    X, y = np.array([[0.1]]), np.array([1.0])
    est = SGDRegressor(penalty=None, fit_intercept=False, shuffle=False, **params)
    w, etas = 0.0, []
    for _ in range(n_steps):
        est.partial_fit(X, y)
        new_w = est.coef_[0]
        etas.append((new_w - w) / ((1.0 - 0.1 * w) * 0.1))
        w = new_w
    return etas


@pytest.mark.parametrize("alpha", [1e-4, 1e-2, 0.3])
def test_optimal_matches_sklearn(alpha):
    expected = sklearn_step_sizes(5, learning_rate="optimal", alpha=alpha)
    assert_allclose(Optimal(alpha=alpha).preview(5), expected, rtol=1e-9)


def test_invscaling_matches_sklearn():
    expected = sklearn_step_sizes(
        5, learning_rate="invscaling", eta0=0.5, power_t=0.3, alpha=1e-4
    )
    assert_allclose(InverseScaling(power_t=0.3).preview(5, 0.5), expected, rtol=1e-9)


def test_adaptive_divides_by_factor_until_the_minimum():
    schedule = Adaptive()
    assert rates(schedule, [0, 7, 10**5], 0.1) == [0.1, 0.1, 0.1]
    lr, seen = 0.1, []
    while lr is not None:
        seen.append(lr)
        lr = schedule.on_plateau(lr)
    expected = [0.1 / 5**k for k in range(9)]  # 0.1 ... 1.28e-6, 2.56e-7
    assert_allclose(seen, expected, rtol=1e-12)
    # like scikit-learn: stop once the rate is <= 1e-6, divide while above it
    assert schedule.on_plateau(1e-6) is None
    assert schedule.on_plateau(1.01e-6) == pytest.approx(1.01e-6 / 5)
    assert Adaptive(factor=2, min_learning_rate=0.1).on_plateau(0.5) == 0.25


def test_inverse_time():
    schedule = InverseTime(t1=50)
    assert_allclose(rates(schedule, [0, 50, 150], 0.1), [0.1, 0.05, 0.025])


def test_step_decay_boundaries():
    schedule = StepDecay(step_size=3, gamma=0.5)
    ts = [0, 2, 3, 5, 6, 9]
    assert_allclose(rates(schedule, ts, 0.8), [0.8, 0.8, 0.4, 0.4, 0.2, 0.1])


def test_exponential_decay_is_smooth():
    schedule = ExponentialDecay(decay_rate=0.5, decay_steps=10)
    expected = [1.0, 2**-0.5, 0.5, 0.125]
    assert_allclose(rates(schedule, [0, 5, 10, 30], 1.0), expected)


def test_cosine_warmup_then_anneal_to_minimum():
    schedule = CosineAnnealing(decay_steps=12, warmup_steps=4, min_learning_rate=0.1)
    ramp = rates(schedule, [0, 1, 2, 3], 1.0)
    assert_allclose(ramp, [0.25, 0.5, 0.75, 1.0])
    # cosine over the 8 updates after the warm-up: start, a quarter, halfway
    quarter = 0.1 + 0.45 * (1 + math.cos(math.pi / 4))
    assert_allclose(rates(schedule, [4, 6, 8], 1.0), [1.0, quarter, 0.55])
    # the last update of the decay still moves: min is reached at t = 12
    assert schedule(11, 1.0) == pytest.approx(
        0.1 + 0.45 * (1 + math.cos(7 * math.pi / 8))
    )
    assert rates(schedule, [12, 13, 10**6], 1.0) == [0.1, 0.1, 0.1]


def test_cosine_without_warmup_starts_at_learning_rate():
    assert_allclose(
        CosineAnnealing().preview(4, 2.0), [2.0, 1.0 + 2**-0.5, 1.0, 1.0 - 2**-0.5]
    )


def test_cosine_uses_total_steps_when_decay_steps_is_none():
    fixed = CosineAnnealing(decay_steps=20, warmup_steps=3).preview(25, 0.1)
    auto = CosineAnnealing(warmup_steps=3)
    assert_allclose(auto(np.arange(25), 0.1, total_steps=20), fixed)
    # an explicit decay_steps wins over total_steps
    assert_allclose(
        CosineAnnealing(decay_steps=20)(np.arange(25), 0.1, 99),
        CosineAnnealing(decay_steps=20).preview(25, 0.1),
    )


def test_cosine_needs_a_length():
    with pytest.raises(ValueError, match="decay_steps"):
        CosineAnnealing()(0, 0.1)
    with pytest.raises(ValueError, match="warmup_steps"):
        CosineAnnealing(warmup_steps=10)(0, 0.1, total_steps=5)


def test_cosine_warmup_filling_the_whole_decay():
    schedule = CosineAnnealing(decay_steps=3, warmup_steps=3, min_learning_rate=0.01)
    assert_allclose(rates(schedule, [0, 2, 3, 4], 0.3), [0.1, 0.3, 0.01, 0.01])


# --- shared behaviour -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_preview_matches_scalar_calls(name):
    schedule = get_schedule(name)
    preview = schedule.preview(7, learning_rate=0.2)
    assert preview.shape == (7,)
    assert preview.dtype == np.float64
    scalars = rates(schedule, range(7), 0.2, total_steps=7)
    assert all(type(rate) is float for rate in scalars)
    assert_allclose(preview, scalars, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_array_calls_keep_shape_and_accept_numpy_ints(name):
    schedule = get_schedule(name)
    t = np.array([[0, 3], [1500, 20000]])
    out = schedule(t, 0.2, total_steps=30000)
    assert out.shape == (2, 2)
    assert_allclose(out.ravel(), rates(schedule, t.ravel(), 0.2, 30000), rtol=1e-14)
    assert type(schedule(np.int64(3), 0.2, 30000)) is float


# --- lookup by name ---------------------------------------------------------


def test_available_schedules():
    assert available_schedules() == sorted(BUILT_IN)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_get_schedule_by_name(name):
    cls, params = BUILT_IN[name]
    schedule = get_schedule(name)
    assert type(schedule) is cls
    assert schedule.get_params() == params
    schedule._validate_params()  # the defaults are valid
    assert get_schedule(name) is not schedule


def test_get_schedule_unknown_name_lists_choices():
    with pytest.raises(ValueError, match=r"'cosine'.*'step'") as excinfo:
        get_schedule("linear")
    assert "'linear'" in str(excinfo.value)


@pytest.mark.parametrize("bad", [0.1, None, InverseScaling, ["constant"]])
def test_get_schedule_wrong_type(bad):
    with pytest.raises(TypeError, match="schedule must be"):
        get_schedule(bad)


def test_get_schedule_clones_objects():
    original = StepDecay(step_size=7, gamma=0.2)
    schedule = get_schedule(original)
    assert schedule is not original
    assert type(schedule) is StepDecay
    assert schedule.get_params() == {"step_size": 7, "gamma": 0.2}
    schedule.set_params(gamma=0.9)
    assert original.gamma == 0.2


# --- validation -------------------------------------------------------------

INVALID = [
    (InverseScaling, {"power_t": -0.5}),
    (InverseScaling, {"power_t": "0.5"}),
    (Optimal, {"alpha": 0.0}),
    (Optimal, {"alpha": -1e-4}),
    (Adaptive, {"factor": 1.0}),
    (Adaptive, {"factor": 0.5}),
    (Adaptive, {"min_learning_rate": -1e-6}),
    (InverseTime, {"t1": 0}),
    (StepDecay, {"gamma": 1.5}),
    (StepDecay, {"gamma": 0.0}),
    (StepDecay, {"step_size": 0}),
    (StepDecay, {"step_size": 2.5}),
    (ExponentialDecay, {"decay_rate": 0.0}),
    (ExponentialDecay, {"decay_rate": 1.01}),
    (ExponentialDecay, {"decay_steps": 0}),
    (CosineAnnealing, {"decay_steps": 0}),
    (CosineAnnealing, {"warmup_steps": -1}),
    (CosineAnnealing, {"min_learning_rate": -0.1}),
    (CosineAnnealing, {"decay_steps": 10, "warmup_steps": 11}),
]


@pytest.mark.parametrize(
    "cls, params", INVALID, ids=[f"{c.__name__}-{p}" for c, p in INVALID]
)
def test_invalid_hyperparameters(cls, params):
    schedule = cls(**params)  # construction never validates
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        schedule._validate_params()


@pytest.mark.parametrize(
    "schedule",
    [
        InverseScaling(power_t=0),
        StepDecay(step_size=1, gamma=1),
        ExponentialDecay(decay_rate=1, decay_steps=0.5),
        Adaptive(factor=1.5, min_learning_rate=0),
        CosineAnnealing(decay_steps=5, warmup_steps=5),
    ],
)
def test_boundary_hyperparameters_are_valid(schedule):
    schedule._validate_params()


# --- extension and scikit-learn integration -------------------------------


class Halving(Schedule):
    def __init__(self, every=2):
        self.every = every

    def __call__(self, t, learning_rate, total_steps=None):
        return learning_rate * 0.5 ** (np.asarray(t) // self.every)


class Flat(Schedule):
    def __call__(self, t, learning_rate, total_steps=None):
        return learning_rate  # ignores t: preview must still give n values


def test_auto_is_constant_and_lowers_the_rate_only_at_a_stall():
    assert rates(Auto(), [0, 7, 10**5], 0.1) == [0.1, 0.1, 0.1]
    assert Auto().on_plateau(0.1) == pytest.approx(0.02)
    assert Auto().on_plateau(1e-6) is None
    # A plateau of the loss rule is convergence, as with "constant".
    assert Auto.reacts_to_loss_plateau is False
    assert Adaptive.reacts_to_loss_plateau is Constant.reacts_to_loss_plateau is True


def test_auto_stops_the_loss_rule_where_constant_does():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + rng.standard_normal(300)
    fits = [
        GDRegressor(
            optimizer="sgd", convergence="loss", schedule=schedule, random_state=0
        ).fit(X, y)
        for schedule in ("auto", "constant")
    ]
    assert fits[0].n_iter_ == fits[1].n_iter_ < fits[0].max_iter
    assert_array_equal(fits[0].coef_, fits[1].coef_)


def test_user_schedule():
    assert_array_equal(Halving().preview(5, 1.0), [1, 1, 0.5, 0.5, 0.25])
    schedule = get_schedule(Halving(every=3))
    assert schedule.every == 3
    assert schedule.on_plateau(0.1) is None
    assert_array_equal(Flat().preview(3, 0.5), [0.5, 0.5, 0.5])


class Holder(BaseEstimator):
    def __init__(self, schedule="constant"):
        self.schedule = schedule


def test_nested_params_for_grid_search():
    holder = Holder(schedule=InverseScaling())
    assert holder.get_params()["schedule__power_t"] == 0.25
    holder.set_params(schedule__power_t=0.5)
    assert holder.schedule.power_t == 0.5
    copy = clone(holder)
    assert copy.schedule is not holder.schedule
    assert copy.get_params()["schedule__power_t"] == 0.5
    assert repr(CosineAnnealing(warmup_steps=3)) == "CosineAnnealing(warmup_steps=3)"
