"""Convergence histories of the iterative solvers, against SciPy's iterates, and their plot."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import dlinalg as dl
from dlinalg.errors import ParameterError

M, N = 300, 20

# (row chunks, column chunks): the chunking table of every numerical test
CHUNKINGS = [
    pytest.param((M, N), id="one-chunk"),
    pytest.param((37, N), id="many-chunks"),
    pytest.param((70, N), id="uneven-last-chunk"),  # 70, 70, 70, 70, 20
    pytest.param((50, 7), id="column-chunked"),  # a dask input, columns merged on input
]


def _problem(sparse: bool, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((M, N)))
    V, _ = np.linalg.qr(rng.standard_normal((N, N)))
    A = ((U * np.logspace(0, -1, N)) @ V.T).astype(dtype)
    if sparse:
        A[np.abs(A) < 0.02] = 0
        A = sp.csr_array(A)
    b = rng.standard_normal(M)
    return A, b


def _drm(A, chunks):
    rows, cols = chunks
    if cols < N:
        return dl.from_array(da.from_array(A, chunks=(rows, cols), asarray=not sp.issparse(A)))
    return dl.from_array(A, chunks=rows)


def _dense64(A) -> np.ndarray:
    return (A.toarray() if sp.issparse(A) else A).astype(np.float64)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lsqr_history_is_scipys_iteration_by_iteration(scheduler, chunks, sparse, dtype):
    A, b = _problem(sparse, dtype)
    res = dl.lsqr(_drm(A, chunks), b, atol=1e-10, btol=1e-10)
    h = res.history
    np.testing.assert_array_equal(h["itn"], np.arange(1, res.itn + 1))
    assert set(h) == {"itn", "normr", "normar", "anorm", "acond", "xnorm"}
    # the last entry is the result's own report
    assert h["normr"][-1] == res.normr
    assert h["normar"][-1] == res.normar
    assert h["xnorm"][-1] == res.xnorm
    # SciPy stopped after k iterations reports the same estimates (iterates agree early)
    A64 = _dense64(A)
    for k in range(1, 7):
        out = sla.lsqr(A64, b, atol=1e-10, btol=1e-10, iter_lim=k)
        want = [out[3], out[7], out[5], out[6], out[8]]  # r1norm, arnorm, anorm, acond, xnorm
        got = [h[key][k - 1] for key in ("normr", "normar", "anorm", "acond", "xnorm")]
        np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_lsmr_history_is_scipys_iteration_by_iteration(chunks, sparse):
    A, b = _problem(sparse, np.float64, seed=1)
    with dask.config.set(scheduler="sync"):
        res = dl.lsmr(_drm(A, chunks), b, atol=1e-10, btol=1e-10)
    h = res.history
    assert len(h["itn"]) == res.itn
    assert h["normar"][-1] == res.normar
    A64 = _dense64(A)
    for k in range(1, 7):
        out = sla.lsmr(A64, b, atol=1e-10, btol=1e-10, maxiter=k)
        want = [out[3], out[4], out[5], out[6], out[7]]  # normr, normar, norma, conda, normx
        got = [h[key][k - 1] for key in ("normr", "normar", "anorm", "acond", "xnorm")]
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_cg_cgls_and_gd_histories():
    A, b = _problem(False, np.float64, seed=2)
    S = A.T @ A + np.eye(N)  # SPD
    c = A.T @ b
    with dask.config.set(scheduler="sync"):
        cg = dl.cg(dl.from_array(S, chunks=7), c, rtol=1e-12)
        cgls = dl.cgls(dl.from_array(A, chunks=70), b, atol=1e-12, btol=1e-12)
        gd = dl.gd(dl.from_array(A, chunks=70), b, tol=1e-8, maxiter=300)
    # CG's residual recurrence is the true residual of its iterates, to rounding
    xs = []
    sla.cg(S, c, rtol=1e-12, callback=lambda x: xs.append(x.copy()))
    true = [np.linalg.norm(c - S @ x) for x in xs]
    np.testing.assert_allclose(cg.history["normr"][: len(true)], true, rtol=1e-6, atol=1e-13)
    assert cg.history["normr"][-1] == cg.normr
    assert set(cgls.history) == {"itn", "normr", "normar"}
    assert cgls.history["normar"][-1] == cgls.normar
    assert set(gd.history) == {"itn", "objective", "normg", "step"}
    np.testing.assert_allclose(
        gd.history["objective"][-1], np.linalg.norm(A @ gd.x - b) ** 2, rtol=1e-10
    )
    assert len(set(gd.history["step"])) == 1  # a fixed step


def test_a_resumed_solve_keeps_the_iterations_it_ran(tmp_path):
    A, b = _problem(False, np.float64)
    ckpt = tmp_path / "lsqr.npz"
    with dask.config.set(scheduler="sync"):
        first = dl.lsqr(dl.from_array(A, chunks=70), b, maxiter=5, checkpoint=ckpt)
        rest = dl.lsqr(dl.from_array(A, chunks=70), b, checkpoint=ckpt)
        whole = dl.lsqr(dl.from_array(A, chunks=70), b)
    np.testing.assert_array_equal(first.history["itn"], np.arange(1, 6))
    np.testing.assert_array_equal(rest.history["itn"], np.arange(6, rest.itn + 1))
    np.testing.assert_array_equal(
        np.concatenate([first.history["normr"], rest.history["normr"]]), whole.history["normr"]
    )


def test_plot_convergence_draws_the_residuals():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    A, b = _problem(False, np.float64)
    with dask.config.set(scheduler="sync"):
        res = dl.lsmr(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10)
    ax = dl.plot_convergence(res)
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), res.history["itn"])
    np.testing.assert_array_equal(lines[1].get_ydata(), res.history["normar"])
    assert ax.get_yscale() == "log"
    _, own = plt.subplots()
    assert dl.plot_convergence(res, keys=("xnorm",), ax=own) is own
    plt.close("all")
    with pytest.raises(ParameterError, match=r"keys \['objective'\] are not in the history"):
        dl.plot_convergence(res, keys=("objective",))
    with pytest.raises(TypeError, match="must be a SolveResult"):
        dl.plot_convergence(res.history)
