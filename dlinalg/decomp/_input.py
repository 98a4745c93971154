"""Validation shared by the decompositions: every check runs before a graph exists."""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp

from dlinalg.errors import (
    NonFiniteError,
    OperandTypeError,
    ParameterError,
    ShapeError,
    check_flag,
)

__all__ = [
    "shape_of",
    "as_matrix",
    "check_k",
    "check_count",
    "check_method",
    "check_tall",
    "out_dtype",
    "raise_if_nonfinite",
    "make_rng",
]


def shape_of(A: Any, what: str = "A") -> tuple[int, int]:
    """The shape of a matrix argument, without converting it (no graph, no hashing)."""
    from dlinalg.errors import check_dtype, check_shape_2d
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


def raise_if_nonfinite(
    diag: np.ndarray, what: str = "A", labels: Any = None, count: bool = True
) -> None:
    """Raise if a first-pass Gram diagonal (or column sums) shows a NaN/inf column.

    ``count=False`` when only the first non-finite entry names a column (the
    diagonal of a Householder R: NaN spreads to every later column).
    """
    bad = np.flatnonzero(~np.isfinite(diag))
    if bad.size:
        col = int(bad[0]) if labels is None else labels[bad[0]]
        many = f", {bad.size} column(s) affected" if count else ""
        raise NonFiniteError(
            f"{what} contains NaN or infinity (first in column {col!r}{many}); "
            "clean the data or pass check_finite=False"
        )


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_k(k: Any, shape: tuple[int, int], upper: int | None = None) -> int:
    """``1 <= k <= min(shape)`` (or ``upper``), naming k and the shape otherwise."""
    k = _check_int(k, "k")
    limit = min(shape) if upper is None else upper
    if not 1 <= k <= limit:
        raise ParameterError(
            f"k must satisfy 1 <= k <= {limit} for a matrix of shape {shape}, got k={k}"
        )
    return k


def check_count(value: Any, name: str) -> int:
    """A non-negative integer parameter (oversampling p, power iterations q)."""
    value = _check_int(value, name)
    if value < 0:
        raise ParameterError(f"{name} must be a non-negative integer, got {name}={value}")
    return value


def check_method(method: Any, allowed: tuple[str, ...], name: str = "method") -> str:
    if method not in allowed:
        raise ParameterError(
            f"{name} must be one of {', '.join(map(repr, allowed))}; got {method!r}"
        )
    return method


def check_tall(shape: tuple[int, int], func: str) -> None:
    """Tall-skinny factorizations need ``m >= n``; wide matrices go to ssvd."""
    if shape[0] < shape[1]:
        raise ShapeError(
            f"{func} needs a tall matrix (nrow >= ncol), got shape {shape}; "
            "for a wide matrix use dlinalg.ssvd (randomized SVD) or factor A.T"
        )


def out_dtype(dtype: np.dtype) -> np.dtype:
    """float32 stays float32 (like numpy.linalg); everything else gives float64."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def make_rng(seed: Any) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, refusing what it would misread."""
    if isinstance(seed, np.random.RandomState):
        seed = seed.randint(np.iinfo(np.int32).max)
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"seed must be None, an int or a numpy Generator, got {seed!r}"
        ) from exc
