# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""One epoch of the linear model's (mini-)batch gradient descent, compiled.

This is the compiled backend of ``skgd.training._loop.run_epoch`` for
``_LinearModel`` with a built-in loss and a built-in optimizer. It performs,
batch by batch, exactly the steps of the NumPy reference loop:

1. the residuals ``r = X_b @ coef + (intercept - offset @ coef) - y_b``,
   with ``coef = theta * inv_scale``;
2. the loss and its derivative, weighted and scaled by ``1 / (size * mean
   weight)``, and the gradient ``X_b^T dloss - offset * sum(dloss)`` plus
   the L2 part of the penalty, times ``inv_scale`` (the chain rule to
   ``theta``); the intercept's gradient is ``sum(dloss)``;
3. the divergence check of the batch objective against ``limit``;
4. the optimizer's step (after its decoupled weight decay of the weights),
   the L1 proximal step, and the running average of the iterates.

A batch costs one pass over its rows (a dot and an axpy per dense row) and
a few tight, vectorisable passes over the parameters: the gradient, the
optimizer's rule (one loop per optimizer, so no branch is taken per
coordinate), the proximal step and ``coef``. A batch of one dense row is
read in the same pass as the coefficients' sums (the penalty and
``offset @ coef``) and needs no gradient buffer. The row read next is
prefetched while this one is used, since shuffled rows are scattered over
memory. Arithmetic is carried out in double precision; float32 parameters
and data are read and stored as float32.

Parameters are viewed as ``(n_features + 1, n_targets)``; the last row is
the intercept.
"""

from libc.math cimport ceil, exp, fabs, isfinite, log, log1p, sqrt
from libc.string cimport memset

import numpy as np

include "../optimizers/_rules.pxi"
include "../training/_kernel_checks.pxi"

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define SKGD_PREFETCH(address) __builtin_prefetch(address)
    #else
    #define SKGD_PREFETCH(address) ((void)0)
    #endif
    /* The index of the highest set bit of a positive count. */
    static inline int skgd_top_bit(long long count) {
    #if defined(__GNUC__) || defined(__clang__)
        return 63 - __builtin_clzll((unsigned long long)count);
    #else
        int bit = 0;
        while (count >>= 1) bit++;
        return bit;
    #endif
    }
    """
    void SKGD_PREFETCH(const void *address) noexcept nogil
    int skgd_top_bit(long long count) noexcept nogil

# The losses: a family and a code within it. ``LOSSES`` declares each loss
# by name, once; a loss object names its entry (``compiled_loss``, see
# skgd.linear._backend), so a new loss takes a free code in its family and
# nothing depends on the order of the codes.
cdef enum:
    RESIDUAL = 0  # regression: a loss of the residual prediction - y
    MARGIN = 1  # classification: a margin loss of each indicator column
    SOFTMAX = 2  # classification: the softmax cross-entropy of a row
    N_FAMILIES = 3

# Residual losses (see skgd.losses._regression).
cdef enum:
    SQUARED_ERROR = 0
    HUBER = 1
    EPSILON_INSENSITIVE = 2
    SQUARED_EPSILON_INSENSITIVE = 3
    ABSOLUTE_ERROR = 4
    QUANTILE = 5
    N_RESIDUAL = 6

# Margin losses, one-vs-rest (see skgd.losses._classification).
cdef enum:
    HINGE = 0
    SQUARED_HINGE = 1
    MODIFIED_HUBER = 2
    BINARY_LOG = 3
    N_MARGIN = 4

# name: (family, code, the loss object's attribute read as its parameter).
LOSSES = {
    "squared_error": (RESIDUAL, SQUARED_ERROR, None),
    "huber": (RESIDUAL, HUBER, "epsilon"),
    "epsilon_insensitive": (RESIDUAL, EPSILON_INSENSITIVE, "epsilon"),
    "squared_epsilon_insensitive": (RESIDUAL, SQUARED_EPSILON_INSENSITIVE, "epsilon"),
    "absolute_error": (RESIDUAL, ABSOLUTE_ERROR, None),
    "quantile": (RESIDUAL, QUANTILE, "quantile"),
    "hinge": (MARGIN, HINGE, "threshold"),
    "squared_hinge": (MARGIN, SQUARED_HINGE, None),
    "modified_huber": (MARGIN, MODIFIED_HUBER, None),
    "binary_log": (MARGIN, BINARY_LOG, None),
    "multinomial_log": (SOFTMAX, 0, None),
}

# Shuffled rows are prefetched this many rows ahead of the one in use: far
# enough for main memory's latency to pass while a row's dot and axpy run.
cdef enum:
    AHEAD = 4

cdef inline double _loss(int code, double param, double r, double *dloss) noexcept nogil:
    """The loss at residual r (prediction - y); its derivative in dloss."""
    cdef double a, excess
    if code == SQUARED_ERROR:
        dloss[0] = r
        return 0.5 * r * r
    if code == HUBER:
        a = fabs(r)
        if a <= param:
            dloss[0] = r
            return 0.5 * r * r
        dloss[0] = param * _sign(r)
        return param * a - 0.5 * param * param
    if code == EPSILON_INSENSITIVE:
        excess = fabs(r) - param
        if excess > 0:
            dloss[0] = _sign(r)
            return excess
        dloss[0] = 0.0
        return 0.0
    if code == SQUARED_EPSILON_INSENSITIVE:
        excess = fabs(r) - param
        if excess < 0:
            excess = 0.0
        dloss[0] = 2.0 * excess * _sign(r)
        return excess * excess
    if code == ABSOLUTE_ERROR:
        dloss[0] = _sign(r)
        return fabs(r)
    if code == QUANTILE:  # with r = p - y: (1 - q) r above the target, -q r below
        if r > 0:
            dloss[0] = 1.0 - param
            return (1.0 - param) * r
        dloss[0] = -param
        return -param * r
    dloss[0] = 0.0  # not reached: the entry refuses codes without a branch
    return 0.0


