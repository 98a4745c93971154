"""The numerics of :class:`models.LinearRegression` and :class:`models.Ridge`.

Every solver works on the augmented matrix ``[X Y]`` (``Y`` the targets as
columns), so one pass over it gives everything the exact solvers need:

- ``"cholesky"``: one pass of :func:`dlinalg.decomp.moments.comoments` (Chan
  et al.'s pairwise update) gives the count, the column means and the centred
  scatter of ``[X Y]``, i.e. ``Xc^T Xc``, ``Xc^T Yc`` and ``Yc^T Yc`` together;
  then ``(Xc^T Xc + alpha I) W = Xc^T Yc`` is solved in memory by Cholesky
  with iterative refinement.
- ``"qr"``: the R factor of the centred ``[Xc Yc] = Q [[R, Z], [0, *]]`` by
  direct TSQR (one pass, Q never formed); ``||Xc W - Yc|| = ||R W - Z||``, so
  the small problem ``min ||R W - Z||`` (``[R; sqrt(alpha) I]`` for ridge)
  is solved in memory by SVD-based ``lstsq``: the minimum-norm solution and
  the singular values of ``Xc`` for rank-deficient X.
- ``"lsqr"``/``"gd"``: :func:`dlinalg.lsqr`/:func:`dlinalg.gd` per target.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import xarray as xr
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_array

import dlinalg as dl
from dlinalg import DRM, LazyResult
from dlinalg.decomp.moments import comoments
from dlinalg.decomp.tsqr import tsqr
from dlinalg.errors import NonFiniteError, RankDeficientError
from models._input import coords_along

__all__ = [
    "COND_CHOLESKY",
    "GRAM_MAX_COLUMNS",
    "Problem",
    "Solution",
    "solve",
    "prefers_cholesky",
    "Target",
    "check_target",
    "is_lazy_input",
    "require_target",
    "lazy_r2",
]

#: "auto" takes the normal equations when cond(X) (estimated from the scatter's
#: eigenvalues) is below this: their forward error is about eps * cond(X)**2 <= 1e-8.
COND_CHOLESKY = 1e4
#: "auto" goes to "lsqr" when [X Y] has more columns than this (its Gram would
#: take more than 128 MiB, the size of a Dask chunk, and O(n^3) work in memory).
GRAM_MAX_COLUMNS = 4096
#: Refinement steps of the Cholesky solution (each is one O(n^2 t) residual).
REFINE_STEPS = 3
EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Problem:
    """A validated fit problem.

    Attributes
    ----------
    X, Y : DRM
        ``m x n`` data and ``m x t`` targets, Y's row blocks aligned with X's
        (CSR blocks when X is sparse, so ``[X Y]`` stays sparse).
    alphas : numpy.ndarray of shape (t,)
        The ridge penalty of each target (zeros for LinearRegression).
    fit_intercept : bool
    tol : float
        Tolerance of the iterative solvers (``atol = btol = tol`` for lsqr).
    max_iter : int or None
    rcond : float or None
        LinearRegression's cutoff (scikit-learn's ``cond=tol`` of
        :func:`scipy.linalg.lstsq`): singular values below ``rcond * s_max``
        are treated as zero. None for Ridge.
    """

    X: DRM
    Y: DRM
    alphas: np.ndarray
    fit_intercept: bool
    tol: float
    max_iter: int | None
    rcond: float | None

    @property
    def n(self) -> int:
        return self.X.ncol

    @property
    def m(self) -> int:
        return self.X.nrow

    @property
    def XY(self) -> DRM:
        return dl.cbind(self.X, self.Y)


@dataclass
class Solution:
    """Coefficients ``(t, n)`` and intercepts ``(t,)`` in float64, and how they were found."""

    coef: np.ndarray
    intercept: np.ndarray
    solver: str
    rank: int | None = None
    singular: np.ndarray | None = None
    n_iter: np.ndarray | None = None


def solve(p: Problem, solver: str) -> Solution:
    """Fit ``p`` with ``solver`` ("auto", "cholesky", "qr", "lsqr" or "gd")."""
    if solver == "auto" and p.n + p.Y.ncol > GRAM_MAX_COLUMNS:
        solver = "lsqr"
    if solver in ("lsqr", "gd"):
        return _iterative(p, solver)
    if solver == "qr" and not p.fit_intercept:
        return _qr(p, None, checked=False)  # no mean to remove: TSQR is the only pass
    mean, gram = _moments(p)
    lam = np.clip(np.linalg.eigvalsh(gram[: p.n, : p.n])[::-1], 0.0, None)
    if solver == "cholesky" or (solver == "auto" and prefers_cholesky(lam, p)):
        return _cholesky(p, mean, gram, lam)
    return _qr(p, mean if p.fit_intercept else None)


def prefers_cholesky(lam: np.ndarray, p: Problem) -> bool:
    """The "auto" rule, from the eigenvalues (descending) of ``X^T X`` (centred if fitted).

    Normal equations when ``cond(X^T X + alpha I) < COND_CHOLESKY**2`` (alpha
    the smallest penalty), and for LinearRegression also no singular value
    within a factor 10 of the ``rcond`` cutoff (so the rank is clear).
    """
    alpha = float(p.alphas.min())
    top, low = lam[0] + alpha, lam[-1] + alpha
    if not (top > 0 and low > 0 and top < COND_CHOLESKY**2 * low):
        return False
    return p.rcond is None or lam[-1] > (10.0 * p.rcond) ** 2 * lam[0]


# --- the first pass ---------------------------------------------------------------
def raise_non_finite(bad: np.ndarray, n: int, labels: tuple | None) -> None:
    """NonFiniteError naming the first column of ``[X Y]`` flagged in ``bad``."""
    cols = np.flatnonzero(bad)
    if not cols.size:
        return
    j = int(cols[0])
    if j < n:
        name = repr(labels[j]) if labels is not None else str(j)
        where = f"Input X contains NaN or infinity (first in column {name})"
    else:
        where = f"Input y contains NaN or infinity (first in target {j - n})"
    raise NonFiniteError(f"{where}; drop or impute such values before fitting")


def _moments(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Column means of ``[X Y]`` and its Gram (centred when fitting an intercept): one pass."""
    count, mean, scatter = comoments(p.XY, check_finite=False)
    raise_non_finite(~np.isfinite(np.diag(scatter) + mean), p.n, p.X.col_labels)
    if p.fit_intercept:
        return mean, scatter
    return mean, scatter + count * np.outer(mean, mean)


