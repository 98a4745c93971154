"""The numerics of :class:`dlinalg.models.LinearRegression` and :class:`dlinalg.models.Ridge`.

Every solver works on the augmented matrix ``[X Y]`` (``Y`` the targets as
columns), so one pass over it gives everything the exact solvers need:

- ``"cholesky"``: one pass of :func:`dlinalg.decomp.moments.comoments` (Chan
  et al.'s pairwise update) gives the count, the column means and the centred
  scatter of ``[X Y]``, i.e. ``Xc^T Xc``, ``Xc^T Yc`` and ``Yc^T Yc`` together;
  then ``(Xc^T Xc + alpha I) W = Xc^T Yc`` is solved in memory by Cholesky
  with iterative refinement. When ``cond(X) >= 1e3`` that solution is corrected
  with the true residual (Björck's corrected semi-normal equations): each
  correction is one more pass, ``Xc^T (Yc - Xc W)``, solved with the same
  Cholesky factor; it shrinks the error by about ``eps * cond(X)**2``.
- ``"qr"``: the R factor of the centred ``[Xc Yc] = Q [[R, Z], [0, *]]`` by
  direct TSQR (one pass, Q never formed); ``||Xc W - Yc|| = ||R W - Z||``, so
  the small problem ``min ||R W - Z||`` (``[R; sqrt(alpha) I]`` for ridge)
  is solved in memory by SVD-based ``lstsq``: the minimum-norm solution and
  the singular values of ``Xc`` for rank-deficient X.
- ``"lsqr"``/``"gd"``: :func:`dlinalg.lsqr`/:func:`dlinalg.gd` per target.
- ``positive=True``: the same one pass as ``"cholesky"``, then the
  non-negative problem ``min w^T (G + alpha I) w - 2 c^T w, w >= 0`` in memory
  (``G = Xc^T Xc``, ``c = Xc^T yc``) by :func:`scipy.optimize.nnls` on the
  Cholesky factor: ``||R w - R^{-T} c||^2`` is that objective plus a constant.

Sample weights ``s`` are a row scaling by ``sqrt(s)``, applied where each
solver reads the rows: the first pass takes weighted means and the weighted
centred scatter (:func:`dlinalg.decomp.moments.comoments` with ``weights``),
the correction pass weighs the residual, QR and the iterative solvers read
``sqrt(s) * (X - mean)`` (sparse X: ``sqrt(s) * [X 1]``) lazily, fused into
their passes; nothing is densified or materialised.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.optimize as sopt

import dlinalg as dl
from dlinalg import DRM
from dlinalg.decomp.moments import comoments
from dlinalg.decomp.tsqr import tsqr
from dlinalg.errors import NonFiniteError, RankDeficientError

from ._targets import to_dense

__all__ = [
    "COND_CHOLESKY",
    "COND_SEMINORMAL",
    "GRAM_MAX_COLUMNS",
    "Problem",
    "Solution",
    "solve",
    "prefers_cholesky",
]

#: Below this cond(X) (estimated from the scatter's eigenvalues) the normal
#: equations alone have forward error about eps * cond(X)**2 <= 1e-10: one pass.
COND_CHOLESKY = 1e3
#: "auto" takes the (corrected semi-) normal equations below this cond(X): each
#: correction pass shrinks the error by eps * cond(X)**2 <= 1e-6, so one or two
#: corrections reach QR's accuracy in fewer passes than Cholesky-QR2's three.
COND_SEMINORMAL = 1e5
#: Corrections stop once the next one is predicted below this relative size...
CORRECTION_TOL = 1e-12
#: ...or after this many passes.
MAX_CORRECTIONS = 3
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
    weights : DRM or None
        ``m x 1`` validated sample weights (non-negative, finite, not all
        zero), row blocks aligned with X; None for unit weights.
    positive : bool
        Constrain the coefficients to be non-negative.
    """

    X: DRM
    Y: DRM
    alphas: np.ndarray
    fit_intercept: bool
    tol: float
    max_iter: int | None
    rcond: float | None
    weights: DRM | None = None
    positive: bool = False

    @property
    def sqrt_weights(self) -> DRM:
        """``sqrt(w)``, the row scaling that makes weighted least squares plain."""
        return self.weights.sqrt()

    def weigh(self, A: DRM, power: float = 0.5) -> DRM:
        """``A`` with row ``i`` scaled by ``w_i ** power`` (lazy; A itself without weights)."""
        if self.weights is None:
            return A
        return A * (self.sqrt_weights if power == 0.5 else self.weights)

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
    if p.positive:
        return _positive(p)
    if solver == "auto" and p.n + p.Y.ncol > GRAM_MAX_COLUMNS:
        solver = "lsqr"
    if solver in ("lsqr", "gd"):
        return _iterative(p, solver)
    if solver == "qr" and not p.fit_intercept:
        return _qr(p, None, checked=False)  # no mean to remove: TSQR is the only pass
    count, mean, gram = _moments(p)
    lam = np.clip(np.linalg.eigvalsh(gram[: p.n, : p.n])[::-1], 0.0, None)
    extra = _cancellation(p, mean, count)
    if solver == "cholesky" or (solver == "auto" and prefers_cholesky(lam, p, extra)):
        return _cholesky(p, mean, gram, lam, extra)
    return _qr(p, mean if p.fit_intercept else None)