cdef inline double _margin_loss(int code, double param, double m,
                                double *slope) noexcept nogil:
    """A margin loss at ``m`` and its slope along ``m`` (skgd.losses._classification)."""
    cdef double gap
    if code == HINGE:  # max(0, threshold - m); the slope is -1 at the threshold
        if m <= param:
            slope[0] = -1.0
            return param - m
        slope[0] = 0.0
        return 0.0
    if code == BINARY_LOG:  # log(1 + exp(-m)), without overflow
        slope[0] = -1.0 / (1.0 + exp(m))
        return log1p(exp(-fabs(m))) + (-m if m < 0 else 0.0)
    if code == MODIFIED_HUBER and m < -1.0:
        slope[0] = -4.0
        return -4.0 * m
    if code == SQUARED_HINGE or code == MODIFIED_HUBER:
        # max(0, 1 - m)**2 (for MODIFIED_HUBER, from m = -1 on)
        gap = 1.0 - m if m < 1.0 else 0.0
        slope[0] = -2.0 * gap
        return gap * gap
    slope[0] = 0.0  # not reached: the entry refuses codes without a branch
    return 0.0


cdef inline double _row_loss(int family, int code, double param, double *z,
                             const floating[:, :] Y, Py_ssize_t row,
                             Py_ssize_t k) noexcept nogil:
    """The loss of one row at predictions ``z``; ``z`` becomes its slopes."""
    cdef Py_ssize_t c
    cdef double total = 0.0, d, sign, top, log_total
    if family == SOFTMAX:  # logsumexp(z) - z . y; slopes softmax(z) - y
        top = z[0]
        for c in range(1, k):
            top = max(top, z[c])
        log_total = 0.0
        for c in range(k):
            log_total += exp(z[c] - top)
        log_total = top + log(log_total)
        for c in range(k):
            total -= z[c] * Y[row, c]
            z[c] = exp(z[c] - log_total) - Y[row, c]
        return total + log_total
    for c in range(k):
        if family == RESIDUAL:
            total += _loss(code, param, z[c] - Y[row, c], &d)
        else:
            sign = 2.0 * Y[row, c] - 1.0
            total += _margin_loss(code, param, sign * z[c], &d)
            d *= sign
        z[c] = d
    return total


cdef inline double _dot(Py_ssize_t n, floating *x, Py_ssize_t incx, floating *y,
                        Py_ssize_t incy) noexcept nogil:
    """``x . y`` in double precision; four partial sums when contiguous."""
    cdef Py_ssize_t i
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    if incx == 1 and incy == 1:
        for i in range(0, n - 3, 4):
            s0 += <double>x[i] * y[i]
            s1 += <double>x[i + 1] * y[i + 1]
            s2 += <double>x[i + 2] * y[i + 2]
            s3 += <double>x[i + 3] * y[i + 3]
        for i in range(n - n % 4, n):
            s0 += <double>x[i] * y[i]
        return (s0 + s1) + (s2 + s3)
    for i in range(n):
        s0 += <double>x[i * incx] * y[i * incy]
    return s0


cdef inline void _axpy(Py_ssize_t n, double alpha, floating *x, Py_ssize_t incx,
                       floating *y, Py_ssize_t incy) noexcept nogil:
    """``y += alpha * x``."""
    cdef Py_ssize_t i
    if incx == 1 and incy == 1:
        for i in range(n):
            y[i] = <floating>(y[i] + alpha * x[i])
    else:
        for i in range(n):
            y[i * incy] = <floating>(y[i * incy] + alpha * x[i * incx])


def linear_epoch(data, plan, model, optimizer, averaging):
    """Run the batches of one epoch; return what the reference loop tracks.

    Each argument is a named tuple whose fields are, in order, the
    parameters of :func:`_epoch` of that group (skgd.linear._backend builds
    them: the data, :class:`~skgd.training._kernel_io.EpochPlan`, the model,
    :class:`~skgd.training._kernel_io.RuleState`, the iterate average); the
    backend checks once, when it is imported, that the fields name the
    parameters (:func:`skgd.training._kernel_io.check_bundles`). Returns what
    :func:`_epoch` returns.
    """
    return _epoch(*data, *plan, *model, *optimizer, *averaging)


