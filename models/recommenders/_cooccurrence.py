"""Downsampling and co-occurrence panels as plan nodes (the engine of the LLR similarities).

:func:`downsample` binarizes a user x item matrix and caps every row (user)
and then every column (item) at a number of interactions, keeping those of
lowest *priority*: a 64-bit hash of ``(seed, row, column)``
(:func:`priority`). A row's priorities do not depend on which block holds
the row, so the sample is the same whatever the chunking and whichever
worker recomputes a block; unlike Mahout's ``sampleDownAndBinarize`` (a
Bernoulli sample at rate ``min(cap, n) / n``, in integer arithmetic that
drops every row above the cap), the caps are exact.

Row caps are local to a row block. Column caps need one global number per
heavy column, the priority of its ``cap``-th kept entry: every block sends
the ``cap`` best entries of each column up a merge tree, and the root turns
them into thresholds that every block then applies. The columns are cut into
panels of at most ``candidate-entries / cap`` columns, each with its own
merge tree (:func:`candidate_bounds`), so a merge holds at most
``split_every`` lists of ``candidate-entries`` entries, whatever the number
of users or items.

:func:`llr_panels` computes ``A'B`` one panel of rows at a time, each row
block's part in one compiled pass, dense where the counts are
(:mod:`dlinalg.models.recommenders._panel_counts`), the parts summed in the
fixed tree; it scores each panel with the LLR and keeps its top ``k`` per
row in the task that summed it (:mod:`dlinalg.models.recommenders._topk`),
so no task ever holds more than ``split-every`` + 1 panels of counts.

Everything here is stated in the plan, so one ``compute_plan`` runs a fit
and :func:`dlinalg.explain` shows it: the row and column caps are
:class:`~dlinalg.plan.blockmap.BlockMap` nodes (with each block's first row),
the column counts and the caps' merge trees (one per panel of columns)
:class:`~dlinalg.plan.blockreduce.BlockReduce` nodes, the thresholds and each
scored panel :class:`~dlinalg.plan.blockmap.Apply` nodes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import dask
import numba
import numpy as np
import scipy.sparse as sp

from dlinalg import DRM
from dlinalg.cluster import executor_for
from dlinalg.physical.kernels import sum_parts
from dlinalg.physical.reduce import DEFAULT_SPLIT_EVERY
from dlinalg.plan.blockmap import Apply, BlockMap
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.nodes import Node

from ._counts import check_counts
from ._panel_counts import DENSE_FILL, add_counts, count_block
from ._topk import cosine_panel, llr_topk_panel, llr_topk_rows

#: Appended to the error for fractional counts.
COUNTS_HINT = "; interactions are counts: round them, or threshold them to 0/1"

__all__ = [
    "PANEL_ENTRIES",
    "CANDIDATE_ENTRIES",
    "Sampled",
    "priority",
    "downsample",
    "task_bytes",
    "candidate_bounds",
    "panel_bounds",
    "count_panel",
    "count_panel_node",
    "llr_panels",
    "cosine_panels",
    "stack_panels",
]

#: Counts one panel of output may hold at most (rows x columns of the panel), unless
#: the Dask config ``dlinalg.models.similarity.panel-entries`` says otherwise: 2**23
#: int32 counts with their column indices are at most 64 MiB even when the panel is
#: dense. On a cluster the panel is also cut to :func:`task_bytes`: the task summing
#: ``dlinalg.split-every`` partial panels holds that many plus its result.
PANEL_ENTRIES = 2**23
#: Entries one merged list of column-cap candidates may hold at most (``cap``
#: entries per column of its panel), unless the Dask config
#: ``dlinalg.models.similarity.candidate-entries`` says otherwise; an entry is 24
#: bytes (column, priority, row), 96 at the peak of a merge. On a cluster also cut
#: to :func:`task_bytes`.
CANDIDATE_ENTRIES = 2**21
#: Bytes of one count in a panel (int32 value and int32 column index).
COUNT_BYTES = 8
#: Peak bytes of :func:`merge_candidates` per input entry: the inputs (column,
#: priority, row: 24), their concatenation (24), the sort order and its
#: temporaries (48).
MERGE_BYTES = 96
#: Hash salts: the row caps and the column caps draw independent priorities.
SALT_ROWS, SALT_COLS = 1, 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_NO_ROW = np.iinfo(np.int64).max


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array (wrapping arithmetic, no warnings)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def priority(seed: int, rows: np.ndarray, cols: np.ndarray, salt: int) -> np.ndarray:
    """A pseudo-random uint64 per ``(row, column)`` entry, from ``seed`` and ``salt`` only.

    Parameters
    ----------
    seed : int
        The estimator's seed (0 <= seed < 2**64).
    rows, cols : ndarray of int
        Global row and column indices of the entries.
    salt : int
        :data:`SALT_ROWS` or :data:`SALT_COLS`.

    Returns
    -------
    ndarray of uint64
        SplitMix64 hashes: equal inputs give equal values on any machine.
    """
    base = _mix(np.array([seed], dtype=np.uint64) * _GOLDEN + np.uint64(salt))
    h = _mix(base ^ (np.asarray(rows).astype(np.uint64) * _GOLDEN))
    return _mix(h ^ (np.asarray(cols).astype(np.uint64) + _GOLDEN))


# ---------------------------------------------------------------------------
# Block kernels
# ---------------------------------------------------------------------------
def _binary(x: Any, name: str) -> sp.csr_array:
    """A block as canonical int32 0/1 CSR, after checking its counts."""
    x = sp.csr_array(x) if not sp.issparse(x) else sp.csr_array(x, copy=True)
    check_counts(x.data, name, hint=COUNTS_HINT)
    x.sum_duplicates()
    x.data = (x.data != 0).astype(np.int32)
    x.eliminate_zeros()
    return x


def _rows_of(x: sp.csr_array) -> np.ndarray:
    return np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(x.indptr))


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal ``groups`` (sorted input)."""
    if groups.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lengths = np.diff(np.r_[starts, groups.size])
    return np.arange(groups.size) - np.repeat(starts, lengths)


