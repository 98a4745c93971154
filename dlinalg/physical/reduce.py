"""Dask graphs of the block kernels: map over the row blocks, sum in a fixed tree.

Each function takes Dask arrays of row blocks and returns a Dask collection.
Reductions map a kernel over the blocks and sum the partial results in a
tree whose shape depends only on the number of blocks and ``split_every``.
Keys come from ``tokenize`` (``delayed(..., pure=True)``), so rebuilding the
same expression gives the same graph, and a task recomputed after a worker
loss produces bit-identical partial sums in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask._task_spec import Task, TaskRef
from dask.base import is_dask_collection, tokenize
from dask.core import flatten
from dask.delayed import Delayed, delayed
from dask.highlevelgraph import HighLevelGraph
from dask.utils import funcname

from dlinalg.physical import kernels as K
from dlinalg.physical.rowwise import RowChain, chain_block, chain_combine

__all__ = [
    "blocks_of",
    "RowBlockTasks",
    "map_row_blocks",
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


class RowBlockTasks(NamedTuple):
    """One task per row block, all in one graph layer (:func:`map_row_blocks`).

    Task ``i`` has the key ``(name, i, 0)``: the tasks are the blocks of a
    one-column-chunk Dask array as they stand (:meth:`array`), or the parts
    of a reduction (:func:`tree_reduce`).
    """

    graph: HighLevelGraph
    name: str
    chunks: tuple[int, ...]

    @property
    def keys(self) -> list[tuple[str, int, int]]:
        return [(self.name, i, 0) for i in range(len(self.chunks))]

    def delayed(self, i: int) -> Delayed:
        """Task ``i``'s result (the whole layer's graph behind it)."""
        return Delayed((self.name, i, 0), self.graph, layer=self.name)

    def array(self, ncol: int, dtype: Any, meta: Any) -> da.Array:
        """The tasks' results as the row blocks of an ``(rows, ncol)`` Dask array."""
        return da.Array(self.graph, self.name, (self.chunks, (ncol,)), dtype=dtype, meta=meta)


def map_row_blocks(
    func: Callable[..., Any],
    arrays: Sequence[da.Array],
    args: Sequence[Any] = (),
    offsets: bool = False,
) -> RowBlockTasks:
    """``func(*row blocks i of arrays, [row0_i,] *args)`` for every row block, as one layer.

    The arrays share their row chunks and have one column chunk. ``args`` may
    hold Dask collections (a Delayed value, a small array): each is computed
    once and handed to every task. The key depends only on ``func``, the
    arrays' names and ``args``, so the same call gives the same graph.

    One layer whatever the number of blocks: a ``delayed`` call per block
    carries the whole input graph, and merging thousands of those costs
    blocks x layers (a 12.5M-row ``ItemSimilarity`` plan took about ten
    minutes to build that way).
    """
    chunks = arrays[0].chunks[0]
    columns = []
    for arr in arrays:
        keys = list(flatten(arr.__dask_keys__()))
        if arr.chunks[0] != chunks or len(keys) != len(chunks):
            raise ValueError(
                f"map_row_blocks needs row-aligned arrays of one column chunk; got chunks "
                f"{arr.chunks} against rows {chunks}"
            )
        columns.append(keys)
    deps: list[Any] = list(arrays)
    refs = []
    for value in args:
        if is_dask_collection(value):
            value = value if isinstance(value, Delayed) else delayed(value)
            deps.append(value)
            value = TaskRef(value.key)
        refs.append(value)
    name = f"{funcname(func)}-{tokenize(func, [a.name for a in arrays], list(args), offsets)}"
    starts = np.cumsum((0, *chunks[:-1])).tolist()
    layer = {}
    for i, row0 in enumerate(starts):
        key = (name, i, 0)
        blocks = [TaskRef(keys[i]) for keys in columns]
        layer[key] = Task(key, func, *blocks, *([int(row0)] if offsets else []), *refs)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
    return RowBlockTasks(graph, name, tuple(chunks))


def tree_reduce(
    parts: Sequence[Delayed] | RowBlockTasks,
    combine: Callable[..., Any],
    split_every: int | None = None,
) -> Delayed:
    """Combine partial results ``split_every`` at a time until one is left.

    The tree shape depends only on the number of parts and ``split_every``,
    and each combine sums its inputs left to right, so the floating-point
    result is fixed for a given chunking. The combines are one graph layer
    (keys ``(name, j)`` in the order :func:`fold_tree` makes them), whatever
    the number of parts.
    """
    split_every = split_every or dask.config.get("dlinalg.split-every", DEFAULT_SPLIT_EVERY)
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    if isinstance(parts, RowBlockTasks):
        keys, deps = parts.keys, [parts.delayed(0)]  # one stand-in brings the whole layer
        if len(keys) == 1:
            return parts.delayed(0)
    else:
        keys, deps = [p.key for p in parts], list(parts)
        if len(keys) == 1:
            return parts[0]
    name = f"{funcname(combine)}-{tokenize(combine, keys, split_every)}"
    layer: dict = {}

    def combined(*group: Any) -> tuple[str, int]:
        key = (name, len(layer))
        layer[key] = Task(key, combine, *[TaskRef(k) for k in group])
        return key

    root = fold_tree(keys, combined, split_every)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
    return Delayed(root, graph, layer=name)


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
    ncol = arr.shape[1]
    dtype = arr.dtype
    panels = gram_panels(ncol, dtype.itemsize)
    if len(panels) == 1:
        return tree_reduce(map_row_blocks(K.gram_block, [arr]), K.sum_parts)
    columns = []
    for start, stop in panels:
        total = tree_reduce(map_row_blocks(K.gram_panel_block, [arr], (start, stop)), K.sum_parts)
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
    return tree_reduce(map_row_blocks(K.atb_block, [a, b]), K.sum_parts)


def col_stats(arr: da.Array, needs: tuple[str, ...]) -> Delayed:
    """Merged partial column statistics (and optionally the Gram) in one pass.

    ``needs`` names partial sums from :data:`kernels.STAT_NEEDS`; pick final
    statistics out of the result with :func:`kernels.finalize_stat`.
    """
    return tree_reduce(map_row_blocks(K.stats_block, [arr], (needs,)), K.stats_combine)


def chain_pass(arr: da.Array, chain: RowChain, want: tuple[str, ...]) -> Delayed:
    """The :class:`~dlinalg.physical.rowwise.PassParts` of ``Y = chain(A)`` in one pass.

    Each block gives its sums ``want`` (``"gram"``: ``Y^T Y``, ``"atb"``:
    ``A^T Y``, ``"colsum"``); they are added in the fixed tree.
    """
    return tree_reduce(map_row_blocks(chain_block, [arr], (chain, want)), chain_combine)
