"""skgd: gradient-descent estimators for scikit-learn.

Estimators trained by gradient descent with a pluggable optimizer
(:mod:`skgd.optimizers`) and learning-rate schedule (:mod:`skgd.schedules`),
usable anywhere scikit-learn estimators are.
"""

from ._linear_classifier import GDClassifier
from ._linear_model import GDRegressor
from ._network_regressor import MLPGDRegressor
from ._neural_network import MLPGDClassifier

__version__ = "0.1.0"

__all__ = [
    "GDClassifier",
    "GDRegressor",
    "MLPGDClassifier",
    "MLPGDRegressor",
    "__version__",
]
