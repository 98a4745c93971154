"""The dlinalg CSR layout in Zarr: one small CSR triple per row block.

Layout (Zarr format 3, inside the store's root group)::

    <store>/zarr.json                  attributes["dlinalg"] = {"layout": "csr",
                                           "shape": [n, m], "dtype": "float64",
                                           "row_chunks": [r0, r1, ...],
                                           "nnz": [z0, z1, ...], ...}
    <store>/blocks/<i>/data            (z_i,)      values of block i
    <store>/blocks/<i>/indices         (z_i,)      column indices (int32 or int64)
    <store>/blocks/<i>/indptr          (r_i + 1,)  row pointers, starting at 0

Each row block is a self-contained CSR matrix, so a writer task stores its
block without knowing any other block's ``nnz`` (no prefix sum, one pass,
any row-block sizes including uneven ones), and a reader task reads exactly
the three arrays of its block: never densifies, never touches another block.

In a format-2 store every chunk of those arrays is listed with its checksum
in the completion marker and verified as the task decodes it.
"""

from __future__ import annotations

import bisect
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp
import zarr
from zarr.abc.store import Store
from zarr.storage import LocalStore

from dlinalg.errors import DLinalgError, IncompleteStoreError, ShapeError
from dlinalg.io import _integrity
from dlinalg.io._integrity import chunk_error
from dlinalg.io._meta import StoreGuard, check_array, check_ndim, join, missing_chunks, read_node

__all__ = ["read_csr", "write_csr"]

# Values per Zarr chunk inside one block's arrays (64 MiB of float64).
_CHUNK = 1 << 23


def _write_block(
    block: Any, root: str | Store, value_dtype: str, block_info: Any = None
) -> np.ndarray:
    """Store one row block under ``blocks/<i>``; return its nnz as a (1, 1) array."""
    i = block_info[0]["chunk-location"][0]
    csr = sp.csr_array(block)
    store = LocalStore(root) if isinstance(root, str) else root
    parts = {
        "data": csr.data.astype(value_dtype, copy=False),
        "indices": csr.indices,
        "indptr": csr.indptr.astype(np.int64, copy=False),
    }
    for name, values in parts.items():
        z = zarr.create_array(
            store,
            name=f"blocks/{i}/{name}",
            shape=values.shape,
            dtype=values.dtype,
            chunks=(max(1, min(values.size, _CHUNK)),),
            fill_value=0,
            compressors=_integrity.CHECKSUM_CODECS,
            config={"write_empty_chunks": True},
            zarr_format=3,
        )
        if values.size:
            z[:] = values
    return np.array([[csr.nnz]], dtype=np.int64)


def write_csr(root: str | Store, arr: da.Array) -> list[int]:
    """Write every sparse row block of ``arr`` into the group at ``root``.

    ``root`` is a local directory or a zarr Store (an object-store version
    prefix). One ``dask.compute`` on the current scheduler; returns nnz per block.
    """
    store = LocalStore(root) if isinstance(root, str) else root
    zarr.open_group(store, mode="a", zarr_format=3).require_group("blocks")
    label = root if isinstance(root, str) else str(getattr(root, "path", type(root).__name__))
    nblocks = len(arr.chunks[0])
    counts = da.map_blocks(
        _write_block,
        arr,
        root=root,
        value_dtype=arr.dtype.str,
        dtype=np.int64,
        chunks=((1,) * nblocks, (1,)),
        meta=np.empty((0, 0), dtype=np.int64),
        name=f"write-csr-{label.rstrip('/').rsplit('/', 1)[-1]}",
    )
    return [int(v) for v in np.asarray(counts.compute()).ravel()]


