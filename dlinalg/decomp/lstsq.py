"""``dlinalg.lstsq``: least squares of a tall matrix in one pass, ``numpy.linalg.lstsq``'s contract.

One TSQR pass over the augmented matrix ``[A | b]`` gives, from the small
``R`` of its QR factorization, everything the answer needs::

    [A | b] = Q [[R, c], [0, d]]   so   ||A x - b||^2 = ||R x - c||^2 + ||d||^2

``R`` has A's singular values, so LAPACK's SVD of the ``n x n`` R gives
``s``, the numerical rank with numpy's ``rcond`` rule and the minimum-norm
solution ``x = V diag(1/s_r) U^T c``; the column norms of ``d`` are the
residuals. Q is never formed and b is read in the same pass as A.

It lives beside :func:`~dlinalg.qr` and :func:`~dlinalg.svd` rather than
with the iterative solvers: it is a direct factorization (a fixed number of
passes, no recurrence on the client, no tolerance).
"""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp

from dlinalg._operands import as_matrix, shape_of
from dlinalg.construct import from_array
from dlinalg.decomp.tsqr import stacked_qr
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.functions import compute_plan
from dlinalg.matrix import DRM
from dlinalg.physical.kernels import aligned
from dlinalg.plan import nodes as N
from dlinalg.plan.blockreduce import BlockReduce

__all__ = ["lstsq"]

EPS = np.finfo(np.float64).eps


