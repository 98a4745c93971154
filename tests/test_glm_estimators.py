"""LogisticRegression, PoissonRegressor, Lasso and ElasticNet against scikit-learn.

Truth: scikit-learn's own estimator on the dense float64 data (the float32
input's values, widened) with ``tol=1e-12`` (``saga`` for L1 logistic
penalties, ``newton-cholesky`` for Poisson). Our fits run with tight
tolerances too, and must agree within ``RTOL = 1e-6`` normwise relative (the
issue's bound) in coef_ and intercept_, and within 1e-9 relative in the
objective. The lasso and elastic net run scikit-learn's own coordinate
descent on a Gram from one pass, so they agree to rounding (1e-10 asserted).
Float32 input is computed in float64 and rounded once.
"""

from __future__ import annotations

import pickle
import warnings

import dask
import dask.array as da
import dlinalg.models.linear_model._coordinate_descent as cdmod
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
from dlinalg.models import ElasticNet, Lasso, LogisticRegression, PoissonRegressor
from dlinalg.models.linear_model import enet_path, lasso_path
from scipy.special import logsumexp
from sklearn import linear_model as sk
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

import dlinalg as dl

RTOL = 1e-6  # the bound on coefficients (scikit-learn's own truth is ~1e-8)
OBJ_RTOL = 1e-9  # the bound on the objective
CD_RTOL = 1e-10  # the Gram path runs scikit-learn's coordinate descent: rounding only
TIGHT = {"tol": 1e-12, "max_iter": 10000}

# ------------------------------------------------------------------ data and chunkings

RNG = np.random.default_rng(7)
X43 = RNG.standard_normal((43, 6)) + np.array([0.0, 1.0, -1.0, 0.5, 0.0, 2.0])
X43[RNG.random((43, 6)) < 0.3] = 0.0  # ~30% zeros: a real sparse pattern
W_TRUE = np.array([1.0, -0.5, 0.8, 0.0, -1.2, 0.3])
Y_BIN = np.where(X43 @ W_TRUE + 0.7 * RNG.standard_normal(43) > 0.3, "yes", "no")
Y_MULTI = np.argmax(X43 @ RNG.standard_normal((6, 3)) + RNG.standard_normal((43, 3)), axis=1) + 10
Y_REG = X43 @ W_TRUE + 2.0 + 0.3 * RNG.standard_normal(43)
Y_COUNT = RNG.poisson(np.exp(0.3 * X43 @ W_TRUE)).astype(np.float64)
SW = RNG.uniform(0.5, 2.0, 43)

# (rows, chunks): how X arrives
CHUNKINGS = [
    pytest.param(40, "numpy", id="in-memory"),  # scikit-learn's validation, no DRM given
    pytest.param(40, 40, id="40x6-one-chunk"),  # a DRM of one row block
    pytest.param(40, 10, id="40x6-chunks-10"),  # four even row blocks
    pytest.param(43, 10, id="43x6-uneven"),  # 10, 10, 10, 10, 3
    pytest.param(43, "dask-cols", id="dask-column-chunks"),  # dask array, (10, 3) chunks
]
#: Where the whole table would only repeat the same code path: one DRM and in-memory.
SHORT_CHUNKINGS = [CHUNKINGS[0], CHUNKINGS[3]]
DTYPES = [np.float64, np.float32]
SPARSE = pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])


def make_X(m: int, chunks, sparse: bool, dtype) -> tuple:
    """The input in the requested form, and the float64 data it holds (the truth's X)."""
    Xd = X43[:m].astype(dtype)
    truth = Xd.astype(np.float64)
    data = sp.csr_array(Xd) if sparse else Xd
    if chunks == "numpy":
        return data, truth
    if chunks == "dask-cols":
        if sparse:
            pytest.skip("dask arrays of scipy.sparse blocks are not an input dlinalg reads")
        return da.from_array(Xd, chunks=(10, 3)), truth
    return dl.from_array(data, chunks=chunks), truth


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def tol_for(dtype) -> float:
    return RTOL if dtype == np.float64 else max(RTOL, 4 * np.finfo(np.float32).eps)


