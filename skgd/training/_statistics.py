"""Statistics of the training data that set up a linear model.

:class:`~skgd.GDRegressor` centres and rescales its features implicitly and
derives its step size from the data. This module computes what that needs:
weighted column means and spreads, the largest eigenvalue of the (rescaled)
second moment, the largest row norm, and the spread of the targets.

Every function treats rows of zero weight as absent, never copies ``X``
whole (rows are processed a chunk at a time), and works for data of any
magnitude that floating point can hold: squares are only ever taken of
values brought to a moderate scale first.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from .._extensions import load

# None only when the NumPy loop is asked for (see skgd._extensions).
_column_statistics = load("training._column_statistics")

# Rows used to estimate the largest eigenvalue of the data's second moment.
POWER_ITERATION_ROWS = 2000
_POWER_ITERATIONS = 30
# Power iteration stops early once the estimate moves by less than this.
_POWER_ITERATION_RTOL = 1e-3
# Rows of X are copied (to be centred or rescaled) about this many values (1 MiB)
# at a time: memory stays far below a copy of X.
_CHUNK_VALUES = 1 << 17
# 1.4826 * MAD is the standard deviation of a normal distribution.
_MAD_TO_STD = 1.4826


def nonzero_rows(sample_weight, n_samples):
    """The rows that count, and their weights rescaled to a mean of 1.

    Returns ``(index, weight)``: ``index`` holds the rows of nonzero weight,
    or is None when every row counts; ``weight`` has one entry per such row.
    """
    if sample_weight is None:
        return None, np.ones(n_samples)
    weight = np.asarray(sample_weight, dtype=np.float64)
    index = None
    if not weight.all():
        index = np.flatnonzero(weight)
        weight = weight[index]
    return index, weight / weight.mean()


def feature_sums(X, weight):
    """The total weight and the weighted column sums of ``X`` (as float64).

    The product is in X's precision: float64 weights would make NumPy copy
    a float32 X to float64.
    """
    weight = np.asarray(weight)
    sums = X.T @ weight.astype(X.dtype, copy=False)
    return float(weight.sum(dtype=np.float64)), np.asarray(sums, np.float64).ravel()


#: A ``partial_fit`` chunk whose column spreads differ from the first chunk's
#: by more than this factor (either way) is warned about.
SPREAD_CHANGE = 10.0


def warn_if_spreads_changed(first, X, sample_weight, centred, stacklevel=2):
    """Warn when the columns of a stream's chunk are scaled unlike the first's.

    The first chunk's spreads (``first``; 0 for a constant column) fix the
    rescaling of the features and the automatic step size. The chunk's own
    spreads are measured the same way (about its mean if ``centred``, else
    about 0); columns constant in either chunk are not compared.
    """
    index, weight = nonzero_rows(sample_weight, X.shape[0])
    if len(weight) < 2:
        return
    centre = None
    if centred:
        ones = np.ones(X.shape[0])
        total, sums = feature_sums(X, ones if sample_weight is None else sample_weight)
        centre = sums / total
    spreads = column_spreads(X, index, weight, centre)
    both = (spreads > 0) & (first > 0)
    if not both.any():
        return
    change = np.ones_like(spreads)
    change[both] = spreads[both] / first[both]
    change = np.maximum(change, 1.0 / change)
    if change.max() > SPREAD_CHANGE:
        columns = np.flatnonzero(change > SPREAD_CHANGE)
        shown = ", ".join(map(str, columns[:5])) + (", ..." if len(columns) > 5 else "")
        warnings.warn(
            f"The spreads of columns {shown} of this partial_fit chunk differ "
            f"from the first chunk's by up to {change.max():.3g} times (more than "
            f"{SPREAD_CHANGE:g}). The first chunk fixed the rescaling of the "
            "features and the step size: make it representative of the stream, "
            "or scale X beforehand (for example with a StandardScaler fitted on "
            "a sample).",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def max_abs(X):
    """The largest absolute value of ``X`` (dense or sparse), without a copy."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return float(max(values.max(), -values.min()))


