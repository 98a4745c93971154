"""``prox.compose``: ``h(Q x)`` for ``Q Q^T = scale I``, against the truth.

* the prox's closed form against what it must equal: ``Q^T prox_h(Q v)`` for
  an orthogonal Q (dense, sparse, a fast DCT as a LinearOperator), the
  untouched coordinates of a row selection, ``Q u = prox_{t scale h}(Q v)``
  with ``u - v`` in the range of ``Q^T`` for tight frames (scale 1 and 2);
* its definition: ``u`` minimizes ``t h(Q u) + ||u - v||^2 / 2``, checked
  against SciPy's SLSQP on a smooth reformulation of each penalty;
* a whole fit: ``dl.proximal_gradient`` with ``compose(l1(lam), Q)`` is
  scikit-learn's ``Lasso`` on ``A Q^T`` mapped back by ``Q^T``, and with
  ``compose(nonneg(), Q)`` SciPy's ``nnls`` on ``A Q^T``, over the chunking
  table (dense and sparse, float32 and float64);
* every refusal, before any pass over A.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp
from scipy.fft import dct, idct
from scipy.sparse.linalg import LinearOperator
from sklearn.linear_model import Lasso
from test_optimize import CASES, CHUNK_IDS, DTYPES, design, rel

import dlinalg as dl
from dlinalg.errors import (
    DLinalgError,
    DTypeError,
    NonFiniteError,
    OperandTypeError,
    ParameterError,
    ShapeError,
)
from dlinalg.optimize import prox

N = 6


def dct_matrix(n: int = N) -> np.ndarray:
    """The orthonormal DCT-II matrix: ``Q Q^T = I``."""
    return dct(np.eye(n), norm="ortho", axis=0)


def dct_operator(n: int = N) -> LinearOperator:
    return LinearOperator((n, n), matvec=lambda x: dct(x, norm="ortho"),
                          rmatvec=lambda z: idct(z, norm="ortho"), dtype=np.float64)  # fmt: skip


def random_orthogonal(n: int = N, seed: int = 0) -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


SELECTED = np.array([0, 2, 3])
ROWSEL = np.eye(N)[SELECTED]  # a row selection, 3 x 6, Q Q^T = I
PARSEVAL = np.hstack([np.eye(3), np.eye(3)]) / np.sqrt(2)  # 3 x 6, Q Q^T = I (Q^T Q is not)
FRAME2 = np.hstack([np.eye(3), np.eye(3)])  # 3 x 6, Q Q^T = 2 I


def penalties(rows: int) -> dict[str, prox.Prox]:
    """Each penalty, sized for ``rows`` (it acts on ``Q x``)."""
    return {
        "l1": prox.l1(0.3),
        "elastic_net": prox.elastic_net(0.3, 0.5),
        "group_l1": prox.group_l1(0.3, np.arange(rows) // 2),
        "nonneg": prox.nonneg(),
        "box": prox.box(np.linspace(-0.5, -0.1, rows), np.linspace(0.2, 0.6, rows)),
    }


NAMES = list(penalties(N))


def close(got, want, tol=1e-12):
    scale = max(1.0, float(np.linalg.norm(want)))
    assert float(np.linalg.norm(np.asarray(got) - want)) <= tol * scale, (got, want)


# --- the closed form against what it must equal ------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
def test_orthogonal_q_is_a_change_of_basis(name, kind):
    Q = random_orthogonal() if kind != "operator" else dct_matrix()
    given = {"dense": Q, "sparse": sp.csr_array(Q), "operator": dct_operator()}[kind]
    h = penalties(N)[name]
    g = prox.compose(h, given)
    rng = np.random.default_rng(1)
    for t in (0.5, 1.0, 3.0):
        v = rng.standard_normal(N)
        close(g(v, t), Q.T @ h(Q @ v, t))
        u = g(v, t)
        assert g.value(u) == pytest.approx(h.value(h(Q @ v, t)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_row_selection_touches_the_selected_coordinates_only(name):
    h = penalties(len(SELECTED))[name]
    g = prox.compose(h, ROWSEL)
    v = np.random.default_rng(2).standard_normal(N)
    u = g(v, 0.7)
    rest = np.setdiff1d(np.arange(N), SELECTED)
    assert np.array_equal(u[rest], v[rest])  # bit for bit
    close(u[SELECTED], h(v[SELECTED], 0.7), 1e-15)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("Q", "scale"), [(PARSEVAL, 1.0), (FRAME2, 2.0)], ids=["parseval", "x2"])
def test_tight_frame_satisfies_the_prox_identities(name, Q, scale):
    # u = v + Q^T (p - Q v) / s with p = prox_{t s h}(Q v): Q u = p and u - v in range(Q^T)
    h = penalties(Q.shape[0])[name]
    g = prox.compose(h, Q, scale=scale)
    v = np.random.default_rng(3).standard_normal(Q.shape[1])
    t = 0.8
    u = g(v, t)
    close(Q @ u, h(Q @ v, t * scale))
    close((np.eye(Q.shape[1]) - Q.T @ Q / scale) @ (u - v), np.zeros(Q.shape[1]))


def test_the_stacked_analysis_frame_is_refused():
    # [I; I]/sqrt(2) is a Parseval frame the other way round: Q^T Q = I, Q Q^T a projection
    with pytest.raises(ShapeError, match=r"more rows \(6\) than columns \(3\)"):
        prox.compose(prox.l1(1.0), PARSEVAL.T)


# --- the definition: u minimizes t h(Q u) + ||u - v||^2 / 2 --------------------------------


def truth_h(name: str, z: np.ndarray) -> float:
    """h(z) written out (constraints: 0 inside up to 1e-12, inf outside)."""
    rows = len(z)
    lo, hi = np.linspace(-0.5, -0.1, rows), np.linspace(0.2, 0.6, rows)
    if name == "l1":
        return 0.3 * np.abs(z).sum()
    if name == "elastic_net":
        return 0.3 * np.abs(z).sum() + 0.25 * z @ z
    if name == "group_l1":
        groups = np.arange(rows) // 2
        return 0.3 * sum(np.sqrt((groups == k).sum()) * np.linalg.norm(z[groups == k])
                         for k in np.unique(groups))  # fmt: skip
    if name == "nonneg":
        return 0.0 if (z >= -1e-12).all() else np.inf
    return 0.0 if ((z >= lo - 1e-12) & (z <= hi + 1e-12)).all() else np.inf


def slsqp_prox(name: str, Q: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
    """``argmin_u t h(Q u) + ||u - v||^2 / 2`` by SLSQP on a smooth reformulation."""
    r, n = Q.shape
    opts = {"ftol": 1e-15, "maxiter": 2000}  # status 8: no descent left at this ftol
    if name in ("l1", "elastic_net"):  # epigraph: |Q u| <= s, minimize t (a 1^T s + b/2 |Qu|^2)
        b = 0.5 if name == "elastic_net" else 0.0

        def f(x):
            u, s = x[:n], x[n:]
            qu = Q @ u
            val = t * (0.3 * s.sum() + 0.5 * b * qu @ qu) + 0.5 * (u - v) @ (u - v)
            return val, np.concatenate([t * b * Q.T @ qu + u - v, np.full(r, 0.3 * t)])

        cons = [{"type": "ineq", "fun": lambda x, sg=sg: x[n:] + sg * (Q @ x[:n]),
                 "jac": lambda x, sg=sg: np.hstack([sg * Q, np.eye(r)])} for sg in (1, -1)]  # fmt: skip
        x0 = np.concatenate([v, np.abs(Q @ v) + 1])
        res = so.minimize(f, x0, jac=True, method="SLSQP", constraints=cons, options=opts)
        assert res.status in (0, 8), res.message
        return res.x[:n]
    if name == "group_l1":  # the dual: min_y t^2 |Q^T y|^2 / 2 - t y^T Q v, |y_g| <= lam sqrt|g|
        groups = np.arange(r) // 2
        caps = 0.3 * np.sqrt(np.bincount(groups))

        def f(y):
            w = Q.T @ y
            return 0.5 * t * t * w @ w - t * y @ (Q @ v), t * t * Q @ w - t * Q @ v

        cons = [{"type": "ineq", "fun": lambda y, k=k: caps[k] ** 2 - y[groups == k] @ y[groups == k],
                 "jac": lambda y, k=k: -2 * np.where(groups == k, y, 0.0)}
                for k in range(len(caps))]  # fmt: skip
        res = so.minimize(f, np.zeros(r), jac=True, method="SLSQP", constraints=cons, options=opts)
        assert res.status in (0, 8), res.message
        return v - t * Q.T @ res.x
    lo, hi = (np.zeros(r), None) if name == "nonneg" else (
        np.linspace(-0.5, -0.1, r), np.linspace(0.2, 0.6, r))  # fmt: skip
    cons = [{"type": "ineq", "fun": lambda u: Q @ u - lo, "jac": lambda u: Q}]
    if hi is not None:
        cons.append({"type": "ineq", "fun": lambda u: hi - Q @ u, "jac": lambda u: -Q})
    res = so.minimize(lambda u: (0.5 * (u - v) @ (u - v), u - v), v, jac=True, method="SLSQP",
                      constraints=cons, options=opts)  # fmt: skip
    assert res.status in (0, 8), res.message
    return res.x


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("Q", "scale"),
    [(random_orthogonal(), 1.0), (ROWSEL, 1.0), (PARSEVAL, 1.0), (FRAME2, 2.0)],
    ids=["orthogonal", "rowsel", "parseval", "x2"],
)
def test_the_prox_minimizes_its_objective(name, Q, scale):
    g = prox.compose(penalties(Q.shape[0])[name], Q, scale=scale)
    rng = np.random.default_rng(4)
    for t in (0.4, 1.5):
        v = 1.5 * rng.standard_normal(Q.shape[1])
        u = g(v, t)
        want = slsqp_prox(name, Q, v, t)

        def F(x, v=v, t=t):
            return t * truth_h(name, Q @ x) + 0.5 * (x - v) @ (x - v)

        assert np.isfinite(F(u))
        assert F(u) <= F(want) + 1e-10  # no point scipy finds is better
        close(u, want, 1e-6)  # 1-strongly convex: F(want) - F(u) >= |want - u|^2 / 2


def test_value_is_h_of_q_x_and_forgives_rounding_only():
    Q = random_orthogonal()
    g = prox.compose(prox.elastic_net(0.3, 0.5), Q)
    x = np.random.default_rng(5).standard_normal(N)
    assert g.value(x) == prox.elastic_net(0.3, 0.5).value(Q @ x)
    box = prox.compose(prox.nonneg(), Q)
    u = box(x, 1.0)  # Q u >= 0 up to rounding
    assert box.value(u) == 0.0
    assert box.value(u - 1e-6 * Q.T @ np.ones(N)) == np.inf  # outside by more than rounding


def test_check_delegates_to_h_on_q_rows():
    g = prox.compose(prox.group_l1(1.0, [0, 0, 1]), ROWSEL)  # one group per row of Q
    g.check(N)
    with pytest.raises(ShapeError, match=f"Q has {N} columns, the coefficients 4"):
        g.check(4)
    with pytest.raises(ShapeError, match=r"Q's 3 rows.*groups has 6 entries, the coefficients 3"):
        prox.compose(prox.group_l1(1.0, np.arange(N)), ROWSEL)
    with pytest.raises(ShapeError, match=r"Q's 3 rows.*lower has 6 entries"):
        prox.compose(prox.box(np.zeros(N), 1.0), ROWSEL)
    nested = prox.compose(prox.compose(prox.l1(1.0), dct_matrix(3)), ROWSEL)
    nested.check(N)
    assert "compose(compose(l1" in repr(nested)


def test_repr_names_q_and_is_deterministic():
    Q = random_orthogonal()
    one = repr(prox.compose(prox.l1(1.0), Q))
    assert one == repr(prox.compose(prox.l1(1.0), Q.copy()))
    assert one != repr(prox.compose(prox.l1(1.0), random_orthogonal(seed=9)))
    assert "dense 6x6" in one
    assert "LinearOperator 6x6" in repr(prox.compose(prox.l1(1.0), dct_operator()))
    assert "scale=2" in repr(prox.compose(prox.l1(1.0), sp.coo_matrix(FRAME2), scale=2))


def test_q_is_copied():
    Q = random_orthogonal()
    g = prox.compose(prox.l1(0.3), Q)
    v = np.ones(N)
    before = g(v, 1.0)
    Q[:] = 0.0
    assert np.array_equal(g(v, 1.0), before)


# --- a whole fit against scikit-learn and SciPy -------------------------------------------


# test_optimize's chunking table (uneven in the default run, the rest slow) and data
@pytest.fixture(params=CASES, ids=CHUNK_IDS)
def case(request):
    return request.param


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lasso_in_a_basis_equals_scikit_learn(case, dtype, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, dtype, sparse)
    Q = dct_matrix()
    rng = np.random.default_rng(6)
    y = X @ (Q.T @ np.array([2.0, 0.0, -1.0, 0.0, 0.5, 0.0])) + 0.1 * rng.standard_normal(len(X))
    lam = 0.05
    # (1/2m) |y - A x|^2 + lam |Q x|_1 is the Lasso in w = Q x on A Q^T, and x = Q^T w
    lasso = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X @ Q.T, y)
    res = dl.proximal_gradient(A, y, prox=prox.compose(prox.l1(lam), Q), tol=1e-13)
    assert res.success, res.message
    assert rel(res.coef, Q.T @ lasso.coef_) < 1e-6
    assert (lasso.coef_ == 0).any()  # the penalty is active: the test is not least squares


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_nonneg_in_a_basis_equals_scipy_nnls(case, sparse):
    shape, chunks = case
    X, A = design(shape, chunks, np.float64, sparse)
    Q = dct_matrix()
    rng = np.random.default_rng(7)
    y = X @ (Q.T @ np.array([1.0, -1.0, 0.5, -0.2, 0.0, 2.0])) + 0.05 * rng.standard_normal(len(X))
    want = Q.T @ so.nnls(X @ Q.T, y)[0]  # Q x >= 0 is w >= 0 for w = Q x
    res = dl.proximal_gradient(A, y, prox=prox.compose(prox.nonneg(), dct_operator()), tol=1e-8)
    assert res.success, res.message
    assert rel(res.coef, want) < 1e-6
    assert np.isfinite(res.fun)  # Q x >= 0 up to rounding counts as inside


# --- bad input: refused before any pass ---------------------------------------------------


def _boom():
    raise AssertionError("A was computed before compose's input was checked")


A_BOOM = da.from_delayed(dask.delayed(_boom)(), shape=(8, N), dtype=np.float64)
Y = np.arange(8.0)
NOT_TIGHT = np.random.default_rng(8).standard_normal((3, N))


class Duck:
    """An operator by duck typing: shape, matvec, rmatvec."""

    def __init__(self, matvec, rmatvec, shape=(N, N)):
        self.shape, self.matvec, self.rmatvec = shape, matvec, rmatvec


def _nan(x):
    return np.full(N, np.nan)


BAD = [
    (lambda: prox.compose("l1", dct_matrix()), OperandTypeError, "h must be a dlinalg"),
    (lambda: prox.compose(np.abs, dct_matrix()), TypeError, "h must be a dlinalg"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale=0.0), ParameterError, "scale must"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale=-1), ParameterError, "scale must"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale=np.inf), ParameterError, "> 0"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale=np.nan), ParameterError, "> 0"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale=True), ParameterError, "True"),
    (lambda: prox.compose(prox.l1(1.0), dct_matrix(), scale="1"), ParameterError, "scale="),
    (lambda: prox.compose(prox.l1(1.0), np.ones(N)), ShapeError, r"2-D .*got shape \(6,\)"),
    (lambda: prox.compose(prox.l1(1.0), np.ones((1, 1, N))), ShapeError, "must be 2-D"),
    (lambda: prox.compose(prox.l1(1.0), np.ones((0, N))), ShapeError, "at least one row"),
    (lambda: prox.compose(prox.l1(1.0), PARSEVAL.T), ShapeError, "more rows"),
    (lambda: prox.compose(prox.l1(1.0), np.eye(N, dtype=bool)), DTypeError, "dtype bool"),
    (lambda: prox.compose(prox.l1(1.0), np.eye(N) * 1j), DTypeError, "complex"),
    (lambda: prox.compose(prox.l1(1.0), [["a", "b"]]), DTypeError, "real numbers"),
    (lambda: prox.compose(prox.l1(1.0), [[1.0], [1.0, 2.0]]), OperandTypeError, "Q must be"),
    (lambda: prox.compose(prox.l1(1.0), sp.eye_array(N, dtype=bool)), DTypeError, "bool"),
    (
        lambda: prox.compose(prox.l1(1.0), np.where(np.eye(N) > 0, np.nan, 0.0)),
        NonFiniteError,
        "Q contains NaN",
    ),
    (
        lambda: prox.compose(prox.l1(1.0), sp.csr_array(np.diag([np.inf] + [1.0] * (N - 1)))),
        NonFiniteError,
        "Q contains NaN",
    ),
    (
        lambda: prox.compose(prox.l1(1.0), NOT_TIGHT),
        ParameterError,
        r"\|\|Q Q\^T - scale I\|\|_F / \(scale sqrt\(3\)\) = \d",
    ),
    (
        lambda: prox.compose(prox.l1(1.0), sp.csr_array(NOT_TIGHT)),
        ParameterError,
        r"= \d.*> 1e-08.*dl.linprog",
    ),
    (lambda: prox.compose(prox.l1(1.0), 2 * dct_matrix()), ParameterError, r"pass scale=4\."),
    (lambda: prox.compose(prox.l1(1.0), FRAME2), ParameterError, r"pass scale=2\."),
    (lambda: prox.compose(prox.l1(1.0), PARSEVAL, scale=2), ParameterError, r"pass scale=1\."),
    (lambda: prox.compose(prox.l1(1.0), da.eye(N)), OperandTypeError, "compute Q first"),
    (lambda: prox.compose(prox.l1(1.0), dl.from_array(np.eye(N))), OperandTypeError, "Dask|DRM"),
    (
        lambda: prox.compose(prox.l1(1.0), 2 * dct_operator()),
        ParameterError,
        "over 3 random probes",
    ),
    (
        lambda: prox.compose(prox.l1(1.0), LinearOperator((N, N), matvec=lambda x: x)),
        OperandTypeError,
        "rmatvec",
    ),
    (lambda: prox.compose(prox.l1(1.0), Duck(_nan, _nan)), NonFiniteError, "NaN or infinity"),
    (
        lambda: prox.compose(prox.l1(1.0), Duck(lambda x: x[:3], lambda z: z)),
        ShapeError,
        r"Q.matvec returned shape \(3,\), expected \(6,\)",
    ),
    (
        lambda: prox.compose(prox.l1(1.0), Duck(lambda x: x, lambda z: z, (N, N, 1))),
        ShapeError,
        "must be 2-D",
    ),
    (
        lambda: prox.compose(prox.group_l1(1.0, [0, 1]), dct_matrix()),
        ShapeError,
        "Q's 6 rows",
    ),
    (  # Q sized for another A: refused by proximal_gradient's check, before the persist
        lambda: prox.compose(prox.l1(1.0), dct_matrix(4)),
        ShapeError,
        "Q has 4 columns, the coefficients 6",
    ),
]


@pytest.mark.parametrize(("make", "error", "match"), BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_is_refused_before_any_pass(make, error, match, monkeypatch):
    from dlinalg.solvers import _operator

    def no_pass(*args, **kwargs):
        raise AssertionError("A was persisted before compose's input was checked")

    monkeypatch.setattr(_operator.RowOperator, "__init__", no_pass)
    with pytest.raises(error, match=match) as err:  # A_BOOM raises if anything computes it
        dl.proximal_gradient(A_BOOM, Y, prox=make())
    assert isinstance(err.value, DLinalgError)


def test_the_probe_is_seeded_and_catches_a_slight_deviation():
    Q = dct_matrix()
    off = Q.copy()
    off[0] *= 1 + 1e-6  # Q Q^T = I except one entry 1 + 2e-6
    op = LinearOperator((N, N), matvec=lambda x: off @ x, rmatvec=lambda z: off.T @ z)
    messages = []
    for _ in range(2):
        with pytest.raises(ParameterError, match="random probes") as err:
            prox.compose(prox.l1(1.0), op)
        messages.append(str(err.value))
    assert messages[0] == messages[1]  # the same probes each call
    with pytest.raises(ParameterError, match=r"sqrt\(6\)\) = 8\.\d+e-07"):  # 2e-6 / sqrt(6)
        prox.compose(prox.l1(1.0), off)