# One function for the whole epoch, although it is longer than the others:
# the two passes of a batch share its per-batch state (the centring shift,
# the residuals and their sums, a single row's prediction), which a split
# would have to pass back and forth between them.
def _epoch(
    # Data: dense X (any strides, in elements) or CSR (data, indices, indptr).
    const floating[:, :] X,
    const floating[::1] X_data,
    const csr_index[::1] X_indices,
    const csr_index[::1] X_indptr,
    bint sparse,
    const floating[:, :] Y,
    const floating[::1] W,
    bint weighted,
    # The epoch's plan: rows in visiting order (empty: in order), batch
    # bounds into it, the row count each batch's objective is scaled by,
    # and the step sizes.
    const Py_ssize_t[::1] index,
    const Py_ssize_t[::1] bounds,
    const Py_ssize_t[::1] sizes,
    const double[::1] rates,
    double mean_weight,
    double limit,
    # The model.
    floating[:, ::1] P,
    floating[:, ::1] coef,
    floating[:, ::1] G,
    const double[::1] inv_scale,
    const floating[::1] offset,
    bint centred,
    int loss_family,
    int loss_code,
    double loss_param,
    double l1,
    double l2,
    # Each coefficient's weight in the penalty (its column's spread for a
    # penalty on standardised coefficients; ones for raw units).
    const double[::1] penalty_weight,
    # The optimizer.
    int opt_code,
    const double[::1] hyper,
    floating[:, ::1] S0,
    floating[:, ::1] S1,
    floating[:, ::1] S2,
    long long t0,
    double mu_product,
    # Iterate averaging (average_start == 0: off).
    floating[:, ::1] A,
    long long average_start,
    long long samples_seen,
    long long n_averaged,
):
    """Run the batches of one epoch; return what the reference loop tracks.

    Returns
    -------
    total : float
        Sum over the batches of the batch objective times its size.
    steps : int
        Steps taken; fewer than the batches if one diverged.
    diverged : bool
        Whether the objective of batch ``steps`` exceeded ``limit`` (or
        was NaN); that batch took no step.
    samples_seen, n_averaged : int
        The averaging counters after the epoch.
    mu_product : float
        NAdam's running product of momentum coefficients.
    """
    cdef Py_ssize_t n_features = P.shape[0] - 1
    cdef Py_ssize_t k = P.shape[1]
    cdef Py_ssize_t n_batches = bounds.shape[0] - 1
    cdef Py_ssize_t batch, pos, row, j, q, c, size
    cdef bint in_order = index.shape[0] == 0
    cdef Py_ssize_t m = P.shape[0] * k
    cdef floating *flat_p = &P[0, 0]
    cdef floating *slot0 = &S0[0, 0] if S0.shape[0] > 0 else NULL
    cdef floating *slot1 = &S1[0, 0] if S1.shape[0] > 0 else NULL
    cdef floating *slot2 = &S2[0, 0] if S2.shape[0] > 0 else NULL
    cdef floating *flat_a = &A[0, 0] if A.shape[0] > 0 else NULL
    cdef Py_ssize_t n = n_features
    cdef Py_ssize_t row_inc = 1 if sparse else X.strides[1] // sizeof(floating)
    cdef floating *xrow = NULL
    cdef Py_ssize_t lo, hi
    cdef Py_ssize_t n_positions = bounds[n_batches]
    cdef bint single
    cdef double scale, objective, batch_loss, w, d, value, prediction = 0.0
    cdef double sums[3]
    cdef double total = 0.0
    cdef double penalty_l2 = 0.0, penalty_l1 = 0.0
    cdef Step step
    cdef long long t = t0
    cdef long long steps = 0
    cdef bint diverged = False
    cdef Py_ssize_t work = 0
    # Per target: offset @ coef, the residual and the sum of dloss.
    cdef double[::1] shift = _zeros(k)
    cdef double[::1] resid = _zeros(k)
    cdef double[::1] dsum = _zeros(k)

    _check_epoch(X, X_data, X_indices, X_indptr, sparse, Y, W, weighted, index,
                 bounds, sizes, rates, P, coef, G, inv_scale, offset, centred,
                 penalty_weight, loss_family, loss_code, A, average_start)
    _check_rule(opt_code, hyper, m, S0.size, S1.size, S2.size)
    global lazy_epochs
    if n_features > 0 and _lazy_applies(
        sparse, opt_code, hyper, centred, offset, l1, l2, rates, sizes,
        X_indptr[X_indptr.shape[0] - 1] / max(<double>(X_indptr.shape[0] - 1), 1.0)
        if sparse else 0.0,
        n_features,
    ):
        lazy_epochs += 1
        return _lazy_epoch(X_data, X_indices, X_indptr, Y, W, weighted, index, bounds,
                           sizes, rates, mean_weight, limit, P, coef, G, inv_scale,
                           centred, loss_family, loss_code, loss_param, l1, l2,
                           penalty_weight, A, average_start, samples_seen, n_averaged,
                           mu_product)
    step.code = opt_code
    with nogil:
        _coefficients(P, coef, inv_scale)
        for batch in range(n_batches):
            lo = bounds[batch]
            hi = bounds[batch + 1]
            size = sizes[batch]
            scale = 1.0 / (size * mean_weight)
            # A batch of one dense row (the stochastic case) reads the row
            # and the coefficients in one pass and needs no gradient buffer.
            single = not sparse and hi - lo == 1 and k == 1
            if single:
                row = lo if in_order else index[lo]
                if not in_order and lo + AHEAD < n_positions:
                    _prefetch_row(X, X_data, X_indptr, sparse, Y, index[lo + AHEAD])
                xrow = <floating *>&X[row, 0]
                prediction = _row_pass(n, xrow, row_inc, &coef[0, 0],
                                       <floating *>&offset[0] if centred else NULL,
                                       &penalty_weight[0], sums)
                penalty_l2, penalty_l1, shift[0] = sums[0], sums[1], sums[2]
            else:
                _sums(coef, offset, centred, penalty_weight, &shift[0], &penalty_l1,
                      &penalty_l2)
                memset(&G[0, 0], 0, G.shape[0] * k * sizeof(floating))
            # Pass 1: the rows of the batch.
            batch_loss = 0.0
            for c in range(k):
                dsum[c] = 0.0
            for pos in range(lo, hi):
                row = pos if in_order else index[pos]
                if not in_order and pos + AHEAD < n_positions:
                    _prefetch_row(X, X_data, X_indptr, sparse, Y, index[pos + AHEAD])
                w = W[row] if weighted else 1.0
                for c in range(k):
                    # Without centring, the intercept is not part of the model.
                    resid[c] = P[n_features, c] - shift[c] if centred else 0.0
                if single:
                    resid[0] += prediction
                elif sparse:
                    for q in range(X_indptr[row], X_indptr[row + 1]):
                        j = X_indices[q]
                        for c in range(k):
                            resid[c] += X_data[q] * coef[j, c]
                else:
                    xrow = <floating *>&X[row, 0]
                    for c in range(k):
                        resid[c] += _dot(n, xrow, row_inc, &coef[0, c], k)
                # resid holds the predictions; it becomes the losses' slopes.
                batch_loss += w * _row_loss(loss_family, loss_code, loss_param, &resid[0],
                                             Y, row, k)
                for c in range(k):
                    resid[c] = w * resid[c] * scale  # now dloss
                    dsum[c] += resid[c]
                if single:
                    pass
                elif sparse:
                    for q in range(X_indptr[row], X_indptr[row + 1]):
                        j = X_indices[q]
                        for c in range(k):
                            G[j, c] += X_data[q] * resid[c]
                else:
                    for c in range(k):
                        _axpy(n, resid[c], xrow, row_inc, &G[0, c], k)
            # Only the terms that are on (a zero term may be an overflowed one).
            objective = scale * batch_loss
            if l2 != 0:
                objective += 0.5 * l2 * penalty_l2
            if l1 != 0:
                objective += l1 * penalty_l1
            if not objective <= limit:
                diverged = True
                break
            total += objective * size
            # Pass 2: the step, in tight passes over the parameters.
            t += 1
            _set_step(&step, hyper, rates[batch], t, &mu_product)
            _gradient(G, coef, xrow if single else NULL, resid[0], row_inc, offset,
                      centred, &dsum[0], l2, penalty_weight, inv_scale)
            if step.decay != 1.0:
                for j in range(n_features * k):
                    flat_p[j] = <floating>(flat_p[j] * step.decay)
            _optimizer_pass(&step, flat_p, &G[0, 0], slot0, slot1, slot2, m)
            if l1 > 0:
                _prox(P, step.lr * l1, inv_scale, penalty_weight)
            _coefficients(P, coef, inv_scale)
            if average_start:
                samples_seen += size
                if samples_seen >= average_start:
                    n_averaged += 1
                    _average(flat_a, flat_p, m, n_averaged)
            steps += 1
            work += (hi - lo) * (n_features + 1) * k + 8 * m
            _check_signals(&work)
    return total, steps, diverged, samples_seen, n_averaged, mu_product


