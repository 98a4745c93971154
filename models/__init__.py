"""models: scikit-learn style estimators built on dlinalg.

Decompositions: :class:`PCA` and :class:`TruncatedSVD`. Linear models:
:class:`LinearRegression`, :class:`Ridge`, :class:`Lasso`, :class:`ElasticNet`,
:class:`LogisticRegression` and :class:`PoissonRegressor`. Recommenders:
:class:`ItemSimilarity` (Mahout's correlated cross-occurrence with the
log-likelihood ratio), :class:`RowSimilarity`, :class:`CosineSimilarity` and
:class:`ALS`, with :class:`Interactions` to read user/item logs and
:mod:`~dlinalg.models.recommenders.metrics` to evaluate them and
:mod:`~dlinalg.models.recommenders.datasets` to make data. numpy in, numpy out;
Dask array or DRM in, lazy out; xarray in, labeled xarray out.

The estimators are grouped by family as scikit-learn's are:
:mod:`dlinalg.models.decomposition`, :mod:`dlinalg.models.linear_model` and
:mod:`dlinalg.models.recommenders`; ``_validation`` holds what several
families share (the input boundary ``validate_input`` and the parameter checks).
"""

from . import datasets, evaluation, metrics
from .decomposition import PCA, TruncatedSVD
from .linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from .recommenders import (
    ALS,
    CosineSimilarity,
    Interactions,
    ItemSimilarity,
    RowSimilarity,
    log_likelihood_ratio,
)

__all__ = [
    # decomposition
    "PCA",
    "TruncatedSVD",
    # linear models
    "LinearRegression",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "PoissonRegressor",
    # recommenders
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
