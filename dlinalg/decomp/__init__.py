"""Decompositions of distributed matrices: QR, SVD, randomized SVD and PCA, eigenpairs.

Every function validates its input before a graph exists, reads A in a small,
fixed number of passes (one tree reduction each), keeps the small factors
(R, s, Vt, eigenvectors) in memory and returns the tall ones (Q, U) as lazy
DRMs computed from A's row blocks when used.

=================  ====================================================  ==========
function           algorithm                                             passes
=================  ====================================================  ==========
``qr``             Cholesky-QR2 / shifted Cholesky-QR3, or direct TSQR   2-3 / 1
``svd``            QR, then LAPACK SVD of R                              2-3
``ssvd``           Halko-Martinsson-Tropp randomized SVD                 q + 2
``spca``           randomized SVD of the centred matrix, kept sparse     q + 3
``eigh_gram``      one Gram (or stable covariance) pass, LAPACK eigh     1
``lstsq``          TSQR of ``[A | b]``, then LAPACK SVD of R              1
=================  ====================================================  ==========

Iterative top-k solvers (``svds``, ``eigsh``) live in ``dlinalg.solvers``.
"""

from dlinalg.decomp.eigen import eigh_gram
from dlinalg.decomp.lstsq import lstsq
from dlinalg.decomp.qr import qr
from dlinalg.decomp.randomized import spca, ssvd
from dlinalg.decomp.svd import svd

__all__ = ["qr", "svd", "ssvd", "spca", "eigh_gram", "lstsq"]
