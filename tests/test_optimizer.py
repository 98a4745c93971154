"""The optimizer: every rewrite is asserted on the plan first, then on its value.

In the style of Mahout's ``RLikeDrmOpsSuiteBase``: build an expression, check
that the optimized plan has the expected physical operator (and that no
logical ``MatMul``/``Elemwise``/``ColStat`` is left), check that ``explain()``
names it, then compare the computed value with numpy. Further down: purity of
the rewrite, the cross-expression statistics fusion (``fuse_statistics``) and
pass counting on the lowered Dask graph.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from dask.core import get_deps
from dask.utils import key_split

import dlinalg as dl
from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O
from dlinalg.plan.lower import Lowering
from dlinalg.plan.rewrite import RULES, fuse_statistics, optimize

NROW, NCOL = 60, 5

# Row chunkings the values are checked on (the plan does not depend on them).
CHUNKINGS = [
    pytest.param(NROW, id="one-chunk"),  # a single row block
    pytest.param(12, id="many-chunks"),  # five equal row blocks
    pytest.param(23, id="uneven-last"),  # 23 + 23 + 14 rows
    pytest.param("dask-colchunks", id="dask-colchunks"),  # dask input chunked by columns too
]


@dataclass(frozen=True)
class Ops:
    """The operands of the rewrite table: DRMs and the numpy arrays they hold."""

    A: Any  # NROW x NCOL, the matrix under test
    B: Any  # NROW x 3, row-aligned with A (A.T @ B)
    E: Any  # NROW x NCOL, same shape as A (elementwise)
    C: Any  # 7 x NCOL, same columns as A (A @ C.T)
    D: Any  # NCOL x 3, a distributed right factor (A @ D)
    X: np.ndarray
    Y: np.ndarray
    XE: np.ndarray
    XC: np.ndarray
    XD: np.ndarray
    v: np.ndarray  # (NROW,)  in-core vector on the row side
    x: np.ndarray  # (NCOL,)  in-core vector on the column side
    M: np.ndarray  # (2, NROW) in-core matrix multiplied from the left
    W: np.ndarray  # (NCOL, 2) in-core matrix multiplied from the right


def _matrix(shape, chunks, dtype, sparse, seed):
    rng = np.random.default_rng(seed)
    if sparse:
        data = sp.random_array(shape, density=0.3, rng=rng, format="csr", dtype=dtype)
        dense = data.toarray()
    else:
        dense = rng.standard_normal(shape).astype(dtype)
        data = dense
    if chunks == "dask-colchunks":
        return dl.from_array(da.from_array(data, chunks=(17, 2), asarray=not sparse)), dense
    return dl.from_array(data, chunks=min(chunks, shape[0])), dense


def make_ops(chunks=12, dtype=np.float64, sparse=False) -> Ops:
    A, X = _matrix((NROW, NCOL), chunks, dtype, sparse, 0)
    B, Y = _matrix((NROW, 3), chunks, dtype, sparse, 1)
    E, XE = _matrix((NROW, NCOL), chunks, dtype, sparse, 2)
    C, XC = _matrix((7, NCOL), 3 if chunks != "dask-colchunks" else chunks, dtype, sparse, 3)
    D, XD = _matrix((NCOL, 3), 2 if chunks != "dask-colchunks" else chunks, dtype, sparse, 4)
    rng = np.random.default_rng(5)
    v, x, M, W = (rng.standard_normal(s).astype(dtype) for s in [NROW, NCOL, (2, NROW), (NCOL, 2)])
    return Ops(A, B, E, C, D, X, Y, XE, XC, XD, v, x, M, W)


# (build, plan, explain name, numpy truth). ``plan`` is (root class, child classes).
REWRITES = [
    # T(T(A)) -> A: the double transpose disappears, the plan is the leaf itself
    pytest.param(lambda o: o.A.T.T, (N.Leaf, ()), "Leaf", lambda o: o.X, id="T(T(A))->A"),
    # T(T(T(A))) @ A -> T(A) @ A -> Gram(A): rewrites compose
    pytest.param(
        lambda o: o.A.T.T.T @ o.A, (O.Gram, (N.Leaf,)), "Gram", lambda o: o.X.T @ o.X, id="TTT@A"
    ),
    # T(A) @ A -> Gram(A): per-block X_i^T X_i, tree-summed
    pytest.param(
        lambda o: o.A.T @ o.A, (O.Gram, (N.Leaf,)), "Gram", lambda o: o.X.T @ o.X, id="A'A->Gram"
    ),
    # T(A'A) -> A'A: a Gram matrix is symmetric
    pytest.param(
        lambda o: (o.A.T @ o.A).T, (O.Gram, (N.Leaf,)), "Gram", lambda o: o.X.T @ o.X, id="T(Gram)"
    ),
    # T(A) @ B -> AtB(A, B): row-aligned blocks zipped in one pass
    pytest.param(
        lambda o: o.A.T @ o.B,
        (O.AtB, (N.Leaf, N.Leaf)),
        "AtB",
        lambda o: o.X.T @ o.Y,
        id="A'B->AtB",
    ),
    # T(A) @ x -> AtB(A, x), shown as Atx because x is in memory
    pytest.param(
        lambda o: o.A.T @ o.v,
        (O.AtB, (N.Leaf, N.InCore)),
        "Atx",
        lambda o: o.X.T @ o.v,
        id="A'x->Atx",
    ),
    # x @ A -> AtB(A, x): a row vector times A is A' x
    pytest.param(
        lambda o: o.v @ o.A, (O.AtB, (N.Leaf, N.InCore)), "Atx", lambda o: o.v @ o.X, id="xA->Atx"
    ),
    # X @ A -> T(AtB(A, T(X))) for an in-core 2-D X: only the small result is transposed
    pytest.param(
        lambda o: o.M @ o.A, (N.Transpose, (O.AtB,)), "Atx", lambda o: o.M @ o.X, id="XA->T(AtB)"
    ),
    # A @ T(B) -> ABt(A, B): B is gathered as stored, never transposed
    pytest.param(
        lambda o: o.A @ o.C.T,
        (O.ABt, (N.Leaf, N.Leaf)),
        "ABt",
        lambda o: o.X @ o.XC.T,
        id="AB'->ABt",
    ),
    # A @ x -> Ax(A, x): x broadcast to every row block
    pytest.param(
        lambda o: o.A @ o.x, (O.Ax, (N.Leaf, N.InCore)), "Ax", lambda o: o.X @ o.x, id="Ax"
    ),
    # A @ W with an in-core matrix -> Ax as well
    pytest.param(
        lambda o: o.A @ o.W, (O.Ax, (N.Leaf, N.InCore)), "Ax", lambda o: o.X @ o.W, id="AW->Ax"
    ),
    # A @ D with D distributed -> AB(A, D): D gathered once
    pytest.param(
        lambda o: o.A @ o.D, (O.AB, (N.Leaf, N.Leaf)), "AB", lambda o: o.X @ o.XD, id="AB"
    ),
    # an elementwise chain over one matrix -> one Fused block function with one input
    pytest.param(
        lambda o: (o.A * 2 + 1).exp() - o.A,
        (O.Fused, (N.Leaf,)),
        "Fused",
        lambda o: np.exp(o.X * 2 + 1) - o.X,
        id="chain->Fused",
    ),
    # two matrices in one chain -> one Fused with two inputs
    pytest.param(
        lambda o: o.A + o.E * 3,
        (O.Fused, (N.Leaf, N.Leaf)),
        "Fused",
        lambda o: o.X + o.XE * 3,
        id="A+B*3->Fused",
    ),
    # a matrix used three times in a chain is one input of the Fused node
    pytest.param(
        lambda o: o.A * o.A + abs(-o.A) / 2,
        (O.Fused, (N.Leaf,)),
        "Fused",
        lambda o: o.X * o.X + abs(-o.X) / 2,
        id="shared-input->Fused",
    ),
    # crossprod(A) = A' A -> Gram
    pytest.param(
        lambda o: dl.crossprod(o.A),
        (O.Gram, (N.Leaf,)),
        "Gram",
        lambda o: o.X.T @ o.X,
        id="crossprod(A)",
    ),
    # crossprod(A, B) = A' B -> AtB
    pytest.param(
        lambda o: dl.crossprod(o.A, o.B),
        (O.AtB, (N.Leaf, N.Leaf)),
        "AtB",
        lambda o: o.X.T @ o.Y,
        id="crossprod(A,B)",
    ),
    # tcrossprod(A) = A A' -> ABt(A, A)
    pytest.param(
        lambda o: dl.tcrossprod(o.A),
        (O.ABt, (N.Leaf, N.Leaf)),
        "ABt",
        lambda o: o.X @ o.X.T,
        id="tcrossprod(A)",
    ),
    # tcrossprod(A, C) = A C' -> ABt
    pytest.param(
        lambda o: dl.tcrossprod(o.A, o.C),
        (O.ABt, (N.Leaf, N.Leaf)),
        "ABt",
        lambda o: o.X @ o.XC.T,
        id="tcrossprod(A,C)",
    ),
]

LOGICAL = (N.MatMul, N.Elemwise, N.ColStat)


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def operators(explain: str) -> list[str]:
    """The operator name that starts each line of an explain() tree."""
    return [re.sub(r"^[\s│├└─]*", "", line).split(" ")[0] for line in explain.splitlines()]


def dense(value):
    return value.toarray() if sp.issparse(value) else np.asarray(value)


def assert_close(got, want, dtype):
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(dense(got), want, rtol=tol, atol=tol * scale)


def assert_plan(expr, plan):
    root, kids = plan
    opt = expr.optimized()
    assert type(opt) is root, expr.explain()
    assert tuple(type(c) for c in opt.children) == kids, expr.explain()
    # no logical operator is left, and only small local results are transposed
    for n in walk(opt):
        assert not isinstance(n, LOGICAL), f"{n.describe()} left in\n{expr.explain()}"
        assert not isinstance(n, N.Transpose) or n.local, expr.explain()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize(("build", "plan", "name", "truth"), REWRITES)
def test_rewrite_plan_and_explain(build, plan, name, truth, sparse):
    o = make_ops(sparse=sparse)
    expr = build(o)
    assert_plan(expr, plan)
    text = expr.explain()
    assert name in operators(text), text
    assert "MatMul" not in text
    assert "Elemwise" not in text


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize(("build", "plan", "name", "truth"), REWRITES)
def test_rewrite_value(build, plan, name, truth, chunks, dtype, sparse):
    o = make_ops(chunks, dtype, sparse)
    expr = build(o)
    assert_plan(expr, plan)
    with dask.config.set(scheduler="sync"):
        got = expr.compute()
    want = truth(o)
    assert got.shape == want.shape
    assert np.dtype(got.dtype) == want.dtype
    assert_close(got, want, dtype)


@pytest.mark.parametrize(("build", "plan", "name", "truth"), REWRITES)
def test_rewrite_value_on_scheduler(build, plan, name, truth, scheduler):
    """The same plans on the synchronous scheduler and on a real LocalCluster."""
    o = make_ops(chunks=23)
    assert_close(build(o).compute(), truth(o), np.float64)


def test_explain_reads_like_a_plan():
    o = make_ops(chunks=20)
    assert (o.A.T @ o.A).explain() == (
        "Gram (slim)  [5 x 5 float64, local]\n"
        "└─ Leaf numpy (dense, 3 row blocks)  [60 x 5 float64]"
    )
    text = ((o.A * 2 + 1).exp() - o.A).explain()
    assert text.splitlines()[0].startswith("Fused (exp(((X0 * 2) + 1)) - X0)")
    assert operators(o.A.col_means().explain()) == ["Pick", "ColStats", "Leaf"]


def test_explain_sparse_input():
    o = make_ops(sparse=True)
    assert "Leaf scipy.sparse (csr, 5 row blocks)" in (o.A.T @ o.A).explain()
    assert operators(o.A.col_vars().explain()) == ["Pick", "ColStats", "Leaf"]
    assert operators((o.A * 2 + o.E).explain()) == ["Fused", "Leaf", "Leaf"]


# --------------------------------------------------------------------- purity


@pytest.mark.parametrize(("build", "plan", "name", "truth"), REWRITES)
def test_optimize_is_pure_and_idempotent(build, plan, name, truth):
    expr = build(make_ops())
    node = expr._node
    before_token, before_repr = node.token, repr(node)
    first, second = optimize(node), optimize(node)
    assert first.token == second.token
    assert first == second
    # the input plan is untouched
    assert expr._node is node
    assert node.token == before_token
    assert repr(node) == before_repr
    # optimizing an optimized plan changes nothing
    assert optimize(first).token == first.token


def test_rules_fire_in_table_order_and_do_not_mutate():
    """The first rule of RULES that matches a node is the one the table promises."""
    o = make_ops()
    expected = [
        (o.A.T.T._node, "double_transpose"),
        (N.Transpose(O.Gram(o.A._node)), "transpose_of_gram"),  # children come optimized
        ((o.A.T @ o.A)._node, "at_b"),
        ((o.A.T @ o.B)._node, "at_b"),
        ((o.v @ o.A)._node, "x_a"),
        ((o.A @ o.C.T)._node, "a_bt"),  # a_x would match too: a_bt comes first
        ((o.A @ o.x)._node, "a_x"),
        ((o.A * 2)._node, "fuse_elemwise"),
        (o.A.col_means()._node, "col_stat"),
    ]
    for node, rule_name in expected:
        token, text = node.token, repr(node)
        hits = [rule.__name__ for rule in RULES if rule(node) is not None]
        assert hits, rule_name
        assert hits[0] == rule_name, hits
        assert (node.token, repr(node)) == (token, text)


def test_optimize_shares_common_subexpressions():
    o = make_ops()
    node = N.MatMul(N.Transpose((o.A + 1)._node), (o.A + 1)._node)
    opt = optimize(node)
    assert isinstance(opt, O.Gram)
    assert isinstance(opt.a, O.Fused)


# ------------------------------------------------------- statistics fusion


def _fused(*exprs):
    return fuse_statistics([optimize(e._node) for e in exprs])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_col_means_and_gram_share_one_colstats_pass(sparse):
    o = make_ops(sparse=sparse)
    means, gram = _fused(o.A.col_means(), o.A.T @ o.A)
    assert isinstance(means, O.Pick)
    assert isinstance(gram, O.Pick)
    assert means.source is gram.source or means.source == gram.source
    assert isinstance(means.source, O.ColStats)
    assert {"gram", "fsum"} <= set(means.source.stats)  # a mean needs the float64 sum
    assert means.source.a == o.A._node
    with dask.config.set(scheduler="sync"):
        got_means, got_gram = dl.compute(o.A.col_means(), o.A.T @ o.A)
    assert_close(got_means, o.X.mean(axis=0), np.float64)
    assert_close(got_gram, o.X.T @ o.X, np.float64)
    assert sp.issparse(got_gram) == sparse


def test_several_statistics_share_one_pass():
    o = make_ops()
    nodes = _fused(o.A.col_means(), o.A.col_vars(ddof=1), o.A.col_nnz(), o.A.norm(), o.A.T @ o.A)
    sources = {n.source.token for n in nodes}
    assert len(sources) == 1
    assert set(nodes[0].source.stats) == {"fsum", "m2", "nnz", "sumsq", "gram"}


def test_statistics_of_different_matrices_are_not_merged():
    o = make_ops()
    a, e = _fused(o.A.col_means(), o.E.col_means())
    assert a.source != e.source
    assert a.source.a == o.A._node
    assert e.source.a == o.E._node


def test_crossprod_with_a_vector_is_atx():
    """``crossprod(X, y)`` is R's normal-equations idiom: it should be Atx."""
    o = make_ops()
    expr = dl.crossprod(o.A, o.v)
    assert_plan(expr, (O.AtB, (N.Leaf, N.InCore)))
    assert "Atx" in operators(expr.explain())
    assert_close(expr.compute(scheduler="sync"), o.X.T @ o.v, np.float64)


