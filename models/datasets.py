"""Interaction and matrix generators: ``dlinalg.models.datasets`` kept as a module path.

The implementation is :mod:`dlinalg.models.recommenders.datasets`; this module
re-exports it so ``from dlinalg.models.datasets import demo_interactions``
works, as ``sklearn.datasets`` does.
"""

from dlinalg.models.recommenders.datasets import (
    benchmark_matrix,
    demo_interactions,
    make_interactions,
)

__all__ = ["make_interactions", "demo_interactions", "benchmark_matrix"]
