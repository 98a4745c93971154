"""``dlinalg``: Mahout's spark-itemsimilarity and spark-rowsimilarity on Dask.

Two subcommands, with Mahout's options in Python spelling::

    dlinalg itemsimilarity -i actions.csv -o out --filter1 purchase --filter2 view \\
        --row-id-column 0 --filter-column 1 --item-id-column 2
    dlinalg rowsimilarity -i docs.tsv -o out --max-similarities-per-row 4

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
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import scipy.sparse as sp

import dlinalg as dl
from dlinalg.io._atomic import commit, remove_stale_leftovers, temp_sibling

from . import _cli_io as files
from ._interactions import Interactions
from ._similarity import ItemSimilarity, RowSimilarity

__all__ = ["main", "build_parser"]

#: --scheduler values naming one of Dask's single-machine schedulers.
_LOCAL_SCHEDULERS = {
    "synchronous": "synchronous",
    "sync": "synchronous",
    "threads": "threads",
    "processes": "processes",
}


class UsageError(ValueError):
    """Bad options or bad input: reported in one line, exit status 2."""


# ----------------------------------------------------------------------------- parser


def _add_common(p: argparse.ArgumentParser, *, what: str) -> None:
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="output directory (created)")
    g.add_argument(
        "--format",
        choices=("text", "parquet"),
        default="text",
        help="Mahout's text format (default) or Parquet",
    )
    g.add_argument(
        "--omit-strength",
        "-os",
        action="store_true",
        help=f"write only the similar {what}, not their LLR scores (search-engine input)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    g = p.add_argument_group("input files")
    g.add_argument(
        "--in-delim",
        "-id",
        default="[,\\t]",
        help="text field delimiter: a character, a character class such as '[,\\t]' "
        "(default, Mahout's) or a regular expression; '\\t' means tab",
    )
    g.add_argument(
        "--filename-pattern",
        "-fp",
        default=None,
        help="in an input directory, read only files whose name matches this regular "
        "expression (default: every file not starting with '.' or '_')",
    )
    g.add_argument(
        "--recursive", "-r", action="store_true", help="search input directories recursively"
    )
    g = p.add_argument_group("execution")
    g.add_argument("--seed", type=int, default=0, help="seed of the downsampling (default 0)")
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler address (tcp://host:8786), or synchronous|threads|processes; "
        "default: $DASK_SCHEDULER_ADDRESS if set, else a LocalCluster on this machine",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    """The ``dlinalg`` argument parser (subcommands ``itemsimilarity``, ``rowsimilarity``).

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from dlinalg.models.cli import build_parser
    >>> args = build_parser().parse_args(["itemsimilarity", "-i", "in.csv", "-o", "out"])
    >>> args.max_prefs, args.max_similarities_per_item, args.format
    (500, 100, 'text')
    """
    parser = argparse.ArgumentParser(
        prog="dlinalg",
        description="Mahout-compatible item and row similarity (log-likelihood ratio) on Dask.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "itemsimilarity",
        help="item-item (A'A) and cross (A'B) similarity: Mahout's spark-itemsimilarity",
        description="Indicator matrices by log-likelihood ratio from (user, item[, action]) "
        "rows, like Mahout's spark-itemsimilarity.",
    )
    g = p.add_argument_group("input")
    g.add_argument("-i", "--input", required=True, help="file or directory (CSV/TSV/Parquet)")
    g.add_argument(
        "-i2",
        "--input2",
        default=None,
        help="secondary input for the cross-similarity (default: --input with --filter2)",
    )
    g.add_argument("--filter1", "-f1", default=None, help="filter value of the primary action")
    g.add_argument("--filter2", "-f2", default=None, help="filter value of the secondary action")
    g.add_argument("--row-id-column", "-rc", default="0", help="user column: position or name (0)")
    g.add_argument(
        "--item-id-column", "-ic", default="1", help="item column: position or name (1)"
    )
    g.add_argument(
        "--filter-column",
        "-fc",
        default=None,
        help="action column: position or name (default none; Mahout's -1 also means none)",
    )
    g = p.add_argument_group("algorithm")
    g.add_argument(
        "--max-prefs",
        "-mppu",
        type=int,
        default=500,
        help="downsample each user and each item to at most this many interactions (500)",
    )
    g.add_argument(
        "--max-similarities-per-item",
        "-m",
        type=int,
        default=100,
        help="keep at most this many similar items per item (100)",
    )
    _add_common(p, what="items")
    p.set_defaults(run=_run_itemsimilarity)

    p = sub.add_parser(
        "rowsimilarity",
        help="row-row (AA') similarity: Mahout's spark-rowsimilarity",
        description="Similar rows by log-likelihood ratio, like Mahout's spark-rowsimilarity. "
        "Text input is Mahout's row format, 'row<TAB>col[:strength] col[:strength] ...' "
        "(strengths are ignored); Parquet input, or text with --item-id-column, is a table "
        "of (row, column) pairs.",
    )
    g = p.add_argument_group("input")
    g.add_argument("-i", "--input", required=True, help="file or directory")
    g.add_argument(
        "--row-key-delim",
        "-rd",
        default="\\t",
        help="row format: separates the row ID from its columns (tab)",
    )
    g.add_argument(
        "--element-delim", "-td", default=" ", help="row format: separates the columns (space)"
    )
    g.add_argument(
        "--row-id-column", "-rc", default=None, help="table input: row column (position/name)"
    )
    g.add_argument("--item-id-column", "-ic", default=None, help="table input: column-ID column")
    g = p.add_argument_group("algorithm")
    g.add_argument(
        "--max-observations",
        "-mo",
        type=int,
        default=500,
        help="downsample each row to at most this many columns (500)",
    )
    g.add_argument(
        "--max-similarities-per-row",
        "-m",
        type=int,
        default=100,
        help="keep at most this many similar rows per row (100)",
    )
    _add_common(p, what="rows")
    p.set_defaults(run=_run_rowsimilarity)
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
    delims = [("--in-delim/-id", args.in_delim)]
    if args.command == "rowsimilarity":
        delims += [
            ("--row-key-delim/-rd", args.row_key_delim),
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
                "columns must be a different column"
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


@contextmanager
def _scheduler(spec: str | None, quiet: bool) -> Iterator[None]:
    """Run the block on the chosen scheduler; start a LocalCluster only when asked for none."""
    import dask

    if spec is not None and spec.lower() in _LOCAL_SCHEDULERS:
        with dask.config.set(scheduler=_LOCAL_SCHEDULERS[spec.lower()]):
            yield
        return
    address = spec or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        with dl.connect(address):
            yield
    else:
        with dl.local_cluster(quiet=quiet):
            yield


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
    *,
    fmt: str,
    omit_strength: bool,
) -> int:
    rows = files.indicator_rows(indicator, row_labels, col_labels)
    directory.mkdir()
    if fmt == "text":
        files.write_text(directory / "part-00000", rows, omit_strength=omit_strength)
    else:
        files.write_parquet(directory / "part-00000.parquet", rows, omit_strength=omit_strength)
    (directory / "_SUCCESS").touch()
    return len(rows)


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
    spec = files.ReadSpec(args.in_delim, args.filename_pattern, args.recursive)
    first = files.read_table(args.input, columns, spec, option="--input")
    second = first
    if args.input2 is not None and not same_input:
        second = files.read_table(args.input2, columns, spec, option="--input2")
    primary = files.select(first, args.filter1, "--filter1", args.input, filter_column)
    secondary = None
    if args.filter2 is not None:
        secondary = files.select(second, args.filter2, "--filter2", args.input2 or args.input,
                              filter_column)  # fmt: skip
    elif args.input2 is not None:
        secondary = second[["user", "item"]]
    frame, actions = files.stack_actions(primary, secondary, args.filter1, args.filter2)

    start = time.perf_counter()
    data = Interactions.from_dataframe(frame, user="user", item="item", action="action",
                                       actions=actions)  # fmt: skip
    model = ItemSimilarity(
        max_similar_items=args.max_similarities_per_item,
        max_interactions_per_user=args.max_prefs,
        max_interactions_per_item=args.max_prefs,
        seed=args.seed,
    )
    with _scheduler(args.scheduler, args.quiet):
        model.fit(data)
    names = ["similarity-matrix", "cross-similarity-matrix"]  # one or two actions
    written = []
    with _atomic_output(target, args.overwrite) as tmp:
        for name, indicator, labels in zip(
            names, model.indicators_, model.item_labels_, strict=False
        ):
            n = _write_matrix(
                tmp / name,
                indicator,
                model.item_labels_[0],
                labels,
                fmt=args.format,
                omit_strength=args.omit_strength,
            )
            written.append(f"{name} ({n} items)")
    return (
        f"read {len(frame)} interactions of {data.n_users} users; wrote {args.output}: "
        f"{', '.join(written)} in {time.perf_counter() - start:.1f} s"
    )


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
    spec = files.ReadSpec(args.in_delim, args.filename_pattern, args.recursive)
    if args.item_id_column is not None or files.is_parquet_input(args.input, spec):
        columns = table_columns
        pairs = files.read_table(args.input, columns, spec, option="--input")
    else:
        pairs = files.read_rows(args.input, spec, args.row_key_delim, args.element_delim)
    matrix, rows, cols = files.pairs_to_matrix(pairs)

    start = time.perf_counter()
    model = RowSimilarity(
        max_similar_rows=args.max_similarities_per_row,
        max_interactions_per_row=args.max_observations,
        seed=args.seed,
    )
    with _scheduler(args.scheduler, args.quiet):
        model.fit(matrix)
    with _atomic_output(target, args.overwrite) as tmp:
        n = _write_matrix(
            tmp / "similarity-matrix",
            model.indicators_,
            rows,
            rows,
            fmt=args.format,
            omit_strength=args.omit_strength,
        )
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
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"dlinalg {args.command}"
    try:
        summary = args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; no output written", file=sys.stderr)
        return 130
    except (UsageError, files.InputError, FileNotFoundError, FileExistsError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:  # raised by the models' own validation
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # writing failed (disk full, permissions): nothing was committed
        print(f"{prog}: failed: {_one_line(exc)}; no output written", file=sys.stderr)
        return 1
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
