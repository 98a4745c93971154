"""The distributed row matrix (DRM) and lazy results.

A :class:`DRM` is a 2-D matrix partitioned into row blocks (numpy arrays or
``scipy.sparse.csr_array``), described by a logical plan node. Operators build
new plans; nothing runs until :meth:`DRM.compute`, :meth:`DRM.persist`,
:meth:`DRM.to_zarr` or :func:`dlinalg.compute`. Vectors and scalars that come
out of the algebra (``A @ x``, ``A.col_means()``) are :class:`LazyResult`.
"""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np

from dlinalg._operands import as_node, resolve_index
from dlinalg.errors import (
    OperandTypeError,
    OutOfBoundsError,
    ParameterError,
    ShapeError,
    check_matmul_shapes,
    check_same_shape,
)
from dlinalg.plan import nodes as N

__all__ = ["DRM", "LazyResult"]


class _Lazy:
    """What DRM and LazyResult share: a plan node, compute, explain, to_dask."""

    __array_ufunc__ = None  # numpy defers ``ndarray @ A`` and ``x - A`` to us

    def __init__(self, node: N.Node):
        self._node = node

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the value."""
        return self._node.shape

    @property
    def dtype(self) -> np.dtype:
        """Numpy dtype of the value."""
        return np.dtype(self._node.dtype)

    def optimized(self) -> N.Node:
        """The optimized plan of this expression."""
        from dlinalg.plan.rewrite import optimize

        return optimize(self._node)

    def explain(self) -> str:
        """A readable tree of the optimized physical plan.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((6, 2)), chunks=3)
        >>> print((A.T @ A).explain())
        Gram (slim)  [2 x 2 float64, local]
        └─ Leaf numpy (dense, 2 row blocks)  [6 x 2 float64]
        """
        from dlinalg.plan.rewrite import fuse_statistics

        return _tree(fuse_statistics([self.optimized()])[0])

    def to_dask(self) -> Any:
        """The value as a Dask collection (``dask.array.Array`` for matrices/vectors)."""
        from dlinalg.plan.lower import Lowering

        node = self.optimized()
        low = Lowering()
        return low.rows(node) if not node.local else low.aligned(node, node.shape[:1])

    def compute(self, *, progress: bool | None = None, **kwargs: Any) -> Any:
        """Compute the value: numpy array, scipy.sparse ``csr_array`` or scalar.

        Parameters
        ----------
        progress : bool, optional
            Show a progress bar (terminal or Jupyter). Defaults to the Dask
            config value ``dlinalg.progress`` (False).
        **kwargs
            Passed to :func:`dask.compute` (e.g. ``scheduler="sync"``).
        """
        from dlinalg.functions import compute

        return compute(self, progress=progress, **kwargs)[0]


class LazyResult(_Lazy):
    """A lazy vector or scalar produced by the algebra (``A @ x``, ``A.col_sums()``).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
    >>> A.col_sums().compute()
    array([6., 9.])
    """

    def __init__(self, node: N.Node, post: tuple = ()):
        super().__init__(node)
        self._post = post

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s for i, s in enumerate(self._node.shape) if i not in self._post)

    def __repr__(self) -> str:
        where = "in memory" if self._node.local else "distributed"
        return f"<LazyResult shape={self.shape} dtype={self.dtype} ({where})>"

    def __len__(self) -> int:
        return self.shape[0]


class DRM(_Lazy):
    """Distributed row matrix: a lazy 2-D matrix of row blocks on Dask.

    Create one with :func:`dlinalg.from_array`, :func:`dlinalg.read_zarr`,
    :func:`dlinalg.from_xarray` or :func:`dlinalg.random`. Operators (``A.T``,
    ``@``, ``+ - * / **``, slicing, column statistics) return new lazy
    expressions; the optimizer turns them into one-pass physical plans.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> A = dl.from_array(X, chunks=2)
    >>> A
    <DRM 4 x 3 float64, dense, 2 row blocks>
    >>> np.allclose((A.T @ A).compute(), X.T @ X)
    True
    """

    def __init__(
        self,
        node: N.Node,
        *,
        row_labels: tuple | None = None,
        col_labels: tuple | None = None,
        dims: tuple[str, str] = ("row", "col"),
        attrs: dict | None = None,
    ):
        super().__init__(node)
        self._row_labels = row_labels
        self._col_labels = col_labels
        self._dims = tuple(dims)
        self._attrs = dict(attrs or {})

    @classmethod
    def _from_dask(
        cls,
        arr: da.Array,
        *,
        row_labels: tuple | None = None,
        col_labels: tuple | None = None,
        dims: tuple[str, str] = ("row", "col"),
        attrs: dict | None = None,
        source: str = "dask",
    ) -> DRM:
        """Wrap a 2-D Dask array of row blocks (one column chunk). Trusts its input."""
        from dlinalg.physical.kernels import is_sparse_block

        leaf = N.Leaf(arr, is_sparse_block(arr._meta), source)
        return cls(leaf, row_labels=row_labels, col_labels=col_labels, dims=dims, attrs=attrs)

    def _like(self, node: N.Node, row_labels: Any = "same", col_labels: Any = "same") -> DRM:
        return DRM(
            node,
            row_labels=self._row_labels if row_labels == "same" else row_labels,
            col_labels=self._col_labels if col_labels == "same" else col_labels,
            dims=self._dims,
            attrs=self._attrs,
        )

    # --- metadata -------------------------------------------------------
    @property
    def nrow(self) -> int:
        """Number of rows."""
        return self.shape[0]

    @property
    def ncol(self) -> int:
        """Number of columns."""
        return self.shape[1]

    @property
    def is_sparse(self) -> bool:
        """True when the row blocks are ``scipy.sparse.csr_array``."""
        return bool(self._node.sparse)

    @property
    def chunks(self) -> tuple[int, ...]:
        """Sizes of the row blocks."""
        if self._node.local:
            return (self.nrow,)
        return tuple(self.to_dask().chunks[0])

    @property
    def row_labels(self) -> tuple | None:
        """Row labels (e.g. from xarray coords or Zarr), or None."""
        return self._row_labels

    @property
    def col_labels(self) -> tuple | None:
        """Column labels, or None."""
        return self._col_labels

    @property
    def dims(self) -> tuple[str, str]:
        """Names of the two axes (xarray dims)."""
        return self._dims

    @property
    def attrs(self) -> dict:
        """Free-form metadata kept through xarray and Zarr round trips."""
        return self._attrs

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        where = "in memory" if self._node.local else f"{len(self.chunks)} row blocks"
        return f"<DRM {self.nrow} x {self.ncol} {self.dtype}, {kind}, {where}>"

    # --- algebra ----------------------------------------------------------
    @property
    def T(self) -> DRM:
        """The transpose (lazy; consumed by products without being materialised)."""
        return DRM(
            N.Transpose(self._node),
            row_labels=self._col_labels,
            col_labels=self._row_labels,
            dims=self._dims[::-1],
            attrs=self._attrs,
        )

    def __matmul__(self, other: Any) -> DRM | LazyResult:
        b = as_node(other, "right operand of @")
        if not b.shape:
            raise ShapeError("matmul: a scalar operand is not allowed, use * instead")
        check_matmul_shapes(self.shape, b.shape)
        node = N.MatMul(self._node, b)
        if len(b.shape) == 1:
            return LazyResult(node)
        col_labels = other.col_labels if isinstance(other, DRM) else None
        return self._like(node, col_labels=col_labels)

    def __rmatmul__(self, other: Any) -> DRM | LazyResult:
        a = as_node(other, "left operand of @")
        if not a.shape:
            raise ShapeError("matmul: a scalar operand is not allowed, use * instead")
        check_matmul_shapes(a.shape, self.shape)
        node = N.MatMul(a, self._node)
        if len(a.shape) == 1:
            return LazyResult(node)
        return self._like(node, row_labels=None)

    def _elemwise(self, op: str, *others: Any, reflect: bool = False) -> DRM:
        args = [self._node] + [as_node(o, f"operand of {op}") for o in others]
        for arg in args[1:]:
            _check_broadcast(self.shape, arg.shape, op)
        if reflect:
            args.reverse()
        return self._like(N.Elemwise(op, tuple(args)))

    def __add__(self, other: Any) -> DRM:
        return self._elemwise("add", other)

    def __radd__(self, other: Any) -> DRM:
        return self._elemwise("add", other, reflect=True)

    def __sub__(self, other: Any) -> DRM:
        return self._elemwise("sub", other)

    def __rsub__(self, other: Any) -> DRM:
        return self._elemwise("sub", other, reflect=True)

    def __mul__(self, other: Any) -> DRM:
        return self._elemwise("mul", other)

    def __rmul__(self, other: Any) -> DRM:
        return self._elemwise("mul", other, reflect=True)

    def __truediv__(self, other: Any) -> DRM:
        return self._elemwise("truediv", other)

    def __rtruediv__(self, other: Any) -> DRM:
        return self._elemwise("truediv", other, reflect=True)

    def __pow__(self, other: Any) -> DRM:
        return self._elemwise("pow", other)

    def __rpow__(self, other: Any) -> DRM:
        return self._elemwise("pow", other, reflect=True)

    def __neg__(self) -> DRM:
        return self._elemwise("neg")

    def __abs__(self) -> DRM:
        return self._elemwise("abs")

    def abs(self) -> DRM:
        """Elementwise absolute value (keeps sparse blocks sparse)."""
        return self._elemwise("abs")

    def exp(self) -> DRM:
        """Elementwise exponential (sparse input gives dense blocks)."""
        return self._elemwise("exp")

    def log(self) -> DRM:
        """Elementwise natural logarithm (sparse input gives dense blocks)."""
        return self._elemwise("log")

    def sqrt(self) -> DRM:
        """Elementwise square root (keeps sparse blocks sparse)."""
        return self._elemwise("sqrt")

    def __getitem__(self, key: Any) -> DRM | LazyResult:
        if not isinstance(key, tuple):
            key = (key, slice(None))
        if len(key) != 2:
            raise OutOfBoundsError(f"a DRM takes [rows, cols], got {len(key)} indices")
        rows, drop_r = resolve_index(key[0], self.nrow, self._row_labels, "row")
        cols, drop_c = resolve_index(key[1], self.ncol, self._col_labels, "col")
        node = N.Slice(self._node, rows, cols)
        if 0 in node.shape:
            raise ShapeError(
                f"the selection [{key[0]!r}, {key[1]!r}] of a {self.nrow} x {self.ncol} matrix "
                "is empty; dlinalg matrices have at least one row and one column"
            )
        if drop_r or drop_c:
            return LazyResult(node, post=tuple(i for i, d in enumerate((drop_r, drop_c)) if d))
        return self._like(
            node,
            row_labels=_pick(self._row_labels, rows),
            col_labels=_pick(self._col_labels, cols),
        )

    # --- statistics -----------------------------------------------------------
    def col_sums(self) -> LazyResult:
        """Column sums (like R's ``colSums``; numpy's ``A.sum(axis=0)``)."""
        return LazyResult(N.ColStat(self._node, "sum"))

    def col_means(self) -> LazyResult:
        """Column means (R's ``colMeans``; numpy's ``A.mean(axis=0)``)."""
        return LazyResult(N.ColStat(self._node, "mean"))

    def col_vars(self, ddof: int = 0) -> LazyResult:
        """Column variances with ``ddof`` like numpy (one stable pass, Chan et al.)."""
        if not isinstance(ddof, int | np.integer) or ddof < 0:
            raise ParameterError(f"ddof must be a non-negative integer, got {ddof!r}")
        return LazyResult(N.ColStat(self._node, "var", int(ddof)))

    def col_nnz(self) -> LazyResult:
        """Number of non-zero entries per column (Mahout's ``numNonZeroElementsPerColumn``)."""
        return LazyResult(N.ColStat(self._node, "nnz"))

    def row_sums(self) -> LazyResult:
        """Row sums: a distributed vector with this matrix's row blocks."""
        return LazyResult(N.RowStat(self._node, "sum"))

    def row_means(self) -> LazyResult:
        """Row means: a distributed vector with this matrix's row blocks."""
        return LazyResult(N.RowStat(self._node, "mean"))

    def norm(self) -> LazyResult:
        """Frobenius norm (a lazy scalar), without squaring in the input dtype."""
        return LazyResult(N.ColStat(self._node, "norm"))

    # --- blocks and materialisation -------------------------------------------
    def map_blocks(
        self, func: Any, ncol: int | None = None, *, dtype: Any = None, sparse: bool | None = None
    ) -> DRM:
        """Apply ``func`` to every row block (Mahout's ``mapBlock``).

        ``func`` maps a block of shape ``(rows, self.ncol)`` to one of shape
        ``(rows, ncol)``; ``ncol`` defaults to ``self.ncol`` and ``dtype`` to
        ``self.dtype``. The row count of each block must not change.
        """
        from dlinalg.errors import check_dtype

        if not callable(func):
            raise OperandTypeError(f"func must be callable, got {type(func).__name__}")
        ncol = self.ncol if ncol is None else ncol
        if isinstance(ncol, bool) or not isinstance(ncol, int | np.integer) or ncol <= 0:
            raise ParameterError(f"ncol must be a positive integer, got {ncol!r}")
        out_dtype = check_dtype(self.dtype if dtype is None else dtype, "map_blocks dtype")
        out_sparse = self.is_sparse if sparse is None else bool(sparse)
        node = N.MapBlocks(self._node, func, int(ncol), out_dtype, out_sparse)
        return self._like(node, col_labels=self._col_labels if ncol == self.ncol else None)

    def rechunk(self, rows: int | tuple[int, ...]) -> DRM:
        """New row blocks: ``rows`` per block, or explicit block sizes."""
        from dlinalg.errors import check_row_chunks

        return self._like(N.Rechunk(self._node, check_row_chunks(rows, self.nrow)))

    def persist(self, **kwargs: Any) -> DRM:
        """Compute the row blocks and keep them in (cluster) memory.

        Returns a new DRM backed by the persisted blocks, like Mahout's
        ``checkpoint()``; later expressions start from them.
        """
        arr = self.to_dask().persist(**kwargs)
        leaf = N.Leaf(arr, self.is_sparse, "persisted")
        return self._like(leaf)

    def to_xarray(self) -> Any:
        """A lazy ``xarray.DataArray`` with dims, label coords and attrs."""
        from dlinalg.io.xarray import to_xarray

        return to_xarray(self)

    def to_zarr(
        self, path: str | os.PathLike, *, component: str | None = None, overwrite: bool = False
    ) -> None:
        """Write to a Zarr store crash-safely (temporary store, marker, rename)."""
        from dlinalg.io.zarr import write_zarr

        write_zarr(self, path, component=component, overwrite=overwrite)


def _check_broadcast(shape: tuple, other: tuple, op: str) -> None:
    if other == () or other == shape:
        return
    if len(other) == 1 and other[0] == shape[1]:
        return  # a row vector broadcast over every row, as numpy does
    if len(other) == 2 and other in ((1, shape[1]), (shape[0], 1)):
        return
    check_same_shape(shape, other, op)


def _pick(labels: tuple | None, sel: Any) -> tuple | None:
    if labels is None:
        return None
    if isinstance(sel, slice):
        return labels[sel]
    return tuple(labels[i] for i in sel)


def _tree(node: N.Node, prefix: str = "", last: bool = True, top: bool = True) -> str:
    where = "local" if node.local else ""
    kind = f"{' x '.join(map(str, node.shape))} {node.dtype}" if node.shape else f"{node.dtype}"
    meta = f"  [{kind}{', ' + where if where else ''}]"
    if isinstance(node, N.ColStats | N.Scalar):
        meta = ""
    head = "" if top else prefix + ("└─ " if last else "├─ ")
    lines = [head + node.describe() + meta]
    kids = node.children
    for i, child in enumerate(kids):
        ext = "" if top else prefix + ("   " if last else "│  ")
        lines.append(_tree(child, ext, i == len(kids) - 1, top=False))
    return "\n".join(lines)
