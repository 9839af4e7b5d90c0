"""
==========================
Writing your own optimizer
==========================

An skgd optimizer is a small class: hyperparameters in ``__init__``, the
buffers it needs in ``init_state``, and the update rule in ``update``.
Everything else, the training loop, mini-batches, schedules, early stopping,
``partial_fit``, cloning and grid searches, comes with the estimators.

We write two optimizers: sign descent, which needs no state, and AdaBelief,
an Adam variant with two buffers and hyperparameters.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor
from skgd.optimizers import Optimizer
from skgd.plotting import LossCurveDisplay

# %%
# A stateless optimizer
# ---------------------
#
# Sign descent moves every parameter by the learning rate against the sign
# of its gradient. ``update`` changes ``param`` in place; ``t`` (the update
# number, from 1) and ``state`` are unused.


class SignSGD(Optimizer):
    """Step against the sign of the gradient."""

    def update(self, param, grad, state, lr, t):
        param -= lr * np.sign(grad)


# %%
# An optimizer with state and hyperparameters
# -------------------------------------------
#
# AdaBelief (Zhuang et al., NeurIPS 2020) is Adam with one change: instead
# of the running average of :math:`g_t^2`, it divides by the running average
# of :math:`(g_t - m_t)^2`, how far the gradient is from its prediction
# :math:`m_t`. When the gradient is consistent, that "belief" is small and
# the step large; when it is noisy, the step shrinks:
#
# .. math::
#
#    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
#    s_t = \beta_2 s_{t-1} + (1 - \beta_2) (g_t - m_t)^2 + \epsilon,
#
# .. math::
#
#    \theta_t = \theta_{t-1} - \eta\,
#        \frac{m_t / (1 - \beta_1^t)}{\sqrt{s_t / (1 - \beta_2^t)} + \epsilon} .
#
# The rules for the class:
#
# - ``__init__`` stores each hyperparameter unchanged, under its own name:
#   this is what makes ``get_params``, ``set_params`` and ``clone`` work;
# - a ``_parameter_constraints`` dictionary, in the format of
#   scikit-learn's estimators (optional, not used here), would have the
#   hyperparameters validated when an estimator is fitted;
# - ``init_state`` returns the buffers of one parameter array, created at
#   fit time, so the optimizer object itself never changes;
# - ``default_learning_rate`` is used by ``learning_rate="auto"``, scaled by
#   the estimated size of the coefficients, as for Adam.


class AdaBelief(Optimizer):
    """Adam with the variance of the gradient around its running mean."""

    default_learning_rate = 0.01

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-16):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def init_state(self, param):
        return {"m": np.zeros_like(param), "s": np.zeros_like(param)}

    def update(self, param, grad, state, lr, t):
        m, s = state["m"], state["s"]
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        s *= self.beta_2
        s += (1 - self.beta_2) * (grad - m) ** 2 + self.epsilon
        m_hat = m / (1 - self.beta_1**t)
        s_hat = s / (1 - self.beta_2**t)
        param -= lr * m_hat / (np.sqrt(s_hat) + self.epsilon)


# %%
# Using them
# ----------
#
# The new optimizers plug into any skgd estimator. They are compared here
# with the built-in Adam on a standardised regression problem, in
# mini-batches.

X, y = make_regression(n_samples=2000, n_features=30, noise=10.0, random_state=0)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()

common = dict(max_iter=60, tol=None, random_state=0)
models = [
    GDRegressor(optimizer="adam", **common),
    GDRegressor(optimizer=AdaBelief(), **common),
    GDRegressor(optimizer=SignSGD(), learning_rate=0.001, **common),
]
for model in models:
    model.fit(X, y)

display = LossCurveDisplay.from_estimators(models, log_scale=True)
display.ax_.set_title("Custom optimizers next to Adam")
for line, model in zip(display.line_, models, strict=True):
    print(f"{line.get_label():>10}: learning rate {model.learning_rate_:.3g}")

# %%
# The legend labels come from the optimizers' class names. Sign descent
# moves every coefficient by exactly the learning rate at each update, so it
# approaches the minimum at a constant speed, whatever the gradient's size:
# a larger rate would get there sooner, but then keep jumping around the
# minimum by that much.
#
# A scikit-learn citizen
# ----------------------
#
# The optimizer is an ordinary parameter of the estimator, and its
# hyperparameters are nested parameters. ``clone`` copies it, and a grid
# search can tune it:

reg = GDRegressor(optimizer=AdaBelief())
print(clone(reg).set_params(optimizer__beta_2=0.99).optimizer)

grid = GridSearchCV(
    GDRegressor(optimizer=AdaBelief(), max_iter=30, tol=None, random_state=0),
    {"optimizer__beta_1": [0.5, 0.9], "learning_rate": [0.003, 0.03]},
    cv=3,
).fit(X, y)
print("best:", grid.best_params_)

# %%
# Fitting never changes the object that was passed: the moment buffers live
# in a separate state, and the estimator works on a copy of the optimizer
# (its ``optimizer_`` attribute). The same object can be shared by several
# estimators, pickled, or reused.

shared = AdaBelief(beta_2=0.99)
first = GDRegressor(optimizer=shared, max_iter=5, tol=None).fit(X, y)
print(first.optimizer is shared, first.optimizer_ is shared)
plt.show()
