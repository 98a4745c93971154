"""svds and eigsh against numpy/SciPy over a table of chunkings, and their bad input."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import dlinalg as dl
from dlinalg.decomp._factors import flip_signs
from dlinalg.errors import (
    NonFiniteError,
    OperandTypeError,
    ParameterError,
    RankDeficientError,
    ShapeError,
)

# (shape, row chunks) of A: each row says what it exercises
SVD_CHUNKINGS = [
    ((300, 40), 300),  # tall, one chunk
    ((300, 40), 50),  # tall, many row chunks
    ((300, 40), 70),  # tall, uneven last chunk (70, 70, 70, 70, 20)
    ((60, 60), 25),  # square, uneven last chunk (25, 25, 10)
    ((40, 300), 15),  # wide: ARPACK on the 300 x 300 A^T A; chunks (15, 15, 10)
]
EIG_CHUNKINGS = [
    (80, 80),  # one chunk
    (80, 10),  # many row chunks
    (80, 30),  # uneven last chunk (30, 30, 20)
]
K = 4
NCV = 10  # fewer products per restart than the default 20: the cluster runs stay short


def cases(table):
    """Every row dense/sparse x float64/float32 on the synchronous scheduler; float64 on the
    LocalCluster too (each product is a round trip there, so the cluster gets fewer rows)."""
    return [
        pytest.param(sched, *row, sparse, dtype, id=f"{sched}-{row}-{kind}-{dtype.__name__}")
        for sched in ("sync", "distributed")
        for row in table
        for sparse, kind in ((False, "dense"), (True, "sparse"))
        for dtype in (np.float64, np.float32)
        if sched == "sync" or dtype == np.float64
    ]


def rectangular(shape, sparse=False, dtype=np.float64, seed=0):
    """Singular values ``10 * 0.7**i`` (top ones well separated); sparse: a third zeroed."""
    m, n = shape
    rng = np.random.default_rng(seed)
    r = min(m, n)
    U = np.linalg.qr(rng.standard_normal((m, r)))[0]
    V = np.linalg.qr(rng.standard_normal((n, r)))[0]
    A = (U * 10 * 0.7 ** np.arange(r)) @ V.T
    if sparse:
        A[np.abs(A) < 0.4 * np.abs(A).std()] = 0
    A = A.astype(dtype)
    return (sp.csr_array(A) if sparse else A), A.astype(np.float64)


def symmetric(n, sparse=False, dtype=np.float64, seed=0, spectrum=None):
    """Eigenvalues ``10 (-0.75)**i`` by default; sparse: small entries zeroed (symmetrically)."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = 10 * (-0.75) ** np.arange(n) if spectrum is None else spectrum
    S = (Q * lam) @ Q.T
    S = (S + S.T) / 2
    if sparse:
        S[np.abs(S) < 0.4 * np.abs(S).std()] = 0
    S = S.astype(dtype)
    return (sp.csr_array(S) if sparse else S), S.astype(np.float64)


def tols(dtype):
    """Values are computed in float64 and rounded to the input's dtype at the end."""
    return {"rtol": 1e-10, "vec": 1e-8, "orth": 1e-10} if dtype == np.float64 else {
        "rtol": 1e-6, "vec": 1e-4, "orth": 1e-5}  # fmt: skip


@pytest.mark.parametrize(
    ("scheduler", "shape", "chunks", "sparse", "dtype"),
    cases(SVD_CHUNKINGS),
    indirect=["scheduler"],
)
def test_svds_against_the_truth(scheduler, shape, chunks, sparse, dtype):
    A, A64 = rectangular(shape, sparse, dtype)
    U, s, Vt = dl.svds(dl.from_array(A, chunks=chunks), k=K, ncv=NCV, seed=0)
    tol = tols(dtype)
    _, s_np, vt_np = np.linalg.svd(A64, full_matrices=False)
    assert isinstance(U, dl.DRM)
    assert U.shape == (shape[0], K)
    assert s.shape == (K,)
    assert Vt.shape == (K, shape[1])
    assert s.dtype == Vt.dtype == U.dtype == dtype
    np.testing.assert_allclose(s, s_np[:K][::-1], rtol=tol["rtol"])  # ascending, as SciPy
    s_sp = spla.svds(A64, k=K, random_state=0, return_singular_vectors=False)
    np.testing.assert_allclose(s, s_sp, rtol=tol["rtol"])
    # signs: the largest entry of each row of Vt is positive
    np.testing.assert_allclose(Vt, flip_signs(None, vt_np[:K][::-1])[1], atol=tol["vec"])
    u = np.asarray(U.compute(), dtype=np.float64)
    np.testing.assert_allclose(u.T @ u, np.eye(K), atol=tol["orth"])
    np.testing.assert_allclose(A64 @ Vt.T.astype(np.float64), u * s, atol=tol["orth"] * s[-1])


