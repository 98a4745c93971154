"""Shared helpers for the dlinalg asv benchmarks.

Conventions follow xarray's and dask-benchmarks' asv suites: one class per
operation with ``setup``, ``time_*`` and ``peakmem_*``, and the numpy / scipy /
plain-Dask reference class beside the dlinalg class so every ratio comes from
one ``asv run``.

Problem size
    ``DLINALG_BENCH_ROWS`` rows (default 200_000, small enough for
    ``asv run --quick`` in CI) by ``DLINALG_BENCH_COLS`` columns (default 100)
    of float64, in ``DLINALG_BENCH_BLOCKS`` row blocks (default 20). The real
    measurement uses ``DLINALG_BENCH_ROWS=2000000`` (see ``asv_bench/RESULTS.md``).
    The row count is the benchmarks' asv parameter, so results taken at
    different sizes are never mixed up.

Cluster
    One ``LocalCluster`` (2 worker processes x 1 thread, 127.0.0.1 only) per
    benchmark process, started lazily by the first ``setup`` that needs it
    (never at import: asv imports this package to discover benchmarks) and
    closed at exit. Benchmarks compute on it inside ``client.as_current()``;
    ``dask.config.set(scheduler=client)`` is avoided because it breaks worker
    restarts (nannies pickle the config).

Data
    Seeded: ``dl.random(shape, chunks, seed)`` values depend only on seed and
    shape, so the numpy reference, the plain-Dask reference and dlinalg see the
    same matrix. Persisted matrices are cached per process, because asv re-runs
    ``setup`` before every timed call.

Result caching
    dlinalg's result tasks have deterministic keys (plain Dask adds a fresh
    ``finalize-`` key per compute). If the next ``compute`` is submitted
    before the scheduler has processed the release of the previous result,
    the scheduler hands back the finished key and the "computation" takes a
    few milliseconds. :func:`settle`, called from every ``setup``, waits
    until the scheduler holds only the persisted inputs, so every timed call
    really computes. For the same reason a Zarr-backed matrix must never be
    persisted next to a benchmark that reads the store: the reads would
    become no-ops.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
import time
from typing import Any, ClassVar

import cloudpickle
import dask
import numpy as np

# Workers cannot import this package (asv puts the benchmark directory on
# sys.path at run time only), so functions defined here travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROWS = int(os.environ.get("DLINALG_BENCH_ROWS", "200000"))
COLS = int(os.environ.get("DLINALG_BENCH_COLS", "100"))
BLOCKS = int(os.environ.get("DLINALG_BENCH_BLOCKS", "20"))
#: Sparse benchmarks: ROWS x SPARSE_COLS CSR blocks with this density.
SPARSE_COLS = int(os.environ.get("DLINALG_BENCH_SPARSE_COLS", "1000"))
SPARSE_DENSITY = float(os.environ.get("DLINALG_BENCH_SPARSE_DENSITY", "0.01"))
SEED = 0
N_WORKERS = 2
THREADS_PER_WORKER = 1
#: Per-worker memory limit of the shared benchmark cluster.
MEMORY_LIMIT = os.environ.get("DLINALG_BENCH_MEMORY_LIMIT", "8GiB")

#: asv timeout (seconds) per benchmark, scaled with the problem size.
TIMEOUT = 120 + int(600 * ROWS / 2_000_000)


class Sized:
    """Base of the benchmark classes: the problem size is the asv parameter."""

    params: ClassVar[list] = [ROWS]
    param_names: ClassVar[list] = ["rows"]
    timeout: ClassVar[int] = TIMEOUT


class OnCluster(Sized):
    """Base of the cluster benchmarks: ``self.A`` (the persisted dense DRM), ``self.X``
    (its plain Dask array) and ``self.client``; ``extra`` adds per-class operands."""

    def setup(self, rows):
        self.client = get_client()
        self.A = dense_drm(rows, COLS)
        self.X = self.A.to_dask()
        self.extra(rows)
        settle(self.client)

    def extra(self, rows):
        pass


_state: dict[str, Any] = {"cluster": None, "client": None, "kept": 0}
_cache: dict[tuple, Any] = {}


def parameterized(names, params):
    """Attach asv ``param_names``/``params`` to a benchmark (xarray's helper)."""

    def decorator(func):
        func.param_names = names
        func.params = params
        return func

    return decorator


def row_chunk(nrow: int, blocks: int = BLOCKS) -> int:
    """Rows per block so that ``nrow`` rows make ``blocks`` blocks."""
    return -(-nrow // blocks)


# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------
def start_cluster(
    n_workers: int = N_WORKERS,
    threads_per_worker: int = THREADS_PER_WORKER,
    memory_limit: Any = MEMORY_LIMIT,
):
    """A fresh ``(LocalCluster, Client)`` on 127.0.0.1; the caller closes both.

    The scheduler's HTTP server is pinned to a free loopback port (it would
    otherwise try 8787 on every interface); the Client is not made the
    default scheduler: compute inside ``client.as_current()``.
    """
    import dask
    from distributed import Client, LocalCluster

    from dlinalg.cluster import worker_environment

    with dask.config.set(worker_environment()):  # the same workers as dl.local_cluster's
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            memory_limit=memory_limit,
            host="127.0.0.1",
            protocol="tcp://",
            dashboard_address="127.0.0.1:0",
            scheduler_kwargs={"dashboard": False},
        )
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(n_workers)
    # import what the tasks need up front, so a single --quick call is not
    # dominated by first-import costs on the workers
    for module in ("numpy", "scipy.sparse", "zarr", "dlinalg"):
        client.run(importlib.import_module, module)
    return cluster, client


def get_client():
    """The process-wide benchmark Client, starting its cluster on first use."""
    if _state["client"] is None:
        _state["cluster"], _state["client"] = start_cluster()
        atexit.register(close_cluster)
    return _state["client"]


def close_cluster() -> None:
    """Close the process-wide cluster (registered with atexit)."""
    client, cluster = _state["client"], _state["cluster"]
    _state["client"] = _state["cluster"] = None
    _cache.clear()
    _state["kept"] = 0
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


def _n_held(dask_scheduler=None) -> int:
    """Tasks the scheduler holds in memory or is working on (not merely remembered)."""
    return sum(ts.state != "released" for ts in dask_scheduler.tasks.values())


def settle(client, timeout: float = 30.0) -> None:
    """Wait until the scheduler holds only the persisted inputs.

    Released results of the previous call must be gone before the next timed
    call, or the scheduler would reuse them (see the module docstring).
    """
    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(_n_held) > _state["kept"]:
        if time.monotonic() > deadline:
            print("benchmarks.settle: scheduler still holds old results", file=sys.stderr)
            return
        time.sleep(0.005)


def worker_pids(client) -> list[int]:
    """Process ids of the worker processes (not the nannies)."""
    return sorted(client.run(os.getpid).values())


class RssSampler:
    """Peak RSS of some processes (the workers), sampled by a thread every ``interval`` s.

    Sampling instead of the workers' ``ru_maxrss``: Linux keeps ``ru_maxrss``
    across ``exec``, so a worker spawned from a large client process reports
    the client's peak, not its own.

    >>> with RssSampler(worker_pids(client)) as rss:  # doctest: +SKIP
    ...     (A.T @ A).compute()
    >>> rss.peak  # {pid: bytes}  # doctest: +SKIP
    """

    def __init__(self, pids, interval: float = 0.01):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.peak = {p.pid: 0 for p in self.procs}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                self.peak[p.pid] = max(self.peak[p.pid], p.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def reset(self) -> None:
        self.peak = dict.fromkeys(self.peak, 0)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def _keep(A) -> None:
    from distributed import wait

    arr = A.to_dask()
    with get_client().as_current():
        wait(arr)
    _state["kept"] += len(arr.__dask_keys__())


def dense_drm(nrow: int = ROWS, ncol: int = COLS, seed: int = SEED):
    """A seeded ``nrow x ncol`` float64 DRM persisted on the benchmark cluster."""
    import dlinalg as dl

    key = ("dense", nrow, ncol, seed, BLOCKS)
    if key not in _cache:
        client = get_client()
        with client.as_current():
            A = dl.random((nrow, ncol), chunks=row_chunk(nrow), seed=seed).persist()
        _keep(A)
        _cache[key] = A
    return _cache[key]


def sparse_drm(nrow: int = ROWS, ncol: int = SPARSE_COLS, density: float = SPARSE_DENSITY):
    """A seeded sparse (CSR blocks) DRM persisted on the benchmark cluster."""
    import dlinalg as dl

    key = ("sparse", nrow, ncol, density, BLOCKS)
    if key not in _cache:
        client = get_client()
        with client.as_current():
            A = dl.random(
                (nrow, ncol), chunks=row_chunk(nrow), seed=SEED, density=density
            ).persist()
        _keep(A)
        _cache[key] = A
    return _cache[key]


def persisted_dask(x):
    """A plain Dask array (1-D or 2-D) persisted on the benchmark cluster, kept."""
    from distributed import wait

    client = get_client()
    key = ("dask", x.name)
    if key not in _cache:
        with client.as_current():
            y = x.persist()
            wait(y)
        _state["kept"] += len(y.__dask_keys__())
        _cache[key] = y
    return _cache[key]


def dense_numpy(nrow: int = ROWS, ncol: int = COLS, seed: int = SEED) -> np.ndarray:
    """The same matrix as :func:`dense_drm`, as one numpy array in this process."""
    import dlinalg as dl

    key = ("numpy", nrow, ncol, seed)
    if key not in _cache:
        A = dl.random((nrow, ncol), chunks=row_chunk(nrow), seed=seed)
        _cache[key] = np.ascontiguousarray(A.compute(scheduler="threads"))
    return _cache[key]


def sparse_scipy(nrow: int = ROWS, ncol: int = SPARSE_COLS, density: float = SPARSE_DENSITY):
    """The same matrix as :func:`sparse_drm`, as one ``scipy.sparse.csr_array``."""
    import dlinalg as dl

    key = ("scipy", nrow, ncol, density)
    if key not in _cache:
        A = dl.random((nrow, ncol), chunks=row_chunk(nrow), seed=SEED, density=density)
        _cache[key] = A.compute(scheduler="threads")
    return _cache[key]


#: Condition number of the least-squares benchmark matrix (the issue's "about 1e4").
LSQ_COND = 1e4


def _lsq_factors(ncol: int, cond: float):
    """``D V^T``: singular values evenly spaced from 1 to ``1/cond``, a seeded rotation.

    Evenly spaced values make LSQR need about 150 iterations to 1e-8 at
    cond 1e4 (the issue saw 108 on its matrix); log-spaced ones would need
    2,300, most of them spent on rounding after orthogonality is lost.
    """
    rng = np.random.default_rng(SEED + 1)
    V, _ = np.linalg.qr(rng.standard_normal((ncol, ncol)))
    return np.linspace(1, 1 / cond, ncol)[:, None] * V.T, rng.standard_normal(ncol)


def lsq_problem(nrow: int = ROWS, ncol: int = COLS, cond: float = LSQ_COND):
    """``(A, b, x_true)``: a persisted DRM with condition ~``cond`` and ``b = A x + noise``.

    ``A = G D V^T`` with G the standard-normal ``dl.random`` matrix (its own
    condition number is about 1.02 at 2,000,000 x 100); b is a persisted
    1-column DRM with noise of standard deviation 1e-3.
    """
    import dlinalg as dl

    key = ("lsq", nrow, ncol, cond, BLOCKS)
    if key not in _cache:
        client = get_client()
        M, x_true = _lsq_factors(ncol, cond)
        with client.as_current():
            A = (dl.random((nrow, ncol), chunks=row_chunk(nrow), seed=SEED + 2) @ M).persist()
            noise = dl.random((nrow, 1), chunks=row_chunk(nrow), seed=SEED + 3)
            b = (A @ x_true[:, None] + noise * 1e-3).persist()
        _keep(A)
        _keep(b)
        _cache[key] = (A, b, x_true)
    return _cache[key]


def lsq_numpy(nrow: int = ROWS, ncol: int = COLS, cond: float = LSQ_COND):
    """The same ``(A, b)`` as :func:`lsq_problem`, as numpy arrays in this process."""
    import dlinalg as dl

    key = ("lsq-numpy", nrow, ncol, cond)
    if key not in _cache:
        M, x_true = _lsq_factors(ncol, cond)
        with dask.config.set(scheduler="threads"):
            A = dl.random((nrow, ncol), chunks=row_chunk(nrow), seed=SEED + 2) @ M
            noise = dl.random((nrow, 1), chunks=row_chunk(nrow), seed=SEED + 3)
            b = A @ x_true[:, None] + noise * 1e-3
            A, b = dl.compute(A, b)
        _cache[key] = (np.ascontiguousarray(A), np.ascontiguousarray(b[:, 0]))
    return _cache[key]


def numpy_blocks(X: np.ndarray, rows: int) -> list[np.ndarray]:
    """Row blocks of ``X`` (views), the same blocks the cluster holds."""
    return [X[i : i + rows] for i in range(0, X.shape[0], rows)]


def blocked_gram(blocks: list[np.ndarray]) -> np.ndarray:
    """``sum_i X_i^T X_i`` over row blocks: what dlinalg's Gram computes, in one process.

    ``X_i.T @ X_i`` on a view of the same buffer is what dlinalg's block
    kernel runs (numpy dispatches it to BLAS syrk).
    """
    total = blocks[0].T @ blocks[0]
    for b in blocks[1:]:
        total += b.T @ b
    return total


def blocked_gram_threads(blocks: list[np.ndarray], pool) -> np.ndarray:
    """:func:`blocked_gram` with blocks spread over a thread pool (BLAS releases the GIL)."""
    parts = list(pool.map(lambda b: b.T @ b, blocks))
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def read_only(x) -> tuple:
    """Read and decode every block of Dask array ``x``, then drop it: the I/O floor.

    Same task structure as dlinalg's Gram (one task per row block on top of
    the block's read task), but the block function is ``np.shape``. A
    function from this package would not do: workers cannot import it.
    """
    import dask

    blocks = x.to_delayed(optimize_graph=False).ravel()
    return dask.compute(*[dask.delayed(np.shape, pure=True)(b) for b in blocks])


def uncompressed_store(path: str, nrow: int = ROWS, ncol: int = COLS, seed: int = SEED) -> str:
    """Write the seeded matrix to an uncompressed Zarr v3 array at ``path``; return its path.

    dlinalg's ``to_zarr`` always compresses (zarr's default zstd; it takes no
    codec option), so the uncompressed store is written with plain zarr, one
    chunk per row block, and read back with ``dl.read_zarr`` (a foreign store:
    its completeness is checked by listing the chunk keys once).
    Runs in this process on the threaded scheduler; no cluster needed.
    """
    import dask.array as da
    import zarr

    import dlinalg as dl

    rows = row_chunk(nrow)
    z = zarr.create_array(
        path,
        shape=(nrow, ncol),
        chunks=(rows, ncol),
        dtype="float64",
        compressors=None,
        fill_value=0.0,
        overwrite=True,
    )
    arr = dl.random((nrow, ncol), chunks=rows, seed=seed).to_dask()
    da.store(arr, z, lock=False, scheduler="threads")
    return os.path.abspath(path)
