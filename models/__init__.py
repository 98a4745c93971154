"""models: scikit-learn style estimators built on dlinalg.

Decompositions: :class:`PCA` and :class:`TruncatedSVD`. Linear models:
:class:`LinearRegression` and :class:`Ridge`. numpy in, numpy out; Dask array
or DRM in, lazy out; xarray in, labeled xarray out.
"""

from models.linear_model import LinearRegression, Ridge
from models.pca import PCA
from models.truncated_svd import TruncatedSVD

__all__ = [
    # decomposition
    "PCA",
    "TruncatedSVD",
    # linear models
    "LinearRegression",
    "Ridge",
]
