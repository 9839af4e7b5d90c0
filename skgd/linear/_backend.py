"""The compiled backend of the linear model's epochs.

:func:`linear_backend` decides whether an epoch of a ``_LinearModel`` can run
in the compiled extension ``skgd.linear._epoch``: the loss must be a
built-in one (its exact class: a subclass may change it), the optimizer's
class must declare a compiled rule (:mod:`skgd.optimizers._compiled`), and
the data of the types the extension reads (float32 or float64,
dense or CSR); regression losses and the classifier's margin and
multinomial losses are covered. Anything else runs on the NumPy reference loop of
``skgd.training._loop``, as does everything when the extension is not built.
"""

import numpy as np
import scipy.sparse as sp

from .._extensions import load
from ..losses._classification import (
    BinaryLogLoss,
    Hinge,
    ModifiedHuber,
    MultinomialLogLoss,
    SquaredHinge,
)
from ..losses._regression import (
    AbsoluteError,
    EpsilonInsensitive,
    Huber,
    Quantile,
    SquaredEpsilonInsensitive,
    SquaredError,
)
from ..optimizers._compiled import compiled_rule

# None only when the NumPy loop is asked for (see skgd._extensions).
_linear_epoch = load("linear._epoch")

# The codes of skgd/_linear_epoch.pyx.
_LOSSES = {
    SquaredError: (0, None),
    Huber: (1, "epsilon"),
    EpsilonInsensitive: (2, "epsilon"),
    SquaredEpsilonInsensitive: (3, "epsilon"),
    AbsoluteError: (4, None),
    Quantile: (5, "quantile"),
    Hinge: (6, "threshold"),
    SquaredHinge: (7, None),
    ModifiedHuber: (8, None),
    BinaryLogLoss: (9, None),
    MultinomialLogLoss: (10, None),
}

def available():
    """Whether the compiled extension is built."""
    return _linear_epoch is not None


def _matrix(a):
    """``a`` as a 2-D view (one column for a vector); never a copy."""
    return a.reshape(a.shape[0], -1) if a.ndim == 1 else a


def _readable(X, dtype, index_types=(np.int32, np.int64)):
    """Whether the extension can read ``X`` as it is, without a copy.

    CSR matrices must have contiguous buffers and indices of one of
    ``index_types``; dense arrays positive strides in whole items.
    """
    if sp.issparse(X):
        return (
            X.format == "csr"
            and X.dtype == dtype
            and X.indices.dtype in index_types
            and X.indptr.dtype == X.indices.dtype
            and all(a.flags.c_contiguous for a in (X.data, X.indices, X.indptr))
        )
    return (
        isinstance(X, np.ndarray)
        and X.dtype == dtype
        and all(s > 0 and s % X.itemsize == 0 for s in X.strides)
    )


def linear_backend(model, state, data):
    """The compiled epoch of ``model`` for this state and data, or None."""
    if _linear_epoch is None:
        return None
    optimizer_state = state.optimizer
    rule = compiled_rule(optimizer_state, _linear_epoch.RULES)
    loss = _LOSSES.get(type(model.loss))
    dtype = model.params.dtype
    if (
        rule is None
        or loss is None
        or len(optimizer_state.slots) != 1
        or optimizer_state.decay_index != model.decay_index
        or dtype not in (np.float32, np.float64)
        or not _readable(data.X, dtype)
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
        self.loss_code, loss_param = loss
        self.loss_param = 0.0 if loss_param is None else getattr(model.loss, loss_param)

    def __call__(self, model, state, config, data, plan, rates, limit):
        dtype = model.params.dtype
        empty_2d = np.empty((0, 0), dtype)
        X = data.X
        sparse = sp.issparse(X)
        weight = data.sample_weight
        index = plan.rows_of_X(data)
        optimizer_state = state.optimizer
        slot = optimizer_state.slots[0]
        # Three buffer slots; the ones an optimizer (or its settings) lacks
        # are empty.
        buffers = [_matrix(buffer) for buffer in self.rule.buffer_list(slot, empty_2d)]
        P = _matrix(model.params)
        n_features = P.shape[0] - 1
        inv_scale = (
            np.ones(n_features)
            if model.inv_scale is None
            else np.asarray(model.inv_scale, np.float64).reshape(n_features, -1)[:, 0]
        )
        averaging = config.average_start > 0
        if averaging and state.average is None:
            state.average, state.n_averaged = np.empty_like(model.params), 0
        # A whole-data batch runs over every row of X (held-out rows weigh
        # 0) but is scaled by the training rows.
        bounds = [0, X.shape[0]] if plan.whole else plan.bounds
        sizes = [data.n_samples] if plan.whole else np.diff(plan.bounds)
        total, taken, _, samples_seen, n_averaged, scalar = (
            _linear_epoch.linear_epoch(
                empty_2d if sparse else X,
                X.data if sparse else np.empty(0, dtype),
                X.indices if sparse else np.empty(0, np.int32),
                X.indptr if sparse else np.empty(0, np.int32),
                sparse,
                _matrix(data.y),
                np.empty(0, dtype)
                if weight is None
                else weight.astype(dtype, copy=False),
                weight is not None,
                np.empty(0, np.intp)
                if index is None
                else index.astype(np.intp, copy=False),
                np.asarray(bounds, np.intp),
                np.asarray(sizes, np.intp),
                rates,
                data.mean_weight,
                limit,
                P,
                np.empty((n_features, P.shape[1]), dtype),
                np.empty_like(P),
                inv_scale,
                np.empty(0, dtype)
                if model.offset is None
                else model.offset.astype(dtype, copy=False),
                model.offset is not None,
                self.loss_code,
                float(self.loss_param),
                float(model.penalty.l1),
                float(model.penalty.l2),
                np.ones(n_features)
                if model.penalty.weight is None
                else model.penalty.weight,
                self.rule.id,
                self.rule.hyperparameters(optimizer_state),
                *buffers,
                optimizer_state.t,
                self.rule.scalar_of(slot),
                _matrix(state.average) if averaging else empty_2d,
                config.average_start,
                state.samples_seen,
                state.n_averaged,
            )
        )
        optimizer_state.t += taken
        self.rule.keep_scalar(slot, scalar)
        if averaging:
            state.samples_seen, state.n_averaged = samples_seen, n_averaged
            if n_averaged == 0:
                state.average = None
        return total, taken
