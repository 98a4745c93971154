"""Building a DRM: from numpy, scipy.sparse and Dask arrays, or from scratch."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask.base import tokenize

from dlinalg._tokens import array_token
from dlinalg._validation import (
    check_dtype,
    check_flag,
    check_labels,
    check_row_chunks,
    check_shape_2d,
)
from dlinalg.errors import ChunkError, DTypeError, OperandTypeError, ParameterError, ShapeError
from dlinalg.matrix import DRM
from dlinalg.physical.kernels import aligned, is_sparse_block, to_csr
from dlinalg.physical.reduce import empty_meta

__all__ = ["from_array", "random", "zeros", "ones", "eye", "default_row_chunks"]

#: Rows of random numbers drawn from one seed; fixed so values do not depend on chunking.
_RANDOM_ROWS = 4096


def default_row_chunks(shape: tuple[int, int], itemsize: int, density: float = 1.0) -> int:
    """Rows per block so one block holds about Dask's ``array.chunk-size`` bytes.

    The default row chunking of :func:`from_array`, :func:`random`,
    :func:`zeros`, :func:`ones` and :func:`eye`.

    Parameters
    ----------
    shape : (int, int)
        Shape of the matrix.
    itemsize : int
        Bytes per stored value (``dtype.itemsize``).
    density : float, default 1.0
        Fraction of non-zero entries; below 1 the block is costed as CSR
        (value plus a 4-byte column index per non-zero).

    Returns
    -------
    int
        Rows per block, between 1 and ``shape[0]``.

    See Also
    --------
    dask.array.core.normalize_chunks

    Examples
    --------
    >>> import dask
    >>> from dlinalg.construct import default_row_chunks
    >>> with dask.config.set({"array.chunk-size": "1MiB"}):
    ...     default_row_chunks((10**6, 128), 8)
    1024
    >>> default_row_chunks((10, 3), 8)  # a small matrix is one block
    10
    """
    target = dask.utils.parse_bytes(dask.config.get("array.chunk-size", "128MiB"))
    per_row = max(1.0, shape[1] * (itemsize if density >= 1.0 else density * (itemsize + 4)))
    return int(max(1, min(shape[0], target // per_row)))


def from_array(
    x: Any,
    chunks: int | tuple[int, ...] | None = None,
    row_labels: Any = None,
    col_labels: Any = None,
) -> DRM:
    """Create a DRM from a numpy array, a scipy.sparse matrix or a Dask array.

    Parameters
    ----------
    x : numpy.ndarray, scipy.sparse matrix/array or dask.array.Array of shape (n, k)
        The data. Sparse input stays sparse (CSR row blocks); a Dask array
        keeps its row chunks unless ``chunks`` is given, and its column chunks
        are merged so each block holds whole rows.
    chunks : int or tuple of int, optional
        Rows per block, or the size of every row block. Default: blocks of
        about Dask's ``array.chunk-size`` (128 MiB).
    row_labels, col_labels : sequence, optional
        Labels of the rows and columns (unique, one per row/column).

    Returns
    -------
    DRM
        A lazy distributed row matrix.

    Raises
    ------
    ShapeError
        If ``x`` is not 2-D or has a zero-size axis.
    DTypeError
        If ``x`` does not have a real numeric dtype.
    ChunkError
        If ``chunks`` is not positive integers adding up to the row count, or a
        Dask input has unknown chunk sizes.
    LabelError
        If a label sequence has the wrong length or repeats a label.
    OperandTypeError
        If ``x`` is not an array (e.g. a dict or a lazy vector), or is a
        numpy masked array (its mask would be dropped silently).

    See Also
    --------
    dask.array.from_array, from_xarray, read_zarr, DRM.to_dask

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.arange(10.0).reshape(5, 2), chunks=2)
    >>> A.chunks
    (2, 2, 1)
    >>> A.col_sums().compute()
    array([20., 25.])
    """
    if isinstance(x, DRM):
        return x if chunks is None else x.rechunk(chunks)
    if isinstance(x, np.ma.MaskedArray):
        raise OperandTypeError(
            "from_array got a numpy masked array: its mask would be dropped and the masked "
            "values used; pass x.filled(value), or x.compressed() rows, explicitly"
        )
    if isinstance(x, da.Array):
        return _from_dask(x, chunks, row_labels, col_labels)
    if sp.issparse(x):
        check_shape_2d(x.shape)
        check_dtype(x.dtype)
        data: Any = to_csr(x)
    elif isinstance(x, np.ndarray | list | tuple) or hasattr(x, "__array__"):
        data = np.asarray(x)
        check_dtype(data.dtype)
        check_shape_2d(data.shape)
    else:
        raise OperandTypeError(
            f"from_array takes a numpy array, a scipy.sparse matrix or a dask array, "
            f"got {type(x).__name__}"
        )
    sparse = sp.issparse(data)
    if chunks is None:
        density = data.nnz / max(1, data.shape[0] * data.shape[1]) if sparse else 1.0
        chunks = default_row_chunks(data.shape, data.dtype.itemsize, density)
    rows = check_row_chunks(chunks, data.shape[0])
    rl = check_labels(row_labels, data.shape[0], "row")
    cl = check_labels(col_labels, data.shape[1], "col")
    token = array_token(data, rows)
    shipped = da.from_array(
        data, chunks=(rows, (data.shape[1],)), name=f"shipped-{token}", asarray=not sparse
    )
    # Blocks sent from this process land in a worker's message buffer at any
    # byte offset; BLAS takes another path (another rounding) for misaligned
    # doubles, so every kernel would copy them on every pass. Realign them
    # once, on the worker, where they enter the cluster: a persisted matrix
    # then holds aligned blocks (in process, an aligned block is not copied).
    arr = shipped.map_blocks(
        aligned,
        dtype=data.dtype,
        meta=shipped._meta,
        name=f"{'csr' if sparse else 'array'}-{token}",
    )
    source = "scipy.sparse" if sparse else "numpy"
    return DRM._from_dask(arr, row_labels=rl, col_labels=cl, source=source)


def _from_dask(x: da.Array, chunks: Any, row_labels: Any, col_labels: Any) -> DRM:
    if x.ndim != 2:
        raise ShapeError(f"input must be 2-D, got {x.ndim}-D with shape {x.shape}")
    if any(np.isnan(s) for s in x.shape) or any(np.isnan(c) for c in x.chunks[0]):
        raise ChunkError(
            f"the dask array has unknown chunk sizes {x.chunks}; call "
            "x.compute_chunk_sizes() first (or build it with known chunks)"
        )
    check_shape_2d(x.shape)
    check_dtype(x.dtype)
    rl = check_labels(row_labels, x.shape[0], "row")
    cl = check_labels(col_labels, x.shape[1], "col")
    if chunks is not None:
        x = x.rechunk({0: check_row_chunks(chunks, x.shape[0])})
    if len(x.chunks[1]) > 1:
        x = x.rechunk({1: -1})
    if is_sparse_block(x._meta) and not isinstance(x._meta, sp.csr_array):
        x = x.map_blocks(to_csr, dtype=x.dtype, meta=empty_meta(x.dtype, True))
    return DRM._from_dask(x, row_labels=rl, col_labels=cl, source="dask")


def _check_shape(shape: Any) -> tuple[int, int]:
    if not isinstance(shape, tuple | list) or len(shape) != 2:
        raise ShapeError(f"shape must be a 2-tuple (nrow, ncol), got {shape!r}")
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s <= 0:
            raise ShapeError(f"shape entries must be positive integers, got {shape!r}")
    return int(shape[0]), int(shape[1])


def _generated(
    func: Any, shape: tuple[int, int], chunks: Any, dtype: Any, sparse: bool, name: str, **kw: Any
) -> DRM:
    """A DRM whose block for rows ``[r0, r1)`` is ``func(r0, r1, ncol, dtype, **kw)``."""
    rows = check_row_chunks(chunks, shape[0])
    dt = check_dtype(dtype)
    starts = tuple(int(s) for s in np.concatenate([[0], np.cumsum(rows)]))
    # One blockwise layer with a deterministic name. (Delayed blocks joined by
    # concatenate were renamed by dask's low-level fusion in some graphs and
    # not in others: the same keys with two different task specs, which the
    # scheduler warns "can cause failures and deadlocks".)
    token = tokenize(func.__name__, shape, rows, str(dt), sorted(kw.items()))
    arr = da.map_blocks(
        _GeneratedBlock(func, starts, shape[1], dt, kw),
        chunks=(tuple(rows), (shape[1],)),
        dtype=dt,
        meta=empty_meta(dt, sparse),
        name=f"{name}-{token}",
    )
    return DRM._from_dask(arr, source=name)


class _GeneratedBlock:
    """``func(r0, r1, ncol, dtype, **kw)`` for the row range of the block asked for."""

    def __init__(self, func: Any, starts: tuple[int, ...], ncol: int, dtype: Any, kw: dict):
        self.func, self.starts, self.ncol, self.dtype, self.kw = func, starts, ncol, dtype, kw

    def __call__(self, block_id: tuple[int, int] | None = None) -> Any:
        i = block_id[0]
        return self.func(self.starts[i], self.starts[i + 1], self.ncol, self.dtype, **self.kw)


def _random_block(
    r0: int, r1: int, ncol: int, dtype: np.dtype, seed: int, density: float | None
) -> Any:
    first, last = r0 // _RANDOM_ROWS, (r1 - 1) // _RANDOM_ROWS
    pieces = []
    for g in range(first, last + 1):
        rng = np.random.default_rng([seed, g])
        lo, hi = g * _RANDOM_ROWS, (g + 1) * _RANDOM_ROWS
        if density is None:
            block = rng.standard_normal((_RANDOM_ROWS, ncol))
        else:
            block = sp.random_array((_RANDOM_ROWS, ncol), density=density, rng=rng, format="csr")
        pieces.append(block[max(r0, lo) - lo : min(r1, hi) - lo])
    if density is None:
        return np.concatenate(pieces).astype(dtype, copy=False)
    return to_csr(sp.vstack(pieces, format="csr")).astype(dtype)


def random(
    shape: tuple[int, int],
    chunks: int | tuple[int, ...] | None = None,
    seed: int = 0,
    *,
    dtype: Any = np.float64,
    density: float | None = None,
) -> DRM:
    """A random matrix: standard normal entries, or sparse uniform ones.

    Values depend only on ``seed`` and ``shape``, never on ``chunks``: rows are
    drawn in fixed groups of 4096, each from its own seeded generator.

    Parameters
    ----------
    shape : (int, int)
        Number of rows and columns.
    chunks : int or tuple of int, optional
        Rows per block (default: about 128 MiB per block).
    seed : int
        Seed of the generator.
    dtype : dtype, default float64
        A floating-point dtype (the draws are real numbers).
    density : float, optional
        If given (0 < density <= 1), a sparse CSR matrix with about this
        fraction of non-zeros, uniform on [0, 1).

    Returns
    -------
    DRM
        A lazy matrix; each block is generated by its own task, so nothing
        of size ``shape`` is ever held by the client.

    Raises
    ------
    ShapeError
        If ``shape`` is not two positive integers.
    ChunkError
        If ``chunks`` is not positive integers adding up to ``shape[0]``.
    DTypeError
        If ``dtype`` is not a floating-point dtype.
    ParameterError
        If ``seed`` is negative or ``density`` is outside (0, 1].
    OperandTypeError
        If ``density`` is not a number.

    See Also
    --------
    numpy.random.Generator.standard_normal, scipy.sparse.random_array

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> a = dl.random((1000, 3), chunks=100, seed=1).compute()
    >>> b = dl.random((1000, 3), chunks=333, seed=1).compute()
    >>> bool((a == b).all())
    True
    >>> S = dl.random((1000, 50), chunks=250, density=0.1)
    >>> S.is_sparse, bool(0.08 < S.col_nnz().compute().sum() / (1000 * 50) < 0.12)
    (True, True)
    """
    shape = _check_shape(shape)
    if np.dtype(dtype).kind != "f":  # normal draws cast to int are almost all 0
        raise DTypeError(
            f"random draws real numbers; dtype must be floating point, got {np.dtype(dtype)}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    if density is not None:
        if isinstance(density, bool) or not isinstance(density, int | float | np.number):
            raise OperandTypeError(f"density must be a number in (0, 1], got density={density!r}")
        if not 0 < density <= 1:
            raise ParameterError(f"density must be in (0, 1], got density={density!r}")
    if chunks is None:
        chunks = default_row_chunks(shape, np.dtype(dtype).itemsize, density or 1.0)
    return _generated(
        _random_block, shape, chunks, dtype, density is not None, "random",
        seed=int(seed), density=density,
    )  # fmt: skip


def _const_block(r0: int, r1: int, ncol: int, dtype: np.dtype, value: float) -> np.ndarray:
    return np.full((r1 - r0, ncol), value, dtype=dtype)


def _eye_block(r0: int, r1: int, ncol: int, dtype: np.dtype, as_sparse: bool) -> Any:
    rows = np.arange(r0, min(r1, ncol))
    ones = np.ones(rows.size, dtype=dtype)
    block = sp.csr_array((ones, (rows - r0, rows)), shape=(r1 - r0, ncol))
    return block if as_sparse else block.toarray()


def zeros(shape: tuple[int, int], chunks: Any = None, dtype: Any = np.float64) -> DRM:
    """A matrix of zeros.

    Parameters
    ----------
    shape : (int, int)
        Number of rows and columns.
    chunks : int or tuple of int, optional
        Rows per block, or the size of every row block (default: about
        128 MiB per block).
    dtype : dtype, default float64
        A real numeric dtype (bool, integer or floating point).

    Returns
    -------
    DRM
        A lazy matrix with dense blocks, generated block by block.

    Raises
    ------
    ShapeError
        If ``shape`` is not two positive integers.
    ChunkError
        If ``chunks`` is not positive integers adding up to ``shape[0]``.
    DTypeError
        If ``dtype`` is not a real numeric dtype.

    See Also
    --------
    numpy.zeros

    Examples
    --------
    >>> import dlinalg as dl
    >>> dl.zeros((4, 2), chunks=2).col_sums().compute()
    array([0., 0.])
    >>> dl.zeros((2, 3), dtype="int32").compute()
    array([[0, 0, 0],
           [0, 0, 0]], dtype=int32)
    """
    shape = _check_shape(shape)
    if chunks is None:
        chunks = default_row_chunks(shape, np.dtype(dtype).itemsize)
    return _generated(_const_block, shape, chunks, dtype, False, "zeros", value=0)


def ones(shape: tuple[int, int], chunks: Any = None, dtype: Any = np.float64) -> DRM:
    """A matrix of ones.

    Parameters
    ----------
    shape : (int, int)
        Number of rows and columns.
    chunks : int or tuple of int, optional
        Rows per block, or the size of every row block (default: about
        128 MiB per block).
    dtype : dtype, default float64
        A real numeric dtype (bool, integer or floating point).

    Returns
    -------
    DRM
        A lazy matrix with dense blocks, generated block by block.

    Raises
    ------
    ShapeError
        If ``shape`` is not two positive integers.
    ChunkError
        If ``chunks`` is not positive integers adding up to ``shape[0]``.
    DTypeError
        If ``dtype`` is not a real numeric dtype.

    See Also
    --------
    numpy.ones

    Examples
    --------
    >>> import dlinalg as dl
    >>> dl.ones((4, 2), chunks=3).col_sums().compute()
    array([4., 4.])
    >>> dl.cbind(dl.ones((3, 1)), dl.zeros((3, 2))).compute()
    array([[1., 0., 0.],
           [1., 0., 0.],
           [1., 0., 0.]])
    """
    shape = _check_shape(shape)
    if chunks is None:
        chunks = default_row_chunks(shape, np.dtype(dtype).itemsize)
    return _generated(_const_block, shape, chunks, dtype, False, "ones", value=1)


def eye(
    n: int, m: int | None = None, chunks: Any = None, dtype: Any = np.float64, sparse: bool = False
) -> DRM:
    """An identity matrix (``n x m``, ones on the diagonal), dense or sparse.

    Parameters
    ----------
    n : int
        Number of rows.
    m : int, optional
        Number of columns. Default: ``n``.
    chunks : int or tuple of int, optional
        Rows per block, or the size of every row block (default: about
        128 MiB per block, costed as a sparse matrix).
    dtype : dtype, default float64
        A real numeric dtype (bool, integer or floating point).
    sparse : bool, default False
        Build ``scipy.sparse.csr_array`` row blocks instead of dense ones.

    Returns
    -------
    DRM
        A lazy matrix, generated block by block.

    Raises
    ------
    ShapeError
        If ``n`` or ``m`` is not a positive integer.
    ChunkError
        If ``chunks`` is not positive integers adding up to ``n``.
    DTypeError
        If ``dtype`` is not a real numeric dtype.

    See Also
    --------
    numpy.eye, scipy.sparse.eye_array

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> dl.eye(3, chunks=2).compute()
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    >>> I = dl.eye(4, 2, chunks=2, sparse=True)
    >>> I.is_sparse, I.shape, np.array_equal(I.compute().toarray(), np.eye(4, 2))
    (True, (4, 2), True)
    """
    shape = _check_shape((n, n if m is None else m))
    sparse = check_flag(sparse, "sparse")
    if chunks is None:
        chunks = default_row_chunks(shape, np.dtype(dtype).itemsize, 1 / shape[1])
    return _generated(_eye_block, shape, chunks, dtype, sparse, "eye", as_sparse=sparse)