def _read_checked(
    store: Store, path: str, where: str, marker: dict[str, Any] | None, base: str
) -> np.ndarray:
    node = read_node(store, path, where)
    if node is None:
        raise IncompleteStoreError(f"{where}: array {path!r} is missing; rewrite the store")
    check_array(node, f"{where}/{path}")
    check_ndim(node, 1, f"{where}/{path}")
    if marker is not None:  # format 2: shape and every chunk checked against the marker
        rel = path[len(base) :].lstrip("/") if base else path
        _integrity.check_array_record(node, marker["arrays"].get(rel), where)
        return _integrity.read_verified(store, node, marker["chunks"], where, base)
    z = zarr.open_array(store, path=path, mode="r", zarr_format=3)
    n_missing, _, examples = missing_chunks(store, path, z.metadata, limit=1)
    if n_missing:
        key = join(path, examples[0])
        raise chunk_error(where, key, "is missing (plain Zarr would read it as the fill value)")
    try:
        return z[...]
    except DLinalgError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure: name the array's chunk
        for i in range(-(-z.shape[0] // z.chunks[0])):
            try:
                z.blocks[i]
            except Exception:  # noqa: BLE001 - this is the bad one
                key = join(path, z.metadata.encode_chunk_key((i,)))
                break
        else:
            key = path
        raise chunk_error(where, key, f"cannot be decoded ({type(exc).__name__}: {exc})") from None


class CSRRows:
    """Array-like over a dlinalg CSR group; slicing one row block reads only it.

    Handed to :func:`dask.array.from_array` with the stored row chunks, so
    each task calls ``__getitem__`` with exactly one block's row range.
    """

    def __init__(
        self,
        store: Store,
        path: str,
        shape: tuple[int, int],
        dtype: np.dtype,
        row_chunks: tuple[int, ...],
        guard: StoreGuard,
        marker: dict[str, Any] | None = None,
    ) -> None:
        self.store, self.path, self.shape, self.dtype = store, path, shape, dtype
        self.marker = marker
        self.ndim = 2
        self.starts = [0, *np.cumsum(row_chunks).tolist()]
        self.guard = guard

    def __getitem__(self, key: tuple[slice, slice]) -> sp.csr_array:
        rows, cols = key
        i = bisect.bisect_right(self.starts, rows.start or 0) - 1
        nrow = self.starts[i + 1] - self.starts[i]
        self.guard.check()
        where = self.guard.where
        base = join(self.path, "blocks", str(i))
        data, indices, indptr = (
            _read_checked(self.store, join(base, part), where, self.marker, self.path)
            for part in ("data", "indices", "indptr")
        )
        if len(indptr) != nrow + 1 or indptr[-1] != len(data) or len(indices) != len(data):
            raise IncompleteStoreError(
                f"{where}: CSR block {i} is inconsistent (indptr of length {len(indptr)} "
                f"for {nrow} rows, {len(data)} values, {len(indices)} indices); rewrite the store"
            )
        block = sp.csr_array(
            (data.astype(self.dtype, copy=False), indices, indptr), shape=(nrow, self.shape[1])
        )
        start = (rows.start or 0) - self.starts[i]
        stop = (rows.stop if rows.stop is not None else self.starts[i + 1]) - self.starts[i]
        if (start, stop) != (0, nrow) or (cols != slice(None) and cols != slice(0, self.shape[1])):
            block = block[start:stop][:, cols]
        return block


def read_csr(
    store: Store, path: str, info: dict[str, Any], guard: StoreGuard, name: str
) -> da.Array:
    """Build the lazy dask array (one task per stored row block) of a CSR group."""
    shape = tuple(int(s) for s in info["shape"])
    row_chunks = tuple(int(r) for r in info["row_chunks"])
    if len(shape) != 2 or sum(row_chunks) != shape[0]:
        raise ShapeError(
            f"{guard.where}: CSR layout with shape {shape} and row chunks adding up to "
            f"{sum(row_chunks)}; the store is damaged"
        )
    dtype = np.dtype(info["dtype"])
    marker = info if "chunks" in info else None
    reader = CSRRows(store, path, shape, dtype, row_chunks, guard, marker)
    return da.from_array(
        reader,
        chunks=(row_chunks, (shape[1],)),
        name=name,
        asarray=False,
        lock=False,
        fancy=False,
        inline_array=False,  # one shared reader key: each task would carry every chunk record
        meta=sp.csr_array((0, 0), dtype=dtype),
    )
