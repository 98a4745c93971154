"""The implicit library's calls on a fitted item-item model: batched, filtered, in labels.

:class:`SimilarityRecommender` gives :class:`~dlinalg.models.ItemSimilarity`,
:class:`~dlinalg.models.RowSimilarity` and
:class:`~dlinalg.models.CosineSimilarity` the surface of
``implicit.nearest_neighbours.ItemItemRecommender`` (implicit 0.7):
``recommend``, ``similar_items``, ``similar_users`` (not defined),
``save``/``load``. A user's scores are its history times the similarity
matrix, Mahout's indicator-based recommendation: item ``i`` scores
``sum_h history[h] * similarity[h, i]``. The models have no user vectors, so
every user is scored from its row of ``user_items`` (implicit ignores
``recalculate_user`` for the same reason). Ids are labels when the model was
fitted on labeled input, positions otherwise (see :mod:`._ids`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from dlinalg.functions import compute_plan
from dlinalg.solvers._progress import Progress

from ._api_common import (
    candidates,
    check_N,
    labels_or_none,
    one_or_batch,
    ranked_top,
    read_npz,
    rows_matrix,
    write_npz,
)
from ._ids import Ids, as_id_array

__all__ = [
    "SimilarityRecommender",
    "check_fit_callback",
    "computed",
    "item_ids",
    "saved_labels",
]


def check_fit_callback(est: Any, callback: Any) -> None:
    """Refuse a ``fit`` callback as implicit's item-item models do: there are no iterations."""
    if callback is not None:
        raise NotImplementedError(
            f"{type(est).__name__}.fit takes no callback: it has no iterations (one Dask "
            "computation), like implicit's ItemItemRecommender.fit"
        )


def computed(est: Any, show_progress: bool | None, tasks: list) -> tuple:
    """``compute_plan(tasks)`` (one Dask computation) under a one-step progress bar."""
    bar = Progress(type(est).__name__, 1, show_progress)
    try:
        out = compute_plan(tasks)
        bar.update(1, np.zeros(0))
    finally:
        bar.close()
    return out


