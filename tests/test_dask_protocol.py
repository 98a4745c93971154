"""A DRM (and a LazyResult) is a Dask collection.

``dask.compute``, ``dask.persist``, ``Client.compute/persist``,
``dask.visualize``, ``dask.base.tokenize``, ``distributed.wait/progress`` and
``np.asarray`` accept them. Every value is compared with numpy, and bit for bit
with :func:`dlinalg.compute` of the same expression: the protocol submits the
graph ``dl.compute`` submits, under the same keys. Each behaviour runs on the
synchronous scheduler and on a real LocalCluster (the ``scheduler`` fixture).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
from dask._expr import FinalizeCompute
from dask.base import collections_to_expr, tokenize
from dask.utils import key_split
from distributed import futures_of, progress, wait

import dlinalg as dl
import dlinalg.functions as F

# (shape, chunks) -- what each row exercises
CHUNKINGS = [
    ((40, 6), None),  # one chunk (the default for small data)
    ((40, 6), 10),  # many equal row chunks
    ((43, 6), 10),  # uneven last chunk
    ((64, 7), "dask-colchunks"),  # a dask input with column chunks (merged on input)
]
DTYPES = [np.float32, np.float64]


def make(shape, chunks, dtype, sparse, seed=0):
    """(numpy truth, DRM) for one case of the table."""
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random_array(shape, density=0.3, rng=rng, format="csr", dtype=dtype)
        X.data = (X.data - 0.5).astype(dtype)
        dense = X.toarray()
    else:
        dense = rng.standard_normal(shape).astype(dtype)
        X = dense
    if chunks == "dask-colchunks":
        return dense, dl.from_array(da.from_array(X, chunks=(16, 3), asarray=not sparse))
    return dense, dl.from_array(X, chunks=chunks)


def dense_of(v):
    return v.toarray() if sp.issparse(v) else np.asarray(v)


def close(got, want, dtype):
    tol = 2e-4 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(dense_of(got), want, rtol=tol, atol=tol * 10)


def same_bits(got, want):
    assert type(got) is type(want)
    if sp.issparse(want):
        assert got.shape == want.shape
        got, want = got.toarray(), want.toarray()
    assert np.array_equal(got, want)
    assert np.asarray(got).dtype == np.asarray(want).dtype


def expressions(A, X):
    """Every kind of value: distributed matrix, local matrix, vectors, a scalar, a row."""
    v = np.linspace(0.0, 1.0, A.ncol).astype(X.dtype)
    return {
        "matrix": A,
        "scaled": 2 * A - 1 if not A.is_sparse else 2 * A,
        "gram": A.T @ A,
        "col_means": A.col_means(),
        "ax": A @ v,
        "row_sums": A.row_sums(),
        "norm": A.norm(),
        "row": A[3],
    }


def truths(X):
    v = np.linspace(0.0, 1.0, X.shape[1]).astype(X.dtype)
    return {
        "matrix": X,
        "scaled": 2 * X - 1,
        "gram": X.T @ X,
        "col_means": X.mean(axis=0),
        "ax": X @ v,
        "row_sums": X.sum(axis=1),
        "norm": np.linalg.norm(X),
        "row": X[3],
    }


@pytest.fixture(params=CHUNKINGS, ids=["one", "many", "uneven", "colchunks"])
def case(request):
    return request.param


# --- the protocol itself ------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dask_compute_matches_dl_compute(case, dtype, sparse, scheduler):
    shape, chunks = case
    X, A = make(shape, chunks, dtype, sparse)
    exprs = expressions(A, X)
    truth = truths(X)
    if sparse:
        truth["scaled"] = 2 * X
    assert all(dask.is_dask_collection(e) for e in exprs.values())
    got = dask.compute(*exprs.values())
    want = dl.compute(*exprs.values())
    for name, g, w in zip(exprs, got, want, strict=True):
        same_bits(g, w)  # the same fused graph as dl.compute of the expressions together
        close(g, truth[name], dtype)
    assert sp.issparse(got[0]) == sparse  # a sparse matrix comes back as a csr_array
    assert np.ndim(got[list(exprs).index("norm")]) == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_expression_is_dl_compute_bit_for_bit(case, dtype, scheduler):
    shape, chunks = case
    _, A = make(shape, chunks, dtype, False)
    for expr in (A.T @ A, A.col_vars(), (A - A.col_means()) * 3, A.T @ (A @ np.ones(A.ncol))):
        (got,) = dask.compute(expr)
        (want,) = dl.compute(expr)
        same_bits(got, want)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dask_persist_keeps_a_drm_with_its_labels(case, dtype, sparse, scheduler):
    shape, chunks = case
    X, A = make(shape, chunks, dtype, sparse)
    labels = tuple(f"c{j}" for j in range(A.ncol))
    A = dl.DRM(A._node, col_labels=labels, dims=("obs", "var"), attrs={"units": "m"})
    P, G, m = dask.persist(2 * A, A.T @ A, A.col_means())
    assert isinstance(P, dl.DRM)
    assert (P.col_labels, P.dims, P.attrs) == (labels, ("obs", "var"), {"units": "m"})
    assert P.chunks == A.chunks
    assert P.is_sparse == sparse
    assert isinstance(m, dl.LazyResult)
    assert G.shape == (A.ncol, A.ncol)
    in_memory(P, scheduler)
    same_bits(P.compute(), (2 * A).compute())
    same_bits(G.compute(), (A.T @ A).compute())
    same_bits(m.compute(), A.col_means().compute())
    # persisted values are operands like any other
    close((P - m).compute(), 2 * X - X.mean(axis=0), dtype)
    close((G @ np.ones(A.ncol)).compute(), X.T @ X @ np.ones(A.ncol), dtype)


def in_memory(P, scheduler):
    """The blocks are computed: futures on the cluster, values in the graph otherwise."""
    graph = P.__dask_graph__()
    if scheduler == "sync":
        assert all(not callable(getattr(t, "func", None)) for t in dict(graph).values())
    else:
        futures = futures_of(P)
        assert len(futures) == len(P.chunks)
        wait(P)
        assert all(f.status == "finished" for f in futures)


def test_persisted_vectors_and_scalars(scheduler):
    X, A = make((43, 6), 10, np.float64, False)
    r, n, row = dask.persist(A.row_sums(), A.norm(), A[3])
    assert (r.shape, n.shape, row.shape) == ((43,), (), (6,))
    np.testing.assert_allclose(r.compute(), X.sum(axis=1))
    np.testing.assert_allclose(n.compute(), np.linalg.norm(X))
    np.testing.assert_array_equal(row.compute(), X[3])
    np.testing.assert_allclose((A.T @ r).compute(), X.T @ X.sum(axis=1))


def test_optimize_graph_false_gives_the_same_values(scheduler):
    _, A = make((43, 6), 10, np.float64, False)
    got = dask.compute(A.T @ A, A.col_means(), optimize_graph=False)
    same_bits(got[0], (A.T @ A).compute())
    same_bits(got[1], A.col_means().compute())


# --- keys: the ones dl.compute submits, deterministic ----------------------------


def test_keys_are_dl_computes_keys(monkeypatch):
    _, A = make((43, 6), 10, np.float64, False)
    submitted = []
    real = F.compute_collections

    def spy(*collections, **kwargs):
        submitted.extend(collections)
        return real(*collections, **kwargs)

    monkeypatch.setattr(F, "compute_collections", spy)
    for expr in (A, 2 * A + 1, A.T @ A, A.col_means(), A @ np.ones(6), A.norm()):
        submitted.clear()
        dl.compute(expr, scheduler="sync")
        (coll,) = submitted
        assert expr.__dask_keys__() == coll.__dask_keys__()
        assert set(dict(expr.__dask_graph__())) == set(dict(coll.__dask_graph__()))


def test_keys_are_deterministic():
    def build():
        _, A = make((43, 6), 10, np.float64, False)
        return [A, A.T @ A, (A - A.col_means()) / 2, A @ np.ones(6), A.norm()]

    for one, two in zip(build(), build(), strict=True):
        assert one is not two
        assert one.__dask_keys__() == two.__dask_keys__()
        assert one.__dask_layers__() == two.__dask_layers__()
        assert set(dict(one.__dask_graph__())) == set(dict(two.__dask_graph__()))


def test_tokenize_is_deterministic_and_tells_expressions_apart():
    X = np.arange(12.0).reshape(4, 3)
    A, A2 = dl.from_array(X, chunks=2), dl.from_array(X.copy(), chunks=2)
    assert tokenize(A) == tokenize(A2)
    assert tokenize(A.T @ A) == tokenize(A2.T @ A2)
    tokens = {
        tokenize(e)
        for e in (A, 2 * A, A.T, A.T @ A, A.col_means(), A.col_sums(), A.rechunk(1), A[1])
    }
    assert len(tokens) == 8
    labelled = dl.from_array(X, chunks=2, col_labels=["x", "y", "z"])
    assert tokenize(labelled) != tokenize(A)  # persist must not merge them into one result
    P, Q = dask.persist(A, labelled, scheduler="sync")
    assert (P.col_labels, Q.col_labels) == (None, ("x", "y", "z"))


# --- one graph, data read once -------------------------------------------------------

_READS: list[int] = []


def _counted(block):
    _READS.append(block.shape[0])  # the synchronous scheduler: one thread
    return block


def test_shared_subexpressions_are_read_once():
    """``dask.compute`` merges what the expressions share: each block is read once."""
    X, A0 = make((43, 6), 10, np.float64, False)
    _READS.clear()
    A = A0.map_blocks(_counted)  # a module-level function: Dask tokenizes it deterministically
    G, m, B = dask.compute(A.T @ A, A.col_means(), 2 * A, scheduler="sync")
    assert sorted(_READS) == sorted(A.chunks)  # 5 blocks, 5 reads
    np.testing.assert_allclose(G, X.T @ X)
    np.testing.assert_allclose(m, X.mean(axis=0))
    np.testing.assert_allclose(B, 2 * X)


def submitted_by_dl_compute(monkeypatch, *exprs):
    """The collections ``dl.compute(*exprs)`` hands to Dask."""
    seen = []
    real = F.compute_collections
    monkeypatch.setattr(F, "compute_collections", lambda *c, **k: seen.extend(c) or real(*c, **k))
    dl.compute(*exprs, scheduler="sync")
    monkeypatch.undo()
    return seen


def submitted_by_dask_compute(*exprs):
    """The graph ``dask.compute(*exprs)`` runs (what it optimizes, then schedules)."""
    expr = FinalizeCompute(collections_to_expr(list(exprs))).optimize()
    return {k: v for k, v in dict(expr.__dask_graph__()).items() if not _is_finalize(k)}


def _is_finalize(key):
    return str(key).startswith("finalize-")


# (expressions, whether dl.compute merges their passes) -- what the optimizer does with them
FUSIONS = {
    "gram+means": (lambda A: (A.T @ A, A.col_means()), True),
    "stats": (lambda A: (A.col_sums(), A.col_vars(), A.norm(), A.col_means()), True),
    "centred": (lambda A: ((A - A.col_means()).col_vars(), A.T @ A, A.col_means()), True),
    "products": (lambda A: (A.T @ (A @ np.ones(A.ncol)), A.T @ A, A @ np.ones(A.ncol)), False),
}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("fusion", FUSIONS)
def test_dask_compute_fuses_exactly_like_dl_compute(case, sparse, fusion, monkeypatch):
    """The graph ``dask.compute`` runs is the one ``dl.compute`` submits: same keys, same tasks."""
    shape, chunks = case
    _, A = make(shape, chunks, np.float64, sparse)
    build, merges = FUSIONS[fusion]
    exprs = build(A)
    fused = submitted_by_dl_compute(monkeypatch, *exprs)
    want = {}
    for coll in fused:
        want.update(dict(coll.__dask_graph__()) if dask.is_dask_collection(coll) else {})
    got = submitted_by_dask_compute(*exprs)
    assert set(got) == set(want)
    alone = set().union(*(dict(e.__dask_graph__()) for e in exprs))
    assert (alone != set(got)) == merges  # merged: each expression's own reduction does not run


def test_dask_compute_reads_each_block_once_in_one_reduction():
    X, A0 = make((43, 6), 10, np.float64, False)
    A = A0.map_blocks(_counted)  # a module-level function: Dask tokenizes it deterministically
    exprs = (A.T @ A, A.col_means(), A.col_vars())
    graph = submitted_by_dask_compute(*exprs)
    per_block = [k for k in graph if key_split(k) == "stats_block"]
    assert len(per_block) == len(A.chunks)  # one statistics task per block: one pass
    _READS.clear()
    G, m, v = dask.compute(*exprs, scheduler="sync")
    assert sorted(_READS) == sorted(A.chunks)
    same_bits(G, dl.compute(*exprs, scheduler="sync")[0])
    np.testing.assert_allclose(G, X.T @ X)
    np.testing.assert_allclose(m, X.mean(axis=0))
    np.testing.assert_allclose(v, X.var(axis=0))


def test_culling_drops_a_layer_nothing_needs_whatever_its_size():
    """dask's ``_task_spec.cull`` returns a layer whole when asked for as many keys as it
    has tasks, even keys of other layers (dask 2026.11): a 4-task layer that nothing
    needed was computed whenever 4 other keys were wanted. dlinalg's cull asks each
    layer only for its own keys."""
    from dask._task_spec import Task, TaskRef
    from dask.highlevelgraph import HighLevelGraph

    from dlinalg._tokens import cull_only

    unused = {("unused", i): Task(("unused", i), float, i) for i in range(4)}
    used = {("used", i): Task(("used", i), float, i) for i in range(4)}
    top = {("top", i): Task(("top", i), abs, TaskRef(("used", i))) for i in range(4)}
    graph = HighLevelGraph(
        {"unused": unused, "used": used, "top": top},
        {"unused": set(), "used": set(), "top": {"used"}},
    )
    culled = cull_only(graph, list(top))
    assert set(dict(culled)) == set(top) | set(used)
    (top_layer,) = (name for name in culled.layers if name.startswith("top"))
    assert [d.split("-")[0] for d in culled.dependencies[top_layer]] == ["used"]
    assert dask.get(culled, [("top", 3)]) == (3.0,)


def test_dask_compute_pass_shows_in_explain():
    _, A = make((43, 6), 10, np.float64, False)
    seen = dl.explain(dask.compute, A.T @ A, A.col_means(), scheduler="sync")
    assert len(seen.passes) == 1  # the two expressions ran as one pass
    assert "ColStats" in str(seen)
    same_bits(seen.result[0], dl.compute(A.T @ A, A.col_means(), scheduler="sync")[0])


def test_own_keys_keep_their_meaning_after_a_fused_compute(scheduler):
    """The fusion lives in the finalize tasks: the Gram's own keys still hold the Gram alone."""
    _, A = make((43, 6), 10, np.float64, False)
    fused = dask.compute(A.T @ A, A.col_means())
    alone = (A.T @ A).compute()
    (G,) = dask.persist(A.T @ A)  # the expression's own keys, computed alone
    same_bits(G.compute(), alone)
    np.testing.assert_allclose(fused[0], alone, rtol=1e-12)


