"""The command line's input read on the workers, for a run on a cluster.

A log big enough to run on a cluster is not read in this process: each task
reads one block of whole lines of a text file, or one Parquet file, and
parses it as :mod:`._cli_io` parses a whole file (:func:`._cli_io.parse_text`).
Blocks are split as :func:`dask.bytes.read_bytes` splits them (fsspec's
``read_block``: a block starts after the first newline at or past its offset
and ends at the first newline at or past its end), so every line is read
once. A block other than a file's first gets the file's first line (read
here, one per file) in front: the header of named columns, or the row that
sets the field count pandas expects. Only the dictionaries (distinct users and items) reach this
process; the count matrices stay on the workers as row blocks
(:func:`._interactions_dask.dask_row_blocks`).

Errors raised in a task are the same :class:`._cli_io.InputError` as in
process; a block other than a file's first names its byte offset, and its
line numbers count from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._cli_io import (
    InputError,
    ReadSpec,
    _position,
    is_parquet,
    list_files,
    parse_text,
    read_parquet_file,
)

__all__ = ["BLOCK_BYTES", "Piece", "input_bytes", "read_frame", "read_piece"]

#: Bytes of text one task reads (whole lines). 2M lines of a typical log are
#: 40 MiB: enough blocks to keep 2 workers busy, few enough to cost no
#: scheduling.
BLOCK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Piece:
    """One task's share of the input: a block of a text file, or a Parquet file.

    Not a tuple: :func:`dask.dataframe.from_map` would spread a tuple over
    the reader's arguments.
    """

    file: str
    offset: int
    length: int  # -1: to the end of the file
    first: str | None  # a later block's file's first line (header, or first row)
    mtime_ns: int  # part of the task key: a rewritten file is read again


def input_bytes(paths: list[str | None], spec: ReadSpec, options: list[str]) -> int:
    """Bytes of every file the inputs name (the size the run's placement is decided by)."""
    return sum(
        f.stat().st_size
        for path, option in zip(paths, options, strict=True)
        if path is not None
        for f in list_files(path, spec, option)
    )


def _first_line(file: Path) -> str:
    """The file's first non-blank line, which pandas reads as its header or its first row."""
    with file.open("rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")
            if line.strip():
                return line
    return ""


def pieces(
    path: str, columns: dict[str, str], spec: ReadSpec, option: str, block_bytes: int | None = None
) -> list[Piece]:
    """The blocks of every file of ``path`` (a Parquet file is one piece)."""
    block_bytes = block_bytes or BLOCK_BYTES
    out = []
    for file in list_files(path, spec, option):
        stat = file.stat()
        if is_parquet(file):
            out.append(Piece(str(file), 0, -1, None, stat.st_mtime_ns))
            continue
        offsets = range(0, max(stat.st_size, 1), block_bytes)
        first = _first_line(file) if len(offsets) > 1 else None
        out.extend(
            Piece(str(file), off, block_bytes, first if off else None, stat.st_mtime_ns)
            for off in offsets
        )
    return out


def read_piece(piece: Piece, wanted: dict[str, str], delim: str) -> pd.DataFrame:
    """The ``wanted`` columns of one piece, as strings (runs on a worker).

    (Not ``columns``: :func:`dask.dataframe.from_map` passes a reader's
    ``columns`` argument its own column projection.)
    """
    file = Path(piece.file)
    if piece.length < 0:
        return read_parquet_file(file, wanted)
    from fsspec.utils import read_block

    with file.open("rb") as fh:
        data = read_block(fh, piece.offset, piece.length, delimiter=b"\n")
    where = str(file) if piece.offset == 0 else f"{file} (the block from byte {piece.offset})"
    try:
        text = data.decode("utf-8-sig" if piece.offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text (nor a Parquet file)") from exc
    if piece.first is None:
        return parse_text(text, wanted, delim, where)
    # the file's first line in front: the header of named columns, else a row
    # that sets the field count pandas expects, as in the whole file
    frame = parse_text(f"{piece.first}\n{text}", wanted, delim, where)
    named = any(_position(v) is None for v in wanted.values())
    return frame if named else frame.iloc[1:].reset_index(drop=True)


def read_frame(path: str, columns: dict[str, str], spec: ReadSpec, option: str) -> Any:
    """A Dask DataFrame of string columns named like ``columns``'s keys, read on the workers."""
    import dask
    import dask.dataframe as dd

    meta = pd.DataFrame({k: pd.Series([], dtype=object) for k in columns})
    # object columns, as read in process: the same dictionaries, the same order
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            read_piece,
            pieces(path, columns, spec, option),
            args=(columns, spec.delim),
            meta=meta,
            enforce_metadata=False,
            label="read-interactions",
        )
