"""Mahout Samsara's R-like DRM suite, run against dlinalg's DRM (issue 13: a drop-in for Mahout).

Ported from ``core/src/test/scala/org/apache/mahout/math/drm/RLikeDrmOpsSuiteBase.scala``
(Apache Mahout, tag ``mahout-14.1``); each case names the ``test("...")`` it
comes from and keeps its inputs, expected values and tolerances (Mahout's
``(X - Y).norm`` is the Frobenius norm, so ``norm(X - Y) < eps`` is written as
it is there; ``should equal`` is exact equality). Where the source asserts an
optimizer rewrite (``mahoutCtx.optimizerRewrite(C) should equal(OpAtB(A, B))``)
the case asserts dlinalg's plan node (``C.optimized() == O.AtB(...)``) and the
first line of ``C.explain()`` before the value, as the source does.

Every case runs on three row chunkings (Mahout's ``numPartitions``): one row
block, two row blocks (the source's ``numPartitions = 2``) and one row per
block, and on the ``scheduler`` fixture (synchronous and a LocalCluster): the
matrices are a few rows, so both are cheap.

Mahout's DSL spelled in Python (see the cheat sheet): ``drmParallelize(m)`` is
``dl.from_array(m, chunks=...)``, ``%*%`` is ``@``, ``A.t`` is ``A.T``,
``collect`` is ``compute()``, ``checkpoint()`` is ``persist()``,
``mapBlock`` is ``map_blocks`` (a block function without the keys),
``A cbind B`` is ``dl.cbind(A, B)``, ``colSums`` is ``col_sums()`` and so on.
Where dlinalg documents another behaviour (row keys: dlinalg pairs operands by
position and refuses labels that differ, it never joins by key) the case
asserts the documented behaviour and says why.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import dlinalg as dl
from dlinalg.errors import LabelError
from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O

SOURCE = "core/src/test/scala/org/apache/mahout/math/drm/RLikeDrmOpsSuiteBase.scala"
EPSILON = 1e-5  # the suite's ``val epsilon``

#: Row chunkings (Mahout's numPartitions): rows per block for an m-row matrix.
CHUNKINGS = [
    pytest.param(lambda m: m, id="one-block"),  # a single row block
    pytest.param(lambda m: -(-m // 2), id="two-blocks"),  # the source's numPartitions = 2
    pytest.param(lambda m: 1, id="row-per-block"),  # one row per block: every join crosses blocks
]


def norm(x) -> float:
    """Mahout's ``Matrix.norm``: the Frobenius norm (of dense or sparse)."""
    x = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=float)
    return float(np.sqrt((x * x).sum()))


def dense(*rows) -> np.ndarray:
    """Mahout's ``dense((1, 2), (3, 4))``: a double matrix of the given rows."""
    return np.array(rows, dtype=np.float64)


def par(m, chunking) -> dl.DRM:
    """Mahout's ``drmParallelize(m, numPartitions)`` with dlinalg's row chunking."""
    return dl.from_array(m, chunks=chunking(m.shape[0]))


def collect(x) -> np.ndarray:
    """Mahout's ``collect``: the value in memory, densified."""
    v = x.compute()
    return v.toarray() if sp.issparse(v) else np.asarray(v)


def root(expr) -> str:
    """The operator on the first line of ``explain()`` (e.g. ``Gram``, ``AtB``, ``Atx``)."""
    return expr.explain().splitlines()[0].split()[0]


# RLikeDrmOpsSuiteBase.scala: test("A.t")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_t(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5))
    A = par(in_core_a, chunking)
    assert norm(collect(A.T) - in_core_a.T) < EPSILON