def values(out) -> np.ndarray:
    if isinstance(out, xr.DataArray):
        out = out.data
    if isinstance(out, da.Array | dl.DRM | dl.LazyResult):
        out = out.compute()
    return np.asarray(out)


# ------------------------------------------------------------------ objectives (scikit-learn's)


def logistic_objective(X, y, coef, intercept, classes, sw, C, l1_ratio) -> float:
    s = np.ones(len(y)) if sw is None else sw
    Z = X @ np.asarray(coef, dtype=np.float64).T + intercept
    if len(classes) == 2:
        t = (y == classes[1]).astype(float)
        loss = np.logaddexp(0, Z[:, 0]) - t * Z[:, 0]
    else:
        idx = np.searchsorted(classes, y)
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), idx]
    W = np.asarray(coef, dtype=np.float64)
    pen = (1 - l1_ratio) / 2 * np.sum(W * W) + l1_ratio * np.abs(W).sum()
    return float(s @ loss / s.sum() + pen / (C * s.sum()))


def enet_objective(X, y, coef, intercept, sw, alpha, l1_ratio) -> float:
    s = np.ones(len(y)) if sw is None else sw
    r = y - X @ coef - intercept
    pen = alpha * l1_ratio * np.abs(coef).sum() + 0.5 * alpha * (1 - l1_ratio) * coef @ coef
    return float(0.5 * (s @ (r * r)) / s.sum() + pen)


def poisson_objective(X, y, coef, intercept, sw, alpha) -> float:
    s = np.ones(len(y)) if sw is None else sw
    z = X @ coef + intercept
    return float(s @ (np.exp(z) - y * z) / s.sum() + 0.5 * alpha * coef @ coef)


# ------------------------------------------------------------------ LogisticRegression

LOGISTIC_CASES = [
    # binary, L2: "auto" is L-BFGS (scikit-learn's default); labels are strings
    pytest.param("bin", {"C": 0.5}, None, id="binary-l2-lbfgs"),
    # multinomial, L2, weighted and class-weighted: L-BFGS
    pytest.param("multi", {"C": 2.0, "class_weight": "balanced"}, SW, id="multi-l2-lbfgs"),
]
#: Cases run on the short table only (the solvers are the same; the whole table is slow).
LOGISTIC_MORE = [
    # binary, elastic net: OWL-QN (truth: saga)
    pytest.param("bin", {"C": 1.0, "l1_ratio": 0.5}, SW, id="binary-enet-owlqn"),
    # multinomial, L1: OWL-QN (truth: saga)
    pytest.param("multi", {"C": 2.0, "l1_ratio": 1.0}, None, id="multi-l1-owlqn"),
]


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("dtype", DTYPES)
@SPARSE
@pytest.mark.parametrize(("kind", "params", "sw"), LOGISTIC_CASES)
def test_logistic_matches_sklearn(kind, params, sw, sparse, dtype, m, chunks):
    check_logistic(kind, params, sw, sparse, dtype, m, chunks)


@pytest.mark.parametrize(("m", "chunks"), SHORT_CHUNKINGS)
@SPARSE
@pytest.mark.parametrize(("kind", "params", "sw"), LOGISTIC_MORE)
def test_logistic_l1_matches_sklearn(kind, params, sw, sparse, m, chunks):
    check_logistic(kind, params, sw, sparse, np.float64, m, chunks)


