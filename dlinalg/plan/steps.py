"""Plan nodes of the products an iterative solver runs each iteration.

A solver's step is one read of A: LSQR's and LSMR's Golub-Kahan step computes
``u = A v + c w`` together with ``A^T u`` and ``||u||^2`` (see
:mod:`dlinalg.solvers._golub_kahan`), CG's product ``A^T A x``. These steps run
through the executor of :mod:`dlinalg.cluster`, not through the plan's
lowering: ``u`` must stay on the workers from one iteration to the next, and
a step's graph is built from A's persisted blocks each time so it never grows
with the iteration count. The node is the step's statement for
:func:`dlinalg.explain`; the block kernel it names is
:func:`dlinalg.physical.matvec.fused_block`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dlinalg.plan.nodes import _Unary

__all__ = ["MatvecStep"]


@dataclass(frozen=True, eq=False)
class MatvecStep(_Unary):
    """One solver product over the persisted A, in one read: ``formula`` says which."""

    formula: str = "A x"
    name: ClassVar[str] = "MatvecStep"

    @property
    def shape(self):
        return ()

    @property
    def dtype(self):
        return np.dtype(np.float64)

    @property
    def local(self):
        return True

    def describe(self):
        return f"MatvecStep {self.formula} in one pass (vectors stay on the workers)"
