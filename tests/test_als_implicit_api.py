"""ALS's implicit-style calls against the implicit library itself (0.7).

Truth: ``implicit.cpu.als.AlternatingLeastSquares`` holding dlinalg's fitted
factors (float64) answers the same calls: ``recommend`` (one user and a
batch, with and without the liked-item filter, ``filter_items``, ``items``,
``recalculate_user``), ``similar_items``, ``similar_users`` and
``recalculate_user``/``recalculate_item``/``partial_fit_users``. dlinalg's
confidence is ``c = 1 + alpha r`` where implicit's is its matrix entry, so
implicit is given ``1 + alpha r`` on the stored entries and ``alpha=1``.
Ids and scores must agree (scores to 1e-10 relative: implicit sums in
another order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dlinalg.models import ALS, Interactions
from threadpoolctl import threadpool_limits

implicit_als = pytest.importorskip("implicit.cpu.als")

K, REG, ALPHA = 6, 0.1, 2.0
N_USERS, N_ITEMS = 40, 30


def _counts(n_users: int, n_items: int, seed: int) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    R = sp.random_array((n_users, n_items), density=0.2, rng=rng, format="csr",
                        data_sampler=lambda size: rng.integers(1, 5, size).astype(np.float64))  # fmt: skip
    return sp.csr_array(R)


R = _counts(N_USERS, N_ITEMS, 0)


@pytest.fixture(scope="module")
def model() -> ALS:
    return ALS(K, regularization=REG, alpha=ALPHA, iterations=4, solver="cholesky").fit(R)


def _confidence(M: sp.csr_array) -> sp.csr_matrix:
    """implicit's input for dlinalg's model: ``1 + alpha r`` on the stored entries."""
    C = sp.csr_matrix(M, dtype=np.float64, copy=True)
    C.data = 1.0 + ALPHA * C.data
    return C


@pytest.fixture(scope="module")
def reference(model) -> implicit_als.AlternatingLeastSquares:
    with threadpool_limits(1, "blas"):  # implicit warns about a BLAS thread pool otherwise
        ref = implicit_als.AlternatingLeastSquares(
            factors=K, regularization=REG, alpha=1.0, dtype=np.float64, num_threads=1
        )
    ref.user_factors = model.user_factors_.copy()
    ref.item_factors = model.item_factors_.copy()
    return ref


def _same(ours, theirs, rtol=1e-10):
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=rtol)


USERS = np.array([0, 7, 3, 39, 12])


@pytest.mark.parametrize("liked", [True, False], ids=["filter-liked", "keep-liked"])
def test_recommend_batch_and_one_equal_implicit(model, reference, liked):
    theirs = reference.recommend(
        USERS, sp.csr_matrix(R[USERS]), N=7, filter_already_liked_items=liked
    )
    _same(
        model.recommend(USERS, sp.csr_matrix(R[USERS]), N=7, filter_already_liked_items=liked),
        theirs,
    )
    # without user_items the training history filters, the same rows
    _same(model.recommend(USERS, N=7, filter_already_liked_items=liked), theirs)
    one = reference.recommend(7, sp.csr_matrix(R[[7]]), N=7, filter_already_liked_items=liked)
    _same(model.recommend(7, N=7, filter_already_liked_items=liked), one)


def test_recommend_filter_items_and_items_equal_implicit(model, reference):
    rows = sp.csr_matrix(R[USERS])
    drop = np.array([1, 4, 9, 20])
    _same(model.recommend(USERS, rows, N=5, filter_items=drop),
          reference.recommend(USERS, rows, N=5, filter_items=drop))  # fmt: skip
    keep = np.array([25, 3, 8, 11, 2, 17, 29])
    _same(model.recommend(USERS, rows, N=4, items=keep),
          reference.recommend(USERS, rows, N=4, items=keep))  # fmt: skip
    _same(model.recommend(USERS, rows, N=4, items=keep, filter_already_liked_items=False),
          reference.recommend(USERS, rows, N=4, items=keep, filter_already_liked_items=False))  # fmt: skip


def test_recalculate_user_folds_in_as_implicit(model, reference):
    new = _counts(3, N_ITEMS, 5)
    ours = model.recalculate_user([100, 101, 102], new)
    theirs = reference.recalculate_user([100, 101, 102], _confidence(new))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(model.recalculate_user(5, new[[1]]), theirs[1], rtol=1e-10)
    _same(model.recommend([100, 101, 102], new, N=6, recalculate_user=True),
          reference.recommend([100, 101, 102], _confidence(new), N=6, recalculate_user=True))  # fmt: skip
    item_users = sp.csr_array(R.T)[[2, 4]]
    np.testing.assert_allclose(model.recalculate_item([2, 4], item_users),
                               reference.recalculate_item([2, 4], _confidence(item_users)),
                               rtol=1e-10, atol=1e-14)  # fmt: skip


def test_similar_items_and_users_equal_implicit(model, reference):
    items = np.array([0, 5, 13])
    _same(model.similar_items(items, N=6), reference.similar_items(items, N=6))
    _same(model.similar_items(13, N=6), reference.similar_items(13, N=6))
    _same(model.similar_items(items, N=4, filter_items=[0, 1]),
          reference.similar_items(items, N=4, filter_items=[0, 1]))  # fmt: skip
    _same(model.similar_items(items, N=3, items=[0, 5, 13, 20, 22]),
          reference.similar_items(items, N=3, items=np.array([0, 5, 13, 20, 22])))  # fmt: skip
    _same(model.similar_users(USERS, N=5), reference.similar_users(USERS, N=5))
    _same(
        model.similar_users(3, N=5, filter_users=[3]),
        reference.similar_users(3, N=5, filter_users=[3]),
    )


def test_partial_fit_users_equals_implicit(model, reference):
    import copy

    ours, theirs = copy.deepcopy(model), copy.deepcopy(reference)
    new = _counts(2, N_ITEMS, 9)
    ours.partial_fit_users([1, 44], new)
    theirs.partial_fit_users([1, 44], _confidence(new))
    np.testing.assert_allclose(ours.user_factors_, theirs.user_factors, rtol=1e-10, atol=1e-14)
    assert ours.n_users_ == 45
    assert not ours.user_factors_[40:44].any()
    # the new history is what recommend filters now
    np.testing.assert_array_equal(ours._seen[[44]].indices, new[[1]].indices)
    assert not set(ours.recommend(44, N=N_ITEMS)[0]) & set(new[[1]].indices)
    item_users = sp.csr_array(sp.hstack([R.T[[0]], sp.csr_array((1, 5))]))  # 45 users now
    ours.partial_fit_items([31], item_users)
    assert ours.item_factors_.shape == (32, K)
    assert ours.n_items_ == 32
    np.testing.assert_array_equal(ours._seen[:, [31]].tocoo().row, R[:, [0]].tocoo().row)


# ------------------------------------------------------------------ labels in, labels out
def _labeled():
    log = pd.DataFrame({"user": ["ann", "bob", "bob", "cy", "cy", "dee", "ann"],
                        "item": ["tea", "tea", "jam", "jam", "egg", "egg", "oat"]})  # fmt: skip
    data = Interactions.from_dataframe(log)
    return data, ALS(2, iterations=3, regularization=0.1, solver="cholesky").fit(data)


def test_labels_in_labels_out_and_the_index_form():
    data, als = _labeled()
    ids, scores = als.recommend(["bob", "ann"], N=2)
    pos_ids, pos_scores = als.recommend(
        als.user_labels_.get_indexer(["bob", "ann"]), N=2, labels=False
    )
    np.testing.assert_array_equal(ids, als.item_labels_.to_numpy()[pos_ids])
    np.testing.assert_array_equal(scores, pos_scores)
    sim, _ = als.similar_items("tea", N=2)
    assert sim[0] == "tea"
    assert als.similar_users("cy", N=1)[0].tolist() == ["cy"]
    ids, _ = als.recommend("ann", N=10, filter_items=["egg"])
    assert "egg" not in ids
    assert not {"tea", "oat"} & set(ids)
    with pytest.raises(KeyError, match=r"unknown user\(s\) 'zed'"):
        als.recommend("zed")
    with pytest.raises(KeyError, match=r"unknown item\(s\) 'ham'"):
        als.recommend("ann", items=["tea", "ham"])
    # a new labeled user, folded in from its history
    history = sp.csr_array(
        ([3.0], ([0], [als.item_labels_.get_loc("jam")])), shape=(1, als.n_items_)
    )
    als.partial_fit_users(["eve"], history)
    assert als.user_labels_[-1] == "eve"
    assert als.n_users_ == data.n_users + 1
    assert "jam" not in als.recommend("eve", N=10)[0]


def test_padding_of_a_batch():
    _, als = _labeled()
    ids, scores = als.recommend(["ann", "bob"], N=4)  # 4 items, each user has seen 2
    assert ids.dtype == object
    assert ids[0, 2] is None
    assert scores[0, 2] == -np.inf
    ids, scores = als.recommend([0, 1], N=4, labels=False)
    assert (ids[:, 2:] == -1).all()
    assert np.isneginf(scores[:, 2:]).all()


def test_bad_calls_are_refused_with_the_reason(model):
    with pytest.raises(ValueError, match="items or filter_items, not both"):
        model.recommend(0, N=3, items=[1], filter_items=[2])
    with pytest.raises(ValueError, match=r"shape \(2, 30\).*got \(1, 30\)"):
        model.recommend([0, 1], R[[0]], N=3)
    with pytest.raises(ValueError, match="user_items is required"):
        model.recommend(0, recalculate_user=True)
    with pytest.raises(ValueError, match="negative count"):
        model.recalculate_user(0, -R[[0]])
    with pytest.raises(ValueError, match="NaN"):
        model.recalculate_user(0, np.full((1, N_ITEMS), np.nan))
    with pytest.raises(ValueError, match="1-D"):
        model.recommend([[0, 1]])
    with pytest.raises(KeyError, match=r"unknown item\(s\) 30"):
        model.similar_items(0, filter_items=[30])
    with pytest.raises(TypeError, match="callback must be callable"):
        ALS(2).fit(R, callback="print")


# ------------------------------------------------------------------ fit's progress and callback
def test_fit_callback_has_implicits_signature():
    calls = []
    als = ALS(3, iterations=4).fit(R, show_progress=False, callback=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [0, 1, 2, 3]
    assert all(c[1] >= 0 for c in calls)
    assert [c[2] for c in calls] == als.loss_


def test_fit_shows_a_progress_bar(capsys):
    ALS(3, iterations=2).fit(R, show_progress=True)
    assert "ALS" in capsys.readouterr().err


# ------------------------------------------------------------------ save and load
def test_save_load_round_trip_without_pickle(tmp_path, model):
    path = tmp_path / "model"  # no extension: written as given
    model.save(path)
    back = ALS.load(path)
    assert back.get_params() == model.get_params()
    for name in ("user_factors_", "item_factors_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    assert back.loss_ == model.loss_
    _same(back.recommend(USERS, N=5), model.recommend(USERS, N=5), rtol=0)
    _, als = _labeled()
    als.save(tmp_path / "labeled.npz")
    back = ALS.load(tmp_path / "labeled.npz")
    assert back.user_labels_.equals(als.user_labels_)
    assert back.recommend("bob", N=2)[0].tolist() == als.recommend("bob", N=2)[0].tolist()


def test_load_refuses_what_save_did_not_write(tmp_path, model):
    bad = tmp_path / "junk.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a saved dlinalg model"):
        ALS.load(bad)
    np.savez(tmp_path / "other.npz", user_factors=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no format entry"):
        ALS.load(tmp_path / "other.npz")
    weird = ALS(2, iterations=2).fit(
        Interactions.from_dataframe(pd.DataFrame({"user": [(1, 2), (3, 4)], "item": ["a", "b"]}))
    )
    with pytest.raises(TypeError, match=r"user_labels holds \(1, 2\)"):
        weird.save(tmp_path / "weird.npz")
    assert not (tmp_path / "weird.npz").exists()


# ------------------------------------------------------------------ implicit.evaluation
@pytest.mark.parametrize("K", [1, 5, 25], ids=["K1", "K5", "K-beyond-unseen"])
def test_ranking_metrics_equal_implicit_evaluation(model, reference, K):
    from dlinalg.models import evaluation
    from implicit import evaluation as implicit_evaluation

    test = _counts(N_USERS, N_ITEMS, 3)
    test = sp.csr_array(test - test.multiply(R > 0))  # held out: items not in training
    test.eliminate_zeros()
    train = sp.csr_matrix(R)
    theirs = implicit_evaluation.ranking_metrics_at_k(reference, train, sp.csr_matrix(test), K=K,
                                                      show_progress=False)  # fmt: skip
    ours = evaluation.ranking_metrics_at_k(model, train, test, K=K)
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == pytest.approx(theirs[name], rel=1e-12), name
    # implicit's model through dlinalg's metrics, and the one-metric functions
    assert evaluation.ranking_metrics_at_k(reference, train, test, K=K) == pytest.approx(theirs)
    assert evaluation.precision_at_k(model, train, test, K) == pytest.approx(theirs["precision"])
    assert evaluation.mean_average_precision_at_k(model, train, test, K) == pytest.approx(
        theirs["map"]
    )
    assert evaluation.ndcg_at_k(model, train, test, K) == pytest.approx(theirs["ndcg"])
    assert evaluation.AUC_at_k(model, train, test, K) == pytest.approx(theirs["auc"])


def test_ranking_metrics_refuse_bad_input(model):
    from dlinalg.models import evaluation

    with pytest.raises(ValueError, match="'K'"):
        evaluation.precision_at_k(model, R, R, K=0)
    with pytest.raises(TypeError, match=r"scipy\.sparse"):
        evaluation.precision_at_k(model, R.toarray(), R, K=3)
    with pytest.raises(ValueError, match="one shape"):
        evaluation.precision_at_k(model, R, R[:5], K=3)
    with pytest.raises(ValueError, match="no user has a test item"):
        evaluation.precision_at_k(model, R, sp.csr_array(R.shape), K=3)


def test_K_beyond_the_items_stays_a_fraction(model):
    # implicit 0.7 reports precision 1.35 here (its top-k pads with repeated ids when K
    # exceeds the items); dlinalg pads with -1, which is never a hit
    from dlinalg.models import evaluation

    test = _counts(N_USERS, N_ITEMS, 3)
    got = evaluation.ranking_metrics_at_k(model, R, test, K=N_ITEMS + 10)
    assert all(0 <= v <= 1 for v in got.values()), got
