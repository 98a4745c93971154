"""Zarr IO against the truth: round trips, foreign stores, unsafe and incomplete
stores, laziness (chunk reads counted), and crash safety with a killed writer."""

from __future__ import annotations

import collections
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import warnings

import dask
import dask.array as da
import numcodecs
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
import zarr
from zarr.storage import LocalStore, WrapperStore

import dlinalg as dl
from dlinalg import read_zarr
from dlinalg.errors import (
    DTypeError,
    IncompleteStoreError,
    ShapeError,
    StoreChangedError,
    StoreNotFoundError,
    UnsafeStoreError,
)
from dlinalg.io import write_zarr
from dlinalg.io._atomic import find_leftovers
from dlinalg.matrix import DRM

# (shape, (row chunk, column chunk)) — what each row exercises
CHUNKINGS = [
    pytest.param((12, 5), (12, 5), id="one-chunk"),  # the whole matrix in one chunk
    pytest.param((40, 6), (5, 6), id="many-rows"),  # many equal row chunks
    pytest.param((23, 4), (5, 4), id="uneven-last"),  # last row chunk shorter
    pytest.param((20, 9), (6, 4), id="col-chunks"),  # store also chunks columns
]
DTYPES = [np.float32, np.float64]


def row_chunks(n, c):
    return (c,) * (n // c) + ((n % c,) if n % c else ())


def truth(shape, dtype, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:
        return sp.random_array(shape, density=0.3, rng=rng, format="csr", dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def drm_of(x, chunks, **meta):
    """A DRM over ``x`` with the given (row, col) chunking, labels, dims, attrs."""
    arr = da.from_array(x, chunks=chunks, asarray=not sp.issparse(x))
    return DRM._from_dask(dl.from_array(arr).to_dask(), **meta)


def dense(v):
    return v.toarray() if sp.issparse(v) else np.asarray(v)


# ----------------------------------------------------------- round trips


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "chunks"), CHUNKINGS)
def test_roundtrip(shape, chunks, dtype, sparse, scheduler, tmp_path):
    x = truth(shape, dtype, sparse)
    meta = {
        "row_labels": tuple(f"r{i}" for i in range(shape[0])),
        "col_labels": tuple(range(100, 100 + shape[1])),
        "dims": ("user", "item"),
        "attrs": {"units": "stars", "n": 3, "nested": {"a": [1, 2]}},
    }
    path = tmp_path / "m.zarr"
    write_zarr(drm_of(x, chunks, **meta), path)
    A = read_zarr(path)
    assert A.chunks == row_chunks(shape[0], chunks[0])  # the store's row chunks
    assert (A.shape, A.dtype, A.is_sparse) == (shape, np.dtype(dtype), sparse)
    assert (A.row_labels, A.col_labels, A.dims, A.attrs) == tuple(meta.values())
    got = A.compute()
    assert type(got) is type(x)
    np.testing.assert_array_equal(dense(got), dense(x))  # exact: no arithmetic on the way


def test_irregular_blocks(tmp_path):
    """Dense: Zarr needs regular chunks, so irregular blocks become max-size chunks;
    sparse: each block is its own CSR triple, so blocks are kept exactly."""
    x = truth((10, 3), np.float64)
    write_zarr(dl.from_array(x, chunks=(3, 5, 2)), tmp_path / "d.zarr")
    assert read_zarr(tmp_path / "d.zarr").chunks == (5, 5)
    write_zarr(dl.from_array(sp.csr_array(x), chunks=(3, 5, 2)), tmp_path / "s.zarr")
    S = read_zarr(tmp_path / "s.zarr")
    assert S.chunks == (3, 5, 2)
    np.testing.assert_array_equal(S.compute().toarray(), x)


def test_sparse_blocks_stay_sparse(tmp_path):
    x = truth((30, 8), np.float64, sparse=True)
    write_zarr(dl.from_array(x, chunks=7), tmp_path / "s.zarr")
    arr = read_zarr(tmp_path / "s.zarr").to_dask()
    assert isinstance(arr._meta, sp.csr_array)
    with dask.config.set(scheduler="synchronous"):
        blocks = [arr.blocks[i].compute() for i in range(arr.numblocks[0])]
    assert all(isinstance(b, sp.csr_array) for b in blocks)
    assert sum(b.nnz for b in blocks) == x.nnz


def test_component_and_array_path(tmp_path):
    x = truth((9, 2), np.float64)
    write_zarr(
        dl.from_array(x, chunks=4, row_labels=range(9)), tmp_path / "g.zarr", component="a/A"
    )
    A = read_zarr(tmp_path / "g.zarr", component="a/A")
    np.testing.assert_array_equal(A.compute(), x)
    assert A.row_labels == tuple(range(9))
    # the matrix array itself, by component or by path, still honours the store
    assert read_zarr(tmp_path / "g.zarr", component="a/A/matrix").row_labels == A.row_labels
    assert read_zarr(tmp_path / "g.zarr" / "a" / "A" / "matrix").row_labels == A.row_labels


def test_dlinalg_store_opens_in_xarray(tmp_path):
    x = truth((6, 3), np.float64)
    write_zarr(drm_of(x, (2, 3), col_labels=("a", "b", "c"), attrs={"k": 1}), tmp_path / "m")
    ds = xr.open_zarr(tmp_path / "m", consolidated=False)
    assert ds["matrix"].dims == ("row", "col")
    assert list(ds["col"].values) == ["a", "b", "c"]
    assert ds["matrix"].attrs == {"k": 1}
    np.testing.assert_array_equal(ds["matrix"].values, x)


# ----------------------------------------------------------- foreign stores

# key layouts of foreign stores: (zarr_format, extra create_array arguments)
LAYOUTS = {
    "v3-default": (3, {}),  # keys c/0/0
    "v3-dot": (3, {"chunk_key_encoding": {"name": "default", "separator": "."}}),  # c.0.0
    "v3-v2keys": (3, {"chunk_key_encoding": {"name": "v2", "separator": "."}}),  # 0.0
    "v2": (2, {}),  # .zarray, keys 0.0
    "v2-nested": (2, {"chunk_key_encoding": {"name": "v2", "separator": "/"}}),  # 0/0
    "v3-sharded": (3, {"shards": "x2"}),  # one stored object holds 2 x 1 chunks
}


def write_foreign(path, x, chunks, layout):
    fmt, kwargs = LAYOUTS[layout]
    if kwargs.get("shards") == "x2":
        kwargs = {"shards": (2 * chunks[0], x.shape[1])}
        chunks = (chunks[0], x.shape[1])
    z = zarr.create_array(
        path, shape=x.shape, chunks=chunks, dtype=x.dtype, zarr_format=fmt, **kwargs
    )
    z[:] = x
    return z


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize(("shape", "chunks"), CHUNKINGS)
def test_foreign_store(shape, chunks, layout, scheduler, tmp_path):
    x = truth(shape, np.float64)
    write_foreign(tmp_path / "f.zarr", x, chunks, layout)
    A = read_zarr(tmp_path / "f.zarr")
    assert A.chunks == row_chunks(shape[0], chunks[0])
    assert (A.dims, A.row_labels, A.attrs) == (("row", "col"), None, {})
    np.testing.assert_array_equal(A.compute(), x)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_foreign_store_missing_chunk(layout, tmp_path):
    x = truth((40, 6), np.float32) + 5
    z = write_foreign(tmp_path / "f.zarr", x, (5, 3), layout)
    key = z.metadata.encode_chunk_key((1, 0))  # a chunk, or a shard, in the middle
    (tmp_path / "f.zarr" / key).unlink()
    with pytest.raises(IncompleteStoreError, match="allow_missing_chunks=True") as err:
        read_zarr(tmp_path / "f.zarr")
    assert repr(key) in str(err.value)
    got = read_zarr(tmp_path / "f.zarr", allow_missing_chunks=True).compute()
    md = z.metadata  # the stored object's extent: a chunk, or a whole shard
    rows, cols = md.chunk_grid.chunk_shape if md.zarr_format == 3 else md.chunks
    lost = np.zeros(x.shape, bool)
    lost[rows : 2 * rows, :cols] = True
    np.testing.assert_array_equal(got[lost], 0)  # plain Zarr's fill value
    np.testing.assert_array_equal(got[~lost], x[~lost])


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_written_store(zarr_format, scheduler, tmp_path):
    x = truth((12, 4), np.float64)
    xa = xr.DataArray(
        x,
        dims=("sample", "feature"),
        coords={"sample": np.arange(12) * 10, "feature": np.array(list("abcd"), object)},
        attrs={"units": "m"},
        name="X",
    )
    xa.chunk({"sample": 5}).to_zarr(
        tmp_path / "x.zarr", zarr_format=zarr_format, consolidated=False
    )
    A = read_zarr(tmp_path / "x.zarr", component="X")
    assert A.chunks == (5, 5, 2)
    assert A.dims == ("sample", "feature")
    assert A.row_labels == tuple(range(0, 120, 10))
    assert A.col_labels == ("a", "b", "c", "d")
    assert A.attrs == {"units": "m"}
    np.testing.assert_array_equal(A.compute(), x)


# ----------------------------------------------------------- refused stores


def test_marker_removed(tmp_path):
    path = tmp_path / "m.zarr"
    write_zarr(dl.from_array(np.ones((4, 2)), chunks=2), path)
    meta = json.loads((path / "zarr.json").read_text())
    del meta["attributes"]["dlinalg"]["complete"]
    (path / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(IncompleteStoreError, match="completion marker"):
        read_zarr(path)
    with pytest.raises(IncompleteStoreError, match="completion marker"):
        read_zarr(path, component="matrix")  # the array alone is not a way around it


class _Payload:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, flag):
        self.flag = str(flag)

    def __reduce__(self):
        return (open, (self.flag, "w"))


def _pickle_store(path, flag, zarr_format, where):
    """A store whose chunk is a pickle that would create ``flag`` when loaded.

    ``where`` puts the pickle codec in the v2 ``filters`` (as an object codec,
    over object or numeric dtype) or ``compressor``, or in the v3 ``codecs``.
    """
    pickle_codec = {"id": "pickle", "protocol": 5}
    if zarr_format == 2:
        meta = {
            "zarr_format": 2, "shape": [4, 4], "chunks": [4, 4],
            "dtype": "|O" if where == "object" else "<f8",
            "fill_value": None, "order": "C", "dimension_separator": ".",
            "compressor": pickle_codec if where == "compressor" else None,
            "filters": None if where == "compressor" else [pickle_codec],
        }  # fmt: skip
        name, key = ".zarray", "0.0"
    else:
        meta = {
            "zarr_format": 3, "node_type": "array", "shape": [4, 4], "data_type": "float64",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0.0,
            "codecs": [{"name": "numcodecs.pickle", "configuration": {"protocol": 5}}],
        }  # fmt: skip
        name, key = "zarr.json", "c/0/0"
    path.mkdir()
    (path / name).write_text(json.dumps(meta))
    (path / key).parent.mkdir(parents=True, exist_ok=True)
    (path / key).write_bytes(pickle.dumps(_Payload(flag)))
    return path / key


@pytest.mark.parametrize(
    ("zarr_format", "where"),
    [
        (2, "object"),  # object dtype with a Pickle object codec (zarr-python 2 style)
        (2, "filter"),  # a numeric dtype claiming a pickle filter
        (2, "compressor"),  # pickle as the compressor
        (3, "codecs"),  # a v3 codec pipeline naming numcodecs.pickle
    ],
)
def test_pickle_codec_is_never_unpickled(zarr_format, where, tmp_path, monkeypatch):
    # numcodecs >= 0.16 refuses to unpickle by default; a user (or an older
    # numcodecs) may allow it. dlinalg must refuse either way.
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)
    flag = tmp_path / "unpickled"
    chunk = _pickle_store(tmp_path / "p.zarr", flag, zarr_format, where)
    with pytest.raises(UnsafeStoreError, match="pickle"):
        read_zarr(tmp_path / "p.zarr")
    assert not flag.exists()
    # control: decoding the chunk with the codec the metadata names runs the payload
    numcodecs.get_codec({"id": "pickle"}).decode(chunk.read_bytes())
    assert flag.exists()


