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
#: TFOCS's ``backtrack_tol``: below this relative change of f, the backtracking test
#: compares gradients instead of values (whose difference is then rounding).
BACKTRACK_TOL = 1e-10


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
        Restart the acceleration when ``<y - x_new, x_new - x> > 0`` (the
        gradient test [3]_ on the composite gradient mapping).
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
    Passes per iteration: one, plus one per failed backtracking trial (rare
    after the first iterations). As in TFOCS, the predictors ``A x`` and
    ``A z`` stay on the workers and ``A y``, ``A x_new`` are their
    combinations, so a pass computes ``A z_new``, ``f(x_new)`` and the
    gradient at the next trial point together.
    ``status``: 3 ``tol``, 1 ``gtol``, 7 ``maxiter``.

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
    tol, restart = float(tol), bool(restart)
    obj = session.objective()
    mask = obj.penalized()

    def prox_step(v: np.ndarray, t: float) -> np.ndarray:
        out = v.copy()
        out[mask] = h(v[mask], t)
        return out

    def total(x: np.ndarray, f: float) -> float:
        return f + h.value(x[mask])

    cache = Predictors(obj)
    st = session.run.drive(
        ProxState,
        start=lambda: _start(obj, cache, problem, L0, prox_step, total),
        iterate=lambda st: _iterate(st, obj, cache, session, prox_step, total, tol, restart),
        moving=lambda st: True,
        messages=MESSAGES,
        restore=cache.restore,
        saved=lambda st: {**st.to_dict(), **cache.state()},
    )
    return session.result(st, st.gmap)


class Predictors:
    """``P = [A x | A z]``, the predictors at the two AT iterates, kept on the workers.

    TFOCS (and its Spark port) never multiplies A by the extrapolated point
    ``y`` or by the new ``x``: both are combinations of ``x`` and ``z``, and
    so are their predictors. A step then reads A once, for ``A z`` and the
    gradient ``A^T l'(A y)`` of the next trial (:meth:`GLMObjective.accelerated`).
    Every :data:`RESET_EVERY` iterations ``A x`` is recomputed exactly (against
    drift), which also cuts the pieces' lineage on a cluster.
    """

    def __init__(self, obj: Any):
        self.obj = obj
        self.P = None

    def state(self) -> dict[str, Any]:
        """The predictors gathered, for a checkpoint (a resumed run continues bit for bit)."""
        return {"P": self.P.gather()}

    def restore(self, saved: dict[str, Any]) -> None:
        """Put the saved predictors back on the workers, bit for bit. A checkpoint
        written before they were saved has none: one pass recomputes them."""
        if "P" in saved:
            self.P = self.obj.op.vector(np.asarray(saved["P"]))
        else:
            x, z = np.asarray(saved["x"]), np.asarray(saved["z"])
            self.P, *_ = self.obj.accelerated(None, x=x, x_new=x, z_new=z)

    def restart(self) -> None:
        """``z = x``: the predictors follow on the workers, no pass."""
        self.P = self.obj.op.restart_predictors(self.P)


#: TFOCS's ``cntrReset``: iterations between exact recomputations of ``A x``.
RESET_EVERY = 50


def _theta(L: float, L_old: float, theta_old: float) -> float:
    """Auslender-Teboulle's ``theta`` for the trial ``L`` (one formula: the speculative
    next step and the next iteration's first trial must agree bit for bit)."""
    return 2.0 / (1.0 + sqrt(1.0 + 4.0 * (L / L_old) / theta_old**2))


@dataclass(kw_only=True)
class ProxState(SolverState):
    """The AT iteration's state: ``x``, ``z``, the Lipschitz estimate and ``theta``.

    ``simple``: backtracking tests values (TFOCS's ``backtrack_simple``), not yet
    gradients. ``next_*`` is the value and gradient at the next iteration's first trial
    point, computed in the pass that made ``x`` (None: not known).
    """

    x: np.ndarray
    z: np.ndarray
    L: float
    theta: float
    f: float
    gmap: np.ndarray
    simple: bool = True
    next_L: float | None = None
    next_theta: float | None = None
    next_f: float | None = None
    next_g: np.ndarray | None = None


