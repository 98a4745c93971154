"""Crash-safe directory commits: build a store under a temporary name, then rename.

A writer builds the whole store in a temporary sibling directory of the
target (same parent, so the final rename is atomic on a POSIX filesystem),
then commits it:

* fresh target: ``rename(tmp, target)`` with ``RENAME_NOREPLACE`` where the
  kernel offers it, so a directory created concurrently is never clobbered;
* existing target: ``renameat2(tmp, target, RENAME_EXCHANGE)`` swaps the two
  directories in one atomic step (Linux >= 3.15 on ext4, xfs, btrfs, tmpfs...),
  then the old store, now at the temporary name, is deleted. Where the
  exchange is unavailable the fallback is two renames (old -> trash,
  new -> target); a crash between them leaves no store at ``target`` but the
  previous one, complete, under the trash name, which
  :func:`find_leftovers` reports so the error message can point at it.

Leftover names are ``.<name>.dlinalg-tmp-<host>-<pid>-<hex>`` and
``.<name>.dlinalg-trash-<host>-<pid>-<hex>``: hidden, obviously garbage, and
tagged with the owning process. The store itself is built one level down, in
``<tmp>/store``, so a leftover is never a Zarr store at its top (neither
dlinalg nor plain Zarr nor xarray opens it), and the leftover holds
``dlinalg-writer.json`` (host, pid, the pid's start time, creation time).
A later writer deletes a leftover only when its owner is provably dead: same
host and the pid gone (or reused by a younger process), or, for leftovers of
another host or without an owner record, older than :data:`STALE_AGE`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import psutil

__all__ = [
    "STALE_AGE",
    "commit",
    "find_leftovers",
    "fsync_dir",
    "is_leftover",
    "make_temp",
    "owner_alive",
    "owner_record",
    "remove_stale_leftovers",
    "temp_sibling",
]

#: Seconds after which a leftover whose owner cannot be checked (another host,
#: no owner record) is deemed abandoned: a week, far longer than any write.
STALE_AGE = 7 * 24 * 3600.0
OWNER_FILE = "dlinalg-writer.json"
STORE_DIR = "store"
_MARKERS = (".dlinalg-tmp-", ".dlinalg-trash-")

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _tag(kind: str, target: Path) -> str:
    host = socket.gethostname().replace("-", "_")
    return f".{target.name}.dlinalg-{kind}-{host}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def temp_sibling(target: Path, kind: str = "tmp") -> Path:
    """Return a fresh hidden sibling path of ``target`` (not created)."""
    return target.parent / _tag(kind, target)


def is_leftover(path: Path) -> bool:
    """True when ``path`` is, or lies inside, a writer's temporary or trash directory."""
    return any(m in part for part in Path(path).parts for m in _MARKERS)


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def make_temp(target: Path, kind: str = "tmp") -> Path:
    """Create a fresh leftover directory for ``target`` with its owner record.

    The caller builds the store in ``<returned>/store`` (:data:`STORE_DIR`).
    """
    tmp = temp_sibling(target, kind)
    tmp.mkdir()
    (tmp / OWNER_FILE).write_text(json.dumps(owner_record()))
    return tmp


def owner_record() -> dict:
    """Who is writing: this host, its pid space, pid, the pid's start time and now."""
    return {
        "host": socket.gethostname(),
        "pid_space": _pid_space(),
        "pid": os.getpid(),
        "pid_start": _start_time(os.getpid()),
        "created": time.time(),
    }


def _pid_space() -> str | None:
    """This kernel's boot id and this process's pid namespace, where Linux tells them.

    A hostname alone does not say that two processes share pids: containers
    with the host's network (``--network host``, Kubernetes ``hostNetwork``)
    and cluster nodes with identical names share a hostname, not a pid space.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Call Linux ``renameat2``; return False when the kernel/filesystem lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return False
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    if func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def commit(built: Path, target: Path, *, replace: bool) -> None:
    """Move the complete store ``built`` to ``target`` atomically.

    With ``replace=False`` an existing ``target`` raises ``FileExistsError``
    (the directory is not clobbered). With ``replace=True`` the previous
    ``target`` stays complete until the new one is in place; it ends up at
    ``built`` (exchange) or in a trash leftover, and is deleted.
    """
    fsync_dir(built)
    if not os.path.lexists(target):
        if not _renameat2(built, target, _RENAME_NOREPLACE):
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "store appeared during the write", str(target))
            os.rename(built, target)
    elif not replace:
        raise FileExistsError(errno.EEXIST, "store appeared during the write", str(target))
    elif _renameat2(built, target, _RENAME_EXCHANGE):
        _remove(built)  # built now holds the previous store
    else:
        trash = make_temp(target, "trash")
        os.rename(target, trash / STORE_DIR)
        os.rename(built, target)
        _remove(trash)
    fsync_dir(target.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def find_leftovers(target: Path) -> list[Path]:
    """List temporary and trash siblings left by writers of ``target``."""
    prefix = f".{target.name}.dlinalg-"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if p.name.startswith(prefix))


def _owner(path: Path) -> dict:
    """The owner record of a leftover, or what its name tells (host, pid)."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text())
        if isinstance(owner, dict):
            return owner
    except (OSError, ValueError):
        pass
    parts = path.name.rsplit("-", 3)  # [..., host, pid, hex]
    if len(parts) == 4 and parts[2].isdigit():
        return {"host_tag": parts[1], "pid": int(parts[2])}
    return {}


def _owner_alive(path: Path, now: float | None = None) -> bool:
    """True unless the leftover's writer is provably gone (see the module notes)."""
    owner = _owner(path)
    if "created" not in owner:
        try:
            owner = {**owner, "created": path.lstat().st_mtime}
        except OSError:
            return True
    return owner_alive(owner, now)


def owner_alive(owner: dict, now: float | None = None) -> bool:
    """True unless the writer of an :func:`owner_record` is provably gone.

    Same host (and, when recorded, the same boot and pid namespace): gone when
    its pid is gone or reused by a younger process. Another host, another pid
    space, or no pid: gone once the record is older than :data:`STALE_AGE`.
    """
    host = socket.gethostname()
    same_host = owner.get("host") == host or owner.get("host_tag") == host.replace("-", "_")
    if "pid_space" in owner:  # recorded: the pid is checkable only in the same pid space
        same_host = same_host and owner["pid_space"] is not None
        same_host = same_host and owner["pid_space"] == _pid_space()
    pid = owner.get("pid")
    if same_host and isinstance(pid, int):
        if not psutil.pid_exists(pid):
            return False
        recorded, actual = owner.get("pid_start"), _start_time(pid)
        if isinstance(recorded, int | float) and actual is not None:
            return abs(actual - recorded) < 1.0  # a younger process reusing the pid
        return True
    try:
        created = float(owner["created"])
    except (KeyError, TypeError, ValueError):
        return True
    return (time.time() if now is None else now) - created < STALE_AGE


def remove_stale_leftovers(target: Path, kinds: tuple[str, ...] = ("tmp", "trash")) -> list[Path]:
    """Delete leftovers of ``target`` whose writers are gone; return them.

    A live writer's temporary is never touched. Trash leftovers hold the
    previous store of an interrupted fallback swap: pass ``kinds=("tmp",)``
    while ``target`` may still be missing, so that copy survives.
    """
    removed = []
    for path in find_leftovers(target):
        kind = path.name[len(target.name) + 1 :].split("-")[1:2]
        if kind and kind[0] in kinds and not _owner_alive(path):
            _remove(path)
            removed.append(path)
    return removed
