"""The Python snippets of the README and of the documentation pages run cleanly.

Every ```` ```python ```` block of ``README.md`` and every
``.. code-block:: python`` block of ``docs/**/*.rst`` is executed, the blocks
of one file in order and in one namespace (as a reader would paste them), in
a temporary working directory, with every warning turned into an error: a
snippet that emits a ``ConvergenceWarning`` teaches the reader a setting that
does not work. Snippets that use ``X`` and ``y`` without defining them get
scikit-learn's diabetes data. Snippets that need a dask cluster are left to
``tests/test_dask.py``.
"""

import ast
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parent.parent

_MARKDOWN_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
_RST_DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. code-block:: python *$")
# Snippets that start a dask cluster: tests/test_dask.py covers what they do.
_NEEDS_CLUSTER = re.compile(r"\bdask\b|\bda\.")


def _rst_blocks(text):
    """The bodies of the ``.. code-block:: python`` directives of ``text``."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        match = _RST_DIRECTIVE.match(line)
        if not match:
            continue
        indent = len(match.group("indent"))
        body = []
        for following in lines[i + 1 :]:
            stripped = following.strip()
            if stripped and len(following) - len(following.lstrip()) <= indent:
                break
            if stripped.startswith(":") and not body:  # a directive option
                continue
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
    return blocks


def _snippets(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return _MARKDOWN_BLOCK.findall(text)
    return _rst_blocks(text)


def _documents():
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]
    paths = [p for p in paths if "_build" not in p.parts]
    return [p for p in paths if _snippets(p)]


def _names(snippet, context):
    tree = ast.parse(snippet)
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, context)
    }


def _needs_data(snippets):
    """Whether ``X`` is used before any snippet of the file defines it."""
    for snippet in snippets:
        if "X" in _names(snippet, ast.Store):
            return False
        if "X" in _names(snippet, ast.Load):
            return True
    return False


def test_snippets_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in _documents()}
    assert {"README.md", "docs/index.rst", "docs/install.rst"} <= names
    assert len(_snippets(ROOT / "README.md")) >= 2
    assert _rst_blocks(".. code-block:: python\n\n   a = 1\n\n   b = 2\n\nText\n") == [
        "a = 1\n\nb = 2\n"
    ]


@pytest.mark.parametrize(
    "path", _documents(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_snippets_run_without_warnings(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # snippets may write files
    name = path.relative_to(ROOT).as_posix()
    snippets = _snippets(path)
    namespace = {"__name__": "__snippet__"}
    if _needs_data(snippets):
        namespace["X"], namespace["y"] = load_diabetes(return_X_y=True)
    try:
        for index, snippet in enumerate(snippets):
            if _NEEDS_CLUSTER.search(snippet):
                continue
            code = compile(snippet, f"{name}, snippet {index + 1}", "exec")
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                exec(code, namespace)
    finally:
        plt.close("all")


def test_user_guide_summarises_the_benchmarks_without_raw_reports():
    text = (ROOT / "docs" / "user_guide" / "choosing.rst").read_text(encoding="utf-8")
    section = text[text.index(".. _benchmark_results:") :]
    # A summary table and a link to the benchmarks' README, which exists ...
    assert ".. list-table::" in section
    link = re.search(r":download:`[^`<]*<([^>]+)>`", section)
    assert link is not None
    target = (ROOT / "docs" / "user_guide" / link.group(1)).resolve()
    assert target == ROOT / "benchmarks" / "README.md" and target.is_file()
    # ... but not the raw reports of benchmarks/results/ (thread pools,
    # versions, target checklists), which the directive used to paste in.
    for page in (ROOT / "docs").rglob("*.rst"):
        assert "benchmark-results::" not in page.read_text(encoding="utf-8"), page


# Calls that return None, or whose printed value is the point of a gallery cell.
_SHOWN_CALLS = {"print", "show", "tight_layout", "head"}


def _gallery_blocks(source):
    """The code blocks of a gallery script, split as sphinx-gallery does."""
    blocks, current = [], []
    for line in source.splitlines():
        if line.startswith("# %%"):
            blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    blocks.append("\n".join(current))
    return blocks


def _stray_output(block):
    """The source of the block's last statement if sphinx-gallery would print it."""
    body = ast.parse(block).body
    if not body or not isinstance(body[-1], ast.Expr):
        return None
    value = body[-1].value
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return None if name in _SHOWN_CALLS else ast.unparse(value)


