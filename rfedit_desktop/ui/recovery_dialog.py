"""The list of work that crashed sessions left behind, to open one or discard some.

Several sessions may have crashed since the last clean start; each is offered by its document's
name and the local time of its last autosave, newest first. Only what the artist opens or
discards is touched: the rest stays on disk and is offered again.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ROLE_INDEX = int(Qt.ItemDataRole.UserRole)


def local_time(stamp: str) -> str:
    """An ISO time (UTC as written by the autosave) as local "YYYY-MM-DD HH:MM"."""
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


class RecoveryDialog(QDialog):
    """Open one entry (`chosen` afterwards) or discard selected ones; Later keeps them all."""

    def __init__(self, entries: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.setMinimumWidth(460)
        self._entries = list(entries)
        self.chosen: Any = None
        layout = QVBoxLayout(self)
        intro = QLabel("rfedit closed without saving this work. Open one to continue it; "
                       "what you neither open nor discard is offered again next time.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget()
        self.list.setObjectName("recoveryList")
        for index, entry in enumerate(self._entries):
            item = QListWidgetItem(f"{entry.document_name} — autosaved "
                                   f"{local_time(entry.saved_at)}")
            item.setData(ROLE_INDEX, index)
            item.setToolTip(entry.original_path or "never saved")
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self._open())
        layout.addWidget(self.list)

        buttons = QDialogButtonBox()
        self.open_button = QPushButton("Open")
        self.open_button.setDefault(True)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the selected autosave for good")
        self.later_button = QPushButton("Later")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.open_button.clicked.connect(self._open)
        self.discard_button.clicked.connect(self._discard)
        self.later_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()

    def entries(self) -> list[Any]:
        """The entries still listed (not discarded), newest first."""
        return [self._entries[self.list.item(r).data(ROLE_INDEX)]
                for r in range(self.list.count())]

    def _current(self) -> Any:
        item = self.list.currentItem()
        return None if item is None else self._entries[item.data(ROLE_INDEX)]

    def _open(self) -> None:
        entry = self._current()
        if entry is not None:
            self.chosen = entry
            self.accept()

    def _discard(self) -> None:
        entry = self._current()
        if entry is None:
            return
        entry.discard()
        self.list.takeItem(self.list.currentRow())
        if self.list.count() == 0:
            self.reject()

    def _update_buttons(self, *_args: Any) -> None:
        has = self.list.currentItem() is not None
        self.open_button.setEnabled(has)
        self.discard_button.setEnabled(has)
