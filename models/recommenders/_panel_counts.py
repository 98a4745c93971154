"""Co-occurrence counts of one panel of items from one row block, compiled.

The counts ``C = A'B`` of binary user x item blocks, rows ``start:stop``
(items of A) by every column (items of B), summed over row blocks. One
block's part is built in one compiled sweep (Gustavson's row-by-row
product): the users of each panel item are bucketed first (the CSC of
``A[:, start:stop]``, found by binary search in each sorted CSR row), then
every user's B-row is added into the item's row of counts.

Near the top of a power-law matrix the counts are dense (44% of the
benchmark's ``A'A`` is non-zero), so a part is a dense ``(width, ncol)``
array when the number of increments reaches ``dense_fill`` of its size
(:data:`DENSE_FILL`, or the Dask config
``dlinalg.models.similarity.dense-fill``), and a CSR array (sorted
indices) otherwise; a dense accumulator costs
one add per increment where a sparse product pays for hashing and the
index arrays of every non-zero. Parts of either kind are summed by
:func:`add_counts`. Counts are integers, so the sum is exact in any
order and the result never depends on the chunking.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from dlinalg.physical.kernels import sum_parts

__all__ = ["DENSE_FILL", "count_block", "add_counts"]

#: A part is dense when its increments reach this fraction of ``width * ncol``:
#: zeroing and summing a dense count costs about what one sparse increment does.
DENSE_FILL = 1 / 16


@numba.njit(cache=True, nogil=True)
def _panel_users(a_ptr, a_idx, start, stop):  # pragma: no cover - compiled
    """Users of each item ``start .. stop - 1`` (CSC of the slice), ascending."""
    nrow = a_ptr.shape[0] - 1
    width = stop - start
    first = np.empty(nrow, dtype=np.int64)
    last = np.empty(nrow, dtype=np.int64)
    ptr = np.zeros(width + 1, dtype=np.int64)
    for u in range(nrow):
        p0, p1 = a_ptr[u], a_ptr[u + 1]
        lo = p0 + np.searchsorted(a_idx[p0:p1], start)
        hi = p0 + np.searchsorted(a_idx[p0:p1], stop)
        first[u], last[u] = lo, hi
        for p in range(lo, hi):
            ptr[a_idx[p] - start + 1] += 1
    for i in range(width):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    users = np.empty(ptr[width], dtype=np.int64)
    for u in range(nrow):
        for p in range(first[u], last[u]):
            i = a_idx[p] - start
            users[fill[i]] = u
            fill[i] += 1
    return ptr, users


@numba.njit(cache=True, nogil=True)
def _increments(ptr, users, b_ptr):  # pragma: no cover - compiled
    total = 0
    for q in range(ptr[-1]):
        u = users[q]
        total += b_ptr[u + 1] - b_ptr[u]
    return total


@numba.njit(cache=True, nogil=True)
def _count_dense(ptr, users, b_ptr, b_idx, out):  # pragma: no cover - compiled
    for i in range(ptr.shape[0] - 1):
        row = out[i]
        for q in range(ptr[i], ptr[i + 1]):
            u = users[q]
            for p in range(b_ptr[u], b_ptr[u + 1]):
                row[b_idx[p]] += 1


@numba.njit(cache=True, nogil=True)
def _count_sparse(ptr, users, b_ptr, b_idx, ncol, nnz_max, dtype_one):  # pragma: no cover
    """Gustavson's sparse accumulator, one output row at a time, indices sorted."""
    width = ptr.shape[0] - 1
    acc = np.zeros(ncol, dtype=dtype_one.dtype)
    out_ptr = np.zeros(width + 1, dtype=np.int64)
    out_idx = np.empty(nnz_max, dtype=np.int32)
    out_val = np.empty(nnz_max, dtype=dtype_one.dtype)
    n = 0
    for i in range(width):
        row_start = n
        for q in range(ptr[i], ptr[i + 1]):
            u = users[q]
            for p in range(b_ptr[u], b_ptr[u + 1]):
                j = b_idx[p]
                if acc[j] == 0:
                    out_idx[n] = j
                    n += 1
                acc[j] += 1
        out_idx[row_start:n].sort()
        for t in range(row_start, n):
            j = out_idx[t]
            out_val[t] = acc[j]
            acc[j] = 0
        out_ptr[i + 1] = n
    return out_ptr, out_idx[:n].copy(), out_val[:n].copy()


def count_block(
    a: sp.csr_array,
    b: sp.csr_array,
    *,
    start: int,
    stop: int,
    dtype: Any = np.int32,
    dense_fill: float = DENSE_FILL,
) -> np.ndarray | sp.csr_array:
    """Counts ``A[:, start:stop]' B`` of one row block: dense or CSR, ``(stop - start, ncol_b)``.

    ``a`` and ``b`` are the same users' binary, canonical CSR blocks
    (sorted indices, no explicit zeros: the output of
    :func:`~dlinalg.models.recommenders._cooccurrence.downsample`); only
    their patterns are read. ``dtype`` holds the largest count (the
    number of users). The part is dense when its increments reach
    ``dense_fill * (stop - start) * ncol_b``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from dlinalg.models.recommenders._panel_counts import count_block
    >>> a = sp.csr_array([[1, 1, 0], [0, 1, 1], [1, 1, 1]])
    >>> count_block(a, a, start=1, stop=3).tolist()
    [[2, 3, 2], [1, 2, 2]]
    """
    width, ncol = stop - start, b.shape[1]
    ptr, users = _panel_users(
        a.indptr.astype(np.int64, copy=False), a.indices, int(start), int(stop)
    )
    b_ptr = b.indptr.astype(np.int64, copy=False)
    work = _increments(ptr, users, b_ptr)
    if work >= dense_fill * width * ncol:
        out = np.zeros((width, ncol), dtype=dtype)
        _count_dense(ptr, users, b_ptr, b.indices, out)
        return out
    nnz_max = min(work, width * ncol)
    optr, oidx, oval = _count_sparse(
        ptr, users, b_ptr, b.indices, ncol, nnz_max, np.ones(1, dtype=dtype)
    )
    return sp.csr_array((oval, oidx, optr), shape=(width, ncol))


@numba.njit(cache=True, nogil=True)
def _add_csr_into(out, indptr, indices, data):  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        row = out[i]
        for p in range(indptr[i], indptr[i + 1]):
            row[indices[p]] += data[p]


def add_counts(*parts: np.ndarray | sp.csr_array) -> np.ndarray | sp.csr_array:
    """The sum of count parts from :func:`count_block`: dense if any part is.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from dlinalg.models.recommenders._panel_counts import add_counts
    >>> add_counts(np.array([[1, 0]]), sp.csr_array([[0, 2]])).tolist()
    [[1, 2]]
    """
    dense = [p for p in parts if not sp.issparse(p)]
    if not dense:
        total = sum_parts(*parts)
        total.sort_indices()
        return total
    out = dense[0].copy()
    for p in dense[1:]:
        out += p
    for p in parts:
        if sp.issparse(p):
            _add_csr_into(out, p.indptr, p.indices, p.data)
    return out
