"""Input and output: Zarr stores (lazy, crash-safe) and xarray DataArrays."""

from dlinalg.io.xarray import from_xarray, to_xarray
from dlinalg.io.zarr import read_zarr, verify_zarr, write_zarr

__all__ = ["read_zarr", "verify_zarr", "write_zarr", "from_xarray", "to_xarray"]
