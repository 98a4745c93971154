"""LSQR and LSMR against SciPy's on the same problems, the one-pass operator, and checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import dlinalg as dl
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.solvers import CheckpointError
from dlinalg.solvers._operator import as_operator

SOLVERS = {"lsqr": (dl.lsqr, spla.lsqr), "lsmr": (dl.lsmr, spla.lsmr)}

# (rows, chunks) of A: each row says what it exercises
CHUNKINGS = [
    (300, 300),  # one chunk
    (300, 50),  # many row chunks
    (300, 70),  # uneven last chunk (70, 70, 70, 70, 20)
]


def problem(m=300, n=30, cond=10.0, seed=0, noise=1e-3):
    """A with singular values from 1 to 1/cond, b = A x + noise (a non-zero residual)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (U * np.logspace(0, -np.log10(cond), n)) @ V.T
    b = A @ rng.standard_normal(n) + noise * rng.standard_normal(m)
    return A, b


def _scipy(name, A, b, **kw):
    out = SOLVERS[name][1](A, b, **kw)
    return {"x": out[0], "istop": out[1], "itn": out[2]}


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_iterates_as_scipy(scheduler, name, m, chunks, sparse, dtype):
    A, b = problem(m)
    A = A.astype(dtype)
    if sparse:
        A[np.abs(A) < 0.02] = 0  # about a third of the entries
        A = sp.csr_array(A)
    kw = {"atol": 1e-8, "btol": 1e-8}
    ref = _scipy(name, A.astype(np.float64), b, **kw)
    res = SOLVERS[name][0](dl.from_array(A, chunks=chunks), b, **kw)
    assert res.istop == ref["istop"]
    assert abs(res.itn - ref["itn"]) <= 2
    # Both stop at atol = btol = 1e-8, each x then about 4e-6 (relative) from the exact
    # solution, so they agree normwise; entry by entry a small one can differ by more
    # (1.7e-5 relative for the float32-rounded A with OpenBLAS 0.3.31).
    err = np.linalg.norm(res.x - ref["x"]) / np.linalg.norm(ref["x"])
    assert err <= 1e-5, f"||x - x_scipy|| / ||x_scipy|| = {err:.2e}"


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("damp", [0.0, 0.3])
@pytest.mark.parametrize("with_x0", [False, True])
def test_damp_and_x0_like_scipy(name, damp, with_x0):
    A, b = problem(400, 40, cond=30, seed=1)
    x0 = np.random.default_rng(5).standard_normal(40) if with_x0 else None
    kw = {"atol": 1e-9, "btol": 1e-9, "damp": damp, "x0": x0}
    ref = SOLVERS[name][1](A, b, **kw, **{"iter_lim" if name == "lsqr" else "maxiter": 500})
    with dask.config.set(scheduler="sync"):
        res = SOLVERS[name][0](dl.from_array(A, chunks=90), b, maxiter=500, **kw)
    assert res.istop == ref[1]
    assert abs(res.itn - ref[2]) <= 2
    np.testing.assert_allclose(res.x, ref[0], rtol=1e-7, atol=1e-10)
    # the damped normal equations hold at the solution (SciPy damps x - x0)
    resid = A.T @ (b - A @ res.x) - damp**2 * (res.x - (0 if x0 is None else x0))
    assert np.linalg.norm(resid) < 1e-6 * np.linalg.norm(A.T @ b)
    # the norms are SciPy's estimates (LSQR: r1norm, arnorm, anorm, acond, xnorm)
    if name == "lsqr":
        got = [res.normr, res.arnorm, res.anorm, res.acond, res.xnorm]
        want = [ref[3], ref[7], ref[5], ref[6], ref[8]]
    else:
        got = [res.normr, res.normar, res.anorm, res.acond, res.xnorm]
        want = [ref[3], ref[4], ref[5], ref[6], ref[7]]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-8)  # ||r|| converges to the truth
    np.testing.assert_allclose(got[4], want[4], rtol=1e-8)  # ||x||
    # ||A|| and cond(A) are running estimates that rounding moves once orthogonality is lost
    np.testing.assert_allclose(got[2], want[2], rtol=0.1)
    assert 0.5 < got[3] / want[3] < 2


