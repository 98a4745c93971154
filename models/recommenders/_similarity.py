"""Item, row and column similarities: Mahout's CCO indicators and Spark's column cosines.

:class:`ItemSimilarity` is Mahout's ``spark-itemsimilarity``: correlated
cross-occurrence (CCO) indicators scored with the log-likelihood ratio.
:class:`RowSimilarity` is ``spark-rowsimilarity`` (``A A'`` with LLR) and
:class:`CosineSimilarity` the exact all-pairs column cosine of Spark's
``RowMatrix.columnSimilarities()``. All three compute their products with
dlinalg's plans on sparse row blocks, one panel of output rows per task,
and select each row's result inside that task: the dense item x item matrix
never exists anywhere.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import dask
import dask.bag as db
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils.validation import check_is_fitted

from dlinalg.errors import OperandTypeError
from dlinalg.functions import compute_plan

from .._validation import check_params
from ._cooccurrence import downsample, llr_panels, stack_panels
from ._cosine import CosineSimilarity
from ._recommend import (
    COUNT,
    FINITE,
    SEED,
    Scorer,
    as_bag,
    best_of_row,
    count_or_none,
    interaction_inputs,
    label_position,
    recommend_partition,
    threshold,
    which_index,
)

__all__ = ["ItemSimilarity", "RowSimilarity", "CosineSimilarity"]


def _labels_or_fail(items: Any, what: str) -> None:
    """Refuse what cannot be a list of item labels: a str or bytes, None, a scalar."""
    if isinstance(items, str | bytes):
        raise OperandTypeError(
            f"{what} must be a list-like of item labels, got the {type(items).__name__} "
            f"{items!r}, which would be read as one label, or as its characters; pass a "
            f"list: [{items!r}]"
        )
    if not isinstance(items, Iterable) or (isinstance(items, np.ndarray) and items.ndim == 0):
        remedy = "[] for no history" if items is None else f"[{items!r}]"
        raise OperandTypeError(
            f"{what} must be a list-like of item labels, a dict {{action: labels}} or a "
            f"list of lists, got {items!r} of type {type(items).__name__}; pass a list: "
            f"{remedy}"
        )


def check_history(history: Any, what: str = "user_history") -> None:
    """Refuse a history :meth:`ItemSimilarity.recommend` would silently misread.

    A str or bytes (``"ab"`` is neither the label ``"ab"`` nor the labels
    ``"a"``, ``"b"`` with certainty), None or a scalar, at the top level or as
    one action's labels in a dict, is an :class:`~dlinalg.errors.OperandTypeError`
    naming the value. Unknown labels are not an error (see ``recommend``).
    """
    if isinstance(history, Mapping):
        for key, items in history.items():
            if items is not None:
                _labels_or_fail(items, f"the labels of action {key!r} in {what}")
        return
    _labels_or_fail(history, what)
    if isinstance(history, Sequence):
        lists = [isinstance(h, list | set | frozenset | np.ndarray) for h in history]
        if any(lists) and not all(lists):
            odd = history[lists.index(True)]
            raise OperandTypeError(
                f"{what} mixes labels and lists (such as {odd!r}): pass either a list of "
                "labels, or one list of labels per action"
            )


class ItemSimilarity(BaseEstimator):
    """Correlated cross-occurrence (CCO) item indicators scored by log-likelihood ratio.

    Mahout's ``spark-itemsimilarity`` on dlinalg: for a primary action A
    (users x items, e.g. purchases) and secondary actions B, C... sharing
    its users (views, cart adds, with their own items), keep for every
    primary item the ``max_similar_items`` items of each action whose
    co-occurrence with it is the most surprising (highest LLR).

    Parameters
    ----------
    max_similar_items : int, default=50
        Indicators kept per primary item and action (Mahout's
        ``maxSimilaritiesPerItem``).
    max_interactions_per_user : int or None, default=500
        Cap on a user's (row's) interactions after binarizing; heavier
        users are downsampled. None: no cap.
    max_interactions_per_item : int or None, default=500
        Cap on an item's (column's) users, applied after the user cap.
    min_llr : float or None, default=None
        Scores below it are dropped before the top k.
    seed : int, default=0
        Seed of the downsampling (0 <= seed < 2**64).

    Attributes
    ----------
    indicators_ : list of scipy.sparse.csr_array
        One per action: ``indicators_[j]`` has shape (n_primary_items,
        n_items_j) and holds raw LLR scores, at most ``max_similar_items``
        per row, with sorted column indices.
    item_labels_ : list of pandas.Index
        Item labels per action (the ``Interactions`` dictionaries, a DRM's
        column labels, else ``RangeIndex``).
    item_counts_ : list of ndarray of int64
        Users per item after downsampling, per action (the marginals of
        the LLR tables).
    n_users_ : int
        N of the LLR: the size of the shared user dictionary (rows of A),
        including users without interactions in some action.
    actions_ : list
        Action names (``Interactions.actions``), or positions 0, 1, ... for
        matrices.
    last_unknown_ : int
        Labels ignored as unknown by the last :meth:`recommend` call.

    See Also
    --------
    RowSimilarity, CosineSimilarity
    dlinalg.models.log_likelihood_ratio : The score.

    Notes
    -----
    The algorithm, as Mahout's ``SimilarityAnalysis.cooccurrences``:

    1. Binarize every action and downsample it: each user keeps at most
       ``max_interactions_per_user`` interactions, then each item at most
       ``max_interactions_per_item`` users, chosen by a hash of
       ``(seed, user, item)``. The sample does not depend on the chunking,
       the scheduler or lost workers; unlike Mahout's, the caps are exact
       and users above the cap are sampled, not dropped.
    2. Co-occurrence counts ``A'A`` and ``A'B`` with dlinalg's ``AtB`` plan
       on sparse row blocks, in panels of rows of at most 2**23 counts (Dask
       config ``dlinalg.models.similarity.panel-entries``); a panel's rows ``s:e``
       of ``A'B`` are computed as their transpose ``B.T @ A[:, s:e]``, the
       orientation in which no block of B needs converting.
    3. In the task that summed a panel: for each non-zero count k11 of
       items (i, j), the table ``k11, r_i - k11, c_j - k11,
       N - r_i - c_j + k11`` (r, c: users per item) scored by
       :func:`~dlinalg.models.log_likelihood_ratio` to the last bit of Mahout's
       value; self-pairs dropped for ``A'A`` only; scores below
       ``min_llr`` and scores of 0 (independence, not stored by Mahout's
       sparse matrices either) dropped; the top ``max_similar_items`` of
       the row kept, ties to the lower item index.

    Every panel of every action is computed by one ``dask.compute``. Memory
    per task: one panel of counts plus the downsampled row blocks; the
    item x item matrix is never formed. On the benchmark matrix
    (``asv_bench/benchmarks/similarity.py``: 100,000 users x 20,000 items,
    4.3M power-law interactions, ``A'A`` 44% dense after downsampling) a fit
    takes about 12 s on a LocalCluster of 2 single-threaded workers, at
    0.6 GB peak per worker. The indicators equal a dense reference
    implementation exactly, for any chunking.

    References
    ----------
    .. [1] Dunning, T. (1993). "Accurate methods for the statistics of surprise
       and coincidence". Computational Linguistics, 19(1), 61-74.
    .. [2] Apache Mahout, "Intro to Cooccurrence Recommenders with Spark"
       (spark-itemsimilarity, spark-rowsimilarity), https://mahout.apache.org.

    Examples
    --------
    Mahout's example: four users' purchases (A) and views (B).

    >>> import numpy as np
    >>> from dlinalg.models import ItemSimilarity
    >>> items = ["galaxy", "ipad", "iphone", "nexus", "surface"]
    >>> A = np.array([[0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 1, 0, 0]])
    >>> B = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [0, 0, 0, 1, 1], [1, 1, 1, 0, 0]])
    >>> model = ItemSimilarity().fit(A, B)
    >>> model.indicators_[0].toarray()
    array([[0.        , 0.        , 0.        , 1.72609243, 0.        ],
           [0.        , 0.        , 1.72609243, 0.        , 0.        ],
           [0.        , 1.72609243, 0.        , 0.        , 0.        ],
           [1.72609243, 0.        , 0.        , 0.        , 0.        ],
           [0.        , 0.        , 0.        , 0.        , 0.        ]])
    >>> labels, scores = model.similar_items(4, which=1)  # surface, by views
    >>> labels, scores
    (array([4, 3]), array([4.49868116, 0.67959615]))
    >>> model.recommend([1])  # a user who bought an ipad
    (array([2]), array([1.72609243]))
    """

    def __init__(
        self,
        *,
        max_similar_items: int = 50,
        max_interactions_per_user: int | None = 500,
        max_interactions_per_item: int | None = 500,
        min_llr: float | None = None,
        seed: int = 0,
    ):
        self.max_similar_items = max_similar_items
        self.max_interactions_per_user = max_interactions_per_user
        self.max_interactions_per_item = max_interactions_per_item
        self.min_llr = min_llr
        self.seed = seed

    _parameter_constraints: ClassVar[dict] = {
        "max_similar_items": [COUNT],
        "max_interactions_per_user": [COUNT, None],
        "max_interactions_per_item": [COUNT, None],
        "min_llr": [FINITE, None],
        "seed": [SEED],
    }

    def _params(self) -> dict[str, Any]:
        """The validated parameters (``fit`` has checked them) as the passes take them."""
        return {
            "k": int(self.max_similar_items),
            "cap_rows": count_or_none(self.max_interactions_per_user),
            "cap_cols": count_or_none(self.max_interactions_per_item),
            "min_llr": threshold(self.min_llr),
            "seed": int(self.seed),
        }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, A: Any, *others: Any) -> ItemSimilarity:
        """Compute the indicator matrices of the primary action against every action.

        Parameters
        ----------
        A : Interactions, scipy.sparse, DRM, dask array or array-like of shape \
