# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The column spreads of dense X in one pass over its rows, compiled.

The same computation as ``skgd.training._statistics.column_spreads`` (see
there): the rows are visited in chunks; each chunk's deviations from the
centre are divided by the chunk's largest deviation (per column) before they
are squared, and the chunks' sums are merged on the larger scale, as LAPACK's
``dlassq`` does, so values of magnitude 1e-200 or 1e200 neither underflow nor
overflow. A chunk is read twice (for its extremes, then for its sums) while
it sits in cache, so X is read from memory once, with no copy.
"""

from libc.math cimport fabs, sqrt, INFINITY

import numpy as np

ctypedef fused floating:
    float
    double

# Rows per chunk: small enough for a chunk of a few hundred features to stay
# in cache between its two passes.
cdef enum:
    CHUNK = 64


cdef inline void _extremes(const floating *x, double *high, double *low,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        high[j] = high[j] if high[j] >= x[j] else x[j]
        low[j] = low[j] if low[j] <= x[j] else x[j]


cdef inline void _sums(const floating *x, const double *centre, const double *inverse,
                       double w, double *linear, double *square,
                       Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double d
    for j in range(n):
        d = (x[j] - centre[j]) * inverse[j]
        linear[j] += w * d
        square[j] += w * d * d


def column_moments(
    const floating[:, :] X,
    const Py_ssize_t[::1] index,
    const double[::1] weight,
    const double[::1] centre,
):
    """Scaled weighted moments of the deviations of the columns from ``centre``.

    ``index`` holds the rows to visit (None: all rows, in order) and
    ``weight`` one weight per visited row; arguments of other lengths, and
    positions outside X, raise a ValueError. Returns ``(scale, linear, square,
    high, low)``: the weighted sums of ``d`` and ``d**2`` for ``d = (x -
    centre) / scale``, the scale, and each column's largest and smallest
    value.
    """
    cdef bint all_rows = index is None
    cdef Py_ssize_t n_rows = X.shape[0] if all_rows else index.shape[0]
    cdef Py_ssize_t n_cols = X.shape[1]
    cdef Py_ssize_t start, stop, pos, row, j
    if weight.shape[0] != n_rows or centre.shape[0] != n_cols:
        raise ValueError(
            f"column_moments: {weight.shape[0]} weights for {n_rows} rows and "
            f"{centre.shape[0]} centres for {n_cols} columns."
        )
    if X.strides[0] <= 0 or X.strides[1] <= 0:
        raise ValueError("column_moments: X must have positive strides.")
    if not all_rows:
        for pos in range(n_rows):
            if not 0 <= index[pos] < X.shape[0]:
                raise ValueError(
                    f"column_moments: position {pos} names row {index[pos]} of "
                    f"{X.shape[0]}."
                )
    cdef double x, d, w, spread, merged, old, new, inv
    out_scale = np.zeros(n_cols)
    out_linear = np.zeros(n_cols)
    out_square = np.zeros(n_cols)
    out_high = np.full(n_cols, -np.inf)
    out_low = np.full(n_cols, np.inf)
    cdef double[::1] scale = out_scale, linear = out_linear, square = out_square
    cdef double[::1] high = out_high, low = out_low
    cdef double[::1] chunk_high = np.empty(n_cols), chunk_low = np.empty(n_cols)
    cdef double[::1] chunk_linear = np.empty(n_cols), chunk_square = np.empty(n_cols)
    cdef double[::1] inverse = np.empty(n_cols)
    cdef bint contiguous = X.strides[1] == sizeof(floating)
    with nogil:
        start = 0
        while start < n_rows:
            stop = min(start + CHUNK, n_rows)
            for j in range(n_cols):
                chunk_high[j] = -INFINITY
                chunk_low[j] = INFINITY
                chunk_linear[j] = 0.0
                chunk_square[j] = 0.0
            for pos in range(start, stop):
                row = pos if all_rows else index[pos]
                if contiguous:
                    _extremes(&X[row, 0], &chunk_high[0], &chunk_low[0], n_cols)
                else:
                    for j in range(n_cols):
                        x = X[row, j]
                        chunk_high[j] = max(chunk_high[j], x)
                        chunk_low[j] = min(chunk_low[j], x)
            for j in range(n_cols):
                spread = max(chunk_high[j] - centre[j], centre[j] - chunk_low[j])
                inverse[j] = 1.0 / spread if spread > 0 else 1.0
                chunk_high[j], spread = spread, chunk_high[j]
                high[j] = max(high[j], spread)
                low[j] = min(low[j], chunk_low[j])
            for pos in range(start, stop):
                row = pos if all_rows else index[pos]
                w = weight[pos]
                if contiguous:
                    _sums(&X[row, 0], &centre[0], &inverse[0], w,
                          &chunk_linear[0], &chunk_square[0], n_cols)
                else:
                    for j in range(n_cols):
                        d = (X[row, j] - centre[j]) * inverse[j]
                        chunk_linear[j] += w * d
                        chunk_square[j] += w * d * d
            # Merge the chunk's sums (scaled by its spread, now in
            # chunk_high) with the running ones, on the larger of the scales.
            for j in range(n_cols):
                spread = chunk_high[j]
                merged = max(scale[j], spread)
                if merged > 0:
                    inv = 1.0 / merged
                    old = scale[j] * inv
                    new = spread * inv
                else:
                    old = new = 0.0
                linear[j] = linear[j] * old + chunk_linear[j] * new
                square[j] = square[j] * old * old + chunk_square[j] * new * new
                scale[j] = merged
            start = stop
    return out_scale, out_linear, out_square, out_high, out_low
