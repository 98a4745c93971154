"""The dlinalg store layout: how the matrix, its labels and its description sit in Zarr.

Dense store (Zarr format 3)::

    <store>/zarr.json   group; attributes["dlinalg"] = {"format_version": 2,
                        "layout": "dense", "array": "matrix", "shape": [n, m],
                        "dtype": ..., "dims": [d0, d1], "labels": {"row": d0, ...},
                        "write_id": <uuid>, "written_by": ...,
                        "arrays": {"matrix": {"shape", "chunks"}, ...},
                        "chunks": {"matrix/c/0/0": [crc32c, nbytes], ...},
                        "complete": true}
    <store>/matrix      2-D array, chunks (rows per block, m), dimension_names (d0, d1),
                        attributes = the matrix attrs
    <store>/<d0>        row labels, 1-D (numbers, or variable-length UTF-8 strings)
    <store>/<d1>        column labels

Sparse stores replace ``matrix`` by ``blocks/<i>/{data,indices,indptr}``
(see :mod:`dlinalg.io._sparse`) and keep the attrs on the group.

Label arrays are named after the dims, which makes a dense store an ordinary
xarray dataset; a dim that is not a usable array name (``/``, a leading ``.``
or ``_``, ``matrix``/``blocks``, or equal to the other dim) falls back to
``row_labels``/``col_labels``. Labels are arrays, not attributes, so millions
of them cost a chunked read instead of a giant JSON document.

``complete`` is the completion marker: ``write_store`` writes it last,
together with what a complete store holds (``arrays``, ``chunks``; every array
ends its codec chain with ``crc32c``; see :mod:`dlinalg.io._integrity`).
Format 1 stores (dlinalg 0.1 before checksums) have no ``arrays``/``chunks``:
they are still read, with their shape checked against the marker, missing
chunks refused and undecodable chunks named, but without checksums.
"""

from __future__ import annotations

import json
import uuid
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.storage import LocalStore

from dlinalg._validation import check_dtype, check_labels, check_shape_2d
from dlinalg.errors import (
    CorruptStoreError,
    DLinalgError,
    DTypeError,
    IncompleteStoreError,
    LabelError,
)
from dlinalg.io import _integrity, _sparse
from dlinalg.io._integrity import ChunkCodec, chunk_error
from dlinalg.io._meta import Node, StoreGuard, check_array, check_ndim, join, read_node

__all__ = [
    "FORMAT_VERSION",
    "DenseRows",
    "dense_array",
    "read_labels",
    "foreign_labels",
    "jsonable",
    "label_values",
    "label_names",
    "write_store",
]

FORMAT_VERSION = 2
#: Versions this dlinalg reads: 1 (no checksums) and 2 (checksummed).
READABLE_VERSIONS = (1, 2)
_RESERVED = {"matrix", "blocks"}
_LABEL_CHUNK = 1 << 20  # labels per Zarr chunk
# a coordinate carrying these is CF-encoded (times, packed ints): not plain labels
_CF_ENCODED = {"units", "calendar", "scale_factor", "add_offset"}


def version() -> str:
    """The installed dlinalg version, recorded in every store it writes."""
    try:
        return _importlib_metadata.version("dlinalg")
    except _importlib_metadata.PackageNotFoundError:  # pragma: no cover - source tree
        return "unknown"


def _raw_chunk_dir(array: zarr.Array) -> Path | None:
    """The directory of an uncompressed local array's chunk files, or None.

    Only for a ``LocalStore`` array with one column chunk whose chunks are the
    raw C-ordered bytes in native byte order (Zarr v3 with just the ``bytes``
    codec, or v2 with no compressor and no filters): its chunk files can be read
    straight into numpy. zarr's own read allocates a fresh ``bytes`` object per
    chunk (about 20,000 page faults per 80 MB chunk) and copies it; ``np.fromfile``
    reads the same chunk about 3x faster.
    """
    meta = array.metadata
    if not isinstance(array.store, LocalStore) or array.chunks[1] != array.shape[1]:
        return None
    if not array.dtype.isnative or array.dtype.kind not in "biuf":
        return None
    if meta.zarr_format == 3:
        from zarr.codecs import BytesCodec

        codecs = tuple(meta.codecs)
        if len(codecs) != 1 or not isinstance(codecs[0], BytesCodec):
            return None
        endian = codecs[0].endian
        native = "little" if np.little_endian else "big"
        if endian is not None and getattr(endian, "value", endian) != native:
            return None
    elif meta.compressor is not None or meta.filters or meta.order != "C":
        return None
    return Path(array.store.root) / array.path


