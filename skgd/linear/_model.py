"""What the linear estimators share: the model and the implicit rescaling.

:class:`_LinearModel` is ``X @ coef + intercept`` with a loss and an
elastic-net penalty, trained in implicitly centred and rescaled coordinates;
:class:`_BaseLinear` sets those coordinates up from the data, packs the
user-facing ``coef_`` and ``intercept_`` into the parameter buffer and back,
and estimates the curvature the automatic step size needs. The estimators
(``GDRegressor``, ``GDClassifier``) add their loss, targets and public API.
"""

from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.linear_model._base import SparseCoefMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import BaseGradientDescent, _hook_data
from ..losses._regression import Penalty
from ..optimizers import Optimizer, available_optimizers, get_optimizer
from ..schedules import get_schedule
from ..training._state import Model
from ..training._statistics import (
    column_spreads,
    feature_sums,
    largest_row_norm,
    max_abs,
    nonzero_rows,
    top_eigenvalue,
)
from ._backend import linear_backend

#: The values of the linear estimators' ``optimizer`` parameter.
OPTIMIZER_CONSTRAINT = [StrOptions({"auto", *available_optimizers()}), Optimizer]


class _LinearModel(Model):
    """``X @ coef + intercept`` with a regression loss and an elastic-net penalty.

    ``params`` stacks the coefficients and, last, the intercept: shape
    ``(n_features + 1,)`` for one target, ``(n_features + 1, n_targets)`` for
    several.

    With an intercept, the model is trained on implicitly centred features:
    ``(X - offset) @ coef + intercept``, where ``offset`` is the (weighted)
    mean of the training features. This is the same model with the intercept
    shifted by ``offset @ coef``, so the optimum is unchanged, but it removes
    the coupling between the intercept and the coefficients that makes
    uncentred data (say, features around 100) badly conditioned.

    With ``scale``, the features are also rescaled implicitly: ``params``
    holds ``theta = scale * coef`` rather than ``coef``, so that gradient
    descent on ``theta`` is diagonally preconditioned (see
    ``GDRegressor._init_params``). Nothing is subtracted from or multiplied
    into ``X`` itself: the shift costs one dot product per batch, the
    rescaling two products by a vector of length ``n_features``, and sparse
    input stays sparse.
    """

    def __init__(self, params, n_features, offset, loss, penalty, scale=None):
        self.params = params
        self.grad = np.zeros_like(params)
        self.offset = offset
        self.theta = params[:n_features]
        self.intercept = params[n_features:]
        self.grad_coef = self.grad[:n_features]
        self.grad_intercept = self.grad[n_features:]
        self.decay_index = slice(0, n_features)  # weight decay skips the intercept
        self.loss = loss
        self.penalty = penalty
        self.has_prox = penalty.l1 > 0
        self.coef, self.inv_scale = self.theta, None
        if scale is not None:
            inv_scale = (1.0 / np.asarray(scale, np.float64)).astype(params.dtype)
            self.inv_scale = inv_scale if params.ndim == 1 else inv_scale[:, None]
            self.coef = np.empty_like(self.theta)

    def _update_coef(self):
        """Return ``coef``, recomputed from ``theta`` when rescaled."""
        if self.inv_scale is not None:
            np.multiply(self.theta, self.inv_scale, out=self.coef)
        return self.coef

    def predict(self, X):
        coef = self._update_coef()
        pred = X @ coef
        if self.offset is not None:
            pred += self.intercept - self.offset @ coef
        return pred

    def loss_grad(self, X, y, sample_weight, mean_factor):
        # The hot path of every update: a handful of vectorised calls.
        coef, grad_coef, offset = self._update_coef(), self.grad_coef, self.offset
        prediction = X @ coef
        if offset is not None:
            prediction += self.intercept - offset @ coef
        total, dloss = self._objective(prediction, y, sample_weight)
        dloss *= mean_factor
        if type(X) is np.ndarray:
            np.matmul(X.T, dloss, out=grad_coef)
        else:
            grad_coef[...] = X.T @ dloss
        if offset is not None:
            dloss_sum = np.add.reduce(dloss, axis=0)
            if dloss.ndim == 1:
                grad_coef -= offset * dloss_sum
            else:
                grad_coef -= np.multiply.outer(offset, dloss_sum)
            self.grad_intercept[...] = dloss_sum
        penalty = self.penalty.add_gradient(coef, grad_coef)
        if self.inv_scale is not None:
            # The chain rule: d/dtheta = d/dcoef / spread.
            grad_coef *= self.inv_scale
        return mean_factor * total + penalty

    def prox(self, step):
        # The L1 penalty of coef is a weighted one of theta.
        self.penalty.prox(self.theta, step, self.inv_scale)

    def _objective(self, prediction, y, sample_weight):
        """The weighted sum of the losses, and their derivatives (in place).

        A regression loss is a function of the residual; ``prediction`` is
        overwritten with it.
        """
        prediction -= y
        return self.loss.total_gradient(prediction, sample_weight)

    def compiled_epoch(self, state, data):
        return linear_backend(self, state, data)

    def baseline_loss(self, X, y, sample_weight, mean_factor):
        # The objective of predicting 0 (all parameters zero).
        zero = np.zeros(y.shape, self.params.dtype)
        return mean_factor * self._objective(zero, y, sample_weight)[0]

    def score(self, X, y, sample_weight):
        return r2_score(y, self.predict(X), sample_weight=sample_weight)


