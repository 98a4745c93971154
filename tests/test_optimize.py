"""The optimizers against scikit-learn and SciPy on the same objectives.

Every solver (``lbfgs`` with and without OWL-QN, ``newton_cg`` with the exact
Hessian and with CG, ``proximal_gradient`` with each proximal operator) is run
over the chunking table, dense and sparse, float32 and float64, and compared
with the truth: scikit-learn's ``LogisticRegression``, ``PoissonRegressor``,
``Lasso`` and ``ElasticNet`` run to ``tol=1e-12``, SciPy's ``nnls`` and
``lsq_linear``, and SciPy's L-BFGS-B on the objective written in numpy (Huber,
the multinomial loss). A float32 matrix is read in float64, so its truth is
the float64 copy of the float32 data and the tolerances stay tight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, PoissonRegressor

import dlinalg as dl
from dlinalg.errors import NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.optimize import prox
from dlinalg.solvers.checkpoint import CheckpointError

# (shape, chunks) -- what each row exercises
CHUNKINGS = [
    ((300, 6), None),  # one chunk
    ((300, 6), 50),  # many equal row chunks
    ((307, 6), 50),  # uneven last chunk
    ((320, 6), "dask-colchunks"),  # a dask input with column chunks (merged on input)
]
CHUNK_IDS = ["one", "many", "uneven", "colchunks"]
# float32 blocks are read in float64 (the same kernel): the slow step checks them
DTYPES = [pytest.param(np.float32, marks=pytest.mark.slow), np.float64]


# the default run takes the uneven chunking (the edge case); the slow step the whole table
CASES = [
    c if name == "uneven" else pytest.param(c, marks=pytest.mark.slow)
    for c, name in zip(CHUNKINGS, CHUNK_IDS, strict=True)
]


@pytest.fixture(params=CASES, ids=CHUNK_IDS)
def case(request):
    return request.param


def design(shape, chunks, dtype, sparse, seed=0):
    """(float64 truth of the data, the operand dlinalg gets)."""
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random_array(shape, density=0.5, rng=rng, format="csr", dtype=np.float64)
        X.data = (2 * X.data - 1).astype(dtype)
        X = X.astype(dtype)
        dense = X.toarray().astype(np.float64)
    else:
        X = rng.standard_normal(shape).astype(dtype)
        dense = X.astype(np.float64)
    if chunks == "dask-colchunks":
        return dense, da.from_array(X, chunks=(64, 3), asarray=not sparse)
    return dense, dl.from_array(X, chunks=chunks)


def logistic_labels(X, seed=1):
    rng = np.random.default_rng(seed)
    w = np.linspace(-1.5, 1.5, X.shape[1])
    return (X @ w + 0.3 + rng.logistic(size=X.shape[0]) > 0).astype(np.float64)


def rel(got, want):
    return float(np.max(np.abs(np.asarray(got) - want)) / max(np.max(np.abs(want)), 1e-12))


def sk_logistic(X, y, C, sample_weight=None, l1=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"l1_ratio": 1.0, "solver": "saga", "max_iter": 200_000} if l1 else {}
        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000, **kw)
        return model.fit(X, y, sample_weight=sample_weight)


# --- the truth: each loss and solver -------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-exact", "newton-cg"])
def test_logistic_l2_equals_scikit_learn(case, dtype, sparse, solver):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, sparse)
    y = logistic_labels(X)
    C = 0.5
    want = sk_logistic(X, y, C)
    kw = {"loss": "logistic", "fit_intercept": True, "l2": 1 / (C * X.shape[0])}
    if solver == "lbfgs":
        res = dl.lbfgs(A, y, gtol=1e-9, ftol=1e-14, **kw)
    else:
        res = dl.newton_cg(A, y, hessian=solver.split("-")[1], **kw)
    assert res.success, res.message
    assert rel(res.coef, want.coef_[0]) < 1e-6
    assert abs(res.intercept - want.intercept_[0]) < 1e-6


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial_equals_scikit_learn(case, dtype, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, sparse)
    y = np.digitize(X @ np.linspace(-1, 1, X.shape[1]), [-0.5, 0.5]).astype(np.float64)
    want = sk_logistic(X, y, 1.0)
    l2 = 1 / X.shape[0]
    for res in (
        dl.lbfgs(A, y, loss="multinomial", n_classes=3, fit_intercept=True, l2=l2,
                 gtol=1e-9, ftol=1e-14),
        dl.newton_cg(A, y, loss="multinomial", n_classes=3, fit_intercept=True, l2=l2),
    ):  # fmt: skip
        assert res.success, res.message
        assert res.coef.shape == (X.shape[1], 3)
        assert rel(res.coef.T, want.coef_) < 1e-6
        np.testing.assert_allclose(res.intercept, want.intercept_, atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_equals_scikit_learn(case, dtype, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, sparse)
    rng = np.random.default_rng(2)
    y = rng.poisson(np.exp(X @ np.linspace(-0.4, 0.4, X.shape[1]) + 0.2)).astype(np.float64)
    want = PoissonRegressor(alpha=0.05, tol=1e-12, max_iter=10_000).fit(X, y)
    for res in (
        dl.newton_cg(A, y, loss="poisson", l2=0.05, fit_intercept=True),
        dl.lbfgs(A, y, loss="poisson", l2=0.05, fit_intercept=True, gtol=1e-9, ftol=1e-14),
    ):
        assert res.success, res.message
        assert rel(res.coef, want.coef_) < 1e-6
        assert abs(res.intercept - want.intercept_) < 1e-6


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lasso_and_elastic_net_equal_scikit_learn(case, dtype, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, sparse)
    rng = np.random.default_rng(3)
    y = X @ np.array([2.0, -1.0, 0.0, 0.0, 0.5, 0.0]) + 0.5 + 0.1 * rng.standard_normal(len(X))
    alpha = 0.05
    lasso = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    owlqn = dl.lbfgs(A, y, loss="squared", l1=alpha, fit_intercept=True, gtol=1e-12, ftol=0)
    fista = dl.proximal_gradient(A, y, prox=prox.l1(alpha), fit_intercept=True, tol=1e-13)
    for res in (owlqn, fista):
        assert res.success, res.message
        assert rel(res.coef, lasso.coef_) < 1e-6
        assert abs(res.intercept - lasso.intercept_) < 1e-6
    assert (owlqn.coef == 0).sum() == (lasso.coef_ == 0).sum()  # the same support
    enet = ElasticNet(alpha=alpha, l1_ratio=0.3, tol=1e-14, max_iter=1_000_000).fit(X, y)
    got = dl.proximal_gradient(A, y, prox=prox.elastic_net(0.3 * alpha, 0.7 * alpha),
                               fit_intercept=True, tol=1e-13)  # fmt: skip
    smooth_l2 = dl.lbfgs(A, y, loss="squared", l1=0.3 * alpha, l2=0.7 * alpha,
                         fit_intercept=True, gtol=1e-12, ftol=0)  # fmt: skip
    for res in (got, smooth_l2):
        assert rel(res.coef, enet.coef_) < 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_equals_scipy_on_the_numpy_objective(case, dtype):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, False)
    rng = np.random.default_rng(4)
    y = X @ np.linspace(-1, 1, X.shape[1]) + rng.standard_t(1.5, len(X))
    eps, l2 = 1.0, 1e-3

    def f(theta):
        r = X @ theta[:-1] + theta[-1] - y
        inside = np.abs(r) <= eps
        loss = np.where(inside, 0.5 * r * r, eps * np.abs(r) - 0.5 * eps * eps).mean()
        d = np.clip(r, -eps, eps) / len(y)
        w = theta[:-1]
        return loss + 0.5 * l2 * w @ w, np.append(X.T @ d + l2 * w, d.sum())

    want = so.minimize(f, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-12, "ftol": 0, "maxiter": 10_000}).x  # fmt: skip
    res = dl.lbfgs(A, y, loss="huber", epsilon=eps, l2=l2, fit_intercept=True, gtol=1e-10,
                   ftol=0)  # fmt: skip
    assert res.success
    assert rel(res.x, want) < 1e-6
    np.testing.assert_allclose(res.fun, f(want)[0], rtol=1e-9)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_constraints_equal_scipy(case, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, np.float64, sparse)
    rng = np.random.default_rng(5)
    y = X @ np.array([1.0, -1.0, 0.5, -0.2, 0.0, 2.0]) + 0.05 * rng.standard_normal(len(X))
    nnls = so.nnls(X, y)[0]
    got = dl.proximal_gradient(A, y, prox=prox.nonneg(), tol=1e-11)
    assert got.success, got.message  # the tolerance is met, not the iteration limit
    assert rel(got.coef, nnls) < 1e-6
    lo, hi = -0.5, 0.8
    boxed = so.lsq_linear(X, y, bounds=(lo, hi), tol=1e-14, lsmr_tol="auto").x
    got = dl.proximal_gradient(A, y, prox=prox.box(lo, hi), tol=1e-11)
    # TFOCS's restart test on grad f(y) ran out of iterations here (error 3e-6)
    assert got.success, got.message
    assert rel(got.coef, boxed) < 1e-6
    assert np.isfinite(got.fun)  # x_new stays inside the box (a convex combination)
    positive = Lasso(alpha=0.01, positive=True, tol=1e-14, max_iter=10**6, fit_intercept=False)
    got = dl.proximal_gradient(A, y, prox=prox.l1(0.01, positive=True), tol=1e-11)
    assert got.success, got.message
    assert rel(got.coef, positive.fit(X, y).coef_) < 1e-6


def test_group_lasso_satisfies_its_optimality_conditions():
    X, A = design((400, 9), 100, np.float64, False)
    y = X @ np.array([1.0, -1.0, 0.5, 0, 0, 0, 0.1, 0.0, 0.05]) + 0.1
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    lam = 0.05
    res = dl.proximal_gradient(A, y, prox=prox.group_l1(lam, groups), tol=1e-11, maxiter=5000)
    w = res.coef
    grad = X.T @ (X @ w - y) / len(y)
    for g in range(3):
        idx = groups == g
        norm = np.linalg.norm(w[idx])
        if norm > 0:  # stationarity: grad_g + lam sqrt(3) w_g / ||w_g|| = 0
            np.testing.assert_allclose(grad[idx], -lam * np.sqrt(3) * w[idx] / norm, atol=1e-7)
        else:  # the zero group: ||grad_g|| <= lam sqrt(3)
            assert np.linalg.norm(grad[idx]) <= lam * np.sqrt(3) + 1e-9
    assert np.linalg.norm(w[groups == 1]) == 0  # the inactive group is zero exactly


def test_integer_weights_are_repeated_rows():
    X, A = design((200, 5), 40, np.float64, False)
    y = logistic_labels(X)
    s = np.random.default_rng(6).integers(0, 4, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), s.astype(int))
    weighted = dl.newton_cg(A, y, sample_weight=s, fit_intercept=True, l2=1e-2)
    repeated = dl.newton_cg(dl.from_array(X[rows], chunks=50), y[rows], fit_intercept=True,
                            l2=1e-2)  # fmt: skip
    np.testing.assert_allclose(weighted.x, repeated.x, rtol=1e-9, atol=1e-12)
    lazy = dl.newton_cg(A, da.from_array(y, chunks=50), sample_weight=da.from_array(s, chunks=40),
                        fit_intercept=True, l2=1e-2)  # fmt: skip
    np.testing.assert_allclose(lazy.x, weighted.x, rtol=1e-12)


# --- on a real cluster, bit for bit with the synchronous scheduler ----------------------------

SOLVES = {
    "lbfgs": lambda A, y: dl.lbfgs(A, y, fit_intercept=True, l2=1e-2, gtol=1e-9, ftol=1e-14),
    "owlqn": lambda A, y: dl.lbfgs(A, y, fit_intercept=True, l1=1e-2, gtol=1e-9, ftol=1e-14),
    "newton": lambda A, y: dl.newton_cg(A, y, fit_intercept=True, l2=1e-2),
    "newton-cg": lambda A, y: dl.newton_cg(A, y, fit_intercept=True, l2=1e-2, hessian="cg"),
    "proximal": lambda A, y: dl.proximal_gradient(
        A, y, loss="logistic", prox=prox.l1(1e-2), fit_intercept=True, tol=1e-9
    ),
}


@pytest.mark.cluster
@pytest.mark.parametrize(
    "name", [n if n == "lbfgs" else pytest.param(n, marks=pytest.mark.slow) for n in SOLVES]
)
def test_the_cluster_gives_the_synchronous_bits(client, name):
    X, _ = design((1000, 8), None, np.float64, False)
    y = logistic_labels(X)
    with dask.config.set(scheduler="sync"):
        want = SOLVES[name](dl.from_array(X, chunks=100), y)
    with client.as_current():
        got = SOLVES[name](dl.from_array(X, chunks=100), y)
    assert got.nit == want.nit
    np.testing.assert_array_equal(got.x, want.x)


def _n_tasks(dask_scheduler=None) -> int:
    return len(dask_scheduler.tasks)


@pytest.mark.slow  # ~15 s: 150 iterations, each asking the scheduler
@pytest.mark.cluster
def test_the_scheduler_holds_a_bounded_graph_across_iterations(client):
    """proximal_gradient keeps ``[A x | A z]`` on the workers, each step's pieces computed
    from the last; the exact reset every RESET_EVERY iterations starts a new chain, so the
    scheduler's task count does not grow with the iteration count. (The other optimizers
    keep nothing on the workers between passes.)"""
    from dlinalg.optimize.proximal import RESET_EVERY

    X, _ = design((2000, 10), None, np.float64, False)
    y = logistic_labels(X)
    counts: list[int] = []
    with client.as_current():
        res = dl.proximal_gradient(
            dl.from_array(X, chunks=200), y, loss="logistic", prox=prox.l1(1e-3),
            restart=False, tol=0, maxiter=3 * RESET_EVERY,
            callback=lambda _: counts.append(client.run_on_scheduler(_n_tasks)),
        )  # fmt: skip
    assert res.nit == 3 * RESET_EVERY == len(counts)
    first, last = max(counts[5:RESET_EVERY]), max(counts[-RESET_EVERY:])
    assert last <= first + 12, counts  # a busy scheduler may lag a step behind
    assert max(counts[RESET_EVERY - 5 : RESET_EVERY]) > counts[5] + 20  # a chain, then cut


# --- passes, history, checkpoints -----------------------------------------------------------


def test_passes_per_iteration_are_as_documented():
    X, A = design((2000, 10), 200, np.float64, False)
    y = logistic_labels(X)
    res = dl.lbfgs(A, y, l2=1e-3, gtol=1e-8)
    assert res.npass <= res.nit + 3  # one pass per accepted Wolfe trial, nearly always
    res = dl.newton_cg(A, y, l2=1e-3)
    assert res.npass <= res.nit + 2  # the accepted trial's Hessian is the next iteration's
    res = dl.proximal_gradient(A, y, loss="logistic", prox=prox.l1(1e-3), tol=1e-8)
    assert res.npass <= res.nit + 20  # one per iteration, one more per failed trial
    per_iteration = np.diff(res.history["passes"])
    assert np.mean(per_iteration == 1) >= 0.8  # A y and A x_new come from the kept A x, A z
    np.testing.assert_array_equal(res.history["itn"], np.arange(1, res.nit + 1))
    assert res.history["passes"][-1] == res.npass
    assert np.all(np.diff(dl.newton_cg(A, y, l2=1e-3).history["objective"]) <= 0)


@pytest.mark.parametrize("name", SOLVES)
def test_checkpoint_resume_is_bit_identical(tmp_path, name):
    X, A = design((600, 8), 100, np.float64, False)
    y = logistic_labels(X)
    path = tmp_path / "state.npz"
    solve = SOLVES[name]
    with dask.config.set(scheduler="sync"):
        full = solve(A, y)
        first = _with(solve, A, y, maxiter=2, checkpoint=path)
        assert first.status == 7
        resumed = _with(solve, A, y, checkpoint=path)
    assert resumed.nit == full.nit
    np.testing.assert_array_equal(resumed.x, full.x)


def _with(solve, A, y, **extra):
    """Call one of SOLVES with extra keywords (maxiter, checkpoint)."""
    import functools

    real = {
        "lbfgs": dl.lbfgs,
        "newton_cg": dl.newton_cg,
        "proximal_gradient": dl.proximal_gradient,
    }
    patched = {k: functools.partial(v, **extra) for k, v in real.items()}
    saved = {k: getattr(dl, k) for k in real}
    try:
        for k, v in patched.items():
            setattr(dl, k, v)
        return solve(A, y)
    finally:
        for k, v in saved.items():
            setattr(dl, k, v)


def test_an_overflow_at_the_speculative_point_is_not_an_error():
    """The AT pass also evaluates the next trial's point, further towards z than the new x:
    a Poisson loss that overflows there (and only there) leaves that value unknown
    instead of raising; the iterate's own value must be finite."""
    from dlinalg.optimize.objective import check_problem

    X = np.ones((40, 1))
    p = check_problem(dl.from_array(X, chunks=10), np.ones(40), loss="poisson",
                      sample_weight=None, n_classes=None, fit_intercept=False, l2=0.0,
                      l1=0.0, epsilon=1.35, x0=None)  # fmt: skip
    obj = p.objective()
    zero, far = np.zeros(1), np.array([1000.0])  # exp(1000) overflows
    P, *_ = obj.accelerated(None, x=zero, x_new=zero, y=zero, theta_y=0.0)
    x = 1e-6 * far
    _, f_x, at_y, g_x = obj.accelerated(P, x=x, z_new=far, theta=1e-6, y=far, theta_y=1.0)
    assert at_y is None
    np.testing.assert_allclose(f_x, np.exp(1e-3) - 1e-3, rtol=1e-12)
    np.testing.assert_allclose(g_x, [np.exp(1e-3) - 1], rtol=1e-12)
    with pytest.raises(NonFiniteError, match="not finite"):  # the iterate's own value
        obj.accelerated(P, x=far, z_new=far, theta=1.0, y=far, theta_y=1.0)


