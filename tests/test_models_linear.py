"""dlinalg.models.LinearRegression and dlinalg.models.Ridge against the truth, for every kind of input.

Truth, always on the dense float64 data: :func:`numpy.linalg.lstsq` of ``[1 X]``
(LAPACK's SVD solver) for least squares, scikit-learn's ``Ridge(solver="svd")``
for ridge, and scikit-learn's ``LinearRegression`` for ``rank_``/``singular_``
and the minimum-norm solution of rank-deficient X. The exact solvers must
agree within 1e-10 (normwise relative, 100 times tighter than the issue's
1e-8) on well-conditioned float64 data (the normal equations' error is about
``eps * cond(X)**2``, with ``cond(X) = 10`` here); float32 input is computed
in float64 and rounded once, so it must equal the truth rounded to float32.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from fractions import Fraction
from types import SimpleNamespace

import dask
import dask.array as da
import dlinalg.models.linear_model._solvers as solvers
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import xarray as xr
from dlinalg.models import LinearRegression, Ridge
from dlinalg.models.linear_model._solvers import GRAM_MAX_COLUMNS, Problem, prefers_cholesky, solve
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import Ridge as SkRidge
from sklearn.metrics import r2_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import dlinalg as dl
from dlinalg.errors import NonFiniteError

RTOL = 1e-10  # exact solvers, float64, cond(X) = 10
RTOL32 = 2.0**-23  # float32 out: the float64 result rounded (half an ulp is 2**-24)
ALPHA = 3.0
M, N, T = 203, 8, 3

# ------------------------------------------------------------------ data


def _with_spectrum(m: int, spectrum: np.ndarray, seed: int, offset: float) -> np.ndarray:
    """m x n data whose centred matrix has exactly these singular values."""
    rng = np.random.default_rng(seed)
    n = spectrum.size
    G = rng.standard_normal((m, n))
    U = np.linalg.qr(G - G.mean(axis=0))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (U * spectrum) @ V.T + offset * rng.uniform(0.5, 1.5, n)


def _targets(X, seed: int) -> np.ndarray:
    """Three targets with intercepts 1, -2, 0.5 and noise (a non-zero residual)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((T, X.shape[1]))
    return X @ W.T + np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal((X.shape[0], T))


# Well-conditioned: centred singular values 20 .. 2 (cond 10), means about 5.
X = _with_spectrum(M, np.linspace(20.0, 2.0, N), seed=0, offset=5.0)
Y = _targets(X, 1)
XS = sp.random_array((M, N), density=0.3, rng=np.random.default_rng(2), format="csr")
YS = _targets(XS.toarray(), 3)
NAMES = [f"f{j}" for j in range(N)]


def dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def truth(est, Xd: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef_, intercept_) in scikit-learn's shapes, from float64 LAPACK solvers."""
    Xd, y = np.asarray(Xd, np.float64), np.asarray(y, np.float64)
    fit_intercept = est.fit_intercept
    if isinstance(est, LinearRegression):
        A = np.hstack([np.ones((Xd.shape[0], 1)), Xd]) if fit_intercept else Xd
        sol = np.linalg.lstsq(A, y, rcond=None)[0]
        coef = sol[1:].T if fit_intercept else sol.T
        icpt = sol[0] if fit_intercept else 0.0
        return coef, icpt
    ref = SkRidge(alpha=est.alpha, fit_intercept=fit_intercept, solver="svd").fit(Xd, y)
    return ref.coef_, ref.intercept_


