"""The optimizer: a table of pure rewrites from logical nodes to plan operators.

Each rule is a function ``Node -> Node | None`` that looks at one node whose
children are already optimized and returns a replacement, or ``None`` when
it does not apply. :func:`optimize` applies the table bottom-up until nothing
changes, in the spirit of Mahout Samsara's ``DistributedEngine`` pass::

    T(T(A))          -> A
    T(A) @ A         -> Gram(A)
    T(A) @ B         -> AtB(A, B)        (B row-aligned with A, one zipped pass)
    T(A) @ x         -> AtB(A, x)        (shown as Atx: x in memory)
    x @ A            -> AtB(A, x)        (and its transpose for a 2-D x)
    x @ T(B)         -> Ax(B, x)         (B read as stored; transposed for a 2-D x)
    y @ A            -> AtB(A, y)        (y a distributed vector; y @ T(B) -> Ax(B, y))
    A @ T(B)         -> ABt(A, B)
    A @ x            -> Ax(A, x)         (x in memory, or a distributed vector gathered)
    A @ B            -> AB(A, B)         (B distributed, gathered once)
    elementwise(...) -> Fused(program)   (a chain becomes one block function)
    rowstat(T(A))    -> colstat(A)       (sums and means; norm(T(A)) -> norm(A))
    colstat(A)       -> Pick(ColStats(A))
    Gram/AtB/colsum of RowMap(A, chain) -> PassPart(ChainPass(A, chain))
                                          (see :mod:`dlinalg.plan.chain`)

:func:`fuse` holds the rewrites that look across expressions computed
together: the column statistics and slim Grams of one matrix share a single
:class:`ColStats` pass (:func:`fuse_statistics`), and the sums of one row-wise
chain share a single :class:`~dlinalg.plan.chain.ChainPass`.
"""

from __future__ import annotations

from collections.abc import Callable

from dlinalg.physical.kernels import STAT_NEEDS
from dlinalg.physical.reduce import gram_panels
from dlinalg.plan.chain import CHAIN_RULES, fuse_passes
from dlinalg.plan.nodes import ColStat, Elemwise, MatMul, Node, RowStat, Scalar, Transpose
from dlinalg.plan.operators import AB, ABt, AtB, Ax, ColStats, Fused, Gram, Pick

__all__ = ["RULES", "optimize", "fuse", "fuse_statistics"]

Rule = Callable[[Node], Node | None]


def _distributed(node: Node) -> bool:
    return not node.local


def double_transpose(node: Node) -> Node | None:
    if isinstance(node, Transpose) and isinstance(node.a, Transpose):
        return node.a.a
    return None


def transpose_of_gram(node: Node) -> Node | None:
    """``T(A'A) -> A'A``: a Gram matrix is symmetric."""
    if isinstance(node, Transpose) and isinstance(node.a, Gram):
        return node.a
    return None


def at_b(node: Node) -> Node | None:
    """``T(A) @ A -> Gram(A)``; ``T(A) @ B -> AtB(A, B)``; ``T(A) @ x -> Atx``."""
    if not (isinstance(node, MatMul) and isinstance(node.a, Transpose)):
        return None
    a, b = node.a.a, node.b
    if not _distributed(a):
        return None
    if a == b:
        return Gram(a)
    return AtB(a, b)


def x_a(node: Node) -> Node | None:
    """``x @ A -> AtB(A, x)`` for an in-memory vector; ``X @ A -> T(AtB(A, T(X)))``.

    ``x @ T(B) -> Ax(B, x)`` and ``X @ T(B) -> T(Ax(B, T(X)))``: B is read as
    stored, one row block per task. (As ``AtB(T(B), x)`` the transpose of B
    would be gathered into one block: the whole matrix in one task.)
    """
    if not (isinstance(node, MatMul) and node.a.local and _distributed(node.b)):
        return None
    if isinstance(node.b, Transpose):
        if len(node.a.shape) == 1:
            return Ax(node.b.a, node.a)
        return Transpose(Ax(node.b.a, Transpose(node.a)))
    if len(node.a.shape) == 1:
        return AtB(node.b, node.a)
    return Transpose(AtB(node.b, Transpose(node.a)))


def y_a(node: Node) -> Node | None:
    """``y @ A -> AtB(A, y)``; ``y @ T(B) -> Ax(B, y)`` for a distributed vector y.

    A distributed vector (``A @ x``) times a distributed matrix is the
    vector-matrix product, never a matrix product of y's blocks.
    """
    if not (
        isinstance(node, MatMul)
        and len(node.a.shape) == 1
        and _distributed(node.a)
        and _distributed(node.b)
    ):
        return None
    if isinstance(node.b, Transpose):
        return Ax(node.b.a, node.a)
    return AtB(node.b, node.a)


def a_bt(node: Node) -> Node | None:
    """``A @ T(B) -> ABt(A, B)``: B is read as stored, never transposed."""
    if (
        isinstance(node, MatMul)
        and _distributed(node.a)
        and isinstance(node.b, Transpose)
        and not isinstance(node.a, Transpose)
    ):
        return ABt(node.a, node.b.a)
    return None


