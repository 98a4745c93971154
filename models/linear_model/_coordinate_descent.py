"""Lasso and elastic net: one pass for the Gram matrix, then scikit-learn's coordinate descent.

scikit-learn's objective,

``(1 / (2 S)) sum_i s_i (y_i - x_i w - b)^2 + alpha r ||w||_1 + (alpha (1 - r) / 2) ||w||^2``

(``s`` the sample weights, ``S`` their sum; ``s = 1`` and ``S = n_samples``
by default), depends on the data only through the weighted, centred Gram
``Xc^T diag(s) Xc``, ``Xc^T diag(s) yc``, ``yc^T diag(s) yc`` and the means.
With at most :data:`GRAM_MAX_FEATURES` features one pass over ``[X y]``
gives them all, and scikit-learn's own coordinate descent on the Gram
(``sklearn.linear_model._cd_fast.enet_coordinate_descent_gram``, what
``ElasticNet(precompute=Gram)`` runs) gives scikit-learn's coefficients: a
whole regularization path costs that one pass. Wider X goes to
:func:`dlinalg.proximal_gradient` with the elastic-net proximal operator.

A warm-started estimator (``warm_start=True``) keeps the moments of its last
fit, keyed by :func:`moments_key` (the tokens of X, y, the weights and
everything else the pass depends on): refitting the same data with another
alpha, as a hand-written regularization path does, reads X only once, as
:func:`lasso_path` does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import dask
import numpy as np
import scipy.sparse as sp
from dask.base import tokenize
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, _fit_context
from sklearn.linear_model import _cd_fast
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

import dlinalg as dl
from dlinalg._tokens import array_token
from dlinalg.decomp.moments import comoments
from dlinalg.optimize import prox

from .._validation import Range
from ._glm_common import fit_inputs, give_back, in_memory, linear_predictor, values
from ._solvers import GRAM_MAX_COLUMNS, raise_non_finite

__all__ = ["ElasticNet", "Lasso", "enet_path", "lasso_path"]

#: Up to this many features (plus targets) the Gram path is taken: its
#: ``(n + t)^2`` accumulator stays below a Dask chunk (LinearRegression's bound).
GRAM_MAX_FEATURES = GRAM_MAX_COLUMNS

#: A warm-started estimator keeps the moments of its last fit up to this size
#: (``Gxx`` alone is ``8 n_features^2`` bytes: 128 MiB at the Gram bound).
MOMENTS_CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Moments:
    """The weighted, centred second moments of ``[X Y]`` (float64), from one pass.

    ``n`` is the number of samples: scikit-learn rescales the weights to sum
    to it, so ``Gxx = Xc^T diag(s) Xc`` with ``sum(s) = n``.
    """

    n: int
    x_mean: np.ndarray
    y_mean: np.ndarray
    Gxx: np.ndarray
    Gxy: np.ndarray
    yy: np.ndarray

    @property
    def nbytes(self) -> int:
        """The memory the moments hold (views count as the arrays they view)."""
        owners = {}
        for a in (self.x_mean, self.y_mean, self.Gxx, self.Gxy, self.yy):
            base = a if a.base is None else a.base
            owners[id(base)] = base.nbytes
        return sum(owners.values())

    def frozen(self) -> Moments:
        """The same moments, read-only: what a cache may hand out again."""
        for a in (self.x_mean, self.y_mean, self.Gxx, self.Gxy, self.yy):
            a.flags.writeable = False
        return self


def moments_key(data: Any, y: np.ndarray, sw: np.ndarray | None, fit_intercept: bool) -> str:
    """A deterministic identity of everything :func:`gram_moments` reads.

    X by its DRM token (its graph's name: the data's hash for in-memory
    input, with its row blocks; the deterministic name of a Dask array, DRM
    or Zarr store), its dtype, ``y`` and the weights by their bytes (with
    strides, :func:`dlinalg._tokens.array_token`), ``fit_intercept``, and the
    ``dlinalg.*`` configuration (it fixes the reduction tree, hence the
    rounding). Equal keys give bit-identical moments.
    """
    config = tokenize(dask.config.get("dlinalg", default=None))
    X = data.matrix
    return array_token("gram-moments", tokenize(X), str(X.dtype), y, sw, fit_intercept, config)


def gram_moments(data: Any, y: np.ndarray, sw: np.ndarray | None, fit_intercept: bool) -> Moments:
    """One pass over ``[X y]`` for what the coordinate descent needs."""
    X = data.matrix
    m, n = X.shape
    Y = y.reshape(m, -1)
    chunks = X.chunks
    if sw is None:  # Chan et al.'s pairwise update: accurate centring
        count, mean, scatter = comoments(X, dl.from_array(Y, chunks=chunks), check_finite=False)
        raise_non_finite(~np.isfinite(np.diag(scatter) + mean), n, X.col_labels)
        if not fit_intercept:
            scatter = scatter + count * np.outer(mean, mean)
            mean = np.zeros_like(mean)
        G = scatter
    else:  # [X 1 Y] scaled by sqrt(s): its Gram holds every weighted sum
        s = sw * (m / sw.sum())
        r = np.sqrt(s).reshape(-1, 1)
        R = dl.from_array(r, chunks=chunks)
        RY = dl.from_array(r * Y, chunks=chunks)
        M = dl.cbind(X * R, R, RY)
        S = np.asarray(dl.compute(M.T @ M)[0], dtype=np.float64)
        if sp.issparse(S):
            S = S.toarray()
        raise_non_finite(~np.isfinite(np.diag(S)), n, X.col_labels)
        idx = np.r_[0:n, n + 1 : S.shape[0]]
        G = S[np.ix_(idx, idx)]
        mean = S[n, idx] / m if fit_intercept else np.zeros(idx.size)
        G = G - m * np.outer(mean, mean)
    return Moments(m, mean[:n], mean[n:], G[:n, :n], G[:n, n:], np.diag(G)[n:].copy())


def _descend(
    mom: Moments,
    k: int,
    coef: np.ndarray,
    alpha: float,
    l1_ratio: float,
    *,
    max_iter: int,
    tol: float,
    rng: Any,
    random: bool,
    positive: bool,
) -> tuple[np.ndarray, float, int]:
    """scikit-learn's Gram coordinate descent for target ``k``, from ``coef`` (updated)."""
    n = mom.n
    w = np.ascontiguousarray(coef, dtype=np.float64)
    Q = np.ascontiguousarray(mom.Gxx)
    q = np.ascontiguousarray(mom.Gxy[:, k])
    # only ||yc||^2 enters the duality gap: a one-entry y with that norm
    y = np.array([np.sqrt(max(mom.yy[k], 0.0))])
    l1, l2 = alpha * l1_ratio * n, alpha * (1.0 - l1_ratio) * n
    w, gap, _eps, n_iter = _cd_fast.enet_coordinate_descent_gram(
        w, l1, l2, Q, q, y, max_iter, tol, rng, random, positive, True
    )
    return np.asarray(w), float(gap) / n, int(n_iter)