def assert_close(actual, expected, rtol: float = RTOL, what: str = "") -> None:
    """Normwise relative: max |actual - expected| <= rtol * max |expected|."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (what, a.shape, e.shape)
    err = np.max(np.abs(a - e), initial=0.0)
    scale = max(np.max(np.abs(e), initial=0.0), np.finfo(float).tiny)
    assert err <= rtol * scale, f"{what}: relative error {err / scale:.3g} > {rtol:g}"


def assert_fitted(est, Xd, y, rtol: float = RTOL) -> None:
    coef, icpt = truth(est, Xd, y)
    assert_close(est.coef_, coef, rtol, "coef_")
    if est.fit_intercept:
        assert_close(est.intercept_, icpt, rtol, "intercept_")
    else:
        assert est.intercept_ == 0.0
        assert isinstance(est.intercept_, float)


@contextlib.contextmanager
def count_computes() -> Iterator[list[int]]:
    """Count dask computations (a synchronous scheduler that counts its calls)."""
    calls = [0]

    def get(dsk, keys, **kwargs):
        calls[0] += 1
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=get):
        yield calls


def values(out) -> np.ndarray:
    if isinstance(out, dl.DRM | dl.LazyResult | xr.DataArray | da.Array):
        out = out.compute()
    return np.asarray(out)


def estimators(solver: str = "auto", fit_intercept: bool = True) -> list:
    return [
        LinearRegression(fit_intercept=fit_intercept, solver=solver),
        Ridge(ALPHA, fit_intercept=fit_intercept, solver=solver),
    ]


# ------------------------------------------------------------------ scikit-learn's checks


def _expected_failures(est) -> dict[str, str]:
    if isinstance(est, Ridge):  # scikit-learn exempts its own Ridge from this check
        return {
            "check_non_transformer_estimators_n_iter": (
                "n_iter_ is None for the exact solvers, as scikit-learn's Ridge has it"
            )
        }
    return {}


@parametrize_with_checks(
    [
        LinearRegression(),
        Ridge(),
        LinearRegression(solver="qr"),
        LinearRegression(positive=True),  # NNLS on the first pass's Gram (issue 16)
        Ridge(positive=True),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ exact solvers vs the truth

# How X arrives: None is numpy (or scipy.sparse) in memory; otherwise a DRM with these row blocks.
CHUNKINGS = [
    pytest.param(None, id="in-memory"),  # scikit-learn's validation, one block
    pytest.param(M, id="one-block"),  # a DRM of one row block
    pytest.param(25, id="many-blocks"),  # 8 blocks of 25 and an uneven last one of 3
    pytest.param((100, 100, 3), id="uneven-last"),  # a 3-row last block
    pytest.param((1, 201, 1), id="one-row-blocks"),  # single-row blocks at both ends
]


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("solver", ["cholesky", "qr"])
def test_exact_solvers_match_the_truth(solver, sparse, dtype, chunks):
    Xd = (dense(XS) if sparse else X).astype(dtype)
    Yd = YS if sparse else Y
    data = sp.csr_array(Xd) if sparse else Xd
    if chunks is not None:
        data = dl.from_array(data, chunks=chunks)
    rtol = RTOL if dtype == np.float64 else RTOL32
    for fit_intercept in (True, False):
        for y in (Yd, Yd[:, 0]):  # several targets, one target
            for est in estimators(solver, fit_intercept):
                est.fit(data, y)
                assert est.solver_ == solver
                assert_fitted(est, Xd, y, rtol)
                assert est.coef_.dtype == dtype
                assert est.coef_.shape == ((N,) if y.ndim == 1 else (T, N))
                assert np.shape(est.intercept_) == (
                    () if y.ndim == 1 or not fit_intercept else (T,)
                )


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", ["cholesky", "qr"])
def test_attributes_are_sklearns(solver, fit_intercept):
    ref = SkLinearRegression(fit_intercept=fit_intercept).fit(X, Y[:, 0])
    ours = LinearRegression(fit_intercept=fit_intercept, solver=solver)
    ours.fit(dl.from_array(X, chunks=50), Y[:, 0])
    for name in ("coef_", "intercept_", "singular_"):
        assert_close(getattr(ours, name), getattr(ref, name), what=name)
    assert ours.rank_ == ref.rank_ == N
    assert ours.n_features_in_ == ref.n_features_in_ == N
    assert type(ours.intercept_) is type(ref.intercept_)
    ridge = Ridge(ALPHA, fit_intercept=fit_intercept, solver=solver).fit(X, Y)
    sk = SkRidge(ALPHA, fit_intercept=fit_intercept).fit(X, Y)
    assert_close(ridge.coef_, sk.coef_, what="ridge coef_")
    assert_close(ridge.intercept_, sk.intercept_, what="ridge intercept_")
    assert ridge.n_iter_ is None


@pytest.mark.parametrize("solver", ["cholesky", "qr", "auto"])
def test_ridge_alpha_per_target(solver):
    alpha = np.array([0.1, 1.0, 10.0])
    ours = Ridge(alpha, solver=solver).fit(dl.from_array(X, chunks=60), Y)
    ref = SkRidge(alpha, solver="svd").fit(X, Y)
    assert_close(ours.coef_, ref.coef_)
    assert_close(ours.intercept_, ref.intercept_)
    one = Ridge(np.array([ALPHA]), solver=solver).fit(X, Y)  # a single penalty for all
    assert_close(one.coef_, SkRidge(ALPHA, solver="svd").fit(X, Y).coef_)


# ------------------------------------------------------------------ conditioning and rank


def _ill_conditioned() -> tuple[np.ndarray, np.ndarray]:
    """300 x 6, centred singular values 1 .. 1e-7 (cond 1e7), a tiny residual."""
    X_ill = _with_spectrum(300, np.logspace(0, -7, 6), seed=4, offset=2.0)
    rng = np.random.default_rng(5)
    return X_ill, X_ill @ rng.standard_normal(6) + 0.5 + 1e-9 * rng.standard_normal(300)


def _exact_lstsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[intercept, *coef]`` solving least squares on the stored float64 data exactly.

    Rational arithmetic on the normal equations (every float64 is a fraction),
    so the reference has no error of its own: LAPACK's ``lstsq`` is accurate
    to ``eps * cond**2 * ||r|| / (||X|| ||w||)``, about the error it is used to
    judge here.
    """
    A = [[Fraction(1), *map(Fraction, row.tolist())] for row in X]
    b = [Fraction(v) for v in y.tolist()]
    n = len(A[0])
    G = [[sum(r[i] * r[j] for r in A) for j in range(n)] for i in range(n)]
    h = [sum(r[i] * bi for r, bi in zip(A, b, strict=True)) for i in range(n)]
    for k in range(n):  # Gauss-Jordan elimination, exact
        for i in range(n):
            if i != k and G[i][k]:
                f = G[i][k] / G[k][k]
                G[i] = [gi - f * gk for gi, gk in zip(G[i], G[k], strict=True)]
                h[i] -= f * h[k]
    return np.array([float(h[i] / G[i][i]) for i in range(n)])


