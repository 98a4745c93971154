"""What every optimizer returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OptimizeResult"]


@dataclass(frozen=True)
class OptimizeResult:
    """Solution and convergence report of :func:`~dlinalg.lbfgs`, :func:`~dlinalg.newton_cg`
    and :func:`~dlinalg.proximal_gradient` (SciPy's ``OptimizeResult`` names).

    Attributes
    ----------
    x : numpy.ndarray
        The solution, flat: the coefficients (``n x K`` row-major), then the
        intercepts when ``fit_intercept``.
    coef : numpy.ndarray
        The coefficients, ``(n,)`` (``(n, K)`` for the multinomial loss).
    intercept : float or numpy.ndarray
        The intercept (``(K,)`` for the multinomial loss); 0 without ``fit_intercept``.
    fun : float
        The objective at ``x``, penalties included.
    jac : numpy.ndarray
        The gradient of the smooth part at ``x`` (OWL-QN: the pseudo-gradient
        of the whole objective).
    status : int
        Why the solver stopped; :attr:`message` says it in words.
    message : str
    success : bool
        ``status`` is a convergence test (not an iteration limit or failure).
    nit : int
        Iterations run (counting those before a resumed checkpoint).
    npass : int
        Passes over A run by this call (every function, gradient, Hessian or
        Hessian-vector evaluation reads A once).
    history : dict of str to numpy.ndarray
        Per iteration: ``"itn"``, ``"objective"``, ``"normg"`` (the
        optimality measure the stopping rule tests), ``"step"`` and
        ``"passes"``; :func:`~dlinalg.plot_convergence` draws it.
    """

    x: np.ndarray
    coef: np.ndarray
    intercept: float | np.ndarray
    fun: float
    jac: np.ndarray
    status: int
    message: str
    success: bool
    nit: int
    npass: int
    history: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