def a_x(node: Node) -> Node | None:
    """``A @ x -> Ax``; ``A @ B -> AB`` (B gathered in one block)."""
    # T(A) @ B never reaches here: at_b, earlier in the table, rewrites it
    if not (isinstance(node, MatMul) and _distributed(node.a)):
        return None
    if node.b.local or len(node.b.shape) == 1:  # a distributed vector is gathered as x
        return Ax(node.a, node.b)
    return AB(node.a, node.b)


def fuse_elemwise(node: Node) -> Node | None:
    """Merge an elementwise op and its elementwise inputs into one Fused node."""
    if not isinstance(node, Elemwise):
        return None
    inputs: list[Node] = []

    def ref(child: Node) -> tuple:
        if isinstance(child, Scalar):
            return ("const", child.value)
        if isinstance(child, Fused):
            offsets = [_index(inputs, i) for i in child.inputs]
            return _renumber(child.program, offsets)
        return ("in", _index(inputs, child))

    program = (node.op, *[ref(c) for c in node.args])
    return Fused(program, tuple(inputs), node.dtype, node.sparse)


def _index(inputs: list[Node], child: Node) -> int:
    for i, existing in enumerate(inputs):
        if existing == child:
            return i
    inputs.append(child)
    return len(inputs) - 1


def _renumber(program: tuple, offsets: list[int]) -> tuple:
    if program[0] == "in":
        return ("in", offsets[program[1]])
    if program[0] == "const":
        return program
    return (program[0], *[_renumber(p, offsets) for p in program[1:]])


def stat_of_transpose(node: Node) -> Node | None:
    """Statistics of ``T(A)`` that read A as stored, never its gathered transpose.

    ``rowsum/rowmean(T(A)) -> colsum/colmean(A)`` and ``norm(T(A)) -> norm(A)``.
    (Column sums of ``T(A)`` stay as they are: as A's row sums they would turn
    an in-memory vector into a distributed one, which broadcasts differently.)
    """
    if not (isinstance(node, ColStat | RowStat) and isinstance(node.a, Transpose)):
        return None
    a = node.a.a
    if not _distributed(a):
        return None
    if isinstance(node, RowStat):
        return ColStat(a, node.stat)
    if node.stat == "norm":
        return ColStat(a, "norm")
    return None


def col_stat(node: Node) -> Node | None:
    """``colstat(A) -> Pick(ColStats(A, partial sums))``."""
    if not isinstance(node, ColStat):
        return None
    source = ColStats(node.a, STAT_NEEDS[node.stat])
    return Pick(source, node.stat, node.ddof, node.shape, node.dtype, False)


#: The rewrite table, tried in order on every node.
RULES: tuple[Rule, ...] = (
    double_transpose,
    transpose_of_gram,
    at_b,
    x_a,
    y_a,
    a_bt,
    a_x,
    fuse_elemwise,
    stat_of_transpose,
    *CHAIN_RULES,
    col_stat,
)


def optimize(node: Node, rules: tuple[Rule, ...] = RULES) -> Node:
    """Rewrite ``node`` bottom-up with ``rules`` until no rule applies."""
    memo: dict[str, Node] = {}

    def visit(n: Node) -> Node:
        if n.token in memo:
            return memo[n.token]
        out = n.with_children(tuple(visit(c) for c in n.children)) if n.children else n
        for rule in rules:
            new = rule(out)
            if new is not None:
                out = visit(new)
                break
        memo[n.token] = out
        return out

    return visit(node)


def fuse(nodes: list[Node]) -> list[Node]:
    """The rewrites across optimized expressions computed together: shared passes."""
    return fuse_passes(fuse_statistics(nodes))


def fuse_statistics(nodes: list[Node]) -> list[Node]:
    """Let statistics of the same matrix share one pass across ``nodes``.

    Every ``ColStats`` over one matrix, and every slim ``Gram`` of a matrix that
    also has statistics requested, becomes one ``ColStats`` with the union of
    the partial sums; the ``Pick`` nodes read their value out of it.
    """
    needs: dict[str, set[str]] = {}
    grams: set[str] = set()

    def collect(n: Node) -> None:
        if isinstance(n, ColStats):
            needs.setdefault(n.a.token, set()).update(n.stats)
        elif isinstance(n, Gram):
            grams.add(n.a.token)
        for c in n.children:
            collect(c)

    for n in nodes:
        collect(n)
    if not needs:
        return nodes
    memo: dict[str, Node] = {}

    def merged(token: str, a: Node) -> ColStats:
        stats = set(needs[token])
        if token in grams and len(gram_panels(a.shape[1], a.dtype.itemsize)) == 1:
            stats.add("gram")
        return ColStats(a, tuple(sorted(stats)))

    def visit(n: Node) -> Node:
        if n.token in memo:
            return memo[n.token]
        out = n.with_children(tuple(visit(c) for c in n.children)) if n.children else n
        if isinstance(n, ColStats) and n.a.token in needs:
            out = merged(n.a.token, out.a)
        elif isinstance(n, Gram) and n.a.token in needs:
            source = merged(n.a.token, out.a)
            if "gram" in source.stats:
                out = Pick(source, "gram", 0, out.shape, out.dtype, out.sparse)
        memo[n.token] = out
        return out

    return [visit(n) for n in nodes]
