"""The checks of an interaction table: its columns, actions, weights and label types.

Shared by the in-memory path (:mod:`._interactions`) and the Dask path
(:mod:`._interactions_dask`), so that both refuse the same input with the
same message.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlinalg.errors import (
    DTypeError,
    LabelError,
    NonFiniteError,
    OperandTypeError,
    ParameterError,
)

#: Name of the only action when the table has no action column.
DEFAULT_ACTION = "interaction"


class EmptyTableError(ValueError):
    """The interaction table has no rows (a caller may say which input or filter emptied it)."""

    def __init__(self) -> None:
        super().__init__("the interaction table is empty (no rows)")


def _check_roles(wanted: dict[str, Hashable | None], actions: Any) -> None:
    """One column per role, and ``actions`` a list of values: checked before the table is read."""
    seen: dict[Hashable, str] = {}
    for role, col in wanted.items():
        if col is None:
            continue
        if col in seen:
            raise ParameterError(
                f"{role}={col!r} names the {seen[col]} column too: the user, item, action and "
                "weight columns must be different columns"
            )
        seen[col] = role
    if isinstance(actions, str | bytes) or (
        actions is not None and not isinstance(actions, Iterable)
    ):
        raise OperandTypeError(
            f"actions= must be a list of action values, got {actions!r}; pass [{actions!r}]"
        )


def _check_columns(columns: Sequence, wanted: dict[str, Hashable | None]) -> None:
    present = list(columns)
    for role, col in wanted.items():
        if col is not None and col not in present:
            raise ValueError(
                f"the {role} column {col!r} is not in the table; its columns are {present}"
            )
        if col is not None and present.count(col) > 1:
            raise LabelError(
                f"the table has {present.count(col)} columns named {col!r} (the {role} "
                "column); rename or drop the duplicates first"
            )


#: Largest weight (count) of one row: float64 holds every integer up to 2**53 exactly.
MAX_WEIGHT = 2**53
#: Largest sum of the weights: every summed count (a cell, a column, A'A) then fits int64.
MAX_TOTAL_WEIGHT = 2**62


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _weight_error(w: pd.Series, bad: np.ndarray, name: str, what: str) -> ParameterError:
    """A ParameterError naming the first offending weight and its row label."""
    i = int(np.flatnonzero(bad)[0])
    return ParameterError(
        f"{name} holds {what} {_plain(w.iloc[i])!r} (row {_plain(w.index[i])!r}); "
        "weights are counts: "
        f"integers from 0 to 2**53"
    )


def _check_weights(w: pd.Series, col: Hashable) -> np.ndarray:
    """The weights as int64 counts, refusing anything that is not a count.

    Weights are interaction counts (how many times a user did the action), as
    Mahout's cooccurrence reads them: integers from 0 to ``MAX_WEIGHT``.
    Missing values, NaN and infinity are a :class:`NonFiniteError`; negative,
    fractional or larger values, a total above ``MAX_TOTAL_WEIGHT``, or a
    non-numeric or boolean column a :class:`ParameterError`. Nothing is
    clipped, rounded or wrapped around.
    """
    name = f"the weight column {col!r}"
    if not (pd.api.types.is_numeric_dtype(w) and not pd.api.types.is_bool_dtype(w)):
        raise ParameterError(f"{name} must hold numeric counts, got dtype {w.dtype}")
    missing = w.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise NonFiniteError(
            f"{name} holds a missing (non-finite) value ({_plain(w.iloc[i])!r}, row "
            f"{_plain(w.index[i])!r}); drop or fill it first"
        )
    if w.dtype.kind == "u":  # compare in uint64: 2**63 and above do not fit int64
        values = w.to_numpy(dtype=np.uint64)
    elif w.dtype.kind == "i":
        values = w.to_numpy(dtype=np.int64)
    else:
        values = w.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NonFiniteError(
                f"{name} holds the non-finite count {_plain(w.iloc[i])!r} "
                f"(row {_plain(w.index[i])!r}); "
                "drop or fill it first"
            )
        bad = values != np.floor(values)
        if bad.any():
            raise _weight_error(w, bad, name, "the non-integer count")
    if w.dtype.kind != "u" and (values < 0).any():
        raise _weight_error(w, values < 0, name, "the negative count")
    if (values > MAX_WEIGHT).any():
        raise _weight_error(w, values > MAX_WEIGHT, name, "the count")
    total = float(values.sum(dtype=np.float64))
    if total > MAX_TOTAL_WEIGHT:
        raise ParameterError(
            f"{name} adds up to {total:.6g}, more than 2**62: summed counts would overflow "
            "int64; scale the weights down"
        )
    return values.astype(np.int64)


def _check_label_types(values: pd.Series | pd.Index, role: str, col: Hashable) -> None:
    """Refuse a label column whose labels of different types are ambiguous.

    ``1`` and ``"1"`` (or ``b"1"``) would silently be two users, ``True`` and
    ``1`` silently one: a :class:`DTypeError` names both. Labels of different
    types that cannot be confused (``1`` and ``"s3"``) are kept, in order of
    first appearance since they cannot be sorted.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Index(values.dtype.categories)
    if values.dtype != object:
        return
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return
    for v in values:
        if not isinstance(v, Hashable) or isinstance(v, list | dict | set | np.ndarray):
            raise DTypeError(
                f"the {role} column {col!r} holds {v!r} of type {type(v).__name__}; labels "
                "must be hashable scalars such as str or int"
            )
    distinct = [_plain(v) for v in pd.unique(np.asarray(values, dtype=object))]
    flags = [v for v in distinct if isinstance(v, bool)]
    numbers_ = [v for v in distinct if isinstance(v, int | float) and not isinstance(v, bool)]
    clash: tuple[Any, Any] | None = (flags[0], numbers_[0]) if flags and numbers_ else None
    spelled: dict[str, Any] = {}
    for v in distinct:
        if clash is not None:
            break
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        key = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        if key in spelled and type(spelled[key]) is not type(v):
            clash = (spelled[key], v)
        spelled.setdefault(key, v)
    if clash is None:
        return
    first, second = clash
    raise DTypeError(
        f"the {role} column {col!r} mixes label types: {first!r} ({type(first).__name__}) "
        f"and {second!r} ({type(second).__name__}) would be taken for different {role}s, "
        f"or merged; convert the column to one type first, e.g. df[{col!r}].astype(str)"
    )


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and the sorted dictionary (first-appearance order if unsortable)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # labels of one kind that cannot be sorted (e.g. tuples with None)
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)
