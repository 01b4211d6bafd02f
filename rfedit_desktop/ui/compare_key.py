"""Hold backslash to see the original: a key that must work wherever the focus is.

An application-wide event filter, because the canvas, the strip and the docks each take
focus; text boxes are left alone so that a prompt can contain a backslash.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from rfedit_desktop.ui.preview_overlay import PreviewOverlay
from rfedit_desktop.ui.staging import COMPARE_KEY, StagingStrip


class CompareKeyFilter(QObject):
    """While the compare key is held in `window`, strip and overlay show the original."""

    def __init__(self, window: Any, overlay: PreviewOverlay, strip: StagingStrip,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.overlay = overlay
        self.strip = strip

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Hold backslash anywhere in the window (except in a text box) to see the original."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) \
                and event.key() == COMPARE_KEY and not event.isAutoRepeat() \
                and self.overlay.image() is not None and self._is_in_window(watched):
            focus = QApplication.focusWidget()
            if not isinstance(focus, (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)):
                self.strip.set_comparing(kind == QEvent.Type.KeyPress)
                self.overlay.set_comparing(kind == QEvent.Type.KeyPress)
                return True
        return False

    def _is_in_window(self, watched: QObject) -> bool:
        return isinstance(watched, QWidget) and watched.window() is self.window

