"""The window's file operations, in terms of the document package.

One small module so the window never needs to know which document module reads which format.
Every function raises `DocumentError` (or another exception) with a message for the artist;
the window shows it and keeps the open document untouched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QColor, QImage

from rfedit_desktop.document.document import Document
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.document.image_io import export_image as _export_image
from rfedit_desktop.document.image_io import read_image
from rfedit_desktop.document.opening import image_document, ora_document
from rfedit_desktop.document.ora import OraContents, read_ora

PROJECT_SUFFIX = ".ora"
EXPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def new_document(width: int, height: int, fill: QColor | None = None) -> Document:
    background = QColor(255, 255, 255) if fill is None else fill
    return Document.new(width, height, None if background.alpha() == 0 else background)


def open_file(path: str) -> Document:
    """An .ora project, or an image as a one-layer document."""
    return file_document(read_file(path), path)


def read_file(path: str, progress: Callable[[int, int], None] | None = None) -> OraContents | QImage:
    """The slow part of `open_file`, safe on another thread: the file read and checked."""
    if not os.path.exists(path):
        raise DocumentError(f'"{os.path.basename(path)}" does not exist.')
    if path.lower().endswith(PROJECT_SUFFIX):
        return read_ora(path, progress)
    return read_image(path)


def file_document(read: OraContents | QImage, path: str) -> Document:
    """The Document of what `read_file(path)` returned (on the GUI thread, which owns it)."""
    if isinstance(read, OraContents):
        return ora_document(read, path)
    return image_document(read, path)


def save_ora(document: Document, path: str) -> None:
    """Save as OpenRaster (atomic: a failure leaves the old file as it was)."""
    document.save(path)


def export_image(document: Document, path: str, quality: int | None = None) -> None:
    """PNG, JPEG or WebP by suffix; `quality` (1–100) for JPEG and WebP, None: the default."""
    if Path(path).suffix.lower() not in EXPORT_SUFFIXES:
        raise DocumentError(
            f'Cannot export "{os.path.basename(path)}": use a .png, .jpg or .webp file name.')
    if quality is None:
        _export_image(document, path)
    else:
        _export_image(document, path, quality=quality)


def import_layer(document: Document, path: str):
    return document.import_image_as_layer(path)


# ---------------------------------------------------------------------------- autosave
class Autosaver:
    """This window's recovery slot; the files appear only on the first autosave."""

    def __init__(self) -> None:
        self._session = None

    def write(self, document: Document) -> str:
        from rfedit_desktop.document.autosave import AutosaveSession

        if self._session is None:
            self._session = AutosaveSession()
        return str(self._session.write(document))

    def discard(self) -> None:
        if self._session is not None:
            self._session.discard()

    @property
    def session_id(self) -> str | None:
        return self._session.session_id if self._session is not None else None


def recoverable_autosaves() -> list:
    """`RecoveryEntry`s of sessions that crashed, newest first."""
    from rfedit_desktop.document.autosave import list_recoverable

    return list_recoverable()
