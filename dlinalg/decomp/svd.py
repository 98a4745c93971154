"""``dlinalg.svd``: thin SVD of a tall-skinny matrix through QR and a small SVD."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg._operands import as_matrix, shape_of
from dlinalg._validation import check_tall, out_dtype
from dlinalg.decomp._factors import flip_signs, tall_factor
from dlinalg.decomp.cholqr import orthonormalize
from dlinalg.decomp.qr import _tsqr
from dlinalg.errors import NonFiniteError, ParameterError, RankDeficientError
from dlinalg.physical.rowwise import RowChain

__all__ = ["svd"]


def svd(
    A: Any, full_matrices: bool = False, *, check_finite: bool = True
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Thin singular value decomposition ``A = U diag(s) Vt`` of a tall matrix.

    ``A = Q R`` by Cholesky-QR2 (shifted Cholesky-QR3 when ill-conditioned,
    see :func:`qr`), then LAPACK's SVD of the small ``R = U_R diag(s) Vt``,
    and ``U = Q U_R`` as one lazy product per row block. Two (or three)
    passes over A for ``s`` and ``Vt``; no tall matrix is stored. A
    rank-deficient A falls back to direct TSQR, which is pivot-free.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix, ``m >= n``.
    full_matrices : bool, default False
        Only the thin factorization exists here: True raises.
    check_finite : bool, default True
        Raise :class:`~dlinalg.errors.NonFiniteError` if A holds NaN or infinity.

    Returns
    -------
    U : DRM
        ``m x n``, orthonormal columns, lazy (computed from A when used).
    s : numpy.ndarray
        ``(n,)`` singular values, descending.
    Vt : numpy.ndarray
        ``(n, n)`` right singular vectors (rows). Signs follow
        scikit-learn's ``svd_flip(u_based_decision=False)``: the largest
        entry of each row of ``Vt`` is positive.

    Raises
    ------
    ParameterError
        If ``full_matrices`` is true.
    ShapeError
        If A is wide (``nrow < ncol``): use :func:`ssvd`.
    NonFiniteError
        If A holds NaN or infinity and ``check_finite`` is true.

    See Also
    --------
    numpy.linalg.svd, dask.array.linalg.svd, qr, ssvd

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.random.default_rng(0).standard_normal((1000, 4))
    >>> U, s, Vt = dl.svd(dl.from_array(X, chunks=300))
    >>> bool(np.allclose(s, np.linalg.svd(X, compute_uv=False)))
    True
    >>> bool(np.allclose((U.compute() * s) @ Vt, X))
    True
    """
    if full_matrices:
        raise ParameterError(
            "full_matrices=True is not supported: the full m x m U of a tall matrix "
            "does not fit the use; dlinalg.svd returns the thin factorization"
        )
    check_tall(shape_of(A), "svd")
    A = as_matrix(A, check_finite)
    dtype = out_dtype(A.dtype)
    try:
        basis = orthonormalize(A, RowChain(A.ncol), check_finite=check_finite)
    except (RankDeficientError, NonFiniteError):
        # TSQR is pivot-free, and does not square A: a Gram that overflowed
        # (finite entries beyond about 1e154) or underflowed is no verdict on A.
        # It raises NonFiniteError itself when A does hold NaN/inf.
        return _svd_by_tsqr(A, dtype, check_finite)
    if not np.isfinite(basis.R).all():  # NaN data (or overflow) with check_finite=False
        return _svd_by_tsqr(A, dtype, check_finite)
    u_r, s, vt = np.linalg.svd(basis.R)
    u_r, vt = flip_signs(u_r, vt)
    U = tall_factor(A, basis.factor(u_r), dtype)
    return U, s.astype(dtype), vt.astype(dtype)


def _svd_by_tsqr(
    A: Any, dtype: np.dtype, check_finite: bool
) -> tuple[Any, np.ndarray, np.ndarray]:
    Q, r = _tsqr(A, dtype, check_finite)
    if not np.isfinite(r).all():  # NaN data with check_finite=False
        nan = np.full(r.shape, np.nan, dtype=dtype)
        return Q @ nan, np.full(r.shape[0], np.nan, dtype=dtype), nan
    u_r, s, vt = np.linalg.svd(r.astype(np.float64))
    u_r, vt = flip_signs(u_r, vt)
    return Q @ u_r.astype(dtype), s.astype(dtype), vt.astype(dtype)
