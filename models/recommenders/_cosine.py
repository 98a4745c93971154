"""Exact all-pairs column cosine similarity, Spark's ``RowMatrix.columnSimilarities()``."""

from __future__ import annotations

from typing import Any, ClassVar

import dask.array as da
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context

import dlinalg as dl
from dlinalg import DRM
from dlinalg.functions import compute_plan

from .._validation import as_float64, check_not_empty
from ._cooccurrence import cosine_panels, stack_panels
from ._recommend import FINITE, threshold

__all__ = ["CosineSimilarity"]


class CosineSimilarity(BaseEstimator):
    """Exact cosine similarity of every pair of columns (Spark's ``columnSimilarities()``).

    Parameters
    ----------
    threshold : float or None, default=None
        Keep only similarities >= threshold. Unlike Spark's DIMSUM
        threshold it does not sample: every kept value is exact.

    Attributes
    ----------
    similarities_ : scipy.sparse.csr_array of shape (n_columns, n_columns)
        Upper triangle (i < j) of the column cosine matrix, like the
        ``CoordinateMatrix`` Spark returns; zero similarities and columns
        of norm 0 have no entry. Use ``S + S.T`` for the symmetric matrix.
    column_labels_ : pandas.Index
        Column labels.
    n_features_in_ : int
        Columns seen in ``fit`` (scikit-learn's name).

    See Also
    --------
    sklearn.metrics.pairwise.cosine_similarity : ``cosine_similarity(A.T)``, in memory.

    Notes
    -----
    One pass for the column norms, and ``A'A`` by dlinalg's ``AtB`` plan in
    panels of rows (as :class:`ItemSimilarity`), each turned into cosines
    and cut to its upper triangle in its own task. Values may be negative
    for signed data. The output can be as dense as the upper half of
    ``A'A``; set ``threshold`` to keep it small.

    References
    ----------
    .. [1] Zadeh, R. B., and Carlsson, G. (2013). "Dimension independent
       matrix square using MapReduce" (DIMSUM). Spark's
       ``RowMatrix.columnSimilarities``.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models import CosineSimilarity
    >>> X = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    >>> CosineSimilarity().fit(X).similarities_.toarray()
    array([[0.        , 0.5       , 0.        ],
           [0.        , 0.        , 0.70710678],
           [0.        , 0.        , 0.        ]])
    """

    def __init__(self, *, threshold: float | None = None):
        self.threshold = threshold

    _parameter_constraints: ClassVar[dict] = {"threshold": [FINITE, None]}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, A: Any, y: None = None) -> CosineSimilarity:
        """Compute the column cosines of ``A`` (any real values).

        Parameters
        ----------
        A : scipy.sparse, DRM, dask array or array-like of shape (n_rows, n_columns)
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self : CosineSimilarity

        Raises
        ------
        ValueError
            For a bad threshold, an empty matrix or non-finite values
            (in-memory input), before any graph is built.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> from dlinalg.models import CosineSimilarity
        >>> X = dl.from_array(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 1.0]]), chunks=2)
        >>> CosineSimilarity(threshold=0.5).fit(X).similarities_.toarray()
        array([[0.        , 0.97590007],
               [0.        , 0.        ]])
        """
        M = _cosine_input(A)
        panels = cosine_panels(as_float64(M), threshold(self.threshold))
        parts = compute_plan(panels)
        n = M.shape[1]
        self.similarities_ = stack_panels(list(parts), (n, n))
        self.column_labels_ = (
            pd.Index(M.col_labels) if M.col_labels is not None else pd.RangeIndex(n)
        )
        self.n_features_in_ = n
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _cosine_input(A: Any) -> DRM:
    """Check a matrix for the cosines (metadata only for lazy input) and wrap it as a DRM."""
    if isinstance(A, DRM | da.Array):
        _check_shape(A.shape)
        return A if isinstance(A, DRM) else dl.from_array(A)
    x = sp.csr_array(A) if sp.issparse(A) else np.asarray(A)
    _check_shape(x.shape)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"A must be numeric, got dtype {x.dtype}")
    values = x.data if sp.issparse(x) else x
    if not np.isfinite(values).all():
        raise ValueError("A holds NaN or infinity; cosine similarity needs finite values")
    return dl.from_array(x)


def _check_shape(shape: tuple) -> None:
    if len(shape) != 2:
        raise ValueError(f"A must be a 2-D matrix, got shape {shape}")
    check_not_empty(shape, "A")
