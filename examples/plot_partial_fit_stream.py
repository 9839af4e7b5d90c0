"""
=======================================
Learning from a stream with partial_fit
=======================================

When the data arrives in chunks, or is too large to hold in memory,
``partial_fit`` trains on one chunk at a time: each call runs one epoch over
the chunk it is given and keeps the optimizer state, the update count and
the training history for the next call.

Here a generator stands in for the stream (a file read piece by piece, a
database cursor, a message queue, ...). Both skgd estimators support
``partial_fit``; we use :class:`~skgd.GDRegressor`, then
:class:`~skgd.MLPGDClassifier`.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score

from skgd import GDRegressor, MLPGDClassifier
from skgd.plotting import LossCurveDisplay

n_features = 20
rng = np.random.RandomState(0)
true_coef = rng.normal(size=n_features)
feature_std = rng.permutation(np.logspace(-1, 0.5, n_features))


def stream(n_chunks, chunk_size, seed):
    """Yield ``(X, y)`` chunks of a noisy linear problem.

    The features are around 5, with standard deviations from 0.1 to 3.
    """
    rng = np.random.RandomState(seed)
    for _ in range(n_chunks):
        X = 5.0 + feature_std * rng.normal(size=(chunk_size, n_features))
        y = X @ true_coef + 3.0 + rng.normal(scale=0.5, size=chunk_size)
        yield X, y


# A held-out sample of the same stream, to measure progress.
X_test, y_test = next(stream(1, 5_000, seed=1))

# %%
# Training chunk by chunk
# -----------------------
#
# The model sees each of the 60 chunks of 500 rows once. After every call
# we score it on the held-out data.

reg = GDRegressor(random_state=0)
scores = []
for X_chunk, y_chunk in stream(n_chunks=60, chunk_size=500, seed=0):
    reg.partial_fit(X_chunk, y_chunk)
    scores.append(r2_score(y_test, reg.predict(X_test)))

print(f"calls: {reg.n_iter_}, updates: {reg.t_}")
print(f"held-out R² after the first chunk: {scores[0]:.4f}")
print(f"held-out R² after all chunks: {scores[-1]:.4f}")

# %%
# ``loss_curve_`` has one entry per call: the objective on that chunk,
# averaged over its mini-batches. Since every chunk is new data, it is an
# honest estimate of the model's loss on unseen data, as it trains.

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
display = LossCurveDisplay.from_estimator(reg, ax=axes[0], log_scale=True)
axes[1].plot(np.arange(1, len(scores) + 1), scores)
axes[1].set_ylabel("held-out R²")
for ax in axes:
    ax.set_xlabel("partial_fit call (chunk)")

# %%
# What the first chunk decides
# ----------------------------
#
# ``learning_rate="auto"`` and the implicit centring of the features are
# worked out on the first call, from the first chunk: the step size from
# its curvature, the centre from its feature means. The first chunk should
# therefore look like the rest of the stream. Here the features are around
# 5, which the centring removes; their unequal spreads are what makes
# training take many chunks. The resolved learning rate is kept for later
# calls:

print(f"learning rate derived from the first chunk: {reg.learning_rate_:.4g}")

# %%
# The stopping rule and early stopping do not apply to ``partial_fit``: the
# caller decides when to stop, for instance when the held-out score no
# longer improves.
#
# Classification
# --------------
#
# :class:`~skgd.MLPGDClassifier` works the same way, with one difference: a
# chunk need not contain every class, so the first call must list them all
# with ``classes``.


def labelled_stream(n_chunks, chunk_size, seed, first_lacks_a_class=True):
    """Yield chunks of a three-class problem; the first may lack class 2."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    for i in range(n_chunks):
        n_classes = 2 if i == 0 and first_lacks_a_class else 3
        labels = rng.randint(n_classes, size=chunk_size)
        yield centres[labels] + rng.normal(size=(chunk_size, 2)), labels


clf = MLPGDClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0)
X_eval, y_eval = next(labelled_stream(1, 2_000, seed=1, first_lacks_a_class=False))
accuracy = []
for i, (X_chunk, y_chunk) in enumerate(labelled_stream(40, 200, seed=0)):
    clf.partial_fit(X_chunk, y_chunk, classes=[0, 1, 2] if i == 0 else None)
    accuracy.append(clf.score(X_eval, y_eval))
print(f"classes: {clf.classes_}, held-out accuracy: {accuracy[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(np.arange(1, len(accuracy) + 1), accuracy)
ax.set_xlabel("partial_fit call (chunk)")
ax.set_ylabel("held-out accuracy")
ax.set_title("MLPGDClassifier, chunk by chunk")
plt.show()
