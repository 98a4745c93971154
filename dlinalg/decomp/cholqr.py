"""Cholesky-QR2 and shifted Cholesky-QR3: an orthonormal basis in two or three passes.

Cholesky-QR factors the Gram matrix, ``A^T A = R^T R``, and takes
``Q = A R^{-1}``: one pass over A for the Gram, and Q row block by row block.
Alone it loses orthogonality like ``eps * cond(A)^2``; repeated once
(CholQR2, Yamamoto et al. 2015) it is orthogonal to machine precision as long
as the Gram can be factored, i.e. ``cond(A)`` below about ``eps^-1/2``. Beyond
that, a shifted first step (Fukaya et al. 2020) brings ``cond(A R_1^{-1})``
down to about ``eps^-1/2``, and CholQR2 finishes: shifted CholQR3, stable up to
``cond(A)`` near ``1/eps``.

Every step is a :class:`~dlinalg.physical.rowwise.RowChain` on the rows of A,
so ``Q_1`` and ``Q_2`` are never stored: each pass recomputes them tile by
tile, bit for bit the same, and ``Q`` is a lazy chain too.

References
----------
.. [1] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa and T. Fukaya, "Roundoff
   error analysis of the CholeskyQR2 algorithm", Electron. Trans. Numer.
   Anal. 44, 306-326 (2015).
.. [2] T. Fukaya, R. Kannan, Y. Nakatsukasa, Y. Yamamoto and Y. Yanagisawa,
   "Shifted Cholesky QR for computing the QR factorization of ill-conditioned
   matrices", SIAM J. Sci. Comput. 42(1), A477-A503 (2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla

from dlinalg._validation import raise_if_nonfinite
from dlinalg.decomp.passes import run_pass
from dlinalg.errors import RankDeficientError
from dlinalg.physical.rowwise import RowChain

__all__ = ["Orthonormal", "orthonormalize", "KAPPA_CHOLQR2", "NEAR_IDENTITY"]

#: Largest estimated cond(Y) for which one unshifted Cholesky step is taken.
#: CholQR2's orthogonality is O(eps) up to about eps**-0.5 ~ 7e7; 1e6 leaves a margin
#: for the error of the estimate itself (read off a Gram computed in floating point).
KAPPA_CHOLQR2 = 1e6
#: A Gram with condition number below NEAR_IDENTITY**2 belongs to a near-orthonormal Q_j:
#: one more Cholesky step leaves an error of order eps * NEAR_IDENTITY**2.
NEAR_IDENTITY = 10.0
#: Later steps factor any Gram Cholesky can (cond(Q_j) up to about eps**-1/2).
MAX_COND2_STEP = 1e15
#: Passes before giving up (a rank-deficient Y never gets near the identity).
MAX_PASSES = 4
#: Largest cond(Y) for which the tall factor runs as one product (see Orthonormal.factor).
COLLAPSE_BELOW = 10.0
#: Eigenvalues of the Gram below this fraction of the largest are dropped when a
#: rank-revealing basis is allowed (about cond 3e6 after the shifted step).
TRUNCATE_BELOW = 1e-13


@dataclass
class Orthonormal:
    """An orthonormal basis ``Q = chain(A)`` of the range of ``Y = chain_0(A)``.

    Attributes
    ----------
    chain : RowChain
        ``Q``'s rows from A's rows.
    R : numpy.ndarray or None
        ``Y = Q R`` with R upper triangular, positive diagonal (None when the
        basis was truncated to a lower rank: then R is not triangular).
    atq : numpy.ndarray or None
        ``A^T Q`` when asked for (computed in the last pass).
    colsum : numpy.ndarray or None
        Column sums of ``Q`` when asked for.
    passes : int
        Passes over A it took (2 for CholQR2, 3 for shifted CholQR3).
    rank : int
        Number of columns of Q.
    cond : float
        Condition number of Y estimated from its Gram (inf if singular).
    finite : bool
        False when Y held NaN/inf (only with ``check_finite=False``): every
        factor is NaN then.
    """

    chain: RowChain
    R: np.ndarray | None
    atq: np.ndarray | None
    colsum: np.ndarray | None
    passes: int
    rank: int
    cond: float = np.inf
    finite: bool = True

    def factor(self, M: np.ndarray | None = None) -> RowChain:
        """The chain to materialise ``Q`` (or ``Q M``) from A's rows, as cheaply as is safe.

        The last step (``R_last^{-1}``, within a few ulps of the identity) merges
        with M. When Y is well-conditioned (``cond <= COLLAPSE_BELOW``) all
        products merge into one: running ``A (R_1^{-1} R_2^{-1})`` instead of
        ``(A R_1^{-1}) R_2^{-1}`` moves Q by about ``eps * cond`` (a few ulps),
        and saves a BLAS call per tile. Otherwise each step keeps its exact
        rounding, which CholQR2's second step was computed to correct.
        """
        if self.cond <= COLLAPSE_BELOW:
            return (self.chain if M is None else self.chain.then("full", M)).collapsed()
        if M is None:
            return self.chain
        *prefix, (_, last) = self.chain.steps
        return RowChain(self.chain.ncol_in, tuple(prefix), self.chain.out_dtype).then(
            "full", last @ M
        )


def _cond2(gram: np.ndarray) -> tuple[float, np.ndarray]:
    """Estimated ``cond(Y)^2`` from the eigenvalues of ``Y^T Y`` (inf if singular)."""
    lam = np.linalg.eigvalsh(gram)
    top = lam[-1]
    if not top > 0:
        return np.inf, lam
    return (top / lam[0] if lam[0] > 0 else np.inf), lam


def _chol(gram: np.ndarray) -> np.ndarray | None:
    """Upper Cholesky factor (positive diagonal), or None when not positive definite."""
    try:
        return sla.cholesky(gram, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def _inv_upper(R: np.ndarray) -> np.ndarray:
    return sla.solve_triangular(R, np.eye(R.shape[0]), lower=False, check_finite=False)


def _rank_error(lam: np.ndarray, ncol: int, what: str) -> RankDeficientError:
    tol = lam[-1] * TRUNCATE_BELOW
    rank = int(np.sum(lam > tol))
    return RankDeficientError(
        f"{what} is rank-deficient: numerical rank {rank} of {ncol} columns "
        f"(Gram eigenvalues below {TRUNCATE_BELOW:g} x the largest). "
        "Cholesky-QR needs full column rank; use method='tsqr' for a pivot-free "
        "factorization, or drop the dependent columns"
    )


def _nan_basis(A: Any, chain: RowChain, n: int, extras: tuple[str, ...]) -> Orthonormal:
    """What non-finite data gives when it was not refused: every factor NaN, as numpy does."""
    nan = np.full((n, n), np.nan)
    return Orthonormal(
        chain=chain.then("full", nan),
        R=nan,
        atq=np.full((A.shape[1], n), np.nan) if "atb" in extras else None,
        colsum=np.full(n, np.nan) if "colsum" in extras else None,
        passes=1,
        rank=n,
        finite=False,
    )


def orthonormalize(
    A: Any,
    chain: RowChain,
    *,
    method: str = "auto",
    truncate: bool = False,
    extras: tuple[str, ...] = (),
    check_finite: bool = True,
    what: str = "A",
    first_gram: np.ndarray | None = None,
) -> Orthonormal:
    """Orthonormalize ``Y = chain(A)`` by CholQR2, or shifted CholQR3 when ill-conditioned.

    Each pass computes the Gram of the current ``Q_j`` and factors it; the
    loop stops after the pass whose Gram is near the identity (condition
    number below :data:`NEAR_IDENTITY`): Cholesky-QR of such a ``Q_j`` is
    orthogonal to a few ulps, so the Q returned is never silently
    non-orthogonal. Well-conditioned Y takes two passes (CholQR2),
    ill-conditioned Y three (a shifted first step, then CholQR2).

    Parameters
    ----------
    A : DRM
        The matrix whose rows feed ``chain``.
    chain : RowChain
        ``Y``'s rows from A's rows (the identity chain for ``Y = A``).
    method : {"auto", "cholqr2"}
        ``"cholqr2"`` refuses (``RankDeficientError``) what two unshifted
        steps cannot orthogonalize; ``"auto"`` shifts the first step instead.
    truncate : bool
        Allow a basis of lower rank when Y is numerically rank-deficient
        (randomized SVD); otherwise that raises ``RankDeficientError``.
    extras : tuple of {"atb", "colsum"}
        Also compute ``A^T Q`` and Q's column sums (in the passes after the first).
    check_finite : bool
        Raise :class:`~dlinalg.errors.NonFiniteError` when the first pass
        shows NaN/inf (costs nothing extra).
    first_gram : numpy.ndarray, optional
        ``Y^T Y`` when the caller has it from elsewhere (``Z^T (A^T A) Z``):
        saves the first pass. Only the first step uses it; the passes that
        certify orthogonality always take the Gram of the actual rows.
    """
    m = A.shape[0]
    gram = first_gram
    if gram is None:
        gram = run_pass(A, chain, ("gram",)).gram
        if check_finite:
            raise_if_nonfinite(np.diag(gram), what, getattr(A, "col_labels", None))
    n = gram.shape[0]
    if not np.isfinite(gram).all():  # NaN/inf data and check_finite=False: NaN results
        return _nan_basis(A, chain, n, extras)
    cond2, lam = _cond2(gram)
    cond_y = cond2
    rank = int(np.sum(lam > lam[-1] * TRUNCATE_BELOW)) if lam[-1] > 0 else 0
    unshifted = cond2 <= KAPPA_CHOLQR2**2 or method == "cholqr2"
    step = _chol(gram) if unshifted else None
    if step is None and method == "cholqr2":
        raise RankDeficientError(
            f"{what} is rank-deficient or too ill-conditioned for Cholesky-QR2: numerical "
            f"rank {rank} of {n} columns, estimated condition number {np.sqrt(cond2):.3g}; "
            "use method='auto' (shifted Cholesky-QR3) or method='tsqr'"
        )
    if step is None:
        if not lam[-1] > 0:
            raise _rank_error(lam, n, what)
        # Shifted step [2]: s = 11 (m n + n (n + 1)) u ||Y||^2 keeps G + sI positive definite.
        shift = 11 * (m * n + n * (n + 1)) * np.finfo(np.float64).eps * lam[-1]
        step = _chol(gram + shift * np.eye(n))
        if step is None:  # not in exact arithmetic; guards against a broken Gram
            raise _rank_error(lam, n, what)
    R = step
    chain = chain.then("triu", _inv_upper(step))
    for passes in range(2, MAX_PASSES + 1):
        parts = run_pass(A, chain, ("gram", *extras))
        cond2, lam = _cond2(parts.gram)
        step = _chol(parts.gram) if cond2 <= MAX_COND2_STEP else None
        if step is not None and cond2 <= NEAR_IDENTITY**2:
            inv = _inv_upper(step)
            return Orthonormal(
                chain=chain.then("triu", inv),
                R=None if R is None else step @ R,
                atq=None if parts.atb is None else parts.atb @ inv,
                colsum=None if parts.colsum is None else parts.colsum @ inv,
                passes=passes - (first_gram is not None),
                rank=chain.ncol,
                cond=float(np.sqrt(cond_y)),
            )
        if method == "cholqr2":
            raise RankDeficientError(
                f"{what} is rank-deficient or too ill-conditioned for Cholesky-QR2: numerical "
                f"rank {rank} of {n} columns; after two steps Q is not orthonormal (its "
                f"condition number {np.sqrt(cond2):.3g}); use method='auto' (shifted "
                "Cholesky-QR3) or method='tsqr'"
            )
        if step is not None:
            R = None if R is None else step @ R
            chain = chain.then("triu", _inv_upper(step))
        elif truncate:
            # Rank-revealing step (SVQB, Stathopoulos & Wu 2002): keep what the Gram resolves.
            lam, vecs = np.linalg.eigh(parts.gram)
            keep = lam > lam[-1] * TRUNCATE_BELOW
            chain = chain.then("full", vecs[:, keep] / np.sqrt(lam[keep]))
            R = None
        else:
            raise _rank_error(lam, n, what)
    raise _rank_error(lam, n, what)