def prefers_cholesky(lam: np.ndarray, p: Problem, extra: float = 0.0) -> bool:
    """The "auto" rule, from the eigenvalues (descending) of ``X^T X`` (centred if fitted).

    Normal equations when ``cond(X^T X + alpha I) < COND_SEMINORMAL**2`` (alpha
    the smallest penalty, ``extra`` added to the largest eigenvalue: see
    :func:`_cancellation`), and for LinearRegression also no singular value
    within a factor 10 of the ``rcond`` cutoff (so the rank is clear).
    """
    alpha = float(p.alphas.min())
    top, low = lam[0] + alpha + extra, lam[-1] + alpha
    if not (top > 0 and low > 0 and top < COND_SEMINORMAL**2 * low):
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


def _moments(p: Problem) -> tuple[float, np.ndarray, np.ndarray]:
    """Row count (total weight), column means of ``[X Y]`` and its Gram: one pass.

    The Gram is centred when fitting an intercept; with sample weights the
    means are weighted and the Gram is that of the rows scaled by ``sqrt(w)``.
    """
    count, mean, scatter = comoments(p.X, p.Y, check_finite=False, weights=p.weights)
    raise_non_finite(~np.isfinite(np.diag(scatter) + mean), p.n, p.X.col_labels)
    if p.fit_intercept:
        return count, mean, scatter
    return count, mean, scatter + count * np.outer(mean, mean)


def _cancellation(p: Problem, mean: np.ndarray, count: float | None = None) -> float:
    """How much larger than ``lam_max`` the scatter's rounding error scale is.

    Sparse X is never densified, so its centred scatter is ``X^T X - m mean
    mean^T``: its rounding error is ``eps * (lam_max + m ||mean||^2)``, not
    ``eps * lam_max``. The conditioning tests count that extra ``m ||mean||^2``.
    """
    if not (p.X.is_sparse and p.fit_intercept):
        return 0.0
    count = p.m if count is None else count  # the total weight with sample weights
    return float(count * mean[: p.n] @ mean[: p.n])


def _intercept(p: Problem, mean: np.ndarray | None, coef: np.ndarray) -> np.ndarray:
    if mean is None or not p.fit_intercept:
        return np.zeros(coef.shape[0])
    return mean[p.n :] - coef @ mean[: p.n]


