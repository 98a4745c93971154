"""Read and write distributed row matrices as Zarr stores, lazily and crash-safely.

A store written here is a Zarr (format 3) group: the matrix (``matrix``, or
one CSR triple per row block under ``blocks/``), its labels as 1-D arrays
named after the dims, and a description in ``attributes["dlinalg"]`` whose
``"complete": true`` is written last (layout in :mod:`dlinalg.io._layout`).
A dense store is also an ordinary xarray dataset:
``xr.open_zarr("out.zarr")["matrix"]`` has the dims, coordinates and attrs.

Local writes are built under a temporary sibling name and renamed into place
(:mod:`dlinalg.io._atomic`); writes to an fsspec URL (``s3://``, ``gs://``,
``memory://``, ...) build an immutable version and commit it with one PUT of
a pointer (:mod:`dlinalg.io._versioned`). Reads check metadata as raw JSON
before zarr decodes anything (:mod:`dlinalg.io._meta`).
"""

from __future__ import annotations

import errno
import itertools
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import dask.array as da
import zarr
from dask.base import tokenize
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.storage import LocalStore

from dlinalg._validation import check_dtype, check_flag, check_shape_2d
from dlinalg.errors import CorruptStoreError, IncompleteStoreError, StoreNotFoundError
from dlinalg.io import _atomic, _integrity, _layout, _sparse, _versioned
from dlinalg.io._integrity import ChunkProblem
from dlinalg.io._meta import (
    Node,
    StoreGuard,
    check_array,
    join,
    list_keys,
    missing_chunks,
    read_node,
)

if TYPE_CHECKING:
    from dlinalg.matrix import DRM

__all__ = ["StoredMatrix", "VerifyReport", "open_zarr", "verify_zarr", "write_zarr"]

_DEFAULT_DIMS = ("row", "col")
# xarray's encoding attributes, not user attributes
_XARRAY_INTERNAL = {"_ARRAY_DIMENSIONS", "_FillValue"}


def _component(component: str | None) -> str:
    if component is None:
        return ""
    if not isinstance(component, str):
        raise TypeError(f"component must be a str or None, got {type(component).__name__}")
    parts = component.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts) and component.strip("/"):
        raise ValueError(
            f"component must be a path of group names inside the store, got {component!r} "
            "('.', '..' and empty names would leave or confuse the store)"
        )
    return component.strip("/")


def _open_store(path: Any, storage_options: Any = None) -> tuple[Store, str, Path | None]:
    """Return (store, name for messages, local path or None) for a path, URL or Store."""
    if isinstance(path, Store):
        if storage_options:
            raise ValueError(
                "storage_options apply to fsspec URLs; a zarr Store is already opened "
                "with its own options"
            )
        return path, repr(path), None
    options = _versioned.check_storage_options(storage_options, path)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"path must be a str, os.PathLike or zarr Store, got {type(path).__name__}"
        )
    if _versioned.is_url(path):
        return _versioned.open_url(str(path), options, read_only=True), str(path), None
    if isinstance(path, str) and path.startswith("file://"):
        path = path[len("file://") :]
    local = Path(path).expanduser().absolute()
    if _atomic.is_leftover(local):
        raise StoreNotFoundError(
            errno.ENOENT,
            "this is the temporary (or trash) directory of a dlinalg writer, not a store; "
            "read the store it was building instead (a trash directory's 'store' holds the "
            "previous store of an interrupted swap: move it back to recover it)",
            str(path),
        )
    if not local.is_dir():
        hint = ""
        leftovers = _atomic.find_leftovers(local)
        if leftovers:
            hint += f"; interrupted writes left {[p.name for p in leftovers]} beside it"
        raise StoreNotFoundError(errno.ENOENT, f"no Zarr store at this path{hint}", str(path))
    return LocalStore(local, read_only=True), str(path), local


def _in_current(store: Store, comp: str, where: str) -> str:
    """A component of a versioned root names a path inside its current version."""
    if not comp or comp.startswith(_versioned.PREFIX):
        return comp
    version = _versioned.current_version(read_node(store, "", where), where)
    return join(version, comp) if version else comp


