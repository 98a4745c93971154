"""Gram matrix ``A.T @ A`` of a tall-skinny matrix persisted on a LocalCluster.

``GramDlinalg`` is the subject; ``GramDask`` (plain Dask on the same persisted
blocks on the same cluster) and ``GramNumpy`` (one process) are the references,
so ``asv compare``/``asv show`` ratios come from one run. Targets (issue 2):
dlinalg no slower than plain Dask and within 1.1x of the numpy blocked Gram.

The sparse pair compares dlinalg on CSR blocks with scipy in one process.
Plain Dask cannot do it at all: ``(X.T @ X)`` on a Dask array of
``scipy.sparse.csr_array`` chunks raises in its ``_matmul`` chunk function::

    ValueError: matmul: Input operand 0 does not have enough dimensions
    (has 0, gufunc core with signature (n?,k),(k,m?)->(n?,m?) requires 1)

``GramSparseDask.track_plain_dask_raises`` records that (1 = still raises),
so the day Dask learns it, the benchmark shows it and a timing class can be added.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits

from . import (
    COLS,
    SPARSE_COLS,
    Sized,
    blocked_gram,
    blocked_gram_threads,
    dense_drm,
    dense_numpy,
    get_client,
    numpy_blocks,
    row_chunk,
    settle,
    sparse_drm,
    sparse_scipy,
)


class GramDlinalg(Sized):
    """dlinalg ``(A.T @ A).compute()``: per-block ``X_i^T X_i`` summed in a tree."""

    def setup(self, rows):
        self.client = get_client()
        self.A = dense_drm(rows, COLS)
        settle(self.client)

    def time_gram(self, rows):
        with self.client.as_current():
            (self.A.T @ self.A).compute()

    def peakmem_gram(self, rows):
        with self.client.as_current():
            (self.A.T @ self.A).compute()

    def time_build(self, rows):
        """Optimize and lower to a Dask graph, without computing (dask-benchmarks style)."""
        dict((self.A.T @ self.A).to_dask().__dask_graph__())


class GramDask(GramDlinalg):
    """Plain Dask ``(X.T @ X).compute()`` on the same persisted blocks and cluster."""

    def setup(self, rows):
        super().setup(rows)
        self.X = self.A.to_dask()

    def time_gram(self, rows):
        with self.client.as_current():
            (self.X.T @ self.X).compute()

    def peakmem_gram(self, rows):
        with self.client.as_current():
            (self.X.T @ self.X).compute()

    def time_build(self, rows):
        dict((self.X.T @ self.X).__dask_graph__())


class GramNumpy(Sized):
    """numpy in one process: ``X.T @ X`` (BLAS syrk) and the blocked Gram.

    ``blocked`` sums ``X_i.T @ X_i`` over the cluster's row blocks: the same
    BLAS calls dlinalg's workers make, with none of the scheduling, so it is
    the fair floor. The ``*_1thread`` variants pin BLAS to one thread (each
    Dask worker also runs BLAS on one thread); ``blocked_2threads`` runs the
    blocks on 2 Python threads x 1 BLAS thread, the ideal use of 2 cores.
    """

    def setup(self, rows):
        self.X = dense_numpy(rows, COLS)
        self.blocks = numpy_blocks(self.X, row_chunk(rows))

    def time_xtx(self, rows):
        self.X.T @ self.X

    def time_blocked(self, rows):
        blocked_gram(self.blocks)

    def time_xtx_1thread(self, rows):
        with threadpool_limits(1, user_api="blas"):
            self.X.T @ self.X

    def time_blocked_1thread(self, rows):
        with threadpool_limits(1, user_api="blas"):
            blocked_gram(self.blocks)

    def time_blocked_2threads(self, rows):
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(2) as pool:
            blocked_gram_threads(self.blocks, pool)

    def peakmem_xtx(self, rows):
        self.X.T @ self.X


class GramSparseDlinalg(Sized):
    """dlinalg Gram of a ROWS x SPARSE_COLS CSR matrix (1% dense), never densified."""

    def setup(self, rows):
        self.client = get_client()
        self.A = sparse_drm(rows, SPARSE_COLS)
        settle(self.client)

    def time_gram(self, rows):
        with self.client.as_current():
            (self.A.T @ self.A).compute()

    def peakmem_gram(self, rows):
        with self.client.as_current():
            (self.A.T @ self.A).compute()


class GramSparseScipy(Sized):
    """scipy ``S.T @ S`` on the same CSR matrix in one process."""

    def setup(self, rows):
        self.S = sparse_scipy(rows, SPARSE_COLS)

    def time_gram(self, rows):
        self.S.T @ self.S

    def peakmem_gram(self, rows):
        self.S.T @ self.S


class GramSparseDask:
    """Plain Dask on CSR chunks: records that ``X.T @ X`` raises (see the module docstring)."""

    unit = "raises (1) / works (0)"

    def track_plain_dask_raises(self):
        import dlinalg as dl

        # a small in-process copy: the failure does not depend on the size, and
        # the synchronous scheduler keeps worker tracebacks out of the CI log
        X = dl.random((4000, 50), chunks=1000, seed=0, density=0.05).to_dask()
        try:
            (X.T @ X).compute(scheduler="sync")
        except ValueError:
            return 1
        return 0
