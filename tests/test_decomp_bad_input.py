"""Bad input to the decompositions is refused before any graph is built.

Like tests/test_bad_input.py: one table of ``(call, builtin, dlinalg class,
message)`` rows, each checked to raise the builtin users would catch
(``ValueError`` for shapes and values, ``TypeError`` for a non-matrix), the
:mod:`dlinalg.errors` class, with a message naming the offending value or
shape, while nothing was computed and no Dask graph was started (a raising
scheduler, and ``dask.array.from_array``/``concatenate``/``from_delayed``/
``dask.delayed`` patched to fail).

Non-finite values in a DRM are only seen by the first pass (the contract
checks them for free from the Gram diagonal or the column statistics): those
cases are tested separately, after the table.
"""

from __future__ import annotations

import re

import dask
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl
from dlinalg import errors
from dlinalg.errors import DLinalgError, OperandTypeError, ParameterError, ShapeError

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 4))  # full rank, 40 x 4
A = dl.from_array(X, chunks=10)
S = dl.from_array(sp.random_array((40, 4), density=0.5, rng=1, format="csr"), chunks=10)
XW = rng.standard_normal((6, 40))  # wide, 6 x 40
W = dl.from_array(XW, chunks=3)
X_NAN = X.copy()
X_NAN[7, 2] = np.nan
X_INF = X.copy()
X_INF[30, 3] = -np.inf
SP_NAN = sp.csr_array(X_NAN)


def names(*patterns):
    """A regex matching a message that contains every pattern, in any order.

    Each pattern is a regex fragment; a number must stand alone (``4`` does not
    match inside ``40``).
    """
    parts = "".join(rf"(?=.*(?<![\w.]){p}(?![\w]))" for p in patterns)
    return rf"(?s)^{parts}"


def shape(m, n):
    """``(40, 4)`` as numpy prints it, or ``40 x 4``."""
    return rf"(?:\({m}, {n}\)|{m} ?x ?{n})"


FUNCS_K = [("ssvd", dl.ssvd), ("spca", dl.spca)]

# (call, builtin to catch, dlinalg class, pattern the message must match)
BAD_INPUT = [
    # --- qr / svd: shapes, methods, options
    pytest.param(lambda: dl.qr(XW), ValueError, ShapeError, "ssvd", id="qr-wide-numpy"),
    pytest.param(lambda: dl.qr(W), ValueError, ShapeError, "ssvd", id="qr-wide-drm"),
    pytest.param(
        lambda: dl.qr(W), ValueError, ShapeError, names(shape(6, 40)), id="qr-wide-names-shape"
    ),
    pytest.param(lambda: dl.svd(XW), ValueError, ShapeError, "ssvd", id="svd-wide-numpy"),
    pytest.param(lambda: dl.svd(W), ValueError, ShapeError, "ssvd", id="svd-wide-drm"),
    pytest.param(
        lambda: dl.qr(A, method="householder"),
        ValueError,
        ParameterError,
        "householder",
        id="qr-bad-method",
    ),
    pytest.param(
        lambda: dl.qr(X, method="cholqr"),
        ValueError,
        ParameterError,
        "cholqr",
        id="qr-bad-method-numpy",
    ),
    pytest.param(
        lambda: dl.svd(A, full_matrices=True),
        ValueError,
        ParameterError,
        "full_matrices",
        id="svd-full_matrices",
    ),
    # --- not a matrix
    pytest.param(lambda: dl.qr(None), TypeError, OperandTypeError, "NoneType", id="qr-None"),
    pytest.param(lambda: dl.svd("abc"), TypeError, OperandTypeError, "str", id="svd-str"),
    pytest.param(lambda: dl.ssvd({}, 2), TypeError, OperandTypeError, "dict", id="ssvd-dict"),
    pytest.param(
        lambda: dl.spca(None, 2), TypeError, OperandTypeError, "NoneType", id="spca-None"
    ),
    pytest.param(
        lambda: dl.eigh_gram(3.0), TypeError, OperandTypeError, "float", id="eigh_gram-float"
    ),
    # --- non-finite numpy / scipy input, checked before any graph (check_finite=True default)
    pytest.param(
        lambda: dl.qr(X_NAN), ValueError, errors.NonFiniteError, "(?i)nan|finite", id="qr-nan"
    ),
    pytest.param(
        lambda: dl.qr(X_INF, method="tsqr"),
        ValueError,
        errors.NonFiniteError,
        "(?i)inf|finite",
        id="qr-inf",
    ),
    pytest.param(
        lambda: dl.svd(X_INF), ValueError, errors.NonFiniteError, "(?i)inf|finite", id="svd-inf"
    ),
    pytest.param(
        lambda: dl.ssvd(X_NAN, 2), ValueError, errors.NonFiniteError, "(?i)nan|finite", id="ssvd"
    ),
    pytest.param(
        lambda: dl.spca(SP_NAN, 2),
        ValueError,
        errors.NonFiniteError,
        "(?i)nan|finite",
        id="spca-sparse-nan",
    ),
    pytest.param(
        lambda: dl.eigh_gram(X_NAN, center=True),
        ValueError,
        errors.NonFiniteError,
        "(?i)nan|finite",
        id="eigh_gram-nan",
    ),
]

