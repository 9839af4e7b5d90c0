"""Smoke test of the benchmark suite: every benchmark runs and writes its table.

Runs ``python -m benchmarks.run --quick`` in a subprocess from the repository
root (so ``benchmarks`` is importable whatever pytest's ``sys.path``), with
single-threaded BLAS so the tiny problems are not slowed by thread start-up
on a busy machine. Timings are not checked, only that the tables exist and
have their rows.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_ROWS = {
    "regression": [
        "| SGDRegressor() |",
        "| GDRegressor() |",
        "| LinearRegression() |",
        "| one pass X.T @ r (floor) |",
        "| GDRegressor(optimizer='adam') |",
        "| GDRegressor(optimizer='sgd') |",
    ],
    "epoch_cost": [
        "| SGDRegressor() |",
        "| GDRegressor(optimizer='sgd', batch_size=1) |",
        "| GDRegressor(optimizer='sgd', batch_size=32) |",
        "| GDRegressor(optimizer='sgd', batch_size=None) |",
    ],
    "scaling": ["| 1000 |", "| 16000 |", "| GDRegressor |", "| SGDRegressor |"],
    "mlp": ["| MLPGDClassifier |", "| MLPClassifier |"],
    "sparse": ["| GDRegressor() |", "| SGDRegressor() |"],
    "streaming": ["| partial_fit over the memory map, 2 passes |", "| fit in memory ("],
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmarks")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--threads", "1"]
        + ["--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, completed.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_quick_run_writes_table(quick_run, name):
    out, stdout = quick_run
    path = out / f"{name}.md"
    assert path.exists(), f"{path} was not written"
    text = path.read_text(encoding="utf-8")
    assert "CPUs (os.cpu_count())" in text
    assert "Mode: quick" in text
    if name == "mlp" and "MLPGDClassifier not available" in text:
        pytest.skip("MLPGDClassifier is not importable yet")
    for row in EXPECTED_ROWS[name]:
        assert row in text, f"{name}.md lacks the row {row!r}"
    assert "## Targets" in text
    assert f"[{name}] wrote" in stdout


def test_script_entry_point_runs_one_benchmark(tmp_path):
    completed = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--threads", "1"]
        + ["--only", "scaling", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (tmp_path / "scaling.md").exists()
    assert not (tmp_path / "regression.md").exists()
