"""The compiled backend of the network's epochs.

:func:`network_backend` decides whether an epoch of an ``_MLPModel`` can run
in the compiled extension ``skgd.network._epoch``: the optimizer must be a
built-in one (its exact class: a subclass may change the update), the
activation and the output loss built-in ones, and the data of the types the
extension reads (float32 or float64, dense with positive strides or CSR with
32-bit indices). Anything else runs on the NumPy reference loop of
``skgd.training._loop``, as does everything when the extension is not built.

Both extensions include the same compiled update rules
(``skgd/optimizers/_rules.pxi``), read through :mod:`skgd.optimizers._compiled`.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._extensions import declared_entry, load
from ..optimizers._compiled import compiled_rule
from ..training._blas import SERIAL_PRODUCT, THREADED_PRODUCT, serial_blas
from ..training._kernel_io import (
    EpochPlan,
    RuleState,
    after_epoch,
    check_bundles,
    epoch_plan,
    readable,
    rule_state,
)
from ..training._loop import _reference_epoch
from ._regression_outputs import (
    StandardisedTarget,
)

# None only when the NumPy loop is asked for (see skgd._extensions).
_network_epoch = load("network._epoch")

# How the first layer reads X (``layout`` in skgd/network/_epoch.pyx).
_ROWS, _COLUMNS, _GATHER, _CSR = range(4)


class NetworkData(NamedTuple):
    """X as the first layer reads it, the targets and the weights."""

    #: Dense X (empty when CSR), read with ``layout`` and row stride ``ld``.
    X: np.ndarray
    X_data: np.ndarray
    X_indices: np.ndarray
    X_indptr: np.ndarray
    layout: int
    ld: int
    #: Buffer for a batch's rows when the layout gathers them.
    gathered: np.ndarray
    Y: np.ndarray
    W: np.ndarray
    weighted: bool


class NetworkParameters(NamedTuple):
    """The layers, activation, output and penalty; parameters and buffers."""

    #: Per layer: inputs, outputs, weight start, bias start, buffer block start.
    layers: np.ndarray
    #: The hidden layers' activation (``ACTIVATIONS`` in the kernel).
    activation: int
    #: The output unit and its loss (``OUTPUTS`` in the kernel), Huber's epsilon.
    output: int
    epsilon: float
    alpha: float
    n_weights: int
    params: np.ndarray
    grad: np.ndarray
    activations: np.ndarray
    deltas: np.ndarray
    #: The first layer's input centres and reciprocal spreads (empty: none),
    #: and a buffer for its weights in X's units.
    offset: np.ndarray
    inv_scale: np.ndarray
    first: np.ndarray


if _network_epoch is not None:
    check_bundles(
        _network_epoch._epoch, (NetworkData, EpochPlan, NetworkParameters, RuleState)
    )

# An epoch whose largest matrix product has from _SERIAL_PRODUCT to
# _THREADED_PRODUCT multiply-adds runs its BLAS calls on one thread (see
# skgd.training._blas). Above, SciPy's BLAS (the extension's) wakes its threads,
# which compete for the cores with those of NumPy's BLAS, still spinning
# after NumPy's last product (the validation score, the last batch's
# check): on two cores, epochs with products of 2**20 to 2**25.6
# multiply-adds took 1.2 to 5 times longer (median) with threads than
# without, single epochs up to 12 times.
_SERIAL_PRODUCT = SERIAL_PRODUCT
_THREADED_PRODUCT = THREADED_PRODUCT


def available():
    """Whether the compiled extension is built."""
    return _network_epoch is not None


def network_backend(model, state, data):
    """The compiled epoch of ``model`` for this state and data, or None."""
    if _network_epoch is None:
        return None
    optimizer_state = state.optimizer_state
    rule = compiled_rule(optimizer_state, _network_epoch.RULES)
    output = compiled_output(_loss_of(model.output))
    dtype = model.params.dtype
    if (
        rule is None
        or model.activation not in _network_epoch.ACTIVATIONS
        or output is None
        or len(optimizer_state.slots) != 1
        or optimizer_state.decay_index != model.decay_index
        or dtype not in (np.float32, np.float64)
        or not model.params.flags.c_contiguous
        # The network kernel reads 32-bit CSR indices only.
        or not readable(data.X, dtype, index_types=(np.int32,))
        or data.y.dtype != dtype
        or not _slots_match(optimizer_state.slots[0], rule.buffers, model.params)
    ):
        return None
    return _NetworkEpoch(rule, output)


def compiled_output(output):
    """The kernel's code of the output unit ``output``, or None.

    Read from the class that declares ``compiled_output`` only
    (:func:`skgd._extensions.declared_entry`).

    Raises
    ------
    ValueError
        If the class names an output the kernel does not have.
    """
    return declared_entry(
        output, "compiled_output", _network_epoch.OUTPUTS, "compiled output"
    )


def _loss_of(output):
    """The loss an output unit computes (standardised targets: its inner one)."""
    return output.inner if type(output) is StandardisedTarget else output


def _targets(model, data, dtype):
    """The targets the loss compares with: standardised as the output unit
    standardises them (one copy of y per epoch), as a 2-d array."""
    y = data.y
    if type(model.output) is StandardisedTarget:
        y = model.output._standardised(y).astype(dtype, copy=False)
    return y if y.ndim == 2 else y.reshape(-1, 1)


def _slots_match(slot, names, params):
    """Whether the optimizer's buffers are flat arrays like the parameters."""
    return all(
        isinstance(slot[name], np.ndarray)
        and slot[name].dtype == params.dtype
        and slot[name].shape == params.shape
        and slot[name].flags.c_contiguous
        for name in names
        if name in slot
    )


