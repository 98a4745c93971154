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

from dlinalg import _trace
from dlinalg._operands import as_matrix, shape_of
from dlinalg.cluster import executor_for
from dlinalg.errors import NonFiniteError, ShapeError
from dlinalg.matrix import DRM
from dlinalg.physical import reduce as R
from dlinalg.physical.glm import at_group, at_restart_group, glm_group
from dlinalg.physical.matvec import (
    MatvecParts,
    combine_groups,
    fused_group,
    matvec_group,
    parts_group,
    rmatvec_group,
)
from dlinalg.plan import nodes as N
from dlinalg.plan.steps import MatvecStep
from dlinalg.solvers.checkpoint import probe_identity

__all__ = [
    "as_operator",
    "operator_shape",
    "is_linear_operator",
    "check_finite_norm",
    "RowOperator",
    "LocalOperator",
    "RowVector",
]


def is_linear_operator(A: Any) -> bool:

    if isinstance(A, DRM | np.ndarray | da.Array) or sp.issparse(A):
        return False
    return hasattr(A, "matvec") and hasattr(A, "shape")


def operator_shape(A: Any, what: str = "A", square: bool = False) -> tuple[int, int]:
    """A's shape, checked without converting A (nothing is hashed or built)."""

    if is_linear_operator(A):
        shape = tuple(A.shape)
        if len(shape) != 2:
            raise ShapeError(f"{what} must be 2-D, got shape {shape}")
    else:
        shape = shape_of(A, what)
    if square and shape[0] != shape[1]:
        raise ShapeError(f"{what} must be square, got shape {shape}")
    return int(shape[0]), int(shape[1])


def as_operator(
    A: Any, what: str = "A", square: bool = False, before_pass: Any = None
) -> RowOperator | LocalOperator:
    """The solver's view of A: a persisted :class:`RowOperator` or a :class:`LocalOperator`.

    Call after all parameter checks (persisting starts the computation).
    ``before_pass(op)``, when given, is called once ``op.shape`` and
    ``op.identity()`` are known and before A is persisted or multiplied by
    the solver (a checkpoint compares A's identity there).
    """

    operator_shape(A, what, square)
    if is_linear_operator(A):
        from scipy.sparse.linalg import aslinearoperator

        op = LocalOperator(aslinearoperator(A))
        if before_pass is not None:
            before_pass(op)
        return op
    return RowOperator(as_matrix(A, check_finite=True, what=what), before_pass=before_pass)


def _pieces(b: np.ndarray, chunks: tuple[int, ...]) -> list[np.ndarray]:
    return [b[s:e] for s, e in pairwise(np.cumsum((0, *chunks)))]


def _as_list(*pieces: Any) -> list[np.ndarray]:
    return [np.array(p, dtype=np.float64) for p in pieces]


def _split_every() -> int:
    return int(dask.config.get("dlinalg.split-every", R.DEFAULT_SPLIT_EVERY))


class RowVector:
    """A vector stored on the workers in pieces aligned with an operator's row blocks.

    Parameters
    ----------
    op : RowOperator
        The operator whose block groups the pieces follow.
    pieces : list
        One handle per block group (a future, or the value in process), each
        holding the group's pieces (a list, or a ``(list, parts)`` pair from
        the fused kernel).
    """

    def __init__(self, op: Any, pieces: list):
        self.op = op
        self.pieces = list(pieces)

    def gather(self) -> np.ndarray:
        """The whole vector in this process."""
        out: list = [None] * len(self.op.blocks)
        for idx, got in zip(self.op.groups, self.op.run.gather(self.pieces), strict=True):
            values = got[0] if isinstance(got, tuple) else got
            for i, piece in zip(idx, values, strict=True):
                out[i] = piece
        return np.concatenate(out)

    def __len__(self) -> int:
        return self.op.shape[0]


#: Partial sums (blocks x columns x 8 bytes) up to this size are combined in the client.
CLIENT_COMBINE_BYTES = 8 * 2**20


