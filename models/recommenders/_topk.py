"""Per-panel kernels: scores of co-occurrence counts, then the top k of every row.

A panel is a ``csr_array`` of counts, ``w`` rows of the item x item (or
item x other-item) co-occurrence matrix by all its columns. The kernels turn
one panel into the rows of the indicator matrix that it covers, in one
compiled sweep: score each non-zero, drop what the filters reject, keep the
best ``k`` of each row in a bounded heap. Nothing here knows about Dask.

Ties are broken by the lower column index, whatever order the non-zeros come
in, so the result does not depend on how the counts were summed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp

from ._llr import llr_from_entropies

__all__ = ["llr_topk_panel", "cosine_panel", "top_k_order"]


@numba.njit(cache=True, nogil=True)
def _xlogx_tables(n, m):  # pragma: no cover - compiled
    """``x log x`` for ``x = 0..m`` and for ``x = n - t``, ``t = 0..min(2m, n)``.

    The same operations as :func:`dlinalg.models.recommenders._llr.xlogx`, so looking a value up
    gives the same bits as computing it.
    """
    low = np.empty(m + 1)
    for x in range(m + 1):
        low[x] = 0.0 if x == 0 else float(x) * math.log(float(x))
    span = min(2 * m, n)
    high = np.empty(span + 1)
    for t in range(span + 1):
        x = n - t
        high[t] = 0.0 if x == 0 else float(x) * math.log(float(x))
    return low, high


@numba.njit(cache=True, nogil=True, inline="always")
def _better(v1, j1, v2, j2):  # pragma: no cover - compiled
    """Whether (score v1, column j1) ranks above (v2, j2): higher score, then lower column."""
    return v1 > v2 or (v1 == v2 and j1 < j2)


@numba.njit(cache=True, nogil=True)
def _sift_down(hv, hj, size, pos):  # pragma: no cover - compiled
    """Restore the heap (worst entry at the root) below ``pos``."""
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        worst = left
        right = left + 1
        if right < size and _better(hv[left], hj[left], hv[right], hj[right]):
            worst = right
        if _better(hv[worst], hj[worst], hv[pos], hj[pos]):
            return
        hv[pos], hv[worst] = hv[worst], hv[pos]
        hj[pos], hj[worst] = hj[worst], hj[pos]
        pos = worst


@numba.njit(cache=True, nogil=True)
def _push(hv, hj, size, k, v, j):  # pragma: no cover - compiled
    """Offer (v, j) to a heap of at most ``k`` best entries; return the new size."""
    if size < k:
        pos = size
        hv[pos] = v
        hj[pos] = j
        while pos > 0:  # sift up: a worse entry moves towards the root
            parent = (pos - 1) // 2
            if _better(hv[parent], hj[parent], hv[pos], hj[pos]):
                hv[pos], hv[parent] = hv[parent], hv[pos]
                hj[pos], hj[parent] = hj[parent], hj[pos]
                pos = parent
            else:
                break
        return size + 1
    if _better(v, j, hv[0], hj[0]):
        hv[0] = v
        hj[0] = j
        _sift_down(hv, hj, size, 0)
    return size


@numba.njit(cache=True, nogil=True)
def _llr_topk(
    indptr, indices, counts, row0, width, rcount, ccount, n, exclude_self, k, min_llr
):  # pragma: no cover - compiled
    """Scan a transposed panel (row j: other item, column i: item ``row0 + i``) once.

    Every non-zero is offered to the heap of its column; the heaps of all
    ``width`` items live side by side (``width x k``).
    """
    nother = indptr.shape[0] - 1
    m = 0
    for i in range(width):
        m = max(m, rcount[row0 + i])
    for j in range(nother):
        m = max(m, ccount[j])
    low, high = _xlogx_tables(n, m)
    xn = high[0]
    row_ent = np.empty(width)
    for i in range(width):
        r = rcount[row0 + i]
        row_ent[i] = xn - low[r] - high[r]  # Mahout's entropy(k11 + k12, k21 + k22)
    hv = np.empty((width, k))
    hj = np.empty((width, k), dtype=np.int64)
    size = np.zeros(width, dtype=np.int64)
    for j in range(nother):
        s = ccount[j]
        col_ent = xn - low[s] - high[s]  # entropy(k11 + k21, k12 + k22)
        for p in range(indptr[j], indptr[j + 1]):
            c = counts[p]
            i = indices[p]
            if c <= 0 or (exclude_self and j == row0 + i):
                continue
            r = rcount[row0 + i]
            # entropy(k11, k12, k21, k22): xLogX(N) - xLogX(k11) - xLogX(k12) - ...
            mat = xn - low[c] - low[r - c] - low[s - c] - high[r + s - c]
            v = llr_from_entropies(row_ent[i], col_ent, mat)
            sz = size[i]
            if v <= 0.0 or v < min_llr or (sz == k and not _better(v, j, hv[i, 0], hj[i, 0])):
                continue
            size[i] = _push(hv[i], hj[i], sz, k, v, j)
    out_ptr = np.zeros(width + 1, dtype=np.int64)
    out_ptr[1:] = np.cumsum(size)
    out_idx = np.empty(out_ptr[width], dtype=np.int64)
    out_val = np.empty(out_ptr[width])
    for i in range(width):
        order = np.argsort(hj[i, : size[i]])
        for t in range(size[i]):
            out_idx[out_ptr[i] + t] = hj[i, order[t]]
            out_val[out_ptr[i] + t] = hv[i, order[t]]
    return out_ptr, out_idx, out_val


def llr_topk_panel(
    counts: sp.csr_array,
    row0: int,
    rcount: np.ndarray,
    ccount: np.ndarray,
    n: int,
    exclude_self: bool,
    k: int,
    min_llr: float,
) -> sp.csr_array:
    """LLR-scored top ``k`` of each item of one panel of co-occurrence counts.

    Parameters
    ----------
    counts : scipy.sparse.csr_array of shape (n_cols, w)
        Columns ``row0 .. row0 + w`` of ``B'A`` (users in common), i.e. the
        transpose of rows ``row0 .. row0 + w`` of ``A'B``: the layout the
        ``AtB`` plan returns for ``B.T @ A[:, s:e]``.
    row0 : int
        Index of the panel's first row among all rows.
    rcount, ccount : ndarray of int
        Users per row item (all rows, indexed from 0) and per column item.
    n : int
        Number of users (N of the contingency table).
    exclude_self : bool
        Skip column ``row0 + i`` in row ``i`` (``A'A``: an item is not its own indicator).
    k : int
        Entries kept per row.
    min_llr : float
        Scores below it are dropped before the top k (``-inf``: none).

    Returns
    -------
    scipy.sparse.csr_array of shape (w, n_cols)
        Rows ``row0 .. row0 + w`` of the indicator matrix: float64 LLR
        scores, at most ``k`` per row, sorted column indices.
        Scores of 0 (independent items) are never stored, as in Mahout's
        sparse output.
    """
    counts = sp.csr_array(counts)
    ncol, width = counts.shape
    ptr, idx, val = _llr_topk(
        counts.indptr.astype(np.int64, copy=False),
        counts.indices.astype(np.int64, copy=False),
        counts.data.astype(np.int64, copy=False),
        int(row0),
        width,
        np.asarray(rcount, dtype=np.int64),
        np.asarray(ccount, dtype=np.int64),
        int(n),
        bool(exclude_self),
        max(1, min(int(k), ncol)),
        float(min_llr),
    )
    return sp.csr_array((val, idx, ptr), shape=(width, ncol))


def cosine_panel(
    dots: sp.csr_array, row0: int, norms: np.ndarray, threshold: float
) -> sp.csr_array:
    """Cosines of one panel of column dot products, upper triangle only (column > row).

    ``dots`` (n x w) holds columns ``row0 .. row0 + w`` of ``A'A``; ``norms``
    the column norms of A. Returns rows ``row0 .. row0 + w`` of the
    similarity matrix (w x n). Entries with a zero norm, a zero dot product,
    or a cosine below ``threshold`` are dropped.
    """
    coo = sp.coo_array(dots)
    rows = coo.coords[1].astype(np.int64) + int(row0)
    cols = coo.coords[0].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = coo.data.astype(np.float64) / (norms[rows] * norms[cols])
    keep = (cols > rows) & (coo.data != 0) & np.isfinite(vals) & (vals >= threshold)
    out = sp.csr_array(
        (vals[keep], (rows[keep] - int(row0), cols[keep])),
        shape=dots.shape[::-1],
        dtype=np.float64,
    )
    out.sort_indices()
    return out


def top_k_order(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, descending, ties by lower index."""
    k = min(k, scores.shape[0])
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    return order[:k]
