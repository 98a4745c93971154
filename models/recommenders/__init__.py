"""Recommenders: interactions, item similarity, ALS, their metrics and data.

:class:`Interactions` reads user/item logs; :class:`ItemSimilarity` and
:class:`RowSimilarity` score co-occurrences with the log-likelihood ratio
(Mahout's correlated cross-occurrence, :func:`log_likelihood_ratio`),
:class:`CosineSimilarity` with exact cosines, :class:`ALS` factors the
matrix. The public modules :mod:`.metrics` (ranking metrics and the split),
:mod:`.evaluation` (the same metrics called as ``implicit.evaluation``'s),
:mod:`.datasets` (synthetic interaction logs) and :mod:`.cli` (the
``dlinalg`` command line) sit beside the private ones.
"""

from __future__ import annotations

from typing import Any

from dlinalg._deferred_imports import deferred_attribute

#: Imported on first use (PEP 562): a worker that runs one kernel of this
#: package (e.g. ``_panel_counts``) imports this ``__init__`` on the way, and
#: does not load scikit-learn and every estimator with it.
_DEFERRED: dict[str, str | None] = {
    "log_likelihood_ratio": f"{__name__}._llr",
    "Interactions": f"{__name__}._interactions",
    "ItemSimilarity": f"{__name__}._similarity",
    "RowSimilarity": f"{__name__}._similarity",
    "CosineSimilarity": f"{__name__}._cosine",
    "ALS": f"{__name__}._als",
    "metrics": None,
    "evaluation": None,
    "datasets": None,
}

__all__ = [
    "log_likelihood_ratio",
    "Interactions",
    "ItemSimilarity",
    "RowSimilarity",
    "CosineSimilarity",
    "ALS",
    "metrics",
    "evaluation",
    "datasets",
]


def __getattr__(name: str) -> Any:
    return deferred_attribute(__name__, name, _DEFERRED)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
