"""implicit-style ranking metrics: ``dlinalg.models.evaluation`` kept as a module path.

The implementation is :mod:`dlinalg.models.recommenders.evaluation`; this module
re-exports it so ``from dlinalg.models.evaluation import precision_at_k`` reads
as ``from implicit.evaluation import precision_at_k`` does.
"""

from dlinalg.models.recommenders.evaluation import (
    AUC_at_k,
    mean_average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics_at_k,
)

__all__ = [
    "ranking_metrics_at_k",
    "precision_at_k",
    "mean_average_precision_at_k",
    "ndcg_at_k",
    "AUC_at_k",
]
