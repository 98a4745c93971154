"""Logical plan nodes: small immutable descriptions of matrix expressions.

A node knows its shape, dtype, whether its blocks are sparse and whether its
value is *local* (small, in memory after compute: a Gram matrix, column sums)
or *distributed* (row-partitioned like its input: ``A @ x``, ``A + B``).
Nodes never touch data; :mod:`dlinalg.plan.rewrite` rewrites them and
:mod:`dlinalg.plan.lower` turns them into Dask collections.

Two nodes are equal when they describe the same computation: equality and
hashing go through :attr:`Node.token`, derived from Dask's deterministic
``tokenize`` of the leaves. That is what lets the optimizer spot ``T(A) @ A``
and lets :func:`dlinalg.compute` share one pass between expressions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from dask.base import tokenize

from dlinalg._tokens import array_token
from dlinalg.physical.kernels import col_stat_dtype, elemwise_result_dtype, keeps_sparse

__all__ = [
    "Node",
    "Leaf",
    "InCore",
    "Scalar",
    "DaskValue",
    "Transpose",
    "MatMul",
    "Elemwise",
    "CBind",
    "RBind",
    "Slice",
    "MapBlocks",
    "Rechunk",
    "ColStat",
    "RowStat",
]


@dataclass(frozen=True, eq=False)
class Node:
    """Base class: children plus the parameters that identify the operation."""

    name: ClassVar[str] = "Node"

    @property
    def children(self) -> tuple[Node, ...]:
        return ()

    @property
    def params(self) -> tuple:
        """Hashable parameters (besides children) that identify the operation."""
        return ()

    @cached_property
    def token(self) -> str:
        return tokenize(type(self).__name__, self.params, [c.token for c in self.children])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self.token == other.token

    def __hash__(self) -> int:
        return hash(self.token)

    # --- metadata every node provides ---------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        raise NotImplementedError

    @property
    def sparse(self) -> bool:
        return False

    @property
    def local(self) -> bool:
        """True when the value is small and lives in memory once computed."""
        return False

    def with_children(self, children: tuple[Node, ...]) -> Node:
        """A copy of this node with new children (used by rewrites)."""
        assert not children
        return self

    def describe(self) -> str:
        """One line for :meth:`DRM.explain`: operator name and its arguments."""
        return self.name


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape) if shape else "scalar"


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Leaf(Node):
    """A Dask array of row blocks (numpy or ``scipy.sparse.csr_array``)."""

    array: Any
    is_sparse: bool = False
    source: str = "dask"
    name: ClassVar[str] = "Leaf"

    @property
    def params(self) -> tuple:
        return (self.array.name,)

    @property
    def shape(self):
        return tuple(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def sparse(self):
        return self.is_sparse

    def describe(self) -> str:
        kind = "csr" if self.is_sparse else "dense"
        nblocks = len(self.array.chunks[0])
        return f"Leaf {self.source} ({kind}, {nblocks} row blocks)"


@dataclass(frozen=True, eq=False)
class InCore(Node):
    """A small in-memory numpy operand: a vector or a matrix."""

    value: Any
    name: ClassVar[str] = "InCore"

    @cached_property
    def token(self) -> str:
        return array_token("InCore", self.value)

    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def sparse(self):
        return not isinstance(self.value, np.ndarray)

    @property
    def local(self):
        return True


@dataclass(frozen=True, eq=False)
class DaskValue(Node):
    """A small Dask array operand (a 0-d, 1-d or 2-d value), kept lazy."""

    array: Any
    name: ClassVar[str] = "DaskValue"

    @property
    def params(self):
        return (self.array.name,)

    @property
    def shape(self):
        return tuple(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def local(self):
        return True


@dataclass(frozen=True, eq=False)
class Scalar(Node):
    """A Python/numpy scalar operand of an elementwise operation."""

    value: Any
    name: ClassVar[str] = "Scalar"

    @property
    def params(self):
        return (type(self.value).__name__, self.value)

    @property
    def shape(self):
        return ()

    @property
    def dtype(self):
        return np.asarray(self.value).dtype

    @property
    def local(self):
        return True

    def describe(self) -> str:
        return f"Scalar {self.value!r}"


# ---------------------------------------------------------------------------
# Logical operators (what users write)
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Unary(Node):
    a: Node

    @property
    def children(self):
        return (self.a,)

    def with_children(self, children):
        return type(self)(children[0], *[getattr(self, f) for f in self._extra()])

    @classmethod
    def _extra(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "a")

    @property
    def params(self):
        return tuple(getattr(self, f) for f in self._extra())

    @property
    def dtype(self):
        return self.a.dtype

    @property
    def sparse(self):
        return self.a.sparse

    @property
    def local(self):
        return self.a.local


@dataclass(frozen=True, eq=False)
class _Binary(Node):
    a: Node
    b: Node

    @property
    def children(self):
        return (self.a, self.b)

    def with_children(self, children):
        return type(self)(*children)

    @property
    def dtype(self):
        return np.result_type(self.a.dtype, self.b.dtype)


@dataclass(frozen=True, eq=False)
class Transpose(_Unary):
    """``A.T``; removed by the optimizer wherever it is consumed by a product."""

    name: ClassVar[str] = "Transpose"

    @property
    def shape(self):
        return self.a.shape[::-1]


@dataclass(frozen=True, eq=False)
class MatMul(_Binary):
    """``A @ B`` before optimization."""

    name: ClassVar[str] = "MatMul"

    @property
    def shape(self):
        return self.a.shape[:-1] + self.b.shape[1:]

    @property
    def sparse(self):
        return self.a.sparse and self.b.sparse

    @property
    def local(self):
        return self.a.local and self.b.local


@dataclass(frozen=True, eq=False)
class Elemwise(Node):
    """An elementwise operation; ``op`` is a name from ``physical.kernels.ELEMWISE``."""

    op: str
    args: tuple[Node, ...]
    name: ClassVar[str] = "Elemwise"

    @property
    def children(self):
        return self.args

    def with_children(self, children):
        return Elemwise(self.op, tuple(children))

    @property
    def params(self):
        return (self.op,)

    @property
    def shape(self):
        return tuple(np.broadcast_shapes(*[a.shape for a in self.args]))

    @cached_property
    def dtype(self):

        return elemwise_result_dtype(self.op, self.args)

    @property
    def sparse(self):

        return keeps_sparse(self.op, self.args)

    @property
    def local(self):
        return all(a.local for a in self.args)

    def describe(self):
        return f"Elemwise {self.op}"


@dataclass(frozen=True, eq=False)
class _Bind(Node):
    parts: tuple[Node, ...]

    @property
    def children(self):
        return self.parts

    def with_children(self, children):
        return type(self)(tuple(children))


@dataclass(frozen=True, eq=False)
class CBind(_Bind):
    """Columns side by side; ``Scalar`` parts become constant columns."""

    name: ClassVar[str] = "CBind"

    @property
    def shape(self):
        nrow = next(p.shape[0] for p in self.parts if p.shape)
        return (nrow, sum(p.shape[1] if p.shape else 1 for p in self.parts))

    @property
    def dtype(self):
        return np.result_type(*[p.dtype if p.shape else p.value for p in self.parts])

    @property
    def sparse(self):
        return all(p.sparse for p in self.parts if p.shape)


@dataclass(frozen=True, eq=False)
class RBind(_Bind):
    """Row blocks stacked: the result's blocks are the parts' blocks."""

    name: ClassVar[str] = "RBind"

    @property
    def shape(self):
        return (sum(p.shape[0] for p in self.parts), self.parts[0].shape[1])

    @property
    def dtype(self):
        return np.result_type(*[p.dtype for p in self.parts])

    @property
    def sparse(self):
        return all(p.sparse for p in self.parts)


@dataclass(frozen=True, eq=False)
class Slice(_Unary):
    """``A[rows, cols]`` with positions already resolved (slices or int tuples)."""

    rows: Any = None
    cols: Any = None
    name: ClassVar[str] = "Slice"

    @property
    def params(self):
        return (_key(self.rows), _key(self.cols))

    @property
    def shape(self):
        return tuple(
            len(range(*s.indices(n))) if isinstance(s, slice) else len(s)
            for s, n in zip((self.rows, self.cols), self.a.shape, strict=True)
        )

    def describe(self):
        return f"Slice [{_short(self.rows)}, {_short(self.cols)}]"


def _key(index: Any) -> Any:
    return (index.start, index.stop, index.step) if isinstance(index, slice) else index


def _short(index: Any) -> str:
    if isinstance(index, slice):
        s = f"{'' if index.start is None else index.start}:{'' if index.stop is None else index.stop}"
        return s + (f":{index.step}" if index.step not in (None, 1) else "")
    return f"[{len(index)} positions]"


@dataclass(frozen=True, eq=False)
class MapBlocks(_Unary):
    """A user function applied to every row block."""

    func: Any = None
    ncol: int = 0
    out_dtype: Any = None
    out_sparse: bool = False
    name: ClassVar[str] = "MapBlocks"

    @property
    def params(self):
        return (tokenize(self.func), self.ncol, str(self.out_dtype), self.out_sparse)

    @property
    def shape(self):
        return (self.a.shape[0], self.ncol)

    @property
    def dtype(self):
        return np.dtype(self.out_dtype)

    @property
    def sparse(self):
        return self.out_sparse

    def describe(self):
        return f"MapBlocks {getattr(self.func, '__name__', type(self.func).__name__)}"


@dataclass(frozen=True, eq=False)
class Rechunk(_Unary):
    """New row-block sizes."""

    rows: tuple[int, ...] = ()
    name: ClassVar[str] = "Rechunk"

    @property
    def shape(self):
        return self.a.shape

    def describe(self):
        return f"Rechunk ({len(self.rows)} row blocks)"


@dataclass(frozen=True, eq=False)
class ColStat(_Unary):
    """One column statistic: ``sum``, ``mean``, ``var``, ``nnz``, ``sumsq`` or ``norm``."""

    stat: str = "sum"
    ddof: int = 0
    name: ClassVar[str] = "ColStat"

    @property
    def shape(self):
        return () if self.stat == "norm" else (self.a.shape[1],)

    @property
    def dtype(self):

        return col_stat_dtype(self.stat, self.a.dtype)

    @property
    def sparse(self):
        return False

    @property
    def local(self):
        return True


@dataclass(frozen=True, eq=False)
class RowStat(_Unary):
    """Row sums or means: a distributed vector with the matrix's row blocks."""

    stat: str = "sum"
    name: ClassVar[str] = "RowStat"

    @property
    def shape(self):
        return (self.a.shape[0],)

    @property
    def dtype(self):

        return col_stat_dtype(self.stat, self.a.dtype)

    @property
    def sparse(self):
        return False

    def describe(self):
        return f"RowStat {self.stat}"
