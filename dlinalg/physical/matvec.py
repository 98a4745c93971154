"""The one block kernel of the iterative solvers: ``u = A v + c w`` and ``A^T u`` in one read.

A Golub-Kahan step (LSQR, LSMR) needs ``u = A v - alpha u_old`` and then
``A^T u``; a gradient step needs ``A^T (A x - b)``; CGLS and the ARPACK
operators need ``A^T A p``. All are :func:`fused_block`: each row of the
block is multiplied by ``v`` and, while the row is still in the L1 cache,
added into ``A^T u`` with weight ``u_i``. The matrix is streamed from memory
once per iteration instead of twice, which is what a solver on a memory-bound
mat-vec gains.

The dense sweep is compiled with numba. Two BLAS ``gemv`` calls per
cache-sized tile (the numpy way to get one read) were 4-6x slower here: one
80 MB block took 58 ms with two worker processes running, the compiled sweep
9.4 ms, a plain ``x.sum()`` 6 ms. Work is in float64 whatever the block's
dtype, and sums are added in a fixed order, so a block recomputed after a
lost worker gives the same bits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from dlinalg.physical.kernels import aligned
from dlinalg.physical.reduce import fold_tree

__all__ = [
    "MatvecParts",
    "fused_block",
    "fused_combine",
    "tree_sum",
    "fused_group",
    "matvec_group",
    "rmatvec_group",
    "parts_group",
    "combine_groups",
    "row_dot",
]


class MatvecParts(NamedTuple):
    """Partial results of one fused pass over some row blocks.

    ``atu`` is ``A^T u`` summed over those rows (None when not asked) and
    ``normsq`` is ``||u||^2`` over them.
    """

    atu: np.ndarray | None
    normsq: float


def fused_block(
    x: Any, v: np.ndarray | None, w: Any, c: float, keep: bool, transpose: bool = True
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
    atu = np.zeros(n)
    if sp.issparse(x):
        _sparse_block(x, v, w, c, u, atu if transpose else None)
        normsq = float(u @ u)
    else:
        x = aligned(x)
        if x.dtype not in (np.float64, np.float32) or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float64)
        normsq = _dense_rows(
            x,
            np.zeros(n) if v is None else np.asarray(v, dtype=np.float64),
            _EMPTY if w is None else np.asarray(w, dtype=np.float64),
            float(c),
            v is not None,
            w is not None,
            transpose,
            u,
            atu,
        )
    return (u if keep else None), MatvecParts(atu if transpose else None, normsq)


_EMPTY = np.zeros(0)


def _sparse_block(x: Any, v: Any, w: Any, c: float, u: np.ndarray, atu: Any) -> None:
    """CSR blocks: scipy's products (they stream the block row by row anyway)."""
    if v is None:
        u.fill(0.0)
    else:
        u[:] = x @ v
    if w is not None:
        u += c * w
    if atu is not None:
        atu += x.T @ u


@numba.njit(cache=True, nogil=True, inline="always")
def row_dot(x, i, v):  # pragma: no cover - compiled
    """``x[i] . v`` with eight partial sums added in a fixed order, in float64.

    The compiler vectorises the eight sums; the order is written here, so the
    rounding does not depend on compiler flags. Shared by every compiled sweep
    over dense rows (this module's and :mod:`dlinalg.physical.glm`'s).
    """
    n = x.shape[1]
    n8 = n - n % 8
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for j in range(0, n8, 8):
        a0 += x[i, j] * v[j]
        a1 += x[i, j + 1] * v[j + 1]
        a2 += x[i, j + 2] * v[j + 2]
        a3 += x[i, j + 3] * v[j + 3]
        a4 += x[i, j + 4] * v[j + 4]
        a5 += x[i, j + 5] * v[j + 5]
        a6 += x[i, j + 6] * v[j + 6]
        a7 += x[i, j + 7] * v[j + 7]
    s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    for j in range(n8, n):
        s += x[i, j] * v[j]
    return s


@numba.njit(cache=True, nogil=True)
def _dense_rows(x, v, w, c, has_v, has_w, transpose, u, atu):  # pragma: no cover - compiled
    """One sweep over the rows: ``u_i = x_i . v + c w_i``, then ``atu += u_i x_i`` (row in L1).

    The dot product is :func:`row_dot`; everything accumulates in float64
    whatever the block's dtype.
    """
    m, n = x.shape
    normsq = 0.0
    for i in range(m):
        s = row_dot(x, i, v) if has_v else 0.0
        if has_w:
            s += c * w[i]
        u[i] = s
        normsq += s * s
        if transpose:
            for j in range(n):
                atu[j] += s * x[i, j]
    return normsq


def fused_combine(*parts: MatvecParts) -> MatvecParts:
    """Sum partial results left to right (a fixed order keeps the bits stable)."""
    atu = None
    if parts[0].atu is not None:
        atu = parts[0].atu.copy()
        for p in parts[1:]:
            atu += p.atu
    return MatvecParts(atu, float(sum(p.normsq for p in parts)))


def tree_sum(parts: list, split_every: int) -> MatvecParts:
    """Sum per-block parts in the fixed tree of :func:`dlinalg.physical.reduce.tree_reduce`."""
    return fold_tree(parts, fused_combine, split_every)


# --- several blocks per task: one task per worker and product ---------------------------
def _w_of(w_group: Any, k: int) -> Any:
    if w_group is None:
        return None
    if isinstance(w_group, tuple):  # a previous fused_group result: (pieces, parts)
        w_group = w_group[0]
    return w_group[k]


def fused_group(
    blocks: list, v: np.ndarray | None, w_group: Any, c: float, keep: bool, transpose: bool = True
) -> tuple[list | None, list[MatvecParts]]:
    """:func:`fused_block` over several blocks: ``(their u pieces if keep, their parts)``."""
    us, parts = [], []
    for k, x in enumerate(blocks):
        u, p = fused_block(x, v, _w_of(w_group, k), c, keep, transpose)
        us.append(u)
        parts.append(p)
    return (us if keep else None), parts


def matvec_group(blocks: list, v: np.ndarray) -> list[np.ndarray]:
    """``x v`` for each block (float64)."""
    return [fused_block(x, v, None, 0.0, keep=True, transpose=False)[0] for x in blocks]


def rmatvec_group(blocks: list, ys: list) -> tuple[None, list[MatvecParts]]:
    """``x^T y`` parts for each block and its piece of y."""
    parts = [fused_block(x, None, np.asarray(y, dtype=np.float64), 1.0, keep=False)[1]
             for x, y in zip(blocks, ys, strict=True)]  # fmt: skip
    return None, parts


def parts_group(blocks: list, fn: Any) -> tuple[None, list[MatvecParts]]:
    """``fn(x)`` (a :class:`MatvecParts`) for each block."""
    return None, [fn(x) for x in blocks]


def combine_groups(groups: list[list[int]], split_every: int, *results: Any) -> MatvecParts:
    """Put the groups' per-block parts back in block order and sum them in the fixed tree.

    The result does not depend on how blocks were grouped into tasks.
    """
    parts: list = [None] * sum(len(g) for g in groups)
    for idx, res in zip(groups, results, strict=True):
        got = res[1] if isinstance(res, tuple) else res
        for i, p in zip(idx, got, strict=True):
            parts[i] = p
    return tree_sum(parts, split_every)
