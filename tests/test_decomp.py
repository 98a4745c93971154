"""Decompositions against the truth: numpy.linalg / scipy on the dense copy.

``dl.qr``, ``dl.svd``, ``dl.ssvd``, ``dl.spca``, ``dl.eigh_gram``,
``comoments`` and ``randomized_pca`` (the contract is docs of issue 3). The
table tests run dense and sparse, float32 and float64, over a table of row
chunkings, on the synchronous scheduler and on a LocalCluster; the numerical
tests (condition numbers, known spectra, error bounds) run on the
synchronous scheduler on matrices of a few hundred to a few thousand rows.

Tolerances are stated where they are used, with where they come from.
``eps`` is float64's machine epsilon, 2.2e-16; float32's is 1.2e-7.
"""

from __future__ import annotations

import functools
import re

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from dlinalg import errors

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps

# (shape, chunks) — what each row exercises
CHUNKINGS = [
    ((40, 6), None),  # one chunk (the default for small data)
    ((40, 6), 10),  # many equal row chunks
    ((43, 6), 10),  # uneven last chunk, of 3 rows: a block with fewer rows than columns
    ((41, 5), (1, 20, 7, 13)),  # explicit, irregular row blocks, a 1-row block
    ((64, 7), "dask-colchunks"),  # a dask input with column chunks (merged on input)
]
CHUNK_IDS = ["one", "many", "uneven", "irregular", "colchunks"]
DTYPES = [np.float32, np.float64]
METHODS = ["auto", "cholqr2", "tsqr"]


# ----------------------------------------------------------------------------- helpers


def make(shape, chunks, dtype, sparse, seed=0):
    """Return (float64 numpy truth, DRM) for one table case.

    The truth is the float64 copy of the (possibly float32) data, so float32
    cases measure only the decomposition's error, not the input's rounding.
    """
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random_array(shape, density=0.3, rng=rng, format="csr", dtype=dtype)
        X.data = (X.data - 0.5).astype(dtype)
        dense = X.toarray()
    else:
        dense = rng.standard_normal(shape).astype(dtype)
        X = dense
    if chunks == "dask-colchunks":
        x = da.from_array(X, chunks=(16, 3), asarray=not sparse)
        return dense.astype(np.float64), dl.from_array(x)
    return dense.astype(np.float64), dl.from_array(X, chunks=chunks)


def npy(x):
    """A lazy result, a DRM, a sparse or a numpy value as a numpy array."""
    if hasattr(x, "compute"):
        x = x.compute()
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def f64(x):
    return npy(x).astype(np.float64)


def orth_err(Q):
    """||Q^T Q - I||_2, in float64."""
    Q = f64(Q)
    return np.linalg.norm(Q.T @ Q - np.eye(Q.shape[1]), 2)


def rel_resid(X, approx):
    """||X - approx||_F / ||X||_F."""
    return np.linalg.norm(X - approx) / np.linalg.norm(X)


def pos_diag_rows(R):
    """numpy's R with rows flipped to a non-negative diagonal (the contract's convention)."""
    d = np.where(np.diag(R) < 0, -1.0, 1.0)
    return d[:, None] * R


def flip_rows(U, Vt):
    """sklearn's svd_flip(u_based_decision=False): largest-|.| entry of each Vt row > 0."""
    signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
    return U * signs, Vt * signs[:, None]


def flip_cols(V):
    """Largest-|.| entry of each column of V positive (eigh_gram's sign rule)."""
    return V * np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])])


def assert_row_sign_rule(Vt):
    Vt = f64(Vt)
    assert np.all(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)] > 0)


def assert_col_sign_rule(V):
    V = f64(V)
    assert np.all(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])] > 0)


def svd_truth(X):
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    U, Vt = flip_rows(U, Vt)
    return U, s, Vt


def centred(X):
    return X - X.mean(axis=0)


def vector_tol(dtype, s, k):
    """Tolerance on the first k singular (or eigen) vectors, from Wedin's sin-theta theorem.

    A backward error of c*eps*||A|| moves the j-th singular vector by about
    c*eps*s[0] / gap_j (gap_j: distance of s[j] to its nearest neighbour);
    c = 100 covers the small dense factorisations on top of the pass. float32
    outputs add their own rounding, a few eps32 per entry.
    """
    gaps = np.abs(np.diff(s[: min(k + 1, len(s))]))
    gap = gaps[:k].min() if len(gaps) else s[0]
    tol = 100 * EPS64 * s[0] / gap
    return tol + (10 * EPS32 if np.dtype(dtype) == np.float32 else 0.0)


def with_spectrum(m, n, s, seed):
    """m x n matrix U diag(s) V^T with random orthonormal U, V: its singular values are s."""
    rng = np.random.default_rng(seed)
    r = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    return (U * s) @ V.T


def bits(x):
    x = npy(x)
    return x.dtype.str, x.shape, x.tobytes()


# The cluster run checks that each plan pickles and runs on real workers; the input
# conversions (one block, dask column chunks) and the float32 casts do not depend on the
# scheduler, so the cluster runs float64 on two chunkings (a third of the table's time).
CLUSTER_ROWS = ("many", "irregular")
TABLE = [
    pytest.param(
        case,
        dtype,
        sparse,
        sched,
        id=f"{cid}-{np.dtype(dtype).name}-{'sparse' if sparse else 'dense'}-{sched}",
    )
    for case, cid in zip(CHUNKINGS, CHUNK_IDS, strict=True)
    for dtype in DTYPES
    for sparse in (False, True)
    for sched in ("sync", "distributed")
    if sched == "sync" or (dtype == np.float64 and cid in CLUSTER_ROWS)
]
over_the_table = pytest.mark.parametrize(
    ("case", "dtype", "sparse", "scheduler"), TABLE, indirect=["scheduler"]
)


