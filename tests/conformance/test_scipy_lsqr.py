"""SciPy's own LSQR suite, run against ``dl.lsqr`` (issue 13: a drop-in for SciPy).

Every test of ``scipy/sparse/linalg/_isolve/tests/test_lsqr.py`` (SciPy 1.17)
is ported with its original tolerances, each citing its source function, and
run on one row block and on 3+ row blocks, dense and sparse. The calls are
SciPy's calls unchanged (positional order, ``iter_lim``, tuple unpacking):
that is the drop-in contract. After the port, the regression tests of the
SciPy drop-in defects, comparing every output with SciPy's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg as spla
from numpy.testing import assert_allclose, assert_array_equal, assert_equal

import dlinalg as dl
from dlinalg.errors import DTypeError, ParameterError, ShapeError

lsqr = dl.lsqr
norm = np.linalg.norm

# --- SciPy's module-level problem (test_lsqr.py, lines 8-28) -------------------------------
# SciPy draws G and b from the unseeded global generator; a seeded RandomState
# gives the same construction reproducibly.
_rs = np.random.RandomState(1234)
n = 35
G = np.eye(n)
for _ in range(5):
    gg = _rs.normal(size=n)
    hh = gg * gg.T
    G += (hh + hh.T) * 0.5
    G += _rs.normal(size=n) * _rs.normal(size=n)
b = _rs.normal(size=n)
tol = 2e-10  # atol/btol of the lsqr() calls
atol_test = 4e-10  # tolerances of assert_allclose on the results
rtol_test = 2e-8
show = False
maxit = None

#: (kind, blocks): one row block and 3+ row blocks, dense and CSR blocks.
LAYOUTS = [("dense", 1), ("dense", 3), ("sparse", 1), ("sparse", 4)]
DENSE_LAYOUTS = [lay for lay in LAYOUTS if lay[0] == "dense"]


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


@pytest.fixture(params=DENSE_LAYOUTS, ids=layout_id)
def dense_layout(request):
    return request.param


# --- the port -----------------------------------------------------------------------------


def test_lsqr_basic(layout):
    # test_lsqr.py::test_lsqr_basic (both halves; G is dense in SciPy, CSR blocks here too)
    A = operand(G, layout)
    b_copy = b.copy()
    xo, *_ = lsqr(A, b, show=show, atol=tol, btol=tol, iter_lim=maxit)
    assert_array_equal(b_copy, b)

    svx = np.linalg.solve(G, b)
    assert_allclose(xo, svx, atol=atol_test, rtol=rtol_test)

    damp = 1.5
    xo, *_ = lsqr(A, b, damp=damp, show=show, atol=tol, btol=tol, iter_lim=maxit)

    Gext = np.r_[G, damp * np.eye(G.shape[1])]
    bext = np.r_[b, np.zeros(G.shape[1])]
    svx, *_ = np.linalg.lstsq(Gext, bext, rcond=None)
    assert_allclose(xo, svx, atol=atol_test, rtol=rtol_test)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_gh_2466(kind):
    # test_lsqr.py::test_gh_2466: a 1 x 2 COO matrix with integer data. One row
    # gives one row block only (3+ blocks are not possible).
    row = np.array([0, 0])
    col = np.array([0, 1])
    val = np.array([1, -1])
    A = scipy.sparse.coo_array((val, (row, col)), shape=(1, 2))
    b = np.asarray([4])
    lsqr(operand(A, (kind, 1)), b)
    lsqr(A, b)  # the COO matrix itself, as SciPy passes it


def test_well_conditioned_problems(layout):
    # test_lsqr.py::test_well_conditioned_problems (30 seeds, errstate(invalid="raise"))
    n = 10
    A_sparse = scipy.sparse.eye_array(n, n)
    A_dense = A_sparse.toarray()
    A = operand(A_sparse, layout)

    with np.errstate(invalid="raise"):
        for seed in range(30):
            rng = np.random.RandomState(seed + 10)
            beta = rng.rand(n)
            beta[beta == 0] = 0.00001
            b = A_sparse @ beta[:, np.newaxis]
            output = lsqr(A, b, show=show)

            assert_equal(output[1], 1)
            solution = output[0]
            assert_allclose(solution, beta)

            reference_solution = np.linalg.solve(A_dense, b).ravel()
            assert_allclose(solution, reference_solution)


def test_b_shapes_scalar():
    # test_lsqr.py::test_b_shapes, first half: a scalar b for a 1 x 2 A (one row:
    # one row block only), on numpy input and on a DRM.
    A = np.array([[1.0, 2.0]])
    b = 3.0
    for operand_ in (A, dl.from_array(A)):
        x = lsqr(operand_, b)[0]
        assert norm(A.dot(x) - b) == pytest.approx(0)


def test_b_shapes_column(layout):
    # test_lsqr.py::test_b_shapes, second half: a (10, 1) column b
    A = np.eye(10)
    b = np.ones((10, 1))
    x = lsqr(operand(A, layout), b)[0]
    assert norm(A.dot(x) - b.ravel()) == pytest.approx(0)


def test_initialization(layout):
    # test_lsqr.py::test_initialization
    A = operand(G, layout)
    b_copy = b.copy()
    x_ref = lsqr(A, b, show=show, atol=tol, btol=tol, iter_lim=maxit)
    x0 = np.zeros(x_ref[0].shape)
    x = lsqr(A, b, show=show, atol=tol, btol=tol, iter_lim=maxit, x0=x0)
    assert_array_equal(b_copy, b)
    assert_allclose(x_ref[0], x[0])

    x0 = lsqr(A, b, show=show, atol=tol, btol=tol, iter_lim=1)[0]
    x = lsqr(A, b, show=show, atol=tol, btol=tol, iter_lim=maxit, x0=x0)
    assert_allclose(x_ref[0], x[0])
    assert_array_equal(b_copy, b)


# --- regressions: the SciPy drop-in defects of issue 13 -------------------------------------

#: SciPy's 10 outputs after x, and how close ours must be. The iterates are
#: SciPy's up to rounding (the distributed sums add in another order), so the
#: integers are equal and the floats agree to a few hundred ulps.
FIELDS = ("istop", "itn", "r1norm", "r2norm", "anorm", "acond", "arnorm", "xnorm")

rng = np.random.default_rng(7)
A_LS = rng.standard_normal((60, 8))
B_LS = rng.standard_normal(60)


@pytest.mark.parametrize(
    "kw",
    [
        {},  # defaults
        {"damp": 0.7, "calc_var": True},  # r1norm != r2norm, var estimated
        {"x0": np.full(8, 0.3), "calc_var": True},
        {"damp": 0.2, "atol": 1e-12, "btol": 1e-12, "iter_lim": 4},  # stops at the limit
        {"conlim": 5.0},  # stops on the condition estimate
    ],
    ids=["defaults", "damp-var", "x0-var", "iter_lim", "conlim"],
)
def test_every_output_matches_scipy(layout, kw):
    ref = spla.lsqr(A_LS, B_LS, **kw)
    got = lsqr(operand(A_LS, layout), B_LS, **kw)
    assert len(got) == len(ref) == 10
    assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
    for name, mine, theirs in zip(FIELDS, got[1:9], ref[1:9], strict=True):
        assert mine == pytest.approx(theirs, rel=1e-10, abs=1e-13), name
    assert_allclose(got.var, ref[9], rtol=1e-10, atol=1e-14)  # zeros without calc_var
    assert got.r1norm == got.normr


def test_positional_arguments_in_scipys_order(dense_layout):
    # SciPy: lsqr(A, b, damp, atol, btol, conlim, iter_lim, show, calc_var, x0)
    x0 = np.full(8, 0.1)
    args = (0.3, 1e-9, 1e-9, 1e7, 30, False, True, x0)
    ref = spla.lsqr(A_LS, B_LS, *args)
    got = lsqr(operand(A_LS, dense_layout), B_LS, *args)
    assert_allclose(got[0], ref[0], rtol=1e-10)
    assert (got[1], got[2]) == (ref[1], ref[2])
    assert_allclose(got[9], ref[9], rtol=1e-10)
    with pytest.raises(TypeError):  # nothing after x0 is positional
        lsqr(A_LS, B_LS, *args, None)


def test_iter_lim_is_maxiter_and_both_is_an_error():
    by_scipy_name = lsqr(A_LS, B_LS, iter_lim=3)
    by_our_name = lsqr(A_LS, B_LS, maxiter=3)
    assert by_scipy_name.itn == by_our_name.itn == 3 == spla.lsqr(A_LS, B_LS, iter_lim=3)[2]
    assert_array_equal(by_scipy_name.x, by_our_name.x)
    with pytest.raises(ParameterError, match="iter_lim=3 and maxiter=4 are the same limit"):
        lsqr(A_LS, B_LS, iter_lim=3, maxiter=4)


@pytest.mark.parametrize(
    "b_shape",
    [
        (),  # 0-d b, A has one row: SciPy's atleast_1d makes it (1,)
        (1,),
        (1, 1),  # a 1-column b; SciPy squeezes it to 0-d and then fails in rmatvec
    ],
)
def test_scalar_b_for_one_row(b_shape):
    A = np.array([[1.0, 2.0]])
    ref = spla.lsqr(A, np.full(1, 3.0))
    for solve in (lsqr, dl.lsmr):
        got = solve(A, np.full(b_shape, 3.0))
        assert_allclose(got[0], ref[0])
        assert tuple(got[1:3]) == (1, 1)


def test_row_b_is_squeezed_as_scipy_does():
    # SciPy squeezes a (1, m) b to (m,); so does dl.lsqr (and lsmr)
    ref = spla.lsqr(A_LS, B_LS[None, :])[0]
    assert_allclose(lsqr(A_LS, B_LS[None, :])[0], ref, rtol=1e-10)
    assert_allclose(dl.lsmr(A_LS, B_LS[None, :])[0], spla.lsmr(A_LS, B_LS[None, :])[0])


def test_scalar_b_for_many_rows_names_the_mismatch():
    # SciPy fails deep inside with a broadcasting error; here: a ShapeError first
    with pytest.raises(ShapeError, match="b has 1 entries but A has 60 rows"):
        lsqr(A_LS, 3.0)
    with pytest.raises(ShapeError, match=r"got shape \(60, 2\)"):
        lsqr(A_LS, np.ones((60, 2)))


def test_calc_var_must_be_a_flag():
    with pytest.raises(DTypeError, match="calc_var must be True or False"):
        lsqr(A_LS, B_LS, calc_var="yes")


def test_result_of_a_solver_without_scipy_tuple_does_not_unpack():
    res = dl.cgls(A_LS, B_LS)
    assert res  # still true
    with pytest.raises(TypeError, match="no SciPy tuple form"):
        _x, _istop = res
