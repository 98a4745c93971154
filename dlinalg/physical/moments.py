"""Column means and the centred scatter matrix in one pass (Chan et al.'s pairwise update).

``X^T X - n mu mu^T`` cancels catastrophically when the means are large next to
the spread (a column around 1e6 with unit variance loses every digit). Here
each row tile is centred on its own mean before its Gram is taken, and the
tiles' results merge with

    M2 = M2_a + M2_b + (n_a n_b / n) d d^T,    d = mean_b - mean_a,

which is exact in exact arithmetic and stable in floating point [1]_.

References
----------
.. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a
   pairwise algorithm for computing sample variances", COMPSTAT 1982, 30-41.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_blas_funcs

from dlinalg.physical.kernels import aligned
from dlinalg.physical.rowwise import tile_rows

__all__ = ["comoment_block", "comoment_combine"]

Moments = tuple[int, np.ndarray, np.ndarray]


def _merge(a: Moments, b: Moments) -> Moments:
    na, mean_a, m2_a = a
    nb, mean_b, m2_b = b
    n = na + nb
    d = mean_b - mean_a
    m2 = m2_a + m2_b
    m2 += np.outer(d, d * (na * nb / n))
    return n, mean_a + d * (nb / n), m2


def comoment_block(x: Any) -> Moments:
    """``(rows, column means, centred scatter)`` of one row block, in float64."""
    if sp.issparse(x):  # centring would densify: scatter from the block's Gram
        x = x.astype(np.float64)
        n = x.shape[0]
        mean = np.asarray(x.sum(axis=0)).ravel() / n
        return n, mean, (x.T @ x).toarray() - n * np.outer(mean, mean)
    x = aligned(x)
    syrk = get_blas_funcs("syrk", dtype=np.float64)
    step = tile_rows(x.shape[1])
    acc = None
    for start in range(0, x.shape[0], step):
        tile = np.asarray(x[start : start + step], dtype=np.float64)
        mean = tile.mean(axis=0)
        centred = tile - mean
        m2 = syrk(1.0, centred.T, trans=0, lower=0)
        m2 = np.triu(m2) + np.triu(m2, 1).T
        part = (tile.shape[0], mean, m2)
        acc = part if acc is None else _merge(acc, part)
    return acc


def comoment_combine(*parts: Moments) -> Moments:
    """Merge partial moments left to right (fixed order: bitwise stable)."""
    acc = parts[0]
    for p in parts[1:]:
        acc = _merge(acc, p)
    return acc
