"""The pure block kernels, without a Dask scheduler.

Each kernel takes numpy or ``scipy.sparse.csr_array`` blocks and returns a block
or a partial result, so it is checked here against numpy directly: products,
binding, row statistics, the mergeable column statistics (including Chan's
variance update over blocks of different sizes merged in different orders),
fused elementwise programs and the rules deciding when sparse stays sparse.
The last part checks the shape of the reduction tree and the Gram panels,
which are pure functions of their arguments.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter

import dask
import numpy as np
import pytest
import scipy.sparse as sp
from dask.base import tokenize
from dask.utils import key_split

from dlinalg.physical import kernels as K
from dlinalg.physical import reduce as R
from dlinalg.plan.nodes import InCore, Scalar

DTYPES = [np.float32, np.float64]
KINDS = ["dense", "csr"]


def tol(dtype):
    """rtol for results accumulated in ``dtype`` (float32 has ~7 significant digits)."""
    return 1e-4 if np.dtype(dtype) == np.float32 else 1e-12


def block(shape, dtype, kind, seed=0, offset=0.0):
    """A block and its dense numpy value; CSR blocks are ~30% full."""
    rng = np.random.default_rng(seed)
    if kind == "csr":
        x = sp.random_array(shape, density=0.3, rng=rng, format="csr", dtype=dtype)
        x.data = (x.data - 0.5).astype(dtype)
        return x, x.toarray()
    x = (rng.standard_normal(shape) + offset).astype(dtype)
    return x, x


def dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def assert_close(got, want, dtype):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(dense(got), want, rtol=tol(dtype), atol=tol(dtype) * scale)


# ------------------------------------------------------------------ products


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_block(dtype, kind):
    x, d = block((30, 6), dtype, kind)
    g = K.gram_block(x)
    assert sp.issparse(g) == (kind == "csr")
    assert g.dtype == dtype
    assert_close(g, d.T @ d, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_panel_blocks_tile_the_gram(dtype, kind):
    x, d = block((30, 7), dtype, kind)
    panels = [K.gram_panel_block(x, a, b) for a, b in [(0, 3), (3, 6), (6, 7)]]
    assert [p.shape for p in panels] == [(7, 3), (7, 3), (7, 1)]
    assert all(sp.issparse(p) == (kind == "csr") for p in panels)
    assert_close(np.hstack([dense(p) for p in panels]), d.T @ d, dtype)


@pytest.mark.parametrize("kind_y", KINDS)
@pytest.mark.parametrize("kind_x", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_atb_block(dtype, kind_x, kind_y):
    x, dx = block((25, 4), dtype, kind_x, seed=1)
    y, dy = block((25, 3), dtype, kind_y, seed=2)
    out = K.atb_block(x, y)
    # sparse only when both sides are sparse; dense otherwise
    assert sp.issparse(out) == (kind_x == kind_y == "csr")
    assert_close(out, dx.T @ dy, dtype)
    v = np.linspace(-1, 1, 25).astype(dtype)
    out = K.atb_block(x, v)
    assert isinstance(out, np.ndarray)
    assert out.shape == (4,)
    assert_close(out, dx.T @ v, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ax_block(dtype, kind):
    x, d = block((25, 4), dtype, kind)
    v = np.linspace(-1, 1, 4).astype(dtype)
    M = np.arange(8, dtype=dtype).reshape(4, 2)
    for rhs in (v, M):
        out = K.ax_block(x, rhs)
        assert isinstance(out, np.ndarray)
        assert out.shape == (25, *rhs.shape[1:])
        assert_close(out, d @ rhs, dtype)


@pytest.mark.parametrize("kind_b", KINDS)
@pytest.mark.parametrize("kind_x", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_abt_block(dtype, kind_x, kind_b):
    x, dx = block((25, 4), dtype, kind_x, seed=1)
    b, db = block((9, 4), dtype, kind_b, seed=2)
    out = K.abt_block(x, b)
    assert sp.issparse(out) == (kind_x == kind_b == "csr")
    assert out.shape == (25, 9)
    assert_close(out, dx @ db.T, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cbind_block(dtype, kind):
    x, dx = block((6, 3), dtype, kind, seed=1)
    y, dy = block((6, 2), dtype, kind, seed=2)
    sparse = kind == "csr"
    out = K.cbind_block(x, 1.0, y, dtype=dtype, sparse=sparse)
    assert sp.issparse(out) == sparse
    assert out.dtype == dtype
    np.testing.assert_array_equal(dense(out), np.hstack([dx, np.ones((6, 1), dtype), dy]))
    # a sparse block beside a dense one gives a dense result when asked for one
    out = K.cbind_block(x, np.ones((6, 1), dtype), dtype=dtype, sparse=False)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, np.hstack([dx, np.ones((6, 1), dtype)]))


@pytest.mark.parametrize("stat", ["sum", "mean"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_stat_block(dtype, kind, stat):
    x, d = block((12, 5), dtype, kind)
    out = K.row_stat_block(x, stat)
    assert isinstance(out, np.ndarray)
    assert out.shape == (12,)
    assert_close(out, getattr(d, stat)(axis=1), dtype)


def test_sum_parts_sums_left_to_right_and_keeps_csr():
    parts = [np.full(3, v) for v in (1e16, 1.0, -1e16)]
    # (1e16 + 1) - 1e16 == 0 in float64: the order is part of the contract
    np.testing.assert_array_equal(K.sum_parts(*parts), np.zeros(3))
    csr = [sp.csr_array(np.eye(3) * i) for i in range(1, 4)]
    total = K.sum_parts(*csr)
    assert isinstance(total, sp.csr_array)
    np.testing.assert_array_equal(total.toarray(), np.eye(3) * 6)


# -------------------------------------------------------- column statistics

# Row-block sizes merged in one table: a 1-row block, uneven sizes, one block.
SPLITS = [
    pytest.param((40,), id="one-block"),
    pytest.param((1, 39), id="1-row-block"),
    pytest.param((7, 13, 20), id="uneven"),
    pytest.param((3, 3, 3, 31), id="small-then-large"),
]

# How the partial results are merged: all at once, a left fold, a right fold, a tree.
MERGES = {
    "flat": lambda ps: K.stats_combine(*ps),
    "left-fold": lambda ps: functools.reduce(K.stats_combine, ps),
    "right-fold": lambda ps: functools.reduce(lambda a, b: K.stats_combine(b, a), ps[::-1]),
    "pairs": lambda ps: (
        ps[0]
        if len(ps) == 1
        else K.stats_combine(
            MERGES["pairs"](ps[: len(ps) // 2]), MERGES["pairs"](ps[len(ps) // 2 :])
        )
    ),
}

NEEDS = ("sum", "m2", "sumsq", "nnz", "gram")


def _split(x, sizes):
    edges = np.cumsum((0, *sizes))
    return [x[a:b] for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("merge", list(MERGES))
@pytest.mark.parametrize("sizes", SPLITS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_stats_merge_matches_numpy(dtype, kind, sizes, merge):
    # dense data sits far from 0 so a naive sum-of-squares variance would lose digits
    x, d = block((40, 5), dtype, kind, offset=0.0 if kind == "csr" else 1e3)
    parts = [K.stats_block(b, NEEDS) for b in _split(x, sizes)]
    merged = MERGES[merge](parts)
    assert merged["n"] == 40
    truth = d.astype(np.float64)  # the kernels accumulate in float64
    rtol = tol(dtype)
    fin = functools.partial(K.finalize_stat, merged, dtype=dtype)
    np.testing.assert_allclose(fin("sum"), d.sum(axis=0), rtol=rtol)
    np.testing.assert_allclose(fin("mean"), truth.mean(axis=0), rtol=rtol)
    for ddof in (0, 1):
        # the variance is checked relative to itself, not to the (large) mean
        np.testing.assert_allclose(fin("var", ddof=ddof), truth.var(axis=0, ddof=ddof), rtol=rtol)
    np.testing.assert_allclose(fin("sumsq"), (truth**2).sum(axis=0), rtol=rtol)
    np.testing.assert_allclose(fin("norm"), np.linalg.norm(truth), rtol=rtol)
    np.testing.assert_array_equal(fin("nnz"), np.count_nonzero(d, axis=0))
    assert_close(fin("gram"), d.T @ d, dtype)
    # the result dtypes are the ones numpy gives for a `dtype` matrix
    assert fin("mean").dtype == d.mean(axis=0).dtype
    assert fin("var").dtype == d.var(axis=0).dtype
    assert fin("sum").dtype == d.sum(axis=0).dtype
    assert fin("norm").dtype == np.dtype(dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_chan_update_is_exact_for_two_blocks(kind):
    """Chan-Golub-LeVeque: M2 = M2_a + M2_b + delta^2 n_a n_b / n, checked by hand."""
    x, d = block((10, 3), np.float64, kind)
    a, b = d[:3], d[3:]
    merged = K.stats_combine(*(K.stats_block(p, ("sum", "m2")) for p in _split(x, (3, 7))))
    delta = b.mean(axis=0) - a.mean(axis=0)
    m2 = ((a - a.mean(0)) ** 2).sum(0) + ((b - b.mean(0)) ** 2).sum(0) + delta**2 * 3 * 7 / 10
    np.testing.assert_allclose(merged["m2"], m2, rtol=1e-12)
    np.testing.assert_allclose(merged["m2"], ((d - d.mean(0)) ** 2).sum(0), rtol=1e-12)


def test_stats_block_accumulates_integers_exactly():
    x = np.full((3, 2), np.iinfo(np.int32).max, dtype=np.int32)
    part = K.stats_block(x, ("sum",))
    assert part["sum"].dtype == np.int64
    total = K.finalize_stat(part, "sum", np.int32)
    np.testing.assert_array_equal(total, x.sum(axis=0))
    assert total.dtype == x.sum(axis=0).dtype


def test_nnz_ignores_explicitly_stored_zeros():
    x = sp.csr_array((np.array([0.0, 2.0, 0.0]), np.array([0, 1, 1]), np.array([0, 2, 3])))
    assert x.nnz == 3  # three stored entries, two of them zero
    part = K.stats_block(x, ("nnz",))
    np.testing.assert_array_equal(part["nnz"], np.count_nonzero(x.toarray(), axis=0))


def test_var_with_ddof_at_least_n_is_nan():
    part = K.stats_block(np.ones((2, 3)), ("sum", "m2"))
    assert np.isnan(K.finalize_stat(part, "var", np.float64, ddof=2)).all()


def test_unknown_statistic_is_refused():
    part = K.stats_block(np.ones((2, 3)), ("sum",))
    with pytest.raises(ValueError, match="unknown statistic 'median'"):
        K.finalize_stat(part, "median", np.float64)


# ------------------------------------------------------------ fused programs

# (X0 * 2 + X1) - abs(X0) / 4, then its exponential: a chain as fuse_elemwise builds it
PROGRAM = ("sub", ("add", ("mul", ("in", 0), ("const", 2)), ("in", 1)), ("truediv", ("abs", ("in", 0)), ("const", 4)))  # fmt: skip


def _program_numpy(x0, x1):
    return (x0 * 2 + x1) - np.abs(x0) / 4


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_block_keeps_sparse_when_asked(dtype, kind):
    x0, d0 = block((8, 3), dtype, kind, seed=1)
    x1, d1 = block((8, 3), dtype, kind, seed=2)
    sparse = kind == "csr"
    out = K.FusedBlock(PROGRAM, dtype, sparse)(x0, x1)
    assert sp.issparse(out) == sparse
    assert out.dtype == dtype
    assert_close(out, _program_numpy(d0, d1), dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_block_densifies_exp_and_log(dtype, kind):
    x, d = block((8, 3), dtype, kind)
    program = ("add", ("exp", ("in", 0)), ("log", ("add", ("abs", ("in", 0)), ("const", 1))))
    out = K.FusedBlock(program, dtype, False)(x)
    assert isinstance(out, np.ndarray)
    assert out.dtype == dtype
    assert_close(out, np.exp(d) + np.log(np.abs(d) + 1), dtype)


def test_fused_block_is_tokenized_by_its_program():
    a = K.FusedBlock(PROGRAM, np.float64, False)
    assert tokenize(a) == tokenize(K.FusedBlock(PROGRAM, "float64", False))
    assert tokenize(a) != tokenize(K.FusedBlock(PROGRAM, np.float32, False))
    assert tokenize(a) != tokenize(K.FusedBlock(("neg", ("in", 0)), np.float64, False))
    assert repr(a) == f"FusedBlock({K.program_to_str(PROGRAM)})"


def test_program_to_str():
    assert K.program_to_str(PROGRAM) == "(((X0 * 2) + X1) - (abs(X0) / 4))"
    assert K.program_to_str(("neg", ("exp", ("in", 2)))) == "-exp(X2)"


def test_apply_elemwise_refuses_unknown_ops():
    with pytest.raises(ValueError, match="unknown elementwise op 'mod'"):
        K.apply_elemwise("mod", np.ones(2), np.ones(2))


# ------------------------------------------------------------- sparse rules

SPARSE = InCore(sp.csr_array(np.eye(3)))
SPARSE2 = InCore(sp.csr_array(np.eye(3) * 2))
DENSE = InCore(np.eye(3))

# (op, operands, stays sparse) — sparse survives exactly when the op maps 0 to 0
KEEPS_SPARSE = [
    pytest.param("neg", (SPARSE,), True, id="-S"),
    pytest.param("abs", (SPARSE,), True, id="abs(S)"),
    pytest.param("sqrt", (SPARSE,), True, id="sqrt(S)"),
    pytest.param("exp", (SPARSE,), False, id="exp(S)"),  # exp(0) = 1
    pytest.param("log", (SPARSE,), False, id="log(S)"),  # log(0) = -inf
    pytest.param("mul", (SPARSE, Scalar(3.0)), True, id="S*c"),
    pytest.param("mul", (Scalar(3.0), SPARSE), True, id="c*S"),
    pytest.param("mul", (SPARSE, DENSE), True, id="S*D"),  # zeros of S stay zeros
    pytest.param("add", (SPARSE, SPARSE2), True, id="S+S"),
    pytest.param("sub", (SPARSE, SPARSE2), True, id="S-S"),
    pytest.param("add", (SPARSE, Scalar(1.0)), False, id="S+c"),
    pytest.param("add", (SPARSE, DENSE), False, id="S+D"),
    pytest.param("truediv", (SPARSE, Scalar(2.0)), True, id="S/c"),
    pytest.param("truediv", (SPARSE, Scalar(0.0)), False, id="S/0"),  # 0/0 = nan
    pytest.param("truediv", (Scalar(2.0), SPARSE), False, id="c/S"),
    pytest.param("truediv", (SPARSE, SPARSE2), False, id="S/S"),
    pytest.param("pow", (SPARSE, Scalar(2.0)), True, id="S**2"),
    pytest.param("pow", (SPARSE, Scalar(0.0)), False, id="S**0"),  # 0**0 = 1
    pytest.param("pow", (SPARSE, Scalar(-1.0)), False, id="S**-1"),  # 0**-1 = inf
    pytest.param("pow", (Scalar(2.0), SPARSE), False, id="c**S"),
    pytest.param("mul", (DENSE, Scalar(2.0)), False, id="D*c"),
    pytest.param("neg", (DENSE,), False, id="-D"),
]


@pytest.mark.parametrize(("op", "args", "expected"), KEEPS_SPARSE)
def test_keeps_sparse(op, args, expected):
    assert K.keeps_sparse(op, args) is expected


# apply_elemwise takes its sparse path whenever an operand is sparse, even for ops the
# rule above says do not map 0 to 0; these rows show where that goes wrong.
SPARSE_VALUES = [
    *KEEPS_SPARSE,
    pytest.param("mul", (SPARSE, Scalar(np.inf)), None, id="S*inf"),
    pytest.param("mul", (SPARSE, Scalar(np.nan)), None, id="S*nan"),
]


@pytest.mark.parametrize(("op", "args", "expected"), SPARSE_VALUES)
def test_apply_elemwise_on_sparse_matches_numpy(op, args, expected):
    """A sparse operand gives numpy's values on its dense copy, zeros included."""
    values = [a.value for a in args]
    with np.errstate(all="ignore"):
        want = K.apply_elemwise(op, *[dense(v) for v in values])
        got = K.apply_elemwise(op, *values)
    np.testing.assert_array_equal(dense(got), want)
    if expected:
        assert sp.issparse(got)