def test_gram_alone_is_not_turned_into_colstats():
    o = make_ops()
    (gram,) = _fused(o.A.T @ o.A)
    assert isinstance(gram, O.Gram)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_fat_gram_is_not_fused_but_right(sparse):
    o = make_ops(sparse=sparse)
    with dask.config.set({"dlinalg.gram-panel-bytes": 64, "scheduler": "sync"}):
        assert (o.A.T @ o.A).explain().startswith("Gram (fat, ")
        means, gram = _fused(o.A.col_means(), o.A.T @ o.A)
        assert isinstance(gram, O.Gram)
        assert isinstance(means, O.Pick)
        assert "gram" not in means.source.stats
        got_means, got_gram = dl.compute(o.A.col_means(), o.A.T @ o.A)
    assert_close(got_means, o.X.mean(axis=0), np.float64)
    assert_close(got_gram, o.X.T @ o.X, np.float64)


# ------------------------------------------------------------ pass counting


def _graph(*exprs):
    nodes = fuse_statistics([optimize(e._node) for e in exprs])
    low = Lowering()
    dsk = {}
    for n in nodes:
        dsk.update(dict(low.value(n).__dask_graph__()))
    return dsk


def _readers(dsk, drm):
    """For each input block key, the names of the tasks that read it."""
    _, dependents = get_deps(dsk)
    keys = [k for (k,) in drm.to_dask().__dask_keys__()]
    return [sorted(key_split(d) for d in dependents[k]) for k in keys]


@pytest.mark.parametrize(("chunks", "k"), [(NROW, 1), (20, 3), (13, 5)])
def test_gram_graph_touches_each_block_once(chunks, k):
    o = make_ops(chunks)
    dsk = _graph(o.A.T @ o.A)
    names = Counter(key_split(key) for key in dsk)
    assert names["gram_block"] == k
    assert names["stats_block"] == 0
    assert _readers(dsk, o.A) == [["gram_block"]] * k


@pytest.mark.parametrize(("chunks", "k"), [(NROW, 1), (20, 3), (13, 5)])
def test_fused_statistics_graph_has_one_kernel_per_block(chunks, k):
    o = make_ops(chunks)
    dsk = _graph(o.A.col_means(), o.A.col_vars(), o.A.T @ o.A)
    names = Counter(key_split(key) for key in dsk)
    assert names["stats_block"] == k
    assert names["gram_block"] == 0
    assert _readers(dsk, o.A) == [["stats_block"]] * k
