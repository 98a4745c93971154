"""Row-wise linear maps applied tile by tile, and the one-pass sums built on them.

A :class:`RowChain` is ``y = ((x M_1 - c_1) M_2 ...)``: each output row depends
only on the same input row. The decompositions describe every tall factor as
a chain on the rows of ``A`` (``Q = A R_1^{-1} R_2^{-1}``, ``U = A Z T U_b``)
and never store the intermediate ones.

Determinism matters more than usual here. Cholesky-QR2 is orthogonal to
machine precision only if the ``Q_1`` whose Gram gave ``R_2`` is *exactly* the
``Q_1`` later multiplied by ``R_2^{-1}``; recomputing ``Q_1`` with a different
BLAS blocking would leave an error of order ``eps * cond(A)``. So a chain
always walks a block in the same row tiles (from the block start, a size fixed
by the chain's width), and :func:`chain_block` (the reductions) and
``RowChain.__call__`` (the materialised factor) run the same tile code.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_blas_funcs

from dlinalg._tokens import array_token
from dlinalg.physical.kernels import aligned

__all__ = [
    "RowChain",
    "tile_rows",
    "PASS_PARTS",
    "PassParts",
    "chain_block",
    "chain_combine",
    "pass_part",
]

#: Bytes of one float64 tile: 1 MiB stays in the L2 cache of current CPUs.
TILE_BYTES = 2**20
#: Tile rows stay between these bounds (and are a multiple of the lower one).
MIN_TILE_ROWS, MAX_TILE_ROWS = 64, 1024


def tile_rows(width: int) -> int:
    """Rows per tile for rows of ``width`` float64 values (64 to 1024, a multiple of 64)."""
    rows = TILE_BYTES // (8 * max(1, width))
    return int(min(MAX_TILE_ROWS, max(MIN_TILE_ROWS, rows - rows % MIN_TILE_ROWS)))


def _as_tile(x: Any) -> np.ndarray:
    """A dense float64 C-ordered view or copy of a (sparse or dense) row tile."""
    if sp.issparse(x):
        x = x.toarray()
    if x.dtype != np.float64 or not x.flags.c_contiguous:
        return np.ascontiguousarray(x, dtype=np.float64)
    return aligned(x)


class _Workspace:
    """Two flat float64 buffers, handed out in turn as C-ordered (rows, width) views."""

    def __init__(self, rows: int, width: int):
        self.buffers = [np.empty(rows * width), np.empty(rows * width)]
        self.turn = 0

    def take(self, rows: int, width: int) -> np.ndarray:
        self.turn ^= 1
        return self.buffers[self.turn][: rows * width].reshape(rows, width)


class RowChain:
    """``y = x S_1 S_2 ...`` row by row, each step a product or a shift.

    Steps are ``("triu", M)`` (``y @ M`` with M upper triangular, BLAS
    ``trmm``), ``("full", M)`` (``y @ M``, ``gemm``) or ``("sub", c)``
    (``y - c`` with c a row vector). Work is in float64; the materialised
    result is cast to ``out_dtype``.

    Parameters
    ----------
    ncol_in : int
        Number of columns of the input rows.
    steps : tuple
        The steps, applied left to right.
    out_dtype : dtype, default float64
        Dtype of the blocks :meth:`__call__` returns.
    """

    rowwise = True

    def __init__(self, ncol_in: int, steps: tuple = (), out_dtype: Any = np.float64):
        self.ncol_in = int(ncol_in)
        self.steps = tuple(steps)
        self.out_dtype = np.dtype(out_dtype)
        self.tile = tile_rows(max([self.ncol_in, *(s[1].shape[-1] for s in self.steps)]))

    # --- building ---------------------------------------------------------
    @property
    def ncol(self) -> int:
        """Number of columns of the output rows."""
        widths = [s[1].shape[1] for s in self.steps if s[0] != "sub"]
        return widths[-1] if widths else self.ncol_in

    def then(self, kind: str, value: np.ndarray) -> RowChain:
        """A new chain with one more step (``"triu"``, ``"full"`` or ``"sub"``)."""
        value = np.ascontiguousarray(value, dtype=np.float64)
        if kind == "triu":
            value = np.asfortranarray(value)  # trmm reads it column-major, no copy
        return RowChain(self.ncol_in, (*self.steps, (kind, value)), self.out_dtype)

    def collapsed(self) -> RowChain:
        """The same map with its products multiplied out: one product and at most one shift.

        ``((x M_1) - c) M_2 = x (M_1 M_2) - c M_2``: cheaper to run, but rounded
        differently from the step-by-step chain, so not for a chain whose exact
        rows a later step must correct (see the module notes).
        """
        prod = shift = None
        for kind, value in self.steps:
            if kind == "sub":
                shift = value if shift is None else shift + value
            else:
                prod = value if prod is None else prod @ value
                shift = None if shift is None else shift @ value
        out = RowChain(self.ncol_in, (), self.out_dtype)
        if prod is not None:  # a product of upper triangular matrices is upper triangular
            upper = all(kind != "full" for kind, _ in self.steps)
            out = out.then("triu" if upper else "full", prod)
        return out if shift is None else out.then("sub", shift)

    def astype(self, dtype: Any) -> RowChain:
        """The same chain with another output dtype."""
        return RowChain(self.ncol_in, self.steps, dtype)

    # --- running ----------------------------------------------------------
    def _first(self, x: Any) -> tuple[Any, tuple]:
        """Apply a leading product to a whole sparse block (row-independent in scipy)."""
        if sp.issparse(x) and self.steps and self.steps[0][0] != "sub":
            y = x @ self.steps[0][1]
            return np.ascontiguousarray(y, dtype=np.float64), self.steps[1:]
        return x, self.steps

    def _widths(self) -> int:
        return max([self.ncol_in, *(s[1].shape[-1] for s in self.steps)])

    def apply_tile(self, x: Any, steps: tuple, work: _Workspace) -> np.ndarray:
        """Run ``steps`` on one tile; the result is a view into ``work``'s buffers.

        Every product writes into a preallocated buffer: allocating tile-sized
        arrays would cost page faults on every tile (distributed's nannies set
        ``MALLOC_TRIM_THRESHOLD_``, so freed memory goes back to the system).
        """
        rows = x.shape[0]
        if steps and steps[0][0] == "full" and isinstance(x, np.ndarray) and x.dtype == np.float64:
            y = work.take(rows, steps[0][1].shape[1])
            np.matmul(x, steps[0][1], out=y)
            steps = steps[1:]
        else:
            y = work.take(rows, x.shape[1])
            np.copyto(y, x.toarray() if sp.issparse(x) else x)
        for kind, value in steps:
            if kind == "sub":
                np.subtract(y, value, out=y)
            elif kind == "full":
                z = work.take(rows, value.shape[1])
                np.matmul(y, value, out=z)
                y = z
            else:  # y @ M = (M^T y^T)^T; y.T is column-major, so trmm works in place
                trmm = get_blas_funcs("trmm", dtype=np.float64)
                y = trmm(1.0, value, y.T, side=0, lower=0, trans_a=1, overwrite_b=1).T
        return y

    def tiles(self, x: Any):
        """Yield ``(start, input_tile, output_tile)`` walking block ``x`` in row tiles.

        The output tile is a view into a buffer reused for the next tile.
        """
        x = aligned(x)
        x, steps = self._first(x)
        work = _Workspace(min(self.tile, max(1, x.shape[0])), self._widths())
        for start in range(0, x.shape[0], self.tile):
            tile = x[start : start + self.tile]
            yield start, tile, self.apply_tile(tile, steps, work)

    def __call__(self, x: Any) -> np.ndarray:
        out = np.empty((x.shape[0], self.ncol), dtype=self.out_dtype)
        for start, _, y in self.tiles(x):
            out[start : start + y.shape[0]] = y
        return out

    def __dask_tokenize__(self):
        return ("RowChain", self.ncol_in, array_token(self.steps), str(self.out_dtype))

    def __repr__(self) -> str:
        kinds = " ".join(k for k, _ in self.steps) or "identity"
        return f"RowChain({self.ncol_in} -> {self.ncol}: {kinds})"


#: The sums a pass can compute, in the order a merged pass lists them.
PASS_PARTS = ("gram", "atb", "colsum")


class PassParts(NamedTuple):
    """Partial sums of one pass over the rows of A with ``Y = chain(A)``.

    ``gram`` is ``Y^T Y``, ``atb`` is ``A^T Y``, ``colsum`` the column sums of
    ``Y`` and ``count`` the number of rows (None for what was not asked).
    """

    count: int
    gram: np.ndarray | None
    atb: np.ndarray | None
    colsum: np.ndarray | None


def chain_block(x: Any, chain: RowChain, want: tuple[str, ...]) -> PassParts:
    """The partial sums ``want`` (of "gram", "atb", "colsum") over one row block."""
    if sp.issparse(x):
        return _sparse_chain_block(x, chain, want)
    width = chain.ncol
    gram = np.zeros((width, width), order="F") if "gram" in want else None
    atb = np.zeros((x.shape[1], width)) if "atb" in want else None
    colsum = np.zeros(width) if "colsum" in want else None
    syrk, gemm = get_blas_funcs(("syrk", "gemm"), dtype=np.float64)
    if atb is not None:
        atb = np.asfortranarray(atb)
    for _, tile, y in chain.tiles(x):
        if gram is not None:
            # y.T is column-major: syrk(trans=0) on it is y^T y, without a copy
            gram = syrk(1.0, y.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
        if atb is not None:  # atb += tile^T y, with both as column-major views
            t = _as_tile(tile)
            atb = gemm(1.0, t.T, y.T, beta=1.0, c=atb, trans_b=1, overwrite_c=1)
        if colsum is not None:
            colsum += y.sum(axis=0)
    if gram is not None:
        gram = np.triu(gram) + np.triu(gram, 1).T
    return PassParts(x.shape[0], gram, atb, colsum)


def _sparse_chain_block(x: Any, chain: RowChain, want: tuple[str, ...]) -> PassParts:
    """Sparse blocks: one product per block (CSR products are row by row, tiles change nothing)."""
    x = x.astype(np.float64) if x.dtype != np.float64 else x
    y = chain.astype(np.float64)(x) if chain.steps else x
    dense = (lambda v: v.toarray()) if sp.issparse(y) else np.asarray
    return PassParts(
        x.shape[0],
        dense(y.T @ y) if "gram" in want else None,
        dense(x.T @ y) if "atb" in want else None,
        np.asarray(y.sum(axis=0)).ravel() if "colsum" in want else None,
    )


def chain_combine(*parts: PassParts) -> PassParts:
    """Sum partial pass results left to right (a fixed order keeps them bitwise stable)."""

    def total(values: list) -> Any:
        if values[0] is None:
            return None
        out = values[0].copy()
        for v in values[1:]:
            out += v
        return out

    return PassParts(
        sum(p.count for p in parts),
        total([p.gram for p in parts]),
        total([p.atb for p in parts]),
        total([p.colsum for p in parts]),
    )


def pass_part(parts: PassParts, part: str) -> np.ndarray:
    """One named sum (``"gram"``, ``"atb"`` or ``"colsum"``) of a computed pass."""
    return getattr(parts, part)
