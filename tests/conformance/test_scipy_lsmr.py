# ruff: noqa: RUF059  (SciPy's tuple unpacking is kept verbatim: it is what is being tested)
"""SciPy's own LSMR suite, run against ``dl.lsmr`` (issue 13: a drop-in for SciPy).

Every test of ``scipy/sparse/linalg/_isolve/tests/test_lsmr.py`` (SciPy 1.17)
is ported with its original tolerances, each citing its source, on one row
block and on 3+ row blocks, dense and sparse where the source uses either.
dlinalg is real-only (documented in :func:`dlinalg.lsmr`: "b must hold real
numbers", A's dtype must be real): SciPy's four complex cases assert that
documented refusal instead. Then every output is compared with SciPy's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg as spla
from numpy import arange, array, eye, hstack, ones, transpose, zeros
from numpy.linalg import norm
from numpy.testing import assert_allclose
from scipy.sparse import coo_array
from scipy.sparse.linalg._interface import aslinearoperator

import dlinalg as dl
from dlinalg.errors import DTypeError, OperandTypeError

lsmr = dl.lsmr

#: (kind, blocks): one row block and 3+ row blocks, dense and CSR blocks.
LAYOUTS = [("dense", 1), ("dense", 3), ("sparse", 1), ("sparse", 4)]


def operand(A, layout):
    """A as a DRM of ``blocks`` row blocks (the last may be shorter) of the given kind."""
    kind, blocks = layout
    A = A.toarray() if scipy.sparse.issparse(A) else np.asarray(A)
    if kind == "sparse":
        A = scipy.sparse.csr_array(A)
    m = A.shape[0]
    drm = dl.from_array(A, chunks=-(-m // blocks))
    nblocks = drm.to_dask().numblocks[0]
    assert nblocks == 1 if blocks == 1 else nblocks >= min(3, m)
    return drm


def layout_id(layout):
    return f"{layout[0]}-{layout[1]}block"


@pytest.fixture(params=LAYOUTS, ids=layout_id)
def layout(request):
    return request.param


def lowerBidiagonalMatrix(m, n):
    # test_lsmr.py::lowerBidiagonalMatrix, verbatim
    if m <= n:
        row = hstack((arange(m, dtype=int), arange(1, m, dtype=int)))
        col = hstack((arange(m, dtype=int), arange(m - 1, dtype=int)))
        data = hstack((arange(1, m + 1, dtype=float), arange(1, m, dtype=float)))
        return coo_array((data, (row, col)), shape=(m, n))
    row = hstack((arange(n, dtype=int), arange(1, n + 1, dtype=int)))
    col = hstack((arange(n, dtype=int), arange(n, dtype=int)))
    data = hstack((arange(1, n + 1, dtype=float), arange(1, n + 1, dtype=float)))
    return coo_array((data, (row, col)), shape=(m, n))


# test_lsmr.py imports G and b from test_lsqr.py; the same seeded construction
# as tests/conformance/test_scipy_lsqr.py (modules stay self-contained).
_rs = np.random.RandomState(1234)
G = np.eye(35)
for _ in range(5):
    gg = _rs.normal(size=35)
    hh = gg * gg.T
    G += (hh + hh.T) * 0.5
    G += _rs.normal(size=35) * _rs.normal(size=35)
b = _rs.normal(size=35)


class TestLSMR:
    # test_lsmr.py::TestLSMR
    n = 10
    m = 10

    def assertCompatibleSystem(self, A, xtrue, layout):
        Afun = aslinearoperator(A)
        b = Afun.matvec(xtrue)
        x = lsmr(operand(A, layout), b)[0]
        assert norm(x - xtrue) == pytest.approx(0, abs=1e-5)

    def testIdentityACase1(self, layout):
        A = eye(self.n)
        xtrue = zeros((self.n, 1))
        self.assertCompatibleSystem(A, xtrue, layout)

    def testIdentityACase2(self, layout):
        A = eye(self.n)
        xtrue = ones((self.n, 1))
        self.assertCompatibleSystem(A, xtrue, layout)

    def testIdentityACase3(self, layout):
        A = eye(self.n)
        xtrue = transpose(arange(self.n, 0, -1))
        self.assertCompatibleSystem(A, xtrue, layout)

    def testBidiagonalA(self, layout):
        A = lowerBidiagonalMatrix(20, self.n)
        xtrue = transpose(arange(self.n, 0, -1))
        self.assertCompatibleSystem(A, xtrue, layout)

    def testScalarB(self):
        # one row: one row block only
        A = array([[1.0, 2.0]])
        b = 3.0
        for op in (A, dl.from_array(A)):
            x = lsmr(op, b)[0]
            assert norm(A.dot(x) - b) == pytest.approx(0)

    # The complex cases: dlinalg documents real-only input; a complex A is
    # refused (DTypeError), a complex b or x0 too (OperandTypeError), before
    # any graph. Both are TypeErrors.
    def testComplexX(self):
        A = eye(self.n)
        xtrue = transpose(arange(self.n, 0, -1) * (1 + 1j))
        b = aslinearoperator(A).matvec(xtrue)
        with pytest.raises(OperandTypeError, match="b must hold real numbers"):
            lsmr(A, b)

    def testComplexX0(self):
        A = 4 * eye(self.n) + ones((self.n, self.n))
        xtrue = transpose(arange(self.n, 0, -1))
        b = aslinearoperator(A).matvec(xtrue)
        x0 = zeros(self.n, dtype=complex)
        with pytest.raises(OperandTypeError, match="x0 must hold real numbers"):
            lsmr(A, b, x0=x0)
        # the real part of the same problem converges as SciPy's test asserts
        x = lsmr(A, b, x0=x0.real)[0]
        assert norm(x - xtrue) == pytest.approx(0, abs=1e-5)

    def testComplexA(self):
        A = 4 * eye(self.n) + 1j * ones((self.n, self.n))
        with pytest.raises(DTypeError, match="real numeric dtype"):
            lsmr(A, ones(self.n))

    def testComplexB(self):
        A = 4 * eye(self.n) + ones((self.n, self.n))
        xtrue = transpose(arange(self.n, 0, -1) * (1 + 1j))
        b = aslinearoperator(A).matvec(xtrue)
        with pytest.raises(OperandTypeError, match="b must hold real numbers"):
            lsmr(A, b)
        # SciPy's answer is linear in b: solving the real and imaginary parts apart works
        x = lsmr(A, b.real)[0] + 1j * lsmr(A, b.imag)[0]
        assert norm(x - xtrue) == pytest.approx(0, abs=1e-5)

    def testColumnB(self, layout):
        A = eye(self.n)
        b = ones((self.n, 1))
        x = lsmr(operand(A, layout), b)[0]
        assert norm(A.dot(x) - b.ravel()) == pytest.approx(0)

    def testInitialization(self, layout):
        A = operand(G, layout)
        x_ref, _, itn_ref, normr_ref, *_ = lsmr(A, b)
        assert_allclose(norm(b - G @ x_ref), normr_ref, atol=1e-6)

        x0 = zeros(b.shape)
        x = lsmr(A, b, x0=x0)[0]
        assert_allclose(x, x_ref)

        x0 = lsmr(A, b, maxiter=1)[0]

        x, _, itn, normr, *_ = lsmr(A, b, x0=x0)
        assert_allclose(norm(b - G @ x), normr, atol=1e-6)
        assert itn - itn_ref in (0, 1)
        assert normr < normr_ref * (1 + 1e-6)


class TestLSMRReturns:
    # test_lsmr.py::TestLSMRReturns (A is SciPy's COO bidiagonal: sparse and dense here)
    @pytest.fixture(autouse=True)
    def setup(self, layout):
        self.n = 10
        self.A = lowerBidiagonalMatrix(20, self.n)
        self.xtrue = transpose(arange(self.n, 0, -1))
        self.Afun = aslinearoperator(self.A)
        self.b = self.Afun.matvec(self.xtrue)
        self.x0 = ones(self.n)
        self.x00 = self.x0.copy()
        drm = operand(self.A, layout)
        self.returnValues = lsmr(drm, self.b)
        self.returnValuesX0 = lsmr(drm, self.b, x0=self.x0)

    def test_unchanged_x0(self):
        x, istop, itn, normr, normar, normA, condA, normx = self.returnValuesX0
        assert_allclose(self.x00, self.x0)

    def testNormr(self):
        x, istop, itn, normr, normar, normA, condA, normx = self.returnValues
        assert norm(self.b - self.Afun.matvec(x)) == pytest.approx(normr)

    def testNormar(self):
        x, istop, itn, normr, normar, normA, condA, normx = self.returnValues
        assert norm(self.Afun.rmatvec(self.b - self.Afun.matvec(x))) == pytest.approx(normar)

    def testNormx(self):
        x, istop, itn, normr, normar, normA, condA, normx = self.returnValues
        assert norm(x) == pytest.approx(normx)


# --- every output against SciPy's ------------------------------------------------------------

rng = np.random.default_rng(11)
A_LS = rng.standard_normal((60, 8))
B_LS = rng.standard_normal(60)
FIELDS = ("istop", "itn", "normr", "normar", "norma", "conda", "normx")


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"damp": 0.7},
        {"x0": np.full(8, 0.3)},
        {"damp": 0.2, "atol": 1e-12, "btol": 1e-12, "maxiter": 4},
        {"conlim": 5.0},
    ],
    ids=["defaults", "damp", "x0", "maxiter", "conlim"],
)
def test_every_output_matches_scipy(layout, kw):
    ref = spla.lsmr(A_LS, B_LS, **kw)
    got = lsmr(operand(A_LS, layout), B_LS, **kw)
    assert len(got) == len(ref) == 8
    assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
    for name, mine, theirs in zip(FIELDS, got[1:], ref[1:], strict=True):
        assert mine == pytest.approx(theirs, rel=1e-10, abs=1e-13), name


def test_positional_arguments_in_scipys_order():
    # SciPy: lsmr(A, b, damp, atol, btol, conlim, maxiter, show, x0)
    args = (0.3, 1e-9, 1e-9, 1e7, 30, False, np.full(8, 0.1))
    ref = spla.lsmr(A_LS, B_LS, *args)
    got = lsmr(dl.from_array(A_LS, chunks=20), B_LS, *args)
    assert_allclose(got[0], ref[0], rtol=1e-10)
    assert (got[1], got[2]) == (ref[1], ref[2])
    with pytest.raises(TypeError):  # nothing after x0 is positional
        lsmr(A_LS, B_LS, *args, None)
