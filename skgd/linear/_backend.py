"""The compiled backend of the linear model's epochs.

:func:`linear_backend` decides whether an epoch of a ``_LinearModel`` can run
in the compiled extension ``skgd.linear._epoch``: the loss's class must
declare a compiled loss (``compiled_loss``, an entry of ``LOSSES`` in
skgd/linear/_epoch.pyx), the optimizer's class a compiled rule
(:mod:`skgd.optimizers._compiled`), and the data must be of the types the
extension reads (float32 or float64, dense or CSR). Only the class that
declares them runs compiled: a subclass may change the loss or the update.
Anything else runs on the NumPy reference loop of ``skgd.training._loop``.
The extension takes the epoch as five bundles (:mod:`skgd.training._kernel_io`).
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._extensions import declared_entry, load
from ..optimizers._compiled import compiled_rule
from ..training._kernel_io import (
    EpochPlan,
    RuleState,
    after_epoch,
    check_bundles,
    epoch_plan,
    readable,
    rule_state,
)

# None only when the NumPy loop is asked for (see skgd._extensions).
_linear_epoch = load("linear._epoch")


class LinearData(NamedTuple):
    """X (dense, or CSR as its three arrays), the targets and the weights."""

    X: np.ndarray
    X_data: np.ndarray
    X_indices: np.ndarray
    X_indptr: np.ndarray
    sparse: bool
    Y: np.ndarray
    W: np.ndarray
    weighted: bool


class LinearParameters(NamedTuple):
    """The parameters, their work buffers, the loss and the penalty."""

    #: Coefficients (rows 0..n_features-1) and intercept (last row).
    P: np.ndarray
    #: Work buffer: the coefficients in X's units.
    coef: np.ndarray
    #: Work buffer: the gradient.
    G: np.ndarray
    #: The features' reciprocal spreads (ones: no rescaling).
    inv_scale: np.ndarray
    #: The features' centres, used when ``centred``.
    offset: np.ndarray
    centred: bool
    #: The loss's entry in ``LOSSES``: family, code and parameter.
    loss_family: int
    loss_code: int
    loss_param: float
    l1: float
    l2: float
    #: Each coefficient's weight in the penalty.
    penalty_weight: np.ndarray


class Averaging(NamedTuple):
    """The running average of the iterates (``average_start == 0``: off)."""

    A: np.ndarray
    average_start: int
    samples_seen: int
    n_averaged: int


if _linear_epoch is not None:
    check_bundles(
        _linear_epoch._epoch,
        (LinearData, EpochPlan, LinearParameters, RuleState, Averaging),
    )


def compiled_loss(loss):
    """``(family, code, parameter)`` of the compiled twin of ``loss``, or None.

    Raises
    ------
    ValueError
        If the loss's class names a loss the kernel does not have.
    """
    entry = declared_entry(loss, "compiled_loss", _linear_epoch.LOSSES, "compiled loss")
    if entry is None:
        return None
    family, code, attribute = entry
    return family, code, 0.0 if attribute is None else float(getattr(loss, attribute))


def available():
    """Whether the compiled extension is built."""
    return _linear_epoch is not None


def _matrix(a):
    """``a`` as a 2-D view (one column for a vector); never a copy."""
    return a.reshape(a.shape[0], -1) if a.ndim == 1 else a


def linear_backend(model, state, data):
    """The compiled epoch of ``model`` for this state and data, or None."""
    if _linear_epoch is None:
        return None
    optimizer_state = state.optimizer_state
    rule = compiled_rule(optimizer_state, _linear_epoch.RULES)
    loss = compiled_loss(model.loss)
    dtype = model.params.dtype
    if (
        rule is None
        or loss is None
        or len(optimizer_state.slots) != 1
        or optimizer_state.decay_index != model.decay_index
        or dtype not in (np.float32, np.float64)
        or not readable(data.X, dtype)
        or data.y.dtype != dtype
        or not model.params.flags.c_contiguous
    ):
        return None
    return _LinearEpoch(model, rule, loss)


def compiled_step(optimizer_state, params, grads, lr):
    """:meth:`OptimizerState.step` on the compiled update rules.

    The optimizer's buffers live in ``optimizer_state`` as usual. Used to test
    the compiled rules against the reference ones step by step; the optimizer
    must be a built-in one and the parameters contiguous float arrays.
    """
    rule = compiled_rule(optimizer_state, _linear_epoch.RULES)
    hyper = rule.hyperparameters(optimizer_state)
    optimizer_state.t += 1
    index = optimizer_state.decay_index
    for param, grad, slot in zip(params, grads, optimizer_state.slots, strict=True):
        flat = param.reshape(-1)
        start, stop, stride = index.indices(param.shape[0])
        if start != 0 or stride != 1:
            raise ValueError("The compiled rules decay a leading block of rows.")
        n_weights = stop * (flat.size // param.shape[0])
        empty = np.empty(0, param.dtype)
        buffers = [buffer.reshape(-1) for buffer in rule.buffer_list(slot, empty)]
        scalar = _linear_epoch.optimizer_step(
            rule.id,
            hyper,
            flat,
            np.ascontiguousarray(grad, param.dtype).reshape(-1),
            *buffers,
            lr,
            optimizer_state.t,
            rule.scalar_of(slot),
            n_weights,
        )
        rule.keep_scalar(slot, scalar)


class _LinearEpoch:
    """Runs an epoch of one model in the extension; called like the reference."""

    def __init__(self, model, rule, loss):
        self.model = model
        self.rule = rule
        self.loss = loss

    def __call__(self, model, state, config, data, plan, rates, limit):
        dtype = model.params.dtype
        if config.average_start > 0 and state.average is None:
            state.average, state.n_averaged = np.empty_like(model.params), 0
        kernel_plan = epoch_plan(data, plan, rates, limit)
        optimizer = rule_state(
            self.rule, state.optimizer_state, np.empty((0, 0), dtype), shape=_matrix
        )
        total, taken, _, samples_seen, n_averaged, scalar = _linear_epoch.linear_epoch(
            _data(data, dtype),
            kernel_plan,
            self._parameters(model),
            optimizer,
            _averaging(state, config, dtype),
        )
        after_epoch(self.rule, state.optimizer_state, taken, scalar)
        if config.average_start > 0:
            state.samples_seen, state.n_averaged = samples_seen, n_averaged
            if n_averaged == 0:
                state.average = None
        return total, taken

    def _parameters(self, model):
        dtype = model.params.dtype
        P = _matrix(model.params)
        n_features = P.shape[0] - 1
        penalty = model.penalty
        return LinearParameters(
            P,
            np.empty((n_features, P.shape[1]), dtype),
            np.empty_like(P),
            np.ones(n_features)
            if model.inv_scale is None
            else np.asarray(model.inv_scale, np.float64).reshape(n_features, -1)[:, 0],
            np.empty(0, dtype)
            if model.offset is None
            else model.offset.astype(dtype, copy=False),
            model.offset is not None,
            *self.loss,
            float(penalty.l1),
            float(penalty.l2),
            np.ones(n_features) if penalty.weight is None else penalty.weight,
        )


def _data(data, dtype):
    X, weight = data.X, data.sample_weight
    sparse = sp.issparse(X)
    return LinearData(
        np.empty((0, 0), dtype) if sparse else X,
        X.data if sparse else np.empty(0, dtype),
        X.indices if sparse else np.empty(0, np.int32),
        X.indptr if sparse else np.empty(0, np.int32),
        sparse,
        _matrix(data.y),
        np.empty(0, dtype) if weight is None else weight.astype(dtype, copy=False),
        weight is not None,
    )


def _averaging(state, config, dtype):
    on = config.average_start > 0
    return Averaging(
        _matrix(state.average) if on else np.empty((0, 0), dtype),
        config.average_start,
        state.samples_seen,
        state.n_averaged,
    )
