"""Tests for dlinalg.cluster: loopback-only LocalCluster, connect, progress bars.

Starting a process cluster costs one to two seconds, so only one test starts
one (and checks everything it can); the others reuse the session ``client``
fixture or a cluster with ``processes=False``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import types
import urllib.request
from typing import ClassVar
from urllib.parse import urlparse

import dask
import dask.array as da
import distributed
import numpy as np
import psutil
import pytest

import dlinalg as dl
from dlinalg import cluster as dlc
from dlinalg.cluster import compute_collections, connect, local_cluster
from dlinalg.errors import ClusterError, DLinalgError, DTypeError

LOOPBACK = "127.0.0.1"


def _listening_ips(pid: int) -> set[str]:
    conns = psutil.Process(pid).net_connections(kind="inet")
    return {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}


# ---------------------------------------------------------------- local_cluster


def test_local_cluster_computes_on_loopback_only(capsys):
    x = np.arange(12_000, dtype="f8").reshape(1_000, 12)
    with local_cluster(n_workers=2, threads_per_worker=1) as client:
        cluster = client.cluster
        # it is the default scheduler inside the block
        assert distributed.get_client() is client
        assert da.from_array(x, chunks=100).sum().compute() == x.sum()

        # scheduler, workers and nannies listen on 127.0.0.1
        assert urlparse(client.scheduler.address).hostname == LOOPBACK
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(w["nthreads"] == 1 for w in workers.values())
        for address, info in workers.items():
            assert urlparse(address).hostname == LOOPBACK
            assert urlparse(info["nanny"]).hostname == LOOPBACK
        for pid in client.run(os.getpid).values():
            assert _listening_ips(pid) == {LOOPBACK}

        # the dashboard too (Dask's default is 0.0.0.0:8787), and it answers
        http_ips = {s.getsockname()[0] for s in cluster.scheduler.http_server._sockets.values()}
        assert http_ips == {LOOPBACK}
        link = urlparse(client.dashboard_link)
        assert link.hostname == LOOPBACK
        with urllib.request.urlopen(f"http://{link.netloc}/health", timeout=10) as response:
            assert response.read() == b"ok"

    out = capsys.readouterr().out
    assert f"dashboard: {client.dashboard_link}" in out
    assert "2 worker(s) x 1 thread(s)" in out
    assert client.status == "closed"
    assert cluster.status.name == "closed"


def test_local_cluster_closes_on_exception(capsys):
    seen = {}

    def crash():
        with local_cluster(n_workers=1, processes=False, dashboard=False, quiet=True) as client:
            seen.update(client=client, cluster=client.cluster)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    client, cluster = seen["client"], seen["cluster"]
    assert client.status == "closed"
    assert cluster.status.name == "closed"
    assert capsys.readouterr().out == ""  # quiet


def test_local_cluster_without_dashboard_says_so(capsys):
    with local_cluster(n_workers=1, processes=False, dashboard=False) as client:
        http_ips = {
            s.getsockname()[0] for s in client.cluster.scheduler.http_server._sockets.values()
        }
        assert http_ips == {LOOPBACK}
    assert "no dashboard" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_workers": 0}, ClusterError, "n_workers.*got 0"),
        ({"n_workers": -2}, ClusterError, "got -2"),
        ({"n_workers": 1.5}, DTypeError, "n_workers.*1.5"),
        ({"n_workers": "2"}, DTypeError, "'2'"),
        ({"n_workers": True}, DTypeError, "True"),
        ({"threads_per_worker": 0}, ClusterError, "threads_per_worker.*got 0"),
        ({"memory_limit": "lots"}, ClusterError, "'lots'"),
        ({"memory_limit": -1}, ClusterError, "-1"),
        ({"memory_limit": [1]}, DTypeError, r"\[1\]"),
        ({"dashboard": "yes"}, DTypeError, "dashboard.*'yes'"),
        ({"quiet": 1}, DTypeError, "quiet"),
        ({"host": "0.0.0.0"}, ClusterError, "host.*127.0.0.1"),
        ({"dashboard_address": ":8787"}, ClusterError, "dashboard_address"),
        ({"scheduler_kwargs": {"host": "0.0.0.0"}}, ClusterError, "host"),
        ({"asynchronous": True}, ClusterError, "asynchronous"),
        ({"security": "yes"}, DTypeError, "security.*'yes'"),
        ({"security": distributed.security.Security()}, ClusterError, "no TLS certificate"),
        (
            {"security": True, "protocol": "tcp://"},
            ClusterError,
            "protocol='tcp://'.*tls://",
        ),
    ],
)
def test_local_cluster_rejects_bad_arguments_before_starting(monkeypatch, kwargs, error, match):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    with pytest.raises(error, match=match) as info:
        local_cluster(**kwargs)  # the call validates; no `with` needed
    assert isinstance(info.value, DLinalgError)


@pytest.mark.parametrize(
    ("cores", "n_workers", "threads", "expected"),
    [
        (2, None, None, (2, 1)),  # this machine: one single-threaded process per core
        (4, None, None, (4, 1)),
        (16, None, None, (4, 4)),  # above 4 cores: distributed's sqrt split
        (6, None, None, (3, 2)),
        (64, None, None, (8, 8)),
        (7, None, None, (7, 1)),  # a prime: no better split
        (2, 1, None, (1, 2)),  # threads fill the cores
        (8, None, 2, (4, 2)),  # workers fill the cores
        (2, 4, None, (4, 1)),  # oversubscribed: at least one thread
        (2, 3, 3, (3, 3)),  # both given: taken as is
    ],
)
def test_default_split_of_cores(monkeypatch, cores, n_workers, threads, expected):
    monkeypatch.setattr(dlc, "CPU_COUNT", cores)
    assert dlc._split_cores(n_workers, threads) == expected


# ---------------------------------------------------------------------- connect


def test_connect_to_running_scheduler(client):
    with connect(client.scheduler.address, set_as_default=False) as other:
        assert other.scheduler.address == client.scheduler.address
        assert other.submit(sum, [1, 2, 3]).result() == 6


@pytest.mark.parametrize("source", ["env", "config"])
def test_connect_falls_back_to_env_and_config(client, monkeypatch, source):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    address = client.scheduler.address
    if source == "env":
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    with (
        dask.config.set({"scheduler-address": address if source == "config" else None}),
        connect(set_as_default=False) as other,
    ):
        assert other.scheduler.address == address


def test_connect_without_address_says_what_to_pass(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with (
        dask.config.set({"scheduler-address": None}),
        pytest.raises(ValueError, match="DASK_SCHEDULER_ADDRESS") as info,
    ):
        connect()
    assert "tcp://" in str(info.value)


@pytest.mark.parametrize(
    ("address", "security", "error", "match"),
    [
        ("localhost:8786", None, ClusterError, "'localhost:8786'.*tcp://host:port"),
        ("http://localhost:8786", None, ClusterError, "http://"),
        ("tcp://localhost", None, ClusterError, "needs a host and a port"),
        ("tcp://:8786", None, ClusterError, "needs a host and a port"),
        ("tcp://localhost:99999", None, ClusterError, "99999"),
        (8786, None, DTypeError, "8786"),
        ("tcp://localhost:8786", "yes", DTypeError, "Security"),
    ],
)
def test_connect_rejects_bad_arguments(address, security, error, match):
    with pytest.raises(error, match=match):
        connect(address, security=security)


@pytest.fixture
def tls_security(tmp_path):
    """TLS credentials: distributed's temporary ones, else a self-signed openssl cert."""
    from distributed.security import Security

    try:
        return Security.temporary()  # needs the optional `cryptography` package
    except ImportError:
        pass
    if shutil.which("openssl") is None:
        pytest.skip("needs `cryptography` or the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    subprocess.run(
        [*command.split(), "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )
    files = {"cert": str(cert), "key": str(key)}
    return Security(
        tls_ca_file=files["cert"],
        require_encryption=True,
        **{
            f"tls_{role}_{kind}": files[kind]
            for role in ("client", "scheduler", "worker")
            for kind in files
        },
    )


def test_connect_over_tls(tls_security):
    with (
        distributed.LocalCluster(
            n_workers=1,
            processes=False,
            host=LOOPBACK,
            protocol="tls://",
            security=tls_security,
            dashboard_address=f"{LOOPBACK}:0",
        ) as cluster,
        connect(cluster.scheduler_address, security=tls_security, set_as_default=False) as other,
    ):
        assert other.scheduler.address.startswith("tls://127.0.0.1:")
        assert other.submit(sum, [1, 2]).result() == 3


@pytest.mark.parametrize("how", ["Security", "True"])
def test_local_cluster_over_tls(tls_security, how):
    """security= runs the cluster over tls:// on loopback; A'A comes back right."""
    import dlinalg as dl

    X = np.random.default_rng(0).standard_normal((400, 6))
    security = tls_security if how == "Security" else True
    with local_cluster(n_workers=1, threads_per_worker=1, security=security, quiet=True) as c:
        assert c.scheduler.address.startswith("tls://127.0.0.1:")
        assert all(w.startswith("tls://127.0.0.1:") for w in c.scheduler_info()["workers"])
        A = dl.from_array(X, chunks=100)
        np.testing.assert_allclose((A.T @ A).compute(), X.T @ X, rtol=1e-12, atol=1e-10)
        if how == "Security":
            with connect(c.scheduler.address, security=security, set_as_default=False) as o:
                assert o.submit(sum, [1, 2]).result() == 3


@pytest.mark.parametrize(
    ("address", "security", "match"),
    [
        ("tls://127.0.0.1:1", None, r"'tls://127.0.0.1:1' uses TLS but no credentials.*security="),
        ("wss://127.0.0.1:1", None, r"'wss://127.0.0.1:1' uses TLS"),
        ("tls://127.0.0.1:1", True, r"security=True.*cannot trust"),
        ("tls://127.0.0.1:1", distributed.security.Security(), "no TLS certificate"),
    ],
)
def test_connect_refuses_tls_without_credentials(address, security, match, monkeypatch):
    def no_client(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(distributed, "Client", no_client)
    with pytest.raises(ClusterError, match=match):
        connect(address, security=security)


def test_connect_refuses_plain_tcp_with_required_encryption(tls_security, monkeypatch):
    monkeypatch.setattr(distributed, "Client", None)
    with pytest.raises(ClusterError, match=r"'tcp://127.0.0.1:1' is not encrypted.*tls://"):
        connect("tcp://127.0.0.1:1", security=tls_security)


def _in_process_tls_cluster(security):
    return distributed.LocalCluster(
        n_workers=1,
        processes=False,
        host=LOOPBACK,
        protocol="tls://",
        security=security,
        dashboard_address=f"{LOOPBACK}:0",
    )


def test_connect_names_the_ca_when_tls_refuses(tls_security):
    """Both directions of a failed handshake become a ClusterError that names the CA."""
    from distributed.security import Security

    stranger = Security.temporary()  # its own, unrelated CA
    distrusting = Security(  # trusts nothing the cluster's certificates were signed with
        tls_ca_file=stranger.tls_ca_file,
        tls_client_cert=stranger.tls_client_cert,
        tls_client_key=stranger.tls_client_key,
    )
    untrusted = Security(  # trusts the cluster, but its own certificate is the stranger's
        tls_ca_file=tls_security.tls_ca_file,
        tls_client_cert=stranger.tls_client_cert,
        tls_client_key=stranger.tls_client_key,
    )
    with _in_process_tls_cluster(tls_security) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ClusterError, match=r"scheduler's certificate is not signed by the CA"):
            connect(address, security=distrusting, timeout="10s", set_as_default=False)
        with pytest.raises(ClusterError, match=r"refused this client's certificate.*CA") as info:
            connect(address, security=untrusted, timeout="10s", set_as_default=False)
        assert "in-memory PEM" in str(info.value) or "cert" in str(info.value)


def test_tls_error_that_is_not_about_the_client_certificate_does_not_blame_it():
    """Only the peer's certificate alerts blame the client's certificate."""
    import ssl

    from dlinalg.cluster import _tls_refusal

    other = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    other.reason = "WRONG_VERSION_NUMBER"
    text = _tls_refusal(OSError("closed"), "tls://127.0.0.1:8786", None)
    assert text is None  # no SSL error in the chain: not a TLS refusal
    wrapped = OSError("handshake failed")
    wrapped.__cause__ = other
    text = _tls_refusal(wrapped, "tls://127.0.0.1:8786", None)
    assert "WRONG_VERSION_NUMBER" in text
    assert "tls://127.0.0.1:8786" in text
    assert "refused this client's certificate" not in text
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)")
    wrapped.__cause__ = eof  # TLS 1.3: the scheduler hangs up on a refused certificate
    assert "refused this client's certificate" in _tls_refusal(wrapped, "tls://h:1", None)
    alert = ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")
    alert.reason = "TLSV1_ALERT_UNKNOWN_CA"
    wrapped.__cause__ = alert
    assert "refused this client's certificate" in _tls_refusal(wrapped, "tls://h:1", None)


def test_connect_still_raises_oserror_when_nobody_answers():
    with pytest.raises(OSError, match=r"127\.0\.0\.1:1") as info:  # a closed port: not TLS's fault
        connect("tcp://127.0.0.1:1", timeout="1s", set_as_default=False)
    assert not isinstance(info.value, ClusterError)


# ------------------------------------------------------- dlinalg version on connect


class _Recording(distributed.Client):
    """A Client that remembers every instance (to see that connect closed it)."""

    made: ClassVar[list] = []

    def __init__(self, *args, **kwargs):
        _Recording.made.append(self)
        super().__init__(*args, **kwargs)


def test_connect_refuses_workers_with_another_dlinalg(client, monkeypatch):
    """Monkeypatching the client's version: a second real install is not possible here."""
    real = dl.__version__
    monkeypatch.setattr(dl._version, "__version__", "0.0.0+elsewhere")
    monkeypatch.setattr(distributed, "Client", _Recording)
    _Recording.made = []
    with pytest.raises(ClusterError) as info:
        connect(client.scheduler.address, set_as_default=False)
    message = str(info.value)
    assert "this client runs dlinalg 0.0.0+elsewhere" in message
    assert f"runs dlinalg {real}" in message
    workers = sorted(client.scheduler_info()["workers"])
    assert f"worker {workers[0]} runs" in message
    assert "1 more worker(s) differ too" in message
    assert "dlinalg==0.0.0+elsewhere" in message
    assert [c.status for c in _Recording.made] == ["closed"]


def test_connect_accepts_workers_with_the_same_dlinalg(client, monkeypatch):
    monkeypatch.setattr(distributed, "Client", _Recording)
    _Recording.made = []
    with connect(client.scheduler.address, set_as_default=False) as other:
        assert other.status == "running"
        assert other.run(lambda: __import__("dlinalg").__version__) == dict.fromkeys(
            client.scheduler_info()["workers"], dl.__version__
        )


class _FakeClient:
    def __init__(self, found):
        self.found, self.closed = found, False

    def run(self, fn, on_error):
        assert on_error == "return"
        assert fn() == dl.__version__  # the function itself reports this install's version
        return self.found

    def close(self):
        self.closed = True


@pytest.mark.parametrize(
    ("found", "match"),
    [
        ({"tcp://10.0.0.7:1234": None}, r"worker tcp://10.0.0.7:1234 runs no dlinalg"),
        (
            {"tcp://a:1": ModuleNotFoundError("No module named 'numba'")},
            r"worker tcp://a:1 runs an error \(ModuleNotFoundError: No module named 'numba'\)",
        ),
        ({"tcp://b:1": "0.2.0", "tcp://a:1": None}, r"worker tcp://a:1 runs no dlinalg.*1 more"),
    ],
)
def test_version_check_names_workers_without_dlinalg(found, match):
    fake = _FakeClient(found)
    with pytest.raises(ClusterError, match=match):
        dlc._check_worker_versions(fake)
    assert fake.closed


def test_version_check_passes_without_workers():
    fake = _FakeClient({})
    dlc._check_worker_versions(fake)
    assert not fake.closed


def test_version_probe_runs_where_dlinalg_cannot_be_imported():
    """The probe is pickled by value: a worker without dlinalg unpickles it and says None."""
    import cloudpickle

    sent = []

    class Capture(_FakeClient):
        def run(self, fn, on_error):
            sent.append(cloudpickle.dumps(fn))
            return {}

    dlc._check_worker_versions(Capture({}))
    code = (
        "import pickle, sys\n"
        "sys.modules['dlinalg'] = None  # as if not installed\n"
        "print(pickle.loads(sys.stdin.buffer.read())())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=sent[0], capture_output=True, check=True
    )
    assert done.stdout.decode().strip() == "None"


# ---------------------------------------------------------- compute_collections

BAR = "100% Completed"


def _collections():
    x = da.from_array(np.arange(200.0).reshape(40, 5), chunks=10)
    return x, (x.sum(), [x.mean(axis=0), 3], "plain")


def _check(results, x):
    expected = np.arange(200.0).reshape(40, 5)
    total, (means, three), plain = results[0], results[1], results[2]
    assert total == expected.sum()
    np.testing.assert_array_equal(means, expected.mean(axis=0))
    assert (three, plain) == (3, "plain")


@pytest.mark.parametrize("progress", [False, True])
def test_compute_collections(scheduler, capfd, progress):
    x, args = _collections()
    results = compute_collections(*args, progress=progress)
    assert isinstance(results, tuple)
    assert len(results) == 3
    _check(results, x)
    out = capfd.readouterr().out
    assert (BAR in out) is progress


def test_progress_default_comes_from_dask_config(scheduler, capfd):
    x, args = _collections()
    with dask.config.set({"dlinalg.progress": True}):
        _check(compute_collections(*args), x)
    assert BAR in capfd.readouterr().out
    with dask.config.set({"dlinalg.progress": False}):
        compute_collections(*args)
    assert BAR not in capfd.readouterr().out


class ZMQInteractiveShell:
    """Named as Jupyter's kernel shell: what default_progress looks for."""


def test_progress_is_on_by_default_in_jupyter_only(monkeypatch, capfd):
    x, args = _collections()
    with dask.config.set(scheduler="sync"):
        compute_collections(*args)  # a terminal (and this test run): no bar
        assert BAR not in capfd.readouterr().out
        ipython = types.ModuleType("IPython")
        ipython.get_ipython = ZMQInteractiveShell
        monkeypatch.setitem(sys.modules, "IPython", ipython)
        _check(compute_collections(*args), x)  # in a Jupyter kernel: a bar
        assert BAR in capfd.readouterr().out
        with dask.config.set({"dlinalg.progress": False}):  # the config silences it
            compute_collections(*args)
        assert BAR not in capfd.readouterr().out
        A = dl.from_array(np.random.default_rng(0).standard_normal((60, 4)), chunks=20)
        dl.lsqr(A, np.ones(60))  # the solvers' iteration bar too (tqdm, to stderr)
        assert "lsqr:" in capfd.readouterr().err


def test_progress_on_an_explicit_client_without_default(client, capfd):
    # the session client is not the default client: it must be found through scheduler=
    x, args = _collections()
    _check(compute_collections(*args, progress=True, scheduler=client), x)
    assert BAR in capfd.readouterr().out
    deadline = time.monotonic() + 5  # futures are released asynchronously
    while client.futures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not client.futures  # nothing left pinned on the cluster


def test_progress_with_nothing_to_compute(scheduler, capfd):
    assert compute_collections(1, "a", progress=True) == (1, "a")
    assert BAR not in capfd.readouterr().out


def test_one_pass_over_shared_input_sync():
    calls = []

    def touch(block):
        calls.append(block.shape)
        return block

    x = da.ones((60, 4), chunks=10).map_blocks(touch, meta=np.empty((0, 0)))
    compute_collections(x.sum(), x.max(axis=0), x.T @ x, progress=True, scheduler="sync")
    assert len(calls) == 6  # each block once, not once per result


def test_one_pass_over_shared_input_distributed(client):
    x = da.ones((60, 4), chunks=10).map_blocks(lambda b: b + 0, name="shared-input")
    with distributed.get_task_stream(client) as stream:
        compute_collections(x.sum(), x.T @ x, progress=True, scheduler=client)
    shared = [t for t in stream.data if "shared-input" in str(t["key"])]
    assert len(shared) == 6


def _fail(block):
    raise ZeroDivisionError("bad block")


@pytest.mark.parametrize("progress", [False, True])
def test_errors_propagate(scheduler, progress):
    x = da.ones((20, 2), chunks=10).map_blocks(_fail, meta=np.empty((0, 0)))
    with pytest.raises(ZeroDivisionError, match="bad block"):
        compute_collections(x.sum(), progress=progress)


@pytest.mark.parametrize("progress", ["yes", 1])
def test_progress_must_be_bool(progress):
    with pytest.raises(TypeError, match="progress"):
        compute_collections(da.ones(3, chunks=1).sum(), progress=progress)


def test_local_cluster_workers_skip_numpys_hugepage_hint():
    # first touch of a fresh 80 MB array: 0.2 s with numpy's THP hint on this VM, 0.04 s without
    with local_cluster(n_workers=1, threads_per_worker=1, quiet=True, dashboard=False) as c:
        assert set(c.run(os.environ.get, "NUMPY_MADVISE_HUGEPAGE").values()) == {"0"}
    with dask.config.set({"dlinalg.numpy-hugepages": True}):
        assert dlc.worker_environment() == {}


def test_ctrl_c_inside_local_cluster_kills_the_workers_and_propagates():
    """KeyboardInterrupt in the block: the worker processes are killed, not waited for."""
    pids: list[int] = []

    def interrupted() -> None:
        with local_cluster(n_workers=2, quiet=True) as client:
            pids.extend(client.run(os.getpid).values())
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert len(pids) == 2
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def test_a_cancelled_gather_report_is_dropped_and_others_are_kept():
    import logging

    from dlinalg.cluster import _CancelledGatherFilter

    class AllExit(Exception):  # distributed.client.AllExit, by name
        pass

    def record(exc):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                                 "Task exception was never retrieved", None,
                                 (type(exc), exc, None))  # fmt: skip

    assert not _CancelledGatherFilter().filter(record(AllExit()))
    assert _CancelledGatherFilter().filter(record(ValueError("real")))


def test_ctrl_c_cleanup_leaves_a_cluster_it_did_not_start(client):
    """main() called where a cluster of the caller's runs (a notebook, this test session):
    the cleanup after Ctrl-C stops only what dl.local_cluster started."""
    from dlinalg.cluster import stop_local_clusters_quietly

    with pytest.raises(KeyboardInterrupt), local_cluster(n_workers=1, quiet=True):
        raise KeyboardInterrupt
    stop_local_clusters_quietly()
    assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3


def test_ctrl_c_in_a_local_cluster_block_gives_the_logs_back():
    """A notebook's kernel goes on after an interrupted cell: distributed's logs are
    silenced while the cluster closes, then back at their levels."""
    import logging

    before = logging.getLogger("distributed").level

    def interrupted() -> None:
        with local_cluster(n_workers=1, quiet=True):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert logging.getLogger("distributed").level == before
