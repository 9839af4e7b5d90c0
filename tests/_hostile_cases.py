"""Hostile layouts and dtypes of X, y and sample_weight: the cases.

Each case builds the same data twice: ``hostile`` (a strange layout, dtype or
container) and ``canonical`` (C-contiguous float64, or CSR float64 with
sorted, summed 32-bit indices, holding the same values). A case either
expects the estimator to train on both to the same predictions
(``expect="same"``), or to refuse the hostile data with a ValueError or a
TypeError (``expect="reject"``). ``tests/_hostile_child.py`` fits them;
``tests/test_hostile_inputs.py`` checks what it reports.
"""

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import scipy.sparse as sp

N_SAMPLES, N_FEATURES = 40, 4
# The estimators and what they fit: "regressor" targets or class labels.
ESTIMATORS = {
    "GDRegressor": "regressor",
    "GDClassifier": "classifier",
    "MLPGDClassifier": "classifier",
    "MLPGDRegressor": "regressor",
}
# Each case is fitted with each of these: one row at a time (with rows held
# out for early stopping), shuffled mini-batches, mini-batches read in place
# in order, and three partial_fit calls on the whole data as one batch. The
# automatic step size (which reads X to estimate the curvature) is taken in
# one of them; it costs more than the three epochs do.
_RATE = 0.01
CONFIGS = {
    "b1": dict(batch_size=1, learning_rate=_RATE, early_stopping=True),
    "b8": dict(batch_size=8),
    "b8-ordered": dict(batch_size=8, shuffle=False, learning_rate=_RATE),
    "partial": dict(batch_size=N_SAMPLES + 1, shuffle=False, learning_rate=_RATE),
}
# Configurations fitted by this many partial_fit calls rather than by fit.
PARTIAL_FIT_CALLS = {"partial": 3}


@dataclasses.dataclass
class Data:
    """The arguments of ``fit``: X, y and sample_weight (None: not passed)."""

    X: object
    y: object
    w: object = None

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _base_arrays():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    X[rng.uniform(size=X.shape) < 0.35] = 0.0
    X[5] = 0.0  # an empty row of every sparse matrix
    signal = X @ np.array([0.5, -1.0, 0.25, 1.0])
    y = signal + 0.1 * rng.normal(size=N_SAMPLES)
    labels = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    w = rng.uniform(0.5, 2.0, size=N_SAMPLES)
    return X, y, labels, w


X0, Y_REG, Y_CLS, W0 = _base_arrays()
X_INT = np.round(2 * X0)  # integer values, for the integer dtypes


def base(kind):
    """The canonical data of an estimator kind: float64 X, unweighted."""
    return Data(X0.copy(), (Y_REG if kind == "regressor" else Y_CLS).copy())


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: object  # (canonical Data) -> (hostile Data, canonical Data)
    expect: str = "same"
    # The precision the hostile data trains in: float32 data is compared
    # with the canonical float64 fit to a float32 tolerance.
    precision: str = "float64"
    kinds: tuple = ("regressor", "classifier")
    # Refusals happen before training: one configuration is enough (and a
    # crash costs a restart of the child process).
    configs: tuple = tuple(CONFIGS)
    # A refused X must be refused by predict too (by a model fitted on the
    # canonical data).
    predict_refuses: bool = False
    # An input some releases of SciPy cannot handle: refusing it with a
    # ValueError or TypeError is allowed too.
    may_refuse: bool = False


CASES = {}


def _add(case_id, build, **options):
    if case_id in CASES:
        raise ValueError(f"two cases are named {case_id!r}")
    CASES[case_id] = Case(case_id, build, **options)


def _on(field, case_id, transform, values=None, sparse=False, **options):
    """A case that changes one of X, y, w (the others are canonical).

    ``values`` maps the base's value to the canonical (dense) one, for cases
    that change the values too (float16, integers, labels); ``transform``
    maps that to the hostile one. With ``sparse``, the canonical X is CSR.
    Cases of y and w take two configurations: their layouts do not change
    how X is read.
    """
    if field != "X" and "configs" not in options:
        options["configs"] = ("b1", "partial")

    def build(data):
        value = getattr(data, field)
        value = value if values is None else values(value)
        canonical = sp.csr_matrix(value) if sparse else value
        return (
            data.replace(**{field: transform(value)}),
            data.replace(**{field: canonical}),
        )

    _add(case_id, build, **options)