@functools.cache
def _moderately_conditioned_exact() -> np.ndarray:
    return _exact_lstsq(*_moderately_conditioned())


def _moderately_conditioned() -> tuple[np.ndarray, np.ndarray]:
    """2000 x 12, centred singular values 1 .. 1e-4 (cond 1e4), a noisy target."""
    Xm = _with_spectrum(2000, np.logspace(0, -4, 12), seed=8, offset=1.0)
    rng = np.random.default_rng(9)
    return Xm, Xm @ rng.standard_normal(12) + 0.3 + 1e-3 * rng.standard_normal(2000)


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(None, id="one-chunk"),
        pytest.param(300, id="many-blocks"),  # 6 blocks of 300 and an uneven last one of 200
    ],
)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_corrected_seminormal_equations_reach_qr_accuracy(sparse, chunks):
    """cond(X) = 1e4: the normal equations alone lose eps * cond**2 ~ 1e-8; one
    correction with the true residual (a second pass) brings LAPACK's accuracy."""
    Xm, y = _moderately_conditioned()  # sparse: the same values in CSR blocks
    data = dl.from_array(sp.csr_array(Xm) if sparse else Xm, chunks=chunks or Xm.shape[0])
    sol = np.linalg.lstsq(np.hstack([np.ones((Xm.shape[0], 1)), Xm]), y, rcond=None)[0]
    with count_computes() as calls:
        ours = LinearRegression(tol=1e-9).fit(data, y)
    if sparse:
        # sparse X's scatter is its Gram minus m * mean mean^T (X is never
        # densified): off by eps * ||X||**2, 2e4 times eps * ||Xc||**2 with this
        # offset, which "auto" counts: cond 1e4 * sqrt(2e4) is QR's business...
        assert ours.solver_ == "qr"
        # ...while the normal equations, asked for, take three corrections
        with count_computes() as calls:
            ours = LinearRegression(tol=1e-9, solver="cholesky").fit(data, y)
        assert calls[0] == 4
    else:
        assert calls[0] == 2  # the scatter, then one correction pass
    assert ours.solver_ == "cholesky" or sparse
    # 1e-9 (the issue asks 1e-8): LAPACK's own forward error here is
    # eps * cond**2 * ||r|| / (||X|| ||w||) ~ 1e-10
    assert_close(ours.coef_, sol[1:], 1e-9, "coef_")
    assert_close(ours.intercept_, sol[0], 1e-9, "intercept_")
    # without the correction (the scatter alone) the error is over 4 times larger,
    # measured against the exact solution (numpy 2.4 / OpenBLAS 0.3.31: 8.2e-9
    # against 0.19e-9 to 1.6e-9 with the correction, and 0.05e-9 for LAPACK's lstsq)
    exact = _moderately_conditioned_exact()
    Xc = Xm - Xm.mean(axis=0)
    plain = np.linalg.solve(Xc.T @ Xc, Xc.T @ (y - y.mean()))
    assert np.linalg.norm(plain - exact[1:]) > 4 * np.linalg.norm(ours.coef_ - exact[1:])
    # ridge and no intercept take the same corrections
    ridge = Ridge(1e-6, solver="cholesky").fit(data, y)
    assert_close(ridge.coef_, SkRidge(1e-6, solver="svd").fit(Xm, y).coef_, 1e-9)
    origin = LinearRegression(fit_intercept=False, solver="cholesky", tol=1e-9).fit(data, y)
    assert_close(origin.coef_, np.linalg.lstsq(Xm, y, rcond=None)[0], 1e-9)


