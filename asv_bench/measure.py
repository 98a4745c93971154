"""Reproduce the issue-2 speed numbers with one command and print a table.

    .venv/bin/python asv_bench/measure.py            # 2,000,000 x 100, ~5 minutes
    DLINALG_BENCH_BLOCKS=40 .venv/bin/python asv_bench/measure.py   # other blocking
    .venv/bin/python asv_bench/measure.py --rows 200000 --ooc-rows 600000 --repeat 3

Sections (each case is timed ``--repeat`` times, cases of one section
interleaved round-robin so a disturbance hits all of them alike; medians):

1. Gram of ROWS x COLS float64 persisted on a LocalCluster (2 workers x 1
   thread): dlinalg ``(A.T @ A).compute()``, plain Dask ``(X.T @ X).compute()``
   on the same blocks, then -- after the cluster is closed -- numpy in this
   process: ``X.T @ X`` and the blocked Gram ``sum_i X_i.T @ X_i`` over the same
   blocks, with the default BLAS threads, 1 BLAS thread, and 2 Python threads x
   1 BLAS thread (the ideal use of 2 cores). numpy sends ``X_i.T @ X_i`` (same
   buffer) to BLAS syrk, exactly like dlinalg's block kernel; a true gemm
   (scipy ``dgemm``, twice the flops) is shown for reference.
2. Column means + Gram fused in one pass vs Gram alone (and plain Dask).
3. Gram from an uncompressed Zarr store (written with plain zarr: dlinalg's
   ``to_zarr`` always compresses) vs reading and decoding the store alone.
   The store fits in the page cache: after the warm-up this is a memory-speed read.
4. Out of core: a fresh cluster of 2 workers x 1 thread with
   ``--ooc-memory`` each; ``dl.random(...).to_zarr`` writes an
   ``--ooc-rows`` x COLS store (default 4.5 GiB decoded, more than twice the
   cluster's memory) and dlinalg's Gram streams it. Worker RSS is sampled with
   psutil every 10 ms (not ``ru_maxrss``: Linux keeps it across exec, so a
   worker spawned from this large process would report this process's peak).

5. Optimization (issue 16, ``--only optimize``): ``LogisticRegression(C=1)``
   on the ROWS x COLS matrix (labels from a planted logistic model) against
   scikit-learn's lbfgs in this process and dask-ml's lbfgs on the same
   persisted blocks (one run: it is slow); the same on a sparse
   ``--sparse-rows x DLINALG_BENCH_SPARSE_COLS`` click log (CSR blocks,
   ``DLINALG_BENCH_SPARSE_DENSITY``); the 20-alpha Lasso path, by
   ``lasso_path`` and by ``Lasso(warm_start=True)`` fits, against
   scikit-learn's. Each line's note has the objective it reached.
Before every timed cluster call the scheduler is allowed to forget the
previous result (``benchmarks.settle``): dlinalg's keys are deterministic, and
a resubmitted key the scheduler still holds comes back in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmarks as B
import dask
import dask.array as da
import numpy as np
import psutil
from threadpoolctl import threadpool_info, threadpool_limits

import dlinalg as dl

GiB = 2**30


# ---------------------------------------------------------------------------
# timing and reporting
# ---------------------------------------------------------------------------
class Machine(threading.Thread):
    """CPU time used by processes that are not ours, to flag a disturbed run.

    Samples the CPU time of this process and all its descendants (workers,
    nannies) every 0.2 s, keeping the last value seen per process, so the
    clusters that are closed between sections still count as ours.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.ours: dict[int, float] = {}
        self.stop_event = threading.Event()
        self.start_wall, self.start_busy = time.monotonic(), self._busy()
        self.start()

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)

    def _sample(self) -> None:
        for p in [self.me, *self.me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                self.ours[(p.pid, p.create_time())] = t.user + t.system

    def run(self) -> None:
        while not self.stop_event.wait(0.2):
            self._sample()

    def foreign_cpu(self) -> tuple[float, float]:
        """(CPU seconds used by other processes, wall seconds) since the start."""
        self.stop_event.set()
        self.join()
        self._sample()
        wall = time.monotonic() - self.start_wall
        other = self._busy() - self.start_busy - sum(self.ours.values())
        return max(other, 0.0), wall


def timed(cases: dict, repeat: int, before=None) -> dict[str, list[float]]:
    """Time every case ``repeat`` times, round-robin, after one untimed warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name, fn in cases.items():
        if before:
            before()
        fn()
        print(f"  warmed up {name}", file=sys.stderr, flush=True)
    for _ in range(repeat):
        for name, fn in cases.items():
            if before:
                before()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


ROWS_OUT: list[tuple] = []


def row(section, name, samples=None, subject=False, target="", note="", compare=True):
    """One line of the table; ratios are the section's subject over this row."""
    ROWS_OUT.append((section, name, samples, subject, target, note, compare))


def report(title: str) -> str:
    lines = [
        title,
        "",
        "Ratio = the section's subject (first line, in bold) / that line's median;",
        "a target such as <= 1.10 applies to that ratio.",
        "",
        "| case | median s | min s | runs | subject / this | target | note |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    by_section: dict[str, list[tuple]] = {}
    for r in ROWS_OUT:
        by_section.setdefault(r[0], []).append(r)
    for section in sorted(by_section):
        rows = sorted(by_section[section], key=lambda r: not r[3])
        subject = median(rows[0][2]) if rows[0][3] and rows[0][2] else None
        lines.append(f"| *{section}* | | | | | | |")
        for _, name, t, is_subject, target, note, compare in rows:
            if not t:
                lines.append(f"| {name} | | | | | | {note} |")
                continue
            med = median(t)
            ratio = f"{subject / med:.2f}" if subject and compare and not is_subject else ""
            verdict = ""
            if target and ratio:
                verdict = " met" if float(ratio) <= float(target.split()[-1]) else " **MISSED**"
            label = f"**{name}**" if is_subject else name
            lines.append(
                f"| {label} | {med:.3f} | {min(t):.3f} | {len(t)} | {ratio} | "
                f"{target}{verdict} | {note} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------
def section_gram_fused(args) -> None:
    cluster, client = B.start_cluster(memory_limit="8GiB")
    B._state.update(cluster=cluster, client=client)
    try:
        A = B.dense_drm(args.rows, args.cols)
        X = A.to_dask()

        def settle():
            B.settle(client)

        def on_cluster(fn):
            def run():
                with client.as_current():
                    fn()

            return run

        t = timed(
            {
                "dlinalg": on_cluster(lambda: (A.T @ A).compute()),
                "dask": on_cluster(lambda: (X.T @ X).compute()),
            },
            args.repeat,
            settle,
        )
        s = "1. Gram, persisted, 2 workers x 1 thread"
        row(s, "dlinalg (A.T @ A).compute()", t["dlinalg"], subject=True)
        row(s, "plain Dask (X.T @ X).compute(), same blocks", t["dask"], target="<= 1.00")

        t = timed(
            {
                "fused": on_cluster(lambda: dl.compute(A.col_means(), A.T @ A)),
                "gram": on_cluster(lambda: (A.T @ A).compute()),
                "means": on_cluster(lambda: A.col_means().compute()),
                "dask fused": on_cluster(lambda: dask.compute(X.mean(axis=0), X.T @ X)),
            },
            args.repeat,
            settle,
        )
        s = "2. Fused column means + Gram (one pass)"
        row(s, "dlinalg dl.compute(A.col_means(), A.T @ A)", t["fused"], subject=True)
        row(s, "dlinalg (A.T @ A).compute() alone", t["gram"], target="<= 1.10")
        row(s, "dlinalg A.col_means().compute() alone", t["means"])
        row(s, "plain Dask dask.compute(X.mean(0), X.T @ X)", t["dask fused"])
    finally:
        B.close_cluster()


def section_numpy(args) -> None:
    from scipy.linalg.blas import dgemm

    Xn = B.dense_numpy(args.rows, args.cols)
    blocks = B.numpy_blocks(Xn, B.row_chunk(args.rows))

    def one_thread(fn):
        def run():
            with threadpool_limits(1, user_api="blas"):
                fn()

        return run

    def two_threads():
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(2) as pool:
            B.blocked_gram_threads(blocks, pool)

    def true_gemm():
        total = np.zeros((args.cols, args.cols))
        for b in blocks:
            total += dgemm(1.0, b, b, trans_a=True)

    t = timed(
        {
            "xtx": lambda: Xn.T @ Xn,
            "blocked": lambda: B.blocked_gram(blocks),
            "xtx1": one_thread(lambda: Xn.T @ Xn),
            "blocked1": one_thread(lambda: B.blocked_gram(blocks)),
            "blocked2x1": two_threads,
            "gemm1": one_thread(true_gemm),
        },
        args.repeat,
    )
    blas = [d for d in threadpool_info() if "numpy" in d.get("filepath", "")] or threadpool_info()
    nthreads = blas[0]["num_threads"] if blas else "?"
    s = "1. Gram, persisted, 2 workers x 1 thread"
    row(s, f"numpy X.T @ X, one process ({nthreads} BLAS threads)", t["xtx"])
    row(
        s,
        f"numpy blocked sum of X_i.T @ X_i, one process ({nthreads} BLAS threads)",
        t["blocked"],
        target="<= 1.10",
    )
    row(s, "numpy X.T @ X (1 BLAS thread)", t["xtx1"])
    row(s, "numpy blocked (1 BLAS thread)", t["blocked1"])
    row(
        s,
        "numpy blocked on 2 Python threads x 1 BLAS thread (ideal 2 cores)",
        t["blocked2x1"],
    )
    row(s, "numpy blocked true gemm, scipy dgemm (1 BLAS thread)", t["gemm1"])
    _cache_drop(("numpy", args.rows, args.cols, B.SEED))


def _cache_drop(key) -> None:
    B._cache.pop(key, None)


def section_zarr(args, tmp: Path) -> None:
    path = str(tmp / "uncompressed.zarr")
    t0 = time.perf_counter()
    B.uncompressed_store(path, args.rows, args.cols)
    print(f"  wrote {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    cluster, client = B.start_cluster(memory_limit="8GiB")
    B._state.update(cluster=cluster, client=client)
    try:

        def settle():
            B.settle(client)

        def on_cluster(fn):
            def run():
                with client.as_current():
                    fn()

            return run

        def dl_gram():
            A = dl.read_zarr(path)
            (A.T @ A).compute()

        def dask_gram():
            X = da.from_zarr(path)
            (X.T @ X).compute()

        # the same values persisted under other keys: persisting read_zarr(path)
        # itself would make every later read of the store a no-op (same keys)
        P = B.dense_drm(args.rows, args.cols)

        t = timed(
            {
                "dl gram": on_cluster(dl_gram),
                "persisted gram": on_cluster(lambda: (P.T @ P).compute()),
                "read": on_cluster(lambda: B.read_only(da.from_zarr(path))),
                "dl read": on_cluster(lambda: B.read_only(dl.read_zarr(path).to_dask())),
                "read sum": on_cluster(lambda: da.from_zarr(path).sum().compute()),
                "dask gram": on_cluster(dask_gram),
            },
            args.repeat,
            settle,
        )
        s = "3. Gram from an uncompressed Zarr store (page-cache warm)"
        floor = "read + decode alone (da.from_zarr, per-block np.shape)"
        row(s, "dlinalg Gram: A = dl.read_zarr(p); (A.T @ A).compute()", t["dl gram"], True)
        row(s, floor, t["read"], target="<= 1.20")
        row(s, "read + decode alone via dl.read_zarr", t["dl read"], target="<= 1.20")
        row(s, "read + decode + sum: da.from_zarr(p).sum()", t["read sum"])
        row(s, "plain Dask Gram from da.from_zarr(p)", t["dask gram"])
        row(
            s,
            "dlinalg Gram of the same blocks persisted in memory (no I/O)",
            t["persisted gram"],
            note="read + decode alone + this ~ the subject: reading and multiplying "
            "serialize on each single-threaded worker",
        )
    finally:
        B.close_cluster()
        shutil.rmtree(path, ignore_errors=True)


def _mib(peaks) -> str:
    return ", ".join(f"{v / 2**20:.0f} MiB" for v in peaks.values())


def section_ooc(args, tmp: Path) -> None:
    from dask.utils import parse_bytes

    path = str(tmp / "ooc.zarr")
    limit = parse_bytes(args.ooc_memory)
    decoded = args.ooc_rows * args.cols * 8
    s = (
        f"4. Out of core: {args.ooc_rows:,} x {args.cols} store ({decoded / GiB:.2f} GiB decoded, "
        f"{decoded / (2 * limit):.1f}x the cluster's memory), 2 workers x 1 thread, "
        f"memory_limit {args.ooc_memory} each"
    )
    cluster, client = B.start_cluster(memory_limit=args.ooc_memory)
    B._state.update(cluster=cluster, client=client)
    try:
        pids = B.worker_pids(client)
        with B.RssSampler(pids) as idle:
            time.sleep(0.5)
        with B.RssSampler(pids) as rss:
            t0 = time.perf_counter()
            with client.as_current():
                dl.random((args.ooc_rows, args.cols), chunks=100_000, seed=B.SEED).to_zarr(
                    path, overwrite=True
                )
            write_s = time.perf_counter() - t0
        on_disk = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
        row(
            s,
            "dl.random(...).to_zarr(p): crash-safe write, zstd (once)",
            [write_s],
            compare=False,
            note=f"{on_disk / GiB:.2f} GiB on disk; peak worker RSS {_mib(rss.peak)}",
        )

        def settle():
            B.settle(client)

        def gram():
            with client.as_current():
                A = dl.read_zarr(path)
                (A.T @ A).compute()

        def read():
            with client.as_current():
                B.read_only(dl.read_zarr(path).to_dask())

        with B.RssSampler(pids) as rss:
            t = timed({"gram": gram, "read": read}, max(1, args.repeat - 2), settle)
        after = B.worker_pids(client)
        restarts = "no worker restarts" if after == pids else f"workers restarted: {after}"
        row(
            s,
            "dlinalg Gram over the store",
            t["gram"],
            subject=True,
            note=f"completes; {restarts}",
        )
        row(s, "read + decode alone (dl.read_zarr, per-block np.shape)", t["read"])
        row(
            s,
            "peak worker RSS during the Gram and read runs (psutil, 10 ms samples)",
            note=f"{_mib(rss.peak)}; idle workers {_mib(idle.peak)}; "
            f"limit {limit / 2**20:.0f} MiB each",
        )
    finally:
        B.close_cluster()
        shutil.rmtree(path, ignore_errors=True)


def _objective(X, y, coef, intercept) -> float:
    """Mean log-loss + ``||coef||^2 / (2 m)`` (C = 1), in numpy on the same data."""
    z = X @ np.ravel(coef) + float(np.ravel(intercept)[0])
    return float(np.mean(np.logaddexp(0, z) - y * z)) + float(np.ravel(coef) @ np.ravel(coef)) / (
        2 * len(y)
    )


def _dask_ml_once(X, y, row_name, section, Xn) -> None:
    """dask-ml's lbfgs, one run (minutes at 2,000,000 rows), or the error it raised."""
    import warnings

    from dask_ml.linear_model import LogisticRegression as DaskMLLogistic

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = DaskMLLogistic(C=1.0, solver="lbfgs").fit(X, y)
    except Exception as exc:  # noqa: BLE001 - reported in the table, not hidden
        row(section, row_name, note=f"failed: {type(exc).__name__}: {str(exc)[:80]}")
        return
    seconds = time.perf_counter() - t0
    yn = y.compute()
    obj = _objective(Xn, yn, model.coef_, model.intercept_)
    row(section, row_name, [seconds], target="<= 0.10", note=f"1 run; objective {obj:.12f}")


def section_optimize(args) -> None:
    from benchmarks import optimize as O
    from dlinalg.models import Lasso, LogisticRegression
    from dlinalg.models.linear_model import lasso_path
    from sklearn.linear_model import Lasso as SkLasso
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.linear_model import lasso_path as sk_lasso_path

    cluster, client = B.start_cluster(memory_limit="8GiB")
    B._state.update(cluster=cluster, client=client)

    def settle():
        B.settle(client)

    try:
        # dense logistic regression
        A, Xn = B.dense_drm(args.rows, args.cols), B.dense_numpy(args.rows, args.cols)
        y = O.planted_labels(args.rows)
        fits: dict = {}

        def ours():
            with client.as_current():
                fits["ours"] = LogisticRegression(C=1.0).fit(A, y)

        def lbfgs():
            with client.as_current():
                fits["lbfgs"] = dl.lbfgs(A, y, loss="logistic", fit_intercept=True,
                                         l2=1 / len(y), gtol=1e-6)  # fmt: skip

        def sklearn():
            fits["sk"] = SkLogistic(C=1.0, max_iter=1000).fit(Xn, y)

        t = timed({"ours": ours, "lbfgs": lbfgs, "sk": sklearn}, args.repeat, before=settle)
        s = f"5a. LogisticRegression(C=1), {args.rows:,} x {args.cols} dense, persisted"
        o = {k: _objective(Xn, y, m.coef_, m.intercept_)
             for k, m in (("ours", fits["ours"]), ("sk", fits["sk"]))}  # fmt: skip
        o["lbfgs"] = _objective(Xn, y, fits["lbfgs"].coef, fits["lbfgs"].intercept)
        row(s, "dlinalg LogisticRegression(C=1) (lbfgs, tol 1e-4)", t["ours"], subject=True,
            note=f"objective {o['ours']:.12f}")  # fmt: skip
        row(s, f"dl.lbfgs, gtol 1e-6 ({fits['lbfgs'].npass} passes)", t["lbfgs"],
            note=f"objective {o['lbfgs']:.12f}")  # fmt: skip
        row(s, "scikit-learn LogisticRegression(C=1) lbfgs, in memory", t["sk"],
            target="<= 0.50", note=f"objective {o['sk']:.12f}")  # fmt: skip
        if not args.skip_dask_ml:
            Xd = A.to_dask()
            yd = B.persisted_dask(da.from_array(y, chunks=(Xd.chunks[0],)))
            with client.as_current():
                _dask_ml_once(Xd, yd, "dask-ml LogisticRegression(C=1) lbfgs", s, Xn)

        # the Lasso path, 20 alphas
        yl = O._lasso_target(args.rows)
        alphas = O._alphas(Xn, yl)

        def path_ours():
            with client.as_current():
                lasso_path(A, yl, alphas=alphas, tol=1e-6)

        def warm_ours():
            model = Lasso(warm_start=True, tol=1e-6)
            with client.as_current():
                for alpha in alphas:
                    model.set_params(alpha=alpha).fit(A, yl)

        def warm_sk():
            model = SkLasso(warm_start=True, tol=1e-6)
            for alpha in alphas:
                model.set_params(alpha=alpha).fit(Xn, yl)

        t = timed({"path": path_ours, "skpath": lambda: sk_lasso_path(Xn, yl, alphas=alphas,
                   tol=1e-6), "warm": warm_ours, "skwarm": warm_sk}, args.repeat,
                  before=settle)  # fmt: skip
        s = f"5b. Lasso path, 20 alphas, {args.rows:,} x {args.cols}"
        row(s, "dlinalg lasso_path (one pass)", t["path"], subject=True)
        row(s, "scikit-learn lasso_path, in memory", t["skpath"])
        row(s, "dlinalg Lasso(warm_start=True), 20 fits", t["warm"], compare=False,
            note=f"{median(t['warm']) / 20:.3f} s per alpha")  # fmt: skip
        row(s, "scikit-learn Lasso(warm_start=True), 20 fits", t["skwarm"],
            note=f"{median(t['skwarm']) / 20:.3f} s per alpha")  # fmt: skip
        _cache_drop(("numpy", args.rows, args.cols, B.SEED))

        # sparse logistic regression
        rows = args.sparse_rows
        S, Sn = B.sparse_drm(rows, B.SPARSE_COLS), B.sparse_scipy(rows, B.SPARSE_COLS)
        ys = O.sparse_labels(rows)

        def sparse_ours():
            with client.as_current():
                fits["sparse"] = LogisticRegression(C=1.0).fit(S, ys)

        def sparse_sk():
            fits["sparse_sk"] = SkLogistic(C=1.0, max_iter=1000).fit(Sn, ys)

        t = timed({"ours": sparse_ours, "sk": sparse_sk}, args.repeat, before=settle)
        s = (f"5c. LogisticRegression(C=1), sparse {rows:,} x {B.SPARSE_COLS:,}, "
             f"density {B.SPARSE_DENSITY}")  # fmt: skip
        o = {k: _objective(Sn, ys, m.coef_, m.intercept_)
             for k, m in (("ours", fits["sparse"]), ("sk", fits["sparse_sk"]))}  # fmt: skip
        row(s, "dlinalg LogisticRegression(C=1)", t["ours"], subject=True,
            note=f"objective {o['ours']:.12f}")  # fmt: skip
        row(s, "scikit-learn LogisticRegression(C=1) lbfgs, in memory", t["sk"],
            note=f"objective {o['sk']:.12f}")  # fmt: skip
        if not args.skip_dask_ml:
            Sd = S.to_dask()
            yd = B.persisted_dask(da.from_array(ys, chunks=(Sd.chunks[0],)))
            with client.as_current():
                _dask_ml_once(Sd, yd, "dask-ml LogisticRegression(C=1) lbfgs", s, Sn)
    finally:
        B.close_cluster()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=7, help="timed runs per case (default 7)")
    p.add_argument("--ooc-rows", type=int, default=6_000_000)
    p.add_argument("--ooc-memory", default="1GiB", help="memory_limit per worker")
    p.add_argument("--tmp", default=None, help="directory for the Zarr stores")
    p.add_argument("--sparse-rows", type=int, default=1_000_000, help="rows of section 5c")
    p.add_argument("--skip-dask-ml", action="store_true", help="section 5 without dask-ml")
    p.add_argument(
        "--only", nargs="*", default=["gram", "numpy", "zarr", "ooc"], help="sections to run"
    )
    args = p.parse_args(argv)
    machine = Machine()
    started = time.strftime("%Y-%m-%d %H:%M")
    tmp = Path(tempfile.mkdtemp(prefix="dlinalg-measure-", dir=args.tmp))
    try:
        if "gram" in args.only:
            section_gram_fused(args)
        if "numpy" in args.only:
            section_numpy(args)
        if "zarr" in args.only:
            section_zarr(args, tmp)
        if "ooc" in args.only:
            section_ooc(args, tmp)
        if "optimize" in args.only:
            section_optimize(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    other, wall = machine.foreign_cpu()
    blas = [d for d in threadpool_info() if "numpy" in d.get("filepath", "")] or threadpool_info()
    title = (
        f"dlinalg measure.py, {started}: {args.rows:,} x {args.cols} float64 in "
        f"{B.BLOCKS} row blocks of {B.row_chunk(args.rows):,} rows; "
        f"median of {args.repeat} interleaved runs\n"
        f"{platform.node()}: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / GiB:.0f} GiB RAM, Python {platform.python_version()}, "
        f"numpy {np.__version__} ({blas[0]['internal_api'] if blas else '?'} "
        f"{blas[0]['version'] if blas else ''}), dask {dask.__version__}, "
        f"dlinalg {dl.__version__}\n"
        f"other processes used {other:.0f} CPU-s during the {wall:.0f} s run "
        f"({100 * other / (wall * (os.cpu_count() or 1)):.0f}% of the machine)"
    )
    print(report(title))


if __name__ == "__main__":
    main()
