"""ARPACK on the client over a distributed mat-vec: ``svds`` and ``eigsh``.

SciPy's implicitly restarted Lanczos (:func:`scipy.sparse.linalg.eigsh`,
ARPACK's ``dsaupd``/``dseupd``, Lehoucq, Sorensen and Yang 1998) runs in this
process; each product it asks for is one pass over the persisted A:

* ``eigsh``: ``A x`` (one task per row block, the pieces gathered);
* ``svds``: ``A^T A x`` by the fused kernel (``A_i x`` stays in the task, only
  the n-vectors ``A_i^T A_i x`` are summed in a tree), whatever A's shape.

Cost: one persist of A, then ``ncv`` products for the first Lanczos
factorization and ``ncv - k`` per implicit restart (ARPACK's "iteration",
at most ``maxiter`` of them), each a single read of A. The client holds
ARPACK's Lanczos basis, ``n x ncv`` float64 (n = A's column count), and a few
n-vectors: about ``8 n (ncv + 8)`` bytes, 0.3 GB for ``n = 10**6, ncv = 30``.
``svds`` returns U lazily: ``U = A V diag(1/s)`` is computed block by block
when used (one more pass), never stored.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator
from scipy.sparse.linalg import eigsh as _scipy_eigsh

from dlinalg._operands import as_matrix
from dlinalg._validation import (
    check_k,
    check_maxiter,
    check_method,
    check_tolerance,
    make_rng,
    out_dtype,
)
from dlinalg.decomp._factors import flip_signs, tall_factor
from dlinalg.errors import NonFiniteError, ParameterError, RankDeficientError
from dlinalg.physical.rowwise import RowChain
from dlinalg.solvers._operator import (
    RowOperator,
    as_operator,
    check_finite_norm,
    is_linear_operator,
    operator_shape,
)

__all__ = ["svds", "eigsh", "WHICH"]

#: The spectrum ends ``eigsh`` can target (SciPy's names, no shift-invert).
WHICH = ("LM", "SM", "LA", "SA", "BE")
#: An eigenvalue of ``A^T A`` below ``GRAM_CUTOFF * max`` is noise (SciPy's old pinvh rule).
GRAM_CUTOFF = 1e6 * np.finfo(np.float64).eps
#: In-memory input up to this many stored values is checked for symmetry by ``eigsh``.
SYMMETRY_CHECK_MAX = 2**24


def _check_ncv(ncv: Any, k: int, n: int) -> int | None:
    if ncv is None:
        return None
    if isinstance(ncv, bool) or not isinstance(ncv, numbers.Integral) or not k < ncv <= n:
        raise ParameterError(
            f"ncv must be an integer with k < ncv <= {n} (k={k}, operator size {n}), "
            f"got ncv={ncv!r}"
        )
    return int(ncv)


def _dtype(A: Any) -> np.dtype:
    """SciPy's result dtype: float32 input gives float32 results, anything else float64."""
    dtype = getattr(A, "dtype", None)
    return out_dtype(np.float64 if dtype is None else dtype)


def _check_jobs(value: Any) -> bool | str:
    if isinstance(value, str) and value in ("u", "vh"):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ParameterError(
        f"return_singular_vectors must be True, False, 'u' or 'vh'; got {value!r}"
    )


def _operator_and_rows(A: Any) -> tuple[Any, Any]:
    """The operator, and A as a DRM on the operator's blocks (None for a LinearOperator)."""
    if is_linear_operator(A):
        return as_operator(A), None
    drm = as_matrix(A, check_finite=True)
    op = RowOperator(drm)  # persists A once (on a cluster); U reads the same blocks
    return op, op.matrix()


def _lanczos(matvec, n, k, *, which, ncv, tol, maxiter, vectors, v0, func):
    """SciPy's ``eigsh`` on ``matvec``; a non-convergence names the knobs to turn."""
    gram = LinearOperator((n, n), matvec=lambda x: matvec(np.ravel(x)), dtype=np.float64)
    try:
        return _scipy_eigsh(
            gram, k, which=which, v0=v0, ncv=ncv, maxiter=maxiter, tol=tol,
            return_eigenvectors=vectors,
        )  # fmt: skip
    except ArpackNoConvergence as exc:
        detail = str(exc).removeprefix("ARPACK error -1: ")  # the class adds it again
        raise ArpackNoConvergence(
            f"{func}: no convergence within maxiter={maxiter} restarts ({detail}); "
            "raise maxiter or ncv, or loosen tol (the converged pairs are attached)",
            exc.eigenvalues,
            exc.eigenvectors,
        ) from exc