def _follow_pointer(
    store: Store, comp: str, node: Node | None, where: str
) -> tuple[str, Node | None]:
    """For a versioned root (object storage): the component and node of its current version."""
    version = _versioned.current_version(node, where)
    if version is None:
        return comp, node
    target = join(comp, version)
    current = read_node(store, target, where)
    if current is None:
        raise IncompleteStoreError(
            f"Zarr store {where}: its pointer names version {version!r}, which is missing "
            "(deleted by hand?); rewrite the store with to_zarr(..., overwrite=True)"
        )
    return target, current


class StoredMatrix(NamedTuple):
    """A stored matrix as :func:`open_zarr` finds it: the lazy array and its metadata."""

    array: da.Array
    row_labels: tuple | None
    col_labels: tuple | None
    dims: tuple[str, str]
    attrs: dict[str, Any]


def open_zarr(
    path: str | os.PathLike | Store,
    component: str | None = None,
    *,
    allow_missing_chunks: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> StoredMatrix:
    """Open a 2-D Zarr array: its lazy Dask array and what is stored with it.

    The reading half of :func:`dlinalg.read_zarr`, which wraps the result in a
    distributed row matrix; its parameters, checks and errors are the same.

    Examples
    --------
    >>> import numpy as np, tempfile, os, zarr
    >>> from dlinalg.io import open_zarr
    >>> path = os.path.join(tempfile.mkdtemp(), "x.zarr")
    >>> z = zarr.create_array(path, shape=(6, 3), chunks=(4, 3), dtype="f8")
    >>> z[:] = np.arange(18.0).reshape(6, 3)
    >>> m = open_zarr(path)
    >>> m.array.chunks, m.dims, m.row_labels
    (((4, 2), (3,)), ('row', 'col'), None)
    """
    store, where, local = _open_store(path, storage_options)
    comp = _component(component)
    where = f"{where} (component {comp!r})" if comp else where
    comp = _in_current(store, comp, where)
    comp, node = _follow_pointer(store, comp, read_node(store, comp, where), where)
    if node is None:
        children = _children(store, _parent_path(comp)) if comp else []
        raise StoreNotFoundError(
            errno.ENOENT,
            f"no Zarr array or group {comp!r} in the store"
            + (f"; it holds {children}" if children else ""),
            str(path),
        )
    if node.kind == "array":
        parent = _parent(store, comp, local, where)
        if parent is not None and _info(parent[1]).get("array") == parent[2]:
            store, node = parent[0], parent[1]
            comp = node.path
    info = _info(node)
    if info:
        return _read_dlinalg(store, node, info, where)
    if node.kind == "group":
        raise StoreNotFoundError(
            errno.ENOENT,
            f"this is a Zarr group, not an array; pass component= one of {_children(store, comp)}",
            where,
        )
    return _read_foreign(store, node, where, local, allow_missing_chunks)


def _parent_path(comp: str) -> str:
    return comp.rsplit("/", 1)[0] if "/" in comp else ""


def _children(store: Store, path: str, limit: int = 20) -> list[str]:
    async def collect() -> list[str]:
        return sorted([name async for name in store.list_dir(path)])

    names = sync(collect())
    return [n for n in names if not n.startswith(".") and n != "zarr.json"][:limit]


def _parent(
    store: Store, comp: str, local: Path | None, where: str
) -> tuple[Store, Node, str] | None:
    """The group holding the array at ``comp`` (or the directory above ``local``)."""
    if comp:
        node = read_node(store, _parent_path(comp), where)
        return (store, node, comp.rsplit("/", 1)[-1]) if node is not None else None
    if local is not None and local.parent != local:
        pstore = LocalStore(local.parent, read_only=True)
        node = read_node(pstore, "", str(local.parent))
        return (pstore, node, local.name) if node is not None else None
    return None


def _info(node: Node) -> dict[str, Any]:
    info = node.attrs.get("dlinalg") if node.kind == "group" else None
    return info if isinstance(info, dict) else {}


def _task_name(where: str, node: Node, extra: str) -> str:
    return "read-zarr-" + tokenize(where, node.path, node.token, extra)


def _read_dlinalg(store: Store, node: Node, info: dict[str, Any], where: str) -> StoredMatrix:
    if info.get("complete") is not True:
        raise IncompleteStoreError(
            f"Zarr store {where} was written by dlinalg but has no completion marker "
            "(attributes['dlinalg']['complete']): its writer stopped before finishing "
            "(crash, kill, out of memory), so its data may be partial. Write it again "
            "with to_zarr(..., overwrite=True)."
        )
    if info.get("format_version") not in _layout.READABLE_VERSIONS:
        raise IncompleteStoreError(
            f"Zarr store {where} has dlinalg format_version {info.get('format_version')!r}; "
            f"this dlinalg reads versions {list(_layout.READABLE_VERSIONS)}. Upgrade dlinalg."
        )
    marker = _check_marker(store, node, info, where)
    write_id = str(info.get("write_id"))
    guard = StoreGuard(store, join(node.path, "zarr.json"), write_id, where)
    name = _task_name(where, node, write_id)
    if info.get("layout") == "csr":
        check_dtype(info.get("dtype"), f"Zarr store {where}")
        arr = _sparse.read_csr(store, node.path, info, guard, name)
        attrs = {k: v for k, v in node.attrs.items() if k != "dlinalg"}
    else:
        apath = join(node.path, str(info.get("array", "matrix")))
        anode = read_node(store, apath, where)
        if anode is None or anode.kind != "array":
            raise IncompleteStoreError(f"Zarr store {where} lacks its array {apath!r}")
        _layout.check_dense_marker(anode, info, where)
        if marker is not None:
            _integrity.check_array_record(anode, marker["arrays"].get(info["array"]), where)
        records = marker["chunks"] if marker is not None else None
        arr = _layout.dense_array(store, anode, where, name, guard, records, node.path)
        attrs = dict(anode.attrs)
        if marker is None:  # format 1: every chunk was written; a missing one is a loss
            _refuse_missing(store, anode, where)
    shape = arr.shape
    dims = tuple(info.get("dims") or _DEFAULT_DIMS)
    labels = info.get("labels") or {}
    row_labels, col_labels = (
        _layout.read_labels(store, join(node.path, labels[axis]), n, where, marker, node.path)
        if labels.get(axis)
        else None
        for axis, n in zip(("row", "col"), shape, strict=True)
    )
    return StoredMatrix(arr, row_labels, col_labels, dims, attrs)


def _check_marker(
    store: Store, node: Node, info: dict[str, Any], where: str
) -> dict[str, Any] | None:
    """For a format-2 store: every chunk the marker lists must be present (one listing).

    Returns the marker (None for format 1, which records no chunks).
    """
    if info.get("format_version") == 1:
        return None
    arrays, chunks = info.get("arrays"), info.get("chunks")
    if not isinstance(arrays, dict) or not isinstance(chunks, dict):
        raise CorruptStoreError(
            f"Zarr store {where}: its completion marker lacks the list of arrays and chunks "
            "a format-2 store records; the metadata was edited. Rewrite the store with "
            "to_zarr(..., overwrite=True).",
            where,
            join(node.path, "zarr.json"),
        )
    present = {_integrity.relative(k, node.path) for k in list_keys(store, node.path)}
    missing = [k for k in chunks if k not in present]
    if missing:
        raise _integrity.chunk_error(
            where,
            join(node.path, missing[0]),
            "is missing (plain Zarr would read it as the fill value)"
            + (f"; {len(missing) - 1} more are missing too" if len(missing) > 1 else ""),
        )
    return info


def _refuse_missing(store: Store, anode: Node, where: str) -> None:
    z = zarr.open_array(store, path=anode.path, mode="r", zarr_format=anode.zarr_format)
    n_missing, n_expected, examples = missing_chunks(store, anode.path, z.metadata)
    if n_missing:
        raise _integrity.chunk_error(
            where,
            join(anode.path, examples[0]),
            f"is missing ({n_missing} of {n_expected} chunks are; plain Zarr would read them "
            "as the fill value)",
        )


def _read_foreign(
    store: Store, node: Node, where: str, local: Path | None, allow_missing: bool
) -> StoredMatrix:
    arr = _layout.dense_array(store, node, where, _task_name(where, node, ""), None)
    if not allow_missing:
        z = zarr.open_array(store, path=node.path, mode="r", zarr_format=node.zarr_format)
        n_missing, n_expected, examples = missing_chunks(store, node.path, z.metadata)
        if n_missing:
            raise IncompleteStoreError(
                f"Zarr array {where} is missing {n_missing} of its {n_expected} chunks "
                f"(e.g. {examples}); plain Zarr would silently read them as the fill value "
                f"{z.fill_value!r}. A writer may have died mid-write. If the store is "
                "complete (Zarr skips writing chunks equal to the fill value), pass "
                "allow_missing_chunks=True to read them as the fill value."
            )
    names = node.meta.get("dimension_names") or node.attrs.get("_ARRAY_DIMENSIONS")
    dims, row_labels, col_labels = _DEFAULT_DIMS, None, None
    if (
        isinstance(names, list)
        and len(names) == 2
        and all(isinstance(d, str) for d in names)
        and names[0] != names[1]
    ):
        dims = tuple(names)
        parent = _parent(store, node.path, local, where)
        if parent is not None and parent[1].kind == "group":
            pstore, pnode = parent[0], parent[1]
            row_labels, col_labels = (
                _layout.foreign_labels(pstore, join(pnode.path, dim), n, where)
                for dim, n in zip(dims, arr.shape, strict=True)
            )
    attrs = {k: v for k, v in node.attrs.items() if k not in _XARRAY_INTERNAL}
    return StoredMatrix(arr, row_labels, col_labels, dims, attrs)


def write_zarr(
    drm: DRM,
    path: str | os.PathLike,
    *,
    component: str | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> None:
    """Write a matrix to a Zarr store, atomically: all of it or nothing.

    The store is built in a hidden temporary sibling directory; all chunk
    writes run in one ``dask.compute`` on the current scheduler (a
    distributed Client included: workers need the same filesystem); labels,
    dims and attrs follow; the completion marker is written last; then the
    directory is renamed into place. A writer killed at any moment leaves
    ``path`` as it was (absent, or the previous complete store), never a
    store that opens with missing chunks.

    Parameters
    ----------
    drm : DRM
        The matrix; dense or sparse (CSR blocks).
    path : str or os.PathLike
        Local directory of the store (its parent must exist), or an fsspec
        URL such as ``"s3://bucket/a.zarr"``, ``"gs://..."``, ``"abfs://..."``
        or ``"memory://a.zarr"`` (the filesystem's package, e.g. ``s3fs``,
        must be installed where the chunks are written: on the workers).
    component : str, optional
        Write the store as a sub-group ``component`` of the Zarr group at
        ``path`` (created when missing) instead of at ``path`` itself.
    overwrite : bool, default False
        Replace an existing store. The previous store stays intact until the
        new one is complete; the two are then swapped atomically.
    storage_options : dict, optional
        Options of the fsspec filesystem of a URL ``path`` (credentials,
        ``client_kwargs={"endpoint_url": ...}``), as in
        :func:`xarray.Dataset.to_zarr`; refused for a local path.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False, or it is not a Zarr store
        (dlinalg never deletes a non-Zarr directory). Raised before computing.
    FileNotFoundError
        The parent directory of ``path`` does not exist.
    TypeError
        An attribute cannot be stored as JSON, or labels are neither numbers
        nor strings.
    LabelError
        Labels that :func:`read_zarr` would refuse or return differently:
        duplicates (e.g. from ``A[:, [0, 0]]``), NaN, or mixed types
        (``[1, "a"]``). Raised before anything is written.

    Notes
    -----
    Zarr needs regular chunks: the chunk height is the largest row block, and
    the matrix is rechunked to it only when its row blocks are irregular (any
    block but the last smaller than the largest). Sparse matrices keep their
    row blocks exactly, one CSR triple per block (layout in ``dlinalg.io._sparse``).
    Dense chunks are written even when all zero, so a dlinalg store stays
    verifiable chunk by chunk: every chunk ends with a CRC-32C (Zarr's
    ``crc32c`` codec) and the completion marker lists every chunk key with
    its checksum and size, which :func:`read_zarr` and :func:`verify_zarr`
    check. A killed writer leaves a hidden ``.<name>.dlinalg-tmp-*``
    directory holding its owner (host, pid, start time); the next write of
    the same path deletes it once that process is gone. The guarantee covers process crashes (kill,
    out-of-memory, lost workers); surviving power loss also needs a
    filesystem that orders metadata after data (ext4 ``data=ordered``).

    Object stores have no atomic rename: at a URL the matrix is written as
    an immutable version ``<path>/v-<id>`` and committed by one PUT of
    ``<path>/zarr.json`` naming it (:mod:`dlinalg.io._versioned`). The
    guarantees are the same: a killed writer leaves the previous version
    current; readers of a replaced version keep reading it for an hour
    (dask config ``dlinalg.superseded-grace``, seconds); later writers delete
    what no reader needs. Two writers racing on one URL both succeed and the
    last commit wins.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import dlinalg as dl
    >>> path = os.path.join(tempfile.mkdtemp(), "a.zarr")
    >>> A = dl.from_array(np.eye(4), chunks=2, row_labels=list("abcd"))
    >>> dl.io.write_zarr(A, path)
    >>> dl.read_zarr(path).row_labels
    ('a', 'b', 'c', 'd')
    """
    options = _versioned.check_storage_options(storage_options, path)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"write_zarr writes to a local directory or an fsspec URL; path must be a str "
            f"or os.PathLike, got {type(path).__name__}"
        )
    comp = _component(component)
    overwrite = check_flag(overwrite, "overwrite")
    if _versioned.is_url(path):
        _versioned.grace_seconds()  # a bad setting is refused before anything is written
        store = _versioned.open_url(str(path), options, read_only=False)
        old = _check_url_target(store, comp, str(path), overwrite)
        parts = _checked_parts(drm)
        if comp:  # the enclosing groups are plain metadata: create them up front
            group = zarr.open_group(store, mode="a", zarr_format=3)
            if _parent_path(comp):
                group.require_group(_parent_path(comp))
        version = _versioned.write_version(
            store, comp, lambda sub: _layout.write_store(sub, *parts)
        )
        _versioned.commit_version(store, comp, version, old)
        return
    if isinstance(path, str) and path.startswith("file://"):
        path = path[len("file://") :]
    root = Path(path).expanduser().absolute()
    target = root.joinpath(*comp.split("/")) if comp else root
    if not root.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, "the parent directory of the store does not exist", str(root.parent)
        )
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(
                errno.EEXIST, "store exists; pass overwrite=True to replace it", str(target)
            )
        if not _is_zarr_dir(target):
            raise FileExistsError(
                errno.EEXIST, "exists and is not a Zarr store; dlinalg will not delete it",
                str(target),
            )  # fmt: skip
    parts = _checked_parts(drm)
    if comp:  # the enclosing groups are plain metadata: create them up front
        group = zarr.open_group(root, mode="a", zarr_format=3)
        if _parent_path(comp):
            group.require_group(_parent_path(comp))
    _atomic.remove_stale_leftovers(target, kinds=("tmp",))  # dead writers' temporaries
    tmp = _atomic.make_temp(target)
    try:
        built = tmp / _atomic.STORE_DIR
        _layout.write_store(built, *parts)
        _atomic.commit(built, target, replace=overwrite)
    finally:
        _atomic._remove(tmp)
    _atomic.remove_stale_leftovers(target)