def _input_layout(X, shuffled):
    """How the first layer reads X: its code and row stride (in elements).

    BLAS reads rows in place when they are in order and X is C- or
    Fortran-like (with a stride that fits its 32-bit integers); otherwise
    each batch's rows are copied into a buffer first.
    """
    if sp.issparse(X):
        return _CSR, 0
    rows, columns = (stride // X.itemsize for stride in X.strides)
    if not shuffled and columns == 1 and X.shape[1] <= rows < 2**31:
        return _ROWS, rows
    if not shuffled and rows == 1 and X.shape[0] <= columns < 2**31:
        return _COLUMNS, columns
    return _GATHER, 0


def _layer_table(model):
    """Per layer: inputs, outputs, weight and bias starts, buffer block start."""
    layout = model.layout
    n_in, n_out = zip(*layout.shapes, strict=True)
    columns = (n_in, n_out, layout.weight_starts, layout.bias_starts)
    return np.array([*columns, model.buffer_starts], dtype=np.intp).T.copy()


def _blas_threads(model, largest):
    """A context running BLAS on one thread when the products are mid-sized.

    See :func:`skgd.training._blas.serial_blas`, with this module's thresholds.
    """
    product = largest * max(n_in * n_out for n_in, n_out in model.layout.shapes)
    return serial_blas(product, _SERIAL_PRODUCT, _THREADED_PRODUCT)


class _NetworkEpoch:
    """Runs an epoch of one model in the extension; called like the reference."""

    def __init__(self, rule, output):
        self.rule = rule
        self.output = output

    def __call__(self, model, state, config, data, plan, rates, limit):
        if config.average_start:
            # MLPGDClassifier does not average its iterates; should a
            # network ever be averaged, its epochs run on the NumPy loop.
            return _reference_epoch(model, state, config, data, plan, rates, limit)
        kernel_plan = epoch_plan(data, plan, rates, limit)
        largest = int(np.max(np.diff(kernel_plan.bounds)))
        model.reserve(largest)
        shuffled = kernel_plan.index.shape[0] > 0
        optimizer = rule_state(
            self.rule, state.optimizer_state, np.empty(0, model.params.dtype)
        )
        with _blas_threads(model, largest):
            total, taken, scalar = _network_epoch.network_epoch(
                _data(data, shuffled, largest, model),
                kernel_plan,
                _parameters(model, self.output),
                optimizer,
            )
        after_epoch(self.rule, state.optimizer_state, taken, scalar)
        return total, taken


def _data(data, shuffled, largest, model):
    """X as the extension reads it, the targets and the sample weights."""
    X, weight, dtype = data.X, data.sample_weight, model.params.dtype
    layout, ld = _input_layout(X, shuffled)
    sparse = layout == _CSR
    empty = np.empty(0, dtype)
    gathered = np.empty((0, 0), dtype)
    if layout == _GATHER:
        gathered = np.empty((largest, X.shape[1]), dtype)
    return NetworkData(
        np.empty((0, 0), dtype) if sparse else X,
        X.data if sparse else empty,
        X.indices if sparse else np.empty(0, np.int32),
        X.indptr if sparse else np.empty(0, np.int32),
        layout,
        ld,
        gathered,
        _targets(model, data, dtype),
        empty if weight is None else weight.astype(dtype, copy=False),
        weight is not None,
    )


def _parameters(model, output):
    """The layers, activation, loss (``output``: its kernel code) and penalty;
    parameters and work buffers."""
    loss = _loss_of(model.output)
    return NetworkParameters(
        _layer_table(model),
        _network_epoch.ACTIVATIONS[model.activation],
        output,
        float(getattr(loss, "epsilon", 0.0)),
        float(model.alpha),
        model.weights.size,
        model.params,
        model.grad,
        model.activation_buffer,
        model.delta_buffer,
        *model.rescaling_arguments(),
    )
