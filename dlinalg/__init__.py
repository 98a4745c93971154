"""dlinalg: distributed R-like matrix algebra on Dask.

Lazy expressions over row-partitioned matrices (dense numpy or scipy.sparse
blocks), rewritten by an optimizer into one-pass physical plans, with
crash-safe Zarr IO and a LocalCluster that just works.

Examples
--------
>>> import numpy as np, dlinalg as dl
>>> A = dl.from_array(np.arange(12.0).reshape(4, 3), chunks=2)
>>> (A.T @ A).compute().shape
(3, 3)
"""

from typing import Any

from dlinalg import errors
from dlinalg._deferred_imports import deferred_attribute
from dlinalg._version import __version__ as __version__
from dlinalg.cluster import connect, local_cluster
from dlinalg.construct import eye, from_array, ones, random, zeros
from dlinalg.decomp import eigh_gram, lstsq, qr, spca, ssvd, svd
from dlinalg.functions import cbind, compute, crossprod, rbind, tcrossprod
from dlinalg.matrix import DRM, LazyResult
from dlinalg.optimize import OptimizeResult, lbfgs, linprog, newton_cg, proximal_gradient
from dlinalg.plans import Explanation, explain
from dlinalg.solvers import cg, cgls, eigsh, gd, lsmr, lsqr, plot_convergence, svds

#: Imported on first use (PEP 562), so that ``import dlinalg`` does not pay for
#: zarr (0.16 s) where no store is read: the command line on a small log, a
#: worker that only multiplies blocks.
_DEFERRED = {
    "read_zarr": "dlinalg.readers",
    "from_xarray": "dlinalg.readers",
    "verify_zarr": "dlinalg.io.zarr",
}

__all__ = [
    # construction
    "from_array",
    "read_zarr",
    "verify_zarr",
    "from_xarray",
    "random",
    "zeros",
    "ones",
    "eye",
    # the matrix
    "DRM",
    "LazyResult",
    # functions
    "crossprod",
    "tcrossprod",
    "cbind",
    "rbind",
    "compute",
    "explain",
    "Explanation",
    # decompositions
    "qr",
    "svd",
    "ssvd",
    "spca",
    "eigh_gram",
    "lstsq",
    # iterative solvers
    "lsqr",
    "lsmr",
    "svds",
    "eigsh",
    "cg",
    "cgls",
    "gd",
    "plot_convergence",
    # optimization
    "lbfgs",
    "newton_cg",
    "proximal_gradient",
    "linprog",
    "OptimizeResult",
    # cluster
    "local_cluster",
    "connect",
    "errors",
]


def __getattr__(name: str) -> Any:
    return deferred_attribute(__name__, name, _DEFERRED)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