def check_logistic(kind, params, sw, sparse, dtype, m, chunks):
    data, Xt = make_X(m, chunks, sparse, dtype)
    y = (Y_BIN if kind == "bin" else Y_MULTI)[:m]
    s = None if sw is None else sw[:m]
    ours = LogisticRegression(**params, **TIGHT).fit(data, y, sample_weight=s)
    solver = "saga" if params.get("l1_ratio", 0) > 0 else "newton-cholesky"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # saga stops on max_iter
        truth = sk.LogisticRegression(**params, solver=solver, tol=1e-14, max_iter=100000)
        truth.fit(Xt, y, sample_weight=s)
    np.testing.assert_array_equal(ours.classes_, truth.classes_)
    assert ours.coef_.shape == truth.coef_.shape
    assert ours.intercept_.shape == truth.intercept_.shape
    assert ours.coef_.dtype == dtype
    assert ours.n_iter_.shape == (1,)
    tol = tol_for(dtype) * (10 if solver == "saga" else 1)  # saga's own accuracy
    assert rel(ours.coef_, truth.coef_) <= tol
    assert rel(ours.intercept_, truth.intercept_) <= tol
    ratio = params.get("l1_ratio", 0.0)
    weights = s
    if "class_weight" in params:
        from sklearn.utils.class_weight import compute_class_weight

        cw = compute_class_weight("balanced", classes=truth.classes_, y=y, sample_weight=s)
        weights = s * cw[np.searchsorted(truth.classes_, y)]
    args = (Xt, y, ours.classes_, weights, params["C"], ratio)
    f_ours = logistic_objective(Xt, y, ours.coef_, ours.intercept_, *args[2:])
    f_true = logistic_objective(Xt, y, truth.coef_, truth.intercept_, *args[2:])
    assert f_ours <= f_true * (1 + OBJ_RTOL) + (1e-7 if dtype == np.float32 else 0)
    # predictions, in the caller's type
    Xq = X43[:5].astype(dtype)
    for method in ("predict", "predict_proba", "decision_function", "predict_log_proba"):
        got, want = getattr(ours, method)(Xq), getattr(truth, method)(Xq.astype(np.float64))
        if method == "predict":
            np.testing.assert_array_equal(got, want)
        else:
            slack = 100 if solver == "saga" else 1  # saga's coefficients are the looser
            np.testing.assert_allclose(got, want, rtol=1e-5 * slack, atol=1e-6 * slack)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky", "saga"])
def test_logistic_solvers_agree(solver):
    truth = sk.LogisticRegression(tol=1e-14, max_iter=10000).fit(X43, Y_MULTI)
    ours = LogisticRegression(solver=solver, **TIGHT).fit(dl.from_array(X43, chunks=10), Y_MULTI)
    assert rel(ours.coef_, truth.coef_) <= RTOL
    assert rel(ours.intercept_, truth.intercept_) <= RTOL


def test_logistic_penalty_spellings():
    """penalty="auto" reads l1_ratio and C as scikit-learn 1.8+; explicit penalties as before."""
    A = dl.from_array(X43, chunks=10)
    none = LogisticRegression(penalty=None, C=0.01, **TIGHT).fit(A, Y_BIN)
    inf = LogisticRegression(C=np.inf, **TIGHT).fit(A, Y_BIN)
    assert rel(none.coef_, inf.coef_) <= RTOL
    l1 = LogisticRegression(penalty="l1", C=0.5, **TIGHT).fit(A, Y_BIN)
    r1 = LogisticRegression(l1_ratio=1.0, C=0.5, **TIGHT).fit(A, Y_BIN)
    np.testing.assert_array_equal(l1.coef_, r1.coef_)
    assert (l1.coef_ == 0).any()  # L1 gives exact zeros (OWL-QN's orthant projection)
    enet = LogisticRegression(penalty="elasticnet", l1_ratio=0.3, **TIGHT).fit(A, Y_BIN)
    auto = LogisticRegression(l1_ratio=0.3, **TIGHT).fit(A, Y_BIN)
    np.testing.assert_array_equal(enet.coef_, auto.coef_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning of ours
        LogisticRegression(penalty="l2").fit(X43, Y_BIN)


def test_logistic_lazy_and_labeled_outputs():
    clf = LogisticRegression(**TIGHT).fit(X43, Y_MULTI)
    dense = clf.predict_proba(X43)
    lazy = clf.predict_proba(dl.from_array(X43, chunks=10))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), dense, rtol=1e-12)
    pred = clf.predict(da.from_array(X43, chunks=(10, 3)))
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), clf.predict(X43))
    Xx = xr.DataArray(X43, dims=("sample", "feature"), coords={"sample": np.arange(43) * 2})
    out = clf.predict_proba(Xx)
    assert out.dims == ("sample", "class")
    assert list(out["class"].values) == [10, 11, 12]
    np.testing.assert_allclose(out.values, dense, rtol=1e-12)
    assert clf.score(dl.from_array(X43, chunks=10), Y_MULTI) == clf.score(X43, Y_MULTI)