def svds(
    A: Any,
    k: int = 6,
    *,
    ncv: int | None = None,
    tol: float = 0,
    maxiter: int | None = None,
    return_singular_vectors: bool | str = True,
    seed: Any = None,
) -> Any:
    """The ``k`` largest singular triplets by ARPACK over a one-pass ``A^T A x``.

    ARPACK's Lanczos iteration [1]_ runs on the client on the ``n x n``
    operator ``A^T A``, each product streaming A once (see the module notes);
    ``s = sqrt(eigenvalues)``, ``V`` the eigenvectors and
    ``U = A V diag(1/s)``, returned lazily. The conventions are those of
    :func:`scipy.sparse.linalg.svds` (ARPACK solver, ``which="LM"``).

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The ``m x n`` matrix, dense or sparse, any shape. Distributed input is
        persisted once; a :class:`~scipy.sparse.linalg.LinearOperator` runs in
        this process through ``matvec``/``rmatvec``.
    k : int, default 6
        Number of singular triplets, ``1 <= k < min(m, n)``.
    ncv : int, optional
        Lanczos vectors, ``k < ncv <= n``; default ``min(n, max(2 k + 1, 20))``.
    tol : float, default 0
        Relative accuracy of the singular values (ARPACK gets ``tol**2``, as in
        SciPy); 0 means machine precision.
    maxiter : int, optional
        Maximum ARPACK restarts; default ``10 n``.
    return_singular_vectors : {True, False, "u", "vh"}, default True
        True: ``(U, s, Vt)``; False: ``s`` alone; ``"u"``: ``(U, s, None)``;
        ``"vh"``: ``(None, s, Vt)``.
    seed : None, int or numpy.random.Generator
        Seeds ARPACK's starting vector (``standard_normal(n)``), so results
        are reproducible and independent of the chunking (up to rounding).

    Returns
    -------
    U : DRM or numpy.ndarray
        ``m x k`` left singular vectors: a lazy DRM on A's row blocks (read
        once more when used), or an array for a LinearOperator.
    s : numpy.ndarray
        ``(k,)`` singular values in **ascending** order, as SciPy returns them.
    Vt : numpy.ndarray
        ``(k, n)`` right singular vectors (rows, in the order of ``s``); the
        largest-magnitude entry of each row is positive (scikit-learn's
        ``svd_flip(u_based_decision=False)``, as :func:`dlinalg.svd`), U follows.
        Float32 input gives float32 results (as SciPy); the work is in float64.

    Raises
    ------
    ParameterError
        k or ncv out of range, negative tol, ``maxiter < 1``, an unknown
        ``return_singular_vectors`` or a bad seed (nothing is built or computed).
    RankDeficientError
        If U is asked for and one of the k singular values is numerically 0
        (``s_i < 1.5e-5 s_max``): ask for fewer, or for ``"vh"`` only.
    NonFiniteError
        If A holds NaN or infinity (a lazy A shows it in the first product).
    OperandTypeError
        If A is not a supported matrix type.
    scipy.sparse.linalg.ArpackNoConvergence
        Not converged within ``maxiter``; the message says what to change.

    See Also
    --------
    scipy.sparse.linalg.svds, eigsh, dlinalg.ssvd, dlinalg.svd

    Notes
    -----
    Working on ``A^T A`` squares the condition number: the eigenvalues are
    accurate to about ``eps s_max**2``, so a singular value far below
    ``s_max * 1e-8`` loses its relative accuracy (the top k of a matrix are
    fine; for the smallest ones use a QR-based method such as
    :func:`dlinalg.svd`). The orthonormality of U degrades like
    ``eps (s_max / s_i)**2`` for the same reason. A wide A is not transposed:
    ``A A^T`` would cost two passes per product (``A^T y`` must be summed
    before ``A`` can act on it), so the n-vectors stay on the client.

    References
    ----------
    .. [1] R. B. Lehoucq, D. C. Sorensen and C. Yang, "ARPACK Users' Guide:
       Solution of Large-Scale Eigenvalue Problems with Implicitly Restarted
       Arnoldi Methods", SIAM (1998).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 30)) * np.linspace(10, 1, 30)
    >>> U, s, Vt = dl.svds(dl.from_array(X, chunks=300), k=3, seed=0)
    >>> bool(np.allclose(s, np.linalg.svd(X, compute_uv=False)[:3][::-1]))
    True
    >>> bool(np.allclose(U.compute() * s, X @ Vt.T))
    True
    """
    m, n = operator_shape(A)
    k = check_k(k, (m, n), upper=min(m, n) - 1)
    ncv = _check_ncv(ncv, k, n)
    tol = check_tolerance(tol, "tol")
    maxiter = check_maxiter(maxiter, 10 * n)
    jobs = _check_jobs(return_singular_vectors)
    v0 = make_rng(seed).standard_normal(n)
    dtype = _dtype(A)

    op, rows = _operator_and_rows(A)

    def normal(x: np.ndarray) -> np.ndarray:
        y, normsq = op.normal(x)
        check_finite_norm(normsq, "A")
        return y

    out = _lanczos(
        normal, n, k, which="LM", ncv=ncv, tol=tol**2, maxiter=maxiter,
        vectors=jobs is not False, v0=v0, func="svds",
    )  # fmt: skip
    lam, V = out if jobs is not False else (out, None)
    order = np.argsort(lam, kind="stable")  # ascending, as scipy.sparse.linalg.svds
    lam = np.maximum(lam[order], 0.0)
    s = np.sqrt(lam)
    if jobs is False:
        return s.astype(dtype)
    V = np.linalg.qr(V[:, order])[0]  # ARPACK's vectors are orthonormal only to ~tol
    _, Vt = flip_signs(None, V.T)
    U = None
    if jobs in (True, "u"):
        rank = int(np.sum(lam > GRAM_CUTOFF * lam.max()))
        if rank < k:
            raise RankDeficientError(
                f"{k - rank} of the k={k} largest singular values of A (shape {(m, n)}) are "
                f"numerically 0, so their U columns are undefined; ask for k={rank} or "
                "return_singular_vectors='vh'"
            )
        W = Vt.T / s  # U = A V diag(1/s)
        if rows is None:
            U = np.asarray(op.op.matmat(W), dtype=np.float64).astype(dtype)
        else:
            U = tall_factor(rows, RowChain(n).then("full", W), dtype)
    return U, s.astype(dtype), (None if jobs == "u" else Vt.astype(dtype))


