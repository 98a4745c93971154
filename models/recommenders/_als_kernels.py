"""Per-row kernels of :class:`dlinalg.models.ALS`: one block of rows solved against the other side.

A half-sweep of alternating least squares solves, for every row ``u`` of a
block (a user, or an item when the transposed matrix is swept), the ``k x k``
system ``A_u x_u = b_u`` with

    ``A_u = G + sum_i w_ui y_i y_i^T``,  ``b_u = sum_i t_ui y_i``

over the row's stored entries ``i``, where ``y_i`` are the other side's
factors. Hu, Koren and Volinsky's implicit model has ``G = Y^T Y + lambda I``
(the "YtY trick": the unobserved entries, confidence 1 and preference 0, are
all in ``Y^T Y``), ``w = alpha r`` (confidence ``1 + alpha r`` minus the 1
already in ``Y^T Y``) and ``t = 1 + alpha r`` (confidence times preference
1). Explicit least squares over the observed ratings has ``G = lambda I``,
``w = 1`` and ``t = r``.

Two solvers, both written after the ``implicit`` library's CPU code
(``implicit/cpu/_als.pyx``):

* ``cg``: ``cg_steps`` conjugate-gradient steps started from the row's
  previous factors, never forming ``A_u`` (Takacs, Pilaszy and Tikk 2011);
  same stopping rules (``r.r < 1e-20``), computed in the factors' dtype.
* ``cholesky``: ``A_u`` formed and factorised exactly, in float64.

Each kernel also returns, per row, ``f_u = x^T A_u x - 2 b_u^T x`` at the
new ``x``: the part of the training loss that depends on that row, so the
loss comes with the sweep at no extra pass. For CG it is rebuilt from
quantities the iteration has anyway (``x0``, ``r0``, ``x``, ``r`` and
``x0^T A x0``, using ``A`` symmetric): ``b.x = r0.x + b.x0 - x0.r`` with
``b.x0 = x0.r0 + x0^T A x0``, and ``f = -r.x - b.x``.

Dot products keep eight partial sums added in a fixed order (vectorised by
the compiler whatever its vector width), so a row's result depends only on
the row's data, the broadcast factors and the row's previous factors: never
on how rows are grouped in blocks, nor on which worker runs the block.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

__all__ = [
    "INIT_ROWS",
    "INIT_SCALE",
    "initial_factors",
    "gram",
    "solve_block",
]

#: Rows of initial factors drawn from one seeded generator (chunking-independent values).
INIT_ROWS = 4096
#: Initial factors are uniform on [0, INIT_SCALE), as in the implicit library.
INIT_SCALE = 0.01


def initial_factors(
    seed: int, side: int, start: int, stop: int, k: int, dtype: np.dtype
) -> np.ndarray:
    """Initial factors of rows ``[start, stop)`` of one side (0 users, 1 items).

    Uniform on ``[0, 0.01)`` like the implicit library's. Rows are drawn in
    fixed groups of :data:`INIT_ROWS`, group ``g`` from
    ``numpy.random.default_rng([seed, side, g])``, so a row's values do not
    depend on the blocks it is computed in.

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._als_kernels import initial_factors
    >>> a = initial_factors(0, 1, 0, 10, 4, np.dtype("float64"))
    >>> b = initial_factors(0, 1, 3, 7, 4, np.dtype("float64"))
    >>> np.array_equal(a[3:7], b), a.shape, bool(a.max() < 0.01)
    (True, (10, 4), True)
    """
    dtype = np.dtype(dtype)
    out = np.empty((stop - start, k), dtype=dtype)
    for g in range(start // INIT_ROWS, (stop - 1) // INIT_ROWS + 1 if stop > start else 0):
        lo, hi = max(start, g * INIT_ROWS), min(stop, (g + 1) * INIT_ROWS)
        rng = np.random.default_rng([seed, side, g])
        draw = rng.random((hi - g * INIT_ROWS, k), dtype=dtype)  # a prefix of the group's draw
        out[lo - start : hi - start] = draw[lo - g * INIT_ROWS :]
    out *= dtype.type(INIT_SCALE)
    return out


def _ready(x: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """C-contiguous and aligned (blocks arriving over the network may be neither)."""
    return np.require(x, dtype=dtype, requirements=("C", "A"))


def gram(F: np.ndarray) -> np.ndarray:
    """``F^T F`` in float64, summed row by row in a fixed order (bitwise reproducible).

    Examples
    --------
    >>> import numpy as np
    >>> from dlinalg.models.recommenders._als_kernels import gram
    >>> F = np.arange(6.0).reshape(3, 2)
    >>> np.array_equal(gram(F), F.T @ F)
    True
    """
    return _gram(_ready(F))


@numba.njit(cache=True, nogil=True)
def _gram(F):  # pragma: no cover - compiled
    """Tiles of 8 rows in float64; each entry adds its tile's 8 products in a fixed order."""
    n, k = F.shape
    G = np.zeros((k, k))
    T = np.empty((8, k))
    n8 = n - n % 8
    for i0 in range(0, n8, 8):
        for r in range(8):
            for c in range(k):
                T[r, c] = F[i0 + r, c]
        for a in range(k):
            t0, t1, t2, t3 = T[0, a], T[1, a], T[2, a], T[3, a]
            t4, t5, t6, t7 = T[4, a], T[5, a], T[6, a], T[7, a]
            for c in range(a, k):
                G[a, c] += ((t0 * T[0, c] + t1 * T[1, c]) + (t2 * T[2, c] + t3 * T[3, c])) + (
                    (t4 * T[4, c] + t5 * T[5, c]) + (t6 * T[6, c] + t7 * T[7, c])
                )
    for i in range(n8, n):
        for a in range(k):
            fa = np.float64(F[i, a])
            for c in range(a, k):
                G[a, c] += fa * F[i, c]
    for a in range(k):
        for c in range(a):
            G[a, c] = G[c, a]
    return G


