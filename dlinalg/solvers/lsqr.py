"""LSQR (Paige and Saunders) over a distributed matrix: one pass over A per iteration."""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from typing import Any

import numpy as np

from dlinalg._validation import check_flag
from dlinalg.errors import ParameterError
from dlinalg.solvers._driver import Run, SolverState, check_least_squares
from dlinalg.solvers._golub_kahan import Bidiagonalization
from dlinalg.solvers._operator import as_operator
from dlinalg.solvers.result import SolveResult

__all__ = ["lsqr", "LSQR_MESSAGES", "SCIPY_FIELDS", "sym_ortho", "stop_reason", "check_iter_lim"]

#: The order of SciPy's result tuple.
SCIPY_FIELDS = (
    "x", "istop", "itn", "r1norm", "r2norm", "anorm", "acond", "arnorm", "xnorm", "var",
)  # fmt: skip

EPS = np.finfo(np.float64).eps

#: ``istop`` -> reason, as SciPy words it.
LSQR_MESSAGES = (
    "The exact solution is x = 0",
    "Ax - b is small enough, given atol, btol",
    "The least-squares solution is good enough, given atol",
    "The estimate of cond(Abar) has exceeded conlim",
    "Ax - b is small enough for this machine",
    "The least-squares solution is good enough for this machine",
    "Cond(Abar) seems to be too large for this machine",
    "The iteration limit has been reached",
)


@dataclass(kw_only=True)
class LsqrState(SolverState):
    """LSQR's whole state between iterations, with SciPy's names.

    Attributes
    ----------
    alfa, beta : float
        The last Golub-Kahan coefficients (``alpha v = A^T u - beta v``).
    rhobar, phibar : float
        The rotated bidiagonal's last diagonal entry and right-hand side.
    anorm, acond, ddnorm : float
        ``||A||_F`` and ``cond(A)`` estimates, ``sum ||d_k||^2``.
    res2, rnorm, r1norm, arnorm : float
        Residual estimates: damping part, ``||[r; damp x]||``, ``||r||``, ``||A^T r||``.
    xnorm, xxnorm, z, cs2, sn2 : float
        The ``||x||`` estimate and its rotation on the right.
    bnorm : float
        ``||b||``.
    x, v, w : numpy.ndarray
        The iterate, the right Lanczos vector and the search direction.
    var : numpy.ndarray or None
        The running diagonal of ``(A^T A + damp^2 I)^{-1}`` (``calc_var=True`` only).
    """

    alfa: float = 0.0
    beta: float = 0.0
    rhobar: float = 0.0
    phibar: float = 0.0
    anorm: float = 0.0
    acond: float = 0.0
    ddnorm: float = 0.0
    res2: float = 0.0
    rnorm: float = 0.0
    r1norm: float = 0.0
    arnorm: float = 0.0
    xnorm: float = 0.0
    xxnorm: float = 0.0
    z: float = 0.0
    cs2: float = 0.0
    sn2: float = 0.0
    bnorm: float = 0.0
    x: np.ndarray
    v: np.ndarray
    w: np.ndarray
    var: np.ndarray | None = None


def check_iter_lim(iter_lim: Any, maxiter: Any) -> Any:
    """SciPy's ``iter_lim`` and dlinalg's ``maxiter`` name one limit: take the one given."""
    if iter_lim is not None and maxiter is not None:
        raise ParameterError(
            f"iter_lim={iter_lim!r} and maxiter={maxiter!r} are the same limit; "
            "pass only one (iter_lim is SciPy's name)"
        )
    return maxiter if iter_lim is None else iter_lim


def sym_ortho(a: float, b: float) -> tuple[float, float, float]:
    """A stable Givens rotation ``(c, s, r)`` with ``[c s; -s c] [a; b] = [r; 0]`` (Choi 2006)."""
    if b == 0:
        return float(np.sign(a)), 0.0, abs(a)
    if a == 0:
        return 0.0, float(np.sign(b)), abs(b)
    if abs(b) > abs(a):
        tau = a / b
        s = float(np.sign(b)) / sqrt(1 + tau * tau)
        return s * tau, s, b / s
    tau = b / a
    c = float(np.sign(a)) / sqrt(1 + tau * tau)
    return c, c * tau, a / c


