"""Issue 18, "far larger than memory": stream stores of 4x the cluster's memory cap.

    .venv/bin/python asv_bench/measure_larger_than_memory.py          # 4.4 GB store, see below
    nice -n 5 .venv/bin/python asv_bench/measure_larger_than_memory.py \\
        --rows 200000 --cols 100 --users 200000 --items 1000           # a 3-minute check

The cluster: 2 workers x 1 thread on 127.0.0.1 with ``--memory-limit`` each
(default 512 MiB). With ``--cluster auto`` (the default) the workers are also
put under a real kernel cap when this machine allows it: ``systemd-run
--scope -p MemoryMax=`` is tried first, then a cgroup-v1 memory cgroup
created inside this process's own one (``memory.limit_in_bytes`` =
``--cgroup-limit``, default the sum of the workers' limits). The scheduler
(``dask scheduler``) runs outside the cap; each ``dask worker`` (with its
nanny, so a killed worker would be restarted and counted) is started in its
own session and enters the cgroup before it executes, so every byte it and
its nanny allocate, page cache included, is charged to the cap. The client
connects with ``dl.connect``. When no cap can be set, the reason (command and
error) is printed and a ``LocalCluster`` with ``memory_limit`` alone is used.

The data: a dense float64 store of ``--rows x --cols`` (default 2,750,000 x
200 = 4.4 GB, 4.1x the default 1 GiB cap), Gaussian columns scaled from 1
to 1e-2 (cond(A) about 100, so ssvd's top singular values are separated),
written by ``dl.random(...).to_zarr`` in row chunks of about
``--chunk-mib`` (32 MiB); and for ``ItemSimilarity`` a sparse click log,
``--users x --items`` (default: enough users at 43 interactions each for
4x the cap, decoded CSR), each block of ``--users-per-block`` users an
independent :func:`~dlinalg.models.recommenders.datasets.benchmark_matrix`
draw (power-law users and items, planted clusters; seed + block number;
at most 500 interactions per user), built on the workers.

Operations, each timed once (wall clock), with the peak RSS of every worker
process (psutil, 10 ms samples, ``benchmarks.RssSampler``), worker
restarts/deaths (worker pids before and after, and ``remove-worker`` events
in the scheduler's log), and a spot check:

* Gram ``(A.T @ A).compute()`` against the blocked Gram of the same store
  computed in this process, one block at a time;
* ``Q, R = dl.qr(A)`` and ``Q.to_zarr``: R against the Cholesky factor of
  the Gram, and ``||Q^T Q - I||`` from one more pass over the Q store;
* ``dl.ssvd(A, 10)``: s against the square roots of the Gram's eigenvalues;
* ``dl.lsqr(A, b, iter_lim=10)`` with ``b = A x_true`` (read from the store):
  the reported ``||b - A x||`` against one recomputed by a pass over the store;
* ``ItemSimilarity().fit(S)`` on the sparse store, on freshly restarted
  workers (generating the click log leaves them at dask's pause threshold):
  the downsampled item counts
  equal ``min(column non-zeros, 500)`` (no user exceeds the 500 cap) and no row
  has more than 50 indicators.

``lsqr`` persists A on the workers before iterating (see
``dlinalg.solvers._operator.RowOperator``): with A larger than the cluster,
that persist is held by spilling to the workers' local directories, and the
spilled bytes are reported with it.

A worker that has run dlinalg's tasks sits at about 340 MiB RSS (400 MiB
after generating the click log), so ``--memory-limit`` below about 400 MiB
gets workers terminated by their nannies at once, and 512 MiB leaves them
~70 MiB above dask's pause threshold (80%). A paused worker that never
resumes hangs the run: after ``--timeout`` seconds the operation is reported
as hung and the rest skipped. Every failure is a row of the table.

Output: a Markdown table (operation, seconds, peak worker RSS, cap, restarts,
check) and the exact command line, for ``asv_bench/RESULTS.md``. Everything
written goes to a temporary directory under ``--dir`` (default: the system's
temporary directory), removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchmarks as B
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.utils import format_bytes, parse_bytes

import dlinalg as dl

MiB = 2**20
#: Interactions per user of the click log (the recommender benchmark's proportion).
NNZ_PER_USER = 43
#: Cap of the generated users' interactions: ItemSimilarity's default downsampling cap.
MAX_PER_USER = 500


# ---------------------------------------------------------------------------
# the memory cap
# ---------------------------------------------------------------------------
def _run(cmd: list[str]) -> str:
    """``cmd``'s outcome in one line: exit code and its last words."""
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{shlex.join(cmd)}`: {type(exc).__name__}: {exc}"
    text = " ".join((out.stderr + " " + out.stdout).split())
    return f"`{shlex.join(cmd)}` exit {out.returncode}: {text[:200]}"


def _own_memory_cgroup() -> Path | None:
    """This process's cgroup-v1 memory cgroup directory, if mounted."""
    root = Path("/sys/fs/cgroup/memory")
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return root / path.lstrip("/")
    return None


def make_cgroup(limit: int, findings: list[str]) -> Path | None:
    """A fresh memory cgroup capped at ``limit`` bytes, or None (reasons in ``findings``).

    systemd-run is tried for the record only: a scope needs a running
    systemd (PID 1) or a user manager; where it works the workers could run
    under it, but the cgroup-v1 path below gives the same cap and is what
    this script uses.
    """
    findings.extend(
        _run(["systemd-run", *user, "--scope", "-p", f"MemoryMax={limit}", "true"])
        for user in (["--user"], [])
    )
    own = _own_memory_cgroup()
    if own is None or not own.is_dir():
        findings.append(f"no cgroup-v1 memory controller for this process (looked at {own})")
        return None
    group = own / f"dlinalg-ltm-{os.getpid()}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit))
        got = int((group / "memory.limit_in_bytes").read_text())
    except OSError as exc:
        findings.append(f"cgroup v1 at {group}: {type(exc).__name__}: {exc}")
        with contextlib.suppress(OSError):
            group.rmdir()
        return None
    findings.append(
        f"cgroup v1 {group}: memory.limit_in_bytes = {got} ({format_bytes(got)}), "
        "workers and their nannies inside, page cache charged too"
    )
    return group


def cgroup_stats(group: Path | None) -> dict[str, int]:
    if group is None:
        return {}
    oom = dict(line.split() for line in (group / "memory.oom_control").read_text().splitlines())
    return {
        "max_usage": int((group / "memory.max_usage_in_bytes").read_text()),
        "failcnt": int((group / "memory.failcnt").read_text()),
        "oom_kill": int(oom.get("oom_kill", 0)),
    }


def reset_cgroup_peak(group: Path | None) -> None:
    if group is not None:
        with contextlib.suppress(OSError):
            (group / "memory.max_usage_in_bytes").write_text("0")


# ---------------------------------------------------------------------------
# the cluster
# ---------------------------------------------------------------------------
class ShellCluster:
    """``dask scheduler`` + ``dask worker`` processes, the workers inside ``group``."""

    def __init__(self, args, group: Path, workdir: Path):
        self.procs: list[subprocess.Popen] = []
        self.group = group
        dask_cmd = str(Path(sys.executable).with_name("dask"))
        sched_file = workdir / "scheduler.json"
        self.logs = logs = workdir / "logs"
        logs.mkdir()
        env = {
            **os.environ,
            "NUMPY_MADVISE_HUGEPAGE": "0",
        }  # as dlinalg.cluster.worker_environment
        self._start(
            [dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], logs / "scheduler.log", env, None,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: see {logs / 'scheduler.log'}")
            time.sleep(0.1)
        for i in range(B.N_WORKERS):
            self._start(
                [dask_cmd, "worker", "--scheduler-file", str(sched_file), "--name", f"w{i}",
                 "--host", "127.0.0.1", "--no-dashboard", "--nworkers", "1",
                 "--nthreads", str(B.THREADS_PER_WORKER), "--memory-limit", args.memory_limit,
                 "--local-directory", str(workdir / f"w{i}")],
                logs / f"w{i}.log", env, group,
            )  # fmt: skip
        self.client = dl.connect(
            __import__("json").loads(sched_file.read_text())["address"], set_as_default=False
        )
        self.client.wait_for_workers(B.N_WORKERS, timeout=120)

    def _start(self, cmd, log_path: Path, env, group: Path | None) -> None:
        if group is not None:  # enter the cgroup, then exec: all it allocates is charged
            procs = shlex.quote(str(group / "cgroup.procs"))
            cmd = ["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *cmd]
        with log_path.open("wb") as log:
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
            )

    def log_counts(self) -> list[str]:
        """How often the workers' logs say they paused, spilled or were restarted."""
        notes = []
        for log in sorted(self.logs.glob("w*.log")):
            text = log.read_text(errors="replace")
            counts = {
                what: text.count(marker)
                for what, marker in (
                    ("paused", "Pausing worker"),
                    ("restarted by the nanny", "Restarting worker"),
                    ("terminated over the memory budget", "memory budget. Restarting"),
                    ("unmanaged-memory warnings", "Unmanaged memory use is high"),
                )
            }
            notes.append(
                f"{log.stem} log: " + ", ".join(f"{what} {n} times" for what, n in counts.items())
            )
        return notes

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        for p in reversed(self.procs):  # workers first, the scheduler last
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def _removed_workers(dask_scheduler=None) -> int:
    """``remove-worker`` events in the scheduler's log so far."""
    return sum(
        1
        for _, msg in dask_scheduler.get_events("all")
        if isinstance(msg, dict) and msg.get("action") == "remove-worker"
    )


def _spilled(dask_worker=None) -> int:
    """Bytes this worker has written to its spill directory so far (0 without a SpillBuffer)."""
    data = dask_worker.data
    total = getattr(data, "cumulative_metrics", None)
    if total:
        return int(sum(v for (label, unit), v in total.items() if label == "disk-write"
                       and unit == "bytes"))  # fmt: skip
    return 0


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def column_scales(cols: int) -> np.ndarray:
    """Column scales from 1 down to 1e-2: cond(A) about 100, separated singular values."""
    return np.geomspace(1.0, 1e-2, cols)


def _clicks_block(block_id=None, *, users, items, seed):
    from dlinalg.models.recommenders.datasets import benchmark_matrix

    n = users[block_id[0]]
    return benchmark_matrix(
        n, items, n * NNZ_PER_USER, max_per_user=MAX_PER_USER, seed=seed + block_id[0]
    )


def clicks(users: int, items: int, per_block: int, seed: int = 0) -> dl.DRM:
    """The sparse click log, one :func:`benchmark_matrix` draw per block, lazily."""
    blocks = tuple(
        [per_block] * (users // per_block) + ([users % per_block] if users % per_block else [])
    )
    meta = sp.csr_array((0, items), dtype=np.float32)
    arr = da.map_blocks(
        _clicks_block, chunks=(blocks, (items,)), dtype=np.float32, meta=meta,
        users=blocks, items=items, seed=seed, name=f"clicks-{users}-{items}-{per_block}-{seed}",
    )  # fmt: skip
    return dl.from_array(arr)


def store_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def gram(A) -> np.ndarray:
    return (A.T @ A).compute()


def local_gram(path: str) -> np.ndarray:
    """``sum_i A_i^T A_i`` of the store's blocks, read one at a time in this process."""
    x = dl.read_zarr(path).to_dask()
    total = None
    for i in range(x.numblocks[0]):
        b = np.asarray(x.blocks[i].compute(scheduler="sync"))
        g = b.T @ b
        total = g if total is None else total + g
    return total


# ---------------------------------------------------------------------------
# measurement
# ---------------------------------------------------------------------------
class Hung(Exception):
    """An operation gave no result within the timeout: the remaining ones are skipped."""


class Table:
    def __init__(self, cap_mib: float, cap_bytes: int, cgroup: Path | None, timeout: float):
        self.rows: list[tuple] = []
        self.timeout = timeout
        self.cap_mib, self.cap_bytes = cap_mib, cap_bytes
        self.cgroup = cgroup

    def measure(self, client, name: str, fn, check=None) -> object:
        """Run ``fn()`` on the cluster; one table row (a failure is a row too)."""
        pids = B.worker_pids(client)
        removed = client.run_on_scheduler(_removed_workers)
        spilled = client.run(_spilled, on_error="ignore")
        reset_cgroup_peak(self.cgroup)
        oom_before = cgroup_stats(self.cgroup).get("oom_kill", 0)
        print(f"  {name} ...", file=sys.stderr, flush=True)
        result, error = None, ""
        box: dict = {}

        def target():
            try:
                with client.as_current():
                    box["result"] = fn()
            except Exception as exc:  # noqa: BLE001 - reported in the table
                box["error"] = f"FAILED: {type(exc).__name__}: {str(exc)[:150]}"

        with B.RssSampler(pids) as rss:
            t0 = time.perf_counter()
            worker = threading.Thread(target=target, daemon=True)
            worker.start()
            worker.join(self.timeout)
            seconds = time.perf_counter() - t0
        hung = worker.is_alive()
        if hung:
            status = {w["name"]: w["status"] for w in client.scheduler_info()["workers"].values()}
            box["error"] = f"**no result after {self.timeout:.0f} s**; worker status {status}"
        result, error = box.get("result"), box.get("error", "")
        after = sorted(client.run(os.getpid, on_error="ignore").values())
        restarts = client.run_on_scheduler(_removed_workers) - removed
        gone = sorted(set(pids) - set(after))
        notes = []
        # a restarted worker starts from 0 under a new address: count all it wrote
        spill = sum(
            v - spilled.get(addr, 0) for addr, v in client.run(_spilled, on_error="ignore").items()
        )
        if spill:
            notes.append(f"{format_bytes(spill)} written to spill files (re-spills included)")
        stats = cgroup_stats(self.cgroup)
        if stats:
            notes.append(f"cgroup peak {stats['max_usage'] / MiB:.0f} MiB incl. page cache")
            if stats["oom_kill"] - oom_before:
                notes.append(f"**{stats['oom_kill'] - oom_before} OOM kills**")
        if error:
            notes.append(error)
        elif check is not None:
            try:
                notes.append(check(result))
            except Exception as exc:  # noqa: BLE001
                notes.append(f"check FAILED: {type(exc).__name__}: {exc}")
        peak = "; ".join(f"{v / MiB:.0f}" for v in rss.peak.values())
        restart_txt = f"{restarts}" + (f" (pids gone: {gone})" if gone else "")
        self.rows.append((name, seconds, peak, restart_txt, "; ".join(notes)))
        print(f"    {seconds:.1f} s, peak RSS {peak} MiB, {'; '.join(notes)}", file=sys.stderr)
        if hung:
            raise Hung(name)
        return result

    def markdown(self) -> str:
        lines = [
            "| operation | seconds | peak worker RSS MiB (each) | cap MiB per worker "
            + "| restarts | check / notes |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        for name, s, peak, restarts, note in self.rows:
            lines.append(
                f"| {name} | {s:.1f} | {peak} | {self.cap_mib:.0f} | {restarts} | {note} |"
            )
        return "\n".join(lines)


def run(args, tmp: Path, client, table: Table) -> None:
    if "dense" in args.only:
        run_dense(args, tmp, client, table)
    if "sparse" in args.only:
        run_sparse(args, tmp, client, table)


def run_dense(args, tmp: Path, client, table: Table) -> None:
    rows, cols = args.rows, args.cols
    chunk = max(1, int(parse_bytes(args.chunk_mib + "MiB") // (cols * 8)))
    dense, qpath = str(tmp / "A.zarr"), str(tmp / "Q.zarr")
    scales = column_scales(cols)

    table.measure(
        client, f"write dense store ({rows:,} x {cols} float64, {chunk:,} rows per chunk)",
        lambda: (dl.random((rows, cols), chunks=chunk, seed=B.SEED) * scales).to_zarr(dense),
        lambda _: f"{store_bytes(Path(dense)) / 2**30:.2f} GiB on disk, "
        f"{rows * cols * 8 / 2**30:.2f} GiB decoded",
    )  # fmt: skip
    print("  reference Gram in this process ...", file=sys.stderr, flush=True)
    G0 = local_gram(dense)
    L = np.linalg.cholesky(G0)
    s0 = np.sqrt(np.linalg.eigvalsh(G0)[::-1])

    def rel(a, b) -> float:
        return float(np.abs(a - b).max() / np.abs(b).max())

    table.measure(
        client, "Gram `(A.T @ A).compute()`",
        lambda: gram(dl.read_zarr(dense)),
        lambda G: f"max rel. diff. vs blocked numpy Gram {rel(np.asarray(G), G0):.1e}",
    )  # fmt: skip

    def qr():
        Q, R = dl.qr(dl.read_zarr(dense))
        Q.to_zarr(qpath)
        return R

    def qr_check(R):
        Q = dl.read_zarr(qpath)
        with client.as_current():
            QtQ = np.asarray((Q.T @ Q).compute())
        err = np.abs(QtQ - np.eye(cols)).max()
        return (
            f"max rel. diff. of R vs chol(Gram)^T {rel(R, L.T):.1e}; "
            f"max abs(Q^T Q - I) {err:.1e} (Q store {store_bytes(Path(qpath)) / 2**30:.2f} GiB)"
        )

    table.measure(client, "`Q, R = dl.qr(A)`; `Q.to_zarr(p)`", qr, qr_check)
    shutil.rmtree(qpath, ignore_errors=True)

    table.measure(
        client, "`dl.ssvd(A, 10, seed=0)`",
        lambda: dl.ssvd(dl.read_zarr(dense), 10, seed=0)[1],
        lambda s: f"max rel. err. of s vs sqrt(eig(Gram)) {rel(s, s0[:10]):.1e}",
    )  # fmt: skip

    x_true = np.random.default_rng(B.SEED + 1).standard_normal(cols)

    def lsqr():
        A = dl.read_zarr(dense)
        return dl.lsqr(A, A @ x_true[:, None], iter_lim=10, show=False)

    def lsqr_check(res):
        A = dl.read_zarr(dense)
        with client.as_current():
            r = (A @ (res.x - x_true)[:, None]).to_dask()  # b - A x, b = A x_true
            normr = float(da.linalg.norm(r).compute())
        return (
            f"{res.itn} iterations; reported vs recomputed ||b - Ax||: "
            f"{abs(res.normr - normr) / normr:.1e} rel.; "
            f"||x - x_true|| / ||x_true|| {np.linalg.norm(res.x - x_true) / np.linalg.norm(x_true):.1e}"
        )

    table.measure(client, "`dl.lsqr(A, b, iter_lim=10)`", lsqr, lsqr_check)
    shutil.rmtree(dense, ignore_errors=True)


def run_sparse(args, tmp: Path, client, table: Table) -> None:
    spath = str(tmp / "S.zarr")
    users = args.users or -(-4 * table.cap_bytes // (NNZ_PER_USER * 8))
    users = max(int(users), args.users_per_block)
    nnz = users * NNZ_PER_USER
    table.measure(
        client,
        f"write sparse click log ({users:,} users x {args.items:,} items, {nnz:,} interactions)",
        lambda: clicks(users, args.items, args.users_per_block).to_zarr(spath),
        lambda _: (
            f"{store_bytes(Path(spath)) / 2**30:.2f} GiB on disk, "
            f"{nnz * 8 / 2**30:.2f} GiB decoded (float32 + int32 CSR)"
        ),
    )
    from dlinalg.models import ItemSimilarity

    def fit():
        return ItemSimilarity().fit(dl.read_zarr(spath))

    def fit_check(model):
        with client.as_current():
            col_nnz = np.asarray(dl.read_zarr(spath).col_nnz().compute())
        ok = np.array_equal(model.item_counts_[0], np.minimum(col_nnz, 500))
        per_row = np.diff(model.indicators_[0].indptr).max()
        return (
            f"item counts == min(col nnz, 500): {ok}; max indicators per item {per_row}; "
            f"{model.indicators_[0].nnz:,} indicators"
        )

    # Generating 4 GiB of clicks leaves the workers ~60 MiB above a fresh
    # worker's RSS, at dask's pause threshold (80% of 512 MiB): the fit starts
    # from fresh worker processes, as it would on a cluster that did not
    # generate its input. This restart is before the measurement, not in it.
    client.restart(wait_for_workers=True)
    table.measure(client, "`ItemSimilarity().fit(S)` (workers restarted first)", fit, fit_check)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=2_750_000)
    p.add_argument("--cols", type=int, default=200)
    p.add_argument("--chunk-mib", default="32", help="MiB per row chunk of the dense store")
    p.add_argument("--memory-limit", default="512MiB", help="memory_limit of each worker")
    p.add_argument("--cluster", choices=["auto", "local"], default="auto",
                   help="auto: workers under a cgroup cap if possible; local: LocalCluster")  # fmt: skip
    p.add_argument("--cgroup-limit", default=None,
                   help="cap of the workers' cgroup (default: workers x memory-limit)")  # fmt: skip
    p.add_argument("--users", type=int, default=None,
                   help="users of the click log (default: 4x the cap, decoded)")  # fmt: skip
    p.add_argument("--items", type=int, default=20_000)
    p.add_argument("--users-per-block", type=int, default=20_000)
    p.add_argument("--timeout", type=float, default=3600,
                   help="seconds one operation may take before the run is abandoned")  # fmt: skip
    p.add_argument("--only", nargs="*", choices=["dense", "sparse"], default=["dense", "sparse"],
                   help="dense: write, Gram, qr, ssvd, lsqr; sparse: write, ItemSimilarity")  # fmt: skip
    p.add_argument("--dir", default=None, help="parent of the temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the stores")
    args = p.parse_args(argv)

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t_start = time.monotonic()
    limit = parse_bytes(args.memory_limit)
    total_cap = parse_bytes(args.cgroup_limit) if args.cgroup_limit else B.N_WORKERS * limit
    tmp = Path(tempfile.mkdtemp(prefix="dlinalg-ltm-", dir=args.dir))
    findings: list[str] = []
    skipped, log_notes, kind, table = "", [], "", None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `timeout`/kill
    group = make_cgroup(total_cap, findings) if args.cluster == "auto" else None
    if args.cluster == "local":
        findings.append("no cgroup tried (`--cluster local`)")
    cluster = shell = None
    try:
        if group is not None:
            shell = ShellCluster(args, group, tmp)
            client = shell.client
            kind = (f"`dask scheduler` + {B.N_WORKERS} x `dask worker --nthreads 1 --memory-limit "
                    f"{args.memory_limit}` (with nanny), workers in a cgroup capped at "
                    f"{format_bytes(total_cap)}, via `dl.connect`")  # fmt: skip
        else:
            cluster, client = B.start_cluster(memory_limit=args.memory_limit)
            kind = (f"LocalCluster {B.N_WORKERS} x 1 thread, memory_limit {args.memory_limit} "
                    "each, no cgroup")  # fmt: skip
        table = Table(limit / MiB, total_cap, group, args.timeout)
        try:
            run(args, tmp, client, table)
        except Hung as exc:
            skipped = f"the operations after {exc} were skipped"
        except Exception as exc:  # noqa: BLE001 - the table so far is still printed
            skipped = f"run aborted: {type(exc).__name__}: {str(exc)[:200]}"
        log_notes = shell.log_counts() if shell is not None else []
    finally:
        if shell is not None:
            shell.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                client.close()
                cluster.close()
        if group is not None:
            for _ in range(50):  # the killed workers leave the cgroup asynchronously
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        if args.keep:
            print(f"stores kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"dlinalg measure_larger_than_memory.py, {started}, {time.monotonic() - t_start:.0f} s "
        f"in all. Cluster: {kind}. Whole-cluster cap {format_bytes(total_cap)}.\n"
    )
    print("Memory cap findings:\n")
    for f in findings:
        print(f"- {f}")
    print()
    print(table.markdown())
    print()
    for note in [skipped, *log_notes]:
        if note:
            print(f"- {note}")
    print("Command: `" + shlex.join([".venv/bin/python", "asv_bench/" + Path(__file__).name,
                                     *sys.argv[1:]]) + "`")  # fmt: skip


if __name__ == "__main__":
    main()
