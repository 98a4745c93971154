"""Convex optimization on distributed matrices: smooth losses, L-BFGS, Newton, proximal methods.

Matrix products run on the cluster, one pass over A per function, gradient,
Hessian or Hessian-vector evaluation; vector operations run on the client.

* :func:`lbfgs` -- L-BFGS, and OWL-QN for an L1 penalty;
* :func:`newton_cg` -- Newton's method with the exact Hessian (few
  features, one pass per iteration) or conjugate gradients on
  Hessian-vector products;
* :func:`proximal_gradient` -- TFOCS's accelerated proximal gradient for
  non-smooth penalties and constraints (:mod:`dlinalg.optimize.prox`);
* :func:`linprog` -- linear programs by TFOCS's smoothed conic dual.
"""

from dlinalg.optimize import prox
from dlinalg.optimize.lbfgs import lbfgs
from dlinalg.optimize.lp import LinprogResult, linprog
from dlinalg.optimize.newton import newton_cg
from dlinalg.optimize.proximal import proximal_gradient
from dlinalg.optimize.result import OptimizeResult

__all__ = [
    "lbfgs",
    "newton_cg",
    "proximal_gradient",
    "linprog",
    "OptimizeResult",
    "LinprogResult",
    "prox",
]