# --- normal equations -----------------------------------------------------------
def _cholesky(
    p: Problem, mean: np.ndarray, gram: np.ndarray, lam: np.ndarray, extra: float = 0.0
) -> Solution:
    n = p.n
    Gxx, Gxy = gram[:n, :n], gram[:n, n:]
    s = np.sqrt(lam[: min(p.m, n)])
    coef = np.empty((Gxy.shape[1], n))
    kept = n
    factors: list[tuple[float, np.ndarray, Any]] = []
    for alpha, cols in _groups(p.alphas):
        cutoff = None
        if alpha == 0:  # singular values below this are zero (LinearRegression's rule)
            cutoff = max(p.rcond or 0.0, np.sqrt(EPS * n)) * s[0]
        coef[cols], kept, factor = _spd_solve(Gxx, Gxy[:, cols], alpha, lam[-1], cutoff)
        factors.append((alpha, cols, factor))
    alpha = float(p.alphas.min())
    top, low = lam[0] + alpha + extra, lam[-1] + alpha
    factored = all(f is not None for _, _, f in factors)  # else rank-deficient: eigh
    if factored and top >= COND_CHOLESKY**2 * low:
        _correct(p, mean, coef, factors, EPS * top / low)
    rank = kept if p.rcond is not None else None
    singular = s if p.rcond is not None else None
    return Solution(coef, _intercept(p, mean, coef), "cholesky", rank, singular)


def _correct(p: Problem, mean: np.ndarray, coef: np.ndarray, factors: list, rate: float) -> None:
    """Björck's corrected semi-normal equations, in place on ``coef``.

    The normal equations' solution is off by about ``eps * cond(X)**2``
    because the scatter is; solving ``R^T R dW = Xc^T (Yc - Xc W) - alpha W``
    with the true residual (one pass) and the same factor ``R`` shrinks that
    error by the same factor ``rate`` each time, until the next correction is
    predicted below ``CORRECTION_TOL`` (one pass up to ``cond(X) = 1e4``).
    """
    for _ in range(MAX_CORRECTIONS):
        residual = _normal_residual(p, mean, coef)
        step = np.zeros_like(coef)
        for alpha, cols, factor in factors:
            rhs = residual[:, cols] - alpha * coef[cols].T
            step[cols] = sla.cho_solve(factor, rhs, check_finite=False).T
        coef += step
        if rate * np.linalg.norm(step) <= CORRECTION_TOL * np.linalg.norm(coef):
            return


