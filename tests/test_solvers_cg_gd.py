"""CG, CGLS and gradient descent against SciPy/NumPy on the same problems, and checkpoints."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import dlinalg as dl
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.solvers import CheckpointError
from dlinalg.solvers._operator import RowOperator, as_operator
from dlinalg.solvers._precondition import scaling

# (rows, chunks) of A: each row says what it exercises
CHUNKINGS = [
    (120, 120),  # one chunk
    (120, 30),  # many row chunks
    (120, 50),  # uneven last chunk (50, 50, 20)
]


def spd(n=120, cond=20.0, seed=0, sparse=False):
    """Symmetric positive definite A (eigenvalues 1 .. 1/cond, or a sparse diagonally
    dominant one) and b."""
    rng = np.random.default_rng(seed)
    if sparse:
        S = sp.random_array((n, n), density=0.05, rng=rng)
        A = (S + S.T + sp.eye_array(n) * (1 + abs(S + S.T).sum(axis=1).max())).toarray()
    else:
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * np.logspace(0, -np.log10(cond), n)) @ Q.T
        A = (A + A.T) / 2
    return A, rng.standard_normal(n)


def lsq(m=120, n=12, cond=10.0, seed=0, noise=1e-2, columns=False):
    """A with singular values 1 .. 1/cond (or Gaussian columns scaled 1 .. 1/cond), b = A x + e."""
    rng = np.random.default_rng(seed)
    if columns:
        A = rng.standard_normal((m, n)) * np.logspace(0, -np.log10(cond), n)
    else:
        U, _ = np.linalg.qr(rng.standard_normal((m, n)))
        V, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (U * np.logspace(0, -np.log10(cond), n)) @ V.T
    return A, A @ rng.standard_normal(n) + noise * rng.standard_normal(m)


def _as(A, dtype, sparse):
    A = A.astype(dtype)
    if sparse:
        A[np.abs(A) < 0.02] = 0
        return sp.csr_array(A)
    return A


def scipy_cg(A, b, **kw):
    its = []
    x, info = spla.cg(A, b, callback=lambda xk: its.append(1), **kw)
    return x, info, len(its)


def sync():
    return dask.config.set(scheduler="sync")


# --- the truth, over the chunking table -----------------------------------------------------


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cg_same_iterates_as_scipy(scheduler, m, chunks, sparse, dtype):
    A, b = spd(m, sparse=sparse)
    A = A.astype(dtype)  # symmetric still: the same rounding of A[i, j] and A[j, i]
    A = sp.csr_array(A) if sparse else A
    x_ref, info, its = scipy_cg(A.astype(np.float64), b, rtol=1e-8)
    res = dl.cg(dl.from_array(A, chunks=chunks), b, rtol=1e-8)
    assert (info, res.istop) == (0, 1)
    assert abs(res.itn - its) <= 2
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-6, atol=1e-9)
    assert res.normr <= 1e-8 * np.linalg.norm(b)


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cgls_matches_lsqr_and_lstsq(scheduler, m, chunks, sparse, dtype):
    A, b = lsq(m)
    A = _as(A, dtype, sparse)
    A64 = A.astype(np.float64)
    kw = {"atol": 1e-10, "btol": 1e-10}
    ref = spla.lsqr(A64, b, **kw)[0]
    res = dl.cgls(dl.from_array(A, chunks=chunks), b, **kw)
    assert res.istop in (1, 2)
    np.testing.assert_allclose(res.x, ref, rtol=1e-7, atol=1e-9)  # both stop at 1e-10
    exact = np.linalg.lstsq(A64.toarray() if sparse else A64, b, rcond=None)[0]
    np.testing.assert_allclose(res.x, exact, rtol=1e-7, atol=1e-9)
    r = b - A64 @ res.x  # the reported norms are the true ones
    np.testing.assert_allclose(res.normr, np.linalg.norm(r), rtol=1e-10)
    np.testing.assert_allclose(res.normar, np.linalg.norm(A64.T @ r), rtol=1e-4, atol=1e-14)


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gd_reaches_lstsq(scheduler, m, chunks, sparse, dtype):
    A, b = lsq(m, cond=100.0, columns=True)  # Jacobi scaling undoes column scales
    A = _as(A, dtype, sparse)
    A64 = A.toarray().astype(np.float64) if sparse else A.astype(np.float64)
    exact = np.linalg.lstsq(A64, b, rcond=None)[0]
    res = dl.gd(dl.from_array(A, chunks=chunks), b, tol=1e-10)
    assert res.istop == 1
    assert res.itn < 100
    np.testing.assert_allclose(res.x, exact, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.normr, np.linalg.norm(b - A64 @ res.x), rtol=1e-10)


# --- CG: options and stopping reasons -------------------------------------------------------


@pytest.mark.parametrize(
    "make_M",
    [
        lambda A: np.diag(1 / np.diag(A)),  # numpy
        lambda A: sp.diags_array(1 / np.diag(A)),  # scipy.sparse
        lambda A: spla.aslinearoperator(np.diag(1 / np.diag(A))),  # anything with matvec
    ],
    ids=["numpy", "sparse", "operator"],
)
def test_cg_preconditioner_and_x0_like_scipy(make_M):
    A, b = spd(80, cond=50.0, seed=3)
    A = A + np.diag(np.linspace(0, 3, 80))  # a diagonal for Jacobi to fix
    x0 = np.random.default_rng(1).standard_normal(80)
    M = make_M(A)
    x_ref, _, its = scipy_cg(A, b, rtol=1e-9, M=M, x0=x0)
    with sync():
        res = dl.cg(dl.from_array(A, chunks=25), b, rtol=1e-9, M=M, x0=x0)
    assert res.istop == 1
    assert abs(res.itn - its) <= 2
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-7, atol=1e-10)


def test_cg_inputs_operator_dask_numpy_and_column_b():
    A, b = spd(60)
    x = np.linalg.solve(A, b)
    with sync():
        outs = [
            dl.cg(spla.aslinearoperator(A), b, rtol=1e-11),
            dl.cg(da.from_array(A, chunks=(16, 60)), b[:, None], rtol=1e-11),
            dl.cg(dl.from_array(A, chunks=16), da.from_array(b, chunks=20), rtol=1e-11),
            dl.cg(A, b, rtol=1e-11),
            dl.cg(sp.csr_array(A), b, atol=1e-11 * np.linalg.norm(b), rtol=0.0),
        ]
    for res in outs:
        np.testing.assert_allclose(res.x, x, rtol=1e-9, atol=1e-12)


def test_cg_stopping_reasons():
    A, b = spd(40)
    indefinite = np.diag(np.r_[np.ones(20), -np.ones(20)])
    with sync():
        zero = dl.cg(A, np.zeros(40), x0=np.ones(40))
        limited = dl.cg(A, b, maxiter=3)
        at_x0 = dl.cg(A, b, x0=np.linalg.solve(A, b))
        not_pd = dl.cg(indefinite, np.ones(40))
        bad_m = dl.cg(A, b, M=-np.eye(40))
    assert (zero.istop, zero.itn) == (0, 0)
    np.testing.assert_array_equal(zero.x, 0)  # SciPy returns b = 0
    assert (limited.istop, limited.itn) == (7, 3)
    assert limited.message == "The iteration limit has been reached"
    assert (at_x0.istop, at_x0.itn) == (1, 0)
    assert (not_pd.istop, not_pd.message) == (8, "A is not positive definite (p^T A p <= 0)")
    assert bad_m.istop == 9


# --- CGLS and gd: options and stopping reasons ----------------------------------------------


@pytest.mark.parametrize("name", ["cgls", "gd"])
def test_least_squares_inputs_operator_dask_numpy_and_column_b(name):
    A, b = lsq(150, 10, cond=3.0)
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    kw = {"atol": 1e-12, "btol": 1e-12} if name == "cgls" else {"tol": 1e-11}
    solve = getattr(dl, name)
    with sync():
        outs = [
            solve(spla.aslinearoperator(A), b, **kw),
            solve(da.from_array(A, chunks=(40, 10)), b[:, None], **kw),
            solve(dl.from_array(A, chunks=40), da.from_array(b, chunks=50), **kw),
            solve(A, b, **kw),
            solve(sp.csr_array(A), dl.from_array(b[:, None], chunks=40), **kw),
        ]
    for res in outs:
        np.testing.assert_allclose(res.x, exact, rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("damp", [0.0, 0.5])
def test_cgls_damp_and_x0(damp):
    """x0 is only a starting point: the damped normal equations hold (SciPy's lsqr damps x - x0)."""
    A, b = lsq(150, 15, cond=30, seed=2)
    x0 = np.random.default_rng(5).standard_normal(15)
    ridge = np.linalg.solve(A.T @ A + damp**2 * np.eye(15), A.T @ b)
    with sync():
        for start in (None, x0):
            res = dl.cgls(dl.from_array(A, chunks=40), b, damp=damp, x0=start, atol=1e-12,
                          btol=1e-12)  # fmt: skip
            assert res.istop in (1, 2)
            np.testing.assert_allclose(res.x, ridge, rtol=1e-9, atol=1e-12)
    ref = spla.lsqr(A, b, damp=damp)  # ||[A; damp I]|| and its condition number, as LSQR's
    s = np.linalg.svd(np.vstack([A, damp * np.eye(15)]), compute_uv=False)
    np.testing.assert_allclose(res.anorm, s[0], rtol=1e-6)  # a 2-norm: below LSQR's estimate
    assert res.anorm <= ref[5]
    np.testing.assert_allclose(res.acond, s[0] / s[-1], rtol=1e-3)


def test_cgls_stopping_reasons():
    A, b = lsq(100, 10)
    with sync():
        zero = dl.cgls(A, np.zeros(100))
        limited = dl.cgls(A, b, maxiter=3)
        consistent = dl.cgls(A, A @ np.ones(10), atol=1e-8, btol=1e-8)
    assert (zero.istop, zero.itn) == (0, 0)
    np.testing.assert_array_equal(zero.x, 0)
    assert (limited.istop, limited.itn) == (7, 3)
    assert consistent.istop == 1  # A x = b solved
    np.testing.assert_allclose(consistent.x, 1, rtol=1e-6)


@pytest.mark.parametrize("momentum", ["nesterov", "none"])
@pytest.mark.parametrize("precondition", ["diag", "sample", "none"])
def test_gd_options_reach_the_same_solution(momentum, precondition):
    A, b = lsq(200, 8, cond=3.0, seed=4)
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    with sync():
        res = dl.gd(dl.from_array(A, chunks=64), b, tol=1e-9, momentum=momentum,
                    precondition=precondition, x0=np.ones(8))  # fmt: skip
    assert res.istop == 1
    np.testing.assert_allclose(res.x, exact, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.normar, np.linalg.norm(A.T @ (b - A @ res.x)), rtol=1e-6)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_gd_sample_preconditioner_undoes_ill_conditioning(scheduler, sparse):
    """Random singular vectors (cond 1e3): Jacobi cannot help, the row sample's metric can."""
    if sparse:  # Gaussian entries on a random pattern, columns scaled 1 .. 1e-3
        S = sp.random_array((1500, 10), density=0.3, rng=np.random.default_rng(6),
                            data_sampler=np.random.default_rng(7).standard_normal)  # fmt: skip
        A = sp.csr_array(S @ sp.diags_array(np.logspace(0, -3, 10)))
        b = A @ np.ones(10) + 1e-2 * np.random.default_rng(8).standard_normal(1500)
        dense = A.toarray()
    else:
        A, b = lsq(1500, 10, cond=1e3, seed=6)
        dense = A
    exact = np.linalg.lstsq(dense, b, rcond=None)[0]
    res = dl.gd(dl.from_array(A, chunks=400), b, tol=1e-11, precondition="sample")
    assert res.istop == 1
    assert res.itn < 60
    np.testing.assert_allclose(res.x, exact, rtol=1e-6, atol=1e-9)


def test_gd_sample_falls_back_to_diag():
    """A column with no entry in the sampled rows (every 10th of each block): Jacobi only."""
    rng = np.random.default_rng(9)
    A = rng.standard_normal((1000, 10))
    with sync():
        assert scaling(as_operator(dl.from_array(A, chunks=300)), "sample").R.shape == (10, 10)
        A[:, 9] = 0
        A[5, 9] = 1.0  # rows 0, 10, ..., 300, 310, ... are sampled
        assert scaling(as_operator(dl.from_array(A, chunks=300)), "sample").R.size == 0
        b = rng.standard_normal(1000)
        res = dl.gd(dl.from_array(A, chunks=300), b, tol=1e-11, precondition="sample")
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-7)