def _checked_parts(drm: DRM) -> tuple:
    """What write_store needs, every check done (before anything is written)."""
    arr = drm.to_dask()
    check_shape_2d(arr.shape, "matrix")
    dtype = check_dtype(arr.dtype, "matrix")
    dims = tuple(drm.dims)
    if len(dims) != 2 or not all(isinstance(d, str) and d for d in dims):
        raise TypeError(f"dims must be two non-empty strings to be stored, got {dims!r}")
    attrs = _layout.jsonable(dict(drm.attrs or {}))
    labels = {  # refused here what read_zarr would refuse: duplicates, NaN, mixed types
        "row": _layout.label_values(drm.row_labels, "row", arr.shape[0]),
        "col": _layout.label_values(drm.col_labels, "column", arr.shape[1]),
    }
    return arr, dtype, dims, attrs, labels, bool(drm.is_sparse)


def _check_url_target(store: Store, comp: str, url: str, overwrite: bool) -> Node | None:
    """The node a write to ``url`` replaces (None: none); refuse what must not be replaced."""
    where = f"{url} (component {comp!r})" if comp else url
    old = read_node(store, comp, where)
    if old is None:
        others = [n for n in _children(store, comp) if not n.startswith(_versioned.PREFIX)]
        if others:
            raise FileExistsError(
                errno.EEXIST,
                f"holds {others[:5]} but is not a Zarr store; dlinalg will not delete it",
                where,
            )
        return None
    if not overwrite:
        raise FileExistsError(
            errno.EEXIST, "store exists; pass overwrite=True to replace it", where
        )
    return old


