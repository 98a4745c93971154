"""Elementwise arithmetic of a DRM: ``+ - * / **``, ``abs``, ``exp``, ``log``, ``sqrt``.

Every operator adds an ``Elemwise`` node; the optimizer fuses chains of them
into one function per row block. Operands may be scalars, DRMs of the same
shape, or row vectors broadcast over every row as numpy does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlinalg._operands import as_node
from dlinalg._validation import check_same_labels, check_same_shape
from dlinalg.plan import nodes as N

if TYPE_CHECKING:
    from dlinalg.matrix import DRM

__all__ = ["ElementwiseMixin"]


class ElementwiseMixin:
    """Elementwise operators of :class:`dlinalg.DRM`."""

    def _elemwise(self, op: str, *others: Any, reflect: bool = False) -> DRM:
        args = [self._node] + [as_node(o, f"operand of {op}") for o in others]
        for arg in args[1:]:
            _check_broadcast(self.shape, arg.shape, op)
        for o in others:
            if isinstance(o, ElementwiseMixin):  # another DRM: equal labels must meet
                # only along an axis both span: a 1-row or 1-column operand broadcasts
                if o.nrow == self.nrow:
                    check_same_labels(self.row_labels, o.row_labels, "rows", op)
                if o.ncol == self.ncol:
                    check_same_labels(self.col_labels, o.col_labels, "columns", op)
        if reflect:
            args.reverse()
        return self._like(N.Elemwise(op, tuple(args)))

    def __add__(self, other: Any) -> DRM:
        return self._elemwise("add", other)

    def __radd__(self, other: Any) -> DRM:
        return self._elemwise("add", other, reflect=True)

    def __sub__(self, other: Any) -> DRM:
        return self._elemwise("sub", other)

    def __rsub__(self, other: Any) -> DRM:
        return self._elemwise("sub", other, reflect=True)

    def __mul__(self, other: Any) -> DRM:
        return self._elemwise("mul", other)

    def __rmul__(self, other: Any) -> DRM:
        return self._elemwise("mul", other, reflect=True)

    def __truediv__(self, other: Any) -> DRM:
        return self._elemwise("truediv", other)

    def __rtruediv__(self, other: Any) -> DRM:
        return self._elemwise("truediv", other, reflect=True)

    def __pow__(self, other: Any) -> DRM:
        return self._elemwise("pow", other)

    def __rpow__(self, other: Any) -> DRM:
        return self._elemwise("pow", other, reflect=True)

    def __neg__(self) -> DRM:
        return self._elemwise("neg")

    def __abs__(self) -> DRM:
        return self._elemwise("abs")

    def abs(self) -> DRM:
        """Elementwise absolute value (keeps sparse blocks sparse).

        Returns
        -------
        DRM
            Same shape, labels and row blocks; same dtype.

        See Also
        --------
        numpy.abs

        Notes
        -----
        Lazy; fused with neighbouring elementwise operators into one task
        per row block, so ``(A - B).abs() * 2`` reads each input once.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[-1.0, 2.0], [3.0, -4.0], [-5.0, 6.0]])
        >>> dl.from_array(X, chunks=2).abs().compute()
        array([[1., 2.],
               [3., 4.],
               [5., 6.]])
        """
        return self._elemwise("abs")

    def exp(self) -> DRM:
        """Elementwise exponential (sparse input gives dense blocks).

        Returns
        -------
        DRM
            Same shape and row blocks; floating point dtype as in numpy.

        See Also
        --------
        numpy.exp

        Notes
        -----
        Lazy; fused with neighbouring elementwise operators into one task
        per row block. ``exp(0) = 1``, so sparse blocks become dense: memory
        per block grows to ``rows x ncol`` values.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 3.0]])
        >>> np.allclose(dl.from_array(X, chunks=2).exp().compute(), np.exp(X))
        True
        """
        return self._elemwise("exp")

    def log(self) -> DRM:
        """Elementwise natural logarithm (sparse input gives dense blocks).

        Returns
        -------
        DRM
            Same shape and row blocks; floating point dtype as in numpy.
            Zeros give ``-inf`` and negative entries ``nan``, as in numpy.

        See Also
        --------
        numpy.log

        Notes
        -----
        Lazy; fused with neighbouring elementwise operators into one task
        per row block. ``log(0) = -inf``, so sparse blocks become dense.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[1.0, 2.0], [4.0, 8.0], [0.5, 3.0]])
        >>> A = dl.from_array(X, chunks=2)
        >>> np.allclose(A.log().compute(), np.log(X))
        True
        >>> np.allclose(A.log().exp().compute(), X)
        True
        """
        return self._elemwise("log")

    def sqrt(self) -> DRM:
        """Elementwise square root (keeps sparse blocks sparse).

        Returns
        -------
        DRM
            Same shape and row blocks; floating point dtype as in numpy.
            Negative entries give ``nan``, as in numpy.

        See Also
        --------
        numpy.sqrt

        Notes
        -----
        Lazy; fused with neighbouring elementwise operators into one task
        per row block.

        Examples
        --------
        >>> import numpy as np, dlinalg as dl
        >>> X = np.array([[1.0, 4.0], [9.0, 16.0], [0.0, 2.25]])
        >>> dl.from_array(X, chunks=2).sqrt().compute()
        array([[1. , 2. ],
               [3. , 4. ],
               [0. , 1.5]])
        """
        return self._elemwise("sqrt")


def _check_broadcast(shape: tuple, other: tuple, op: str) -> None:
    if other == () or other == shape:
        return
    if len(other) == 1 and other[0] == shape[1]:
        return  # a row vector broadcast over every row, as numpy does
    if len(other) == 2 and other in ((1, shape[1]), (shape[0], 1)):
        return
    check_same_shape(shape, other, op)
