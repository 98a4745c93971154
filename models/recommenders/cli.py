"""``dlinalg``: Mahout's spark-itemsimilarity and spark-rowsimilarity on Dask.

Two subcommands (also named ``spark-itemsimilarity`` and ``spark-rowsimilarity``)
taking every Mahout option with Mahout's spelling, short form and default, so a
Mahout script runs unchanged apart from the program name; the dashed Python
spellings are aliases::

    dlinalg itemsimilarity -i actions.csv -o out --filter1 purchase --filter2 view \\
        --rowIDColumn 0 --filterColumn 1 --itemIDColumn 2 -rd , -ma local[2]
    dlinalg rowsimilarity -i docs.tsv -o out --max-similarities-per-row 4

Mahout's Spark options map to Dask: ``-ma local[N]`` starts a LocalCluster of one
N-threaded worker, ``-ma host:port`` connects to a Dask scheduler (``spark://``
is refused), ``-sem`` is the LocalCluster's memory limit per worker, and
``-D:key=value`` is accepted and ignored. ``--writeAllDatasets`` writes the
interactions as read to ``OUT/input-datasets/`` (Mahout: beside ``OUT``).
The output delimiters are Mahout's ``-rd`` (tab), ``-cd`` (``:``) and ``-td``
(space); ``-os`` drops the strengths. The table of options and their mapping
is in ``docs/source/recommenders.rst``.

``itemsimilarity`` writes ``OUT/similarity-matrix/`` (A'A, LLR) and, with a
secondary action, ``OUT/cross-similarity-matrix/`` (A'B), each a ``part-00000``
text file in Mahout's format, one line per primary item::

    iphone<TAB>ipad:1.7260924347106847 galaxy:0.13844293808390518
    surface

(scores descending, ties in item-dictionary order, floats written by Python's
shortest round-trip ``repr``, which reproduces Mahout's strings; an item with no
similar item is written alone; lines sorted by item label), or with
``--format parquet`` a ``part-00000.parquet`` file with columns ``item``,
``similar`` (list of labels) and ``score`` (list of LLRs). A ``_SUCCESS`` marker
closes each directory, as Hadoop's and Spark's writers do.

Input is read before any cluster starts: CSV/TSV/text or Parquet files, or
directories of them. Columns are 0-based positions (Mahout's
``--rowIDColumn``...; text files then have no header) or names (text files then
have a header line). Output is atomic: everything is written to a hidden
sibling directory renamed into place at the end, so a failure leaves no
partial output. Bad input exits with status 2 and a one-line message.

Run ``python -m dlinalg.models.cli --help`` without installing the console script.

References
----------
.. [1] Apache Mahout, "Intro to Cooccurrence Recommenders with Spark"
   (spark-itemsimilarity, spark-rowsimilarity), https://mahout.apache.org/
.. [2] T. Dunning, "Accurate Methods for the Statistics of Surprise and
   Coincidence", Computational Linguistics 19(1), 1993.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import pandas as pd
import scipy.sparse as sp

import dlinalg as dl
from dlinalg.cluster import (
    kill_local_cluster_workers,
    silence_cluster_logs,
    stop_local_clusters_quietly,
)
from dlinalg.io._atomic import commit, remove_stale_leftovers, temp_sibling

from . import _cli_dask_input as dask_input
from . import _cli_io as files
from ._interaction_checks import EmptyTableError
from ._interactions import Interactions
from ._interactions_dask import dask_row_blocks
from ._similarity import ItemSimilarity, RowSimilarity

__all__ = ["main", "run", "build_parser"]

#: Input bytes up to which the default runs in this process (threads) rather than
#: starting a LocalCluster: its start-up (worker processes importing numpy, SciPy,
#: numba; 5-10 s on 2 cores) would dominate a small log's run of well under a
#: second. 8 MiB is about 200,000 lines of a typical log. Decided before reading:
#: on a cluster the input is read on the workers.
IN_PROCESS_BYTES = 8 * 2**20


#: --scheduler values naming one of Dask's single-machine schedulers.
_LOCAL_SCHEDULERS = {
    "synchronous": "synchronous",
    "sync": "synchronous",
    "threads": "threads",
    "processes": "processes",
}


class UsageError(ValueError):
    """Bad options or bad input: reported in one line, exit status 2."""


class IncompleteUploadError(OSError):
    """The upload of the output to a URL stopped part-way (no top-level ``_SUCCESS``)."""


# ----------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse without prefix matching, so ``-rd ,`` is ``-rd`` and never ``-r`` + ``d``.

    ``allow_abbrev=False`` stops abbreviated long options only: single-dash
    options still matched by prefix (``-mpp`` for ``-mppu``). Every Mahout
    short form is registered whole and wins as an exact match; the only
    matching kept is a one-letter option glued to its value (``-D:key=value``).
    """

    def _get_option_tuples(self, option_string):  # type: ignore[no-untyped-def]
        tuples = super()._get_option_tuples(option_string)
        return [t for t in tuples if t[1] == option_string[:2]]


def _add_io(g: argparse._ArgumentGroup, *, two_inputs: bool) -> None:
    g.add_argument("-i", "--input", required=True, help="file or directory (CSV/TSV/Parquet)")
    if two_inputs:
        g.add_argument(
            "-i2",
            "--input2",
            default=None,
            help="secondary input for the cross-similarity (default: --input with --filter2)",
        )
    g.add_argument("-o", "--output", required=True, help="output directory (created)")


