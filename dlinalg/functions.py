"""R-like functions over DRMs: crossprod, tcrossprod, cbind, rbind, compute."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from dlinalg.errors import (
    DTypeError,
    OperandTypeError,
    ParameterError,
    ShapeError,
    check_same_nrow,
)
from dlinalg.matrix import DRM, LazyResult, _Lazy
from dlinalg.plan import nodes as N

__all__ = ["crossprod", "tcrossprod", "cbind", "rbind", "compute"]


def _as_drm(x: Any, what: str) -> DRM:
    from dlinalg.construct import from_array

    if isinstance(x, DRM):
        return x
    if isinstance(x, LazyResult):
        raise OperandTypeError(f"{what} must be a matrix, got a lazy vector of shape {x.shape}")
    return from_array(x)


def crossprod(A: Any, B: Any = None) -> DRM:
    """``A.T @ A`` (or ``A.T @ B``), R's ``crossprod``.

    The optimizer turns it into one pass over the data: per-block
    ``X_i^T X_i`` (or ``X_i^T Y_i``) summed in a tree.

    Parameters
    ----------
    A : DRM or array of shape (n, k)
    B : DRM or array of shape (n, m), optional

    Returns
    -------
    DRM
        Lazy ``k x k`` (or ``k x m``) result, in memory once computed.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> dl.crossprod(dl.from_array(X, chunks=2)).compute()
    array([[20., 26.],
           [26., 35.]])
    """
    A = _as_drm(A, "A")
    if B is None:
        return A.T @ A
    if isinstance(B, np.ndarray | list | tuple) and np.ndim(B) == 1:
        check_same_nrow(A.shape, np.shape(B), "crossprod")
        return A.T @ np.asarray(B)  # R's crossprod(A, y): the normal-equations right side
    B = _as_drm(B, "B")
    check_same_nrow(A.shape, B.shape, "crossprod")
    return A.T @ B


def tcrossprod(A: Any, B: Any = None) -> DRM:
    """``A @ A.T`` (or ``A @ B.T``), R's ``tcrossprod``; B is never transposed in memory.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> dl.tcrossprod(dl.from_array(X, chunks=2)).compute()
    array([[ 1.,  3.,  5.],
           [ 3., 13., 23.],
           [ 5., 23., 41.]])
    """
    A = _as_drm(A, "A")
    B = A if B is None else _as_drm(B, "B")
    if A.ncol != B.ncol:
        raise ShapeError(
            f"tcrossprod needs the same number of columns, got shapes {A.shape} and {B.shape}"
        )
    return A @ B.T


def _bind_parts(ms: tuple, what: str) -> list:
    if not ms:
        raise ParameterError(f"{what} needs at least one matrix")
    parts = []
    for i, m in enumerate(ms):
        if isinstance(m, bool | numbers.Number | np.generic):
            if isinstance(m, complex):
                raise DTypeError(f"{what}: argument {i} is complex")
            parts.append(m)
        else:
            parts.append(_as_drm(m, f"{what} argument {i}"))
    if not any(isinstance(p, DRM) for p in parts):
        raise ParameterError(f"{what} needs at least one matrix, got only scalars")
    return parts


def cbind(*ms: Any) -> DRM:
    """Put matrices side by side; a scalar becomes a constant column.

    ``cbind(A, 1.0)`` appends an intercept column. Row blocks of the later
    matrices are aligned with the first's.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> dl.cbind(A, 1.0).compute()
    array([[1., 2., 1.],
           [3., 4., 1.]])
    """
    parts = _bind_parts(ms, "cbind")
    mats = [p for p in parts if isinstance(p, DRM)]
    for m in mats[1:]:
        check_same_nrow(mats[0].shape, m.shape, "cbind")
    nodes = tuple(p._node if isinstance(p, DRM) else N.Scalar(p) for p in parts)
    col_labels = None
    if all(isinstance(p, DRM) and p.col_labels is not None for p in parts):
        col_labels = tuple(lab for p in parts for lab in p.col_labels)
    first = mats[0]
    return DRM(
        N.CBind(nodes),
        row_labels=first.row_labels,
        col_labels=col_labels,
        dims=first.dims,
        attrs=first.attrs,
    )


def rbind(*ms: Any) -> DRM:
    """Stack matrices vertically; the result's row blocks are the inputs' blocks.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.ones((2, 2)))
    >>> dl.rbind(A, 2 * A).compute()
    array([[1., 1.],
           [1., 1.],
           [2., 2.],
           [2., 2.]])
    """
    parts = _bind_parts(ms, "rbind")
    if not all(isinstance(p, DRM) for p in parts):
        raise OperandTypeError(
            "rbind takes matrices only; for a constant row use dl.ones((1, k)) * c"
        )
    for m in parts[1:]:
        if m.ncol != parts[0].ncol:
            raise ShapeError(
                f"rbind needs the same number of columns, got shapes {parts[0].shape} and {m.shape}"
            )
    row_labels = None
    if all(p.row_labels is not None for p in parts):
        row_labels = tuple(lab for p in parts for lab in p.row_labels)
    return DRM(
        N.RBind(tuple(p._node for p in parts)),
        row_labels=row_labels,
        col_labels=parts[0].col_labels,
        dims=parts[0].dims,
        attrs=parts[0].attrs,
    )


def compute(*exprs: Any, progress: bool | None = None, **kwargs: Any) -> tuple:
    """Compute several expressions together, sharing passes over the data.

    Column statistics and Gram matrices of the same matrix are fused into a
    single pass (``dlinalg.compute(A.col_means(), A.T @ A)`` reads A once).

    Parameters
    ----------
    *exprs : DRM or LazyResult
    progress : bool, optional
        Show a progress bar (default: Dask config ``dlinalg.progress``).
    **kwargs
        Passed to :func:`dask.compute`.

    Returns
    -------
    tuple
        One value per expression: numpy arrays, ``scipy.sparse.csr_array`` or scalars.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
    >>> means, gram = dl.compute(A.col_means(), A.T @ A)
    >>> means
    array([2., 3.])
    """
    from dlinalg.cluster import compute_collections
    from dlinalg.plan.lower import Lowering
    from dlinalg.plan.rewrite import fuse_statistics, optimize

    for i, e in enumerate(exprs):
        if not isinstance(e, _Lazy):
            raise OperandTypeError(
                f"compute takes DRM or LazyResult expressions; argument {i} is {e!r}"
            )
    nodes = fuse_statistics([optimize(e._node) for e in exprs])
    low = Lowering()
    collections = [low.value(n) for n in nodes]
    values = compute_collections(*collections, progress=progress, **kwargs)
    return tuple(_finish(e, v) for e, v in zip(exprs, values, strict=True))


def _finish(expr: Any, value: Any) -> Any:
    if sp.issparse(value):
        value = sp.csr_array(value)
    post = getattr(expr, "_post", ())
    if post:
        value = value.toarray() if sp.issparse(value) else value
        value = np.squeeze(value, axis=post)
        return value[()] if value.ndim == 0 else value
    return value
