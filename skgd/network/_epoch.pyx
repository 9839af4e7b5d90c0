# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""One epoch of the network's (mini-)batch gradient descent, compiled.

This is the compiled backend of ``skgd.training._loop.run_epoch`` for
``skgd.network._model._MLPModel`` with a built-in activation and optimizer.
It performs, batch by batch, exactly the steps of the NumPy reference loop
(``_MLPModel.loss_grad`` and ``OptimizerState.step``):

1. the forward pass, ``z = a @ W + b`` and ``a = g(z)`` layer by layer (the
   output layer keeps ``z``);
2. the output loss -- softmax or logistic cross-entropy, the squared error,
   Huber's loss or the Poisson deviance with a log link -- weighted and
   scaled by ``1 / (size * mean weight)``, and its gradient (``weight *
   (proba - y)`` for the cross-entropies, ``weight * (z - y)`` for the
   squared error, ``weight * (exp(z) - y)`` for the Poisson deviance);
3. back-propagation: each layer's weight gradient ``a^T @ delta``, bias
   gradient (the column sums of ``delta``), and the error of the layer below,
   ``(delta @ W^T) * g'``; then the L2 penalty ``alpha * scale / 2 *
   ||W||^2`` on the weights;
4. the divergence check of the batch objective against ``limit``;
5. the optimizer's step, after its decoupled weight decay of the weights.

The matrix products are BLAS calls (``scipy.linalg.cython_blas``), as are
NumPy's; only a sparse first layer is a loop over the non-zeros, in the
order of SciPy's sparse products. Everything between the products is one
pass per layer (bias and activation together; the derivative) and runs
without the Python interpreter. The buffers come from the caller, made once:
no batch allocates. Elementwise arithmetic is carried out in double
precision, and float32 values are read and stored as float32; the sparse
products and the penalty's gradient keep the data's precision, as SciPy's
and NumPy's do.

