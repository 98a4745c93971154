"""scikit-learn's own TruncatedSVD tests, run against :class:`dlinalg.models.TruncatedSVD`.

Ported from ``sklearn/decomposition/tests/test_truncated_svd.py`` (scikit-learn
1.9, the wheel in the virtualenv); each case names the test function it comes
from and keeps its tolerances. Each case runs on numpy/scipy.sparse input
(numpy out) and on a DRM with one row block and with several (lazy out,
computed here, equal to the in-memory results). ``global_random_seed`` is
scikit-learn's default, 42.

dlinalg documents ``algorithm="arpack"`` as unavailable (ValueError pointing to
``"exact"``): every "arpack" case asserts that refusal and then runs the same
checks with ``"exact"``, the exact solver that replaces it. scikit-learn's
``TruncatedSVD(algorithm="arpack")`` or ``PCA(svd_solver="arpack")`` stays the
reference where the source compares with it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from dlinalg.models import PCA, TruncatedSVD
from sklearn.decomposition import PCA as SkPCA
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.utils import check_random_state
from sklearn.utils._testing import assert_allclose, assert_array_less

import dlinalg as dl

SOURCE = "sklearn/decomposition/tests/test_truncated_svd.py"
SEED = 42  # scikit-learn's default global_random_seed
SVD_SOLVERS = ["arpack", "randomized"]
#: numpy / scipy.sparse; a DRM of one row block; a DRM of several (uneven) row blocks
KINDS = ["numpy", "drm-1", "drm-n"]


def as_kind(X, kind):
    """X as the input kind: as is, or a DRM (CSR blocks for sparse X)."""
    if kind == "numpy":
        return X
    X = X.tocsr() if sp.issparse(X) else np.asarray(X)
    m = X.shape[0]
    return dl.from_array(X, chunks=m if kind == "drm-1" else -(-m // 3))


def out(v, kind):
    """The result as numpy; numpy in must give numpy out, a DRM in a lazy result."""
    if kind == "numpy":
        assert isinstance(v, np.ndarray)
        return v
    assert isinstance(v, dl.DRM | dl.LazyResult), type(v)
    return np.asarray(v.compute())


def algorithm_of(solver, X):
    """dlinalg's algorithm for the source's: "arpack" is refused (documented), "exact" runs."""
    if solver != "arpack":
        return solver
    with pytest.raises(ValueError, match=r"algorithm='arpack' is not available.*'exact'"):
        TruncatedSVD(2, algorithm="arpack").fit(X)
    return "exact"


@pytest.fixture(scope="module")
def X_sparse():
    # the source's fixture: an X that looks somewhat like a small tf-idf matrix
    rng = check_random_state(42)
    X = sp.random_array((60, 55), density=0.2, format="csr", rng=rng)
    X.data[:] = 1 + np.log(X.data)
    return X


# test_truncated_svd.py::test_solvers (dlinalg's "exact" for the source's "arpack")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["randomized"])
@pytest.mark.parametrize("sparsity", ["dense", "sparse"])
def test_solvers(X_sparse, solver, sparsity, kind):
    X = X_sparse if sparsity == "sparse" else X_sparse.toarray()
    svd_a = TruncatedSVD(30, algorithm=algorithm_of("arpack", X))
    svd = TruncatedSVD(30, algorithm=solver, random_state=42, n_oversamples=100)
    Xa = out(svd_a.fit_transform(as_kind(X, kind)), kind)[:, :6]
    Xr = out(svd.fit_transform(as_kind(X, kind)), kind)[:, :6]
    assert_allclose(Xa, Xr, rtol=2e-3)
    comp_a = np.abs(svd_a.components_)
    comp = np.abs(svd.components_)
    assert_allclose(comp_a[:9], comp[:9], rtol=1e-3)
    assert_allclose(comp_a[9:], comp[9:], atol=1e-2)
    ref = SkTruncatedSVD(30, algorithm="arpack").fit_transform(X)[:, :6]
    assert_allclose(Xa, ref, rtol=2e-3)


# test_truncated_svd.py::test_attributes
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_components", [10, 25, 41, 55])
def test_attributes(n_components, X_sparse, kind):
    n_features = X_sparse.shape[1]
    tsvd = TruncatedSVD(n_components).fit(as_kind(X_sparse, kind))
    assert tsvd.n_components == n_components
    assert tsvd.components_.shape == (n_components, n_features)


# test_truncated_svd.py::test_too_many_components ("arpack" rows: the refusal, then
# "exact", which also refuses n_components > min(X.shape); 55 is allowed by "exact",
# as by "randomized": only "arpack" needs n_components < min(X.shape))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("algorithm", "n_components"), [("arpack", 55), ("arpack", 56), ("randomized", 56)]
)
def test_too_many_components(X_sparse, algorithm, n_components, kind):
    algorithm = algorithm_of(algorithm, X_sparse)
    tsvd = TruncatedSVD(n_components=n_components, algorithm=algorithm)
    if n_components == 55:
        assert tsvd.fit(as_kind(X_sparse, kind)).components_.shape == (55, 55)
        return
    with pytest.raises(ValueError, match=r"n_components=56 must be between 1 and"):
        tsvd.fit(as_kind(X_sparse, kind))


# test_truncated_svd.py::test_sparse_formats (the DRM kinds take CSR blocks)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["array", "csr", "csc", "coo", "lil"])
def test_sparse_formats(fmt, X_sparse, kind):
    n_samples = X_sparse.shape[0]
    Xfmt = X_sparse.toarray() if fmt == "dense" else getattr(X_sparse, "to" + fmt)()
    if kind != "numpy" and fmt == "lil":
        Xfmt = Xfmt.tocsr()
    tsvd = TruncatedSVD(n_components=11)
    Xtrans = out(tsvd.fit_transform(as_kind(Xfmt, kind)), kind)
    assert Xtrans.shape == (n_samples, 11)
    Xtrans = out(tsvd.transform(as_kind(Xfmt, kind)), kind)
    assert Xtrans.shape == (n_samples, 11)


# test_truncated_svd.py::test_inverse_transform
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("algo", SVD_SOLVERS)
def test_inverse_transform(algo, X_sparse, kind):
    algo = algorithm_of(algo, X_sparse)
    tsvd = TruncatedSVD(n_components=52, random_state=42, algorithm=algo)
    Xt = tsvd.fit_transform(as_kind(X_sparse, kind))
    Xinv = out(tsvd.inverse_transform(Xt), kind)
    assert_allclose(Xinv, X_sparse.toarray(), rtol=1e-1, atol=2e-1)


# test_truncated_svd.py::test_integers (a DRM is made from float data: numpy kind only)
def test_integers(X_sparse):
    n_samples = X_sparse.shape[0]
    Xint = X_sparse.astype(np.int64)
    tsvd = TruncatedSVD(n_components=6)
    Xtrans = tsvd.fit_transform(Xint)
    assert Xtrans.shape == (n_samples, tsvd.n_components)


# test_truncated_svd.py::test_explained_variance
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sparsity", ["dense", "sparse"])
@pytest.mark.parametrize("n_components", [10, 20])
@pytest.mark.parametrize("solver", SVD_SOLVERS)
def test_explained_variance(X_sparse, sparsity, n_components, solver, kind):
    X = X_sparse if sparsity == "sparse" else X_sparse.toarray()
    svd = TruncatedSVD(n_components, algorithm=algorithm_of(solver, X))
    X_tr = out(svd.fit_transform(as_kind(X, kind)), kind)
    assert_array_less(0.0, svd.explained_variance_ratio_)
    assert_array_less(svd.explained_variance_ratio_.sum(), 1.0)
    total_variance = np.var(X_sparse.toarray(), axis=0).sum()
    variances = np.var(X_tr, axis=0)
    true_explained_variance_ratio = variances / total_variance
    assert_allclose(svd.explained_variance_ratio_, true_explained_variance_ratio)


# test_truncated_svd.py::test_explained_variance_components_10_20
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sparsity", ["dense", "sparse"])
@pytest.mark.parametrize("solver", SVD_SOLVERS)
def test_explained_variance_components_10_20(X_sparse, sparsity, solver, kind):
    X = X_sparse if sparsity == "sparse" else X_sparse.toarray()
    solver = algorithm_of(solver, X)
    svd_10 = TruncatedSVD(10, algorithm=solver, n_iter=10).fit(as_kind(X, kind))
    svd_20 = TruncatedSVD(20, algorithm=solver, n_iter=10).fit(as_kind(X, kind))
    assert_allclose(
        svd_10.explained_variance_ratio_, svd_20.explained_variance_ratio_[:10], rtol=5e-3
    )
    assert svd_20.explained_variance_ratio_.sum() > svd_10.explained_variance_ratio_.sum()


# test_truncated_svd.py::test_singular_values_consistency
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", SVD_SOLVERS)
def test_singular_values_consistency(solver, kind):
    rng = np.random.RandomState(SEED)
    n_samples, n_features = 100, 80
    X = rng.randn(n_samples, n_features)
    pca = TruncatedSVD(n_components=2, algorithm=algorithm_of(solver, X), random_state=rng)
    pca.fit(as_kind(X, kind))
    X_pca = out(pca.transform(as_kind(X, kind)), kind)
    assert_allclose(
        np.sum(pca.singular_values_**2.0), np.linalg.norm(X_pca, "fro") ** 2.0, rtol=1e-2
    )
    assert_allclose(pca.singular_values_, np.sqrt(np.sum(X_pca**2.0, axis=0)), rtol=1e-2)


# test_truncated_svd.py::test_singular_values_expected (the regression test of issue
# 13's defect 2: on refit the singular values agree to 1e-14)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", SVD_SOLVERS)
def test_singular_values_expected(solver, kind):
    rng = np.random.RandomState(SEED)
    n_samples, n_features = 100, 110
    X = rng.randn(n_samples, n_features)
    pca = TruncatedSVD(n_components=3, algorithm=algorithm_of(solver, X), random_state=rng)
    X_pca = out(pca.fit_transform(as_kind(X, kind)), kind)
    X_pca /= np.sqrt(np.sum(X_pca**2.0, axis=0))
    X_pca[:, 0] *= 3.142
    X_pca[:, 1] *= 2.718
    X_hat_pca = np.dot(X_pca, pca.components_)
    pca.fit(as_kind(X_hat_pca, kind))
    assert_allclose(pca.singular_values_, [3.142, 2.718, 1.0], rtol=1e-14)


def test_randomized_transform_is_consistent_on_tall_data():
    """Defect 2 of issue 13, beyond the source (whose data is wide, where scikit-learn's
    transposed sketch is exact): on tall data the scores of the randomized fit are
    orthogonal, of norms ``singular_values_`` and variances ``explained_variance_``."""
    X = np.random.RandomState(0).randn(100, 80)
    for kind in KINDS:
        svd = TruncatedSVD(2, random_state=0)
        Xt = out(svd.fit_transform(as_kind(X, kind)), kind)
        G = Xt.T @ Xt
        assert_allclose(np.sqrt(np.diag(G)), svd.singular_values_, rtol=1e-13)
        assert abs(G[0, 1]) < 1e-12 * G[0, 0]
        assert_allclose(np.var(Xt, axis=0), svd.explained_variance_, rtol=1e-12)
        exact = np.linalg.svd(X, compute_uv=False)[:2]
        assert np.all(svd.singular_values_ <= exact * (1 + 1e-12))  # Ritz values: lower bounds
        assert_allclose(svd.singular_values_, exact, rtol=5e-2)


# test_truncated_svd.py::test_truncated_svd_eq_pca ("arpack": the refusals, then
# dlinalg's exact solvers, compared with scikit-learn's arpack at the source's tolerances)
@pytest.mark.parametrize("kind", KINDS)
def test_truncated_svd_eq_pca(X_sparse, kind):
    X_dense = X_sparse.toarray()
    X_c = X_dense - X_dense.mean(axis=0)
    params = {"n_components": 10, "random_state": 42}
    svd = TruncatedSVD(algorithm=algorithm_of("arpack", X_c), **params)
    with pytest.raises(ValueError, match="svd_solver='arpack' is not available"):
        PCA(svd_solver="arpack", **params).fit(X_c)
    pca = PCA(svd_solver="full", **params)
    Xt_svd = out(svd.fit_transform(as_kind(X_c, kind)), kind)
    Xt_pca = out(pca.fit_transform(as_kind(X_c, kind)), kind)
    assert_allclose(Xt_svd, Xt_pca, rtol=1e-9)
    assert_allclose(pca.mean_, 0, atol=1e-9)
    assert_allclose(svd.components_, pca.components_)
    ref = SkPCA(svd_solver="arpack", **params).fit(X_c)
    assert_allclose(pca.components_, ref.components_, rtol=1e-7, atol=1e-9)


# test_truncated_svd.py::test_fit_transform ("arpack" rows: the refusal, then "exact";
# power_iteration_normalizer and tol are accepted and documented as not changing the
# computation)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("algorithm", "tol", "normalizer"),
    [
        ("randomized", 0.0, "auto"),
        ("randomized", 0.0, "QR"),
        ("randomized", 0.0, "LU"),
        ("randomized", 0.0, "none"),
        ("arpack", 1e-6, "auto"),
        ("arpack", 0.0, "auto"),
    ],
)
@pytest.mark.parametrize("sparsity", ["dense", "sparse"])
def test_fit_transform(X_sparse, algorithm, tol, sparsity, normalizer, kind):
    X = X_sparse if sparsity == "sparse" else X_sparse.toarray()
    svd = TruncatedSVD(
        n_components=5,
        n_iter=7,
        random_state=42,
        algorithm=algorithm_of(algorithm, X),
        power_iteration_normalizer=normalizer,
        tol=tol,
    )
    X_transformed_1 = out(svd.fit_transform(as_kind(X, kind)), kind)
    X_transformed_2 = out(svd.fit(as_kind(X, kind)).transform(as_kind(X, kind)), kind)
    assert_allclose(X_transformed_1, X_transformed_2)
