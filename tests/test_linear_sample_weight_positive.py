"""``sample_weight`` and ``positive=True`` of dlinalg.models.LinearRegression and Ridge (issue 16).

The truth is scikit-learn's LinearRegression and Ridge with the same
parameters and weights, fitted on the dense float64 data (scikit-learn's
sparse paths are iterative, ``tol``-limited, and its positive LinearRegression
refuses sparse X), within ``RTOL = 1e-6`` normwise relative as the issue asks.
scikit-learn's positive Ridge is L-BFGS-B, itself only as accurate as its
``tol``; so positive fits are also checked against an exact NNLS of the
augmented problem ``[sqrt(w) Xc; sqrt(alpha) I] b = [sqrt(w) yc; 0]``
(:func:`scipy.optimize.nnls` on the full data), within ``RTOL_EXACT``.
float32 X is computed in float64 and rounded once (as the existing tests have
it): the truth rounded to float32, ``RTOL32``.
"""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import scipy.optimize as sopt
import scipy.sparse as sp
import xarray as xr
from dlinalg.models import LinearRegression, Ridge
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import Ridge as SkRidge

import dlinalg as dl

RTOL = 1e-6  # the issue's: against scikit-learn
RTOL_EXACT = 1e-9  # against an exact NNLS of the full weighted problem (cond(X) = 10)
RTOL32 = 2.0**-22  # float32 out: the float64 result rounded (plus the truth's own error)
ALPHA = 3.0
M, N, T = 203, 6, 3


# ------------------------------------------------------------------ data


def _with_spectrum(m: int, spectrum: np.ndarray, seed: int, offset: float) -> np.ndarray:
    """m x n data whose centred matrix has exactly these singular values."""
    rng = np.random.default_rng(seed)
    n = spectrum.size
    G = rng.standard_normal((m, n))
    U = np.linalg.qr(G - G.mean(axis=0))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (U * spectrum) @ V.T + offset * rng.uniform(0.5, 1.5, n)


def _targets(X: np.ndarray, seed: int) -> np.ndarray:
    """Three targets of mixed-sign coefficients (so positive=True has active bounds)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((T, X.shape[1]))
    W[:, ::2] = np.abs(W[:, ::2])
    W[:, 1::2] = -np.abs(W[:, 1::2])
    return X @ W.T + np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal((X.shape[0], T))


X = _with_spectrum(M, np.linspace(20.0, 2.0, N), seed=0, offset=5.0)  # cond(Xc) = 10
Y = _targets(X, 1)
XS = sp.random_array((M, N), density=0.4, rng=np.random.default_rng(2), format="csr")
YS = _targets(XS.toarray(), 3)
SW = np.random.default_rng(4).uniform(0.1, 3.0, M)
SW[[0, 7, 8, 100, M - 1]] = 0.0  # zero weights drop rows, the first and last among them


def dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def assert_close(actual, expected, rtol: float, what: str = "") -> None:
    """Normwise relative: max |actual - expected| <= rtol * max |expected|."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (what, a.shape, e.shape)
    err = np.max(np.abs(a - e), initial=0.0)
    scale = max(np.max(np.abs(e), initial=0.0), 1.0 if what == "intercept_" else 1e-300)
    assert err <= rtol * scale, f"{what}: relative error {err / scale:.3g} > {rtol:g}"


def sklearn_fit(est, Xd, y, sw):
    """scikit-learn's estimator with est's parameters, fitted on dense float64 data."""
    Xd, y = np.asarray(Xd, np.float64), np.asarray(y, np.float64)
    positive, fi = est.positive, est.fit_intercept
    if isinstance(est, LinearRegression):
        ref = SkLinearRegression(fit_intercept=fi, positive=positive)
    elif positive:  # L-BFGS-B: as tight as it goes
        ref = SkRidge(est.alpha, fit_intercept=fi, positive=True, tol=1e-14, max_iter=100_000)
    else:
        ref = SkRidge(est.alpha, fit_intercept=fi, solver="cholesky")
    with warnings.catch_warnings():  # L-BFGS-B stops at rounding level before tol=1e-14
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ref.fit(Xd, y, sample_weight=sw)


