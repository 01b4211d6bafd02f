"""The window's file operations, in terms of the document package.

One small module so the window never needs to know which document module reads which format.
Every function raises `DocumentError` (or another exception) with a message for the artist;
the window shows it and keeps the open document untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QColor

from rfedit_desktop.document.document import Document
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.document.image_io import export_image as _export_image
from rfedit_desktop.document.image_io import open_image

PROJECT_SUFFIX = ".ora"
EXPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def new_document(width: int, height: int, fill: QColor | None = None) -> Document:
    background = QColor(255, 255, 255) if fill is None else fill
    return Document.new(width, height, None if background.alpha() == 0 else background)


def open_file(path: str) -> Document:
    """An .ora project, or an image as a one-layer document."""
    if not os.path.exists(path):
        raise DocumentError(f'"{os.path.basename(path)}" does not exist.')
    if path.lower().endswith(PROJECT_SUFFIX):
        from rfedit_desktop.document.ora import load_ora

        return load_ora(path)
    return open_image(path)


def save_ora(document: Document, path: str) -> None:
    """Save as OpenRaster (atomic: a failure leaves the old file as it was)."""
    document.save(path)


def export_image(document: Document, path: str) -> None:
    if Path(path).suffix.lower() not in EXPORT_SUFFIXES:
        raise DocumentError(
            f'Cannot export "{os.path.basename(path)}": use a .png, .jpg or .webp file name.')
    _export_image(document, path)


def import_layer(document: Document, path: str):
    return document.import_image_as_layer(path)


# ---------------------------------------------------------------------------- autosave
def autosave_dir() -> Path:
    from rfedit_desktop import paths

    return paths.data_dir() / "autosave"


def autosave(document: Document, token: str) -> str:
    """Write a recovery copy named after this session's `token`; returns its path.

    It does not touch the document's file path or clean state: the artist's own file is only
    written by Save.
    """
    from rfedit_desktop.document.ora import save_ora as write_ora

    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{token}.ora"
    write_ora(document, path)
    return str(path)


def recoverable_autosaves(exclude: str | None = None) -> list[str]:
    """Autosaves left by other sessions (a crash), newest first."""
    folder = autosave_dir()
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("*.ora") if exclude is None or p.stem != exclude]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [str(p) for p in found]


def discard_autosave(token: str) -> None:
    """This session's recovery copy is no longer needed (saved, closed or replaced)."""
    delete_autosave(str(autosave_dir() / f"{token}.ora"))


def delete_autosave(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def mark_modified(document: Document) -> None:
    """A recovered document exists only in the autosave folder: never show it as saved."""
    document.undo_stack.resetClean()
    document.modified_changed.emit(True)
