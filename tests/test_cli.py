"""The ``dlinalg`` command line against Mahout's own expected outputs, and its failure modes.

Expected lines are copied verbatim from Apache Mahout:

* ``spark/src/test/scala/org/apache/mahout/drivers/ItemSimilarityDriverSuite.scala``
  (``SelfSimilairtyLines``, ``CrossSimilarityLines`` and the per-test answers),
* ``spark/src/test/scala/org/apache/mahout/drivers/RowSimilarityDriverSuite.scala``,
* the documentation page "Intro to Cooccurrence Recommenders with Spark"
  (``website/docs/...``), which prints the same two matrices.

Mahout's suites compare token multisets, because Spark's line order and the
order of equal scores inside a line are not determined. Here the comparison is
stricter: every line must carry exactly Mahout's entries with Mahout's score
strings (byte for byte), lines whose scores are all distinct must equal
Mahout's line byte for byte, and the whole file must equal Mahout's lines
sorted by item label with equal scores in item-dictionary (label) order, which
is what ``dlinalg`` writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from dlinalg.models.cli import main

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- Mahout's data

MIXED_LOG = [
    "u1,purchase,iphone", "u1,purchase,ipad", "u2,purchase,nexus", "u2,purchase,galaxy",
    "u3,purchase,surface", "u4,purchase,iphone", "u4,purchase,galaxy", "u1,view,iphone",
    "u1,view,ipad", "u1,view,nexus", "u1,view,galaxy", "u2,view,iphone", "u2,view,ipad",
    "u2,view,nexus", "u2,view,galaxy", "u3,view,surface", "u3,view,nexus", "u4,view,iphone",
    "u4,view,ipad", "u4,view,galaxy",
]  # fmt: skip

SELF_SIMILARITY = [
    "galaxy\tnexus:1.7260924347106847",
    "ipad\tiphone:1.7260924347106847",
    "nexus\tgalaxy:1.7260924347106847",
    "iphone\tipad:1.7260924347106847",
    "surface",
]
CROSS_SIMILARITY = [
    (
        "iphone\tnexus:1.7260924347106847 iphone:1.7260924347106847 ipad:1.7260924347106847 "
        "galaxy:1.7260924347106847"
    ),
    (
        "ipad\tnexus:0.6795961471815897 iphone:0.6795961471815897 ipad:0.6795961471815897 "
        "galaxy:0.6795961471815897"
    ),
    (
        "nexus\tnexus:0.6795961471815897 iphone:0.6795961471815897 ipad:0.6795961471815897 "
        "galaxy:0.6795961471815897"
    ),
    (
        "galaxy\tnexus:1.7260924347106847 iphone:1.7260924347106847 ipad:1.7260924347106847 "
        "galaxy:1.7260924347106847"
    ),
    "surface\tsurface:4.498681156950466 nexus:0.6795961471815897",
]

# "two inputs of different dimensions": u3's purchase removed, one user dictionary
NO_U3_PURCHASE = [line for line in MIXED_LOG if line != "u3,purchase,surface"]
NO_U3_SELF = [
    "ipad\tiphone:1.7260924347106847",
    "iphone\tipad:1.7260924347106847",
    "nexus\tgalaxy:1.7260924347106847",
    "galaxy\tnexus:1.7260924347106847",
]
NO_U3_CROSS = [
    (
        "galaxy\tgalaxy:1.7260924347106847 iphone:1.7260924347106847 ipad:1.7260924347106847 "
        "nexus:1.7260924347106847"
    ),
    (
        "iphone\tgalaxy:1.7260924347106847 iphone:1.7260924347106847 ipad:1.7260924347106847 "
        "nexus:1.7260924347106847"
    ),
    (
        "ipad\tgalaxy:0.6795961471815897 iphone:0.6795961471815897 ipad:0.6795961471815897 "
        "nexus:0.6795961471815897"
    ),
    (
        "nexus\tiphone:0.6795961471815897 ipad:0.6795961471815897 nexus:0.6795961471815897 "
        "galaxy:0.6795961471815897"
    ),
]

# "cross similarity two separate items spaces": views of categories
PURCHASES = MIXED_LOG[:7]
CATEGORY_VIEWS = [
    "u1,view,phones", "u1,view,mobile_acc", "u2,view,phones", "u2,view,tablets",
    "u2,view,mobile_acc", "u3,view,mobile_acc", "u4,view,phones", "u4,view,tablets",
    "u4,view,soap",
]  # fmt: skip
CATEGORY_CROSS = [
    "iphone\tmobile_acc:1.7260924347106847 soap:1.7260924347106847 phones:1.7260924347106847",
    "surface\tmobile_acc:0.6795961471815897",
    "nexus\ttablets:1.7260924347106847 mobile_acc:0.6795961471815897 phones:0.6795961471815897",
    (
        "galaxy\ttablets:5.545177444479561 soap:1.7260924347106847 phones:1.7260924347106847 "
        "mobile_acc:1.7260924347106847"
    ),
    "ipad\tmobile_acc:0.6795961471815897 phones:0.6795961471815897",
]
# "... missing rows in B": u3's view removed
MISSING_B_CROSS = [
    "galaxy\ttablets:5.545177444479561 soap:1.7260924347106847 phones:1.7260924347106847",
    "ipad\tmobile_acc:1.7260924347106847 phones:0.6795961471815897",
    "surface",
    "nexus\tmobile_acc:1.7260924347106847 tablets:1.7260924347106847 phones:0.6795961471815897",
    "iphone\tsoap:1.7260924347106847 phones:1.7260924347106847",
]
# "... adding rows in B": u5 only views, so N = 5 for both matrices. Mahout lists these
# as tokens; each item token starts a line, in this order, and its entries follow.
ADDING_B_SELF = [
    "galaxy\tnexus:2.231435513142097 iphone:0.13844293808390518",
    "nexus\tgalaxy:2.231435513142097",
    "ipad\tiphone:2.231435513142097",
    "surface",
    "iphone\tipad:2.231435513142097 galaxy:0.13844293808390518",
]
ADDING_B_CROSS = [
    (
        "galaxy\ttablets:6.730116670092563 phones:2.9110316603236868 soap:0.13844293808390518 "
        "mobile_acc:0.13844293808390518"
    ),
    "nexus\ttablets:2.231435513142097 mobile_acc:1.184939225613002 phones:1.184939225613002",
    "ipad\tmobile_acc:1.184939225613002 phones:1.184939225613002",
    "surface\tmobile_acc:1.184939225613002",
    (
        "iphone\tphones:2.9110316603236868 soap:0.13844293808390518 tablets:0.13844293808390518 "
        "mobile_acc:0.13844293808390518"
    ),
]
# "legacy supported file format": integer IDs, a value column, all defaults
LEGACY = ["0,0,1", "0,1,1", "1,2,1", "1,3,1", "2,4,1", "3,0,1", "3,3,1"]
LEGACY_ANSWER = ["0\t1:1.7260924347106847", "3\t2:1.7260924347106847",
                 "1\t0:1.7260924347106847", "4", "2\t3:1.7260924347106847"]  # fmt: skip
LEGACY_OMIT = ["0\t1", "3\t2", "1\t0", "4", "2\t3"]

TEXT_DOCS = [
    "doc1\tNow is the time for all good people to come to aid of their party",
    "doc2\tNow is the time for all good people to come to aid of their country",
    "doc3\tNow is the time for all good people to come to aid of their hood",
    "doc4\tNow is the time for all good people to come to aid of their friends",
    "doc5\tNow is the time for all good people to come to aid of their looser brother",
    "doc6\tThe quick brown fox jumped over the lazy dog",
    "doc7\tThe quick brown fox jumped over the lazy boy",
    "doc8\tThe quick brown fox jumped over the lazy cat",
    "doc9\tThe quick brown fox jumped over the lazy wolverine",
    "doc10\tThe quick brown fox jumped over the lazy cantelope",
]
TEXT_DOCS_SIMILAR = [
    (
        "doc1\tdoc3:27.87301122947484 doc2:27.87301122947484 doc4:27.87301122947484 "
        "doc5:23.42278065550721"
    ),
    (
        "doc2\tdoc4:27.87301122947484 doc3:27.87301122947484 doc1:27.87301122947484 "
        "doc5:23.42278065550721"
    ),
    (
        "doc3\tdoc4:27.87301122947484 doc2:27.87301122947484 doc1:27.87301122947484 "
        "doc5:23.42278065550721"
    ),
    (
        "doc4\tdoc3:27.87301122947484 doc2:27.87301122947484 doc1:27.87301122947484 "
        "doc5:23.42278065550721"
    ),
    (
        "doc5\tdoc4:23.42278065550721 doc2:23.42278065550721 doc3:23.42278065550721 "
        "doc1:23.42278065550721"
    ),
    (
        "doc6\tdoc8:22.936393049704463 doc10:22.936393049704463 doc7:22.936393049704463 "
        "doc9:22.936393049704463"
    ),
    (
        "doc7\tdoc6:22.936393049704463 doc8:22.936393049704463 doc10:22.936393049704463 "
        "doc9:22.936393049704463"
    ),
    (
        "doc8\tdoc6:22.936393049704463 doc10:22.936393049704463 doc7:22.936393049704463 "
        "doc9:22.936393049704463"
    ),
    (
        "doc9\tdoc6:22.936393049704463 doc8:22.936393049704463 doc10:22.936393049704463 "
        "doc7:22.936393049704463"
    ),
    (
        "doc10\tdoc6:22.936393049704463 doc8:22.936393049704463 doc7:22.936393049704463 "
        "doc9:22.936393049704463"
    ),
]

MIXED_OPTIONS = ["--filter1", "purchase", "--filter2", "view", "--row-id-column", "0",
                 "--filter-column", "1", "--item-id-column", "2"]  # fmt: skip


# ---------------------------------------------------------------- helpers


def _entries(line: str) -> tuple[str, list[tuple[str, str]]]:
    """(label, [(other, score string)]); the score is "" when strengths are omitted."""
    label, _, rest = line.partition("\t")
    entries = []
    for token in rest.split(" ") if rest else []:
        other, _, score = token.rpartition(":") if ":" in token else (token, "", "")
        entries.append((other, score))
    return label, entries


def _canonical(line: str) -> str:
    """Mahout's line with equal scores in label order: what dlinalg writes."""
    label, entries = _entries(line)
    if not entries:
        return label
    entries.sort(key=lambda e: (-float(e[1] or 0), e[0]))
    return label + "\t" + " ".join(f"{o}:{s}" if s else o for o, s in entries)


