"""BlockMap, Apply and BlockReduce with row offsets and local values, against numpy.

The plan operators the recommenders state their passes with: caller-supplied
block functions, the block's first row (row-keyed randomness must not depend
on the chunking), and values of local nodes read by every block.
"""

from __future__ import annotations

import functools
import operator

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from dlinalg.functions import compute_plan
from dlinalg.plan.blockmap import Apply, BlockMap
from dlinalg.plan.blockreduce import BlockReduce

M_ROWS, N_COLS = 230, 7

# (row chunks, column chunks): the chunking table of every numerical test
CHUNKINGS = [
    pytest.param((M_ROWS, N_COLS), id="one-chunk"),
    pytest.param((23, N_COLS), id="many-chunks"),
    pytest.param((60, N_COLS), id="uneven-last-chunk"),  # 60, 60, 60, 50
    pytest.param((50, 3), id="column-chunked"),  # a dask input, columns merged on input
]


def _data(sparse: bool, dtype) -> np.ndarray | sp.csr_array:
    if sparse:
        return sp.random(M_ROWS, N_COLS, density=0.3, random_state=1, format="csr", dtype=dtype)
    return np.random.default_rng(0).standard_normal((M_ROWS, N_COLS)).astype(dtype)


def _drm(X, chunks: tuple[int, int]) -> dl.DRM:
    rows, cols = chunks
    if cols < X.shape[1]:
        return dl.from_array(da.from_array(X, chunks=(rows, cols), asarray=not sp.issparse(X)))
    return dl.from_array(X, chunks=rows)


def _dense(x) -> np.ndarray:
    return x.toarray() if sp.issparse(x) else np.asarray(x)


# module-level block functions: the cluster's workers unpickle them
def centred_by_row(x, row0, means):
    """``(x - means) * (global row index + 1)``, dense float64."""
    rows = np.arange(row0, row0 + x.shape[0], dtype=np.float64) + 1
    return (_dense(x).astype(np.float64) - means) * rows[:, None]


def weighted_col_sums(x, row0, scale):
    rows = np.arange(row0, row0 + x.shape[0], dtype=np.float64)
    return scale * (rows @ _dense(x).astype(np.float64))


def add(*parts):
    return functools.reduce(np.add, parts)


def _truth(X) -> tuple[np.ndarray, np.ndarray]:
    Xd = _dense(X).astype(np.float64)
    rows = np.arange(M_ROWS, dtype=np.float64)
    return Xd, rows


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_map_with_offsets_and_a_local_value(scheduler, chunks, sparse, dtype):
    X = _data(sparse, dtype)
    A = _drm(X, chunks)
    means = A.col_means()._node
    node = BlockMap((A._node,), centred_by_row, N_COLS, np.float64, False, (means,), offsets=True)
    Y = A._like(node, col_labels=None)
    Xd, rows = _truth(X)
    want = (Xd - Xd.mean(axis=0)) * (rows + 1)[:, None]
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(Y.compute(), want, rtol=rtol, atol=rtol * np.abs(want).max())
    # and as an operand of the algebra: Y^T A in one AtB pass
    np.testing.assert_allclose(
        (Y.T @ A).compute(), want.T @ Xd, rtol=rtol * 10, atol=rtol * np.abs(want).max() * 100
    )


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_block_reduce_with_offsets_and_a_local_value(scheduler, chunks, sparse):
    X = _data(sparse, np.float64)
    A = _drm(X, chunks)
    scale = Apply(np.add, (A.col_sums()._node, 1.0))  # a local value computed in the same run
    node = BlockReduce((A._node,), weighted_col_sums, add, (scale,), offsets=True)
    (got,) = compute_plan([node])
    Xd, rows = _truth(X)
    np.testing.assert_allclose(got, (Xd.sum(axis=0) + 1.0) * (rows @ Xd), rtol=1e-12)


def _layers_and_value(nblocks: int):
    """The graph layers of a BlockMap feeding a BlockReduce over ``nblocks`` row blocks."""
    from dlinalg.plan.lower import lower_plan

    X = np.random.default_rng(2).standard_normal((nblocks * 3, 4))
    A = dl.from_array(X, chunks=3)
    means = Apply(np.divide, (A.col_sums()._node, float(X.shape[0])))
    stage = BlockMap((A._node,), centred_by_row, 4, np.float64, False, (means,), offsets=True)
    one = Apply(operator.add, (0.5, 0.5))
    node = BlockReduce((stage,), weighted_col_sums, add, (one,), offsets=True)
    _, (value,) = lower_plan([node])
    return len(value.__dask_graph__().layers), value, X


def test_the_graph_has_one_layer_per_stage_whatever_the_number_of_blocks():
    """Block calls and their tree are one layer each: a delayed call per block made the
    graph's layers grow with the blocks and its construction blocks x layers (2,000
    blocks of the recommender's downsampling took 38 s to lower, now 0.2 s)."""
    few, _, _ = _layers_and_value(4)
    many, value, X = _layers_and_value(300)
    assert many == few
    rows = np.arange(X.shape[0], dtype=np.float64)
    centred = (X - X.mean(axis=0)) * (rows + 1)[:, None]
    np.testing.assert_allclose(value.compute(scheduler="synchronous"), rows @ centred,
                               rtol=1e-10, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_apply_receives_a_matrix_as_its_one_block(scheduler, chunks):
    X = _data(False, np.float64)
    A = _drm(X, chunks)
    got = compute_plan([Apply(np.linalg.norm, ((A * 2.0)._node,)), Apply(operator.add, (3, 4))])
    np.testing.assert_allclose(got[0], np.linalg.norm(2.0 * X), rtol=1e-12)
    assert got[1] == 7


def test_the_result_does_not_depend_on_the_chunking():
    X = _data(True, np.float64)
    results = []
    for rows in (M_ROWS, 23, 60):
        A = dl.from_array(X, chunks=rows)
        node = BlockMap(
            (A._node,), centred_by_row, N_COLS, np.float64, False, (A.col_means()._node,), True
        )
        results.append(A._like(node, col_labels=None).compute())
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-13)


def test_nodes_are_keyed_by_their_functions_and_arguments():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    a = BlockMap((A._node,), centred_by_row, N_COLS, np.float64, False, (), True)
    same = BlockMap((A._node,), centred_by_row, N_COLS, np.float64, False, (), True)
    other = BlockMap((A._node,), centred_by_row, N_COLS, np.float64, False, (), False)
    assert a.token == same.token
    assert a.token != other.token
    assert Apply(np.add, (1, 2)).token != Apply(np.add, (2, 1)).token
    p = functools.partial(weighted_col_sums, scale=2.0)
    assert "BlockReduce weighted_col_sums" in BlockReduce((A._node,), p, add).describe()


def test_explain_draws_them():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    node = BlockMap(
        (A._node,), centred_by_row, N_COLS, np.float64, False, (A.col_means()._node,), True
    )
    Y = A._like(node, col_labels=None)
    text = (Y.T @ A).explain()
    assert "BlockMap centred_by_row, with row offsets" in text
    got = dl.explain(lambda: compute_plan([Apply(np.sum, ((Y.T @ A)._node,))]))
    assert [p.kind for p in got.passes] == ["plan"]
    assert "Apply sum" in str(got)


def test_errors_in_a_block_function_reach_the_caller():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    node = BlockMap((A._node,), np.linalg.cholesky, N_COLS, np.float64, False)  # not square
    with pytest.raises(np.linalg.LinAlgError):
        A._like(node).compute(scheduler="sync")
