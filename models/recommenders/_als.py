"""Alternating least squares matrix factorisation for recommendations (implicit and explicit)."""

from __future__ import annotations

import numbers
import time
from itertools import pairwise
from typing import Any, ClassVar

import dask
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from dlinalg.cluster import compute_collections, executor_for
from dlinalg.solvers._progress import Progress

from .._validation import NON_NEGATIVE_INT, POSITIVE_INT, Range, check_params
from ._als_input import interaction_input
from ._als_plan import Params, balanced_bounds, block_count, fit_factors, prepare
from ._factor_api import FactorRecommender
from ._ids import as_id_array
from ._topk import top_k_rows

__all__ = ["ALS"]

SOLVERS = ("cg", "cholesky")


def _on_iteration(iteration: int, loss: float) -> None:
    """Called on the client after each iteration (a hook for tests and progress)."""


class ALS(FactorRecommender, BaseEstimator):
    """Alternating least squares (ALS) matrix factorisation of a user x item matrix.

    Finds user factors ``X`` (``n_users x factors``) and item factors ``Y``
    (``n_items x factors``) with ``R ~ X Y^T``, alternately solving for every
    user with the items fixed and for every item with the users fixed; each
    half-step solves one small ``factors x factors`` system per row, on the
    cluster, block by block.

    With ``implicit=True`` (Hu, Koren and Volinsky 2008) the entries ``r`` are
    counts of interactions (views, purchases): every user-item pair has the
    preference ``p = 1`` if ``r > 0`` else ``0``, with confidence
    ``c = 1 + alpha r``, and the loss is

        ``sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + regularization (||X||^2 + ||Y||^2)``

    over **all** pairs; the unobserved ones are folded into ``Y^T Y``, so a
    sweep costs ``O(nnz k^2 + (n_users + n_items) k^3)`` with Cholesky, and
    ``O(cg_steps (nnz k + (n_users + n_items) k^2))`` with conjugate gradients.
    With ``implicit=False`` the entries are ratings and the loss is the
    squared error over the stored (non-zero) entries only,

        ``sum_{(u,i) stored} (r_ui - x_u.y_i)^2 + regularization (||X||^2 + ||Y||^2)``

    (the implicit library's weighting: no scaling of the penalty by the
    number of ratings per row, unlike Zhou et al.'s ALS-WR and Spark).

    Parameters
    ----------
    factors : int, default=64
        Number of latent factors ``k``.
    regularization : float, default=0.01
        ``lambda >= 0``; ``lambda I`` is added to every row's system, never
        subtracted.
    iterations : int, default=15
        Number of sweeps (users, then items).
    implicit : bool, default=True
        Hu-Koren-Volinsky implicit feedback; False for explicit ratings.
    alpha : float, default=1.0
        Confidence scale of the implicit model, ``c = 1 + alpha r`` (>= 0).
    seed : int, default=0
        Seed of the initial factors (uniform on [0, 0.01), like the implicit
        library's). The factors depend only on the data, the parameters and
        the seed: not on the chunking, the scheduler, nor lost workers.
    solver : {"cg", "cholesky"}, default="cg"
        Per-row solver: ``cg_steps`` conjugate-gradient steps warm-started
        from the previous factors (Takacs et al. 2011, the implicit library's
        default), or an exact Cholesky solve in float64.
    cg_steps : int, default=3
        Conjugate-gradient steps per row and half-sweep.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, factors)
        ``X``; zero for users without interactions. float32 for float32
        input, else float64.
    item_factors_ : ndarray of shape (n_items, factors)
        ``Y``; zero for items without interactions.
    loss_ : list of float
        Loss after each iteration, divided by the total weight: the sum of
        the confidences over all pairs (implicit, the value the implicit
        library's ``calculate_training_loss`` reports) or the number of
        stored ratings (explicit). Non-increasing with the exact solver.
    n_users_, n_items_ : int
        Shape of the training matrix (grown by ``partial_fit_users``/``_items``).
    n_features_in_ : int
        Items seen in ``fit`` (scikit-learn's name).
    user_labels_, item_labels_ : pandas.Index or None
        Labels of the rows and columns when the input had them (an
        ``Interactions`` object, a labeled DRM); positions are used
        everywhere else (``recommend`` takes a user position and returns
        item positions: map them with ``item_labels_[ids]``).

    See Also
    --------
    implicit.cpu.als.AlternatingLeastSquares : The in-memory reference.
    pyspark.ml.recommendation.ALS

    Notes
    -----
    Passes: one to prepare the user row blocks (CSR, checked) and build the
    transposed item row blocks from them, kept in cluster memory for the
    fit; then per iteration one task per user block and one per item block,
    and on every worker one task assembling the new factors and their Gram
    matrix (``X^T X`` or ``Y^T Y``, float64, summed in a fixed order).
    Memory per worker: its share of the matrix and its transpose, plus both
    factor matrices. The client only submits tasks and reads the loss.

    Each row's solve reads only that row, the assembled factors and their
    Gram matrix, so the factors are bitwise identical whatever the chunking,
    the scheduler, or the loss of a worker mid-fit (its tasks are recomputed
    from deterministic keys).

    ``fit`` keeps the training matrix's sparsity pattern (int32 indices) for
    ``exclude_seen``.

    The implicit library's ``alpha`` scales the counts into the confidence
    itself (``c = alpha r``); to reproduce this model with it, pass it the
    matrix ``1 + alpha R`` on the stored entries and ``alpha=1``.

    References
    ----------
    .. [1] Hu, Y., Koren, Y., and Volinsky, C. (2008). "Collaborative
       filtering for implicit feedback datasets". ICDM 2008, 263-272.
    .. [2] Takacs, G., Pilaszy, I., and Tikk, D. (2011). "Applications of the
       conjugate gradient method for implicit feedback collaborative
       filtering". RecSys 2011, 297-300.
    .. [3] Zhou, Y., Wilkinson, D., Schreiber, R., and Pan, R. (2008).
       "Large-scale parallel collaborative filtering for the Netflix prize".

    Examples
    --------
    Two groups of users with two groups of items:

    >>> import numpy as np, scipy.sparse as sp
    >>> from dlinalg.models import ALS
    >>> R = sp.csr_array(np.array([[1, 1, 1, 0, 0, 0],
    ...                            [1, 1, 0, 0, 0, 0],
    ...                            [0, 0, 0, 1, 1, 1],
    ...                            [0, 0, 0, 0, 1, 1]], dtype=np.float64))
    >>> als = ALS(factors=2, regularization=0.1, iterations=10, alpha=10).fit(R)
    >>> als.user_factors_.shape, als.item_factors_.shape, len(als.loss_)
    ((4, 2), (6, 2), 10)
    >>> ids, scores = als.recommend(1, N=1)  # user 1 has seen items 0 and 1
    >>> ids
    array([2])
    >>> als.similar_items(4, N=3)[0]
    array([4, 5, 3])
    """

    def __init__(
        self,
        factors: int = 64,
        *,
        regularization: float = 0.01,
        iterations: int = 15,
        implicit: bool = True,
        alpha: float = 1.0,
        seed: int = 0,
        solver: str = "cg",
        cg_steps: int = 3,
    ):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.implicit = implicit
        self.alpha = alpha
        self.seed = seed
        self.solver = solver
        self.cg_steps = cg_steps

    # --- fit ------------------------------------------------------------------------------
    _parameter_constraints: ClassVar[dict] = {
        "factors": [POSITIVE_INT],
        "regularization": [Range(numbers.Real, 0, None, closed="left")],
        "iterations": [POSITIVE_INT],
        "implicit": ["boolean"],
        "alpha": [Range(numbers.Real, 0, None, closed="left")],
        "seed": [NON_NEGATIVE_INT],
        "solver": [StrOptions(set(SOLVERS))],
        "cg_steps": [POSITIVE_INT],
    }

    def _params(self) -> Params:
        """The validated parameters (``fit`` has checked them) as the plan's ``Params``."""
        factors, iterations, cg_steps, seed = (
            int(v) for v in (self.factors, self.iterations, self.cg_steps, self.seed)
        )
        solver = self.solver
        return Params(
            factors=factors,
            regularization=float(self.regularization),
            implicit=bool(self.implicit),
            alpha=float(self.alpha),
            cholesky=solver == "cholesky",
            cg_steps=cg_steps,
            iterations=iterations,
            seed=seed,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, R: Any, y: None = None, *, show_progress: bool | None = False, callback: Any = None
    ) -> ALS:
        """Factorise the user x item matrix ``R``.

        Parameters
        ----------
        R : scipy.sparse, array-like, dask array, DRM or Interactions of \
shape (n_users, n_items)
            Counts (implicit) or ratings (explicit); zeros are missing
            entries. An ``Interactions`` object gives its primary action's
            matrix and its labels. In-memory input is cut into row blocks of
            about equal work; lazy input keeps its row chunks.
        y : None
            Ignored.
        show_progress : bool or None, default=False
            A progress bar of the iterations with the loss (:mod:`tqdm`);
            None: on in Jupyter.
        callback : callable, optional
            Called after each iteration as ``callback(iteration, seconds,
            loss)``, the implicit library's signature (``seconds``: since
            the previous call or the start).

        Returns
        -------
        self : ALS
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters; an empty matrix or one without non-zero
            entries; NaN or infinity; negative counts with ``implicit=True``;
            a singular row system (Cholesky with ``regularization=0``). All
            checked before any graph exists for in-memory input; lazy input
            is checked by its first pass.
        TypeError
            Input that is not a 2-D numeric matrix.

        Examples
        --------
        A DRM keeps its row blocks; the factors do not depend on them:

        >>> import numpy as np, scipy.sparse as sp, dlinalg as dl
        >>> from dlinalg.models import ALS
        >>> R = sp.random_array((50, 20), density=0.2, rng=np.random.default_rng(0), format="csr")
        >>> a = ALS(4, iterations=3).fit(R)
        >>> b = ALS(4, iterations=3).fit(dl.from_array(R, chunks=7))
        >>> np.array_equal(a.user_factors_, b.user_factors_), a.loss_ == b.loss_
        (True, True)
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        p = self._params()
        data = interaction_input(R, p.implicit)
        n_users, n_items = data.shape
        dtype = data.factor_dtype
        run = executor_for([data.lazy] if data.lazy is not None else [])
        if data.lazy is None:
            work = np.diff(data.csr.indptr) + p.factors / 2
            bounds = balanced_bounds(work, block_count(float(work.sum()), n_users, run.n_threads))
            raw = [data.csr[a:b] for a, b in pairwise(bounds)]
        else:
            bounds = np.concatenate([[0], np.cumsum(data.lazy.chunks[0])]).astype(np.int64)
            raw = run.blocks(data.lazy)
        prep = prepare(raw, bounds, run, (n_users, n_items), dtype, p)
        del raw
        bar, clock = Progress("ALS", p.iterations, show_progress), [time.perf_counter()]

        def on_iteration(iteration: int, loss: float) -> None:
            _on_iteration(iteration, loss)
            bar.update(iteration + 1, np.zeros(0), loss=loss)
            if callback is not None:
                now = time.perf_counter()
                callback(iteration, now - clock[0], loss)
                clock[0] = now

        try:
            X, Y, losses, seen = fit_factors(prep, run, dtype, p, on_iteration=on_iteration)
        finally:
            bar.close()
        self.user_factors_ = X
        self.item_factors_ = Y
        self.loss_ = losses
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_labels_, self.item_labels_ = data.user_labels, data.item_labels
        self.n_features_in_ = n_items
        self._seen = seen
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = bool(self.implicit)  # counts; ratings may be negative
        return tags

    # --- recommendations ------------------------------------------------------------------
    def recommend_all(
        self,
        userids: Any = None,
        N: int = 10,
        filter_already_liked_items: bool = True,
        *,
        labels: bool = True,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` for many users, in batches on the current Dask scheduler.

        The same ranking as :meth:`recommend` with the training history
        filtering, computed as one task per ``batch_size`` users (each holds
        ``batch_size x n_items`` scores): for scoring every user of a large
        model on a cluster. The names are implicit's (``userids``, ``N``,
        ``filter_already_liked_items``).

        Parameters
        ----------
        userids : array-like of ids, optional
            Users (labels when the model has them, else positions); default
            every user, in order.
        N : int, default=10
            Items per user.
        filter_already_liked_items : bool, default=True
            Leave out each user's training items.
        labels : bool, default=True
            Ids as labels when the model has them; False: positions.
        batch_size : int, default=2048
            Users per task.

        Returns
        -------
        ids : ndarray of shape (n_users, N)
            Items per user, best first; rows with fewer than ``N`` items left
            are padded with ``-1`` (None for labels).
        scores : ndarray of shape (n_users, N)
            ``-inf`` where ``ids`` pads.

        Raises
        ------
        KeyError
            Unknown users, naming them.

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import ALS
        >>> R = np.array([[3, 0, 1], [0, 2, 1], [1, 1, 0]], dtype=float)
        >>> ids, scores = ALS(2, iterations=5).fit(R).recommend_all(N=2)
        >>> ids
        array([[ 1, -1],
               [ 0, -1],
               [ 2, -1]])
        """
        check_is_fitted(self)
        N = self._check_N(N, "recommend_all")
        check_params(
            f"{type(self).__name__}.recommend_all",
            {"batch_size": [POSITIVE_INT]},
            batch_size=batch_size,
        )
        batch_size = int(batch_size)
        if userids is None:
            users = np.arange(self.n_users_)
        else:
            ids, _ = as_id_array(userids, "userids")
            users = self._users().positions(ids, labels=labels)
        seen = self._seen[users] if filter_already_liked_items else None
        Y = dask.delayed(self.item_factors_, pure=True)
        parts = []
        for start in range(0, len(users), batch_size):
            sel = slice(start, start + batch_size)
            X = self.user_factors_[users[sel]]
            if seen is None:
                pattern = (np.zeros(len(X) + 1, np.int64), np.zeros(0, np.int32))
            else:
                block = seen[sel]
                pattern = (block.indptr, block.indices)
            parts.append(dask.delayed(_recommend_batch, pure=True)(X, Y, *pattern, N))
        if not parts:
            out_ids = np.zeros((0, N), np.int64)
            return self._items().out(out_ids, labels=labels), np.zeros(
                (0, N), self.item_factors_.dtype
            )
        results = compute_collections(*parts)
        out_ids = np.concatenate([r[0] for r in results])
        return self._items().out(out_ids, labels=labels), np.concatenate([r[1] for r in results])


def _recommend_batch(
    X: np.ndarray, Y: np.ndarray, indptr: np.ndarray, indices: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    return top_k_rows(X @ Y.T, n, indptr, indices)