def test_logistic_class_weight_is_sample_weight():
    """Ported from scikit-learn's test_logistic_regression_sample_weights."""
    cw = {"no": 1.0, "yes": 3.0}
    a = LogisticRegression(class_weight=cw, **TIGHT).fit(X43, Y_BIN)
    b = LogisticRegression(**TIGHT).fit(X43, Y_BIN, sample_weight=np.where(Y_BIN == "yes", 3, 1))
    assert rel(a.coef_, b.coef_) <= 1e-10


def test_logistic_iris():
    """Ported from scikit-learn's test_predict_iris: multinomial on three classes."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = LogisticRegression(C=len(X), **TIGHT).fit(dl.from_array(X, chunks=40), names)
    assert np.mean(clf.predict(X) == names) > 0.95
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_logistic_warm_start_and_convergence_warning():
    A = dl.from_array(X43, chunks=10)
    with pytest.warns(ConvergenceWarning, match="failed to converge after 2"):
        clf = LogisticRegression(solver="lbfgs", max_iter=2, tol=1e-12, warm_start=True).fit(
            A, Y_MULTI
        )
    clf.set_params(max_iter=1000)
    clf.fit(A, Y_MULTI)
    cold = LogisticRegression(solver="lbfgs", **TIGHT).fit(A, Y_MULTI)
    assert rel(clf.coef_, cold.coef_) <= RTOL


# ------------------------------------------------------------------ Lasso and ElasticNet

ENET_CASES = [
    pytest.param(Lasso, {"alpha": 0.05}, None, id="lasso"),
    pytest.param(ElasticNet, {"alpha": 0.1, "l1_ratio": 0.3}, SW, id="enet-weighted"),
]
ENET_MORE = [
    pytest.param(Lasso, {"alpha": 0.02, "positive": True}, SW, id="lasso-positive-weighted"),
    pytest.param(ElasticNet, {"alpha": 0.1, "fit_intercept": False}, None, id="enet-no-intercept"),
]


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("dtype", DTYPES)
@SPARSE
@pytest.mark.parametrize(("cls", "params", "sw"), ENET_CASES)
def test_enet_matches_sklearn(cls, params, sw, sparse, dtype, m, chunks):
    check_enet(cls, params, sw, sparse, dtype, m, chunks)


@pytest.mark.parametrize(("m", "chunks"), SHORT_CHUNKINGS)
@pytest.mark.parametrize("dtype", DTYPES)
@SPARSE
@pytest.mark.parametrize(("cls", "params", "sw"), ENET_MORE)
def test_enet_options_match_sklearn(cls, params, sw, sparse, dtype, m, chunks):
    check_enet(cls, params, sw, sparse, dtype, m, chunks)


def check_enet(cls, params, sw, sparse, dtype, m, chunks):
    data, Xt = make_X(m, chunks, sparse, dtype)
    y, s = Y_REG[:m], (None if sw is None else sw[:m])
    ours = cls(**params, **TIGHT).fit(data, y, sample_weight=s)
    truth = getattr(sk, cls.__name__)(**params, **TIGHT).fit(Xt, y, sample_weight=s)
    tol = CD_RTOL if dtype == np.float64 else tol_for(dtype)
    assert ours.coef_.dtype == dtype
    assert ours.coef_.shape == (6,)
    assert rel(ours.coef_, truth.coef_) <= tol
    assert abs(ours.intercept_ - truth.intercept_) <= tol * max(1.0, abs(truth.intercept_))
    assert ours.n_iter_ == truth.n_iter_ or dtype == np.float32
    r = 1.0 if cls is Lasso else params.get("l1_ratio", 0.5)
    c64 = ours.coef_.astype(np.float64)
    f_ours = enet_objective(Xt, y, c64, ours.intercept_, s, params["alpha"], r)
    f_true = enet_objective(Xt, y, truth.coef_, truth.intercept_, s, params["alpha"], r)
    assert abs(f_ours - f_true) <= OBJ_RTOL * f_true or dtype == np.float32
    np.testing.assert_allclose(ours.predict(X43[:5]), truth.predict(X43[:5]), rtol=1e-5)


def test_enet_wide_fallback_is_proximal_gradient(monkeypatch):
    """Beyond the Gram bound, TFOCS's proximal gradient reaches the same minimiser."""
    monkeypatch.setattr(cdmod, "GRAM_MAX_FEATURES", 2)
    A = dl.from_array(X43, chunks=10)
    for est in (ElasticNet(alpha=0.1, l1_ratio=0.4), Lasso(alpha=0.05, positive=True)):
        est.set_params(tol=1e-10, max_iter=5000)  # TFOCS: relative step 1e-10
        ours = est.fit(A, Y_REG, sample_weight=SW)
        kw = {k: v for k, v in est.get_params().items() if k in ("alpha", "l1_ratio", "positive")}
        truth = getattr(sk, type(est).__name__)(**kw, **TIGHT).fit(X43, Y_REG, sample_weight=SW)
        assert np.isnan(ours.dual_gap_)
        assert rel(ours.coef_, truth.coef_) <= RTOL
        assert abs(ours.intercept_ - truth.intercept_) <= RTOL * abs(truth.intercept_)


