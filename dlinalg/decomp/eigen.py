"""``dlinalg.eigh_gram``: exact eigenpairs of ``A^T A`` or of the covariance, one pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla

from dlinalg._operands import as_matrix, shape_of
from dlinalg._validation import check_count, check_flag, check_k, out_dtype, raise_if_nonfinite
from dlinalg.decomp.moments import comoments
from dlinalg.decomp.passes import run_pass
from dlinalg.errors import ParameterError
from dlinalg.physical.rowwise import RowChain

__all__ = ["eigh_gram", "top_eigh"]


def top_eigh(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k eigenpairs of a symmetric matrix, descending, each vector's largest entry positive."""
    n = S.shape[0]
    w, V = sla.eigh(S, subset_by_index=(n - k, n - 1), check_finite=False)
    w, V = w[::-1], V[:, ::-1]
    pick = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[pick, np.arange(k)])
    signs[signs == 0] = 1
    return w, V * signs


def eigh_gram(
    A: Any,
    k: int | None = None,
    *,
    center: bool = False,
    ddof: int = 1,
    check_finite: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of ``A^T A``, or of the covariance of A's columns.

    One pass over A computes the ``n x n`` Gram matrix (or, with ``center``,
    the column means and centred scatter, stably); LAPACK's symmetric
    eigensolver does the rest in memory. Exact, for ``n`` up to a few
    thousand columns.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix, dense or sparse.
    k : int, optional
        Number of eigenpairs, the largest; default all ``n``.
    center : bool, default False
        Decompose the covariance ``(A - mean)^T (A - mean) / (m - ddof)``
        (as :func:`numpy.cov` of the columns) instead of ``A^T A``.
    ddof : int, default 1
        Delta degrees of freedom of the covariance (``center=True`` only).
    check_finite : bool, default True
        Raise :class:`~dlinalg.errors.NonFiniteError` if A holds NaN or infinity.

    Returns
    -------
    w : numpy.ndarray
        ``(k,)`` eigenvalues, descending.
    V : numpy.ndarray
        ``(n, k)`` orthonormal eigenvectors (columns); the largest-magnitude
        entry of each is positive.

    Raises
    ------
    ParameterError
        If k is outside ``1..n`` or ``ddof`` is negative or not below m.
    NonFiniteError
        If A holds NaN or infinity and ``check_finite`` is true.

    See Also
    --------
    numpy.linalg.eigh, svd, dlinalg.decomp.moments.comoments

    Notes
    -----
    The eigenvalues of ``A^T A`` are the squared singular values of A, but
    forming the Gram squares the condition number: an eigenvalue below about
    ``1e-16`` times the largest carries no correct digits. Use :func:`svd`
    when the small singular values matter.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.random.default_rng(0).standard_normal((1000, 4))
    >>> w, V = dl.eigh_gram(dl.from_array(X, chunks=300), k=2)
    >>> bool(np.allclose(w, np.linalg.eigvalsh(X.T @ X)[::-1][:2]))
    True
    >>> w, V = dl.eigh_gram(X, center=True)
    >>> bool(np.allclose(w, np.linalg.eigvalsh(np.cov(X.T))[::-1]))
    True
    """
    m, n = shape_of(A)
    center = check_flag(center, "center")
    k = n if k is None else check_k(k, (m, n), upper=n)
    ddof = check_count(ddof, "ddof")
    if center and ddof >= m:
        raise ParameterError(f"ddof must be below the number of rows {m}, got ddof={ddof}")
    A = as_matrix(A, check_finite)
    if center:
        _, _, scatter = comoments(A, check_finite=check_finite)
        S = scatter / (m - ddof)
    else:
        S = run_pass(A, RowChain(n), ("gram",)).gram
        if check_finite:
            raise_if_nonfinite(np.diag(S), "A", A.col_labels)
    if np.isfinite(S).all():
        w, V = top_eigh(S, k)
    else:  # NaN/inf data with check_finite=False: NaN results, as numpy gives
        w, V = np.full(k, np.nan), np.full((n, k), np.nan)
    dtype = out_dtype(A.dtype)
    return w.astype(dtype), V.astype(dtype)
