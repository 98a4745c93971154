"""Dask graphs of the block kernels: map over the row blocks, sum in a fixed tree.

Each function takes Dask arrays of row blocks and returns a Dask collection.
Reductions map a kernel over the blocks and sum the partial results in a
tree whose shape depends only on the number of blocks and ``split_every``.
Keys come from ``tokenize`` (``delayed(..., pure=True)``), so rebuilding the
same expression gives the same graph, and a task recomputed after a worker
loss produces bit-identical partial sums in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.delayed import Delayed, delayed

from dlinalg.physical import kernels as K
from dlinalg.physical.rowwise import RowChain, chain_block, chain_combine

__all__ = [
    "blocks_of",
    "tree_reduce",
    "fold_tree",
    "gram_panels",
    "gram",
    "atb",
    "col_stats",
    "chain_pass",
    "empty_meta",
]

#: Output bytes one Gram task may hold before the Gram is split into column panels.
DEFAULT_PANEL_BYTES = 64 * 2**20
#: How many partial results one combine task sums.
DEFAULT_SPLIT_EVERY = 8


def empty_meta(dtype: Any, sparse: bool, ndim: int = 2) -> Any:
    """A zero-size block of the right type, for Dask's ``meta``."""
    if sparse:
        return sp.csr_array((0, 0), dtype=dtype)
    return np.empty((0,) * ndim, dtype=dtype)


def blocks_of(arr: da.Array) -> list[Delayed]:
    """The row blocks of a one-column-chunk array as Delayed objects, in order."""
    return list(arr.to_delayed(optimize_graph=False).ravel())


def tree_reduce(
    parts: list[Any], combine: Callable[..., Any], split_every: int | None = None
) -> Delayed:
    """Combine partial results ``split_every`` at a time until one is left.

    The tree shape depends only on ``len(parts)`` and ``split_every``, and each
    combine sums its inputs left to right, so the floating-point result is fixed
    for a given chunking.
    """
    split_every = split_every or dask.config.get("dlinalg.split-every", DEFAULT_SPLIT_EVERY)
    return fold_tree(parts, lambda *group: delayed(combine, pure=True)(*group), split_every)


def fold_tree(parts: list[Any], combine: Callable[..., Any], split_every: int) -> Any:
    """Apply ``combine`` to groups of ``split_every`` consecutive parts until one is left.

    The one tree shape of every reduction (lazy in :func:`tree_reduce`, eager
    where per-worker groups must give the same bits as the per-block tree).
    """
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    while len(parts) > 1:
        parts = [combine(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def gram_panels(ncol: int, itemsize: int) -> list[tuple[int, int]]:
    """Column ranges of the Gram output, one per panel.

    One panel (the slim path) while ``ncol * ncol * itemsize`` fits in the
    ``dlinalg.gram-panel-bytes`` budget; otherwise panels of
    ``budget // (ncol * itemsize)`` columns, so no task holds more than the budget.
    """
    budget = dask.config.get("dlinalg.gram-panel-bytes", DEFAULT_PANEL_BYTES)
    width = max(1, int(budget) // max(1, ncol * itemsize))
    return [(j, min(j + width, ncol)) for j in range(0, ncol, width)]


def gram(arr: da.Array, sparse: bool) -> Delayed | da.Array:
    """``X^T X`` of a row-partitioned array: one pass, tree-summed.

    Returns a Delayed (slim path) or a Dask array of column panels (fat path).
    """
    blocks = blocks_of(arr)
    ncol = arr.shape[1]
    dtype = arr.dtype
    panels = gram_panels(ncol, dtype.itemsize)
    if len(panels) == 1:
        return tree_reduce([delayed(K.gram_block, pure=True)(b) for b in blocks], K.sum_parts)
    columns = []
    for start, stop in panels:
        parts = [delayed(K.gram_panel_block, pure=True)(b, start, stop) for b in blocks]
        total = tree_reduce(parts, K.sum_parts)
        columns.append(
            da.from_delayed(
                total, shape=(ncol, stop - start), dtype=dtype, meta=empty_meta(dtype, sparse)
            )
        )
    return da.concatenate(columns, axis=1)


def atb(a: da.Array, b: da.Array) -> Delayed:
    """``A^T B`` for row-aligned arrays (B 1-D or 2-D), zipping their blocks in one pass."""
    if b.chunks[0] != a.chunks[0]:
        b = b.rechunk({0: a.chunks[0]})
    if b.ndim == 2 and len(b.chunks[1]) > 1:
        b = b.rechunk({1: -1})
    parts = [
        delayed(K.atb_block, pure=True)(x, y)
        for x, y in zip(blocks_of(a), blocks_of(b), strict=True)
    ]
    return tree_reduce(parts, K.sum_parts)


def col_stats(arr: da.Array, needs: tuple[str, ...]) -> Delayed:
    """Merged partial column statistics (and optionally the Gram) in one pass.

    ``needs`` names partial sums from :data:`kernels.STAT_NEEDS`; pick final
    statistics out of the result with :func:`kernels.finalize_stat`.
    """
    parts = [delayed(K.stats_block, pure=True)(b, needs) for b in blocks_of(arr)]
    return tree_reduce(parts, K.stats_combine)


def chain_pass(arr: da.Array, chain: RowChain, want: tuple[str, ...]) -> Delayed:
    """The :class:`~dlinalg.physical.rowwise.PassParts` of ``Y = chain(A)`` in one pass.

    Each block gives its sums ``want`` (``"gram"``: ``Y^T Y``, ``"atb"``:
    ``A^T Y``, ``"colsum"``); they are added in the fixed tree.
    """
    parts = [delayed(chain_block, pure=True)(b, chain, want) for b in blocks_of(arr)]
    return tree_reduce(parts, chain_combine)