def lsqr(
    A: Any,
    b: Any,
    damp: float = 0.0,
    atol: float = 1e-6,
    btol: float = 1e-6,
    conlim: float = 1e8,
    iter_lim: int | None = None,
    show: bool | None = None,
    calc_var: bool = False,
    x0: Any = None,
    *,
    maxiter: int | None = None,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
) -> SolveResult:
    """Least squares ``min ||A x - b||^2 + damp^2 ||x||^2`` by LSQR, streaming A once per iteration.

    The algorithm and its stopping rules are SciPy's
    :func:`scipy.sparse.linalg.lsqr` (same iterates up to rounding). Each
    Golub-Kahan step computes ``u = A v - alpha u`` and ``A^T u`` block by
    block in the same read of A, deferring the ``1/beta`` scaling; ``u``
    stays on the workers and only vectors of length n travel.

    The arguments are SciPy's, in SciPy's order (``damp`` ... ``x0`` may be
    positional; ``iter_lim`` is SciPy's name of ``maxiter``), and the result
    unpacks like SciPy's 10-tuple, so ``scipy.sparse.linalg.lsqr`` can be
    replaced by ``dl.lsqr`` without editing the call.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The ``m x n`` matrix. Distributed input is persisted once (a persisted
        DRM is reused); a :class:`scipy.sparse.linalg.LinearOperator` runs in
        this process through its ``matvec``/``rmatvec``.
    b : array_like, dask.array.Array or 1-column DRM
        The ``(m,)`` right-hand side. As in SciPy, ``b`` is squeezed: a
        ``(m, 1)`` or ``(1, m)`` array is accepted, and a scalar when A has
        one row.
    damp : float, default 0
        Damping (ridge) factor.
    atol, btol : float, default 1e-6
        Stopping tolerances (see Notes).
    conlim : float, default 1e8
        Stop when the estimated ``cond(Abar)`` exceeds it (0: no limit).
    iter_lim : int, optional
        Iteration limit (SciPy's name); default ``2 n``.
    show : bool, optional
        Show an iteration bar with the residual estimates (SciPy prints a
        table instead). Default: on in Jupyter, off elsewhere
        (:func:`dlinalg.cluster.default_progress`).
    calc_var : bool, default False
        Estimate the diagonal of ``(A^T A + damp^2 I)^{-1}`` into ``var``
        (SciPy's estimate; the sum of the squared search directions, O(n) a
        step on the client).
    x0 : array_like, optional
        Starting point, ``(n,)``. As in SciPy, the damping then applies to
        ``x - x0``: ``min ||A x - b||^2 + damp^2 ||x - x0||^2``.
    maxiter : int, optional
        The same as ``iter_lim`` (the name the other solvers use); giving
        both is an error.
    callback : callable, optional
        Called as ``callback(xk)`` after each iteration.
    checkpoint : str or os.PathLike, optional
        File to save the whole state to every 10 iterations (and every 30 s),
        atomically. Calling again with the same path resumes from it and gives
        the same ``x`` and iteration count as an uninterrupted run.
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
        ``x``, ``istop``, ``itn``, ``normr`` (``||b - A x||``, SciPy's
        ``r1norm``, also readable as ``r1norm``), ``r2norm`` (the damped
        residual), ``normar`` (= ``arnorm``), ``anorm``, ``acond``, ``xnorm``,
        ``var`` and ``message``. It unpacks as SciPy's ``(x, istop, itn,
        r1norm, r2norm, anorm, acond, arnorm, xnorm, var)``.

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ShapeError` if b's length is not A's row
        count; :class:`~dlinalg.errors.ParameterError` for a negative or
        non-finite damp/tolerance, ``maxiter < 1``, or both ``iter_lim``
        and ``maxiter``;
        :class:`~dlinalg.errors.NonFiniteError` for NaN/inf in A, b or x0;
        :class:`~dlinalg.solvers.checkpoint.CheckpointError` for a checkpoint
        of another problem or a corrupted one.
    TypeError
        :class:`~dlinalg.errors.OperandTypeError` for an unsupported A or b.

    See Also
    --------
    scipy.sparse.linalg.lsqr : The in-memory original.
    lsmr : Fong and Saunders' variant, with monotone ``normar``.

    Notes
    -----
    ``istop`` (:data:`LSQR_MESSAGES`):

    =====  ==============================================================
    istop  meaning
    =====  ==============================================================
    0      x = 0 is the exact solution (b = 0, or A^T b = 0)
    1      ``||r|| <= btol ||b|| + atol ||A|| ||x||``: A x = b is solved
    2      ``||A^T r|| <= atol ||A|| ||r||``: least-squares solution found
    3      estimated ``cond(Abar)`` exceeded ``conlim``
    4-6    as 1-3 with the tolerances at machine precision
    7      ``maxiter`` reached
    =====  ==============================================================

    Cost per iteration: one read of A, one tree reduction of an n-vector,
    and O(n) work on the client. A recomputation after a lost worker gives
    the same bits (fixed reduction order).

    References
    ----------
    .. [1] C. C. Paige and M. A. Saunders, "LSQR: An algorithm for sparse
       linear equations and sparse least squares", ACM TOMS 8(1), 1982.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((1000, 20)); x_true = rng.standard_normal(20)
    >>> res = dl.lsqr(dl.from_array(A, chunks=250), A @ x_true, atol=1e-10, btol=1e-10)
    >>> res.istop, bool(np.allclose(res.x, x_true))
    (1, True)
    """
    maxiter = check_iter_lim(iter_lim, maxiter)
    calc_var = check_flag(calc_var, "calc_var")
    _, n, b, x0, damp, atol, btol, conlim, maxiter, callback = check_least_squares(
        A, b, x0=x0, damp=damp, atol=atol, btol=btol, conlim=conlim, maxiter=maxiter,
        default_maxiter=lambda m, n: 2 * n, callback=callback, checkpoint=checkpoint,
    )  # fmt: skip

    params = {"damp": damp, "atol": atol, "btol": btol, "conlim": conlim, "x0": x0}
    if calc_var:  # only then, so checkpoints written without it keep their identity
        params["calc_var"] = True
    run = Run("lsqr", A, b, params, checkpoint, maxiter, show, callback, fingerprint=fingerprint)
    op = as_operator(A, before_pass=run.identify)
    gk = Bidiagonalization(op)
    st = run.drive(
        LsqrState,
        start=lambda: _start(gk, b, x0, n, calc_var),
        iterate=lambda st: _iterate(st, gk, run, damp, atol, btol, conlim, maxiter),
        moving=lambda st: st.arnorm != 0,
        messages=LSQR_MESSAGES,
        restore=gk.restore,
        saved=lambda st: {**st.to_dict(), **gk.state()},
    )
    return SolveResult(
        x=st.x.copy(),
        istop=int(st.istop),
        itn=int(st.itn),
        normr=float(st.r1norm),
        normar=float(st.arnorm),
        anorm=float(st.anorm),
        acond=float(st.acond),
        arnorm=float(st.arnorm),
        xnorm=float(st.xnorm),
        message=LSQR_MESSAGES[st.istop],
        r2norm=float(st.rnorm),
        var=st.var.copy() if st.var is not None else np.zeros(n),
        scipy_fields=SCIPY_FIELDS,
        history=run.history(),
    )


