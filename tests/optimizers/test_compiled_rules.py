"""The compiled twins of the optimizers, losses and activations against
their declarations.

Every registered optimizer names its compiled rule (or declares that it has
none); ``RULES`` in skgd/optimizers/_rules.pxi declares each rule's id,
hyperparameters and buffers by name. Every loss and output unit names its
kernel entry (``LOSSES``, ``OUTPUTS``), and every activation has a kernel
code. These tests enumerate the registries, so an optimizer, loss or
activation without a compiled twin, a rule without a branch, or a buffer
named differently in Python and in the kernels fails here; the equivalence
tests (tests/_backends.py) then run every registered entry on both loops.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skgd import GDRegressor
from skgd.linear import _epoch as linear_kernel
from skgd.linear._backend import compiled_loss
from skgd.losses._classification import CLASSIFICATION_LOSSES, get_classification_loss
from skgd.losses._cross_entropy import OUTPUTS as CLASSIFIER_OUTPUTS
from skgd.losses._regression import REGRESSION_LOSSES, SquaredError, get_regression_loss
from skgd.network import _epoch as network_kernel
from skgd.network._activations import ACTIVATIONS
from skgd.network._regression_outputs import REGRESSION_OUTPUTS, get_regression_output
from skgd.optimizers import Adam, OptimizerState, available_optimizers, get_optimizer
from skgd.optimizers._compiled import compiled_rule, declared_rule

KERNELS = [
    pytest.param(linear_kernel, id="linear"),
    pytest.param(network_kernel, id="network"),
]
REGISTERED = available_optimizers()
# Every option that adds a buffer, where an optimizer has it.
ALL_BUFFERS = {"momentum": 0.9, "centered": True, "amsgrad": True, "nesterov": True}


def _with_every_buffer(name):
    optimizer = get_optimizer(name)
    own = optimizer.get_params()
    return optimizer.set_params(**{k: v for k, v in ALL_BUFFERS.items() if k in own})


@pytest.mark.parametrize("name", REGISTERED)
def test_every_registered_optimizer_declares_its_compiled_rule(name):
    optimizer = get_optimizer(name)
    assert "compiled_rule" in type(optimizer).__dict__, name
    rule = declared_rule(optimizer)
    if optimizer.full_batch:
        assert rule is None  # L-BFGS runs its own iterations
    else:
        assert rule in linear_kernel.RULES
        assert rule in network_kernel.RULES


def test_both_kernels_have_the_same_rules_numbered_without_gaps():
    assert linear_kernel.RULES == network_kernel.RULES
    ids = sorted(rule[0] for rule in linear_kernel.RULES.values())
    assert ids == list(range(len(ids)))
    used = {declared_rule(get_optimizer(name)) for name in REGISTERED}
    assert used - {None} == set(linear_kernel.RULES)  # no rule is left unused
    for _, names, _, _ in linear_kernel.RULES.values():
        assert len(names) <= linear_kernel.HYPERPARAMETERS


@pytest.mark.parametrize("name", [n for n in REGISTERED if n != "lbfgs"])
def test_the_rule_names_the_buffers_and_scalars_the_numpy_state_keeps(name):
    optimizer = _with_every_buffer(name)
    _, names, buffers, scalar = linear_kernel.RULES[declared_rule(optimizer)]
    state = optimizer.init_state(np.zeros(3))
    assert set(state) == set(buffers) | ({scalar} if scalar else set())
    # Every hyperparameter the rule reads is one of the optimizer's, or one it
    # lacks and leaves off (Adam reads AdamW's rule without weight decay).
    params = optimizer.get_params()
    missing = [n for n in names if n not in params]
    assert missing in ([], ["weight_decay"]), missing


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", [n for n in REGISTERED if n != "lbfgs"])
def test_every_rule_steps_as_the_numpy_optimizer(kernel, name):
    # A rule whose branch were missing from the kernel would leave the
    # parameters where they are.
    rng = np.random.RandomState(0)
    optimizer = _with_every_buffer(name)
    start = rng.normal(size=6)
    reference, compiled = start.copy(), start.copy()
    numpy_state = OptimizerState(optimizer, [reference])
    kernel_state = OptimizerState(optimizer, [compiled])
    rule = compiled_rule(kernel_state, kernel.RULES)
    for step in range(4):
        grad = rng.normal(size=6)
        numpy_state.step([reference], [grad.copy()], 0.05)  # it may overwrite
        kernel_state.t += 1
        slot = kernel_state.slots[0]
        scalar = kernel.optimizer_step(
            rule.id,
            rule.hyperparameters(kernel_state),
            compiled,
            grad,
            *rule.buffer_list(slot, np.empty(0)),
            0.05,
            kernel_state.t,
            rule.scalar_of(slot),
            6,
        )
        rule.keep_scalar(slot, scalar)
        if step == 0:
            assert np.all(compiled != start)
    assert_allclose(compiled, reference, rtol=1e-12, atol=1e-14)


def test_a_subclass_runs_on_the_numpy_loop_unless_it_declares_a_rule():
    class SignAdam(Adam):
        def update(self, param, grad, state, lr, t):
            param -= lr * np.sign(grad)

    state = OptimizerState(SignAdam(), [np.zeros(2)])
    assert compiled_rule(state, linear_kernel.RULES) is None


def test_an_unknown_rule_raises_at_the_kernel_boundary():
    class Misnamed(Adam):
        compiled_rule = "adamm"

    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2))
    est = GDRegressor(optimizer=Misnamed(), max_iter=2, tol=None)
    with pytest.raises(ValueError, match="declares the compiled rule 'adamm'"):
        est.fit(X, X[:, 0])


# -- losses, output units and activations ------------------------------------------


def _linear_losses():
    regression = [get_regression_loss(name) for name in REGRESSION_LOSSES]
    classification = [
        get_classification_loss(name, n_classes)
        for name in CLASSIFICATION_LOSSES
        for n_classes in (2, 3)
    ]
    return regression + classification


def _network_outputs():
    return [get_regression_output(name, 1.0) for name in REGRESSION_OUTPUTS] + list(
        CLASSIFIER_OUTPUTS.values()
    )


def test_every_linear_loss_has_its_compiled_twin():
    declared = set()
    for loss in _linear_losses():
        assert "compiled_loss" in type(loss).__dict__, type(loss).__name__
        family, code, parameter = linear_kernel.LOSSES[loss.compiled_loss]
        assert parameter is None or hasattr(loss, parameter)
        declared.add(loss.compiled_loss)
    assert declared == set(linear_kernel.LOSSES)  # and no entry is left unused
    pairs = [(family, code) for family, code, _ in linear_kernel.LOSSES.values()]
    assert len(set(pairs)) == len(pairs)


def test_every_network_output_and_activation_has_its_compiled_twin():
    declared = set()
    for output in _network_outputs():
        assert "compiled_output" in type(output).__dict__, type(output).__name__
        assert output.compiled_output in network_kernel.OUTPUTS
        declared.add(output.compiled_output)
    assert declared == set(network_kernel.OUTPUTS)
    assert set(ACTIVATIONS) == set(network_kernel.ACTIVATIONS)
    codes = list(network_kernel.ACTIVATIONS.values())
    assert sorted(codes) == list(range(len(codes)))


def test_a_loss_naming_an_unknown_compiled_loss_raises():
    class Misnamed(SquaredError):
        compiled_loss = "squared_eror"

    with pytest.raises(ValueError, match="declares the compiled loss 'squared_eror'"):
        compiled_loss(Misnamed())
    # A subclass that declares nothing runs on the NumPy loop.
    assert compiled_loss(type("Mine", (SquaredError,), {})()) is None
