"""Mahout's SimilarityAnalysisSuite, run against dlinalg.models.ItemSimilarity / RowSimilarity and the CLI.

Ported from ``engine/spark/src/test/scala/org/apache/mahout/cf/SimilarityAnalysisSuite.scala``
(Apache Mahout, tag ``mahout-14.1``). Each case names the ``test("...")`` it
comes from and keeps the source's matrices, its exact expected LLR matrices
(``matrixLLRCoocAtAControl`` ...) and its tolerance (``(X - Y).norm < 1E-10``,
the Frobenius norm; ``assert(llr == ...)`` stays exact equality).

Mahout's calls in dlinalg's spelling:

- ``SimilarityAnalysis.cooccurrences(drmA, randomSeed, drmBs = Array(drmB))``
  is ``ItemSimilarity(seed=...).fit(A, B)``: ``indicators_[0]`` is ``A'A``
  and ``indicators_[1]`` is ``A'B`` with LLR (rows: A's items);
- ``IndexedDatasetSpark`` (a matrix with user and item dictionaries) is
  :class:`dlinalg.models.Interactions` (or a DRM with row and column labels);
- ``DownsamplableCrossOccurrenceDataset(maxInterestingElements, minLLROpt)``
  sets them per action; dlinalg has one ``max_similar_items`` and one
  ``min_llr`` per model. The source sets them only on B, where every ``A'A``
  score (1.726...) has at most one entry per row and is above the threshold,
  so the model-wide values give the source's matrices exactly;
- ``spark-itemsimilarity`` is ``dlinalg itemsimilarity`` (``dlinalg.models.cli.main``).

Each fit runs on in-memory input and on DRMs of one row block, two (the
source's ``numPartitions = 2``) and one row per block; the main case and the
command line also run on the ``scheduler`` fixture (synchronous and a
LocalCluster).

Documented differences, asserted as dlinalg documents them (each case says why):
negative "counts" are refused (Mahout binarizes any non-zero), the user
dictionary is shared by every action (Mahout drops secondary-only users), and
downsampling samples heavy users instead of dropping them (Mahout's integer
division; docs/source/recommenders.rst).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dlinalg.models import Interactions, ItemSimilarity, RowSimilarity, log_likelihood_ratio
from dlinalg.models.cli import main

import dlinalg as dl

SOURCE = "engine/spark/src/test/scala/org/apache/mahout/cf/SimilarityAnalysisSuite.scala"

# --- the suite's fields (SimilarityAnalysisSuite.scala, lines 49-79) ------------------------
# correct cooccurrence with LLR
MATRIX_LLR_COOC_ATA_CONTROL = np.array(
    [
        (0.0, 1.7260924347106847, 0.0, 0.0, 0.0),
        (1.7260924347106847, 0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 1.7260924347106847, 0.0),
        (0.0, 0.0, 1.7260924347106847, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0, 0.0),
    ]
)
# correct cross-cooccurrence with LLR
MATRIX_LLR_COOC_ATB_CONTROL = np.array(
    [
        (1.7260924347106847, 1.7260924347106847, 1.7260924347106847, 1.7260924347106847, 0.0),
        (0.6795961471815897, 0.6795961471815897, 0.6795961471815897, 0.6795961471815897, 0.0),
        (0.6795961471815897, 0.6795961471815897, 0.6795961471815897, 0.6795961471815897, 0.0),
        (1.7260924347106847, 1.7260924347106847, 1.7260924347106847, 1.7260924347106847, 0.0),
        (0.0, 0.0, 0.6795961471815897, 0.0, 4.498681156950466),
    ]
)

A_BOOL = np.array(
    [(1, 1, 0, 0, 0), (0, 0, 1, 1, 0), (0, 0, 0, 0, 1), (1, 0, 0, 1, 0)],
)
B_BOOL = np.array(
    [(1, 1, 1, 1, 0), (1, 1, 1, 1, 0), (0, 0, 1, 0, 1), (1, 1, 0, 1, 0)],
)
# the 4-column B of the "different number of columns" and IndexedDataset cases
B_NARROW = np.array([(0, 1, 1, 0), (1, 1, 1, 0), (0, 0, 1, 0), (1, 1, 0, 1)])
USERS = ["u1", "u2", "u3", "u4"]
ITEMS_A = ["a1", "a2", "a3", "a4", "a5"]
ITEMS_B = ["b1", "b2", "b3", "b4"]

#: How each fit receives its matrices: in memory, or DRMs of 4 rows in 1, 2 or 4 row blocks.
KINDS = [
    pytest.param(None, id="in-memory"),  # numpy arrays (numpy in, numpy out)
    pytest.param(4, id="one-block"),  # one row block
    pytest.param(2, id="two-blocks"),  # the source's numPartitions = 2
    pytest.param(1, id="row-per-block"),  # one user per block
]


def norm(x) -> float:
    """Mahout's ``Matrix.norm``: the Frobenius norm (of dense or sparse)."""
    x = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=float)
    return float(np.sqrt((x * x).sum()))


