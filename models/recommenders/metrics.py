"""Ranking metrics for recommendations, and a per-user train/test split.

Every metric compares each user's ranked recommendations with the items the
user interacted with in held-out data (binary relevance), and averages over
the users who have at least one held-out item (the others carry no
information about the ranking, and are skipped as in the implicit library's
``ranking_metrics_at_k``).

``recommended`` is a 2-D integer array (one row per user, best item first;
negative ids pad rows with fewer recommendations, as
:meth:`dlinalg.models.ALS.recommend_all` returns them) or a list of lists.
``held_out`` is a ``scipy.sparse`` user x item matrix (stored non-zero
entries are relevant) or a list of sets of item ids, one per user, aligned
with the rows of ``recommended``.

References
----------
.. [1] Jarvelin, K., and Kekalainen, J. (2002). "Cumulated gain-based
   evaluation of IR techniques". ACM Transactions on Information Systems,
   20(4), 422-446.
.. [2] Manning, C. D., Raghavan, P., and Schutze, H. (2008). "Introduction
   to Information Retrieval", chapter 8 (precision, recall, MAP).
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real
from typing import Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions, validate_params

from .._validation import NON_NEGATIVE_INT, POSITIVE_INT, Range

__all__ = ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "train_test_split"]


# --- inputs ----------------------------------------------------------------------------
#: ``k`` of the ranking metrics.
_K = {"k": [POSITIVE_INT]}


def _recommended(recommended: Any, k: int) -> np.ndarray:
    """The first ``k`` recommendations per user as an int64 array, ``-1`` padded."""
    if isinstance(recommended, np.ndarray):
        rec = recommended
        if rec.ndim != 2:
            raise ValueError(f"recommended must be 2-D (users x ranks), got shape {rec.shape}")
        if rec.size and rec.dtype.kind not in "iu":
            raise TypeError(f"recommended must hold integer item ids, got dtype {rec.dtype}")
        rec = rec[:, :k].astype(np.int64)
    else:
        rows = [np.asarray(list(r) if not isinstance(r, np.ndarray) else r) for r in recommended]
        rec = np.full((len(rows), k), -1, dtype=np.int64)
        for u, r in enumerate(rows):
            if r.size and r.dtype.kind not in "iu":
                raise TypeError(f"recommended[{u}] must hold integer item ids, got {r!r}")
            r = r[:k]
            rec[u, : len(r)] = r
    if rec.shape[1] > 1:
        srt = np.sort(rec, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
        if dup.any():
            u = int(np.flatnonzero(dup.any(axis=1))[0])
            raise ValueError(
                f"recommended[{u}] lists an item twice in its first {k} ranks: {rec[u].tolist()}"
            )
    return rec


def _held_out(held_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """Relevant items per user as a CSR pattern ``(indptr, sorted indices)``."""
    if sp.issparse(held_out):
        csr = sp.csr_array(held_out, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    if isinstance(held_out, str | bytes) or not isinstance(held_out, Iterable):
        raise TypeError(
            "held_out must be a scipy.sparse user x item matrix or a list of sets of item ids, "
            f"got {type(held_out).__name__}"
        )
    rows = [np.unique(np.asarray(list(s), dtype=np.int64)) for s in held_out]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    indices = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return indptr, indices.astype(np.int64)


def _hits_and_counts(recommended: Any, held_out: Any, k: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hit matrix (users with held-out items x k) and their numbers of relevant items."""
    k = int(k)  # checked by the public function's constraints
    indptr, indices = _held_out(held_out)
    rec = _recommended(recommended, k)
    if rec.shape[0] != len(indptr) - 1:
        raise ValueError(
            f"recommended has {rec.shape[0]} users (rows) but held_out has {len(indptr) - 1}; "
            "they must be aligned, one row per user"
        )
    if rec.shape[1] < k:
        rec = np.hstack([rec, np.full((rec.shape[0], k - rec.shape[1]), -1, np.int64)])
    hits = np.zeros(rec.shape, dtype=np.bool_)
    _hits(rec, indptr, indices, hits)
    n_rel = np.diff(indptr)
    users = n_rel > 0
    if not users.any():
        raise ValueError("no user has a held-out item: the metric is undefined")
    return hits[users], n_rel[users]


