"""The smooth objective every optimizer minimizes, one pass over A per evaluation.

``f(theta) = sum_i s_i l(z_i, y_i) / sum_i s_i + (l2 / 2) ||W||^2`` with the
linear predictor ``z = A W + b`` (``theta`` is ``W`` flattened, ``n x K``
row-major, then the intercepts ``b`` when ``fit_intercept``). The loss is a
mean, as scikit-learn's ``Lasso``, ``LogisticRegression`` and GLMs write it,
so the penalties keep their meaning when rows are added. The intercepts are
never penalized.

Matrix products run on the cluster (the row blocks persisted once by
:class:`~dlinalg.solvers._operator.RowOperator`, ``y`` and ``s`` kept beside
them); the value, the gradient and the exact Hessian (few features) or a
Hessian-vector product come back from one fused read of the blocks. Vector
operations (the two-loop recursion, proximal steps, line searches) run on the
client, as TFOCS and Spark's L-BFGS split the work.
"""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np

from dlinalg._operands import check_rhs, check_x0
from dlinalg._validation import check_tolerance
from dlinalg.errors import NonFiniteError, ParameterError
from dlinalg.physical.glm import LOSSES
from dlinalg.solvers._operator import RowOperator, as_operator, is_linear_operator, operator_shape

__all__ = ["GLMObjective", "Problem", "check_problem"]


class Problem:
    """A checked optimization problem: what the solvers and their checkpoints see.

    Built by :func:`check_problem` before any graph; :meth:`objective`
    persists A and the vectors (the first pass).
    """

    def __init__(self, A, y, s, loss, n_classes, fit_intercept, l2, l1, epsilon, x0):
        self.A, self.y, self.s = A, y, s
        self.loss, self.K = loss, n_classes
        self.fit_intercept = fit_intercept
        self.l2, self.l1, self.epsilon = l2, l1, epsilon
        self.m, self.n = operator_shape(A)
        self.size = self.n * self.K + (self.K if fit_intercept else 0)
        self.x0 = check_x0(x0, self.size)

    def params(self) -> dict[str, Any]:
        """What changes the iterates (the checkpoint fingerprint's parameters)."""
        return {"loss": self.loss, "K": self.K, "fit_intercept": self.fit_intercept,
                "l2": self.l2, "l1": self.l1, "epsilon": self.epsilon, "x0": self.x0,
                "s": self.s if isinstance(self.s, np.ndarray) else None}  # fmt: skip

    def objective(self, before_pass: Any = None) -> GLMObjective:
        """Persist A, y and s on the cluster (one pass) and return the objective."""
        op = as_operator(self.A, before_pass=before_pass)
        return GLMObjective(op, self)


def _check_targets(y: Any, loss: str, n_classes: Any) -> int:
    """Refuse targets the loss cannot take."""
    if loss == "multinomial":
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
            raise ParameterError(
                f"loss='multinomial' needs n_classes, an integer >= 2, got {n_classes!r}"
            )
        if n_classes < 2:
            raise ParameterError(f"n_classes must be >= 2, got n_classes={n_classes}")
    elif n_classes not in (None, 1):
        raise ParameterError(f"n_classes is for loss='multinomial' only, got {n_classes!r}")
    K = int(n_classes) if loss == "multinomial" else 1
    if loss == "logistic" and not np.isin(y, (0.0, 1.0)).all():
        bad = np.unique(y[~np.isin(y, (0.0, 1.0))])[:5]
        raise ValueError(f"loss='logistic' needs targets 0 or 1, got {bad.tolist()}")
    if loss == "multinomial":
        ok = (y == np.round(y)) & (y >= 0) & (y < K)
        if not ok.all():
            bad = np.unique(y[~ok])[:5]
            raise ValueError(
                f"loss='multinomial' needs class indices 0..{K - 1}, got {bad.tolist()}"
            )
    if loss == "poisson" and (y < 0).any():
        raise ValueError(f"loss='poisson' needs targets >= 0, got {float(y.min())!r}")
    return K


def _in_memory(v: Any, name: str) -> np.ndarray:
    """A Dask vector computed (m floats, one small computation over it alone, never over A),
    so its values are checked before any pass over A, as an in-memory one is."""
    if isinstance(v, da.Array):
        v = np.asarray(v.compute(), dtype=np.float64)
        if not np.isfinite(v).all():
            raise NonFiniteError(f"{name} contains NaN or infinity; clean it before solving")
    return v


