"""Tests of MLPGDClassifier: back-propagation, training and the estimator API."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from _recorders import RecordingClassifier
from _scaling import centred_sparse, standardise
from scipy.special import expit, logsumexp
from sklearn.datasets import (
    load_digits,
    load_wine,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from skgd import MLPGDClassifier
from skgd.losses._cross_entropy import OUTPUTS
from skgd.network._activations import ACTIVATIONS
from skgd.network._model import _Layout, _MLPModel

N_FEATURES = 5


def _targets(kind, n_samples, rng):
    """Indicator targets, and the output unit, of each kind of problem."""
    if kind == "binary":
        return rng.randint(2, size=(n_samples, 1)).astype(float), "logistic"
    if kind == "multiclass":
        return np.eye(3)[rng.randint(3, size=n_samples)], "softmax"
    return rng.randint(2, size=(n_samples, 3)).astype(float), "logistic"


def _tiny_model(kind, activation, alpha, rng):
    Y, output = _targets(kind, 7, rng)
    units = [N_FEATURES, 4, 3, Y.shape[1]]
    params = rng.uniform(-1, 1, _Layout(units).size)
    model = _MLPModel(params, units, activation, OUTPUTS[output], alpha)
    return model, Y, output


_ACTIVATION_FUNCTIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


def _reference_objective(model, X, Y, output, sample_weight, scale):
    """The objective, computed independently of the model's code."""
    z = X
    for i, (W, b) in enumerate(zip(model.coefs, model.intercepts, strict=True)):
        if i > 0:
            z = _ACTIVATION_FUNCTIONS[model.activation](z)
        z = z @ W + b
    if output == "softmax":
        losses = logsumexp(z, axis=1) - (Y * z).sum(axis=1)
    else:
        losses = (np.logaddexp(0, z) - Y * z).sum(axis=1)
    weight = np.ones(len(X)) if sample_weight is None else sample_weight
    penalty = sum((W**2).sum() for W in model.coefs)
    return scale * (weight @ losses) + 0.5 * model.alpha * scale * penalty


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(kind, activation, alpha, weighted):
    rng = np.random.RandomState(0)
    model, Y, output = _tiny_model(kind, activation, alpha, rng)
    X = rng.normal(size=(7, N_FEATURES))
    sample_weight = rng.uniform(0.1, 3, size=7) if weighted else None
    scale = 1 / 7 if sample_weight is None else 1 / sample_weight.sum()

    loss = model.loss_grad(X, Y, sample_weight, scale)
    grad = model.grad.copy()
    assert loss == pytest.approx(
        _reference_objective(model, X, Y, output, sample_weight, scale), rel=1e-12
    )
    numeric = np.empty_like(grad)
    eps = 1e-6
    for j in range(model.params.size):
        saved = model.params[j]
        model.params[j] = saved + eps
        upper = model.loss_grad(X, Y, sample_weight, scale)
        model.params[j] = saved - eps
        lower = model.loss_grad(X, Y, sample_weight, scale)
        model.params[j] = saved
        numeric[j] = (upper - lower) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_sparse_batch_gives_the_dense_gradient():
    rng = np.random.RandomState(1)
    model, Y, _ = _tiny_model("multiclass", "relu", 0.1, rng)
    X = rng.normal(size=(7, N_FEATURES)) * (rng.uniform(size=(7, N_FEATURES)) < 0.4)
    dense_loss = model.loss_grad(X, Y, None, 1 / 7)
    dense_grad = model.grad.copy()
    sparse_loss = model.loss_grad(sp.csr_matrix(X), Y, None, 1 / 7)
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-12)
    np.testing.assert_allclose(model.grad, dense_grad, rtol=1e-12, atol=1e-15)


def test_smaller_last_batch_uses_the_first_rows_of_the_buffers():
    rng = np.random.RandomState(2)
    model, Y, _ = _tiny_model("multiclass", "tanh", 0.0, rng)
    X = rng.normal(size=(7, N_FEATURES))
    model.loss_grad(X, Y, None, 1 / 7)  # allocates buffers for 7 rows
    loss = model.loss_grad(X[:3], Y[:3], None, 1 / 3)
    grad = model.grad.copy()
    fresh = _MLPModel(model.params.copy(), model.layer_units, "tanh", model.output, 0.0)
    assert loss == fresh.loss_grad(X[:3], Y[:3], None, 1 / 3)
    np.testing.assert_array_equal(grad, fresh.grad)


