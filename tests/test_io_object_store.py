"""Zarr on object storage: fsspec URLs, the versioned commit protocol, crash safety.

The same tests run on a local directory, on fsspec's ``memory://`` and on a real
S3-protocol endpoint (moto's server on 127.0.0.1, see ``s3_endpoint`` in
conftest; those cases are marked ``slow`` and ``object_store``: ``-m object_store``
runs them alone). ``memory://`` lives in one process, so it runs on the synchronous
scheduler only; S3 and local directories also run on a LocalCluster.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import dask
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import zarr

import dlinalg as dl
from dlinalg.errors import (
    CorruptStoreError,
    IncompleteStoreError,
    StoreChangedError,
    StoreNotFoundError,
)
from dlinalg.io import _versioned

# chunking table: (rows, cols, row chunk)
CHUNKINGS = [
    (12, 3, 12),  # one chunk
    (40, 5, 8),  # many equal chunks
    (43, 4, 10),  # uneven last chunk
]


#: S3 through moto costs ~0.1-1 s per store: the slow CI step runs those cases.
ON_S3 = [pytest.mark.slow, pytest.mark.object_store]


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=ON_S3)])
def where(request, tmp_path):
    """``(url_or_dir_of(name), storage_options)`` for each backend."""
    if request.param == "local":
        yield (lambda name: str(tmp_path / name)), None
    elif request.param == "memory":
        base = f"memory://dlinalg-test-{uuid.uuid4().hex[:8]}"
        yield (lambda name: f"{base}/{name}"), None
        import fsspec

        fs = fsspec.filesystem("memory")
        if fs.exists(base):
            fs.rm(base, recursive=True)
    else:
        bucket, options = request.getfixturevalue("s3_bucket")
        yield (lambda name: f"{bucket}/{name}"), options


def _truth(shape, dtype, sparse, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:
        return sp.random(*shape, density=0.3, format="csr", dtype=dtype, random_state=rng)
    return rng.standard_normal(shape).astype(dtype)


def _dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


@pytest.mark.parametrize(("rows", "cols", "chunk"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_bit_for_bit(where, rows, cols, chunk, sparse, dtype):
    name, options = where
    x = _truth((rows, cols), dtype, sparse)
    A = dl.from_array(x, chunks=chunk, row_labels=[f"r{i}" for i in range(rows)])
    with dask.config.set(scheduler="synchronous"):
        A.to_zarr(name("a.zarr"), storage_options=options)
        B = dl.read_zarr(name("a.zarr"), storage_options=options)
        got = B.compute()
    assert B.row_labels == A.row_labels
    assert B.chunks == A.chunks
    assert _dense(got).dtype == dtype
    np.testing.assert_array_equal(_dense(got), _dense(x))
    assert dl.verify_zarr(name("a.zarr"), storage_options=options).ok


@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=ON_S3)])
def test_cluster_writes_and_reads_the_store(backend, client, tmp_path, request):
    """Workers write the chunks and read them back; Gram from the store equals numpy's."""
    if backend == "local":
        path, options = str(tmp_path / "a.zarr"), None
    else:
        bucket, options = request.getfixturevalue("s3_bucket")
        path = f"{bucket}/a.zarr"
    x = _truth((43, 4), np.float64, False)
    with client.as_current():
        dl.from_array(x, chunks=10).to_zarr(path, storage_options=options)
        A = dl.read_zarr(path, storage_options=options)
        gram = (A.T @ A).compute()
    np.testing.assert_allclose(gram, x.T @ x, rtol=1e-13)


