"""Per-panel kernels: scores of co-occurrence counts, then the top k of every row.

A panel holds counts, ``w`` rows of the item x item (or item x other-item)
co-occurrence matrix by all its columns: a dense array or a ``csr_array``. The kernels turn
one panel into the rows of the indicator matrix that it covers, in one
compiled sweep: score each non-zero, drop what the filters reject, keep the
best ``k`` of each row in a bounded heap. Nothing here knows about Dask.

Ties are broken by the lower column index, whatever order the non-zeros come
in, so the result does not depend on how the counts were summed.

The bounded heap here (:func:`_push`, ordered by :func:`_better`) is the one
top-k of the recommenders: the LLR kernel feeds it non-zeros as it scores
them, :func:`top_k_rows` feeds it dense score rows (ALS), and
:func:`top_k_order` one row (item-similarity recommendations, ``similar_items``,
the command line's output order).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from ._llr import llr_from_entropies

__all__ = ["llr_topk_rows", "llr_topk_panel", "cosine_panel", "top_k_order"]


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
    is_dense, dense, indptr, indices, counts, row0, rcount, ccount, n, exclude_self, k, min_llr
):  # pragma: no cover - compiled
    """Scan a panel of counts once, row by row (row i: item ``row0 + i``), dense or CSR.

    Each row's non-zeros are scored and offered to one bounded heap of ``k``.
    """
    width, ncol = indptr.shape[0] - 1, ccount.shape[0]
    m = 0
    for i in range(width):
        m = max(m, rcount[row0 + i])
    for j in range(ncol):
        m = max(m, ccount[j])
    low, high = _xlogx_tables(n, m)
    xn = high[0]
    col_ent = np.empty(ncol)
    for j in range(ncol):
        s = ccount[j]
        col_ent[j] = xn - low[s] - high[s]  # entropy(k11 + k21, k12 + k22)
    hv = np.empty((width, k))
    hj = np.empty((width, k), dtype=np.int64)
    size = np.zeros(width, dtype=np.int64)
    row_nz = np.empty(ncol if is_dense else 0, dtype=np.int64)
    for i in range(width):
        r = rcount[row0 + i]
        row_ent = xn - low[r] - high[r]  # Mahout's entropy(k11 + k12, k21 + k22)
        self_j = row0 + i if exclude_self else -1
        hvi, hji, sz = hv[i], hj[i], 0
        if is_dense:  # the row's non-zeros first, branch-free: a dense panel is half zeros
            row, nz = dense[i], 0
            for j in range(ncol):
                row_nz[nz] = j
                nz += row[j] > 0
            lo, hi = 0, nz
        else:
            lo, hi = indptr[i], indptr[i + 1]
        for p in range(lo, hi):
            if is_dense:
                j = row_nz[p]
                c = row[j]
            else:
                j, c = indices[p], counts[p]
            if c <= 0 or j == self_j:
                continue
            s = ccount[j]
            # entropy(k11, k12, k21, k22): xLogX(N) - xLogX(k11) - xLogX(k12) - ...
            mat = xn - low[c] - low[r - c] - low[s - c] - high[r + s - c]
            v = llr_from_entropies(row_ent, col_ent[j], mat)
            if v <= 0.0 or v < min_llr or (sz == k and not _better(v, j, hvi[0], hji[0])):
                continue
            sz = _push(hvi, hji, sz, k, v, j)
        size[i] = sz
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


def llr_topk_rows(
    counts: np.ndarray | sp.csr_array,
    row0: int,
    rcount: np.ndarray,
    ccount: np.ndarray,
    n: int,
    exclude_self: bool,
    k: int,
    min_llr: float,
) -> sp.csr_array:
    """LLR-scored top ``k`` of each row of one panel of co-occurrence counts.

    Parameters
    ----------
    counts : ndarray or scipy.sparse.csr_array of shape (w, n_cols)
        Rows ``row0 .. row0 + w`` of ``A'B`` (users in common), dense or
        CSR (:func:`~dlinalg.models.recommenders._panel_counts.add_counts`).
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
    width, ncol = counts.shape
    # the compiled kernel does not check bounds: a short vector would be read past its end
    if len(rcount) < row0 + width:
        raise ValueError(
            f"rcount has {len(rcount)} entries; rows {row0}..{row0 + width - 1} need "
            f"{row0 + width}"
        )
    if len(ccount) != ncol:
        raise ValueError(f"ccount has {len(ccount)} entries; the panel has {ncol} columns")
    if sp.issparse(counts):
        counts = sp.csr_array(counts)
        dense = np.zeros((0, 0), dtype=np.int64)
        indptr, indices, data = counts.indptr, counts.indices, counts.data
    else:
        dense = np.ascontiguousarray(counts)
        indptr = np.zeros(width + 1, dtype=np.int64)
        indices, data = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=dense.dtype)
    ptr, idx, val = _llr_topk(
        not sp.issparse(counts),
        dense,
        indptr.astype(np.int64, copy=False),
        indices.astype(np.int64, copy=False),
        data.astype(np.int64, copy=False),
        int(row0),
        np.asarray(rcount, dtype=np.int64),
        np.asarray(ccount, dtype=np.int64),
        int(n),
        bool(exclude_self),
        max(1, min(int(k), ncol)),
        float(min_llr),
    )
    return sp.csr_array((val, idx, ptr), shape=(width, ncol))


