"""What the compiled epochs receive: small named bundles instead of long
argument lists.

A kernel entry takes one bundle per concern: the data, the epoch's plan,
the model (its parameters, loss and penalty), the optimizer's rule and
state, and, for the linear model, the iterate average. Each bundle is a
named tuple whose fields are, in order, the kernel's parameter names
(``skgd.linear._epoch.linear_epoch``, ``skgd.network._epoch.network_epoch``
unpack them into the typed function ``_epoch``); :func:`check_bundles`
verifies the names once, when a backend is imported, so a misnamed,
missing or misplaced field is an error there, never a shifted argument.
(Binding by keyword at every call cost 12 µs an epoch, a fifth of a small
fit's epoch.) The plan and the optimizer's bundle are built here for both
kernels.
"""

import inspect
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp


class EpochPlan(NamedTuple):
    """The batches of one epoch, as a kernel runs them."""

    #: Rows of X in visiting order (empty: X's order).
    index: np.ndarray
    #: Batch ``i`` is made of positions ``bounds[i]:bounds[i + 1]`` of ``index``.
    bounds: np.ndarray
    #: The row count each batch's objective is scaled by.
    sizes: np.ndarray
    #: Each batch's step size.
    rates: np.ndarray
    #: The mean sample weight of the training rows.
    mean_weight: float
    #: A batch objective above this stops the epoch (divergence).
    limit: float


class RuleState(NamedTuple):
    """An optimizer's compiled rule, its hyperparameters and its state."""

    #: The rule's id (``RULES`` in skgd/optimizers/_rules.pxi).
    opt_code: int
    #: The hyperparameters in the order the rule reads them.
    hyper: np.ndarray
    #: The rule's three buffers (empty where the rule keeps fewer).
    S0: np.ndarray
    S1: np.ndarray
    S2: np.ndarray
    #: Steps taken before this epoch.
    t0: int
    #: The rule's scalar state (NAdam's momentum product; 1.0 without one).
    mu_product: float


def check_bundles(kernel, bundles):
    """Raise unless the fields of ``bundles`` are the parameters of ``kernel``.

    ``kernel`` is a kernel's typed epoch function, which the entry calls with
    the bundles' fields in order.
    """
    fields = tuple(name for bundle in bundles for name in bundle._fields)
    parameters = tuple(inspect.signature(kernel).parameters)
    if fields != parameters:
        pairs = zip(fields, parameters, strict=False)
        wrong = next(
            (i for i, (field, name) in enumerate(pairs) if field != name),
            min(len(fields), len(parameters)),
        )
        raise RuntimeError(
            f"The bundles of {kernel.__module__}.{kernel.__name__} do not match "
            f"its parameters from position {wrong} on: fields "
            f"{fields[wrong : wrong + 3]}, parameters {parameters[wrong : wrong + 3]}."
        )


def epoch_plan(data, plan, rates, limit):
    """The kernel's view of ``plan`` on ``data``.

    A whole-data batch runs over every row of X (held-out rows weigh 0) but
    is scaled by the training rows.
    """
    bounds = [0, data.X.shape[0]] if plan.whole else plan.bounds
    sizes = [data.n_samples] if plan.whole else np.diff(plan.bounds)
    index = plan.rows_of_X(data)
    return EpochPlan(
        np.empty(0, np.intp) if index is None else index.astype(np.intp, copy=False),
        np.asarray(bounds, np.intp),
        np.asarray(sizes, np.intp),
        rates,
        data.mean_weight,
        limit,
    )


def rule_state(rule, optimizer_state, empty, shape=None):
    """The :class:`RuleState` of ``rule`` for the optimizer's first slot.

    ``empty`` stands for the buffers the rule does not keep; ``shape``, if
    given, maps each buffer to the view the kernel reads.
    """
    slot = optimizer_state.slots[0]
    buffers = rule.buffer_list(slot, empty)
    if shape is not None:
        buffers = [shape(buffer) for buffer in buffers]
    return RuleState(
        rule.id,
        rule.hyperparameters(optimizer_state),
        *buffers,
        optimizer_state.t,
        rule.scalar_of(slot),
    )


def after_epoch(rule, optimizer_state, taken, scalar):
    """Carry the kernel's step count and scalar state back to the optimizer."""
    optimizer_state.t += taken
    rule.keep_scalar(optimizer_state.slots[0], scalar)


def readable(X, dtype, index_types=(np.int32, np.int64)):
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