def test_a_checkpoint_without_the_predictors_resumes(tmp_path, monkeypatch):
    """proximal_gradient checkpoints written before the predictors ``[A x | A z]`` were
    saved resume: one pass recomputes them (not bit for bit: they were combinations)."""
    from dlinalg.optimize.proximal import Predictors

    X, A = design((400, 6), 100, np.float64, False)
    y = logistic_labels(X)
    kw = {"loss": "logistic", "prox": prox.l1(1e-3), "tol": 1e-12}
    ckpt = str(tmp_path / "old.npz")
    with monkeypatch.context() as m:
        m.setattr(Predictors, "state", lambda self: {})  # as the older writer saved
        first = dl.proximal_gradient(A, y, checkpoint=ckpt, maxiter=15, **kw)
    assert first.status == 7
    resumed = dl.proximal_gradient(A, y, checkpoint=ckpt, maxiter=400, **kw)
    full = dl.proximal_gradient(A, y, maxiter=400, **kw)
    assert resumed.success
    assert full.success
    assert rel(resumed.x, full.x) < 1e-8


def test_checkpoint_of_another_problem_is_refused(tmp_path):
    X, A = design((200, 5), 50, np.float64, False)
    y = logistic_labels(X)
    path = tmp_path / "state.npz"
    with dask.config.set(scheduler="sync"):
        dl.lbfgs(A, y, l2=1.0, maxiter=2, checkpoint=path)
        before = path.read_bytes()
        with pytest.raises(CheckpointError, match="another problem"):
            dl.lbfgs(A, y, l2=2.0, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem"):
            dl.newton_cg(A, y, l2=1.0, checkpoint=path)
    assert path.read_bytes() == before


def test_plot_convergence_draws_an_optimizer():
    import matplotlib

    matplotlib.use("Agg")
    X, A = design((300, 5), 100, np.float64, False)
    ax = dl.plot_convergence(dl.lbfgs(A, logistic_labels(X), l2=1e-2))
    assert [line.get_label() for line in ax.get_lines()]


def test_x0_already_optimal_runs_no_iteration():
    X, A = design((300, 5), 100, np.float64, False)
    y = logistic_labels(X)
    best = dl.newton_cg(A, y, l2=1e-2)
    again = dl.lbfgs(A, y, l2=1e-2, x0=best.x, gtol=1e-6)
    assert (again.status, again.nit, again.success) == (0, 0, True)


# --- bad input: refused before any pass -----------------------------------------------------

X_OK = np.random.default_rng(0).standard_normal((6, 3))
Y01 = np.array([0, 1, 0, 1, 1, 0.0])
BAD = [
    ({"y": np.array([0, 1, 2, 1, 0, 1.0])}, ValueError, r"targets 0 or 1, got \[2.0\]"),
    ({"y": np.ones(5)}, ShapeError, "y has 5 entries but A has 6 rows"),
    ({"y": np.array([0, 1, np.nan, 1, 0, 1])}, NonFiniteError, "y contains NaN"),
    ({"loss": "hinge"}, ParameterError, "loss must be one of"),
    ({"loss": "poisson", "y": -Y01}, ValueError, "targets >= 0"),
    ({"loss": "multinomial"}, ParameterError, "needs n_classes"),
    ({"loss": "multinomial", "n_classes": 2, "y": Y01 * 2}, ValueError, r"indices 0..1"),
    ({"n_classes": 3}, ParameterError, "for loss='multinomial' only"),
    ({"l2": -1.0}, ParameterError, "l2 must be a finite number >= 0"),
    ({"l1": float("inf")}, ParameterError, "l1 must be a finite number >= 0"),
    ({"sample_weight": np.ones(4)}, ShapeError, "sample_weight has 4 entries"),
    ({"sample_weight": -np.ones(6)}, ValueError, "sample_weight must be >= 0"),
    ({"sample_weight": np.zeros(6)}, ValueError, "zero everywhere"),
    ({"sample_weight": np.full(6, np.inf)}, NonFiniteError, "sample_weight contains NaN"),
    ({"fit_intercept": "yes"}, ParameterError, "fit_intercept must be True or False"),
    ({"x0": np.ones(4)}, ShapeError, "x0 has 4 entries but A has 3 columns"),
    ({"m": 0}, ParameterError, "L-BFGS memory"),
    ({"gtol": -1.0}, ParameterError, "gtol must be a finite number >= 0"),
    ({"maxiter": 0}, ParameterError, "maxiter must be >= 1"),
    ({"callback": 3}, ParameterError, "callback must be callable"),
    ({"checkpoint": 3}, ParameterError, "checkpoint must be None or a file path"),
    ({"A": "matrix"}, OperandTypeError, "A must be"),
    ({"loss": "huber", "epsilon": 0.0, "y": Y01}, ParameterError, "epsilon must be a number > 0"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_is_refused_before_any_pass(kwargs, error, match, monkeypatch):
    from dlinalg.solvers import _operator

    monkeypatch.setattr(_operator.RowOperator, "__init__", _no_pass)
    args = {"A": X_OK, "y": Y01, **kwargs}
    A, y = args.pop("A"), args.pop("y")
    with pytest.raises(error, match=match):
        dl.lbfgs(A, y, **args)


def _no_pass(*args, **kwargs):
    raise AssertionError("A was persisted before the input was checked")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: dl.newton_cg(X_OK, Y01, hessian="lu"), ParameterError, "hessian must be one of"),
        (
            lambda: dl.newton_cg(X_OK, Y01 * 2, loss="multinomial", n_classes=3, hessian="exact"),
            ParameterError,
            "for one class",
        ),
        (lambda: dl.proximal_gradient(X_OK, Y01, prox="l1"), TypeError, "prox must be"),
        (lambda: dl.proximal_gradient(X_OK, Y01, L0=-1.0), ParameterError, "L0 must be"),
        (
            lambda: dl.proximal_gradient(X_OK, Y01, prox=prox.group_l1(1.0, [0, 1])),
            ShapeError,
            "groups has 2 entries",
        ),
        (lambda: prox.l1(-1.0), ParameterError, "lam must be a finite number >= 0"),
        (lambda: prox.box(1.0, -1.0), ParameterError, "lower must be <= upper"),
        (lambda: prox.group_l1(1.0, [0.5, 1.0]), ParameterError, "groups must be"),
    ],
)
def test_solver_specific_bad_input(call, error, match, monkeypatch):
    from dlinalg.solvers import _operator

    monkeypatch.setattr(_operator.RowOperator, "__init__", _no_pass)
    with pytest.raises(error, match=match):
        call()


