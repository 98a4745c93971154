"""Block kernels of the smooth losses: value, gradient and Hessian of a GLM in one read.

A generalized linear model's loss over the rows of a block ``x`` is
``sum_i s_i l(z_i, y_i)`` with the linear predictor ``z = x W + b`` (``W`` is
``n x K``: one column for least squares, binary logistic, Poisson and Huber;
``K`` classes for the multinomial). One read of the block gives, in float64
whatever its dtype:

* the value and ``dZ = s * l'(Z)``, hence the gradient ``x^T dZ`` and the
  intercept's ``sum_i dZ_i`` (:func:`glm_block` with ``want="grad"``);
* with ``want="hess"`` (``K = 1``) also ``[x 1]^T diag(s l''(z)) [x 1]``, the
  exact Hessian, by the Gram kernel's ``x^T (d x)`` (Newton's step for few
  features, IRLS);
* with ``want="hessp"`` the Hessian-vector product ``x^T (H_z (x v + v_b))``
  (Newton-CG for many features).

The value and gradient of the ``K = 1`` losses over a dense block (the pass
of every L-BFGS iteration and line-search trial) are one compiled sweep,
:func:`_glm_rows`: each row's ``z_i = x_i . w + b``, its loss and derivative,
and ``dz_i x_i`` added into the gradient while the row is in the L1 cache,
as :func:`dlinalg.physical.matvec._dense_rows` does for least squares.

All of it travels as one flat :class:`~dlinalg.physical.matvec.MatvecParts`
(``atu`` the concatenated sums, ``normsq`` the loss), summed in the solvers'
fixed tree, so a block recomputed after a lost worker gives the same bits.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk
from scipy.special import expit, logsumexp, softmax

from dlinalg.physical.kernels import aligned
from dlinalg.physical.matvec import MatvecParts, row_dot

__all__ = ["LOSSES", "at_group", "at_restart_group", "glm_block", "glm_group", "loss_derivatives"]

#: The smooth losses and what their targets must be.
LOSSES = ("squared", "logistic", "multinomial", "poisson", "huber")


def loss_derivatives(
    loss: str, z: np.ndarray, y: np.ndarray, param: float, order: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-row ``l(z, y)``, ``l'`` and (``order=2``) ``l''`` for the ``K = 1`` losses.

    ``squared``: ``(z - y)^2 / 2``; ``logistic`` (``y`` in {0, 1}):
    ``log(1 + e^z) - y z``; ``poisson`` (log link): ``e^z - y z`` (scikit-learn's
    half Poisson deviance up to a term in y); ``huber`` with threshold
    ``param``: ``r^2/2`` for ``|r| <= param``, ``param |r| - param^2/2`` beyond.
    """
    if loss == "squared":
        r = z - y
        return 0.5 * r * r, r, np.ones_like(z) if order > 1 else None
    if loss == "logistic":
        p = expit(z)
        value = np.logaddexp(0.0, z) - y * z
        return value, p - y, p * (1.0 - p) if order > 1 else None
    if loss == "poisson":
        ez = np.exp(z)
        return ez - y * z, ez - y, ez if order > 1 else None
    if loss == "huber":
        r = z - y
        inside = np.abs(r) <= param
        value = np.where(inside, 0.5 * r * r, param * np.abs(r) - 0.5 * param * param)
        return value, np.clip(r, -param, param), inside.astype(np.float64) if order > 1 else None
    raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")


def _float64(x: Any) -> Any:
    if sp.issparse(x):
        return x.astype(np.float64) if x.dtype != np.float64 else x
    return np.asarray(x, dtype=np.float64)


def _multinomial(Z: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, Any]:
    """Softmax cross-entropy: value, ``dZ = s (softmax(Z) - onehot(y))`` and ``softmax(Z)``."""
    labels = y.astype(np.intp)
    rows = np.arange(Z.shape[0])
    value = float(s @ (logsumexp(Z, axis=1) - Z[rows, labels]))
    P = softmax(Z, axis=1)
    dZ = P.copy()
    dZ[rows, labels] -= 1.0
    return value, dZ * s[:, None], P