def as_kind(m, chunks, **labels):
    """``drmParallelize(m, numPartitions)``: the array itself, or a DRM with ``chunks`` rows."""
    return m if chunks is None else dl.from_array(m, chunks=chunks, **labels)


def fit_cooccurrences(a, b, chunks, **params) -> ItemSimilarity:
    """``SimilarityAnalysis.cooccurrences(drmARaw = a, drmBs = Array(b))``."""
    return ItemSimilarity(**params).fit(as_kind(a, chunks), as_kind(b, chunks))


def check_indicators(model, ata_control, atb_control):
    # matrixSelfCooc.minus(control).norm should be < 1E-10, for drmCooc(0) and (1)
    assert norm(model.indicators_[0] - sp.csr_array(ata_control)) < 1e-10
    assert norm(model.indicators_[1] - sp.csr_array(atb_control)) < 1e-10


# SimilarityAnalysisSuite.scala: test("Cross-occurrence [A'A], [B'A] boolean data using LLR")
@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_boolean_data(chunks, scheduler):
    model = fit_cooccurrences(A_BOOL, B_BOOL, chunks, seed=1)  # randomSeed = 1
    check_indicators(model, MATRIX_LLR_COOC_ATA_CONTROL, MATRIX_LLR_COOC_ATB_CONTROL)
    # the same scores to the last bit (Mahout's order of operations), not just to 1e-10
    np.testing.assert_array_equal(model.indicators_[0].toarray(), MATRIX_LLR_COOC_ATA_CONTROL)
    np.testing.assert_array_equal(model.indicators_[1].toarray(), MATRIX_LLR_COOC_ATB_CONTROL)
    assert model.n_users_ == 4


# SimilarityAnalysisSuite.scala: test("Cross-occurrence [A'A], [B'A] double data using LLR")
@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_double_data(chunks):
    a = np.array(
        [
            (100000.0, 1.0, 0.0, 0.0, 0.0),
            (0.0, 0.0, 10.0, 1.0, 0.0),
            (0.0, 0.0, 0.0, 0.0, 1000.0),
            (1.0, 0.0, 0.0, 10.0, 0.0),
        ]
    )
    b = np.array(
        [
            (10000.0, 100.0, 1000.0, 1.0, 0.0),
            (10.0, 1.0, 10000000.0, 10.0, 0.0),
            (0.0, 0.0, 1000.0, 0.0, 100.0),
            (100.0, 1.0, 0.0, 100000.0, 0.0),
        ]
    )
    model = fit_cooccurrences(a, b, chunks)  # counts are binarized first
    check_indicators(model, MATRIX_LLR_COOC_ATA_CONTROL, MATRIX_LLR_COOC_ATB_CONTROL)