@pytest.mark.parametrize(("op", "args", "expected"), SPARSE_VALUES)
def test_fused_block_on_sparse_matches_numpy(op, args, expected):
    """The same through FusedBlock with the output kind keeps_sparse chooses."""
    blocks = tuple(a.value for a in args if not isinstance(a, Scalar))
    ins = iter(range(len(blocks)))
    program = (
        op,
        *[("const", a.value) if isinstance(a, Scalar) else ("in", next(ins)) for a in args],
    )
    sparse = K.keeps_sparse(op, args)
    with np.errstate(all="ignore"):
        want = K.FusedBlock(program, np.float64, False)(*[dense(b) for b in blocks])
        got = K.FusedBlock(program, np.float64, sparse)(*blocks)
    assert sp.issparse(got) == sparse
    np.testing.assert_array_equal(dense(got), want)


@pytest.mark.parametrize(
    ("op", "args", "dtype"),
    [
        ("mul", (InCore(np.ones(2, np.float32)), Scalar(2)), np.float32),  # Python ints are weak
        ("mul", (InCore(np.ones(2, np.float32)), Scalar(2.5)), np.float32),
        ("truediv", (InCore(np.ones(2, np.int64)), Scalar(2)), np.float64),
        ("add", (InCore(np.ones(2, np.int32)), InCore(np.ones(2, np.float32))), np.float64),
        ("sqrt", (InCore(np.ones(2, np.float32)),), np.float32),
        ("exp", (InCore(sp.csr_array(np.ones((2, 2), np.float32))),), np.float32),
    ],
)
def test_elemwise_result_dtype_follows_numpy(op, args, dtype):
    assert K.elemwise_result_dtype(op, args) == dtype