def _is_zarr_dir(path: Path) -> bool:
    if path.is_dir() and not path.is_symlink():
        names = {"zarr.json", ".zarray", ".zgroup"}
        return any((path / n).is_file() for n in names) or not any(path.iterdir())
    return False


class VerifyReport:
    """What :func:`verify_zarr` found: every bad chunk of one store.

    Attributes
    ----------
    path : str
        The store.
    kind : str
        ``"dlinalg"`` (format 2: checksums verified), ``"dlinalg-1"`` (format
        1: no checksums recorded) or ``"foreign"`` (not written by dlinalg).
    checked : int
        Number of chunks read and decoded.
    problems : list of ChunkProblem
        One ``(key, problem)`` per bad chunk or metadata document, in key order.
    checksummed : bool
        Whether the chunks were checked against recorded checksums. Without
        them (format 1, foreign stores) a bit flip that still decodes passes.
    """

    def __init__(self, path: str, kind: str, checked: int, problems: list[ChunkProblem]):
        self.path, self.kind, self.checked, self.problems = path, kind, checked, problems
        self.checksummed = kind == "dlinalg"

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_bad(self) -> VerifyReport:
        """Raise :class:`~dlinalg.errors.CorruptStoreError` listing every problem.

        Returns the report itself when there is none.
        """
        if self.problems:
            listing = "; ".join(str(p) for p in self.problems[:20])
            more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
            raise CorruptStoreError(
                f"Zarr store {self.path} has {len(self.problems)} bad chunk(s): {listing}{more}. "
                "Copy it again from an intact source, or rewrite it with "
                "to_zarr(..., overwrite=True).",
                self.path,
                self.problems[0].key,
            )
        return self

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return f"<VerifyReport {self.path}: {self.kind}, {self.checked} chunks checked, {state}>"


