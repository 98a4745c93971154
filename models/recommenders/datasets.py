"""Synthetic interaction data for the recommenders: benchmarks, tests and the demo.

Everything is generated from a seed with vectorised numpy, so no data set is
downloaded and the same call gives the same rows on every machine.

The generative model (:func:`make_interactions`, :func:`benchmark_matrix`):
user activity and item popularity follow Zipf-Mandelbrot power laws
``(rank + 10) ** -exponent`` (a few heavy users and items, the heaviest users
capped); items form ``n_clusters`` planted groups and each user has a home
group, from which an interaction is drawn with probability ``affinity`` (else
from the whole catalogue), so items of a group co-occur far more than chance,
which is what a log-likelihood ratio detects; every action follows the same
preferences, so secondary actions carry signal about the primary one; and a
(user, item, action) triple occurs at most once (repeats are redrawn).

References
----------
.. [1] Mahout documentation, "Intro to Cooccurrence Recommenders with Spark"
   (spark-itemsimilarity), https://mahout.apache.org/
.. [2] T. Dunning, "Accurate Methods for the Statistics of Surprise and
   Coincidence", Computational Linguistics 19(1), 1993.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._param_validation import validate_params

from .._validation import NON_NEGATIVE_INT, POSITIVE_INT, Range

__all__ = ["make_interactions", "demo_interactions", "benchmark_matrix"]

#: Categories of the demo shop (its planted clusters), 35 products each.
_DEMO_CATEGORIES = ("phone", "tablet", "laptop", "headphones", "camera", "watch", "game", "book")
_DEMO_PER_CATEGORY = 35

#: Rounds of redrawing repeated (user, item, action) triples before giving up.
_MAX_ROUNDS = 500

#: How far a user's rank is shifted in the Zipf-Mandelbrot law: keeps the very
#: heaviest user from taking a sizeable fraction of all interactions.
_RANK_OFFSET = 10.0


#: Every parameter a generated log and the benchmark matrix share, as scikit-learn constraints.
_SHARED = {
    "n_users": [POSITIVE_INT],
    "n_items": [POSITIVE_INT],
    "n_interactions": [POSITIVE_INT],
    "n_clusters": [POSITIVE_INT],
    "user_exponent": [Range(Real, 0, None, closed="left")],
    "item_exponent": [Range(Real, 0, None, closed="left")],
    "affinity": [Range(Real, 0, 1, closed="both")],
    "max_per_user": [POSITIVE_INT, None],
    "seed": [NON_NEGATIVE_INT],
}


def _check_clusters(n_items: int, n_clusters: int) -> None:
    """At most one cluster per item (the constraints checked each alone)."""
    if n_clusters > n_items:
        raise ValueError(f"n_clusters={n_clusters} must not exceed n_items={n_items}")


def _zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf-Mandelbrot weights ``(rank + offset) ** -exponent`` in a random order, summing to 1."""
    w = (np.arange(1, n + 1, dtype=np.float64) + _RANK_OFFSET) ** -exponent
    w = w[rng.permutation(n)]
    return w / w.sum()


