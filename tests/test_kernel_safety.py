"""Every compiled kernel entry refuses what it cannot read safely.

The epochs and the column statistics are compiled without bounds checks, so
each entry validates its arguments first: shapes against the parameters,
batch plans against the rows of X, CSR structure against the columns, and
optimizer rules and their buffers. Calls that used to read outside memory
run here in a subprocess, so a regression shows as a failed test rather
than a crashed test run.
"""

import importlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skgd import (
    GDClassifier,
    GDRegressor,
    MLPGDClassifier,
    MLPGDRegressor,
)
from skgd.linear import _epoch as _linear_epoch
from skgd.linear._backend import (
    Averaging,
    LinearData,
    LinearParameters,
    compiled_step,
)
from skgd.optimizers import SGD, Adam, OptimizerState
from skgd.optimizers._compiled import hyperparameters
from skgd.training import _column_statistics
from skgd.training._kernel_io import EpochPlan, RuleState, check_bundles


def _run_in_subprocess(code):
    """Run ``code`` in a fresh interpreter; return its completed process."""
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- column statistics ---------------------------------------------------------


def test_column_moments_with_no_rows_reads_no_row():
    # An empty index used to mean "every row", with one weight per visited
    # row missing: a read past the weights (a segfault on large X).
    result = _run_in_subprocess(
        """
        import numpy as np
        from skgd.training import _column_statistics as _column_statistics
        X = np.ones((3_000_000, 1))
        scale, linear, square, high, low = _column_statistics.column_moments(
            X, np.empty(0, np.intp), np.empty(0), np.zeros(1)
        )
        assert linear[0] == 0 and square[0] == 0 and high[0] == -np.inf
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "index, weight, centre, match",
    [
        (None, np.ones(3), np.zeros(2), "3 weights for 5 rows"),
        (np.array([0, 5]), np.ones(2), np.zeros(2), "names row 5 of 5"),
        (np.array([-1]), np.ones(1), np.zeros(2), "names row -1 of 5"),
        (None, np.ones(5), np.zeros(3), "3 centres for 2 columns"),
    ],
)
def test_column_moments_refuses_mismatched_arguments(index, weight, centre, match):
    X = np.ones((5, 2))
    rows = None if index is None else index.astype(np.intp)
    with pytest.raises(ValueError, match=match):
        _column_statistics.column_moments(X, rows, weight, centre)


# -- linear epoch ----------------------------------------------------------------


def _linear_arguments(n=6, d=3, sparse=False, **changes):
    """Valid arguments of ``linear_epoch`` (plain SGD, one batch), as a dict."""
    rng = np.random.RandomState(0)
    dense = rng.normal(size=(n, d))
    csr = sp.csr_matrix(dense)
    args = dict(
        X=np.empty((0, 0)) if sparse else dense,
        X_data=csr.data if sparse else np.empty(0),
        X_indices=csr.indices if sparse else np.empty(0, np.int32),
        X_indptr=csr.indptr if sparse else np.empty(0, np.int32),
        sparse=sparse,
        Y=rng.normal(size=(n, 1)),
        W=np.empty(0),
        weighted=False,
        index=np.empty(0, np.intp),
        bounds=np.array([0, n], np.intp),
        sizes=np.array([n], np.intp),
        rates=np.array([0.1]),
        mean_weight=1.0,
        limit=1e300,
        P=np.zeros((d + 1, 1)),
        coef=np.zeros((d, 1)),
        G=np.zeros((d + 1, 1)),
        inv_scale=np.ones(d),
        offset=np.zeros(d),
        centred=True,
        loss_family=0,
        loss_code=0,
        loss_param=0.0,
        l1=0.0,
        l2=0.0,
        penalty_weight=np.ones(d),
        opt_code=0,
        hyper=np.zeros(5),
        S0=np.empty((0, 0)),
        S1=np.empty((0, 0)),
        S2=np.empty((0, 0)),
        t0=0,
        mu_product=1.0,
        A=np.empty((0, 0)),
        average_start=0,
        samples_seen=0,
        n_averaged=0,
    )
    args.update(changes)
    return args


def _linear_epoch_of(args):
    """``linear_epoch`` on the flat ``args``, grouped into its bundles by name."""
    bundles = (LinearData, EpochPlan, LinearParameters, RuleState, Averaging)
    return _linear_epoch.linear_epoch(
        *(bundle(**{name: args[name] for name in bundle._fields}) for bundle in bundles)
    )


@pytest.mark.parametrize("sparse", [False, True])
def test_linear_epoch_accepts_valid_arguments(sparse):
    args = _linear_arguments(sparse=sparse)
    total, steps, diverged, *_ = _linear_epoch_of(args)
    assert steps == 1 and not diverged and np.isfinite(total)
    assert np.abs(args["P"]).sum() > 0


def _bad_csr_indices():
    csr = sp.csr_matrix(np.ones((6, 3)))
    indices = csr.indices.copy()
    indices[4] = 3  # column 3 of 3
    return dict(X_data=csr.data, X_indices=indices, X_indptr=csr.indptr)


def _falling_indptr():
    csr = sp.csr_matrix(np.ones((6, 3)))
    indptr = csr.indptr.copy()
    indptr[2] = 1
    return dict(X_data=csr.data, X_indices=csr.indices, X_indptr=indptr)


@pytest.mark.parametrize(
    "sparse, changes, match",
    [
        (False, dict(index=np.array([0, 1, 2, 3, 4, 6], np.intp)), "names row 6"),
        (False, dict(index=np.array([0, -1, 2, 3, 4, 5], np.intp)), "names row -1"),
        (False, dict(bounds=np.array([0, 7], np.intp)), "run past the rows"),
        (
            False,
            dict(
                bounds=np.array([0, 4, 3], np.intp),
                sizes=np.array([4, 1], np.intp),
                rates=np.full(2, 0.1),
            ),
            "must rise",
        ),
        (False, dict(sizes=np.array([0], np.intp)), "must rise"),
        (False, dict(rates=np.empty(0)), "disagree"),
        (False, dict(Y=np.zeros((5, 1))), "Y of shape"),
        (False, dict(W=np.ones(5), weighted=True), "5 weights for 6 rows"),
        (False, dict(X=np.ones((6, 4))), "4 columns for 3"),
        (False, dict(coef=np.zeros((2, 1))), "coef of shape"),
        (False, dict(G=np.zeros((3, 1))), "G of shape"),
        (False, dict(inv_scale=np.ones(2)), "inv_scale or offset"),
        (False, dict(offset=np.ones(2)), "inv_scale or offset"),
        (False, dict(penalty_weight=np.ones(2)), "2 penalty weights for 3"),
        (False, dict(penalty_weight=np.empty(0)), "0 penalty weights for 3"),
        (False, dict(A=np.zeros((1, 1)), average_start=1), "average of shape"),
        (False, dict(loss_code=6), "unknown loss code"),
        (False, dict(loss_code=-1), "unknown loss code"),
        (False, dict(loss_family=1, loss_code=4), "unknown loss code"),
        (False, dict(loss_family=2, loss_code=1), "unknown loss code"),
        (False, dict(loss_family=3), "unknown loss code"),
        (False, dict(opt_code=9), "Unknown compiled optimizer rule 9"),
        (False, dict(opt_code=-1), "Unknown compiled optimizer rule -1"),
        (False, dict(opt_code=3), "needs buffer 0"),  # Adam without moments
        (False, dict(hyper=np.zeros(2)), "5 hyperparameters"),
        (True, _bad_csr_indices(), "column indices lie in"),
        (True, _falling_indptr(), "row pointers must rise"),
        (True, dict(X_data=np.ones(3)), "disagree"),
    ],
)
def test_linear_epoch_refuses_what_it_would_read_past(sparse, changes, match):
    args = _linear_arguments(sparse=sparse, **changes)
    before = args["P"].copy()
    with pytest.raises(ValueError, match=match):
        _linear_epoch_of(args)
    np.testing.assert_array_equal(args["P"], before)  # nothing was stepped


def test_compiled_step_refuses_buffers_shorter_than_the_parameters():
    params = [np.zeros(4)]
    state = OptimizerState(Adam(), params)
    state.slots[0]["v"] = np.zeros(3)
    with pytest.raises(ValueError, match="needs buffer 1 of 4 values; it has 3"):
        compiled_step(state, params, [np.ones(4)], 0.1)


def test_sgd_momentum_needs_its_buffer_only_with_momentum():
    state = OptimizerState(SGD(momentum=0.9), [np.zeros(4)])
    hyper = hyperparameters(state, ("momentum", "dampening", "nesterov"))
    args = _linear_arguments(hyper=hyper)
    with pytest.raises(ValueError, match="needs buffer 0"):
        _linear_epoch_of(args)


# -- estimators: the defects these checks stood behind ---------------------------


def test_big_fortran_index_does_not_overflow(tmp_path):
    # Rows x (columns - 1) >= 2**31 elements in Fortran order: the row's
    # stride times the column index used to overflow 32-bit arithmetic.
    code = f"""
        import numpy as np
        from numpy.lib.stride_tricks import as_strided
        from skgd import GDRegressor
        n = 2**30
        path = {str(tmp_path / "big.bin")!r}
        with open(path, "wb") as f:
            f.truncate(8 * n * 3)
        mm = np.memmap(path, dtype=np.float64, mode="r+", shape=(3 * n,))
        rng = np.random.RandomState(0)
        for j in range(3):
            mm[j * n : j * n + 50] = rng.normal(size=50)
        X = as_strided(mm, shape=(50, 3), strides=(8, 8 * n))
        y = X @ np.array([1.0, 2.0, 3.0])
        for batch_size in (1, 7):
            params = dict(batch_size=batch_size, max_iter=3, tol=None, random_state=0)
            big = GDRegressor(**params).fit(X, y)
            small = GDRegressor(**params).fit(np.ascontiguousarray(X), y)
            np.testing.assert_allclose(big.coef_, small.coef_, rtol=1e-12)
        print("ok")
    """
    result = _run_in_subprocess(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPGDRegressor, MLPGDClassifier]
)
def test_training_rows_of_zero_weight_raise_up_front(Estimator):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    est = Estimator(early_stopping=True, validation_fraction=0.25, random_state=0)
    # Find the held-out rows of this seed, then weigh only them.
    held_out = _held_out_rows(est, X, y)
    weight = np.zeros(40)
    weight[held_out] = 1.0
    with pytest.raises(ValueError, match="weights of the training rows are all zero"):
        est.fit(X, y, sample_weight=weight)
    weight = 1.0 - weight
    with pytest.raises(ValueError, match="weights of the validation rows are all zero"):
        est.fit(X, y, sample_weight=weight)


def _held_out_rows(est, X, y):
    """The rows ``est`` holds out for early stopping (a probe fit)."""
    probe = []
    original = type(est)._split_validation

    def record(self, X, y, sample_weight, random_state):
        train, validation = original(self, X, y, sample_weight, random_state)
        probe.append(np.setdiff1d(np.arange(X.shape[0]), train))
        return train, validation

    type(est)._split_validation = record
    try:
        est.set_params(max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
    finally:
        type(est)._split_validation = original
        est.set_params(max_iter=200)
    return probe[0]


# -- sparse input ----------------------------------------------------------------


def _duplicated(X):
    """``X`` (CSR) with every stored value split over two duplicate entries."""
    coo = X.tocoo()
    rows = np.concatenate([coo.row, coo.row])
    cols = np.concatenate([coo.col, coo.col])
    data = np.concatenate([coo.data * 0.25, coo.data * 0.75])
    order = np.argsort(rows, kind="stable")
    indptr = np.searchsorted(rows[order], np.arange(X.shape[0] + 1))
    return sp.csr_matrix((data[order], cols[order], indptr), shape=X.shape)


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPGDRegressor, MLPGDClassifier]
)
def test_csr_with_duplicates_trains_as_its_canonical_form(Estimator):
    rng = np.random.RandomState(0)
    X = sp.random(60, 5, density=0.5, format="csr", random_state=0)
    y = X @ rng.normal(size=5)
    y = (y > np.median(y)).astype(int) if "Classifier" in Estimator.__name__ else y
    twin = _duplicated(X)
    assert not twin.has_canonical_format
    np.testing.assert_allclose(twin.toarray(), X.toarray())
    params = dict(max_iter=3, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        canonical = Estimator(**params).fit(X, y)
        duplicated = Estimator(**params).fit(twin, y)
    np.testing.assert_allclose(
        duplicated.predict(X.toarray()), canonical.predict(X.toarray()), rtol=1e-10
    )
    assert duplicated.learning_rate_ == pytest.approx(canonical.learning_rate_)
    assert not twin.has_canonical_format  # the caller's matrix is unchanged
    assert twin.nnz == 2 * X.nnz


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPGDRegressor, MLPGDClassifier]
)
def test_csr_with_strided_buffers_fits_as_contiguous(Estimator):
    X = sp.random(40, 4, density=0.5, format="csr", random_state=1)
    y = np.arange(40) % 2
    strided = sp.csr_matrix(X)
    strided.data = np.repeat(X.data, 2)[::2]
    assert not strided.data.flags.c_contiguous
    params = dict(max_iter=2, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = Estimator(**params).fit(X, y).predict(X)
        b = Estimator(**params).fit(strided, y).predict(X)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def _malformed():
    X = sp.csr_matrix(np.eye(4))
    X.indices = X.indices.copy()
    X.indices[2] = 7  # a column index past the 4 columns
    return X


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPGDRegressor, MLPGDClassifier]
)
def test_malformed_csr_raises_a_clear_error(Estimator):
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
        Estimator(max_iter=1, tol=None).fit(_malformed(), y)
    fitted = Estimator(max_iter=1, tol=None).fit(np.eye(4), y)
    with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
        fitted.predict(_malformed())


# -- interrupting an epoch -----------------------------------------------------------


def test_a_long_compiled_epoch_can_be_interrupted():
    # The epoch runs without the interpreter; it must still look for Ctrl-C
    # between batches, or a long epoch could not be stopped. Uninterrupted,
    # this epoch would run for minutes: the timeout is a hang guard.
    code = """
        import _thread, threading
        import numpy as np
        from numpy.lib.stride_tricks import as_strided
        from skgd.linear import _epoch as _linear_epoch
        from skgd.linear._backend import Averaging, LinearData, LinearParameters
        from skgd.training._kernel_io import EpochPlan, RuleState
        n_rows, n_features = 100_000, 1_000_000
        buffer = np.zeros(n_rows + n_features)
        X = as_strided(buffer, shape=(n_rows, n_features), strides=(8, 8))
        P = np.zeros((n_features + 1, 1))
        threading.Timer(0.5, _thread.interrupt_main).start()
        try:
            _linear_epoch.linear_epoch(
                LinearData(
                    X, np.empty(0), np.empty(0, np.int32), np.empty(0, np.int32),
                    False, np.ones((n_rows, 1)), np.empty(0), False,
                ),
                EpochPlan(
                    np.empty(0, np.intp), np.arange(n_rows + 1, dtype=np.intp),
                    np.ones(n_rows, np.intp), np.full(n_rows, 1e-3), 1.0, 1e300,
                ),
                LinearParameters(
                    P, np.zeros((n_features, 1)), np.zeros_like(P),
                    np.ones(n_features), np.zeros(n_features), True, 0, 0, 0.0,
                    0.0, 0.0, np.ones(n_features),
                ),
                RuleState(
                    0, np.zeros(5), np.empty((0, 0)), np.empty((0, 0)),
                    np.empty((0, 0)), 0, 1.0,
                ),
                Averaging(np.empty((0, 0)), 0, 0, 0),
            )
        except KeyboardInterrupt:
            # Whole batches only: each of the first steps moved the intercept.
            assert 0 < P[-1, 0] < n_rows * 1e-3
            print("interrupted")
    """
    result = _run_in_subprocess(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "interrupted"


class _InterruptedKernel:
    """The compiled module, with an epoch interrupted after it ran ``after`` times."""

    def __init__(self, module, name, after):
        self.module, self.name, self.calls, self.after = module, name, 0, after

    def __getattr__(self, attribute):
        real = getattr(self.module, attribute)
        if attribute != self.name:
            return real

        def epoch(*args):
            result = real(*args)
            self.calls += 1
            if self.calls > self.after:
                raise KeyboardInterrupt
            return result

        return epoch


@pytest.mark.parametrize(
    "Estimator, glue, module, name",
    [
        (GDRegressor, "linear._backend", "_linear_epoch", "linear_epoch"),
        (MLPGDClassifier, "network._backend", "_network_epoch", "network_epoch"),
    ],
)
def test_an_interrupted_compiled_epoch_rolls_the_call_back(
    monkeypatch, Estimator, glue, module, name
):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    first = {"classes": [0, 1]} if Estimator is MLPGDClassifier else {}
    est = Estimator(batch_size=8, random_state=0).partial_fit(X, y, **first)
    reference = Estimator(batch_size=8, random_state=0).partial_fit(X, y, **first)
    before = dict(vars(est))
    glue_module = importlib.import_module(f"skgd.{glue}")
    kernel = _InterruptedKernel(getattr(glue_module, module), name, after=0)
    monkeypatch.setattr(glue_module, module, kernel)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    assert kernel.calls == 1  # the compiled epoch ran, then the interrupt came
    monkeypatch.undo()
    assert vars(est).keys() == before.keys()
    assert est._state.t == before["_state"].t
    # The call left no trace: the stream goes on as if it had not been made.
    est.partial_fit(X, y)
    reference.partial_fit(X, y)
    np.testing.assert_array_equal(_outputs(est, X), _outputs(reference, X))


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


def test_bundles_that_do_not_name_the_kernel_parameters_are_refused():
    # The entries unpack their bundles in order into the typed epoch, so a
    # field out of place would shift every argument after it.
    good = (LinearData, EpochPlan, LinearParameters, RuleState, Averaging)
    check_bundles(_linear_epoch._epoch, good)
    swapped = (LinearData, EpochPlan, LinearParameters, Averaging, RuleState)
    with pytest.raises(RuntimeError, match="from position 26 on"):
        check_bundles(_linear_epoch._epoch, swapped)
    with pytest.raises(RuntimeError, match="do not match"):
        check_bundles(_linear_epoch._epoch, good[:-1])
