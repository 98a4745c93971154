"""Turning user operands (scalars, numpy, scipy.sparse, Dask, DRM) into plan nodes.

This is the public boundary of every operator: operands are checked here,
before any graph exists, and a clear error names what is wrong.
"""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp

from dlinalg.errors import (
    ChunkError,
    DTypeError,
    LabelError,
    OperandTypeError,
    OutOfBoundsError,
    ParameterError,
    ShapeError,
    check_dtype,
)
from dlinalg.plan.nodes import DaskValue, InCore, Node, Scalar

__all__ = ["as_node", "resolve_index"]


def as_node(x: Any, what: str = "operand") -> Node:
    """Wrap ``x`` as a plan node: DRM/LazyResult nodes, Scalar, InCore or a Leaf."""
    from dlinalg.construct import from_array
    from dlinalg.matrix import DRM, LazyResult

    if isinstance(x, DRM | LazyResult):
        return x._node
    if isinstance(x, bool | numbers.Number | np.generic):
        if isinstance(x, complex | np.complexfloating):
            raise DTypeError(f"{what} {x!r} is complex; dlinalg works with real numbers")
        return Scalar(x)
    if isinstance(x, da.Array):
        if x.ndim == 2:
            return from_array(x)._node
        check_dtype(x.dtype, what)
        if any(np.isnan(c) for c in x.shape):
            raise ChunkError(
                f"{what} has unknown chunk sizes {x.chunks}; call .compute_chunk_sizes() first"
            )
        if x.ndim > 2:
            raise ShapeError(f"{what} must be at most 2-D, got shape {x.shape}")
        return DaskValue(x)
    if sp.issparse(x):
        check_dtype(x.dtype, what)
        return InCore(sp.csr_array(x))
    if isinstance(x, np.ndarray | list | tuple):
        arr = np.asarray(x)
        check_dtype(arr.dtype, what)
        if arr.ndim == 0:
            return Scalar(arr.item())
        if arr.ndim > 2:
            raise ShapeError(f"{what} must be at most 2-D, got shape {arr.shape}")
        return InCore(arr)
    raise OperandTypeError(
        f"unsupported {what} of type {type(x).__name__}; expected a DRM, a scalar, "
        "a numpy array, a scipy.sparse matrix or a dask array"
    )


def resolve_index(index: Any, n: int, labels: tuple | None, axis: str) -> tuple[Any, bool]:
    """Resolve one axis of ``A[rows, cols]`` to a slice or a tuple of positions.

    Returns ``(selector, dropped)`` where ``dropped`` is True for a single
    integer or label, which removes the axis as numpy does.
    """
    if isinstance(index, slice):
        for part in (index.start, index.stop, index.step):
            if part is not None and not isinstance(part, numbers.Integral):
                raise OperandTypeError(f"{axis} slice bounds must be integers, got {index!r}")
        if index.step is not None and index.step <= 0:
            raise ParameterError(f"{axis} slice step must be positive, got {index.step}")
        return index, False
    if isinstance(index, float | np.floating):
        raise OutOfBoundsError(
            f"{axis} index must be an integer, a slice, a list of positions or labels, "
            f"got the float {index!r}"
        )
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        return (_position(int(index), n, axis),), True
    if labels is not None and _is_label(index, labels):
        return (_label_position(index, labels, axis),), True
    if isinstance(index, str):
        raise LabelError(f"{axis} label {index!r} not found" + _no_labels(labels))
    values = np.asarray(index)
    if values.size == 0:
        return (), False
    if values.ndim != 1:
        raise ShapeError(f"{axis} index must be 1-D, got shape {values.shape}")
    if values.dtype == bool:
        if values.shape[0] != n:
            raise ShapeError(f"boolean {axis} mask has length {values.shape[0]}, expected {n}")
        return tuple(int(i) for i in np.flatnonzero(values)), False
    if values.dtype.kind in "iu":
        return tuple(_position(int(i), n, axis) for i in values), False
    if labels is None:
        raise LabelError(f"cannot select {axis}s by label: the matrix has no {axis} labels")
    return tuple(_label_position(v, labels, axis) for v in values.tolist()), False


def _position(i: int, n: int, axis: str) -> int:
    if not -n <= i < n:
        raise OutOfBoundsError(f"{axis} index {i} is out of bounds for {n} {axis}s")
    return i % n


def _is_label(index: Any, labels: tuple) -> bool:
    try:
        return index in labels
    except TypeError:
        return False


def _label_position(value: Any, labels: tuple, axis: str) -> int:
    try:
        return labels.index(value)
    except ValueError:
        raise LabelError(f"{axis} label {value!r} not found") from None


def _no_labels(labels: tuple | None) -> str:
    return "" if labels is not None else " (the matrix has no labels)"
