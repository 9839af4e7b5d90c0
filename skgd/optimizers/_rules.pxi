# The optimizers' update rules, compiled: included by every compiled epoch
# (skgd/linear/_epoch.pyx, skgd/network/_epoch.pyx), so each steps exactly as
# skgd.optimizers does.
#
# ``RULES`` declares every rule by name, once: its id, the hyperparameters it
# reads (in the order ``hyper`` holds them) and the buffers it keeps (in slot
# order). An optimizer class names its rule (``compiled_rule = "adam"``) and
# skgd.optimizers._compiled reads the rest from here, so adding a compiled
# optimizer takes its class and this file.
#
# ``_set_step`` computes what a step needs once (bias corrections, momentum
# schedules, the decay factor), and ``_optimizer_pass`` applies the rule to a
# flat parameter buffer with one tight loop per optimizer. Arithmetic is in
# double precision; ``floating`` buffers are read and stored in their type.

from libc.math cimport fabs, sqrt

ctypedef fused floating:
    float
    double

# The rule ids, one enum for both kernels.
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
    N_RULES = 9

# The most hyperparameters a rule reads.
cdef enum:
    N_HYPER = 5

# name: (id, hyperparameters read, buffers kept, scalar state). A
# hyperparameter the optimizer does not have reads as 0 (Adam runs AdamW's
# rule without weight decay); the scalar state is carried from step to step
# in the optimizer's state under that name (NAdam's momentum product).
RULES = {
    "sgd": (SGD, ("momentum", "dampening", "nesterov"), ("b",), None),
    "adagrad": (ADAGRAD, ("epsilon",), ("s",), None),
    "rmsprop": (
        RMSPROP, ("rho", "epsilon", "momentum", "centered"), ("v", "g_avg", "b"), None
    ),
    "adam": (
        ADAM,
        ("beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay"),
        ("m", "v", "v_max"),
        None,
    ),
    "nadam": (
        NADAM, ("beta_1", "beta_2", "epsilon", "momentum_decay"), ("m", "v"),
        "mu_product",
    ),
    "radam": (RADAM, ("beta_1", "beta_2", "epsilon"), ("m", "v"), None),
    "adamax": (ADAMAX, ("beta_1", "beta_2", "epsilon"), ("m", "v"), None),
    "adadelta": (ADADELTA, ("rho", "epsilon"), ("v", "u"), None),
    "lion": (LION, ("beta_1", "beta_2", "weight_decay"), ("m",), None),
}
HYPERPARAMETERS = N_HYPER


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


cdef void _set_step(Step *s, const double[::1] hyper, double lr, long long t,
                    double *mu_product) noexcept nogil:
    """Fill the per-step constants of optimizer ``s.code`` at step ``t``.

    ``hyper`` holds the hyperparameters in the order ``RULES`` names them.
    """
    cdef double b1, b2, mu, mu_next, rho_inf, rho_t
    s.lr = lr
    s.decay = 1.0
    s.h0 = hyper[0]
    s.h1 = hyper[1]
    s.h2 = hyper[2]
    if s.code == SGD:
        # momentum, dampening, nesterov
        s.flag0 = hyper[2] != 0
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


cdef void _optimizer_pass(Step *s, floating *p, floating *g, floating *a, floating *b,
                          floating *c, Py_ssize_t m) noexcept nogil:
    """One step of the optimizer on the ``m`` parameters ``p``, gradient ``g``.

    ``a``, ``b`` and ``c`` are the optimizer's buffers, in the order ``RULES``
    names them (NULL when absent). One loop per
    optimizer, so each is a tight, vectorisable pass.
    """
    cdef Py_ssize_t i
    cdef double lr = s.lr, h0 = s.h0, h1 = s.h1, h2 = s.h2
    cdef double c0 = s.c0, c1 = s.c1, c2 = s.c2
    cdef double mi, vi, ui, gi
    if s.code == SGD:
        if h0 == 0:  # plain
            for i in range(m):
                p[i] = <floating>(p[i] - lr * g[i])
        elif s.flag1:  # the first momentum step: b = g
            for i in range(m):
                a[i] = g[i]
                p[i] = <floating>(p[i] - lr * (g[i] + h0 * g[i] if s.flag0 else g[i]))
        else:
            for i in range(m):
                mi = a[i] * h0 + (1.0 - h1) * g[i]
                a[i] = <floating>mi
                p[i] = <floating>(p[i] - lr * (g[i] + h0 * mi if s.flag0 else mi))
    elif s.code == ADAGRAD:
        for i in range(m):
            vi = a[i] + <double>g[i] * g[i]
            a[i] = <floating>vi
            p[i] = <floating>(p[i] - lr * g[i] / (sqrt(vi) + h0))
    elif s.code == RMSPROP:
        for i in range(m):
            gi = g[i]
            vi = a[i] * h0 + (1.0 - h0) * (gi * gi)
            a[i] = <floating>vi
            if s.flag0:
                mi = b[i] * h0 + (1.0 - h0) * gi
                b[i] = <floating>mi
                vi = max(vi - mi * mi, 0.0)
            gi = gi / (sqrt(vi) + h1)
            if h2 != 0:
                gi = c[i] * h2 + gi
                c[i] = <floating>gi
            p[i] = <floating>(p[i] - lr * gi)
    elif s.code == ADAM:
        for i in range(m):
            gi = g[i]
            mi = a[i] * h0 + gi * (1.0 - h0)
            vi = b[i] * h1 + (gi * gi) * (1.0 - h1)
            a[i] = <floating>mi
            b[i] = <floating>vi
            if s.flag0:
                vi = max(<double>c[i], vi)
                c[i] = <floating>vi
            p[i] = <floating>(p[i] - mi / (sqrt(vi) * c1 + h2) * c0)
    elif s.code == NADAM:
        for i in range(m):
            gi = g[i]
            mi = a[i] * h0 + (1.0 - h0) * gi
            vi = b[i] * h1 + (1.0 - h1) * (gi * gi)
            a[i] = <floating>mi
            b[i] = <floating>vi
            p[i] = <floating>(p[i] - lr * (c0 * mi + c1 * gi) / (sqrt(vi / c2) + h2))
    elif s.code == RADAM:
        for i in range(m):
            gi = g[i]
            mi = a[i] * h0 + (1.0 - h0) * gi
            vi = b[i] * h1 + (1.0 - h1) * (gi * gi)
            a[i] = <floating>mi
            b[i] = <floating>vi
            mi = mi / c0
            if s.flag0:
                mi = mi * c1 / (sqrt(vi) + h2)
            p[i] = <floating>(p[i] - lr * mi)
    elif s.code == ADAMAX:
        for i in range(m):
            gi = g[i]
            mi = a[i] * h0 + (1.0 - h0) * gi
            a[i] = <floating>mi
            ui = max(h1 * b[i], fabs(gi) + h2)
            b[i] = <floating>ui
            p[i] = <floating>(p[i] - c0 * mi / ui)
    elif s.code == ADADELTA:
        for i in range(m):
            gi = g[i]
            vi = a[i] * h0 + (1.0 - h0) * (gi * gi)
            a[i] = <floating>vi
            gi = gi * sqrt(b[i] + h1) / sqrt(vi + h1)
            b[i] = <floating>(b[i] * h0 + (1.0 - h0) * (gi * gi))
            p[i] = <floating>(p[i] - lr * gi)
    elif s.code == LION:
        for i in range(m):
            mi = a[i]
            p[i] = <floating>(p[i] - lr * _sign(h0 * mi + (1.0 - h0) * g[i]))
            a[i] = <floating>(mi * h1 + (1.0 - h1) * g[i])


