"""Hostile input layouts and dtypes: no crash, and the canonical input's result.

Every estimator is fitted (three epochs on 40 x 4 data) and asked for
predictions on X, y and sample_weight in strange layouts, dtypes and
containers (``_hostile_cases.py`` lists them, ``_hostile_child.py`` fits
them): Fortran order, strides, negative strides, read-only, memory-mapped
and unaligned buffers, big-endian and narrow dtypes, pandas frames with
nullable dtypes, every SciPy sparse format, CSR with 64-bit, unsorted or
duplicate indices, explicit zeros or non-contiguous buffers. Each must train
and predict as the same values in canonical form (C-contiguous float64, or
CSR float64 with sorted, summed 32-bit indices) do, and leave its input
unchanged; invalid inputs, malformed sparse matrices among them, must be
refused with a ValueError or a TypeError by fit and by predict.

A crash in compiled code would take pytest down with it, so the fits run in
child processes, one per estimator running all its cases, two children at
a time. A child that dies is restarted after the case it died in, and the
test of that case fails with the fault handler's traceback. Inputs to be
refused run in a fork of the child each: one that gets past the checks can
corrupt memory and bring the child down later, in another case.
"""

import functools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _hostile_cases import CASES, ESTIMATORS
from _hostile_child import BIG_INDEX_UNITS

CHILD = Path(__file__).with_name("_hostile_child.py")
# A hang guard, not a speed limit: a whole suite takes seconds.
TIMEOUT = 300

# Tolerances on predictions, relative to the largest canonical one. Float64
# inputs differ from canonical ones by rounding in the order of sums (other
# strides, another epoch backend); float32 ones train in float32.
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}

# Cases that fail today, the estimators they fail for, and why. Remove an
# entry when its fix lands: the xfail is strict, so the test fails until then.
KNOWN_FAILURES = {}


def _params():
    for name, kind in ESTIMATORS.items():
        for case_id, case in CASES.items():
            if kind not in case.kinds:
                continue
            failing, reason = KNOWN_FAILURES.get(case_id, ((), ""))
            marks = [pytest.mark.xfail(strict=True, reason=reason)]
            yield pytest.param(
                name,
                case_id,
                id=f"{name}-{case_id}",
                marks=marks if name in failing else [],
            )


# -- running the child processes -----------------------------------------------


def _describe_death(returncode, stderr):
    if returncode == "timeout":
        how = f"hung for more than {TIMEOUT} s"
    elif returncode < 0:
        how = f"was killed by {signal.Signals(-returncode).name}"
    else:
        how = f"exited with code {returncode}"
    # The fault handler's list of extension modules is one long line.
    lines = [s for s in stderr.splitlines() if not s.startswith("Extension modules")]
    tail = "\n".join(lines[-25:])
    return f"the child process {how}; its stderr ends with:\n{tail}"


def _run_child(suite, scratch, units):
    """One child over ``units``: exit code, records, units started, ready, stderr."""
    command = [sys.executable, "-X", "faulthandler", str(CHILD), suite, str(scratch)]
    try:
        done = subprocess.run(
            command + units, capture_output=True, text=True, timeout=TIMEOUT
        )
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, stdout, stderr = "timeout", exc.stdout, exc.stderr
    stdout, stderr = (
        s.decode(errors="replace") if isinstance(s, bytes) else s or ""
        for s in (stdout, stderr)
    )
    records, started, ready = {}, [], False
    for line in stdout.splitlines():
        if not line.startswith("@@hostile "):
            continue
        try:
            message = json.loads(line[len("@@hostile ") :])
        except json.JSONDecodeError:  # cut short by a death
            continue
        ready = ready or message["event"] == "ready"
        if message["event"] == "start":
            started.append(message["unit"])
        elif message["event"] == "done":
            records[message["unit"]] = message["record"]
    return returncode, records, started, ready, stderr


def run_suite(suite, units, scratch):
    """Run the units of a suite in as few children as their deaths allow.

    Returns the records of the units (a unit that a child died in records
    how it died) and the deaths no unit can be blamed for (a child dying
    between units, or at exit). After a death the next child starts after
    the last unit that started. A child that dies before its first unit
    (skgd not importable, say while its extensions are being rebuilt) is
    tried again twice.
    """
    records, stray, pending, failed_starts = {}, [], list(units), 0
    while pending:
        returncode, done, started, ready, stderr = _run_child(suite, scratch, pending)
        records.update(done)
        if returncode == 0:
            missing = [unit for unit in pending if unit not in records]
            if missing:
                stray.append(f"the child exited 0 without running {missing}")
            break
        if not ready and failed_starts < 2:
            failed_starts += 1
            time.sleep(5)
            continue
        death = _describe_death(returncode, stderr)
        running = next((unit for unit in started if unit not in done), None)
        if running is not None:
            records[running] = {"died": death}
        else:
            after = f"after unit {started[-1]}" if started else "before any unit"
            stray.append(f"{after}: {death}")
        if not started:  # no progress to resume from
            records.update({unit: {"died": death} for unit in pending})
            break
        pending = pending[pending.index(started[-1]) + 1 :]
    return {"records": records, "stray": stray}


