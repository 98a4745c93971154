"""Convex optimization (issue 16): logistic regression and a Lasso path, references beside.

The logistic problem is ``dense_drm(ROWS, COLS)`` (standard normal, persisted
on the LocalCluster of 2 workers x 1 thread) with labels from a planted
logistic model, ``C = 1``. Each dlinalg class has its references beside it;
``track_objective`` records every method's objective (the same mean log-loss
plus ``||w||^2 / (2 C m)``, in numpy on the same data) so a faster time is
never a looser answer, and ``track_passes`` the passes over A.

==========================================  =======================================  ======
dlinalg                                     reference                                target
==========================================  =======================================  ======
``LogisticRegression``, ``lbfgs``,          dask-ml ``LogisticRegression`` lbfgs     >= 10x
                                            (same persisted blocks; admm: see below)
``LogisticRegression``, ``lbfgs``,          scikit-learn ``LogisticRegression``      >= 2x
                                            (lbfgs, one process, data in memory)
Lasso path, 20 alphas, warm starts          scikit-learn ``Lasso`` (coordinate        report
                                            descent), warm starts
==========================================  =======================================  ======
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
from scipy.special import expit

import dlinalg as dl

from . import (
    COLS,
    ROWS,
    SPARSE_COLS,
    SPARSE_DENSITY,
    Sized,
    dense_drm,
    dense_numpy,
    get_client,
    persisted_dask,
    settle,
    sparse_drm,
    sparse_scipy,
)

C = 1.0
#: The Lasso path: 20 alphas from alpha_max / 10 down, log-spaced (scikit-learn's grid shape).
N_ALPHAS = 20
_labels: dict = {}


def planted_labels(rows: int) -> np.ndarray:
    """0/1 labels from ``P(y=1) = expit(X w + 0.5)`` with a seeded ``w`` (``||w|| = 3``)."""
    if rows not in _labels:
        X = dense_numpy(rows, COLS)
        rng = np.random.default_rng(7)
        w = rng.standard_normal(COLS)
        w *= 3 / np.linalg.norm(w)
        _labels[rows] = (rng.random(rows) < expit(X @ w + 0.5)).astype(np.float64)
    return _labels[rows]


def logistic_objective(rows: int, coef: np.ndarray, intercept: float) -> float:
    """Mean log-loss + ``||coef||^2 / (2 C m)`` on the in-process copy of the data."""
    X, y = dense_numpy(rows, COLS), planted_labels(rows)
    z = X @ coef + intercept
    loss = float(np.mean(np.logaddexp(0, z) - y * z))
    return loss + float(coef @ coef) / (2 * C * rows)


class _Logistic(Sized):
    def setup(self, rows, *solver):
        self.client = get_client()
        self.A = dense_drm(rows, COLS)
        self.y = planted_labels(rows)
        settle(self.client)


class LogisticDlinalg(_Logistic):
    """``dl.newton_cg`` (exact Hessian, one pass per iteration) and ``dl.lbfgs``."""

    params: ClassVar = ([ROWS], ["newton", "lbfgs"])
    param_names: ClassVar = ["rows", "solver"]

    def _run(self, solver):
        kw = {"loss": "logistic", "fit_intercept": True, "l2": 1 / (C * len(self.y))}
        with self.client.as_current():
            if solver == "newton":
                return dl.newton_cg(self.A, self.y, **kw)
            return dl.lbfgs(self.A, self.y, gtol=1e-6, **kw)

    def time_fit(self, rows, solver):
        self._run(solver)

    def track_objective(self, rows, solver):
        res = self._run(solver)
        return logistic_objective(rows, res.coef, res.intercept)

    def track_passes(self, rows, solver):
        return self._run(solver).npass


class LogisticRegressionDlinalg(_Logistic):
    """``dlinalg.models.LogisticRegression(C=1)`` (scikit-learn's defaults: lbfgs, tol 1e-4)."""

    def _run(self):
        from dlinalg.models import LogisticRegression

        with self.client.as_current():
            return LogisticRegression(C=C).fit(self.A, self.y)

    def time_fit(self, rows):
        self._run()

    def track_objective(self, rows):
        model = self._run()
        return logistic_objective(rows, model.coef_[0], float(model.intercept_[0]))


class LogisticSklearn(Sized):
    """Reference: scikit-learn's ``LogisticRegression(C=1)`` (lbfgs), one process, in memory."""

    def setup(self, rows):
        self.X, self.y = dense_numpy(rows, COLS), planted_labels(rows)

    def _run(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=1000).fit(self.X, self.y)

    def time_fit(self, rows):
        self._run()

    def track_objective(self, rows):
        model = self._run()
        return logistic_objective(rows, model.coef_[0], float(model.intercept_[0]))


class LogisticDaskML(_Logistic):
    """Reference: dask-ml's ``LogisticRegression(C=1)`` on the same persisted blocks."""

    # admm is left out of CI's run: one fit took 146-155 s at 200,000 rows (0.358218664807,
    # a worse objective than lbfgs's); add it back to measure: ["lbfgs", "admm"]
    params: ClassVar = ([ROWS], ["lbfgs"])
    param_names: ClassVar = ["rows", "solver"]

    def setup(self, rows, solver):
        super().setup(rows, solver)
        import dask.array as da

        self.X = self.A.to_dask()
        self.yd = persisted_dask(da.from_array(self.y, chunks=(self.X.chunks[0],)))

    def _run(self, solver):
        from dask_ml.linear_model import LogisticRegression

        with self.client.as_current(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LogisticRegression(C=C, solver=solver).fit(self.X, self.yd)

    def time_fit(self, rows, solver):
        self._run(solver)

    def track_objective(self, rows, solver):
        model = self._run(solver)
        return logistic_objective(rows, np.ravel(model.coef_), float(model.intercept_))


def sparse_labels(rows: int) -> np.ndarray:
    """0/1 labels of the sparse problem, ``P(y=1) = expit(X w - 0.5)``, ``||w||_inf = 2``."""
    key = ("sparse", rows, SPARSE_COLS, SPARSE_DENSITY)
    if key not in _labels:
        X = sparse_scipy(rows, SPARSE_COLS)
        rng = np.random.default_rng(9)
        w = rng.uniform(-2, 2, SPARSE_COLS)
        _labels[key] = (rng.random(rows) < expit(X @ w - 0.5)).astype(np.float64)
    return _labels[key]


class LogisticSparseDlinalg(Sized):
    """``LogisticRegression(C=1)`` on CSR blocks (a click log: ``ROWS x SPARSE_COLS``,
    ``SPARSE_DENSITY``; the issue's 1,000,000 x 100,000 at 20 non-zeros per row is
    ``DLINALG_BENCH_SPARSE_COLS=100000 DLINALG_BENCH_SPARSE_DENSITY=0.0002``)."""

    def setup(self, rows):
        self.client = get_client()
        self.A, self.y = sparse_drm(rows, SPARSE_COLS), sparse_labels(rows)
        settle(self.client)

    def _run(self):
        from dlinalg.models import LogisticRegression

        with self.client.as_current():
            return LogisticRegression(C=C).fit(self.A, self.y)

    def time_fit(self, rows):
        self._run()


class LogisticSparseSklearn(Sized):
    """Reference: scikit-learn's ``LogisticRegression(C=1)`` (lbfgs) on the same CSR matrix."""

    def setup(self, rows):
        self.X, self.y = sparse_scipy(rows, SPARSE_COLS), sparse_labels(rows)

    def time_fit(self, rows):
        from sklearn.linear_model import LogisticRegression

        LogisticRegression(C=C, max_iter=1000).fit(self.X, self.y)


def _alphas(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """scikit-learn's grid: ``alpha_max = max |X^T (y - mean)| / m``, 20 log-spaced below it."""
    alpha_max = float(np.max(np.abs(X.T @ (y - y.mean())))) / len(y)
    return np.geomspace(alpha_max / 10, alpha_max / 1000, N_ALPHAS)


def _lasso_target(rows: int) -> np.ndarray:
    """``y = X w + noise`` with 10 non-zero coefficients."""
    key = ("lasso", rows)
    if key not in _labels:
        X = dense_numpy(rows, COLS)
        rng = np.random.default_rng(8)
        w = np.zeros(COLS)
        w[:10] = rng.standard_normal(10)
        _labels[key] = X @ w + 0.1 * rng.standard_normal(rows)
    return _labels[key]


class LassoPathDlinalg(Sized):
    """The 20-alpha Lasso path: ``dlinalg.models.lasso_path`` (one pass for the Gram, then
    scikit-learn's coordinate descent on it) and ``Lasso(warm_start=True)`` per alpha.

    The warm-started loop is the reference's loop, a new model each repeat: its first
    fit makes the one pass, the other 19 reuse the moments it kept (same X, y)."""

    def setup(self, rows):
        self.client = get_client()
        self.A, self.y = dense_drm(rows, COLS), _lasso_target(rows)
        self.alphas = _alphas(dense_numpy(rows, COLS), self.y)
        settle(self.client)

    def time_path(self, rows):
        from dlinalg.models.linear_model import lasso_path

        with self.client.as_current():
            lasso_path(self.A, self.y, alphas=self.alphas, tol=1e-6)

    def time_warm_started_fits(self, rows):
        from dlinalg.models import Lasso

        model = Lasso(warm_start=True, tol=1e-6)
        with self.client.as_current():
            for alpha in self.alphas:
                model.set_params(alpha=alpha).fit(self.A, self.y)


class LassoPathSklearn(Sized):
    """Reference: scikit-learn's ``Lasso`` with ``warm_start`` along the same 20 alphas."""

    def setup(self, rows):
        self.X, self.y = dense_numpy(rows, COLS), _lasso_target(rows)
        self.alphas = _alphas(self.X, self.y)

    def time_path(self, rows):
        from sklearn.linear_model import lasso_path

        lasso_path(self.X, self.y, alphas=self.alphas, tol=1e-6)

    def time_warm_started_fits(self, rows):
        from sklearn.linear_model import Lasso

        model = Lasso(warm_start=True, tol=1e-6)
        for alpha in self.alphas:
            model.set_params(alpha=alpha).fit(self.X, self.y)
