"""Caller-supplied block functions in the plan: a map over row blocks, a call on values.

:class:`~dlinalg.plan.blockreduce.BlockReduce` reduces row blocks to one
value; these two complete the family, so that work built from a caller's own
block functions (the recommenders' downsampling and LLR panels) is stated in
the plan, shown by :func:`dlinalg.explain` and run by one ``compute``:

- :class:`BlockMap`: a matrix whose row block ``i`` is ``block(A_i, B_i, ...,
  [row0_i,] *values)``: row-aligned inputs, optionally the block's first row
  (for row-keyed randomness that must not depend on the chunking), then the
  values of local nodes (a threshold computed by an earlier reduction);
- :class:`Apply`: ``func(*args)`` on in-memory values, where each argument
  that is a node is replaced by its value (a distributed node by its one row
  block, as the algebra's local results are matrices of one block).

Both are lowered by :mod:`dlinalg.plan.lower` to one task per block (or one
task), keyed by ``tokenize`` of the function and its arguments, so a lost
task is recomputed to the same bits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from dask.base import tokenize

from dlinalg.plan.nodes import Node

__all__ = ["BlockMap", "Apply", "function_name"]


def function_name(fn: Any) -> str:
    """A function's name for plans, looking through ``functools.partial``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


@dataclass(frozen=True, eq=False)
class BlockMap(Node):
    """Row block ``i`` is ``block(*row blocks i of inputs, [row0_i,] *values of local)``."""

    inputs: tuple[Node, ...]
    block: Callable[..., Any]
    ncol: int
    out_dtype: Any
    out_sparse: bool
    local_inputs: tuple[Node, ...] = ()
    offsets: bool = False
    name: ClassVar[str] = "BlockMap"

    @property
    def children(self):
        return (*self.inputs, *self.local_inputs)

    def with_children(self, children):
        n = len(self.inputs)
        return BlockMap(
            tuple(children[:n]), self.block, self.ncol, self.out_dtype, self.out_sparse,
            tuple(children[n:]), self.offsets,
        )  # fmt: skip

    @property
    def params(self):
        return (tokenize(self.block), self.ncol, str(np.dtype(self.out_dtype)), self.out_sparse,
                len(self.inputs), self.offsets)  # fmt: skip

    @property
    def shape(self):
        return (self.inputs[0].shape[0], self.ncol)

    @property
    def dtype(self):
        return np.dtype(self.out_dtype)

    @property
    def sparse(self):
        return self.out_sparse

    def describe(self):
        extra = ", with row offsets" if self.offsets else ""
        return f"BlockMap {function_name(self.block)}{extra}"


@dataclass(frozen=True, eq=False)
class Apply(Node):
    """``func(*args)`` in memory; each node among ``args`` stands for its value."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    name: ClassVar[str] = "Apply"

    @property
    def children(self):
        return tuple(a for a in self.args if isinstance(a, Node))

    def with_children(self, children):
        it = iter(children)
        return Apply(self.func, tuple(next(it) if isinstance(a, Node) else a for a in self.args))

    @property
    def params(self):
        consts = tuple(None if isinstance(a, Node) else a for a in self.args)
        where = tuple(isinstance(a, Node) for a in self.args)
        return (tokenize(self.func, consts), where)

    @property
    def shape(self):
        return ()

    @property
    def dtype(self):
        return np.dtype(object)

    @property
    def local(self):
        return True

    def describe(self):
        return f"Apply {function_name(self.func)}"