def test_enet_two_targets_and_lazy_predict():
    Y2 = np.column_stack([Y_REG, 2 * Y_REG - 1])
    ours = ElasticNet(alpha=0.1, **TIGHT).fit(dl.from_array(X43, chunks=10), Y2)
    truth = sk.ElasticNet(alpha=0.1, **TIGHT).fit(X43, Y2)
    assert ours.coef_.shape == (2, 6)
    assert ours.intercept_.shape == (2,)
    assert rel(ours.coef_, truth.coef_) <= CD_RTOL
    pred = ours.predict(da.from_array(X43, chunks=(10, 3)))
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), truth.predict(X43), rtol=1e-10)
    assert ours.sparse_coef_.shape == (2, 6)


def test_lasso_toy():
    """scikit-learn's test_lasso_toy, on a DRM."""
    X, Y, T = [[-1.0], [0.0], [1.0]], [-1.0, 0.0, 1.0], [[2.0], [3.0], [4.0]]
    for alpha, coef, pred in [
        (1e-8, [1.0], [2, 3, 4]),
        (0.1, [0.85], [1.7, 2.55, 3.4]),
        (0.5, [0.25], [0.5, 0.75, 1.0]),
        (1.0, [0.0], [0, 0, 0]),
    ]:
        clf = Lasso(alpha=alpha).fit(dl.from_array(np.array(X), chunks=2), Y)
        np.testing.assert_array_almost_equal(clf.coef_, coef)
        np.testing.assert_array_almost_equal(clf.predict(T), pred)
        assert clf.dual_gap_ == pytest.approx(0, abs=1e-7)


def test_enet_toy():
    """scikit-learn's test_enet_toy."""
    X, Y, T = np.array([[-1.0], [0.0], [1.0]]), [-1.0, 0.0, 1.0], [[2.0], [3.0], [4.0]]
    clf = ElasticNet(alpha=0.5, l1_ratio=0.3, max_iter=100).fit(X, Y)
    np.testing.assert_array_almost_equal(clf.coef_, [0.50819], decimal=3)
    np.testing.assert_array_almost_equal(clf.predict(T), [1.0163, 1.5245, 2.0327], decimal=3)
    clf = ElasticNet(alpha=0.5, l1_ratio=0.5).fit(X, Y)
    np.testing.assert_array_almost_equal(clf.coef_, [0.45454], 3)
    np.testing.assert_array_almost_equal(clf.predict(T), [0.9090, 1.3636, 1.8181], 3)


def test_enet_warm_start_and_alpha_zero_warning():
    A = dl.from_array(X43, chunks=10)
    est = ElasticNet(alpha=0.1, warm_start=True, **TIGHT).fit(A, Y_REG)
    first = est.n_iter_
    est.fit(A, Y_REG)
    assert est.n_iter_ < first  # started at the solution
    with pytest.warns(UserWarning, match="alpha=0"):
        Lasso(alpha=0.0, max_iter=50).fit(X43, Y_REG)


# --- warm starts reuse the moments: a loop over alphas reads X once

_READS: list[int] = []


def _counted(block):
    _READS.append(block.shape[0])  # synchronous scheduler: one thread
    return block


def counted(X: np.ndarray) -> da.Array:
    """X as a Dask array (row blocks of 10) whose block reads land in ``_READS``."""
    return da.from_array(X, chunks=(10, X.shape[1])).map_blocks(_counted, dtype=X.dtype)


