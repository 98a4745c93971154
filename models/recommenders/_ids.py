"""User and item ids of the recommenders' calls: labels or positions, in and out.

A model fitted on labeled input (an :class:`~dlinalg.models.Interactions`, a
labeled DRM) takes and returns labels; one fitted on a plain matrix takes and
returns positions, as the implicit library does. ``labels=False`` asks for
positions either way. Unknown ids are a ``KeyError`` that names them.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Ids", "as_id_array"]

#: How many unknown ids an error message lists.
SHOWN = 5


def as_id_array(ids: Any, what: str) -> tuple[np.ndarray, bool]:
    """``(1-D array of ids, was it one scalar id)``; a nested or empty-dimension input is refused."""
    if isinstance(ids, str | bytes) or np.ndim(ids) == 0:
        return np.array([ids], dtype=object if isinstance(ids, str | bytes) else None), True
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one id or a 1-D array of ids, got shape {arr.shape}")
    return arr, False


class Ids:
    """The ids of one axis (users or items) of a fitted model.

    Parameters
    ----------
    labels : pandas.Index or None
        The axis' labels (None: positions are the ids).
    count : int
        Its length.
    what : str
        ``"user"`` or ``"item"``, for messages.
    """

    def __init__(self, labels: pd.Index | None, count: int, what: str):
        self.labels, self.count, self.what = labels, int(count), what

    def uses_labels(self, labels: bool) -> bool:
        return bool(labels) and self.labels is not None

    def positions(self, ids: Any, *, labels: bool = True) -> np.ndarray:
        """Positions of ``ids`` (a 1-D array); ``KeyError`` naming the unknown ones."""
        if self.uses_labels(labels):
            values = np.asarray(ids).tolist()  # Python scalars: their repr names them plainly
            kind = object if self.labels.dtype == object else None
            pos = self.labels.get_indexer(pd.Index(values, dtype=kind)) if values else np.zeros(0)
            bad = [v for v, p in zip(values, pos, strict=True) if p < 0]
            self._refuse(bad)
            return np.asarray(pos, dtype=np.int64)
        arr = np.asarray(ids)
        integral = all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                       for v in arr.tolist())  # fmt: skip
        if arr.size and arr.dtype.kind not in "iu" and not integral:
            raise TypeError(
                f"{self.what} ids of this model are integer positions, got "
                f"{arr[0]!r} ({type(arr[0]).__name__})"
            )
        arr = arr.astype(np.int64)
        self._refuse([int(v) for v in arr[(arr < 0) | (arr >= self.count)]])
        return arr

    def _refuse(self, bad: list) -> None:
        if bad:
            shown = ", ".join(repr(v) for v in bad[:SHOWN]) + (", ..." if len(bad) > SHOWN else "")
            space = "labels" if self.labels is not None else f"positions in [0, {self.count})"
            raise KeyError(f"unknown {self.what}(s) {shown}: not among the model's {space}")

    def out(self, pos: np.ndarray, *, labels: bool = True) -> np.ndarray:
        """Ids of positions ``pos`` (``-1`` pads: ``-1`` in positions, None in labels)."""
        if not self.uses_labels(labels):
            return pos
        values = self.labels.to_numpy()
        if (pos >= 0).all():
            return values[pos]
        out = np.full(pos.shape, None, dtype=object)
        out[pos >= 0] = values[pos[pos >= 0]]
        return out

    def extended(self, ids: np.ndarray, *, labels: bool = True) -> tuple[Ids, np.ndarray]:
        """These ids plus the new ones in ``ids`` (appended in order), and ``ids``' positions.

        Positions beyond the end extend the axis to the largest one, as the
        implicit library's ``partial_fit_users`` does; negative ones are refused.
        """
        if self.uses_labels(labels):
            new = pd.Index(ids).unique().difference(self.labels, sort=False)
            grown = Ids(self.labels.append(new), self.count + len(new), self.what)
            return grown, grown.positions(ids)
        if self.labels is not None:  # positions of a labeled axis: no label to give new ones
            return self, self.positions(ids, labels=False)
        arr = np.asarray(ids)
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"{self.what} ids must be integer positions, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        if arr.size and arr.min() < 0:
            raise KeyError(f"{self.what} positions must be non-negative, got {int(arr.min())}")
        count = max(self.count, int(arr.max()) + 1 if arr.size else 0)
        return Ids(self.labels, count, self.what), arr
