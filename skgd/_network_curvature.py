"""Curvature of the network classifiers' objective, for the automatic step size.

Plain gradient descent is stable for step sizes up to ``1 / L``, where ``L``
is the Lipschitz constant of the gradient it follows (the largest
eigenvalue, in absolute value, of the Hessian). For a network, ``L``
depends on the weights; :func:`mini_batch_lipschitz` estimates it at the
weights training starts from, for mini-batches of a given size:

- ``L`` of the full objective by power iteration on Hessian-vector
  products, each a finite difference of two gradients
  (``H v ~ (g(w + e v) - g(w)) / e``; Pearlmutter, 1994), on a sample of at
  most :data:`SAMPLE_ROWS` rows. The gradient of a ReLU network jumps where
  a unit switches on or off, and a difference that crosses such a kink adds
  a spurious term; power iteration, which averages over its steps, proved
  less sensitive to them than Lanczos iteration (exact products by
  Pearlmutter's R-operator would avoid them altogether);
- ``L_max``, the largest curvature of a single sample's loss, by the same
  power iteration on the :data:`_CANDIDATES` rows whose Gauss-Newton matrix
  ``J^T H_z J`` has the largest top eigenvalue (``J`` the Jacobian of the
  outputs with respect to the parameters, ``H_z`` the Hessian of the
  cross-entropy with respect to the outputs; Schraudolph, 2002). That
  eigenvalue, computed for every sampled row at the cost of one backward
  pass per output, is that of the small ``K x K`` matrix ``A^T J J^T A``
  with ``H_z = A A^T``, as the inner products of the columns of ``J^T A``
  factor over the layers. It ranks the rows well but is not the curvature
  itself, which adds the outputs' second derivatives (the product of the
  layers' weights makes them nonzero even for ReLU networks);
- the two combined as the expected smoothness of batches of ``b`` out of
  ``n`` samples, ``(n (b - 1) L + (n - b) L_max) / (b (n - 1))`` (Gower et
  al., 2019), which is ``L`` for full batches and ``L_max`` for ``b = 1``.

References
----------
B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6, 1994.

N. N. Schraudolph, "Fast curvature matrix-vector products for second-order
gradient descent", Neural Computation 14, 2002.

R. M. Gower, N. Loizou, X. Qian, A. Sailanbayev, E. Shulgin and P.
Richtarik, "SGD: general analysis and improved rates", ICML 2019.
"""

import numpy as np
import scipy.sparse as sp

from ._activations import ACTIVATIONS

#: The estimates use at most this many rows (drawn at random) of the data.
SAMPLE_ROWS = 1000
#: Power iteration stops after this many Hessian-vector products ...
_POWER_STEPS = 20
#: ... or when the estimate changes by less than this fraction.
_POWER_RTOL = 0.02
#: Relative size of the finite-difference step, ``e = _FD_STEP * |w|``.
_FD_STEP = 1e-4
#: Rows whose single-sample curvature is measured exactly.
_CANDIDATES = 8
#: Rows of the per-sample matrices are computed this many values at a time.
_CHUNK_VALUES = 2**21


def mini_batch_lipschitz(model, X, Y, weight, batch_size, n_samples):
    """Lipschitz constant of the mini-batch gradient at ``model.params``.

    Parameters
    ----------
    model : _MLPModel
        A float64 network without penalty whose ``params`` are the weights to
        estimate the curvature at; they are restored on return.
    X, Y : arrays
        A sample of the training rows (float64) and their indicator targets.
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
    top = _top_curvature(model, X, Y, weight)
    if batch_size >= n_samples:
        return top
    # The Gauss-Newton curvature ranks the rows; the few largest are measured
    # exactly, as it leaves out the outputs' own second derivatives.
    ranked = np.argsort(weight * _sample_curvatures(model, X))[-_CANDIDATES:]
    largest = max(
        [top]
        + [
            _top_curvature(model, X[i : i + 1], Y[i : i + 1], weight[i : i + 1])
            for i in ranked
        ]
    )
    b, n = batch_size, n_samples
    return (n * (b - 1) * top + (n - b) * largest) / (b * (n - 1))


def _top_curvature(model, X, Y, weight):
    """Power iteration on finite-difference Hessian-vector products."""
    params = model.params
    start = params.copy()
    scale = 1.0 / X.shape[0]
    model.loss_grad(X, Y, weight, scale)
    grad = model.grad.copy()
    step = _FD_STEP * max(float(np.linalg.norm(start)), 1.0)
    v = np.random.RandomState(0).standard_normal(params.shape)
    v /= np.linalg.norm(v)
    estimate = 0.0
    try:
        for _ in range(_POWER_STEPS):
            np.add(start, step * v, out=params)
            model.loss_grad(X, Y, weight, scale)
            hv = (model.grad - grad) / step
            previous, estimate = estimate, float(np.linalg.norm(hv))
            if not estimate > 0:
                break
            v = hv / estimate
            if abs(estimate - previous) <= _POWER_RTOL * estimate:
                break
    finally:
        params[...] = start
    return estimate


def _sample_curvatures(model, X):
    """Top eigenvalue of each row's Gauss-Newton matrix ``J^T H_z J``."""
    n_outputs = model.layer_units[-1]
    chunk = max(1, _CHUNK_VALUES // (n_outputs * max(model.layer_units)))
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
    factor = _output_hessian_factor(model.output, inputs.pop())
    # Row j of delta[i] is the error, at the current layer, of the output
    # direction given by column j of the factor A_i of sample i.
    delta = np.ascontiguousarray(factor.transpose(0, 2, 1))
    gram = 0.0
    for layer in range(len(model.coefs) - 1, -1, -1):
        a = inputs[layer]
        squares = a.multiply(a) if sp.issparse(a) else a * a
        norms = np.asarray(squares.sum(axis=1)).ravel()
        gram = gram + (norms + 1.0)[:, None, None] * (delta @ delta.transpose(0, 2, 1))
        if layer:
            delta = delta @ model.coefs[layer].T
            derivative(a[:, None, :], delta, np.empty_like(a)[:, None, :])
    return np.linalg.eigvalsh(gram)[:, -1]


def _output_hessian_factor(output, z):
    """``A`` with ``A A^T`` the Hessian of the cross-entropy in ``z``, per row."""
    p = output.proba(z)
    if output.name == "softmax":
        root = np.sqrt(p)
        # (diag(r) - p r^T)(diag(r) - p r^T)^T = diag(p) - p p^T, as sum(p) = 1.
        factor = -p[:, :, None] * root[:, None, :]
        index = np.arange(p.shape[1])
        factor[:, index, index] += root
        return factor
    # Independent logistic units: H_z = diag(p (1 - p)).
    factor = np.zeros((z.shape[0], z.shape[1], z.shape[1]))
    index = np.arange(z.shape[1])
    factor[:, index, index] = np.sqrt(p * (1.0 - p))
    return factor
