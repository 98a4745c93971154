"""``dlinalg.qr``: thin QR of a tall-skinny distributed matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg._operands import as_matrix, shape_of
from dlinalg._validation import check_method, check_tall, out_dtype, raise_if_nonfinite
from dlinalg.decomp._factors import tall_factor
from dlinalg.decomp.cholqr import orthonormalize
from dlinalg.decomp.tsqr import tsqr
from dlinalg.errors import NonFiniteError, RankDeficientError
from dlinalg.matrix import DRM
from dlinalg.physical.rowwise import RowChain

__all__ = ["qr"]

METHODS = ("auto", "cholqr2", "tsqr")
#: ``||A||_2`` within ``2**+-SAFE_EXPONENT`` keeps the Gram's digits (its square is
#: far from overflow and underflow); beyond, the Cholesky methods rescale A by a power of two.
SAFE_EXPONENT = 200


def qr(A: Any, method: str = "auto", *, check_finite: bool = True) -> tuple[Any, np.ndarray]:
    """Thin QR factorization ``A = Q R`` of a tall matrix (``nrow >= ncol``).

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix, ``m >= n``; dense or sparse row blocks.
    method : {"auto", "cholqr2", "tsqr"}, default "auto"
        ``"cholqr2"``: Cholesky-QR twice [1]_ (two passes over A for R, the
        fast path); :class:`~dlinalg.errors.RankDeficientError` when the Gram
        cannot be factored or the second pass shows the two steps would not
        give an orthonormal Q (in practice cond(A) beyond about 1e8-1e9). ``"tsqr"``: direct TSQR [3]_
        (Householder QR per block, then of the stacked R's): unconditionally
        stable and pivot-free. ``"auto"``: CholQR2, or shifted Cholesky-QR3
        [2]_ (three passes) when the first Gram matrix shows cond(A) above
        about 1e6, so Q is orthonormal to machine precision up to cond(A)
        near 1e15; numerically rank-deficient input raises.
    check_finite : bool, default True
        Raise :class:`~dlinalg.errors.NonFiniteError` if A holds NaN or
        infinity. In-memory input is checked before anything runs; a DRM is
        checked on the first pass's Gram diagonal, at no extra cost.

    Returns
    -------
    Q : DRM
        ``m x n`` with orthonormal columns, lazy: A's row blocks and row
        labels; each block is computed from A's block when Q is used
        (``Q.compute()``, ``Q.persist()``, ``Q.to_zarr()``), one more read of A.
    R : numpy.ndarray
        ``n x n`` upper triangular with a non-negative diagonal (positive
        for the Cholesky methods), so the factorization is unique.

    Raises
    ------
    ShapeError
        If A is wide (``nrow < ncol``): use :func:`dlinalg.ssvd`.
    RankDeficientError
        For ``"auto"``/``"cholqr2"`` when A has (numerically) dependent
        columns; ``"tsqr"`` factors it anyway. A ``numpy.linalg.LinAlgError``.
    NonFiniteError
        If A holds NaN or infinity and ``check_finite`` is true.
    ParameterError
        If ``method`` is not one of the above.
    OperandTypeError
        If A is not a matrix.

    See Also
    --------
    numpy.linalg.qr, dask.array.linalg.tsqr, svd

    Notes
    -----
    Float64 arithmetic throughout; float32 input gives float32 factors, as
    :func:`numpy.linalg.qr` does. Passes over A to get R: 1 (``"tsqr"``),
    2 (``"cholqr2"``), 2 or 3 (``"auto"``); Cholesky-QR passes are one BLAS
    ``syrk`` per row tile, much cheaper than Householder QR, which is why
    ``"auto"`` prefers them. Mahout's ``dqrThin`` is one Cholesky-QR step,
    which loses orthogonality like ``eps * cond(A)**2``; the second step
    removes that. The Gram squares A's scale: when it overflows (entries
    beyond about 1e154) or underflows (below about 1e-154), one TSQR pass
    measures ``||A||_2`` and Cholesky-QR runs on A scaled by a power of two
    (exact), so any finite scale gives the factors of the well-scaled A.
    That pass also precedes a rank-deficiency or NaN error from the
    Cholesky methods, to tell them from a scale the Gram cannot hold.

    References
    ----------
    .. [1] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa and T. Fukaya, "Roundoff
       error analysis of the CholeskyQR2 algorithm", Electron. Trans. Numer.
       Anal. 44, 306-326 (2015).
    .. [2] T. Fukaya, R. Kannan, Y. Nakatsukasa, Y. Yamamoto and Y. Yanagisawa,
       "Shifted Cholesky QR for computing the QR factorization of
       ill-conditioned matrices", SIAM J. Sci. Comput. 42(1), A477-A503 (2020).
    .. [3] A. R. Benson, D. F. Gleich and J. Demmel, "Direct QR factorizations
       for tall-and-skinny matrices in MapReduce architectures", IEEE
       International Conference on Big Data, 264-272 (2013).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.random.default_rng(0).standard_normal((1000, 5))
    >>> Q, R = dl.qr(dl.from_array(X, chunks=300))
    >>> Q
    <DRM 1000 x 5 float64, dense, 4 row blocks>
    >>> q = Q.compute()
    >>> bool(np.allclose(q.T @ q, np.eye(5))), bool(np.allclose(q @ R, X))
    (True, True)
    >>> bool(np.all(np.diag(R) > 0)), bool(np.allclose(R, np.triu(R)))
    (True, True)
    """
    check_method(method, METHODS)
    check_tall(shape_of(A), "qr")
    A = as_matrix(A, check_finite)
    dtype = out_dtype(A.dtype)
    if method == "tsqr":
        return _tsqr(A, dtype, check_finite)
    try:
        basis = orthonormalize(A, RowChain(A.ncol), method=method, check_finite=check_finite)
    except (NonFiniteError, RankDeficientError) as error:
        return _rescaled(A, method, dtype, check_finite, error)
    if not basis.finite:  # check_finite=False: NaN data, or a Gram that overflowed
        return _rescaled(A, method, dtype, check_finite, None)
    return tall_factor(A, basis.factor(), dtype), basis.R.astype(dtype)


def _rescaled(
    A: Any, method: str, dtype: np.dtype, check_finite: bool, error: Exception | None
) -> tuple[Any, np.ndarray]:
    """Cholesky-QR of ``A / 2**e`` when the Gram could not hold A's scale.

    The Gram squares A: finite entries beyond about 1e154 overflow it (it
    reads as NaN/inf data) and entries below about 1e-154 underflow it (it
    reads as rank 0). TSQR does not square: one pass gives ``||A||_2`` from
    its R (and raises for NaN/inf data), and Cholesky-QR runs again on A
    scaled by a power of two, which is exact, so the result is the one for
    a well-scaled A: ``Q`` the same, ``R`` scaled back. Otherwise (A is
    well scaled, or zero) the first error was right and is raised.
    """
    first = tsqr(A, dtype)  # its R measures A; its Q serves the TSQR fallbacks below
    r = first[1]
    if check_finite:
        raise_if_nonfinite(np.diag(r), "A", A.col_labels, count=False)
    top = np.linalg.norm(r, 2) if np.isfinite(r).all() else np.nan
    if np.isnan(top) and error is None:  # NaN data with check_finite=False: NaN factors
        return _tsqr(A, dtype, check_finite, first)
    e = int(np.floor(np.log2(top))) if top > 0 and np.isfinite(top) else 0
    scale = np.ldexp(1.0, -e)
    if abs(e) < SAFE_EXPONENT or not 0 < scale < np.inf:
        if error is None:
            return _tsqr(A, dtype, check_finite, first)
        raise error
    scaled = A * scale
    basis = orthonormalize(scaled, RowChain(A.ncol), method=method, check_finite=check_finite)
    return tall_factor(scaled, basis.factor(), dtype), np.ldexp(basis.R, e).astype(dtype)


def _tsqr(
    A: Any, dtype: np.dtype, check_finite: bool, done: tuple | None = None
) -> tuple[Any, np.ndarray]:
    """TSQR's factors as dlinalg's; ``done`` is a ``tsqr(A, dtype)`` already run."""

    q, r = tsqr(A, dtype) if done is None else done
    if check_finite:  # NaN spreads from the first bad column to every later one of R
        raise_if_nonfinite(np.diag(r), "A", A.col_labels, count=False)
    Q = DRM._from_dask(q, row_labels=A.row_labels, dims=A.dims, attrs=A.attrs, source="tsqr")
    return Q, r.astype(dtype)