def test_the_loss_layer_matches_numpy():
    """The block kernel's value, gradient and Hessian against closed forms (one block)."""
    from dlinalg.physical.glm import glm_block

    rng = np.random.default_rng(7)
    x = rng.standard_normal((50, 4))
    y = (rng.random(50) < 0.5).astype(float)
    s = rng.random(50)
    w, b = rng.standard_normal((4, 1)), np.array([0.2])
    z = x @ w[:, 0] + 0.2
    p = expit(z)
    parts = glm_block(x, y, s, w, b, "logistic", 0.0, "hess")
    np.testing.assert_allclose(parts.normsq, s @ (np.logaddexp(0, z) - y * z), rtol=1e-13)
    np.testing.assert_allclose(parts.atu[:4], x.T @ (s * (p - y)), rtol=1e-12)
    H = (x * (s * p * (1 - p))[:, None]).T @ x
    np.testing.assert_allclose(parts.atu[5:21].reshape(4, 4), H, rtol=1e-12)
    Z = rng.standard_normal((50, 3))
    labels = rng.integers(0, 3, 50).astype(float)
    W, B = rng.standard_normal((4, 3)), np.zeros(3)
    parts = glm_block(x, labels, None, W, B, "multinomial", 0.0, "grad")
    Z = x @ W
    want = (logsumexp(Z, axis=1) - Z[np.arange(50), labels.astype(int)]).sum()
    np.testing.assert_allclose(parts.normsq, want, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_tiled_gradient_kernel_equals_numpy(monkeypatch, dtype):
    """Dense multinomial blocks larger than a tile are read tile by tile (one read per
    pass): the value and gradient are numpy's, uneven last tile, weights and intercepts
    included. (The ``K = 1`` losses take the compiled sweep, tested below.)"""
    import dlinalg.physical.glm as G

    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 5)).astype(dtype)
    s = rng.random(1000)
    y = rng.integers(0, 3, 1000).astype(float)
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    whole = G.glm_block(x, y, s, W, b, "multinomial", 1.0, "grad")
    monkeypatch.setattr(G, "TILE_BYTES", 8 * 5 * 96)  # 96-row tiles, the last one of 40
    assert G._tile_rows(x) == 96
    tiled = G.glm_block(x, y, s, W, b, "multinomial", 1.0, "grad")
    np.testing.assert_allclose(tiled.normsq, whole.normsq, rtol=1e-12)
    np.testing.assert_allclose(tiled.atu, whole.atu, rtol=1e-12, atol=1e-12)
    X = x.astype(np.float64)
    Z = X @ W + b
    want = s @ (logsumexp(Z, axis=1) - Z[np.arange(1000), y.astype(int)])
    np.testing.assert_allclose(tiled.normsq, want, rtol=1e-12)


