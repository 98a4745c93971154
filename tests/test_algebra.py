"""Every operator against numpy/scipy over a table of chunkings.

Each case runs dense and sparse (where the operator supports sparse blocks),
float32 and float64, on the synchronous scheduler and on a LocalCluster.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl

# (shape, chunks) — what each row exercises
CHUNKINGS = [
    ((40, 6), None),  # one chunk (the default for small data)
    ((40, 6), 10),  # many equal row chunks
    ((43, 6), 10),  # uneven last chunk
    ((41, 5), (1, 20, 7, 13)),  # explicit, irregular row blocks, a 1-row block
    ((64, 7), "dask-colchunks"),  # a dask input with column chunks (merged on input)
]
DTYPES = [np.float32, np.float64]


def rtol(dtype):
    return 2e-4 if np.dtype(dtype) == np.float32 else 1e-10


def make(shape, chunks, dtype, sparse, seed=0):
    """Return (numpy truth, DRM) for one case."""
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
        return dense, dl.from_array(x)
    return dense, dl.from_array(X, chunks=chunks)


def dense_of(v):
    return v.toarray() if sp.issparse(v) else np.asarray(v)


def close(got, want, dtype):
    np.testing.assert_allclose(dense_of(got), want, rtol=rtol(dtype), atol=rtol(dtype) * 10)


@pytest.fixture(params=CHUNKINGS, ids=["one", "many", "uneven", "irregular", "colchunks"])
def case(request):
    return request.param


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_products(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    Y, B = make((X.shape[0], 3), case[1] if case[1] != "dask-colchunks" else 9, dtype, sparse, 1)
    x = np.linspace(-1, 1, X.shape[1]).astype(dtype)
    y = np.linspace(1, 2, X.shape[0]).astype(dtype)
    M = np.arange(X.shape[1] * 2, dtype=dtype).reshape(X.shape[1], 2) / 10

    G = (A.T @ A).compute()
    assert sp.issparse(G) == sparse
    assert G.dtype == dtype
    close(G, X.T @ X, dtype)
    close((A.T @ B).compute(), X.T @ Y, dtype)
    close((A.T @ y).compute(), X.T @ y, dtype)
    close((y @ A).compute(), y @ X, dtype)
    close((M.T @ A.T).compute(), M.T @ X.T, dtype)
    close((y[None, :] @ A).compute(), y[None, :] @ X, dtype)
    close((A @ x).compute(), X @ x, dtype)
    close((A @ M).compute(), X @ M, dtype)
    close((A @ A.T).compute(), X @ X.T, dtype)
    close((A @ (A.T @ B)).compute(), X @ (X.T @ Y), dtype)
    close(dl.crossprod(A, B).compute(), X.T @ Y, dtype)
    close(dl.tcrossprod(A).compute(), X @ X.T, dtype)
    close(dl.tcrossprod(A, A[:5, :]).compute(), X @ X[:5].T, dtype)
    close(A.T.compute(), X.T, dtype)
    close(A.T.T.compute(), X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fat_gram_matches_slim(case, dtype, scheduler):
    """The column-panel Gram gives the slim Gram's numbers, dense and sparse."""
    import dask

    for sparse in (False, True):
        X, A = make(*case, dtype, sparse)
        with dask.config.set(
            {"dlinalg.gram-panel-bytes": 2 * X.shape[1] * np.dtype(dtype).itemsize}
        ):
            assert "fat" in (A.T @ A).explain()
            close((A.T @ A).compute(), X.T @ X, dtype)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    Y, B = make(X.shape, case[1] if case[1] != "dask-colchunks" else 7, dtype, sparse, 2)
    row = np.linspace(1, 2, X.shape[1]).astype(dtype)
    cases = {
        "add": (A + B, X + Y),
        "sub": (A - B, X - Y),
        "mul": (A * B, X * Y),
        "scalar": (2 * A - 1, 2 * X - 1),
        "div": (A / 4, X / 4),
        "rdiv": (1 / (abs(A) + 1), 1 / (np.abs(X) + 1)),
        "pow": (A**2, X**2),
        "neg": (-A, -X),
        "abs": (abs(A), np.abs(X)),
        "sqrt": (abs(A).sqrt(), np.sqrt(np.abs(X))),
        "exp": (A.exp(), np.exp(X)),
        "log": ((abs(A) + 1).log(), np.log(np.abs(X) + 1)),
        "chain": (((A * 2 + 1).exp() - A) / 3, (np.exp(X * 2 + 1) - X) / 3),
        "row-broadcast": (A - row, X - row),
        "center": (A - A.col_means(), X - X.mean(axis=0)),
    }
    for name, (expr, want) in cases.items():
        got = expr.compute()
        assert got.dtype == want.dtype, name
        close(got, want.astype(want.dtype), dtype)
    # zero-preserving ops keep sparse blocks sparse
    assert (A * 3).is_sparse == sparse
    assert (A * B).is_sparse == sparse
    assert not (A + 1).is_sparse
    assert not A.exp().is_sparse


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_statistics(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    close(A.col_sums().compute(), X.sum(axis=0), dtype)
    close(A.col_means().compute(), X.mean(axis=0), dtype)
    close(A.col_vars().compute(), X.var(axis=0), dtype)
    close(A.col_vars(ddof=1).compute(), X.var(axis=0, ddof=1), dtype)
    np.testing.assert_array_equal(A.col_nnz().compute(), np.count_nonzero(X, axis=0))
    close(A.row_sums().compute(), X.sum(axis=1), dtype)
    close(A.row_means().compute(), X.mean(axis=1), dtype)
    close(A.norm().compute(), np.linalg.norm(X), dtype)
    assert A.col_means().compute().dtype == X.mean(axis=0).dtype
    means, var, gram, nnz = dl.compute(A.col_means(), A.col_vars(), A.T @ A, A.col_nnz())
    close(means, X.mean(axis=0), dtype)
    close(var, X.var(axis=0), dtype)
    close(gram, X.T @ X, dtype)
    np.testing.assert_array_equal(nnz, np.count_nonzero(X, axis=0))


def test_variance_is_stable_with_a_large_offset():
    """Chan's merge keeps the variance exact where sum-of-squares would cancel."""
    X = np.random.default_rng(0).standard_normal((1000, 3)) + 1e8
    np.testing.assert_allclose(
        dl.from_array(X, chunks=97).col_vars().compute(), X.var(axis=0), rtol=1e-6
    )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bind_slice_blocks(case, dtype, sparse, scheduler):
    X, A = make(*case, dtype, sparse)
    Y, B = make((X.shape[0], 2), 5, dtype, sparse, 3)
    close(dl.cbind(A, B).compute(), np.hstack([X, Y]), dtype)
    got = dl.cbind(A, 1.0).compute()
    assert got.dtype == dtype
    close(got, np.hstack([X, np.ones((X.shape[0], 1))]), dtype)
    close(dl.cbind(2, A).compute(), np.hstack([np.full((X.shape[0], 1), 2), X]), dtype)
    close(dl.rbind(A, A * 2).compute(), np.vstack([X, 2 * X]), dtype)
    assert dl.rbind(A, A).chunks == A.chunks * 2
    close(A[3:17, 1:4].compute(), X[3:17, 1:4], dtype)
    close(A[::3, :].compute(), X[::3], dtype)
    close(A[[5, 0, 2], [1, 0]].compute(), X[[5, 0, 2]][:, [1, 0]], dtype)
    mask = np.arange(X.shape[0]) % 3 == 0
    close(A[mask].compute(), X[mask], dtype)
    close(A[4].compute(), X[4], dtype)
    close(A[:, 2].compute(), X[:, 2], dtype)
    assert A[4, 2].compute() == pytest.approx(X[4, 2], rel=rtol(dtype))
    close(A.map_blocks(lambda b: b * 2).compute(), 2 * X, dtype)
    first2 = A.map_blocks(lambda b: b[:, :2], ncol=2)
    close(first2.compute(), X[:, :2], dtype)
    R = A.rechunk(7)
    assert set(R.chunks[:-1]) == {7}
    close((R.T @ R).compute(), X.T @ X, dtype)
    close(A.persist().compute(), X, dtype)


def test_labels_follow_the_algebra():
    X = np.arange(12.0).reshape(4, 3)
    A = dl.from_array(X, chunks=2, row_labels=["a", "b", "c", "d"], col_labels=["x", "y", "z"])
    assert A.T.row_labels == ("x", "y", "z")
    assert (A.T @ A).row_labels == ("x", "y", "z")
    assert (A.T @ A).col_labels == ("x", "y", "z")
    B = A[["b", "d"], ["z", "x"]]
    assert B.row_labels == ("b", "d")
    assert B.col_labels == ("z", "x")
    np.testing.assert_array_equal(B.compute(), X[[1, 3]][:, [2, 0]])
    np.testing.assert_array_equal(A["c"].compute(), X[2])
    assert dl.cbind(A, A).col_labels == ("x", "y", "z") * 2
    assert dl.cbind(A, 1.0).col_labels is None
    assert dl.rbind(A, A[:1]).row_labels == ("a", "b", "c", "d", "a")


def test_int_and_bool_matrices_follow_numpy():
    X = np.arange(12, dtype=np.int32).reshape(4, 3)
    A = dl.from_array(X, chunks=3)
    G = (A.T @ A).compute()
    assert G.dtype == (X.T @ X).dtype
    np.testing.assert_array_equal(G, X.T @ X)
    np.testing.assert_array_equal(A.col_sums().compute(), X.sum(axis=0))
    assert A.col_sums().compute().dtype == X.sum(axis=0).dtype
    np.testing.assert_allclose(A.col_means().compute(), X.mean(axis=0))
    Bm = dl.from_array(X % 2 == 0, chunks=3)
    np.testing.assert_array_equal(Bm.col_sums().compute(), (X % 2 == 0).sum(axis=0))


def test_constructors():
    a = dl.random((5000, 4), chunks=700, seed=3).compute()
    b = dl.random((5000, 4), chunks=5000, seed=3).compute()
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean()) < 0.05
    assert abs(a.std() - 1) < 0.05
    s = dl.random((5000, 40), chunks=999, seed=3, density=0.1)
    assert s.is_sparse
    S = s.compute()
    assert sp.issparse(S)
    assert 0.08 < S.nnz / (5000 * 40) < 0.12
    np.testing.assert_array_equal(
        S.toarray(), dl.random((5000, 40), chunks=5000, seed=3, density=0.1).compute().toarray()
    )
    assert dl.random((10, 2), seed=1, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(dl.zeros((7, 3), chunks=2).compute(), np.zeros((7, 3)))
    np.testing.assert_array_equal(dl.ones((7, 3), chunks=2).compute(), np.ones((7, 3)))
    np.testing.assert_array_equal(dl.eye(5, chunks=2).compute(), np.eye(5))
    np.testing.assert_array_equal(dl.eye(5, 3, chunks=2).compute(), np.eye(5, 3))
    E = dl.eye(6, chunks=4, sparse=True)
    assert E.is_sparse
    np.testing.assert_array_equal(E.compute().toarray(), np.eye(6))


def test_dask_input_keeps_row_chunks_and_sparse_blocks():
    x = da.random.default_rng(0).standard_normal((100, 8), chunks=(30, 4))
    A = dl.from_array(x)
    assert A.chunks == (30, 30, 30, 10)
    np.testing.assert_allclose((A.T @ A).compute(), (x.T @ x).compute())
    S = sp.random(60, 5, density=0.3, format="csr", random_state=0)
    xs = da.from_array(S, chunks=(20, 5), asarray=False)  # csr_matrix blocks
    As = dl.from_array(xs)
    assert As.is_sparse
    np.testing.assert_allclose((As.T @ As).compute().toarray(), (S.T @ S).toarray())


def test_mahout_r_like_examples():
    """Small cases from Mahout's RLikeDrmOpsSuite and R."""
    inCoreA = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]], dtype=float)
    inCoreB = np.array([[3, 4, 5], [5, 6, 7]], dtype=float)
    A = dl.from_array(inCoreA, chunks=2)
    B = dl.from_array(inCoreB, chunks=1)
    # A.t %*% A
    np.testing.assert_array_equal((A.T @ A).compute(), [[30, 40, 50], [40, 54, 68], [50, 68, 86]])
    # A %*% B.t (ABt)
    np.testing.assert_array_equal((A @ B.T).compute(), [[26, 38], [38, 56], [50, 74], [62, 92]])
    # A %*% inCoreB.t (in-core right operand)
    np.testing.assert_array_equal((A @ inCoreB.T).compute(), inCoreA @ inCoreB.T)
    # cbind(A, 1): R's cbind with a scalar column
    np.testing.assert_array_equal(dl.cbind(A, 1).compute(), np.c_[inCoreA, np.ones(4)])
    # rbind(A, B)
    np.testing.assert_array_equal(dl.rbind(A, B).compute(), np.r_[inCoreA, inCoreB])
    # colSums, colMeans, rowSums, rowMeans
    np.testing.assert_array_equal(A.col_sums().compute(), [10, 14, 18])
    np.testing.assert_array_equal(A.col_means().compute(), [2.5, 3.5, 4.5])
    np.testing.assert_array_equal(A.row_sums().compute(), [6, 9, 12, 15])
    np.testing.assert_array_equal(A.row_means().compute(), [2, 3, 4, 5])
    # A.t %*% x and A %*% x
    np.testing.assert_array_equal((A.T @ np.ones(4)).compute(), [10, 14, 18])
    np.testing.assert_array_equal((A @ np.ones(3)).compute(), [6, 9, 12, 15])


