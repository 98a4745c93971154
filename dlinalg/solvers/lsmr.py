"""LSMR (Fong and Saunders) over a distributed matrix: one pass over A per iteration."""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from typing import Any

import numpy as np

from dlinalg.solvers._driver import Run, SolverState, check_least_squares
from dlinalg.solvers._golub_kahan import Bidiagonalization
from dlinalg.solvers._operator import as_operator
from dlinalg.solvers.lsqr import LSQR_MESSAGES, stop_reason, sym_ortho
from dlinalg.solvers.result import SolveResult

__all__ = ["lsmr", "LSMR_MESSAGES", "SCIPY_FIELDS"]

#: The order of SciPy's result tuple (``norma, conda, normx`` are our anorm, acond, xnorm).
SCIPY_FIELDS = ("x", "istop", "itn", "normr", "normar", "anorm", "acond", "xnorm")

#: ``istop`` -> reason (LSQR's table; 0 also covers ``x = x0``).
LSMR_MESSAGES = ("The exact solution is x = 0, or x = x0 if x0 was given", *LSQR_MESSAGES[1:])


@dataclass(kw_only=True)
class LsmrState(SolverState):
    """LSMR's whole state between iterations, with SciPy's names (``normA`` ... as there).

    Attributes
    ----------
    alpha, beta : float
        The last Golub-Kahan coefficients.
    zetabar, alphabar, rho, rhobar, cbar, sbar : float
        The two QR factorizations' last rotations and entries.
    betadd, betad, rhodold, tautildeold, thetatilde, zeta, d : float
        The ``||r||`` estimate's rotations.
    normA2, maxrbar, minrbar : float
        Running ``||A||_F^2`` and the extreme ``rhobar`` for ``cond(A)``.
    normA, condA, normx, normr, normar, normb : float
        The estimates SciPy returns, and ``||b||``.
    x, v, h, hbar : numpy.ndarray
        The iterate, the right Lanczos vector and the two search directions.
    """

    alpha: float = 0.0
    beta: float = 0.0
    zetabar: float = 0.0
    alphabar: float = 0.0
    rho: float = 0.0
    rhobar: float = 0.0
    cbar: float = 0.0
    sbar: float = 0.0
    betadd: float = 0.0
    betad: float = 0.0
    rhodold: float = 0.0
    tautildeold: float = 0.0
    thetatilde: float = 0.0
    zeta: float = 0.0
    d: float = 0.0
    normA2: float = 0.0
    maxrbar: float = 0.0
    minrbar: float = 0.0
    normA: float = 0.0
    condA: float = 0.0
    normx: float = 0.0
    normr: float = 0.0
    normar: float = 0.0
    normb: float = 0.0
    x: np.ndarray
    v: np.ndarray
    h: np.ndarray
    hbar: np.ndarray


