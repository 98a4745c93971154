"""Proximal operators of the non-smooth penalties :func:`~dlinalg.proximal_gradient` takes.

Each is ``prox_{t h}(v) = argmin_x h(x) + ||x - v||^2 / (2 t)`` of a penalty
``h`` that is cheap on the client (an ``n``-vector): soft thresholding for
the L1 norm, block soft thresholding for the group L1 norm, clipping for
bounds. The intercepts are never penalized: the solver passes a mask.

References
----------
.. [1] N. Parikh and S. Boyd, "Proximal algorithms", Foundations and Trends
   in Optimization 1(3), 2014, section 6.
.. [2] S. Becker, E. Candes and M. Grant, "Templates for convex cone
   problems with applications to sparse signal recovery", Math. Prog. Comp.
   3(3), 2011 (TFOCS's ``prox_l1``, ``prox_l1l2``, ``proj_Rplus``, ``proj_box``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg._validation import check_tolerance
from dlinalg.errors import ParameterError, ShapeError

__all__ = ["Prox", "l1", "elastic_net", "group_l1", "nonneg", "box"]


class Prox:
    """A penalty ``h`` with its value and proximal operator (see the module docstring).

    Parameters
    ----------
    name : str
        What it is, for messages and reprs.
    """

    name = "zero"

    def value(self, x: np.ndarray) -> float:
        """``h(x)`` (``inf`` outside a constraint set)."""
        return 0.0

    def __call__(self, v: np.ndarray, t: float) -> np.ndarray:
        """``prox_{t h}(v)``."""
        return v

    def check(self, n: int) -> None:
        """Refuse a penalty sized for another number of coefficients."""

    def __repr__(self) -> str:
        return f"<prox {self.name}>"


class _L1(Prox):
    def __init__(self, lam: float, l2: float, positive: bool):
        self.lam, self.l2, self.positive = lam, l2, positive
        self.name = f"l1(lam={lam:g}, l2={l2:g}, positive={positive})"

    def value(self, x: np.ndarray) -> float:
        if self.positive and (x < 0).any():
            return float("inf")
        return self.lam * float(np.abs(x).sum()) + 0.5 * self.l2 * float(x @ x)

    def __call__(self, v: np.ndarray, t: float) -> np.ndarray:
        if self.positive:
            x = np.maximum(v - t * self.lam, 0.0)
        else:
            x = np.sign(v) * np.maximum(np.abs(v) - t * self.lam, 0.0)
        return x / (1.0 + t * self.l2)


def l1(lam: float, *, positive: bool = False) -> Prox:
    """``h(x) = lam ||x||_1`` (and ``x >= 0`` with ``positive``): soft thresholding.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.optimize import prox
    >>> prox.l1(1.0)(np.array([3.0, -0.5, -2.0]), 1.0)
    array([ 2., -0., -1.])
    """
    return _L1(check_tolerance(lam, "lam"), 0.0, bool(positive))


def elastic_net(l1: float, l2: float, *, positive: bool = False) -> Prox:
    """``h(x) = l1 ||x||_1 + (l2 / 2) ||x||^2``: soft thresholding, then shrinking.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.optimize import prox
    >>> prox.elastic_net(1.0, 1.0)(np.array([3.0, -0.5]), 1.0)
    array([ 1., -0.])
    """
    return _L1(check_tolerance(l1, "l1"), check_tolerance(l2, "l2"), bool(positive))


class _GroupL1(Prox):
    def __init__(self, lam: float, groups: np.ndarray):
        self.lam, self.groups = lam, groups
        self.ids = np.unique(groups)
        self.name = f"group_l1(lam={lam:g}, {len(self.ids)} groups)"

    def check(self, n: int) -> None:
        if self.groups.shape != (n,):
            raise ShapeError(f"groups has {self.groups.shape[0]} entries, the coefficients {n}")

    def _norms(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(np.bincount(np.searchsorted(self.ids, self.groups), weights=x * x))

    def value(self, x: np.ndarray) -> float:
        sizes = np.bincount(np.searchsorted(self.ids, self.groups))
        return self.lam * float(np.sqrt(sizes) @ self._norms(x))

    def __call__(self, v: np.ndarray, t: float) -> np.ndarray:
        idx = np.searchsorted(self.ids, self.groups)
        sizes = np.bincount(idx)
        norms = self._norms(v)
        scale = np.maximum(1.0 - t * self.lam * np.sqrt(sizes) / np.maximum(norms, 1e-300), 0.0)
        return v * scale[idx]


def group_l1(lam: float, groups: Any) -> Prox:
    """``h(x) = lam sum_g sqrt(|g|) ||x_g||_2`` (the group lasso): block soft thresholding.

    Parameters
    ----------
    lam : float
    groups : array_like of int
        The group of each coefficient.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.optimize import prox
    >>> prox.group_l1(1.0, [0, 0, 1])(np.array([3.0, 4.0, 0.5]), 1.0).round(3)
    array([2.151, 2.869, 0.   ])
    """
    g = np.asarray(groups)
    if g.ndim != 1 or not np.issubdtype(g.dtype, np.integer):
        raise ParameterError(f"groups must be a 1-D array of integers, got {groups!r}")
    return _GroupL1(check_tolerance(lam, "lam"), g)


class _Box(Prox):
    def __init__(self, lower: np.ndarray, upper: np.ndarray, name: str):
        self.lower, self.upper, self.name = lower, upper, name

    def check(self, n: int) -> None:
        for what, b in (("lower", self.lower), ("upper", self.upper)):
            if b.ndim and b.shape != (n,):
                raise ShapeError(f"{what} has {b.shape[0]} entries, the coefficients {n}")

    def value(self, x: np.ndarray) -> float:
        ok = (x >= self.lower).all() and (x <= self.upper).all()
        return 0.0 if ok else float("inf")

    def __call__(self, v: np.ndarray, t: float) -> np.ndarray:
        return np.clip(v, self.lower, self.upper)


def nonneg() -> Prox:
    """The constraint ``x >= 0`` (non-negative least squares): a projection.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.optimize import prox
    >>> prox.nonneg()(np.array([1.0, -2.0]), 1.0)
    array([1., 0.])
    """
    return _Box(np.array(0.0), np.array(np.inf), "nonneg")


def box(lower: Any = -np.inf, upper: Any = np.inf) -> Prox:
    """The constraint ``lower <= x <= upper`` (scalars or one bound per coefficient).

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.optimize import prox
    >>> prox.box(-1.0, 1.0)(np.array([3.0, -0.5, -2.0]), 1.0)
    array([ 1. , -0.5, -1. ])
    """
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lo.ndim > 1 or hi.ndim > 1 or np.isnan(lo).any() or np.isnan(hi).any():
        raise ParameterError(
            f"lower and upper must be numbers or 1-D arrays, got {lower!r}, {upper!r}"
        )
    if (lo > hi).any():
        raise ParameterError(f"lower must be <= upper, got lower={lower!r}, upper={upper!r}")
    return _Box(lo, hi, "box")