@numba.njit(cache=True, nogil=True)
def _hits(rec, indptr, indices, hits):  # pragma: no cover - compiled
    m, k = rec.shape
    for u in range(m):
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:
            continue
        for r in range(k):
            item = rec[u, r]
            if item < 0:
                continue
            j = lo + np.searchsorted(indices[lo:hi], item)
            hits[u, r] = j < hi and indices[j] == item


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


# --- metrics ---------------------------------------------------------------------------
@validate_params(_K, prefer_skip_nested_validation=True)
def precision_at_k(recommended: Any, held_out: Any, k: int = 10) -> float:
    """Mean over users of (relevant items among the first ``k``) / ``k``.

    Parameters
    ----------
    recommended : ndarray of shape (n_users, n_ranks) or list of lists of int
        Item ids per user, best first; negative ids are padding.
    held_out : scipy.sparse matrix of shape (n_users, n_items) or list of sets
        Relevant items per user.
    k : int, default=10
        Cut-off rank.

    Returns
    -------
    float
        Averaged over the users with at least one held-out item. Always
        divided by ``k`` (the implicit library divides by ``min(k,
        n_relevant)`` instead).

    Raises
    ------
    ValueError
        ``k < 1``, misaligned inputs, an item listed twice, or no user with
        a held-out item.
    TypeError
        Non-integer item ids, or ``held_out`` of another type.

    Examples
    --------
    >>> from dlinalg.models.recommenders.metrics import precision_at_k
    >>> precision_at_k([[1, 2, 3], [4, 5, 6]], [{1, 3}, {7}], k=2)
    0.25
    """
    hits, _ = _hits_and_counts(recommended, held_out, k)
    return float(np.mean(hits.sum(axis=1) / hits.shape[1]))


@validate_params(_K, prefer_skip_nested_validation=True)
def recall_at_k(recommended: Any, held_out: Any, k: int = 10) -> float:
    """Mean over users of (relevant items among the first ``k``) / (relevant items).

    Parameters and errors as :func:`precision_at_k`.

    Returns
    -------
    float

    Examples
    --------
    >>> from dlinalg.models.recommenders.metrics import recall_at_k
    >>> recall_at_k([[1, 2, 3], [4, 5, 6]], [{1, 3}, {7}], k=2)
    0.25
    """
    hits, n_rel = _hits_and_counts(recommended, held_out, k)
    return float(np.mean(hits.sum(axis=1) / n_rel))


@validate_params(_K, prefer_skip_nested_validation=True)
def ndcg_at_k(recommended: Any, held_out: Any, k: int = 10) -> float:
    """Mean normalised discounted cumulative gain at ``k`` (binary relevance).

    ``DCG = sum_{r <= k} rel_r / log2(r + 1)``, divided by the DCG of the
    ideal ranking (``min(k, n_relevant)`` relevant items first), as
    :func:`sklearn.metrics.ndcg_score` with 0/1 gains.

    Parameters and errors as :func:`precision_at_k`.

    Returns
    -------
    float

    Examples
    --------
    >>> from dlinalg.models.recommenders.metrics import ndcg_at_k
    >>> round(ndcg_at_k([[1, 2, 3]], [{2}], k=3), 6)  # hit at rank 2: 1 / log2(3)
    0.63093
    """
    hits, n_rel = _hits_and_counts(recommended, held_out, k)
    disc = _discounts(hits.shape[1])
    dcg = hits @ disc
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, hits.shape[1])]
    return float(np.mean(dcg / ideal))