@pytest.mark.parametrize(
    ("scheduler", "n", "chunks", "sparse", "dtype"), cases(EIG_CHUNKINGS), indirect=["scheduler"]
)
def test_eigsh_against_the_truth(scheduler, n, chunks, sparse, dtype):
    S, S64 = symmetric(n, sparse, dtype)
    w, v = dl.eigsh(dl.from_array(S, chunks=chunks), k=K, ncv=NCV, seed=0)
    tol = tols(dtype)
    assert w.dtype == v.dtype == dtype
    assert v.shape == (n, K)
    v0 = np.random.default_rng(0).standard_normal(n)
    np.testing.assert_allclose(w, spla.eigsh(S64, K, ncv=NCV, v0=v0)[0], rtol=tol["rtol"])
    lam, vecs = np.linalg.eigh(S64)
    top = np.sort(np.argsort(-np.abs(lam))[:K])  # largest magnitude, in ascending order
    np.testing.assert_allclose(w, lam[top], rtol=tol["rtol"])
    np.testing.assert_allclose(v, flip_signs(None, vecs[:, top].T)[1].T, atol=tol["vec"])
    np.testing.assert_allclose(v.T.astype(float) @ v, np.eye(K), atol=tol["orth"])


@pytest.mark.parametrize("which", ["LM", "SM", "LA", "SA", "BE"])
@pytest.mark.parametrize("vectors", [True, False])
def test_eigsh_which_and_order_like_scipy(which, vectors):
    S, _ = symmetric(40, seed=1, spectrum=np.linspace(-5.1, 10, 40))  # none near 0
    v0 = np.random.default_rng(3).standard_normal(40)
    ref = spla.eigsh(S, 3, which=which, v0=v0, return_eigenvectors=vectors)
    with dask.config.set(scheduler="sync"):
        out = dl.eigsh(dl.from_array(S, chunks=15), 3, which=which, seed=3,
                       return_eigenvectors=vectors)  # fmt: skip
    if vectors:
        np.testing.assert_allclose(out[0], ref[0], rtol=1e-10)
        np.testing.assert_allclose(np.abs(out[1]), np.abs(ref[1]), atol=1e-8)
    else:  # SciPy orders the values differently without vectors; so do we
        np.testing.assert_allclose(out, ref, rtol=1e-10)


def test_svds_return_singular_vectors():
    A, _ = rectangular((120, 30))
    with dask.config.set(scheduler="sync"):
        U, s, Vt = dl.svds(dl.from_array(A, chunks=50), k=3, seed=1)
        s_only = dl.svds(A, k=3, seed=1, return_singular_vectors=False)
        u_only = dl.svds(A, k=3, seed=1, return_singular_vectors="u")
        vh_only = dl.svds(A, k=3, seed=1, return_singular_vectors="vh")
    np.testing.assert_allclose(s_only, s, rtol=1e-12)
    assert u_only[2] is None
    assert vh_only[0] is None
    np.testing.assert_allclose(u_only[0].compute(), U.compute(), atol=1e-12)
    np.testing.assert_allclose(vh_only[2], Vt, atol=1e-12)
    # SciPy's conventions for the same flags (shapes and order of s)
    ref = spla.svds(A, k=3, random_state=1, return_singular_vectors="vh")
    assert ref[0] is None
    assert ref[2].shape == Vt.shape
    np.testing.assert_allclose(ref[1], s, rtol=1e-10)


