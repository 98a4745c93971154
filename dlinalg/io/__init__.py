"""The IO layer: Zarr stores (lazy, crash-safe) and xarray DataArrays.

It finds and writes arrays, labels, dims and attrs; it knows no DRM beyond
the attributes it reads from one (:func:`dlinalg.read_zarr` and
:func:`dlinalg.from_xarray`, in the matrix layer, wrap what it reads).
"""

from dlinalg.io.xarray import to_xarray
from dlinalg.io.zarr import StoredMatrix, open_zarr, verify_zarr, write_zarr

__all__ = ["StoredMatrix", "open_zarr", "verify_zarr", "write_zarr", "to_xarray"]
