"""Crash recovery: a recovery .ora per running session, and the list of sessions that died.

Each running window owns an `AutosaveSession`. It writes a marker file (JSON with its pid,
start time and the document's name and path) when created, and `<id>.ora` beside it on every
`write(doc)` (atomically, so a crash mid-write keeps the previous autosave). A clean close calls
`discard()`, which deletes both. At the next start, `list_recoverable()` reports every autosave
whose marker names a process that is no longer running (or whose marker is missing): those are
the crashes. The timer and the "recover?" dialog belong to the window.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import FileError
from ..files.atomic import atomic_write
from .errors import DocumentError


def autosave_dir() -> Path:
    """`paths.data_dir()/"autosave"` (created on demand)."""
    return paths.data_dir() / "autosave"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


@dataclass
class RecoveryEntry:
    """A recoverable autosave left by a session that did not close cleanly."""

    session_id: str
    ora_path: Path
    marker_path: Path
    saved_at: str
    document_name: str
    original_path: str | None
    pid: int
    source_path: str | None = None
    """The image an unsaved document was opened from (it names the recovered document)."""

    def load(self):
        """The autosaved Document, marked modified, with its original file path (if any)."""
        return recover(self)

    def discard(self) -> None:
        """Delete this autosave (the artist chose not to recover it)."""
        for p in (self.ora_path, self.marker_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


class AutosaveSession:
    """This process's autosave slot. Create one at start-up; call `write(doc)` on a timer
    (only when `doc.modified`), and `discard()` after a clean close."""

    def __init__(self, folder: Path | None = None, session_id: str | None = None):
        self.folder = Path(folder) if folder is not None else autosave_dir()
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.ora_path = self.folder / f"{self.session_id}.ora"
        self.marker_path = self.folder / f"{self.session_id}.session.json"
        self.last_write: str | None = None
        self._write_marker(None)

    def _write_marker(self, doc) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DocumentError(f"Cannot create the autosave folder {self.folder}: {e}") from e
        info = {
            "pid": os.getpid(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "saved_at": self.last_write,
            "document_name": doc.display_name if doc is not None else "",
            "original_path": doc.file_path if doc is not None else None,
            "source_path": doc.source_path if doc is not None else None,
        }
        try:
            atomic_write(self.marker_path, json.dumps(info).encode("utf-8"))
        except FileError as e:
            raise DocumentError(str(e)) from e

    def write(self, doc) -> Path:
        """Save a recovery copy of `doc` now (atomic); does not touch its modified state."""
        from .ora import save_ora

        save_ora(doc, self.ora_path)
        self.last_write = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._write_marker(doc)
        return self.ora_path

    def discard(self) -> None:
        """Delete this session's autosave and marker (clean close)."""
        for p in (self.ora_path, self.marker_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def list_recoverable(folder: Path | None = None) -> list[RecoveryEntry]:
    """Autosaves of sessions that ended without `discard()` (crashed), newest first.

    A session whose process is still running (another open window) is not listed.
    """
    folder = Path(folder) if folder is not None else autosave_dir()
    if not folder.is_dir():
        return []
    entries = []
    for ora in folder.glob("*.ora"):
        sid = ora.stem
        marker = folder / f"{sid}.session.json"
        info: dict = {}
        if marker.exists():
            try:
                info = json.loads(marker.read_text("utf-8"))
                if not isinstance(info, dict):
                    info = {}
            except (OSError, ValueError):
                info = {}
        pid = int(info.get("pid") or 0) if str(info.get("pid", "0")).isdigit() else 0
        if info and _pid_alive(pid):
            continue
        saved = info.get("saved_at") or _dt.datetime.fromtimestamp(
            ora.stat().st_mtime, _dt.timezone.utc
        ).isoformat(timespec="seconds")
        entries.append(
            RecoveryEntry(
                session_id=sid,
                ora_path=ora,
                marker_path=marker,
                saved_at=str(saved),
                document_name=str(info.get("document_name") or "Untitled"),
                original_path=info.get("original_path") or None,
                pid=pid,
                source_path=info["source_path"] if isinstance(info.get("source_path"), str)
                and info["source_path"] else None,
            )
        )
    # markers of sessions that died before their first autosave have nothing to recover
    for marker in folder.glob("*.session.json"):
        sid = marker.name[: -len(".session.json")]
        if (folder / f"{sid}.ora").exists():
            continue
        try:
            pid = int(json.loads(marker.read_text("utf-8")).get("pid", 0))
        except (OSError, ValueError, AttributeError, TypeError):
            pid = 0
        if not _pid_alive(pid):
            with contextlib.suppress(OSError):
                marker.unlink()
    entries.sort(key=lambda e: e.saved_at, reverse=True)
    return entries


def recover(entry: RecoveryEntry):
    """Load a recovery entry as a modified Document pointing at its original file path.

    The autosave files stay until the artist saves or calls `entry.discard()`.
    """
    from .opening import load_ora

    doc = load_ora(entry.ora_path)
    doc.set_file_path(entry.original_path)
    doc.source_path = entry.source_path
    doc.recovered_from = str(entry.ora_path)
    # not clean: the recovered work is unsaved until the artist saves it
    doc.undo_stack.resetClean()
    doc.modified_changed.emit(True)
    return doc
