"""
=====================================
Linear classifiers on the digits
=====================================

:class:`~skgd.GDClassifier` trains a linear classifier with any optimizer.
With its default log-loss it is multinomial logistic regression: one softmax
over the ten digits, whose fit converges to the coefficients of
``LogisticRegression``. The margin losses of ``SGDClassifier`` (hinge,
squared hinge, modified Huber, perceptron) train one binary problem per
digit instead. We compare them with scikit-learn's two linear classifiers.
"""

import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd.plotting import LossCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# Losses and optimizers
# ---------------------
#
# Every estimator is used with its defaults, except for the loss or the
# optimizer named; the step size of ``GDClassifier`` is derived from the data.

candidates = {
    "GDClassifier()": GDClassifier(random_state=0),
    'GDClassifier(optimizer="adam")': GDClassifier(optimizer="adam", random_state=0),
    'GDClassifier(loss="hinge")': GDClassifier(loss="hinge", random_state=0),
    'GDClassifier(loss="modified_huber")': GDClassifier(
        loss="modified_huber", random_state=0
    ),
    "SGDClassifier()": SGDClassifier(random_state=0),
    "LogisticRegression(max_iter=1000)": LogisticRegression(max_iter=1000),
}
for name, estimator in candidates.items():
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = estimator.score(X_test, y_test)
    print(f"{name:38} test accuracy {accuracy:.3f}   fit {seconds:.3f} s")

# %%
# Probabilities
# -------------
#
# The log-loss gives class probabilities: the softmax of the decision values.

clf = candidates["GDClassifier()"]
proba = clf.predict_proba(X_test[:3])
print("most probable digits:", proba.argmax(axis=1), "true:", y_test[:3])
print("their probabilities:", proba.max(axis=1).round(3))

# %%
# Training curves
# ---------------
#
# The objective of each epoch (the mean loss plus the penalty) of the
# ``GDClassifier`` fits.

ours = {
    name: estimator
    for name, estimator in candidates.items()
    if isinstance(estimator, GDClassifier)
}
display = LossCurveDisplay.from_estimators(
    list(ours.values()), names=list(ours), log_scale=True
)
display.ax_.set_title("GDClassifier on the digits")
plt.show()