def _check_weights(s: Any, m: int) -> Any:
    if s is None:
        return None
    s = _in_memory(check_rhs(s, m, name="sample_weight"), "sample_weight")
    if isinstance(s, np.ndarray):
        if (s < 0).any():
            raise ValueError(f"sample_weight must be >= 0, got {float(s.min())!r}")
        if not s.any():
            raise ValueError("sample_weight is zero everywhere: there is nothing to fit")
    return s


def check_problem(
    A: Any,
    y: Any,
    *,
    loss: Any,
    sample_weight: Any,
    n_classes: Any,
    fit_intercept: Any,
    l2: Any,
    l1: Any,
    epsilon: Any,
    x0: Any,
) -> Problem:
    """Every check of the problem, before any graph is built or pass run.

    Raises
    ------
    ValueError
        :class:`~dlinalg.errors.ShapeError` for lengths that do not match A,
        :class:`~dlinalg.errors.ParameterError` for a bad parameter,
        :class:`~dlinalg.errors.NonFiniteError` for NaN/inf in y, the
        weights or x0; a ``ValueError`` for targets the loss cannot take or
        negative weights.
    TypeError
        For an A that is a LinearOperator (a GLM reads A's rows).
    """
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ParameterError(f"loss must be one of {LOSSES}, got loss={loss!r}")
    if is_linear_operator(A):
        raise TypeError(
            "a LinearOperator has no rows to read; pass A as a DRM, numpy, scipy.sparse "
            "or dask array"
        )
    m, _ = operator_shape(A)
    y = _in_memory(check_rhs(y, m, name="y"), "y")
    K = _check_targets(y, loss, n_classes)
    s = _check_weights(sample_weight, m)
    if not isinstance(fit_intercept, bool | np.bool_):
        raise ParameterError(f"fit_intercept must be True or False, got {fit_intercept!r}")
    eps = 0.0  # unused by the other losses
    if loss == "huber":
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
            raise ParameterError(f"epsilon must be a number > 0, got epsilon={epsilon!r}")
        eps = float(epsilon)
    return Problem(A, y, s, loss, K, bool(fit_intercept), check_tolerance(l2, "l2"), check_tolerance(l1, "l1"),
                   eps, x0)  # fmt: skip


