"""Kill a real worker process in the middle of an estimator's fit: same coefficients, same bits.

The estimators fit through dlinalg's optimizers (``LogisticRegression``,
``PoissonRegressor``: one or two passes over X per iteration) or one pass for
the Gram moments (``Lasso``). Their tasks have deterministic keys and their
lineage stays on the scheduler, so the blocks and partial sums that die with a
worker are recomputed by the survivor, bit for bit: the fit ends with the
coefficients of an undisturbed fit on the same cluster.

The optimizers take a callback, the estimators do not: the iterative fits get
the kill callback (``kill_at_iteration``, shared with the solver tests) by
wrapping ``dl.lbfgs`` and ``dl.newton_cg``, which the estimators call. The
Lasso's single pass is slowed (a sleeping identity on each block) so that a
kill at 40% of an undisturbed fit's time (workers warm) lands inside it.
"""

from __future__ import annotations

import functools
import os
import time

import dask.array as da
import numpy as np
import pytest
from dlinalg.models import Lasso, LogisticRegression, PoissonRegressor
from scipy.special import expit

import dlinalg as dl

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

ROWS, COLS, CHUNK = 20_000, 10, 1_000  # 20 row blocks


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, 0/1 labels and counts from a planted model with 5 of 10 coefficients zero."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((ROWS, COLS))
    z = X @ np.r_[rng.standard_normal(5), np.zeros(5)]
    labels = (rng.random(ROWS) < expit(z + 0.3)).astype(np.float64)
    counts = rng.poisson(np.exp(0.3 * z)).astype(np.float64)
    return X, labels, counts


# name -> (estimator, target, iteration at which a worker dies)
ITERATIVE = {
    "logistic-lbfgs": (lambda: LogisticRegression(tol=1e-8), "labels", 3),
    "logistic-newton-cholesky": (
        lambda: LogisticRegression(solver="newton-cholesky", tol=1e-10),
        "labels",
        2,
    ),
    "logistic-l1-owlqn": (
        lambda: LogisticRegression(penalty="l1", solver="saga", C=0.002, tol=1e-8),
        "labels",
        3,
    ),
    "poisson-lbfgs": (lambda: PoissonRegressor(alpha=0.01, tol=1e-8), "counts", 3),
}


def fitted(est) -> tuple:
    return est.coef_, est.intercept_, est.n_iter_


def assert_same_bits(got, want) -> None:
    for g, w in zip(fitted(got), fitted(want), strict=True):
        np.testing.assert_array_equal(g, w)
        assert np.asarray(g).dtype == np.asarray(w).dtype


@pytest.mark.parametrize("name", ITERATIVE)
def test_worker_kill_mid_fit_gives_identical_coefficients(
    fresh_cluster, kill_at_iteration, monkeypatch, name
):
    _, client = fresh_cluster
    make, target, at = ITERATIVE[name]
    X, labels, counts = _problem()
    y = labels if target == "labels" else counts
    with client.as_current():
        A = dl.from_array(X, chunks=CHUNK).persist()
        want = make().fit(A, y)
        assert np.max(want.n_iter_) > at + 1, "the fit ends too soon to be killed mid-way"
        callback, victim = kill_at_iteration(client, at=at)
        for solver in ("lbfgs", "newton_cg"):  # what the estimators call
            monkeypatch.setattr(
                dl, solver, functools.partial(getattr(dl, solver), callback=callback)
            )
        got = make().fit(A, y)
        assert callback.killed.is_set(), "the fit ended before the kill"
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    if "l1" in name:
        assert 0 < np.count_nonzero(want.coef_) < COLS  # the L1 part is at work
    assert_same_bits(got, want)


def _slow(block: np.ndarray) -> np.ndarray:
    time.sleep(0.01)  # module level: Dask tokenizes it deterministically
    return block


def test_worker_kill_mid_pass_gives_the_same_lasso(fresh_cluster, killing_a_worker_when):
    """The Lasso's one pass (the Gram moments) loses a worker half-way: the same bits."""
    _, client = fresh_cluster
    X, labels, _ = _problem()
    y = X @ np.r_[1.0, -2.0, np.zeros(COLS - 2)] + labels
    # 40 blocks of 10 ms or more on 2 one-thread workers: a pass of 0.2 s or more
    A = da.from_array(X, chunks=(CHUNK // 2, COLS)).map_blocks(_slow, dtype=X.dtype)
    with client.as_current():
        want = Lasso(alpha=0.01).fit(A, y)  # the first fit also warms the workers up
        start = time.monotonic()
        assert_same_bits(Lasso(alpha=0.01).fit(A, y), want)
        kill_after = 0.4 * (time.monotonic() - start)
        start = time.monotonic()
        with killing_a_worker_when(
            client, lambda: time.monotonic() > start + kill_after
        ) as victim:
            got = Lasso(alpha=0.01).fit(A, y)
    assert victim not in client.run(os.getpid).values(), "the fit ended before the kill"
    assert 0 < np.count_nonzero(want.coef_) < COLS
    assert_same_bits(got, want)
    assert got.dual_gap_ == want.dual_gap_