def _start(gk: Bidiagonalization, b: Any, x0: Any, n: int, calc_var: bool) -> LsqrState:
    """The first pass: ``beta u = b - A x0`` and ``alfa v = A^T u`` (also reads b)."""
    x, v, alfa, beta, bnorm = gk.first(b, x0, n)
    return LsqrState(
        alfa=alfa, beta=beta, rhobar=alfa, phibar=beta, rnorm=beta, r1norm=beta,
        arnorm=alfa * beta, cs2=-1.0, sn2=0.0, bnorm=bnorm, x=x, v=v, w=v.copy(),
        var=np.zeros(n) if calc_var else None,
    )  # fmt: skip


def _iterate(st: LsqrState, gk, run: Run, damp, atol, btol, conlim, maxiter) -> None:
    """SciPy's LSQR loop; the bidiagonalization step is the only distributed work."""
    dampsq = damp**2
    ctol = 1 / conlim if conlim > 0 else 0.0
    x, v, w = st.x, st.v, st.w
    while st.itn < maxiter:
        st.itn += 1
        alfa = st.alfa
        beta, atu = gk.step(v, alfa)
        if beta > 0:
            st.anorm = sqrt(st.anorm**2 + alfa**2 + beta**2 + dampsq)
            v = atu - beta * v
            alfa = float(np.linalg.norm(v))
            if alfa > 0:
                v = (1 / alfa) * v
        st.alfa, st.beta = alfa, beta

        if damp > 0:  # a rotation eliminates the damping parameter
            rhobar1 = sqrt(st.rhobar**2 + dampsq)
            cs1, sn1 = st.rhobar / rhobar1, damp / rhobar1
            psi = sn1 * st.phibar
            st.phibar = cs1 * st.phibar
        else:
            rhobar1, psi = st.rhobar, 0.0

        cs, sn, rho = sym_ortho(rhobar1, beta)  # eliminates the subdiagonal beta
        theta = sn * alfa
        st.rhobar = -cs * alfa
        phi = cs * st.phibar
        st.phibar = sn * st.phibar
        tau = sn * phi

        t1, t2 = phi / rho, -theta / rho
        dk = (1 / rho) * w
        x = x + t1 * w
        w = v + t2 * w
        st.ddnorm += float(np.linalg.norm(dk)) ** 2
        if st.var is not None:
            st.var = st.var + dk**2

        delta = st.sn2 * rho  # a rotation on the right estimates ||x||
        gambar = -st.cs2 * rho
        rhs = phi - delta * st.z
        zbar = rhs / gambar
        st.xnorm = sqrt(st.xxnorm + zbar**2)
        gamma = sqrt(gambar**2 + theta**2)
        st.cs2, st.sn2 = gambar / gamma, theta / gamma
        st.z = rhs / gamma
        st.xxnorm += st.z**2

        st.acond = st.anorm * sqrt(st.ddnorm)
        st.res2 += psi**2
        st.rnorm = sqrt(st.phibar**2 + st.res2)
        if damp > 0:  # ||b - A x|| from the damped residual (cancellation is possible)
            r1sq = st.rnorm**2 - dampsq * st.xxnorm
            st.r1norm = sqrt(abs(r1sq)) * (1 if r1sq >= 0 else -1)
        else:
            st.r1norm = st.rnorm
        st.arnorm = alfa * abs(tau)
        st.istop = _stop(st, atol, btol, ctol, maxiter)
        st.x, st.v, st.w = x, v, w
        run.iteration(
            st.itn, x, lambda: {**st.to_dict(), **gk.state()}, normr=st.r1norm,
            normar=st.arnorm, anorm=st.anorm, acond=st.acond, xnorm=st.xnorm,
        )  # fmt: skip
        if st.istop:
            break


