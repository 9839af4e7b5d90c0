"""The private modules of skgd 0.1.0, for the pickles that name them.

A pickle records the module of every class it holds. skgd 0.1.0 kept all of
its modules in one flat package, so its pickles name, for instance,
``skgd._linear_model.GDRegressor`` and ``skgd._training.TrainingState``.
:func:`install` makes each old name an alias of the module that holds those
classes now, so such pickles still load (tests/test_persistence.py loads
pickles written by 0.1.0). An old module whose classes now live in several
modules (``_training``: the loop, its state and its stopping rules) becomes
one module object that holds them all. Nothing in skgd imports the old names.
"""

import importlib
import sys
import types

#: Old module (under skgd) -> the module that holds its classes now, or a
#: tuple of the modules its classes were split into (see :func:`_merged`).
MODULES = {
    "_activations": "network._activations",
    "_batching": "training._batching",
    "_blas": "training._blas",
    "_callbacks": "training._callbacks",
    "_classification_losses": ("losses._cross_entropy", "_labels"),
    "_compiled_epoch": "linear._backend",
    "_compiled_network": "network._backend",
    "_linear_base": "linear._model",
    "_linear_classifier": "linear._classifier",
    "_linear_model": "linear._regressor",
    "_linear_statistics": "training._statistics",
    "_losses": "losses._regression",
    "_margin_losses": ("losses._classification", "losses._cross_entropy"),
    "_network_curvature": "network._curvature",
    "_network_regressor": "network._regressor",
    "_neural_network": ("network._model", "network._base", "network._classifier"),
    "_regression_outputs": ("losses._regression", "network._regression_outputs"),
    "_training": ("training._state", "training._stopping", "training._loop"),
}


def install():
    """Alias every old module name to its module (or modules) of today."""
    package = __name__.rpartition(".")[0]
    for old, new in MODULES.items():
        if isinstance(new, str):
            module = importlib.import_module(f"{package}.{new}")
        else:
            module = _merged(f"{package}.{old}", [f"{package}.{n}" for n in new])
        sys.modules.setdefault(f"{package}.{old}", module)


def _merged(name, parts):
    """A stand-in module ``name`` for an old module that was split in ``parts``.

    It holds every class and function defined in each of the ``parts``
    modules, under its own name, which is all that unpickling looks up
    (``getattr(sys.modules[name], qualname)``). The classes themselves keep
    the module they are defined in, so new pickles name that one.
    """
    module = types.ModuleType(name, f"Alias of {', '.join(parts)} for old pickles.")
    for part in parts:
        for key, value in vars(importlib.import_module(part)).items():
            if getattr(value, "__module__", None) == part and callable(value):
                setattr(module, key, value)
    return module
