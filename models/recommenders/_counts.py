"""The one check of interaction counts shared by the LLR, the cooccurrence and the input readers."""

from __future__ import annotations

import numpy as np

__all__ = ["check_counts"]


def check_counts(values: np.ndarray, name: str, *, hint: str = "") -> None:
    """Raise unless ``values`` holds finite, non-negative, integer-valued counts.

    Booleans pass (they are 0/1 counts); any other non-numeric dtype is a
    ``TypeError``. The message names ``name`` and the first offending value;
    ``hint`` is appended to the non-integer message.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._counts import check_counts
    >>> check_counts(np.array([0.0, 3.0]), "k11")
    >>> check_counts(np.array([1.0, 2.5]), "k11")
    Traceback (most recent call last):
    ...
    ValueError: k11 holds a non-integer count (np.float64(2.5))
    """
    kind = values.dtype.kind
    if kind == "b":
        return
    if kind not in "iuf":
        raise TypeError(f"{name} must hold numeric counts, got dtype {values.dtype}")
    if kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{name} holds a non-finite count, NaN or infinity ({values[bad][0]!r})"
            )
        bad = values != np.floor(values)
        if bad.any():
            raise ValueError(f"{name} holds a non-integer count ({values[bad][0]!r}){hint}")
    if kind != "u" and (values < 0).any():
        raise ValueError(f"{name} holds a negative count ({values[values < 0][0]!r})")