def glm_block(
    x: Any,
    y: np.ndarray,
    s: np.ndarray | None,
    W: np.ndarray,
    b: np.ndarray,
    loss: str,
    param: float,
    want: str,
    V: np.ndarray | None = None,
    vb: np.ndarray | None = None,
    Z: np.ndarray | None = None,
) -> MatvecParts:
    """One block's share of the loss, its gradient and (``want``) Hessian terms.

    Parameters
    ----------
    x : numpy.ndarray or scipy.sparse array
        The ``(rows, n)`` block.
    y, s : numpy.ndarray
        The block's targets and sample weights (``s`` None: all ones).
    W, b : numpy.ndarray
        ``(n, K)`` coefficients and ``(K,)`` intercepts.
    loss : str
        One of :data:`LOSSES`.
    param : float
        The Huber threshold (unused by the other losses).
    want : {"value", "grad", "hess", "hessp"}
        What to compute beyond the value.
    V, vb : numpy.ndarray, optional
        The direction of ``"hessp"``, shaped as ``W`` and ``b``.
    Z : numpy.ndarray, optional
        The predictor ``x W + b`` when the caller has it (``W`` and ``b``
        are then not used): the block is read for ``x^T dZ`` only.

    Returns
    -------
    MatvecParts
        ``normsq`` the weighted loss; ``atu`` the flat concatenation of
        ``x^T dZ`` (``n K``), ``sum dZ`` (``K``) and, for ``"hess"``,
        ``x^T D x`` (``n^2``), ``x^T d`` (``n``) and ``sum d``; for
        ``"hessp"`` (instead of the gradient) ``x^T (H u)`` and ``sum H u``.
    """
    if Z is None and want in ("value", "grad") and _compiled(x, W, loss):
        return _compiled_block(x, y, s, W, b, loss, param, want == "grad")
    with np.errstate(all="ignore"):  # a non-finite loss is refused by the caller, with a message
        rows = _tile_rows(x) if want in ("grad", "hess") and Z is None else 0
        if not rows or x.shape[0] <= rows:
            return _glm_block(x, y, s, W, b, loss, param, want, V, vb, Z)
        # a dense multinomial gradient tile by tile (the K = 1 losses took the compiled sweep
        # above): x_t W and x_t^T dZ_t while the tile is in cache,
        # so the pass reads the block from memory once, not twice (both cores share the
        # memory bus: two reads of a 100-column block cost ~2x one). The Hessian's
        # x_t^T D_t x_t too: its scaled copy of the tile stays in cache (a whole
        # 200,000 x 100 block's Hessian terms took 0.15-0.21 s, tiled 0.10-0.11 s,
        # the bare syrk 0.09 s)
        atu, value = None, 0.0
        for start in range(0, x.shape[0], rows):
            t = slice(start, start + rows)
            part = _glm_block(x[t], y[t], None if s is None else s[t], W, b, loss, param,
                              want, None, None, None)  # fmt: skip
            atu = part.atu if atu is None else atu + part.atu
            value += part.normsq
        return MatvecParts(atu, value)


#: The ``K = 1`` losses by their code in :func:`_glm_rows`.
_LOSS_CODES = {"squared": 0, "logistic": 1, "poisson": 2, "huber": 3}
_EMPTY = np.zeros(0)


def _compiled(x: Any, W: np.ndarray, loss: str) -> bool:
    """Whether :func:`_glm_rows` computes this block's value and gradient."""
    return not sp.issparse(x) and W.shape[1] == 1 and loss in _LOSS_CODES


def _compiled_block(x, y, s, W, b, loss, param, transpose) -> MatvecParts:
    """:func:`glm_block`'s ``"value"`` / ``"grad"`` by the compiled sweep."""
    x = aligned(np.asarray(x))
    if x.dtype not in (np.float64, np.float32) or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[1]
    atu = np.zeros(n + 1 if transpose else 0)
    value = _glm_rows(
        x,
        np.ascontiguousarray(W[:, 0], dtype=np.float64),
        float(b[0]),
        np.asarray(y, dtype=np.float64),
        _EMPTY if s is None else np.asarray(s, dtype=np.float64),
        s is not None,
        _LOSS_CODES[loss],
        float(param),
        transpose,
        atu,
    )
    return MatvecParts(atu if transpose else np.zeros(0), value)


