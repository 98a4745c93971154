"""dlinalg.models.ALS against a dense numpy reference, the implicit library, and itself.

Truth: :func:`reference`, the textbook sweeps on the dense matrix (every
user's ``k x k`` system formed explicitly and solved with LAPACK's
``numpy.linalg.solve``), from the same initial factors
(:func:`dlinalg.models.recommenders._als_kernels.initial_factors`). The exact solver must agree
within 1e-10 (float64; the systems are well conditioned thanks to the
regularization). Both solvers must give bitwise identical factors whatever
the chunking and the scheduler, since each row's solve reads only that row,
the broadcast factors and the fixed-order Gram matrix.
"""

from __future__ import annotations

import os
import signal
import threading

import dask
import dask.array as da
import dlinalg.models.recommenders._als as als_module
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dlinalg.models import ALS
from dlinalg.models.recommenders._als_kernels import initial_factors
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

import dlinalg as dl

K, REG, ALPHA = 5, 0.1, 2.0
N_USERS, N_ITEMS = 60, 25


def _ratings(n_users: int, n_items: int, density: float, seed: int) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    R = sp.random_array(
        (n_users, n_items),
        density=density,
        rng=rng,
        format="csr",
        data_sampler=lambda size: rng.integers(1, 5, size).astype(np.float64),
    )
    return sp.csr_array(R)


R = _ratings(N_USERS, N_ITEMS, 0.15, 0).tolil()
R[3, :] = 0  # a user without interactions
R[:, 5] = 0  # an item without interactions
R = sp.csr_array(R)
R.eliminate_zeros()


# ---------------------------------------------------------------- the truth
def direct_loss(R, X, Y, reg, alpha, implicit) -> float:
    """The documented loss from its definition, on dense float64 matrices."""
    D = (R.toarray() if sp.issparse(R) else R).astype(np.float64)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    P, obs = X @ Y.T, D != 0
    penalty = reg * ((X**2).sum() + (Y**2).sum())
    if implicit:
        C = 1 + alpha * D
        return float(((C * (obs - P) ** 2).sum() + penalty) / C.sum())
    return float(((((D - P) ** 2)[obs]).sum() + penalty) / obs.sum())


def reference(R, k, reg, alpha, implicit, iterations, dtype=np.float64, seed=0):
    """Dense ALS sweeps (exact solves) from ALS's initial factors; (X, Y, losses)."""
    D = R.toarray().astype(np.float64)
    Y = initial_factors(seed, 1, 0, D.shape[1], k, np.dtype(dtype)).astype(np.float64)

    def half(D, F):
        out = np.zeros((D.shape[0], k))
        for u in range(D.shape[0]):
            obs = D[u] != 0
            if not obs.any():
                continue
            if implicit:
                c = 1 + alpha * D[u]
                A = (F.T * c) @ F + reg * np.eye(k)
                b = F[obs].T @ c[obs]
            else:
                A = F[obs].T @ F[obs] + reg * np.eye(k)
                b = F[obs].T @ D[u, obs]
            out[u] = np.linalg.solve(A, b)
        return out

    losses = []
    for _ in range(iterations):
        X = half(D, Y)
        Y = half(D.T, X)
        losses.append(direct_loss(D, X, Y, reg, alpha, implicit))
    return X, Y, losses


def fit(A, **kw) -> ALS:
    params = {"regularization": REG, "alpha": ALPHA, "iterations": 2, **kw}
    return ALS(K, **params).fit(A)


# ----------------------------------------------- reference, chunkings, schedulers
CHUNKINGS = [
    None,  # scipy.sparse in memory: ALS cuts balanced blocks itself
    N_USERS,  # a DRM of one row block
    7,  # many row blocks, uneven last one (60 = 8 x 7 + 4)
    (1, 30, 29),  # a one-row block first
]