def _add_output_format(p: argparse.ArgumentParser, *, what: str, row_input: bool) -> None:
    also = "; also read from the input rows" if row_input else ""
    g = p.add_argument_group(
        "output",
        "Mahout's text format: ROW<-rd>ID<-cd>STRENGTH<-td>ID<-cd>STRENGTH..., "
        "scores descending; '\\t' means tab" + (" (the same delimiters read the input)"
                                                 if row_input else ""),
    )  # fmt: skip
    g.add_argument(
        "-rd",
        "--rowKeyDelim",
        "--row-key-delim",
        dest="row_key_delim",
        metavar="DELIM",
        default="\\t",
        help=f"between the row ID and its list (tab{also})",
    )
    g.add_argument(
        "-cd",
        "--columnIdStrengthDelim",
        "--column-id-strength-delim",
        dest="column_id_strength_delim",
        metavar="DELIM",
        default=":",
        help=f"between an ID and its strength (':'{also})",
    )
    g.add_argument(
        "-td",
        "--elementDelim",
        "--element-delim",
        "--tupleDelim",
        dest="element_delim",
        metavar="DELIM",
        default=" ",
        help=f"between the elements of the list (space{also})",
    )
    g.add_argument(
        "-os",
        "--omitStrength",
        "--omit-strength",
        dest="omit_strength",
        action="store_true",
        help=f"write only the similar {what}, not their LLR scores (search-engine input)",
    )
    g.add_argument(
        "--format",
        choices=("text", "parquet"),
        default="text",
        help="Mahout's text format (default) or Parquet (the delimiters do not apply)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace an existing output directory")


