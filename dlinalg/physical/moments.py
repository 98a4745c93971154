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

__all__ = [
    "comoment_block",
    "comoment_combine",
    "weighted_comoment_block",
    "weighted_comoment_combine",
]

Moments = tuple[int, np.ndarray, np.ndarray]


def _merge(a: Moments, b: Moments) -> Moments:
    na, mean_a, m2_a = a
    nb, mean_b, m2_b = b
    n = na + nb
    d = mean_b - mean_a
    m2 = m2_a + m2_b
    m2 += np.outer(d, d * (na * nb / n))
    return n, mean_a + d * (nb / n), m2


def comoment_block(*xs: Any) -> Moments:
    """``(rows, column means, centred scatter)`` of one row block, in float64.

    Several row-aligned blocks are taken as their side-by-side ``[x1 x2
    ...]``, without building it. Dense blocks go tile by tile: each tile is
    centred on its own mean in a reused buffer (filled from every part), its
    scatter added with BLAS ``syrk`` and the correction ``(n_a n_t / n) d
    d^T`` with ``syr``, both on the upper triangle in place, so no
    block-sized array is allocated.
    """
    if any(sp.issparse(x) for x in xs):  # centring would densify: scatter from the Gram
        x = sp.hstack([sp.csr_array(x) for x in xs], format="csr") if len(xs) > 1 else xs[0]
        x = x.astype(np.float64)
        n = x.shape[0]
        mean = np.asarray(x.sum(axis=0)).ravel() / n
        return n, mean, (x.T @ x).toarray() - n * np.outer(mean, mean)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf data is reported by the caller
        return _dense_comoments([aligned(x) for x in xs])


def _dense_comoments(xs: list[np.ndarray]) -> Moments:
    syrk, syr = get_blas_funcs(("syrk", "syr"), dtype=np.float64)
    ncol = sum(x.shape[1] for x in xs)
    nrow = xs[0].shape[0]
    step = tile_rows(ncol)
    buffer = np.empty((min(step, nrow), ncol))
    upper = np.zeros((ncol, ncol), order="F")
    count, mean = 0, np.zeros(ncol)
    tile_mean = np.empty(ncol)
    for start in range(0, nrow, step):
        rows = min(step, nrow - start)
        centred = buffer[:rows]
        col = 0
        for x in xs:  # centre each part's tile into its columns of the buffer
            tile, width = x[start : start + step], x.shape[1]
            part_mean = tile_mean[col : col + width]
            part_mean[:] = tile.mean(axis=0, dtype=np.float64)
            np.subtract(tile, part_mean, out=centred[:, col : col + width])
            col += width
        upper = syrk(1.0, centred.T, beta=1.0, c=upper, trans=0, lower=0, overwrite_c=1)
        total = count + rows
        delta = tile_mean - mean
        if count:
            upper = syr(count * rows / total, delta, a=upper, lower=0, overwrite_a=1)
        mean += delta * (rows / total)
        count = total
    return count, mean, np.triu(upper) + np.triu(upper, 1).T


def comoment_combine(*parts: Moments) -> Moments:
    """Merge partial moments left to right (fixed order: bitwise stable)."""
    acc = parts[0]
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf data is reported by the caller
        for p in parts[1:]:
            acc = _merge(acc, p)
    return acc


# --- weighted moments -------------------------------------------------------------
def _weighted_merge(a: Moments, b: Moments) -> Moments:
    """Chan et al.'s update with weights: counts become total weights."""
    wa, mean_a, m2_a = a
    wb, mean_b, m2_b = b
    if not wb:  # a weightless part adds nothing (but its NaN/inf, kept in its mean)
        return wa, mean_a + mean_b, m2_a
    if not wa:
        return wb, mean_b + mean_a, m2_b
    w = wa + wb
    d = mean_b - mean_a
    m2 = m2_a + m2_b
    m2 += np.outer(d, d * (wa * wb / w))
    return w, mean_a + d * (wb / w), m2


def weighted_comoment_block(w: Any, *xs: Any) -> Moments:
    """``(total weight, weighted column means, weighted centred scatter)`` of one row block.

    ``w`` is the block's ``(rows, 1)`` column of non-negative weights; the
    scatter is ``sum_i w_i (x_i - mean)(x_i - mean)^T`` of ``[x1 x2 ...]``,
    i.e. the Gram of the rows centred on the weighted mean and scaled by
    ``sqrt(w_i)``. Dense tiles are centred on their own weighted mean and
    merged as :func:`comoment_block` does; sparse blocks are scaled, never
    centred (their scatter is ``X^T W X - W mean mean^T``). A block of zero
    total weight contributes nothing, except NaN in its mean when its data
    holds NaN or infinity (so the caller still reports it).
    """
    wv = np.asarray(to_dense_block(w), dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if any(sp.issparse(x) for x in xs):
            x = sp.hstack([sp.csr_array(x) for x in xs], format="csr") if len(xs) > 1 else xs[0]
            x = sp.csr_array(x, dtype=np.float64)
            total = float(wv.sum())
            wsum = np.asarray(x.T @ wv).ravel()
            if not total:
                return 0.0, 0.0 * np.asarray(x.sum(axis=0)).ravel(), np.zeros((x.shape[1],) * 2)
            mean = wsum / total
            xs_ = sp.diags_array(np.sqrt(wv)) @ x
            return total, mean, (xs_.T @ xs_).toarray() - total * np.outer(mean, mean)
        parts = [aligned(x) for x in xs]
        ncol = sum(x.shape[1] for x in parts)
        step = tile_rows(ncol)
        acc: Moments = (0.0, np.zeros(ncol), np.zeros((ncol, ncol)))
        for start in range(0, wv.size, step):  # one tile of [x1 x2 ...] at a time
            tile = np.hstack([x[start : start + step] for x in parts], dtype=np.float64)
            wt = wv[start : start + step]
            total = float(wt.sum())
            if not total:
                acc = _weighted_merge(acc, (0.0, 0.0 * tile.sum(axis=0), acc[2]))
                continue
            mean = (wt @ tile) / total
            centred = np.sqrt(wt)[:, None] * (tile - mean)
            acc = _weighted_merge(acc, (total, mean, centred.T @ centred))
        return acc


def weighted_comoment_combine(*parts: Moments) -> Moments:
    """Merge partial weighted moments left to right (fixed order: bitwise stable)."""
    acc = parts[0]
    with np.errstate(invalid="ignore", over="ignore"):
        for p in parts[1:]:
            acc = _weighted_merge(acc, p)
    return acc


def to_dense_block(x: Any) -> np.ndarray:
    return x.toarray() if sp.issparse(x) else np.asarray(x)
