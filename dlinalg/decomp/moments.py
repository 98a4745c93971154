"""Column means and the centred scatter matrix of a distributed matrix, in one pass."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg._operands import as_matrix
from dlinalg._validation import raise_if_nonfinite
from dlinalg.errors import ShapeError
from dlinalg.functions import compute_plan
from dlinalg.physical.moments import (
    comoment_block,
    comoment_combine,
    weighted_comoment_block,
    weighted_comoment_combine,
)
from dlinalg.plan.blockreduce import BlockReduce
from dlinalg.plan.lower import Lowering
from dlinalg.plan.rewrite import optimize

__all__ = ["comoments", "comoments_graph"]


def comoments(
    A: Any, *more: Any, check_finite: bool = True, weights: Any = None
) -> tuple[int, np.ndarray, np.ndarray]:
    """Row count, column means and centred scatter ``(A - mean)^T (A - mean)``, one pass.

    With ``more`` matrices (row-aligned with A), the moments of ``[A B ...]``,
    read block by block without building the side-by-side blocks.

    Each row tile is centred on its own mean and the partial results merge
    by Chan, Golub and LeVeque's pairwise update [1]_, so large column means
    cost no accuracy (``A^T A - n mean mean^T`` would lose it all). Sparse
    blocks are not centred (that would densify them): their scatter comes
    from the block's Gram, accurate while the means are not large next to
    the spread.

    Parameters
    ----------
    A : DRM, numpy.ndarray, scipy.sparse matrix or dask.array.Array
        The ``m x n`` matrix.
    check_finite : bool, default True
        Raise :class:`~dlinalg.errors.NonFiniteError` if A holds NaN or infinity.
    weights : DRM of shape (m, 1), optional
        Non-negative row weights ``w`` (not checked here): then ``count`` is
        their sum, ``mean`` the weighted means and ``scatter`` ``sum_i w_i
        (a_i - mean)(a_i - mean)^T``, by the same pairwise update with
        weights for counts, in the same one pass.

    Returns
    -------
    count : int or float
        ``m`` (the total weight with ``weights``).
    mean : numpy.ndarray
        ``(n,)`` column means, float64.
    scatter : numpy.ndarray
        ``(n, n)`` symmetric, float64; the covariance is ``scatter / (m - ddof)``.

    See Also
    --------
    numpy.cov, eigh_gram, DRM.col_vars

    References
    ----------
    .. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and
       a pairwise algorithm for computing sample variances", COMPSTAT 1982.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.decomp.moments import comoments
    >>> X = np.random.default_rng(0).standard_normal((500, 3)) + 1e6
    >>> m, mean, scatter = comoments(dl.from_array(X, chunks=200))
    >>> m, bool(np.allclose(scatter / (m - 1), np.cov(X.T)))
    (500, True)
    """
    A = as_matrix(A, check_finite)
    node = _comoments_node(A, *more, check_finite=check_finite, weights=weights)
    count, mean, scatter = compute_plan([node])[0]
    if check_finite:
        raise_if_nonfinite(np.diag(scatter) + mean, "A", None if more else A.col_labels)
    return (int(count) if weights is None else float(count)), mean, scatter


def comoments_graph(A: Any, *more: Any, check_finite: bool = True, weights: Any = None) -> Any:
    """The Delayed ``(count, mean, scatter)`` of :func:`comoments`, to compute with other values.

    Computed in the same ``dask.compute`` as other results over the same
    blocks, it shares their pass over the data.
    """
    node = _comoments_node(A, *more, check_finite=check_finite, weights=weights)
    return Lowering().value(optimize(node))


def _comoments_node(A: Any, *more: Any, check_finite: bool, weights: Any = None) -> BlockReduce:
    A = as_matrix(A, check_finite)
    inputs = [A._node]
    if weights is not None:  # first, so the block kernel gets (w, A, B, ...)
        more = (A, *more)
        w = as_matrix(weights, False, what="weights")
        if w.nrow != A.nrow:
            raise ShapeError(
                f"weights have {w.nrow} rows, A has {A.nrow}: they must be row-aligned"
            )
        A = w if w.chunks == A.chunks else w.rechunk(A.chunks)
        inputs = [A._node]
    for B in more:
        B = as_matrix(B, check_finite, what="B")
        if B.nrow != A.nrow:
            raise ShapeError(f"B has {B.nrow} rows, A has {A.nrow}: they must be row-aligned")
        inputs.append((B if B.chunks == A.chunks else B.rechunk(A.chunks))._node)
    if weights is not None:
        return BlockReduce(tuple(inputs), weighted_comoment_block, weighted_comoment_combine)
    return BlockReduce(tuple(inputs), comoment_block, comoment_combine)