# -- building blocks -----------------------------------------------------------

_counter = itertools.count()


def scratch_file():
    """A new file name in ``scratch_file.directory`` (the child sets it)."""
    return Path(scratch_file.directory) / f"array-{next(_counter)}.bin"


scratch_file.directory = None


def _memmap(a, order="C", mode="r", offset=0):
    """``a`` copied into a fresh file and mapped back (read-only by default)."""
    path = scratch_file()
    path.write_bytes(b"\0" * offset)
    m = np.memmap(path, a.dtype, "r+", offset=offset, shape=a.shape, order=order)
    m[...] = a
    m.flush()
    del m
    return np.memmap(path, a.dtype, mode, offset=offset, shape=a.shape, order=order)


def _readonly(a):
    a = a.copy(order="K")
    a.flags.writeable = False
    return a


def _unaligned(a, order="C"):
    """A copy of ``a`` in a byte buffer, one byte off the item alignment."""
    raw = np.zeros(a.nbytes + a.itemsize, np.uint8)[1 : a.nbytes + 1]
    out = raw.view(a.dtype).reshape(a.shape if order == "C" else a.shape[::-1])
    out = out if order == "C" else out.T
    out[...] = a
    assert not out.flags.aligned
    return out


def _byte_strides(a, row_bytes):
    """``a`` with rows ``row_bytes`` apart (not a whole number of items), unaligned."""
    buf = np.zeros(1 + row_bytes * a.shape[0] + a.itemsize * a.shape[1], np.uint8)
    view = np.ndarray(a.shape, a.dtype, buf, 1, (row_bytes, a.itemsize))
    view[...] = a
    return view


def _strided_rows(a):
    """Every other row of an array twice as long."""
    big = np.full((2 * a.shape[0], *a.shape[1:]), 99, a.dtype)
    big[::2] = a
    return big[::2]


def _strided_columns(a):
    """Every other column of an array twice as wide."""
    big = np.full((a.shape[0], 2 * a.shape[1] + 1), 99, a.dtype)
    big[:, 1::2] = a
    return big[:, 1::2]


def _column_block(a):
    """Columns 3 to 6 of an array of 9: rows longer than the columns taken."""
    big = np.full((a.shape[0], a.shape[1] + 5), 99, a.dtype)
    big[:, 3 : 3 + a.shape[1]] = a
    return big[:, 3 : 3 + a.shape[1]]


def _reversed(a):
    """``a`` in a buffer read backwards: a negative stride, the same values."""
    return np.ascontiguousarray(a[::-1])[::-1]


def _big_endian(a):
    return a.astype(a.dtype.newbyteorder(">"))


def _pandas():
    import pandas as pd

    return pd


