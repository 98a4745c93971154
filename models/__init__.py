"""models: scikit-learn style estimators built on dlinalg.

Decompositions: :class:`PCA` and :class:`TruncatedSVD`. Linear models:
:class:`LinearRegression` and :class:`Ridge`. Recommenders:
:class:`ItemSimilarity` (Mahout's correlated cross-occurrence with the
log-likelihood ratio), :class:`RowSimilarity`, :class:`CosineSimilarity` and
:class:`ALS`, with :class:`Interactions` to read user/item logs and
:mod:`dlinalg.models.metrics` to evaluate them. numpy in, numpy out; Dask array or DRM
in, lazy out; xarray in, labeled xarray out.
"""

from . import metrics
from .als import ALS
from .cosine import CosineSimilarity
from .interactions import Interactions
from .linear_model import LinearRegression, Ridge
from .llr import log_likelihood_ratio
from .pca import PCA
from .similarity import ItemSimilarity, RowSimilarity
from .truncated_svd import TruncatedSVD

__all__ = [
    # decomposition
    "PCA",
    "TruncatedSVD",
    # linear models
    "LinearRegression",
    "Ridge",
    # recommenders
    "log_likelihood_ratio",
    "Interactions",
    "ItemSimilarity",
    "RowSimilarity",
    "CosineSimilarity",
    "ALS",
    "metrics",
]
