"""Shared fixtures: a real LocalCluster, and a ``scheduler`` fixture that runs a
test once on the synchronous scheduler and once on that cluster.

The cluster is session-scoped (starting one costs about two seconds) and bound
to 127.0.0.1. Fault tests that kill workers use their own cluster
(``fresh_cluster``) so they cannot disturb the shared one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dask
import dask.array as da
import pytest
from distributed import Client, LocalCluster


class _RunSpecConflicts(logging.Handler):
    """Collects the scheduler's "Detected different `run_spec`" records.

    The scheduler logs them (a log record, not a Python warning) when one key
    arrives with two task definitions: a key that names two values. The
    scheduler of every LocalCluster here runs in this process, so one handler
    on its logger sees them all.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []
        self.seen_on_purpose: list[str] = []  # records a test provoked (and checks)
        self.expected: tuple[str, ...] = ()  # key names such a test provokes

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Detected different `run_spec`" in message:
            wanted = any(name in message for name in self.expected)
            (self.seen_on_purpose if wanted else self.records).append(message)


_RUN_SPEC = _RunSpecConflicts()
logging.getLogger("distributed.scheduler").addHandler(_RUN_SPEC)


@pytest.fixture(autouse=True)
def _no_run_spec_conflict():
    """Fail any test during which the scheduler saw one key with two tasks."""
    _RUN_SPEC.records.clear()
    _RUN_SPEC.seen_on_purpose.clear()
    yield
    _RUN_SPEC.expected = ()
    if _RUN_SPEC.records:
        found, _RUN_SPEC.records[:] = list(_RUN_SPEC.records), []
        pytest.fail("the scheduler logged a key with two task definitions:\n" + found[0][:2000])


@pytest.fixture(autouse=True)
def _cluster_log_levels():
    """A test that runs the command line's Ctrl-C path in this process silences
    distributed's logs for good (the command is ending): give them back, or the
    detector above would hear nothing for the rest of the session."""
    from dlinalg.cluster import CLUSTER_LOGGERS

    levels = {name: logging.getLogger(name).level for name in CLUSTER_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def run_spec_conflicts() -> _RunSpecConflicts:
    """The detector itself, for the test that proves it sees a conflict."""
    return _RUN_SPEC


def _make_cluster(n_workers: int = 2) -> LocalCluster:
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="2GiB",
    )


@pytest.fixture(scope="session")
def client():
    """A distributed Client on a 2-worker, 1-thread-each LocalCluster."""
    with _make_cluster() as cluster, Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(params=["sync", "distributed"])
def scheduler(request):
    """Run the test on the synchronous scheduler, then on the LocalCluster."""
    if request.param == "sync":
        with dask.config.set(scheduler="synchronous"):
            yield "sync"
    else:
        c = request.getfixturevalue("client")
        # as_current, not dask.config.set(scheduler=c): a Client in the global
        # config cannot be pickled, and nannies pickle the config on restart.
        with c.as_current():
            yield c


@pytest.fixture
def fresh_cluster():
    """A private 2-worker LocalCluster for tests that kill worker processes."""
    with _make_cluster() as cluster, Client(cluster, set_as_default=False) as c:
        yield cluster, c


@contextlib.contextmanager
def _killing_a_worker_when(client: Client, ready: Callable[[], bool]) -> Iterator[int]:
    """SIGKILL a worker process as soon as ``ready()`` is true, while the body runs.

    Yields the pid of the victim; the caller asserts it is gone afterwards
    (the kill happened before the body ended).
    """
    victim = min(client.run(os.getpid).values())
    done = threading.Event()

    def killer():
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            if ready():
                os.kill(victim, signal.SIGKILL)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        yield victim
    finally:
        done.set()
        thread.join()


@pytest.fixture
def killing_a_worker_when():
    """``with killing_a_worker_when(client, ready) as victim:``, see :func:`_killing_a_worker_when`."""
    return _killing_a_worker_when


def _kill_at_iteration(client: Client, at: int) -> tuple[Callable[[Any], None], int]:
    """A solver callback that, at iteration ``at``, SIGKILLs a worker 10 ms later (mid-pass).

    Returns the callback and the pid of the victim. ``callback.killed`` is set
    once the signal is sent: asserted right after the solve, it proves the
    kill came before the solve ended.
    """
    pids = sorted(client.run(os.getpid).values())
    count = {"n": 0}
    killed = threading.Event()

    def kill() -> None:
        os.kill(pids[0], signal.SIGKILL)
        killed.set()

    def callback(_: Any) -> None:
        count["n"] += 1
        if count["n"] == at:
            threading.Timer(0.01, kill).start()

    callback.killed = killed  # type: ignore[attr-defined]
    return callback, pids[0]


