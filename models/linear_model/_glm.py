"""Generalized linear models: :class:`LogisticRegression` and :class:`PoissonRegressor`.

Both minimise scikit-learn's objective with dlinalg's optimizers
(:func:`dlinalg.newton_cg`, :func:`dlinalg.lbfgs`): the loss is a weighted
mean over the rows of X, read in one pass per evaluation, and the small
vectors stay on the client.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import dask.array as da
import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, d2_tweedie_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

import dlinalg as dl

from .._validation import Range
from ._glm_common import fit_inputs, give_back, in_memory, linear_predictor, take_labels, values

__all__ = ["LogisticRegression", "PoissonRegressor"]

#: The optimizers' stop codes that are not convergence (7: iteration limit).
NOT_CONVERGED = (7,)


def _solve(solver: str, A: Any, y: Any, **kw: Any) -> Any:
    """Run ``dl.newton_cg`` (``"newton-exact"``, ``"newton-cg"``) or ``dl.lbfgs``."""
    tol, max_iter = kw.pop("tol"), kw.pop("max_iter")
    if solver.startswith("newton"):
        kw.pop("l1")
        hessian = "exact" if solver == "newton-exact" else "cg"
        return dl.newton_cg(A, y, hessian=hessian, gtol=tol, maxiter=max_iter, **kw)
    # SciPy's L-BFGS-B rule as scikit-learn sets it (ftol = 64 eps)
    return dl.lbfgs(A, y, gtol=tol, ftol=64 * np.finfo(float).eps, maxiter=max_iter, **kw)


def _warn_convergence(res: Any, name: str) -> None:
    if res.status in NOT_CONVERGED:
        warnings.warn(
            f"{name} failed to converge after {res.nit} iteration(s) ({res.message}); "
            "increase max_iter or scale the data",
            ConvergenceWarning,
            stacklevel=3,
        )


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression (binary and multinomial), scikit-learn's API on dlinalg.

    Minimises scikit-learn's objective, written as a weighted mean:

    ``sum_i s_i l(z_i, y_i) / S + (1 - r) / (2 C S) ||W||^2 + r / (C S) ||W||_1``

    with ``z = X W^T + b``, ``l`` the binary (two classes) or multinomial
    (more) log loss, ``s`` the sample weights times the class weights,
    ``S = sum_i s_i`` and ``r`` the L1 ratio. That is scikit-learn's
    ``C sum_i s_i l_i + penalty`` divided by ``C S``: the same minimiser.
    Accepts numpy, scipy.sparse, Dask arrays, :class:`dlinalg.DRM`, Zarr
    store paths and xarray DataArrays.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", None} or "auto", default="auto"
        ``"auto"`` follows scikit-learn 1.8+: the penalty comes from
        ``l1_ratio`` (0: L2, 1: L1, between: elastic net) and ``C=np.inf``
        means none. An explicit penalty is honoured as scikit-learn < 1.8 did
        (``None``: no penalty, ``C`` ignored); no deprecation warning is given.
    C : float, default=1.0
        Inverse of the regularisation strength, ``> 0`` (``np.inf``: none).
    l1_ratio : float or None, default=0.0
        The elastic-net mixing ``r`` in ``[0, 1]``; required with
        ``penalty="elasticnet"``.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept (one per class for more than two).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, folded into the sample weights as
        scikit-learn does (``"balanced"``: ``n_samples / (n_classes *
        bincount(y))``, counting the sample weights).
    solver : {"auto", "lbfgs", "newton-cg", "newton-cholesky", "sag", "saga", \
"liblinear"}, default="auto"
        ``"auto"`` and ``"lbfgs"``: :func:`dlinalg.lbfgs`, about one pass per
        iteration (OWL-QN with an L1 part), scikit-learn's default.
        ``"newton-cholesky"``: Newton's method with the exact Hessian
        (5-10 passes to machine precision, each forming ``X^T D X``; for more
        than two classes Hessian-vector CG);
        ``"newton-cg"``: truncated Newton (one pass per Hessian-vector
        product); ``"sag"``, ``"saga"`` and ``"liblinear"``: as ``"lbfgs"``. The Newton
        solvers refuse an L1 part, as scikit-learn's do.
    max_iter : int, default=100
        Iteration limit; a :class:`~sklearn.exceptions.ConvergenceWarning`
        when it is reached.
    tol : float, default=1e-4
        Stop when the largest entry of the (pseudo-)gradient of the objective
        above is at most ``tol`` (scikit-learn's ``gtol`` of L-BFGS).
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when they fit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted (``np.unique(y)``).
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for two classes (the log-odds of ``classes_[1]``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,)
        Iterations of the solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The in-memory original.
    dlinalg.lbfgs, dlinalg.newton_cg : The optimizers.

    Notes
    -----
    Passes over X in ``fit``: one to persist it, then exact Newton about one
    per iteration (value, gradient and ``X^T D X`` together, usually 5 to
    10), L-BFGS about one per iteration (one per line-search trial).
    ``y`` and the weights are vectors and are read into memory. Predictions
    are lazy for Dask, DRM and Zarr input (Dask arrays: class labels of any
    type cannot live in a DRM).

    References
    ----------
    .. [1] J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
       Springer (2006), chapters 7 (L-BFGS, Newton-CG).
    .. [2] G. Andrew and J. Gao, "Scalable training of L1-regularized
       log-linear models", ICML (2007) (OWL-QN).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> y = np.where(X @ [1.0, -2.0, 0.5] + 0.3 * rng.standard_normal(200) > 0, "yes", "no")
    >>> clf = LogisticRegression(C=1.0, tol=1e-10).fit(dl.from_array(X, chunks=50), y)
    >>> clf.classes_
    array(['no', 'yes'], dtype='<U3')
    >>> clf.coef_.shape, clf.intercept_.shape
    ((1, 3), (1,))
    >>> clf.predict(X[:3])
    array(['yes', 'yes', 'no'], dtype='<U3')
    >>> from sklearn.linear_model import LogisticRegression as SkLogistic
    >>> sk = SkLogistic(tol=1e-10).fit(X, y)
    >>> bool(np.allclose(clf.coef_, sk.coef_, rtol=1e-6))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "penalty": [StrOptions({"auto", "l1", "l2", "elasticnet"}), None],
        "C": [Range(Real, 0, None, closed="right")],
        "l1_ratio": [Range(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "solver": [
            StrOptions(
                {"auto", "lbfgs", "newton-cg", "newton-cholesky", "sag", "saga", "liblinear"}
            )
        ],
        "max_iter": [Range(Integral, 1, None, closed="left")],
        "tol": [Range(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        penalty: str | None = "auto",
        *,
        C: float = 1.0,
        l1_ratio: float | None = 0.0,
        fit_intercept: bool = True,
        class_weight: dict | str | None = None,
        solver: str = "auto",
        max_iter: int = 100,
        tol: float = 1e-4,
        warm_start: bool = False,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    def _ratio_and_C(self) -> tuple[float, float]:
        """The L1 ratio and C the penalty means (``C = inf``: no penalty)."""
        penalty, r = self.penalty, self.l1_ratio
        if penalty == "auto":  # scikit-learn >= 1.8
            return (0.0 if r is None else float(r)), float(self.C)
        if penalty is None:
            return 0.0, np.inf
        if penalty == "elasticnet":
            if r is None:
                raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
            return float(r), float(self.C)
        return (1.0 if penalty == "l1" else 0.0), float(self.C)

    def _solver(self, ratio: float, n_classes: int, n_features: int) -> str:
        solver = self.solver
        l1 = ratio > 0
        if solver in ("newton-cg", "newton-cholesky") and l1:
            raise ValueError(
                f"Solver {solver} supports only 'l2' or None penalties (l1_ratio=0), got "
                f"l1_ratio={ratio}; use solver='lbfgs' (OWL-QN) or 'saga'"
            )
        if solver == "newton-cholesky":
            return "newton-exact" if n_classes == 2 else "newton-cg"
        if solver == "newton-cg":
            return "newton-cg"
        return "lbfgs"  # "auto" is scikit-learn's default solver

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data; sparse data stays sparse.
        y : array-like or dask array of shape (n_samples,)
            Class labels of any type (read into memory).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (default 1), multiplied by the class weights.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters, a single class, continuous labels, y or
            sample_weight of the wrong length, negative weights, NaN/inf in
            in-memory X, y or weights: all before any pass over X. NaN/inf in
            lazy X is reported by the first pass
            (:class:`~dlinalg.errors.NonFiniteError`).
        """
        ratio, C = self._ratio_and_C()
        data, y, sw = fit_inputs(self, X, y, sample_weight, classifier=True, check_y=_check_labels)
        classes = np.unique(y)
        index = np.searchsorted(classes, y)
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=y, sample_weight=sw)
            sw = (np.ones(len(y)) if sw is None else sw) * cw[index]
        total = float(len(y) if sw is None else sw.sum())
        if not total > 0:
            raise ValueError("sample_weight (times the class weights) sums to 0: nothing to fit")
        K, n = classes.size, data.shape[1]
        strength = 1.0 / (C * total)  # 0 for C = inf
        solver = self._solver(ratio, K, n)
        if K == 2:
            target, loss, n_classes = (index == 1).astype(np.float64), "logistic", None
        else:
            target, loss, n_classes = index.astype(np.float64), "multinomial", K
        res = _solve(
            solver, data.matrix, target, loss=loss, n_classes=n_classes, sample_weight=sw,
            fit_intercept=bool(self.fit_intercept), l2=(1.0 - ratio) * strength,
            l1=ratio * strength, x0=self._start(n, K), tol=float(self.tol),
            max_iter=int(self.max_iter),
        )  # fmt: skip
        _warn_convergence(res, f"LogisticRegression (solver={solver!r})")
        dt = data.dtype
        W = np.asarray(res.coef).reshape(n, -1).T  # (1, n) or (K, n)
        b = np.atleast_1d(np.asarray(res.intercept, dtype=np.float64))
        if not self.fit_intercept:
            b = np.zeros(W.shape[0])
        if K > 2:  # softmax is blind to a shift shared by all classes: take the centred one
            b = b - b.mean()  # (any shift of the unpenalised intercepts is optimal)
            if ratio == 0 and strength == 0:  # no penalty: W is unique up to that shift too
                W = W - W.mean(axis=0)
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(W, dtype=dt)
        self.intercept_ = b.astype(dt)
        self.n_iter_ = np.array([res.nit], dtype=np.int32)
        return self

    def _start(self, n: int, K: int) -> np.ndarray | None:
        """The warm start, flat as the optimizers take it, when the shapes fit."""
        if not self.warm_start or not hasattr(self, "coef_"):
            return None
        k = 1 if K == 2 else K
        W = np.asarray(self.coef_, dtype=np.float64)
        if W.shape != (k, n):
            return None
        x0 = W.T.ravel()
        if self.fit_intercept:
            x0 = np.concatenate([x0, np.asarray(self.intercept_, dtype=np.float64)])
        return x0

    # --- predictions ------------------------------------------------------------
    def decision_function(self, X: Any) -> Any:
        """Confidence scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray, dask array or xarray.DataArray of shape (n_samples,) or \
(n_samples, n_classes)
            1-D for two classes (the log-odds of ``classes_[1]``); lazy for lazy input.
        """
        check_is_fitted(self)
        data, Z = linear_predictor(self, X)
        if Z.shape[1] == 1:
            return give_back(data, Z[:, 0])
        return give_back(data, Z, "class", {"class": self.classes_})

    def _proba(self, X: Any) -> tuple[Any, da.Array]:
        check_is_fitted(self)
        data, Z = linear_predictor(self, X)
        if Z.shape[1] == 1:
            return data, Z.map_blocks(_binary_proba, chunks=(Z.chunks[0], (2,)), dtype=Z.dtype)
        return data, Z.map_blocks(softmax, axis=1, dtype=Z.dtype)

    def predict_proba(self, X: Any) -> Any:
        """Probability of each class, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray, dask array or xarray.DataArray of shape (n_samples, n_classes)
            The logistic function of the decision (two classes) or its
            softmax (more); lazy for lazy input.
        """
        data, P = self._proba(X)
        return give_back(data, P, "class", {"class": self.classes_})

    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray, dask array or xarray.DataArray of shape (n_samples, n_classes)
        """
        data, P = self._proba(X)
        return give_back(data, da.log(P), "class", {"class": self.classes_})

    def predict(self, X: Any) -> Any:
        """Predict the class labels (the largest decision).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray, dask array or xarray.DataArray of shape (n_samples,)
            Values of ``classes_``; lazy for lazy input.
        """
        check_is_fitted(self)
        data, Z = linear_predictor(self, X)
        idx = (Z[:, 0] > 0).astype(np.intp) if Z.shape[1] == 1 else Z.argmax(axis=1)
        return give_back(data, take_labels(self.classes_, idx))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy on ``X`` and ``y`` (computed whatever the input).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
        y : array-like or dask array of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
        """
        pred = values(self.predict(X))
        return float(accuracy_score(in_memory(y), pred, sample_weight=in_memory(sample_weight)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_labels(y: np.ndarray) -> None:
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but the data "
            f"contains only one class: {classes[0]!r}"
        )


def _check_counts(y: np.ndarray) -> None:
    if (y < 0).any():
        raise ValueError(
            "Some value(s) of y are out of the valid range of the loss 'HalfPoissonLoss': "
            f"y must be >= 0, got min(y)={float(y.min())!r}"
        )


def _binary_proba(z: np.ndarray) -> np.ndarray:
    p = expit(z[:, 0])
    return np.column_stack([1.0 - p, p]).astype(z.dtype, copy=False)


class PoissonRegressor(RegressorMixin, BaseEstimator):
    """Poisson regression (log link), scikit-learn's API on dlinalg.

    Minimises scikit-learn's objective ``sum_i s_i d(y_i, exp(z_i)) / (2 S)
    + (alpha / 2) ||w||^2`` with ``z = X w + b``, ``d`` the Poisson deviance,
    ``s`` the sample weights and ``S = sum_i s_i``. Accepts numpy,
    scipy.sparse, Dask arrays, :class:`dlinalg.DRM`, Zarr store paths and
    xarray DataArrays.

    Parameters
    ----------
    alpha : float, default=1.0
        L2 penalty strength, ``>= 0`` (the intercept is not penalised).
    fit_intercept : bool, default=True
        Fit an intercept (added to the linear predictor).
    solver : {"lbfgs", "newton-cholesky"}, default="lbfgs"
        :func:`dlinalg.lbfgs`, or :func:`dlinalg.newton_cg` with the exact
        Hessian ``X^T diag(s mu) X`` (one pass per iteration; use it for few
        features).
    max_iter : int, default=100
        Iteration limit (:class:`~sklearn.exceptions.ConvergenceWarning` when reached).
    tol : float, default=1e-4
        Stop when the largest entry of the objective's gradient is at most ``tol``.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients of the linear predictor.
    intercept_ : float
        Intercept of the linear predictor (0.0 without ``fit_intercept``).
    n_iter_ : int
        Iterations of the solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.linear_model.PoissonRegressor : The in-memory original.

    Notes
    -----
    Passes over X: one to persist it, then about one per iteration. ``y``
    and the weights are read into memory. ``predict`` is one lazy pass.

    References
    ----------
    .. [1] P. McCullagh and J. A. Nelder, "Generalized Linear Models", 2nd ed.,
       Chapman and Hall (1989).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 2))
    >>> y = rng.poisson(np.exp(X @ [0.5, -0.3] + 1.0))
    >>> reg = PoissonRegressor(alpha=0.01, tol=1e-10).fit(dl.from_array(X, chunks=100), y)
    >>> reg.coef_.round(1), round(float(reg.intercept_), 1)
    (array([ 0.5, -0.3]), 1.0)
    >>> from sklearn.linear_model import PoissonRegressor as SkPoisson
    >>> sk = SkPoisson(alpha=0.01, tol=1e-10).fit(X, y)
    >>> bool(np.allclose(reg.coef_, sk.coef_, rtol=1e-5))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Range(Real, 0.0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"lbfgs", "newton-cholesky"})],
        "max_iter": [Range(Integral, 1, None, closed="left")],
        "tol": [Range(Real, 0.0, None, closed="neither")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        fit_intercept: bool = True,
        solver: str = "lbfgs",
        max_iter: int = 100,
        tol: float = 1e-4,
        warm_start: bool = False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PoissonRegressor:
        """Fit the model.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data.
        y : array-like or dask array of shape (n_samples,)
            Counts (any values ``>= 0``).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters, negative y, wrong lengths, negative weights,
            NaN/inf in in-memory input: all before any pass over X.
        """
        data, y, sw = fit_inputs(
            self, X, y, sample_weight, classifier=False, check_y=_check_counts
        )
        if sw is not None and not sw.sum() > 0:
            raise ValueError("sample_weight sums to 0: nothing to fit")
        solver = "newton-exact" if self.solver == "newton-cholesky" else "lbfgs"
        res = _solve(
            solver, data.matrix, y, loss="poisson", sample_weight=sw,
            fit_intercept=bool(self.fit_intercept), l2=float(self.alpha), l1=0.0,
            x0=self._start(data.shape[1]), tol=float(self.tol), max_iter=int(self.max_iter),
        )  # fmt: skip
        _warn_convergence(res, f"PoissonRegressor (solver={self.solver!r})")
        dt = data.dtype
        self.coef_ = np.asarray(res.coef, dtype=dt)
        self.intercept_ = float(res.intercept) if self.fit_intercept else 0.0
        self.n_iter_ = int(res.nit)
        return self

    def _start(self, n: int) -> np.ndarray | None:
        if not self.warm_start or not hasattr(self, "coef_") or np.shape(self.coef_) != (n,):
            return None
        x0 = np.asarray(self.coef_, dtype=np.float64)
        return np.append(x0, self.intercept_) if self.fit_intercept else x0

    def predict(self, X: Any) -> Any:
        """Predicted means ``exp(X @ coef_ + intercept_)``.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray, dask array or xarray.DataArray of shape (n_samples,)
            Lazy for lazy input.
        """
        check_is_fitted(self)
        data, Z = linear_predictor(self, X)
        return give_back(data, da.exp(Z[:, 0]))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """D^2, the fraction of the Poisson deviance explained (scikit-learn's definition).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
        y : array-like or dask array of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
            :func:`sklearn.metrics.d2_tweedie_score` with ``power=1``.
        """
        pred = values(self.predict(X))
        y = np.asarray(in_memory(y), dtype=np.float64)
        sw = in_memory(sample_weight)
        return float(d2_tweedie_score(y, pred, sample_weight=sw, power=1))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.positive_only = True
        return tags
