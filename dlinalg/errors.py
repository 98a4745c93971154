"""Every exception dlinalg raises, and the checks that raise them.

All errors subclass a builtin (``ValueError``, ``TypeError``,
``FileNotFoundError``) so callers can catch either the dlinalg class or the
builtin one. Messages name the offending value, shape or path and, where one
exists, the remedy.

The ``check_*`` helpers run at the public boundary, before any Dask graph is
built; the rest of the package trusts its inputs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

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
    "check_shape_2d",
    "check_dtype",
    "check_row_chunks",
    "check_labels",
    "check_same_shape",
    "check_same_nrow",
    "check_matmul_shapes",
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


def check_shape_2d(shape: tuple[int, ...], what: str = "input") -> None:
    """Raise :class:`ShapeError` unless ``shape`` is 2-D with no zero-size axis."""
    if len(shape) != 2:
        raise ShapeError(
            f"{what} must be 2-D, got {len(shape)}-D with shape {tuple(shape)}; "
            "reshape a vector with x.reshape(-1, 1)"
        )
    if any(s is None or (isinstance(s, float) and np.isnan(s)) for s in shape):
        raise ChunkError(
            f"{what} has unknown shape {tuple(shape)}; call .compute_chunk_sizes() "
            "on the dask array first"
        )
    if 0 in shape:
        raise ShapeError(f"{what} has a zero-size axis: shape {tuple(shape)}")


def check_dtype(dtype: Any, what: str = "input") -> np.dtype:
    """Return ``dtype`` as a numpy dtype, refusing anything but bool/int/float.

    Complex numbers are refused too: every kernel assumes real arithmetic.
    """
    dt = np.dtype(dtype)
    if dt.kind not in "biuf":
        raise DTypeError(
            f"{what} has dtype {dt!s}; dlinalg needs a real numeric dtype "
            "(bool, integer or floating point). Convert with .astype('float64')"
        )
    return dt


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool, refusing anything else (``"no"`` is truthy, so it must not pass).

    Examples
    --------
    >>> from dlinalg.errors import check_flag
    >>> check_flag(True, "center")
    True
    >>> check_flag("no", "center")
    Traceback (most recent call last):
    ...
    dlinalg.errors.DTypeError: center must be True or False, got 'no'
    """
    if not isinstance(value, bool | np.bool_):
        raise DTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_row_chunks(chunks: Any, nrow: int) -> tuple[int, ...]:
    """Normalise a row-chunk spec to a tuple of block sizes summing to ``nrow``.

    ``chunks`` may be a positive int (rows per block) or a sequence of
    positive ints.
    """
    if isinstance(chunks, str | bytes):
        raise ChunkError(
            f"chunks must be an int (rows per block) or a tuple of row-block sizes, got "
            f"chunks={chunks!r}"
        )
    if isinstance(chunks, bool) or not (isinstance(chunks, (numbers.Integral, Sequence))):
        raise ChunkError(
            f"chunks must be an int (rows per block) or a tuple of row-block sizes, "
            f"got {chunks!r} of type {type(chunks).__name__}"
        )
    if isinstance(chunks, numbers.Integral):
        if chunks <= 0:
            raise ChunkError(f"chunks must be a positive number of rows, got {chunks}")
        full, rest = divmod(nrow, int(chunks))
        return (int(chunks),) * full + ((rest,) if rest else ())
    sizes = tuple(chunks)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise ChunkError(f"row-block sizes must be integers, got {size!r} in {chunks!r}")
        if size <= 0:
            raise ChunkError(f"row-block sizes must be positive, got {size} in {chunks!r}")
    if sum(sizes) != nrow:
        raise ChunkError(f"row-block sizes {sizes} add up to {sum(sizes)}, not to nrow={nrow}")
    return tuple(int(s) for s in sizes)


