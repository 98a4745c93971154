"""Matrix decompositions: :class:`PCA` and :class:`TruncatedSVD`.

Both share the transformer surface and the exact SVD of :mod:`._base`.
"""

from ._pca import PCA
from ._truncated_svd import TruncatedSVD

__all__ = ["PCA", "TruncatedSVD"]
