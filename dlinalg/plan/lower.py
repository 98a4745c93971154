"""Lowering: plan operators -> Dask collections.

:class:`Lowering` walks an optimized plan once and asks the physical layer
(:mod:`dlinalg.physical`) for a Dask collection per node:

* distributed nodes become a ``dask.array.Array`` of row blocks
  (:meth:`Lowering.rows`);
* local nodes (Gram, column statistics, in-core operands) become a
  ``Delayed``, a numpy value, or a Dask array (the column panels of a fat
  Gram; a slice, ``map_blocks`` or rechunk of a local value, lowered as the
  same operation on one row block) (:meth:`Lowering.local`).

Results are memoized by node token, so a subexpression used twice is lowered
once and its tasks are shared.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed, delayed

from dlinalg.physical import kernels as K
from dlinalg.physical import reduce as R
from dlinalg.physical.rowwise import pass_part
from dlinalg.plan import chain as C
from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O
from dlinalg.plan.blockmap import Apply, BlockMap
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.rewrite import fuse, optimize

__all__ = ["Lowering", "lower"]


def _matmul(a: Any, b: Any) -> Any:
    out = a @ b
    return K.to_csr(out) if K.is_sparse_block(out) else out


def _transpose(a: Any) -> Any:
    return K.to_csr(a.T) if K.is_sparse_block(a) else np.ascontiguousarray(a.T)


class Lowering:
    """Turns optimized nodes into Dask collections, memoized by token."""

    def __init__(self) -> None:
        self._rows: dict[str, da.Array] = {}
        self._local: dict[str, Any] = {}

    # ------------------------------------------------------------------
    def value(self, node: N.Node) -> Any:
        """The collection to compute for ``node``'s final value."""
        return self.local(node) if node.local else self.rows(node)

    def rows(self, node: N.Node) -> da.Array:
        """``node`` as a Dask array of row blocks (one column chunk)."""
        if node.token not in self._rows:
            self._rows[node.token] = self._lower_rows(node)
        return self._rows[node.token]

    def local(self, node: N.Node) -> Any:
        """``node`` as an in-memory value: Delayed, numpy value or panel array."""
        if node.token not in self._local:
            self._local[node.token] = self._lower_local(node)
        return self._local[node.token]

    def aligned(self, node: N.Node, row_chunks: tuple[int, ...]) -> da.Array:
        """``node`` as a Dask array whose row blocks are ``row_chunks``.

        Local operands (a vector of column means, a small matrix) become a
        single-block array that Dask broadcasts to every row block.
        """
        if node.local:
            value = self.local(node)
            if isinstance(value, da.Array):
                if value.ndim == 2 and len(value.chunks[1]) > 1:
                    value = value.rechunk({1: -1})  # the column panels of a fat Gram
                if value.ndim == 2 and value.shape[0] == sum(row_chunks):
                    value = value.rechunk({0: row_chunks})
                return value
            if isinstance(value, Delayed):
                meta = R.empty_meta(node.dtype, node.sparse, len(node.shape))
                return da.from_delayed(value, shape=node.shape, dtype=node.dtype, meta=meta)
            if np.ndim(value) == 0:
                return value
            if len(node.shape) == 1 or node.shape[0] != sum(row_chunks):
                return da.from_array(value, chunks=-1, asarray=not node.sparse)
            return da.from_array(
                value,
                chunks=(row_chunks, -1),
                asarray=not node.sparse,
                # the key names the operand *and* the row blocks it was cut into
                name=f"incore-{tokenize(node.token, row_chunks)}",
            )
        arr = self.rows(node)
        if arr.chunks[0] != row_chunks:
            arr = arr.rechunk({0: row_chunks})
        return arr

    def _operand(self, node: N.Node, row_chunks: tuple[int, ...]) -> Any:
        """An elementwise operand: a matrix meets the row blocks, a vector every row.

        A 1-D operand broadcasts over the rows as in numpy (one value per
        column), and so does a distributed 1-row matrix (``A - A[[0], :]``):
        each is one block met by every row block, not cut into them.
        """
        if node.local:
            return self.aligned(node, row_chunks)
        if len(node.shape) == 1 or (node.shape[0] == 1 and sum(row_chunks) > 1):
            return self.rows(node).rechunk(-1)  # broadcast whole over every block
        return self.aligned(node, row_chunks)

    # ------------------------------------------------------------------
    def _lower_rows(self, node: N.Node) -> da.Array:
        if node.local:
            return self.aligned(node, (node.shape[0],))
        return self._distributed(node)

    def _distributed(self, node: N.Node) -> da.Array:
        """The row-block lowering of ``node``; a local child is one row block."""
        meta = R.empty_meta(node.dtype, node.sparse)
        if isinstance(node, N.Leaf):
            return node.array
        if isinstance(node, O.Fused):
            first = next(i for i in node.inputs if not i.local)
            chunks = self.rows(first).chunks[0]
            args = [self._operand(i, chunks) for i in node.inputs]
            func = K.FusedBlock(node.program, node.dtype, node.sparse)
            return da.map_blocks(
                func, *args, dtype=node.dtype, meta=meta, name=f"fused-{node.token}"
            )
        if isinstance(node, O.Ax | O.AB):
            a = self.rows(node.a)
            b = self.aligned(node.b, (node.b.shape[0],))
            b = b.rechunk(-1) if isinstance(b, da.Array) else b
            if b.ndim == 1:
                return da.blockwise(
                    K.Contracted(K.ax_block), "i", a, "ik", b, "k", dtype=node.dtype,
                    meta=np.empty((0,), node.dtype), name=f"ax-{node.token}",
                )  # fmt: skip
            return da.blockwise(
                K.Contracted(K.ax_block), "ij", a, "ik", b, "kj", dtype=node.dtype, meta=meta,
                name=f"{node.name.lower()}-{node.token}",
            )  # fmt: skip
        if isinstance(node, O.ABt):
            a = self.rows(node.a)
            b = self.rows(node.b).rechunk(-1)
            return da.blockwise(
                K.Contracted(K.abt_block), "ij", a, "ik", b, "jk", dtype=node.dtype, meta=meta,
                name=f"abt-{node.token}",
            )  # fmt: skip
        if isinstance(node, N.CBind):
            first = next(p for p in node.parts if p.shape)
            chunks = self.rows(first).chunks[0]
            args = [self.aligned(p, chunks) if p.shape else p.value for p in node.parts]
            return self._cbind(node, args, chunks, meta)
        if isinstance(node, N.RBind):
            parts = [self.rows(p).astype(node.dtype) for p in node.parts]
            return da.concatenate(parts, axis=0)
        if isinstance(node, N.Slice):
            rows, cols = (s if isinstance(s, slice) else list(s) for s in (node.rows, node.cols))
            arr = self.rows(node.a)[rows, :][:, cols]
            return arr.rechunk({1: -1}) if len(arr.chunks[1]) > 1 else arr
        if isinstance(node, N.MapBlocks):
            arr = self.rows(node.a)
            return arr.map_blocks(
                node.func, dtype=node.dtype, meta=meta,
                chunks=(arr.chunks[0], (node.ncol,)), name=f"mapblocks-{node.token}",
            )  # fmt: skip
        if isinstance(node, BlockMap):
            tasks = self._block_calls(node.block, node.inputs, node.local_inputs, node.offsets)
            return tasks.array(node.ncol, node.dtype, meta)
        if isinstance(node, C.RowMap):
            arr = self.rows(node.a)
            return arr.map_blocks(
                node.chain, dtype=node.dtype, meta=meta,
                chunks=(arr.chunks[0], (node.shape[1],)), name=f"rowmap-{node.token}",
            )  # fmt: skip
        if isinstance(node, N.Rechunk):
            return self.rows(node.a).rechunk({0: node.rows})
        if isinstance(node, N.RowStat):
            arr = self.rows(node.a)
            return arr.map_blocks(
                K.row_stat_block, node.stat, drop_axis=1, dtype=node.dtype,
                meta=np.empty((0,), node.dtype), name=f"rowstat-{node.token}",
            )  # fmt: skip
        if isinstance(node, N.Transpose):
            # an explicit transpose: only reached when no product consumed it
            arr = self.rows(node.a).T.rechunk({1: -1})
            return arr.map_blocks(K.to_csr, meta=meta, dtype=node.dtype) if node.sparse else arr
        raise TypeError(f"cannot lower {node.describe()} as a distributed matrix")

    def _block_calls(
        self, block: Any, inputs: tuple, local_inputs: tuple, offsets: bool
    ) -> R.RowBlockTasks:
        """``block(*row blocks i, [row0_i,] *local values)`` per row block, in one layer."""
        first = self.rows(inputs[0])
        arrays = [first, *(self.aligned(i, first.chunks[0]) for i in inputs[1:])]
        values = [self.local(i) for i in local_inputs]
        return R.map_row_blocks(block, arrays, values, offsets)

    def _value(self, node: N.Node) -> Any:
        """A node's whole value in memory: a local value, or a matrix as its one row block."""
        if node.local:
            return self.local(node)
        arr = self.rows(node)
        if len(arr.chunks[0]) > 1:
            arr = arr.rechunk({0: -1})
        return R.blocks_of(arr)[0]

    def _cbind(self, node: N.CBind, args: list, chunks: tuple, meta: Any) -> da.Array:
        arrays = [a for a in args if isinstance(a, da.Array)]
        # scalars ride along as keyword-free positional constants
        func = _CBind(tuple(None if isinstance(a, da.Array) else a for a in args), node)
        return da.map_blocks(
            func, *arrays, dtype=node.dtype, meta=meta,
            chunks=(chunks, (node.shape[1],)), name=f"cbind-{node.token}",
        )  # fmt: skip

    def _lower_local(self, node: N.Node) -> Any:
        if not node.local:
            return self.rows(node)
        if isinstance(node, N.InCore | N.Scalar):
            return node.value
        if isinstance(node, N.DaskValue):
            return node.array.rechunk(-1) if node.array.ndim else node.array
        if isinstance(node, O.Gram):
            return R.gram(self.rows(node.a), node.sparse)
        if isinstance(node, O.AtB):
            a = self.rows(node.a)
            return R.atb(a, self.aligned(node.b, a.chunks[0]))
        if isinstance(node, O.ColStats):
            return R.col_stats(self.rows(node.a), node.stats)
        if isinstance(node, BlockReduce):
            tasks = self._block_calls(node.block, node.inputs, node.local_inputs, node.offsets)
            return R.tree_reduce(tasks, node.combine)
        if isinstance(node, Apply):
            args = [self._value(a) if isinstance(a, N.Node) else a for a in node.args]
            return delayed(node.func, pure=True)(*args)
        if isinstance(node, C.ChainPass):
            return R.chain_pass(self.rows(node.a), node.chain, node.want)
        if isinstance(node, C.PassPart):
            return delayed(pass_part, pure=True)(self.local(node.a), node.part)
        if isinstance(node, O.Pick):
            merged = self.local(node.source)
            return delayed(K.finalize_stat, pure=True)(
                merged, node.stat, node.source.a.dtype, node.ddof
            )
        if isinstance(node, N.Transpose):
            return delayed(_transpose, pure=True)(self.local(node.a))
        if isinstance(node, N.MatMul):
            return delayed(_matmul, pure=True)(self.local(node.a), self.local(node.b))
        if isinstance(node, O.Fused):
            func = K.FusedBlock(node.program, node.dtype, node.sparse)
            return delayed(func, pure=True)(*[self.local(i) for i in node.inputs])
        # Every other operation (a slice, map_blocks, row statistics, rechunk)
        # of an in-memory value is that operation on a matrix of one row block:
        # whatever the plan evaluated in memory stays a matrix like any other.
        return self._distributed(node)