The parameters are one flat buffer: every weight matrix (``n_in x n_out``,
C order), then every bias vector. The activations and errors of the layers
are C-order blocks of two flat buffers, ``capacity`` rows per layer.
"""

from libc.math cimport exp, log, log1p, tanh
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

include "../optimizers/_rules.pxi"
include "../training/_kernel_checks.pxi"

# Activations, by the names skgd.network._activations registers them.
cdef enum:
    IDENTITY = 0
    RELU = 1
    TANH = 2
    LOGISTIC = 3

ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "tanh": TANH, "logistic": LOGISTIC}

# Output units with their losses; an output class names its entry
# (``compiled_output``, see skgd.network._backend).
cdef enum:
    LOGISTIC_LOSS = 0
    SOFTMAX_LOSS = 1
    SQUARED_LOSS = 2
    HUBER_LOSS = 3
    POISSON_LOSS = 4

OUTPUTS = {
    "logistic_cross_entropy": LOGISTIC_LOSS,
    "softmax_cross_entropy": SOFTMAX_LOSS,
    "squared_error": SQUARED_LOSS,
    "huber": HUBER_LOSS,
    "poisson": POISSON_LOSS,
}

# How the first layer reads X (see skgd.network._backend): dense rows in
# place (C-like or Fortran-like, in order), dense rows copied into a buffer
# (shuffled, or other strides), or CSR.
cdef enum:
    ROWS = 0
    COLUMNS = 1
    GATHER = 2
    CSR = 3

# The columns of the ``layers`` table: per layer, its inputs and outputs,
# where its weights and biases start in the parameters, and where its block
# starts in the activation and error buffers.
cdef enum:
    N_IN = 0
    N_OUT = 1
    WEIGHTS = 2
    BIASES = 3
    BLOCK = 4


cdef struct Rows:
    # The rows of X of one batch: lo + i, or index[lo + i] when index is
    # not NULL, for i < m.
    const Py_ssize_t *index
    Py_ssize_t lo
    Py_ssize_t m


cdef inline Py_ssize_t _row(const Rows *rows, Py_ssize_t i) noexcept nogil:
    return rows.lo + i if rows.index == NULL else rows.index[rows.lo + i]


def network_epoch(data, plan, network, optimizer):
    """Run the batches of one epoch; return what the reference loop tracks.

    Each argument is a named tuple whose fields are, in order, the
    parameters of :func:`_epoch` of that group (skgd.network._backend builds
    them: the data, :class:`~skgd.training._kernel_io.EpochPlan`, the network
    and :class:`~skgd.training._kernel_io.RuleState`); the backend checks
    once, when it is imported, that the fields name the parameters
    (:func:`skgd.training._kernel_io.check_bundles`). Returns what
    :func:`_epoch` returns.
    """
    return _epoch(*data, *plan, *network, *optimizer)


# One function for the whole epoch, although it is longer than the others:
# its steps are calls already (_dense_input, _forward, _output_loss,
# _backward, _first_gradient, _optimizer_pass); what remains is the
# per-batch state they share (the rows, the first layer's buffer, the step),
# which a split would pass back and forth.
def _epoch(
    # Data: dense X (any strides) read as ``layout`` with row stride ``ld``
    # (in elements), rows copied to ``gathered`` when the layout says so, or
    # CSR (data, indices, indptr); targets; weights.
    const floating[:, :] X,
    const floating[::1] X_data,
    const int32_t[::1] X_indices,
    const int32_t[::1] X_indptr,
    int layout,
    int ld,
    floating[:, ::1] gathered,
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
    # The network and its work buffers.
    const Py_ssize_t[:, ::1] layers,
    int activation,
    int output,
    double epsilon,
    double alpha,
    Py_ssize_t n_weights,
    floating[::1] params,
    floating[::1] grad,
    floating[::1] activations,
    floating[::1] deltas,
    # The first layer's inputs: column centres and reciprocal spreads (both
    # empty: X as it is; an empty centre: rescaled only), and a buffer for
    # the first layer's weights and biases in X's units.
    const floating[::1] offset,
    const floating[::1] inv_scale,
    floating[::1] first,
    # The optimizer.
    int opt_code,
    const double[::1] hyper,
    floating[::1] S0,
    floating[::1] S1,
    floating[::1] S2,
    long long t0,
    double mu_product,
):
    """Run the batches of one epoch; return what the reference loop tracks.

    Returns
    -------
    total : float
        Sum over the batches of the batch objective times its size.
    steps : int
        Steps taken; fewer than the batches if one diverged (its objective
        exceeded ``limit`` or was NaN), and that batch took no step.
    mu_product : float
        NAdam's running product of momentum coefficients.
    """
    cdef Py_ssize_t n_batches = bounds.shape[0] - 1
    cdef Py_ssize_t batch, i
    cdef Py_ssize_t m_params = params.shape[0]
    cdef floating *p = &params[0]
    cdef floating *slot0 = &S0[0] if S0.shape[0] > 0 else NULL
    cdef floating *slot1 = &S1[0] if S1.shape[0] > 0 else NULL
    cdef floating *slot2 = &S2[0] if S2.shape[0] > 0 else NULL
    cdef const floating *x = NULL
    cdef int ldx = 0
    cdef bint trans_x = False
    cdef Rows rows
    cdef double scale, objective
    cdef double total = 0.0
    cdef Step step
    cdef long long t = t0
    cdef long long steps = 0
    cdef Py_ssize_t work = 0
    cdef floating *w0 = NULL
    cdef const floating *centre = NULL
    cdef const floating *inverse = NULL

    _check_network(X, X_data, X_indices, X_indptr, layout, ld, gathered, Y, W,
                   weighted, index, bounds, sizes, rates, layers, activation,
                   n_weights, params, grad, activations, deltas)
    _check_inputs(layers, offset, inv_scale, first)
    if output < LOGISTIC_LOSS or output > POISSON_LOSS or (
        output == HUBER_LOSS and not epsilon > 0
    ):
        raise ValueError(f"network_epoch: unknown output {output} or epsilon.")
    if inv_scale.shape[0] > 0:
        w0, inverse = &first[0], &inv_scale[0]
        if offset.shape[0] > 0:
            centre = &offset[0]
    _check_rule(opt_code, hyper, m_params, S0.shape[0], S1.shape[0], S2.shape[0])
    step.code = opt_code
    rows.index = NULL
    if index.shape[0] > 0:
        rows.index = &index[0]
    with nogil:
        for batch in range(n_batches):
            rows.lo = bounds[batch]
            rows.m = bounds[batch + 1] - rows.lo
            scale = 1.0 / (sizes[batch] * mean_weight)
            if layout != CSR:
                x = _dense_input(X, layout, ld, &rows, gathered, &ldx, &trans_x)
            if w0 != NULL:
                _first_layer(layers, p, centre, inverse, w0)
            _forward(x, ldx, trans_x, X_data, X_indices, X_indptr, layout == CSR,
                     &rows, layers, p, w0, &activations[0], activation)
            objective = _output_loss(output, epsilon, layers, &activations[0],
                                     &deltas[0], Y, W, weighted, &rows, scale)
            _backward(x, ldx, trans_x, X_data, X_indices, X_indptr, layout == CSR,
                      &rows, layers, p, &grad[0], &activations[0], &deltas[0],
                      activation)
            if w0 != NULL:
                _first_gradient(layers, &grad[0], centre, inverse)
            if alpha != 0:
                objective += _penalty(p, &grad[0], n_weights, alpha * scale)
            if not objective <= limit:  # also for NaN
                break
            total += objective * sizes[batch]
            t += 1
            _set_step(&step, hyper, rates[batch], t, &mu_product)
            if step.decay != 1.0:
                for i in range(n_weights):
                    p[i] = <floating>(p[i] * step.decay)
            _optimizer_pass(&step, p, &grad[0], slot0, slot1, slot2, m_params)
            steps += 1
            work += rows.m * n_weights + 8 * m_params
            if w0 != NULL:
                work += 2 * layers[0, N_IN] * layers[0, N_OUT]
            _check_signals(&work)
    return total, steps, mu_product


# BLAS counts rows, columns and strides in 32-bit integers.
cdef Py_ssize_t BLAS_MAX = 2**31 - 1


cdef int _check_network(
    const floating[:, :] X, const floating[::1] X_data,
    const int32_t[::1] X_indices, const int32_t[::1] X_indptr, int layout, int ld,
    floating[:, ::1] gathered, const floating[:, :] Y, const floating[::1] W,
    bint weighted, const Py_ssize_t[::1] index, const Py_ssize_t[::1] bounds,
    const Py_ssize_t[::1] sizes, const double[::1] rates,
    const Py_ssize_t[:, ::1] layers, int activation, Py_ssize_t n_weights,
    floating[::1] params, floating[::1] grad, floating[::1] activations,
    floating[::1] deltas,
) except -1:
    """Refuse arguments that :func:`network_epoch` would read or write past.

    The layer table must chain (each layer's inputs are the outputs of the
    one below, the first layer's the columns of X) and fit the parameter
    and work buffers for the largest batch; every size handed to BLAS must
    fit its 32-bit integers; X's layout must be the one ``layout`` names.
    """
    cdef Py_ssize_t l, n_rows, batch, largest = 0
    cdef Py_ssize_t n_layers = layers.shape[0]
    cdef Py_ssize_t n_features
    if layout < ROWS or layout > CSR or activation < IDENTITY or activation > LOGISTIC:
        raise ValueError(f"network_epoch: unknown layout {layout} or activation.")
    if n_layers < 1 or layers.shape[1] != BLOCK + 1:
        raise ValueError("network_epoch: the layer table has the wrong shape.")
    if grad.shape[0] != params.shape[0] or not 0 <= n_weights <= params.shape[0]:
        raise ValueError("network_epoch: parameters and gradient disagree.")
    for batch in range(bounds.shape[0] - 1):
        largest = max(largest, bounds[batch + 1] - bounds[batch])
    if largest > BLAS_MAX:
        raise ValueError(f"network_epoch: a batch of {largest} rows is too large.")
    for l in range(n_layers):
        if not (0 < layers[l, N_IN] <= BLAS_MAX and 0 < layers[l, N_OUT] <= BLAS_MAX):
            raise ValueError(f"network_epoch: layer {l} has an invalid size.")
        if l > 0 and layers[l, N_IN] != layers[l - 1, N_OUT]:
            raise ValueError(f"network_epoch: layer {l} does not chain.")
        if (
            layers[l, WEIGHTS] < 0
            or layers[l, BIASES] < 0
            or layers[l, BLOCK] < 0
            or layers[l, WEIGHTS] + layers[l, N_IN] * layers[l, N_OUT] > params.shape[0]
            or layers[l, BIASES] + layers[l, N_OUT] > params.shape[0]
            or layers[l, BLOCK] + largest * layers[l, N_OUT] > activations.shape[0]
            or layers[l, BLOCK] + largest * layers[l, N_OUT] > deltas.shape[0]
        ):
            raise ValueError(f"network_epoch: layer {l} does not fit the buffers.")
    n_features = layers[0, N_IN]
    if layout == CSR:
        n_rows = X_indptr.shape[0] - 1
        _check_csr(X_data.shape[0], X_indices, X_indptr, n_features)
    else:
        n_rows = X.shape[0]
        if X.shape[1] != n_features or X.strides[0] <= 0 or X.strides[1] <= 0:
            raise ValueError("network_epoch: X does not match the first layer.")
        if layout == ROWS and not (
            X.strides[1] == sizeof(floating)
            and X.strides[0] == ld * sizeof(floating)
            and n_features <= ld <= BLAS_MAX
        ) or layout == COLUMNS and not (
            X.strides[0] == sizeof(floating)
            and X.strides[1] == ld * sizeof(floating)
            and n_rows <= ld <= BLAS_MAX
        ):
            raise ValueError("network_epoch: X's strides are not its layout's.")
        if (layout == GATHER or index.shape[0] > 0) and (
            gathered.shape[0] < largest or gathered.shape[1] != n_features
        ):
            raise ValueError("network_epoch: the gather buffer is too small.")
    if Y.shape[0] != n_rows or Y.shape[1] != layers[n_layers - 1, N_OUT]:
        raise ValueError("network_epoch: Y does not match X and the output layer.")
    if weighted and W.shape[0] != n_rows:
        raise ValueError(f"network_epoch: {W.shape[0]} weights for {n_rows} rows.")
    _check_plan(index, bounds, sizes, rates, n_rows)
    return 0


cdef inline void _matmul(bint trans_a, bint trans_b, int m, int n, int k,
                         const floating *a, int lda, const floating *b, int ldb,
                         floating *c, int ldc) noexcept nogil:
    """Row-major ``c = op(a) @ op(b)`` of shape ``(m, n)``: one BLAS gemm.

    ``op`` transposes its matrix when the flag is set; ``lda``, ``ldb`` and
    ``ldc`` are row strides in elements. BLAS is column-major, where a
    row-major matrix reads as its transpose: this computes ``c^T = op(b)^T
    op(a)^T``.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef floating one = 1.0
    cdef floating zero = 0.0
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &one, <float *>b, &ldb, <float *>a, &lda,
              &zero, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &one, <double *>b, &ldb, <double *>a, &lda,
              &zero, c, &ldc)


