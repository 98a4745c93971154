"""Proximal operators of the non-smooth penalties :func:`~dlinalg.proximal_gradient` takes.

Each is ``prox_{t h}(v) = argmin_x h(x) + ||x - v||^2 / (2 t)`` of a penalty
``h`` that is cheap on the client (an ``n``-vector): soft thresholding for
the L1 norm, block soft thresholding for the group L1 norm, clipping for
bounds. The intercepts are never penalized: the solver passes a mask.
:func:`compose` gives ``h(Q x)`` for a ``Q`` with ``Q Q^T = scale I`` (an
orthonormal transform, a row selection, a tight frame) in closed form.

References
----------
.. [1] N. Parikh and S. Boyd, "Proximal algorithms", Foundations and Trends
   in Optimization 1(3), 2014, section 6.
.. [2] S. Becker, E. Candes and M. Grant, "Templates for convex cone
   problems with applications to sparse signal recovery", Math. Prog. Comp.
   3(3), 2011 (TFOCS's ``prox_l1``, ``prox_l1l2``, ``proj_Rplus``, ``proj_box``).
.. [3] H. H. Bauschke and P. L. Combettes, "Convex Analysis and Monotone
   Operator Theory in Hilbert Spaces", 2nd ed., Springer, 2017, Prop. 24.14.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from dask.base import is_dask_collection

from dlinalg._validation import check_tolerance
from dlinalg.errors import DTypeError, NonFiniteError, OperandTypeError, ParameterError, ShapeError
from dlinalg.solvers._operator import is_linear_operator

__all__ = ["Prox", "l1", "elastic_net", "group_l1", "nonneg", "box", "compose"]


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


# --- composition with a linear map -----------------------------------------------------------

#: The largest ``||Q Q^T - scale I||_F / (scale sqrt(r))`` :func:`compose` accepts.
TIGHT_RTOL = 1e-8
#: Seeded random vectors a LinearOperator ``Q`` is probed with (the same on every call).
PROBES = 3
#: ``Q x`` may leave a constraint set by rounding only (relative to ``||Q x||``): see ``value``.
ROUNDING_RTOL = 1e-10


class _Composed(Prox):
    """``g(x) = h(Q x)`` with ``Q Q^T = scale I``, built and checked by :func:`compose`."""

    def __init__(self, h: Prox, Q: Any, scale: float, operator: bool, ident: str):
        self.h, self.Q, self.scale, self.operator = h, Q, scale, operator
        self.rows, self.cols = (int(k) for k in Q.shape)
        self.name = f"compose({h.name}, Q={ident}, scale={scale:.17g})"

    def _apply(self, x: np.ndarray) -> np.ndarray:
        if self.operator:
            return np.asarray(self.Q.matvec(x), dtype=np.float64).reshape(self.rows)
        return np.asarray(self.Q @ x)

    def _adjoint(self, z: np.ndarray) -> np.ndarray:
        if self.operator:
            return np.asarray(self.Q.rmatvec(z), dtype=np.float64).reshape(self.cols)
        return np.asarray(self.Q.T @ z)

    def check(self, n: int) -> None:
        if n != self.cols:
            raise ShapeError(
                f"Q has {self.cols} columns, the coefficients {n}: compose needs Q of "
                f"shape (rows, {n})"
            )
        _check_inner(self.h, self.rows)

    def value(self, x: np.ndarray) -> float:
        z = self._apply(x)
        val = self.h.value(z)
        if val == np.inf:  # outside h's domain by rounding only? (the prox's own output is)
            p = self.h(z, 0.0)  # prox_{0 h}: the projection on h's domain
            if float(np.linalg.norm(p - z)) <= ROUNDING_RTOL * float(np.linalg.norm(z)):
                return self.h.value(p)
        return val

    def __call__(self, v: np.ndarray, t: float) -> np.ndarray:
        qv = self._apply(v)
        return v + self._adjoint(self.h(qv, t * self.scale) - qv) / self.scale


def _check_inner(h: Prox, rows: int) -> None:
    """``h`` acts on ``Q x``: its size is Q's row count."""
    try:
        h.check(rows)
    except ShapeError as e:
        raise ShapeError(f"h does not fit Q's {rows} rows (compose applies h to Q x): {e}") from e


