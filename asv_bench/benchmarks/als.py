"""ALS (issue 5): ``dlinalg.models.ALS`` on the LocalCluster against the implicit library in one process.

The matrix is :func:`dlinalg.models.recommenders.datasets.benchmark_matrix` (binary, power-law
users and items, float32): ``DLINALG_BENCH_ALS_USERS`` x
``DLINALG_BENCH_ALS_ITEMS`` with ``DLINALG_BENCH_ALS_NNZ`` interactions
(default 20,000 x 4,000 with 400,000, small enough for ``asv run --quick``
in CI; the issue's measurement is 100,000 x 20,000 with 4,300,000). Both fit
64 factors x 15 iterations, regularization 0.01, conjugate gradients with 3
steps, float32, the same model:

==============================  ==============================================  ======
dlinalg                         reference                                       target
==============================  ==============================================  ======
``dlinalg.models.ALS(64).fit(R)``,      ``implicit.cpu.als.AlternatingLeastSquares``    <= 2x
2 workers x 1 thread            (``num_threads=2``), on ``1 + R``, alpha 1
==============================  ==============================================  ======

The implicit library's confidence is its input matrix itself, so it gets
``1 + alpha R`` on the stored entries (Hu-Koren-Volinsky's ``c = 1 + alpha
r`` with alpha 1, what ``dlinalg.models.ALS`` uses). ``track_loss`` records the final
training loss of both (the same normalised loss); the reference classes are
skipped when implicit is not installed.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from . import get_client, settle

USERS = int(os.environ.get("DLINALG_BENCH_ALS_USERS", "20000"))
ITEMS = int(os.environ.get("DLINALG_BENCH_ALS_ITEMS", "4000"))
NNZ = int(os.environ.get("DLINALG_BENCH_ALS_NNZ", "400000"))
FACTORS, ITERATIONS, REGULARIZATION, ALPHA = 64, 15, 0.01, 1.0
#: Threads of the implicit reference (the cluster has 2 workers x 1 thread).
IMPLICIT_THREADS = int(os.environ.get("DLINALG_BENCH_ALS_THREADS", "2"))

_cache: dict = {}


def ratings(users: int) -> sp.csr_array:
    """The seeded benchmark matrix (cached per process)."""
    if users not in _cache:
        from dlinalg.models.recommenders.datasets import benchmark_matrix

        _cache[users] = benchmark_matrix(users, ITEMS, NNZ * users // USERS)
    return _cache[users]


class _ALS:
    params: ClassVar[list] = [USERS]
    param_names: ClassVar[list] = ["users"]
    timeout: ClassVar[int] = 600


class ALSDlinalg(_ALS):
    """``dlinalg.models.ALS(64, iterations=15).fit(R)`` from the in-memory CSR matrix."""

    def setup(self, users):
        from dlinalg.models import ALS

        self.client = get_client()
        self.R = ratings(users)
        with self.client.as_current():  # compile/load the kernels on the workers once
            ALS(4, iterations=1).fit(self.R[:1000])
        settle(self.client)

    def _fit(self):
        from dlinalg.models import ALS

        est = ALS(FACTORS, regularization=REGULARIZATION, iterations=ITERATIONS, alpha=ALPHA)
        with self.client.as_current():
            return est.fit(self.R)

    def time_fit(self, users):
        self._fit()

    def track_loss(self, users):
        return self._fit().loss_[-1]


class ALSImplicit(_ALS):
    """Reference: implicit's ``AlternatingLeastSquares`` (CPU, CG, float32) in this process."""

    def setup(self, users):
        try:
            from implicit.cpu.als import AlternatingLeastSquares  # noqa: F401
        except ImportError as exc:  # asv skips a benchmark whose setup raises this
            raise NotImplementedError("implicit is not installed") from exc
        C = sp.csr_matrix(ratings(users), dtype=np.float32)
        C.data = 1 + ALPHA * C.data
        self.C = C

    def _fit(self, loss: bool = False):
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's advice (its own threads do the work)
            model = AlternatingLeastSquares(
                factors=FACTORS,
                regularization=REGULARIZATION,
                alpha=1.0,
                iterations=ITERATIONS,
                num_threads=IMPLICIT_THREADS,
                random_state=0,
            )
            model.fit(self.C, show_progress=False)
            if not loss:
                return None
            from implicit.cpu import _als

            return _als.calculate_loss(
                self.C,
                model.user_factors,
                model.item_factors,
                REGULARIZATION,
                num_threads=IMPLICIT_THREADS,
            )

    def time_fit(self, users):
        self._fit()

    def track_loss(self, users):
        return float(self._fit(loss=True))


#: Users per batched ``recommend`` call of the recommendation benchmarks.
BATCH_USERS = 2000


def _factors(users: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded float32 factors of the benchmark's shape (the ranking does not need a fit)."""
    rng = np.random.default_rng(0)
    return (rng.random((users, FACTORS), dtype=np.float32),
            rng.random((ITEMS, FACTORS), dtype=np.float32))  # fmt: skip


class RecommendDlinalg(_ALS):
    """``ALS.recommend(userids, user_items, N=10)`` for 2,000 users in one call (issue 17).

    implicit's call on a dlinalg model holding the same factors as
    :class:`RecommendImplicit`; the liked items of each user are filtered.
    """

    def setup(self, users):
        from dlinalg.models import ALS

        R = ratings(users)
        model = ALS(FACTORS)  # the fitted state, set directly: the ranking is measured
        model.user_factors_, model.item_factors_ = _factors(users)
        model.n_users_, model.n_items_ = R.shape
        model.user_labels_ = model.item_labels_ = None
        model._seen, self.model = sp.csr_array(R, dtype=bool), model
        self.ids = np.arange(BATCH_USERS)
        self.rows = sp.csr_matrix(R[: len(self.ids)])

    def time_recommend(self, users):
        self.model.recommend(self.ids, self.rows, N=10)


class RecommendImplicit(_ALS):
    """Reference: implicit's ``recommend(userids, user_items, N=10)`` (``num_threads=2``)."""

    def setup(self, users):
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError as exc:  # asv skips a benchmark whose setup raises this
            raise NotImplementedError("implicit is not installed") from exc
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(factors=FACTORS, num_threads=IMPLICIT_THREADS)
        self.model.user_factors, self.model.item_factors = _factors(users)
        self.ids = np.arange(BATCH_USERS)
        self.rows = sp.csr_matrix(ratings(users)[: len(self.ids)])

    def time_recommend(self, users):
        self.model.recommend(self.ids, self.rows, N=10)