def _units(name):
    return [
        f"{case_id}:{config}"
        for case_id, case in CASES.items()
        if ESTIMATORS[name] in case.kinds
        for config in case.configs
    ]


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    """The records of each suite, by name: a function that runs it once.

    Each suite's child runs when the first test that needs it asks, in the
    main thread: children started at once from two threads sometimes failed
    to exec ("Bad address", from CPython's vfork) on the oldest supported
    releases.
    """
    done = {}

    def records(suite):
        if suite not in done:
            units = list(BIG_INDEX_UNITS) if suite == "big-index" else _units(suite)
            done[suite] = run_suite(suite, units, tmp_path_factory.mktemp(suite))
        return done[suite]

    return {
        suite: functools.partial(records, suite) for suite in [*ESTIMATORS, "big-index"]
    }


# -- checking the records ------------------------------------------------------


def _compare(what, got, expected, tolerance):
    """A message if the outputs differ, else None."""
    score, reference = np.asarray(got["score"]), np.asarray(expected["score"])
    if score.shape != reference.shape:
        return f"{what}: shape {score.shape}, canonical {reference.shape}"
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    gap = float(np.max(np.abs(score - reference), initial=0.0))
    if not gap <= tolerance * scale:  # NaN fails too
        return f"{what}: differ by {gap:.3g} (tolerance {tolerance * scale:.3g})"
    if got.get("label") != expected.get("label"):
        return f"{what}: other predicted classes"
    return None


def _problems(case, record):
    """What is wrong with one record of ``case`` (an empty list: nothing)."""
    if "died" in record:
        return [record["died"]]
    if case.expect == "reject":
        problems = []
        for method in ("fit", "predict"):
            if method not in record:
                continue
            error = record[method]
            if error is None:
                problems.append(f"{method} accepted an input it should refuse")
            elif not error["clear"]:
                problems.append(
                    f"{method} refused it with {error['error']}: {error['message']}"
                )
        return problems
    if record.get("error"):
        if case.may_refuse and record["stage"] == "fit" and record["clear"]:
            return []
        return [f"{record['stage']} raised {record['error']}: {record['message']}"]
    tolerance = TOLERANCE[case.precision]
    problems = [
        _compare(
            f"predictions on {x} X", record[f"on_{x}_X"], record["canonical"], tolerance
        )
        for x in ("canonical", "hostile")
    ]
    if record["mutated"]:
        problems.append(f"fit or predict changed its input {record['mutated']}")
    return [p for p in problems if p]


@pytest.mark.parametrize("name, case_id", list(_params()))
def test_hostile_input(suites, name, case_id):
    records = suites[name]()["records"]
    case = CASES[case_id]
    problems = []
    for config in case.configs:
        record = records[f"{case_id}:{config}"]
        if "skip" in record:
            pytest.skip(record["skip"])
        problems += [f"[{config}] {p}" for p in _problems(case, record)]
    assert not problems, f"{name} on {case_id}:\n" + "\n".join(problems)


@pytest.mark.parametrize("suite", [*ESTIMATORS, "big-index"])
def test_children_exit_cleanly(suites, suite):
    """Every child exits 0, or dies in a unit (whose own test then fails)."""
    assert not suites[suite]()["stray"]


# -- a dense X spanning more than 2**31 elements -------------------------------


@pytest.mark.parametrize("unit", list(BIG_INDEX_UNITS))
def test_huge_stride(suites, unit):
    """Columns 2**30 (or rows 2**26) items apart: no 32-bit index overflow.

    X spans more than 2**31 items of a sparse file; the coefficients and
    predictions match those of a contiguous copy of its 150 values.
    """
    record = suites["big-index"]()["records"][unit]
    assert "died" not in record, f"{unit}: {record.get('died')}"
    for what in ("params", "predictions"):
        np.testing.assert_allclose(
            record["huge"][what], record["contiguous"][what], rtol=1e-9, atol=1e-12
        )
