"""Row-wise chains in the plan: rewrites, fused passes, values, and ``dl.explain``.

A decomposition's tall factor ``Y = chain(A)`` is a :class:`RowMap` node; its
Gram, ``A^T Y`` and column sums are rewritten into one :class:`ChainPass`
that reads A once. The rewrite is asserted first, then the value against
numpy, then bit-identity with the block kernel run directly (the rounding
contract Cholesky-QR2 relies on).
"""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from dlinalg.decomp.passes import row_map, run_pass
from dlinalg.physical.rowwise import RowChain, chain_block, chain_combine
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.chain import ChainPass, PassPart, RowMap
from dlinalg.plan.rewrite import fuse, optimize
from dlinalg.plan.steps import MatvecStep

M_ROWS, N_COLS, WIDTH = 230, 7, 4

# (row chunks, column chunks): the chunking table of every numerical test
CHUNKINGS = [
    pytest.param((M_ROWS, N_COLS), id="one-chunk"),
    pytest.param((23, N_COLS), id="many-chunks"),
    pytest.param((60, N_COLS), id="uneven-last-chunk"),  # 60, 60, 60, 50
    pytest.param((50, 3), id="column-chunked"),
]


def _data(sparse: bool, dtype) -> np.ndarray | sp.csr_array:
    rng = np.random.default_rng(0)
    if sparse:
        return sp.random(M_ROWS, N_COLS, density=0.3, random_state=1, format="csr", dtype=dtype)
    return rng.standard_normal((M_ROWS, N_COLS)).astype(dtype)


def _chain(ncol: int = N_COLS) -> RowChain:
    rng = np.random.default_rng(2)
    upper = np.triu(rng.standard_normal((WIDTH, WIDTH))) + 3 * np.eye(WIDTH)
    return (
        RowChain(ncol)
        .then("full", rng.standard_normal((ncol, WIDTH)))
        .then("sub", rng.standard_normal(WIDTH))
        .then("triu", upper)
    )


def _drm(X, chunks: tuple[int, int]) -> dl.DRM:
    """The DRM of one chunking-table case; column chunks arrive as a dask input."""
    rows, cols = chunks
    if cols < X.shape[1]:
        return dl.from_array(da.from_array(X, chunks=(rows, cols), asarray=not sp.issparse(X)))
    return dl.from_array(X, chunks=rows)


def _numpy_chain(X, chain: RowChain) -> np.ndarray:
    Y = X.toarray() if sp.issparse(X) else np.asarray(X)
    Y = Y.astype(np.float64)
    for kind, value in chain.steps:
        Y = Y - value if kind == "sub" else Y @ value
    return Y


# --- the rewrite itself ---------------------------------------------------------
def test_gram_atb_and_colsums_of_a_row_map_become_chain_passes():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    Y = row_map(A, _chain())
    assert isinstance(optimize(Y._node), RowMap)
    for expr, part in [(Y.T @ Y, "gram"), (A.T @ Y, "atb"), (Y.col_sums(), "colsum")]:
        node = optimize(expr._node)
        assert isinstance(node, PassPart), node.describe()
        assert node.part == part
        assert isinstance(node.a, ChainPass)
        assert node.a.want == (part,)
        assert node.a.a == optimize(A._node)


def test_products_with_another_matrix_are_not_chain_passes():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    B = dl.from_array(_data(False, np.float64) + 1, chunks=50)
    node = optimize((B.T @ row_map(A, _chain()))._node)
    assert not isinstance(node, PassPart)
    assert "RowMap" in (B.T @ row_map(A, _chain())).explain()


def test_sums_of_one_chain_computed_together_share_one_pass():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    Y = row_map(A, _chain())
    nodes = fuse([optimize(e._node) for e in (Y.T @ Y, A.T @ Y, Y.col_sums())])
    passes = {n.a.token for n in nodes}
    assert len(passes) == 1
    assert nodes[0].a.want == ("gram", "atb", "colsum")
    # a different chain is a different pass
    other = row_map(A, _chain().then("sub", np.ones(WIDTH)))
    nodes = fuse([optimize(e._node) for e in (Y.T @ Y, other.T @ other)])
    assert len({n.a.token for n in nodes}) == 2


def test_one_fused_pass_reads_each_block_once():
    A = dl.from_array(_data(False, np.float64), chunks=23)
    Y = row_map(A, _chain())
    explained = dl.explain(dl.compute, Y.T @ Y, A.T @ Y, Y.col_sums())
    assert len(explained) == 1
    assert str(explained).count("ChainPass (gram, atb, colsum)") == 3
    assert "shared, drawn above" in str(explained)


