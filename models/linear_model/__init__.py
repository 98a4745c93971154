"""Linear models: :class:`LinearRegression` and :class:`Ridge`.

The estimators are in :mod:`._base`, their solvers (Cholesky, QR, LSQR,
gradient descent) in :mod:`._solvers` and the handling of ``y`` in
:mod:`._targets`.
"""

from ._base import LinearRegression, Ridge

__all__ = ["LinearRegression", "Ridge"]