def test_gd_lr_and_stopping_reasons():
    A, b = lsq(100, 10, cond=3.0)
    L = 2 * np.linalg.norm(A, 2) ** 2
    with sync():
        zero = dl.gd(A, np.zeros(100))
        limited = dl.gd(A, b, maxiter=4)
        small = dl.gd(A, b, lr=0.5 / L, precondition="none", momentum="none", tol=1e-8)
        diverged = dl.gd(A, b, lr=3.0 / L, precondition="none", momentum="none")
        operator = dl.gd(spla.aslinearoperator(A), b, tol=1e-9)  # column norms from products
        sampled = dl.gd(spla.aslinearoperator(A), b, tol=1e-9, precondition="sample")
    assert (zero.istop, zero.itn) == (0, 0)
    assert (limited.istop, limited.itn) == (7, 4)
    assert small.istop == 1
    assert diverged.istop == 3
    assert diverged.message == "The iterates diverge: lr is too large"
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(operator.x, exact, rtol=1e-7)
    np.testing.assert_allclose(sampled.x, exact, rtol=1e-7)
    np.testing.assert_allclose(small.x, exact, rtol=1e-6)


# --- one pass per iteration -----------------------------------------------------------------


def test_one_pass_per_iteration(monkeypatch):
    """Count the reads of A: CG one matvec, CGLS and gd one fused product per iteration."""
    calls = {"fused": 0, "matvec": 0}
    for name in calls:
        original = getattr(RowOperator, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(RowOperator, name, counted)
    A, b = spd(60)
    G, y = lsq(300, 100, cond=1e3)  # far from converged after 60 iterations
    with sync():
        res = dl.cg(dl.from_array(A, chunks=20), b, rtol=1e-10)
        assert calls == {"fused": 0, "matvec": res.itn}
        calls["matvec"] = 0
        res = dl.cgls(dl.from_array(G, chunks=50), y, maxiter=60, atol=0, btol=0)
        # the first pass, 60 iterations, the refresh at 50 and the true norms at the end
        assert (res.itn, calls) == (60, {"fused": 1 + 60 + 1 + 1, "matvec": 0})
        calls["fused"] = 0
        res = dl.gd(dl.from_array(G, chunks=50), y, lr=0.1, maxiter=30, precondition="none")
        assert (res.itn, calls) == (30, {"fused": 1 + 30, "matvec": 0})


# --- progress and checkpoints ---------------------------------------------------------------

SOLVE = {
    "cg": lambda A, b, **kw: dl.cg(A, b, rtol=1e-12, **kw),
    "cgls": lambda A, b, **kw: dl.cgls(A, b, atol=1e-12, btol=1e-12, **kw),
    "gd": lambda A, b, **kw: dl.gd(
        A, b, tol=1e-12, momentum="nesterov", precondition="diag", **kw
    ),
}


def _problem(name):
    if name == "cg":
        return spd(80, cond=1e3, seed=7)
    return lsq(200, 40, cond=1e2, seed=7)


@pytest.mark.parametrize("name", SOLVE)
def test_callback_and_bar(name, capsys):
    A, b = _problem(name)
    seen = []
    with sync():
        res = SOLVE[name](dl.from_array(A, chunks=50), b, callback=seen.append, show=True,
                          maxiter=5)  # fmt: skip
    assert len(seen) == res.itn == 5
    np.testing.assert_array_equal(seen[-1], res.x)
    assert name in capsys.readouterr().err  # tqdm writes its bar to stderr


@pytest.mark.parametrize("name", SOLVE)
@pytest.mark.parametrize("first", [13, 50])  # mid-way; CGLS's refresh of A^T r at 50
def test_checkpoint_resume_is_bit_identical(tmp_path, name, first):
    A, b = _problem(name)
    path = tmp_path / "state.npz"
    with sync():
        full = SOLVE[name](dl.from_array(A, chunks=70), b, maxiter=300)
        part = SOLVE[name](dl.from_array(A, chunks=70), b, maxiter=first, checkpoint=path)
        resumed = SOLVE[name](dl.from_array(A, chunks=70), b, maxiter=300, checkpoint=path)
        again = SOLVE[name](dl.from_array(A, chunks=70), b, maxiter=300, checkpoint=path)
    assert full.itn > first
    assert (part.istop, part.itn) == (7, first)
    assert (resumed.itn, resumed.istop) == (full.itn, full.istop)
    np.testing.assert_array_equal(resumed.x, full.x)
    assert (again.itn, again.normr) == (full.itn, full.normr)  # a finished run returns at once
    np.testing.assert_array_equal(again.x, full.x)


def test_checkpoint_resume_with_the_sample_metric(tmp_path):
    A, b = lsq(1000, 30, cond=1e3, seed=8)
    path = tmp_path / "state.npz"
    kw = {"tol": 1e-13, "precondition": "sample"}
    with sync():
        full = dl.gd(dl.from_array(A, chunks=300), b, **kw)
        dl.gd(dl.from_array(A, chunks=300), b, maxiter=7, checkpoint=path, **kw)
        resumed = dl.gd(dl.from_array(A, chunks=300), b, checkpoint=path, **kw)
    assert full.itn > 7
    assert (resumed.itn, resumed.istop) == (full.itn, full.istop)
    np.testing.assert_array_equal(resumed.x, full.x)


def test_checkpoint_resume_on_the_cluster(tmp_path, client):
    A, b = _problem("cgls")
    path = tmp_path / "state.npz"
    with client.as_current():
        full = dl.cgls(dl.from_array(A, chunks=70), b, atol=1e-12, btol=1e-12)
        dl.cgls(dl.from_array(A, chunks=70), b, atol=1e-12, btol=1e-12, maxiter=20,
                checkpoint=path)  # fmt: skip
        resumed = dl.cgls(dl.from_array(A, chunks=70), b, atol=1e-12, btol=1e-12,
                          checkpoint=path)  # fmt: skip
    assert resumed.itn == full.itn
    np.testing.assert_array_equal(resumed.x, full.x)


def test_checkpoint_of_another_problem_is_refused(tmp_path):
    A, b = spd(30)
    path = tmp_path / "state.npz"
    with sync():
        dl.cg(A, b, maxiter=2, checkpoint=path)
        before = path.read_bytes()
        with pytest.raises(CheckpointError, match="another problem"):
            dl.cg(A, b + 1, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.cg(A, b, M=np.eye(30), checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.cgls(A, b, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.gd(A, b, checkpoint=path)
        dl.gd(A, b, maxiter=2, checkpoint=tmp_path / "gd.npz")
        with pytest.raises(CheckpointError, match="another problem"):
            dl.gd(A, b, momentum="none", checkpoint=tmp_path / "gd.npz")
        with pytest.raises(CheckpointError, match="another problem"):
            dl.gd(A, b, precondition="diag", checkpoint=tmp_path / "gd.npz")
    assert path.read_bytes() == before  # nothing lost


# --- bad input: refused before any graph exists ----------------------------------------------

A_OK = np.random.default_rng(0).standard_normal((6, 3))
SQ_OK = np.eye(6) * 2.0
WIDE = spla.LinearOperator((6, 5000), matvec=np.sum, dtype=np.float64)  # too wide to sample
COMMON_BAD = [
    ({"b": np.ones(5)}, ShapeError, "b has 5 entries but A has 6 rows"),
    ({"b": np.ones((6, 2))}, ShapeError, "vector or a 1-column matrix"),
    ({"b": np.array([1, 2, np.nan, 4, 5, 6.0])}, NonFiniteError, "b contains NaN"),
    ({"b": ["a"] * 6}, OperandTypeError, "real numbers"),
    ({"x0": np.array([0, np.inf, 0, 0, 0, 0])}, NonFiniteError, "x0 contains NaN"),
    ({"maxiter": 0}, ParameterError, "maxiter must be >= 1"),
    ({"maxiter": 2.5}, ParameterError, "maxiter must be an integer"),
    ({"callback": 3}, ParameterError, "callback must be callable"),
    ({"checkpoint": 3}, ParameterError, "checkpoint must be None or a file path"),
    ({"A": "matrix.zarr?"}, OperandTypeError, "A must be a DRM"),
    ({"A": np.ones((6, 6, 1))}, ShapeError, "A must be 2-D"),
]
BAD = {
    "cg": [
        ({"A": A_OK}, ShapeError, r"A must be square, got shape \(6, 3\)"),
        ({"x0": np.ones(4)}, ShapeError, "x0 has 4 entries but A has 6 columns"),
        ({"rtol": -1e-3}, ParameterError, "rtol must be a finite number >= 0"),
        ({"atol": float("nan")}, ParameterError, "atol must be a finite number >= 0"),
        ({"M": np.eye(5)}, ShapeError, r"M must have A's shape \(6, 6\)"),
        ({"M": "jacobi"}, OperandTypeError, "M must be a numpy array"),
        ({"M": np.full((6, 6), np.nan)}, NonFiniteError, "M contains NaN"),
        ({"M": da.eye(6)}, OperandTypeError, "M is applied on the client"),
    ],
    "cgls": [
        ({"damp": -1.0}, ParameterError, "damp must be a finite number >= 0"),
        ({"atol": -1e-3}, ParameterError, "atol must be a finite number >= 0"),
        ({"btol": "small"}, ParameterError, "btol must be a real number"),
    ],
    "gd": [
        ({"lr": -0.1}, ParameterError, "lr must be None or a finite number > 0"),
        ({"lr": 0}, ParameterError, "lr must be None or a finite number > 0"),
        ({"lr": np.inf}, ParameterError, "lr must be None or a finite number > 0"),
        ({"tol": -1.0}, ParameterError, "tol must be a finite number >= 0"),
        ({"momentum": "heavy-ball"}, ParameterError, "momentum must be one of"),
        ({"precondition": None}, ParameterError, "precondition must be one of"),
        ({"precondition": "qr"}, ParameterError, "precondition must be one of"),
        ({"A": WIDE, "x0": None, "precondition": "sample"}, ParameterError, "n=5000 columns"),
    ],
}
CASES = [(name, *case) for name in BAD for case in COMMON_BAD + BAD[name]]


@pytest.mark.parametrize(("name", "kwargs", "error", "match"), CASES)
def test_bad_input_is_refused_before_any_graph(no_graph_no_compute, name, kwargs, error, match):
    kwargs = {"A": SQ_OK, "b": np.ones(6), **kwargs}
    A, b = kwargs.pop("A"), kwargs.pop("b")
    with pytest.raises(error, match=match):
        getattr(dl, name)(A, b, **kwargs)


@pytest.mark.parametrize("name", ["cg", "cgls", "gd"])
def test_nan_in_a_lazy_input_is_reported(name):
    A = np.eye(40) * 2.0
    A[7, 1] = np.nan
    with sync(), pytest.raises(NonFiniteError, match="A"):
        getattr(dl, name)(da.from_array(A, chunks=10), np.ones(40), x0=np.ones(40))
