"""Principal component analysis on distributed row matrices."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
from sklearn.utils._param_validation import Hidden, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted

import dlinalg as dl
from dlinalg.decomp.moments import comoments
from dlinalg.decomp.randomized import randomized_pca

from .._validation import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    POWER_ITERATION_NORMALIZERS,
    TOL,
    Input,
    Range,
    validate_input,
)
from ._base import (
    LinearProjection,
    complete_rows,
    exact_svd,
    flip_rows,
    raise_non_finite,
    seed_from,
)

__all__ = ["PCA"]

#: Largest n_features for which "auto" picks the one-pass covariance solver.
GRAM_MAX_FEATURES = 2000
#: scikit-learn's spellings of our exact solvers.
ALIASES = {"full": "qr", "covariance_eigh": "gram"}
SOLVERS = ("auto", "gram", "qr", "randomized", *ALIASES)


class PCA(LinearProjection):
    """Principal component analysis (PCA), scikit-learn's API on dlinalg.

    Linear dimensionality reduction by the singular value decomposition of
    the centred data, ``X - mean_``, keeping the directions of largest
    variance. Accepts numpy, scipy.sparse, Dask arrays, :class:`dlinalg.DRM`,
    Zarr store paths and xarray DataArrays; sparse data is never densified
    (except by the dense-only ``"qr"`` solver, which refuses it).

    Parameters
    ----------
    n_components : int, float or None, default=None
        Number of components to keep. None keeps ``min(n_samples,
        n_features)``. A float in (0, 1) keeps the fewest components whose
        cumulated explained variance ratio exceeds it (exact solvers only).
        ``0`` and ``"mle"`` are not supported (ValueError); use
        :class:`sklearn.decomposition.PCA` for Minka's MLE.
    copy : bool, default=True
        Accepted for compatibility; the input is never modified whatever
        its value.
    whiten : bool, default=False
        Scale the projections to unit variance: ``transform`` divides by
        ``sqrt(explained_variance_)`` (clipped at machine epsilon).
    svd_solver : {"auto", "gram", "qr", "randomized", "full", \
"covariance_eigh"}, default="auto"
        ``"gram"``: one pass computing the mean and the covariance together
        (:func:`dlinalg.decomp.moments.comoments`, Chan et al.'s pairwise
        update), then ``eigh`` of the ``n_features x n_features`` covariance;
        sparse input stays sparse. Like scikit-learn's ``"covariance_eigh"``
        (an accepted alias) it squares the condition number.
        ``"qr"``: exact SVD of the centred data: one pass for the mean, then
        :func:`dlinalg.svd` (QR, then the SVD of the small factor) for
        ``n_samples >= n_features``; for wide data, the ``n_samples x
        n_samples`` Gram of the centred rows and one Rayleigh-Ritz step (see
        Notes). Dense input only (sparse -> TypeError), like scikit-learn's
        ``"full"`` (an accepted alias).
        ``"randomized"``: Halko et al.'s randomized SVD of the implicitly
        centred data (:func:`dlinalg.decomp.randomized.randomized_pca`); sparse
        input stays sparse; ``n_components`` must be an int.
        ``"auto"``, scikit-learn's rule with our thresholds (sparse data
        counts as data whose exact solver is ``"gram"``):

        1. ``n_features <= 2000`` and ``n_samples >= 10 * n_features``:
           ``"gram"`` (scikit-learn: 1000; the covariance is one pass, and a
           2000 x 2000 ``eigh`` takes about a second, less than the SVD of the
           2000 x 2000 triangular factor that ``"qr"`` needs after its passes);
        2. else ``max(n_samples, n_features) <= 500``, or ``n_components``
           is None or a float: exact (``"gram"`` for sparse input, ``"qr"``
           otherwise);
        3. else ``1 <= n_components < 0.8 * min(n_samples, n_features)``:
           ``"randomized"``;
        4. else exact, as in 2.

        The solver used is stored in ``svd_solver_``.
    tol : float, default=0.0
        Accepted for compatibility (scikit-learn's ARPACK tolerance); unused.
    iterated_power : int or "auto", default="auto"
        Power iterations of the randomized solver (each costs at most one pass).
        "auto" is scikit-learn's rule: 7 when ``n_components < 0.1 *
        min(X.shape)``, else 4.
    n_oversamples : int, default=10
        Extra random vectors sampled by the randomized solver.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Accepted for compatibility: dlinalg re-orthonormalises every power
        iteration (like "QR"), whatever the value.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver, turned into an int seed for dlinalg
        (an int gives the same result on every call and every chunking).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal axes, sorted by decreasing ``explained_variance_``; sign
        convention of scikit-learn's ``svd_flip(u_based_decision=False)``.
    explained_variance_ : ndarray of shape (n_components,)
        Variance explained by each component (``n_samples - 1`` degrees of
        freedom).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Fraction of the total variance explained by each component.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred data.
    mean_ : ndarray of shape (n_features,)
        Per-feature mean.
    n_components_ : int
        Number of components kept.
    svd_solver_ : {"gram", "qr", "randomized"}
        The solver ``fit`` used: what ``"auto"`` chose, or the solver asked
        for (scikit-learn's names ``"full"`` and ``"covariance_eigh"`` as
        ``"qr"`` and ``"gram"``). It tells how many passes the fit read.
    n_samples_ : int
        Number of samples in the training data.
    noise_variance_ : float
        Probabilistic PCA noise variance (Tipping and Bishop 1999): the mean
        of the ``min(n_samples, n_features) - n_components`` smallest
        eigenvalues of the covariance.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings
        (DataFrame columns, DataArray feature coordinates, DRM column labels).

    For xarray input, ``components_`` and ``mean_`` are DataArrays labeled
    by the features dimension (with its coordinates) and ``components_``,
    ``explained_variance_``, ``explained_variance_ratio_`` and
    ``singular_values_`` by a ``component`` dimension; the rest are numpy.
    float32 input gives float32 attributes and outputs (computed in float64).

    See Also
    --------
    sklearn.decomposition.PCA : The in-memory original.
    TruncatedSVD : The same without centring.
    dlinalg.svd, dlinalg.spca, dlinalg.eigh_gram

    Notes
    -----
    Passes over the data in ``fit``: "gram" one; "qr" one for the mean plus
    those of :func:`dlinalg.svd` (two or three), or three for wide data;
    "randomized" those of :func:`dlinalg.spca` (at most ``iterated_power + 3``;
    the mean and variances come with its passes). ``transform`` is one lazy
    pass.

    For wide data "qr" computes the ``n_samples x n_samples`` Gram of the
    centred rows (one pass, the centred matrix gathered into one block), its
    top eigenvectors ``U``, then the SVD of ``(X - mean)^T U`` (one pass):
    exact, but with the Gram's squared condition number for the directions
    of small variance.

    ``"gram"`` follows scikit-learn's ``"full"`` for ``noise_variance_`` on
    wide data (mean over the ``min(n_samples, n_features) - n_components``
    smallest eigenvalues; scikit-learn's ``"covariance_eigh"`` averages all
    ``n_features - n_components``).

    References
    ----------
    .. [1] Halko, N., Martinsson, P. G., and Tropp, J. A. (2011). "Finding
       structure with randomness: Probabilistic algorithms for constructing
       approximate matrix decompositions". SIAM Review, 53(2), 217-288.
    .. [2] Tipping, M. E., and Bishop, C. M. (1999). "Probabilistic principal
       component analysis". Journal of the Royal Statistical Society: Series
       B, 61(3), 611-622.
    .. [3] Chan, T. F., Golub, G. H., and LeVeque, R. J. (1979). "Updating
       formulae and a pairwise algorithm for computing sample variances".

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> from dlinalg.models import PCA
    >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca.explained_variance_ratio_
    array([0.99244289, 0.00755711])
    >>> pca.singular_values_
    array([6.30061232, 0.54980396])
    >>> pca.svd_solver_
    'qr'

    A DRM in gives lazy scores out; they equal the in-memory ones:

    >>> A = dl.from_array(X.astype(float), chunks=4)
    >>> scores = pca.transform(A)
    >>> scores
    <DRM 6 x 2 float64, dense, 2 row blocks>
    >>> np.allclose(scores.compute(), pca.transform(X))
    True
    """

    def __init__(
        self,
        n_components: float | None = None,
        *,
        copy: bool = True,
        whiten: bool = False,
        svd_solver: str = "auto",
        tol: float = 0.0,
        iterated_power: int | str = "auto",
        n_oversamples: int = 10,
        power_iteration_normalizer: str = "auto",
        random_state: int | np.random.RandomState | None = None,
    ):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [
            POSITIVE_INT,
            Range(RealNotInt, 0, 1, closed="neither"),
            None,
            Hidden(StrOptions({"mle"})),  # refused in _check_params, with a remedy
        ],
        "copy": ["boolean"],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions(set(SOLVERS)), Hidden(StrOptions({"arpack"}))],
        "tol": [TOL],
        "iterated_power": [NON_NEGATIVE_INT, StrOptions({"auto"})],
        "n_oversamples": [POSITIVE_INT],
        "power_iteration_normalizer": [POWER_ITERATION_NORMALIZERS],
        "random_state": ["random_state"],
    }

    def _check_params(self) -> None:
        if self.n_components == "mle":  # the only string the constraints let in
            raise ValueError(
                "n_components='mle' is not supported by dlinalg.models.PCA; pass an int, a variance "
                "fraction in (0, 1), or use sklearn.decomposition.PCA for Minka's MLE"
            )
        if self.svd_solver == "arpack":
            raise ValueError(
                "svd_solver='arpack' is not available in dlinalg.models.PCA; use 'randomized' for a "
                "few components, or 'gram'/'qr' for an exact decomposition"
            )

    def _choose_solver(self, data: Input) -> str:
        m, n = data.shape
        solver = ALIASES.get(self.svd_solver, self.svd_solver)
        sparse = data.matrix.is_sparse
        if solver == "qr" and sparse:
            raise TypeError(
                f"PCA with svd_solver={self.svd_solver!r} needs dense input (it centres the "
                "data explicitly); use svd_solver='gram' or 'randomized' for sparse input, "
                "or TruncatedSVD"
            )
        if solver != "auto":
            return solver
        k = self.n_components
        exact = "gram" if sparse else "qr"
        if n <= GRAM_MAX_FEATURES and m >= 10 * n:
            return "gram"
        if max(m, n) <= 500 or not isinstance(k, numbers.Integral):
            return exact
        if k < 0.8 * min(m, n):
            return "randomized"
        return exact

    # --- fit --------------------------------------------------------------------
    def _fit(self, data: Input) -> Any:
        m, n = data.shape
        if m < 2:
            raise ValueError(
                f"PCA needs at least 2 samples (variances use n_samples - 1), got n_samples={m}"
            )
        solver = self._choose_solver(data)
        k = self.n_components
        if isinstance(k, numbers.Integral) and k > min(m, n):
            raise ValueError(
                f"n_components={k} must be between 1 and min(n_samples, n_features)="
                f"{min(m, n)} with svd_solver={solver!r}"
            )
        if solver == "randomized" and not (k is None or isinstance(k, numbers.Integral)):
            raise ValueError(
                f"n_components={k!r} must be an int with svd_solver='randomized'; a variance "
                "fraction needs an exact solver ('gram' or 'qr')"
            )
        fit = {"gram": self._fit_gram, "qr": self._fit_qr, "randomized": self._fit_randomized}
        mean, s, Vt, total, tail, scores = fit[solver](data)
        self.svd_solver_ = solver
        self._fit_svd_solver = solver  # scikit-learn's private name, read by its own tests
        self._set_attributes(data, mean, s, Vt, total, tail)
        return scores

    def _resolve_k(self, ev: np.ndarray, m: int, n: int) -> int:
        """n_components as an int, from the full spectrum for a variance fraction."""
        k = self.n_components
        if k is None:
            return min(m, n)
        if isinstance(k, numbers.Integral):
            return int(k)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.cumsum(ev / ev.sum())
        return int(min(np.searchsorted(ratio, k, side="right") + 1, min(m, n)))

    def _fit_gram(self, data: Input) -> tuple:
        m, n = data.shape
        _, mean, scatter = comoments(data.matrix)  # raises NonFiniteError on NaN/inf
        mean, scatter = np.asarray(mean, np.float64), np.asarray(scatter, np.float64)
        w, V = scipy.linalg.eigh(scatter / (m - 1))
        ev = np.clip(w[::-1], 0.0, None)  # eigh can return tiny negatives
        k = self._resolve_k(ev, m, n)
        Vt = flip_rows(V[:, ::-1][:, :k].T)
        return mean, np.sqrt(ev * (m - 1)), Vt, ev.sum(), ev[k : min(m, n)].sum(), None

    def _fit_qr(self, data: Input) -> tuple:
        m, n = data.shape
        mean = np.asarray(data.matrix.col_means().compute(), np.float64)
        raise_non_finite(mean, "column", "PCA")
        s, Vt = exact_svd(data.matrix - mean, lambda s: self._resolve_k(s**2, m, n))
        ev = s**2 / (m - 1)
        return mean, s, Vt, ev.sum(), ev[Vt.shape[0] :].sum(), None

    def _fit_randomized(self, data: Input) -> tuple:
        m, n = data.shape
        k = min(m, n) if self.n_components is None else int(self.n_components)
        # the centred data has rank m - 1 at most: a k = m <= n fit finds m - 1
        # directions and completes them with one of singular value zero, as
        # scikit-learn reports it
        found = min(k, m - 1)
        q = self.iterated_power
        if q == "auto":
            q = 7 if k < 0.1 * min(m, n) else 4
        r = randomized_pca(
            data.matrix, found, p=self.n_oversamples, q=q, seed=seed_from(self.random_state)
        )
        mean = np.asarray(r.mean, np.float64)
        total = float(np.sum(np.asarray(r.col_var, np.float64)))
        s, Vt = np.asarray(r.s, np.float64), flip_rows(r.Vt)
        signs = np.where(np.sum(Vt * r.Vt, axis=1) < 0, -1.0, 1.0)  # +1 unless flip_rows flips
        if found < k:
            s, Vt = np.append(s, np.zeros(k - found)), complete_rows(Vt, k)
        # fit_transform's scores, as scikit-learn's: U * s (U * sqrt(m - 1) whitened),
        # consistent with s and explained_variance_ where (X - mean) @ Vt.T is only
        # as accurate as the sketch; lazy, a chain on the sketch (or on X)
        scale = np.full(found, np.sqrt(m - 1.0)) if self.whiten else s[:found]
        D = np.zeros((found, k))
        D[:, :found] = np.diag(signs * scale)
        scores = r.U @ D.astype(data.dtype)
        return mean, s, Vt, total, max(total - np.sum(s**2) / (m - 1), 0.0), scores

    def _set_attributes(
        self,
        data: Input,
        mean: np.ndarray,
        s: np.ndarray,
        Vt: np.ndarray,
        total: float,
        tail: float,
    ) -> None:
        m, n = data.shape
        k = Vt.shape[0]
        dt = data.dtype
        ev = s[:k] ** 2 / (m - 1)
        with np.errstate(invalid="ignore", divide="ignore"):  # constant data: 0/0, like sklearn
            ratio = ev / total
        self.n_samples_ = m
        self.n_components_ = k
        self.noise_variance_ = dt.type(tail / (min(m, n) - k) if k < min(m, n) else 0.0)
        names = [f"pca{i}" for i in range(k)]  # get_feature_names_out's names
        self.components_ = data.label(Vt.astype(dt), ("component", "feature"), names)
        self.explained_variance_ = data.label(ev.astype(dt), ("component",), names)
        self.explained_variance_ratio_ = data.label(ratio.astype(dt), ("component",), names)
        self.singular_values_ = data.label(s[:k].astype(dt), ("component",), names)
        self.mean_ = data.label(mean.astype(dt), ("feature",), names)

    # --- projection and the probabilistic model -------------------------------
    def _projection(self) -> tuple[np.ndarray, np.ndarray]:
        V = np.asarray(self.components_).T
        if self.whiten:
            scale = np.sqrt(np.asarray(self.explained_variance_))
            V = V / np.maximum(scale, np.finfo(scale.dtype).eps)
        return V, np.asarray(self.mean_) @ V

    def _inverse_weights(self) -> np.ndarray:
        H = np.asarray(self.components_)
        if self.whiten:
            H = np.sqrt(np.asarray(self.explained_variance_))[:, None] * H
        return H

    def get_covariance(self) -> np.ndarray:
        """Data covariance of the generative model.

        ``cov = components_.T * (explained_variance_ - noise_variance_) @
        components_ + noise_variance_ * I``, as scikit-learn's.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import PCA
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> cov = PCA().fit(X).get_covariance()
        >>> np.allclose(cov, np.cov(X, rowvar=False))
        True
        """
        comp, ev = np.asarray(self.components_), np.asarray(self.explained_variance_)
        if self.whiten:
            comp = comp * np.sqrt(ev[:, None])
        diff = np.where(ev > self.noise_variance_, ev - self.noise_variance_, 0.0)
        cov = (comp.T * diff) @ comp
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self) -> np.ndarray:
        """Precision (inverse covariance) of the generative model, by the inversion lemma.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)

        Examples
        --------
        >>> import numpy as np
        >>> from dlinalg.models import PCA
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> pca = PCA(n_components=2).fit(X)
        >>> np.allclose(pca.get_precision() @ pca.get_covariance(), np.eye(3))
        True
        """
        comp, ev = np.asarray(self.components_), np.asarray(self.explained_variance_)
        n = comp.shape[1]
        if self.noise_variance_ == 0.0:
            return scipy.linalg.inv(self.get_covariance())
        if self.whiten:
            comp = comp * np.sqrt(ev[:, None])
        diff = np.where(ev > self.noise_variance_, ev - self.noise_variance_, 0.0)
        inner = comp @ comp.T / self.noise_variance_
        inner.flat[:: inner.shape[0] + 1] += 1.0 / diff
        precision = comp.T @ scipy.linalg.inv(inner) @ comp
        precision /= -(self.noise_variance_**2)
        precision.flat[:: n + 1] += 1.0 / self.noise_variance_
        return precision

    def score_samples(self, X: Any) -> Any:
        """Log-likelihood of each sample under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like, dask array, DRM, xarray.DataArray or str/os.PathLike \
