"""Conjugate gradients (Hestenes-Stiefel) for an SPD system: one pass over A per iteration."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp

from dlinalg._operands import check_rhs, check_x0
from dlinalg._validation import check_callback, check_maxiter, check_tolerance
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.matrix import DRM
from dlinalg.solvers._driver import Run, SolverState, check_checkpoint
from dlinalg.solvers._operator import as_operator, check_finite_norm, operator_shape
from dlinalg.solvers.checkpoint import probe_identity
from dlinalg.solvers.result import SolveResult

__all__ = ["cg", "CG_MESSAGES"]

NAN = float("nan")

#: ``istop`` -> reason for :func:`cg`.
CG_MESSAGES = {
    0: "The exact solution is x = 0 (b = 0)",
    1: "The residual is small enough, given rtol and atol",
    7: "The iteration limit has been reached",
    8: "A is not positive definite (p^T A p <= 0)",
    9: "M is not positive definite (r^T M r <= 0)",
}


def cg(
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
    show: bool | None = None,
) -> SolveResult:
    """Solve ``A x = b`` for a symmetric positive definite A by conjugate gradients.

    SciPy's :func:`scipy.sparse.linalg.cg` (same iterates up to rounding, same
    convergence test) with the product ``A p`` distributed: one pass over A
    per iteration gathers the n-vector ``A p``; every vector lives on the client.
    The arguments are SciPy's (``x0`` positional, the rest keyword-only) and
    the result unpacks as SciPy's ``(x, info)``.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The ``n x n`` matrix. It must be symmetric positive definite: that is
        the caller's promise (it is not checked; a breakdown ``p^T A p <= 0``
        stops with ``istop = 8``).
    b : array_like, dask.array.Array or 1-column DRM
        The ``(n,)`` right-hand side (a ``(n, 1)`` matrix is accepted).
    x0 : array_like or "Mb", optional
        Starting point, ``(n,)`` (costs one more pass for ``b - A x0``).
        ``"Mb"`` starts from ``M @ b`` (``b`` without ``M``), as in SciPy.
    rtol, atol : float, default 1e-5 and 0
        Stop when ``||r|| <= max(rtol ||b||, atol)``; ``inf`` stops at once
        with ``x0`` (SciPy accepts it too).
    maxiter : int, optional
        Iteration limit; default ``10 n`` (SciPy's).
    M : numpy.ndarray, scipy.sparse matrix or LinearOperator, optional
        Preconditioner approximating the inverse of A (SciPy's convention:
        ``z = M r``), ``(n, n)`` and symmetric positive definite, applied on
        the client.
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
        Show an iteration bar with ``||r||``. Default: on in Jupyter, off elsewhere
        (:func:`dlinalg.cluster.default_progress`).

    Returns
    -------
    SolveResult
        ``x``, ``istop``, ``itn``, ``normr`` (the recurred residual norm, as
        SciPy tests it), ``xnorm`` and ``message``; ``normar``, ``anorm`` and
        ``acond`` are ``nan``. It unpacks as SciPy's ``(x, info)``:
        ``info`` is 0 when converged, ``itn`` (= ``maxiter``) at the
        iteration limit and -1 on a breakdown (``istop`` 8 or 9).

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ShapeError` if A is not square, or b, x0 or M
        do not match it; :class:`~dlinalg.errors.ParameterError` for a
        negative tolerance or ``maxiter < 1``;
        :class:`~dlinalg.errors.NonFiniteError` for NaN/inf in A, b, x0 or M;
        :class:`~dlinalg.solvers.checkpoint.CheckpointError` for a checkpoint
        of another problem.
    TypeError
        :class:`~dlinalg.errors.OperandTypeError` for an unsupported A, b or M.

    See Also
    --------
    scipy.sparse.linalg.cg : The in-memory original.
    cgls : CG on the normal equations of a least-squares problem.
    lsqr : Least squares, the numerically safer CGLS.

    Notes
    -----
    =====  ==============================================================
    istop  meaning (:data:`CG_MESSAGES`)
    =====  ==============================================================
    0      b = 0: x = 0 is the exact solution (SciPy's ``info = 0``)
    1      ``||r|| <= max(rtol ||b||, atol)`` (SciPy's ``info = 0``)
    7      ``maxiter`` reached (SciPy's ``info = maxiter``)
    8      ``p^T A p <= 0``: A is not positive definite
    9      ``r^T M r <= 0``: M is not positive definite
    =====  ==============================================================

    The test uses ``<=`` where SciPy uses ``<`` (so ``rtol = atol = 0`` stops
    at an exact zero residual) and is also made after the last iteration.
    Cost per iteration: one read of A and one gather of an n-vector.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for
       solving linear systems", J. Res. Nat. Bur. Standards 49(6), 1952.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> G = rng.standard_normal((200, 50)); A = G.T @ G + 50 * np.eye(50)
    >>> res = dl.cg(dl.from_array(A, chunks=20), np.ones(50), rtol=1e-10)
    >>> res.istop, bool(np.allclose(A @ res.x, 1))
    (1, True)
    """
    n, _ = operator_shape(A, square=True)
    b = check_rhs(b, n)
    from_mb = isinstance(x0, str) and x0 == "Mb"
    if isinstance(x0, str) and not from_mb:
        raise ParameterError(f"x0 must be an array, None or 'Mb' (x0 = M @ b), got x0={x0!r}")
    x0 = None if from_mb else check_x0(x0, n)
    rtol = check_tolerance(rtol, "rtol", allow_inf=True)
    atol = check_tolerance(atol, "atol", allow_inf=True)
    maxiter = check_maxiter(maxiter, 10 * n)
    psolve, m_token = _preconditioner(M, n)
    callback = check_callback(callback)
    check_checkpoint(checkpoint)

    if checkpoint is not None and m_token is _OPAQUE:  # M's contents are probed like A's
        kind = f"{type(M).__module__}.{type(M).__qualname__}"
        m_token = probe_identity(kind, (n, n), psolve, psolve)
    params = {"rtol": rtol, "atol": atol, "x0": "Mb" if from_mb else x0, "M": m_token}
    run = Run("cg", A, b, params, checkpoint, maxiter, show, callback, fingerprint=fingerprint)
    op = as_operator(A, square=True, before_pass=run.identify)
    b = np.asarray(b.compute() if isinstance(b, da.Array) else b, dtype=np.float64)
    if not np.isfinite(b).all():
        raise NonFiniteError("b contains NaN or infinity; clean it before solving")
    if from_mb:  # SciPy's x0 = M @ b (b itself without M)
        x0 = b.copy() if psolve is None else psolve(b.copy())
        if not np.isfinite(x0).all():
            raise NonFiniteError("x0 = M @ b contains NaN or infinity: check M")
    st = run.drive(
        CgState,
        start=lambda: _cg_start(op, b, x0, rtol, atol, n),
        iterate=lambda st: _cg_iterate(st, op, psolve, run, maxiter),
        moving=lambda st: st.bnorm > 0,
        messages=CG_MESSAGES,
    )
    x = st.x.copy()
    return SolveResult(
        x=x, istop=int(st.istop), itn=int(st.itn), normr=float(st.normr),
        normar=NAN, anorm=NAN, acond=NAN, arnorm=NAN, xnorm=float(np.linalg.norm(x)),
        message=CG_MESSAGES[st.istop], scipy_fields=("x", "info"),
        history=run.history(),
    )  # fmt: skip


#: What identifies an operator M before it is probed (with ``checkpoint=`` only).
_OPAQUE = "opaque operator"


def _preconditioner(M: Any, n: int) -> tuple[Any, Any]:
    """``(r -> M r or None, what identifies M in a checkpoint)``, checked without a graph."""

    if M is None:
        return None, None
    if isinstance(M, DRM | da.Array):
        raise OperandTypeError(
            "M is applied on the client: pass a numpy array, a scipy.sparse matrix or a "
            f"LinearOperator, not a {type(M).__name__} (compute it first)"
        )
    if isinstance(M, np.ndarray) or sp.issparse(M):
        if M.dtype.kind not in "biuf":
            raise OperandTypeError(f"M must hold real numbers, got dtype {M.dtype}")
        data = M.data if sp.issparse(M) else M
    elif hasattr(M, "matvec") and hasattr(M, "shape"):
        data = None
    else:
        raise OperandTypeError(
            "M must be a numpy array, a scipy.sparse matrix or have matvec and shape, "
            f"got {type(M).__name__}"
        )
    if tuple(M.shape) != (n, n):
        raise ShapeError(f"M must have A's shape {(n, n)}, got shape {tuple(M.shape)}")
    if data is None:
        return _apply_operator(M, n), _OPAQUE
    if not np.isfinite(data).all():
        raise NonFiniteError("M contains NaN or infinity")
    Mc = sp.csr_array(M, dtype=np.float64) if sp.issparse(M) else np.asarray(M, np.float64)
    h = hashlib.sha256()
    for part in (Mc.data, Mc.indices, Mc.indptr) if sp.issparse(Mc) else (Mc,):
        h.update(np.ascontiguousarray(part).tobytes())
    return (lambda r: np.asarray(Mc @ r, dtype=np.float64)), h.hexdigest()


def _apply_operator(M: Any, n: int) -> Any:
    def psolve(r: np.ndarray) -> np.ndarray:
        z = np.asarray(M.matvec(r), dtype=np.float64).reshape(-1)
        if z.shape[0] != n:
            raise ShapeError(f"M.matvec returned {z.shape[0]} entries, expected {n}")
        return z

    return psolve


@dataclass(kw_only=True)
class CgState(SolverState):
    """CG's whole state between iterations (SciPy's names).

    Attributes
    ----------
    x, r, p : numpy.ndarray
        The iterate, the residual ``b - A x`` and the search direction.
    rho : float
        ``r^T M r`` of the last iteration.
    normr, bnorm, tol : float
        ``||r||``, ``||b||`` and the residual the solve stops at.
    """

    x: np.ndarray
    r: np.ndarray
    p: np.ndarray
    rho: float = 0.0
    normr: float = 0.0
    bnorm: float = 0.0
    tol: float = 0.0


def _cg_start(op: Any, b: np.ndarray, x0: Any, rtol: float, atol: float, n: int) -> CgState:
    bnorm = float(np.linalg.norm(b))
    x = np.zeros(n) if x0 is None or bnorm == 0 else x0.copy()  # SciPy returns b when b = 0
    r = b - op.matvec(x) if x0 is not None and bnorm > 0 else b.copy()
    normr = float(np.linalg.norm(r))
    check_finite_norm(normr, "A")
    tol = max(atol, rtol * bnorm)
    istop = 1 if bnorm > 0 and normr <= tol else 0
    return CgState(istop=istop, x=x, r=r, p=np.zeros(n), rho=0.0, normr=normr, bnorm=bnorm,
                   tol=tol)  # fmt: skip


def _cg_iterate(st: CgState, op: Any, psolve: Any, run: Run, maxiter: int) -> None:
    """SciPy's loop (its test moved to the end of an iteration, where the residual is new)."""
    x, r, p = st.x, st.r, st.p
    while st.itn < maxiter:
        z = r if psolve is None else psolve(r)
        rho = float(r @ z)
        check_finite_norm(rho, "M r")
        if rho <= 0:
            st.istop = 9
            break
        p = z.copy() if st.itn == 0 else z + (rho / st.rho) * p
        q = op.matvec(p)
        pap = float(p @ q)
        check_finite_norm(pap, "A")
        if pap <= 0:
            st.istop = 8
            break
        alpha = rho / pap
        x = x + alpha * p
        r = r - alpha * q
        st.itn += 1
        st.x, st.r, st.p, st.rho, st.normr = x, r, p, rho, float(np.linalg.norm(r))
        if st.normr <= st.tol:
            st.istop = 1
        elif st.itn >= maxiter:
            st.istop = 7
        run.iteration(st.itn, x, st.to_dict, normr=st.normr)
        if st.istop:
            break
