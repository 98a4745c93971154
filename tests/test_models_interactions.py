"""dlinalg.models.Interactions: dictionaries and count matrices from tables, CSV and Parquet."""

from __future__ import annotations

import functools
import os

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dlinalg.models.recommenders._interactions import DEFAULT_ACTION, Interactions

# Mahout's spark-itemsimilarity example (user,action,item)
MAHOUT_LINES = [
    "u1,purchase,iphone",
    "u1,purchase,ipad",
    "u2,purchase,nexus",
    "u2,purchase,galaxy",
    "u3,purchase,surface",
    "u4,purchase,iphone",
    "u4,purchase,galaxy",
    "u1,view,iphone",
    "u1,view,ipad",
    "u1,view,nexus",
    "u1,view,galaxy",
    "u2,view,iphone",
    "u2,view,ipad",
    "u2,view,nexus",
    "u2,view,galaxy",
    "u3,view,surface",
    "u3,view,nexus",
    "u4,view,iphone",
    "u4,view,ipad",
    "u4,view,galaxy",
]


def mahout_frame() -> pd.DataFrame:
    rows = [line.split(",") for line in MAHOUT_LINES]
    return pd.DataFrame(rows, columns=["user", "action", "item"])


def dense(data: Interactions, action) -> pd.DataFrame:
    """A labeled dense view of one action's matrix, for readable comparisons."""
    return pd.DataFrame(
        data.matrix(action).toarray(), index=data.users, columns=data.items(action)
    )


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
def test_from_dataframe_mahout_example(lazy):
    df = mahout_frame()
    if lazy:
        df = dd.from_pandas(df, npartitions=3)
    data = Interactions.from_dataframe(df, action="action", actions=["purchase", "view"])
    assert data.actions == ["purchase", "view"]
    assert list(data.users) == ["u1", "u2", "u3", "u4"]
    assert data.n_users == 4
    assert list(data.items("purchase")) == ["galaxy", "ipad", "iphone", "nexus", "surface"]
    buy = dense(data, "purchase")
    assert buy.loc["u1", "iphone"] == 1
    assert buy.loc["u1", "ipad"] == 1
    assert int(buy.to_numpy().sum()) == 7
    view = dense(data, 1)
    assert int(view.to_numpy().sum()) == 13
    assert view.loc["u3", "nexus"] == 1
    assert data["view"] is data.matrix("view")


def test_actions_default_to_first_appearance_and_filter():
    df = mahout_frame()
    assert Interactions.from_dataframe(df, action="action").actions == ["purchase", "view"]
    views = Interactions.from_dataframe(df, action="action", actions=["view"])
    assert views.actions == ["view"]
    assert views.n_users == 4
    # the users of unselected actions are not in the dictionary
    only = Interactions.from_dataframe(
        pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "act": ["buy", "view"]}),
        action="act",
        actions=["buy"],
    )
    assert list(only.users) == ["a"]


def test_shared_user_dictionary_across_actions():
    df = pd.DataFrame(
        {"user": ["a", "b", "c"], "item": ["x", "x", "y"], "act": ["buy", "view", "view"]}
    )
    data = Interactions.from_dataframe(df, action="act")
    assert data.n_users == 3
    assert data.matrix("buy").shape == (3, 1)
    assert data.matrix("view").shape == (3, 2)


def test_weights_and_repeated_rows_are_summed():
    df = pd.DataFrame({"u": [1, 1, 1, 2], "i": ["a", "a", "b", "a"], "w": [2, 3, 1, 0]})
    data = Interactions.from_dataframe(df, user="u", item="i", weight="w")
    assert data.actions == [DEFAULT_ACTION]
    np.testing.assert_array_equal(data.matrix().toarray(), [[5, 1], [0, 0]])
    counted = Interactions.from_dataframe(df, user="u", item="i")
    np.testing.assert_array_equal(counted.matrix().toarray(), [[2, 1], [1, 0]])


def test_encode_history_ignores_and_counts_unknown():
    data = Interactions.from_dataframe(mahout_frame(), action="action")
    idx, unknown = data.encode_history(["ipad", "iphone", "pixel", "ipad"], "purchase")
    assert list(data.items("purchase")[idx]) == ["ipad", "iphone"]
    assert unknown == 1
    idx, unknown = data.encode_history([])
    assert idx.size == 0
    assert unknown == 0
    idx, unknown = data.encode_history("surface")  # one label
    assert list(idx) == [4]
    assert unknown == 0


