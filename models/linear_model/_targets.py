"""The targets of :class:`dlinalg.models.LinearRegression` and :class:`dlinalg.models.Ridge`.

Validation of ``y`` against X (before any graph), its labels for xarray
output, its conversion to a DRM aligned with X, and the lazy R^2 of
predictions on Dask input.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import scipy.sparse as sp
import xarray as xr
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_array

import dlinalg as dl
from dlinalg import DRM, LazyResult
from dlinalg.cluster import compute_collections

from .._validation import coords_along

__all__ = ["Target", "check_target", "is_lazy_input", "require_target", "lazy_r2", "to_dense"]


# --- the targets ------------------------------------------------------------------
def is_lazy_input(v: Any) -> bool:
    """Whether ``v`` takes dlinalg's path (as :func:`dlinalg.models._validation.validate_input` decides for X)."""
    lazy = (DRM, LazyResult, da.Array, xr.DataArray, xr.Dataset, str, os.PathLike)
    return isinstance(v, lazy)


def require_target(y: Any, est: str) -> None:
    """scikit-learn's refusal of ``y=None`` for a regressor."""
    if y is None:
        raise ValueError(
            f"This {est} estimator requires y to be passed, but the target y is None."
        )


@dataclass(frozen=True)
class Target:
    """Validated targets: the values (numpy, dask or DRM) and their labels.

    Attributes
    ----------
    values : numpy.ndarray, dask.array.Array or DRM
        ``(n_samples,)`` or ``(n_samples, n_targets)``.
    ndim : int
        1 (one target, 1-D ``coef_``) or 2.
    dim : hashable or None
        Name of the targets dimension of a 2-D DataArray y.
    coords : dict
        Its coordinates.
    """

    values: Any
    ndim: int
    dim: Hashable | None = None
    coords: dict = field(default_factory=dict)

    @property
    def n_targets(self) -> int:
        return 1 if self.ndim == 1 else int(self.values.shape[1])

    def matrix(self, X: DRM) -> DRM:
        """The targets as an ``m x t`` DRM aligned with X (CSR blocks when X is sparse)."""
        v = self.values
        if isinstance(v, DRM):
            Y = v
        elif isinstance(v, da.Array):
            Y = dl.from_array(v.reshape(-1, 1) if v.ndim == 1 else v)
        else:
            v = np.asarray(v, dtype=np.float64).reshape(X.nrow, -1)
            Y = dl.from_array(sp.csr_array(v) if X.is_sparse else v, chunks=X.chunks)
        if Y.is_sparse != X.is_sparse:
            Y = Y.map_blocks(_to_csr if X.is_sparse else to_dense, sparse=X.is_sparse)
        return Y if Y.chunks == X.chunks else Y.rechunk(X.chunks)

    def output_dim(self) -> tuple[Hashable, dict]:
        """The second dimension (and coordinates) of multi-target xarray predictions."""
        return ("target" if self.dim is None else self.dim), self.coords

    def labels(self) -> Target:
        """The same without the values (what the fitted estimator keeps)."""
        return Target(None, self.ndim, self.dim, self.coords)

    def label(self, values: np.ndarray, X: xr.DataArray | None, features: bool) -> Any:
        """``coef_`` (``features=True``) or multi-target ``intercept_``, labeled for xarray X."""
        if X is None:
            return values
        dims: list[Hashable] = []
        coords: dict = {}
        if values.ndim == (2 if features else 1):
            dim, tcoords = self.output_dim()
            dims.append(dim)
            coords.update(tcoords)
        if features:
            dims.append(X.dims[1])
            coords.update(coords_along(X, X.dims[1]))
        return xr.DataArray(values, dims=tuple(dims), coords=coords)


def _to_csr(block: Any) -> sp.csr_array:
    return sp.csr_array(block)


def to_dense(block: Any) -> np.ndarray:
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def check_target(y: Any, n_samples: int, X: xr.DataArray | None) -> Target:
    """Validate y against X's row count (from metadata for lazy y), before any graph.

    In-memory y gets scikit-learn's :func:`~sklearn.utils.check_array` (finite,
    numeric, at most 2-D); lazy y is checked for shape and dtype only: its
    NaN/inf are reported by the first pass.
    """
    dim, coords = None, {}
    values = y
    if isinstance(y, xr.DataArray):
        if X is not None:
            _check_same_samples(X, y)
        if y.ndim == 2:
            dim = y.dims[1]
            coords = coords_along(y, dim)
        values = y.data
    elif isinstance(y, LazyResult):
        values = y.to_dask()
    if isinstance(values, DRM | da.Array):
        ndim = 2 if isinstance(values, DRM) else values.ndim
        shape = tuple(values.shape)
        if ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D (n_samples,) or 2-D (n_samples, n_targets); got a {ndim}-D "
                f"array of shape {shape}"
            )
        if np.dtype(values.dtype).kind not in "biuf":
            raise TypeError(f"y must hold real numbers, got dtype {values.dtype}")
    else:
        values = check_array(
            values, ensure_2d=False, dtype="numeric", input_name="y", ensure_min_samples=1
        )
        ndim, shape = values.ndim, values.shape
    if shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: X has "
            f"{n_samples} rows but y has {shape[0]}"
        )
    if ndim == 2 and shape[1] == 0:
        raise ValueError(f"y has no target: shape {shape}")
    return Target(values, ndim, dim, coords)


def _check_same_samples(X: xr.DataArray, y: xr.DataArray) -> None:
    xi, yi = X.indexes.get(X.dims[0]), y.indexes.get(y.dims[0])
    if xi is not None and yi is not None and not xi.equals(yi):
        raise ValueError(
            f"X and y have different coordinates along their samples dimension "
            f"({X.dims[0]!r}, {y.dims[0]!r}); align them first, e.g. with xarray.align"
        )


# --- R^2 of lazy predictions ----------------------------------------------------------
def _dask_2d(v: Any, chunks: Any = None) -> da.Array:
    if isinstance(v, xr.DataArray):
        v = v.data
    if isinstance(v, DRM | LazyResult):
        v = v.to_dask()
        if isinstance(v._meta, sp.sparray | sp.spmatrix):
            v = v.map_blocks(to_dense, dtype=v.dtype, meta=np.empty((0,) * v.ndim, v.dtype))
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        v = da.from_array(v, chunks=(chunks,) + ((-1,) if v.ndim == 2 else ()))
    return v.reshape(v.shape[0], -1).astype(np.float64)


def lazy_r2(y: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """scikit-learn's ``r2_score`` (uniform average over targets) as Dask reductions."""
    p = _dask_2d(y_pred)
    t = _dask_2d(y, p.chunks[0])
    if t.shape != p.shape:
        raise ValueError(f"y has shape {t.shape[:1] + t.shape[1:]}, predictions {p.shape}")
    m = p.shape[0]
    if m < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    if sample_weight is None:
        ss_res, ss_tot = compute_collections(((t - p) ** 2).sum(axis=0), t.var(axis=0) * m)
    else:
        w = _dask_2d(sample_weight, p.chunks[0])[:, :1]
        total, wy = compute_collections(w.sum(), (w * t).sum(axis=0))
        mean = wy / total
        ss_res, ss_tot = compute_collections(
            (w * (t - p) ** 2).sum(axis=0), (w * (t - mean) ** 2).sum(0)
        )
    scores = np.ones(p.shape[1])
    valid = (ss_tot != 0) & (ss_res != 0)
    scores[valid] = 1 - ss_res[valid] / ss_tot[valid]
    scores[(ss_res != 0) & (ss_tot == 0)] = 0.0
    return float(np.mean(scores))
