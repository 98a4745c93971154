"""The documentation's figures, drawn at build time from real runs on small data.

Each function draws one figure with matplotlib (Agg) and is called by the
``.. plot:: _figures.py <function>`` directives of the pages
(:mod:`matplotlib.sphinxext.plot_directive`, which writes the PNGs into the
build directory; nothing here is committed as an image). Every run is small
(at most a few thousand rows) and uses Dask's local schedulers, so the whole
set draws in well under a minute on two cores.

Run one by hand to look at it::

    .venv/bin/python -c "import sys; sys.path.insert(0, 'docs/source'); \
import _figures, matplotlib.pyplot as plt; _figures.ssvd_spectrum(); plt.savefig('a.png')"
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import dlinalg as dl

_BLUE, _ORANGE, _GREEN, _RED, _GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"


# --- (a) randomized SVD against LAPACK ---------------------------------------------------


def ssvd_spectrum() -> None:
    """Planted spectrum of a 3,000 x 300 matrix, found by ``dl.ssvd`` and by LAPACK."""
    rng = np.random.default_rng(0)
    m, n, k = 3000, 300, 20
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    sigma = 1.0 / (1.0 + np.arange(n)) ** 1.0  # slow decay: hard for a sketch
    X = (U * sigma) @ V.T
    A = dl.from_array(X, chunks=500)

    lapack = np.linalg.svd(X, compute_uv=False)
    found = {q: dl.ssvd(A, k=k, q=q, seed=0)[1] for q in (0, 1, 2)}

    _fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained")
    i = np.arange(1, n + 1)
    left.loglog(i, sigma, color=_GREY, lw=3, alpha=0.5, label="planted")
    left.loglog(i, lapack, color="k", lw=1, label="LAPACK (np.linalg.svd)")
    for q, color in zip(found, (_RED, _ORANGE, _GREEN), strict=True):
        left.loglog(i[:k], found[q], "o", ms=4, mfc="none", color=color, label=f"dl.ssvd, q={q}")
    left.axvline(k, color=_GREY, ls=":", lw=1)
    left.set(xlabel="index i", ylabel="singular value", title=f"Spectrum (k = {k})")
    left.legend(fontsize=8)

    tiny = np.finfo(float).eps * sigma[0] / 10  # exact agreement drawn at the floor
    err = np.maximum(np.abs(lapack[:k] - sigma[:k]) / sigma[:k], tiny)
    right.semilogy(i[:k], err, "k.-", label="LAPACK (np.linalg.svd)")
    for q, color in zip(found, (_RED, _ORANGE, _GREEN), strict=True):
        rel = np.maximum(np.abs(found[q] - sigma[:k]) / sigma[:k], tiny)
        right.semilogy(i[:k], rel, ".-", color=color, label=f"dl.ssvd, q={q}")
    right.set(xlabel="index i", ylabel="relative error |s_i - sigma_i| / sigma_i", title="Error")
    right.set_xticks([1, 5, 10, 15, 20])
    right.legend(fontsize=8)


# --- (b) LSQR and LSMR against SciPy -----------------------------------------------------


def _least_squares_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    m, n = 2000, 60
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    X = (U * np.logspace(0, -3, n)) @ V.T  # cond(A) = 1e3
    b = X @ rng.standard_normal(n) + 1e-2 * rng.standard_normal(m)
    return X, b


def solver_convergence() -> None:
    """Residuals of ``dl.lsqr``/``dl.lsmr`` per iteration beside SciPy's."""
    X, b = _least_squares_problem()
    A = dl.from_array(X, chunks=500)
    iters = 60
    x_star = np.linalg.lstsq(X, b, rcond=None)[0]
    r_star = np.linalg.norm(b - X @ x_star)

    def norms(xs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        R = b[:, None] - X @ np.array(xs).T
        return np.linalg.norm(R, axis=0), np.linalg.norm(X.T @ R, axis=0)

    tol = {"atol": 1e-14, "btol": 1e-14}
    curves = {}
    for name, ours, theirs, limit in (
        ("LSQR", dl.lsqr, spla.lsqr, "iter_lim"),
        ("LSMR", dl.lsmr, spla.lsmr, "maxiter"),
    ):
        xs: list[np.ndarray] = []
        ours(A, b, maxiter=iters, callback=xs.append, **tol)
        # SciPy's lsqr and lsmr take no callback: rerun with 1, 2, ... iterations
        ref = [theirs(X, b, **tol, **{limit: j})[0] for j in range(1, len(xs) + 1)]
        curves[name] = (norms(xs), norms(ref))

    _fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained")
    for name, color in (("LSQR", _BLUE), ("LSMR", _ORANGE)):
        (r, ar), (r_ref, ar_ref) = curves[name]
        it = np.arange(1, len(r) + 1)
        left.semilogy(it, r - r_star, "-", color=color, lw=2, label=f"dl.{name.lower()}")
        left.semilogy(it, r_ref - r_star, "x", color="k", ms=4, mew=0.8)
        right.semilogy(it, ar, "-", color=color, lw=2, label=f"dl.{name.lower()}")
        right.semilogy(it, ar_ref, "x", color="k", ms=4, mew=0.8)
    for ax in (left, right):
        ax.plot([], [], "x", color="k", label="scipy.sparse.linalg")
        ax.set_xlabel("iteration")
        ax.legend(fontsize=8)
    left.set(ylabel="||r_k|| - ||r_*||", title="Residual above the least-squares optimum")
    right.set(ylabel="||A^T r_k||", title="Normal-equation residual")


# --- (c) plans as graphs -----------------------------------------------------------------

_BRANCH = re.compile(r"^((?:│  |   )*)(?:├─ |└─ )?(.*)$")
_SHARED = " (shared, drawn above)"


def _parse_tree(lines: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """Nodes and (child, parent) edges of one ``explain()`` tree, shared nodes merged."""
    labels: list[str] = []
    edges: list[tuple[int, int]] = []
    stack: list[int] = []  # node index at each depth
    for line in lines:
        prefix, text = _BRANCH.match(line).groups()
        depth = len(prefix) // 3 + (1 if line[len(prefix) :].startswith(("├─", "└─")) else 0)
        shared = text.endswith(_SHARED)
        text = text.removesuffix(_SHARED)
        if shared and text in labels:
            node = labels.index(text)
        else:
            labels.append(text)
            node = len(labels) - 1
        del stack[depth:]
        if stack:
            edges.append((node, stack[-1]))
        stack.append(node)
    return labels, edges


def _parse_passes(text: str) -> list[tuple[str, list[str], list[tuple[int, int]]]]:
    """``str(dl.explain(...))`` (or one ``explain()`` tree) as (title, nodes, edges) per pass."""
    lines = text.splitlines()
    if not lines[0].startswith("pass"):  # one tree, from ``explain()``
        return [("", *_parse_tree(lines))]
    passes: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("pass"):
            passes.append((line, []))
        else:
            passes[-1][1].append(line.removeprefix("  "))
    return [(title, *_parse_tree(lines)) for title, lines in passes]


def _box_text(label: str) -> str:
    op, _, shape = label.partition("  [")
    body = "\n".join(textwrap.wrap(op, 22))
    return f"{body}\n[{shape}" if shape else body


def _layout(n: int, edges: list[tuple[int, int]]) -> dict[int, tuple[float, float]]:
    """A tidy tree: leaves side by side, parents above the middle of their children."""
    children: dict[int, list[int]] = {i: [] for i in range(n)}
    has_parent = set()
    for child, parent in edges:
        if child not in has_parent:  # a shared node is placed under its first parent
            children[parent].append(child)
            has_parent.add(child)
    pos: dict[int, tuple[float, float]] = {}
    next_x = [0.0]

    def place(node: int, depth: int) -> float:
        if children[node]:
            xs = [place(c, depth + 1) for c in children[node]]
            x = sum(xs) / len(xs)
        else:
            x = next_x[0]
            next_x[0] += 1.0
        pos[node] = (x, -float(depth))
        return x

    for root in (i for i in range(n) if i not in has_parent):
        place(root, 0)
    return pos


def _colour(label: str) -> str:
    if label.startswith("Leaf"):
        return "#e8e8e8"
    if label.startswith(("Gram", "AtB", "ChainPass", "ColStats", "BlockReduce", "MatvecStep")):
        return "#cfe2f3"  # a pass over the data
    return "#fff2cc"


def _draw_matplotlib(ax: plt.Axes, title: str, labels: list[str], edges, depth: int) -> None:
    pos = _layout(len(labels), edges)
    boxes = {
        i: ax.text(
            x,
            y,
            _box_text(labels[i]),
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
            bbox={"boxstyle": "round,pad=0.5", "fc": _colour(labels[i]), "ec": "#555555"},
        )
        for i, (x, y) in pos.items()
    }
    for child, parent in edges:  # data flows up, from the leaves to the result
        ax.annotate(
            "",
            xy=pos[parent],
            xytext=pos[child],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#333333",
                "patchA": boxes[child].get_bbox_patch(),
                "patchB": boxes[parent].get_bbox_patch(),
                "shrinkA": 2,
                "shrinkB": 2,
            },
        )
    xs = [x for x, _ in pos.values()]
    ax.set_xlim(min(xs) - 0.55, max(xs) + 0.55)
    ax.set_ylim(-depth + 0.5, 0.5)  # the same for every panel: roots side by side
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def _dot_source(panels) -> str:
    out = [
        "digraph plan {",
        "  rankdir=BT;",
        '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
    ]
    for p, (title, labels, edges) in enumerate(panels):
        out.append(
            f'  subgraph cluster_{p} {{ label="{title}"; labelloc=t; fontname="sans-serif";'
        )
        for i, label in enumerate(labels):
            text = _box_text(label).replace('"', r"\"").replace("\n", r"\n")
            out.append(f'    n{p}_{i} [label="{text}", fillcolor="{_colour(label)}"];')
        out.extend(f"    n{p}_{c} -> n{p}_{q};" for c, q in edges)
        out.append("  }")
    out.append("}")
    return "\n".join(out)


def _draw(panels, dot: str | None = None) -> None:
    """Draw the plan trees: with graphviz's ``dot`` when installed, else with matplotlib."""
    dot = shutil.which("dot") if dot is None else dot
    if dot:
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "plan.png"
            subprocess.run(
                [dot, "-Tpng", "-Gdpi=110", "-o", str(png)],
                input=_dot_source(panels),
                text=True,
                check=True,
            )
            image = plt.imread(png)
        h, w = image.shape[:2]
        fig = plt.figure(figsize=(w / 110, h / 110))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(image)
        ax.axis("off")
        return
    widths = [len(set(range(len(lab))) - {q for _, q in ed}) for _, lab, ed in panels]  # leaves
    depth = 1 - min(y for _, lab, ed in panels for _, y in _layout(len(lab), ed).values())
    _fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(2.5 * sum(widths) + 0.3, 1.2 * depth + 0.5),
        width_ratios=widths,
        layout="constrained",
        squeeze=False,
    )
    for ax, (title, labels, edges) in zip(axes[0], panels, strict=True):
        _draw_matplotlib(ax, title, labels, edges, depth)