# --- distributed: Client.compute / persist, wait, progress ---------------------------


@pytest.mark.cluster
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_client_compute_and_persist(case, dtype, sparse, client):
    shape, chunks = case
    X, A = make(shape, chunks, dtype, sparse)
    with client.as_current():  # wait() and DRM.compute find the client
        want = dl.compute(A, A.T @ A, A.col_means())  # fused together, as Client.compute does
        futures = client.compute([A, A.T @ A, A.col_means()])
        for f, w in zip(futures, want, strict=True):
            same_bits(f.result(), w)
        single = client.compute(A.norm())
        close(single.result(), np.linalg.norm(X), dtype)
        P = client.persist(2 * A)
        assert isinstance(P, dl.DRM)
        assert P.chunks == A.chunks
        wait(P)
        assert len(futures_of(P)) == len(A.chunks)
        close(P.compute(), 2 * X, dtype)
        P2, G2 = client.persist([A, A.T @ A])
        wait([P2, G2])
        same_bits(P2.compute(), want[0])
        same_bits(G2.compute(), (A.T @ A).compute())  # persist keeps each under its own keys


@pytest.mark.cluster
def test_progress_accepts_a_persisted_drm(client, capsys):
    _, A = make((43, 6), 10, np.float64, False)
    with client.as_current():
        P = client.persist(A - A.col_means())
        progress(P)  # a text bar in a terminal; returns when done
    assert "100%" in capsys.readouterr().out
    assert all(f.status == "finished" for f in futures_of(P))


