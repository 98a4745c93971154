"""The similarity models' implicit-style calls, against implicit's item-item models and numpy.

Truth, where implicit (0.7) has the analogue: ``implicit.nearest_neighbours``'s
``CosineRecommender`` (its similarity equals ``CosineSimilarity``'s off the
diagonal) and ``ItemItemRecommender`` holding dlinalg's fitted similarity
matrix answer ``recommend`` (one user and a batch, with and without the
liked-item filter, ``filter_items``, ``items``) and ``similar_items``. The
documented differences are removed from implicit's answer before comparing:
implicit returns the liked items it filters with score 0, keeps the item
itself (cosine 1) among its neighbours, appends ``items`` without a score,
and pads with ``-float32 max`` where dlinalg pads with ``-inf``. Everything
else is checked against numpy brute force: ``scores = history @ S``, the
items with a non-zero score ranked by score, ties to the lower position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dlinalg.models import CosineSimilarity, Interactions, ItemSimilarity, RowSimilarity
from threadpoolctl import threadpool_limits

nn = pytest.importorskip("implicit.nearest_neighbours")
from implicit._nearest_neighbours import NearestNeighboursScorer

N_USERS, N_ITEMS = 40, 15


def _counts(n_users: int, n_items: int, seed: int, density: float = 0.3) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    R = sp.random_array((n_users, n_items), density=density, rng=rng, format="csr",
                        data_sampler=lambda size: rng.integers(1, 5, size).astype(np.float64))  # fmt: skip
    return sp.csr_array(R)


R = _counts(N_USERS, N_ITEMS, 0)
USERS = np.array([0, 7, 3, 39, 12, 25])


@pytest.fixture(scope="module")
def cosine() -> CosineSimilarity:
    return CosineSimilarity().fit(R)


@pytest.fixture(scope="module")
def llr() -> ItemSimilarity:
    return ItemSimilarity(max_similar_items=5).fit(R)


def _implicit_with(S: sp.csr_array) -> nn.ItemItemRecommender:
    """implicit's item-item model holding the similarity ``S`` (its recommend: rows @ S)."""
    with threadpool_limits(1, "blas"):
        ref = nn.ItemItemRecommender(K=N_ITEMS, num_threads=1)
    S = sp.csr_array(S)
    ref.similarity = sp.csr_matrix(
        (S.data, S.indices.astype(np.int32), S.indptr.astype(np.int32)), shape=S.shape
    )
    ref.scorer = NearestNeighboursScorer(ref.similarity)
    return ref


def _trim(ids, scores, liked=()):
    """implicit's answer without its padding and the liked items it returns with score 0."""
    keep = (ids >= 0) & (scores > -np.finfo(np.float32).max) & ~np.isin(ids, list(liked))
    return ids[keep], scores[keep]


def _same(ours, theirs, rtol=1e-12):
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=rtol)


def _brute(H: np.ndarray, S: np.ndarray, N: int, liked: bool, cand=None):
    """numpy: rank ``H @ S`` per row, non-zero scores only, ties to the lower position."""
    scores = H @ S
    out_ids, out_scores = [], []
    for u in range(H.shape[0]):
        ok = scores[u] != 0
        if liked:
            ok &= H[u] == 0
        if cand is not None:
            ok &= np.isin(np.arange(S.shape[1]), cand)
        idx = np.flatnonzero(ok)
        order = idx[np.lexsort((idx, -scores[u][idx]))][:N]
        out_ids.append(order)
        out_scores.append(scores[u][order])
    return out_ids, out_scores


