"""Crash-safe solver checkpoints: the whole iteration state, resumable bit for bit.

A checkpoint is one ``.npz`` file (no pickles) holding every array of a
solver's recurrences, plus a JSON header with the solver's name, its scalars,
what identifies the problem (A's shape and identity, a hash of b, the
parameters that change the iterates) and a SHA-256 over the header and the
arrays together. It is written to a temporary file in the same directory,
flushed to disk and renamed over the old one, so a crash at any moment leaves
either the previous or the new checkpoint, never a torn one.

Loading checks the whole file before anything else is done (no graph, no
pass over A): every member readable, the header a JSON object, each field
present with its type, the solver's scalars and arrays all there with the
problem's shapes, the checksum, then the problem itself. Anything wrong is a
:class:`CheckpointError` naming the path and the field; nothing is deleted.

A's identity (see :meth:`Checkpoint.identify`) is one of:

``{"kind": "graph", "token": ...}``
    a DRM or Dask array: its deterministic graph token (no extra pass);
``{"kind": "probe", ...}``
    an opaque operator (anything with ``matvec``/``rmatvec``): count sketches
    of ``A v`` and ``A^T w`` for seeded Gaussian ``v`` and ``w``, one extra
    mat-vec and one extra rmat-vec; two operators are the same problem when
    the sketches agree within :data:`PROBE_RTOL` of their norms;
``{"kind": "user", "value": ...}``
    the caller's ``fingerprint=``, trusted as given (no probe).
"""

from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dlinalg.errors import DLinalgError, ParameterError
from dlinalg.io._atomic import fsync_dir

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "fingerprint",
    "probe_identity",
    "user_identity",
    "FORMAT",
    "PROBE_RTOL",
    "STATES",
]

#: Version of the file layout. Format 1 (before dlinalg's issue 12) did not
#: checksum its header and is refused with a message to delete the file.
FORMAT = 2

#: Seed of the probe vectors of an opaque operator (fixed: part of the format).
PROBE_SEED = 0x5EED_C4EC
#: Entries of each count sketch of the probe products.
PROBE_BINS = 16
#: Two probes agree when no sketch entry differs by more than this times the
#: product's norm: far above the rounding of a re-ordered mat-vec (~1e-16
#: sqrt(n)), far below what a different matrix changes.
PROBE_RTOL = 1e-8

_REMEDY = "delete it to start over, or pass another path"


class CheckpointError(DLinalgError, ValueError):
    """A checkpoint file belongs to another problem, or is corrupted."""


class Layout(NamedTuple):
    """What a solver's saved state holds.

    ``arrays`` maps each array to its allowed shapes, written with ``"m"``
    and ``"n"`` (A's rows and columns), ``"*"`` (any length) or an integer;
    ``optional`` the same for arrays saved only with some options (lsqr's
    ``var`` with ``calc_var=True``).
    """

    scalars: tuple[str, ...]
    integers: tuple[str, ...]
    arrays: dict[str, tuple[tuple[str | int, ...], ...]]
    istop: tuple[int, ...]
    optional: dict[str, tuple[tuple[str | int, ...], ...]] = {}  # noqa: RUF012 - never mutated


_N = (("n",),)
_LSQR_SCALARS = (
    "alfa", "beta", "rhobar", "phibar", "anorm", "acond", "ddnorm", "res2", "rnorm", "r1norm",
    "arnorm", "xnorm", "xxnorm", "z", "cs2", "sn2", "bnorm", "u_scale",
)  # fmt: skip
_LSMR_SCALARS = (
    "alpha", "beta", "zetabar", "alphabar", "rho", "rhobar", "cbar", "sbar", "betadd", "betad",
    "rhodold", "tautildeold", "thetatilde", "zeta", "d", "normA2", "maxrbar", "minrbar",
    "normA", "condA", "normx", "normr", "normar", "normb", "u_scale",
)  # fmt: skip

