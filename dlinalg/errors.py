"""Every exception dlinalg raises.

All errors subclass a builtin (``ValueError``, ``TypeError``,
``FileNotFoundError``) so callers can catch either the dlinalg class or the
builtin one. Messages name the offending value, shape or path and, where one
exists, the remedy.

The checks that raise them at the public boundary, before any Dask graph is
built, are in :mod:`dlinalg._validation`; the rest of the package trusts its
inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DLinalgError",
    "ShapeError",
    "ChunkError",
    "DTypeError",
    "LabelError",
    "ParameterError",
    "OperandTypeError",
    "OutOfBoundsError",
    "StoreNotFoundError",
    "IncompleteStoreError",
    "UnsafeStoreError",
    "RankDeficientError",
    "NonFiniteError",
]


class DLinalgError(Exception):
    """Base class of every dlinalg error."""


class ShapeError(DLinalgError, ValueError):
    """An array has the wrong number of dimensions or incompatible shape."""


class ChunkError(DLinalgError, ValueError):
    """Chunk sizes are negative, non-integer, unknown or do not add up."""


class DTypeError(DLinalgError, TypeError):
    """A dtype is not numeric (object, string, datetime...) or a type is wrong."""


class LabelError(DLinalgError, ValueError):
    """Row or column labels do not match the matrix, or a label is unknown."""


class ParameterError(DLinalgError, ValueError):
    """A parameter value is out of range (``ddof=-1``, ``density=2``, ``seed=-3``...)."""


class OperandTypeError(DLinalgError, TypeError):
    """An argument has the wrong type (not a matrix, not callable, not an index...)."""


class OutOfBoundsError(DLinalgError, IndexError):
    """A row or column position is outside the matrix."""


class StoreNotFoundError(DLinalgError, FileNotFoundError):
    """A Zarr store or a component inside it does not exist."""


class IncompleteStoreError(DLinalgError, ValueError):
    """A Zarr store has no completion marker: a writer died or it is foreign."""


class UnsafeStoreError(DLinalgError, TypeError):
    """A Zarr store holds object dtype or a pickle codec; dlinalg never unpickles."""


class RankDeficientError(DLinalgError, np.linalg.LinAlgError):
    """A factorization needs full column rank and the matrix has less (numerically).

    A ``numpy.linalg.LinAlgError``, hence also a ``ValueError``.
    """


class NonFiniteError(DLinalgError, ValueError):
    """The data holds NaN or infinity where a finite value is required."""


class ClusterError(DLinalgError, ValueError):
    """A cluster argument or scheduler address is invalid or missing."""


__all__ += ["ClusterError"]


class StoreChangedError(DLinalgError, ValueError):
    """A Zarr store was overwritten or removed while a lazy matrix still read from it."""


__all__ += ["StoreChangedError"]


class CorruptStoreError(IncompleteStoreError):
    """A chunk of a Zarr store is missing, truncated or corrupt, or disagrees with its marker.

    ``path`` is the store and ``key`` the offending chunk (or metadata) key.
    """

    def __init__(self, message: str, path: str | None = None, key: str | None = None):
        super().__init__(message)
        self.path, self.key = path, key


__all__ += ["CorruptStoreError"]
