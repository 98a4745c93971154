"""Every option of Mahout's spark-itemsimilarity and spark-rowsimilarity, by Mahout's spellings.

One test per option (or pair of options), parametrized over its spellings:
Mahout's short form, Mahout's long form and the dashed Python alias. Each
checks that the option is accepted and that it has its effect on a crafted
log, against a run without it. Option names and defaults are those of
Mahout's ``MahoutOptionParser.scala``, ``MahoutSparkOptionParser.scala``,
``ItemSimilarityDriver.scala`` and ``RowSimilarityDriver.scala``
(``spark/src/main/scala/org/apache/mahout/drivers/``). Everything runs in
process on the synchronous scheduler; options that start or reach a cluster
(``-ma``, ``-sem``) run against recording stand-ins of ``dl.local_cluster``
and ``dl.connect``.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from pathlib import Path

import dask
import dask.threaded
import pytest
from dlinalg.models import ItemSimilarity
from dlinalg.models.cli import build_parser, main
from test_cli import MIXED_LOG

import dlinalg

# u1..u4 share items a..d; e is alone: LLR gives some items two or more similar items
ITEM_LOG = ["u1,a", "u1,b", "u1,c", "u1,d", "u2,a", "u2,b", "u2,c", "u3,a", "u3,b", "u4,c",
            "u4,d", "u5,e", "u6,a", "u6,d"]  # fmt: skip
ACTION_LOG = MIXED_LOG  # Mahout's purchase/view example, as test_cli has it
FILTERS = ["-ic", "2", "-f1", "purchase"]
_counter = itertools.count()


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _run(command: str, src: Path | str, *argv: str, sync: bool = True, quiet: bool = True) -> Path:
    """Run ``main`` into a fresh output directory beside ``src``; return that directory."""
    out = Path(src).parent / f"out{next(_counter)}"
    extra = (["--scheduler", "synchronous"] if sync else []) + (["-q"] if quiet else [])
    assert main([command, "-i", str(src), "-o", str(out), *argv, *extra]) == 0
    return out


def _lines(out: Path, name: str = "similarity-matrix") -> list[str]:
    return (out / name / "part-00000").read_text().splitlines()


def _parse(lines: list[str], rd: str = "\t", cd: str = ":", td: str = " ") -> dict:
    """Mahout's text format read back: {row: [(id, strength), ...]}."""
    table = {}
    for line in lines:
        key, _, rest = line.partition(rd)
        table[key] = [tuple(e.rsplit(cd, 1)) for e in rest.split(td)] if rest else []
    return table


@pytest.fixture
def items(tmp_path):
    return _write(tmp_path / "items.csv", ITEM_LOG)


@pytest.fixture
def actions(tmp_path):
    return _write(tmp_path / "actions.csv", ACTION_LOG)


def test_mahout_defaults():
    """Mahout's defaults; -m is 100 as in Mahout, not the estimator's 50 (left unchanged)."""
    parser = build_parser()
    a = parser.parse_args(["spark-itemsimilarity", "-i", "x", "-o", "y"])
    assert (a.max_prefs, a.max_similarities_per_item) == (500, 100)
    assert (a.row_id_column, a.item_id_column, a.filter_column) == ("0", "1", None)
    assert (a.row_key_delim, a.column_id_strength_delim, a.element_delim) == ("\\t", ":", " ")
    assert (a.omit_strength, a.recursive, a.write_all_datasets) == (False, False, False)
    assert a.command == "itemsimilarity"
    r = parser.parse_args(["spark-rowsimilarity", "-i", "x", "-o", "y"])
    assert (r.max_observations, r.max_similarities_per_row, r.command) == (
        500,
        100,
        "rowsimilarity",
    )
    assert ItemSimilarity().max_similar_items == 50


