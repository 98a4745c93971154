"""Iterative solvers over a distributed mat-vec: only products touch the cluster.

Scalar recurrences run on the client; A is persisted once and read once per
iteration by a fused kernel (``u = A v + c w`` and ``A^T u`` in one pass).

=============  ===========================================================  ==============
function       problem                                                      passes / iter
=============  ===========================================================  ==============
``lsqr``       ``min ||Ax - b||^2 + damp^2 ||x||^2`` (Paige-Saunders)        1
``lsmr``       the same, monotone ``||A^T r||`` (Fong-Saunders)              1
``svds``       top-k singular triplets, ARPACK on ``A^T A`` (client side)   ncv - k
``eigsh``      k eigenpairs of a symmetric A, ARPACK (client side)          ncv - k
``cg``         ``A x = b`` for a symmetric positive definite A (CG)         1
``cgls``       lsqr's problem by CG on ``A^T A`` (never formed)             1
``gd``         ``min ||Ax - b||^2`` by gradient descent (Nesterov)          1
=============  ===========================================================  ==============
"""

from dlinalg.solvers.arpack import eigsh, svds
from dlinalg.solvers.cg import cg
from dlinalg.solvers.cgls import cgls
from dlinalg.solvers.checkpoint import CheckpointError
from dlinalg.solvers.gd import gd
from dlinalg.solvers.lsmr import lsmr
from dlinalg.solvers.lsqr import lsqr
from dlinalg.solvers.plot import plot_convergence
from dlinalg.solvers.result import SolveResult

__all__ = [
    "lsqr",
    "lsmr",
    "svds",
    "eigsh",
    "cg",
    "cgls",
    "gd",
    "SolveResult",
    "CheckpointError",
    "plot_convergence",
]
