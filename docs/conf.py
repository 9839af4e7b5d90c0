"""Sphinx configuration of the skgd documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the
repository root (see ``docs/README.md``).
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the working tree, installed or not, and find the local extension.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

import skgd  # noqa: E402

# -- project -----------------------------------------------------------------

project = "skgd"
author = "the skgd developers"
copyright = "the skgd developers, BSD 3-Clause"
release = skgd.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "skgd_docs",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "**/*.ipynb"]
root_doc = "index"
default_role = "literal"

# -- API reference -------------------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "bysource"}
# numpydoc renders the docstrings; the class template lists the members.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- gallery -------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Run every example (their names all start with plot_).
    "filename_pattern": r"/plot_",
    "within_subsection_order": "skgd_docs.ExampleOrder",
    "doc_module": ("skgd",),
    "backreferences_dir": "generated/backreferences",
    "log_level": {"backreference_missing": "debug"},
    "write_computation_times": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skgd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"install": [], "changelog": []}
html_show_sourcelink = False

# -- checks ----------------------------------------------------------------------

# Every public name of these modules must appear in api.rst.
api_reference_modules = ["skgd", "skgd.optimizers", "skgd.schedules", "skgd.plotting"]