def assert_matches_mahout(part: Path, expected: list[str]) -> None:
    """Byte-for-byte where Mahout's order is determined; same entries everywhere."""
    text = part.read_bytes().decode("utf-8")
    got = text.split("\n")
    assert got[-1] == "", "the file ends with a newline"
    got = got[:-1]
    by_label = {_entries(line)[0]: line for line in got}
    assert sorted(by_label) == sorted(_entries(line)[0] for line in expected)
    for want in expected:
        label, entries = _entries(want)
        mine = by_label[label]
        _, my_entries = _entries(mine)
        assert sorted(my_entries) == sorted(entries), (mine, want)  # same strings
        assert [s for _, s in my_entries] == [s for _, s in entries]  # same score order
        if len({s for _, s in entries}) == len(entries):  # no ties: Mahout's bytes
            assert mine == want
    exact = "".join(line + "\n" for line in sorted(map(_canonical, expected)))
    assert text == exact


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.fixture
def run(scheduler):
    """``main`` on the test's scheduler: synchronous, or the shared LocalCluster."""
    where = "synchronous" if scheduler == "sync" else scheduler.scheduler.address

    def _run(*argv: str) -> int:
        return main([*argv, "--scheduler", where, "--quiet"])

    return _run


def run_sync(*argv: str) -> int:
    return main([*argv, "--scheduler", "synchronous", "--quiet"])


