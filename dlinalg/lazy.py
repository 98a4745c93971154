"""Lazy expressions: what DRMs and their vector/scalar results share.

:class:`LazyResult` is what the algebra returns when the value is not a
matrix: ``A @ x`` (a distributed vector), ``A.col_means()`` (a small vector in
memory once computed), ``A.norm()`` (a scalar).

Both are Dask collections: they implement Dask's collection protocol, so
:func:`dask.compute`, :func:`dask.persist`, ``Client.compute/persist``,
:func:`dask.visualize` and :func:`dask.base.tokenize` accept them.
``__dask_graph__`` and ``__dask_keys__`` are those of the lowering of the
expression's *optimized* plan: exactly the graph :func:`dlinalg.compute`
submits for it alone, under the same keys. ``__dask_optimize__`` only culls
(dlinalg's :func:`~dlinalg._tokens.one_task_per_key` policy), so a key names
one task in every graph, which is what makes a recomputation after a lost
worker bit-identical.

``dask.compute(A.T @ A, A.col_means())`` runs one pass, exactly as
:func:`dlinalg.compute` does. Dask fixes every collection's keys before it
optimizes, so the fusion cannot live under an expression's own keys (the Gram
picked out of a fused statistics pass is not bit for bit the Gram computed
alone, and one key must name one value). It lives in the *finalize* tasks
instead: ``dask.compute`` wraps each collection's keys in a fresh
``finalize-<uuid>`` task (built from ``__dask_postcompute__``, which carries
the plan node), and ``__dask_optimize__`` rewrites those tasks to read the
keys of the plans lowered together (:func:`~dlinalg.plan.lower.lower_plan`,
what ``dlinalg.compute`` submits). The expression's own keys are then culled
unread; no key changes meaning. ``dask.persist`` keeps each expression's
blocks under its own keys (there is nothing to finalize), and the optimizer
otherwise only culls (dlinalg's :func:`~dlinalg._tokens.one_task_per_key`
policy), so a key names one task in every graph, which is what makes a
recomputation after a lost worker bit-identical.
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp
from dask import threaded
from dask._task_spec import DataNode, List, Task, TaskRef
from dask.base import is_dask_collection, tokenize
from dask.core import flatten
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

from dlinalg import _trace
from dlinalg._html import html_repr
from dlinalg._tokens import cull_only
from dlinalg.errors import DTypeError
from dlinalg.physical.reduce import empty_meta
from dlinalg.plan import nodes as N
from dlinalg.plan import operators as O
from dlinalg.plan.blockmap import Apply
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.chain import ChainPass
from dlinalg.plan.lower import Lowering, lower_plan
from dlinalg.plan.rewrite import fuse, optimize

__all__ = ["LazyResult"]


def _as_collection(value: Any, root: N.Node) -> Any:
    """A lowered value as a Dask collection (an in-memory operand becomes one task)."""
    if is_dask_collection(value):
        return value
    key = f"value-{root.token}"
    return Delayed(key, HighLevelGraph.from_collections(key, {key: DataNode(key, value)}, ()))


def _hlg(coll: Any) -> HighLevelGraph:
    graph = coll.__dask_graph__()
    if isinstance(graph, HighLevelGraph):
        return graph
    return HighLevelGraph.from_collections(str(coll.__dask_layers__()[0]), graph, ())


def _lower_alone(node: N.Node) -> Any:
    """The collection :func:`dlinalg.compute` submits for ``node`` alone."""
    (root,), (value,) = lower_plan([node])
    return _as_collection(value, root)


def _keys_of(keys: Any) -> Any:
    """A collection's (nested) keys as the task-spec references a finalize task reads."""
    if isinstance(keys, list):
        return List(*map(_keys_of, keys))
    return TaskRef(keys)


def _finalize_task(key: Any, coll: Any, post: tuple) -> Task:
    """The task ``dask.compute`` builds to finalize ``coll`` (minus the plan node)."""
    func, args = coll.__dask_postcompute__()
    return Task(key, _finalize, _keys_of(coll.__dask_keys__()), func, tuple(args), post)