def check_labels(labels: Any, length: int, axis: str) -> tuple | None:
    """Return labels as a tuple, checking their count and uniqueness."""
    if labels is None:
        return None
    if isinstance(labels, str) or np.ndim(labels) != 1:
        raise LabelError(f"{axis} labels must be a 1-D sequence, got {labels!r}")
    out = _plain_labels(labels)
    if len(out) != length:
        raise LabelError(f"got {len(out)} {axis} labels for {length} {axis}s")
    nan = [i for i, x in enumerate(out) if isinstance(x, float) and math.isnan(x)]
    if nan:
        raise LabelError(
            f"{axis} labels must not be NaN (NaN never equals itself, so a NaN label can "
            f"never be looked up): NaN at positions {nan[:5]}"
        )
    kinds = {_label_kind(x): x for x in out}
    if "str" in kinds and "number" in kinds:
        raise LabelError(
            f"{axis} labels mix strings and numbers ({kinds['str']!r} and {kinds['number']!r}): "
            "1 and '1' would be two different labels that print alike; convert them to one "
            "type first, e.g. [str(x) for x in labels]"
        )
    if len(set(out)) != len(out):
        seen: set = set()
        duplicate = next(x for x in out if x in seen or seen.add(x))
        raise LabelError(f"{axis} labels must be unique, {duplicate!r} appears more than once")
    return out


def _plain_labels(labels: Any) -> tuple:
    """Labels as a tuple of Python scalars, without numpy's coercion of mixed types to str."""
    if hasattr(labels, "tolist"):  # numpy arrays and pandas indexes hold one dtype
        return tuple(labels.tolist())
    return tuple(x.item() if isinstance(x, np.generic) else x for x in labels)


def _label_kind(x: Any) -> str:
    if isinstance(x, str | bytes):
        return "str"
    if isinstance(x, numbers.Number):
        return "number"
    return type(x).__name__


def check_same_labels(a: tuple | None, b: tuple | None, pairs: str, op: str) -> None:
    """Raise :class:`LabelError` when two labelled axes that ``op`` pairs by position differ.

    dlinalg pairs rows (or columns) by position. Mahout joins them by key, so
    two operands whose labels differ would silently pair different keys:
    refused, with the way to align them. An axis without labels is positional.

    ``pairs`` says what meets what, e.g. ``"rows"`` or ``"the left operand's
    columns with the right operand's rows"``.
    """
    if a is None or b is None or tuple(a) == tuple(b):
        return
    n = min(len(a), len(b))
    at = next((i for i in range(n) if a[i] != b[i]), n)
    first = f"position {at}: {a[at]!r} vs {b[at]!r}" if at < n else "their count"
    remedy = (
        "select the right operand in the left one's label order (e.g. B[list(A.row_labels), :])"
        if set(a) == set(b)
        else "relabel one operand (an operand without labels pairs by position)"
    )
    raise LabelError(
        f"{op} pairs {pairs} by position, but their labels differ (first difference at "
        f"{first}); never pairing different keys silently: {remedy} so that equal labels meet"
    )


def check_same_shape(a: tuple[int, int], b: tuple[int, int], op: str) -> None:
    """Raise :class:`ShapeError` unless two matrices have equal shapes."""
    if tuple(a) != tuple(b):
        raise ShapeError(f"{op} needs matrices of equal shape, got {tuple(a)} and {tuple(b)}")


def check_same_nrow(a: tuple[int, ...], b: tuple[int, ...], op: str) -> None:
    """Raise :class:`ShapeError` unless two operands have the same number of rows."""
    if a[0] != b[0]:
        raise ShapeError(
            f"{op} needs operands with the same number of rows, got shapes "
            f"{tuple(a)} and {tuple(b)}"
        )


def check_matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Raise :class:`ShapeError` unless ``a @ b`` is defined."""
    inner_b = b[0]
    if a[-1] != inner_b:
        raise ShapeError(
            f"matmul: shapes {tuple(a)} and {tuple(b)} are not aligned "
            f"({a[-1]} (dim {len(a) - 1}) != {inner_b} (dim 0))"
        )


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
