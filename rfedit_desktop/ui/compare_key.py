"""Hold backslash to see the original: a key that must work wherever the focus is.

An application-wide event filter, because the canvas, the strip and the docks each take focus,
and right after Ctrl+Enter the focus is in the prompt. While there is something to compare (a
staged result or a preview), the filter takes every backslash press, auto-repeat and release
in the window, so holding the key never types into a text field and the next run's prompt is
never damaged. With nothing to compare the key is left alone, so a backslash can still be
typed (no prompt grammar needs one, but a path in the source prompt might).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QWidget

from rfedit_desktop.ui.preview_overlay import PreviewOverlay
from rfedit_desktop.ui.staging import COMPARE_KEY, StagingStrip

_CHORD = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier \
    | Qt.KeyboardModifier.MetaModifier


class CompareKeyFilter(QObject):
    """While the compare key is held in `window`, strip and overlay show the original."""

    def __init__(self, window: Any, overlay: PreviewOverlay, strip: StagingStrip,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.overlay = overlay
        self.strip = strip

    def can_compare(self) -> bool:
        """A result is selected in the strip, or the canvas shows a result or preview."""
        return (self.overlay.image() is not None
                or self.strip.result(self.strip.current_id()) is not None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            return False
        if event.key() != COMPARE_KEY or event.modifiers() & _CHORD:
            return False
        if not self._is_in_window(watched) or not (self.can_compare()
                                                   or self.strip.compare.showing_original()):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # no shortcut may take it either; the key press comes next
            return True
        if not event.isAutoRepeat():
            showing = kind == QEvent.Type.KeyPress
            self.strip.set_comparing(showing)
            self.overlay.set_comparing(showing)
        return True

    def _is_in_window(self, watched: QObject) -> bool:
        """In the main window or one of its docks, floating ones included."""
        if not isinstance(watched, QWidget):
            return False
        top = watched.window()
        return top is self.window or (isinstance(top, QDockWidget)
                                      and top.parentWidget() is self.window)
