"""Tests of the built-in optimizers and the optimizer interface."""

import copy
import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from skgd import optimizers
from skgd.linear._backend import compiled_step
from skgd.optimizers import (
    LBFGS,
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    NAdam,
    Optimizer,
    OptimizerState,
    RAdam,
    RMSProp,
    available_optimizers,
    get_optimizer,
)

TORCH_REFERENCE = json.loads(
    (Path(__file__).parents[1] / "data" / "torch_reference.json").read_text()
)

# Every built-in name: (class, parameters that differ from the class defaults).
BUILTINS = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (AdaGrad, {}),
    "rmsprop": (RMSProp, {}),
    "adam": (Adam, {}),
    "amsgrad": (Adam, {"amsgrad": True}),
    "adamw": (AdamW, {}),
    "nadam": (NAdam, {}),
    "radam": (RAdam, {}),
    "adamax": (Adamax, {}),
    "adadelta": (Adadelta, {}),
    "lion": (Lion, {}),
    "lbfgs": (LBFGS, {}),
}
# The rules applied to each batch's gradient: every built-in but the
# full-batch solver.
STEP_RULES = sorted(name for name, (cls, _) in BUILTINS.items() if not cls.full_batch)


def make_problem(seed, shapes=((4,), (3, 2)), n_steps=10):
    """Initial parameters and a gradient sequence of varying scales.

    Coordinates span scales from 1e-4 to 10, so epsilon matters, and the
    gradient magnitude changes from step to step, so second-moment averages
    sometimes decrease (which AMSGrad's running maximum must see).
    """
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=shape) for shape in shapes]
    scales = [10.0 ** rng.integers(-4, 2, size=shape) for shape in shapes]
    step_scales = rng.choice([0.05, 0.3, 1.0, 3.0], size=n_steps)
    grads = [[s * c * rng.normal(size=c.shape) for c in scales] for s in step_scales]
    return params, grads


# The update rules exist twice: in NumPy (the optimizers' ``update``) and in
# the compiled epoch of the linear model. Both are checked against the same
# references.
BACKENDS = ["reference", "compiled"]


def run(optimizer, params, grads, lr, backend="reference"):
    """Step ``optimizer`` through ``grads``; return the parameters after each step.

    The gradients are written into the same buffers at every step, as a
    training loop would, so an optimizer that keeps a reference to a gradient
    array instead of copying it gives wrong results. ``backend="compiled"``
    steps with the compiled update rules instead of ``Optimizer.update``.
    """
    params = [p.copy() for p in params]
    buffers = [np.empty_like(p) for p in params]
    state = OptimizerState(optimizer, params)
    step = state.step
    if backend == "compiled":
        step = partial(compiled_step, state)
    trajectory = []
    for step_grads in grads:
        for buffer, grad in zip(buffers, step_grads, strict=True):
            buffer[...] = grad
        step(params, buffers, lr)
        trajectory.append([p.copy() for p in params])
    return trajectory


# Reference implementations, written from the published update rules. They
# update one array, never in place, and write running averages in closed form:
# an average with decay d of x_1..x_t started at 0 is sum (1 - d) d^(t-i) x_i.


def ema(history, decay):
    t = len(history)
    return sum((1 - decay) * decay ** (t - i) * x for i, x in enumerate(history, 1))


def ref_sgd(theta, grads, lr, momentum=0.0, dampening=0.0, nesterov=False):
    trajectory, b = [], None
    for g in grads:
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        trajectory.append(theta)
    return trajectory


def ref_adagrad(theta, grads, lr, initial_accumulator_value=0.0, epsilon=1e-10):
    trajectory = []
    for t, g in enumerate(grads, 1):
        s = initial_accumulator_value + sum(h**2 for h in grads[:t])
        theta = theta - lr * g / (np.sqrt(s) + epsilon)
        trajectory.append(theta)
    return trajectory


def ref_rmsprop(theta, grads, lr, rho=0.99, epsilon=1e-8, momentum=0.0, centered=False):
    trajectory, b = [], 0.0
    for t, g in enumerate(grads, 1):
        v = ema([h**2 for h in grads[:t]], rho)
        if centered:
            v = v - ema(grads[:t], rho) ** 2
        b = momentum * b + g / (np.sqrt(v) + epsilon)
        theta = theta - lr * b
        trajectory.append(theta)
    return trajectory


