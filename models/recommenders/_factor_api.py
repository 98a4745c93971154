"""The implicit library's calls on a fitted factor model: batched, filtered, with fold-in.

:class:`FactorRecommender` gives :class:`~dlinalg.models.ALS` the surface of
``implicit.cpu.als.AlternatingLeastSquares`` (implicit 0.7): ``recommend``,
``similar_items``, ``similar_users``, ``recalculate_user``/``recalculate_item``,
``partial_fit_users``/``partial_fit_items``, ``save``/``load``. Ids are labels
when the model was fitted on labeled input, positions otherwise (see
:mod:`._ids`). Everything here runs in this process on the fitted factors.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._als_kernels import solve_block
from ._api_common import (
    candidates,
    check_N,
    one_or_batch,
    ranked_top,
    read_npz,
    rows_matrix,
    write_npz,
)
from ._ids import Ids, as_id_array

__all__ = ["FactorRecommender"]

#: The ``format`` entry of a saved model.
FORMAT = "dlinalg.ALS/1"


def _cosine_norms(F: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(F, axis=1)
    norms[norms == 0] = 1e-10  # the implicit library's guard
    return norms


class FactorRecommender:
    """implicit's recommender calls over ``user_factors_`` and ``item_factors_``.

    The class using it provides the fitted attributes ``user_factors_``,
    ``item_factors_``, ``user_labels_``, ``item_labels_``, ``n_users_``,
    ``n_items_``, ``_seen`` (the training pattern) and the parameters
    ``regularization``, ``implicit``, ``alpha``.
    """

    # --- ids ------------------------------------------------------------------------------
    def _users(self) -> Ids:
        return Ids(self.user_labels_, self.n_users_, "user")

    def _items(self) -> Ids:
        return Ids(self.item_labels_, self.n_items_, "item")

    def _check_N(self, N: Any, method: str) -> int:
        return check_N(self, N, method)

    def _candidates(self, side: Ids, keep: Any, drop: Any, labels: bool, names: tuple) -> tuple:
        """``(positions ranked, positions left out)`` from ``items``/``filter_items``."""
        return candidates(side, keep, drop, labels, names)

    # --- fold-in ---------------------------------------------------------------------------
    def _fold_in(self, R: sp.csr_array, other: np.ndarray) -> np.ndarray:
        """Exact least-squares factors of the rows of ``R`` against ``other`` (Cholesky)."""
        k = other.shape[1]
        reg = float(self.regularization) * np.eye(k)
        G = other.T.astype(np.float64) @ other.astype(np.float64) + reg if self.implicit else reg
        block = sp.csr_array(R, dtype=other.dtype)
        factors, _ = solve_block(block, None, other, G, implicit=bool(self.implicit),
                                 alpha=float(self.alpha), cg_steps=1, cholesky=True)  # fmt: skip
        return factors

    def recalculate_user(self, userid: Any, user_items: Any) -> np.ndarray:
        """Factors of users from their interactions, the item factors fixed (not stored).

        The exact solve of one ALS half-step (Hu, Koren and Volinsky 2008,
        eq. 4): how a user unseen in training is folded in.

        Parameters
        ----------
        userid : id or array of ids
            Only their count is used (the users may be new).
        user_items : sparse or dense matrix of shape (n, n_items)
            One row of counts (ratings when ``implicit=False``) per user.

        Returns
        -------
        ndarray of shape (factors,) or (n, factors)

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> als = ALS(2, iterations=5).fit(R)
        >>> Y, c, p = als.item_factors_, 1 + als.alpha * R[0], (R[0] > 0).astype(float)
        >>> x = np.linalg.solve(Y.T @ (c[:, None] * Y) + als.regularization * np.eye(2), Y.T @ (c * p))
        >>> np.allclose(als.recalculate_user(0, R[:1]), x)  # Hu et al., eq. 4
        True
        """
        check_is_fitted(self)
        ids, scalar = as_id_array(userid, "userid")
        R = rows_matrix(user_items, len(ids), self.n_items_, "user_items", self.implicit)
        out = self._fold_in(R, self.item_factors_)
        return out[0] if scalar else out

    def recalculate_item(self, itemid: Any, item_users: Any) -> np.ndarray:
        """Factors of items from their users' interactions, the user factors fixed.

        As :meth:`recalculate_user` with the roles of users and items swapped;
        ``item_users`` has one row per item and ``n_users_`` columns.
        """
        check_is_fitted(self)
        ids, scalar = as_id_array(itemid, "itemid")
        R = rows_matrix(item_users, len(ids), self.n_users_, "item_users", self.implicit)
        out = self._fold_in(R, self.user_factors_)
        return out[0] if scalar else out

    def partial_fit_users(self, userids: Any, user_items: Any, *, labels: bool = True) -> Any:
        """Refit (or add) users from their interactions, as the implicit library does.

        Each user's factors become the exact solve against the item factors
        and its training history becomes the row of ``user_items`` (what
        ``recommend`` filters). New labels are appended to ``user_labels_``;
        without labels a position past the end grows the model, the skipped
        users with zero factors.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> als = ALS(2, iterations=5).fit(R).partial_fit_users([3], R[:1])
        >>> als.user_factors_.shape, als.recommend(3, N=5)[0]
        ((4, 2), array([1]))
        """
        check_is_fitted(self)
        ids, _ = as_id_array(userids, "userids")
        factors = self.recalculate_user(ids, user_items)
        R = rows_matrix(user_items, len(ids), self.n_items_, "user_items", self.implicit)
        grown, pos = self._users().extended(ids, labels=labels)
        self.user_factors_ = _grow(self.user_factors_, grown.count)
        self.user_factors_[pos] = factors
        self._seen = _replace_rows(self._seen, pos, R, grown.count)
        self.n_users_, self.user_labels_ = grown.count, grown.labels
        return self

    def partial_fit_items(self, itemids: Any, item_users: Any, *, labels: bool = True) -> Any:
        """Refit (or add) items from their users' interactions (see :meth:`partial_fit_users`)."""
        check_is_fitted(self)
        ids, _ = as_id_array(itemids, "itemids")
        factors = self.recalculate_item(ids, item_users)
        R = rows_matrix(item_users, len(ids), self.n_users_, "item_users", self.implicit)
        grown, pos = self._items().extended(ids, labels=labels)
        self.item_factors_ = _grow(self.item_factors_, grown.count)
        self.item_factors_[pos] = factors
        self._seen = _replace_rows(self._seen.T.tocsr(), pos, R, grown.count).T.tocsr()
        self.n_items_, self.item_labels_ = grown.count, grown.labels
        return self

    # --- ranking ---------------------------------------------------------------------------
    def recommend(
        self,
        userid: Any,
        user_items: Any = None,
        N: int = 10,
        filter_already_liked_items: bool = True,
        filter_items: Any = None,
        recalculate_user: bool = False,
        items: Any = None,
        *,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` items of highest score ``x_u^T y_i``, for one user or a batch.

        implicit's call (0.7), with ``user_items`` optional: without it the
        training history filters the liked items.

        Parameters
        ----------
        userid : id or array of ids
            Users (labels when the model has them, else positions). With
            ``recalculate_user`` they may be new.
        user_items : sparse or dense matrix of shape (n, n_items), optional
            One row per user: the items to filter and, with
            ``recalculate_user``, the history to fold in.
        N : int, default=10
            Items per user.
        filter_already_liked_items : bool, default=True
            Leave out each user's items (its row of ``user_items``, else of
            the training matrix).
        filter_items : array of item ids, optional
            Items never recommended.
        recalculate_user : bool, default=False
            Compute the users' factors from ``user_items``
            (:meth:`recalculate_user`) instead of using the stored ones.
        items : array of item ids, optional
            Rank only these items (not with ``filter_items``).
        labels : bool, default=True
            Ids as labels when the model has them; False: positions.

        Returns
        -------
        ids, scores : ndarray of shape (N,) or (n, N)
            Best first, ties to the lower position. One user: the items left
            (fewer than ``N`` when filters leave fewer). A batch: rows padded
            with ``-1`` (None for labels) and ``-inf``.

        Raises
        ------
        KeyError
            Unknown user or item ids, naming them.
        ValueError
            ``user_items`` of the wrong shape, both ``items`` and
            ``filter_items``, ``N < 1``.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> als = ALS(2, iterations=5).fit(R)
        >>> als.recommend(0, N=5)[0]
        array([1])
        >>> als.recommend([0, 1], N=2)[0]
        array([[ 1, -1],
               [ 0, -1]])
        >>> als.recommend(0, N=3, filter_already_liked_items=False, items=[0, 2])[0]
        array([0, 2])
        """
        check_is_fitted(self)
        N = self._check_N(N, "recommend")
        ids, scalar = as_id_array(userid, "userid")
        item_ids = self._items()
        ranked, dropped = self._candidates(item_ids, items, filter_items, labels,
                                           ("items", "filter_items"))  # fmt: skip
        if recalculate_user or user_items is not None:
            history = rows_matrix(user_items, len(ids), self.n_items_, "user_items",
                                   self.implicit)  # fmt: skip
        if recalculate_user:
            X = self._fold_in(history, self.item_factors_)
        else:
            pos = self._users().positions(ids, labels=labels)
            X = self.user_factors_[pos]
            if user_items is None:
                history = self._seen[pos]
        skip = history if filter_already_liked_items else None
        out_ids, scores = _top_items(X, self.item_factors_, N, skip, ranked, dropped)
        return one_or_batch(item_ids.out(out_ids, labels=labels), scores, scalar)

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
        """The ``N`` items whose factors have the highest cosine with each given item's.

        As in the implicit library the item itself is included (first, with
        cosine 1) and a zero factor vector has norm ``1e-10``. Parameters as
        :meth:`recommend`; ``recalculate_item`` folds ``item_users`` in.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> ids, scores = ALS(2, iterations=5).fit(R).similar_items(0, N=2)
        >>> int(ids[0]), round(float(scores[0]), 6)
        (0, 1.0)
        """
        check_is_fitted(self)
        N = self._check_N(N, "similar_items")
        ids, scalar = as_id_array(itemid, "itemid")
        side = self._items()
        ranked, dropped = self._candidates(side, items, filter_items, labels,
                                           ("items", "filter_items"))  # fmt: skip
        if recalculate_item:
            Q = self.recalculate_item(ids, item_users).reshape(len(ids), -1)
        else:
            Q = self.item_factors_[side.positions(ids, labels=labels)]
        return _similar(Q, self.item_factors_, N, ranked, dropped, side, labels, scalar)

    def similar_users(
        self,
        userid: Any,
        N: int = 10,
        filter_users: Any = None,
        users: Any = None,
        *,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` users whose factors have the highest cosine with each given user's.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [3, 0, 1], [0, 2, 0]], dtype=float)
        >>> ALS(2, iterations=5).fit(R).similar_users(0, N=2)[0]
        array([0, 1])
        """
        check_is_fitted(self)
        N = self._check_N(N, "similar_users")
        ids, scalar = as_id_array(userid, "userid")
        side = self._users()
        ranked, dropped = self._candidates(side, users, filter_users, labels,
                                           ("users", "filter_users"))  # fmt: skip
        Q = self.user_factors_[side.positions(ids, labels=labels)]
        return _similar(Q, self.user_factors_, N, ranked, dropped, side, labels, scalar)

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to an ``.npz`` file that loads without pickle.

        Holds the parameters, the factors, the losses, the training pattern
        and the labels (numbers or strings; other labels are refused).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> als = ALS(2, iterations=5).fit(R)
        >>> path = os.path.join(tempfile.mkdtemp(), "als.npz")
        >>> als.save(path)
        >>> np.array_equal(ALS.load(path).item_factors_, als.item_factors_)
        True
        """
        check_is_fitted(self)
        arrays = {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "loss": np.asarray(self.loss_, dtype=np.float64),
            "seen_indptr": self._seen.indptr.astype(np.int64),
            "seen_indices": self._seen.indices.astype(np.int32),
        }
        labels = {"user_labels": self.user_labels_, "item_labels": self.item_labels_}
        write_npz(path, FORMAT, self.get_params(), arrays, labels)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """A model written by :meth:`save` (read with ``allow_pickle=False``)."""
        params, data = read_npz(path, FORMAT)
        model = cls(**params)
        X, Y = data["user_factors"], data["item_factors"]
        model.user_factors_, model.item_factors_ = X, Y
        model.loss_ = [float(v) for v in data["loss"]]
        model.n_users_, model.n_items_ = X.shape[0], Y.shape[0]
        model.user_labels_ = pd.Index(data["user_labels"]) if "user_labels" in data else None
        model.item_labels_ = pd.Index(data["item_labels"]) if "item_labels" in data else None
        seen = (
            np.ones(len(data["seen_indices"]), bool),
            data["seen_indices"],
            data["seen_indptr"],
        )
        model._seen = sp.csr_array(seen, shape=(X.shape[0], Y.shape[0]))
        return model


def _grow(F: np.ndarray, rows: int) -> np.ndarray:
    if rows <= F.shape[0]:
        return F.copy()
    return np.concatenate([F, np.zeros((rows - F.shape[0], F.shape[1]), dtype=F.dtype)])


def _replace_rows(seen: sp.csr_array, pos: np.ndarray, R: sp.csr_array, rows: int) -> sp.csr_array:
    """``seen`` grown to ``rows`` rows, the rows ``pos`` replaced by ``R``'s pattern."""
    coo = seen.tocoo()
    keep = ~np.isin(coo.row, pos)
    new = R.tocoo()
    row = np.concatenate([coo.row[keep], pos[new.row]])
    col = np.concatenate([coo.col[keep], new.col])
    out = sp.csr_array((np.ones(len(row), bool), (row, col)), shape=(rows, seen.shape[1]))
    out.sum_duplicates()
    return out


def _top(Q, F, N, skip, ranked, dropped, scale=None) -> tuple[np.ndarray, np.ndarray]:
    """Top ``N`` of ``Q F^T`` per row over the candidate columns, in column positions.

    ``ranked``, ``dropped``, ``skip`` as :func:`._api_common.ranked_top`;
    ``scale``: row and column norms (cosine).
    """
    cand = F if ranked is None else F[ranked]

    def score(a: int, b: int) -> np.ndarray:
        scores = Q[a:b] @ cand.T
        if scale is not None:
            scores = scores / scale[0][a:b, None] / scale[1][None, :]
        return scores

    return ranked_top(score, Q.shape[0], cand.shape[0], N, skip, ranked, dropped,
                      dtype=np.result_type(Q, F))  # fmt: skip


def _top_items(X, Y, N, skip, ranked, dropped) -> tuple[np.ndarray, np.ndarray]:
    return _top(X, Y, N, skip, ranked, dropped)


def _similar(Q, F, N, ranked, dropped, side: Ids, labels: bool, scalar: bool):
    norms = _cosine_norms(F)
    qn = _cosine_norms(Q)
    ids, vals = _top(Q, F, N, None, ranked, dropped,
                     scale=(qn, norms if ranked is None else norms[ranked]))  # fmt: skip
    return one_or_batch(side.out(ids, labels=labels), vals, scalar)