def exact_nnls(Xd, y, sw, alpha: float, fit_intercept: bool):
    """(coef, intercept) of the weighted non-negative (ridge) problem, by NNLS on all rows."""
    Xd, y = np.asarray(Xd, np.float64), np.asarray(y, np.float64)
    sw = np.ones(Xd.shape[0]) if sw is None else np.asarray(sw, np.float64)
    ys = y.reshape(Xd.shape[0], -1)
    mx = sw @ Xd / sw.sum() if fit_intercept else np.zeros(Xd.shape[1])
    my = sw @ ys / sw.sum() if fit_intercept else np.zeros(ys.shape[1])
    r = np.sqrt(sw)[:, None]
    A = np.vstack([r * (Xd - mx), np.sqrt(alpha) * np.eye(Xd.shape[1])])
    coef = np.array(
        [
            sopt.nnls(A, np.r_[r[:, 0] * (ys[:, j] - my[j]), np.zeros(Xd.shape[1])])[0]
            for j in range(ys.shape[1])
        ]
    )
    intercept = my - coef @ mx
    if y.ndim == 1:
        return coef[0], (intercept[0] if fit_intercept else 0.0)
    return coef, (intercept if fit_intercept else 0.0)


def estimators(solver: str = "auto", fit_intercept: bool = True, positive: bool = False):
    return [
        LinearRegression(fit_intercept=fit_intercept, solver=solver, positive=positive),
        Ridge(ALPHA, fit_intercept=fit_intercept, solver=solver, positive=positive),
    ]


# How X arrives; each row commented.
# The default run takes many blocks with an uneven last one; the slow step all of them.
SLOW = pytest.mark.slow
CHUNKINGS = [
    pytest.param("numpy", id="in-memory", marks=SLOW),  # numpy / scipy.sparse, sklearn's checks
    pytest.param(M, id="one-block", marks=SLOW),  # a DRM of one row block
    pytest.param(25, id="many-blocks"),  # 8 blocks of 25, an uneven last one of 3
    pytest.param((100, 100, 3), id="uneven-last", marks=SLOW),  # a 3-row last block
    pytest.param((1, 201, 1), id="one-row-blocks", marks=SLOW),  # single-row (zero-weight) ends
    pytest.param("dask-columns", id="column-chunked-dask", marks=SLOW),  # dask, chunks (40, 2)
]


def as_input(Xd, sparse: bool, chunks):
    data = sp.csr_array(Xd) if sparse else Xd
    if chunks == "numpy":
        return data
    if chunks == "dask-columns":
        return da.from_array(data, chunks=(40, 2), asarray=False)
    return dl.from_array(data, chunks=chunks)


# ------------------------------------------------------------------ against scikit-learn


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("solver", ["auto", "cholesky", "qr"])
def test_sample_weight_matches_sklearn(solver, sparse, dtype, chunks):
    Xd = (dense(XS) if sparse else X).astype(dtype)
    Yd = YS if sparse else Y
    data = as_input(Xd, sparse, chunks)
    rtol = RTOL if dtype == np.float64 else RTOL32 + RTOL
    for fit_intercept in (True, False):
        for y in (Yd, Yd[:, 0]):  # several targets, one
            for est in estimators(solver, fit_intercept):
                est.fit(data, y, sample_weight=SW)
                ref = sklearn_fit(est, Xd, y, SW)
                assert est.coef_.dtype == dtype
                assert_close(est.coef_, ref.coef_, rtol, "coef_")
                assert_close(est.intercept_, ref.intercept_, rtol, "intercept_")
                if isinstance(est, LinearRegression) and solver != "auto":
                    assert est.rank_ == ref.rank_ == N
                    assert_close(est.singular_, ref.singular_, rtol, "singular_")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("solver", ["lsqr", "gd"])
def test_sample_weight_iterative_solvers(solver, sparse):
    Xd = dense(XS) if sparse else X
    Yd = YS if sparse else Y
    A = dl.from_array(sp.csr_array(Xd) if sparse else Xd, chunks=(100, 100, 3))
    for fit_intercept in (True, False):
        lr = LinearRegression(fit_intercept=fit_intercept, solver=solver, tol=1e-12)
        ridge = Ridge(ALPHA, fit_intercept=fit_intercept, solver=solver, tol=1e-12)
        for est in (lr, ridge):
            if solver == "gd":
                est.set_params(tol=1e-11, **({"max_iter": 50_000} if est is ridge else {}))
            est.fit(A, Yd[:, :2], sample_weight=da.from_array(SW, chunks=60))
            ref = sklearn_fit(est, Xd, Yd[:, :2], SW)
            assert est.solver_ == solver
            assert_close(est.coef_, ref.coef_, RTOL, "coef_")
            assert_close(est.intercept_, ref.intercept_, RTOL, "intercept_")


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_positive_matches_sklearn_and_nnls(sparse, dtype, chunks):
    Xd = (dense(XS) if sparse else X).astype(dtype)
    Yd = YS if sparse else Y
    data = as_input(Xd, sparse, chunks)
    extra = RTOL32 if dtype == np.float32 else 0.0
    for fit_intercept in (True, False):
        for sw in (None, SW):
            for y in (Yd, Yd[:, 0]):
                for est in estimators("auto", fit_intercept, positive=True):
                    est.fit(data, y, sample_weight=sw)
                    assert est.solver_ == "nnls"
                    assert est.n_iter_ is None
                    assert not hasattr(est, "rank_")
                    assert not hasattr(est, "singular_")
                    assert est.coef_.dtype == dtype
                    assert np.all(est.coef_ >= 0)
                    ref = sklearn_fit(est, Xd, y, sw)
                    assert_close(est.coef_, ref.coef_, RTOL + extra, "coef_")
                    assert_close(est.intercept_, ref.intercept_, RTOL + extra, "intercept_")
                    alpha = ALPHA if isinstance(est, Ridge) else 0.0
                    coef, icpt = exact_nnls(Xd, y, sw, alpha, fit_intercept)
                    assert_close(est.coef_, coef, RTOL_EXACT + extra, "coef_")
                    assert_close(est.intercept_, icpt, RTOL_EXACT + extra, "intercept_")
    # the bounds are active: some coefficients are exactly zero
    assert (LinearRegression(positive=True).fit(data, Yd).coef_ == 0).any()


