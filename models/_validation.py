"""What every estimator family shares: the input boundary and the parameter checks.

:func:`validate_input` (scikit-learn's ``validate_data`` for in-memory input,
metadata checks for lazy input) is the one boundary of every
``fit``/``transform``: it turns an input into a :class:`dlinalg.DRM` with
dlinalg's own converters (:func:`dlinalg.from_array`,
:func:`dlinalg.from_xarray`, :func:`dlinalg.read_zarr`) and returns an
:class:`Input` that remembers how to give a result back in the caller's type
(dlinalg's ``as_matrix``, in ``dlinalg._operands``, converts the algebra's
own arguments; the estimators' boundary does more and has its own name):

=========================================  ====================================
input                                      row-aligned results (``transform``)
=========================================  ====================================
numpy array, array-like, scipy.sparse      ``numpy.ndarray`` (computed)
``dask.array.Array``                       ``dask.array.Array`` (lazy)
:class:`dlinalg.DRM`                       :class:`dlinalg.DRM` (lazy)
Zarr store path (``str``/``os.PathLike``)  :class:`dlinalg.DRM` (lazy)
``xarray.DataArray``                       ``xarray.DataArray``: lazy when
                                           Dask-backed; sample coordinates kept
=========================================  ====================================

In-memory input (numpy, scipy.sparse, lists, pandas) is validated by
scikit-learn's :func:`~sklearn.utils.validation.validate_data` exactly as
scikit-learn's own estimators do (dtype, finiteness, ``n_features_in_``,
``feature_names_in_``). Lazy input is never read here: its shape, dtype and
labels are checked from metadata, and non-finite values are reported by the
decomposition's first pass.

Parameters are checked by scikit-learn's own validation
(``_parameter_constraints``, :func:`check_params`); :class:`Range` is its
``Interval`` refusing bools, as dlinalg always has.

:func:`as_float64` gives products of any input a float64 accumulator (the
exact SVD and the cosines use it).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_array, validate_data

import dlinalg as dl
from dlinalg import DRM, LazyResult

__all__ = [
    "COMPONENT_DIM",
    "Input",
    "as_float64",
    "validate_input",
    "coords_along",
    "Range",
    "check_params",
    "POSITIVE_INT",
    "NON_NEGATIVE_INT",
    "TOL",
    "POWER_ITERATION_NORMALIZERS",
]

#: Name of the component axis of labeled (xarray) results.
COMPONENT_DIM = "component"


@dataclass(frozen=True)
class Input:
    """A validated input: the matrix, and how to give results back.

    Attributes
    ----------
    matrix : DRM
        The data as a lazy distributed row matrix.
    kind : {"numpy", "dask", "drm", "zarr", "xarray"}
        Where it came from; decides the type of the results.
    dataarray : xarray.DataArray or None
        The xarray input (for its dims and coordinates), else None.
    """

    matrix: DRM
    kind: str
    dataarray: xr.DataArray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return self.matrix.shape

    @property
    def dtype(self) -> np.dtype:
        """Dtype of fitted attributes and results: float32 stays, anything else is float64."""
        return np.dtype(np.float32 if self.matrix.dtype == np.float32 else np.float64)

    @property
    def feature_names(self) -> np.ndarray | None:
        """Column labels when they are all strings (scikit-learn's rule for feature names)."""
        labels = self.matrix.col_labels
        if labels is None or not all(isinstance(v, str) for v in labels):
            return None
        return np.asarray(labels, dtype=object)

    def rows_out(self, result: DRM, dim: Hashable, coords: Mapping[Hashable, Any]) -> Any:
        """Give a row-aligned matrix result back in the caller's type.

        xarray results get the input's sample coordinates, and ``dim`` with
        ``coords`` (coordinates along it) as their second dimension.
        """
        if self.kind == "numpy":
            return result.compute()
        if self.kind == "dask":
            return result.to_dask()
        if self.kind != "xarray":
            return result
        return self._dataarray(result.to_dask(), dim, coords)

    def vector_out(self, result: LazyResult) -> Any:
        """Give a per-sample vector (``score_samples``) back in the caller's type."""
        if self.kind == "numpy":
            return result.compute()
        if self.kind in ("drm", "zarr"):
            return result
        data = result.to_dask()
        if self.kind == "dask":
            return data
        return self._dataarray(data, None, {})

    def _dataarray(
        self, data: da.Array, dim: Hashable | None, coords: Mapping[Hashable, Any]
    ) -> xr.DataArray:
        x = self.dataarray
        assert x is not None
        if not isinstance(x.data, da.Array):
            data = data.compute()  # numpy-backed in, numpy-backed out
        sample_dim = x.dims[0]
        if dim is None:
            out = xr.DataArray(data, dims=(sample_dim,), coords=coords_along(x, sample_dim))
            out.name = None  # not the dask array's name
            return out
        if dim == sample_dim:
            raise ValueError(
                f"the samples dimension is named {sample_dim!r} like the output's second "
                f"dimension; rename it first, e.g. X.rename({{{sample_dim!r}: 'sample'}})"
            )
        out_coords = {**coords_along(x, sample_dim), **coords}
        return xr.DataArray(data, dims=(sample_dim, dim), coords=out_coords)

    def label(self, values: np.ndarray, axes: tuple[str, ...], components: Sequence[str]) -> Any:
        """Label a fitted attribute for xarray input; other inputs get ``values`` as is.

        ``axes`` names each axis ``"component"`` or ``"feature"``; feature axes
        take the input's coordinates along its features dimension.
        """
        x = self.dataarray
        if x is None:
            return values
        feature_dim = x.dims[1]
        dims = tuple(feature_dim if a == "feature" else COMPONENT_DIM for a in axes)
        coords = coords_along(x, feature_dim) if "feature" in axes else {}
        if "component" in axes:
            coords[COMPONENT_DIM] = np.asarray(components, dtype=object)
        return xr.DataArray(values, dims=dims, coords=coords)


def coords_along(x: xr.DataArray, dim: Hashable) -> dict:
    """The coordinates of ``x`` that run along ``dim`` only (its index and auxiliary ones)."""
    return {name: c.variable for name, c in x.coords.items() if c.dims == (dim,)}


def validate_input(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    n_features: int | None = None,
    min_features: int = 1,
) -> Input:
    """Validate ``X`` once and wrap it as a DRM.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator; ``fit`` (``reset=True``) records ``n_features_in_`` and
        ``feature_names_in_`` on it, later calls check against them.
    X : array-like, scipy.sparse, dask array, DRM, xarray.DataArray or path
        The input (see the module docstring).
    reset : bool
        True in ``fit``: record the input's features instead of checking them.
    n_features : int, optional
        For ``inverse_transform``: the number of columns expected (the
        components); the recorded features are then neither set nor checked.
    min_features : int, default 1
        Refuse fewer columns (TruncatedSVD needs 2, like scikit-learn's).

    Returns
    -------
    Input
    """
    if isinstance(X, xr.DataArray | xr.Dataset):
        data = Input(dl.from_xarray(X), "xarray", X)
    elif isinstance(X, DRM):
        data = Input(X, "drm")
    elif isinstance(X, da.Array):
        data = Input(dl.from_array(X), "dask")
    elif isinstance(X, str | os.PathLike):
        data = Input(dl.read_zarr(X), "zarr")
    else:
        return _in_memory(estimator, X, reset, n_features, min_features)
    _check_lazy(estimator, data, reset, n_features, min_features)
    return data


def _in_memory(
    estimator: Any, X: Any, reset: bool, n_features: int | None, min_features: int
) -> Input:
    kw: dict[str, Any] = {"dtype": [np.float64, np.float32], "accept_sparse": ("csr", "csc")}
    if n_features is None:
        X = validate_data(estimator, X, reset=reset, ensure_min_features=min_features, **kw)
    else:
        X = check_array(X, input_name="X", **kw)
        if X.shape[1] != n_features:
            raise ValueError(f"X has {X.shape[1]} columns, expected {n_features} (components)")
    return Input(dl.from_array(X), "numpy")


def _check_lazy(
    estimator: Any, data: Input, reset: bool, n_features: int | None, min_features: int
) -> None:
    name = type(estimator).__name__
    _n_samples, n_cols = data.shape
    if n_features is not None:
        if n_cols != n_features:
            raise ValueError(f"X has {n_cols} columns, expected {n_features} (components)")
        return
    if n_cols < min_features:
        raise ValueError(
            f"Found array with {n_cols} feature(s) (shape={data.shape}) while a minimum of "
            f"{min_features} is required by {name}."
        )
    names = data.feature_names
    if reset:
        estimator.n_features_in_ = n_cols
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    if n_cols != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_cols} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    fitted = getattr(estimator, "feature_names_in_", None)
    # scikit-learn's rules (BaseEstimator._check_feature_names), for labeled lazy input
    if fitted is None and names is not None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names",
            UserWarning,
            stacklevel=3,
        )
    elif fitted is not None and names is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            UserWarning,
            stacklevel=3,
        )
    elif fitted is not None and not np.array_equal(fitted, names):
        raise ValueError(
            "The feature names should match those that were passed during fit; "
            f"fitted with {list(fitted)}, got {list(names)}"
        )


