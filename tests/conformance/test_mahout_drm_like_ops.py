"""Mahout Samsara's DrmLike operator suite, run against dlinalg's DRM (issue 13).

Ported from ``core/src/test/scala/org/apache/mahout/math/drm/DrmLikeOpsSuiteBase.scala``
(Apache Mahout, tag ``mahout-14.1``); each case names the ``test("...")`` it
comes from and keeps its inputs, expected values and tolerances (``(X -
Y).norm`` is the Frobenius norm). Every case runs on one row block, on the
source's ``numPartitions`` and on one row per block, and on the ``scheduler``
fixture (synchronous and a LocalCluster).

Scala's ranges are inclusive: ``A(::, 1 to 2)`` is ``A[:, 1:3]``. Mahout's
``mapBlock`` hands the closure ``(keys, block)`` and may re-key rows;
dlinalg's ``map_blocks`` hands the block only and keeps the row labels
(documented in ``DRM.map_blocks``), so the keying cases assert that. Mahout
operators without a dlinalg name (``allreduceBlock``, ``dsqDist``) are written
with dlinalg's algebra, which is the documented way (the cheat sheet maps
``mapBlock`` and the products), and the plan each becomes is asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.spatial.distance import cdist

import dlinalg as dl
from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O

SOURCE = "core/src/test/scala/org/apache/mahout/math/drm/DrmLikeOpsSuiteBase.scala"

#: Row chunkings as functions of (rows, the source's numPartitions): rows per block.
CHUNKINGS = [
    pytest.param(lambda m, parts: m, id="one-block"),  # a single row block
    pytest.param(lambda m, parts: -(-m // parts), id="source-partitions"),  # numPartitions
    pytest.param(lambda m, parts: 1, id="row-per-block"),  # one row per block
]


def norm(x) -> float:
    """Mahout's ``Matrix.norm``: the Frobenius norm."""
    return float(np.linalg.norm(np.asarray(x, dtype=float)))


