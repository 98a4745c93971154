"""Where block tasks run: on a distributed client, or at once in this process.

Iterative code (the solvers' products, the ALS sweeps) drives the cluster with
futures, one small graph per step, instead of building one graph up front.
Both executors have the same interface, so that code is written once:

- ``submit(fn, *args, where=None)``: a task with a deterministic key
  (``pure=True``); ``where`` is a worker address the task prefers (soft: it
  may run elsewhere, e.g. after that worker died); in process, ``fn(*args)``;
- ``gather(handles)``: the values;
- ``blocks(arr)``: the row blocks of a Dask array, as futures or values;
- ``groups(blocks)``: block indices grouped by the worker holding them;
- ``workers`` and ``n_threads``: the addresses (``(None,)`` in process) and
  the total number of worker threads;
- ``rebase(handles, where)``: the same values as new tasks that hold their
  data.

The lineage of every future stays on the scheduler, so what a lost worker
held is recomputed, bit for bit, by another. An iteration whose state is
computed from the previous one's builds a chain that grows with the
iterations: the scheduler keeps it, and a lost piece is recomputed by
replaying it from the start. ``rebase`` cuts it: the values come to the client
and go back as tasks whose data is in the task itself, so the scheduler can
rerun them anywhere, and the old chain is forgotten.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import dask

__all__ = ["LocalExecutor", "ClusterExecutor", "executor_for"]


class LocalExecutor:
    """Run every task at once in this process (no distributed client)."""

    client = None
    workers: tuple = (None,)
    n_threads = 1

    def submit(self, fn: Any, *args: Any, where: Any = None) -> Any:
        return fn(*args)

    def gather(self, handles: list) -> list:
        return list(handles)

    def blocks(self, arr: Any) -> list:
        return list(dask.compute(*arr.to_delayed(optimize_graph=False).ravel()))

    def groups(self, blocks: list) -> tuple[list[list[int]], list]:
        return [list(range(len(blocks)))], [None]

    def rebase(self, handles: list, where: list) -> list:
        return list(handles)


def _value(x: Any) -> Any:
    return x


class ClusterExecutor:
    """Submit tasks to a distributed client, with deterministic keys and soft placement.

    Parameters
    ----------
    client : distributed.Client
    """

    def __init__(self, client: Any):
        self.client = client

    @cached_property
    def _info(self) -> dict:
        try:
            return self.client.scheduler_info(n_workers=-1)["workers"]  # all of them (2025.1+)
        except TypeError:  # pragma: no cover - older distributed lists every worker
            return self.client.scheduler_info()["workers"]

    @property
    def workers(self) -> tuple:
        return tuple(sorted(self._info)) or (None,)

    @property
    def n_threads(self) -> int:
        return max(1, sum(int(w.get("nthreads", 1)) for w in self._info.values()))

    def submit(self, fn: Any, *args: Any, where: Any = None) -> Any:
        if where is None:
            return self.client.submit(fn, *args, pure=True)
        return self.client.submit(fn, *args, pure=True, workers=[where], allow_other_workers=True)

    def gather(self, handles: list) -> list:
        return self.client.gather(handles)

    def blocks(self, arr: Any) -> list:
        return list(self.client.compute(list(arr.to_delayed(optimize_graph=False).ravel())))

    def groups(self, blocks: list) -> tuple[list[list[int]], list]:
        """Block indices grouped by the worker holding them, in block order."""
        who = self.client.who_has(blocks)
        by_worker: dict[str, list[int]] = {}
        for i, f in enumerate(blocks):
            holders = sorted(who.get(f.key, ())) or [""]
            by_worker.setdefault(holders[0], []).append(i)
        ordered = sorted(by_worker.items(), key=lambda kv: kv[1][0])
        return [idx for _, idx in ordered], [addr or None for addr, _ in ordered]

    def rebase(self, handles: list, where: list) -> list:
        """The values of ``handles`` as new tasks holding their data, placed at ``where``."""
        values = self.gather(handles)
        return [self.submit(_value, v, where=w) for v, w in zip(values, where, strict=True)]


def executor_for(
    collections: list | tuple = (), scheduler: Any = None
) -> LocalExecutor | ClusterExecutor:
    """The executor for the scheduler ``dask.compute(*collections)`` would use.

    A distributed client (the default client, or the one the collections'
    futures belong to) gives a :class:`ClusterExecutor`; any other scheduler
    runs in this process.

    Examples
    --------
    >>> from dlinalg._executor import executor_for
    >>> run = executor_for(scheduler="sync")
    >>> run.gather([run.submit(pow, 2, 10)])
    [1024]
    """
    from dlinalg.cluster import _distributed_client

    client = _distributed_client(list(collections) or None, scheduler)
    return LocalExecutor() if client is None else ClusterExecutor(client)
