"""What the optimizers share: their stop codes, the run around them, their result."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from dlinalg._validation import check_callback, check_maxiter, check_tolerance
from dlinalg.errors import ParameterError
from dlinalg.optimize.objective import GLMObjective, Problem
from dlinalg.optimize.result import OptimizeResult
from dlinalg.solvers._driver import Run, check_checkpoint

__all__ = ["MESSAGES", "Session", "check_memory", "optimality", "pseudo_gradient"]

#: ``status`` -> reason, shared by every optimizer.
MESSAGES = {
    0: "x0 already satisfies the gtol test",
    1: "The optimality measure is small enough, given gtol",
    2: "The relative reduction of the objective is small enough, given ftol",
    3: "The change of x is small enough, given xtol",
    4: "The line search could not reduce the objective (x is as good as float64 allows)",
    7: "The iteration limit has been reached",
}
#: The codes that say the solver converged.
CONVERGED = (0, 1, 2, 3)


def check_memory(m: Any) -> int:
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ParameterError(f"m (the L-BFGS memory) must be an integer >= 1, got m={m!r}")
    return int(m)


def optimality(g: np.ndarray) -> float:
    """The stopping rules' measure: ``max |g_j|`` (SciPy's ``pgtol``)."""
    return float(np.max(np.abs(g))) if g.size else 0.0


def pseudo_gradient(theta: np.ndarray, g: np.ndarray, l1: float, mask: np.ndarray) -> np.ndarray:
    """The minimum-norm subgradient of ``f + l1 ||theta[mask]||_1`` (Andrew and Gao 2007)."""
    if l1 == 0:
        return g
    pg = g.copy()
    x, gm = theta[mask], g[mask]
    right, left = gm + l1, gm - l1
    out = np.where(x > 0, right, np.where(x < 0, left, 0.0))
    at0 = x == 0
    out = np.where(at0 & (right < 0), right, out)
    out = np.where(at0 & (left > 0), left, out)
    pg[mask] = out
    return pg


class Session:
    """One optimizer call: checks, the checkpointed run, the objective, the result."""

    def __init__(self, name: str, problem: Problem, *, gtol: Any, ftol: Any, maxiter: Any,
                 callback: Any, checkpoint: Any, fingerprint: Any, show: Any,
                 extra: dict[str, Any]):  # fmt: skip
        self.problem = problem
        self.gtol = check_tolerance(gtol, "gtol")
        self.ftol = check_tolerance(ftol, "ftol")
        self.maxiter = check_maxiter(maxiter, 1000)
        callback = check_callback(callback)
        check_checkpoint(checkpoint)
        params = {**problem.params(), "gtol": self.gtol, "ftol": self.ftol, **extra}
        self.run = Run(name, problem.A, problem.y, params, checkpoint, self.maxiter, show,
                       callback, fingerprint=fingerprint)  # fmt: skip

    def objective(self) -> GLMObjective:
        """Persist A, y and the weights (the first pass over A)."""
        self.obj = self.problem.objective(before_pass=self.run.identify)
        return self.obj

    def report(
        self, itn: int, x: np.ndarray, state: Any, f: float, normg: float, step: float
    ) -> None:
        self.run.iteration(itn, x, state, objective=f, normg=normg, step=step,
                           passes=float(self.obj.passes))  # fmt: skip

    def stop(self, itn: int, f_old: float, f: float, normg: float) -> int:
        """The stop code after an iteration (0: go on)."""
        if normg <= self.gtol:
            return 1
        if (f_old - f) <= self.ftol * max(abs(f_old), abs(f), 1.0):
            return 2
        return 7 if itn >= self.maxiter else 0

    def result(self, st: Any, jac: np.ndarray) -> OptimizeResult:
        W, b = self.obj.split(st.x)
        K = self.problem.K
        coef = W[:, 0].copy() if K == 1 else W.copy()
        intercept = (float(b[0]) if K == 1 else b.copy()) if self.problem.fit_intercept else 0.0
        return OptimizeResult(
            x=st.x.copy(), coef=coef, intercept=intercept, fun=float(st.f), jac=jac,
            status=int(st.istop), message=MESSAGES[st.istop], success=st.istop in CONVERGED,
            nit=int(st.itn), npass=int(self.obj.passes), history=self.run.history(),
        )  # fmt: skip