# ------------------------------------------------------- reduction tree shape


def _combine_tasks(total, name):
    return Counter(key_split(k) for k in dict(total.__dask_graph__()))[name]


@pytest.mark.parametrize(
    ("nparts", "split_every", "ncombine"),
    [
        (1, 8, 0),  # a single part needs no combine
        (2, 8, 1),
        (8, 8, 1),
        (9, 8, 2 + 1),  # 8 + 1, then one root
        (20, 8, 3 + 1),  # 8 + 8 + 4, then one root
        (20, 4, 5 + 2 + 1),  # 5 groups of 4, then 2, then the root
        (64, 8, 8 + 1),
        (65, 8, 9 + 2 + 1),
    ],
)
def test_tree_reduce_shape(nparts, split_every, ncombine):
    parts = [dask.delayed(float, pure=True)(i) for i in range(nparts)]
    total = R.tree_reduce(parts, K.sum_parts, split_every=split_every)
    assert _combine_tasks(total, "sum_parts") == ncombine
    assert total.compute(scheduler="sync") == sum(range(nparts))


def test_tree_reduce_default_split_every_comes_from_config():
    parts = [dask.delayed(float, pure=True)(i) for i in range(20)]
    assert _combine_tasks(R.tree_reduce(parts, K.sum_parts), "sum_parts") == 3 + 1
    with dask.config.set({"dlinalg.split-every": 4}):
        assert _combine_tasks(R.tree_reduce(parts, K.sum_parts), "sum_parts") == 5 + 2 + 1


