"""Golub-Kahan bidiagonalization with one pass over A per step (shared by LSQR and LSMR).

A step of the textbook recurrence reads A twice::

    beta u  = A v - alpha u        (a pass over A)
    alpha v = A^T u - beta v       (a second pass)

Here ``u`` stays on the workers unnormalised (``u = u_raw / beta``), and each
block computes its rows of ``u_raw = A v - (alpha / beta_old) u_raw_old`` and, in
the same read of the block, its share of ``A^T u_raw``. The ``1/beta`` scaling
is applied afterwards on the client, where ``beta = ||u_raw||`` is known, so
one step streams A once.

Every ``dlinalg.rebase-every`` steps (default :data:`REBASE_EVERY`) ``u`` is
brought to the client and put back as data: on a cluster each ``u`` is
computed from the previous one, and without the cut the scheduler would keep
that chain (two tasks a step) and replay it from the start to recompute a
``u`` lost with a worker. The values do not change, so neither do the
iterates.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

from dlinalg.solvers._operator import check_finite_norm

__all__ = ["Bidiagonalization", "REBASE_EVERY"]

#: Steps between two cuts of ``u``'s lineage (config ``dlinalg.rebase-every``).
REBASE_EVERY = 50


class Bidiagonalization:
    """The distributed side of Golub-Kahan: ``u`` on the workers, products in one pass.

    Parameters
    ----------
    op : RowOperator or LocalOperator
        The matrix.
    """

    def __init__(self, op: Any):
        self.op = op
        self.u_raw = None  # RowVector: u = u_raw * u_scale
        self.u_scale = 1.0
        self.steps = 0
        self.rebase_every = max(1, int(dask.config.get("dlinalg.rebase-every", REBASE_EVERY)))

    def start(self, b: Any, x0: np.ndarray | None) -> tuple[float, np.ndarray]:
        """``beta_1 u_1 = b - A x0``; returns ``(beta_1, A^T u_1)`` from one pass."""
        v = None if x0 is None else -x0
        self.u_raw, atu, normsq = self.op.fused(v, b, 1.0, keep=True)
        check_finite_norm(normsq + float(np.sum(atu)), "A or b")
        return self._normalise(atu, normsq)

    def step(self, v: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
        """``beta u_new = A v - alpha u``; returns ``(beta, A^T u_new)`` from one pass."""
        self.u_raw, atu, normsq = self.op.fused(v, self.u_raw, -alpha * self.u_scale, keep=True)
        self.steps += 1
        if self.steps % self.rebase_every == 0:
            self.rebase()
        return self._normalise(atu, normsq)

    def rebase(self) -> None:
        """Cut ``u``'s lineage: gather it and put it back on the workers as data."""
        run = getattr(self.op, "run", None)
        if run is not None and run.client is not None:
            self.u_raw = self.op.vector(self.u_raw.gather())

    def _normalise(self, atu: np.ndarray, normsq: float) -> tuple[float, np.ndarray]:
        beta = float(np.sqrt(normsq))
        self.u_scale = 1.0 / beta if beta > 0 else 1.0
        return beta, atu * self.u_scale

    def first(self, b: Any, x0: np.ndarray | None, n: int) -> tuple:
        """The starting vectors of LSQR/LSMR: ``beta u = b - A x0``, ``alpha v = A^T u``.

        Returns ``(x, v, alpha, beta, bnorm)`` with ``bnorm = ||b||`` (SciPy's).
        """
        beta, v = self.start(self.op.vector(b), x0)
        x = np.zeros(n) if x0 is None else x0.copy()
        alpha = float(np.linalg.norm(v)) if beta > 0 else 0.0
        if beta == 0:
            v = np.zeros(n)
        if alpha > 0:
            v = v / alpha
        bnorm = beta
        if x0 is not None:
            bnorm = float(np.linalg.norm(b.compute() if hasattr(b, "dask") else b))
        return x, v, alpha, beta, bnorm

    # --- checkpoints ----------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The distributed state, gathered (for a checkpoint)."""
        return {"u_raw": self.u_raw.gather(), "u_scale": self.u_scale}

    def restore(self, state: dict[str, Any]) -> None:
        """Put a gathered ``u`` back on the workers, bit for bit."""
        self.u_raw = self.op.vector(np.asarray(state["u_raw"]))
        self.u_scale = float(state["u_scale"])
