"""A titled section that opens and closes (the Edit panel's "Advanced")."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QToolButton, QVBoxLayout, QWidget


class Collapsible(QWidget):
    """A flat toggle button with a disclosure icon over a content widget shown while open."""

    toggled = Signal(bool)  # True when opened

    def __init__(self, title: str, expanded_icon: QIcon, collapsed_icon: QIcon,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icons = {True: expanded_icon, False: collapsed_icon}
        self._button = QToolButton()
        self._button.setText(title)
        self._button.setAutoRaise(True)  # not checkable: an open section is not a pressed key
        self._button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._button.setIcon(collapsed_icon)
        self._button.clicked.connect(lambda: self._set_open(not self._open))
        self._open = False
        self._content = QWidget()
        QVBoxLayout(self._content).setContentsMargins(0, 0, 0, 0)
        self._content.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._content)

    def addWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt naming
        self._content.layout().addWidget(widget)

    def toggleButton(self) -> QToolButton:  # noqa: N802 - Qt naming
        return self._button

    def content(self) -> QWidget:
        return self._content

    def expandedIcon(self) -> QIcon:  # noqa: N802 - Qt naming
        return self._icons[True]

    def collapsedIcon(self) -> QIcon:  # noqa: N802 - Qt naming
        return self._icons[False]

    def isExpanded(self) -> bool:  # noqa: N802 - Qt naming
        return self._open

    def expand(self) -> None:
        self._set_open(True)

    def collapse(self) -> None:
        self._set_open(False)

    def _set_open(self, on: bool) -> None:
        if on == self._open:
            return
        self._open = on
        self._content.setVisible(on)
        self._button.setIcon(self._icons[on])
        self.toggled.emit(on)