def reads(est, X, y, **kw) -> int:
    """The number of blocks of X that ``est.fit(X, y, **kw)`` reads."""
    _READS.clear()
    with dask.config.set(scheduler="synchronous"):
        est.fit(X, y, **kw)
    return len(_READS)


def fitted(est) -> tuple:
    return est.coef_, est.intercept_, est.dual_gap_, est.n_iter_


def same_fit(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(fitted(a), fitted(b), strict=True))


@pytest.mark.parametrize(
    ("est", "y", "sw"),
    [
        pytest.param(Lasso(), Y_REG, None, id="lasso"),  # Chan's pairwise moments
        pytest.param(ElasticNet(l1_ratio=0.3), Y_REG, SW, id="enet-weighted"),  # [X 1 Y]'s Gram
        pytest.param(ElasticNet(), np.c_[Y_REG, 2 * Y_REG], None, id="two-targets"),
        pytest.param(Lasso(fit_intercept=False, positive=True), Y_REG, SW, id="positive"),
    ],
)
def test_warm_started_fits_read_X_once_and_give_the_same_bits(est, y, sw):
    """A warm-started path over alphas: X read by the first fit only; every fit's
    coefficients bit-identical to the same warm-started fit without the cache."""
    A = counted(X43)
    est = est.set_params(warm_start=True)
    fresh = clone(est)
    passes = []
    for alpha in (0.2, 0.05, 0.01):
        passes.append(reads(est.set_params(alpha=alpha), A, y, sample_weight=sw))
        fresh.__dict__.pop("_moments_cache", None)  # the uncached fit, same warm start
        reads(fresh.set_params(alpha=alpha), A, y, sample_weight=sw)
        assert same_fit(est, fresh), alpha
    assert passes == [5, 0, 0]  # 43 rows, blocks of 10: one pass, then none


def test_changed_inputs_read_X_again():
    """Another X, y, sample_weight, fit_intercept or dtype is another set of moments."""
    A, est = counted(X43), Lasso(alpha=0.05, warm_start=True)
    assert reads(est, A, Y_REG) == 5
    assert reads(est, A, Y_REG) == 0
    assert reads(est, counted(X43 * 2.0), Y_REG) == 5  # another X (another graph name)
    assert reads(est, A, Y_REG) == 5  # one entry only: back to the first X is a pass
    assert reads(est, A, Y_REG + 1.0) == 5  # another y
    assert reads(est, A, Y_REG + 1.0, sample_weight=SW) == 5  # weights
    assert reads(est, A, Y_REG + 1.0, sample_weight=2 * SW) == 5  # other weights
    assert reads(est, A, Y_REG + 1.0, sample_weight=2 * SW) == 0
    assert reads(est.set_params(fit_intercept=False), A, Y_REG + 1.0, sample_weight=2 * SW) == 5
    assert reads(est, counted(X43.astype(np.float32)), Y_REG + 1.0, sample_weight=2 * SW) == 5
    assert reads(est, A, Y_REG, sample_weight=2 * SW) == 5
    assert reads(est.set_params(tol=1e-6, selection="random", random_state=0), A, Y_REG,
                 sample_weight=2 * SW) == 0  # fmt: skip  # not in the moments
    with dask.config.set({"dlinalg.split-every": 2}):  # another reduction tree: other bits
        assert reads(est, A, Y_REG, sample_weight=2 * SW) == 5