@pytest.mark.parametrize("command", ["itemsimilarity", "rowsimilarity"])
def test_help_lists_every_mahout_option(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    common = ["-i", "--input", "-o", "--output", "-rd", "--rowKeyDelim", "-cd",
              "--columnIdStrengthDelim", "-td", "--elementDelim", "-os", "--omitStrength", "-r",
              "--recursive", "-fp", "--filenamePattern", "-ma", "--master", "-sem",
              "--sparkExecutorMem", "-D", "-rs", "--randomSeed", "--writeAllDatasets", "-h",
              "--help", "-m"]  # fmt: skip
    own = {
        "itemsimilarity": ["-i2", "--input2", "-mppu", "--maxPrefs", "--maxSimilaritiesPerItem",
                           "-id", "--inDelim", "-f1", "--filter1", "-f2", "--filter2", "-rc",
                           "--rowIDColumn", "-ic", "--itemIDColumn", "-fc", "--filterColumn"],
        "rowsimilarity": ["-mo", "--maxObservations", "--maxSimilaritiesPerRow"],
    }[command]  # fmt: skip
    for option in common + own:
        assert f" {option} " in text.replace(",", " ").replace("\n", " "), option


def test_short_options_are_not_split():
    """``-rd ,`` is Mahout's -rd, not -r (recursive) with 'd'; prefixes are no abbreviations."""
    a = build_parser().parse_args(["itemsimilarity", "-i", "x", "-o", "y", "-rd", ",", "-rs", "3"])
    assert (a.row_key_delim, a.recursive, a.random_seed) == (",", False, 3)
    for argv in (["-mpp", "3"], ["--maxPref", "3"], ["-s", "1g"], ["--input2x", "z"]):
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(["itemsimilarity", "-i", "x", "-o", "y", *argv])
        assert info.value.code == 2


# ---------------------------------------------------------------- one row per Mahout option


@pytest.mark.parametrize(("i", "o"), [("-i", "-o"), ("--input", "--output")])
def test_input_output(tmp_path, items, i, o):
    out = tmp_path / "long"
    assert (
        main(["spark-itemsimilarity", i, str(items), o, str(out), "--scheduler", "sync", "-q"])
        == 0
    )
    assert _lines(out) == _lines(_run("itemsimilarity", items))


@pytest.mark.parametrize("spelling", ["-i2", "--input2"])
def test_input2(tmp_path, actions, spelling):
    """A'B from two files equals A'B from one file split by --filter1/--filter2."""
    purchases = _write(tmp_path / "p" / "purchases.csv",
                       [f"{u},{i}" for u, a, i in (s.split(",") for s in ACTION_LOG)
                        if a == "purchase"])  # fmt: skip
    views = _write(tmp_path / "v" / "views.csv",
                   [f"{u},{i}" for u, a, i in (s.split(",") for s in ACTION_LOG)
                    if a == "view"])  # fmt: skip
    two = _run("itemsimilarity", purchases, spelling, str(views))
    one = _run("itemsimilarity", actions, "-fc", "1", *FILTERS, "-f2", "view")
    assert _lines(two, "cross-similarity-matrix") == _lines(one, "cross-similarity-matrix")
    assert _lines(two) == _lines(one)


@pytest.mark.parametrize(
    "spelling", ["-mppu", "--maxPrefs", "--max-prefs", "--maxPrefsPerUser", "--max-prefs-per-user"]
)
def test_max_prefs(items, spelling):
    default = _parse(_lines(_run("itemsimilarity", items)))
    assert any(default.values())
    one = _parse(_lines(_run("itemsimilarity", items, spelling, "1")))
    assert one.keys() == default.keys()
    assert not any(one.values())  # one interaction per user: nothing co-occurs


@pytest.mark.parametrize(
    "spelling", ["-m", "--maxSimilaritiesPerItem", "--max-similarities-per-item"]
)
def test_max_similarities_per_item(items, spelling):
    default = _parse(_lines(_run("itemsimilarity", items)))
    assert max(map(len, default.values())) >= 2
    one = _parse(_lines(_run("itemsimilarity", items, spelling, "1")))
    assert {k: v[:1] for k, v in default.items()} == one


@pytest.mark.parametrize("spelling", ["-id", "--inDelim", "--in-delim"])
def test_in_delim(tmp_path, items, spelling):
    semi = _write(tmp_path / "semi" / "items.txt", [s.replace(",", ";") for s in ITEM_LOG])
    assert _lines(_run("itemsimilarity", semi, spelling, ";")) == _lines(
        _run("itemsimilarity", items)
    )


@pytest.mark.parametrize(
    ("rc", "ic"),
    [("-rc", "-ic"), ("--rowIDColumn", "--itemIDColumn"), ("--row-id-column", "--item-id-column")],
)
def test_row_and_item_id_columns(tmp_path, items, rc, ic):
    swapped = _write(
        tmp_path / "sw" / "items.csv", [",".join(s.split(",")[::-1]) for s in ITEM_LOG]
    )
    out = _run("itemsimilarity", swapped, rc, "1", ic, "0")
    assert _lines(out) == _lines(_run("itemsimilarity", items))


@pytest.mark.parametrize(
    ("fc", "f1", "f2"),
    [("-fc", "-f1", "-f2"), ("--filterColumn", "--filter1", "--filter2"),
     ("--filter-column", "--filter1", "--filter2")],
)  # fmt: skip
def test_filter_column_and_filters(tmp_path, actions, fc, f1, f2):
    purchases = _write(tmp_path / "p" / "purchases.csv",
                       [f"{u},{i}" for u, a, i in (s.split(",") for s in ACTION_LOG)
                        if a == "purchase"])  # fmt: skip
    first = _run("itemsimilarity", actions, fc, "1", "-ic", "2", f1, "purchase")
    assert _lines(first) == _lines(_run("itemsimilarity", purchases))
    assert not (first / "cross-similarity-matrix").exists()
    both = _run("itemsimilarity", actions, fc, "1", "-ic", "2", f1, "purchase", f2, "view")
    assert _lines(both) == _lines(first)
    assert _parse(_lines(both, "cross-similarity-matrix"))["iphone"]  # A'B written


@pytest.mark.parametrize("spelling", ["-r", "--recursive"])
def test_recursive(tmp_path, items, spelling):
    _write(tmp_path / "d" / "part-00000", ITEM_LOG[:6])
    _write(tmp_path / "d" / "sub" / "part-00001", ITEM_LOG[6:])
    top = _run("itemsimilarity", tmp_path / "d")
    assert _lines(top) == _lines(_run("itemsimilarity", _write(tmp_path / "h.csv", ITEM_LOG[:6])))
    assert _lines(_run("itemsimilarity", tmp_path / "d", spelling)) == _lines(
        _run("itemsimilarity", items)
    )


@pytest.mark.parametrize("spelling", ["-fp", "--filenamePattern", "--filename-pattern"])
def test_filename_pattern(tmp_path, items, spelling):
    _write(tmp_path / "d" / "part-00000", ITEM_LOG)
    _write(tmp_path / "d" / "notes.csv", ["u9,a", "u9,e", "u8,e", "u8,b"])
    out = _run("itemsimilarity", tmp_path / "d", spelling, "^part-.*")
    assert _lines(out) == _lines(_run("itemsimilarity", items))
    assert _lines(_run("itemsimilarity", tmp_path / "d")) != _lines(out)


@pytest.mark.parametrize(
    ("spellings", "value", "default"),
    [
        (["-rd", "--rowKeyDelim", "--row-key-delim"], ",", "\t"),
        (["-cd", "--columnIdStrengthDelim", "--column-id-strength-delim"], "=", ":"),
        (["-td", "--elementDelim", "--element-delim"], "|", " "),
    ],
    ids=["rowKeyDelim", "columnIdStrengthDelim", "elementDelim"],
)
def test_output_delimiters(items, spellings, value, default):
    """Mahout writes ROW<rd>ID<cd>STRENGTH<td>ID<cd>STRENGTH; labels hold none of these."""
    expected = [line.replace(default, value) for line in _lines(_run("itemsimilarity", items))]
    assert any(default in line for line in _lines(_run("itemsimilarity", items)))
    for spelling in spellings:
        assert _lines(_run("itemsimilarity", items, spelling, value)) == expected


def test_all_delimiters_read_back(items):
    default = _parse(_lines(_run("itemsimilarity", items)))
    out = _run("itemsimilarity", items, "-rd", ",", "-cd", "=", "-td", ";")
    assert _parse(_lines(out), ",", "=", ";") == default
    tab = _run("itemsimilarity", items, "-rd", "\\t", "-td", "\\t")  # '\t' means tab
    assert _parse(_lines(tab), "\t", ":", "\t") == default


@pytest.mark.parametrize("spelling", ["-os", "--omitStrength", "--omit-strength"])
def test_omit_strength(items, spelling):
    default = _parse(_lines(_run("itemsimilarity", items)))
    lines = _lines(_run("itemsimilarity", items, spelling))
    assert ":" not in "".join(lines)
    assert {k: [e[0] for e in v] for k, v in default.items()} == {
        k: [e for (e,) in v] for k, v in _parse(lines).items()
    }


@pytest.mark.parametrize("spelling", ["-rs", "--randomSeed"])
def test_random_seed_is_seed(items, spelling):
    for seed in ("3", "11"):
        mahout = _run("itemsimilarity", items, spelling, seed, "-mppu", "2")
        assert _lines(mahout) == _lines(
            _run("itemsimilarity", items, "--seed", seed, "-mppu", "2")
        )


@pytest.mark.parametrize("spelling", ["--writeAllDatasets", "--write-all-datasets"])
def test_write_all_datasets(actions, spelling):
    out = _run("itemsimilarity", actions, "-fc", "1", *FILTERS, "-f2", "view", spelling)
    assert _lines(out) == _lines(
        _run("itemsimilarity", actions, "-fc", "1", *FILTERS, "-f2", "view")
    )
    primary = _lines(out / "input-datasets", "primary-interactions")
    assert primary == ["u1\tipad:1.0 iphone:1.0", "u2\tgalaxy:1.0 nexus:1.0", "u3\tsurface:1.0",
                       "u4\tgalaxy:1.0 iphone:1.0"]  # fmt: skip
    secondary = _parse(_lines(out / "input-datasets", "secondary-interactions"))
    assert [e[0] for e in secondary["u3"]] == ["nexus", "surface"]
    assert (out / "input-datasets" / "secondary-interactions" / "_SUCCESS").exists()
    bare = _run("itemsimilarity", actions, "-fc", "1", *FILTERS, spelling, "-os", "-rd", ",")
    assert _lines(bare / "input-datasets", "primary-interactions")[0] == "u1,ipad iphone"
    assert not (bare / "input-datasets" / "secondary-interactions").exists()


# ---------------------------------------------------------------- Spark options on Dask


@pytest.fixture
def cluster(monkeypatch):
    """Record what the CLI asks of dl.local_cluster / dl.connect; compute synchronously."""
    calls = []

    @contextmanager
    def local_cluster(quiet=False, **kwargs):
        calls.append(("local", kwargs))
        with dask.config.set(scheduler="synchronous"):
            yield None

    @contextmanager
    def connect(address):
        calls.append(("address", address))
        with dask.config.set(scheduler="synchronous"):
            yield None

    monkeypatch.setattr(dlinalg, "local_cluster", local_cluster)
    monkeypatch.setattr(dlinalg, "connect", connect)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    return calls


ONE_WORKER = {"n_workers": 1}


@pytest.mark.parametrize("spelling", ["-ma", "--master"])
@pytest.mark.parametrize(
    ("master", "call"),
    [
        ("local", ("local", {**ONE_WORKER, "threads_per_worker": 1})),
        ("local[3]", ("local", {**ONE_WORKER, "threads_per_worker": 3})),
        ("local[2,4]", ("local", {**ONE_WORKER, "threads_per_worker": 2})),
        ("local[*]", ("local", {})),
        ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
        ("scheduler.example.org:8786", ("address", "tcp://scheduler.example.org:8786")),
    ],
)
def test_master(items, cluster, spelling, master, call):
    out = _run("itemsimilarity", items, spelling, master, sync=False)
    assert cluster == [call]
    assert _lines(out) == _lines(_run("itemsimilarity", items))


def test_default_runs_a_small_log_in_this_process(items, cluster, monkeypatch):
    # no -ma, --scheduler or $DASK_SCHEDULER_ADDRESS: a small log is computed on this
    # process's threads (a LocalCluster's start-up would dominate), a large one on a
    # LocalCluster sized to the machine; the output is the same
    from dlinalg.models.recommenders import cli

    seen = []
    real = cli.ItemSimilarity.fit

    def fit(self, *args, **kwargs):
        seen.append(dask.config.get("scheduler", None))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cli.ItemSimilarity, "fit", fit)
    small = _run("itemsimilarity", items, sync=False)
    assert cluster == []
    assert seen == [dask.threaded.get]  # the function: its name would import distributed
    monkeypatch.setattr(cli, "IN_PROCESS_BYTES", 3)  # the log has more bytes than that
    large = _run("itemsimilarity", items, sync=False)
    assert cluster == [("local", {})]
    assert _lines(small) == _lines(large)


