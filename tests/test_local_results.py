"""Results the plan evaluates in memory are matrices like any other.

``A.T @ A``, ``A.T @ B``, ``crossprod(A)`` and a column statistic's outer
product are *local* plan nodes (small, computed on the client's side of the
graph). Every DRM operation must work on them exactly as on a distributed
matrix (Mahout's ``C = A %*% B; C.mapBlock {...}``). Each operation below is
checked against numpy over the chunking table of ``test_algebra``, dense and
sparse, float32 and float64, on the synchronous scheduler and a LocalCluster.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from tests.test_algebra import CHUNKINGS, DTYPES, close, dense_of, make

# name -> (how to build the local value from A and B, its numpy truth)
LOCAL_VALUES = {
    "gram": (lambda A, B: A.T @ A, lambda X, Y: X.T @ X),
    "atb": (lambda A, B: A.T @ B, lambda X, Y: X.T @ Y),
    "crossprod": (lambda A, B: dl.crossprod(A), lambda X, Y: X.T @ X),
    "gram_scaled": (lambda A, B: (A.T @ A) * 0.5 + 1.0, lambda X, Y: (X.T @ X) * 0.5 + 1.0),
}

# name -> (the operation on a DRM, the same on a numpy array)
OPERATIONS = {
    "row_slice": (lambda G: G[1:3, :], lambda g: g[1:3, :]),
    "col_fancy": (lambda G: G[:, [2, 0]], lambda g: g[:, [2, 0]]),
    "map_blocks": (lambda G: G.map_blocks(lambda b: b * 2), lambda g: g * 2),
    "row_sums": (lambda G: G.row_sums(), lambda g: g.sum(axis=1)),
    "row_means": (lambda G: G.row_means(), lambda g: g.mean(axis=1)),
    "col_means": (lambda G: G.col_means(), lambda g: g.mean(axis=0)),
    "rechunk": (lambda G: G.rechunk(2), lambda g: g),
    "rechunk_then_gram": (lambda G: G.rechunk(2).T @ G.rechunk(2), lambda g: g.T @ g),
    "times_vector": (lambda G: G @ np.arange(G.ncol, dtype=float), None),
    "cbind_with_itself": (lambda G: dl.cbind(G, G), lambda g: np.hstack([g, g])),
    "persist": (lambda G: G.persist(), lambda g: g),
}


def _truth_times_vector(g):
    return g @ np.arange(g.shape[1], dtype=float)


@pytest.mark.parametrize("op", list(OPERATIONS))
@pytest.mark.parametrize("value", list(LOCAL_VALUES))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case", CHUNKINGS, ids=["one", "many", "uneven", "irregular", "colchunks"]
)
def test_operation_on_local_value(case, dtype, sparse, value, op):
    shape, chunks = case
    X, A = make(shape, chunks, dtype, sparse)
    Y, B = make((shape[0], 3), chunks, dtype, sparse, seed=1)
    if chunks == "dask-colchunks":  # B must share A's row blocks
        B = dl.from_array(Y if not sparse else sp.csr_array(Y), chunks=A.chunks)
    build, truth = LOCAL_VALUES[value]
    G = build(A, B)
    g = truth(X.astype(np.float64), Y.astype(np.float64))
    run, want = OPERATIONS[op]
    want = _truth_times_vector if want is None else want
    close(run(G).compute(), want(g), dtype)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_local_values_on_both_schedulers(scheduler, sparse):
    """One row of the table on each scheduler: the operations compose."""
    X, A = make((43, 6), 10, np.float64, sparse)
    G = A.T @ A
    g = X.T @ X
    got_slice, got_sums, got_gram = dl.compute(G[0:1, :], G.row_sums(), G.rechunk(3).T @ G)
    close(got_slice, g[0:1, :], np.float64)
    close(got_sums, g.sum(axis=1), np.float64)
    close(got_gram, g.T @ g, np.float64)


def test_decompositions_take_local_values(scheduler):
    """``qr`` and ``ssvd`` of a Gram matrix, the Mahout pattern of a product reused."""
    X, A = make((60, 5), 15, np.float64, False)
    G = (A.T @ A).rechunk(2)
    Q, R = dl.qr(G)
    q, r = dense_of(Q.compute()), dense_of(R.compute() if hasattr(R, "compute") else R)
    np.testing.assert_allclose(q @ r, X.T @ X, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-10)
    s = dl.svd(A.T @ A)[1]
    s = s.compute() if hasattr(s, "compute") else s
    np.testing.assert_allclose(s, np.linalg.svd(X.T @ X, compute_uv=False), rtol=1e-10)
