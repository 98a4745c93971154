"""``dl.lstsq`` against ``numpy.linalg.lstsq``: the same ``(x, residuals, rank, s)``.

The name is a contract (numpy's and ``dask.array.linalg.lstsq``'s): x, the
residuals (empty when ``rank < n`` or ``m <= n``), the rank under numpy's
``rcond`` rule and the singular values, over a table of chunkings, float32
and float64, dense and sparse blocks, on the synchronous scheduler and a
LocalCluster; bad input refused before any graph; a worker killed mid-pass
changes no bit.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import dlinalg as dl
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError

# (m, n, chunks, how A is passed): each row says what it exercises.
CHUNKINGS = [
    (40, 5, 40, "drm"),  # one row block
    (40, 5, 8, "drm"),  # many row blocks
    (43, 5, 10, "drm"),  # uneven last block (3 rows)
    (40, 5, (10, 2), "dask"),  # a Dask array chunked by columns too
    (9, 5, 3, "drm"),  # blocks shorter than n + k: small block R's
    (5, 5, 2, "drm"),  # square: residuals are empty (m <= n)
    (40, 5, None, "numpy"),  # in-memory numpy / scipy.sparse input
]
CHUNK_IDS = [
    "one-block",
    "many",
    "uneven-last",
    "dask-column-chunks",
    "short-blocks",
    "square",
    "in-memory",
]
DTYPES = [np.float32, np.float64]
# The cluster run proves the kernels pickle and run on workers: the float64 rows
# "many" and "dask-column-chunks"; every row runs on the synchronous scheduler.
CLUSTER_ROWS = ("many", "dask-column-chunks")
TABLE = [
    pytest.param(
        row,
        dtype,
        sparse,
        sched,
        id=f"{cid}-{np.dtype(dtype).name}-{'sparse' if sparse else 'dense'}-{sched}",
    )
    for row, cid in zip(CHUNKINGS, CHUNK_IDS, strict=True)
    for dtype in DTYPES
    for sparse in (False, True)
    for sched in ("sync", "distributed")
    if sched == "sync" or (dtype == np.float64 and cid in CLUSTER_ROWS)
]


def make(m, n, chunks, how, dtype, sparse, seed=0):
    """``(X as numpy, A as passed to dl.lstsq)``; sparse input has ~40% zeros."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    if sparse:
        X[rng.random((m, n)) < 0.4] = 0.0
        X[np.arange(n) % m, np.arange(n)] += 3.0  # keeps full column rank
    X = X.astype(dtype)
    src = sp.csr_array(X) if sparse else X
    if how == "numpy":
        return X, src
    if how == "dask":
        return X, da.from_array(src, chunks=chunks, asarray=False)
    return X, dl.from_array(src, chunks=chunks)


# Tolerances against numpy. float64: both are backward stable, and for these
# cond ~ 10 matrices x, s and the residuals agree to O(cond * eps) ~ 1e-15;
# 1e-10 leaves room for the residual's cancellation (||b||^2 - ||Ax||^2 scale).
# float32: both compute in float64 and round the outputs to float32 (6e-8
# relative); 1e-5 leaves margin.
def tol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-10


def check_against_numpy(got, ref, dtype):
    x, res, rank, s = got
    x_np, res_np, rank_np, s_np = ref
    assert x.dtype == x_np.dtype
    assert x.shape == x_np.shape
    assert res.dtype == res_np.dtype
    assert s.dtype == s_np.dtype
    assert isinstance(rank, int)
    assert rank == rank_np
    assert res.shape == res_np.shape
    t = tol(dtype)
    assert_allclose(x, x_np, rtol=t, atol=t * np.abs(x_np).max())
    assert_allclose(s, s_np, rtol=t, atol=t * s_np[0])
    if res_np.size:
        assert_allclose(res, res_np, rtol=t, atol=t * res_np.max())


@pytest.mark.parametrize(("row", "dtype", "sparse", "scheduler"), TABLE, indirect=["scheduler"])
def test_matches_numpy(row, dtype, sparse, scheduler):
    m = row[0]
    X, A = make(*row, dtype, sparse)
    rng = np.random.default_rng(1)
    b1 = rng.standard_normal(m).astype(dtype)
    b2 = rng.standard_normal((m, 3)).astype(dtype)
    for b in (b1, b2):
        check_against_numpy(dl.lstsq(A, b), np.linalg.lstsq(X, b), dtype)


