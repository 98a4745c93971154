"""Plan operators: the nodes the optimizer produces and ``explain()`` shows.

Each names one way to run a pass (a per-block kernel and how its partial
results are combined) and is lowered by :mod:`dlinalg.plan.lower` to the
matching function of :mod:`dlinalg.physical.reduce` or to a ``blockwise`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from dlinalg.physical.kernels import program_to_str
from dlinalg.physical.reduce import gram_panels
from dlinalg.plan.nodes import Node, _Binary, _Unary

__all__ = ["Gram", "AtB", "Ax", "AB", "ABt", "Fused", "ColStats", "Pick"]


@dataclass(frozen=True, eq=False)
class Gram(_Unary):
    """``A.T @ A``: per-block ``X_i^T X_i`` summed in a fixed-shape tree."""

    name: ClassVar[str] = "Gram"

    @property
    def shape(self):
        return (self.a.shape[1], self.a.shape[1])

    @property
    def local(self):
        return True

    def describe(self):

        panels = gram_panels(self.a.shape[1], self.a.dtype.itemsize)
        return "Gram (slim)" if len(panels) == 1 else f"Gram (fat, {len(panels)} column panels)"


@dataclass(frozen=True, eq=False)
class AtB(_Binary):
    """``A.T @ B`` for row-aligned A and B (B a matrix or a vector): one zipped pass."""

    name: ClassVar[str] = "AtB"

    @property
    def shape(self):
        return (self.a.shape[1], *self.b.shape[1:])

    @property
    def sparse(self):
        return self.a.sparse and self.b.sparse

    @property
    def local(self):
        return True

    def describe(self):
        return "Atx" if self.b.local else "AtB"


@dataclass(frozen=True, eq=False)
class Ax(_Binary):
    """``A @ x`` with x an in-core vector or matrix broadcast to every block."""

    name: ClassVar[str] = "Ax"

    @property
    def shape(self):
        return (self.a.shape[0], *self.b.shape[1:])

    @property
    def sparse(self):
        return False


@dataclass(frozen=True, eq=False)
class AB(_Binary):
    """``A @ B`` with B a (small) matrix gathered into one block per task."""

    name: ClassVar[str] = "AB"

    @property
    def shape(self):
        return (self.a.shape[0], self.b.shape[1])

    @property
    def sparse(self):
        return self.a.sparse and self.b.sparse


@dataclass(frozen=True, eq=False)
class ABt(_Binary):
    """``A @ B.T`` without materialising ``B.T``: B gathered, one product per block."""

    name: ClassVar[str] = "ABt"

    @property
    def shape(self):
        return (self.a.shape[0], self.b.shape[0])

    @property
    def sparse(self):
        return self.a.sparse and self.b.sparse


@dataclass(frozen=True, eq=False)
class Fused(Node):
    """A chain of elementwise/scalar operations run as one function per block.

    ``program`` is a nested tuple: ``("in", i)`` is the i-th input block,
    ``("const", v)`` a scalar, ``(op, arg, ...)`` an operation.
    """

    program: tuple
    inputs: tuple[Node, ...]
    out_dtype: Any = None
    out_sparse: bool = False
    name: ClassVar[str] = "Fused"

    @property
    def children(self):
        return self.inputs

    def with_children(self, children):
        return Fused(self.program, tuple(children), self.out_dtype, self.out_sparse)

    @property
    def params(self):
        return (self.program, str(self.out_dtype), self.out_sparse)

    @property
    def shape(self):
        return tuple(np.broadcast_shapes(*[i.shape for i in self.inputs]))

    @property
    def dtype(self):
        return np.dtype(self.out_dtype)

    @property
    def sparse(self):
        return self.out_sparse

    @property
    def local(self):
        return all(i.local for i in self.inputs)

    def describe(self):

        return f"Fused {program_to_str(self.program)}"


@dataclass(frozen=True, eq=False)
class ColStats(_Unary):
    """Several column statistics (and possibly the Gram) of one matrix in one pass."""

    stats: tuple[str, ...] = ()
    name: ClassVar[str] = "ColStats"

    @property
    def shape(self):
        return ()

    @property
    def dtype(self):
        return np.dtype(object)

    @property
    def sparse(self):
        return False

    @property
    def local(self):
        return True

    def describe(self):
        return f"ColStats ({', '.join(self.stats)}) in one pass"


@dataclass(frozen=True, eq=False)
class Pick(Node):
    """One named result out of a :class:`ColStats` pass."""

    source: ColStats
    stat: str
    ddof: int = 0
    shape_: tuple[int, ...] = field(default=())
    dtype_: Any = None
    sparse_: bool = False
    name: ClassVar[str] = "Pick"

    @property
    def children(self):
        return (self.source,)

    def with_children(self, children):
        return Pick(children[0], self.stat, self.ddof, self.shape_, self.dtype_, self.sparse_)

    @property
    def params(self):
        return (self.stat, self.ddof)

    @property
    def shape(self):
        return self.shape_

    @property
    def dtype(self):
        return np.dtype(self.dtype_)

    @property
    def sparse(self):
        return self.sparse_

    @property
    def local(self):
        return True

    def describe(self):
        return f"Pick {self.stat}" + (f" (ddof={self.ddof})" if self.stat == "var" else "")
