# Checks shared by the compiled epochs (skgd/linear/_epoch.pyx,
# skgd/network/_epoch.pyx): what every kernel entry verifies before it reads
# or writes a buffer, so that no argument can make it leave memory.

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t

# An epoch looks for a pending signal (Ctrl-C) after about this many
# multiply-adds (a few milliseconds): a long epoch stays interruptible, and
# the interpreter is entered a few hundred times a second at the most.
cdef enum:
    SIGNAL_WORK = 1 << 24

# The index types of CSR matrices (SciPy's int32, or int64 for large ones).
ctypedef fused csr_index:
    int32_t
    int64_t


cdef int _check_plan(const Py_ssize_t[::1] index, const Py_ssize_t[::1] bounds,
                     const Py_ssize_t[::1] sizes, const double[::1] rates,
                     Py_ssize_t n_rows) except -1:
    """Refuse a batch plan that names rows outside the ``n_rows`` of X.

    ``bounds`` must rise from batch to batch, each batch's size (the row
    count its objective is scaled by) be positive, and the batches stay
    within ``index`` (or within the rows, when ``index`` is empty: in
    order). One pass over the plan.
    """
    cdef Py_ssize_t pos, bad = -1
    cdef Py_ssize_t n_batches = bounds.shape[0] - 1
    if n_batches < 0 or sizes.shape[0] < n_batches or rates.shape[0] < n_batches:
        raise ValueError("The batch plan's bounds, sizes and rates disagree.")
    for pos in range(n_batches):
        if not (0 <= bounds[pos] < bounds[pos + 1]) or sizes[pos] <= 0:
            raise ValueError("Batch bounds must rise and batch sizes be positive.")
    if n_batches and bounds[n_batches] > (index.shape[0] if index.shape[0] else n_rows):
        raise ValueError("The batches run past the rows of X.")
    with nogil:
        for pos in range(index.shape[0]):
            if not 0 <= index[pos] < n_rows:
                bad = pos
                break
    if bad >= 0:
        raise ValueError(f"Batch position {bad} names row {index[bad]} of {n_rows}.")
    return 0


cdef int _check_csr(Py_ssize_t n_data, const csr_index[::1] indices,
                    const csr_index[::1] indptr, Py_ssize_t n_cols) except -1:
    """Refuse a CSR matrix whose structure would be read outside its buffers.

    The row pointers must rise from 0 to at most the number of stored
    values, and the column indices lie in ``[0, n_cols)``.
    """
    cdef Py_ssize_t row, q
    cdef bint bad = False
    if indptr.shape[0] < 1 or n_data != indices.shape[0]:
        raise ValueError("Malformed CSR matrix: data, indices and indptr disagree.")
    with nogil:
        bad = indptr[0] != 0 or indptr[indptr.shape[0] - 1] > indices.shape[0]
        for row in range(indptr.shape[0] - 1):
            if bad:
                break
            bad = indptr[row + 1] < indptr[row]
        if not bad:
            for q in range(indptr[indptr.shape[0] - 1]):
                if indices[q] < 0 or indices[q] >= n_cols:
                    bad = True
                    break
    if bad:
        raise ValueError(
            "Malformed CSR matrix: its row pointers must rise from 0 to at most "
            f"{indices.shape[0]} and its column indices lie in [0, {n_cols})."
        )
    return 0


cdef inline int _check_signals(Py_ssize_t *work) except -1 nogil:
    """Every ``SIGNAL_WORK`` units of ``work``, run Python's signal handlers.

    A handler's error (KeyboardInterrupt, for Ctrl-C) propagates out of the
    epoch, and the estimator's call is rolled back as for any error. Call it
    between batches, so that the batch in hand is whole.
    """
    if work[0] >= SIGNAL_WORK:
        work[0] = 0
        with gil:
            PyErr_CheckSignals()
    return 0
