"""Tests of MLPGDClassifier's automatic learning rate, from the curvature."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _scaling import standardise
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skgd import MLPGDClassifier
from skgd.losses._cross_entropy import OUTPUTS
from skgd.network import _curvature as _network_curvature
from skgd.network._model import _Layout, _MLPModel


def _glorot(layer_units, activation, seed):
    """The initial network of ``random_state=seed``, drawn independently."""
    layout = _Layout(layer_units)
    params = np.empty(layout.size)
    rng = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    for W, b in zip(*layout.views(params), strict=True):
        bound = np.sqrt(factor / sum(W.shape))
        W[...] = rng.uniform(-bound, bound, W.shape)
        b[...] = rng.uniform(-bound, bound, b.shape)
    return params


def _hessian_top(params, layer_units, activation, output, alpha, X, Y):
    """Largest |eigenvalue| of the Hessian of the objective of the batch (X, Y)."""
    model = _MLPModel(params.copy(), layer_units, activation, OUTPUTS[output], alpha)

    def grad(p):
        model.params[...] = p
        model.loss_grad(X, Y, None, 1.0 / X.shape[0])
        return model.grad.copy()

    eps = 1e-6
    columns = [
        (grad(params + eps * e) - grad(params - eps * e)) / (2 * eps)
        for e in np.eye(len(params))
    ]
    H = np.array(columns)
    return float(np.abs(np.linalg.eigvalsh((H + H.T) / 2)).max())


def _problem(kind, n_samples=40):
    rng = np.random.RandomState(0)
    X = standardise(rng.randn(n_samples, 4))
    if kind == "multilabel":
        y = (X[:, :3] + 0.5 * rng.randn(n_samples, 3) > 0).astype(int)
        return X, y, y.astype(float), "logistic"
    n_classes = 2 if kind == "binary" else 3
    y = np.argmax(X[:, :n_classes] + 0.5 * rng.randn(n_samples, n_classes), axis=1)
    Y = np.eye(n_classes)[y]
    if kind == "binary":
        return X, y, Y[:, 1:], "logistic"
    return X, y, Y, "softmax"


@pytest.mark.parametrize(
    "kind, activation, n_hidden, n_samples",
    [
        ("binary", "relu", 5, 40),
        ("multiclass", "tanh", 5, 40),
        ("multilabel", "logistic", 5, 40),
        # A wider ReLU network on more rows: more units near their kink.
        ("multiclass", "relu", 40, 200),
    ],
)
def test_sgd_auto_rate_is_one_over_the_curvature(kind, activation, n_hidden, n_samples):
    X, y, Y, output = _problem(kind, n_samples)
    settings = dict(activation=activation, alpha=0.01, batch_size=None)
    settings |= dict(max_iter=1, tol=None, random_state=0)
    clf = MLPGDClassifier((n_hidden,), optimizer="sgd", **settings).fit(X, y)
    units = [4, n_hidden, Y.shape[1]]
    params = _glorot(units, activation, 0)
    top = _hessian_top(params, units, activation, output, 0.01, X, Y)
    # Lanczos iteration approaches the top eigenvalue from below (the
    # finite-difference Hessian is off by up to 2e-5 where a ReLU unit of a
    # row sits within its step of the kink).
    assert 1.0 - 1e-4 <= clf.learning_rate_ * top <= 1.02
    # Momentum SGD takes (1 - momentum) / L: the same effective step.
    momentum = MLPGDClassifier((n_hidden,), optimizer="momentum", **settings)
    momentum.fit(X, y)
    assert momentum.learning_rate_ == pytest.approx(0.1 * clf.learning_rate_)


def test_sgd_auto_rate_ignores_zero_weight_rows():
    X, y, Y, output = _problem("multiclass", n_samples=30)
    rng = np.random.RandomState(1)
    X_out = np.vstack([X, 100 * rng.randn(10, 4)])
    y_out = np.concatenate([y, rng.randint(3, size=10)])
    weight = np.r_[np.full(30, 2.0), np.zeros(10)]
    settings = dict(optimizer="sgd", batch_size=None, max_iter=1, tol=None)
    clf = MLPGDClassifier((5,), random_state=0, **settings)
    clf.fit(X_out, y_out, sample_weight=weight)
    top = _hessian_top(
        _glorot([4, 5, 3], "relu", 0), [4, 5, 3], "relu", output, 0.0, X, Y
    )
    # The L2 penalty is alpha / (batch size * mean weight) of the 30 rows.
    assert clf.learning_rate_ * (top + 1e-4 / 60) == pytest.approx(1.0, abs=0.02)


def test_batch_size_one_takes_the_largest_sample_curvature():
    X, y, Y, output = _problem("multiclass", n_samples=12)
    units = [4, 5, 3]
    params = _glorot(units, "relu", 0)
    tops = [
        _hessian_top(params, units, "relu", output, 0.0, X[i : i + 1], Y[i : i + 1])
        for i in range(12)
    ]
    settings = dict(optimizer="sgd", max_iter=1, tol=None, random_state=0)
    single = MLPGDClassifier((5,), batch_size=1, alpha=0.01, **settings).fit(X, y)
    assert single.learning_rate_ * (max(tops) + 0.01) == pytest.approx(1, abs=0.02)
    rates = [
        MLPGDClassifier((5,), batch_size=b, alpha=0.01, **settings)
        .fit(X, y)
        .learning_rate_
        for b in (4, 12)
    ]
    assert single.learning_rate_ < rates[0] < rates[1]


def test_sgd_defaults_learn_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    clf = MLPGDClassifier(optimizer="sgd", max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    # A learning rate of 0.001 (MLPClassifier's) reaches 0.11 in 10 epochs.
    assert clf.score(X_test, y_test) >= 0.95


def test_continued_fit_measures_the_curvature_at_the_current_weights():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    settings = dict(optimizer="sgd", batch_size=None, tol=None, random_state=0)
    clf = MLPGDClassifier((5,), learning_rate=0.5, max_iter=20, warm_start=True)
    clf.set_params(**settings).fit(X, y)
    params = np.concatenate([W.ravel() for W in clf.coefs_] + clf.intercepts_)
    top = _hessian_top(params, [4, 5, 1], "relu", "logistic", 1e-4, X, y[:, None] * 1.0)
    clf.set_params(learning_rate="auto", max_iter=1).fit(X, y)
    assert clf.learning_rate_ * top == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_hessian_product_is_exact(activation, kind):
    from skgd.network._curvature import _hessian_product

    X, _, Y, output = _problem(kind, n_samples=15)
    units = [4, 3, 2, Y.shape[1]]
    params = _glorot(units, activation, 0)
    model = _MLPModel(params.copy(), units, activation, OUTPUTS[output], 0.0)
    weight = np.linspace(0.5, 2, 15) / 15
    views = _Layout(units).views
    H = np.array(
        [
            _hessian_product(model, views, sp.csr_matrix(X), Y, weight, e)
            for e in np.eye(len(params))
        ]
    )

    def grad(p):
        model.params[...] = p
        model.loss_grad(X, Y, weight * 15, 1 / 15)
        return model.grad.copy()

    eps = 1e-6
    for j, e in enumerate(np.eye(len(params))):
        column = (grad(params + eps * e) - grad(params - eps * e)) / (2 * eps)
        np.testing.assert_allclose(H[:, j], column, atol=1e-7)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def _wide_sparse(n_rows, n_columns, per_row, seed):
    """Rows of ``per_row`` ones at random columns of a very wide CSR matrix."""
    rng = np.random.RandomState(seed)
    columns = [
        np.sort(rng.choice(n_columns, per_row, replace=False)) for _ in range(n_rows)
    ]
    indptr = np.arange(0, n_rows * per_row + 1, per_row)
    data = (np.ones(n_rows * per_row), np.concatenate(columns), indptr)
    return sp.csr_matrix(data, shape=(n_rows, n_columns))


def test_lanczos_works_on_the_weights_the_rows_reach(monkeypatch):
    # The loss of a few sparse rows depends on the first-layer weights of
    # their nonzero columns only: the Hessian-vector products, and the
    # vectors Lanczos iteration keeps, must be that size, not the network's.
    X = _wide_sparse(n_rows=30, n_columns=50_000, per_row=3, seed=0)
    y = np.arange(30) % 3
    calls = []
    product = _network_curvature._hessian_product

    def recorded(model, views, X, Y, weight, v):
        # The used weights, the later layers' and one entry for all the rest.
        bound = np.unique(X.indices).size * 5 + (5 * 3 + 5 + 3) + 1
        calls.append((X.shape[0], v.size, bound))
        return product(model, views, X, Y, weight, v)

    monkeypatch.setattr(_network_curvature, "_hessian_product", recorded)
    settings = dict(optimizer="sgd", max_iter=1, tol=None, random_state=0)
    clf = MLPGDClassifier((5,), batch_size=4, **settings).fit(X, y)
    assert 0 < clf.learning_rate_ < np.inf
    # All the rows, then each of the rows of largest curvature on its own.
    assert {n_rows for n_rows, _, _ in calls} == {1, 30}
    assert all(size <= bound for _, size, bound in calls), max(calls)


@pytest.mark.parametrize("batch_size", [1, 40])
@pytest.mark.parametrize("sparse", [False, True])
def test_lanczos_on_the_used_weights_matches_all_the_weights(sparse, batch_size):
    # Inputs with columns that are zero in every row, or in a single row.
    rng = np.random.RandomState(0)
    X = rng.randn(40, 12) * (rng.rand(40, 12) < 0.3)
    X[:, [2, 7]] = 0.0
    X = sp.csr_matrix(X) if sparse else X
    Y = np.eye(3)[rng.randint(3, size=40)]
    units = [12, 6, 3]
    model = _MLPModel(_glorot(units, "tanh", 0), units, "tanh", OUTPUTS["softmax"], 0)
    views = _Layout(units).views

    def everything(model, X, start):
        network = _network_curvature._Network(
            model.activation, model.output, model.coefs, model.intercepts
        )
        parts = [*start.coefs, *start.intercepts]
        return network, X, np.concatenate([part.ravel() for part in parts])

    args = (model, views, X, Y, np.linspace(0.5, 1.5, 40), batch_size, 40)
    restricted = _network_curvature.mini_batch_lipschitz(*args)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_network_curvature, "_restrict", everything)
        full = _network_curvature.mini_batch_lipschitz(*args)
    assert restricted == pytest.approx(full, rel=1e-10)


def test_auto_rate_on_very_wide_sparse_input_finishes():
    # 20 million weights, almost all of them on columns no row uses. The
    # timeout only guards against a hang (it is not a speed limit).
    script = textwrap.dedent(
        """
        import warnings
        import numpy as np
        import scipy.sparse as sp
        from skgd import MLPGDClassifier

        rng = np.random.RandomState(0)
        n_rows, n_columns = 50, 2_000_000
        columns = rng.randint(n_columns, size=n_rows)
        data = (np.ones(n_rows), columns, np.arange(n_rows + 1))
        X = sp.csr_matrix(data, shape=(n_rows, n_columns))
        clf = MLPGDClassifier((10,), batch_size=10, max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, np.arange(n_rows) % 2)
        print(clf.learning_rate_)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert 0 < float(run.stdout) < np.inf