def test_object_dtype_refused(tmp_path):
    """v2 object dtype whose codec builds arbitrary objects (JSON): refused unread."""
    (tmp_path / "o.zarr").mkdir()
    meta = {
        "zarr_format": 2, "shape": [3, 2], "chunks": [3, 2], "dtype": "|O",
        "fill_value": None, "order": "C", "compressor": None,
        "filters": [{"id": "json2", "encoding": "utf-8"}], "dimension_separator": ".",
    }  # fmt: skip
    (tmp_path / "o.zarr" / ".zarray").write_text(json.dumps(meta))
    with pytest.raises(UnsafeStoreError, match="json2"):
        read_zarr(tmp_path / "o.zarr")


@pytest.mark.parametrize(
    ("dtype", "zarr_format"),
    [
        ("complex128", 3),  # complex: kernels assume real arithmetic
        ("datetime64[ns]", 3),  # times are not numbers to multiply
        (str, 3),  # v3 variable-length strings (vlen-utf8)
        (str, 2),  # v2 object dtype with the vlen-utf8 codec: text, refused as non-numeric
        ("<U4", 2),  # v2 fixed-width unicode
    ],
)
def test_non_numeric_store_refused(dtype, zarr_format, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zarr.errors.UnstableSpecificationWarning)
        zarr.create_array(tmp_path / "c.zarr", shape=(3, 2), dtype=dtype, zarr_format=zarr_format)
    with pytest.raises(DTypeError, match="numeric"):
        read_zarr(tmp_path / "c.zarr")


