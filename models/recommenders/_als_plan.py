"""How :class:`dlinalg.models.ALS` runs on Dask: blocks, their places, and one task graph per sweep.

Preparation, once per fit:

1. user row blocks: in-memory input is cut so blocks carry about equal work
   (stored entries plus ``k/2`` per row); lazy input keeps its row chunks;
2. ``prepare_rows`` per block: CSR in the factors' dtype (zeros dropped,
   indices sorted), checked (finite, non-negative for the implicit model), with
   its column counts and per-row loss constants;
3. the transposed matrix (item row blocks) built from the user blocks: each
   user block is cut into one piece per item block, each item block stacks
   its pieces. Item blocks are balanced on the column counts.

A sweep is then, for users and for items in turn: one ``solve`` task per row
block (its CSR block, its rows' previous factors and the other side's
assembled factors), then ``assemble`` tasks concatenating the new factors and
computing their Gram matrix ``F^T F`` (float64, fixed order) for the next
half. The factors and their Gram matrix are thus broadcast: every worker
assembles its own copy (the same bits), fetching the blocks it lacks once,
so no gather-then-broadcast sits between the halves. The client submits
iteration ``t + 1`` and then reads the loss of iteration ``t`` (a few
scalars), so the workers never wait for the client, and it drops its
references to older iterations, so what the cluster holds does not grow with
the iterations. The keys are deterministic (``pure=True``) and the lineage
stays on the scheduler, so tasks lost with a worker are recomputed bit for
bit; every ``dlinalg.als-rebase-every`` iterations (:data:`REBASE_EVERY`) the
factors are rebased (``dlinalg.cluster.ClusterExecutor.rebase``), so that
chain, and the work to replay it, never spans more than that many iterations.

Without a distributed client the same functions run in this process.
"""

from __future__ import annotations

import math
from itertools import pairwise
from operator import getitem
from typing import Any, NamedTuple

import dask
import numpy as np
import scipy.sparse as sp

from ._als_kernels import gram, initial_factors, solve_block

__all__ = ["Params", "Prepared", "Full", "fit_factors", "prepare", "balanced_bounds"]

#: Work per block (stored entries, plus k/2 per row) the block counts aim at.
BLOCK_WORK = 600_000
#: Iterations between two cuts of the factors' lineage (config ``dlinalg.als-rebase-every``).
REBASE_EVERY = 10


class Params(NamedTuple):
    """What a solve task needs besides data (small, part of the task key)."""

    factors: int
    regularization: float
    implicit: bool
    alpha: float
    cholesky: bool
    cg_steps: int
    iterations: int
    seed: int


class Prepared(NamedTuple):
    """The matrix ready for sweeps: row blocks on both sides and loss constants."""

    n_users: int
    n_items: int
    nnz: int
    user_bounds: np.ndarray
    item_bounds: np.ndarray
    user_blocks: list
    item_blocks: list
    constant: float  # sum over stored entries of c p^2 (implicit) or r^2 (explicit)
    weight: float  # what the loss is divided by


class Full(NamedTuple):
    """One side's factors assembled: ``F``, its Gram ``F^T F`` and ``sum f_u`` of the sweep."""

    F: np.ndarray
    G: np.ndarray
    fsum: float


# --- preparation -----------------------------------------------------------------------
def balanced_bounds(weights: np.ndarray, n_blocks: int) -> np.ndarray:
    """Block boundaries (0, ..., n) cutting ``weights`` into about equal sums.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._als_plan import balanced_bounds
    >>> balanced_bounds(np.array([5, 1, 1, 1, 1, 1]), 2).tolist()
    [0, 1, 6]
    """
    n = len(weights)
    n_blocks = max(1, min(int(n_blocks), n))
    cum = np.cumsum(weights, dtype=np.float64)
    targets = cum[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(cum, targets, side="left") + 1
    return np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]])).astype(np.int64)


