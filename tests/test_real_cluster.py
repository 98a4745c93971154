"""Against a real cluster: a `dask scheduler` and two `dask worker` processes started
from the shell by ``.ci/cluster start``, each in its own process group, without nannies.

CI's "real cluster" step runs these (``pytest -m real_cluster`` with the
variables of ``.ci/cluster env``); elsewhere they are skipped. Everything goes
through ``dl.connect()`` and ``DASK_SCHEDULER_ADDRESS``, as a user's script on
a platform's cluster would. Results are compared bit for bit with the
synchronous scheduler's.

The workers are separate programs that cannot import this test module, so its
functions are sent by value (``cloudpickle.register_pickle_by_value``). Tests
that kill a worker start a replacement (``dask worker``, in its own session,
its pid in the state dir so ``.ci/cluster stop`` ends it) and run last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pytest

import dlinalg as dl
from dlinalg.errors import ClusterError

cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.real_cluster

N_WORKERS = 2  # what .ci/cluster starts


def _bits(x):
    return np.ascontiguousarray(np.asarray(x)).view(np.uint8).tobytes()


def _sync(fn):
    with dask.config.set(scheduler="sync"):
        return fn()


def _pids(client) -> dict[str, int]:
    return client.run(os.getpid)


# ------------------------------------------------------------------ workers


def _dask_command() -> str:
    """The `dask` command of this interpreter's environment (the workers' too)."""
    beside = Path(sys.executable).with_name("dask")
    return str(beside) if beside.exists() else "dask"


def tls_worker_args() -> list[str]:
    """``--tls-*`` options for a worker of the TLS cluster (nothing on plain TCP)."""
    certs = os.environ.get("DLINALG_TLS_CA")
    if not os.environ.get("DASK_SCHEDULER_ADDRESS", "").startswith("tls://") or not certs:
        return []
    folder = Path(certs).parent
    return [
        *("--tls-ca-file", str(folder / "ca.pem")),
        *("--tls-cert", str(folder / "worker.pem")),
        *("--tls-key", str(folder / "worker-key.pem")),
    ]


def start_worker(address: str, label: str, python_prelude: str | None = None) -> subprocess.Popen:
    """Start ``dask worker ADDRESS`` as a platform would: own session, no nanny, 1 thread.

    Its pid goes to ``$DLINALG_CLUSTER_DIR/pids`` so ``.ci/cluster stop`` ends it
    even if this test process dies. ``python_prelude`` runs the worker as
    ``python -c PRELUDE; <dask worker>`` instead (e.g. to hide a package).
    """
    state = Path(os.environ["DLINALG_CLUSTER_DIR"])
    name = f"{label}-{uuid.uuid4().hex[:8]}"
    options = [
        address,
        *("--name", name, "--host", "127.0.0.1", "--no-dashboard"),
        *("--nworkers", "1", "--nthreads", "1", "--memory-limit", "2GiB", "--no-nanny"),
        *("--local-directory", str(state / name)),
        *tls_worker_args(),
    ]
    if python_prelude is None:
        command = [_dask_command(), "worker", *options]
    else:
        code = f"{python_prelude}\nfrom distributed.cli.dask_worker import main\nmain()"
        command = [sys.executable, "-c", code, *options]
    log = (state / "logs" / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "NUMPY_MADVISE_HUGEPAGE": "0"},
    )
    log.close()
    (state / "pids" / f"{name}.pid").write_text(f"{process.pid}\n")
    process.name = name  # type: ignore[attr-defined]
    return process


def stop_worker(process: subprocess.Popen) -> None:
    """SIGTERM the worker's process group, wait, forget its pid file."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    pid_file = Path(os.environ["DLINALG_CLUSTER_DIR"]) / "pids" / f"{process.name}.pid"
    pid_file.unlink(missing_ok=True)


def wait_for_n_workers(client, n: int, timeout: float = 60) -> None:
    """Until the scheduler lists exactly ``n`` workers."""
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info()["workers"]) != n:
        if time.monotonic() > deadline:
            workers = sorted(client.scheduler_info()["workers"])
            raise AssertionError(f"expected {n} workers, the scheduler lists {workers}")
        time.sleep(0.1)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def client():
    """``dl.connect()`` with no argument: the address comes from DASK_SCHEDULER_ADDRESS."""
    with dl.connect(set_as_default=False, timeout="30s") as c:
        c.wait_for_workers(N_WORKERS, timeout=60)
        yield c


