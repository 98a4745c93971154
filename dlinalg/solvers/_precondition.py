"""The metric gradient descent works in: ``x = T z`` with ``T = D`` or ``T = D R^-1``.

``D = diag(1 / ||A[:, j]||)`` scales A's columns to unit norm (Jacobi). With
``"sample"``, ``R`` is the Cholesky factor of ``(m / k) (S A D)^T (S A D)``
for ``S`` a strided sample of ``k ~ 10 n`` rows: a sketch of the Hessian, so
that ``A T`` is well conditioned whatever A's singular vectors (the
sketch-and-precondition idea of Rokhlin-Tygert and Blendenpik, here with
plain row sampling). The column norms and the sample's Gram come from one
pass over A.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, cholesky, solve_triangular

from dlinalg.physical.matvec import MatvecParts
from dlinalg.solvers._operator import LocalOperator, check_finite_norm

__all__ = ["Scaling", "scaling", "power_sigma2", "SAMPLE_ROWS"]

#: ``"sample"`` takes about this many rows per column of A.
SAMPLE_ROWS = 10
#: Power iterations: at most, at least, and the relative change of the Rayleigh quotient to stop.
POWER_STEPS, POWER_MIN, POWER_RTOL = 20, 3, 1e-3


class Scaling:
    """``x = T z``; gradients map as ``grad_z = T^T grad_x``.

    Parameters
    ----------
    d : numpy.ndarray
        ``(n,)`` column scales.
    R : numpy.ndarray
        ``(n, n)`` upper-triangular factor, or ``(0, 0)`` for none.
    """

    def __init__(self, d: np.ndarray, R: np.ndarray):
        self.d, self.R = np.asarray(d, dtype=np.float64), np.asarray(R, dtype=np.float64)

    def to_x(self, z: np.ndarray) -> np.ndarray:
        return self.d * (solve_triangular(self.R, z) if self.R.size else z)

    def to_z(self, x: np.ndarray) -> np.ndarray:
        return self.R @ (x / self.d) if self.R.size else x / self.d

    def gradient(self, gx: np.ndarray) -> np.ndarray:
        """``T^T gx``."""
        g = self.d * gx
        return solve_triangular(self.R, g, trans="T") if self.R.size else g


def scaling(op: Any, kind: str) -> Scaling:
    """The metric ``kind`` ("none", "diag" or "sample") for A: one pass unless "none"."""
    n = op.shape[1]
    if kind == "none":
        return Scaling(np.ones(n), np.zeros((0, 0)))
    stride = max(1, op.shape[0] // (SAMPLE_ROWS * n)) if kind == "sample" else 0
    colsq, gram, rows = _moments(op, stride)
    check_finite_norm(float(colsq.sum()), "A")
    d = np.ones(n)
    d[colsq > 0] = 1 / np.sqrt(colsq[colsq > 0])  # an all-zero column keeps d = 1
    R = np.zeros((0, 0))
    if gram is not None:
        gram = (op.shape[0] / rows) * (d[:, None] * gram * d[None, :])
        try:  # a column the sample misses, or a rank-deficient A: Jacobi alone
            if np.all(np.diag(gram) > 0):
                R = cholesky(gram, lower=False)
        except LinAlgError:
            pass
    return Scaling(d, R)


def _moments(op: Any, stride: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """``(||A[:, j]||^2, Gram of every stride-th row or None, sampled rows)``, one pass."""
    n = op.shape[1]
    if isinstance(op, LocalOperator):  # only products: A e_j, and A^T e_i per sampled row
        colsq = np.empty(n)
        for j in range(0, n, 256):
            cols = np.asarray(op.op.matmat(np.eye(n, min(256, n - j), -j)), dtype=np.float64)
            colsq[j : j + cols.shape[1]] = np.einsum("ij,ij->j", cols, cols)
        if not stride:
            return colsq, None, 0
        picked = range(0, op.shape[0], stride)
        S = np.array([op.rmatvec(np.eye(1, op.shape[0], i)[0]) for i in picked])
        return colsq, S.T @ S, len(picked)
    total = op.reduce_blocks(partial(_block_moments, stride=stride))
    gram = total.atu[n:].reshape(n, n) if stride else None
    return total.atu[:n], gram, int(total.normsq)


def _block_moments(x: Any, stride: int) -> MatvecParts:
    """A block's column sums of squares and (``stride > 0``) its sampled rows' Gram.

    The Gram goes after the sums in ``atu``; ``normsq`` counts the sampled rows.
    """
    if sp.issparse(x):
        x = sp.csr_array(x)
        sq = np.zeros(x.shape[1])
        np.add.at(sq, x.indices, np.square(x.data, dtype=np.float64))
        if not stride:
            return MatvecParts(sq, 0.0)
        s = x[::stride].astype(np.float64)
        return MatvecParts(np.concatenate([sq, (s.T @ s).toarray().ravel()]), s.shape[0])
    sq = np.einsum("ij,ij->j", x, x, dtype=np.float64)
    if not stride:
        return MatvecParts(sq, 0.0)
    s = np.asarray(x[::stride], dtype=np.float64)
    return MatvecParts(np.concatenate([sq, (s.T @ s).ravel()]), s.shape[0])


def power_sigma2(op: Any, T: Scaling) -> float:
    """A lower-bound estimate of ``sigma_max(A T)^2`` by power iterations on ``T^T A^T A T``."""
    v = np.random.default_rng(0).standard_normal(op.shape[1])
    v /= np.linalg.norm(v)
    rq = 0.0
    for k in range(POWER_STEPS):
        w, avsq = op.normal(T.to_x(v))  # ||A T v||^2 = v^T (T^T A^T A T) v, with ||v|| = 1
        check_finite_norm(avsq, "A")
        w = T.gradient(w)
        rq, old = avsq, rq
        wnorm = float(np.linalg.norm(w))
        if wnorm == 0:
            break
        v = w / wnorm
        if k + 1 >= POWER_MIN and rq - old <= POWER_RTOL * rq:
            break
    return rq if rq > 0 else 1.0  # A = 0: any step
