"""
===================================
Comparing optimizers on one problem
===================================

Every built-in optimizer fits the same linear regression, and
:class:`~skgd.plotting.LossCurveDisplay` overlays their training curves.

The data is scikit-learn's bundled diabetes data set (442 patients, 10
standardised features). Every optimizer uses ``learning_rate="auto"``, so
each runs with the step size skgd derives for it from the data, and
``tol=None`` so each runs the same number of epochs.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor
from skgd.optimizers import available_optimizers
from skgd.plotting import LossCurveDisplay

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)

# %%
# Full-batch training
# -------------------
#
# With ``batch_size=None`` every epoch makes one update with the exact
# gradient, so the curves show the optimizers themselves, free of sampling
# noise. We split them into the gradient-descent family and the adaptive
# methods to keep the legends readable.

gd_family = ["sgd", "momentum", "nesterov"]
# L-BFGS, the full-batch quasi-Newton solver, joins the comparison below.
adaptive = [
    name for name in available_optimizers() if name not in [*gd_family, "lbfgs"]
]


def fit_all(names, **params):
    return [
        GDRegressor(optimizer=name, tol=None, random_state=0, **params).fit(X, y)
        for name in names
    ]


full_batch = {
    "gd": fit_all(gd_family, batch_size=None, max_iter=300),
    "adaptive": fit_all(adaptive, batch_size=None, max_iter=300),
}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, layout="constrained")
for ax, (title, models) in zip(axes, full_batch.items(), strict=True):
    LossCurveDisplay.from_estimators(models, ax=ax, log_scale=True)
    ax.set_title(f"Full batch: {title}")
    ax.legend(fontsize="small", ncol=2)

# %%
# Distance to the optimum
# -----------------------
#
# Every curve above flattens at the same value: the smallest objective
# reachable, :math:`F^*`. With the default L2 penalty, :math:`F^*` has a
# closed form (ridge regression on centred data), and plotting
# :math:`F - F^*` on a logarithmic scale shows the speed of convergence
# far more clearly. :class:`~skgd.plotting.LossCurveDisplay` plots any
# recorded curves, not only those of an estimator.

alpha = GDRegressor().alpha
n_samples, n_features = X.shape
Xc, yc = X - X.mean(axis=0), y - y.mean()
w = np.linalg.solve(Xc.T @ Xc + n_samples * alpha * np.eye(n_features), Xc.T @ yc)
best = 0.5 * np.mean((Xc @ w - yc) ** 2) + 0.5 * alpha * w @ w

models = full_batch["gd"] + full_batch["adaptive"] + fit_all(["lbfgs"], max_iter=300)
names = [model.optimizer for model in models]
excess = [np.maximum(np.array(model.loss_curve_) - best, 1e-12) for model in models]

# Fourteen curves: ten colours, each line style shared by at most four of
# them, so that no two curves look alike.
colors = plt.get_cmap("tab10").colors
styles = ["-", "--", ":", "-."]
line_kwargs = [
    {"color": colors[i % len(colors)], "linestyle": styles[i % len(styles)]}
    for i in range(len(models))
]
fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
display = LossCurveDisplay(excess, names=names).plot(
    ax=ax, log_scale=True, line_kwargs=line_kwargs
)
ax.set_ylabel("Objective minus its minimum")
ax.set_title("Full-batch gradient descent on the diabetes data")
# Outside the axes, on the right: the curves fill the whole plot.
legend = ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))

# %%
# The diabetes features are correlated: the largest curvature of the
# objective is about 500 times its smallest. Plain gradient descent with the
# step :math:`1/L` removes the error along the steep directions within a few
# epochs (the sharp drop), then progresses slowly along the flat ones (the
# long straight tail). Momentum starts with a step reduced by
# :math:`1 - \mu` and catches up as its buffer fills. AdaGrad and RMSProp
# rescale each coordinate by its own gradient history, which compensates
# for the flat directions. The Adam family moves each coefficient by about
# the learning rate per update: steady progress from afar, then it hovers
# above the optimum, since a constant learning rate does not let it settle.
# AdamW stays furthest away: its decoupled weight decay pulls the
# coefficients towards zero, and that decay is not part of the objective
# plotted here. L-BFGS, which builds a curvature estimate from its last
# steps and searches along its direction, reaches the optimum to rounding
# in a few dozen iterations and stops.
#
# The number of epochs each optimizer needed to come within 1 % of the
# optimum, and how far above it it finished:

print(f"{'optimizer':>10}  {'epochs to 1 %':>13}  {'final excess':>12}")
for name, curve in zip(names, excess, strict=True):
    reached = np.flatnonzero(curve <= 1e-2 * best)
    epochs = str(reached[0] + 1) if reached.size else "-"
    print(f"{name:>10}  {epochs:>13}  {curve[-1]:12.3g}")

# %%
# Mini-batches
# ------------
#
# With the default mini-batches of 200 samples, an epoch makes three updates
# and each gradient is an estimate. The curves become noisier and flatten
# at a level set by that noise rather than at the minimum.

mini_batch = fit_all(["sgd", "momentum", "adagrad", "rmsprop", "adam", "lion"])
display = LossCurveDisplay.from_estimators(mini_batch, log_scale=True)
display.ax_.set_title("Mini-batches of 200 samples")
plt.show()