@pytest.mark.parametrize("name", SOLVERS)
def test_inputs_operator_dask_and_column_b(scheduler, name):
    """LinearOperator, dask array, a (m, 1) b and a dask b all give the same x.

    On a cluster too: a dask b is persisted as the operator's row pieces.
    """
    A, b = problem(200, 20)
    solve = SOLVERS[name][0]
    kw = {"iter_lim" if name == "lsqr" else "maxiter": 200}
    ref = SOLVERS[name][1](A, b, atol=1e-10, btol=1e-10, **kw)[0]
    kw = {"maxiter": 200}
    outs = [
        solve(spla.aslinearoperator(A), b, atol=1e-10, btol=1e-10, **kw),
        solve(da.from_array(A, chunks=(64, 20)), b[:, None], atol=1e-10, btol=1e-10, **kw),
        solve(
            dl.from_array(A, chunks=64),
            da.from_array(b, chunks=50),
            atol=1e-10,
            btol=1e-10,
            **kw,
        ),
        solve(A, b, atol=1e-10, btol=1e-10, **kw),
    ]
    for res in outs:
        np.testing.assert_allclose(res.x, ref, rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("name", SOLVERS)
def test_stopping_reasons(name):
    A, b = problem(200, 20)
    solve = SOLVERS[name][0]
    with dask.config.set(scheduler="sync"):
        zero = solve(dl.from_array(A, chunks=50), np.zeros(200))
        limited = solve(dl.from_array(A, chunks=50), b, maxiter=3)
        conlim = solve(dl.from_array(problem(200, 20, cond=1e6)[0], chunks=50), b, conlim=10.0)
    assert (zero.istop, zero.itn) == (0, 0)
    np.testing.assert_array_equal(zero.x, 0)
    assert (limited.istop, limited.itn) == (7, 3)
    assert limited.message == "The iteration limit has been reached"
    assert conlim.istop == 3


@pytest.mark.parametrize("name", SOLVERS)
def test_callback_and_bar(name, capsys):
    A, b = problem(200, 20)
    seen = []
    with dask.config.set(scheduler="sync"):
        res = SOLVERS[name][0](
            dl.from_array(A, chunks=50), b, callback=seen.append, show=True, maxiter=5
        )
    assert len(seen) == res.itn == 5
    np.testing.assert_array_equal(seen[-1], res.x)
    assert name in capsys.readouterr().err  # tqdm writes its bar to stderr


def test_fused_pass_reads_a_once_per_product(scheduler):
    """``fused`` returns A v + c w, A^T of it and its squared norm, from one task per block."""
    rng = np.random.default_rng(3)
    An = rng.standard_normal((250, 12)).astype(np.float32)
    v, w = rng.standard_normal(12), rng.standard_normal(250)
    op = as_operator(dl.from_array(An, chunks=60))
    u, atu, normsq = op.fused(v, op.vector(w), -0.5, keep=True)
    want = An.astype(np.float64) @ v - 0.5 * w
    np.testing.assert_allclose(u.gather(), want, rtol=1e-13)
    np.testing.assert_allclose(atu, An.astype(np.float64).T @ want, rtol=1e-12)
    np.testing.assert_allclose(normsq, want @ want, rtol=1e-13)
    np.testing.assert_allclose(op.matvec(v), An.astype(np.float64) @ v, rtol=1e-13)
    np.testing.assert_allclose(op.rmatvec(w), An.astype(np.float64).T @ w, rtol=1e-12)
    gram_v, _ = op.normal(v)
    np.testing.assert_allclose(gram_v, An.astype(np.float64).T @ (An @ v), rtol=1e-12)


# --- checkpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOLVERS)
def test_checkpoint_resume_is_bit_identical(tmp_path, name):
    A, b = problem(300, 30, cond=100)
    solve = SOLVERS[name][0]
    path = tmp_path / "state.npz"
    with dask.config.set(scheduler="sync"):
        full = solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10)
        first = solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10, maxiter=13,
                      checkpoint=path)  # fmt: skip
        assert first.istop == 7
        assert path.exists()
        resumed = solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10, checkpoint=path)
        again = solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10, checkpoint=path)
    assert resumed.itn == full.itn
    np.testing.assert_array_equal(resumed.x, full.x)
    assert again.itn == full.itn  # a finished checkpoint returns at once
    np.testing.assert_array_equal(again.x, full.x)
    with dask.config.set(scheduler="sync"):
        path.unlink()
        solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10, maxiter=13, checkpoint=path)
        shorter = solve(dl.from_array(A, chunks=70), b, atol=1e-10, btol=1e-10, maxiter=5,
                        checkpoint=path)  # fmt: skip
    assert (shorter.istop, shorter.itn) == (7, 13)  # already past the smaller limit