def _two_layer_sgd(X, Y, W1, b1, W2, b2, learning_rate, n_steps):
    """Full-batch gradient descent on a tanh network with a softmax output."""
    m = X.shape[0]
    for _ in range(n_steps):
        z1 = X @ W1 + b1
        A1 = np.tanh(z1)
        z2 = A1 @ W2 + b2
        A2 = np.exp(z2 - z2.max(axis=1, keepdims=True))
        A2 /= A2.sum(axis=1, keepdims=True)
        dz2 = (A2 - Y) / m
        dW2, db2 = A1.T @ dz2, dz2.sum(axis=0)
        dz1 = (dz2 @ W2.T) * (1 - A1**2)
        dW1, db1 = X.T @ dz1, dz1.sum(axis=0)
        W1, b1 = W1 - learning_rate * dW1, b1 - learning_rate * db1
        W2, b2 = W2 - learning_rate * dW2, b2 - learning_rate * db2
    return W1, b1, W2, b2


def test_full_batch_sgd_matches_the_two_layer_equations():
    rng = np.random.RandomState(0)
    X = standardise(rng.normal(size=(12, 4)))
    y = np.arange(12) % 3
    W1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)
    clf = MLPGDClassifier(
        (5,),
        activation="tanh",
        optimizer="sgd",
        learning_rate=0.3,
        batch_size=None,
        alpha=0.0,
        tol=None,
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    clf.coefs_, clf.intercepts_ = [W1, W2], [b1, b2]
    clf.set_params(warm_start=True, max_iter=7).fit(X, y)

    expected = _two_layer_sgd(X, np.eye(3)[y], W1, b1, W2, b2, 0.3, 7)
    found = [clf.coefs_[0], clf.intercepts_[0], clf.coefs_[1], clf.intercepts_[1]]
    for actual, wanted in zip(found, expected, strict=True):
        np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-14)
    assert clf.n_iter_ == 7  # the epochs of the last call


