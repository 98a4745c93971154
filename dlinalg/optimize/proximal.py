"""TFOCS's accelerated proximal gradient method (Auslender-Teboulle) on a distributed loss."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from math import sqrt
from typing import Any

import numpy as np

from dlinalg.errors import OperandTypeError, ParameterError
from dlinalg.optimize._common import MESSAGES, Session, optimality
from dlinalg.optimize.objective import check_problem
from dlinalg.optimize.prox import Prox
from dlinalg.optimize.result import OptimizeResult
from dlinalg.solvers._driver import SolverState

__all__ = ["proximal_gradient"]

#: TFOCS's defaults: try ``L * ALPHA`` each iteration, ``L / BETA`` after a failed test.
ALPHA, BETA = 0.9, 0.5
MAX_BACKTRACK = 50


def proximal_gradient(
    A: Any,
    y: Any,
    *,
    loss: str = "squared",
    prox: Prox | None = None,
    sample_weight: Any = None,
    fit_intercept: bool = False,
    l2: float = 0.0,
    n_classes: int | None = None,
    epsilon: float = 1.35,
    x0: Any = None,
    L0: float | None = None,
    restart: bool = True,
    maxiter: int = 1000,
    tol: float = 1e-8,
    gtol: float = 0.0,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
    show: bool | None = None,
) -> OptimizeResult:
    """Minimize ``f(theta) + h(W)`` by TFOCS's accelerated proximal gradient method.

    ``f`` is the smooth loss (and ``(l2/2) ||W||^2``) over the rows of A, as in
    :func:`~dlinalg.lbfgs`; ``h`` is a penalty or constraint with a cheap
    proximal operator (:mod:`dlinalg.optimize.prox`: L1, elastic net, group
    L1, ``W >= 0``, bounds) applied to the coefficients, never the intercept.
    The iteration is Auslender and Teboulle's accelerated scheme as TFOCS
    implements it [1]_, [2]_: a backtracking estimate of the Lipschitz
    constant (tried ``0.9 L`` each iteration, doubled when the quadratic
    upper bound fails) and adaptive restart by the gradient test [3]_.
    Products with A run on the cluster, the proximal steps on the client.

    Parameters
    ----------
    A, y, loss, sample_weight, fit_intercept, l2, n_classes, epsilon, x0
        As :func:`~dlinalg.lbfgs`.
    prox : Prox, optional
        The non-smooth part (default none: accelerated gradient descent).
    L0 : float, optional
        The first Lipschitz estimate (default: measured from two gradients,
        one extra pass).
    restart : bool, default True
        Restart the acceleration when ``<grad f(y), x_new - x> > 0``.
    maxiter : int, default 1000
    tol : float, default 1e-8
        TFOCS's stopping rule: ``||x_new - x|| <= tol max(1, ||x_new||)``.
    gtol : float, default 0
        Also stop when the gradient mapping ``L ||y - x_new||`` is at most ``gtol``.
    callback, checkpoint, fingerprint, show
        As :func:`~dlinalg.lbfgs`.

    Returns
    -------
    OptimizeResult
        ``jac`` is the gradient mapping at the last trial point.

    Raises
    ------
    ValueError, TypeError
        As :func:`~dlinalg.lbfgs`; a ``prox`` that is not a
        :class:`~dlinalg.optimize.prox.Prox` (``TypeError``) or sized for
        another number of coefficients (``ValueError``).

    See Also
    --------
    lbfgs : OWL-QN handles an L1 penalty too, usually in fewer passes.
    sklearn.linear_model.Lasso : coordinate descent in memory.

    Notes
    -----
    Passes per iteration: two per backtracking trial (the gradient at the
    extrapolated point ``y``, the value at the new ``x``); the test rarely
    fails after the first iterations. ``status``: 3 ``tol``, 1 ``gtol``,
    7 ``maxiter``.

    References
    ----------
    .. [1] S. Becker, E. Candes and M. Grant, "Templates for convex cone
       problems with applications to sparse signal recovery", Math. Prog.
       Comp. 3(3), 2011.
    .. [2] A. Auslender and M. Teboulle, "Interior gradient and proximal
       methods for convex and conic optimization", SIAM J. Optim. 16(3), 2006.
    .. [3] B. O'Donoghue and E. Candes, "Adaptive restart for accelerated
       gradient schemes", Found. Comput. Math. 15(3), 2015.

    Examples
    --------
    A non-negative least-squares fit:

    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.optimize import prox
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 4))
    >>> y = X @ [1.0, -1.0, 0.5, 0.0] + 0.01 * rng.standard_normal(1000)
    >>> res = dl.proximal_gradient(dl.from_array(X, chunks=250), y, prox=prox.nonneg())
    >>> res.success, np.round(res.coef, 2)
    (True, array([1.02, 0.  , 0.45, 0.  ]))
    """
    problem = check_problem(A, y, loss=loss, sample_weight=sample_weight, n_classes=n_classes,
                            fit_intercept=fit_intercept, l2=l2, l1=0.0, epsilon=epsilon, x0=x0)  # fmt: skip
    h = Prox() if prox is None else prox
    if not isinstance(h, Prox):
        raise OperandTypeError(
            f"prox must be a dlinalg.optimize.prox penalty (prox.l1(...), ...), got {prox!r}"
        )
    h.check(problem.n * problem.K)
    if L0 is not None and (
        isinstance(L0, bool) or not isinstance(L0, numbers.Real) or not 0 < L0 < np.inf
    ):
        raise ParameterError(f"L0 must be None or a finite number > 0, got L0={L0!r}")
    session = Session("proxgrad", problem, gtol=gtol, ftol=0.0, maxiter=maxiter,
                      callback=callback, checkpoint=checkpoint, fingerprint=fingerprint,
                      show=show, extra={"prox": repr(h), "L0": L0, "restart": bool(restart),
                                        "tol": tol})  # fmt: skip
    tol = float(tol)
    obj = session.objective()
    mask = obj.penalized()

    def prox_step(v: np.ndarray, t: float) -> np.ndarray:
        out = v.copy()
        out[mask] = h(v[mask], t)
        return out

    def total(x: np.ndarray, f: float) -> float:
        return f + h.value(x[mask])

    st = session.run.drive(
        ProxState,
        start=lambda: _start(obj, problem, L0, prox_step, total),
        iterate=lambda st: _iterate(st, obj, session, prox_step, total, tol, bool(restart)),
        moving=lambda st: True,
        messages=MESSAGES,
    )
    return session.result(st, st.gmap)


@dataclass(kw_only=True)
class ProxState(SolverState):
    """The AT iteration's state: ``x``, ``z``, the Lipschitz estimate and ``theta``."""

    x: np.ndarray
    z: np.ndarray
    L: float
    theta: float
    f: float
    gmap: np.ndarray