# RLikeDrmOpsSuiteBase.scala: test("C = A %*% B")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_b(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A, B = par(in_core_a, chunking), par(in_core_b, chunking)
    control = in_core_a @ in_core_b
    C = A @ B
    # dlinalg's AB: B distributed, gathered once
    assert C.optimized() == O.AB(A.optimized(), B.optimized())
    assert norm(collect(C) - control) < 1e-10
    # "We also should be able to collect via implicit checkpoint": a second collect
    assert norm(collect(C) - control) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A %*% B mapBlock {}")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_b_map_block(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A = par(in_core_a, chunking).persist()  # checkpoint()
    B = par(in_core_b, chunking).persist()
    control = in_core_a @ in_core_b
    A.col_sums().compute()  # the source computes colSums of both checkpoints first
    B.col_sums().compute()
    # drmBroadcast(dvec(0, 0)) twice: in dlinalg a broadcast vector is a closure value
    x, x2 = np.zeros(2), np.zeros(2)
    # block(row, ::) += x.value + x2 on every row: dlinalg's map_blocks must not
    # modify its input in place (documented), so the block function returns a new one
    C = (B.T @ A.T).T.map_blocks(lambda block: block + (x + x2))
    assert norm(collect(C.persist()) - control) < 1e-10  # C checkpoint CacheHint.NONE collect
    assert norm(collect(C) - control) < 1e-10
    Q, _ = dl.qr(C)  # dqrThin(C)._1
    in_core_q = collect(Q)
    assert abs(in_core_q[:, 0] @ in_core_q[:, 0] - 1.0) < 1e-10  # unit-orthogonality
    assert abs(in_core_q[:, 0] @ in_core_q[:, 1]) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A %*% B incompatible B keys")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_b_incompatible_b_keys(chunking, request):
    # Mahout re-keys B to String and refuses A %*% B (Int columns of A meet String
    # rows of B). dlinalg pairs by position and does not join by key: an axis
    # without labels is positional (docs: user-guide, "operands meet by
    # position"), so the refusal happens when both sides carry labels that differ.
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A = dl.from_array(in_core_a, chunks=chunking(2), col_labels=[0, 1])
    B = dl.from_array(in_core_b, chunks=chunking(2), row_labels=["0", "1"])
    request.getfixturevalue("no_graph_no_compute")  # from here on, no graph may start
    with pytest.raises(LabelError, match="labels differ"):
        A @ B  # "This plan must not compile": refused while building the expression


