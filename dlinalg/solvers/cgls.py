"""CGLS: conjugate gradients on the normal equations of least squares, one pass per iteration.

The normal matrix ``A^T A`` is never formed: the fused kernel gives ``A^T A p``
and ``||A p||^2`` from one read of A, and ``s = A^T r - damp^2 x`` follows by
recurrence on the client (refreshed from the true residual now and then).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from typing import Any

import dask.array as da
import numpy as np
from scipy.linalg import eigvalsh_tridiagonal

from dlinalg.solvers._driver import Run, SolverState, check_least_squares
from dlinalg.solvers._operator import as_operator, check_finite_norm
from dlinalg.solvers.lsqr import LSQR_MESSAGES
from dlinalg.solvers.result import SolveResult

__all__ = ["cgls", "CGLS_MESSAGES"]

EPS = np.finfo(np.float64).eps
NAN = float("nan")

#: ``istop`` -> reason for :func:`cgls` (LSQR's numbering; 3 and 6 do not occur).
CGLS_MESSAGES = dict(enumerate(LSQR_MESSAGES))

#: CGLS replaces its recurred ``A^T r`` by the true one every this many iterations.
REFRESH = 50


def cgls(
    A: Any,
    b: Any,
    *,
    damp: float = 0.0,
    atol: float = 1e-6,
    btol: float = 1e-6,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
    show: bool | None = None,
) -> SolveResult:
    """Least squares ``min ||A x - b||^2 + damp^2 ||x||^2`` by CGLS, one pass over A per iteration.

    CG on the normal equations ``(A^T A + damp^2 I) x = A^T b`` without forming
    ``A^T A``: each iteration reads A once for ``A^T A p`` and ``||A p||^2``
    (the fused kernel), and updates ``s = A^T r - damp^2 x`` by recurrence on
    the client. The stopping rules are LSQR's.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The ``m x n`` matrix (persisted once; a LinearOperator runs in process).
    b : array_like, dask.array.Array or 1-column DRM
        The ``(m,)`` right-hand side (a ``(m, 1)`` matrix is accepted).
    damp : float, default 0
        Damping (ridge) factor.
    atol, btol : float, default 1e-6
        Stopping tolerances, LSQR's (see Notes).
    maxiter : int, optional
        Iteration limit; default ``2 n``.
    x0 : array_like, optional
        Starting point, ``(n,)``; the solution does not depend on it (SciPy's
        :func:`~scipy.sparse.linalg.lsqr` damps ``x - x0`` instead of ``x``).
    callback : callable, optional
        Called as ``callback(xk)`` after each iteration.
    checkpoint : str or os.PathLike, optional
        File to save the state to every 10 iterations (and every 30 s);
        calling again with the same path resumes bit for bit.
    fingerprint : str, bytes, int or tuple of them, optional
        With ``checkpoint``: what identifies A, used instead of its own
        identity. By default a DRM or Dask array is identified by its graph
        token (free) and an opaque operator (a LinearOperator) by its products
        with seeded probe vectors (one extra ``matvec`` and ``rmatvec``); pass
        a fingerprint to skip the probe. It is a promise: a checkpoint with
        the same fingerprint is resumed whatever A now holds.
    show : bool, optional
        Show an iteration bar with ``||r||`` and ``||A^T r||``. Default: on in Jupyter, off elsewhere
        (:func:`dlinalg.cluster.default_progress`).

    Returns
    -------
    SolveResult
        ``x``, ``istop``, ``itn``, ``normr`` (``||b - A x||``), ``normar``
        (= ``arnorm``, ``||A^T (b - A x) - damp^2 x||``), both computed from
        the true residual at the end; ``anorm`` and ``acond`` (the estimates
        below), ``xnorm`` and ``message``.

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ShapeError` if b or x0 do not match A;
        :class:`~dlinalg.errors.ParameterError` for a negative damp or
        tolerance or ``maxiter < 1``; :class:`~dlinalg.errors.NonFiniteError`
        for NaN/inf in A, b or x0;
        :class:`~dlinalg.solvers.checkpoint.CheckpointError` for a checkpoint
        of another problem.
    TypeError
        :class:`~dlinalg.errors.OperandTypeError` for an unsupported A or b.

    See Also
    --------
    lsqr : The same problem, numerically safer when A is ill-conditioned.
    scipy.sparse.linalg.lsqr : SciPy's LSQR.

    Notes
    -----
    With ``r = b - A x``, ``rbar`` the damped residual (``||rbar||^2 = ||r||^2
    + damp^2 ||x||^2``) and ``anorm`` an estimate of ``||[A; damp I]||_2``:

    =====  ==============================================================
    istop  meaning (:data:`CGLS_MESSAGES`, LSQR's)
    =====  ==============================================================
    0      ``A^T b = 0`` (or b = 0): x = 0 (x0) is a solution
    1      ``||rbar|| <= btol ||b|| + atol anorm ||x||``: A x = b is solved
    2      ``||s|| <= atol anorm ||rbar||``: least-squares solution found
    4, 5   as 1, 2 with the tolerances at machine precision
    7      ``maxiter`` reached
    =====  ==============================================================

    ``s`` and ``||r||^2`` are updated by recurrence; they are replaced by
    their true values (one more pass, ``A^T (A x - b)`` and ``||A x - b||^2``
    fused) every 50 iterations, before accepting a stop (a stop the true
    values do not confirm is not taken) and at the end for the result.
    ``anorm`` and ``acond`` come from the extreme eigenvalues of the Lanczos
    matrix that CG's coefficients define for ``A^T A + damp^2 I`` [3]_: lower
    bounds of ``||[A; damp I]||_2`` and its condition number that converge
    in a few iterations (LSQR's ``anorm`` is a larger Frobenius-norm
    estimate, so CGLS's tests are the stricter).
    CGLS squares the condition number; prefer :func:`lsqr` when
    ``cond(A) > 1e6`` or so.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for
       solving linear systems", J. Res. Nat. Bur. Standards 49(6), 1952.
    .. [2] A. Bjorck, "Numerical Methods for Least Squares Problems", SIAM,
       1996, section 7.4 (CGLS).
    .. [3] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed.,
       SIAM, 2003, section 6.7.3 (the Lanczos matrix of CG).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((1000, 20)); b = rng.standard_normal(1000)
    >>> res = dl.cgls(dl.from_array(A, chunks=250), b, atol=1e-10, btol=1e-10)
    >>> res.istop, bool(np.allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0]))
    (2, True)
    """
    _, n, b, x0, damp, atol, btol, _, maxiter, callback = check_least_squares(
        A, b, x0=x0, damp=damp, atol=atol, btol=btol, conlim=1.0, maxiter=maxiter,
        default_maxiter=lambda m, n: 2 * n, callback=callback, checkpoint=checkpoint,
    )  # fmt: skip

    run = Run("cgls", A, b, {"damp": damp, "atol": atol, "btol": btol, "x0": x0},
              checkpoint, maxiter, show, callback, fingerprint=fingerprint)  # fmt: skip
    op = as_operator(A, before_pass=run.identify)
    bvec = op.vector(b)
    st = run.drive(
        CglsState,
        start=lambda: _cgls_start(op, bvec, b, x0, damp, n),
        iterate=lambda st: _cgls_iterate(st, op, bvec, run, damp, atol, btol, maxiter),
        moving=lambda st: st.gamma > 0,
        messages=CGLS_MESSAGES,
    )
    _confirm(st, op, bvec, damp)  # resumed under a smaller maxiter: not iterated
    return SolveResult(
        x=st.x.copy(), istop=int(st.istop), itn=int(st.itn),
        normr=float(st.normr), normar=float(st.normar),
        anorm=float(st.anorm), acond=float(st.acond), arnorm=float(st.normar),
        xnorm=float(np.linalg.norm(st.x)), message=CGLS_MESSAGES[st.istop],
        history=run.history(),
    )  # fmt: skip


def _cgls_true(op: Any, bvec: Any, x: np.ndarray, damp: float) -> tuple[np.ndarray, float, float]:
    """``(s, ||r||, ||s||)`` from the true residual ``r = b - A x`` (one pass)."""
    _, h, rr = op.fused(x, bvec, -1.0, keep=False)
    s = -h - damp**2 * x
    return s, sqrt(rr), float(np.linalg.norm(s))


@dataclass(kw_only=True)
class CglsState(SolverState):
    """CGLS's whole state between iterations.

    Attributes
    ----------
    x, s, p : numpy.ndarray
        The iterate, ``s = A^T r - damp^2 x`` (by recurrence) and the search direction.
    gamma, rr : float
        ``||s||^2`` and ``||r||^2`` (by recurrence, refreshed from the truth).
    bnorm, normr, normar : float
        ``||b||`` and the reported ``||r||``, ``||s||``.
    true_at : int
        The iteration whose ``s`` and ``rr`` come from the true residual.
    alpha, beta : float
        CG's last step and direction coefficients (for the Lanczos matrix).
    tdiag, toff : numpy.ndarray
        The Lanczos matrix of ``A^T A + damp^2 I`` (diagonal, off-diagonal).
    anorm, acond : float
        Its estimates of ``||A||`` and ``cond(A)``.
    """

    x: np.ndarray
    s: np.ndarray
    p: np.ndarray
    gamma: float
    rr: float
    bnorm: float
    normr: float
    normar: float
    true_at: int = 0
    alpha: float = 1.0
    beta: float = 0.0
    tdiag: np.ndarray
    toff: np.ndarray
    anorm: float = NAN
    acond: float = NAN


def _cgls_start(op: Any, bvec: Any, b: Any, x0: Any, damp: float, n: int) -> CglsState:
    """``s = A^T (b - A x0) - damp^2 x0`` and ``||b - A x0||^2``: the first pass."""
    if x0 is None:
        _, s, rr = op.fused(None, bvec, 1.0, keep=False)
        x, bnorm = np.zeros(n), sqrt(rr)
    else:
        _, h, rr = op.fused(x0, bvec, -1.0, keep=False)
        x, s = x0.copy(), -h - damp**2 * x0
        bnorm = float(np.linalg.norm(b.compute() if isinstance(b, da.Array) else b))
    check_finite_norm(rr + float(np.sum(s)), "A or b")
    if bnorm == 0:  # x = 0 solves the problem exactly (as LSQR returns it)
        x, s, rr = np.zeros(n), np.zeros(n), 0.0
    gamma = float(s @ s)
    return CglsState(x=x, s=s, p=s.copy(), gamma=gamma, rr=rr, bnorm=bnorm, normr=sqrt(rr),
                     normar=sqrt(gamma), true_at=0, alpha=1.0, beta=0.0, tdiag=np.zeros(0),
                     toff=np.zeros(0), anorm=NAN, acond=NAN)  # fmt: skip


def _cgls_iterate(st: CglsState, op, bvec, run: Run, damp, atol, btol, maxiter) -> None:
    """Hestenes-Stiefel on the normal equations; ``s`` and ``||r||^2`` by recurrence."""
    dampsq = damp**2
    x, s, p = st.x, st.s, st.p
    while st.itn < maxiter:
        st.itn += 1
        atap, qq = op.normal(p)  # A^T A p and ||A p||^2: one pass
        pp = float(p @ p)
        delta = qq + dampsq * pp
        if not delta > 0:  # p in the numerical null space of A: nothing left to gain
            st.istop = 5
            break
        alpha = st.gamma / delta
        _lanczos(st, alpha)
        # r_new = r - alpha A p, and r^T A p = (s + damp^2 x)^T p
        rr = st.rr - 2 * alpha * float((s + dampsq * x) @ p) + alpha**2 * qq
        x = x + alpha * p
        s = s - alpha * (atap + dampsq * p)
        st.rr = max(rr, 0.0)
        if st.itn % REFRESH == 0:
            s, st.rr = _refresh(st, op, bvec, x, damp)
        istop = _cgls_stop(st, x, s, damp, atol, btol, maxiter)
        if istop not in (0, 7) and st.true_at != st.itn:  # confirm with the truth
            s, st.rr = _refresh(st, op, bvec, x, damp)
            istop = _cgls_stop(st, x, s, damp, atol, btol, maxiter)
        gamma = float(s @ s)
        st.beta = gamma / st.gamma
        p = s + st.beta * p
        st.x, st.s, st.p, st.gamma, st.istop = x, s, p, gamma, istop
        st.normr = sqrt(st.rr)
        st.normar = sqrt(gamma)
        run.iteration(st.itn, x, st.to_dict, normr=st.normr, normar=st.normar)
        if istop:
            break
    _confirm(st, op, bvec, damp)


def _confirm(st: CglsState, op: Any, bvec: Any, damp: float) -> None:
    """The reported norms come from the true residual (one pass, unless they already do)."""
    if st.true_at != st.itn:
        st.normr, st.normar = _cgls_true(op, bvec, st.x, damp)[1:]
        st.true_at = st.itn


def _lanczos(st: CglsState, alpha: float) -> None:
    """Extend CG's Lanczos matrix ``T`` of ``A^T A + damp^2 I``; its extreme Ritz values
    estimate ``||[A; damp I]||_2^2`` and ``cond^2`` from below (Saad, section 6.7.3)."""
    if st.itn > 1:
        st.toff = np.append(st.toff, sqrt(st.beta) / st.alpha)
    st.tdiag = np.append(st.tdiag, 1 / alpha + st.beta / st.alpha)
    k = st.itn - 1
    (lo,) = eigvalsh_tridiagonal(st.tdiag, st.toff, select="i", select_range=(0, 0))
    (hi,) = eigvalsh_tridiagonal(st.tdiag, st.toff, select="i", select_range=(k, k))
    st.anorm, st.acond, st.alpha = sqrt(hi), sqrt(hi / lo) if lo > 0 else np.inf, alpha


def _refresh(st: CglsState, op: Any, bvec: Any, x: np.ndarray, damp: float) -> tuple:
    s, normr, _ = _cgls_true(op, bvec, x, damp)
    st.true_at = st.itn
    return s, normr**2


def _cgls_stop(st: CglsState, x: np.ndarray, s: np.ndarray, damp, atol, btol, maxiter) -> int:
    """LSQR's tests 1 and 2 (and 4, 5), in its order: the user's tolerances win."""
    xnorm = float(np.linalg.norm(x))
    rnorm = sqrt(st.rr + damp**2 * xnorm**2)
    anorm, bnorm = st.anorm, st.bnorm
    test1 = rnorm / bnorm
    test2 = float(np.linalg.norm(s)) / (anorm * rnorm + EPS)
    t1 = test1 / (1 + anorm * xnorm / bnorm)
    istop = 7 if st.itn >= maxiter else 0
    if 1 + test2 <= 1:
        istop = 5
    if 1 + t1 <= 1:
        istop = 4
    if test2 <= atol:
        istop = 2
    if test1 <= btol + atol * anorm * xnorm / bnorm:
        istop = 1
    return istop