def _frame(X, dtype=None, index=None):
    pd = _pandas()
    columns = [f"x{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns, index=index)
    return frame if dtype is None else frame.astype(dtype)


def _csr(X, index_dtype=np.int32):
    m = sp.csr_matrix(X)
    m.indices = m.indices.astype(index_dtype)
    m.indptr = m.indptr.astype(index_dtype)
    return m


def _split_entries(X, order):
    """CSR whose every non-zero is stored as two entries that sum to it."""
    coo = sp.coo_matrix(X)
    rows = np.r_[coo.row, coo.row]
    cols = np.r_[coo.col, coo.col]
    data = np.r_[0.25 * coo.data, 0.75 * coo.data]
    keys = (cols, rows) if order == "sorted" else (-cols, rows)
    rank = np.lexsort(keys)
    indptr = np.searchsorted(rows[rank], np.arange(X.shape[0] + 1))
    m = sp.csr_matrix(X.shape)
    m.data, m.indices = data[rank], cols[rank].astype(np.int32)
    m.indptr = indptr.astype(np.int32)
    m.has_canonical_format = False
    return m


def _stretched(a):
    """A non-contiguous view of a 1-d buffer with the same values."""
    out = np.repeat(a, 2)[::2]
    assert not out.flags.c_contiguous or a.size < 2
    return out


def _with_buffer(name, make):
    def transform(X):
        m = _csr(X)
        setattr(m, name, make(getattr(m, name)))
        return m

    return transform


def _explicit_zeros(X):
    """CSR that also stores the zeros of its first two columns."""
    rows, cols = np.nonzero((X == 0) & (np.arange(X.shape[1]) < 2))
    coo = sp.coo_matrix(X)
    m = sp.csr_matrix(
        (
            np.r_[coo.data, np.zeros(len(rows))],
            (np.r_[coo.row, rows], np.r_[coo.col, cols]),
        ),
        shape=X.shape,
    )
    assert m.nnz > np.count_nonzero(X)
    return m


def _unsorted(X):
    m = _csr(X)
    for i in range(m.shape[0]):
        a, b = m.indptr[i], m.indptr[i + 1]
        m.indices[a:b] = m.indices[a:b][::-1].copy()
        m.data[a:b] = m.data[a:b][::-1].copy()
    m.has_sorted_indices = False
    return m


def _broken(change, container=None):
    """A sparse X (CSR by default) whose buffers ``change`` then corrupts."""

    def transform(X):
        m = _csr(X) if container is None else container(X)
        change(m)
        return m

    return transform


def _nan_at(a, value=np.nan):
    a = a.astype(np.float64)
    a[3] = value
    return a


def _as_float32(a):
    return a.astype(np.float32).astype(np.float64)


def _row_reversed(data):
    """Rows (X, y and weights) read backwards, compared with a reversed copy."""
    canonical = data.replace(
        X=np.ascontiguousarray(data.X[::-1]), y=data.y[::-1].copy(), w=W0[::-1].copy()
    )
    return data.replace(X=data.X[::-1], y=data.y[::-1], w=W0[::-1]), canonical


def _strided_both(a):
    big = np.full((2 * a.shape[0], 2 * a.shape[1] + 1), 99, a.dtype)
    big[::2, 1::2] = a
    return big[::2, 1::2]


def _readonly_csr(X):
    m = _csr(X)
    for name in ("data", "indices", "indptr"):
        getattr(m, name).flags.writeable = False
    return m


def _everything_odd(data):
    """Unaligned big-endian Fortran memmapped X, reversed y, strided weights."""
    hostile = data.replace(
        X=_memmap(_big_endian(data.X), "F", offset=1),
        y=_reversed(_big_endian(data.y)),
        w=_readonly(_strided_rows(_big_endian(W0))),
    )
    return hostile, data.replace(w=W0.copy())


def _weights(values=None):
    return lambda _: W0.copy() if values is None else values(W0)


def _labels(names):
    return lambda y: np.asarray(names)[y]


_F32 = dict(precision="float32")
_REG, _CLS = dict(kinds=("regressor",)), dict(kinds=("classifier",))
_REJECT = dict(expect="reject", configs=("b8",))

# -- X: dense layouts, the same float64 values ---------------------------------

for _id, _transform in {
    "canonical": lambda X: X,
    "fortran": np.asfortranarray,
    "strided-rows": _strided_rows,
    "strided-columns": _strided_columns,
    "column-block": _column_block,
    "strided-both": _strided_both,
    "negative-rows": _reversed,
    "negative-columns": lambda X: np.ascontiguousarray(X[:, ::-1])[:, ::-1],
    "negative-both": lambda X: np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1],
    "fortran-negative-rows": lambda X: np.asfortranarray(X[::-1])[::-1],
    "readonly": _readonly,
    "readonly-fortran": lambda X: _readonly(np.asfortranarray(X)),
    "memmap": _memmap,
    "memmap-fortran-writable": lambda X: _memmap(X, "F", mode="r+"),
    "memmap-copy-on-write": lambda X: _memmap(X, mode="c"),
    "memmap-unaligned": lambda X: _memmap(X, offset=3),
    "memmap-strided": lambda X: _memmap(np.repeat(X, 2, axis=0))[::2],
    "unaligned": _unaligned,
    "unaligned-fortran": lambda X: _unaligned(X, "F"),
    "byte-strides": lambda X: _byte_strides(X, X.shape[1] * X.itemsize + 3),
    "big-endian": _big_endian,
    "big-endian-fortran": lambda X: np.asfortranarray(_big_endian(X)),
    "object-floats": lambda X: X.astype(object),
    "list": lambda X: X.tolist(),
    "pandas": _frame,
    "pandas-Float64": lambda X: _frame(X, "Float64"),
    "pandas-index": lambda X: _frame(X, index=np.arange(len(X))[::-1] * 3 + 7),
    "masked-array": lambda X: np.ma.masked_array(X, mask=X == 0),
    "longdouble": lambda X: X.astype(np.longdouble),
}.items():
    _on("X", _id, _transform)