# --- k, p, q of ssvd and spca
for _name, _fn in FUNCS_K:
    BAD_INPUT += [
        pytest.param(
            lambda fn=_fn: fn(A, 0),
            ValueError,
            ParameterError,
            names(r"\bk\b", "0"),
            id=f"{_name}-k=0",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, -3),
            ValueError,
            ParameterError,
            names(r"\bk\b", "-3"),
            id=f"{_name}-k<0",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 5),
            ValueError,
            ParameterError,
            names(r"\bk\b", "5", shape(40, 4)),
            id=f"{_name}-k>n",
        ),
        pytest.param(
            lambda fn=_fn: fn(W, 7),
            ValueError,
            ParameterError,
            names(r"\bk\b", "7", shape(6, 40)),
            id=f"{_name}-wide-k>m",
        ),
        pytest.param(
            lambda fn=_fn: fn(X, 9),
            ValueError,
            ParameterError,
            names(r"\bk\b", "9", shape(40, 4)),
            id=f"{_name}-numpy-k>n",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 2.5),
            ValueError,
            ParameterError,
            names(r"\bk\b", r"2\.5"),
            id=f"{_name}-k=2.5",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 2, p=-1),
            ValueError,
            ParameterError,
            names(r"\bp\b", "-1"),
            id=f"{_name}-p<0",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 2, p=1.5),
            ValueError,
            ParameterError,
            names(r"\bp\b", r"1\.5"),
            id=f"{_name}-p=1.5",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 2, q=-2),
            ValueError,
            ParameterError,
            names(r"\bq\b", "-2"),
            id=f"{_name}-q<0",
        ),
        pytest.param(
            lambda fn=_fn: fn(S, 2, q=0.5),
            ValueError,
            ParameterError,
            names(r"\bq\b", r"0\.5"),
            id=f"{_name}-q=0.5",
        ),
        pytest.param(
            lambda fn=_fn: fn(A, 2, q="1"),
            ValueError,
            ParameterError,
            names(r"\bq\b", "'1'"),
            id=f"{_name}-q-str",
        ),
    ]

# --- k of eigh_gram: 1 <= k <= n
BAD_INPUT += [
    pytest.param(
        lambda: dl.eigh_gram(A, k=0),
        ValueError,
        ParameterError,
        names(r"\bk\b", "0"),
        id="eigh_gram-k=0",
    ),
    pytest.param(
        lambda: dl.eigh_gram(S, k=5),
        ValueError,
        ParameterError,
        names(r"\bk\b", "5"),
        id="eigh_gram-k>n",
    ),
    pytest.param(
        lambda: dl.eigh_gram(A, k=1.5),
        ValueError,
        ParameterError,
        names(r"\bk\b", r"1\.5"),
        id="eigh_gram-k=1.5",
    ),
]


@pytest.mark.parametrize(("call", "builtin", "cls", "match"), BAD_INPUT)
def test_bad_input_is_refused_before_any_graph(call, builtin, cls, match, no_graph_no_compute):
    with pytest.raises(builtin, match=match) as info:
        call()
    err = info.value
    assert isinstance(err, cls)
    assert isinstance(err, DLinalgError)
    assert type(err).__module__ == "dlinalg.errors"
    assert type(err).__name__ in errors.__all__


def test_the_guard_sees_a_graph(no_graph_no_compute):
    """The fixture catches a graph: a valid call trips it (so the table rows can fail)."""
    with pytest.raises(AssertionError, match=r"graph was started|computation ran"):
        dl.qr(X)