# --- values over the chunking table -----------------------------------------------
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_run_pass_matches_numpy(scheduler, chunks, sparse, dtype):
    X = _data(sparse, dtype)
    A = _drm(X, chunks)
    chain = _chain()
    parts = run_pass(A, chain, ("gram", "atb", "colsum"))
    Y = _numpy_chain(X, chain)
    Xd = (X.toarray() if sparse else X).astype(np.float64)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(parts.gram, Y.T @ Y, rtol=rtol, atol=rtol * np.abs(Y).max() ** 2)
    np.testing.assert_allclose(parts.atb, Xd.T @ Y, rtol=rtol, atol=rtol * np.abs(Y).max() * 10)
    np.testing.assert_allclose(parts.colsum, Y.sum(axis=0), rtol=rtol, atol=rtol * 100)
    assert parts.count == M_ROWS
    assert np.array_equal(parts.gram, parts.gram.T)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_chain_pass_is_bitwise_the_block_kernel(chunks, sparse):
    """The plan's pass gives the bits of ``chain_block`` summed in the fixed tree."""
    X = _data(sparse, np.float64)
    A = _drm(X, chunks)
    chain = _chain()
    want = ("gram", "atb", "colsum")
    got = run_pass(A, chain, want)
    arr = A.to_dask().rechunk({1: -1})
    blocks = [b.compute(scheduler="sync") for b in arr.to_delayed().ravel()]
    parts = [chain_block(b, chain, want) for b in blocks]
    while len(parts) > 1:  # the tree of dlinalg.split-every = 8
        parts = [chain_combine(*parts[i : i + 8]) for i in range(0, len(parts), 8)]
    for name in want:
        assert np.array_equal(getattr(got, name), getattr(parts[0], name)), name


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_map_materialised_is_the_chain_of_each_block(scheduler, chunks, dtype):
    X = _data(False, np.float64)
    A = _drm(X, chunks)
    chain = _chain().astype(dtype)
    Y = row_map(A, chain)
    assert Y.shape == (M_ROWS, WIDTH)
    assert Y.dtype == dtype
    got = Y.compute()
    np.testing.assert_allclose(
        got, _numpy_chain(X, chain), rtol=1e-5 if dtype == np.float32 else 1e-12
    )
    # bit for bit what the chain gives on each block: the rows a pass sums
    rows = A.to_dask().rechunk({1: -1}).chunks[0]
    starts = np.cumsum((0, *rows))
    for a, b in itertools.pairwise(starts):
        assert np.array_equal(got[a:b], chain(X[a:b]))


def test_row_map_keeps_row_labels_and_drops_column_labels():
    A = dl.from_array(
        _data(False, np.float64),
        chunks=50,
        row_labels=[f"r{i}" for i in range(M_ROWS)],
        col_labels=list("abcdefg"),
    )
    Y = row_map(A, _chain())
    assert list(Y.row_labels) == list(A.row_labels)
    assert Y.col_labels is None


# --- dl.explain -----------------------------------------------------------------
def _matrix():
    return dl.from_array(np.random.default_rng(0).standard_normal((300, 5)), chunks=70)


def test_explain_qr_shows_the_two_cholesky_qr_passes():
    got = dl.explain(dl.qr, _matrix(), method="cholqr2")
    assert [p.kind for p in got.passes] == ["plan", "plan"]
    text = str(got)
    assert "ChainPass (gram) of (5 -> 5: identity)" in text
    assert "ChainPass (gram) of (5 -> 5: triu)" in text
    Q, R = got.result
    np.testing.assert_allclose(Q.compute() @ R, _matrix().compute(), atol=1e-12)


def test_explain_svd_shows_its_qr_passes_and_the_factors():
    got = dl.explain(dl.svd, _matrix())
    assert [p.kind for p in got.passes] == ["plan", "plan"]
    assert "ChainPass (gram) of (5 -> 5: triu)" in str(got)
    _, s, _ = got.result
    np.testing.assert_allclose(s, np.linalg.svd(_matrix().compute(), compute_uv=False))


def test_explain_ssvd_fuses_the_projection_pass():
    got = dl.explain(dl.ssvd, _matrix(), k=2, p=1, q=1, seed=0)
    assert "ChainPass (gram, atb)" in str(got)


def test_explain_spca_and_pca_fit_show_the_moments_pass():
    from dlinalg.models import PCA

    text = str(dl.explain(dl.spca, _matrix(), k=2, p=1, q=1, seed=0))
    assert "ChainPass (gram, atb, colsum)" in text
    got = dl.explain(PCA(n_components=2).fit, _matrix())
    assert "BlockReduce comoment_block, combined by comoment_combine" in str(got)
    assert got.result.components_.shape == (2, 5)


@pytest.mark.parametrize("solver", [dl.lsqr, dl.lsmr])
def test_explain_a_solver_step(solver):
    A = _matrix()
    b = np.arange(300.0)
    got = dl.explain(solver, A, b, maxiter=3)
    kinds = [p.kind for p in got.passes]
    assert kinds[0] == "persist"
    assert kinds.count("step") == 4  # the start, then one fused pass per iteration
    steps = [p.roots[0] for p in got.passes if p.kind == "step"]
    assert all(isinstance(s, MatvecStep) for s in steps)
    assert steps[-1].formula == "u = A v + c w, A^T u, ||u||^2"
    assert "passes 3-5 (3 x): solver step" in str(got)


def test_explain_lstsq_is_one_block_reduce():
    got = dl.explain(dl.lstsq, _matrix(), np.ones(300))
    assert len(got) == 1
    (root,) = got.passes[0].roots
    assert isinstance(root, BlockReduce)
    assert "block_r_aug" in root.describe()


def test_explain_item_similarity_fit():
    from dlinalg.models import ItemSimilarity

    S = sp.random(100, 20, density=0.2, random_state=0, format="csr")
    S.data[:] = 1.0  # interactions are counts
    got = dl.explain(ItemSimilarity().fit, S)
    # downsampling, counts and scored panels: one pass of plan nodes
    assert [p.kind for p in got.passes] == ["plan"]
    text = str(got)
    for part in ("Apply llr_topk_rows", "BlockReduce count_block, combined by add_counts",
                 "BlockMap cap_rows_block, with row offsets",
                 "BlockReduce col_counts_block"):  # fmt: skip
        assert part in text


def test_explain_records_only_inside_and_propagates_errors():
    A = _matrix()
    with pytest.raises(ValueError, match="k="):
        dl.explain(dl.ssvd, A, k=0)
    (A.T @ A).compute()  # nothing recording: no error, nothing kept
    assert str(dl.explain(lambda: None)) == "no pass"
    assert repr(dl.explain(lambda: (A.T @ A).compute())) == "<Explanation of 1 passes>"
