"""The optimizers' compiled rules, as the kernels read them.

A built-in optimizer names its compiled rule in the class attribute
``compiled_rule``; ``RULES`` in ``_rules.pxi`` (which both kernels include)
declares the rule: its id, the hyperparameters it reads and the buffers it
keeps, by name. :func:`compiled_rule` joins the two for one fit. Only the
class that declares the attribute runs compiled: a subclass may change the
update, so it runs on the NumPy loop unless it declares a rule of its own.
"""

from typing import NamedTuple

import numpy as np

from .._extensions import declared_entry


class CompiledRule(NamedTuple):
    """What a kernel needs to step one optimizer."""

    #: The rule's id in the kernels' enum.
    id: int
    #: The names of the hyperparameters, in the order the rule reads them.
    names: tuple
    #: The names of the state's buffers, in the rule's slot order.
    buffers: tuple
    #: The name of a scalar the rule carries from step to step, or None.
    scalar: str | None

    def hyperparameters(self, optimizer_state):
        """The values the rule reads, for the optimizer of ``optimizer_state``."""
        return hyperparameters(optimizer_state, self.names)

    def buffer_list(self, slot, empty):
        """The rule's three buffers from ``slot`` (``empty`` where absent)."""
        names = self.buffers + (None,) * (3 - len(self.buffers))
        return [slot[name] if name in slot else empty for name in names]

    def scalar_of(self, slot):
        """The scalar state the rule carries (1.0 without one)."""
        return float(slot.get(self.scalar, 1.0)) if self.scalar else 1.0

    def keep_scalar(self, slot, value):
        """Store the scalar state the kernel returns."""
        if self.scalar:
            slot[self.scalar] = value


def declared_rule(optimizer):
    """The name of the compiled rule ``optimizer``'s own class declares, or None."""
    return type(optimizer).__dict__.get("compiled_rule")


def compiled_rule(optimizer_state, rules):
    """The compiled rule of the state's optimizer, or None if it has none.

    ``rules`` is a kernel's ``RULES``.

    Raises
    ------
    ValueError
        If the optimizer's class names a rule the kernels do not have.
    """
    entry = declared_entry(
        optimizer_state.optimizer, "compiled_rule", rules, "compiled rule"
    )
    return None if entry is None else CompiledRule(*entry)


def hyperparameters(optimizer_state, names, size=5):
    """The values of the hyperparameters ``names``, padded with zeros to ``size``.

    A hyperparameter the optimizer does not have reads as 0. The weight
    decay is in the unit :meth:`OptimizerState.step` applies it in: times
    the state's ``decay_scale``.
    """
    optimizer = optimizer_state.optimizer
    hyper = np.zeros(size)
    for i, name in enumerate(names):
        hyper[i] = float(getattr(optimizer, name, 0.0))
        if name == "weight_decay":
            hyper[i] *= optimizer_state.decay_scale
    return hyper
