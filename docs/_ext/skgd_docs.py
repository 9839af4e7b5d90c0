"""Small Sphinx helpers of the skgd documentation.

- The ``benchmark-results`` directive shows the Markdown reports that the
  benchmark scripts write to ``benchmarks/results/*.md`` (headings, bullet
  lists, pipe tables, paragraphs and figures), or a note when there are none.
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

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_INLINE = re.compile(r"\*\*(?P<strong>.+?)\*\*|`(?P<code>[^`]+)`")
_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _inline(text):
    """Docutils nodes of one line of Markdown text (bold and code spans)."""
    out, position = [], 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            out.append(nodes.Text(text[position : match.start()]))
        if match.group("strong") is not None:
            out.append(nodes.strong(text=match.group("strong")))
        else:
            out.append(nodes.literal(text=match.group("code")))
        position = match.end()
    if position < len(text):
        out.append(nodes.Text(text[position:]))
    return out


def _paragraph(text):
    paragraph = nodes.paragraph()
    paragraph.extend(_inline(text))
    return paragraph


def _cells(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip() for cell in line.split("|")]


def _table(lines):
    header = _cells(lines[0])
    rows = [_cells(line) for line in lines[2:]]
    n_cols = len(header)
    table = nodes.table(classes=["benchmark-table"])
    group = nodes.tgroup(cols=n_cols)
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in range(n_cols))

    def row(cells):
        row_node = nodes.row()
        for cell in (cells + [""] * n_cols)[:n_cols]:
            entry = nodes.entry()
            entry += _paragraph(cell)
            row_node += entry
        return row_node

    head = nodes.thead()
    head += row(header)
    body = nodes.tbody()
    body.extend(row(cells) for cells in rows)
    group += head
    group += body
    return table


class BenchmarkResults(SphinxDirective):
    """Render ``<benchmark_results_dir>/*.md``, or a note when there are none."""

    has_content = False

    def run(self):
        folder = Path(self.config.benchmark_results_dir)
        reports = sorted(folder.glob("*.md")) if folder.is_dir() else []
        if not reports:
            note = nodes.note()
            note += _paragraph(
                "No benchmark results were available when this page was built. "
                "The benchmark scripts in `benchmarks/` write their reports to "
                "`benchmarks/results/`; rebuild the documentation after running "
                "them to show their tables here."
            )
            return [note]
        doc_dir = Path(self.env.doc2path(self.env.docname)).parent
        out = []
        for report in reports:
            self.env.note_dependency(str(report))
            out.extend(self._render(report, doc_dir))
        return out

    def _render(self, path, doc_dir):
        out = []
        blocks = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
        for block in blocks:
            lines = [line.rstrip() for line in block.strip().splitlines()]
            if not lines:
                continue
            if lines[0].startswith("#"):
                out.append(nodes.rubric(text=lines[0].lstrip("#").strip()))
                lines = lines[1:]
                if not lines:
                    continue
            if len(lines) >= 2 and lines[0].startswith("|") and _RULE.match(lines[1]):
                out.append(_table(lines))
            elif all(line.startswith(("- ", "* ")) for line in lines):
                items = nodes.bullet_list()
                for line in lines:
                    item = nodes.list_item()
                    item += _paragraph(line[2:])
                    items += item
                out.append(items)
            elif all(_IMAGE.match(line) for line in lines):
                for line in lines:
                    match = _IMAGE.match(line)
                    image = path.parent / match.group("src")
                    if image.is_file():
                        self.env.note_dependency(str(image))
                        uri = os.path.relpath(image, doc_dir).replace(os.sep, "/")
                        out.append(nodes.image(uri=uri, alt=match.group("alt")))
            else:
                out.append(_paragraph(" ".join(lines)))
        return out


# The gallery's examples in reading order; any other example comes after them,
# by file name.
EXAMPLE_ORDER = [
    "plot_compare_optimizers.py",
    "plot_schedules.py",
    "plot_gd_vs_sgdregressor.py",
    "plot_grid_search.py",
    "plot_partial_fit_stream.py",
    "plot_mlp_digits.py",
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
    app.add_config_value("benchmark_results_dir", "", "env")
    app.add_config_value("api_reference_modules", [], "env")
    app.add_directive("benchmark-results", BenchmarkResults)
    app.connect("builder-inited", _check_api_reference)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
