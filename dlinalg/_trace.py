"""A record of the passes a computation runs, read by :func:`dlinalg.explain`.

Every computation dlinalg starts announces itself here before it runs: the
optimizer's computes with their fused plan roots, the solvers' steps with
the plan node of their one-pass product, and graphs built outside the plan
(TSQR's tree, the recommenders' co-occurrence panels) with a one-line
summary. Outside :func:`recording` nothing is kept and :func:`record` costs
one context-variable lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

__all__ = ["Pass", "recording", "record", "planned"]


class Pass(NamedTuple):
    """One computation: ``kind`` is ``"plan"``, ``"persist"``, ``"step"`` or ``"graph"``.

    ``roots`` are plan nodes (``"plan"``, ``"persist"``, ``"step"``) or
    one-line descriptions of Dask collections (``"graph"``).
    """

    kind: str
    roots: tuple[Any, ...]


_passes: ContextVar[list[Pass] | None] = ContextVar("dlinalg_passes", default=None)
_planned: ContextVar[bool] = ContextVar("dlinalg_planned", default=False)


@contextmanager
def recording() -> Iterator[list[Pass]]:
    """Collect, in order, every pass started inside the ``with`` block."""
    token = _passes.set([])
    try:
        yield _passes.get()
    finally:
        _passes.reset(token)


def record(kind: str, roots: Any) -> None:
    """Note one pass (nothing happens outside :func:`recording`).

    A ``"graph"`` pass started inside :func:`planned` is the lowering of a
    pass already noted with its plan, so it is not noted twice.
    """
    passes = _passes.get()
    if passes is None or (kind == "graph" and _planned.get()):
        return
    passes.append(Pass(kind, tuple(roots)))


@contextmanager
def planned() -> Iterator[None]:
    """The Dask computes inside run a pass already recorded with its plan."""
    token = _planned.set(True)
    try:
        yield
    finally:
        _planned.reset(token)