# ---------------------------------------------------------------- Mahout's outputs


def test_mahout_docs_example_mixed_log(tmp_path, run):
    """The docs' mixed purchase/view log (ItemSimilarityDriverSuite 'non-full-spec CSV')."""
    src = _write(tmp_path / "in-file.csv" / "part-00000", MIXED_LOG).parent
    assert run("itemsimilarity", "-i", str(src), "-o", str(tmp_path / "out"), *MIXED_OPTIONS) == 0
    assert_matches_mahout(tmp_path / "out/similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(tmp_path / "out/cross-similarity-matrix/part-00000", CROSS_SIMILARITY)
    assert (tmp_path / "out/similarity-matrix/_SUCCESS").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in-file.csv", "out"]  # no temp left


def test_mahout_tsv_and_character_class_delimiter(tmp_path):
    src = _write(tmp_path / "in.tsv", [line.replace(",", "\t") for line in MIXED_LOG])
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), *MIXED_OPTIONS,
                    "--in-delim", "[,\\t]") == 0  # fmt: skip
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(out / "cross-similarity-matrix/part-00000", CROSS_SIMILARITY)


def test_mahout_log_file_columns(tmp_path):
    lines = []
    for line in MIXED_LOG:
        user, action, item = line.split(",")
        lines.append(f"2014-06-23 14:46:53.115\t{user}\t{action}\trandom text\t{item}")
    src = _write(tmp_path / "in-file.log", lines)
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), "--filter1", "purchase",
                    "--filter2", "view", "--in-delim", "\t", "--item-id-column", "4",
                    "--row-id-column", "1", "--filter-column", "2") == 0  # fmt: skip
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(out / "cross-similarity-matrix/part-00000", CROSS_SIMILARITY)