class Range(Interval):
    """scikit-learn's :class:`~sklearn.utils._param_validation.Interval`, refusing bools.

    scikit-learn lets ``True`` pass for the int 1 (``bool`` is an
    ``Integral``); dlinalg's estimators never have (``factors=True`` is a
    mistake, not one factor). Same wording and error as ``Interval``
    otherwise: :class:`~sklearn.utils._param_validation.InvalidParameterError`,
    a ``ValueError`` and a ``TypeError``, naming the parameter and its value.

    Examples
    --------
    >>> from numbers import Integral
    >>> Range(Integral, 1, None, closed="left").is_satisfied_by(True)
    False
    >>> str(Range(Integral, 1, None, closed="left"))
    'an int in the range [1, inf)'
    """

    def is_satisfied_by(self, val: Any) -> bool:
        return not isinstance(val, bool) and super().is_satisfied_by(val)


def check_not_empty(shape: tuple, name: str) -> None:
    """Refuse a matrix without rows or columns, in scikit-learn's words (its checks read them).

    Examples
    --------
    >>> from dlinalg.models._validation import check_not_empty
    >>> check_not_empty((12, 0), "A")
    Traceback (most recent call last):
    ...
    ValueError: A is empty: 0 feature(s) (shape=(12, 0)) while a minimum of 1 is required.
    """
    if 0 in shape:
        what = "sample(s)" if shape[0] == 0 else "feature(s)"
        raise ValueError(
            f"{name} is empty: 0 {what} (shape={tuple(shape)}) while a minimum of 1 is required."
        )