def _refuse_dtype(dtype: Any, what: str) -> None:
    if dtype is not None and np.dtype(dtype).kind not in "iuf":
        raise DTypeError(
            f"{what} must hold real numbers, got dtype {np.dtype(dtype)}"
            + (" (convert it with .astype(float))" if np.dtype(dtype).kind == "b" else "")
        )


def _check_shape(shape: tuple[int, ...], what: str) -> tuple[int, int]:
    if len(shape) != 2:
        raise ShapeError(f"{what} must be 2-D (rows x coefficients), got shape {shape}")
    r, n = (int(k) for k in shape)
    if r == 0 or n == 0:
        raise ShapeError(f"{what} must have at least one row and one column, got shape {shape}")
    if r > n:
        raise ShapeError(
            f"{what} has more rows ({r}) than columns ({n}): Q Q^T has rank <= {n} and cannot "
            f"be scale * I. compose needs Q Q^T = scale I (the synthesis side of a frame); "
            f"for an analysis frame Q^T Q = scale I there is no closed form"
        )
    return r, n


def _refuse_deviation(rel: float, scale: float, measure: str, fit: float | None) -> None:
    if rel <= TIGHT_RTOL:
        return
    hint = f" Q Q^T = {fit:.12g} I: pass scale={fit:.12g}." if fit is not None else ""
    raise ParameterError(
        f"compose needs Q Q^T = scale I (scale={scale:g}), but {measure} = {rel:.3g} > "
        f"{TIGHT_RTOL:g}.{hint} The closed form holds for an orthogonal Q, a row selection or "
        "a tight (Parseval) frame; a general linear map needs TFOCS's smoothed conic dual "
        "(dlinalg has it for linear programs: dl.linprog)"
    )


def _explicit(Q: Any, scale: float) -> tuple[Any, str]:
    """A float64 copy of a dense or sparse Q, checked by one product ``Q Q^T``."""
    if sp.issparse(Q):
        _refuse_dtype(Q.dtype, "Q")
        r, n = _check_shape(tuple(Q.shape), "Q")
        M = sp.csr_array(Q, dtype=np.float64, copy=True)
        M.sum_duplicates()
        M.sort_indices()
        values, parts, kind = M.data, (M.indptr, M.indices, M.data), "sparse"
    else:
        try:
            arr = np.asarray(Q)
        except (TypeError, ValueError) as e:
            raise OperandTypeError(
                f"Q must be a numpy array, a scipy.sparse matrix or a LinearOperator, got {Q!r}"
            ) from e
        _refuse_dtype(arr.dtype, "Q")
        r, n = _check_shape(arr.shape, "Q")
        M = np.array(arr, dtype=np.float64, order="C")
        M.flags.writeable = False
        values, parts, kind = M, (M,), "dense"
    if not np.isfinite(values).all():
        raise NonFiniteError("Q contains NaN or infinity")
    D = M @ M.T

    def rel(c: float) -> float:  # ||Q Q^T - c I||_F / (c sqrt(r)), formed (no cancellation)
        E = D - c * (sp.eye_array(r, format="csr") if sp.issparse(D) else np.eye(r))
        return float(np.linalg.norm(E.data if sp.issparse(E) else E)) / (c * np.sqrt(r))

    fit = float(D.diagonal().mean())  # the c of Q Q^T = c I, if it is one
    near = fit if fit > 0 and fit != scale and rel(fit) <= TIGHT_RTOL else None
    _refuse_deviation(rel(scale), scale, f"||Q Q^T - scale I||_F / (scale sqrt({r}))", near)
    digest = hashlib.blake2b(digest_size=4)
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes())
    return M, f"{kind} {r}x{n} #{digest.hexdigest()}"


def _probe_vector(out: Any, size: int, what: str) -> np.ndarray:
    arr = np.asarray(out)
    if np.iscomplexobj(arr):
        raise DTypeError(f"{what} returned complex values; compose needs a real Q")
    if arr.shape not in ((size,), (size, 1)):
        raise ShapeError(f"{what} returned shape {arr.shape}, expected ({size},)")
    arr = arr.astype(np.float64).reshape(size)
    if not np.isfinite(arr).all():
        raise NonFiniteError(f"{what} returned NaN or infinity")
    return arr