cdef int _slots_needed(int code, const double[::1] hyper) noexcept nogil:
    """The buffers rule ``code`` reads with these settings, as bits 1, 2, 4.

    Bit 1 is the first slot, 2 the second, 4 the third (``RULES`` names
    them).
    """
    if code == SGD:
        return 1 if hyper[0] != 0 else 0  # the momentum buffer
    if code == ADAGRAD or code == LION:
        return 1
    if code == RMSPROP:  # centred: the mean gradient; momentum: its buffer
        return 1 | (2 if hyper[3] != 0 else 0) | (4 if hyper[2] != 0 else 0)
    if code == ADAM:  # AMSGrad keeps the largest second moment
        return 3 | (4 if hyper[3] != 0 else 0)
    return 3  # NADAM, RADAM, ADAMAX, ADADELTA


cdef int _check_rule(int code, const double[::1] hyper, Py_ssize_t m,
                     Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t n2) except -1:
    """Refuse an unknown rule, or buffers too small for ``m`` parameters.

    ``n0``, ``n1`` and ``n2`` are the sizes of the three buffers (0 when
    absent). Every kernel entry calls this before it steps, so a rule can
    neither fall through to another one nor write past a buffer.
    """
    cdef int needed, bit
    cdef Py_ssize_t sizes[3]
    if code < 0 or code >= N_RULES:
        raise ValueError(
            f"Unknown compiled optimizer rule {code}: the rules are numbered "
            f"0 to {N_RULES - 1} (RULES in skgd/optimizers/_rules.pxi)."
        )
    if hyper.shape[0] != N_HYPER:
        raise ValueError(
            f"The compiled rules read {N_HYPER} hyperparameters; "
            f"{hyper.shape[0]} given."
        )
    needed = _slots_needed(code, hyper)
    sizes[0], sizes[1], sizes[2] = n0, n1, n2
    for bit in range(3):
        if needed & (1 << bit) and sizes[bit] != m:
            raise ValueError(
                f"Optimizer rule {code} needs buffer {bit} of {m} values; it "
                f"has {sizes[bit]}."
            )
    return 0


def optimizer_step(
    int opt_code,
    const double[::1] hyper,
    floating[::1] param,
    floating[::1] grad,
    floating[::1] S0,
    floating[::1] S1,
    floating[::1] S2,
    double lr,
    long long t,
    double mu_product,
    Py_ssize_t n_weights,
):
    """Step ``t`` of the optimizer pass of :func:`linear_epoch` on one parameter.

    The decoupled weight decay shrinks ``param[:n_weights]`` first. This is
    how the compiled update rules are tested against the reference ones and
    against PyTorch step for step. Returns NAdam's momentum product.
    """
    cdef Step step
    cdef Py_ssize_t i
    if grad.shape[0] != param.shape[0] or not 0 <= n_weights <= param.shape[0]:
        raise ValueError(
            f"optimizer_step: {param.shape[0]} parameters, {grad.shape[0]} "
            f"gradients and {n_weights} weights do not match."
        )
    _check_rule(opt_code, hyper, param.shape[0], S0.shape[0], S1.shape[0],
                S2.shape[0])
    step.code = opt_code
    _set_step(&step, hyper, lr, t, &mu_product)
    if step.decay != 1.0:
        for i in range(n_weights):
            param[i] = <floating>(param[i] * step.decay)
    _optimizer_pass(
        &step, &param[0], &grad[0],
        &S0[0] if S0.shape[0] > 0 else NULL,
        &S1[0] if S1.shape[0] > 0 else NULL,
        &S2[0] if S2.shape[0] > 0 else NULL,
        param.shape[0],
    )
    return mu_product