@numba.njit(cache=True, nogil=True)
def _glm_rows(x, w, b, y, s, has_s, loss, param, transpose, atu):  # pragma: no cover - compiled
    """One sweep over a dense block's rows: the weighted loss, ``x^T dz`` and ``sum dz``.

    Row ``i``: ``z = x_i . w + b`` (:func:`dlinalg.physical.matvec.row_dot`,
    eight partial sums in a fixed order), the loss ``l(z, y_i)`` and
    ``dz = s_i l'(z, y_i)`` by the formulas of :func:`loss_derivatives` (the
    logistic ones in their overflow-free forms, as ``logaddexp`` and ``expit``
    compute them), then ``atu[:n] += dz x_i`` while the row is in L1 and
    ``atu[n] += dz``. Everything accumulates in float64 whatever the block's
    dtype, in row order, so a recomputed block gives the same bits.
    """
    m, n = x.shape
    value = 0.0
    for i in range(m):
        z = row_dot(x, i, w) + b
        yi = y[i]
        if loss == 1:  # logistic: log(1 + e^z) - y z and expit(z) - y
            if z > 0.0:
                e = math.exp(-z)
                ell = z + math.log1p(e) - yi * z
                d1 = 1.0 / (1.0 + e) - yi
            else:
                e = math.exp(z)
                ell = math.log1p(e) - yi * z
                d1 = e / (1.0 + e) - yi
        elif loss == 2:  # poisson: e^z - y z
            ez = math.exp(z)
            ell = ez - yi * z
            d1 = ez - yi
        else:  # squared, and huber with threshold param
            r = z - yi
            if loss == 0 or abs(r) <= param:
                ell = 0.5 * r * r
                d1 = r
            else:
                ell = param * abs(r) - 0.5 * param * param
                d1 = param if r > 0.0 else -param
        if has_s:
            ell *= s[i]
            d1 *= s[i]
        value += ell
        if transpose:
            for j in range(n):
                atu[j] += d1 * x[i, j]
            atu[n] += d1
    return value


#: Bytes of a dense block's row tile in the gradient kernel (fits the L2 cache).
TILE_BYTES = 2**20