@pytest.mark.parametrize(
    ("extra", "answer"), [([], LEGACY_ANSWER), (["--omit-strength"], LEGACY_OMIT)]
)
def test_mahout_legacy_format_and_omit_strength(tmp_path, extra, answer):
    src = _write(tmp_path / "in-dir" / "in-file.tsv", LEGACY)
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), *extra) == 0
    assert_matches_mahout(out / "similarity-matrix/part-00000", answer)
    assert not (out / "cross-similarity-matrix").exists()


def test_mahout_recursive_file_discovery(tmp_path):
    data = tmp_path / "data"
    _write(data / "m1.tsv", [line.replace(",", "\t") for line in MIXED_LOG[:7]])
    _write(data / "more-data/another-dir/m2.tsv", [x.replace(",", "\t") for x in MIXED_LOG[7:]])
    _write(data / "notes.txt", ["not,data"])  # excluded by the pattern
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(data), "-o", str(out), *MIXED_OPTIONS,
                    "--in-delim", "\t", "--filename-pattern", "m..tsv", "--recursive") == 0  # fmt: skip
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(out / "cross-similarity-matrix/part-00000", CROSS_SIMILARITY)


@pytest.mark.parametrize(
    ("lines", "self_expected", "cross_expected"),
    [
        (MIXED_LOG, SELF_SIMILARITY, CROSS_SIMILARITY),  # "two input paths"
        (NO_U3_PURCHASE, NO_U3_SELF, NO_U3_CROSS),  # "two inputs of different dimensions"
        (PURCHASES + CATEGORY_VIEWS, SELF_SIMILARITY, CATEGORY_CROSS),  # "separate item spaces"
        (PURCHASES + [v for v in CATEGORY_VIEWS if v != "u3,view,mobile_acc"],
         SELF_SIMILARITY, MISSING_B_CROSS),  # "..., missing rows in B"
        (PURCHASES + CATEGORY_VIEWS + ["u5,view,soap"],
         ADDING_B_SELF, ADDING_B_CROSS),  # "..., adding rows in B"
    ],
    ids=["two-inputs", "different-dimensions", "item-spaces", "missing-rows-in-B",
         "adding-rows-in-B"],
)  # fmt: skip
def test_mahout_two_inputs(tmp_path, lines, self_expected, cross_expected):
    """--input and --input2 share one user dictionary (N counts users of either)."""
    in1 = _write(tmp_path / "in-file1.csv" / "part-00000", lines).parent
    in2 = _write(tmp_path / "in-file2.csv" / "part-00000", lines).parent
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(in1), "-i2", str(in2), "-o", str(out),
                    *MIXED_OPTIONS) == 0  # fmt: skip
    assert_matches_mahout(out / "similarity-matrix/part-00000", self_expected)
    assert_matches_mahout(out / "cross-similarity-matrix/part-00000", cross_expected)


@pytest.mark.parametrize("omit", [False, True])
def test_mahout_rowsimilarity_text_docs(tmp_path, run, omit):
    src = _write(tmp_path / "in-dir" / "in-file.tsv", TEXT_DOCS)
    out = tmp_path / "out"
    extra = ["--omit-strength"] if omit else []
    assert run("rowsimilarity", "-i", str(src), "-o", str(out),
               "--max-similarities-per-row", "4", *extra) == 0  # fmt: skip
    expected = TEXT_DOCS_SIMILAR
    if omit:  # Mahout's "no strengths" test: the same similar docs, scores dropped
        expected = [_canonical(line) for line in expected]
    part = out / "similarity-matrix/part-00000"
    if omit:
        got = part.read_text().splitlines()
        want = [line.split("\t")[0] + "\t" + " ".join(e.rsplit(":", 1)[0] for e in
                line.split("\t")[1].split(" ")) for line in expected]  # fmt: skip
        assert got == sorted(want)
    else:
        assert_matches_mahout(part, expected)


# ---------------------------------------------------------------- formats and options


