"""The targets of :class:`dlinalg.models.LinearRegression` and :class:`dlinalg.models.Ridge`.

Validation of ``y`` and ``sample_weight`` against X (before any graph), the
labels of ``y`` for xarray output, their conversion to DRMs aligned with X,
and the lazy R^2 of predictions on Dask input.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import dask
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

__all__ = [
    "Target",
    "check_sample_weight",
    "check_target",
    "is_lazy_input",
    "lazy_r2",
    "require_target",
    "to_dense",
    "weights_matrix",
]


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


# --- sample weights -------------------------------------------------------------------
def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | da.Array | None:
    """Validate ``sample_weight`` as scikit-learn does, before any graph over X exists.

    A scalar gives that weight to every sample; numpy (or anything array-like,
    an xarray DataArray's data) must be 1-D of length ``n_samples``, finite,
    non-negative and not all zero. A Dask array's shape and dtype are checked
    from its metadata; its values by one small computation over the weights
    alone (``n_samples`` numbers, nothing of X), before X is read.

    Returns
    -------
    numpy.ndarray or dask.array.Array of shape (n_samples,), float64; or None
    """
    if sample_weight is None:
        return None
    w = sample_weight.data if isinstance(sample_weight, xr.DataArray) else sample_weight
    if isinstance(w, LazyResult):
        w = w.to_dask()
    if isinstance(w, Real) and not isinstance(w, bool):
        w = np.full(n_samples, float(w))
    elif isinstance(w, DRM):
        raise TypeError(
            "sample_weight must be 1-D (n_samples,): a numpy or Dask array, not a DRM; "
            "pass A[:, 0].to_dask() or similar"
        )
    lazy = isinstance(w, da.Array)
    if lazy:
        if np.dtype(w.dtype).kind not in "biuf":
            raise ValueError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
    else:
        w = check_array(
            w, accept_sparse=False, ensure_2d=False, dtype=np.float64, input_name="sample_weight"
        )
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array of shape "
            f"{tuple(w.shape)}. Expected either a scalar value or a 1D array of length "
            f"{n_samples}."
        )
    if w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {tuple(w.shape)}, expected ({n_samples},)!: "
            f"X has {n_samples} rows but sample_weight has {w.shape[0]}"
        )
    if lazy:  # values: one small pass over the weights only
        w = w.astype(np.float64)
        low, finite, nonzero = dask.compute(w.min(), da.isfinite(w).all(), (w != 0).any())
        if not finite:
            raise ValueError(
                "Input sample_weight contains NaN or infinity; give every sample a finite weight"
            )
        _check_weight_values(float(low), bool(nonzero), None)
        return w
    _check_weight_values(float(w.min()), bool(np.any(w != 0)), w)
    return w


def _check_weight_values(low: float, nonzero: bool, w: np.ndarray | None) -> None:
    if low < 0:
        where = f" (first at index {int(np.argmax(w < 0))})" if w is not None else ""
        raise ValueError(
            f"Negative values in data passed to `sample_weight`: {low!r}{where}; "
            "weights must be >= 0"
        )
    if not nonzero:
        raise ValueError("Sample weights must contain at least one non-zero number.")


def weights_matrix(w: np.ndarray | da.Array, X: DRM) -> DRM:
    """Validated weights as an ``m x 1`` float64 DRM with X's row blocks."""
    if isinstance(w, da.Array):
        W = dl.from_array(w.reshape(-1, 1).astype(np.float64))
        return W if W.chunks == X.chunks else W.rechunk(X.chunks)
    return dl.from_array(np.asarray(w, dtype=np.float64).reshape(-1, 1), chunks=X.chunks)


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
