"""The child process of tests/test_hostile_inputs.py: fits hostile inputs.

Run many cases to a process (importing scikit-learn costs a second)::

    python -X faulthandler _hostile_child.py SUITE SCRATCH_DIR UNIT [UNIT ...]

SUITE is an estimator's name (a UNIT is ``case:config``, from
``_hostile_cases``) or ``big-index``. The child prints one JSON line when a
unit starts and one when it is done, flushed, so that the parent can name
the unit that was running when the child died. Each done line holds the
unit's record: the predictions of the hostile and the canonical fits, the
error raised, or how a forked process died.
"""

import copy
import json
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _hostile_cases import (
    CASES,
    CONFIGS,
    ESTIMATORS,
    PARTIAL_FIT_CALLS,
    base,
    scratch_file,
)
from numpy.lib.stride_tricks import as_strided


def _estimator(name, config, **params):
    import skgd

    settings = dict(max_iter=3, tol=None, random_state=0, **CONFIGS[config])
    if name.startswith("MLP"):
        settings["hidden_layer_sizes"] = (5,)
    return getattr(skgd, name)(**{**settings, **params})


def _fit(estimator, data, config):
    """``fit``, or ``partial_fit`` calls (given the classes) for some configs."""
    options = {} if data.w is None else {"sample_weight": data.w}
    calls = PARTIAL_FIT_CALLS.get(config)
    if calls is None:
        return estimator.fit(data.X, data.y, **options)
    from sklearn.base import is_classifier

    if is_classifier(estimator):
        options["classes"] = np.unique(np.asarray(data.y))
    for _ in range(calls):
        estimator.partial_fit(data.X, data.y, **options)
    return estimator


def _outputs(estimator, X):
    """What the fitted model says about X: scores, and labels as class indices."""
    if hasattr(estimator, "classes_"):
        score = (
            estimator.predict_proba(X)
            if hasattr(estimator, "predict_proba")
            else estimator.decision_function(X)
        )
        label = np.searchsorted(estimator.classes_, estimator.predict(X))
        return {"score": _floats(score), "label": label.tolist()}
    return {"score": _floats(estimator.predict(X))}


def _floats(a):
    # Some outputs come in the input's precision (long double).
    return np.asarray(a).astype(np.float64).tolist()


