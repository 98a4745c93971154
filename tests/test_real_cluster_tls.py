"""TLS end to end against a real cluster: ``.ci/cluster start --tls`` starts `dask
scheduler` and two `dask worker` with ``--tls-ca-file/--tls-cert/--tls-key``
(certificates from ``.ci/make_certs.py``: a CA and a certificate per role).

CI's "real cluster" step runs these (``pytest -m real_cluster_tls`` with the
variables of ``.ci/cluster env``: the address and DLINALG_TLS_CA/CERT/KEY,
the client's credentials); elsewhere they are skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dask
import numpy as np
import pytest
from distributed.security import Security

import dlinalg as dl
from dlinalg.errors import ClusterError

pytestmark = pytest.mark.real_cluster_tls

ROOT = Path(__file__).resolve().parents[1]


def _bits(x):
    return np.ascontiguousarray(np.asarray(x)).view(np.uint8).tobytes()


def _client_security(ca=None, cert=None, key=None) -> Security:
    return Security(
        tls_ca_file=ca or os.environ["DLINALG_TLS_CA"],
        tls_client_cert=cert or os.environ["DLINALG_TLS_CERT"],
        tls_client_key=key or os.environ["DLINALG_TLS_KEY"],
        require_encryption=True,
    )


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """Certificates of another, unrelated CA (same script, another key)."""
    folder = tmp_path_factory.mktemp("other-ca")
    subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "make_certs.py"), str(folder), "--ca-name", "other"],
        check=True,
        capture_output=True,
    )
    return folder


def test_connect_over_tls_computes_bit_for_bit():
    address = os.environ["DASK_SCHEDULER_ADDRESS"]
    assert address.startswith("tls://127.0.0.1:")
    rng = np.random.default_rng(0)
    X, b = rng.standard_normal((3_000, 10)), rng.standard_normal(3_000)
    A = dl.from_array(X, chunks=300)

    def run():
        return (A.T @ A).compute(), dl.lsqr(A, b, atol=1e-12, btol=1e-12).x

    with dask.config.set(scheduler="sync"):
        want = run()
    with dl.connect(address, security=_client_security(), set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(w.startswith("tls://127.0.0.1:") for w in workers)
        with client.as_current():
            got = run()
    assert [_bits(g) for g in got] == [_bits(w) for w in want]


def test_a_client_that_does_not_trust_the_clusters_ca_is_refused(other_ca):
    """The client's CA did not sign the scheduler's certificate: the error says so."""
    security = _client_security(
        ca=str(other_ca / "ca.pem"),
        cert=str(other_ca / "client.pem"),
        key=str(other_ca / "client-key.pem"),
    )
    with pytest.raises(
        ClusterError, match=r"TLS.*scheduler's certificate is not signed by the CA"
    ):
        dl.connect(security=security, timeout="10s", set_as_default=False)


def test_a_client_certificate_from_another_ca_is_refused(other_ca):
    """The client trusts the cluster, but its own certificate comes from another CA."""
    security = _client_security(
        cert=str(other_ca / "client.pem"), key=str(other_ca / "client-key.pem")
    )
    with pytest.raises(ClusterError, match=r"TLS.*refused this client's certificate.*CA") as info:
        dl.connect(security=security, timeout="10s", set_as_default=False)
    assert "client.pem" in str(info.value)


def test_a_plain_tcp_client_cannot_reach_the_tls_scheduler():
    address = os.environ["DASK_SCHEDULER_ADDRESS"].replace("tls://", "tcp://")
    with pytest.raises(OSError):  # noqa: PT011 - distributed's timeout: the TLS port never answers TCP's handshake
        dl.connect(address, timeout="3s", set_as_default=False)


def test_local_cluster_with_these_certificates_chooses_tls():
    """security= alone (no protocol) makes local_cluster listen on tls://, here with the CI's CA."""
    folder = Path(os.environ["DLINALG_TLS_CA"]).parent
    security = Security(
        tls_ca_file=str(folder / "ca.pem"),
        require_encryption=True,
        **{
            f"tls_{role}_{kind}": str(folder / f"{role}{suffix}.pem")
            for role in ("client", "scheduler", "worker")
            for kind, suffix in (("cert", ""), ("key", "-key"))
        },
    )
    X = np.random.default_rng(1).standard_normal((400, 5))
    with dl.local_cluster(n_workers=1, threads_per_worker=1, security=security, quiet=True) as c:
        assert c.scheduler.address.startswith("tls://127.0.0.1:")
        assert all(w.startswith("tls://") for w in c.scheduler_info()["workers"])
        G = (dl.from_array(X, chunks=100).T @ dl.from_array(X, chunks=100)).compute()
    with dask.config.set(scheduler="sync"):
        want = (dl.from_array(X, chunks=100).T @ dl.from_array(X, chunks=100)).compute()
    assert _bits(G) == _bits(want)
