"""The rows an epoch trains on and how they are cut into batches.

An epoch's batches are decided up front by a :class:`BatchPlan` (the visiting
order of the rows and the batch boundaries), so that every epoch backend (the
NumPy reference loop and the compiled ones) visits the same rows in the same
batches and draws the same shuffle from the random generator.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Shuffled dense rows are gathered about this many bytes at a time (at most
# twice as many: batches hold up to twice batch_size rows): one copy call
# serves many batches, and memory stays far below a copy of X.
_GATHER_BYTES = 1 << 20


class TrainingData:
    """The rows one call trains on: all of ``X``, or the rows ``rows`` of it.

    Parameters
    ----------
    X, y : arrays
        The full data; with early stopping, the held-out rows are part of
        them but never visited (they are not copied out either).
    sample_weight : ndarray or None
        One weight per row of ``X``; zero on the held-out rows (set so
        when ``rows`` is given without weights).
    rows : ndarray of int or None
        The training rows, or None for all rows.
    """

    def __init__(self, X, y, sample_weight, rows=None):
        if rows is not None and sample_weight is None:
            sample_weight = np.zeros(X.shape[0], X.dtype)
            sample_weight[rows] = 1
        self.X, self.y, self.sample_weight, self.rows = X, y, sample_weight, rows
        self.n_samples = X.shape[0] if rows is None else len(rows)
        if sample_weight is None:
            self.mean_weight = 1.0
        elif rows is None:
            self.mean_weight = float(np.mean(sample_weight))
        else:
            self.mean_weight = float(np.sum(sample_weight)) / self.n_samples

    def objective(self, model):
        """The objective of ``model`` on all training rows; fills its gradient.

        One batch of every row, scaled as the training loop scales one
        (``1 / (n_samples * mean_weight)``): held-out rows weigh 0.
        """
        mean_factor = 1.0 / (self.n_samples * self.mean_weight)
        return model.loss_grad(self.X, self.y, self.sample_weight, mean_factor)

    def take(self, index):
        """The ``(X, y, sample_weight)`` of the training rows ``index``."""
        if self.rows is not None:
            index = self.rows[index]
        w = self.sample_weight
        return (
            self.X[index],
            self.y.take(index, axis=0),
            None if w is None else w.take(index),
        )


def n_batches(n_samples, batch_size):
    """Batches per epoch: every batch has from ``batch_size`` to twice that rows.

    An epoch is split into ``n_samples // batch_size`` batches of near-equal
    size rather than full batches and a short remainder: a remainder of a
    few rows would take a step sized for ``batch_size`` rows on a very noisy
    gradient.
    """
    return max(1, n_samples // batch_size)


@dataclass
class BatchPlan:
    """The batches of one epoch.

    Attributes
    ----------
    bounds : list of int
        Batch ``i`` is made of the training rows ``order[bounds[i]:bounds[i +
        1]]`` (positions among the training rows, not rows of ``X``).
    order : ndarray of int or None
        The visiting order of the training rows; None: in order.
    whole : bool
        A single batch of all the data: ``X`` itself, its held-out rows
        weighted 0, so nothing is copied.
    """

    bounds: list
    order: np.ndarray | None = None
    whole: bool = False

    def rows_of_X(self, data):
        """The rows of ``X`` in visiting order, or None when it is ``X``'s order."""
        if self.whole:
            return None
        if data.rows is None:
            return self.order
        return data.rows if self.order is None else data.rows[self.order]

    def last_batch(self, data):
        """The ``(X, y, sample_weight, size)`` of the epoch's last batch."""
        if self.whole:
            return data.X, data.y, data.sample_weight, data.n_samples
        a, b = self.bounds[-2:]
        positions = np.arange(a, b) if self.order is None else self.order[a:b]
        return (*data.take(positions), b - a)


def plan_batches(data, batch_size, random_state):
    """Decide the batches of one epoch; shuffle with ``random_state`` if given."""
    n_samples = data.n_samples
    if batch_size >= n_samples:
        return BatchPlan([0, n_samples], whole=True)
    k = n_batches(n_samples, batch_size)
    # The first ``n_samples % k`` batches have one row more than the others:
    # an epoch has at most two batch sizes, in two runs, so the compiled
    # kernel's lazy sparse updates (which need the size constant over the
    # steps they catch up on) start a new run at most once an epoch.
    size, larger = divmod(n_samples, k)
    bounds = [0] + (np.cumsum([size + 1] * larger + [size] * (k - larger))).tolist()
    order = None if random_state is None else random_state.permutation(n_samples)
    return BatchPlan(bounds, order)


def iter_batches(data, plan, batch_size):
    """Yield the ``(X, y, sample_weight, size)`` batches of ``plan``.

    Without shuffling and held-out rows, batches are slices (views of dense
    X). Otherwise dense rows are gathered in chunks of many batches, and
    sparse rows are indexed batch by batch.
    """
    X, y, w = data.X, data.y, data.sample_weight
    if plan.whole:
        yield plan.last_batch(data)
        return
    pairs = list(zip(plan.bounds[:-1], plan.bounds[1:], strict=True))
    if data.rows is None and plan.order is None:
        for a, b in pairs:
            yield X[a:b], y[a:b], None if w is None else w[a:b], b - a
        return
    order = np.arange(data.n_samples) if plan.order is None else plan.order
    if sp.issparse(X):
        for a, b in pairs:
            yield (*data.take(order[a:b]), b - a)
        return
    yield from _gathered(data, order, pairs, batch_size)


def _batches(data, batch_size, random_state):
    """Plan one epoch and yield its batches (see :func:`iter_batches`)."""
    yield from iter_batches(
        data, plan_batches(data, batch_size, random_state), batch_size
    )


def _gathered(data, order, pairs, batch_size):
    """Dense batches gathered ``_GATHER_BYTES`` at a time into reused buffers."""
    X, y, w, rows = data.X, data.y, data.sample_weight, data.rows
    row_bytes = max(X.shape[1] * X.itemsize, 1)
    per_chunk = max(1, _GATHER_BYTES // (row_bytes * batch_size))
    length = min(data.n_samples, per_chunk * 2 * batch_size)
    buffers = (
        np.empty((length, *X.shape[1:]), X.dtype),
        np.empty((length, *y.shape[1:]), y.dtype),
        None if w is None else np.empty(length, w.dtype),
    )
    for first in range(0, len(pairs), per_chunk):
        group = pairs[first : first + per_chunk]
        start, stop = group[0][0], group[-1][1]
        index = order[start:stop]
        if rows is not None:
            index = rows[index]
        Xc, yc, wc = (
            None if a is None else np.take(a, index, axis=0, out=buf[: stop - start])
            for a, buf in zip((X, y, w), buffers, strict=True)
        )
        for a, b in group:
            a, b = a - start, b - start
            yield Xc[a:b], yc[a:b], None if wc is None else wc[a:b], b - a
