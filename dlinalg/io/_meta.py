"""Zarr metadata read as raw JSON and checked before zarr decodes anything.

Opening a Zarr array builds its codec pipeline; decoding a chunk through a
``pickle`` codec runs arbitrary code. So every array dlinalg opens is first
read here as plain JSON (``zarr.json`` for format 3, ``.zarray``/``.zattrs``
for format 2) and refused if its dtype is not numeric or if any codec,
filter or compressor, at any nesting depth (sharding), decodes to Python
objects. Only then is :func:`zarr.open_array` called.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from dlinalg.errors import (
    DTypeError,
    IncompleteStoreError,
    ShapeError,
    StoreChangedError,
    UnsafeStoreError,
)

__all__ = [
    "Node",
    "join",
    "get_bytes",
    "list_keys",
    "read_node",
    "check_array",
    "check_ndim",
    "missing_chunks",
    "StoreGuard",
]

# Zarr v3 data type names of the dtypes dlinalg computes with.
_NUMERIC_V3 = {
    "bool", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
}  # fmt: skip
# Codecs that decode bytes to arbitrary Python objects: ``pickle`` runs code;
# the others build object arrays, which no numeric matrix has a reason to hold.
_OBJECT_CODECS = {
    "pickle", "json", "json2", "msgpack", "msgpack2", "vlen-bytes", "vlen-array", "categorize",
}  # fmt: skip
# UTF-8 text: decoding executes nothing. Fine for label arrays; a matrix with
# it is refused by its (string) dtype instead.
_TEXT_CODECS = {"vlen-utf8"}


@dataclass(frozen=True)
class Node:
    """One Zarr node as stored: raw metadata, before zarr interprets it."""

    path: str  # key prefix inside the store, "" for the root
    kind: str  # "array" or "group"
    zarr_format: int
    meta: dict[str, Any] = field(repr=False)
    attrs: dict[str, Any] = field(repr=False)
    token: bytes = field(repr=False)  # raw metadata bytes, for deterministic task names

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.meta.get("shape", ()))


def join(*parts: str | None) -> str:
    """Join store key parts with ``/``, dropping empty ones."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def get_bytes(store: Store, key: str) -> bytes | None:
    """Return the bytes stored under ``key``, or None when absent."""
    buf = sync(store.get(key, prototype=default_buffer_prototype()))
    return None if buf is None else buf.to_bytes()


def list_keys(store: Store, prefix: str) -> list[str]:
    """Every key under ``prefix`` (a metadata listing, reads no chunk)."""

    async def collect() -> list[str]:
        return [key async for key in store.list_prefix(prefix)]

    return sync(collect())


def _loads(raw: bytes, key: str, where: str) -> dict[str, Any]:
    try:
        out = json.loads(raw)
    except ValueError as exc:
        raise IncompleteStoreError(
            f"Zarr metadata {key!r} in {where} is not valid JSON ({exc}); the store is "
            "damaged or its writer died mid-write. Rewrite the store."
        ) from None
    if not isinstance(out, dict):
        raise IncompleteStoreError(f"Zarr metadata {key!r} in {where} is not a JSON object")
    return out


def read_node(store: Store, path: str, where: str) -> Node | None:
    """Read the raw metadata of the node at ``path``; None when there is none."""
    key = join(path, "zarr.json")
    raw = get_bytes(store, key)
    if raw is not None:
        meta = _loads(raw, key, where)
        kind = meta.get("node_type")
        if kind not in ("array", "group"):
            raise IncompleteStoreError(f"{key!r} in {where} has node_type {kind!r}")
        return Node(path, kind, 3, meta, meta.get("attributes") or {}, raw)
    for name, kind in ((".zarray", "array"), (".zgroup", "group")):
        raw = get_bytes(store, join(path, name))
        if raw is not None:
            attrs_raw = get_bytes(store, join(path, ".zattrs")) or b"{}"
            meta = _loads(raw, join(path, name), where)
            attrs = _loads(attrs_raw, join(path, ".zattrs"), where)
            return Node(path, kind, 2, meta, attrs, raw + attrs_raw)
    return None


def _codec_ids(obj: Any) -> list[str]:
    """Every codec name in a (possibly nested) codec list, lower-cased."""
    found = []
    if isinstance(obj, dict):
        ident = obj.get("name", obj.get("id"))
        if isinstance(ident, str):
            found.append(ident.lower().removeprefix("numcodecs."))
        for value in obj.values():
            found.extend(_codec_ids(value))
    elif isinstance(obj, list | tuple):
        for value in obj:
            found.extend(_codec_ids(value))
    return found


def _is_object_codec(name: str) -> bool:
    return name in _OBJECT_CODECS or "pickle" in name


