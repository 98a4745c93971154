"""Mahout's LogLikelihoodTest, run against dlinalg.models.log_likelihood_ratio (issue 13: a drop-in for Mahout).

Ported from ``core/src/test/java/org/apache/mahout/math/stats/LogLikelihoodTest.java``
(Apache Mahout, tag ``mahout-14.1``); each case names the ``@Test`` it comes
from and keeps its tables, expected values and (absolute) epsilons of
``assertEquals(expected, actual, epsilon)``.

dlinalg's public LLR surface is :func:`dlinalg.models.log_likelihood_ratio` and
the ``x log x`` it is built from (:func:`dlinalg.models.recommenders._llr.xlogx`). Mahout's
``entropy`` is written from ``xlogx`` exactly as ``LogLikelihood.entropy``
is. Not expressible: ``rootLogLikelihoodRatio``'s sign and
``compareFrequencies`` (no dlinalg equivalent; the magnitudes of the root
cases are checked as ``sqrt(llr)``), see the notes at those cases.

The LLR tables are also run through :class:`dlinalg.models.ItemSimilarity` on users x
items matrices that realise them (one row block and several, and on the
``scheduler`` fixture): the indicator of the two items is the same number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from dlinalg.models import ItemSimilarity
from dlinalg.models.recommenders._llr import log_likelihood_ratio, xlogx

import dlinalg as dl

SOURCE = "core/src/test/java/org/apache/mahout/math/stats/LogLikelihoodTest.java"


def entropy(*elements: int) -> float:
    """Mahout's ``LogLikelihood.entropy(long...)``: xLogX(sum) minus each xLogX, in turn."""
    total, result = 0, 0.0
    for x in elements:
        result += xlogx(x)
        total += x
    return xlogx(total) - result


# LogLikelihoodTest.java: testEntropy
def test_entropy():
    assert entropy(1, 1) == pytest.approx(1.386294, abs=0.0001)
    assert entropy(1) == 0.0  # epsilon 0.0
    # LogLikelihood.entropy(-1, -1) throws IllegalArgumentException (a negative
    # count). dlinalg's entry point taking counts refuses it likewise, with a
    # ValueError naming the argument (IllegalArgumentException's Python kin).
    with pytest.raises(ValueError, match="k11"):
        log_likelihood_ratio(-1, -1, 0, 0)


# LogLikelihoodTest.java: testLogLikelihood, (table, expected, epsilon)
LOG_LIKELIHOOD = [
    ((1, 0, 0, 1), 2.772589, 0.000001),
    ((10, 0, 0, 10), 27.72589, 0.00001),
    ((5, 1995, 0, 100000), 39.33052, 0.00001),
    ((1000, 1995, 1000, 100000), 4730.737, 0.001),
    ((1000, 1000, 1000, 100000), 5734.343, 0.001),
    ((1000, 1000, 1000, 99000), 5714.932, 0.001),
]


@pytest.mark.parametrize(("table", "expected", "eps"), LOG_LIKELIHOOD)
def test_log_likelihood(table, expected, eps):
    assert float(log_likelihood_ratio(*table)) == pytest.approx(expected, abs=eps)


def test_log_likelihood_vectorised():
    # the same six tables in one call (the array form the similarity kernels use)
    tables = np.array([t for t, _, _ in LOG_LIKELIHOOD]).T
    expected = np.array([e for _, e, _ in LOG_LIKELIHOOD])
    np.testing.assert_allclose(log_likelihood_ratio(*tables), expected, rtol=0, atol=0.001)


