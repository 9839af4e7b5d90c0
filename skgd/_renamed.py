"""The private modules of skgd 0.1.0, for the pickles that name them.

A pickle records the module of every class it holds. skgd 0.1.0 kept all of
its modules in one flat package, so its pickles name, for instance,
``skgd._linear_model.GDRegressor`` and ``skgd._training.TrainingState``.
:func:`install` makes each old name an alias of the module that holds those
classes now, so such pickles still load (tests/test_persistence.py loads
pickles written by 0.1.0). Nothing in skgd imports the old names.
"""

import importlib
import sys

#: Old module (under skgd) -> the module that holds its classes now.
MODULES = {
    "_activations": "network._activations",
    "_batching": "training._batching",
    "_blas": "training._blas",
    "_callbacks": "training._callbacks",
    "_classification_losses": "network._outputs",
    "_compiled_epoch": "linear._backend",
    "_compiled_network": "network._backend",
    "_linear_base": "linear._model",
    "_linear_classifier": "linear._classifier",
    "_linear_model": "linear._regressor",
    "_linear_statistics": "training._statistics",
    "_losses": "losses._regression",
    "_margin_losses": "losses._classification",
    "_network_curvature": "network._curvature",
    "_network_regressor": "network._regressor",
    "_neural_network": "network._classifier",
    "_regression_outputs": "network._regression_outputs",
    "_training": "training._loop",
}


def install():
    """Alias every old module name to its module of today."""
    package = __name__.rpartition(".")[0]
    for old, new in MODULES.items():
        module = importlib.import_module(f"{package}.{new}")
        sys.modules.setdefault(f"{package}.{old}", module)