_on(
    "X",
    "broadcast-rows",
    lambda X: np.broadcast_to(X[1], X.shape),
    values=lambda X: np.tile(X[1], (len(X), 1)),
)
_on(
    "X",
    "broadcast-columns",
    lambda X: np.broadcast_to(X[:, 1:2], X.shape),
    values=lambda X: np.repeat(X[:, 1:2], X.shape[1], axis=1),
)
_on(
    "X",
    "single-column-strided",
    lambda X: _strided_columns(X)[:, :1],
    values=lambda X: X[:, 1:2].copy(),
)
_add("reversed-rows", _row_reversed)
_add("everything-odd", _everything_odd)

# -- X: other dtypes -----------------------------------------------------------

for _id, _dtype in {"float32": np.float32, "float32-big-endian": ">f4"}.items():
    _on("X", _id, lambda X, d=_dtype: X.astype(d), values=_as_float32, **_F32)
for _id, _transform in {
    "float32-fortran": np.asfortranarray,
    "float32-strided-columns": _strided_columns,
    "float32-negative-rows": _reversed,
    "float32-unaligned": _unaligned,
    "pandas-float32": _frame,
}.items():
    _on(
        "X",
        _id,
        lambda X, t=_transform: t(X.astype(np.float32)),
        values=_as_float32,
        **_F32,
    )
_on(
    "X",
    "pandas-Float32",
    lambda X: _frame(X, "Float32"),
    values=_as_float32,
    **_F32,
)
_on(
    "X",
    "float16",
    lambda X: X.astype(np.float16),
    values=lambda X: X.astype(np.float16).astype(np.float64),
)
for _id, _transform in {
    "int32": lambda X: X.astype(np.int32),
    "int64": lambda X: X.astype(np.int64),
    "int8-fortran": lambda X: np.asfortranarray(X.astype(np.int8)),
    "object-ints": lambda X: X.astype(np.int64).astype(object),
    "pandas-Int64": lambda X: _frame(X, "Int64"),
    "pandas-mixed-dtypes": lambda X: _frame(X).astype(
        {"x0": "int64", "x1": "float32", "x2": "Int64", "x3": "int8"}
    ),
}.items():
    _on("X", _id, _transform, values=lambda X: X_INT.copy())
for _id, _transform in {
    "bool": lambda X: X.astype(bool),
    "pandas-boolean": lambda X: _frame(X.astype(bool), "boolean"),
}.items():
    _on("X", _id, _transform, values=lambda X: (X > 0).astype(np.float64))

# -- X: sparse containers and CSR buffers, compared with canonical CSR ---------

for _id, _transform in {
    "csr": _csr,
    "csr-array": sp.csr_array,
    "csc": sp.csc_matrix,
    "csc-array": sp.csc_array,
    "coo": sp.coo_matrix,
    "coo-array": sp.coo_array,
    "lil": sp.lil_matrix,
    "lil-array": sp.lil_array,
    "dok": sp.dok_matrix,
    "dok-array": sp.dok_array,
    "bsr": lambda X: sp.bsr_matrix(X, blocksize=(2, 2)),
    "bsr-array": lambda X: sp.bsr_array(X, blocksize=(2, 2)),
    "dia": sp.dia_matrix,
    "dia-array": sp.dia_array,
    "csr-int64-indices": lambda X: _csr(X, np.int64),
    "csr-int64-indices-only": _with_buffer("indices", lambda a: a.astype(np.int64)),
    "csr-unsorted-indices": _unsorted,
    "csr-duplicates": lambda X: _split_entries(X, "sorted"),
    "csr-duplicates-unsorted": lambda X: _split_entries(X, "reversed"),
    "csc-duplicates": lambda X: _split_entries(X.T, "sorted").T,
    "coo-duplicates": lambda X: _split_entries(X, "sorted").tocoo(),
    "csr-explicit-zeros": _explicit_zeros,
    "csr-strided-data": _with_buffer("data", _stretched),
    "csr-reversed-data": _with_buffer("data", _reversed),
    "csr-strided-indices": _with_buffer("indices", _stretched),
    "csr-strided-indptr": _with_buffer("indptr", _stretched),
    "csr-readonly": _readonly_csr,
    "csr-big-endian-data": _with_buffer("data", _big_endian),
    "csr-unaligned-data": _with_buffer("data", _unaligned),
    "csr-memmap-data": _with_buffer("data", _memmap),
    "pandas-sparse": lambda X: _pandas().DataFrame.sparse.from_spmatrix(
        sp.csr_matrix(X)
    ),
}.items():
    _on("X", _id, _transform, sparse=True)