cdef const floating *_dense_input(const floating[:, :] X, int layout, int ld,
                                  const Rows *rows, floating[:, ::1] gathered,
                                  int *ldx, bint *trans_x) noexcept nogil:
    """The batch's rows of dense X as gemm reads them: in place, or gathered.

    Sets ``ldx`` to their row stride and ``trans_x`` when they are stored as
    columns (Fortran order).
    """
    cdef Py_ssize_t i, j
    cdef Py_ssize_t n = X.shape[1]
    cdef const floating *source
    if rows.index == NULL and layout != GATHER:
        ldx[0] = ld
        trans_x[0] = layout == COLUMNS
        return &X[rows.lo, 0]
    for i in range(rows.m):
        source = &X[_row(rows, i), 0]
        if X.strides[1] == sizeof(floating):
            memcpy(&gathered[i, 0], source, n * sizeof(floating))
        else:
            for j in range(n):
                gathered[i, j] = X[_row(rows, i), j]
    ldx[0] = <int>n
    trans_x[0] = False
    return &gathered[0, 0]


cdef void _forward(const floating *x, int ldx, bint trans_x,
                   const floating[::1] X_data, const int32_t[::1] X_indices,
                   const int32_t[::1] X_indptr, bint csr, const Rows *rows,
                   const Py_ssize_t[:, ::1] layers, const floating *params,
                   const floating *first, floating *activations,
                   int activation) noexcept nogil:
    """Fill each layer's block of ``activations`` with ``g(a @ W + b)``.

    The output layer's block holds its pre-activations ``a @ W + b``. The
    first layer's ``W`` and ``b`` are read from ``first`` (weights, then
    biases) unless it is NULL.
    """
    cdef Py_ssize_t l, n_layers = layers.shape[0]
    cdef int m = <int>rows.m, n_in, n_out
    cdef const floating *a = x
    cdef int lda = ldx
    cdef bint trans_a = trans_x
    cdef floating *z
    cdef const floating *weights
    cdef const floating *biases
    for l in range(n_layers):
        n_in = <int>layers[l, N_IN]
        n_out = <int>layers[l, N_OUT]
        z = activations + layers[l, BLOCK]
        weights = params + layers[l, WEIGHTS]
        biases = params + layers[l, BIASES]
        if l == 0 and first != NULL:
            weights = first
            biases = first + <Py_ssize_t>n_in * n_out
        if l == 0 and csr:
            _csr_product(X_data, X_indices, X_indptr, rows, weights, n_out, z)
        else:
            _matmul(trans_a, False, m, n_out, n_in, a, lda, weights, n_out, z, n_out)
        _bias_activation(activation if l < n_layers - 1 else IDENTITY, z,
                         biases, m, n_out)
        a = z
        lda = n_out
        trans_a = False