@pytest.mark.parametrize("scheduler", ["sync", "distributed"], indirect=True)
@pytest.mark.parametrize(
    ("container", "ndim"),
    [
        ("numpy", 1),
        ("numpy", 2),
        ("dask", 1),
        ("dask", 2),
        ("dask-other-chunks", 1),
        ("dask-other-chunks", 2),
        ("drm", 2),  # a DRM is 2-D
        ("drm-sparse", 2),
    ],
)
def test_b_containers(container, ndim, scheduler):
    X, A = make(43, 5, 10, "drm", np.float64, False)
    rng = np.random.default_rng(2)
    b = rng.standard_normal(43) if ndim == 1 else rng.standard_normal((43, 2))
    if container == "dask":
        bb = da.from_array(b, chunks=10)
    elif container == "dask-other-chunks":  # b's row blocks differ from A's: rechunked
        bb = da.from_array(b, chunks=7)
    elif container in ("drm", "drm-sparse"):
        b[np.abs(b) < 0.5] = 0.0
        bb = dl.from_array(sp.csr_array(b) if container == "drm-sparse" else b, chunks=13)
    else:
        bb = b
    check_against_numpy(dl.lstsq(A, bb), np.linalg.lstsq(X, b), np.float64)


def with_spectrum(m, n, s, seed):
    """m x n matrix U diag(s) V^T with random orthonormal U, V: its singular values are s."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (U * np.asarray(s, dtype=float)) @ V.T


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("chunks", [60, 7])
def test_rank_deficient_as_numpy(chunks, sparse):
    # two exactly dependent columns: rank 4 of 6, the minimum-norm x, no residuals
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 6))
    X[:, 4] = X[:, 0] + X[:, 1]
    X[:, 5] = 2 * X[:, 2]
    b = rng.standard_normal((60, 2))
    A = dl.from_array(sp.csr_array(X) if sparse else X, chunks=chunks)
    x, res, rank, s = dl.lstsq(A, b)
    x_np, res_np, rank_np, s_np = np.linalg.lstsq(X, b)
    assert rank == rank_np == 4
    assert res.shape == res_np.shape == (0,)
    assert_allclose(x, x_np, rtol=1e-9, atol=1e-12)
    assert_allclose(s, s_np, rtol=1e-12, atol=1e-12 * s_np[0])
    assert_allclose(np.linalg.norm(x, axis=0), np.linalg.norm(x_np, axis=0), rtol=1e-10)


@pytest.mark.parametrize(
    ("rcond", "rank"),
    [
        (None, 5),  # eps * max(m, n) keeps 1e-3
        (-1, 5),  # negative: machine precision (LAPACK's dlalsd under numpy)
        (0, 5),  # zero: machine precision too, not "no cut-off"
        (1e-5, 5),  # 1e-3 / 10 = 1e-4 > 1e-5: kept
        (1e-3, 4),  # 1e-4 <= 1e-3: cut, as numpy cuts it
        (0.2, 2),  # only 10 and 5 stay above 2
        (0.99, 1),  # only 10 stays above 9.9
        (1.0, 5),  # >= 1: machine precision again (dlalsd), not "cut everything"
        (2.0, 5),
    ],
)
def test_rcond_semantics_of_numpy(rcond, rank):
    X = with_spectrum(50, 5, [10, 5, 1, 0.5, 1e-3], seed=4)
    b = np.random.default_rng(5).standard_normal(50)
    got = dl.lstsq(dl.from_array(X, chunks=12), b, rcond=rcond)
    ref = np.linalg.lstsq(X, b, rcond=rcond)
    assert got[2] == ref[2] == rank
    assert got[1].shape == ref[1].shape == ((1,) if rank == 5 else (0,))
    # cond up to 1e4 (rank 5): x agrees to ~cond * eps
    assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-12)


def test_zero_matrix_gives_zero_solution_and_rank_0():
    X = np.zeros((10, 3))
    b = np.ones(10)
    x, res, rank, s = dl.lstsq(dl.from_array(X, chunks=4), b)
    x_np, res_np, rank_np, s_np = np.linalg.lstsq(X, b)
    assert rank == rank_np == 0
    assert_array_equal(x, x_np)
    assert_array_equal(s, s_np)
    assert res.shape == res_np.shape == (0,)


def test_same_bits_on_every_scheduler(client):
    # one fixed tree per chunking: the sync and cluster runs add in the same order
    _, A = make(400, 6, 37, "drm", np.float64, False)
    b = np.random.default_rng(6).standard_normal((400, 2))
    import dask

    with dask.config.set(scheduler="synchronous"):
        sync = dl.lstsq(A, b)
    with client.as_current():
        dist = dl.lstsq(A, b)
    for a, c in zip(sync[:2] + sync[3:], dist[:2] + dist[3:], strict=True):
        assert_allclose(a, c, rtol=1e-14)
    assert sync[2] == dist[2]


# --- bad input: refused before any graph exists --------------------------------------------

A_OK = np.random.default_rng(7).standard_normal((8, 3))
NAN_A = A_OK.copy()
NAN_A[2, 1] = np.nan
BAD = [
    ({"b": np.ones(7)}, ShapeError, "b has 7 rows but A has 8"),
    ({"b": np.ones((8, 2, 1))}, ShapeError, r"b must be 1-D \(m,\) or 2-D \(m, k\), got 3-D"),
    ({"b": np.ones((8, 0))}, ShapeError, "b has no column"),
    ({"b": np.array([1, 2, np.nan, 4, 5, 6, 7, 8.0])}, NonFiniteError, "b contains NaN"),
    ({"b": np.ones(8) * 1j}, OperandTypeError, "b must hold real numbers"),
    ({"b": object()}, OperandTypeError, "b must hold real numbers"),
    ({"A": NAN_A}, NonFiniteError, "A contains NaN or infinity"),
    ({"A": sp.csr_array(NAN_A)}, NonFiniteError, "A contains NaN or infinity"),
    ({"A": A_OK.T, "b": np.ones(3)}, ShapeError, r"tall A .* got shape \(3, 8\); .*lsqr"),
    ({"A": np.ones((8, 3, 1))}, ShapeError, "A must be 2-D"),
    ({"A": "a.zarr"}, OperandTypeError, "A must be a DRM"),
    ({"A": np.ones((8, 3), dtype=complex)}, TypeError, "real numeric dtype"),
    ({"rcond": "small"}, ParameterError, "rcond must be a real number or None"),
    ({"rcond": np.nan}, ParameterError, "rcond must be a real number or None"),
    ({"rcond": True}, ParameterError, "rcond must be a real number or None"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input_is_refused_before_any_graph(kwargs, error, match, no_graph_no_compute):
    args = {"A": A_OK, "b": np.ones(8), **kwargs}
    with pytest.raises(error, match=match):
        dl.lstsq(**args)


def test_bad_input_on_a_drm_is_refused_before_any_graph():
    A = dl.from_array(A_OK, chunks=3)
    import dask

    class Refuse:
        def __call__(self, *args, **kwargs):
            raise AssertionError("computed before the input was validated")

    with dask.config.set(scheduler=Refuse()):
        with pytest.raises(ShapeError, match="b has 9 rows"):
            dl.lstsq(A, np.ones(9))
        with pytest.raises(ShapeError, match="3-D"):
            dl.lstsq(A, da.ones((8, 1, 1)))
        with pytest.raises(ShapeError, match="tall A"):
            dl.lstsq(A.T, np.ones(3))


@pytest.mark.parametrize("where", ["A", "b"])
def test_nan_in_distributed_input_is_found_by_the_pass(where):
    # lazy input cannot be checked before the pass; the pass's R shows it
    X = A_OK.copy()
    b = np.ones(8)
    if where == "A":
        X[5, 0] = np.nan
        args = (dl.from_array(X, chunks=3), b)
    else:
        b[5] = np.inf
        args = (dl.from_array(X, chunks=3), da.from_array(b, chunks=3))
    with pytest.raises(NonFiniteError, match=f"{where} contains NaN or infinity"):
        dl.lstsq(*args)


# --- a worker killed mid-pass ------------------------------------------------------------------


def _worker_pids(client):
    return set(client.run(os.getpid).values())


def _wait_until_forgotten(client, timeout=30):
    """Wait until the scheduler holds no task (resubmitted keys must be recomputed)."""

    def n_tasks(dask_scheduler):
        return len(dask_scheduler.tasks)

    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(n_tasks) and time.monotonic() < deadline:
        time.sleep(0.05)


def slowed(A, seconds=0.03):
    """The same matrix, every block taking ``seconds`` to produce."""

    def slow_identity(block):
        time.sleep(seconds)
        return block

    return A.map_blocks(slow_identity)


def _bits(x):
    x = np.asarray(x)
    return x.dtype.str, x.shape, x.tobytes()


@pytest.mark.slow
@pytest.mark.cluster
def test_worker_kill_gives_identical_result(fresh_cluster):
    """One pass over [A | b] with a worker SIGKILLed mid-way: every output bit-identical
    to the no-fault run on the same cluster (the reference is not the sync scheduler's:
    the client's multi-threaded BLAS may round differently from a 1-thread worker)."""
    _, client = fresh_cluster
    A = slowed(dl.random((40_000, 10), chunks=1_000, seed=11))  # 40 blocks, ~0.6 s a pass
    b = dl.random((40_000, 2), chunks=3_000, seed=12)

    def solve():
        with client.as_current():  # not config.set: nannies pickle the config
            return dl.lstsq(A, b)

    ref = solve()
    _wait_until_forgotten(client)
    victim = min(_worker_pids(client))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(solve)
        time.sleep(0.8)
        assert not running.done(), "lstsq finished before the kill: make it slower"
        os.kill(victim, signal.SIGKILL)
        got = running.result(timeout=120)
    assert victim not in _worker_pids(client), "the killed worker is still alive"
    assert got[2] == ref[2]
    for part in (0, 1, 3):
        assert _bits(got[part]) == _bits(ref[part])
