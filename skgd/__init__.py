"""skgd: gradient-descent estimators for scikit-learn.

Estimators trained by gradient descent with a pluggable optimizer
(:mod:`skgd.optimizers`) and learning-rate schedule (:mod:`skgd.schedules`),
usable anywhere scikit-learn estimators are.
"""

from ._renamed import install as _install_renamed_modules
from .linear._classifier import GDClassifier
from .linear._regressor import GDRegressor
from .network._classifier import MLPGDClassifier
from .network._regressor import MLPGDRegressor

__version__ = "0.1.0"

_install_renamed_modules()

__all__ = [
    "GDClassifier",
    "GDRegressor",
    "MLPGDClassifier",
    "MLPGDRegressor",
    "__version__",
]