def check_array(node: Node, where: str, *, labels: bool = False) -> np.dtype:
    """Refuse unsafe or non-numeric arrays; return the numpy dtype.

    Parameters
    ----------
    node : Node
        Raw metadata of an array.
    where : str
        How to name the array in messages (path and component).
    labels : bool
        Allow UTF-8 strings (``vlen-utf8``), as label arrays may hold them.

    Raises
    ------
    UnsafeStoreError
        A codec decodes to Python objects (pickle, JSON, msgpack, ...) or the
        dtype is ``object``.
    DTypeError
        The dtype is not real numeric (complex, datetime, strings, structs).
    """
    meta = node.meta
    codecs = (
        [meta.get("codecs"), meta.get("storage_transformers")]
        if node.zarr_format == 3
        else [meta.get("compressor"), meta.get("filters")]
    )
    names = _codec_ids(codecs)
    unsafe = [n for n in names if _is_object_codec(n)]
    if unsafe:
        raise UnsafeStoreError(
            f"Zarr array {where} uses codec(s) {sorted(set(unsafe))}, which decode bytes to "
            "Python objects (pickle can run arbitrary code); dlinalg never decodes them. "
            "Rewrite the array with a numeric dtype and plain compressors (zstd, blosc, gzip)."
        )
    text = any(n in _TEXT_CODECS for n in names)
    if node.zarr_format == 3:
        raw = meta.get("data_type")
        name = raw.get("name") if isinstance(raw, dict) else raw
        if name in _NUMERIC_V3:
            return np.dtype(name)
        if labels and name == "string":
            return np.dtype(str)
        if isinstance(name, str) and "object" in name:
            raise UnsafeStoreError(f"Zarr array {where} has object data type {name!r}")
        raise DTypeError(
            f"Zarr array {where} has data type {name!r}; dlinalg needs a real numeric dtype "
            "(bool, integer or floating point). Convert the store, e.g. with "
            "zarr.create_array(..., dtype='float64')"
        )
    raw = meta.get("dtype")
    try:
        dtype = np.dtype(raw) if isinstance(raw, str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is not None and dtype.kind == "O":
        if text and labels:
            return np.dtype(str)
        if not text:
            raise UnsafeStoreError(
                f"Zarr array {where} has object dtype {raw!r}; dlinalg never decodes object data"
            )
    if dtype is None or dtype.kind not in ("biuf" + ("U" if labels else "")):
        raise DTypeError(
            f"Zarr array {where} has dtype {raw!r}"
            + (" (UTF-8 strings)" if text else "")
            + "; dlinalg needs a real numeric dtype "
            "(bool, integer or floating point)"
        )
    return dtype


def check_ndim(node: Node, ndim: int, where: str) -> tuple[int, ...]:
    """Raise :class:`ShapeError` unless the array has ``ndim`` dimensions."""
    shape = node.shape
    if len(shape) != ndim:
        raise ShapeError(
            f"Zarr array {where} must be {ndim}-D, got {len(shape)}-D with shape {shape}"
        )
    return shape


def missing_chunks(
    store: Store, path: str, metadata: Any, limit: int = 5
) -> tuple[int, int, list]:
    """Count the stored objects (chunks, or shards) missing from an array.

    Expected keys come from the array's own key encoding (``c/0/0`` for the
    v3 default encoding, ``0.0`` for v2) over its storage grid: the shard
    grid when the array is sharded, because one stored object holds a whole
    shard. Present keys come from one listing of the array's prefix, which is
    a metadata operation that reads no chunk.

    Returns
    -------
    n_missing, n_expected, examples
        The counts and up to ``limit`` missing keys.
    """
    if metadata.zarr_format == 3:
        key_chunks = metadata.chunk_grid.chunk_shape
    else:
        key_chunks = metadata.chunks
    grid = [math.ceil(s / c) for s, c in zip(metadata.shape, key_chunks, strict=True)]
    prefix = f"{path}/" if path else ""
    present = {key[len(prefix) :] for key in list_keys(store, prefix)}
    n_missing, examples = 0, []
    for coords in itertools.product(*(range(g) for g in grid)):
        key = metadata.encode_chunk_key(coords)
        if key not in present:
            n_missing += 1
            if len(examples) < limit:
                examples.append(key)
    return n_missing, math.prod(grid), examples


@dataclass(frozen=True)
class StoreGuard:
    """Checked by every read task: is the store still the one read_zarr opened?

    dlinalg stores carry a fresh ``write_id`` per write. A lazy matrix
    remembers it; if the path was overwritten in the meantime, a task
    raises instead of mixing chunks of two different matrices.
    """

    store: Store
    key: str  # the dlinalg group's zarr.json
    write_id: str
    where: str

    def check(self) -> None:
        raw = get_bytes(self.store, self.key)
        info = json.loads(raw).get("attributes", {}).get("dlinalg", {}) if raw else {}
        if info.get("write_id") != self.write_id or info.get("complete") is not True:
            raise StoreChangedError(
                f"Zarr store {self.where} was replaced or removed after read_zarr opened it; "
                "call read_zarr again to read the current contents"
            )
