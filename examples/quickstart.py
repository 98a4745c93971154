"""dlinalg quickstart: R-like algebra over a Zarr-backed matrix on a LocalCluster.

Run with ``python examples/quickstart.py`` (well under a minute on 2 cores).
It starts a cluster on 127.0.0.1, writes a random 200,000 x 50 matrix to a
Zarr store, reads it back lazily, runs the algebra, shows the optimized plans,
factors it (QR, PCA, randomized SVD), solves least squares (LSQR with a
checkpoint, LinearRegression, svds), fits a logistic regression and a Lasso,
finds similar items in a purchase/view
log (Mahout's CCO with the log-likelihood ratio), factors it by implicit
ALS, and checks every result
against numpy and scikit-learn.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.optimize
from dlinalg.models import (
    ALS,
    PCA,
    Interactions,
    ItemSimilarity,
    Lasso,
    LinearRegression,
    LogisticRegression,
    log_likelihood_ratio,
)
from dlinalg.models.recommenders.datasets import make_interactions
from sklearn.decomposition import PCA as SkPCA
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import dlinalg as dl
from dlinalg.optimize import prox

NROW, NCOL, CHUNK = 200_000, 50, 20_000


def check(name: str, got: np.ndarray, expected: np.ndarray, tol: float = 1e-10) -> None:
    """Print how far a dlinalg result is from numpy's, and stop if it is off by ``tol``."""
    err = float(np.max(np.abs(got - expected)) / max(1.0, float(np.max(np.abs(expected)))))
    print(f"  {name:<34} max relative difference from numpy {err:.1e}")
    if not err < tol:
        raise SystemExit(f"{name} does not match numpy")


def top_llr(M, item: int) -> float:
    """The best LLR of ``item`` against another item, by numpy."""
    A = (M.toarray() > 0).astype(float)
    counts = A.T @ A
    k11 = counts[item]
    k12, k21 = counts[item, item] - k11, np.diag(counts) - k11
    llr = log_likelihood_ratio(k11, k12, k21, A.shape[0] - k11 - k12 - k21)
    llr[item] = 0.0  # self-pairs are dropped
    return float(llr.max())