# ------------------------------------------------------------------ against implicit
# implicit's own CosineRecommender.fit hands its kNN a COO matrix and warns about it
@pytest.mark.filterwarnings("ignore:Method expects CSR input")
def test_cosine_similarity_is_implicits_cosine_recommender_off_the_diagonal(cosine):
    with threadpool_limits(1, "blas"):
        ref = nn.CosineRecommender(K=N_ITEMS + 1, num_threads=1)
        ref.fit(sp.csr_matrix(R), show_progress=False)
    theirs = ref.similarity.toarray()
    np.testing.assert_allclose(np.diag(theirs), 1.0, rtol=1e-12)
    np.fill_diagonal(theirs, 0.0)
    np.testing.assert_allclose(cosine._symmetric.toarray(), theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("liked", [True, False], ids=["filter-liked", "keep-liked"])
def test_recommend_batch_and_one_equal_implicit(cosine, liked):
    ref = _implicit_with(cosine._symmetric)
    rows = R[USERS]
    ours = cosine.recommend(USERS, rows, N=6, filter_already_liked_items=liked)
    assert (ours[0] >= 0).sum() > 3 * len(USERS)  # not a vacuous comparison
    theirs = ref.recommend(USERS, sp.csr_matrix(rows), N=6 + N_ITEMS,
                           filter_already_liked_items=liked)  # fmt: skip
    for u in range(len(USERS)):
        seen = rows[[u]].indices if liked else ()
        want = _trim(theirs[0][u], theirs[1][u], seen)
        got = (ours[0][u][ours[0][u] >= 0], ours[1][u][ours[0][u] >= 0])
        _same(got, (want[0][:6], want[1][:6]))
        one = cosine.recommend(int(USERS[u]), rows[[u]], N=6, filter_already_liked_items=liked)
        _same(one, got, rtol=0)


def test_recommend_filter_items_and_items_equal_implicit(cosine):
    ref = _implicit_with(cosine._symmetric)
    rows = R[USERS]
    drop = np.array([1, 4, 9])
    keep = np.array([11, 3, 8, 2, 13])
    ours_drop = cosine.recommend(USERS, rows, N=4, filter_items=drop)
    ours_keep = cosine.recommend(USERS, rows, N=3, items=keep, filter_already_liked_items=False)
    for u in range(len(USERS)):
        user = sp.csr_matrix(rows[[u]])
        want = _trim(*ref.recommend(0, user, N=4 + N_ITEMS, filter_items=drop), user.indices)
        got = ours_drop[0][u], ours_drop[1][u]
        k = int((got[0] >= 0).sum())
        _same((got[0][:k], got[1][:k]), (want[0][:4], want[1][:4]))
        ids, scores = ref.recommend(0, user, N=3, items=keep, filter_already_liked_items=False)
        scored = scores > -np.finfo(np.float64).max  # implicit appends unscored items
        want = ids[scored][:3], scores[scored][:3]
        got = ours_keep[0][u], ours_keep[1][u]
        k = int((got[0] >= 0).sum())
        _same((got[0][:k], got[1][:k]), want)


def test_similar_items_equal_implicit(cosine):
    ref = _implicit_with(cosine._symmetric)
    items = np.array([0, 5, 13])
    ours = cosine.similar_items(items, N=6)
    theirs = ref.similar_items(items, N=6)
    for r in range(len(items)):
        _same((ours[0][r][ours[0][r] >= 0], ours[1][r][ours[0][r] >= 0]),
              _trim(theirs[0][r], theirs[1][r]))  # fmt: skip
    _same(cosine.similar_items(13, N=6), _trim(*ref.similar_items(13, N=6)))
    _same(cosine.similar_items(13, N=4, filter_items=[0, 1]),
          _trim(*ref.similar_items(13, N=4, filter_items=[0, 1])))  # fmt: skip


def test_llr_recommend_equals_implicit_on_the_transposed_indicators(llr):
    # Mahout's query: item i scores sum_h indicators[i, h]; implicit's rows @ S with S = ind.T
    ref = _implicit_with(sp.csr_array(llr.indicators_[0].T))
    rows = R[USERS].copy()
    rows.data[:] = 1.0  # the LLR models score presence
    ours = llr.recommend(USERS, R[USERS], N=N_ITEMS, filter_already_liked_items=False)
    assert (ours[0] >= 0).sum() > len(USERS)
    theirs = ref.recommend(USERS, sp.csr_matrix(rows), N=N_ITEMS, filter_already_liked_items=False)
    for u in range(len(USERS)):
        got = ours[0][u][ours[0][u] >= 0], ours[1][u][ours[0][u] >= 0]
        want = _trim(theirs[0][u], theirs[1][u])
        # implicit breaks ties in its own order: compare as maps item -> score
        assert dict(zip(got[0].tolist(), got[1].tolist(), strict=True)) == pytest.approx(
            dict(zip(want[0].tolist(), want[1].tolist(), strict=True)), rel=1e-12
        )


# ------------------------------------------------------------------ against numpy
def _models():
    X = _counts(30, 12, 4, density=0.35)
    return X, [
        (ItemSimilarity(max_similar_items=4).fit(X), True),
        (RowSimilarity(max_similar_rows=4).fit(X.T), True),
        (CosineSimilarity(threshold=0.1).fit(X), False),
    ]


def _dense_scoring(model) -> np.ndarray:
    if isinstance(model, CosineSimilarity):
        S = model.similarities_.toarray()
        return S + S.T
    ind = model.indicators_[0] if isinstance(model, ItemSimilarity) else model.indicators_
    return ind.toarray().T


@pytest.mark.parametrize("kind", ["ItemSimilarity", "RowSimilarity", "CosineSimilarity"])
@pytest.mark.parametrize("liked", [True, False])
def test_recommend_equals_numpy(kind, liked):
    _, models = _models()
    model, binary = next((m, b) for m, b in models if type(m).__name__ == kind)
    S = _dense_scoring(model)
    n = S.shape[0]
    H = _counts(9, n, 11, density=0.25).toarray()
    H[3] = 0  # a user without history: nothing to recommend
    Hq = (H > 0).astype(float) if binary else H
    ids, scores = model.recommend(np.arange(9), H, N=5, filter_already_liked_items=liked)
    want_ids, want_scores = _brute(Hq, S, 5, liked)
    for u in range(9):
        k = len(want_ids[u])
        assert ids[u, :k].tolist() == want_ids[u].tolist()
        np.testing.assert_allclose(scores[u, :k], want_scores[u], rtol=1e-12)
        assert (ids[u, k:] == -1).all()
        assert np.isneginf(scores[u, k:]).all()
    assert ids[3].tolist() == [-1] * 5
    cand = np.array([0, 2, 5, 7, 9])
    ids, scores = model.recommend(np.arange(9), H, N=3, items=cand[::-1])
    want_ids, _ = _brute(Hq, S, 3, True, cand)
    for u in range(9):
        assert ids[u, : len(want_ids[u])].tolist() == want_ids[u].tolist()
    # recalculate_user is accepted and changes nothing: every user comes from user_items
    _same(model.recommend(1, H[[1]], recalculate_user=True), model.recommend(1, H[[1]]), 0)


@pytest.mark.parametrize("kind", ["ItemSimilarity", "RowSimilarity", "CosineSimilarity"])
def test_similar_items_equal_numpy(kind):
    _, models = _models()
    model = next(m for m, _ in models if type(m).__name__ == kind)
    M = _dense_scoring(model).T  # rows: an item's neighbours
    items = np.arange(M.shape[0])
    ids, scores = model.similar_items(items, N=3)
    for i in items:
        nz = np.flatnonzero(M[i])
        order = nz[np.lexsort((nz, -M[i][nz]))][:3]
        assert ids[i, : len(order)].tolist() == order.tolist()
        np.testing.assert_array_equal(scores[i, : len(order)], M[i][order])
        assert i not in ids[i]  # never its own neighbour
    if isinstance(model, RowSimilarity):
        _same(model.similar_rows(items, N=3), (ids, scores), 0)


def test_item_similarity_matches_its_single_history_form_and_cross_occurrence():
    A = np.array([[0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 1, 0, 0]])
    B = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [0, 0, 0, 1, 1], [1, 1, 1, 0, 0]])
    model = ItemSimilarity().fit(A, B)
    hist_a, hist_b = A[[0, 3]], B[[0, 3]]
    ids, scores = model.recommend([0, 1], hist_a, N=5, others=[hist_b])
    full = hist_a @ model.indicators_[0].toarray().T + hist_b @ model.indicators_[1].toarray().T
    for u in range(2):
        k = int((ids[u] >= 0).sum())
        np.testing.assert_allclose(scores[u, :k], full[u, ids[u, :k]], rtol=1e-15)
        assert not set(ids[u, :k]) & set(np.flatnonzero(hist_a[u]))
    # the secondary action's items, by which
    ids, _ = model.similar_items([4, 0], N=2, which=1)
    assert ids.shape == (2, 2)