def _probe(Q: Any, scale: float) -> str:
    """Check ``Q Q^T = scale I`` on :data:`PROBES` seeded random vectors (a probe, not a proof)."""
    if not callable(getattr(Q, "rmatvec", None)):
        raise OperandTypeError("a LinearOperator Q needs rmatvec (Q^T) as well as matvec")
    _refuse_dtype(getattr(Q, "dtype", None), "Q")
    r, n = _check_shape(tuple(Q.shape), "Q")
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(PROBES):
        u = rng.standard_normal(r)
        try:
            w = Q.rmatvec(u)
        except NotImplementedError as e:
            raise OperandTypeError(
                "a LinearOperator Q needs rmatvec (Q^T) as well as matvec"
            ) from e
        z = _probe_vector(Q.matvec(_probe_vector(w, n, "Q.rmatvec")), r, "Q.matvec")
        worst = max(worst, float(np.linalg.norm(z - scale * u) / (scale * np.linalg.norm(u))))
    measure = f"max ||Q Q^T u - scale u|| / (scale ||u||) over {PROBES} random probes u"
    _refuse_deviation(worst, scale, measure, None)
    return f"{type(Q).__name__} {r}x{n}"


def compose(h: Prox, Q: Any, *, scale: float = 1.0) -> Prox:
    """``g(x) = h(Q x)`` for a ``Q`` with ``Q Q^T = scale I``, in closed form.

    An orthonormal transform (a DCT, an orthogonal wavelet), a selection of
    coefficients, or the synthesis side of a tight frame: when ``Q Q^T =
    scale I`` the proximal operator of ``h o Q`` is that of ``h`` [1]_, [2]_,

    ``prox_{t g}(v) = v + Q^T (prox_{t scale h}(Q v) - Q v) / scale``,

    two products with ``Q`` per step, on the client as the other operators.

    Parameters
    ----------
    h : Prox
        The penalty or constraint on ``Q x`` (:func:`l1`, :func:`elastic_net`,
        :func:`group_l1` with one group per row of Q, :func:`nonneg`,
        :func:`box` with bounds per row of Q, or another :func:`compose`).
    Q : ndarray, scipy.sparse matrix or array, or LinearOperator of shape (rows, n)
        ``n`` is the number of penalized coefficients (``n * n_classes`` for
        ``loss="multinomial"``, row-major). A LinearOperator needs ``matvec``
        and ``rmatvec`` (``Q^T``); a dense or sparse Q is copied in float64.
    scale : float, default 1.0
        ``Q Q^T = scale I``: 1 for an orthogonal matrix, a row selection or a
        Parseval frame, the frame bound for another tight frame.

    Returns
    -------
    Prox
        ``value(x)`` is ``h.value(Q x)``; ``check(n)`` refuses a Q with other
        than ``n`` columns and checks ``h`` against Q's rows.

    Raises
    ------
    TypeError
        ``h`` is not a :class:`Prox`; ``Q`` is not a matrix or an operator with
        ``rmatvec`` (a Dask collection too: compute it, the steps run on the
        client); ``Q`` holds booleans, complex numbers or other non-reals.
    ValueError
        ``scale`` is not a finite number > 0 (:class:`~dlinalg.errors.ParameterError`);
        Q is not 2-D, is empty or has more rows than columns
        (:class:`~dlinalg.errors.ShapeError`); Q holds NaN or infinity
        (:class:`~dlinalg.errors.NonFiniteError`); ``Q Q^T`` is not ``scale I``
        to :data:`TIGHT_RTOL` relative (``ParameterError``, naming the
        deviation, and the right ``scale`` when ``Q Q^T = c I``); ``h`` sized
        for another number of rows (``ShapeError``).

    See Also
    --------
    dlinalg.linprog : TFOCS's smoothed conic dual, for linear programs.

    Notes
    -----
    The condition is checked here, before any pass over the data: for a
    dense or sparse Q by forming ``Q Q^T`` (``rows^2 n`` flops for a dense Q,
    as much as ``rows`` proximal steps), for a LinearOperator by a **probe**:
    ``||Q Q^T u - scale u|| <= TIGHT_RTOL scale ||u||`` for :data:`PROBES`
    seeded random ``u``, which catches a non-tight Q with probability one but
    measures the deviation only along those directions. A frame with ``Q^T Q
    = scale I`` and more rows than columns (an analysis operator, ``[I;
    I]/sqrt(2)``) does not qualify and is refused.

    A general linear map has no closed-form proximal operator. TFOCS [3]_
    handles ``h(W x)`` for any ``W`` by its smoothed conic dual (``tfocs_SCD``),
    which dlinalg implements for linear programs only (:func:`dlinalg.linprog`);
    ``compose`` does not approximate it.

    ``Q x`` of the operator's own output lies in a constraint set up to the
    rounding of the two products; ``value`` takes a point within
    ``1e-10 ||Q x||`` of ``h``'s domain as inside (projected), and is
    ``inf`` farther out.

    References
    ----------
    .. [1] H. H. Bauschke and P. L. Combettes, "Convex Analysis and Monotone
       Operator Theory in Hilbert Spaces", 2nd ed., Springer, 2017, Prop. 24.14.
    .. [2] P. L. Combettes and J.-C. Pesquet, "A Douglas-Rachford splitting
       approach to nonsmooth convex variational signal recovery", IEEE J. Sel.
       Topics Signal Process. 1(4), 2007, Prop. 11.
    .. [3] S. Becker, E. Candes and M. Grant, "Templates for convex cone
       problems with applications to sparse signal recovery", Math. Prog.
       Comp. 3(3), 2011.

    Examples
    --------
    Sparsity in an orthonormal DCT basis, ``g(x) = 0.5 ||Q x||_1``:

    >>> import numpy as np
    >>> from scipy.fft import dct, idct
    >>> from dlinalg.optimize import prox
    >>> Q = dct(np.eye(4), norm="ortho", axis=0)  # Q Q^T = I
    >>> g = prox.compose(prox.l1(0.5), Q)
    >>> v = Q.T @ np.array([3.0, 0.2, -1.0, 0.1])  # [3, 0.2, -1, 0.1] in the DCT basis
    >>> (Q @ g(v, 1.0)).round(12) + 0.0  # soft thresholded there
    array([ 2.5,  0. , -0.5,  0. ])

    A row selection penalizes some coefficients only:

    >>> S = np.eye(5)[[0, 2]]
    >>> prox.compose(prox.l1(1.0), S)(np.array([3.0, 3.0, -2.0, 0.5, 0.5]), 1.0)
    array([ 2. ,  3. , -1. ,  0.5,  0.5])

    In a fit, with the fast transform as a LinearOperator:

    >>> import dlinalg as dl
    >>> from scipy.sparse.linalg import LinearOperator
    >>> D = LinearOperator((8, 8), matvec=lambda x: dct(x, norm="ortho"),
    ...                    rmatvec=lambda z: idct(z, norm="ortho"), dtype=np.float64)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((400, 8))
    >>> y = X @ idct([2.0, 0, 0, -1.0, 0, 0, 0, 0], norm="ortho")
    >>> res = dl.proximal_gradient(dl.from_array(X, chunks=100), y,
    ...                            prox=prox.compose(prox.l1(0.01), D))
    >>> res.success, dct(res.coef, norm="ortho").round(2) + 0.0
    (True, array([ 1.99,  0.  ,  0.  , -0.99,  0.  ,  0.  ,  0.  ,  0.  ]))
    """
    if not isinstance(h, Prox):
        raise OperandTypeError(
            f"h must be a dlinalg.optimize.prox penalty (prox.l1(...), ...), got {h!r}"
        )
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0 < scale < np.inf:
        raise ParameterError(
            f"scale must be a finite number > 0 (Q Q^T = scale I), got scale={scale!r}"
        )
    scale = float(scale)
    if is_dask_collection(Q):
        raise OperandTypeError(
            f"Q must be in memory (numpy, scipy.sparse or a LinearOperator), got "
            f"{type(Q).__name__}: the proximal steps run on the client; compute Q first"
        )
    if is_linear_operator(Q):
        composed = _Composed(h, Q, scale, True, _probe(Q, scale))
    else:
        M, ident = _explicit(Q, scale)
        composed = _Composed(h, M, scale, False, ident)
    _check_inner(h, composed.rows)
    return composed