cdef void _first_layer(const Py_ssize_t[:, ::1] layers, const floating *params,
                       const floating *offset, const floating *inv_scale,
                       floating *first) noexcept nogil:
    """The first layer in X's units, from its parameters on rescaled inputs.

    The first layer is trained on ``(x - offset) * inv_scale``: its weights
    ``theta`` and biases ``beta`` act on X as ``W = inv_scale[:, None] *
    theta`` and ``b = beta - offset @ W``. ``first`` receives ``W`` (row
    major), then ``b``. A NULL ``offset`` is no centring.
    """
    cdef Py_ssize_t j, k
    cdef Py_ssize_t n_in = layers[0, N_IN], n_out = layers[0, N_OUT]
    cdef const floating *theta = params + layers[0, WEIGHTS]
    cdef const floating *beta = params + layers[0, BIASES]
    cdef floating *b = first + n_in * n_out
    cdef floating w
    for k in range(n_out):
        b[k] = beta[k]
    for j in range(n_in):
        for k in range(n_out):
            w = theta[j * n_out + k] * inv_scale[j]
            first[j * n_out + k] = w
            if offset != NULL:
                b[k] -= offset[j] * w


cdef void _first_gradient(const Py_ssize_t[:, ::1] layers, floating *grad,
                          const floating *offset,
                          const floating *inv_scale) noexcept nogil:
    """Turn the first layer's gradient in X's units into its parameters'.

    By the chain rule through :func:`_first_layer`: ``d theta = inv_scale *
    (dW - offset dbeta^T)``; the biases' gradient is unchanged.
    """
    cdef Py_ssize_t j, k
    cdef Py_ssize_t n_in = layers[0, N_IN], n_out = layers[0, N_OUT]
    cdef floating *g = grad + layers[0, WEIGHTS]
    cdef const floating *gb = grad + layers[0, BIASES]
    for j in range(n_in):
        for k in range(n_out):
            if offset != NULL:
                g[j * n_out + k] -= offset[j] * gb[k]
            g[j * n_out + k] *= inv_scale[j]


