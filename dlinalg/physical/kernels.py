"""Pure block kernels: numpy/scipy functions on one row block.

Nothing here knows about Dask. Every function takes blocks (``numpy.ndarray``
or ``scipy.sparse.csr_array``) and returns a block or a small partial result,
so each kernel can be unit-tested on its own and reused by any scheduler.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_blas_funcs

__all__ = [
    "ELEMWISE",
    "FusedBlock",
    "apply_elemwise",
    "keeps_sparse",
    "elemwise_result_dtype",
    "program_to_str",
    "col_stat_dtype",
    "gram_block",
    "gram_and_sum_block",
    "GRAM_TILE_ROWS",
    "gram_panel_block",
    "atb_block",
    "ax_block",
    "abt_block",
    "cbind_block",
    "row_stat_block",
    "STAT_NEEDS",
    "stats_block",
    "stats_combine",
    "finalize_stat",
    "sum_parts",
    "to_csr",
    "is_sparse_block",
    "aligned",
]

_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}
#: Names of the elementwise operations and their arity.
ELEMWISE = {
    "add": 2,
    "sub": 2,
    "mul": 2,
    "truediv": 2,
    "pow": 2,
    "neg": 1,
    "abs": 1,
    "exp": 1,
    "log": 1,
    "sqrt": 1,
}


def is_sparse_block(x: Any) -> bool:
    return sp.issparse(x)


def to_csr(x: Any) -> sp.csr_array:
    """Return ``x`` as a ``csr_array`` (the one sparse block type dlinalg uses)."""
    return x if isinstance(x, sp.csr_array) else sp.csr_array(x)


def aligned(x: Any) -> Any:
    """``x`` with its data aligned for its dtype, copied only when it is not.

    Blocks that arrive over the network can sit at any byte offset in the
    message buffer, and BLAS takes a different code path (with a different
    rounding) for misaligned doubles. Copying those keeps a recomputed task
    bitwise equal to the original, whichever worker runs it.
    """
    if isinstance(x, np.ndarray) and not x.flags.aligned:
        return x.copy()
    return x


def _dense(x: Any) -> Any:
    return x.toarray() if sp.issparse(x) else x


# ---------------------------------------------------------------------------
# Elementwise operations
# ---------------------------------------------------------------------------
def keeps_sparse(op: str, args: tuple) -> bool:
    """Whether ``op`` on these operands keeps sparse blocks sparse (maps 0 to 0)."""
    mats = [a for a in args if a.shape]
    if not any(m.sparse for m in mats):
        return False
    if any(not a.shape and not hasattr(a, "value") for a in args):
        return False  # a lazy 0-d operand: its value is unknown at build time
    scalars = [a.value for a in args if not a.shape]
    finite = all(np.isfinite(s) for s in scalars)
    if op in ("neg", "abs", "sqrt"):
        return True
    if op == "mul":
        return finite  # 0 * inf is nan, so an infinite factor fills the zeros
    if op in ("add", "sub"):
        return all(m.sparse for m in mats) and not scalars
    first_only = len(mats) == 1 and mats[0] is args[0]
    if op == "truediv":
        return first_only and finite and all(s != 0 for s in scalars)
    if op == "pow":
        return first_only and finite and all(s > 0 for s in scalars)
    return False


def _zero_preserving_scalar(op: str, b: Any) -> bool:
    """False when a scalar right operand would turn implicit zeros into non-zeros."""
    if not np.isscalar(b):
        return True
    if op == "mul":
        return bool(np.isfinite(b))
    if op == "truediv":
        return bool(np.isfinite(b) and b != 0)
    if op == "pow":
        return bool(np.isfinite(b) and b > 0)
    return True


def apply_elemwise(op: str, *xs: Any) -> Any:
    """Apply one elementwise op to blocks/scalars, keeping sparse where it can."""
    if op == "neg":
        return -xs[0]
    if op == "abs":
        return abs(xs[0])
    if op in ("exp", "log"):
        return getattr(np, op)(_dense(xs[0]))
    if op == "sqrt":
        return xs[0].sqrt() if sp.issparse(xs[0]) else np.sqrt(xs[0])
    a, b = xs
    if not _zero_preserving_scalar(op, b):
        a, b = _dense(a), _dense(b)
    if op == "mul":
        if sp.issparse(a):
            return to_csr(a.multiply(b))
        if sp.issparse(b):
            return to_csr(b.multiply(a))
        return a * b
    if op == "truediv":
        if sp.issparse(a) and np.isscalar(b):
            return a / b
        return _dense(a) / _dense(b)
    if op == "pow":
        if sp.issparse(a) and np.isscalar(b):
            return a.power(b)
        return _dense(a) ** _dense(b)
    if op in ("add", "sub"):
        if sp.issparse(a) and sp.issparse(b):
            return to_csr(a + b if op == "add" else a - b)
        a, b = _dense(a), _dense(b)
        return a + b if op == "add" else a - b
    raise ValueError(f"unknown elementwise op {op!r}")


def elemwise_result_dtype(op: str, args: tuple) -> np.dtype:
    """The dtype numpy gives for ``op`` on these operands (Python scalars are weak)."""
    samples = [
        a.value if hasattr(a, "value") and not a.shape else np.ones((1,) * len(a.shape), a.dtype)
        for a in args
    ]
    with np.errstate(all="ignore"):
        return np.asarray(apply_elemwise(op, *samples)).dtype


def _run(program: tuple, blocks: tuple) -> Any:
    kind = program[0]
    if kind == "in":
        return blocks[program[1]]
    if kind == "const":
        return program[1]
    return apply_elemwise(kind, *(_run(p, blocks) for p in program[1:]))


def program_to_str(program: tuple) -> str:
    """A readable formula for a fused program, e.g. ``exp((X0 * 2.0))``."""
    kind = program[0]
    if kind == "in":
        return f"X{program[1]}"
    if kind == "const":
        return repr(program[1])
    args = [program_to_str(p) for p in program[1:]]
    if kind in _SYMBOL:
        return f"({args[0]} {_SYMBOL[kind]} {args[1]})"
    if kind == "neg":
        return f"-{args[0]}"
    return f"{kind}({args[0]})"


class FusedBlock:
    """Callable running a fused elementwise program on aligned row blocks.

    Tokenized by its program, so equal programs give equal Dask keys.
    """

    def __init__(self, program: tuple, dtype: Any, sparse: bool):
        self.program = program
        self.dtype = np.dtype(dtype)
        self.sparse = sparse

    def __call__(self, *blocks: Any) -> Any:
        if not self.sparse:  # numpy semantics everywhere the result is dense
            blocks = tuple(_dense(b) for b in blocks)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _run(self.program, blocks)
        if self.sparse:
            return to_csr(out).astype(self.dtype, copy=False)
        return np.asarray(_dense(out), dtype=self.dtype)

    def __dask_tokenize__(self):
        return ("FusedBlock", self.program, str(self.dtype), self.sparse)

    def __repr__(self) -> str:
        return f"FusedBlock({program_to_str(self.program)})"


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------
#: Rows per tile of the dense Gram kernel: 1024 x 100 doubles (800 KB) stay in L2 cache.
GRAM_TILE_ROWS = 1024


def gram_and_sum_block(x: Any, with_sum: bool = False) -> tuple[Any, Any]:
    """``X^T X`` of one row block and, optionally, its column sums in the same pass.

    Dense floating-point blocks are walked in row tiles of
    :data:`GRAM_TILE_ROWS`, each added to the upper triangle with BLAS
    ``syrk``. The column sums come from the same ``syrk``, as the last column
    of the Gram of ``[tile, 1]``, so they cost no second trip through memory.
    Sparse and integer blocks use one product.
    """
    dense_float = isinstance(x, np.ndarray) and x.dtype.kind == "f"
    if not (dense_float and x.flags.c_contiguous):
        if sp.issparse(x):
            gram = to_csr(x.T @ x)
        else:
            x = aligned(x)
            gram = x.T @ x
        acc = np.float64 if x.dtype.kind == "f" else np.int64
        return gram, (np.asarray(x.sum(axis=0, dtype=acc)).ravel() if with_sum else None)
    x = aligned(x)
    syrk = get_blas_funcs("syrk", dtype=x.dtype)
    ncol = x.shape[1]
    # With sums wanted, each tile is copied (in cache) next to a column of ones:
    # the Gram of [tile, 1] holds the column sums in its last column, for ~2% more flops.
    width = ncol + 1 if with_sum else ncol
    upper = np.zeros((width, width), dtype=x.dtype, order="F")
    if with_sum:
        buffer = np.empty((min(GRAM_TILE_ROWS, x.shape[0]), width), dtype=x.dtype)
        buffer[:, ncol] = 1
    for start in range(0, x.shape[0], GRAM_TILE_ROWS):
        tile = x[start : start + GRAM_TILE_ROWS]
        if with_sum:
            buffer[: tile.shape[0], :ncol] = tile
            tile = buffer[: tile.shape[0]]
        # tile.T is a Fortran-ordered view: syrk(trans=0) on it is tile.T @ tile, no copy
        upper = syrk(1.0, tile.T, beta=1.0, c=upper, trans=0, lower=0, overwrite_c=1)
    gram = np.triu(upper[:ncol, :ncol])
    gram += np.triu(upper[:ncol, :ncol], 1).T
    total = upper[:ncol, ncol].astype(np.float64) if with_sum else None
    return np.ascontiguousarray(gram), total


def gram_block(x: Any) -> Any:
    """``X^T X`` of one row block (dense: tiled BLAS syrk; sparse: CSR product)."""
    return gram_and_sum_block(x)[0]


def gram_panel_block(x: Any, start: int, stop: int) -> Any:
    """Columns ``start:stop`` of ``X^T X``: ``X^T X[:, start:stop]``."""
    if sp.issparse(x):
        return to_csr(x.T @ x[:, start:stop])
    x = aligned(x)
    return x.T @ x[:, start:stop]


def atb_block(x: Any, y: Any) -> Any:
    """``X^T Y`` for row-aligned blocks; Y may be a vector.

    Two dense blocks are multiplied as ``(Y^T X)^T``: the same product, but
    OpenBLAS runs ``Y^T X`` (both operands read along their rows) 1.5-1.9x
    faster than ``X^T Y`` when Y is much narrower than X (100,000 x 100 by
    x 20 columns: 44 ms against 23 ms on one core here), and never slower.
    """
    if sp.issparse(x) and sp.issparse(y):
        return to_csr(x.T @ y)
    x, y = aligned(x), aligned(y)
    if sp.issparse(x) or sp.issparse(y):
        out = x.T @ y
        return np.asarray(out) if not sp.issparse(out) else out.toarray()
    return np.ascontiguousarray((y.T @ x).T)


def ax_block(x: Any, v: Any) -> Any:
    """``X @ v`` with v an in-core vector or matrix; dense result."""
    out = aligned(x) @ aligned(v)
    return out.toarray() if sp.issparse(out) else np.asarray(out)


class Contracted:
    """A block function over a contracted index that has one chunk.

    ``da.blockwise(..., concatenate=True)`` copies even a single block (its
    ``concatenate3`` always allocates): 80 MB per task for a 100,000 x 100
    row block, a quarter of a mat-vec's time. The row matrices dlinalg
    contracts always have one column chunk, so this unwraps the one-element
    lists ``concatenate=False`` passes instead.
    """

    def __init__(self, func: Any):
        self.func = func

    def __call__(self, *args: Any) -> Any:
        return self.func(*(_only(a) for a in args))

    def __dask_tokenize__(self):
        return ("Contracted", self.func.__name__)


def _only(blocks: Any) -> Any:
    if isinstance(blocks, list):
        if len(blocks) != 1:
            raise ValueError(f"expected one block along the contracted axis, got {len(blocks)}")
        return _only(blocks[0])
    return blocks


def abt_block(x: Any, b: Any) -> Any:
    """``X @ B^T`` with B gathered in one block."""
    out = aligned(x) @ aligned(b).T
    if sp.issparse(x) and sp.issparse(b):
        return to_csr(out)
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def cbind_block(*parts: Any, dtype: Any, sparse: bool) -> Any:
    """Horizontally stack aligned blocks; scalar parts become constant columns."""
    nrow = next(p.shape[0] for p in parts if np.ndim(p) == 2)
    cols = [p if np.ndim(p) == 2 else np.full((nrow, 1), p, dtype=dtype) for p in parts]
    if sparse:
        return to_csr(sp.hstack([to_csr(c) for c in cols], format="csr")).astype(dtype)
    return np.hstack([_dense(c) for c in cols]).astype(dtype, copy=False)


def row_stat_block(x: Any, stat: str) -> np.ndarray:
    """Row sums or means of one block as a 1-D array."""
    if stat == "mean":  # float64 accumulation, as numpy's mean of integers
        return np.asarray(x.sum(axis=1, dtype=np.float64)).ravel() / x.shape[1]
    return np.asarray(x.sum(axis=1)).ravel()


def sum_parts(*parts: Any) -> Any:
    """Sum partial results in the given order (a fixed order keeps results bitwise stable)."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return to_csr(total) if sp.issparse(total) else total