def test_positive_ridge_with_an_alpha_per_target():
    alphas = np.array([0.5, 3.0, 0.5])
    est = Ridge(alphas, positive=True).fit(dl.from_array(X, chunks=50), Y, sample_weight=SW)
    for j, a in enumerate(alphas):
        coef, icpt = exact_nnls(X, Y[:, j], SW, a, True)
        assert_close(est.coef_[j], coef, RTOL_EXACT, "coef_")
        assert_close(est.intercept_[j], icpt, RTOL_EXACT, "intercept_")


def test_positive_on_rank_deficient_x_reaches_the_minimum():
    """A duplicated column: G is singular; the objective is still minimised (to NNLS's)."""
    Xr = np.hstack([X, X[:, :1]])
    for est in (LinearRegression(positive=True), Ridge(0.0, positive=True)):
        est.fit(dl.from_array(Xr, chunks=50), Y[:, 0], sample_weight=SW)
        coef, icpt = exact_nnls(Xr, Y[:, 0], SW, 0.0, True)

        def loss(c, b):
            return float(SW @ (Y[:, 0] - Xr @ c - b) ** 2)

        assert np.all(est.coef_ >= 0)
        assert loss(est.coef_, est.intercept_) <= loss(coef, icpt) * (1 + 1e-9)


# ------------------------------------------------------------------ semantics


@pytest.mark.parametrize("kind", ["numpy", "drm", "sparse-drm"])
def test_zero_weight_drops_and_integer_weight_repeats(kind):
    """scikit-learn's check_sample_weight_equivalence, over the input kinds."""
    keep = SW > 0
    reps = np.arange(M) % 3  # 0, 1 or 2 copies of each row
    Xd = dense(XS) if kind == "sparse-drm" else X
    Yd = YS if kind == "sparse-drm" else Y

    def inp(A, chunks=40):
        if kind == "numpy":
            return A
        return dl.from_array(sp.csr_array(A) if kind == "sparse-drm" else A, chunks=chunks)

    for positive in (False, True):
        for est in estimators("auto", True, positive):
            a = est.fit(inp(Xd), Yd, sample_weight=np.where(keep, 1.0, 0.0)).coef_
            b = est.fit(inp(Xd[keep]), Yd[keep]).coef_
            assert_close(a, b, 1e-9, "zero weights")
            a = est.fit(inp(Xd), Yd, sample_weight=reps.astype(float)).coef_
            b = est.fit(inp(np.repeat(Xd, reps, axis=0)), np.repeat(Yd, reps, axis=0)).coef_
            assert_close(a, b, 1e-9, "integer weights")


def test_weight_kinds_agree():
    """numpy, list, scalar, Dask (any chunking) and DataArray weights give the same fit."""
    A = dl.from_array(X, chunks=(100, 100, 3))
    ref = LinearRegression().fit(A, Y, sample_weight=SW).coef_
    for w in (list(SW), da.from_array(SW, chunks=17), xr.DataArray(SW, dims="row")):
        assert_close(LinearRegression().fit(A, Y, sample_weight=w).coef_, ref, 1e-13)
    unweighted = LinearRegression().fit(A, Y).coef_
    for w in (1.0, 7.5, np.full(M, 2.0)):  # uniform weights are no weights
        assert_close(LinearRegression().fit(A, Y, sample_weight=w).coef_, unweighted, 1e-12)
    # xarray in, labeled out, with weights
    Xa = xr.DataArray(da.from_array(X, chunks=(50, N)), dims=("row", "feature"))
    out = Ridge(positive=True).fit(Xa, Y[:, 0], sample_weight=SW)
    assert out.coef_.dims == ("feature",)


