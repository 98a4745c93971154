"""Turning user operands (scalars, numpy, scipy.sparse, Dask, DRM) into plan nodes,
matrices and vectors.

This is the public boundary of every operator, decomposition and solver:
operands are checked here, before any graph exists, and a clear error names
what is wrong. The checks of parameters and shapes are in
:mod:`dlinalg._validation`; the conversions here need the DRM class.
"""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp

from dlinalg._validation import check_dtype, check_flag, check_shape_2d
from dlinalg.errors import (
    ChunkError,
    DTypeError,
    LabelError,
    NonFiniteError,
    OperandTypeError,
    OutOfBoundsError,
    ParameterError,
    ShapeError,
)
from dlinalg.plan.nodes import DaskValue, InCore, Node, Scalar

__all__ = ["as_node", "resolve_index", "shape_of", "as_matrix", "check_rhs", "check_x0"]


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


def shape_of(A: Any, what: str = "A") -> tuple[int, int]:
    """The shape of a matrix argument, without converting it (no graph, no hashing)."""
    from dlinalg.matrix import DRM

    if isinstance(A, DRM):
        if A._node.local:
            raise OperandTypeError(f"{what} must be a distributed matrix, got an in-memory result")
        return A.shape
    if isinstance(A, np.ndarray | da.Array) or sp.issparse(A):
        check_shape_2d(A.shape, what)
        check_dtype(A.dtype, what)
        return tuple(int(s) for s in A.shape)
    raise OperandTypeError(
        f"{what} must be a DRM, numpy array, scipy.sparse matrix or dask array, "
        f"got {type(A).__name__}"
    )


def as_matrix(A: Any, check_finite: bool, what: str = "A") -> Any:
    """``A`` as a DRM; in-memory input is checked for NaN/inf here when asked.

    Call after the parameter checks (:func:`shape_of` gives the shape first):
    converting numpy input hashes it, which is the start of a graph.
    """
    from dlinalg.construct import from_array
    from dlinalg.matrix import DRM

    shape_of(A, what)
    check_finite = check_flag(check_finite, "check_finite")
    if isinstance(A, DRM):
        return A
    if check_finite and isinstance(A, np.ndarray) and A.dtype.kind == "f":
        _check_finite_array(A, what)
    if check_finite and sp.issparse(A) and A.dtype.kind == "f":
        _check_finite_array(sp.csr_array(A).data, what)
    return from_array(A)


def _check_finite_array(x: np.ndarray, what: str) -> None:
    if not np.isfinite(x).all():
        raise NonFiniteError(
            f"{what} contains NaN or infinity; clean the data or pass check_finite=False"
        )


def _dense_block(x: Any) -> np.ndarray:
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def _vector(value: Any, name: str, squeeze: bool = False) -> Any:
    """``value`` as a 1-D numpy or dask array (a 1-column matrix is accepted).

    ``squeeze``: SciPy's ``lsqr``/``lsmr`` rule (``np.atleast_1d(b).squeeze()``):
    a 0-d ``b`` is a vector of one entry and any shape with at most one axis
    longer than 1 (``(1, m)``, ``(m, 1, 1)``) is that axis.
    """
    from dlinalg.matrix import DRM

    if isinstance(value, DRM):
        sparse = value.is_sparse
        value = value.to_dask()
        if sparse:  # a vector is dense on the solver's side
            value = value.map_blocks(_dense_block, dtype=value.dtype, meta=np.empty((0, 0)))
    if isinstance(value, da.Array):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise OperandTypeError(f"{name} must be a vector, got {type(value).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise OperandTypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype}; convert with .astype(float)"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if squeeze and arr.ndim != 1 and sum(int(s) > 1 for s in arr.shape) <= 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ShapeError(
            f"{name} must be a vector or a 1-column matrix, got shape {tuple(arr.shape)}"
        )
    return arr


def check_rhs(b: Any, nrow: int, name: str = "b", squeeze: bool = False) -> Any:
    """The right-hand side as float64: numpy (checked finite) or a lazy dask vector.

    A lazy ``b`` is checked for NaN/inf by the solver's first pass (its norm).
    ``squeeze``: accept what SciPy's least-squares solvers squeeze (see
    :func:`_vector`), e.g. a scalar ``b`` when A has one row.
    """
    arr = _vector(b, name, squeeze)
    if arr.shape[0] != nrow:
        raise ShapeError(
            f"{name} has {arr.shape[0]} entries but A has {nrow} rows; they must be equal"
        )
    if isinstance(arr, da.Array):
        return arr.astype(np.float64)
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise NonFiniteError(f"{name} contains NaN or infinity; clean it before solving")
    return arr


def check_x0(x0: Any, ncol: int) -> np.ndarray | None:
    """The starting point: None or a finite float64 vector of A's column count."""
    if x0 is None:
        return None
    arr = _vector(x0, "x0")
    arr = np.asarray(arr.compute() if isinstance(arr, da.Array) else arr, dtype=np.float64)
    if arr.shape[0] != ncol:
        raise ShapeError(
            f"x0 has {arr.shape[0]} entries but A has {ncol} columns; they must be equal"
        )
    if not np.isfinite(arr).all():
        raise NonFiniteError("x0 contains NaN or infinity")
    return arr
