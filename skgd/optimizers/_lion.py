"""Lion: the sign of an interpolated momentum.

Their examples assume ``import numpy as np``.
"""

import numpy as np

from ._base import _BETAS, _NONNEG, Optimizer, _DecoupledWeightDecay, _ema, _register

__all__ = ["Lion"]


class Lion(_DecoupledWeightDecay, Optimizer):
    r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

    :math:`\theta_t = \theta_{t-1} - \eta (\operatorname{sign}(\beta_1 m_{t-1}
    + (1 - \beta_1) g_t) + \lambda \theta_{t-1})`, then
    :math:`m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t`. Every coordinate moves
    by about :math:`\eta`, so Lion needs a smaller learning rate than Adam.
    The decay term :math:`\lambda \theta_{t-1}` applies to the weights only,
    not to intercepts and biases (see :attr:`OptimizerState.decay_index`).

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.99
        Interpolation factor of the direction; decay rate of the momentum.
    weight_decay : float >= 0, default=0.0
        Decoupled weight decay :math:`\lambda`, scaled by the learning rate
        (relative to the coefficients' scale with ``learning_rate="auto"``,
        as :class:`AdamW`'s).

    References
    ----------
    X. Chen et al., "Symbolic discovery of optimization algorithms", NeurIPS
    2023.

    Examples
    --------
    >>> from skgd.optimizers import Lion, OptimizerState
    >>> w = np.array([1.0, -2.0])
    >>> OptimizerState(Lion(), [w]).step([w], [np.array([3.0, -0.5])], lr=0.1)
    >>> w
    array([ 0.9, -1.9])
    """

    compiled_rule = "lion"

    _parameter_constraints = {**_BETAS, "weight_decay": [_NONNEG]}
    default_learning_rate = 0.003

    def __init__(self, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.weight_decay = weight_decay

    def init_state(self, param):
        return {"m": np.zeros_like(param)}

    def update(self, param, grad, state, lr, t):
        m = state["m"]
        param -= lr * np.sign(self.beta_1 * m + (1 - self.beta_1) * grad)
        _ema(m, grad, self.beta_2)


_register("lion", Lion)
