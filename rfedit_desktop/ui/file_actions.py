"""Opening, saving, exporting and importing files, with a clear message when one fails.

The window's file collaborator: a file error is shown to the artist and the current document
is kept, never lost; the recent-files menu is filled from here too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from rfedit_desktop.ui import document_io
from rfedit_desktop.ui.background_task import run_with_progress
from rfedit_desktop.ui.new_document_dialog import NewDocumentDialog
from rfedit_desktop.ui.recent_files import add_recent_file, recent_files, remove_recent_file

if TYPE_CHECKING:
    from rfedit_desktop.ui.main_window import MainWindow

OPEN_FILTER = ("Images and projects (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff);;"
               "OpenRaster (*.ora);;All files (*)")
SAVE_FILTER = "OpenRaster (*.ora)"
EXPORT_FILTER = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp)"
IMPORT_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp);;All files (*)"
LOSSY_SUFFIXES = (".jpg", ".jpeg", ".webp")
EXPORT_QUALITY_KEY = "export/quality"
DEFAULT_EXPORT_QUALITY = 92


class FileActions(QObject):
    """New/Open/Save/Export/Import, the unsaved-changes prompt and the recent files of one
    window, whose document they read and replace."""

    saved = Signal(str)  # the path: the document is safe there now

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        self.skip_save_prompt = False  # closing without the question (tests, benchmarks)
        self.recent_menu: QMenu | None = None

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        dialog = NewDocumentDialog(self.window)
        if dialog.exec():
            width, height, fill = dialog.values()
            self.window.set_document(document_io.new_document(width, height, fill))

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = os.path.dirname(self.window.path) if self.window.path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", start, OPEN_FILTER)
        if path:
            self.open_path(path, ask=False)

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open an .ora project or an image; on failure show why and keep the current one."""
        if ask and not self.maybe_save():
            return False
        try:
            read = run_with_progress(self.window, f"Opening {os.path.basename(path)} …",
                                     lambda progress: document_io.read_file(path, progress))
            document = document_io.file_document(read, path)
        except Exception as exc:  # noqa: BLE001 (any failure: message, never a crash)
            self.show_error("Could not open file", exc, path)
            return False
        self.window.set_document(document)
        self._remember(path)
        warnings = getattr(document, "load_warnings", None)
        if warnings:
            self.window.statusBar().showMessage("Opened with fallbacks: " + "; ".join(warnings), 10000)
        return True

    def close_document(self) -> bool:
        """File ▸ Close: after the unsaved-changes question, a blank untitled canvas (the
        window edits one document at a time and stays open)."""
        if not self.maybe_save():
            return False
        self.window.new_document_untitled()
        return True

    def save(self) -> bool:
        if self.window.path is None:
            return self.save_as()
        return self.save_to(self.window.path)

    def save_as(self) -> bool:
        stem = os.path.splitext(self.window.display_name())[0] or "untitled"
        start = self.window.path or os.path.join(self._last_folder(), stem + ".ora")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save As", start, SAVE_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".ora"):
            path += ".ora"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            document_io.save_ora(self.window.document, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not save", exc, path)
            return False
        self._remember(path)
        self.saved.emit(path)
        self.window.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export Image", self.export_suggestion(),
                                              EXPORT_FILTER)
        if not path:
            return
        quality = None
        if os.path.splitext(path)[1].lower() in LOSSY_SUFFIXES:
            quality = self._ask_export_quality(path)
            if quality is None:
                return
        self.export_to(path, quality)

    def export_suggestion(self) -> str:
        """A new file beside the picture's own: `photo-edited.png`, never an existing file
        (the photo or an earlier export) unless the artist picks it."""
        source = self.window.path or self.window.document.source_path
        folder = os.path.dirname(source) if source else self._last_folder()
        stem = os.path.splitext(self.window.display_name())[0] or "untitled"
        candidate = os.path.join(folder, f"{stem}-edited.png")
        n = 2
        while os.path.exists(candidate):
            candidate = os.path.join(folder, f"{stem}-edited-{n}.png")
            n += 1
        return candidate

    def _ask_export_quality(self, path: str) -> int | None:
        """JPEG/WebP quality, remembered between exports; None if the artist cancels."""
        remembered = self.settings.value(EXPORT_QUALITY_KEY, DEFAULT_EXPORT_QUALITY)
        try:
            start = min(100, max(1, int(remembered)))
        except (TypeError, ValueError):
            start = DEFAULT_EXPORT_QUALITY
        kind = "WebP" if path.lower().endswith(".webp") else "JPEG"
        quality, ok = QInputDialog.getInt(self.window, "Export quality",
                                          f"{kind} quality (1–100, higher is larger and finer):",
                                          start, 1, 100)
        if not ok:
            return None
        self.settings.setValue(EXPORT_QUALITY_KEY, int(quality))
        return int(quality)

    def export_to(self, path: str, quality: int | None = None) -> bool:
        try:
            document_io.export_image(self.window.document, path, quality)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not export", exc, path)
            return False
        self.window.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def import_layer_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import Image as Layer", "", IMPORT_FILTER)
        if path:
            self.import_layer(path)

    def import_layer(self, path: str) -> bool:
        try:
            document_io.import_layer(self.window.document, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not import", exc, path)
            return False
        return True

    def maybe_save(self) -> bool:
        """Before losing the document: True to go on (saved or discarded), False to stay."""
        if self.skip_save_prompt or not self.window.is_modified():
            return True
        name = self.window.display_name()
        answer = QMessageBox.question(
            self.window, "Unsaved changes", f"Save the changes to “{name}” first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def show_error(self, title: str, exc: BaseException, path: str | None = None) -> None:
        message = str(exc) or exc.__class__.__name__
        if path and path not in message:
            message = f"{message}\n\nFile: {path}"
        QMessageBox.critical(self.window, title, message)

    def _last_folder(self) -> str:
        files = recent_files(self.settings)
        return os.path.dirname(files[0]) if files else os.path.expanduser("~")

    def _remember(self, path: str) -> None:
        add_recent_file(self.settings, path)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """File ▸ Open Recent: `menu` lists the recent files each time it opens."""
        self.recent_menu = menu
        menu.aboutToShow.connect(self.rebuild_recent_menu)
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        files = recent_files(self.settings)
        for path in files:
            act = self.recent_menu.addAction(os.path.basename(path))
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if not files:
            empty = self.recent_menu.addAction("(none)")
            empty.setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            remove_recent_file(self.settings, path)
            QMessageBox.warning(self.window, "File not found", f"{path}\nno longer exists.")
            return
        self.open_path(path)