def test_weights_cost_no_extra_pass():
    """The weighted fit reads X as often as the unweighted one (numpy weights)."""
    from tests.test_models_linear import count_computes

    A = dl.from_array(X, chunks=50)
    for solver, passes in (("cholesky", 1), ("auto", 1), ("qr", 3)):
        for est in estimators(solver):
            with count_computes() as calls:
                est.fit(A, Y, sample_weight=SW)
            assert calls[0] == passes, (type(est).__name__, solver)
    for est in estimators("auto", positive=True):
        with count_computes() as calls:
            est.fit(A, Y, sample_weight=SW)
        assert calls[0] == 1
    S = dl.from_array(XS, chunks=50)
    with count_computes() as calls:
        LinearRegression().fit(S, YS, sample_weight=SW)
    assert calls[0] == 1


# ------------------------------------------------------------------ errors

A_LAZY = dl.from_array(X, chunks=50)
SW_NEG = SW.copy()
SW_NEG[3] = -0.5
SW_NAN = SW.copy()
SW_NAN[5] = np.nan

# (call, builtin users catch, pattern naming the value)
BAD_INPUT = [
    (lambda: LinearRegression().fit(X, Y, sample_weight=SW[:-1]), ValueError, r"\(202,\).*203"),
    (lambda: Ridge().fit(A_LAZY, Y, sample_weight=SW[:-1]), ValueError, "203 rows.*202"),
    (
        lambda: Ridge().fit(A_LAZY, Y, sample_weight=da.ones(204, chunks=50)),
        ValueError,
        r"\(204,\), expected \(203,\)",
    ),
    (lambda: LinearRegression().fit(X, Y, sample_weight=SW_NEG), ValueError, r"-0\.5.*index 3"),
    (lambda: Ridge().fit(A_LAZY, Y, sample_weight=SW_NEG), ValueError, r"Negative.*-0\.5"),
    (lambda: Ridge().fit(A_LAZY, Y, sample_weight=-1.0), ValueError, r"Negative.*-1\.0"),
    (lambda: LinearRegression().fit(X, Y, sample_weight=SW_NAN), ValueError, "sample_weight.*NaN"),
    (lambda: Ridge().fit(A_LAZY, Y, sample_weight=np.inf), ValueError, "sample_weight.*infinity"),
    (lambda: Ridge().fit(X, Y, sample_weight=SW[:, None]), ValueError, r"1D array or scalar.*2D"),
    (
        lambda: Ridge().fit(A_LAZY, Y, sample_weight=da.ones((M, 1), chunks=50)),
        ValueError,
        r"1D array or scalar, got 2D",
    ),
    (lambda: Ridge().fit(X, Y, sample_weight=np.zeros(M)), ValueError, "at least one non-zero"),
    (lambda: Ridge().fit(X, Y, sample_weight=0.0), ValueError, "at least one non-zero"),
    (lambda: Ridge().fit(X, Y, sample_weight=SW + 1j), ValueError, "(?i)complex"),
    (lambda: Ridge().fit(X, Y, sample_weight=["a"] * M), ValueError, "(?i)string|could not"),
    (lambda: Ridge().fit(X, Y, sample_weight=sp.csr_array(SW)), TypeError, "(?i)sparse"),
    (lambda: Ridge().fit(A_LAZY, Y, sample_weight=A_LAZY[:, :1]), TypeError, "not a DRM"),
    (lambda: Ridge(positive=True, solver="qr").fit(X, Y), ValueError, "solver='qr' does not"),
    (
        lambda: LinearRegression(positive=True, solver="lsqr").fit(A_LAZY, Y),
        ValueError,
        "solver='lsqr' does not support positive fitting",
    ),
    (lambda: Ridge(positive="yes").fit(X, Y), ValueError, "'positive' parameter"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input_is_refused_before_any_graph(call, error, match, no_graph_no_compute):
    with pytest.raises(error, match=match):
        call()


DASK_BAD = [
    (
        da.from_array(SW_NEG, chunks=50),
        r"Negative values in data passed to `sample_weight`: -0\.5",
    ),
    (da.from_array(SW_NAN, chunks=50), "sample_weight contains NaN or infinity"),
    (da.zeros(M, chunks=50), "at least one non-zero"),
]


@pytest.mark.parametrize(("w", "match"), DASK_BAD)
def test_dask_weight_values_are_checked_before_x_is_read(w, match, monkeypatch):
    """A Dask sample_weight's values need a computation: of the weights alone, before X."""
    import dlinalg.models.linear_model._solvers as solvers

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit started")

    monkeypatch.setattr(solvers, "comoments", no_fit)
    with pytest.raises(ValueError, match=match):
        Ridge().fit(A_LAZY, Y, sample_weight=w)