class SimilarityRecommender:
    """implicit's recommender calls over a fitted item x item similarity.

    The class using it provides ``_items(j)`` (the :class:`~._ids.Ids` of
    action ``j``'s items, 0 the recommended ones), ``_neighbours(j)`` (CSR,
    recommended items x items of action ``j``: row ``i`` holds the items
    similar to ``i``), ``_scoring()`` (one CSR per action, its items x the
    recommended items: a history row times it gives scores) and the class
    attributes ``FORMAT`` and ``BINARY`` (histories as presence, 0/1).
    """

    FORMAT: str = ""
    BINARY: bool = True

    # --- hooks ----------------------------------------------------------------------------
    def _items(self, j: int = 0) -> Ids:  # pragma: no cover - every class defines it
        raise NotImplementedError

    def _neighbours(self, j: int = 0) -> sp.csr_array:  # pragma: no cover
        raise NotImplementedError

    def _scoring(self) -> list[sp.csr_array]:  # pragma: no cover
        raise NotImplementedError

    # --- ranking ---------------------------------------------------------------------------
    def recommend(
        self,
        userid: Any,
        user_items: Any,
        N: int = 10,
        filter_already_liked_items: bool = True,
        filter_items: Any = None,
        recalculate_user: bool = False,
        items: Any = None,
        *,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` items of highest score ``history @ similarity``, for one user or a batch.

        implicit's call (0.7, ``ItemItemRecommender.recommend``): each user
        is scored from its row of ``user_items``, the sum of the similarity
        rows of the items in its history, weighted by the history's values
        (LLR models: by presence, 0 or 1, as the indicators were computed
        on presence).

        Parameters
        ----------
        userid : id or array of ids
            The users. Only their number is used: the model has no users,
            any id (a new user too) is scored from its row of
            ``user_items``. One id gives 1-D results, an array 2-D ones.
        user_items : sparse or dense matrix of shape (n, n_items)
            One row per user (in the order of ``userid``), one column per
            item of the model (its position): the user's history.
            Non-negative and finite.
        N : int, default=10
            Items per user.
        filter_already_liked_items : bool, default=True
            Leave out each user's items (its row of ``user_items``).
        filter_items : array of item ids, optional
            Items never recommended.
        recalculate_user : bool, default=False
            Accepted for implicit's signature; no effect (as in implicit's
            item-item models): every user is always computed from
            ``user_items``.
        items : array of item ids, optional
            Rank only these items (not with ``filter_items``).
        labels : bool, default=True
            Item ids as labels when the model has them; False: positions.

        Returns
        -------
        ids, scores : ndarray of shape (N,) or (n, N)
            Items with a non-zero score, best first, ties to the lower
            position. One user: the items scored (fewer than ``N`` when
            fewer have a score). A batch: rows padded with ``-1`` (None for
            labels) and ``-inf``.

        Raises
        ------
        KeyError
            Unknown item ids in ``items`` or ``filter_items``, naming them.
        ValueError
            ``user_items`` missing, of the wrong shape, negative, NaN or
            infinite; both ``items`` and ``filter_items``; ``N < 1``.
        TypeError
            ``user_items`` that is not a numeric matrix.
        """
        return self._recommend(userid, user_items, N, filter_already_liked_items, filter_items,
                               items, labels, [])  # fmt: skip

    def _recommend(self, userid, user_items, N, filter_liked, filter_items, items, labels,
                   others: list) -> tuple:  # fmt: skip
        """:meth:`recommend`, ``others`` the histories of the secondary actions (1, 2, ...)."""
        check_is_fitted(self)
        N = check_N(self, N, "recommend")
        ids, scalar = as_id_array(userid, "userid")
        side = self._items(0)
        ranked, dropped = candidates(side, items, filter_items, labels, ("items", "filter_items"))
        S = self._scoring()
        if len(others) > len(S) - 1:
            raise ValueError(
                f"others has {len(others)} histories but the model has {len(S) - 1} "
                "secondary actions"
            )
        H = [self._history(user_items, len(ids), side.count, "user_items", side.what)]
        for j, M in enumerate(others, start=1):
            n_j = S[j].shape[0]
            H.append(self._history(M, len(ids), n_j, f"others[{j - 1}]", f"item of action {j}"))
        out, scores = self._rank(H, N, filter_liked, ranked, dropped)
        return one_or_batch(side.out(out, labels=labels), scores, scalar)

    def _history(self, M: Any, rows: int, cols: int, name: str, what: str) -> sp.csr_array:
        H = rows_matrix(M, rows, cols, name, nonneg=True, what=what)
        if self.BINARY:
            H.data[:] = 1.0
        return H

    def _rank(self, histories: list, N: int, filter_liked: bool, ranked: Any, dropped: Any):
        """Top ``N`` positions and scores of ``sum_j histories[j] @ _scoring()[j]``."""
        S = self._scoring()[: len(histories)]
        if ranked is not None:
            S = [s[:, ranked] for s in S]
        n_cand = S[0].shape[1]

        def score(a: int, b: int) -> np.ndarray:
            total = None
            for h, s in zip(histories, S, strict=True):
                part = h[a:b] @ s
                total = part if total is None else total + part
            dense = sp.csr_array(total).toarray()
            dense[dense == 0] = np.nan  # no score: never recommended
            return dense

        skip = histories[0] if filter_liked else None
        return ranked_top(score, histories[0].shape[0], n_cand, N, skip, ranked, dropped)

    def similar_items(
        self,
        itemid: Any,
        N: int = 10,
        recalculate_item: bool = False,
        item_users: Any = None,
        filter_items: Any = None,
        items: Any = None,
        *,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` items most similar to each given item, best first.

        implicit's call (0.7): the entries of the item's row of the
        similarity matrix, highest first (ties to the lower position). The
        item itself is not among them (the fitted matrices have no
        diagonal, as Mahout's and Spark's).

        Parameters
        ----------
        itemid : id or array of ids
            Items of the model. One id gives 1-D results, an array 2-D ones
            (padded with ``-1``/None and ``-inf``).
        N : int, default=10
            Items per item.
        recalculate_item, item_users
            implicit's signature; ``recalculate_item=True`` raises
            ``NotImplementedError`` (as implicit's item-item models do).
        filter_items : array of item ids, optional
            Items never returned.
        items : array of item ids, optional
            Return only these items (not with ``filter_items``).
        labels : bool, default=True
            Ids as labels when the model has them; False: positions.

        Returns
        -------
        ids, scores : ndarray of shape (N,) or (n, N)

        Raises
        ------
        KeyError
            Unknown item ids, naming them.
        ValueError
            ``N < 1``, both ``items`` and ``filter_items``.
        """
        return self._similar(itemid, N, recalculate_item, filter_items, items, 0, labels)

    def _similar(self, itemid, N, recalculate_item, filter_items, items, j, labels) -> tuple:
        check_is_fitted(self)
        if recalculate_item:
            raise NotImplementedError(
                f"{type(self).__name__} has no item vectors to recalculate (an item-item "
                "model, as implicit's ItemItemRecommender)"
            )
        N = check_N(self, N, "similar_items")
        ids, scalar = as_id_array(itemid, "itemid")
        pos = self._items(0).positions(ids, labels=labels)
        target = self._items(j)
        ranked, dropped = candidates(target, items, filter_items, labels,
                                     ("items", "filter_items"))  # fmt: skip
        M = self._neighbours(j)
        if ranked is not None:
            M = M[:, ranked]

        def score(a: int, b: int) -> np.ndarray:
            dense = sp.csr_array(M[pos[a:b]]).toarray().astype(np.float64)
            dense[dense == 0] = np.nan  # no entry: not similar
            return dense

        out, vals = ranked_top(score, len(pos), M.shape[1], N, None, ranked, dropped)
        return one_or_batch(target.out(out, labels=labels), vals, scalar)

    def similar_users(self, userid: Any, N: int = 10, filter_users: Any = None,
                      users: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Not defined: an item-item model has no users (as implicit's ItemItemRecommender).

        Raises
        ------
        NotImplementedError
            Always.
        """
        raise NotImplementedError(
            f"similar_users is not defined for {type(self).__name__}: an item-item model keeps "
            "no user vectors (implicit's ItemItemRecommender raises the same); fit "
            "RowSimilarity on the users x items matrix and call its similar_items for similar "
            "users"
        )

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to an ``.npz`` file that loads without pickle.

        Holds the parameters, the fitted matrices and counts, and the labels
        (numbers or strings; other labels are refused before anything is
        written).
        """
        check_is_fitted(self)
        arrays, labels = self._state()
        write_npz(path, self.FORMAT, self.get_params(), arrays, labels)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """A model written by :meth:`save` (read with ``allow_pickle=False``)."""
        params, data = read_npz(path, cls.FORMAT)
        model = cls(**params)
        model._restore(data)
        return model

    def _state(self) -> tuple[dict, dict]:  # pragma: no cover - every class defines it
        raise NotImplementedError

    def _restore(self, data: dict) -> None:  # pragma: no cover
        raise NotImplementedError


def item_ids(index: pd.Index, what: str = "item") -> Ids:
    """The :class:`Ids` of fitted labels: positions for a ``RangeIndex(n)``."""
    return Ids(labels_or_none(index), len(index), what)


def saved_labels(data: dict, name: str, count: int) -> pd.Index:
    """Labels :func:`write_npz` kept, or ``RangeIndex(count)`` when there were none."""
    return pd.Index(data[name]) if name in data else pd.RangeIndex(count)