def test_reproducible_whatever_the_chunking():
    A, _ = rectangular((200, 30))
    with dask.config.set(scheduler="sync"):
        runs = [dl.svds(dl.from_array(A, chunks=c), k=3, seed=7) for c in (200, 64, 33)]
        again = dl.svds(dl.from_array(A, chunks=64), k=3, seed=7)
        gen = dl.svds(A, k=3, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(again[1], runs[1][1])  # same chunking: same bits
    np.testing.assert_array_equal(again[2], runs[1][2])
    for _, s, Vt in [*runs[1:], gen]:
        np.testing.assert_allclose(s, runs[0][1], rtol=1e-13)  # rounding of the sums only
        np.testing.assert_allclose(Vt, runs[0][2], atol=1e-12)


def test_inputs_all_agree():
    """numpy, scipy.sparse, dask, DRM (row labels kept) and LinearOperator: the same answer."""
    A, _ = rectangular((150, 20), sparse=True)
    labels = [f"r{i}" for i in range(150)]
    S, _ = symmetric(50)
    with dask.config.set(scheduler="sync"):
        ref = dl.svds(A, k=3, seed=2)
        outs = [
            dl.svds(A.toarray(), k=3, seed=2),
            dl.svds(sp.coo_matrix(A), k=3, seed=2),
            dl.svds(da.from_array(A.toarray(), chunks=(40, 10)), k=3, seed=2),
            dl.svds(spla.aslinearoperator(A), k=3, seed=2),
        ]
        drm = dl.svds(dl.from_array(A, chunks=40, row_labels=labels), k=3, seed=2)
        w_ref = dl.eigsh(S, k=3, seed=2)
        w_outs = [dl.eigsh(sp.csr_array(S), k=3, seed=2),
                  dl.eigsh(da.from_array(S, chunks=20), k=3, seed=2),
                  dl.eigsh(spla.aslinearoperator(S), k=3, seed=2)]  # fmt: skip
        u_ref = ref[0].compute()
        assert drm[0].row_labels == tuple(labels)
        for U, s, Vt in [*outs, drm]:
            np.testing.assert_allclose(s, ref[1], rtol=1e-12)
            np.testing.assert_allclose(Vt, ref[2], atol=1e-12)
            u = U if isinstance(U, np.ndarray) else U.compute()
            np.testing.assert_allclose(u, u_ref, atol=1e-12)
    assert isinstance(outs[-1][0], np.ndarray)  # a LinearOperator gives an in-memory U
    for w, v in w_outs:
        np.testing.assert_allclose(w, w_ref[0], rtol=1e-12)
        np.testing.assert_allclose(v, w_ref[1], atol=1e-12)


def test_rank_deficient_u_is_refused_but_s_is_given():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((100, 2)) @ rng.standard_normal((2, 30))  # rank 2
    with dask.config.set(scheduler="sync"), pytest.raises(RankDeficientError, match="k=2"):
        dl.svds(A, k=4, seed=0)
    with dask.config.set(scheduler="sync"):
        _, s, Vt = dl.svds(A, k=4, seed=0, return_singular_vectors="vh")
    np.testing.assert_allclose(s[2:], np.linalg.svd(A, compute_uv=False)[:2][::-1], rtol=1e-10)
    assert np.all(s[:2] < 1e-6 * s[-1])
    assert Vt.shape == (4, 30)


def test_no_convergence_says_what_to_change():
    S, _ = symmetric(200, seed=4, spectrum=np.linspace(1, 2, 200))  # clustered
    with dask.config.set(scheduler="sync"):
        with pytest.raises(spla.ArpackNoConvergence, match="raise maxiter or ncv"):
            dl.eigsh(S, k=6, ncv=7, maxiter=1, seed=0)
        with pytest.raises(spla.ArpackNoConvergence, match="svds"):
            dl.svds(S, k=6, ncv=7, maxiter=1, seed=0)


def test_nan_in_lazy_input_is_found_by_the_first_product():
    X = np.ones((40, 40))
    X[7, 3] = X[3, 7] = np.nan
    with dask.config.set(scheduler="sync"):
        with pytest.raises(NonFiniteError, match="NaN"):
            dl.svds(da.from_array(X, chunks=10), k=2, seed=0)
        with pytest.raises(NonFiniteError, match="NaN"):
            dl.eigsh(da.from_array(X, chunks=10), k=2, seed=0)


A_TALL = np.ones((10, 6))
A_SQ = np.eye(8)
BAD = [
    (dl.svds, A_TALL, {"k": 6}, ParameterError, r"k must satisfy 1 <= k <= 5 .*\(10, 6\)"),
    (dl.svds, A_TALL, {"k": 0}, ParameterError, "k=0"),
    (dl.svds, A_TALL, {"k": 2.5}, ParameterError, "k must be an integer"),
    (dl.svds, A_TALL, {"k": 2, "ncv": 2}, ParameterError, "ncv"),
    (dl.svds, A_TALL, {"k": 2, "ncv": 7}, ParameterError, "k < ncv <= 6"),
    (dl.svds, A_TALL, {"k": 2, "tol": -1}, ParameterError, "tol"),
    (dl.svds, A_TALL, {"k": 2, "maxiter": 0}, ParameterError, "maxiter"),
    (dl.svds, A_TALL, {"k": 2, "return_singular_vectors": "v"}, ParameterError, "'vh'"),
    (dl.svds, A_TALL, {"k": 2, "seed": "x"}, ParameterError, "seed"),
    (dl.svds, "matrix", {"k": 2}, OperandTypeError, "str"),
    (dl.svds, np.ones(5), {"k": 1}, ShapeError, "2-D"),
    (dl.eigsh, A_TALL, {"k": 2}, ShapeError, r"square, got shape \(10, 6\)"),
    (dl.eigsh, A_SQ, {"k": 8}, ParameterError, r"k <= 7 .*\(8, 8\)"),
    (dl.eigsh, A_SQ, {"k": 2, "which": "XX"}, ParameterError, "which"),
    (dl.eigsh, A_SQ, {"k": 2, "tol": np.nan}, ParameterError, "tol"),
    (dl.eigsh, A_SQ, {"k": 2, "maxiter": -3}, ParameterError, "maxiter"),
    (dl.eigsh, A_SQ, {"k": 2, "return_eigenvectors": "yes"}, ParameterError, "bool"),
    (dl.eigsh, np.triu(np.ones((8, 8))), {"k": 2}, ParameterError, "not symmetric"),
    (dl.eigsh, np.where(A_SQ > 0, np.nan, 0), {"k": 2}, NonFiniteError, "NaN"),
]


@pytest.mark.parametrize(("func", "A", "kw", "error", "match"), BAD)
def test_bad_input_before_any_graph(no_graph_no_compute, func, A, kw, error, match):
    with pytest.raises(error, match=match):
        func(A, **kw)
