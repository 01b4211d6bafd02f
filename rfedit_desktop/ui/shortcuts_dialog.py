"""Help ▸ Keyboard Shortcuts: every action with a shortcut, read from the window itself so the
list can never drift from what the keys really do."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Things done with the mouse or pen rather than an action.
GESTURES = [
    ("Pan", "Space + drag, or middle-button drag"),
    ("Zoom around the pointer", "Mouse wheel"),
    ("Scroll sideways", "Shift + wheel"),
    ("Pick a colour while painting", "Alt + click"),
    ("Erase with a pen", "Turn the pen over (eraser end)"),
]


def key_names(action: QAction) -> list[str]:
    """The action's keys by their usual names ("Ctrl+Enter", not "Ctrl+Return"), no repeats."""
    names: list[str] = []
    for key in action.shortcuts():
        name = key.toString(QKeySequence.SequenceFormat.NativeText).replace("Return", "Enter")
        if name and name not in names:
            names.append(name)
    return names


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(action name, its keys) for every action that has one, without duplicates."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for action in actions:
        keys = key_names(action)
        name = action.text().replace("&", "").replace("…", "").strip()
        if not keys or not name or name in seen:
            continue
        seen.add(name)
        rows.append((name, ", ".join(keys)))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(actions) + GESTURES
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(460, 560)
