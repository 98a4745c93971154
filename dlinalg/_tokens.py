"""Task keys that name exactly one task: deterministic tokens and unfused graphs.

A key must be a function of everything its value depends on, and it must name
one task definition whatever path submits it. Two rules keep it so.

``dask.base.tokenize`` hashes an array's bytes with its dtype and shape but
not its memory order, so a square C-ordered ``H`` and its view ``H.T`` get
the same token (dask 2026.8). Two different operands under one key silently
give wrong results (``(A @ H.T) @ H`` computed ``A @ H.T @ H.T``), so every
token of a user array goes through :func:`array_token`, which adds strides.

Dask's graph optimizations (blockwise fusion, ``fuse_roots``, linear fusion)
keep a layer's output key but replace its task by a fused subgraph whose
shape depends on which other keys the same graph asks for. A key persisted by
one graph and submitted again, unfused, by the next (a reduction over
``to_delayed(optimize_graph=False)`` blocks) then names two tasks, and the
scheduler logs "Detected different `run_spec`". dlinalg's own plan already
fuses what is worth fusing, so every graph dlinalg submits is only culled:
:func:`one_task_per_key` installs that policy for arrays and delayed values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import dask
import numpy as np
from dask.base import tokenize
from dask.core import flatten
from dask.highlevelgraph import HighLevelGraph

__all__ = ["array_token", "cull_only", "one_task_per_key"]


def _with_layout(part: Any) -> Any:
    if isinstance(part, np.ndarray):
        return ("ndarray", part.strides, part)
    if isinstance(part, tuple | list):
        return type(part)(_with_layout(p) for p in part)
    return part


def array_token(*parts: Any) -> str:
    """``tokenize(*parts)`` with every numpy array's strides in the hash.

    Examples
    --------
    >>> import numpy as np
    >>> from dask.base import tokenize
    >>> H = np.arange(9.0).reshape(3, 3)
    >>> tokenize(H) == tokenize(H.T), array_token(H) == array_token(H.T)
    (True, False)
    """
    return tokenize(*(_with_layout(p) for p in parts))


def cull_only(dsk: Any, keys: Any, **kwargs: Any) -> HighLevelGraph:
    """Dask's graph optimization minus every fusion: drop the tasks ``keys`` do not need.

    Each remaining key keeps the task its layer defines, so the same key is the
    same task in every graph that contains it.
    """
    if not isinstance(dsk, HighLevelGraph):
        dsk = HighLevelGraph.from_collections(str(id(dsk)), dsk, dependencies=())
    return _cull(dsk, set(flatten(keys)))


def _cull(graph: HighLevelGraph, keys: set) -> HighLevelGraph:
    """``HighLevelGraph.cull``, asking each layer only for keys it holds.

    dask's cull hands every layer the whole set of wanted keys, and its
    task-spec ``cull`` returns a layer untouched when asked for as many keys
    as the layer has tasks, whether they are its keys or not (dask 2026.11,
    ``dask._task_spec.cull``). A layer of 4 block tasks that nothing needs was
    kept, and computed, whenever 4 keys of other layers were wanted at that
    point. It also keeps the dependencies between the layers it keeps (dask's
    loses them to its renaming).
    """
    tok = tokenize(keys)
    legacy = any(layer.has_legacy_tasks for layer in graph.layers.values())
    external = graph.get_all_external_keys() if legacy else set()
    layers, renamed = {}, {}
    for name in reversed(graph._toposort_layers()):
        layer = graph.layers[name]
        wanted = keys.intersection(layer.get_output_keys())
        if not wanted:
            continue
        culled, deps = layer.cull(wanted, external)
        for key, needs in deps.items():
            keys |= needs
            keys.discard(key)
        renamed[name] = f"{name}-{tok}"
        layers[renamed[name]] = culled
    dependencies = {
        renamed[name]: {renamed[d] for d in graph.dependencies[name] if d in renamed}
        for name in renamed
    }
    return HighLevelGraph(layers, dependencies)


@contextlib.contextmanager
def one_task_per_key() -> Iterator[None]:
    """Optimize Dask arrays and delayed values by culling only, inside the block.

    Every ``compute``/``persist`` dlinalg makes runs under it, so a key that a
    persist left on the cluster and a later graph submits again carry the same
    task (see the module docstring).

    Examples
    --------
    >>> import dask.array as da
    >>> from dlinalg._tokens import cull_only, one_task_per_key
    >>> x = da.ones(4, chunks=2) + 1
    >>> with one_task_per_key():
    ...     optimize = type(x).__dask_optimize__
    ...     graph = optimize(x.__dask_graph__(), x.__dask_keys__())
    >>> optimize is cull_only, len(graph.layers)  # both layers kept: nothing fused
    (True, 2)
    """
    with dask.config.set({"array_optimize": cull_only, "delayed_optimize": cull_only}):
        yield