cdef int _check_epoch(
    const floating[:, :] X, const floating[::1] X_data,
    const csr_index[::1] X_indices, const csr_index[::1] X_indptr, bint sparse,
    const floating[:, :] Y, const floating[::1] W, bint weighted,
    const Py_ssize_t[::1] index, const Py_ssize_t[::1] bounds,
    const Py_ssize_t[::1] sizes, const double[::1] rates,
    floating[:, ::1] P, floating[:, ::1] coef, floating[:, ::1] G,
    const double[::1] inv_scale, const floating[::1] offset, bint centred,
    const double[::1] penalty_weight, int loss_family, int loss_code,
    floating[:, ::1] A,
    long long average_start,
) except -1:
    """Refuse arguments that :func:`linear_epoch` would read or write past.

    Shapes must agree with the parameters ``P`` (``n_features + 1`` rows),
    every position of the plan must name a row of X, and CSR indices must
    name columns; the checks cost one pass over the plan and the indices,
    a small part of an epoch.
    """
    cdef Py_ssize_t n_features = P.shape[0] - 1
    cdef Py_ssize_t k = P.shape[1]
    cdef Py_ssize_t n_rows
    if n_features < 0 or k < 1:
        raise ValueError(
            f"linear_epoch: parameters of shape ({P.shape[0]}, {P.shape[1]})."
        )
    if sparse:
        n_rows = X_indptr.shape[0] - 1
        _check_csr(X_data.shape[0], X_indices, X_indptr, n_features)
    else:
        n_rows = X.shape[0]
        if X.shape[1] != n_features:
            raise ValueError(
                f"linear_epoch: X has {X.shape[1]} columns for {n_features} "
                "coefficients."
            )
        if X.strides[0] <= 0 or X.strides[1] <= 0 or (
            X.strides[0] % sizeof(floating) or X.strides[1] % sizeof(floating)
        ):
            raise ValueError(
                "linear_epoch: X must have positive strides that are whole "
                "multiples of its item size."
            )
    if Y.shape[0] != n_rows or Y.shape[1] != k:
        raise ValueError(
            f"linear_epoch: Y of shape ({Y.shape[0]}, {Y.shape[1]}) for "
            f"{n_rows} rows and {k} targets."
        )
    if weighted and W.shape[0] != n_rows:
        raise ValueError(f"linear_epoch: {W.shape[0]} weights for {n_rows} rows.")
    if coef.shape[0] != n_features or coef.shape[1] != k:
        raise ValueError(
            f"linear_epoch: coef of shape ({coef.shape[0]}, {coef.shape[1]})."
        )
    if G.shape[0] != n_features + 1 or G.shape[1] != k:
        raise ValueError(f"linear_epoch: G of shape ({G.shape[0]}, {G.shape[1]}).")
    if inv_scale.shape[0] != n_features or (
        centred and offset.shape[0] != n_features
    ):
        raise ValueError("linear_epoch: inv_scale or offset of the wrong length.")
    if penalty_weight.shape[0] != n_features:
        raise ValueError(
            f"linear_epoch: {penalty_weight.shape[0]} penalty weights for "
            f"{n_features} coefficients."
        )
    if average_start and (A.shape[0] != P.shape[0] or A.shape[1] != k):
        raise ValueError(
            f"linear_epoch: average of shape ({A.shape[0]}, {A.shape[1]})."
        )
    if not (
        (loss_family == RESIDUAL and 0 <= loss_code < N_RESIDUAL)
        or (loss_family == MARGIN and 0 <= loss_code < N_MARGIN)
        or (loss_family == SOFTMAX and loss_code == 0)
    ):
        raise ValueError(
            f"linear_epoch: unknown loss code {loss_code} of family {loss_family} "
            "(LOSSES in skgd/linear/_epoch.pyx)."
        )
    _check_plan(index, bounds, sizes, rates, n_rows)
    return 0


cdef inline void _prefetch_row(const floating[:, :] X, const floating[::1] X_data,
                               const csr_index[::1] X_indptr, bint sparse,
                               const floating[:, :] Y, Py_ssize_t row) noexcept nogil:
    """Ask for the cache lines of a row that is read next, while this one is used.

    Shuffled rows are scattered over memory; without it, each row's first
    access waits for main memory.
    """
    cdef const char *start
    cdef Py_ssize_t n_bytes, offset
    if sparse:
        start = <const char *>&X_data[X_indptr[row]] if X_indptr[row + 1] > X_indptr[row] else NULL
        n_bytes = (X_indptr[row + 1] - X_indptr[row]) * sizeof(floating)
    else:
        start = <const char *>&X[row, 0]
        n_bytes = X.shape[1] * X.strides[1] if X.strides[1] == sizeof(floating) else 0
    if start != NULL:
        for offset in range(0, n_bytes, 64):
            SKGD_PREFETCH(start + offset)
    SKGD_PREFETCH(&Y[row, 0])


