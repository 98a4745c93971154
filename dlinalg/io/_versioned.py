"""Crash-safe Zarr stores on object storage: immutable versions, a pointer written last.

Object stores (S3, GCS, Azure Blob, fsspec's ``memory://``) have no atomic
directory rename, so the local protocol of :mod:`dlinalg.io._atomic` (build a
temporary sibling, rename it into place) does not carry over. What they do
have is an atomic single-object PUT: a reader gets the old object or the new
one, never a mixture. The protocol rests on that alone::

    <url>/zarr.json                 the pointer: a Zarr group whose attributes
                                    ["dlinalg_versions"] = {"format": 1,
                                    "current": "v-<id>", "committed": <time>,
                                    "superseded": {"v-<old>": <time>, ...}}
    <url>/v-<id>/...                one complete dlinalg store (the layout of
                                    dlinalg.io._layout: per-chunk CRC-32C,
                                    completion marker written last)
    <url>/.dlinalg-writers/v-<id>   its writer (host, pid, start time), until committed

A write builds the whole new store under a fresh ``v-<id>`` prefix, never
touching the current one, and commits with one PUT of ``<url>/zarr.json``
naming it. Hence:

* a reader never sees a half-written store as complete: the pointer only ever
  names a version whose completion marker is already written, and that
  version's marker and checksums are checked as for a local store;
* ``overwrite=True`` never loses the old data when the writer dies: until the
  PUT the pointer names the old version, whose objects are untouched;
* readers of the old version keep working: a superseded version is kept for
  :func:`grace_seconds` (one hour unless the dask config key
  ``dlinalg.superseded-grace`` says otherwise) after the commit that replaced
  it, and deleted by a later writer; a reader still on it after that gets
  :class:`~dlinalg.errors.StoreChangedError`, never chunks of two versions;
* a writer killed mid-upload leaves a ``v-<id>`` prefix no pointer names; the
  next writer of the URL deletes it once its owner is provably gone (same
  host and the pid gone, else after :data:`~dlinalg.io._atomic.STALE_AGE`).

Two writers racing on one URL both build complete versions; the last PUT
wins and the loser's version is collected later. ``overwrite=False`` is
checked before writing, not at the PUT (object stores do not all offer a
conditional PUT), so two racing creators both succeed and the last one wins.

The store is an ordinary Zarr group: xarray opens the current version with
``xr.open_zarr(url, group=<current>)``.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import dask
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore

from dlinalg.errors import IncompleteStoreError
from dlinalg.io._atomic import owner_alive, owner_record
from dlinalg.io._meta import Node, get_bytes, join, read_node

__all__ = [
    "POINTER",
    "commit_version",
    "current_version",
    "grace_seconds",
    "is_url",
    "open_url",
    "write_version",
]

POINTER = "dlinalg_versions"
PREFIX = "v-"
WRITERS = ".dlinalg-writers"
FORMAT = 1
#: Seconds a superseded version is kept for its readers, unless configured.
DEFAULT_GRACE = 3600.0


def is_url(path: Any) -> bool:
    """Whether ``path`` names a store by fsspec URL (``s3://``, ``memory://``, ...)."""
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def check_storage_options(storage_options: Any, path: Any) -> dict[str, Any]:
    """``storage_options`` as a dict; refused for a local path or when not a mapping."""
    if storage_options is None:
        return {}
    if not isinstance(storage_options, Mapping):
        raise TypeError(
            f"storage_options must be a dict of fsspec filesystem options, "
            f"got {type(storage_options).__name__}"
        )
    if storage_options and not is_url(path):
        raise ValueError(
            f"storage_options apply to fsspec URLs such as 's3://bucket/a.zarr'; "
            f"{str(path)!r} is a local path"
        )
    return dict(storage_options)


def open_url(url: str, storage_options: Mapping[str, Any], *, read_only: bool) -> FsspecStore:
    """A zarr store over the fsspec filesystem of ``url``.

    Raises ValueError for an unknown protocol and ImportError naming the
    package that provides it (``s3fs``, ``gcsfs``, ``adlfs``).
    """
    try:
        return FsspecStore.from_url(
            url, storage_options=dict(storage_options), read_only=read_only
        )
    except (ImportError, ValueError) as exc:
        raise type(exc)(f"cannot open {url!r}: {exc}") from exc


def grace_seconds() -> float:
    """How long a superseded version stays readable (dask config ``dlinalg.superseded-grace``)."""
    value = dask.config.get("dlinalg.superseded-grace", DEFAULT_GRACE)
    try:
        grace = float(value)
    except (TypeError, ValueError):
        grace = -1.0
    if not grace >= 0:
        raise ValueError(
            f"dask config dlinalg.superseded-grace must be seconds >= 0, got {value!r}"
        )
    return grace


def pointer_of(node: Node | None) -> dict[str, Any] | None:
    """The pointer document of a versioned root, or None for any other node."""
    if node is None or node.kind != "group":
        return None
    doc = node.attrs.get(POINTER)
    return doc if isinstance(doc, dict) else None


def current_version(node: Node | None, where: str) -> str | None:
    """The prefix of the version a versioned root points at, or None if not versioned."""
    doc = pointer_of(node)
    if doc is None:
        return None
    current = doc.get("current")
    if doc.get("format") != FORMAT or not (
        isinstance(current, str) and current.startswith(PREFIX) and "/" not in current
    ):
        raise IncompleteStoreError(
            f"Zarr store {where}: its version pointer {doc!r} is not one this dlinalg "
            f"reads (format {FORMAT}, 'current': 'v-<id>'); upgrade dlinalg or rewrite it"
        )
    return current


def _put(store: Store, key: str, data: bytes) -> None:
    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))