def fuse_finalized(dsk: Any, keys: Any, **kwargs: Any) -> HighLevelGraph:
    """``__dask_optimize__``: compute the expressions finalized together in one pass, then cull.

    ``dask.compute`` and ``Client.compute`` ask for ``finalize-*`` keys whose
    tasks apply :func:`_finalize` to an expression's keys; each carries its
    plan node. All of them are lowered *together* (:func:`lower_plan`, as
    :func:`dlinalg.compute` does) and the finalize tasks are rewritten to read
    the fused collections. Any other request (``persist``, a bare graph) is
    only culled.
    """
    dsk = dsk if isinstance(dsk, HighLevelGraph) else _hlg_of_dict(dsk)
    finals = []
    for key in flatten(keys):
        task = dsk.layers[key].get(key) if key in dsk.layers else None
        if isinstance(task, Task) and task.func is _finalize and len(task.args) == 5:
            finals.append(task)
    if not finals:
        return cull_only(dsk, keys)
    nodes = [task.args[4] for task in finals]
    roots, values = lower_plan(nodes)
    _trace.record("plan", roots)
    layers, deps = dict(dsk.layers), dict(dsk.dependencies)
    for task, root, value in zip(finals, roots, values, strict=True):
        coll = _as_collection(value, root)
        graph = _hlg(coll)
        layers.update(graph.layers)
        deps.update(graph.dependencies)
        layers[task.key] = MaterializedLayer(
            {task.key: _finalize_task(task.key, coll, task.args[3])}
        )
        deps[task.key] = set(graph.layers)
    return cull_only(HighLevelGraph(layers, deps), keys)


def _hlg_of_dict(dsk: Any) -> HighLevelGraph:
    return HighLevelGraph.from_collections(str(id(dsk)), dsk, dependencies=())


def finish_value(value: Any, post: tuple = ()) -> Any:
    """A computed value as dlinalg returns it: sparse as ``csr_array``, dropped axes squeezed."""
    if sp.issparse(value):
        value = sp.csr_array(value)
    if post:
        value = value.toarray() if sp.issparse(value) else value
        value = np.squeeze(value, axis=post)
        return value[()] if value.ndim == 0 else value
    return value


def _finalize(results: Any, func: Any, args: tuple, post: tuple, plan: Any = None) -> Any:
    """``__dask_postcompute__``: the lowered collection's own finalize, then :func:`finish_value`.

    ``plan`` (the expression's plan node) is what :func:`fuse_finalized`
    reads to lower the expressions computed together; it is not used here.
    """
    return finish_value(func(results, *args), post)


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape)) if shape else "scalar"


