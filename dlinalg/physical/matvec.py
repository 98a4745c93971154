"""The one block kernel of the iterative solvers: ``u = A v + c w`` and ``A^T u`` in one read.

A Golub-Kahan step (LSQR, LSMR) needs ``u = A v - alpha u_old`` and then
``A^T u``; a gradient step needs ``A^T (A x - b)``; CGLS and the ARPACK
operators need ``A^T A p``. All are :func:`fused_block`: each row tile of the
block is multiplied by ``v`` and, while the tile is still in the cache, by the
tile's share of ``u``. The matrix is streamed from memory once per iteration
instead of twice, which is what a solver on a memory-bound mat-vec gains.

Work is in float64 whatever the block's dtype (a float32 tile is converted in
a reused buffer), and partial sums are added in a fixed order, so a block
recomputed after a lost worker gives the same bits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from dlinalg.physical.kernels import aligned
from dlinalg.physical.rowwise import tile_rows

__all__ = ["MatvecParts", "fused_block", "fused_combine", "matvec_block", "rmatvec_block"]


class MatvecParts(NamedTuple):
    """Partial results of one fused pass over some row blocks.

    ``atu`` is ``A^T u`` summed over those rows (None when not asked) and
    ``normsq`` is ``||u||^2`` over them.
    """

    atu: np.ndarray | None
    normsq: float


def fused_block(
    x: Any,
    v: np.ndarray | None,
    w: np.ndarray | None,
    c: float,
    keep: bool,
    transpose: bool = True,
) -> tuple[np.ndarray | None, MatvecParts]:
    """``u = x v + c w`` for one row block, with ``x^T u`` and ``||u||^2`` from the same read.

    Parameters
    ----------
    x : numpy.ndarray or scipy.sparse array
        The ``(rows, n)`` row block.
    v : numpy.ndarray or None
        ``(n,)`` vector, or None for no product (``u = c w``).
    w : numpy.ndarray, tuple or None
        ``(rows,)`` block of the vector being combined (or the ``(u, parts)``
        result of a previous call, whose ``u`` is used), or None (``u = x v``).
    c : float
        The coefficient of ``w``.
    keep : bool
        Return ``u`` (else only the partial sums).
    transpose : bool, default True
        Also compute ``x^T u`` (False: only ``u`` and its norm).

    Returns
    -------
    u : numpy.ndarray or None
        ``(rows,)`` float64 when ``keep``.
    parts : MatvecParts
    """
    if isinstance(w, tuple):  # the previous step's (u, parts) task result
        w = w[0]
    rows, n = x.shape
    u = np.empty(rows)
    atu = np.zeros(n) if transpose else None
    if sp.issparse(x) or v is None:
        _whole_block(x, v, w, c, u, atu)
    else:
        _dense_tiles(aligned(x), v, w, c, u, atu)
    normsq = float(u @ u)
    return (u if keep else None), MatvecParts(atu, normsq)


def _whole_block(x: Any, v: Any, w: Any, c: float, u: np.ndarray, atu: Any) -> None:
    """Sparse blocks (CSR products stream the block anyway) and ``v = None``."""
    if v is None:
        u.fill(0.0)
    else:
        u[:] = x @ v
    if w is not None:
        u += c * w
    if atu is not None:
        atu += x.T @ u


def _dense_tiles(x: np.ndarray, v: np.ndarray, w: Any, c: float, u: np.ndarray, atu: Any) -> None:
    tile = tile_rows(x.shape[1])
    convert = x.dtype != np.float64
    buf = np.empty((min(tile, x.shape[0]), x.shape[1])) if convert else None
    for start in range(0, x.shape[0], tile):
        xt = x[start : start + tile]
        if convert:  # one float64 copy of the tile, reused for both products
            xt = buf[: xt.shape[0]]
            np.copyto(xt, x[start : start + tile])
        ut = u[start : start + xt.shape[0]]
        np.matmul(xt, v, out=ut)
        if w is not None:
            ut += c * w[start : start + xt.shape[0]]
        if atu is not None:
            atu += ut @ xt  # u^T x reads the tile row-major, still in cache


def fused_combine(*parts: MatvecParts) -> MatvecParts:
    """Sum partial results left to right (a fixed order keeps the bits stable)."""
    atu = None
    if parts[0].atu is not None:
        atu = parts[0].atu.copy()
        for p in parts[1:]:
            atu += p.atu
    return MatvecParts(atu, float(sum(p.normsq for p in parts)))


def matvec_block(x: Any, v: np.ndarray) -> np.ndarray:
    """``x v`` in float64 for one row block (no transpose product)."""
    return fused_block(x, v, None, 0.0, keep=True, transpose=False)[0]


def rmatvec_block(x: Any, y: np.ndarray) -> MatvecParts:
    """``x^T y`` for one row block and its piece ``y`` of the vector."""
    return fused_block(x, None, np.asarray(y, dtype=np.float64), 1.0, keep=False)[1]
