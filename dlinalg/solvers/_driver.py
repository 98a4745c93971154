"""What every iterative solver does around its recurrence: checkpoints and reporting.

A solver keeps its whole state in a :class:`SolverState` dataclass (numpy
arrays and floats, ``itn`` and ``istop`` included), so its loop reads
``st.rhobar``, as SciPy's reads a local. At the checkpoint boundary the state
is the flat dict the file format stores (:meth:`SolverState.to_dict` /
:meth:`SolverState.from_dict`): the format does not depend on the class.
:class:`Run` opens the checkpoint (refusing a damaged file or another
problem's before any pass over A), hands back the saved state to resume from,
saves the state when due and at the end, and drives the progress bar and the
callback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, NamedTuple, Self

import numpy as np

from dlinalg._operands import check_rhs, check_x0
from dlinalg._validation import check_callback, check_maxiter, check_tolerance
from dlinalg.errors import ParameterError
from dlinalg.solvers._operator import operator_shape
from dlinalg.solvers._progress import Progress
from dlinalg.solvers.checkpoint import Checkpoint, user_identity
from dlinalg.solvers.checkpoint import fingerprint as problem_fingerprint

__all__ = [
    "Run",
    "LeastSquaresInput",
    "SolverState",
    "check_checkpoint",
    "check_every",
    "check_least_squares",
]


def check_checkpoint(checkpoint: Any) -> None:
    """``None`` or a path (checked before any work)."""
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise ParameterError(
            f"checkpoint must be None or a file path (str or os.PathLike), got {checkpoint!r}"
        )


def check_every(every: Any) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ParameterError(f"checkpoint_every must be an integer >= 1, got {every!r}")
    return every


@dataclass(kw_only=True)
class SolverState:
    """A solver's whole iteration state: what a checkpoint saves and a resume restores.

    Subclasses add their recurrences' scalars and arrays as fields, in the
    order they are saved; a field that is None (an optional array, such as
    LSQR's ``var`` without ``calc_var``) is left out of the checkpoint.

    Attributes
    ----------
    itn : int
        Iterations done.
    istop : int
        Why the solver stopped (0 while running).
    """

    itn: int = 0
    istop: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The flat dict a checkpoint stores (fields in order, None left out; not copied)."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> Self:
        """The state from a checkpoint's dict (entries that are not fields are ignored).

        The checkpoint was checked whole when it was loaded (every field
        present, of its type and shape), so the values are used as they are.
        """
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})


class Run:
    """One solver call: resume, save when due, report each iteration.

    Built before A is converted or persisted: the checkpoint file is read and
    checked whole (header, state, shapes, checksum, b and the parameters)
    with no graph and no pass over A; :meth:`identify`, handed to
    :func:`~dlinalg.solvers._operator.as_operator` as ``before_pass``, then
    compares A's identity before A is persisted.

    Parameters
    ----------
    name : str
        The solver's name (stored in the checkpoint, shown on the bar).
    A : operand
        The problem's matrix or operator (only its shape is read here).
    b : array or None
        The right-hand side (hashed into the fingerprint).
    params : dict
        Parameters that change the iterates (hashed into the fingerprint).
    checkpoint : path or None
    maxiter : int
    show : bool
    callback : callable or None
    every : int, default 10
        Save every ``every`` iterations (and every 30 seconds).
    fingerprint : str, bytes, int or tuple, optional
        The caller's identity of A, used instead of its graph token or probe.
    """

    def __init__(
        self,
        name: str,
        A: Any,
        b: Any,
        params: dict[str, Any],
        checkpoint: Any,
        maxiter: int,
        show: bool | None,
        callback: Callable | None,
        every: int = 10,
        fingerprint: Any = None,
    ):
        self.name = name
        self.maxiter = maxiter
        self.ckpt = None
        self.user = None if fingerprint is None else user_identity(fingerprint)
        if checkpoint is not None:
            problem = problem_fingerprint(operator_shape(A), b, **params)
            self.ckpt = Checkpoint(checkpoint, name, problem, every=every)
        self.resumed = self.ckpt.load() if self.ckpt is not None else None
        start = int(self.resumed["itn"]) if self.resumed else 0
        self._bar = (name, maxiter, show, callback, start)
        self._history: dict[str, list[float]] = {}

    @cached_property
    def progress(self) -> Progress:
        """The bar, opened at the first report (not when A is refused before)."""
        return Progress(*self._bar)

    def identify(self, op: Any) -> None:
        """Compare A's identity with the checkpoint's (``as_operator``'s ``before_pass``).

        An opaque operator without ``fingerprint=`` costs a probe (one mat-vec
        and one rmat-vec); a DRM/Dask operand's token costs nothing.
        """
        if self.ckpt is not None:
            self.ckpt.identify(self.user if self.user is not None else op.identity())

    def iteration(
        self, itn: int, x: np.ndarray, state: Callable[[], dict[str, Any]], **metrics: float
    ) -> None:
        """Report iteration ``itn``; save ``state()`` (built only then) when a save is due.

        Every metric joins the convergence history; the bar shows the residual
        norms (``normr``, ``normar``, ``normg``).
        """
        for key, value in {"itn": itn, **metrics}.items():
            self._history.setdefault(key, []).append(value)
        shown = {k: v for k, v in metrics.items() if k in ("normr", "normar", "normg")}
        self.progress.update(itn, x, **shown)
        if self.ckpt is not None and self.ckpt.due(itn):
            self.ckpt.save(state())

    def history(self) -> dict[str, np.ndarray]:
        """The metrics of each iteration run by this call, as arrays (``"itn"`` first)."""
        return {
            k: np.asarray(v, dtype=np.int64 if k == "itn" else np.float64)
            for k, v in self._history.items()
        }

    def finish(self, state: Callable[[], dict[str, Any]], message: str) -> None:
        """Save the final state (a later call with the same path returns it at once)."""
        if self.ckpt is not None:
            self.ckpt.save(state())
        self.progress.close(message)

    def drive(
        self,
        state: type[SolverState],
        start: Callable[[], SolverState],
        iterate: Callable[[Any], None],
        moving: Callable[[Any], bool],
        messages: dict[int, str],
        restore: Callable[[dict[str, Any]], None] | None = None,
        saved: Callable[[Any], dict[str, Any]] | None = None,
    ) -> Any:
        """Start (or resume), iterate, save the end state; return the state.

        Parameters
        ----------
        state : type
            The solver's :class:`SolverState` subclass (a resumed checkpoint's
            dict becomes one).
        start : callable
            ``() -> state`` of a fresh solve (not called when resuming).
        iterate : callable
            ``state -> None``: runs the recurrence to its stop, in place.
        moving : callable
            ``state -> bool``: False when the start is already the answer
            (``b = 0``, a zero gradient...): no iteration, and a smaller
            ``maxiter`` does not turn it into "iteration limit".
        messages : dict
            The message of each ``istop``.
        restore : callable, optional
            ``saved dict -> None``: rebuilds what lives outside the state
            (LSQR's distributed ``u``) from a resumed checkpoint.
        saved : callable, optional
            ``state -> dict``: what to save (default: ``state.to_dict()``).

        A state resumed under another ``maxiter`` has its ``istop`` moved
        between 0 (running) and 7 (iteration limit, SciPy's code for it).
        """
        if self.resumed is None:
            st = start()
        else:
            if restore is not None:
                restore(self.resumed)
            st = state.from_dict(self.resumed)
            if st.istop == 7 and st.itn < self.maxiter:  # a larger maxiter
                st.istop = 0
            if st.istop == 0 and moving(st) and st.itn >= self.maxiter:  # a smaller one
                st.istop = 7
        try:
            if st.istop == 0 and moving(st):
                iterate(st)
        except BaseException:
            self.progress.close()
            raise
        self.finish(lambda: saved(st) if saved is not None else st.to_dict(), messages[st.istop])
        return st


class LeastSquaresInput(NamedTuple):
    """The checked arguments of lsqr, lsmr and cgls."""

    m: int
    n: int
    b: Any
    x0: np.ndarray | None
    damp: float
    atol: float
    btol: float
    conlim: float
    maxiter: int
    callback: Any


def check_least_squares(
    A: Any,
    b: Any,
    *,
    x0: Any,
    damp: Any,
    atol: Any,
    btol: Any,
    conlim: Any,
    maxiter: Any,
    default_maxiter: Callable[[int, int], int],
    callback: Any,
    checkpoint: Any,
) -> LeastSquaresInput:
    """Check every argument of a least-squares solver, in SciPy's order, before any graph."""
    m, n = operator_shape(A)
    b = check_rhs(b, m, squeeze=True)
    x0 = check_x0(x0, n)
    damp = check_tolerance(damp, "damp")
    atol, btol = check_tolerance(atol, "atol"), check_tolerance(btol, "btol")
    conlim = check_tolerance(conlim, "conlim")
    maxiter = check_maxiter(maxiter, default_maxiter(m, n))
    callback = check_callback(callback)
    check_checkpoint(checkpoint)
    return LeastSquaresInput(m, n, b, x0, damp, atol, btol, conlim, maxiter, callback)