# --- numpy and xarray -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_np_asarray_computes_dense(case, dtype, scheduler):
    shape, chunks = case
    X, A = make(shape, chunks, dtype, False)
    got = np.asarray(A)
    assert type(got) is np.ndarray
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(np.array(A - 1), X - 1)
    assert np.asarray(A.T @ A, dtype=np.float64).dtype == np.float64
    close(np.asarray(A.col_means()), X.mean(axis=0), dtype)
    assert np.asarray(A.norm()).shape == ()


@pytest.mark.parametrize("dtype", DTYPES)
def test_np_asarray_of_sparse_is_refused(case, dtype):
    shape, chunks = case
    X, S = make(shape, chunks, dtype, True)
    with pytest.raises(TypeError, match=r"sparse DRM .*\.compute\(\).*toarray\(\)"):
        np.asarray(S)
    with pytest.raises(TypeError, match="sparse"):
        np.array(S.T @ S)
    np.testing.assert_array_equal(np.asarray(S[3]), X[3])  # a row comes back dense


def test_np_asarray_copy_false_is_refused():
    A = dl.from_array(np.ones((4, 2)), chunks=2)
    with pytest.raises(ValueError, match="copy=False"):
        np.asarray(A, copy=False)


def test_xarray_dataarray_of_a_drm():
    """``DataArray(A)`` computes it (dims and attrs kept, labels not); ``to_xarray`` keeps all."""
    X = np.arange(12.0).reshape(4, 3)
    x = xr.DataArray(X, dims=("user", "item"), coords={"item": ["a", "b", "c"]}, attrs={"u": 1})
    A = dl.from_xarray(x.chunk({"user": 2}))
    eager = xr.DataArray(A)
    assert eager.dims == ("user", "item")
    assert eager.attrs == {"u": 1}
    assert isinstance(eager.data, np.ndarray)
    assert "item" not in eager.coords
    np.testing.assert_array_equal(eager.values, X)
    lazy = A.to_xarray()
    assert isinstance(lazy.data, da.Array)
    assert list(lazy.coords["item"].values) == ["a", "b", "c"]
    xr.testing.assert_identical(lazy.compute(), x)
    S = dl.from_array(sp.csr_array(X), chunks=2)
    with pytest.raises(TypeError, match="sparse"):
        xr.DataArray(S)


