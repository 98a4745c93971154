"""dlinalg.models.recommenders.metrics against hand computations, scikit-learn's ndcg_score, and invariants.

The hand-computed case: three users, k = 3.

====  ===============  ===========  =====  ======  ====================================  =====
user  recommended      held out     hits   P@3     nDCG@3                                AP@3
====  ===============  ===========  =====  ======  ====================================  =====
0     [1, 2, 3, 4]     {2, 4, 9}    r2     1/3     (1/log2 3) / (1 + 1/log2 3 + 1/2)     1/6
1     [5, 6, -1]       {5, 6}       r1,r2  2/3     1                                     1
2     [7, 8, 0]        {}           --     (skipped: nothing held out)
====  ===============  ===========  =====  ======  ====================================  =====

Recall: 1/3 and 2/2. AP@3 of user 0: precision at the hit (1/2) over min(3, 3).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dlinalg.models.recommenders.metrics import (
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    train_test_split,
)
from sklearn.metrics import ndcg_score

REC = [[1, 2, 3, 4], [5, 6, -1], [7, 8, 0]]
HELD = [{2, 4, 9}, {5, 6}, set()]
L3 = 1 / math.log2(3)


def _as_array(rec):
    out = np.full((len(rec), max(map(len, rec))), -1)
    for u, r in enumerate(rec):
        out[u, : len(r)] = r
    return out


def _as_csr(held, n_items=10):
    rows = [u for u, s in enumerate(held) for _ in s]
    cols = [i for s in held for i in sorted(s)]
    return sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(held), n_items))


INPUTS = {
    "lists": (REC, HELD),
    "array+csr": (_as_array(REC), _as_csr(HELD)),
}


@pytest.mark.parametrize("kind", INPUTS)
def test_hand_computed_values(kind):
    rec, held = INPUTS[kind]
    assert precision_at_k(rec, held, 3) == pytest.approx((1 / 3 + 2 / 3) / 2, rel=1e-15)
    assert recall_at_k(rec, held, 3) == pytest.approx((1 / 3 + 1) / 2, rel=1e-15)
    ndcg0 = L3 / (1 + L3 + 0.5)
    assert ndcg_at_k(rec, held, 3) == pytest.approx((ndcg0 + 1) / 2, rel=1e-15)
    assert map_at_k(rec, held, 3) == pytest.approx((1 / 6 + 1) / 2, rel=1e-15)
    # k = 1: user 0 misses, user 1 hits
    assert precision_at_k(rec, held, 1) == recall_at_k(rec, held, 1) * 2 == 0.5
    assert ndcg_at_k(rec, held, 1) == map_at_k(rec, held, 1) == 0.5


def test_k_beyond_the_recommendations_counts_as_misses():
    # 4 recommendations asked at k = 6: precision divides by k, recall is unchanged
    assert precision_at_k([[2, 4, 0, 1]], [{2, 4}], 6) == pytest.approx(2 / 6)
    assert recall_at_k([[2, 4, 0, 1]], [{2, 4}], 6) == 1.0
    assert ndcg_at_k([[2, 4, 0, 1]], [{2, 4}], 6) == 1.0


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_ndcg_matches_scikit_learn(k):
    rng = np.random.default_rng(0)
    n_users, n_items = 40, 30
    truth = (rng.random((n_users, n_items)) < 0.15).astype(float)
    truth[truth.sum(axis=1) == 0, 0] = 1.0  # sklearn counts users without relevance as 1
    scores = rng.random((n_users, n_items))  # distinct: the ranking is unambiguous
    ranked = np.argsort(-scores, axis=1)[:, :k]
    want = ndcg_score(truth, scores, k=k)
    assert ndcg_at_k(ranked, sp.csr_array(truth), k) == pytest.approx(want, rel=1e-12)


def test_metrics_against_a_plain_python_definition():
    rng = np.random.default_rng(1)
    n_users, n_items, k = 25, 40, 7
    rec = np.array([rng.permutation(n_items)[:10] for _ in range(n_users)])
    held = [
        set(rng.choice(n_items, rng.integers(0, 6), replace=False).tolist())
        for _ in range(n_users)
    ]
    users = [u for u in range(n_users) if held[u]]
    hits = {u: [int(i in held[u]) for i in rec[u, :k]] for u in users}
    prec = np.mean([sum(hits[u]) / k for u in users])
    rec_ = np.mean([sum(hits[u]) / len(held[u]) for u in users])
    ap = np.mean(
        [
            sum(h * sum(hits[u][: r + 1]) / (r + 1) for r, h in enumerate(hits[u]))
            / min(k, len(held[u]))
            for u in users
        ]
    )
    assert precision_at_k(rec, held, k) == pytest.approx(prec, rel=1e-12)
    assert recall_at_k(rec, held, k) == pytest.approx(rec_, rel=1e-12)
    assert map_at_k(rec, held, k) == pytest.approx(ap, rel=1e-12)


def test_a_perfect_ranking_scores_one():
    rec = np.array([[3, 1, 0], [2, 0, 1]])
    held = [{1, 3}, {2}]
    assert ndcg_at_k(rec, held, 3) == map_at_k(rec, held, 3) == recall_at_k(rec, held, 3) == 1.0


BAD = [
    ((REC, HELD, 0), ValueError, "k must be"),
    ((REC, HELD, 2.5), ValueError, "k must be"),
    ((REC, HELD[:2], 3), ValueError, "3 users.*held_out has 2"),
    (([[1, 1, 2]], [{1}], 3), ValueError, r"recommended\[0\] lists an item twice"),
    ((np.array([1, 2]), [{1}], 3), ValueError, "2-D"),
    ((np.array([[1.5, 2.0]]), [{1}], 3), TypeError, "integer"),
    ((REC, "abc", 3), TypeError, "held_out"),
    (([[1], [2]], [set(), set()], 3), ValueError, "no user has a held-out item"),
]


@pytest.mark.parametrize("metric", [precision_at_k, recall_at_k, ndcg_at_k, map_at_k])
@pytest.mark.parametrize(("args", "error", "match"), BAD)
def test_bad_input(metric, args, error, match):
    with pytest.raises(error, match=match):
        metric(*args)


# --------------------------------------------------------------- train_test_split
def _counts_matrix(seed=0, shape=(50, 30), density=0.2):
    rng = np.random.default_rng(seed)
    return sp.csr_array(
        sp.random_array(
            shape,
            density=density,
            rng=rng,
            format="csr",
            data_sampler=lambda size: rng.integers(1, 4, size),
        )
    )


def _per_user(M):
    return np.diff(sp.csr_array(M).indptr)


@pytest.mark.parametrize("test_size", [0.2, 0.5, 0.9])
def test_random_split_partitions_each_user(test_size):
    R = _counts_matrix()
    train, test = train_test_split(R, test_size, seed=3)
    assert train.shape == test.shape == R.shape
    assert (train + test != R).nnz == 0
    assert train.multiply(test).nnz == 0
    n = _per_user(R)
    want = np.minimum(np.ceil(test_size * n - 1e-9), np.maximum(n - 1, 0))
    np.testing.assert_array_equal(_per_user(test), want)
    again, _ = train_test_split(R, test_size, seed=3)
    assert (again != train).nnz == 0
    other, _ = train_test_split(R, test_size, seed=4)
    assert (other != train).nnz > 0


def test_time_split_holds_out_the_latest():
    R = _counts_matrix(1)
    rng = np.random.default_rng(2)
    T = R.copy()
    T.data = rng.permutation(R.nnz).astype(float) + 1.0
    train, test = train_test_split(R, 0.3, by="time", time=T)
    assert (train + test != R).nnz == 0
    for u in range(R.shape[0]):
        t_train = T[[u]].toarray()[0][train[[u]].indices]
        t_test = T[[u]].toarray()[0][test[[u]].indices]
        if len(t_test):
            assert t_test.min() > t_train.max()


def test_time_split_of_a_log():
    df = pd.DataFrame(
        {
            "user": ["a", "a", "a", "b", "b", "c"],
            "item": [1, 2, 3, 1, 4, 2],
            "ts": pd.to_datetime(
                ["2024-01-0" + d for d in "312"] + ["2024-02-01"] + ["2024-01-01"] * 2
            ),
        }
    )
    train, test = train_test_split(df, 0.5, by="time", time="ts")
    # a: ceil(0.5 * 3) = 2 latest (rows 0, 2); b: 1 (row 3); c keeps its only one
    assert test.index.tolist() == [0, 2, 3]
    assert sorted(train.index.tolist() + test.index.tolist()) == list(range(6))


def test_random_split_of_a_log_is_per_user():
    df = pd.DataFrame({"u": np.repeat(np.arange(10), 10), "item": np.tile(np.arange(10), 10)})
    train, test = train_test_split(df, 0.2, user="u", seed=0)
    assert (test.groupby("u").size() == 2).all()
    assert len(train) == 80


SPLIT_BAD = [
    ({"test_size": 0.0}, ValueError, "test_size"),
    ({"test_size": 1.0}, ValueError, "test_size"),
    ({"by": "date"}, ValueError, "'date'"),
    ({"by": "time"}, ValueError, "time="),
    ({"seed": -1}, ValueError, "seed"),
]


@pytest.mark.parametrize(("kw", "error", "match"), SPLIT_BAD)
def test_split_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        train_test_split(_counts_matrix(), **kw)


def test_split_bad_inputs():
    R = _counts_matrix()
    with pytest.raises(ValueError, match="shape"):
        train_test_split(R, by="time", time=sp.csr_array((3, 3)))
    with pytest.raises(ValueError, match="no entry for"):
        train_test_split(R, by="time", time=sp.csr_array(R.shape))
    with pytest.raises(ValueError, match="no interactions"):
        train_test_split(sp.csr_array((4, 4)))
    with pytest.raises(TypeError, match="list"):
        train_test_split([[1, 0]])
    with pytest.raises(ValueError, match=r"'when'.*columns are"):
        train_test_split(pd.DataFrame({"user": [1]}), by="time", time="when")
