"""Gram straight from a Zarr store on object storage, against reading it alone.

Issue 18: reading from an object store is latency-bound; the figure that
matters is Gram-from-store time over read-and-decode time on the same store,
for a local directory and for an S3 endpoint (moto's server on 127.0.0.1,
started by ``setup``, the way the test suite tests S3). The store is a
quarter of the benchmark matrix (ROWS / 4 x COLS float64), written by
dlinalg's ``to_zarr`` (zstd, per-chunk CRC-32C; on S3 the versioned commit),
one chunk per row block; both timings read the same store with
``dl.read_zarr`` (checked, guarded tasks), so the ratio isolates the compute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import dlinalg as dl

from . import COLS, ROWS, TIMEOUT, dense_drm, get_client, read_only, settle


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3() -> tuple[subprocess.Popen, dict]:
    """Start moto's S3 server on 127.0.0.1; return it and the storage options."""
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
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    options = {
        "key": "bench",
        "secret": "bench",
        "client_kwargs": {"endpoint_url": url},
        "skip_instance_cache": True,
    }
    return proc, options


class ObjectStoreGram:
    """``(A.T @ A)`` from the store vs read-and-decode alone, local directory and S3."""

    params = (["local", "s3"],)
    param_names = ("backend",)
    timeout = TIMEOUT
    rows = max(ROWS // 4, 1000)

    def setup(self, backend):
        self.client = get_client()
        self.server = None
        A = dense_drm(self.rows, COLS)
        if backend == "s3":
            import s3fs

            self.server, self.options = start_s3()
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            s3fs.S3FileSystem(**self.options).mkdir(bucket)
            self.path = f"s3://{bucket}/matrix.zarr"
        else:
            self.tmp = tempfile.mkdtemp(prefix="dlinalg-bench-")
            self.options = None
            self.path = os.path.join(self.tmp, "matrix.zarr")
        with self.client.as_current():
            A.to_zarr(self.path, storage_options=self.options)
        settle(self.client)

    def teardown(self, backend):
        if self.server is not None:
            self.server.terminate()
            self.server.wait(10)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def time_gram(self, backend):
        with self.client.as_current():
            A = dl.read_zarr(self.path, storage_options=self.options)
            (A.T @ A).compute()

    def time_read_decode(self, backend):
        """The floor: read, verify and decode every chunk, then drop it."""
        with self.client.as_current():
            read_only(dl.read_zarr(self.path, storage_options=self.options).to_dask())