def solve_block(
    block: sp.csr_array,
    previous: np.ndarray | None,
    other: np.ndarray,
    G: np.ndarray,
    *,
    implicit: bool,
    alpha: float,
    cg_steps: int,
    cholesky: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """New factors for the rows of ``block``, and each row's loss term ``f_u``.

    Parameters
    ----------
    block : scipy.sparse.csr_array of shape (rows, n_other)
        Raw ratings or counts ``r`` of these rows (sorted indices, no zeros).
    previous : ndarray of shape (rows, k) or None
        The rows' current factors: the CG starting point (unused by Cholesky).
    other : ndarray of shape (n_other, k)
        The other side's factors, in the factors' dtype.
    G : ndarray of shape (k, k)
        ``Y^T Y + lambda I`` (implicit) or ``lambda I`` (explicit), float64.
    implicit : bool
        Hu-Koren-Volinsky weights (else explicit least squares).
    alpha : float
        Confidence scale of the implicit model (``c = 1 + alpha r``).
    cg_steps : int
        Conjugate-gradient steps per row.
    cholesky : bool
        Solve exactly instead.

    Returns
    -------
    factors : ndarray of shape (rows, k)
        In the dtype of ``other``; rows without entries are zero (as in implicit).
    f : ndarray of shape (rows,)
        ``x^T A x - 2 b^T x`` per row, float64.

    Raises
    ------
    ValueError
        If a row's system is not positive definite (Cholesky with
        ``regularization=0`` and fewer entries than factors).
    """
    dtype = other.dtype
    rows, k = block.shape[0], other.shape[1]
    out = np.empty((rows, k), dtype=dtype)
    f = np.empty(rows)
    indptr = _ready(block.indptr, np.int64)
    indices = _ready(block.indices, np.int32)
    data = _ready(block.data, dtype)
    other = _ready(other)
    if cholesky:
        bad = _cholesky_rows(
            indptr, indices, data, other, _ready(G, np.float64), implicit, alpha, out, f
        )
        if bad >= 0:
            raise ValueError(
                f"the {k} x {k} system of row {bad} of this block is not positive definite "
                "(a row with fewer entries than factors and regularization=0); "
                "use regularization > 0"
            )
    else:
        prev = _ready(previous, dtype)
        _cg_rows(
            indptr,
            indices,
            data,
            prev,
            other,
            _ready(G, dtype),
            implicit,
            dtype.type(alpha),
            int(cg_steps),
            out,
            f,
        )
    return out, f


@numba.njit(cache=True, nogil=True, inline="always")
def _dot(a, ia, b, ib, k):  # pragma: no cover - compiled
    """``a[ia] . b[ib]`` (rows of 2-D arrays) with eight partial sums in a fixed order."""
    k8 = k - k % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = a.dtype.type(0)
    for j in range(0, k8, 8):
        s0 += a[ia, j] * b[ib, j]
        s1 += a[ia, j + 1] * b[ib, j + 1]
        s2 += a[ia, j + 2] * b[ib, j + 2]
        s3 += a[ia, j + 3] * b[ib, j + 3]
        s4 += a[ia, j + 4] * b[ib, j + 4]
        s5 += a[ia, j + 5] * b[ib, j + 5]
        s6 += a[ia, j + 6] * b[ib, j + 6]
        s7 += a[ia, j + 7] * b[ib, j + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for j in range(k8, k):
        s += a[ia, j] * b[ib, j]
    return s


@numba.njit(cache=True, nogil=True, inline="always")
def _dot64(a, ia, b, ib, k):  # pragma: no cover - compiled
    """``a[ia] . b[ib]`` accumulated in float64 (loss terms)."""
    s = 0.0
    for j in range(k):
        s += np.float64(a[ia, j]) * np.float64(b[ib, j])
    return s


@numba.njit(cache=True, nogil=True, inline="always")
def _symv(G, v, iv, out, scale, k):  # pragma: no cover - compiled
    """``out[0] = scale * G v[iv]`` (G symmetric, rows of 2-D work arrays)."""
    for a in range(k):
        out[0, a] = 0
    for c in range(k):
        vc = scale * v[iv, c]
        for a in range(k):
            out[0, a] += G[c, a] * vc


@numba.njit(cache=True, nogil=True)
def _cg_rows(indptr, indices, data, prev, Y, G, implicit, alpha, steps, out, f):
    # pragma: no cover - compiled
    rows, k = out.shape
    one = Y.dtype.type(1)
    width = 1
    for u in range(rows):
        width = max(width, indptr[u + 1] - indptr[u])
    # the row's y_i, gathered once: the 1 + 2 steps passes then stream from cache
    Yu = np.empty((width, k), Y.dtype)
    wu = np.empty(width, Y.dtype)
    x0 = np.empty((1, k), Y.dtype)
    r0 = np.empty((1, k), Y.dtype)
    r = np.empty((1, k), Y.dtype)
    p = np.empty((1, k), Y.dtype)
    Ap = np.empty((1, k), Y.dtype)
    for u in range(rows):
        s, e = indptr[u], indptr[u + 1]
        if s == e:
            out[u, :] = 0
            f[u] = 0.0
            continue
        nu = e - s
        for a in range(k):
            out[u, a] = prev[u, a]
            x0[0, a] = prev[u, a]
        # r = b - A x, and x^T A x on the way
        _symv(G, out, u, r, -one, k)
        q0 = -_dot64(out, u, r, 0, k)
        for j in range(nu):
            i = indices[s + j]
            for a in range(k):
                Yu[j, a] = Y[i, a]
            w = alpha * data[s + j] if implicit else one
            t = one + w if implicit else data[s + j]
            wu[j] = w
            d = _dot(Yu, j, out, u, k)
            q0 += np.float64(w) * np.float64(d) * np.float64(d)
            temp = t - w * d
            for a in range(k):
                r[0, a] += temp * Yu[j, a]
        for a in range(k):
            r0[0, a] = r[0, a]
            p[0, a] = r[0, a]
        rsold = _dot(r, 0, r, 0, k)
        if rsold >= 1e-20:
            for _ in range(steps):
                _symv(G, p, 0, Ap, one, k)
                for j in range(nu):
                    temp = wu[j] * _dot(Yu, j, p, 0, k)
                    for a in range(k):
                        Ap[0, a] += temp * Yu[j, a]
                pap = _dot(p, 0, Ap, 0, k)
                if not pap > 0:  # singular system (regularization 0): keep x
                    break
                step = rsold / pap
                for a in range(k):
                    out[u, a] += step * p[0, a]
                    r[0, a] -= step * Ap[0, a]
                rsnew = _dot(r, 0, r, 0, k)
                if rsnew < 1e-20:
                    break
                beta = rsnew / rsold
                for a in range(k):
                    p[0, a] = r[0, a] + beta * p[0, a]
                rsold = rsnew
        bx0 = _dot64(x0, 0, r0, 0, k) + q0
        bx = _dot64(r0, 0, out, u, k) + bx0 - _dot64(x0, 0, r, 0, k)
        f[u] = -_dot64(r, 0, out, u, k) - bx


@numba.njit(cache=True, nogil=True)
def _cholesky_rows(indptr, indices, data, Y, G, implicit, alpha, out, f):
    # pragma: no cover - compiled
    rows, k = out.shape
    A = np.empty((k, k))
    b = np.empty(k)
    y = np.empty(k)
    for u in range(rows):
        s, e = indptr[u], indptr[u + 1]
        if s == e:
            out[u, :] = 0
            f[u] = 0.0
            continue
        A[:, :] = G
        b[:] = 0.0
        for idx in range(s, e):
            i = indices[idx]
            r = np.float64(data[idx])
            w = alpha * r if implicit else 1.0
            t = 1.0 + w if implicit else r
            for a in range(k):
                y[a] = Y[i, a]
            for a in range(k):
                b[a] += t * y[a]
                wa = w * y[a]
                for c in range(a, k):
                    A[a, c] += wa * y[c]
        # A = U^T U, U upper triangular, in place (upper triangle)
        for j in range(k):
            for q in range(j):
                uqj = A[q, j]
                for c in range(j, k):
                    A[j, c] -= uqj * A[q, c]
            d = A[j, j]
            if not d > 0:
                return u
            d = np.sqrt(d)
            for c in range(j, k):
                A[j, c] /= d
        # U^T z = b, then U x = z (x in y)
        for j in range(k):
            sz = b[j]
            for q in range(j):
                sz -= A[q, j] * y[q]
            y[j] = sz / A[j, j]
        for j in range(k - 1, -1, -1):
            sx = y[j]
            for c in range(j + 1, k):
                sx -= A[j, c] * y[c]
            y[j] = sx / A[j, j]
        bx = 0.0
        for a in range(k):
            bx += b[a] * y[a]
            out[u, a] = y[a]
        f[u] = -bx  # x^T A x - 2 b.x with A x = b
    return -1