cdef int _check_inputs(const Py_ssize_t[:, ::1] layers, const floating[::1] offset,
                       const floating[::1] inv_scale, floating[::1] first) except -1:
    """Refuse a first-layer scaling that does not match the first layer."""
    cdef Py_ssize_t n_in = layers[0, N_IN], n_out = layers[0, N_OUT]
    if inv_scale.shape[0] == 0:
        if offset.shape[0] != 0:
            raise ValueError("network_epoch: an offset needs the reciprocal spreads.")
        return 0
    if inv_scale.shape[0] != n_in or offset.shape[0] not in (0, n_in):
        raise ValueError(
            f"network_epoch: {inv_scale.shape[0]} spreads and {offset.shape[0]} "
            f"centres for {n_in} inputs."
        )
    if first.shape[0] != n_in * n_out + n_out:
        raise ValueError("network_epoch: the first-layer buffer has the wrong size.")
    return 0


cdef void _backward(const floating *x, int ldx, bint trans_x,
                    const floating[::1] X_data, const int32_t[::1] X_indices,
                    const int32_t[::1] X_indptr, bint csr, const Rows *rows,
                    const Py_ssize_t[:, ::1] layers, const floating *params,
                    floating *grad, const floating *activations, floating *deltas,
                    int activation) noexcept nogil:
    """Back-propagate the output error in ``deltas``; fill ``grad``.

    Layer by layer from the output: the weight gradient ``a^T @ delta``,
    the bias gradient (the column sums of ``delta``), and the error of the
    layer below, ``(delta @ W^T) * g'(a)``.
    """
    cdef Py_ssize_t l
    cdef int m = <int>rows.m, n_in, n_out
    cdef const floating *a
    cdef floating *delta
    cdef int lda
    cdef bint trans_a
    for l in range(layers.shape[0] - 1, -1, -1):
        n_in = <int>layers[l, N_IN]
        n_out = <int>layers[l, N_OUT]
        delta = deltas + layers[l, BLOCK]
        if l == 0:
            a, lda, trans_a = x, ldx, trans_x
        else:
            a, lda, trans_a = activations + layers[l - 1, BLOCK], n_in, False
        if l == 0 and csr:
            _csr_transpose_product(X_data, X_indices, X_indptr, rows, delta,
                                   n_in, n_out, grad + layers[l, WEIGHTS])
        else:
            _matmul(not trans_a, False, n_in, n_out, m, a, lda, delta, n_out,
                    grad + layers[l, WEIGHTS], n_out)
        _column_sums(delta, m, n_out, grad + layers[l, BIASES])
        if l > 0:
            _matmul(False, True, m, n_in, n_out, delta, n_out,
                    params + layers[l, WEIGHTS], n_out,
                    deltas + layers[l - 1, BLOCK], n_in)
            _derivative(activation, deltas + layers[l - 1, BLOCK], a,
                        <Py_ssize_t>m * n_in)


