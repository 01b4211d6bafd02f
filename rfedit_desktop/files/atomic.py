"""Every file rfedit writes goes through `atomic_write`: the old file survives any failure.

The bytes go to a temporary file beside the destination, named `.NAME.rfedit-XXXXXXXX.tmp`,
are checked to have all landed (a full disk, a lying short write), get the destination's
permission bits, are flushed to the disk and renamed over the destination. Any failure, a
MemoryError or Ctrl+C included, removes the temporary and leaves the destination as it was.

A writer killed mid-write (kill -9, power cut) leaves its temporary behind; the next save or
open of the same file removes such leftovers (see `remove_stale_temporaries` for the rule).

Pure Python: every layer (engine, document) writes through it without importing torch or Qt.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from pathlib import Path

from ..errors import FileError

TEMP_TAG = ".rfedit-"
TEMP_SUFFIX = ".tmp"
STALE_AFTER_SECONDS = 300.0
"""A temporary untouched for this long (and not locked by a writer) is a crash's leftover."""

_MAX_TEMP_NAME = 200  # bytes of the destination's name kept in a temporary's name (NAME_MAX 255)
_LEGACY = re.compile(r"^[a-z0-9_]{8}$")  # tempfile.mkstemp's part in older rfedit's names

try:  # POSIX: a writer holds an advisory lock on its temporary until it is renamed
    import fcntl
except ImportError:  # pragma: no cover - Windows: an open file cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]


def _temp_prefix(name: str) -> str:
    kept = name
    while len(kept.encode("utf-8", "surrogateescape")) > _MAX_TEMP_NAME:
        kept = kept[:-1]
    return f".{kept}"


def _describe(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror.lower() if exc.strerror else str(exc)


def _target(path: str | os.PathLike[str]) -> Path:
    """The file to replace: a symlink's target, so that the link stays a link."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.is_dir():
        raise FileError(f'Cannot save to "{path}": it is a folder.')
    folder = path.parent
    if not folder.is_dir():
        raise FileError(f'Cannot save "{path.name}": the folder {folder} does not exist.')
    return path


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, exclusively created and (on POSIX) locked temporary beside `path`.

    Created with mode 0666 so that the kernel applies the umask: a new file gets the same
    permissions as any other file the user creates (mkstemp would give 0600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    prefix = _temp_prefix(path.name)
    for _ in range(100):
        tmp = path.with_name(f"{prefix}{TEMP_TAG}{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks: age rule only
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path))


def _write_all(fd: int, data: memoryview) -> None:
    done = 0
    while done < len(data):
        n = os.write(fd, data[done:])
        if n <= 0:
            raise OSError(errno.ENOSPC, "the disk is full")
        done += n
    os.fsync(fd)
    size = os.fstat(fd).st_size
    if size != len(data):
        raise OSError(errno.EIO, f"only {size} of {len(data)} bytes reached the disk")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes | bytearray | memoryview,
                 mode: int | None = None) -> Path:
    """Replace `path` by `data` atomically; return the path written (a symlink's target).

    A new file gets 0666 minus the umask; an existing one keeps its permission bits; `mode`
    (0o600 for a secret) sets them, and the data is never readable with looser ones. Raises
    FileError (one sentence naming the file) for any OSError; any other exception propagates.
    Either way the temporary is gone and `path` is as it was.
    """
    path = _target(path)
    remove_stale_temporaries(path)
    view = memoryview(data).cast("B")
    try:
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise FileError(f'Cannot save "{path.name}" in {path.parent}: {_describe(exc)}.') from exc
    existed, renamed = path.exists(), False
    try:
        try:
            if os.name == "posix" and mode is not None:
                os.fchmod(fd, mode)
            elif os.name == "posix":
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(fd, path.stat().st_mode & 0o777)
            _write_all(fd, view)
            if os.name == "posix":  # renamed while still open, so still locked
                os.replace(tmp, path)
                renamed = True
        finally:
            os.close(fd)
        if not renamed:  # Windows cannot rename an open file
            os.replace(tmp, path)
            renamed = True
    except BaseException as exc:
        if not renamed:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            kept = "; the previous file is unchanged" if existed else ""
            raise FileError(f'Could not save "{path.name}": {_describe(exc)}{kept}.') from exc
        raise
    _sync_folder(path.parent)
    return path


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise FileError unless `path` can be written (before hours of work go into it).

    Creates and removes one temporary beside it: the only test that sees read-only mounts,
    ACLs and full quotas alike.
    """
    path = _target(path)
    try:
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise FileError(f'Cannot write "{path.name}" in {path.parent}: {_describe(exc)}.') from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return path


def _is_ours(name: str, prefix: str) -> bool:
    if not (name.startswith(prefix + ".") and name.endswith(TEMP_SUFFIX)):
        return False
    middle = name[len(prefix) + 1 : -len(TEMP_SUFFIX)]
    if middle.startswith(TEMP_TAG[1:]):
        return re.fullmatch(r"[0-9a-f]{8}", middle[len(TEMP_TAG) - 1 :]) is not None
    return _LEGACY.match(middle) is not None


def _locked(p: Path) -> bool:
    """Whether a live writer holds the temporary's lock (POSIX); False where locks do not exist."""
    if fcntl is None:
        return False
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return True  # cannot even look: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # no locks on this file system: the age rule decides
    finally:
        os.close(fd)
    return False


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the leftovers of killed saves of `path`; return what was removed.

    Only rfedit's own names for this file count (`.NAME.rfedit-XXXXXXXX.tmp`, and older
    versions' `.NAME.XXXXXXXX.tmp`), and only stale ones: untouched for STALE_AFTER_SECONDS
    *and* not locked. A save in progress in another rfedit holds its temporary's lock (and keeps
    writing to it, so its age stays small), so a concurrent save is never broken; a temporary
    whose writer died has lost its lock with the process. The age rule also covers file systems
    without locks and temporaries of older versions, which never locked them.
    """
    path = Path(path)
    prefix = _temp_prefix(path.name)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent if str(path.parent) else "."))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not _is_ours(entry.name, prefix):
            continue
        p = Path(entry.path)
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER_SECONDS:
                continue
        except OSError:
            continue
        if _locked(p):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed
