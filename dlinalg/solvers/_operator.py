"""What an iterative solver sees of A: a persisted matrix and its one-pass products.

Only mat-vecs touch the cluster. :class:`RowOperator` persists A's row blocks
once; every product is then a graph of one task per block (the fused kernel of
:mod:`dlinalg.physical.matvec`) and a fixed reduction tree, built anew for
each call from the persisted blocks, so the graph never grows with the
iteration count. Vectors as long as A has rows (LSQR's ``u``, the right-hand
side) stay on the workers as :class:`RowVector` pieces aligned with A's blocks;
vectors as long as A has columns live on the client.

:class:`LocalOperator` gives the same interface over anything with
``matvec``/``rmatvec`` (a :class:`scipy.sparse.linalg.LinearOperator`), for
which nothing is distributed.
"""

from __future__ import annotations

from itertools import pairwise
from operator import getitem
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.base import tokenize

from dlinalg.errors import NonFiniteError, ShapeError
from dlinalg.physical import reduce as R
from dlinalg.physical.matvec import fused_block, fused_combine, matvec_block, rmatvec_block

__all__ = [
    "as_operator",
    "operator_shape",
    "check_finite_norm",
    "RowOperator",
    "LocalOperator",
    "RowVector",
]


def _is_linear_operator(A: Any) -> bool:
    from dlinalg.matrix import DRM

    if isinstance(A, DRM | np.ndarray | da.Array) or sp.issparse(A):
        return False
    return hasattr(A, "matvec") and hasattr(A, "shape")


def operator_shape(A: Any, what: str = "A", square: bool = False) -> tuple[int, int]:
    """A's shape, checked without converting A (nothing is hashed or built)."""
    from dlinalg.decomp._input import shape_of

    if _is_linear_operator(A):
        shape = tuple(A.shape)
        if len(shape) != 2:
            raise ShapeError(f"{what} must be 2-D, got shape {shape}")
    else:
        shape = shape_of(A, what)
    if square and shape[0] != shape[1]:
        raise ShapeError(f"{what} must be square, got shape {shape}")
    return int(shape[0]), int(shape[1])


def as_operator(A: Any, what: str = "A", square: bool = False) -> RowOperator | LocalOperator:
    """The solver's view of A: a persisted :class:`RowOperator` or a :class:`LocalOperator`.

    Call after all parameter checks (persisting starts the computation).
    """
    from dlinalg.decomp._input import as_matrix

    operator_shape(A, what, square)
    if _is_linear_operator(A):
        from scipy.sparse.linalg import aslinearoperator

        return LocalOperator(aslinearoperator(A))
    return RowOperator(as_matrix(A, check_finite=True, what=what))


class _Local:
    """Run block functions at once in this process (no distributed client)."""

    def map(self, fn: Any, *iterables: Any) -> list:
        return [fn(*args) for args in zip(*iterables, strict=True)]

    def submit(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def gather(self, handles: list) -> list:
        return list(handles)


class _Cluster:
    """Submit block functions to a distributed client: one round trip per product.

    Tasks get deterministic keys (``pure=True``), and their lineage stays on
    the scheduler, so a block lost with a worker is recomputed bit for bit.
    """

    def __init__(self, client: Any):
        self.client = client

    def map(self, fn: Any, *iterables: Any) -> list:
        return self.client.map(fn, *iterables, pure=True)

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=True)

    def gather(self, handles: list) -> list:
        return self.client.gather(handles)