cdef void _csr_product(const floating[::1] X_data, const int32_t[::1] X_indices,
                       const int32_t[::1] X_indptr, const Rows *rows,
                       const floating *W, Py_ssize_t n_out,
                       floating *z) noexcept nogil:
    """``z = X_b @ W`` for CSR rows: SciPy's loop, in the data's precision."""
    cdef Py_ssize_t i, j, q
    cdef Py_ssize_t r
    cdef floating value
    cdef floating *out
    cdef const floating *w
    for i in range(rows.m):
        r = _row(rows, i)
        out = z + i * n_out
        for j in range(n_out):
            out[j] = 0
        for q in range(X_indptr[r], X_indptr[r + 1]):
            value = X_data[q]
            w = W + X_indices[q] * n_out
            for j in range(n_out):
                out[j] += value * w[j]


cdef void _csr_transpose_product(const floating[::1] X_data,
                                 const int32_t[::1] X_indices, const int32_t[::1] X_indptr,
                                 const Rows *rows, const floating *delta,
                                 Py_ssize_t n_in, Py_ssize_t n_out,
                                 floating *G) noexcept nogil:
    """``G = X_b^T @ delta`` for CSR rows: SciPy's loop, in the data's precision."""
    cdef Py_ssize_t i, j, q
    cdef Py_ssize_t r
    cdef floating value
    cdef floating *out
    cdef const floating *d
    for j in range(n_in * n_out):
        G[j] = 0
    for i in range(rows.m):
        r = _row(rows, i)
        d = delta + i * n_out
        for q in range(X_indptr[r], X_indptr[r + 1]):
            value = X_data[q]
            out = G + X_indices[q] * n_out
            for j in range(n_out):
                out[j] += value * d[j]


