"""Bad input is refused at the public boundary, before any graph or compute.

One table of ``(call, builtin, dlinalg class, message)`` rows: every public
entry point with each kind of bad argument. Each row checks that

* the error is the builtin users would catch (``ValueError`` for shapes, sizes
  and values, ``TypeError`` for dtypes and types, ``IndexError`` for positions),
* where dlinalg has a class for it, the error is that class, defined in
  :mod:`dlinalg.errors`,
* the message names the problem (``match=``: the offending value or both shapes),
* nothing was computed and no Dask graph was started (a raising scheduler, and
  ``dask.array.from_array``/``concatenate``/``from_delayed``/``dask.delayed``
  patched to fail).
"""

from __future__ import annotations

import re

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from dlinalg import errors
from dlinalg.errors import (
    ChunkError,
    DLinalgError,
    DTypeError,
    LabelError,
    ShapeError,
)

X = np.arange(160.0).reshape(40, 4)
A = dl.from_array(X, chunks=10, col_labels=["a", "b", "c", "d"])  # 40 x 4, labelled columns
B = dl.from_array(np.ones((40, 3)), chunks=10)  # 40 x 3, no labels
C = dl.from_array(np.ones((30, 2)), chunks=10)  # 30 x 2
S = dl.from_array(sp.random_array((40, 4), density=0.3, rng=0, format="csr"), chunks=10)
_dx = da.from_array(X, chunks=10)
UNKNOWN_ROWS = _dx[_dx[:, 0] > 50]  # nan row chunks
UNKNOWN_COLS = _dx[:, _dx[0] > 1]  # nan column chunk
UNKNOWN_VECTOR = _dx[:, 0][_dx[:, 0] > 50]  # 1-D, nan chunks
DASK_STR = da.from_array(np.array([["a", "b"]]))


def shapes(a, b):
    """A pattern matching a message that names both shapes, in order."""
    return f"{re.escape(str(a))}.*{re.escape(str(b))}"


# zeros/ones/eye do `chunks = chunks or default`: the falsy 0 and () are never checked,
# a graph is built with the default chunks, and the no-graph guard raises AssertionError.

