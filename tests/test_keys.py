"""A task key names exactly one value, in every path that submits it.

Regression tests for the two collisions of issue 12 (an in-core operand
aligned to two chunkings under one key; a fused layer persisted by one graph
and submitted unfused by the next), and a check that the conftest's detector
of "Detected different `run_spec`" records really sees such a conflict.
"""

from __future__ import annotations

import time

import dask
import dask.array as da
import numpy as np
import pytest

import dlinalg as dl

RNG = np.random.default_rng(12)
X = RNG.standard_normal((40, 4))
Y = RNG.standard_normal((40, 4))

# (chunks of P, chunks of Q): the same numpy X cut two ways, Y aligned to both
CHUNKINGS = [
    ((20, 10, 10), (10, 10, 20)),  # the case: same count, other boundaries
    ((40,), (10, 30)),  # one block against two
    ((13, 13, 14), (13, 27)),  # uneven, sharing the first boundary only
]


@pytest.mark.parametrize(("p_chunks", "q_chunks"), CHUNKINGS)
def test_incore_operand_aligned_two_ways_sync(p_chunks, q_chunks):
    P = dl.from_array(X, chunks=p_chunks)
    Q = dl.from_array(X, chunks=q_chunks)
    with dask.config.set(scheduler="synchronous"):
        q_rows, p_all = dl.compute((Q + Y)[10:20], P + Y)
    np.testing.assert_array_equal(q_rows, (X + Y)[10:20])
    np.testing.assert_array_equal(p_all, X + Y)


@pytest.mark.parametrize(("p_chunks", "q_chunks"), CHUNKINGS)
def test_incore_operand_aligned_two_ways_cluster(client, p_chunks, q_chunks):
    P = dl.from_array(X, chunks=p_chunks)
    Q = dl.from_array(X, chunks=q_chunks)
    with client.as_current():
        kept = (P + Y).persist()
        np.testing.assert_array_equal((Q + Y)[10:20].compute(), (X + Y)[10:20])
        np.testing.assert_array_equal(kept.compute(), X + Y)
        np.testing.assert_allclose(((Q + Y).T @ kept).compute(), (X + Y).T @ (X + Y))


def _dense(value):
    return value.toarray() if hasattr(value, "toarray") else np.asarray(value)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_persisted_fused_layer_reused_by_reductions(client, sparse):
    """persist, then Gram/column stats/products over the same fused keys."""
    import scipy.sparse as sp

    source = sp.csr_array(np.where(X > 0.5, X, 0.0)) if sparse else X
    dense = source.toarray() if sparse else source
    A = dl.from_array(source, chunks=(15, 15, 10))
    with client.as_current():
        B = (A * 2.0).persist()
        G, means = dl.compute(B.T @ B, B.col_means())
        np.testing.assert_allclose(_dense(G), 4 * dense.T @ dense)
        np.testing.assert_allclose(means, 2 * dense.mean(0))
        np.testing.assert_allclose(((A * 2.0) @ np.ones(4)).compute(), 2 * dense.sum(1))
        C = ((A * 2.0) + 1.0).persist()
        np.testing.assert_allclose(
            _dense((C.T @ C).compute()), (2 * dense + 1).T @ (2 * dense + 1)
        )


def test_keys_are_the_same_in_every_path():
    """The keys a persist leaves are the ones every later graph asks for."""
    A = dl.from_array(X, chunks=(20, 20))
    expr = (A - A.col_means()) * 3.0
    assert expr.to_dask().name == expr.to_dask().name
    with dask.config.set(scheduler="synchronous"):
        kept = expr.persist()
    assert kept.to_dask().name == expr.to_dask().name


def test_detector_sees_a_run_spec_conflict(client, run_spec_conflicts):
    """Plain dask reproduces the old defect; the conftest handler records it."""
    x = da.from_array(np.arange(8.0), chunks=4) + 1  # fused into one task on persist
    run_spec_conflicts.expected = (x.name,)
    kept = client.persist(x)  # optimized: the add layer's key, a fused task
    blocks = x.to_delayed(optimize_graph=False).ravel()  # same key, unfused task
    assert client.compute(list(blocks), sync=True)[0].tolist() == [1, 2, 3, 4]
    del kept
    deadline = time.monotonic() + 10  # the scheduler logs from its own thread
    while not run_spec_conflicts.seen_on_purpose and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(x.name in message for message in run_spec_conflicts.seen_on_purpose)