# SciPy 1.9's routines refuse 16-bit indices ("Output dtype not compatible").
_on(
    "X",
    "csr-int16-indices",
    _with_buffer("indices", lambda a: a.astype(np.int16)),
    sparse=True,
    may_refuse=True,
)
_on(
    "X",
    "csr-float32",
    lambda X: sp.csr_matrix(X.astype(np.float32)),
    values=_as_float32,
    sparse=True,
    **_F32,
)
_on(
    "X",
    "csr-int64-data",
    lambda X: sp.csr_matrix(X.astype(np.int64)),
    values=lambda X: X_INT.copy(),
    sparse=True,
)
_on(
    "X",
    "csr-bool-data",
    lambda X: sp.csr_matrix(X.astype(bool)),
    values=lambda X: (X > 0).astype(np.float64),
    sparse=True,
)

# -- y -------------------------------------------------------------------------

for _id, _transform in {
    "y-strided": _strided_rows,
    "y-negative-stride": _reversed,
    "y-readonly": _readonly,
    "y-big-endian": _big_endian,
    "y-memmap": _memmap,
    "y-unaligned": _unaligned,
    "y-list": lambda y: y.tolist(),
    "y-pandas": lambda y: _pandas().Series(y),
}.items():
    _on("y", _id, _transform)
_on("y", "y-float32", lambda y: y.astype(np.float32), values=_as_float32, **_REG)
_on(
    "y",
    "y-int",
    lambda y: y.astype(np.int64),
    values=lambda y: np.round(4 * y),
    **_REG,
)
_on("y", "y-pandas-Float64", lambda y: _pandas().Series(y, dtype="Float64"), **_REG)
for _id, _transform in {
    "y-2d": lambda Y: Y,
    "y-2d-fortran": np.asfortranarray,
    "y-2d-strided-columns": _strided_columns,
    "y-2d-negative-rows": _reversed,
}.items():
    _on("y", _id, _transform, values=lambda y: np.c_[y, 1 - 2 * y], **_REG)

# Labels: compared with the integer labels 0, 1, 2 (the same class order).
for _id, _transform in {
    "labels-strings": _labels(["ant", "bee", "cat"]),
    "labels-object-strings": lambda y: _labels(["ant", "bee", "cat"])(y).astype(object),
    "labels-pandas-categorical": lambda y: _pandas().Series(
        _labels(["ant", "bee", "cat"])(y), dtype="category"
    ),
    "labels-pandas-string": lambda y: _pandas().Series(
        _labels(["ant", "bee", "cat"])(y), dtype="string"
    ),
    "labels-pandas-Int64": lambda y: _pandas().Series(y, dtype="Int64"),
    "labels-negative-ints": _labels([-5, 0, 7]),
    "labels-int8": lambda y: y.astype(np.int8),
    "labels-uint64": lambda y: y.astype(np.uint64),
    "labels-floats": lambda y: y.astype(np.float64),
    "labels-column": lambda y: y[:, None],
}.items():
    _on("y", _id, _transform, **_CLS)
# Two classes: the binary models.
for _id, _transform in {
    "binary": lambda y: y,
    "binary-strings": _labels(["no", "yes"]),
    "binary-bool": lambda y: y.astype(bool),
    "binary-negative-stride": _reversed,
}.items():
    _on("y", _id, _transform, values=lambda y: (y == 2).astype(np.int64), **_CLS)

# -- sample_weight -------------------------------------------------------------

for _id, _transform in {
    "weights": lambda w: w,
    "weights-strided": _strided_rows,
    "weights-negative-stride": _reversed,
    "weights-readonly": _readonly,
    "weights-big-endian": _big_endian,
    "weights-memmap": _memmap,
    "weights-unaligned": _unaligned,
    "weights-list": lambda w: w.tolist(),
    "weights-pandas": lambda w: _pandas().Series(w),
}.items():
    _on("w", _id, _transform, values=_weights())
