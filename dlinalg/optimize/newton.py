"""Newton's method for GLMs: the exact Hessian in one pass, or CG on Hessian-vector products."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla

from dlinalg.errors import ParameterError
from dlinalg.optimize._common import MESSAGES, Session, optimality
from dlinalg.optimize.objective import check_problem
from dlinalg.optimize.result import OptimizeResult
from dlinalg.solvers._driver import SolverState

__all__ = ["newton_cg", "HESSIAN", "EXACT_MAX_SIZE"]

HESSIAN = ("auto", "exact", "cg")
#: ``hessian="auto"`` forms the exact Hessian up to this many unknowns (one class).
EXACT_MAX_SIZE = 1024
#: Armijo's constant; the step is halved at most this many times.
C1, MAX_BACKTRACK = 1e-4, 30


def newton_cg(
    A: Any,
    y: Any,
    *,
    loss: str = "logistic",
    sample_weight: Any = None,
    fit_intercept: bool = False,
    l2: float = 0.0,
    n_classes: int | None = None,
    epsilon: float = 1.35,
    hessian: str = "auto",
    x0: Any = None,
    maxiter: int = 100,
    gtol: float = 1e-8,
    ftol: float = 0.0,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
    show: bool | None = None,
) -> OptimizeResult:
    """Minimize a smooth penalized loss over the rows of A by Newton's method.

    With few unknowns (``hessian="exact"``, the default up to 1024 and one
    class) each iteration reads A once for the value, the gradient **and**
    the exact Hessian ``A^T D A`` (the Gram kernel weighted by the loss's
    curvature: iteratively reweighted least squares for a GLM) and solves the
    ``n x n`` system on the client. With many (``hessian="cg"``) the Newton
    system is solved by conjugate gradients, one pass per Hessian-vector
    product (truncated Newton, as SciPy's ``minimize(method="Newton-CG")``).
    A backtracking line search keeps the objective decreasing.

    Parameters
    ----------
    A, y, loss, sample_weight, fit_intercept, l2, n_classes, epsilon
        As :func:`~dlinalg.lbfgs` (no ``l1``: the Hessian of ``|x|`` does not
        exist; use :func:`~dlinalg.lbfgs` or :func:`~dlinalg.proximal_gradient`).
    hessian : {"auto", "exact", "cg"}, default "auto"
    x0 : array_like, optional
    maxiter : int, default 100
        Newton iterations.
    gtol : float, default 1e-8
        Stop when ``max_j |g_j| <= gtol``.
    ftol : float, default 0
        Stop when the objective's relative decrease is at most ``ftol``.
    callback, checkpoint, fingerprint, show
        As :func:`~dlinalg.lbfgs`.

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ValueError, TypeError
        As :func:`~dlinalg.lbfgs`; also :class:`~dlinalg.errors.ParameterError`
        for ``hessian="exact"`` with more than one class.

    See Also
    --------
    lbfgs, proximal_gradient
    sklearn.linear_model.LogisticRegression : ``solver="newton-cholesky"`` in memory.

    Notes
    -----
    Passes: ``"exact"``, one per line-search trial (the first trial is
    nearly always taken, and its Hessian is the next iteration's), so about
    one per iteration, usually 5 to 10 in all; each costs ``m n^2`` flops.
    ``"cg"``: one for the gradient, one per CG step, one per line-search trial.

    References
    ----------
    .. [1] J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
       Springer, 2006, chapter 7.1 (line search Newton-CG).
    .. [2] P. McCullagh and J. A. Nelder, "Generalized Linear Models", 2nd ed.,
       Chapman and Hall, 1989 (iteratively reweighted least squares).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 3))
    >>> y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1]))
    >>> res = dl.newton_cg(dl.from_array(X, chunks=500), y, loss="poisson")
    >>> res.success, res.nit <= 10, np.round(res.coef, 1)
    (True, True, array([ 0.3, -0.2,  0.1]))
    """
    problem = check_problem(A, y, loss=loss, sample_weight=sample_weight, n_classes=n_classes,
                            fit_intercept=fit_intercept, l2=l2, l1=0.0, epsilon=epsilon, x0=x0)  # fmt: skip
    if not isinstance(hessian, str) or hessian not in HESSIAN:
        raise ParameterError(f"hessian must be one of {HESSIAN}, got hessian={hessian!r}")
    if hessian == "exact" and problem.K > 1:
        raise ParameterError("hessian='exact' is for one class; use hessian='cg' for multinomial")
    if hessian == "auto":
        hessian = "exact" if problem.K == 1 and problem.size <= EXACT_MAX_SIZE else "cg"
    session = Session("newton", problem, gtol=gtol, ftol=ftol, maxiter=maxiter,
                      callback=callback, checkpoint=checkpoint, fingerprint=fingerprint,
                      show=show, extra={"hessian": hessian})  # fmt: skip
    obj = session.objective()
    st = session.run.drive(
        NewtonState,
        start=lambda: _start(obj, problem, hessian),
        iterate=lambda st: _iterate(st, obj, session, hessian),
        moving=lambda st: st.normg0 > session.gtol,
        messages=MESSAGES,
    )
    return session.result(st, st.g)


@dataclass(kw_only=True)
class NewtonState(SolverState):
    """Newton's state between iterations: the iterate, its value, gradient (and Hessian)."""

    x: np.ndarray
    f: float
    g: np.ndarray
    H: np.ndarray | None = None
    normg0: float