def test_ill_conditioned_auto_takes_qr_and_matches_lstsq():
    X_ill, y = _ill_conditioned()
    A = dl.from_array(X_ill, chunks=64)
    sol = np.linalg.lstsq(np.hstack([np.ones((300, 1)), X_ill]), y, rcond=None)[0]
    with count_computes() as calls:
        ours = LinearRegression(tol=1e-12).fit(A, y)
    assert ours.solver_ == "qr"
    assert calls[0] == 4  # the scatter pass showed cond ~1e7, then shifted Cholesky-QR3 (3)
    assert ours.rank_ == 6
    # backward stable QR: error ~ eps * cond(X) = 1e-9, the issue asks for ~1e-6
    assert_close(ours.coef_, sol[1:], 1e-6, "coef_")
    assert_close(ours.intercept_, sol[0], 1e-6, "intercept_")
    # the normal equations lose about eps * cond**2 = 1e-2, and each correction
    # pass wins only that factor: asked for, they take all three corrections
    # (four passes) to get there: why "auto" leaves them
    with count_computes() as calls:
        chol = LinearRegression(tol=1e-12, solver="cholesky").fit(A, y)
    assert calls[0] == 1 + solvers.MAX_CORRECTIONS
    assert_close(chol.coef_, sol[1:], 1e-6, "coef_ (cholesky)")
    # the default tol=1e-6 is scikit-learn's cond: the 1e-7 direction is cut, as
    # scipy.linalg.lstsq(Xc, yc, cond=1e-6) does (scikit-learn >= 1.9's LinearRegression)
    Xc, yc = X_ill - X_ill.mean(axis=0), y - y.mean()
    cut, _, rank, s = scipy.linalg.lstsq(Xc, yc, cond=1e-6)
    ours = LinearRegression().fit(A, y)
    assert ours.solver_ == "qr"
    assert ours.rank_ == rank == 5
    assert_close(ours.coef_, cut, 1e-8, "coef_ (cut)")
    assert_close(ours.singular_, s, what="singular_")
    # ridge: a tiny penalty leaves the problem ill-conditioned: qr again
    ridge = Ridge(1e-12).fit(A, y)
    assert ridge.solver_ == "qr"
    assert_close(ridge.coef_, SkRidge(1e-12, solver="svd").fit(X_ill, y).coef_, 1e-6)
    assert Ridge(1.0).fit(A, y).solver_ == "cholesky"  # cond <= (1 + 1) / 1


@pytest.mark.parametrize("chunks", [None, 50], ids=["in-memory", "drm"])
@pytest.mark.parametrize("solver", ["auto", "qr", "cholesky"])
def test_rank_deficient_minimum_norm_like_sklearn(solver, chunks):
    XR = np.hstack([X, X[:, :1], 2.0 * X[:, 1:2]])  # two dependent columns: rank 8 of 10
    y = Y[:, 0]
    data = XR if chunks is None else dl.from_array(XR, chunks=chunks)
    ref = SkLinearRegression().fit(XR, y)
    ours = LinearRegression(solver=solver).fit(data, y)
    assert ours.solver_ == ("qr" if solver == "auto" else solver)
    assert ours.rank_ == ref.rank_ == N
    # eigh of the scatter resolves the zero singular values to sqrt(eps) only
    rtol = 1e-7 if solver == "cholesky" else RTOL
    assert_close(ours.coef_, ref.coef_, rtol, "coef_")
    assert_close(ours.intercept_, ref.intercept_, rtol, "intercept_")
    assert_close(ours.singular_, ref.singular_, rtol, "singular_")