def _normal_residual(p: Problem, mean: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``Xc^T (Yc - Xc W^T)`` in float64, from one pass over X and Y.

    With an intercept, ``Yc - Xc W^T = E = Y - X W^T - b`` (``b`` the
    intercepts), and ``Xc^T E = X^T E - mean_X (1^T E)``: X is never centred.
    With sample weights ``s`` the residual is weighed, ``Xc^T diag(s) E``.
    """
    W = coef.T
    E = p.Y - p.X @ W  # float64: W is
    if p.fit_intercept:
        E = E - _intercept(p, mean, coef)
    E = p.weigh(E, power=1.0)
    XtE, total = dl.compute(p.X.T @ E, E.col_sums())
    XtE = np.asarray(XtE, dtype=np.float64)
    if p.fit_intercept:
        XtE -= np.outer(mean[: p.n], total)
    return XtE


def _spd_solve(
    G: np.ndarray, B: np.ndarray, alpha: float, lam_min: float, cutoff: float | None
) -> tuple[np.ndarray, int, Any]:
    """``(G + alpha I)^{-1} B`` transposed, the rank used, and the Cholesky factor.

    Cholesky with iterative refinement; when the matrix is not numerically
    positive definite (its smallest eigenvalue ``lam_min + alpha`` below
    ``cutoff**2``, or Cholesky fails), the minimum-norm solution from its
    eigendecomposition instead (and no factor).
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
        return x.T, int(keep.sum()), None
    x = sla.cho_solve(factor, B, check_finite=False)
    for _ in range(REFINE_STEPS):
        dx = sla.cho_solve(factor, B - A @ x, check_finite=False)
        x += dx
        if np.linalg.norm(dx) <= EPS * np.linalg.norm(x):
            break
    return x.T, n, factor


# --- QR of the augmented matrix -----------------------------------------------------
def _qr(p: Problem, mean: np.ndarray | None, checked: bool = True) -> Solution:
    """``R`` of ``[Xc Yc]``, then the small least-squares problem.

    ``R`` comes from :func:`dlinalg.qr` (Cholesky-QR2, or shifted Cholesky-QR3
    when ill-conditioned: 2-3 Gram passes, Q never formed); a rank-deficient
    or wide ``[Xc Yc]`` (which Cholesky-QR refuses) goes to pivot-free TSQR,
    and so does a fit whose data no earlier pass checked for NaN (``checked``
    False: TSQR's R then names the first bad column, in one pass).
    """
    A = p.weigh(p.XY if mean is None else p.XY - mean)  # sqrt(w) [Xc Yc]
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
    """The dlinalg solver named by ``solver=`` ("lsqr", "gd"), looked up when called."""
    return getattr(dl, name)


def _iterative(p: Problem, solver: str) -> Solution:
    """One pass for the column means (and the NaN check), then one solve per target.

    With an intercept, dense X is centred lazily (``X - mean``, fused into the
    solver's pass); sparse X is never densified: a column of ones carries the
    intercept and, for ridge, the penalty comes from ``sqrt(alpha) I`` rows
    appended below ``[X 1]`` (so the intercept is not penalised). Without an
    intercept lsqr uses ``damp = sqrt(alpha)``; gd always uses the appended rows.
    Sample weights scale the rows (and the column of ones) by ``sqrt(w)`` and
    make the means weighted.
    """
    func = _solver_function(solver)
    n, t = p.n, p.Y.ncol
    probe = solver == "gd" and bool((p.alphas == 0).any()) and _may_be_unique(p)
    means = p.XY.col_means() if p.weights is None else p.weigh(p.XY, power=1.0).col_sums()
    firsts = [means, p.weights.col_sums()] if p.weights is not None else [means]
    if probe:  # the Gram comes with the means' pass (fused): is the solution unique?
        *firsts, gram = dl.compute(*firsts, dl.crossprod(p.weigh(p.X)))
    else:
        firsts = dl.compute(*firsts)
    mean, count = firsts[0], float(p.m)
    if p.weights is not None:  # weighted means: sum(w x) / sum(w)
        count = float(np.asarray(firsts[1]).reshape(-1)[0])
        mean = np.asarray(mean, dtype=np.float64).reshape(-1) / count
    raise_non_finite(~np.isfinite(mean), p.n, p.X.col_labels)
    ones = p.fit_intercept and p.X.is_sparse
    centre = p.fit_intercept and not ones
    # gd from 0 reaches the minimum-norm solution (scikit-learn's, and lsqr's) only in
    # the plain metric: its Jacobi or sampled-R scaling x = T z keeps x in T T^T
    # range(X^T), not in range(X^T). With alpha = 0 and a solution that is not unique
    # (wide or rank-deficient X) gd runs unscaled; a unique solution keeps the
    # (much faster) scaled descent
    plain = solver == "gd" and not (probe and _full_rank(p, mean, to_dense(gram), count))
    base = p.X - mean[:n] if centre else p.X
    if ones:
        base = dl.cbind(base, 1.0)
    base = p.weigh(base)  # sqrt(w) (X - mean), or sqrt(w) [X 1]
    Y = p.Y.map_blocks(to_dense, sparse=False) if p.Y.is_sparse else p.Y  # b is a vector
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
            b = p.weigh(b)
            if A.nrow > p.m:
                b = dl.rbind(b, dl.zeros((A.nrow - p.m, 1)))
            extra = {"damp": float(np.sqrt(alpha))} if damp else {}
            if plain and alpha == 0:
                extra["precondition"] = "none"
            res = func(A, b, **kw, **extra)
            x = np.asarray(res.x, dtype=np.float64)
            coef[j] = x[:n]
            intercept[j] = x[n] if ones else 0.0
            n_iter[j] = res.itn
    if centre:
        intercept = mean[n:] - coef @ mean[:n]
    return Solution(coef, intercept, solver, n_iter=n_iter)


def _may_be_unique(p: Problem) -> bool:
    """Whether the least-squares solution can be unique (tall enough), and a Gram is cheap."""
    rank_bound = p.m - 1 if p.fit_intercept else p.m  # centring removes one rank
    return p.n <= rank_bound and p.n <= GRAM_MAX_COLUMNS


def _full_rank(p: Problem, mean: np.ndarray, gram: np.ndarray, count: float | None = None) -> bool:
    """Whether X (centred with an intercept) has full column rank, from ``X^T X``.

    With an intercept the scatter is ``X^T X - m mean mean^T``, whose rounding is
    ``eps (lam_max + m ||mean||^2)``; an eigenvalue within a thousand times
    ``n`` such roundings of zero counts as zero (rank-deficient: plain gd).
    With sample weights ``gram`` is ``X^T W X`` and ``count`` the total weight.
    """
    mu = mean[: p.n]
    m = p.m if count is None else count
    scatter = gram - m * np.outer(mu, mu) if p.fit_intercept else gram
    lam = np.linalg.eigvalsh(scatter)
    noise = EPS * p.n * (abs(lam[-1]) + (m * float(mu @ mu) if p.fit_intercept else 0.0))
    return bool(lam[0] > 1e3 * noise)


def _with_penalty_rows(A: DRM, alpha: float, n: int) -> DRM:
    """``[A; sqrt(alpha) I 0]``: ridge as plain least squares (the intercept column unpenalised)."""
    rows = float(np.sqrt(alpha)) * dl.eye(n, sparse=A.is_sparse)
    if A.ncol > n:
        rows = dl.cbind(rows, 0.0)
    return dl.rbind(A, rows)


# --- non-negative least squares ------------------------------------------------------
def _positive(p: Problem) -> Solution:
    """``positive=True``: one pass for the (weighted, centred) Gram, then NNLS in memory.

    ``min_w ||Xc w - yc||^2 + alpha ||w||^2, w >= 0`` is ``min w^T A w - 2 c^T
    w`` with ``A = Xc^T Xc + alpha I`` and ``c = Xc^T yc``, both in the first
    pass's Gram of ``[X Y]``. With ``A = R^T R`` that is ``min ||R w -
    R^{-T} c||^2`` (up to a constant), an ``n_features``-sized problem that
    :func:`scipy.optimize.nnls` (Lawson-Hanson active set) solves exactly.
    When ``A`` is not numerically positive definite (rank-deficient X without
    a penalty) ``R = diag(sqrt(lam)) V^T`` from its eigenvalues above
    ``eps * n * lam_max`` takes the place of the Cholesky factor.
    """
    _, mean, gram = _moments(p)
    n = p.n
    G, C = gram[:n, :n], gram[:n, n:]
    coef = np.empty((C.shape[1], n))
    for alpha, cols in _groups(p.alphas):
        R, rhs = _nnls_system(G + alpha * np.eye(n), C[:, cols])
        for k, j in enumerate(cols):
            if not R.shape[0]:  # a zero Gram (constant columns): every w gives the same loss
                coef[j] = 0.0
                continue
            coef[j] = sopt.nnls(R, rhs[:, k], maxiter=max(50, 10 * n))[0]
    return Solution(coef, _intercept(p, mean, coef), "nnls")


def _nnls_system(A: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(R, D)`` with ``R^T R = A`` and ``R^T D = C`` (least squares when A is singular)."""
    n = A.shape[0]
    lam = np.linalg.eigvalsh(A)
    if lam[0] > EPS * n * max(lam[-1], 0.0) * 1e3:  # well inside positive definite: Cholesky
        with contextlib.suppress(np.linalg.LinAlgError):
            R = sla.cholesky(A, lower=False, check_finite=False)
            return R, sla.solve_triangular(R, C, trans="T", check_finite=False)
    w, V = np.linalg.eigh(A)
    keep = w > EPS * n * max(w[-1], 0.0)
    root = np.sqrt(w[keep])
    return root[:, None] * V[:, keep].T, (V[:, keep].T @ C) / root[:, None]
