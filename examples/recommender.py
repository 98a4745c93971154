"""Recommender demo: correlated cross-occurrence (CCO) item similarity on a shop log.

Generates the project's demo data set (2,000 shoppers, 280 products in 8
categories, 40,000 purchases and views over six months; no download), then

1. fits :class:`dlinalg.models.ItemSimilarity` on purchases (primary action) and views
   (secondary action) on a local Dask cluster,
2. shows the items most similar to a few products, by purchase and by view,
3. recommends products to one shopper from their purchase and view history,
4. holds out each shopper's latest 20% of interactions (a split by time) and
   reports precision@10 on the held-out purchases against a popularity
   baseline (the most purchased products the shopper has not bought).

Run it from the repository root::

    python examples/recommender.py

It takes well under a minute on a laptop (most of it starting the cluster).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from dlinalg.models import Interactions, ItemSimilarity
from dlinalg.models.recommenders.datasets import demo_interactions
from dlinalg.models.recommenders.metrics import precision_at_k, train_test_split

import dlinalg as dl

K = 10


def category(label: str) -> str:
    """``"phone-12"`` -> ``"phone"``: the demo's planted cluster."""
    return label.rsplit("-", 1)[0]


def fit(log: pd.DataFrame) -> tuple[ItemSimilarity, Interactions]:
    data = Interactions.from_dataframe(
        log, user="user", item="item", action="action", actions=["purchase", "view"]
    )
    model = ItemSimilarity(max_similar_items=50, max_interactions_per_user=500)
    return model.fit(data), data


def recommend(model: ItemSimilarity, data: Interactions, users: list, n: int) -> tuple:
    """implicit's batched call: each shopper's purchase row, and their views (cross-occurrence)."""
    rows = data.users.get_indexer(np.atleast_1d(users))  # one shopper or a list
    purchases, views = data.matrix("purchase")[rows], data.matrix("view")[rows]
    return model.recommend(users, purchases, N=n, others=[views])


def histories(log: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    """Per user: {"purchase": [...], "view": [...]}, from a log."""
    out: dict[str, dict[str, list[str]]] = {}
    for (user, action), items in log.groupby(["user", "action"], observed=True)["item"]:
        out.setdefault(user, {"purchase": [], "view": []})[action] = items.tolist()
    return out


def show_similar(model: ItemSimilarity, item: str) -> None:
    for which, verb in ((0, "bought"), (1, "viewed")):
        labels, scores = model.similar_items(item, N=5, which=which)
        pairs = ", ".join(f"{lab} ({s:.1f})" for lab, s in zip(labels, scores, strict=True))
        print(f"  {item}: people who bought it also {verb}: {pairs}")


def evaluate(train: pd.DataFrame, test: pd.DataFrame) -> None:
    model, data = fit(train)
    history = histories(train)
    held = test[test["action"] == "purchase"].groupby("user")["item"].agg(set)
    users = [u for u in held.index if u in history]  # shoppers with a training history
    catalogue = pd.Index(sorted(set(train["item"]) | set(test["item"])))

    def ids(labels) -> list[int]:
        return catalogue.get_indexer(list(labels)).tolist()

    held_out = [set(ids(held[u])) for u in users]

    t0 = time.perf_counter()
    labels, _ = recommend(model, data, users, K)  # padded with None
    cco = [ids([label for label in row if label is not None]) for row in labels]
    print(f"  recommended for {len(users)} shoppers in {time.perf_counter() - t0:.1f} s")

    bought = train[train["action"] == "purchase"]
    popular = bought["item"].value_counts().index.tolist()  # most purchased first
    baseline = []
    for u in users:
        seen = set(history[u]["purchase"])
        baseline.append(ids([item for item in popular if item not in seen][:K]))

    p_cco = precision_at_k(cco, held_out, k=K)
    p_pop = precision_at_k(baseline, held_out, k=K)
    print(f"  precision@{K}: item similarity (CCO) {p_cco:.3f}, popularity {p_pop:.3f} "
          f"({p_cco / p_pop:.1f}x)")  # fmt: skip


def main() -> None:
    log = demo_interactions()
    counts = log["action"].value_counts()
    print(
        f"demo shop log: {len(log)} rows, {log['user'].nunique()} shoppers, "
        f"{log['item'].nunique()} products; {counts['purchase']} purchases, "
        f"{counts['view']} views"
    )
    with dl.local_cluster(quiet=True) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")

        t0 = time.perf_counter()
        model, data = fit(log)
        n_ind = [m.nnz for m in model.indicators_]
        print(f"fitted ItemSimilarity on all data in {time.perf_counter() - t0:.1f} s: "
              f"{n_ind[0]} purchase and {n_ind[1]} view indicators")  # fmt: skip

        print("similar items (LLR scores):")
        for item in ("phone-1", "book-3", "camera-2"):
            show_similar(model, item)
        same = [
            category(other) == category(item)
            for item in model.item_labels_[0]
            for other in model.similar_items(item, N=K)[0]
        ]
        print(f"  {np.mean(same):.0%} of the top-{K} similar items share the product's category")

        every = histories(log)
        user = next(u for u in sorted(every) if len(every[u]["purchase"]) >= 3)
        mine = every[user]
        labels, scores = recommend(model, data, user, 5)
        print(f"recommendations for {user} (bought {', '.join(mine['purchase'][:4])}; "
              f"viewed {len(mine['view'])} products):")  # fmt: skip
        for label, score in zip(labels, scores, strict=True):
            print(f"  {label:15s} {score:6.1f}")

        print("evaluation: each shopper's latest 20% of interactions held out")
        train, test = train_test_split(log, 0.2, by="time", time="timestamp")
        evaluate(train, test)


if __name__ == "__main__":
    main()
