"""When the training loops run BLAS on one thread.

A matrix product of a few hundred thousand to a few tens of millions of
multiply-adds gains little from BLAS's threads on a small machine and can
lose a lot: the threads of SciPy's and NumPy's BLAS compete for the cores,
and on a busy machine they wait for each other (on two loaded cores, a
full-batch fit on the digits data took 5.0 s with BLAS's threads and 0.26 s
without). :func:`serial_blas` limits BLAS to one thread for such products.
"""

import threading
from contextlib import nullcontext

from threadpoolctl import ThreadpoolController

#: Products of at least this many multiply-adds run on one BLAS thread;
#: below, OpenBLAS uses one thread anyway.
SERIAL_PRODUCT = 2**18
#: Products of this many multiply-adds or more are left to BLAS's threads,
#: which should pay off there on more cores.
THREADED_PRODUCT = 2**26

_controller = None


def serial_blas(product, serial=SERIAL_PRODUCT, threaded=THREADED_PRODUCT):
    """A context running BLAS on one thread if ``serial <= product < threaded``.

    ``product`` is the largest number of multiply-adds of one matrix product
    inside the context. Only in the main thread: the limit is process-wide,
    and limits set and lifted by fits running at once in several threads
    could interleave and leave BLAS on one thread for good; OpenBLAS also
    ignores a limit set from another thread. Fits in other threads leave
    BLAS as it is, so their products can differ in the last bits from the
    same fit's in the main thread.
    """
    global _controller
    if (
        product < serial
        or product >= threaded
        or threading.current_thread() is not threading.main_thread()
    ):
        return nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
