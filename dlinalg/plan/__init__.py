"""The plan layer: what to compute, before any Dask graph exists.

- :mod:`~dlinalg.plan.nodes`: logical nodes, the expressions users write
  (``Transpose``, ``MatMul``, ``Elemwise``, ``ColStat``...);
- plan operators, the nodes the optimizer rewrites them into, each naming one
  way to run a pass: :mod:`~dlinalg.plan.operators` (``Gram``, ``AtB``,
  ``Ax``, ``Fused``, ``ColStats``...), :mod:`~dlinalg.plan.chain` (row-wise
  chains of small factors), :mod:`~dlinalg.plan.blockreduce` (a per-block
  kernel summed in the fixed tree) and :mod:`~dlinalg.plan.steps` (the solvers'
  products, described);
- :mod:`~dlinalg.plan.rewrite`: the rewrite table and the fusion of passes;
- :mod:`~dlinalg.plan.lower`: plan operators -> Dask collections, through the
  physical layer (:mod:`dlinalg.physical`).

The plan imports the physical layer and the foundation (``errors``,
``_tokens``); nothing above it. See ``docs/source/architecture.rst``.
"""
