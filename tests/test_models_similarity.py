"""ItemSimilarity, RowSimilarity, CosineSimilarity against a dense numpy reference.

The reference below is the algorithm written the obvious way, on dense
arrays with Python loops: binarize, cap users then items by the documented
priority (the hash of ``(seed, row, column)`` is part of the specification,
so the reference calls it), co-occurrence counts, Mahout's LLR with
``math.log``, top k by sorting. The estimators must equal it exactly, for
every chunking and on both schedulers.
"""

from __future__ import annotations

import math
import os

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dask.callbacks import Callback
from dlinalg.models import CosineSimilarity, Interactions, ItemSimilarity, RowSimilarity
from dlinalg.models.recommenders import _cooccurrence
from dlinalg.models.recommenders._cooccurrence import (
    CANDIDATE_ENTRIES,
    PANEL_ENTRIES,
    SALT_COLS,
    SALT_ROWS,
    candidate_bounds,
    count_panel,
    downsample,
    merge_candidates,
    panel_bounds,
    priority,
    task_bytes,
)
from dlinalg.models.recommenders._panel_counts import DENSE_FILL as DENSE_FILL_DEFAULT
from dlinalg.models.recommenders._panel_counts import add_counts, count_block
from dlinalg.models.recommenders._topk import llr_topk_panel, llr_topk_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import cosine_similarity

import dlinalg as dl
from dlinalg.functions import compute_plan

PANELS = "dlinalg.models.similarity.panel-entries"
CANDIDATES = "dlinalg.models.similarity.candidate-entries"
DENSE_FILL = "dlinalg.models.similarity.dense-fill"


# ---------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------
def ref_llr(k11, k12, k21, k22):
    def xlx(x):
        return 0.0 if x == 0 else x * math.log(x)

    row = xlx(k11 + k12 + k21 + k22) - xlx(k11 + k12) - xlx(k21 + k22)
    col = xlx(k11 + k12 + k21 + k22) - xlx(k11 + k21) - xlx(k12 + k22)
    mat = xlx(k11 + k12 + k21 + k22) - xlx(k11) - xlx(k12) - xlx(k21) - xlx(k22)
    return 0.0 if row + col < mat else 2.0 * (row + col - mat)


def _key(seed, r, c, salt):
    return int(priority(seed, np.array([r]), np.array([c]), salt)[0])


def ref_downsample(X, cap_rows, cap_cols, seed):
    B = (np.asarray(X) != 0).astype(np.int64)
    n, m = B.shape
    if cap_rows is not None:
        for u in range(n):
            cols = np.flatnonzero(B[u])
            if len(cols) > cap_rows:
                ranked = sorted((_key(seed, u, c, SALT_ROWS), c) for c in cols)
                B[u] = 0
                B[u, [c for _, c in ranked[:cap_rows]]] = 1
    if cap_cols is not None:
        for i in range(m):
            rows = np.flatnonzero(B[:, i])
            if len(rows) > cap_cols:
                ranked = sorted((_key(seed, u, i, SALT_COLS), u) for u in rows)
                B[:, i] = 0
                B[[u for _, u in ranked[:cap_cols]], i] = 1
    return B


def ref_indicator(A, B, n, k, min_llr=None, drop_self=False):
    """Top-k LLR of A'B per row, from binary A (users x items) and B."""
    C = A.T @ B
    r, s = A.sum(axis=0), B.sum(axis=0)
    out = np.zeros(C.shape)
    for i in range(C.shape[0]):
        cands = []
        for j in range(C.shape[1]):
            c = int(C[i, j])
            if c == 0 or (drop_self and i == j):
                continue
            v = ref_llr(c, int(r[i]) - c, int(s[j]) - c, n - int(r[i]) - int(s[j]) + c)
            if v <= 0 or (min_llr is not None and v < min_llr):
                continue
            cands.append((-v, j))
        for neg, j in sorted(cands)[:k]:
            out[i, j] = -neg
    return out


def ref_item_similarity(A, others, *, k, cap_user, cap_item, seed, min_llr=None):
    As = ref_downsample(A, cap_user, cap_item, seed)
    out = [ref_indicator(As, As, A.shape[0], k, min_llr, drop_self=True)]
    for B in others:
        Bs = ref_downsample(B, cap_user, cap_item, seed)
        out.append(ref_indicator(As, Bs, A.shape[0], k, min_llr))
    return out


