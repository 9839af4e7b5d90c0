"""Running a fit on the compiled backend and on the NumPy reference loop."""

import warnings

from sklearn.exceptions import ConvergenceWarning

from skgd.optimizers import (
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    AdamW,
    Lion,
    NAdam,
    RMSProp,
    available_optimizers,
    get_optimizer,
)
from skgd.training._loop import reference_epochs

# Every optimizer string, and the settings the strings leave out.
OPTIMIZERS = [
    *(name for name in available_optimizers() if not get_optimizer(name).full_batch),
    SGD(momentum=0.5, dampening=0.3),
    RMSProp(momentum=0.9, centered=True),
    AdaGrad(initial_accumulator_value=0.1),
    Adam(amsgrad=True, epsilon=1e-3),
    AdamW(weight_decay=0.1, amsgrad=True),
    NAdam(momentum_decay=0.01),
    Adadelta(rho=0.5),
    Lion(weight_decay=0.1),
]


class CountCalls:
    """Count the epochs run by the compiled-epoch class ``epoch_class``."""

    def __init__(self, epoch_class):
        self.count = 0
        self.epoch_class = epoch_class
        self.original = epoch_class.__call__

        def counting(epoch, *args):
            self.count += 1
            return self.original(epoch, *args)

        epoch_class.__call__ = counting

    def undo(self):
        self.epoch_class.__call__ = self.original


def fit_both(make, fit, epoch_class):
    """Fit ``make()`` on both backends; return (compiled, reference).

    Checks that the compiled backend ran in the first fit and not in the
    second.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        calls = CountCalls(epoch_class)
        fast = fit(make())
        calls.undo()
        assert calls.count > 0, "the compiled backend did not run"
        with reference_epochs():
            calls = CountCalls(epoch_class)
            slow = fit(make())
            calls.undo()
            assert calls.count == 0
    return fast, slow
