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

All of it travels as one flat :class:`~dlinalg.physical.matvec.MatvecParts`
(``atu`` the concatenated sums, ``normsq`` the loss), summed in the solvers'
fixed tree, so a block recomputed after a lost worker gives the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk
from scipy.special import expit, logsumexp, softmax

from dlinalg.physical.matvec import MatvecParts

__all__ = ["LOSSES", "glm_block", "glm_group", "loss_derivatives"]

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

    Returns
    -------
    MatvecParts
        ``normsq`` the weighted loss; ``atu`` the flat concatenation of
        ``x^T dZ`` (``n K``), ``sum dZ`` (``K``) and, for ``"hess"``,
        ``x^T D x`` (``n^2``), ``x^T d`` (``n``) and ``sum d``; for
        ``"hessp"`` (instead of the gradient) ``x^T (H u)`` and ``sum H u``.
    """
    with np.errstate(all="ignore"):  # a non-finite loss is refused by the caller, with a message
        return _glm_block(x, y, s, W, b, loss, param, want, V, vb)


def _glm_block(x, y, s, W, b, loss, param, want, V, vb) -> MatvecParts:
    x = _float64(x)
    y = np.asarray(y, dtype=np.float64)
    s = np.ones(y.shape[0]) if s is None else np.asarray(s, dtype=np.float64)
    Z = x @ W + b
    Z = np.asarray(Z)
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
