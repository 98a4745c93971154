"""Crash-safe solver checkpoints: the whole iteration state, resumable bit for bit.

A checkpoint is one ``.npz`` file (no pickles) holding every array and scalar
of a solver's recurrences, plus a JSON header with the solver's name, a
fingerprint of the problem (A's shape, dtype and graph token, a hash of b,
the parameters that change the iterates) and a SHA-256 of the arrays. It is
written to a temporary file in the same directory, flushed to disk and renamed
over the old one, so a crash at any moment leaves either the previous or the
new checkpoint, never a torn one.

Loading refuses, with the path in the message and nothing deleted, a file
that belongs to another problem or that fails its checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dlinalg.errors import DLinalgError, ParameterError

__all__ = ["Checkpoint", "CheckpointError", "fingerprint"]

#: Version of the file layout; a file of another version is refused.
FORMAT = 1


class CheckpointError(DLinalgError, ValueError):
    """A checkpoint file belongs to another problem, or is corrupted."""


def fingerprint(op: Any, b: Any, **params: Any) -> dict[str, Any]:
    """What identifies a problem: A's shape/dtype/token, b's hash and the parameters."""
    if isinstance(b, np.ndarray):
        b_hash = hashlib.sha256(np.ascontiguousarray(b, dtype=np.float64).tobytes()).hexdigest()
    else:  # a lazy b: its graph token names its data deterministically
        from dask.base import tokenize

        b_hash = "token:" + tokenize(b)
    return {
        "shape": list(op.shape),
        "A": op.token,
        "b": b_hash,
        "params": {k: _plain(v) for k, v in sorted(params.items())},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Checkpoint:
    """Periodic, atomic saves of a solver's state to ``path``, and resuming from it.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (created with its parent directory if missing).
    solver : str
        The solver's name, stored and checked on load.
    problem : dict
        :func:`fingerprint` of the problem, stored and checked on load.
    every : int, default 10
        Save at least every ``every`` iterations...
    seconds : float, default 30
        ...and whenever ``seconds`` have passed since the last save.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        solver: str,
        problem: dict[str, Any],
        every: int = 10,
        seconds: float = 30.0,
    ):
        if not isinstance(path, str | os.PathLike):
            raise ParameterError(f"checkpoint must be a path (str or os.PathLike), got {path!r}")
        self.path = Path(path)
        if self.path.is_dir():
            raise ParameterError(f"checkpoint path {str(self.path)!r} is a directory; name a file")
        self.solver = solver
        self.problem = json.loads(json.dumps(problem))  # as it reads back from the file
        self.every = int(every)
        self.seconds = float(seconds)
        self._saved_at = (0, time.monotonic())

    # --- loading ------------------------------------------------------------
    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no checkpoint yet.

        Raises
        ------
        CheckpointError
            When the file is unreadable or corrupted, or holds another
            problem's or another solver's state.
        """
        if not self.path.exists():
            return None
        where = str(self.path)
        try:
            with np.load(self.path, allow_pickle=False) as data:
                header = json.loads(str(data["__header__"]))
                arrays = {k: data[k] for k in data.files if k != "__header__"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise CheckpointError(
                f"checkpoint {where!r} is corrupted or not a dlinalg checkpoint ({exc}); "
                "delete it or pass another path"
            ) from exc
        if header.get("format") != FORMAT or _digest(arrays) != header.get("sha256"):
            raise CheckpointError(
                f"checkpoint {where!r} is corrupted (checksum or format mismatch); "
                "delete it or pass another path"
            )
        if header.get("solver") != self.solver or header.get("problem") != self.problem:
            raise CheckpointError(
                f"checkpoint {where!r} holds the state of another problem "
                f"({header.get('solver')} on A of shape {tuple(header['problem']['shape'])}); "
                f"this call is {self.solver} on A of shape {tuple(self.problem['shape'])}. "
                "Pass another path, or delete the file to start over"
            )
        state: dict[str, Any] = dict(header["scalars"])
        state.update(arrays)
        self._saved_at = (int(state.get("itn", 0)), time.monotonic())
        return state

    # --- saving -------------------------------------------------------------
    def due(self, itn: int) -> bool:
        """Whether iteration ``itn`` should be saved (``every`` iterations or ``seconds`` passed)."""
        last_itn, last_time = self._saved_at
        return itn - last_itn >= self.every or time.monotonic() - last_time >= self.seconds

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (numpy arrays and plain scalars) atomically."""
        arrays = {k: np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
        scalars = {k: _plain(v) for k, v in state.items() if k not in arrays}
        header = {
            "format": FORMAT,
            "solver": self.solver,
            "problem": self.problem,
            "scalars": scalars,
            "sha256": _digest(arrays),
        }
        buf = io.BytesIO()
        np.savez(buf, __header__=np.array(json.dumps(header)), **arrays)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        self._saved_at = (int(state.get("itn", 0)), time.monotonic())


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