class GLMObjective:
    """The smooth part ``f`` on the cluster: value, gradient, Hessian, one pass each call.

    Attributes
    ----------
    passes : int
        Passes over A run so far (the persist not counted).
    """

    def __init__(self, op: RowOperator, problem: Problem):
        self.op, self.p = op, problem
        self.yv = op.vector(problem.y)
        self.sv = None if problem.s is None else op.vector(problem.s)
        self.passes = 0
        self.total = float(problem.m if problem.s is None else problem.s.sum())
        if not np.isfinite(self.total):  # weights >= 0, not all 0: only an overflow is left
            raise ValueError(f"sample_weight must sum to a finite number, got {self.total}")

    # --- theta <-> (W, b) --------------------------------------------------
    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(W (n, K), b (K,))`` of ``theta``."""
        n, K = self.p.n, self.p.K
        W = theta[: n * K].reshape(n, K)
        b = theta[n * K :] if self.p.fit_intercept else np.zeros(K)
        return W, b

    def penalized(self) -> np.ndarray:
        """A mask of the entries of theta the penalties apply to (not the intercepts)."""
        mask = np.ones(self.p.size, dtype=bool)
        mask[self.p.n * self.p.K :] = False
        return mask

    def _run(self, theta: np.ndarray, want: str, *extra: Any) -> Any:
        W, b = self.split(np.asarray(theta, dtype=np.float64))
        self.passes += 1
        parts = self.op.glm(self.yv, self.sv, W, b, self.p.loss, self.p.epsilon, want, *extra)
        if not np.isfinite(parts.normsq):
            raise NonFiniteError(
                f"the {self.p.loss} loss is not finite at this point (NaN/inf in A, y or "
                "sample_weight, or an overflow)"
            )
        return parts

    def _gradient(self, flat: np.ndarray, theta: np.ndarray) -> np.ndarray:
        n, K = self.p.n, self.p.K
        g = flat[: n * K] / self.total
        if self.p.fit_intercept:
            g = np.concatenate([g, flat[n * K : n * K + K] / self.total])
        return g + self.p.l2 * np.where(self.penalized(), theta, 0.0)

    def value(self, theta: np.ndarray) -> float:
        """``f(theta)``: one pass (no gradient travels)."""
        parts = self._run(theta, "value")
        return parts.normsq / self.total + self._ridge(theta)

    def _ridge(self, theta: np.ndarray) -> float:
        w = theta[self.penalized()]
        return 0.5 * self.p.l2 * float(w @ w)

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(f, grad f)`` at theta: one pass."""
        theta = np.asarray(theta, dtype=np.float64)
        parts = self._run(theta, "grad")
        return parts.normsq / self.total + self._ridge(theta), self._gradient(parts.atu, theta)

    def value_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(f, grad f, Hessian)`` at theta, one pass (``K = 1``: the Gram kernel)."""
        theta = np.asarray(theta, dtype=np.float64)
        n = self.p.n
        parts = self._run(theta, "hess")
        flat = parts.atu
        g = self._gradient(flat, theta)
        H_xx = flat[n + 1 : n + 1 + n * n].reshape(n, n)
        if self.p.fit_intercept:
            H_xb = flat[n + 1 + n * n : n + 1 + n * n + n]
            H = np.empty((n + 1, n + 1))
            H[:n, :n], H[:n, n], H[n, :n], H[n, n] = H_xx, H_xb, H_xb, flat[-1]
        else:
            H = H_xx.copy()
        H /= self.total
        H[np.diag_indices(n)] += self.p.l2
        return parts.normsq / self.total + self._ridge(theta), g, H

    def accelerated(
        self,
        P: Any,
        *,
        x: np.ndarray,
        x_new: np.ndarray | None = None,
        z_new: np.ndarray | None = None,
        theta: float | None = None,
        y: np.ndarray | None = None,
        theta_y: float | None = None,
    ) -> tuple[Any, float, Any, Any]:
        """A step of the AT iteration on the predictors ``P = [A x | A z]`` kept on the workers.

        One pass: ``A z_new`` when ``z_new`` is given (and ``A x_new`` exactly
        when ``x_new`` is, else ``A x = (1 - theta) A x_old + theta A z``),
        ``f(x)``, and with ``theta_y`` the value and gradient at
        ``y = (1 - theta_y) x + theta_y z`` (``y`` the same point, for the
        ridge term) from the predictors' combination: no product ``A y``.

        Returns
        -------
        (P, f(x) or None, (f(y), grad f(y)) or None, grad f(x) or None)
            ``f(x)`` with a new ``z`` (a gradient pass does not evaluate it),
            ``grad f(x)`` with a new ``z`` and ``theta_y`` (same product); with a
            new ``z`` a non-finite value at ``y`` or gradient at ``x`` (an
            overflow at a speculative point) comes back as None.
        """
        Wx, bx = (None, None) if x_new is None else self.split(x_new)
        Wz, bz = (None, None) if z_new is None else self.split(z_new)
        self.passes += 1
        P, parts = self.op.glm_at(self.yv, self.sv, P, Wx, bx, Wz, bz, theta, theta_y,
                                  self.p.loss, self.p.epsilon)  # fmt: skip
        flat = parts.atu
        # with a new z, the values at y and the gradient at x are speculative (the next
        # trial's): an overflow there leaves them unknown (None), to be computed if needed
        half = (flat.size - 1) // 2 if z_new is not None else flat.size - 1
        y_ok = np.isfinite(parts.normsq) and np.isfinite(flat[:half]).all()
        x_ok = np.isfinite(flat[half:-1]).all()
        if not np.isfinite(flat[-1]) or (z_new is None and not (y_ok and x_ok)):
            raise NonFiniteError(
                f"the {self.p.loss} loss is not finite at this point (NaN/inf in A, y or "
                "sample_weight, or an overflow)"
            )
        f_x = float(flat[-1]) / self.total + self._ridge(x) if z_new is not None else None
        if theta_y is None:
            return P, f_x, None, None
        at_y = None
        if y_ok:
            at_y = (parts.normsq / self.total + self._ridge(y), self._gradient(flat[:half], y))
        if z_new is None:
            return P, f_x, at_y, None
        return P, f_x, at_y, self._gradient(flat[half:-1], x) if x_ok else None

    def hessp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The Hessian at theta times v: one pass."""
        V, vb = self.split(np.asarray(v, dtype=np.float64))
        parts = self._run(theta, "hessp", V, vb)
        n, K = self.p.n, self.p.K
        flat = parts.atu
        Hv = flat[: n * K] / self.total
        if self.p.fit_intercept:
            Hv = np.concatenate([Hv, flat[n * K : n * K + K] / self.total])
        return Hv + self.p.l2 * np.where(self.penalized(), v, 0.0)
