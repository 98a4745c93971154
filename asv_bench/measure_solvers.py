"""Reproduce the issue-4 speed numbers (iterative solvers, linear models) with one command.

    .venv/bin/python asv_bench/measure_solvers.py              # 2,000,000 x 100, ~15 minutes
    .venv/bin/python asv_bench/measure_solvers.py --rows 200000 --repeat 1 --only lsqr

The least-squares matrix is ``benchmarks.lsq_problem``: ROWS x 100 float64,
singular values evenly spaced from 1 to 1e-4 (condition number 1e4),
``b = A x + 1e-3 noise``, in 20 row blocks persisted on a LocalCluster of 2
worker processes x 1 thread. Plain Dask and dask-glm run on the same
persisted blocks on the same cluster; SciPy runs in this process on the same
numbers (numpy arrays), with both cores for its BLAS. Each case is timed
``--repeat`` times, the cases of a section interleaved (after one untimed
warm-up each), and ``benchmarks.settle`` lets the scheduler forget the
previous result first.

Sections: lsqr (and lsmr) to atol = btol = 1e-8 against SciPy; LinearRegression
against ``dask.array.linalg.lstsq``; gd against dask-glm's gradient descent;
svds(S, 20) of a sparse 100,000 x 20,000 matrix with 4,000,000 non-zeros
against ``scipy.sparse.linalg.svds``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmarks as B
import dask.array as da
import numpy as np
import scipy.sparse.linalg as spla
from measure import Machine, row, timed
from measure_decomp import speedup_report

import dlinalg as dl

TOL = 1e-8


def _rel(x, exact) -> float:
    return float(np.linalg.norm(np.ravel(x) - exact) / np.linalg.norm(exact))


def section_cluster(args, exact) -> dict:
    """Everything on the cluster; returns what the in-process references need."""
    from dlinalg.models import LinearRegression

    cluster, client = B.start_cluster(memory_limit="10GiB")
    B._state.update(cluster=cluster, client=client)
    notes = {}
    try:
        A, b, _ = B.lsq_problem(args.rows)
        X, y = A.to_dask(), b.to_dask()

        def on_cluster(fn):
            def run():
                with client.as_current():
                    return fn()

            return run

        def settle():
            B.settle(client)

        if "lsqr" in args.only:
            out = {}

            def ours(name):
                def run():
                    out[name] = getattr(dl, name)(A, b, atol=TOL, btol=TOL, maxiter=2000)

                return run

            t = timed({"lsqr": on_cluster(ours("lsqr")), "lsmr": on_cluster(ours("lsmr"))},
                      args.repeat, settle)  # fmt: skip
            for name in ("lsqr", "lsmr"):
                r = out[name]
                row(f"1. {name} to 1e-8", f"dlinalg dl.{name}(A, b)", t[name], subject=True,
                    note=f"{r.itn} iterations, istop {r.istop}, rel. err {_rel(r.x, exact):.1e}")  # fmt: skip

        if "linreg" in args.only:
            fits = {}

            def ours_fit():
                fits["coef"] = LinearRegression(fit_intercept=False).fit(A, b).coef_

            def dask_fit():
                fits["dask"] = da.linalg.lstsq(X, y)[0].compute()

            t = timed({"ours": on_cluster(ours_fit), "dask": on_cluster(dask_fit)},
                      args.repeat, settle)  # fmt: skip
            s = "2. LinearRegression().fit"
            row(s, "dlinalg dlinalg.models.LinearRegression (auto)", t["ours"], subject=True,
                note=f"rel. err {_rel(fits['coef'], exact):.1e}")  # fmt: skip
            row(s, "dask.array.linalg.lstsq(X, y)", t["dask"], target=">= 10",
                note=f"rel. err {_rel(fits['dask'], exact):.1e}")  # fmt: skip

        if "gd" in args.only:
            from dask_glm.algorithms import gradient_descent
            from dask_glm.families import Normal

            res = {}

            def ours_gd():
                res["ours"] = dl.gd(A, b, tol=1e-6, maxiter=5000)

            def glm_gd():
                res["glm"] = gradient_descent(X, y[:, 0], max_iter=100, tol=1e-6, family=Normal)

            t = timed(
                {"ours": on_cluster(ours_gd), "glm": on_cluster(glm_gd)}, args.repeat, settle
            )
            r = res["ours"]
            s = "3. gradient descent"
            row(s, "dlinalg dl.gd(A, b, tol=1e-6)", t["ours"], subject=True,
                note=f"{r.itn} iterations, istop {r.istop}, rel. err {_rel(r.x, exact):.1e}")  # fmt: skip
            row(s, "dask-glm gradient_descent(Normal), 100 iterations", t["glm"],
                note=f"rel. err {_rel(np.asarray(res['glm']), exact):.1e}")  # fmt: skip

        if "svds" in args.only:
            S = B.sparse_drm(100_000, 20_000, 0.002)
            got = {}

            def ours_svds():
                got["s"] = dl.svds(S, 20, seed=0, return_singular_vectors=False)

            t = timed({"ours": on_cluster(ours_svds)}, args.repeat, settle)
            notes["svds"] = got["s"]
            row("4. svds(S, 20), sparse 100,000 x 20,000, 4M nnz", "dlinalg dl.svds(S, 20)",
                t["ours"], subject=True)  # fmt: skip
    finally:
        B.close_cluster()
    return notes


def section_in_process(args, notes) -> None:
    if "lsqr" in args.only:
        An, bn = B.lsq_numpy(args.rows)
        out = {}

        def run(name):
            def go():
                kw = {"iter_lim" if name == "lsqr" else "maxiter": 2000}
                out[name] = getattr(spla, name)(An, bn, atol=TOL, btol=TOL, **kw)

            return go

        t = timed({"lsqr": run("lsqr"), "lsmr": run("lsmr")}, args.repeat)
        for name in ("lsqr", "lsmr"):
            row(f"1. {name} to 1e-8", f"scipy.sparse.linalg.{name}, one process", t[name],
                target=">= 2" if name == "lsqr" else "",
                note=f"{out[name][2]} iterations, istop {out[name][1]}")  # fmt: skip
    if "svds" in args.only:
        S = B.sparse_scipy(100_000, 20_000, 0.002)
        got = {}

        def go():
            got["s"] = spla.svds(S, 20, random_state=0, return_singular_vectors=False)

        t = timed({"scipy": go}, args.repeat)
        err = np.abs(np.sort(notes["svds"]) / np.sort(got["s"]) - 1).max()
        row("4. svds(S, 20), sparse 100,000 x 20,000, 4M nnz", "scipy.sparse.linalg.svds",
            t["scipy"], note=f"max rel. difference of s: {err:.1e}")  # fmt: skip


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--repeat", type=int, default=3, help="timed runs per case (default 3)")
    p.add_argument("--only", nargs="*", default=["lsqr", "linreg", "gd", "svds"])
    args = p.parse_args(argv)
    machine = Machine()
    started = time.strftime("%Y-%m-%d %H:%M")
    An, bn = B.lsq_numpy(args.rows)
    exact = np.linalg.lstsq(An, bn, rcond=None)[0]
    notes = section_cluster(args, exact)
    section_in_process(args, notes)
    other, wall = machine.foreign_cpu()
    print(
        f"dlinalg measure_solvers.py, {started}: {args.rows:,} x 100 float64 (cond 1e4) in "
        f"20 row blocks; median of {args.repeat} interleaved runs; other processes used "
        f"{other:.0f} CPU-s during the {wall:.0f} s run.\n"
    )
    print(speedup_report("Speed-up = reference median / dlinalg median; targets apply to it."))


if __name__ == "__main__":
    main()
