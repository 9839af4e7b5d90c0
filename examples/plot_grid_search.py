"""
=========================================================
Tuning the optimizer and learning rate with a grid search
=========================================================

An skgd optimizer is a parameter like any other, and so are its
hyperparameters: ``GridSearchCV`` can search over the optimizer, its
settings (``optimizer__beta_2``) and the learning rate at once, here inside
a ``Pipeline`` with a ``StandardScaler``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor
from skgd.optimizers import Adam
from skgd.plotting import LossCurveDisplay

# %%
# A noisy linear problem whose features have very different scales.

rng = np.random.RandomState(0)
n_samples, n_features = 600, 8
X = rng.normal(size=(n_samples, n_features)) * np.logspace(0, 2, n_features)
coef = rng.normal(size=n_features) / np.logspace(0, 2, n_features)
y = X @ coef + 0.5 * rng.normal(size=n_samples)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# The search space
# ----------------
#
# A grid can be a list of dicts, each searched separately. The first one
# tries plain and momentum gradient descent by name; the second passes an
# :class:`~skgd.optimizers.Adam` object and searches its ``beta_2`` through
# the nested parameter ``gdregressor__optimizer__beta_2``. Every candidate
# gets its own copy of the object, so the one in the grid is never changed.
#
# Every candidate trains for a fixed budget of 20 epochs (``tol=None``), so
# the search finds the setting that gets furthest within that budget.

pipe = make_pipeline(
    StandardScaler(), GDRegressor(max_iter=20, tol=None, random_state=0)
)
learning_rates = [0.003, 0.01, 0.03, 0.1, 0.3]
param_grid = [
    {
        "gdregressor__optimizer": ["sgd", "momentum"],
        "gdregressor__learning_rate": learning_rates,
    },
    {
        "gdregressor__optimizer": [Adam()],
        "gdregressor__optimizer__beta_2": [0.9, 0.999],
        "gdregressor__learning_rate": learning_rates,
    },
]
grid = GridSearchCV(pipe, param_grid, cv=3).fit(X_train, y_train)

print("best parameters:", grid.best_params_)
print(f"cross-validated R²: {grid.best_score_:.4f}")
print(f"test R²: {grid.score(X_test, y_test):.4f}")

# %%
# All candidates
# --------------
#
# ``cv_results_`` holds every candidate's scores and fit times. A label per
# optimizer setting makes the table and the plot easier to read.

results = pd.DataFrame(grid.cv_results_)
label = results["param_gdregressor__optimizer"].astype(str)
beta_2 = results["param_gdregressor__optimizer__beta_2"]
label = label.where(beta_2.isna(), "Adam(beta_2=" + beta_2.astype(str) + ")")
results["optimizer"] = label
results["learning_rate"] = results["param_gdregressor__learning_rate"].astype(float)
columns = ["optimizer", "learning_rate", "mean_test_score", "rank_test_score"]
results[columns].sort_values("rank_test_score").head(10)

# %%
# Cross-validated R² against the learning rate, one line per optimizer
# setting. With too small a learning rate, 20 epochs are not enough to fit
# the data, and the score collapses. The optimizers' best rates differ:
# plain gradient descent tolerates a step up to about :math:`1/L`, momentum
# multiplies its effective step by :math:`1/(1 - \mu)`, and Adam's learning
# rate is a distance in coefficient space.

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
ax.set_title("Grid search over optimizer and learning rate")
for name, group in results.groupby("optimizer", sort=False):
    group = group.sort_values("learning_rate")
    ax.plot(group["learning_rate"], group["mean_test_score"], "o-", label=name)
ax.set_xscale("log")
ax.set_xlabel("learning_rate")
ax.set_ylabel("mean cross-validated R²")
legend = ax.legend(loc="lower right")

# %%
# The training curve of the best model
# ------------------------------------
#
# ``best_estimator_`` is the pipeline refitted on all the training data.
# :class:`~skgd.plotting.LossCurveDisplay` finds the regressor at its end.

display = LossCurveDisplay.from_estimator(grid.best_estimator_, log_scale=True)
display.ax_.set_title("Best pipeline, refitted")
plt.show()
