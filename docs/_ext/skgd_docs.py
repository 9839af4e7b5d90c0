"""Small Sphinx helpers of the skgd documentation.

- At the start of a build, every public name of the documented modules is
  checked to appear in ``api.rst``; a missing one is a warning (an error
  under ``-W``).
- Docstrings inherited from scikit-learn (``score``, ``get_params``, ...)
  keep their text, but their ``:ref:`` and ``:term:`` cross-references,
  which point into scikit-learn's own documentation, become plain text.
- :class:`ExampleOrder` sorts the gallery: from first steps to extending
  skgd, rather than alphabetically.
"""

import importlib
import os
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

# The gallery's examples in reading order; any other example comes after them,
# by file name.
EXAMPLE_ORDER = [
    "plot_compare_optimizers.py",
    "plot_schedules.py",
    "plot_gd_vs_sgdregressor.py",
    "plot_grid_search.py",
    "plot_partial_fit_stream.py",
    "plot_mlp_digits.py",
    "plot_mlp_regression.py",
    "plot_custom_optimizer.py",
]


class ExampleOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __call__(self, filename):
        name = os.path.basename(filename)
        if name in EXAMPLE_ORDER:
            return (EXAMPLE_ORDER.index(name), name)
        return (len(EXAMPLE_ORDER), name)


def _check_api_reference(app):
    """Warn about public names of the documented modules missing from api.rst."""
    text = (Path(app.srcdir) / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+~?([\w.]+)\s*$", text, flags=re.M))
    current = None
    qualified = set()
    for line in text.splitlines():
        match = re.match(r"\.\. currentmodule:: ([\w.]+)", line)
        if match:
            current = match.group(1)
        elif current and line.strip() in listed:
            qualified.add(f"{current}.{line.strip()}")
    expected = []
    for module_name in app.config.api_reference_modules:
        module = importlib.import_module(module_name)
        expected += [
            f"{module_name}.{name}"
            for name in getattr(module, "__all__", [])
            if not name.startswith("_")
        ]
    for name in expected:
        if name not in qualified:
            logger.warning("%s is public but missing from api.rst", name)


_SKLEARN_XREF = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _sklearn_xref_text(match):
    return (match.group(1) or match.group(2)).strip()


def _plain_sklearn_references(app, what, name, obj, options, lines):
    """Unlink scikit-learn's documentation labels in inherited docstrings."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] != "sklearn":
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_XREF.sub(_sklearn_xref_text, line)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_references, priority=400)
    app.add_config_value("api_reference_modules", [], "env")
    app.connect("builder-inited", _check_api_reference)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
