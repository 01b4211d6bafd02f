"""History panel: every undoable change of the active document, clickable to go back to it."""

from __future__ import annotations

from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import QUndoView, QWidget


class HistoryPanel(QUndoView):
    """A `QUndoView` on the window's undo group, so it follows whichever document is active."""

    def __init__(self, group: QUndoGroup, parent: QWidget | None = None) -> None:
        super().__init__(group, parent)
        self.setEmptyLabel("Opened")
        self.setAlternatingRowColors(True)
