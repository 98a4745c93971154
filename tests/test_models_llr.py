"""dlinalg.models.log_likelihood_ratio: Mahout's values to the last bit, SciPy's G-test, bad counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from dlinalg.models import log_likelihood_ratio
from dlinalg.models.recommenders._topk import _xlogx_tables, llr_topk_panel, llr_topk_rows
from scipy.stats import chi2_contingency


def mahout_llr(k11: int, k12: int, k21: int, k22: int) -> float:
    """LogLikelihood.java (Mahout 0.10+), transcribed: each entropy term subtracted in turn."""

    def x_log_x(x: int) -> float:
        return 0.0 if x == 0 else x * math.log(x)

    def entropy(*ks: int) -> float:
        out = x_log_x(sum(ks))
        for k in ks:
            out -= x_log_x(k)
        return out

    row = entropy(k11 + k12, k21 + k22)
    col = entropy(k11 + k21, k12 + k22)
    mat = entropy(k11, k12, k21, k22)
    if row + col < mat:
        return 0.0
    return 2.0 * (row + col - mat)


# (table, expected, relative tolerance): the contract's digits, and Mahout's
# LogLikelihoodTest values with the tolerance that test uses
PUBLISHED = [
    ((1, 0, 0, 1), 2.772588722239781, 1e-12),
    ((10, 0, 0, 10), 27.725887222397812, 1e-12),
    ((5, 1995, 0, 100000), 39.33052, 1e-5 / 39.33052),
    ((1000, 1995, 1000, 100000), 4730.737, 1e-3 / 4730.737),
    ((1000, 1000, 1000, 100000), 5734.343, 1e-3 / 5734.343),
    ((1000, 1000, 1000, 99000), 5714.932, 1e-3 / 5714.932),
]


@pytest.mark.parametrize(("table", "expected", "rtol"), PUBLISHED)
def test_published_values(table, expected, rtol):
    assert log_likelihood_ratio(*table) == pytest.approx(expected, rel=rtol, abs=0)


def test_mahout_cli_example_digits():
    # spark-itemsimilarity's documented output: ipad<TAB>iphone:1.7260924347106847 (4 users)
    assert repr(float(log_likelihood_ratio(1, 1, 0, 2))) == "1.7260924347106847"
    assert repr(float(log_likelihood_ratio(1, 0, 2, 1))) == "0.6795961471815897"
    assert repr(float(log_likelihood_ratio(2, 0, 0, 2))) == "5.545177444479561"
    assert repr(float(log_likelihood_ratio(1, 0, 1, 2))) == "1.7260924347106847"
    assert repr(float(log_likelihood_ratio(1, 0, 0, 3))) == "4.498681156950466"


def test_bitwise_equal_to_mahouts_order_of_operations():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 40, size=(4, 3000))
    large = rng.integers(0, 10**9, size=(4, 3000))
    for k in (small, large):
        got = log_likelihood_ratio(*k)
        want = np.array([mahout_llr(*map(int, t)) for t in k.T])
        np.testing.assert_array_equal(got, want)


def test_agrees_with_scipy_g_test():
    rng = np.random.default_rng(1)
    for _ in range(200):
        t = rng.integers(1, 5000, size=(2, 2))
        g = chi2_contingency(t, correction=False, lambda_="log-likelihood").statistic
        assert log_likelihood_ratio(t[0, 0], t[0, 1], t[1, 0], t[1, 1]) == pytest.approx(
            g, rel=1e-9
        )


def test_broadcasting_and_result_types():
    out = log_likelihood_ratio([[1], [10]], 0, 0, [1, 10, 100])
    assert out.shape == (2, 3)
    assert out.dtype == np.float64
    assert out[1, 1] == log_likelihood_ratio(10, 0, 0, 10)
    scalar = log_likelihood_ratio(1, 0, 0, 1)
    assert isinstance(scalar, float)
    assert np.ndim(scalar) == 0
    assert isinstance(log_likelihood_ratio(np.int64(1), 0.0, 0, np.array(1)), float)
    assert log_likelihood_ratio(np.zeros((0, 3), int), 0, 0, 1).shape == (0, 3)


def test_independence_and_rounding_give_exact_zero_never_negative():
    assert log_likelihood_ratio(1, 1, 1, 1) == 0.0
    assert log_likelihood_ratio(0, 0, 0, 0) == 0.0
    k = np.arange(1, 2000)
    near = log_likelihood_ratio(k, 2 * k, 3 * k, 6 * k)  # k11 k22 == k12 k21 exactly
    assert (near >= 0).all()
    assert (near < 1e-9).all()


def test_float_integers_accepted():
    assert log_likelihood_ratio(1.0, 0.0, 0.0, 1.0) == log_likelihood_ratio(1, 0, 0, 1)


@pytest.mark.parametrize(
    ("args", "name", "err"),
    [
        ((1, -1, 0, 1), "k12", ValueError),  # negative
        ((1, 0, 0.5, 1), "k21", ValueError),  # non-integer
        ((1, 0, 0, np.nan), "k22", ValueError),  # non-finite
        ((np.inf, 0, 0, 1), "k11", ValueError),
        ((1, 0, 0, 2.0**60), "k22", ValueError),  # not exact in float64
        (("1", 0, 0, 1), "k11", TypeError),
        ((1, True, 0, 1), "k12", TypeError),
    ],
)
def test_bad_counts_name_the_argument(args, name, err):
    with pytest.raises(err, match=name):
        log_likelihood_ratio(*args)


def test_xlogx_tables_match_libm():
    low, high = _xlogx_tables(10**6, 600)
    assert low[0] == 0.0
    for x in (1, 2, 3, 77, 500, 600):
        assert low[x] == x * math.log(x)
    for t in (0, 1, 999, 1200):
        assert high[t] == (10**6 - t) * math.log(10**6 - t)


def test_panel_kernel_scores_equal_the_public_function_bitwise():
    rng = np.random.default_rng(2)
    n, w, m = 5000, 30, 40
    rcount = rng.integers(1, 300, size=w)
    ccount = rng.integers(1, 300, size=m)
    counts = np.minimum(rng.integers(0, 40, size=(w, m)), np.minimum.outer(rcount, ccount))
    want = log_likelihood_ratio(counts, rcount[:, None] - counts, ccount - counts,
                                n - rcount[:, None] - ccount + counts)  # fmt: skip
    want[counts == 0] = 0
    # the panel given transposed (row similarity), as rows in CSR, and dense
    for got in (
        llr_topk_panel(sp.csr_array(counts.T), 0, rcount, ccount, n, False, m, -np.inf),
        llr_topk_rows(sp.csr_array(counts), 0, rcount, ccount, n, False, m, -np.inf),
        llr_topk_rows(counts.astype(np.int32), 0, rcount, ccount, n, False, m, -np.inf),
    ):
        np.testing.assert_array_equal(got.toarray(), want)


@pytest.mark.parametrize("layout", ["dense", "csr", "transposed"])
def test_panel_kernel_top_k_ties_go_to_the_lower_column(layout):
    """Equal scores: the lower column is kept, whatever layout the counts come in."""
    rcount = np.full(4, 10)  # users per row item, all rows: the panel is rows 1..3
    ccount = np.full(8, 10)
    counts = np.array(
        [[3, 0, 3, 3, 1, 3, 0, 3], [0, 2, 0, 2, 2, 0, 2, 0], [5, 5, 5, 5, 5, 5, 5, 5]]
    )
    panel = {"dense": counts.astype(np.int32), "csr": sp.csr_array(counts)}.get(layout)
    args = (1, rcount, ccount, 100, True, 3, -np.inf)  # rows 1..3 of all: column 1 + i is self
    if layout == "transposed":
        got = llr_topk_panel(sp.csr_array(counts.T), *args)
    else:
        got = llr_topk_rows(panel, *args)
    kept = [list(got.indices[got.indptr[i] : got.indptr[i + 1]]) for i in range(3)]
    assert kept == [[0, 2, 3], [1, 3, 4], [0, 1, 2]]  # row 2 skips itself (column 3)


def test_panel_kernel_refuses_counts_that_do_not_cover_its_rows_and_columns():
    """The compiled kernel does not check bounds: short count vectors are refused before it.

    (A test once passed 3 row counts for rows 1..3; the kernel read past the
    end and allocated from the garbage.)
    """
    counts = np.ones((3, 8), dtype=np.int32)
    with pytest.raises(ValueError, match=r"rcount has 3 entries; rows 1\.\.3 need 4"):
        llr_topk_rows(counts, 1, np.full(3, 10), np.full(8, 10), 100, True, 3, -np.inf)
    with pytest.raises(ValueError, match="ccount has 7 entries; the panel has 8 columns"):
        llr_topk_rows(counts, 0, np.full(3, 10), np.full(7, 10), 100, True, 3, -np.inf)


def test_panel_kernel_ties_do_not_depend_on_the_order_of_a_csr_row():
    counts = sp.csr_array((np.full(3, 3), np.array([2, 0, 1]), np.array([0, 3])), shape=(1, 3))
    assert not counts.has_sorted_indices
    args = (0, np.array([10]), np.full(3, 10), 100, False, 1, -np.inf)
    assert list(llr_topk_rows(counts, *args).indices) == [0]
    assert list(llr_topk_rows(counts.toarray(), *args).indices) == [0]
