"""Row-wise chains in the plan: the tall factors of the decompositions and their passes.

The decompositions describe every tall factor as a chain of small in-memory
factors applied to the rows of A (``Q = A R_1^{-1} R_2^{-1}``, ``U = A Z T``;
see :class:`~dlinalg.physical.rowwise.RowChain`), and build each pass from
sums of such a factor. In the plan that is::

    RowMap(A, chain)                 Y = chain(A), block by block, never stored
    T(Y) @ Y  = Gram(Y)         -> PassPart(ChainPass(A, chain, gram), gram)
    T(A) @ Y  = AtB(A, Y)       -> PassPart(ChainPass(A, chain, atb), atb)
    col_sums(Y)                 -> PassPart(ChainPass(A, chain, colsum), colsum)

and :func:`fuse_passes` merges every :class:`ChainPass` over the same ``A``
and chain computed together into one read of A with the union of the sums, as
:func:`~dlinalg.plan.rewrite.fuse_statistics` does for column statistics. So
Cholesky-QR's second pass is written ``dl.compute(Y.T @ Y, A.T @ Y)`` and
runs once over A, and ``explain()`` shows it.

Rounding is part of the contract: a chain always walks a block in the same
row tiles, so ``Y`` materialised by :class:`RowMap` and the ``Y`` inside a
:class:`ChainPass` are the same bits (Cholesky-QR2 depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from dask.base import tokenize

from dlinalg.physical.rowwise import PASS_PARTS, RowChain
from dlinalg.plan.nodes import ColStat, Node, _Unary
from dlinalg.plan.operators import AtB, Gram

__all__ = ["RowMap", "ChainPass", "PassPart", "CHAIN_RULES", "fuse_passes"]


@dataclass(frozen=True, eq=False)
class RowMap(_Unary):
    """``Y = chain(A)``: each output row from the same row of A, one task per row block."""

    chain: RowChain = None  # type: ignore[assignment]
    name: ClassVar[str] = "RowMap"

    @property
    def params(self):
        return (tokenize(self.chain),)

    @property
    def shape(self):
        return (self.a.shape[0], self.chain.ncol)

    @property
    def dtype(self):
        return self.chain.out_dtype

    @property
    def sparse(self):
        return False

    @property
    def local(self):
        return False

    def describe(self):
        return f"RowMap {_steps(self.chain)}"


@dataclass(frozen=True, eq=False)
class ChainPass(_Unary):
    """One read of A giving sums of ``Y = chain(A)``: ``Y^T Y``, ``A^T Y``, column sums."""

    chain: RowChain = None  # type: ignore[assignment]
    want: tuple[str, ...] = ()
    name: ClassVar[str] = "ChainPass"

    @property
    def params(self):
        return (tokenize(self.chain), self.want)

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
        return f"ChainPass ({', '.join(self.want)}) of {_steps(self.chain)} in one pass"


@dataclass(frozen=True, eq=False)
class PassPart(_Unary):
    """One named sum (``gram``, ``atb``, ``colsum``) out of a :class:`ChainPass`."""

    part: str = "gram"
    name: ClassVar[str] = "PassPart"

    @property
    def shape(self):
        width, ncol = self.a.chain.ncol, self.a.a.shape[1]
        return {"gram": (width, width), "atb": (ncol, width), "colsum": (width,)}[self.part]

    @property
    def dtype(self):
        return np.dtype(np.float64)

    @property
    def sparse(self):
        return False

    @property
    def local(self):
        return True

    def describe(self):
        return f"PassPart {self.part}"


def _steps(chain: RowChain) -> str:
    kinds = " ".join(k for k, _ in chain.steps) or "identity"
    return f"({chain.ncol_in} -> {chain.ncol}: {kinds})"


def _part(a: Node, chain: RowChain, part: str) -> PassPart:
    return PassPart(ChainPass(a, chain, (part,)), part)


# ---------------------------------------------------------------------------
# Rewrites
# ---------------------------------------------------------------------------
def gram_of_chain(node: Node) -> Node | None:
    """``Gram(RowMap(A, c)) -> PassPart(ChainPass(A, c, gram))``: Y is never stored."""
    if isinstance(node, Gram) and isinstance(node.a, RowMap):
        return _part(node.a.a, node.a.chain, "gram")
    return None


def atb_of_chain(node: Node) -> Node | None:
    """``AtB(A, RowMap(A, c)) -> PassPart(ChainPass(A, c, atb))``: one zipped read of A."""
    if isinstance(node, AtB) and isinstance(node.b, RowMap) and node.b.a == node.a:
        return _part(node.a, node.b.chain, "atb")
    return None


def colsum_of_chain(node: Node) -> Node | None:
    """``colsum(RowMap(A, c)) -> PassPart(ChainPass(A, c, colsum))``."""
    if not (isinstance(node, ColStat) and node.stat == "sum" and isinstance(node.a, RowMap)):
        return None
    if node.a.chain.out_dtype != np.float64:  # the pass sums in float64
        return None
    return _part(node.a.a, node.a.chain, "colsum")


#: Tried before the general rules, so a chain's sums never materialise Y.
CHAIN_RULES = (gram_of_chain, atb_of_chain, colsum_of_chain)


def fuse_passes(nodes: list[Node]) -> list[Node]:
    """Let every :class:`ChainPass` over one ``(A, chain)`` in ``nodes`` share one read of A.

    The merged pass computes the union of the sums, in the canonical order of
    :data:`~dlinalg.physical.rowwise.PASS_PARTS`; each :class:`PassPart` reads its own.
    """
    wants: dict[tuple[str, str], set[str]] = {}

    def collect(n: Node) -> None:
        if isinstance(n, ChainPass):
            wants.setdefault(_pass_key(n), set()).update(n.want)
        for c in n.children:
            collect(c)

    for n in nodes:
        collect(n)
    if not wants:
        return nodes
    memo: dict[str, Node] = {}

    def visit(n: Node) -> Node:
        if n.token in memo:
            return memo[n.token]
        out = n.with_children(tuple(visit(c) for c in n.children)) if n.children else n
        if isinstance(out, ChainPass):
            union = wants[_pass_key(n)]
            out = ChainPass(out.a, out.chain, tuple(p for p in PASS_PARTS if p in union))
        memo[n.token] = out
        return out

    return [visit(n) for n in nodes]


def _pass_key(n: ChainPass) -> tuple[str, str]:
    return (n.a.token, tokenize(n.chain))