cdef void _bias_activation(int code, floating *z, const floating *b, Py_ssize_t m,
                           Py_ssize_t n) noexcept nogil:
    """``z = g(z + b)`` row by row, as skgd.network._activations computes ``g``."""
    cdef Py_ssize_t i, j
    cdef floating *row
    cdef double v
    for i in range(m):
        row = z + i * n
        if code == IDENTITY:
            for j in range(n):
                row[j] = row[j] + b[j]
        elif code == RELU:
            for j in range(n):
                v = <floating>(row[j] + b[j])
                row[j] = <floating>(0.0 if v < 0 else v)  # NaN stays NaN
        elif code == TANH:
            for j in range(n):
                row[j] = <floating>tanh(<floating>(row[j] + b[j]))
        else:
            for j in range(n):
                row[j] = <floating>_expit(<floating>(row[j] + b[j]))


cdef void _derivative(int code, floating *delta, const floating *a,
                      Py_ssize_t count) noexcept nogil:
    """``delta *= g'(z)``, written in terms of the layer's output ``a = g(z)``."""
    cdef Py_ssize_t i
    cdef floating mask
    if code == RELU:
        # A product with 0 or 1 rather than a branch: as NumPy's, it keeps a
        # NaN error NaN, and it compiles to vector code, with no
        # mispredicted branch.
        for i in range(count):
            mask = 1.0 if a[i] > 0 else 0.0
            delta[i] = delta[i] * mask
    elif code == TANH:
        for i in range(count):
            delta[i] = <floating>(delta[i] * (1.0 - <double>a[i] * a[i]))
    elif code == LOGISTIC:
        for i in range(count):
            delta[i] = <floating>(delta[i] * ((1.0 - a[i]) * a[i]))


cdef void _column_sums(const floating *d, Py_ssize_t m, Py_ssize_t n,
                       floating *out) noexcept nogil:
    """``out = ones(m) @ d`` for ``d`` of shape ``(m, n)``: the bias gradient."""
    cdef Py_ssize_t i, j
    for j in range(n):
        out[j] = d[j]
    for i in range(1, m):
        for j in range(n):
            out[j] += d[i * n + j]


cdef inline double _expit(double z) noexcept nogil:
    """``1 / (1 + exp(-z))``, as SciPy's expit: no overflow for large ``|z|``."""
    return 1.0 / (1.0 + exp(-z))


cdef inline double _log1p_exp(double z) noexcept nogil:
    """``log(1 + exp(z))``, as NumPy's ``logaddexp(0, z)``."""
    if z == 0:
        return 0.6931471805599453  # log(2)
    if z < 0:
        return log1p(exp(z))
    if z > 0:
        return z + log1p(exp(-z))
    return z  # NaN


cdef double _output_loss(int output, double epsilon,
                         const Py_ssize_t[:, ::1] layers,
                         floating *activations, floating *deltas,
                         const floating[:, :] Y, const floating[::1] W,
                         bint weighted, const Rows *rows,
                         double scale) noexcept nogil:
    """The weighted loss of the output layer; its gradient in ``deltas``.

    Per sample, with weight ``w = scale * sample weight``: the softmax loss
    ``w * (logsumexp(z) - z[class])``, or the logistic loss summed over the
    units, ``w * sum(log(1 + exp(z)) - y z)``, whose gradients with respect
    to ``z`` are ``w * (proba - y)``; or a regression loss summed over the
    targets (see :func:`_regression_row`).
    """
    cdef Py_ssize_t last = layers.shape[0] - 1
    cdef Py_ssize_t k = layers[last, N_OUT]
    cdef floating *z = activations + layers[last, BLOCK]
    cdef floating *d = deltas + layers[last, BLOCK]
    cdef Py_ssize_t i, r
    cdef double w, loss = 0.0
    for i in range(rows.m):
        r = _row(rows, i)
        w = W[r] * scale if weighted else scale
        if output == SOFTMAX_LOSS:
            loss += w * _softmax_row(z + i * k, d + i * k, Y, r, k, w)
        elif output == LOGISTIC_LOSS:
            loss += w * _logistic_row(z + i * k, d + i * k, Y, r, k, w)
        else:
            loss += w * _regression_row(output, epsilon, z + i * k, d + i * k,
                                        Y, r, k, w)
    return loss