def interactions(n_users=60, n_items=25, seed=0, density=0.15):
    """Counts 0..3 with a few heavy users and heavy items, so both caps bite."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 4, size=(n_users, n_items)) * (rng.random((n_users, n_items)) < density)
    X[:3] = rng.integers(0, 3, size=(3, n_items))  # heavy users
    X[:, :2] = rng.integers(0, 2, size=(n_users, 2))  # heavy items
    return X


A0 = interactions()
B0 = interactions(n_items=18, seed=1, density=0.25)
PARAMS = {"max_similar_items": 4, "max_interactions_per_user": 8, "max_interactions_per_item": 12}
REF = ref_item_similarity(A0, [B0], k=4, cap_user=8, cap_item=12, seed=0)


def as_kind(X, kind, chunks):
    if kind == "numpy":
        return X
    if kind == "scipy":
        return sp.csr_array(X)
    if kind == "drm":
        return dl.from_array(sp.csr_array(X), chunks=chunks)
    return da.from_array(X, chunks=(chunks or X.shape[0], X.shape[1]))


# (chunks, panel entries): how the input is cut into row blocks, how the output into panels
CHUNKINGS = [
    pytest.param(None, 10**6, id="one-chunk-one-panel"),
    pytest.param(7, 50, id="many-chunks-many-panels"),  # 9 row blocks, panels of 2 items
    pytest.param(25, 200, id="uneven-last-chunk"),  # 25, 25, 10 rows
    pytest.param((1, 30, 29), 60, id="one-row-block"),
]


@pytest.mark.parametrize(("chunks", "entries"), CHUNKINGS)
@pytest.mark.parametrize("kind", ["drm", "dask"])
def test_indicators_equal_reference_exactly(kind, chunks, entries, scheduler):
    with dask.config.set({PANELS: entries}):
        model = ItemSimilarity(**PARAMS).fit(as_kind(A0, kind, chunks), as_kind(B0, kind, chunks))
    assert len(model.indicators_) == 2
    for got, want in zip(model.indicators_, REF, strict=True):
        assert isinstance(got, sp.csr_array)
        assert got.has_sorted_indices
        np.testing.assert_array_equal(got.toarray(), want)
    assert model.n_users_ == 60
    assert model.actions_ == [0, 1]


@pytest.mark.parametrize("kind", ["numpy", "scipy"])
def test_in_memory_input_equals_reference(kind):
    model = ItemSimilarity(**PARAMS).fit(as_kind(A0, kind, None), as_kind(B0, kind, None))
    for got, want in zip(model.indicators_, REF, strict=True):
        np.testing.assert_array_equal(got.toarray(), want)


def test_min_llr_and_seed_and_no_caps():
    kw = {"max_similar_items": 3, "max_interactions_per_item": None, "seed": 7, "min_llr": 2.0}
    model = ItemSimilarity(max_interactions_per_user=5, **kw).fit(sp.csr_array(A0))
    want = ref_item_similarity(A0, [], k=3, cap_user=5, cap_item=None, seed=7, min_llr=2.0)
    np.testing.assert_array_equal(model.indicators_[0].toarray(), want[0])
    assert model.indicators_[0].data.min() >= 2.0


def test_counts_use_the_atb_and_abt_plans():
    A = dl.from_array(sp.csr_array(A0.astype(np.int32)), chunks=7)
    assert count_panel(A, A, 3, 9).optimized().describe() == "AtB"
    assert count_panel(A, A, 3, 9, rows_of_a=True).optimized().a.describe() == "ABt"
    counts = count_panel(A, A, 3, 9).compute()
    np.testing.assert_array_equal(counts.toarray(), (A0.T @ A0)[:, 3:9])
    rows = count_panel(A, A, 3, 9, rows_of_a=True)
    assert rows.chunks == (60,)  # the panel is one block
    np.testing.assert_array_equal(rows.compute().toarray(), (A0 @ A0.T)[:, 3:9])


# How a row block's part of a panel's counts is held: dense whatever its fill,
# sparse whatever its fill (the default rule picks by fill, tested above).
FILLS = [pytest.param(0.0, id="always-dense"), pytest.param(math.inf, id="always-sparse")]


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize(("chunks", "entries"), CHUNKINGS)
def test_indicators_equal_reference_with_dense_or_sparse_counts(fill, chunks, entries, scheduler):
    with dask.config.set({PANELS: entries, DENSE_FILL: fill}):
        model = ItemSimilarity(**PARAMS).fit(
            as_kind(A0, "drm", chunks), as_kind(B0, "drm", chunks)
        )
    for got, want in zip(model.indicators_, REF, strict=True):
        np.testing.assert_array_equal(got.toarray(), want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize(
    ("rows", "start", "stop"),
    [
        (slice(None), 0, 25),  # every item, every user
        (slice(0, 7), 3, 9),  # a small row block, a middle panel
        (slice(50, 60), 24, 25),  # the last item alone
        (slice(None), 7, 7),  # an empty panel
        (slice(10, 10), 0, 25),  # a block without users
    ],
)
def test_count_block_equals_scipy(rows, start, stop, fill, dtype):
    a = sp.csr_array((A0[rows] != 0).astype(np.int32))
    b = sp.csr_array((B0[rows] != 0).astype(np.int32))
    got = count_block(a, b, start=start, stop=stop, dtype=dtype, dense_fill=fill)
    want = (a[:, start:stop].T @ b).toarray()
    assert sp.issparse(got) == (fill == math.inf)
    assert got.shape == want.shape == (stop - start, 18)
    assert got.dtype == dtype
    if sp.issparse(got):
        assert got.has_sorted_indices
        got = got.toarray()
    np.testing.assert_array_equal(got, want)


def test_add_counts_of_dense_and_sparse_parts_is_their_sum():
    rng = np.random.default_rng(4)
    parts = [rng.integers(0, 3, (4, 6)) * (rng.random((4, 6)) < 0.3) for _ in range(4)]
    want = sum(parts)
    sparse = [sp.csr_array(p) for p in parts]
    got = add_counts(*sparse)
    assert sp.issparse(got)
    assert got.has_sorted_indices
    np.testing.assert_array_equal(got.toarray(), want)
    for mixed in ([parts[0], *sparse[1:]], [*sparse[:3], parts[3]], parts):
        got = add_counts(*mixed)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)
    assert not np.shares_memory(add_counts(parts[0], sparse[1]), parts[0])  # inputs untouched


def test_ties_of_priority_go_to_the_lower_index(monkeypatch):
    """The caps rank by (hash, column) in a row and (hash, row) in a column.

    Hashes are 64 bits, so real ties all but never happen; here the priority
    takes 3 values, so most entries tie. The row caps must keep the lower
    columns and the column caps (leaves and merges of the candidates) the
    lower rows, as the reference's sort does.
    """
    hashed = _cooccurrence.priority

    def coarse(seed, rows, cols, salt):
        return hashed(seed, rows, cols, salt) % np.uint64(3)

    monkeypatch.setattr(_cooccurrence, "priority", coarse)
    monkeypatch.setitem(globals(), "priority", coarse)  # the reference's hash too
    X = interactions(seed=3, density=0.5)
    for chunks in (None, 7):
        A = dl.from_array(sp.csr_array(X), chunks=chunks)
        s = downsample(A, cap_rows=9, cap_cols=15, seed=4, name="A")
        (got,) = compute_plan([s.matrix._node], scheduler="sync")
        np.testing.assert_array_equal(got.toarray(), ref_downsample(X, 9, 15, 4))


def test_graph_keys_are_deterministic():
    def build():
        A = dl.from_array(sp.csr_array(A0), chunks=7)
        return downsample(A, cap_rows=8, cap_cols=12, seed=0, name="A").matrix.to_dask()

    assert build().name == build().name


@pytest.mark.parametrize("chunks", [None, 5, (1, 59)])
def test_downsampling_caps_exactly_and_ignores_chunking(chunks):
    X = interactions(seed=3, density=0.5)
    A = dl.from_array(sp.csr_array(X), chunks=chunks)
    s = downsample(A, cap_rows=9, cap_cols=15, seed=4, name="A")
    got, cols, rows = compute_plan([s.matrix._node, s.col_counts, s.row_counts])
    got = got.toarray()
    np.testing.assert_array_equal(got, ref_downsample(X, 9, 15, 4))
    np.testing.assert_array_equal(cols, got.sum(axis=0))
    np.testing.assert_array_equal(rows, got.sum(axis=1))
    after_rows = np.minimum((X != 0).sum(axis=1), 9)
    assert got.sum(axis=1).max() <= 9
    assert got.sum(axis=0).max() <= 15
    assert (got.sum(axis=1) <= after_rows).all()
    assert set(np.unique(got)) <= {0, 1}
    # heavy users are sampled, never dropped (Mahout's integer-division bug)
    assert (got.sum(axis=1)[(X != 0).sum(axis=1) > 9] > 0).all()
    other = downsample(A, cap_rows=9, cap_cols=15, seed=5, name="A").matrix.compute()
    assert (other.toarray() != got).any()


class _LargestResult(Callback):
    """The largest result (entries of its first array) of the tasks whose key starts with ``prefix``."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix, self.largest, self.calls = prefix, 0, 0

    def _posttask(self, key, result, dsk, state, id):
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith(self.prefix):
            self.calls += 1
            self.largest = max(self.largest, len(result[0]))


