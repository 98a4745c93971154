"""Ranking metrics called as ``implicit.evaluation``'s: a model, a train and a test matrix.

``ranking_metrics_at_k(model, train_user_items, test_user_items, K)`` asks the
model for the top ``K`` items of every user with a test item (the training
items filtered, in batches of 1,000 users, as implicit 0.7 does) and scores
them against the test items with implicit's formulas: ``precision`` is the
number of hits over the sum of ``min(K, n_test)`` (a micro average), ``map``,
``ndcg`` (``1 / log2(rank + 1)`` gains) and ``auc`` are averaged over users.
The tests require the values implicit's own functions give.

The array form (recommendations and held-out items already at hand) is
:mod:`~dlinalg.models.recommenders.metrics`.

References
----------
.. [1] Jarvelin, K., and Kekalainen, J. (2002). "Cumulated gain-based
   evaluation of IR techniques". ACM Transactions on Information Systems,
   20(4), 422-446.
.. [2] Rendle, S., Freudenthaler, C., Gantner, Z., and Schmidt-Thieme, L.
   (2009). "BPR: Bayesian personalized ranking from implicit feedback".
   UAI 2009 (AUC of a user's ranking).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import POSITIVE_INT, check_params
from .metrics import _hits_and_counts

__all__ = [
    "ranking_metrics_at_k",
    "precision_at_k",
    "mean_average_precision_at_k",
    "ndcg_at_k",
    "AUC_at_k",
]

#: Users per ``recommend`` call (implicit's batch).
BATCH = 1000


def _matrix(M: Any, name: str) -> sp.csr_array:
    if not sp.issparse(M):
        raise TypeError(
            f"{name} must be a scipy.sparse user x item matrix, got {type(M).__name__}"
        )
    csr = sp.csr_array(M, copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def _recommend(model: Any, users: np.ndarray, train: sp.csr_array, K: int) -> np.ndarray:
    rows = sp.csr_matrix(train[users])  # implicit's models require the csr_matrix class
    if "labels" in inspect.signature(model.recommend).parameters:  # positions, not labels
        ids, _ = model.recommend(users, rows, N=K, labels=False)
    else:  # implicit's own models
        ids, _ = model.recommend(users, rows, N=K)
    return np.asarray(ids, dtype=np.int64).reshape(len(users), -1)


def ranking_metrics_at_k(
    model: Any,
    train_user_items: Any,
    test_user_items: Any,
    K: int = 10,
    show_progress: bool = False,
    num_threads: int = 1,
) -> dict[str, float]:
    """Precision, MAP, NDCG and AUC at ``K`` of ``model`` on held-out interactions.

    Parameters
    ----------
    model : fitted recommender
        Anything with implicit's ``recommend(userids, user_items, N)``
        (dlinalg's ``ALS``, implicit's models).
    train_user_items : scipy.sparse matrix of shape (n_users, n_items)
        The training interactions: filtered from the recommendations.
    test_user_items : scipy.sparse matrix of shape (n_users, n_items)
        The held-out interactions; users without any are skipped.
    K : int, default=10
        Cut-off rank.
    show_progress, num_threads
        Accepted for implicit's signature; dlinalg batches the users instead.

    Returns
    -------
    dict
        ``{"precision", "map", "ndcg", "auc"}``.

    Raises
    ------
    ValueError
        ``K < 1``, train and test of different shapes, no user with a test item.
    TypeError
        A matrix that is not sparse.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from dlinalg.models import ALS
    >>> from dlinalg.models.evaluation import ranking_metrics_at_k
    >>> train = sp.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], float))
    >>> test = sp.csr_array(np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], float))
    >>> m = ranking_metrics_at_k(ALS(2, iterations=5).fit(train), train, test, K=2)
    >>> sorted(m)
    ['auc', 'map', 'ndcg', 'precision']
    """
    check_params("ranking_metrics_at_k", {"K": [POSITIVE_INT]}, K=K)
    K = int(K)
    train = _matrix(train_user_items, "train_user_items")
    test = _matrix(test_user_items, "test_user_items")
    if train.shape != test.shape:
        raise ValueError(
            f"train_user_items {train.shape} and test_user_items {test.shape} must have one shape"
        )
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    if not users.size:
        raise ValueError("no user has a test item: the metrics are undefined")
    rec = np.vstack([_recommend(model, users[a : a + BATCH], train, K)
                     for a in range(0, len(users), BATCH)])  # fmt: skip
    hits, n_pos = _hits_and_counts(rec[:, :K], test[users], K)
    return _implicit_formulas(hits, n_pos, test.shape[1])


def _implicit_formulas(hits: np.ndarray, n_pos: np.ndarray, n_items: int) -> dict[str, float]:
    """implicit 0.7's ``ranking_metrics_at_k`` arithmetic on a users x K hit matrix."""
    K = hits.shape[1]
    rank = np.arange(1, K + 1)
    cum = np.cumsum(hits, axis=1)
    cut = np.minimum(K, n_pos)
    gains = 1.0 / np.log2(rank + 1)
    ideal = np.cumsum(gains)[cut - 1]
    n_neg = n_items - n_pos
    misses = K - cum[:, -1]
    # each miss ranks below the hits before it; the unranked negatives count half of
    # the positives (all of those found, half of those not)
    auc = (cum * ~hits).sum(axis=1) + (cum[:, -1] + n_pos) / 2.0 * (n_neg - misses)
    with np.errstate(divide="ignore", invalid="ignore"):
        user_auc = auc / (n_pos * n_neg)
    return {
        "precision": float(hits.sum() / cut.sum()),
        "map": float(np.mean((hits * cum / rank).sum(axis=1) / cut)),
        "ndcg": float(np.mean((hits * gains).sum(axis=1) / ideal)),
        "auc": float(np.mean(user_auc)),
    }


def precision_at_k(model: Any, train_user_items: Any, test_user_items: Any, K: int = 10,
                   show_progress: bool = False, num_threads: int = 1) -> float:  # fmt: skip
    """``ranking_metrics_at_k(...)["precision"]``: hits over the sum of ``min(K, n_test)``."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K)["precision"]


def mean_average_precision_at_k(model: Any, train_user_items: Any, test_user_items: Any,
                                K: int = 10, show_progress: bool = False,
                                num_threads: int = 1) -> float:  # fmt: skip
    """``ranking_metrics_at_k(...)["map"]``."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K)["map"]


def ndcg_at_k(model: Any, train_user_items: Any, test_user_items: Any, K: int = 10,
              show_progress: bool = False, num_threads: int = 1) -> float:  # fmt: skip
    """``ranking_metrics_at_k(...)["ndcg"]``."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K)["ndcg"]


def AUC_at_k(model: Any, train_user_items: Any, test_user_items: Any, K: int = 10,
             show_progress: bool = False, num_threads: int = 1) -> float:  # fmt: skip
    """``ranking_metrics_at_k(...)["auc"]`` (implicit's name)."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K)["auc"]
