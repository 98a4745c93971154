"""What PCA and TruncatedSVD share: the transformer surface and the exact SVD.

:class:`LinearProjection` holds ``transform``/``fit_transform``/
``inverse_transform`` for a model ``x -> (x - mean) @ W``; the estimators
implement ``_fit`` (fitted attributes, numpy) and ``_projection``.
:func:`exact_svd` is the exact solver both use: ``dlinalg.svd`` for tall
input, the row Gram plus one Rayleigh-Ritz step for wide input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted

import dlinalg as dl
from dlinalg import DRM
from dlinalg.errors import NonFiniteError

from .._validation import COMPONENT_DIM, Input, as_float64, coords_along, validate_input

__all__ = [
    "LinearProjection",
    "exact_svd",
    "flip_rows",
    "seed_from",
    "raise_non_finite",
    "ritz_rotation",
    "complete_rows",
]


class LinearProjection(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of the linear decompositions: ``transform(X) = (X - mean) @ W``.

    Subclasses declare ``_parameter_constraints`` (checked by scikit-learn at
    ``fit``) and implement ``_fit(data: Input)``, which sets the fitted
    attributes (numpy, or labeled for xarray input through ``data.label``)
    and returns None or the training scores ``fit_transform`` should return
    (a lazy DRM: a randomized solver's ``U * s``, as scikit-learn's), and ``_projection()``, which returns ``(W, c)`` with ``transform(X) =
    X @ W - c``.
    """

    def _fit(self, data: Input) -> DRM | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _projection(self) -> tuple[np.ndarray, np.ndarray | None]:  # pragma: no cover
        raise NotImplementedError

    def _check_params(self) -> None:
        """Checks ``_parameter_constraints`` cannot express (run after them, in ``fit``)."""

    def _min_features(self) -> int:
        return 1

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: None = None) -> LinearProjection:
        """Fit the model with X.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data; a path names a Zarr store read with
            :func:`dlinalg.read_zarr`.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid parameters or shapes (checked before any pass over X);
            NaN or infinity in X (in-memory X before anything runs, lazy X
            as :class:`~dlinalg.errors.NonFiniteError` from the first pass);
            with a randomized solver, X of numerical rank below
            ``n_components`` (:class:`~dlinalg.errors.RankDeficientError`):
            ask for fewer components or use an exact solver.
        TypeError
            Input of an unsupported type, or sparse input to a dense-only
            solver.
        """
        self._check_params()
        self._fit(validate_input(self, X, reset=True, min_features=self._min_features()))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X: Any, y: None = None) -> Any:
        """Fit the model with X and apply the dimensionality reduction on X.

        Equivalent to ``fit(X).transform(X)`` with ``X`` validated once,
        except for PCA's randomized solver, which returns ``U * s`` like
        scikit-learn's (its columns are orthogonal, with the norms
        ``singular_values_`` and the variances ``explained_variance_``, where
        ``transform`` is only as accurate as the sketch). On lazy input the
        result is lazy: it reads ``X`` (or the stored sketch) again when
        computed.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray, dask array, DRM or xarray.DataArray of shape \
(n_samples, n_components)
            The projection, in the type of ``X`` (see :meth:`transform`).
        """
        self._check_params()
        data = validate_input(self, X, reset=True, min_features=self._min_features())
        scores = self._fit(data)
        if scores is None:
            return self._transform(data)
        names = self.get_feature_names_out()
        return data.rows_out(scores, COMPONENT_DIM, {COMPONENT_DIM: names})

    def transform(self, X: Any) -> Any:
        """Project X on the components: ``(X - mean_) @ components_.T``.

        Computed as ``X @ components_.T - mean_ @ components_.T`` so sparse
        input is never densified.

        Parameters
        ----------
        X : array-like, sparse matrix, dask array, DRM, xarray.DataArray or \
str/os.PathLike of shape (n_samples, n_features)
            New data.

        Returns
        -------
        X_new : ndarray, dask array, DRM or xarray.DataArray of shape \
(n_samples, n_components)
            numpy for in-memory input (numpy, scipy.sparse, lists); lazy for
            a Dask array or a DRM (a DRM for a Zarr path); a DataArray for a
            DataArray, with its sample coordinates and a ``component``
            dimension (lazy when ``X`` is Dask-backed).
        """
        check_is_fitted(self)
        return self._transform(validate_input(self, X, reset=False))

    def _transform(self, data: Input) -> Any:
        W, c = self._projection()
        # C order: dask tokenizes a square M and its view M.T alike, so dlinalg keys them alike
        out = data.matrix @ np.ascontiguousarray(W)
        if c is not None:
            out = out - c
        names = self.get_feature_names_out()
        return data.rows_out(out, COMPONENT_DIM, {COMPONENT_DIM: names})

    def _inverse_weights(self) -> np.ndarray:
        return np.asarray(self.components_)

    def inverse_transform(self, X: Any) -> Any:
        """Transform data back to its original space: ``X @ components_ + mean_``.

        Parameters
        ----------
        X : array-like, dask array, DRM or xarray.DataArray of shape (n_samples, n_components)
            Data in the component space.

        Returns
        -------
        X_original : ndarray, dask array, DRM or xarray.DataArray of shape \
(n_samples, n_features)
            In the type of ``X`` (see :meth:`transform`); a DataArray gets
            the features dimension and coordinates seen in ``fit``.
        """
        check_is_fitted(self)
        H = np.ascontiguousarray(self._inverse_weights())  # C order, as in _transform
        data = validate_input(self, X, reset=False, n_features=H.shape[0])
        out = data.matrix @ H
        mean = getattr(self, "mean_", None)
        if mean is not None:
            out = out + np.asarray(mean)
        comp = self.components_
        if hasattr(comp, "dims"):  # fitted on a DataArray: its features dim and coords
            dim = comp.dims[1]
            coords = coords_along(comp, dim)
        else:
            dim, coords = "feature", {}
        return data.rows_out(out, dim, coords)

    @property
    def _n_features_out(self) -> int:
        """Number of transformed output features (for ``get_feature_names_out``)."""
        return self.components_.shape[0]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def flip_rows(Vt: np.ndarray) -> np.ndarray:
    """scikit-learn's ``svd_flip(u_based_decision=False)``: largest-|.| entry of each row > 0."""
    return svd_flip(None, np.array(Vt, dtype=np.float64), u_based_decision=False)[1]