def _closed_form(loss, z, y, huber=1.0):
    """``l(z, y)`` and ``l'(z, y)`` written out with numpy, overflow-free."""
    if loss == "logistic":
        return np.logaddexp(0, z) - y * z, expit(z) - y
    if loss == "poisson":
        return np.exp(z) - y * z, np.exp(z) - y
    r = z - y
    if loss == "squared":
        return 0.5 * r * r, r
    inside = np.abs(r) <= huber
    return (np.where(inside, 0.5 * r * r, huber * np.abs(r) - 0.5 * huber**2),
            np.clip(r, -huber, huber))  # fmt: skip


# the compiled sweep's inputs: dtype, row weights, predictor scale (300: the logistic
# loss at |z| ~ 1e3, where e^z overflows unless computed in the stable form), and the
# block's memory layout (a Fortran-ordered block is made C-contiguous first)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("scale", [0.3, 300.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["squared", "logistic", "poisson", "huber"])
def test_the_compiled_gradient_kernel_equals_numpy(loss, dtype, weighted, scale, order):
    """The ``K = 1`` losses' value and gradient over a dense block (one compiled read):
    numpy's closed forms in float64, intercept included, 1003 rows x 13 columns (not a
    multiple of the eight partial sums)."""
    import dlinalg.physical.glm as G

    rng = np.random.default_rng(11)
    x = np.asarray(rng.standard_normal((1003, 13)).astype(dtype), order=order)
    y = rng.integers(0, 2 if loss == "logistic" else 4, 1003).astype(float)
    s = rng.random(1003) if weighted else None
    scale = min(scale, 1.0) if loss == "poisson" else scale  # e^z overflows for large z
    W, b = scale * rng.standard_normal((13, 1)) / 10, np.array([0.4])
    X = x.astype(np.float64)
    z = X @ W[:, 0] + b[0]
    ell, d1 = _closed_form(loss, z, y)
    sw = np.ones(1003) if s is None else s
    value = G.glm_block(x, y, s, W, b, loss, 1.0, "value")
    grad = G.glm_block(x, y, s, W, b, loss, 1.0, "grad")
    assert value.atu.shape == (0,)
    assert grad.atu.shape == (14,)
    np.testing.assert_allclose(value.normsq, sw @ ell, rtol=1e-12)
    np.testing.assert_allclose(grad.normsq, sw @ ell, rtol=1e-12)
    np.testing.assert_allclose(grad.atu[:13], X.T @ (sw * d1), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(grad.atu[13], (sw * d1).sum(), rtol=1e-11, atol=1e-11)
    assert np.isfinite(grad.normsq)


def test_the_compiled_gradient_kernel_is_deterministic_and_propagates_nan():
    """The same block gives the same bits (a recomputed task after a lost worker), and
    a non-finite predictor gives a non-finite loss for the caller to refuse."""
    import dlinalg.physical.glm as G

    rng = np.random.default_rng(5)
    x = rng.standard_normal((500, 9))
    y = (rng.random(500) < 0.5).astype(float)
    W, b = rng.standard_normal((9, 1)), np.array([0.1])
    one, two = (G.glm_block(x.copy(), y, None, W, b, "logistic", 0.0, "grad") for _ in range(2))
    assert one.normsq == two.normsq
    assert np.array_equal(one.atu, two.atu)
    x[7, 3] = np.nan
    assert np.isnan(G.glm_block(x, y, None, W, b, "logistic", 0.0, "grad").normsq)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["logistic", "poisson", "huber"])
