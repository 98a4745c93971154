"""Files for the ``dlinalg`` command line: reading interaction tables, writing indicators.

Reading follows Mahout's text input (0-based column positions, a delimiter
character class such as ``[,\\t]``, no header) and extends it with named columns
(header line), Parquet, directories and filename patterns. Writing produces
Mahout's text format, ``item<TAB>other:score other:score``, with scores as
Python's shortest round-trip ``repr``, or one Parquet row per item.

Everything here is private to :mod:`dlinalg.models.recommenders.cli`; errors are
:class:`InputError` (a ``ValueError``) or ``FileNotFoundError`` with a
message naming the option, the file and the remedy.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._topk import top_k_order

__all__ = [
    "InputError",
    "ReadSpec",
    "column_key",
    "splitter",
    "list_files",
    "is_parquet",
    "is_parquet_input",
    "read_table",
    "parse_text",
    "read_parquet_file",
    "read_rows",
    "select",
    "stack_actions",
    "pairs_to_matrix",
    "indicator_rows",
    "write_text",
    "DEFAULT_DELIMS",
    "write_parquet",
]

_PARQUET_MAGIC = b"PAR1"
#: Values of a column listed in an error message, at most.
_SHOW = 10


class InputError(ValueError):
    """The input data cannot be used (empty, a column missing, a filter matching nothing)."""


@dataclass(frozen=True)
class ReadSpec:
    """How to find and split input files."""

    delim: str = "[,\\t]"
    pattern: str | None = None
    recursive: bool = False


def _unescape(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n")


def splitter(delim: str) -> tuple[str, str | None]:
    """(single character, or "" for a regular expression; characters to map onto it)."""
    delim = _unescape(delim)
    if len(delim) == 1:
        return delim, None
    m = re.fullmatch(r"\[([^\]\^\\-]+)\]", delim)  # a plain character class: [,\t ]
    if m:
        chars = m.group(1)
        return chars[0], chars[1:]
    return "", delim


def list_files(path: str, spec: ReadSpec, option: str) -> list[Path]:
    """The files to read for ``path`` (a file, or a directory searched for files)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(2, f"{option} not found", str(path))
    if root.is_file():
        return [root]
    pattern = re.compile(spec.pattern) if spec.pattern else None
    walk = root.rglob("*") if spec.recursive else root.iterdir()
    files = sorted(
        p
        for p in walk
        if p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
        and (pattern is None or pattern.search(p.name))
    )
    if not files:
        how = f" matching {spec.pattern!r}" if spec.pattern else ""
        deep = "" if spec.recursive else " (use --recursive to search subdirectories)"
        raise InputError(f"{option} {path}: no input files{how} in this directory{deep}")
    return files


def is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def is_parquet_input(path: str, spec: ReadSpec) -> bool:
    """True when the first input file is a Parquet file."""
    files = list_files(path, spec, "--input")
    return is_parquet(files[0])


def _position(spec: str) -> int | None:
    spec = spec.strip()
    return int(spec) if re.fullmatch(r"\d+", spec) else None


def column_key(spec: str) -> int | str:
    """What identifies a column option's column: its position, else its stripped name."""
    pos = _position(spec)
    return spec.strip() if pos is None else pos


def parse_text(
    text: Path | str, columns: dict[str, str], delim: str, where: Path | str
) -> pd.DataFrame:
    """The ``columns`` of a text file (a path) or of its lines (a str), as strings.

    Mahout's layout when every column is a position (no header, no quoting),
    else the first line is the header. ``where`` names the text in errors: a
    file, or a block of one read on a worker.
    """
    char, extra = splitter(delim)
    path = where
    source: Path | io.StringIO = text if isinstance(text, Path) else io.StringIO(text)
    if char and extra:  # a character class: map every member onto one character
        try:
            raw = text.read_text(encoding="utf-8-sig") if isinstance(text, Path) else text
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text (nor a Parquet file)") from exc
        used = [c for c in char + extra if c in raw]
        if len(used) == 1:
            char = used[0]
        else:
            source = io.StringIO(raw.translate({ord(c): char for c in extra}))
    positions = {k: _position(v) for k, v in columns.items()}
    kw = {"sep": char or extra, "dtype": str, "keep_default_na": False, "na_filter": False}
    kw.update(engine="c" if char else "python", encoding="utf-8-sig")
    try:
        if any(p is None for p in positions.values()):
            return _named(pd.read_csv(source, header=0, **kw), columns, positions, path)
        # Mahout's layout: no header, no quoting, fields by position
        frame = pd.read_csv(source, header=None, quoting=csv.QUOTE_NONE, **kw)
    except pd.errors.EmptyDataError:
        return pd.DataFrame({k: pd.Series([], dtype=str) for k in columns})
    except pd.errors.ParserError:  # lines of different lengths: split each line
        frame = _split_lines(source, char or extra, regex=not char)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (nor a Parquet file)") from exc
    out = {}
    for key, pos in positions.items():
        col = frame[pos] if pos < frame.shape[1] else None
        missing = np.ones(len(frame), bool) if col is None else col.isna().to_numpy()
        if missing.any():
            line = int(np.flatnonzero(missing)[0])
            n = int(frame.iloc[line].notna().sum())
            raise InputError(
                f"column {pos} not found in {path}: its line {line + 1} has {n} field(s) "
                f"split by {delim!r}; check --in-delim and the --*-column positions"
            )
        out[key] = col.reset_index(drop=True)
    return pd.DataFrame(out, columns=list(columns))