def test_overwrite_keeps_old_readers_then_collects(where):
    name, options = where
    path = name("m.zarr")
    x = np.arange(24.0).reshape(8, 3)
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(x, chunks=3).to_zarr(path, storage_options=options)
        old = dl.read_zarr(path, storage_options=options)
        with pytest.raises(FileExistsError, match="overwrite=True"):
            dl.from_array(x).to_zarr(path, storage_options=options)
        (old * 2).to_zarr(path, overwrite=True, storage_options=options)  # reads while replaced
        np.testing.assert_array_equal(dl.read_zarr(path, storage_options=options).compute(), 2 * x)
        if "://" not in path:  # local stores swap directories: the old one is gone at once
            with pytest.raises(StoreChangedError, match="replaced or removed"):
                old.compute()
            return
        np.testing.assert_array_equal(old.compute(), x)  # the old version is still there
        with dask.config.set({"dlinalg.superseded-grace": 0}):
            dl.from_array(3 * x, chunks=3).to_zarr(path, overwrite=True, storage_options=options)
        with pytest.raises(StoreChangedError, match="replaced or removed"):
            old.compute()  # its version was collected: refused, never mixed
        np.testing.assert_array_equal(dl.read_zarr(path, storage_options=options).compute(), 3 * x)
    store = _versioned.open_url(path, options or {}, read_only=True)
    assert len(_versioned._versions(store, "")) == 1  # only the current version is left


def test_component_inside_a_group(where):
    name, options = where
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.eye(3)).to_zarr(name("g.zarr"), component="x/a", storage_options=options)
        dl.from_array(2 * np.eye(3)).to_zarr(
            name("g.zarr"), component="x/b", storage_options=options
        )
        a = dl.read_zarr(name("g.zarr"), component="x/a", storage_options=options).compute()
        b = dl.read_zarr(name("g.zarr"), component="x/b", storage_options=options).compute()
    np.testing.assert_array_equal(a, np.eye(3))
    np.testing.assert_array_equal(b, 2 * np.eye(3))


# ------------------------------------------------------------------ bad input


def test_bad_storage_options(tmp_path):
    A = dl.from_array(np.eye(2))
    with pytest.raises(TypeError, match="storage_options must be a dict"):
        A.to_zarr("memory://x/a.zarr", storage_options="anon=True")
    with pytest.raises(ValueError, match="is a local path"):
        A.to_zarr(str(tmp_path / "a.zarr"), storage_options={"anon": True})
    with pytest.raises(ValueError, match="is a local path"):
        dl.read_zarr(str(tmp_path), storage_options={"anon": True})
    assert not (tmp_path / "a.zarr").exists()


def test_unknown_protocol_is_named():
    with pytest.raises(ValueError, match="nosuchfs"):
        dl.read_zarr("nosuchfs://bucket/a.zarr")


def test_missing_url_store(where):
    name, options = where
    with pytest.raises(StoreNotFoundError):
        dl.read_zarr(name("absent.zarr"), storage_options=options)


@pytest.mark.slow
@pytest.mark.object_store
def test_refuses_to_replace_what_is_not_zarr(s3_bucket):
    bucket, options = s3_bucket
    import s3fs

    fs = s3fs.S3FileSystem(**options)
    fs.pipe(f"{bucket}/data/notes.txt", b"keep me")
    with pytest.raises(FileExistsError, match="not a Zarr store"):
        dl.from_array(np.eye(2)).to_zarr(f"{bucket}/data", overwrite=True, storage_options=options)
    assert fs.cat(f"{bucket}/data/notes.txt") == b"keep me"


def test_pointer_to_a_missing_version(where):
    name, options = where
    path = name("p.zarr")
    if "://" not in path:
        pytest.skip("local stores have no version pointer")
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.eye(2)).to_zarr(path, storage_options=options)
    store = _versioned.open_url(path, options or {}, read_only=False)
    (version,) = _versioned._versions(store, "")
    _versioned._delete_prefix(store, version)
    with pytest.raises(IncompleteStoreError, match=version):
        dl.read_zarr(path, storage_options=options)