def test_the_tiled_hessian_kernel_equals_numpy(monkeypatch, loss, dtype):
    """Newton's exact pass is tiled like the gradient's: value, gradient and
    ``[x 1]^T diag(s l'') [x 1]`` are numpy's, uneven last tile, weights included."""
    import dlinalg.physical.glm as G

    rng = np.random.default_rng(4)
    x = rng.standard_normal((1000, 5)).astype(dtype)
    s = rng.random(1000)
    y = rng.integers(0, 2 if loss == "logistic" else 4, 1000).astype(float)
    W, b = 0.3 * rng.standard_normal((5, 1)), 0.1 * rng.standard_normal(1)
    whole = G.glm_block(x, y, s, W, b, loss, 1.0, "hess")
    monkeypatch.setattr(G, "TILE_BYTES", 8 * 5 * 96)  # 96-row tiles, the last one of 40
    assert G._tile_rows(x) == 96
    tiled = G.glm_block(x, y, s, W, b, loss, 1.0, "hess")
    np.testing.assert_allclose(tiled.normsq, whole.normsq, rtol=1e-12)
    np.testing.assert_allclose(tiled.atu, whole.atu, rtol=1e-12, atol=1e-12)
    X = x.astype(np.float64)
    z = X @ W[:, 0] + b[0]
    if loss == "logistic":
        d2 = expit(z) * (1 - expit(z))
    elif loss == "poisson":
        d2 = np.exp(z)
    else:
        d2 = (np.abs(z - y) <= 1.0).astype(float)
    H = (X * (s * d2)[:, None]).T @ X
    np.testing.assert_allclose(tiled.atu[6:31].reshape(5, 5), H, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tiled.atu[31:36], (s * d2) @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tiled.atu[36], (s * d2).sum(), rtol=1e-12)