def _small_matrix() -> dl.DRM:
    return dl.from_array(np.random.default_rng(0).standard_normal((1000, 5)), chunks=100)


def plan_gram() -> None:
    """The optimized plan of ``A.T @ A`` and of ``A.T @ (A * 2 + 1)``."""
    A = _small_matrix()
    panels = _parse_passes((A.T @ A).explain()) + _parse_passes((A.T @ (A * 2 + 1)).explain())
    panels[0] = ("A.T @ A", *panels[0][1:])
    panels[1] = ("A.T @ (A * 2 + 1)", *panels[1][1:])
    _draw(panels)


def plan_qr() -> None:
    """The passes of ``dl.qr(A)``, as ``dl.explain`` records them."""
    _draw(_parse_passes(str(dl.explain(dl.qr, _small_matrix()))))


# --- (d) PCA of the demo shop ------------------------------------------------------------


def _demo_items() -> tuple[sp.csr_array, np.ndarray]:
    """The demo log's item x user matrix (1 where a user bought or viewed) and categories."""
    from dlinalg.models.datasets import demo_interactions

    log = demo_interactions()
    items = log["item"].astype("category")
    users = log["user"].astype("category")
    ones = np.ones(len(log))
    R = sp.csr_array((ones, (items.cat.codes.to_numpy(), users.cat.codes.to_numpy())))
    R.data[:] = 1.0  # a purchase and a view of one item by one user count once
    categories = np.array([label.rsplit("-", 1)[0] for label in items.cat.categories])
    return R, categories


