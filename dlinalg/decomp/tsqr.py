"""Direct TSQR (Benson, Gleich and Demmel): Householder QR of each row block, then of the R's.

Unconditionally stable, and pivot-free: on a rank-deficient matrix Q is still
orthonormal and R has (near) zero diagonal entries. One pass gives R; the
lazy Q factors each block again (``Q_i = Q_{1,i} Q_{2,i}``) when it is
materialised, rather than holding every block's Q in memory meanwhile.

References
----------
.. [1] A. R. Benson, D. F. Gleich and J. Demmel, "Direct QR factorizations
   for tall-and-skinny matrices in MapReduce architectures", IEEE
   International Conference on Big Data, 264-272 (2013).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.delayed import delayed

from dlinalg._tokens import array_token
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
    from dlinalg.cluster import compute_collections

    arr = A.to_dask()
    n = arr.shape[1]
    parts = [delayed(block_r, pure=True)(b) for b in R.blocks_of(arr)]
    q2, r = compute_collections(delayed(stacked_qr, pure=True)(*parts))[0]
    heights = tuple(min(rows, n) for rows in arr.chunks[0])
    q2_blocks = da.from_array(q2, chunks=(heights, n), name=f"tsqr-q2-{array_token(q2)}")
    # blockwise pairs block i of A with block i of Q2 (their heights differ: no alignment)
    q = da.blockwise(
        BlockQ(dtype), "ij", arr, "ij", q2_blocks, "ij", dtype=dtype, align_arrays=False,
        adjust_chunks={"i": arr.chunks[0]}, meta=np.empty((0, 0), dtype),
        name=f"tsqr-q-{da.core.tokenize(arr.name, q2)}",
    )  # fmt: skip
    return q, r