def lsmr(
    A: Any,
    b: Any,
    damp: float = 0.0,
    atol: float = 1e-6,
    btol: float = 1e-6,
    conlim: float = 1e8,
    maxiter: int | None = None,
    show: bool | None = None,
    x0: Any = None,
    *,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
) -> SolveResult:
    """Least squares ``min ||A x - b||^2 + damp^2 ||x||^2`` by LSMR, streaming A once per iteration.

    LSMR is MINRES applied to the normal equations: ``||A^T r||`` decreases
    monotonically, so stopping early gives a better least-squares answer
    than LSQR's. It runs on the same one-pass Golub-Kahan step as
    :func:`lsqr`; the recurrences and stopping rules are SciPy's
    :func:`scipy.sparse.linalg.lsmr`, and so are the arguments, in SciPy's
    order (``damp`` ... ``x0`` may be positional); the result unpacks like
    SciPy's 8-tuple.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The ``m x n`` matrix (persisted once; see :func:`lsqr`).
    b : array_like, dask.array.Array or 1-column DRM
        The ``(m,)`` right-hand side, squeezed as SciPy does (a ``(m, 1)`` or
        ``(1, m)`` array, or a scalar when A has one row).
    damp : float, default 0
        Damping (ridge) factor.
    atol, btol : float, default 1e-6
        Stopping tolerances (the tests of :func:`lsqr`).
    conlim : float, default 1e8
        Stop when the estimated ``cond(Abar)`` exceeds it (0: no limit).
    maxiter : int, optional
        Iteration limit; default ``min(m, n)`` (SciPy's).
    show : bool, optional
        Show an iteration bar (SciPy prints a table instead). Default: on in Jupyter, off elsewhere
        (:func:`dlinalg.cluster.default_progress`).
    x0 : array_like, optional
        Starting point, ``(n,)``. As in SciPy, the damping then applies to
        ``x - x0``: ``min ||A x - b||^2 + damp^2 ||x - x0||^2``.
    callback : callable, optional
        Called as ``callback(xk)`` after each iteration.
    checkpoint : str or os.PathLike, optional
        File for crash-safe saves of the whole state (every 10 iterations and
        every 30 s); calling again with it resumes bit for bit.
    fingerprint : str, bytes, int or tuple of them, optional
        With ``checkpoint``: what identifies A, used instead of its own
        identity. By default a DRM or Dask array is identified by its graph
        token (free) and an opaque operator (a LinearOperator) by its products
        with seeded probe vectors (one extra ``matvec`` and ``rmatvec``); pass
        a fingerprint to skip the probe. It is a promise: a checkpoint with
        the same fingerprint is resumed whatever A now holds.

    Returns
    -------
    SolveResult
        ``x``, ``istop`` (:data:`LSMR_MESSAGES`, the table of :func:`lsqr`),
        ``itn``, ``normr``, ``normar`` (= ``arnorm``), ``anorm``, ``acond``,
        ``xnorm``, ``message``. It unpacks as SciPy's ``(x, istop, itn,
        normr, normar, norma, conda, normx)``.

    Raises
    ------
    ValueError
        Wrong b length, negative damp/tolerance, ``maxiter < 1``, NaN/inf,
        or a foreign/corrupted checkpoint (as :func:`lsqr`).
    TypeError
        Unsupported A or b.

    See Also
    --------
    scipy.sparse.linalg.lsmr : The in-memory original.
    lsqr

    Notes
    -----
    One read of A per iteration and O(n) client work; ``||x||`` is computed
    exactly on the client each iteration (x lives there).

    References
    ----------
    .. [1] D. C.-L. Fong and M. A. Saunders, "LSMR: An iterative algorithm
       for sparse least-squares problems", SIAM J. Sci. Comput. 33(5), 2011.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((1000, 20)); b = rng.standard_normal(1000)
    >>> res = dl.lsmr(dl.from_array(A, chunks=250), b, atol=1e-10, btol=1e-10)
    >>> bool(np.allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0]))
    True
    """
    _, n, b, x0, damp, atol, btol, conlim, maxiter, callback = check_least_squares(
        A, b, x0=x0, damp=damp, atol=atol, btol=btol, conlim=conlim, maxiter=maxiter,
        default_maxiter=lambda m, n: min(m, n), callback=callback, checkpoint=checkpoint,
    )  # fmt: skip

    params = {"damp": damp, "atol": atol, "btol": btol, "conlim": conlim, "x0": x0}
    run = Run("lsmr", A, b, params, checkpoint, maxiter, show, callback, fingerprint=fingerprint)
    op = as_operator(A, before_pass=run.identify)
    gk = Bidiagonalization(op)
    st = run.drive(
        LsmrState,
        start=lambda: _start(gk, b, x0, n),
        iterate=lambda st: _iterate(st, gk, run, damp, atol, btol, conlim, maxiter),
        moving=lambda st: st.normar != 0 and st.normb != 0,
        messages=LSMR_MESSAGES,
        restore=gk.restore,
        saved=lambda st: {**st.to_dict(), **gk.state()},
    )
    return SolveResult(
        x=st.x.copy(),
        istop=int(st.istop),
        itn=int(st.itn),
        normr=float(st.normr),
        normar=float(st.normar),
        anorm=float(st.normA),
        acond=float(st.condA),
        arnorm=float(st.normar),
        xnorm=float(st.normx),
        message=LSMR_MESSAGES[st.istop],
        scipy_fields=SCIPY_FIELDS,
        history=run.history(),
    )


def _start(gk: Bidiagonalization, b: Any, x0: Any, n: int) -> LsmrState:
    x, v, alpha, beta, normb = gk.first(b, x0, n)
    if normb == 0:
        x = np.zeros(n)
    return LsmrState(
        alpha=alpha, beta=beta, zetabar=alpha * beta, alphabar=alpha,
        rho=1.0, rhobar=1.0, cbar=1.0, sbar=0.0, betadd=beta, rhodold=1.0,
        normA2=alpha * alpha, minrbar=1e100, normA=alpha, condA=1.0, normr=beta,
        normar=alpha * beta, normb=normb, x=x, v=v, h=v.copy(), hbar=np.zeros(n),
    )  # fmt: skip