class _CBind:
    """Block function for CBind: arrays fill the ``None`` slots, scalars stay put."""

    def __init__(self, slots: tuple, node: N.CBind):
        self.slots = slots
        self.dtype = node.dtype
        self.sparse = node.sparse

    def __call__(self, *blocks: Any) -> Any:
        it = iter(blocks)
        parts = [next(it) if s is None else s for s in self.slots]
        return K.cbind_block(*parts, dtype=self.dtype, sparse=self.sparse)

    def __dask_tokenize__(self):
        return ("CBind", tokenize(self.slots), str(self.dtype), self.sparse)


def lower(node: N.Node) -> Any:
    """Lower one optimized node to the Dask collection holding its value."""
    return Lowering().value(node)


def lower_plan(nodes: list[N.Node]) -> tuple[list[N.Node], list[Any]]:
    """Optimize plan nodes together, fuse their passes and lower them.

    The one lowering every way of computing shares (:func:`dlinalg.compute`,
    the decompositions' passes, and Dask's collection protocol), so the same
    expressions computed together give the same keys and bits whichever way
    they run.

    Returns
    -------
    roots : list of Node
        The fused plan, one root per input node (for :func:`dlinalg.explain`).
    values : list
        The Dask collection (or in-memory value) of each root.
    """
    roots = fuse([optimize(n) for n in nodes])
    low = Lowering()
    return roots, [low.value(r) for r in roots]