#: The saved state of each solver (a test checks it against what they save).
STATES: dict[str, Layout] = {
    "lsqr": Layout(_LSQR_SCALARS, (), {"x": _N, "v": _N, "w": _N, "u_raw": (("m",),)},
                   tuple(range(8)), {"var": _N}),
    "lsmr": Layout(_LSMR_SCALARS, (), {"x": _N, "v": _N, "h": _N, "hbar": _N,
                                       "u_raw": (("m",),)}, tuple(range(8))),
    "cg": Layout(("rho", "normr", "bnorm", "tol"), (), {"x": _N, "r": _N, "p": _N},
                 (0, 1, 7, 8, 9)),
    "cgls": Layout(("gamma", "rr", "bnorm", "normr", "normar", "alpha", "beta", "anorm",
                    "acond"), ("true_at",),
                   {"x": _N, "s": _N, "p": _N, "tdiag": (("*",),), "toff": (("*",),)},
                   tuple(range(8))),
    "gd": Layout(("lr", "t", "f", "f0", "normar", "gnorm", "gnorm0"), (),
                 {"d": _N, "z": _N, "y": _N, "g": _N, "R": (("n", "n"), (0, 0))},
                 (0, 1, 3, 7)),
}  # fmt: skip


# --- what identifies a problem -------------------------------------------------------------


def fingerprint(shape: tuple[int, int], b: Any, **params: Any) -> dict[str, Any]:
    """What identifies a problem apart from A: A's shape, b's hash and the parameters.

    Computed without a graph or a pass (a lazy b is named by its graph token).
    """
    if isinstance(b, np.ndarray):
        b_hash = hashlib.sha256(np.ascontiguousarray(b, dtype=np.float64).tobytes()).hexdigest()
    else:  # a lazy b: its graph token names its data deterministically
        from dask.base import tokenize

        b_hash = "token:" + tokenize(b)
    return {
        "shape": [int(s) for s in shape],
        "b": b_hash,
        "params": {k: _plain(v) for k, v in sorted(params.items())},
    }


def user_identity(value: Any) -> dict[str, Any]:
    """A's identity from the caller's ``fingerprint=`` (str, bytes, int or tuples of them).

    Raises
    ------
    ParameterError
        For any other type (its text would not be stable across processes).
    """

    def text(v: Any) -> Any:
        if isinstance(v, str | int) and not isinstance(v, bool):
            return v
        if isinstance(v, bytes):
            return {"bytes": v.hex()}
        if isinstance(v, tuple):
            return [text(item) for item in v]
        raise ParameterError(
            "fingerprint must be a str, bytes, int or a tuple of them (text that identifies "
            f"A across processes), got {type(value).__name__}: {value!r}"
        )

    return {"kind": "user", "value": json.dumps(text(value), sort_keys=True)}


def probe_identity(kind: str, shape: tuple[int, int], matvec: Any, rmatvec: Any) -> dict[str, Any]:
    """A's identity from its products with seeded probe vectors (one mat-vec, one rmat-vec).

    ``matvec(v)`` and ``rmatvec(w)`` return float64 vectors of length m and n.
    """
    m, n = shape
    rng = np.random.default_rng(PROBE_SEED)
    v, w = rng.standard_normal(n), rng.standard_normal(m)
    av, atw = np.asarray(matvec(v), np.float64), np.asarray(rmatvec(w), np.float64)
    return {
        "kind": "probe",
        "type": kind,
        "Av": _sketch(av, rng).tolist(),
        "Atw": _sketch(atw, rng).tolist(),
        "norms": [float(np.linalg.norm(av)), float(np.linalg.norm(atw))],
    }


