"""The distributed row matrix (DRM) and lazy results.

A :class:`DRM` is a 2-D matrix partitioned into row blocks (numpy arrays or
``scipy.sparse.csr_array``), described by a logical plan node. Operators build
new plans; nothing runs until :meth:`DRM.compute`, :meth:`DRM.persist`,
:meth:`DRM.to_zarr` or :func:`dlinalg.compute`. Vectors and scalars that come
out of the algebra (``A @ x``, ``A.col_means()``) are :class:`LazyResult`.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any

import dask.array as da
import numpy as np

from dlinalg import _trace
from dlinalg._html import html_repr, labels_text
from dlinalg._operands import as_node, resolve_index
from dlinalg._validation import (
    check_dtype,
    check_matmul_shapes,
    check_row_chunks,
    check_same_labels,
)
from dlinalg.cluster import persist_collections
from dlinalg.elementwise import ElementwiseMixin
from dlinalg.errors import OperandTypeError, OutOfBoundsError, ParameterError, ShapeError
from dlinalg.lazy import LazyResult, _Lazy
from dlinalg.physical.kernels import is_sparse_block
from dlinalg.plan import nodes as N
from dlinalg.statistics import StatisticsMixin

__all__ = ["DRM", "LazyResult"]


class DRM(ElementwiseMixin, StatisticsMixin, _Lazy):
    """Distributed row matrix: a lazy 2-D matrix of row blocks on Dask.

    Create one with :func:`dlinalg.from_array`, :func:`dlinalg.read_zarr`,
    :func:`dlinalg.from_xarray` or :func:`dlinalg.random`. Operators (``A.T``,
    ``@``, ``+ - * / **``, slicing, column statistics) return new lazy
    expressions; the optimizer turns them into one-pass physical plans.

    A DRM is a Dask collection: :func:`dask.compute`, :func:`dask.persist`,
    ``Client.compute``/``Client.persist``, :func:`dask.visualize` and
    :func:`dask.base.tokenize` accept it. Its graph is the lowering of its
    optimized plan, the one :func:`dlinalg.compute` submits, under the same
    keys; expressions computed together share their common tasks (the data is
    read once) but only :func:`dlinalg.compute` fuses their passes into one
    (the module docstring of ``dlinalg.lazy`` says why). ``np.asarray(A)`` computes a dense matrix, as
    for a Dask array; for a sparse matrix it raises a ``TypeError`` (call
    :meth:`compute` for a ``csr_array``, or ``.compute().toarray()``).
    ``xarray.DataArray(A)`` also computes, keeping :attr:`dims` and
    :attr:`attrs` but not the labels; :meth:`to_xarray` is lazy and keeps
    them.

    Examples
    --------
    >>> import dask, numpy as np, dlinalg as dl
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> A = dl.from_array(X, chunks=2)
    >>> A
    <DRM 4 x 3 float64, dense, 2 row blocks>
    >>> np.allclose((A.T @ A).compute(), X.T @ X)
    True
    >>> gram, means = dask.compute(A.T @ A, A.col_means())  # the values dl.compute gives
    >>> means
    array([4.5, 5.5, 6.5])
    >>> np.asarray(2 * A)[0]
    array([0., 2., 4.])
    >>> (B,) = dask.persist(A - A.col_means())  # a DRM backed by computed blocks
    >>> B
    <DRM 4 x 3 float64, dense, 2 row blocks>
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
        """Number of rows (R's ``nrow``), ``shape[0]``.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((5, 2)), chunks=2)
        >>> A.nrow, A.ncol, A.shape
        (5, 2, (5, 2))
        """
        return self.shape[0]

    @property
    def ncol(self) -> int:
        """Number of columns (R's ``ncol``), ``shape[1]``.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> dl.from_array(np.ones((5, 2)), chunks=2).ncol
        2
        """
        return self.shape[1]

    @property
    def is_sparse(self) -> bool:
        """True when the row blocks are ``scipy.sparse.csr_array``.

        Operators keep sparse blocks sparse where zeros stay zeros (``2 * A``,
        ``A.sqrt()``, ``A.abs()``) and give dense blocks otherwise
        (``A + 1``, ``A.exp()``).

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp, dlinalg as dl
        >>> S = dl.from_array(sp.csr_array(np.eye(4)), chunks=2)
        >>> S.is_sparse, (2 * S).is_sparse, S.exp().is_sparse
        (True, True, False)
        """
        return bool(self._node.sparse)

    @property
    def chunks(self) -> tuple[int, ...]:
        """Sizes of the row blocks (every block holds whole rows).

        For an expression this is the chunking of its optimized plan, so
        reading it lowers the plan (without computing anything).

        See Also
        --------
        rechunk, dask.array.Array.chunks

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((5, 2)), chunks=2)
        >>> A.chunks
        (2, 2, 1)
        >>> A.rechunk((1, 4)).chunks
        (1, 4)
        """
        if self._node.local:
            return (self.nrow,)
        return tuple(self.to_dask().chunks[0])

    @property
    def row_labels(self) -> tuple | None:
        """Row labels (from ``from_array``, xarray coords or Zarr), or None.

        Labels follow slicing and transposition and can be used as indices.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2,
        ...                   row_labels=["a", "b", "c"], col_labels=["x", "y"])
        >>> A.row_labels, A.col_labels
        (('a', 'b', 'c'), ('x', 'y'))
        >>> A[["c", "a"], :].row_labels, A.T.row_labels
        (('c', 'a'), ('x', 'y'))
        >>> float(A["b", "y"].compute())
        3.0
        """
        return self._row_labels

    @property
    def col_labels(self) -> tuple | None:
        """Column labels, or None.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((2, 3)), col_labels=["x", "y", "z"])
        >>> A.col_labels, A[:, ["z", "x"]].col_labels, A.row_labels is None
        (('x', 'y', 'z'), ('z', 'x'), True)
        """
        return self._col_labels

    @property
    def dims(self) -> tuple[str, str]:
        """Names of the two axes (xarray dims), ``("row", "col")`` by default.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((2, 3)))
        >>> A.dims, A.T.dims
        (('row', 'col'), ('col', 'row'))
        """
        return self._dims

    @property
    def attrs(self) -> dict:
        """Free-form metadata kept through xarray and Zarr round trips.

        Expressions built from this matrix carry a copy; the algebra never
        reads it.

        Examples
        --------
        >>> import numpy as np, xarray as xr, dlinalg as dl
        >>> x = xr.DataArray(np.ones((2, 3)), dims=("user", "item"), attrs={"units": "stars"})
        >>> A = dl.from_xarray(x)
        >>> A.attrs, (2 * A).attrs, A.dims
        ({'units': 'stars'}, {'units': 'stars'}, ('user', 'item'))
        """
        return self._attrs

    def __dask_tokenize__(self) -> Any:
        # labels, dims and attrs too: dask.persist(A, B) must not merge A and
        # a relabelled B into one result
        labels = (self._row_labels, self._col_labels, self._dims, self._attrs)
        return ("DRM", self._node.token, labels)

    def _from_persisted(self, arr: da.Array) -> DRM:
        return self._like(N.Leaf(arr, self.is_sparse, "persisted"))

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        n = len(self.chunks)
        where = "in memory" if self._node.local else f"{n} row block{'s' if n != 1 else ''}"
        return f"<DRM {self.nrow} x {self.ncol} {self.dtype}, {kind}, {where}>"

    def _repr_html_(self) -> str:
        """The notebook view: facts, the row blocks drawn as Dask draws chunks, the plan."""
        local = self.optimized().local  # A.T @ A is a Gram in memory, once optimized
        n, low, high = len(self.chunks), min(self.chunks), max(self.chunks)
        rows = f"{low}" if low == high else f"{low}-{high}"
        blocks = "in memory" if local else f"{n} row block{'s' if n != 1 else ''} of {rows} rows"
        facts = [
            ("Shape", f"{self.nrow} x {self.ncol}"),
            ("Dtype", self.dtype),
            ("Storage", "sparse (CSR blocks)" if self.is_sparse else "dense"),
            ("Blocks", blocks),
            ("Dims", ", ".join(self.dims) if self.dims != ("row", "col") else None),
            ("Row labels", labels_text(self.row_labels)),
            ("Column labels", labels_text(self.col_labels)),
        ]
        chunks = None if local else (self.chunks, (self.ncol,))
        return html_repr("dlinalg.DRM", facts, chunks, self.explain())

    # --- algebra ----------------------------------------------------------
    @property
    def T(self) -> DRM:
        """The transpose, lazy; products consume it without materialising it.

        Labels, dims and attrs are swapped accordingly.

        See Also
        --------
        numpy.ndarray.T
        dlinalg.crossprod : ``A.T @ B`` by its R name.

        Notes
        -----
        Building ``A.T`` moves no data. ``A.T @ A``, ``A.T @ B`` and
        ``A.T @ y`` are rewritten into one pass over the row blocks of ``A``
        (per-block ``X_i^T Y_i`` summed in a tree). Computing ``A.T`` on its
        own gathers it into a single ``ncol x nrow`` block, i.e. the whole
        matrix in the memory of one task.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2, col_labels=["x", "y"])
        >>> A.T
        <DRM 2 x 3 float64, dense, 1 row block>
        >>> A.T.row_labels, A.T.dims
        (('x', 'y'), ('col', 'row'))
        >>> np.allclose((A.T @ A).compute(), X.T @ X)
        True
        """
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
        if isinstance(other, DRM):  # A.T @ B meets A's rows with B's: Mahout joins by key
            pairs = "the left operand's columns with the right operand's rows"
            check_same_labels(self.col_labels, other.row_labels, pairs, "matmul")
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
    def map_blocks(
        self, func: Any, ncol: int | None = None, *, dtype: Any = None, sparse: bool | None = None
    ) -> DRM:
        """Apply ``func`` to every row block (Mahout's ``mapBlock``).

        Parameters
        ----------
        func : callable
            Called as ``func(block)`` on each row block, a ``numpy.ndarray``
            (or ``scipy.sparse.csr_array`` when :attr:`is_sparse`) of shape
            ``(rows, self.ncol)``; returns a block of shape ``(rows, ncol)``
            with the same number of rows. It must be pure and deterministic
            (a task may run again after a worker is lost) and must not modify
            its input in place (blocks can be views of the caller's array).
        ncol : int, optional
            Number of columns of the result. Default: ``self.ncol``.
        dtype : dtype, optional
            Dtype of the blocks ``func`` returns. Default: ``self.dtype``.
        sparse : bool, optional
            Whether ``func`` returns ``csr_array`` blocks. Default:
            :attr:`is_sparse`.

        Returns
        -------
        DRM
            Shape ``(self.nrow, ncol)`` with the same row blocks and row
            labels; column labels are kept only when ``ncol`` is unchanged.

        Raises
        ------
        OperandTypeError
            If ``func`` is not callable (a ``TypeError``).
        ParameterError
            If ``ncol`` is not a positive integer (a ``ValueError``).
        DTypeError
            If ``dtype`` is not a real numeric dtype (a ``TypeError``).

        See Also
        --------
        dask.array.Array.map_blocks

        Notes
        -----
        Lazy; one task per row block, no communication between blocks. The
        declared ``ncol``, ``dtype`` and ``sparse`` are trusted, not checked
        against what ``func`` returns: a wrong declaration surfaces only when
        the result is computed.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(12.0).reshape(4, 3)
        >>> A = dl.from_array(X, chunks=2)
        >>> B = A.map_blocks(lambda b: b[:, :2] * 10, ncol=2)
        >>> B
        <DRM 4 x 2 float64, dense, 2 row blocks>
        >>> np.allclose(B.compute(), X[:, :2] * 10)
        True
        >>> C = A.map_blocks(lambda b: b - b.mean(axis=0))  # centre each block
        >>> C.compute()[:2]
        array([[-1.5, -1.5, -1.5],
               [ 1.5,  1.5,  1.5]])
        """

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
        """New row blocks: ``rows`` per block, or explicit block sizes.

        Parameters
        ----------
        rows : int or tuple of int
            Rows per block (the last block takes the remainder), or the size
            of every row block, adding up to :attr:`nrow`.

        Returns
        -------
        DRM
            The same matrix (labels included) with the new row blocks.

        Raises
        ------
        ChunkError
            If ``rows`` is not a positive integer or a sequence of positive
            integers adding up to ``nrow`` (a ``ValueError``).

        See Also
        --------
        chunks, dask.array.Array.rechunk

        Notes
        -----
        Lazy. At compute time, each new block is cut from and stitched
        together out of the old blocks it overlaps (Dask's rechunk); rows
        only move between neighbouring blocks, never in a full shuffle.
        Memory per task: about one old block plus one new block.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> A.chunks, A.rechunk(3).chunks, A.rechunk((1, 4)).chunks
        ((2, 2, 1), (3, 2), (1, 4))
        >>> np.allclose(A.rechunk(3).compute(), X)
        True
        """

        return self._like(N.Rechunk(self._node, check_row_chunks(rows, self.nrow)))

    def persist(self, **kwargs: Any) -> DRM:
        """Compute the row blocks and keep them in (cluster) memory.

        Returns a new DRM backed by the persisted blocks, like Mahout's
        ``checkpoint()``; later expressions start from them instead of
        recomputing this one.

        Parameters
        ----------
        **kwargs
            Passed to :meth:`dask.array.Array.persist` (e.g.
            ``scheduler="sync"``).

        Returns
        -------
        DRM
            Same shape, row blocks, labels, dims and attrs, backed by
            computed blocks.

        See Also
        --------
        dask.persist, compute

        Notes
        -----
        One pass over the optimized plan. The whole matrix is then held in
        memory: on the workers of an active distributed ``Client`` (the call
        returns at once while they compute), in this process otherwise.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> B = (A - A.col_means()).persist()  # centred once, reused below
        >>> B
        <DRM 3 x 2 float64, dense, 2 row blocks>
        >>> np.allclose((B.T @ B).compute(), (X - X.mean(0)).T @ (X - X.mean(0)))
        True
        """

        _trace.record("persist", [self.optimized()])
        with _trace.planned():
            (arr,) = persist_collections(self.to_dask(), **kwargs)
        leaf = N.Leaf(arr, self.is_sparse, "persisted")
        return self._like(leaf)

    def to_xarray(self, *, name: Hashable | None = None, dense: bool = False) -> Any:
        """A lazy, Dask-backed ``xarray.DataArray`` with dims, label coords and attrs.

        Parameters
        ----------
        name : hashable, optional
            Name of the DataArray.
        dense : bool, default False
            Allow a sparse matrix by converting each CSR block to a dense
            block (memory per task: one dense block). Without it a sparse
            matrix is refused, so densifying is never an accident.

        Returns
        -------
        xarray.DataArray
            Dims are :attr:`dims`; each labelled axis gets a dimension
            coordinate from its labels; attrs are a copy of :attr:`attrs`.
            Nothing is computed.

        Raises
        ------
        DTypeError
            If the matrix is sparse and ``dense`` is False (a ``TypeError``).
        LabelError
            If the two dims are equal (xarray needs distinct dimension names).

        See Also
        --------
        dlinalg.from_xarray, dlinalg.io.xarray.to_xarray, to_dask

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2, col_labels=["x", "y"])
        >>> xa = A.to_xarray(name="scores")
        >>> xa.name, xa.dims, xa.chunks, list(xa.coords)
        ('scores', ('row', 'col'), ((2, 1), (2,)), ['col'])
        >>> float(xa.sel(col="y").sum())
        9.0
        >>> import scipy.sparse as sp
        >>> S = dl.from_array(sp.csr_array(X), chunks=2)
        >>> np.allclose(S.to_xarray(dense=True).values, X)
        True
        """
        from dlinalg.io.xarray import to_xarray  # xarray on first use

        return to_xarray(self, name=name, dense=dense)

    def to_zarr(
        self,
        path: str | os.PathLike,
        *,
        component: str | None = None,
        overwrite: bool = False,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        """Write to a Zarr store crash-safely (temporary store, marker, rename).

        Read it back with :func:`dlinalg.read_zarr`; labels, dims and attrs
        come back too.

        Parameters
        ----------
        path : str or os.PathLike
            Local directory of the store (its parent must exist), or an
            fsspec URL such as ``"s3://bucket/a.zarr"``.
        component : str, optional
            Write the store as the sub-group ``component`` of the Zarr group
            at ``path`` (created when missing) instead of at ``path`` itself.
        overwrite : bool, default False
            Replace an existing store; the previous one stays intact until
            the new one is complete.
        storage_options : dict, optional
            Options of the fsspec filesystem of a URL ``path``.

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False, or it is not a Zarr
            store. Raised before anything is computed.
        FileNotFoundError
            If the parent directory of ``path`` does not exist.
        TypeError
            If an attribute cannot be stored as JSON, or labels are neither
            numbers nor strings.

        See Also
        --------
        dlinalg.read_zarr, dlinalg.io.zarr.write_zarr, dask.array.to_zarr

        Notes
        -----
        One pass over the optimized plan, in one ``dask.compute``: each row
        block is computed and written once, so the matrix never has to fit
        in memory. On a distributed cluster the workers need the same
        filesystem. See :func:`dlinalg.io.zarr.write_zarr` for the
        all-or-nothing protocol.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2, col_labels=["x", "y"])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "A.zarr")
        ...     A.to_zarr(path)
        ...     B = dl.read_zarr(path)
        ...     print(B.chunks, B.col_labels, np.allclose(B.compute(), X))
        (2, 1) ('x', 'y') True
        """
        from dlinalg.io.zarr import write_zarr  # zarr on first use

        write_zarr(
            self, path, component=component, overwrite=overwrite, storage_options=storage_options
        )


def _pick(labels: tuple | None, sel: Any) -> tuple | None:
    if labels is None:
        return None
    if isinstance(sel, slice):
        return labels[sel]
    return tuple(labels[i] for i in sel)