(n_users, n_items)
            The primary action's counts (users x items), or an
            :class:`~dlinalg.models.Interactions` holding every action.
        *others : same kinds as A, of shape (n_users, n_items_j)
            Secondary actions on the same users (not with an Interactions).

        Returns
        -------
        self : ItemSimilarity

        Raises
        ------
        ValueError
            For a bad parameter, an empty matrix, negative / non-integer /
            non-finite counts (for Dask and DRM input: when the graph runs),
            or secondary actions whose row count differs from A's (both
            shapes named). Raised before any Dask graph is built.
        TypeError
            For non-numeric input, or an Interactions passed with others.
        LabelError
            If two actions are DRMs whose row labels (users) differ: rows are
            paired by position, never joined by user ID, so select the rows
            of one in the other's order first (a ``ValueError``).

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> from dlinalg.models import ItemSimilarity
        >>> df = pd.DataFrame({"user": ["u1", "u1", "u2", "u2", "u3", "u3"],
        ...                    "action": ["buy", "view", "buy", "view", "buy", "view"],
        ...                    "item": ["ipad", "case", "ipad", "case", "nexus", "cable"]})
        >>> data = Interactions.from_dataframe(df, action="action")
        >>> model = ItemSimilarity().fit(data)
        >>> model.actions_, model.n_users_, model.indicators_[1].shape
        (['buy', 'view'], 3, (2, 2))
        """
        p = self._params()
        data = interaction_inputs(A, others, type(self).__name__)
        sampled = [
            downsample(m, cap_rows=p["cap_rows"], cap_cols=p["cap_cols"], seed=p["seed"], name=nm)
            for m, nm in zip(data.matrices, data.arg_names, strict=True)
        ]
        panels = [
            llr_panels(
                sampled[0], s, n=data.n_users, k=p["k"], min_llr=p["min_llr"], exclude_self=j == 0
            )
            for j, s in enumerate(sampled)
        ]
        counts = [s.col_counts for s in sampled]
        flat = [d for group in panels for d in group]
        results = compute_plan([*flat, *counts])
        parts, self.item_counts_ = list(results[: len(flat)]), list(results[len(flat) :])
        n0 = data.matrices[0].shape[1]
        self.indicators_ = []
        for group, m in zip(panels, data.matrices, strict=True):
            chunk, parts = parts[: len(group)], parts[len(group) :]
            self.indicators_.append(stack_panels(chunk, (n0, m.shape[1])))
        self.item_labels_ = data.item_labels
        self.n_users_ = data.n_users
        self.actions_ = data.names
        self.last_unknown_ = 0
        self._scorer = Scorer(self.indicators_, self.item_labels_, self.actions_)
        return self

    def __sklearn_tags__(self) -> Any:
        return _count_tags(super().__sklearn_tags__())

    def similar_items(
        self, item: Hashable, n: int = 10, which: Hashable | int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` indicators of a primary item in one action, best first.

        Parameters
        ----------
        item : label
            A primary item (a label of ``item_labels_[0]``).
        n : int, default=10
            How many to return (fewer if the item has fewer indicators).
        which : action name or int, default=0
            The action whose items are returned (0: the primary action).

        Returns
        -------
        labels : ndarray
            Item labels of action ``which``.
        scores : ndarray of float64
            Their LLR scores, descending (ties: lower item index first).

        Raises
        ------
        KeyError
            If ``item`` or ``which`` is unknown.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ItemSimilarity
        >>> A = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
        >>> ItemSimilarity().fit(A).similar_items(0)
        (array([1]), array([1.72609243]))
        """
        check_is_fitted(self, "indicators_")
        check_params("ItemSimilarity.similar_items", {"n": [COUNT]}, n=n)
        n = int(n)
        j = which_index(which, self.actions_)
        i = label_position(self.item_labels_[0], item, "item")
        return best_of_row(self.indicators_[j], i, self.item_labels_[j], n)

    def recommend(
        self, user_history: Any, n: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` primary items for one user's history.

        Parameters
        ----------
        user_history : list-like of labels, dict or list of lists
            Primary item labels; or a dict ``{action: labels}``; or one
            list of labels per action, in the order of ``actions_``. Unknown
            labels are ignored and counted in ``last_unknown_`` (as Mahout's
            search-engine recommender ignores items it has no indicator for,
            and new items appear faster than models are refitted): check
            ``last_unknown_`` to detect a history in the wrong label type.
        n : int, default=10
            How many items to return.
        exclude_seen : bool, default=True
            Leave out the items of the primary history.

        Returns
        -------
        labels : ndarray
            Primary item labels with a positive score, best first.
        scores : ndarray of float64
            ``sum_j sum_{h in history_j} indicators_[j][item, h]``.

        Raises
        ------
        TypeError
            :class:`~dlinalg.errors.OperandTypeError` if the history (or one
            action's labels in a dict) is a str or bytes (``"ab"``: one label
            or two? pass ``["ab"]``), None or a scalar; the message names it.
        ValueError
            If ``n`` is not a positive int, or a list of lists has more lists
            than the model has actions.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ItemSimilarity
        >>> A = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
        >>> model = ItemSimilarity().fit(A)
        >>> model.recommend([0, 42])  # 42 is no item: ignored, and counted
        (array([1]), array([1.72609243]))
        >>> model.last_unknown_
        1
        """
        check_is_fitted(self, "indicators_")
        check_params("ItemSimilarity.recommend", {"n": [COUNT]}, n=n)
        n = int(n)
        check_history(user_history)
        labels, scores, self.last_unknown_ = self._scorer.recommend(
            user_history, n, bool(exclude_seen)
        )
        return labels, scores

    def recommend_all(self, users: Any, n: int = 10, exclude_seen: bool = True) -> db.Bag:
        """Recommendations for many users, lazily: a Dask bag of ``(labels, scores)``.

        Parameters
        ----------
        users : dask.bag.Bag or iterable of histories
            One history per user, in any form :meth:`recommend` accepts.
        n, exclude_seen
            As in :meth:`recommend`.

        Returns
        -------
        dask.bag.Bag
            One ``(labels, scores)`` per user, in order. The fitted model is
            sent to the workers once.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ItemSimilarity
        >>> A = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
        >>> bag = ItemSimilarity().fit(A).recommend_all([[0], [2], []])
        >>> [labels.tolist() for labels, scores in bag.compute(scheduler="threads")]
        [[1], [1], []]
        """
        check_is_fitted(self, "indicators_")
        check_params("ItemSimilarity.recommend_all", {"n": [COUNT]}, n=n)
        n = int(n)
        if not isinstance(users, db.Bag):
            if isinstance(users, Iterable) and not isinstance(users, str | bytes | dict):
                users = list(users)
                for i, history in enumerate(users):
                    check_history(history, f"history {i} of users")
            bag = as_bag(users)
        else:
            bag = users
        scorer = dask.delayed(self._scorer, pure=True, traverse=False)
        return bag.map_partitions(recommend_partition, scorer, n, bool(exclude_seen))


def _count_tags(tags: Any) -> Any:
    """scikit-learn's tags of an estimator fitted on counts (sparse, non-negative)."""
    tags.input_tags.sparse = True
    tags.input_tags.positive_only = True
    return tags


class RowSimilarity(BaseEstimator):
    """Similar rows by log-likelihood ratio of ``A A'`` (Mahout's ``spark-rowsimilarity``).

    Rows are the things compared (documents, users), columns what they
    contain (terms, items): two rows are similar when they share columns
    more than chance predicts.

    Parameters
    ----------
    max_similar_rows : int, default=50
        Similar rows kept per row.
    max_interactions_per_row : int or None, default=500
        Cap on each row's entries after binarizing, and on each column's
        rows after that (Mahout caps both with one number). None: no cap.
    seed : int, default=0
        Seed of the downsampling.
    min_llr : float or None, default=None
        Scores below it are dropped before the top k.

    Attributes
    ----------
    indicators_ : scipy.sparse.csr_array of shape (n_rows, n_rows)
        Raw LLR scores, at most ``max_similar_rows`` per row, no diagonal.
    row_labels_ : pandas.Index
        Row labels (an Interactions' users, a DRM's row labels, else a
        ``RangeIndex``).
    row_counts_ : ndarray of int64
        Entries per row after downsampling.
    n_columns_ : int
        N of the LLR: the number of columns.

    See Also
    --------
    ItemSimilarity : The same on columns, with cross-occurrence.

    Notes
    -----
    Downsampling and scoring as :class:`ItemSimilarity`, on the rows. The
    counts ``A A'`` come from dlinalg's ``ABt`` plan, a panel of rows at a
    time (``A @ A[s:e, :].T``: each panel's rows gathered once, the
    product streamed over A's row blocks), scored and cut to the top k in
    the task that gathers the panel.

    References
    ----------
    .. [1] Dunning, T. (1993). "Accurate methods for the statistics of surprise
       and coincidence". Computational Linguistics, 19(1), 61-74.
    .. [2] Apache Mahout, "Intro to Cooccurrence Recommenders with Spark"
       (spark-itemsimilarity, spark-rowsimilarity), https://mahout.apache.org.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models import RowSimilarity
    >>> docs = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]])
    >>> model = RowSimilarity().fit(docs)
    >>> model.similar_rows(0)
    (array([1, 3]), array([5.54517744, 1.72609243]))
    """

    def __init__(
        self,
        *,
        max_similar_rows: int = 50,
        max_interactions_per_row: int | None = 500,
        seed: int = 0,
        min_llr: float | None = None,
    ):
        self.max_similar_rows = max_similar_rows
        self.max_interactions_per_row = max_interactions_per_row
        self.seed = seed
        self.min_llr = min_llr

    _parameter_constraints: ClassVar[dict] = {
        "max_similar_rows": [COUNT],
        "max_interactions_per_row": [COUNT, None],
        "seed": [SEED],
        "min_llr": [FINITE, None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, A: Any, y: None = None) -> RowSimilarity:
        """Compute the row indicators of ``A`` (rows x columns counts).

        Parameters
        ----------
        A : Interactions, scipy.sparse, DRM, dask array or array-like of shape (n_rows, n_cols)
            Counts; an Interactions gives its primary action (users as rows).
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self : RowSimilarity

        Raises
        ------
        ValueError, TypeError
            As :meth:`ItemSimilarity.fit`, before any graph is built.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import RowSimilarity
        >>> docs = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]])
        >>> RowSimilarity(max_similar_rows=1).fit(docs).indicators_.nnz
        4
        """
        est = type(self).__name__
        k, cap = int(self.max_similar_rows), count_or_none(self.max_interactions_per_row)
        min_llr, seed = threshold(self.min_llr), int(self.seed)
        data = interaction_inputs(A, (), est)
        sampled = downsample(data.matrices[0], cap_rows=cap, cap_cols=cap, seed=seed, name="A")
        ncol = data.matrices[0].shape[1]
        panels = llr_panels(
            sampled, sampled, n=ncol, k=k, min_llr=min_llr, exclude_self=True, rows_of_a=True
        )
        *parts, self.row_counts_ = compute_plan([*panels, sampled.row_counts])
        nrow = data.n_users
        self.indicators_ = stack_panels(parts, (nrow, nrow))
        self.row_labels_ = data.user_labels
        self.n_columns_ = ncol
        return self

    def __sklearn_tags__(self) -> Any:
        return _count_tags(super().__sklearn_tags__())

    def similar_rows(self, row: Hashable, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` rows most similar to ``row`` (a label of ``row_labels_``), best first.

        Returns
        -------
        labels : ndarray
        scores : ndarray of float64
            Descending; ties to the lower row index.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import RowSimilarity
        >>> docs = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]])
        >>> RowSimilarity().fit(docs).similar_rows(3, n=2)  # a tie: lower rows first
        (array([0, 1]), array([1.72609243, 1.72609243]))
        """
        check_is_fitted(self, "indicators_")
        check_params("RowSimilarity.similar_rows", {"n": [COUNT]}, n=n)
        n = int(n)
        i = label_position(self.row_labels_, row, "row")
        return best_of_row(self.indicators_, i, self.row_labels_, n)
