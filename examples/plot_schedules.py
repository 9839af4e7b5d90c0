"""
====================================
Learning-rate schedules side by side
====================================

:func:`~skgd.plotting.plot_schedule` draws the learning rate a schedule
gives each update, from :meth:`~skgd.schedules.Schedule.preview`. We look
at every built-in schedule, then at what a decaying schedule does to
mini-batch training.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor
from skgd.plotting import LossCurveDisplay, plot_schedule
from skgd.schedules import CosineAnnealing, ExponentialDecay, InverseTime, StepDecay

# %%
# Every schedule by name
# ----------------------
#
# Schedules count updates, not epochs. Here, 2,000 updates from a base
# learning rate of 0.1, with each schedule's default settings. ``"optimal"``
# ignores the base rate: its first step is :math:`\alpha^{-1/4}`, 10 for
# the default :math:`\alpha = 10^{-4}`, so it gets its own panel.

n_steps = 2000
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for name in ["constant", "invscaling", "inverse_time", "step", "exponential"]:
    plot_schedule(name, n_steps, learning_rate=0.1, ax=axes[0])
plot_schedule("cosine", n_steps, learning_rate=0.1, ax=axes[0])
axes[0].set_title("Base learning rate 0.1")
plot_schedule("optimal", n_steps, ax=axes[1])
axes[1].set_title('"optimal" (ignores the base rate)')
# The decays fill the lower left, and the constant rate the top: the
# legend goes below the axes.
legend = axes[0].legend(
    fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18)
)

# %%
# ``"adaptive"`` and ``"auto"`` are not shown: they are constant until
# training stalls, and then divide the rate by 5 (see the user guide).
#
# Tuned schedules
# ---------------
#
# Schedule objects take their settings as parameters. A logarithmic scale
# shows the decays' shapes better: step decay is a staircase, exponential
# decay its smooth version (a straight line on this scale), the ``1 / t``
# decay of ``InverseTime`` slows down, and cosine annealing with a warm-up
# ramps up linearly before gliding down.

schedules = {
    "StepDecay(step_size=500, gamma=0.3)": StepDecay(step_size=500, gamma=0.3),
    "ExponentialDecay(decay_rate=0.3, decay_steps=500)": ExponentialDecay(
        decay_rate=0.3, decay_steps=500
    ),
    "InverseTime(t1=100)": InverseTime(t1=100),
    "CosineAnnealing(warmup_steps=200, min_learning_rate=1e-3)": CosineAnnealing(
        warmup_steps=200, min_learning_rate=1e-3
    ),
}
fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
for label, schedule in schedules.items():
    plot_schedule(schedule, n_steps, learning_rate=0.1, ax=ax, label=label)
ax.set_yscale("log")
# Below the axes: the warm-up starts in the lower left corner.
legend = ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15))

# %%
# The effect on training
# ----------------------
#
# With mini-batches, a constant learning rate leaves the iterates moving
# around the minimum, at a distance set by the gradient noise and the step.
# Decaying the rate lets them settle. We train with Adam, in mini-batches of
# 20 samples, for 40 epochs, and after every epoch measure how far the
# model's objective is above its minimum :math:`F^*` (known in closed form
# for this ridge-penalised least-squares problem). ``partial_fit`` runs one
# epoch per call, so the loop below trains exactly as ``fit`` would, while
# letting us look at the model in between. ``CosineAnnealing`` without
# ``decay_steps`` anneals over ``max_iter`` epochs of updates.

X, y = make_regression(
    n_samples=1000, n_features=20, n_informative=10, noise=5.0, random_state=0
)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()

alpha = 1e-4
n_samples, n_features = X.shape
Xc, yc = X - X.mean(axis=0), y - y.mean()
w = np.linalg.solve(Xc.T @ Xc + n_samples * alpha * np.eye(n_features), Xc.T @ yc)
best = 0.5 * np.mean((Xc @ w - yc) ** 2) + 0.5 * alpha * w @ w


def excess_objective(model):
    residual = X @ model.coef_ + model.intercept_ - y
    penalty = 0.5 * alpha * model.coef_ @ model.coef_
    return 0.5 * np.mean(residual**2) + penalty - best


common = dict(
    optimizer="adam",
    learning_rate=0.01,
    alpha=alpha,
    batch_size=20,
    max_iter=40,
    tol=None,
    random_state=0,
)
candidates = {
    "constant": "constant",
    "invscaling": "invscaling",
    "InverseTime(t1=500)": InverseTime(t1=500),
    "cosine": "cosine",
}
curves, models = [], []
for schedule in candidates.values():
    model = GDRegressor(schedule=schedule, **common)
    curve = []
    for _ in range(common["max_iter"]):
        model.partial_fit(X, y)
        curve.append(excess_objective(model))
    curves.append(curve)
    models.append(model)

display = LossCurveDisplay(curves, names=list(candidates)).plot(log_scale=True)
display.ax_.set_ylabel("Objective minus its minimum")
display.ax_.set_title("Adam, mini-batches of 20")

for label, curve in zip(candidates, curves, strict=True):
    print(f"{label:>20}: {curve[-1]:.2e} above the minimum after 40 epochs")

# %%
# With the constant rate, the objective stops improving after a few epochs
# and then drifts slowly upwards. Each decaying schedule holds the iterates
# at a level that falls with its learning rate: ``"invscaling"`` has
# decayed the most by the middle of the run, and cosine annealing, whose
# rate reaches zero on the last update, ends closest to the minimum.
#
# The learning rates those models used, over their 2,000 updates (50 per
# epoch):

fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for model, label in zip(models, candidates, strict=True):
    plot_schedule(model.schedule, model.t_, learning_rate=0.01, ax=ax, label=label)
ax.set_yscale("log")
plt.show()
