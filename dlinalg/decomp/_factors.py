"""What the decompositions hand back: lazy tall factors and deterministic signs."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg.decomp.passes import row_map
from dlinalg.physical.rowwise import RowChain

__all__ = ["tall_factor", "flip_signs"]


def tall_factor(A: Any, chain: RowChain, dtype: np.dtype) -> Any:
    """``chain(A)`` as a lazy DRM: A's row blocks and row labels, no column labels.

    Nothing is stored: materialising it reads A once more (one chain per block).
    """
    return row_map(A, chain.astype(dtype))


def flip_signs(u: np.ndarray | None, vt: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Make the largest-magnitude entry of each row of ``vt`` positive (u follows).

    scikit-learn's ``svd_flip(u, vt, u_based_decision=False)``: it needs only
    the small factor, so no pass over the tall one.
    """
    pick = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), pick])
    signs[signs == 0] = 1
    return (None if u is None else u * signs), vt * signs[:, None]