def _snapshot(value):
    """A copy of an input, to tell whether fitting changed it."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    return copy.deepcopy(value)


def _unchanged(before, after):
    """Whether an input holds what its snapshot does (by its raw buffers)."""
    if isinstance(before, np.ndarray):
        return (
            before.dtype == after.dtype
            and before.shape == after.shape
            and np.array_equal(before, after)
        )
    if isinstance(before, (tuple, list)):
        return len(before) == len(after) and all(
            _unchanged(p, q) for p, q in zip(before, after, strict=True)
        )
    if sp.issparse(before):
        # Not with SciPy's own comparisons, which refuse some dtypes
        # (big-endian data); dok_matrix was a dict in older SciPy.
        if isinstance(before, dict) and dict(before) != dict(after):
            return False
        return all(
            _unchanged(value, vars(after)[name])
            for name, value in vars(before).items()
            if isinstance(value, (np.ndarray, tuple, dict))
        )
    if hasattr(before, "equals"):  # pandas
        return before.equals(after)
    return before == after


def _digest(data):
    """A key of the canonical data, to fit each canonical data set once."""
    parts = []
    for value in (data.X, data.y, data.w):
        arrays = (
            [value.data, value.indices, value.indptr]
            if sp.issparse(value)
            else [np.asarray(value)]
        )
        parts += [(a.dtype.str, a.shape, a.tobytes()) for a in arrays]
    return hash(repr(parts))


def _refusals(name, case, config, hostile, canonical):
    record = {"fit": _attempt(lambda: _fit(_estimator(name, config), hostile, config))}
    if case.predict_refuses:
        model = _fit(_estimator(name, config), canonical, config)
        record["predict"] = _attempt(lambda: _outputs(model, hostile.X))
    return record


_FORK_TIMEOUT = 120  # seconds


def _isolated(run):
    """``run()`` in a forked process: the record, or how the process died.

    Invalid input that gets past the checks can corrupt memory and crash the
    process later, in another case; a fork keeps the damage to this one.
    The fork's stderr (the fault handler's traceback) goes to a file whose
    end the record quotes.
    """
    if not hasattr(os, "fork"):
        return run()
    log = scratch_file()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: never return into the caller's loop
        code = 0
        try:
            signal.alarm(_FORK_TIMEOUT)  # a hang in a corrupted heap
            os.close(reader)
            os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            with os.fdopen(writer, "w") as out:
                out.write(json.dumps(run()))
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return json.loads(output)
    if os.WIFSIGNALED(status):
        how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    else:
        how = f"exited with code {os.WEXITSTATUS(status)}"
    text = log.read_text(errors="replace") if log.exists() else ""
    tail = [s for s in text.splitlines() if not s.startswith("Extension modules")]
    return {
        "died": f"the forked process {how}; its stderr ends with:\n"
        + "\n".join(tail[-25:])
    }


def _attempt(call):
    """None if ``call()`` returns, else what it raised."""
    try:
        call()
    except Exception as exc:  # the parent checks that it is a clear one
        return _error("", exc)
    return None


def _error(stage, exc):
    return {
        "stage": stage,
        "error": type(exc).__name__,
        "message": str(exc)[:500],
        "clear": isinstance(exc, (ValueError, TypeError)),
    }


def run_case(name, case, config, canonical_cache):
    """Fit one case with one configuration; the record the parent checks."""
    try:
        hostile, canonical = case.build(base(ESTIMATORS[name]))
    except ImportError as exc:  # pandas is optional
        return {"skip": str(exc)}
    if case.expect == "reject":
        return _isolated(lambda: _refusals(name, case, config, hostile, canonical))
    before = [_snapshot(v) for v in (hostile.X, hostile.y, hostile.w)]
    try:
        model = _fit(_estimator(name, config), hostile, config)
    except Exception as exc:
        return _error("fit", exc)
    key = (config, _digest(canonical))
    if key not in canonical_cache:
        try:
            reference = _fit(_estimator(name, config), canonical, config)
            canonical_cache[key] = {"canonical": _outputs(reference, canonical.X)}
        except Exception as exc:
            canonical_cache[key] = _error("canonical fit", exc)
    record = dict(canonical_cache[key])
    try:
        record["on_canonical_X"] = _outputs(model, canonical.X)
        record["on_hostile_X"] = _outputs(model, hostile.X)
    except Exception as exc:
        return _error("predict", exc)
    after = (hostile.X, hostile.y, hostile.w)
    record["mutated"] = [
        field
        for field, a, b in zip("X y sample_weight".split(), before, after, strict=True)
        if not _unchanged(a, b)
    ]
    return record


# -- a dense X spanning more than 2**31 elements -------------------------------

# Units of the big-index suite: estimator, settings, and which stride is huge.
BIG_INDEX_UNITS = {
    "GDRegressor-b1": ("GDRegressor", dict(batch_size=1), "columns"),
    "GDRegressor-b7": ("GDRegressor", dict(batch_size=7), "columns"),
    "GDClassifier-b7": ("GDClassifier", dict(batch_size=7), "columns"),
    "MLPGDClassifier-b7": ("MLPGDClassifier", dict(batch_size=7), "columns"),
    "MLPGDClassifier-ordered": ("MLPGDClassifier", dict(shuffle=False), "columns"),
    "MLPGDRegressor-b7": ("MLPGDRegressor", dict(batch_size=7), "columns"),
    "MLPGDRegressor-ordered": ("MLPGDRegressor", dict(shuffle=False), "columns"),
    "GDRegressor-b1-rows": ("GDRegressor", dict(batch_size=1), "rows"),
    "MLPGDClassifier-ordered-rows": ("MLPGDClassifier", dict(shuffle=False), "rows"),
}
# The huge stride, in items: columns 2**30 items apart, or rows 2**26 apart
# (50 rows span 3.3e9 items).
_HUGE_STRIDE = {"columns": 2**30, "rows": 2**26}


def _huge_view(path, values, huge):
    """``values`` (50 x 3) with one stride huge, in a sparse file.

    With ``huge="columns"``, element ``(i, j)`` is item ``i + j * 2**30`` of
    the file: the array spans more than 2**31 items (24 GiB, or 26 GiB for
    rows 2**26 items apart) but only its 150 used values are ever written,
    so the file takes a few pages of disk and memory.
    """
    step = _HUGE_STRIDE[huge]
    n_items = step * values.shape[1 if huge == "columns" else 0]
    with open(path, "wb") as f:
        f.truncate(8 * n_items)
    mapped = np.memmap(path, np.float64, "r+", shape=(n_items,))
    strides = (8, 8 * step) if huge == "columns" else (8 * step, 8)
    X = as_strided(mapped, shape=values.shape, strides=strides)
    X[...] = values
    return X


def _parameters(model):
    if hasattr(model, "coefs_"):
        arrays = [*model.coefs_, *model.intercepts_]
    else:
        arrays = [model.coef_, model.intercept_]
    return np.concatenate([np.ravel(a) for a in arrays]).tolist()


def run_big_index(unit, scratch):
    """Fit on the huge-stride X and on a contiguous copy of its values."""
    name, settings, huge = BIG_INDEX_UNITS[unit]
    rng = np.random.RandomState(1)
    values = rng.normal(size=(50, 3))
    trend = values @ np.array([1.0, -1.0, 0.5])
    y = trend + 0.1 * rng.normal(size=len(values))
    if ESTIMATORS[name] == "classifier":
        y = (trend > 0).astype(np.int64)
    path = scratch / f"{unit}.bin"
    X = _huge_view(path, values, huge)
    span = 1 + sum(
        (n - 1) * stride // 8 for n, stride in zip(X.shape, X.strides, strict=True)
    )
    assert span > 2**31, span
    record = {}
    for label, data in (("huge", X), ("contiguous", np.ascontiguousarray(X))):
        model = _estimator(name, "b8", **settings).fit(data, y)
        record[label] = {
            "params": _parameters(model),
            "predictions": np.asarray(model.predict(data)).tolist(),
        }
    path.unlink()  # its apparent size is 24 GiB
    return record


def _emit(**fields):
    print("@@hostile " + json.dumps(fields), flush=True)


def _import_skgd():
    """Import skgd, waiting out a rebuild of its extensions in progress."""
    for attempt in range(5):
        try:
            import skgd  # noqa: F401

            return
        except ImportError:
            if attempt == 4:
                raise
            time.sleep(2)


def main(suite, scratch, *units):
    warnings.simplefilter("ignore")
    scratch_file.directory = Path(scratch)
    _import_skgd()
    _emit(event="ready")
    canonical_cache = {}
    for unit in units:
        _emit(event="start", unit=unit)
        start = time.perf_counter()
        if suite == "big-index":
            record = run_big_index(unit, Path(scratch))
        else:
            case_id, config = unit.split(":")
            record = run_case(suite, CASES[case_id], config, canonical_cache)
        record["seconds"] = time.perf_counter() - start
        _emit(event="done", unit=unit, record=record)


if __name__ == "__main__":
    main(*sys.argv[1:])