def test_only_warm_starts_keep_moments_and_within_the_bound(monkeypatch):
    A = counted(X43)
    cold = Lasso(alpha=0.05)
    assert [reads(cold, A, Y_REG) for _ in range(2)] == [5, 5]
    assert not hasattr(cold, "_moments_cache")
    warm = Lasso(alpha=0.05, warm_start=True)
    assert reads(warm, A, Y_REG) == 5
    assert reads(warm.set_params(warm_start=False), A, Y_REG) == 5  # and forgets them
    assert not hasattr(warm, "_moments_cache")
    size = Lasso(warm_start=True).fit(A, Y_REG)._moments_cache[1].nbytes
    assert size >= 7 * 7 * 8  # at least the Gram of [X y]
    monkeypatch.setattr(cdmod, "MOMENTS_CACHE_BYTES", size - 1)
    warm = Lasso(alpha=0.05, warm_start=True)
    assert [reads(warm, A, Y_REG) for _ in range(2)] == [5, 5]
    monkeypatch.setattr(cdmod, "MOMENTS_CACHE_BYTES", size)
    assert [reads(warm, A, Y_REG) for _ in range(2)] == [5, 0]
    monkeypatch.setattr(cdmod, "GRAM_MAX_FEATURES", 2)  # proximal gradient: no moments
    reads(warm.set_params(tol=1e-6), A, Y_REG)
    assert not hasattr(warm, "_moments_cache")


def test_in_memory_X_is_known_by_its_bytes():
    """numpy X: the second fit computes nothing; the same array changed in place is new."""
    from tests.test_models_linear import count_computes

    X = X43.copy()
    est = ElasticNet(alpha=0.1, warm_start=True).fit(X, Y_REG)
    with count_computes() as calls:
        est.set_params(alpha=0.05).fit(X, Y_REG)
    assert calls == [0]
    cached = est.coef_
    X[0, 0] += 1.0
    with count_computes() as calls:
        est.fit(X, Y_REG)
    assert calls[0] > 0
    assert not np.array_equal(est.coef_, cached)


def test_the_cache_is_not_part_of_the_model():
    """clone and pickle drop the moments; the estimator pickles and predicts as before."""
    est = Lasso(alpha=0.05, warm_start=True).fit(dl.from_array(X43, chunks=10), Y_REG)
    assert est._moments_cache[1].Gxx.shape == (6, 6)
    assert not est._moments_cache[1].Gxx.flags.writeable  # handed out again: read-only
    assert not hasattr(clone(est), "_moments_cache")
    again = pickle.loads(pickle.dumps(est))
    assert not hasattr(again, "_moments_cache")
    assert hasattr(est, "_moments_cache")  # pickling did not drop it from the original
    np.testing.assert_array_equal(again.predict(X43), est.predict(X43))
    assert "_moments_cache" not in est.get_params()


def test_paths_match_sklearn():
    """A whole path from one pass equals scikit-learn's enet_path on centred data."""
    Xc, yc = X43 - X43.mean(0), Y_REG - Y_REG.mean()
    A = dl.from_array(X43, chunks=10)
    grid = np.geomspace(1.0, 1e-3, 8)
    for ours, theirs in [
        (enet_path(A, Y_REG, l1_ratio=0.5, alphas=grid, tol=1e-12),
         sk.enet_path(Xc, yc, l1_ratio=0.5, alphas=grid, tol=1e-12)),
        (lasso_path(A, Y_REG, alphas=grid, tol=1e-12),
         sk.lasso_path(Xc, yc, alphas=grid, tol=1e-12)),
    ]:  # fmt: skip
        np.testing.assert_allclose(ours[0], theirs[0])
        assert rel(ours[1], theirs[1]) <= CD_RTOL
    alphas, coefs, _ = lasso_path(A, Y_REG, n_alphas=5)
    assert alphas.shape == (5,)
    assert np.all(coefs[:, 0] == 0)
    assert np.any(coefs[:, 1] != 0)


# ------------------------------------------------------------------ PoissonRegressor


@pytest.mark.parametrize(("m", "chunks"), CHUNKINGS)
@pytest.mark.parametrize("dtype", DTYPES)
@SPARSE
def test_poisson_matches_sklearn(sparse, dtype, m, chunks):
    check_poisson("lbfgs", sparse, dtype, m, chunks)


@pytest.mark.parametrize(("m", "chunks"), SHORT_CHUNKINGS)
@SPARSE
def test_poisson_newton_matches_sklearn(sparse, m, chunks):
    check_poisson("newton-cholesky", sparse, np.float64, m, chunks)


