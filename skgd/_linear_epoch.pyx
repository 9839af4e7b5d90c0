# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""One epoch of the linear model's (mini-)batch gradient descent, compiled.

This is the compiled backend of ``skgd._training.run_epoch`` for
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

Steps 2 (its per-coordinate part) to 4 are fused into one pass over the
parameters, which also prepares ``coef``, ``offset @ coef`` and the penalty
for the next batch, so a batch costs one pass over its rows (a BLAS dot and
axpy per dense row) and one pass over the parameters. Arithmetic is carried
out in double precision; float32 parameters and data are read and stored as
float32.

Parameters are viewed as ``(n_features + 1, n_targets)``; the last row is
the intercept.
"""

from libc.math cimport fabs, sqrt
from libc.string cimport memset
from scipy.linalg.cython_blas cimport daxpy, ddot, saxpy, sdot

import numpy as np

ctypedef fused floating:
    float
    double

# Loss codes (see skgd._compiled_epoch).
cdef enum:
    SQUARED_ERROR = 0
    HUBER = 1
    EPSILON_INSENSITIVE = 2
    SQUARED_EPSILON_INSENSITIVE = 3
    ABSOLUTE_ERROR = 4
    QUANTILE = 5

# Optimizer codes (see skgd._compiled_epoch).
cdef enum:
    SGD = 0
    ADAGRAD = 1
    RMSPROP = 2
    ADAM = 3
    NADAM = 4
    RADAM = 5
    ADAMAX = 6
    ADADELTA = 7
    LION = 8


cdef struct Step:
    # What one step of the optimizer needs, computed once per step.
    int code
    double lr
    double decay        # decoupled weight decay factor, 1 - lr * wd
    double h0, h1, h2   # hyperparameters (see _set_step)
    double c0, c1, c2   # step-dependent constants (see _set_step)
    bint flag0, flag1   # boolean hyperparameters / conditions


cdef inline double _sign(double x) noexcept nogil:
    return (x > 0) - (x < 0)


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
    # QUANTILE, with r = p - y: (1 - q) r above the target, -q r below.
    if r > 0:
        dloss[0] = 1.0 - param
        return (1.0 - param) * r
    dloss[0] = -param
    return -param * r


cdef void _set_step(Step *s, const double[::1] hyper, double lr, long t,
                    double *mu_product) noexcept nogil:
    """Fill the per-step constants of optimizer ``s.code`` at step ``t``.

    ``hyper`` holds the hyperparameters in the order of
    skgd._compiled_epoch.optimizer_spec.
    """
    cdef double b1, b2, mu, mu_next, rho_inf, rho_t
    s.lr = lr
    s.decay = 1.0
    s.h0 = hyper[0]
    s.h1 = hyper[1]
    s.h2 = hyper[2]
    if s.code == SGD:
        # momentum, dampening, nesterov
        s.flag0 = hyper[3] != 0
        s.flag1 = t == 1
    elif s.code == RMSPROP:
        # rho, epsilon, momentum, centered
        s.flag0 = hyper[3] != 0
    elif s.code == ADAM:
        # beta_1, beta_2, epsilon, amsgrad, weight_decay
        s.flag0 = hyper[3] != 0
        s.decay = 1.0 - lr * hyper[4]
        s.c0 = lr / (1.0 - hyper[0] ** t)
        s.c1 = 1.0 / sqrt(1.0 - hyper[1] ** t)
    elif s.code == NADAM:
        # beta_1, beta_2, epsilon, momentum_decay
        b1 = hyper[0]
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * hyper[3]))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * hyper[3]))
        mu_product[0] *= mu
        s.c0 = mu_next / (1.0 - mu_product[0] * mu_next)
        s.c1 = (1.0 - mu) / (1.0 - mu_product[0])
        s.c2 = 1.0 - hyper[1] ** t
    elif s.code == RADAM:
        b1 = hyper[0]
        b2 = hyper[1]
        s.c0 = 1.0 - b1 ** t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2 ** t / (1.0 - b2 ** t)
        s.flag0 = rho_t > 5
        if s.flag0:
            s.c1 = sqrt(
                (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
            ) * sqrt(1.0 - b2 ** t)
    elif s.code == ADAMAX:
        s.c0 = lr / (1.0 - hyper[0] ** t)
    elif s.code == LION:
        # beta_1, beta_2, weight_decay
        s.decay = 1.0 - lr * hyper[2]


cdef inline double _update(Step *s, double p, double g, floating *a, floating *b,
                           floating *c) noexcept nogil:
    """One optimizer step of one coordinate: the new value of ``p``.

    ``a``, ``b`` and ``c`` point at the coordinate's entries of the
    optimizer's buffers (in the order of optimizer_spec's ``slots``).
    """
    cdef double m, v, u
    if s.code == SGD:
        if s.h0 != 0:
            if s.flag1:
                m = g
            else:
                m = a[0] * s.h0 + (1.0 - s.h1) * g
            a[0] = <floating>m
            g = g + s.h0 * m if s.flag0 else m
        return p - s.lr * g
    if s.code == ADAGRAD:
        # epsilon in h0
        v = a[0] + g * g
        a[0] = <floating>v
        return p - s.lr * g / (sqrt(v) + s.h0)
    if s.code == RMSPROP:
        v = a[0] * s.h0 + (1.0 - s.h0) * (g * g)
        a[0] = <floating>v
        if s.flag0:
            m = b[0] * s.h0 + (1.0 - s.h0) * g
            b[0] = <floating>m
            v = v - m * m
            if v < 0:
                v = 0.0
        g = g / (sqrt(v) + s.h1)
        if s.h2 != 0:
            u = c[0] * s.h2 + g
            c[0] = <floating>u
            g = u
        return p - s.lr * g
    if s.code == ADAM:
        m = a[0] * s.h0 + g * (1.0 - s.h0)
        v = b[0] * s.h1 + (g * g) * (1.0 - s.h1)
        a[0] = <floating>m
        b[0] = <floating>v
        if s.flag0:
            if c[0] > v:
                v = c[0]
            c[0] = <floating>v
        return p - m / (sqrt(v) * s.c1 + s.h2) * s.c0
    if s.code == NADAM:
        m = a[0] * s.h0 + (1.0 - s.h0) * g
        v = b[0] * s.h1 + (1.0 - s.h1) * (g * g)
        a[0] = <floating>m
        b[0] = <floating>v
        return p - s.lr * (s.c0 * m + s.c1 * g) / (sqrt(v / s.c2) + s.h2)
    if s.code == RADAM:
        m = a[0] * s.h0 + (1.0 - s.h0) * g
        v = b[0] * s.h1 + (1.0 - s.h1) * (g * g)
        a[0] = <floating>m
        b[0] = <floating>v
        m = m / s.c0
        if s.flag0:
            m = m * s.c1 / (sqrt(v) + s.h2)
        return p - s.lr * m
    if s.code == ADAMAX:
        m = a[0] * s.h0 + (1.0 - s.h0) * g
        a[0] = <floating>m
        u = s.h1 * b[0]
        v = fabs(g) + s.h2
        if v > u:
            u = v
        b[0] = <floating>u
        return p - s.c0 * m / u
    if s.code == ADADELTA:
        # rho, epsilon; a = v (squared gradients), b = u (squared updates)
        v = a[0] * s.h0 + (1.0 - s.h0) * (g * g)
        a[0] = <floating>v
        g = g * sqrt(b[0] + s.h1) / sqrt(v + s.h1)
        b[0] = <floating>(b[0] * s.h0 + (1.0 - s.h0) * (g * g))
        return p - s.lr * g
    # LION
    m = a[0]
    p = p - s.lr * _sign(s.h0 * m + (1.0 - s.h0) * g)
    a[0] = <floating>(m * s.h1 + (1.0 - s.h1) * g)
    return p


cdef inline double _dot(int n, floating *x, int incx, floating *y, int incy) noexcept nogil:
    if floating is float:
        return sdot(&n, x, &incx, y, &incy)
    else:
        return ddot(&n, x, &incx, y, &incy)


cdef inline void _axpy(int n, double alpha, floating *x, int incx, floating *y,
                       int incy) noexcept nogil:
    cdef float alpha_f = <float>alpha
    if floating is float:
        saxpy(&n, &alpha_f, x, &incx, y, &incy)
    else:
        daxpy(&n, &alpha, x, &incx, y, &incy)


def linear_epoch(
    # Data: dense X (any strides, in elements) or CSR (data, indices, indptr).
    const floating[:, :] X,
    const floating[::1] X_data,
    const int[::1] X_indices,
    const int[::1] X_indptr,
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
    const double[::1] offset,
    bint centred,
    int loss_code,
    double loss_param,
    double l1,
    double l2,
    # The optimizer.
    int opt_code,
    const double[::1] hyper,
    floating[:, ::1] S0,
    floating[:, ::1] S1,
    floating[:, ::1] S2,
    long t0,
    double mu_product,
    # Iterate averaging (average_start == 0: off).
    floating[:, ::1] A,
    long average_start,
    long samples_seen,
    long n_averaged,
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
    cdef bint use_slot0 = S0.shape[0] > 0
    cdef bint use_slot1 = S1.shape[0] > 0
    cdef bint use_slot2 = S2.shape[0] > 0
    cdef bint averaging, first_average
    cdef int n = <int>n_features
    cdef int row_inc = 1 if sparse else <int>(X.strides[1] // sizeof(floating))
    cdef int k_int = <int>k
    cdef floating *xrow = NULL
    cdef floating *single_row = NULL
    cdef floating dummy = 0
    cdef floating *a
    cdef floating *b
    cdef floating *cc
    cdef double scale, objective, batch_loss, w, r, d, value, g, p, inv, thr
    cdef double total = 0.0
    cdef double single_dloss = 0.0
    cdef double penalty_l2 = 0.0, penalty_l1 = 0.0
    cdef Step step
    cdef long t = t0
    cdef long steps = 0
    cdef bint diverged = False
    # Per target: offset @ coef, the residual and the sum of dloss.
    cdef double[::1] shift = _zeros(k)
    cdef double[::1] resid = _zeros(k)
    cdef double[::1] dsum = _zeros(k)

    step.code = opt_code
    with nogil:
        _prepare(P, coef, inv_scale, offset, centred, &shift[0],
                 &penalty_l1, &penalty_l2)
        for batch in range(n_batches):
            size = sizes[batch]
            scale = 1.0 / (size * mean_weight)
            batch_loss = 0.0
            for c in range(k):
                dsum[c] = 0.0
            single_row = NULL
            if sparse or bounds[batch + 1] - bounds[batch] > 1 or k > 1:
                memset(&G[0, 0], 0, G.shape[0] * k * sizeof(floating))
            # Pass 1: the rows of the batch.
            for pos in range(bounds[batch], bounds[batch + 1]):
                row = pos if in_order else index[pos]
                w = W[row] if weighted else 1.0
                for c in range(k):
                    # Without centring, the intercept is not part of the model.
                    resid[c] = -Y[row, c]
                    if centred:
                        resid[c] += P[n_features, c] - shift[c]
                if sparse:
                    for q in range(X_indptr[row], X_indptr[row + 1]):
                        j = X_indices[q]
                        for c in range(k):
                            resid[c] += X_data[q] * coef[j, c]
                else:
                    xrow = <floating *>&X[row, 0]
                    for c in range(k):
                        resid[c] += _dot(n, xrow, row_inc, &coef[0, c], k_int)
                for c in range(k):
                    value = _loss(loss_code, loss_param, resid[c], &d)
                    batch_loss += w * value
                    resid[c] = w * d * scale  # now dloss
                    dsum[c] += resid[c]
                if not sparse and bounds[batch + 1] - bounds[batch] == 1 and k == 1:
                    single_row = xrow
                    single_dloss = resid[0]
                elif sparse:
                    for q in range(X_indptr[row], X_indptr[row + 1]):
                        j = X_indices[q]
                        for c in range(k):
                            G[j, c] += X_data[q] * resid[c]
                else:
                    for c in range(k):
                        _axpy(n, resid[c], xrow, row_inc, &G[0, c], k_int)
            objective = scale * batch_loss + 0.5 * l2 * penalty_l2 + l1 * penalty_l1
            if not objective <= limit:
                diverged = True
                break
            total += objective * size
            # Pass 2: gradient, step, prox and average, one coordinate at a time.
            t += 1
            _set_step(&step, hyper, rates[batch], t, &mu_product)
            averaging = False
            if average_start:
                samples_seen += size
                if samples_seen >= average_start:
                    averaging = True
                    n_averaged += 1
            first_average = n_averaged == 1
            penalty_l1 = 0.0
            penalty_l2 = 0.0
            for c in range(k):
                shift[c] = 0.0
            for j in range(n_features + 1):
                inv = inv_scale[j] if j < n_features else 1.0
                for c in range(k):
                    if j == n_features:
                        g = dsum[c] if centred else 0.0
                        p = P[j, c]
                    else:
                        if single_row != NULL:
                            g = single_dloss * single_row[j * row_inc]
                        else:
                            g = G[j, c]
                        if centred:
                            g = g - offset[j] * dsum[c]
                        g = (g + l2 * coef[j, c]) * inv
                        p = P[j, c] * step.decay
                    a = &S0[j, c] if use_slot0 else &dummy
                    b = &S1[j, c] if use_slot1 else &dummy
                    cc = &S2[j, c] if use_slot2 else &dummy
                    p = _update(&step, p, g, a, b, cc)
                    if j < n_features:
                        if l1 > 0:
                            thr = step.lr * l1 * inv
                            if fabs(p) > thr:
                                p = p - thr if p > 0 else p + thr
                            else:
                                p = 0.0
                        P[j, c] = <floating>p
                        coef[j, c] = <floating>(P[j, c] * inv)
                        value = coef[j, c]
                        penalty_l2 += value * value
                        penalty_l1 += fabs(value)
                        if centred:
                            shift[c] += offset[j] * value
                    else:
                        P[j, c] = <floating>p
                    if averaging:
                        if first_average:
                            A[j, c] = P[j, c]
                        else:
                            A[j, c] = <floating>(A[j, c] + (P[j, c] - A[j, c]) / n_averaged)
            steps += 1
    return total, steps, diverged, samples_seen, n_averaged, mu_product


cdef double[::1] _zeros(Py_ssize_t k):
    return np.zeros(k)


cdef void _prepare(floating[:, ::1] P, floating[:, ::1] coef, const double[::1] inv_scale,
                   const double[::1] offset, bint centred, double *shift,
                   double *penalty_l1, double *penalty_l2) noexcept nogil:
    """``coef``, ``offset @ coef`` and the penalty sums at the epoch's start."""
    cdef Py_ssize_t j, c
    cdef Py_ssize_t k = P.shape[1]
    cdef double value
    for c in range(k):
        shift[c] = 0.0
    penalty_l1[0] = 0.0
    penalty_l2[0] = 0.0
    for j in range(P.shape[0] - 1):
        for c in range(k):
            coef[j, c] = <floating>(P[j, c] * inv_scale[j])
            value = coef[j, c]
            penalty_l2[0] += value * value
            penalty_l1[0] += fabs(value)
            if centred:
                shift[c] += offset[j] * value
