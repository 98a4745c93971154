"""The recommenders' one top-k against a sort: higher score first, ties to the lower index.

``top_k_rows`` (a bounded heap) ranks ALS recommendations, ``top_k_order``
item-similarity recommendations and ``similar_items``; the LLR kernel feeds the
same heap. Scores here are small integers, so most rows are full of ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from dlinalg.models.recommenders._topk import top_k_order, top_k_rows


def _reference(row: np.ndarray, k: int, skip: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(~skip & ~np.isnan(row))
    return idx[np.lexsort((idx, -row[idx]))][:k]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("m", "n", "k"),
    [
        (1, 1, 1),  # one column
        (5, 12, 3),  # ties at the cut
        (7, 30, 30),  # k = n: a full sort
        (4, 6, 10),  # k > n: padded with -1 / -inf
    ],
)
def test_top_k_rows_is_a_stable_sort_by_score(dtype, m, n, k):
    rng = np.random.default_rng(m * 100 + n)
    scores = rng.integers(-3, 4, size=(m, n)).astype(dtype)
    scores[rng.random((m, n)) < 0.1] = np.nan  # never chosen
    seen = rng.random((m, n)) < 0.2
    indptr = np.concatenate([[0], np.cumsum(seen.sum(axis=1))])
    ids, vals = top_k_rows(scores, k, indptr, np.flatnonzero(seen.ravel()) % n)
    assert ids.shape == vals.shape == (m, k)
    assert vals.dtype == dtype
    for u in range(m):
        want = _reference(scores[u], k, seen[u])
        np.testing.assert_array_equal(ids[u, : want.size], want)
        np.testing.assert_array_equal(vals[u, : want.size], scores[u, want])
        assert (ids[u, want.size :] == -1).all()
        assert np.isneginf(vals[u, want.size :]).all()


@pytest.mark.parametrize("k", [0, 1, 4, 50])
def test_top_k_order_matches_a_stable_argsort(k):
    scores = np.random.default_rng(3).integers(0, 5, size=40).astype(np.float64)
    want = np.argsort(-scores, kind="stable")[:k]
    np.testing.assert_array_equal(top_k_order(scores, k), want)