# The positional half of the same case: without labels on A's columns, B's string
# row labels are just names, and A @ B is the positional product.
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_b_string_row_keys_are_positional(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A = par(in_core_a, chunking)
    B = dl.from_array(in_core_b, chunks=chunking(2), row_labels=["0", "1"])
    assert norm(collect(A @ B) - in_core_a @ in_core_b) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("Spark-specific C = At %*% B , join")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_at_times_b_join(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    in_core_b = dense((3, 5), (4, 6), (0, 1))
    A, B = par(in_core_a, chunking), par(in_core_b, chunking)
    C = A.T @ B
    assert C.optimized() == O.AtB(A.optimized(), B.optimized())  # OpAtB(A, B)
    assert root(C) == "AtB"
    assert norm(collect(C) - in_core_a.T @ in_core_b) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = At %*% B , join, String-keyed")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_at_times_b_join_string_keyed(chunking, scheduler):
    # Mahout re-keys both with mapBlock; dlinalg's map_blocks keeps the row labels
    # (it sees blocks, not keys), so the string keys are given at construction.
    # Equal labels meet: allowed, paired by position (which is the join here).
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    in_core_b = dense((3, 5), (4, 6), (0, 1))
    keys = ["0", "1", "2"]
    A = dl.from_array(in_core_a, chunks=chunking(3), row_labels=keys)
    B = dl.from_array(in_core_b, chunks=chunking(3), row_labels=keys)
    C = A.T @ B
    assert C.optimized() == O.AtB(A.optimized(), B.optimized())
    assert norm(collect(C) - in_core_a.T @ in_core_b) < 1e-10


# Where Mahout's join by key would pair "1" with "1" across a different order,
# dlinalg refuses (documented, tests/test_labels.py): never pairing keys silently.
def test_c_eq_at_times_b_keys_in_another_order_are_refused(request):
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    in_core_b = dense((3, 5), (4, 6), (0, 1))
    A = dl.from_array(in_core_a, chunks=2, row_labels=["0", "1", "2"])
    B = dl.from_array(in_core_b, chunks=2, row_labels=["0", "2", "1"])
    request.getfixturevalue("no_graph_no_compute")
    with pytest.raises(LabelError, match=r"B\[list\(A.row_labels\), :\]"):
        A.T @ B


def test_c_eq_at_times_b_keys_in_another_order_aligned_by_the_remedy(scheduler):
    # The remedy the refusal names gives Mahout's join result.
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    in_core_b = dense((3, 5), (4, 6), (0, 1))
    A = dl.from_array(in_core_a, chunks=2, row_labels=["0", "1", "2"])
    B = dl.from_array(in_core_b, chunks=2, row_labels=["0", "2", "1"])
    joined = in_core_b[[0, 2, 1]]  # B's rows in A's key order
    C = A.T @ B[list(A.row_labels), :]
    assert norm(collect(C) - in_core_a.T @ joined) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = At %*% B , zippable, String-keyed")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_at_times_b_zippable_string_keyed(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    A = dl.from_array(in_core_a, chunks=chunking(3), row_labels=["0", "1", "2"])
    # "Dense-A' x sparse-B used to produce error. We sparsify B here to test this as well."
    B = (A + 1.0).map_blocks(sp.csr_array, sparse=True)
    assert B.is_sparse
    C = A.T @ B
    assert C.optimized() == O.AtB(A.optimized(), B.optimized())
    assert norm(collect(C) - in_core_a.T @ (in_core_a + 1.0)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test ("C = A %*% B.t")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_b_t(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (-3, -5))
    A = par(in_core_a, chunking)
    B = A + 1.0
    C = A @ B.T
    assert C.optimized() == O.ABt(A.optimized(), B.optimized())  # OpABt(A, B)
    assert root(C) == "ABt"
    assert norm(collect(C) - in_core_a @ (in_core_a + 1.0).T) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A %*% inCoreB")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_times_in_core_b(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (4, 5, 6), (5, 6, 7))
    in_core_b = dense((3, 5, 7, 10), (4, 6, 9, 10), (5, 6, 7, 7))
    A = par(in_core_a, chunking)
    C = A @ in_core_b
    assert root(C) == "Ax"  # the in-memory factor is broadcast to every row block
    assert norm(collect(C) - in_core_a @ in_core_b) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = inCoreA %*%: B")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_in_core_a_times_b(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (4, 5, 6), (5, 6, 7))
    in_core_b = dense((3, 5, 7, 10), (4, 6, 9, 10), (5, 6, 7, 7))
    B = par(in_core_b, chunking)
    C = in_core_a @ B  # numpy defers to the DRM (``x %*%: A``)
    # x @ B -> T(AtB(B, T(x))): one pass over B's row blocks
    assert isinstance(C.optimized(), N.Transpose)
    assert isinstance(C.optimized().a, O.AtB)
    assert norm(collect(C) - in_core_a @ in_core_b) < 1e-10


# The transposed variant of the same case, x %*%: A.t (not in the source): dlinalg's
# x @ A.T was AtB(T(A), x), which gathers A's transpose into one block -- the whole
# matrix in one task. It is now A @ x read block by block (Ax), and the largest value
# any task holds is one row block (or the output), never A.
@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("left", ["vector", "matrix"])
def test_c_eq_in_core_a_times_b_t(chunking, left, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (4, 5, 6), (5, 6, 7))
    in_core_b = dense((3, 5, 7), (4, 6, 9), (5, 6, 7), (1, 2, 2), (0, 1, 8), (2, 2, 3))
    B = par(in_core_b, chunking)
    x = in_core_a[0] if left == "vector" else in_core_a
    C = x @ B.T
    if left == "vector":
        assert C.optimized() == O.Ax(B.optimized(), N.InCore(x))
    else:
        assert C.optimized() == N.Transpose(O.Ax(B.optimized(), N.Transpose(N.InCore(x))))
    assert norm(collect(C) - x @ in_core_b.T) < 1e-10


def test_in_core_a_times_b_t_never_holds_b_in_one_task():
    import dask

    from dlinalg.plan.lower import lower

    # generated blocks (no source array in the graph): 40 x 6 in 8 row blocks of 5
    B = dl.random((40, 6), chunks=5, seed=3)
    for x in (np.ones(6), np.ones((2, 6))):
        graph = dict(lower((x @ B.T).optimized()).__dask_graph__())
        sizes = [getattr(v, "size", 0) for v in dask.get(graph, list(graph))]
        assert max(sizes) <= max(5 * 6, x.size // 6 * 40)  # a row block, or the output


# RLikeDrmOpsSuiteBase.scala: test("C = A.t %*% A")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_t_times_a(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (4, 5, 6), (5, 6, 7))
    A = par(in_core_a, chunking)
    AtA = A.T @ A
    assert AtA.optimized() == O.Gram(A.optimized())  # "Assert optimizer detects square"
    assert root(AtA) == "Gram"
    assert norm(collect(AtA) - in_core_a.T @ in_core_a) < 1e-10
    # crossprod(A) is the R spelling of the same plan
    assert dl.crossprod(A).optimized() == O.Gram(A.optimized())


# RLikeDrmOpsSuiteBase.scala: test("C = A.t %*% A fat non-graph")
@pytest.mark.parametrize("chunking", [CHUNKINGS[0], CHUNKINGS[1]])  # 400 rows: not one per block
def test_c_eq_a_t_times_a_fat(chunking, scheduler):
    import dask

    # System.setProperty("mahout.math.AtA.maxInMemNCol", "540") forces Mahout's fat
    # path for 550 columns; dlinalg's switch is the panel budget in bytes, so a
    # budget of a 540 x 540 float64 Gram sends 550 columns down the fat path.
    # Matrices.uniformView(400, 550, 1234) is Mahout's RNG: a seeded uniform stands in.
    in_core_a = np.random.default_rng(1234).uniform(size=(400, 550))
    A = par(in_core_a, chunking)
    with dask.config.set({"dlinalg.gram-panel-bytes": 540 * 540 * 8}):
        AtA = A.T @ A
        assert AtA.optimized() == O.Gram(A.optimized())
        assert AtA.explain().startswith("Gram (fat, 2 column panels)")
        in_core_ata = collect(AtA)
    assert norm(in_core_ata - in_core_a.T @ in_core_a) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A.t %*% A non-int key")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_t_times_a_non_int_key(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (4, 5, 6), (5, 6, 7))
    A = dl.from_array(in_core_a, chunks=chunking(4), row_labels=["0", "1", "2", "3"])
    AtA = A.T @ A
    assert AtA.optimized() == O.Gram(A.optimized())
    assert norm(collect(AtA) - in_core_a.T @ in_core_a) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A + B")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_plus_b(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A, B = par(in_core_a, chunking), par(in_core_b, chunking)
    assert norm(collect(A + B) - (in_core_a + in_core_b)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A + B, identically partitioned")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_plus_b_identically_partitioned(chunking, scheduler):
    in_core_a = dense((1, 2, 3), (3, 4, 5), (5, 6, 7))
    A = par(in_core_a, chunking)
    # Mahout fills B with unseeded Random in a mapBlock and checkpoints it "to prevent
    # repeated computation non-determinism". dlinalg's block functions must be pure;
    # its random matrix is seeded and the same whatever the chunking, partitioned as A.
    B = dl.random((3, 3), chunks=A.chunks, seed=0).persist()
    assert B.chunks == A.chunks
    in_core_b = collect(B)
    assert norm(collect(A + B) - (in_core_a + in_core_b)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A + B side test 1")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_plus_b_side_test_1(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A, B = par(in_core_a, chunking), par(in_core_b, chunking)
    C = A + B
    in_core_c = collect(C)
    in_core_d = collect(A + B)
    control = in_core_a + in_core_b
    assert norm(in_core_c - control) < 1e-10
    assert norm(in_core_d - control) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A + B side test 2")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_plus_b_side_test_2(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    A = par(in_core_a, chunking).persist()
    B = par(in_core_b, chunking)
    control = in_core_a + in_core_b
    assert norm(collect(A + B) - control) < 1e-10
    assert norm(collect(A + B) - control) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A + B side test 3")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_plus_b_side_test_3(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    B = par(in_core_b, chunking)
    A = (par(in_core_a, chunking) + B).persist()  # checkpoint(CacheHint.MEMORY_ONLY)
    control = in_core_a + in_core_b * 2.0
    assert norm(collect(A + B) - control) < 1e-10
    assert norm(collect(A + B) - control) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("Ax")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_ax(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    x = np.array([10.0, 3.0])
    drm_a = par(in_core_a, chunking)
    ax = drm_a @ x
    assert root(ax) == "Ax"
    assert_array_equal(ax.compute(), in_core_a @ x)  # "should equal": exact


# RLikeDrmOpsSuiteBase.scala: test("A'x")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_at_x(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    x = np.array([10.0, 3.0, 4.0])
    drm_a = par(in_core_a, chunking)
    atx = drm_a.T @ x
    # OpAtx(drmA, x): dlinalg's AtB with an in-memory right side, shown as Atx
    assert atx.optimized() == O.AtB(drm_a.optimized(), N.InCore(x))
    assert root(atx) == "Atx"
    assert_array_equal(atx.compute(), in_core_a.T @ x)


# RLikeDrmOpsSuiteBase.scala: test("colSums, colMeans")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_col_sums_col_means(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    drm_a = par(in_core_a, chunking)
    assert_array_equal(drm_a.col_sums().compute(), in_core_a.sum(axis=0))
    assert_array_equal(drm_a.col_means().compute(), in_core_a.mean(axis=0))
    # both in one pass when computed together (Mahout runs each as its own job)
    sums, means = dl.compute(drm_a.col_sums(), drm_a.col_means())
    assert_array_equal(sums, in_core_a.sum(axis=0))
    assert_array_equal(means, in_core_a.mean(axis=0))


# RLikeDrmOpsSuiteBase.scala: test("rowSums, rowMeans")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_row_sums_row_means(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    drm_a = par(in_core_a, chunking)
    assert_array_equal(drm_a.row_sums().compute(), in_core_a.sum(axis=1))
    assert_array_equal(drm_a.row_means().compute(), in_core_a.mean(axis=1))


# colMeans / rowMeans on integer matrices (Mahout's are double; dlinalg keeps numpy's
# dtypes): numpy's mean and var of int64 accumulate in float64, so values near 2**62
# are right, and so are dlinalg's. The wrapping col_sums is numpy's too.
_BIG = np.array([[2**62, 2**62], [2**62, 1], [2**62, 3]], dtype=np.int64)


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize(
    ("stat", "truth"),
    [
        pytest.param("col_sums", lambda x: x.sum(axis=0), id="col_sums"),  # wraps, as numpy
        pytest.param("col_means", lambda x: x.mean(axis=0), id="col_means"),
        pytest.param("row_means", lambda x: x.mean(axis=1), id="row_means"),
        pytest.param("col_vars", lambda x: x.var(axis=0), id="col_vars"),
    ],
)
def test_integer_statistics_near_int64_max(stat, truth, chunking):
    drm_a = par(_BIG, chunking)
    got = getattr(drm_a, stat)().compute()
    want = truth(_BIG)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12)


# RLikeDrmOpsSuiteBase.scala: test("A.diagv")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_diagv(chunking, scheduler):
    # dlinalg has no diag operator (not in the DESIGN's R-like surface); the diagonal
    # of a square DRM is written with the algebra: the row sums of A * I.
    in_core_a = dense((1, 2, 3), (3, 4, 5), (20, 30, 7))
    drm_a = par(in_core_a, chunking)
    diagv = (drm_a * dl.eye(3, chunks=drm_a.chunks)).row_sums()
    assert_array_equal(diagv.compute(), np.diag(in_core_a))


# RLikeDrmOpsSuiteBase.scala: test("numNonZeroElementsPerColumn")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_num_non_zero_elements_per_column(chunking, scheduler):
    in_core_a = dense((0, 2), (3, 0), (0, -30))
    drm_a = par(in_core_a, chunking)
    assert_array_equal(drm_a.col_nnz().compute(), np.count_nonzero(in_core_a, axis=0))
    # and on CSR row blocks
    sparse_a = dl.from_array(sp.csr_array(in_core_a), chunks=chunking(3))
    assert_array_equal(sparse_a.col_nnz().compute(), [1, 2])


# RLikeDrmOpsSuiteBase.scala: test("C = A cbind B, cogroup")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_cbind_b_cogroup(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    in_core_b = dense((3, 5), (4, 6))
    control_c = dense((1, 2, 3, 5), (3, 4, 4, 6))
    A = par(in_core_a, chunking).persist()
    B = par(in_core_b, chunking).persist()
    assert root(dl.cbind(A, B)) == "CBind"
    assert norm(collect(dl.cbind(A, B)) - control_c) < 1e-10


# ... and with another row chunking on each side (Mahout's cogroup of unequal partitions)
def test_c_eq_a_cbind_b_unequal_row_blocks(scheduler):
    in_core_a = dense((1, 2), (3, 4), (5, 6))
    in_core_b = dense((3, 5), (4, 6), (7, 8))
    A = dl.from_array(in_core_a, chunks=1)
    B = dl.from_array(in_core_b, chunks=2)
    assert norm(collect(dl.cbind(A, B)) - np.hstack([in_core_a, in_core_b])) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A cbind B, zip")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_cbind_b_zip(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    control_c = dense((1, 2, 2, 3), (3, 4, 4, 5))
    A = par(in_core_a, chunking).persist()
    assert norm(collect(dl.cbind(A, A + 1.0)) - control_c) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("B = 1 cbind A")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_b_eq_1_cbind_a(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    control = dense((1, 1, 2), (1, 3, 4))
    drm_a = par(in_core_a, chunking)
    assert norm(control - collect(dl.cbind(1, drm_a))) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("B = A cbind 1")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_b_eq_a_cbind_1(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4))
    control = dense((1, 2, 1), (3, 4, 1))
    drm_a = par(in_core_a, chunking)
    assert norm(control - collect(dl.cbind(drm_a, 1))) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("B = A + 1.0")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_b_eq_a_plus_1(chunking, scheduler):
    in_core_a = dense((1, 2), (2, 3), (3, 4))
    drm_b = par(in_core_a, chunking) + 1.0
    assert norm(collect(drm_b) - (in_core_a + 1.0)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A rbind B")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_rbind_b(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 5))
    in_core_b = dense((7, 11), (13, 17))
    control_c = dense((1, 2), (3, 5), (7, 11), (13, 17))
    A = par(in_core_a, chunking).persist()
    B = par(in_core_b, chunking).persist()
    C = dl.rbind(A, B)
    assert root(C) == "RBind"
    assert norm(collect(C) - control_c) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("C = A rbind B, with empty")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_c_eq_a_rbind_b_with_empty(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 5))
    # drmParallelizeEmpty(nrow = 2, ncol = 2, numPartitions = 2)
    empty_b = dl.zeros((2, 2), chunks=chunking(2))
    control_c = dense((1, 2), (3, 5), (0, 0), (0, 0))
    A = par(in_core_a, chunking).persist()
    assert norm(collect(dl.rbind(A, empty_b)) - control_c) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("scalarOps")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_scalar_ops(chunking, scheduler):
    drm_a = par(dense((1, 2, 3), (3, 4, 5), (7, 8, 9)), chunking)
    # 10 * drmA - (10 *: drmA): Python's 10 * A and A * 10
    assert (10 * drm_a - drm_a * 10).norm().compute() == 0


# RLikeDrmOpsSuiteBase.scala: test("A * A -> sqr(A) rewrite ")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_times_a_sqr_rewrite(chunking, scheduler):
    mx_a = dense((1, 2, 3), (3, 4, 5), (7, 8, 9))
    drm_a = par(mx_a, chunking)
    drm_aa = drm_a * drm_a
    # Mahout rewrites A * A into a unary function of A (OpAewUnaryFunc, sqr): read A
    # once. dlinalg's equivalent: one Fused block function whose only input is A.
    optimized = drm_aa.optimized()
    assert isinstance(optimized, O.Fused)
    assert optimized.inputs == (drm_a.optimized(),)
    assert norm(mx_a * mx_a - collect(drm_aa)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("B = 1 + 2 * (A * A) ew unary function fusion")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_ew_unary_function_fusion(chunking, scheduler):
    mx_a = dense((1, 2, 3), (3, 0, 5))
    control_b = 1 + 2 * mx_a * mx_a
    drm_a = par(mx_a, chunking)
    drm_b = 1 + 2 * (drm_a * drm_a)
    optimized = drm_b.optimized()  # OpAewUnaryFuncFusion: the whole chain in one function
    assert isinstance(optimized, O.Fused)
    assert optimized.inputs == (drm_a.optimized(),)
    assert root(drm_b) == "Fused"
    assert norm(control_b - collect(drm_b)) < 1e-10


# RLikeDrmOpsSuiteBase.scala: test("functional apply()")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_functional_apply(chunking, scheduler):
    # sparse((1 -> 3) :: (7 -> 7) :: Nil, (4 -> 5) :: (5 -> 8) :: Nil): 2 x 8
    mx_a = sp.csr_array(([3.0, 7.0, 5.0, 8.0], ([0, 0, 1, 1], [1, 7, 4, 5])), shape=(2, 8))
    control = mx_a.toarray()
    drm_a = dl.from_array(mx_a, chunks=chunking(2))
    # drmA(x => x + 1) and drmA(x => x * 2): dlinalg spells elementwise functions
    # as operators (fused), or as map_blocks over whole blocks
    assert norm(collect(drm_a + 1) - (control + 1)) < 1e-7
    assert norm(collect(drm_a * 2) - 2 * control) < 1e-7
    plus1 = drm_a.map_blocks(lambda b: b.toarray() + 1, sparse=False)
    times2 = drm_a.map_blocks(lambda b: b * 2)
    assert norm(collect(plus1) - (control + 1)) < 1e-7
    assert times2.is_sparse
    assert norm(collect(times2) - 2 * control) < 1e-7


# --- found while porting: Mahout's A.t %*% (A %*% x) spelled with a distributed vector ------
# In Mahout y = A %*% x is an n x 1 DRM and A.t %*% y is OpAtB. In dlinalg y is a
# distributed vector and y @ A (numpy's vector-matrix product) is the same A.T @ y;
# it used to be planned as AB(y, A), a matrix product of y's blocks, and crashed with
# an IndexError at compute time (as did C @ y and y @ C.T).
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_distributed_vector_times_drm(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    in_core_c = dense((1, 0, 2), (0, 3, 1))
    x = np.array([10.0, 3.0])
    A = par(in_core_a, chunking)
    C = dl.from_array(in_core_c, chunks=chunking(2))
    y, in_core_y = A @ x, in_core_a @ x
    yA = y @ A
    assert yA.optimized() == O.AtB(A.optimized(), y.optimized())  # OpAtB(A, y)
    assert_array_equal(yA.compute(), in_core_y @ in_core_a)
    assert_array_equal((A.T @ y).compute(), in_core_a.T @ in_core_y)
    Cy = C @ y  # y gathered as the in-memory x of Ax
    assert Cy.optimized() == O.Ax(C.optimized(), y.optimized())
    assert_array_equal(Cy.compute(), in_core_c @ in_core_y)
    yCt = y @ C.T  # = C @ y, C read as stored
    assert yCt.optimized() == O.Ax(C.optimized(), y.optimized())
    assert_array_equal(yCt.compute(), in_core_y @ in_core_c.T)


# Row statistics and the norm of A.T read A as stored: rowSums(A.t) is colSums(A).
# They used to gather A's transpose into one block (the whole matrix in one task).
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_statistics_of_a_transpose(chunking, scheduler):
    in_core_a = dense((1, 2), (3, 4), (20, 30))
    drm_a = par(in_core_a, chunking)
    for stat, truth in [
        ("row_sums", in_core_a.sum(axis=0)),
        ("row_means", in_core_a.mean(axis=0)),
        ("norm", np.linalg.norm(in_core_a)),
    ]:
        expr = getattr(drm_a.T, stat)()
        source = expr.optimized().source  # Pick(ColStats(A)): one pass over A's blocks
        assert isinstance(source, O.ColStats)
        assert source.a == drm_a.optimized()
        np.testing.assert_allclose(expr.compute(), truth, rtol=1e-15)


def test_statistics_of_a_transpose_never_hold_a_in_one_task():
    import dask

    from dlinalg.plan.lower import lower

    B = dl.random((40, 6), chunks=5, seed=3)  # generated: no source array in the graph
    for expr in (B.T.row_sums(), B.T.row_means(), B.T.norm()):
        graph = dict(lower(expr.optimized()).__dask_graph__())
        assert max(getattr(v, "size", 0) for v in dask.get(graph, list(graph))) <= 5 * 6


# A distributed vector broadcast over the rows of a DRM (numpy: X - v, v of length
# ncol): the vector is gathered into one block, as a local vector (col_sums) is.
def test_distributed_vector_broadcast_over_columns():
    in_core_a = dense((1, 2, 3), (3, 4, 5), (20, 30, 7))
    in_core_b = dense((1, 1, 1), (2, 2, 2))
    A = dl.from_array(in_core_a, chunks=2)
    B = dl.from_array(in_core_b, chunks=1)
    v = A.row_sums()  # a distributed vector of length 3 = B's ncol
    np.testing.assert_array_equal((B - v).compute(), in_core_b - in_core_a.sum(axis=1))