def test_tree_reduce_is_deterministic_and_refuses_a_degenerate_split():
    def build():
        return R.tree_reduce([dask.delayed(float, pure=True)(i) for i in range(20)], K.sum_parts)

    assert build().key == build().key
    with pytest.raises(ValueError, match="split_every must be at least 2, got 1"):
        R.tree_reduce([1, 2], K.sum_parts, split_every=1)


# ----------------------------------------------------------------- gram panels


@pytest.mark.parametrize(
    ("ncol", "itemsize", "budget", "widths"),
    [
        (10, 8, 64 * 2**20, [10]),  # slim: one panel holds the whole Gram
        (10, 8, 800, [10]),  # exactly fits: 10 * 10 * 8 bytes
        (10, 8, 799, [9, 1]),  # one byte short: two panels
        (10, 8, 160, [2] * 5),  # 2 columns of 10 float64 per panel
        (10, 4, 160, [4, 4, 2]),  # float32: twice the columns, uneven last panel
        (10, 8, 1, [1] * 10),  # a budget below one column still makes progress
        (1, 8, 64, [1]),
    ],
)
def test_gram_panels(ncol, itemsize, budget, widths):
    with dask.config.set({"dlinalg.gram-panel-bytes": budget}):
        panels = R.gram_panels(ncol, itemsize)
    assert [b - a for a, b in panels] == widths
    # contiguous, covering every column once
    assert panels[0][0] == 0
    assert panels[-1][1] == ncol
    assert all(p[1] == q[0] for p, q in itertools.pairwise(panels))
    # every panel fits the budget unless a single column does not
    assert all((b - a) * ncol * itemsize <= budget or b - a == 1 for a, b in panels)


