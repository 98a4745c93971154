"""Everything that talks to ``dask.distributed``: clusters, clients, futures.

This is the one module that imports ``distributed`` or calls a Client (as
xarray keeps Dask behind ``namedarray/daskmanager.py``); the rest of dlinalg
speaks Dask collections, plans and the executor interface below.

:func:`local_cluster` runs a LocalCluster with worker processes whose
scheduler, workers and dashboard listen on 127.0.0.1 only (Dask's default
dashboard listens on every interface). :func:`connect` attaches to an existing
scheduler, with TLS through :class:`distributed.security.Security`.
:func:`compute_collections` computes several Dask collections in one pass and
optionally shows a progress bar; ``DRM.compute(progress=...)`` goes through it.

Executors (:func:`executor_for`) drive iterative work with futures, one small
graph per step, instead of one graph built up front: the solvers' products
(:mod:`dlinalg.solvers._operator`) and the ALS sweeps. They must stay beside
the plan because a solver keeps its vectors on the workers between
iterations, and a step is decided by the previous one's scalars. Both
executors have the same interface, so that code is written once:

- ``submit(fn, *args, where=None)``: a task with a deterministic key
  (``pure=True``); ``where`` is a worker address the task prefers (soft: it
  may run elsewhere, e.g. after that worker died); in process, ``fn(*args)``;
- ``gather(handles)``: the values;
- ``blocks(arr)``: the row blocks of a Dask array, as futures or values;
- ``persist_blocks(arr)``: the same, but keeping the array's own keys (so a
  later graph over ``arr`` finds them on the workers);
- ``groups(blocks)``: block indices grouped by the worker holding them;
- ``workers`` and ``n_threads``: the addresses (``(None,)`` in process) and
  the total number of worker threads;
- ``rebase(handles, where)``: the same values as new tasks that hold their
  data.

The lineage of every future stays on the scheduler, so what a lost worker
held is recomputed, bit for bit, by another. An iteration whose state is
computed from the previous one's builds a chain that grows with the
iterations: the scheduler keeps it, and a lost piece is recomputed by
replaying it from the start. ``rebase`` cuts it: the values come to the client
and go back as tasks whose data is in the task itself, so the scheduler can
rerun them anywhere, and the old chain is forgotten.

``distributed`` is imported inside the functions so that ``import dlinalg``
stays fast for users who only need the synchronous or threaded scheduler.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import sys
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import dask
from dask.base import get_scheduler, is_dask_collection, unpack_collections
from dask.core import flatten
from dask.system import CPU_COUNT
from dask.utils import key_split, parse_bytes

from dlinalg import _trace, _version
from dlinalg._tokens import one_task_per_key
from dlinalg._validation import check_flag
from dlinalg.errors import ClusterError, DTypeError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["local_cluster", "connect", "compute_collections", "persist_collections"]

#: Keywords that would undo the loopback-only binding or the synchronous Client.
_RESERVED = (
    "host",
    "ip",
    "interface",
    "dashboard_address",
    "worker_dashboard_address",
    "asynchronous",
)
#: Address schemes of distributed's comm backends that we accept.
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def _check_count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DTypeError(f"{name} must be a positive int or None, got {value!r}")
    if value <= 0:
        raise ClusterError(f"{name} must be a positive int or None, got {value}")
    return int(value)


def _check_memory_limit(value: Any) -> None:
    """Accept what LocalCluster accepts: "auto", "4GiB", bytes, a fraction, 0/None."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if isinstance(value, str):
        try:
            if not value.strip():
                raise ValueError(value)
            parse_bytes(value)
        except ValueError as exc:
            raise ClusterError(
                f"memory_limit={value!r} is not a size; pass e.g. '4GiB', a number of "
                "bytes, a fraction of system memory such as 0.5, 'auto' or None"
            ) from exc
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DTypeError(f"memory_limit must be a str, a number or None, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ClusterError(
            f"memory_limit must be a finite size, not negative, got {value!r}; pass e.g. "
            "'4GiB', a fraction of system memory such as 0.5, 'auto' or None"
        )
    if value > 1 and value != int(value):
        raise ClusterError(
            f"memory_limit={value!r} is neither a fraction of system memory (at most 1) "
            "nor a whole number of bytes"
        )


def _check_protocol(kwargs: dict[str, Any]) -> None:
    """A protocol LocalCluster can serve here; inproc:// only in one process."""
    protocol = kwargs.get("protocol")
    if protocol is None:
        return
    if not isinstance(protocol, str):
        raise DTypeError(f"protocol must be a str such as 'tcp://', got {protocol!r}")
    scheme = protocol.removesuffix("://")
    if scheme not in _SCHEMES:
        raise ClusterError(
            f"protocol={protocol!r} is not one of distributed's transports "
            f"({', '.join(s + '://' for s in _SCHEMES)})"
        )
    if scheme == "inproc" and kwargs.get("processes", True):
        raise ClusterError(
            "protocol='inproc://' needs processes=False: worker processes cannot share "
            "the scheduler's memory"
        )


