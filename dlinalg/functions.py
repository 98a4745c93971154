"""R-like functions over DRMs: crossprod, tcrossprod, cbind, rbind, compute."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from dlinalg import _trace
from dlinalg._validation import check_same_labels, check_same_nrow
from dlinalg.cluster import compute_collections
from dlinalg.construct import from_array
from dlinalg.errors import DTypeError, OperandTypeError, ParameterError, ShapeError
from dlinalg.lazy import _Lazy, finish_value
from dlinalg.matrix import DRM, LazyResult
from dlinalg.plan import nodes as N
from dlinalg.plan.lower import lower_plan

__all__ = ["crossprod", "tcrossprod", "cbind", "rbind", "compute"]


def _as_drm(x: Any, what: str) -> DRM:

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
        An array is wrapped with :func:`dlinalg.from_array`.
    B : DRM or array of shape (n, m), or 1-D array of shape (n,), optional
        The right factor. A 1-D array ``y`` gives the vector ``A.T @ y``
        (the right side of the normal equations).

    Returns
    -------
    DRM or LazyResult
        Lazy ``k x k`` (or ``k x m``) matrix, in memory once computed; a
        lazy vector of shape ``(k,)`` when ``B`` is 1-D.

    Raises
    ------
    ShapeError
        If ``A`` and ``B`` have different numbers of rows, or an array
        operand is not 2-D (1-D for ``B``).
    OperandTypeError
        If ``A`` or ``B`` is a lazy vector (a :class:`LazyResult`) or not an
        array at all.
    DTypeError
        If an array operand is not real numeric.

    See Also
    --------
    tcrossprod, numpy.dot, DRM.T

    Notes
    -----
    One pass over the data; memory per task is one row block plus one
    ``k x k`` (``k x m``) partial sum. When a ``k x k`` Gram matrix exceeds
    the ``dlinalg.gram-panel-bytes`` budget it is built in column panels,
    so no task holds more than the budget.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> A = dl.from_array(X, chunks=2)
    >>> dl.crossprod(A).compute()
    array([[20., 26.],
           [26., 35.]])
    >>> y = np.array([1.0, 0.0, -1.0])
    >>> dl.crossprod(A, y).compute()  # X.T @ y
    array([-4., -4.])
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

    Parameters
    ----------
    A : DRM or array of shape (n, k)
        An array is wrapped with :func:`dlinalg.from_array`.
    B : DRM or array of shape (m, k), optional
        Default: ``A``.

    Returns
    -------
    DRM
        Lazy ``n x m`` matrix (``n x n`` without ``B``) with the row blocks
        of ``A``.

    Raises
    ------
    ShapeError
        If ``A`` and ``B`` have different numbers of columns, or an array
        operand is not 2-D.
    OperandTypeError
        If ``A`` or ``B`` is a lazy vector (a :class:`LazyResult`) or not an
        array at all.
    DTypeError
        If an array operand is not real numeric.

    See Also
    --------
    crossprod, numpy.inner

    Notes
    -----
    One pass over the row blocks of ``A``; ``B`` is gathered into a single
    ``m x k`` block that every task receives, so it must fit in one
    worker's memory. Each output block is ``rows x m``: ``tcrossprod(A)`` of
    a tall matrix is ``n x n``, usually far larger than ``A``.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> A = dl.from_array(X, chunks=2)
    >>> dl.tcrossprod(A).compute()
    array([[ 1.,  3.,  5.],
           [ 3., 13., 23.],
           [ 5., 23., 41.]])
    >>> Y = np.ones((4, 2))
    >>> np.allclose(dl.tcrossprod(A, Y).compute(), X @ Y.T)
    True
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

    Parameters
    ----------
    *ms : DRM, array of shape (n, k_i) or real scalar
        At least one matrix; all matrices have the same number of rows ``n``.
        Arrays are wrapped with :func:`dlinalg.from_array`.

    Returns
    -------
    DRM
        Lazy ``n x sum(k_i)`` matrix (a scalar counts as one column) with
        the row blocks, row labels, dims and attrs of the first matrix;
        column labels when every part is a labelled matrix. Sparse when every
        matrix part is (a scalar column is then stored in the CSR blocks).

    Raises
    ------
    ParameterError
        If no matrix is given (nothing, or only scalars).
    ShapeError
        If the matrices have different numbers of rows.
    DTypeError
        If a scalar is complex or an array is not real numeric.
    OperandTypeError
        If an argument is a lazy vector (a :class:`LazyResult`) or not an
        array.

    See Also
    --------
    rbind, numpy.hstack

    Notes
    -----
    One pass; each output block is built by one task from the matching
    rows of every input. Inputs with other row chunks are realigned to the
    first matrix's blocks, which moves rows between neighbouring blocks.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> dl.cbind(A, 1.0).compute()
    array([[1., 2., 1.],
           [3., 4., 1.]])
    >>> X, Y = np.arange(6.0).reshape(3, 2), np.ones((3, 1))
    >>> B = dl.cbind(dl.from_array(X, chunks=2), dl.from_array(Y, chunks=1))
    >>> B.chunks, np.allclose(B.compute(), np.hstack([X, Y]))
    ((2, 1), True)
    """
    parts = _bind_parts(ms, "cbind")
    mats = [p for p in parts if isinstance(p, DRM)]
    for m in mats[1:]:
        check_same_nrow(mats[0].shape, m.shape, "cbind")
        check_same_labels(mats[0].row_labels, m.row_labels, "rows", "cbind")
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

    Parameters
    ----------
    *ms : DRM or array of shape (n_i, k)
        At least one matrix; all have the same number of columns ``k``.
        Arrays are wrapped with :func:`dlinalg.from_array`.

    Returns
    -------
    DRM
        Lazy ``sum(n_i) x k`` matrix, in the dtype numpy would promote to,
        with the column labels, dims and attrs of the first matrix; row
        labels when every part has them. Sparse when every part is.

    Raises
    ------
    ParameterError
        If no matrix is given.
    OperandTypeError
        If an argument is a scalar (use ``dl.ones((1, k)) * c`` for a
        constant row), a lazy vector or not an array.
    ShapeError
        If the matrices have different numbers of columns.
    DTypeError
        If an array is not real numeric.

    See Also
    --------
    cbind, numpy.vstack

    Notes
    -----
    Free: no data moves, the row blocks of the inputs become the row
    blocks of the result, one after the other.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.ones((2, 2)))
    >>> dl.rbind(A, 2 * A).compute()
    array([[1., 1.],
           [1., 1.],
           [2., 2.],
           [2., 2.]])
    >>> B = dl.rbind(dl.from_array(np.ones((3, 2)), chunks=2), dl.zeros((2, 2), chunks=2))
    >>> B.chunks
    (2, 1, 2)
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
        check_same_labels(parts[0].col_labels, m.col_labels, "columns", "rbind")
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
        The expressions to compute.
    progress : bool, optional
        Show a progress bar (default: Dask config ``dlinalg.progress``).
    **kwargs
        Passed to :func:`dask.compute`.

    Returns
    -------
    tuple
        One value per expression: numpy arrays, ``scipy.sparse.csr_array`` or scalars.

    Raises
    ------
    OperandTypeError
        If an argument is not a DRM or LazyResult (a ``TypeError``).

    See Also
    --------
    DRM.compute, dask.compute, DRM.explain

    Notes
    -----
    Every expression is optimized, then column statistics (sums, means,
    variances, non-zero counts, norms) and slim Gram matrices of the same
    matrix are merged into one tree reduction, and everything runs in a
    single :func:`dask.compute`, so shared inputs are read once. Computing
    the same expressions one by one reads the data once per expression.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> A = dl.from_array(X, chunks=2)
    >>> means, gram = dl.compute(A.col_means(), A.T @ A)
    >>> means
    array([2., 3.])
    >>> np.allclose(gram, X.T @ X)
    True
    >>> dl.compute(A.norm(), A.col_vars(), scheduler="sync")[1]
    array([2.66666667, 2.66666667])
    """
    for i, e in enumerate(exprs):
        if not isinstance(e, _Lazy):
            raise OperandTypeError(
                f"compute takes DRM or LazyResult expressions; argument {i} is {e!r}"
            )
    values = compute_plan([e._node for e in exprs], progress=progress, **kwargs)
    return tuple(_finish(e, v) for e, v in zip(exprs, values, strict=True))


def compute_plan(nodes: list[N.Node], progress: bool | None = None, **kwargs: Any) -> tuple:
    """Optimize plan nodes together, lower them and compute them in one pass.

    The one place where a plan runs: :func:`compute` for expressions, the
    decompositions for the nodes of their passes. The pass is noted for
    :func:`dlinalg.explain`.
    """

    roots, collections = lower_plan(nodes)
    _trace.record("plan", roots)
    with _trace.planned():
        return compute_collections(*collections, progress=progress, **kwargs)


def _finish(expr: Any, value: Any) -> Any:
    return finish_value(value, getattr(expr, "_post", ()))