def _kept(x: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    """The entries of canonical 0/1 CSR ``x`` where ``keep`` is True, still canonical."""
    indptr = np.r_[0, np.cumsum(keep)][x.indptr]
    return sp.csr_array((x.data[keep], x.indices[keep], indptr), shape=x.shape)


@numba.njit(cache=True, nogil=True)
def _stable_buckets(groups, n):  # pragma: no cover - compiled
    """Counting sort of ``groups`` (0 <= g < n): group pointers and the stable order."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for g in groups:
        ptr[g + 1] += 1
    for g in range(n):
        ptr[g + 1] += ptr[g]
    fill = ptr[:-1].copy()
    order = np.empty(groups.shape[0], dtype=np.int64)
    for t in range(groups.shape[0]):
        g = groups[t]
        order[fill[g]] = t
        fill[g] += 1
    return ptr, order


@numba.njit(cache=True, nogil=True)
def _lowest_per_group(ptr, keys, cap):  # pragma: no cover - compiled
    """Positions of the ``cap`` lowest keys of each group ``ptr[g]:ptr[g + 1]``.

    Ordered by (group, key, position): a stable sort, so equal keys keep
    the order they come in (the caller's tie-break).
    """
    sizes = np.minimum(ptr[1:] - ptr[:-1], cap)
    out = np.empty(sizes.sum(), dtype=np.int64)
    n = 0
    for g in range(ptr.shape[0] - 1):
        lo, hi = ptr[g], ptr[g + 1]
        order = np.argsort(keys[lo:hi], kind="mergesort")[: sizes[g]]
        out[n : n + order.shape[0]] = lo + order
        n += order.shape[0]
    return out


def cap_rows_block(x: Any, row0: int, cap: int | None, seed: int, name: str) -> sp.csr_array:
    """Binarize one row block and keep at most ``cap`` entries per row (lowest priority).

    Ties of priority (64-bit hashes, so all but never) go to the lower column.
    """
    x = _binary(x, name)
    if cap is None:
        return x
    per_row = np.diff(x.indptr)
    heavy = np.flatnonzero(per_row > cap)
    if not heavy.size:
        return x
    # the heavy rows' entries, row by row, columns ascending (canonical CSR)
    lengths = per_row[heavy]
    ptr = np.zeros(heavy.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    pos = np.repeat(x.indptr[heavy] - ptr[:-1], lengths) + np.arange(ptr[-1])
    hr = np.repeat(heavy, lengths)
    hc = x.indices[pos].astype(np.int64)
    kept = _lowest_per_group(ptr, priority(seed, hr + row0, hc, SALT_ROWS), cap)
    keep = np.ones(x.nnz, dtype=bool)
    keep[pos] = False
    keep[pos[kept]] = True
    return _kept(x, keep)


def col_counts_block(x: sp.csr_array) -> np.ndarray:
    """Entries per column of one block (int64)."""
    return np.bincount(x.indices, minlength=x.shape[1]).astype(np.int64)


def row_counts_block(x: sp.csr_array) -> np.ndarray:
    """Entries per row of one block (int64)."""
    return np.diff(x.indptr).astype(np.int64)


def _best_per_column(cols: np.ndarray, keys: np.ndarray, rows: np.ndarray, cap: int) -> tuple:
    """The ``cap`` lowest (key, row) of each column, sorted by (column, key, row).

    ``rows`` must be ascending (a block's entries in row order): the
    stable sort by column keeps them so, and ties of key go to the lower row.
    """
    first = int(cols.min()) if cols.size else 0
    ptr, order = _stable_buckets(cols - first, int(cols.max()) + 1 - first if cols.size else 0)
    keep = order[_lowest_per_group(ptr, keys[order], cap)]
    return cols[keep], keys[keep], rows[keep]


def candidates_block(
    x: sp.csr_array, row0: int, start: int, stop: int, cap: int, seed: int
) -> tuple:
    """This block's best ``cap`` entries of each column ``start <= j < stop``.

    Sorted by (column, priority, row); at most ``min(nnz, (stop - start) * cap)``
    entries. Columns with ``cap`` entries or fewer in all are sent too (they
    cannot exceed ``cap`` here either); :func:`thresholds` leaves them whole.
    """
    cols = x.indices.astype(np.int64)
    sel = (cols >= start) & (cols < stop)
    rows = _rows_of(x)[sel] + row0
    cols = cols[sel]
    return _best_per_column(cols, priority(seed, rows, cols, SALT_COLS), rows, cap)


def merge_candidates(cap: int, *parts: tuple) -> tuple:
    """Merge candidate lists, keeping the best ``cap`` per column.

    Plain numpy (no compiled code, so a worker that only downsamples never
    loads numba's ~55 MiB): about 96 bytes per input entry at the peak,
    inputs included (:data:`MERGE_BYTES`).
    """
    cols, keys, rows = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.lexsort((rows, keys, cols))
    keep = order[_rank_within(cols[order]) < cap]
    return cols[keep], keys[keep], rows[keep]


def thresholds(
    merged: tuple, start: int, stop: int, counts: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per column ``start <= j < stop``, the (key, row) of the last entry kept.

    Row -1 keeps every entry: the columns of ``cap`` entries or fewer.
    """
    cols, keys, rows = merged
    width = stop - start
    thr_key = np.zeros(width, dtype=np.uint64)
    thr_row = np.full(width, -1, dtype=np.int64)
    if cols.size:
        last = np.flatnonzero(np.r_[cols[1:] != cols[:-1], True])
        thr_key[cols[last] - start] = keys[last]
        thr_row[cols[last] - start] = rows[last]
    light = np.asarray(counts)[start:stop] <= cap
    thr_key[light] = 0
    thr_row[light] = -1
    return thr_key, thr_row


def join_thresholds(*parts: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The panels' thresholds, left to right, as one pair of arrays over all columns."""
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def cap_cols_block(x: sp.csr_array, row0: int, thr: tuple, seed: int) -> sp.csr_array:
    """Keep the entries of heavy columns at or below their column's threshold."""
    thr_key, thr_row = thr
    cols = x.indices.astype(np.int64)
    heavy = thr_row[cols] >= 0
    if not heavy.any():
        return x
    rows = _rows_of(x)
    hr, hc = rows[heavy] + row0, cols[heavy]
    keys = priority(seed, hr, hc, SALT_COLS)
    tk, tr = thr_key[hc], thr_row[hc]
    ok = (keys < tk) | ((keys == tk) & (hr <= tr))
    keep = ~heavy
    keep[np.flatnonzero(heavy)[ok]] = True
    return _kept(x, keep)


def _minimum(counts: np.ndarray, cap: int) -> np.ndarray:
    return np.minimum(counts, cap)


# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sampled:
    """A downsampled, binarized matrix and its per-row and per-column entry counts (plan nodes)."""

    matrix: DRM
    col_counts: Node
    row_counts: Node


def _concatenate(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


def downsample(
    A: DRM, *, cap_rows: int | None, cap_cols: int | None, seed: int, name: str
) -> Sampled:
    """Binarize ``A`` and cap its rows, then its columns, at ``cap_rows`` / ``cap_cols`` entries.

    Lazy, in the plan: the downsampled matrix (int32 CSR row blocks, the row
    chunks of ``A``; a :class:`~dlinalg.plan.blockmap.BlockMap`) and its
    entry counts (local nodes). ``name`` labels errors about the values
    (``"A"``, ``"others[0]"``), raised when a block is computed.
    """
    ncol = A.shape[1]

    def block_map(node: Node, block: Any, *local: Node) -> BlockMap:
        return BlockMap((node,), block, ncol, np.int32, True, local, offsets=True)

    stage = block_map(
        A._node, functools.partial(cap_rows_block, cap=cap_rows, seed=seed, name=name)
    )
    counts = BlockReduce((stage,), col_counts_block, sum_parts)
    if cap_cols is not None:
        panels = []
        for s, e in candidate_bounds(ncol, cap_cols):
            merged = BlockReduce(
                (stage,),
                functools.partial(candidates_block, start=s, stop=e, cap=cap_cols, seed=seed),
                functools.partial(merge_candidates, cap_cols),
                offsets=True,
            )
            panels.append(Apply(thresholds, (merged, s, e, counts, cap_cols)))
        thr = Apply(join_thresholds, tuple(panels))
        stage = block_map(stage, functools.partial(cap_cols_block, seed=seed), thr)
        counts = Apply(_minimum, (counts, cap_cols))
    rows = BlockReduce((stage,), row_counts_block, _concatenate)
    matrix = A._like(stage, row_labels=None, col_labels=None)
    return Sampled(matrix, counts, rows)


def task_bytes() -> int:
    """Bytes of data one task of a fit may hold: 0 for no limit.

    On a distributed cluster, dlinalg's group budget
    (:meth:`~dlinalg.cluster.ClusterExecutor.group_bytes`: an eighth of the
    smallest worker memory per thread, or ``dlinalg.group-bytes``); in
    this process, no limit. Only how the work is cut depends on it, never
    the result: counts are integers and candidates are merged exactly.
    """
    run = executor_for()
    group_bytes = getattr(run, "group_bytes", None)
    return int(group_bytes()) if group_bytes is not None else 0


def _entries(key: str, ceiling: int, entry_bytes: int, held: int) -> int:
    """Entries per panel: the config ``key``, else ``ceiling`` cut so ``held`` panels fit."""
    configured = dask.config.get(f"dlinalg.models.similarity.{key}", None)
    if configured is not None:
        return int(configured)
    budget = task_bytes()
    return min(ceiling, budget // (entry_bytes * held)) if budget else ceiling


def _split_every() -> int:
    return int(dask.config.get("dlinalg.split-every", DEFAULT_SPLIT_EVERY))


def candidate_bounds(ncol: int, cap: int) -> list[tuple[int, int]]:
    """Column ranges of the column-cap merges, each list at most ``candidate-entries`` long.

    A merged list holds at most ``cap`` entries per column of its range, so
    a range of ``entries // cap`` columns bounds every merge task (its
    ``split-every`` inputs and their sort) by the panel, whatever the
    number of users and items. On a cluster, ``split-every`` lists fit
    :func:`task_bytes` at :data:`MERGE_BYTES` an entry.
    """
    entries = _entries("candidate-entries", CANDIDATE_ENTRIES, MERGE_BYTES, _split_every())
    width = max(1, entries // max(1, cap))
    return [(s, min(s + width, ncol)) for s in range(0, ncol, width)] or [(0, 0)]


def panel_bounds(nrow: int, ncol: int) -> list[tuple[int, int]]:
    """Row ranges of the output panels: at most ``panel-entries`` counts per panel.

    On a cluster, ``split-every`` partial panels and their sum fit
    :func:`task_bytes`.
    """
    entries = _entries("panel-entries", PANEL_ENTRIES, COUNT_BYTES, _split_every() + 1)
    width = max(1, entries // max(1, ncol))
    return [(s, min(s + width, nrow)) for s in range(0, nrow, width)]


def count_panel(A: DRM, B: DRM, start: int, stop: int, rows_of_a: bool = False) -> DRM:
    """Lazy counts for output rows ``start:stop``, transposed: ``B.T @ A[:, s:e]`` or ``A A[s:e]'``.

    Columns ``s:e`` of ``B'A`` are rows ``s:e`` of ``A'B`` transposed; asked
    for this way round, dlinalg's ``AtB`` plan returns them as CSR with no
    conversion of B (``X^T`` of a CSR block is CSC for free, and only the
    slice of A is converted). Row similarity uses the ``ABt`` plan,
    ``A @ A[s:e, :].T``, with its row blocks gathered into one.
    """
    if rows_of_a:
        return (A @ A[start:stop, :].T).rechunk(A.shape[0])
    return B.T @ A[:, start:stop]


def count_panel_node(A: DRM, B: DRM, start: int, stop: int) -> BlockReduce:
    """Counts of rows ``start:stop`` of ``A'B`` (binary A and B), dense or CSR, as a plan node.

    One :func:`~dlinalg.models.recommenders._panel_counts.count_block` per
    row block of A and B (zipped), the parts summed in the fixed tree.
    """
    dtype = np.int32 if A.shape[0] < 2**31 else np.int64
    fill = float(dask.config.get("dlinalg.models.similarity.dense-fill", DENSE_FILL))
    block = functools.partial(count_block, start=start, stop=stop, dtype=dtype, dense_fill=fill)
    return BlockReduce((A._node, B._node), block, add_counts)


def llr_panels(
    A: Sampled,
    B: Sampled,
    *,
    n: int,
    k: int,
    min_llr: float,
    exclude_self: bool,
    rows_of_a: bool = False,
) -> list[Apply]:
    """Top-``k`` LLR panels of ``A'B`` (or of ``A A'`` with ``rows_of_a``), as plan nodes.

    The counts of output rows ``s:e`` of ``A'B`` come from
    :func:`count_panel_node`: one compiled pass over the zipped row blocks,
    dense where the counts are (:mod:`~dlinalg.models.recommenders._panel_counts`),
    parts tree-summed; for row similarity (``rows_of_a``, B is A) transposed
    from :func:`count_panel`, ``A @ A[s:e, :].T``, the ``ABt`` plan with the
    panel's rows gathered once. Each panel is scored and cut to its top
    ``k`` in the task that receives its counts.
    """
    if rows_of_a:
        nout, ncol = A.matrix.shape[0], A.matrix.shape[0]
        args = (A.row_counts, A.row_counts, n, exclude_self, k, min_llr)
        return [
            Apply(llr_topk_panel, (count_panel(A.matrix, A.matrix, s, e, True)._node, s, *args))
            for s, e in panel_bounds(nout, ncol)
        ]
    nout, ncol = A.matrix.shape[1], B.matrix.shape[1]
    args = (A.col_counts, B.col_counts, n, exclude_self, k, min_llr)
    return [
        Apply(llr_topk_rows, (count_panel_node(A.matrix, B.matrix, s, e), s, *args))
        for s, e in panel_bounds(nout, ncol)
    ]


def cosine_panels(A: DRM, threshold: float) -> list[Apply]:
    """Upper-triangular cosine panels of the columns of float64 ``A``, as plan nodes."""
    norms = Apply(np.sqrt, ((A * A).col_sums()._node,))
    ncol = A.shape[1]
    return [
        Apply(cosine_panel, (count_panel(A, A, s, e)._node, s, norms, threshold))
        for s, e in panel_bounds(ncol, ncol)
    ]


def stack_panels(parts: list[sp.csr_array], shape: tuple[int, int]) -> sp.csr_array:
    """The computed panels, top to bottom, as one ``csr_array`` of ``shape``."""
    out = sp.csr_array(sp.vstack(parts, format="csr"), shape=shape)
    out.sort_indices()
    return out
