"""A per-block kernel over row-aligned matrices, its partial results summed in the fixed tree.

The plan's statement of the reductions whose result is not a matrix: the
column means and centred scatter of :func:`dlinalg.decomp.moments.comoments`
(Chan-Golub-LeVeque merges), the R factor of ``[A | b]`` in
:func:`dlinalg.lstsq`. It is the shape of ``dask.array.reduction(chunk,
combine)`` with Dask's ``split_every``: ``block(*row blocks)`` per row block,
``combine(*partials)`` over groups of ``dlinalg.split-every`` consecutive
partials until one is left, so the tree depends only on the number of blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from dask.base import tokenize

from dlinalg.plan.nodes import Node

__all__ = ["BlockReduce"]


@dataclass(frozen=True, eq=False)
class BlockReduce(Node):
    """``combine`` over ``block(A_i, B_i, ...)`` for the row blocks of row-aligned inputs."""

    inputs: tuple[Node, ...]
    block: Callable[..., Any]
    combine: Callable[..., Any]
    name: ClassVar[str] = "BlockReduce"

    @property
    def children(self):
        return self.inputs

    def with_children(self, children):
        return BlockReduce(tuple(children), self.block, self.combine)

    @property
    def params(self):
        return (tokenize(self.block), tokenize(self.combine))

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
        return f"BlockReduce {_name(self.block)}, combined by {_name(self.combine)}, in one pass"


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)