# ---------------------------------------------------------------------------
# Column statistics, mergeable across blocks (Chan et al. for the variance)
# ---------------------------------------------------------------------------
def col_stat_dtype(stat: str, dtype: np.dtype) -> np.dtype:
    """The dtype numpy gives for this statistic of a ``dtype`` matrix."""
    if stat == "nnz":
        return np.dtype(np.intp)
    if stat == "sum":
        return np.ones(1, dtype=dtype).sum().dtype
    if stat in ("mean", "var", "norm", "sumsq"):
        return np.ones(1, dtype=dtype).mean().dtype
    raise ValueError(f"unknown statistic {stat!r}")


#: The partial sums each statistic needs.
STAT_NEEDS = {
    "sum": ("sum",),
    "mean": ("fsum",),  # a float64 sum: numpy's mean of integers does not wrap
    "var": ("fsum", "m2"),
    "sumsq": ("sumsq",),
    "norm": ("sumsq",),
    "nnz": ("nnz",),
    "gram": ("gram",),
}


def stats_block(x: Any, needs: tuple[str, ...]) -> dict[str, Any]:
    """Partial statistics of one block, accumulated in float64 (or int64).

    Always holds ``n`` (rows), plus whichever of ``sum`` (in the dtype numpy's
    sum gives: int64 for integers), ``fsum`` (float64, for means and
    variances as numpy computes them), ``m2`` (sum of squared deviations from
    the block mean), ``sumsq``, ``nnz`` and ``gram`` are needed. For floating
    blocks ``fsum`` is ``sum``.
    """
    x = aligned(x)
    out: dict[str, Any] = {"n": x.shape[0]}
    floating = x.dtype.kind == "f"
    acc = np.float64 if floating else np.int64
    want_fsum = "fsum" in needs or "m2" in needs  # the variance merges by the means
    want_sum = "sum" in needs or (floating and want_fsum)
    if "gram" in needs:  # first: the column sums ride along with the Gram's pass
        out["gram"], tile_sums = gram_and_sum_block(x, with_sum=want_sum)
        if tile_sums is not None:
            out["sum"] = tile_sums
    if want_sum and "sum" not in out:
        out["sum"] = np.asarray(x.sum(axis=0, dtype=acc)).ravel()
    if want_fsum:
        out["fsum"] = (
            out["sum"] if floating else np.asarray(x.sum(axis=0, dtype=np.float64)).ravel()
        )
    if "m2" in needs:
        mean = out["fsum"] / max(x.shape[0], 1)
        if sp.issparse(x):
            sq = np.asarray(x.multiply(x).sum(axis=0, dtype=np.float64)).ravel()
            out["m2"] = np.maximum(sq - x.shape[0] * mean * mean, 0.0)
        else:
            d = x - mean
            out["m2"] = np.einsum("ij,ij->j", d, d, dtype=np.float64)
    if "sumsq" in needs:
        if sp.issparse(x):
            data = x.data.astype(np.float64)
            out["sumsq"] = np.bincount(x.indices, weights=data * data, minlength=x.shape[1])
        else:
            out["sumsq"] = np.einsum("ij,ij->j", x, x, dtype=np.float64)
    if "nnz" in needs:
        if sp.issparse(x):
            out["nnz"] = np.bincount(x.indices[x.data != 0], minlength=x.shape[1])
        else:
            out["nnz"] = np.count_nonzero(x, axis=0)
    return out


