"""Laziness, compute counting, deterministic keys and reading the data once.

* Building any expression computes nothing: every construction runs under
  :func:`raise_if_dask_computes` (xarray's pattern), which installs a
  scheduler that raises and a :class:`dask.callbacks.Callback` that catches
  computes run on an explicitly named local scheduler.
* Each ``.compute()`` / ``dl.compute(...)`` is exactly one call to the scheduler.
* Keys come from ``tokenize``: the same expression on equal data gives the same
  graph (dask's ``test_linalg_consistent_names``), which is what makes a
  recomputation after a worker loss identical.
* Several statistics and the Gram of one matrix computed together read each
  row block exactly once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from dask.callbacks import Callback

import dlinalg as dl
from dlinalg.plan.lower import Lowering
from dlinalg.plan.rewrite import fuse_statistics, optimize


class CountingScheduler:
    """A dask ``get`` that counts its calls and raises past ``max_computes``."""

    def __init__(self, max_computes: int = 0):
        self.total_computes = 0
        self.max_computes = max_computes

    def __call__(self, dsk, keys, **kwargs):
        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(
                f"too many dask computations: {self.total_computes} > {self.max_computes}"
            )
        return dask.get(dsk, keys, **kwargs)


class _NoLocalCompute(Callback):
    """Fails any compute on a local scheduler, even one named explicitly."""

    def __init__(self, max_computes: int):
        super().__init__()
        self.starts = 0
        self.max_computes = max_computes

    def _start(self, dsk):
        self.starts += 1
        if self.starts > self.max_computes:
            raise RuntimeError(f"a dask computation started (#{self.starts})")


@contextlib.contextmanager
def raise_if_dask_computes(max_computes: int = 0) -> Iterator[CountingScheduler]:
    scheduler = CountingScheduler(max_computes)
    with dask.config.set(scheduler=scheduler), _NoLocalCompute(max_computes):
        yield scheduler


# ------------------------------------------------------------------ data


X = np.random.default_rng(0).standard_normal((40, 4))
Y = np.random.default_rng(1).standard_normal((40, 3))
SX = sp.random_array((40, 4), density=0.3, rng=np.random.default_rng(2), format="csr")
NBLOCKS = 4  # 40 rows in blocks of 10


@pytest.fixture
def A():
    return dl.from_array(X, chunks=10, col_labels=["a", "b", "c", "d"])


@pytest.fixture
def B():
    return dl.from_array(Y, chunks=10)


@pytest.fixture
def S():
    return dl.from_array(SX, chunks=10)


# Every way of building an expression; none of them may compute.
BUILDERS = [
    # construction
    pytest.param(lambda A, B, S: dl.from_array(X, chunks=7), id="from_array-numpy"),
    pytest.param(lambda A, B, S: dl.from_array(SX, chunks=7), id="from_array-sparse"),
    pytest.param(
        lambda A, B, S: dl.from_array(da.from_array(X, chunks=(9, 2)), chunks=10),
        id="from_array-dask",
    ),
    pytest.param(lambda A, B, S: dl.from_array(A, chunks=20), id="from_array-drm"),
    pytest.param(lambda A, B, S: dl.random((50, 3), chunks=7, seed=1), id="random"),
    pytest.param(lambda A, B, S: dl.random((50, 3), 7, 1, density=0.2), id="random-sparse"),
    pytest.param(lambda A, B, S: dl.zeros((5, 2), chunks=2), id="zeros"),
    pytest.param(lambda A, B, S: dl.ones((5, 2), chunks=2), id="ones"),
    pytest.param(lambda A, B, S: dl.eye(5, chunks=2, sparse=True), id="eye"),
    # elementwise arithmetic with every operand kind
    pytest.param(lambda A, B, S: (A + 1) * 2 - A / 3, id="arith-scalar"),
    pytest.param(lambda A, B, S: 1 - A, id="rsub"),
    pytest.param(lambda A, B, S: A**2 + 2**A, id="pow"),
    pytest.param(lambda A, B, S: (-A).abs().sqrt().exp().log() + abs(A), id="unary"),
    pytest.param(lambda A, B, S: A * A, id="arith-drm"),
    pytest.param(lambda A, B, S: A - np.arange(4.0), id="arith-row-vector"),
    pytest.param(lambda A, B, S: A - A.col_means(), id="arith-lazy-vector"),
    pytest.param(lambda A, B, S: S * 2 + S, id="arith-sparse"),
    pytest.param(lambda A, B, S: A + da.ones((40, 4), chunks=10), id="arith-dask-matrix"),
    pytest.param(
        lambda A, B, S: A * da.from_array(np.float64(2.0)),
        id="arith-dask-scalar",
    ),
    # transposes and products with every operand kind
    pytest.param(lambda A, B, S: A.T, id="T"),
    pytest.param(lambda A, B, S: A.T.T, id="TT"),
    pytest.param(lambda A, B, S: A.T @ A, id="gram"),
    pytest.param(lambda A, B, S: A.T @ B, id="atb"),
    pytest.param(lambda A, B, S: A @ np.ones(4), id="A@vector"),
    pytest.param(lambda A, B, S: A @ np.ones((4, 2)), id="A@matrix"),
    pytest.param(lambda A, B, S: A @ sp.csr_array(np.ones((4, 2))), id="A@sparse"),
    pytest.param(lambda A, B, S: A @ da.ones((4, 2), chunks=2), id="A@dask-matrix"),
    pytest.param(
        lambda A, B, S: A @ da.ones(4, chunks=2),
        id="A@dask-vector",
    ),
    pytest.param(lambda A, B, S: A @ A.T, id="ABt"),
    pytest.param(lambda A, B, S: A @ dl.from_array(np.ones((4, 2))), id="A@drm"),
    pytest.param(lambda A, B, S: np.ones(40) @ A, id="vector@A"),
    pytest.param(lambda A, B, S: np.ones((2, 40)) @ A, id="matrix@A"),
    pytest.param(lambda A, B, S: A.T @ np.ones(40), id="Atx"),
    pytest.param(lambda A, B, S: S.T @ S, id="sparse-gram"),
    pytest.param(lambda A, B, S: dl.crossprod(A), id="crossprod"),
    pytest.param(lambda A, B, S: dl.crossprod(A, B), id="crossprod-B"),
    pytest.param(lambda A, B, S: dl.tcrossprod(A), id="tcrossprod"),
    # slicing
    pytest.param(lambda A, B, S: A[3:17, 1:], id="slice"),
    pytest.param(lambda A, B, S: A[[0, 5, 39], ["a", "d"]], id="slice-lists-labels"),
    pytest.param(lambda A, B, S: A[np.arange(40) % 2 == 0], id="slice-mask"),
    pytest.param(lambda A, B, S: A[3], id="slice-row"),
    pytest.param(lambda A, B, S: A[3, "b"], id="slice-scalar"),
    # statistics
    pytest.param(lambda A, B, S: A.col_sums(), id="col_sums"),
    pytest.param(lambda A, B, S: A.col_means(), id="col_means"),
    pytest.param(lambda A, B, S: A.col_vars(ddof=1), id="col_vars"),
    pytest.param(lambda A, B, S: A.col_nnz(), id="col_nnz"),
    pytest.param(lambda A, B, S: A.row_sums(), id="row_sums"),
    pytest.param(lambda A, B, S: A.row_means(), id="row_means"),
    pytest.param(lambda A, B, S: A.norm(), id="norm"),
    # binding, blocks, rechunking
    pytest.param(lambda A, B, S: dl.cbind(A, 1.0, B), id="cbind"),
    pytest.param(lambda A, B, S: dl.rbind(A, A * 2), id="rbind"),
    pytest.param(lambda A, B, S: A.map_blocks(np.abs), id="map_blocks"),
    pytest.param(lambda A, B, S: A.map_blocks(lambda b: b[:, :2], ncol=2), id="map_blocks-ncol"),
    pytest.param(lambda A, B, S: A.rechunk(7), id="rechunk"),
    pytest.param(lambda A, B, S: A.rechunk((20, 20)).T @ A, id="rechunk-gram"),
    # inspecting an expression
    pytest.param(lambda A, B, S: ((A * 2).T @ (A + 1)).explain(), id="explain"),
    pytest.param(lambda A, B, S: (S.T @ S).explain(), id="explain-sparse"),
    pytest.param(lambda A, B, S: (A.T @ A).optimized(), id="optimized"),
    pytest.param(lambda A, B, S: (A @ A.T).to_dask(), id="to_dask"),
    pytest.param(lambda A, B, S: (A.T @ A).to_dask(), id="to_dask-local"),
    pytest.param(
        lambda A, B, S: ((A * 2).shape, (A * 2).dtype, (A * 2).chunks, (A.T @ A).chunks),
        id="shape-dtype-chunks",
    ),
    pytest.param(
        lambda A, B, S: (A.nrow, A.ncol, A.is_sparse, repr(A), repr(A.col_means()), len(A[3])),
        id="metadata-repr",
    ),
]


@pytest.mark.parametrize("build", BUILDERS)
def test_building_computes_nothing(build, A, B, S):
    with raise_if_dask_computes() as scheduler:
        build(A, B, S)
    assert scheduler.total_computes == 0


def test_building_a_long_pipeline_computes_nothing(A, B):
    with raise_if_dask_computes():
        C = dl.cbind(A, 1.0)
        Z = (C - C.col_means()) / C.col_vars()  # centred and scaled, still lazy
        G = Z.T @ Z
        W = G @ np.ones(G.ncol)
        R = dl.rbind(Z, Z).map_blocks(np.abs).rechunk(13)
        H = R.T @ R
        K = dl.crossprod(Z, B) * 2
        assert isinstance(W, dl.LazyResult)
        assert "Gram" in G.explain()
        assert H.shape == (5, 5)
        assert K.shape == (5, 3)


# ----------------------------------------------------------- compute counting

# Every call computes exactly once, however many expressions it gathers.
COMPUTES = [
    pytest.param(lambda A, B: A.compute(), id="DRM.compute"),
    pytest.param(lambda A, B: (A.T @ A).compute(), id="gram.compute"),
    pytest.param(lambda A, B: A.col_means().compute(), id="LazyResult.compute"),
    pytest.param(lambda A, B: ((A * 2 + 1) @ np.ones(4)).compute(), id="fused-Ax.compute"),
    pytest.param(lambda A, B: dl.compute(A.col_means(), A.T @ A), id="dl.compute-fused"),
    pytest.param(
        lambda A, B: dl.compute(
            A.col_means(), A.col_vars(), A.T @ A, A @ np.ones(4), A + 1, A.T @ B, B.col_sums()
        ),
        id="dl.compute-many",
    ),
    pytest.param(lambda A, B: A.persist(), id="persist"),
]


@pytest.mark.parametrize("run", COMPUTES)
def test_one_compute_per_call(run, A, B):
    with raise_if_dask_computes(max_computes=1) as scheduler:
        run(A, B)
    assert scheduler.total_computes == 1


def test_persisted_matrix_is_not_recomputed(A):
    with raise_if_dask_computes(max_computes=1):
        P = (A * 2).persist()
    with raise_if_dask_computes(max_computes=1) as scheduler:
        G = (P.T @ P).compute()
    assert scheduler.total_computes == 1
    np.testing.assert_allclose(G, 4 * X.T @ X)


def test_compute_with_an_explicit_local_scheduler_is_still_one_compute(A):
    """``scheduler=`` bypasses the config; the callback still sees one start."""
    with dask.config.set(scheduler="sync"), _NoLocalCompute(max_computes=1) as cb:
        dl.compute(A.col_means(), A.T @ A, scheduler="sync")
    assert cb.starts == 1


# ------------------------------------------------------------ deterministic keys


def _keys(expr) -> set:
    return set(dict(Lowering().value(optimize(expr._node)).__dask_graph__()))


def test_gram_keys_are_deterministic():
    G1 = dl.from_array(X.copy(), chunks=10)
    G2 = dl.from_array(X.copy(), chunks=10)
    assert _keys(G1.T @ G1) == _keys(G2.T @ G2)
    # and they depend on the data and on the chunking
    assert _keys(G1.T @ G1) != _keys((G1 + 1).T @ (G1 + 1))
    other = dl.from_array(X.copy(), chunks=20)
    assert _keys(G1.T @ G1) != _keys(other.T @ other)


def test_from_array_names_are_deterministic():
    assert dl.from_array(X.copy(), chunks=10).to_dask().name == (
        dl.from_array(X.copy(), chunks=10).to_dask().name
    )
    assert dl.from_array(SX.copy(), chunks=10).to_dask().name == (
        dl.from_array(SX.copy(), chunks=10).to_dask().name
    )
    assert dl.from_array(X, chunks=10).to_dask().name != dl.from_array(X + 1, 10).to_dask().name
    assert dl.from_array(X, chunks=10).to_dask().name != dl.from_array(X, 20).to_dask().name


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda M: (M * 2 + 1).exp() - M, id="fused"),
        pytest.param(lambda M: M @ np.arange(4.0), id="Ax"),
        pytest.param(lambda M: M @ M.T, id="ABt"),
        pytest.param(lambda M: M.T @ np.arange(40.0), id="Atx"),
        pytest.param(lambda M: dl.cbind(M, 1.0, M[:, :2]), id="cbind"),
        pytest.param(lambda M: M.map_blocks(np.abs), id="map_blocks"),
        pytest.param(lambda M: M.col_vars(ddof=1), id="col_vars"),
        pytest.param(lambda M: M.row_means(), id="row_means"),
    ],
)
def test_expression_keys_are_deterministic(build):
    first = build(dl.from_array(X.copy(), chunks=10))
    second = build(dl.from_array(X.copy(), chunks=10))
    assert _keys(first) == _keys(second)


def test_random_keys_depend_on_seed_and_shape_only():
    a = dl.random((50, 3), chunks=7, seed=4)
    b = dl.random((50, 3), chunks=7, seed=4)
    assert a.to_dask().name == b.to_dask().name
    assert _keys(a.T @ a) == _keys(b.T @ b)
    assert a.to_dask().name != dl.random((50, 3), chunks=7, seed=5).to_dask().name


def test_generated_matrices_are_one_layer_that_fusion_cannot_rename():
    """random/zeros/ones/eye blocks are one blockwise layer, named by their arguments:
    (delayed blocks joined by concatenate were renamed by low-level fusion in some
    graphs only, and the scheduler saw one key with two task specs)."""
    for drm in (dl.random((50, 3), chunks=7, seed=4), dl.zeros((50, 3), chunks=7), dl.eye(5)):
        arr = drm.to_dask()
        assert len(arr.dask.layers) == 1
        (key,) = arr.dask.layers
        assert key == arr.name
        (optimized,) = dask.optimize(arr)
        assert optimized.__dask_keys__() == arr.__dask_keys__()  # the same keys after it


def test_fused_statistics_keys_are_deterministic():
    def graph():
        M = dl.from_array(X.copy(), chunks=10)
        nodes = fuse_statistics([optimize(e._node) for e in (M.col_means(), M.T @ M)])
        low = Lowering()
        return [low.value(n).key for n in nodes]

    assert graph() == graph()


# ---------------------------------------------------------------- read once

BLOCK_READS = 0


def counting_identity(block):
    """Stands in for reading a block from storage: counts every call."""
    global BLOCK_READS
    BLOCK_READS += 1
    return block


@pytest.fixture
def counted():
    global BLOCK_READS
    BLOCK_READS = 0
    return lambda: BLOCK_READS


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_statistics_and_gram_read_each_block_once(counted, sparse):
    M = dl.from_array(SX if sparse else X, chunks=10).map_blocks(counting_identity)
    with dask.config.set(scheduler="sync"):
        means, variances, gram, nnz = dl.compute(M.col_means(), M.col_vars(), M.T @ M, M.col_nnz())
    assert counted() == NBLOCKS
    dense = SX.toarray() if sparse else X
    np.testing.assert_allclose(means, dense.mean(axis=0))
    np.testing.assert_allclose(variances, dense.var(axis=0))
    np.testing.assert_allclose(gram.toarray() if sparse else gram, dense.T @ dense)
    np.testing.assert_array_equal(nnz, np.count_nonzero(dense, axis=0))


def test_gram_reads_each_block_once(counted):
    M = dl.from_array(X, chunks=10).map_blocks(counting_identity)
    with dask.config.set(scheduler="sync"):
        (M.T @ M).compute()
    assert counted() == NBLOCKS


def test_shared_subexpression_is_read_once(counted):
    """Two different products of the same matrix in one dl.compute share its blocks."""
    M = dl.from_array(X, chunks=10).map_blocks(counting_identity)
    with dask.config.set(scheduler="sync"):
        dl.compute(M.T @ M, M @ np.ones(4), M.T @ np.ones(40), M.row_sums())
    assert counted() == NBLOCKS