def _shift_intercept(params, shift):
    """A copy of ``params`` whose intercept (last row) is moved by ``shift``."""
    shifted = params.copy()
    shifted[-1] += shift
    return shifted


@contextmanager
def _evaluated_at(model, data, point):
    """Put ``point`` into ``model.params`` and yield it, the objective on the
    training rows and its gradient there (float64); ``model.params`` is
    restored afterwards."""
    current = model.params.copy()
    try:
        theta = np.array(point, np.float64)
        model.params[...] = point
        yield theta, float(data.objective(model)), model.grad.astype(np.float64)
    finally:
        model.params[...] = current


def _proximal_point(model, theta, gradient, step):
    """``model.params`` set to the proximal-gradient step of size ``step``
    from ``theta``."""
    model.params[...] = theta - step * gradient
    model.prox(step)
    return model.params


def _gradient_norm(model, data, point):
    """``|grad F(point)|`` on the training rows, in the rescaled coordinates,
    and ``F(point)``.

    One pass over the training rows (the objective's vectorised batch of
    every row). With an L1 part, the proximal-gradient mapping (step 1,
    soft-thresholded) stands for the gradient, which does not vanish at the
    optimum of a non-smooth objective. ``model.params`` is left as it was.
    """
    with _evaluated_at(model, data, point) as (theta, objective, step):
        if model.has_prox:
            step = theta - _proximal_point(model, theta, step, 1.0).astype(np.float64)
        return float(np.linalg.norm(step)), objective


def _proximal_step(model, data, point, halvings=30):
    """A proximal-gradient step on the training rows from ``point`` that does
    not increase the objective, or None if no step of size ``2**-halvings``
    or more does (then ``point`` is kept). ``model.params`` is left as it was.
    """
    with _evaluated_at(model, data, point) as (theta, start, gradient):
        step = 1.0
        for _ in range(halvings + 1):
            candidate = _proximal_point(model, theta, gradient, step)
            if float(data.objective(model)) <= start:
                return candidate.copy()
            step /= 2
        return None


def _check_finite(values, name):
    if not np.isfinite(values).all():
        raise ValueError(
            f"{name} contains NaN or infinity; pass finite starting values."
        )


def _too_extreme(what, magnitude):
    return ValueError(
        f"{what} has values of magnitude {magnitude:.3g}, too extreme for the "
        "automatic step size to be computed in floating point. Scale the data "
        "(for example with StandardScaler), or set learning_rate."
    )


