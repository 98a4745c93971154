"""Convergence curves of an iterative solve (matplotlib, optional)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg.errors import ParameterError
from dlinalg.solvers.result import SolveResult

__all__ = ["plot_convergence"]

#: What each history key is, for the legend.
_LABELS = {
    "normr": r"$\|b - Ax\|$",
    "normar": r"$\|A^T(b - Ax)\|$",
    "objective": r"$\|Ax - b\|^2$",
    "normg": r"$\|\nabla\|$ (scaled)",
    "anorm": r"$\|A\|_F$ estimate",
    "acond": "cond(A) estimate",
    "xnorm": r"$\|x\|$",
    "step": "step",
}
#: Drawn unless ``keys`` says otherwise: the residuals that show convergence.
_DEFAULT = ("normr", "normar", "objective", "normg")


def plot_convergence(
    result: SolveResult, keys: tuple[str, ...] | None = None, ax: Any = None
) -> Any:
    """Draw a solver's convergence history, one curve per quantity, on a log scale.

    Parameters
    ----------
    result : SolveResult or OptimizeResult
        What :func:`~dlinalg.lsqr`, :func:`~dlinalg.lsmr`, :func:`~dlinalg.cg`,
        :func:`~dlinalg.cgls`, :func:`~dlinalg.gd` or an optimizer
        (:func:`~dlinalg.lbfgs`, :func:`~dlinalg.newton_cg`,
        :func:`~dlinalg.proximal_gradient`) returned; its ``history`` is drawn.
    keys : tuple of str, optional
        Which quantities of the history to draw (default: the residual norms
        it has, ``normr``, ``normar``, ``objective``, ``normg``).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure's axes).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    TypeError
        If ``result`` is not a solver's or optimizer's result.
    ParameterError
        If ``keys`` names a quantity the history does not have, or the
        history is empty (a resumed solve that ran no iteration).

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> A = np.random.default_rng(0).standard_normal((200, 10))
    >>> res = dl.lsqr(dl.from_array(A, chunks=50), A @ np.ones(10), atol=1e-10, btol=1e-10)
    >>> ax = dl.plot_convergence(res)
    >>> [line.get_label() for line in ax.get_lines()]
    ['$\\\\|b - Ax\\\\|$', '$\\\\|A^T(b - Ax)\\\\|$']
    """
    if not isinstance(getattr(result, "history", None), dict) or not hasattr(result, "message"):
        raise TypeError(
            f"result must be a SolveResult or OptimizeResult, got {type(result).__name__}"
        )
    history = result.history
    if not history or len(history.get("itn", ())) == 0:
        raise ParameterError(
            "the result has no convergence history (a resumed solve that ran no iteration)"
        )
    if keys is None:
        keys = tuple(k for k in _DEFAULT if k in history)
    missing = [k for k in keys if k not in history]
    if missing:
        raise ParameterError(
            f"keys {missing} are not in the history, which has {sorted(set(history) - {'itn'})}"
        )
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # optional dependency
        raise ImportError("plot_convergence needs matplotlib: pip install matplotlib") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    itn = history["itn"]
    for key in keys:
        values = np.abs(history[key])
        ax.semilogy(itn, np.where(values > 0, values, np.nan), label=_LABELS.get(key, key))
    ax.set_xlabel("iteration")
    ax.set_title(result.message.strip(), fontsize="small")
    ax.legend()
    return ax
