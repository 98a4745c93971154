"""The SPD (cg) cases of SciPy's ``test_iterative.py``, run against ``dl.cg`` (issue 13).

Source: ``scipy/sparse/linalg/_isolve/tests/test_iterative.py`` (SciPy 1.17).
Every test there that runs ``cg`` is ported with its original tolerances and
SciPy's call unchanged (``x, info = cg(A, b, x0=..., rtol=...)``), each citing
its source. Matrices run as DRMs of one row block and of 3+ row blocks, dense
and CSR blocks (SciPy's cases are CSR or dense); where SciPy passes a
``LinearOperator`` A there is no chunking (it runs in this process, as
documented for :func:`dlinalg.cg`).

Not expressible: the complex cases ``rand-cmplx-sym-pd(-F)``. dlinalg is
real-only and refuses a complex A with a DTypeError (asserted below).
float32 cases (``-F``) run in float64 arithmetic (dlinalg's solvers always
do); SciPy's looser ``rtol = 1e-2`` for them is kept.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg as spla
from numpy import arange, ones
from numpy.linalg import norm
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse import dia_array, kronsum
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import dlinalg as dl
from dlinalg.errors import DTypeError, ParameterError

cg = dl.cg


def _cases():
    # IterativeParams.__init__: the cases cg is not skipped on (SPD, real)
    N = 40
    data = ones((3, N))
    data[0, :] = 2
    data[1, :] = -1
    data[2, :] = -1
    poisson1d = dia_array((data, [0, -1, 1]), shape=(N, N)).tocsr()
    poisson2d = kronsum(poisson1d, poisson1d)
    rand = np.random.RandomState(1234).rand(9, 9)  # SciPy's np.random.seed(1234); rand(9, 9)
    rand_sym_pd = np.dot(rand.conj(), rand.T)
    return {
        "poisson1d": poisson1d,
        "poisson1d-F": poisson1d.astype("f"),
        "poisson2d": poisson2d,
        "poisson2d-F": poisson2d.astype("f"),
        "rand-sym-pd": rand_sym_pd,
        "rand-sym-pd-F": rand_sym_pd.astype("f"),
    }


CASES = _cases()
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


def _case_params():
    params = []
    for name, layout in itertools.product(CASES, LAYOUTS):
        params.append(pytest.param((name, layout), id=f"{name}-{layout[0]}-{layout[1]}"))
    return params


@pytest.fixture(params=_case_params())
def case(request):
    """``(A as SciPy has it, A as a DRM, b)``; b is ``arange(n)`` as in SciPy's Case."""
    name, layout = request.param
    A = CASES[name]
    return A, operand(A, layout), arange(A.shape[0], dtype=float)


def test_maxiter(case):
    # test_iterative.py::test_maxiter
    A_ref, A, b = case
    rtol = 1e-12
    x0 = 0 * b
    residuals = []

    def callback(x):
        residuals.append(norm(b - A_ref @ x))

    _x, info = cg(A, b, x0=x0, rtol=rtol, maxiter=1, callback=callback)
    assert len(residuals) == 1
    assert info == 1


def test_convergence(case):
    # test_iterative.py::test_convergence
    A_ref, A, b = case
    rtol = 1e-8 if A_ref.dtype.char in "dD" else 1e-2
    x0 = 0 * b
    x, info = cg(A, b, x0=x0, rtol=rtol)
    assert_array_equal(x0, 0 * b)
    assert info == 0
    assert norm(A_ref @ x - b) <= norm(b) * rtol


def test_precond_dummy(case):
    # test_iterative.py::test_precond_dummy
    A_ref, A, b = case
    rtol = 1e-8

    def identity(b, which=None):
        return b

    x0 = 0 * b
    precond = LinearOperator(A_ref.shape, identity, rmatvec=identity)
    x, info = cg(A, b, M=precond, x0=x0, rtol=rtol)
    assert info == 0
    assert norm(A_ref @ x - b) <= norm(b) * rtol

    # SciPy's second half attaches psolve to a LinearOperator A; dlinalg does not
    # read that legacy hook (M= is the documented way), and as psolve is the
    # identity here, the assertion is the same.
    A_op = aslinearoperator(A_ref)
    A_op.psolve = identity
    A_op.rpsolve = identity
    x, info = cg(A_op, b, x0=x0, rtol=rtol)
    assert info == 0
    assert norm(A_op @ x - b) <= norm(b) * rtol


def test_x0_equals_Mb(case):
    # test_iterative.py::test_x0_equals_Mb
    A_ref, A, b = case
    x0 = "Mb"
    rtol = 1e-8
    x, info = cg(A, b, x0=x0, rtol=rtol)
    assert_array_equal(x0, "Mb")
    assert info == 0
    assert norm(A_ref @ x - b) <= rtol * norm(b)