@pytest.fixture(scope="module")
def bits():
    """Reference fits on the synchronous scheduler, in-memory input, per (implicit, solver)."""
    out = {}
    for implicit in (True, False):
        for solver in ("cholesky", "cg"):
            with __import__("dask").config.set(scheduler="synchronous"):
                out[implicit, solver] = fit(R, implicit=implicit, solver=solver)
    return out


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
def test_sweeps_match_dense_reference_for_every_chunking(scheduler, bits, implicit, chunks):
    A = R if chunks is None else dl.from_array(R, chunks=chunks)
    X, Y, losses = reference(R, K, REG, ALPHA, implicit, 2)
    exact = fit(A, implicit=implicit, solver="cholesky")
    np.testing.assert_allclose(exact.user_factors_, X, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(exact.item_factors_, Y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(exact.loss_, losses, rtol=1e-10)
    assert not exact.user_factors_[3].any()
    assert not exact.item_factors_[5].any()
    # bitwise: whatever the chunking and the scheduler, for both solvers
    cg = fit(A, implicit=implicit, solver="cg")
    for got, ref in ((exact, bits[implicit, "cholesky"]), (cg, bits[implicit, "cg"])):
        np.testing.assert_array_equal(got.user_factors_, ref.user_factors_)
        np.testing.assert_array_equal(got.item_factors_, ref.item_factors_)
        assert got.loss_ == ref.loss_


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_float32_in_float32_out_close_to_reference(implicit):
    X, Y, losses = reference(R, K, REG, ALPHA, implicit, 2, dtype=np.float32)
    got = fit(R.astype(np.float32), implicit=implicit, solver="cholesky")
    assert got.user_factors_.dtype == got.item_factors_.dtype == np.float32
    # each half rounds the float64 solution to float32 (relative 6e-8), amplified by the
    # condition of the next systems: 1e-5 of the largest factor is ample
    np.testing.assert_allclose(got.user_factors_, X, atol=1e-5 * np.abs(X).max())
    np.testing.assert_allclose(got.item_factors_, Y, atol=1e-5 * np.abs(Y).max())
    np.testing.assert_allclose(got.loss_, losses, rtol=1e-5)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_loss_is_the_documented_loss_and_decreases(implicit, solver):
    got = fit(R, implicit=implicit, solver=solver, iterations=8)
    assert len(got.loss_) == 8
    expected = direct_loss(R, got.user_factors_, got.item_factors_, REG, ALPHA, implicit)
    np.testing.assert_allclose(got.loss_[-1], expected, rtol=1e-12)
    if solver == "cholesky":  # each half-step minimises the loss exactly: never up
        steps = np.diff(got.loss_)
        assert (steps <= 1e-14 * got.loss_[0]).all(), steps


def test_cg_with_enough_steps_is_exact():
    exact = fit(R, solver="cholesky", iterations=3)
    cg = fit(R, solver="cg", cg_steps=3 * K, iterations=3)
    np.testing.assert_allclose(cg.user_factors_, exact.user_factors_, atol=1e-8)
    np.testing.assert_allclose(cg.loss_, exact.loss_, rtol=1e-10)


def test_seed_changes_the_start_and_the_start_is_chunk_independent():
    a = initial_factors(3, 0, 0, 9000, 4, np.dtype(np.float64))
    b = np.vstack(
        [
            initial_factors(3, 0, s, min(s + 1000, 9000), 4, np.dtype(np.float64))
            for s in range(0, 9000, 1000)
        ]
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fit(R, seed=1).item_factors_, fit(R, seed=0).item_factors_)


# --------------------------------------------------------------- other inputs
def test_dask_array_and_dense_input_give_the_same_bits():
    ref = fit(R)
    for A in (R.toarray(), da.from_array(R.toarray(), chunks=(13, 25)), sp.coo_matrix(R)):
        got = fit(A)
        np.testing.assert_array_equal(got.user_factors_, ref.user_factors_)
        assert got.loss_ == ref.loss_


def test_interactions_input_uses_the_primary_action_and_its_labels():
    inter = pytest.importorskip("dlinalg.models.recommenders._interactions")
    rows, cols = R.nonzero()
    df = pd.DataFrame(
        {
            "user": [f"u{u:02d}" for u in np.repeat(rows, R.data.astype(int))],
            "item": [f"i{i:02d}" for i in np.repeat(cols, R.data.astype(int))],
        }
    )
    I = inter.Interactions.from_dataframe(df, user="user", item="item")
    got = fit(I)
    M = I.matrix(I.actions[0])
    ref = fit(M)
    assert list(got.user_labels_) == list(I.users)
    assert list(got.item_labels_) == list(I.items(I.actions[0]))
    np.testing.assert_array_equal(got.item_factors_, ref.item_factors_)


def test_recommend_all_takes_and_gives_labels_like_recommend():
    inter = pytest.importorskip("dlinalg.models.recommenders._interactions")
    rows, cols = R.nonzero()
    df = pd.DataFrame({"user": [f"u{u:02d}" for u in rows], "item": [f"i{i:02d}" for i in cols]})
    model = fit(inter.Interactions.from_dataframe(df, user="user", item="item"))
    who = ["u07", "u00", "u13"]
    ids, scores = model.recommend_all(who, N=4, batch_size=2)
    for row, u in enumerate(who):
        want_ids, want_scores = model.recommend(u, N=4)
        assert list(ids[row, : len(want_ids)]) == list(want_ids)
        np.testing.assert_allclose(scores[row, : len(want_ids)], want_scores, rtol=1e-12)
    users = pd.Index(model.user_labels_).get_indexer(who)
    pos, _ = model.recommend_all(users, N=4, batch_size=2, labels=False)
    for row in range(len(who)):
        named = [model.item_labels_[p] for p in pos[row] if p >= 0]
        assert named == [i for i in ids[row] if i is not None]
    with pytest.raises(KeyError, match=r"unknown user\(s\) 'nobody'"):
        model.recommend_all(["u00", "nobody"])


def test_lazy_input_with_negative_counts_fails_in_the_first_pass():
    bad = R.copy()
    bad.data[0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        ALS(K).fit(dl.from_array(bad, chunks=20))
    ALS(K, implicit=False, iterations=1).fit(dl.from_array(bad, chunks=20))  # ratings may be < 0


# --------------------------------------------------------------- the implicit library
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_same_loss_as_the_implicit_library(dtype, solver):
    implicit_als = pytest.importorskip("implicit.cpu.als")
    M = _ratings(300, 120, 0.05, 1).astype(dtype)
    k, iterations = 8, 5
    # implicit's confidence is its matrix itself: give it 1 + alpha r and alpha = 1
    C = sp.csr_matrix(M, dtype=np.float32)
    C.data = 1 + ALPHA * C.data
    losses: list = []
    with threadpool_limits(1, "blas"):  # implicit warns about a BLAS thread pool otherwise
        model = implicit_als.AlternatingLeastSquares(
            factors=k,
            regularization=0.05,
            alpha=1.0,
            dtype=dtype,
            use_cg=solver == "cg",
            iterations=iterations,
            calculate_training_loss=True,
            num_threads=1,
            random_state=0,
        )
        model.user_factors = initial_factors(0, 0, 0, 300, k, np.dtype(dtype))
        model.item_factors = initial_factors(0, 1, 0, 120, k, np.dtype(dtype))
        model.fit(C, show_progress=False, callback=lambda _it, _t, loss: losses.append(loss))
    ours = ALS(k, regularization=0.05, alpha=ALPHA, iterations=iterations, solver=solver).fit(M)
    # implicit rounds the regularization to float32 and sums its loss in float32
    rtol = 1e-5 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(ours.loss_, losses, rtol=rtol)
    tol = 1e-3 if dtype == np.float32 else 1e-6
    for a, b in (
        (ours.user_factors_, model.user_factors),
        (ours.item_factors_, model.item_factors),
    ):
        assert np.linalg.norm(a - b) <= tol * np.linalg.norm(b)


# --------------------------------------------------------------- recommendations
@pytest.fixture(scope="module")
def model():
    return fit(R, iterations=5)


def _expected_top(scores, exclude, n):
    scores = scores.astype(np.float64).copy()
    scores[list(exclude)] = np.nan
    order = [i for i in np.lexsort((np.arange(len(scores)), -scores)) if not np.isnan(scores[i])]
    return np.array(order[:n], dtype=np.int64)


def test_recommend_ranks_unseen_items_by_score(model):
    for u in (0, 3, 17):
        ids, scores = model.recommend(u, N=8)
        seen = set(R[[u]].indices)
        want = _expected_top(model.item_factors_ @ model.user_factors_[u], seen, 8)
        np.testing.assert_array_equal(ids, want)
        np.testing.assert_allclose(scores, model.item_factors_[ids] @ model.user_factors_[u])
        assert not seen & set(ids.tolist())
    everything, _ = model.recommend(0, N=100, filter_already_liked_items=False)
    assert len(everything) == N_ITEMS
    assert len(model.recommend(0, N=100)[0]) == N_ITEMS - R[[0]].nnz


def test_recommend_all_equals_recommend(scheduler, model):
    users = np.array([5, 0, 17, 3])
    ids, scores = model.recommend_all(users, N=6, batch_size=3)
    for row, u in enumerate(users):
        want_ids, want_scores = model.recommend(int(u), N=6)
        np.testing.assert_array_equal(ids[row, : len(want_ids)], want_ids)
        np.testing.assert_allclose(scores[row, : len(want_ids)], want_scores, rtol=1e-12)
        assert (ids[row, len(want_ids) :] == -1).all()
    all_ids, _ = model.recommend_all(N=3, filter_already_liked_items=False)
    assert all_ids.shape == (N_USERS, 3)
    np.testing.assert_array_equal(
        all_ids[17], model.recommend(17, N=3, filter_already_liked_items=False)[0]
    )


def test_similar_items_is_cosine_on_item_factors(model):
    Y = model.item_factors_
    norms = np.linalg.norm(Y, axis=1)
    norms[norms == 0] = 1e-10
    cos = Y @ Y[2] / (norms * norms[2])
    ids, scores = model.similar_items(2, N=5)
    np.testing.assert_array_equal(ids, _expected_top(cos, (), 5))
    assert ids[0] == 2
    np.testing.assert_allclose(scores, cos[ids], rtol=1e-12)


def test_recommend_bad_arguments(model):
    with pytest.raises(KeyError, match=r"unknown user\(s\) 60"):
        model.recommend(N_USERS)
    with pytest.raises(TypeError, match="position"):
        model.recommend("u1")
    with pytest.raises(ValueError, match="'N'"):
        model.recommend(0, N=0)
    with pytest.raises(KeyError, match=r"unknown item\(s\) -1"):
        model.similar_items(-1)
    with pytest.raises(KeyError, match=rf"unknown user\(s\) {N_USERS}"):
        model.recommend_all([0, N_USERS])
    with pytest.raises(NotFittedError):
        ALS().recommend(0)


def test_is_a_scikit_learn_estimator():
    est = ALS(8, regularization=0.5, solver="cholesky")
    assert clone(est).get_params() == est.get_params()
    assert est.get_params()["factors"] == 8


# --------------------------------------------------------------- bad input
BAD_PARAMS = [
    ({"factors": 0}, ValueError, "'factors'"),
    ({"factors": 2.5}, ValueError, "'factors'"),
    ({"factors": True}, ValueError, "'factors'"),
    ({"regularization": -0.1}, ValueError, "'regularization'.*-0.1"),
    ({"regularization": float("nan")}, ValueError, "'regularization'"),
    ({"alpha": -1.0}, ValueError, "'alpha'.*-1.0"),
    ({"alpha": float("inf")}, ValueError, "'alpha'"),
    ({"iterations": 0}, ValueError, "'iterations'"),
    ({"cg_steps": 0}, ValueError, "'cg_steps'"),
    ({"seed": -1}, ValueError, "'seed'"),
    ({"solver": "lu"}, ValueError, "'solver'.*'lu'"),
    ({"implicit": "yes"}, TypeError, "'implicit'"),
]


@pytest.mark.parametrize(("params", "error", "match"), BAD_PARAMS)
def test_bad_parameters_fail_before_any_graph(no_graph_no_compute, params, error, match):
    with pytest.raises(error, match=match):
        ALS(**params).fit(R)
    with pytest.raises(error, match=match):  # lazy input too: parameters come first
        ALS(**params).fit(da.ones((4, 4), chunks=2))


NEGATIVE = R.copy()
NEGATIVE.data[3] = -2.0
NAN = R.toarray()
NAN[1, 1] = np.nan
BAD_DATA = [
    (NEGATIVE, {}, ValueError, "non-negative.*-2.0"),
    (NAN, {}, ValueError, "NaN"),
    (np.zeros((0, 4)), {}, ValueError, "empty.*shape"),
    (np.zeros((3, 4)), {}, ValueError, "no non-zero"),
    (sp.csr_array((5, 3)), {"implicit": False}, ValueError, "no non-zero"),
    (np.ones(4), {}, ValueError, "2-D"),
    (np.array([["a", "b"]]), {}, TypeError, "numeric"),
    ({"a": 1}, {}, TypeError, "dict"),
]


@pytest.mark.parametrize(("data", "params", "error", "match"), BAD_DATA)
def test_bad_matrices_fail_before_any_graph(no_graph_no_compute, data, params, error, match):
    with pytest.raises(error, match=match):
        ALS(**params).fit(data)


def test_explicit_ratings_may_be_negative():
    got = ALS(K, implicit=False, iterations=3, solver="cholesky").fit(NEGATIVE)
    _, _, losses = reference(NEGATIVE, K, 0.01, 1.0, False, 3)
    np.testing.assert_allclose(got.loss_, losses, rtol=1e-10)


# --------------------------------------------------------------- a worker dies
@pytest.mark.cluster
def test_worker_kill_mid_fit_gives_identical_factors(fresh_cluster, monkeypatch):
    _, client = fresh_cluster
    A = _ratings(20_000, 3_000, 0.01, 2)
    params = {"factors": 16, "iterations": 5}
    ref = ALS(**params).fit(A)  # no client current: in this process
    victim = min(client.run(os.getpid).values())
    killed = threading.Event()
    seen_after: list[bool] = []

    def kill():
        os.kill(victim, signal.SIGKILL)
        killed.set()

    def on_iteration(iteration, loss):
        if iteration == 1:
            threading.Timer(0.01, kill).start()
        seen_after.append(killed.is_set())

    monkeypatch.setattr(als_module, "_on_iteration", on_iteration)
    with client.as_current():
        got = ALS(**params).fit(A)
    assert killed.is_set(), "the fit ended before the kill"
    assert seen_after[-1], "the kill came after the last iteration"
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    np.testing.assert_array_equal(got.user_factors_, ref.user_factors_)
    np.testing.assert_array_equal(got.item_factors_, ref.item_factors_)
    assert got.loss_ == ref.loss_


def _n_tasks(dask_scheduler=None) -> int:
    return len(dask_scheduler.tasks)


@pytest.mark.cluster
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_factor_lineage_is_cut_and_the_factors_do_not_change(client, monkeypatch, solver):
    """Every ``dlinalg.als-rebase-every`` iterations the factors come back as data: the
    scheduler's task count stops growing with the iterations, and the bits stay."""
    A = _ratings(3_000, 800, 0.02, 5)
    params = {"factors": 8, "iterations": 12, "solver": solver}
    counts: list[int] = []
    monkeypatch.setattr(
        als_module,
        "_on_iteration",
        lambda it, loss: counts.append(client.run_on_scheduler(_n_tasks)),
    )
    with client.as_current():
        with dask.config.set({"dlinalg.als-rebase-every": 10**9}):
            uncut = ALS(**params).fit(A)
        grown = counts[-1] - counts[2]
        counts.clear()
        with dask.config.set({"dlinalg.als-rebase-every": 2}):
            cut = ALS(**params).fit(A)
    assert grown > 10 * 3  # without the cut: every iteration adds its tasks
    assert max(counts[3:]) - min(counts[3:]) < grown / 2
    np.testing.assert_array_equal(cut.user_factors_, uncut.user_factors_)
    np.testing.assert_array_equal(cut.item_factors_, uncut.item_factors_)
    assert cut.loss_ == uncut.loss_
