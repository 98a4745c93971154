"""Randomized SVD (Halko, Martinsson and Tropp) and PCA without densifying: ``ssvd``, ``spca``.

The range finder with ``q`` power iterations, in passes over A:

1. ``Z = Omega`` (``n x l`` Gaussian, ``l = k + p``, drawn in memory from the
   seed, so the same for any chunking);
2. ``q`` times: ``W = A^T (A Z)`` in one pass (each block's ``A_i Z`` stays in
   the task), ``Z = orth(W)`` in memory;
3. ``Q = orth(A Z)`` by Cholesky-QR2 (two passes), the second pass also
   summing ``A^T Q``, so ``B = Q^T A`` costs nothing more;
4. ``B = U_B diag(s) Vt`` in memory, ``U = Q U_B`` as a lazy chain on A's rows.

That is ``q + 2`` passes, each one streaming A once. Orthonormalizing ``Z``
after every power step keeps the small singular directions from drowning in
the large ones (the reason Algorithm 4.4 of [1]_ exists); doing it on the
``n x l`` side costs no pass.

A narrow A (``n <= (4 q + 2) l``, at most 4096 columns: :func:`gram_side`)
takes a cheaper plan with the same arithmetic: one pass computes ``A^T A``
(for ``spca`` the stably centred scatter), the power iterations
``Z = orth((A^T A) Z)`` run in memory, and ``Z^T (A^T A) Z`` is the Gram of
``A Z`` for the first Cholesky step. One more pass, on the rows of ``A Z``,
certifies the basis and sums ``A^T Q``: two passes in all, whatever ``q``.
Both plans round ``A^T A Z`` to about ``eps ||A||^2``.

``spca`` runs the same on ``A - 1 mean^T`` without forming it: every product
with the centred matrix is a product with A plus a rank-one correction on the
small side (``(A - 1 mu^T) Z = A Z - 1 (mu^T Z)``, and
``(A - 1 mu^T)^T Y = A^T Y - mu (1^T Y)``), as in Mahout's ``dspca`` [2]_. A
sparse A stays sparse in every pass.

References
----------
.. [1] N. Halko, P. G. Martinsson and J. A. Tropp, "Finding structure with
   randomness: probabilistic algorithms for constructing approximate matrix
   decompositions", SIAM Review 53(2), 217-288 (2011).
.. [2] D. Lyubimov and A. Palumbo, "Apache Mahout: Beyond MapReduce",
   CreateSpace (2016), chapter on distributed stochastic PCA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
from dask.utils import parse_bytes

from dlinalg._operands import as_matrix, shape_of
from dlinalg._validation import check_count, check_k, make_rng, out_dtype, raise_if_nonfinite
from dlinalg.decomp._factors import flip_signs, tall_factor
from dlinalg.decomp.cholqr import Orthonormal, orthonormalize
from dlinalg.decomp.moments import comoments
from dlinalg.decomp.passes import run_pass
from dlinalg.errors import NonFiniteError, RankDeficientError
from dlinalg.functions import compute
from dlinalg.physical.rowwise import RowChain

__all__ = ["ssvd", "spca", "randomized_pca", "PCAResult", "gram_side"]

#: Largest stored sketch ``Y = A Z`` (m x (k + p) float64); config ``dlinalg.sketch-bytes``.
SKETCH_BYTES = "2GiB"
#: Widest matrix whose Gram (``n x n`` float64, 128 MiB here) the power iterations may use.
GRAM_SIDE_MAX_COLS = 4096


@dataclass
class PCAResult:
    """What :func:`randomized_pca` returns: the factors and the column statistics.

    Attributes
    ----------
    U : DRM
        ``m x k`` left singular vectors of the centred matrix (lazy).
    s : numpy.ndarray
        ``(k,)`` singular values of the centred matrix, descending.
    Vt : numpy.ndarray
        ``(k, n)`` principal axes (rows).
    mean : numpy.ndarray
        ``(n,)`` column means.
    col_var : numpy.ndarray
        ``(n,)`` column variances (``ddof=1``), for explained-variance ratios.
    n_samples : int
        ``m``.
    """

    U: Any
    s: np.ndarray
    Vt: np.ndarray
    mean: np.ndarray
    col_var: np.ndarray
    n_samples: int


def _check(A: Any, k: Any, p: Any, q: Any, check_finite: bool) -> tuple[Any, int, int, int]:
    k = check_k(k, shape_of(A))
    p = check_count(p, "p")
    q = check_count(q, "q")
    return as_matrix(A, check_finite), k, p, q


def _range_chain(n: int, Z: np.ndarray, mean: np.ndarray | None) -> RowChain:
    """Rows of ``A Z`` (or of ``(A - 1 mean^T) Z``)."""
    chain = RowChain(n).then("full", Z)
    return chain if mean is None else chain.then("sub", mean @ Z)


def gram_side(n: int, width: int, q: int) -> bool:
    """Whether the power iterations should run on ``A^T A`` in memory (see the module notes).

    One Gram pass costs about ``m n^2`` flops; it replaces the ``q`` power
    passes and the first orthonormalization pass, ``(4 q + 2) m n width``.
    """
    return n <= GRAM_SIDE_MAX_COLS and n <= (4 * q + 2) * width


class _FiniteCheck:
    """Whether the data still has to be checked for NaN/inf, and which pass does it.

    Every pass over A sees all of it, so the first pass of whichever plan runs
    (the Gram, the column statistics, the first power iteration or the range
    basis) checks what it computed anyway, at no extra cost, and no later pass
    checks again. :meth:`first_look` answers "is this pass the one that
    validates?": true once, for the first pass asking, and only when
    ``check_finite`` was asked for.
    """

    def __init__(self, check_finite: bool):
        self._pending = bool(check_finite)

    def first_look(self) -> bool:
        """True for the first pass that asks (when checking is on), False ever after."""
        pending, self._pending = self._pending, False
        return pending


def _nonfinite() -> NonFiniteError:
    return NonFiniteError("A contains NaN or infinity; clean the data or pass check_finite=False")


def _randomized_svd(
    A: Any,
    k: int,
    p: int,
    q: int,
    seed: Any,
    center: bool,
    check_finite: bool,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(U, s, Vt, mean, col_var)``; mean and col_var are None unless ``center``.

    Stage A of [1]_ (the range finder, Algorithms 4.3/4.4) then stage B
    (Algorithm 5.1, the direct SVD of ``B = Q^T A``).
    """
    m, n = A.shape
    width = min(k + p, m, n)
    check = _FiniteCheck(check_finite)

    # Stage A, step 1 [1, Alg. 4.3]: the n x l Gaussian test matrix Omega.
    Z = make_rng(seed).standard_normal((n, width))
    # Steps 2-3 [1, Alg. 4.4]: q subspace iterations Z <- orth(A^T (A Z)), orthonormalized
    # on the small n x l side; in memory from A^T A (narrow A) or one pass each (wide A).
    if gram_side(n, width, q):
        Z, first_gram, mean, col_var = _iterate_on_gram(A, Z, q, center, check)
    else:
        Z, mean, col_var = _iterate_by_passes(A, Z, q, center, check)
        first_gram = None
    # Step 4: Q = orth(Y) for Y = A Z (centred: (A - 1 mean^T) Z), and B^T = A^T Q.
    source, basis, B_t = _range_basis(A, _range_chain(n, Z, mean), center, mean, first_gram, check)
    if basis.rank < k:
        raise RankDeficientError(
            f"A has numerical rank {basis.rank} < k={k} (shape {A.shape}); ask for k <= "
            f"{basis.rank} singular values"
        )

    # Stage B [1, Alg. 5.1]: B = U_B diag(s) Vt in memory, U = Q U_B as a lazy chain on A's rows.
    if np.isfinite(B_t).all():
        u_b, s, vt = np.linalg.svd(B_t.T, full_matrices=False)
        u_b, vt = flip_signs(u_b[:, :k], vt[:k])
    else:  # NaN data with check_finite=False: NaN factors, as numpy gives
        u_b, s, vt = np.full((basis.rank, k), np.nan), np.full(k, np.nan), np.full((k, n), np.nan)
    dtype = out_dtype(A.dtype)
    U = tall_factor(source, basis.factor(u_b), dtype)
    return U, s[:k].astype(dtype), vt.astype(dtype), mean, col_var