def test_unknown_action_is_a_key_error():
    data = Interactions.from_dataframe(mahout_frame(), action="action")
    with pytest.raises(KeyError, match="cart"):
        data.matrix("cart")
    with pytest.raises(KeyError, match="5"):
        data.items(5)


def test_repr():
    data = Interactions.from_dataframe(mahout_frame(), action="action")
    assert repr(data) == (
        "<Interactions: 4 users; purchase: 5 items, 7 interactions; "
        "view: 5 items, 13 interactions>"
    )


def test_read_csv_file_and_directory(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("\n".join(MAHOUT_LINES) + "\n")
    data = Interactions.read_csv(path, user=0, action=1, item=2, header=None)
    assert data.actions == ["purchase", "view"]
    assert data.n_users == 4
    # a directory of part files, Spark style, with a marker file that must be skipped
    out = tmp_path / "parts"
    out.mkdir()
    (out / "part-00000").write_text("\n".join(MAHOUT_LINES[:10]) + "\n")
    (out / "part-00001").write_text("\n".join(MAHOUT_LINES[10:]) + "\n")
    (out / "_SUCCESS").write_text("")
    again = Interactions.read_csv(out, user=0, action=1, item=2, header=None)
    for action in data.actions:
        pd.testing.assert_frame_equal(dense(again, action), dense(data, action))


def test_read_csv_tsv_with_header_and_string_ids(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text("user\titem\n007\t1\n008\t01\n")
    data = Interactions.read_csv(path, user="user", item="item", sep="\t")
    assert list(data.users) == ["007", "008"]  # ids stay strings, leading zeros kept
    assert list(data.items()) == ["01", "1"]


def test_read_parquet(tmp_path):
    df = mahout_frame()
    df.to_parquet(tmp_path / "log.parquet")
    data = Interactions.read_parquet(tmp_path / "log.parquet", action="action")
    assert data.actions == ["purchase", "view"]
    assert int(data.matrix("view").sum()) == 13


@pytest.mark.parametrize("reader", ["read_csv", "read_parquet"])
def test_missing_path_is_file_not_found(tmp_path, reader):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        getattr(Interactions, reader)(missing, user="user", item="item")


def test_empty_directory_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data files"):
        Interactions.read_csv(tmp_path, user=0, item=1, header=None)


# ---------------------------------------------------------------------------
# Bad input: clear errors before anything is read or built
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"user": "customer"}, "user column 'customer' is not in the table.*'user', 'action'"),
        ({"item": "product"}, "item column 'product'"),
        ({"action": "event"}, "action column 'event'"),
        ({"weight": "n"}, "weight column 'n'"),
        ({"action": "action", "actions": ["purchase", "cart"]}, "equal to 'cart'"),
        ({"action": "action", "actions": ["view", "view"]}, "repeats"),
        ({"action": "action", "actions": []}, "empty"),
        ({"actions": ["view"]}, "pass action="),
    ],
)
def test_bad_arguments(kwargs, match, no_graph_no_compute):
    with pytest.raises(ValueError, match=match):
        Interactions.from_dataframe(mahout_frame(), **kwargs)


def test_missing_column_of_a_dask_frame_before_reading():
    df = dd.from_pandas(mahout_frame(), npartitions=2)
    with pytest.raises(ValueError, match="'customer'"):
        Interactions.from_dataframe(df, user="customer")


def test_empty_table():
    with pytest.raises(ValueError, match="empty"):
        Interactions.from_dataframe(mahout_frame().iloc[:0], action="action")


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1, -2, 1], "negative"),
        ([1, 1.5, 1], "non-integer"),
        ([1, np.nan, 1], "non-finite"),
        (["a", "b", "c"], "numeric"),
    ],
)
def test_bad_weights(weights, match):
    df = pd.DataFrame({"user": [1, 2, 3], "item": [1, 2, 3], "w": weights})
    with pytest.raises(ValueError, match=match):
        Interactions.from_dataframe(df, weight="w")