@pytest.mark.slow
@pytest.mark.object_store
def test_corrupted_chunk_on_s3_is_named(s3_bucket):
    bucket, options = s3_bucket
    import s3fs

    path = f"{bucket}/c.zarr"
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.arange(40.0).reshape(10, 4), chunks=5).to_zarr(
            path, storage_options=options
        )
    fs = s3fs.S3FileSystem(**options)
    (chunk,) = [k for k in fs.find(path) if k.endswith("matrix/c/1/0")]
    raw = bytearray(fs.cat(chunk))
    raw[len(raw) // 2] ^= 0xFF
    fs.pipe(chunk, bytes(raw))
    report = dl.verify_zarr(path, storage_options=options)
    assert not report.ok
    assert "matrix/c/1/0" in str(report.problems[0])
    with (
        pytest.raises(CorruptStoreError, match="matrix/c/1/0"),
        dask.config.set(scheduler="synchronous"),
    ):
        dl.read_zarr(path, storage_options=options).compute()


# ------------------------------------------------------------- crash safety

WRITER = """
import json, sys, time, dask, dask.array as da, dlinalg as dl
path, value, progress, options = sys.argv[1], float(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])

def slow(block):  # report each block, then dawdle, so the parent can kill us mid-upload
    with open(progress, "a") as f:
        f.write("b")
    time.sleep(0.15)
    return block

x = da.full((400, 8), value, chunks=(10, 8)).map_blocks(slow, dtype=float)
with dask.config.set(scheduler="synchronous"):
    dl.from_array(x).to_zarr(path, overwrite=True, storage_options=options)
"""


def _kill_writer_midway(path, value, options, tmp_path):
    progress = tmp_path / f"progress-{value}"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, path, str(value), str(progress), json.dumps(options)]
    )
    deadline = time.monotonic() + 60
    while not (progress.exists() and "bbbb" in progress.read_text()):
        assert proc.poll() is None, "the writer exited before it could be killed"
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.object_store
def test_writer_killed_mid_upload_keeps_the_old_store(s3_bucket, tmp_path):
    bucket, options = s3_bucket
    path = f"{bucket}/m.zarr"
    old = np.arange(800.0).reshape(400, 2)
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(old, chunks=50, row_labels=range(400)).to_zarr(path, storage_options=options)
    _kill_writer_midway(path, 2.0, options, tmp_path)
    store = _versioned.open_url(path, options, read_only=True)
    assert len(_versioned._versions(store, "")) == 2  # the dead writer's half version
    with dask.config.set(scheduler="synchronous"):
        A = dl.read_zarr(path, storage_options=options)
        np.testing.assert_array_equal(A.compute(), old)  # the previous store, unchanged
        assert A.row_labels == tuple(range(400))
        assert dl.verify_zarr(path, storage_options=options).ok
        dl.from_array(np.full((3, 3), 3.0)).to_zarr(path, overwrite=True, storage_options=options)
        np.testing.assert_array_equal(dl.read_zarr(path, storage_options=options).compute(), 3.0)
    # the dead writer's version is gone (its pid is gone); the replaced one is in its grace
    versions = _versioned._versions(store, "")
    assert len(versions) == 2
    assert _versioned.current_version(dl.io._meta.read_node(store, "", path), path) in versions


@pytest.mark.slow
@pytest.mark.object_store
def test_writer_killed_on_a_fresh_url_leaves_no_store(s3_bucket, tmp_path):
    bucket, options = s3_bucket
    path = f"{bucket}/fresh.zarr"
    _kill_writer_midway(path, 2.0, options, tmp_path)
    with pytest.raises(StoreNotFoundError):
        dl.read_zarr(path, storage_options=options)
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.ones((2, 2))).to_zarr(path, storage_options=options)
        np.testing.assert_array_equal(dl.read_zarr(path, storage_options=options).compute(), 1.0)
    store = _versioned.open_url(path, options, read_only=True)
    assert len(_versioned._versions(store, "")) == 1


def test_live_writers_version_is_never_collected(where):
    """A version whose writer is alive (this process) survives a concurrent commit."""
    name, options = where
    path = name("live.zarr")
    if "://" not in path:
        pytest.skip("local stores keep temporaries beside the store")
    store = _versioned.open_url(path, options or {}, read_only=False)
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.eye(2)).to_zarr(path, storage_options=options)
        # a second writer in progress: its owner record names this (live) process
        live = _versioned.write_version(store, "", lambda sub: zarr.open_group(sub, mode="w-"))
        with dask.config.set({"dlinalg.superseded-grace": 0}):
            dl.from_array(2 * np.eye(2)).to_zarr(path, overwrite=True, storage_options=options)
    assert live in _versioned._versions(store, "")


def test_grace_config_is_checked():
    with (
        dask.config.set({"dlinalg.superseded-grace": -1}),
        pytest.raises(ValueError, match="superseded-grace"),
    ):
        _versioned.grace_seconds()


