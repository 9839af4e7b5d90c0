"""The one form in which the estimators train and predict on sparse X.

scikit-learn's ``validate_data`` checks the values of a sparse matrix but not
its structure. The compiled epochs and SciPy's own products read the index
arrays without bounds checks, so a malformed matrix could make them read
outside memory, and a matrix with duplicate entries would train differently
from the same matrix in canonical form (the column statistics would see two
values where the product sees their sum). :func:`canonical_csr` is called on
every validated X that trains a model; :func:`check_structure` on every X
that is predicted on.
"""

import numpy as np
import scipy.sparse as sp


def sparse_frame(X):
    """Whether ``X`` is a pandas DataFrame whose columns are all sparse.

    pandas' ``.sparse`` accessor exists only on such a frame.
    """
    return type(X).__name__ == "DataFrame" and hasattr(X, "sparse")


def keep_sparse(original, X):
    """``X`` (validated) as CSR if ``original`` was a frame of sparse columns.

    Older scikit-learn releases densify such a frame; newer ones keep it
    sparse. What trains (the penalty's units under ``penalty_scale="auto"``,
    the memory used) must not depend on the release.
    """
    if sparse_frame(original) and not sp.issparse(X):
        return sp.csr_matrix(X)
    return X


def canonical_csr(X):
    """Return sparse ``X`` as a well-formed, canonical CSR matrix; dense as is.

    The structure is checked in full (row pointers, column indices within
    the shape); a malformed matrix raises a ValueError. A matrix with
    duplicate or unsorted entries, or index and value buffers that are not
    contiguous, is replaced by a canonical copy: duplicates are summed, as
    SciPy's arithmetic treats them. The caller's matrix is never changed.
    """
    if not sp.issparse(X):
        return X
    check_structure(X)
    X = X.tocsr()
    buffers = (X.data, X.indices, X.indptr)
    if not all(buffer.flags.c_contiguous for buffer in buffers):
        X = type(X)(
            tuple(np.ascontiguousarray(buffer) for buffer in buffers), shape=X.shape
        )
        X.has_canonical_format = False  # decided below, on the copy
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def check_structure(X):
    """Raise a ValueError if the structure of sparse ``X`` is malformed.

    Called on the caller's X before ``validate_data``, whose conversion of
    COO or BSR to CSR would itself read outside memory on a malformed
    matrix. CSR, CSC and BSR are checked in full by SciPy (on a shallow
    twin, so that the check, which may prune or retype buffers, leaves the
    caller's matrix as it is); COO's coordinates against its shape. The
    other formats hold Python objects or offsets SciPy checks itself.
    Prediction needs only this check: SciPy's products sum duplicates.
    """
    if not sp.issparse(X):
        return
    try:
        if X.format in ("csr", "csc", "bsr"):
            twin = type(X)((X.data, X.indices, X.indptr), shape=X.shape, copy=False)
            twin.check_format(full_check=True)
        elif X.format == "coo":
            _check_coordinates(X)
    except ValueError as error:
        raise ValueError(
            f"X is a malformed sparse matrix ({error}). Rebuild it with "
            "scipy.sparse.csr_matrix((data, indices, indptr), shape=...) from "
            "valid arrays, or from a dense array or (row, column, value) "
            "triplets."
        ) from error


def _check_coordinates(X):
    """Refuse COO coordinates outside the shape, or of other lengths."""
    rows, cols = X.coords if hasattr(X, "coords") else (X.row, X.col)
    if not len(rows) == len(cols) == len(X.data):
        raise ValueError("row, column and data arrays of different lengths")
    for name, index, size in (("row", rows, X.shape[0]), ("column", cols, X.shape[1])):
        if len(index) and not (0 <= index.min() and index.max() < size):
            raise ValueError(f"{name} indices must lie in [0, {size})")
