"""What :class:`dlinalg.models.ALS` accepts: one check of the interaction matrix, before any graph.

In-memory input (scipy.sparse, numpy, array-likes, an ``Interactions``
object) is converted to CSR and fully checked here: shape, dtype, finite
values, non-negative counts for the implicit model, at least one non-zero.
Lazy input (a DRM or a Dask array) is checked from its metadata only; its
values are checked by the first pass (``dlinalg.models.recommenders._als_plan.prepare_rows``).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import scipy.sparse as sp

import dlinalg as dl
from dlinalg import DRM

from .._validation import check_not_empty

__all__ = ["InteractionData", "interaction_input"]


class InteractionData:
    """The validated interaction matrix: in memory (``csr``) or lazy (``lazy``, a dask array)."""

    def __init__(
        self,
        shape: tuple,
        dtype: Any,
        csr: sp.csr_array | None = None,
        lazy: da.Array | None = None,
        user_labels: Any = None,
        item_labels: Any = None,
    ):
        self.shape = tuple(int(s) for s in shape)
        self.factor_dtype = np.dtype(np.float32 if dtype == np.float32 else np.float64)
        self.csr, self.lazy = csr, lazy
        self.user_labels = None if user_labels is None else pd.Index(user_labels)
        self.item_labels = None if item_labels is None else pd.Index(item_labels)


def _is_interactions(R: Any) -> bool:
    return hasattr(R, "actions") and callable(getattr(R, "matrix", None))


def _check_shape_dtype(shape: tuple, dtype: Any) -> None:
    if len(shape) != 2:
        raise ValueError(f"ALS needs a 2-D user x item matrix, got shape {shape}")
    check_not_empty(shape, "the interaction matrix")
    if np.dtype(dtype).kind not in "biuf":
        raise TypeError(f"the interaction matrix must be numeric, got dtype {np.dtype(dtype)}")


def interaction_input(R: Any, implicit: bool) -> InteractionData:
    """Check ``R`` without building a graph; lazy input stays lazy."""
    users = items = None
    if _is_interactions(R):
        action = R.actions[0]
        users, items = R.users, R.items(action)
        R = R.matrix(action)
    if isinstance(R, DRM):
        _check_shape_dtype(R.shape, R.dtype)
        return InteractionData(
            R.shape, R.dtype, lazy=R.to_dask(), user_labels=R.row_labels, item_labels=R.col_labels
        )
    if isinstance(R, da.Array):
        _check_shape_dtype(R.shape, R.dtype)
        return InteractionData(R.shape, R.dtype, lazy=dl.from_array(R).to_dask())
    if sp.issparse(R):
        csr = sp.csr_array(R)
    else:
        try:
            arr = np.asarray(R)
        except Exception as exc:  # any failure means "not a matrix"
            raise TypeError(f"ALS cannot use {type(R).__name__} as a matrix") from exc
        if arr.dtype == object:
            raise TypeError(f"the interaction matrix must be numeric, got {type(R).__name__}")
        _check_shape_dtype(arr.shape, arr.dtype)
        csr = sp.csr_array(arr)
    _check_shape_dtype(csr.shape, csr.dtype)
    dtype = np.float32 if csr.dtype == np.float32 else np.float64
    csr = sp.csr_array(csr, dtype=dtype, copy=True)
    csr.sum_duplicates()
    if not np.isfinite(csr.data).all():
        raise ValueError("the interaction matrix contains NaN or infinity")
    if implicit and csr.data.size and csr.data.min() < 0:
        raise ValueError(
            f"Negative values in data: the implicit model needs non-negative counts, found "
            f"{int((csr.data < 0).sum())} negative value(s) (smallest {float(csr.data.min())!r}); "
            "use implicit=False for ratings"
        )
    csr.eliminate_zeros()
    if csr.nnz == 0:
        raise ValueError(
            f"the {csr.shape[0]} x {csr.shape[1]} interaction matrix has no non-zero entries: "
            "nothing to factorise"
        )
    return InteractionData(csr.shape, dtype, csr=csr, user_labels=users, item_labels=items)
