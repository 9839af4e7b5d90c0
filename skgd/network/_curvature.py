"""Curvature of the networks' objective, for the automatic step size.

Plain gradient descent is stable for step sizes up to ``1 / L``, where ``L``
is the Lipschitz constant of the gradient it follows (the largest
eigenvalue, in absolute value, of the Hessian). For a network, ``L``
depends on the weights; :func:`mini_batch_lipschitz` estimates it at the
weights training starts from, for mini-batches of a given size:

- ``L`` of the full objective by Lanczos iteration (Lanczos, 1950) on
  Hessian-vector products, on a sample of at most :data:`SAMPLE_ROWS`
  rows. The products are exact, by Pearlmutter's (1994) R-operator: the
  derivatives along ``v`` of the forward pass, the output error and the
  back-propagation, at the cost of about two gradients. (Finite differences
  of gradients are not reliable here: the gradient of a ReLU network jumps
  where a unit switches on or off, and a difference that crosses such a
  kink weighs its jump by ``1 / step``; on one small problem that gave an
  estimate 3.7 times too large.);
- ``L_max``, the largest curvature of a single sample's loss, by the same
  Lanczos iteration on the :data:`_CANDIDATES` rows whose Gauss-Newton matrix
  ``J^T H_z J`` has the largest top eigenvalue (``J`` the Jacobian of the
  outputs with respect to the parameters, ``H_z`` the Hessian of the
  loss with respect to the outputs; Schraudolph, 2002). That
  eigenvalue, computed for every sampled row at the cost of one backward
  pass per output, is that of the small ``K x K`` matrix ``A^T J J^T A``
  with ``H_z = A A^T``, as the inner products of the columns of ``J^T A``
  factor over the layers. It ranks the rows well but is not the curvature
  itself, which adds the outputs' second derivatives (the product of the
  layers' weights makes them nonzero even for ReLU networks);
- the two combined as the expected smoothness of batches of ``b`` out of
  ``n`` samples, ``(n (b - 1) L + (n - b) L_max) / (b (n - 1))`` (Gower et
  al., 2019), which is ``L`` for full batches and ``L_max`` for ``b = 1``.

Both Lanczos iterations work on the weights the loss of their rows depends
on: the first-layer weights of a column that is zero in all of them have no
curvature, so a few rows of a very wide sparse ``X`` cost their nonzeros, not
the whole first layer.

References
----------
C. Lanczos, "An iteration method for the solution of the eigenvalue problem
of linear differential and integral operators", J. Res. Nat. Bur. Standards
45, 1950.

B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6, 1994.

N. N. Schraudolph, "Fast curvature matrix-vector products for second-order
gradient descent", Neural Computation 14, 2002.

R. M. Gower, N. Loizou, X. Qian, A. Sailanbayev, E. Shulgin and P.
Richtarik, "SGD: general analysis and improved rates", ICML 2019.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigvalsh_tridiagonal

from ._activations import ACTIVATIONS, SECOND_DERIVATIVES

#: The estimates use at most this many rows (drawn at random) of the data.
SAMPLE_ROWS = 1000
#: Lanczos iteration stops after this many Hessian-vector products ...
_LANCZOS_STEPS = 15
#: ... or when the estimate grows by less than this fraction.
_RTOL = 0.01
#: Rows whose single-sample curvature is measured exactly.
_CANDIDATES = 8
#: Rows of the per-sample matrices are computed this many values at a time.
_CHUNK_VALUES = 2**21


def mini_batch_lipschitz(model, views, X, Y, weight, batch_size, n_samples):
    """Lipschitz constant of the mini-batch gradient at ``model.params``.

    Parameters
    ----------
    model : _MLPModel
        A float64 network whose ``params`` are the weights to estimate the
        curvature at (its penalty is ignored).
    views : callable
        Splits a buffer shaped like ``params`` into lists of weight matrices
        and bias vectors (``_Layout.views``).
    X, Y : arrays
        A sample of the training rows (float64) and their targets (as trained:
        indicator targets for a classifier).
    weight : ndarray
        The sample weights of these rows divided by their mean over all the
        training rows.
    batch_size, n_samples : int
        The batch size and the number of training rows.

    Returns
    -------
    lipschitz : float
        The estimate of the loss term (the caller adds the penalty's).
    """
    start = _StartVector(model.params.size, views)
    top = _top_curvature(model, X, Y, weight, start)
    if batch_size >= n_samples:
        return top
    # The Gauss-Newton curvature ranks the rows; the few largest are measured
    # exactly, as it leaves out the outputs' own second derivatives.
    ranked = np.argsort(weight * _sample_curvatures(model, X))[-_CANDIDATES:]
    largest = max(
        [top]
        + [
            _top_curvature(model, X[i : i + 1], Y[i : i + 1], weight[i : i + 1], start)
            for i in ranked
        ]
    )
    b, n = batch_size, n_samples
    return (n * (b - 1) * top + (n - b) * largest) / (b * (n - 1))


class _StartVector:
    """The vector every Lanczos iteration of a network starts from.

    One normal draw over all the parameters, split by layer as ``views``
    splits the flat buffer, and the squared norm of each input's row of
    first-layer weights in it.
    """

    def __init__(self, size, views):
        draw = np.random.RandomState(0).standard_normal(size)
        self.coefs, self.intercepts = views(draw)
        first = self.coefs[0]
        self.input_squares = np.einsum("ij,ij->i", first, first)


class _Network(NamedTuple):
    """What a Hessian-vector product needs of a network.

    A flat vector over it holds the weight matrices, then the bias vectors,
    then perhaps one more entry, which :meth:`views` leaves out.
    """

    activation: str
    output: object
    coefs: list
    intercepts: list

    def views(self, buffer):
        """Return the lists of weight matrices and bias vectors, views of ``buffer``."""
        parts, offset = [], 0
        for array in [*self.coefs, *self.intercepts]:
            parts.append(buffer[offset : offset + array.size].reshape(array.shape))
            offset += array.size
        return parts[: len(self.coefs)], parts[len(self.coefs) :]


def _restrict(model, X, start):
    """The weights that the loss of ``X`` depends on, and ``start`` on them.

    The first-layer weights of the columns that are zero in every row of
    ``X`` do not change its loss: the Hessian is zero in their rows and
    columns, so the Krylov space of ``start`` lies in the span of the other
    weights and of ``e``, the part of ``start`` on those idle weights.
    Lanczos iteration goes the same (up to rounding) in these coordinates:
    the other weights and, if any are idle, one more along ``e / |e|``,
    where ``H`` is zero. For a sparse row that is its nonzeros times the
    first hidden layer's width, not the whole first layer.

    Returns the network on the used columns, ``X`` on them, and the start
    vector in these coordinates (of the same norm).
    """
    if sp.issparse(X):
        used = np.unique(X.tocsr().indices)
    else:
        used = np.flatnonzero(X.any(axis=0))
    coefs, parts = list(model.coefs), [*start.coefs, *start.intercepts]
    if used.size < X.shape[1]:
        X = X[:, used]
        coefs[0], parts[0] = coefs[0][used], parts[0][used]
        parts.append(np.sqrt(np.delete(start.input_squares, used).sum()))
    network = _Network(model.activation, model.output, coefs, list(model.intercepts))
    return network, X, np.concatenate([np.ravel(part) for part in parts])


def _top_curvature(model, X, Y, weight, start):
    """Largest |eigenvalue| of the Hessian, by Lanczos iteration.

    Lanczos iteration (with full reorthogonalisation) finds the extreme
    eigenvalues of a symmetric matrix in far fewer products than power
    iteration; its estimates, the eigenvalues of the tridiagonal matrix built
    so far, approach them from within the spectrum. It runs on the weights
    the loss of ``X`` depends on (:func:`_restrict`), from ``start``.
    """
    network, X, v = _restrict(model, X, start)
    basis = [v / np.linalg.norm(v)]
    diagonal, off_diagonal, estimate = [], [], 0.0
    projection = np.empty_like(v)  # reused: a new one each time costs more
    scaled = weight / X.shape[0]
    for _ in range(min(_LANCZOS_STEPS, v.size)):
        w = _hessian_product(network, network.views, X, Y, scaled, basis[-1])
        diagonal.append(float(w @ basis[-1]))
        for u in basis:
            w -= np.multiply(w @ u, u, out=projection)
        if not all(np.isfinite(values).all() for values in (diagonal, off_diagonal, w)):
            return np.inf  # too extreme for floating point: the caller says so
        previous = estimate
        ritz = eigvalsh_tridiagonal(np.array(diagonal), np.array(off_diagonal))
        estimate = float(np.abs(ritz).max())
        norm = float(np.linalg.norm(w))
        if not norm > 1e-10 * estimate or estimate - previous <= _RTOL * estimate:
            break
        off_diagonal.append(norm)
        w /= norm
        basis.append(w)
    return estimate


def _hessian_product(model, views, X, Y, weight, v):
    """``H v`` for the objective ``sum_i weight_i loss_i``, exactly.

    Pearlmutter's R-operator: the directional derivatives along ``v`` of
    the forward pass, the output error and the back-propagation.
    """
    forward, derivative = ACTIVATIONS[model.activation]
    second = SECOND_DERIVATIVES[model.activation]
    coefs, intercepts = model.coefs, model.intercepts
    v_coefs, v_intercepts = views(v)
    product = np.zeros(v.shape)  # entries past the weights stay zero
    p_coefs, p_intercepts = views(product)
    last = len(coefs) - 1
    inputs, r_inputs, r_z = [X], [None], []
    for i in range(last + 1):
        z = np.asarray(inputs[i] @ coefs[i]) + intercepts[i]
        rz = np.asarray(inputs[i] @ v_coefs[i]) + v_intercepts[i]
        if r_inputs[i] is not None:
            rz += r_inputs[i] @ coefs[i]
        r_z.append(rz)
        if i < last:
            forward(z)
            ra = rz.copy()
            derivative(z, ra, np.empty_like(z))
            inputs.append(z)
            r_inputs.append(ra)
    w = weight[:, np.newaxis]
    delta = w * model.output.gradient(z, Y)
    r_delta = w * model.output.hessian_product(z, rz)
    for i in range(last, -1, -1):
        p_coefs[i][...] = inputs[i].T @ r_delta
        if r_inputs[i] is not None:
            p_coefs[i] += r_inputs[i].T @ delta
        p_intercepts[i][...] = r_delta.sum(axis=0)
        if i:
            a, work = inputs[i], np.empty_like(inputs[i])
            error = delta @ coefs[i].T
            r_error = r_delta @ coefs[i].T + delta @ v_coefs[i].T
            if second is not None:
                curvature_term = error * second(a) * r_z[i - 1]
            delta = error
            derivative(a, delta, work)
            r_delta = r_error
            derivative(a, r_delta, work)
            if second is not None:
                r_delta += curvature_term
    return product


def _sample_curvatures(model, X):
    """Top eigenvalue of each row's Gauss-Newton matrix ``J^T H_z J``."""
    n_outputs = model.layer_units[-1]
    # The errors of the layers after the input are the largest arrays (the
    # inputs' own width only enters through X's rows).
    chunk = max(1, _CHUNK_VALUES // (n_outputs * max(model.layer_units[1:])))
    return np.concatenate(
        [
            _gauss_newton_tops(model, X[start : start + chunk])
            for start in range(0, X.shape[0], chunk)
        ]
    )


def _gauss_newton_tops(model, X):
    forward, derivative = ACTIVATIONS[model.activation]
    inputs = [X]
    for W, b in zip(model.coefs, model.intercepts, strict=True):
        z = np.asarray(inputs[-1] @ W) + b
        if len(inputs) < len(model.coefs):
            forward(z)
        inputs.append(z)
    factor = model.output.hessian_factor(inputs.pop())
    # Row j of delta[i] is the error, at the current layer, of the output
    # direction given by column j of the factor A_i of sample i.
    delta = np.ascontiguousarray(factor.transpose(0, 2, 1))
    gram = 0.0
    for layer in range(len(model.coefs) - 1, -1, -1):
        a = inputs[layer]
        if sp.issparse(a):
            norms = np.asarray(a.multiply(a).sum(axis=1)).ravel()
        else:
            norms = np.einsum("ij,ij->i", a, a)
        gram = gram + (norms + 1.0)[:, None, None] * (delta @ delta.transpose(0, 2, 1))
        if layer:
            delta = delta @ model.coefs[layer].T
            derivative(a[:, None, :], delta, np.empty_like(a)[:, None, :])
    return np.linalg.eigvalsh(gram)[:, -1]