@pytest.mark.parametrize("name", ["poisson1d", "poisson2d"])
def test_precond_inverse(name):
    # test_iterative.py::test_precond_inverse (the cg iteration of its solver loop);
    # A is a counting LinearOperator in SciPy, so it is one here (no chunking).
    case_A = CASES[name]
    rtol = 1e-8

    def inverse(b, which=None):
        return np.linalg.solve(case_A.toarray(), b)

    def rinverse(b, which=None):
        return np.linalg.solve(case_A.toarray().T, b)

    matvec_count = [0]

    def matvec(b):
        matvec_count[0] += 1
        return case_A @ b

    def rmatvec(b):
        matvec_count[0] += 1
        return case_A.T @ b

    b = arange(case_A.shape[0], dtype=float)
    x0 = 0 * b
    A = LinearOperator(case_A.shape, matvec, rmatvec=rmatvec)
    precond = LinearOperator(case_A.shape, inverse, rmatvec=rinverse)
    matvec_count = [0]
    x, info = cg(A, b, M=precond, x0=x0, rtol=rtol)
    assert info == 0
    assert norm(case_A @ x - b) <= norm(b) * rtol
    assert matvec_count[0] <= 3


ATOL_LAYOUTS = [("dense", 1), ("sparse", 4)]


@pytest.mark.parametrize("layout", ATOL_LAYOUTS, ids=["dense-1", "sparse-4"])
def test_atol(layout):
    # test_iterative.py::test_atol (rtol and atol from 0 to inf, badly scaled M)
    rng = np.random.default_rng(168441431005389)
    A_ref = rng.uniform(size=[10, 10])
    A_ref = A_ref @ A_ref.T + 10 * np.eye(10)
    b = 1e3 * rng.uniform(size=10)
    b_norm = np.linalg.norm(b)
    tols = np.r_[0, np.logspace(-9, 2, 7), np.inf]
    M0 = rng.standard_normal(size=(10, 10))
    M0 = M0 @ M0.T
    Ms = [None, 1e-6 * M0, 1e6 * M0]
    A = operand(A_ref, layout)
    for M, rtol, atol in itertools.product(Ms, tols, tols):
        if rtol == 0 and atol == 0:
            continue
        x, info = cg(A, b, M=M, rtol=rtol, atol=atol)
        assert info == 0
        err = np.linalg.norm(A_ref @ x - b)
        atol2 = rtol * b_norm
        assert err <= 1.00025 * max(atol, atol2)


def test_atol_inf_matches_scipy():
    # the regression of issue 13 (cg refused rtol/atol = inf; SciPy stops at once
    # with x0), against SciPy's own answers
    rng = np.random.default_rng(168441431005389)
    A = rng.uniform(size=[10, 10])
    A = A @ A.T + 10 * np.eye(10)
    b = 1e3 * rng.uniform(size=10)
    for rtol, atol in [(np.inf, 0.0), (0.0, np.inf), (np.inf, np.inf), (1e-5, np.inf)]:
        x, info = cg(dl.from_array(A, chunks=4), b, rtol=rtol, atol=atol)
        x_ref, info_ref = spla.cg(A, b, rtol=rtol, atol=atol)
        assert info == info_ref == 0
        assert_array_equal(x, x_ref)  # both are the start, x0 = 0
    x0 = np.arange(10.0)
    assert_array_equal(cg(A, b, x0, atol=np.inf)[0], x0)


@pytest.mark.parametrize("layout", [("dense", 1), ("dense", 3)], ids=["dense-1", "dense-3"])
def test_zero_rhs(layout):
    # test_iterative.py::test_zero_rhs
    rng = np.random.default_rng(1684414984100503)
    A_ref = rng.random(size=[10, 10])
    A_ref = A_ref @ A_ref.T + 10 * np.eye(10)
    A = operand(A_ref, layout)
    b = np.zeros(10)
    tols = np.r_[np.logspace(-10, 2, 7)]
    for tol in tols:
        x, info = cg(A, b, rtol=tol)
        assert info == 0
        assert_allclose(x, 0.0, atol=1e-15)

        x, info = cg(A, b, rtol=tol, x0=ones(10))
        assert info == 0
        assert_allclose(x, 0.0, atol=tol)

        x, info = cg(A, b, rtol=tol, atol=0, x0=ones(10))
        if info == 0:
            assert_allclose(x, 0)

        x, info = cg(A, b, rtol=tol, atol=tol)
        assert info == 0
        assert_allclose(x, 0, atol=1e-300)

        x, info = cg(A, b, rtol=tol, atol=0)
        assert info == 0
        assert_allclose(x, 0, atol=1e-300)