@pytest.fixture
def kill_at_iteration():
    """``callback, victim = kill_at_iteration(client, at)``, see :func:`_kill_at_iteration`."""
    return _kill_at_iteration


def _no_graph(*args, **kwargs):
    raise AssertionError("a Dask graph was started before the input was validated")


class _RaisingScheduler:
    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("a Dask computation ran before the input was validated")


@pytest.fixture
def no_graph_no_compute(monkeypatch):
    """Fail on any compute, and on the Dask calls that start a new matrix's graph.

    Bad-input tests use it to prove an error is raised before any graph exists.
    """
    for name in ("from_array", "concatenate", "from_delayed"):
        monkeypatch.setattr(da, name, _no_graph)
    monkeypatch.setattr(dask, "delayed", _no_graph)
    with dask.config.set(scheduler=_RaisingScheduler()):
        yield


#: Cluster cases of one parametrized test kept in the default run (the rest: slow step).
CLUSTER_CASES_BY_DEFAULT = 2


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test parametrized over ``scheduler`` runs every case on the synchronous scheduler
    by default, but on the LocalCluster only its uneven chunking (a chunking-table test)
    or its first two cases; the slow step runs the rest on the cluster. A cluster case
    costs 1-2 s (graph submission, not the kernels, which do not depend on the scheduler),
    and there were ~700 of them."""
    kept: dict[tuple, int] = {}
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is None or spec.params.get("scheduler") != "distributed":
            continue
        if "case" in spec.params:
            keep = "uneven" in spec.id.split("-")
        else:
            key = (item.path, item.originalname)
            kept[key] = kept.get(key, 0) + 1
            keep = kept[key] <= CLUSTER_CASES_BY_DEFAULT
        if not keep:
            item.add_marker(pytest.mark.slow)
    for item in items:
        _skip_without_real_cluster(item)


#: Marker of the tests run against a cluster started by ``.ci/cluster`` -> the scheme
#: of the address it needs.
REAL_CLUSTER_MARKERS = {"real_cluster": "tcp", "real_cluster_tls": "tls"}


def real_cluster_missing(marker: str) -> str | None:
    """Why the tests marked ``marker`` cannot run here (None: they can).

    They need the variables ``.ci/cluster env`` prints: the address alone is not
    enough, since these tests kill and add workers and must only ever meet a
    throwaway cluster that ``.ci/cluster`` started (DLINALG_CLUSTER_DIR).
    """
    scheme = REAL_CLUSTER_MARKERS[marker]
    address = os.environ.get("DASK_SCHEDULER_ADDRESS", "")
    needed = ["DLINALG_CLUSTER_DIR"]
    if scheme == "tls":
        needed += ["DLINALG_TLS_CA", "DLINALG_TLS_CERT", "DLINALG_TLS_KEY"]
    missing = [name for name in needed if not os.environ.get(name)]
    if not address.startswith(f"{scheme}://") or missing:
        flag = " --tls" if scheme == "tls" else ""
        return (
            f"needs a {scheme}:// cluster from `.ci/cluster start{flag}` and "
            '`eval "$(.ci/cluster env)"` (DASK_SCHEDULER_ADDRESS='
            f"{address or 'unset'}{', missing ' + ', '.join(missing) if missing else ''})"
        )
    return None


def _skip_without_real_cluster(item: pytest.Item) -> None:
    """Skip a real-cluster test without its cluster; it may never be slow as well.

    The markers are exclusive with ``slow`` so the slow step (``-m slow``) never
    selects them: they run in CI's "real cluster" step only.
    """
    for marker in REAL_CLUSTER_MARKERS:
        if item.get_closest_marker(marker) is None:
            continue
        if item.get_closest_marker("slow") is not None:
            raise pytest.UsageError(f"{item.nodeid}: {marker} tests cannot be marked slow")
        reason = real_cluster_missing(marker)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-protocol endpoint on 127.0.0.1: ``moto``'s server mode, as s3fs's
    and zarr's own suites test S3. Yields its URL; stopped at the end of the session."""
    import subprocess
    import sys
    import urllib.request

    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto's S3 server did not start on {url}") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_bucket(s3_endpoint, request) -> tuple[str, dict[str, Any]]:
    """A fresh bucket on the local S3 endpoint: ``(s3://bucket, storage_options)``."""
    import uuid

    import s3fs

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_endpoint},
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }
    bucket = f"dlinalg-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**options).mkdir(bucket)
    return f"s3://{bucket}", options