def test_wide_data_minimum_norm():
    rng = np.random.default_rng(6)
    XW, y = rng.standard_normal((30, 50)) + 1.0, rng.standard_normal(30)
    A = dl.from_array(XW, chunks=7)
    ref = SkLinearRegression().fit(XW, y)
    ours = LinearRegression().fit(A, y)
    assert ours.solver_ == "qr"
    assert ours.rank_ == ref.rank_ == 29  # centred: n_samples - 1
    assert_close(ours.coef_, ref.coef_, what="coef_")
    assert_close(ours.singular_, ref.singular_, what="singular_")
    ridge = Ridge(ALPHA).fit(A, y)
    assert_close(ridge.coef_, SkRidge(ALPHA, solver="svd").fit(XW, y).coef_)


def test_auto_rule():
    p = Problem(
        X=dl.zeros((10, 2)),
        Y=dl.zeros((10, 1)),
        alphas=np.zeros(1),
        fit_intercept=True,
        tol=1e-6,
        max_iter=None,
        rcond=1e-6,
    )
    assert prefers_cholesky(np.array([1e10, 1.01]), p)  # cond(X) just below 1e5
    assert not prefers_cholesky(np.array([1e10, 0.99]), p)  # just above
    assert not prefers_cholesky(np.array([1.0, 0.0]), p)  # singular
    ridge = Problem(**{**p.__dict__, "alphas": np.array([1.0]), "rcond": None})
    assert prefers_cholesky(np.array([1e7, 0.0]), ridge)  # alpha bounds the condition number
    cut = Problem(**{**p.__dict__, "rcond": 1e-2})
    assert not prefers_cholesky(np.array([1.0, 0.5e-3]), cut)  # near LinearRegression's cutoff


def test_auto_takes_lsqr_for_too_many_columns(monkeypatch):
    seen = []
    monkeypatch.setattr(solvers, "_iterative", lambda p, solver: seen.append(solver))
    wide = dl.zeros((10, GRAM_MAX_COLUMNS))  # a 4097-column [X y]: no Gram
    p = Problem(wide, dl.zeros((10, 1)), np.zeros(1), True, 1e-6, None, 1e-6)
    with count_computes() as calls:
        solve(p, "auto")
    assert seen == ["lsqr"]
    assert calls[0] == 0


# ------------------------------------------------------------------ every input kind

KINDS = ["numpy", "sparse", "dask", "drm", "drm-sparse", "zarr", "xarray", "xarray-numpy"]
OUT_1D = {
    "numpy": np.ndarray,
    "sparse": np.ndarray,
    "dask": da.Array,
    "drm": dl.LazyResult,
    "drm-sparse": dl.LazyResult,
    "zarr": dl.LazyResult,
    "xarray": xr.DataArray,
    "xarray-numpy": xr.DataArray,
}


def make_input(kind: str, tmp_path):
    if kind == "numpy":
        return X
    if kind == "sparse":
        return sp.csr_array(X)
    if kind == "dask":
        return da.from_array(X, chunks=(50, -1))
    if kind in ("drm", "drm-sparse"):
        return dl.from_array(sp.csr_array(X) if kind == "drm-sparse" else X, chunks=50)
    if kind == "zarr":
        path = tmp_path / "X.zarr"
        dl.from_array(X, chunks=50).to_zarr(path)
        return str(path)
    coords = {"sample": np.arange(M) * 10, "feature": NAMES}
    x = xr.DataArray(X, dims=("sample", "feature"), coords=coords)
    return x.chunk({"sample": 50}) if kind == "xarray" else x


