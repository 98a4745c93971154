"""The IO layer: Zarr stores (lazy, crash-safe) and xarray DataArrays.

It finds and writes arrays, labels, dims and attrs; it knows no DRM beyond
the attributes it reads from one (:func:`dlinalg.read_zarr` and
:func:`dlinalg.from_xarray`, in the matrix layer, wrap what it reads).
"""

from __future__ import annotations

from typing import Any

from dlinalg._deferred_imports import deferred_attribute

#: Public names and the module that defines them. They are imported on first
#: use (PEP 562): ``import dlinalg`` does not pay for zarr and xarray (0.2 s)
#: in a program that never touches a store, such as the command line on a
#: small log or a worker that only multiplies blocks.
_DEFERRED = {
    "StoredMatrix": "dlinalg.io.zarr",
    "open_zarr": "dlinalg.io.zarr",
    "verify_zarr": "dlinalg.io.zarr",
    "write_zarr": "dlinalg.io.zarr",
    "to_xarray": "dlinalg.io.xarray",
}

__all__ = ["StoredMatrix", "open_zarr", "verify_zarr", "write_zarr", "to_xarray"]


def __getattr__(name: str) -> Any:
    return deferred_attribute(__name__, name, _DEFERRED)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