def main() -> None:
    start = time.perf_counter()
    # Worker processes, scheduler and dashboard on 127.0.0.1; prints the dashboard link.
    with dl.local_cluster() as client, tempfile.TemporaryDirectory() as tmp:
        # 1. A random matrix, written to Zarr (crash-safe) and read back lazily.
        path = Path(tmp) / "A.zarr"
        dl.random((NROW, NCOL), chunks=CHUNK, seed=0).to_zarr(path)
        A = dl.read_zarr(path)  # row blocks = the store's chunks; nothing read yet
        print(f"\nA = {A!r}, stored in {path.name}")

        # 2. The Gram matrix A'A: the optimizer turns it into one pass.
        print("\nPlan of A.T @ A:")
        print((A.T @ A).explain())
        G = (A.T @ A).compute()

        # 3. Several results of one matrix in one pass over the store.
        means, G2 = dl.compute(A.col_means(), A.T @ A)
        print("\nPlan of A.col_means():")
        print(A.col_means().explain())

        # 4. A matrix-vector product, and least squares with an intercept column:
        #    solve (X'X) b = X'y with X = [A, 1], the two products in one pass.
        beta = np.linspace(-1.0, 1.0, NCOL)
        y = (A @ beta).compute() + 3.0
        X = dl.cbind(A, 1.0)
        print("\nPlan of X.T @ X with X = cbind(A, 1.0):")
        print((X.T @ X).explain())
        XtX, Xty = dl.compute(X.T @ X, X.T @ y)
        fit = np.linalg.solve(XtX, Xty)

        # 5. Proof: the same numbers from numpy on the whole matrix in memory.
        print("\nChecks against numpy:")
        An = A.compute()
        Xn = np.hstack([An, np.ones((NROW, 1))])
        check("A.T @ A", G, An.T @ An)
        check("dl.compute(col_means, A.T @ A)", np.concatenate([means, G2.ravel()]),
              np.concatenate([An.mean(axis=0), (An.T @ An).ravel()]))  # fmt: skip
        check("A @ beta", y - 3.0, An @ beta)
        check("cbind(A, 1.0).T @ cbind(A, 1.0)", XtX, Xn.T @ Xn)
        check("least-squares fit [beta, 3]", fit, np.append(beta, 3.0))

        # 6. Decompositions: QR (two passes, Q lazy), and PCA of a matrix with
        #    5 strong directions plus noise, built lazily with the algebra.
        plan = dl.explain(dl.qr, A)  # runs dl.qr(A) and notes every pass it makes
        Q, R = plan.result
        print("\nPasses of dl.qr(A):")
        print(plan)
        rng = np.random.default_rng(1)
        B = dl.random((NROW, 5), chunks=CHUNK, seed=1) @ (10 * rng.standard_normal((5, NCOL)))
        B = B + 0.5 * A + 2.0
        pca = PCA(n_components=5).fit(B)  # one pass: means + stable covariance, then eigh
        U, s, Vt = dl.ssvd(B, k=6, q=2, seed=0)  # randomized SVD of B (mean + 5 directions)
        print("\nPCA of B: explained variance ratio", np.round(pca.explained_variance_ratio_, 4))
        Bn = B.compute()
        q = Q.compute()
        check("qr: Q'Q = I", q.T @ q, np.eye(NCOL))
        check("qr: QR = A", q @ R, A.compute())
        check("PCA explained variance", pca.explained_variance_,
              SkPCA(5, svd_solver="full").fit(Bn).explained_variance_)  # fmt: skip
        check("ssvd singular values", s, np.linalg.svd(Bn, compute_uv=False)[:6])
        u = U.compute()
        check("ssvd: U'U = I and Vt Vt' = I", np.hstack([u.T @ u, Vt @ Vt.T]),
              np.hstack([np.eye(6), np.eye(6)]))  # fmt: skip

        # 7. Iterative solvers: LSQR reads A once per iteration, checkpoints its
        #    whole state, and resumes bit for bit; LinearRegression is one pass.
        ckpt = Path(tmp) / "lsqr.npz"
        part = dl.lsqr(A, y, atol=1e-12, btol=1e-12, maxiter=5, checkpoint=ckpt)
        res = dl.lsqr(A, y, atol=1e-12, btol=1e-12, checkpoint=ckpt)  # resumes at iteration 5
        print(f"\nLSQR: stopped at {part.itn}, resumed to {res.itn} iterations: {res.message}")
        reg = LinearRegression().fit(A, y)
        top = dl.svds(A, 3, seed=0, return_singular_vectors=False)
        check("lsqr x = numpy lstsq(A, y)", res.x,
              np.linalg.lstsq(An, y, rcond=None)[0])  # fmt: skip
        check("LinearRegression [coef, intercept]", np.append(reg.coef_, reg.intercept_),
              np.append(beta, 3.0))  # fmt: skip
        check("svds top-3 singular values", np.sort(top)[::-1],
              np.linalg.svd(An, compute_uv=False)[:3])  # fmt: skip

        # 8. Optimization: a logistic regression and a Lasso on the same blocks,
        #    one pass per evaluation (Newton: ~7 passes), checked against scikit-learn.
        label = (An @ np.linspace(-1, 1, NCOL) + rng.logistic(size=NROW) > 0).astype(float)
        logit = LogisticRegression(C=1.0, tol=1e-8).fit(A, label)
        newton = dl.newton_cg(A, label, fit_intercept=True, l2=1 / NROW)
        print(f"\nLogistic regression: {newton.nit} Newton iterations, {newton.npass} passes")
        check("LogisticRegression coef_ = scikit-learn's", logit.coef_,
              SkLogisticRegression(C=1.0, tol=1e-10).fit(An, label).coef_, tol=1e-6)  # fmt: skip
        lasso = Lasso(alpha=0.01).fit(A, y)  # one pass: the Gram, then coordinate descent
        check("Lasso coef_ = scikit-learn's", lasso.coef_, SkLasso(alpha=0.01).fit(An, y).coef_,
              tol=1e-6)  # fmt: skip
        # TFOCS's accelerated proximal gradient: one pass per iteration (A x and A z
        # stay on the workers), here with the constraint coef >= 0.
        nnls = dl.proximal_gradient(A, y, prox=prox.nonneg(), tol=1e-10)
        print(f"Non-negative least squares: {nnls.nit} iterations, {nnls.npass} passes")
        check("proximal_gradient nonneg = SciPy's nnls", nnls.coef,
              scipy.optimize.nnls(An, y)[0], tol=1e-6)  # fmt: skip

        # 9. Recommenders: Mahout's cross-occurrence indicators (LLR) from a
        #    purchase/view log, counts by the optimizer's A'A and A'B plans.
        log = make_interactions(2000, 300, 30_000, n_clusters=6, seed=0)
        shop = Interactions.from_dataframe(log, action="action")
        sim = ItemSimilarity(  # no caps: the numpy check below counts every interaction
            max_similar_items=10, max_interactions_per_user=None, max_interactions_per_item=None
        ).fit(shop)
        items, scores = sim.similar_items(shop.items(0)[0], N=3)
        print(
            f"\nItems most like item {shop.items(0)[0]}: {list(items)}, LLR {np.round(scores, 2)}"
        )
        check("ItemSimilarity top LLR (item 0)", scores[:1], [top_llr(shop.matrix(0), 0)])
        als = ALS(16, iterations=5, solver="cholesky", seed=0).fit(shop)  # implicit feedback
        print(f"ALS loss per iteration: {np.round(als.loss_, 5)}")
        check("ALS loss never increases", np.diff(als.loss_).clip(min=0), np.zeros(4))
        # implicit's calls: a batch of users by label, and a new user folded in
        # from its history (Hu, Koren and Volinsky's eq. 4, solved by numpy below)
        users = shop.users[:2].tolist()
        ids, _ = als.recommend(users, N=3)
        print(f"ALS recommends to users {users}: {ids.tolist()}")
        row = shop.matrix(0)[[0]]
        Y, r = als.item_factors_, row.toarray()[0]
        c = 1 + als.alpha * r
        x = np.linalg.solve(Y.T @ (c[:, None] * Y) + als.regularization * np.eye(16),
                            Y.T @ (c * (r > 0)))  # fmt: skip
        check("ALS fold-in = numpy solve", als.recalculate_user("new", row), x)

        print(f"\nFitted intercept {fit[-1]:.6f} (true 3), slopes {fit[0]:.6f} ... {fit[-2]:.6f}")
        print(f"Dashboard: {client.dashboard_link}")
    print(f"Done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":  # worker processes are spawned: keep the guard
    main()