@pytest.mark.slow
@pytest.mark.object_store
def test_xarray_opens_the_current_version(s3_bucket):
    xr = pytest.importorskip("xarray")
    bucket, options = s3_bucket
    path = f"{bucket}/x.zarr"
    x = np.arange(12.0).reshape(4, 3)
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(x, chunks=2, row_labels=list("abcd")).to_zarr(path, storage_options=options)
    store = _versioned.open_url(path, options, read_only=True)
    version = _versioned.current_version(dl.io._meta.read_node(store, "", path), path)
    ds = xr.open_zarr(path, group=version, storage_options=options, consolidated=False)
    np.testing.assert_array_equal(ds["matrix"].values, x)
    assert list(ds["row"].values) == list("abcd")


def test_store_guard_names_a_local_path_unchanged(tmp_path):
    """URL support leaves local paths alone: file:// URLs are local directories."""
    x = np.eye(3)
    dl.from_array(x).to_zarr(f"file://{tmp_path}/f.zarr")
    assert os.path.isdir(tmp_path / "f.zarr")
    np.testing.assert_array_equal(dl.read_zarr(f"file://{tmp_path}/f.zarr").compute(), x)


# ------------------------------------------------------ interactions from URLs

LOG = "u1,purchase,iphone\nu1,purchase,ipad\nu2,view,iphone\nu3,purchase,ipad\n"


def _put_logs(name, options):
    import fsspec

    base = name("logs")
    fs, root = fsspec.core.url_to_fs(base, **(options or {}))
    fs.makedirs(root, exist_ok=True)
    lines = LOG.splitlines(keepends=True)
    fs.pipe(f"{root}/part-00000", "".join(lines[:2]).encode())
    fs.pipe(f"{root}/part-00001", "".join(lines[2:]).encode())
    fs.pipe(f"{root}/_SUCCESS", b"")
    return base


def test_interactions_read_csv_from_a_url(where):
    from dlinalg.models import Interactions

    name, options = where
    base = _put_logs(name, options)
    got = Interactions.read_csv(
        base, user=0, action=1, item=2, header=None, storage_options=options
    )
    local = Interactions.from_dataframe(
        pd.read_csv(io.StringIO(LOG), header=None, dtype=str),
        user=0,
        item=2,
        action=1,
    )
    assert repr(got) == repr(local)
    for action in ("purchase", "view"):
        assert (got.matrix(action) != local.matrix(action)).nnz == 0


def test_interactions_read_parquet_from_a_url(where):
    from dlinalg.models import Interactions

    name, options = where
    df = pd.DataFrame({"user": ["a", "b", "b"], "item": ["x", "x", "y"]})
    path = name("events.parquet")
    if "://" not in path:
        df.to_parquet(path)
    else:
        df.to_parquet(path, storage_options=options)
    got = Interactions.read_parquet(path, storage_options=options)
    np.testing.assert_array_equal(got.matrix(0).toarray(), [[1, 0], [1, 1]])
    with pytest.raises(FileNotFoundError, match="absent"):
        Interactions.read_parquet(name("absent.parquet"), storage_options=options)
    with pytest.raises(FileNotFoundError, match="absent"):
        Interactions.read_csv(name("absent"), user=0, item=1, storage_options=options)


# ------------------------------------------------------ the command line on URLs

CLI_LOG = b"u1,a\nu1,b\nu2,a\nu3,c\n"
CLI_OUT = b"a\tb:1.046496287529096\nb\ta:1.046496287529096\nc\n"


