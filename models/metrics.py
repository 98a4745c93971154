"""Ranking metrics of recommendations: ``dlinalg.models.metrics`` kept as a module path.

The implementation is :mod:`dlinalg.models.recommenders.metrics`; this module
re-exports it so ``from dlinalg.models.metrics import ndcg_at_k`` works, as
``sklearn.metrics`` does.
"""

from dlinalg.models.recommenders.metrics import (
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    train_test_split,
)

__all__ = ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "train_test_split"]
