"""GDRegressor's implicit rescaling of the features and its automatic step.

The defaults must train any per-column scale of X like standardised data,
reach the optimum of the same objective, and derive the step size from the
rows that count (nonzero weights) with a robust spread of y.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _memory import peak_bytes
from numpy.testing import assert_allclose
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor

COEF = np.array([1.5, -2.0, 0.5, 3.0, -1.0])


def _data(n_samples=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, len(COEF)))
    return X, X @ COEF + 4.0 + 0.5 * rng.normal(size=n_samples)


def _objective(reg, X, y, alpha):
    """The objective GDRegressor minimises (squared loss, L2 penalty)."""
    residual = reg.predict(X) - y
    return 0.5 * np.mean(residual**2) + 0.5 * alpha * reg.coef_ @ reg.coef_


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return GDRegressor(random_state=0, **params).fit(X, y)


# -- item: any column scale trains like standardised data -----------------------


@pytest.mark.parametrize("scale", [1e-200, 1e-6, 1e-3, 1e-2, 1e3, 1e200])
@pytest.mark.parametrize("batch_size", ["auto", None])
def test_uniform_feature_scale_reaches_least_squares(scale, batch_size):
    # Before the rescaling, features of scale <= 0.01 got a step from the
    # intercept's curvature and stopped at R² ~ 0 (or raised at 1e-200).
    X, y = _data()
    best = LinearRegression().fit(X, y).score(X, y)
    reg = _fit(X * scale, y, penalty=None, batch_size=batch_size)
    assert reg.score(X * scale, y) > best - 1e-3
    assert_allclose(reg.coef_ * scale, COEF, atol=0.1)


@pytest.mark.parametrize("scale", [1e-3, 1e-2, 0.1, 1e3])
def test_uniform_feature_scale_reaches_the_ridge_optimum(scale):
    # With penalty_scale="raw" the L2 penalty is on coef, so small features
    # are shrunk: the target is the optimum of the same objective (Ridge's),
    # not least squares.
    X, y = _data()
    X = X * scale
    alpha = 1e-4
    ridge = Ridge(alpha=alpha * len(y)).fit(X, y)
    reg = _fit(X, y, batch_size=None, penalty_scale="raw")
    best = _objective(ridge, X, y, alpha)
    assert _objective(reg, X, y, alpha) <= best * (1 + 1e-3)


def test_mixed_column_scales_reach_the_optimum_on_test_data():
    # Columns of scale 1e-3 to 1e3: before, R² 0.31 on held-out data
    # (optimum 0.998) and no warning.
    X, y = _data(n_samples=600)
    X = X * np.logspace(-3, 3, X.shape[1])
    train, test = slice(0, 400), slice(400, None)
    ridge = Ridge(alpha=1e-4 * 400).fit(X[train], y[train])
    reg = _fit(X[train], y[train], penalty_scale="raw")
    best = ridge.score(X[test], y[test])
    assert reg.score(X[test], y[test]) > best - 0.01
    assert _objective(reg, X[train], y[train], 1e-4) <= _objective(
        ridge, X[train], y[train], 1e-4
    ) * (1 + 1e-2)


def test_extreme_column_magnitudes_are_trained_like_standardised_data():
    X, y = _data()
    scales = np.array([1e-200, 1e-6, 1.0, 1e6, 1e200])
    reference = _fit(X, y, penalty=None)
    reg = _fit(X * scales, y, penalty=None)
    assert np.all(np.isfinite(reg.coef_))
    assert_allclose(reg.coef_ * scales, reference.coef_, rtol=0.02, atol=0.02)
    assert reg.score(X * scales, y) > reference.score(X, y) - 1e-3


def test_full_batch_epochs_do_not_depend_on_the_scale():
    # Before: 11 epochs on X, 706 on X * 0.1 and 1000 (unconverged) on X * 0.01.
    X, y = _data()
    epochs = [
        _fit(X * scale, y, penalty=None, batch_size=None).n_iter_
        for scale in (1.0, 0.1, 0.01, 1e-4)
    ]
    assert max(epochs) <= epochs[0] + 2


def test_sparse_columns_of_mixed_scales_match_dense():
    X, y = _data()
    X[np.abs(X) < 0.5] = 0.0
    X = X * np.logspace(-3, 3, X.shape[1])
    dense = _fit(X, y, penalty=None, batch_size=None)
    sparse = _fit(sp.csr_matrix(X), y, penalty=None, batch_size=None)
    assert_allclose(dense._scale, sparse._scale, rtol=1e-12)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6)
    best = LinearRegression().fit(X, y).score(X, y)
    assert sparse.score(X, y) > best - 1e-3


# -- the penalty on standardised coefficients -------------------------------------


@pytest.mark.parametrize("optimizer", ["auto", "sgd"])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_the_default_penalty_does_not_depend_on_the_units(optimizer, penalty):
    # Columns scaled by 10**U(-6, 6): with the penalty on raw coefficients,
    # test R² 0.586 against 0.9995 for the StandardScaler pipeline.
    X, y = make_regression(4000, 30, n_informative=15, noise=10, random_state=0)
    units = 10.0 ** np.random.RandomState(0).uniform(-6, 6, X.shape[1])
    train, test = slice(0, 3000), slice(3000, None)
    params = dict(optimizer=optimizer, penalty=penalty, alpha=0.01)
    scaler = StandardScaler().fit(X[train] * units)
    standard = _fit(scaler.transform(X[train] * units), y[train], **params)
    raw = _fit(X[train] * units, y[train], **params)
    expected = standard.predict(scaler.transform(X[test] * units))
    assert_allclose(raw.predict(X[test] * units), expected, rtol=1e-4, atol=1e-3)
    score = raw.score(X[test] * units, y[test])
    assert score > 0.99
    # The raw-unit objective is scikit-learn's, which these units spoil.
    ridge_like = _fit(X[train] * units, y[train], penalty_scale="raw", **params)
    assert ridge_like.score(X[test] * units, y[test]) < score - 0.01


@pytest.mark.parametrize("penalty_scale", ["standardized", "raw"])
def test_sparse_and_dense_share_an_explicit_penalty_scale(penalty_scale):
    X, y = _data()
    X[np.abs(X) < 0.5] = 0.0
    X = X * np.logspace(-2, 2, X.shape[1])
    params = dict(alpha=0.1, penalty_scale=penalty_scale, batch_size=None)
    dense = _fit(X, y, **params)
    sparse = _fit(sp.csr_matrix(X), y, **params)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6)


def test_auto_keeps_raw_units_for_sparse_x():
    X, y = _data()
    X[np.abs(X) < 0.5] = 0.0
    X = X * np.logspace(-2, 2, X.shape[1])
    auto = _fit(sp.csr_matrix(X), y, alpha=0.1, batch_size=None)
    raw = _fit(X, y, alpha=0.1, batch_size=None, penalty_scale="raw")
    assert_allclose(auto.coef_, raw.coef_, rtol=1e-6)


def test_l1_threshold_per_coordinate_matches_lasso_on_mixed_scales():
    # The soft-threshold in the rescaled coordinates is eta * l1 / p_j.
    rng = np.random.RandomState(0)
    scales = np.array([1e-6, 1e-2, 1.0, 1e6])
    X = rng.normal(size=(300, 4)) * scales
    y = (X / scales) @ [1.0, 2.0, 3.0, 4.0] + 0.1 * rng.normal(size=300)
    lasso = Lasso(alpha=1e-3, tol=1e-12, max_iter=100_000).fit(X, y)
    reg = _fit(
        X, y, penalty="l1", alpha=1e-3, batch_size=None, tol=1e-9, penalty_scale="raw"
    )
    assert reg.coef_[0] == 0.0 and lasso.coef_[0] == 0.0
    assert_allclose(reg.coef_ * scales, lasso.coef_ * scales, rtol=1e-4, atol=1e-6)


def test_constant_and_rounded_constant_columns_get_unit_scale():
    X, y = _data()
    # 0.1 is not a binary fraction: its mean is rounded, and the centred
    # column is a tiny constant rather than zero.
    X = np.c_[X, np.full(len(y), 0.1), np.zeros(len(y))]
    reg = _fit(X, y, penalty=None)
    assert_allclose(reg._scale[-2:], 1.0)
    assert_allclose(reg.coef_[-2:], 0.0, atol=1e-8)
    assert reg.score(X, y) > LinearRegression().fit(X, y).score(X, y) - 1e-3


def test_column_scales_are_computed_without_copying_X():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50_000, 40)) * np.logspace(-3, 3, 40)
    y = X[:, 0] * 1e3 + rng.normal(size=len(X))
    reg = GDRegressor(max_iter=1, tol=None, random_state=0)
    peak = peak_bytes(reg.fit, X, y)
    assert peak < 0.25 * X.nbytes


def test_warm_start_coef_init_and_partial_fit_use_the_coefficients():
    X, y = _data()
    X = X * np.logspace(-2, 2, X.shape[1])
    reg = GDRegressor(penalty=None, batch_size=None, max_iter=2, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y, coef_init=COEF / np.logspace(-2, 2, 5), intercept_init=[4.0])
    # Starting at (nearly) the optimum, two epochs stay there.
    assert_allclose(reg.coef_ * np.logspace(-2, 2, 5), COEF, atol=0.05)
    assert_allclose(reg._current_params(), reg._state.params, rtol=1e-12)
    before = reg.coef_.copy()
    reg.partial_fit(X, y)
    assert_allclose(reg.coef_, before, rtol=0.05)


# -- item: heavy-tailed targets ---------------------------------------------------


# With Cauchy noise, the epoch objectives (about 82) keep setting new lows by
# more than the absolute tol long after the coefficients settled, so the slower
# optimizers may reach max_iter: that warning is right and not what is tested.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("optimizer", ["adagrad", "rmsprop", "nadam", "adam"])
def test_normalising_optimizers_resist_cauchy_noise_in_y(optimizer):
    # std(y) is 1,760 here (the noise is Cauchy), its robust spread 6: the
    # automatic rate used to come from std(y), and gave R² -547 (adagrad),
    # -44 (rmsprop), -10 (nadam), 0.39 (adam) against 0.994 for sgd.
    rng = np.random.RandomState(1)
    X = rng.normal(size=(500, 5))
    signal = X @ np.array([1.0, -2.0, 3.0, 0.5, -1.0])
    y = signal + rng.standard_cauchy(500)
    params = dict(loss="huber", epsilon=1.0, random_state=0)
    sgd = GDRegressor(**params).fit(X, y)
    reg = GDRegressor(optimizer=optimizer, **params).fit(X, y)
    assert reg.score(X, signal) > sgd.score(X, signal) - 0.01


# -- zero-weight rows are absent ------------------------------------------------


def _weighted_data(sparse):
    rng = np.random.RandomState(0)
    X = rng.normal(3.0, 2.0, size=(3000, 4)) * [1e-3, 1.0, 10.0, 1e3]
    y = X @ [1e3, 1.0, 0.1, 1e-3] + rng.standard_cauchy(3000)
    weight = rng.uniform(0.5, 2.0, size=3000)
    weight[rng.rand(3000) < 0.3] = 0.0
    # Zero-weight rows far out: they must not move any statistic.
    X[weight == 0] *= 1e3
    y[weight == 0] += 1e6
    if sparse:
        X[:, 1][X[:, 1] < 2.5] = 0.0
        X = sp.csr_matrix(X)
    return X, y, weight


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", ["squared_error", "absolute_error"])
@pytest.mark.parametrize("batch_size", [1, 50, 5000])
def test_zero_weight_rows_are_absent_from_the_step_size(sparse, loss, batch_size):
    X, y, weight = _weighted_data(sparse)
    kept = weight > 0
    reg = GDRegressor(loss=loss, random_state=0)
    reg._init_params(X, y, np.random.RandomState(0), weight)
    offset, scale = reg._offset, reg._scale
    subset = GDRegressor(loss=loss, random_state=0)
    subset._init_params(X[kept], y[kept], np.random.RandomState(0), weight[kept])
    assert_allclose(offset, subset._offset, rtol=1e-10)
    assert_allclose(scale, subset._scale, rtol=1e-10)
    hints = reg._step_size_hints(X, y, weight, batch_size)
    # On the same stored offset and scales.
    subset_hints = reg._step_size_hints(X[kept], y[kept], weight[kept], batch_size)
    assert_allclose(hints, subset_hints, rtol=1e-10)


def test_step_size_of_a_one_row_chunk_is_safe():
    X, y = _data()
    X = X * [1e-3, 1.0, 1.0, 1e3, 1.0]
    reg = GDRegressor(penalty=None, random_state=0).partial_fit(X[:100], y[:100])
    for row in (100, 101, 250):
        lipschitz, _ = reg._step_size_hints(X[row : row + 1], y[row : row + 1], None, 1)
        # The curvature of that row's loss in the rescaled coordinates:
        # its squared rescaled, centred norm, plus 1 for the intercept.
        z = (X[row] - reg._offset) / reg._scale
        assert lipschitz >= (z @ z + 1.0) * (1 - 1e-9)
        assert lipschitz <= (z @ z + 1.0) * 1.01


def test_a_one_row_first_chunk_streams_safely():
    X, y = _data()
    X = X * [1e-3, 1.0, 1.0, 1e3, 1.0]
    reg = GDRegressor(penalty=None, random_state=0).partial_fit(X[:1], y[:1])
    # A single row: no spread to estimate, so unit scales, and the intercept
    # alone is fitted.
    assert_allclose(reg._scale, 1.0)
    assert_allclose(reg.coef_, 0.0)
    assert_allclose(reg.intercept_, y[:1])
    # Each later chunk's hints lower the rate where needed (the smaller one
    # is kept), and the stream stays stable even on these unscaled columns.
    rate = reg.learning_rate_
    for start in range(1, 400, 50):
        chunk = slice(start, start + 50)
        lipschitz, _ = reg._step_size_hints(X[chunk], y[chunk], None, 50)
        rate = min(rate, 1.0 / lipschitz)
        reg.set_params(learning_rate=rate).partial_fit(X[chunk], y[chunk])
    assert np.all(np.isfinite(reg.coef_))
    assert reg.loss_curve_[-1] < reg.loss_curve_[1]


def test_full_batch_sample_weight_equals_repetition():
    # The property scikit-learn's check_sample_weight_equivalence checks,
    # which holds for full batches (see the Notes of GDRegressor).
    X, y = _data(n_samples=100)
    X = X * np.logspace(-2, 2, X.shape[1])
    weight = np.ones(len(y))
    weight[:10] = 2.0
    weight[10:20] = 0.0
    repeated = np.r_[np.arange(10), np.arange(20, 100), np.arange(10)]
    params = dict(batch_size=None, shuffle=False, random_state=0)
    weighted = GDRegressor(**params).fit(X, y, sample_weight=weight)
    plain = GDRegressor(**params).fit(X[repeated], y[repeated])
    assert weighted.learning_rate_ == pytest.approx(plain.learning_rate_, rel=1e-10)
    assert_allclose(weighted.coef_, plain.coef_, rtol=1e-8)
    assert_allclose(weighted.intercept_, plain.intercept_, rtol=1e-8)


@pytest.mark.parametrize("layout", ["C", "F", "float32", "rows", "extreme"])
def test_compiled_column_spreads_equal_the_chunked_numpy_ones(layout, monkeypatch):
    from skgd.training import _statistics as statistics

    if statistics._column_statistics is None:
        pytest.skip("the compiled extension is not built")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 6)) * np.logspace(-3, 3, 6) + 5.0
    X[:, 2] = 7.0  # a constant column has a spread of exactly 0
    weight, index = rng.uniform(0, 2, size=1000), None
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "float32":
        X = X.astype(np.float32)
    elif layout == "rows":
        index = np.sort(rng.choice(1000, 300, replace=False))
        weight = weight[index]
    elif layout == "extreme":
        X = X * 1e-200
    centre = (X.T @ weight if index is None else X[index].T @ weight) / weight.sum()
    compiled = statistics.column_spreads(X, index, weight, centre)
    monkeypatch.setattr(statistics, "_column_statistics", None)
    chunked = statistics.column_spreads(X, index, weight, centre)
    assert compiled[2] == chunked[2] == 0.0
    assert_allclose(compiled, chunked, rtol=1e-12)
    assert np.all(compiled[[0, 1, 3, 4, 5]] > 0)