class _BaseLinear(SparseCoefMixin, BaseGradientDescent):
    """The set-up and parameter packing of a linear estimator.

    Subclasses provide ``_loss()`` (the loss object, for its curvature),
    ``_initial_intercept(y, weight)`` and ``_build_model``, and the
    parameters ``penalty``, ``alpha``, ``l1_ratio`` and ``fit_intercept``.
    """

    def _decay_scale(self, state):
        """The unit of the weight decay's rate (see ``OptimizerState.decay_scale``).

        An automatic rate is proportional to the estimated scale of the
        coefficients; the decay then uses the rate divided by that scale, so
        that it shrinks the coefficients by the same fraction whatever the
        units of the data. An explicit rate decays as given.
        """
        scale = getattr(state, "scale_hint", None)
        if self.learning_rate == "auto" and scale is not None and 0 < scale < np.inf:
            return 1.0 / float(scale)
        return 1.0

    def _resolve_optimizer(self, partial):
        """``optimizer="auto"``: L-BFGS where it applies, else plain SGD.

        L-BFGS on the whole training set (:class:`~skgd.optimizers.LBFGS`)
        reaches the optimum of a smooth objective in a few passes over the
        rescaled data, at every size measured (see the user guide), where
        stochastic steps hover around it. It is chosen for ``fit`` when
        everything it would ignore or refuse is at its default: a
        differentiable loss with a scale, no L1 part in the penalty, no
        early stopping, ``learning_rate="auto"``, ``schedule="auto"``,
        ``batch_size="auto"`` and ``average="auto"``. ``partial_fit`` and
        every other setting train with ``"sgd"``.
        """
        if not (isinstance(self.optimizer, str) and self.optimizer == "auto"):
            return get_optimizer(self.optimizer)
        solver = (
            not partial
            and not self.early_stopping
            and self._loss().smooth
            and self._penalty().l1 == 0
            and self.learning_rate == "auto"
            and self.schedule == "auto"
            and self.batch_size == "auto"
            and self.average == "auto"
        )
        return get_optimizer("lbfgs" if solver else "sgd")

    def _init_params(self, X, y, random_state, sample_weight=None, optimizer=None):
        """Zero coefficients, the intercept of the best constant model; the scaling.

        With centred features, the best constant model's intercept (see
        ``_initial_intercept``) is the optimal intercept whatever the
        coefficients for least squares, and a good start for other losses,
        so optimizers whose steps have a fixed size (Adam, Lion, ...) need
        not walk the intercept there from zero.

        Sparse X is centred only for full batches (and L-BFGS), whose steps
        see every coefficient anyway. For steps on smaller batches, the
        centring term would move every coefficient at every step; without
        it, a step on CSR data costs the batch's non-zeros (see
        skgd/linear/_epoch.pyx). The intercept is then that of the raw
        features (an offset of zeros).

        The parameters are ``theta_j = p_j coef_j`` with
        ``p_j = sqrt(var_j + l2 u_j**2 / c)``: ``var_j`` is the weighted
        variance of feature ``j`` (its mean square without an intercept),
        ``l2`` the L2 strength, ``u_j`` the coefficient's weight in the
        penalty (see :meth:`_penalty_weights`) and ``c`` the loss's
        curvature. Each diagonal entry of the
        objective's Hessian in ``theta`` is then ``c``, whatever the scale of
        the feature: gradient descent on ``theta`` is Jacobi-preconditioned.
        ``p_j = 1`` where the feature is constant.
        """
        rows = X.shape[1] + 1
        params = np.zeros((rows,) if y.ndim == 1 else (rows, y.shape[1]), X.dtype)
        self._offset = centre = None
        if self.fit_intercept:
            weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
            self._feature_sums = feature_sums(X, weight)
            self._offset = (self._feature_sums[1] / self._feature_sums[0]).astype(
                X.dtype
            )
            params[-1] = self._initial_intercept(y, weight)
            centre = self._offset.astype(np.float64)
            if sp.issparse(X) and self._steps_on_batches(optimizer, X.shape[0]):
                # Not centred: a partial_fit stream keeps the zero offset.
                self._offset[...], self._feature_sums, centre = 0, None, None
        self._centred = centre is not None
        spreads = column_spreads(X, *nonzero_rows(sample_weight, X.shape[0]), centre)
        self._spreads = spreads
        self._penalty_weight = self._penalty_weights(X, spreads)
        penalty = self._penalty()
        ridge = np.sqrt(penalty.l2 / self._loss().curvature)
        if penalty.weight is not None:
            ridge = ridge * penalty.weight
        scale = np.where(spreads > 0, np.hypot(spreads, ridge), 1.0)
        if not np.isfinite(scale).all():
            raise _too_extreme("X", max_abs(X))
        self._scale = scale
        return params

    def _continue(self, state, data, partial):
        if partial:
            self._follow_stream_mean(state, data)
        spreads = getattr(self, "_spreads", None)
        if spreads is not None:
            # penalty_scale may have changed since the first fit.
            self._penalty_weight = self._penalty_weights(data.X, spreads)
        return super()._continue(state, data, partial)

    def _steps_on_batches(self, optimizer, n_samples):
        """Whether ``optimizer`` steps on batches of fewer than ``n_samples`` rows."""
        if optimizer is None or optimizer.full_batch or self.batch_size is None:
            return False
        return self._smallest_batch(n_samples) < n_samples

    def _first_chunk_spreads(self):
        spreads = getattr(self, "_spreads", None)
        if spreads is None:
            return None
        # Fits from before sparse data could be left uncentred have no _centred.
        return spreads, getattr(self, "_centred", self._offset is not None)

    def _follow_stream_mean(self, state, data):
        """Centre a ``partial_fit`` stream on the mean of every row seen so far.

        The first chunk's mean may be far from the data's (the first chunk
        of a row-by-row stream is one row), and features centred far from
        their mean couple the intercept with the coefficients. Each chunk
        moves the offset to the running weighted mean; the centred
        intercept (of the parameters, and of their running average) is
        shifted by ``(new - old) @ coef``, so the model predicts exactly as
        before. The scaling stays the one the first chunk fixed.
        """
        sums = getattr(self, "_feature_sums", None)
        if self._offset is None or sums is None:  # no intercept; older fits
            return
        X, _, weight = _hook_data(data)
        weight = np.ones(X.shape[0]) if weight is None else weight
        chunk_total, chunk_sums = feature_sums(X, weight)
        total, weighted = sums[0] + chunk_total, sums[1] + chunk_sums
        if not total > 0:
            return
        old, new = self._offset.astype(np.float64), weighted / total
        if state.average is not None:
            # The buffers training continues from, as new arrays: the last
            # fit's (perhaps read-only) ones stay as they were.
            state.params, state.average = (
                _shift_intercept(buffer, (new - old) @ self._unscale(buffer))
                for buffer in (state.params, state.average)
            )
        self._feature_sums = (total, weighted)
        self._offset = new.astype(self._offset.dtype)

    def _gradient_rule(self, model, data, start):
        """The gradient rule's criterion for this fit, or None for the loss rule.

        ``convergence="auto"`` uses the gradient rule wherever the objective
        is differentiable and has a scale: not for the non-smooth losses
        (whose subgradient does not vanish at the optimum) nor for the
        perceptron's scale-free objective. The criterion is the norm
        of the objective's gradient at the iterate the fit would return,
        relative to its reference (see :meth:`_gradient_reference`).
        """
        rule = getattr(self, "convergence", "loss")
        if self.tol is None or self.early_stopping or rule == "loss":
            return None
        differentiable = self._loss().smooth and not model.scale_free
        if rule == "auto" and not differentiable:
            return None
        if not differentiable:
            raise ValueError(
                f"convergence='gradient' needs a differentiable objective, and "
                f"loss={self.loss!r} is not: its subgradient does not vanish at "
                "the optimum. Use convergence='loss' (or 'auto', which does so "
                "for this loss)."
            )
        # Measured at the first evaluation, after the loop has checked that
        # the objective at the start is finite.
        reference = []

        def criterion(state):
            if not reference:
                reference.append(self._gradient_reference(model, data, start))
            point = model.params if state.average is None else state.average
            norm, objective = _gradient_norm(model, data, point)
            if reference[0] > 0:
                return norm / reference[0], objective
            return (0.0 if norm <= 0 else np.inf), objective

        return criterion

    def _polish(self, model, state, data, config):
        """With an L1 penalty, one full-batch proximal-gradient step from the
        point a (mini-)batch fit ends on (the average, when averaging).

        The iterates of stochastic proximal steps are soft-thresholded by a
        small step's threshold and their average by none, so neither has the
        exact zeros of the optimum. One proximal-gradient step on every
        training row, of step 1 in the rescaled coordinates halved until the
        objective does not increase, gives them: the returned coefficients
        are exactly zero wherever the gradient of the smooth part is within
        the L1 threshold, and the objective is no higher than at the point
        the fit ended on. Full-batch fits end on such a step already.
        """
        if not model.has_prox or config.batch_size >= data.n_samples:
            return None
        point = model.params if state.average is None else state.average
        return _proximal_step(model, data, point)

    def _gradient_reference(self, model, data, start):
        """The gradient norm the rule measures against.

        The larger of its values at ``start`` and at the same point with
        every coefficient zero (the starting point of a fresh fit): a warm
        start near the optimum is measured against the gradient a fresh fit
        starts from, not against its own small one.
        """
        reference = _gradient_norm(model, data, start)[0]
        if np.any(start[:-1]):
            zero = start.copy()
            zero[:-1] = 0
            reference = max(reference, _gradient_norm(model, data, zero)[0])
        return reference

    def _remaining_gradient(self, model, data, start, final):
        """The gradient rule's measure at ``final`` (for the warning), or None."""
        reference = self._gradient_reference(model, data, start)
        remaining = _gradient_norm(model, data, final)[0]
        if not reference > 0 or not np.isfinite(remaining):
            return None
        return remaining / reference

    def _unscale(self, params):
        """The coefficients ``coef`` of a parameter buffer (float64)."""
        return params[:-1] / self._coef_scale(params.ndim)

    def _penalty(self):
        weight = getattr(self, "_penalty_weight", None)
        return Penalty(self.penalty, self.alpha, self.l1_ratio, weight)

    def _penalty_weights(self, X, spreads):
        """Each coefficient's weight in the penalty, or None (raw units).

        ``penalty_scale="standardized"`` penalises ``spread_j * coef_j``, the
        coefficient of the standardised feature (its weighted standard
        deviation; its root mean square without an intercept; 1 for a
        feature that is 0 on every row): the fitted model then does not
        depend on the units of the features. ``"auto"`` does so for dense X
        and keeps the raw units for sparse X (see the user guide).
        """
        rule = getattr(self, "penalty_scale", "raw")
        if rule == "auto":
            rule = "raw" if sp.issparse(X) else "standardized"
        if rule == "raw":
            return None
        return np.where(spreads > 0, spreads, 1.0)

    def _ridge_diagonal(self, n_features):
        """The L2 penalty's curvature along each ``theta_j``.

        ``l2 * (u_j / p_j)**2`` (``u`` the penalty weights); 1 / p_j**2 can
        only overflow without a penalty, where it is not computed.
        """
        penalty = self._penalty()
        if not penalty.l2 > 0:
            return np.zeros(n_features)
        inv_scale = self._inv_scale(n_features)
        if penalty.weight is not None:
            inv_scale = inv_scale * penalty.weight
        return penalty.l2 * np.square(inv_scale)

    def _coef_scale(self, ndim):
        """The factor ``p`` of ``theta = p * coef``, for coefficients of ``ndim``."""
        # Estimators fitted before the rescaling existed have no _scale.
        scale = getattr(self, "_scale", None)
        if scale is None:
            return 1.0
        return scale if ndim == 1 else scale[:, None]

    def _inv_scale(self, n_features):
        """``1 / p`` as a float64 vector of length ``n_features``."""
        return np.broadcast_to(1.0 / np.asarray(self._coef_scale(1)), n_features)

    def _pack(self, coef, intercept, dtype):
        """Return the parameter buffer of the user-facing ``coef, intercept``."""
        coef = coef if coef.ndim == 1 else coef.T
        params = np.zeros((coef.shape[0] + 1, *coef.shape[1:]), dtype=dtype)
        params[:-1] = coef * self._coef_scale(coef.ndim)
        if self.fit_intercept:
            centred = intercept + self._offset @ coef
            params[-1] = centred if coef.ndim == 2 else centred[0]
        return params

    def _unpack(self, params):
        """Return ``coef`` (one column per target) and ``intercept`` of ``params``."""
        coef = self._unscale(params).astype(params.dtype, copy=False)
        if not self.fit_intercept:
            return coef, np.zeros(np.size(params[-1]), dtype=params.dtype)
        return coef, np.atleast_1d(params[-1] - self._offset @ coef)

    def densify(self):
        """Make ``coef_`` a dense array again, after :meth:`sparsify`.

        It takes the shape a fit gives it (1-d for a single-target
        regressor), whatever SciPy's sparse matrices made of it.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        self.coef_ = self._dense_coef()
        return self

    def _dense_coef(self):
        """``coef_`` as an array, also after :meth:`sparsify` made it sparse.

        A sparse ``coef_`` is a ``(n_targets, n_features)`` matrix; a
        single-target regressor's dense ``coef_`` is 1-d.
        """
        coef = self.coef_
        if not sp.issparse(coef):
            return coef
        coef = coef.toarray()
        one_target = np.size(self.intercept_) == 1 and not is_classifier(self)
        return coef.ravel() if one_target else coef

    def _current_params(self):
        coef = self._dense_coef()
        return self._pack(coef, self.intercept_, coef.dtype)

    def _check_init(self, coef_init, intercept_init, params):
        """Overwrite ``params`` with the user's starting values."""
        coef, intercept = self._unpack(params)
        coef = coef if coef.ndim == 1 else coef.T
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=params.dtype)
            if coef_init.shape != coef.shape:
                raise ValueError(
                    f"coef_init has shape {coef_init.shape}; expected {coef.shape}."
                )
            _check_finite(coef_init, "coef_init")
            coef = coef_init
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=params.dtype).ravel()
            if intercept_init.shape != intercept.shape:
                raise ValueError(
                    f"intercept_init has shape {intercept_init.shape}; expected "
                    f"{intercept.shape}."
                )
            _check_finite(intercept_init, "intercept_init")
            intercept = intercept_init
        params[...] = self._pack(coef, intercept, params.dtype)

    def _set_fitted(self, params):
        coef, self.intercept_ = self._unpack(params)
        self.coef_ = coef.copy() if coef.ndim == 1 else np.ascontiguousarray(coef.T)

    def _curvatures(self, X, index, weight, batch_size, ridge):
        """``L`` and the mini-batch ``L_b`` of the rescaled data, plus ``ridge``.

        Per unit of the loss's curvature; ``ridge`` (or None) is a diagonal
        added to the second moment.
        """
        offset = None if self._offset is None else self._offset.astype(np.float64)
        inv_scale = self._inv_scale(X.shape[1])
        # The intercept is a column of ones. It is decoupled from features
        # centred on their mean, but not, say, on a later partial_fit chunk.
        intercept = offset is not None
        top = top_eigenvalue(X, index, weight, offset, inv_scale, ridge, intercept)
        n = len(weight)
        b = min(batch_size, n)
        lipschitz = top
        if b < n:
            largest = largest_row_norm(
                X, index, weight, offset, inv_scale, float(intercept)
            )
            largest += 0.0 if ridge is None else float(np.max(ridge))
            lipschitz = (n * (b - 1) * top + (n - b) * largest) / (b * (n - 1))
        if not np.isfinite(lipschitz):
            raise _too_extreme("X", max_abs(X))
        return top, lipschitz

    def _structure(self):
        return {"fit_intercept": self.fit_intercept}

    def _fitted_structure(self):
        # A model fitted with an intercept has the offset of its centring.
        return {"fit_intercept": getattr(self, "_offset", None) is not None}

    def _get_schedule(self):
        if self.schedule == "optimal":
            if self.alpha <= 0:
                raise ValueError(
                    'schedule="optimal" needs alpha > 0: its step is '
                    "1 / (alpha * (t0 + t))."
                )
            return get_schedule("optimal").set_params(alpha=self.alpha)
        return super()._get_schedule()