def test_missing_labels():
    df = pd.DataFrame({"user": ["a", None], "item": ["x", "y"]})
    with pytest.raises(ValueError, match="missing"):
        Interactions.from_dataframe(df)


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        Interactions.from_dataframe({"user": [1], "item": [2]})


# --- a Dask DataFrame is read on the workers: the same result as its rows in pandas ---------
# (compared with the computed frame: Dask may have converted the dtypes, e.g. strings
# to Arrow strings, and the dictionaries keep the frame's dtype)
def random_log(seed: int, n: int = 400, labels: str = "str") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 40, n)
    items = rng.integers(0, 25, n)
    frame = pd.DataFrame(
        {
            "user": [f"u{u}" for u in users] if labels == "str" else users,
            "item": [f"i{i}" for i in items] if labels == "str" else items * 10,
            "act": rng.choice(["view", "buy", "cart"], n, p=[0.6, 0.25, 0.15]),
            "w": rng.integers(0, 4, n),
        }
    )
    if labels == "mixed":  # unsortable: first appearance order
        frame["user"] = [u if u % 3 else f"s{u}" for u in users]
    return frame


def assert_same(a: Interactions, b: Interactions) -> None:
    assert a.actions == b.actions
    pd.testing.assert_index_equal(a.users, b.users, exact=True)
    for action in a.actions:
        pd.testing.assert_index_equal(a.items(action), b.items(action), exact=True)
        x, y = a.matrix(action), b.matrix(action)
        assert x.shape == y.shape
        assert x.dtype == y.dtype
        assert (x != y).nnz == 0


# partitionings: one partition, several, more partitions than some actions have rows
@pytest.mark.parametrize("npartitions", [1, 3, 17])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "act"},
        {"action": "act", "actions": ["buy", "view"], "weight": "w"},
        {"weight": "w"},
        {},
    ],
    ids=["all-actions", "selected-weighted", "weighted", "plain"],
)
@pytest.mark.parametrize("labels", ["str", "int", "mixed"])
def test_dask_frame_equals_pandas(npartitions, kwargs, labels, scheduler):
    lazy = dd.from_pandas(random_log(npartitions, labels=labels), npartitions=npartitions)
    expected = Interactions.from_dataframe(lazy.compute(), **kwargs)
    assert_same(Interactions.from_dataframe(lazy, **kwargs), expected)


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (lambda d: d.iloc[:0], {}, "empty"),
        (
            lambda d: d.assign(user=d["user"].where(d.index != 350)),
            {},
            "user column 'user' holds missing",
        ),
        (lambda d: d.assign(w=d["w"] - 2), {"weight": "w"}, "negative count"),
        (lambda d: d.assign(w=d["w"] + 0.5), {"weight": "w"}, "non-integer"),
        (lambda d: d, {"action": "act", "actions": ["buy", "return"]}, "equal to 'return'"),
    ],
    ids=["empty", "missing-user", "negative-weight", "fractional-weight", "unknown-action"],
)
def test_dask_frame_bad_rows(change, kwargs, match, scheduler):
    df = dd.from_pandas(change(random_log(1)), npartitions=3)
    with pytest.raises(ValueError, match=match):
        Interactions.from_dataframe(df, **kwargs)


def _matrices_done(dask_scheduler=None) -> int:
    """How many per-partition matrix tasks have finished."""
    return sum(
        str(ts.key).startswith("_part_matrices") and ts.state == "memory"
        for ts in dask_scheduler.tasks.values()
    )


@pytest.mark.slow  # ~14 s
@pytest.mark.cluster
def test_worker_kill_while_reading_a_dask_frame(fresh_cluster, killing_a_worker_when):
    """A worker SIGKILLed during the second pass: the lost partitions (persisted
    columns and partial matrices) are recomputed, and the result is identical."""
    _, client = fresh_cluster
    lazy = dd.from_map(functools.partial(random_log, n=10_000), range(40))  # made on the workers
    expected = Interactions.from_dataframe(
        lazy.compute(scheduler="sync"), action="act", weight="w"
    )
    with (
        client.as_current(),
        killing_a_worker_when(
            client, lambda: client.run_on_scheduler(_matrices_done) >= 4
        ) as victim,
    ):
        got = Interactions.from_dataframe(lazy, action="act", weight="w")
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    assert_same(got, expected)
