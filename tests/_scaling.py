"""Data the networks' input rescaling leaves as it is (up to rounding)."""

import numpy as np


def standardise(X, weight=None):
    """``X`` with columns of (weighted) mean 0 and standard deviation 1.

    The networks train their first layer on ``(X - mean) / std`` with these
    statistics, so on such data their steps are those of scikit-learn's
    networks, and those of the equations written for ``X`` itself.
    """
    weight = np.ones(X.shape[0]) if weight is None else weight
    mean = np.average(X, axis=0, weights=weight)
    std = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weight))
    return (X - mean) / std


def centred_sparse(X):
    """``X`` stacked on ``-X``: every column has mean 0 and keeps its zeros.

    Dense input is centred and sparse input is not: on these rows the two
    parametrisations agree.
    """
    return np.vstack([X, -X])
