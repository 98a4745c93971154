"""Chunk checksums: what a complete dlinalg store holds, and reading it back verified.

A store of format 2 records in its completion marker (``attributes["dlinalg"]``)

* ``arrays``: for every array of the store, its ``shape`` and ``chunks``;
* ``chunks``: for every stored chunk key (relative to the group), its
  ``[crc32c, nbytes]``.

Every array is written with the codec chain ``bytes | zstd | crc32c`` (or
``vlen-utf8 | zstd | crc32c`` for string labels): the last four bytes of each
chunk are the CRC-32C of the bytes before them, so any Zarr v3 reader detects
a flipped bit or a truncation. The marker adds what the codec alone cannot: a
chunk deleted (plain Zarr reads it as the fill value), two chunks swapped or
one copied over another (each still matches its own checksum), and a shape
edited in ``zarr.json``.

Reading verifies each chunk as its task decodes it (:class:`ChunkCodec`), from
the one read of its bytes: nothing is read up front but metadata and a
listing of the keys.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google_crc32c
import numcodecs
import numpy as np
from zarr.abc.store import Store
from zarr.codecs import Crc32cCodec, ZstdCodec
from zarr.storage import LocalStore

from dlinalg.errors import CorruptStoreError
from dlinalg.io._meta import Node, get_bytes, join

__all__ = [
    "CHECKSUM_CODECS",
    "ChunkCodec",
    "ChunkProblem",
    "chunk_error",
    "chunk_key",
    "check_array_record",
    "fetch",
    "read_verified",
    "scan_records",
    "verify_chunk",
]

#: The bytes-to-bytes codecs of every array dlinalg writes.
CHECKSUM_CODECS = (ZstdCodec(level=0), Crc32cCodec())


@dataclass(frozen=True)
class ChunkProblem:
    """One bad chunk (or metadata document) of a store: its key and what is wrong."""

    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


class _Bad(Exception):
    """A chunk failed a check; the caller turns it into a CorruptStoreError."""


def chunk_error(where: str, key: str, problem: str) -> CorruptStoreError:
    """The error for one bad chunk: names the store, the key and the remedy."""
    return CorruptStoreError(
        f"Zarr store {where}: chunk {key!r} {problem}. The store is damaged (an "
        "interrupted copy or sync, a disk error, or an edit): copy it again from an intact "
        "source, or rewrite it with to_zarr(..., overwrite=True). "
        "dlinalg.verify_zarr(path) lists every bad chunk.",
        where,
        key,
    )


def scan_records(root: Path) -> tuple[dict[str, dict[str, list[int]]], dict[str, list[int]]]:
    """Record every array (shape, chunks) and chunk (crc32c, nbytes) under ``root``.

    Runs on the writer after all chunks are written; reads 4 bytes per chunk:
    the CRC-32C that the ``crc32c`` codec appended to it.
    """
    arrays: dict[str, dict[str, list[int]]] = {}
    chunks: dict[str, list[int]] = {}
    for dirpath, _dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        for name in sorted(files):
            full = Path(dirpath) / name
            if name == "zarr.json":
                meta = json.loads(full.read_bytes())
                if meta.get("node_type") == "array":
                    grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
                    arrays[rel] = {"shape": list(meta["shape"]), "chunks": list(grid)}
                continue
            with open(full, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - 4))
                crc = int.from_bytes(f.read(4), "little")
            chunks[join(rel, name)] = [crc, size]
    return dict(sorted(arrays.items())), dict(sorted(chunks.items()))


def scan_store(store: Store) -> tuple[dict[str, dict[str, list[int]]], dict[str, list[int]]]:
    """:func:`scan_records` for any zarr Store (an object-store prefix).

    One listing, then each chunk's size and its last 4 bytes (two small
    requests per chunk, issued concurrently); the chunks are never re-read.
    """
    from zarr.abc.store import SuffixByteRequest
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    async def scan() -> tuple[dict, dict]:
        import asyncio

        keys = sorted([key async for key in store.list()])
        metas = [k for k in keys if k == "zarr.json" or k.endswith("/zarr.json")]
        data = [k for k in keys if k not in metas and not k.endswith(".json")]
        proto = default_buffer_prototype()
        meta_bufs = await asyncio.gather(*(store.get(k, prototype=proto) for k in metas))
        sizes = await asyncio.gather(*(store.getsize(k) for k in data))
        tails = await asyncio.gather(
            *(store.get(k, prototype=proto, byte_range=SuffixByteRequest(4)) for k in data)
        )
        arrays: dict[str, dict[str, list[int]]] = {}
        for key, buf in zip(metas, meta_bufs, strict=True):
            meta = json.loads(buf.to_bytes())
            if meta.get("node_type") == "array":
                rel = key[: -len("zarr.json")].rstrip("/")
                grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
                arrays[rel] = {"shape": list(meta["shape"]), "chunks": list(grid)}
        chunks = {
            key: [int.from_bytes(tail.to_bytes(), "little"), int(size)]
            for key, size, tail in zip(data, sizes, tails, strict=True)
        }
        return dict(sorted(arrays.items())), dict(sorted(chunks.items()))

    return sync(scan())


def chunk_key(meta: dict[str, Any], coords: tuple[int, ...]) -> str:
    """The store key of chunk ``coords`` of a Zarr v3 array (relative to the array)."""
    enc = meta.get("chunk_key_encoding") or {}
    sep = (enc.get("configuration") or {}).get("separator", "/")
    if enc.get("name") == "v2":
        return sep.join(map(str, coords)) or "0"
    return sep.join(["c", *map(str, coords)])


def check_array_record(node: Node, record: Any, where: str) -> tuple[int, ...]:
    """Refuse an array whose metadata disagrees with the marker; return its chunk shape."""
    key = join(node.path, "zarr.json")
    grid = ((node.meta.get("chunk_grid") or {}).get("configuration") or {}).get("chunk_shape")
    stored = {"shape": list(node.shape), "chunks": list(grid or [])}
    if not isinstance(record, dict) or stored != {k: record.get(k) for k in stored}:
        raise CorruptStoreError(
            f"Zarr store {where}: {key!r} describes shape {stored['shape']} in chunks of "
            f"{stored['chunks']}, but the completion marker records "
            f"{record if record is not None else 'no such array'}; the metadata was edited "
            "or comes from another write. Copy the store again from an intact source, or "
            "rewrite it with to_zarr(..., overwrite=True).",
            where,
            key,
        )
    return tuple(int(c) for c in stored["chunks"])


def fetch(store: Store, key: str) -> bytes | None:
    """The bytes of one stored object (a direct file read for a local store)."""
    if isinstance(store, LocalStore):
        try:
            return (Path(store.root) / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
    return get_bytes(store, key)


def verify_chunk(raw: bytes | None, record: Any) -> None:
    """Check one chunk's bytes against its ``[crc32c, nbytes]`` record; raise _Bad."""
    if raw is None:
        raise _Bad("is missing (plain Zarr would read it as the fill value)")
    if not (isinstance(record, list) and len(record) == 2):
        raise _Bad("is not listed in the completion marker")
    crc, nbytes = record
    if len(raw) != nbytes:
        raise _Bad(
            f"has {len(raw)} bytes where the completion marker records {nbytes} "
            "(truncated, or replaced by another chunk)"
        )
    trailer = int.from_bytes(raw[-4:], "little")
    # CRC-32C of data followed by its own little-endian CRC is a constant: no copy
    if len(raw) < 4 or google_crc32c.value(raw) != _CRC32C_RESIDUE:
        raise _Bad("fails its CRC-32C checksum (corrupt bytes)")
    if trailer != crc:
        raise _Bad(
            "holds another chunk's data (its checksum differs from the one the completion "
            "marker records for this key: chunks swapped or copied over one another)"
        )