def _check_symmetric(A: Any) -> None:
    """A cheap check of the user's promise, on in-memory input of moderate size."""
    if not (isinstance(A, np.ndarray) or sp.issparse(A)) or A.dtype.kind not in "biuf":
        return
    stored = A.nnz if sp.issparse(A) else A.size
    if stored == 0 or stored > SYMMETRY_CHECK_MAX:
        return
    scale = abs(A).max()
    gap = abs(A - A.T).max()
    eps = np.finfo(A.dtype if A.dtype.kind == "f" else np.float64).eps
    if gap > np.sqrt(eps) * scale:  # NaN passes here and fails the finiteness check
        raise ParameterError(
            f"A is not symmetric: max |A - A^T| = {float(gap):.3g} (max |A| = "
            f"{float(scale):.3g}); eigsh needs a symmetric matrix, e.g. (A + A.T) / 2"
        )


def eigsh(
    A: Any,
    k: int = 6,
    *,
    which: str = "LM",
    ncv: int | None = None,
    tol: float = 0,
    maxiter: int | None = None,
    return_eigenvectors: bool = True,
    seed: Any = None,
) -> Any:
    """``k`` eigenpairs of a symmetric matrix by ARPACK over a one-pass ``A x``.

    :func:`scipy.sparse.linalg.eigsh` (implicitly restarted Lanczos [1]_, no
    shift-invert) runs on the client; each product is one pass over the
    persisted A, gathered to the client. Same selection (``which``), order
    and return values as SciPy's.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix, dask.array.Array or LinearOperator
        The symmetric ``n x n`` matrix, dense or sparse. Symmetry is the
        caller's promise: only in-memory input of up to ``2**24`` stored
        values is checked (``max |A - A^T| <= sqrt(eps) max |A|``).
    k : int, default 6
        Number of eigenpairs, ``1 <= k < n``.
    which : {"LM", "SM", "LA", "SA", "BE"}, default "LM"
        Largest/smallest magnitude, largest/smallest algebraic, or both ends.
    ncv : int, optional
        Lanczos vectors, ``k < ncv <= n``; default ``min(n, max(2 k + 1, 20))``.
    tol : float, default 0
        Relative accuracy of the eigenvalues; 0 means machine precision.
    maxiter : int, optional
        Maximum ARPACK restarts; default ``10 n``.
    return_eigenvectors : bool, default True
        Return ``(w, v)``, else ``w`` alone (SciPy then orders ``w`` differently:
        by magnitude for "LM"/"SA" and "SM"; see its docs).
    seed : None, int or numpy.random.Generator
        Seeds ARPACK's starting vector (``standard_normal(n)``).

    Returns
    -------
    w : numpy.ndarray
        ``(k,)`` eigenvalues, in SciPy's order (ascending with eigenvectors).
    v : numpy.ndarray
        ``(n, k)`` orthonormal eigenvectors (columns); the largest-magnitude
        entry of each column is positive. Float32 input gives float32 results.

    Raises
    ------
    ShapeError
        If A is not square.
    ParameterError
        k or ncv out of range, an unknown ``which``, negative tol,
        ``maxiter < 1``, a bad seed, or in-memory input that is not symmetric.
    NonFiniteError
        If A holds NaN or infinity.
    scipy.sparse.linalg.ArpackNoConvergence
        Not converged within ``maxiter``; the message says what to change.

    See Also
    --------
    scipy.sparse.linalg.eigsh, numpy.linalg.eigh, svds, dlinalg.eigh_gram

    Notes
    -----
    "SM" without shift-invert converges slowly (as in SciPy): many passes.

    References
    ----------
    .. [1] R. B. Lehoucq, D. C. Sorensen and C. Yang, "ARPACK Users' Guide:
       Solution of Large-Scale Eigenvalue Problems with Implicitly Restarted
       Arnoldi Methods", SIAM (1998).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> Q = np.linalg.qr(np.random.default_rng(0).standard_normal((200, 200)))[0]
    >>> S = (Q * np.arange(1.0, 201.0)) @ Q.T
    >>> w, v = dl.eigsh(dl.from_array((S + S.T) / 2, chunks=64), k=2, seed=0)
    >>> np.round(w, 8)
    array([199., 200.])
    >>> bool(np.allclose(S @ v, v * w))
    True
    """
    n = operator_shape(A, square=True)[0]
    k = check_k(k, (n, n), upper=n - 1)
    which = check_method(which, WHICH, "which")
    ncv = _check_ncv(ncv, k, n)
    tol = check_tolerance(tol, "tol")
    maxiter = check_maxiter(maxiter, 10 * n)
    if not isinstance(return_eigenvectors, bool | np.bool_):
        raise ParameterError(f"return_eigenvectors must be a bool, got {return_eigenvectors!r}")
    v0 = make_rng(seed).standard_normal(n)
    dtype = _dtype(A)
    _check_symmetric(A)

    op = as_operator(A, square=True)

    def matvec(x: np.ndarray) -> np.ndarray:
        y = op.matvec(x)
        if not np.isfinite(y).all():
            raise NonFiniteError("A contains NaN or infinity; clean it before solving")
        return y

    out = _lanczos(
        matvec, n, k, which=which, ncv=ncv, tol=tol, maxiter=maxiter,
        vectors=bool(return_eigenvectors), v0=v0, func="eigsh",
    )  # fmt: skip
    if not return_eigenvectors:
        return out.astype(dtype)
    w, v = out
    return w.astype(dtype), flip_signs(None, v.T)[1].T.astype(dtype)
