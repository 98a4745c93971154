"""``dl.explain``: the passes a computation runs, as the optimizer planned them.

``A.explain()`` shows the plan of one lazy expression. A decomposition,
a solver or an estimator's ``fit`` runs several passes, each planned from
the results of the one before (Cholesky-QR2's second pass needs ``R_1``), so
their plans exist only while they run: :func:`explain` runs the call and
returns every pass's plan in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlinalg import _trace
from dlinalg.lazy import _tree

__all__ = ["explain", "Explanation"]

_KIND = {
    "plan": "compute",
    "persist": "persist",
    "step": "solver step",
    "graph": "Dask graph built outside the plan",
}


class Explanation:
    """What :func:`explain` returns: the call's result and the passes it ran.

    Attributes
    ----------
    result : object
        What the call returned.
    passes : list of (kind, roots)
        One entry per computation, in order: ``kind`` is ``"plan"`` (a
        compute of optimized plan roots), ``"persist"``, ``"step"`` (a
        solver's product, run by the executor) or ``"graph"`` (a Dask graph
        built outside the plan, described in one line).
    """

    def __init__(self, result: Any, passes: list[_trace.Pass]):
        self.result = result
        self.passes = list(passes)

    def __len__(self) -> int:
        return len(self.passes)

    def __str__(self) -> str:
        blocks = [_render(p) for p in self.passes]
        out, i = [], 0
        while i < len(blocks):
            j = i
            while j + 1 < len(blocks) and blocks[j + 1] == blocks[i]:
                j += 1
            kind = _KIND[self.passes[i].kind]
            head = f"pass {i + 1}" if i == j else f"passes {i + 1}-{j + 1} ({j - i + 1} x)"
            out.append(f"{head}: {kind}\n{blocks[i]}")
            i = j + 1
        return "\n".join(out) if out else "no pass"

    def __repr__(self) -> str:
        return f"<Explanation of {len(self.passes)} passes>"


def _render(p: _trace.Pass) -> str:
    if p.kind == "graph":
        return "\n".join(f"  {line}" for line in p.roots)
    seen: set[str] = set()
    trees = [_tree(root, seen=seen) for root in p.roots]
    return "\n".join("\n".join(f"  {line}" for line in t.splitlines()) for t in trees)


def explain(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Explanation:
    """Run ``func(*args, **kwargs)`` and return the plan of every pass it ran.

    Parameters
    ----------
    func : callable
        A decomposition (:func:`dlinalg.qr`, :func:`dlinalg.ssvd`...), a solver
        (:func:`dlinalg.lsqr`...), an estimator's ``fit`` or any function
        that computes with dlinalg.
    *args, **kwargs
        Passed to ``func``.

    Returns
    -------
    Explanation
        ``str()`` of it lists the passes in order, each as the optimized plan
        tree that ran (consecutive identical passes, such as a solver's
        iterations, shown once with their count); ``.result`` is what
        ``func`` returned.

    See Also
    --------
    DRM.explain : The plan of one lazy expression, without running it.

    Notes
    -----
    The passes are recorded as they start, so ``func`` runs in full (this is
    not a dry run). Lazy results it returns (a ``Q`` factor) are not passes
    until computed. A solver's products run through the executor that keeps
    its vectors on the workers; they show as ``MatvecStep`` nodes.

    Examples
    --------
    >>> import numpy as np, dlinalg as dl
    >>> A = dl.from_array(np.random.default_rng(0).standard_normal((100, 3)), chunks=40)
    >>> print(dl.explain(dl.qr, A, method="cholqr2"))
    pass 1: compute
      PassPart gram  [3 x 3 float64, local]
      └─ ChainPass (gram) of (3 -> 3: identity) in one pass
         └─ Leaf numpy (dense, 3 row blocks)  [100 x 3 float64]
    pass 2: compute
      PassPart gram  [3 x 3 float64, local]
      └─ ChainPass (gram) of (3 -> 3: triu) in one pass
         └─ Leaf numpy (dense, 3 row blocks)  [100 x 3 float64]
    >>> Q, R = dl.explain(dl.qr, A).result
    """
    with _trace.recording() as passes:
        result = func(*args, **kwargs)
    return Explanation(result, passes)