_CRC32C_RESIDUE = 0x48674BC7

_BYTES_CODECS = {
    "zstd": numcodecs.Zstd(),
    "gzip": numcodecs.GZip(),
}


class ChunkCodec:
    """Decoder of the chunks of one Zarr v3 array written by dlinalg.

    Handles the codecs dlinalg writes (``bytes`` or ``vlen-utf8``, then
    ``zstd``/``gzip`` and ``crc32c``); anything else means the array is not
    the one the marker describes.
    """

    def __init__(self, node: Node, where: str) -> None:
        meta = node.meta
        codecs = meta.get("codecs") or []
        names = [c.get("name") if isinstance(c, dict) else None for c in codecs]
        ok = (
            len(codecs) >= 2
            and names[0] in ("bytes", "vlen-utf8")
            and names[-1] == "crc32c"
            and all(n in _BYTES_CODECS for n in names[1:-1])
        )
        if not ok:
            raise CorruptStoreError(
                f"Zarr store {where}: {join(node.path, 'zarr.json')!r} has codecs {names}; "
                "a dlinalg store of format 2 ends every codec chain with crc32c. Rewrite the "
                "store with to_zarr(..., overwrite=True).",
                where,
                join(node.path, "zarr.json"),
            )
        self.meta, self.names = meta, names
        grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
        self.chunk_shape = tuple(int(c) for c in grid)
        self.text = names[0] == "vlen-utf8"
        if not self.text:
            endian = (codecs[0].get("configuration") or {}).get("endian", "little")
            raw = meta.get("data_type")
            name = raw.get("name") if isinstance(raw, dict) else raw
            self.dtype = np.dtype(name).newbyteorder("<" if endian == "little" else ">")

    def decode(self, raw: bytes) -> np.ndarray:
        """Bytes of one verified chunk to a writable array of the chunk shape; raise _Bad."""
        body: Any = memoryview(raw)[:-4]
        inner = self.names[1:-1]
        try:
            for name in reversed(inner[1:]):
                body = _BYTES_CODECS[name].decode(body)
            if self.text:
                if inner:
                    body = _BYTES_CODECS[inner[0]].decode(body)
                out = numcodecs.VLenUTF8().decode(bytes(body))
                if out.size != int(np.prod(self.chunk_shape)):
                    raise _Bad(f"decodes to {out.size} labels, not a chunk of {self.chunk_shape}")
                return out.reshape(self.chunk_shape)
            out = np.empty(self.chunk_shape, dtype=self.dtype)
            view = out.reshape(-1).view(np.uint8)
            if inner:  # the CRC already vouched for the bytes, so their decoded size too
                body = np.frombuffer(_BYTES_CODECS[inner[0]].decode(body, out=view), np.uint8)
            else:
                body = np.frombuffer(body, np.uint8)
                view[...] = body  # raises unless the sizes agree
            if body.size != view.size:
                raise _Bad(f"decodes to {body.size} bytes, not the {view.size} of a chunk")
        except _Bad:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a decoder raises, the chunk is bad
            raise _Bad(f"cannot be decoded ({type(exc).__name__}: {exc})") from None
        return out


def relative(key: str, base: str) -> str:
    """``key`` relative to the group at ``base`` (how the marker lists it)."""
    return key[len(base) + 1 :] if base else key


def read_verified(
    store: Store, node: Node, records: dict[str, Any], where: str, base: str = ""
) -> np.ndarray:
    """Read a whole 1-D array of a format-2 store, every chunk verified.

    ``records`` is the marker's ``chunks`` (keys relative to the group at ``base``).
    """
    codec = ChunkCodec(node, where)
    (n,), (c,) = node.shape, codec.chunk_shape
    parts = []
    for i in range(-(-n // c)):
        key = join(node.path, chunk_key(node.meta, (i,)))
        raw = fetch(store, key)
        try:
            verify_chunk(raw, records.get(relative(key, base)))
            parts.append(codec.decode(raw))
        except _Bad as bad:
            raise chunk_error(where, key, str(bad)) from None
    if not parts:
        dtype = object if codec.text else codec.dtype
        return np.empty((0,), dtype=dtype)
    return np.concatenate(parts)[:n]
