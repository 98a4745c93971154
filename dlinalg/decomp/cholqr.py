"""Cholesky-QR2 and shifted Cholesky-QR3: an orthonormal basis in two or three passes.

Cholesky-QR factors the Gram matrix, ``A^T A = R^T R``, and takes
``Q = A R^{-1}``: one pass over A for the Gram, and Q row block by row block.
Alone it loses orthogonality like ``eps * cond(A)^2``; repeated once
(CholQR2, Yamamoto et al. 2015) it is orthogonal to machine precision as long
as the Gram can be factored, i.e. ``cond(A)`` below about ``eps^-1/2``. Beyond
that, a shifted first step (Fukaya et al. 2020) brings ``cond(A R_1^{-1})``
down to about ``eps^-1/2``, and CholQR2 finishes: shifted CholQR3, stable up to
``cond(A)`` near ``1/eps``. When a rank-deficient basis is allowed
(randomized SVD), a step whose Gram Cholesky cannot factor becomes SVQB
(Stathopoulos and Wu 2002): an eigendecomposition of the Gram that keeps only
the directions it resolves.

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
.. [3] A. Stathopoulos and K. Wu, "A block orthogonalization procedure with
   constant synchronization requirements", SIAM J. Sci. Comput. 23(6),
   2165-2182 (2002).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

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


# --- the steps, each as its paper writes it ------------------------------------------------


class _Step(NamedTuple):
    """One triangular step: ``G = R^T R`` and ``R^{-1}``, the factor ``Q = Y R^{-1}`` applies."""

    R: np.ndarray
    inv: np.ndarray


def _cholqr_step(gram: np.ndarray) -> _Step | None:
    """Cholesky-QR [1]_ from the Gram of ``Y``: ``G = Y^T Y = R^T R``, ``Q = Y R^{-1}``.

    The three lines of Mahout's ``DQR.scala``: the Gram (the caller's pass
    over A), its Cholesky factor in memory, and ``R^{-1}``, which the caller
    appends to the row chain so that every block of Y becomes its block of Q.
    None when the Gram is not numerically positive definite.

    References
    ----------
    .. [1] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa and T. Fukaya, ETNA 44,
       306-326 (2015).
    """
    R = _chol(gram)
    return None if R is None else _Step(R, _inv_upper(R))


def _shifted_cholqr_step(gram: np.ndarray, lam_max: float, m: int) -> _Step | None:
    """Shifted Cholesky-QR [2]_: ``G + s I = R^T R``, ``Q = Y R^{-1}``.

    The shift ``s = 11 (m n + n (n + 1)) u ||Y||_2^2`` of [2]_ (``||Y||_2^2``
    the largest eigenvalue of G) keeps ``G + s I`` positive definite for
    ``cond(Y)`` up to about ``1/u`` and brings ``cond(Y R^{-1})`` down to about
    ``u^{-1/2}``, where CholQR2 takes over. None only for a broken Gram (not in
    exact arithmetic).

    References
    ----------
    .. [2] T. Fukaya, R. Kannan, Y. Nakatsukasa, Y. Yamamoto and Y. Yanagisawa,
       SIAM J. Sci. Comput. 42(1), A477-A503 (2020).
    """
    n = gram.shape[0]
    shift = 11 * (m * n + n * (n + 1)) * np.finfo(np.float64).eps * lam_max
    return _cholqr_step(gram + shift * np.eye(n))


def _svqb_step(gram: np.ndarray) -> np.ndarray:
    """SVQB [3]_, truncated: ``G = V diag(lam) V^T``, ``Q = Y V_k diag(lam_k)^{-1/2}``.

    Only the eigenpairs the Gram resolves (``lam > TRUNCATE_BELOW * lam_max``)
    are kept, so Q has the numerical rank of Y as its width (a rank-revealing
    step, not triangular). Returns the ``n x k`` factor for the row chain.

    References
    ----------
    .. [3] A. Stathopoulos and K. Wu, "A block orthogonalization procedure with
       constant synchronization requirements", SIAM J. Sci. Comput. 23(6),
       2165-2182 (2002).
    """
    lam, vecs = np.linalg.eigh(gram)
    keep = lam > lam[-1] * TRUNCATE_BELOW
    return vecs[:, keep] / np.sqrt(lam[keep])


def _cholqr2_error(what: str, rank: int, n: int, cond: float, after_two: bool) -> Exception:
    """``method="cholqr2"`` refuses what two unshifted steps cannot orthogonalize."""
    if not after_two:
        return RankDeficientError(
            f"{what} is rank-deficient or too ill-conditioned for Cholesky-QR2: numerical "
            f"rank {rank} of {n} columns, estimated condition number {cond:.3g}; "
            "use method='auto' (shifted Cholesky-QR3) or method='tsqr'"
        )
    return RankDeficientError(
        f"{what} is rank-deficient or too ill-conditioned for Cholesky-QR2: numerical "
        f"rank {rank} of {n} columns; after two steps Q is not orthonormal (its "
        f"condition number {cond:.3g}); use method='auto' (shifted "
        "Cholesky-QR3) or method='tsqr'"
    )


# --- the driver ----------------------------------------------------------------------------


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

    Which step runs when:

    1. the first step is :func:`_cholqr_step` when ``cond(Y) <=``
       :data:`KAPPA_CHOLQR2` (or ``method="cholqr2"``), otherwise (or when that
       Cholesky fails) :func:`_shifted_cholqr_step`;
    2. every later pass takes :func:`_cholqr_step` of the Gram of ``Q_j``, and
       the one whose Gram is near the identity is the last;
    3. a ``Q_j`` whose Gram Cholesky cannot factor is rank-deficient: with
       ``truncate`` :func:`_svqb_step` keeps the directions it resolves (R is
       then None), otherwise that is a ``RankDeficientError``.

    Non-finite data is refused in the first pass (``check_finite``) or gives
    NaN factors (:func:`_nan_basis`).

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

    References
    ----------
    .. [1] Y. Yamamoto et al., ETNA 44, 306-326 (2015) (CholQR2).
    .. [2] T. Fukaya et al., SIAM J. Sci. Comput. 42(1), A477-A503 (2020) (shifted CholQR3).
    .. [3] A. Stathopoulos and K. Wu, SIAM J. Sci. Comput. 23(6), 2165-2182 (2002) (SVQB).
    """
    gram = first_gram
    if gram is None:  # pass 1: the Gram of Y
        gram = run_pass(A, chain, ("gram",)).gram
        if check_finite:
            raise_if_nonfinite(np.diag(gram), what, getattr(A, "col_labels", None))
    n = gram.shape[0]
    if not np.isfinite(gram).all():  # NaN/inf data and check_finite=False: NaN results
        return _nan_basis(A, chain, n, extras)
    cond2_y, lam = _cond2(gram)
    rank = int(np.sum(lam > lam[-1] * TRUNCATE_BELOW)) if lam[-1] > 0 else 0

    # Step 1: Cholesky-QR of Y if it is well enough conditioned, else the shifted step.
    step = None
    if cond2_y <= KAPPA_CHOLQR2**2 or method == "cholqr2":
        step = _cholqr_step(gram)
    if step is None and method == "cholqr2":
        raise _cholqr2_error(what, rank, n, np.sqrt(cond2_y), after_two=False)
    if step is None:
        if not lam[-1] > 0:
            raise _rank_error(lam, n, what)
        step = _shifted_cholqr_step(gram, lam[-1], A.shape[0])
        if step is None:
            raise _rank_error(lam, n, what)
    R = step.R
    chain = chain.then("triu", step.inv)

    # Steps 2, 3, ...: Cholesky-QR of Q_j until its Gram is near the identity.
    for passes in range(2, MAX_PASSES + 1):
        parts = run_pass(A, chain, ("gram", *extras))
        cond2, lam = _cond2(parts.gram)
        step = _cholqr_step(parts.gram) if cond2 <= MAX_COND2_STEP else None
        if step is not None and cond2 <= NEAR_IDENTITY**2:  # the certified last step
            return Orthonormal(
                chain=chain.then("triu", step.inv),
                R=None if R is None else step.R @ R,
                atq=None if parts.atb is None else parts.atb @ step.inv,
                colsum=None if parts.colsum is None else parts.colsum @ step.inv,
                passes=passes - (first_gram is not None),
                rank=chain.ncol,
                cond=float(np.sqrt(cond2_y)),
            )
        if method == "cholqr2":
            raise _cholqr2_error(what, rank, n, np.sqrt(cond2), after_two=True)
        if step is not None:  # not orthonormal yet: one more Cholesky-QR step
            R = None if R is None else step.R @ R
            chain = chain.then("triu", step.inv)
        elif truncate:  # numerically rank-deficient: keep what the Gram resolves
            chain = chain.then("full", _svqb_step(parts.gram))
            R = None
        else:
            raise _rank_error(lam, n, what)
    raise _rank_error(lam, n, what)