_on(
    "w",
    "weights-float32",
    lambda w: w.astype(np.float32),
    values=_weights(_as_float32),
)
_on("w", "weights-int", lambda w: w.astype(np.int64), values=_weights(np.round))
_on("w", "weights-scalar", lambda w: 2.0, values=lambda _: np.full(N_SAMPLES, 2.0))
_on(
    "w",
    "weights-some-zero",
    lambda w: w,
    values=_weights(lambda w: np.where(np.arange(len(w)) % 5 == 1, 0.0, w)),
)

# -- inputs to refuse with a ValueError or TypeError ---------------------------


def _csr_with(attribute, position, value, container=None):
    """CSR (or ``container``) with one entry of an index buffer overwritten."""

    def change(m):
        getattr(m, attribute)[position] = value

    return _broken(change, container)


def _bsr(X):
    return sp.bsr_matrix(X, blocksize=(2, 2))


def _short_data(m):
    m.data = m.data[:-2]


def _swap_indptr(m):
    m.indptr[3], m.indptr[4] = m.indptr[4], m.indptr[3] - 1


for _field, _id, _transform, _options in [
    ("X", "reject-nan", _nan_at, {}),
    ("X", "reject-inf", lambda X: _nan_at(X, np.inf), {}),
    ("X", "reject-complex", lambda X: X + 1j, {}),
    ("X", "reject-strings", lambda X: np.full(X.shape, "a", object), {}),
    ("X", "reject-3d", lambda X: X[:, :, None], {}),
    ("X", "reject-1d", lambda X: X[:, 0], {}),
    ("X", "reject-no-columns", lambda X: X[:, :0], {}),
    ("X", "reject-pandas-NA", lambda X: _frame(_nan_at(X), "Float64"), {}),
    ("X", "reject-sparse-nan", lambda X: sp.csr_matrix(_nan_at(X)), {}),
    ("X", "reject-csr-column-too-large", _csr_with("indices", 5, N_FEATURES), {}),
    ("X", "reject-csr-column-far-too-large", _csr_with("indices", 5, 10**6), {}),
    ("X", "reject-csr-negative-column", _csr_with("indices", 5, -1), {}),
    ("X", "reject-csr-indptr-decreasing", _broken(_swap_indptr), {}),
    ("X", "reject-csr-indptr-past-end", _csr_with("indptr", -1, 10**3), {}),
    ("X", "reject-csr-indptr-nonzero-start", _csr_with("indptr", 0, 1), {}),
    (
        "X",
        "reject-csc-row-too-large",
        _csr_with("indices", 5, 10**6, sp.csc_matrix),
        {},
    ),
    # SciPy converts these to CSR without checking them.
    ("X", "reject-coo-row-too-large", _csr_with("row", 5, 10**6, sp.coo_matrix), {}),
    ("X", "reject-coo-negative-row", _csr_with("row", 5, -3, sp.coo_matrix), {}),
    (
        "X",
        "reject-coo-column-too-large",
        _csr_with("col", 5, N_FEATURES, sp.coo_matrix),
        {},
    ),
    (
        "X",
        "reject-bsr-block-column-too-large",
        _csr_with("indices", 5, 10**6, _bsr),
        {},
    ),
    ("X", "reject-bsr-indptr-past-end", _csr_with("indptr", 3, 10**5, _bsr), {}),
    ("X", "reject-bsr-short-data", _broken(_short_data, _bsr), {}),
    ("X", "reject-matrix", np.asmatrix, {}),
    ("y", "reject-y-wrong-length", lambda y: y[:-1], {}),
    ("y", "reject-y-nan", _nan_at, _REG),
    ("y", "reject-one-class", lambda y: np.zeros_like(y), _CLS),
    ("y", "reject-continuous-labels", lambda y: y + 0.5, _CLS),
    ("w", "reject-negative-weights", lambda w: -w, {}),
    ("w", "reject-weights-wrong-length", lambda w: w[:-1], {}),
    ("w", "reject-nan-weights", _nan_at, {}),
    ("w", "reject-weights-2d", lambda w: w[:, None], {}),
]:
    _on(
        _field,
        _id,
        _transform,
        values=_weights() if _field == "w" else None,
        predict_refuses=_field == "X",
        **_REJECT,
        **_options,
    )
_add(
    "reject-no-rows",
    lambda data: (data.replace(X=X0[:0], y=data.y[:0]), data),
    predict_refuses=True,
    **_REJECT,
)
