"""The result every iterative solver returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SolveResult"]


@dataclass(frozen=True)
class SolveResult:
    """Solution and convergence report of an iterative solver (SciPy's quantities).

    Attributes
    ----------
    x : numpy.ndarray
        The ``(n,)`` solution.
    istop : int
        Why the iteration stopped; :attr:`message` says it in words (see each
        solver's table).
    itn : int
        Number of iterations run (counting those before a resumed checkpoint).
    normr : float
        Estimate of ``||b - A x||`` (the undamped residual, SciPy's ``r1norm``).
    normar : float
        Estimate of ``||A^T (b - A x) - damp^2 x||``.
    anorm : float
        Estimate of the Frobenius norm of ``[A; damp I]``.
    acond : float
        Estimate of the condition number of ``[A; damp I]``.
    arnorm : float
        Same as ``normar`` (LSQR's name).
    xnorm : float
        ``||x||``.
    message : str
        The reason for stopping.

    A quantity a solver does not estimate is ``nan``.
    """

    x: np.ndarray
    istop: int
    itn: int
    normr: float
    normar: float
    anorm: float
    acond: float
    arnorm: float
    xnorm: float
    message: str

    def __repr__(self) -> str:
        return (
            f"SolveResult(istop={self.istop}, itn={self.itn}, normr={self.normr:.3e}, "
            f"normar={self.normar:.3e}, xnorm={self.xnorm:.3e}, message={self.message!r})"
        )
