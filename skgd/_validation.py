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
    """Raise a ValueError if the CSR or CSC structure of ``X`` is malformed.

    Prediction needs only this check: SciPy's products sum duplicates.
    """
    if not sp.issparse(X) or X.format not in ("csr", "csc"):
        return  # validate_data only lets CSR and CSC through
    # A shallow twin, so that the full check (which may prune or retype
    # buffers) leaves the caller's matrix as it is.
    try:
        twin = type(X)((X.data, X.indices, X.indptr), shape=X.shape, copy=False)
        twin.check_format(full_check=True)
    except ValueError as error:
        raise ValueError(
            f"X is a malformed sparse matrix ({error}). Rebuild it with "
            "scipy.sparse.csr_matrix((data, indices, indptr), shape=...) from "
            "valid arrays, or from a dense array or (row, column, value) "
            "triplets."
        ) from error