def test_column_cap_candidates_are_bounded_by_a_panel_not_by_the_items():
    """Issue 18: the column-cap merge held items x cap candidates (KilledWorker at 512 MiB).

    200 items of ~200 users each, cap 20: one merge over all columns holds
    200 x 20 = 4000 candidates. With a budget of 200 entries the columns are
    cut into panels of 10 and no candidate list, a block's or a merge's,
    holds more than 200; the sample is the reference's exactly.
    """
    X = sp.random_array((2000, 200), density=0.1, random_state=8, format="csr")
    X.data[:] = 1
    A = dl.from_array(X, chunks=100)  # 20 row blocks: a merge tree of 3 levels
    cap = 20
    assert candidate_bounds(200, cap)[:2] == [(0, 200)]  # default budget: one panel
    with dask.config.set({CANDIDATES: 200}):
        assert candidate_bounds(200, cap) == [(s, s + 10) for s in range(0, 200, 10)]
        sampled = downsample(A, cap_rows=None, cap_cols=cap, seed=3, name="A")
        with _LargestResult("merge_candidates") as merges, _LargestResult("candidates") as leaves:
            (got,) = compute_plan([sampled.matrix._node], scheduler="sync")
    assert 0 < merges.largest <= 200  # 4000 when one merge held every column
    assert 0 < leaves.largest <= 200
    assert merges.calls >= 20 * 2  # a tree per panel of columns
    np.testing.assert_array_equal(got.toarray(), ref_downsample(X.toarray(), None, cap, 3))


