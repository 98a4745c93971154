"""dlinalg.models.PCA and dlinalg.models.TruncatedSVD against scikit-learn, for every kind of input.

Truth: scikit-learn's PCA(svd_solver="full") (LAPACK SVD of the centred data)
and TruncatedSVD(algorithm="arpack") (ARPACK run to machine precision,
tol=0). Our exact solvers must match every fitted attribute within 1e-10
(normwise relative) on well-conditioned float64 data. Randomized solvers are
checked against Halko-Martinsson-Tropp's error bound on a fast-decaying
spectrum (see ``hmt_tolerances``).

Inputs (``KINDS``): numpy, Dask array (row chunks of 50, uneven last chunk),
DRM (dense and sparse), a Zarr store path, xarray (Dask- and numpy-backed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
from dlinalg.models import PCA, TruncatedSVD
from dlinalg.models._validation import Input
from sklearn.decomposition import PCA as SkPCA
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.utils.estimator_checks import parametrize_with_checks

import dlinalg as dl
from dlinalg.decomp.randomized import randomized_pca
from dlinalg.errors import NonFiniteError

RTOL = 1e-10  # exact solvers, float64, condition number ~10
CHUNK = 50  # rows per block: 203 rows -> 50, 50, 50, 50, 3

# ------------------------------------------------------------------ data


def _orthonormal(rng: np.random.Generator, m: int, n: int, centred: bool) -> np.ndarray:
    G = rng.standard_normal((m, n))
    if centred:
        G -= G.mean(axis=0)
    return np.linalg.qr(G)[0]


def _with_spectrum(m: int, spectrum: np.ndarray, seed: int, offset: float) -> np.ndarray:
    """m x n data whose centred matrix has exactly these singular values (for offset != 0)."""
    rng = np.random.default_rng(seed)
    n = spectrum.size
    U = _orthonormal(rng, m, n, centred=offset != 0)
    V = _orthonormal(rng, n, n, centred=False)
    return (U * spectrum) @ V.T + offset * rng.uniform(0.5, 1.5, n)


# Well-conditioned: singular values 20 .. 2 (condition number 10), mean ~5.
TALL = _with_spectrum(203, np.linspace(20.0, 2.0, 12), seed=0, offset=5.0)
WIDE = np.random.default_rng(1).standard_normal((30, 80)) + 2.0
TALL_SPARSE = sp.random_array((203, 12), density=0.3, rng=np.random.default_rng(2), format="csr")
WIDE_SPARSE = sp.random_array((30, 80), density=0.3, rng=np.random.default_rng(3), format="csr")
NAMES = [f"f{j}" for j in range(12)]


def dense(X):
    return X.toarray() if sp.issparse(X) else X


def make_input(kind: str, X, tmp_path):
    """The same data as the given kind of input."""
    if kind == "numpy":
        return X
    if kind == "dask":
        chunks = (CHUNK, -1)
        return (
            da.from_array(X, chunks=chunks, asarray=False)
            if sp.issparse(X)
            else da.from_array(X, chunks=chunks)
        )
    if kind in ("drm", "drm-sparse"):
        return dl.from_array(sp.csr_array(X) if kind == "drm-sparse" else X, chunks=CHUNK)
    if kind == "zarr":
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "X.zarr"
        dl.from_array(X, chunks=CHUNK).to_zarr(path)
        return str(path)
    coords = {
        "sample": np.arange(X.shape[0]) * 10,
        "feature": [f"f{j}" for j in range(X.shape[1])],
    }
    x = xr.DataArray(dense(X), dims=("sample", "feature"), coords=coords)
    return x.chunk({"sample": CHUNK}) if kind == "xarray" else x  # "xarray-numpy"


OUT_TYPE = {
    "numpy": np.ndarray,
    "dask": da.Array,
    "drm": dl.DRM,
    "drm-sparse": dl.DRM,
    "zarr": dl.DRM,
    "xarray": xr.DataArray,
    "xarray-numpy": xr.DataArray,
}
KINDS = list(OUT_TYPE)


def values(out) -> np.ndarray:
    """numpy values of any output (computing lazy ones)."""
    if isinstance(out, dl.DRM | dl.LazyResult):
        out = out.compute()
    if isinstance(out, xr.DataArray | da.Array):
        out = out.compute()
    return np.asarray(dense(out) if sp.issparse(out) else out)


def assert_close(actual, expected, rtol: float = RTOL, what: str = "") -> None:
    """Normwise relative: max |actual - expected| <= rtol * max |expected|."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (what, a.shape, e.shape)
    err = np.max(np.abs(a - e), initial=0.0)
    scale = max(np.max(np.abs(e), initial=0.0), np.finfo(float).tiny)
    assert err <= rtol * scale, f"{what}: relative error {err / scale:.3g} > {rtol:g}"


