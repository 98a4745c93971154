"""Synthetic interaction data: determinism, shapes, power laws, planted clusters, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dlinalg.models.recommenders.datasets import (
    benchmark_matrix,
    demo_interactions,
    make_interactions,
)


def _loglog_slope(counts: np.ndarray, lo: int, hi: int) -> float:
    """Slope of log(count) against log(rank) over ranks lo..hi (1-based)."""
    c = np.sort(counts)[::-1][lo - 1 : hi]
    r = np.arange(lo, hi + 1)
    return float(np.polyfit(np.log(r), np.log(c), 1)[0])


# ---------------------------------------------------------------- make_interactions


def test_make_interactions_is_deterministic_for_a_seed():
    a = make_interactions(n_users=300, n_items=100, n_interactions=3000, seed=7)
    b = make_interactions(n_users=300, n_items=100, n_interactions=3000, seed=7)
    c = make_interactions(n_users=300, n_items=100, n_interactions=3000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_make_interactions_shape_columns_and_dtypes():
    df = make_interactions(n_users=200, n_items=80, n_interactions=2500, seed=0)
    assert df.shape == (2500, 4)
    assert list(df.columns) == ["user", "item", "action", "timestamp"]
    assert df["user"].dtype == np.int64
    assert df["item"].dtype == np.int64
    assert list(df["action"].cat.categories) == ["purchase", "view"]
    assert pd.api.types.is_datetime64_any_dtype(df["timestamp"])
    assert df["user"].between(0, 199).all()
    assert df["item"].between(0, 79).all()
    assert df["timestamp"].is_monotonic_increasing
    assert df["timestamp"].min() >= pd.Timestamp("2024-01-01")
    assert df["timestamp"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(days=90)
    assert isinstance(df.index, pd.RangeIndex)


def test_make_interactions_has_no_duplicate_triples():
    # small catalogue and heavy users: many repeated draws must be redrawn
    df = make_interactions(n_users=50, n_items=30, n_interactions=1500, max_per_user=40, seed=3)
    assert len(df) == 1500
    assert df["user"].value_counts().max() == 40  # 40 of the 60 (item, action) pairs
    assert not df.duplicated(["user", "item", "action"]).any()


def test_make_interactions_default_action_mix():
    df = make_interactions(n_users=500, n_items=300, n_interactions=20_000, seed=0)
    share = (df["action"] == "purchase").mean()
    assert 0.2 < share < 0.33  # weights 1:3 (a few repeats shift it slightly)


def test_make_interactions_action_weights_and_single_action():
    only_views = make_interactions(
        n_users=50, n_items=40, n_interactions=400, action_weights=[0, 1], seed=0
    )
    assert set(only_views["action"]) == {"view"}
    one = make_interactions(n_users=50, n_items=40, n_interactions=400, actions="click")
    assert list(one["action"].cat.categories) == ["click"]


def test_make_interactions_user_activity_and_item_popularity_follow_power_laws():
    df = make_interactions(n_users=5000, n_items=2000, n_interactions=100_000, seed=0)
    users = df["user"].value_counts().to_numpy()
    items = df["item"].value_counts().to_numpy()
    # heavy tails: the top 1% of users / items hold far more than 1% of the rows
    assert users[:50].sum() / users.sum() > 0.10
    assert items[:20].sum() / items.sum() > 0.05
    # rank-frequency is roughly a straight line in log-log with the chosen exponent
    # (Zipf-Mandelbrot with offset 10: the slope over ranks 100..1000 is close to -1)
    assert -1.3 < _loglog_slope(users, 100, 1000) < -0.6
    assert -1.1 < _loglog_slope(items, 100, 1000) < -0.4
    uniform = make_interactions(
        n_users=5000, n_items=2000, n_interactions=100_000, user_exponent=0, seed=0
    )
    flat = uniform["user"].value_counts().to_numpy()
    assert flat.max() < 3 * flat.mean()


def test_make_interactions_planted_clusters():
    # max_per_user=60 < the 100 (item, action) pairs of a cluster: no user saturates
    # its home cluster (heavier users must spill out of it, which lowers the share)
    df, user_cluster, item_cluster = make_interactions(
        n_users=1000, n_items=400, n_interactions=20_000, n_clusters=8, affinity=0.8,
        max_per_user=60, return_clusters=True, seed=0,
    )  # fmt: skip
    assert user_cluster.shape == (1000,)
    assert item_cluster.shape == (400,)
    assert np.bincount(item_cluster).tolist() == [50] * 8
    inside = (user_cluster[df["user"]] == item_cluster[df["item"]]).mean()
    # affinity 0.8, plus 1/8 of the global draws land at home; repeats move it a little
    assert 0.75 < inside < 0.9
    noise = make_interactions(
        n_users=1000, n_items=400, n_interactions=20_000, n_clusters=8, affinity=0.0,
        return_clusters=True, seed=0,
    )  # fmt: skip
    frame, uc, ic = noise
    assert (uc[frame["user"]] == ic[frame["item"]]).mean() < 0.2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"n_users": 0},
            ValueError,
            r"'n_users' parameter of make_interactions must be an int in the range \[1, inf\)\. Got 0",
        ),
        (
            {"n_items": 2.5},
            TypeError,
            r"'n_items' parameter of make_interactions must be an int .* Got 2.5",
        ),
        ({"n_interactions": 5}, ValueError, "n_interactions=5 cannot be spread"),
        ({"n_clusters": 1000}, ValueError, "n_clusters=1000 must not exceed n_items=500"),
        (
            {"affinity": 1.5},
            ValueError,
            r"'affinity' parameter .* in the range \[0.0, 1.0\]\. Got 1.5",
        ),
        ({"actions": ["a", "a"]}, ValueError, "actions must be distinct"),
        ({"action_weights": [1.0]}, ValueError, "action_weights must be 2 non-negative"),
        ({"max_per_user": 5000}, ValueError, "max_per_user=5000 exceeds the 1000"),
        ({"seed": -1}, ValueError, r"'seed' parameter .* an int in the range \[0, inf\)\. Got -1"),
        (
            {"user_exponent": "1"},
            TypeError,
            r"'user_exponent' parameter .* must be a float .* Got '1'",
        ),
    ],
)
def test_make_interactions_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_interactions(**kwargs)


# ---------------------------------------------------------------- demo_interactions


def test_demo_interactions_is_a_fixed_labelled_shop_log():
    df = demo_interactions()
    pd.testing.assert_frame_equal(df, demo_interactions())
    assert df.shape == (40_000, 4)
    assert df["user"].str.fullmatch(r"user-\d{4}").all()
    categories = df["item"].str.rsplit("-", n=1).str[0]
    assert set(categories) == {
        "phone", "tablet", "laptop", "headphones", "camera", "watch", "game", "book"
    }  # fmt: skip
    assert df["item"].str.fullmatch(r"[a-z]+-\d+").all()
    assert set(df["action"].cat.categories) == {"purchase", "view"}
    assert not df.duplicated(["user", "item", "action"]).any()
    assert df["timestamp"].min() >= pd.Timestamp("2024-01-01")
    assert df["timestamp"].max() < pd.Timestamp("2024-07-01")
    # shoppers mostly stay in their favourite category
    fav = categories.groupby(df["user"]).agg(lambda s: s.value_counts().iloc[0] / len(s))
    assert fav.mean() > 0.75


def test_demo_interactions_size_and_seed():
    small = demo_interactions(100, seed=1)
    assert len(small) == 2000
    assert small["user"].nunique() == 100
    assert small["user"].str.fullmatch(r"user-\d{3}").all()
    assert not small.equals(demo_interactions(100, seed=2))


# ---------------------------------------------------------------- benchmark_matrix


def test_benchmark_matrix_small():
    A = benchmark_matrix(2000, 300, 30_000, n_clusters=6, seed=0)
    B = benchmark_matrix(2000, 300, 30_000, n_clusters=6, seed=0)
    assert A.shape == (2000, 300)
    assert A.nnz == 30_000
    assert A.format == "csr"
    assert A.dtype == np.float32
    assert A.has_canonical_format  # sorted indices, no duplicates
    assert np.all(A.data == 1)
    assert np.array_equal(A.indptr, B.indptr)
    assert np.array_equal(A.indices, B.indices)
    row = np.diff(A.indptr)
    assert row.min() >= 1
    assert row.max() == 75
    C = benchmark_matrix(2000, 300, 30_000, n_clusters=6, seed=1)
    assert not np.array_equal(C.indices, A.indices)


def test_benchmark_matrix_dtype_and_bad_input():
    assert benchmark_matrix(100, 50, 500, n_clusters=2, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="max_per_user=60 must not exceed n_items=50"):
        benchmark_matrix(100, 50, 500, max_per_user=60)
    with pytest.raises(ValueError, match="n_clusters=51 must not exceed n_items=50"):
        benchmark_matrix(100, 50, 500, n_clusters=51)


@pytest.mark.slow
def test_benchmark_matrix_full_size():
    A = benchmark_matrix()
    assert A.shape == (100_000, 20_000)
    assert A.nnz == 4_300_000
    row = np.diff(A.indptr)
    col = np.bincount(A.indices, minlength=20_000)
    assert row.max() == 5000
    assert (row > 500).sum() > 500
    assert col.max() > 2000
    assert col.min() > 0