@pytest.fixture
def two_workers_after(client):
    """After the test, the cluster has two workers again (replacements for killed ones)."""
    yield
    for pid_file in (Path(os.environ["DLINALG_CLUSTER_DIR"]) / "pids").glob("*.pid"):
        try:  # a killed worker's pid file goes: its pid may be reused by another process
            os.kill(int(pid_file.read_text()), 0)
        except ProcessLookupError:
            pid_file.unlink()
    deadline = time.monotonic() + 30  # the scheduler forgets a killed worker at once
    while len(client.scheduler_info()["workers"]) > N_WORKERS and time.monotonic() < deadline:
        time.sleep(0.1)
    missing = N_WORKERS - len(client.scheduler_info()["workers"])
    for _ in range(missing):
        start_worker(client.scheduler.address, "replacement")
    wait_for_n_workers(client, N_WORKERS)


def _matrix(n_rows=4_000, n_cols=12, chunk=500, seed=0):
    X = np.random.default_rng(seed).standard_normal((n_rows, n_cols))
    return X, dl.from_array(X, chunks=chunk)


def _least_squares(seed):
    """A problem LSQR needs many iterations for: condition number about 1e4."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6_000, 60)) * np.logspace(0, -4, 60)
    return dl.from_array(X, chunks=300), rng.standard_normal(X.shape[0])


def slowed(A, seconds):
    """The same matrix, each block taking ``seconds`` longer to produce."""

    def slow_identity(block):
        time.sleep(seconds)
        return block

    return A.map_blocks(slow_identity)


# -------------------------------------------------------------------- tests


def test_workers_are_separate_process_groups_with_the_same_dlinalg(client):
    """The cluster is what .ci/cluster promises: 2 x 1 thread, 2 GiB, own sessions."""
    workers = client.scheduler_info()["workers"]
    assert len(workers) == N_WORKERS
    assert {w["nthreads"] for w in workers.values()} == {1}
    assert {w["memory_limit"] for w in workers.values()} == {2 * 2**30}
    assert all(w.get("nanny") is None for w in workers.values())  # --no-nanny
    pids = _pids(client)
    groups = client.run(os.getpgrp)
    assert os.getpid() not in pids.values()
    assert all(groups[w] == pids[w] for w in pids)  # each leads its own process group
    assert len(set(groups.values())) == N_WORKERS
    assert os.getpgrp() not in groups.values()
    # dl.connect checked this already; the workers import the same dlinalg
    versions = client.run(lambda: __import__("dlinalg").__version__)
    assert set(versions.values()) == {dl.__version__}


def test_algebra_and_decompositions_match_the_synchronous_scheduler(client):
    X, A = _matrix()
    b = np.random.default_rng(1).standard_normal(X.shape[0])

    def run():
        G = (A.T @ A).compute()
        sol = dl.lsqr(A, b, atol=1e-12, btol=1e-12)
        Q, R = dl.qr(A)
        U, s, Vt = dl.ssvd(A, k=4, p=4, q=1, seed=0)
        return G, sol.x, sol.itn, Q.compute(), R, U.compute(), s, Vt

    want = _sync(run)
    with client.as_current():
        got = run()
    for name, w, g in zip(("G", "x", "itn", "Q", "R", "U", "s", "Vt"), want, got, strict=True):
        assert _bits(g) == _bits(w), f"{name} differs from the synchronous scheduler's"
    np.testing.assert_allclose(got[0], X.T @ X, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(got[3] @ got[4], X, rtol=1e-10, atol=1e-10)


def test_zarr_written_and_read_by_the_workers(client, tmp_path):
    """The workers write the chunks and read them back: they share this file system."""
    X, A = _matrix(seed=2)
    store = tmp_path / "A.zarr"
    with client.as_current():
        (A * 2.0).to_zarr(store)
        B = dl.read_zarr(store)
        got_values = B.compute()
        got_gram = (B.T @ B).compute()
    np.testing.assert_array_equal(got_values, X * 2.0)
    want_gram = _sync(lambda: (dl.read_zarr(store).T @ dl.read_zarr(store)).compute())
    assert _bits(got_gram) == _bits(want_gram)


def test_connect_refuses_a_client_with_another_dlinalg_version(client, monkeypatch):
    """The real workers report their version; the client pretends to be another."""
    real = dl.__version__
    monkeypatch.setattr(dl._version, "__version__", "0.0.0+other")
    opened = []
    import distributed

    class Recording(distributed.Client):
        def __init__(self, *args, **kwargs):
            opened.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(distributed, "Client", Recording)
    with pytest.raises(ClusterError) as info:
        dl.connect(set_as_default=False, timeout="30s")
    message = str(info.value)
    assert "0.0.0+other" in message
    assert f"runs dlinalg {real}" in message
    assert any(worker in message for worker in client.scheduler_info()["workers"])
    assert [c.status for c in opened] == ["closed"]


def test_connect_refuses_a_worker_without_dlinalg(client):
    """A worker that cannot import dlinalg at all is named, and the client is closed.

    It joins the shared cluster only for the check and leaves again.
    """
    hidden = start_worker(
        client.scheduler.address, "no-dlinalg", "import sys\nsys.modules['dlinalg'] = None"
    )
    try:
        wait_for_n_workers(client, N_WORKERS + 1)
        (address,) = (
            a for a, w in client.scheduler_info()["workers"].items() if w["name"] == hidden.name
        )
        with pytest.raises(ClusterError, match=r"runs no dlinalg") as info:
            dl.connect(set_as_default=False, timeout="30s")
        assert f"worker {address} runs no dlinalg" in str(info.value)
    finally:
        stop_worker(hidden)
        wait_for_n_workers(client, N_WORKERS)


def test_a_worker_added_while_lsqr_runs(client):
    """A third `dask worker` joins mid-solve; the iterates do not change by a bit."""
    A, b = _least_squares(seed=3)
    solve = {"atol": 0.0, "btol": 0.0, "conlim": 0.0, "iter_lim": 40}  # exactly 40 iterations
    want = _sync(lambda: dl.lsqr(A, b, **solve))
    seen: list[int] = []
    added: list[subprocess.Popen] = []

    def callback(_):
        seen.append(len(client.scheduler_info()["workers"]))
        if len(seen) == 5:
            added.append(start_worker(client.scheduler.address, "added"))
        if len(seen) == 6:  # hold the solve until the newcomer is registered
            wait_for_n_workers(client, N_WORKERS + 1)

    try:
        with client.as_current():
            got = dl.lsqr(A, b, callback=callback, **solve)
        newcomer = _pids(client)
    finally:
        for process in added:
            stop_worker(process)
        wait_for_n_workers(client, N_WORKERS)
    assert seen[:5] == [N_WORKERS] * 5
    assert seen[6:] == [N_WORKERS + 1] * (len(seen) - 6), "the worker joined mid-solve"
    assert len(newcomer) == N_WORKERS + 1
    assert got.itn == want.itn == 40
    assert _bits(got.x) == _bits(want.x)


# The kills come last: each leaves a replacement worker behind (two_workers_after).


def test_worker_sigkilled_mid_gram_pass(client, killing_a_worker_when, two_workers_after):
    """No nanny: the killed worker stays dead, the survivor recomputes its part."""
    _, A = _matrix(n_rows=8_000, n_cols=16, chunk=250, seed=5)  # 32 blocks
    S = slowed(A, 0.05)  # ~0.8 s of blocks per worker
    want = _sync(lambda: (S.T @ S).compute())
    before = _pids(client)
    start = time.monotonic()
    with (
        client.as_current(),
        killing_a_worker_when(client, lambda: time.monotonic() > start + 0.3) as victim,
    ):
        got = (S.T @ S).compute()
    after = _pids(client)
    assert victim in before.values()
    assert victim not in after.values(), "the kill came after the pass ended"
    assert len(after) == N_WORKERS - 1
    assert _bits(got) == _bits(want)


def test_worker_sigkilled_mid_lsqr(client, kill_at_iteration, two_workers_after):
    A, b = _least_squares(seed=6)
    solve = {"atol": 0.0, "btol": 0.0, "conlim": 0.0, "iter_lim": 30}
    want = _sync(lambda: dl.lsqr(A, b, **solve))
    with client.as_current():
        callback, victim = kill_at_iteration(client, at=3)
        got = dl.lsqr(A, b, callback=callback, **solve)
    assert callback.killed.is_set(), "the solve ended before the kill"
    assert victim not in _pids(client).values(), "the worker was not killed"
    assert got.itn == want.itn == 30
    assert _bits(got.x) == _bits(want.x)