class RowOperator:
    """A persisted row-block matrix and the one-pass products the solvers need.

    Parameters
    ----------
    A : DRM
        The matrix; its row blocks are persisted on the current scheduler.
    before_pass : callable, optional
        ``before_pass(self)`` runs once the shape and token are known, before
        anything is persisted.
    """

    def __init__(self, A: Any, before_pass: Any = None):
        arr = A.to_dask()
        if len(arr.chunks[1]) > 1:
            arr = arr.rechunk({1: -1})
        self.run = executor_for([arr])
        self.shape = tuple(int(s) for s in arr.shape)
        self.dtype = np.dtype(np.float64)
        self.chunks = tuple(int(c) for c in arr.chunks[0])
        self.token = tokenize(arr.name, self.shape, str(arr.dtype))
        if before_pass is not None:
            before_pass(self)
        _trace.record("persist", [A._node])
        self.blocks = self.run.persist_blocks(arr)
        self.groups, self.where = self.run.groups(self.blocks)
        self.array = arr
        self._source = A

    def identity(self) -> dict[str, Any]:
        """What identifies A in a checkpoint: its deterministic graph token (no pass)."""
        return {"kind": "graph", "token": self.token}

    def matrix(self) -> Any:
        """A as a DRM over the persisted blocks (the solver's reads), with A's labels."""
        return self._source._like(self._leaf())

    def _leaf(self) -> N.Leaf:
        return N.Leaf(self.array, self._source.is_sparse, "operator")

    def _step(self, formula: str) -> None:
        _trace.record("step", [MatvecStep(self._leaf(), formula)])

    def _each_group(self, fn: Any, *per_group: Any) -> list:
        """Submit ``fn(group's blocks, *args)`` once per group, on the group's worker."""
        return [
            self.run.submit(fn, [self.blocks[i] for i in idx], *args, where=where)
            for idx, where, *args in zip(self.groups, self.where, *per_group, strict=True)
        ]

    def _total(self, results: list) -> MatvecParts:
        # Each block's partial sum has n entries. While they are small, they
        # come here and are summed in the fixed tree in this process: one
        # scheduler round trip less per product than a combine task (a trip
        # costs 10-15 ms on a 2-vCPU VM), the same bits. Larger ones are
        # summed by a task on the cluster, so only the total travels here.
        if len(self.chunks) * self.shape[1] * 8 <= CLIENT_COMBINE_BYTES:
            return combine_groups(self.groups, _split_every(), *self.run.gather(results))
        total = self.run.submit(combine_groups, self.groups, _split_every(), *results)
        return self.run.gather([total])[0]

    # --- vectors ------------------------------------------------------------
    def vector(self, b: Any) -> RowVector:
        """``b`` (numpy or dask, length m) as pieces on the workers, aligned with A's blocks."""
        if isinstance(b, da.Array):
            pieces = self.run.persist_blocks(b.astype(np.float64).rechunk((self.chunks,)))
        else:
            pieces = _pieces(np.asarray(b, dtype=np.float64), self.chunks)
            if self.run.client is not None:
                # one task per piece, its data in the task: recomputable after a
                # lost worker, and no single graph message of the whole vector
                where_of = {
                    i: where
                    for idx, where in zip(self.groups, self.where, strict=True)
                    for i in idx
                }
                pieces = [
                    self.run.submit(np.array, p, where=where_of[i]) for i, p in enumerate(pieces)
                ]
        grouped = [
            self.run.submit(_as_list, *[pieces[i] for i in idx], where=where)
            for idx, where in zip(self.groups, self.where, strict=True)
        ]
        return RowVector(self, grouped)

    # --- products -----------------------------------------------------------
    def fused(
        self, v: np.ndarray | None, w: RowVector | None, c: float, *, keep: bool
    ) -> tuple[RowVector | None, np.ndarray, float]:
        """``u = A v + c w`` with ``A^T u`` and ``||u||^2``, in one read of A.

        Returns ``(u as a RowVector if keep else None, A^T u, ||u||^2)``.
        """
        ng = len(self.groups)
        product = " + ".join(t for t, on in (("A v", v is not None), ("c w", w is not None)) if on)
        self._step(f"u = {product or '0'}, A^T u, ||u||^2")
        v = None if v is None else np.asarray(v, dtype=np.float64)
        wp = [None] * ng if w is None else w.pieces
        tasks = self._each_group(fused_group, [v] * ng, wp, [float(c)] * ng, [keep] * ng)
        # only the small partial sums travel; the u pieces stay where they were made
        parts = [self.run.submit(getitem, t, 1) for t in tasks] if keep else tasks
        total = self._total(parts)
        return (RowVector(self, tasks) if keep else None), total.atu, total.normsq

    def normal(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """``(A^T A x, ||A x||^2)`` in one pass."""
        _, atu, normsq = self.fused(x, None, 0.0, keep=False)
        return atu, normsq

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A x`` gathered to this process."""
        x = np.asarray(x, dtype=np.float64)
        self._step("A x")
        return RowVector(self, self._each_group(matvec_group, [x] * len(self.groups))).gather()

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        """``A^T y`` for an in-memory ``y`` of length m."""
        self._step("A^T y")
        pieces = _pieces(np.asarray(y, dtype=np.float64), self.chunks)
        ys = [[pieces[i] for i in idx] for idx in self.groups]
        return self._total(self._each_group(rmatvec_group, ys)).atu

    def glm(self, y: RowVector, s: RowVector | None, *args: Any) -> MatvecParts:
        """A smooth loss's value, gradient and Hessian terms summed over the blocks, one pass.

        ``args`` are :func:`~dlinalg.physical.glm.glm_block`'s after ``y, s``:
        ``(W, b, loss, param, want[, V, vb])``.
        """
        self._step(f"{args[2]} loss: {args[4]}")
        ng = len(self.groups)
        weights = [None] * ng if s is None else s.pieces
        return self._total(
            self._each_group(glm_group, y.pieces, weights, *[[a] * ng for a in args])
        )

    def glm_at(
        self, y: RowVector, s: RowVector | None, P: RowVector | None, *args: Any
    ) -> tuple[RowVector, MatvecParts]:
        """One step of TFOCS's AT iteration on predictors kept on the workers, one pass.

        ``args`` are :func:`~dlinalg.physical.glm.at_block`'s after ``P``; the
        new predictors stay where they were made, only the sums travel.
        """
        Wx, _, Wz, _, theta, theta_y, loss = args[:7]
        made = [t for t, on in (("A x", Wx is not None), ("A z", Wz is not None)) if on]
        kept = "x = combination" if Wx is None and theta is not None else ""
        grad = "gradient at y = combination" if theta_y is not None else ""
        self._step(f"{loss} loss: " + ", ".join(t for t in (*made, kept, grad) if t))
        ng = len(self.groups)
        weights = [None] * ng if s is None else s.pieces
        preds = [None] * ng if P is None else P.pieces
        tasks = self._each_group(at_group, y.pieces, weights, preds, *[[a] * ng for a in args])
        total = self._total([self.run.submit(getitem, t, 1) for t in tasks])
        return RowVector(self, tasks), total

    def restart_predictors(self, P: RowVector) -> RowVector:
        """``[A x | A z]`` made ``[A x | A x]`` where the pieces are (no pass over A)."""
        return RowVector(self, [self.run.submit(at_restart_group, p, where=w)
                                for p, w in zip(P.pieces, self.where, strict=True)])  # fmt: skip

    def reduce_blocks(self, fn: Any) -> MatvecParts:
        """``fn(block)`` (a :class:`MatvecParts`) summed over the blocks in the fixed tree."""
        self._step(f"sum of {getattr(fn, '__name__', type(fn).__name__)}(block)")
        return self._total(self._each_group(parts_group, [fn] * len(self.groups)))


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

    A fused step costs one ``matvec`` and one ``rmatvec`` call. Its contents are
    opaque: :meth:`identity` probes them (one more of each).
    """

    def __init__(self, op: Any):
        self.op = op
        self.shape = tuple(int(s) for s in op.shape)
        self.dtype = np.dtype(np.float64)

    def identity(self) -> dict[str, Any]:
        """What identifies A in a checkpoint: its products with seeded probe vectors.

        Costs one ``matvec`` and one ``rmatvec`` (see
        :func:`dlinalg.solvers.checkpoint.probe_identity`).
        """
        kind = f"{type(self.op).__module__}.{type(self.op).__qualname__}"
        return probe_identity(kind, self.shape, self.matvec, self.rmatvec)

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
