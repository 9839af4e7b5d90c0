"""L-BFGS on the whole training set.

Their examples assume ``import numpy as np``.
"""

from numbers import Integral

from sklearn.utils._param_validation import Interval

from ._base import Optimizer, _register

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    r"""Limited-memory BFGS on the whole training set: a solver, not a step rule.

    Each iteration evaluates the objective and its gradient on every
    training row, turns the gradient into a quasi-Newton direction with the
    last ``memory`` pairs of parameter and gradient changes (an implicit
    estimate of the inverse Hessian, built by the two-loop recursion), and
    takes the step that a line search satisfying the Wolfe conditions
    accepts. SciPy's L-BFGS-B runs the iterations, as ``MLPClassifier``'s
    ``solver="lbfgs"`` does.

    On smooth, small or ill-conditioned problems it reaches the optimum in
    far fewer passes over the data than first-order methods. It trains on
    the full batch: an estimator given it ignores ``learning_rate``,
    ``schedule``, ``batch_size``, ``shuffle`` and ``average``, and refuses
    ``partial_fit``, ``early_stopping`` and penalties with an L1 part (the
    objective must be differentiable). ``max_iter`` bounds the iterations.
    Training stops once the largest entry of the gradient is below
    ``tol**2`` times its value at the start (the objective's gap to its
    optimum falls as the square of the gradient, so this leaves a relative
    gap of about ``tol``), or when an iteration no longer lowers the
    objective by a relative 2.2e-9 (SciPy's ``ftol``).

    Parameters
    ----------
    memory : int >= 1, default=10
        The number of past updates kept (SciPy's ``maxcor``;
        ``history_size`` in ``torch.optim.LBFGS``).
    max_line_search : int >= 1, default=20
        The most function evaluations one line search may take (SciPy's
        ``maxls``).

    References
    ----------
    J. Nocedal, "Updating quasi-Newton matrices with limited storage",
    Mathematics of Computation 35, 1980. D. C. Liu and J. Nocedal, "On the
    limited memory BFGS method for large scale optimization", Mathematical
    Programming 45, 1989.

    Examples
    --------
    >>> from skgd import GDRegressor
    >>> from skgd.optimizers import LBFGS
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = 2.0 * X[:, 0] + 1.0
    >>> reg = GDRegressor(optimizer=LBFGS(), penalty=None).fit(X, y)
    >>> reg.coef_.round(6), reg.intercept_.round(6)
    (array([2.]), array([1.]))
    """

    # A full-batch solver with its own line search: no compiled rule.
    compiled_rule = None

    _parameter_constraints = {
        "memory": [Interval(Integral, 1, None, closed="left")],
        "max_line_search": [Interval(Integral, 1, None, closed="left")],
    }
    full_batch = True
    default_learning_rate = 1.0

    def __init__(self, memory=10, max_line_search=20):
        self.memory = memory
        self.max_line_search = max_line_search

    def update(self, param, grad, state, lr, t):
        raise TypeError(
            "LBFGS is a full-batch solver with a line search: it has no "
            "per-step update. Estimators run it on the whole training set."
        )


_register("lbfgs", LBFGS)