# --- visualize -------------------------------------------------------------------------


def test_visualize_draws_the_graph_of_the_plan(monkeypatch):
    _, A = make((43, 6), 10, np.float64, False)
    G = A.T @ A
    assert callable(G.visualize)
    assert callable(A.col_means().visualize)
    drawn = {}
    monkeypatch.setattr(dask.base, "visualize_dsk", lambda dsk, **kw: drawn.update(dsk) or kw)
    kwargs = G.visualize(filename=None, optimize_graph=True)
    assert kwargs["filename"] is None
    drawn = {k for k in drawn if not str(k).startswith("finalize-")}
    assert drawn == set(dict(G.__dask_graph__()))


def test_visualize_with_graphviz(tmp_path):
    pytest.importorskip("graphviz")
    A = dl.from_array(np.ones((6, 2)), chunks=3)
    out = tmp_path / "gram.png"
    (A.T @ A).visualize(filename=str(out))
    assert out.stat().st_size > 0


# --- a lost worker ------------------------------------------------------------------------


def _slow(block):
    time.sleep(0.03)
    return block


def _bits(x):
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    return x.view(np.uint8).tobytes()


def _wait_until_forgotten(client, timeout=30):
    def n_tasks(dask_scheduler):
        return len(dask_scheduler.tasks)

    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(n_tasks) and time.monotonic() < deadline:
        time.sleep(0.05)


