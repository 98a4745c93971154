"""Convert between :class:`xarray.DataArray` and distributed row matrices.

Dims map to the matrix's two dimension names, dimension coordinates to row
and column labels, and attrs to attrs, both ways, so
``to_xarray(from_xarray(x))`` is identical to ``x`` for an unnamed 2-D
DataArray whose only coordinates are its dimension coordinates.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from dlinalg.errors import DTypeError, LabelError

if TYPE_CHECKING:
    from dlinalg.matrix import DRM

__all__ = ["to_xarray"]


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
