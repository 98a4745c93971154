"""Reproduce the issue-3 speed numbers (decompositions) with one command.

    .venv/bin/python asv_bench/measure_decomp.py              # 2,000,000 x 100, ~10 minutes
    .venv/bin/python asv_bench/measure_decomp.py --rows 200000 --repeat 2 --only qr

The matrix is ``dl.random((ROWS, 100))`` float64 in 20 row blocks, persisted on
a LocalCluster of 2 worker processes x 1 thread; plain Dask and dask-ml run on
the same persisted blocks on the same cluster, scikit-learn in this process
(after the cluster is closed, with both cores for its BLAS). Every timed call
materialises the tall factor (persist and wait) and the small ones; a
reference persists all its outputs together so shared work runs once. Cases of
a section are interleaved round-robin (after one untimed warm-up each) and
``benchmarks.settle`` lets the scheduler forget the previous result first.

Sections: 1. qr with Q; 2. thin svd with U; 3. ssvd(k=20, q=2) with U against
svd_compressed; 4. PCA(20).fit against dask-ml and scikit-learn; 5. ssvd on
ROWS/20 x 2000 with k=50 against svd_compressed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmarks as B
import dask
import dask.array as da
import numpy as np
from distributed import wait
from measure import ROWS_OUT, Machine, row, timed

import dlinalg as dl

K, POWER = 20, 2


def _persist(*arrays):
    out = dask.persist(*arrays)
    wait([a for a in out if isinstance(a, da.Array)])
    return out


def _orth(client, q) -> float:
    with client.as_current():
        return float(np.abs((q.T @ q).compute() - np.eye(q.shape[1])).max())


def _sv_err(s, exact) -> str:
    return f"max rel. sv error {np.abs(np.asarray(s) / exact[: len(s)] - 1).max():.1e}"


def section_cluster(args) -> None:
    from dask_ml.decomposition import PCA as DaskPCA
    from dlinalg.models import PCA

    cluster, client = B.start_cluster(memory_limit="10GiB")
    B._state.update(cluster=cluster, client=client)
    try:
        A = B.dense_drm(args.rows, args.cols)
        X = A.to_dask()
        exact = np.linalg.svd(B.dense_numpy(args.rows, args.cols), compute_uv=False)

        def settle():
            B.settle(client)

        def on_cluster(fn):
            def run():
                with client.as_current():
                    return fn()

            return run

        def ours_qr():
            Q, _ = dl.qr(A)
            return _persist(Q.to_dask())[0]

        def dask_qr():
            return _persist(*da.linalg.tsqr(X))[0]

        if "qr" in args.only:
            t = timed(
                {"ours": on_cluster(ours_qr), "dask": on_cluster(dask_qr)}, args.repeat, settle
            )
            s = "1. qr(A) with Q persisted"
            row(s, "dlinalg dl.qr(A) (CholQR2)", t["ours"], subject=True,
                note=f"orth {_orth(client, on_cluster(ours_qr)()):.1e}")  # fmt: skip
            row(s, "dask.array.linalg.tsqr(X)", t["dask"], target=">= 8",
                note=f"orth {_orth(client, on_cluster(dask_qr)()):.1e}")  # fmt: skip

        def ours_svd():
            U, s, _ = dl.svd(A)
            _persist(U.to_dask())
            return s

        def dask_svd():
            _, s, _ = _persist(*da.linalg.svd(X))
            return s.compute()

        if "svd" in args.only:
            t = timed(
                {"ours": on_cluster(ours_svd), "dask": on_cluster(dask_svd)}, args.repeat, settle
            )
            s = "2. thin svd(A) with U persisted"
            row(s, "dlinalg dl.svd(A)", t["ours"], subject=True,
                note=_sv_err(on_cluster(ours_svd)(), exact))  # fmt: skip
            row(s, "dask.array.linalg.svd(X)", t["dask"], target=">= 6",
                note=_sv_err(on_cluster(dask_svd)(), exact))  # fmt: skip

        def ours_ssvd():
            U, s, _ = dl.ssvd(A, K, q=POWER, seed=0)
            _persist(U.to_dask())
            return s

        def dask_ssvd():
            _, s, _ = _persist(*da.linalg.svd_compressed(X, K, n_power_iter=POWER, seed=0))
            return s.compute()

        if "ssvd" in args.only:
            t = timed(
                {"ours": on_cluster(ours_ssvd), "dask": on_cluster(dask_ssvd)}, args.repeat, settle
            )
            s = f"3. ssvd(A, {K}, q={POWER}) with U persisted"
            row(s, f"dlinalg dl.ssvd(A, {K}, q={POWER})", t["ours"], subject=True,
                note=_sv_err(on_cluster(ours_ssvd)(), exact))  # fmt: skip
            row(s, f"dask svd_compressed(X, {K}, n_power_iter={POWER})", t["dask"],
                target=">= 2.5", note=_sv_err(on_cluster(dask_ssvd)(), exact))  # fmt: skip

        if "pca" in args.only:
            t = timed(
                {
                    "ours": on_cluster(lambda: PCA(K).fit(A)),
                    "ours randomized": on_cluster(
                        lambda: PCA(K, svd_solver="randomized", random_state=0).fit(A)
                    ),
                    "dask-ml": on_cluster(lambda: DaskPCA(K).fit(X)),
                },
                args.repeat,
                settle,
            )
            s = f"4. PCA({K}).fit"
            row(
                s,
                f"dlinalg dlinalg.models.PCA({K}).fit(A) (auto: Gram + eigh)",
                t["ours"],
                subject=True,
            )
            row(s, "dlinalg PCA(svd_solver='randomized')", t["ours randomized"])
            row(s, f"dask-ml PCA({K}).fit(X), same blocks", t["dask-ml"], target=">= 10")

        if "wide" in args.only:
            W = B.dense_drm(args.rows // 20, 2000)
            Xw = W.to_dask()
            t = timed(
                {
                    "ours": on_cluster(
                        lambda: _persist(dl.ssvd(W, 50, q=POWER, seed=0)[0].to_dask())
                    ),
                    "dask": on_cluster(
                        lambda: _persist(
                            *da.linalg.svd_compressed(Xw, 50, n_power_iter=POWER, seed=0)
                        )
                    ),
                },
                args.repeat,
                settle,
            )
            s = f"5. ssvd of {args.rows // 20:,} x 2000, k=50, q={POWER}, U persisted"
            row(s, "dlinalg dl.ssvd(W, 50)", t["ours"], subject=True)
            row(s, "dask svd_compressed(W, 50)", t["dask"], target=">= 2")
    finally:
        B.close_cluster()

    if "pca" in args.only:
        from sklearn.decomposition import PCA as SkPCA

        Xn = B.dense_numpy(args.rows, args.cols)
        t = timed(
            {
                "randomized": lambda: SkPCA(K, svd_solver="randomized", random_state=0).fit(Xn),
                "full": lambda: SkPCA(K, svd_solver="full").fit(Xn),
            },
            args.repeat,
        )
        s = f"4. PCA({K}).fit"
        row(s, "scikit-learn PCA(svd_solver='randomized'), one process", t["randomized"],
            target=">= 10")  # fmt: skip
        row(s, "scikit-learn PCA(svd_solver='full'), one process", t["full"])


def speedup_report(title: str) -> str:
    """The table: speed-up = that reference's median / dlinalg's (the section's subject)."""
    lines = [title, "", "| case | median s | min s | runs | speed-up of dlinalg | target | note |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- |"]  # fmt: skip
    sections: dict[str, list] = {}
    for r in ROWS_OUT:
        sections.setdefault(r[0], []).append(r)
    for name in sorted(sections):
        rows = sorted(sections[name], key=lambda r: not r[3])
        ours = median(rows[0][2])
        lines.append(f"| *{name}* | | | | | | |")
        for _, label, t, is_subject, target, note, _ in rows:
            med = median(t)
            speedup = "" if is_subject else f"{med / ours:.1f}x"
            verdict = ""
            if target and speedup:
                verdict = " met" if med / ours >= float(target.split()[-1]) else " **MISSED**"
            label = f"**{label}**" if is_subject else label
            lines.append(
                f"| {label} | {med:.2f} | {min(t):.2f} | {len(t)} | {speedup} | "
                f"{target}{verdict} | {note} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    p.add_argument(
        "--only", nargs="*", default=["qr", "svd", "ssvd", "pca", "wide"], help="sections to run"
    )
    args = p.parse_args(argv)
    machine = Machine()
    started = time.strftime("%Y-%m-%d %H:%M")
    section_cluster(args)
    other, wall = machine.foreign_cpu()
    print(
        speedup_report(
            f"dlinalg measure_decomp.py, {started}: {args.rows:,} x {args.cols} float64 in "
            f"{B.BLOCKS} row blocks; median of {args.repeat} interleaved runs; "
            f"other processes used {other:.0f} CPU-s during the {wall:.0f} s run.\n"
            "Speed-up = reference median / dlinalg median; targets apply to it."
        )
    )


if __name__ == "__main__":
    main()