def verify_zarr(
    path: str | os.PathLike | Store,
    component: str | None = None,
    *,
    allow_missing_chunks: bool = False,
    raise_on_error: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> VerifyReport:
    """Check every chunk of a Zarr store and report each bad one.

    Reads the whole store once, one chunk at a time (memory: one chunk), in
    this process. For a dlinalg store (format 2) each chunk must be present,
    have the size and CRC-32C its completion marker records and decode; each
    array's shape and chunking must match the marker. For a format-1 dlinalg
    store or a foreign store, each chunk must be present and decode.

    Parameters
    ----------
    path : str, os.PathLike or zarr.abc.store.Store
        The store, as for :func:`read_zarr`.
    component : str, optional
        Path of the array (or dlinalg group) inside the store.
    allow_missing_chunks : bool, default False
        For foreign stores: do not report absent chunks (plain Zarr reads
        them as the fill value).
    raise_on_error : bool, default False
        Raise :class:`~dlinalg.errors.CorruptStoreError` listing every problem
        instead of returning a report with problems.
    storage_options : dict, optional
        Options of the fsspec filesystem when ``path`` is a URL, as for
        :func:`read_zarr`.

    Returns
    -------
    VerifyReport
        ``report.ok``, ``report.problems`` (key and problem of each bad
        chunk), ``report.raise_if_bad()``.

    Raises
    ------
    StoreNotFoundError
        No store at ``path``.
    IncompleteStoreError
        A dlinalg store without its completion marker (nothing to verify against).
    CorruptStoreError
        With ``raise_on_error=True``, when any chunk is bad.

    See Also
    --------
    read_zarr : verifies each chunk as it is decoded, and stops at the first bad one.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import dlinalg as dl
    >>> path = os.path.join(tempfile.mkdtemp(), "a.zarr")
    >>> dl.from_array(np.ones((6, 2)), chunks=2).to_zarr(path)
    >>> dl.verify_zarr(path).ok
    True
    >>> os.remove(os.path.join(path, "matrix", "c", "1", "0"))
    >>> report = dl.verify_zarr(path)
    >>> [str(p) for p in report.problems]  # doctest: +ELLIPSIS
    ['matrix/c/1/0: is missing ...']
    """
    store, where, _local = _open_store(path, storage_options)
    comp = _component(component)
    where = f"{where} (component {comp!r})" if comp else where
    comp = _in_current(store, comp, where)
    comp, node = _follow_pointer(store, comp, read_node(store, comp, where), where)
    if node is None:
        raise StoreNotFoundError(errno.ENOENT, f"no Zarr array or group {comp!r}", str(path))
    if node.kind == "array":
        parent = _parent(store, comp, _local, where)
        if parent is not None and _info(parent[1]).get("array") == parent[2]:
            store, node = parent[0], parent[1]
    info = _info(node)
    problems: list[ChunkProblem] = []
    if info and info.get("format_version") != 1:
        if info.get("complete") is not True:
            raise IncompleteStoreError(
                f"Zarr store {where} has no completion marker: its writer stopped before "
                "finishing, so there is nothing to verify against. Write it again."
            )
        checked, kind = _verify_marked(store, node, info, where, problems), "dlinalg"
    else:
        kind = "dlinalg-1" if info else "foreign"
        arrays = _arrays_of(store, node, info)
        checked = 0
        for apath in arrays:
            checked += _verify_plain(
                store, apath, where, problems, allow_missing_chunks and not info
            )
    report = VerifyReport(where, kind, checked, sorted(problems, key=lambda p: p.key))
    return report.raise_if_bad() if raise_on_error else report


def _verify_marked(
    store: Store, node: Node, info: dict[str, Any], where: str, problems: list[ChunkProblem]
) -> int:
    arrays, records = info.get("arrays") or {}, info.get("chunks") or {}
    codecs: dict[str, _integrity.ChunkCodec] = {}
    for rel, rec in arrays.items():
        anode = read_node(store, join(node.path, rel), where)
        key = join(node.path, rel, "zarr.json")
        if anode is None or anode.kind != "array":
            problems.append(ChunkProblem(key, "is missing (an array the marker lists)"))
            continue
        try:
            _integrity.check_array_record(anode, rec, where)
            codecs[rel] = _integrity.ChunkCodec(anode, where)
        except CorruptStoreError as exc:
            problems.append(ChunkProblem(key, str(exc).split(": ", 1)[-1]))
    checked = 0
    for rel, rec in records.items():
        owner = rel.split("/c/")[0] if "/c/" in rel else rel.rsplit("/", 1)[0]
        key = join(node.path, rel)
        raw = _integrity.fetch(store, key)
        try:
            _integrity.verify_chunk(raw, rec)
            if owner in codecs:
                codecs[owner].decode(raw)
        except _integrity._Bad as bad:
            problems.append(ChunkProblem(key, str(bad)))
        checked += 1
    listed = set(records)
    for key in list_keys(store, node.path):
        rel = _integrity.relative(key, node.path)
        if rel.rsplit("/", 1)[-1] != "zarr.json" and rel not in listed:
            problems.append(ChunkProblem(key, "is not listed in the completion marker"))
    return checked


def _arrays_of(store: Store, node: Node, info: dict[str, Any]) -> list[str]:
    """Paths of the arrays to check in a format-1 dlinalg store or a foreign node."""
    if node.kind == "array":
        return [node.path]
    if not info:
        raise StoreNotFoundError(
            errno.ENOENT,
            f"this is a Zarr group, not an array; pass component= one of "
            f"{_children(store, node.path)}",
            node.path or "/",
        )
    keys = list_keys(store, node.path)
    return sorted(
        k[: -len("/zarr.json")]
        for k in keys
        if k.endswith("/zarr.json")
        and read_node(store, k[: -len("/zarr.json")], "").kind == "array"
    )


def _verify_plain(
    store: Store, apath: str, where: str, problems: list[ChunkProblem], allow_missing: bool
) -> int:
    """Check every stored object (chunk, or shard) of an array: present and decodable."""
    anode = read_node(store, apath, where)
    if anode is None:
        return 0
    check_array(anode, where, labels=True)  # never decode pickles, even to verify
    z = zarr.open_array(store, path=apath, mode="r", zarr_format=anode.zarr_format)
    meta = z.metadata
    step = meta.chunk_grid.chunk_shape if meta.zarr_format == 3 else meta.chunks
    prefix = f"{apath}/" if apath else ""
    present = {k[len(prefix) :] for k in list_keys(store, prefix)}
    grid = [math.ceil(s / c) for s, c in zip(z.shape, step, strict=True)]
    checked = 0
    for coords in itertools.product(*(range(g) for g in grid)):
        key = meta.encode_chunk_key(coords)
        if key not in present:
            if not allow_missing:
                problems.append(
                    ChunkProblem(join(apath, key), "is missing (read as the fill value)")
                )
            continue
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, step, strict=True))
        try:
            z[region]
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad chunk
            problems.append(
                ChunkProblem(join(apath, key), f"cannot be decoded ({type(exc).__name__}: {exc})")
            )
        checked += 1
    return checked