# float64: the contract's 1e-13 (~450 eps; CholQR2 and Householder TSQR reach
# O(eps * sqrt(n)) in practice, the bound leaves room for the m-term sums).
# float32: Q is rounded to float32 on output; that alone moves Q^T Q by up to
# 2 * eps32 * ||Q||_F = 2 * eps32 * sqrt(n), ~7e-7 for n = 7: 1e-5 leaves margin.
def orth_tol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-13


# float64: 1e-14 (~45 eps) on ||A - QR||_F / ||A||_F: the backward error of a
# Householder or Cholesky QR is a small multiple of eps * sqrt(n) for n <= 60.
# float32: rounding Q and R to float32 adds eps32 * (||Q||_F + ...) ~ eps32 * sqrt(n)
# relative, ~3e-7 for n = 7: 1e-5 leaves margin.
def resid_tol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-14


# R against numpy's R (sign-normalised) on well-conditioned input: both are
# backward stable, so they differ by O(cond(A) * eps) ~ 1e-15 for these cond ~ 10
# matrices; the contract's 1e-10 (float64), and float32 output rounding ~1e-7
# amplified by cond: 1e-5.
def r_tol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-10


# Singular values / eigenvalues against numpy (relative): float64 1e-12 (the
# contract's; a backward-stable method gives |ds| <= c eps ||A||, ~1e-15
# relative for these cond ~ 10 matrices); float32 outputs are rounded to
# float32 (6e-8 relative) after a float64 computation: 1e-6.
def s_tol(dtype):
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


# ----------------------------------------------------------------------------- qr