def pca_scatter() -> None:
    """PCA of the demo shop's 280 products, coloured by their category (the planted cluster)."""
    from dlinalg.models import PCA

    R, categories = _demo_items()
    norms = np.sqrt(np.asarray(R.multiply(R).sum(axis=1))).ravel()
    X = dl.from_array(sp.csr_array(sp.diags_array(1.0 / norms) @ R), chunks=70)  # unit rows
    pca = PCA(n_components=4, svd_solver="gram").fit(X)
    Z = pca.transform(X).compute()

    _fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8), layout="constrained")
    cmap = plt.get_cmap("tab10")
    for ax, (a, b) in zip(axes, ((0, 1), (2, 3)), strict=True):
        for c, name in enumerate(np.unique(categories)):
            mine = categories == name
            ax.scatter(Z[mine, a], Z[mine, b], s=14, color=cmap(c), label=name, alpha=0.8)
        ratio = pca.explained_variance_ratio_
        ax.set(
            xlabel=f"PC {a + 1} ({ratio[a]:.1%} of the variance)",
            ylabel=f"PC {b + 1} ({ratio[b]:.1%})",
        )
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))


# --- (e) precision@k of the recommenders -------------------------------------------------


def recommender_precision() -> None:
    """precision@k of ItemSimilarity and ALS against popularity, on held-out purchases."""
    from dlinalg.models import ALS, ItemSimilarity
    from dlinalg.models.datasets import demo_interactions
    from dlinalg.models.metrics import precision_at_k, train_test_split

    log = demo_interactions()
    users = log["user"].astype("category").cat.codes.to_numpy()
    items = log["item"].astype("category").cat.codes.to_numpy()
    shape = (users.max() + 1, items.max() + 1)
    log = log.assign(u=users, i=items)
    train, test = train_test_split(log, 0.2, by="time", time="timestamp")

    def matrix(frame, action: str | None = None) -> sp.csr_array:
        if action is not None:
            frame = frame[frame["action"] == action]
        R = sp.csr_array((np.ones(len(frame)), (frame["u"], frame["i"])), shape=shape)
        R.sum_duplicates()
        R.data[:] = 1.0
        return R

    bought, viewed = matrix(train, "purchase"), matrix(train, "view")
    held = matrix(test, "purchase")
    who = np.flatnonzero(np.diff(held.indptr) > 0)  # users with a held-out purchase
    held_out = [held.indices[held.indptr[u] : held.indptr[u + 1]] for u in who]
    ks = [1, 2, 5, 10, 20]
    kmax = max(ks)

    def row(M: sp.csr_array, u: int) -> list[int]:
        return M.indices[M.indptr[u] : M.indptr[u + 1]].tolist()

    recs = {}
    cco = ItemSimilarity(max_similar_items=50).fit(bought, viewed)
    ids, _ = cco.recommend(who, bought[who], N=kmax, others=[viewed[who]])  # padded with -1
    recs["ItemSimilarity (CCO)"] = [r[r >= 0].tolist() for r in ids]
    als = ALS(factors=32, regularization=1.0, iterations=10, alpha=10.0).fit(
        sp.csr_array(bought + viewed)
    )
    # as the others, leave out only the training purchases (a viewed item may be bought)
    most = int(np.diff(bought.indptr).max())
    ranked = als.recommend_all(who, N=kmax + most, filter_already_liked_items=False)[0]
    recs["ALS (implicit)"] = [
        [i for i in r if i not in set(row(bought, u))][:kmax]
        for u, r in zip(who, ranked, strict=True)
    ]
    popular = np.argsort(-np.asarray(bought.sum(axis=0)).ravel(), kind="stable")
    recs["popularity"] = [[i for i in popular if i not in set(row(bought, u))][:kmax] for u in who]

    _fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    width = 0.8 / len(recs)
    for j, (name, color) in enumerate(zip(recs, (_BLUE, _ORANGE, _GREY), strict=True)):
        p = [precision_at_k(recs[name], held_out, k=k) for k in ks]
        ax.bar(np.arange(len(ks)) + (j - 1) * width, p, width, color=color, label=name)
    ax.set_xticks(np.arange(len(ks)), [f"k = {k}" for k in ks])
    ax.set(ylabel="precision@k", title=f"Held-out purchases of {len(who)} shoppers")
    ax.legend(fontsize=8)