def check_params(caller: str, constraints: dict[str, list], **params: Any) -> None:
    """Check a method's or function's arguments against scikit-learn constraints.

    ``validate_params`` as a decorator would bind the whole signature on every
    call (``recommend`` is called once per user); this checks only what is
    named, with the same errors.

    Examples
    --------
    >>> from numbers import Integral
    >>> check_params("ALS.recommend", {"n": [Range(Integral, 1, None, closed="left")]}, n=0)
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'n' parameter of \
ALS.recommend must be an int in the range [1, inf). Got 0 instead.
    """
    validate_parameter_constraints(constraints, params, caller_name=caller)


#: An int >= 1 (counts, sizes, ``n`` of the top-n methods).
POSITIVE_INT = Range(Integral, 1, None, closed="left")
#: An int >= 0 (seeds, numbers of iterations).
NON_NEGATIVE_INT = Range(Integral, 0, None, closed="left")
#: ``tol``: a real >= 0 (infinity included: scikit-learn's ARPACK tolerance, unused here).
TOL = Range(Real, 0, None, closed="both")
#: scikit-learn's randomized-SVD normalizers (accepted for compatibility).
POWER_ITERATION_NORMALIZERS = StrOptions({"auto", "QR", "LU", "none"})


def as_float64(A: DRM) -> DRM:
    """``A`` with float64 blocks (dense or sparse), so products accumulate in float64."""
    if A.dtype == np.float64:
        return A
    return A.map_blocks(_block_float64, dtype=np.float64)


def _block_float64(block: Any) -> Any:
    return block.astype(np.float64)
