"""Convert between :class:`xarray.DataArray` and distributed row matrices.

Dims map to the matrix's two dimension names, dimension coordinates to row
and column labels, and attrs to attrs, both ways, so
``to_xarray(from_xarray(x))`` is identical to ``x`` for an unnamed 2-D
DataArray whose only coordinates are its dimension coordinates.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import xarray as xr

from dlinalg.construct import default_row_chunks
from dlinalg.errors import DTypeError, LabelError, check_dtype, check_labels, check_shape_2d

if TYPE_CHECKING:
    from dlinalg.matrix import DRM

__all__ = ["from_xarray", "to_xarray"]


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
    to_xarray, xarray.DataArray.chunk

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
    from dlinalg.matrix import DRM

    return DRM._from_dask(
        arr,
        row_labels=row_labels,
        col_labels=col_labels,
        dims=tuple(dataarray.dims),
        attrs=dict(dataarray.attrs),
        source="xarray",
    )


def _todense(block: Any) -> np.ndarray:
    return block.toarray() if hasattr(block, "toarray") else np.asarray(block)


def to_xarray(drm: DRM, *, name: Hashable | None = None, dense: bool = False) -> xr.DataArray:
    """Return the matrix as a lazy, dask-backed DataArray.

    Parameters
    ----------
    drm : DRM
        The matrix.
    name : hashable, optional
        Name of the DataArray.
    dense : bool, default False
        Allow a sparse matrix by converting each CSR block to a dense block
        (memory per task: one dense block). Without it, a sparse matrix is
        refused, so densifying is never an accident.

    Returns
    -------
    xarray.DataArray
        Dims are ``drm.dims``; each labelled axis gets a dimension coordinate
        from its labels; attrs are a copy of ``drm.attrs``. Nothing is computed.

    Raises
    ------
    DTypeError
        The matrix is sparse and ``dense`` is False (a ``TypeError``).
    LabelError
        The two dims are equal (xarray needs distinct dimension names).

    See Also
    --------
    from_xarray, xarray.DataArray

    Examples
    --------
    >>> import numpy as np
    >>> import dlinalg as dl
    >>> A = dl.from_array(np.eye(3), chunks=2, col_labels=["x", "y", "z"])
    >>> x = dl.io.to_xarray(A)
    >>> x.dims, list(x.coords), x.chunks
    (('row', 'col'), ['col'], ((2, 1), (3,)))
    """
    dims = tuple(drm.dims)
    if len(set(dims)) != 2:
        raise LabelError(f"to_xarray needs two distinct dimension names, got {dims!r}; rename one")
    arr = drm.to_dask()
    if drm.is_sparse:
        if not dense:
            raise DTypeError(
                "to_xarray needs dense data but this matrix has sparse (CSR) blocks; pass "
                "dense=True to densify block by block, or convert explicitly first"
            )
        arr = arr.map_blocks(_todense, dtype=arr.dtype, meta=np.empty((0, 0), arr.dtype))
    coords = {
        dim: np.asarray(labels)
        for dim, labels in zip(dims, (drm.row_labels, drm.col_labels), strict=True)
        if labels is not None
    }
    out = xr.DataArray(arr, dims=dims, coords=coords, attrs=dict(drm.attrs or {}))
    out.name = name  # not via the constructor, which would take the dask array's name
    return out
