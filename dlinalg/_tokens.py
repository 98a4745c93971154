"""Deterministic task-key tokens that tell an array from its transpose.

``dask.base.tokenize`` hashes an array's bytes with its dtype and shape but
not its memory order, so a square C-ordered ``H`` and its view ``H.T`` get
the same token (dask 2026.8). Two different operands under one key silently
give wrong results (``(A @ H.T) @ H`` computed ``A @ H.T @ H.T``), so every
token of a user array goes through :func:`array_token`, which adds strides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dask.base import tokenize

__all__ = ["array_token"]


def _with_layout(part: Any) -> Any:
    if isinstance(part, np.ndarray):
        return ("ndarray", part.strides, part)
    if isinstance(part, tuple | list):
        return type(part)(_with_layout(p) for p in part)
    return part


def array_token(*parts: Any) -> str:
    """``tokenize(*parts)`` with every numpy array's strides in the hash.

    Examples
    --------
    >>> import numpy as np
    >>> from dask.base import tokenize
    >>> H = np.arange(9.0).reshape(3, 3)
    >>> tokenize(H) == tokenize(H.T), array_token(H) == array_token(H.T)
    (True, False)
    """
    return tokenize(*(_with_layout(p) for p in parts))
