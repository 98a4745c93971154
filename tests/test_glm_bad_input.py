"""Bad input to the GLM estimators: refused before any graph, naming the value.

Each row is ``(estimator, X, y, fit keywords, exception, message pattern)``;
the ``no_graph_no_compute`` fixture fails the test if a Dask graph is started
or anything computed before the error. X is numpy (scikit-learn's checks) or
a DRM built at import, outside the guard (metadata checks only).
"""

from __future__ import annotations

import numpy as np
import pytest
from dlinalg.models import ElasticNet, Lasso, LogisticRegression, PoissonRegressor
from sklearn.utils._param_validation import InvalidParameterError

import dlinalg as dl

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 3))
A = dl.from_array(X, chunks=5)  # built outside the guard
Y01 = (X[:, 0] > 0).astype(int)
YR = X @ [1.0, 2.0, 3.0]
YC = np.abs(np.round(YR))
X_NAN = X.copy()
X_NAN[3, 1] = np.nan
X_INF = X.copy()
X_INF[0, 0] = np.inf

ROWS = [
    # --- LogisticRegression parameters
    (LogisticRegression(C=0), A, Y01, {}, InvalidParameterError, r"'C' parameter.*Got 0"),
    (LogisticRegression(C=-1.0), X, Y01, {}, InvalidParameterError, r"'C' parameter"),
    (LogisticRegression(l1_ratio=1.5), A, Y01, {}, InvalidParameterError, r"'l1_ratio'.*1.5"),
    (LogisticRegression(l1_ratio=-0.1), X, Y01, {}, InvalidParameterError, r"'l1_ratio'"),
    (LogisticRegression(l1_ratio=True), X, Y01, {}, InvalidParameterError, r"'l1_ratio'"),
    (
        LogisticRegression(penalty="elasticnet", l1_ratio=None),
        A,
        Y01,
        {},
        ValueError,
        r"l1_ratio must be specified",
    ),
    (LogisticRegression(penalty="l3"), X, Y01, {}, InvalidParameterError, r"'penalty'"),
    (
        LogisticRegression(solver="newton-cg", l1_ratio=0.5),
        A,
        Y01,
        {},
        ValueError,
        r"newton-cg supports only 'l2'.*l1_ratio=0.5",
    ),
    (
        LogisticRegression(solver="newton-cholesky", penalty="l1"),
        A,
        Y01,
        {},
        ValueError,
        r"newton-cholesky supports only",
    ),
    (
        LogisticRegression(class_weight="auto"),
        X,
        Y01,
        {},
        InvalidParameterError,
        r"'class_weight'",
    ),
    (LogisticRegression(max_iter=0), X, Y01, {}, InvalidParameterError, r"'max_iter'"),
    (LogisticRegression(tol=-1), X, Y01, {}, InvalidParameterError, r"'tol'"),
    # --- LogisticRegression labels
    (LogisticRegression(), A, YR, {}, ValueError, r"Unknown label type: continuous"),
    (LogisticRegression(), X, YR, {}, ValueError, r"Unknown label type: continuous"),
    (LogisticRegression(), A, np.zeros(20), {}, ValueError, r"only one class: np.float64\(0.0\)"),
    (
        LogisticRegression(),
        A,
        Y01[:19],
        {},
        ValueError,
        r"inconsistent numbers of samples.*20, 19",
    ),
    (LogisticRegression(), X, Y01[:19], {}, ValueError, r"inconsistent numbers of samples"),
    (LogisticRegression(), A, None, {}, ValueError, r"requires y to be passed"),
    (LogisticRegression(), A, np.c_[Y01, Y01], {}, ValueError, r"1d array|column-vector"),
    # --- sample weights
    (
        LogisticRegression(),
        A,
        Y01,
        {"sample_weight": np.ones(19)},
        ValueError,
        r"sample_weight.shape == \(19,\), expected \(20,\)",
    ),
    (
        LogisticRegression(),
        A,
        Y01,
        {"sample_weight": -np.ones(20)},
        ValueError,
        r"Negative values in data passed to `sample_weight`",
    ),
    (
        LogisticRegression(),
        A,
        Y01,
        {"sample_weight": np.r_[np.nan, np.ones(19)]},
        ValueError,
        r"NaN",
    ),
    (
        LogisticRegression(),
        A,
        Y01,
        {"sample_weight": np.zeros(20)},
        ValueError,
        r"Sample weights must contain at least one non-zero",
    ),
    (Lasso(), A, YR, {"sample_weight": np.ones(21)}, ValueError, r"expected \(20,\)"),
    (PoissonRegressor(), A, YC, {"sample_weight": -np.ones(20)}, ValueError, r"Negative"),
    # --- non-finite in-memory input
    (LogisticRegression(), X_NAN, Y01, {}, ValueError, r"Input X contains NaN"),
    (Lasso(), X_INF, YR, {}, ValueError, r"Input X contains infinity"),
    (ElasticNet(), A, np.r_[np.inf, YR[1:]], {}, ValueError, r"Input y contains infinity"),
    (PoissonRegressor(), A, np.r_[np.nan, YC[1:]], {}, ValueError, r"Input y contains NaN"),
    # --- PoissonRegressor
    (PoissonRegressor(), A, YR, {}, ValueError, r"y must be >= 0, got min\(y\)=-"),
    (PoissonRegressor(), X, -YC - 1, {}, ValueError, r"HalfPoissonLoss"),
    (PoissonRegressor(alpha=-1), A, YC, {}, InvalidParameterError, r"'alpha'"),
    (PoissonRegressor(solver="newton-cg"), A, YC, {}, InvalidParameterError, r"'solver'"),
    (PoissonRegressor(tol=0), A, YC, {}, InvalidParameterError, r"'tol'"),
    # --- Lasso and ElasticNet
    (Lasso(alpha=-1.0), A, YR, {}, InvalidParameterError, r"'alpha'.*-1.0"),
    (ElasticNet(l1_ratio=1.5), A, YR, {}, InvalidParameterError, r"'l1_ratio'.*1.5"),
    (ElasticNet(l1_ratio=-0.5), X, YR, {}, InvalidParameterError, r"'l1_ratio'"),
    (ElasticNet(selection="greedy"), A, YR, {}, InvalidParameterError, r"'selection'"),
    (Lasso(positive=True), A, np.c_[YR, YR], {}, ValueError, r"positive=True.*multi-output"),
    (Lasso(), A, YR[:10], {}, ValueError, r"inconsistent numbers of samples.*20, 10"),
    (Lasso(), A, np.array(["a"] * 20), {}, ValueError, r"could not convert|numeric"),
]


@pytest.mark.parametrize(
    ("est", "X", "y", "kw", "exc", "match"),
    ROWS,
    ids=[f"{type(r[0]).__name__}-{i}" for i, r in enumerate(ROWS)],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # "alpha=0" and friends are not the point
def test_refused_before_any_graph(est, X, y, kw, exc, match, no_graph_no_compute):
    with pytest.raises(exc, match=match):
        est.fit(X, y, **kw)


# numpy warns in the loss kernel (dlinalg.physical.glm) before the optimizer raises
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_lazy_nan_is_reported_by_the_first_pass():
    """NaN in lazy X is found by the fit's first pass (no separate scan)."""
    from dlinalg.errors import NonFiniteError

    bad = dl.from_array(X_NAN, chunks=5)
    with pytest.raises(NonFiniteError):
        Lasso(alpha=0.1).fit(bad, YR)
    with pytest.raises(NonFiniteError):
        LogisticRegression().fit(bad, Y01)
