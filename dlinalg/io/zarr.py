"""Read and write distributed row matrices as Zarr stores, lazily and crash-safely.

A store written here is a Zarr (format 3) group: the matrix (``matrix``, or
one CSR triple per row block under ``blocks/``), its labels as 1-D arrays
named after the dims, and a description in ``attributes["dlinalg"]`` whose
``"complete": true`` is written last (layout in :mod:`dlinalg.io._layout`).
A dense store is also an ordinary xarray dataset:
``xr.open_zarr("out.zarr")["matrix"]`` has the dims, coordinates and attrs.

Writes are built under a temporary sibling name and renamed into place
(:mod:`dlinalg.io._atomic`); reads check metadata as raw JSON before zarr
decodes anything (:mod:`dlinalg.io._meta`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask.array as da
import zarr
from dask.base import tokenize
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.storage import LocalStore

from dlinalg.errors import (
    IncompleteStoreError,
    StoreNotFoundError,
    check_dtype,
    check_shape_2d,
)
from dlinalg.io import _atomic, _layout, _sparse
from dlinalg.io._meta import (
    Node,
    StoreGuard,
    join,
    missing_chunks,
    read_node,
)

if TYPE_CHECKING:
    from dlinalg.matrix import DRM

__all__ = ["read_zarr", "write_zarr"]

_DEFAULT_DIMS = ("row", "col")
# xarray's encoding attributes, not user attributes
_XARRAY_INTERNAL = {"_ARRAY_DIMENSIONS", "_FillValue"}


def _component(component: str | None) -> str:
    if component is None:
        return ""
    if not isinstance(component, str):
        raise TypeError(f"component must be a str or None, got {type(component).__name__}")
    return component.strip("/")


def _open_store(path: Any) -> tuple[Store, str, Path | None]:
    """Return (store, name for messages, local path or None) for a path or a Store."""
    if isinstance(path, Store):
        return path, repr(path), None
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"path must be a str, os.PathLike or zarr Store, got {type(path).__name__}"
        )
    local = Path(path).expanduser().absolute()
    if not local.is_dir():
        hint = ""
        if "://" in str(path):
            hint = "; for remote stores pass zarr.storage.FsspecStore.from_url(url)"
        leftovers = _atomic.find_leftovers(local)
        if leftovers:
            hint += f"; interrupted writes left {[p.name for p in leftovers]} beside it"
        raise StoreNotFoundError(errno.ENOENT, f"no Zarr store at this path{hint}", str(path))
    return LocalStore(local, read_only=True), str(path), local


def _to_drm(arr: da.Array, **meta: Any) -> DRM:
    from dlinalg.matrix import DRM

    return DRM._from_dask(arr, source="zarr", **meta)


def read_zarr(
    path: str | os.PathLike | Store,
    component: str | None = None,
    *,
    allow_missing_chunks: bool = False,
) -> DRM:
    """Open a 2-D Zarr array as a lazy distributed row matrix.

    Row blocks are the store's row chunks (no rechunk); when the store also
    chunks columns, each task reads every column chunk of its row band, so
    the matrix has a single column block. Nothing is read but metadata until
    the matrix is computed, and then each chunk is read once, by one task:
    stores larger than memory stream.

    Parameters
    ----------
    path : str, os.PathLike or zarr.abc.store.Store
        A directory holding a Zarr array or group, or a zarr Store (e.g.
        ``zarr.storage.FsspecStore.from_url(...)`` for object storage).
    component : str, optional
        Path of the array inside the group at ``path``, as in
        :func:`dask.array.from_zarr`.
    allow_missing_chunks : bool, default False
        For stores not written by dlinalg: read absent chunks as the array's
        fill value, as plain Zarr does, instead of raising.

    Returns
    -------
    DRM
        Row labels, column labels, dims and attrs written by :func:`write_zarr`
        come back. For xarray-written stores, dims come from the dimension
        names, and 1-D coordinate arrays named like a dimension (numbers or
        strings, unique) become labels.

    Raises
    ------
    StoreNotFoundError
        ``path`` or ``component`` does not exist, or names a group.
    IncompleteStoreError
        A dlinalg store without its completion marker (its writer died), or a
        foreign store with chunks missing.
    UnsafeStoreError
        Object dtype or a codec decoding to Python objects (pickle, JSON...).
    ShapeError, DTypeError
        The array is not 2-D, or not real numeric.

    See Also
    --------
    dask.array.from_zarr, write_zarr

    Notes
    -----
    A store written by dlinalg is trusted only with its completion marker,
    ``attributes["dlinalg"]["complete"] == true`` in the group's ``zarr.json``,
    which the writer writes last. A foreign store has no marker; instead every
    stored object its shape and chunking imply (chunks, or shards when the
    array is sharded; a shard is written whole, so an empty chunk inside an
    existing shard is not a loss) must be present. That costs one listing of
    the store's keys and reads no chunk. Zarr itself skips writing chunks equal to the fill
    value (``write_empty_chunks=False``), so a complete store may legitimately
    miss chunks: ``allow_missing_chunks=True`` accepts them.

    Each read task of a dlinalg store also checks that the store has not been
    overwritten since it was opened (:class:`~dlinalg.errors.StoreChangedError`).

    Examples
    --------
    >>> import numpy as np, tempfile, os, zarr
    >>> import dlinalg as dl
    >>> path = os.path.join(tempfile.mkdtemp(), "x.zarr")
    >>> z = zarr.create_array(path, shape=(6, 3), chunks=(4, 3), dtype="f8")
    >>> z[:] = np.arange(18.0).reshape(6, 3)
    >>> A = dl.read_zarr(path)
    >>> A.shape, A.chunks
    ((6, 3), (4, 2))
    >>> float(A.compute().sum())
    153.0
    """
    store, where, local = _open_store(path)
    comp = _component(component)
    where = f"{where} (component {comp!r})" if comp else where
    node = read_node(store, comp, where)
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


def _read_dlinalg(store: Store, node: Node, info: dict[str, Any], where: str) -> DRM:
    if info.get("complete") is not True:
        raise IncompleteStoreError(
            f"Zarr store {where} was written by dlinalg but has no completion marker "
            "(attributes['dlinalg']['complete']): its writer stopped before finishing "
            "(crash, kill, out of memory), so its data may be partial. Write it again "
            "with to_zarr(..., overwrite=True)."
        )
    if info.get("format_version") != _layout.FORMAT_VERSION:
        raise IncompleteStoreError(
            f"Zarr store {where} has dlinalg format_version {info.get('format_version')!r}; "
            f"this dlinalg reads version {_layout.FORMAT_VERSION}. Upgrade dlinalg."
        )
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
        arr = _layout.dense_array(store, anode, f"{where}/{apath}", name, guard)
        attrs = dict(anode.attrs)
    shape = arr.shape
    dims = tuple(info.get("dims") or _DEFAULT_DIMS)
    labels = info.get("labels") or {}
    row_labels, col_labels = (
        _layout.read_labels(store, join(node.path, labels[axis]), n, where)
        if labels.get(axis)
        else None
        for axis, n in zip(("row", "col"), shape, strict=True)
    )
    return _to_drm(arr, row_labels=row_labels, col_labels=col_labels, dims=dims, attrs=attrs)


def _read_foreign(
    store: Store, node: Node, where: str, local: Path | None, allow_missing: bool
) -> DRM:
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
    return _to_drm(arr, row_labels=row_labels, col_labels=col_labels, dims=dims, attrs=attrs)


def write_zarr(
    drm: DRM,
    path: str | os.PathLike,
    *,
    component: str | None = None,
    overwrite: bool = False,
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
        Local directory of the store. Its parent must exist.
    component : str, optional
        Write the store as a sub-group ``component`` of the Zarr group at
        ``path`` (created when missing) instead of at ``path`` itself.
    overwrite : bool, default False
        Replace an existing store. The previous store stays intact until the
        new one is complete; the two are then swapped atomically.

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

    Notes
    -----
    Zarr needs regular chunks: the chunk height is the largest row block, and
    the matrix is rechunked to it only when its row blocks are irregular (any
    block but the last smaller than the largest). Sparse matrices keep their
    row blocks exactly, one CSR triple per block (layout in ``dlinalg.io._sparse``).
    Dense chunks are written even when all zero, so a dlinalg store stays
    verifiable chunk by chunk. The guarantee covers process crashes (kill,
    out-of-memory, lost workers); surviving power loss also needs a
    filesystem that orders metadata after data (ext4 ``data=ordered``).

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
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"write_zarr writes to a local directory; path must be a str or os.PathLike, "
            f"got {type(path).__name__}"
        )
    root = Path(path).expanduser().absolute()
    comp = _component(component)
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
    arr = drm.to_dask()
    check_shape_2d(arr.shape, "matrix")
    dtype = check_dtype(arr.dtype, "matrix")
    dims = tuple(drm.dims)
    if len(dims) != 2 or not all(isinstance(d, str) and d for d in dims):
        raise TypeError(f"dims must be two non-empty strings to be stored, got {dims!r}")
    attrs = _layout.jsonable(dict(drm.attrs or {}))
    labels = {
        "row": _layout.label_values(drm.row_labels, "row"),
        "col": _layout.label_values(drm.col_labels, "column"),
    }
    if comp:  # the enclosing groups are plain metadata: create them up front
        group = zarr.open_group(root, mode="a", zarr_format=3)
        if _parent_path(comp):
            group.require_group(_parent_path(comp))
    tmp = _atomic.temp_sibling(target)
    tmp.mkdir()
    try:
        _layout.write_store(tmp, arr, dtype, dims, attrs, labels, bool(drm.is_sparse))
        _atomic.commit(tmp, target, replace=overwrite)
    except BaseException:
        _atomic._remove(tmp)
        raise
    _atomic.remove_stale_leftovers(target)


def _is_zarr_dir(path: Path) -> bool:
    if path.is_dir() and not path.is_symlink():
        names = {"zarr.json", ".zarray", ".zgroup"}
        return any((path / n).is_file() for n in names) or not any(path.iterdir())
    return False
