"""Reliability: bad input, bad parameters, failed calls, divergence, extreme data.

Every public estimator must reject bad input and bad parameters with a
``ValueError`` or ``TypeError`` (``InvalidParameterError`` is both) whose
message names the problem, must come out of a failed ``partial_fit`` or
warm-started ``fit`` exactly as it went in, and must never hand back NaN
predictions or leak overflow warnings, whatever the scale of the data.
"""

import copy
import warnings

import numpy as np
import pytest
from _equality import assert_same, fitted_attributes
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)

from skgd import GDRegressor, MLPGDClassifier, MLPGDRegressor, optimizers, schedules
from skgd.optimizers import SGD, Adam, Optimizer
from skgd.schedules import CosineAnnealing, Schedule

try:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # the property tests are skipped
    st = None


ESTIMATORS = [
    pytest.param("regressor", id="GDRegressor"),
    pytest.param("classifier", id="MLPGDClassifier"),
    pytest.param("network_regressor", id="MLPGDRegressor"),
]
CLASSES = np.array([0, 1, 2])
ALLOWED = (ValueError, TypeError)  # InvalidParameterError subclasses both


def _estimator_class(kind):
    classes = {"regressor": GDRegressor, "network_regressor": MLPGDRegressor}
    return classes.get(kind, MLPGDClassifier)


def _make(kind, **params):
    """A small estimator that trains in a few milliseconds."""
    if kind == "regressor":
        defaults = dict(max_iter=5, tol=None, random_state=0)
    else:
        defaults = dict(
            hidden_layer_sizes=(5,),
            learning_rate=0.01,
            max_iter=5,
            tol=None,
            random_state=0,
        )
    return _estimator_class(kind)(**{**defaults, **params})


def _data(kind, n_samples=60, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    signal = X @ np.arange(1.0, n_features + 1)
    if kind != "classifier":
        return X, signal + 0.1 * rng.normal(size=n_samples)
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))


def _train(est, method, X, y, sample_weight=None, classes=None):
    """Call ``fit`` or ``partial_fit`` (with the classes a classifier needs)."""
    if method == "fit":
        return est.fit(X, y, sample_weight=sample_weight)
    if isinstance(est, (GDRegressor, MLPGDRegressor)):
        return est.partial_fit(X, y, sample_weight=sample_weight)
    if classes is None and not hasattr(est, "classes_"):
        classes = CLASSES
    return est.partial_fit(X, y, sample_weight=sample_weight, classes=classes)


def _with(a, index, value, dtype=float):
    a = np.array(a, dtype=dtype)
    a[index] = value
    return a


# -- bad input to fit and partial_fit ------------------------------------------