def ref_adam(
    theta,
    grads,
    lr,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
    amsgrad=False,
    weight_decay=0.0,
):
    trajectory, squares = [], [g**2 for g in grads]
    for t in range(1, len(grads) + 1):
        m = ema(grads[:t], beta_1)
        if amsgrad:
            v = np.max([ema(squares[:k], beta_2) for k in range(1, t + 1)], axis=0)
        else:
            v = ema(squares[:t], beta_2)
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        theta = theta * (1 - lr * weight_decay)  # AdamW; no-op for Adam
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + epsilon)
        trajectory.append(theta)
    return trajectory


def ref_nadam(
    theta, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum_decay=0.004
):
    def mu(t):
        return beta_1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))

    trajectory = []
    for t, g in enumerate(grads, 1):
        m = ema(grads[:t], beta_1)
        v = ema([h**2 for h in grads[:t]], beta_2)
        product = np.prod([mu(i) for i in range(1, t + 1)])
        m_hat = mu(t + 1) * m / (1 - product * mu(t + 1))
        m_hat = m_hat + (1 - mu(t)) * g / (1 - product)
        theta = theta - lr * m_hat / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
        trajectory.append(theta)
    return trajectory


def ref_radam(theta, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    rho_inf = 2 / (1 - beta_2) - 1
    trajectory = []
    for t in range(1, len(grads) + 1):
        m_hat = ema(grads[:t], beta_1) / (1 - beta_1**t)
        v = ema([h**2 for h in grads[:t]], beta_2)
        rho = rho_inf - 2 * t * beta_2**t / (1 - beta_2**t)
        if rho > 5:
            l_t = np.sqrt(1 - beta_2**t) / (np.sqrt(v) + epsilon)
            r_t = np.sqrt(
                (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
            )
            theta = theta - lr * m_hat * r_t * l_t
        else:
            theta = theta - lr * m_hat
        trajectory.append(theta)
    return trajectory


def ref_adamax(theta, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    # u_t = max(beta_2 u_{t-1}, |g_t| + eps) from u_0 = 0 unrolls to this maximum.
    trajectory = []
    for t in range(1, len(grads) + 1):
        m = ema(grads[:t], beta_1)
        u = [
            beta_2 ** (t - i) * (np.abs(g) + epsilon)
            for i, g in enumerate(grads[:t], 1)
        ]
        u = np.max(u, axis=0)
        theta = theta - lr * m / ((1 - beta_1**t) * u)
        trajectory.append(theta)
    return trajectory


def ref_adadelta(theta, grads, lr, rho=0.9, epsilon=1e-6):
    trajectory, deltas = [], []
    for t, g in enumerate(grads, 1):
        v = ema([h**2 for h in grads[:t]], rho)
        u = ema([d**2 for d in deltas], rho)
        deltas.append(np.sqrt(u + epsilon) / np.sqrt(v + epsilon) * g)
        theta = theta - lr * deltas[-1]
        trajectory.append(theta)
    return trajectory


def ref_lion(theta, grads, lr, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
    trajectory = []
    for t, g in enumerate(grads, 1):
        m = ema(grads[: t - 1], beta_2)
        c = beta_1 * m + (1 - beta_1) * g
        theta = theta - lr * (np.sign(c) + weight_decay * theta)
        trajectory.append(theta)
    return trajectory


REFERENCE_CASES = [
    (SGD, ref_sgd, {}, 0.05),
    (SGD, ref_sgd, {"momentum": 0.9}, 0.05),
    (SGD, ref_sgd, {"momentum": 0.5, "dampening": 0.3}, 0.05),
    (SGD, ref_sgd, {"momentum": 0.9, "nesterov": True}, 0.05),
    (AdaGrad, ref_adagrad, {}, 0.05),
    (AdaGrad, ref_adagrad, {"initial_accumulator_value": 0.1, "epsilon": 1e-3}, 0.05),
    (RMSProp, ref_rmsprop, {}, 0.01),
    (RMSProp, ref_rmsprop, {"rho": 0.9, "momentum": 0.5}, 0.01),
    (RMSProp, ref_rmsprop, {"centered": True, "momentum": 0.9, "epsilon": 1e-3}, 0.01),
    (Adam, ref_adam, {}, 0.05),
    (Adam, ref_adam, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}, 0.05),
    (Adam, ref_adam, {"amsgrad": True, "beta_2": 0.9, "epsilon": 1e-3}, 0.05),
    (AdamW, ref_adam, {"weight_decay": 0.01}, 0.05),
    (AdamW, ref_adam, {"weight_decay": 0.5, "amsgrad": True, "beta_2": 0.9}, 0.05),
    (NAdam, ref_nadam, {}, 0.05),
    (NAdam, ref_nadam, {"beta_1": 0.8, "momentum_decay": 0.1, "epsilon": 1e-3}, 0.05),
    (RAdam, ref_radam, {}, 0.05),
    (RAdam, ref_radam, {"beta_2": 0.9, "epsilon": 1e-3}, 0.05),
    (Adamax, ref_adamax, {}, 0.05),
    (Adamax, ref_adamax, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-2}, 0.05),
    (Adadelta, ref_adadelta, {}, 1.0),
    (Adadelta, ref_adadelta, {"rho": 0.5, "epsilon": 1e-3}, 1.0),
    (Lion, ref_lion, {}, 0.01),
    (Lion, ref_lion, {"beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.3}, 0.01),
    # A short memory makes the sign depend on the order of the two averages.
    (Lion, ref_lion, {"beta_2": 0.3}, 0.01),
]


@pytest.mark.parametrize(
    "cls, reference, kwargs, lr",
    REFERENCE_CASES,
    ids=[f"{c[0].__name__}-{c[2]}" for c in REFERENCE_CASES],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_published_update_rule(cls, reference, kwargs, lr, backend):
    params, grads = make_problem(seed=0)
    trajectory = run(cls(**kwargs), params, grads, lr, backend)
    for i, theta in enumerate(params):
        expected = reference(theta, [step[i] for step in grads], lr, **kwargs)
        for t, (step, want) in enumerate(zip(trajectory, expected, strict=True), 1):
            assert_allclose(step[i], want, rtol=1e-12, atol=1e-15, err_msg=f"t={t}")


def test_reference_problem_exercises_amsgrad_and_rectification():
    # The checks above only cover AMSGrad's maximum and RAdam's rectified
    # branch if the gradient sequence reaches them.
    params, grads = make_problem(seed=0)
    plain = run(Adam(beta_2=0.9), params, grads, 0.05)[-1]
    ams = run(Adam(beta_2=0.9, amsgrad=True), params, grads, 0.05)[-1]
    assert not np.allclose(plain[0], ams[0], rtol=1e-6)
    rho_inf = 2 / (1 - 0.999) - 1
    n = len(grads)
    assert rho_inf - 2 * n * 0.999**n / (1 - 0.999**n) > 5


def _optimizer_from_spec(spec):
    if isinstance(spec, str):
        return get_optimizer(spec)
    return getattr(optimizers, spec["class"])(**spec["params"])


def _case_id(case):
    spec = case["optimizer"]
    return spec if isinstance(spec, str) else f"{spec['class']}-{spec['params']}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", TORCH_REFERENCE["cases"], ids=_case_id)
def test_matches_torch_reference_data(case, backend):
    params = [np.array(p) for p in TORCH_REFERENCE["params"]]
    grads = [[np.array(g) for g in step] for step in TORCH_REFERENCE["grads"]]
    optimizer = _optimizer_from_spec(case["optimizer"])
    trajectory = run(optimizer, params, grads, case["lr"], backend)
    assert len(trajectory) == len(case["trajectory"]) >= 8
    expected = case["trajectory"]
    for t, (got, want) in enumerate(zip(trajectory, expected, strict=True), 1):
        for p, want_p in zip(got, want, strict=True):
            assert_allclose(p, want_p, rtol=1e-10, atol=1e-14, err_msg=f"t={t}")


def test_torch_reference_data_covers_every_builtin():
    specs = [c["optimizer"] for c in TORCH_REFERENCE["cases"]]
    names = {spec for spec in specs if isinstance(spec, str)}
    classes = {
        type(_optimizer_from_spec(c["optimizer"])) for c in TORCH_REFERENCE["cases"]
    }
    assert names >= set(STEP_RULES) - {"lion"}
    assert classes == {cls for cls, _ in BUILTINS.values()} - {Lion, LBFGS}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", TORCH_REFERENCE["cases"], ids=_case_id)
def test_matches_torch_live(case, backend):
    torch = pytest.importorskip("torch")
    params, grads = make_problem(seed=1, shapes=((5,), (2, 3)), n_steps=20)
    kwargs = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in case["torch"]["kwargs"].items()
    }
    default_dtype = torch.get_default_dtype()
    # torch keeps scalar state (NAdam's momentum product) in the default dtype.
    torch.set_default_dtype(torch.float64)
    try:
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        torch_optimizer = getattr(torch.optim, case["torch"]["class"])(
            tensors, lr=case["lr"], **kwargs
        )
        trajectory = run(
            _optimizer_from_spec(case["optimizer"]), params, grads, case["lr"], backend
        )
        for step_grads, got in zip(grads, trajectory, strict=True):
            for tensor, grad in zip(tensors, step_grads, strict=True):
                tensor.grad = torch.tensor(grad)
            torch_optimizer.step()
            for p, tensor in zip(got, tensors, strict=True):
                assert_allclose(p, tensor.detach().numpy(), rtol=1e-10, atol=1e-14)
    finally:
        torch.set_default_dtype(default_dtype)


def test_default_learning_rates():
    expected = {
        SGD: 0.01,
        AdaGrad: 0.5,
        RMSProp: 1e-2,
        Adam: 1e-2,
        AdamW: 1e-2,
        NAdam: 1e-2,
        RAdam: 0.1,
        Adamax: 1e-2,
        Adadelta: 1.0,
        Lion: 3e-3,
    }
    for cls, lr in expected.items():
        assert cls.default_learning_rate == lr
        # Only plain gradient descent derives its step from the curvature;
        # the others scale their default with the parameters' magnitude.
        if cls is not SGD:
            assert cls().auto_learning_rate(None, scale=30.0) == pytest.approx(30 * lr)
        if cls not in (SGD, RAdam):
            assert cls().auto_learning_rate(4.0) == lr
            assert cls().auto_learning_rate(4.0, scale=30.0) == pytest.approx(30 * lr)


def test_radam_auto_learning_rate_is_capped_by_curvature():
    # Its first steps are plain momentum steps: never above 1 / L.
    assert RAdam().auto_learning_rate(4.0, scale=30.0) == 0.25
    assert RAdam().auto_learning_rate(40.0, scale=0.01) == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "lipschitz, expected",
    [(4.0, 0.25), (np.float64(0.5), 2.0), (None, 0.01), (0.0, 0.01)]
    + [(-1.0, 0.01), (np.inf, 0.01), (np.nan, 0.01)],
)
def test_sgd_auto_learning_rate(lipschitz, expected):
    assert SGD().auto_learning_rate(lipschitz) == expected
    # Momentum keeps the effective step lr / (1 - momentum) at 1 / L.
    if expected != 0.01:
        momentum = SGD(momentum=0.9).auto_learning_rate(lipschitz)
        assert momentum == pytest.approx(0.1 * expected)


# Convergence. The learning rate is constant, then decays linearly to zero over
# the last fifth of the steps so that methods whose steps do not shrink with
# the gradient (sign-based, RMSProp, Adadelta) settle.

QUADRATIC = {  # name: (learning rate, steps, tolerance on |x - x*|)
    "sgd": (0.1, 1000, 1e-8),
    "momentum": (0.03, 1000, 1e-8),
    "nesterov": (0.03, 1000, 1e-8),
    "adagrad": (0.3, 1000, 1e-8),
    "rmsprop": (0.01, 1000, 1e-8),
    "adam": (0.03, 1000, 1e-8),
    "amsgrad": (0.03, 1000, 1e-8),
    "adamw": (0.1, 1000, 1e-3),  # weight decay moves the minimiser slightly
    "nadam": (0.03, 1000, 1e-8),
    "radam": (0.03, 1000, 1e-8),
    "adamax": (0.1, 1000, 1e-8),
    "adadelta": (1.0, 1000, 1e-8),
    "lion": (0.003, 1000, 1e-3),
}

ROSENBROCK = {  # name: (learning rate, steps, tolerance on |x - (1, 1)|)
    "sgd": (0.002, 10_000, 5e-3),
    "momentum": (0.003, 2000, 1e-6),
    "nesterov": (0.001, 5000, 1e-6),
    "adagrad": (0.5, 10_000, 5e-3),
    "rmsprop": (0.001, 10_000, 1e-3),
    "adam": (0.03, 5000, 1e-6),
    "amsgrad": (0.3, 2000, 1e-6),
    "adamw": (0.01, 10_000, 1e-2),
    "nadam": (0.003, 10_000, 1e-4),
    "radam": (0.003, 10_000, 5e-2),  # its first steps are plain momentum SGD
    "adamax": (0.03, 5000, 1e-3),
    "adadelta": (0.05, 10_000, 1e-2),
    "lion": (0.001, 5000, 1e-3),
}


def minimize(name, grad, x0, lr, n_steps):
    x = np.array(x0, dtype=float)
    state = OptimizerState(get_optimizer(name), [x])
    for t in range(n_steps):
        state.step([x], [grad(x)], lr * min(1.0, 5 * (n_steps - t) / n_steps))
    return x


def test_convergence_tables_cover_every_builtin():
    assert set(QUADRATIC) == set(ROSENBROCK) == set(STEP_RULES)


@pytest.mark.parametrize("name", sorted(QUADRATIC))
def test_converges_on_quadratic(name):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a = q @ np.diag(np.logspace(0, 1, 5)) @ q.T  # condition number 10
    b = rng.normal(size=5)
    x_star = np.linalg.solve(a, b)
    lr, n_steps, tol = QUADRATIC[name]
    x = minimize(name, lambda x: a @ x - b, np.zeros(5), lr, n_steps)
    assert np.linalg.norm(x - x_star) < tol


def rosenbrock_grad(x):
    return np.array(
        [-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)]
    )


@pytest.mark.parametrize("name", sorted(ROSENBROCK))
def test_converges_on_rosenbrock(name):
    lr, n_steps, tol = ROSENBROCK[name]
    x = minimize(name, rosenbrock_grad, [-1.2, 1.0], lr, n_steps)
    assert np.linalg.norm(x - 1.0) < tol


# get_optimizer and validation


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_get_optimizer_by_name(name):
    cls, params = BUILTINS[name]
    optimizer = get_optimizer(name)
    assert type(optimizer) is cls
    assert optimizer.get_params() == cls(**params).get_params()
    assert get_optimizer(name) is not optimizer
    clone = get_optimizer(optimizer)
    assert clone is not optimizer and clone.get_params() == optimizer.get_params()
    optimizer._validate_params()  # the built-in settings are valid


def test_available_optimizers():
    assert available_optimizers() == sorted(BUILTINS)


def test_get_optimizer_unknown_name():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'") as excinfo:
        get_optimizer("adamm")
    for name in BUILTINS:
        assert repr(name) in str(excinfo.value)


@pytest.mark.parametrize("bad", [None, 0.1, Adam, ["adam"]])
def test_get_optimizer_wrong_type(bad):
    with pytest.raises(TypeError, match="optimizer must be a string"):
        get_optimizer(bad)


def test_get_optimizer_clones_objects():
    original = AdamW(beta_1=0.8, weight_decay=0.1, amsgrad=True)
    optimizer = get_optimizer(original)
    assert optimizer is not original
    assert type(optimizer) is AdamW
    assert optimizer.get_params() == original.get_params()


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (Adam, {"beta_1": 1.5}),
        (Adam, {"beta_2": 1.0}),
        (Adam, {"epsilon": -1}),
        (Adam, {"amsgrad": "yes"}),
        (AdamW, {"weight_decay": -0.1}),
        (SGD, {"momentum": -0.1}),
        (SGD, {"dampening": 2.0}),
        (SGD, {"nesterov": 1.5}),
        (AdaGrad, {"initial_accumulator_value": -1.0}),
        (AdaGrad, {"epsilon": "small"}),
        (RMSProp, {"rho": 2}),
        (RMSProp, {"momentum": 1.0}),
        (NAdam, {"momentum_decay": -0.004}),
        (RAdam, {"beta_1": -0.1}),
        (Adamax, {"beta_2": 1.5}),
        (Adadelta, {"rho": 1.1}),
        (Lion, {"beta_2": 1.0}),
        (Lion, {"weight_decay": -1.0}),
    ],
)
def test_invalid_hyperparameters(cls, kwargs):
    optimizer = cls(**kwargs)  # construction never validates
    with pytest.raises(InvalidParameterError, match=next(iter(kwargs))):
        optimizer._validate_params()