def test_gram_panels_default_is_slim_for_thousands_of_columns():
    assert R.gram_panels(2_000, 8) == [(0, 2_000)]  # 32 MB < 64 MiB
    assert len(R.gram_panels(20_000, 8)) > 1


def test_row_chain_collapsed_is_the_same_map():
    # ((x M1) - c) M2 = x (M1 M2) - c M2; triangular-only chains stay triangular (trmm)
    from dlinalg.physical.rowwise import RowChain

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 20))
    m1, m2 = np.triu(rng.standard_normal((20, 20))) + 5 * np.eye(20), rng.standard_normal((20, 6))
    c = rng.standard_normal(20)
    chain = RowChain(20).then("triu", m1).then("sub", c).then("full", m2)
    np.testing.assert_allclose(chain.collapsed()(x), chain(x), rtol=1e-12, atol=1e-12)
    assert [k for k, _ in chain.collapsed().steps] == ["full", "sub"]
    upper = RowChain(20).then("triu", m1).then("triu", m1)
    assert [k for k, _ in upper.collapsed().steps] == ["triu"]
    np.testing.assert_allclose(upper.collapsed()(x), x @ m1 @ m1, rtol=1e-12, atol=1e-10)


def test_aligned_never_copies_an_aligned_block():
    x = np.ones((4, 3))
    assert K.aligned(x) is x
    raw = np.zeros(4 * 3 * 8 + 1, np.uint8)[1:]  # doubles at an odd byte offset
    y = raw.view(np.float64).reshape(4, 3)
    assert not y.flags.aligned
    assert K.aligned(y).flags.aligned


def test_blocks_from_client_memory_are_realigned_where_they_enter(client):
    """Blocks shipped from the client land misaligned; from_array realigns them once,
    on the worker, so a persisted DRM's blocks are aligned and no kernel copies them
    on any later pass (issue 13: every pass copied every block)."""
    import dlinalg as dl

    X = np.random.default_rng(3).standard_normal((6_000, 7))
    with client.as_current():
        from distributed import futures_of, wait

        A = dl.from_array(X, chunks=500).persist()
        wait(futures_of(A.to_dask()))
        name = A.to_dask().name

        def misaligned(dask_worker, name=name):
            held = [(k, v) for k, v in dask_worker.data.items() if k[0] == name]
            return len(held), [k for k, v in held if not v.flags.aligned]

        found = client.run(misaligned).values()
        assert sum(n for n, _ in found) == 12  # every block is held by some worker
        assert all(not bad for _, bad in found)

        np.testing.assert_allclose((A.T @ A).compute(), X.T @ X, rtol=1e-12)
