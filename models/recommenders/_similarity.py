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

from collections.abc import Hashable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._api_common import csr_entries, csr_from
from ._cooccurrence import downsample, llr_panels, stack_panels
from ._cosine import CosineSimilarity
from ._recommend import (
    COUNT,
    FINITE,
    SEED,
    count_or_none,
    interaction_inputs,
    threshold,
    which_index,
)
from ._similarity_api import (
    SimilarityRecommender,
    check_fit_callback,
    computed,
    item_ids,
    saved_labels,
)

__all__ = ["ItemSimilarity", "RowSimilarity", "CosineSimilarity"]


class ItemSimilarity(SimilarityRecommender, BaseEstimator):
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
    2. Co-occurrence counts ``A'A`` and ``A'B`` on sparse row blocks, in
       panels of rows of at most 2**23 counts (Dask config
       ``dlinalg.models.similarity.panel-entries``), fewer on a cluster
       where ``split-every`` + 1 panels would not fit an eighth of a
       worker's memory. Each row block's part of a panel is one compiled
       pass (Gustavson's row-by-row product: the users of each panel item,
       then their rows of B added into the item's counts), dense where at
       least 1/16 of the panel is reached (Dask config
       ``dlinalg.models.similarity.dense-fill``), sparse otherwise; the
       parts are summed in the fixed tree of dlinalg's reductions.
    3. In the task that summed a panel: for each non-zero count k11 of
       items (i, j), the table ``k11, r_i - k11, c_j - k11,
       N - r_i - c_j + k11`` (r, c: users per item) scored by
       :func:`~dlinalg.models.log_likelihood_ratio` to the last bit of Mahout's
       value; self-pairs dropped for ``A'A`` only; scores below
       ``min_llr`` and scores of 0 (independence, not stored by Mahout's
       sparse matrices either) dropped; the top ``max_similar_items`` of
       the row kept, ties to the lower item index.

    Every panel of every action is computed by one ``dask.compute``. Memory
    per task: one row block, ``split-every`` + 1 panels of counts, or
    ``split-every`` lists of column-cap candidates of a panel of items
    (Dask config ``dlinalg.models.similarity.candidate-entries``); never
    the number of users, and the item x item matrix is never formed. On a
    cluster both kinds of panel are cut to fit an eighth of a worker's
    memory. On the benchmark matrix
    (``asv_bench/benchmarks/similarity.py``: 100,000 users x 20,000 items,
    4.3M power-law interactions, ``A'A`` 44% dense after downsampling) a fit
    takes 4-5 s on a LocalCluster of 2 single-threaded workers, at
    0.55 GB peak per worker; SciPy's bare ``A'A`` product alone takes
    7-12 s in one process. The indicators equal a dense reference
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
    >>> bought_ipad = np.array([[0, 1, 0, 0, 0]])  # one user's history, item columns
    >>> model.recommend(0, bought_ipad)
    (array([2]), array([1.72609243]))
    """

    FORMAT = "dlinalg.ItemSimilarity/1"

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
    def fit(
        self, A: Any, *others: Any, show_progress: bool | None = False, callback: Any = None
    ) -> ItemSimilarity:
        """Compute the indicator matrices of the primary action against every action.

        Parameters
        ----------
        A : Interactions, scipy.sparse, DRM, dask array or array-like of shape \
(n_users, n_items)
            The primary action's counts (users x items), or an
            :class:`~dlinalg.models.Interactions` holding every action.
        *others : same kinds as A, of shape (n_users, n_items_j)
            Secondary actions on the same users (not with an Interactions).
        show_progress : bool or None, default=False
            A one-step progress bar of the computation (:mod:`tqdm`); None:
            on in Jupyter.
        callback : None
            implicit's signature; a callable raises ``NotImplementedError``
            (no iterations to report, as implicit's ``ItemItemRecommender``).

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
        check_fit_callback(self, callback)
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
        results = computed(self, show_progress, [*flat, *counts])
        parts, self.item_counts_ = list(results[: len(flat)]), list(results[len(flat) :])
        n0 = data.matrices[0].shape[1]
        self.indicators_ = []
        for group, m in zip(panels, data.matrices, strict=True):
            chunk, parts = parts[: len(group)], parts[len(group) :]
            self.indicators_.append(stack_panels(chunk, (n0, m.shape[1])))
        self.item_labels_ = data.item_labels
        self.n_users_ = data.n_users
        self.actions_ = data.names
        self._prepare()
        return self

    def _prepare(self) -> None:
        """The indicators transposed (action items x primary items): the scoring rows."""
        self._transposed = [sp.csr_array(m.T) for m in self.indicators_]

    def __sklearn_tags__(self) -> Any:
        return _count_tags(super().__sklearn_tags__())

    # --- implicit's calls (SimilarityRecommender) ----------------------------------------
    def _items(self, j: int = 0):
        return item_ids(self.item_labels_[j])

    def _neighbours(self, j: int = 0) -> sp.csr_array:
        return self.indicators_[j]

    def _scoring(self) -> list[sp.csr_array]:
        return self._transposed

    def similar_items(
        self,
        itemid: Any,
        N: int = 10,
        recalculate_item: bool = False,
        item_users: Any = None,
        filter_items: Any = None,
        items: Any = None,
        *,
        which: Hashable | int = 0,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` indicators of primary items in one action, best first.

        implicit's call (0.7): row ``itemid`` of ``indicators_[which]``,
        highest LLR first (ties to the lower item position); the item itself
        is never its own indicator.

        Parameters
        ----------
        itemid : id or array of ids
            Primary items (labels of ``item_labels_[0]``, positions when
            fitted on plain matrices). One id gives 1-D results, an array
            2-D ones padded with ``-1`` (None for labels) and ``-inf``.
        N : int, default=10
            Indicators per item (fewer if the item has fewer).
        recalculate_item, item_users
            implicit's signature; ``recalculate_item=True`` raises
            ``NotImplementedError``.
        filter_items, items : array of ids of action ``which``, optional
            Items never returned, or the only items returned (not both).
        which : action name or int, default=0
            The action whose items are returned (0: the primary action).
        labels : bool, default=True
            Ids as labels; False: positions.

        Returns
        -------
        ids : ndarray
            Items of action ``which``.
        scores : ndarray of float64
            Their LLR scores, descending.

        Raises
        ------
        KeyError
            Unknown item ids or action ``which``, naming them.
        ValueError
            ``N < 1``, both ``items`` and ``filter_items``.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ItemSimilarity
        >>> A = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
        >>> model = ItemSimilarity().fit(A)
        >>> model.similar_items(0)
        (array([1]), array([1.72609243]))
        >>> model.similar_items([0, 2], N=2)[0]
        array([[ 1, -1],
               [ 1, -1]])
        """
        check_is_fitted(self)
        j = which_index(which, self.actions_)
        return self._similar(itemid, N, recalculate_item, filter_items, items, j, labels)

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
        others: Any = None,
        labels: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` primary items of highest indicator score, for one user or a batch.

        implicit's call (0.7, ``ItemItemRecommender.recommend``; as
        :meth:`CosineSimilarity.recommend`, plus ``others``). Mahout's
        indicator-based recommendation, item ``i`` scoring
        ``sum_j sum_{h in history_j} indicators_[j][i, h]`` over the items the
        user has (presence: any positive count counts once).

        Parameters
        ----------
        userid : id or array of ids
            Only their number is used: every user is scored from its row of
            ``user_items`` (one id: 1-D results; an array: 2-D).
        user_items : sparse or dense matrix of shape (n, n_items)
            The users' primary histories, one column per primary item
            (``indicators_[0].shape[1]``), in position order.
        N, filter_already_liked_items, filter_items, recalculate_user, items, labels
            As implicit's: ``N`` items per user; leave out the user's
            primary items; never recommend ``filter_items``;
            ``recalculate_user`` has no effect (an item-item model); rank
            only ``items``; ids as labels (False: positions).
        others : list of matrices, optional
            Secondary histories (cross-occurrence): ``others[j - 1]`` of
            shape (n, n_items of action j) for the actions after the
            primary, in the order of ``actions_``.

        Returns
        -------
        ids, scores : ndarray of shape (N,) or (n, N)
            Primary items with a positive score, best first, ties to the
            lower position. One user: the items scored; a batch: rows
            padded with ``-1`` (None for labels) and ``-inf``.

        Raises
        ------
        KeyError
            Unknown item ids in ``items``/``filter_items``, naming them.
        ValueError
            ``user_items`` (or one of ``others``) missing, of the wrong
            shape, negative or not finite; more ``others`` than secondary
            actions; ``N < 1``; both ``items`` and ``filter_items``.
        TypeError
            A history that is not a numeric matrix.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ItemSimilarity
        >>> A = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
        >>> model = ItemSimilarity().fit(A)
        >>> model.recommend(0, [[1, 0, 0]])  # a new user with item 0
        (array([1]), array([1.72609243]))
        >>> model.recommend([7, 8], np.array([[1, 0, 0], [0, 0, 1]]), N=2)
        (array([[ 1, -1],
               [ 1, -1]]), array([[1.72609243,       -inf],
               [1.72609243,       -inf]]))
        """
        others = [] if others is None else list(others)
        return self._recommend(userid, user_items, N, filter_already_liked_items, filter_items,
                               items, labels, others)  # fmt: skip

    # --- persistence -----------------------------------------------------------------------
    def _state(self) -> tuple[dict, dict]:
        arrays: dict[str, Any] = {"n_users": np.int64(self.n_users_)}
        labels: dict[str, Any] = {"actions": pd.Index(self.actions_)}
        for j, m in enumerate(self.indicators_):
            arrays.update(csr_entries(f"indicators{j}", m))
            arrays[f"item_counts{j}"] = np.asarray(self.item_counts_[j], dtype=np.int64)
            labels[f"item_labels{j}"] = item_ids(self.item_labels_[j]).labels
        return arrays, labels

    def _restore(self, data: dict) -> None:
        self.actions_ = data["actions"].tolist()
        self.n_users_ = int(data["n_users"])
        self.indicators_, self.item_counts_, self.item_labels_ = [], [], []
        for j in range(len(self.actions_)):
            m = csr_from(data, f"indicators{j}")
            self.indicators_.append(m)
            self.item_counts_.append(data[f"item_counts{j}"])
            self.item_labels_.append(saved_labels(data, f"item_labels{j}", m.shape[1]))
        self._prepare()


def _count_tags(tags: Any) -> Any:
    """scikit-learn's tags of an estimator fitted on counts (sparse, non-negative)."""
    tags.input_tags.sparse = True
    tags.input_tags.positive_only = True
    return tags


class RowSimilarity(SimilarityRecommender, BaseEstimator):
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
    >>> model.similar_items(0)  # the rows are the "items"; similar_rows is the same call
    (array([1, 3]), array([5.54517744, 1.72609243]))
    """

    FORMAT = "dlinalg.RowSimilarity/1"

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
    def fit(
        self, A: Any, y: None = None, *, show_progress: bool | None = False, callback: Any = None
    ) -> RowSimilarity:
        """Compute the row indicators of ``A`` (rows x columns counts).

        Parameters
        ----------
        A : Interactions, scipy.sparse, DRM, dask array or array-like of shape (n_rows, n_cols)
            Counts; an Interactions gives its primary action (users as rows).
        y : None
            Ignored (scikit-learn's signature).
        show_progress, callback
            As :meth:`ItemSimilarity.fit`.

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
        check_fit_callback(self, callback)
        est = type(self).__name__
        k, cap = int(self.max_similar_rows), count_or_none(self.max_interactions_per_row)
        min_llr, seed = threshold(self.min_llr), int(self.seed)
        data = interaction_inputs(A, (), est)
        sampled = downsample(data.matrices[0], cap_rows=cap, cap_cols=cap, seed=seed, name="A")
        ncol = data.matrices[0].shape[1]
        panels = llr_panels(
            sampled, sampled, n=ncol, k=k, min_llr=min_llr, exclude_self=True, rows_of_a=True
        )
        *parts, self.row_counts_ = computed(self, show_progress, [*panels, sampled.row_counts])
        nrow = data.n_users
        self.indicators_ = stack_panels(parts, (nrow, nrow))
        self.row_labels_ = data.user_labels
        self.n_columns_ = ncol
        self._prepare()
        return self

    def _prepare(self) -> None:
        self._transposed = sp.csr_array(self.indicators_.T)

    def __sklearn_tags__(self) -> Any:
        return _count_tags(super().__sklearn_tags__())

    # --- implicit's calls (SimilarityRecommender): the rows are the items -----------------
    def _items(self, j: int = 0):
        return item_ids(self.row_labels_, "row")

    def _neighbours(self, j: int = 0) -> sp.csr_array:
        return self.indicators_

    def _scoring(self) -> list[sp.csr_array]:
        return [self._transposed]

    #: :meth:`similar_items` under Mahout's name: the rows most similar to each row.
    similar_rows = SimilarityRecommender.similar_items

    def _state(self) -> tuple[dict, dict]:
        arrays = {
            **csr_entries("indicators", self.indicators_),
            "row_counts": np.asarray(self.row_counts_, dtype=np.int64),
            "n_columns": np.int64(self.n_columns_),
        }
        return arrays, {"row_labels": item_ids(self.row_labels_).labels}

    def _restore(self, data: dict) -> None:
        self.indicators_ = csr_from(data, "indicators")
        self.row_counts_ = data["row_counts"]
        self.n_columns_ = int(data["n_columns"])
        self.row_labels_ = saved_labels(data, "row_labels", self.indicators_.shape[0])
        self._prepare()
