"""One pass over the rows of A: the sums every decomposition is built from.

A decomposition states its passes in the matrix algebra: ``Y = row_map(A,
chain)`` is a tall factor (:class:`~dlinalg.physical.rowwise.RowChain` on the
rows of A, never stored), and ``Y.T @ Y``, ``A.T @ Y`` and ``Y.col_sums()``
computed together are rewritten by the optimizer into one
:class:`~dlinalg.plan.chain.ChainPass`: one read of A, the partial sums added
in a fixed tree so a recomputed task (after a lost worker) gives the same bits.
:func:`run_pass` is that, for the parts a caller names.
"""

from __future__ import annotations

from typing import Any

from dlinalg.functions import compute
from dlinalg.physical.rowwise import PassParts, RowChain
from dlinalg.plan.chain import RowMap

__all__ = ["row_map", "run_pass"]


def row_map(A: Any, chain: RowChain) -> Any:
    """``chain(A)`` as a lazy DRM: A's row blocks and row labels, no column labels.

    Nothing is stored: materialising it reads A once more (one chain per block).
    """
    return A._like(RowMap(A._node, chain), col_labels=None)


def run_pass(A: Any, chain: RowChain, want: tuple[str, ...] = ("gram",)) -> PassParts:
    """The sums ``want`` of ``Y = chain(A)`` from one read of A, on the current scheduler.

    ``"gram"`` is ``Y^T Y``, ``"atb"`` is ``A^T Y`` and ``"colsum"`` the
    column sums of ``Y``; what was not asked is None.
    """
    Y = row_map(A, chain)
    sums = {"gram": lambda: Y.T @ Y, "atb": lambda: A.T @ Y, "colsum": Y.col_sums}
    values = dict(zip(want, compute(*[sums[w]() for w in want]), strict=True))
    return PassParts(A.shape[0], *[values.get(p) for p in ("gram", "atb", "colsum")])