class _Lazy:
    """What DRM and LazyResult share: a plan node, compute, explain, to_dask."""

    __array_ufunc__ = None  # numpy defers ``ndarray @ A`` and ``x - A`` to us
    _post: tuple = ()  # axes an integer index dropped (LazyResult)

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

    def visualize(
        self,
        filename: str | None = "mydask",
        format: str | None = None,
        optimize_graph: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Draw the Dask task graph of the optimized plan (needs graphviz).

        Parameters
        ----------
        filename : str or None, default "mydask"
            File to write (the extension picks the format); None writes
            nothing and only returns the image.
        format : str, optional
            Image format (``"png"``, ``"svg"``, ``"pdf"``...), when
            ``filename`` has no extension.
        optimize_graph : bool, default False
            Cull the graph first, as a compute would. The graph is the
            lowering of the optimized plan either way.
        **kwargs
            Passed to :func:`dask.visualize` (``color="order"``, ``rankdir``...).

        Returns
        -------
        IPython.display.Image, IPython.display.SVG or None
            The picture, as :func:`dask.visualize` returns it.

        Raises
        ------
        ImportError
            If the ``graphviz`` Python package (and its ``dot`` program) is
            not installed.

        See Also
        --------
        dask.visualize : Several collections in one picture.
        explain : The plan as text, without graphviz.

        Notes
        -----
        The picture shows Dask tasks, one per block and tree node; the plan
        they come from is what :meth:`explain` prints. Several expressions
        drawn together with ``dask.visualize(a, b, optimize_graph=True)``
        show the fused graph :func:`dlinalg.compute` would run.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> from dask.utils import key_split
        >>> A = dl.from_array(np.ones((6, 2)), chunks=3)
        >>> G = A.T @ A
        >>> sorted(key_split(k) for k in dict(G.__dask_graph__()))  # the tasks drawn
        ['array', 'array', 'gram_block', 'gram_block', 'shipped', 'shipped', 'sum_parts']
        >>> G.visualize(filename="gram.svg")  # doctest: +SKIP
        """
        return dask.visualize(
            self, filename=filename, format=format, optimize_graph=optimize_graph, **kwargs
        )

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # Documented in the class docstrings (numpy's protocol, not a public method).
        if copy is False:
            raise ValueError(
                "np.asarray(..., copy=False) of a lazy dlinalg expression: computing it always "
                "makes a new array; use copy=None or call .compute()"
            )
        if self._node.sparse and not self._post:
            raise DTypeError(
                f"np.asarray of a sparse {type(self).__name__} {_shape_text(self.shape)} would "
                "densify it silently; call .compute() for a scipy.sparse.csr_array, or "
                ".compute().toarray() for a dense numpy array"
            )
        return np.asarray(self.compute(), dtype=dtype)

    # --- the Dask collection protocol (see the module docstring) ---------
    def _lowered(self) -> Any:
        """The Dask collection of this expression, cached per ``dlinalg.*`` config."""
        config = tokenize(dask.config.get("dlinalg", default=None))
        cached = getattr(self, "_dask_lowered", None)
        if cached is None or cached[0] != config:
            cached = (config, _lower_alone(self._node))
            self._dask_lowered = cached
        return cached[1]

    def __dask_graph__(self) -> HighLevelGraph:
        return _hlg(self._lowered())

    def __dask_keys__(self) -> list:
        return self._lowered().__dask_keys__()

    def __dask_layers__(self) -> tuple:
        return tuple(self._lowered().__dask_layers__())

    def __dask_postcompute__(self) -> tuple:
        func, args = self._lowered().__dask_postcompute__()
        return _finalize, (func, tuple(args), self._post, self._node)

    def __dask_postpersist__(self) -> tuple:
        rebuild, args = self._lowered().__dask_postpersist__()
        return self._rebuild, (rebuild, tuple(args))

    def _rebuild(self, dsk: Any, rebuild: Any, args: tuple, *, rename: Any = None) -> Any:
        coll = rebuild(dsk, *args, rename=rename) if rename else rebuild(dsk, *args)
        node = self._node
        if isinstance(coll, Delayed):
            meta = empty_meta(node.dtype, node.sparse, len(node.shape))
            coll = da.from_delayed(coll, shape=node.shape, dtype=node.dtype, meta=meta)
        if coll.ndim == 2 and len(coll.chunks[1]) > 1:
            coll = coll.rechunk({1: -1})  # the column panels of a fat Gram
        return self._from_persisted(coll)

    def _from_persisted(self, arr: da.Array) -> Any:
        raise NotImplementedError

    def __dask_tokenize__(self) -> Any:
        return (type(self).__name__, self._node.token, self._post)

    __dask_optimize__ = staticmethod(fuse_finalized)
    __dask_scheduler__ = staticmethod(threaded.get)


class LazyResult(_Lazy):
    """A lazy vector or scalar produced by the algebra (``A @ x``, ``A.col_sums()``).

    A result is either held in memory once computed (column statistics,
    ``A.T @ y``: marked ``in memory`` in the repr) or distributed over the
    row blocks of its matrix (``A @ x``, ``A.row_sums()``). Get the value with
    :meth:`compute`, or several at once with :func:`dlinalg.compute`.

    Like a :class:`~dlinalg.DRM`, it is a Dask collection (:func:`dask.compute`,
    :func:`dask.persist` and ``Client.compute/persist`` accept it; a persisted
    result is a LazyResult backed by computed blocks), and ``np.asarray(r)``
    computes it (a 0-d array for a scalar).

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
    >>> import dask
    >>> dask.compute(A.col_sums(), A.norm())
    (array([6., 9.]), np.float64(7.416198487095663))
    >>> np.asarray(A @ np.ones(2))
    array([1., 5., 9.])
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

    def _from_persisted(self, arr: da.Array) -> LazyResult:
        node = self._node
        if node.local and not node.sparse:
            return LazyResult(N.DaskValue(arr), post=self._post)
        return LazyResult(N.Leaf(arr, node.sparse, "persisted"), post=self._post)

    def __repr__(self) -> str:
        where = "in memory" if self._node.local else "distributed"
        return f"<LazyResult shape={self.shape} dtype={self.dtype} ({where})>"

    def _repr_html_(self) -> str:
        """The notebook view: shape, dtype, where the value lives, the plan."""
        facts = [
            ("Shape", _shape_text(self.shape)),
            ("Dtype", self.dtype),
            ("Value", "in memory once computed" if self._node.local else "row-partitioned"),
        ]
        return html_repr("dlinalg.LazyResult", facts, None, self.explain())

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
    if isinstance(node, O.ColStats | N.Scalar | ChainPass | BlockReduce | Apply):
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