def block_count(total_work: float, n_rows: int, n_threads: int) -> int:
    """Blocks for ``total_work``: about :data:`BLOCK_WORK` each, a multiple of the threads."""
    n = max(1, math.ceil(total_work / BLOCK_WORK), n_threads)
    n = -(-n // n_threads) * n_threads
    return min(n, n_rows)


def prepare_rows(
    block: Any, dtype: np.dtype, implicit: bool, alpha: float, n_cols: int
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """One user block as clean CSR, its column counts and per-row loss constants.

    Raises ValueError for NaN/infinity, or negative values in the implicit model.
    """
    csr = sp.csr_array(block, dtype=dtype)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    data = csr.data
    if data.size and not np.isfinite(data).all():
        raise ValueError("the interaction matrix contains NaN or infinity")
    if implicit and data.size and data.min() < 0:
        raise ValueError(
            f"the implicit model needs non-negative counts, found {int((data < 0).sum())} "
            f"negative value(s) (smallest {float(data.min())!r}); use implicit=False for ratings"
        )
    csr = sp.csr_array(
        (data, csr.indices.astype(np.int32), csr.indptr.astype(np.int64)), shape=csr.shape
    )
    counts = np.bincount(csr.indices, minlength=n_cols).astype(np.int64)
    values = data.astype(np.float64)
    per_entry = 1.0 + alpha * values if implicit else values * values
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    constant = np.bincount(rows, weights=per_entry, minlength=csr.shape[0])
    return csr, counts, constant


def _sum_counts(*counts: np.ndarray) -> np.ndarray:
    total = counts[0].copy()
    for c in counts[1:]:
        total += c
    return total


def _constants(*constants: np.ndarray) -> np.ndarray:
    return np.concatenate(constants)


def _split_columns(prepared: Any, bounds: np.ndarray) -> list:
    """The user block transposed and cut into one piece per item block."""
    t = prepared[0].T.tocsr()
    return [t[a:b] for a, b in pairwise(bounds)]


def _stack(*pieces: Any) -> sp.csr_array:
    """An item block: the pieces of every user block side by side (users in order)."""
    out = sp.csr_array(sp.hstack(pieces, format="csr"))
    out.sort_indices()
    return sp.csr_array(
        (out.data, out.indices.astype(np.int32), out.indptr.astype(np.int64)), shape=out.shape
    )


def prepare(
    raw_blocks: list,
    user_bounds: np.ndarray,
    run: Any,
    shape: tuple[int, int],
    dtype: np.dtype,
    p: Params,
) -> Prepared:
    """Clean user blocks, the transposed item blocks, and the loss constants.

    ``raw_blocks`` are the user row blocks (in-memory values, Dask futures, or
    values computed in this process), in order.
    """
    n_users, n_items = shape
    w = run.workers
    prep = [
        run.submit(prepare_rows, b, dtype, p.implicit, p.alpha, n_items, where=w[i % len(w)])
        for i, b in enumerate(raw_blocks)
    ]
    # only the small per-block vectors travel, not the blocks
    counts_f = run.submit(_sum_counts, *[run.submit(getitem, q, 1) for q in prep])
    const_f = run.submit(_constants, *[run.submit(getitem, q, 2) for q in prep])
    counts, constants = run.gather([counts_f, const_f])
    nnz = int(counts.sum())
    if nnz == 0:
        raise ValueError(
            f"the {n_users} x {n_items} interaction matrix has no non-zero entries: "
            "nothing to factorise"
        )
    item_work = counts + p.factors / 2
    n_item_blocks = block_count(float(item_work.sum()), n_items, run.n_threads)
    item_bounds = balanced_bounds(item_work, n_item_blocks)
    splits = [
        run.submit(_split_columns, q, item_bounds, where=w[i % len(w)]) for i, q in enumerate(prep)
    ]
    item_blocks = []
    for j in range(len(item_bounds) - 1):
        pieces = [run.submit(getitem, s, j, where=w[i % len(w)]) for i, s in enumerate(splits)]
        item_blocks.append(run.submit(_stack, *pieces, where=w[j % len(w)]))
    user_blocks = [run.submit(getitem, q, 0, where=w[i % len(w)]) for i, q in enumerate(prep)]
    constant = math.fsum(constants)
    weight = float(n_users * n_items - nnz) + constant if p.implicit else float(nnz)
    return Prepared(
        n_users=n_users,
        n_items=n_items,
        nnz=nnz,
        user_bounds=np.asarray(user_bounds, dtype=np.int64),
        item_bounds=item_bounds,
        user_blocks=user_blocks,
        item_blocks=item_blocks,
        constant=constant,
        weight=weight,
    )


# --- sweeps ----------------------------------------------------------------------------
def _assemble(copy: int, *parts: Any) -> Full:
    """Concatenate a side's factor blocks; its Gram matrix and the sweep's ``sum f``.

    ``copy`` only tells the per-worker copies apart (one task key each).
    """
    if isinstance(parts[0], tuple):
        F = np.concatenate([q[0] for q in parts])
        fsum = math.fsum(np.concatenate([q[1] for q in parts]).tolist())
    else:
        F, fsum = np.concatenate(parts), 0.0
    return Full(F, gram(F), fsum)


def _stats(full: Full) -> tuple[float, float]:
    """``(||F||^2, sum f)``: the scalars the client needs for the loss."""
    return float(np.trace(full.G)), full.fsum


def _solve(block: sp.csr_array, previous: Any, other: Full, p: Params) -> tuple:
    """New factors of one row block against the other side's assembled factors."""
    k = p.factors
    if p.implicit:
        G = other.G + p.regularization * np.eye(k)
    else:
        G = p.regularization * np.eye(k)
    if isinstance(previous, tuple):
        previous = previous[0]
    return solve_block(
        block,
        previous,
        other.F,
        G,
        implicit=p.implicit,
        alpha=p.alpha,
        cg_steps=p.cg_steps,
        cholesky=p.cholesky,
    )


def _take_factors(full: Full) -> np.ndarray:
    return full.F


def _pattern(block: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    return np.diff(block.indptr), block.indices


def fit_factors(
    prep: Prepared,
    run: Any,
    dtype: np.dtype,
    p: Params,
    on_iteration: Any = None,
) -> tuple[np.ndarray, np.ndarray, list[float], sp.csr_array]:
    """Run ``p.iterations`` sweeps; return user and item factors, the losses, the seen pattern."""
    w = run.workers
    k = p.factors

    def init(side: int, bounds: np.ndarray) -> list:
        return [
            run.submit(
                initial_factors, p.seed, side, int(a), int(b), k, dtype, where=w[i % len(w)]
            )
            for i, (a, b) in enumerate(pairwise(bounds))
        ]

    def assemble(parts: list) -> list:
        return [run.submit(_assemble, c, *parts, where=w[c]) for c in range(len(w))]

    X_parts = init(0, prep.user_bounds) if not p.cholesky else [None] * len(prep.user_blocks)
    Y_parts = init(1, prep.item_bounds)
    Y_full = assemble(Y_parts)
    losses: list[float] = []

    def report(stats: list) -> None:
        (x_sq, _), (_, fsum) = run.gather(stats)
        # L = sum_i f_i(y_i) + sum c p^2 (or r^2) + lambda ||X||^2
        losses.append((fsum + prep.constant + p.regularization * x_sq) / prep.weight)
        if on_iteration is not None:
            on_iteration(len(losses) - 1, losses[-1])

    rebase_every = max(1, int(dask.config.get("dlinalg.als-rebase-every", REBASE_EVERY)))
    x_where = [w[i % len(w)] for i in range(len(prep.user_blocks))]
    y_where = [w[i % len(w)] for i in range(len(prep.item_blocks))]
    pending: list = []
    for it in range(p.iterations):
        X_parts = [
            run.submit(_solve, b, x, Y_full[i % len(w)], p, where=w[i % len(w)])
            for i, (b, x) in enumerate(zip(prep.user_blocks, X_parts, strict=True))
        ]
        X_full = assemble(X_parts)
        prev_Y = Y_parts if not p.cholesky else [None] * len(prep.item_blocks)
        Y_parts = [
            run.submit(_solve, b, y, X_full[i % len(w)], p, where=w[i % len(w)])
            for i, (b, y) in enumerate(zip(prep.item_blocks, prev_Y, strict=True))
        ]
        Y_full = assemble(Y_parts)
        if (it + 1) % rebase_every == 0 and it + 1 < p.iterations:  # cut the lineage
            X_parts, Y_parts = run.rebase(X_parts, x_where), run.rebase(Y_parts, y_where)
            Y_full = assemble(Y_parts)
        # the previous iteration's loss is read while this one runs: no pause between them
        if pending:
            report(pending)
        pending = [run.submit(_stats, X_full[0]), run.submit(_stats, Y_full[0])]
    report(pending)
    pattern = [run.submit(_pattern, b) for b in prep.user_blocks]
    X, Y, *patterns = run.gather(
        [run.submit(_take_factors, X_full[0]), run.submit(_take_factors, Y_full[0]), *pattern]
    )
    counts = np.concatenate([c for c, _ in patterns])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    indices = np.concatenate([i for _, i in patterns]).astype(np.int32)
    seen = sp.csr_array(
        (np.ones(len(indices), dtype=np.bool_), indices, indptr),
        shape=(prep.n_users, prep.n_items),
    )
    return X, Y, losses, seen