of shape (n_samples, n_features)
            The data.

        Returns
        -------
        ll : ndarray, dask array, LazyResult or xarray.DataArray of shape (n_samples,)
            numpy for in-memory input, lazy otherwise. Dense row blocks of
            ``X - mean_`` are formed one block at a time.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.decomposition import PCA as SkPCA
        >>> from dlinalg.models import PCA
        >>> X = np.random.default_rng(0).standard_normal((50, 3))
        >>> np.allclose(PCA(2).fit(X).score_samples(X), SkPCA(2).fit(X).score_samples(X))
        True
        """
        check_is_fitted(self)
        data = validate_input(self, X, reset=False)
        P = self.get_precision().astype(np.float64)
        n = P.shape[0]
        _, logdet = np.linalg.slogdet(P)
        const = -0.5 * (n * np.log(2.0 * np.pi) - logdet)
        Xr = data.matrix - np.asarray(self.mean_, np.float64)
        return data.vector_out(((Xr @ (-0.5 * P)) * Xr + const / n).row_sums())

    def score(self, X: Any, y: None = None) -> float:
        """Average log-likelihood of the samples (computes, whatever the input).

        Parameters
        ----------
        X : array-like, dask array, DRM, xarray.DataArray or str/os.PathLike \
of shape (n_samples, n_features)
            The data.
        y : None
            Ignored.

        Returns
        -------
        ll : float
        """
        ll = self.score_samples(X)
        if isinstance(ll, dl.LazyResult):
            ll = ll.compute()
        return float(np.mean(np.asarray(ll)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = ALIASES.get(self.svd_solver, self.svd_solver) != "qr"
        return tags