def dense(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def par(m, chunking, parts=2, **labels) -> dl.DRM:
    """``drmParallelize(m, numPartitions = parts)`` with dlinalg's row chunking."""
    return dl.from_array(m, chunks=chunking(m.shape[0], parts), **labels)


IN_CORE_A = dense((1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 6))


# DrmLikeOpsSuiteBase.scala: test("mapBlock")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_map_block(chunking, scheduler):
    A = par(IN_CORE_A, chunking)
    # keys -> (block += 1.0): dlinalg's block functions must not modify their input
    # in place (documented: blocks can be views of the caller's array), so + 1.0
    B = A.map_blocks(lambda block: block + 1.0)  # "Inherit width"
    assert B.shape == A.shape
    assert isinstance(B.optimized(), N.MapBlocks)
    assert norm(B.compute() - (IN_CORE_A + 1.0)) < 1e-10
    # B.keyClassTag shouldBe ClassTag.Int: rows stay positional (no labels)
    assert B.row_labels is None
    # and the caller's array is untouched
    assert_array_equal(IN_CORE_A, dense((1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 6)))


# DrmLikeOpsSuiteBase.scala: test ("mapBlock implicit keying")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_map_block_implicit_keying(chunking, scheduler):
    # Mahout's closure returns keys.map(_.toString) and the key type becomes String.
    # dlinalg's map_blocks sees no keys and keeps the row labels as they are
    # (documented): string keys are given where the matrix is made, and survive.
    A = par(IN_CORE_A, chunking, row_labels=["0", "1", "2", "3"])
    B = A.map_blocks(lambda block: block)
    assert B.row_labels == ("0", "1", "2", "3")
    assert all(type(k) is str for k in B.row_labels)  # keyClassTag shouldBe classTag[String]
    assert norm(B.compute() - IN_CORE_A) < 1e-10


# DrmLikeOpsSuiteBase.scala: test("allReduceBlock")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_all_reduce_block(chunking, scheduler):
    # drmA.allreduceBlock { block(::, 0 until 2).t %*% block(::, 2 until 3) } sums the
    # per-block products with +. dlinalg has no allreduceBlock; the same one-pass
    # sum of per-block X_i^T Y_i is its AtB plan over two column slices.
    mx_a = IN_CORE_A
    drm_a = par(mx_a, chunking)
    expr = drm_a[:, 0:2].T @ drm_a[:, 2:3]
    assert isinstance(expr.optimized(), O.AtB)
    mx_b = expr.compute()
    mx_control = mx_a[:, 0:2].T @ mx_a[:, 2:3]
    assert norm(mx_b - mx_control) < 1e-10


# DrmLikeOpsSuiteBase.scala: test("col range")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_col_range(chunking, scheduler):
    A = par(IN_CORE_A, chunking)
    B = A[:, 1:3]  # A(::, 1 to 2)
    assert isinstance(B.optimized(), N.Slice)
    assert norm(B.compute() - IN_CORE_A[:, 1:3]) < 1e-10


# DrmLikeOpsSuiteBase.scala: test("row range")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_row_range(chunking, scheduler):
    A = par(IN_CORE_A, chunking)
    B = A[1:3, :]  # A(1 to 2, ::)
    assert norm(B.compute() - IN_CORE_A[1:3, :]) < 1e-10


# DrmLikeOpsSuiteBase.scala: test("col, row range")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_col_row_range(chunking, scheduler):
    A = par(IN_CORE_A, chunking)
    B = A[1:3, 1:3]  # A(1 to 2, 1 to 2)
    assert norm(B.compute() - IN_CORE_A[1:3, 1:3]) < 1e-10


def _augment(x_side: bool):
    """Mahout's dsqDist by mapBlock: rows (|x|^2, 1, -2x) and (1, |y|^2, y) meet in A B'."""

    def block_fn(b):
        sq = (b * b).sum(axis=1)
        one = np.ones(b.shape[0])
        return np.column_stack([sq, one, -2 * b] if x_side else [one, sq, b])

    return block_fn


def dsq_dist(X: dl.DRM, Y: dl.DRM | None = None) -> dl.DRM:
    """Squared distances between the rows of X and of Y (Y = X when omitted), as ABt."""
    Y = X if Y is None else Y
    d = X.ncol + 2
    return X.map_blocks(_augment(True), ncol=d) @ Y.map_blocks(_augment(False), ncol=d).T


def symmetric_uniform(m, d, seed):
    # Matrices.symmetricUniformView(m, d, seed): uniform on [-1, 1) from Mahout's own
    # generator; a seeded numpy uniform on the same interval stands in for it.
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(m, d))


# DrmLikeOpsSuiteBase.scala: test("dsqDist(X,Y)")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_dsq_dist_x_y(chunking, scheduler):
    m, n, d = 100, 300, 7
    mx_x = symmetric_uniform(m, d, 12345) - 5
    mx_y = symmetric_uniform(n, d, 1234) + 10
    drm_x, drm_y = par(mx_x, chunking, 3), par(mx_y, chunking, 4)
    expr = dsq_dist(drm_x, drm_y)
    assert isinstance(expr.optimized(), O.ABt)  # one product, Y read as stored
    mx_dsq = expr.compute()
    mx_dsq_control = cdist(mx_x, mx_y, "sqeuclidean")
    assert norm(mx_dsq - mx_dsq_control) < 1e-7


# DrmLikeOpsSuiteBase.scala: test("dsqDist(X)")
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_dsq_dist_x(chunking, scheduler):
    m, d = 100, 7
    mx_x = symmetric_uniform(m, d, 12345) - 5
    drm_x = par(mx_x, chunking, 3)
    mx_dsq = dsq_dist(drm_x).compute()
    mx_dsq_control = cdist(mx_x, mx_x, "sqeuclidean")  # sqDist(X) in core
    assert norm(mx_dsq - mx_dsq_control) < 1e-7