# name: (kinds it applies to, builder of the bad call's arguments, message)
TRAINING_CASES = {
    "nan-in-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=_with(X, (3, 1), np.nan)),
        "Input X contains NaN",
    ),
    "inf-in-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=_with(X, (3, 1), np.inf)),
        "Input X contains infinity",
    ),
    "-inf-in-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=_with(X, (3, 1), -np.inf)),
        "Input X contains infinity",
    ),
    "nan-in-y": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=_with(y, 5, np.nan)),
        "Input y contains NaN",
    ),
    "inf-in-y": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=_with(y, 5, np.inf)),
        "Input y contains infinity",
    ),
    "-inf-in-y": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=_with(y, 5, -np.inf)),
        "Input y contains infinity",
    ),
    "nan-in-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=_with(np.ones(len(y)), 2, np.nan)),
        "Input sample_weight contains NaN",
    ),
    "inf-in-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=_with(np.ones(len(y)), 2, np.inf)),
        "Input sample_weight contains infinity",
    ),
    "-inf-in-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=_with(np.ones(len(y)), 2, -np.inf)),
        "Input sample_weight contains infinity",
    ),
    "no-samples": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X[:0], y=y[:0]),
        r"0 sample\(s\)",
    ),
    "no-features": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X[:, :0]),
        r"0 feature\(s\)",
    ),
    "0d-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=np.float64(1.0)),
        "Expected 2D array, got scalar array",
    ),
    "1d-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X[:, 0]),
        "Expected 2D array, got 1D array",
    ),
    "3d-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X[:, :, np.newaxis]),
        "dim 3",
    ),
    "3d-y": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=y[:, np.newaxis, np.newaxis]),
        "dim 3|3d|shape",
    ),
    "fewer-targets-than-samples": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=y[:-1]),
        "inconsistent numbers of samples",
    ),
    "fewer-samples-than-targets": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X[:-1]),
        "inconsistent numbers of samples",
    ),
    "string-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=np.full(X.shape, "a")),
        "could not convert string to float",
    ),
    "object-X-holding-a-string": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=_with(X, (0, 0), "a", dtype=object)),
        "could not convert string to float",
    ),
    "object-X-holding-None": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=_with(X, (0, 0), None, dtype=object)),
        "Input X contains NaN",
    ),
    "complex-X": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(X=X + 1j),
        "Complex data not supported",
    ),
    "complex-y": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(y=y + 1j),
        "Complex data not supported",
    ),
    "string-y": (
        ("regressor",),
        lambda X, y: dict(y=np.full(len(y), "a")),
        "could not convert string to float",
    ),
    "negative-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=_with(np.ones(len(y)), 4, -1.0)),
        "Negative values in data passed to `sample_weight`",
    ),
    "all-zero-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=np.zeros(len(y))),
        "at least one non-zero",
    ),
    "2d-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=np.ones((len(y), 2))),
        "Sample weights must be 1D",
    ),
    "short-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=np.ones(10)),
        r"sample_weight.shape == \(10,\)",
    ),
    "string-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=np.full(len(y), "a")),
        "could not convert string to float",
    ),
    "complex-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        lambda X, y: dict(sample_weight=np.ones(len(y)) + 1j),
        "Complex data not supported",
    ),
    "continuous-target": (
        ("classifier",),
        lambda X, y: dict(y=y + 0.5 * np.linspace(0, 1, len(y))),
        "Unknown label type: continuous",
    ),
    "single-class": (
        ("classifier",),
        lambda X, y: dict(y=np.zeros(len(y), dtype=int), classes=[0]),
        "only one class",
    ),
    "labels-of-mixed-types": (
        ("classifier",),
        lambda X, y: dict(y=np.array(["a", 1] * (len(y) // 2), dtype=object)),
        "int.*str|str.*int|Mix of label input types",
    ),
}


def _training_cases():
    for kind_param in ESTIMATORS:
        kind = kind_param.values[0]
        for method in ("fit", "partial_fit"):
            for name, (kinds, build, match) in TRAINING_CASES.items():
                if kind in kinds:
                    yield pytest.param(
                        kind,
                        method,
                        build,
                        match,
                        id=f"{kind_param.id}-{method}-{name}",
                        marks=kind_param.marks,
                    )


@pytest.mark.parametrize("kind, method, build, match", list(_training_cases()))
def test_bad_training_input_raises_a_clear_error(kind, method, build, match):
    X, y = _data(kind)
    call = dict(X=X, y=y, sample_weight=None)
    call.update(build(X, y))
    est = _make(kind)
    with pytest.raises(ALLOWED, match=match):
        _train(est, method, **call)
    assert not hasattr(est, "coef_") and not hasattr(est, "coefs_")


# -- bad input to a fitted estimator ----------------------------------------------

PREDICTION_CASES = {
    "nan-in-X": (lambda X: _with(X, (1, 2), np.nan), "Input X contains NaN"),
    "inf-in-X": (lambda X: _with(X, (1, 2), np.inf), "Input X contains infinity"),
    "-inf-in-X": (lambda X: _with(X, (1, 2), -np.inf), "Input X contains infinity"),
    "no-samples": (lambda X: X[:0], r"0 sample\(s\)"),
    "0d-X": (lambda X: np.float64(1.0), "Expected 2D array, got scalar array"),
    "1d-X": (lambda X: X[0], "Expected 2D array, got 1D array"),
    "3d-X": (lambda X: X[:, :, np.newaxis], "dim 3"),
    "string-X": (lambda X: np.full(X.shape, "a"), "could not convert string"),
    "complex-X": (lambda X: X + 1j, "Complex data not supported"),
    "fewer-features": (lambda X: X[:, :3], "X has 3 features, but .* expecting 4"),
    "more-features": (
        lambda X: np.hstack([X, X[:, :1]]),
        "X has 5 features, but .* expecting 4",
    ),
}


def _prediction_cases():
    for kind_param in ESTIMATORS:
        kind = kind_param.values[0]
        methods = ["predict", "score"]
        if kind == "classifier":
            methods += ["predict_proba", "predict_log_proba"]
        for method in methods:
            for name, (build, match) in PREDICTION_CASES.items():
                yield pytest.param(
                    kind,
                    method,
                    build,
                    match,
                    id=f"{kind_param.id}-{method}-{name}",
                    marks=kind_param.marks,
                )


@pytest.fixture(scope="module")
def fitted():
    """One fitted estimator of each kind; the tests must not change them."""
    estimators = {"regressor": _make("regressor").fit(*_data("regressor"))}
    if MLPGDClassifier is not None:
        estimators["classifier"] = _make("classifier").fit(*_data("classifier"))
    network = _make("network_regressor").fit(*_data("network_regressor"))
    estimators["network_regressor"] = network
    return estimators


@pytest.mark.parametrize("kind, method, build, match", list(_prediction_cases()))
def test_bad_input_to_a_fitted_estimator_raises(fitted, kind, method, build, match):
    X, y = _data(kind)
    bad = build(X)
    call = getattr(fitted[kind], method)
    with pytest.raises(ALLOWED, match=match):
        if method == "score":
            call(bad, y[: len(bad)] if np.ndim(bad) else y[:1])
        else:
            call(bad)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_score_rejects_bad_targets(fitted, kind):
    X, y = _data(kind)
    est = fitted[kind]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y[:-1])
    with pytest.raises(ValueError, match="contains NaN"):
        with warnings.catch_warnings():
            # scikit-learn's accuracy_score casts the labels before checking
            warnings.filterwarnings("ignore", "invalid value encountered in cast")
            est.score(X, _with(y, 0, np.nan))
    if kind == "classifier":
        with pytest.raises(ValueError, match="continuous"):
            est.score(X, y + 0.5)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_feature_count_may_not_change_between_calls(kind):
    X, y = _data(kind)
    est = _train(_make(kind), "partial_fit", X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 4"):
        _train(est, "partial_fit", X[:, :3], y)
    est.set_params(warm_start=True)
    with pytest.raises(ValueError, match="X has 5 features, but .* expecting 4"):
        est.fit(np.hstack([X, X[:, :1]]), y)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_feature_names_may_not_change_between_calls(kind):
    pd = pytest.importorskip("pandas")
    X, y = _data(kind)
    est = _train(_make(kind), "partial_fit", pd.DataFrame(X, columns=list("abcd")), y)
    renamed = pd.DataFrame(X, columns=list("abce"))
    with pytest.raises(ValueError, match="feature names should match"):
        _train(est, "partial_fit", renamed, y)


def test_regressor_learns_from_a_single_sample_or_feature():
    X, y = _data("regressor")
    one = GDRegressor(max_iter=5, tol=None).fit(X[:1], y[:1])
    assert np.all(np.isfinite(one.coef_))
    assert one.predict(X[:1])[0] == pytest.approx(y[0], abs=1e-6)
    single_feature = GDRegressor(random_state=0).fit(X[:, :1], 2.0 * X[:, 0] - 1.0)
    assert single_feature.coef_ == pytest.approx([2.0], abs=1e-2)


def test_classifier_needs_two_classes_but_streams_single_samples():
    X, y = _data("classifier")
    with pytest.raises(ValueError, match="only one class"):
        _make("classifier").fit(X[:1], y[:1])
    est = _make("classifier").partial_fit(X[:1], y[:1], classes=CLASSES)
    assert_array_equal(est.classes_, CLASSES)
    assert est.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        _make("classifier").partial_fit(X, y)


# -- bad parameters ----------------------------------------------------------------


class _BadType:
    """A value that no parameter accepts."""

    def __repr__(self):
        return "BadType()"


def _invalid_values(constraints):
    """A wrong type, and a value outside each constraint that fits no other."""
    made = [make_constraint(c) for c in constraints]
    values = [_BadType()]
    for constraint in made:
        try:
            value = generate_invalid_param_val(constraint)
        except NotImplementedError:
            continue
        if not any(c.is_satisfied_by(value) for c in made):
            values.append(value)
    return values


def _label(value):
    """A test id for an invalid value that is the same in every run."""
    if isinstance(value, _BadType):
        return "wrong-type"
    if isinstance(value, str):
        return "unknown-string"  # the set order of StrOptions varies by run
    return repr(value)


def _parameter_cases():
    for kind_param in ESTIMATORS:
        cls = _estimator_class(kind_param.values[0])
        if cls is None:
            continue
        for name, constraints in cls._parameter_constraints.items():
            for value in _invalid_values(constraints):
                yield pytest.param(
                    kind_param.values[0],
                    name,
                    value,
                    id=f"{cls.__name__}-{name}={_label(value)}",
                )


PARAMETER_CASES = list(_parameter_cases())


def _names_the_parameter(kind, name):
    cls = _estimator_class(kind).__name__
    return rf"The '{name}' parameter of {cls} must be"


@pytest.mark.parametrize("kind, name, value", PARAMETER_CASES)
def test_invalid_parameter_in_constructor_raises_at_fit(kind, name, value):
    X, y = _data(kind)
    est = _make(kind, **{name: value})  # construction never validates
    with pytest.raises(InvalidParameterError, match=_names_the_parameter(kind, name)):
        est.fit(X, y)


@pytest.mark.parametrize("kind, name, value", PARAMETER_CASES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_invalid_parameter_from_set_params_raises(kind, name, value, method):
    X, y = _data(kind)
    est = _make(kind).set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=_names_the_parameter(kind, name)):
        _train(est, method, X, y)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_invalid_parameter_raises_in_a_warm_started_fit(kind):
    X, y = _data(kind)
    est = _make(kind, warm_start=True).fit(X, y)
    est.set_params(alpha=-1.0)
    with pytest.raises(
        InvalidParameterError, match=_names_the_parameter(kind, "alpha")
    ):
        est.fit(X, y)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_invalid_parameter_raises_in_partial_fit_of_a_fitted_estimator(kind):
    X, y = _data(kind)
    unchecked = []
    for case in PARAMETER_CASES:
        case_kind, name, value = case.values
        if case_kind != kind:
            continue
        est = _train(_make(kind), "partial_fit", X, y)
        est.set_params(**{name: value})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _train(est, "partial_fit", X, y)
        except Exception as exc:
            named = f"The '{name}' parameter" in str(exc)
            if not (isinstance(exc, InvalidParameterError) and named):
                unchecked.append(f"{name}={value!r}: {type(exc).__name__}: {exc}")
        else:
            unchecked.append(f"{name}={value!r}: accepted")
    assert not unchecked, "\n".join(unchecked)


def test_unknown_and_nested_parameter_names():
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rte'"):
        GDRegressor().set_params(learning_rte=0.1)
    with pytest.raises(ValueError, match="Invalid parameter 'beta_3'"):
        GDRegressor(optimizer=Adam()).set_params(optimizer__beta_3=0.5)


def test_nested_parameter_of_an_optimizer_given_by_name():
    est = GDRegressor(optimizer="adam")
    try:
        est.set_params(optimizer__beta_2=0.99)
    except ALLOWED as exc:  # a clear refusal is fine
        assert "optimizer" in str(exc)
    else:  # and so is turning the name into an object
        assert est.get_params()["optimizer__beta_2"] == 0.99


def test_average_must_be_a_bool_or_an_integer():
    X, y = _data("regressor")
    with pytest.raises(InvalidParameterError, match="'average' parameter"):
        GDRegressor(average=0.5).fit(X, y)


@pytest.mark.parametrize(
    "hidden_layer_sizes", [[0], [3, -1], [2.5], [[2]], ["a"]], ids=repr
)
def test_hidden_layer_sizes_must_hold_positive_integers(hidden_layer_sizes):
    X, y = _data("classifier")
    est = _make("classifier", hidden_layer_sizes=hidden_layer_sizes)
    with pytest.raises(ALLOWED, match="hidden_layer_sizes"):
        est.fit(X, y)


CLASS_WEIGHT_VALUES = "class_weight must map labels to finite non-negative numbers"


@pytest.mark.parametrize(
    "class_weight, method, match",
    [
        ({7: 1.0}, "fit", "class_weight has the label 7"),
        ({0: -1.0}, "fit", CLASS_WEIGHT_VALUES),
        ({0: np.nan}, "fit", CLASS_WEIGHT_VALUES),
        ({0: np.inf}, "fit", CLASS_WEIGHT_VALUES),
        ({0: "heavy"}, "fit", CLASS_WEIGHT_VALUES),
        ("balanced", "partial_fit", 'class_weight="balanced" is not supported'),
    ],
    ids=["unknown-label", "negative", "nan", "inf", "string", "balanced-streamed"],
)
def test_invalid_class_weight(class_weight, method, match):
    X, y = _data("classifier")
    est = _make("classifier", class_weight=class_weight)
    with pytest.raises(ALLOWED, match=match):
        _train(est, method, X, y)


def test_class_weight_is_refused_for_multilabel_targets():
    X, y = _data("classifier")
    Y = np.c_[y == 0, y == 1].astype(int)
    est = _make("classifier", class_weight={0: 2.0})
    with pytest.raises(ValueError, match="not supported for multilabel"):
        est.fit(X, Y)


@pytest.mark.parametrize(
    "coef_init, intercept_init, match",
    [
        (np.ones(3), None, "coef_init has shape"),
        (None, np.ones(2), "intercept_init has shape"),
        (["a", "b", "c", "d"], None, "could not convert string"),
        ([1j, 0, 0, 0], None, "complex"),
        pytest.param(
            [np.nan, 0, 0, 0],
            None,
            "coef_init",
        ),
        pytest.param(
            None,
            [np.inf],
            "intercept_init",
        ),
    ],
    ids=["coef-shape", "intercept-shape", "strings", "complex", "nan", "inf"],
)
def test_invalid_initial_coefficients(coef_init, intercept_init, match):
    X, y = _data("regressor")
    with pytest.raises(ALLOWED, match=match):
        GDRegressor().fit(X, y, coef_init=coef_init, intercept_init=intercept_init)


# -- optimizer and schedule objects with invalid hyperparameters --------------------


def _hyperparameter_cases(module, base):
    for class_name in module.__all__:
        cls = getattr(module, class_name)
        if not (isinstance(cls, type) and issubclass(cls, base)) or cls is base:
            continue
        for name, constraints in cls._parameter_constraints.items():
            for value in _invalid_values(constraints):
                yield pytest.param(
                    cls, name, value, id=f"{class_name}-{name}={_label(value)}"
                )


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize(
    "cls, name, value", list(_hyperparameter_cases(optimizers, Optimizer))
)
def test_invalid_optimizer_hyperparameter_raises_at_fit(kind, cls, name, value):
    optimizer = cls(**{name: value})  # construction never validates
    assert optimizer.get_params()[name] is value
    X, y = _data(kind)
    est = _make(kind, optimizer=optimizer)
    with pytest.raises(
        InvalidParameterError, match=rf"'{name}' parameter of {cls.__name__}"
    ):
        est.fit(X, y)


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize(
    "cls, name, value", list(_hyperparameter_cases(schedules, Schedule))
)
def test_invalid_schedule_hyperparameter_raises_at_fit(kind, cls, name, value):
    schedule = cls(**{name: value})
    assert schedule.get_params()[name] is value
    X, y = _data(kind)
    est = _make(kind, schedule=schedule, learning_rate=0.01)
    with pytest.raises(
        InvalidParameterError, match=rf"'{name}' parameter of {cls.__name__}"
    ):
        _train(est, "partial_fit", X, y)


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(optimizer=SGD(nesterov=True)), "Nesterov momentum requires momentum > 0"),
        (
            dict(optimizer=SGD(momentum=0.9, dampening=0.5, nesterov=True)),
            "Nesterov momentum requires",
        ),
        (
            dict(schedule=CosineAnnealing(decay_steps=5, warmup_steps=10)),
            "'warmup_steps' parameter of CosineAnnealing must be at most",
        ),
        (
            dict(schedule=CosineAnnealing(warmup_steps=10_000), max_iter=2),
            "warmup_steps=10000 greater than the decay length",
        ),
    ],
    ids=["nesterov-without-momentum", "nesterov-with-dampening", "warmup", "decay"],
)
def test_inconsistent_hyperparameters_raise_at_fit(kind, params, match):
    X, y = _data(kind)
    with pytest.raises(ValueError, match=match):
        _make(kind, learning_rate=0.01, **params).fit(X, y)