def test_parquet_input_named_columns_and_parquet_output(tmp_path, run):
    rows = [line.split(",") for line in MIXED_LOG]
    frame = pd.DataFrame(rows, columns=["user", "action", "item"])
    src = tmp_path / "log"
    src.mkdir()
    frame.iloc[:9].to_parquet(src / "a.parquet")
    frame.iloc[9:].to_parquet(src / "b.parquet")
    named = ["--filter1", "purchase", "--filter2", "view", "--row-id-column", "user",
             "--filter-column", "action", "--item-id-column", "item"]  # fmt: skip
    assert run("itemsimilarity", "-i", str(src), "-o", str(tmp_path / "txt"), *named) == 0
    assert_matches_mahout(tmp_path / "txt/similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(tmp_path / "txt/cross-similarity-matrix/part-00000", CROSS_SIMILARITY)
    pq_out = tmp_path / "pq"
    assert run("itemsimilarity", "-i", str(src), "-o", str(pq_out), *named,
               "--format", "parquet") == 0  # fmt: skip
    for name in ("similarity-matrix", "cross-similarity-matrix"):
        table = pd.read_parquet(pq_out / name / "part-00000.parquet")
        assert list(table.columns) == ["item", "similar", "score"]
        lines = (tmp_path / "txt" / name / "part-00000").read_text().splitlines()
        for (_, row), line in zip(table.iterrows(), lines, strict=True):
            label, entries = _entries(line)
            assert row["item"] == label
            assert list(row["similar"]) == [o for o, _ in entries]
            assert [repr(float(s)) for s in row["score"]] == [s for _, s in entries]


def test_csv_with_header_and_named_columns(tmp_path):
    src = _write(tmp_path / "log.csv", ["who,what,item", *MIXED_LOG])
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), "--filter1", "purchase",
                    "--filter2", "view", "--row-id-column", "who", "--filter-column", "what",
                    "--item-id-column", "item") == 0  # fmt: skip
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)


def test_max_similarities_per_item_and_overwrite(tmp_path):
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    out = tmp_path / "out"
    args = ["itemsimilarity", "-i", str(src), "-o", str(out), *MIXED_OPTIONS]
    assert run_sync(*args) == 0
    assert run_sync(*args, "--max-similarities-per-item", "1", "--overwrite") == 0
    lines = (out / "cross-similarity-matrix/part-00000").read_text().splitlines()
    assert lines == [_canonical(x).split(" ")[0] for x in sorted(CROSS_SIMILARITY)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- bad input


def _error(capsys, *argv: str) -> str:
    """Run ``main`` expecting exit status 2; return the one-line message."""
    assert run_sync(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.usefixtures("no_graph_no_compute")
def test_bad_input_is_reported_before_any_graph(tmp_path, capsys):
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    out = str(tmp_path / "out")
    base = ["itemsimilarity", "-i", str(src), "-o", out]
    err = _error(capsys, "itemsimilarity", "-i", str(tmp_path / "nope.csv"), "-o", out)
    assert "input not found" in err
    assert "nope.csv" in err
    empty = _write(tmp_path / "empty.csv", [])
    assert "has no rows" in _error(capsys, "itemsimilarity", "-i", str(empty), "-o", out)
    err = _error(capsys, *base, "--item-id-column", "7")
    assert "column 7 not found" in err
    assert "in.csv" in err
    named = _write(tmp_path / "named.csv", ["user,item", "u1,a"])
    err = _error(capsys, "itemsimilarity", "-i", str(named), "-o", out, "--item-id-column",
                 "product", "--row-id-column", "user")  # fmt: skip
    assert "column 'product' not found" in err
    assert "'user', 'item'" in err
    err = _error(capsys, *base, *MIXED_OPTIONS[:2], "--filter2", "veiw", *MIXED_OPTIONS[4:])
    assert "--filter2 'veiw' matches no rows" in err
    assert "'purchase', 'view'" in err
    err = _error(capsys, *base, "--filter1", "view", "--filter2", "view", "--filter-column", "1")
    assert "--filter1 and --filter2 are both 'view'" in err
    err = _error(capsys, *base, "--filter1", "view")
    assert "need --filter-column" in err
    err = _error(capsys, *base, "--max-similarities-per-item", "0")
    assert "--max-similarities-per-item must be at least 1, got 0" in err
    assert "--max-prefs must be at least 1" in _error(capsys, *base, "--max-prefs", "-3")
    err = _error(capsys, "rowsimilarity", "-i", str(src), "-o", out,
                 "--max-similarities-per-row", "0")  # fmt: skip
    assert "--max-similarities-per-row must be at least 1" in err
    err = _error(capsys, "itemsimilarity", "-i", str(tmp_path), "-o", str(tmp_path / "x"),
                 "--filename-pattern", "zzz")  # fmt: skip
    assert "no input files matching 'zzz'" in err
    assert not (tmp_path / "out").exists()


# one column in two roles: Mahout refuses positions that are not unique
IC, RC, FC = "--item-id-column/-ic", "--row-id-column/-rc", "--filter-column/-fc"


@pytest.mark.usefixtures("no_graph_no_compute")
@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        ("itemsimilarity", ["-ic", "0"], f"{IC}: column '0' is also the {RC}"),
        ("itemsimilarity", ["-rc", "1"], f"{IC}: column '1' is also the {RC}"),
        ("itemsimilarity", ["-ic", "00"], f"{IC}: column '00' is also the {RC}"),  # 00 is 0
        ("itemsimilarity", ["--filter-column", "1"], f"{FC}: column '1' is also the {IC}"),
        ("itemsimilarity", ["-fc", " 0", "-ic", "2"], f"{FC}: column '0' is also the {RC}"),
        ("itemsimilarity", ["-rc", "user", "-ic", "user"], f"{IC}: column 'user' is also"),
        ("rowsimilarity", ["-rc", "1"], f"{IC}: column '1' is also the {RC}"),
        ("rowsimilarity", ["-ic", "0"], f"{IC}: column '0' is also the {RC}"),
    ],
    ids=["ic=rc", "rc=ic", "ic=00", "fc=ic", "fc=rc", "names", "row-rc=ic", "row-ic=rc"],
)
def test_one_column_in_two_roles_is_refused(tmp_path, capsys, command, options, message):
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    before = sorted(p.name for p in tmp_path.iterdir())
    err = _error(capsys, command, "-i", str(src), "-o", str(tmp_path / "out"), *options)
    assert err.startswith(f"dlinalg {command}: error: argument ")
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_the_default_columns_are_distinct(tmp_path):
    """Mahout's -fc -1 (no action column) never collides with the default columns."""
    src = _write(tmp_path / "in.csv", ["u1,a", "u1,b", "u2,a"])
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(tmp_path / "o"), "-fc", "-1") == 0
    lines = (tmp_path / "o" / "similarity-matrix" / "part-00000").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["a", "b"]