class ElasticNet(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Linear regression with combined L1 and L2 priors, scikit-learn's API on dlinalg.

    Minimises scikit-learn's objective ``(1 / (2 n_samples)) ||y - X w - b||^2
    + alpha l1_ratio ||w||_1 + (alpha (1 - l1_ratio) / 2) ||w||^2``; sample
    weights make the squared loss a weighted mean (scikit-learn rescales them
    to sum to ``n_samples``). Accepts numpy, scipy.sparse, Dask arrays,
    :class:`dlinalg.DRM`, Zarr store paths and xarray DataArrays.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength, ``>= 0``.
    l1_ratio : float, default=0.5
        The mixing in ``[0, 1]``: 1 is the lasso, 0 ridge.
    fit_intercept : bool, default=True
        Fit an intercept (X and y are centred implicitly, never modified).
    precompute : bool or "auto", default=False
        Accepted for compatibility: the Gram is always precomputed (one
        pass) when X has at most 4096 features.
    max_iter : int, default=1000
        Iterations (sweeps over the coefficients) of the coordinate descent;
        of :func:`dlinalg.proximal_gradient` for wider X.
    copy_X : bool, default=True
        Accepted for compatibility; the input is never modified.
    tol : float, default=1e-4
        scikit-learn's: stop when the duality gap is at most ``tol`` times
        ``||y||^2 / n_samples`` (see :class:`sklearn.linear_model.ElasticNet`);
        TFOCS's relative step rule for wider X.
    warm_start : bool, default=False
        Start from the previous ``coef_``, and reuse the previous fit's Gram
        moments when X, y, sample_weight and ``fit_intercept`` are the same
        (by their Dask tokens): a loop over alphas reads X once.
    positive : bool, default=False
        Force the coefficients to be ``>= 0``.
    random_state : int, RandomState instance or None, default=None
        With ``selection="random"``: the seed of the coordinate order.
    selection : {"cyclic", "random"}, default="cyclic"
        The order of the coordinate updates.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 without ``fit_intercept``).
    dual_gap_ : float or ndarray of shape (n_targets,)
        The duality gap at the end of the optimization (NaN for wide X).
    n_iter_ : int or list of int
        Iterations of the solver (per target for 2-D y).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.
    sparse_coef_ : scipy.sparse array of shape (1, n_features)
        ``coef_`` as a sparse array.

    See Also
    --------
    sklearn.linear_model.ElasticNet : The in-memory original.
    Lasso : ``l1_ratio=1``.
    enet_path : A regularization path from the same single pass.

    Notes
    -----
    Passes over X in ``fit``: one (the weighted, centred Gram of ``[X y]``)
    when X has at most 4096 features; the coordinate descent then runs in
    memory on ``n_features^2`` numbers, exactly as scikit-learn's
    ``precompute=True`` does, so the coefficients are scikit-learn's. Sparse
    X with sample weights is densified block by block for that pass (one row
    block at a time). Wider X: :func:`dlinalg.proximal_gradient`, two passes
    per iteration. ``predict`` is one lazy pass.

    References
    ----------
    .. [1] J. Friedman, T. Hastie and R. Tibshirani, "Regularization paths
       for generalized linear models via coordinate descent", J. Stat.
       Softw. 33(1) (2010).
    .. [2] H. Zou and T. Hastie, "Regularization and variable selection via
       the elastic net", J. R. Stat. Soc. B 67(2) (2005).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import ElasticNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 4))
    >>> y = X @ [1.0, 0.0, -2.0, 0.0] + 0.1 * rng.standard_normal(100)
    >>> enet = ElasticNet(alpha=0.1, l1_ratio=0.7).fit(dl.from_array(X, chunks=30), y)
    >>> enet.coef_.round(2)
    array([ 0.87,  0.  , -1.86, -0.  ])
    >>> from sklearn.linear_model import ElasticNet as SkElasticNet
    >>> sk = SkElasticNet(alpha=0.1, l1_ratio=0.7).fit(X, y)
    >>> bool(np.allclose(enet.coef_, sk.coef_, rtol=1e-10, atol=1e-12))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Range(Real, 0, None, closed="left")],
        "l1_ratio": [Range(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "precompute": ["boolean", StrOptions({"auto"}), "array-like"],
        "max_iter": [Range(Integral, 1, None, closed="left"), None],
        "copy_X": ["boolean"],
        "tol": [Range(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        l1_ratio: float = 0.5,
        fit_intercept: bool = True,
        precompute: bool | str = False,
        max_iter: int = 1000,
        copy_X: bool = True,
        tol: float = 1e-4,
        warm_start: bool = False,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _l1_ratio(self) -> float:
        return float(self.l1_ratio)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None, check_input: bool = True) -> Any:
        """Fit the model by coordinate descent on the Gram matrix (one pass over X).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data; sparse data stays sparse.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            Targets (read into memory).
        sample_weight : float or array-like of shape (n_samples,), optional
            Non-negative weights, rescaled to sum to ``n_samples``.
        check_input : bool, default=True
            Accepted for compatibility; input is always checked.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters, y or sample_weight of the wrong length,
            negative weights, ``positive=True`` with 2-D y, NaN/inf (in-memory
            input before anything runs; lazy X at its pass).
        """
        if self.alpha == 0:
            warnings.warn(
                "With alpha=0, this algorithm does not converge well. You are advised to use "
                "the LinearRegression estimator",
                UserWarning,
                stacklevel=2,
            )
        data, y, sw = fit_inputs(
            self, X, y, sample_weight, classifier=False, multi_output=True,
            check_y=self._check_y,
        )  # fmt: skip
        if sw is not None and not sw.sum() > 0:
            raise ValueError("sample_weight sums to 0: nothing to fit")
        Y = y.reshape(y.shape[0], -1)
        n, t = data.shape[1], Y.shape[1]
        coef = np.zeros((t, n))
        if self.warm_start and hasattr(self, "coef_"):
            prev = np.asarray(self.coef_, dtype=np.float64).reshape(-1, n)
            if prev.shape == coef.shape:
                coef = prev.copy()
        if n + t <= GRAM_MAX_FEATURES:
            intercept, gaps, n_iter = self._fit_gram(data, Y, sw, coef)
        else:
            intercept, gaps, n_iter = self._fit_proximal(data, Y, sw, coef)
        dt = data.dtype
        if y.ndim == 1:
            self.coef_ = coef[0].astype(dt)
            self.intercept_ = float(intercept[0]) if self.fit_intercept else 0.0
            self.dual_gap_, self.n_iter_ = float(gaps[0]), n_iter[0]
        else:
            self.coef_ = coef.astype(dt)
            self.intercept_ = intercept.astype(dt) if self.fit_intercept else 0.0
            self.dual_gap_, self.n_iter_ = np.asarray(gaps, dtype=dt), n_iter
        if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all()):
            raise ValueError(
                "Coordinate descent iterations resulted in non-finite parameter values. The "
                "input data may contain large values and need to be preprocessed."
            )
        return self

    def _check_y(self, y: np.ndarray) -> None:
        if self.positive and y.ndim == 2 and y.shape[1] > 1:
            raise ValueError("positive=True is not allowed for multi-output (y.ndim != 1)")

    def _moments(self, data: Any, Y: np.ndarray, sw: Any) -> Moments:
        """The Gram moments: the previous fit's when warm-started on the same inputs.

        The cache is a private attribute (``clone`` and pickling drop it) and
        holds one entry of at most :data:`MOMENTS_CACHE_BYTES`.
        """
        fit_intercept = bool(self.fit_intercept)
        if not self.warm_start:
            self.__dict__.pop("_moments_cache", None)
            return gram_moments(data, Y, sw, fit_intercept)
        key = moments_key(data, Y, sw, fit_intercept)
        cached = getattr(self, "_moments_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        self.__dict__.pop("_moments_cache", None)  # free the old moments before the pass
        mom = gram_moments(data, Y, sw, fit_intercept)
        if mom.nbytes <= MOMENTS_CACHE_BYTES:
            self._moments_cache = (key, mom.frozen())
        return mom

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: object's is __dict__ itself
        state.pop("_moments_cache", None)  # a cache, up to 256 MiB: not part of the model
        return state

    def _fit_gram(self, data: Any, Y: np.ndarray, sw: Any, coef: np.ndarray) -> tuple:
        mom = self._moments(data, Y, sw)
        rng = check_random_state(self.random_state)
        gaps, n_iter = [], []
        for k in range(Y.shape[1]):
            coef[k], gap, it = _descend(
                mom, k, coef[k], float(self.alpha), self._l1_ratio(),
                max_iter=int(self.max_iter), tol=float(self.tol), rng=rng,
                random=self.selection == "random", positive=bool(self.positive),
            )  # fmt: skip
            gaps.append(gap)
            n_iter.append(it)
        intercept = mom.y_mean - coef @ mom.x_mean
        return intercept, gaps, n_iter

    def _fit_proximal(self, data: Any, Y: np.ndarray, sw: Any, coef: np.ndarray) -> tuple:
        """Wide X: TFOCS's accelerated proximal gradient on the same objective."""
        self.__dict__.pop("_moments_cache", None)  # no moments on this path
        a, r = float(self.alpha), self._l1_ratio()
        h = prox.elastic_net(a * r, a * (1.0 - r), positive=bool(self.positive))
        intercept, n_iter = np.zeros(Y.shape[1]), []
        for k in range(Y.shape[1]):
            x0 = np.append(coef[k], 0.0) if self.fit_intercept else coef[k]
            res = dl.proximal_gradient(
                data.matrix, Y[:, k], loss="squared", prox=h, sample_weight=sw,
                fit_intercept=bool(self.fit_intercept), x0=x0, maxiter=int(self.max_iter),
                tol=float(self.tol),
            )  # fmt: skip
            coef[k], intercept[k] = res.coef, res.intercept
            n_iter.append(int(res.nit))
        return intercept, [np.nan] * Y.shape[1], n_iter

    @property
    def sparse_coef_(self) -> Any:
        """``coef_`` as a scipy.sparse CSR array."""
        return sp.csr_array(np.atleast_2d(self.coef_))

    def predict(self, X: Any) -> Any:
        """Predict with the linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray, dask array or xarray.DataArray of shape (n_samples,) or \
(n_samples, n_targets)
            Lazy for lazy input.
        """
        check_is_fitted(self)
        data, Z = linear_predictor(self, X)
        if np.ndim(self.coef_) == 1:
            return give_back(data, Z[:, 0])
        return give_back(data, Z, "target", {})

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R^2 (:func:`sklearn.metrics.r2_score`).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
        """
        pred = values(self.predict(X))
        return float(r2_score(in_memory(y), pred, sample_weight=in_memory(sample_weight)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class Lasso(ElasticNet):
    """Linear regression with an L1 prior (the lasso), scikit-learn's API on dlinalg.

    Minimises ``(1 / (2 n_samples)) ||y - X w - b||^2 + alpha ||w||_1``:
    :class:`ElasticNet` with ``l1_ratio=1``, and the same single pass over X.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength, ``>= 0``.
    fit_intercept, precompute, copy_X, max_iter, tol, warm_start, positive, \
random_state, selection
        As :class:`ElasticNet`.

    Attributes
    ----------
    coef_, intercept_, dual_gap_, n_iter_, n_features_in_, feature_names_in_, sparse_coef_
        As :class:`ElasticNet`.

    See Also
    --------
    sklearn.linear_model.Lasso : The in-memory original.
    lasso_path : A path of alphas from one pass.

    References
    ----------
    .. [1] R. Tibshirani, "Regression shrinkage and selection via the lasso",
       J. R. Stat. Soc. B 58(1) (1996).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import Lasso
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> Lasso(alpha=0.1).fit(dl.from_array(X), [0.0, 1.0, 2.0]).coef_
    array([0.85, 0.  ])
    """

    _parameter_constraints: ClassVar[dict] = {
        k: v for k, v in ElasticNet._parameter_constraints.items() if k != "l1_ratio"
    }

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        fit_intercept: bool = True,
        precompute: bool | str = False,
        copy_X: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        warm_start: bool = False,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ):
        super().__init__(
            alpha=alpha, l1_ratio=1.0, fit_intercept=fit_intercept, precompute=precompute,
            max_iter=max_iter, copy_X=copy_X, tol=tol, warm_start=warm_start,
            positive=positive, random_state=random_state, selection=selection,
        )  # fmt: skip

    def _l1_ratio(self) -> float:
        return 1.0


def enet_path(
    X: Any,
    y: Any,
    *,
    l1_ratio: float = 0.5,
    eps: float = 1e-3,
    n_alphas: int = 100,
    alphas: Any = None,
    sample_weight: Any = None,
    fit_intercept: bool = True,
    positive: bool = False,
    max_iter: int = 1000,
    tol: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The elastic-net regularization path from one pass over X.

    One pass gives the weighted, centred Gram of ``[X y]``; scikit-learn's
    coordinate descent then runs each alpha in memory, warm-started from the
    previous one (largest alpha first).

    Parameters
    ----------
    X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
        Training data (at most 4096 features).
    y : array-like or dask array of shape (n_samples,)
        Targets.
    l1_ratio : float, default=0.5
        The L1 share of the penalty, in ``(0, 1]``.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the generated grid.
    n_alphas : int, default=100
        The number of alphas of the generated grid.
    alphas : array-like, optional
        The alphas (sorted decreasing); default the grid from ``alpha_max``,
        the smallest alpha with all coefficients zero, as scikit-learn's.
    sample_weight : array-like of shape (n_samples,), optional
    fit_intercept : bool, default=True
        Centre X and y first (scikit-learn's ``enet_path`` does not; its
        estimators do).
    positive : bool, default=False
    max_iter : int, default=1000
    tol : float, default=1e-4

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_features, n_alphas)
    dual_gaps : ndarray of shape (n_alphas,)

    See Also
    --------
    sklearn.linear_model.enet_path : The in-memory original.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models.linear_model import enet_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3))
    >>> y = X @ [1.0, 0.0, -1.0]
    >>> alphas, coefs, gaps = enet_path(dl.from_array(X, chunks=20), y, n_alphas=5)
    >>> coefs.shape, bool(np.all(coefs[:, 0] == 0))
    ((3, 5), True)
    """
    est = ElasticNet(l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    if not 0 < l1_ratio <= 1:
        raise ValueError(f"l1_ratio must be in (0, 1] for a path, got l1_ratio={l1_ratio!r}")
    data, y, sw = fit_inputs(est, X, y, sample_weight, classifier=False)
    mom = gram_moments(data, y.reshape(-1, 1), sw, bool(fit_intercept))
    if alphas is None:
        Xy = mom.Gxy[:, 0]
        alpha_max = (np.max(Xy) if positive else np.max(np.abs(Xy))) / (mom.n * l1_ratio)
        alpha_max = max(float(alpha_max), np.finfo(float).resolution)
        grid = np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)
    else:
        grid = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
    coefs = np.empty((data.shape[1], grid.size))
    gaps = np.empty(grid.size)
    w = np.zeros(data.shape[1])
    rng = check_random_state(None)
    for i, alpha in enumerate(grid):
        w, gaps[i], _ = _descend(mom, 0, w, float(alpha), float(l1_ratio), max_iter=max_iter,
                                 tol=tol, rng=rng, random=False, positive=positive)  # fmt: skip
        coefs[:, i] = w
    return grid, coefs, gaps


def lasso_path(X: Any, y: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lasso path (:func:`enet_path` with ``l1_ratio=1``) from one pass over X.

    Parameters
    ----------
    X, y
        As :func:`enet_path`.
    **kwargs
        Any other argument of :func:`enet_path` but ``l1_ratio``.

    Returns
    -------
    alphas, coefs, dual_gaps
        As :func:`enet_path`.

    See Also
    --------
    sklearn.linear_model.lasso_path : The in-memory original.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.linear_model import lasso_path
    >>> X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0], [4.0, 3.0]])
    >>> alphas, coefs, _ = lasso_path(X, [1.0, 2.0, 3.0, 4.0], alphas=[1.0, 0.1])
    >>> coefs.round(3)
    array([[0.2 , 0.92],
           [0.  , 0.  ]])
    """
    return enet_path(X, y, l1_ratio=1.0, **kwargs)