@validate_params(_K, prefer_skip_nested_validation=True)
def map_at_k(recommended: Any, held_out: Any, k: int = 10) -> float:
    """Mean average precision at ``k``.

    ``AP@k = sum_{r <= k} P@r rel_r / min(k, n_relevant)``, averaged over users.

    Parameters and errors as :func:`precision_at_k`.

    Returns
    -------
    float

    Examples
    --------
    >>> from dlinalg.models.recommenders.metrics import map_at_k
    >>> map_at_k([[1, 2, 3]], [{1, 3}], k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    hits, n_rel = _hits_and_counts(recommended, held_out, k)
    ranks = np.arange(1, hits.shape[1] + 1)
    prec = np.cumsum(hits, axis=1) / ranks
    return float(np.mean((prec * hits).sum(axis=1) / np.minimum(n_rel, hits.shape[1])))


# --- splitting -------------------------------------------------------------------------
def _n_test(counts: np.ndarray, test_size: float) -> np.ndarray:
    """``ceil(test_size * n)`` per user, keeping at least one training interaction."""
    n = np.ceil(test_size * counts - 1e-9).astype(np.int64)
    return np.minimum(n, np.maximum(counts - 1, 0))


def _mask(owner: np.ndarray, n_owners: int, order_keys: tuple, test_size: float) -> np.ndarray:
    """True for entries in the test set: per owner, the first ``n_test`` in ``order_keys``."""
    order = np.lexsort((*order_keys, owner))
    counts = np.bincount(owner, minlength=n_owners)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(owner), dtype=np.int64)
    rank[order] = np.arange(len(owner)) - starts[owner[order]]
    return rank < _n_test(counts, test_size)[owner]


@validate_params(
    {
        "test_size": [Range(Real, 0, 1, closed="neither")],
        "by": [StrOptions({"random", "time"})],
        "seed": [NON_NEGATIVE_INT],
    },
    prefer_skip_nested_validation=True,
)
def train_test_split(
    interactions: Any,
    test_size: float = 0.2,
    *,
    by: str = "random",
    time: Any = None,
    user: str = "user",
    seed: int = 0,
) -> tuple[Any, Any]:
    """Split each user's interactions into a training and a held-out part.

    Every user with ``n`` interactions gives ``ceil(test_size * n)`` of them
    to the test part, keeping at least one for training (a user with a
    single interaction stays in training only).

    Parameters
    ----------
    interactions : scipy.sparse matrix, Interactions or pandas.DataFrame
        A user x item matrix (an ``Interactions`` object gives its primary
        action's matrix), or a log with one row per interaction and a
        ``user`` column.
    test_size : float, default=0.2
        Fraction of each user's interactions held out, in (0, 1).
    by : {"random", "time"}, default="random"
        ``"random"``: a seeded random choice per user. ``"time"``: each
        user's latest interactions (ties: the later stored entry, i.e. the
        higher item position, or the later row of a log, counts as later).
    time : scipy.sparse matrix or str, optional
        Required for ``by="time"``: a matrix with the same stored entries as
        ``interactions`` holding their (numeric) times, or for a log the name
        of its time column.
    user : str, default="user"
        User column of a log.
    seed : int, default=0
        Seed of the random split (the split depends only on the data and the
        seed).

    Returns
    -------
    train, test : scipy.sparse.csr_array or pandas.DataFrame
        Matrices of the input's shape whose entries partition the input's,
        or the log's rows split in two (original order and index kept).

    Raises
    ------
    ValueError
        ``test_size`` outside (0, 1), an unknown ``by``, a missing or
        misaligned ``time``, a missing column, or no interactions.
    TypeError
        ``interactions`` of another type.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from dlinalg.models.recommenders.metrics import train_test_split
    >>> R = sp.csr_array(np.array([[1, 1, 1, 1, 1], [0, 1, 0, 0, 0]]))
    >>> T = sp.csr_array(np.array([[5, 1, 4, 2, 3], [0, 7, 0, 0, 0]]))
    >>> train, test = train_test_split(R, 0.4, by="time", time=T)
    >>> test.toarray()  # user 0: its 2 latest; user 1 keeps its only one
    array([[1, 0, 1, 0, 0],
           [0, 0, 0, 0, 0]])
    >>> (train + test != R).nnz
    0
    """
    if by == "time" and time is None:
        raise ValueError("by='time' needs time= (a matrix of times, or a log's time column)")
    if isinstance(interactions, pd.DataFrame):
        return _split_frame(interactions, float(test_size), by, time, user, int(seed))
    if hasattr(interactions, "actions") and callable(getattr(interactions, "matrix", None)):
        interactions = interactions.matrix(interactions.actions[0])
    if not sp.issparse(interactions):
        raise TypeError(
            "interactions must be a scipy.sparse matrix, an Interactions object or a pandas "
            f"DataFrame, got {type(interactions).__name__}"
        )
    R = sp.csr_array(interactions, copy=True)
    R.sum_duplicates()
    R.eliminate_zeros()
    R.sort_indices()
    if R.nnz == 0:
        raise ValueError(f"the {R.shape[0]} x {R.shape[1]} matrix has no interactions to split")
    owner = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
    position = np.arange(R.nnz)
    if by == "random":
        keys: tuple = (np.random.default_rng(seed).random(R.nnz),)
    else:
        times = _aligned_times(time, R)
        keys = (-position, -times)  # latest first; ties: the later entry first
    test = _mask(owner, R.shape[0], keys, float(test_size))
    return _select(R, ~test), _select(R, test)


def _aligned_times(time: Any, R: sp.csr_array) -> np.ndarray:
    if not sp.issparse(time):
        raise ValueError(f"time must be a sparse matrix of times like interactions, got {time!r}")
    T = sp.csr_array(time, copy=True)
    T.sum_duplicates()
    T.sort_indices()
    if T.shape != R.shape:
        raise ValueError(f"time has shape {T.shape}, interactions {R.shape}; they must match")
    # times may be stored explicitly as 0: keep T's pattern, look R's entries up in it
    T_keys = _entry_keys(T)
    R_keys = _entry_keys(R)
    at = np.minimum(np.searchsorted(T_keys, R_keys), max(len(T_keys) - 1, 0))
    found = T_keys[at] == R_keys if len(T_keys) else np.zeros(len(R_keys), dtype=bool)
    if not found.all():
        raise ValueError(
            f"time has no entry for {int((~found).sum())} stored interaction(s); it must hold "
            "a time for every stored entry of interactions"
        )
    return np.asarray(T.data[at], dtype=np.float64)


def _entry_keys(M: sp.csr_array) -> np.ndarray:
    """``row * ncol + col`` of each stored entry (increasing for sorted CSR)."""
    rows = np.repeat(np.arange(M.shape[0], dtype=np.int64), np.diff(M.indptr))
    return rows * M.shape[1] + M.indices.astype(np.int64)


def _select(R: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=R.shape[0]))])
    return sp.csr_array((R.data[keep], R.indices[keep], indptr), shape=R.shape)


def _split_frame(
    df: pd.DataFrame, test_size: float, by: str, time: Any, user: str, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    for name in [user] + ([time] if by == "time" else []):
        if not isinstance(name, str) or name not in df.columns:
            raise ValueError(
                f"column {name!r} is not in the DataFrame; its columns are {list(df.columns)}"
            )
    if len(df) == 0:
        raise ValueError("the DataFrame has no rows (interactions) to split")
    codes, uniques = pd.factorize(df[user], sort=False)
    if (codes < 0).any():
        raise ValueError(f"column {user!r} has {int((codes < 0).sum())} missing user value(s)")
    position = np.arange(len(df))
    if by == "random":
        keys: tuple = (np.random.default_rng(seed).random(len(df)),)
    else:
        t = df[time].to_numpy()
        t = t.astype("datetime64[ns]").astype(np.int64) if t.dtype.kind == "M" else t
        keys = (-position, -np.asarray(t, dtype=np.float64))
    test = _mask(codes.astype(np.int64), len(uniques), keys, test_size)
    return df[~test], df[test]
