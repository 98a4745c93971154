"""``dl.lstsq`` beside the references that share its name (issue 13).

The least-squares problem of :mod:`.solvers` (``lsq_problem``: ROWS x 100
float64, condition ~1e4, ``b = A x + noise``) persisted on the LocalCluster;
numpy gets the same numbers in this process:

===========================  =============================================  ==========
dlinalg                      reference                                      passes
===========================  =============================================  ==========
``lstsq(A, b)``              ``dask.array.linalg.lstsq``, same blocks       1 vs 2
``lstsq(A, b)``              ``numpy.linalg.lstsq`` (LAPACK gelsd)          in memory
===========================  =============================================  ==========

Every timed call returns all four outputs (x, residuals, rank, s) as numpy
arrays; the Dask reference computes its four in one ``dask.compute``. The
``track_rel_error`` methods record ``||x - x_numpy|| / ||x_numpy||``.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

import dlinalg as dl

from . import COLS, Sized, get_client, lsq_numpy, lsq_problem, settle


def _rel_err(x, rows):
    A, b = lsq_numpy(rows, COLS)
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    return float(np.linalg.norm(np.ravel(x) - exact) / np.linalg.norm(exact))


class LstsqDlinalg(Sized):
    """``dl.lstsq(A, b)``: one TSQR pass over ``[A | b]``, SVD of the 101 x 101 R."""

    def setup(self, rows):
        self.client = get_client()
        self.A, self.b, _ = lsq_problem(rows, COLS)
        settle(self.client)

    def _run(self):
        with self.client.as_current():
            return dl.lstsq(self.A, self.b)

    def time_lstsq(self, rows):
        self._run()

    def track_rel_error(self, rows):
        return _rel_err(self._run()[0], rows)


class LstsqDask(LstsqDlinalg):
    """Reference: ``dask.array.linalg.lstsq`` on the same persisted blocks (TSQR with Q)."""

    def setup(self, rows):
        super().setup(rows)
        self.X, self.y = self.A.to_dask(), self.b.to_dask()

    def _run(self):
        with self.client.as_current():
            return dask.compute(*da.linalg.lstsq(self.X, self.y))


class LstsqNumpy(Sized):
    """Reference: ``numpy.linalg.lstsq`` on the same numbers, in this process."""

    def setup(self, rows):
        self.A, self.b = lsq_numpy(rows, COLS)

    def time_lstsq(self, rows):
        np.linalg.lstsq(self.A, self.b, rcond=None)

    def peakmem_lstsq(self, rows):
        np.linalg.lstsq(self.A, self.b, rcond=None)