def _tile_rows(x: Any) -> int:
    """Rows per tile of a dense block (0: not tiled, sparse blocks stream once anyway)."""
    if sp.issparse(x):
        return 0
    return max(64, TILE_BYTES // (8 * max(1, x.shape[1])))


def _glm_block(x, y, s, W, b, loss, param, want, V, vb, Z) -> MatvecParts:
    x = _float64(x)
    y = np.asarray(y, dtype=np.float64)
    s = np.ones(y.shape[0]) if s is None else np.asarray(s, dtype=np.float64)
    Z = np.asarray(x @ W + b) if Z is None else Z
    if loss == "multinomial":
        value, dZ, P = _multinomial(Z, y, s)
        if want == "hessp":
            U = np.asarray(x @ V) + vb
            HU = P * U - P * np.sum(P * U, axis=1, keepdims=True)
            dZ = HU * s[:, None]
    else:
        z = Z[:, 0]
        order = 2 if want in ("hess", "hessp") else 1
        ell, d1, d2 = loss_derivatives(loss, z, y, param, order)
        value = float(s @ ell)
        dZ = (s * d1)[:, None]
        if want == "hessp":
            u = np.asarray(x @ V)[:, 0] + vb[0]
            dZ = (s * d2 * u)[:, None]
    if want == "value":
        return MatvecParts(np.zeros(0), value)
    pieces = [np.asarray(x.T @ dZ).ravel(), dZ.sum(axis=0)]
    if want == "hess":
        d = s * d2  # >= 0 for every loss: x^T D x = (sqrt(D) x)^T (sqrt(D) x), one syrk
        if sp.issparse(x):
            xd = x.multiply(d[:, None]).tocsr()
            xtdx = np.asarray((x.T @ xd).todense())
            xtd = np.asarray(xd.sum(axis=0)).ravel()
        else:
            xs = x * np.sqrt(d)[:, None]
            upper = dsyrk(1.0, xs.T)  # xs.T is Fortran-ordered: no copy; half a gemm's flops
            xtdx = np.triu(upper) + np.triu(upper, 1).T
            xtd = d @ x
        pieces += [xtdx.ravel(), xtd, np.array([d.sum()])]
    return MatvecParts(np.concatenate(pieces), value)


def glm_group(blocks: list, ys: Any, ss: Any, *args: Any) -> tuple[None, list[MatvecParts]]:
    """:func:`glm_block` over one task's blocks and their pieces of ``y`` and ``s``."""
    ys = ys[0] if isinstance(ys, tuple) else ys
    ss = [None] * len(blocks) if ss is None else (ss[0] if isinstance(ss, tuple) else ss)
    return None, [glm_block(x, y, s, *args) for x, y, s in zip(blocks, ys, ss, strict=True)]


def _value_dZ(Z: np.ndarray, y: np.ndarray, s: np.ndarray, loss: str, param: float):
    """The weighted loss at the predictor ``Z`` and ``dZ = s l'(Z)``."""
    if loss == "multinomial":
        value, dZ, _ = _multinomial(Z, y, s)
        return value, dZ
    ell, d1, _ = loss_derivatives(loss, Z[:, 0], y, param, 1)
    return float(s @ ell), (s * d1)[:, None]


def at_block(
    x: Any,
    y: np.ndarray,
    s: np.ndarray | None,
    P: np.ndarray | None,
    Wx: np.ndarray | None,
    bx: np.ndarray | None,
    Wz: np.ndarray | None,
    bz: np.ndarray | None,
    theta: float | None,
    theta_y: float | None,
    loss: str,
    param: float,
) -> tuple[np.ndarray, MatvecParts]:
    """One block's step of TFOCS's AT iteration, on cached predictors.

    The block keeps ``P = [A x | A z]`` (its rows of the predictors at the
    iterates ``x`` and ``z``, ``2K`` columns, intercepts included) between
    passes. A new ``z`` (``Wz, bz``) costs one product ``x_b Wz``; the new
    ``x = (1 - theta) x_old + theta z`` costs none (its predictor is the same
    combination of the cached ones), and so does the extrapolated point
    ``y = (1 - theta_y) x + theta_y z``, whose gradient ``x_b^T l'(A y)`` is
    the one other product. With a new ``z`` the gradient at ``x`` comes too,
    in the same product (``x_b^T [dZ_y | dZ_x]``): the next point should the
    iteration restart. ``Wx, bx`` (given) recompute ``A x`` exactly instead,
    as TFOCS does now and then against drift.

    Returns
    -------
    (P, MatvecParts)
        The new predictors, and ``atu = [gradient terms at y, at x (with a
        new z), f(x) (with a new z, else 0)]``, ``normsq = f(y)``; without ``theta_y``, ``atu = [f(x)]``
        and ``normsq = 0``. A gradient's terms are ``x_b^T dZ`` (``n K``) and
        ``sum dZ`` (``K``).
    """
    with np.errstate(all="ignore"):  # a non-finite loss is refused by the caller
        xb = _float64(x)
        y = np.asarray(y, dtype=np.float64)
        s = np.ones(y.shape[0]) if s is None else np.asarray(s, dtype=np.float64)
        K = (P.shape[1] // 2) if P is not None else (Wz if Wz is not None else Wx).shape[1]
        Zx = None if P is None else P[:, :K]
        Zz = None if P is None else P[:, K:]
        if Wz is not None:
            Zz = np.asarray(xb @ Wz) + bz
        if Wx is not None:
            Zx = np.asarray(xb @ Wx) + bx
        elif theta is not None:
            Zx = (1.0 - theta) * Zx + theta * Zz
        Zz = Zx if Zz is None else Zz
        # f(x) only when x moved (a new z): a gradient pass at y leaves it unread
        f_x, dZ_x = _value_dZ(Zx, y, s, loss, param) if Wz is not None else (0.0, None)
        if theta_y is None:
            return np.hstack([Zx, Zz]), MatvecParts(np.array([f_x]), 0.0)
        f_y, dZ = _value_dZ((1.0 - theta_y) * Zx + theta_y * Zz, y, s, loss, param)
        if Wz is not None:
            dZ = np.hstack([dZ, dZ_x])
        xtdz = np.asarray(xb.T @ dZ)
        sums = dZ.sum(axis=0)
        pieces = [xtdz[:, :K].ravel(), sums[:K]]
        if Wz is not None:
            pieces += [xtdz[:, K:].ravel(), sums[K:]]
        return np.hstack([Zx, Zz]), MatvecParts(np.concatenate([*pieces, [f_x]]), f_y)


def at_group(blocks: list, ys: Any, ss: Any, Ps: Any, *args: Any) -> tuple[list, list]:
    """:func:`at_block` over one task's blocks: ``(their new predictors, their parts)``."""
    ys = ys[0] if isinstance(ys, tuple) else ys
    ss = [None] * len(blocks) if ss is None else (ss[0] if isinstance(ss, tuple) else ss)
    Ps = [None] * len(blocks) if Ps is None else (Ps[0] if isinstance(Ps, tuple) else Ps)
    out = [at_block(x, y, s, P, *args) for x, y, s, P in zip(blocks, ys, ss, Ps, strict=True)]
    return [P for P, _ in out], [p for _, p in out]


def at_restart_group(Ps: Any) -> list[np.ndarray]:
    """The predictors after an AT restart (``z = x``): ``[A x | A x]``, no read of A."""
    Ps = Ps[0] if isinstance(Ps, tuple) else Ps
    out = []
    for P in Ps:
        K = P.shape[1] // 2
        out.append(np.hstack([P[:, :K], P[:, :K]]))
    return out
