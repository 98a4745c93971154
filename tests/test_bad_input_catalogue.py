"""An adversarial catalogue of bad input, one table per family of public entry points.

Each row is ``(call, exception class, message pattern)``: the call must raise
that class (a dlinalg class from :mod:`dlinalg.errors`, or the builtin that
scikit-learn raises for estimator parameters) with a message naming the
offending value, and nothing may be computed or started first:

* matrix, decompositions, solvers, estimators, recommenders: the
  ``no_graph_no_compute`` fixture (a raising scheduler, and the Dask calls that
  start a new graph patched to fail);
* IO: a raising scheduler around the call and, for writers, the directory
  listing before and after (nothing written, nothing left behind);
* command line: exit status 2, a one-line ``error:`` message, no output;
* cluster: ``distributed.LocalCluster`` and ``distributed.Client`` patched to fail.

The rows complement ``test_bad_input.py`` and ``test_decomp_bad_input.py``
(none repeats theirs): NaN and infinity where the math breaks, empty and
0-size inputs, complex/object/bool/str/datetime dtypes, negative, zero, huge,
NaN, bool and numpy-scalar parameters, wrong-length vectors, strings where a
list is expected, one column in two roles. A row marked ``xfail(strict=True)``
is a defect found here whose fix belongs to a module this catalogue's author
does not own; its reason says where. Removing the mark is part of that fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import dask
import dask.array as da
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from distributed.security import Security
from dlinalg.models import (
    ALS,
    PCA,
    Interactions,
    ItemSimilarity,
    LinearRegression,
    Ridge,
    TruncatedSVD,
)
from dlinalg.models.cli import main

import dlinalg as dl
from dlinalg.cluster import connect, local_cluster
from dlinalg.errors import (
    ChunkError,
    ClusterError,
    DLinalgError,
    DTypeError,
    LabelError,
    NonFiniteError,
    OperandTypeError,
    OutOfBoundsError,
    ParameterError,
    ShapeError,
    StoreNotFoundError,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 4))
A = dl.from_array(X, chunks=10)  # 40 x 4
G = dl.from_array(X.T @ X + np.eye(4), chunks=2)  # 4 x 4 symmetric positive definite
b = X @ np.arange(1.0, 5.0)
M = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])  # users x items counts
ITEMS = ItemSimilarity().fit(M)  # fitted once, at import, outside any guard
TWO = pd.DataFrame({"user": ["u1", "u2"], "item": ["a", "b"]})


def owner(where: str) -> pytest.MarkDecorator:
    """The xfail mark of a defect whose fix belongs to ``where``."""
    return pytest.mark.xfail(strict=True, reason=f"defect found by the catalogue; fix in {where}")


def assert_raises(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    if issubclass(exc, DLinalgError):
        assert type(info.value).__module__ == "dlinalg.errors"
        assert isinstance(info.value, ValueError | TypeError | IndexError | OSError)
    return info.value


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# =========================================================================== matrix
MATRIX = [
    # col_vars: numpy's RuntimeWarning and inf/nan for ddof >= nrow
    pytest.param(lambda: A.col_vars(ddof=40), ParameterError, r"ddof=40.*nrow=40", id="ddof=nrow"),
    pytest.param(
        lambda: A.col_vars(ddof=10**9), ParameterError, r"ddof=1000000000", id="ddof-huge"
    ),
    pytest.param(lambda: A.col_vars(ddof=True), ParameterError, r"True.*bool", id="ddof=True"),
    pytest.param(
        lambda: A.col_vars(ddof=np.float64(1.0)),
        ParameterError,
        r"1\.0.*float64",
        id="ddof-np-float",
    ),
    pytest.param(
        lambda: A[2:3, :].col_vars(ddof=1), ParameterError, r"ddof=1.*nrow=1", id="ddof-1-row"
    ),
    # numpy scalar types and bools where a number or an index is expected
    pytest.param(
        lambda: A + np.complex64(1), DTypeError, r"complex64\(1\+0j\)", id="A+np.complex64"
    ),
    pytest.param(lambda: A[np.True_, :], ShapeError, r"1-D.*\(\)", id="index-np.bool_"),
    pytest.param(
        lambda: A[2**70, :], OutOfBoundsError, r"1180591620717411303424", id="index-2**70"
    ),
    pytest.param(lambda: A[::0, :], ParameterError, r"step.*0", id="slice-step-0"),
    pytest.param(lambda: A[1:3.5, :], OperandTypeError, r"3\.5", id="slice-float-stop"),
    pytest.param(
        lambda: A[np.ones(3, bool), :], ShapeError, r"length 3, expected 40", id="mask-len"
    ),
    pytest.param(lambda: A.rechunk(True), ChunkError, r"True", id="rechunk-True"),
    pytest.param(lambda: A.map_blocks(np.abs, ncol=0), ParameterError, r"got 0", id="ncol=0"),
    pytest.param(
        lambda: A.map_blocks(np.abs, dtype=complex),
        DTypeError,
        r"complex128",
        id="map_blocks-complex",
    ),
    # generated matrices
    pytest.param(
        lambda: dl.random((10, 3), density=np.nan),
        ParameterError,
        r"density=nan",
        id="density-nan",
    ),
    pytest.param(lambda: dl.random((10, 3), seed=1.0), ParameterError, r"1\.0", id="seed-float"),
    pytest.param(lambda: dl.random((True, 3)), ShapeError, r"True", id="shape-bool"),
    pytest.param(
        lambda: dl.random((10, 3), dtype=int),
        DTypeError,
        r"int64",
        id="random-int-dtype",  # normal draws truncated to int: almost all 0
    ),
    pytest.param(
        lambda: dl.eye(3, sparse="yes"),
        DTypeError,
        r"sparse.*'yes'",
        id="eye-sparse-str",
    ),
    pytest.param(
        lambda: dl.from_array(np.ma.masked_array(X, mask=X > 1)),
        TypeError,
        r"(?i)masked",
        id="masked-array",  # the mask is dropped silently: masked values are used
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), MATRIX)
def test_matrix(call, exc, match, no_graph_no_compute):
    assert_raises(call, exc, match)


# ==================================================================== decompositions
DASK_COMPLEX = da.from_array(X + 1j, chunks=10)
DECOMPOSITIONS = [
    pytest.param(lambda: dl.qr(X + 1j), DTypeError, r"complex128", id="qr-complex"),
    pytest.param(lambda: dl.ssvd(A, True), ParameterError, r"k.*True", id="ssvd-k=True"),
    pytest.param(lambda: dl.ssvd(A, 2, seed=-1), ParameterError, r"seed.*-1", id="ssvd-seed<0"),
    pytest.param(lambda: dl.ssvd(A, 2, seed="a"), ParameterError, r"'a'", id="ssvd-seed-str"),
    pytest.param(
        lambda: dl.eigh_gram(A, center=True, ddof=40),
        ParameterError,
        r"ddof=40",
        id="eigh-ddof=nrow",
    ),
    pytest.param(
        lambda: dl.eigh_gram(A, center=True, ddof=True),
        ParameterError,
        r"True",
        id="eigh-ddof=True",
    ),
    pytest.param(
        lambda: dl.eigh_gram(A, center=True, ddof=-1), ParameterError, r"-1", id="eigh-ddof<0"
    ),
    pytest.param(
        lambda: dl.svd(xr.DataArray(np.ones((3, 2)))),
        OperandTypeError,
        r"got DataArray",
        id="svd-xarray",
    ),
    pytest.param(
        lambda: dl.qr(A, check_finite="no"),
        DTypeError,
        r"check_finite.*'no'",
        id="qr-check_finite-str",  # a non-empty str is truthy: the check runs anyway
    ),
    pytest.param(
        lambda: dl.eigh_gram(A, center="no"),
        DTypeError,
        r"center.*'no'",
        id="eigh-center-str",  # "no" is truthy: the data is centred
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), DECOMPOSITIONS)
def test_decompositions(call, exc, match, no_graph_no_compute):
    assert_raises(call, exc, match)


# =========================================================================== solvers
SOLVERS = [
    pytest.param(
        lambda: dl.lsqr(A, np.full(40, np.inf)), NonFiniteError, r"b.*infinity", id="lsqr-b-inf"
    ),
    pytest.param(lambda: dl.lsmr(A, b + 1j), OperandTypeError, r"complex128", id="lsmr-b-complex"),
    pytest.param(lambda: dl.cgls(A, np.ones(39)), ShapeError, r"39.*40", id="cgls-b-len"),
    pytest.param(lambda: dl.gd(A, np.ones((40, 2))), ShapeError, r"\(40, 2\)", id="gd-b-2-col"),
    pytest.param(
        lambda: dl.lsqr(A, da.ones(80, chunks=10)[da.arange(80, chunks=10) < 40]),
        ShapeError,
        r"nan",
        id="lsqr-b-unknown-chunks",
    ),
    pytest.param(lambda: dl.lsqr(A, b, maxiter=True), ParameterError, r"True", id="maxiter=True"),
    pytest.param(lambda: dl.lsmr(A, b, maxiter=1.5), ParameterError, r"1\.5", id="maxiter=1.5"),
    pytest.param(lambda: dl.lsqr(A, b, damp=np.inf), ParameterError, r"damp=inf", id="damp-inf"),
    pytest.param(
        lambda: dl.lsmr(A, b, conlim=np.nan), ParameterError, r"conlim=nan", id="conlim-nan"
    ),
    pytest.param(lambda: dl.cgls(A, b, atol=-1e-9), ParameterError, r"atol=-1e-09", id="atol<0"),
    pytest.param(lambda: dl.cgls(A, b, x0=np.full(4, np.nan)), NonFiniteError, r"x0", id="x0-nan"),
    pytest.param(lambda: dl.gd(A, b, lr=0), ParameterError, r"lr=0", id="gd-lr=0"),
    pytest.param(lambda: dl.gd(A, b, tol=np.nan), ParameterError, r"tol=nan", id="gd-tol-nan"),
    pytest.param(lambda: dl.cg(A, b), ShapeError, r"square.*\(40, 4\)", id="cg-not-square"),
    pytest.param(
        lambda: dl.cg(G, np.ones(4), M=np.eye(3)), ShapeError, r"\(3, 3\)", id="cg-M-shape"
    ),
    pytest.param(
        lambda: dl.cg(G, np.ones(4), rtol=np.nan), ParameterError, r"rtol=nan", id="cg-rtol"
    ),
    pytest.param(lambda: dl.svds(A, True), ParameterError, r"True", id="svds-k=True"),
    pytest.param(lambda: dl.svds(A, 1, tol=-1), ParameterError, r"tol=-1", id="svds-tol<0"),
    pytest.param(
        lambda: dl.svds(np.where(np.eye(6) > 0, np.nan, 1.0), 1),
        NonFiniteError,
        r"NaN",
        id="svds-nan",
    ),
    pytest.param(lambda: dl.eigsh(G, 1, ncv=100), ParameterError, r"ncv=100", id="eigsh-ncv-huge"),
    pytest.param(
        lambda: dl.eigsh(G, 1, maxiter=0), ParameterError, r"maxiter=0", id="eigsh-maxiter=0"
    ),
    pytest.param(
        lambda: dl.eigsh(np.eye(6) + 1j, 1), DTypeError, r"complex128", id="eigsh-complex"
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), SOLVERS)
def test_solvers(call, exc, match, no_graph_no_compute):
    assert_raises(call, exc, match)


# ======================================================================== estimators
ESTIMATORS = [
    pytest.param(lambda: PCA(n_components=np.nan).fit(A), ValueError, r"nan", id="pca-nan-k"),
    pytest.param(
        lambda: PCA(n_components=1).fit(A[:1, :]), ValueError, r"n_samples=1", id="pca-1-row"
    ),
    pytest.param(
        lambda: PCA(n_components=2).fit(DASK_COMPLEX),
        DTypeError,
        r"complex128",
        id="pca-dask-complex",
    ),
    pytest.param(
        lambda: PCA(n_components=2).fit(np.where(X > 1, np.inf, X)),
        ValueError,
        r"infinity",
        id="pca-inf",
    ),
    pytest.param(
        lambda: TruncatedSVD(n_components=2, n_oversamples=-1).fit(A),
        ValueError,
        r"-1",
        id="tsvd-p<0",
    ),
    pytest.param(
        lambda: TruncatedSVD(n_components=2, tol=-1).fit(A),
        ValueError,
        r"tol.*-1",
        id="tsvd-tol<0",
    ),
    pytest.param(lambda: LinearRegression().fit(A, np.ones(39)), ValueError, r"39", id="lr-y-len"),
    pytest.param(
        lambda: LinearRegression().fit(A, b + 1j), ValueError, r"(?i)complex", id="lr-y-complex"
    ),
    pytest.param(
        lambda: LinearRegression().fit(A, np.full(40, np.nan)), ValueError, r"NaN", id="lr-y-nan"
    ),
    pytest.param(
        lambda: LinearRegression(solver="lsqr", tol=-1).fit(A, b), ValueError, r"-1", id="lr-tol<0"
    ),
    pytest.param(lambda: Ridge(alpha=np.nan).fit(A, b), ValueError, r"nan", id="ridge-alpha-nan"),
    pytest.param(lambda: Ridge(alpha=True).fit(A, b), ValueError, r"True", id="ridge-alpha=True"),
    pytest.param(
        lambda: Ridge(alpha=np.ones(3)).fit(A, b), ValueError, r"penalties.*3", id="ridge-alphas"
    ),
    pytest.param(
        lambda: LinearRegression().fit(A, b, sample_weight=np.ones(39)),
        ValueError,
        r"\(39,\), expected \(40,\)",
        id="lr-sw-len",
    ),
    pytest.param(
        lambda: Ridge().fit(A, b, sample_weight=np.r_[np.ones(39), -2.0]),
        ValueError,
        r"-2\.0.*index 39",
        id="ridge-sw<0",
    ),
    pytest.param(
        lambda: Ridge().fit(A, b, sample_weight=np.r_[np.ones(39), np.inf]),
        ValueError,
        r"sample_weight.*infinity",
        id="ridge-sw-inf",
    ),
    pytest.param(
        lambda: LinearRegression().fit(A, b, sample_weight=np.zeros(40)),
        ValueError,
        r"at least one non-zero",
        id="lr-sw-zero",
    ),
    pytest.param(
        lambda: Ridge().fit(A, b, sample_weight=da.ones((40, 2), chunks=10)),
        ValueError,
        r"1D array or scalar, got 2D",
        id="ridge-sw-2d-dask",
    ),
    pytest.param(
        lambda: Ridge(positive=True, solver="cholesky").fit(A, b),
        ValueError,
        r"solver='cholesky' does not support positive",
        id="ridge-positive-solver",
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), ESTIMATORS)
def test_estimators(call, exc, match, no_graph_no_compute):
    assert_raises(call, exc, match)


FITTED_PCA = PCA(n_components=2).fit(X)
FITTED_LR = LinearRegression().fit(X, b)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: FITTED_PCA.transform(dl.from_array(X[:, :3])), r"3 features.*expecting 4"),
        (lambda: FITTED_LR.predict(dl.from_array(X[:, :3])), r"3 features.*expecting 4"),
        (lambda: FITTED_PCA.inverse_transform(np.ones((2, 3))), r"3 columns, expected 2"),
    ],
    ids=["pca-transform-ncol", "lr-predict-ncol", "pca-inverse-ncol"],
)
def test_fitted_estimators_check_features_from_metadata(call, match):
    with dask.config.set(scheduler=_Raising()), pytest.raises(ValueError, match=match):
        call()


# ====================================================================== recommenders
def weights(*values, dtype=None):
    return TWO.assign(n=pd.array(list(values), dtype=dtype) if dtype else list(values))


RECOMMENDERS = [
    # Interactions: weights are counts (wrapped to -2**63 before)
    pytest.param(
        lambda: Interactions.from_dataframe(weights(2**63, 1), weight="n"),
        ParameterError,
        r"'n' holds the count 9223372036854775808 \(row 0\)",
        id="weight-2**63",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(weights(1e20, 1.0), weight="n"),
        ParameterError,
        r"1e\+20",
        id="weight-1e20",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(weights(2**53 + 1, 1), weight="n"),
        ParameterError,
        r"9007199254740993",
        id="weight-2**53+1",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(weights(1.0, -np.inf), weight="n"),
        NonFiniteError,
        r"-inf \(row 1\)",
        id="weight-inf",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(weights(1, None, dtype="Int64"), weight="n"),
        NonFiniteError,
        r"missing.*row 1",
        id="weight-NA",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(weights(2**62, 2**62, dtype="uint64"), weight="n"),
        ParameterError,
        r"2\*\*53",
        id="weights-sum-overflow",
    ),
    # Interactions: label columns
    pytest.param(
        lambda: Interactions.from_dataframe(pd.DataFrame({"user": [1, "1"], "item": ["a", "b"]})),
        DTypeError,
        r"1 \(int\) and '1' \(str\)",
        id="users-1-and-'1'",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(
            pd.DataFrame({"user": [True, 1, 2], "item": list("abc")})
        ),
        DTypeError,
        r"True \(bool\)",
        id="users-True-and-1",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(pd.DataFrame({"user": [1, 2], "item": ["a", b"a"]})),
        DTypeError,
        r"'a' \(str\) and b'a' \(bytes\)",
        id="items-str-and-bytes",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(
            pd.DataFrame({"user": [[1], [2]], "item": ["a", "b"]})
        ),
        DTypeError,
        r"\[1\] of type list",
        id="users-unhashable",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(TWO, user="user", item="user"),
        ParameterError,
        r"item='user' names the user column",
        id="one-column-two-roles",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(TWO, weight="item"),
        ParameterError,
        r"weight='item'",
        id="weight-is-item-column",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(
            pd.DataFrame([["u", "a", "v"]], columns=["user", "item", "user"])
        ),
        LabelError,
        r"2 columns named 'user'",
        id="duplicate-column-names",
    ),
    pytest.param(
        lambda: Interactions.from_dataframe(TWO.assign(a=["x", "y"]), action="a", actions="x"),
        OperandTypeError,
        r"actions= .*'x'",
        id="actions-str",
    ),
    # ItemSimilarity.recommend(userid, user_items, N, ...): implicit's call; a history is a
    # matrix row, so recommend(3) no longer reads "a user who saw item 3"
    pytest.param(
        lambda: ITEMS.recommend(3, None), ValueError, r"user_items is required", id="no-history"
    ),
    pytest.param(
        lambda: ITEMS.recommend(0, "ab"), TypeError, r"sparse or dense matrix", id="history-str"
    ),
    pytest.param(
        lambda: ITEMS.recommend([0, 1], M[[0]]),
        ValueError,
        r"shape \(2, 3\).*got \(1, 3\)",
        id="history-rows",
    ),
    pytest.param(
        lambda: ITEMS.recommend(0, -M[[0]]), ValueError, r"negative count", id="history-negative"
    ),
    pytest.param(
        lambda: ITEMS.recommend(0, M[[0]], items=[7]), KeyError, r"item\(s\) 7", id="unknown-item"
    ),
    pytest.param(
        lambda: ITEMS.similar_users(0), NotImplementedError, r"no user vectors", id="similar-users"
    ),
    pytest.param(
        lambda: ITEMS.recommend(0, M[[0]], N=np.inf), ValueError, r"inf", id="recommend-N-inf"
    ),
    # the estimators' own inputs
    pytest.param(lambda: ItemSimilarity().fit(M + 1j), TypeError, r"complex128", id="is-complex"),
    pytest.param(
        lambda: ItemSimilarity().fit(M, M[:3]), ValueError, r"\(3, 3\).*\(4, 3\)", id="is-rows"
    ),
    pytest.param(
        lambda: ItemSimilarity().fit(np.where(M > 0, np.nan, 0.0)), ValueError, r"nan", id="is-nan"
    ),
    pytest.param(
        lambda: ItemSimilarity(max_interactions_per_item=2**63).fit(M),
        ValueError,
        r"9223372036854775808",
        id="is-cap-2**63",  # OverflowError from numpy instead
    ),
    pytest.param(lambda: ALS(alpha=np.nan).fit(M), ValueError, r"alpha.*nan", id="als-alpha-nan"),
    pytest.param(
        lambda: ALS().fit(np.where(M > 0, np.inf, 0)), ValueError, r"infinity", id="als-inf"
    ),
    pytest.param(lambda: ALS().fit(M + 1j), TypeError, r"complex128", id="als-complex"),
    pytest.param(
        lambda: ALS().fit(np.zeros((3, 3))), ValueError, r"no non-zero", id="als-all-zero"
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), RECOMMENDERS)
def test_recommenders(call, exc, match, no_graph_no_compute):
    assert_raises(call, exc, match)


def test_dask_partitions_mixing_label_types_are_refused():
    """One partition of int users, another of str users: refused like one mixed column."""
    frame = pd.DataFrame({"user": pd.Series([1, 2, "1", "3"], dtype=object), "item": list("abab")})
    with dask.config.set({"dataframe.convert-string": False}):  # keep the object column
        lazy = dd.from_pandas(frame, npartitions=2)
    with (
        distributed.Client(
            processes=False, n_workers=1, dashboard_address=None, set_as_default=False
        ) as client,
        client.as_current(),
        pytest.raises(DTypeError, match=r"1 \(int\) and '1' \(str\)"),
    ):
        Interactions.from_dataframe(lazy)


def test_zero_weights_are_no_interaction():
    """A weight of 0 is kept out of the matrix (it counted as an entry in nnz before)."""
    data = Interactions.from_dataframe(weights(0, 3), weight="n")
    assert data.matrix().nnz == 1
    np.testing.assert_array_equal(data.matrix().toarray(), [[0, 0], [0, 3]])


# ================================================================================ IO
class _Raising:
    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("a Dask computation ran before the input was validated")


def _foreign(tmp: Path, shape: tuple, dtype: str) -> str:
    path = tmp / "foreign.zarr"
    zarr.open_array(path, mode="w", shape=shape, dtype=dtype)
    return str(path)


def _store(tmp: Path) -> str:
    path = tmp / "kept.zarr"
    dl.from_array(np.ones((4, 2))).to_zarr(path)
    return str(path)


# (setup: tmp_path -> argument, call: argument -> raises, exception, pattern)
IO = [
    pytest.param(lambda t: None, lambda _: A.to_zarr(5), TypeError, r"got int", id="to_zarr-int"),
    pytest.param(
        lambda t: str(t / "no" / "x.zarr"),
        lambda p: A.to_zarr(p),
        FileNotFoundError,
        r"parent directory",
        id="to_zarr-no-parent",
    ),
    pytest.param(
        lambda t: (t / "file.txt").write_text("keep") and str(t / "file.txt"),
        lambda p: A.to_zarr(p, overwrite=True),
        FileExistsError,
        r"not a Zarr store",
        id="to_zarr-onto-file",
    ),
    pytest.param(
        lambda t: str(t / "c.zarr"),
        lambda p: A.to_zarr(p, component=3),
        TypeError,
        r"component.*int",
        id="to_zarr-component-int",
    ),
    pytest.param(
        lambda t: str(t / "c.zarr"),
        lambda p: A.to_zarr(p, component="../escape"),
        ValueError,
        r"\.\.",
        id="to_zarr-component-dotdot",  # raises, but after creating c.zarr
    ),
    pytest.param(
        _store,
        lambda p: dl.from_array(np.zeros((4, 2))).to_zarr(p, overwrite="no"),
        TypeError,
        r"overwrite.*'no'",
        id="to_zarr-overwrite-str",  # "no" is truthy: the store is replaced
    ),
    pytest.param(
        lambda t: _foreign(t, (5, 2), "c16"),
        dl.read_zarr,
        DTypeError,
        r"complex128",
        id="read-complex",
    ),
    pytest.param(
        lambda t: _foreign(t, (3, 2), "M8[s]"),
        dl.read_zarr,
        DTypeError,
        r"datetime64",
        id="read-datetime",
    ),
    pytest.param(
        lambda t: _foreign(t, (5,), "f8"), dl.read_zarr, ShapeError, r"1-D", id="read-1-D"
    ),
    pytest.param(
        lambda t: _foreign(t, (0, 2), "f8"),
        dl.read_zarr,
        ShapeError,
        r"zero-size.*\(0, 2\)",
        id="read-0-rows",
    ),
    pytest.param(
        lambda t: (t / "empty").mkdir() or str(t / "empty"),
        dl.read_zarr,
        StoreNotFoundError,
        r"empty",
        id="read-empty-dir",
    ),
    pytest.param(
        lambda t: None, lambda _: dl.read_zarr(None), TypeError, r"NoneType", id="read-None"
    ),
    pytest.param(
        lambda t: xr.Dataset({"a": (("r", "c"), np.ones((2, 2)))}),
        dl.from_xarray,
        TypeError,
        r"Dataset.*ds\['name'\]",
        id="xarray-Dataset",
    ),
    pytest.param(
        lambda t: xr.DataArray(np.ones((2, 2)), dims=("r", "c"), coords={"r": [np.nan, 1.0]}),
        dl.from_xarray,
        LabelError,
        r"NaN at positions \[0\]",
        id="xarray-nan-label",
    ),
    pytest.param(
        lambda t: xr.DataArray(np.zeros((2, 2), "M8[D]")),
        dl.from_xarray,
        DTypeError,
        r"datetime64",
        id="xarray-datetime",
    ),
    pytest.param(
        lambda t: xr.DataArray(da.ones(20, chunks=5)[da.arange(20, chunks=5) > 3][:, None]),
        dl.from_xarray,
        ChunkError,
        r"unknown shape",
        id="xarray-unknown-chunks",
    ),
]


@pytest.mark.parametrize(("setup", "call", "exc", "match"), IO)
def test_io(setup, call, exc, match, tmp_path):
    arg = setup(tmp_path)
    before = listing(tmp_path)
    kept = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with dask.config.set(scheduler=_Raising()):
        assert_raises(lambda: call(arg), exc, match)
    assert listing(tmp_path) == before  # nothing written, nothing left behind
    assert {p: p.read_bytes() for p in kept} == kept  # nothing overwritten


# ====================================================================== command line
LOG = "u1,view,a\nu1,view,b\nu2,buy,a\nu3,view,c\n"
ROWS = "d1\ta b\nd2\ta c\n"

CLI = [
    pytest.param(
        ["-ic", "0"], r"--item-id-column/-ic: column '0' is also the --row-id-column", id="ic=rc"
    ),
    pytest.param(
        ["-fc", "1"], r"--filter-column/-fc: column '1' is also the --item-id-column", id="fc=ic"
    ),
    pytest.param(["--in-delim", ""], r"--in-delim/-id: the delimiter is empty", id="empty-delim"),
    pytest.param(["--in-delim", "a("], r"'a\(' is not a regular expression", id="bad-regex-delim"),
    pytest.param(
        ["--filename-pattern", "["], r"'\[' is not a regular expression", id="bad-pattern"
    ),
    pytest.param(
        ["-ic", "-2"], r"--item-id-column/-ic: '-2' is neither a column position", id="ic<0"
    ),
    pytest.param(["-rc", " "], r"--row-id-column/-rc: ' ' is neither", id="rc-blank"),
    pytest.param(["-fc", "-3", "-ic", "2"], r"'-3'.*-1 means no action column", id="fc=-3"),
    pytest.param(
        ["--max-prefs", str(2**70)], r"--max-prefs must be at most 2147483647", id="huge-cap"
    ),
    pytest.param(["--seed", "-1"], r"seed.*-1", id="seed<0"),
    pytest.param(
        ["--filter-column", "1", "-ic", "2", "--filter1", "buy", "--filter2", "sell"],
        r"--filter2 'sell' matches no rows",
        id="filter2-unknown",
    ),
]

ROW_CLI = [
    pytest.param(
        ["--row-key-delim", ""], r"--row-key-delim/-rd: the delimiter is empty", id="rd-empty"
    ),
    pytest.param(
        ["--element-delim", ""], r"--element-delim/-td: the delimiter is empty", id="td-empty"
    ),
    pytest.param(["-rc", "1"], r"--item-id-column/-ic: column '1' is also", id="rc=ic"),
    pytest.param(["--max-observations", str(2**31)], r"at most 2147483647", id="huge-mo"),
]


def _run_cli(tmp_path, capsys, command, text, options):
    src = tmp_path / "in.txt"
    src.write_text(text)
    before = listing(tmp_path)
    argv = [command, "-i", str(src), "-o", str(tmp_path / "out"), *options]
    status = main([*argv, "--scheduler", "synchronous", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith(f"dlinalg {command}: error: ")
    assert err.count("\n") == 1, err
    assert listing(tmp_path) == before  # no output, no temporary directory
    return err


@pytest.mark.parametrize(("options", "match"), CLI)
def test_cli_itemsimilarity(options, match, tmp_path, capsys, no_graph_no_compute):
    err = _run_cli(tmp_path, capsys, "itemsimilarity", LOG, options)
    assert re.search(match, err), err


@pytest.mark.parametrize(("options", "match"), ROW_CLI)
def test_cli_rowsimilarity(options, match, tmp_path, capsys, no_graph_no_compute):
    err = _run_cli(tmp_path, capsys, "rowsimilarity", ROWS, options)
    assert re.search(match, err), err


# =========================================================================== cluster
CLUSTER = [
    pytest.param(
        lambda: local_cluster(security="yes"), DTypeError, r"security.*'yes'", id="security-str"
    ),
    pytest.param(
        lambda: local_cluster(security=Security()),
        ClusterError,
        r"no TLS certificate",
        id="security-empty",
    ),
    pytest.param(
        lambda: local_cluster(security=True, protocol="tcp://"),
        ClusterError,
        r"protocol='tcp://'",
        id="security-over-tcp",
    ),
    pytest.param(
        lambda: local_cluster(memory_limit=np.nan), ClusterError, r"nan", id="memory-nan"
    ),
    pytest.param(
        lambda: local_cluster(memory_limit=np.inf), ClusterError, r"inf", id="memory-inf"
    ),
    pytest.param(lambda: local_cluster(memory_limit=""), ClusterError, r"''", id="memory-empty"),
    pytest.param(
        lambda: local_cluster(memory_limit=1.5), ClusterError, r"1\.5", id="memory-1.5-bytes"
    ),
    pytest.param(
        lambda: local_cluster(n_workers=np.int64(0)), ClusterError, r"got 0", id="n_workers-np-0"
    ),
    pytest.param(
        lambda: local_cluster(protocol="udp://"), ClusterError, r"'udp://'", id="protocol-udp"
    ),
    pytest.param(
        lambda: local_cluster(protocol="inproc://"),
        ClusterError,
        r"processes=False",
        id="inproc-processes",
    ),
    pytest.param(
        lambda: local_cluster(worker_kwargs="x"),
        DTypeError,
        r"worker_kwargs.*'x'",
        id="kwargs-str",
    ),
    pytest.param(
        lambda: connect("tls://127.0.0.1:1"),
        ClusterError,
        r"'tls://127.0.0.1:1' uses TLS but no credentials.*security=",
        id="tls-without-security",
    ),
    pytest.param(
        lambda: connect("tls://127.0.0.1:1", security=True),
        ClusterError,
        r"cannot trust",
        id="tls-True",
    ),
    pytest.param(lambda: connect("tcp://a b:1"), ClusterError, r"'tcp://a b:1'", id="host-space"),
    pytest.param(lambda: connect("TCP://h:1"), ClusterError, r"'TCP://h:1'", id="scheme-case"),
]


@pytest.mark.parametrize(("call", "exc", "match"), CLUSTER)
def test_cluster(call, exc, match, monkeypatch):
    def nothing_starts(*args, **kwargs):
        raise AssertionError("a cluster was started or a connection attempted")

    monkeypatch.setattr(distributed, "LocalCluster", nothing_starts)
    monkeypatch.setattr(distributed, "Client", nothing_starts)
    assert_raises(call, exc, match)


def test_catalogue_size():
    """At least three rows per family (the report quotes these numbers)."""
    sizes = {
        "matrix": len(MATRIX),
        "decompositions": len(DECOMPOSITIONS),
        "solvers": len(SOLVERS),
        "estimators": len(ESTIMATORS) + 3,
        "recommenders": len(RECOMMENDERS) + 2,
        "io": len(IO),
        "cli": len(CLI) + len(ROW_CLI),
        "cluster": len(CLUSTER),
    }
    assert min(sizes.values()) >= 3, sizes