def test_help_says_how_the_default_decides(capsys):
    with pytest.raises(SystemExit):
        main(["itemsimilarity", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "input files of up to 8 MiB (about 200,000 lines" in text
    assert "the workers read the input" in text


@pytest.mark.parametrize("spelling", ["-sem", "--sparkExecutorMem"])
@pytest.mark.parametrize(
    ("memory", "limit"),
    [("2g", 2 * 2**30), ("512m", 512 * 2**20), ("1024", 2**30), ("3GB", 3 * 2**30)],
)
def test_spark_executor_mem(items, cluster, spelling, memory, limit):
    _run("itemsimilarity", items, spelling, memory, "-ma", "local[2]", sync=False)
    assert cluster == [("local", {**ONE_WORKER, "threads_per_worker": 2, "memory_limit": limit})]
    _run("rowsimilarity", _rows_file(items.parent), spelling, memory, sync=False)
    assert cluster[-1] == ("local", {"memory_limit": limit})  # default LocalCluster


def test_spark_executor_mem_with_a_running_scheduler_is_a_note(items, capsys):
    _run("itemsimilarity", items, "-sem", "4g", quiet=False)
    assert "note: -sem/--sparkExecutorMem ignored" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["-D:", "--define:", "-D"])
def test_define_is_accepted_and_ignored(items, capsys, spelling):
    pairs = ["spark.kryo.referenceTracking=false", "spark.executor.cores=2"]
    argv = [a for p in pairs for a in (["-D", p] if spelling == "-D" else [spelling + p])]
    out = _run("itemsimilarity", items, *argv, quiet=False)
    err = capsys.readouterr().err
    assert err.count("note:") == 1
    assert "spark.kryo.referenceTracking, spark.executor.cores" in err
    assert _lines(out) == _lines(_run("itemsimilarity", items))
    _run("itemsimilarity", items, *argv)
    assert capsys.readouterr().err == ""  # --quiet: no note


# ---------------------------------------------------------------- spark-rowsimilarity


ROWS = ["r1\ta:1 b:1 c:1 d:1", "r2\ta:1 b:1 c:1", "r3\ta:1 b:1", "r4\tc:1 d:1", "r5\te:1",
        "r6\ta:1 d:1"]  # fmt: skip


def _rows_file(directory: Path, rd: str = "\t", cd: str = ":", td: str = " ") -> Path:
    lines = [r.replace(":", cd).replace(" ", td).replace("\t", rd) for r in ROWS]
    return _write(directory / f"rows{next(_counter)}.txt", lines)


@pytest.mark.parametrize("spelling", ["-mo", "--maxObservations", "--max-observations"])
def test_max_observations(tmp_path, spelling):
    rows = _rows_file(tmp_path)
    assert any(_parse(_lines(_run("rowsimilarity", rows))).values())
    assert not any(_parse(_lines(_run("rowsimilarity", rows, spelling, "1"))).values())


@pytest.mark.parametrize(
    "spelling", ["-m", "--maxSimilaritiesPerRow", "--max-similarities-per-row"]
)
def test_max_similarities_per_row(tmp_path, spelling):
    rows = _rows_file(tmp_path)
    default = _parse(_lines(_run("rowsimilarity", rows)))
    assert max(map(len, default.values())) >= 2
    assert _parse(_lines(_run("rowsimilarity", rows, spelling, "1"))) == {
        k: v[:1] for k, v in default.items()
    }


@pytest.mark.parametrize(
    "names",
    [("-rd", "-cd", "-td", "-os"),
     ("--rowKeyDelim", "--columnIdStrengthDelim", "--elementDelim", "--omitStrength")],
)  # fmt: skip
def test_rowsimilarity_delimiters_read_and_write(tmp_path, names):
    """In Mahout one schema reads and writes rows: -rd/-cd/-td apply to both."""
    rd, cd, td, os_ = names
    default = _parse(_lines(_run("rowsimilarity", _rows_file(tmp_path))))
    rows = _rows_file(tmp_path, ",", "=", ";")
    out = _run("rowsimilarity", rows, rd, ",", cd, "=", td, ";")
    assert _parse(_lines(out), ",", "=", ";") == default
    bare = _lines(_run("rowsimilarity", rows, rd, ",", cd, "=", td, ";", os_))
    assert _parse(bare, ",", "=", ";") == {k: [(e[0],) for e in v] for k, v in default.items()}


def test_rowsimilarity_write_all_datasets_has_no_effect(tmp_path, capsys):
    rows = _rows_file(tmp_path)
    out = _run("rowsimilarity", rows, "--writeAllDatasets", quiet=False)
    assert "--writeAllDatasets has no effect for rowsimilarity" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["similarity-matrix"]


# ---------------------------------------------------------------- refusals, before any reading


IC, RC, FC = "--item-id-column/-ic", "--row-id-column/-rc", "--filter-column/-fc"


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        ("itemsimilarity", ["-ic", "0"], f"argument {IC}: column '0' is also the {RC} column"),
        ("itemsimilarity", ["--itemIDColumn", "0"], f"argument {IC}: column '0' is also the {RC}"),
        ("itemsimilarity", ["--rowIDColumn", "1"], f"argument {IC}: column '1' is also the {RC}"),
        ("itemsimilarity", ["--filterColumn", "1"], f"argument {FC}: column '1' is also the {IC}"),
        ("itemsimilarity", ["-fc", "0", "-ic", "2"], f"argument {FC}: column '0' is also the {RC}"),
        ("itemsimilarity", ["-ic", "0"], "The row, item, and filter positions must be unique."),
        ("itemsimilarity", ["-f1", "a", "-f2", "a", "-fc", "2"], "--filter1 and --filter2 are both 'a'"),
        ("itemsimilarity", ["--maxPrefs", "0"], "--max-prefs must be at least 1, got 0"),
        ("itemsimilarity", ["-m", "0"], "--max-similarities-per-item must be at least 1, got 0"),
        ("itemsimilarity", ["-rs", "0"], "argument -rs/--randomSeed: Option --randomSeed must be > 0"),
        ("itemsimilarity", ["-rs", "3", "--seed", "4"], "-rs/--randomSeed: not allowed with --seed"),
        ("itemsimilarity", ["-ma", "spark://h:7077"], "'spark://h:7077' is a Spark master"),
        ("itemsimilarity", ["--master", "yarn"], "argument -ma/--master: 'yarn' is a Spark master"),
        ("itemsimilarity", ["-ma", "local[0]"], "'local[0]' asks for no threads"),
        ("itemsimilarity", ["-ma", "nowhere"], "'nowhere' is neither local, local[N], local[*]"),
        ("itemsimilarity", ["-ma", "local", "--scheduler", "threads"], "not allowed with --scheduler"),
        ("itemsimilarity", ["-sem", "lots"], "-sem/--sparkExecutorMem: 'lots' is not a memory size"),
        ("itemsimilarity", ["-D:spark.x="], "-D: Value <sparkConfValue> must be non-blank"),
        ("itemsimilarity", ["--define:novalue"], "-D: ':novalue' is not :key=value"),
        ("itemsimilarity", ["-rd", ""], "--row-key-delim/-rd: the delimiter is empty"),
        ("itemsimilarity", ["-cd", ""], "--column-id-strength-delim/-cd: the delimiter is empty"),
        ("rowsimilarity", ["--maxObservations", "0"], "--max-observations must be at least 1"),
        ("rowsimilarity", ["--maxSimilaritiesPerRow", "0"], "--max-similarities-per-row must be"),
        ("rowsimilarity", ["-td", ""], "--element-delim/-td: the delimiter is empty"),
        ("rowsimilarity", ["--master", "spark://h:7077"], "is a Spark master"),
    ],
)  # fmt: skip
def test_refusals(tmp_path, capsys, command, options, message):
    """Exit 2 with one argparse-style line; the input (missing here) is never opened."""
    out = tmp_path / "out"
    argv = [command, "-i", str(tmp_path / "missing.csv"), "-o", str(out), *options, "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith(f"dlinalg {command}: error: ")
    assert message in err
    assert "not found" not in err
    assert not out.exists()