def lstsq(
    A: Any, b: Any, rcond: float | None = None
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Least-squares solution of ``A x = b`` for a tall A, as :func:`numpy.linalg.lstsq` returns it.

    One pass over A and b: the TSQR R factor of ``[A | b]`` (Householder QR
    of each row block, the R's combined in a fixed tree), then the SVD of
    the small ``n x n`` R on the client. Singular values at most
    ``rcond * s[0]`` are treated as zero, and ``x`` is then the
    minimum-norm solution, exactly numpy's rule.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix, ``m >= n``, dense or sparse row blocks (any
        column chunking of a Dask array).
    b : array_like, dask.array.Array or DRM
        ``(m,)`` or ``(m, k)`` right-hand side(s).
    rcond : float, optional
        Cut-off ratio for small singular values. The default (None) is
        numpy's: ``eps * max(m, n)`` with float64's eps. A value ``<= 0``
        or ``>= 1`` means ``eps``, as LAPACK's ``gelsd`` under numpy reads it.

    Returns
    -------
    x : numpy.ndarray
        ``(n,)`` or ``(n, k)``, the minimum-norm least-squares solution.
    residuals : numpy.ndarray
        Sums of squared residuals ``||b - A x||^2`` per column of b, shape
        ``(1,)`` for a 1-D b and ``(k,)`` otherwise; empty when
        ``rank < n`` or ``m == n``, as in numpy.
    rank : int
        The numerical rank of A.
    s : numpy.ndarray
        ``(n,)`` singular values of A, descending.

    float32 A and b give float32 results, anything else float64 (numpy's
    rule); the arithmetic is float64 throughout.

    Raises
    ------
    ShapeError
        If A is wide (``m < n``: use :func:`dlinalg.lsqr`, whose start at 0
        gives the minimum-norm solution), b has another row count, more than
        2 dimensions or no column. A ``ValueError``.
    NonFiniteError
        If A or b holds NaN or infinity (in-memory input before anything
        runs; distributed input when the pass shows it). A ``ValueError``.
    ParameterError
        If ``rcond`` is not a real number or None.
    OperandTypeError
        If A or b is not an array, or not real. A ``TypeError``.

    See Also
    --------
    numpy.linalg.lstsq, dask.array.linalg.lstsq, lsqr, qr, svd

    Notes
    -----
    Cost: one read of A and b; each task holds one row block densified with
    b's rows beside it (``rows x (n + k)``) and the combine tasks hold
    ``split_every`` R factors of size ``(n + k)^2``; the client holds
    ``(n + k)^2`` numbers. :func:`dask.array.linalg.lstsq` needs A in one
    column chunk, forms Q (a second pass) and back-substitutes with R, which
    breaks down on a rank-deficient A; here the SVD of R handles rank
    deficiency as LAPACK's ``gelsd`` does for numpy.

    References
    ----------
    .. [1] A. R. Benson, D. F. Gleich and J. Demmel, "Direct QR factorizations
       for tall-and-skinny matrices in MapReduce architectures", IEEE
       International Conference on Big Data, 264-272 (2013).
    .. [2] G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed.,
       section 5.5 (the SVD and rank-deficient least squares).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((1000, 5)); b = rng.standard_normal(1000)
    >>> x, res, rank, s = dl.lstsq(dl.from_array(A, chunks=300), b)
    >>> x_np, res_np, rank_np, s_np = np.linalg.lstsq(A, b)
    >>> bool(np.allclose(x, x_np)), bool(np.allclose(res, res_np)), rank, int(rank_np)
    (True, True, 5, 5)
    """
    m, n = shape_of(A)
    if m < n:
        raise ShapeError(
            f"lstsq needs a tall A (nrow >= ncol), got shape {(m, n)}; for a wide A use "
            "dlinalg.lsqr(A, b) (started at 0 it converges to the minimum-norm solution) "
            "or numpy.linalg.lstsq on in-memory data"
        )
    b_arr, one_d = _check_rhs(b, m)
    k = 1 if one_d else int(b_arr.shape[1])
    cut = _check_rcond(rcond, m, n)
    dtype = _result_dtype(A, b_arr)

    A = as_matrix(A, check_finite=True)
    b_rows = N.Leaf(_row_blocks(b_arr, A.to_dask().chunks[0], k))
    (r_aug,) = compute_plan([BlockReduce((A._node, b_rows), block_r_aug, combine_r)])
    r_aug = np.asarray(r_aug)
    if not np.isfinite(r_aug).all():
        diag = np.diag(r_aug)
        what = "A" if not np.isfinite(diag[:n]).all() else "b"
        raise NonFiniteError(f"{what} contains NaN or infinity; clean it before solving")
    x, residuals, rank, s = solve_triangular_lstsq(r_aug, n, cut, m)
    if one_d:
        x = x[:, 0]
    return x.astype(dtype), residuals.astype(dtype), rank, s.astype(dtype)


def solve_triangular_lstsq(
    r_aug: np.ndarray, n: int, rcond: float, m: int
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """numpy's answer from the R factor of ``[A | b]`` (``n`` columns of A, ``m`` rows).

    ``R = U diag(s) Vt``; ``x = V diag(1/s) U^T c`` over the singular values
    above ``rcond * s[0]``; residuals from the rows of ``[0, d]``.
    """
    r, c, d = r_aug[:n, :n], r_aug[:n, n:], r_aug[n:, n:]
    u, s, vt = np.linalg.svd(r)
    rank = int(np.count_nonzero(s > rcond * s[0])) if s.size and s[0] > 0 else 0
    x = vt[:rank].T @ ((u[:, :rank].T @ c) / s[:rank, None])
    if rank == n and m > n:
        residuals = np.einsum("ij,ij->j", d, d) if d.shape[0] else np.zeros(c.shape[1])
    else:
        residuals = np.empty(0)
    return x, residuals, rank, s


def _check_rcond(rcond: Any, m: int, n: int) -> float:
    if rcond is None:
        return EPS * max(m, n)
    if isinstance(rcond, bool) or not isinstance(rcond, numbers.Real) or np.isnan(rcond):
        raise ParameterError(f"rcond must be a real number or None, got rcond={rcond!r}")
    # LAPACK's dlalsd (under numpy's gelsd) uses eps for rcond <= 0 and rcond >= 1
    return EPS if rcond <= 0 or rcond >= 1 else float(rcond)


def _check_rhs(b: Any, m: int) -> tuple[Any, bool]:
    """``b`` as a 2-D numpy or dask array (no graph yet) and whether it was 1-D."""

    if isinstance(b, DRM):
        shape = b.shape
        dtype = b.dtype
    elif isinstance(b, np.ndarray | da.Array) or sp.issparse(b):
        shape, dtype = tuple(b.shape), b.dtype
    else:
        try:
            b = np.asarray(b)
        except (TypeError, ValueError) as exc:
            raise OperandTypeError(f"b must be an array, got {type(b).__name__}") from exc
        shape, dtype = b.shape, b.dtype
    if np.dtype(dtype).kind not in "biuf":
        raise OperandTypeError(
            f"b must hold real numbers, got dtype {dtype}; convert with .astype(float)"
        )
    if len(shape) not in (1, 2):
        raise ShapeError(
            f"b must be 1-D (m,) or 2-D (m, k), got {len(shape)}-D with shape {tuple(shape)}"
        )
    if shape[0] != m:
        raise ShapeError(f"b has {shape[0]} rows but A has {m}; they must be equal")
    if len(shape) == 2 and shape[1] == 0:
        raise ShapeError(f"b has no column (shape {tuple(shape)}); pass at least one")
    if isinstance(b, np.ndarray) and not np.isfinite(b).all():
        raise NonFiniteError("b contains NaN or infinity; clean it before solving")
    if sp.issparse(b):
        if not np.isfinite(b.data).all():
            raise NonFiniteError("b contains NaN or infinity; clean it before solving")
        b = b.toarray()
    one_d = len(shape) == 1
    return (b[:, None] if one_d else b), one_d


def _result_dtype(A: Any, b: Any) -> np.dtype:
    single = np.dtype(A.dtype) == np.float32 and np.dtype(b.dtype) == np.float32
    return np.dtype(np.float32 if single else np.float64)


def _row_blocks(b: Any, chunks: tuple[int, ...], k: int) -> da.Array:
    """``b`` as a dense Dask array with A's row blocks and one column chunk."""

    if isinstance(b, DRM):
        b = b.to_dask()
    if isinstance(b, da.Array):
        b = b.map_blocks(_dense, dtype=b.dtype, meta=np.empty((0, 0), b.dtype))
        return b.rechunk((chunks, (k,)))

    return from_array(np.asarray(b), chunks=chunks).to_dask()


def _dense(x: Any) -> np.ndarray:
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def block_r_aug(a: Any, b: np.ndarray) -> np.ndarray:
    """R of one row block of ``[A | b]`` (Householder; sparse blocks are densified)."""
    a = a.toarray() if sp.issparse(a) else aligned(a)
    block = np.hstack([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)])
    return np.linalg.qr(block, mode="r")


def combine_r(*rs: np.ndarray) -> np.ndarray:
    """R of the stacked R's (a non-negative diagonal, so the result is unique)."""
    return stacked_qr(*rs)[1]