@pytest.mark.parametrize(
    "kwargs",
    [{"nesterov": True}, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}],
)
def test_nesterov_needs_momentum_without_dampening(kwargs):
    optimizer = SGD(**kwargs)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optimizer._validate_params()


# Behaviour shared by every built-in


@pytest.mark.parametrize("name", STEP_RULES)
def test_stepping_does_not_mutate_the_optimizer(name):
    optimizer = get_optimizer(name)
    before = copy.deepcopy(vars(optimizer))
    params, grads = make_problem(seed=2, n_steps=5)
    run(optimizer, params, grads, 0.01)
    assert vars(optimizer) == before


@pytest.mark.parametrize("name", STEP_RULES)
def test_float32_parameters_stay_float32(name):
    params, grads = make_problem(seed=3, n_steps=5)
    params32 = [p.astype(np.float32) for p in params]
    grads32 = [[g.astype(np.float32) for g in step] for step in grads]
    optimizer = get_optimizer(name)
    state = OptimizerState(optimizer, params32)
    for step in grads32:
        state.step(params32, step, np.float64(0.01))  # a NumPy scalar rate
    for p, slot in zip(params32, state.slots, strict=True):
        assert p.dtype == np.float32
        for buffer in slot.values():
            assert not isinstance(buffer, np.ndarray) or buffer.dtype == np.float32
    expected = run(optimizer, params, grads, 0.01)[-1]
    for p32, p64 in zip(params32, expected, strict=True):
        assert_allclose(p32, p64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", STEP_RULES)
def test_parameters_are_updated_independently(name):
    params, grads = make_problem(seed=4, shapes=((3,), (4, 2)), n_steps=6)
    together = run(get_optimizer(name), params, grads, 0.01)[-1]
    for i, p in enumerate(params):
        alone = run(get_optimizer(name), [p], [[step[i]] for step in grads], 0.01)
        assert together[i].shape == p.shape
        assert_array_equal(together[i], alone[-1][0])


def test_the_full_batch_solver_has_no_step():
    params, grads = make_problem(seed=2, n_steps=1)
    with pytest.raises(TypeError, match="full-batch solver"):
        run(LBFGS(), params, grads, 0.01)


# User-written optimizers


class SignSGD(Optimizer):
    """Move every parameter by ``lr`` against the sign of its gradient."""

    def update(self, param, grad, state, lr, t):
        param -= lr * np.sign(grad)


class HeavyBall(Optimizer):
    """Polyak momentum with a zero-initialised velocity."""

    def __init__(self, beta=0.5):
        self.beta = beta

    def init_state(self, param):
        return {"velocity": np.zeros_like(param)}

    def update(self, param, grad, state, lr, t):
        state["velocity"] = self.beta * state["velocity"] - lr * grad
        param += state["velocity"]


def test_user_written_optimizers():
    w = np.array([1.0, -2.0, 0.5])
    state = OptimizerState(get_optimizer(SignSGD()), [w])
    state.step([w], [np.array([3.0, -0.1, 0.0])], 0.25)
    assert_array_equal(w, [0.75, -1.75, 0.5])

    optimizer = HeavyBall(beta=0.5)
    clone = get_optimizer(optimizer)
    assert clone is not optimizer and clone.get_params() == {"beta": 0.5}
    clone._validate_params()
    w = np.array([1.0])
    state = OptimizerState(clone, [w])
    for _ in range(3):
        state.step([w], [np.array([1.0])], 0.1)
    assert state.t == 3
    assert_allclose(w, [1.0 - 0.1 - 0.15 - 0.175])


def test_optimizer_without_update_fails_clearly():
    class Incomplete(Optimizer):
        pass

    state = OptimizerState(Incomplete(), [np.zeros(2)])
    with pytest.raises(NotImplementedError, match="Incomplete must implement"):
        state.step([np.zeros(2)], [np.ones(2)], 0.1)


# Parameter groups: decoupled weight decay skips intercepts and biases


@pytest.mark.parametrize(
    "cls, reference, kwargs",
    [
        (AdamW, ref_adam, {"weight_decay": 0.5}),
        (AdamW, ref_adam, {"weight_decay": 0.2, "amsgrad": True}),
        (Lion, ref_lion, {"weight_decay": 0.3}),
    ],
)
def test_state_decays_only_the_decay_index(cls, reference, kwargs):
    params, grads = make_problem(seed=5, shapes=((4,), (3, 2)))
    lr = 0.05
    state_params = [p.copy() for p in params]
    state = OptimizerState(cls(**kwargs), state_params, decay_index=slice(0, 2))
    for step_grads in grads:
        state.step(state_params, [g.copy() for g in step_grads], lr)
    undecayed = {**kwargs, "weight_decay": 0.0}
    for i, theta in enumerate(params):
        history = [step[i] for step in grads]
        decayed = reference(theta, history, lr, **kwargs)[-1]
        plain = reference(theta, history, lr, **undecayed)[-1]
        assert_allclose(state_params[i][:2], decayed[:2], rtol=1e-12, atol=1e-15)
        assert_allclose(state_params[i][2:], plain[2:], rtol=1e-12, atol=1e-15)
        # The decay made a difference where it applies.
        assert not np.allclose(state_params[i][:2], plain[:2], rtol=1e-6)


@pytest.mark.parametrize("index", [np.arange(2), [0, 1], None, 2])
def test_decay_index_must_be_a_slice(index):
    with pytest.raises(TypeError, match="decay_index must be a slice"):
        OptimizerState(AdamW(), [np.zeros(3)], decay_index=index)
    state = OptimizerState(AdamW(), [np.zeros(3)])
    assert state.decay_index == slice(None)
    with pytest.raises(TypeError, match="decay_index must be a slice"):
        state.decay_index = index


def test_decay_weights_of_a_user_optimizer():
    class DecayingSignSGD(SignSGD):
        def __init__(self, weight_decay=0.1):
            self.weight_decay = weight_decay

        def decay_weights(self, weights, lr):
            weights *= 1 - lr * self.weight_decay

    w = np.array([2.0, -2.0, 2.0])
    state = OptimizerState(DecayingSignSGD(0.5), [w], decay_index=slice(0, 2))
    state.step([w], [np.array([1.0, 0.0, -1.0])], 0.1)
    assert_allclose(w, [2.0 * 0.95 - 0.1, -2.0 * 0.95, 2.0 + 0.1])
    # The base class decays nothing: SignSGD ignores the index.
    w = np.array([2.0, -2.0, 2.0])
    OptimizerState(SignSGD(), [w], decay_index=slice(0, 2)).step([w], [w * 0], 0.1)
    assert_array_equal(w, [2.0, -2.0, 2.0])


def _offset_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 5000.0 + 0.1 * rng.normal(size=200)
    return X, y


@pytest.mark.parametrize("optimizer", ["adamw", Lion(weight_decay=0.03)])
def test_weight_decay_skips_the_intercept(optimizer):
    from sklearn.linear_model import LinearRegression

    from skgd import GDRegressor

    X, y = _offset_regression()
    reg = GDRegressor(optimizer=optimizer, random_state=0).fit(X, y)
    assert LinearRegression().fit(X, y).score(X, y) > 0.998
    # Decaying the intercept of 5000 gave R^2 of -7 (AdamW) and -74 (Lion).
    assert reg.score(X, y) >= 0.99
    assert reg._state.optimizer_state.decay_index == slice(0, 3)


def _trained_biases(clf):
    from skgd.network._model import _Layout

    return _Layout(clf._setup.layer_units).views(clf._state.params)[1]


def _one_mlp_step(optimizer):
    from skgd import MLPGDClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPGDClassifier(
        hidden_layer_sizes=(5,),
        optimizer=optimizer,
        learning_rate=0.1,
        batch_size=None,  # one epoch is one step
        max_iter=1,
        tol=None,
        random_state=0,
    )
    return clf.fit(X, y)


def test_mlp_biases_are_not_decayed():
    class Stay(Optimizer):
        def update(self, param, grad, state, lr, t):
            pass

    start = _one_mlp_step(Stay())
    adam = _one_mlp_step(Adam())
    adamw = _one_mlp_step(AdamW(weight_decay=0.5))
    # The biases as the optimizer sees them: the first layer's act on the
    # rescaled inputs (its intercepts_ in X's units also depend on its weights).
    biases = [_trained_biases(clf) for clf in (start, adam, adamw)]
    for i in range(2):
        # AdamW = Adam's step after shrinking the weights by 1 - lr * lambda;
        # the biases take Adam's step unchanged.
        step = adam.coefs_[i] - start.coefs_[i]
        assert_allclose(adamw.coefs_[i], 0.95 * start.coefs_[i] + step, rtol=1e-12)
        assert_array_equal(biases[2][i], biases[1][i])
        assert not np.array_equal(biases[1][i], biases[0][i])
    n_weights = sum(c.size for c in adamw.coefs_)
    assert adamw._state.optimizer_state.decay_index == slice(0, n_weights)


def test_state_with_decay_index_pickles():
    import pickle

    params, grads = make_problem(seed=6, shapes=((4,),))
    w = params[0]
    state = OptimizerState(AdamW(weight_decay=0.5), [w], decay_index=slice(0, 3))
    state.step([w], grads[0], 0.05)
    # Only the slice is stored: no view of the parameters to go stale.
    assert all(not isinstance(v, np.ndarray) for v in vars(state).values())
    for copied in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state)):
        assert copied.decay_index == slice(0, 3)
        w_copy = w.copy()
        copied.step([w_copy], grads[1], 0.05)
        state_copy = copy.deepcopy(state)
        w_ref = w.copy()
        state_copy.step([w_ref], grads[1], 0.05)
        assert_array_equal(w_copy, w_ref)


