"""Autosave and crash recovery: painting must survive a crash without ever being interrupted.

A mixin of `MainWindow`; the recovery files themselves are written by `document_io.Autosaver`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from rfedit_desktop.ui import document_io
from rfedit_desktop.ui.recovery_dialog import RecoveryDialog


class AutosaveRecovery:
    """Writes a recovery copy on the autosave timer, and offers it back after a crash."""

    def autosave_now(self) -> str | None:
        """Write a recovery copy when there are changes since the last one; returns its path."""
        if not self.is_modified():
            return None
        index = self._document.undo_stack.index()
        if index == self._autosaved_index:
            return None
        try:
            path = self.autosaver.write(self._document)
        except Exception as exc:  # noqa: BLE001 (autosave must never interrupt painting)
            self.statusBar().showMessage(f"Autosave failed: {exc}", 6000)
            return None
        self._autosaved_index = index
        return path

    def offer_recovery(self) -> bool:
        """After start (or File ▸ Recover): list what crashed sessions left; open the chosen.

        The opened autosave is deleted only once this session has its own copy of the work;
        the others are left alone unless the artist discards them in the dialog.
        """
        found = document_io.recoverable_autosaves()
        if not found:
            return False
        dialog = RecoveryDialog(found, self)
        dialog.exec()
        entry = dialog.chosen
        if entry is None:
            return False
        try:
            document = entry.load()
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not recover", exc, str(entry.ora_path))
            return False
        self.set_document(document)
        if self.autosave_now() is not None:
            entry.discard()
        return True

    def recover_dialog(self) -> None:
        """File ▸ Recover Unsaved Work…: the same list, at any time."""
        if not document_io.recoverable_autosaves():
            QMessageBox.information(self, "Recover unsaved work",
                                    "There is no unsaved work from a crashed session.")
            return
        if self.maybe_save():
            self.offer_recovery()