def _intercept(p: Problem, mean: np.ndarray | None, coef: np.ndarray) -> np.ndarray:
    if mean is None or not p.fit_intercept:
        return np.zeros(coef.shape[0])
    return mean[p.n :] - coef @ mean[: p.n]


# --- normal equations -----------------------------------------------------------
def _cholesky(p: Problem, mean: np.ndarray, gram: np.ndarray, lam: np.ndarray) -> Solution:
    n = p.n
    Gxx, Gxy = gram[:n, :n], gram[:n, n:]
    s = np.sqrt(lam[: min(p.m, n)])
    coef = np.empty((Gxy.shape[1], n))
    kept = n
    for alpha, cols in _groups(p.alphas):
        cutoff = None
        if alpha == 0:  # singular values below this are zero (LinearRegression's rule)
            cutoff = max(p.rcond or 0.0, np.sqrt(EPS * n)) * s[0]
        coef[cols], kept = _spd_solve(Gxx, Gxy[:, cols], alpha, lam[-1], cutoff)
    rank = kept if p.rcond is not None else None
    singular = s if p.rcond is not None else None
    return Solution(coef, _intercept(p, mean, coef), "cholesky", rank, singular)


def _spd_solve(
    G: np.ndarray, B: np.ndarray, alpha: float, lam_min: float, cutoff: float | None
) -> tuple[np.ndarray, int]:
    """``(G + alpha I)^{-1} B`` transposed, and the rank used.

    Cholesky with iterative refinement; when the matrix is not numerically
    positive definite (its smallest eigenvalue ``lam_min + alpha`` below
    ``cutoff**2``, or Cholesky fails), the minimum-norm solution from its
    eigendecomposition instead.
    """
    A = G + alpha * np.eye(G.shape[0])
    n = A.shape[0]
    factor = None
    if cutoff is None or lam_min + alpha > cutoff**2:
        try:
            factor = sla.cho_factor(A, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            factor = None
    if factor is None:  # minimum-norm: drop the eigenvalues of A below cutoff**2
        w, V = np.linalg.eigh(A)
        cut = cutoff**2 if cutoff is not None else EPS * n * max(w[-1], 0.0)
        keep = w > max(cut, 0.0)
        x = V[:, keep] @ ((V[:, keep].T @ B) / w[keep, None])
        return x.T, int(keep.sum())
    x = sla.cho_solve(factor, B, check_finite=False)
    for _ in range(REFINE_STEPS):
        dx = sla.cho_solve(factor, B - A @ x, check_finite=False)
        x += dx
        if np.linalg.norm(dx) <= EPS * np.linalg.norm(x):
            break
    return x.T, n


# --- QR of the augmented matrix -----------------------------------------------------
def _qr(p: Problem, mean: np.ndarray | None, checked: bool = True) -> Solution:
    """``R`` of ``[Xc Yc]``, then the small least-squares problem.

    ``R`` comes from :func:`dlinalg.qr` (Cholesky-QR2, or shifted Cholesky-QR3
    when ill-conditioned: 2-3 Gram passes, Q never formed); a rank-deficient
    or wide ``[Xc Yc]`` (which Cholesky-QR refuses) goes to pivot-free TSQR,
    and so does a fit whose data no earlier pass checked for NaN (``checked``
    False: TSQR's R then names the first bad column, in one pass).
    """
    A = p.XY if mean is None else p.XY - mean
    r = None
    if checked and A.nrow >= A.ncol:
        with contextlib.suppress(RankDeficientError):  # then TSQR, below
            r = dl.qr(A, check_finite=False)[1].astype(np.float64)
    if r is None:
        r = tsqr(A, np.dtype(np.float64))[1]
    if mean is None:  # no first pass checked the data: a NaN column leaves NaN in R
        # (upper part only: TSQR's sign fix multiplies a NaN row's zeros below the diagonal)
        raise_non_finite(~np.isfinite(np.triu(r)).all(axis=0), p.n, p.X.col_labels)
    n = p.n
    R, Z = r[:, :n], r[:, n:]
    coef = np.empty((Z.shape[1], n))
    rank = singular = None
    for alpha, cols in _groups(p.alphas):
        if alpha == 0:  # scikit-learn: scipy.linalg.lstsq(Xc, yc, cond=tol), min-norm
            sol, _, rank, singular = sla.lstsq(R, Z[:, cols], cond=p.rcond, check_finite=False)
        else:  # min ||R w - z||^2 + alpha ||w||^2 = min ||[R; sqrt(alpha) I] w - [z; 0]||^2
            K = np.vstack([R, np.sqrt(alpha) * np.eye(n)])
            rhs = np.vstack([Z[:, cols], np.zeros((n, len(cols)))])
            sol = sla.lstsq(K, rhs, check_finite=False)[0]
        coef[cols] = sol.T
    if p.rcond is None:
        rank = singular = None
    return Solution(coef, _intercept(p, mean, coef), "qr", rank, singular)


def _groups(alphas: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Targets sharing a penalty, solved together: ``[(alpha, target indices)]``."""
    values = np.unique(alphas)
    return [(float(a), np.flatnonzero(alphas == a)) for a in values]


# --- iterative solvers ------------------------------------------------------------
def _solver_function(name: str):
    func = getattr(dl, name, None)
    if func is None:  # not exported at top level yet: the solvers package itself
        try:
            from dlinalg import solvers
        except ImportError:
            solvers = None
        func = getattr(solvers, name, None)
    if func is None:
        raise NotImplementedError(
            f"solver={name!r} needs dlinalg.{name}, which this version of dlinalg does not "
            "have; use solver='auto', 'cholesky' or 'qr'"
        )
    return func


def _iterative(p: Problem, solver: str) -> Solution:
    """One pass for the column means (and the NaN check), then one solve per target.

    With an intercept, dense X is centred lazily (``X - mean``, fused into the
    solver's pass); sparse X is never densified: a column of ones carries the
    intercept and, for ridge, the penalty comes from ``sqrt(alpha) I`` rows
    appended below ``[X 1]`` (so the intercept is not penalised). Without an
    intercept lsqr uses ``damp = sqrt(alpha)``; gd always uses the appended rows.
    """
    func = _solver_function(solver)
    (mean,) = dl.compute(p.XY.col_means())
    raise_non_finite(~np.isfinite(mean), p.n, p.X.col_labels)
    n, t = p.n, p.Y.ncol
    ones = p.fit_intercept and p.X.is_sparse
    centre = p.fit_intercept and not ones
    base = p.X - mean[:n] if centre else p.X
    if ones:
        base = dl.cbind(base, 1.0)
    Y = p.Y.map_blocks(_to_dense, sparse=False) if p.Y.is_sparse else p.Y  # b is a vector
    coef, intercept, n_iter = np.empty((t, n)), np.zeros(t), np.zeros(t, dtype=np.int64)
    kw = {"atol": p.tol, "btol": p.tol} if solver == "lsqr" else {"tol": p.tol}
    if p.max_iter is not None:
        kw["maxiter"] = p.max_iter
    for alpha, cols in _groups(p.alphas):
        damp = solver == "lsqr" and not ones
        A = base if damp or alpha == 0 else _with_penalty_rows(base, alpha, n)
        if len(cols) > 1:
            A = A.persist()  # read once for all the targets that share it
        for j in cols:
            b = Y[:, [int(j)]]
            if centre:
                b = b - mean[n + j]
            if A.nrow > p.m:
                b = dl.rbind(b, dl.zeros((A.nrow - p.m, 1)))
            extra = {"damp": float(np.sqrt(alpha))} if damp else {}
            res = func(A, b, **kw, **extra)
            x = np.asarray(res.x, dtype=np.float64)
            coef[j] = x[:n]
            intercept[j] = x[n] if ones else 0.0
            n_iter[j] = res.itn
    if centre:
        intercept = mean[n:] - coef @ mean[:n]
    return Solution(coef, intercept, solver, n_iter=n_iter)


def _with_penalty_rows(A: DRM, alpha: float, n: int) -> DRM:
    """``[A; sqrt(alpha) I 0]``: ridge as plain least squares (the intercept column unpenalised)."""
    rows = float(np.sqrt(alpha)) * dl.eye(n, sparse=A.is_sparse)
    if A.ncol > n:
        rows = dl.cbind(rows, 0.0)
    return dl.rbind(A, rows)


# --- the targets ------------------------------------------------------------------
def is_lazy_input(v: Any) -> bool:
    """Whether ``v`` takes dlinalg's path (as :func:`models._input.as_matrix` decides for X)."""
    lazy = (DRM, LazyResult, da.Array, xr.DataArray, xr.Dataset, str, os.PathLike)
    return isinstance(v, lazy)


def require_target(y: Any, est: str) -> None:
    """scikit-learn's refusal of ``y=None`` for a regressor."""
    if y is None:
        raise ValueError(
            f"This {est} estimator requires y to be passed, but the target y is None."
        )


@dataclass(frozen=True)
class Target:
    """Validated targets: the values (numpy, dask or DRM) and their labels.

    Attributes
    ----------
    values : numpy.ndarray, dask.array.Array or DRM
        ``(n_samples,)`` or ``(n_samples, n_targets)``.
    ndim : int
        1 (one target, 1-D ``coef_``) or 2.
    dim : hashable or None
        Name of the targets dimension of a 2-D DataArray y.
    coords : dict
        Its coordinates.
    """

    values: Any
    ndim: int
    dim: Hashable | None = None
    coords: dict = field(default_factory=dict)

    @property
    def n_targets(self) -> int:
        return 1 if self.ndim == 1 else int(self.values.shape[1])

    def matrix(self, X: DRM) -> DRM:
        """The targets as an ``m x t`` DRM aligned with X (CSR blocks when X is sparse)."""
        v = self.values
        if isinstance(v, DRM):
            Y = v
        elif isinstance(v, da.Array):
            Y = dl.from_array(v.reshape(-1, 1) if v.ndim == 1 else v)
        else:
            v = np.asarray(v, dtype=np.float64).reshape(X.nrow, -1)
            Y = dl.from_array(sp.csr_array(v) if X.is_sparse else v, chunks=X.chunks)
        if Y.is_sparse != X.is_sparse:
            Y = Y.map_blocks(_to_csr if X.is_sparse else _to_dense, sparse=X.is_sparse)
        return Y if Y.chunks == X.chunks else Y.rechunk(X.chunks)

    def output_dim(self) -> tuple[Hashable, dict]:
        """The second dimension (and coordinates) of multi-target xarray predictions."""
        return ("target" if self.dim is None else self.dim), self.coords

    def labels(self) -> Target:
        """The same without the values (what the fitted estimator keeps)."""
        return Target(None, self.ndim, self.dim, self.coords)

    def label(self, values: np.ndarray, X: xr.DataArray | None, features: bool) -> Any:
        """``coef_`` (``features=True``) or multi-target ``intercept_``, labeled for xarray X."""
        if X is None:
            return values
        dims: list[Hashable] = []
        coords: dict = {}
        if values.ndim == (2 if features else 1):
            dim, tcoords = self.output_dim()
            dims.append(dim)
            coords.update(tcoords)
        if features:
            dims.append(X.dims[1])
            coords.update(coords_along(X, X.dims[1]))
        return xr.DataArray(values, dims=tuple(dims), coords=coords)


def _to_csr(block: Any) -> sp.csr_array:
    return sp.csr_array(block)


def _to_dense(block: Any) -> np.ndarray:
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def check_target(y: Any, n_samples: int, X: xr.DataArray | None) -> Target:
    """Validate y against X's row count (from metadata for lazy y), before any graph.

    In-memory y gets scikit-learn's :func:`~sklearn.utils.check_array` (finite,
    numeric, at most 2-D); lazy y is checked for shape and dtype only: its
    NaN/inf are reported by the first pass.
    """
    dim, coords = None, {}
    values = y
    if isinstance(y, xr.DataArray):
        if X is not None:
            _check_same_samples(X, y)
        if y.ndim == 2:
            dim = y.dims[1]
            coords = coords_along(y, dim)
        values = y.data
    elif isinstance(y, LazyResult):
        values = y.to_dask()
    if isinstance(values, DRM | da.Array):
        ndim = 2 if isinstance(values, DRM) else values.ndim
        shape = tuple(values.shape)
        if ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D (n_samples,) or 2-D (n_samples, n_targets); got a {ndim}-D "
                f"array of shape {shape}"
            )
        if np.dtype(values.dtype).kind not in "biuf":
            raise TypeError(f"y must hold real numbers, got dtype {values.dtype}")
    else:
        values = check_array(
            values, ensure_2d=False, dtype="numeric", input_name="y", ensure_min_samples=1
        )
        ndim, shape = values.ndim, values.shape
    if shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: X has "
            f"{n_samples} rows but y has {shape[0]}"
        )
    if ndim == 2 and shape[1] == 0:
        raise ValueError(f"y has no target: shape {shape}")
    return Target(values, ndim, dim, coords)


def _check_same_samples(X: xr.DataArray, y: xr.DataArray) -> None:
    xi, yi = X.indexes.get(X.dims[0]), y.indexes.get(y.dims[0])
    if xi is not None and yi is not None and not xi.equals(yi):
        raise ValueError(
            f"X and y have different coordinates along their samples dimension "
            f"({X.dims[0]!r}, {y.dims[0]!r}); align them first, e.g. with xarray.align"
        )


# --- R^2 of lazy predictions ----------------------------------------------------------
def _dask_2d(v: Any, chunks: Any = None) -> da.Array:
    if isinstance(v, xr.DataArray):
        v = v.data
    if isinstance(v, DRM | LazyResult):
        v = v.to_dask()
        if isinstance(v._meta, sp.sparray | sp.spmatrix):
            v = v.map_blocks(_to_dense, dtype=v.dtype, meta=np.empty((0,) * v.ndim, v.dtype))
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        v = da.from_array(v, chunks=(chunks,) + ((-1,) if v.ndim == 2 else ()))
    return v.reshape(v.shape[0], -1).astype(np.float64)


def lazy_r2(y: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """scikit-learn's ``r2_score`` (uniform average over targets) as Dask reductions."""
    p = _dask_2d(y_pred)
    t = _dask_2d(y, p.chunks[0])
    if t.shape != p.shape:
        raise ValueError(f"y has shape {t.shape[:1] + t.shape[1:]}, predictions {p.shape}")
    m = p.shape[0]
    if m < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    if sample_weight is None:
        ss_res, ss_tot = dask.compute(((t - p) ** 2).sum(axis=0), t.var(axis=0) * m)
    else:
        w = _dask_2d(sample_weight, p.chunks[0])[:, :1]
        total, wy = dask.compute(w.sum(), (w * t).sum(axis=0))
        mean = wy / total
        ss_res, ss_tot = dask.compute((w * (t - p) ** 2).sum(axis=0), (w * (t - mean) ** 2).sum(0))
    scores = np.ones(p.shape[1])
    valid = (ss_tot != 0) & (ss_res != 0)
    scores[valid] = 1 - ss_res[valid] / ss_tot[valid]
    scores[(ss_res != 0) & (ss_tot == 0)] = 0.0
    return float(np.mean(scores))