def seed_from(random_state: Any) -> int:
    """An int seed for dlinalg from scikit-learn's ``random_state`` (None, int, RandomState).

    Deterministic for an int; draws from (and advances) a ``RandomState``,
    as scikit-learn's own randomized solvers do.
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def raise_non_finite(values: np.ndarray, what: str, est: str) -> None:
    """Raise ``NonFiniteError`` when a per-column statistic is non-finite.

    A column statistic (mean, variance, Gram diagonal) is non-finite exactly
    when the column holds NaN or infinity, so this check costs no pass.
    """
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise NonFiniteError(
            f"Input X contains NaN or infinity (first in {what} {j}); {est} needs finite "
            "values: drop or impute them before fitting"
        )


def exact_svd(A: DRM, choose_k: Callable[[np.ndarray], int]) -> tuple[np.ndarray, np.ndarray]:
    """Exact thin SVD of ``A``: all singular values and the first ``k`` right vectors.

    Parameters
    ----------
    A : DRM of shape (m, n)
        The matrix (an expression such as ``A - mean`` is fine).
    choose_k : callable
        Called with the singular values (descending, ``min(m, n)`` of them);
        returns how many right singular vectors to keep.

    Returns
    -------
    s : ndarray of shape (min(m, n),)
        Singular values, descending, float64.
    Vt : ndarray of shape (k, n)
        Right singular vectors with scikit-learn's sign convention.

    Notes
    -----
    Tall ``A`` (``m >= n``): :func:`dlinalg.svd` (QR of ``A``, then the SVD of
    the ``n x n`` factor). Wide ``A``: the ``m x m`` row Gram ``A A^T``
    (:func:`dlinalg.tcrossprod`, one pass; ``A`` is gathered into one block,
    so it must fit in one worker's memory, which for sparse ``A`` means its
    non-zeros), its eigenvectors ``U_k``, then one Rayleigh-Ritz step: the
    SVD of the ``n x k`` matrix ``A^T U_k`` (one more pass) gives the right
    singular vectors and singular values directly from ``A``, so their
    accuracy is that of ``U_k`` squared, and the vectors stay orthonormal even
    for zero singular values.
    """
    m, n = A.shape
    if m >= n:
        _, s, Vt = dl.svd(A)
        s = np.asarray(s, dtype=np.float64)
        k = choose_k(s)
        return s, flip_rows(np.asarray(Vt)[:k])
    G = dl.tcrossprod(as_float64(A)).compute()
    G = G.toarray() if hasattr(G, "toarray") else np.asarray(G)
    raise_non_finite(np.diag(G), "row", "the exact SVD")
    lam, U = scipy.linalg.eigh(G)
    lam, U = np.clip(lam[::-1], 0.0, None), U[:, ::-1]
    s = np.sqrt(lam)
    k = choose_k(s)
    W = (A.T @ np.ascontiguousarray(U[:, :k])).compute()  # n x k, = V_k S_k
    P, sigma, _ = scipy.linalg.svd(np.asarray(W, dtype=np.float64), full_matrices=False)
    s[:k] = sigma
    return s, flip_rows(P.T)


def ritz_rotation(Vt: np.ndarray, gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rayleigh-Ritz step of a randomized SVD on the rows of ``Vt``: consistent attributes.

    A randomized SVD's ``Vt`` spans a good subspace, but ``X @ Vt.T`` (what
    ``transform`` returns) has columns that are neither orthogonal nor of
    norm ``s`` (its error is that of the sketch, ``1e-3`` relative say). With
    ``gram = (X V)^T (X V)`` (one pass), the eigenvectors ``R`` of ``gram``
    rotate ``V`` so that ``X V R`` has orthogonal columns of norms
    ``sqrt(eigenvalues)``: the Ritz values of ``X`` on ``span(V)``, lower
    bounds of its singular values, as accurate as the subspace. Then
    ``transform(X)`` agrees with ``singular_values_`` and
    ``explained_variance_`` to rounding (``eps * s_max**2`` on the squares).

    Parameters
    ----------
    Vt : ndarray of shape (k, n)
        Orthonormal rows.
    gram : ndarray of shape (k, k)
        ``(X V)^T (X V)`` (for PCA, ``X`` centred).

    Returns
    -------
    s : ndarray of shape (k,)
        Ritz values, descending.
    Vt : ndarray of shape (k, n)
        The rotated rows, scikit-learn's sign convention.
    R : ndarray of shape (k, k)
        The rotation, signs included: ``Vt_new = (Vt.T @ R).T``.
    """
    lam, R = scipy.linalg.eigh(np.asarray(gram, dtype=np.float64))
    lam, R = np.clip(lam[::-1], 0.0, None), R[:, ::-1]
    rotated = (Vt.T @ R).T
    flipped = flip_rows(rotated)
    signs = np.where(np.sum(flipped * rotated, axis=1) < 0, -1.0, 1.0)
    return np.sqrt(lam), flipped, R * signs


def complete_rows(Vt: np.ndarray, k: int) -> np.ndarray:
    """``Vt`` with rows appended up to ``k``: orthonormal to it and to each other, deterministic.

    For the components of a zero singular value (centred data of ``m <= n``
    rows has rank ``m - 1`` at most): like scikit-learn's, such a direction is
    arbitrary; this one is the unit vector ``e_j`` least represented in
    ``Vt`` (ties to the lowest ``j``), orthogonalized twice (Gram-Schmidt).
    """
    rows = [np.asarray(r, dtype=np.float64) for r in Vt]
    n = Vt.shape[1]
    for _ in range(k - len(rows)):
        B = np.array(rows).reshape(-1, n)
        e = np.zeros(n)
        e[int(np.argmin(np.sum(B**2, axis=0)))] = 1.0
        for _ in range(2):
            e -= B.T @ (B @ e)
        rows.append(e / np.linalg.norm(e))
    return flip_rows(np.array(rows).reshape(-1, n))