cdef double _regression_row(int output, double epsilon, const floating *z,
                            floating *d, const floating[:, :] Y, Py_ssize_t r,
                            Py_ssize_t k, double w) noexcept nogil:
    """One sample's regression loss, summed over its targets.

    With the residual ``e = z - y``: the squared error ``e**2 / 2`` (its
    derivative ``e``); Huber's ``c * (e - c / 2)`` with ``c = clip(e,
    -epsilon, epsilon)`` (its derivative ``c``); or the Poisson deviance of
    ``mu = exp(z)``, ``y log(y) - y z + mu - y`` (its derivative ``mu - y``).
    """
    cdef Py_ssize_t j
    cdef double e, c, mu, y, loss = 0.0
    for j in range(k):
        y = Y[r, j]
        if output == POISSON_LOSS:
            mu = exp(z[j])
            loss += (y * log(y) if y > 0 else 0.0) - y * z[j] + mu - y
            d[j] = <floating>((mu - y) * w)
            continue
        e = z[j] - y
        c = e
        if output == HUBER_LOSS:
            c = min(max(e, -epsilon), epsilon)
        loss += c * (e - 0.5 * c)
        d[j] = <floating>(c * w)
    return loss


cdef double _softmax_row(const floating *z, floating *d, const floating[:, :] Y,
                         Py_ssize_t r, Py_ssize_t k, double w) noexcept nogil:
    """One sample's ``logsumexp(z) - y . z``, computed from ``z - max(z)``."""
    cdef Py_ssize_t j
    cdef double shifted, total = 0.0, dot = 0.0
    cdef double top = z[0]
    for j in range(1, k):
        if z[j] > top:
            top = z[j]
    for j in range(k):
        shifted = <floating>(z[j] - top)
        d[j] = <floating>exp(shifted)
        total += d[j]
        dot += Y[r, j] * shifted
    for j in range(k):
        d[j] = <floating>((d[j] / total - Y[r, j]) * w)
    return log(total) - dot


cdef double _logistic_row(const floating *z, floating *d, const floating[:, :] Y,
                          Py_ssize_t r, Py_ssize_t k, double w) noexcept nogil:
    """One sample's ``sum(log(1 + exp(z)) - y z)`` over the output units."""
    cdef Py_ssize_t j
    cdef double loss = 0.0
    for j in range(k):
        loss += _log1p_exp(z[j]) - Y[r, j] * z[j]
        d[j] = <floating>((<floating>_expit(z[j]) - Y[r, j]) * w)
    return loss


cdef double _penalty(const floating *params, floating *grad, Py_ssize_t n_weights,
                     double strength) noexcept nogil:
    """Add ``strength * W`` to the weights' gradient; return ``strength/2 ||W||^2``.

    The penalty's gradient is computed in the parameters' precision, as
    NumPy computes it; its value is summed in double precision.
    """
    cdef Py_ssize_t i, j
    cdef floating penalty
    cdef floating s = <floating>strength
    # Four partial sums: one would be a chain of dependent additions.
    cdef double total[4]
    total[:] = [0.0, 0.0, 0.0, 0.0]
    for i in range(0, n_weights - 3, 4):
        for j in range(4):
            penalty = params[i + j] * s
            grad[i + j] = grad[i + j] + penalty
            total[j] += <double>penalty * params[i + j]
    for i in range(n_weights - n_weights % 4, n_weights):
        penalty = params[i] * s
        grad[i] = grad[i] + penalty
        total[0] += <double>penalty * params[i]
    return 0.5 * ((total[0] + total[1]) + (total[2] + total[3]))