@pytest.mark.skipif(
    parse_version(sklearn.__version__) < parse_version("1.7"),
    reason="MLPClassifier accepts sample_weight from scikit-learn 1.7",
)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_full_batch_sgd_follows_mlpclassifier_step_for_step(kind, activation):
    """Same initial weights, penalty and sample weights as MLPClassifier."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6))
    Y, _ = _targets(kind, 40, rng)
    y = Y.ravel().astype(int) if kind == "binary" else Y
    if kind == "multiclass":
        y = Y.argmax(axis=1)
    sample_weight = rng.uniform(0.5, 2, size=40)
    X = standardise(X, sample_weight)
    settings = dict(hidden_layer_sizes=(8, 4), alpha=0.05, batch_size=40, max_iter=6)
    settings["activation"] = activation
    ours = MLPGDClassifier(
        **settings, optimizer="sgd", learning_rate=0.2, tol=None, random_state=3
    ).fit(X, y, sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(
            **settings,
            solver="sgd",
            momentum=0.0,
            learning_rate_init=0.2,
            shuffle=False,
            n_iter_no_change=100,
            random_state=3,
        ).fit(X, y, sample_weight=sample_weight)
    assert ours.out_activation_ == theirs.out_activation_
    ours_params = ours.coefs_ + ours.intercepts_
    for a, b in zip(ours_params, theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9
    )


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, stratify=y, random_state=0)


def test_defaults_learn_digits(digits):
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPGDClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.97
    assert [W.shape for W in clf.coefs_] == [(64, 100), (100, 10)]
    assert clf.n_layers_ == 3 and clf.n_outputs_ == 10
    assert clf.out_activation_ == "softmax"
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)


def test_partial_fit_streams_chunks_like_fit(digits):
    X_train, X_test, y_train, y_test = digits
    settings = dict(hidden_layer_sizes=(50,), learning_rate=0.003, random_state=0)
    settings.update(batch_size=150)  # three batches per chunk
    batch = MLPGDClassifier(**settings, max_iter=20, tol=None).fit(X_train, y_train)
    stream = MLPGDClassifier(**settings)
    chunks = np.array_split(np.arange(len(X_train)), 4)
    for _ in range(20):
        for chunk in chunks:
            stream.partial_fit(X_train[chunk], y_train[chunk], classes=np.arange(10))
    assert stream.n_iter_ == 80
    assert stream.t_ == 20 * sum(-(-len(chunk) // 150) for chunk in chunks)
    assert abs(stream.score(X_test, y_test) - batch.score(X_test, y_test)) <= 0.02
    assert stream.score(X_test, y_test) >= 0.95


def test_partial_fit_checks_the_classes():
    X, y = make_classification(
        n_samples=60, n_classes=3, n_informative=4, random_state=0
    )
    clf = MLPGDClassifier((5,))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.predict_proba(X).shape == (60, 3)
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="differs from the classes"):
        clf.partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize(
    "labels", [np.array([3, 7]), np.array(["cat", "dog", "emu"]), np.arange(4)]
)
def test_predictions_have_the_shapes_of_the_labels(labels):
    X, y = make_classification(
        n_samples=80, n_classes=len(labels), n_informative=4, random_state=0
    )
    y = labels[y]
    clf = MLPGDClassifier((8,), max_iter=5, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert clf.n_outputs_ == (1 if len(labels) == 2 else len(labels))
    assert clf.out_activation_ == ("logistic" if len(labels) == 2 else "softmax")
    pred, proba = clf.predict(X), clf.predict_proba(X)
    assert pred.shape == (80,) and set(pred) <= set(labels)
    assert proba.shape == (80, len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)


def test_multilabel_targets():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    clf = MLPGDClassifier((16,), learning_rate=0.01, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X)
    assert proba.shape == clf.predict(X).shape == (120, 4)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    assert clf.score(X, Y) > 0.5  # subset accuracy; chance is far lower


@pytest.mark.parametrize("n_classes", [2, 3])
def test_saturated_outputs_keep_finite_losses_and_log_probabilities(n_classes):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1]) if n_classes == 2 else np.array([0, 1, 2, 2])
    clf = MLPGDClassifier((), max_iter=1, tol=None, random_state=0).fit(X, y)
    # Pre-activations in the thousands: exp() would overflow.
    coef = [[2000.0]] if n_classes == 2 else [[-2000.0, 0.0, 2000.0]]
    clf.coefs_ = [np.array(coef)]
    clf.intercepts_ = [np.full(clf.n_outputs_, -3000.0)]
    log_proba = clf.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    if n_classes == 2:  # z = -3000 for x = 0
        np.testing.assert_allclose(log_proba[0], [0, -3000], atol=1e-12)
    else:  # z = [-9000, -3000, 3000] for x = 3
        np.testing.assert_allclose(log_proba[3], [-12000, -6000, 0], atol=1e-12)
    np.testing.assert_allclose(np.exp(log_proba), clf.predict_proba(X), atol=1e-12)
    clf.set_params(warm_start=True, optimizer="sgd", learning_rate=1e-9)
    clf.fit(X, y[::-1])
    assert np.isfinite(clf.loss_) and clf.loss_ > 1000
    assert all(np.isfinite(W).all() for W in clf.coefs_)


def test_invalid_targets_are_rejected():
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPGDClassifier().fit(X, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="only one class"):
        MLPGDClassifier().fit(X, np.ones(20))
    with pytest.raises(ValueError, match="multilabel"):
        MLPGDClassifier(class_weight="balanced").fit(X, np.eye(2)[np.arange(20) % 2])
    for sizes in ([4, 0], (3, -1), (2.5,)):
        with pytest.raises(ValueError, match="hidden_layer_sizes"):
            MLPGDClassifier(sizes).fit(X, np.arange(20) % 2)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "adagrad"])
def test_auto_learning_rate_scales_with_the_initial_weights(optimizer):
    from skgd.optimizers import get_optimizer

    X, y = make_classification(n_samples=50, n_features=6, random_state=0)
    clf = MLPGDClassifier((10, 4), optimizer=optimizer, learning_rate="auto")
    clf.set_params(max_iter=1, tol=None).fit(X, y)
    # Glorot-uniform weights of shapes (6, 10), (10, 4), (4, 1) have variance
    # bound**2 / 3 with bound**2 = 6 / (fan_in + fan_out).
    sizes = np.array([60, 40, 4])
    variances = 6 / np.array([16, 14, 5]) / 3
    rms = np.sqrt(sizes @ variances / sizes.sum())
    default = get_optimizer(optimizer).auto_learning_rate(None, rms)
    assert clf.learning_rate_ == pytest.approx(default)


def test_balanced_class_weight_raises_minority_recall():
    X, y = make_classification(
        n_samples=600,
        n_features=10,
        weights=[0.95, 0.05],
        class_sep=0.5,
        flip_y=0,
        random_state=0,
    )
    settings = dict(hidden_layer_sizes=(16,), learning_rate=0.01, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPGDClassifier(**settings, random_state=0).fit(X, y)
        balanced = MLPGDClassifier(
            **settings, class_weight="balanced", random_state=0
        ).fit(X, y)
        as_dict = MLPGDClassifier(
            **settings, class_weight={0: 1.0, 1: 0.95 / 0.05}, random_state=0
        ).fit(X, y)
    recall_plain = recall_score(y, plain.predict(X))
    recall_balanced = recall_score(y, balanced.predict(X))
    assert recall_balanced >= recall_plain + 0.2
    assert recall_score(y, as_dict.predict(X)) >= recall_plain + 0.2
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        MLPGDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_class_weight_equals_sample_weight():
    X, y = make_classification(n_samples=50, random_state=0)
    settings = dict(hidden_layer_sizes=(4,), max_iter=3, tol=None, random_state=0)
    by_class = MLPGDClassifier(**settings, class_weight={1: 3.0}).fit(X, y)
    by_sample = MLPGDClassifier(**settings).fit(X, y, sample_weight=np.where(y, 3, 1))
    np.testing.assert_allclose(by_class.coefs_[0], by_sample.coefs_[0], rtol=1e-12)


def test_float32_is_trained_in_float32():
    X, y = make_classification(
        n_samples=100, n_classes=3, n_informative=4, random_state=0
    )
    X32 = X.astype(np.float32)
    clf = MLPGDClassifier((8,), max_iter=5, tol=None, random_state=0).fit(X32, y)
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf._state.optimizer_state.slots[0]["m"].dtype == np.float32
    clf64 = MLPGDClassifier((8,), max_iter=5, tol=None, random_state=0).fit(X, y)
    assert clf64.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(clf.coefs_[0], clf64.coefs_[0], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_input_matches_dense(dtype):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 30)) * (rng.uniform(size=(90, 30)) < 0.2)
    X = centred_sparse(X).astype(dtype)
    y = rng.randint(3, size=180)
    settings = dict(hidden_layer_sizes=(10,), batch_size=16, max_iter=5, tol=None)
    dense = MLPGDClassifier(**settings, random_state=0).fit(X, y)
    for matrix in (sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X)):
        sparse = MLPGDClassifier(**settings, random_state=0).fit(matrix, y)
        rtol = 1e-10 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=rtol)
        np.testing.assert_allclose(
            sparse.predict_proba(matrix), dense.predict_proba(X), rtol=rtol
        )


def test_dataframe_sets_feature_names():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPGDClassifier((3,), max_iter=2, tol=None).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.n_features_in_ == 4
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))


def test_warm_start_keeps_the_adam_moments():
    X, y = make_classification(
        n_samples=100, n_classes=3, n_informative=4, random_state=0
    )
    settings = dict(hidden_layer_sizes=(8, 6), shuffle=False, tol=None, random_state=0)
    once = MLPGDClassifier(**settings, max_iter=10).fit(X, y)
    twice = MLPGDClassifier(**settings, max_iter=5, warm_start=True).fit(X, y).fit(X, y)
    once_params = once.coefs_ + once.intercepts_
    for a, b in zip(once_params, twice.coefs_ + twice.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert twice.n_iter_ == 5 and twice.t_ == once.t_
    # Without the moments, the continuation would differ.
    fresh_moments = MLPGDClassifier(**settings, max_iter=5).fit(X, y)
    state = fresh_moments._state
    state.optimizer_state.slots[0]["m"][:] = 0
    state.optimizer_state.slots[0]["v"][:] = 0
    state.optimizer_state.t = 0
    fresh_moments.set_params(warm_start=True).fit(X, y)
    assert not np.allclose(fresh_moments.coefs_[0], once.coefs_[0], rtol=1e-6)


def test_warm_start_with_another_architecture_raises():
    X, y = make_classification(n_samples=40, random_state=0)
    clf = MLPGDClassifier((4,), max_iter=2, tol=None, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="fit it without warm_start"):
        clf.set_params(hidden_layer_sizes=(5,)).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.set_params(hidden_layer_sizes=(4,)).fit(X, np.arange(40) % 3)


def test_early_stopping_restores_the_best_weights():
    X, y = make_classification(
        n_samples=300, n_features=20, n_informative=3, flip_y=0.2, random_state=0
    )
    clf = RecordingClassifier(
        (64,),
        learning_rate=0.02,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=8,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(scores)
    assert scores.index(max(scores)) < len(scores) - 1  # the last was not kept
    X_val, Y_val, _ = clf.validation_data_
    assert len(X_val) == 90
    assert np.bincount(Y_val[:, 0].astype(int)).min() >= 40  # stratified
    y_val = clf.classes_[Y_val[:, 0].astype(int)]
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)


def test_divergence_raises_and_leaves_the_fit_untouched():
    X, y = make_classification(n_samples=100, random_state=0)
    X = X * 1e3 + 1e4
    clf = MLPGDClassifier((10,), max_iter=3, tol=None, random_state=0).fit(X, y)
    before = [W.copy() for W in clf.coefs_ + clf.intercepts_]
    clf.set_params(optimizer="sgd", learning_rate=1e6, max_iter=50)
    with pytest.raises(ValueError, match=r"epoch \d+.*learning_rate"):
        clf.fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = MLPGDClassifier((10,), optimizer="sgd", learning_rate=1e6, max_iter=50)
    with pytest.raises(ValueError, match=r"epoch \d+.*learning_rate"):
        fresh.fit(X, y)
    assert not hasattr(fresh, "coefs_")


def test_grid_search_over_a_pipeline():
    X, y = make_classification(
        n_samples=120, n_classes=3, n_informative=4, random_state=0
    )
    pipe = make_pipeline(StandardScaler(), MLPGDClassifier(max_iter=3, random_state=0))
    grid = GridSearchCV(
        pipe,
        {
            "mlpgdclassifier__learning_rate": [0.001, 0.01],
            "mlpgdclassifier__hidden_layer_sizes": [(4,), (6, 3)],
            "mlpgdclassifier__optimizer": ["sgd", "adam"],
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
        best.hidden_layer_sizes
        == grid.best_params_["mlpgdclassifier__hidden_layer_sizes"]
    )
    restored = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X), grid.predict_proba(X))


def test_scoring_monitor_scores_against_the_labels():
    callback = pytest.importorskip("sklearn.callback")
    X, y = make_classification(
        n_samples=60, n_classes=3, n_informative=4, random_state=0
    )
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = MLPGDClassifier((5,), max_iter=3, tol=None).set_callbacks(monitor)
    clf.fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(rows) == clf.n_iter_ == 3
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({0: -1.0}, "got -1.0 for the label 0"),
        ({0: None}, "got None for the label 0"),
        ({1: "heavy"}, "got 'heavy' for the label 1"),
        ({0: np.inf}, "got inf for the label 0"),
        ({0: 0, 1: 0.0}, "every sample of y a weight of 0"),
    ],
)
def test_invalid_class_weight_values_name_class_weight(class_weight, message):
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    clf = MLPGDClassifier((3,), class_weight=class_weight, max_iter=2)
    with pytest.raises(ValueError, match=rf"^class_weight.*{message}"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=rf"^class_weight.*{message}"):
        clf.partial_fit(X, y, classes=[0, 1])
    # Weights that, with the sample weights, leave nothing to learn.
    only_zeros = MLPGDClassifier((3,), class_weight={0: 0.0}, max_iter=2)
    with pytest.raises(ValueError, match="^class_weight.*positive sample_weight"):
        only_zeros.fit(X, y, sample_weight=(y == 0).astype(float))


def test_lbfgs_trains_a_network_on_the_full_batch():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPGDClassifier(optimizer="lbfgs", max_iter=300, random_state=0)
    with warnings.catch_warnings():
        # A network's gradient takes longer to fall to tol**2 of its start.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.n_iter_ == len(clf.loss_curve_) <= 300
    assert clf.loss_curve_[-1] < 0.05 * clf.loss_curve_[0]


# -- raw features ------------------------------------------------------------------


def test_raw_wine_trains_as_in_a_scaler_pipeline():
    # The raw wine columns span 0.1 to 1,680: the network predicted one
    # class for every row (accuracy 0.333) where a StandardScaler pipeline
    # scores 1.0.
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    raw = MLPGDClassifier(random_state=0).fit(X_train, y_train)
    pipeline = make_pipeline(StandardScaler(), MLPGDClassifier(random_state=0))
    pipeline.fit(X_train, y_train)
    assert raw.n_iter_ == pipeline[-1].n_iter_
    assert raw.learning_rate_ == pytest.approx(pipeline[-1].learning_rate_, rel=1e-9)
    np.testing.assert_allclose(
        raw.predict_proba(X_test), pipeline.predict_proba(X_test), atol=1e-8
    )
    assert raw.score(X_test, y_test) >= 0.97


def test_the_first_layer_is_reported_in_the_units_of_x():
    # coefs_ and intercepts_ act on X itself: the pipeline's first layer,
    # which acts on (X - mean) / std, divided by std and shifted.
    X, y = load_wine(return_X_y=True)
    settings = dict(hidden_layer_sizes=(6,), max_iter=5, tol=None, random_state=0)
    raw = MLPGDClassifier(**settings).fit(X, y)
    scaler = StandardScaler().fit(X)
    scaled = MLPGDClassifier(**settings).fit(scaler.transform(X), y)
    W = scaled.coefs_[0] / scaler.scale_[:, None]
    b = scaled.intercepts_[0] - scaler.mean_ @ W
    np.testing.assert_allclose(raw.coefs_[0], W, rtol=1e-8)
    np.testing.assert_allclose(raw.intercepts_[0], b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(raw.coefs_[1], scaled.coefs_[1], rtol=1e-8)


def test_warm_start_and_partial_fit_keep_the_first_fits_scaling():
    X, y = load_wine(return_X_y=True)
    settings = dict(hidden_layer_sizes=(6,), max_iter=3, tol=None, random_state=0)
    once = MLPGDClassifier(**settings, warm_start=True).fit(X, y)
    offset, scale = once._input_offset.copy(), once._input_scale.copy()
    # Two calls of 3 epochs on the same rows: the 6 epochs of one call.
    once.fit(X, y)
    twice = MLPGDClassifier(**{**settings, "max_iter": 6}).fit(X, y)
    np.testing.assert_allclose(once.coefs_[0], twice.coefs_[0], rtol=1e-9)
    stream = MLPGDClassifier(**settings).partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    first = stream._input_scale.copy()
    stream.partial_fit(X[60:] * 2, y[60:])
    np.testing.assert_array_equal(stream._input_scale, first)
    np.testing.assert_array_equal(once._input_offset, offset)
    np.testing.assert_array_equal(once._input_scale, scale)


def test_a_partial_fit_chunk_takes_the_steps_of_its_batches():
    # A chunk of 300 rows with batches of 200 made one step of 300 rows;
    # MLPClassifier makes two (200 + 100): the stream learned at half pace.
    X, y = make_classification(1000, 8, random_state=0)
    clf = MLPGDClassifier((5,), batch_size=200, random_state=0)
    clf.partial_fit(X[:300], y[:300], classes=[0, 1])
    assert clf.t_ == 2
    clf.partial_fit(X[300:700], y[300:700])
    assert clf.t_ == 4
    clf.partial_fit(X[700:750], y[700:750])  # fewer rows than a batch
    assert clf.t_ == 5
    # An epoch of fit is batched alike: 300 rows, two steps.
    fitted = MLPGDClassifier((5,), batch_size=200, max_iter=1, tol=None)
    assert fitted.fit(X[:300], y[:300]).t_ == 2