# (call, builtin to catch, dlinalg class or None, pattern the message must match)
BAD_INPUT = [
    # --- from_array: dimensions and size
    pytest.param(lambda: dl.from_array(np.ones(5)), ValueError, ShapeError, "2-D.*1-D", id="1-D"),
    pytest.param(
        lambda: dl.from_array(np.ones((2, 2, 2))), ValueError, ShapeError, "3-D", id="3-D"
    ),
    pytest.param(lambda: dl.from_array(np.float64(1)), ValueError, ShapeError, "0-D", id="0-D"),
    pytest.param(
        lambda: dl.from_array(np.ones((0, 4))), ValueError, ShapeError, "zero-size", id="0-rows"
    ),
    pytest.param(
        lambda: dl.from_array(np.ones((4, 0))), ValueError, ShapeError, "zero-size", id="0-cols"
    ),
    pytest.param(
        lambda: dl.from_array(sp.csr_array((0, 3))),
        ValueError,
        ShapeError,
        r"zero-size.*\(0, 3\)",
        id="sparse-0-rows",
    ),
    pytest.param(
        lambda: dl.from_array(da.ones(5)), ValueError, ShapeError, "2-D.*1-D", id="dask-1-D"
    ),
    pytest.param(
        lambda: dl.from_array(da.ones((2, 2, 2))), ValueError, ShapeError, "3-D", id="dask-3-D"
    ),
    pytest.param(
        lambda: dl.from_array(da.ones((0, 3))), ValueError, ShapeError, "zero-size", id="dask-0"
    ),
    # --- from_array: dtypes
    pytest.param(
        lambda: dl.from_array(np.array([[1, "a"]], dtype=object)),
        TypeError,
        DTypeError,
        "dtype object",
        id="object",
    ),
    pytest.param(
        lambda: dl.from_array(np.array([["a", "b"]])), TypeError, DTypeError, "<U1", id="str"
    ),
    pytest.param(
        lambda: dl.from_array(np.ones((2, 2), complex)),
        TypeError,
        DTypeError,
        "complex128.*real numeric",
        id="complex",
    ),
    pytest.param(
        lambda: dl.from_array(np.zeros((2, 2), "M8[ns]")),
        TypeError,
        DTypeError,
        "datetime64",
        id="datetime",
    ),
    pytest.param(
        lambda: dl.from_array(sp.csr_array(np.ones((2, 2), complex))),
        TypeError,
        DTypeError,
        "complex128",
        id="sparse-complex",
    ),
    pytest.param(
        lambda: dl.from_array(DASK_STR),
        TypeError,
        DTypeError,
        "<U1",
        id="dask-str",
    ),
    pytest.param(
        lambda: dl.from_array(None), TypeError, None, "from_array takes.*NoneType", id="None"
    ),
    # --- from_array: chunks
    pytest.param(
        lambda: dl.from_array(X, chunks=-3), ValueError, ChunkError, "positive.*-3", id="chunks<0"
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=0), ValueError, ChunkError, "positive.*0", id="chunks=0"
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=2.5), ValueError, ChunkError, "2.5.*float", id="chunks=2.5"
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=True), ValueError, ChunkError, "True", id="chunks=True"
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=(20, 20.0)),
        ValueError,
        ChunkError,
        "integers.*20.0",
        id="chunks-float-entry",
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=(50, -10)),
        ValueError,
        ChunkError,
        "positive.*-10",
        id="chunks-negative-entry",
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=(20, 0, 20)),
        ValueError,
        ChunkError,
        "positive.*0",
        id="chunks-zero-entry",
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks=(10, 10)),
        ValueError,
        ChunkError,
        r"add up to 20.*nrow=40",
        id="chunks-sum",
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks={0: 10}), ValueError, ChunkError, "dict", id="chunks-dict"
    ),
    pytest.param(
        lambda: dl.from_array(X, chunks="auto"),
        ValueError,
        ChunkError,
        "chunks must be an int",
        id="chunks-str",
    ),
    pytest.param(
        lambda: dl.from_array(_dx, chunks=(10,)),
        ValueError,
        ChunkError,
        "add up to 10",
        id="dask-chunks-sum",
    ),
    # --- from_array: unknown chunk sizes (the remedy is named)
    pytest.param(
        lambda: dl.from_array(UNKNOWN_ROWS),
        ValueError,
        ChunkError,
        "unknown chunk sizes.*compute_chunk_sizes",
        id="dask-unknown-rows",
    ),
    pytest.param(
        lambda: dl.from_array(UNKNOWN_COLS),
        ValueError,
        ChunkError,
        "unknown chunk sizes.*compute_chunk_sizes",
        id="dask-unknown-cols",
    ),
    # --- from_array: labels
    pytest.param(
        lambda: dl.from_array(X, row_labels=range(39)),
        ValueError,
        LabelError,
        "39 row labels for 40 rows",
        id="row-labels-length",
    ),
    pytest.param(
        lambda: dl.from_array(X, col_labels=["a", "b"]),
        ValueError,
        LabelError,
        "2 col labels for 4 cols",
        id="col-labels-length",
    ),
    pytest.param(
        lambda: dl.from_array(X, col_labels=["a", "b", "a", "c"]),
        ValueError,
        LabelError,
        "unique",
        id="duplicate-labels",
    ),
    pytest.param(
        lambda: dl.from_array(X, col_labels="abcd"),
        ValueError,
        LabelError,
        "1-D sequence.*'abcd'",
        id="labels-str",
    ),
    pytest.param(
        lambda: dl.from_array(X, col_labels=[["a", "b"], ["c", "d"]]),
        ValueError,
        LabelError,
        "1-D sequence",
        id="labels-2-D",
    ),
    # --- products: both shapes named
    pytest.param(lambda: A @ B, ValueError, ShapeError, shapes((40, 4), (40, 3)), id="A@B-shapes"),
    pytest.param(
        lambda: A @ np.ones(3), ValueError, ShapeError, shapes((40, 4), (3,)), id="A@x-shapes"
    ),
    pytest.param(
        lambda: np.ones(5) @ A, ValueError, ShapeError, shapes((5,), (40, 4)), id="x@A-shapes"
    ),
    pytest.param(
        lambda: np.ones((2, 5)) @ A,
        ValueError,
        ShapeError,
        shapes((2, 5), (40, 4)),
        id="X@A-shapes",
    ),
    pytest.param(
        lambda: A.T @ np.ones(39),
        ValueError,
        ShapeError,
        shapes((4, 40), (39,)),
        id="A'x-shapes",
    ),
    pytest.param(
        lambda: A.T @ C, ValueError, ShapeError, shapes((4, 40), (30, 2)), id="A'B-shapes"
    ),
    pytest.param(lambda: A @ 2.0, ValueError, ShapeError, "scalar.*use \\*", id="A@scalar"),
    pytest.param(
        lambda: A @ np.ones((4, 2, 2)), ValueError, ShapeError, r"\(4, 2, 2\)", id="A@3-D"
    ),
    pytest.param(
        lambda: A @ np.ones(4, dtype=object), TypeError, DTypeError, "object", id="A@object"
    ),
    pytest.param(
        lambda: A @ UNKNOWN_VECTOR,
        ValueError,
        ChunkError,
        "unknown chunk sizes.*compute_chunk_sizes",
        id="A@dask-unknown",
    ),
    pytest.param(
        lambda: dl.crossprod(A, C),
        ValueError,
        ShapeError,
        "crossprod.*rows.*" + shapes((40, 4), (30, 2)),
        id="crossprod-rows",
    ),
    pytest.param(
        lambda: dl.tcrossprod(A, B),
        ValueError,
        ShapeError,
        "tcrossprod.*columns.*" + shapes((40, 4), (40, 3)),
        id="tcrossprod-cols",
    ),
    # --- elementwise
    pytest.param(
        lambda: A + B, ValueError, ShapeError, "add.*" + shapes((40, 4), (40, 3)), id="A+B"
    ),
    pytest.param(
        lambda: A * np.ones(40), ValueError, ShapeError, shapes((40, 4), (40,)), id="A*vector"
    ),
    pytest.param(
        lambda: A - np.ones((3, 4)), ValueError, ShapeError, shapes((40, 4), (3, 4)), id="A-X"
    ),
    pytest.param(
        lambda: A + UNKNOWN_ROWS,
        ValueError,
        ChunkError,
        "compute_chunk_sizes",
        id="A+dask-unknown",
    ),
    pytest.param(lambda: A * 1j, TypeError, DTypeError, "complex", id="A*complex"),
    pytest.param(
        lambda: A + np.ones(4, complex), TypeError, DTypeError, "complex128", id="A+complex-array"
    ),
    pytest.param(lambda: A + "s", TypeError, None, "unsupported.*str", id="A+str"),
    # --- cbind / rbind
    pytest.param(
        lambda: dl.cbind(A, C),
        ValueError,
        ShapeError,
        "cbind.*rows.*" + shapes((40, 4), (30, 2)),
        id="cbind-nrow",
    ),
    pytest.param(
        lambda: dl.rbind(A, C),
        ValueError,
        ShapeError,
        "rbind.*columns.*" + shapes((40, 4), (30, 2)),
        id="rbind-ncol",
    ),
    pytest.param(lambda: dl.rbind(A, 1.0), TypeError, None, "rbind takes matrices", id="rbind-1"),
    pytest.param(lambda: dl.cbind(A, 1j), TypeError, DTypeError, "complex", id="cbind-complex"),
    pytest.param(lambda: dl.cbind(), ValueError, None, "at least one matrix", id="cbind-empty"),
    pytest.param(lambda: dl.cbind(1.0), ValueError, None, "only scalars", id="cbind-scalar"),
    pytest.param(
        lambda: dl.cbind(A, A.col_means()), TypeError, None, "lazy vector", id="cbind-lazy"
    ),
    # --- slicing
    pytest.param(lambda: A[40], IndexError, None, "40 is out of bounds for 40 rows", id="row-oob"),
    pytest.param(lambda: A[-41], IndexError, None, "-41 is out of bounds", id="row-oob-negative"),
    pytest.param(lambda: A[:, 4], IndexError, None, "4 is out of bounds for 4 cols", id="col-oob"),
    pytest.param(lambda: A[[0, 40]], IndexError, None, "40 is out of bounds", id="list-oob"),
    pytest.param(lambda: A[1, 2, 3], IndexError, None, "3 indices", id="three-indices"),
    pytest.param(lambda: A[::-1], ValueError, None, "step must be positive", id="negative-step"),
    pytest.param(lambda: A[0.5:2], TypeError, None, "integers.*0.5", id="float-slice"),
    pytest.param(
        lambda: A[np.ones(3, bool)], ValueError, ShapeError, "length 3, expected 40", id="mask"
    ),
    pytest.param(lambda: A[np.zeros((2, 2), int)], ValueError, ShapeError, "1-D", id="2-D-index"),
    pytest.param(
        lambda: A[:, "zz"], ValueError, LabelError, "label 'zz' not found", id="unknown-label"
    ),
    pytest.param(
        lambda: A[:, ["a", "zz"]],
        ValueError,
        LabelError,
        "label 'zz' not found",
        id="unknown-label-list",
    ),
    pytest.param(lambda: B[:, ["a"]], ValueError, LabelError, "no col labels", id="no-labels"),
    pytest.param(
        lambda: A[1.5],
        IndexError,
        None,
        "1.5",
        id="float-index",
    ),
    # --- map_blocks, statistics, rechunk, compute
    pytest.param(
        lambda: A.map_blocks(np.abs, ncol=0), ValueError, None, "ncol.*got 0", id="ncol=0"
    ),
    pytest.param(
        lambda: A.map_blocks(np.abs, ncol=-2), ValueError, None, "ncol.*got -2", id="ncol<0"
    ),
    pytest.param(
        lambda: A.map_blocks(np.abs, ncol=2.5), ValueError, None, "ncol.*got 2.5", id="ncol=2.5"
    ),
    pytest.param(
        lambda: A.map_blocks(np.abs, ncol=True), ValueError, None, "ncol.*True", id="ncol=True"
    ),
    pytest.param(
        lambda: A.map_blocks(3), TypeError, None, "callable.*int", id="func-not-callable"
    ),
    pytest.param(
        lambda: A.map_blocks(np.abs, dtype=object),
        TypeError,
        DTypeError,
        "object",
        id="map_blocks-dtype",
    ),
    pytest.param(lambda: A.col_vars(ddof=-1), ValueError, None, "ddof.*-1", id="ddof<0"),
    pytest.param(lambda: A.col_vars(ddof=1.5), ValueError, None, "ddof.*1.5", id="ddof=1.5"),
    pytest.param(lambda: A.col_vars(ddof="1"), ValueError, None, "ddof.*'1'", id="ddof-str"),
    pytest.param(lambda: A.rechunk(0), ValueError, ChunkError, "positive", id="rechunk-0"),
    pytest.param(lambda: A.rechunk((10, 10)), ValueError, ChunkError, "nrow=40", id="rechunk-sum"),
    pytest.param(lambda: dl.compute(X), TypeError, None, "argument 0", id="compute-numpy"),
    pytest.param(lambda: dl.compute(A, 3), TypeError, None, "argument 1 is 3", id="compute-int"),
    pytest.param(lambda: dl.compute(_dx), TypeError, None, "DRM or LazyResult", id="compute-dask"),
    pytest.param(
        lambda: A.compute(progress="yes"), TypeError, DTypeError, "progress", id="progress"
    ),
    # --- random
    pytest.param(
        lambda: dl.random((10,)), ValueError, ShapeError, r"2-tuple.*\(10,\)", id="random-1-D"
    ),
    pytest.param(
        lambda: dl.random((10, 0)), ValueError, ShapeError, "positive", id="random-0-cols"
    ),
    pytest.param(
        lambda: dl.random((-1, 2)), ValueError, ShapeError, "positive.*-1", id="random-negative"
    ),
    pytest.param(
        lambda: dl.random((10.0, 2)), ValueError, ShapeError, "integers.*10.0", id="random-float"
    ),
    pytest.param(lambda: dl.random("10x2"), ValueError, ShapeError, "2-tuple", id="random-str"),
    pytest.param(lambda: dl.random((10, 2), seed=-1), ValueError, None, "seed.*-1", id="seed<0"),
    pytest.param(lambda: dl.random((10, 2), seed=1.5), ValueError, None, "seed.*1.5", id="seed"),
    pytest.param(lambda: dl.random((10, 2), seed="1"), ValueError, None, "seed", id="seed-str"),
    pytest.param(
        lambda: dl.random((10, 2), density=0), ValueError, None, "density.*0", id="density=0"
    ),
    pytest.param(
        lambda: dl.random((10, 2), density=1.5), ValueError, None, "density.*1.5", id="density>1"
    ),
    pytest.param(
        lambda: dl.random((10, 2), density="x"),
        TypeError,
        None,
        "density",
        id="density-str",
    ),
    pytest.param(
        lambda: dl.random((10, 2), chunks=0),
        ValueError,
        ChunkError,
        "positive",
        id="random-chunks",
    ),
    pytest.param(
        lambda: dl.random((10, 2), dtype=complex),
        TypeError,
        DTypeError,
        "complex",
        id="random-dtype",
    ),
    # --- zeros / ones / eye
    pytest.param(lambda: dl.zeros((3,)), ValueError, ShapeError, "2-tuple", id="zeros-1-D"),
    pytest.param(lambda: dl.ones((0, 2)), ValueError, ShapeError, "positive", id="ones-0-rows"),
    pytest.param(lambda: dl.eye(0), ValueError, ShapeError, "positive", id="eye-0"),
    pytest.param(lambda: dl.eye(2.5), ValueError, ShapeError, "2.5", id="eye-float"),
    pytest.param(lambda: dl.eye(3, -1), ValueError, ShapeError, "-1", id="eye-m<0"),
    pytest.param(
        lambda: dl.zeros((3, 2), dtype=object), TypeError, DTypeError, "object", id="zeros-dtype"
    ),
    pytest.param(
        lambda: dl.ones((3, 2), chunks=-1), ValueError, ChunkError, "positive", id="ones-chunks<0"
    ),
    pytest.param(
        lambda: dl.zeros((10, 2), chunks=0),
        ValueError,
        ChunkError,
        "positive",
        id="zeros-chunks=0",
    ),
    pytest.param(
        lambda: dl.ones((10, 2), chunks=()),
        ValueError,
        ChunkError,
        "add up to 0",
        id="ones-chunks=()",
    ),
    pytest.param(
        lambda: dl.eye(10, chunks=0),
        ValueError,
        ChunkError,
        "positive",
        id="eye-chunks=0",
    ),
]


