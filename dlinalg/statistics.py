"""Row and column statistics of a DRM.

Column statistics are lazy in-memory vectors; the optimizer computes all the
statistics (and the Gram matrix) requested together in one pass. Row
statistics are distributed vectors with the matrix's row blocks.
"""

from __future__ import annotations

import numpy as np

from dlinalg.errors import ParameterError
from dlinalg.lazy import LazyResult
from dlinalg.plan import nodes as N

__all__ = ["StatisticsMixin"]


class StatisticsMixin:
    """Row and column statistics of :class:`dlinalg.DRM`."""

    def col_sums(self) -> LazyResult:
        """Column sums (like R's ``colSums``; numpy's ``A.sum(axis=0)``).

        Returns
        -------
        LazyResult
            Vector of shape ``(ncol,)``, held in memory once computed; dtype
            as numpy gives for ``X.sum(axis=0)`` (integers sum to int64).

        See Also
        --------
        numpy.ndarray.sum
        row_sums, col_means

        Notes
        -----
        One pass over the data: per-block sums (accumulated in float64 for
        floating point input) added in a tree. Computed with other column
        statistics of the same matrix through :func:`dlinalg.compute`, all of
        them share that pass.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> A.col_sums().compute()
        array([6., 9.])
        >>> np.allclose(A.col_sums().compute(), X.sum(axis=0))
        True
        """
        return LazyResult(N.ColStat(self._node, "sum"))

    def col_means(self) -> LazyResult:
        """Column means (R's ``colMeans``; numpy's ``A.mean(axis=0)``).

        Returns
        -------
        LazyResult
            Vector of shape ``(ncol,)``, held in memory once computed; float64
            for integer input, as in numpy.

        See Also
        --------
        numpy.ndarray.mean
        col_sums, col_vars, row_means

        Notes
        -----
        One pass over the data (column sums, divided by ``nrow`` at the end),
        shared with the other column statistics and Gram matrices of the same
        matrix when computed together with :func:`dlinalg.compute`.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> A = dl.from_array(X, chunks=2)
        >>> A.col_means().compute()
        array([2., 3.])
        >>> means, gram = dl.compute(A.col_means(), A.T @ A)  # one pass over A
        >>> np.allclose(means, X.mean(axis=0)) and np.allclose(gram, X.T @ X)
        True
        """
        return LazyResult(N.ColStat(self._node, "mean"))

    def col_vars(self, ddof: int = 0) -> LazyResult:
        """Column variances, with ``ddof`` as in numpy (R's ``var`` uses ``ddof=1``).

        Parameters
        ----------
        ddof : int, default 0
            Delta degrees of freedom: the divisor is ``nrow - ddof``, so
            ``0 <= ddof < nrow`` (numpy warns and returns ``inf``/``nan``
            for ``ddof >= nrow``; dlinalg refuses it).

        Returns
        -------
        LazyResult
            Vector of shape ``(ncol,)``, held in memory once computed; float64
            for integer input, as in numpy.

        Raises
        ------
        ParameterError
            If ``ddof`` is not an integer (a bool is not one) from 0 to
            ``nrow - 1`` (a ``ValueError``; the message names ``ddof`` and
            ``nrow``).

        See Also
        --------
        numpy.ndarray.var
        col_means

        Notes
        -----
        One pass over the data, with no second pass for the mean: each block
        gives its row count, column sums and sums of squared deviations from
        its own mean (``M2``), accumulated in float64; partial results are
        merged in a tree with the pairwise update of Chan, Golub and
        LeVeque [1]_,

        .. math::

            M_2 = M_{2,a} + M_{2,b} + \\delta^2 \\frac{n_a n_b}{n_a + n_b},
            \\qquad \\delta = \\bar x_b - \\bar x_a,

        which avoids the cancellation of the textbook
        ``sum(x**2) - n * mean**2`` formula across blocks. Within a sparse
        block the block's ``M2`` comes from its sums of squares (zeros are not
        materialised). Memory: a few vectors of length ``ncol`` per task.

        References
        ----------
        .. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for
           computing the sample variance: analysis and recommendations",
           The American Statistician 37(3), 242-247, 1983.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0], [8.0, 40.0], [16.0, 50.0]])
        >>> A = dl.from_array(X, chunks=2)
        >>> np.allclose(A.col_vars().compute(), X.var(axis=0))
        True
        >>> np.allclose(A.col_vars(ddof=1).compute(), X.var(axis=0, ddof=1))
        True
        """
        nrow = self.shape[0]
        if isinstance(ddof, bool | np.bool_) or not isinstance(ddof, int | np.integer):
            raise ParameterError(
                f"ddof must be an integer from 0 to nrow - 1 = {nrow - 1}, got {ddof!r} "
                f"of type {type(ddof).__name__}"
            )
        if ddof < 0:
            raise ParameterError(f"ddof={int(ddof)} must not be negative (nrow={nrow})")
        if ddof >= nrow:
            raise ParameterError(
                f"ddof={int(ddof)} must be from 0 to nrow - 1 = {nrow - 1}: the divisor "
                f"nrow - ddof = {nrow - int(ddof)} must be positive (nrow={nrow})"
            )
        return LazyResult(N.ColStat(self._node, "var", int(ddof)))

    def col_nnz(self) -> LazyResult:
        """Number of non-zero entries per column (Mahout's ``numNonZeroElementsPerColumn``).

        Returns
        -------
        LazyResult
            Integer vector of shape ``(ncol,)``, held in memory once computed.
            Explicitly stored zeros of sparse blocks are not counted.

        See Also
        --------
        numpy.count_nonzero

        Notes
        -----
        One pass over the data, shared with other column statistics computed
        together through :func:`dlinalg.compute`.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[0.0, 1.0], [2.0, 0.0], [3.0, 0.0]])
        >>> dl.from_array(X, chunks=2).col_nnz().compute()
        array([2, 1])
        >>> np.count_nonzero(X, axis=0)
        array([2, 1])
        """
        return LazyResult(N.ColStat(self._node, "nnz"))

    def row_sums(self) -> LazyResult:
        """Row sums (R's ``rowSums``): a distributed vector with this matrix's row blocks.

        Returns
        -------
        LazyResult
            Vector of shape ``(nrow,)``, chunked like the matrix.

        See Also
        --------
        numpy.ndarray.sum
        col_sums, row_means

        Notes
        -----
        One pass, one independent task per row block and no reduction
        between blocks; the result stays distributed until computed.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> dl.from_array(X, chunks=2).row_sums().compute()
        array([1., 5., 9.])
        >>> X.sum(axis=1)
        array([1., 5., 9.])
        """
        return LazyResult(N.RowStat(self._node, "sum"))

    def row_means(self) -> LazyResult:
        """Row means (R's ``rowMeans``): a distributed vector with this matrix's row blocks.

        Returns
        -------
        LazyResult
            Vector of shape ``(nrow,)``, chunked like the matrix; float64 for
            integer input.

        See Also
        --------
        numpy.ndarray.mean
        col_means, row_sums

        Notes
        -----
        One pass, one independent task per row block and no reduction
        between blocks.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> dl.from_array(X, chunks=2).row_means().compute()
        array([0.5, 2.5, 4.5])
        >>> X.mean(axis=1)
        array([0.5, 2.5, 4.5])
        """
        return LazyResult(N.RowStat(self._node, "mean"))

    def norm(self) -> LazyResult:
        """Frobenius norm (a lazy scalar), without squaring in the input dtype.

        Returns
        -------
        LazyResult
            Scalar (``shape == ()``); computes to a numpy float.

        See Also
        --------
        numpy.linalg.norm

        Notes
        -----
        One pass over the data: per-block column sums of squares,
        accumulated in float64 even for float32 or integer input (so they
        neither overflow nor lose precision), added in a tree; the square
        root is taken once at the end. Shares its pass with other column
        statistics computed together through :func:`dlinalg.compute`.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 12.0]])
        >>> float(dl.from_array(X, chunks=2).norm().compute())
        13.0
        >>> float(np.linalg.norm(X))
        13.0
        """
        return LazyResult(N.ColStat(self._node, "norm"))
