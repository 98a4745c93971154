"""Direct TSQR (Benson, Gleich and Demmel): Householder QR of each row block, then of the R's.

Unconditionally stable, and pivot-free: on a rank-deficient matrix Q is still
orthonormal and R has (near) zero diagonal entries. One pass gives R: the
block R's are stacked ``split_every`` at a time (``dlinalg.split-every``) and
factored again, level after level, so no task holds more than
``split_every`` R's whatever the number of blocks (the recursion of dask's
``tsqr``). The lazy Q factors each block again (``Q_i = Q_{1,i} Q_{2,i}``)
when it is materialised, rather than holding every block's Q in memory
meanwhile; ``Q_{2,i}`` is the product of block i's slices of the tree's Q's.

Why its own graph rather than a plan node: Q needs the tree's intermediate
factors again after R is known, so the R pass keeps them as named Dask values
that Q's tasks read; a plan node stands for one value. ``dlinalg.explain``
names this graph as built outside the plan.

References
----------
.. [1] A. R. Benson, D. F. Gleich and J. Demmel, "Direct QR factorizations
   for tall-and-skinny matrices in MapReduce architectures", IEEE
   International Conference on Big Data, 264-272 (2013).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.delayed import delayed

from dlinalg._tokens import array_token
from dlinalg.cluster import compute_collections
from dlinalg.physical import reduce as R
from dlinalg.physical.kernels import aligned

__all__ = ["tsqr"]


def _dense64(x: Any) -> np.ndarray:
    x = x.toarray() if sp.issparse(x) else aligned(x)
    return np.ascontiguousarray(x, dtype=np.float64)


def block_r(x: Any) -> np.ndarray:
    """R of one row block's Householder QR (``min(rows, ncol)`` x ncol)."""
    return np.linalg.qr(_dense64(x), mode="r")


def stacked_qr(*rs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QR of the stacked block R's, signs fixed so R has a non-negative diagonal."""
    q2, r = np.linalg.qr(np.vstack(rs))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1
    return q2 * signs, r * signs[:, None]


class BlockQ:
    """``Q_i = Q_{1,i} Q_{2,i}``: a block's own Q times its slice of the stacked Q."""

    def __init__(self, dtype: Any):
        self.dtype = np.dtype(dtype)

    def __call__(self, x: Any, q2: np.ndarray) -> np.ndarray:
        q1 = np.linalg.qr(_dense64(x), mode="reduced")[0]
        return (q1 @ q2).astype(self.dtype, copy=False)

    def __dask_tokenize__(self):
        return ("tsqr-BlockQ", str(self.dtype))


def tsqr(A: Any, dtype: np.dtype) -> tuple[da.Array, np.ndarray]:
    """``(Q as a lazy Dask array of row blocks, R)``: R is computed here, in one pass."""

    arr = A.to_dask()
    n = arr.shape[1]
    heights = tuple(min(rows, n) for rows in arr.chunks[0])
    split_every = dask.config.get("dlinalg.split-every", R.DEFAULT_SPLIT_EVERY)
    levels = _r_tree([delayed(block_r, pure=True)(b) for b in R.blocks_of(arr)], split_every)
    levels = compute_collections(levels)[0]
    r = levels[-1][0][1]
    q2 = np.vstack(_leaf_q(levels, heights, split_every))
    q2_blocks = da.from_array(q2, chunks=(heights, n), name=f"tsqr-q2-{array_token(q2)}")
    # blockwise pairs block i of A with block i of Q2 (their heights differ: no alignment)
    q = da.blockwise(
        BlockQ(dtype), "ij", arr, "ij", q2_blocks, "ij", dtype=dtype, align_arrays=False,
        adjust_chunks={"i": arr.chunks[0]}, meta=np.empty((0, 0), dtype),
        name=f"tsqr-q-{da.core.tokenize(arr.name, q2)}",
    )  # fmt: skip
    return q, r


def _r_tree(rs: list[Any], split_every: int) -> list[list[Any]]:
    """The levels of the R tree: each node the ``(Q, R)`` of ``split_every`` stacked R's.

    The shape depends only on the number of blocks and ``split_every``; the
    last level has one node, whose R (non-negative diagonal) is A's.
    """
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    levels: list[list[Any]] = []
    while not levels or len(levels[-1]) > 1:
        nodes = [
            delayed(stacked_qr, pure=True)(*rs[i : i + split_every])
            for i in range(0, len(rs), split_every)
        ]
        levels.append(nodes)
        rs = [node[1] for node in nodes]
    return levels


def _leaf_q(
    levels: list[list[Any]], heights: tuple[int, ...], split_every: int
) -> list[np.ndarray]:
    """Each block's ``Q_{2,i}``: its slice of the root's Q, carried down the tree."""
    down = [levels[-1][0][0]]  # per node of the current level: its Q times its parent's slice
    for depth in range(len(levels) - 1, -1, -1):
        below = heights if depth == 0 else [node[1].shape[0] for node in levels[depth - 1]]
        slices = []
        for j, q in enumerate(down):
            offsets = np.cumsum((0, *below[j * split_every : (j + 1) * split_every]))
            slices += [q[a:b] for a, b in pairwise(offsets)]
        down = (
            slices
            if depth == 0
            else [node[0] @ s for node, s in zip(levels[depth - 1], slices, strict=True)]
        )
    return down