def _sketch(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A count sketch of ``y``: signed sums over seeded bins (O(len(y)) memory)."""
    bins = rng.integers(0, PROBE_BINS, len(y))
    signs = rng.choice(np.array([-1.0, 1.0]), len(y))
    return np.bincount(bins, weights=signs * y, minlength=PROBE_BINS)


def _same_probe(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key, norm in (("Av", 0), ("Atw", 1)):
        scale = max(a["norms"][norm], b["norms"][norm])
        diff = np.abs(np.subtract(a[key], b[key]))
        if not np.all(diff <= PROBE_RTOL * scale):
            return False
    return True


def _describe(identity: dict[str, Any]) -> str:
    return {
        "graph": "its graph token",
        "probe": "its products with the probe vectors",
        "user": f"fingerprint={identity.get('value')}",
    }[identity["kind"]]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- the checksum over header and arrays ---------------------------------------------------


def _digest(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the header (without its ``sha256`` field) and every array."""
    h = hashlib.sha256(b"dlinalg-checkpoint\0")
    body = {k: v for k, v in header.items() if k != "sha256"}
    h.update(json.dumps(body, sort_keys=True, allow_nan=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(b"\0" + name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _encode(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """The file's bytes: ``header`` signed over itself and ``arrays``."""
    header = {**header, "sha256": _digest(header, arrays)}
    buf = io.BytesIO()
    np.savez(buf, __header__=np.array(json.dumps(header)), **arrays)
    return buf.getvalue()


# --- checking a file -----------------------------------------------------------------------


class _Check:
    """Field checks that raise :class:`CheckpointError` naming the path and the field."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {self.where!r} is corrupted: {what}; {_REMEDY}")

    def field(self, obj: dict, key: str, kind: Any, name: str) -> Any:
        if key not in obj:
            raise self.fail(f"its header has no field {name!r}")
        value = obj[key]
        if not _is(value, kind):
            raise self.fail(
                f"header field {name!r} should be {_kind_name(kind)}, got "
                f"{type(value).__name__} {_short(value)}"
            )
        return value


def _is(value: Any, kind: Any) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "real":
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(kind: Any) -> str:
    if isinstance(kind, str):
        return {"int": "an integer", "real": "a number"}[kind]
    return {dict: "an object", list: "a list", str: "a string"}[kind]


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """Every member of the ``.npz`` file, each read whole (its CRC checked), naming a bad one."""
    check = _Check(str(path))
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise check.fail(f"not a readable .npz archive ({exc})") from exc
    members: dict[str, Any] = {}
    with zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            try:
                members[name] = np.lib.format.read_array(
                    io.BytesIO(zf.read(info)), allow_pickle=False
                )
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
                raise check.fail(f"member {name!r} is unreadable ({exc})") from exc
    raw = members.pop("__header__", None)
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise check.fail("it has no '__header__' member (not a dlinalg checkpoint)")
    try:
        header = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise check.fail(f"its '__header__' is not valid JSON ({exc})") from exc
    return header, members


def _shape_matches(shape: tuple[int, ...], allowed: tuple, m: int, n: int) -> bool:
    dims = {"m": m, "n": n}
    for pattern in allowed:
        if len(pattern) == len(shape) and all(
            d == "*" or dims.get(d, d) == s for d, s in zip(pattern, shape, strict=True)
        ):
            return True
    return False


def _check_identity(check: _Check, problem: dict) -> None:
    ident = check.field(problem, "A", dict, "problem.A")
    kind = check.field(ident, "kind", str, "problem.A.kind")
    if kind == "graph":
        check.field(ident, "token", str, "problem.A.token")
    elif kind == "user":
        check.field(ident, "value", str, "problem.A.value")
    elif kind == "probe":
        check.field(ident, "type", str, "problem.A.type")
        for key, size in (("Av", PROBE_BINS), ("Atw", PROBE_BINS), ("norms", 2)):
            values = check.field(ident, key, list, f"problem.A.{key}")
            if len(values) != size or not all(_is(v, "real") for v in values):
                raise check.fail(f"header field 'problem.A.{key}' should be {size} numbers")
    else:
        raise check.fail(f"header field 'problem.A.kind' is unknown: {_short(kind)}")


def check_file(path: Path, solver: str) -> tuple[dict, dict]:
    """``(header, arrays)`` of a checkpoint of ``solver``, all checked (shapes by its own A's).

    Raises
    ------
    CheckpointError
        Naming the first field (or member) that is missing, of the wrong
        type or shape, or when the checksum fails.
    """
    check = _Check(str(path))
    header, arrays = _read(path)
    if not isinstance(header, dict):
        raise check.fail(f"its header should be a JSON object, got a {type(header).__name__}")
    fmt = check.field(header, "format", "int", "format")
    if fmt == 1:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by an older dlinalg (format 1, whose header "
            f"is not checksummed) and cannot be trusted; {_REMEDY}"
        )
    if fmt != FORMAT:
        raise check.fail(f"header field 'format' is {fmt}, this dlinalg reads format {FORMAT}")
    check.field(header, "sha256", str, "sha256")
    check.field(header, "solver", str, "solver")
    problem = check.field(header, "problem", dict, "problem")
    pshape = check.field(problem, "shape", list, "problem.shape")
    if len(pshape) != 2 or not all(_is(s, "int") and s >= 0 for s in pshape):
        raise check.fail(f"header field 'problem.shape' should be 2 counts, got {_short(pshape)}")
    check.field(problem, "b", str, "problem.b")
    check.field(problem, "params", dict, "problem.params")
    _check_identity(check, problem)
    scalars = check.field(header, "scalars", dict, "scalars")

    layout = STATES.get(header["solver"])
    if layout is not None and header["solver"] == solver:
        # the state's own fields: a file of another solver is refused as another problem
        m, n = (int(s) for s in pshape)
        for key in ("itn", "istop", *layout.integers):
            check.field(scalars, key, "int", f"scalars.{key}")
        for key in layout.scalars:
            check.field(scalars, key, "real", f"scalars.{key}")
        if scalars["itn"] < 0:
            raise check.fail(f"header field 'scalars.itn' is negative: {scalars['itn']}")
        if scalars["istop"] not in layout.istop:
            raise check.fail(
                f"header field 'scalars.istop' is {scalars['istop']}, {solver} stops with "
                f"one of {layout.istop}"
            )
        extra = set(scalars) - {"itn", "istop", *layout.integers, *layout.scalars}
        if extra:
            raise check.fail(f"header field 'scalars' has unexpected entries {sorted(extra)}")
        present = {k: v for k, v in layout.optional.items() if k in arrays}
        for key, allowed in {**layout.arrays, **present}.items():
            if key not in arrays:
                raise check.fail(f"it has no array {key!r}")
            a = arrays[key]
            if a.dtype != np.float64 or not _shape_matches(a.shape, allowed, m, n):
                want = " or ".join(str(tuple(p)) for p in allowed)
                raise check.fail(
                    f"array {key!r} has shape {a.shape} and dtype {a.dtype}, expected float64 "
                    f"of shape {want} with m={m}, n={n}"
                )
        extra = set(arrays) - set(layout.arrays) - set(layout.optional)
        if extra:
            raise check.fail(f"it has unexpected arrays {sorted(extra)}")
    if _digest(header, arrays) != header["sha256"]:
        raise check.fail("its checksum (header and arrays) does not match")
    return header, arrays


# --- the checkpoint of one solver call -----------------------------------------------------


class Checkpoint:
    """Periodic, atomic saves of a solver's state to ``path``, and resuming from it.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (created with its parent directory if missing).
    solver : str
        The solver's name, stored and checked on load.
    problem : dict
        :func:`fingerprint` of the problem (without A), stored and checked on load.
    every : int, default 10
        Save at least every ``every`` iterations...
    seconds : float, default 30
        ...and whenever ``seconds`` have passed since the last save.

    Use: :meth:`load` (the whole file checked, before any pass over A), then
    :meth:`identify` with A's identity (before A is persisted), then
    :meth:`due`/:meth:`save`.
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
        self._stored: dict[str, Any] | None = None  # the loaded file's A identity

    # --- loading ------------------------------------------------------------
    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no checkpoint yet.

        Checks the whole file and everything of the problem but A's identity
        (see :meth:`identify`); no graph is built and A is not read.

        Raises
        ------
        CheckpointError
            When the file is unreadable or corrupted (naming the field), or
            holds another problem's or another solver's state.
        """
        if not self.path.exists():
            return None
        header, arrays = check_file(self.path, self.solver)
        stored = dict(header["problem"])
        self._stored = stored.pop("A")
        differs = []
        if header["solver"] != self.solver:
            differs.append(f"solver (file: {header['solver']}, this call: {self.solver})")
        for key, what in (("shape", "A's shape"), ("b", "b (the right-hand side)")):
            if stored.get(key) != self.problem[key]:
                differs.append(f"{what} (file: {_short(stored.get(key))}, "
                               f"this call: {_short(self.problem[key])})")  # fmt: skip
        mine, theirs = self.problem["params"], stored["params"]
        differs += [
            f"parameter {key} (file: {_short(theirs.get(key, '<none>'))}, "
            f"this call: {_short(mine.get(key, '<none>'))})"
            for key in sorted(set(mine) | set(theirs))
            if mine.get(key, "<none>") != theirs.get(key, "<none>")
        ]
        if differs:
            raise self._another(differs)
        state: dict[str, Any] = dict(header["scalars"])
        state.update(arrays)
        self._saved_at = (int(state["itn"]), time.monotonic())
        return state

    def identify(self, identity: dict[str, Any]) -> None:
        """Record A's identity and compare it with the loaded file's.

        Raises
        ------
        CheckpointError
            When the loaded checkpoint was made with another A.
        """
        identity = json.loads(json.dumps(identity))
        stored = self._stored
        if stored is not None:
            if stored["kind"] != identity["kind"]:
                why = (
                    f"A's identity (file: by {_describe(stored)}, this call: by "
                    f"{_describe(identity)}; pass the fingerprint= of the run that wrote it)"
                )
                raise self._another([why])
            if stored["kind"] == "probe":
                same = _same_probe(stored, identity)  # the type is informative only
                why = "A (its products with the seeded probe vectors differ)"
            elif stored["kind"] == "graph":
                same = stored == identity
                why = "A (its graph token differs: another matrix, or A chunked differently)"
            else:
                same = stored == identity
                why = f"A (file: {_describe(stored)}, this call: {_describe(identity)})"
            if not same:
                raise self._another([why])
        self.problem["A"] = identity

    def _another(self, differs: list[str]) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {str(self.path)!r} holds the state of another problem: "
            + "; ".join(differs)
            + f". This call is {self.solver} on A of shape {tuple(self.problem['shape'])}; "
            + _REMEDY
        )

    # --- saving -------------------------------------------------------------
    def due(self, itn: int) -> bool:
        """Whether iteration ``itn`` should be saved (``every`` iterations or ``seconds`` passed)."""
        last_itn, last_time = self._saved_at
        return itn - last_itn >= self.every or time.monotonic() - last_time >= self.seconds

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (numpy arrays and plain scalars) atomically."""
        if "A" not in self.problem:
            raise RuntimeError("Checkpoint.save before identify(): A's identity is unknown")
        arrays = {k: np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
        scalars = {k: _plain(v) for k, v in state.items() if k not in arrays}
        header = {
            "format": FORMAT,
            "solver": self.solver,
            "problem": self.problem,
            "scalars": scalars,
        }
        data = _encode(header, arrays)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(self.path.parent)
        self._saved_at = (int(state.get("itn", 0)), time.monotonic())