def _delete_prefix(store: Store, prefix: str) -> None:
    sync(store.delete_dir(prefix))


def _versions(store: Store, root: str) -> list[str]:
    async def collect() -> list[str]:
        return sorted([name async for name in store.list_dir(root)])

    return [n.rstrip("/") for n in sync(collect()) if n.startswith(PREFIX)]


def write_version(store: Store, root: str, build: Callable[[Store], None]) -> str:
    """Build a new version under ``root`` with ``build(version_store)``; return its prefix.

    The owner record goes first, so a writer killed at any later moment
    leaves a version the next writer can attribute and collect. On an
    exception the partial version is deleted (best effort) and it propagates.
    """
    version = f"{PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"
    prefix = join(root, version)
    _put(store, join(root, WRITERS, version), json.dumps(owner_record()).encode())
    sub = store.with_read_only(False) if store.read_only else store
    sub = FsspecStore(sub.fs, path=f"{sub.path.rstrip('/')}/{prefix}", read_only=False)
    try:
        build(sub)
    except BaseException:
        with contextlib.suppress(Exception):  # else the next writer collects it
            _delete_prefix(store, prefix)
            sync(store.delete(join(root, WRITERS, version)))
        raise
    return version


def commit_version(store: Store, root: str, version: str, old: Node | None) -> None:
    """Point ``root`` at ``version`` with one PUT; then collect what no reader needs.

    ``old`` is the node at ``root`` before the write (None when absent). A
    plain (unversioned) Zarr store there is superseded like a version: its
    objects stay for the grace period, then a later writer deletes them.
    """
    grace = grace_seconds()  # checked before the commit: a bad setting changes nothing
    now = time.time()
    previous = pointer_of(read_node(store, root, root or "/"))
    superseded = dict((previous or {}).get("superseded") or {})
    if previous and isinstance(previous.get("current"), str):
        superseded[previous["current"]] = now
    superseded.pop(version, None)
    present = set(_versions(store, root))  # forget versions already collected
    superseded = {v: t for v, t in superseded.items() if v in present}
    doc = {"format": FORMAT, "current": version, "committed": now, "superseded": superseded}
    plain = (previous or {}).get("plain_superseded")
    if old is not None and pointer_of(old) is None:
        plain = now
    if plain is not None and _plain_children(store, root):
        doc["plain_superseded"] = plain
    meta = {"zarr_format": 3, "node_type": "group", "attributes": {POINTER: doc}}
    _put(store, join(root, "zarr.json"), json.dumps(meta, indent=2).encode())  # the commit
    sync(store.delete(join(root, WRITERS, version)))  # committed: no longer a dead writer's
    collect(store, root, doc, now, grace)


def _plain_children(store: Store, root: str) -> list[str]:
    """Top-level names under ``root`` that belong to a replaced unversioned store."""

    async def names() -> list[str]:
        return sorted([n async for n in store.list_dir(root)])

    return [
        n.rstrip("/")
        for n in sync(names())
        if not n.startswith(PREFIX) and n.rstrip("/") not in ("zarr.json", WRITERS)
    ]


def _created(version: str) -> float | None:
    """The creation time a version's name records (``v-YYYYmmddTHHMMSS-<id>``)."""
    try:
        return calendar.timegm(
            time.strptime(version[len(PREFIX) :].split("-")[0], "%Y%m%dT%H%M%S")
        )
    except ValueError:
        return None


def collect(
    store: Store, root: str, doc: dict[str, Any], now: float, grace: float | None = None
) -> list[str]:
    """Delete versions no reader needs; return them.

    A superseded version (or replaced unversioned store) goes once its grace
    period is over; a version no pointer names (a dead writer's) once its
    owner is provably gone, or, without an owner record (a lost commit race,
    an interrupted clean-up), once its name is older than ``STALE_AGE``.
    """
    grace = grace_seconds() if grace is None else grace
    removed = []
    plain = doc.get("plain_superseded")
    if plain is not None and now - float(plain) >= grace:
        for name in _plain_children(store, root):
            _delete_prefix(store, join(root, name))
            with contextlib.suppress(FileNotFoundError):
                sync(store.delete(join(root, name)))
    for version in _versions(store, root):
        if version == doc.get("current"):
            continue
        superseded = (doc.get("superseded") or {}).get(version)
        if superseded is not None:
            drop = now - float(superseded) >= grace
        else:
            raw = get_bytes(store, join(root, WRITERS, version))
            try:
                owner = json.loads(raw) if raw else None
            except ValueError:
                owner = None
            if not isinstance(owner, dict):
                owner = {"created": _created(version)}
            drop = not owner_alive(owner, now)
        if drop:
            _delete_prefix(store, join(root, version))
            sync(store.delete(join(root, WRITERS, version)))
            removed.append(version)
    return removed
