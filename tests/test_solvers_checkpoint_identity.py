"""Checkpoints resume only their own problem (issue 12).

Two defects are pinned here: a :class:`scipy.sparse.linalg.LinearOperator` was
identified by its type, shape and dtype only, so a checkpoint of ``op(M1)``
resumed ``op(M2)``; and the checkpoint's JSON header was not checked, so a
damaged header failed late (KeyError, broadcast error) after passes over A.
"""

from __future__ import annotations

import dask
import numpy as np
import pytest
import scipy.sparse.linalg as spla

import dlinalg as dl
from dlinalg.solvers import CheckpointError

SOLVE = {
    "lsqr": lambda A, b, **kw: dl.lsqr(A, b, atol=1e-12, btol=1e-12, **kw),
    "lsmr": lambda A, b, **kw: dl.lsmr(A, b, atol=1e-12, btol=1e-12, **kw),
    "cg": lambda A, b, **kw: dl.cg(A, b, rtol=1e-12, **kw),
    "cgls": lambda A, b, **kw: dl.cgls(A, b, atol=1e-12, btol=1e-12, **kw),
    "gd": lambda A, b, **kw: dl.gd(A, b, tol=1e-12, precondition="diag", **kw),
}


def two_matrices(n=30, seed=0):
    """Two different SPD matrices of the same shape and dtype, and b."""
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.logspace(0, -2, n)
    M1, M2 = (Q1 * eig) @ Q1.T, (Q2 * eig) @ Q2.T
    return (M1 + M1.T) / 2, (M2 + M2.T) / 2, rng.standard_normal(n)


def sync():
    return dask.config.set(scheduler="sync")


# --- defect 1: an opaque operator over another matrix -------------------------------------


@pytest.mark.parametrize("name", SOLVE)
def test_an_operator_over_another_matrix_is_refused(tmp_path, name):
    M1, M2, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        SOLVE[name](spla.aslinearoperator(M1), b, maxiter=2, checkpoint=path)
        before = path.read_bytes()
        with pytest.raises(CheckpointError, match=r"another problem.*\bA\b.*delete"):
            SOLVE[name](spla.aslinearoperator(M2), b, checkpoint=path)
    assert path.read_bytes() == before  # nothing lost