def llr_topk_panel(counts: sp.csr_array, row0: int, *scoring: Any) -> sp.csr_array:
    """:func:`llr_topk_rows` (same ``scoring`` arguments) of a panel given transposed.

    ``counts`` is ``(n_cols, w)``: the layout the ``ABt`` plan returns for
    ``A @ A[s:e, :].T`` (row similarity).
    """
    return llr_topk_rows(sp.csr_array(sp.csr_array(counts).T), row0, *scoring)


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


@numba.njit(cache=True, nogil=True)
def _sort_heap(hv, hj, size):  # pragma: no cover - compiled
    """Heapsort in place: the best entry first (higher score, then lower index)."""
    for end in range(size - 1, 0, -1):
        hv[0], hv[end] = hv[end], hv[0]  # the worst left goes to the back
        hj[0], hj[end] = hj[end], hj[0]
        _sift_down(hv, hj, end, 0)


@numba.njit(cache=True, nogil=True)
def _top_k_rows(scores, indptr, indices, ids, vals):  # pragma: no cover - compiled
    m, ncol = scores.shape
    k = ids.shape[1]
    hv = np.empty(k, dtype=scores.dtype)
    hj = np.empty(k, dtype=np.int64)
    skip = np.zeros(ncol, dtype=np.bool_)
    for u in range(m):
        for p in range(indptr[u], indptr[u + 1]):
            skip[indices[p]] = True
        row = scores[u]
        size = 0
        for j in range(ncol):
            v = row[j]
            if size == k:
                # columns come in increasing order, so a tie with the worst kept
                # loses (it has the higher index): only a strictly higher score
                # enters; NaN never does (every comparison with NaN is False)
                if not v > hv[0] or skip[j]:
                    continue
                hv[0] = v
                hj[0] = j
                _sift_down(hv, hj, size, 0)
            elif not (skip[j] or np.isnan(v)):
                size = _push(hv, hj, size, k, v, j)
        _sort_heap(hv, hj, size)
        for t in range(size):
            ids[u, t] = hj[t]
            vals[u, t] = hv[t]
        for p in range(indptr[u], indptr[u + 1]):
            skip[indices[p]] = False


def top_k_rows(
    scores: np.ndarray,
    k: int,
    skip_indptr: np.ndarray | None = None,
    skip_indices: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row of ``scores``: higher score first, ties to the lower column.

    The one top-k of the recommenders (LLR indicators, ALS and item-similarity
    recommendations all rank with it): each row's entries are offered to a
    bounded heap of ``k`` (``O(n log k)``, one pass, no copy of the row),
    which is then sorted. NaN scores and the columns of row ``u`` listed in
    ``skip_indices[skip_indptr[u]:skip_indptr[u + 1]]`` (a CSR pattern, e.g.
    the items a user has seen) are never chosen.

    Parameters
    ----------
    scores : ndarray of shape (m, n)
        float32 or float64 scores.
    k : int
        How many to keep per row (>= 1).
    skip_indptr, skip_indices : ndarray, optional
        Columns to leave out, per row; None leaves none out.

    Returns
    -------
    ids : ndarray of int64 of shape (m, k)
        Best columns first; rows with fewer than ``k`` eligible columns are
        padded with ``-1``.
    vals : ndarray of shape (m, k)
        Their scores, padded with ``-inf``; the dtype of ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._topk import top_k_rows
    >>> s = np.array([[0.5, 0.9, 0.9, 0.1]])
    >>> ids, vals = top_k_rows(s, 3, np.array([0, 1]), np.array([3]))
    >>> ids.tolist(), vals.tolist()
    ([[1, 2, 0]], [[0.9, 0.9, 0.5]])
    """
    scores = np.ascontiguousarray(scores)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    m = scores.shape[0]
    if skip_indptr is None:
        skip_indptr, skip_indices = np.zeros(m + 1, np.int64), np.zeros(0, np.int64)
    ids = np.full((m, k), -1, dtype=np.int64)
    vals = np.full((m, k), -np.inf, dtype=scores.dtype)
    _top_k_rows(
        scores,
        np.ascontiguousarray(skip_indptr, dtype=np.int64),
        np.ascontiguousarray(skip_indices, dtype=np.int64),
        ids,
        vals,
    )
    return ids, vals


def top_k_order(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest of 1-D ``scores``, descending, ties by lower index.

    :func:`top_k_rows` on one row; NaN is never chosen.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._topk import top_k_order
    >>> top_k_order(np.array([1.0, 3.0, 2.0, 3.0]), 3)
    array([1, 3, 2])
    """
    k = min(int(k), scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    ids, _ = top_k_rows(np.asarray(scores).reshape(1, -1), k)
    row = ids[0]
    return row[row >= 0]