@pytest.mark.parametrize("layout", [("dense", 1), ("sparse", 4)], ids=["dense-1", "sparse-4"])
def test_x0_working(layout):
    # test_iterative.py::test_x0_working
    rng = np.random.default_rng(1685363802304750)
    n = 10
    A_ref = rng.random(size=[n, n])
    A_ref = A_ref @ A_ref.T
    b = rng.random(n)
    x0 = rng.random(n)
    A = operand(A_ref, layout)
    kw = {"atol": 0, "rtol": 1e-6}

    x, info = cg(A, b, **kw)
    assert info == 0
    assert norm(A_ref @ x - b) <= 1e-6 * norm(b)

    x, info = cg(A, b, x0=x0, **kw)
    assert info == 0
    assert norm(A_ref @ x - b) <= 1e-5 * norm(b)


def test_x0_solves_problem_exactly():
    # test_iterative.py::test_x0_solves_problem_exactly (2 x 2: one block and two)
    mat = np.eye(2)
    rhs = np.array([-1.0, -1.0])
    for A in (mat, dl.from_array(mat, chunks=2), dl.from_array(mat, chunks=1)):
        sol, info = cg(A, rhs, x0=rhs)
        assert_allclose(sol, rhs)
        assert info == 0


def test_positional_error():
    # test_iterative.py::test_positional_error: rtol is keyword-only
    rng = np.random.default_rng(1685363802304750)
    n = 10
    A = rng.random(size=[n, n])
    A = A @ A.T
    b = rng.random(n)
    x0 = rng.random(n)
    with pytest.raises(TypeError):
        cg(A, b, x0, 1e-5)


@pytest.mark.parametrize("atol", ["legacy", None, -1])
def test_invalid_atol(atol):
    # test_iterative.py::test_invalid_atol (a ParameterError is a ValueError)
    rng = np.random.default_rng(1685363802304750)
    n = 10
    A = rng.random(size=[n, n])
    A = A @ A.T
    b = rng.random(n)
    x0 = rng.random(n)
    with pytest.raises(ValueError, match="atol must be"):
        cg(A, b, x0, atol=atol)


@pytest.mark.parametrize("name", ["rand-cmplx-sym-pd", "rand-cmplx-sym-pd-F"])
def test_complex_cases_are_refused(name):
    # IterativeParams' complex SPD cases: not expressible (dlinalg is real-only);
    # the documented refusal instead, a TypeError before any work.
    rng = np.random.RandomState(1234)
    data = rng.rand(9, 9) + 1j * rng.rand(9, 9)
    data = np.dot(data.conj(), data.T)
    if name.endswith("-F"):
        data = data.astype("F")
    with pytest.raises(DTypeError, match="real numeric dtype"):
        cg(data, arange(9, dtype=float))


# --- regressions of issue 13 against SciPy's answers -------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: f"{lay[0]}-{lay[1]}")
@pytest.mark.parametrize(
    "kw",
    [
        {"rtol": 1e-10},
        {"rtol": 1e-10, "x0": "Mb"},
        {"rtol": 1e-10, "x0": "Mb", "M": "diag"},  # x0 = M @ b with M = diag(A)^-1
        {"rtol": 1e-12, "maxiter": 5},  # info = maxiter
    ],
    ids=["plain", "Mb", "Mb-M", "maxiter"],
)
def test_x_and_info_match_scipy(layout, kw):
    A_ref = CASES["poisson1d"]
    b = arange(40, dtype=float)
    if kw.get("M") == "diag":
        kw = {**kw, "M": scipy.sparse.diags_array(1 / A_ref.diagonal())}
    x_ref, info_ref = spla.cg(A_ref, b, **kw)
    res = cg(operand(A_ref, layout), b, **kw)
    x, info = res
    assert info == info_ref
    assert res.info == info
    assert len(res) == 2
    assert_allclose(x, x_ref, rtol=1e-9, atol=1e-9 * norm(x_ref))


def test_x0_must_be_an_array_none_or_mb():
    with pytest.raises(ParameterError, match="x0 must be an array, None or 'Mb'"):
        cg(np.eye(3), np.ones(3), "mb")


def test_breakdown_info_is_negative():
    # not SPD: p^T A p <= 0 stops with istop 8; SciPy's info < 0 means breakdown
    res = cg(-np.eye(3), np.ones(3))
    assert res.istop == 8
    assert res.info == -1
