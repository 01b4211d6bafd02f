"""Write a file so that a failure at any point leaves the previous file intact."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import DocumentError


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(file)` on a temporary file next to `path`, then rename it over `path`.

    The temporary file lives in the same folder so os.replace is an atomic rename on the same
    file system. Any exception (from `write`, a full disk, a read-only folder, `path` being a
    folder) removes the temporary file and raises DocumentError; `path` is left untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise DocumentError(f'Cannot save to "{path}": it is a folder.')
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise DocumentError(f'Cannot save "{path.name}": {e.strerror or e}.') from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            with contextlib.suppress(OSError):
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, DocumentError):
            raise
        if isinstance(e, Exception):
            raise DocumentError(f'Could not save "{path.name}": {e}') from e
        raise