def _cli_round_trip(base, fs, root, capsys):
    from dlinalg.models.cli import main

    fs.pipe(f"{root}/in/part-0", CLI_LOG)
    fs.pipe(f"{root}/in/_SUCCESS", b"")
    args = ["itemsimilarity", "-i", f"{base}/in", "-o", f"{base}/out"]
    assert main(args) == 0
    assert f"wrote {base}/out" in capsys.readouterr().err
    assert fs.cat(f"{root}/out/similarity-matrix/part-00000") == CLI_OUT
    assert fs.exists(f"{root}/out/_SUCCESS")
    assert main(args) == 2  # exists: refused, as for a local --output
    assert "pass --overwrite" in capsys.readouterr().err
    fs.pipe(f"{root}/out/similarity-matrix/part-00099", b"stale")
    assert main([*args, "--overwrite"]) == 0
    assert not fs.exists(f"{root}/out/similarity-matrix/part-00099")  # replaced, not merged
    assert main(["itemsimilarity", "-i", f"{base}/absent", "-o", f"{base}/o2"]) == 2
    assert f"input not found: {base}/absent" in capsys.readouterr().err


def test_cli_reads_and_writes_memory_urls(capsys):
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/cli-{uuid.uuid4().hex[:8]}"
    try:
        _cli_round_trip(f"memory://{root}", fs, root, capsys)
    finally:
        fs.rm(root, recursive=True)


@pytest.mark.slow
@pytest.mark.object_store
def test_cli_reads_and_writes_s3(s3_bucket, capsys, monkeypatch):
    """Credentials and endpoint from the AWS environment, as a shell user sets them."""
    import s3fs

    bucket, options = s3_bucket
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", options["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", options["secret"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", options["client_kwargs"]["endpoint_url"])
    fs = s3fs.S3FileSystem(**options)
    _cli_round_trip(bucket, fs, bucket[len("s3://") :], capsys)


# ------------------------------------------------------------- review findings


def test_same_hostname_other_pid_space_is_not_judged_by_pid():
    """A writer on another machine (or container) with this hostname: its pid says nothing."""
    from dlinalg.io import _atomic

    mine = _atomic.owner_record()
    gone = {**mine, "pid": 2**22 + 7}  # no such pid here
    assert not _atomic.owner_alive(gone)  # same pid space: provably gone
    elsewhere = {**gone, "pid_space": "another-boot/pid:[1]"}
    assert _atomic.owner_alive(elsewhere)  # another pid space: alive until stale
    assert not _atomic.owner_alive(elsewhere, now=mine["created"] + _atomic.STALE_AGE + 1)


def test_bad_grace_is_refused_before_writing(where):
    name, options = where
    path = name("g.zarr")
    if "://" not in path:
        pytest.skip("local stores have no grace period")
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.eye(2)).to_zarr(path, storage_options=options)
        with (
            dask.config.set({"dlinalg.superseded-grace": "1h"}),
            pytest.raises(ValueError, match="superseded-grace"),
        ):
            dl.from_array(2 * np.eye(2)).to_zarr(path, overwrite=True, storage_options=options)
        np.testing.assert_array_equal(
            dl.read_zarr(path, storage_options=options).compute(), np.eye(2)
        )
    store = _versioned.open_url(path, options or {}, read_only=True)
    assert len(_versioned._versions(store, "")) == 1


def test_overwriting_a_plain_zarr_store_keeps_it_for_its_readers(where):
    name, options = where
    path = name("plain.zarr")
    if "://" not in path:
        pytest.skip("local stores swap directories")
    x = np.arange(12.0).reshape(4, 3)
    z = zarr.create_array(
        zarr.storage.FsspecStore.from_url(path, storage_options=options or {}),
        shape=x.shape, chunks=(2, 3), dtype="f8",
    )  # fmt: skip
    z[:] = x
    with dask.config.set(scheduler="synchronous"):
        old = dl.read_zarr(path, storage_options=options)
        dl.from_array(2 * x).to_zarr(path, overwrite=True, storage_options=options)
        np.testing.assert_array_equal(old.compute(), x)  # its chunks are still there
        np.testing.assert_array_equal(dl.read_zarr(path, storage_options=options).compute(), 2 * x)
        with dask.config.set({"dlinalg.superseded-grace": 0}):
            dl.from_array(3 * x).to_zarr(path, overwrite=True, storage_options=options)
    store = _versioned.open_url(path, options or {}, read_only=True)
    assert _versioned._plain_children(store, "") == []  # collected after the grace


def test_component_inside_the_current_version(where):
    name, options = where
    path = name("c.zarr")
    with dask.config.set(scheduler="synchronous"):
        dl.from_array(np.eye(3), chunks=2).to_zarr(path, storage_options=options)
        got = dl.read_zarr(path, component="matrix", storage_options=options).compute()
    np.testing.assert_array_equal(got, np.eye(3))