# LogLikelihoodTest.java: testRootLogLikelihood, (table, signed expected root, epsilon).
# dlinalg has no rootLogLikelihoodRatio, so the sign (positive where k11 is above
# its expectation) is not expressible; its magnitude is sqrt(llr), checked here
# with the source's epsilon. The two sign-only assertions (904, 21060, 1144,
# 283012) > 0 and (36, 21928, 60280, 623876) < 0 are not ported.
ROOT_LOG_LIKELIHOOD = [
    ((1, 0, 0, 1), math.sqrt(2.772589), 0.000001),
    ((0, 1, 1, 0), -math.sqrt(2.772589), 0.000001),
    ((10, 0, 0, 10), math.sqrt(27.72589), 0.00001),
    ((5, 1995, 0, 100000), math.sqrt(39.33052), 0.00001),
    ((0, 100000, 5, 1995), -math.sqrt(39.33052), 0.00001),
    ((1000, 1995, 1000, 100000), math.sqrt(4730.737), 0.001),
    ((1000, 100000, 1000, 1995), -math.sqrt(4730.737), 0.001),
    ((1000, 1000, 1000, 100000), math.sqrt(5734.343), 0.001),
    ((1000, 1000, 1000, 99000), math.sqrt(5714.932), 0.001),
]


@pytest.mark.parametrize(("table", "expected", "eps"), ROOT_LOG_LIKELIHOOD)
def test_root_log_likelihood_magnitude(table, expected, eps):
    assert math.sqrt(log_likelihood_ratio(*table)) == pytest.approx(abs(expected), abs=eps)


# LogLikelihoodTest.java: testRootNegativeLLR
def test_root_negative_llr():
    # rounding makes this table's bracket slightly negative; Mahout clamps it so the
    # root is not NaN. dlinalg clamps the same way: 0 <= llr, and its root exists.
    llr = log_likelihood_ratio(6, 7567, 1924, 2426487)
    assert llr >= 0.0
    assert math.sqrt(llr) >= 0.0


# LogLikelihoodTest.java: testFrequencyComparison -- not expressible: dlinalg has no
# compareFrequencies (scoring two multisets of counts), and the test's samples come
# from Mahout's java.util.Random, which no Python generator reproduces.


# --- the same tables through ItemSimilarity's kernels ---------------------------------------
def realise(k11, k12, k21, k22) -> sp.csr_array:
    """Users x 2 items whose contingency table is (k11, k12, k21, k22): both, 0 only, 1 only, none."""
    rows = np.repeat([[1, 1], [1, 0], [0, 1], [0, 0]], [k11, k12, k21, k22], axis=0)
    return sp.csr_array(rows.astype(np.int64))


#: tables with a co-occurrence (k11 > 0): a zero count is no indicator
STORED = [t for t, _, _ in LOG_LIKELIHOOD + ROOT_LOG_LIKELIHOOD if t[0] > 0]


@pytest.mark.parametrize("blocks", [1, 7], ids=["one-block", "seven-blocks"])
@pytest.mark.parametrize("table", sorted(set(STORED)))
def test_log_likelihood_through_item_similarity(table, blocks):
    X = realise(*table)
    A = dl.from_array(X, chunks=-(-X.shape[0] // blocks))
    # no downsampling: the tables count up to ~100,000 users per item
    model = ItemSimilarity(max_interactions_per_user=None, max_interactions_per_item=None)
    model.fit(A)
    assert model.n_users_ == sum(table)
    # the indicator is log_likelihood_ratio's value to the last bit
    assert model.indicators_[0][0, 1] == log_likelihood_ratio(*table)
    # seen from item 1 the table is transposed (k12 and k21 swap); Mahout scores it
    # so, and the entropies then subtract in another order: equal only to ~1e-13
    k11, k12, k21, k22 = table
    assert model.indicators_[0][1, 0] == log_likelihood_ratio(k11, k21, k12, k22)
    assert model.indicators_[0][1, 0] == pytest.approx(model.indicators_[0][0, 1], rel=1e-13)


def test_log_likelihood_through_item_similarity_on_scheduler(scheduler):
    table, expected, eps = LOG_LIKELIHOOD[2]  # (5, 1995, 0, 100000) -> 39.33052
    X = realise(*table)
    model = ItemSimilarity(max_interactions_per_user=None, max_interactions_per_item=None)
    model.fit(dl.from_array(X, chunks=25_000))
    assert model.indicators_[0][0, 1] == pytest.approx(expected, abs=eps)
