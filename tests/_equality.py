"""Exact equality of fitted estimators, for tests that compare two of them."""

import numpy as np
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator


def fitted_attributes(est):
    """The fitted attributes: the public ones whose names end in an underscore."""
    return {
        name: value
        for name, value in vars(est).items()
        if name.endswith("_") and not name.startswith("_")
    }


def assert_same(a, b, where="estimator", *, dtype=True, deep=False):
    """Exact equality, recursing into containers and estimators; NaN equals NaN.

    ``where`` names ``a`` in the message of a failure. ``dtype=False`` compares
    arrays by value only, not by dtype; ``deep=True`` compares estimators by
    ``get_params(deep=True)``, with the parameters of the estimators they hold.
    """
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}", dtype=dtype, deep=deep)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert_same(u, v, f"{where}[{i}]", dtype=dtype, deep=deep)
    elif isinstance(a, np.ndarray):
        assert_array_equal(a, b, err_msg=where)
        if dtype:
            assert a.dtype == b.dtype, where
    elif isinstance(a, BaseEstimator):
        assert type(a) is type(b), where
        params = a.get_params(deep=deep), b.get_params(deep=deep)
        assert_same(*params, where, dtype=dtype, deep=deep)
    elif isinstance(a, np.random.RandomState):
        assert_same(a.get_state(), b.get_state(), where, dtype=dtype, deep=deep)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where