# ------------------------------------------------------------------ labels, errors, files
def _labeled():
    log = pd.DataFrame({"user": ["ann", "bob", "bob", "cy", "cy", "dee", "ann", "dee"],
                        "item": ["tea", "tea", "jam", "jam", "egg", "egg", "oat", "tea"]})  # fmt: skip
    data = Interactions.from_dataframe(log)
    return data, ItemSimilarity().fit(data)


def test_labels_in_labels_out_and_the_index_form():
    data, model = _labeled()
    rows = data.matrix(0)[[0, 1]]
    ids, scores = model.recommend(["ann", "bob"], rows, N=3)
    pos, pos_scores = model.recommend([0, 1], rows, N=3, labels=False)
    labels = model.item_labels_[0].to_numpy()
    assert [[labels[p] if p >= 0 else None for p in r] for r in pos] == ids.tolist()
    np.testing.assert_array_equal(scores, pos_scores)
    assert ids.dtype == object
    one, _ = model.recommend("ann", rows[[0]], N=5, filter_items=["jam"])
    assert "jam" not in one
    sim, _ = model.similar_items("tea", N=2)
    assert "tea" not in sim
    np.testing.assert_array_equal(
        model.similar_items(model.item_labels_[0].get_loc("tea"), N=2, labels=False)[0],
        model.item_labels_[0].get_indexer(sim),
    )
    with pytest.raises(KeyError, match=r"unknown item\(s\) 'ham'"):
        model.recommend("ann", rows[[0]], items=["tea", "ham"])
    with pytest.raises(KeyError, match=r"unknown item\(s\) 'ham'"):
        model.similar_items(["ham"])
    with pytest.raises(KeyError, match=r"unknown item\(s\) 9"):
        model.similar_items(9, labels=False)


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda m: m.recommend(3, None), ValueError, "user_items is required"),
        (lambda m: m.recommend(0, R[[0]], N=0), ValueError, "'N'"),
        (lambda m: m.recommend(0, R[[0]], N=2.5), ValueError, "'N'"),
        (lambda m: m.recommend([0, 1], R[[0]]), ValueError, r"shape \(2, 15\).*got \(1, 15\)"),
        (lambda m: m.recommend(0, R[[0], :5]), ValueError, r"shape \(1, 15\)"),
        (lambda m: m.recommend(0, -R[[0]]), ValueError, "negative count"),
        (lambda m: m.recommend(0, np.full((1, 15), np.nan)), ValueError, "NaN"),
        (lambda m: m.recommend(0, [["a"] * 15]), TypeError, "sparse or dense matrix"),
        (lambda m: m.recommend([[0, 1]], R[[0]]), ValueError, "1-D"),
        (lambda m: m.recommend(0, R[[0]], items=[1], filter_items=[2]), ValueError, "not both"),
        (lambda m: m.recommend(0, R[[0]], filter_items=[15]), KeyError, r"item\(s\) 15"),
        (lambda m: m.similar_items(-1), KeyError, r"item\(s\) -1"),
        (lambda m: m.similar_items("a"), TypeError, "integer positions"),
        (lambda m: m.similar_items(0, N=-3), ValueError, "'N'"),
        (lambda m: m.similar_items(0, recalculate_item=True), NotImplementedError, "item-item"),
        (lambda m: m.similar_users(0), NotImplementedError, "no user vectors"),
        (lambda m: type(m)().fit(R, callback=print), NotImplementedError, "no callback"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
@pytest.mark.parametrize("kind", [CosineSimilarity, ItemSimilarity])
def test_bad_calls_are_refused_with_the_reason(kind, call, err, match):
    model = kind().fit(R)
    with pytest.raises(err, match=match):
        call(model)


def test_fit_shows_a_progress_bar(capsys):
    CosineSimilarity().fit(R, show_progress=True)
    assert "CosineSimilarity" in capsys.readouterr().err
    RowSimilarity().fit(R, show_progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kind", ["ItemSimilarity", "RowSimilarity", "CosineSimilarity"])
def test_save_load_round_trip_without_pickle(tmp_path, kind):
    _, models = _models()
    model = next(m for m, _ in models if type(m).__name__ == kind)
    path = tmp_path / "model"  # no extension: written as given
    model.save(path)
    back = type(model).load(path)
    assert back.get_params() == model.get_params()
    H = _counts(4, _dense_scoring(model).shape[0], 3).toarray()
    _same(back.recommend(np.arange(4), H, N=4), model.recommend(np.arange(4), H, N=4), 0)
    _same(back.similar_items([0, 1], N=3), model.similar_items([0, 1], N=3), 0)
    with np.load(path, allow_pickle=False) as z:
        assert str(z["format"]) == f"dlinalg.{kind}/1"
    other = RowSimilarity if kind != "RowSimilarity" else ItemSimilarity
    with pytest.raises(ValueError, match=f"not a saved dlinalg.{other.__name__}/1 model"):
        other.load(path)


def test_save_load_keeps_labels_and_actions(tmp_path):
    log = pd.DataFrame({"user": ["ann", "ann", "bob", "bob", "cy"],
                        "action": ["buy", "view", "buy", "view", "view"],
                        "item": ["tea", "cup", "tea", "pot", "cup"]})  # fmt: skip
    data = Interactions.from_dataframe(log, action="action")
    model = ItemSimilarity().fit(data)
    model.save(tmp_path / "m.npz")
    back = ItemSimilarity.load(tmp_path / "m.npz")
    assert back.actions_ == model.actions_ == ["buy", "view"]
    assert back.n_users_ == model.n_users_
    for j in range(2):
        assert back.item_labels_[j].tolist() == model.item_labels_[j].tolist()
        np.testing.assert_array_equal(back.indicators_[j].toarray(),
                                      model.indicators_[j].toarray())  # fmt: skip
        np.testing.assert_array_equal(back.item_counts_[j], model.item_counts_[j])
    assert back.similar_items("tea", which="view")[0].tolist() == (
        model.similar_items("tea", which="view")[0].tolist()
    )
    bad = tmp_path / "junk.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a saved dlinalg model"):
        ItemSimilarity.load(bad)


# ------------------------------------------------------------------ implicit.evaluation
@pytest.mark.parametrize("K", [1, 3, 5])
def test_ranking_metrics_equal_implicit_evaluation(K):
    implicit_evaluation = pytest.importorskip("implicit.evaluation")
    from dlinalg.models import evaluation

    rng = np.random.default_rng(1)
    coo = _counts(60, 20, 2).tocoo()
    test_mask = rng.random(coo.nnz) < 0.2
    train, test = (
        sp.csr_array((coo.data[m], (coo.row[m], coo.col[m])), shape=coo.shape)
        for m in (~test_mask, test_mask)
    )
    model = CosineSimilarity().fit(train)
    ref = _implicit_with(model._symmetric)
    ours = evaluation.ranking_metrics_at_k(model, train, test, K=K)
    theirs = implicit_evaluation.ranking_metrics_at_k(
        ref, sp.csr_matrix(train), sp.csr_matrix(test), K=K, show_progress=False
    )
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours["precision"] > 0
