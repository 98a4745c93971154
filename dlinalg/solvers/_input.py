"""Validation shared by the iterative solvers: every check runs before a graph exists."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import dask.array as da
import numpy as np

from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError

__all__ = [
    "check_rhs",
    "check_x0",
    "check_tolerance",
    "check_maxiter",
    "check_callback",
    "LeastSquaresInput",
    "check_least_squares",
]


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_tolerance(value: Any, name: str, allow_inf: bool = False) -> float:
    """A finite, non-negative real (a tolerance, ``damp``, a condition limit).

    ``allow_inf``: ``inf`` is accepted too (SciPy's ``cg`` takes it: stop at once).
    """
    value = _real(value, name)
    if allow_inf and value == np.inf:
        return value
    if not np.isfinite(value) or value < 0:
        bound = " or inf" if allow_inf else ""
        raise ParameterError(f"{name} must be a finite number >= 0{bound}, got {name}={value!r}")
    return value


def check_maxiter(maxiter: Any, default: int) -> int:
    """``None`` (the solver's default) or an integer >= 1."""
    if maxiter is None:
        return int(default)
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
        raise ParameterError(f"maxiter must be an integer >= 1 or None, got {maxiter!r}")
    if maxiter < 1:
        raise ParameterError(f"maxiter must be >= 1, got maxiter={maxiter}")
    return int(maxiter)


def check_callback(callback: Any) -> Any:
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be callable or None, got {type(callback).__name__}")
    return callback


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


class LeastSquaresInput(NamedTuple):
    """The checked arguments of lsqr, lsmr and cgls."""

    m: int
    n: int
    b: Any
    x0: np.ndarray | None
    damp: float
    atol: float
    btol: float
    conlim: float
    maxiter: int
    callback: Any


def check_least_squares(
    A: Any,
    b: Any,
    *,
    x0: Any,
    damp: Any,
    atol: Any,
    btol: Any,
    conlim: Any,
    maxiter: Any,
    default_maxiter: Callable[[int, int], int],
    callback: Any,
    checkpoint: Any,
) -> LeastSquaresInput:
    """Check every argument of a least-squares solver, in SciPy's order, before any graph."""
    from dlinalg.solvers._driver import check_checkpoint
    from dlinalg.solvers._operator import operator_shape

    m, n = operator_shape(A)
    b = check_rhs(b, m, squeeze=True)
    x0 = check_x0(x0, n)
    damp = check_tolerance(damp, "damp")
    atol, btol = check_tolerance(atol, "atol"), check_tolerance(btol, "btol")
    conlim = check_tolerance(conlim, "conlim")
    maxiter = check_maxiter(maxiter, default_maxiter(m, n))
    callback = check_callback(callback)
    check_checkpoint(checkpoint)
    return LeastSquaresInput(m, n, b, x0, damp, atol, btol, conlim, maxiter, callback)
