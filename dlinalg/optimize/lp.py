"""Linear programs by TFOCS's smoothed conic dual (``SolverSLP``) on a distributed constraint matrix."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from math import sqrt
from typing import Any

import numpy as np

from dlinalg._operands import check_rhs
from dlinalg._validation import check_callback, check_maxiter, check_tolerance
from dlinalg.errors import NonFiniteError, ParameterError, ShapeError
from dlinalg.solvers._operator import as_operator, operator_shape
from dlinalg.solvers._precondition import Scaling, power_sigma2

__all__ = ["linprog", "LinprogResult"]

LP_MESSAGES = {
    1: "Optimal: the primal residual, dual infeasibility and duality gap are within tol",
    7: "The iteration limit has been reached",
}


@dataclass(frozen=True)
class LinprogResult:
    """What :func:`~dlinalg.linprog` returns (SciPy's ``linprog`` names).

    Attributes
    ----------
    x : numpy.ndarray
        The ``(n,)`` solution, ``x >= 0``.
    fun : float
        ``c^T x``.
    con : numpy.ndarray
        The equality residual ``b - A x`` (``(m,)``).
    dual : numpy.ndarray
        The multipliers of ``A x = b`` (SciPy's ``res.eqlin.marginals``).
    status, message, success
        Why the solver stopped (1 optimal, 7 iteration limit).
    nit : int
        Dual iterations over all continuation steps.
    npass : int
        Passes over A by the iterations (the power iterations that size the
        step, a few passes, are not counted).
    history : dict of str to numpy.ndarray
        Per continuation step: ``"objective"``, ``"residual"`` (``||b - A x||``),
        ``"change"`` (of x, relative) and ``"gap"`` (the duality gap).
    """

    x: np.ndarray
    fun: float
    con: np.ndarray
    dual: np.ndarray
    status: int
    message: str
    success: bool
    nit: int
    npass: int
    history: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < np.inf:
        raise ParameterError(f"{name} must be a finite number > 0, got {name}={value!r}")
    return float(value)


def linprog(
    c: Any,
    A_eq: Any,
    b_eq: Any,
    *,
    mu: float = 0.1,
    continuations: int = 100,
    maxiter: int = 2000,
    tol: float = 1e-7,
    callback: Any = None,
) -> LinprogResult:
    """Solve ``min c^T x`` subject to ``A x = b``, ``x >= 0`` by TFOCS's smoothed dual.

    The linear program is smoothed by a proximity term, ``min c^T x + (mu/2)
    ||x - x_0||^2``, whose dual is a smooth concave function of the
    multipliers ``lambda`` of ``A x = b``, with gradient ``b - A x(lambda)``
    and ``x(lambda) = max(x_0 - (c - A^T lambda) / mu, 0)`` in closed form.
    The dual is maximized by Nesterov's accelerated gradient with adaptive
    restart; then ``x_0`` moves to the solution and the next, closer problem
    starts warm (continuation: the proximal point method), so the iterates
    converge to the solution of the linear program itself, as TFOCS's
    ``solver_sLP`` and Spark TFOCS's ``SolverSLP`` do [1]_. Each dual
    iteration reads A twice (``A x`` and ``A^T g``, as TFOCS counts); the
    ``n``- and ``m``-vectors stay on the client.

    Parameters
    ----------
    c : array_like
        ``(n,)`` costs.
    A_eq : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        ``(m, n)`` constraint matrix, one constraint per row.
    b_eq : array_like
        ``(m,)`` right-hand side.
    mu : float, default 0.1
        The smoothing weight (larger: a smoother dual, more continuation
        steps), in the units of ``c / x``.
    continuations : int, default 100
        The most continuation steps.
    maxiter : int, default 2000
        The most dual iterations per continuation step.
    tol : float, default 1e-7
        Stop a continuation step when ``||b - A x|| <= tol max(1, ||b||)``;
        stop the solve when also the reduced costs ``s = c - A^T lambda`` are
        dual feasible (``||min(s, 0)|| <= tol max(1, ||c||)``) and the duality
        gap ``|c^T x - b^T lambda| <= tol max(1, |c^T x|)``: the LP's KKT
        conditions within ``tol``.
    callback : callable, optional
        ``callback(x)`` after each continuation step.

    Returns
    -------
    LinprogResult

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ShapeError` for sizes that do not match,
        :class:`~dlinalg.errors.NonFiniteError` for NaN/inf in c or b,
        :class:`~dlinalg.errors.ParameterError` for a bad parameter: all
        before any pass over A.

    See Also
    --------
    scipy.optimize.linprog : ``method="highs"`` in memory.
    proximal_gradient : The same accelerated scheme on the primal.

    Notes
    -----
    The dual's gradient is ``||A||^2 / mu``-Lipschitz; its step is
    ``mu / ||A||^2`` with ``||A||`` from power iterations (a few passes at
    the start). An infeasible or unbounded problem does not converge: the
    result then reports the iteration limit and the residual.

    References
    ----------
    .. [1] S. Becker, E. Candes and M. Grant, "Templates for convex cone
       problems with applications to sparse signal recovery", Math. Prog.
       Comp. 3(3), 2011, sections 3-5.
    .. [2] Y. Nesterov, "Smooth minimization of non-smooth functions", Math.
       Programming 103, 2005.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.0]])
    >>> res = dl.linprog([1.0, 2.0, 3.0], dl.from_array(A, chunks=1), [1.0, 0.0])
    >>> res.success, np.round(res.x, 6), round(res.fun, 6)
    (True, array([0.5, 0.5, 0. ]), 1.5)
    """
    m, n = operator_shape(A_eq, "A_eq")
    c = check_rhs(c, n, name="c")
    if not isinstance(c, np.ndarray):
        c = np.asarray(c.compute())
    b = check_rhs(b_eq, m, name="b_eq")
    if not isinstance(b, np.ndarray):
        b = np.asarray(b.compute())
    if not (np.isfinite(c).all() and np.isfinite(b).all()):
        raise NonFiniteError("c and b_eq must be finite")
    mu = _positive(mu, "mu")
    if isinstance(continuations, bool) or not isinstance(continuations, numbers.Integral):
        raise ParameterError(f"continuations must be an integer >= 1, got {continuations!r}")
    if continuations < 1:
        raise ParameterError(f"continuations must be an integer >= 1, got {continuations!r}")
    maxiter = check_maxiter(maxiter, 2000)
    tol = check_tolerance(tol, "tol")
    callback = check_callback(callback)
    op = as_operator(A_eq, "A_eq")
    if op.shape != (m, n):  # pragma: no cover - as_operator keeps the shape
        raise ShapeError(f"A_eq has shape {op.shape}, expected {(m, n)}")
    passes = [0]

    def A(x: np.ndarray) -> np.ndarray:
        passes[0] += 1
        return op.matvec(x)

    def At(lam: np.ndarray) -> np.ndarray:
        passes[0] += 1
        return op.rmatvec(lam)

    sigma2 = power_sigma2(op, Scaling(np.ones(n), np.zeros((0, 0))))
    step = mu / (1.05 * sigma2)
    bnorm = max(1.0, float(np.linalg.norm(b)))
    x0, lam = np.zeros(n), np.zeros(m)
    history: dict[str, list[float]] = {"objective": [], "residual": [], "change": [], "gap": []}
    nit, status = 0, 7
    cnorm = max(1.0, float(np.linalg.norm(c)))
    for _ in range(continuations):
        lam, x, r, its = _dual_ascent(A, At, c, b, x0, lam, mu, step, maxiter, tol * bnorm)
        nit += its
        change = float(np.linalg.norm(x - x0)) / max(1.0, float(np.linalg.norm(x)))
        res = float(np.linalg.norm(r))
        s = c - At(lam)  # reduced costs: >= 0 at a dual feasible lambda
        infeasible = float(np.linalg.norm(np.minimum(s, 0.0)))
        gap = abs(float(c @ x) - float(b @ lam))
        for key, value in (("objective", float(c @ x)), ("residual", res), ("change", change),
                           ("gap", gap)):  # fmt: skip
            history[key].append(value)
        if callback is not None:
            callback(x)
        x0 = x
        if res <= tol * bnorm and infeasible <= tol * cnorm and gap <= tol * max(1.0, abs(c @ x)):
            status = 1
            break
    return LinprogResult(
        x=x0, fun=float(c @ x0), con=r, dual=lam, status=status, message=LP_MESSAGES[status],
        success=status == 1, nit=nit, npass=passes[0],
        history={k: np.asarray(v) for k, v in history.items()},
    )  # fmt: skip


def _dual_ascent(A, At, c, b, x0, lam, mu, step, maxiter, atol):
    """Maximize the smoothed dual from ``lam`` by accelerated gradient with restart.

    Two passes per iteration: ``A x(y)`` for the gradient at the extrapolated
    point, ``A^T`` of it for the step; ``A^T y`` follows by linearity.
    Returns ``(lambda, x(lambda), b - A x(lambda), iterations)``.
    """
    y, Aty = lam, At(lam)
    prev, Atprev, t = y, Aty, 1.0
    for its in range(1, maxiter + 1):
        xy = np.maximum(x0 - (c - Aty) / mu, 0.0)
        ry = b - A(xy)
        if np.linalg.norm(ry) <= atol:
            return y, xy, ry, its
        new = y + step * ry  # ascent along the dual gradient at y
        Atnew = Aty + step * At(ry)
        if float(ry @ (new - prev)) < 0:  # the momentum points downhill: restart
            t = 1.0
        t_new = (1 + sqrt(1 + 4 * t * t)) / 2
        beta = (t - 1) / t_new
        y, Aty = new + beta * (new - prev), Atnew + beta * (Atnew - Atprev)
        prev, Atprev, t = new, Atnew, t_new
    return y, xy, ry, maxiter