def test_optimal_schedule_needs_a_penalty():
    X, y = _data("regressor")
    with pytest.raises(ValueError, match="needs alpha > 0"):
        GDRegressor(schedule="optimal", alpha=0.0).partial_fit(X, y)


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("method", ["partial_fit", "warm fit"])
def test_invalid_optimizer_set_after_fitting_raises(kind, method):
    X, y = _data(kind)
    est = _make(kind, optimizer="adam", warm_start=True).fit(X, y)
    est.set_params(optimizer=Adam(beta_1=2.0))
    with pytest.raises(InvalidParameterError, match="'beta_1' parameter of Adam"):
        _train(est, "fit" if method == "warm fit" else "partial_fit", X, y)


# -- a failed call leaves the fitted estimator as it was ------------------------------


def _public(est):
    """Copies of the fitted attributes (names ending in an underscore)."""
    return {
        name: copy.deepcopy(value) for name, value in fitted_attributes(est).items()
    }


def _predictions(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict(X), est.predict_proba(X)
    return (est.predict(X),)


# name: (kinds, parameters set before the call, bad call's arguments, message)
FAILURES = {
    "nan-in-X": (
        ("regressor", "classifier", "network_regressor"),
        {},
        lambda X, y: dict(X=_with(X, (0, 0), np.nan)),
        "Input X contains NaN",
    ),
    "fewer-features": (
        ("regressor", "classifier", "network_regressor"),
        {},
        lambda X, y: dict(X=X[:, :3]),
        "X has 3 features",
    ),
    "negative-sample_weight": (
        ("regressor", "classifier", "network_regressor"),
        {},
        lambda X, y: dict(sample_weight=-np.ones(len(y))),
        "Negative values",
    ),
    "divergence": (
        ("regressor", "classifier", "network_regressor"),
        {"learning_rate": 1e4},
        lambda X, y: dict(X=100 * X),
        "diverged",
    ),
    "invalid-schedule": (
        ("regressor", "classifier", "network_regressor"),
        {"schedule": CosineAnnealing(warmup_steps=-1)},
        lambda X, y: {},
        "'warmup_steps' parameter",
    ),
    "more-targets": (
        ("regressor",),
        {},
        lambda X, y: dict(y=np.c_[y, y]),
        "target",
    ),
    "unknown-label": (
        ("classifier",),
        {},
        lambda X, y: dict(y=y + 7),
        "not among the classes|same classes",
    ),
    "class_weight-of-unknown-label": (
        ("classifier",),
        {"class_weight": {9: 1.0}},
        lambda X, y: {},
        "class_weight has the label 9",
    ),
}


def _failure_cases():
    for kind_param in ESTIMATORS:
        kind = kind_param.values[0]
        for method in ("partial_fit", "warm fit"):
            for name, (kinds, params, build, match) in FAILURES.items():
                if kind in kinds:
                    yield pytest.param(
                        kind,
                        method,
                        params,
                        build,
                        match,
                        id=f"{kind_param.id}-{method}-{name}",
                        marks=kind_param.marks,
                    )


@pytest.mark.parametrize("kind, method, params, build, match", list(_failure_cases()))
def test_failed_call_keeps_the_fitted_state(kind, method, params, build, match):
    X, y = _data(kind)
    est = _make(kind, optimizer="sgd", batch_size=20, warm_start=True)
    est.fit(X, y)
    twin = copy.deepcopy(est)
    before, predictions = _public(est), _predictions(est, X)
    saved = est.get_params(deep=False)
    call = dict(X=X, y=y)
    call.update(build(X, y))
    est.set_params(**params)
    with pytest.raises(ALLOWED, match=match):
        _train(est, "fit" if method == "warm fit" else "partial_fit", **call)
    est.set_params(**saved)
    assert_same(_public(est), before, dtype=False, deep=True)
    for now, then in zip(_predictions(est, X), predictions, strict=True):
        assert_array_equal(now, then)
    # and training goes on exactly as if the failed call had never been made
    for model in (est, twin):
        _train(model, "partial_fit", X, y)
        _train(model, "fit", X, y)
    assert_same(_public(est), _public(twin), dtype=False, deep=True)


@pytest.mark.parametrize(
    "kind, shifted",
    [
        pytest.param("regressor", "shifted", id="GDRegressor-shifted"),
        pytest.param(
            "regressor",
            "fewer-features",
            id="GDRegressor-features",
        ),
        pytest.param(
            "classifier",
            "shifted",
            id="MLPGDClassifier-shifted",
        ),
        pytest.param(
            "classifier",
            "fewer-features",
            id="MLPGDClassifier-features",
        ),
    ],
)
def test_failed_fresh_fit_keeps_the_fitted_state(kind, shifted):
    X, y = _data(kind)
    est = _make(kind, optimizer="sgd", batch_size=20).fit(X, y)
    twin = copy.deepcopy(est)
    X_new = X + 5.0 if shifted == "shifted" else X[:, :3]
    # The schedule's own hyperparameters are checked once training is set up.
    est.set_params(schedule=CosineAnnealing(warmup_steps=-1))
    with pytest.raises(InvalidParameterError, match="'warmup_steps' parameter"):
        est.fit(X_new, y)
    est.set_params(schedule=twin.schedule)
    for now, then in zip(_predictions(est, X), _predictions(twin, X), strict=True):
        assert_array_equal(now, then)
    for model in (est, twin):
        _train(model, "partial_fit", X, y)
    assert_same(_public(est), _public(twin), dtype=False, deep=True)


# -- divergence ----------------------------------------------------------------------


def _unscaled(kind, n_samples=200):
    """Features around 100 with a spread of 10: far from standardised."""
    rng = np.random.RandomState(0)
    X = rng.normal(100.0, 10.0, size=(n_samples, 3))
    if kind == "regressor":
        return X, X @ [1.0, 2.0, 3.0]
    return X, (X[:, 0] > 100).astype(int)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_far_too_large_learning_rate_raises_naming_epoch_and_remedy(kind):
    X, y = _unscaled(kind)
    est = _make(kind, optimizer="sgd", learning_rate=1e3, max_iter=50)
    with pytest.raises(ValueError, match=r"diverged in epoch \d+") as excinfo:
        est.fit(X, y)
    message = str(excinfo.value)
    assert "smaller learning_rate" in message
    assert "scale X" in message and "StandardScaler" in message
    assert not hasattr(est, "coef_") and not hasattr(est, "coefs_")


@pytest.mark.parametrize("batch_size", [None, 20], ids=["one-batch", "ten-batches"])
@pytest.mark.parametrize("method", ["partial_fit", "fit-one-epoch"])
def test_divergence_in_the_first_epoch_is_detected(batch_size, method):
    X, y = _unscaled("regressor")
    est = GDRegressor(
        optimizer="sgd", learning_rate=1e4, batch_size=batch_size, max_iter=1
    )
    with pytest.raises(ValueError, match="diverged in epoch 1"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _train(est, "fit" if method == "fit-one-epoch" else "partial_fit", X, y)


@pytest.mark.parametrize("loss", ["absolute_error", "quantile"])
def test_constant_target_is_not_mistaken_for_divergence(loss):
    X, _ = _data("regressor")
    y = np.full(len(X), 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = GDRegressor(loss=loss, random_state=0).fit(X, y)
    assert np.all(np.isfinite(reg.predict(X)))


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_grid_search_scores_a_diverging_candidate_nan_and_moves_on(kind):
    if kind == "regressor":
        X, y = _unscaled(kind)
        est = GDRegressor(optimizer="sgd", random_state=0)
        grid = {"learning_rate": [1e3, "auto"]}
    else:
        rng = np.random.RandomState(0)
        X = rng.normal(size=(200, 3))
        y = (X[:, 0] > X[:, 1]).astype(int)
        if kind == "network_regressor":
            y = X[:, 0] - 2 * X[:, 1]
        est = _make(kind, optimizer="sgd", batch_size=20, max_iter=50, tol=1e-4)
        grid = {"learning_rate": [1e3, 0.1]}
    search = GridSearchCV(est, grid, cv=3, error_score=np.nan)
    with pytest.warns(FitFailedWarning, match="diverged"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", "One or more of the test scores")
            search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[0]) and np.isfinite(scores[1])
    assert search.best_params_ == {"learning_rate": grid["learning_rate"][1]}
    assert search.best_score_ > (0.99 if kind == "regressor" else 0.9)


# -- extreme but finite data ---------------------------------------------------------


def _extreme_cases():
    scales = [
        (1e150, 1.0),
        (1e-150, 1.0),
        (1.0, 1e150),
        (1.0, 1e-150),
        (1e150, 1e150),
        (1.0, 1e200),
    ]
    for x_scale, y_scale in scales:
        yield pytest.param(
            "regressor",
            x_scale,
            y_scale,
            id=f"GDRegressor-X{x_scale:g}-y{y_scale:g}",
        )
    for x_scale in (1e150, 1e-150):
        yield pytest.param(
            "classifier",
            x_scale,
            1.0,
            id=f"MLPGDClassifier-X{x_scale:g}",
        )
    for x_scale, y_scale in scales:
        yield pytest.param(
            "network_regressor",
            x_scale,
            y_scale,
            id=f"MLPGDRegressor-X{x_scale:g}-y{y_scale:g}",
        )


@pytest.mark.parametrize("kind, x_scale, y_scale", list(_extreme_cases()))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_extreme_values_give_finite_predictions_or_a_clear_error(
    kind, x_scale, y_scale, optimizer
):
    X, y = _data(kind, n_samples=100)
    X = X * x_scale
    if kind == "regressor":
        y = y * y_scale
        est = GDRegressor(optimizer=optimizer, max_iter=20, random_state=0)
    elif kind == "network_regressor":
        y = y * y_scale
        est = _make(kind, optimizer=optimizer, learning_rate="auto", max_iter=20)
    else:
        est = _make(kind, optimizer=optimizer, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X, y)
        except ValueError as exc:
            message = str(exc)
            assert "scale" in message, message
            # Divergence is for the user to fix only if the user chose the step.
            assert est.learning_rate != "auto" or "diverged" not in message, message
            return
        predictions = _predictions(est, X)
        est.score(X, y)
    for prediction in predictions:
        assert np.all(np.isfinite(prediction.astype(float)))


@pytest.mark.parametrize(
    "scale",
    [
        1e-100,
        1e-40,
        1e40,
        1e100,
    ],
)
def test_automatic_learning_rate_adapts_to_any_scale_of_X(scale):
    # Without an intercept the problem is as well conditioned at every scale,
    # so learning_rate="auto" must find the solution at every scale.
    X, _ = _data("regressor", n_samples=200)
    y = X @ [1.0, -2.0, 3.0, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        reg = GDRegressor(fit_intercept=False, penalty=None, random_state=0)
        reg.fit(X * scale, y)
    assert reg.score(X * scale, y) > 0.999


# -- properties on random data -----------------------------------------------------


def _property(make_strategies, max_examples=25):
    """Run a hypothesis property test, or skip it when hypothesis is missing."""

    def decorate(test):
        if st is None:

            def skipped():
                pytest.skip("hypothesis is not installed")

            skipped.__name__ = test.__name__
            return skipped
        return settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        )(given(**make_strategies())(test))

    return decorate


def _finite_data():
    shapes = st.tuples(st.integers(1, 40), st.integers(1, 6))
    elements = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)

    @st.composite
    def data(draw):
        n_samples, n_features = draw(shapes)
        X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=elements))
        y = draw(hnp.arrays(np.float64, n_samples, elements=elements))
        return X, y

    return {"data": data()}


