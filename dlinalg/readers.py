"""Distributed row matrices from stored and labelled data: Zarr stores, xarray.

The matrix layer's side of :mod:`dlinalg.io`: the IO layer finds the lazy
array and its labels, dims and attrs; these functions wrap them in a
:class:`~dlinalg.matrix.DRM`. (Writing goes the other way, through
``DRM.to_zarr`` and ``DRM.to_xarray``.)
"""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from zarr.abc.store import Store

from dlinalg._validation import check_dtype, check_labels, check_shape_2d
from dlinalg.construct import default_row_chunks
from dlinalg.io.zarr import open_zarr
from dlinalg.matrix import DRM

__all__ = ["from_xarray", "read_zarr"]


def read_zarr(
    path: str | os.PathLike | Store,
    component: str | None = None,
    *,
    allow_missing_chunks: bool = False,
    storage_options: dict[str, Any] | None = None,
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
        A directory holding a Zarr array or group, an fsspec URL
        (``"s3://bucket/a.zarr"``, ``"gs://..."``, ``"abfs://..."``,
        ``"memory://..."``), or a zarr Store.
    component : str, optional
        Path of the array inside the group at ``path``, as in
        :func:`dask.array.from_zarr`.
    allow_missing_chunks : bool, default False
        For stores not written by dlinalg: read absent chunks as the array's
        fill value, as plain Zarr does, instead of raising.
    storage_options : dict, optional
        Options of the fsspec filesystem of a URL ``path`` (credentials,
        ``client_kwargs={"endpoint_url": ...}``), as in :func:`xarray.open_zarr`.

    Returns
    -------
    DRM
        Row labels, column labels, dims and attrs written by :func:`~dlinalg.io.write_zarr`
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
    CorruptStoreError
        A chunk is missing, truncated or corrupt, or disagrees with the
        completion marker (checksum, size, shape); the message names the store
        and the chunk key. Raised at open for metadata and missing chunks, by
        the read task for a chunk's bytes.
    UnsafeStoreError
        Object dtype or a codec decoding to Python objects (pickle, JSON...).
    ShapeError, DTypeError
        The array is not 2-D, or not real numeric.

    See Also
    --------
    dask.array.from_zarr, dlinalg.io.write_zarr, verify_zarr, dlinalg.io.open_zarr

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

    The marker of a dlinalg store (format 2) also lists every chunk key with
    its CRC-32C and size: each read task verifies its chunk's bytes before
    decoding them, so nothing is read up front. Each read task also checks
    that the store has not been overwritten since it was opened
    (:class:`~dlinalg.errors.StoreChangedError`). :func:`verify_zarr` checks a
    whole store at once.

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
    m = open_zarr(
        path, component, allow_missing_chunks=allow_missing_chunks, storage_options=storage_options
    )
    return DRM._from_dask(
        m.array,
        row_labels=m.row_labels,
        col_labels=m.col_labels,
        dims=m.dims,
        attrs=m.attrs,
        source="zarr",
    )


def from_xarray(dataarray: xr.DataArray) -> DRM:
    """Wrap a 2-D DataArray as a lazy distributed row matrix.

    Parameters
    ----------
    dataarray : xarray.DataArray
        2-D, real numeric, numpy- or dask-backed. A dask-backed array keeps
        its row chunks (its columns are merged into one chunk); a
        numpy-backed one is split into row blocks of Dask's automatic size.

    Returns
    -------
    DRM
        ``dims`` are the DataArray's dims; row and column labels are the
        values of its dimension coordinates (None for a dimension without
        one); ``attrs`` is a copy of its attrs. Non-dimension coordinates and
        the name are not carried.

    Raises
    ------
    TypeError
        ``dataarray`` is not a DataArray (e.g. a Dataset).
    ShapeError
        It is not 2-D or has a zero-size dimension.
    DTypeError
        Its dtype is not real numeric.

    See Also
    --------
    dlinalg.io.to_xarray, xarray.DataArray.chunk

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import dlinalg as dl
    >>> x = xr.DataArray(np.ones((3, 2)), dims=("user", "item"),
    ...                  coords={"item": ["a", "b"]}, attrs={"units": "stars"})
    >>> A = dl.from_xarray(x)
    >>> A.dims, A.row_labels, A.col_labels, A.attrs
    (('user', 'item'), None, ('a', 'b'), {'units': 'stars'})
    """
    if not isinstance(dataarray, xr.DataArray):
        hint = (
            "; select one variable, e.g. ds['name']" if isinstance(dataarray, xr.Dataset) else ""
        )
        raise TypeError(f"expected an xarray.DataArray, got {type(dataarray).__name__}{hint}")
    check_shape_2d(dataarray.shape, "DataArray")
    dtype = check_dtype(dataarray.dtype, "DataArray")
    data = dataarray.data
    if isinstance(data, da.Array):
        arr = data if len(data.chunks[1]) == 1 else data.rechunk({1: -1})
    else:
        values = np.asarray(data)
        rows = default_row_chunks(values.shape, dtype.itemsize)
        arr = da.from_array(values, chunks=(rows, -1))
    row_labels, col_labels = (
        check_labels(dataarray.indexes[dim].tolist(), n, f"{dim!r} coordinate")
        if dim in dataarray.indexes
        else None
        for dim, n in zip(dataarray.dims, dataarray.shape, strict=True)
    )
    return DRM._from_dask(
        arr,
        row_labels=row_labels,
        col_labels=col_labels,
        dims=tuple(dataarray.dims),
        attrs=dict(dataarray.attrs),
        source="xarray",
    )
