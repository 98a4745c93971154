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
tagged with the owning process so a later writer deletes only leftovers of
dead processes on this host (never those of a concurrent live writer).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import socket
import uuid
from pathlib import Path

__all__ = ["commit", "find_leftovers", "remove_stale_leftovers", "temp_sibling"]

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _tag(kind: str, target: Path) -> str:
    host = socket.gethostname().replace("-", "_")
    return f".{target.name}.dlinalg-{kind}-{host}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def temp_sibling(target: Path, kind: str = "tmp") -> Path:
    """Return a fresh hidden sibling path of ``target`` (not created)."""
    return target.parent / _tag(kind, target)


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


def commit(tmp: Path, target: Path, *, replace: bool) -> None:
    """Move the complete store ``tmp`` to ``target`` atomically.

    With ``replace=False`` an existing ``target`` raises ``FileExistsError``
    (the directory is not clobbered). With ``replace=True`` the previous
    ``target`` stays complete until the new one is in place, then is deleted.
    """
    _fsync_dir(tmp)
    if not os.path.lexists(target):
        if not _renameat2(tmp, target, _RENAME_NOREPLACE):
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "store appeared during the write", str(target))
            os.rename(tmp, target)
    elif not replace:
        raise FileExistsError(errno.EEXIST, "store appeared during the write", str(target))
    elif _renameat2(tmp, target, _RENAME_EXCHANGE):
        _remove(tmp)  # tmp now holds the previous store
    else:
        trash = temp_sibling(target, "trash")
        os.rename(target, trash)
        os.rename(tmp, target)
        _remove(trash)
    _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
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


def _owner_alive(path: Path) -> bool:
    """True when the leftover belongs to a live process (or to another host)."""
    parts = path.name.rsplit("-", 3)  # [..., host, pid, hex]
    if len(parts) != 4:
        return True  # not ours to judge: keep it
    host, pid = parts[1], parts[2]
    if host != socket.gethostname().replace("-", "_") or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_leftovers(target: Path) -> list[Path]:
    """Delete leftovers of dead writers of ``target`` on this host; return them."""
    removed = []
    for path in find_leftovers(target):
        if not _owner_alive(path):
            _remove(path)
            removed.append(path)
    return removed
