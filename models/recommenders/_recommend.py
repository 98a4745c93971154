"""What the LLR estimators share: input checks, parameter kinds and action lookups.

:func:`interaction_inputs` validates what ``fit`` receives (an
:class:`~dlinalg.models.Interactions`, or user x item matrices of any
kind) before any Dask graph exists, and returns DRMs with aligned row blocks.
The recommendation calls are in :mod:`._similarity_api`.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import scipy.sparse as sp

import dlinalg as dl
from dlinalg import DRM
from dlinalg._validation import check_same_labels

from .._validation import Range, check_not_empty
from ._counts import check_counts
from ._interactions import Interactions

__all__ = [
    "Inputs",
    "interaction_inputs",
    "COUNT",
    "FINITE",
    "SEED",
    "count_or_none",
    "threshold",
    "which_index",
]


@dataclass
class Inputs:
    """Validated interaction matrices sharing one user axis."""

    matrices: list[DRM]
    item_labels: list[pd.Index]
    names: list[Hashable]
    n_users: int
    user_labels: pd.Index
    arg_names: list[str]


#: The caps and top-n sizes: an int in [1, 2**63 - 1] (an int64 index).
COUNT = Range(Integral, 1, np.iinfo(np.int64).max, closed="both")
#: ``min_llr`` and ``threshold``: a finite real.
FINITE = Range(Real, None, None, closed="neither")
#: The downsampling seed: an int in [0, 2**64).
SEED = Range(Integral, 0, 2**64, closed="left")


def count_or_none(value: Any) -> int | None:
    """A validated ``COUNT`` or None as a Python int (or None)."""
    return None if value is None else int(value)


def threshold(value: Any) -> float:
    """A validated ``FINITE`` or None as a float, None meaning no threshold (-inf)."""
    return -np.inf if value is None else float(value)


def _in_memory(x: Any, name: str) -> sp.csr_array:
    """Check an in-memory matrix of counts and return it as CSR."""
    if sp.issparse(x):
        if len(x.shape) != 2:
            raise ValueError(f"{name} must be 2-D (users x items), got shape {x.shape}")
        csr = sp.csr_array(x)
    else:
        arr = np.asarray(x)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (users x items), got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numeric counts, got dtype {arr.dtype}")
        check_counts(arr, name)
        csr = sp.csr_array(arr)
    if csr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numeric counts, got dtype {csr.dtype}")
    check_not_empty(csr.shape, name)
    check_counts(csr.data, name)
    if csr.count_nonzero() == 0:
        raise ValueError(f"{name} is empty: no non-zero interaction in shape {csr.shape}")
    return csr


def _lazy_meta(x: Any, name: str) -> None:
    """Checks a Dask array or DRM allows without reading values."""
    if len(x.shape) != 2:
        raise ValueError(f"{name} must be 2-D (users x items), got shape {x.shape}")
    if any(np.isnan(s) for s in x.shape):
        raise ValueError(f"{name} has unknown shape {x.shape}; call compute_chunk_sizes() first")
    check_not_empty(x.shape, name)
    if np.dtype(x.dtype).kind not in "biuf":
        raise TypeError(f"{name} must hold numeric counts, got dtype {x.dtype}")


def interaction_inputs(A: Any, others: Sequence[Any], est: str) -> Inputs:
    """Validate ``fit(A, *others)`` and wrap every matrix as a DRM with A's row blocks."""
    if isinstance(A, Interactions):
        if others:
            raise ValueError(
                f"{est}.fit got an Interactions and {len(others)} more matrices; an "
                "Interactions already holds the secondary actions"
            )
        mats = [A.matrix(a) for a in A.actions]
        raw: list[Any] = mats
        names = list(A.actions)
        labels = [A.items(a) for a in A.actions]
        users = A.users
    else:
        raw = [A, *others]
        names = ["A", *[f"others[{j}]" for j in range(len(others))]]
        labels = []
        users = None
    checked: list[Any] = []
    for x, name in zip(raw, names, strict=True):
        if isinstance(x, DRM | da.Array):
            _lazy_meta(x, name)
            checked.append(x)
        elif isinstance(x, Interactions | pd.DataFrame):
            raise TypeError(
                f"{name} is a {type(x).__name__}; pass one Interactions as the only "
                "argument (Interactions.from_dataframe builds it from a table)"
            )
        else:
            checked.append(_in_memory(x, name))
    first = checked[0]
    for x, name in zip(checked[1:], names[1:], strict=True):
        if x.shape[0] != first.shape[0]:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)} but A has shape {tuple(first.shape)}: "
                "every action must share A's users (rows)"
            )
    _check_same_users(checked, names, est)
    arg_names = [str(nm) for nm in names]
    if not isinstance(A, Interactions):
        labels = [_col_labels(x) for x in checked]
        users = _row_labels(first)
        names = list(range(len(checked)))
    drms = [_as_drm(x) for x in checked]
    chunks = drms[0].chunks
    drms = [drms[0]] + [d if d.chunks == chunks else d.rechunk(chunks) for d in drms[1:]]
    return Inputs(drms, labels, names, int(first.shape[0]), users, arg_names)


def _check_same_users(checked: list[Any], names: list[Hashable], est: str) -> None:
    """Refuse actions whose user (row) labels differ: rows are paired by position.

    Mahout joins its actions by user ID; dlinalg pairs row ``u`` of every
    action with row ``u`` of A, so labelled rows must be the same users in the
    same order (an action without row labels is positional), as for ``A.T @ B``.
    """
    labelled = [
        (x.row_labels, name)
        for x, name in zip(checked, names, strict=True)
        if isinstance(x, DRM) and x.row_labels is not None
    ]
    for labels, name in labelled[1:]:
        first, first_name = labelled[0]
        check_same_labels(
            first, labels, f"the users (rows) of {first_name} with those of {name}", f"{est}.fit"
        )


def _col_labels(x: Any) -> pd.Index:
    if isinstance(x, DRM) and x.col_labels is not None:
        return pd.Index(x.col_labels)
    return pd.RangeIndex(x.shape[1])


def _row_labels(x: Any) -> pd.Index:
    if isinstance(x, DRM) and x.row_labels is not None:
        return pd.Index(x.row_labels)
    return pd.RangeIndex(x.shape[0])


def _as_drm(x: Any) -> DRM:
    if isinstance(x, DRM):
        return x
    return dl.from_array(x)


def which_index(which: Any, names: list[Hashable]) -> int:
    """An action given by name or position -> its position."""
    if which in names:
        return names.index(which)
    if (
        isinstance(which, numbers.Integral)
        and not isinstance(which, bool)
        and 0 <= which < len(names)
    ):
        return int(which)
    raise KeyError(f"no action {which!r}; the fitted actions are {names}")
