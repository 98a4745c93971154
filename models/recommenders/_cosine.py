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

from .._validation import as_float64, check_not_empty
from ._api_common import csr_entries, csr_from
from ._cooccurrence import cosine_panels, stack_panels
from ._recommend import FINITE, threshold
from ._similarity_api import (
    SimilarityRecommender,
    check_fit_callback,
    computed,
    item_ids,
    saved_labels,
)

__all__ = ["CosineSimilarity"]


class CosineSimilarity(SimilarityRecommender, BaseEstimator):
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
    >>> model = CosineSimilarity().fit(X)
    >>> model.similarities_.toarray()
    array([[0.        , 0.5       , 0.        ],
           [0.        , 0.        , 0.70710678],
           [0.        , 0.        , 0.        ]])

    implicit's calls on the symmetric matrix (the columns are the items):

    >>> model.similar_items(1)
    (array([2, 0]), array([0.70710678, 0.5       ]))
    >>> model.recommend(0, [[2.0, 0.0, 0.0]])  # a history weighted 2 on item 0
    (array([1]), array([1.]))
    """

    FORMAT = "dlinalg.CosineSimilarity/1"
    BINARY = False  # histories weight the similarity rows, as implicit's CosineRecommender

    def __init__(self, *, threshold: float | None = None):
        self.threshold = threshold

    _parameter_constraints: ClassVar[dict] = {"threshold": [FINITE, None]}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, A: Any, y: None = None, *, show_progress: bool | None = False, callback: Any = None
    ) -> CosineSimilarity:
        """Compute the column cosines of ``A`` (any real values).

        Parameters
        ----------
        A : scipy.sparse, DRM, dask array or array-like of shape (n_rows, n_columns)
        y : None
            Ignored (scikit-learn's signature).
        show_progress : bool or None, default=False
            A one-step progress bar of the computation (:mod:`tqdm`); None:
            on in Jupyter.
        callback : None
            implicit's signature; a callable raises ``NotImplementedError``
            (no iterations, as implicit's ``CosineRecommender``).

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
        check_fit_callback(self, callback)
        M = _cosine_input(A)
        panels = cosine_panels(as_float64(M), threshold(self.threshold))
        parts = computed(self, show_progress, panels)
        n = M.shape[1]
        self.similarities_ = stack_panels(list(parts), (n, n))
        self.column_labels_ = (
            pd.Index(M.col_labels) if M.col_labels is not None else pd.RangeIndex(n)
        )
        self.n_features_in_ = n
        self._prepare()
        return self

    def _prepare(self) -> None:
        """The symmetric cosine matrix (no diagonal): neighbours and scoring rows."""
        S = self.similarities_
        self._symmetric = sp.csr_array(S + S.T)
        self._symmetric.sort_indices()

    # --- implicit's calls (SimilarityRecommender): the columns are the items ---------------
    def _items(self, j: int = 0):
        return item_ids(self.column_labels_)

    def _neighbours(self, j: int = 0) -> sp.csr_array:
        return self._symmetric

    def _scoring(self) -> list[sp.csr_array]:
        return [self._symmetric]

    def _state(self) -> tuple[dict, dict]:
        return csr_entries("similarities", self.similarities_), {
            "column_labels": item_ids(self.column_labels_).labels
        }

    def _restore(self, data: dict) -> None:
        self.similarities_ = csr_from(data, "similarities")
        self.n_features_in_ = self.similarities_.shape[1]
        self.column_labels_ = saved_labels(data, "column_labels", self.n_features_in_)
        self._prepare()

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