def _evaluate(obj: Any, x: np.ndarray, hessian: str) -> tuple:
    if hessian == "exact":
        return obj.value_grad_hess(x)
    f, g = obj.value_grad(x)
    return f, g, None


def _start(obj: Any, problem: Any, hessian: str) -> NewtonState:
    x = np.zeros(problem.size) if problem.x0 is None else problem.x0.copy()
    f, g, H = _evaluate(obj, x, hessian)
    return NewtonState(x=x, f=f, g=g, H=H, normg0=optimality(g))


def _direction(st: NewtonState, obj: Any, hessian: str) -> np.ndarray:
    if hessian == "exact":
        try:
            return -sla.cho_solve(sla.cho_factor(st.H, lower=True), st.g)
        except np.linalg.LinAlgError:  # singular curvature (separable data, no l2)
            return -np.linalg.lstsq(st.H, st.g, rcond=None)[0]
    return _cg(lambda v: obj.hessp(st.x, v), st.g)


def _cg(hessp: Any, g: np.ndarray) -> np.ndarray:
    """Truncated CG on ``H p = -g`` (Nocedal and Wright, algorithm 7.1)."""
    gnorm = float(np.linalg.norm(g))
    tol = min(0.5, np.sqrt(gnorm)) * gnorm
    p, r = np.zeros_like(g), g.copy()
    d = -r
    rr = float(r @ r)
    for _ in range(2 * g.size):
        Hd = hessp(d)
        curv = float(d @ Hd)
        if curv <= 0:  # negative curvature: stop with what descends
            return p if p.any() else -g
        a = rr / curv
        p += a * d
        r += a * Hd
        rr_new = float(r @ r)
        if np.sqrt(rr_new) <= tol:
            break
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return p


def _iterate(st: NewtonState, obj: Any, session: Session, hessian: str) -> None:
    while st.itn < session.maxiter:
        p = _direction(st, obj, hessian)
        slope = float(st.g @ p)
        alpha, taken = 1.0, None
        for _ in range(MAX_BACKTRACK):
            x = st.x + alpha * p
            f, g, H = _evaluate(obj, x, hessian)
            if f <= st.f + C1 * alpha * slope:
                taken = x, f, g, H
                break
            alpha *= 0.5
        st.itn += 1
        if taken is None:
            st.istop = 4
            session.report(st.itn, st.x, st.to_dict, st.f, optimality(st.g), 0.0)
            break
        f_old = st.f
        st.x, st.f, st.g, st.H = taken
        normg = optimality(st.g)
        st.istop = session.stop(st.itn, f_old, st.f, normg)
        session.report(st.itn, st.x, st.to_dict, st.f, normg, alpha)
        if st.istop:
            break