@pytest.mark.parametrize(("call", "builtin", "cls", "match"), BAD_INPUT)
def test_bad_input_is_refused_before_any_graph(call, builtin, cls, match, no_graph_no_compute):
    with pytest.raises(builtin, match=match) as info:
        call()
    err = info.value
    if cls is not None:
        assert isinstance(err, cls)
        assert isinstance(err, DLinalgError)
        assert type(err).__module__ == "dlinalg.errors"
        assert getattr(errors, type(err).__name__) is type(err)
        assert type(err).__name__ in errors.__all__


def _bare_builtin_rows():
    return [p for p in BAD_INPUT if p.values[2] is None and not p.marks]


def test_every_validation_error_is_a_dlinalg_error():
    bare = []
    for row in _bare_builtin_rows():
        call, builtin, _, _ = row.values
        with pytest.raises(builtin) as info:
            call()
        if not isinstance(info.value, DLinalgError):
            bare.append(f"{row.id}: {type(info.value).__name__}")
    assert not bare, "bare builtin errors: " + ", ".join(bare)


def test_error_classes_subclass_builtins():
    """zarr's pattern: catch either the dlinalg class or the builtin."""
    assert issubclass(ShapeError, ValueError)
    assert issubclass(ChunkError, ValueError)
    assert issubclass(LabelError, ValueError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(errors.StoreNotFoundError, FileNotFoundError)
    assert issubclass(errors.IncompleteStoreError, ValueError)
    assert issubclass(errors.UnsafeStoreError, TypeError)
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, DLinalgError)
            assert obj.__module__ == "dlinalg.errors"
            builtin_bases = [b for b in obj.__mro__ if b.__module__ == "builtins"]
            assert obj is DLinalgError or set(builtin_bases) > {Exception, BaseException, object}


def test_unknown_label_is_a_value_error():
    """LabelError is a ValueError here (pandas raises KeyError for a missing label)."""
    with pytest.raises(LabelError) as info:
        A[:, "zz"]
    assert isinstance(info.value, ValueError)


def test_empty_selection_is_refused_like_empty_input():
    """``A[[]]`` is an empty position list (not a label lookup), refused like ``A[0:0]``."""
    for empty in (lambda: A[[]], lambda: A[0:0], lambda: A[100:200], lambda: A[:, []]):
        with pytest.raises(ShapeError, match="is empty"):
            empty()


def test_operand_errors_leave_the_matrix_usable():
    """A refused operation does not corrupt the operands."""
    for bad in (lambda: A @ B, lambda: A + B, lambda: A[:, "zz"]):
        with pytest.raises(ValueError, match=r"shape|zz"):
            bad()
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(A.col_sums().compute(), X.sum(axis=0))
        assert S.is_sparse