def test_merge_candidates_keeps_the_best_per_column_in_order():
    rng = np.random.default_rng(0)

    def part(n):
        cols = rng.integers(0, 5, n)
        rows = rng.choice(10**6, n, replace=False)
        keys = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
        keys[::7] = 12345  # ties on the key: the lower row wins
        order = np.lexsort((rows, keys, cols))
        return cols[order], keys[order], rows[order]

    parts = [part(n) for n in (40, 0, 17, 33)]
    got = merge_candidates(6, *parts)
    cols, keys, rows = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.lexsort((rows, keys, cols))
    want = [[], [], []]
    for c in range(5):
        sel = order[cols[order] == c][:6]
        for w, a in zip(want, (cols, keys, rows), strict=True):
            w.extend(a[sel])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, np.array(w, dtype=g.dtype))


def test_panels_fit_an_eighth_of_the_workers_memory(client):
    """Issue 18: 2**23-count panels got 512 MiB workers killed in ``sum_parts``.

    The task summing ``split-every`` (8) partial panels holds 9 panels of 8
    bytes a count; a candidate merge 8 lists at ~96 bytes an entry. On a
    cluster both fit dlinalg's group budget (an eighth of a worker's memory:
    64 MiB for 512 MiB workers); in this process the ceilings hold.
    """
    budget = 64 * 2**20
    with client.as_current(), dask.config.set({"dlinalg.group-bytes": budget}):
        assert task_bytes() == budget
        width = max(e - s for s, e in panel_bounds(20_000, 20_000))
        assert 9 * width * 20_000 * 8 <= budget < 9 * (width + 1) * 20_000 * 8
        width = max(e - s for s, e in candidate_bounds(20_000, 500))
        assert 8 * width * 500 * 96 <= budget
        with dask.config.set({PANELS: 50, CANDIDATES: 36}):  # the config wins
            assert panel_bounds(10, 25)[0] == (0, 2)
            assert candidate_bounds(10, 12)[0] == (0, 3)
    assert task_bytes() == 0
    assert panel_bounds(20_000, 20_000)[0] == (0, PANEL_ENTRIES // 20_000)
    assert candidate_bounds(20_000, 500)[0] == (0, CANDIDATE_ENTRIES // 500)


@pytest.mark.parametrize(
    ("chunks", "candidates"),
    [
        pytest.param(7, 36, id="three-columns-many-blocks"),  # cap 12: 9 trees of 9 blocks
        pytest.param(25, 12, id="one-column-uneven-blocks"),  # 25 trees of 25, 25, 10 rows
        pytest.param(None, 10**6, id="one-panel"),
    ],
)
def test_candidate_panels_leave_the_indicators_unchanged(chunks, candidates, scheduler):
    with dask.config.set({CANDIDATES: candidates}):
        model = ItemSimilarity(**PARAMS).fit(
            as_kind(A0, "drm", chunks), as_kind(B0, "drm", chunks)
        )
    for got, want in zip(model.indicators_, REF, strict=True):
        np.testing.assert_array_equal(got.toarray(), want)


# ---------------------------------------------------------------------------
# Mahout's examples, to the last digit
# ---------------------------------------------------------------------------
MAHOUT_A = {"u1": ["iphone", "ipad"], "u2": ["nexus", "galaxy"], "u3": ["surface"],
            "u4": ["iphone", "galaxy"]}  # fmt: skip
MAHOUT_B = {"u1": ["iphone", "ipad", "nexus", "galaxy"], "u2": ["iphone", "ipad", "nexus", "galaxy"],
            "u3": ["surface", "nexus"], "u4": ["iphone", "ipad", "galaxy"]}  # fmt: skip


def mahout_data(views=MAHOUT_B) -> Interactions:
    rows = [(u, "purchase", i) for u, items in MAHOUT_A.items() for i in items]
    rows += [(u, "view", i) for u, items in views.items() for i in items]
    df = pd.DataFrame(rows, columns=["user", "action", "item"])
    return Interactions.from_dataframe(df, action="action", actions=["purchase", "view"])


def lines(model: ItemSimilarity, which: int) -> set[str]:
    """Mahout's text output (``item<TAB>other:llr other:llr``), one line per primary item."""
    out = set()
    for item in model.item_labels_[0]:
        labels, scores = model.similar_items(item, N=100, which=which)
        row = " ".join(f"{lab}:{float(s)!r}" for lab, s in zip(labels, scores, strict=True))
        out.add(f"{item}\t{row}" if row else item)
    return out


def test_mahout_cli_example(scheduler):
    model = ItemSimilarity(max_similar_items=100).fit(mahout_data())
    assert model.actions_ == ["purchase", "view"]
    assert model.n_users_ == 4
    assert lines(model, 0) == {
        "galaxy\tnexus:1.7260924347106847",
        "ipad\tiphone:1.7260924347106847",
        "nexus\tgalaxy:1.7260924347106847",
        "iphone\tipad:1.7260924347106847",
        "surface",
    }
    cross = {line.split("\t")[0]: set(line.split("\t")[1].split()) for line in lines(model, 1)}
    assert cross == {
        "iphone": {f"{i}:1.7260924347106847" for i in ("nexus", "iphone", "ipad", "galaxy")},
        "ipad": {f"{i}:0.6795961471815897" for i in ("nexus", "iphone", "ipad", "galaxy")},
        "nexus": {f"{i}:0.6795961471815897" for i in ("nexus", "iphone", "ipad", "galaxy")},
        "galaxy": {f"{i}:1.7260924347106847" for i in ("nexus", "iphone", "ipad", "galaxy")},
        "surface": {"surface:4.498681156950466", "nexus:0.6795961471815897"},
    }


def test_mahout_cross_occurrence_with_missing_users_and_other_items():
    views = {"u1": ["phones", "mobile_acc"], "u2": ["phones", "tablets", "mobile_acc"],
             "u4": ["phones", "tablets", "soap"]}  # fmt: skip
    model = ItemSimilarity().fit(mahout_data(views))
    assert model.n_users_ == 4  # u3 has no view: N is still the shared dictionary's size
    got = {
        item: dict(zip(*model.similar_items(item, N=10, which="view"), strict=True))
        for item in model.item_labels_[0]
    }
    assert got == {
        "galaxy": {"tablets": 5.545177444479561, "soap": 1.7260924347106847,
                   "phones": 1.7260924347106847},
        "ipad": {"mobile_acc": 1.7260924347106847, "phones": 0.6795961471815897},
        "surface": {},
        "nexus": {"mobile_acc": 1.7260924347106847, "tablets": 1.7260924347106847,
                  "phones": 0.6795961471815897},
        "iphone": {"soap": 1.7260924347106847, "phones": 1.7260924347106847},
    }  # fmt: skip


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------
def test_similar_items_order_ties_and_labels():
    model = ItemSimilarity(max_similar_items=100).fit(mahout_data())
    labels, scores = model.similar_items("galaxy", N=3, which="view")
    # four equal scores: ties go to the lower item index (alphabetical dictionary)
    assert list(labels) == ["galaxy", "ipad", "iphone"]
    np.testing.assert_array_equal(scores, [1.7260924347106847] * 3)
    with pytest.raises(KeyError, match="pixel"):
        model.similar_items("pixel")
    with pytest.raises(KeyError, match="cart"):
        model.similar_items("ipad", which="cart")


def history(model: ItemSimilarity, labels: list, j: int = 0) -> sp.csr_array:
    """One user's history of action ``j`` as a 1 x n_items row (presence)."""
    pos = model.item_labels_[j].get_indexer(labels)
    assert (pos >= 0).all()
    n = model.indicators_[j].shape[1]
    return sp.csr_array((np.ones(len(pos)), (np.zeros(len(pos), int), pos)), shape=(1, n))


def test_recommend_histories():
    model = ItemSimilarity().fit(mahout_data())
    labels, scores = model.recommend("u9", history(model, ["ipad"]))
    assert list(labels) == ["iphone"]
    assert scores[0] == pytest.approx(1.7260924347106847)
    # views of nexus and galaxy: rows of the cross indicator, summed
    none = sp.csr_array((1, 5))
    labels, scores = model.recommend(0, none, N=2, others=[history(model, ["nexus", "galaxy"], 1)])
    assert list(labels) == ["galaxy", "iphone"]
    np.testing.assert_allclose(scores, [2 * 1.7260924347106847] * 2)
    labels, _ = model.recommend(0, history(model, ["ipad"]))
    assert "ipad" not in labels
    labels, _ = model.recommend(0, history(model, ["iphone"]), N=5,
                                filter_already_liked_items=False)  # fmt: skip
    assert list(labels) == ["ipad"]  # iphone is not its own indicator
    assert model.recommend(0, history(model, ["surface"]))[0].size == 0
    # counts are presence: a history of 3 purchases scores as one
    three = history(model, ["ipad"]) * 3
    once = model.recommend(0, history(model, ["ipad"]))
    np.testing.assert_array_equal(model.recommend(0, three)[1], once[1])


def test_recommend_a_batch_is_the_rows_of_single_calls():
    model = ItemSimilarity().fit(mahout_data())
    rows = sp.vstack([history(model, ["ipad"]), history(model, ["nexus", "galaxy"]),
                      sp.csr_array((1, 5))]).tocsr()  # fmt: skip
    ids, scores = model.recommend(["a", "b", "c"], rows, N=3)
    assert ids.shape == scores.shape == (3, 3)
    for u in range(3):
        one = model.recommend("x", rows[[u]], N=3)
        k = len(one[0])
        assert ids[u, :k].tolist() == one[0].tolist()
        np.testing.assert_array_equal(scores[u, :k], one[1])
        assert all(v is None for v in ids[u, k:])
        assert np.isneginf(scores[u, k:]).all()


# ---------------------------------------------------------------------------
# Row and cosine similarity
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("chunks", "entries"), CHUNKINGS[:3])
def test_row_similarity_equals_reference(chunks, entries, scheduler):
    X = interactions(n_users=30, n_items=40, seed=5, density=0.3)
    with dask.config.set({PANELS: entries}):
        model = RowSimilarity(max_similar_rows=5, max_interactions_per_row=9, seed=2).fit(
            dl.from_array(sp.csr_array(X), chunks=chunks)
        )
    Xs = ref_downsample(X, 9, 9, 2)
    want = ref_indicator(Xs.T, Xs.T, X.shape[1], 5, drop_self=True)
    np.testing.assert_array_equal(model.indicators_.toarray(), want)
    np.testing.assert_array_equal(model.row_counts_, Xs.sum(axis=1))
    assert model.n_columns_ == 40
    _labels, scores = model.similar_rows(0, N=2)
    assert list(scores) == sorted(want[0][want[0] > 0], reverse=True)[:2]


@pytest.mark.parametrize(("chunks", "entries"), CHUNKINGS[:3])
def test_cosine_equals_sklearn(chunks, entries, scheduler):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 12)) * (rng.random((50, 12)) < 0.4)
    X[:, 3] = 0  # a column of norm 0 has no similarities
    with dask.config.set({PANELS: entries}):
        got = CosineSimilarity().fit(dl.from_array(sp.csr_array(X), chunks=chunks))
    want = np.triu(cosine_similarity(X.T), k=1)
    np.testing.assert_allclose(got.similarities_.toarray(), want, rtol=1e-12, atol=1e-15)
    assert sp.tril(got.similarities_).nnz == 0
    thresholded = CosineSimilarity(threshold=0.2).fit(X).similarities_
    np.testing.assert_allclose(thresholded.toarray(), np.where(want >= 0.2, want, 0), atol=1e-15)


