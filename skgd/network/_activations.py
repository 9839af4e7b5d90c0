"""Hidden-layer activations of the neural networks, computed in place.

Each activation ``g`` comes as a pair of functions:

- ``forward(z)`` overwrites the pre-activations ``z`` with ``g(z)``;
- ``derivative(a, delta, work)`` multiplies the back-propagated error
  ``delta`` in place by ``g'(z)``, written in terms of the layer's output
  ``a = g(z)`` (so ``z`` need not be kept). ``work`` is a scratch array of
  ``a``'s shape and dtype that the function may overwrite.

Working in place on preallocated buffers keeps a training step free of
temporary arrays the size of a layer.
"""

import numpy as np
from scipy.special import expit


def _identity(z):
    """``g(z) = z``: nothing to do."""


def _identity_derivative(a, delta, work):
    """``g'(z) = 1``: nothing to do."""


def _relu(z):
    """``g(z) = max(z, 0)``."""
    # NumPy's maximum is about twice as fast against a row than a scalar.
    np.maximum(z, np.zeros(z.shape[-1], dtype=z.dtype), out=z)


def _relu_derivative(a, delta, work):
    """``g'(z) = 1`` where ``a > 0`` and 0 elsewhere."""
    np.multiply(delta, a > 0, out=delta)


def _tanh(z):
    """``g(z) = tanh(z)``."""
    np.tanh(z, out=z)


def _tanh_derivative(a, delta, work):
    """``g'(z) = 1 - a**2``."""
    np.multiply(a, a, out=work)
    np.subtract(1, work, out=work)
    delta *= work


def _logistic(z):
    """``g(z) = 1 / (1 + exp(-z))``, without overflow for large ``|z|``."""
    expit(z, out=z)


def _logistic_derivative(a, delta, work):
    """``g'(z) = a (1 - a)``."""
    np.subtract(1, a, out=work)
    work *= a
    delta *= work


#: The hidden-layer activations by name: ``(forward, derivative)``.
ACTIVATIONS = {
    "identity": (_identity, _identity_derivative),
    "relu": (_relu, _relu_derivative),
    "tanh": (_tanh, _tanh_derivative),
    "logistic": (_logistic, _logistic_derivative),
}


#: ``g''(z)`` in terms of ``a = g(z)`` (a new array), for the exact
#: Hessian-vector products of the automatic step size; ``None`` where it is 0
#: (almost everywhere for the ReLU).
SECOND_DERIVATIVES = {
    "identity": None,
    "relu": None,
    "tanh": lambda a: -2.0 * a * (1.0 - a * a),
    "logistic": lambda a: a * (1.0 - a) * (1.0 - 2.0 * a),
}
