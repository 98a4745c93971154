"""A per-block kernel over row-aligned matrices, its partial results summed in the fixed tree.

The plan's statement of the reductions whose result is not a matrix: the
column means and centred scatter of :func:`dlinalg.decomp.moments.comoments`
(Chan-Golub-LeVeque merges), the R factor of ``[A | b]`` in
:func:`dlinalg.lstsq`. It is the shape of ``dask.array.reduction(chunk,
combine)`` with Dask's ``split_every``: ``block(*row blocks)`` per row block,
``combine(*partials)`` over groups of ``dlinalg.split-every`` consecutive
partials until one is left, so the tree depends only on the number of blocks.
``offsets=True`` also passes each block's first row, and ``local_inputs``
pass the values of local nodes after that (a count computed by an earlier
reduction), as :class:`~dlinalg.plan.blockmap.BlockMap` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from dask.base import tokenize

from dlinalg.plan.blockmap import function_name
from dlinalg.plan.nodes import Node

__all__ = ["BlockReduce"]


@dataclass(frozen=True, eq=False)
class BlockReduce(Node):
    """``combine`` over ``block(A_i, B_i, ..., [row0_i,] *values)`` for the row blocks of row-aligned inputs."""

    inputs: tuple[Node, ...]
    block: Callable[..., Any]
    combine: Callable[..., Any]
    local_inputs: tuple[Node, ...] = ()
    offsets: bool = False
    name: ClassVar[str] = "BlockReduce"

    @property
    def children(self):
        return (*self.inputs, *self.local_inputs)

    def with_children(self, children):
        n = len(self.inputs)
        return BlockReduce(
            tuple(children[:n]), self.block, self.combine, tuple(children[n:]), self.offsets
        )

    @property
    def params(self):
        if not self.local_inputs and not self.offsets:  # the tokens comoments/lstsq always had
            return (tokenize(self.block), tokenize(self.combine))
        return (tokenize(self.block), tokenize(self.combine), len(self.inputs), self.offsets)

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
        return (
            f"BlockReduce {function_name(self.block)}, combined by "
            f"{function_name(self.combine)}, in one pass"
        )