cdef double[::1] _zeros(Py_ssize_t k):
    return np.zeros(k)


cdef void _gradient(floating[:, ::1] G, floating[:, ::1] coef, floating *single_row,
                    double single_dloss, Py_ssize_t row_inc, const floating[::1] offset,
                    bint centred, double *dsum, double l2,
                    const double[::1] penalty_weight,
                    const double[::1] inv_scale) noexcept nogil:
    """Turn ``G`` (``X_b^T dloss``, or one row's) into the gradient in theta.

    With ``single_row``, ``G`` is not filled yet: the gradient of a single
    dense row (one target) is ``dloss * row``. The L2 term of coefficient
    ``j`` is ``l2 * penalty_weight[j]**2 * coef[j]``, multiplied in an order
    that cannot overflow (the weights of features around 1e200 square to
    infinity; a weight times its coefficient is of order 1).
    """
    cdef Py_ssize_t j, c
    cdef Py_ssize_t n = G.shape[0] - 1
    cdef Py_ssize_t k = G.shape[1]
    cdef floating *g = &G[0, 0]
    cdef floating *w = &coef[0, 0]
    cdef const floating *o = &offset[0] if centred else NULL
    cdef const double *inv = &inv_scale[0]
    cdef const double *pw = &penalty_weight[0]
    cdef double s = dsum[0] if centred else 0.0
    if single_row != NULL:
        if centred:
            for j in range(n):
                g[j] = <floating>((single_dloss * single_row[j * row_inc] - o[j] * s
                                   + (l2 * (pw[j] * w[j]) * pw[j] if l2 != 0 else 0.0))
                                  * inv[j])
        else:
            for j in range(n):
                g[j] = <floating>((single_dloss * single_row[j * row_inc]
                                   + (l2 * (pw[j] * w[j]) * pw[j] if l2 != 0 else 0.0))
                                  * inv[j])
    elif k == 1:
        if centred:
            for j in range(n):
                g[j] = <floating>((g[j] - o[j] * s
                                   + (l2 * (pw[j] * w[j]) * pw[j] if l2 != 0 else 0.0))
                                  * inv[j])
        else:
            for j in range(n):
                g[j] = <floating>((g[j] + (l2 * (pw[j] * w[j]) * pw[j] if l2 != 0 else 0.0))
                                  * inv[j])
    else:
        for j in range(n):
            for c in range(k):
                s = G[j, c] - offset[j] * dsum[c] if centred else G[j, c]
                G[j, c] = <floating>(
                    (s + (l2 * (pw[j] * coef[j, c]) * pw[j] if l2 != 0 else 0.0)) * inv[j]
                )
    for c in range(k):
        G[n, c] = <floating>(dsum[c] if centred else 0.0)


cdef void _prox(floating[:, ::1] P, double threshold, const double[::1] inv_scale,
                const double[::1] penalty_weight) noexcept nogil:
    """Soft-threshold the weights by ``threshold * inv_scale * penalty_weight``.

    The L1 step: the L1 penalty of coef is a weighted one of theta.
    """
    cdef Py_ssize_t j, c
    cdef double p, thr
    for j in range(P.shape[0] - 1):
        thr = threshold * inv_scale[j] * penalty_weight[j]
        for c in range(P.shape[1]):
            p = P[j, c]
            if p > thr:
                P[j, c] = <floating>(p - thr)
            elif p < -thr:
                P[j, c] = <floating>(p + thr)
            else:
                P[j, c] = 0


cdef void _coefficients(floating[:, ::1] P, floating[:, ::1] coef,
                        const double[::1] inv_scale) noexcept nogil:
    """``coef = theta * inv_scale``."""
    cdef Py_ssize_t j, c
    cdef Py_ssize_t n = P.shape[0] - 1
    cdef floating *w = &coef[0, 0]
    cdef floating *p = &P[0, 0]
    cdef const double *inv = &inv_scale[0]
    if P.shape[1] == 1:
        for j in range(n):
            w[j] = <floating>(p[j] * inv[j])
        return
    for j in range(n):
        for c in range(P.shape[1]):
            coef[j, c] = <floating>(P[j, c] * inv[j])


cdef void _sums(floating[:, ::1] coef, const floating[::1] offset, bint centred,
                const double[::1] penalty_weight, double *shift, double *l1,
                double *l2) noexcept nogil:
    """``shift = offset @ coef`` per target, and with ``v = penalty_weight *
    coef``: ``l1 = |v|_1``, ``l2 = |v|^2``."""
    cdef Py_ssize_t j, c
    cdef Py_ssize_t n = coef.shape[0]
    cdef Py_ssize_t k = coef.shape[1]
    cdef double total = 0.0, squares = 0.0, v
    for c in range(k):
        shift[c] = _dot(n, <floating *>&offset[0], 1, &coef[0, c], k) if centred else 0.0
    for j in range(n):
        for c in range(k):
            v = penalty_weight[j] * coef[j, c]
            total += fabs(v)
            squares += v * v
    l1[0] = total
    l2[0] = squares


cdef double _row_pass(Py_ssize_t n, floating *x, Py_ssize_t incx, floating *coef,
                      floating *offset, const double *pw, double *sums) noexcept nogil:
    """Return ``x . coef``; set ``sums`` to ``|v|^2, |v|_1, offset . coef``,
    with ``v = pw * coef`` (the penalty weights).

    One pass over a row and the coefficients, with two partial sums each;
    ``offset`` may be NULL (no centring).
    """
    cdef Py_ssize_t i
    cdef double c0, c1, v0, v1
    cdef double d0 = 0.0, d1 = 0.0, q0 = 0.0, q1 = 0.0
    cdef double a0 = 0.0, a1 = 0.0, s0 = 0.0, s1 = 0.0
    for i in range(0, n - 1, 2):
        c0 = coef[i]
        c1 = coef[i + 1]
        d0 += x[i * incx] * c0
        d1 += x[(i + 1) * incx] * c1
        v0 = pw[i] * c0
        v1 = pw[i + 1] * c1
        q0 += v0 * v0
        q1 += v1 * v1
        a0 += fabs(v0)
        a1 += fabs(v1)
        if offset != NULL:
            s0 += offset[i] * c0
            s1 += offset[i + 1] * c1
    if n % 2:
        c0 = coef[n - 1]
        d0 += x[(n - 1) * incx] * c0
        v0 = pw[n - 1] * c0
        q0 += v0 * v0
        a0 += fabs(v0)
        if offset != NULL:
            s0 += offset[n - 1] * c0
    sums[0] = q0 + q1
    sums[1] = a0 + a1
    sums[2] = s0 + s1
    return d0 + d1