# ----------------------------------------------------------- bad input


def test_missing_path_and_component(tmp_path):
    with pytest.raises(StoreNotFoundError, match=r"nope\.zarr") as err:
        read_zarr(tmp_path / "nope.zarr")
    assert isinstance(err.value, FileNotFoundError)
    g = zarr.open_group(tmp_path / "g.zarr", mode="w")
    g.create_array("A", shape=(4, 2), dtype="f8")
    with pytest.raises(StoreNotFoundError, match=r"\['A'\]"):
        read_zarr(tmp_path / "g.zarr", component="B")
    with pytest.raises(StoreNotFoundError, match="component="):
        read_zarr(tmp_path / "g.zarr")  # a group needs a component


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4), (0, 3)])
def test_not_a_matrix(shape, tmp_path):
    zarr.create_array(tmp_path / "a.zarr", shape=shape, dtype="f8")
    with pytest.raises(ShapeError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        read_zarr(tmp_path / "a.zarr")


def _exploding(shape=(8, 2)):
    """A DRM whose computation fails: any write that computes it raises."""

    def boom(block):
        raise AssertionError("computed")

    return dl.from_array(da.zeros(shape, chunks=(4, 2)).map_blocks(boom, dtype=float))


def test_write_refusals_happen_before_computing(tmp_path):
    path = tmp_path / "m.zarr"
    write_zarr(dl.from_array(np.ones((4, 2))), path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_zarr(_exploding(), path)
    with pytest.raises(FileNotFoundError, match="parent"):
        write_zarr(_exploding(), tmp_path / "no" / "such" / "m.zarr")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not a Zarr store"):
        write_zarr(_exploding(), tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    bad = DRM._from_dask(da.ones((4, 2), chunks=2), attrs={"f": object()})
    with pytest.raises(TypeError, match="attrs"):
        write_zarr(bad, tmp_path / "bad.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.zarr", "mine"]


def test_store_replaced_under_a_lazy_reader(tmp_path):
    path = tmp_path / "m.zarr"
    write_zarr(dl.from_array(np.ones((4, 2)), chunks=2), path)
    A = read_zarr(path)
    write_zarr(dl.from_array(np.zeros((4, 2)), chunks=2), path, overwrite=True)
    with pytest.raises(StoreChangedError, match="read_zarr again"):
        A.compute()
    np.testing.assert_array_equal(read_zarr(path).compute(), 0)
    assert find_leftovers(path) == []


# ----------------------------------------------------------- laziness


class CountingStore(WrapperStore):
    """Counts ``get`` per key; copies made by zarr share the counter."""

    def __init__(self, store, gets=None):
        super().__init__(store)
        self.gets = collections.Counter() if gets is None else gets

    def _with_store(self, store):
        return type(self)(store, self.gets)

    async def get(self, key, prototype, byte_range=None):
        self.gets[key] += 1
        return await self._store.get(key, prototype, byte_range)


def chunk_gets(store):
    return {k: n for k, n in store.gets.items() if not k.endswith("zarr.json")}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_read_is_lazy_and_reads_each_chunk_once(sparse, tmp_path):
    x = truth((50, 6), np.float64, sparse)
    write_zarr(dl.from_array(x, chunks=7), tmp_path / "m.zarr")
    store = CountingStore(LocalStore(tmp_path / "m.zarr", read_only=True))
    with dask.config.set(scheduler="synchronous"):
        A = read_zarr(store)
        assert chunk_gets(store) == {}  # building the matrix read no data
        np.testing.assert_array_equal(dense(A.compute()), dense(x))
    gets = chunk_gets(store)
    assert len(gets) == (8 if not sparse else 8 * 3)  # 3 arrays per sparse block
    assert set(gets.values()) == {1}


@pytest.mark.parametrize("fused", [False, True], ids=["gram", "colmeans+gram"])
def test_gram_reads_each_chunk_once(fused, tmp_path):
    x = truth((60, 5), np.float64)
    write_zarr(dl.from_array(x, chunks=8), tmp_path / "m.zarr")
    store = CountingStore(LocalStore(tmp_path / "m.zarr", read_only=True))
    with dask.config.set(scheduler="synchronous"):
        A = read_zarr(store)
        if fused:  # several statistics of one matrix: still one pass over the store
            means, G = dl.compute(A.col_means(), A.T @ A)
            np.testing.assert_allclose(means, x.mean(axis=0), rtol=1e-12)
        else:
            G = (A.T @ A).compute()
    np.testing.assert_allclose(G, x.T @ x, rtol=1e-12)
    gets = chunk_gets(store)
    assert len(gets) == 8
    assert set(gets.values()) == {1}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_graph_is_one_task_per_row_block(sparse, tmp_path):
    """What lets a store larger than RAM stream: no task spans more than a row band."""
    write_zarr(dl.from_array(truth((50, 6), np.float64, sparse), chunks=7), tmp_path / "m")
    arr = read_zarr(tmp_path / "m").to_dask()
    graph = dict(arr.__dask_graph__())
    blocks = sorted(k for k in graph if isinstance(k, tuple))
    assert blocks == [(arr.name, i, 0) for i in range(8)]
    # besides the blocks, only the one reader every block task shares (not inlined:
    # it holds the marker's record of every chunk)
    assert [k for k in graph if not isinstance(k, tuple)] == [f"original-{arr.name}"]
    assert arr.name == read_zarr(tmp_path / "m").to_dask().name  # deterministic keys


# ----------------------------------------------------------- crash safety

WRITER = """
import sys, time, dask, dask.array as da, dlinalg as dl
from dlinalg.io import _atomic, write_zarr
path, value, progress, phase = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]

def slow(block):  # report each block, then dawdle, so the parent can kill us mid-write
    with open(progress, "a") as f:
        f.write("b")
    time.sleep(0.15 if phase == "compute" else 0)
    return block

commit = _atomic.commit
def stalled_commit(*args, **kwargs):  # everything written, marker included; not renamed
    with open(progress, "a") as f:
        f.write("c")
    time.sleep(60)
if phase == "commit":
    _atomic.commit = stalled_commit
x = da.full((400, 8), value, chunks=(10, 8)).map_blocks(slow, dtype=float)
with dask.config.set(scheduler="synchronous"):
    write_zarr(dl.from_array(x), path, overwrite=True)
"""


def kill_writer_midway(path, value, phase, tmp_path):
    progress = tmp_path / f"progress-{phase}-{value}"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(value), str(progress), phase]
    )
    want = "bbb" if phase == "compute" else "c"
    deadline = time.monotonic() + 60
    while not (progress.exists() and want in progress.read_text()):
        assert proc.poll() is None, "the writer exited before it could be killed"
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("phase", ["compute", "commit"])
def test_killed_overwrite_keeps_previous_store(phase, tmp_path):
    path = tmp_path / "m.zarr"
    old = np.arange(800.0).reshape(400, 2)
    write_zarr(dl.from_array(old, chunks=50, row_labels=range(400)), path)
    kill_writer_midway(path, 2.0, phase, tmp_path)
    A = read_zarr(path)  # the previous store, complete and unchanged
    np.testing.assert_array_equal(A.compute(), old)
    assert A.row_labels == tuple(range(400))
    assert find_leftovers(path)  # the dead writer's temporary directory
    write_zarr(dl.from_array(np.full((3, 3), 3.0)), path, overwrite=True)
    np.testing.assert_array_equal(read_zarr(path).compute(), 3.0)
    assert find_leftovers(path) == []  # cleaned by the later write


def test_killed_fresh_write_leaves_no_store(tmp_path):
    path = tmp_path / "fresh.zarr"
    kill_writer_midway(path, 2.0, "compute", tmp_path)
    assert not path.exists()
    with pytest.raises(StoreNotFoundError, match="interrupted writes"):
        read_zarr(path)
    write_zarr(dl.from_array(np.ones((2, 2))), path)
    assert find_leftovers(path) == []
    np.testing.assert_array_equal(read_zarr(path).compute(), 1.0)


def test_update_in_place(scheduler, tmp_path):
    """Reading a store and overwriting it with a result computed from it is safe:
    the new store is complete before it replaces the one being read."""
    path = tmp_path / "m.zarr"
    x = np.arange(24.0).reshape(8, 3)
    dl.from_array(x, chunks=3).to_zarr(path)
    A = dl.read_zarr(path)
    (A * 2).to_zarr(path, overwrite=True)
    np.testing.assert_array_equal(dl.read_zarr(path).compute(), 2 * x)
    assert sorted(os.listdir(tmp_path)) == ["m.zarr"]


def test_overwrite_swaps_and_cleans(scheduler, tmp_path):
    path = tmp_path / "m.zarr"
    write_zarr(dl.from_array(np.ones((6, 2)), chunks=2), path)
    B = dl.from_array(sp.random_array((9, 4), density=0.5, rng=1, format="csr"), chunks=4)
    write_zarr(B, path, overwrite=True)
    np.testing.assert_array_equal(read_zarr(path).compute().toarray(), B.compute().toarray())
    assert sorted(os.listdir(tmp_path)) == ["m.zarr"]
    shutil.rmtree(path)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_uncompressed_local_chunks_are_read_raw(tmp_path, zarr_format, monkeypatch):
    """Whole chunks of an uncompressed local array skip zarr's read path, same values."""
    from dlinalg.io._layout import DenseRows

    X = np.random.default_rng(0).standard_normal((1003, 7))  # uneven last chunk
    raw = zarr.create_array(
        tmp_path / "raw.zarr", shape=X.shape, chunks=(100, 7), dtype="f8",
        compressors=None, zarr_format=zarr_format,
    )  # fmt: skip
    raw[:] = X
    packed = zarr.create_array(
        tmp_path / "packed.zarr", shape=X.shape, chunks=(100, 7), dtype="f8",
        zarr_format=zarr_format,
    )  # fmt: skip
    packed[:] = X
    hits = []
    read_raw = DenseRows._read_raw

    def spy(self, key):
        block = read_raw(self, key)
        hits.append(block is not None)
        return block

    monkeypatch.setattr(DenseRows, "_read_raw", spy)
    got = dl.read_zarr(tmp_path / "raw.zarr").compute(scheduler="sync")
    np.testing.assert_array_equal(got, X)
    assert hits == [True] * 11
    hits.clear()
    np.testing.assert_array_equal(
        dl.read_zarr(tmp_path / "packed.zarr").compute(scheduler="sync"), X
    )
    assert hits == []  # compressed chunks go through zarr
