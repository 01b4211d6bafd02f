"""Autosave and crash recovery: painting must survive a crash without ever being interrupted.

A mixin of `MainWindow`; the recovery files themselves are written by `document_io.Autosaver`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from rfedit_desktop.ui import document_io


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
        """Called once after start: offer to open the autosave a crashed session left."""
        found = document_io.recoverable_autosaves()
        if not found:
            return False
        newest = found[0]
        more = f" (and {len(found) - 1} older)" if len(found) > 1 else ""
        answer = QMessageBox.question(
            self, "Recover unsaved work",
            f"rfedit closed without saving “{newest.document_name}” "
            f"(autosaved {newest.saved_at}){more}.\n\nOpen the recovered copy?",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Ignore,
            QMessageBox.StandardButton.Open)
        if answer == QMessageBox.StandardButton.Open:
            try:
                document = newest.load()
            except Exception as exc:  # noqa: BLE001
                self.show_error("Could not recover", exc, str(newest.ora_path))
                return False
            self.set_document(document)
            for entry in found:
                entry.discard()
            # the recovered work now lives in this session: protect it at once
            self.autosave_now()
            return True
        if answer == QMessageBox.StandardButton.Discard:
            for entry in found:
                entry.discard()
        return False