def _start(obj: Any, cache: Predictors, problem: Any, L0: Any, prox_step: Any,
           total: Any) -> ProxState:  # fmt: skip
    x = np.zeros(problem.size) if problem.x0 is None else problem.x0.copy()
    x = prox_step(x, 1.0) if problem.x0 is not None else x
    # A x, f and its gradient at x in one pass (theta_y = 0: y = x)
    cache.P, _, (f, g), _ = obj.accelerated(None, x=x, x_new=x, y=x, theta_y=0.0)
    if L0 is None:  # the secant of the gradient along -g: one more pass
        gn = float(np.linalg.norm(g))
        d = -g / gn if gn > 0 else np.ones_like(g) / sqrt(g.size)
        _, g2 = obj.value_grad(x + 1e-3 * d)
        L0 = max(float(np.linalg.norm(g2 - g)) / 1e-3, 1e-8)
    L0 = float(L0)
    # the first trial's y is z = x (theta = 1): its gradient is the one just computed
    return ProxState(x=x, z=x.copy(), L=L0, theta=float("inf"), f=total(x, f), gmap=g,
                     next_L=L0 * ALPHA, next_theta=_theta(L0 * ALPHA, L0, float("inf")),
                     next_f=f, next_g=g)  # fmt: skip


def _iterate(st, obj, cache, session, prox_step, total, tol: float, restart: bool) -> None:
    while st.itn < session.maxiter:
        x_old, z_old, L_old, theta_old = st.x, st.z, st.L, st.theta
        reset = (st.itn + 1) % RESET_EVERY == 0
        L = L_old * ALPHA
        for _ in range(MAX_BACKTRACK):
            theta = _theta(L, L_old, theta_old)
            yk = (1 - theta) * x_old + theta * z_old
            if st.next_g is not None and st.next_L == L and st.next_theta == theta:
                f_y, g_y = st.next_f, st.next_g  # computed with x_old, in its pass
            else:  # a failed trial or a restart: the gradient at the new y, one pass
                _, _, (f_y, g_y), _ = obj.accelerated(cache.P, x=x_old, y=yk, theta_y=theta)
            step = 1.0 / (theta * L)
            z = prox_step(z_old - step * g_y, step)
            x = (1 - theta) * x_old + theta * z
            # one pass: A z, A x by combination (exactly when resetting), f(x), and the
            # gradient at the next iteration's first trial point, should this trial
            # pass: at y_next, or at x should the iteration restart
            L_next = L * ALPHA
            theta_next = _theta(L_next, L, theta)
            y_next = (1 - theta_next) * x + theta_next * z
            P, f_x, at_next, g_x = obj.accelerated(
                None if reset else cache.P, x=x, x_new=x if reset else None, z_new=z,
                theta=theta, y=y_next, theta_y=theta_next,
            )  # fmt: skip
            dx = x - yk
            dd = float(dx @ dx)
            if dd == 0:
                break
            if st.simple:  # TFOCS's test on values, while they differ beyond rounding
                st.simple = abs(f_y - f_x) >= BACKTRACK_TOL * max(abs(f_x), abs(f_y))
                bound = f_y + float(g_y @ dx) + 0.5 * L * dd
                local = L + 2.0 * max(f_x - bound, 0.0) / dd
            else:  # then on gradients: <x - y, g(x) - g(y)> keeps its digits
                local = 2.0 * float(dx @ (g_x - g_y)) / dd
            if local <= L:
                break
            L = max(local, L / BETA)
        st.itn += 1
        cache.P = P
        st.next_L, st.next_theta = L_next, theta_next
        st.next_f, st.next_g = (None, None) if at_next is None else at_next
        if restart and float((yk - x) @ (x - x_old)) > 0:  # the gradient test, on G(y)
            z, theta = x.copy(), float("inf")
            cache.restart()
            st.simple = True
            st.next_theta, st.next_f, st.next_g = _theta(L_next, L, theta), f_x, g_x
            if g_x is None:  # overflowed: computed by the next trial's own pass
                st.next_f = None
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
        session.report(st.itn, x, lambda: {**st.to_dict(), **cache.state()}, st.f, normg,
                       1.0 / L)  # fmt: skip
        if st.istop:
            break