def test_cli_refuses_an_output_url_holding_the_input(capsys):
    import fsspec
    from dlinalg.models.cli import main

    root = f"/cli-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/d/in.csv", CLI_LOG)
    try:
        for out in (f"memory://{root}/d", f"memory://{root}/d/"):
            args = ["itemsimilarity", "-i", f"memory://{root}/d/in.csv", "-o", out, "--overwrite"]
            assert main(args) == 2
            assert "would replace the input" in capsys.readouterr().err
        assert fs.cat(f"{root}/d/in.csv") == CLI_LOG
    finally:
        fs.rm(root, recursive=True)


def test_group_budget_is_per_thread():
    from dlinalg.cluster import ClusterExecutor

    run = ClusterExecutor(None)
    run.__dict__["_info"] = {
        "a": {"memory_limit": 8 * 2**30, "nthreads": 4},
        "b": {"memory_limit": 16 * 2**30, "nthreads": 2},
        "c": {"memory_limit": 0, "nthreads": 1},  # no limit: does not switch grouping off
    }
    assert run.group_bytes() == 2**30 // 4  # 2 GiB per thread on "a", an eighth of it
    run.__dict__["_info"] = {"a": {"memory_limit": 0, "nthreads": 2}}
    assert run.group_bytes() == 0


@pytest.mark.slow
@pytest.mark.object_store
def test_worker_killed_mid_gram_from_s3_gives_the_same_bits(
    s3_bucket, fresh_cluster, killing_a_worker_when
):
    """A worker SIGKILLed while Gram streams blocks from S3: the survivor re-reads
    the lost blocks from the store and the result has the same bits."""
    _, client = fresh_cluster
    bucket, options = s3_bucket
    path = f"{bucket}/kill.zarr"
    x = _truth((6_000, 8), np.float64, False)
    with client.as_current():
        dl.from_array(x, chunks=100).to_zarr(path, storage_options=options)  # 60 S3 chunks
        A = dl.read_zarr(path, storage_options=options)
        want = (A.T @ A).compute()  # also warms the workers up
        start = time.monotonic()
        np.testing.assert_array_equal((A.T @ A).compute(), want)
        client.cancel(list(client.futures))  # nothing of the pass stays in memory
        kill_after = 0.4 * (time.monotonic() - start)
        start = time.monotonic()
        with killing_a_worker_when(
            client, lambda: time.monotonic() > start + kill_after
        ) as victim:
            got = (A.T @ A).compute()
    assert victim not in client.run(os.getpid).values(), "the pass ended before the kill"
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(want, x.T @ x, rtol=1e-12)


@pytest.mark.parametrize("failure", [OSError("connection reset"), KeyboardInterrupt()])
def test_cli_upload_stopped_part_way_says_so(failure, capsys, monkeypatch):
    """An upload that fails or is interrupted half-way does not claim "no output written"."""
    import fsspec
    from dlinalg.models.recommenders import cli

    fs = fsspec.filesystem("memory")
    root = f"/cli-{uuid.uuid4().hex[:8]}"
    fs.pipe(f"{root}/in/log.csv", b"u1,a\nu1,b\nu2,a\nu3,c\n")

    def failing_pipe(self, *args, **kwargs):  # the files are up, the markers fail
        raise failure

    monkeypatch.setattr(type(fs), "pipe", failing_pipe)
    try:
        code = cli.main(
            ["itemsimilarity", "-i", f"memory://{root}/in", "-o", f"memory://{root}/out",
             "--scheduler", "synchronous", "--quiet"]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert code == (130 if isinstance(failure, KeyboardInterrupt) else 1)
        assert "no output written" not in err
        assert f"memory://{root}/out" in err
        assert "_SUCCESS" in err
        assert "--overwrite" in err
        assert fs.exists(f"{root}/out/similarity-matrix/part-00000")
        assert not fs.exists(f"{root}/out/_SUCCESS")
    finally:
        monkeypatch.undo()
        fs.rm(root, recursive=True)
