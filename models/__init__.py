"""models: scikit-learn style estimators built on dlinalg.

Decompositions: :class:`PCA` and :class:`TruncatedSVD`. Linear models:
:class:`LinearRegression` and :class:`Ridge`. Recommenders:
:class:`ItemSimilarity` (Mahout's correlated cross-occurrence with the
log-likelihood ratio), :class:`RowSimilarity`, :class:`CosineSimilarity` and
:class:`ALS`, with :class:`Interactions` to read user/item logs and
:mod:`models.metrics` to evaluate them. numpy in, numpy out; Dask array or DRM
in, lazy out; xarray in, labeled xarray out.
"""

from models import metrics
from models.als import ALS
from models.cosine import CosineSimilarity
from models.interactions import Interactions
from models.linear_model import LinearRegression, Ridge
from models.llr import log_likelihood_ratio
from models.pca import PCA
from models.similarity import ItemSimilarity, RowSimilarity
from models.truncated_svd import TruncatedSVD

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