def _iterate_on_gram(
    A: Any, Z: np.ndarray, q: int, center: bool, check: _FiniteCheck
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The power iterations of a narrow A in memory: one pass for ``A^T A``, none per iteration.

    Returns ``(Z, Z^T (A^T A) Z, mean, col_var)``: the last is the Gram of ``A Z``,
    which saves the first Cholesky-QR pass. The Gram pass validates the data.
    """
    mean = col_var = None
    m, n = A.shape
    if center:
        _, mean, gram = comoments(A, check_finite=check.first_look())
        col_var = np.diag(gram) / max(m - 1, 1)
    else:
        gram = run_pass(A, RowChain(n), ("gram",)).gram
        if check.first_look():
            raise_if_nonfinite(np.diag(gram), "A", A.col_labels)
    for _ in range(q):
        Z = np.linalg.qr(gram @ Z)[0]
    return Z, Z.T @ gram @ Z, mean, col_var


def _iterate_by_passes(
    A: Any, Z: np.ndarray, q: int, center: bool, check: _FiniteCheck
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The power iterations of a wide A: ``W = A^T (A Z)`` in one pass each, ``Z = orth(W)``.

    Returns ``(Z, mean, col_var)``. With ``center`` a first pass computes the
    column statistics (and validates the data); otherwise the first power pass does.
    """
    mean = col_var = None
    n = A.shape[1]
    if center:
        with np.errstate(invalid="ignore", over="ignore"):  # NaN data: our error, not numpy's
            stats = compute(A.col_means(), A.col_vars(ddof=1))
        mean, col_var = (np.asarray(v, dtype=np.float64) for v in stats)
        if check.first_look():
            raise_if_nonfinite(mean, "A", A.col_labels)
    for _ in range(q):
        parts = run_pass(A, _range_chain(n, Z, mean), _wants(center))
        W = parts.atb if mean is None else parts.atb - np.outer(mean, parts.colsum)
        if check.first_look() and not np.isfinite(W).all():
            raise _nonfinite()
        Z = np.linalg.qr(W)[0]
    return Z, mean, col_var


def _range_basis(
    A: Any,
    chain: RowChain,
    center: bool,
    mean: np.ndarray | None,
    first_gram: np.ndarray | None,
    check: _FiniteCheck,
) -> tuple[Any, Orthonormal, np.ndarray]:
    """``(source, Q, B^T)``: ``Q = orth(chain(A))`` by Cholesky-QR and ``B^T = A^T Q``.

    ``source`` is what U's rows are computed from: the stored sketch ``Y``
    when it fits in ``dlinalg.sketch-bytes`` (:func:`_project_stored`), else A
    itself (Q recomputed from A's rows, ``A^T Q`` summed in the last pass).
    """
    m, width = A.shape[0], chain.ncol
    if first_gram is None and m * width * 8 <= parse_bytes(
        dask.config.get("dlinalg.sketch-bytes", SKETCH_BYTES)
    ):
        source, basis, B_t = _project_stored(A, chain, center, mean)
        if check.first_look() and not basis.finite:
            raise _nonfinite()
        return source, basis, B_t
    basis = orthonormalize(
        A, chain, truncate=True, extras=_wants(center), first_gram=first_gram,
        check_finite=check.first_look(),
    )  # fmt: skip
    B_t = basis.atq if mean is None else basis.atq - np.outer(mean, basis.colsum)
    return A, basis, B_t


def _project_stored(
    A: Any, chain: RowChain, center: bool, mean: np.ndarray | None
) -> tuple[Any, Orthonormal, np.ndarray]:
    """``Q = orth(Y)`` from the stored sketch ``Y = chain(A)``, and ``B^T = A^T Q``.

    Y has ``k + p`` columns, a small fraction of A: one pass over A writes it
    to (cluster) memory, Cholesky-QR2 then reads only Y, and one more pass over
    A, zipped with Q's blocks, gives ``A^T Q`` (directly, so to working
    precision). Two products with A instead of four when Y is recomputed;
    the lazy U is a chain on Y, which stays in memory while U is alive.
    """

    Y = tall_factor(A, chain, np.float64).persist()
    basis = orthonormalize(Y, RowChain(chain.ncol), truncate=True, check_finite=False)
    Q = tall_factor(Y, basis.factor(), np.float64)
    if not center:
        return Y, basis, np.asarray(compute(A.T @ Q)[0])
    atq, colsum = compute(A.T @ Q, Q.col_sums())
    return Y, basis, np.asarray(atq) - np.outer(mean, colsum)


def _wants(center: bool) -> tuple[str, ...]:
    return ("atb", "colsum") if center else ("atb",)


def ssvd(
    A: Any, k: int, p: int = 15, q: int = 1, seed: Any = None, *, check_finite: bool = True
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Stochastic (randomized) SVD: the top ``k`` singular triplets of a tall or wide matrix.

    Halko, Martinsson and Tropp's range finder [1]_ with ``p`` extra sample
    vectors and ``q`` power iterations, orthonormalized between iterations,
    in ``q + 2`` passes over A (see the module notes). Dense or sparse, tall
    (``10**6 x 100``) or wide (``10**5 x 2 * 10**4`` sparse): only ``n x (k + p)``
    and ``(k + p) x (k + p)`` matrices are held in memory.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix.
    k : int
        Number of singular triplets, ``1 <= k <= min(m, n)``.
    p : int, default 15
        Oversampling: ``k + p`` random directions (clipped to ``min(m, n)``).
    q : int, default 1
        Power iterations; each costs one pass and sharpens a slowly
        decaying spectrum.
    seed : None, int or numpy.random.Generator
        Seed of the Gaussian test matrix. The result depends on the seed
        only, not on the chunking (up to rounding).
    check_finite : bool, default True
        Raise :class:`~dlinalg.errors.NonFiniteError` if A holds NaN or
        infinity (found in the first pass, at no extra cost).

    Returns
    -------
    U : DRM
        ``m x k`` orthonormal columns, lazy (computed from A when used).
    s : numpy.ndarray
        ``(k,)`` singular values, descending.
    Vt : numpy.ndarray
        ``(k, n)`` right singular vectors; the largest entry of each row is
        positive (scikit-learn's ``svd_flip(u_based_decision=False)``).

    Raises
    ------
    ParameterError
        If k is outside ``1..min(m, n)``, or p or q is negative or not an integer.
    RankDeficientError
        If A's numerical rank is below k.
    NonFiniteError
        If A holds NaN or infinity and ``check_finite`` is true.

    See Also
    --------
    dask.array.linalg.svd_compressed, sklearn.utils.extmath.randomized_svd, spca, svd

    Notes
    -----
    With probability at least ``1 - 3 p**-p`` ([1]_, eq. (1.11) and Section 10),

        ``||A - U diag(s) Vt|| <= sigma_{k+1} + (1 + 9 sqrt(k + p) sqrt(min(m, n)))**(1/(2q+1)) sigma_{k+1}``

    (spectral norm), the first term from truncating the rank-``k + p``
    approximation to rank ``k``.

    References
    ----------
    .. [1] N. Halko, P. G. Martinsson and J. A. Tropp, "Finding structure with
       randomness: probabilistic algorithms for constructing approximate
       matrix decompositions", SIAM Review 53(2), 217-288 (2011).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> rng = np.random.default_rng(0)
    >>> X = (rng.standard_normal((2000, 5)) * [50, 20, 10, 5, 1]) @ rng.standard_normal((5, 300))
    >>> U, s, Vt = dl.ssvd(dl.from_array(X, chunks=500), k=3, seed=0)
    >>> bool(np.allclose(s, np.linalg.svd(X, compute_uv=False)[:3]))
    True
    >>> U.shape, Vt.shape
    ((2000, 3), (3, 300))
    """
    A, k, p, q = _check(A, k, p, q, check_finite)
    return _randomized_svd(A, k, p, q, seed, False, check_finite)[:3]


def spca(
    A: Any, k: int, p: int = 15, q: int = 1, seed: Any = None, *, check_finite: bool = True
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Stochastic PCA: randomized SVD of the column-centred matrix, without densifying it.

    The top ``k`` singular triplets of ``A - 1 mean(A)^T``, computed as
    :func:`ssvd` does with the mean folded into the small matrices (Mahout's
    ``dspca`` [2]_): a sparse A stays sparse in every pass. One more pass
    than ``ssvd``, for the column means.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix (samples in rows).
    k, p, q, seed, check_finite
        As for :func:`ssvd`.

    Returns
    -------
    U : DRM
        ``m x k`` left singular vectors of the centred matrix, lazy.
    s : numpy.ndarray
        ``(k,)`` singular values of the centred matrix; the explained
        variances are ``s**2 / (m - 1)``.
    Vt : numpy.ndarray
        ``(k, n)`` principal axes, signs as in :func:`ssvd`.

    Raises
    ------
    ParameterError, RankDeficientError, NonFiniteError
        As for :func:`ssvd`.

    See Also
    --------
    ssvd, sklearn.decomposition.PCA, dlinalg.models.PCA

    References
    ----------
    .. [1] N. Halko, P. G. Martinsson and J. A. Tropp, SIAM Review 53(2),
       217-288 (2011).
    .. [2] D. Lyubimov and A. Palumbo, "Apache Mahout: Beyond MapReduce"
       (2016): distributed stochastic PCA (``dspca``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, dlinalg as dl
    >>> X = sp.random(2000, 50, density=0.2, random_state=0, format="csr")
    >>> X = sp.csr_array(X @ sp.diags(0.7 ** np.arange(50)))  # decaying column scales
    >>> U, s, Vt = dl.spca(dl.from_array(X, chunks=500), k=3, seed=0)
    >>> C = X.toarray() - X.toarray().mean(axis=0)
    >>> bool(np.allclose(s, np.linalg.svd(C, compute_uv=False)[:3], rtol=1e-6))
    True
    """
    res = randomized_pca(A, k, p, q, seed, check_finite=check_finite)
    return res.U, res.s, res.Vt


def randomized_pca(
    A: Any, k: int, p: int = 15, q: int = 1, seed: Any = None, *, check_finite: bool = True
) -> PCAResult:
    """:func:`spca` plus the column means and variances (one pass for both), for dlinalg.models.PCA.

    Returns
    -------
    PCAResult
        ``U, s, Vt`` as :func:`spca` gives them, with ``mean``, ``col_var`` (``ddof=1``) and ``n_samples``.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.decomp.randomized import randomized_pca
    >>> X = np.random.default_rng(0).standard_normal((400, 6)) + 3
    >>> res = randomized_pca(dl.from_array(X, chunks=100), k=2, seed=0)
    >>> bool(np.allclose(res.mean, X.mean(axis=0))), res.n_samples
    (True, 400)
    """
    A, k, p, q = _check(A, k, p, q, check_finite)
    U, s, Vt, mean, col_var = _randomized_svd(A, k, p, q, seed, True, check_finite)
    return PCAResult(U, s, Vt, mean, col_var, A.shape[0])