def _iterate(st: LsmrState, gk, run: Run, damp, atol, btol, conlim, maxiter) -> None:
    """SciPy's LSMR loop; the bidiagonalization step is the only distributed work."""
    ctol = 1 / conlim if conlim > 0 else 0.0
    x, v, h, hbar = st.x, st.v, st.h, st.hbar
    while st.itn < maxiter:
        st.itn += 1
        alpha = st.alpha
        beta, atu = gk.step(v, alpha)
        if beta > 0:
            v = atu - beta * v
            alpha = float(np.linalg.norm(v))
            if alpha > 0:
                v = (1 / alpha) * v
        st.alpha, st.beta = alpha, beta

        # Rotations: eliminate damp, then beta (Qhat_{k,2k+1}, Q_{k,k+1}), then theta (Qbar)
        chat, shat, alphahat = sym_ortho(st.alphabar, damp)
        rhoold = st.rho
        c, s, rho = sym_ortho(alphahat, beta)
        thetanew = s * alpha
        st.alphabar = c * alpha
        rhobarold = st.rhobar
        zetaold = st.zeta
        thetabar = st.sbar * rho
        rhotemp = st.cbar * rho
        cbar, sbar, rhobar = sym_ortho(st.cbar * rho, thetanew)
        zeta = cbar * st.zetabar
        st.zetabar = -sbar * st.zetabar

        hbar = h - (thetabar * rho / (rhoold * rhobarold)) * hbar  # update h, hbar, x
        x = x + (zeta / (rho * rhobar)) * hbar
        h = v - (thetanew / rho) * h

        # Estimate ||r|| (rotations applied to the right-hand side)
        betaacute = chat * st.betadd
        betacheck = -shat * st.betadd
        betahat = c * betaacute
        st.betadd = -s * betaacute
        thetatildeold = st.thetatilde
        ctildeold, stildeold, rhotildeold = sym_ortho(st.rhodold, thetabar)
        st.thetatilde = stildeold * rhobar
        st.rhodold = ctildeold * rhobar
        st.betad = -stildeold * st.betad + ctildeold * betahat
        st.tautildeold = (zetaold - thetatildeold * st.tautildeold) / rhotildeold
        taud = (zeta - st.thetatilde * st.tautildeold) / st.rhodold
        st.d += betacheck * betacheck
        st.normr = sqrt(st.d + (st.betad - taud) ** 2 + st.betadd**2)

        # Estimate ||A||, cond(A), ||A^T r||, ||x||
        st.normA2 += beta * beta
        st.normA = sqrt(st.normA2)
        st.normA2 += alpha * alpha
        st.maxrbar = max(st.maxrbar, rhobarold)
        if st.itn > 1:
            st.minrbar = min(st.minrbar, rhobarold)
        st.condA = max(st.maxrbar, rhotemp) / min(st.minrbar, rhotemp)
        st.normar = abs(st.zetabar)
        st.normx = float(np.linalg.norm(x))
        st.rho, st.rhobar, st.cbar, st.sbar, st.zeta = rho, rhobar, cbar, sbar, zeta
        st.istop = _stop(st, atol, btol, ctol, maxiter)
        st.x, st.v, st.h, st.hbar = x, v, h, hbar
        run.iteration(
            st.itn, x, lambda: {**st.to_dict(), **gk.state()}, normr=st.normr,
            normar=st.normar, anorm=st.normA, acond=st.condA, xnorm=st.normx,
        )  # fmt: skip
        if st.istop:
            break


def _stop(st: LsmrState, atol: float, btol: float, ctol: float, maxiter: int) -> int:
    normA, normr, normb, normx = st.normA, st.normr, st.normb, st.normx
    test2 = st.normar / (normA * normr) if normA * normr != 0 else np.inf
    rtol = btol + atol * normA * normx / normb
    return stop_reason(
        st.itn >= maxiter, normr / normb, test2, 1 / st.condA, normA * normx / normb,
        rtol, atol, ctol,
    )  # fmt: skip
