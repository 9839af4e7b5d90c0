"""The compiled extensions, and the guard against running without them.

skgd's epochs and column statistics run in three compiled modules, built
when skgd is installed from source. A source tree without them (a checkout
imported from its root after a plain ``pip install .``, say) would run
everything on the NumPy reference loop, several times slower and without a
word; so importing skgd without them raises an ImportError that says how
to build them. Setting the environment variable ``SKGD_NUMPY_ONLY=1``
before importing skgd asks for the NumPy loop explicitly: the modules are
then None and every epoch runs on the reference loop.
"""

import importlib
import os

#: The environment variable that allows skgd to run without its extensions.
NUMPY_ONLY = "SKGD_NUMPY_ONLY"


def load(name):
    """The compiled module ``skgd.<name>``, or None if the NumPy loop is asked for.

    Raises
    ------
    ImportError
        If the module cannot be imported and ``SKGD_NUMPY_ONLY`` is not
        ``"1"``.
    """
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError as exc:
        if os.environ.get(NUMPY_ONLY) == "1":
            return None
        raise ImportError(
            f"skgd's compiled extension {name!r} cannot be imported ({exc}). "
            "Build it by installing skgd from its source directory with "
            "`pip install -e .` (a C compiler is needed), or, in a checkout, "
            "import skgd from outside the source tree after `pip install .`. "
            f"To run on the NumPy reference loop instead, set {NUMPY_ONLY}=1."
        ) from exc


def declared_entry(obj, attribute, table, what):
    """The entry of a kernel's ``table`` that ``obj``'s class names, or None.

    The name is read from ``attribute`` of the class that declares it only
    (a subclass may change what the entry computes, so it runs on the NumPy
    loop unless it declares an entry of its own).

    Raises
    ------
    ValueError
        If the class names an entry ``table`` does not have; ``what`` says
        which kind (``"compiled rule"``, ``"compiled loss"``, ...).
    """
    name = type(obj).__dict__.get(attribute)
    if name is None:
        return None
    try:
        return table[name]
    except KeyError:
        raise ValueError(
            f"{type(obj).__name__} declares the {what} {name!r}, which the "
            f"kernels do not have (they have {sorted(table)})."
        ) from None
