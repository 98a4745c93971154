"""Dunning's log-likelihood ratio (G^2) of 2 x 2 contingency tables, as Mahout computes it.

:func:`log_likelihood_ratio` is the public, vectorised function. The compiled
scalar :func:`llr_scalar` is the one the similarity kernels call on every
co-occurrence count, so the indicator values and the public function agree
to the last bit.

Mahout's evaluation order is kept exactly (``LogLikelihood.java``): with
``xLogX(x) = x * log(x)`` (``xLogX(0) = 0``) and the unnormalised entropy
``entropy(a, b, ...) = xLogX(a + b + ...) - xLogX(a) - xLogX(b) - ...``
(each term subtracted in turn),

    LLR = 2 * (entropy(k11 + k12, k21 + k22) + entropy(k11 + k21, k12 + k22)
               - entropy(k11, k12, k21, k22))

clamped to 0 when rounding makes the bracket negative. The logarithm is the C
library's ``log`` (what Python's ``math.log`` calls), not numpy's vectorised
one, which rounds differently in the last bit for some arguments; this is what
makes printed scores match Mahout's digit for digit.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numba
import numpy as np

from ._counts import check_counts

__all__ = ["log_likelihood_ratio", "llr_scalar", "xlogx"]

#: Counts above this are not exactly representable as float64, so refused.
MAX_COUNT = 2**53


@numba.njit(cache=True, nogil=True, inline="always")
def xlogx(x: int) -> float:  # pragma: no cover - compiled
    """``x * log(x)`` with ``xlogx(0) = 0`` (Mahout's ``xLogX``)."""
    if x == 0:
        return 0.0
    f = float(x)
    return f * math.log(f)


@numba.njit(cache=True, nogil=True, inline="always")
def llr_from_entropies(row: float, col: float, mat: float) -> float:  # pragma: no cover
    """``2 (row + col - mat)``, 0 where rounding makes it negative (Mahout's last step)."""
    if row + col < mat:
        return 0.0
    return 2.0 * (row + col - mat)


@numba.njit(cache=True, nogil=True)
def llr_scalar(k11: int, k12: int, k21: int, k22: int) -> float:  # pragma: no cover - compiled
    """The log-likelihood ratio of one table, in Mahout's exact order of operations."""
    row = xlogx(k11 + k12 + k21 + k22) - xlogx(k11 + k12) - xlogx(k21 + k22)
    col = xlogx(k11 + k21 + k12 + k22) - xlogx(k11 + k21) - xlogx(k12 + k22)
    mat = xlogx(k11 + k12 + k21 + k22) - xlogx(k11) - xlogx(k12) - xlogx(k21) - xlogx(k22)
    return llr_from_entropies(row, col, mat)


@numba.njit(cache=True, nogil=True)
def _llr_many(k11, k12, k21, k22, out):  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        out[i] = llr_scalar(k11[i], k12[i], k21[i], k22[i])


def _counts(value: Any, name: str) -> np.ndarray:
    """``value`` as an int64 array after checking it holds counts; errors name ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object and arr.size and all(isinstance(v, numbers.Real) for v in arr.flat):
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold counts (integers), got dtype {arr.dtype}")
    check_counts(arr, name)
    if (arr > MAX_COUNT).any():
        raise ValueError(f"{name} holds a count above 2**53, got {arr[arr > MAX_COUNT][0]!r}")
    return arr.astype(np.int64)


def log_likelihood_ratio(k11: Any, k12: Any, k21: Any, k22: Any) -> np.ndarray | np.float64:
    """Dunning's log-likelihood ratio (G^2) of 2 x 2 contingency tables.

    For two events A and B counted over N trials (users)::

                     B        not B
        A           k11       k12
        not A       k21       k22

    the score is large when A and B occur together more (or less) often
    than independence predicts, and 0 when ``k11 * k22 == k12 * k21``.

    Parameters
    ----------
    k11, k12, k21, k22 : int or array-like of int
        The four cells: A and B together, A without B, B without A, neither.
        Arrays broadcast against each other like numpy ufunc arguments.
        Integer-valued floats are accepted.

    Returns
    -------
    numpy.ndarray or numpy.float64
        ``G^2 = 2 * sum k_ij log(k_ij N / (row_i col_j))``, computed from
        unnormalised entropies in Mahout's order of operations; the
        broadcast shape of the inputs, or a ``numpy.float64`` scalar (a
        ``float`` subclass) when all four are scalars.

    Raises
    ------
    ValueError
        If a count is negative, not finite, not an integer, or above 2**53;
        the message names the argument (``k11`` ... ``k22``).
    TypeError
        If an argument is not numeric (strings, booleans).

    See Also
    --------
    scipy.stats.chi2_contingency : ``lambda_="log-likelihood"`` gives the same G^2
        (in another order of operations, so not to the last bit).

    Notes
    -----
    Mahout's ``LogLikelihood.logLikelihoodRatio``: with ``xLogX(x) = x log x``
    and ``entropy(a, b, ...) = xLogX(a + b + ...) - xLogX(a) - xLogX(b) - ...``
    (each term subtracted in turn),
    ``2 * (entropy(k11 + k12, k21 + k22) + entropy(k11 + k21, k12 + k22) -
    entropy(k11, k12, k21, k22))``, set to 0 where rounding makes it
    negative. Evaluated in exactly that order, with the C library's ``log``,
    the results equal Mahout's to the last bit (and print the same digits
    with ``repr``). Cost: nine logarithms per table, compiled with numba.

    References
    ----------
    .. [1] Dunning, T. (1993). "Accurate methods for the statistics of surprise
       and coincidence". Computational Linguistics, 19(1), 61-74.
    .. [2] Apache Mahout, ``org.apache.mahout.math.stats.LogLikelihood``
       (https://mahout.apache.org).

    Examples
    --------
    >>> from dlinalg.models import log_likelihood_ratio
    >>> log_likelihood_ratio(1, 0, 0, 1)
    np.float64(2.772588722239781)
    >>> float(log_likelihood_ratio(5, 1995, 0, 100000))
    39.33052...
    >>> log_likelihood_ratio([10, 1], 0, 0, [10, 1])  # broadcasting
    array([27.72588722,  2.77258872])
    >>> log_likelihood_ratio(1, 1, 1, 1)  # independent events
    np.float64(0.0)
    """
    names = ("k11", "k12", "k21", "k22")
    arrays = [_counts(v, n) for v, n in zip((k11, k12, k21, k22), names, strict=True)]
    total = arrays[0] + arrays[1] + arrays[2] + arrays[3]  # broadcasts; below 2**55
    if (total > MAX_COUNT).any():
        raise ValueError("k11 + k12 + k21 + k22 must not exceed 2**53")
    flat = [np.ascontiguousarray(np.broadcast_to(a, total.shape)).ravel() for a in arrays]
    out = np.empty(total.size, dtype=np.float64)
    _llr_many(*flat, out)
    out = out.reshape(total.shape)
    return out[()] if out.ndim == 0 else out