# --- lost workers and killed processes (slow step) -------------------------------------------


KILLED = {
    "lbfgs": lambda A, y, cb: dl.lbfgs(A, y, l2=1e-3, gtol=1e-9, callback=cb),
    "owlqn": lambda A, y, cb: dl.lbfgs(A, y, l1=1e-3, gtol=1e-9, callback=cb),
    "newton": lambda A, y, cb: dl.newton_cg(A, y, l2=1e-3, callback=cb),
    "newton-cg": lambda A, y, cb: dl.newton_cg(A, y, l2=1e-3, hessian="cg", callback=cb),
    "proximal": lambda A, y, cb: dl.proximal_gradient(
        A, y, loss="logistic", prox=prox.l1(1e-3), tol=1e-9, callback=cb
    ),
}


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.parametrize("name", KILLED)
def test_worker_kill_mid_solve_gives_identical_iterates(fresh_cluster, kill_at_iteration, name):
    _, client = fresh_cluster
    X, _ = design((40_000, 20), None, np.float64, False)
    y = logistic_labels(X)
    with client.as_current():
        A = dl.from_array(X, chunks=2000).persist()
        want = KILLED[name](A, y, None)
        callback, victim = kill_at_iteration(client, at=3)
        got = KILLED[name](A, y, callback)
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    assert got.nit == want.nit
    np.testing.assert_array_equal(got.x, want.x)