def _user_counts(
    weights: np.ndarray, total: int, cap: int, rng: np.random.Generator
) -> np.ndarray:
    """Integer counts summing to ``total``, each in [1, cap], roughly proportional to weights.

    Water-filling: users whose share exceeds ``cap`` are pinned at ``cap`` and
    the remainder is shared among the others in proportion to their weights;
    the rounding residue goes to users drawn by weight.
    """
    n = weights.size
    if total < n or total > n * cap:
        raise ValueError(
            f"n_interactions={total} cannot be spread over n_users={n} with at least 1 "
            f"and at most {cap} per user; choose n_interactions in [{n}, {n * cap}]"
        )
    counts = np.ones(n, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    remaining = total - n
    while remaining > 0:
        share = weights * free
        ideal = remaining * share / share.sum()
        room = cap - counts
        over = free & (ideal >= room)
        if over.any():  # pin the users that hit the cap, redistribute the rest
            remaining -= int(room[over].sum())
            counts[over] = cap
            free &= ~over
            continue
        add = np.floor(ideal).astype(np.int64)
        counts += add
        remaining -= int(add.sum())
        while remaining > 0:  # rounding residue: one more each, drawn by weight
            room = (cap - counts) > 0
            p = weights * room
            k = min(remaining, int(room.sum()))
            picks = rng.choice(n, size=k, replace=False, p=p / p.sum())
            counts[picks] += 1
            remaining -= k
    return counts


class _ClusterSampler:
    """Draw items by popularity, either from a given cluster or from the whole catalogue."""

    def __init__(self, popularity: np.ndarray, cluster: np.ndarray, n_clusters: int) -> None:
        order = np.lexsort((np.arange(cluster.size), cluster))  # items grouped by cluster
        c = cluster[order]
        sums = np.bincount(cluster, weights=popularity, minlength=n_clusters)
        starts = np.concatenate(([0.0], np.cumsum(sums)))
        # cluster c occupies (c, c + 1] of this cumulative scale, in proportion to popularity
        self.cum_in = c + (np.cumsum(popularity[order]) - starts[c]) / sums[c]
        self.items_by_cluster = order
        self.cum_all = np.cumsum(popularity) / popularity.sum()
        self.n_items = popularity.size

    def draw(self, home: np.ndarray, affinity: float, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of ``home`` (the user's cluster)."""
        u = rng.random(home.size)
        inside = rng.random(home.size) < affinity
        out = np.empty(home.size, dtype=np.int64)
        pos = np.searchsorted(self.cum_in, home[inside] + u[inside])
        out[inside] = self.items_by_cluster[np.minimum(pos, self.n_items - 1)]
        out[~inside] = np.minimum(np.searchsorted(self.cum_all, u[~inside]), self.n_items - 1)
        return out


def _sample(
    n_users: int,
    n_items: int,
    n_interactions: int,
    n_actions: int,
    *,
    n_clusters: int,
    action_weights: np.ndarray,
    user_exponent: float,
    item_exponent: float,
    affinity: float,
    max_per_user: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unique (user, item, action) codes in generation order, plus clusters and draw order."""
    rng = np.random.default_rng(seed)
    item_cluster = rng.permutation(np.arange(n_items) % n_clusters)
    user_cluster = rng.integers(0, n_clusters, size=n_users)
    popularity = _zipf_weights(n_items, item_exponent, rng)
    counts = _user_counts(
        _zipf_weights(n_users, user_exponent, rng), n_interactions, max_per_user, rng
    )
    sampler = _ClusterSampler(popularity, item_cluster, n_clusters)
    cum_actions = np.cumsum(action_weights / action_weights.sum())

    stride = np.int64(n_items) * n_actions
    keys = np.empty(0, dtype=np.int64)  # accepted (user, item, action) codes, sorted
    deficit = counts
    for round_ in range(_MAX_ROUNDS):
        # redraw what is missing; users still short after a round draw more candidates
        # (up to 16x) and keep the first fresh ones, so heavy users converge quickly
        factor = min(2**round_, 16)
        users = np.repeat(np.arange(n_users, dtype=np.int64), deficit * factor)
        if users.size == 0:
            break
        items = sampler.draw(user_cluster[users], affinity, rng)
        acts = np.minimum(np.searchsorted(cum_actions, rng.random(users.size)), n_actions - 1)
        drawn = users * stride + items * n_actions + acts
        new, first = np.unique(drawn, return_index=True)
        pos = np.searchsorted(keys, new)
        seen = keys[np.minimum(pos, keys.size - 1)] == new if keys.size else pos < 0
        new, pos, first = new[~seen], pos[~seen], first[~seen]
        if factor > 1:  # keep each user's first `deficit` fresh keys, in draw order
            by_draw = np.argsort(first, kind="stable")
            owner = new[by_draw] // stride  # non-decreasing: draws are grouped by user
            starts = np.searchsorted(owner, owner)
            keep = by_draw[(np.arange(owner.size) - starts) < deficit[owner]]
            keep.sort()
            new, pos = new[keep], pos[keep]
        keys = np.insert(keys, pos, new)
        deficit = counts - np.bincount(keys // stride, minlength=n_users)
    if deficit.any():  # pragma: no cover - needs pathological parameters
        raise ValueError(
            f"could not draw {n_interactions} distinct (user, item, action) triples; "
            "lower n_interactions or max_per_user, or raise n_items"
        )
    users, rest = np.divmod(keys, stride)
    items, acts = np.divmod(rest, n_actions)
    return users, items, acts, user_cluster, item_cluster, counts


@validate_params({**_SHARED, "days": [POSITIVE_INT]}, prefer_skip_nested_validation=True)
def make_interactions(
    n_users: int = 1000,
    n_items: int = 500,
    n_interactions: int = 20_000,
    *,
    n_clusters: int = 10,
    actions: Sequence[str] = ("purchase", "view"),
    action_weights: Sequence[float] | None = None,
    user_exponent: float = 1.0,
    item_exponent: float = 0.8,
    affinity: float = 0.8,
    max_per_user: int | None = None,
    start: str = "2024-01-01",
    days: int = 90,
    seed: int = 0,
    return_clusters: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Generate a user-item-action log with power-law activity and planted item clusters.

    Parameters
    ----------
    n_users, n_items : int
        Number of users and items; labels are the integers ``0 .. n - 1``
        (users or items that drew no interaction do not appear).
    n_interactions : int
        Number of rows, each a distinct (user, item, action) triple.
    n_clusters : int, default 10
        Number of planted item groups; each user prefers one of them.
    actions : sequence of str, default ("purchase", "view")
        Action names, the first being the primary action.
    action_weights : sequence of float, optional
        Relative frequency of each action. Default: each action three times as
        frequent as the one before (purchase 1/4, view 3/4).
    user_exponent, item_exponent : float, default 1.0 and 0.8
        Exponents of the Zipf-Mandelbrot laws of user activity and item
        popularity (0 gives uniform).
    affinity : float, default 0.8
        Probability that an interaction falls in the user's home cluster.
    max_per_user : int, optional
        Cap on a user's interactions. Default ``min(n_items * len(actions) // 4,
        max(50, 50 * n_interactions // n_users))``.
    start : str, default "2024-01-01"
        Start of the time span; timestamps are uniform over ``days`` days,
        rounded to the second.
    days : int, default 90
        Length of the time span.
    seed : int, default 0
        Seed of every random draw: the same arguments give the same frame.
    return_clusters : bool, default False
        Also return the planted clusters.

    Returns
    -------
    pandas.DataFrame
        Columns ``user`` (int64), ``item`` (int64), ``action`` (categorical
        in the order of ``actions``) and ``timestamp`` (datetime64), sorted
        by timestamp then user, item and action, with a fresh RangeIndex.
    user_cluster, item_cluster : ndarray of shape (n_users,) and (n_items,)
        Only with ``return_clusters=True``: the home cluster of each user and
        the cluster of each item.

    Raises
    ------
    TypeError
        If a count is not an int or a rate not a number.
    ValueError
        If a count is out of range, ``affinity`` is not in [0, 1], the weights
        do not match the actions, or ``n_interactions`` cannot be reached
        under the caps.

    See Also
    --------
    demo_interactions : A small labelled shop log built on this generator.
    benchmark_matrix : The benchmark's user x item matrix, without actions.

    Notes
    -----
    Time O(n_interactions log n_interactions) and memory O(n_interactions + n_users +
    n_items); 1 million rows take about a second.

    References
    ----------
    .. [1] Mahout documentation, "Intro to Cooccurrence Recommenders with
       Spark": the purchase/view cross-occurrence this data is made for.

    Examples
    --------
    >>> from dlinalg.models.recommenders.datasets import make_interactions
    >>> df = make_interactions(n_users=50, n_items=20, n_interactions=300, seed=1)
    >>> df.shape
    (300, 4)
    >>> list(df.columns)
    ['user', 'item', 'action', 'timestamp']
    >>> bool(df.duplicated(["user", "item", "action"]).any())
    False
    """
    n_users, n_items, n_interactions, n_clusters = (
        int(v) for v in (n_users, n_items, n_interactions, n_clusters)
    )
    _check_clusters(n_items, n_clusters)
    actions = [actions] if isinstance(actions, str) else list(actions)
    if not actions or len(set(actions)) != len(actions):
        raise ValueError(f"actions must be distinct names, at least one, got {actions!r}")
    weights = _action_weights(action_weights, len(actions))
    user_exponent = float(user_exponent)
    item_exponent = float(item_exponent)
    affinity = float(affinity)
    days = int(days)
    seed = int(seed)
    if max_per_user is None:
        max_per_user = min(
            n_items * len(actions) // 4 or 1, max(50, 50 * n_interactions // n_users)
        )
    max_per_user = int(max_per_user)
    if max_per_user > n_items * len(actions):
        raise ValueError(
            f"max_per_user={max_per_user} exceeds the {n_items * len(actions)} distinct "
            "(item, action) pairs a user can have"
        )
    t0 = pd.Timestamp(start)

    users, items, acts, user_cluster, item_cluster, _ = _sample(
        n_users,
        n_items,
        n_interactions,
        len(actions),
        n_clusters=n_clusters,
        action_weights=weights,
        user_exponent=user_exponent,
        item_exponent=item_exponent,
        affinity=affinity,
        max_per_user=max_per_user,
        seed=seed,
    )
    rng = np.random.default_rng([seed, 1])
    seconds = rng.integers(0, days * 86_400, size=users.size)
    order = np.lexsort((acts, items, users, seconds))
    frame = pd.DataFrame(
        {
            "user": users[order],
            "item": items[order],
            "action": pd.Categorical.from_codes(acts[order], categories=actions),
            "timestamp": t0 + pd.to_timedelta(seconds[order], unit="s"),
        }
    )
    if return_clusters:
        return frame, user_cluster, item_cluster
    return frame


def _action_weights(action_weights: Sequence[float] | None, n: int) -> np.ndarray:
    if action_weights is None:
        return 3.0 ** np.arange(n)
    w = np.asarray(action_weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"action_weights must be {n} non-negative numbers, not all zero, one per "
            f"action; got {action_weights!r}"
        )
    return w


@validate_params(
    {"n_users": [POSITIVE_INT], "seed": [NON_NEGATIVE_INT]}, prefer_skip_nested_validation=True
)
def demo_interactions(n_users: int = 2000, *, seed: int = 0) -> pd.DataFrame:
    """A small, real-looking shop log: purchases and views of named products.

    The catalogue has 280 products, 35 in each of 8 categories (phones,
    tablets, laptops, headphones, cameras, watches, games, books), labelled
    ``"phone-1"`` to ``"phone-35"`` and so on; the category is the planted cluster, so shoppers mostly
    stay in one category and an item's similar items are mostly of its own
    category. Users are labelled ``"user-0001"`` and so on. 20 rows per user
    on average over the first half of 2024, about 30% of them purchases.

    Parameters
    ----------
    n_users : int, default 2000
        Number of shoppers.
    seed : int, default 0
        Seed of every draw; the default gives the documented data set.

    Returns
    -------
    pandas.DataFrame
        Columns ``user`` (str), ``item`` (str), ``action`` (categorical:
        ``"purchase"``, ``"view"``) and ``timestamp`` (datetime64), sorted by
        time, no duplicated (user, item, action).

    See Also
    --------
    make_interactions : The generator underneath, with every knob.

    Examples
    --------
    >>> from dlinalg.models.recommenders.datasets import demo_interactions
    >>> df = demo_interactions()
    >>> df.shape
    (40000, 4)
    >>> df.iloc[0].tolist()[:3]
    ['user-0371', 'headphones-19', 'view']
    >>> sorted({label.split("-")[0] for label in df["item"].unique()})[:4]
    ['book', 'camera', 'game', 'headphones']
    """
    n_users = int(n_users)
    frame, _, item_cluster = make_interactions(
        n_users=n_users,
        n_items=_DEMO_PER_CATEGORY * len(_DEMO_CATEGORIES),
        n_interactions=20 * n_users,
        n_clusters=len(_DEMO_CATEGORIES),
        actions=("purchase", "view"),
        user_exponent=0.9,
        item_exponent=0.9,
        affinity=0.85,
        max_per_user=150,
        start="2024-01-01",
        days=182,
        seed=seed,
        return_clusters=True,
    )
    # label item k of cluster c as "<category c>-<rank of k within c, from 1>"
    labels = np.empty(item_cluster.size, dtype=object)
    for c, name in enumerate(_DEMO_CATEGORIES):
        members = np.flatnonzero(item_cluster == c)
        labels[members] = [f"{name}-{j + 1}" for j in range(members.size)]
    width = len(str(n_users))
    users = np.array([f"user-{u + 1:0{width}d}" for u in range(n_users)], dtype=object)
    frame["user"] = users[frame["user"].to_numpy()]
    frame["item"] = labels[frame["item"].to_numpy()]
    return frame


@validate_params(_SHARED, prefer_skip_nested_validation=True)
def benchmark_matrix(
    n_users: int = 100_000,
    n_items: int = 20_000,
    n_interactions: int = 4_300_000,
    *,
    n_clusters: int = 50,
    user_exponent: float = 1.0,
    item_exponent: float = 0.8,
    affinity: float = 0.8,
    max_per_user: int | None = None,
    dtype: type | np.dtype = np.float32,
    seed: int = 0,
) -> sp.csr_array:
    """The recommender benchmark: a binary user x item matrix with power-law rows and columns.

    Defaults give the issue's benchmark: 100,000 users x 20,000 items with
    4.3 million distinct interactions, heavy users (the heaviest at
    ``max_per_user``, thousands above the 500-interaction downsampling cap)
    and heavy items, and 50 planted item clusters. Built in a few seconds.

    Parameters
    ----------
    n_users, n_items, n_interactions : int
        Shape and number of stored ones.
    n_clusters, user_exponent, item_exponent, affinity : see :func:`make_interactions`
    max_per_user : int, optional
        Cap on the interactions of one user; default ``min(5000, n_items // 4)``.
    dtype : numpy dtype, default float32
        Value type of the ones.
    seed : int, default 0
        Seed of every draw.

    Returns
    -------
    scipy.sparse.csr_array of shape (n_users, n_items)
        Sorted indices, no duplicates, all values 1, exactly ``n_interactions``
        stored entries.

    See Also
    --------
    make_interactions : The same generator as a labelled log with actions.

    Examples
    --------
    >>> from dlinalg.models.recommenders.datasets import benchmark_matrix
    >>> A = benchmark_matrix(1000, 200, 10_000, n_clusters=5)
    >>> A.shape, A.nnz, float(A.max())
    ((1000, 200), 10000, 1.0)
    """
    n_users, n_items, n_interactions, n_clusters = (
        int(v) for v in (n_users, n_items, n_interactions, n_clusters)
    )
    _check_clusters(n_items, n_clusters)
    if max_per_user is None:
        max_per_user = max(1, min(5_000, n_items // 4))
    max_per_user = int(max_per_user)
    if max_per_user > n_items:
        raise ValueError(f"max_per_user={max_per_user} must not exceed n_items={n_items}")
    users, items, _, _, _, _ = _sample(
        n_users,
        n_items,
        n_interactions,
        1,
        n_clusters=n_clusters,
        action_weights=np.ones(1),
        user_exponent=float(user_exponent),
        item_exponent=float(item_exponent),
        affinity=float(affinity),
        max_per_user=max_per_user,
        seed=int(seed),
    )
    order = np.lexsort((items, users))
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    index_dtype = np.int32 if n_interactions < 2**31 else np.int64
    return sp.csr_array(
        (
            np.ones(users.size, dtype=dtype),
            items[order].astype(index_dtype),
            indptr.astype(index_dtype),
        ),
        shape=(n_users, n_items),
    )