cdef void _average(floating *a, floating *p, Py_ssize_t m,
                   long long n) noexcept nogil:
    """The running mean ``a`` of the iterates ``p``; ``n`` counts them."""
    cdef Py_ssize_t i
    cdef double w = 1.0 / n
    if n == 1:
        for i in range(m):
            a[i] = p[i]
    else:
        for i in range(m):
            a[i] = <floating>(a[i] + (p[i] - a[i]) * w)




# Lazy sparse updates
# -------------------
#
# Plain SGD on CSR data touches, per step, only the coefficients of the
# features present in the batch, plus terms that move every coefficient in
# a way that depends on that coefficient alone: the L2 part of the penalty
# multiplies theta_j by rho_j = 1 - eps_j (eps_j = lr * l2 * (u_j / p_j)**2),
# and the L1 proximal step soft-thresholds it by tau_j = lr * l1 * u_j / p_j.
# Between two batches that contain feature j, theta_j therefore follows
# theta <- soft(rho_j * theta, tau_j), whose values, sums and sums of squares
# have closed forms when the rate and the batch size do not change: a
# coefficient is brought up to date ("caught up") only when a batch reads
# it, and every coefficient at the end of the epoch and wherever the rate or
# the batch size changes (at most once an epoch with the automatic schedule:
# see skgd.training._batching.plan_batches). The closed forms give the same
# values as the dense steps, to rounding; so do the epoch's objective (the
# penalty at every pre-step point, summed in closed form) and the running
# average of the iterates (kept as a sum over the averaged steps).
#
# The lazy path needs no centring term (sparse data is not centred: see
# skgd.linear._model) and one of L1 or L2 (the elastic net's mixed
# recurrence, and SGD with momentum, whose buffer couples the steps, take
# the dense path).

# Epochs that took lazy steps, counted for the tests.
lazy_epochs = 0

# A catch-up costs about this many times a dense step's work on one
# coefficient (see _lazy_applies).
cdef enum:
    LAZY_COST = 10

cdef struct Lazy:
    double lr           # the run's learning rate
    double size         # the run's batch size (its objective's weight)
    double l1
    double l2
    long long avg_from  # the first averaged step of the epoch (1-based)
    double penalty      # sum over caught-up steps of size * penalty
    Py_ssize_t k        # targets
    const double *inv_scale
    const double *penalty_weight
    double *eps         # per coefficient: 1 - rho (the L2 part's shrinkage)
    long long *last     # per coefficient: the step it is up to date with
    double *avg_sum     # per coefficient and target: the averaged steps' sum


cdef bint _lazy_applies(bint sparse, int opt_code, const double[::1] hyper,
                        bint centred, const floating[::1] offset, double l1,
                        double l2, const double[::1] rates,
                        const Py_ssize_t[::1] sizes, double nnz_per_row,
                        Py_ssize_t n_features) noexcept:
    """Whether the epoch takes lazy sparse steps (see :func:`_lazy_epoch`).

    Plain SGD on CSR data without a centring term, with an L1 or an L2 part
    (not both), and at most two runs of equal rate and batch size or few
    enough runs that catching every coefficient up at each run's start
    costs less than an eighth of the dense steps. And only where it is the
    cheaper: catching a coefficient up costs about ten times what a dense
    step spends on one, so batches must hold fewer non-zeros than a tenth
    of the features (measured on CSR data of 2,000 features).
    """
    cdef Py_ssize_t b, runs = 1, n = rates.shape[0]
    if not sparse or opt_code != SGD or hyper[0] != 0 or n < 2:
        return False
    if nnz_per_row * (<double>bounds_rows(sizes) / n) * LAZY_COST > n_features:
        return False
    if (l1 != 0 and l2 != 0) or not (l1 >= 0 and l2 >= 0):
        return False
    if centred:
        for b in range(offset.shape[0]):
            if offset[b] != 0:
                return False
    for b in range(1, n):
        if rates[b] != rates[b - 1] or sizes[b] != sizes[b - 1]:
            runs += 1
    return runs <= 2 or runs * 8 <= n


cdef void _start_run(Lazy *run, Py_ssize_t n, double lr, double size) noexcept nogil:
    """The run's rate and batch size, and each coefficient's shrinkage."""
    cdef Py_ssize_t j
    cdef double weight
    run.lr = lr
    run.size = size
    for j in range(n):
        weight = run.penalty_weight[j] * run.inv_scale[j]
        run.eps[j] = lr * run.l2 * weight * weight if run.l2 != 0 else 0.0


cdef Py_ssize_t bounds_rows(const Py_ssize_t[::1] sizes) noexcept:
    """The rows the batches hold."""
    cdef Py_ssize_t b, total = 0
    for b in range(sizes.shape[0]):
        total += sizes[b]
    return total