_SCRIPT = """
import sys, time, json
import numpy as np, dask, dlinalg as dl
data = np.load(sys.argv[1])
slow = sys.argv[3] == "slow"
def callback(x):
    if slow:
        time.sleep(0.05)
with dask.config.set(scheduler="sync"):
    res = dl.{call}(dl.from_array(data["X"], chunks=100), data["y"], checkpoint=sys.argv[2],
                    callback=callback, **{kwargs})
np.save(sys.argv[2] + ".x.npy", res.x)
print(json.dumps({{"nit": res.nit, "status": res.status}}))
"""

KILLED_PROCESS = {
    "lbfgs": ("lbfgs", {"l2": 1e-4, "gtol": 1e-12, "ftol": 0.0, "maxiter": 400}),
    "owlqn": ("lbfgs", {"l1": 1e-4, "gtol": 1e-12, "ftol": 0.0, "maxiter": 400}),
    "proximal": ("proximal_gradient", {"loss": "logistic", "tol": 1e-14, "maxiter": 400}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", KILLED_PROCESS)
def test_process_killed_mid_solve_resumes_to_the_same_answer(tmp_path, name):
    """SIGKILL a real optimizer process after its first checkpoint; the rerun ends identically."""
    X, _ = design((1000, 30), None, np.float64, False)
    y = logistic_labels(X)
    np.savez(tmp_path / "problem.npz", X=X, y=y)
    call, kwargs = KILLED_PROCESS[name]
    script = tmp_path / "solve.py"
    script.write_text(textwrap.dedent(_SCRIPT.format(call=call, kwargs=kwargs)))
    ckpt = str(tmp_path / "state.npz")
    args = [sys.executable, str(script), str(tmp_path / "problem.npz"), ckpt]
    proc = subprocess.Popen([*args, "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "state.npz").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    time.sleep(0.3)  # a few more iterations, then a hard kill mid-solve
    proc.kill()
    proc.wait()
    assert not (tmp_path / "state.npz.x.npy").exists(), "the solve finished before the kill"
    out = subprocess.run([*args, "fast"], capture_output=True, text=True, check=True, timeout=300)
    resumed = json.loads(out.stdout.strip().splitlines()[-1])
    with dask.config.set(scheduler="sync"):
        full = getattr(dl, call)(dl.from_array(X, chunks=100), y, **kwargs)
    assert resumed["nit"] == full.nit
    np.testing.assert_array_equal(np.load(ckpt + ".x.npy"), full.x)


# --- linear programs: TFOCS's smoothed conic dual against HiGHS ------------------------------


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow),
                                  pytest.param(2, marks=pytest.mark.slow)])  # fmt: skip
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_linprog_equals_highs(seed, sparse):
    rng = np.random.default_rng(seed)
    m, n = 30, 80
    A = rng.standard_normal((m, n))
    if sparse:
        A = sp.csr_array(A * (rng.random((m, n)) < 0.5))
    b = A @ np.maximum(rng.standard_normal(n), 0)  # feasible
    c = rng.random(n) + 0.1  # bounded below
    want = so.linprog(c, A_eq=A, b_eq=b, method="highs")
    got = dl.linprog(c, dl.from_array(A, chunks=7), b)
    assert got.success, got.message
    np.testing.assert_allclose(got.fun, want.fun, rtol=1e-6)
    np.testing.assert_allclose(got.x, want.x, atol=1e-4)  # a first-order method's accuracy
    np.testing.assert_allclose(got.dual, want.eqlin.marginals, atol=1e-4)
    assert (got.x >= 0).all()
    assert np.linalg.norm(got.con) <= 1e-6 * np.linalg.norm(b)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"c": np.ones(3)}, ShapeError, "c has 3 entries"),
        ({"b_eq": np.ones(5)}, ShapeError, "b_eq has 5 entries"),
        ({"c": np.array([1.0, np.nan, 0, 0])}, NonFiniteError, "c contains NaN"),
        ({"mu": 0.0}, ParameterError, "mu must be a finite number > 0"),
        ({"continuations": 0}, ParameterError, "continuations must be an integer >= 1"),
        ({"tol": -1.0}, ParameterError, "tol must be a finite number >= 0"),
    ],
)
def test_linprog_bad_input(kwargs, error, match, monkeypatch):
    from dlinalg.solvers import _operator

    monkeypatch.setattr(_operator.RowOperator, "__init__", _no_pass)
    args = {"c": np.ones(4), "A_eq": np.ones((2, 4)), "b_eq": np.ones(2), **kwargs}
    with pytest.raises(error, match=match):
        dl.linprog(args.pop("c"), args.pop("A_eq"), args.pop("b_eq"), **args)


def test_a_dask_y_and_weights_are_checked_before_any_pass(monkeypatch):
    """A lazy y or weight is computed alone (never with A) and refused like an in-memory one."""
    from dlinalg.solvers import _operator

    monkeypatch.setattr(_operator.RowOperator, "__init__", _no_pass)
    with pytest.raises(ValueError, match=r"targets 0 or 1, got \[2.0\]"):
        dl.lbfgs(X_OK, da.from_array(np.array([0, 1, 2, 1, 0, 1.0]), chunks=2))
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        dl.lbfgs(X_OK, Y01, sample_weight=da.from_array(-np.ones(6), chunks=3))
    with pytest.raises(NonFiniteError, match="y contains NaN"):
        dl.lbfgs(X_OK, da.from_array(np.array([0, 1, np.nan, 1, 0, 1.0]), chunks=3))
