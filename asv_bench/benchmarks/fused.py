"""Column means and Gram in one pass: ``dl.compute(A.col_means(), A.T @ A)``.

Target (issue 2): the fused pass no slower than Gram alone x 1.1. Both are in
``FusedDlinalg`` so the ratio comes from one run; ``FusedDask`` is plain
Dask's ``dask.compute(X.mean(0), X.T @ X)`` on the same persisted blocks.
"""

from __future__ import annotations

import dask

import dlinalg as dl

from . import OnCluster


class FusedDlinalg(OnCluster):
    def time_means_gram(self, rows):
        with self.client.as_current():
            dl.compute(self.A.col_means(), self.A.T @ self.A)

    def time_gram_alone(self, rows):
        with self.client.as_current():
            (self.A.T @ self.A).compute()

    def time_means_alone(self, rows):
        with self.client.as_current():
            self.A.col_means().compute()

    def peakmem_means_gram(self, rows):
        with self.client.as_current():
            dl.compute(self.A.col_means(), self.A.T @ self.A)


class FusedDask(OnCluster):
    """Plain Dask; its Gram alone is ``gram.GramDask.time_gram``."""

    def time_means_gram(self, rows):
        with self.client.as_current():
            dask.compute(self.X.mean(axis=0), self.X.T @ self.X)

    def time_means_alone(self, rows):
        with self.client.as_current():
            self.X.mean(axis=0).compute()

    def peakmem_means_gram(self, rows):
        with self.client.as_current():
            dask.compute(self.X.mean(axis=0), self.X.T @ self.X)