def test_existing_output_is_refused(tmp_path, capsys):
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    err = _error(capsys, "itemsimilarity", "-i", str(src), "-o", str(out))
    assert "already exists; pass --overwrite" in err
    assert (out / "keep.txt").read_text() == "precious"
    err = _error(capsys, "itemsimilarity", "-i", str(src), "-o", str(tmp_path), "--overwrite")
    assert "would replace the input" in err


def test_failure_leaves_no_partial_output(tmp_path, monkeypatch, capsys):
    import dlinalg.models.recommenders._cli_io as cli_io

    calls = []

    def broken(path, rows, *, omit_strength):
        calls.append(path)
        if len(calls) == 2:  # the cross-similarity matrix, after the first was written
            raise OSError(28, "No space left on device", str(path))
        path.write_text("partial")

    monkeypatch.setattr(cli_io, "write_text", broken)
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), *MIXED_OPTIONS) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        "failed: No space left on device: " + str(calls[1]) + "; no output written\n"
    )
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no out, no temp dir


# ---------------------------------------------------------------- a real process


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "dlinalg.models.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_subprocess_exit_status_and_messages(tmp_path):
    proc = _cli("itemsimilarity", "-i", "missing.csv", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "dlinalg itemsimilarity: error: input not found: missing.csv\n"
    _write(tmp_path / "in.csv", MIXED_LOG)
    proc = _cli("itemsimilarity", "-i", "in.csv", "-o", "out", "--filter1", "buy",
                "--filter-column", "1", "--item-id-column", "2", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "'buy' matches no rows" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["itemsimilarity", "-i", "in.csv"])
    assert info.value.code == 2
    assert "required: -o/--output" in capsys.readouterr().err


def test_default_scheduler_is_a_local_cluster_for_a_large_log(tmp_path, monkeypatch):
    """Without --scheduler nor $DASK_SCHEDULER_ADDRESS a log above IN_PROCESS_BYTES runs a LocalCluster."""
    from contextlib import contextmanager

    import dask

    import dlinalg

    started = []

    @contextmanager
    def fake_local_cluster(**kwargs):
        started.append(kwargs)
        with dask.config.set(scheduler="synchronous"):
            yield None

    from dlinalg.models.recommenders import cli

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setattr(dlinalg, "local_cluster", fake_local_cluster)
    monkeypatch.setattr(cli, "IN_PROCESS_BYTES", 2)
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    assert main(["itemsimilarity", "-i", str(src), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert started == [{"quiet": True}]


def test_scheduler_address_from_environment(tmp_path, monkeypatch, client):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", client.scheduler.address)
    src = _write(tmp_path / "in.csv", MIXED_LOG)
    out = tmp_path / "out"
    assert main(["itemsimilarity", "-i", str(src), "-o", str(out), *MIXED_OPTIONS, "-q"]) == 0
    assert_matches_mahout(out / "similarity-matrix/part-00000", SELF_SIMILARITY)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("master", "cluster"),
    [((), False), (("-ma", "local[*]"), True)],
    ids=["default-small-log-in-process", "local-star-LocalCluster"],
)
def test_subprocess_default_and_local_cluster(tmp_path, master, cluster):
    """A small log runs in the command's process; -ma local[*] starts, uses and stops a LocalCluster."""
    _write(tmp_path / "in.csv", MIXED_LOG)
    proc = _cli("itemsimilarity", "-i", "in.csv", "-o", "out", *MIXED_OPTIONS, *master,
                cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert ("LocalCluster" in proc.stdout + proc.stderr) == cluster
    assert "wrote out" in proc.stderr
    assert_matches_mahout(tmp_path / "out/similarity-matrix/part-00000", SELF_SIMILARITY)
    assert_matches_mahout(tmp_path / "out/cross-similarity-matrix/part-00000", CROSS_SIMILARITY)


def test_cli_writes_the_fitted_indicators(tmp_path):
    """On the demo shop log the files hold exactly ItemSimilarity's indicators, in order."""
    import dask
    import numpy as np
    from dlinalg.models import Interactions, ItemSimilarity
    from dlinalg.models.recommenders.datasets import demo_interactions

    log = demo_interactions(300, seed=4)
    src = tmp_path / "log.parquet"
    log.astype({"action": str}).to_parquet(src)
    out = tmp_path / "out"
    assert run_sync("itemsimilarity", "-i", str(src), "-o", str(out), "--filter1", "purchase",
                    "--filter2", "view", "--row-id-column", "user", "--item-id-column", "item",
                    "--filter-column", "action", "-m", "7", "--max-prefs", "15") == 0  # fmt: skip
    data = Interactions.from_dataframe(log, action="action", actions=["purchase", "view"])
    model = ItemSimilarity(max_similar_items=7, max_interactions_per_user=15,
                           max_interactions_per_item=15)  # fmt: skip
    with dask.config.set(scheduler="synchronous"):
        model.fit(data)
    for j, name in enumerate(["similarity-matrix", "cross-similarity-matrix"]):
        lines = (out / name / "part-00000").read_text().splitlines()
        labels = model.item_labels_[0]
        assert [line.split("\t")[0] for line in lines] == sorted(labels)
        for line in lines:
            label, entries = _entries(line)
            others, scores = model.similar_items(label, N=7, which=j)
            keep = scores > 0
            assert [o for o, _ in entries] == list(others[keep])
            assert [s for _, s in entries] == [repr(float(x)) for x in scores[keep]]
            assert np.all(np.diff(np.array([float(s) for _, s in entries])) <= 0)


def test_the_program_flushes_its_summary_and_status_before_it_leaves(tmp_path):
    """Run as a program, the command ends with ``os._exit`` (no interpreter teardown).

    What it printed still arrives through a pipe, the output is complete, and
    the status is the command's: 0, then 2 for a missing input.
    """
    (tmp_path / "in.csv").write_text("u1,a\nu1,b\nu2,a\nu3,c\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    run = [sys.executable, "-m", "dlinalg.models.cli", "itemsimilarity", "-o", "out"]
    ok = subprocess.run([*run, "-i", "in.csv"], check=False, cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.startswith("dlinalg itemsimilarity: read 4 interactions of 3 users")
    assert (tmp_path / "out" / "similarity-matrix" / "part-00000").read_text().splitlines() == [
        "a\tb:1.046496287529096", "b\ta:1.046496287529096", "c"]  # fmt: skip
    bad = subprocess.run([*run, "-i", "missing.csv", "--overwrite"], check=False, cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr == "dlinalg itemsimilarity: error: input not found: missing.csv\n"


def test_main_returns_and_run_raises_system_exit_in_ipython(tmp_path, monkeypatch):
    """Only the program leaves with ``os._exit``: ``main()`` always returns its status
    (also with ``argv`` None, as a harness running the module as ``__main__`` calls
    it), and ``run()`` in an IPython session (``%run -m``) raises ``SystemExit``."""
    import types

    from dlinalg.models.cli import run

    (tmp_path / "in.csv").write_text("u1,a\nu1,b\nu2,a\n")
    monkeypatch.chdir(tmp_path)
    argv = ["dlinalg", "itemsimilarity", "-i", "in.csv", "--scheduler", "synchronous", "-q"]
    monkeypatch.setattr(sys, "argv", [*argv, "-o", "out1"])
    assert main() == 0
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: None  # a terminal IPython, not a notebook
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setattr(sys, "argv", [*argv, "-o", "out2"])
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 0
    assert (tmp_path / "out2" / "similarity-matrix" / "part-00000").exists()


@pytest.mark.slow
def test_ctrl_c_on_a_local_cluster_ends_with_one_line(tmp_path):
    """Ctrl-C while a LocalCluster computes: exit 130, one line, no traceback, nothing written.

    The signal goes to the whole process group, as a terminal's Ctrl-C does (the
    workers get it too). Measured exit: 0.7-2.0 s after the signal (5.0-5.5 s while the
    cluster was closed gracefully, waiting for each nanny to stop its worker).
    """
    import signal

    import numpy as np

    rng = np.random.default_rng(0)
    n = 400_000
    lines = [f"u{u},{'purchase' if a else 'view'},i{i}"
             for u, a, i in zip(rng.integers(0, 40_000, n), rng.integers(0, 2, n),
                                rng.integers(0, 20_000, n), strict=True)]  # fmt: skip
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    # a shell's background job starts with SIGINT ignored: give the command Python's handler
    start = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "from dlinalg.models.cli import main; sys.exit(main())")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", start, "itemsimilarity", "-i", "in.csv",
         "-o", "out", *MIXED_OPTIONS, "-ma", "local[*]"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        for line in proc.stdout:  # the cluster is up once its dashboard is named
            if "LocalCluster" in line:
                break
        time.sleep(2.0)  # computing
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "Task exception" not in err
    assert (
        err.rstrip().splitlines()[-1] == "dlinalg itemsimilarity: interrupted; no output written"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["itemsimilarity", "rowsimilarity"])
def test_progress_lines_name_each_stage_before_the_summary(tmp_path, capsys, monkeypatch, command):
    """Stages still running after PROGRESS_AFTER seconds get a line (0 here: all of them)."""
    from dlinalg.models.recommenders import cli

    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.0)
    if command == "itemsimilarity":
        log = _write(tmp_path / "in.csv", MIXED_LOG)
        extra = MIXED_OPTIONS
    else:
        log = _write(tmp_path / "in.txt", ["a\tb:1 c:1", "b\ta:1", "c\ta:1 b:1"])
        extra = []
    code = main([command, "-i", str(log), "-o", str(tmp_path / "out"), *extra,
                 "--scheduler", "synchronous"])  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().err.splitlines()
    stages = [line.split("] ", 1)[1] for line in lines if "] " in line]
    assert stages[0] == f"reading {log}"
    assert stages[1].startswith("counting co-occurrences and their LLR: ")
    assert stages[2] == f"writing {tmp_path / 'out'}"
    assert lines[-1].startswith(f"dlinalg {command}: read ")  # the summary comes last
    assert len(lines) == 4


def test_no_progress_line_for_a_quick_run_or_with_quiet(tmp_path, capsys):
    log = _write(tmp_path / "in.csv", MIXED_LOG)
    assert main(["itemsimilarity", "-i", str(log), "-o", str(tmp_path / "out"), *MIXED_OPTIONS,
                 "--scheduler", "synchronous"]) == 0  # fmt: skip
    assert len(capsys.readouterr().err.splitlines()) == 1  # the summary alone
    assert main(["itemsimilarity", "-i", str(log), "-o", str(tmp_path / "q"), *MIXED_OPTIONS,
                 "--scheduler", "synchronous", "--quiet"]) == 0  # fmt: skip
    time.sleep(1.2)  # a stage's timer, had one been left running, would have fired
    assert capsys.readouterr().err == ""


def test_a_lost_ctrl_c_still_ends_the_command(tmp_path):
    """Python can lose a KeyboardInterrupt (raised in a finalizer): the command ends anyway,
    FORCED_EXIT_AFTER seconds later, with exit 130 and its one line."""
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from dlinalg.models.recommenders import cli\n"
        "cli.FORCED_EXIT_AFTER = 0.5\n"
        "def swallowing(args):\n"
        "    print('running', flush=True)\n"
        "    while True:\n"
        "        try:\n"
        "            time.sleep(0.05)\n"
        "        except KeyboardInterrupt:\n"
        "            pass  # lost, as in a finalizer\n"
        "cli._run_itemsimilarity = swallowing\n"
        "sys.exit(cli.main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", start, "itemsimilarity", "-i", "in.csv", "-o", "out"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert err.strip() == "dlinalg itemsimilarity: interrupted; no output written"
