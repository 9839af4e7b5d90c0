"""Peak memory of a call, measured with tracemalloc, for the memory tests."""

import tracemalloc
import warnings

from sklearn.exceptions import ConvergenceWarning


def peak_bytes(call, *args, **kwargs):
    """Return the peak of traced allocations while ``call(*args, **kwargs)`` runs.

    A ConvergenceWarning is ignored: memory tests run a budget of epochs.
    """
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            call(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
