"""What every recommender's implicit-style calls share: checks, candidates, top N, npz files.

:class:`~._factor_api.FactorRecommender` (ALS) and
:class:`~._similarity_api.SimilarityRecommender` (the item-item models) both
check ``user_items`` with :func:`rows_matrix`, turn ``items``/``filter_items``
into positions with :func:`candidates`, rank batches of score rows with
:func:`ranked_top` and write and read their models with :func:`write_npz` /
:func:`read_npz` (``allow_pickle=False``, labels kept as numbers or strings).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import POSITIVE_INT, check_params
from ._ids import Ids, as_id_array
from ._topk import top_k_rows

__all__ = [
    "SCORE_BYTES",
    "rows_matrix",
    "check_N",
    "candidates",
    "ranked_top",
    "one_or_batch",
    "label_array",
    "labels_or_none",
    "write_npz",
    "read_npz",
    "csr_entries",
    "csr_from",
]

#: Scores held at once by a batched call (rows x items, float64): 256 MiB.
SCORE_BYTES = 2**28


def rows_matrix(
    M: Any, rows: int, cols: int, name: str, nonneg: bool, what: str | None = None
) -> sp.csr_array:
    """``M`` as a checked ``rows x cols`` CSR array of finite values.

    ``what`` names the columns in the shape message (default: "item" for
    ``user_items``, else "user").
    """
    if M is None:
        raise ValueError(f"{name} is required here (one row of interactions per id)")
    try:
        csr = sp.csr_array(M) if sp.issparse(M) else sp.csr_array(np.atleast_2d(np.asarray(M)))
    except Exception as exc:  # any failure means "not a matrix"
        raise TypeError(
            f"{name} must be a sparse or dense matrix, got {type(M).__name__}"
        ) from exc
    if csr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {csr.dtype}")
    if csr.shape != (rows, cols):
        what = what or ("item" if name == "user_items" else "user")
        raise ValueError(
            f"{name} must have shape ({rows}, {cols}) (one row per id, one column per "
            f"{what} of the model), got {csr.shape}"
        )
    csr = sp.csr_array(csr, dtype=np.float64, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    if not np.isfinite(csr.data).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if nonneg and csr.data.size and csr.data.min() < 0:
        raise ValueError(
            f"{name} holds a negative count ({csr.data.min()!r}) for the implicit model"
        )
    csr.eliminate_zeros()
    return csr


def check_N(est: Any, N: Any, method: str) -> int:
    """``N`` as an int >= 1; ``ValueError`` naming ``Estimator.method`` otherwise."""
    check_params(f"{type(est).__name__}.{method}", {"N": [POSITIVE_INT]}, N=N)
    return int(N)


def candidates(side: Ids, keep: Any, drop: Any, labels: bool, names: tuple) -> tuple:
    """``(positions ranked, positions left out)`` from ``items``/``filter_items``."""
    if keep is not None and drop is not None:
        raise ValueError(f"give {names[0]} or {names[1]}, not both")
    ranked = None
    if keep is not None:
        ranked = np.unique(side.positions(as_id_array(keep, names[0])[0], labels=labels))
        if not ranked.size:
            raise ValueError(f"{names[0]} is empty: nothing to rank")
    out = None if drop is None else side.positions(as_id_array(drop, names[1])[0], labels=labels)
    return ranked, out


def ranked_top(
    score: Callable[[int, int], np.ndarray],
    rows: int,
    n_cand: int,
    N: int,
    skip: sp.csr_array | None,
    ranked: np.ndarray | None,
    dropped: np.ndarray | None,
    dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``N`` per row of the scores ``score(a, b)`` gives for rows ``a:b``, in positions.

    ``score(a, b)`` returns the dense scores of rows ``a:b`` over the
    ``n_cand`` candidate columns (all columns, or ``ranked``, sorted
    positions, in that order) of ``dtype``; NaN is never chosen. ``dropped``: columns
    never chosen (not with ``ranked``); ``skip``: a per-row CSR pattern of
    columns to leave out. Rows are scored in batches of at most
    :data:`SCORE_BYTES`.
    """
    N = min(N, n_cand)
    ids = np.empty((rows, N), np.int64)
    vals = np.empty((rows, N), dtype)
    step = max(1, SCORE_BYTES // (8 * max(n_cand, 1)))
    for a in range(0, rows, step):
        b = min(a + step, rows)
        scores = score(a, b)
        if dropped is not None:
            scores[:, dropped] = np.nan  # never chosen by top_k_rows
        pattern = (None, None)
        if skip is not None:
            block = skip[a:b] if ranked is None else skip[a:b][:, ranked]  # renumbered
            block = sp.csr_array(block)
            pattern = (block.indptr, block.indices)
        ids[a:b], vals[a:b] = top_k_rows(scores, N, *pattern)
    if ranked is not None:
        ids = np.where(ids >= 0, ranked[np.maximum(ids, 0)], -1)
    return ids, vals


def one_or_batch(ids: np.ndarray, vals: np.ndarray, scalar: bool) -> tuple:
    """A batch as it is (padded); one query as its first row without the padding."""
    if scalar:
        keep = vals[0] > -np.inf
        return ids[0][keep], vals[0][keep]
    return ids, vals


# --- npz files ------------------------------------------------------------------------------
def label_array(index: pd.Index, name: str) -> np.ndarray:
    """Labels as an array ``np.load`` reads without pickle: numbers or strings only."""
    values = index.to_numpy()
    if values.dtype.kind in "biuf":
        return values
    if all(isinstance(v, str) for v in values):
        return values.astype(str)
    bad = next(v for v in values if not isinstance(v, str))
    raise TypeError(
        f"save keeps numeric or string labels; {name} holds {bad!r} ({type(bad).__name__})"
    )


def labels_or_none(index: pd.Index | None) -> pd.Index | None:
    """None for positions (no index, or ``RangeIndex(n)``), else the labels."""
    if index is None:
        return None
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return None
    return index


def csr_entries(prefix: str, m: sp.csr_array) -> dict[str, np.ndarray]:
    """The arrays of a CSR matrix, named ``prefix_data`` etc."""
    m = sp.csr_array(m)
    return {
        f"{prefix}_data": m.data,
        f"{prefix}_indices": m.indices.astype(np.int64),
        f"{prefix}_indptr": m.indptr.astype(np.int64),
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from(data: dict[str, np.ndarray], prefix: str) -> sp.csr_array:
    """The CSR matrix :func:`csr_entries` wrote."""
    shape = tuple(int(s) for s in data[f"{prefix}_shape"])
    return sp.csr_array(
        (data[f"{prefix}_data"], data[f"{prefix}_indices"], data[f"{prefix}_indptr"]), shape=shape
    )


def write_npz(
    path: str | os.PathLike,
    fmt: str,
    params: dict[str, Any],
    arrays: dict[str, np.ndarray],
    labels: dict[str, pd.Index | None],
) -> None:
    """Write ``format``, ``params`` (JSON), ``arrays`` and the non-None ``labels`` to ``path``.

    Labels are checked before the file is opened: a refused label leaves no file.
    """
    out = {"format": np.array(fmt), "params": np.array(json.dumps(params)), **arrays}
    for name, index in labels.items():
        if index is not None:
            out[name] = label_array(index, name)
    with open(os.fspath(path), "wb") as f:  # np.savez would append ".npz" to a bare name
        np.savez(f, **out)


def read_npz(path: str | os.PathLike, fmt: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(params, arrays)`` of a file :func:`write_npz` wrote with format ``fmt``."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a saved dlinalg model: {exc}") from exc
    if "format" not in data or str(data["format"]) != fmt:
        got = str(data["format"]) if "format" in data else "no format entry"
        raise ValueError(f"{os.fspath(path)!r} is not a saved {fmt} model ({got})")
    return json.loads(str(data["params"])), data
