"""Run the skgd benchmarks and write their Markdown tables and plots.

Usage (from the repository root)::

    python -m benchmarks.run              # full mode: every benchmark
    python -m benchmarks.run --quick      # a smoke run on tiny data
    python -m benchmarks.run --only mlp   # one benchmark
    python benchmarks/run.py --out /tmp/results

Each benchmark writes ``<out>/<name>.md`` (also printed) and, when matplotlib
is installed, PNG plots next to it.
"""

import argparse
import contextlib
import importlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root (and so ``benchmarks`` and the
    # working copy of ``skgd``) importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks._common import DEFAULT_OUT, FULL, QUICK, Mode  # noqa: E402

BENCHMARKS = {
    "regression": "benchmarks.bench_regression",
    "classification": "benchmarks.bench_classification",
    "convergence": "benchmarks.bench_convergence",
    "epoch_cost": "benchmarks.bench_epoch_cost",
    "scaling": "benchmarks.bench_scaling",
    "mlp": "benchmarks.bench_mlp",
    "mlp_regression": "benchmarks.bench_mlp_regression",
    "sparse": "benchmarks.bench_sparse",
    "streaming": "benchmarks.bench_streaming",
    "text": "benchmarks.bench_text",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark skgd's estimators against scikit-learn's.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one repetition"
    )
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (may be repeated)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}"
    )
    parser.add_argument(
        "--repeats", type=int, help="repetitions per timing (default: 1 quick, 3 full)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="limit the BLAS and OpenMP thread pools (default: the libraries' own)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.repeats:
        mode = Mode(mode.name, args.repeats)
    names = args.only or list(BENCHMARKS)
    limits = contextlib.nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=args.threads)
    summary = []
    with limits:
        for name in names:
            module = importlib.import_module(BENCHMARKS[name])
            start = time.perf_counter()
            report = module.run(mode, args.out)
            path = report.write(args.out)
            seconds = time.perf_counter() - start
            print(f"[{name}] wrote {path} in {seconds:.1f} s\n", flush=True)
            summary += [f"[{name}] {t.line()[2:]}" for t in report.targets]
    if summary:
        print("Targets:\n" + "\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