@_property(_finite_data)
def test_random_finite_data_never_gives_nan_coefficients(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = GDRegressor(random_state=0).fit(X, y)
    assert np.all(np.isfinite(reg.coef_)) and np.all(np.isfinite(reg.intercept_))
    assert np.all(np.isfinite(reg.predict(X)))


def _labelled_data():
    @st.composite
    def data(draw):
        n_samples = draw(st.integers(2, 40))
        n_features = draw(st.integers(1, 5))
        elements = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
        X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=elements))
        y = draw(hnp.arrays(np.int64, n_samples, elements=st.integers(0, 2)))
        assume(len(np.unique(y)) > 1)
        return X, y

    return {"data": data()}


@_property(_labelled_data, max_examples=20)
def test_random_labelled_data_gives_finite_probabilities(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _make("classifier", max_iter=10).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(np.unique(y))


def _bad_values():
    kinds = ["regressor"] + (["classifier"] if MLPGDClassifier is not None else [])
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.lists(st.integers(-3, 3), max_size=3),
        st.builds(_BadType),
        st.sampled_from([object(), {}, 1j, np.float32(-1.0), b"adam"]),
    )
    return {"kind": st.sampled_from(kinds), "value": values, "pick": st.integers(0)}


@_property(_bad_values, max_examples=60)
def test_random_invalid_parameter_values_always_raise(kind, value, pick):
    cls = _estimator_class(kind)
    names = sorted(cls._parameter_constraints)
    name = names[pick % len(names)]
    constraints = [make_constraint(c) for c in cls._parameter_constraints[name]]
    assume(not any(c.is_satisfied_by(value) for c in constraints))
    X, y = _data(kind, n_samples=30)
    with pytest.raises(InvalidParameterError, match=_names_the_parameter(kind, name)):
        _make(kind).set_params(**{name: value}).fit(X, y)


class _Wrapping(Optimizer):
    """Steps with another optimizer, given as a hyperparameter."""

    def __init__(self, inner=None):
        self.inner = inner

    def init_state(self, param):
        return self.inner.init_state(param)

    def update(self, param, grad, state, lr, t):
        self.inner.update(param, grad, state, lr, t)


def test_failed_nested_set_params_leaves_a_wrapped_optimizer_untouched():
    inner = Adam(beta_1=0.8)
    est = GDRegressor(optimizer=_Wrapping(inner))
    with pytest.raises(ValueError, match="beta_3"):
        est.set_params(optimizer__inner__beta_1=0.5, optimizer__inner__beta_3=1.0)
    assert inner.beta_1 == 0.8
    est.set_params(optimizer__inner__beta_1=0.5)
    assert inner.beta_1 == 0.5