def _start(obj: Any, problem: Any, L0: Any, prox_step: Any, total: Any) -> ProxState:
    x = np.zeros(problem.size) if problem.x0 is None else problem.x0.copy()
    x = prox_step(x, 1.0) if problem.x0 is not None else x
    f, g = obj.value_grad(x)
    if L0 is None:  # the secant of the gradient along -g: one more pass
        gn = float(np.linalg.norm(g))
        d = -g / gn if gn > 0 else np.ones_like(g) / sqrt(g.size)
        _, g2 = obj.value_grad(x + 1e-3 * d)
        L0 = max(float(np.linalg.norm(g2 - g)) / 1e-3, 1e-8)
    return ProxState(x=x, z=x.copy(), L=float(L0), theta=float("inf"), f=total(x, f),
                     gmap=g)  # fmt: skip


def _iterate(st, obj, session, prox_step, total, tol: float, restart: bool) -> None:
    while st.itn < session.maxiter:
        x_old, z_old, L_old, theta_old = st.x, st.z, st.L, st.theta
        L = L_old * ALPHA
        for _ in range(MAX_BACKTRACK):
            theta = 2.0 / (1.0 + sqrt(1.0 + 4.0 * (L / L_old) / theta_old**2))
            yk = (1 - theta) * x_old + theta * z_old
            f_y, g_y = obj.value_grad(yk)
            step = 1.0 / (theta * L)
            z = prox_step(z_old - step * g_y, step)
            x = (1 - theta) * x_old + theta * z
            f_x = obj.value(x)
            dx = x - yk
            bound = f_y + float(g_y @ dx) + 0.5 * L * float(dx @ dx)
            if f_x <= bound + 1e-12 * abs(bound):
                break
            dd = float(dx @ dx)
            local = 2.0 * (f_x - f_y - float(g_y @ dx)) / dd if dd > 0 else L / BETA
            L = max(L / BETA, local)
        st.itn += 1
        if restart and float(g_y @ (x - x_old)) > 0:
            z, theta = x.copy(), float("inf")
        st.x, st.z, st.L, st.theta = x, z, L, theta
        st.f = total(x, f_x)
        gmap = L * (yk - prox_step(yk - g_y / L, 1.0 / L))
        st.gmap = gmap
        normg = optimality(gmap)
        change = float(np.linalg.norm(x - x_old)) / max(1.0, float(np.linalg.norm(x)))
        if normg <= session.gtol:
            st.istop = 1
        elif change <= tol:
            st.istop = 3
        elif st.itn >= session.maxiter:
            st.istop = 7
        session.report(st.itn, x, st.to_dict, st.f, normg, 1.0 / L)
        if st.istop:
            break