def test_new_error_classes_subclass_builtins():
    assert issubclass(errors.RankDeficientError, np.linalg.LinAlgError)
    assert issubclass(errors.RankDeficientError, ValueError)
    assert issubclass(errors.NonFiniteError, ValueError)
    assert issubclass(errors.OperandTypeError, TypeError)
    for cls in (errors.RankDeficientError, errors.NonFiniteError):
        assert issubclass(cls, DLinalgError)
        assert cls.__name__ in errors.__all__


@pytest.mark.parametrize(
    "call",
    [
        lambda Z: dl.qr(Z, check_finite=False),
        lambda Z: dl.svd(Z, check_finite=False),
        lambda Z: dl.ssvd(Z, 2, check_finite=False),
        lambda Z: dl.spca(Z, 2, check_finite=False),
        lambda Z: dl.eigh_gram(Z, check_finite=False),
    ],
    ids=["qr", "svd", "ssvd", "spca", "eigh_gram"],
)
def test_check_finite_false_skips_the_numpy_check(call, no_graph_no_compute):
    """With check_finite=False the NaN is not looked for: the call goes on to build a graph,
    which the guard catches (with the default it raises NonFiniteError first, see the table)."""
    with pytest.raises(AssertionError, match=r"graph was started|computation ran"):
        call(X_NAN)


# --- non-finite values in a DRM: seen by the first pass, before any factor is returned

# (function, positional args after the matrix, keyword args)
DRM_CALLS = [
    pytest.param("qr", (), {}, id="qr-auto"),
    pytest.param("qr", (), {"method": "cholqr2"}, id="qr-cholqr2"),
    pytest.param("qr", (), {"method": "tsqr"}, id="qr-tsqr"),
    pytest.param("svd", (), {}, id="svd"),
    pytest.param("ssvd", (2,), {"seed": 0}, id="ssvd"),
    pytest.param("spca", (2,), {"seed": 0}, id="spca"),
    pytest.param("eigh_gram", (), {}, id="eigh_gram"),
    pytest.param("eigh_gram", (), {"center": True}, id="eigh_gram-center"),
]


def _nonfinite_drm(sparse):
    Z = X.copy()
    Z[7, 2] = np.nan  # the first non-finite column is 2
    Z[30, 3] = np.inf
    return dl.from_array(sp.csr_array(Z) if sparse else Z, chunks=10)


def _materialise(result):
    """Compute every lazy factor of a result (a tuple of DRMs and numpy arrays)."""
    return [np.asarray(x.compute()) if hasattr(x, "compute") else np.asarray(x) for x in result]


# numpy warns on inf - inf while the first pass runs; these two tests check the error
# and the NaN, the warning is the subject of test_non_finite_drm_check_is_silent.
IGNORE_NUMPY_WARNINGS = pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)


@IGNORE_NUMPY_WARNINGS
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize(("func", "args", "kwargs"), DRM_CALLS)
def test_non_finite_drm_is_refused_naming_the_column(func, args, kwargs, sparse):
    Z = _nonfinite_drm(sparse)
    with (
        dask.config.set(scheduler="sync"),
        pytest.raises(ValueError, match=r"(?i)finite|nan|inf") as info,
    ):
        _materialise(getattr(dl, func)(Z, *args, **kwargs))
    assert isinstance(info.value, errors.NonFiniteError), repr(info.value)
    # names the first non-finite column as "column 2" (not "column 3", not np.int64(2))
    msg = str(info.value)
    assert re.search(r"(?i)\bcol(umn)?s?\W{0,3}2\b", msg), msg


@pytest.mark.parametrize(("func", "args", "kwargs"), DRM_CALLS)
def test_non_finite_drm_check_is_silent(func, args, kwargs):
    """The check is the informative error: no numpy RuntimeWarning from the pass before it
    (the project runs with warnings as errors; so may users, with -W error)."""
    Z = _nonfinite_drm(False)
    with (
        dask.config.set(scheduler="sync"),
        pytest.raises(errors.NonFiniteError),
    ):
        _materialise(getattr(dl, func)(Z, *args, **kwargs))


@IGNORE_NUMPY_WARNINGS
@pytest.mark.parametrize(("func", "args", "kwargs"), DRM_CALLS)
def test_check_finite_false_skips_the_drm_check(func, args, kwargs):
    """check_finite=False: no NonFiniteError, the factors carry the NaN (contract)."""
    Z = _nonfinite_drm(False)
    with dask.config.set(scheduler="sync"):
        values = _materialise(getattr(dl, func)(Z, *args, check_finite=False, **kwargs))
    assert any(np.isnan(v).any() for v in values)