@pytest.mark.parametrize("kind", KINDS)
def test_every_input_kind(kind, tmp_path):
    data = make_input(kind, tmp_path)
    lr = LinearRegression().fit(data, Y[:, 0])
    assert lr.solver_ == "cholesky"
    assert_fitted(lr, X, Y[:, 0])
    out = lr.predict(data)
    assert isinstance(out, OUT_1D[kind])
    assert values(out).shape == (M,)
    assert_close(values(out), X @ np.asarray(lr.coef_) + lr.intercept_, 1e-12)
    assert lr.score(data, Y[:, 0]) == pytest.approx(r2_score(Y[:, 0], values(out)), rel=1e-12)
    ridge = Ridge(ALPHA).fit(data, Y)
    assert_fitted(ridge, X, Y)
    multi = ridge.predict(data)
    assert values(multi).shape == (M, T)
    ref = SkRidge(ALPHA).fit(X, Y)
    assert_close(values(multi), ref.predict(X), 1e-12)
    assert ridge.score(data, Y) == pytest.approx(ref.score(X, Y), rel=1e-12)


@pytest.mark.parametrize(
    "y",
    [
        Y[:, 0],  # numpy 1-D
        da.from_array(Y[:, 0], chunks=30),  # dask, other chunks than X
        da.from_array(Y, chunks=(70, 1)),  # dask 2-D, column chunks
        dl.from_array(Y, chunks=80),  # a DRM is 2-D
        dl.from_array(Y[:, :1], chunks=80),  # a 1-column DRM too, like y[:, None]
        xr.DataArray(Y[:, 0], dims="sample"),  # a DataArray
        dl.from_array(Y, chunks=80)[:, 0],  # a lazy vector
    ],
    ids=["numpy", "dask-1d", "dask-2d", "drm", "drm-1col", "xarray", "lazy-vector"],
)
@pytest.mark.parametrize("x_kind", ["numpy", "drm-sparse"])
def test_every_target_kind(x_kind, y, tmp_path):
    data = make_input(x_kind, tmp_path)
    yd = values(y)
    sk = {LinearRegression: SkLinearRegression(), Ridge: SkRidge(ALPHA)}
    for est in estimators():
        est.fit(data, y)
        ref = sk[type(est)].fit(X, yd)  # the shapes: Ridge ravels coef_ of a 1-column y
        assert est.coef_.shape == ref.coef_.shape
        assert np.shape(est.intercept_) == np.shape(ref.intercept_)
        assert values(est.predict(data)).shape == ref.predict(X).shape
        assert_fitted(est, X, yd)
    assert est.score(data, y) == pytest.approx(ref.score(X, yd), rel=1e-12)