def _add_common(p: argparse.ArgumentParser, *, element_input: bool) -> None:
    g = p.add_argument_group("input files")
    g.add_argument(
        "-id",
        "--inDelim",
        "--in-delim",
        dest="in_delim",
        metavar="DELIM",
        default="[,\\t]",
        help="text field delimiter: a character, a character class such as '[,\\t]' "
        "(default, the one Mahout's help names) or a regular expression; '\\t' means tab"
        + ("" if element_input else " (table input with -ic only)"),
    )
    g.add_argument(
        "-fp",
        "--filenamePattern",
        "--filename-pattern",
        dest="filename_pattern",
        metavar="REGEX",
        default=None,
        help="in an input directory, read only files whose name matches this regular "
        "expression (default: every file not starting with '.' or '_'; Mahout's is '^part-.*')",
    )
    g.add_argument(
        "-r", "--recursive", action="store_true", help="search input directories recursively"
    )
    g = p.add_argument_group(
        "execution",
        "Mahout's Spark options map to Dask: -ma local[N] starts a LocalCluster of one "
        "worker with N threads (local: 1, local[*]: a LocalCluster sized to this machine), "
        "-ma host:port or tcp://host:port connects to that Dask scheduler, spark:// "
        "masters are refused; -sem is the memory limit of the LocalCluster's workers; "
        "-D:key=value Spark settings are accepted and ignored.",
    )
    g.add_argument(
        "-rs",
        "--randomSeed",
        dest="random_seed",
        metavar="SEED",
        type=int,
        default=None,
        help="seed of the downsampling, > 0 (Mahout's spelling of --seed)",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of the downsampling (default 0)")
    g.add_argument(
        "-ma",
        "--master",
        default=None,
        help="local, local[N], local[*], or a Dask scheduler host:port (Mahout's Spark master)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler address (tcp://host:8786), or synchronous|threads|processes; "
        "default: $DASK_SCHEDULER_ADDRESS if set, else this process's threads for input "
        f"files of up to {IN_PROCESS_BYTES // 2**20} MiB (about 200,000 lines: a small log "
        "answers at once) and a LocalCluster on this machine above that; on a cluster the "
        "workers read the input",
    )
    g.add_argument(
        "-sem",
        "--sparkExecutorMem",
        dest="executor_memory",
        default=None,
        metavar="MEM",
        help="memory limit per LocalCluster worker, Spark's spelling (4g, 512m); "
        "ignored with a running scheduler",
    )
    g.add_argument(
        "-D",
        "--define",
        dest="define",
        action="append",
        default=[],
        metavar=":KEY=VALUE",
        help="a Spark setting (-D:spark.x=y); accepted and ignored (a note is printed)",
    )
    g.add_argument(
        "--writeAllDatasets",
        "--write-all-datasets",
        dest="write_all_datasets",
        action="store_true",
        help="also write the input interactions as OUT/input-datasets/primary-interactions "
        "(and secondary-interactions) in the output format; Mahout writes them beside OUT"
        if element_input
        else "accepted; no effect for rowsimilarity (as in Mahout)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    """The ``dlinalg`` argument parser (subcommands ``itemsimilarity``, ``rowsimilarity``).

    Every option of Mahout's ``spark-itemsimilarity`` and ``spark-rowsimilarity``
    is accepted with Mahout's spelling, short form and default; the dashed
    Python spellings are aliases. The subcommands also answer to Mahout's
    names, ``spark-itemsimilarity`` and ``spark-rowsimilarity``.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from dlinalg.models.cli import build_parser
    >>> args = build_parser().parse_args(["itemsimilarity", "-i", "in.csv", "-o", "out"])
    >>> args.max_prefs, args.max_similarities_per_item, args.format
    (500, 100, 'text')
    >>> args = build_parser().parse_args(
    ...     ["spark-itemsimilarity", "-i", "in.csv", "-o", "out", "-rd", ",", "--maxPrefs", "2"])
    >>> args.row_key_delim, args.max_prefs, args.recursive
    (',', 2, False)
    """
    parser = _Parser(
        prog="dlinalg",
        description="Mahout-compatible item and row similarity (log-likelihood ratio) on Dask.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "itemsimilarity",
        aliases=["spark-itemsimilarity"],
        allow_abbrev=False,
        help="item-item (A'A) and cross (A'B) similarity: Mahout's spark-itemsimilarity",
        description="Indicator matrices by log-likelihood ratio from (user, item[, action]) "
        "rows, like Mahout's spark-itemsimilarity, whose options it takes.",
    )
    g = p.add_argument_group("input")
    _add_io(g, two_inputs=True)
    g.add_argument("-f1", "--filter1", default=None, help="filter value of the primary action")
    g.add_argument("-f2", "--filter2", default=None, help="filter value of the secondary action")
    g.add_argument(
        "-rc",
        "--rowIDColumn",
        "--row-id-column",
        "--rowIDPosition",
        dest="row_id_column",
        metavar="COL",
        default="0",
        help="user column: position or name (0)",
    )
    g.add_argument(
        "-ic",
        "--itemIDColumn",
        "--item-id-column",
        "--itemIDPosition",
        dest="item_id_column",
        metavar="COL",
        default="1",
        help="item column: position or name (1)",
    )
    g.add_argument(
        "-fc",
        "--filterColumn",
        "--filter-column",
        "--filterPosition",
        dest="filter_column",
        metavar="COL",
        default=None,
        help="action column: position or name (default none; Mahout's -1 also means none)",
    )
    g = p.add_argument_group("algorithm")
    g.add_argument(
        "-mppu",
        "--maxPrefs",
        "--max-prefs",
        "--maxPrefsPerUser",
        "--max-prefs-per-user",
        dest="max_prefs",
        metavar="N",
        type=int,
        default=500,
        help="downsample each user and each item to at most this many interactions (500)",
    )
    g.add_argument(
        "-m",
        "--maxSimilaritiesPerItem",
        "--max-similarities-per-item",
        dest="max_similarities_per_item",
        metavar="N",
        type=int,
        default=100,
        help="keep at most this many similar items per item (100, Mahout's default; "
        "the ItemSimilarity estimator's own default is 50)",
    )
    _add_output_format(p, what="items", row_input=False)
    _add_common(p, element_input=True)
    p.set_defaults(run=_run_itemsimilarity, command="itemsimilarity")

    p = sub.add_parser(
        "rowsimilarity",
        aliases=["spark-rowsimilarity"],
        allow_abbrev=False,
        help="row-row (AA') similarity: Mahout's spark-rowsimilarity",
        description="Similar rows by log-likelihood ratio, like Mahout's spark-rowsimilarity, "
        "whose options it takes. Text input is Mahout's row format, "
        "'row<TAB>col[:strength] col[:strength] ...' (strengths are ignored; -rd, -cd and "
        "-td name its delimiters, as in Mahout); Parquet input, or text with "
        "--item-id-column, is a table of (row, column) pairs.",
    )
    g = p.add_argument_group("input")
    _add_io(g, two_inputs=False)
    g.add_argument(
        "-rc",
        "--rowIDColumn",
        "--row-id-column",
        dest="row_id_column",
        metavar="COL",
        default=None,
        help="table input: row column (position/name); not in Mahout",
    )
    g.add_argument(
        "-ic",
        "--itemIDColumn",
        "--item-id-column",
        dest="item_id_column",
        metavar="COL",
        default=None,
        help="table input: column-ID column; not in Mahout",
    )
    g = p.add_argument_group("algorithm")
    g.add_argument(
        "-mo",
        "--maxObservations",
        "--max-observations",
        dest="max_observations",
        metavar="N",
        type=int,
        default=500,
        help="downsample each row to at most this many columns (500)",
    )
    g.add_argument(
        "-m",
        "--maxSimilaritiesPerRow",
        "--max-similarities-per-row",
        dest="max_similarities_per_row",
        metavar="N",
        type=int,
        default=100,
        help="keep at most this many similar rows per row (100)",
    )
    _add_output_format(p, what="rows", row_input=True)
    _add_common(p, element_input=False)
    p.set_defaults(run=_run_rowsimilarity, command="rowsimilarity")
    return parser


# ----------------------------------------------------------------------------- checks


#: Largest count option: Mahout reads them as Java ints.
_MAX_COUNT = 2**31 - 1


def _check_positive(value: int, option: str) -> None:
    if value < 1:
        raise UsageError(f"{option} must be at least 1, got {value}")
    if value > _MAX_COUNT:
        raise UsageError(f"{option} must be at most {_MAX_COUNT} (as in Mahout), got {value}")


def _check_reading_options(args: argparse.Namespace) -> None:
    """Delimiters, the filename pattern and column positions, checked before any file is read.

    An empty delimiter split every line into one field (exit 0, a garbage
    matrix), an invalid pattern ended in a traceback, a negative position was
    taken for a column name.
    """
    delims = [
        ("--in-delim/-id", args.in_delim),
        ("--row-key-delim/-rd", args.row_key_delim),
        ("--column-id-strength-delim/-cd", args.column_id_strength_delim),
        ("--element-delim/-td", args.element_delim),
    ]
    for option, delim in delims:
        if delim == "":
            raise UsageError(
                f"argument {option}: the delimiter is empty; give a character such as ',' "
                "or '\\t', or a character class such as '[,\\t]'"
            )
    char, extra = files.splitter(args.in_delim)
    regex = None if char else extra
    for option, pattern in (
        ("--in-delim/-id", regex),
        ("--filename-pattern/-fp", args.filename_pattern),
    ):
        if pattern is None:
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(
                f"argument {option}: {pattern!r} is not a regular expression ({exc})"
            ) from None
    for role, option in _COLUMN_OPTIONS.items():
        spec = getattr(args, {"user": "row_id_column", "item": "item_id_column",
                              "action": "filter_column"}[role], None)  # fmt: skip
        if spec is None or (role == "action" and spec.strip() == "-1"):
            continue
        if spec.strip() == "" or re.fullmatch(r"-\d+", spec.strip()):
            raise UsageError(
                f"argument {option}: {spec!r} is neither a column position (0, 1, 2, ...) nor "
                "a column name" + ("; -1 means no action column" if role == "action" else "")
            )


#: The column options of each role, as argparse names them in its messages.
_COLUMN_OPTIONS = {
    "user": "--row-id-column/-rc",
    "item": "--item-id-column/-ic",
    "action": "--filter-column/-fc",
}


def _check_distinct_columns(columns: dict[str, str]) -> None:
    """Refuse one column in two roles (``-ic 0`` with the user column 0), as Mahout does.

    Positions compare as numbers (``0`` and ``00`` are one column), names as
    stripped text.
    """
    seen: dict[int | str, str] = {}
    for role, spec in columns.items():
        key = files.column_key(spec)
        if key in seen:
            first = seen[key]
            raise UsageError(
                f"argument {_COLUMN_OPTIONS[role]}: column {spec.strip()!r} is also the "
                f"{_COLUMN_OPTIONS[first]} column; each of the user, item and action "
                "columns must be a different column (Mahout's --rowIDColumn, --itemIDColumn "
                "and --filterColumn: 'The row, item, and filter positions must be unique.')"
            )
        seen[key] = role


def _check_output(output: str, inputs: Sequence[str | None], overwrite: bool) -> Path:
    target = Path(output).expanduser().absolute()
    for name in inputs:
        if name is None:
            continue
        src = Path(name).expanduser().absolute()
        if src == target or target in src.parents:
            raise UsageError(f"--output {output} would replace the input {name}")
    if not target.parent.is_dir():
        raise UsageError(f"the parent directory of --output {output} does not exist")
    if os.path.lexists(target) and not overwrite:
        raise UsageError(
            f"output {output} already exists; pass --overwrite to replace it, "
            "or choose another --output"
        )
    return target


# ----------------------------------------------------------------------------- running


#: Spark's size suffixes (JavaUtils.byteStringAsBytes); a bare number is MiB, as
#: for spark.executor.memory.
_MEMORY = re.compile(r"(\d+)\s*(?:([kmgtp])b?|(b))?", re.IGNORECASE)
_UNITS = {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}

#: Spark masters with no Dask counterpart.
_SPARK_MASTER = re.compile(r"(spark|mesos|k8s|yarn)(://.*)?|local-cluster\[.*", re.IGNORECASE)


def _executor_memory(text: str) -> int:
    """``-sem 4g`` -> bytes (Spark's spelling: k, m, g, t, p with an optional b; bare = MiB)."""
    m = _MEMORY.fullmatch(text.strip())
    if m is None or int(m[1]) == 0:
        raise UsageError(
            f"argument -sem/--sparkExecutorMem: {text!r} is not a memory size such as 4g or 512m"
        )
    unit = (m[2] or m[3] or "m").lower()
    return int(m[1]) * _UNITS[unit]


def _execution(args: argparse.Namespace) -> tuple[str, object]:
    """Where to run: ``("dask", name)``, ``("address", url)``, ``("local", kwargs)`` or the default.

    Mahout's ``--master`` (a Spark master URL) maps to Dask: ``local`` is a
    LocalCluster of one single-threaded worker, ``local[N]`` one worker of N
    threads (Spark runs local[N] in one JVM with N cores), ``local[*]`` a
    LocalCluster sized to the machine; ``host:port`` or ``tcp://host:port`` a
    running Dask scheduler. ``spark://`` and the other Spark cluster managers
    are refused. Checked before any file is read.
    """
    master, scheduler = args.master, args.scheduler
    if master is not None and scheduler is not None:
        raise UsageError(
            "argument -ma/--master: not allowed with --scheduler (both say where to run)"
        )
    memory = None if args.executor_memory is None else _executor_memory(args.executor_memory)
    if scheduler is not None and scheduler.lower() in _LOCAL_SCHEDULERS:
        return "dask", _LOCAL_SCHEDULERS[scheduler.lower()]
    if master is None:
        address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
        if address:
            return "address", address
        return ("default", {}) if memory is None else ("local", {"memory_limit": memory})
    text = master.strip()
    local = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", text)
    if local is not None:
        if local[1] == "*":
            kwargs: dict[str, object] = {}
        else:
            threads = 1 if local[1] is None else int(local[1])
            if threads < 1:
                raise UsageError(f"argument -ma/--master: {master!r} asks for no threads")
            kwargs = {"n_workers": 1, "threads_per_worker": threads}
        if memory is not None:
            kwargs["memory_limit"] = memory
        return "local", kwargs
    if _SPARK_MASTER.fullmatch(text):
        raise UsageError(
            f"argument -ma/--master: {master!r} is a Spark master; dlinalg runs on Dask: give "
            "local, local[N], local[*] or a Dask scheduler address such as tcp://host:8786"
        )
    if re.fullmatch(r"(tcp|tls|ws|wss|ucx|inproc)://\S+", text):
        return "address", text
    if re.fullmatch(r"[\w.\-]+:\d+", text):
        return "address", f"tcp://{text}"
    raise UsageError(
        f"argument -ma/--master: {master!r} is neither local, local[N], local[*] nor a Dask "
        "scheduler address such as tcp://host:8786"
    )


def _spark_settings(args: argparse.Namespace) -> list[str]:
    """The keys of ``-D:key=value``, checked as Mahout does (the value must be non-blank)."""
    keys = []
    for item in args.define:
        key, sep, value = item.removeprefix(":").partition("=")
        if not sep or not key.strip():
            raise UsageError(f"argument -D: {item!r} is not :key=value (e.g. -D:spark.x=y)")
        if not value.strip():
            raise UsageError(f"argument -D: Value <sparkConfValue> must be non-blank ({item!r})")
        keys.append(key.strip())
    return keys


def _check_execution(args: argparse.Namespace) -> tuple[str, object]:
    """Check the Mahout-only options (seed, Spark master and settings); print their notes."""
    if args.random_seed is not None:
        if args.random_seed <= 0:
            raise UsageError(
                f"argument -rs/--randomSeed: Option --randomSeed must be > 0, got {args.random_seed}"
            )
        if args.seed != 0:
            raise UsageError("argument -rs/--randomSeed: not allowed with --seed")
        args.seed = args.random_seed
    where = _execution(args)
    notes = []
    keys = _spark_settings(args)
    if keys:
        notes.append(f"ignored Spark settings (-D, no Dask equivalent): {', '.join(keys)}")
    if args.executor_memory is not None and where[0] != "local":
        notes.append("-sem/--sparkExecutorMem ignored: no LocalCluster is started")
    if args.write_all_datasets and args.command == "rowsimilarity":
        notes.append("--writeAllDatasets has no effect for rowsimilarity (as in Mahout)")
    if not args.quiet:
        for note in notes:
            print(f"dlinalg {args.command}: note: {note}", file=sys.stderr)
    return where


def _placement(where: tuple[str, object], n_bytes: int) -> tuple[str, object]:
    """Where :func:`_execution`'s choice runs; the default decides by input size.

    The default (no ``-ma``, no ``--scheduler``, no ``$DASK_SCHEDULER_ADDRESS``)
    runs input files of up to :data:`IN_PROCESS_BYTES` on this process's
    threads, larger ones on a LocalCluster sized to the machine.
    """
    if where[0] != "default":
        return where
    return ("dask", "threads") if n_bytes <= IN_PROCESS_BYTES else ("local", {})


@contextmanager
def _scheduler(placement: tuple[str, object], quiet: bool) -> Iterator[None]:
    """Run the block where :func:`_placement` says; start a LocalCluster only for ``local``."""
    import dask

    kind, value = placement
    if kind == "dask":
        # the scheduler's function, not its name: dask imports distributed
        # (0.35 s) to resolve a name, and an in-process run never needs it
        from dask.base import named_schedulers

        with dask.config.set(scheduler=named_schedulers[str(value)]):
            yield
    elif kind == "address":
        with dl.connect(str(value)), _quiet_interrupt():
            yield
    else:
        with dl.local_cluster(quiet=quiet, **dict(value)), _quiet_interrupt():  # type: ignore[call-overload]
            yield


def _is_url(path: str | None) -> bool:
    return path is not None and "://" in path and not path.startswith("file://")


@contextmanager
def _object_storage(args: argparse.Namespace) -> Iterator[None]:
    """Run with ``--input``/``--input2``/``--output`` given as fsspec URLs (``s3://...``).

    Credentials and endpoints come from the filesystem's own configuration
    (for S3: the AWS environment variables and files, ``AWS_ENDPOINT_URL``).
    Inputs are downloaded to a temporary directory first (hidden files and
    ``_SUCCESS`` skipped, as locally); the output is built locally, as
    always, then uploaded with its ``_SUCCESS`` markers last (the Hadoop
    convention Mahout's readers follow): an interrupted upload leaves no
    top-level ``_SUCCESS``, and an existing output loses its markers before
    any of its files is replaced.
    """
    import tempfile

    urls = {
        name: getattr(args, name)
        for name in ("input", "input2", "output")
        if _is_url(getattr(args, name, None))
    }
    if not urls:
        yield
        return
    import fsspec

    out = urls.pop("output", None)
    if out is not None:
        ofs, oroot = fsspec.core.url_to_fs(out)
        if ofs.exists(oroot) and not args.overwrite:
            raise UsageError(
                f"output {out} already exists; pass --overwrite to replace it, "
                "or choose another --output"
            )
        target = out.rstrip("/")
        for name in ("input", "input2"):
            src = getattr(args, name, None)
            src = src.rstrip("/") if src else None
            if src and (src == target or src.startswith(target + "/")):
                raise UsageError(f"--output {out} would replace the input {getattr(args, name)}")
    with tempfile.TemporaryDirectory(prefix="dlinalg-cli-") as tmp:
        fetched: dict[str, str] = {}
        for name, url in urls.items():
            if url in fetched:  # --input2 naming --input's URL: one download
                setattr(args, name, fetched[url])
                continue
            fs, root = fsspec.core.url_to_fs(url)
            if not fs.exists(root):
                raise FileNotFoundError(2, f"--{name} not found", url)
            local = Path(tmp) / name
            if fs.isfile(root):
                local.mkdir()
                fs.get(root, str(local / Path(root).name))
            else:
                fs.get(root.rstrip("/") + "/", str(local), recursive=True)
            setattr(args, name, str(local))
            fetched[url] = str(local)
        args.shown_as = {local: url for url, local in fetched.items()}  # messages name URLs
        if out is not None:
            args.output = str(Path(tmp) / "output")
            args.shown_as[args.output] = out
        yield
        if out is not None:
            args.uploading = out  # Ctrl-C from here on leaves part of an output
            try:
                _upload(Path(args.output), ofs, oroot)
            except OSError as exc:
                raise IncompleteUploadError(
                    f"uploading the output to {out} stopped part-way ({_one_line(exc)}); "
                    "what was uploaded has no top-level _SUCCESS marker; "
                    "run again with --overwrite"
                ) from exc
            args.output = out


def _upload(local: Path, fs: Any, root: str) -> None:
    """Upload an output directory: existing ``_SUCCESS`` markers go first, new ones last."""
    base = root.rstrip("/")
    new = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    old = [f[len(base) :].lstrip("/") for f in fs.find(root)] if fs.exists(root) else []
    for rel in sorted(old, key=lambda r: not r.endswith("_SUCCESS")):  # markers first
        if rel.endswith("_SUCCESS") or rel not in new:
            fs.rm(f"{base}/{rel}")
    markers = sorted(r for r in new if r.rsplit("/", 1)[-1] == "_SUCCESS")
    for rel in sorted(new - set(markers)):
        fs.put(str(local / rel), f"{base}/{rel}")
    for rel in markers:
        fs.pipe(f"{base}/{rel}", b"")
    fs.pipe(f"{base}/_SUCCESS", b"")


#: Seconds a stage runs before its progress line is printed: a small log's run, or an
#: error found at once, stays one line.
PROGRESS_AFTER = 1.0


class _Stages:
    """Progress: a line on stderr for each stage still running after :data:`PROGRESS_AFTER` s.

    ``dlinalg itemsimilarity: [  1.0 s] reading in.csv``, then the counting and
    the writing (none with ``--quiet``); the fit itself shows a progress bar
    when stderr is a terminal.
    """

    def __init__(self, args: argparse.Namespace):
        self.prog, self.quiet = f"dlinalg {args.command}", bool(args.quiet)
        self.shown = getattr(args, "shown_as", {})
        self.start = time.perf_counter()
        self.timer: threading.Timer | None = None

    @property
    def bar(self) -> bool:
        """Show the fit's progress bar (a terminal only: a log file gets the lines)."""
        return not self.quiet and sys.stderr.isatty()

    def _print(self, text: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"{self.prog}: [{elapsed:5.1f} s] {text}", file=sys.stderr, flush=True)

    def __call__(self, text: str) -> None:
        """Stage ``text`` begins (the previous one has ended)."""
        self.done()
        if self.quiet:
            return
        for local, url in self.shown.items():
            text = text.replace(local, url)
        self.timer = threading.Timer(PROGRESS_AFTER, self._print, (text,))
        self.timer.daemon = True
        self.timer.start()

    def done(self) -> None:
        """The current stage has ended: its line is not printed if not printed yet."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


#: Seconds after Ctrl-C before the command ends by force. Python can lose a
#: KeyboardInterrupt (one raised inside a finalizer is only reported), and the
#: command would then wait forever on a cluster whose workers the same Ctrl-C
#: stopped (seen once in about 30 runs).
FORCED_EXIT_AFTER = 5.0


def _interrupted_line(prog: str, uploading: str | None) -> str:
    if uploading:
        return (
            f"{prog}: interrupted while uploading to {uploading}; what was uploaded has "
            "no top-level _SUCCESS marker; run again with --overwrite"
        )
    return f"{prog}: interrupted; no output written"


def _forced_exit(args: argparse.Namespace) -> None:
    """End the program :data:`FORCED_EXIT_AFTER` s after Ctrl-C, whatever it is doing."""
    time.sleep(FORCED_EXIT_AFTER)
    kill_local_cluster_workers()
    if not args.reported.is_set():
        line = _interrupted_line(f"dlinalg {args.command}", getattr(args, "uploading", None))
        print(line, file=sys.stderr, flush=True)
    os._exit(130)


@contextmanager
def _sure_exit_on_ctrl_c(as_program: bool, args: argparse.Namespace) -> Iterator[None]:
    """As the program (not a call from a notebook): Ctrl-C also arms :func:`_forced_exit`."""
    import signal

    if not (
        as_program
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: plain
        threading.Thread(
            target=_forced_exit, args=(args,), name="dlinalg-forced-exit", daemon=True
        ).start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def _quiet_interrupt() -> Iterator[None]:
    """On Ctrl-C, silence the cluster's logs before its client and workers close."""
    try:
        yield
    except KeyboardInterrupt:
        silence_cluster_logs()
        raise


@contextmanager
def _atomic_output(target: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``target``; rename it into place on success."""

    remove_stale_leftovers(target)
    tmp = temp_sibling(target)
    tmp.mkdir()
    try:
        yield tmp
        try:
            commit(tmp, target, replace=overwrite)
        except FileExistsError as exc:
            raise UsageError(f"output {target} appeared during the run; not replaced") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_matrix(
    directory: Path,
    indicator: sp.csr_array | sp.csr_matrix,
    row_labels: pd.Index,
    col_labels: pd.Index,
    args: argparse.Namespace,
) -> int:
    rows = files.indicator_rows(indicator, row_labels, col_labels)
    directory.mkdir()
    if args.format == "text":
        delims = {
            "row_key_delim": args.row_key_delim,
            "strength_delim": args.column_id_strength_delim,
            "element_delim": args.element_delim,
        }
        # Mahout's layout is passed only when changed: the writer's defaults are Mahout's.
        changed = {k: v for k, v in delims.items() if v != files.DEFAULT_DELIMS[k]}
        files.write_text(directory / "part-00000", rows, omit_strength=args.omit_strength,
                         **changed)  # fmt: skip
    else:
        files.write_parquet(
            directory / "part-00000.parquet", rows, omit_strength=args.omit_strength
        )
    (directory / "_SUCCESS").touch()
    return len(rows)


def _write_input_datasets(
    directory: Path, datasets: dict[str, pd.DataFrame | None], args: argparse.Namespace
) -> None:
    """Mahout's ``--writeAllDatasets``: the interaction matrices as read, before downsampling.

    Mahout writes ``OUTPUT/../input-datasets/primary-interactions`` (and
    ``secondary-interactions``) beside the output directory, one line per user,
    ``user<TAB>item:1.0 item:1.0`` in the output format; here they go inside
    the output directory, so that the run stays atomic and writes nothing
    outside ``--output``.
    """
    directory.mkdir()
    for name, pairs in datasets.items():
        if pairs is not None:
            matrix, users, items = files.pairs_to_matrix(pairs)
            _write_matrix(directory / name, matrix, users, items, args)


def _run_itemsimilarity(args: argparse.Namespace) -> str:
    _check_positive(args.max_prefs, "--max-prefs")
    _check_positive(args.max_similarities_per_item, "--max-similarities-per-item")
    _check_reading_options(args)
    filter_column = args.filter_column
    if filter_column is not None and filter_column.strip() == "-1":
        filter_column = None
    if filter_column is None and (args.filter1 is not None or args.filter2 is not None):
        raise UsageError("--filter1/--filter2 need --filter-column (the action column)")
    same_input = args.input2 is None or Path(args.input2).absolute() == Path(args.input).absolute()
    if args.filter1 is not None and args.filter1 == args.filter2 and same_input:
        raise UsageError(
            f"--filter1 and --filter2 are both {args.filter1!r}: the cross-similarity of an "
            "action with itself is the similarity matrix; give two different actions"
        )
    columns = {"user": args.row_id_column, "item": args.item_id_column}
    if filter_column is not None:
        columns["action"] = filter_column
    _check_distinct_columns(columns)
    target = _check_output(args.output, [args.input, args.input2], args.overwrite)
    where = _check_execution(args)
    spec = files.ReadSpec(args.in_delim, args.filename_pattern, args.recursive)
    stage = args.stages = _Stages(args)
    files.list_files(args.input, spec, "--input")  # a missing input: its error, no progress
    n_bytes = dask_input.input_bytes([args.input, args.input2], spec, ["--input", "--input2"])
    placement = _placement(where, n_bytes)
    on_workers = placement[0] != "dask"
    read = _read_on_workers if on_workers else _read_here
    model = ItemSimilarity(
        max_similar_items=args.max_similarities_per_item,
        max_interactions_per_user=args.max_prefs,
        max_interactions_per_item=args.max_prefs,
        seed=args.seed,
    )
    with _scheduler(placement, args.quiet):
        stage(
            f"reading {args.input}"
            + ("" if same_input else f" and {args.input2}")
            + (" on the workers" if on_workers else "")
        )
        start = time.perf_counter()
        inputs = read(args, columns, spec, filter_column, same_input)
        stage(
            f"counting co-occurrences and their LLR: {inputs.rows:,} interactions of "
            f"{inputs.users:,} users, {len(inputs.matrices)} action(s)"
        )
        model.fit(*inputs.matrices, show_progress=stage.bar)
        datasets = inputs.datasets() if args.write_all_datasets else {}
    names = ["similarity-matrix", "cross-similarity-matrix"]  # one or two actions
    written = []
    stage(f"writing {args.output}")
    with _atomic_output(target, args.overwrite) as tmp:
        for name, indicator, labels in zip(
            names, model.indicators_, model.item_labels_, strict=False
        ):
            n = _write_matrix(tmp / name, indicator, model.item_labels_[0], labels, args)
            written.append(f"{name} ({n} items)")
        if args.write_all_datasets:
            _write_input_datasets(tmp / "input-datasets", datasets, args)
            written.append("input-datasets")
    return (
        f"read {inputs.rows} interactions of {inputs.users} users; wrote {args.output}: "
        f"{', '.join(written)} in {time.perf_counter() - start:.1f} s"
    )


class _Inputs(NamedTuple):
    """What ``fit`` gets (one matrix per action, users x items) and what the summary says."""

    matrices: list[Any]
    rows: int
    users: int
    datasets: Any  # () -> {"primary-interactions": frame, "secondary-interactions": frame}


def _filters(
    args: argparse.Namespace, filter_column: str | None, first: Any, second: Any
) -> tuple[Any, Any]:
    """The primary and secondary (user, item) rows, as Mahout's filters select them."""
    primary = files.select(first, args.filter1, "--filter1", args.input, filter_column)
    secondary = None
    if args.filter2 is not None:
        secondary = files.select(second, args.filter2, "--filter2", args.input2 or args.input,
                                 filter_column)  # fmt: skip
    elif args.input2 is not None:
        secondary = second[["user", "item"]]
    return primary, secondary


def _read_here(
    args: argparse.Namespace,
    columns: dict[str, str],
    spec: files.ReadSpec,
    filter_column: str | None,
    same_input: bool,
) -> _Inputs:
    """Read the input in this process; the matrices are scipy.sparse, labelled."""
    first = files.read_table(args.input, columns, spec, option="--input")
    second = first
    if args.input2 is not None and not same_input:
        second = files.read_table(args.input2, columns, spec, option="--input2")
    primary, secondary = _filters(args, filter_column, first, second)
    frame, actions = files.stack_actions(primary, secondary, args.filter1, args.filter2)
    data = Interactions.from_dataframe(frame, user="user", item="item", action="action",
                                       actions=actions)  # fmt: skip
    datasets = {"primary-interactions": primary, "secondary-interactions": secondary}
    return _Inputs([data], len(frame), data.n_users, lambda: datasets)


def _read_on_workers(
    args: argparse.Namespace,
    columns: dict[str, str],
    spec: files.ReadSpec,
    filter_column: str | None,
    same_input: bool,
) -> _Inputs:
    """Read the input on the workers; the count matrices stay there as row blocks.

    Only the dictionaries (distinct users and items) come to this process, so
    a 2M-line log is not shipped back to the cluster inside a graph.
    """
    import dask

    with dask.config.set({"dataframe.convert-string": False}):  # object labels, as in process
        first = dask_input.read_frame(args.input, columns, spec, "--input")
        second = first
        if args.input2 is not None and not same_input:
            second = dask_input.read_frame(args.input2, columns, spec, "--input2")
        primary, secondary = _filters(args, filter_column, first, second)
        frame, actions = files.stack_actions(primary, secondary, args.filter1, args.filter2)
        sources = dict(zip(actions, [  # one or two actions
            ("--filter1", args.filter1, args.input, first),
            ("--filter2", args.filter2, args.input2 or args.input, second),
        ], strict=False))  # fmt: skip

        def selected(present: list, wanted: list, col: str) -> list:
            for action in wanted:  # a filter that matched no row: the in-process message
                option, value, path, raw = sources[action]
                if action not in present and value is not None:
                    files.select(raw[["action"]].compute(), value, option, path, filter_column)
            return list(wanted)

        cols = {"user": "user", "item": "item", "action": "action", "weight": None}
        try:
            users, blocks, items, rows = dask_row_blocks(frame, cols, actions, selected)
        except EmptyTableError:  # no row at all: a filter's error, or the input's
            selected([], actions, "action")
            raise files.InputError(f"--input {args.input} has no rows") from None
        # rows pair by position: every action's rows are the same users dictionary
        matrices = [dl.from_array(blocks[a], col_labels=items[a]) for a in actions]

        def datasets() -> dict[str, Any]:
            computed = dask.compute(primary, secondary)
            return dict(
                zip(["primary-interactions", "secondary-interactions"], computed, strict=True)
            )

    return _Inputs(matrices, rows, len(users), datasets)


def _run_rowsimilarity(args: argparse.Namespace) -> str:
    _check_positive(args.max_observations, "--max-observations")
    _check_positive(args.max_similarities_per_row, "--max-similarities-per-row")
    _check_reading_options(args)
    table_columns = {
        "user": args.row_id_column if args.row_id_column is not None else "0",
        "item": args.item_id_column if args.item_id_column is not None else "1",
    }
    if args.row_id_column is not None or args.item_id_column is not None:
        _check_distinct_columns(table_columns)
    target = _check_output(args.output, [args.input], args.overwrite)
    where = _check_execution(args)
    spec = files.ReadSpec(args.in_delim, args.filename_pattern, args.recursive)
    stage = args.stages = _Stages(args)
    files.list_files(args.input, spec, "--input")  # a missing input: its error, no progress
    placement = _placement(where, dask_input.input_bytes([args.input], spec, ["--input"]))
    stage(f"reading {args.input}")
    if args.item_id_column is not None or files.is_parquet_input(args.input, spec):
        columns = table_columns
        pairs = files.read_table(args.input, columns, spec, option="--input")
    else:
        pairs = files.read_rows(args.input, spec, args.row_key_delim, args.element_delim,
                                args.column_id_strength_delim)  # fmt: skip
    matrix, rows, cols = files.pairs_to_matrix(pairs)

    start = time.perf_counter()
    model = RowSimilarity(
        max_similar_rows=args.max_similarities_per_row,
        max_interactions_per_row=args.max_observations,
        seed=args.seed,
    )
    stage(f"counting co-occurrences and their LLR: {matrix.nnz:,} entries of {len(rows):,} rows")
    with _scheduler(placement, args.quiet):
        model.fit(matrix, show_progress=stage.bar)
    stage(f"writing {args.output}")
    with _atomic_output(target, args.overwrite) as tmp:
        n = _write_matrix(tmp / "similarity-matrix", model.indicators_, rows, rows, args)
    return (
        f"read {matrix.nnz} entries of {len(rows)} rows x {len(cols)} columns; wrote "
        f"{args.output}: similarity-matrix ({n} rows) in {time.perf_counter() - start:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dlinalg`` command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 2 on bad options or bad input (a one-line message on
        stderr, no traceback, no output directory); 1 when reading or writing
        fails (e.g. disk full; no output directory either); 130 on Ctrl-C.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dlinalg.models.cli import main
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.csv").write_text("u1,a\\nu1,b\\nu2,a\\nu3,c\\n")
    >>> main(["itemsimilarity", "-i", str(d / "in.csv"), "-o", str(d / "out"),
    ...       "--scheduler", "synchronous", "--quiet"])
    0
    >>> (d / "out" / "similarity-matrix" / "part-00000").read_text().splitlines()
    ['a\\tb:1.046496287529096', 'b\\ta:1.046496287529096', 'c']
    """
    return _main(argv)


def run() -> NoReturn:
    """The ``dlinalg`` program: :func:`main`, then exit at once with its status.

    The console script and ``python -m dlinalg.models.cli`` start here.
    Freeing the modules that dask, pandas, scikit-learn and numba loaded
    takes 0.4-0.8 s at exit, a quarter of a small log's run, so the program
    flushes the standard streams and logging and ends with ``os._exit``:
    everything the command opened is closed by the time :func:`main`
    returns (files, clusters, temporary directories, uploads). In an
    IPython session (``%run -m dlinalg.models.cli``) it raises
    ``SystemExit`` instead, as ``sys.exit`` would. Python calls should use
    :func:`main`, which returns the status.
    """
    status = main()
    if "IPython" in sys.modules:
        sys.exit(status)
    import logging

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: the status Python gives
            status = status or 120
    logging.shutdown()
    os._exit(status)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    # scopt's long form of -D:key=value is --define:key=value
    argv = [f"-D{a[len('--define') :]}" if a.startswith("--define:") else a for a in argv]
    args = parser.parse_args(argv)
    prog = f"dlinalg {args.command}"
    args.reported = threading.Event()  # main printed its interrupted line itself
    try:
        with _sure_exit_on_ctrl_c(as_program, args), _object_storage(args):
            try:
                summary = args.run(args)
            finally:  # a stage's line never follows the summary or the error
                if getattr(args, "stages", None) is not None:
                    args.stages.done()
    except KeyboardInterrupt:
        stop_local_clusters_quietly()
        print(_interrupted_line(prog, getattr(args, "uploading", None)), file=sys.stderr)
        args.reported.set()
        return 130
    except (UsageError, files.InputError, FileNotFoundError, FileExistsError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:  # raised by the models' own validation
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except IncompleteUploadError as exc:  # the one case where part of an output exists
        print(f"{prog}: failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:  # writing failed (disk full, permissions): nothing was committed
        print(f"{prog}: failed: {_one_line(exc)}; no output written", file=sys.stderr)
        return 1
    for local, url in getattr(args, "shown_as", {}).items():
        summary = summary.replace(local, url)
    if not args.quiet:
        print(f"{prog}: {summary}", file=sys.stderr)
    return 0


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename is not None:
        return f"input not found: {exc.filename}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
