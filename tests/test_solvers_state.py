"""The solvers' dataclass states and the checkpoint's flat dict (issue 14).

The iteration state of each solver is a :class:`~dlinalg.solvers._driver.SolverState`
dataclass; the checkpoint file keeps the flat dict it always stored. These tests
pin the boundary: the dict round-trips, it has the layout the checkpoint checks,
files written before the dataclasses (``tests/data/checkpoints_pre_state``, by
the dict-based solvers, with ``fingerprint=``) still resume, and a resumed solve
gives bit for bit the uninterrupted one. (Bit for bit from those files only where
the BLAS rounds the test problem as the machine that wrote them did: an AMD EPYC
builds ``M`` with other last bits than the machine of 2026-12-06.)
"""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import dask
import numpy as np
import pytest

import dlinalg as dl
from dlinalg.solvers._driver import SolverState
from dlinalg.solvers.cg import CgState
from dlinalg.solvers.cgls import CglsState
from dlinalg.solvers.checkpoint import STATES, check_file
from dlinalg.solvers.gd import GdState
from dlinalg.solvers.lsmr import LsmrState
from dlinalg.solvers.lsqr import LsqrState

DATA = Path(__file__).parent / "data" / "checkpoints_pre_state"
STATE_OF = {"lsqr": LsqrState, "lsmr": LsmrState, "cg": CgState, "cgls": CglsState, "gd": GdState}
#: What LSQR and LSMR save beside their state: the distributed ``u`` (Bidiagonalization.state).
OUTSIDE = {"lsqr": {"u_raw", "u_scale"}, "lsmr": {"u_raw", "u_scale"}}


def problem(n=30):
    """The problem the files in DATA were written for (symmetric, so cg runs too)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    M = (Q * np.logspace(0, -2, n)) @ Q.T
    return (M + M.T) / 2, rng.standard_normal(n), np.linspace(-1, 1, n)


def solvers(M, b, x0):
    return {
        "lsqr": lambda **kw: dl.lsqr(
            M, b, damp=0.01, x0=x0, atol=1e-12, btol=1e-12, calc_var=True, **kw
        ),
        "lsmr": lambda **kw: dl.lsmr(M, b, damp=0.01, x0=x0, atol=1e-12, btol=1e-12, **kw),
        "cg": lambda **kw: dl.cg(M, b, x0=x0, rtol=1e-12, **kw),
        "cgls": lambda **kw: dl.cgls(M, b, damp=0.01, x0=x0, atol=1e-12, btol=1e-12, **kw),
        "gd": lambda **kw: dl.gd(M, b, tol=1e-12, precondition="diag", **kw),
    }


def sync():
    return dask.config.set(scheduler="sync")


def assert_same_result(got, want):
    assert (got.itn, got.istop) == (want.itn, want.istop)
    for name in ("x", "normr", "normar", "anorm", "acond", "xnorm", "var"):
        np.testing.assert_array_equal(getattr(got, name, None), getattr(want, name, None))


def sample(cls: type[SolverState], n: int = 4) -> SolverState:
    """A state whose every field holds a distinct value of its type."""
    values = {}
    for i, f in enumerate(fields(cls)):
        if f.name in ("itn", "istop", "true_at"):
            values[f.name] = i
        elif "ndarray" in str(f.type):
            values[f.name] = np.arange(n, dtype=np.float64) + i
        else:
            values[f.name] = i + 0.5
    return cls(**values)


@pytest.mark.parametrize("name", STATE_OF)
def test_the_dict_round_trips_and_has_the_checkpoint_layout(name):
    st = sample(STATE_OF[name])
    saved = st.to_dict()
    layout = STATES[name]
    outside = OUTSIDE.get(name, set())
    scalars = {"itn", "istop", *layout.integers, *layout.scalars} - outside
    arrays = set(layout.arrays) | set(layout.optional)
    assert set(saved) == (scalars | arrays) - outside
    back = STATE_OF[name].from_dict({**saved, **dict.fromkeys(outside, 0.0)})
    assert back.to_dict().keys() == saved.keys()
    for key, value in saved.items():
        np.testing.assert_array_equal(getattr(back, key), value)
        assert type(getattr(back, key)) is type(value)


def test_an_absent_optional_array_is_not_saved_and_stays_absent():
    st = sample(LsqrState)
    st.var = None
    assert "var" not in st.to_dict()
    assert LsqrState.from_dict(st.to_dict()).var is None


@pytest.mark.parametrize("name", STATE_OF)
def test_a_checkpoint_written_before_the_dataclasses_resumes_bit_for_bit(tmp_path, name):
    """The files in DATA were written by the dict-based solvers (see the module notes)."""
    M, b, x0 = problem()
    solve = solvers(M, b, x0)[name]
    path = tmp_path / "old.npz"
    shutil.copyfile(DATA / f"{name}_v0.npz", path)
    header, _ = check_file(path, name)
    assert header["scalars"]["itn"] == 5
    with sync():
        full = solve(maxiter=60)
        resumed = solve(maxiter=60, checkpoint=path, fingerprint="dlinalg-test-state")
        fresh = tmp_path / "fresh.npz"
        solve(maxiter=5, checkpoint=fresh, fingerprint="dlinalg-test-state")
    assert full.itn > 5
    _, old_arrays = check_file(DATA / f"{name}_v0.npz", name)
    _, new_arrays = check_file(fresh, name)
    same_bits = old_arrays.keys() == new_arrays.keys() and all(
        np.array_equal(old_arrays[k], new_arrays[k]) for k in old_arrays
    )
    if same_bits:  # this machine's BLAS rounds the problem as the one that wrote the files
        assert_same_result(resumed, full)
    else:  # another CPU's BLAS kernels built M (qr, matmul) with other last bits
        assert abs(resumed.itn - full.itn) <= 1
        np.testing.assert_allclose(resumed.x, full.x, rtol=1e-4, atol=1e-6)  # cond(M) 100
        np.testing.assert_allclose(
            resumed.normr, full.normr, rtol=1e-6, atol=1e-9 * np.linalg.norm(b)
        )


@pytest.mark.parametrize("name", STATE_OF)
def test_an_interrupted_solve_resumes_to_the_uninterrupted_result(tmp_path, name):
    M, b, x0 = problem()
    A = dl.from_array(M, chunks=8)
    solve = solvers(A, b, x0)[name]
    path = tmp_path / "state.npz"
    with sync():
        full = solve(maxiter=60)
        first = solve(maxiter=7, checkpoint=path)
        resumed = solve(maxiter=60, checkpoint=path)
        again = solve(maxiter=60, checkpoint=path)  # the final state: returned at once
    assert first.itn == 7 < full.itn
    assert_same_result(resumed, full)
    assert_same_result(again, full)
