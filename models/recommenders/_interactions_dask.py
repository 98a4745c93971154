"""Interaction matrices from a Dask DataFrame, built on the workers partition by partition.

The needed columns are persisted on the cluster, then two passes over the
partitions run there, and only dictionary-sized data reaches the client:

1. each partition reports what the checks and the dictionaries need: its row
   count, which label columns hold missing values, its action values, and
   (over the rows of the selected actions, weights checked) its distinct
   users and its distinct items per action, in order of first appearance;
2. the client merges those into the dictionaries (sorted, as
   ``pandas.factorize(sort=True)`` orders them, or in order of first
   appearance when the labels cannot be sorted) and every partition turns its
   rows into one CSR count matrix per action against them; the matrices are
   summed in a fixed tree (for matrices left on the cluster, one tree per
   range of users sized by the workers' memory, so no task holds them all).

The result is the one :meth:`Interactions.from_dataframe` builds from the
same rows in pandas: the same dictionaries and the same counts.

Why its own graph: the input is a table (DataFrame partitions), not a
matrix, and the plan's nodes describe matrices; the passes run through the
runtime's executor (:func:`dlinalg.cluster.executor_for`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Hashable, Sequence
from operator import getitem
from typing import Any, NamedTuple

import dask
import dask.array as da
import numpy as np
import pandas as pd
import scipy.sparse as sp
from dask._task_spec import Task, TaskRef
from dask.base import tokenize
from dask.delayed import delayed
from dask.highlevelgraph import HighLevelGraph

from dlinalg.cluster import executor_for
from dlinalg.construct import default_row_chunks
from dlinalg.errors import ParameterError
from dlinalg.physical.reduce import empty_meta, tree_reduce

from ._interaction_checks import (
    DEFAULT_ACTION,
    MAX_TOTAL_WEIGHT,
    EmptyTableError,
    _check_label_types,
    _check_weights,
    _codes,
)

__all__ = ["dask_matrices", "dask_row_blocks"]

_ROLES = ("user", "item", "action")


class _Summary(NamedTuple):
    rows: int
    missing: tuple[bool, ...]
    action_values: pd.Series | None
    users: pd.Series | None
    items: dict[Hashable, pd.Series]
    weight_total: float = 0.0


def _kept(
    part: pd.DataFrame, cols: dict[str, Hashable | None], selected: list | None
) -> tuple[pd.DataFrame, dict[Hashable, np.ndarray]]:
    """The rows of the selected actions, and a row mask per action (None: every value)."""
    if cols["action"] is None:
        return part, {DEFAULT_ACTION: np.ones(len(part), dtype=bool)}
    values = part[cols["action"]].to_numpy()
    names = list(pd.unique(values)) if selected is None else selected
    masks = {a: values == a for a in names}
    keep = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(len(part), bool)
    return part[keep], {a: m[keep] for a, m in masks.items()}


def _counts(part: pd.DataFrame, weight: Hashable | None, check: bool) -> np.ndarray:
    """The rows' counts; ``check`` in the first pass only (the second reads checked rows)."""
    if weight is None:
        return np.ones(len(part), dtype=np.int64)
    if check:
        return _check_weights(part[weight], weight)
    return part[weight].to_numpy(dtype=np.float64).astype(np.int64)


def _summarize(
    part: pd.DataFrame, cols: dict[str, Hashable | None], selected: list | None
) -> _Summary:
    missing = tuple(cols[r] is not None and bool(part[cols[r]].isna().any()) for r in _ROLES)
    action_values = part[cols["action"]].drop_duplicates() if cols["action"] is not None else None
    if any(missing):  # the client raises; the rest is not needed
        return _Summary(len(part), missing, action_values, None, {})
    kept, masks = _kept(part, cols, selected)
    counts = _counts(kept, cols["weight"], check=True)  # raises on a bad weight
    item_values = kept[cols["item"]]
    return _Summary(
        len(part),
        missing,
        action_values,
        kept[cols["user"]].drop_duplicates(),
        {a: item_values[m].drop_duplicates() for a, m in masks.items()},
        float(counts.sum(dtype=np.float64)),
    )


def _distinct(pieces: list[pd.Series]) -> pd.Series:
    """The distinct values of the pieces, in order of first appearance (pieces in order)."""
    return pd.concat(pieces, ignore_index=True).drop_duplicates()


