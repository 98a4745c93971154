"""Products, an elementwise chain and column statistics: dlinalg vs plain Dask.

Every pair runs on the same persisted ROWS x COLS matrix on the same cluster:

* ``Ax``: ``A @ x`` with x an in-core vector (a distributed vector comes back);
* ``Atx``: ``A.T @ y`` with y a persisted distributed vector of length ROWS;
* ``AtB``: ``A.T @ B`` with B a second persisted ROWS x COLS matrix;
* ``Elemwise``: ``sqrt(abs(A * 0.5 - 1.0)) ** 2 + A``, then column sums, so
  only a vector leaves the workers (dlinalg fuses the chain into one block
  function);
* ``ColVars``: column variances in one pass.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from . import (
    COLS,
    SEED,
    OnCluster,
    dense_drm,
    persisted_dask,
    row_chunk,
)


class _OnCluster(OnCluster):
    def setup(self, rows):
        self.x = np.random.default_rng(SEED + 1).standard_normal(COLS)
        super().setup(rows)


class AxDlinalg(_OnCluster):
    def time_ax(self, rows):
        with self.client.as_current():
            (self.A @ self.x).compute()


class AxDask(_OnCluster):
    def time_ax(self, rows):
        with self.client.as_current():
            (self.X @ self.x).compute()


class _WithY(_OnCluster):
    def extra(self, rows):
        y = da.random.default_rng(SEED + 2).standard_normal(rows, chunks=row_chunk(rows))
        self.y = persisted_dask(y)


class AtxDlinalg(_WithY):
    def time_atx(self, rows):
        with self.client.as_current():
            (self.A.T @ self.y).compute()


class AtxDask(_WithY):
    def time_atx(self, rows):
        with self.client.as_current():
            (self.X.T @ self.y).compute()


class _WithB(_OnCluster):
    def extra(self, rows):
        self.B = dense_drm(rows, COLS, seed=SEED + 3)
        self.Y = self.B.to_dask()


class AtBDlinalg(_WithB):
    def time_atb(self, rows):
        with self.client.as_current():
            (self.A.T @ self.B).compute()


class AtBDask(_WithB):
    def time_atb(self, rows):
        with self.client.as_current():
            (self.X.T @ self.Y).compute()


class ElemwiseDlinalg(_OnCluster):
    def time_chain_col_sums(self, rows):
        A = self.A
        with self.client.as_current():
            ((abs(A * 0.5 - 1.0).sqrt() ** 2 + A).col_sums()).compute()

    def time_build(self, rows):
        A = self.A
        dict(((abs(A * 0.5 - 1.0).sqrt() ** 2 + A).col_sums()).to_dask().__dask_graph__())


class ElemwiseDask(_OnCluster):
    def time_chain_col_sums(self, rows):
        X = self.X
        with self.client.as_current():
            ((da.sqrt(abs(X * 0.5 - 1.0)) ** 2 + X).sum(axis=0)).compute()

    def time_build(self, rows):
        X = self.X
        dict(((da.sqrt(abs(X * 0.5 - 1.0)) ** 2 + X).sum(axis=0)).__dask_graph__())


class ColVarsDlinalg(_OnCluster):
    def time_col_vars(self, rows):
        with self.client.as_current():
            self.A.col_vars().compute()


class ColVarsDask(_OnCluster):
    def time_col_vars(self, rows):
        with self.client.as_current():
            self.X.var(axis=0).compute()