def _tree(run: Any, parts: list, combine: Any) -> Any:
    """Combine ``parts`` in the fixed tree of :func:`dlinalg.physical.reduce.tree_reduce`."""
    split_every = dask.config.get("dlinalg.split-every", R.DEFAULT_SPLIT_EVERY)
    while len(parts) > 1:
        parts = [
            run.submit(combine, *parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


def _pieces(b: np.ndarray, chunks: tuple[int, ...]) -> list[np.ndarray]:
    return [b[s:e] for s, e in pairwise(np.cumsum((0, *chunks)))]


def _copy(x: np.ndarray) -> np.ndarray:
    return np.array(x, dtype=np.float64)


class RowVector:
    """A vector stored in pieces aligned with an operator's row blocks (on the workers).

    Parameters
    ----------
    run : executor
        Where the pieces live.
    pieces : list
        Futures (distributed) or arrays (in process), one per row block; a
        piece may be a ``(values, partial sums)`` pair from the fused kernel.
    chunks : tuple of int
        Their lengths.
    """

    def __init__(self, run: Any, pieces: list, chunks: tuple[int, ...]):
        self.run = run
        self.pieces = list(pieces)
        self.chunks = tuple(chunks)

    def gather(self) -> np.ndarray:
        """The whole vector in this process."""
        pieces = self.run.gather(self.pieces)
        return np.concatenate([p[0] if isinstance(p, tuple) else p for p in pieces])

    def __len__(self) -> int:
        return sum(self.chunks)


class RowOperator:
    """A persisted row-block matrix and the one-pass products the solvers need.

    Parameters
    ----------
    A : DRM
        The matrix; its row blocks are persisted on the current scheduler.
    """

    def __init__(self, A: Any):
        from dlinalg.cluster import _distributed_client

        arr = A.to_dask()
        if len(arr.chunks[1]) > 1:
            arr = arr.rechunk({1: -1})
        client = _distributed_client([arr], None)
        self.shape = tuple(int(s) for s in arr.shape)
        self.dtype = np.dtype(np.float64)
        self.chunks = tuple(int(c) for c in arr.chunks[0])
        self.token = tokenize(arr.name, self.shape, str(arr.dtype))
        keys = [k for (k,) in arr.__dask_keys__()] if arr.ndim == 2 else []
        if client is not None:
            from distributed import futures_of

            (arr,) = client.persist([arr])
            by_key = {f.key: f for f in futures_of(arr)}
            self.blocks = [by_key[k] for k in keys]
            self.run = _Cluster(client)
        else:
            self.blocks = list(dask.compute(*R.blocks_of(arr)))
            self.run = _Local()
        self.array = arr

    # --- vectors ------------------------------------------------------------
    def vector(self, b: Any) -> RowVector:
        """``b`` (numpy or dask, length m) as pieces on the workers, aligned with A's blocks."""
        if isinstance(b, da.Array):
            b = b.astype(np.float64).rechunk((self.chunks,))
            if isinstance(self.run, _Cluster):
                from distributed import futures_of

                b = self.run.client.persist(b)
                by_key = {f.key: f for f in futures_of(b)}
                return RowVector(self.run, [by_key[k] for k in b.__dask_keys__()], self.chunks)
            return RowVector(self.run, list(dask.compute(*b.to_delayed().ravel())), self.chunks)
        pieces = _pieces(np.asarray(b, dtype=np.float64), self.chunks)
        if isinstance(self.run, _Cluster):  # a task per piece: lineage for a lost worker
            return RowVector(self.run, self.run.map(_copy, pieces), self.chunks)
        return RowVector(self.run, pieces, self.chunks)

    # --- products -----------------------------------------------------------
    def fused(
        self, v: np.ndarray | None, w: RowVector | None, c: float, *, keep: bool
    ) -> tuple[RowVector | None, np.ndarray, float]:
        """``u = A v + c w`` with ``A^T u`` and ``||u||^2``, in one read of A.

        Returns ``(u as a RowVector if keep else None, A^T u, ||u||^2)``.
        """
        nb = len(self.blocks)
        v = None if v is None else np.asarray(v, dtype=np.float64)
        wp = [None] * nb if w is None else w.pieces
        tasks = self.run.map(fused_block, self.blocks, [v] * nb, wp, [float(c)] * nb, [keep] * nb)
        parts = self.run.map(getitem, tasks, [1] * nb)  # only the small sums travel
        (result,) = self.run.gather([_tree(self.run, parts, fused_combine)])
        u = RowVector(self.run, tasks, self.chunks) if keep else None  # pieces stay put
        return u, result.atu, result.normsq

    def normal(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """``(A^T A x, ||A x||^2)`` in one pass."""
        _, atu, normsq = self.fused(x, None, 0.0, keep=False)
        return atu, normsq

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A x`` gathered to this process."""
        x = np.asarray(x, dtype=np.float64)
        pieces = self.run.map(matvec_block, self.blocks, [x] * len(self.blocks))
        return np.concatenate(self.run.gather(pieces))

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        """``A^T y`` for an in-memory ``y`` of length m."""
        pieces = _pieces(np.asarray(y, dtype=np.float64), self.chunks)
        parts = self.run.map(rmatvec_block, self.blocks, pieces)
        return self.run.gather([_tree(self.run, parts, fused_combine)])[0].atu


class _LocalVector:
    """A vector in this process, with :class:`RowVector`'s interface."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def gather(self) -> np.ndarray:
        return self.values

    def __len__(self) -> int:
        return len(self.values)


class LocalOperator:
    """The operator interface over a :class:`scipy.sparse.linalg.LinearOperator` (in process).

    A fused step costs one ``matvec`` and one ``rmatvec`` call.
    """

    def __init__(self, op: Any):
        self.op = op
        self.shape = tuple(int(s) for s in op.shape)
        self.dtype = np.dtype(np.float64)
        self.token = tokenize("LinearOperator", type(op).__qualname__, self.shape, str(op.dtype))

    def vector(self, b: Any) -> _LocalVector:
        b = b.compute() if isinstance(b, da.Array) else b
        return _LocalVector(np.asarray(b, dtype=np.float64))

    def _apply(self, f: Any, x: np.ndarray, length: int, what: str) -> np.ndarray:
        y = np.asarray(f(x), dtype=np.float64).reshape(-1)
        if y.shape[0] != length:
            raise ShapeError(f"A.{what} returned {y.shape[0]} entries, expected {length}")
        return y

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return self._apply(self.op.matvec, x, self.shape[0], "matvec")

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        return self._apply(self.op.rmatvec, y, self.shape[1], "rmatvec")

    def fused(
        self, v: np.ndarray | None, w: _LocalVector | None, c: float, *, keep: bool
    ) -> tuple[_LocalVector | None, np.ndarray, float]:
        u = np.zeros(self.shape[0]) if v is None else self.matvec(v)
        if w is not None:
            u = u + c * w.values
        return (_LocalVector(u) if keep else None), self.rmatvec(u), float(u @ u)

    def normal(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        _, atu, normsq = self.fused(x, None, 0.0, keep=False)
        return atu, normsq


def check_finite_norm(normsq: float, what: str) -> None:
    """A lazy input's first pass shows NaN/inf through its norm: say which input."""
    if not np.isfinite(normsq):
        raise NonFiniteError(f"{what} contains NaN or infinity; clean it before solving")