def _row_chunks(X, index):
    """Yield ``(positions, rows)``: the rows of ``X`` (of ``index``) by chunks.

    ``rows`` is a float64 copy of a chunk (which callers may change in
    place); ``positions`` is the slice of the chunk among the rows visited.
    """
    n_rows = X.shape[0] if index is None else len(index)
    if sp.issparse(X):
        per_row = max(X.nnz // max(X.shape[0], 1), 1)
        step = max(_CHUNK_VALUES, X.shape[1]) // per_row
    else:
        step = _CHUNK_VALUES // max(X.shape[1], 1)
    step = max(step, 1)
    for start in range(0, n_rows, step):
        where = slice(start, min(start + step, n_rows))
        rows = X[where] if index is None else X[index[where]]
        # Only a slice of dense X is a view of it, which must be copied.
        view = index is None and not sp.issparse(X)
        rows = rows.astype(np.float64, copy=view)
        yield where, rows
        del rows  # before the next chunk is made


def _chunk_moments(rows, weight, centre, spread):
    """Weighted sums of ``d`` and ``d**2``, for ``d = (rows - centre) / spread``."""
    if not sp.issparse(rows):
        rows -= centre  # rows is a copy: work in place
        rows *= 1.0 / spread
        linear = weight @ rows
        rows *= rows
        return linear, weight @ rows
    d = rows.shape[1]
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    stored_weight = weight[row_of]
    deviation = (rows.data - centre[rows.indices]) / spread[rows.indices]
    linear = np.bincount(rows.indices, stored_weight * deviation, minlength=d)
    square = np.bincount(rows.indices, stored_weight * deviation**2, minlength=d)
    # The implicit zeros deviate by -centre / spread.
    zeros_weight = weight.sum() - np.bincount(rows.indices, stored_weight, minlength=d)
    zeros_weight = np.maximum(zeros_weight, 0.0)
    zero = -centre / spread
    return linear + zeros_weight * zero, square + zeros_weight * zero**2


def _column_extremes(rows):
    """The largest and smallest value of each column (implicit zeros count)."""
    high, low = rows.max(axis=0), rows.min(axis=0)
    if sp.issparse(rows):
        high, low = high.toarray(), low.toarray()
    return np.ravel(high), np.ravel(low)


def column_spreads(X, index, weight, centre):
    """Weighted root-mean-square deviations of the columns of ``X``.

    The deviations are from ``centre`` (the column means, giving standard
    deviations) or, if it is None, from 0. A column whose visited values
    are all equal has a spread of 0 when ``centre`` is given, however the
    mean was rounded. Each chunk is divided by its largest deviation before
    squaring, and the chunks' sums are merged on the larger of the two
    scales (as LAPACK's ``dlassq`` does), so values of magnitude 1e-200 or
    1e200 neither underflow nor overflow. Means are corrected for the error
    of ``centre``: ``var = E[d**2] - E[d]**2``.
    """
    d = X.shape[1]
    centred = centre is not None
    centre = np.asarray(centre, np.float64) if centred else np.zeros(d)
    if _column_statistics is not None and _compiled_readable(X):
        rows = None if index is None else index.astype(np.intp)
        scale, linear, square, high, low = _column_statistics.column_moments(
            X, rows, np.ascontiguousarray(weight, np.float64), centre
        )
    else:
        scale, linear, square, high, low = _chunked_moments(X, index, weight, centre)
    total = weight.sum()
    variance = square / total
    if centred:
        variance -= (linear / total) ** 2
    spreads = scale * np.sqrt(np.maximum(variance, 0.0))
    if centred:
        spreads[high == low] = 0.0
    return spreads


def _compiled_readable(X):
    """Whether the compiled column statistics read ``X`` as it is."""
    return (
        isinstance(X, np.ndarray)
        and X.dtype in (np.float32, np.float64)
        and X.ndim == 2
        and all(stride > 0 and stride % X.itemsize == 0 for stride in X.strides)
    )


def _chunked_moments(X, index, weight, centre):
    """The moments of :func:`column_spreads` in NumPy, chunk by chunk."""
    d = X.shape[1]
    scale = np.zeros(d)
    linear = np.zeros(d)
    square = np.zeros(d)
    high = np.full(d, -np.inf)
    low = np.full(d, np.inf)
    for where, rows in _row_chunks(X, index):
        chunk_high, chunk_low = _column_extremes(rows)
        high, low = np.maximum(high, chunk_high), np.minimum(low, chunk_low)
        spread = np.maximum(chunk_high - centre, centre - chunk_low)
        safe = np.where(spread > 0, spread, 1.0)
        chunk_linear, chunk_square = _chunk_moments(rows, weight[where], centre, safe)
        merged = np.maximum(scale, spread)
        merged_safe = np.where(merged > 0, merged, 1.0)
        old, new = scale / merged_safe, spread / merged_safe
        linear = linear * old + chunk_linear * new
        square = square * old * old + chunk_square * new * new
        scale = merged
    return scale, linear, square, high, low


def top_eigenvalue(X, index, weight, offset, inv_scale, ridge=None, intercept=False):
    """Largest eigenvalue of ``sum_i w_i z_i z_i^T / n + diag(ridge)``.

    ``z_i = (x_i - offset) * inv_scale`` (``offset`` None: no centring) are
    the rescaled rows of at most 2,000 of the visited rows, drawn with a
    fixed seed, with a last entry 1 appended if ``intercept``; power
    iteration gives the eigenvalue. Dense rows are centred in the sample's
    copy; sparse ones implicitly, so they stay sparse.
    """
    n_rows = X.shape[0] if index is None else len(index)
    rows = np.arange(n_rows)
    if n_rows > POWER_ITERATION_ROWS:
        rows = np.random.RandomState(0).choice(
            n_rows, POWER_ITERATION_ROWS, replace=False
        )
    weight = weight[rows]
    sample = X[rows if index is None else index[rows]].astype(np.float64, copy=False)
    centre = None
    if sp.issparse(sample):
        sample = sample @ sp.diags(inv_scale)
        if offset is not None:
            centre = offset * inv_scale
    else:
        if offset is not None:
            sample -= offset  # a copy: X[rows] indexes
        sample *= inv_scale
    return _power_iteration(sample, weight, centre, ridge, intercept)


def _power_iteration(Z, weight, centre, ridge, intercept):
    """Power iteration on ``[Z - centre, 1]^T diag(weight) [Z - centre, 1] / n``.

    The column of ones is only there with ``intercept``; nothing is formed.
    """
    n, d = Z.shape
    v = np.random.RandomState(0).uniform(0.5, 1.5, size=d + intercept)
    v /= np.linalg.norm(v)
    z = np.empty_like(v)
    eigenvalue = 0.0
    for _ in range(_POWER_ITERATIONS):
        u = Z @ v[:d]
        if centre is not None:
            u -= centre @ v[:d]
        if intercept:
            u += v[d]
        u *= weight
        z[:d] = Z.T @ u
        if centre is not None:
            z[:d] -= centre * u.sum()
        if intercept:
            z[d] = u.sum()
        z /= n
        if ridge is not None:
            z[:d] += ridge * v[:d]
        previous, eigenvalue = eigenvalue, float(np.linalg.norm(z))
        if not eigenvalue > 0.0:  # 0, or not finite
            break
        v = z / eigenvalue
        if abs(eigenvalue - previous) <= _POWER_ITERATION_RTOL * eigenvalue:
            break
    return eigenvalue


def largest_row_norm(X, index, weight, offset, inv_scale, extra=0.0):
    """``max_i w_i (||(x_i - offset) * inv_scale||^2 + extra)`` over the rows."""
    centre = None if offset is None else offset * inv_scale
    largest = 0.0
    for where, rows in _row_chunks(X, index):
        if sp.issparse(rows):
            rows = rows @ sp.diags(inv_scale)
            norms = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
            if centre is not None:
                norms += centre @ centre - 2.0 * np.asarray(rows @ centre).ravel()
                norms = np.maximum(norms, 0.0)
        else:
            if offset is not None:
                rows -= offset
            rows *= inv_scale
            norms = np.einsum("ij,ij->i", rows, rows)
        largest = max(largest, float(np.max(weight[where] * (norms + extra))))
    return largest


def weighted_median(values, weight):
    """The weighted median of each column of ``values`` (1-D or 2-D).

    Where the cumulated weight reaches exactly half at a value, the median
    is the midpoint to the next one, so unit weights give ``np.median``.
    """
    if np.all(weight == weight[0]):
        return np.median(values, axis=0)
    order = np.argsort(values, axis=0)
    ordered = np.take_along_axis(values, order, axis=0)
    cumulated = np.cumsum(weight[order], axis=0)
    half = cumulated[-1] / 2
    lower = np.sum(cumulated < half, axis=0, keepdims=True)
    upper = np.sum(cumulated <= half, axis=0, keepdims=True)
    upper = np.minimum(upper, len(values) - 1)
    low = np.take_along_axis(ordered, lower, axis=0)
    high = np.take_along_axis(ordered, upper, axis=0)
    return ((low + high) / 2)[0]


def target_spreads(y, weight):
    """The weighted standard deviation and median absolute deviation of ``y``.

    Both are the largest over the targets. ``y`` is divided by its largest
    absolute value first, so that squares neither overflow nor underflow.
    """
    y_max = max_abs(y)
    y_scale = y_max if y_max > 0 else 1.0
    scaled = y / y_scale
    columns = weight if scaled.ndim == 1 else weight[:, None]
    mean = np.sum(columns * scaled, axis=0) / weight.sum()
    variance = np.sum(columns * (scaled - mean) ** 2, axis=0) / weight.sum()
    std = float(np.max(np.sqrt(variance))) * y_scale
    deviation = np.abs(scaled - weighted_median(scaled, weight))
    mad = float(np.max(weighted_median(deviation, weight))) * y_scale
    return std, mad


def robust_scale(std, mad):
    """``1.4826 * mad`` (the standard deviation, for normal data), else ``std``."""
    return _MAD_TO_STD * mad if mad > 0 else std
