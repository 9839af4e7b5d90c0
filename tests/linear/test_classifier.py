"""GDClassifier: losses, targets, probabilities, class weights and quality."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from skgd import GDClassifier
from skgd.training._state import DivergenceError

MARGIN_LOSSES = ["hinge", "modified_huber", "squared_hinge", "perceptron"]
LOSSES = ["log_loss", *MARGIN_LOSSES]


def _split(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def digits():
    return _split(load_digits)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- quality ---------------------------------------------------------------------


def test_digits_with_the_defaults(digits):
    X_train, X_test, y_train, y_test = digits
    clf = GDClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95  # 0.960; SGDClassifier 0.933


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_learns_digits(digits, loss):
    X_train, X_test, y_train, y_test = digits
    clf = GDClassifier(loss=loss, random_state=0).fit(X_train, y_train)
    # The hinge and the perceptron: 0.94 (SGDClassifier: 0.933).
    assert clf.score(X_test, y_test) >= 0.93


def _log_loss_objective(clf, X, y, alpha):
    """Mean log-loss plus ``alpha / 2`` times the squared norm of ``coef_``."""
    data = log_loss(y, clf.predict_proba(X), labels=clf.classes_)
    return data + alpha / 2 * float(np.sum(clf.coef_.astype(np.float64) ** 2))


@pytest.mark.parametrize(
    "loader", [load_breast_cancer, load_digits, load_wine, load_iris]
)
def test_the_defaults_reach_the_optimum_of_the_log_loss(loader):
    # Mini-batch SGD, stopped by the loss rule, left the objective 2.1 to
    # 10.4 times the optimum here (iris test accuracy 0.868 against 0.974).
    X_train, X_test, y_train, y_test = _split(loader)
    alpha = GDClassifier().alpha
    ours = GDClassifier(random_state=0).fit(X_train, y_train)
    theirs = LogisticRegression(C=1 / (alpha * len(y_train)), tol=1e-10, max_iter=10**5)
    theirs.fit(X_train, y_train)
    optimum = _log_loss_objective(theirs, X_train, y_train, alpha)
    assert _log_loss_objective(ours, X_train, y_train, alpha) <= optimum * (1 + 1e-3)
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.005
    test_loss = log_loss(y_test, ours.predict_proba(X_test), labels=ours.classes_)
    optimal_test_loss = log_loss(y_test, theirs.predict_proba(X_test))
    assert abs(test_loss - optimal_test_loss) <= 0.005


@pytest.mark.parametrize("loader", [load_iris, load_breast_cancer])
def test_log_loss_converges_to_logistic_regression(loader):
    # Multinomial for iris (three classes), binary for breast cancer: the
    # objective is LogisticRegression's with C = 1 / (alpha * n_samples).
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    alpha = 0.01
    theirs = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    theirs.fit(X, y)
    ours = GDClassifier(
        alpha=alpha, batch_size=None, tol=None, max_iter=4000, optimizer="nesterov"
    ).fit(X, y)
    scale = np.abs(theirs.coef_).max()
    assert_allclose(ours.coef_, theirs.coef_, atol=1e-5 * scale)
    assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-5 * scale)


# -- the losses in the model (the loss objects alone: test_losses.py) ----------


def test_model_gradient_matches_finite_differences(iris):
    X, y = iris
    clf = GDClassifier(max_iter=1, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    params = clf._current_params()
    model = clf._build_model(params, X.shape[1])
    Y = clf._label_binarizer.transform(y).astype(float)
    model.loss_grad(X, Y, None, 1 / len(y))
    grad = model.grad.copy()
    numeric = np.zeros_like(params)
    for index in np.ndindex(params.shape):
        saved = params[index]
        params[index] = saved + 1e-6
        plus = model.loss_grad(X, Y, None, 1 / len(y))
        params[index] = saved - 1e-6
        minus = model.loss_grad(X, Y, None, 1 / len(y))
        params[index] = saved
        numeric[index] = (plus - minus) / 2e-6
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


# -- targets and probabilities -------------------------------------------------


def test_binary_targets_have_one_row_of_coefficients():
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.where(y == 1, "benign", "malignant")
    clf = GDClassifier(random_state=0).fit(StandardScaler().fit_transform(X), labels)
    assert clf.coef_.shape == (1, X.shape[1])
    assert clf.intercept_.shape == (1,)
    assert_array_equal(clf.classes_, ["benign", "malignant"])
    assert set(clf.predict(StandardScaler().fit_transform(X))) == {
        "benign",
        "malignant",
    }


def test_multinomial_probabilities_are_the_softmax(iris):
    X, y = iris
    clf = GDClassifier(random_state=0).fit(X, y)
    z = clf.decision_function(X)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert_allclose(clf.predict_proba(X), expected, rtol=1e-10)
    assert_allclose(clf.predict_log_proba(X), np.log(expected), rtol=1e-8)
    assert_array_equal(clf.predict(X), clf.classes_[z.argmax(axis=1)])


def test_modified_huber_probabilities():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = GDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    z = clf.decision_function(X)
    positive = (np.clip(z, -1, 1) + 1) / 2
    assert_allclose(clf.predict_proba(X), np.column_stack([1 - positive, positive]))


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "perceptron"])
def test_no_probabilities_without_a_probabilistic_loss(iris, loss):
    X, y = iris
    clf = GDClassifier(loss=loss, random_state=0).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match="no attribute 'predict_log_proba'") as e:
        clf.predict_log_proba(X)
    # The cause says what to do.
    assert 'use loss="log_loss"' in str(e.value.__cause__)


def test_perceptron_from_zero_is_not_a_divergence(digits):
    # Its objective starts at exactly 0 and has no scale: only a non-finite
    # objective would be a divergence.
    X_train, _, y_train, _ = digits
    GDClassifier(loss="perceptron", learning_rate=100.0, random_state=0).fit(
        X_train, y_train
    )
    with pytest.raises(DivergenceError, match="learning rate"):
        GDClassifier(loss="squared_hinge", learning_rate=1e6, random_state=0).fit(
            X_train, y_train
        )


# -- weights, streams, settings ------------------------------------------------


def test_balanced_class_weight_equals_the_sample_weights(iris):
    X, y = iris[0][:120], iris[1][:120]  # unbalanced: 50, 50, 20
    # A penalty strong enough for the weights to move the optimum (with the
    # default alpha the optimum nearly separates these rows).
    params = dict(alpha=0.1, random_state=0)
    balanced = GDClassifier(class_weight="balanced", **params).fit(X, y)
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    manual = GDClassifier(**params).fit(X, y, sample_weight=weights[y])
    assert_allclose(balanced.coef_, manual.coef_)
    heavy = GDClassifier(class_weight={2: 10.0}, **params).fit(X, y)
    assert (heavy.predict(X) == 2).sum() > (manual.predict(X) == 2).sum()


def test_partial_fit_needs_the_classes_and_keeps_them(iris):
    X, y = iris
    clf = GDClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    order = np.random.RandomState(0).permutation(len(y))
    for chunk in np.array_split(order, 5):
        clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert clf.score(X, y) > 0.85
    assert clf.n_iter_ == 5
    with pytest.raises(ValueError, match="differs from the classes"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X[:5], np.full(5, 7))
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_warm_start_needs_the_same_classes(iris):
    X, y = iris
    clf = GDClassifier(warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])


def test_early_stopping_scores_accuracy(digits):
    X_train, _, y_train, _ = digits
    clf = GDClassifier(early_stopping=True, random_state=0).fit(X_train, y_train)
    scores = np.array(clf.validation_scores_)
    assert np.all((scores >= 0) & (scores <= 1))
    assert clf.best_validation_score_ == scores.max() > 0.9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_and_float32(iris, dtype):
    X, y = iris
    dense = GDClassifier(random_state=0).fit(X.astype(dtype), y)
    sparse = GDClassifier(random_state=0).fit(sp.csr_matrix(X.astype(dtype)), y)
    assert dense.coef_.dtype == sparse.coef_.dtype == dtype
    # In float32 the objective is computed to about 1e-7 (differently for
    # the two layouts), and L-BFGS stops at a relative gradient of
    # sqrt(eps) = 3.5e-4: the two optima agree to that much.
    rtol = 1e-3 if dtype == np.float32 else 1e-6
    assert_allclose(dense.coef_, sparse.coef_, rtol=rtol, atol=1e-5)


def test_coef_init_of_a_binary_problem_accepts_a_vector():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    start = np.full(X.shape[1], 0.01)
    clf = GDClassifier(max_iter=1, tol=None, learning_rate=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, coef_init=start, intercept_init=[0.5])
    assert_allclose(clf.coef_[0], start, rtol=1e-6)
    assert_allclose(clf.intercept_, [0.5], rtol=1e-6)


def test_multilabel_targets_are_refused():
    X = np.random.RandomState(0).normal(size=(20, 3))
    Y = np.eye(2, dtype=int)[np.arange(20) % 2]
    Y[::3] = 1
    with pytest.raises(ValueError, match="1d array"):
        GDClassifier().fit(X, Y)


def test_works_in_scikit_learn_workflows(iris):
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), GDClassifier(optimizer="adam"))
    grid = GridSearchCV(
        pipe,
        {"gdclassifier__optimizer__beta_1": [0.8, 0.9], "gdclassifier__alpha": [1e-4]},
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.85
    assert cross_val_score(GDClassifier(random_state=0), *iris, cv=3).mean() > 0.85
    fitted = GDClassifier(random_state=0).fit(*iris)
    again = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(again.predict(iris[0]), fitted.predict(iris[0]))
    assert not hasattr(clone(fitted), "coef_")


def test_perceptron_starting_at_rounding_noise_does_not_diverge():
    # The perceptron's objective has no scale: a start of 1e-18 used to set
    # the divergence limit near 1e-10, so the first real step "exploded".
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = GDClassifier(loss="perceptron", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, intercept_init=[1e-18])
    assert clf.score(X, y) > 0.95


@pytest.mark.parametrize(
    "load", [load_iris, load_breast_cancer, load_digits], ids=lambda f: f.__name__
)
def test_lbfgs_reaches_the_logistic_regression_optimum(load):
    # First-order defaults stop at 2 to 5 times the optimal objective on
    # these; the full-batch quasi-Newton solver reaches it.
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    alpha = 1e-4
    clf = GDClassifier(optimizer="lbfgs", alpha=alpha).fit(X, y)
    best = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    best.fit(X, y)

    def objective(est):
        proba = np.clip(est.predict_proba(X), 1e-300, None)
        data = -np.mean(
            np.log(proba[np.arange(len(y)), np.searchsorted(est.classes_, y)])
        )
        return data + alpha / 2 * np.sum(est.coef_**2)

    assert objective(clf) <= objective(best) * (1 + 1e-5)
    assert clf.n_iter_ < 200


@pytest.mark.parametrize(
    "params, method, match",
    [
        ({"early_stopping": True}, "fit", "early_stopping is not available"),
        ({"penalty": "l1"}, "fit", "needs a differentiable objective"),
    ],
)
def test_lbfgs_refuses_what_a_full_batch_solver_cannot_do(params, method, match):
    X, y = load_iris(return_X_y=True)
    clf = GDClassifier(optimizer="lbfgs", **params)
    with pytest.raises(ValueError, match=match):
        getattr(clf, method)(X, y)
    assert not hasattr(clf, "coef_")


def test_lbfgs_has_no_partial_fit():
    clf = GDClassifier(optimizer="lbfgs")
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        _ = clf.partial_fit
    assert hasattr(clf.set_params(optimizer="adam"), "partial_fit")


def test_sparsify_keeps_the_classifier_s_predictions():
    X, y = load_iris(return_X_y=True)
    clf = GDClassifier(penalty="l1", alpha=0.01, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    assert_allclose(clf.predict_proba(X), proba, rtol=1e-12)
    assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    clf.densify()
    assert isinstance(clf.coef_, np.ndarray)
    with pytest.raises(ValueError, match="l1_ratio must be set"):
        GDClassifier(penalty="elasticnet", l1_ratio=None).fit(X, y)
