"""The checks of dlinalg's public boundary: every one runs before a graph exists.

Pure functions of shapes, dtypes and parameters that raise the errors of
:mod:`dlinalg.errors` naming the offending value and a remedy. They know no
matrix (the conversions of arguments into matrices and vectors, which need the
DRM class, are in :mod:`dlinalg._operands`), so every layer can use them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlinalg.errors import (
    ChunkError,
    DTypeError,
    LabelError,
    NonFiniteError,
    ParameterError,
    ShapeError,
)


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
    >>> from dlinalg._validation import check_flag
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