@over_the_table
def test_qr_matches_numpy(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    R_np = pos_diag_rows(np.linalg.qr(X, mode="r"))
    n = X.shape[1]
    for method in METHODS:
        Q, R = dl.qr(A, method=method)
        assert isinstance(Q, dl.DRM), method
        assert not Q.is_sparse, method
        assert Q.shape == X.shape, method
        assert Q.chunks == A.chunks, method  # row blocks like A
        assert isinstance(R, np.ndarray), method
        assert R.shape == (n, n), method
        assert Q.dtype == dtype, method
        assert R.dtype == dtype, method
        Qn = f64(Q)
        Rn = R.astype(np.float64)
        np.testing.assert_array_equal(np.tril(Rn, -1), 0, err_msg=method)
        assert np.all(np.diag(Rn) > 0), method  # full rank: positive diagonal
        assert orth_err(Qn) <= orth_tol(dtype), method
        assert rel_resid(X, Qn @ Rn) <= resid_tol(dtype), method
        np.testing.assert_allclose(
            Rn, R_np, rtol=r_tol(dtype), atol=r_tol(dtype) * np.abs(R_np).max(), err_msg=method
        )


# Singular values spaced geometrically from 1 down to 1/cond.
CONDS = [
    1e0,  # orthonormal columns times a scalar: the trivial case
    1e4,  # ill-conditioned Gram (1e8) that CholQR2 still handles
    1e8,  # Gram condition 1e16 ~ 1/eps: CholQR2 fails, needs shifted CholQR3 or TSQR
]


def conditioned(cond, m=600, n=20, seed=3):
    return with_spectrum(m, n, np.geomspace(1.0, 1.0 / cond, n), seed)


@pytest.mark.parametrize("cond", CONDS, ids=["cond1", "cond1e4", "cond1e8"])
@pytest.mark.parametrize("method", ["auto", "tsqr"])
def test_qr_condition_sweep(method, cond):
    """Orthogonality does not degrade with the condition number (Fukaya et al. 2020, shifted
    CholQR3: ||Q^T Q - I|| = O(eps) up to cond ~ 1/eps; TSQR is Householder)."""
    X = conditioned(cond)
    A = dl.from_array(X, chunks=150)
    with dask.config.set(scheduler="sync"):
        Q, R = dl.qr(A, method=method)
        Qn = npy(Q)
    assert orth_err(Qn) <= 1e-13  # the contract's bound, for every condition number
    assert rel_resid(X, Qn @ R) <= 1e-14  # backward stable whatever cond (see resid_tol)
    np.testing.assert_array_equal(np.tril(R, -1), 0)
    assert np.all(np.diag(R) > 0)


@pytest.mark.parametrize("cond", CONDS[:2], ids=["cond1", "cond1e4"])
def test_cholqr2_within_its_range(cond):
    """CholQR2 is O(eps)-orthogonal while cond(A) <~ eps^-1/2 (Yamamoto et al. 2015)."""
    X = conditioned(cond)
    with dask.config.set(scheduler="sync"):
        Q, R = dl.qr(dl.from_array(X, chunks=150), method="cholqr2")
        Qn = npy(Q)
    assert orth_err(Qn) <= 1e-13
    assert rel_resid(X, Qn @ R) <= 1e-14


@pytest.mark.parametrize("cond", [1e8, 1e12], ids=["cond1e8", "cond1e12"])
def test_cholqr2_never_returns_a_bad_q(cond):
    """Beyond CholQR2's range (contract: cond > ~1e6 estimated) method='cholqr2' raises
    RankDeficientError naming method='auto', or, if its steps did orthogonalise, returns a
    Q as good as auto's. At cond 1e12 the Gram (cond 1e24) is singular to working precision:
    no unshifted Cholesky step can orthogonalise, it must raise."""
    X = conditioned(cond)
    A = dl.from_array(X, chunks=150)
    refused = None
    with dask.config.set(scheduler="sync"):
        try:
            Q, R = dl.qr(A, method="cholqr2")
            Qn = npy(Q)
        except errors.RankDeficientError as err:
            refused = str(err)
    if refused is not None:
        assert "auto" in refused, refused
        return
    assert cond < 1e12, "cholqr2 returned a factorisation of a cond-1e12 matrix"
    assert orth_err(Qn) <= 1e-13
    assert rel_resid(X, Qn @ R) <= 1e-14


@pytest.mark.parametrize("cond", CONDS, ids=["cond1", "cond1e4", "cond1e8"])
def test_svd_singular_values_whatever_the_condition(cond):
    """Absolute error of a backward-stable SVD: |s_i - sigma_i| <= c eps ||A||_2.

    1e-12 * s_0 (~4500 eps) covers Q's 1e-13 orthogonality error; a Gram-based
    eigen-solver would be off by ~sqrt(eps) * s_0 = 1e-8 * s_0 on the small ones.
    """
    X = conditioned(cond)
    s_true = np.linalg.svd(X, compute_uv=False)
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.svd(dl.from_array(X, chunks=150))
        Un = npy(U)
    np.testing.assert_allclose(s, s_true, rtol=0, atol=1e-12 * s_true[0])
    assert orth_err(Un) <= 1e-13
    assert orth_err(Vt.T) <= 1e-13


# Rank-deficient inputs: (name, builder, numerical rank)
RANK_DEFICIENT = [
    # 300 x 8 of rank 3: a product of 300 x 3 and 3 x 8 Gaussians (sigma_4 ~ 1e-15 sigma_1)
    pytest.param(
        lambda rng: rng.standard_normal((300, 3)) @ rng.standard_normal((3, 8)), 3, id="rank3of8"
    ),
    # 300 x 6 whose last column repeats column 1 exactly: rank 5
    pytest.param(
        lambda rng: rng.standard_normal((300, 5))[:, [0, 1, 2, 3, 4, 1]], 5, id="duplicate-column"
    ),
]


@pytest.mark.parametrize(("build", "rank"), RANK_DEFICIENT)
@pytest.mark.parametrize("method", ["auto", "cholqr2"])
def test_qr_rank_deficient_raises(method, build, rank):
    X = build(np.random.default_rng(11))
    assert np.linalg.matrix_rank(X) == rank
    A = dl.from_array(X, chunks=70)
    with dask.config.set(scheduler="sync"), pytest.raises(errors.RankDeficientError) as info:
        dl.qr(A, method=method)
    assert isinstance(info.value, np.linalg.LinAlgError)
    assert isinstance(info.value, ValueError)
    # the message names the numerical rank
    assert re.search(rf"rank\D{{0,40}}\b{rank}\b", str(info.value)), str(info.value)


@pytest.mark.parametrize(("build", "rank"), RANK_DEFICIENT)
def test_tsqr_rank_deficient_is_still_a_qr(build, rank):
    """TSQR needs no pivoting: Q orthonormal, QR = A, R has ~0 diagonal entries."""
    X = build(np.random.default_rng(11))
    A = dl.from_array(X, chunks=70)
    with dask.config.set(scheduler="sync"):
        Q, R = dl.qr(A, method="tsqr")
        Qn = npy(Q)
    assert orth_err(Qn) <= 1e-13
    assert rel_resid(X, Qn @ R) <= 1e-14
    np.testing.assert_array_equal(np.tril(R, -1), 0)
    assert np.all(np.diag(R) >= 0)
    # n - rank diagonal entries are at rounding level: |r_jj| <= 1e-12 ||R||
    # (the exact value is 0; Householder leaves O(eps ||A||))
    small = np.sort(np.abs(np.diag(R)))[: X.shape[1] - rank]
    assert np.all(small <= 1e-12 * np.abs(R).max())


# Mahout's math-scala DistributedDecompositionsSuiteBase, "thin distributed qr":
# dqrThin on this 5 x 4 matrix in 2 partitions (cond ~ 101).
MAHOUT_A = np.array(
    [[1, 2, 3, 4], [2, 3, 4, 5], [3, -4, 5, 6], [4, 5, 6, 7], [8, 6, 7, 8]], dtype=float
)


@pytest.mark.parametrize("method", METHODS)
def test_mahout_dqr_thin(method, scheduler):
    A = dl.from_array(MAHOUT_A, chunks=(3, 2))  # numPartitions = 2
    Q, R = dl.qr(A, method=method)
    assert Q.chunks == A.chunks  # Mahout: Q is identically partitioned to A
    Qn = npy(Q)
    Q_np, R_np = np.linalg.qr(MAHOUT_A)
    d = np.where(np.diag(R_np) < 0, -1.0, 1.0)
    # Mahout checks Q'Q = I entrywise to 1e-10; we check the 2-norm to the contract's 1e-13
    assert orth_err(Qn) <= 1e-13
    assert rel_resid(MAHOUT_A, Qn @ R) <= 1e-14
    # Mahout: R and Q against the in-core (Cholesky) control to 1e-10
    np.testing.assert_allclose(R, d[:, None] * R_np, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(Qn, Q_np * d, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- svd


@over_the_table
def test_svd_matches_numpy(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    U_np, s_np, Vt_np = svd_truth(X)
    n = X.shape[1]
    U, s, Vt = dl.svd(A)
    assert isinstance(U, dl.DRM)
    assert U.shape == X.shape
    assert U.chunks == A.chunks
    assert s.shape == (n,)
    assert Vt.shape == (n, n)
    assert U.dtype == s.dtype == Vt.dtype == dtype
    Un = f64(U)
    np.testing.assert_allclose(s, s_np, rtol=s_tol(dtype))
    assert np.all(np.diff(s) <= 0)  # descending
    assert_row_sign_rule(Vt)
    assert orth_err(Un) <= orth_tol(dtype)
    assert rel_resid(X, (Un * s.astype(np.float64)) @ Vt.astype(np.float64)) <= resid_tol(dtype)
    tol = vector_tol(dtype, s_np, n)
    np.testing.assert_allclose(Vt, Vt_np, rtol=0, atol=tol)
    np.testing.assert_allclose(Un, U_np, rtol=0, atol=tol)


# ----------------------------------------------------------------------------- ssvd / spca


@over_the_table
def test_ssvd_and_spca_over_chunkings(case, dtype, sparse, scheduler):
    """k = 3 with the default p = 15: k + p is clipped to min(m, n) <= 7, so the sketch
    spans the whole range and the result is the exact top-3 SVD.

    float64 tolerance 1e-11 (relative): rounding only, amplified by
    cond(A Omega) * cond(A)^(2q) ~ 1e3 for these Gaussian matrices: ~2e-13, 50x margin.
    """
    X, A = make(*case, dtype, sparse)
    k = 3
    tol = 1e-6 if dtype == np.float32 else 1e-11
    for name, fn, truth in [
        ("ssvd", dl.ssvd, X),
        ("spca", dl.spca, centred(X)),
    ]:
        U_t, s_t, Vt_t = svd_truth(truth)
        U, s, Vt = fn(A, k, seed=0)
        assert U.shape == (X.shape[0], k), name
        assert s.shape == (k,), name
        assert Vt.shape == (k, X.shape[1]), name
        assert U.dtype == s.dtype == Vt.dtype == dtype, name
        Un = f64(U)
        np.testing.assert_allclose(s, s_t[:k], rtol=tol, err_msg=name)
        assert_row_sign_rule(Vt)
        assert orth_err(Un) <= orth_tol(dtype), name
        vtol = vector_tol(dtype, s_t, k) * 10
        np.testing.assert_allclose(Vt, Vt_t[:k], rtol=0, atol=vtol, err_msg=name)
        np.testing.assert_allclose(Un, U_t[:, :k], rtol=0, atol=vtol, err_msg=name)


def heavy_tail(r, k=10):
    """1000/j^2 for the first k values (1000 ... 10), then a flat tail from 1 to 0.5."""
    return np.concatenate([1000.0 / np.arange(1, k + 1) ** 2, np.linspace(1, 0.5, r - k)])


def scaled_sparse(shape, scales, seed, density=0.1, shift=-0.5):
    """A sparse random matrix with its columns (tall) or rows (wide) scaled by ``scales``.

    The non-zeros are uniform in [shift, shift + 1) before scaling (shift > 0
    gives non-zero column means). Scaling keeps the sparsity pattern and gives a
    spectrum that follows the scales (the columns/rows are nearly orthogonal).
    """
    rng = np.random.default_rng(seed)
    S = sp.random_array(shape, density=density, rng=rng, format="csr")
    S.data += shift
    if shape[0] >= shape[1]:
        return (S @ sp.diags_array(scales[: shape[1]])).tocsr()
    return (sp.diags_array(scales[: shape[0]]) @ S).tocsr()


SHAPES = [
    ((2000, 50), 500),  # tall, 4 row blocks
    ((300, 2000), 100),  # wide: 300 x 2000 in 3 row blocks
]


@functools.cache
def bound_case(shape, sparse, k):
    """(dense truth, input, singular values) for the error-bound test, built once per shape
    (the three q share it; nothing mutates them)."""
    r = min(shape)
    if sparse:
        data = scaled_sparse(shape, heavy_tail(r, k), seed=5)
        X = data.toarray()
    else:
        X = data = with_spectrum(*shape, heavy_tail(r, k), seed=5)
    return X, data, np.linalg.svd(X, compute_uv=False)


@pytest.mark.parametrize("q", [0, 1, 2])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize(("shape", "chunks"), SHAPES, ids=["tall", "wide"])
def test_ssvd_error_bound(shape, chunks, sparse, q):
    """Halko, Martinsson & Tropp (SIAM Review 2011).

    * Section 1.5 (the simplified bound quoted there; the full statement is
      Section 10.3): with a Gaussian test matrix of k + p columns,
      ||A - Q Q^T A||_2 <= [1 + 9 sqrt(k+p) sqrt(min(m,n))] sigma_{k+1}
      except with probability <= 3 p^-p (7e-18 for the default p = 15).
    * Section 10.4 via Theorem 9.2 (the power scheme): applying it to
      B = (A A^T)^q A, whose singular values are sigma_j^(2q+1), gives
      ||A - Q Q^T A||_2 <= [1 + 9 sqrt(k+p) sqrt(min(m,n))]^(1/(2q+1)) sigma_{k+1}.
    * Truncating Q Q^T A to rank k adds at most sigma_{k+1} (Section 9.3), so
      ||A - U_k S_k V_k^T||_2 <= sigma_{k+1} + [...]^(1/(2q+1)) sigma_{k+1}.
    * Weyl: since s are the singular values of Q^T A,
      sigma_j - ||A - Q Q^T A|| <= s_j <= sigma_j.
    The spectrum falls 1000 -> 10 over the first k = 10 values then has a
    heavy flat tail (sigma_11 = 1): a wrong subspace misses by ~sigma_1 = 1000.
    """
    k, p = 10, 15
    r = min(shape)
    X, data, sigma = bound_case(shape, sparse, k)
    A = dl.from_array(data, chunks=chunks)
    assert A.is_sparse == sparse
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.ssvd(A, k, p=p, q=q, seed=1)
        Un = npy(U)
    factor = (1 + 9 * np.sqrt(k + p) * np.sqrt(r)) ** (1 / (2 * q + 1))
    err = np.linalg.norm(X - (Un * s) @ Vt, 2)
    assert err <= (1 + factor) * sigma[k]
    assert err >= sigma[k] * (1 - 1e-12)  # Eckart-Young: no rank-k matrix does better
    # rounding slack on both sides: 1e-12 * sigma_1 (~4500 eps * ||A||)
    assert np.all(s <= sigma[:k] + 1e-12 * sigma[0])
    assert np.all(s >= sigma[:k] - factor * sigma[k] - 1e-12 * sigma[0])
    assert orth_err(Un) <= 1e-13
    assert orth_err(Vt.T) <= 1e-13
    assert_row_sign_rule(Vt)


FAST_DECAY = [
    # Mahout's dspca spectrum: 300 e^-x, x = 0..39, floored at 1e-3 (a flat tail of 17 values)
    pytest.param((500, 40), 125, "mahout", False, 1, id="tall-mahout-q1"),
    pytest.param((500, 40), 125, "mahout", False, 2, id="tall-mahout-q2"),
    # the same without the floor: down to 3e-15, numerically rank ~35 (cond(A Omega) ~ 1e9)
    pytest.param((500, 40), 125, "pure", False, 1, id="tall-pure-exp-q1"),
    # wide, 300 x 2000: the floor leaves a tail of 287 values at 1e-3
    pytest.param((300, 2000), 100, "pure", False, 1, id="wide-pure-exp-q1"),
    pytest.param((300, 2000), 100, "mahout", False, 1, id="wide-mahout-q1"),
    # sparse, columns (tall) or rows (wide) scaled by 300 e^-x
    pytest.param((500, 40), 125, "pure", True, 2, id="tall-sparse-q2"),
    pytest.param((300, 2000), 100, "pure", True, 1, id="wide-sparse-q1"),
]


def fast_decay(shape, kind, sparse, seed=7):
    r = min(shape)
    scales = 300 * np.exp(-np.arange(r))
    if kind == "mahout":
        scales = np.maximum(scales, 1e-3)
    if sparse:
        Xs = scaled_sparse(shape, scales, seed)
        return Xs.toarray(), Xs
    X = with_spectrum(*shape, scales, seed)
    return X, X


@pytest.mark.parametrize(("shape", "chunks", "kind", "sparse", "q"), FAST_DECAY)
def test_ssvd_fast_decay_is_accurate(shape, chunks, kind, sparse, q):
    """With a fast-decaying spectrum and q >= 1, ssvd is as accurate as a dense SVD.

    Top-k singular values to 1e-10 relative (a numpy prototype of the same
    algorithm reaches 6e-14 on every row here). Vectors: rounding (Wedin's
    bound, ``vector_tol``, times 1e3 for the power iteration) plus the sketch's
    own error, which for subspace iteration falls like (s_{k+p+1} / s_k)^(2q+1)
    (Gu 2015, Thm 5.8); times sqrt(min(m, n)) * 10 for the constants. On the
    wide floored spectrum at q = 1 that is 9e-6 (the prototype: 5e-8).
    """
    k, p = 8, 15
    X, data = fast_decay(shape, kind, sparse)
    A = dl.from_array(data, chunks=chunks)
    U_t, s_t, Vt_t = svd_truth(X)
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.ssvd(A, k, p=p, q=q, seed=2)
        Un = npy(U)
    np.testing.assert_allclose(s, s_t[:k], rtol=1e-10)
    assert orth_err(Un) <= 1e-13
    assert orth_err(Vt.T) <= 1e-13
    assert_row_sign_rule(Vt)
    sketch = 10 * np.sqrt(min(shape)) * (s_t[k + p] / s_t[k - 1]) ** (2 * q + 1)
    tol = vector_tol(np.float64, s_t, k) * 1e3 + sketch
    np.testing.assert_allclose(Vt, Vt_t[:k], rtol=0, atol=tol)
    np.testing.assert_allclose(Un, U_t[:, :k], rtol=0, atol=tol)


@pytest.mark.parametrize("chunks", [None, 100, 77, (1, 299, 300)], ids=lambda c: f"chunks={c}")
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_ssvd_does_not_depend_on_the_chunking(chunks, sparse):
    """Same seed, different row chunkings: the same result up to rounding (1e-12 relative:
    the reductions sum in a different order, ~eps * s_0/s_k for the last vectors, here 1e-14).
    The reference is the one-block matrix."""
    _, data = fast_decay((600, 40), "mahout", sparse, seed=3)
    k = 5
    with dask.config.set(scheduler="sync"):
        U0, s0, Vt0 = dl.ssvd(dl.from_array(data, chunks=600), k, seed=42)
        U, s, Vt = dl.ssvd(dl.from_array(data, chunks=chunks), k, seed=42)
        U0, U = npy(U0), npy(U)
    np.testing.assert_allclose(s, s0, rtol=1e-12)
    np.testing.assert_allclose(Vt, Vt0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(U, U0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("q", [0, 1, 2])
def test_mahout_dssvd_naive(q, scheduler):
    """Mahout's DistributedDecompositionsSuiteBase "dssvd - the naive-est - q=0" and
    "ddsvd - naive - q=1/q=2": dssvd(A, k=4, q) of the 5 x 4 dqrThin matrix.

    k = 4 = min(m, n): p is clipped to 0 and the sketch spans range(A), so the
    factorisation is exact. Mahout asserts ||A - U diag(s) V^T||_F < 1e-5; we
    assert 1e-12 relative (rounding amplified by cond(A)^(2q+1) * cond(Omega)
    <~ 1e3 here at q = 1; at q = 2 the power iterate must be re-orthonormalised).
    """
    A = dl.from_array(MAHOUT_A, chunks=(3, 2))
    U, s, Vt = dl.ssvd(A, k=4, q=q, seed=0)
    Un = npy(U)
    assert Un.shape == (5, 4)
    assert rel_resid(MAHOUT_A, (Un * s) @ Vt) <= 1e-12
    np.testing.assert_allclose(s, np.linalg.svd(MAHOUT_A, compute_uv=False), rtol=1e-12)
    assert orth_err(Un) <= 1e-13


@pytest.mark.parametrize("shape", [(100, 12), (12, 100)], ids=["tall", "wide"])
@pytest.mark.parametrize("fn", ["ssvd", "spca"])
def test_oversampling_is_clipped(fn, shape):
    """k + p = 5 + 15 > min(m, n) = 12 is clipped (no error); the sketch then spans the
    whole range and the top-5 is exact (1e-11 relative, as in the chunkings table)."""
    X = np.random.default_rng(4).standard_normal(shape)
    truth = centred(X) if fn == "spca" else X
    with dask.config.set(scheduler="sync"):
        U, s, Vt = getattr(dl, fn)(dl.from_array(X, chunks=30), 5, p=15, seed=0)
        Un = npy(U)
    assert Un.shape == (shape[0], 5)
    assert Vt.shape == (5, shape[1])
    np.testing.assert_allclose(s, np.linalg.svd(truth, compute_uv=False)[:5], rtol=1e-11)
    assert orth_err(Un) <= 1e-13


@pytest.mark.parametrize("k", [3, 5])
def test_ssvd_low_rank_input(k):
    """A matrix of exact rank 5 with k + p = k + 15 > 5: the sketch A Omega is rank-deficient,
    its orthonormalisation must cope. The top-k singular values are exact (1e-10 relative)."""
    rng = np.random.default_rng(8)
    X = (rng.standard_normal((400, 5)) * [50, 20, 10, 5, 2]) @ rng.standard_normal((5, 30))
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.ssvd(dl.from_array(X, chunks=100), k, seed=0)
        Un = npy(U)
    np.testing.assert_allclose(s, np.linalg.svd(X, compute_uv=False)[:k], rtol=1e-10)
    assert orth_err(Un) <= 1e-13
    assert orth_err(Vt.T) <= 1e-13


def test_ssvd_accepts_a_generator_seed():
    X, _ = fast_decay((500, 40), "pure", False)
    s_t = np.linalg.svd(X, compute_uv=False)
    with dask.config.set(scheduler="sync"):
        _, s, _ = dl.ssvd(dl.from_array(X, chunks=100), 4, seed=np.random.default_rng(9))
        _, s_none, _ = dl.ssvd(dl.from_array(X, chunks=100), 4, seed=None)
    np.testing.assert_allclose(s, s_t[:4], rtol=1e-10)  # as in the fast-decay test
    np.testing.assert_allclose(s_none, s_t[:4], rtol=1e-10)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_spca_equals_the_svd_of_the_centred_matrix(sparse):
    """Fast-decaying spectrum with a large column mean (every entry shifted by 5 on a
    support): top-k of the explicitly centred matrix to 1e-10 relative, the same
    subspaces (|U^T U_ref| = I to 1e-8) and, with the sign rule, the same vectors."""
    rng = np.random.default_rng(12)
    m, n, k = 500, 40, 6
    scales = 300 * np.exp(-np.arange(n) / 2)
    if sparse:
        S = sp.random_array((m, n), density=0.2, rng=rng, format="csr")
        S.data += 5.0  # non-zero column means: centring matters
        data = (S @ sp.diags_array(scales)).tocsr()
        X = data.toarray()
    else:
        X = rng.standard_normal((m, n)) * scales + 5 * scales
        data = X
    assert np.abs(X.mean(axis=0)).max() > 10
    U_t, s_t, Vt_t = svd_truth(centred(X))
    s_raw = np.linalg.svd(X, compute_uv=False)[:k]
    assert not np.allclose(s_raw, s_t[:k], rtol=1e-3)  # the uncentred SVD is far off
    A = dl.from_array(data, chunks=125)
    assert A.is_sparse == sparse
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.spca(A, k, seed=3)
        Un = npy(U)
    np.testing.assert_allclose(s, s_t[:k], rtol=1e-10)
    np.testing.assert_allclose(np.abs(Un.T @ U_t[:, :k]), np.eye(k), atol=1e-8)
    np.testing.assert_allclose(np.abs(Vt @ Vt_t[:k].T), np.eye(k), atol=1e-8)
    assert_row_sign_rule(Vt)
    np.testing.assert_allclose(Vt, Vt_t[:k], atol=1e-8)
    assert orth_err(Un) <= 1e-13
    # U's columns are centred: they live in the range of the centred matrix
    np.testing.assert_allclose(Un.sum(axis=0), 0, atol=1e-10)


_SPARSE_CLASSES = [
    getattr(sp, f"{fmt}_{kind}")
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
    for kind in ("array", "matrix")
]


@pytest.fixture
def no_densify(monkeypatch):
    """Make toarray/todense raise for any sparse matrix with a dimension above ``limit[0]``.

    Small sparse results (an n x n Gram, a (k+p) x n sketch) may be densified;
    a row block of A (more rows than A has columns) may not.
    """
    limit = [None]

    def guard(orig):
        def densify(self, *args, **kwargs):
            if limit[0] is not None and max(self.shape) > limit[0]:
                raise AssertionError(f"a sparse block of shape {self.shape} was densified")
            return orig(self, *args, **kwargs)

        return densify

    for cls in _SPARSE_CLASSES:
        for meth in ("toarray", "todense"):
            monkeypatch.setattr(cls, meth, guard(getattr(cls, meth)))
    return limit


def test_spca_keeps_sparse_blocks_sparse(no_densify):
    """No row block of a sparse A is densified during spca (centring is implicit)."""
    m, n, k = 600, 40, 5
    # non-zero column means: the non-zeros are in [1, 2) before scaling
    Xs = scaled_sparse((m, n), 300 * np.exp(-np.arange(n) / 2), seed=13, density=0.05, shift=1.0)
    X = Xs.toarray()
    _, s_t, Vt_t = svd_truth(centred(X))
    A = dl.from_array(Xs, chunks=150)  # blocks of 150 > n = 40 rows
    assert A.is_sparse
    with dask.config.set(scheduler="sync"):
        no_densify[0] = n
        # the guard works: explicit centring densifies the blocks, and is caught
        with pytest.raises(AssertionError, match="densified"):
            (A - A.col_means()).compute()
        U, s, Vt = dl.spca(A, k, seed=0)
        Un = npy(U)
        no_densify[0] = None
    assert A.is_sparse
    np.testing.assert_allclose(s, s_t[:k], rtol=1e-10)  # as in the centred-SVD test
    np.testing.assert_allclose(Vt, Vt_t[:k], atol=1e-8)
    assert orth_err(Un) <= 1e-13


# Mahout's DistributedDecompositionsSuiteBase "dspca": 500 x 40, spectrum 300 e^-x floored at
# 1e-3, left factor from the QR of a positive random matrix (80% of entries in [5, 6), so
# the columns have a large mean), right factor from the QR of a symmetric uniform matrix - 10.
# Mahout runs k = 10, p = 40 (= the spectrum length, clipped), q = 1 and compares
# |norm(pca[:10, :10]) - norm(control[:10, :10])| < 1e-5, pca = U diag(s).
@pytest.mark.parametrize(("k", "p"), [(10, 40), (8, 15)], ids=["mahout-k10-p40", "k8-p15"])
def test_mahout_dspca(k, p):
    rng = np.random.default_rng(1234)
    m, n = 500, 40
    spectrum = np.maximum(300 * np.exp(-np.arange(n)), 1e-3)
    raw = np.where(rng.random((m, n)) < 0.2, 0.0, rng.random((m, n)) + 5.0)
    u, _ = np.linalg.qr(raw)
    sym = rng.uniform(-1, 1, (n, n))
    tr, _ = np.linalg.qr((sym + sym.T) / 2 - 10.0)
    X = (u * spectrum) @ tr.T
    assert np.abs(X.mean(axis=0)).max() > 1  # centring matters
    Xc = centred(X)
    U_c, s_c, _ = np.linalg.svd(Xc, full_matrices=False)
    with dask.config.set(scheduler="sync"):
        U, s, _ = dl.spca(dl.from_array(X, chunks=250), k, p=p, q=1, seed=0)
        pca = npy(U) * s
    control = U_c[:, :k] * s_c[:k]
    # Mahout's own assertion
    assert abs(np.linalg.norm(pca[:10, :10]) - np.linalg.norm(control[:10, :10])) < 1e-5
    # stronger: singular values to 1e-10 relative, scores column-wise up to sign to
    # 1e-8 * s_0 (Wedin: eps * s_0 / gap, gap >= s_k (e - 1) / e, times 1e3 for q = 1)
    np.testing.assert_allclose(s, s_c[:k], rtol=1e-10)
    signs = np.sign(np.sum(pca * control, axis=0))
    np.testing.assert_allclose(pca * signs, control, rtol=0, atol=1e-8 * s_c[0])


# ----------------------------------------------------------------------------- eigh_gram


@over_the_table
def test_eigh_gram_matches_numpy(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    n = X.shape[1]
    # float64: both sides come from an m-term Gram sum: |dw| <= m eps ||A||^2 ~ 1e-14 w_0;
    # 1e-12 * w_0. float32: output rounding, 1e-6 relative (s_tol).
    wtol = s_tol(dtype)
    for center, ddof, M in [
        (False, 1, X.T @ X),
        (True, 1, np.cov(X.T, ddof=1)),
        (True, 0, np.cov(X.T, ddof=0)),
    ]:
        label = f"center={center}, ddof={ddof}"
        w_t, V_t = np.linalg.eigh(M)
        w_t, V_t = w_t[::-1], flip_cols(V_t[:, ::-1])
        w, V = dl.eigh_gram(A, center=center, ddof=ddof)
        assert w.shape == (n,), label
        assert V.shape == (n, n), label
        assert w.dtype == V.dtype == dtype, label
        np.testing.assert_allclose(w, w_t, rtol=0, atol=wtol * w_t[0], err_msg=label)
        assert np.all(np.diff(w) <= 0), label  # descending
        assert_col_sign_rule(V)
        vtol = vector_tol(dtype, w_t, n)
        np.testing.assert_allclose(V, V_t, rtol=0, atol=vtol, err_msg=label)
        # a subset: the top 2
        w2, V2 = dl.eigh_gram(A, k=2, center=center, ddof=ddof)
        assert w2.shape == (2,), label
        assert V2.shape == (n, 2), label
        np.testing.assert_allclose(w2, w_t[:2], rtol=0, atol=wtol * w_t[0], err_msg=label)
        np.testing.assert_allclose(V2, V_t[:, :2], rtol=0, atol=vtol, err_msg=label)


def test_eigh_gram_covariance_with_a_large_offset():
    """Columns with mean 1e6 and standard deviations 1..5: the covariance eigenvalues to 1e-8
    relative. A one-pass sum of squares cancels ~12 digits here (m * 1e12 against a
    scatter of m * 1..25) and is off by ~1e-4; Chan's pairwise update is not."""
    rng = np.random.default_rng(14)
    X = rng.standard_normal((3000, 5)) * [1, 2, 3, 4, 5] + 1e6
    w_t = np.linalg.eigvalsh(np.cov(X.T, ddof=1))[::-1]  # np.cov centres first: exact
    with dask.config.set(scheduler="sync"):
        w, _ = dl.eigh_gram(dl.from_array(X, chunks=256), center=True)
    np.testing.assert_allclose(w, w_t, rtol=1e-8)


# ----------------------------------------------------------------------------- comoments


@over_the_table
def test_comoments(case, dtype, sparse, scheduler):
    from dlinalg.decomp.moments import comoments

    X, A = make(*case, dtype, sparse)
    count, mean, scatter = comoments(A)
    mean, scatter = npy(mean), npy(scatter)
    assert int(npy(count)) == X.shape[0]
    assert mean.dtype == scatter.dtype == np.float64  # always float64 (contract)
    Xc = centred(X)
    # float64 work precision even for float32 input: m-term sums, ~m eps relative: 1e-12
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12, atol=1e-14)
    want = Xc.T @ Xc
    np.testing.assert_allclose(scatter, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_comoments_of_side_by_side_matrices(sparse, scheduler):
    """comoments(X, Y) is comoments of [X Y] (never built), also when Y's row
    blocks differ from X's (rechunked to them); the same bits for dense X."""
    from dlinalg.decomp.moments import comoments

    rng = np.random.default_rng(15)
    X, Y = rng.standard_normal((1000, 7)) + 3.0, rng.standard_normal((1000, 2)) - 1.0
    if sparse:
        X = X * (rng.uniform(size=X.shape) < 0.3)
    A = dl.from_array(sp.csr_array(X) if sparse else X, chunks=(300, 300, 400))
    B = dl.from_array(Y, chunks=250)
    count, mean, scatter = comoments(A, B)
    whole = comoments(dl.cbind(A, dl.from_array(Y, chunks=(300, 300, 400))))
    XY = np.hstack([X, Y])
    assert count == 1000
    np.testing.assert_allclose(mean, XY.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(scatter, centred(XY).T @ centred(XY), rtol=1e-11, atol=1e-10)
    if not sparse:
        np.testing.assert_array_equal(scatter, whole[2])
    with pytest.raises(ValueError, match="B has 999 rows, A has 1000"):
        comoments(A, dl.from_array(Y[:999], chunks=250))


def test_comoments_with_a_large_offset():
    """1e8 offset, unit variance: the scatter to 1e-6 relative (test_algebra's col_vars
    tolerance for the same data; a sum of squares would lose all digits)."""
    from dlinalg.decomp.moments import comoments

    X = np.random.default_rng(0).standard_normal((1000, 3)) + 1e8
    with dask.config.set(scheduler="sync"):
        _, mean, scatter = comoments(dl.from_array(X, chunks=97))
    Xc = centred(X)
    # the mean of 1e8 + N(0, 1): a few eps relative whatever the summation order
    np.testing.assert_allclose(npy(mean), X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(npy(scatter), Xc.T @ Xc, rtol=1e-6, atol=1e-6 * 1000)


# (row blocks of X, row blocks of the weights), each commented
WEIGHTED_CHUNKS = [
    pytest.param(1000, 1000, id="one-block"),
    pytest.param((300, 300, 400), 250, id="weights-rechunked"),  # weights rechunked to X's
    pytest.param((5, 990, 5), (5, 990, 5), id="weightless-end-blocks"),  # zero-weight blocks
    pytest.param(97, 97, id="many-blocks-uneven-last"),
]


@pytest.mark.parametrize(("chunks", "wchunks"), WEIGHTED_CHUNKS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_comoments_with_weights(sparse, chunks, wchunks):
    """comoments(X, Y, weights=w): total weight, weighted means, sum_i w_i (r_i - mean)(...)^T,
    zero weights dropping rows (the first and last five here), offset 1e4 kept accurate."""
    from dlinalg.decomp.moments import comoments

    rng = np.random.default_rng(16)
    X, Y = rng.standard_normal((1000, 6)) + 1e4, rng.standard_normal((1000, 2))
    if sparse:
        X = X * (rng.uniform(size=X.shape) < 0.3)
    w = rng.uniform(0.0, 3.0, 1000)
    w[:5] = w[-5:] = 0.0
    A = dl.from_array(sp.csr_array(X) if sparse else X, chunks=chunks)
    W = dl.from_array(w.reshape(-1, 1), chunks=wchunks)
    with dask.config.set(scheduler="sync"):
        total, mean, scatter = comoments(A, dl.from_array(Y, chunks=chunks), weights=W)
    XY = np.hstack([X, Y])
    mu = w @ XY / w.sum()
    want = (XY - mu).T @ ((XY - mu) * w[:, None])
    np.testing.assert_allclose(total, w.sum(), rtol=1e-14)
    np.testing.assert_allclose(mean, mu, rtol=1e-13, atol=1e-13)
    # dense: pairwise update, ~1e-12; sparse: X^T W X - W mean mean^T loses ~log10(1e8) digits
    rtol = 1e-7 if sparse else 1e-11
    np.testing.assert_allclose(scatter, want, rtol=rtol, atol=rtol * np.abs(want).max())
    with pytest.raises(ValueError, match="weights have 999 rows, A has 1000"):
        comoments(A, weights=dl.from_array(w[:999].reshape(-1, 1)))


# ----------------------------------------------------------------------------- randomized_pca


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_randomized_pca_is_spca_plus_statistics(sparse):
    from dlinalg.decomp.randomized import randomized_pca

    scales = np.maximum(300 * np.exp(-np.arange(30)), 1e-3)
    if sparse:  # non-zeros in [2, 3) before scaling: non-zero column means
        data = scaled_sparse((400, 30), scales, seed=15, shift=2.0)
        X = data.toarray()
    else:  # a known spectrum plus 2 everywhere
        X = with_spectrum(400, 30, scales, seed=15) + 2.0
        data = X
    A = dl.from_array(data, chunks=90)
    with dask.config.set(scheduler="sync"):
        res = randomized_pca(A, 4, seed=6)
        U, s, Vt = dl.spca(A, 4, seed=6)
        U_res, U = npy(res.U), npy(U)
    # "same numbers as spca": the same algorithm and seed, the mean from another pass at
    # most: 1e-12 relative
    np.testing.assert_allclose(res.s, s, rtol=1e-12)
    np.testing.assert_allclose(res.Vt, Vt, rtol=0, atol=1e-12)
    np.testing.assert_allclose(U_res, U, rtol=0, atol=1e-12)
    assert res.n_samples == X.shape[0]
    np.testing.assert_allclose(npy(res.mean), X.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(npy(res.col_var), X.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(centred(X), compute_uv=False)[:4], rtol=1e-10)


# ----------------------------------------------------------------------------- determinism


def test_repeated_calls_are_bitwise_identical(scheduler):
    """The same call twice on the same scheduler: the same bits (fixed reduction trees,
    seeded sketches)."""
    _, data = fast_decay((600, 20), "pure", False, seed=16)
    A = dl.from_array(data, chunks=(100, 250, 7, 243))

    def runs(call):
        first, second = call(), call()
        assert [bits(x) for x in first] == [bits(x) for x in second]

    for method in METHODS:
        runs(lambda method=method: dl.qr(A, method=method))
    runs(lambda: dl.svd(A))
    runs(lambda: dl.ssvd(A, 5, seed=3))
    runs(lambda: dl.spca(A, 5, seed=3))
    runs(lambda: dl.eigh_gram(A, center=True))
    S = dl.from_array(scaled_sparse((600, 20), np.ones(20), seed=17), chunks=150)
    runs(lambda: dl.spca(S, 5, seed=3))