def stats_combine(*parts: dict[str, Any]) -> dict[str, Any]:
    """Merge partial statistics; the variance uses Chan-Golub-LeVeque's update."""
    out = dict(parts[0])
    for p in parts[1:]:
        n_a, n_b = out["n"], p["n"]
        n = n_a + n_b
        if "m2" in out:
            delta = p["fsum"] / max(n_b, 1) - out["fsum"] / max(n_a, 1)
            out["m2"] = out["m2"] + p["m2"] + delta * delta * (n_a * n_b / max(n, 1))
        for key in ("sum", "fsum", "sumsq", "nnz", "gram"):
            if key in out:
                out[key] = out[key] + p[key]
        out["n"] = n
    if "gram" in out and sp.issparse(out["gram"]):
        out["gram"] = to_csr(out["gram"])
    return out


def finalize_stat(part: dict[str, Any], stat: str, dtype: Any, ddof: int = 0) -> Any:
    """One statistic from merged partials, in the dtype numpy would give."""
    if stat == "gram":
        return part["gram"]
    n = part["n"]
    out_dtype = col_stat_dtype(stat, np.dtype(dtype))
    if stat == "sum":
        value = part["sum"]
    elif stat == "mean":
        value = part["fsum"] / n
    elif stat == "var":
        value = part["m2"] / (n - ddof) if n > ddof else np.full(part["m2"].shape, np.nan)
    elif stat == "sumsq":
        value = part["sumsq"]
    elif stat == "norm":
        return out_dtype.type(np.sqrt(part["sumsq"].sum()))
    elif stat == "nnz":
        value = part["nnz"]
    else:
        raise ValueError(f"unknown statistic {stat!r}")
    return np.asarray(value).astype(out_dtype, copy=False)
