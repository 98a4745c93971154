"""One pass over the rows of A: the sums every decomposition is built from.

``run_pass(A, chain, want)`` computes, in one read of A, any of ``Y^T Y``,
``A^T Y`` and the column sums of ``Y`` for ``Y = chain(A)`` (see
:class:`dlinalg.physical.rowwise.RowChain`), summed over row blocks in a
fixed tree so a recomputed task (after a lost worker) gives the same bits.
"""

from __future__ import annotations

from typing import Any

from dask.delayed import delayed

from dlinalg.physical import reduce as R
from dlinalg.physical.rowwise import PassParts, RowChain, chain_block, chain_combine

__all__ = ["run_pass", "pass_graph"]


def pass_graph(A: Any, chain: RowChain, want: tuple[str, ...]) -> Any:
    """The Delayed :class:`PassParts` of one pass (nothing computed)."""
    blocks = R.blocks_of(A.to_dask())
    parts = [delayed(chain_block, pure=True)(b, chain, want) for b in blocks]
    return R.tree_reduce(parts, chain_combine)


def run_pass(A: Any, chain: RowChain, want: tuple[str, ...] = ("gram",)) -> PassParts:
    """Compute one pass on the current scheduler (see :func:`dlinalg.compute`)."""
    from dlinalg.cluster import compute_collections

    return compute_collections(pass_graph(A, chain, want))[0]
