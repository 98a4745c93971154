"""Decompositions of a tall-skinny matrix persisted on a LocalCluster (issue 3).

Each dlinalg class has its reference beside it, on the same persisted blocks
and the same cluster (plain Dask, dask-ml) or in one process (scikit-learn),
so the ratios of the issue's targets come from one ``asv run``:

==========================  ===================================  =======
dlinalg                     reference                            target
==========================  ===================================  =======
``qr(A)``, Q persisted      ``dask.array.linalg.tsqr``, Q        >= 8x
``svd(A)``, U persisted     ``dask.array.linalg.svd``            >= 6x
``ssvd(A, 20, q=2)``, U     ``svd_compressed(k=20, 2 power it)`` >= 2.5x
``dlinalg.models.PCA(20).fit(A)``   sklearn randomized PCA, dask-ml PCA  >= 10x
==========================  ===================================  =======

Every timed call materialises the tall factor (``persist`` and wait) and the
small ones, for dlinalg and the references alike, and a reference computes
all its outputs in one ``persist`` so shared work is not done twice. The
``track_*`` methods record accuracy: ``||Q^T Q - I||`` and the largest
relative singular-value error against LAPACK on the same matrix.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from distributed import wait

import dlinalg as dl

from . import COLS, OnCluster, Sized, dense_drm, dense_numpy, get_client, settle

K = 20  # components of the randomized and PCA benchmarks
POWER = 2  # power iterations of the randomized benchmarks


def _persist_all(*arrays):
    """Persist Dask arrays together (shared tasks once) and wait; return them."""
    out = dask.persist(*arrays)
    wait([a for a in out if isinstance(a, da.Array)])
    return out


def _exact_s(rows: int) -> np.ndarray:
    return np.linalg.svd(dense_numpy(rows, COLS), compute_uv=False)


# ---------------------------------------------------------------------------
# QR
# ---------------------------------------------------------------------------
class QRDlinalg(OnCluster):
    """``dl.qr(A)`` (Cholesky-QR2: two Gram passes), then Q persisted."""

    def _run(self):
        with self.client.as_current():
            Q, R = dl.qr(self.A)
            (q,) = _persist_all(Q.to_dask())
        return q, R

    def time_qr_with_q(self, rows):
        self._run()

    def time_r_only(self, rows):
        with self.client.as_current():
            dl.qr(self.A)

    def track_orthogonality(self, rows):
        q, _ = self._run()
        with self.client.as_current():
            return float(np.abs((q.T @ q).compute() - np.eye(COLS)).max())


class QRDask(OnCluster):
    """Plain Dask ``tsqr`` (Householder QR per block and of the stacked R's), Q persisted."""

    def _run(self):
        with self.client.as_current():
            return _persist_all(*da.linalg.tsqr(self.X))

    def time_qr_with_q(self, rows):
        self._run()

    def track_orthogonality(self, rows):
        q, _ = self._run()
        with self.client.as_current():
            return float(np.abs((q.T @ q).compute() - np.eye(COLS)).max())


# ---------------------------------------------------------------------------
# thin SVD
# ---------------------------------------------------------------------------
class SVDDlinalg(OnCluster):
    """``dl.svd(A)``: QR by Cholesky-QR2, SVD of R, U persisted."""

    def _run(self):
        with self.client.as_current():
            U, s, _ = dl.svd(self.A)
            _persist_all(U.to_dask())
        return s

    def time_svd(self, rows):
        self._run()

    def track_sv_error(self, rows):
        return float(np.abs(self._run() / _exact_s(rows) - 1).max())


class SVDDask(OnCluster):
    """Plain Dask ``dask.array.linalg.svd`` (TSQR based), U persisted."""

    def _run(self):
        with self.client.as_current():
            _, s, _ = _persist_all(*da.linalg.svd(self.X))
            return s.compute()

    def time_svd(self, rows):
        self._run()

    def track_sv_error(self, rows):
        return float(np.abs(self._run() / _exact_s(rows) - 1).max())


# ---------------------------------------------------------------------------
# randomized SVD
# ---------------------------------------------------------------------------
class SSVDDlinalg(OnCluster):
    """``dl.ssvd(A, 20, q=2)`` with U persisted."""

    def _run(self):
        with self.client.as_current():
            U, s, _ = dl.ssvd(self.A, K, q=POWER, seed=0)
            _persist_all(U.to_dask())
        return s

    def time_ssvd(self, rows):
        self._run()

    def track_sv_error(self, rows):
        return float(np.abs(self._run() / _exact_s(rows)[:K] - 1).max())


class SSVDDask(OnCluster):
    """Plain Dask ``svd_compressed(X, 20, n_power_iter=2)`` with U persisted."""

    def _run(self):
        with self.client.as_current():
            u, s, v = da.linalg.svd_compressed(self.X, K, n_power_iter=POWER, seed=0)
            _, s, _ = _persist_all(u, s, v)
            return s.compute()

    def time_ssvd(self, rows):
        self._run()

    def track_sv_error(self, rows):
        return float(np.abs(self._run() / _exact_s(rows)[:K] - 1).max())


# ---------------------------------------------------------------------------
# PCA
# ---------------------------------------------------------------------------
class PCADlinalg(OnCluster):
    """``dlinalg.models.PCA(20).fit(A)`` on the persisted DRM ("auto": exact Gram + eigh, one pass)."""

    def time_fit(self, rows):
        from dlinalg.models import PCA

        with self.client.as_current():
            PCA(K).fit(self.A)

    def time_fit_randomized(self, rows):
        from dlinalg.models import PCA

        with self.client.as_current():
            PCA(K, svd_solver="randomized", random_state=0).fit(self.A)


class PCADaskML(OnCluster):
    """dask-ml ``PCA(20).fit`` on the same persisted blocks (TSQR-based full SVD)."""

    def setup(self, rows):
        try:
            import dask_ml.decomposition  # noqa: F401
        except ImportError as exc:  # pragma: no cover - bench extra not installed
            raise NotImplementedError("dask-ml is not installed") from exc
        super().setup(rows)

    def time_fit(self, rows):
        from dask_ml.decomposition import PCA

        with self.client.as_current():
            PCA(K).fit(self.X)


class PCASklearn(Sized):
    """scikit-learn ``PCA(20)`` in this process (default BLAS threads: both cores)."""

    def setup(self, rows):
        self.X = dense_numpy(rows, COLS)

    def time_fit_randomized(self, rows):
        from sklearn.decomposition import PCA

        PCA(K, svd_solver="randomized", random_state=0).fit(self.X)

    def time_fit_full(self, rows):
        from sklearn.decomposition import PCA

        PCA(K, svd_solver="full").fit(self.X)


# ---------------------------------------------------------------------------
# randomized SVD of a wider matrix (issue 3: 100,000 x 2,000 with k = 50)
# ---------------------------------------------------------------------------
WIDE_COLS = 2000
WIDE_K = 50


class _Wide(Sized):
    def setup(self, rows):
        self.client = get_client()
        self.A = dense_drm(rows // 20, WIDE_COLS)
        self.X = self.A.to_dask()
        settle(self.client)


class SSVDWideDlinalg(_Wide):
    """``dl.ssvd(A, 50, q=2)`` on ``rows/20 x 2000``, U persisted (power passes on A)."""

    def time_ssvd(self, rows):
        with self.client.as_current():
            U, _, _ = dl.ssvd(self.A, WIDE_K, q=POWER, seed=0)
            _persist_all(U.to_dask())


class SSVDWideDask(_Wide):
    """Plain Dask ``svd_compressed(X, 50, n_power_iter=2)`` on the same blocks."""

    def time_ssvd(self, rows):
        with self.client.as_current():
            _persist_all(*da.linalg.svd_compressed(self.X, WIDE_K, n_power_iter=POWER, seed=0))