def _dictionary(pieces: list[pd.Series], role: str, col: Hashable) -> pd.Index:
    """The labels of ``pieces`` as ``interactions._codes`` orders those of their rows.

    Label types are checked over every partition's distinct labels: one
    partition of ints and one of strings is refused like a mixed column.
    """
    distinct = _distinct(pieces)
    _check_label_types(distinct, role, col)
    return _codes(distinct)[1]


def _encode(values: pd.Series, dictionary: pd.Index) -> np.ndarray:
    """Positions of ``values`` in ``dictionary``: each distinct value is looked up once."""
    codes, distinct = pd.factorize(values)
    return dictionary.get_indexer(distinct)[codes]


def _part_matrices(
    part: pd.DataFrame,
    cols: dict[str, Hashable | None],
    selected: list,
    dictionaries: tuple[pd.Index, dict[Hashable, pd.Index]],
) -> dict[Hashable, sp.csr_array]:
    users, items = dictionaries
    kept, masks = _kept(part, cols, selected)
    counts = _counts(kept, cols["weight"], check=False)
    ucodes = _encode(kept[cols["user"]], users)
    item_values = kept[cols["item"]]
    out = {}
    for a, mask in masks.items():
        icodes = _encode(item_values[mask], items[a])
        m = sp.csr_array((counts[mask], (ucodes[mask], icodes)), shape=(len(users), len(items[a])))
        m.sum_duplicates()
        m.eliminate_zeros()  # a weight of 0 is no interaction
        out[a] = m
    return out


def _add(*parts: dict[Hashable, sp.csr_array]) -> dict[Hashable, sp.csr_array]:
    total = dict(parts[0])
    for p in parts[1:]:
        for a, m in p.items():
            total[a] = total[a] + m
    return total


class _Passes(NamedTuple):
    """What the first pass leaves: the partitions and the dictionaries."""

    parts: list[Any]
    names: list[Hashable]
    users: pd.Index
    items: dict[Hashable, pd.Index]
    rows: int


def _first_pass(
    df: Any, cols: dict[str, Hashable | None], actions: Sequence[Hashable] | None, select: Any
) -> _Passes:
    """Persist the needed columns, check them and merge the dictionaries (pass 1)."""
    (frame,) = dask.persist(df[list(dict.fromkeys(c for c in cols.values() if c is not None))])
    parts = frame.to_delayed()  # read once, for both passes
    selected = None if actions is None else list(actions)
    summaries = dask.compute(*[delayed(_summarize, pure=True)(p, cols, selected) for p in parts])
    rows = sum(s.rows for s in summaries)
    if rows == 0:
        raise EmptyTableError
    for i, role in enumerate(_ROLES):
        if any(s.missing[i] for s in summaries):
            raise ValueError(
                f"the {role} column {cols[role]!r} holds missing values; drop them first"
            )
    total = sum(s.weight_total for s in summaries)
    if total > MAX_TOTAL_WEIGHT:
        raise ParameterError(
            f"the weight column {cols['weight']!r} adds up to {total:.6g}, more than 2**62: "
            "summed counts would overflow int64; scale the weights down"
        )
    if cols["action"] is None:
        names = [DEFAULT_ACTION]
    else:
        present = _distinct([s.action_values for s in summaries])
        _check_label_types(present, "action", cols["action"])
        names = select(list(present), actions, cols["action"])
    users = _dictionary([s.users for s in summaries], "user", cols["user"])
    items = {
        a: _dictionary([s.items[a] for s in summaries if a in s.items], "item", cols["item"])
        for a in names
    }
    return _Passes(parts, names, users, items, rows)


def _summed(passes: _Passes, cols: dict[str, Hashable | None]) -> Any:
    """Pass 2, lazy: every partition's count matrices, summed in a fixed tree."""
    shared = delayed((passes.users, passes.items), pure=True)
    return tree_reduce(
        [delayed(_part_matrices, pure=True)(p, cols, passes.names, shared) for p in passes.parts],
        _add,
    )


def dask_matrices(
    df: Any,
    cols: dict[str, Hashable | None],
    actions: Sequence[Hashable] | None,
    select: Any,
) -> tuple[pd.Index, dict[Hashable, sp.csr_array], dict[Hashable, pd.Index]]:
    """``(users, matrices, items)`` of a Dask DataFrame, computed on the current scheduler.

    ``select(present, actions, col)`` is the caller's rule turning the action
    values present (first appearance order) and ``actions=`` into the list
    of selected actions, raising on a bad selection.
    """
    passes = _first_pass(df, cols, actions, select)
    matrices = _summed(passes, cols).compute()
    return passes.users, {a: matrices[a] for a in passes.names}, passes.items


