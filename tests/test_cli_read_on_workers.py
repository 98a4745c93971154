"""The command line's input read on the workers: the same output as read in process.

A run on a cluster (``--scheduler ADDRESS``, ``-ma``, or the default above
``IN_PROCESS_BYTES``) reads its log there (``_cli_dask_input``): blocks of
whole lines, each parsed as a whole file is, and the counts stay on the
workers as row blocks (``dask_row_blocks``). The truth is the in-process
reader: ``_cli_io.read_table`` and ``Interactions.from_dataframe`` on pandas.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
from dlinalg.models.cli import main
from dlinalg.models.recommenders import _cli_dask_input as dask_input
from dlinalg.models.recommenders import _cli_io as files
from dlinalg.models.recommenders import cli
from dlinalg.models.recommenders._interactions import Interactions, _select_actions
from dlinalg.models.recommenders._interactions_dask import dask_row_blocks
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_cli import MIXED_LOG, MIXED_OPTIONS, SELF_SIMILARITY, assert_matches_mahout

SPEC = files.ReadSpec()
POSITIONS = {"user": "0", "item": "2", "action": "1"}
NAMES = {"user": "user", "item": "item", "action": "action"}


def _log(n: int, seed: int, n_users: int = 400, n_items: int = 120) -> list[str]:
    rng = np.random.default_rng(seed)
    users = rng.zipf(1.6, n) % n_users
    items = rng.zipf(1.4, n) % n_items
    actions = rng.choice(["purchase", "view", "cart"], n, p=[0.3, 0.6, 0.1])
    return [f"u{u},{a},i{i}" for u, a, i in zip(users, actions, items, strict=True)]


# ---------------------------------------------------------------- blocks of a file
@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["u1", "u22", "ü3", "u 4"]),
                       st.sampled_from(["view", "buy"]),
                       st.sampled_from(["i1", "item-22", "ï3"])), min_size=0, max_size=40),
    st.sampled_from([",", "\t", "[,\t]"]),  # one character, or Mahout's character class
    st.booleans(),  # a header line (named columns)
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),  # a byte-order mark
    st.booleans(),  # blank lines
    st.integers(1, 300),  # block bytes: one block per byte up to one per file
)  # fmt: skip
def test_blocks_of_any_size_read_the_lines_a_whole_file_reads(
    tmp_path_factory, rows, delim, header, newline, bom, blanks, block
):
    path = tmp_path_factory.mktemp("log") / "log.csv"
    seps = [",", "\t"] if delim == "[,\t]" else [delim]
    lines = ["user,action,item".replace(",", seps[0])] if header else []
    for k, row in enumerate(rows):
        lines.append(seps[k % len(seps)].join(row))
        if blanks and k % 5 == 2:
            lines.append("")
    text = ("\ufeff" if bom else "") + "".join(line + newline for line in lines)
    path.write_bytes(text.encode("utf-8"))
    spec = files.ReadSpec(delim)
    columns = NAMES if header else POSITIONS
    if not rows:
        with pytest.raises(files.InputError, match="has no rows"):
            files.read_table(str(path), columns, spec, "--input")
        return
    want = files.read_table(str(path), columns, spec, "--input")
    pieces = dask_input.pieces(str(path), columns, spec, "--input", block_bytes=block)
    got = pd.concat([dask_input.read_piece(p, columns, delim) for p in pieces], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)


def test_a_bad_line_in_a_later_block_is_refused_as_in_the_whole_file(tmp_path):
    """Lines of uneven length: a short line is refused on a worker as in process.

    A later block gets the file's first line in front, so pandas sees the same
    field count as for the whole file; its error names the block.
    """
    path = tmp_path / "log.csv"
    path.write_text("".join(line + "\n" for line in MIXED_LOG) + "u8,view,x,extra\nu9\n")
    with pytest.raises(files.InputError, match=r"column 2 not found in .*log.csv: its line 22 "):
        files.read_table(str(path), POSITIONS, SPEC, "--input")
    pieces = dask_input.pieces(str(path), POSITIONS, SPEC, "--input", block_bytes=200)
    assert len(pieces) > 1
    errors = []
    for p in pieces:
        try:
            dask_input.read_piece(p, POSITIONS, SPEC.delim)
        except files.InputError as exc:
            errors.append(str(exc))
    assert len(errors) == 1
    assert re.search(r"the block from byte \d+\): its line \d+ has 1 field", errors[0])


# ---------------------------------------------------------------- counts left on the cluster
# the chunking table: one partition, many, uneven; one row block, many (uneven last)
CHUNKINGS = [
    pytest.param(1, "1MiB", id="one-partition-one-block"),
    pytest.param(3, "4KiB", id="three-partitions-many-blocks"),
    pytest.param(7, "1KiB", id="seven-uneven-partitions-many-blocks"),
]


# the memory budget of a summing task on a cluster: the workers' (one range of users), or
# 1 kB (a range per row block: every block's counts summed by its own tree)
@pytest.mark.parametrize("budget", [None, "1kB"], ids=["one-range", "many-ranges"])
@pytest.mark.parametrize(("partitions", "chunk"), CHUNKINGS)
def test_row_blocks_hold_the_counts_interactions_builds_in_process(scheduler, partitions, chunk,
                                                                   budget):  # fmt: skip
    import dask.dataframe as dd

    frame = pd.DataFrame([line.split(",") for line in _log(3000, 0)],
                         columns=["user", "action", "item"])  # fmt: skip
    want = Interactions.from_dataframe(frame, action="action")
    cols = {"user": "user", "item": "item", "action": "action", "weight": None}
    config = {"array.chunk-size": chunk, "dataframe.convert-string": False,
              "dlinalg.group-bytes": budget}  # fmt: skip
    with dask.config.set(config):
        users, blocks, items, rows = dask_row_blocks(
            dd.from_pandas(frame, npartitions=partitions), cols, None, _select_actions
        )
    assert rows == len(frame)
    pd.testing.assert_index_equal(users, want.users)
    assert list(blocks) == list(want.actions)
    for a in want.actions:
        pd.testing.assert_index_equal(items[a], want.items(a))
        got = blocks[a].compute()
        assert got.dtype == np.int64
        assert got.shape == want.matrix(a).shape
        assert (got != want.matrix(a)).nnz == 0
        assert (len(blocks[a].chunks[0]) > 1) == (chunk != "1MiB")


@pytest.mark.parametrize(
    ("budget", "ranges"),
    [
        (0, [0, 35]),  # no memory limit: one range
        (10**9, [0, 35]),  # all users fit
        (6400, [0, 20, 35]),  # 160 bytes a user, 3,200 per range: two blocks, then the rest
        (1, [0, 10, 20, 30, 35]),  # nothing fits: a range per block, never an empty one
    ],
)
def test_user_ranges_fit_half_the_budget(budget, ranges):
    from dlinalg.models.recommenders._interactions_dask import user_ranges

    assert user_ranges([0, 10, 20, 30, 35], rows=350, users=35, budget=budget) == ranges


# ---------------------------------------------------------------- the command line
def _out(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(dask_input, "BLOCK_BYTES", 4096)  # a 40 kB log: 10 tasks


def _both(tmp_path: Path, client, argv: list[str]) -> tuple[dict, dict]:
    here, there = tmp_path / "here", tmp_path / "there"
    assert main([*argv, "-o", str(here), "--scheduler", "synchronous", "-q"]) == 0
    assert main([*argv, "-o", str(there), "--scheduler", client.scheduler.address, "-q"]) == 0
    return _out(here), _out(there)


@pytest.mark.parametrize(
    "layout",
    ["filters", "two-inputs", "named-columns", "parquet", "all-datasets", "no-filter"],
)
def test_read_on_the_workers_writes_what_the_process_writes(tmp_path, client, small_blocks,
                                                            layout):  # fmt: skip
    log = _log(2000, 1)
    src = tmp_path / "in" / "log.csv"
    src.parent.mkdir()
    src.write_text("".join(line + "\n" for line in log))
    argv = ["itemsimilarity", "-i", str(src), *MIXED_OPTIONS]
    if layout == "two-inputs":
        other = tmp_path / "in2.csv"
        other.write_text("".join(line + "\n" for line in _log(1500, 2)))
        argv += ["--input2", str(other)]
    elif layout == "named-columns":
        src.write_text("who,what,which\n" + src.read_text())
        argv = ["itemsimilarity", "-i", str(src), "--filter1", "purchase", "--filter2", "view",
                "-rc", "who", "-fc", "what", "-ic", "which"]  # fmt: skip
    elif layout == "parquet":
        table = pd.DataFrame([line.split(",") for line in log], columns=["u", "a", "i"])
        for k in range(3):  # three files: three tasks
            table.iloc[k::3].to_parquet(src.parent / f"part-{k}.parquet")
        src.unlink()
        argv[2] = str(src.parent)
    elif layout == "all-datasets":
        argv += ["--writeAllDatasets"]
    elif layout == "no-filter":
        argv = ["itemsimilarity", "-i", str(src), "-ic", "2"]
    here, there = _both(tmp_path, client, argv)
    assert there == here
    assert len(here) >= 1 + (layout in ("filters", "two-inputs", "named-columns", "parquet"))


def test_mahouts_answer_read_on_the_workers(tmp_path, client):
    src = tmp_path / "in.csv"
    src.write_text("".join(line + "\n" for line in MIXED_LOG))
    out = tmp_path / "out"
    argv = ["itemsimilarity", "-i", str(src), "-o", str(out), *MIXED_OPTIONS]
    assert main([*argv, "--scheduler", client.scheduler.address, "-q"]) == 0
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)


def test_no_interaction_travels_in_the_graph(tmp_path, client, small_blocks, monkeypatch):
    """The log is read and counted on the workers: the graphs this process sends are small.

    distributed warns about a graph above its threshold, lowered here to 128 kB:
    over the dictionaries (4,000 labels, which the workers need), under the
    350 kB of this log's count matrix. Read in this process, the
    matrix would go out inside the graph (checked: the same run with the
    in-process reader warns).
    """
    src = tmp_path / "log.csv"
    rng = np.random.default_rng(3)  # 30,000 interactions of 2,000 users and 2,000 items
    log = [f"u{u},view,i{i}" for u, i in rng.integers(0, 2000, (30_000, 2))]
    src.write_text("".join(line + "\n" for line in log))
    argv = ["itemsimilarity", "-i", str(src), "-ic", "2", "--scheduler", client.scheduler.address,
            "-q"]  # fmt: skip

    def large_graph_warnings(out: Path) -> list[str]:
        with (
            dask.config.set({"distributed.admin.large-graph-warning-threshold": "128kB"}),
            warnings.catch_warnings(record=True) as seen,
        ):
            warnings.simplefilter("always")
            assert main([*argv, "-o", str(out)]) == 0
        return [str(w.message) for w in seen if "large graph" in str(w.message)]

    assert large_graph_warnings(tmp_path / "workers") == []
    monkeypatch.setattr(cli, "_read_on_workers", cli._read_here)
    assert large_graph_warnings(tmp_path / "process")  # the check can fail
    assert _out(tmp_path / "workers") == _out(tmp_path / "process")


@pytest.mark.parametrize(
    ("lines", "options", "message"),
    [
        (
            MIXED_LOG,
            ["--filter1", "buy", "-fc", "1"],
            "--filter1 'buy' matches no rows of column 1",
        ),
        (["", "  "], [], "has no rows"),
    ],
    ids=["filter-matches-nothing", "blank-input"],
)
def test_bad_input_is_the_same_error_on_the_workers(tmp_path, client, capsys, lines, options,
                                                     message):  # fmt: skip
    src = tmp_path / "in.csv"
    src.write_text("".join(line + "\n" for line in lines))
    argv = ["itemsimilarity", "-i", str(src), "-o", str(tmp_path / "out"), *options, "-ic", "2"]
    assert main([*argv, "--scheduler", "synchronous"]) == 2
    here = capsys.readouterr().err.strip().splitlines()[-1]
    assert main([*argv, "--scheduler", client.scheduler.address]) == 2
    there = capsys.readouterr().err.strip().splitlines()[-1]
    assert there == here
    assert message in here
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_worker_kill_while_reading_gives_identical_output(
    tmp_path, fresh_cluster, killing_a_worker_when, small_blocks
):
    """SIGKILL a worker once the first blocks are read: lost blocks are read again.

    220 blocks of 4 kB, then the counts and the fit: the run outlasts the
    kill, which the victim's absence afterwards proves.
    """
    _, client = fresh_cluster
    src = tmp_path / "log.csv"
    src.write_text("".join(line + "\n" for line in _log(60_000, 4)))
    argv = ["itemsimilarity", "-i", str(src), *MIXED_OPTIONS, "-q"]
    assert main([*argv, "-o", str(tmp_path / "here"), "--scheduler", "synchronous"]) == 0

    def read_some() -> bool:
        # any 4 results held: the read is under way (dask-expr fuses the read
        # into tasks named after the frame's last operation, so no key name)
        held = client.run_on_scheduler(
            lambda dask_scheduler: sum(
                ts.state == "memory" for ts in dask_scheduler.tasks.values()
            )
        )
        return held >= 4

    with killing_a_worker_when(client, read_some) as victim:
        code = main([*argv, "-o", str(tmp_path / "there"), "--scheduler",
                     client.scheduler.address])  # fmt: skip
    assert code == 0
    assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    assert _out(tmp_path / "there") == _out(tmp_path / "here")
