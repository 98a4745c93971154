"""L-BFGS (and OWL-QN for an L1 penalty) on a distributed smooth loss."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import line_search
from scipy.optimize._linesearch import LineSearchWarning

from dlinalg.optimize._common import MESSAGES, Session, check_memory, optimality, pseudo_gradient
from dlinalg.optimize.objective import check_problem
from dlinalg.optimize.result import OptimizeResult
from dlinalg.solvers._driver import SolverState

__all__ = ["lbfgs"]

#: Armijo's sufficient-decrease constant and the strong Wolfe curvature constant.
C1, C2 = 1e-4, 0.9
#: OWL-QN's backtracking: halve the step at most this many times.
MAX_BACKTRACK = 30


def lbfgs(
    A: Any,
    y: Any,
    *,
    loss: str = "logistic",
    sample_weight: Any = None,
    fit_intercept: bool = False,
    l2: float = 0.0,
    l1: float = 0.0,
    n_classes: int | None = None,
    epsilon: float = 1.35,
    x0: Any = None,
    m: int = 10,
    maxiter: int = 1000,
    gtol: float = 1e-5,
    ftol: float = 2.220446049250313e-09,
    callback: Any = None,
    checkpoint: Any = None,
    fingerprint: Any = None,
    show: bool | None = None,
) -> OptimizeResult:
    """Minimize a penalized smooth loss over the rows of A by L-BFGS (OWL-QN with ``l1``).

    The objective is ``F(theta) = sum_i s_i l(z_i, y_i) / sum_i s_i +
    (l2/2) ||W||^2 + l1 ||W||_1`` with ``z = A W + b`` (see
    :mod:`dlinalg.optimize.objective`). The value and gradient come back from
    one pass over A; the two-loop recursion and the line search run on the
    client, so only ``n``-vectors travel. Without ``l1`` the step satisfies the
    strong Wolfe conditions (Nocedal and Wright's line search, as SciPy's
    ``minimize(method="BFGS")`` uses); with ``l1`` it is OWL-QN: the
    pseudo-gradient, the orthant projection and a backtracking line search,
    as Spark ML's ``LogisticRegression`` runs it.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` data (persisted once).
    y : array_like or dask.array.Array
        The ``(m,)`` targets: any real (``"squared"``, ``"huber"``), 0 or 1
        (``"logistic"``), class indices ``0..n_classes-1``
        (``"multinomial"``), counts ``>= 0`` (``"poisson"``).
    loss : {"logistic", "multinomial", "squared", "poisson", "huber"}, default "logistic"
    sample_weight : array_like or dask.array.Array, optional
        ``(m,)`` weights ``>= 0`` (default 1).
    fit_intercept : bool, default False
        Also fit an unpenalized intercept (one per class for ``"multinomial"``).
    l2, l1 : float, default 0
        The penalties' strengths (``l1 > 0`` switches to OWL-QN).
    n_classes : int, optional
        The number of classes, for ``loss="multinomial"``.
    epsilon : float, default 1.35
        The Huber threshold.
    x0 : array_like, optional
        The start, flat as :attr:`OptimizeResult.x` (default 0).
    m : int, default 10
        The number of correction pairs kept.
    maxiter : int, default 1000
    gtol : float, default 1e-5
        Stop when ``max_j |g_j| <= gtol`` (``g`` the gradient; OWL-QN: the
        pseudo-gradient).
    ftol : float, default 2.2e-9
        Stop when ``(F_k - F_k+1) <= ftol max(|F_k|, |F_k+1|, 1)`` (SciPy's
        L-BFGS-B rule).
    callback : callable, optional
        ``callback(xk)`` after each iteration.
    checkpoint : str or os.PathLike, optional
        Save the state every 10 iterations (and every 30 s); a call with the
        same path resumes bit for bit.
    fingerprint : str, bytes, int or tuple of them, optional
        With ``checkpoint``: what identifies A instead of its graph token.
    show : bool, optional
        An iteration bar (default: on in Jupyter, off elsewhere).

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ValueError
        A bad parameter (:class:`~dlinalg.errors.ParameterError`), lengths that
        do not match (:class:`~dlinalg.errors.ShapeError`), NaN/inf
        (:class:`~dlinalg.errors.NonFiniteError`), targets the loss cannot
        take or negative weights: all before any pass over A.
    TypeError
        For a LinearOperator A.

    See Also
    --------
    newton_cg : Fewer, dearer iterations for few features.
    proximal_gradient : Non-smooth penalties and constraints.
    scipy.optimize.minimize : ``method="L-BFGS-B"``, in memory.

    Notes
    -----
    Passes over A: one to persist it, then one per line-search trial; a
    Wolfe line search usually accepts its first trial, so an iteration costs
    about one pass. ``status``: 0 x0 is optimal, 1 ``gtol``, 2 ``ftol``, 4 the
    line search failed (at float64's precision), 7 ``maxiter``.

    References
    ----------
    .. [1] D. C. Liu and J. Nocedal, "On the limited memory BFGS method for
       large scale optimization", Math. Programming 45, 1989.
    .. [2] J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
       Springer, 2006, algorithms 3.5, 3.6 and 7.4.
    .. [3] G. Andrew and J. Gao, "Scalable training of L1-regularized
       log-linear models", ICML 2007.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 5))
    >>> y = (X @ [1.0, -2.0, 0.0, 0.5, 0.0] + rng.logistic(size=2000) > 0).astype(float)
    >>> res = dl.lbfgs(dl.from_array(X, chunks=500), y, loss="logistic", l2=1e-3)
    >>> res.success, np.round(res.coef, 1)
    (True, array([ 1. , -1.9,  0.1,  0.5, -0. ]))
    """
    problem = check_problem(A, y, loss=loss, sample_weight=sample_weight, n_classes=n_classes,
                            fit_intercept=fit_intercept, l2=l2, l1=l1, epsilon=epsilon, x0=x0)  # fmt: skip
    mem = check_memory(m)
    session = Session("lbfgs" if problem.l1 == 0 else "owlqn", problem, gtol=gtol, ftol=ftol,
                      maxiter=maxiter, callback=callback, checkpoint=checkpoint,
                      fingerprint=fingerprint, show=show, extra={"m": mem})  # fmt: skip
    obj = session.objective()
    mask = obj.penalized()
    step = _owlqn_step if problem.l1 > 0 else _wolfe_step
    st = session.run.drive(
        LbfgsState,
        start=lambda: _start(obj, problem, mem, mask),
        iterate=lambda st: _iterate(st, obj, session, mask, step),
        moving=lambda st: st.normg0 > session.gtol,
        messages=MESSAGES,
    )
    return session.result(st, pseudo_gradient(st.x, st.g, problem.l1, mask))


@dataclass(kw_only=True)
class LbfgsState(SolverState):
    """The whole L-BFGS state between iterations.

    Attributes
    ----------
    x, g : numpy.ndarray
        The iterate and the smooth part's gradient there.
    f, f_prev : float
        The objective (penalties included) now and one iteration ago.
    S, Y : numpy.ndarray
        ``(m, size)`` correction pairs, oldest first; ``k`` rows are in use.
    k : int
    normg0 : float
        The optimality measure at x0 (the driver does not iterate when it
        already passes ``gtol``).
    """

    x: np.ndarray
    g: np.ndarray
    f: float
    f_prev: float
    S: np.ndarray
    Y: np.ndarray
    k: int
    normg0: float


def _l1_value(l1: float, x: np.ndarray, mask: np.ndarray) -> float:
    return l1 * float(np.abs(x[mask]).sum()) if l1 else 0.0


def _start(obj: Any, problem: Any, mem: int, mask: np.ndarray) -> LbfgsState:
    x = np.zeros(problem.size) if problem.x0 is None else problem.x0.copy()
    f, g = obj.value_grad(x)
    f += _l1_value(problem.l1, x, mask)
    normg = optimality(pseudo_gradient(x, g, problem.l1, mask))
    st = LbfgsState(x=x, g=g, f=f, f_prev=f + 0.5 * float(np.linalg.norm(g)),
                    S=np.zeros((mem, problem.size)), Y=np.zeros((mem, problem.size)), k=0,
                    normg0=normg)  # fmt: skip
    return st


def _two_loop(q: np.ndarray, S: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """``H q`` for the L-BFGS inverse-Hessian approximation of the ``k`` newest pairs."""
    q = q.copy()
    S, Y = S[-k:] if k else S[:0], Y[-k:] if k else Y[:0]
    rho = 1.0 / np.einsum("ij,ij->i", Y, S)
    alpha = np.empty(k)
    for i in range(k - 1, -1, -1):
        alpha[i] = rho[i] * float(S[i] @ q)
        q -= alpha[i] * Y[i]
    if k:
        q *= float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1])
    for i in range(k):
        beta = rho[i] * float(Y[i] @ q)
        q += (alpha[i] - beta) * S[i]
    return q


def _remember(st: LbfgsState, s: np.ndarray, yv: np.ndarray) -> None:
    """Keep the pair ``(s, y)`` when it is a positive curvature pair."""
    if float(s @ yv) > 1e-10 * float(yv @ yv):
        st.S = np.roll(st.S, -1, axis=0)
        st.Y = np.roll(st.Y, -1, axis=0)
        st.S[-1], st.Y[-1] = s, yv
        st.k = min(st.k + 1, st.S.shape[0])


def _wolfe_step(st: LbfgsState, obj: Any, mask: np.ndarray) -> tuple | None:
    """A strong Wolfe step along the L-BFGS direction: ``(x, f, g, alpha)``, or None."""
    d = -_two_loop(st.g, st.S, st.Y, st.k)
    if float(d @ st.g) >= 0:  # not a descent direction: forget the memory
        st.k = 0
        d = -st.g
    cache: dict[bytes, tuple[float, np.ndarray]] = {}

    def both(x: np.ndarray) -> tuple[float, np.ndarray]:
        key = x.tobytes()
        if key not in cache:
            cache[key] = obj.value_grad(x)
        return cache[key]

    # The first trial: the unit step once the memory scales d (Nocedal and Wright,
    # section 6.1: quasi-Newton methods should always try alpha = 1 first), as
    # L-BFGS-B does; SciPy's guess from the last decrease (f_prev) takes shorter
    # steps and, on a sparse logistic problem, twice the iterations. Without
    # memory d = -g, and f_prev gives L-BFGS-B's first step 1 / ||g||.
    old_f = st.f_prev if st.k == 0 else None
    with warnings.catch_warnings():  # a failed search is handled below, not warned about
        warnings.simplefilter("ignore", LineSearchWarning)
        alpha, *_ = line_search(lambda x: both(x)[0], lambda x: both(x)[1], st.x, d, st.g,
                                st.f, old_f, c1=C1, c2=C2, maxiter=20)  # fmt: skip
    if alpha is None:  # near float64's precision: Armijo backtracking along -g
        st.k, d, alpha = 0, -st.g, 1.0 / max(float(np.linalg.norm(st.g)), 1.0)
        slope = float(st.g @ d)
        for _ in range(MAX_BACKTRACK):
            f, g = both(st.x + alpha * d)
            if f <= st.f + C1 * alpha * slope:
                break
            alpha *= 0.5
        else:
            return None
    x = st.x + alpha * d
    f, g = both(x)
    if not f < st.f and not (f == st.f and optimality(g) < optimality(st.g)):
        return None
    return x, f, g, alpha


def _owlqn_step(st: LbfgsState, obj: Any, mask: np.ndarray) -> tuple | None:
    """OWL-QN: the projected quasi-Newton direction and a backtracking step, or None."""
    l1 = obj.p.l1
    pg = pseudo_gradient(st.x, st.g, l1, mask)
    d = -_two_loop(pg, st.S, st.Y, st.k)
    d = np.where(d * pg < 0, d, 0.0)  # keep the directions that descend along -pg
    if not d.any():
        return None
    orthant = np.where(st.x != 0, np.sign(st.x), np.sign(-pg))
    alpha = 1.0 if st.k else 1.0 / max(float(np.linalg.norm(pg)), 1.0)
    for _ in range(MAX_BACKTRACK):
        x = st.x + alpha * d
        x = np.where(mask & (np.sign(x) != orthant), 0.0, x)
        f, g = obj.value_grad(x)
        f += _l1_value(l1, x, mask)
        if f <= st.f + C1 * float(pg @ (x - st.x)):
            return x, f, g, alpha
        alpha *= 0.5
    return None


def _iterate(st: LbfgsState, obj: Any, session: Session, mask: np.ndarray, step: Any) -> None:
    l1 = obj.p.l1
    while st.itn < session.maxiter:
        taken = step(st, obj, mask)
        st.itn += 1
        if taken is None:
            st.istop = 4
            session.report(st.itn, st.x, st.to_dict, st.f, optimality(st.g), 0.0)
            break
        x, f, g, alpha = taken
        _remember(st, x - st.x, g - st.g)
        st.f_prev, st.x, st.f, st.g = st.f, x, f, g
        normg = optimality(pseudo_gradient(x, g, l1, mask))
        st.istop = session.stop(st.itn, st.f_prev, f, normg)
        session.report(st.itn, x, st.to_dict, f, normg, float(alpha))
        if st.istop:
            break
