"""The physical layer: block kernels and the Dask graphs that run them.

- block kernels, pure numpy/scipy functions of one row block, testable without
  Dask: :mod:`~dlinalg.physical.kernels`, :mod:`~dlinalg.physical.rowwise`
  (row-wise chains of small factors), :mod:`~dlinalg.physical.matvec` (the
  solvers' products), :mod:`~dlinalg.physical.moments`;
- :mod:`~dlinalg.physical.reduce`: those kernels mapped over the row blocks
  of Dask arrays and summed in a tree of fixed shape.

"Physical" means this package and nothing else. It imports numpy, scipy, dask
and the foundation (``errors``, ``_tokens``); it knows nothing of the plan or
the matrix. See ``docs/source/architecture.rst``.
"""
