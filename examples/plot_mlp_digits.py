"""
==============================
A neural network on the digits
==============================

:class:`~skgd.MLPGDClassifier` learns to read the 8 × 8 images of
handwritten digits bundled with scikit-learn. We train it with Adam and
early stopping, plot its training loss next to its validation accuracy, and
look at the digits it gets wrong.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from skgd import MLPGDClassifier
from skgd.plotting import LossCurveDisplay

digits = load_digits()
# Pixel intensities go from 0 to 16: scale them to [0, 1].
X = digits.data / 16.0
y = digits.target
X_train, X_test, y_train, y_test, images_train, images_test = train_test_split(
    X, y, digits.images, test_size=0.3, stratify=y, random_state=0
)
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images")

# %%
# Training
# --------
#
# One hidden layer of 64 ReLU units and a softmax output over the ten
# classes, trained by Adam in mini-batches of 64 images. With
# ``early_stopping=True``, 10 % of the training images are held out; training
# stops once the accuracy on them has not improved for ``n_iter_no_change``
# epochs, and the weights of the best epoch are kept.

clf = MLPGDClassifier(
    hidden_layer_sizes=(64,),
    optimizer="adam",
    learning_rate=0.003,
    batch_size=64,
    alpha=1e-3,
    early_stopping=True,
    n_iter_no_change=10,
    max_iter=200,
    random_state=0,
).fit(X_train, y_train)

print(f"epochs run: {clf.n_iter_}")
print(f"best validation accuracy: {clf.best_validation_score_:.3f}")
print(f"test accuracy: {accuracy_score(y_test, clf.predict(X_test)):.3f}")

# %%
# The loss curve
# --------------
#
# :meth:`LossCurveDisplay.from_estimator
# <skgd.plotting.LossCurveDisplay.from_estimator>` draws the training loss
# (the cross-entropy plus the L2 penalty) and, on the right-hand axis, the
# validation accuracy recorded with early stopping. The last
# ``n_iter_no_change`` epochs brought no improvement of the validation
# accuracy: they are the price of knowing that it had stopped improving.

display = LossCurveDisplay.from_estimator(clf, log_scale=True)
title = display.ax_.set_title("MLPGDClassifier on the digits")

# %%
# Misclassified digits
# --------------------
#
# The test images the network gets wrong, with its prediction, the true
# label, and the probability it gave to its prediction. Some are genuinely
# ambiguous even to a human reader.

proba = clf.predict_proba(X_test)
predicted = clf.classes_[proba.argmax(axis=1)]
wrong = np.flatnonzero(predicted != y_test)
print(f"{wrong.size} of {y_test.size} test images misclassified")

n_shown = min(wrong.size, 10)
fig, axes = plt.subplots(2, 5, figsize=(9, 5), layout="constrained")
for ax in axes.ravel():
    ax.set_axis_off()
for ax, index in zip(axes.ravel(), wrong[:n_shown], strict=False):
    ax.imshow(images_test[index], cmap="gray_r", interpolation="nearest")
    ax.set_title(
        f"predicted {predicted[index]} ({proba[index].max():.0%})\n"
        f"true {y_test[index]}",
        fontsize="small",
    )
fig.suptitle("Misclassified test digits")
plt.show()