def _action_rows(matrices: dict[Hashable, sp.csr_array], action: Hashable, start: int, stop: int):
    return matrices[action][start:stop]


def _part_ranges(
    part: pd.DataFrame,
    cols: dict[str, Hashable | None],
    selected: list,
    dictionaries: tuple[pd.Index, dict[Hashable, pd.Index]],
    ranges: list[int],
) -> list[dict[Hashable, sp.csr_array]]:
    """A partition's count matrices cut into the user ranges ``ranges[r]:ranges[r + 1]``."""
    whole = _part_matrices(part, cols, selected, dictionaries)
    return [{a: m[lo:hi] for a, m in whole.items()} for lo, hi in itertools.pairwise(ranges)]


#: Bytes one stored count costs in a summed range (int64 value, int32 column, slack).
COUNT_BYTES = 16


def user_ranges(bounds: list[int], rows: int, users: int, budget: int) -> list[int]:
    """Row-block bounds grouped into user ranges whose counts fit half of ``budget``.

    A range's counts are summed over the partitions by one tree, whose root
    holds them all; a log with ``rows`` lines has at most ``rows / users``
    counts per user. ``budget`` 0 (no memory limit): one range.
    """
    if not budget:
        return [bounds[0], bounds[-1]]
    per_user = COUNT_BYTES * rows / max(1, users)
    out = [bounds[0]]
    for lo, hi in itertools.pairwise(bounds):
        if lo > out[-1] and (hi - out[-1]) * per_user > budget / 2:
            out.append(lo)
    return [*out, bounds[-1]]


def dask_row_blocks(
    df: Any,
    cols: dict[str, Hashable | None],
    actions: Sequence[Hashable] | None,
    select: Any,
) -> tuple[pd.Index, dict[Hashable, da.Array], dict[Hashable, pd.Index], int]:
    """``(users, matrices, items, rows)`` with the matrices left on the cluster.

    As :func:`dask_matrices`, but each action's count matrix is a Dask array
    of CSR row blocks (:func:`dlinalg.construct.default_row_chunks` rows
    each, the smallest over the actions) sliced on the workers: only the
    dictionaries reach this process, and a graph built on the matrices
    carries keys, not data. The counts are summed per range of users
    (:func:`user_ranges`, sized by the workers' memory), so no task holds
    the whole matrix. ``rows`` is the table's row count.
    """
    passes = _first_pass(df, cols, actions, select)
    n = len(passes.users)
    steps = []
    for a in passes.names:
        shape = (n, len(passes.items[a]))
        density = min(1.0, passes.rows / max(1, shape[0] * shape[1]))
        steps.append(default_row_chunks(shape, np.dtype(np.int64).itemsize, density))
    bounds = [*range(0, n, min(steps)), n]
    run = executor_for(scheduler=None)
    budget = run.group_bytes() if run.client is not None else 0
    ranges = user_ranges(bounds, passes.rows, n, budget)
    shared = delayed((passes.users, passes.items), pure=True)
    cut = [
        delayed(_part_ranges, pure=True)(p, cols, passes.names, shared, ranges)
        for p in passes.parts
    ]
    totals = [
        tree_reduce([delayed(getitem, pure=True)(c, r) for c in cut], _add)
        for r in range(len(ranges) - 1)
    ]
    chunks = (tuple(np.diff(bounds).tolist()),)
    out = {}
    for a in passes.names:
        name = f"interaction-rows-{tokenize([t.key for t in totals], a, bounds)}"
        dsk = {}
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            r = bisect.bisect_right(ranges, lo) - 1
            args = (TaskRef(totals[r].key), a, lo - ranges[r], hi - ranges[r])
            dsk[(name, i, 0)] = Task((name, i, 0), _action_rows, *args)
        graph = HighLevelGraph.from_collections(name, dsk, dependencies=totals)
        shape_chunks = (*chunks, (len(passes.items[a]),))
        out[a] = da.Array(graph, name, shape_chunks, meta=empty_meta(np.dtype(np.int64), True))
    return passes.users, out, passes.items, passes.rows
