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

from __future__ import annotations

from typing import Any

from dlinalg._deferred_imports import deferred_attribute

_RECOMMENDERS = f"{__name__}.recommenders"
_LINEAR = ["LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression",
           "PoissonRegressor"]  # fmt: skip
_RECOMMENDER_NAMES = ["log_likelihood_ratio", "Interactions", "ItemSimilarity", "RowSimilarity",
                      "CosineSimilarity", "ALS"]  # fmt: skip

#: Imported on first use (PEP 562): a worker that runs one estimator's kernel
#: imports this ``__init__`` on the way, and does not load every family (and
#: scikit-learn) with it; ``import dlinalg.models`` stays cheap.
_DEFERRED: dict[str, str | None] = {
    "PCA": f"{__name__}.decomposition",
    "TruncatedSVD": f"{__name__}.decomposition",
    **dict.fromkeys(_LINEAR, f"{__name__}.linear_model"),
    **dict.fromkeys(_RECOMMENDER_NAMES, _RECOMMENDERS),
    "metrics": None,
    "evaluation": None,
    "datasets": None,
    "decomposition": None,
    "linear_model": None,
    "recommenders": None,
}

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


def __getattr__(name: str) -> Any:
    return deferred_attribute(__name__, name, _DEFERRED)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
