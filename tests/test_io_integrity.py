"""A store that reads as complete is complete and uncorrupted (issue 12).

Every damage an interrupted copy, a sync or a disk can do to a finished store
is refused with an error naming the store and the chunk key; a whole store is
checked with ``dl.verify_zarr``; killed writers' temporaries are cleaned only
when their writer is gone, and never open as a store.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import dask
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
import zarr

import dlinalg as dl
from dlinalg.errors import (
    CorruptStoreError,
    LabelError,
    StoreNotFoundError,
)
from dlinalg.io import _atomic, _layout
from dlinalg.io._atomic import find_leftovers, make_temp, remove_stale_leftovers
from dlinalg.matrix import DRM

X = np.arange(200.0).reshape(40, 5) / 7.0  # 5 row chunks of 8


def write(path, x=X, chunks=8, **labels):
    dl.from_array(x, chunks=chunks, **labels).to_zarr(path)
    return path


def chunk(path, i, array="matrix"):
    return path / array / "c" / str(i) / "0"


def marker(path):
    return json.loads((path / "zarr.json").read_text())["attributes"]["dlinalg"]


def assert_names(exc_info, path, key):
    """The error names the store and the chunk key (or one of ``key``), and carries them."""
    msg = str(exc_info.value)
    keys = key if isinstance(key, tuple) else (key,)
    assert str(path) in msg
    assert exc_info.value.key in keys
    assert repr(exc_info.value.key) in msg
    assert "overwrite=True" in msg  # and the remedy


# ------------------------------------------------------- damage table, dense
# Each row: how the finished store is damaged, the key the error must name,
# and whether read_zarr refuses at open (metadata and one listing) or the
# read task refuses as it decodes the chunk.


def delete(path):
    chunk(path, 2).unlink()


def flip_bit(path):
    raw = bytearray(chunk(path, 3).read_bytes())
    raw[len(raw) // 2] ^= 0x10
    chunk(path, 3).write_bytes(bytes(raw))


def swap(path):
    a, b = chunk(path, 1).read_bytes(), chunk(path, 2).read_bytes()
    chunk(path, 1).write_bytes(b)
    chunk(path, 2).write_bytes(a)


def copy_over(path):  # one chunk copied over another of the same size
    chunk(path, 0).write_bytes(chunk(path, 1).read_bytes())


def truncate(path):
    raw = chunk(path, 4).read_bytes()
    chunk(path, 4).write_bytes(raw[: len(raw) // 2])


def edit_shape(rows):
    def edit(path):
        meta_path = path / "matrix" / "zarr.json"
        meta = json.loads(meta_path.read_text())
        meta["shape"][0] = rows
        meta_path.write_text(json.dumps(meta))

    return edit


@pytest.mark.parametrize(
    ("damage", "key", "at_open"),
    [
        (delete, "matrix/c/2/0", True),  # plain Zarr reads it as zeros
        (flip_bit, "matrix/c/3/0", False),  # still the right size
        (swap, ("matrix/c/1/0", "matrix/c/2/0"), False),  # each matches its own CRC
        (copy_over, "matrix/c/0/0", False),
        (truncate, "matrix/c/4/0", False),  # the last (edge) chunk
        (edit_shape(48), "matrix/zarr.json", True),  # rows padded with zeros
        (edit_shape(33), "matrix/zarr.json", True),  # rows silently dropped
    ],
    ids=["delete", "flip-bit", "swap", "copy-over", "truncate", "shape-bigger", "shape-smaller"],
)
def test_damaged_store_is_refused(damage, key, at_open, scheduler, tmp_path):
    path = write(tmp_path / "m.zarr")
    np.testing.assert_array_equal(dl.read_zarr(path).compute(), X)
    damage(path)
    if at_open:
        with pytest.raises(CorruptStoreError) as exc:
            dl.read_zarr(path)
    else:
        A = dl.read_zarr(path)  # lazy: nothing read up front
        with pytest.raises(CorruptStoreError) as exc:
            A.compute()
    assert_names(exc, path, key)
    report = dl.verify_zarr(path)
    keys = key if isinstance(key, tuple) else (key,)
    assert [p.key for p in report.problems] == list(keys)


def test_damage_after_open_is_caught_by_the_task(tmp_path):
    path = write(tmp_path / "m.zarr")
    A = dl.read_zarr(path)
    chunk(path, 1).unlink()
    with pytest.raises(CorruptStoreError) as exc:
        (A.T @ A).compute(scheduler="sync")
    assert_names(exc, path, "matrix/c/1/0")


def test_undamaged_rows_still_read(tmp_path):
    """Only tasks that decode a bad chunk fail: the rows before it read fine."""
    path = write(tmp_path / "m.zarr")
    flip_bit(path)  # chunk 3: rows 24..31
    np.testing.assert_array_equal(dl.read_zarr(path)[:24].compute(), X[:24])


def test_any_zarr_reader_verifies_the_checksum(tmp_path):
    path = write(tmp_path / "m.zarr")
    codecs = [c["name"] for c in json.loads((path / "matrix/zarr.json").read_text())["codecs"]]
    assert codecs[-1] == "crc32c"
    np.testing.assert_array_equal(zarr.open_array(path / "matrix", mode="r")[:], X)
    flip_bit(path)
    with pytest.raises(ValueError, match="checksum"):
        zarr.open_array(path / "matrix", mode="r")[:]


def test_marker_lists_every_chunk(tmp_path):
    path = write(tmp_path / "m.zarr", row_labels=[f"r{i}" for i in range(40)])
    info = marker(path)
    assert info["format_version"] == 2
    assert info["arrays"]["matrix"] == {"shape": [40, 5], "chunks": [8, 5]}
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert sorted(info["chunks"]) == [f for f in files if not f.endswith("zarr.json")]
    for key, (crc, nbytes) in info["chunks"].items():
        raw = (path / key).read_bytes()
        assert len(raw) == nbytes
        assert int.from_bytes(raw[-4:], "little") == crc


# ------------------------------------------------ labels, sparse, components


def test_damaged_label_chunk(tmp_path):
    path = write(tmp_path / "m.zarr", row_labels=[f"r{i}" for i in range(40)])
    (path / "row" / "c" / "0").write_bytes(b"\x00" * 12)
    with pytest.raises(CorruptStoreError) as exc:
        dl.read_zarr(path)
    assert_names(exc, path, "row/c/0")


def test_damaged_sparse_block(scheduler, tmp_path):
    x = sp.random_array((30, 6), density=0.4, rng=3, format="csr")
    path = tmp_path / "s.zarr"
    dl.from_array(x, chunks=7).to_zarr(path)
    key = "blocks/2/data/c/0"
    raw = bytearray((path / key).read_bytes())
    raw[5] ^= 1
    (path / key).write_bytes(bytes(raw))
    A = dl.read_zarr(path)
    np.testing.assert_array_equal(A[:14].compute().toarray(), x[:14].toarray())
    with pytest.raises(CorruptStoreError) as exc:
        A.compute()
    assert_names(exc, path, key)
    assert [p.key for p in dl.verify_zarr(path).problems] == [key]


def test_component_keys_are_named_in_full(tmp_path):
    root = tmp_path / "g.zarr"
    dl.from_array(X, chunks=8).to_zarr(root, component="sub")
    (root / "sub" / "matrix" / "c" / "1" / "0").unlink()
    with pytest.raises(CorruptStoreError) as exc:
        dl.read_zarr(root, component="sub")
    assert exc.value.key == "sub/matrix/c/1/0"


# ------------------------------------------------------------ verify_zarr


def test_verify_reports_every_bad_chunk(tmp_path):
    path = write(tmp_path / "m.zarr")
    assert dl.verify_zarr(path).ok
    assert dl.verify_zarr(path).checksummed
    delete(path)
    flip_bit(path)
    truncate(path)
    (path / "matrix" / "c" / "9").mkdir()
    (path / "matrix" / "c" / "9" / "0").write_bytes(b"stray")
    report = dl.verify_zarr(path)
    assert [p.key for p in report.problems] == [
        "matrix/c/2/0", "matrix/c/3/0", "matrix/c/4/0", "matrix/c/9/0",
    ]  # fmt: skip
    assert "missing" in report.problems[0].problem
    assert "not listed" in report.problems[3].problem
    with pytest.raises(CorruptStoreError, match="4 bad chunk"):
        report.raise_if_bad()
    with pytest.raises(CorruptStoreError, match=r"matrix/c/2/0.*matrix/c/3/0"):
        dl.verify_zarr(path, raise_on_error=True)


def write_foreign(path, compressors="auto"):
    z = zarr.create_array(path, shape=X.shape, chunks=(8, 5), dtype="f8", compressors=compressors)
    z[:] = X
    return path


@pytest.mark.parametrize(
    ("compressors", "damage"),
    [
        ("auto", "garbage"),  # zstd: "Zstd decompression error" before
        ("auto", "truncate"),
        (None, "truncate"),  # raw bytes: "cannot reshape array of size ..." before
    ],
    ids=["zstd-garbage", "zstd-truncated", "raw-truncated"],
)
def test_foreign_store_with_a_corrupt_chunk(compressors, damage, tmp_path):
    path = write_foreign(tmp_path / "f.zarr", compressors)
    c = path / "c" / "2" / "0"
    raw = c.read_bytes()
    c.write_bytes(b"\x07" * len(raw) if damage == "garbage" else raw[:-9])
    A = dl.read_zarr(path)
    with pytest.raises(CorruptStoreError) as exc:
        A.compute(scheduler="sync")
    assert_names(exc, path, "c/2/0")
    report = dl.verify_zarr(path)
    assert report.kind == "foreign"
    assert not report.checksummed
    assert [p.key for p in report.problems] == ["c/2/0"]


def test_foreign_missing_chunk_names_key(tmp_path):
    path = write_foreign(tmp_path / "f.zarr")
    (path / "c" / "1" / "0").unlink()
    assert [p.key for p in dl.verify_zarr(path).problems] == ["c/1/0"]
    assert dl.verify_zarr(path, allow_missing_chunks=True).ok


# ------------------------------------------------- format-1 (older) stores


def write_format_1(path, x=X):
    """A store as dlinalg wrote it before checksums: no crc32c, no chunk list."""
    info = {
        "format_version": 1, "layout": "dense", "complete": True, "write_id": "old",
        "written_by": "dlinalg 0.1.0", "shape": list(x.shape), "dtype": "float64",
        "dims": ["row", "col"], "array": "matrix", "labels": {},
    }  # fmt: skip
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes={"dlinalg": info})
    z = group.create_array(
        "matrix", shape=x.shape, dtype="f8", chunks=(8, 5), fill_value=0,
        dimension_names=("row", "col"),
    )  # fmt: skip
    z[:] = x
    return path


def test_format_1_store_still_reads(tmp_path):
    path = write_format_1(tmp_path / "old.zarr")
    np.testing.assert_array_equal(dl.read_zarr(path).compute(), X)
    report = dl.verify_zarr(path)
    assert (report.ok, report.kind, report.checksummed) == (True, "dlinalg-1", False)
    # the documented upgrade: rewrite in place
    dl.read_zarr(path).to_zarr(path, overwrite=True)
    assert marker(path)["format_version"] == 2
    np.testing.assert_array_equal(dl.read_zarr(path).compute(), X)


def test_format_1_damage_is_named(tmp_path):
    path = write_format_1(tmp_path / "old.zarr")
    chunk(path, 1).unlink()
    with pytest.raises(CorruptStoreError) as exc:
        dl.read_zarr(path)
    assert_names(exc, path, "matrix/c/1/0")
    path = write_format_1(tmp_path / "old2.zarr")
    edit_shape(48)(path)
    with pytest.raises(CorruptStoreError, match="shape"):
        dl.read_zarr(path)
    path = write_format_1(tmp_path / "old3.zarr")
    chunk(path, 3).write_bytes(b"not zstd at all")
    with pytest.raises(CorruptStoreError) as exc:
        dl.read_zarr(path).compute(scheduler="sync")
    assert_names(exc, path, "matrix/c/3/0")


# ------------------------------------------------- leftovers of killed writers


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftover(target, **owner):
    tmp = make_temp(target)
    record = json.loads((tmp / _atomic.OWNER_FILE).read_text())
    record.update(owner)
    (tmp / _atomic.OWNER_FILE).write_text(json.dumps(record))
    (tmp / "store").mkdir()
    (tmp / "store" / "big").write_bytes(b"\0" * 1000)
    return tmp


def test_stale_temporaries_of_dead_writers_only(tmp_path):
    target = tmp_path / "m.zarr"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        live_start = _atomic._start_time(sleeper.pid)
        mine = leftover(target)  # this live process
        live = leftover(target, pid=sleeper.pid, pid_start=live_start)
        dead = leftover(target, pid=dead_pid())
        reused = leftover(target, pid=sleeper.pid, pid_start=live_start - 1000)  # pid reused
        elsewhere_young = leftover(target, host="elsewhere", created=time.time() - 3600)
        elsewhere_old = leftover(
            target, host="elsewhere", created=time.time() - 2 * _atomic.STALE_AGE
        )
        removed = remove_stale_leftovers(target)
        assert sorted(removed) == sorted([dead, reused, elsewhere_old])
        assert sorted(find_leftovers(target)) == sorted([mine, live, elsewhere_young])
        # a write of the target cleans the dead writers' temporaries too, keeps live ones
        dead2 = leftover(target, pid=dead_pid())
        write(target)
        assert not dead2.exists()
        assert live.exists()
        assert mine.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_temporary_is_never_a_store(tmp_path):
    """Even with everything written, marker included, a temporary opens as nothing."""
    target = tmp_path / "m.zarr"
    tmp = make_temp(target)
    arr = dl.from_array(X, chunks=8).to_dask()
    _layout.write_store(
        tmp / _atomic.STORE_DIR, arr, X.dtype, ("row", "col"), {}, {"row": None, "col": None},
        False,
    )  # fmt: skip
    assert marker(tmp / "store")["complete"] is True
    for path in (tmp, tmp / "store", tmp / "store" / "matrix"):
        with pytest.raises(StoreNotFoundError, match="temporary"):
            dl.read_zarr(path)
    with pytest.raises(FileNotFoundError):
        zarr.open(tmp, mode="r")
    with pytest.raises(FileNotFoundError):
        xr.open_zarr(tmp, consolidated=False)
    with pytest.raises(StoreNotFoundError, match="interrupted writes"):
        dl.read_zarr(target)
    shutil.rmtree(tmp)


def test_leftover_name_and_owner(tmp_path):
    tmp = make_temp(tmp_path / "t.zarr")
    assert tmp.name.startswith(".t.zarr.dlinalg-tmp-")
    owner = json.loads((tmp / _atomic.OWNER_FILE).read_text())
    assert owner["pid"] == os.getpid()
    assert owner["host"] == socket.gethostname()
    assert owner["pid_start"] == pytest.approx(_atomic._start_time(os.getpid()))


# ------------------------------------------- to_zarr refuses what read refuses


def _no_compute(*args, **kwargs):
    raise AssertionError("to_zarr computed before refusing")


def _labelled(labels):
    A = dl.from_array(X[:, :2], chunks=8, col_labels=labels[:2])
    return dl.cbind(A, dl.from_array(X[:, 2:], chunks=8, col_labels=labels[2:]))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda A: A[:, [0, 0]], "unique"),  # duplicate column labels by fancy indexing
        (lambda A: _labelled([1, 2, "a", "b", "c"]), "mix"),  # would come back as strings
        (lambda A: _labelled([1, 2, 2.5, 3.5, 4.5]), "mix"),  # would come back as floats
        (lambda A: DRM._from_dask(A.to_dask(), col_labels=(1.0, 2.0, np.nan, 3.0, 4.0)), "NaN"),
    ],
    ids=["duplicate", "int-and-str", "int-and-float", "nan"],
)
def test_write_refuses_before_writing(make, match, tmp_path):
    bad = make(dl.from_array(X, chunks=8, col_labels=list("abcde")))
    with dask.config.set(scheduler=_no_compute), pytest.raises(LabelError, match=match):
        bad.to_zarr(tmp_path / "m.zarr")
    assert os.listdir(tmp_path) == []


def test_nan_labels_refused():
    with pytest.raises(LabelError, match="NaN"):
        dl.from_array(np.ones((2, 2)), row_labels=[np.nan, np.nan])


@pytest.mark.parametrize(
    "labels",
    [[10, 20, 30, 40, 50], [0.5, 1.5, 2.5, 3.5, 4.5], list("vwxyz"), [np.int32(1), 2, 3, 4, 5]],
    ids=["int", "float", "str", "numpy-int"],
)
def test_labels_round_trip_exactly(labels, tmp_path):
    path = write(tmp_path / "m.zarr", col_labels=labels)
    back = dl.read_zarr(path).col_labels
    assert back == tuple(labels)
    assert [type(b) for b in back] == [type(np.asarray(labels).tolist()[0])] * 5
