"""
=======================================
A neural network regressor and its twin
=======================================

:class:`~skgd.MLPGDRegressor` and scikit-learn's ``MLPRegressor`` train the
same network (one hidden layer of 100 ReLU units) with the same objective,
half the squared error plus an L2 penalty, by Adam with their default
settings. We fit both on Friedman's first regression problem and compare
their loss curves, their test R² and their training time.
"""

import time

import matplotlib.pyplot as plt
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skgd import MLPGDRegressor
from skgd.plotting import LossCurveDisplay

# y = 10 sin(pi x0 x1) + 20 (x2 - 1/2)^2 + 10 x3 + 5 x4 + noise; x5 to x9
# are irrelevant.
X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# Training
# --------
#
# Both stop by themselves once the training loss has not improved by
# ``tol`` for 10 epochs; ``max_iter`` only leaves them room to get there.
# The targets are left as they are: around 14, with a spread of 5.
# :class:`~skgd.MLPGDRegressor` starts its output bias at their mean, where
# ``MLPRegressor`` starts near 0.

estimators = {
    "MLPGDRegressor": MLPGDRegressor(max_iter=2000, random_state=0),
    "MLPRegressor": MLPRegressor(max_iter=2000, random_state=0),
}
for name, estimator in estimators.items():
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(
        f"{name:>14}: {estimator.n_iter_:4d} epochs in {seconds:.2f} s, "
        f"test R² {estimator.score(X_test, y_test):.4f}"
    )

# %%
# Loss curves
# -----------
#
# The training objective after each epoch. ``MLPRegressor``'s starts about
# eight times higher, near half the mean square of the targets, where
# :class:`~skgd.MLPGDRegressor`'s starts near half their variance; it spends
# its first epochs bringing its output to the targets' level, and reaches
# the training loss at which :class:`~skgd.MLPGDRegressor` stops some 500
# epochs later. An epoch of :class:`~skgd.MLPGDRegressor`, which keeps its
# weights in one buffer and its activations in buffers reused from batch to
# batch, also takes less time.

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
display = LossCurveDisplay.from_estimators(
    list(estimators.values()), names=list(estimators), ax=ax, log_scale=True
)
title = ax.set_title("Friedman #1, 1,500 training rows, Adam")
plt.show()