# --- (f) the optimizers against scikit-learn ---------------------------------------------


def optimization_convergence() -> None:
    """Suboptimality per iteration of dl.lbfgs/newton_cg/proximal_gradient and scikit-learn."""
    import warnings

    from scipy.special import expit
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso, LogisticRegression

    from dlinalg.optimize import prox

    rng = np.random.default_rng(3)
    m, n = 4000, 50
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) * 3 / np.sqrt(n)
    y = (rng.random(m) < expit(X @ w + 0.5)).astype(float)
    A = dl.from_array(X, chunks=1000)
    C = 1.0

    def objective(coef, b):
        z = X @ coef + b
        return np.mean(np.logaddexp(0, z) - y * z) + coef @ coef / (2 * C * m)

    kw = {"loss": "logistic", "fit_intercept": True, "l2": 1 / (C * m)}
    runs = {
        "dl.newton_cg (exact Hessian)": dl.newton_cg(A, y, **kw),
        "dl.lbfgs": dl.lbfgs(A, y, gtol=1e-10, ftol=0, **kw),
    }
    best = min(r.fun for r in runs.values())
    sk_iters = np.arange(1, 41)
    sk = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in sk_iters:
            model = LogisticRegression(C=C, max_iter=int(k), tol=1e-12).fit(X, y)
            sk.append(objective(model.coef_[0], model.intercept_[0]))
    best = min(best, min(sk))
    floor = 1e-16

    _fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained")
    for (label, res), color in zip(runs.items(), (_GREEN, _BLUE), strict=True):
        h = res.history
        left.semilogy(h["itn"], np.maximum(h["objective"] - best, floor), ".-", color=color,
                      label=f"{label}: {res.npass} passes")  # fmt: skip
    left.semilogy(sk_iters, np.maximum(np.array(sk) - best, floor), "x", color=_GREY,
                  label="scikit-learn lbfgs (max_iter = k)")  # fmt: skip
    left.set(xlabel="iteration", ylabel="F(x_k) - F*", title="Logistic regression, C = 1")
    left.set_xlim(0, 40)
    left.legend(fontsize=8)

    t = X @ np.where(np.arange(n) < 5, 1.0, 0.0) + 0.1 * rng.standard_normal(m)
    alpha = 0.05
    lasso = Lasso(alpha=alpha, tol=1e-14, max_iter=100_000).fit(X, t)
    f_star = (
        np.mean((X @ lasso.coef_ + lasso.intercept_ - t) ** 2) / 2
        + alpha * np.abs(lasso.coef_).sum()
    )
    for label, res, color in (
        ("dl.proximal_gradient (TFOCS AT)",
         dl.proximal_gradient(A, t, prox=prox.l1(alpha), fit_intercept=True, tol=1e-10), _ORANGE),
        ("dl.lbfgs, l1 (OWL-QN)",
         dl.lbfgs(A, t, loss="squared", l1=alpha, fit_intercept=True, gtol=1e-12, ftol=0), _RED),
    ):  # fmt: skip
        h = res.history
        right.semilogy(h["itn"], np.maximum(h["objective"] - f_star, floor), ".-", color=color,
                       label=f"{label}: {res.npass} passes")  # fmt: skip
    right.set(xlabel="iteration", ylabel="F(x_k) - F* (scikit-learn's Lasso, tol 1e-14)",
              title=f"Lasso, alpha = {alpha}")  # fmt: skip
    right.set_xlim(0, 40)
    right.legend(fontsize=8)
