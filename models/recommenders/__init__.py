"""Recommenders: interactions, item similarity, ALS, their metrics and data.

:class:`Interactions` reads user/item logs; :class:`ItemSimilarity` and
:class:`RowSimilarity` score co-occurrences with the log-likelihood ratio
(Mahout's correlated cross-occurrence, :func:`log_likelihood_ratio`),
:class:`CosineSimilarity` with exact cosines, :class:`ALS` factors the
matrix. The public modules :mod:`.metrics` (ranking metrics and the split),
:mod:`.evaluation` (the same metrics called as ``implicit.evaluation``'s),
:mod:`.datasets` (synthetic interaction logs) and :mod:`.cli` (the
``dlinalg`` command line) sit beside the private ones.
"""

from . import datasets, evaluation, metrics
from ._als import ALS
from ._cosine import CosineSimilarity
from ._interactions import Interactions
from ._llr import log_likelihood_ratio
from ._similarity import ItemSimilarity, RowSimilarity

__all__ = [
    "log_likelihood_ratio",
    "Interactions",
    "ItemSimilarity",
    "RowSimilarity",
    "CosineSimilarity",
    "ALS",
    "metrics",
    "evaluation",
    "datasets",
]
