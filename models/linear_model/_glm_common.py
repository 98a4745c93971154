"""What the GLM estimators share: the fit boundary (X, y, sample_weight) and lazy outputs.

``X`` goes through :func:`dlinalg.models._validation.validate_input` (numpy,
scipy.sparse, Dask, DRM, Zarr path or xarray); ``y`` and ``sample_weight``
are vectors and are brought into memory (a Dask ``y`` is computed: one read
of ``y`` only), then checked as scikit-learn checks them, so every bad value
is refused before any pass over X.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from sklearn.utils.validation import _check_sample_weight, check_array, column_or_1d, validate_data

import dlinalg as dl
from dlinalg import DRM, LazyResult

from .._validation import Input, validate_input
from ._targets import is_lazy_input

__all__ = ["fit_inputs", "in_memory", "linear_predictor", "give_back", "take_labels"]

#: What scikit-learn's validate_data gets for in-memory X.
X_CHECKS: dict[str, Any] = {"dtype": [np.float64, np.float32], "accept_sparse": ("csr", "csc")}


def in_memory(v: Any) -> Any:
    """A vector (``y``, ``sample_weight``) as numpy: lazy ones are computed (they are small)."""
    if isinstance(v, DRM | LazyResult | da.Array):
        return np.asarray(v.compute())
    if isinstance(v, xr.DataArray):
        return np.asarray(v.values)
    return v


def fit_inputs(
    est: Any,
    X: Any,
    y: Any,
    sample_weight: Any,
    *,
    classifier: bool,
    multi_output: bool = False,
    check_y: Callable[[np.ndarray], None] | None = None,
) -> tuple[Input, np.ndarray, np.ndarray | None]:
    """Validate ``X``, ``y`` and ``sample_weight`` once, before any graph over X.

    Returns the input (as a DRM), ``y`` as numpy (labels of any type for a
    classifier, float64 otherwise; 1-D unless ``multi_output`` and 2-D) and
    the weights as float64 numpy (None when not given). ``check_y(y)``, the
    estimator's own check of the targets, runs before in-memory X becomes a
    DRM.
    """
    if y is None:
        raise ValueError(
            f"This {type(est).__name__} estimator requires y to be passed, but the target y "
            "is None."
        )
    y = in_memory(y)
    y_kw: dict[str, Any] = {"dtype": None if classifier else np.float64}
    if is_lazy_input(X):
        data = validate_input(est, X, reset=True)
        y = check_array(y, input_name="y", ensure_2d=False, **y_kw)
        if not multi_output:
            y = column_or_1d(y, warn=True)
        elif y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got an array of shape {y.shape}")
        if y.shape[0] != data.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{data.shape[0]}, {y.shape[0]}]"
            )
    else:
        X, y = validate_data(
            est, X, y, multi_output=multi_output, y_numeric=not classifier, **X_CHECKS
        )
        if not classifier:
            y = np.asarray(y, dtype=np.float64)
        data = None
    sw = None
    if sample_weight is not None:
        sw = _check_sample_weight(
            in_memory(sample_weight),
            np.empty((y.shape[0], 0)),
            dtype=np.float64,
            ensure_non_negative=True,
        )
    if check_y is not None:
        check_y(y)
    if data is None:  # in memory: every check passed, now the matrix
        data = Input(dl.from_array(X), "numpy")
    return data, y, sw


def linear_predictor(est: Any, X: Any) -> tuple[Input, da.Array]:
    """``X @ coef_.T + intercept_`` as a lazy ``(n_samples, k)`` Dask array, and the input."""
    data = validate_input(est, X, reset=False)
    W = np.atleast_2d(np.asarray(est.coef_))
    out = data.matrix @ np.ascontiguousarray(W.T)
    if est.fit_intercept:
        out = out + np.asarray(est.intercept_, dtype=W.dtype).reshape(-1)
    return data, out.to_dask().rechunk({1: -1})


def give_back(data: Input, arr: da.Array, dim: str | None = None, coords: Any = None) -> Any:
    """A per-sample result in the caller's type.

    numpy for in-memory input, a Dask array for Dask, DRM or Zarr input (class
    labels cannot live in a DRM), a DataArray with the sample coordinates for
    xarray input (lazy when it is Dask-backed).
    """
    if data.kind == "numpy":
        return np.asarray(arr.compute())
    if data.kind == "xarray":
        out = data._dataarray(arr, dim, coords or {})
        return out
    return arr


def take_labels(classes: np.ndarray, index: da.Array) -> da.Array:
    """``classes[index]`` block by block (labels of any dtype)."""
    return index.map_blocks(partial(np.take, classes), dtype=classes.dtype)


def values(v: Any) -> np.ndarray:
    """A result of ``predict`` (numpy, Dask or DataArray) as numpy."""
    if isinstance(v, xr.DataArray):
        v = v.data
    if isinstance(v, da.Array | DRM | LazyResult):
        v = v.compute()
    return np.asarray(v)