INT_A = np.array(
    [(1000, 10, 0, 0, 0), (0, 0, -10000, 10, 0), (0, 0, 0, 0, 100), (10000, 0, 0, 1000, 0)]
)
INT_B = np.array(
    [(100, 1000, -10000, 10000, 0), (10000, 1000, 100, 10, 0), (0, 0, 10, 0, -100),
     (10, 100, 0, 1000, 0)]
)  # fmt: skip


# SimilarityAnalysisSuite.scala: test("Cross-occurrence [A'A], [B'A] integer data using LLR")
@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_integer_data_negative_counts_are_refused(chunks):
    # The source's integer matrices hold -10000 and -100, which Mahout binarizes to 1
    # like any non-zero. dlinalg reads interaction matrices as counts and refuses a
    # negative one, naming it (documented: docs/source/recommenders.rst, "Weights
    # are counts"; ItemSimilarity.fit's Raises): a negative count is a data error.
    with pytest.raises(ValueError, match=r"negative count.*-10000"):
        fit_cooccurrences(INT_A, INT_B, chunks)


@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_integer_data_as_counts(chunks):
    # ... and the source's expected matrices once the entries are counts of the same
    # pattern (what Mahout's binarization sees): |x|
    model = fit_cooccurrences(np.abs(INT_A), np.abs(INT_B), chunks)
    check_indicators(model, MATRIX_LLR_COOC_ATA_CONTROL, MATRIX_LLR_COOC_ATB_CONTROL)


# SimilarityAnalysisSuite.scala: test("Cross-occurrence two matrices with different number of
# columns")
@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_different_number_of_columns(chunks):
    matrix_llr_cooc_atb_non_symmetric = np.array(
        [
            (0.0, 1.7260924347106847, 1.7260924347106847, 1.7260924347106847),
            (0.0, 0.6795961471815897, 0.6795961471815897, 0.0),
            (1.7260924347106847, 0.6795961471815897, 0.6795961471815897, 0.0),
            (5.545177444479561, 1.7260924347106847, 1.7260924347106847, 1.7260924347106847),
            (0.0, 0.0, 0.6795961471815897, 0.0),
        ]
    )
    model = fit_cooccurrences(A_BOOL, B_NARROW, chunks)
    # the source computes the cross norm and never asserts it; asserted here
    check_indicators(model, MATRIX_LLR_COOC_ATA_CONTROL, matrix_llr_cooc_atb_non_symmetric)
    assert model.indicators_[1].shape == (5, 4)