def _split_lines(source: Path | io.StringIO, sep: str, *, regex: bool) -> pd.DataFrame:
    if isinstance(source, Path):
        text = source.read_text(encoding="utf-8-sig")
    else:
        source.seek(0)
        text = source.read()
    lines = pd.Series(text.splitlines(), dtype=str)
    lines = lines[lines.str.strip() != ""].reset_index(drop=True)
    return lines.str.split(sep, expand=True, regex=regex)


def _named(
    frame: pd.DataFrame,
    columns: dict[str, str],
    positions: dict[str, int | None],
    path: Path | str,
) -> pd.DataFrame:
    present = [str(c) for c in frame.columns]
    out = {}
    for key, spec in columns.items():
        pos = positions[key]
        if spec in present:
            out[key] = frame[spec]
        elif pos is not None and pos < len(present):
            out[key] = frame.iloc[:, pos]
        else:
            raise InputError(
                f"column {spec!r} not found in {path}; its header has "
                f"{', '.join(map(repr, present))}"
            )
    return pd.DataFrame(out, columns=list(columns))


def read_parquet_file(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    names = {}
    for key, spec in columns.items():
        pos = _position(spec)
        if spec in present:
            names[key] = spec
        elif pos is not None and pos < len(present):
            names[key] = present[pos]
        else:
            raise InputError(
                f"column {spec!r} not found in {path}; its columns are "
                f"{', '.join(map(repr, present))}"
            )
    table = pq.read_table(path, columns=sorted(set(names.values())))
    frame = table.to_pandas()
    out = {}
    for key, name in names.items():
        col = frame[name]
        if col.isna().any():
            raise InputError(f"column {name!r} of {path} has missing values")
        out[key] = col.astype(str).to_numpy(dtype=object)
    return pd.DataFrame(out, columns=list(columns))


def read_table(path: str, columns: dict[str, str], spec: ReadSpec, option: str) -> pd.DataFrame:
    """Read every file of ``path``; return string columns named like the keys of ``columns``.

    ``columns`` maps an output name (``"user"``, ``"item"``, ``"action"``) to
    a 0-based position or a column name. Text files are split by position
    when every column is a position (no header, Mahout's convention), else
    their first line is the header.
    """
    frames = []
    for file in list_files(path, spec, option):
        if is_parquet(file):
            frames.append(read_parquet_file(file, columns))
        else:
            frames.append(parse_text(file, columns, spec.delim, file))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise InputError(f"{option} {path} has no rows")
    return frame


def read_rows(
    path: str,
    spec: ReadSpec,
    row_key_delim: str,
    element_delim: str,
    strength_delim: str = ":",
) -> pd.DataFrame:
    """Read Mahout's row format ``row<TAB>col[:strength] col ...`` as (user=row, item=col) pairs."""
    key_delim, elem_delim = _unescape(row_key_delim), _unescape(element_delim)
    strength = _unescape(strength_delim)
    rows: list[str] = []
    cols: list[str] = []
    for file in list_files(path, spec, "--input"):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{file} is not UTF-8 text") from exc
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            key, sep, rest = line.partition(key_delim)
            if not sep:
                raise InputError(
                    f"line {number} of {file} has no row-key delimiter {key_delim!r}; "
                    "expected 'row<TAB>col col ...' (see --row-key-delim)"
                )
            for token in rest.split(elem_delim):
                if token:
                    rows.append(key)
                    cols.append(_column_id(token, strength))
    if not rows:
        raise InputError(f"--input {path} has no rows")
    return pd.DataFrame({"user": rows, "item": cols})


def _column_id(token: str, strength_delim: str = ":") -> str:
    """``col:strength`` -> ``col`` (strength numeric); any other token is a column ID."""
    head, sep, tail = token.rpartition(strength_delim)
    if sep and head:
        try:
            float(tail)
        except ValueError:
            return token
        return head
    return token


def select(
    frame: pd.DataFrame, value: str | None, option: str, path: str, column: str | None
) -> pd.DataFrame:
    """Rows whose action equals ``value`` (all rows when ``value`` is None), as (user, item)."""
    if value is None:
        return frame[["user", "item"]]
    if not isinstance(frame, pd.DataFrame):  # a Dask DataFrame read on the workers: lazy,
        return frame.loc[frame["action"] == value, ["user", "item"]]  # checked when counted
    mask = (frame["action"] == value).to_numpy()
    if not mask.any():
        present = pd.unique(frame["action"])
        shown = ", ".join(map(repr, present[:_SHOW])) + (", ..." if len(present) > _SHOW else "")
        raise InputError(
            f"{option} {value!r} matches no rows of column {column} in {path}; "
            f"values there: {shown}"
        )
    return frame.loc[mask, ["user", "item"]]


def stack_actions(
    primary: pd.DataFrame,
    secondary: pd.DataFrame | None,
    filter1: str | None,
    filter2: str | None,
) -> tuple[pd.DataFrame, list[str]]:
    """One (user, item, action) frame of the primary and optional secondary rows."""
    first = filter1 if filter1 is not None else "primary"
    parts = [primary.assign(action=first)]
    actions = [first]
    if secondary is not None:
        second = filter2 if filter2 is not None else "secondary"
        if second == first:
            first, second = f"1:{first}", f"2:{second}"
            parts[0] = primary.assign(action=first)
            actions = [first]
        parts.append(secondary.assign(action=second))
        actions.append(second)
    if not isinstance(primary, pd.DataFrame):  # Dask DataFrames read on the workers
        import dask.dataframe as dd

        return dd.concat(parts) if len(parts) > 1 else parts[0], actions
    return pd.concat(parts, ignore_index=True), actions


def pairs_to_matrix(pairs: pd.DataFrame) -> tuple[sp.csr_array, pd.Index, pd.Index]:
    """Binary row x column matrix of (user=row, item=column) pairs, labels in sorted order."""
    r_codes, rows = pd.factorize(pairs["user"], sort=True)
    c_codes, cols = pd.factorize(pairs["item"], sort=True)
    data = np.ones(len(pairs), dtype=np.float64)
    m = sp.coo_array((data, (r_codes, c_codes)), shape=(len(rows), len(cols))).tocsr()
    m.sum_duplicates()
    m.data[:] = 1.0
    return m, pd.Index(rows), pd.Index(cols)


def indicator_rows(
    indicator: sp.sparray | sp.spmatrix, row_labels: pd.Index, col_labels: pd.Index
) -> list[tuple[str, list[str], list[float]]]:
    """Per row: (label, similar labels, scores), scores descending, ties by column index.

    Entries scored 0 are dropped (Mahout's sparse vectors do not keep zeros).
    Rows are sorted by label (as strings).
    """
    m = sp.csr_array(indicator)
    m.sum_duplicates()
    rows = []
    labels = [str(x) for x in row_labels]
    cols = np.array([str(x) for x in col_labels], dtype=object)
    for i in np.argsort(np.array(labels, dtype=object), kind="stable"):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        idx, val = m.indices[lo:hi], m.data[lo:hi]
        keep = val > 0
        idx, val = idx[keep], val[keep]
        order = top_k_order(val, val.size)  # indices are sorted: ties to the lower column
        rows.append((labels[i], cols[idx[order]].tolist(), val[order].tolist()))
    return rows


#: Mahout's default text layout, ``row<TAB>id:strength id:strength``, as the options spell it.
DEFAULT_DELIMS = {"row_key_delim": "\\t", "strength_delim": ":", "element_delim": " "}


def write_text(
    path: Path,
    rows: list,
    *,
    omit_strength: bool,
    row_key_delim: str = "\\t",
    strength_delim: str = ":",
    element_delim: str = " ",
) -> None:
    """Mahout's text format: ``item<TAB>other:score other:score``; an item alone if none.

    The three delimiters are Mahout's ``--rowKeyDelim``, ``--columnIdStrengthDelim``
    and ``--elementDelim`` (``\\t`` in them means tab).
    """
    key, strength, elem = (_unescape(d) for d in (row_key_delim, strength_delim, element_delim))
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for label, others, scores in rows:
            if not others:
                fh.write(f"{label}\n")
            elif omit_strength:
                fh.write(f"{label}{key}{elem.join(others)}\n")
            else:
                body = elem.join(
                    f"{o}{strength}{s!r}" for o, s in zip(others, scores, strict=True)
                )
                fh.write(f"{label}{key}{body}\n")


def write_parquet(path: Path, rows: list, *, omit_strength: bool) -> None:
    """One row per item: ``item`` (string), ``similar`` (list of string), ``score`` (list of double)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {
        "item": pa.array([r[0] for r in rows], type=pa.string()),
        "similar": pa.array([r[1] for r in rows], type=pa.list_(pa.string())),
    }
    if not omit_strength:
        data["score"] = pa.array([r[2] for r in rows], type=pa.list_(pa.float64()))
    pq.write_table(pa.table(data), path)