def test_score_with_sample_weight():
    w = np.random.default_rng(7).uniform(0.5, 2.0, M)
    ref = SkRidge(ALPHA).fit(X, Y)
    ours = Ridge(ALPHA).fit(X, Y)
    expected = ref.score(X, Y, sample_weight=w)
    assert ours.score(X, Y, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    A = dl.from_array(X, chunks=50)
    lazy_w = da.from_array(w, chunks=60)
    assert ours.score(A, Y, sample_weight=lazy_w) == pytest.approx(expected, rel=1e-12)
    assert ours.score(A, Y) == pytest.approx(ref.score(X, Y), rel=1e-12)


# ------------------------------------------------------------------ xarray labels


def test_xarray_in_labeled_out():
    x = make_input("xarray", None)
    Ya = xr.DataArray(
        Y,
        dims=("sample", "target_name"),
        coords={"sample": x["sample"], "target_name": list("abc")},
    )
    ridge = Ridge(ALPHA).fit(x, Ya)
    assert list(ridge.feature_names_in_) == NAMES
    assert ridge.coef_.dims == ("target_name", "feature")
    assert list(ridge.coef_["feature"].values) == NAMES
    assert ridge.intercept_.dims == ("target_name",)
    out = ridge.predict(x)
    assert out.dims == ("sample", "target_name")
    assert list(out["target_name"].values) == ["a", "b", "c"]
    assert np.array_equal(out["sample"].values, x["sample"].values)
    assert isinstance(out.data, da.Array)
    lr = LinearRegression().fit(x, Y[:, 0])
    assert lr.coef_.dims == ("feature",)
    assert np.ndim(lr.intercept_) == 0
    assert lr.predict(x).dims == ("sample",)
    with pytest.raises(ValueError, match="feature names should match"):
        lr.predict(x.assign_coords(feature=NAMES[::-1]))
    with pytest.raises(ValueError, match="align them"):
        lr.fit(x, Ya[:, 0].assign_coords(sample=np.arange(M)))


# ------------------------------------------------------------------ passes and laziness


def test_passes_over_X_and_lazy_predict():
    A = dl.from_array(X, chunks=50)
    expected = [
        ("cholesky", True, 1),  # the centred scatter of [X Y]
        ("cholesky", False, 1),
        ("auto", True, 1),  # well-conditioned: the same pass decides and solves
        ("qr", True, 3),  # the means (and the check), then Cholesky-QR2 of the centred [X Y]
        ("qr", False, 1),  # TSQR alone
    ]
    for solver, fit_intercept, passes in expected:
        for est in estimators(solver, fit_intercept):
            with count_computes() as calls:
                est.fit(A, Y)
            assert calls[0] == passes, (type(est).__name__, solver, fit_intercept)
    with count_computes() as calls:
        out = [est.predict(A), est.predict(da.from_array(X, chunks=(50, -1)))]
        out.append(LinearRegression().fit(X, Y[:, 0]).predict(A))
    assert calls[0] == 1  # the in-memory fit; the predictions are lazy
    assert isinstance(out[0], dl.DRM)
    assert isinstance(out[2], dl.LazyResult)
    S = dl.from_array(XS, chunks=50)
    sparse_out = Ridge().fit(S, YS).predict(S)
    assert "Leaf scipy.sparse" in sparse_out.explain()  # X @ W + b: X is multiplied as is


def test_distributed_and_sync_agree(scheduler):
    A = da.from_array(X, chunks=(50, -1))
    for solver in ("cholesky", "qr"):
        for est in estimators(solver):
            est.fit(A, Y)
            assert_fitted(est, X, Y)
            assert_close(est.predict(A).compute(), X @ est.coef_.T + est.intercept_, 1e-12)


# ------------------------------------------------------------------ iterative solvers


def _exact_stand_in(A, b, *, damp=0.0, **kwargs):
    """An exact least-squares solver with the contract's signature (numpy's lstsq)."""
    A, b = dense(A.compute()), values(b).ravel()
    if damp:
        A = np.vstack([A, damp * np.eye(A.shape[1])])
        b = np.concatenate([b, np.zeros(A.shape[1])])
    return SimpleNamespace(x=np.linalg.lstsq(A, b, rcond=None)[0], itn=1)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("name", ["lsqr", "gd"])
def test_iterative_formulation_is_exact(name, sparse, monkeypatch):
    """What the estimators hand dl.lsqr/dl.gd, solved exactly: the truth.

    Checks the centring (dense), the column of ones and the penalty rows
    (sparse), ``damp`` and per-target penalties, whatever the solvers' state.
    """
    monkeypatch.setattr(dl, name, _exact_stand_in, raising=False)
    Xd = dense(XS) if sparse else X
    Yd = YS if sparse else Y
    A = dl.from_array(sp.csr_array(Xd) if sparse else Xd, chunks=50)
    for fit_intercept in (True, False):
        for est in [*estimators(name, fit_intercept), Ridge(np.array([0.0, 1.0, 10.0]))]:
            est.set_params(solver=name).fit(A, Yd)
            assert est.solver_ == name
            assert np.array_equal(est.n_iter_, np.ones(T))
            assert_fitted(est, Xd, Yd)
    nan_x = dl.from_array(XN, chunks=50)
    with pytest.raises(NonFiniteError, match="column 3"):  # the means' pass
        LinearRegression(solver=name).fit(nan_x, Y)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lsqr_matches_the_truth(fit_intercept, sparse):
    Xd = dense(XS) if sparse else X
    Yd = YS if sparse else Y
    A = dl.from_array(sp.csr_array(Xd) if sparse else Xd, chunks=50)
    for est in estimators("lsqr", fit_intercept):
        est.set_params(tol=1e-12).fit(A, Yd)
        assert est.solver_ == "lsqr"
        assert est.n_iter_.shape == (T,)
        assert np.all(est.n_iter_ >= 1)
        assert_fitted(est, Xd, Yd, 1e-8)  # LSQR stops at atol = btol = 1e-12


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_gd_matches_the_truth(sparse):
    Xd = dense(XS) if sparse else X
    Yd = YS if sparse else Y
    A = dl.from_array(sp.csr_array(Xd) if sparse else Xd, chunks=50)
    lr = LinearRegression(solver="gd", tol=1e-10).fit(A, Yd[:, 0])
    ridge = Ridge(ALPHA, solver="gd", tol=1e-10, max_iter=20_000).fit(A, Yd[:, 0])
    for est in (lr, ridge):
        assert est.solver_ == "gd"
        assert_fitted(est, Xd, Yd[:, 0], 1e-6)


# ------------------------------------------------------------------ errors

XN = X.copy()
XN[7, 3] = np.nan
YN = Y[:, 0].copy()
YN[11] = np.nan
A_LAZY = dl.from_array(X, chunks=50)
Y_SHORT_DASK = da.from_array(Y[:-1, 0], chunks=50)
Y_3D_DASK = da.zeros((M, 2, 2), chunks=50)


@pytest.fixture(scope="module")
def fitted():
    return LinearRegression().fit(X, Y[:, 0])


# (call, builtin users catch, pattern of the message)
BAD_INPUT = [
    (lambda: LinearRegression().fit(X, Y[:-1, 0]), ValueError, r"\[203, 202\]"),
    (lambda: LinearRegression().fit(A_LAZY, Y[:-1]), ValueError, "203 rows but y has 202"),
    (lambda: Ridge().fit(X, Y_SHORT_DASK), ValueError, "203 rows but y has 202"),
    (lambda: Ridge().fit(A_LAZY, Y_SHORT_DASK), ValueError, "203 rows but y has 202"),
    (lambda: LinearRegression().fit(XN, Y[:, 0]), ValueError, "Input X contains NaN"),
    (lambda: LinearRegression().fit(X, YN), ValueError, "Input y contains NaN"),
    (lambda: LinearRegression().fit(A_LAZY, YN), ValueError, "Input y contains NaN"),
    (lambda: Ridge(-1.0).fit(X, Y), ValueError, "'alpha' parameter of Ridge.*Got -1.0"),
    (lambda: Ridge(np.nan).fit(A_LAZY, Y), ValueError, "'alpha' parameter"),
    (lambda: Ridge(np.array([1.0, -1.0, 1.0])).fit(X, Y), ValueError, "'alpha' parameter"),
    (lambda: Ridge(np.ones(2)).fit(X, Y), ValueError, "penalties do not correspond: 2 != 3"),
    (lambda: Ridge(solver="svd").fit(X, Y), ValueError, "'solver' parameter.*'svd'"),
    (lambda: LinearRegression(solver="sag").fit(A_LAZY, Y), ValueError, "'sag'"),
    (lambda: LinearRegression(tol=-1).fit(X, Y), ValueError, "'tol' parameter"),
    (lambda: Ridge(max_iter=0).fit(X, Y), ValueError, "'max_iter' parameter"),
    (lambda: LinearRegression(fit_intercept="yes").fit(X, Y), TypeError, "fit_intercept"),
    (lambda: LinearRegression().fit(X, np.zeros((M, 2, 2))), ValueError, "dim 3"),
    (lambda: LinearRegression().fit(A_LAZY, Y_3D_DASK), ValueError, "3-D"),
    (lambda: LinearRegression().fit(X, None), ValueError, "requires y to be passed"),
    (lambda: LinearRegression().fit(A_LAZY, None), ValueError, "requires y to be passed"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input_is_refused_before_any_graph(call, error, match, no_graph_no_compute):
    with pytest.raises(error, match=match):
        call()


def test_predict_with_the_wrong_number_of_features(fitted, no_graph_no_compute):
    with pytest.raises(ValueError, match="X has 7 features, but LinearRegression is expecting 8"):
        fitted.predict(X[:, :7])
    with pytest.raises(ValueError, match="X has 9 features, but LinearRegression is expecting 8"):
        fitted.predict(A_LAZY_WIDE)


A_LAZY_WIDE = dl.from_array(np.hstack([X, X[:, :1]]), chunks=50)


@pytest.mark.parametrize("solver", ["auto", "cholesky", "qr"])
def test_non_finite_lazy_input_is_found_by_the_first_pass(solver):
    for fit_intercept in (True, False):  # "qr" without intercept: found in R
        est = LinearRegression(fit_intercept=fit_intercept, solver=solver)
        with pytest.raises(NonFiniteError, match=r"Input X contains NaN or infinity.*column 3"):
            est.fit(dl.from_array(XN, chunks=50), Y[:, 0])
        with pytest.raises(NonFiniteError, match=r"Input y contains NaN or infinity.*target 0"):
            est.fit(A_LAZY, da.from_array(YN, chunks=50))
