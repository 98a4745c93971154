"""Ordinary least squares and ridge regression on distributed row matrices."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

import dlinalg as dl

from .._validation import POSITIVE_INT, TOL, Input, Range, validate_input
from ._solvers import Problem, Solution, solve
from ._targets import (
    Target,
    check_sample_weight,
    check_target,
    is_lazy_input,
    lazy_r2,
    require_target,
    weights_matrix,
)

__all__ = ["LinearRegression", "Ridge"]

SOLVERS = ("auto", "cholesky", "qr", "lsqr", "gd")
#: What scikit-learn's validate_data gets for in-memory X (as dlinalg.models._validation uses).
X_CHECKS: dict[str, Any] = {"dtype": [np.float64, np.float32], "accept_sparse": ("csr", "csc")}


class _LinearModel(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Shared ``fit``/``predict``/``score``; subclasses define the penalties and ``rcond``."""

    #: scikit-learn's Ridge gives 1-D coef_ (and predictions) for a one-column 2-D y.
    _ravel_one_target = False

    def _alphas(self, n_targets: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rcond(self) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    _parameter_constraints: ClassVar[dict] = {
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "positive": ["boolean"],
        "solver": [StrOptions(set(SOLVERS))],
        "tol": [TOL],
    }

    def _check_params(self) -> None:
        """Checks ``_parameter_constraints`` cannot express (run after them, in ``fit``)."""
        if self.positive and self.solver != "auto":  # scikit-learn's refusal, our solver set
            raise ValueError(
                f"solver={self.solver!r} does not support positive fitting. Please set the "
                "solver to 'auto', or set `positive=False`"
            )

    # --- fit --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _LinearModel:
        """Fit the linear model.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data; a path names a Zarr store read with
            :func:`dlinalg.read_zarr`. Sparse data stays sparse.
        y : array-like, dask array, DRM, LazyResult or xarray.DataArray of \
shape (n_samples,) or (n_samples, n_targets)
            Targets. A DRM is 2-D (``coef_`` of shape ``(n_targets,
            n_features)``); a 1-D array, dask array or DataArray gives 1-D
            ``coef_``, as in scikit-learn.
        sample_weight : float, array-like or dask array of shape (n_samples,), \
default=None
            Individual weights for each sample (scikit-learn's meaning:
            weighted least squares, the intercept from weighted means; a
            weight of 2 counts a sample twice, 0 drops it). Non-negative,
            finite and not all zero; a scalar weighs every sample alike.
            Applied as a row scaling by ``sqrt(sample_weight)`` inside the
            solvers' passes: sparse X stays sparse, no extra pass.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters, y of the wrong length (both lengths named) or
            dimension, ``sample_weight`` of the wrong length or dimension,
            negative, non-finite or all zero (a Dask array's values checked
            by one small computation over the weights alone), all before any
            pass over X; a solver other than "auto" with ``positive=True``;
            NaN or infinity in
            X or y (in-memory input before anything runs, lazy input as
            :class:`~dlinalg.errors.NonFiniteError` from the first pass).
        TypeError
            Input of an unsupported type.
        """
        self._check_params()
        require_target(y, type(self).__name__)
        if is_lazy_input(X):
            data = validate_input(self, X, reset=True)
            target = check_target(y, data.shape[0], data.dataarray)
            alphas = self._alphas(target.n_targets)
            weights = check_sample_weight(sample_weight, data.shape[0])
        else:  # in memory: scikit-learn's checks of X (and y), then the matrix
            if is_lazy_input(y):
                X = validate_data(self, X, reset=True, **X_CHECKS)
            else:
                X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, **X_CHECKS)
            target = check_target(y, X.shape[0], None)
            alphas = self._alphas(target.n_targets)
            weights = check_sample_weight(sample_weight, X.shape[0])
            data = Input(dl.from_array(X), "numpy")
        problem = Problem(
            X=data.matrix,
            Y=target.matrix(data.matrix),
            alphas=alphas,
            fit_intercept=bool(self.fit_intercept),
            tol=float(self.tol),
            max_iter=getattr(self, "max_iter", None),  # Ridge's, as in scikit-learn
            rcond=self._rcond(),
            weights=None if weights is None else weights_matrix(weights, data.matrix),
            positive=bool(self.positive),
        )
        self._set_attributes(data, target, solve(problem, self.solver))
        return self

    def _set_attributes(self, data: Input, target: Target, sol: Solution) -> None:
        dt = data.dtype
        coef, intercept = sol.coef.astype(dt), sol.intercept.astype(dt)
        if target.ndim == 1:
            coef, intercept = coef[0], intercept[0]
        elif self._ravel_one_target and coef.shape[0] == 1:
            coef = coef[0]
        self.coef_ = target.label(coef, data.dataarray, features=True)
        if self.fit_intercept:  # a scalar for one target, as scikit-learn's
            self.intercept_ = (
                target.label(intercept, data.dataarray, features=False)
                if target.ndim == 2
                else intercept
            )
        else:
            self.intercept_ = 0.0
        self.solver_ = sol.solver
        self.n_iter_ = sol.n_iter
        self._target = target.labels()
        if self._rcond() is not None:  # LinearRegression: the spectrum, as scikit-learn's
            for name, value in (("rank_", sol.rank), ("singular_", sol.singular)):
                if value is None:
                    self.__dict__.pop(name, None)  # not estimated by lsqr/gd
                else:
                    setattr(self, name, value if name == "rank_" else value.astype(dt))

    # --- predict and score ------------------------------------------------------
    def predict(self, X: Any) -> Any:
        """Predict with the linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Samples; sparse data stays sparse.

        Returns
        -------
        y_pred : ndarray, dask array, LazyResult, DRM or xarray.DataArray of \
shape (n_samples,) or (n_samples, n_targets)
            numpy for in-memory input; lazy for a Dask array (a Dask array),
            a DRM or a Zarr path (a :class:`~dlinalg.LazyResult` for one
            target, a DRM for several); a DataArray for a DataArray, with its
            sample coordinates (and a targets dimension for several targets),
            lazy when ``X`` is Dask-backed.
        """
        check_is_fitted(self)
        data = validate_input(self, X, reset=False)
        W = np.asarray(self.coef_)
        out = data.matrix @ np.ascontiguousarray(W.reshape(-1, W.shape[-1]).T)
        if self.fit_intercept:
            out = out + np.asarray(self.intercept_).reshape(-1)
        if W.ndim == 1:
            return data.vector_out(out[:, 0])
        return data.rows_out(out, *self._target.output_dim())

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R^2 of the prediction (scikit-learn's definition).

        ``1 - sum((y - y_pred)^2) / sum((y - mean(y))^2)``, averaged uniformly
        over the targets; 1.0 for a perfect prediction, 0.0 for a constant y
        that is not predicted exactly (``force_finite``, as
        :func:`sklearn.metrics.r2_score`).

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Test samples.
        y : array-like, dask array, DRM, LazyResult or xarray.DataArray of \
shape (n_samples,) or (n_samples, n_targets)
            True values.
        sample_weight : array-like or dask array of shape (n_samples,), optional
            Sample weights.

        Returns
        -------
        score : float
            Computed whatever the input: in memory by
            :func:`sklearn.metrics.r2_score`, for lazy input by one pass
            (two with ``sample_weight``) over X and y.
        """
        y_pred = self.predict(X)
        if isinstance(y_pred, xr.DataArray) and not is_lazy_input(y_pred.data):
            y_pred = y_pred.values
        lazy = is_lazy_input(y) or is_lazy_input(sample_weight)
        if isinstance(y_pred, np.ndarray) and not lazy:
            return float(r2_score(y, y_pred, sample_weight=sample_weight))
        return lazy_r2(y, y_pred, sample_weight)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_SOLVER_DOC = """solver : {"auto", "cholesky", "qr", "lsqr", "gd"}, default="auto"
        ``"cholesky"``: one pass over ``[X y]`` for the column means and the
        centred scatter (``Xc^T Xc``, ``Xc^T yc``), then the normal equations
        by Cholesky with iterative refinement in memory; their error, about
        ``eps * cond(X)**2``, is then corrected when ``cond(X) >= 1e3`` by
        Björck's corrected semi-normal equations (one more pass per
        correction, each shrinking the error by ``eps * cond(X)**2``).
        ``"qr"``: the same pass, then the R factor of the centred
        ``[Xc yc]`` by :func:`dlinalg.qr` (two Gram passes, three when
        cond(X) > 1e6; Q is never formed), and the small least-squares
        problem in memory by SVD: error about ``eps * cond(X)``;
        rank-deficient X goes to direct TSQR (one pass, pivot-free) and gets
        the minimum-norm solution.
        ``"lsqr"``: :func:`dlinalg.lsqr` per target (``atol = btol = tol``).
        ``"gd"``: :func:`dlinalg.gd` per target (``tol``).
        ``"auto"``: ``"lsqr"`` when ``n_features + n_targets > 4096``;
        otherwise the first pass is taken and ``"cholesky"`` used when the
        estimated ``cond(X) < 1e5`` (see Notes), else ``"qr"``. The solver used
        is stored in ``solver_``."""

_NOTES = """Passes over X in ``fit``: ``"cholesky"`` one when cond(X) < 1e3, two
    up to about 1e4, at most four; ``"qr"`` three (four when cond(X) > 1e6;
    one TSQR pass without an intercept); ``"auto"`` as ``"cholesky"`` when
    cond(X) < 1e5, else as ``"qr"``;
    ``"lsqr"``/``"gd"`` one for the column means plus one per iteration and
    target; ``positive=True`` one. Sample weights add no pass (a Dask
    ``sample_weight`` is also read once, alone, to check its values).
    ``predict`` is one lazy pass. Work in float64 throughout; float32
    X gives float32 ``coef_`` and predictions. Memory: the ``(n_features +
    n_targets)**2`` scatter (or R factor) and one row block per task.

    The "auto" rule: the eigenvalues of ``Xc^T Xc`` come with the first pass
    (the ``n_features``-sized eigenproblem costs nothing next to it). When
    ``cond(X) < 1e3`` the normal equations have forward error below about
    1e-10 and are solved at once. Up to ``cond(X) < 1e5`` the Cholesky factor
    ``R`` of the scatter is kept and the solution corrected with the true
    residual, ``R^T R dw = Xc^T (yc - Xc w) - alpha w`` (one pass each; the
    corrected semi-normal equations: Å. Björck, "Stability analysis of the
    method of seminormal equations for linear least squares problems", Linear
    Algebra Appl. 88/89 (1987)), until the next
    correction would be below 1e-12 relative: one correction at cond 1e4,
    two near 1e5, and the error is then that of a QR solution. Beyond, the
    problem is re-solved by the R factor of ``[Xc yc]`` (two or three more
    passes), whose error grows with ``cond(X)`` only. Sparse X with an
    intercept counts its scatter's larger rounding (``X^T X - m mean
    mean^T``, X never densified) in that condition number. LinearRegression also leaves the
    normal equations when a singular value of X lies within a factor 10 of
    its ``tol`` cutoff, so the rank is decided on the accurate spectrum of R.
    Asked for explicitly, ``"cholesky"`` on rank-deficient X gives the
    minimum-norm solution from the eigendecomposition of the scatter
    (singular values below ``max(tol, sqrt(eps * n_features))`` times the
    largest count as zero), accurate to about ``eps * cond**2`` on the rest.

    The iterative solvers never densify sparse X: with an intercept, dense X
    is centred lazily (``X - mean``, inside the solver's pass) while sparse X
    gets a column of ones for the intercept and, for ridge, ``sqrt(alpha) I``
    rows below ``[X 1]`` instead of ``damp`` (so the intercept is not
    penalised); ``"gd"``, which has no ``damp``, always takes such rows.

    ``sample_weight`` is scikit-learn's weighted least squares: the means
    are weighted and every solver sees the rows scaled by
    ``sqrt(sample_weight)`` (``sqrt(w) (X - mean)``, or ``sqrt(w) [X 1]``
    for sparse X), lazily inside its own passes: the first pass takes the
    weighted scatter by the same pairwise update, nothing is densified.

    ``positive=True`` minimises ``w^T (G + alpha I) w - 2 c^T w`` over ``w >=
    0``, ``G`` and ``c`` the (weighted, centred) ``Xc^T Xc`` and ``Xc^T yc``
    from the first pass, as ``||R w - R^{{-T}} c||`` with ``R^T R = G + alpha
    I`` (Lawson-Hanson active set, exact: scikit-learn's Ridge approximates
    it by L-BFGS-B); when ``G + alpha I`` is singular, ``R`` comes from its
    eigenvalues above ``eps * n_features`` times the largest. Its error is
    the normal equations', about ``eps * cond(X)**2``. Each target is
    solved on its own."""


class LinearRegression(_LinearModel):
    __doc__ = f"""Ordinary least squares linear regression, scikit-learn's API on dlinalg.

    Fits ``coef_`` and ``intercept_`` to minimise ``||y - X coef_.T -
    intercept_||^2``. Accepts numpy, scipy.sparse, Dask arrays,
    :class:`dlinalg.DRM`, Zarr store paths and xarray DataArrays, and reads
    them in as few passes as the conditioning allows (see Notes).

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept (X and y are centred implicitly; the
        data is never modified).
    copy_X : bool, default=True
        Accepted for compatibility; the input is never modified.
    tol : float, default=1e-6
        scikit-learn's (1.9) meaning: the ``cond`` of the exact solvers'
        minimum-norm solution (singular values of the centred X below ``tol``
        times the largest are treated as zero, as :func:`scipy.linalg.lstsq`
        does), and the ``atol``/``btol`` of ``"lsqr"`` (``tol`` of ``"gd"``).
    {_SOLVER_DOC}
    positive : bool, default=False
        When True, forces the coefficients to be non-negative (scikit-learn's
        meaning; the intercept is free). One pass over ``[X y]`` gives the
        (weighted, centred) Gram, then the ``n_features``-sized problem is
        solved exactly in memory by :func:`scipy.optimize.nnls` on its
        Cholesky factor. ``solver`` must be ``"auto"`` (``solver_`` is then
        ``"nnls"``). Sparse X is accepted and stays sparse.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients; 2-D when y is 2-D. A DataArray labeled by the features
        dimension for xarray X.
    intercept_ : float or ndarray of shape (n_targets,)
        Independent term; 0.0 when ``fit_intercept=False``.
    rank_ : int
        Rank of the centred X (singular values above ``tol`` times the
        largest; of ``sqrt(sample_weight) * Xc`` with weights). Exact solvers
        only, not with ``positive=True``, as scikit-learn has it for dense X.
    singular_ : ndarray of shape (min(n_samples, n_features),)
        Singular values of the centred X (of X without an intercept; scaled
        by ``sqrt(sample_weight)`` with weights). Exact solvers only, not
        with ``positive=True``.
    solver_ : str
        The solver used (``"nnls"`` with ``positive=True``).
    n_iter_ : ndarray of shape (n_targets,) or None
        Iterations of ``"lsqr"``/``"gd"`` per target; None for exact solvers.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.linear_model.LinearRegression : The in-memory original.
    Ridge : The same with an L2 penalty.
    numpy.linalg.lstsq, dlinalg.qr, dlinalg.lsqr

    Notes
    -----
    {_NOTES}

    References
    ----------
    .. [1] A. R. Benson, D. F. Gleich and J. Demmel, "Direct QR factorizations
       for tall-and-skinny matrices in MapReduce architectures", IEEE Big Data
       (2013).
    .. [2] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a
       pairwise algorithm for computing sample variances", COMPSTAT (1982).
    .. [3] N. J. Higham, "Accuracy and Stability of Numerical Algorithms",
       2nd ed., SIAM (2002), ch. 20 (least squares) and 12 (refinement).
    .. [4] Å. Björck, "Stability analysis of the method of seminormal equations
       for linear least squares problems", Linear Algebra Appl. 88/89 (1987).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import LinearRegression
    >>> X = np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 3.0]])
    >>> y = X @ np.array([1.0, 2.0]) + 3.0
    >>> reg = LinearRegression().fit(X, y)
    >>> reg.coef_, reg.intercept_, reg.solver_
    (array([1., 2.]), np.float64(3.0...), 'cholesky')
    >>> reg.score(X, y)
    1.0

    A DRM in gives lazy predictions out:

    >>> A = dl.from_array(X, chunks=2)
    >>> pred = reg.predict(A)
    >>> pred
    <LazyResult shape=(4,) dtype=float64 (distributed)>
    >>> pred.compute()
    array([ 6.,  8.,  9., 11.])

    Sample weights (a weight of 0 drops a sample) and non-negative
    coefficients, as in scikit-learn:

    >>> w = np.array([1.0, 2.0, 0.0, 1.0])
    >>> LinearRegression().fit(A, y, sample_weight=w).coef_
    array([1., 2.])
    >>> y2 = X @ np.array([3.0, -1.0]) + 3.0
    >>> pos = LinearRegression(positive=True).fit(A, y2)
    >>> pos.coef_, pos.intercept_, pos.solver_
    (array([2., 0.]), np.float64(2.5...), 'nnls')
    >>> from sklearn.linear_model import LinearRegression as SkLinearRegression
    >>> sk = SkLinearRegression(positive=True).fit(X, y2)
    >>> bool(np.allclose(pos.coef_, sk.coef_) and np.isclose(pos.intercept_, sk.intercept_))
    True
    """

    def __init__(
        self,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        tol: float = 1e-6,
        solver: str = "auto",
        positive: bool = False,
    ):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.solver = solver
        self.positive = positive

    def _alphas(self, n_targets: int) -> np.ndarray:
        return np.zeros(n_targets)

    def _rcond(self) -> float | None:
        return float(self.tol)


class Ridge(_LinearModel):
    __doc__ = f"""Linear least squares with L2 regularisation, scikit-learn's API on dlinalg.

    Minimises ``||y - X w - b||^2 + alpha ||w||^2`` (the intercept ``b`` is
    not penalised). Accepts numpy, scipy.sparse, Dask arrays,
    :class:`dlinalg.DRM`, Zarr store paths and xarray DataArrays.

    Parameters
    ----------
    alpha : float or ndarray of shape (n_targets,), default=1.0
        Penalty strength, ``>= 0``; an array gives each target its own.
    fit_intercept : bool, default=True
        Whether to fit an intercept (X and y are centred implicitly).
    copy_X : bool, default=True
        Accepted for compatibility; the input is never modified.
    max_iter : int, default=None
        Iteration limit of ``"lsqr"``/``"gd"`` (None: the solver's default).
    tol : float, default=1e-4
        ``atol``/``btol`` of ``"lsqr"`` (``tol`` of ``"gd"``), as scikit-learn's;
        no effect on the exact solvers.
    {_SOLVER_DOC}
    positive : bool, default=False
        When True, forces the coefficients to be non-negative (scikit-learn's
        meaning; the intercept is free). One pass over ``[X y]`` gives the
        (weighted, centred) Gram, then the ``n_features``-sized problem is
        solved exactly in memory by :func:`scipy.optimize.nnls` on its
        Cholesky factor. ``solver`` must be ``"auto"`` (``solver_`` is then
        ``"nnls"``). Sparse X is accepted and stays sparse.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights; 2-D when y is 2-D. A DataArray for xarray X.
    intercept_ : float or ndarray of shape (n_targets,)
        Independent term; 0.0 when ``fit_intercept=False``.
    solver_ : str
        The solver used (``"nnls"`` with ``positive=True``).
    n_iter_ : ndarray of shape (n_targets,) or None
        Iterations of ``"lsqr"``/``"gd"`` per target; None for exact solvers.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.linear_model.Ridge : The in-memory original.
    LinearRegression : Without the penalty.
    dlinalg.lsqr : Ridge is LSQR's ``damp = sqrt(alpha)``.

    Notes
    -----
    With ``alpha > 0`` the penalty bounds the condition number the solvers
    see: ``cond(Xc^T Xc + alpha I) <= (s_max**2 + alpha) / alpha``, so "auto"
    takes the one-pass normal equations for most penalties. "qr" solves
    ``[R; sqrt(alpha) I] w = [z; 0]`` in the least-squares sense in memory.

    {_NOTES}

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 4.0
    >>> ridge = Ridge(alpha=1.0).fit(dl.from_array(X, chunks=30), y)
    >>> ridge.coef_.round(3), round(float(ridge.intercept_), 3)
    (array([ 0.991, -1.98 ,  0.493]), 3.999)
    >>> from sklearn.linear_model import Ridge as SkRidge
    >>> np.allclose(ridge.coef_, SkRidge(alpha=1.0).fit(X, y).coef_, rtol=1e-12)
    True

    With sample weights (numpy or Dask, one per row) and non-negative
    coefficients:

    >>> w = rng.uniform(0.5, 2.0, 100)
    >>> ridge = Ridge(alpha=1.0, positive=True).fit(dl.from_array(X, chunks=30), y, sample_weight=w)
    >>> ridge.coef_.round(3), ridge.solver_
    (array([0.876, 0.   , 0.275]), 'nnls')
    >>> sk = SkRidge(alpha=1.0, positive=True, tol=1e-10).fit(X, y, sample_weight=w)
    >>> np.allclose(ridge.coef_, sk.coef_, atol=1e-6)
    True
    """

    def __init__(
        self,
        alpha: float | np.ndarray = 1.0,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        max_iter: int | None = None,
        tol: float = 1e-4,
        solver: str = "auto",
        positive: bool = False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive

    _parameter_constraints: ClassVar[dict] = {
        **_LinearModel._parameter_constraints,
        "alpha": [Range(Real, 0, None, closed="left"), np.ndarray],
        "max_iter": [POSITIVE_INT, None],
    }

    def _check_params(self) -> None:
        super()._check_params()
        a = self.alpha  # an array's entries: what the constraints cannot say
        if isinstance(a, np.ndarray):
            ok = a.ndim <= 1 and a.size >= 1 and a.dtype.kind in "biuf"
            if not (ok and bool(np.all(np.isfinite(a)) and np.all(a >= 0))):
                raise ValueError(
                    "The 'alpha' parameter of Ridge must be a float in the range [0.0, inf) or "
                    f"an instance of 'numpy.ndarray' of such floats. Got {a!r} instead."
                )

    _ravel_one_target = True

    def _alphas(self, n_targets: int) -> np.ndarray:
        alpha = np.asarray(self.alpha, dtype=np.float64).reshape(-1)
        if alpha.size == 1:
            return np.full(n_targets, alpha[0])
        if alpha.size != n_targets:
            raise ValueError(
                "Number of targets and number of penalties do not correspond: "
                f"{alpha.size} != {n_targets} (penalties != targets, scikit-learn's order); "
                "pass one alpha, or one per column of y"
            )
        return alpha

    def _rcond(self) -> float | None:
        return None