def test_stray_output_detection():
    assert _stray_output("x = 1\nax.legend()") == "ax.legend()"
    assert _stray_output("ax.set_title('a')\nlegend = ax.legend()") is None
    assert _stray_output("print(1)") is None
    assert _stray_output("for ax in axes:\n    ax.set_xlabel('x')") is None


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples").glob("plot_*.py")), ids=lambda p: p.name
)
def test_gallery_cells_print_no_stray_objects(path):
    # sphinx-gallery prints the value of a cell's last expression: a
    # matplotlib call there shows "<matplotlib.legend.Legend object at ...>"
    # or "Text(0.5, 1.0, '...')" under the code.
    blocks = _gallery_blocks(path.read_text(encoding="utf-8"))
    stray = [s for s in map(_stray_output, blocks) if s is not None]
    assert stray == []


# -- the demonstration, python -m skgd -----------------------------------------


def test_demo_sgdregressor_reference_curve_reaches_the_ridge_optimum():
    from sklearn.linear_model import SGDRegressor

    from skgd.__main__ import _sgd_objective_curve

    X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
    alpha = SGDRegressor().alpha
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + len(y) * alpha * np.eye(5), Xc.T @ yc)
    best = 0.5 * np.mean((Xc @ w - yc) ** 2) + 0.5 * alpha * w @ w

    curve = _sgd_objective_curve(X, y, n_epochs=30, seed=0)
    assert len(curve) == 30
    assert np.all(np.asarray(curve) >= best * (1 - 1e-9))
    assert curve[-1] < curve[0]
    assert curve[-1] == pytest.approx(best, rel=0.05)


def test_demo_figure_tells_every_curve_apart(tmp_path, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skgd.__main__ import _figure, _plot, _run
    from skgd.optimizers import available_optimizers

    X, y = make_regression(n_samples=300, n_features=4, noise=1.0, random_state=0)
    curves = _run("small", X, y, seed=0)
    names = [*available_optimizers(), "SGDRegressor"]
    assert list(curves) == names
    assert len(curves["SGDRegressor"]) >= 2
    assert "SGDRegressor" in capsys.readouterr().out
    path = tmp_path / "curves.png"
    _plot({"small": curves}, path)
    assert path.stat().st_size > 0

    fig = _figure({"first": curves, "second": curves})
    try:
        assert fig.get_layout_engine() is not None
        for ax in fig.axes:
            lines = ax.get_lines()
            assert len(lines) == len(names) == 15
            styles = {(str(line.get_color()), line.get_linestyle()) for line in lines}
            assert len(styles) == len(names)
        labels = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
        assert labels[:-1] == names[:-1]
        assert labels[-1].startswith("SGDRegressor")
    finally:
        plt.close(fig)


# -- the test configuration ------------------------------------------------------


def test_only_the_estimator_checks_convergence_warnings_are_silenced():
    # pytest installs the filterwarnings of pyproject.toml around each test.
    ignored = [
        f
        for f in warnings.filters
        if f[0] == "ignore" and issubclass(ConvergenceWarning, f[2])
    ]
    assert ignored, "the estimator checks' ConvergenceWarnings are not filtered"
    for _, _, _, module, _ in ignored:
        assert module is not None and module.match("sklearn.utils.estimator_checks")
        for elsewhere in ["skgd._base", "tests.test_docs", "__main__", "sklearn"]:
            assert not module.match(elsewhere), elsewhere


def test_demo_says_which_fits_did_not_converge(capsys):
    from skgd.__main__ import _run

    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # none escapes
        _run("small", X, y, seed=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == ["small", lines[1]] and lines[1].endswith("stopped")
    stopped = {line.split()[0]: line for line in lines[2:]}
    assert stopped["LinearRegression"].endswith("exact solution")
    assert all(
        line.endswith(("converged", "(ConvergenceWarning)"))
        for name, line in stopped.items()
        if name != "LinearRegression"
    )


def test_demo_names_a_fit_that_reached_max_iter():
    from skgd import GDRegressor
    from skgd.__main__ import _how_it_stopped

    X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    model = GDRegressor(optimizer="adam", max_iter=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    assert _how_it_stopped(model, caught).startswith("NOT converged")