def _stop(st: LsqrState, atol: float, btol: float, ctol: float, maxiter: int) -> int:
    anorm, rnorm, bnorm, xnorm = st.anorm, st.rnorm, st.bnorm, st.xnorm
    test1 = rnorm / bnorm
    test2 = st.arnorm / (anorm * rnorm + EPS)
    test3 = 1 / (st.acond + EPS)
    rtol = btol + atol * anorm * xnorm / bnorm
    return stop_reason(
        st.itn >= maxiter, test1, test2, test3, xnorm * anorm / bnorm, rtol, atol, ctol
    )


def stop_reason(
    at_limit: bool, test1: float, test2: float, test3: float, axb: float, rtol: float,
    atol: float, ctol: float,
) -> int:  # fmt: skip
    """``istop`` from SciPy's three tests (``axb = ||A|| ||x|| / ||b||``).

    The machine-precision tests come first and the user's tolerances last, so
    the user's reason wins when several hold.
    """
    istop = 7 if at_limit else 0
    if 1 + test3 <= 1:
        istop = 6
    if 1 + test2 <= 1:
        istop = 5
    if 1 + test1 / (1 + axb) <= 1:
        istop = 4
    if test3 <= ctol:
        istop = 3
    if test2 <= atol:
        istop = 2
    if test1 <= rtol:
        istop = 1
    return istop
