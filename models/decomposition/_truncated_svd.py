"""Truncated SVD (latent semantic analysis) on distributed row matrices."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Hidden, StrOptions

import dlinalg as dl
from dlinalg.cluster import compute_collections
from dlinalg.decomp.moments import comoments_graph

from .._validation import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    POWER_ITERATION_NORMALIZERS,
    TOL,
    Input,
)
from ._base import (
    LinearProjection,
    exact_svd,
    ritz_rotation,
    seed_from,
)

__all__ = ["TruncatedSVD"]


class TruncatedSVD(LinearProjection):
    """Dimensionality reduction by truncated SVD (aka LSA), scikit-learn's API on dlinalg.

    Unlike :class:`PCA`, the data is not centred, so sparse matrices (term
    counts, tf-idf) are decomposed as they are, never densified. Accepts
    numpy, scipy.sparse, Dask arrays, :class:`dlinalg.DRM`, Zarr store paths
    and xarray DataArrays.

    Parameters
    ----------
    n_components : int, default=2
        Number of components, ``1 <= n_components <= min(n_samples,
        n_features)``.
    algorithm : {"randomized", "exact"}, default="randomized"
        ``"randomized"``: Halko et al.'s randomized SVD (:func:`dlinalg.ssvd`).
        ``"exact"``: for ``n_samples >= n_features``, :func:`dlinalg.svd` (QR,
        then the SVD of the small factor); for wide data, the ``n_samples x
        n_samples`` row Gram ``X X^T`` (one pass; ``X`` is gathered into one
        block, so it must fit in one worker's memory: for sparse ``X``, its
        non-zeros), its top eigenvectors ``U``, then the SVD of ``X^T U``
        (one pass, a Rayleigh-Ritz step): exact, with the Gram's squared
        condition number for small singular values. scikit-learn's
        ``"arpack"`` is not available (ValueError pointing to ``"exact"``).
    n_iter : int, default=5
        Power iterations of the randomized solver (each costs at most one pass).
    n_oversamples : int, default=10
        Extra random vectors sampled by the randomized solver.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Accepted for compatibility: dlinalg re-orthonormalises every power
        iteration (like "QR"), whatever the value.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver, turned into an int seed for dlinalg
        (an int gives the same result on every call and every chunking).
    tol : float, default=0.0
        Accepted for compatibility (scikit-learn's ARPACK tolerance); unused.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Right singular vectors, sign convention of scikit-learn's
        ``svd_flip(u_based_decision=False)``.
    explained_variance_ : ndarray of shape (n_components,)
        Variance of each column of ``transform(X)`` (``ddof=0``, as
        scikit-learn).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` over the total variance of ``X`` (``ddof=0``).
    singular_values_ : ndarray of shape (n_components,)
        Singular values, descending.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    For xarray input, ``components_`` is a DataArray labeled by the features
    dimension (with its coordinates) and a ``component`` dimension, and the
    per-component attributes by ``component``. float32 input gives float32
    attributes and outputs (computed in float64).

    See Also
    --------
    sklearn.decomposition.TruncatedSVD : The in-memory original.
    PCA : The same on centred data.
    dlinalg.ssvd, dlinalg.svd

    Notes
    -----
    Passes over the data in ``fit``: those of the SVD (at most ``n_iter + 2``
    for "randomized", see :func:`dlinalg.ssvd`; two or three for "exact", two
    for wide data), plus one for the explained
    variances (the column variances of ``X`` and of ``X @ components_.T``,
    computed together). ``transform`` is one lazy pass.

    References
    ----------
    .. [1] Halko, N., Martinsson, P. G., and Tropp, J. A. (2011). "Finding
       structure with randomness: Probabilistic algorithms for constructing
       approximate matrix decompositions". SIAM Review, 53(2), 217-288.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, dlinalg as dl
    >>> from dlinalg.models import TruncatedSVD
    >>> X = sp.random_array((100, 30), density=0.2, rng=0, format="csr")
    >>> svd = TruncatedSVD(n_components=3, algorithm="exact").fit(X)
    >>> svd.components_.shape, svd.singular_values_.round(3)
    ((3, 30), array([6.171, 3.638, 3.42 ]))
    >>> from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
    >>> ref = SkTruncatedSVD(n_components=3, algorithm="arpack").fit(X)
    >>> np.allclose(svd.components_, ref.components_)
    True

    On a sparse DRM the scores are lazy, and the matrix stays sparse:

    >>> A = dl.from_array(X, chunks=40)
    >>> scores = svd.transform(A)
    >>> scores
    <DRM 100 x 3 float64, dense, 3 row blocks>
    >>> np.allclose(scores.compute(), X @ svd.components_.T)
    True
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        algorithm: str = "randomized",
        n_iter: int = 5,
        n_oversamples: int = 10,
        power_iteration_normalizer: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        tol: float = 0.0,
    ):
        self.n_components = n_components
        self.algorithm = algorithm
        self.n_iter = n_iter
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.tol = tol

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [POSITIVE_INT],
        "algorithm": [StrOptions({"randomized", "exact"}), Hidden(StrOptions({"arpack"}))],
        "n_iter": [NON_NEGATIVE_INT],
        "n_oversamples": [POSITIVE_INT],
        "power_iteration_normalizer": [POWER_ITERATION_NORMALIZERS],
        "random_state": ["random_state"],
        "tol": [TOL],
    }

    def _check_params(self) -> None:
        if self.algorithm == "arpack":
            raise ValueError(
                "algorithm='arpack' is not available in dlinalg.models.TruncatedSVD; use "
                "algorithm='exact' (exact SVD by dlinalg) or 'randomized'"
            )

    def _min_features(self) -> int:
        return 2  # as scikit-learn's TruncatedSVD

    def _fit(self, data: Input) -> None:
        m, n = data.shape
        k = int(self.n_components)
        if k > min(m, n):
            raise ValueError(
                f"n_components={k} must be between 1 and min(n_samples, n_features)="
                f"{min(m, n)} (n_samples={m}, n_features={n})"
            )
        A = data.matrix
        if self.algorithm == "randomized":
            seed = seed_from(self.random_state)
            _, s, Vt = dl.ssvd(A, k, p=self.n_oversamples, q=self.n_iter, seed=seed)
            # Rayleigh-Ritz on the sketched subspace, in the pass that the variances
            # take anyway: X @ components_.T then has orthogonal columns of norms
            # singular_values_, and its variances are explained_variance_
            V = np.ascontiguousarray(np.asarray(Vt, np.float64).T)
            AV = A @ V
            # the moments of AV centred tile by tile (Chan et al.), not s**2/m - mean**2,
            # which cancels to noise for data far from zero
            (_, proj_mean, scatter), col_var = compute_collections(
                comoments_graph(AV, check_finite=False), A.col_vars().to_dask()
            )
            gram = scatter + m * np.outer(proj_mean, proj_mean)
            s, Vt, R = ritz_rotation(Vt, gram)
            proj_var = np.einsum("ij,ik,kj->j", R, scatter, R) / m  # ddof=0, as scikit-learn
        else:
            s, Vt = exact_svd(A, lambda s: k)
            s = s[:k]
            # explained variance as scikit-learn defines it: variance of the projections
            V = np.ascontiguousarray(Vt.T)  # C order: dask tokenizes a square M and M.T alike
            proj_var, col_var = dl.compute((A @ V).col_vars(), A.col_vars())
        with np.errstate(invalid="ignore", divide="ignore"):  # constant data: 0/0, like sklearn
            ratio = proj_var / np.sum(col_var, dtype=np.float64)
        dt = data.dtype
        names = [f"truncatedsvd{i}" for i in range(k)]  # get_feature_names_out's names
        self.components_ = data.label(Vt.astype(dt), ("component", "feature"), names)
        self.explained_variance_ = data.label(proj_var.astype(dt), ("component",), names)
        self.explained_variance_ratio_ = data.label(ratio.astype(dt), ("component",), names)
        self.singular_values_ = data.label(s.astype(dt), ("component",), names)

    def _projection(self) -> tuple[np.ndarray, None]:
        return np.asarray(self.components_).T, None

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