cdef inline double _powers(double rho, long long count, double *power) noexcept nogil:
    """``sum(rho**i for i < count)``; ``rho**count`` in ``power``.

    By doubling (``S(2m) = S(m) (1 + rho**m)``, ``S(m + 1) = 1 + rho S(m)``)
    over the bits of ``count``: a few multiplications, and for ``0 <= rho
    <= 1`` sums of non-negative terms only, so no cancellation near ``rho =
    1`` (where ``(1 - rho**count) / (1 - rho)`` loses every digit).
    """
    cdef double total = 0.0, p = 1.0
    cdef int bit
    if count <= 0:
        power[0] = 1.0
        return 0.0
    bit = skgd_top_bit(count)
    while bit >= 0:
        total = total * (1.0 + p)
        p = p * p
        if (count >> bit) & 1:
            total = 1.0 + rho * total
            p = p * rho
        bit -= 1
    power[0] = p
    return total


cdef void _catch_up(floating *P, floating *coef, Py_ssize_t j, long long to,
                    Lazy *run) noexcept nogil:
    """Bring coefficient row ``j`` from step ``run.last[j]`` to step ``to``.

    Adds the penalty of the pre-step points of the steps in between (times
    the batch size) to ``run.penalty``, and the averaged post-step points to
    ``run.avg_sum`` (when not NULL).
    """
    cdef long long since = run.last[j]
    cdef double gap = <double>(to - since)
    cdef Py_ssize_t c, k = run.k
    cdef double inv, weight, eps, tau, x, u, first, hit, count, end, value
    cdef double rho, total, shrink, squares, averaged, power, power_first
    cdef long long i
    if to <= since:
        return
    run.last[j] = to
    inv = run.inv_scale[j]
    weight = run.penalty_weight[j] * inv  # the penalty's weight of theta_j
    eps = run.eps[j]
    tau = run.lr * run.l1 * inv * run.penalty_weight[j]
    # The gap's steps are 1..gap; those from ``first`` on are averaged.
    first = <double>(run.avg_from - since) if run.avg_sum != NULL else gap + 1.0
    if first < 1.0:
        first = 1.0
    if tau == 0 and eps <= 1.0:
        # rho**gap, and the factors of the L2 penalty's and the average's sums:
        # sum(rho**(2i) for i < gap) = S (1 + rho**gap) / (1 + rho), and
        # sum(rho**i for first <= i <= gap) = rho**first S(gap - first + 1).
        rho = 1.0 - eps
        total = _powers(rho, to - since, &shrink)
        squares = total * (1.0 + shrink) / (1.0 + rho)
        if first == 1.0:
            averaged = rho * total
        elif first <= gap:
            averaged = _powers(rho, to - since - <long long>first + 1, &power)
            _powers(rho, <long long>first, &power_first)
            averaged = averaged * power_first
        else:
            averaged = 0.0
    for c in range(k):
        x = P[j * k + c]
        if x == 0:
            continue  # zero stays zero, and adds nothing
        if eps > 1.0:
            # rho < 0 (a rate beyond the L2 part's stability): step by step.
            value = x
            for i in range(1, to - since + 1):
                run.penalty += run.size * 0.5 * run.l2 * (weight * value) * (weight * value)
                value = value * (1.0 - eps)
                if run.avg_sum != NULL and i >= first:
                    run.avg_sum[j * k + c] += value
            x = value
        elif tau > 0:  # L1 only: |theta| falls by tau a step until it is 0
            u = fabs(x)
            hit = ceil(u / tau)  # the first step that ends on 0
            count = gap if gap < hit else hit  # pre-step points that are not 0
            run.penalty += run.size * run.l1 * weight * (
                count * u - tau * count * (count - 1.0) * 0.5
            )
            end = gap if gap < hit - 1.0 else hit - 1.0  # last non-zero post-step
            if run.avg_sum != NULL and end >= first:
                count = end - first + 1.0
                run.avg_sum[j * k + c] += _sign(x) * (
                    count * u - tau * count * (first + end) * 0.5
                )
            x = _sign(x) * (u - gap * tau) if gap < hit else 0.0
        else:  # L2 (or no penalty): theta shrinks by rho a step
            if eps != 0:
                value = weight * x
                run.penalty += run.size * 0.5 * run.l2 * value * value * squares
            if run.avg_sum != NULL:
                run.avg_sum[j * k + c] += x * averaged
            x = x * shrink
        P[j * k + c] = <floating>x
        coef[j * k + c] = <floating>(P[j * k + c] * inv)