# ---------------------------------------------------------------------------
# Bad input: errors before any graph
# ---------------------------------------------------------------------------
GOOD = sp.csr_array(A0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_similar_items": 0}, "max_similar_items"),
        ({"max_similar_items": 2.5}, "max_similar_items"),
        ({"max_similar_items": True}, "max_similar_items"),
        ({"max_interactions_per_user": 0}, "max_interactions_per_user"),
        ({"max_interactions_per_item": -3}, "max_interactions_per_item"),
        ({"min_llr": float("nan")}, "min_llr"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters(params, match, no_graph_no_compute):
    with pytest.raises(ValueError, match=match):
        ItemSimilarity(**params).fit(GOOD)


@pytest.mark.parametrize(
    ("A", "others", "err", "match"),
    [
        (np.zeros((0, 3)), (), ValueError, "A is empty"),
        (sp.csr_array((4, 3)), (), ValueError, "no non-zero"),
        (np.array([[1, -1], [0, 1]]), (), ValueError, "negative"),
        (np.array([[1, 0.5], [0, 1]]), (), ValueError, "non-integer"),
        (np.array([[1, np.nan], [0, 1]]), (), ValueError, "non-finite"),
        (np.array([["a", "b"]]), (), TypeError, "numeric"),
        (np.ones(3), (), ValueError, "2-D"),
        (GOOD, (np.ones((59, 4)),), ValueError, r"others\[0\] has shape \(59, 4\).*\(60, 25\)"),
        (GOOD, (sp.csr_array(-np.ones((60, 2))),), ValueError, r"others\[0\].*negative"),
        (pd.DataFrame({"user": [1]}), (), TypeError, "Interactions"),
        (mahout_data(), (GOOD,), ValueError, "already holds"),
        (da.zeros((0, 3), chunks=1), (), ValueError, "empty"),
    ],
)
def test_bad_input(A, others, err, match, no_graph_no_compute):
    with pytest.raises(err, match=match):
        ItemSimilarity().fit(A, *others)


def test_bad_values_of_lazy_input_surface_at_compute():
    lazy = da.from_array(np.array([[1, -2], [0, 1]]), chunks=1)
    with pytest.raises(ValueError, match="A holds a negative count"):
        ItemSimilarity().fit(lazy)


def test_bad_queries():
    model = ItemSimilarity().fit(mahout_data())
    with pytest.raises(ValueError, match="'N'"):
        model.similar_items("ipad", N=0)
    with pytest.raises(ValueError, match="'N'"):
        model.recommend(0, history(model, ["ipad"]), N=-1)
    with pytest.raises(ValueError, match="user_items is required"):
        model.recommend(3, None)
    with pytest.raises(ValueError, match="1 secondary actions"):
        model.recommend(0, history(model, ["ipad"]), others=[sp.csr_array((1, 5))] * 2)


@pytest.mark.parametrize(
    ("est", "A", "match"),
    [
        (RowSimilarity(max_similar_rows=0), GOOD, "max_similar_rows"),
        (RowSimilarity(), np.zeros((3, 0)), "empty"),
        (CosineSimilarity(threshold=float("inf")), GOOD, "threshold"),
        (CosineSimilarity(), np.array([[1.0, np.inf]]), "infinity"),
        (CosineSimilarity(), np.zeros((0, 2)), r"A is empty: 0 sample\(s\)"),
    ],
)
def test_bad_input_other_estimators(est, A, match, no_graph_no_compute):
    with pytest.raises(ValueError, match=match):
        est.fit(A)


# ---------------------------------------------------------------------------
# A worker killed mid-fit: identical indicators
# ---------------------------------------------------------------------------
def _power_law(n_users, n_items, nnz, seed):
    rng = np.random.default_rng(seed)
    u = np.minimum((rng.pareto(1.2, nnz) * 5).astype(int), n_users - 1)
    i = np.minimum((rng.pareto(0.7, nnz) * 3).astype(int), n_items - 1)
    u = rng.permutation(n_users)[u]
    return sp.csr_array((np.ones(nnz, np.int32), (u, i)), shape=(n_users, n_items))


def _panel_done(dask_scheduler=None) -> int:
    """How many top-k panel tasks have finished."""
    return sum(
        str(ts.key).startswith("llr_topk_rows") and ts.state == "memory"
        for ts in dask_scheduler.tasks.values()
    )


@pytest.mark.cluster
def test_worker_kill_mid_fit_gives_identical_indicators(fresh_cluster, killing_a_worker_when):
    _, client = fresh_cluster
    A = _power_law(10_000, 1000, 100_000, 0)
    B = _power_law(10_000, 600, 80_000, 1)
    params = {"max_interactions_per_user": 60, "max_interactions_per_item": 300}
    with dask.config.set({PANELS: 2**15}):  # 31 and 19 panels
        ref = ItemSimilarity(**params).fit(A, B)
        with (
            client.as_current(),
            killing_a_worker_when(
                client, lambda: client.run_on_scheduler(_panel_done) >= 3
            ) as victim,
        ):
            got = ItemSimilarity(**params).fit(
                dl.from_array(A, chunks=2500), dl.from_array(B, chunks=2500)
            )
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    for g, r in zip(got.indicators_, ref.indicators_, strict=True):
        assert (g != r).nnz == 0


# ---------------------------------------------------------------------------
# Property: a panel's counts and its top k, however they are held
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),  # users
    st.integers(1, 12),  # items of A
    st.integers(1, 12),  # items of B
    st.floats(0.0, 1.0),  # density
    st.data(),
)
def test_count_and_score_any_panel_any_way(n, ma, mb, density, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = sp.csr_array((rng.random((n, ma)) < density).astype(np.int32))
    b = sp.csr_array((rng.random((n, mb)) < density).astype(np.int32))
    start = data.draw(st.integers(0, ma))
    stop = data.draw(st.integers(start, ma))
    cut = data.draw(st.integers(0, n))  # two row blocks: parts summed
    want = (a[:, start:stop].T @ b).toarray()
    rcount, ccount = a.sum(axis=0), b.sum(axis=0)
    k = data.draw(st.integers(1, mb))
    scored = []
    for fill in (0.0, DENSE_FILL_DEFAULT, math.inf):
        parts = [count_block(x, y, start=start, stop=stop, dense_fill=fill)
                 for x, y in ((a[:cut], b[:cut]), (a[cut:], b[cut:]))]  # fmt: skip
        got = add_counts(*parts)
        np.testing.assert_array_equal(got.toarray() if sp.issparse(got) else got, want)
        scored.append(llr_topk_rows(got, start, rcount, ccount, n, False, k, -np.inf))
    scored.append(
        llr_topk_panel(sp.csr_array(want.T), start, rcount, ccount, n, False, k, -np.inf)
    )
    for other in scored[1:]:
        assert (other != scored[0]).nnz == 0
    assert all(np.diff(scored[0].indptr) <= k)
