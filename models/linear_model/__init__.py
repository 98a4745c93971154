"""Linear models: :class:`LinearRegression`, :class:`Ridge`, :class:`Lasso`,
:class:`ElasticNet`, :class:`LogisticRegression` and :class:`PoissonRegressor`.

The least-squares estimators are in :mod:`._base`, their solvers (Cholesky,
QR, LSQR, gradient descent) in :mod:`._solvers` and the handling of ``y`` in
:mod:`._targets`; the lasso and elastic net (one Gram pass, then
scikit-learn's coordinate descent) in :mod:`._coordinate_descent`; the GLMs
(on :func:`dlinalg.lbfgs` and :func:`dlinalg.newton_cg`) in :mod:`._glm`.
"""

from ._base import LinearRegression, Ridge
from ._coordinate_descent import ElasticNet, Lasso, enet_path, lasso_path
from ._glm import LogisticRegression, PoissonRegressor

__all__ = [
    "LinearRegression",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "enet_path",
    "lasso_path",
    "LogisticRegression",
    "PoissonRegressor",
]