def _compute_into(client, exprs, result):
    with client.as_current():
        result["v"] = dask.compute(*exprs)


@pytest.mark.slow
@pytest.mark.cluster
def test_worker_kill_persist_and_compute_are_bit_identical(fresh_cluster):
    """``client.persist(A.T @ A ...)`` and ``dask.compute`` recompute lost tasks identically."""
    _, client = fresh_cluster
    A = dl.random((40_000, 12), chunks=500, seed=1).map_blocks(_slow)  # 80 slow blocks
    exprs = (A.T @ A, A.col_means(), A @ np.linspace(0, 1, 12))
    with client.as_current():
        alone = tuple(dl.compute(e)[0] for e in exprs)  # persist: each under its own keys
        together = dl.compute(*exprs)  # compute: the fused pass
    _wait_until_forgotten(client)

    for run in ("persist", "compute"):
        victim = min(client.run(os.getpid).values())
        if run == "persist":
            persisted = client.persist(list(exprs))
            time.sleep(0.8)
            assert not all(f.done() for f in futures_of(persisted)), "finished before the kill"
            os.kill(victim, signal.SIGKILL)
            with client.as_current():
                wait(persisted, timeout=120)
                got = tuple(p.compute() for p in persisted)
            del persisted
        else:
            result = {}
            thread = threading.Thread(target=_compute_into, args=(client, exprs, result))
            thread.start()
            time.sleep(0.8)
            assert thread.is_alive(), "finished before the kill"
            os.kill(victim, signal.SIGKILL)
            thread.join(120)
            got = result["v"]
        assert victim not in client.run(os.getpid).values()
        reference = alone if run == "persist" else together
        for g, r in zip(got, reference, strict=True):
            assert _bits(g) == _bits(r)
        _wait_until_forgotten(client)
        client.wait_for_workers(2, timeout=60)