def _temporary_security() -> Any:
    """Fresh self-signed TLS credentials (distributed's ``Security.temporary()``)."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError as exc:  # pragma: no cover - cryptography is a dependency
        raise ClusterError(
            "security=True makes temporary TLS credentials, which needs the `cryptography` "
            "package: pip install cryptography, or pass a distributed.security.Security"
        ) from exc


def _has_tls_credentials(security: Any) -> bool:
    """True when a Security object holds a certificate for some role (or a CA)."""
    return any(
        getattr(security, f"tls_{part}", None)
        for part in ("ca_file", "client_cert", "scheduler_cert", "worker_cert", "cert")
    )


def _check_security(security: Any, where: str) -> Any:
    """None/False (plain TCP), True (temporary credentials) or a Security object."""
    from distributed.security import Security

    if security is None or security is False:
        return None
    if security is True:
        return _temporary_security()
    if not isinstance(security, Security):
        raise DTypeError(
            f"security must be a distributed.security.Security, True or None, got {security!r}"
        )
    if not _has_tls_credentials(security):
        raise ClusterError(
            f"{where}: security={security!r} holds no TLS certificate; pass "
            "Security(tls_ca_file=..., tls_client_cert=..., tls_client_key=...) or "
            "security=True for temporary self-signed credentials"
        )
    return security


def _split_cores(n_workers: int | None, threads: int | None) -> tuple[int, int]:
    """Default workers x threads: one single-threaded process per core up to 4 cores.

    Above 4 cores it follows distributed's own split (the smallest divisor of
    the core count that is at least its square root), so a 64-core machine gets
    8 x 8 rather than 64 processes.
    """
    cores = CPU_COUNT
    if n_workers is None and threads is None:
        if cores <= 4:
            return cores, 1
        workers = min(d for d in range(1, cores + 1) if cores % d == 0 and d * d >= cores)
        return workers, cores // workers
    if n_workers is None:
        return max(1, cores // threads), threads
    if threads is None:
        return n_workers, max(1, cores // n_workers)
    return n_workers, threads


def local_cluster(
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: str | float | None = "auto",
    *,
    dashboard: bool = True,
    quiet: bool = False,
    **kwargs: Any,
) -> AbstractContextManager[Client]:
    """Run a LocalCluster bound to 127.0.0.1 and yield a connected Client.

    The scheduler, the worker processes and the dashboard listen on the
    loopback interface only, so nothing is reachable from the network. The
    Client becomes the default scheduler inside the ``with`` block; client and
    cluster are closed on exit, also when the block raises.

    Parameters
    ----------
    n_workers : int, optional
        Number of worker processes. Default: one per core up to 4 cores,
        about sqrt(cores) above that (distributed's own split).
    threads_per_worker : int, optional
        Threads per worker. Default: cores // n_workers (at least 1).
    memory_limit : str, float or None, default "auto"
        Per-worker memory limit: "auto" (system memory / n_workers), a size
        such as "4GiB", bytes, a fraction of system memory, or None/0 for none.
    dashboard : bool, default True
        Serve the Bokeh dashboard on 127.0.0.1 at a free port.
    quiet : bool, default False
        Do not print the cluster size and dashboard link.
    **kwargs
        Passed to :class:`distributed.LocalCluster` (e.g. ``processes=False``
        to debug in one process). ``security=`` a
        :class:`distributed.security.Security` with certificates runs the
        cluster over ``tls://`` on 127.0.0.1 (the client, scheduler and
        workers authenticate each other); ``security=True`` makes temporary
        self-signed credentials for it. ``host``, ``ip``, ``interface``,
        ``dashboard_address``, ``worker_dashboard_address`` and
        ``asynchronous`` are refused, also inside ``scheduler_kwargs`` and
        ``worker_kwargs``: they would undo the loopback binding or the
        synchronous context manager.

    Returns
    -------
    contextlib.AbstractContextManager of distributed.Client
        Entering it starts the cluster and yields a Client connected to it;
        ``client.cluster`` is the LocalCluster.

    Raises
    ------
    TypeError
        :class:`~dlinalg.errors.DTypeError` if a count is not an int or a flag
        not a bool. Arguments are checked by the call itself, before anything
        starts.
    ValueError
        :class:`~dlinalg.errors.ClusterError` if a count is not positive, the
        memory limit is not a size (empty, NaN, infinite, fractional bytes),
        the protocol is unknown (or ``inproc://`` with processes), a refused
        keyword is given, or
        ``security`` holds no certificate or comes with a protocol other
        than ``tls://``.

    See Also
    --------
    connect : Attach to a cluster that is already running.
    distributed.LocalCluster : The cluster class used underneath.

    Notes
    -----
    Worker processes are started with ``spawn``: a script that calls this at
    import time must guard it with ``if __name__ == "__main__":``. Starting a
    two-worker cluster takes about a second. Workers run with
    ``NUMPY_MADVISE_HUGEPAGE=0`` (see :func:`worker_environment`; set the dask
    config ``dlinalg.numpy-hugepages`` to keep numpy's default).

    Examples
    --------
    >>> import dask.array as da
    >>> import dlinalg as dl
    >>> with dl.local_cluster(n_workers=1, threads_per_worker=1, quiet=True) as client:
    ...     print(client.scheduler.address.startswith("tcp://127.0.0.1:"))
    ...     print(int(da.ones((1000, 10), chunks=250).sum().compute()))
    True
    10000
    """
    n_workers = _check_count(n_workers, "n_workers")
    threads_per_worker = _check_count(threads_per_worker, "threads_per_worker")
    if "security" in kwargs:
        security = _check_security(kwargs.pop("security"), "local_cluster()")
        if security is not None:
            protocol = kwargs.get("protocol", "tls://")
            if not (isinstance(protocol, str) and protocol.rstrip(":/") == "tls"):
                raise ClusterError(
                    f"local_cluster(security=...) encrypts with TLS, but protocol={protocol!r}; "
                    "leave protocol out (it becomes 'tls://') or pass protocol='tls://'"
                )
            kwargs["protocol"], kwargs["security"] = "tls://", security
    _check_memory_limit(memory_limit)
    dashboard = check_flag(dashboard, "dashboard")
    quiet = check_flag(quiet, "quiet")
    for name in ("scheduler_kwargs", "worker_kwargs"):
        if not isinstance(kwargs.get(name, {}), dict):
            raise DTypeError(f"{name} must be a dict of keywords, got {kwargs[name]!r}")
    _check_protocol(kwargs)
    nested = {**kwargs.get("scheduler_kwargs", {}), **kwargs.get("worker_kwargs", {})}
    refused = sorted((set(kwargs) | set(nested)) & set(_RESERVED))
    if refused:
        raise ClusterError(
            f"local_cluster() does not accept {', '.join(refused)}: it always binds to "
            "127.0.0.1. To expose a cluster, start distributed.LocalCluster or "
            "`dask scheduler` yourself and attach with dlinalg.connect(address)"
        )
    n_workers, threads_per_worker = _split_cores(n_workers, threads_per_worker)
    return _running_local_cluster(
        n_workers, threads_per_worker, memory_limit, dashboard, quiet, kwargs
    )


@contextmanager
def _running_local_cluster(
    n_workers: int,
    threads_per_worker: int,
    memory_limit: str | float | None,
    dashboard: bool,
    quiet: bool,
    kwargs: dict[str, Any],
) -> Iterator[Client]:
    kwargs.setdefault("processes", True)
    # host= makes LocalCluster pick the in-process transport when processes=False,
    # and inproc addresses have no host: stay on TCP over loopback.
    kwargs.setdefault("protocol", "tcp://")
    # The scheduler's HTTP server (health, metrics, dashboard) starts even without
    # a dashboard, on 8787 by default: pin it to a free loopback port either way.
    kwargs["scheduler_kwargs"] = {**kwargs.get("scheduler_kwargs", {}), "dashboard": dashboard}
    _drop_cancelled_gather_reports()
    from distributed.deploy.spec import SpecCluster

    existing = set(SpecCluster._instances)
    silenced: dict[str, int] = {}
    try:
        with _cluster_and_client(n_workers, threads_per_worker, memory_limit, dashboard, quiet,
                                 kwargs, silenced) as client:  # fmt: skip
            yield client
    finally:  # ours, also one interrupted while starting: only these are stopped on Ctrl-C
        _STARTED.update(set(SpecCluster._instances) - existing)
        restore_cluster_logs(silenced)  # closed: a notebook's kernel gets its logs back


#: The clusters :func:`local_cluster` started (weakly): what Ctrl-C's cleanup may stop.
_STARTED: weakref.WeakSet = weakref.WeakSet()


@contextmanager
def _cluster_and_client(
    n_workers: int,
    threads_per_worker: int,
    memory_limit: str | float | None,
    dashboard: bool,
    quiet: bool,
    kwargs: dict[str, Any],
    silenced: dict[str, int],
) -> Iterator[Client]:
    """The cluster and its client; on Ctrl-C the logs are silenced (the previous
    levels go into ``silenced``) and the workers killed before both close."""
    from distributed import Client, LocalCluster

    with (
        dask.config.set(worker_environment()),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            **kwargs,
        ) as cluster,
        Client(cluster) as client,
    ):
        if not quiet:
            link = client.dashboard_link if dashboard else ""
            where = f"dashboard: {link}" if link else "no dashboard"
            print(
                f"dlinalg: LocalCluster with {n_workers} worker(s) x "
                f"{threads_per_worker} thread(s) at {cluster.scheduler_address}; {where}"
            )
        try:
            yield client
        except KeyboardInterrupt:
            # Ctrl-C: nothing the workers hold is worth waiting for. A graceful close
            # waits for each nanny to stop its worker (4 s of a 5 s exit, measured);
            # killing the worker processes first makes it return at once.
            silenced.update(silence_cluster_logs())
            _kill_worker_processes(cluster)
            raise


def worker_environment() -> dict[str, str]:
    """Dask config that sets the environment of worker processes (nannies read it at spawn).

    numpy asks the kernel for transparent huge pages on every array of 4 MiB
    or more. Where THP is ``madvise`` with synchronous defrag and memory is
    fragmented (this project's VM), each first touch of such an array tries a
    compaction that fails: a fresh 80 MB block costs 0.2-0.25 s instead of
    0.04 s, measured in the workers, and materialising Q of a 2,000,000 x 100
    QR took 4.1-4.9 s instead of 2.9 s. Workers therefore run with
    ``NUMPY_MADVISE_HUGEPAGE=0`` unless the dask config
    ``dlinalg.numpy-hugepages`` is true.

    Returns
    -------
    dict
        Keys for :func:`dask.config.set`, empty when nothing is to change.
    """
    if _as_bool(dask.config.get("dlinalg.numpy-hugepages", False), "dlinalg.numpy-hugepages"):
        return {}
    return {"distributed.nanny.pre-spawn-environ.NUMPY_MADVISE_HUGEPAGE": "0"}


def _check_address(address: Any) -> str:
    if not isinstance(address, str):
        raise DTypeError(f"address must be a str such as 'tcp://10.0.0.5:8786', got {address!r}")
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in _SCHEMES or not rest:
        raise ClusterError(
            f"scheduler address {address!r} is not of the form 'tcp://host:port' "
            f"(accepted protocols: {', '.join(_SCHEMES)})"
        )
    if scheme in ("tcp", "tls", "ws", "wss"):
        host, colon, port = rest.rstrip("/").rpartition(":")
        if (
            not colon
            or not host
            or any(c.isspace() for c in host)
            or not port.isdigit()
            or not 0 < int(port) < 65536
        ):
            raise ClusterError(
                f"scheduler address {address!r} needs a host and a port, "
                f"e.g. '{scheme}://10.0.0.5:8786'"
            )
    return address


def connect(address: str | None = None, security: Any = None, **kwargs: Any) -> Client:
    """Connect to a running Dask scheduler.

    Parameters
    ----------
    address : str, optional
        Scheduler address such as ``"tcp://10.0.0.5:8786"`` or
        ``"tls://scheduler.example.org:8786"``. Default: the
        ``DASK_SCHEDULER_ADDRESS`` environment variable, else the dask config
        value ``scheduler-address``.
    security : distributed.security.Security, optional
        TLS credentials, passed to :class:`distributed.Client`: those the
        scheduler trusts (``True``, temporary self-signed credentials, is
        refused: no running scheduler can trust them). Default: the
        ``distributed.comm.tls`` section of the dask config; a ``tls://``
        address with neither is refused before connecting.
    **kwargs
        Passed to :class:`distributed.Client` (e.g. ``timeout="10s"``,
        ``set_as_default=False``).

    Returns
    -------
    distributed.Client
        Use it as a context manager (``with dl.connect(...) as client:``) or
        call ``client.close()`` when done.

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ClusterError` if no address is given nor
        configured, the address is malformed, a ``tls://`` address comes
        without credentials (neither ``security`` nor the dask config),
        ``security`` holds no certificate, the TLS handshake fails (the
        scheduler's certificate is not signed by the client's CA, or the
        scheduler does not trust the client's certificate), or a worker runs
        another version of dlinalg than this client, or none (the client is
        closed first).
    TypeError
        :class:`~dlinalg.errors.DTypeError` if ``address`` is not a str or
        ``security`` is not a Security object or None.
    OSError
        From distributed if no scheduler answers within the timeout.

    Notes
    -----
    Every worker must import the same dlinalg as the client: tasks are
    pickled functions of dlinalg's modules, so another version would run
    other code. On connecting, each worker reports its ``dlinalg.__version__``
    (one :meth:`distributed.Client.run`, which imports dlinalg there); a
    mismatch is refused. Workers that join later are not checked. A client
    made with ``asynchronous=True`` is not checked either.

    See Also
    --------
    local_cluster : Start a cluster on this machine.
    distributed.Client : The client returned.

    Examples
    --------
    >>> import dlinalg as dl
    >>> with dl.local_cluster(n_workers=1, quiet=True) as local:
    ...     with dl.connect(local.scheduler.address, set_as_default=False) as client:
    ...         print(client.submit(sum, [1, 2, 3]).result())
    6
    """
    from distributed.security import Security

    if address is None:
        address = os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get(
            "scheduler-address", None
        )
        if not address:
            raise ClusterError(
                "no scheduler address: pass one, e.g. dl.connect('tcp://10.0.0.5:8786'), "
                "or set the DASK_SCHEDULER_ADDRESS environment variable; "
                "use dl.local_cluster() for a cluster on this machine"
            )
    address = _check_address(address)
    scheme = address.partition("://")[0]
    if security is None and scheme in ("tls", "wss"):
        configured = Security()  # the distributed.comm.tls section of the dask config
        if not _has_tls_credentials(configured) and not dask.config.get(
            "distributed.client.security-loader", None
        ):
            raise ClusterError(
                f"scheduler address {address!r} uses TLS but no credentials were given: pass "
                "security=distributed.security.Security(tls_ca_file=..., tls_client_cert=..., "
                "tls_client_key=...) as the scheduler was started with, or set them in the "
                "dask config section distributed.comm.tls"
            )
    elif security is True:
        raise ClusterError(
            f"connect({address!r}, security=True): temporary self-signed credentials are "
            "new, so a running scheduler cannot trust them; pass the "
            "distributed.security.Security the scheduler was started with (security=True "
            "is for dl.local_cluster)"
        )
    elif security is not None:
        security = _check_security(security, f"connect({address!r})")
        if security is not None and scheme in ("tcp", "ws") and security.require_encryption:
            raise ClusterError(
                f"scheduler address {address!r} is not encrypted but security requires "
                f"encryption: use the scheduler's {'tls' if scheme == 'tcp' else 'wss'}:// "
                "address"
            )

    from distributed import Client

    try:
        client = Client(address, security=security, **kwargs)
    except OSError as exc:
        refusal = _tls_refusal(exc, address, security)
        if refusal is None:
            raise
        raise ClusterError(refusal) from exc
    if not kwargs.get("asynchronous"):
        _check_worker_versions(client)
    return client


def _credential(value: Any) -> str:
    """A certificate file for an error message (Security also holds PEM text itself)."""
    if not value:
        return "none given (the dask config's distributed.comm.tls section)"
    text = str(value)
    return "an in-memory PEM certificate" if text.lstrip().startswith("-----BEGIN") else text


#: The peer's TLS alerts that mean "your certificate is not acceptable" (OpenSSL's reasons).
_CLIENT_CERT_ALERTS = (
    "UNKNOWN_CA",
    "BAD_CERTIFICATE",
    "CERTIFICATE_REQUIRED",
    "CERTIFICATE_UNKNOWN",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_REVOKED",
    "UNSUPPORTED_CERTIFICATE",
    "ACCESS_DENIED",
)


def _tls_refusal(exc: BaseException, address: str, security: Any) -> str | None:
    """What went wrong when a TLS handshake failed (else None): whose CA refused whom."""
    import ssl

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        # tornado's StreamClosedError keeps the SSL error it closed on aside
        real = getattr(cause, "real_error", None)
        cause = real if isinstance(real, ssl.SSLError) else cause.__cause__ or cause.__context__
    if cause is None:
        return None
    ca = _credential(getattr(security, "tls_ca_file", None))
    cert = _credential(
        getattr(security, "tls_client_cert", None) or getattr(security, "tls_cert", None)
    )
    reason = getattr(cause, "reason", None) or str(cause)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"TLS handshake with {address} failed: the scheduler's certificate is not signed "
            f"by the CA this client trusts (tls_ca_file={ca}); pass the CA certificate that "
            f"signed the cluster's certificates ({reason}: {cause.verify_message})"
        )
    # Under TLS 1.3 the scheduler checks the client's certificate after the client
    # has finished its part of the handshake: a refusal often arrives as the
    # connection closing (an EOF), not as the alert itself.
    closed = isinstance(cause, ssl.SSLEOFError) or "EOF" in str(reason).upper()
    if closed or any(alert in str(reason).upper() for alert in _CLIENT_CERT_ALERTS):
        return (
            f"TLS handshake with {address} failed: the scheduler refused this client's "
            f"certificate (tls_client_cert={cert}); it must be signed by the CA the scheduler "
            f"trusts (its --tls-ca-file) ({reason})"
        )
    return (
        f"TLS handshake with {address} failed ({reason}); check that the address is a "
        f"tls:// endpoint of the cluster and that this client's TLS settings match it "
        f"(tls_ca_file={ca}, tls_client_cert={cert})"
    )


def _check_worker_versions(client: Client) -> None:
    """Refuse a cluster whose workers run another dlinalg than this client (or none).

    Tasks are pickled functions of dlinalg's modules: a worker with another
    version would run other code (other keys, other kernels), and one without
    dlinalg fails on the first task. The workers connected now are checked;
    one that joins later is not. The client is closed before raising.
    """
    __version__ = _version.__version__  # read now: a test may stand in another

    # Defined here, not at module level, so cloudpickle sends it by value: a
    # worker without dlinalg can run it (a module-level function is pickled as
    # a reference to dlinalg.cluster, which such a worker cannot import).
    def version() -> str | None:
        try:
            from importlib import import_module

            return import_module("dlinalg").__version__
        except ImportError:
            return None

    try:
        found = client.run(version, on_error="return")
    except BaseException:
        client.close()
        raise
    wrong = {w: v for w, v in sorted(found.items()) if v != __version__}
    if not wrong:
        return
    client.close()
    address, theirs = next(iter(wrong.items()))
    if isinstance(theirs, BaseException):
        theirs = f"an error ({type(theirs).__name__}: {theirs})"
    elif theirs is None:
        theirs = "no dlinalg (it cannot be imported there)"
    else:
        theirs = f"dlinalg {theirs}"
    more = f" ({len(wrong) - 1} more worker(s) differ too)" if len(wrong) > 1 else ""
    raise ClusterError(
        f"this client runs dlinalg {__version__} but worker {address} runs {theirs}{more}; "
        f"install dlinalg=={__version__} on every worker (and the client), so tasks run the "
        "same code everywhere"
    )


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value is None or isinstance(value, bool):
        return bool(value)
    raise DTypeError(f"{name} must be True, False or None, got {value!r}")


def _in_jupyter() -> bool:
    """True inside a Jupyter kernel (an IPython ZMQ shell), False in terminals and tests."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def default_progress() -> bool:
    """Whether long work shows progress when not told: on in Jupyter, off elsewhere.

    The dask config value ``dlinalg.progress`` (True or False) overrides it
    everywhere, e.g. ``dask.config.set({"dlinalg.progress": True})`` to see
    bars in a terminal, or ``False`` to silence a notebook.

    Examples
    --------
    >>> import dask
    >>> from dlinalg.cluster import default_progress
    >>> default_progress()  # not in a Jupyter kernel
    False
    >>> with dask.config.set({"dlinalg.progress": True}):
    ...     default_progress()
    True
    """
    configured = dask.config.get("dlinalg.progress", None)
    if configured is None:
        return _in_jupyter()
    return _as_bool(configured, "dask config 'dlinalg.progress'")


def _distributed_client(collections: list, scheduler: Any) -> Client | None:
    """The Client that ``dask.compute`` would use for these collections, or None."""
    schedule = get_scheduler(scheduler=scheduler, collections=collections)
    owner = getattr(schedule, "__self__", None)
    if owner is None:
        return None
    from distributed import Client

    return owner if isinstance(owner, Client) else None


def _progress_bar_class() -> type:
    from distributed.diagnostics.progressbar import TextProgressBar

    class _KeptTextProgressBar(TextProgressBar):
        """distributed's text bar, but the final bar stays on screen.

        The widget bar is not used in Jupyter: it is driven by the kernel's
        event loop, which is blocked while we wait for the results, so it
        would only move after the cell finished. A text bar drawn from its own
        thread updates live in terminals and notebooks alike.
        """

        def _draw_stop(self, **kwargs: Any) -> None:
            sys.stdout.write("\n")
            sys.stdout.flush()

    return _KeptTextProgressBar


def compute_collections(*collections: Any, progress: bool | None = None, **kwargs: Any) -> tuple:
    """Compute several Dask collections in one pass, optionally with a progress bar.

    Shared inputs are read once: the collections are merged into one graph
    and submitted together, exactly as :func:`dask.compute` does.

    Parameters
    ----------
    *collections
        Dask collections (arrays, delayed, ...); other objects, and builtin
        containers of collections, are handled as :func:`dask.compute` does.
    progress : bool, optional
        Show a progress bar: distributed's bar (tracked by the scheduler) when
        the computation runs on a :class:`distributed.Client`, else
        :class:`dask.diagnostics.ProgressBar`. Both print to stdout, so they
        work in terminals and in Jupyter. Default: :func:`default_progress`
        (on in Jupyter, off elsewhere, unless the dask config value
        ``dlinalg.progress`` says otherwise).
    **kwargs
        Passed to :func:`dask.compute` (``scheduler=``, ``optimize_graph=``,
        ``traverse=``...).

    Returns
    -------
    tuple
        One result per argument, in order.

    Raises
    ------
    TypeError
        :class:`~dlinalg.errors.DTypeError` if ``progress`` is not a bool or None.

    See Also
    --------
    dask.compute : The same without the progress bar.
    distributed.progress : The distributed progress bar.

    Examples
    --------
    >>> import dask.array as da
    >>> from dlinalg.cluster import compute_collections
    >>> x = da.arange(10, chunks=5)
    >>> compute_collections(x.sum(), x.max(), scheduler="sync")
    (np.int64(45), np.int64(9))
    >>> (total,) = compute_collections(
    ...     x.sum(), progress=True, scheduler="sync"
    ... )  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    [...] | 100% Completed | ...
    >>> int(total)
    45
    """
    if progress is None:
        progress = default_progress()
    elif not isinstance(progress, bool):
        raise DTypeError(f"progress must be True, False or None, got {progress!r}")
    _trace.record("graph", [describe_collection(c) for c in collections])
    with one_task_per_key():
        return _compute(collections, progress, kwargs)


def persist_collections(*collections: Any, **kwargs: Any) -> tuple:
    """:func:`dask.persist` with dlinalg's graph policy: one task per key.

    Every persist dlinalg makes goes through here (and every compute through
    :func:`compute_collections`), so the keys a persist leaves on the cluster
    name the same tasks as in any later graph (see :mod:`dlinalg._tokens`).

    Examples
    --------
    >>> import dask.array as da
    >>> from dlinalg.cluster import persist_collections
    >>> (x,) = persist_collections(da.arange(4, chunks=2) + 1, scheduler="sync")
    >>> x.sum().compute()
    np.int64(10)
    """
    _trace.record("graph", [describe_collection(c) for c in collections])
    with one_task_per_key():
        return dask.persist(*collections, **kwargs)


def _compute(collections: tuple, progress: bool, kwargs: dict) -> tuple:
    if not progress:
        return dask.compute(*collections, **kwargs)

    found, repack = unpack_collections(*collections, traverse=kwargs.get("traverse", True))
    if not found:
        return dask.compute(*collections, **kwargs)
    client = _distributed_client(found, kwargs.get("scheduler"))
    if client is None:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return dask.compute(*collections, **kwargs)

    options = {k: v for k, v in kwargs.items() if k not in ("scheduler", "traverse")}
    futures = client.compute(list(found), traverse=False, **options)
    try:
        _progress_bar_class()(futures, scheduler=client.scheduler.address)
        results = client.gather(futures)
    finally:
        for future in futures:
            future.release()
    return repack(results)


def describe_collection(collection: Any) -> str:
    """One line for :func:`dlinalg.explain`: a Dask collection's layers and task count."""
    if not is_dask_collection(collection):
        return type(collection).__name__
    graph = collection.__dask_graph__()
    layers = getattr(graph, "layers", {"": None})
    names = list(dict.fromkeys(key_split(name) for name in layers))
    return f"Dask graph of {len(graph)} tasks: {' -> '.join(names)}"


# --- executors: futures for iterative work ----------------------------------
class LocalExecutor:
    """Run every task at once in this process (no distributed client)."""

    client = None
    workers: tuple = (None,)
    n_threads = 1

    def submit(self, fn: Any, *args: Any, where: Any = None) -> Any:
        return fn(*args)

    def gather(self, handles: list) -> list:
        return list(handles)

    def blocks(self, arr: Any) -> list:
        return list(dask.compute(*arr.to_delayed(optimize_graph=False).ravel()))

    persist_blocks = blocks

    def groups(self, blocks: list) -> tuple[list[list[int]], list]:
        return [list(range(len(blocks)))], [None]

    def rebase(self, handles: list, where: list) -> list:
        return list(handles)


def _value(x: Any) -> Any:
    return x


class ClusterExecutor:
    """Submit tasks to a distributed client, with deterministic keys and soft placement.

    Parameters
    ----------
    client : distributed.Client
    """

    def __init__(self, client: Any):
        self.client = client

    @cached_property
    def _info(self) -> dict:
        try:
            return self.client.scheduler_info(n_workers=-1)["workers"]  # all of them (2025.1+)
        except TypeError:  # pragma: no cover - older distributed lists every worker
            return self.client.scheduler_info()["workers"]

    @property
    def workers(self) -> tuple:
        return tuple(sorted(self._info)) or (None,)

    @property
    def n_threads(self) -> int:
        return max(1, sum(int(w.get("nthreads", 1)) for w in self._info.values()))

    def submit(self, fn: Any, *args: Any, where: Any = None) -> Any:
        if where is None:
            return self.client.submit(fn, *args, pure=True)
        return self.client.submit(fn, *args, pure=True, workers=[where], allow_other_workers=True)

    def gather(self, handles: list) -> list:
        return self.client.gather(handles)

    def blocks(self, arr: Any) -> list:
        return list(self.client.compute(list(arr.to_delayed(optimize_graph=False).ravel())))

    def persist_blocks(self, arr: Any) -> list:
        """The row blocks of ``arr`` persisted under its own keys, in order, once in memory.

        The wait matters: where the blocks land decides :meth:`groups`.
        """
        from distributed import futures_of, wait

        keys = list(flatten(arr.__dask_keys__()))  # a matrix's one column chunk, or a vector
        with one_task_per_key():
            (arr,) = self.client.persist([arr])
        by_key = {f.key: f for f in futures_of(arr)}
        blocks = [by_key[k] for k in keys]
        wait(blocks)
        return blocks

    def groups(self, blocks: list) -> tuple[list[list[int]], list]:
        """Block indices grouped by the worker holding them, in block order.

        A worker's blocks are split into consecutive groups of at most
        :meth:`group_bytes` each (an eighth of the memory limit), so that one group task's inputs fit its
        worker's memory when the matrix does not (the persisted blocks then
        spill to disk and each task loads only its group). Results do not
        depend on the grouping: each block's partial sum is combined in a
        fixed tree over the blocks.
        """
        who = self.client.who_has(blocks)
        by_worker: dict[str, list[int]] = {}
        for i, f in enumerate(blocks):
            holders = sorted(who.get(f.key, ())) or [""]
            by_worker.setdefault(holders[0], []).append(i)
        budget = self.group_bytes()
        sizes = self.client.nbytes(keys=[f.key for f in blocks], summary=False) if budget else {}
        split: list[tuple[str, list[int]]] = []
        for addr, idx in by_worker.items():
            group: list[int] = []
            held = 0
            for i in idx:
                size = int(sizes.get(blocks[i].key, 0))
                if group and held + size > budget:
                    split.append((addr, group))
                    group, held = [], 0
                group.append(i)
                held += size
            split.append((addr, group))
        ordered = sorted(split, key=lambda kv: kv[1][0])
        return [idx for _, idx in ordered], [addr or None for addr, _ in ordered]

    def group_bytes(self) -> int:
        """Bytes of blocks one group task may hold: an eighth of the smallest memory per thread.

        A worker process holds ~300 MiB of its own before any data, and dask
        pauses it at 80% of its limit: an eighth leaves room under a 512 MiB limit.

        0 (no split) when no worker has a memory limit. The dask config key
        ``dlinalg.group-bytes`` overrides it.
        """
        configured = dask.config.get("dlinalg.group-bytes", None)
        if configured is not None:
            return int(parse_bytes(configured) if isinstance(configured, str) else configured)
        per_thread = [  # a worker runs up to nthreads groups at once
            int(w.get("memory_limit") or 0) // max(1, int(w.get("nthreads") or 1))
            for w in self._info.values()
        ]
        per_thread = [b for b in per_thread if b > 0]
        return min(per_thread) // 8 if per_thread else 0

    def rebase(self, handles: list, where: list) -> list:
        """The values of ``handles`` as new tasks holding their data, placed at ``where``."""
        values = self.gather(handles)
        return [self.submit(_value, v, where=w) for v, w in zip(values, where, strict=True)]


def executor_for(
    collections: list | tuple = (), scheduler: Any = None
) -> LocalExecutor | ClusterExecutor:
    """The executor for the scheduler ``dask.compute(*collections)`` would use.

    A distributed client (the default client, or the one the collections'
    futures belong to) gives a :class:`ClusterExecutor`; any other scheduler
    runs in this process.

    Examples
    --------
    >>> from dlinalg.cluster import executor_for
    >>> run = executor_for(scheduler="sync")
    >>> run.gather([run.submit(pow, 2, 10)])
    [1024]
    """
    client = _distributed_client(list(collections) or None, scheduler)
    return LocalExecutor() if client is None else ClusterExecutor(client)


#: The loggers :func:`silence_cluster_logs` silences.
CLUSTER_LOGGERS = ("distributed", "tornado", "asyncio")


def silence_cluster_logs() -> dict[str, int]:
    """No more log lines from distributed, tornado or asyncio (the run is being interrupted).

    Closing a client whose gathers were cut short makes asyncio report each of
    them ("Task exception was never retrieved", ``AllExit``).

    Returns
    -------
    dict
        The loggers' previous levels, for :func:`restore_cluster_logs` (a
        process that goes on, such as a notebook's kernel, wants them back).
    """
    levels = {name: logging.getLogger(name).level for name in CLUSTER_LOGGERS}
    for name in CLUSTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    return levels


def restore_cluster_logs(levels: dict[str, int]) -> None:
    """Give the loggers back the levels :func:`silence_cluster_logs` returned."""
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


class _CancelledGatherFilter(logging.Filter):
    """Drops asyncio's "Task exception was never retrieved" for a gather cut short.

    When Ctrl-C interrupts ``Client.gather``, distributed cancels its waiting
    task with ``AllExit``, and asyncio reports that task when it is collected:
    a traceback of distributed's own, about nothing the user did, that can
    land before the logs are silenced.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "AllExit"


def _drop_cancelled_gather_reports() -> None:
    """Install :class:`_CancelledGatherFilter` on asyncio's logger (once)."""
    log = logging.getLogger("asyncio")
    if not any(isinstance(f, _CancelledGatherFilter) for f in log.filters):
        log.addFilter(_CancelledGatherFilter())


def _kill_worker_processes(cluster: Any) -> None:
    """SIGKILL the worker processes of a LocalCluster (its nannies then see them gone)."""
    for worker in list(getattr(cluster, "workers", {}).values()):
        process = getattr(getattr(worker, "process", None), "process", None)
        if process is not None and process.is_alive():
            process.kill()


def kill_local_cluster_workers() -> None:
    """SIGKILL the worker processes of every LocalCluster of this process, at once.

    For a program about to end by ``os._exit`` (the command line's forced
    exit after Ctrl-C): its workers must not outlive it.
    """
    try:
        from distributed.deploy import spec
    except ImportError:  # pragma: no cover - distributed is a dependency
        return
    for cluster in list(spec.SpecCluster._instances):
        _kill_worker_processes(cluster)


def stop_local_clusters_quietly() -> None:
    """After Ctrl-C: stop any LocalCluster this process started, without logs or tracebacks.

    An interrupt can land while a LocalCluster is still starting its workers;
    distributed's own exit hook then fails on them (``AssertionError:
    Status.init``) and prints a traceback. Here the logs are silenced (for
    good: the process is ending), each cluster is closed with a short timeout,
    and the hook is taken off, so the command ends with its one line.
    """
    import atexit

    try:
        from distributed.deploy import spec
    except ImportError:  # pragma: no cover - distributed is a dependency
        return
    silence_cluster_logs()
    ours = [c for c in list(spec.SpecCluster._instances) if c in _STARTED]
    for cluster in ours:
        try:
            cluster.close(timeout=2)
        except BaseException:  # noqa: BLE001 - half-started: its processes are still stopped
            _kill_worker_processes(cluster)
    if all(c in _STARTED for c in list(spec.SpecCluster._instances)):
        # distributed's exit hook fails on a cluster interrupted while starting; a
        # cluster of someone else's (the caller's own) keeps it
        atexit.unregister(spec.close_clusters)
