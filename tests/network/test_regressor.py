"""Tests of MLPGDRegressor: losses, back-propagation, quality and the estimator API."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from _recorders import RecordingRegressor
from _scaling import centred_sparse, standardise
from scipy.special import expit, xlogy
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_friedman1, make_regression
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from skgd import MLPGDRegressor
from skgd.network._activations import ACTIVATIONS
from skgd.network._model import _Layout, _MLPModel
from skgd.network._regression_outputs import REGRESSION_OUTPUTS, get_regression_output

N_FEATURES = 4

_ACTIVATION_FUNCTIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


def _losses(loss, z, Y, epsilon):
    """The loss of each sample, computed independently of the package."""
    if loss == "squared_error":
        return 0.5 * ((z - Y) ** 2).sum(axis=1)
    if loss == "huber":
        r = np.abs(z - Y)
        inside = 0.5 * r**2
        outside = epsilon * r - 0.5 * epsilon**2
        return np.where(r <= epsilon, inside, outside).sum(axis=1)
    mu = np.exp(z)
    return (xlogy(Y, Y / mu) - Y + mu).sum(axis=1)


def _targets(loss, n_samples, n_targets, rng):
    if loss == "poisson":
        return rng.poisson(2.0, size=(n_samples, n_targets)).astype(float)
    return rng.normal(scale=2.0, size=(n_samples, n_targets))


@pytest.mark.parametrize("loss", REGRESSION_OUTPUTS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(loss, activation, alpha, weighted):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(9, N_FEATURES))
    Y = _targets(loss, 9, 2, rng)
    units = [N_FEATURES, 4, 3, 2]
    params = rng.uniform(-1, 1, _Layout(units).size)
    epsilon = 1.0  # residuals fall on both sides of it
    output = get_regression_output(loss, epsilon)
    model = _MLPModel(params, units, activation, output, alpha)
    sample_weight = rng.uniform(0.1, 3, size=9) if weighted else None
    scale = 1 / 9 if sample_weight is None else 1 / sample_weight.sum()

    loss_value = model.loss_grad(X, Y, sample_weight, scale)
    grad = model.grad.copy()
    z = X
    for i, (W, b) in enumerate(zip(model.coefs, model.intercepts, strict=True)):
        if i > 0:
            z = _ACTIVATION_FUNCTIONS[activation](z)
        z = z @ W + b
    weight = np.ones(9) if sample_weight is None else sample_weight
    penalty = 0.5 * alpha * sum((W**2).sum() for W in model.coefs)
    expected = scale * (weight @ _losses(loss, z, Y, epsilon) + penalty)
    assert loss_value == pytest.approx(expected, rel=1e-12)

    numeric = np.empty_like(grad)
    eps = 1e-6
    for j in range(params.size):
        saved = params[j]
        params[j] = saved + eps
        upper = model.loss_grad(X, Y, sample_weight, scale)
        params[j] = saved - eps
        lower = model.loss_grad(X, Y, sample_weight, scale)
        params[j] = saved
        numeric[j] = (upper - lower) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", REGRESSION_OUTPUTS)
def test_hessian_product_is_exact(loss):
    from skgd.network._curvature import _hessian_product

    rng = np.random.RandomState(1)
    X = rng.normal(size=(11, 3))
    Y = _targets(loss, 11, 2, rng)
    units = [3, 4, 2]
    params = rng.uniform(-0.5, 0.5, _Layout(units).size)
    # Huber's curvature is taken as the squared error's bound: give it
    # residuals inside epsilon, where the two agree.
    output = get_regression_output(loss, epsilon=100.0)
    model = _MLPModel(params.copy(), units, "tanh", output, 0.0)
    weight = np.linspace(0.5, 2, 11) / 11
    views = _Layout(units).views
    H = np.array(
        [_hessian_product(model, views, X, Y, weight, e) for e in np.eye(len(params))]
    )

    def grad(p):
        model.params[...] = p
        model.loss_grad(X, Y, weight * 11, 1 / 11)
        return model.grad.copy()

    for j, e in enumerate(np.eye(len(params))):
        column = (grad(params + 1e-6 * e) - grad(params - 1e-6 * e)) / 2e-6
        np.testing.assert_allclose(H[:, j], column, atol=1e-7)


@pytest.mark.skipif(
    parse_version(sklearn.__version__) < parse_version("1.7"),
    reason="MLPRegressor has loss='poisson' from scikit-learn 1.7",
)
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_full_batch_sgd_follows_mlpregressor_step_for_step(loss, activation):
    """Same initial weights, objective and sample weights as MLPRegressor.

    The output biases start at the targets' weighted mean (its logarithm
    for the Poisson loss), and the squared error trains on targets
    standardised by their weighted mean and spread, so targets of mean 0
    and spread 1 (of mean 1) start and train both estimators alike.
    """
    rng = np.random.RandomState(0)
    sample_weight = rng.uniform(0.5, 2, size=40)
    X = standardise(rng.normal(size=(40, 6)), sample_weight)
    y = X[:, 0] - 2 * X[:, 1] ** 2 + rng.normal(size=40)
    if loss == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)
        y /= np.average(y, weights=sample_weight)
    else:
        y = standardise(y[:, np.newaxis], sample_weight).ravel()
    settings = dict(hidden_layer_sizes=(8, 4), alpha=0.05, batch_size=40, max_iter=6)
    settings |= dict(activation=activation, loss=loss)
    ours = MLPGDRegressor(
        **settings, optimizer="sgd", learning_rate=0.05, tol=None, random_state=3
    ).fit(X, y, sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPRegressor(
            **settings,
            solver="sgd",
            momentum=0.0,
            learning_rate_init=0.05,
            shuffle=False,
            n_iter_no_change=100,
            random_state=3,
        ).fit(X, y, sample_weight=sample_weight)
    assert ours.out_activation_ == theirs.out_activation_
    ours_params = ours.coefs_ + ours.intercepts_
    for a, b in zip(ours_params, theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)


# -- quality against MLPRegressor ---------------------------------------------------


def _standardised_split(X, y):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _test_r2(estimator, data):
    X_train, X_test, y_train, y_test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_train, y_train)
    return estimator.score(X_test, y_test)


def test_raw_diabetes_targets_train_as_standardised_ones():
    # The targets in their units (25 to 346): the network trains on them
    # standardised, so it is the network fitted to (y - mean) / std, mapped
    # back. With scikit-learn 1.9.1, after the default 200 epochs the test R²
    # is 0.196 (training R² 0.761: the 100 units overfit the 331 rows, as
    # MLPRegressor on standardised targets does, 0.222), where MLPRegressor
    # on the raw targets scores -1.41: its output, starting near 0, has not
    # reached them.
    X_train, X_test, y_train, y_test = _standardised_split(
        *load_diabetes(return_X_y=True)
    )
    mean, std = y_train.mean(), y_train.std()
    raw = MLPGDRegressor(random_state=0).fit(X_train, y_train)
    standard = MLPGDRegressor(random_state=0).fit(X_train, (y_train - mean) / std)
    assert raw.n_iter_ == standard.n_iter_
    np.testing.assert_allclose(
        raw.predict(X_test), standard.predict(X_test) * std + mean, rtol=1e-9
    )
    np.testing.assert_allclose(
        raw.loss_curve_, np.array(standard.loss_curve_) * std**2, rtol=1e-9
    )
    theirs = MLPRegressor(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X_train, y_train)
    assert theirs.score(X_test, y_test) < 0 < raw.score(X_test, y_test)
    assert raw.score(X_train, y_train) > 0.7


def test_defaults_on_friedman1_match_mlpregressor():
    # With scikit-learn 1.9.1: test R² 0.9558 after 181 epochs for
    # MLPGDRegressor, 0.9566 after 191 for MLPRegressor (both stop by
    # themselves), in about a quarter of the time (see benchmarks/).
    X, y = make_friedman1(n_samples=20000, noise=1.0, random_state=0)
    data = _standardised_split(X, y)
    ours = _test_r2(MLPGDRegressor(max_iter=2000, random_state=0), data)
    theirs = _test_r2(MLPRegressor(max_iter=2000, random_state=0), data)
    assert ours >= theirs - 0.01
    assert ours >= 0.95


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("loss", REGRESSION_OUTPUTS)
def test_every_loss_learns_with_the_automatic_step(optimizer, loss):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 5))
    signal = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    if loss == "poisson":
        y = rng.poisson(np.exp(1 + signal)).astype(float)
    else:
        y = 50 + 20 * signal + rng.normal(size=600)  # raw, far from 0
    reg = MLPGDRegressor((32,), loss=loss, epsilon=5.0, optimizer=optimizer)
    reg.set_params(max_iter=300, random_state=0)
    r2 = _test_r2(reg, (X[:450], X[450:], y[:450], y[450:]))
    # Adam reaches 0.91 (squared error), 0.92 (Huber) and 0.70 (Poisson);
    # plain SGD stops on a plateau, at 0.68, 0.54 and 0.66.
    assert r2 >= 0.5
    assert np.isfinite(reg.loss_curve_).all()


# -- the starting network and the automatic step size ----------------------------


def _initial_network(units, offset, seed=0):
    """The starting weights for ``random_state=seed``, drawn independently."""
    layout = _Layout(units)
    params = np.empty(layout.size)
    rng = np.random.RandomState(seed)
    for W, b in zip(*layout.views(params), strict=True):
        bound = np.sqrt(6 / sum(W.shape))
        W[...] = rng.uniform(-bound, bound, W.shape)
        b[...] = rng.uniform(-bound, bound, b.shape)
    layout.views(params)[1][-1] += offset
    return params


def test_output_biases_start_at_the_weighted_mean_target():
    # The squared error trains on (y - mean) / scale, whose mean is 0: the
    # output layer starts at its Glorot draw there, which in y's units is
    # that draw times the scale, shifted by each target's weighted mean.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([300 + rng.normal(size=50), rng.poisson(4, size=50)])
    weight = rng.uniform(0, 2, size=50)
    X = standardise(X, weight)
    settings = dict(optimizer="sgd", learning_rate=1e-300, max_iter=1, tol=None)
    reg = MLPGDRegressor((6,), **settings, random_state=0)
    reg.fit(X, Y, sample_weight=weight)
    mean = np.average(Y, axis=0, weights=weight)
    scale = np.sqrt(np.mean(np.average((Y - mean) ** 2, axis=0, weights=weight)))
    coefs, intercepts = _Layout([3, 6, 2]).views(_initial_network([3, 6, 2], 0.0))
    np.testing.assert_allclose(reg.coefs_[0], coefs[0], rtol=1e-12)
    np.testing.assert_allclose(reg.coefs_[1], coefs[1] * scale, rtol=1e-12)
    np.testing.assert_allclose(
        reg.intercepts_[1], intercepts[1] * scale + mean, rtol=1e-12
    )
    poisson = MLPGDRegressor((6,), loss="poisson", **settings, random_state=0)
    poisson.fit(X, Y[:, 1])
    start = _initial_network([3, 6, 1], np.log(Y[:, 1].mean()))
    np.testing.assert_allclose(poisson.intercepts_[-1], start[-1:], rtol=1e-12)


def _hessian_top(params, units, loss, X, Y, alpha):
    """Largest |eigenvalue| of the Hessian of the objective on (X, Y)."""
    output = get_regression_output(loss, 0.1)
    model = _MLPModel(params.copy(), units, "relu", output, alpha)

    def grad(p):
        model.params[...] = p
        model.loss_grad(X, Y, None, 1.0 / X.shape[0])
        return model.grad.copy()

    columns = [
        (grad(params + 1e-6 * e) - grad(params - 1e-6 * e)) / 2e-6
        for e in np.eye(len(params))
    ]
    H = np.array(columns)
    return float(np.abs(np.linalg.eigvalsh((H + H.T) / 2)).max())


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_sgd_auto_rate_is_one_over_the_curvature(loss):
    rng = np.random.RandomState(0)
    X = standardise(rng.normal(size=(40, 3)))
    Y = _targets(loss, 40, 2, rng)
    if loss != "poisson":
        # Targets of any units: the curvature is that of the standardised
        # targets (each column with its mean 0 and spread 1 here).
        Y = standardise(Y)
    settings = dict(alpha=0.01, batch_size=None, max_iter=1, tol=None)
    reg = MLPGDRegressor((5,), loss=loss, optimizer="sgd", random_state=0)
    reg.set_params(**settings).fit(X, Y * 7.0 + 40.0 if loss != "poisson" else Y)
    offset = np.log(Y.mean(axis=0)) if loss == "poisson" else 0.0
    params = _initial_network([3, 5, 2], offset)
    top = _hessian_top(params, [3, 5, 2], loss, X, Y, 0.01)
    # Lanczos iteration approaches the top eigenvalue from below.
    assert 1.0 - 1e-6 <= reg.learning_rate_ * top <= 1.02


# -- shapes, targets and errors -----------------------------------------------------


def _problem(n_samples=120, n_targets=None, seed=0):
    X, y = make_regression(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_targets=n_targets or 1,
        noise=1.0,
        random_state=seed,
    )
    return X, y + 100.0


def test_single_target_predictions_are_1d():
    X, y = _problem()
    reg = MLPGDRegressor((8,), max_iter=5, tol=None, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (120,)
    assert reg.n_outputs_ == 1 and reg.n_layers_ == 3
    assert reg.out_activation_ == "identity"
    assert [W.shape for W in reg.coefs_] == [(N_FEATURES, 8), (8, 1)]
    assert [b.shape for b in reg.intercepts_] == [(8,), (1,)]
    assert len(reg.loss_curve_) == reg.n_iter_ == 5
    assert reg.loss_ == reg.loss_curve_[-1] and reg.best_loss_ == min(reg.loss_curve_)
    assert reg.validation_scores_ is None and reg.best_validation_score_ is None
    # A column vector is taken as one target, as scikit-learn does.
    with pytest.warns(DataConversionWarning):
        column = MLPGDRegressor((8,), max_iter=5, tol=None, random_state=0)
        column.fit(X, y[:, None])
    np.testing.assert_array_equal(column.predict(X), reg.predict(X))


def test_multi_output_targets():
    X, Y = _problem(n_samples=300, n_targets=3)
    reg = MLPGDRegressor((32,), learning_rate=0.01, max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.coefs_[-1].shape == (32, 3)
    pred = reg.predict(X)
    assert pred.shape == (300, 3)
    assert r2_score(Y, pred, multioutput="raw_values").min() >= 0.98
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, pred))
    # Each target's loss is summed, in the units of y (a network that does
    # not move: the objective of its predictions, up to the tiny penalty).
    still = MLPGDRegressor(max_iter=1, tol=None, learning_rate=1e-300, random_state=0)
    for targets in (Y[:, 0], np.column_stack([Y[:, 0], 10 * Y[:, 1]])):
        still.fit(X, targets)
        residual = (still.predict(X) - targets).reshape(len(X), -1)
        objective = 0.5 * np.mean(np.sum(residual**2, axis=1))
        assert still.loss_ == pytest.approx(objective, rel=1e-4)


def test_poisson_predictions_are_positive_and_the_output_exponential():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = rng.poisson(np.exp(1 + 0.5 * X[:, 0]))
    reg = MLPGDRegressor((8,), loss="poisson", max_iter=50, tol=None, random_state=0)
    reg.fit(X, y)
    assert reg.out_activation_ == "exp"
    z = np.maximum(X @ reg.coefs_[0] + reg.intercepts_[0], 0)
    z = z @ reg.coefs_[1] + reg.intercepts_[1]
    np.testing.assert_allclose(reg.predict(X), np.exp(z[:, 0]), rtol=1e-12)
    assert reg.predict(X).min() > 0
    assert reg.score(X, y) > 0.2


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_targets_are_rejected(bad):
    X, y = _problem()
    y[3] = bad
    with pytest.raises(ValueError, match="Input y contains (NaN|infinity)"):
        MLPGDRegressor().fit(X, y)


def test_poisson_needs_non_negative_targets_with_a_positive_mean():
    X, y = _problem()
    y = np.abs(y - 100)
    with pytest.raises(ValueError, match="non-negative targets.*down to -1"):
        MLPGDRegressor(loss="poisson").fit(X, np.r_[-1.0, y[1:]])
    with pytest.raises(ValueError, match="positive \\(weighted\\) mean"):
        MLPGDRegressor(loss="poisson").fit(X, np.zeros_like(y))
    weight = (y == y.min()).astype(float)
    with pytest.raises(ValueError, match="positive \\(weighted\\) mean"):
        MLPGDRegressor(loss="poisson").fit(X, np.where(weight, 0, y), weight)
    reg = MLPGDRegressor((4,), loss="poisson").partial_fit(X, y)
    with pytest.raises(ValueError, match="non-negative targets"):
        reg.partial_fit(X, -y)
    reg.partial_fit(X, np.zeros_like(y))  # a chunk of zeros is fine


def test_targets_too_large_for_the_curvature_are_named():
    X, y = _problem()
    # The standardised losses: too large for the targets' mean and spread.
    with pytest.raises(ValueError, match=r"y has values of magnitude .*e\+202 and"):
        MLPGDRegressor((4,), optimizer="sgd").fit(X, y * 1e200)
    with pytest.raises(ValueError, match=r"y of magnitude .*e\+202, too extreme"):
        MLPGDRegressor((4,), loss="poisson").fit(X, np.abs(y) * 1e200)


def test_partial_fit_checks_the_number_of_targets():
    X, Y = _problem(n_targets=2)
    reg = MLPGDRegressor((4,)).partial_fit(X, Y)
    with pytest.raises(ValueError, match="y has 1 target\\(s\\).*fitted with 2"):
        reg.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="y has 3 target\\(s\\).*fitted with 2"):
        reg.partial_fit(X, np.column_stack([Y, Y[:, 0]]))
    assert reg.n_iter_ == 1  # the failed calls changed nothing
    reg.set_params(warm_start=True, max_iter=2)
    with pytest.raises(ValueError, match="fit it without warm_start"):
        reg.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="fit it without warm_start"):
        reg.set_params(hidden_layer_sizes=(5,)).fit(X, Y)


def test_invalid_parameters_are_rejected():
    X, y = _problem()
    with pytest.raises(ValueError, match="loss"):
        MLPGDRegressor(loss="absolute_error").fit(X, y)
    with pytest.raises(ValueError, match="epsilon"):
        MLPGDRegressor(loss="huber", epsilon=0).fit(X, y)
    for sizes in ([4, 0], (2.5,)):
        with pytest.raises(ValueError, match="hidden_layer_sizes"):
            MLPGDRegressor(sizes).fit(X, y)


def test_changing_the_output_function_refits_or_refuses():
    X, y = _problem()
    y = np.abs(y - 100)
    reg = MLPGDRegressor((4,), max_iter=3, tol=None, random_state=0).fit(X, y)
    reg.set_params(loss="poisson", warm_start=True).fit(X, y)  # starts afresh
    fresh = MLPGDRegressor((4,), loss="poisson", max_iter=3, tol=None)
    fresh.set_params(random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.coefs_[0], fresh.coefs_[0])
    with pytest.raises(ValueError, match="partial_fit cannot continue"):
        reg.set_params(loss="squared_error").partial_fit(X, y)


# -- data types and sample weights --------------------------------------------------


def test_float32_is_trained_in_float32():
    X, y = _problem()
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, tol=None, random_state=0)
    reg = MLPGDRegressor(**settings).fit(X.astype(np.float32), y.astype(np.float32))
    assert all(W.dtype == np.float32 for W in reg.coefs_ + reg.intercepts_)
    assert reg.predict(X.astype(np.float32)).dtype == np.float32
    assert reg._state.optimizer_state.slots[0]["m"].dtype == np.float32
    reg64 = MLPGDRegressor(**settings).fit(X, y)
    assert reg64.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(reg.coefs_[0], reg64.coefs_[0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        reg.predict(X.astype(np.float32)), reg64.predict(X), rtol=1e-4
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", REGRESSION_OUTPUTS)
def test_sparse_input_matches_dense(dtype, loss):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 30)) * (rng.uniform(size=(90, 30)) < 0.2)
    X = centred_sparse(X).astype(dtype)
    y = rng.poisson(3, size=180).astype(dtype)
    settings = dict(hidden_layer_sizes=(10,), batch_size=16, max_iter=5, tol=None)
    dense = MLPGDRegressor(**settings, loss=loss, random_state=0).fit(X, y)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for matrix in (sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X)):
        sparse = MLPGDRegressor(**settings, loss=loss, random_state=0).fit(matrix, y)
        # Dense rows are centred on means that are 0 up to rounding.
        atol = rtol * np.abs(dense.coefs_[0]).max()
        np.testing.assert_allclose(
            sparse.coefs_[0], dense.coefs_[0], rtol=rtol, atol=atol
        )
        np.testing.assert_allclose(sparse.predict(matrix), dense.predict(X), rtol=rtol)


@pytest.mark.parametrize("loss", REGRESSION_OUTPUTS)
def test_integer_sample_weights_repeat_rows(loss):
    X, y = _problem(n_samples=30)
    y = np.abs(y - 100)
    weight = np.arange(30) % 3  # 0 removes a row, 2 repeats it
    repeated = np.repeat(np.arange(30), weight)
    settings = dict(hidden_layer_sizes=(6,), batch_size=None, max_iter=20)
    settings |= dict(loss=loss, optimizer="sgd", tol=None, random_state=0)
    weighted = MLPGDRegressor(**settings).fit(X, y, sample_weight=weight)
    copies = MLPGDRegressor(**settings).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.predict(X), copies.predict(X), rtol=1e-9)
    np.testing.assert_allclose(weighted.loss_curve_, copies.loss_curve_, rtol=1e-9)


# -- continuing training -------------------------------------------------------------


def test_warm_start_keeps_the_adam_moments():
    X, y = _problem()
    settings = dict(hidden_layer_sizes=(8, 6), shuffle=False, tol=None, random_state=0)
    once = MLPGDRegressor(**settings, max_iter=10).fit(X, y)
    twice = MLPGDRegressor(**settings, max_iter=5, warm_start=True).fit(X, y).fit(X, y)
    once_params = once.coefs_ + once.intercepts_
    for a, b in zip(once_params, twice.coefs_ + twice.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert twice.n_iter_ == 5 and twice.t_ == once.t_


def test_partial_fit_streams_chunks_like_fit():
    X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    settings = dict(hidden_layer_sizes=(32,), learning_rate=0.01, random_state=0)
    settings["batch_size"] = 125  # three batches per chunk
    batch = MLPGDRegressor(**settings, max_iter=40, tol=None).fit(X_train, y_train)
    stream = MLPGDRegressor(**settings)
    chunks = np.array_split(np.arange(len(X_train)), 4)
    for _ in range(40):
        for chunk in chunks:
            stream.partial_fit(X_train[chunk], y_train[chunk])
    assert stream.n_iter_ == 160 and stream.t_ == 40 * 4 * 3
    assert batch.t_ == 40 * 12
    assert abs(stream.score(X_test, y_test) - batch.score(X_test, y_test)) <= 0.02
    assert stream.score(X_test, y_test) >= 0.8
    with pytest.raises(ValueError, match="early_stopping should be False"):
        MLPGDRegressor(early_stopping=True).partial_fit(X_train, y_train)


def test_early_stopping_scores_r2_and_restores_the_best_weights():
    X, y = make_regression(
        n_samples=300, n_features=30, n_informative=5, noise=30.0, random_state=0
    )
    reg = RecordingRegressor(
        (64,),
        learning_rate=0.03,
        early_stopping=True,
        validation_fraction=0.3,
        max_iter=300,
        random_state=0,
    ).fit(X, y)
    scores = reg.validation_scores_
    assert len(scores) == reg.n_iter_ < 300
    assert reg.best_validation_score_ == max(scores)
    assert scores.index(max(scores)) < len(scores) - 1  # the last was not kept
    X_val, Y_val, _ = reg.validation_data_
    assert len(X_val) == 90 and Y_val.shape == (90, 1)
    assert reg.score(X_val, Y_val[:, 0]) == pytest.approx(reg.best_validation_score_)


# -- scikit-learn integration ----------------------------------------------------------


def test_pickle_clone_and_grid_search_over_nested_optimizer_settings():
    X, y = _problem(n_samples=160)
    pipe = make_pipeline(StandardScaler(), MLPGDRegressor(max_iter=5, random_state=0))
    grid = GridSearchCV(
        pipe,
        {
            "mlpgdregressor__hidden_layer_sizes": [(4,), (6, 3)],
            "mlpgdregressor__optimizer__beta_1": [0.8, 0.9],
            "mlpgdregressor__loss": ["squared_error", "huber"],
        },
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_estimator_[-1]
    assert (
        best.optimizer_.beta_1 == grid.best_params_["mlpgdregressor__optimizer__beta_1"]
    )
    restored = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), grid.predict(X))
    fresh = clone(best)
    assert not hasattr(fresh, "coefs_")
    assert fresh.get_params()["optimizer__beta_1"] == best.optimizer.beta_1


def test_scoring_monitor_scores_against_the_targets():
    callback = pytest.importorskip("sklearn.callback")
    X, y = _problem(n_samples=60)
    monitor = callback.ScoringMonitor(scoring="r2")
    reg = MLPGDRegressor((5,), max_iter=3, tol=None).set_callbacks(monitor)
    reg.fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(rows) == reg.n_iter_ == 3
    assert rows[-1]["r2"] == pytest.approx(reg.score(X, y))


def test_adagrad_first_steps_do_not_throw_raw_data_off():
    # AdaGrad's first step moves every weight by the learning rate at once;
    # on raw, uncentred inputs its rate made for a weight's size used to make
    # one epoch diverge for 15 % of the seeds (29 of 200).
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=50, random_state=1)
    for seed in range(40):
        reg = MLPGDRegressor(optimizer="adagrad", random_state=seed).partial_fit(X, y)
        assert np.isfinite(reg.loss_curve_[-1])
    assert reg.learning_rate_ < 0.5 * 0.15  # capped below default * scale


# -- raw features ------------------------------------------------------------------


def test_raw_columns_train_as_in_a_scaler_pipeline():
    # Friedman's columns times 1e-2 ... 1e3: the automatic rate collapsed to
    # 1.6e-6 (R² -51.75) where the StandardScaler pipeline scores 0.997.
    X, y = make_friedman1(2000, random_state=0)
    X = X * np.logspace(-2, 3, X.shape[1])
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    settings = dict(max_iter=60, random_state=0)
    raw = MLPGDRegressor(**settings).fit(X_train, y_train)
    pipeline = make_pipeline(StandardScaler(), MLPGDRegressor(**settings))
    pipeline.fit(X_train, y_train)
    assert raw.learning_rate_ == pytest.approx(pipeline[-1].learning_rate_, rel=1e-9)
    np.testing.assert_allclose(
        raw.predict(X_test), pipeline.predict(X_test), rtol=1e-7, atol=1e-7
    )
    assert raw.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_units_of_y_change_only_the_units_of_the_results(loss, optimizer):
    # With y in millionths, Adam's epsilon (1e-8) swamped the gradients and
    # the network did not learn (Friedman's data: R² -0.08, against 0.978).
    X, y = make_friedman1(500, random_state=0)
    settings = dict(loss=loss, optimizer=optimizer, max_iter=30, random_state=0)
    base = MLPGDRegressor(**settings, epsilon=1.0).fit(X, y)
    # The same targets, shifted by 3 and multiplied by a factor.
    assert base.score(X, y) > 0.8
    for factor in (1e-150, 1e-6, 1e6, 1e150):
        scaled = MLPGDRegressor(**settings, epsilon=factor)
        scaled.fit(X, (y + 3.0) * factor)
        assert scaled.n_iter_ == base.n_iter_
        assert scaled.learning_rate_ == pytest.approx(base.learning_rate_, rel=1e-9)
        np.testing.assert_allclose(
            scaled.predict(X) / factor - 3.0, base.predict(X), rtol=1e-6, atol=1e-8
        )
        np.testing.assert_allclose(
            np.array(scaled.loss_curve_) / factor**2, base.loss_curve_, rtol=1e-6
        )