# "this is downsampled to the top 2 values per row to match the calc"
MATRIX_LLR_COOC_ATB_TOP2 = np.array(
    [
        (0.0, 1.7260924347106847, 1.7260924347106847, 0.0),
        (0.0, 0.6795961471815897, 0.6795961471815897, 0.0),
        (1.7260924347106847, 0.6795961471815897, 0.0, 0.0),
        (5.545177444479561, 1.7260924347106847, 0.0, 0.0),
        (0.0, 0.0, 0.6795961471815897, 0.0),
    ]
)
# "... but also uses a min llr threshold so ... nothing gets past the min llr check"
MATRIX_LLR_COOC_ATB_TOP2_MIN_LLR = np.array(
    [
        (0.0, 1.7260924347106847, 1.7260924347106847, 0.0),
        (0.0, 0.0, 0.0, 0.0),
        (1.7260924347106847, 0.0, 0.0, 0.0),
        (5.545177444479561, 1.7260924347106847, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
    ]
)


def _pairs(m, users, items):
    rows, cols = np.nonzero(m)
    return [(users[r], items[c]) for r, c in zip(rows, cols, strict=True)]


def indexed_datasets() -> Interactions:
    """The two IndexedDatasetSpark of the source: shared user dictionary u1..u4, items a*, b*."""
    rows = [(u, "purchase", i) for u, i in _pairs(A_BOOL, USERS, ITEMS_A)]
    rows += [(u, "view", i) for u, i in _pairs(B_NARROW, USERS, ITEMS_B)]
    df = pd.DataFrame(rows, columns=["user", "action", "item"])
    return Interactions.from_dataframe(df, action="action", actions=["purchase", "view"])


def labelled(model, j, rows, cols) -> np.ndarray:
    """Indicator j as a dense matrix in the given label order (Mahout's dictionaries)."""
    m = model.indicators_[j].toarray()
    r = model.item_labels_[0].get_indexer(rows)
    c = model.item_labels_[j].get_indexer(cols)
    assert (r >= 0).all()
    assert (c >= 0).all()
    return m[np.ix_(r, c)]


# SimilarityAnalysisSuite.scala: test("Cross-occurrence two IndexedDatasets")
def test_cross_occurrence_two_indexed_datasets():
    data = indexed_datasets()
    assert list(data.users) == USERS
    # maxInterestingElements = 2 (set on B in the source; A'A has one entry per row)
    model = ItemSimilarity(max_similar_items=2).fit(data)
    assert norm(labelled(model, 0, ITEMS_A, ITEMS_A) - MATRIX_LLR_COOC_ATA_CONTROL) < 1e-10
    assert norm(labelled(model, 1, ITEMS_A, ITEMS_B) - MATRIX_LLR_COOC_ATB_TOP2) < 1e-10


# The same datasets as DRMs carrying the dictionaries as row and column labels.
@pytest.mark.parametrize("chunks", KINDS[1:])
def test_cross_occurrence_two_labelled_drms(chunks):
    a = dl.from_array(A_BOOL, chunks=chunks, row_labels=USERS, col_labels=ITEMS_A)
    b = dl.from_array(B_NARROW, chunks=chunks, row_labels=USERS, col_labels=ITEMS_B)
    model = ItemSimilarity(max_similar_items=2).fit(a, b)
    assert list(model.item_labels_[1]) == ITEMS_B
    assert norm(labelled(model, 0, ITEMS_A, ITEMS_A) - MATRIX_LLR_COOC_ATA_CONTROL) < 1e-10
    assert norm(labelled(model, 1, ITEMS_A, ITEMS_B) - MATRIX_LLR_COOC_ATB_TOP2) < 1e-10


# Mahout's IndexedDatasets join B's rows to A's by user ID. dlinalg pairs rows by
# position (as A.T @ B does), so DRMs whose user labels differ are refused before any
# graph -- they used to be paired silently, user u3 of A with user u4 of B.
@pytest.mark.parametrize("chunks", KINDS[1:])
def test_cross_occurrence_users_in_another_order_are_refused(chunks, request):
    order = [0, 1, 3, 2]  # B's users as u1, u2, u4, u3
    a = dl.from_array(A_BOOL, chunks=chunks, row_labels=USERS, col_labels=ITEMS_A)
    b = dl.from_array(
        B_NARROW[order], chunks=chunks, row_labels=[USERS[i] for i in order], col_labels=ITEMS_B
    )
    request.getfixturevalue("no_graph_no_compute")
    with pytest.raises(dl.errors.LabelError, match=r"users \(rows\) of A.*'u3' vs 'u4'"):
        ItemSimilarity(max_similar_items=2).fit(a, b)


@pytest.mark.parametrize("chunks", KINDS[1:])
def test_cross_occurrence_users_in_another_order_joined_by_the_remedy(chunks):
    # the remedy the message names (B's rows in A's user order) is Mahout's join
    order = [0, 1, 3, 2]
    a = dl.from_array(A_BOOL, chunks=chunks, row_labels=USERS, col_labels=ITEMS_A)
    b = dl.from_array(
        B_NARROW[order], chunks=chunks, row_labels=[USERS[i] for i in order], col_labels=ITEMS_B
    )
    model = ItemSimilarity(max_similar_items=2).fit(a, b[list(a.row_labels), :])
    assert norm(labelled(model, 0, ITEMS_A, ITEMS_A) - MATRIX_LLR_COOC_ATA_CONTROL) < 1e-10
    assert norm(labelled(model, 1, ITEMS_A, ITEMS_B) - MATRIX_LLR_COOC_ATB_TOP2) < 1e-10


# SimilarityAnalysisSuite.scala: test("Cross-occurrence two IndexedDatasets LLR threshold")
@pytest.mark.parametrize("chunks", KINDS)
def test_cross_occurrence_two_indexed_datasets_llr_threshold(chunks):
    # minLLROpt = Some(1.7), maxInterestingElements = 2 (on B in the source; every A'A
    # score is 1.726 > 1.7, so the model-wide threshold leaves A'A as the source has it)
    model = fit_cooccurrences(A_BOOL, B_NARROW, chunks, max_similar_items=2, min_llr=1.7)
    check_indicators(model, MATRIX_LLR_COOC_ATA_CONTROL, MATRIX_LLR_COOC_ATB_TOP2_MIN_LLR)


PAIRS_A = [("u1", "a1"), ("u1", "a2"), ("u2", "a3"), ("u2", "a4"), ("u3", "a5"),
           ("u4", "a1"), ("u4", "a4")]  # fmt: skip
PAIRS_B = [("u1", "b2"), ("u1", "b3"), ("u2", "b1"), ("u2", "b2"), ("u2", "b3"), ("u3", "b2"),
           ("u4", "b1"), ("u4", "b2"), ("u4", "b4"), ("u5", "b1"), ("u5", "b25")]  # fmt: skip


def _frame(pairs_a, pairs_b) -> pd.DataFrame:
    rows = [(u, "a", i) for u, i in pairs_a] + [(u, "b", i) for u, i in pairs_b]
    return pd.DataFrame(rows, columns=["user", "action", "item"])


# SimilarityAnalysisSuite.scala: test("Cross-occurrence two IndexedDatasets different row ranks")
def test_cross_occurrence_different_row_ranks_shared_dictionary():
    # Mahout builds B's dataset over A's row dictionary and drops u5 (only in B) and
    # b25 (only u5's). dlinalg's Interactions has one user dictionary shared by every
    # action, built from all of them (documented: docs/source/recommenders.rst,
    # "Interactions"; DESIGN "Recommender specifics"): u5 and b25 stay, and N = 5.
    data = Interactions.from_dataframe(_frame(PAIRS_A, PAIRS_B), action="action")
    assert data.n_users == 5
    assert "u5" in data.users
    assert set(data.items("a")) == {"a1", "a2", "a3", "a4", "a5"}
    assert set(data.items("b")) == {"b1", "b2", "b3", "b4", "b25"}
    assert data.matrix("a").shape == (5, 5)
    assert data.matrix("a")[data.users.get_loc("u5")].nnz == 0  # u5 has no primary action


def test_cross_occurrence_different_row_ranks_restricted_to_primary_users():
    # Mahout's rows, in dlinalg: keep only the primary action's users before building.
    df = _frame(PAIRS_A, PAIRS_B)
    primary_users = df.loc[df.action == "a", "user"].unique()
    data = Interactions.from_dataframe(df[df.user.isin(primary_users)], action="action")
    # aID.rowIDs.size == 4, bID.rowIDs.size == 4, nrow == 4
    assert data.n_users == 4
    assert data.matrix("a").shape[0] == data.matrix("b").shape[0] == 4
    assert set(data.users) == {"u1", "u2", "u3", "u4"}
    assert set(data.items("a")) == {"a1", "a2", "a3", "a4", "a5"}
    assert set(data.items("b")) == {"b1", "b2", "b3", "b4"}
    assert "u5" not in data.users  # "should be filtered out of the drm and dictionary"
    assert "b25" not in data.items("b")
    # the cross-occurrence over those 4 users, against the LLR of every count of A'B
    # (N = 4; u3 views b2 here, where the source's commented matrix shows b3)
    model = ItemSimilarity().fit(data)
    a = dense_from_pairs(PAIRS_A, USERS, ITEMS_A)
    b = dense_from_pairs([p for p in PAIRS_B if p[0] != "u5"], USERS, ITEMS_B)
    np.testing.assert_array_equal(labelled(model, 1, ITEMS_A, ITEMS_B), llr_of_counts(a, b))


def dense_from_pairs(pairs, users, items) -> np.ndarray:
    m = np.zeros((len(users), len(items)), dtype=np.int64)
    for u, i in pairs:
        m[users.index(u), items.index(i)] = 1
    return m


def llr_of_counts(a, b) -> np.ndarray:
    """The reference: LLR of the 2 x 2 table of every non-zero count of A'B (N = users)."""
    n = a.shape[0]
    k11 = a.T @ b
    rows, cols = a.sum(axis=0)[:, None], b.sum(axis=0)[None, :]
    table = (k11, rows - k11, cols - k11, n - rows - cols + k11)
    return np.where(k11 > 0, log_likelihood_ratio(*table), 0.0)


# SimilarityAnalysisSuite.scala: test("LLR calc")
def test_llr_calc():
    # item (1,0) of A'A: SimilarityAnalysis.logLikelihoodRatio(numInteractionsWithA = 1,
    # numInteractionsWithB = 2, numInteractionsWithAandB = 1, numInteractions = 6),
    # i.e. k11 = 1, k12 = 1 - 1, k21 = 2 - 1, k22 = 6 - 1 - 2 + 1
    with_a, with_b, with_ab, n = 1, 2, 1, 6
    llr = log_likelihood_ratio(
        with_ab, with_a - with_ab, with_b - with_ab, n - with_a - with_b + with_ab
    )
    assert llr == 2.6341457841558764  # "value calculated by hadoop itemsimilairty"


DOWNSAMPLE_A = np.array(
    [(1, 1, 1, 1, 0), (1, 1, 1, 1, 1), (0, 0, 0, 0, 1), (1, 1, 0, 1, 0)],
)


# SimilarityAnalysisSuite.scala: test("downsampling by number per row")
@pytest.mark.parametrize("chunks", KINDS)
def test_downsampling_by_number_per_row(chunks):
    # Mahout's sampleDownAndBinarize(drmA, 0xdeadbeef, 4) keeps 8 values: its
    # min(max, n) / n is an integer division, 0 for the 5-item user, who is dropped
    # whole. dlinalg samples that user down to 4 items instead (documented in
    # docs/source/recommenders.rst and DESIGN: "do not copy it"): 4 + 4 + 1 + 3 = 12.
    model = RowSimilarity(max_interactions_per_row=4, seed=0xDEADBEEF)
    model.fit(as_kind(DOWNSAMPLE_A, chunks))
    np.testing.assert_array_equal(model.row_counts_, [4, 4, 1, 3])
    item_model = ItemSimilarity(max_interactions_per_user=4, seed=0xDEADBEEF)
    item_model.fit(as_kind(DOWNSAMPLE_A, chunks))
    counts = item_model.item_counts_[0]
    assert counts.sum() == 12  # numValues: Mahout's 8 plus the heavy user's 4
    # only the heavy user lost an item: every column count is at most the full one
    full = DOWNSAMPLE_A.sum(axis=0)
    assert (counts <= full).all()
    assert (full - counts).sum() == 1


def test_downsampling_does_not_depend_on_the_chunking():
    # the sample is a seeded hash of (seed, user, item), so every chunking keeps the same
    results = []
    for chunks in (None, 4, 2, 1):
        m = ItemSimilarity(max_interactions_per_user=4, seed=0xDEADBEEF)
        results.append(m.fit(as_kind(DOWNSAMPLE_A, chunks)).item_counts_[0])
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# --- RowSimilarity: spark-rowsimilarity is the same LLR on A A' ----------------------------------
@pytest.mark.parametrize("chunks", KINDS)
def test_row_similarity_of_a_transpose_is_the_cooccurrence_control(chunks, scheduler):
    # rows of A' are A's items: its row similarity is A'A with LLR (N = A's users)
    model = RowSimilarity().fit(as_kind(np.ascontiguousarray(A_BOOL.T), chunks))
    assert model.n_columns_ == 4
    assert norm(model.indicators_ - sp.csr_array(MATRIX_LLR_COOC_ATA_CONTROL)) < 1e-10
    np.testing.assert_array_equal(model.indicators_.toarray(), MATRIX_LLR_COOC_ATA_CONTROL)


# --- the command line: spark-itemsimilarity as dlinalg itemsimilarity --------------------------
def read_text_matrix(path: Path, rows: list[str], cols: list[str]) -> np.ndarray:
    """Mahout's text output (``item<TAB>other:llr other:llr``) as a dense matrix."""
    out = np.zeros((len(rows), len(cols)))
    lines = "".join(p.read_text() for p in sorted(path.glob("part-*"))).splitlines()
    for line in lines:
        item, _, rest = line.partition("\t")
        for entry in rest.split():
            other, _, score = entry.rpartition(":")
            out[rows.index(item), cols.index(other)] = float(score)
    assert sorted(line.partition("\t")[0] for line in lines) == sorted(rows)
    return out


def _address(scheduler) -> str:
    return "synchronous" if scheduler == "sync" else scheduler.scheduler.address


# The CLI on the IndexedDatasets case: test("Cross-occurrence two IndexedDatasets") with
# -m 2, and the full matrices of the "different number of columns" case with the default.
@pytest.mark.parametrize(
    ("m", "expected"),
    [
        pytest.param(2, MATRIX_LLR_COOC_ATB_TOP2, id="two-indexed-datasets"),
        pytest.param(None, None, id="different-number-of-columns"),
    ],
)
def test_cli_itemsimilarity(tmp_path, m, expected, scheduler):
    rows = [f"{u},purchase,{i}" for u, i in _pairs(A_BOOL, USERS, ITEMS_A)]
    rows += [f"{u},view,{i}" for u, i in _pairs(B_NARROW, USERS, ITEMS_B)]
    (tmp_path / "actions.csv").write_text("\n".join(rows) + "\n")
    argv = ["itemsimilarity", "-i", str(tmp_path / "actions.csv"), "-o", str(tmp_path / "out"),
            "--filter-column", "1", "--filter1", "purchase", "--filter2", "view",
            "--item-id-column", "2", "--scheduler", _address(scheduler), "--quiet"]  # fmt: skip
    if m is not None:
        argv += ["-m", str(m)]
    assert main(argv) == 0
    if expected is None:
        expected = fit_cooccurrences(A_BOOL, B_NARROW, None).indicators_[1].toarray()
    ata = read_text_matrix(tmp_path / "out" / "similarity-matrix", ITEMS_A, ITEMS_A)
    atb = read_text_matrix(tmp_path / "out" / "cross-similarity-matrix", ITEMS_A, ITEMS_B)
    assert norm(ata - MATRIX_LLR_COOC_ATA_CONTROL) < 1e-10
    assert norm(atb - expected) < 1e-10
    # Mahout's digits, byte for byte: repr of the double
    text = (tmp_path / "out" / "cross-similarity-matrix" / "part-00000").read_text()
    assert "a4\tb1:5.545177444479561 b2:1.7260924347106847" in text


# SimilarityAnalysis.scala (computeSimilarities) keeps ``llr >= minLLR``: a threshold
# equal to a score keeps it (the LLR threshold case above, at its boundary)
@pytest.mark.parametrize("chunks", KINDS)
def test_min_llr_keeps_scores_equal_to_it(chunks):
    model = fit_cooccurrences(A_BOOL, B_NARROW, chunks, min_llr=1.7260924347106847)
    np.testing.assert_array_equal(
        model.indicators_[0].toarray(), MATRIX_LLR_COOC_ATA_CONTROL
    )  # every A'A score is exactly the threshold
    cross = model.indicators_[1].toarray()
    assert cross.min(initial=np.inf, where=cross > 0) == 1.7260924347106847
    assert (cross[cross > 0] >= 1.7260924347106847).all()