def test_state_saved_without_decay_index_still_trains():
    import pickle

    from skgd import GDRegressor

    X, y = _offset_regression()
    reg = GDRegressor(optimizer="adamw", random_state=0).fit(X, y)
    # A state saved before parameter groups existed: no decay index.
    del reg._state.optimizer_state.__dict__["_decay_index"]
    old = pickle.loads(pickle.dumps(reg))
    assert old._state.optimizer_state.decay_index == slice(None)
    old.partial_fit(X, y)
    assert old._state.optimizer_state.decay_index == slice(0, 3)
    assert old.score(X, y) >= 0.99


class Wrapped(Optimizer):
    """Steps with another optimizer, given as a hyperparameter."""

    def __init__(self, inner=None):
        self.inner = inner

    def init_state(self, param):
        return self.inner.init_state(param)

    def decay_weights(self, weights, lr):
        self.inner.decay_weights(weights, lr)

    def update(self, param, grad, state, lr, t):
        self.inner.update(param, grad, state, lr, t)


def test_a_wrapper_that_forwards_decay_weights_decays_like_adamw():
    w, v = np.array([1.0, -2.0, 3.0]), np.array([1.0, -2.0, 3.0])
    grad = np.array([0.5, 0.5, -0.5])
    direct = OptimizerState(AdamW(weight_decay=0.2), [w], decay_index=slice(0, 2))
    wrapped = OptimizerState(
        Wrapped(AdamW(weight_decay=0.2)), [v], decay_index=slice(0, 2)
    )
    for _ in range(3):
        direct.step([w], [grad.copy()], lr=0.1)
        wrapped.step([v], [grad.copy()], lr=0.1)
    assert_allclose(v, w, rtol=1e-15)
    assert not np.allclose(w[:2], [0.7, -1.7])  # the weights did shrink