cdef _lazy_epoch(
    const floating[::1] X_data,
    const csr_index[::1] X_indices,
    const csr_index[::1] X_indptr,
    const floating[:, :] Y,
    const floating[::1] W,
    bint weighted,
    const Py_ssize_t[::1] index,
    const Py_ssize_t[::1] bounds,
    const Py_ssize_t[::1] sizes,
    const double[::1] rates,
    double mean_weight,
    double limit,
    floating[:, ::1] P,
    floating[:, ::1] coef,
    floating[:, ::1] G,
    const double[::1] inv_scale,
    bint centred,
    int loss_family,
    int loss_code,
    double loss_param,
    double l1,
    double l2,
    const double[::1] penalty_weight,
    floating[:, ::1] A,
    long long average_start,
    long long samples_seen,
    long long n_averaged,
    double mu_product,
):
    """:func:`_epoch` for plain SGD on CSR data, at the cost of the batches'
    non-zeros (see the section's comment); same arguments and results."""
    cdef Py_ssize_t n = P.shape[0] - 1
    cdef Py_ssize_t k = P.shape[1]
    cdef Py_ssize_t n_batches = bounds.shape[0] - 1
    cdef Py_ssize_t n_positions = bounds[n_batches]
    cdef bint in_order = index.shape[0] == 0
    cdef bint averaging = average_start != 0
    cdef Py_ssize_t batch, pos, row, j, q, c, lo, hi, size, t_count, i
    cdef long long steps = 0
    cdef bint diverged = False
    cdef double scale, batch_loss, objective, w, lr, g, p, thr, v, own
    cdef double total = 0.0
    cdef Py_ssize_t work = 0
    cdef long long[::1] last = np.zeros(n, np.int64)
    cdef long long[::1] mark = np.full(n, -1, np.int64)
    cdef Py_ssize_t[::1] touched = np.empty(n, np.intp)
    cdef double[::1] resid = _zeros(k)
    cdef double[::1] dsum = _zeros(k)
    cdef double[:, ::1] sums = np.zeros((n if averaging else 0, k))
    cdef double[::1] eps = np.zeros(n)
    cdef floating *p_flat = &P[0, 0]
    cdef floating *coef_flat = &coef[0, 0]
    cdef Lazy run
    run.l1 = l1
    run.l2 = l2
    run.avg_from = n_batches + 1  # none yet
    run.penalty = 0.0
    run.k = k
    run.inv_scale = &inv_scale[0]
    run.penalty_weight = &penalty_weight[0]
    run.eps = &eps[0]
    run.last = &last[0]
    run.avg_sum = &sums[0, 0] if averaging else NULL
    if averaging and n_averaged > 0:
        for j in range(n):
            for c in range(k):
                sums[j, c] = <double>A[j, c] * n_averaged
    with nogil:
        _coefficients(P, coef, inv_scale)
        _start_run(&run, n, rates[0], <double>sizes[0])
        for batch in range(n_batches):
            if rates[batch] != run.lr or sizes[batch] != run.size:
                for j in range(n):
                    _catch_up(p_flat, coef_flat, j, batch, &run)
                _start_run(&run, n, rates[batch], <double>sizes[batch])
            lr = run.lr
            lo = bounds[batch]
            hi = bounds[batch + 1]
            size = sizes[batch]
            scale = 1.0 / (size * mean_weight)
            # The batch's features: caught up, their gradient rows cleared.
            t_count = 0
            for pos in range(lo, hi):
                row = pos if in_order else index[pos]
                for q in range(X_indptr[row], X_indptr[row + 1]):
                    j = X_indices[q]
                    if mark[j] != batch:
                        mark[j] = batch
                        touched[t_count] = j
                        t_count += 1
                        _catch_up(p_flat, coef_flat, j, batch, &run)
                        for c in range(k):
                            G[j, c] = 0
            # The rows: as the dense pass, without the centring shift.
            batch_loss = 0.0
            for c in range(k):
                dsum[c] = 0.0
            for pos in range(lo, hi):
                row = pos if in_order else index[pos]
                if not in_order and pos + AHEAD < n_positions:
                    _prefetch_sparse_row(X_data, X_indptr, Y, index[pos + AHEAD])
                w = W[row] if weighted else 1.0
                for c in range(k):
                    resid[c] = P[n, c] if centred else 0.0
                for q in range(X_indptr[row], X_indptr[row + 1]):
                    j = X_indices[q]
                    for c in range(k):
                        resid[c] += X_data[q] * coef[j, c]
                batch_loss += w * _row_loss(loss_family, loss_code, loss_param,
                                            &resid[0], Y, row, k)
                for c in range(k):
                    resid[c] = w * resid[c] * scale
                    dsum[c] += resid[c]
                for q in range(X_indptr[row], X_indptr[row + 1]):
                    j = X_indices[q]
                    for c in range(k):
                        G[j, c] += X_data[q] * resid[c]
            objective = scale * batch_loss
            if not objective <= limit:
                diverged = True
                break
            total += objective * size
            # The penalty at the batch's features (the others' is caught up).
            for i in range(t_count):
                j = touched[i]
                own = penalty_weight[j]
                for c in range(k):
                    v = own * coef[j, c]
                    if l2 != 0:
                        total += size * 0.5 * l2 * v * v
                    if l1 != 0:
                        total += size * l1 * fabs(v)
            # The step, on the batch's features and the intercept.
            for i in range(t_count):
                j = touched[i]
                own = penalty_weight[j]
                thr = lr * l1 * inv_scale[j] * own
                for c in range(k):
                    g = <floating>((G[j, c] + (l2 * (own * coef[j, c]) * own
                                               if l2 != 0 else 0.0)) * inv_scale[j])
                    p = <floating>(P[j, c] - lr * g)
                    if l1 > 0:
                        if p > thr:
                            p = <floating>(p - thr)
                        elif p < -thr:
                            p = <floating>(p + thr)
                        else:
                            p = 0
                    P[j, c] = <floating>p
                    coef[j, c] = <floating>(P[j, c] * inv_scale[j])
                last[j] = batch + 1
            for c in range(k):
                g = <floating>(dsum[c] if centred else 0.0)
                P[n, c] = <floating>(P[n, c] - lr * g)
            steps += 1
            if averaging:
                samples_seen += size
                if samples_seen >= average_start:
                    n_averaged += 1
                    if run.avg_from > steps:
                        run.avg_from = steps
                    for c in range(k):  # the intercept, as the dense average
                        if n_averaged == 1:
                            A[n, c] = P[n, c]
                        else:
                            A[n, c] = <floating>(A[n, c] + (P[n, c] - A[n, c])
                                                 * (1.0 / n_averaged))
                    for i in range(t_count):
                        j = touched[i]
                        for c in range(k):
                            run.avg_sum[j * k + c] += P[j, c]
            work += (hi - lo) * k + t_count * k * 8
            _check_signals(&work)
        for j in range(n):
            _catch_up(p_flat, coef_flat, j, steps, &run)
    total += run.penalty
    if not isfinite(run.penalty) and not diverged:
        # The penalty alone overflowed (a rate far beyond the L2 part's
        # stability): reported as a divergence of the last step.
        diverged = True
        steps -= 1
    if averaging and n_averaged > 0:
        for j in range(n):
            for c in range(k):
                A[j, c] = <floating>(sums[j, c] / n_averaged)
    return total, steps, diverged, samples_seen, n_averaged, mu_product


cdef inline void _prefetch_sparse_row(const floating[::1] X_data,
                                      const csr_index[::1] X_indptr,
                                      const floating[:, :] Y,
                                      Py_ssize_t row) noexcept nogil:
    """Ask for a CSR row's values and its targets ahead of their use."""
    cdef Py_ssize_t a = X_indptr[row], b = X_indptr[row + 1]
    if b > a:
        SKGD_PREFETCH(&X_data[a])
    SKGD_PREFETCH(&Y[row, 0])