def check_poisson(solver, sparse, dtype, m, chunks):
    data, Xt = make_X(m, chunks, sparse, dtype)
    y, s = Y_COUNT[:m], SW[:m]
    ours = PoissonRegressor(alpha=0.1, solver=solver, tol=1e-12, max_iter=1000)
    ours.fit(data, y, sample_weight=s)
    truth = sk.PoissonRegressor(alpha=0.1, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    truth.fit(Xt, y, sample_weight=s)
    tol = tol_for(dtype)
    assert ours.coef_.dtype == dtype
    assert isinstance(ours.intercept_, float)
    assert rel(ours.coef_, truth.coef_) <= tol
    assert abs(ours.intercept_ - truth.intercept_) <= tol * max(1.0, abs(truth.intercept_))
    f_ours = poisson_objective(Xt, y, ours.coef_.astype(float), ours.intercept_, s, 0.1)
    f_true = poisson_objective(Xt, y, truth.coef_, truth.intercept_, s, 0.1)
    assert abs(f_ours - f_true) <= OBJ_RTOL * abs(f_true) or dtype == np.float32
    assert ours.score(Xt, y) == pytest.approx(truth.score(Xt, y), rel=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_poisson_glmnet(solver):
    """scikit-learn's test_poisson_glmnet: glmnet's answer (R), on a DRM."""
    X = np.array([[-2, -1, 1, 2], [0, 0, 1, 1]], dtype=float).T
    y = np.array([0, 1, 1, 2])
    glm = PoissonRegressor(alpha=1, tol=1e-7, max_iter=300, solver=solver)
    glm.fit(dl.from_array(X, chunks=3), y)
    np.testing.assert_allclose(glm.intercept_, -0.12889386979, rtol=1e-5)
    np.testing.assert_allclose(glm.coef_, [0.29019207995, 0.03741173122], rtol=1e-5)
    pred = glm.predict(dl.from_array(X, chunks=3))
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), np.exp(X @ glm.coef_ + glm.intercept_))


# ------------------------------------------------------------------ on a LocalCluster


def test_fits_on_the_cluster(scheduler):
    """The same numbers on the synchronous scheduler and on a 2-worker LocalCluster."""
    A = dl.from_array(X43, chunks=10)
    clf = LogisticRegression(tol=1e-10).fit(A, Y_BIN, sample_weight=SW)  # exact Newton
    lasso = Lasso(alpha=0.05, **TIGHT).fit(A, Y_REG, sample_weight=SW)  # one pass
    pois = PoissonRegressor(alpha=0.1, tol=1e-10, solver="newton-cholesky").fit(A, Y_COUNT)
    truth = sk.LogisticRegression(tol=1e-14, solver="newton-cholesky")
    truth.fit(X43, Y_BIN, sample_weight=SW)
    assert rel(clf.coef_, truth.coef_) <= RTOL
    lt = sk.Lasso(alpha=0.05, **TIGHT).fit(X43, Y_REG, sample_weight=SW)
    assert rel(lasso.coef_, lt.coef_) <= CD_RTOL
    pt = sk.PoissonRegressor(alpha=0.1, tol=1e-12, solver="newton-cholesky").fit(X43, Y_COUNT)
    assert rel(pois.coef_, pt.coef_) <= RTOL
    np.testing.assert_array_equal(values(clf.predict(A)), truth.predict(X43))


def test_xarray_and_dask_targets():
    """A labeled X records feature names; a Dask y (and weights) is read into memory once."""
    names = [f"f{j}" for j in range(6)]
    Xx = xr.DataArray(X43, dims=("sample", "feature"), coords={"feature": names})
    yd, swd = da.from_array(Y_REG, chunks=10), da.from_array(SW, chunks=10)
    ours = ElasticNet(alpha=0.1, **TIGHT).fit(Xx, yd, sample_weight=swd)
    truth = sk.ElasticNet(alpha=0.1, **TIGHT).fit(X43, Y_REG, sample_weight=SW)
    assert list(ours.feature_names_in_) == names
    assert rel(ours.coef_, truth.coef_) <= CD_RTOL
    pred = ours.predict(Xx)
    assert isinstance(pred, xr.DataArray)
    assert pred.dims == ("sample",)
    np.testing.assert_allclose(pred.values, truth.predict(X43), rtol=1e-10)
    clf = LogisticRegression(**TIGHT).fit(Xx, da.from_array(Y_BIN, chunks=10))
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.score(Xx, Y_BIN) == np.mean(values(clf.predict(Xx)) == Y_BIN)
