"""The result every iterative solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    r2norm : float
        Estimate of ``sqrt(||b - A x||^2 + damp^2 ||x - x0||^2)``, the damped
        residual (SciPy's ``r2norm``; LSQR only).
    var : numpy.ndarray or None
        LSQR with ``calc_var=True``: estimates of the diagonal of
        ``(A^T A + damp^2 I)^{-1}``; zeros with ``calc_var=False``, as SciPy
        returns them; None for the other solvers.

    history : dict of str to numpy.ndarray
        The convergence history: one entry per iteration run by this call
        (a resumed solve starts at its checkpoint's iteration), under
        ``"itn"`` and the solver's estimates at that iteration: ``normr`` and
        ``normar`` (lsqr, lsmr, cgls), ``anorm``, ``acond`` and ``xnorm``
        (lsqr, lsmr), ``normr`` (cg), ``objective`` (``||A x - b||^2``),
        ``normg`` and ``step`` (gd). :func:`~dlinalg.plot_convergence` draws it.

    A quantity a solver does not estimate is ``nan``.

    The result also unpacks like the tuple of the SciPy function it replaces
    (``x, istop, itn, r1norm = dl.lsqr(A, b)[:4]``; ``x, info = dl.cg(A,
    b)``): :func:`~dlinalg.lsqr` gives SciPy's 10 values, :func:`~dlinalg.lsmr`
    its 8, :func:`~dlinalg.cg` ``(x, info)``. Solvers without a SciPy
    counterpart (``cgls``, ``gd``) do not unpack.
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
    r2norm: float = float("nan")
    var: np.ndarray | None = None
    history: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    #: Names of the attributes SciPy's tuple holds, in its order (empty: no tuple).
    scipy_fields: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def r1norm(self) -> float:
        """SciPy's name of :attr:`normr` (LSQR)."""
        return self.normr

    @property
    def info(self) -> int:
        """SciPy's ``info`` of ``cg``: 0 converged, the iteration count at the limit, -1 breakdown."""
        if self.istop in (0, 1):
            return 0
        return self.itn if self.istop == 7 else -1

    def _scipy_tuple(self) -> tuple[Any, ...]:
        if not self.scipy_fields:
            raise TypeError(
                "this SolveResult has no SciPy tuple form (its solver has no SciPy "
                "counterpart); read its attributes instead (res.x, res.istop, ...)"
            )
        return tuple(getattr(self, name) for name in self.scipy_fields)

    def __bool__(self) -> bool:  # a result is true even where it has no tuple length
        return True

    def __iter__(self):
        return iter(self._scipy_tuple())

    def __len__(self) -> int:
        return len(self._scipy_tuple())

    def __getitem__(self, index: int | slice) -> Any:
        return self._scipy_tuple()[index]

    def __repr__(self) -> str:
        return (
            f"SolveResult(istop={self.istop}, itn={self.itn}, normr={self.normr:.3e}, "
            f"normar={self.normar:.3e}, xnorm={self.xnorm:.3e}, message={self.message!r})"
        )
