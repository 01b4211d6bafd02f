"""Autosave and crash recovery: painting must survive a crash without ever being interrupted.

The window's recovery collaborator; the recovery files themselves are written by
`document_io.Autosaver`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from rfedit_desktop.ui import document_io
from rfedit_desktop.ui.recovery_dialog import RecoveryDialog

if TYPE_CHECKING:
    from rfedit_desktop.ui.file_actions import FileActions
    from rfedit_desktop.ui.main_window import MainWindow


class AutosaveRecovery(QObject):
    """Writes a recovery copy of the window's document, and offers it back after a crash.

    The copy goes when it is no longer needed: the document was saved (`files.saved`) or
    replaced by another (`window.document_changed`).
    """

    def __init__(self, window: MainWindow, files: FileActions) -> None:
        super().__init__(window)
        self.window = window
        self.files = files
        self.autosaver = document_io.Autosaver()
        self._autosaved_index: int | None = None
        files.saved.connect(lambda _path: self.autosaver.discard())
        window.document_changed.connect(self._document_replaced)

    def _document_replaced(self, _document) -> None:
        self._autosaved_index = None
        self.autosaver.discard()  # the recovery copy of the document that is gone (if any)

    def autosave_now(self) -> str | None:
        """Write a recovery copy when there are changes since the last one; returns its path."""
        window = self.window
        if not window.is_modified():
            return None
        index = window.document.undo_stack.index()
        if index == self._autosaved_index:
            return None
        try:
            path = self.autosaver.write(window.document)
        except Exception as exc:  # noqa: BLE001 (autosave must never interrupt painting)
            window.statusBar().showMessage(f"Autosave failed: {exc}", 6000)
            return None
        self._autosaved_index = index
        return path

    def discard(self) -> None:
        """The window closes cleanly: no recovery copy is left to offer."""
        self.autosaver.discard()

    def offer_recovery(self) -> bool:
        """After start (or File ▸ Recover): list what crashed sessions left; open the chosen.

        The opened autosave is deleted only once this session has its own copy of the work;
        the others are left alone unless the artist discards them in the dialog.
        """
        found = document_io.recoverable_autosaves()
        if not found:
            return False
        dialog = RecoveryDialog(found, self.window)
        dialog.exec()
        entry = dialog.chosen
        if entry is None:
            return False
        try:
            document = entry.load()
        except Exception as exc:  # noqa: BLE001
            self.files.show_error("Could not recover", exc, str(entry.ora_path))
            return False
        self.window.set_document(document)
        if self.autosave_now() is not None:
            entry.discard()
        return True

    def recover_dialog(self) -> None:
        """File ▸ Recover Unsaved Work…: the same list, at any time."""
        if not document_io.recoverable_autosaves():
            QMessageBox.information(self.window, "Recover unsaved work",
                                    "There is no unsaved work from a crashed session.")
            return
        if self.files.maybe_save():
            self.offer_recovery()