PCA_ATTRS = (
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "mean_",
    "noise_variance_",
)
TSVD_ATTRS = (
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
)


def assert_fitted_like(ours, ref, attrs, rtol=RTOL) -> None:
    for a in attrs:
        assert_close(getattr(ours, a), getattr(ref, a), rtol, a)
    assert ours.n_features_in_ == ref.n_features_in_
    for a in ("n_components_", "n_samples_"):
        if hasattr(ref, a):
            assert getattr(ours, a) == getattr(ref, a), a


@contextlib.contextmanager
def count_computes() -> Iterator[list[int]]:
    """Count dask computations (a synchronous scheduler that counts its calls)."""
    calls = [0]

    def get(dsk, keys, **kwargs):
        calls[0] += 1
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=get):
        yield calls


# ------------------------------------------------------------------ scikit-learn's checks


@parametrize_with_checks([PCA(), TruncatedSVD()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ exact solvers, every input


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["gram", "qr"])
def test_pca_exact_matches_sklearn(solver, kind, tmp_path):
    X = TALL_SPARSE if kind == "drm-sparse" else TALL
    if solver == "qr" and kind == "drm-sparse":
        X = TALL_SPARSE.toarray()  # qr is dense-only; the sparse case is an error test
        kind = "drm"
    data = make_input(kind, X, tmp_path)
    ref = SkPCA(n_components=5, svd_solver="full").fit(dense(X))
    pca = PCA(n_components=5, svd_solver=solver).fit(data)
    assert pca.svd_solver_ == pca._fit_svd_solver == solver
    assert_fitted_like(pca, ref, PCA_ATTRS)
    out = pca.transform(data)
    assert isinstance(out, OUT_TYPE[kind])
    assert_close(values(out), ref.transform(dense(X)), what="transform")
    assert values(out).dtype == np.float64


@pytest.mark.parametrize(
    ("X", "kinds"),
    [
        (TALL, KINDS),  # tall dense: dlinalg.svd
        (TALL_SPARSE, ["numpy", "drm-sparse", "dask"]),  # tall sparse, never densified
        (WIDE, ["numpy", "drm"]),  # wide dense: row Gram + Rayleigh-Ritz
        (WIDE_SPARSE, ["numpy", "drm-sparse"]),  # wide sparse: the same on the non-zeros
    ],
    ids=["tall", "tall-sparse", "wide", "wide-sparse"],
)
def test_truncated_svd_exact_matches_sklearn(X, kinds, tmp_path):
    ref = SkTruncatedSVD(n_components=4, algorithm="arpack", tol=0.0).fit(dense(X))
    for kind in kinds:
        data = make_input(kind, X, tmp_path / kind)
        svd = TruncatedSVD(n_components=4, algorithm="exact").fit(data)
        assert_fitted_like(svd, ref, TSVD_ATTRS)
        out = svd.transform(data)
        assert isinstance(out, OUT_TYPE[kind]), kind
        assert_close(values(out), ref.transform(dense(X)), what=f"transform ({kind})")


@pytest.mark.parametrize("solver", ["gram", "qr"])
def test_pca_wide_matches_sklearn(solver):
    # centred wide data has rank n_samples - 1: compare the components that exist
    ref = SkPCA(n_components=20, svd_solver="full").fit(WIDE)
    pca = PCA(n_components=20, svd_solver=solver).fit(dl.from_array(WIDE, chunks=7))
    assert_fitted_like(pca, ref, PCA_ATTRS)
    full = PCA(svd_solver=solver).fit(WIDE)  # n_components=None: min(30, 80) = 30
    assert full.n_components_ == 30
    np.testing.assert_allclose(full.components_ @ full.components_.T, np.eye(30), atol=1e-12)


def test_pca_transform_keeps_sparse_input_sparse():
    A = dl.from_array(TALL_SPARSE, chunks=CHUNK)
    out = PCA(3, svd_solver="gram").fit(A).transform(A)
    ref = SkPCA(3, svd_solver="full").fit(TALL_SPARSE.toarray())
    assert_close(values(out), ref.transform(TALL_SPARSE.toarray()))
    assert "Leaf scipy.sparse" in out.explain()  # X @ W - c: the sparse leaf is multiplied as is


# ------------------------------------------------------------------ randomized solvers


def hmt_residual(spectrum: np.ndarray, width: int, q: int, rank: int) -> float:
    """Bound on ``||(I - Q Q^T) A||`` for a ``width``-column sketch after ``q`` power iterations.

    Halko, Martinsson and Tropp (2011), eq. (1.11) with Section 10 (the bound
    quoted in ``dlinalg.ssvd``): for a target rank ``rank`` and oversampling
    ``p = width - rank``, with probability at least ``1 - 3 p**-p``,
    ``||(I - Q Q^T) A|| <= (1 + 9 sqrt(width) sqrt(min(m, n)))**(1/(2q+1)) sigma_{rank+1}``.
    The algorithm only sees ``width``, so any split applies; splitting at the
    signal rank gives an informative bound. From it: singular values move by
    at most the residual (Weyl), a component with gap ``delta`` to its
    neighbours turns by ``sin theta <= residual / delta`` (Wedin).
    """
    factor = (1 + 9 * np.sqrt(width) * np.sqrt(spectrum.size)) ** (1 / (2 * q + 1))
    return factor * spectrum[rank]


# Rank-8 signal over a noise floor of 1e-6 (40 features). A 15-column sketch
# split as rank 8 + oversampling 7 fails the bound with probability < 3 * 7**-7.
SIGNAL = np.array([10.0, 8.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.5])
SPECTRUM = np.concatenate([SIGNAL, 1e-6 * 0.9 ** np.arange(32)])
K, P, Q = 5, 10, 2  # components, oversampling, power iterations


def randomized_tolerances() -> tuple[float, float, float]:
    """Normwise relative tolerances (singular values, components, variances) from the bound."""
    residual = hmt_residual(SPECTRUM, K + P, Q, rank=SIGNAL.size)
    gap = np.min(SPECTRUM[:K] - SPECTRUM[1 : K + 1])  # 1.0
    s_tol = residual / SPECTRUM[0]
    # entries of unit vectors: max |v| >= 1/sqrt(n), ||v - v_hat|| <= 2 sin theta
    v_tol = 2 * np.sqrt(SPECTRUM.size) * residual / gap
    return s_tol, v_tol, 2 * s_tol + s_tol**2  # variances: s**2


@pytest.mark.parametrize("kind", ["numpy", "dask", "drm-sparse"])
def test_pca_randomized_within_hmt_bound(kind, tmp_path):
    X = _with_spectrum(500, SPECTRUM, seed=4, offset=3.0)
    s_tol, v_tol, ev_tol = randomized_tolerances()
    assert v_tol < 1e-4  # the bound says something
    ref = SkPCA(n_components=K, svd_solver="full").fit(X)
    pca = PCA(K, svd_solver="randomized", n_oversamples=P, iterated_power=Q, random_state=0)
    pca.fit(make_input(kind, sp.csr_array(X) if kind == "drm-sparse" else X, tmp_path))
    assert pca.svd_solver_ == "randomized"
    assert_close(pca.singular_values_, ref.singular_values_, s_tol, "singular_values_")
    assert_close(pca.explained_variance_, ref.explained_variance_, ev_tol, "ev")
    assert_close(pca.explained_variance_ratio_, ref.explained_variance_ratio_, ev_tol, "ratio")
    assert_close(pca.components_, ref.components_, v_tol, "components_")
    assert_close(pca.mean_, ref.mean_, what="mean_")  # exact: one pass of column means
    # total variance (exact) minus the top K variances: K times their absolute error
    atol = K * ev_tol * ref.explained_variance_[0] / (SPECTRUM.size - K)
    assert abs(pca.noise_variance_ - ref.noise_variance_) <= atol


def test_truncated_svd_randomized_within_hmt_bound():
    X = _with_spectrum(500, SPECTRUM, seed=5, offset=0.0)  # not centred: this spectrum
    s_tol, v_tol, _ = randomized_tolerances()
    ref = SkTruncatedSVD(K, algorithm="arpack", tol=0.0).fit(X)
    svd = TruncatedSVD(K, n_iter=Q, n_oversamples=P, random_state=0)
    svd.fit(dl.from_array(X, chunks=64))
    assert_close(svd.singular_values_, ref.singular_values_, s_tol, "singular_values_")
    assert_close(svd.components_, ref.components_, v_tol, "components_")
    # var(X v): |X (v - v_hat)| <= sigma_1 |v - v_hat|, twice (square), over max var
    ev_tol = 4 * v_tol * SPECTRUM[0] ** 2 / (X.shape[0] * ref.explained_variance_[0])
    assert_close(svd.explained_variance_, ref.explained_variance_, ev_tol, "ev")


def test_randomized_is_deterministic_across_inputs_and_chunkings():
    def fit(data):
        return PCA(4, svd_solver="randomized", iterated_power=1, random_state=7).fit(data)

    first = fit(WIDE)
    for data in (da.from_array(WIDE, chunks=(7, -1)), dl.from_array(WIDE, chunks=11)):
        assert_fitted_like(fit(data), first, PCA_ATTRS, rtol=1e-12)
    rs = np.random.RandomState(0)  # an instance is drawn from, as in scikit-learn
    assert not np.allclose(
        TruncatedSVD(3, n_iter=0, random_state=rs).fit(WIDE).components_,
        TruncatedSVD(3, n_iter=0, random_state=rs).fit(WIDE).components_,
    )


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_pca_variance_fraction(fraction):
    ref = SkPCA(fraction, svd_solver="full").fit(TALL)
    for solver in ("gram", "qr", "auto"):
        pca = PCA(fraction, svd_solver=solver).fit(TALL)
        assert pca.n_components_ == ref.n_components_
        assert_fitted_like(pca, ref, PCA_ATTRS)


@pytest.mark.parametrize(("alias", "solver"), [("full", "qr"), ("covariance_eigh", "gram")])
def test_pca_sklearn_solver_names_are_aliases(alias, solver):
    a = PCA(3, svd_solver=alias).fit(TALL)
    b = PCA(3, svd_solver=solver).fit(TALL)
    assert a.svd_solver_ == a._fit_svd_solver == solver
    assert a.svd_solver == alias  # the parameter is kept as given
    assert_fitted_like(a, b, PCA_ATTRS, rtol=0)


@pytest.mark.parametrize(
    ("shape", "sparse", "n_components", "expected"),
    [
        ((10_000, 100), False, 5, "gram"),  # tall-skinny: one pass
        ((20_000, 2000), False, 5, "gram"),  # our threshold: 2000 features
        ((20_000, 2001), False, 5, "randomized"),  # beyond it, few components
        ((19_999, 2000), False, 5, "randomized"),  # fewer than 10 samples per feature
        ((300, 400), False, 5, "qr"),  # small: exact
        ((300, 400), True, 5, "gram"),  # small and sparse: exact without densifying
        ((5000, 3000), False, None, "qr"),  # all components: exact
        ((5000, 3000), False, 0.9, "qr"),  # a variance fraction needs every eigenvalue
        ((5000, 3000), False, 2500, "qr"),  # >= 80% of min(shape): exact
        ((5000, 3000), False, 2399, "randomized"),  # < 80%
        ((1000, 100_000), True, 10, "randomized"),  # wide sparse
        ((1000, 100_000), True, 900, "gram"),  # many components of sparse data
    ],
)
def test_pca_auto_policy(shape, sparse, n_components, expected):
    A = dl.eye(*shape, sparse=True) if sparse else dl.zeros(shape)  # lazy, never computed
    assert PCA(n_components)._choose_solver(Input(A, "drm")) == expected


@pytest.mark.parametrize(
    ("X", "expected"), [(TALL, "gram"), (TALL[:40], "qr"), (sp.csr_array(TALL[:40]), "gram")]
)
def test_pca_svd_solver_is_public_after_fit(X, expected):
    """What "auto" chose is the public fitted attribute ``svd_solver_``, set only by fit."""
    pca = PCA(3)
    assert not hasattr(pca, "svd_solver_")
    pca.fit(X)
    assert pca.svd_solver == "auto"
    assert pca.svd_solver_ == expected
    assert "svd_solver_" not in pca.get_params()
    pca.set_params(svd_solver="randomized", random_state=0).fit(X)
    assert pca.svd_solver_ == "randomized"


def test_float32_in_float32_out():
    X32 = TALL.astype(np.float32)
    ref = SkPCA(4, svd_solver="full").fit(X32.astype(np.float64))
    for solver in ("gram", "qr", "randomized"):
        pca = PCA(4, svd_solver=solver, iterated_power=4, random_state=0).fit(X32)
        for a in PCA_ATTRS:
            assert np.asarray(getattr(pca, a)).dtype == np.float32, (solver, a)
        # computed in float64, rounded once: float32 precision of the truth
        assert_fitted_like(pca, ref, PCA_ATTRS, rtol=1e-5)
        assert pca.transform(X32).dtype == np.float32
        assert pca.transform(dl.from_array(X32, chunks=CHUNK)).dtype == np.float32
        assert_close(pca.transform(X32), ref.transform(X32.astype(np.float64)), 1e-5)
    svd = TruncatedSVD(3, algorithm="exact").fit(da.from_array(X32, chunks=(CHUNK, -1)))
    assert svd.components_.dtype == np.float32
    assert svd.transform(da.from_array(X32, chunks=(CHUNK, -1))).dtype == np.float32


def test_whiten_matches_sklearn_and_round_trips():
    ref = SkPCA(5, whiten=True, svd_solver="full").fit(TALL)
    pca = PCA(5, whiten=True, svd_solver="gram").fit(TALL)
    assert_fitted_like(pca, ref, PCA_ATTRS)
    Z = pca.transform(dl.from_array(TALL, chunks=CHUNK))
    assert_close(values(Z), ref.transform(TALL))
    np.testing.assert_allclose(values(Z).var(axis=0, ddof=1), 1.0, rtol=1e-12)
    assert_close(values(pca.inverse_transform(Z)), ref.inverse_transform(ref.transform(TALL)))
    assert_close(pca.get_covariance(), ref.get_covariance())
    assert_close(pca.get_precision(), ref.get_precision())


@pytest.mark.parametrize("kind", ["numpy", "dask", "drm", "xarray"])
def test_inverse_transform_round_trip(kind, tmp_path):
    data = make_input(kind, TALL, tmp_path)
    pca = PCA(svd_solver="qr").fit(data)  # all 12 components: an exact round trip
    Z = pca.transform(data)
    back = pca.inverse_transform(Z)
    assert isinstance(back, OUT_TYPE[kind])
    assert_close(values(back), TALL, 1e-12)
    svd = TruncatedSVD(12, algorithm="exact").fit(data)
    assert_close(values(svd.inverse_transform(svd.transform(data))), TALL, 1e-12)
    if kind == "xarray":  # the features come back with their coordinate
        assert back.dims == ("sample", "feature")
        assert list(back["feature"].values) == NAMES
        assert list(back["sample"].values) == list(data["sample"].values)


def test_score_samples_and_covariance_match_sklearn():
    ref = SkPCA(4, svd_solver="full").fit(TALL)
    pca = PCA(4, svd_solver="gram").fit(TALL)
    assert_close(pca.get_covariance(), ref.get_covariance())
    assert_close(pca.get_precision(), ref.get_precision())
    assert_close(pca.score_samples(TALL), ref.score_samples(TALL))
    lazy = pca.score_samples(dl.from_array(TALL, chunks=CHUNK))
    assert isinstance(lazy, dl.LazyResult)
    assert_close(values(lazy), ref.score_samples(TALL))
    assert pca.score(da.from_array(TALL, chunks=CHUNK)) == pytest.approx(ref.score(TALL), 1e-12)


# ------------------------------------------------------------------ xarray labels


@pytest.mark.parametrize("kind", ["xarray", "xarray-numpy"])
def test_xarray_in_labeled_xarray_out(kind, tmp_path):
    x = make_input(kind, TALL, tmp_path).assign_coords(unit=("feature", ["m"] * 12))
    pca = PCA(3, svd_solver="gram").fit(x)
    ref = SkPCA(3, svd_solver="full").fit(TALL)
    comp = pca.components_
    assert isinstance(comp, xr.DataArray)
    assert comp.dims == ("component", "feature")
    assert list(comp["feature"].values) == NAMES
    assert "unit" in comp.coords
    assert list(comp["component"].values) == ["pca0", "pca1", "pca2"]
    assert pca.mean_.dims == ("feature",)
    assert pca.explained_variance_.dims == ("component",)
    assert list(pca.feature_names_in_) == NAMES
    out = pca.transform(x)
    assert out.dims == ("sample", "component")
    assert np.array_equal(out["sample"].values, x["sample"].values)
    assert isinstance(out.data, da.Array) == (kind == "xarray")  # lazy exactly when x is
    assert_close(out.values, ref.transform(TALL))
    scores = pca.score_samples(x)
    assert scores.dims == ("sample",)
    assert scores.name is None
    svd = TruncatedSVD(2, algorithm="exact").fit(x)
    assert svd.components_.dims == ("component", "feature")
    assert list(svd.transform(x)["component"].values) == ["truncatedsvd0", "truncatedsvd1"]


def test_feature_names_are_checked_for_labeled_lazy_input():
    x = make_input("xarray", TALL, None)
    pca = PCA(2).fit(x)
    with pytest.raises(ValueError, match="feature names should match"):
        pca.transform(x.assign_coords(feature=NAMES[::-1]))
    with pytest.warns(UserWarning, match="fitted with feature names"):
        pca.transform(dl.from_array(TALL))
    assert not hasattr(PCA(2).fit(dl.from_array(TALL)), "feature_names_in_")
    with pytest.raises(ValueError, match="X has 11 features, but PCA is expecting 12"):
        pca.transform(dl.from_array(TALL[:, :11]))


# ------------------------------------------------------------------ laziness and passes


def test_transform_is_lazy_and_fit_uses_few_passes():
    A = dl.from_array(TALL, chunks=CHUNK)
    with count_computes() as calls:
        pca = PCA(3, svd_solver="gram").fit(A)
    assert calls[0] == 1  # mean and covariance in one pass
    with count_computes() as calls:
        out = [pca.transform(A), pca.transform(da.from_array(TALL, chunks=(CHUNK, -1)))]
        x = xr.DataArray(da.from_array(TALL, chunks=(CHUNK, -1)), dims=("sample", "feature"))
        out.append(pca.transform(x))
        out.append(pca.inverse_transform(out[0]))
    assert calls[0] == 0
    with count_computes() as calls:
        randomized_pca(A, 3, p=10, q=2, seed=0)
    spca_calls = calls[0]
    with count_computes() as calls:
        PCA(3, svd_solver="randomized", iterated_power=2, random_state=0).fit(A)
    assert calls[0] == spca_calls  # the statistics come with randomized_pca's passes
    with count_computes() as calls:
        dl.ssvd(A, 3, p=10, q=2, seed=0)
    ssvd_calls = calls[0]
    with count_computes() as calls:
        TruncatedSVD(3, n_iter=2, random_state=0).fit(A)
    assert calls[0] == ssvd_calls + 1  # then one for both variances


def test_distributed_and_sync_agree(scheduler):
    A = da.from_array(TALL, chunks=(CHUNK, -1))
    ref = SkPCA(4, svd_solver="full").fit(TALL)
    pca = PCA(4, svd_solver="gram").fit(A)
    assert_fitted_like(pca, ref, PCA_ATTRS)
    assert_close(pca.transform(A).compute(), ref.transform(TALL))
    S = dl.from_array(TALL_SPARSE, chunks=CHUNK)
    sref = SkTruncatedSVD(3, algorithm="arpack", tol=0.0).fit(TALL_SPARSE)
    svd = TruncatedSVD(3, algorithm="exact").fit(S)
    assert_fitted_like(svd, sref, TSVD_ATTRS)
    rnd = PCA(3, svd_solver="randomized", random_state=0).fit(S)
    assert_close(
        rnd.components_,
        PCA(3, svd_solver="randomized", random_state=0).fit(TALL_SPARSE).components_,
        1e-12,
    )


# ------------------------------------------------------------------ errors


def test_nan_is_refused():
    X = TALL.copy()
    X[7, 3] = np.nan
    for est in (PCA(2), TruncatedSVD(2)):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            est.fit(X)  # numpy: scikit-learn's check_array, before anything is built
    A = dl.from_array(X, chunks=CHUNK)
    for est in (
        PCA(2, svd_solver="gram"),
        PCA(2, svd_solver="qr"),
        PCA(2, svd_solver="randomized"),
        TruncatedSVD(2),
        TruncatedSVD(2, algorithm="exact"),
    ):
        with pytest.raises(NonFiniteError):  # a ValueError, found in the first pass
            est.fit(A)
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(TALL).transform(X)


@pytest.mark.parametrize(
    ("est", "data", "error", "match"),
    [
        (PCA(svd_solver="arpack"), TALL, ValueError, "'randomized'"),
        (PCA("mle"), TALL, ValueError, "'mle' is not supported"),
        (PCA(0), TALL, ValueError, "n_components"),
        (PCA(1.5), TALL, ValueError, "n_components"),
        (PCA(True), TALL, ValueError, "n_components"),
        (PCA(13), TALL, ValueError, r"min\(n_samples, n_features\)=12"),
        (PCA(0.5, svd_solver="randomized"), TALL, ValueError, "exact solver"),
        (PCA(svd_solver="qr"), TALL_SPARSE, TypeError, "needs dense input"),
        (PCA(svd_solver="full"), dl.from_array(TALL_SPARSE), TypeError, "needs dense input"),
        (PCA(svd_solver="nope"), TALL, ValueError, "svd_solver"),
        (PCA(iterated_power=-1), TALL, ValueError, "iterated_power"),
        (PCA(whiten="yes"), TALL, TypeError, "whiten"),
        (PCA(), dl.from_array(TALL[:1]), ValueError, "n_samples=1"),
        (TruncatedSVD(algorithm="arpack"), TALL, ValueError, "algorithm='exact'"),
        (TruncatedSVD(13), dl.from_array(TALL), ValueError, "n_features=12"),
        (TruncatedSVD(0), TALL, ValueError, "n_components"),
        (TruncatedSVD(), dl.from_array(TALL[:, :1]), ValueError, "1 feature"),
        (TruncatedSVD(tol=-1.0), TALL, ValueError, "tol"),
        # randomized solvers refuse k above the numerical rank (scikit-learn pads with zeros);
        # PCA's k = n_samples on wide data is not refused: centring's lost rank is a zero
        # component (tests/conformance/test_sklearn_pca.py)
        (TruncatedSVD(3), np.ones((10, 6)), ValueError, "numerical rank 1 < k=3"),
        (
            PCA(3, svd_solver="randomized"),
            np.arange(60.0).reshape(10, 6),
            ValueError,
            "numerical rank 1 < k=3",
        ),
    ],
)
def test_bad_parameters_are_refused_at_fit(est, data, error, match):
    with pytest.raises(error, match=match):
        est.fit(data)


@pytest.mark.parametrize("offset", [1e7, 1e8])
def test_truncated_svd_randomized_variance_far_from_zero(offset):
    """Review finding: s**2/m - mean**2 cancelled to noise for data far from zero."""
    from dlinalg.models import TruncatedSVD

    X = offset + np.random.default_rng(0).standard_normal((2000, 4))
    fitted = TruncatedSVD(2, algorithm="randomized", random_state=0).fit(X)
    np.testing.assert_allclose(
        fitted.explained_variance_, fitted.transform(X).var(axis=0), rtol=1e-6
    )
    exact = TruncatedSVD(2, algorithm="exact").fit(X)
    np.testing.assert_allclose(fitted.explained_variance_, exact.explained_variance_, rtol=1e-6)