class DenseRows:
    """Array-like over a zarr array whose slicing first checks the store guard.

    Whole row chunks of an uncompressed local array are read with
    ``np.fromfile`` (see :func:`_raw_chunk_dir`); anything else, including a
    missing chunk (fill value), goes through zarr.
    """

    def __init__(self, array: zarr.Array, guard: StoreGuard | None, where: str) -> None:
        self.array, self.guard, self.where = array, guard, where
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, 2
        self.raw_dir = _raw_chunk_dir(array)

    def __getitem__(self, key: Any) -> np.ndarray:
        if self.guard is not None:
            self.guard.check()
        if self.raw_dir is not None:
            block = self._read_raw(key)
            if block is not None:
                return block
        try:
            return self.array[key]
        except DLinalgError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure: name the chunk
            raise self._name_bad_chunk(key, exc) from None

    def _key(self, coords: tuple[int, ...]) -> str:
        return join(self.array.path, self.array.metadata.encode_chunk_key(coords))

    def _name_bad_chunk(self, key: Any, exc: Exception) -> CorruptStoreError:
        """Find which chunk of the failed read is bad (the error path only)."""
        rows = np.arange(self.shape[0])[key[0] if isinstance(key, tuple) else key]
        r, c = self.array.chunks
        bands = range(int(np.min(rows)) // r, int(np.max(rows)) // r + 1) if rows.size else []
        for i in bands:
            for j in range(-(-self.shape[1] // c)):
                try:
                    self.array.blocks[i, j]
                except Exception as inner:  # noqa: BLE001 - this is the bad one
                    return chunk_error(
                        self.where,
                        self._key((i, j)),
                        f"cannot be decoded ({type(inner).__name__}: {inner})",
                    )
        return chunk_error(
            self.where,
            f"{self._key((bands[0], 0)) if bands else '?'}",
            f"(or a neighbour in its row band) cannot be read ({type(exc).__name__}: {exc})",
        )

    def _read_raw(self, key: Any) -> np.ndarray | None:
        rows_per_chunk, ncol = self.array.chunks
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], slice)):
            return None
        start, stop, step = key[0].indices(self.shape[0])
        if step != 1 or start % rows_per_chunk or key[1].indices(ncol) != (0, ncol, 1):
            return None
        if stop - start != min(rows_per_chunk, self.shape[0] - start):
            return None
        chunk_key = self.array.metadata.encode_chunk_key((start // rows_per_chunk, 0))
        path = self.raw_dir / chunk_key
        try:
            flat = np.fromfile(path, dtype=self.dtype)
        except FileNotFoundError:
            return None
        if flat.size != rows_per_chunk * ncol:
            raise chunk_error(
                self.where,
                self._key((start // rows_per_chunk, 0)),
                f"holds {flat.size} values where an uncompressed chunk of "
                f"{(rows_per_chunk, ncol)} holds {rows_per_chunk * ncol} (truncated)",
            )
        return flat.reshape(rows_per_chunk, ncol)[: stop - start]


class CheckedRows:
    """Array-like over a format-2 dense array: each chunk verified as it is decoded.

    One read of the chunk's bytes, its CRC-32C and size checked against the
    completion marker's record for that key, then decoded (zstd) in place.
    A missing chunk is an error, never the fill value.
    """

    def __init__(
        self,
        store: Store,
        node: Node,
        records: dict[str, Any],
        guard: StoreGuard,
        where: str,
        base: str,
    ) -> None:
        self.store, self.node, self.records, self.guard = store, node, records, guard
        self.base = base
        self.where = where
        self.codec = ChunkCodec(node, where)
        self.shape, self.ndim = node.shape, 2
        self.dtype = self.codec.dtype.newbyteorder("=")
        self.rows = self.codec.chunk_shape[0]

    def _chunk(self, i: int) -> np.ndarray:
        key = join(self.node.path, _integrity.chunk_key(self.node.meta, (i, 0)))
        raw = _integrity.fetch(self.store, key)
        try:
            _integrity.verify_chunk(raw, self.records.get(_integrity.relative(key, self.base)))
            return self.codec.decode(raw)
        except _integrity._Bad as bad:
            raise chunk_error(self.where, key, str(bad)) from None

    def __getitem__(self, key: Any) -> np.ndarray:
        self.guard.check()
        k0, k1 = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(k0, slice) and k0.step in (None, 1):
            lo, hi, _ = k0.indices(self.shape[0])
            pick: Any = slice(None)
        else:
            idx = np.arange(self.shape[0])[k0]
            lo, hi = (int(idx.min()), int(idx.max()) + 1) if idx.size else (0, 0)
            pick = idx - lo
        first, last = lo // self.rows, max(lo, hi - 1) // self.rows
        if hi <= lo:
            band = np.empty((0, self.shape[1]), self.dtype)
        elif first == last:
            band = self._chunk(first)[lo - first * self.rows : hi - first * self.rows]
        else:
            band = np.concatenate([self._chunk(i) for i in range(first, last + 1)])
            band = band[lo - first * self.rows : hi - first * self.rows]
        out = band[pick][..., k1]
        return out.astype(self.dtype, copy=False)


def check_dense_marker(node: Node, info: dict[str, Any], where: str) -> None:
    """Up-front checks of a dlinalg dense array against its marker: metadata only."""
    shape = list(info.get("shape") or [])
    if node.kind == "array" and list(node.shape) != shape:
        raise CorruptStoreError(
            f"Zarr store {where}: {join(node.path, 'zarr.json')!r} says shape "
            f"{list(node.shape)} but the completion marker records {shape}; the metadata "
            "was edited or comes from another write. Copy the store again from an intact "
            "source, or rewrite it with to_zarr(..., overwrite=True).",
            where,
            join(node.path, "zarr.json"),
        )


def dense_array(
    store: Store,
    node: Node,
    where: str,
    name: str,
    guard: StoreGuard | None,
    records: dict[str, Any] | None = None,
    base: str = "",
) -> da.Array:
    """Lazy dask array over a checked 2-D numeric Zarr array: one task per row chunk.

    Each task reads every column chunk of its row band (one column block);
    the array-like is inlined into the tasks, so no task but a read exists.
    With ``records`` (a format-2 dlinalg store) every chunk is verified.
    """
    dtype = check_array(node, where)
    shape = check_ndim(node, 2, where)
    check_shape_2d(shape, f"Zarr array {where}")
    check_dtype(dtype, f"Zarr array {where}")
    z = zarr.open_array(store, path=node.path, mode="r", zarr_format=node.zarr_format)
    rows = int(z.chunks[0])
    full, rest = divmod(shape[0], rows)
    chunks = ((rows,) * full + ((rest,) if rest else ()), (shape[1],))
    if records is not None and guard is not None:
        if z.chunks[1] != shape[1]:
            raise CorruptStoreError(
                f"Zarr store {where}: chunks {z.chunks} split the columns; dlinalg writes "
                "whole rows. Rewrite the store with to_zarr(..., overwrite=True).",
                where,
                join(node.path, "zarr.json"),
            )
        reader: Any = CheckedRows(store, node, records, guard, where, base)
    else:
        reader = DenseRows(z, guard, where)
    return da.from_array(
        reader,
        chunks=chunks,
        name=name,
        asarray=False,
        lock=False,
        fancy=False,
        inline_array=False,  # one shared reader key: each task would carry every chunk record
        meta=np.empty((0, 0), dtype=dtype),
    )


def foreign_labels(store: Store, path: str, length: int, where: str) -> tuple | None:
    """Labels from an xarray coordinate array, or None when it is not plain labels."""
    node = read_node(store, path, where)
    if node is None or node.kind != "array" or node.shape != (length,):
        return None
    if _CF_ENCODED & set(node.attrs):
        return None
    try:
        return read_labels(store, path, length, where)
    except (DTypeError, LabelError, TypeError, ValueError):
        return None  # unsafe, non-numeric or duplicated coordinates: not labels


def read_labels(
    store: Store,
    path: str,
    length: int,
    where: str,
    marker: dict[str, Any] | None = None,
    base: str = "",
) -> tuple:
    """Read a checked 1-D label array (numbers or UTF-8) as a tuple of unique labels.

    With ``marker`` (a format-2 store's description; keys relative to the
    group at ``base``) the array's shape and every chunk are verified.
    """
    node = read_node(store, path, where)
    if node is None:
        raise IncompleteStoreError(f"Zarr store {where} lacks its label array {path!r}")
    check_array(node, f"{where}/{path}", labels=True)
    check_ndim(node, 1, f"{where}/{path}")
    if marker is not None:
        rel = path[len(base) :].lstrip("/") if base else path
        _integrity.check_array_record(node, marker["arrays"].get(rel), where)
        values = _integrity.read_verified(store, node, marker["chunks"], where, base)
    else:
        try:
            z = zarr.open_array(store, path=path, mode="r", zarr_format=node.zarr_format)
            values = z[...]
        except DLinalgError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure: name the array
            raise chunk_error(
                where, path, f"(a label array) cannot be decoded ({type(exc).__name__}: {exc})"
            ) from None
    return check_labels(np.asarray(values).tolist(), length, path)


def jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    """Return ``attrs`` as plain JSON types, or raise TypeError naming the bad key."""

    def default(value: Any) -> Any:
        if isinstance(value, np.generic | np.ndarray):
            return value.tolist()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    out = {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise TypeError(f"attrs keys must be strings to be stored in Zarr, got {key!r}")
        try:
            out[key] = json.loads(json.dumps(value, default=default))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"attrs[{key!r}] = {value!r} cannot be stored in Zarr ({exc}); store "
                "numbers, strings, lists or dicts"
            ) from None
    if "dlinalg" in out:
        raise TypeError("attrs key 'dlinalg' is reserved for the store description")
    return out


def _family(label: Any) -> str:
    if isinstance(label, str | np.str_):
        return "str"
    if isinstance(label, bool | np.bool_):
        return "bool"
    if isinstance(label, int | np.integer):
        return "int"
    if isinstance(label, float | np.floating):
        return "float"
    return type(label).__name__


def label_values(labels: Any, axis: str, length: int | None = None) -> np.ndarray | None:
    """Labels as an array Zarr can store (numbers, or strings as objects for vlen-utf8).

    Refuses what would not come back as written: labels of mixed types
    (``[1, "a"]`` would return as strings, ``[1, 2.5]`` as floats), NaN,
    duplicates or a wrong count (which :func:`read_zarr` refuses).
    """
    if labels is None:
        return None
    items = list(labels)
    families = {_family(x) for x in items}
    if len(families) > 1:
        raise LabelError(
            f"{axis} labels mix types {sorted(families)}; a Zarr array holds one type, so "
            "they would not come back as written. Convert them first, e.g. "
            "[str(x) for x in labels]"
        )
    if length is not None:
        check_labels(items, length, axis)
    values = np.asarray(items)
    if values.dtype.kind == "U":
        return values.astype(object)  # stored as variable-length UTF-8
    if values.dtype.kind not in "biuf":
        raise DTypeError(
            f"{axis} labels of dtype {values.dtype} cannot be stored in Zarr; use numbers "
            "or strings (e.g. [str(x) for x in labels])"
        )
    return values


def label_names(dims: tuple[str, str]) -> tuple[str, str]:
    """Label array names: the dims (xarray coordinates) unless they collide."""
    names: list[str] = []
    for axis, dim in zip(("row", "col"), dims, strict=True):
        ok = dim and "/" not in dim and dim[0] not in "._" and dim not in _RESERVED
        names.append(dim if ok and dim not in names else f"{axis}_labels")
    return names[0], names[1]


def write_store(
    tmp: Path | Store,
    arr: da.Array,
    dtype: np.dtype,
    dims: tuple[str, str],
    attrs: dict[str, Any],
    labels: dict[str, np.ndarray | None],
    sparse: bool,
) -> None:
    """Write the whole store into ``tmp``; the completion marker goes last.

    ``tmp`` is a local directory or a zarr Store (an object-store version prefix).
    """
    store = LocalStore(tmp) if isinstance(tmp, Path) else tmp
    codecs = _integrity.CHECKSUM_CODECS
    info: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "layout": "csr" if sparse else "dense",
        "complete": False,
        "write_id": uuid.uuid4().hex,
        "written_by": f"dlinalg {version()}",
        "shape": list(arr.shape),
        "dtype": dtype.name,
        "dims": list(dims),
    }
    group = zarr.open_group(store, mode="w-", zarr_format=3, attributes={"dlinalg": info})
    if len(arr.chunks[1]) != 1:
        arr = arr.rechunk({1: -1})
    if sparse:
        info["row_chunks"] = [int(r) for r in arr.chunks[0]]
        info["nnz"] = _sparse.write_csr(str(tmp) if isinstance(tmp, Path) else tmp, arr)
        group.update_attributes(attrs)
    else:
        rows = arr.chunks[0]
        height = max(rows)
        if any(r != height for r in rows[:-1]):
            arr = arr.rechunk({0: height})
        z = group.create_array(
            "matrix",
            shape=arr.shape,
            dtype=dtype,
            chunks=(height, arr.shape[1]),
            dimension_names=dims,
            attributes=attrs,
            fill_value=0,
            compressors=codecs,
            config={"write_empty_chunks": True},
        )
        info["array"] = "matrix"
        da.store(arr, z, lock=False, compute=True)
    names = label_names(dims)
    info["labels"] = {}
    for (axis, values), name, dim in zip(labels.items(), names, dims, strict=True):
        if values is None:
            continue
        z = group.create_array(
            name,
            shape=values.shape,
            dtype=str if values.dtype == object else values.dtype,
            chunks=(min(len(values), _LABEL_CHUNK),),
            dimension_names=(dim,),
            fill_value="" if values.dtype == object else 0,
            compressors=codecs,
            config={"write_empty_chunks": True},
        )
        z[:] = values
        info["labels"][axis] = name
    # what a complete store holds: every array's shape and every chunk's checksum
    info["arrays"], info["chunks"] = (
        _integrity.scan_records(tmp) if isinstance(tmp, Path) else _integrity.scan_store(store)
    )
    info["complete"] = True  # the completion marker, written last
    group.update_attributes({"dlinalg": info})