@pytest.mark.slow
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_fat_gram_with_thousands_of_columns(sparse):
    """Tens of thousands of columns: the Gram is split into column panels.

    No task holds more than the panel budget (64 MiB by default) of output,
    and the result equals scipy/numpy's.
    """
    import dask

    from dlinalg.physical.reduce import gram_panels

    if sparse:
        ncol = 20_000
        S = sp.random_array((8_000, ncol), density=3e-4, rng=np.random.default_rng(0))
        A = dl.from_array(S.tocsr(), chunks=2_000)
        want = S.T @ S
    else:
        ncol = 4_000
        X = np.random.default_rng(0).standard_normal((3_000, ncol))
        A = dl.from_array(X, chunks=1_000)
        want = X.T @ X
    panels = gram_panels(ncol, 8)
    assert len(panels) > 1
    budget = dask.config.get("dlinalg.gram-panel-bytes", 64 * 2**20)
    assert max(stop - start for start, stop in panels) * ncol * 8 <= budget
    assert f"fat, {len(panels)} column panels" in (A.T @ A).explain()
    got = (A.T @ A).compute(scheduler="sync")
    if sparse:  # compare without densifying 20,000 x 20,000
        assert sp.issparse(got)
        assert abs(got - want).max() <= 1e-12 * abs(want).max()
    else:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_integer_index_drops_the_axis_in_to_dask_too(sparse):
    X, A = make((20, 4), 6, np.float64, sparse)
    np.testing.assert_array_equal(A[7].to_dask().compute(scheduler="sync"), X[7])
    np.testing.assert_array_equal(A[:, 2].to_dask().compute(scheduler="sync"), X[:, 2])
    assert A[7, 2].to_dask().compute(scheduler="sync") == X[7, 2]


def test_a_square_operand_and_its_transpose_are_different_operands():
    # dask's tokenize ignores memory order: tokenize(H) == tokenize(H.T) for a square
    # C-ordered H. Keys built from it made (A @ H.T) @ H compute A @ H.T @ H.T.
    rng = np.random.default_rng(0)
    X, H = rng.standard_normal((6, 3)), rng.standard_normal((3, 3))
    A = dl.from_array(X, chunks=3)
    np.testing.assert_allclose(((A @ H.T) @ H).compute(), X @ H.T @ H)
    np.testing.assert_allclose(dl.cbind(A @ H.T, A @ H).compute(), np.hstack([X @ H.T, X @ H]))
    S = rng.standard_normal((4, 4))
    both = dl.from_array(S, chunks=2) + dl.from_array(S.T, chunks=2)
    np.testing.assert_allclose(both.compute(), S + S.T)