def test_partial_fit_keeps_the_state_of_a_nested_optimizer():
    from skgd import GDRegressor

    X, y = _offset_regression()
    kwargs = {"learning_rate": 0.05, "batch_size": None, "random_state": 0}
    wrapped = GDRegressor(optimizer=Wrapped(Adam()), **kwargs)
    plain = GDRegressor(optimizer=Adam(), **kwargs)
    for _ in range(3):
        wrapped.partial_fit(X, y)
        plain.partial_fit(X, y)
    # The clone made at each call has equal hyperparameters: the moments and
    # the step count carry over, as with the optimizer alone.
    assert wrapped._state.optimizer_state.t == 3
    assert_allclose(wrapped.coef_, plain.coef_, rtol=1e-12)
    # A changed nested hyperparameter is a new update rule: fresh state.
    wrapped.set_params(optimizer__inner__beta_1=0.5)
    wrapped.partial_fit(X, y)
    assert wrapped._state.optimizer_state.t == 1


def test_restart_empties_the_momentum_only():
    w = np.array([1.0, -1.0])
    state = OptimizerState(SGD(momentum=0.9), [w])
    state.step([w], [np.array([1.0, 2.0])], lr=0.1)
    SGD(momentum=0.9).restart(state.slots[0])
    assert_array_equal(state.slots[0]["b"], [0.0, 0.0])
    before = {
        name: b.copy() for name, b in OptimizerState(Adam(), [w]).slots[0].items()
    }
    adam = OptimizerState(Adam(), [w])
    Adam().restart(adam.slots[0])  # keeps its moments: nothing to forget
    assert all((adam.slots[0][n] == before[n]).all() for n in before)


def test_reset_empties_the_buffers_and_the_step_count():
    w = np.array([1.0, -1.0])
    state = OptimizerState(Adam(), [w])
    for _ in range(3):
        state.step([w], [np.array([0.5, -2.0])], lr=0.1)
    state.reset([w])
    fresh = OptimizerState(Adam(), [w.copy()])
    assert state.t == 0
    assert state.slots[0].keys() == fresh.slots[0].keys()
    for name, value in fresh.slots[0].items():
        assert_array_equal(state.slots[0][name], value)
