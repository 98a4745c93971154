"""Lazy expressions: what DRMs and their vector/scalar results share.

:class:`LazyResult` is what the algebra returns when the value is not a
matrix: ``A @ x`` (a distributed vector), ``A.col_means()`` (a small vector in
memory once computed), ``A.norm()`` (a scalar).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.chain import ChainPass
from dlinalg.plan.lower import Lowering
from dlinalg.plan.rewrite import fuse, optimize

__all__ = ["LazyResult"]


class _Lazy:
    """What DRM and LazyResult share: a plan node, compute, explain, to_dask."""

    __array_ufunc__ = None  # numpy defers ``ndarray @ A`` and ``x - A`` to us

    def __init__(self, node: N.Node):
        self._node = node

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the value: ``(nrow, ncol)`` for a matrix, ``(n,)`` or ``()`` otherwise.

        Known without computing anything.

        See Also
        --------
        numpy.ndarray.shape

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
        >>> A.shape, A.T.shape, (A @ np.ones(2)).shape
        ((3, 2), (2, 3), (3,))
        """
        return self._node.shape

    @property
    def dtype(self) -> np.dtype:
        """Numpy dtype of the value, the one numpy would give for the same expression.

        See Also
        --------
        numpy.ndarray.dtype

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.arange(6).reshape(3, 2), chunks=2)
        >>> A.dtype, A.col_sums().dtype, A.col_means().dtype, (A / 2).dtype
        (dtype('int64'), dtype('int64'), dtype('float64'), dtype('float64'))
        """
        return np.dtype(self._node.dtype)

    def optimized(self) -> N.Node:
        """The optimized logical plan of this expression.

        The optimizer rewrites the expression tree (e.g. ``A.T @ A`` becomes
        one ``Gram`` node, chains of elementwise operators become one fused
        node); this returns the rewritten root without computing anything.

        Returns
        -------
        dlinalg.plan.nodes.Node
            Root of the rewritten plan; its ``describe()`` gives a one-line
            summary and its ``children`` the inputs.

        See Also
        --------
        explain : The same plan as a readable tree.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((6, 2)), chunks=3)
        >>> (A.T @ A).optimized().describe()
        'Gram (slim)'
        """

        return optimize(self._node)

    def explain(self) -> str:
        """A readable tree of the optimized physical plan.

        Each line is one operator with its result shape and dtype; ``local``
        marks a small result held in memory (a Gram matrix, column
        statistics) rather than row blocks. Statistics that
        :func:`dlinalg.compute` would fuse into one pass show as
        ``ColStats (...) in one pass``.

        Returns
        -------
        str
            The tree, one operator per line, root first.

        See Also
        --------
        optimized : The plan as node objects.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.ones((6, 2)), chunks=3)
        >>> print((A.T @ A).explain())
        Gram (slim)  [2 x 2 float64, local]
        └─ Leaf numpy (dense, 2 row blocks)  [6 x 2 float64]
        >>> print(A.col_vars().explain())
        Pick var (ddof=0)  [2 float64, local]
        └─ ColStats (fsum, m2) in one pass
           └─ Leaf numpy (dense, 2 row blocks)  [6 x 2 float64]
        """

        return _tree(fuse([self.optimized()])[0])

    def to_dask(self) -> Any:
        """The value as a lazy Dask array, after optimization.

        Returns
        -------
        dask.array.Array
            For a matrix: 2-D, chunked by row blocks with a single column
            chunk; blocks are ``numpy.ndarray`` or ``scipy.sparse.csr_array``
            (see :attr:`DRM.is_sparse`). For a vector: 1-D; for a scalar: 0-D.
            Nothing is computed.

        See Also
        --------
        dask.array.Array
        DRM.to_xarray

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> x = A.to_dask()
        >>> x.chunks
        ((2, 1), (2,))
        >>> np.allclose(x.sum(axis=1).compute(), X.sum(axis=1))
        True
        >>> A.row_sums().to_dask().chunks
        ((2, 1),)
        """

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

        Returns
        -------
        numpy.ndarray, scipy.sparse.csr_array or numpy scalar
            A matrix with sparse row blocks comes back as one ``csr_array``;
            everything else as a numpy array (shape :attr:`shape`) or, for
            ``shape == ()``, a numpy scalar.

        See Also
        --------
        dlinalg.compute : Several values at once, sharing passes over the data.
        dask.compute

        Notes
        -----
        Runs on the current Dask scheduler (a distributed ``Client`` if one
        is active). The number of passes over the data is that of the
        optimized plan (:meth:`explain`): one for column statistics, Gram
        matrices and products with an in-memory operand. Computing several
        values of the same matrix one by one reads it once each; use
        :func:`dlinalg.compute` to read it once for all.

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> np.allclose((A.T @ A).compute(), X.T @ X)
        True
        >>> A.col_sums().compute(scheduler="sync")
        array([6., 9.])
        >>> S = dl.from_array(sp.csr_array(X), chunks=2)
        >>> type(S.compute()).__name__
        'csr_array'
        """
        from dlinalg.functions import compute

        return compute(self, progress=progress, **kwargs)[0]


class LazyResult(_Lazy):
    """A lazy vector or scalar produced by the algebra (``A @ x``, ``A.col_sums()``).

    A result is either held in memory once computed (column statistics,
    ``A.T @ y``: marked ``in memory`` in the repr) or distributed over the
    row blocks of its matrix (``A @ x``, ``A.row_sums()``). Get the value with
    :meth:`compute`, or several at once with :func:`dlinalg.compute`.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
    >>> A.col_sums()
    <LazyResult shape=(2,) dtype=float64 (in memory)>
    >>> A.col_sums().compute()
    array([6., 9.])
    >>> A @ np.ones(2)
    <LazyResult shape=(3,) dtype=float64 (distributed)>
    """

    def __init__(self, node: N.Node, post: tuple = ()):
        super().__init__(node)
        self._post = post

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the value: ``(n,)`` for a vector, ``()`` for a scalar.

        Indexing a matrix with an integer drops that axis, as numpy does.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
        >>> A.col_means().shape, A[0].shape, A[:, 1].shape, A.norm().shape
        ((2,), (2,), (3,), ())
        >>> len(A.row_sums())
        3
        """
        return tuple(s for i, s in enumerate(self._node.shape) if i not in self._post)

    def to_dask(self) -> Any:
        """The value as a Dask array, with the axes an integer index dropped removed.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> A = dl.from_array(np.arange(6.0).reshape(3, 2), chunks=2)
        >>> A[1].to_dask().compute()
        array([2., 3.])
        """
        arr = super().to_dask()
        if not self._post:
            return arr
        if self._node.sparse:
            arr = arr.map_blocks(_densify, dtype=arr.dtype, meta=np.empty((0, 0), arr.dtype))
        return arr.squeeze(axis=self._post)

    def __repr__(self) -> str:
        where = "in memory" if self._node.local else "distributed"
        return f"<LazyResult shape={self.shape} dtype={self.dtype} ({where})>"

    def __len__(self) -> int:
        return self.shape[0]


def _densify(block: Any) -> np.ndarray:
    return block.toarray() if hasattr(block, "toarray") else block


def _tree(
    node: N.Node,
    prefix: str = "",
    last: bool = True,
    top: bool = True,
    seen: set[str] | None = None,
) -> str:
    """``node`` and its inputs, one per line; with ``seen``, a shared subtree is drawn once."""
    where = "local" if node.local else ""
    kind = f"{' x '.join(map(str, node.shape))} {node.dtype}" if node.shape else f"{node.dtype}"
    meta = f"  [{kind}{', ' + where if where else ''}]"
    if isinstance(node, O.ColStats | N.Scalar | ChainPass | BlockReduce):
        meta = ""
    head = "" if top else prefix + ("└─ " if last else "├─ ")
    kids = node.children
    if seen is not None and kids:
        if node.token in seen:
            return head + node.describe() + " (shared, drawn above)"
        seen.add(node.token)
    lines = [head + node.describe() + meta]
    for i, child in enumerate(kids):
        ext = "" if top else prefix + ("   " if last else "│  ")
        lines.append(_tree(child, ext, i == len(kids) - 1, top=False, seen=seen))
    return "\n".join(lines)
