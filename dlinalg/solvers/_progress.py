"""Progress of an iterative solver: the user's callback and an iteration bar."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlinalg.cluster import default_progress

__all__ = ["Progress"]


class Progress:
    """Call ``callback(xk)`` after each iteration and, when ``show``, advance a bar.

    The bar is :mod:`tqdm`'s (a widget in Jupyter, text in a terminal) and
    shows the iteration count against ``maxiter`` with the solver's current
    residual estimates.

    Parameters
    ----------
    name : str
        Solver name, the bar's label.
    maxiter : int
        The iteration limit, the bar's length.
    show : bool or None
        Show the bar; None: :func:`dlinalg.cluster.default_progress` (on in Jupyter).
    callback : callable or None
        Called as ``callback(xk)`` with a copy of the iterate.
    start : int, default 0
        Iterations already done (a resumed checkpoint).
    """

    def __init__(
        self, name: str, maxiter: int, show: bool | None, callback: Any = None, start: int = 0
    ) -> None:
        self.callback = callback
        self.bar = None
        if default_progress() if show is None else show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=maxiter, initial=start, desc=name, unit="it", leave=True)

    def update(self, itn: int, x: np.ndarray, **metrics: float) -> None:
        """Report iteration ``itn`` with iterate ``x`` (and named metrics for the bar)."""
        if self.callback is not None:
            self.callback(x.copy())
        if self.bar is not None:
            self.bar.update(itn - self.bar.n)
            self.bar.set_postfix({k: f"{v:.3e}" for k, v in metrics.items()}, refresh=False)

    def close(self, message: str | None = None) -> None:
        if self.bar is not None:
            if message:
                self.bar.set_postfix_str(message.strip(), refresh=False)
            self.bar.close()