def test_checkpoint_of_another_problem_is_refused(tmp_path):
    A, b = problem(200, 20)
    path = tmp_path / "state.npz"
    with dask.config.set(scheduler="sync"):
        dl.lsqr(dl.from_array(A, chunks=50), b, maxiter=2, checkpoint=path)
        before = path.read_bytes()
        with pytest.raises(CheckpointError, match="another problem"):
            dl.lsqr(dl.from_array(A, chunks=50), b + 1, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.lsmr(dl.from_array(A, chunks=50), b, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.lsqr(dl.from_array(A, chunks=50), b, damp=1.0, checkpoint=path)
    assert path.read_bytes() == before  # nothing lost


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupted_checkpoint_is_refused(tmp_path, damage):
    A, b = problem(200, 20)
    path = tmp_path / "state.npz"
    with dask.config.set(scheduler="sync"):
        dl.lsqr(dl.from_array(A, chunks=50), b, maxiter=2, checkpoint=path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # inside the stored x: the checksum catches it
        data[len(data) // 3] ^= 0xFF
    else:
        data = bytearray(b"not a checkpoint")
    path.write_bytes(bytes(data))
    with dask.config.set(scheduler="sync"), pytest.raises(CheckpointError, match="corrupted"):
        dl.lsqr(dl.from_array(A, chunks=50), b, checkpoint=path)
    assert path.read_bytes() == bytes(data)


_SCRIPT = """
import sys, time, json
import numpy as np, dask, dlinalg as dl
data = np.load(sys.argv[1])
slow = sys.argv[3] == "slow"
def callback(x):
    if slow:
        time.sleep(0.05)
with dask.config.set(scheduler="sync"):
    res = dl.{name}(dl.from_array(data["A"], chunks=70), data["b"], atol=1e-12, btol=1e-12,
                    conlim=0, maxiter=400, checkpoint=sys.argv[2], callback=callback)
np.save(sys.argv[2] + ".x.npy", res.x)
print(json.dumps({{"itn": res.itn, "istop": res.istop}}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLVERS)
def test_process_killed_mid_solve_resumes_to_the_same_answer(tmp_path, name):
    """SIGKILL a real solver process after its first checkpoint; the rerun ends identically."""
    A, b = problem(300, 60, cond=1e3, seed=2)
    np.savez(tmp_path / "problem.npz", A=A, b=b)
    script = tmp_path / "solve.py"
    script.write_text(textwrap.dedent(_SCRIPT.format(name=name)))
    ckpt = str(tmp_path / "state.npz")
    args = [sys.executable, str(script), str(tmp_path / "problem.npz"), ckpt]

    proc = subprocess.Popen([*args, "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "state.npz").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    time.sleep(0.3)  # a few more iterations, then a hard kill mid-solve
    proc.kill()
    proc.wait()
    assert not (tmp_path / "state.npz.x.npy").exists(), "the solve finished before the kill"

    out = subprocess.run([*args, "fast"], capture_output=True, text=True, check=True, timeout=300)
    resumed = json.loads(out.stdout.strip().splitlines()[-1])
    with dask.config.set(scheduler="sync"):
        full = SOLVERS[name][0](dl.from_array(A, chunks=70), b, atol=1e-12, btol=1e-12,
                                conlim=0, maxiter=400)  # fmt: skip
    assert resumed["itn"] == full.itn
    np.testing.assert_allclose(np.load(ckpt + ".x.npy"), full.x, rtol=0, atol=1e-12)


# --- bad input: refused before any graph exists ----------------------------------------------

A_OK = np.random.default_rng(0).standard_normal((6, 3))
BAD = [
    ({"b": np.ones(5)}, ShapeError, "b has 5 entries but A has 6 rows"),
    ({"b": np.ones((6, 2))}, ShapeError, "vector or a 1-column matrix"),
    ({"b": np.array([1, 2, np.nan, 4, 5, 6.0])}, NonFiniteError, "b contains NaN"),
    ({"b": ["a"] * 6}, OperandTypeError, "real numbers"),
    ({"x0": np.ones(4)}, ShapeError, "x0 has 4 entries but A has 3 columns"),
    ({"x0": np.array([0, np.inf, 0])}, NonFiniteError, "x0 contains NaN"),
    ({"damp": -1.0}, ParameterError, "damp must be a finite number >= 0"),
    ({"atol": -1e-3}, ParameterError, "atol must be a finite number >= 0"),
    ({"btol": float("nan")}, ParameterError, "btol must be a finite number >= 0"),
    ({"conlim": -1}, ParameterError, "conlim must be a finite number >= 0"),
    ({"atol": "small"}, ParameterError, "atol must be a real number"),
    ({"maxiter": 0}, ParameterError, "maxiter must be >= 1"),
    ({"maxiter": 2.5}, ParameterError, "maxiter must be an integer"),
    ({"callback": 3}, ParameterError, "callback must be callable"),
    ({"checkpoint": 3}, ParameterError, "checkpoint must be None or a file path"),
    ({"A": "matrix.zarr?"}, OperandTypeError, "A must be a DRM"),
    ({"A": np.ones((6, 3, 1))}, ShapeError, "A must be 2-D"),
]


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input_is_refused_before_any_graph(no_graph_no_compute, name, kwargs, error, match):
    kwargs = {"A": A_OK, "b": np.ones(6), **kwargs}
    A, b = kwargs.pop("A"), kwargs.pop("b")
    with pytest.raises(error, match=match):
        SOLVERS[name][0](A, b, **kwargs)


def test_nan_in_a_lazy_input_is_reported():
    A = np.ones((40, 3))
    A[7, 1] = np.nan
    with dask.config.set(scheduler="sync"), pytest.raises(NonFiniteError, match="A or b"):
        dl.lsqr(da.from_array(A, chunks=10), np.ones(40))


def test_checkpoint_directory_is_refused(tmp_path):
    with dask.config.set(scheduler="sync"), pytest.raises(ParameterError, match="directory"):
        dl.lsqr(A_OK, np.ones(6), checkpoint=tmp_path)


def test_result_repr_and_fields():
    with dask.config.set(scheduler="sync"):
        res = dl.lsqr(A_OK, np.ones(6))
    assert res.arnorm == res.normar
    assert "istop=" in repr(res)
    assert json.dumps(res.message)


def test_sparse_one_column_drm_b():
    A, b = problem(120, 10)
    bs = dl.from_array(sp.csr_array(b[:, None]), chunks=40)
    with dask.config.set(scheduler="sync"):
        res = dl.lsqr(dl.from_array(A, chunks=40), bs, atol=1e-12, btol=1e-12)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-9)


def test_partial_sums_combined_in_client_or_on_cluster_give_the_same_bits(client, monkeypatch):
    """Small partial sums are summed in the client, large ones by a task: same tree, same bits."""
    from dlinalg.solvers import _operator

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 12))
    y = rng.standard_normal(300)
    with client.as_current():
        A = dl.from_array(X, chunks=40).persist()
        here = dl.lsqr(A, y, atol=0, btol=0, conlim=0, maxiter=15)
        monkeypatch.setattr(_operator, "CLIENT_COMBINE_BYTES", 0)
        there = dl.lsqr(A, y, atol=0, btol=0, conlim=0, maxiter=15)
    np.testing.assert_array_equal(here.x, there.x)
    np.testing.assert_allclose(here.x, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-8)


def test_groups_bounded_by_worker_memory_give_the_same_bits(client):
    """A matrix larger than a worker's memory is read group by group (each group at most an
    eighth of the memory limit, ``dlinalg.group-bytes`` here), with the bits of one
    group per worker and of the synchronous scheduler."""
    from dlinalg.solvers._operator import RowOperator

    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 12))
    y = rng.standard_normal(300)
    with dask.config.set(scheduler="synchronous"):
        sync = dl.lsqr(dl.from_array(X, chunks=40), y, atol=0, btol=0, conlim=0, maxiter=15)
    with client.as_current():
        A = dl.from_array(X, chunks=40).persist()
        whole = dl.lsqr(A, y, atol=0, btol=0, conlim=0, maxiter=15)
        assert len(RowOperator(A).groups) <= 2  # 2 GiB workers: one group each
        with dask.config.set({"dlinalg.group-bytes": 2 * 40 * 12 * 8}):
            groups = RowOperator(A).groups
            split = dl.lsqr(A, y, atol=0, btol=0, conlim=0, maxiter=15)
    assert len(groups) >= 4
    assert all(len(g) <= 2 for g in groups)
    assert sorted(i for g in groups for i in g) == list(range(8))
    np.testing.assert_array_equal(split.x, whole.x)
    np.testing.assert_array_equal(split.x, sync.x)
